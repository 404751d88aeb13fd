"""``/auth``: register, login (and its two-factor step), refresh, logout, me, the
caller's sessions, password change, forgot/reset by email, email verification
and two-factor set-up."""

from __future__ import annotations

from aiohttp import web

from hub.accounts.models import (
    AuthResult,
    ChangePasswordRequest,
    ForgotPasswordRequest,
    LoginMfaRequest,
    LoginRequest,
    LogoutRequest,
    PrivateUser,
    RecoveryCodes,
    RefreshRequest,
    RegisterRequest,
    ResetPasswordRequest,
    SessionList,
    TwoFactorCode,
    TwoFactorSetup,
    TwoFactorStatus,
    VerifyEmailRequest,
)
from hub.errors import ValidationFailed
from hub.http import json_response, read_body

from .routing import Route, claims_of, client_of, services_of, user_id_of


async def register(request: web.Request) -> web.Response:
    body = await read_body(request, RegisterRequest)
    result = await services_of(request).accounts.register(body, client_of(request))
    return json_response(result, status=201)


async def login(request: web.Request) -> web.Response:
    body = await read_body(request, LoginRequest)
    return json_response(await services_of(request).accounts.login(body, client_of(request)))


async def login_mfa(request: web.Request) -> web.Response:
    body = await read_body(request, LoginMfaRequest)
    return json_response(await services_of(request).accounts.login_mfa(body, client_of(request)))


async def refresh(request: web.Request) -> web.Response:
    body = await read_body(request, RefreshRequest)
    return json_response(await services_of(request).accounts.refresh(body.refresh_token))


async def logout(request: web.Request) -> web.Response:
    body = await read_body(request, LogoutRequest)
    await services_of(request).accounts.logout(body.refresh_token)
    return web.Response(status=204)


async def me(request: web.Request) -> web.Response:
    return json_response(await services_of(request).accounts.me(user_id_of(request)))


async def list_sessions(request: web.Request) -> web.Response:
    claims = claims_of(request)
    sessions = await services_of(request).sessions.list_active(claims.user_id, claims.session_id)
    return json_response(sessions)


async def revoke_session(request: web.Request) -> web.Response:
    await services_of(request).sessions.revoke(user_id_of(request), request.match_info["id"])
    return web.Response(status=204)


async def logout_all(request: web.Request) -> web.Response:
    await services_of(request).sessions.revoke_all(user_id_of(request))
    return web.Response(status=204)


async def change_password(request: web.Request) -> web.Response:
    caller = claims_of(request)  # 401 before the body is looked at
    body = await read_body(request, ChangePasswordRequest)
    await services_of(request).accounts.change_password(caller, body)
    return web.Response(status=204)


async def forgot_password(request: web.Request) -> web.Response:
    body = await read_body(request, ForgotPasswordRequest)
    await services_of(request).accounts.mails.forgot(body.email)
    return web.Response(status=202)


async def reset_password(request: web.Request) -> web.Response:
    body = await read_body(request, ResetPasswordRequest)
    await services_of(request).accounts.mails.reset(body.token, body.new_password)
    return web.Response(status=204)


async def request_email_verification(request: web.Request) -> web.Response:
    await services_of(request).accounts.mails.request_verification(user_id_of(request))
    return web.Response(status=202)


async def verify_email(request: web.Request) -> web.Response:
    body = await read_body(request, VerifyEmailRequest)
    return json_response(await services_of(request).accounts.mails.verify(body.token))


async def two_factor_status(request: web.Request) -> web.Response:
    status = await services_of(request).accounts.two_factor.status(user_id_of(request))
    return json_response(status)


async def setup_two_factor(request: web.Request) -> web.Response:
    setup = await services_of(request).accounts.two_factor.setup(user_id_of(request))
    return json_response(setup)


async def enable_two_factor(request: web.Request) -> web.Response:
    caller = user_id_of(request)  # 401 before the body is looked at
    body = await read_body(request, TwoFactorCode)
    codes = await services_of(request).accounts.two_factor.enable(caller, body.code)
    if codes is None:
        raise ValidationFailed.field("code", "Wrong code")
    return json_response(codes)


async def disable_two_factor(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, TwoFactorCode)
    if not await services_of(request).accounts.two_factor.disable(caller, body.code):
        raise ValidationFailed.field("code", "Wrong or already used code")
    return web.Response(status=204)


