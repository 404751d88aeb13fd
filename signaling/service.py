"""/signaling as the doors see it: calls (``calls.py``), the ``signal`` relay
(``relay.py``) and ICE servers (``ice.py``), over one ``CallState``.
hub/context.py builds the parts."""

from __future__ import annotations

from .calls import Calls
from .ice import IceServerProvider
from .models import IceServers, RelayAccepted, Signal
from .relay import SignalRelay


class SignalingService:
    """``sid`` arguments are /signaling socket ids; REST callers pass None (they
    have no socket: their signals come from the user, to the peer's device)."""

    def __init__(self, calls: Calls, signals: SignalRelay, ice: IceServerProvider) -> None:
        self.calls = calls
        self.signals = signals
        self.ice = ice
        self.state = calls.state

    def ice_servers(self, user_id: str) -> IceServers:
        return self.ice.for_user(user_id)

    async def relay(
        self, user_id: str, sid: str | None, conn: str | None, request: Signal
    ) -> RelayAccepted:
        return await self.signals.relay(user_id, sid, conn, request)

    async def socket_gone(self, user_id: str, sid: str) -> None:
        await self.calls.socket_gone(user_id, sid)

    async def close(self) -> None:
        await self.calls.close()
