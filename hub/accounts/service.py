"""Registration, login, token rotation, profiles, blocks and roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from storage import DuplicateError, Store
from storage.records import BlockRecord, DirectoryQuery, RefreshTokenRecord, UserRecord

from ..clock import iso, new_id, now_iso, utc_now
from ..cursors import decode_cursor, encode_cursor
from ..errors import (
    AccountSuspended,
    Conflict,
    MfaRequired,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from ..passwords import Passwords
from ..tokens import (
    AccessClaims,
    TokenIssuer,
    hash_refresh_token,
    new_refresh_token,
    password_stamp,
)
from .mail_links import AccountMails
from .mfa import TwoFactor
from .models import (
    AuthResult,
    BlockEntry,
    ChangePasswordRequest,
    LoginMfaRequest,
    LoginRequest,
    PrivateUser,
    ProfileUpdate,
    PublicUser,
    RegisterRequest,
    UserDirectoryQuery,
    UserPage,
)
from .sessions import ClientInfo, SessionService

MAX_DIRECTORY_SKILLS = 50  # as many as a profile holds


class AccountService:
    """The account rules, shared by REST, Socket.IO and the CLI."""

    def __init__(
        self,
        store: Store,
        tokens: TokenIssuer,
        passwords: Passwords,
        refresh_ttl_s: int,
        sessions: SessionService,
        two_factor: TwoFactor,
        mails: AccountMails,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.passwords = passwords
        self.refresh_ttl = timedelta(seconds=refresh_ttl_s)
        self.sessions = sessions
        self.two_factor = two_factor
        self.mails = mails  # forgot/reset password, email verification
        # Told (blocker_id, blocked_id) after a block is stored: private
        # presence takes the two out of each other's watchers rooms (issue 20).
        self.block_listeners: list[Callable[[str, str], Awaitable[None]]] = []

    async def register(self, request: RegisterRequest, client: ClientInfo) -> AuthResult:
        user = await self._create_user(
            request.email, request.password, request.display_name, request.role
        )
        return await self._sign_in(user, await self.sessions.start(user.id, client))

    async def login(self, request: LoginRequest, client: ClientInfo) -> AuthResult:
        user = await self.store.users.get_by_email(request.email.strip().lower())
        valid = await self.passwords.verify(user.password_hash if user else None, request.password)
        if user is None or not valid:
            raise Unauthorized("Wrong email or password")
        if await self.two_factor.is_on(user.id):
            # Only after the password (hashed for unknown emails too): nothing
            # here tells an unknown email from a known one.
            ttl_s = self.two_factor.policy.token_ttl_s
            raise MfaRequired(
                self.tokens.issue_mfa(user.id, ttl_s, password_stamp(user.password_hash))
            )
        _allowed(user, now_iso())  # before a session is opened for it
        return await self._sign_in(user, await self.sessions.start(user.id, client))

    async def login_mfa(self, request: LoginMfaRequest, client: ClientInfo) -> AuthResult:
        """A login's second step: the mfa_token of its first and a TOTP or
        recovery code. Wrong code 401; 429 while locked out. A token from
        before a password change or reset is refused: log in again."""
        user_id, stamp = self.tokens.verify_mfa(request.mfa_token)
        user = await self.store.users.get(user_id)
        if user is not None and stamp != password_stamp(user.password_hash):
            raise Unauthorized("The password changed since this mfa_token: log in again")
        record = await self.store.mfa.get(user.id) if user is not None else None
        if user is None or record is None or record.secret is None:
            raise Unauthorized("Two-factor authentication is off: log in with the password")
        if not await self.two_factor.check(record, request.code):
            raise Unauthorized("Wrong or already used code")
        return await self._sign_in(user, await self.sessions.start(user.id, client))

    async def change_password(self, caller: AccessClaims, request: ChangePasswordRequest) -> None:
        """Change the caller's password; every other session of theirs is
        revoked (tokens refused, sockets dropped), the caller's own stays."""
        user = await self.store.users.get(caller.user_id)
        valid = await self.passwords.verify(
            user.password_hash if user else None, request.current_password
        )
        if user is None or not valid:
            raise ValidationFailed.field("current_password", "Wrong password")
        password_hash = await self.passwords.hash(request.new_password)
        await self.store.users.update(
            user.id, {"password_hash": password_hash, "updated_at": now_iso()}
        )
        await self.sessions.revoke_all(user.id, except_id=caller.session_id)

    async def refresh(self, refresh_token: str) -> AuthResult:
        """Rotate a refresh token. Presenting a rotated one revokes its family,
        which is its session."""
        record = await self.store.refresh_tokens.get(hash_refresh_token(refresh_token))
        now = now_iso()
        if record is None or record.revoked_at is not None or record.expires_at <= now:
            raise Unauthorized("Invalid refresh token")
        if not await self.store.refresh_tokens.mark_used(record.token_hash, now):
            await self.sessions.end(record.family_id)
            raise Unauthorized("Refresh token reused: every session of this login is revoked")
        user = await self.store.users.get(record.user_id)
        if user is None:
            raise Unauthorized("Invalid refresh token")
        await self.sessions.resume(record.family_id, user.id)
        return await self._sign_in(user, record.family_id)

    async def logout(self, refresh_token: str) -> None:
        """End the session of a refresh token (an unknown token changes nothing)."""
        record = await self.store.refresh_tokens.get(hash_refresh_token(refresh_token))
        if record is not None:
            await self.sessions.end(record.family_id)

    async def me(self, user_id: str) -> PrivateUser:
        return PrivateUser.of(await self._existing(user_id))

    async def profile(self, user_id: str) -> PublicUser:
        return PublicUser.of(await self._existing(user_id))

    async def directory(self, viewer_id: str, query: UserDirectoryQuery) -> UserPage:
        """The people ``viewer_id`` finds with ``query``: public profiles by
        display name (then id), never the viewer, never across a block (either
        way), never by email; the store's ``DirectoryQuery`` says how words and
        skills match.

        The cursor names the last user of the previous page and the next page
        starts after that user's current ``(display_name, id)``; holding the
        id, not the name, keeps every cursor short whatever the name. So if
        that user renames in between, the next page starts from the new name.
        """
        skills = [s.strip() for s in (query.skills or "").split(",") if s.strip()]
        if len(skills) > MAX_DIRECTORY_SKILLS:
            raise ValidationFailed.field("skills", f"At most {MAX_DIRECTORY_SKILLS} skills")
        after = None
        if (last_id := decode_cursor(query.cursor)) is not None:
            last = await self.store.users.get(last_id)
            if last is None:
                raise ValidationFailed.field("cursor", "Invalid cursor")
            after = (last.display_name, last.id)
        rows = await self.store.users.directory(
            DirectoryQuery(
                viewer_id=viewer_id,
                words=(query.q or "").split(),
                role=query.role,
                skills=list(dict.fromkeys(skills)),
                now=now_iso(),
            ),
            after=after,
            limit=query.limit + 1,
        )
        items = rows[: query.limit]
        more = len(rows) > query.limit
        return UserPage(
            items=[PublicUser.of(user) for user in items],
            next_cursor=encode_cursor(items[-1].id) if more else None,
        )

    async def update_profile(self, user_id: str, update: ProfileUpdate) -> PrivateUser:
        changes = update.model_dump(exclude_unset=True)
        changes["updated_at"] = now_iso()
        user = await self.store.users.update(user_id, changes)
        if user is None:
            raise NotFound("User not found")
        return PrivateUser.of(user)

    async def block(self, blocker_id: str, blocked_id: str) -> BlockEntry:
        if blocker_id == blocked_id:
            raise ValidationFailed.field("id", "You cannot block yourself")
        await self._existing(blocked_id)
        block = BlockRecord(blocker_id, blocked_id, now_iso())
        await self.store.blocks.add(block)
        for listener in self.block_listeners:
            await listener(blocker_id, blocked_id)
        return BlockEntry(user_id=blocked_id, created_at=block.created_at)

    async def unblock(self, blocker_id: str, blocked_id: str) -> None:
        if not await self.store.blocks.remove(blocker_id, blocked_id):
            raise NotFound("This user is not blocked")

    async def blocked_users(self, blocker_id: str) -> list[BlockEntry]:
        blocks = await self.store.blocks.list_by_blocker(blocker_id)
        return [BlockEntry(user_id=b.blocked_id, created_at=b.created_at) for b in blocks]

    async def is_blocked_between(self, user_a: str, user_b: str) -> bool:
        return await self.store.blocks.exists_between(user_a, user_b)

    async def set_role(self, user_id: str, role: str) -> PrivateUser:
        user = await self.store.users.update(user_id, {"role": role, "updated_at": now_iso()})
        if user is None:
            raise NotFound("User not found")
        return PrivateUser.of(user)

    async def create_admin(self, email: str, password: str) -> tuple[PrivateUser, bool]:
        """Create an admin, or promote an existing user. True when created."""
        existing = await self.store.users.get_by_email(email)
        if existing is not None:
            return await self.set_role(existing.id, "admin"), False
        user = await self._create_user(email, password, email.split("@")[0], "admin")
        return PrivateUser.of(user), True

    async def _create_user(
        self, email: str, password: str, display_name: str, role: str
    ) -> UserRecord:
        now = now_iso()
        user = UserRecord(
            id=new_id(),
            email=email,
            password_hash=await self.passwords.hash(password),
            display_name=display_name,
            role=role,
            created_at=now,
            updated_at=now,
        )
        try:
            await self.store.users.create(user)
        except DuplicateError as exc:
            raise Conflict("This email is already registered") from exc
        return user

    async def _sign_in(self, user: UserRecord, session_id: str) -> AuthResult:
        """A new token pair for the session (its refresh-token family).

        Every login, registration and refresh passes here: this is where a
        banned user will be refused a token.
        """
        now = utc_now()
        _allowed(user, iso(now))
        refresh_token = new_refresh_token()
        await self.store.refresh_tokens.create(
            RefreshTokenRecord(
                token_hash=hash_refresh_token(refresh_token),
                family_id=session_id,
                user_id=user.id,
                created_at=iso(now),
                expires_at=iso(now + self.refresh_ttl),
            )
        )
        return AuthResult(
            user=PrivateUser.of(user),
            access_token=self.tokens.issue(user.id, user.role, session_id),
            refresh_token=refresh_token,
            expires_in=self.tokens.ttl_s,
        )

    async def _existing(self, user_id: str) -> UserRecord:
        user = await self.store.users.get(user_id)
        if user is None:
            raise NotFound("User not found")
        return user


def _allowed(user: UserRecord, now: str) -> None:
    """AccountSuspended while ``user`` is banned or suspended past ``now`` (issue 20)."""
    if user.banned_at is not None or (
        user.suspended_until is not None and user.suspended_until > now
    ):
        raise AccountSuspended("This account is suspended")
