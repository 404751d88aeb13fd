"""The browser client: ``/``, ``/static/*`` and the service worker ``/sw.js``,
served by the hub itself.

Not API routes (they stay out of ROUTES and the OpenAPI document). The page is
plain HTML + JS files (ES modules) in ``handlers/web/``, package data of this
package, so a wheel carries them (the CSP allows no inline script). The official
Socket.IO browser bundle is vendored in ``handlers/web/vendor/`` (see its README):
no Node and no ``node_modules`` at run time.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WEB_DIR = Path(__file__).resolve().parent / "web"
VENDOR_DIR = WEB_DIR / "vendor"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".map": "application/json",
}
# Only these files are served: no directory walking, no guessing. app.js is the
# entry module; it imports the others (docs/web-client.md lists them).
APP_FILES = (
    "account.js",
    "admin.js",
    "app.js",
    "api.js",
    "bidchat.js",
    "calls.js",
    "cards.js",
    "chat.js",
    "composer.js",
    "connection.js",
    "convlist.js",
    "favicon.svg",
    "files.js",
    "jobs.js",
    "labels.js",
    "limits.js",
    "lobby.js",
    "market.js",
    "messages.js",
    "milestones.js",
    "notifications.js",
    "pins.js",
    "push.js",
    "report.js",
    "reviews.js",
    "rtc.js",
    "signin.js",
    "socket.js",
    "state.js",
    "style.css",
    "thread.js",
    "typing.js",
    "ui.js",
    "users.js",
    "wallet.js",
)
VENDOR_FILES = ("socket.io.min.js", "socket.io.min.js.map")
STATIC_FILES: dict[str, Path] = {
    **{name: WEB_DIR / name for name in APP_FILES},
    **{name: VENDOR_DIR / name for name in VENDOR_FILES},
}
NO_CACHE = {"Cache-Control": "no-cache"}


def _file_response(path: Path) -> web.Response:
    return web.Response(
        body=path.read_bytes(), headers={"Content-Type": CONTENT_TYPES[path.suffix], **NO_CACHE}
    )


async def index(request: web.Request) -> web.Response:
    """The one-page app."""
    return _file_response(WEB_DIR / "index.html")


async def service_worker(request: web.Request) -> web.Response:
    """The Web Push service worker (``handlers/web/sw.js``, docs/push.md), served at
    the root: a worker's scope can be no wider than its own path, and it must
    cover the whole page."""
    return _file_response(WEB_DIR / "sw.js")


async def static_file(request: web.Request) -> web.Response:
    """One of the client's files or the vendored Socket.IO bundle, by name."""
    path = STATIC_FILES.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound(text="no such file")
    return _file_response(path)


def setup_web_routes(app: web.Application) -> None:
    """Register ``/``, ``/sw.js`` and ``/static/{name}``."""
    app.router.add_get("/", index)
    app.router.add_get("/sw.js", service_worker)
    app.router.add_get("/static/{name}", static_file)
