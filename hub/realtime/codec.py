"""orjson as python-socketio's JSON module.

python-socketio calls ``json.dumps(obj, separators=...)`` and expects ``str``;
orjson takes no such arguments and returns bytes, hence this adapter.
"""

from __future__ import annotations

from typing import Any

import orjson


class OrjsonCodec:
    @staticmethod
    def dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(text: str | bytes, *args: Any, **kwargs: Any) -> Any:
        return orjson.loads(text)
