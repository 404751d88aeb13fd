"""``hub serve`` and ``hub create-admin``; both read the same HUB_* settings."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys

from aiohttp import web
from pydantic import ValidationError

from .accounts.models import Email, Password
from .config import Settings
from .logs import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hub", description="Realtime hub for freelance marketplaces")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the hub")
    serve.add_argument("--host", help="bind address (default HUB_HOST or 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port (default HUB_PORT or 8080)")
    admin = commands.add_parser("create-admin", help="create an admin or promote a user")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", required=True)
    args = parser.parse_args(argv)

    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"hub: bad settings:\n{exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command == "serve":
        return _serve(settings, args.host, args.port)
    return asyncio.run(_create_admin(settings, args.email, args.password))


def _serve(settings: Settings, host: str | None, port: int | None) -> int:
    from .app import create_app

    settings = settings.model_copy(update={"host": host or settings.host, "port": port or settings.port})
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_heap)  # last: after the hub has started
    web.run_app(
        app,
        loop=_event_loop(),
        host=settings.host,
        port=settings.port,
        backlog=settings.listen_backlog,
        access_log=None,
        print=None,
    )
    return 0


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


async def _create_admin(settings: Settings, email: str, password: str) -> int:
    from pydantic import TypeAdapter

    from .context import build_hub

    try:
        email = TypeAdapter(Email).validate_python(email)
        password = TypeAdapter(Password).validate_python(password)
    except ValidationError as exc:
        print(f"hub: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    hub = build_hub(settings)
    await hub.store.open()
    try:
        user, created = await hub.accounts.create_admin(email, password)
    finally:
        await hub.store.close()
    print(f"{'created' if created else 'promoted'} admin {user.email} (id {user.id})")
    return 0
