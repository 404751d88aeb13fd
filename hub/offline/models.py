"""REST shapes of notification settings and Web Push subscriptions (issue 18)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import AfterValidator, BaseModel, Field

from ..schema import Body

_HH_MM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _time_of_day(value: str) -> str:
    if not _HH_MM.fullmatch(value):
        raise ValueError("must be a time of day as HH:MM (00:00 to 23:59)")
    return value


def _time_zone(value: str) -> str:
    if not value or value.startswith(("/", ".")) or ".." in value:
        raise ValueError("must be an IANA time zone name, such as Europe/Paris")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("must be an IANA time zone name, such as Europe/Paris") from exc
    return value


TimeOfDay = Annotated[str, Field(max_length=5, examples=["22:00"]), AfterValidator(_time_of_day)]
TimeZoneName = Annotated[
    str, Field(max_length=64, examples=["Europe/Paris"]), AfterValidator(_time_zone)
]


class QuietHours(Body):
    """No push between ``start`` and ``end`` (local times in ``tz``; a range
    may cross midnight, 22:00 to 07:00). Email digests still wait until then."""

    start: TimeOfDay
    end: TimeOfDay
    tz: TimeZoneName


DigestDelay = Annotated[int, Field(ge=0, le=7 * 86_400)]


class NotificationSettingsChange(Body):
    """The settings to change; those left out stay. ``quiet_hours: null`` clears them."""

    push: bool | None = None
    email: bool | None = None
    email_digest_delay_s: DigestDelay | None = None
    quiet_hours: QuietHours | None = None


class NotificationSettings(BaseModel):
    push: bool
    email: bool
    email_digest_delay_s: int
    quiet_hours: QuietHours | None = None


# Web Push subscriptions.


def _b64url(value: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", value):
        raise ValueError("must be base64url")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("must be base64url") from exc


def _p256dh(value: str) -> str:
    raw = _b64url(value)
    problem = "must be an uncompressed P-256 public key (65 bytes, base64url)"
    if len(raw) != 65 or raw[0] != 0x04:
        raise ValueError(problem)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:  # not a point of the curve
        raise ValueError(problem) from exc
    return value


def _auth_secret(value: str) -> str:
    if len(_b64url(value)) != 16:
        raise ValueError("must be a 16-byte auth secret (base64url)")
    return value


class PushKeys(Body):
    p256dh: Annotated[str, Field(max_length=128), AfterValidator(_p256dh)]
    auth: Annotated[str, Field(max_length=64), AfterValidator(_auth_secret)]


class PushSubscribe(Body):
    """A browser's PushSubscription (``subscription.toJSON()``): posting one
    whose endpoint is stored already updates it."""

    endpoint: Annotated[str, Field(min_length=9, max_length=2048)]
    keys: PushKeys
    user_agent: Annotated[str, Field(max_length=512)] | None = None
    # PushSubscription.toJSON() sends it (null, or when the browser ends it).
    expirationTime: int | None = Field(None, description="ignored")


class PushSubscription(BaseModel):
    id: str
    endpoint: str
    user_agent: str | None
    created_at: str
    updated_at: str


class VapidKey(BaseModel):
    key: str = Field(description="applicationServerKey: base64url uncompressed P-256 point")


def endpoint_problem(endpoint: str, allow_loopback_http: bool) -> str | None:
    """Why a push endpoint cannot be used, or None: https only (http to a
    loopback host when ``allow_loopback_http``, in development), a host, no
    credentials or fragment."""
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return "must be a URL"
    if not host or parts.username or parts.password or parts.fragment or " " in endpoint:
        return "must be an https URL with a host"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and allow_loopback_http and _loopback(host):
        return None
    if parts.scheme == "http" and allow_loopback_http:
        return "must be https (http only to a loopback host, in development)"
    return "must be https"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
