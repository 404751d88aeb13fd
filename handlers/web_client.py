"""The browser client: ``/`` and ``/static/*``, served by the hub itself.

Not API routes (they stay out of ROUTES and the OpenAPI document). The page is
plain HTML + JS files (ES modules) from ``web/`` (the CSP allows no inline script), and the
official Socket.IO browser bundle comes from the installed npm package
``socket.io-client`` (``npm ci`` at the repository root); without it
``/static/socket.io.min.js`` answers 503 with a message saying so.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
WEB_DIR = ROOT / "web"
SOCKET_IO_BUNDLE = ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Only these files are served: no directory walking, no guessing. app.js is the
# entry module; it imports the others (docs/web-client.md lists them).
STATIC_FILES = (
    "app.js", "api.js", "calls.js", "chat.js", "favicon.svg", "jobs.js", "lobby.js",
    "notifications.js", "rtc.js", "socket.js", "state.js", "style.css", "ui.js", "users.js",
)
NO_CACHE = {"Cache-Control": "no-cache"}


def _file_response(path: Path) -> web.Response:
    return web.Response(body=path.read_bytes(), headers={
        "Content-Type": CONTENT_TYPES[path.suffix], **NO_CACHE})


async def index(request: web.Request) -> web.Response:
    return _file_response(WEB_DIR / "index.html")


async def static_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise web.HTTPNotFound(text="no such file")
    return _file_response(WEB_DIR / name)


async def socket_io_bundle(request: web.Request) -> web.Response:
    if not SOCKET_IO_BUNDLE.is_file():
        return web.Response(
            status=503, content_type="text/plain",
            text="socket.io-client is not installed: run `npm ci` in the repository root "
                 "(the web client needs node_modules/socket.io-client/dist/socket.io.min.js)")
    return _file_response(SOCKET_IO_BUNDLE)


def setup_web_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/static/socket.io.min.js", socket_io_bundle)
    app.router.add_get("/static/{name}", static_file)
