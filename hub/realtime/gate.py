"""What the base namespace checks and counts on every connect and event: the
port the composition root provides to the socket doors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..accounts import SessionService
    from ..config import Settings
    from ..metrics import Metrics
    from ..ratelimit import RateLimiter
    from .connections import ConnectionRegistry
    from .drain import Drain


class SocketGate(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def sessions(self) -> SessionService: ...
    @property
    def connections(self) -> ConnectionRegistry: ...
    @property
    def rate_limiter(self) -> RateLimiter | None: ...
    @property
    def drain(self) -> Drain: ...