ROUTES: list[Route] = [
    Route(
        "POST",
        "/auth/register",
        register,
        "Create an account",
        "auth",
        auth=False,
        body=RegisterRequest,
        response=AuthResult,
        status=201,
        errors=(409,),
    ),
    Route(
        "POST",
        "/auth/login",
        login,
        "Log in",
        "auth",
        auth=False,
        body=LoginRequest,
        response=AuthResult,
        errors=(401, 403),
        description="With two-factor on, a right password answers 401 with code "
        "mfa_required and an mfa_token member: finish with POST /auth/login/mfa.",
    ),
    Route(
        "POST",
        "/auth/login/mfa",
        login_mfa,
        "Finish a login with two-factor on",
        "auth",
        auth=False,  # the mfa_token in the body is the credential
        body=LoginMfaRequest,
        response=AuthResult,
        errors=(401, 403, 429),
        description="The mfa_token of the login's 401 mfa_required (valid HUB_MFA_TOKEN_TTL_S, "
        "300 s) and a TOTP code or a recovery code; answers like a login (a new session). "
        "A wrong, replayed or used-up code is 401; HUB_MFA_MAX_FAILURES wrong codes in a row "
        "lock the user's codes for HUB_MFA_LOCKOUT_S (429 with Retry-After); an expired "
        "mfa_token is 401 (log in again).",
    ),
    Route(
        "POST",
        "/auth/refresh",
        refresh,
        "Rotate a refresh token",
        "auth",
        auth=False,
        body=RefreshRequest,
        response=AuthResult,
        errors=(401, 403),
    ),
    Route(
        "POST",
        "/auth/logout",
        logout,
        "End the session of a refresh token",
        "auth",
        auth=False,
        body=LogoutRequest,
        status=204,
        description="Revokes the refresh token's family, which is its session: the "
        "session's access tokens answer 401 and its sockets get auth:revoked and are "
        "disconnected. An unknown refresh token is 204 too.",
    ),
    Route("GET", "/auth/me", me, "The caller's own account", "auth", response=PrivateUser),
    Route(
        "GET",
        "/auth/sessions",
        list_sessions,
        "The caller's active sessions, newest first",
        "auth",
        response=SessionList,
        description="One session per login (or registration); current marks the session "
        "of the token that asks.",
    ),
    Route(
        "DELETE",
        "/auth/sessions/{id}",
        revoke_session,
        "Revoke one of the caller's sessions",
        "auth",
        status=204,
        description="Its refresh and access tokens stop working (401) and its sockets get "
        "auth:revoked and are disconnected, on every process. Someone else's session, or "
        "one already revoked, is 404.",
    ),
    Route(
        "POST",
        "/auth/logout-all",
        logout_all,
        "Revoke every session of the caller, this one too",
        "auth",
        status=204,
    ),
    Route(
        "POST",
        "/auth/password",
        change_password,
        "Change the caller's password",
        "auth",
        body=ChangePasswordRequest,
        status=204,
        keyed=False,  # the body holds passwords
        description="A wrong current_password is 422 validation_failed naming current_password; "
        "new_password follows the register rule (8+ characters). Every other session of the "
        "caller is revoked (401, sockets get auth:revoked and are disconnected, on every "
        "process); the caller's own session stays.",
    ),
    Route(
        "POST",
        "/auth/password/forgot",
        forgot_password,
        "Mail a password reset link",
        "auth",
        auth=False,
        body=ForgotPasswordRequest,
        status=202,
        errors=(429,),
        description="202 whether or not an account has this email (nothing tells them apart, "
        "timing included); if one has, it is mailed a link to <public URL>/#/reset?token=... "
        "with a single-use token valid HUB_PASSWORD_RESET_TTL_S (1 h). Limited per email "
        "address (HUB_RATE_LIMIT_ACCOUNT_EMAIL) and per IP (HUB_RATE_LIMIT_AUTH): 429.",
    ),
    Route(
        "POST",
        "/auth/password/reset",
        reset_password,
        "Set a new password with the token of a reset link",
        "auth",
        auth=False,  # the token in the body is the credential
        body=ResetPasswordRequest,
        status=204,
        description="An unknown, expired or already used token is 422 validation_failed naming "
        "token; new_password follows the register rule (422 naming new_password, the token "
        "stays usable). Every session of the user is revoked (401, sockets get auth:revoked "
        "and are disconnected, on every process) and the email counts as verified.",
    ),
    Route(
        "POST",
        "/auth/email/verify-request",
        request_email_verification,
        "Mail the caller a link that verifies their email",
        "auth",
        status=202,
        errors=(429, 503),
        description="The link is <public URL>/#/verify?token=... with a single-use token valid "
        "HUB_EMAIL_VERIFICATION_TTL_S (24 h). Nothing is mailed when the email is verified "
        "already. Limited per address (HUB_RATE_LIMIT_ACCOUNT_EMAIL): 429; 503 when the hub "
        "sends no email (production without HUB_SMTP_URL).",
    ),
    Route(
        "POST",
        "/auth/email/verify",
        verify_email,
        "Verify an email with the token of its link",
        "auth",
        auth=False,  # the token in the body is the credential
        body=VerifyEmailRequest,
        response=PrivateUser,
        description="Answers the user, email_verified true. An unknown, expired or already used "
        "token is 422 validation_failed naming token.",
    ),
    Route(
        "GET",
        "/auth/2fa",
        two_factor_status,
        "Whether two-factor is on for the caller",
        "auth",
        response=TwoFactorStatus,
    ),
    Route(
        "POST",
        "/auth/2fa/setup",
        setup_two_factor,
        "Start setting up two-factor (TOTP)",
        "auth",
        response=TwoFactorSetup,
        errors=(409,),
        keyed=False,  # the answer holds the secret
        description="A new secret (replacing one set up before and never enabled), its "
        "otpauth:// URI and that URI as a QR code (qr_svg, an SVG data: URI). The secret is "
        "shown here only. 409 while two-factor is on.",
    ),
    Route(
        "POST",
        "/auth/2fa/enable",
        enable_two_factor,
        "Turn two-factor on with a code of the secret set up",
        "auth",
        body=TwoFactorCode,
        response=RecoveryCodes,
        errors=(409,),
        keyed=False,  # the answer holds the recovery codes
        description="Answers 10 single-use recovery codes, shown this once (stored hashed). "
        "A wrong code is 422 validation_failed naming code; 409 without a set-up or when on.",
    ),
    Route(
        "POST",
        "/auth/2fa/disable",
        disable_two_factor,
        "Turn two-factor off with a TOTP or recovery code",
        "auth",
        body=TwoFactorCode,
        status=204,
        errors=(409, 429),
        description="A wrong or already used code is 422 validation_failed naming code, and "
        "counts toward the lockout (429 with Retry-After); 409 when two-factor is off.",
    ),
]
