"""Two-factor authentication with TOTP (RFC 6238): set-up, enable, disable,
and the check of a login's second step.

- A code is a 6-digit TOTP code (30 s steps, one step of clock drift either
  way) or one of 10 recovery codes. A TOTP code is accepted only for a time
  step later than the last one accepted, and a recovery code is removed as it
  is used, each in one conditional write (``MfaStore.use_step``,
  ``use_recovery_code``): a code never works twice, even sent twice at once.
- Wrong codes in a row are counted per user in the store; the
  ``max_failures``-th locks every code out for ``lockout_s`` (429
  ``rate_limited`` with ``Retry-After``), the right one included.
- The secret is never logged and never answered again after set-up;
  recovery codes are stored as hashes only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import segno

from storage import Store
from storage.records import MfaRecord

from ..clock import iso, now_iso, parse_iso, utc_now
from ..errors import Conflict, NotFound, RateLimited
from .models import RecoveryCodes, TwoFactorSetup, TwoFactorStatus

RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # base32, lower case
_RECOVERY_LENGTH = 16  # 80 bits, shown as xxxx-xxxx-xxxx-xxxx
DRIFT_STEPS = 1


@dataclass(frozen=True, slots=True)
class TwoFactorPolicy:
    issuer: str  # what authenticator apps show beside the account
    token_ttl_s: int  # the mfa_token of a login's second step
    max_failures: int
    lockout_s: int


class TwoFactor:
    """Each user's TOTP two-factor state and the checks of their codes."""

    def __init__(self, store: Store, policy: TwoFactorPolicy) -> None:
        self.store = store
        self.policy = policy

    async def status(self, user_id: str) -> TwoFactorStatus:
        record = await self.store.mfa.get(user_id)
        on = _is_on(record)
        return TwoFactorStatus(
            enabled=on,
            pending=record is not None and record.pending_secret is not None,
            recovery_codes_left=len(record.recovery_codes) if record and on else 0,
        )

    async def is_on(self, user_id: str) -> bool:
        return _is_on(await self.store.mfa.get(user_id))

    async def setup(self, user_id: str) -> TwoFactorSetup:
        """A new pending secret (replacing an earlier pending one); 409 while on."""
        user = await self.store.users.get(user_id)
        if user is None:
            raise NotFound("User not found")
        secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
        if not await self.store.mfa.set_pending(user_id, secret, now_iso()):
            raise Conflict("Two-factor authentication is already on: disable it first")
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=self.policy.issuer)
        qr = segno.make(uri, error="m").svg_data_uri(scale=4, border=2)
        return TwoFactorSetup(secret=secret, otpauth_uri=uri, qr_svg=qr)

    async def enable(self, user_id: str, code: str) -> RecoveryCodes | None:
        """Turn 2FA on with a code of the pending secret: the recovery codes,
        or None when the code is wrong. 409 without a pending secret."""
        record = await self.store.mfa.get(user_id)
        if _is_on(record):
            raise Conflict("Two-factor authentication is already on")
        if record is None or record.pending_secret is None:
            raise Conflict("Set up two-factor authentication first (POST /auth/2fa/setup)")
        step = _matching_step(record.pending_secret, _compact(code), utc_now(), after=0)
        if step is None:
            return None
        codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
        hashes = [_recovery_hash(user_id, code) for code in codes]
        if not await self.store.mfa.enable(user_id, record.pending_secret, hashes, step, now_iso()):
            raise Conflict("The set-up changed meanwhile: set up again")
        return RecoveryCodes(recovery_codes=codes)

    async def disable(self, user_id: str, code: str) -> bool:
        """Turn 2FA off with a TOTP or recovery code; False when the code is
        wrong (counted). 409 when it is off; 429 while locked."""
        record = await self.store.mfa.get(user_id)
        if record is None or not _is_on(record):
            raise Conflict("Two-factor authentication is off")
        if not await self.check(record, code):
            return False
        await self.store.mfa.disable(user_id)
        return True

    async def check(self, record: MfaRecord, code: str) -> bool:
        """Whether ``code`` is a usable code of ``record``'s user, using it up
        if so. A wrong one is counted; 429 (``RateLimited``) while locked, or
        when this wrong code locks."""
        now = utc_now()
        self._refuse_if_locked(record.locked_until, now)
        assert record.secret is not None
        compact = _compact(code)
        if compact.isdigit() and len(compact) == 6:
            step = _matching_step(record.secret, compact, now, after=record.last_step)
            used = step is not None and await self.store.mfa.use_step(
                record.user_id, step, iso(now)
            )
        else:
            used = await self.store.mfa.use_recovery_code(
                record.user_id, _recovery_hash(record.user_id, compact), iso(now)
            )
        if used:
            return True
        locked = await self.store.mfa.record_failure(
            record.user_id,
            self.policy.max_failures,
            iso(now + timedelta(seconds=self.policy.lockout_s)),
        )
        self._refuse_if_locked(locked, now)
        return False

    @staticmethod
    def _refuse_if_locked(locked_until: str | None, now: datetime) -> None:
        if locked_until is None:
            return
        left = parse_iso(locked_until) - now
        if left > timedelta(0):
            raise RateLimited(max(1, int(left.total_seconds() * 1000)))


def _is_on(record: MfaRecord | None) -> bool:
    return record is not None and record.secret is not None


def _compact(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _matching_step(secret: str, code: str, now: datetime, after: int) -> int | None:
    """The time step (within the drift allowed) whose code is ``code``, if
    it is later than ``after``."""
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step > after and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4))


def _recovery_hash(user_id: str, code: str) -> str:
    """What is stored of a recovery code: 80 random bits need no slow hash;
    the user id salts it."""
    return hashlib.sha256(f"{user_id}:{_compact(code)}".encode()).hexdigest()
