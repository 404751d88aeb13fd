"""The Socket.IO client manager: room emits without a task per recipient."""

from __future__ import annotations

from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet


class DirectEmitManager(socketio.AsyncManager):
    """python-socketio's AsyncManager, except for emits without an ack callback.

    For those it creates one asyncio task per recipient and waits for them all,
    while each task only puts the same encoded packet on that socket's
    Engine.IO queue. At fan-out sizes the tasks cost more than the delivery,
    so here the packet is encoded once and put on each queue directly, in
    order, without yielding to the loop. Each socket's own writer task then
    sends it, as before.
    """

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            await super().emit(
                event,
                data,
                namespace,
                room=room,
                skip_sid=skip_sid,
                callback=callback,
                to=to,
                **kwargs,
            )
            return
        if namespace not in self.rooms:
            return
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        frames: list[eio_packet.Packet] | None = None  # encoded for the first recipient only
        sockets = self.server.eio.sockets
        for sid, eio_sid in self.get_participants(namespace, to or room):
            socket = sockets.get(eio_sid)
            if sid in skip or socket is None or socket.closed:
                continue
            if frames is None:
                frames = self._frames(event, data, namespace)
            for frame in frames:
                socket.queue.put_nowait(frame)
        return None

    def _frames(self, event: str, data: Any, namespace: str) -> list[eio_packet.Packet]:
        """The Engine.IO packets of one event, as AsyncManager builds them."""
        if isinstance(data, tuple):
            args = list(data)  # a tuple is several arguments
        else:
            args = [] if data is None else [data]
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        if not isinstance(encoded, list):
            encoded = [encoded]
        return [eio_packet.Packet(eio_packet.MESSAGE, part) for part in encoded]
