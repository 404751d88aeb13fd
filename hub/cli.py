"""``hub serve`` and ``hub create-admin``; both read the same HUB_* settings.

A setting the hub cannot run with (invalid, a taken port, an unreachable
MongoDB or Redis, a weak production secret) ends the command with one line on
stderr naming the ``HUB_*`` variable and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import getpass
import os
import socket
import sys
from importlib import metadata

from aiohttp import web
from pydantic import TypeAdapter, ValidationError
from pydantic_settings import SettingsError

from .accounts.models import Email, Password
from .config import Settings
from .logs import configure_logging
from .preflight import StartupError, check_dependencies

EXIT_BAD_SETTINGS = 2
ADMIN_PASSWORD_ENV = "HUB_ADMIN_PASSWORD"


def main(argv: list[str] | None = None) -> int:
    """Run the ``hub`` command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        return _fail(*_settings_errors(exc))
    except SettingsError as exc:  # a value pydantic-settings could not even decode
        return _fail(str(exc))
    configure_logging(settings.log_level)
    if args.command == "serve":
        return _serve(settings, args.host, args.port)
    password = _admin_password(args)
    if password is None:
        return _fail(
            f"create-admin: no password: pass --password-stdin, set {ADMIN_PASSWORD_ENV} "
            "or run it in a terminal to be asked"
        )
    return asyncio.run(_create_admin(settings, args.email, password))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hub", description="Realtime hub for freelance marketplaces"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the hub")
    serve.add_argument("--host", help="bind address (default HUB_HOST or 0.0.0.0)")
    serve.add_argument("--port", type=_port, help="port (default HUB_PORT or 8080)")
    admin = commands.add_parser(
        "create-admin",
        help="create an admin or promote a user",
        description=f"The password comes from --password, --password-stdin, {ADMIN_PASSWORD_ENV} "
        "or, in a terminal, a prompt, in that order.",
    )
    admin.add_argument("--email", required=True)
    source = admin.add_mutually_exclusive_group()
    source.add_argument("--password", help="the password (visible to other local users in ps)")
    source.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    return parser


def _version() -> str:
    try:
        return metadata.version("freelance-hub")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return port


def _fail(*lines: str) -> int:
    for line in lines:
        print(f"hub: {line}", file=sys.stderr)
    return EXIT_BAD_SETTINGS


def _settings_errors(exc: ValidationError) -> list[str]:
    """One line per error, naming the variable: ``HUB_PORT: Input should be ...``.

    Errors of the model as a whole (production rules) carry no field; their
    messages name the variables themselves.
    """
    lines = []
    for error in exc.errors():
        message = " ".join(error["msg"].removeprefix("Value error, ").split())
        if error["loc"]:
            lines.append(f"HUB_{str(error['loc'][0]).upper()}: {message}")
        else:
            lines.append(message)
    return lines


def _serve(settings: Settings, host: str | None, port: int | None) -> int:
    from .app import create_app
    from .context import HTTP_SHARE
    from .lifecycle import drain_on_signals

    settings = settings.model_copy(
        update={"host": host or settings.host, "port": port or settings.port}
    )
    try:
        sockets = _listening_sockets(settings.host, settings.port, settings.listen_backlog)
    except StartupError as exc:
        return _fail(str(exc))
    try:
        app = create_app(settings)
        app.on_startup.append(drain_on_signals)
        app.on_startup.append(_freeze_startup_heap)  # last: after the hub has started
        web.run_app(
            app,
            loop=_event_loop(),
            sock=sockets,
            backlog=settings.listen_backlog,
            access_log=None,
            print=None,
            handle_signals=False,  # drain_on_signals: the hub drains before aiohttp stops
            shutdown_timeout=HTTP_SHARE * settings.shutdown_grace_s,
        )
    except StartupError as exc:  # raised by Hub.start(): nothing had started yet
        return _fail(str(exc))
    finally:
        for sock in sockets:
            sock.close()
    return 0


def _listening_sockets(host: str, port: int, backlog: int) -> list[socket.socket]:
    """Bind and listen the way aiohttp would (every address of ``host``,
    SO_REUSEADDR), but before the app starts: a taken port is then a settings
    error, not a traceback after "hub started"."""
    try:
        addresses = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise StartupError("HUB_HOST", f"cannot resolve {host!r}: {exc.strerror}") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(addresses):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                # As asyncio does: IPv4 gets its own socket when host has both.
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise _bind_error(exc, host, port) from None
    return sockets


def _bind_error(exc: OSError, host: str, port: int) -> StartupError:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return StartupError("HUB_PORT", f"{where} is already in use")
    if exc.errno == errno.EACCES:
        return StartupError(
            "HUB_PORT", f"{where}: permission denied (a port below 1024 needs privileges)"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return StartupError("HUB_HOST", f"{host!r} is not an address of this machine")
    return StartupError("HUB_HOST", f"cannot listen on {where}: {exc.strerror}")


async def _freeze_startup_heap(app: web.Application) -> None:
    """Move everything built at startup (modules, app, hub) out of the
    collector's sight: full collections then walk only what came later, which
    measurably cut the CPU per fan-out delivery (docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where available: measurably less CPU per fan-out delivery."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _admin_password(args: argparse.Namespace) -> str | None:
    """The first password source given; argv is kept because the wire contract
    names it, but stdin and the environment stay out of ``ps``."""
    if args.password is not None:
        return str(args.password)
    if args.password_stdin:
        return sys.stdin.read().rstrip("\r\n")
    if ADMIN_PASSWORD_ENV in os.environ:
        return os.environ[ADMIN_PASSWORD_ENV]
    if sys.stdin.isatty():
        return getpass.getpass("Password for the admin: ")
    return None


async def _create_admin(settings: Settings, email: str, password: str) -> int:
    from .context import build_hub

    try:
        email = TypeAdapter(Email).validate_python(email)
    except ValidationError as exc:
        return _fail(f"create-admin: --email: {exc.errors()[0]['msg']}")
    try:
        password = TypeAdapter(Password).validate_python(password)
    except ValidationError as exc:
        return _fail(f"create-admin: password: {exc.errors()[0]['msg']}")
    try:
        await check_dependencies(settings)
    except StartupError as exc:
        return _fail(str(exc))
    hub = build_hub(settings)
    await hub.store.open()
    try:
        user, created = await hub.accounts.create_admin(email, password)
        # Role changes are audited (issue 20); from the command line, by "cli".
        await hub.audit.record("cli", "user.role", "user", user.id, role="admin", created=created)
    finally:
        await hub.store.close()
    print(f"{'created' if created else 'promoted'} admin {user.email} (id {user.id})")
    return 0
