"""orjson as python-socketio's JSON module, and the packet class that uses it.

python-socketio calls ``json.dumps(obj, separators=...)`` and expects ``str``;
orjson takes no such arguments and returns bytes, hence this adapter.
"""

from __future__ import annotations

from typing import Any

import orjson
from socketio import packet


class OrjsonCodec:
    @staticmethod
    def dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(text: str | bytes, *args: Any, **kwargs: Any) -> Any:
        return orjson.loads(text)


class HubPacket(packet.Packet):
    """python-socketio's packet with a cheaper binary check.

    Every packet built with data asks whether it holds bytes; the stock check
    builds a list per container and never stops early, which showed up as a
    tenth of the CPU of an acked send. This one walks the same values with
    one stack and stops at the first bytes.
    """

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, (bytes, bytearray)):
                return True
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                stack.extend(item.values())
        return False
