"""Request bodies and response shapes of auth, sessions, users and admin."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StringConstraints,
)

from storage.records import SessionRecord, UserRecord

from ..schema import Body, Cursor, HttpUrl, Limit, Query


def _normalise_email(value: str) -> str:
    value = value.strip().lower()
    local, _, domain = value.partition("@")
    if not local or "." not in domain or " " in value:
        raise ValueError("not a valid email address")
    return value


Email = Annotated[str, Field(max_length=254), AfterValidator(_normalise_email)]
Password = Annotated[str, Field(min_length=8, max_length=256)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Skill = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Role = Literal["client", "freelancer", "admin"]


class RegisterRequest(Body):
    email: Email
    password: Password
    display_name: DisplayName
    role: Literal["client", "freelancer"]


class LoginRequest(Body):
    email: Annotated[str, Field(max_length=254)]
    password: Annotated[str, Field(max_length=256)]


class RefreshRequest(Body):
    refresh_token: Annotated[str, Field(min_length=1, max_length=512)]


class LogoutRequest(Body):
    refresh_token: Annotated[str, Field(min_length=1, max_length=512)]


class ChangePasswordRequest(Body):
    """``POST /auth/password``: the new password follows the register rule."""

    current_password: Annotated[str, Field(max_length=256)]
    new_password: Password


# A token mailed in a link (password reset, email verification).
MailedToken = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


class ForgotPasswordRequest(Body):
    """``POST /auth/password/forgot``: 202 whether an account has this address or not."""

    email: Email


class ResetPasswordRequest(Body):
    """``POST /auth/password/reset``: the token of the mailed link; the new
    password follows the register rule."""

    token: MailedToken
    new_password: Password


class VerifyEmailRequest(Body):
    """``POST /auth/email/verify``: the token of the mailed link."""

    token: MailedToken


# A TOTP code (6 digits) or a recovery code; spaces and dashes are ignored.
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class TwoFactorCode(Body):
    """``POST /auth/2fa/enable`` (a TOTP code) and ``/auth/2fa/disable`` (a
    TOTP or recovery code)."""

    code: Code


class LoginMfaRequest(Body):
    """``POST /auth/login/mfa``: the second step of a login with two-factor on."""

    mfa_token: Annotated[str, Field(min_length=1, max_length=2048)]
    code: Code


class TwoFactorSetup(BaseModel):
    """A new secret to confirm with ``POST /auth/2fa/enable``: type ``secret``
    into an authenticator app, or open ``otpauth_uri``, or scan ``qr_svg``."""

    secret: str
    otpauth_uri: str
    qr_svg: str = Field(description="The otpauth URI as a QR code: an SVG data: URI (img src)")


class RecoveryCodes(BaseModel):
    """Single-use codes that stand for a TOTP code; shown once, stored hashed."""

    recovery_codes: list[str]


class TwoFactorStatus(BaseModel):
    enabled: bool
    pending: bool  # set up, not yet enabled
    recovery_codes_left: int


class ProfileUpdate(Body):
    """Only the fields sent change; ``avatar_url: null`` clears the avatar."""

    # A default of None with a non-optional type: omitting is fine, sending null is not.
    display_name: DisplayName = None  # type: ignore[assignment]
    headline: Annotated[str, Field(max_length=160)] = None  # type: ignore[assignment]
    avatar_url: HttpUrl | None = None
    skills: Annotated[list[Skill], Field(max_length=50)] = None  # type: ignore[assignment]


class RoleUpdate(Body):
    role: Role


class PublicUser(BaseModel):
    id: str
    display_name: str
    role: str
    headline: str
    avatar_url: str | None
    skills: list[str]
    created_at: str

    @classmethod
    def of(cls, user: UserRecord) -> PublicUser:
        return cls(
            id=user.id,
            display_name=user.display_name,
            role=user.role,
            headline=user.headline,
            avatar_url=user.avatar_url,
            skills=user.skills,
            created_at=user.created_at,
        )


class UserDirectoryQuery(Query):
    """``GET /users``: the people directory. Every filter is optional; with none
    it lists everyone the caller may see, by display name."""

    q: (
        Annotated[
            str,
            Field(
                max_length=100,
                description="Words that must all occur in the display name, headline or"
                " a skill (case-insensitive substrings; never the email). Blank: no filter.",
            ),
        ]
        | None
    ) = None
    role: Role | None = None
    skills: (
        Annotated[str, Field(max_length=300, description="Comma-separated; the user has every one")]
        | None
    ) = None
    cursor: Cursor | None = None
    limit: Limit = 20


class UserPage(BaseModel):
    items: list[PublicUser]
    next_cursor: str | None = None


class PrivateUser(PublicUser):
    """What a user sees of themselves."""

    email: str
    email_verified: bool
    updated_at: str

    @classmethod
    def of(cls, user: UserRecord) -> PrivateUser:
        return cls(
            **PublicUser.of(user).model_dump(),
            email=user.email,
            email_verified=user.email_verified,
            updated_at=user.updated_at,
        )


class AuthResult(BaseModel):
    user: PrivateUser
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


class SessionView(BaseModel):
    """One login as its user sees it in ``GET /auth/sessions``."""

    id: str
    created_at: str
    last_used_at: str  # the login, or its latest refresh
    user_agent: str | None
    ip: str | None
    current: bool  # the session of the token that asked

    @classmethod
    def of(cls, session: SessionRecord, current: bool) -> SessionView:
        return cls(
            id=session.id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            user_agent=session.user_agent,
            ip=session.ip,
            current=current,
        )


class SessionList(BaseModel):
    items: list[SessionView]
    next_cursor: str | None = None


class BlockEntry(BaseModel):
    user_id: str
    created_at: str


class BlockList(BaseModel):
    items: list[BlockEntry]
    next_cursor: str | None = None
