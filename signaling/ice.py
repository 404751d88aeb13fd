"""ICE servers for clients: configured STUN, and TURN with ephemeral credentials.

TURN REST API (as coturn's ``use-auth-secret``): ``username = "<expiry unix>:<user_id>"``
and ``credential = base64(HMAC-SHA1(secret, username))``; the TURN server checks the
HMAC with the same shared secret and refuses the username once it has expired.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from typing import Any

from hub.config import Settings

from .models import IceServer, IceServers

log = logging.getLogger(__name__)

MAX_TTL_S = 86_400  # never hand out TURN credentials valid for more than a day


def turn_credentials(
    secret: str, user_id: str, ttl_s: int, now: float | None = None
) -> tuple[str, str]:
    expiry = int(now if now is not None else time.time()) + min(ttl_s, MAX_TTL_S)
    username = f"{expiry}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


class IceServerProvider:
    """The STUN/TURN servers of this hub, with TURN credentials per user."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def for_user(self, user_id: str, now: float | None = None) -> IceServers:
        """``{ice_servers: [{urls, username?, credential?}], ttl}`` for one user."""
        settings = self.settings
        ttl = min(settings.turn_ttl_s, MAX_TTL_S)
        servers: list[IceServer] = []
        if settings.stun_urls:
            servers.append(IceServer(urls=list(settings.stun_urls)))
        if settings.turn_urls:
            if settings.turn_secret is None:
                log.warning("HUB_TURN_URLS is set without HUB_TURN_SECRET: TURN is not offered")
            else:
                username, credential = turn_credentials(
                    settings.turn_secret.get_secret_value(), user_id, ttl, now
                )
                servers.append(
                    IceServer(
                        urls=list(settings.turn_urls), username=username, credential=credential
                    )
                )
        return IceServers(ice_servers=servers, ttl=ttl)

    def entries(self, user_id: str) -> list[dict[str, Any]]:
        """The servers as events carry them (``call:incoming``, ``match:found``)."""
        return [server.model_dump() for server in self.for_user(user_id).ice_servers]
