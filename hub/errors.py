"""Domain errors. Each carries a contract error code; REST maps it to a status."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

STATUS_BY_CODE = {
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "validation_failed": 422,
    "conflict": 409,
    "rate_limited": 429,
    "edit_window_closed": 409,
    "unavailable": 503,
    "internal": 500,
    "insufficient_funds": 402,
    "invalid_state": 409,
    "idempotency_mismatch": 422,
    "malformed_request": 400,
    "payload_too_large": 413,
    "method_not_allowed": 405,
    "mfa_required": 401,
    "email_unverified": 403,
    "contact_details": 403,
    "account_suspended": 403,
}


class HubError(Exception):
    """An error a client is told about: ``code`` is from the wire contract."""

    code = "internal"
    # Extra top-level members of a REST problem (RFC 7807 extension members),
    # beside type, title, status, detail, instance, code and details.
    extensions: dict[str, Any] | None = None

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def status(self) -> int:
        return STATUS_BY_CODE[self.code]

    def to_ack_error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return error


class Unauthorized(HubError):
    code = "unauthorized"


class MfaRequired(HubError):
    """The password was right and two-factor is on: finish the login with
    ``POST /auth/login/mfa``, sending back the ``mfa_token`` member."""

    code = "mfa_required"

    def __init__(self, mfa_token: str) -> None:
        super().__init__("Two-factor authentication required: send a code with the mfa_token")
        self.extensions = {"mfa_token": mfa_token}


class Forbidden(HubError):
    code = "forbidden"


class EmailUnverified(HubError):
    """HUB_REQUIRE_VERIFIED_EMAIL=on and the caller has not verified their email."""

    code = "email_unverified"


class AccountSuspended(HubError):
    """A suspended or banned user logs in or refreshes (issue 20)."""

    code = "account_suspended"


class ContactDetails(HubError):
    """HUB_CONTACT_MASKING=block and the message holds contact details between
    a client and a freelancer with no accepted bid (a kind of forbidden)."""

    code = "contact_details"


class NotFound(HubError):
    code = "not_found"


class Conflict(HubError):
    code = "conflict"


class ValidationFailed(HubError):
    code = "validation_failed"

    @classmethod
    def from_pydantic(cls, exc: ValidationError) -> ValidationFailed:
        fields = [
            {
                "field": ".".join(str(part) for part in err["loc"]) or "body",
                # A validator's own words, without pydantic's "Value error, " (the
                # web client shows this next to the field).
                "message": err["msg"].removeprefix("Value error, "),
            }
            for err in exc.errors(include_url=False, include_input=False)
        ]
        return cls("Invalid request", {"fields": fields})

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls(message, {"fields": [{"field": field, "message": message}]})


class RateLimited(HubError):
    code = "rate_limited"

    def __init__(self, retry_after_ms: int) -> None:
        super().__init__("Too many requests", {"retry_after_ms": retry_after_ms})
        self.retry_after_ms = retry_after_ms


class Unavailable(HubError):
    code = "unavailable"


class InvalidState(HubError):
    code = "invalid_state"


class EditWindowClosed(HubError):
    code = "edit_window_closed"


class MalformedRequest(HubError):
    code = "malformed_request"


class IdempotencyMismatch(HubError):
    code = "idempotency_mismatch"


class InsufficientFunds(HubError):
    code = "insufficient_funds"


class PayloadTooLarge(HubError):
    code = "payload_too_large"
