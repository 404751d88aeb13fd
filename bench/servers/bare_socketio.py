"""The bare python-socketio reference server of the benchmark suite.

python-socketio on aiohttp with the same event loop (uvloop) and JSON codec
(orjson) as the hub, so the hub/bare ratios measure what the hub adds on top of
the framework. On every namespace the suite may use: a connect that accepts any
non-empty ``auth.token``; ``echo`` acks ``{ok: true, data: payload}``; ``join``
``{room}`` enters a room; ``broadcast`` ``{room, message}`` emits
``message:new`` with ``message`` to the room except the sender, then acks.
Like python-socketio in production it keeps aiohttp's default for WebSocket
compression: permessage-deflate is accepted when the client offers it (as
every browser does), with a zlib context per socket.

Usage: python bare_socketio.py PORT NAMESPACE...
"""

from __future__ import annotations

import sys
from typing import Any

import orjson
import socketio
from aiohttp import web


class OrjsonCodec:
    """python-socketio calls ``dumps(obj, separators=...)`` and wants ``str``."""

    @staticmethod
    def dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(text: str | bytes, *args: Any, **kwargs: Any) -> Any:
        return orjson.loads(text)


def build(namespaces: list[str]) -> web.Application:
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        json=OrjsonCodec,
        logger=False,
        engineio_logger=False,
        cors_allowed_origins=None,
    )
    app = web.Application()
    sio.attach(app)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/healthz", healthz)

    for namespace in namespaces:

        def handlers(ns: str) -> None:
            @sio.on("connect", namespace=ns)
            async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
                token = auth.get("token") if isinstance(auth, dict) else None
                if not isinstance(token, str) or not token:
                    raise socketio.exceptions.ConnectionRefusedError(
                        {"code": "unauthorized", "message": "Missing access token"}
                    )

            @sio.on("echo", namespace=ns)
            async def echo(sid: str, payload: Any = None) -> dict[str, Any]:
                return {"ok": True, "data": payload}

            @sio.on("join", namespace=ns)
            async def join(sid: str, payload: Any = None) -> dict[str, Any]:
                await sio.enter_room(sid, str((payload or {}).get("room")), namespace=ns)
                return {"ok": True, "data": {}}

            @sio.on("broadcast", namespace=ns)
            async def broadcast(sid: str, payload: Any = None) -> dict[str, Any]:
                payload = payload or {}
                await sio.emit(
                    "message:new",
                    payload.get("message"),
                    to=str(payload.get("room")),
                    namespace=ns,
                    skip_sid=sid,
                )
                return {"ok": True, "data": {}}

        handlers(namespace)
    return app


def main() -> None:
    port, namespaces = int(sys.argv[1]), sys.argv[2:]
    import uvloop

    uvloop.install()
    web.run_app(build(namespaces), host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
