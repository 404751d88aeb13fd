"""JSON log lines, each carrying the request id of the request it belongs to.

Every logger, the libraries' included (python-socketio, python-engineio,
aiohttp, aiortc), writes through the one JSON handler on the root logger, and
that handler lets through at most a burst of warnings per message template
per minute: no client can make the hub write megabytes of repeated lines.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import OrderedDict
from contextvars import ContextVar

import orjson

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Libraries that log each packet or request at INFO: only their warnings.
CHATTY_LIBRARIES = ("socketio", "engineio", "aiohttp.access", "aioice", "aiortc")


def _utc(seconds: float | None) -> time.struct_time:
    return time.gmtime(seconds)


class JsonFormatter(logging.Formatter):
    converter = staticmethod(_utc)

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        for key, value in getattr(record, "fields", {}).items():
            entry[key] = value
        return orjson.dumps(entry, default=str).decode()


class RepeatLimit(logging.Filter):
    """At most ``burst`` warnings (and worse) per logger and message template
    per ``window_s``; the first one after a window says how many were dropped.
    INFO and below pass untouched (the access log is one line per request)."""

    def __init__(self, burst: int = 20, window_s: float = 60.0, max_templates: int = 1000) -> None:
        super().__init__()
        self.burst = burst
        self.window_s = window_s
        self.max_templates = max_templates
        # (logger, template) -> [window start, lines in window, dropped in window]
        self._seen: OrderedDict[tuple[str, str], list[float]] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, str(record.msg))
        now = time.monotonic()
        state = self._seen.get(key)
        if state is None or now - state[0] >= self.window_s:
            if state is not None and state[2]:
                record.msg = f"{record.msg} [{int(state[2])} similar lines dropped before this]"
            self._seen[key] = [now, 1, 0]
            self._seen.move_to_end(key)
            while len(self._seen) > self.max_templates:
                self._seen.popitem(last=False)
            return True
        if state[1] < self.burst:
            state[1] += 1
            return True
        state[2] += 1
        return False


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RepeatLimit())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    library_level = logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
    for name in CHATTY_LIBRARIES:
        library = logging.getLogger(name)
        library.setLevel(library_level)
        library.handlers.clear()  # python-socketio adds its own plain-text one
        library.propagate = True
    logging.captureWarnings(True)
