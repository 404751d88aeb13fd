"""Settings, read from ``HUB_*`` environment variables (and an optional ``.env``)."""

from __future__ import annotations

import base64
import logging
import secrets
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .ratelimit import Limit

log = logging.getLogger(__name__)

DEV_SECRET_FILE = "jwt-dev-secret"
# The socket event families with a per-user limit each (setting
# rate_limit_<family>); "socket_events" is every event together.
SOCKET_LIMIT_FAMILIES = (
    "socket_events",
    "message_send",
    "typing",
    "conversation_change",
    "conversation_read",
    "presence",
    "call",
    "signal",
    "echo",
    "networking",
    "auth_refresh",
)
DEV_WEBHOOK_SECRET_FILE = "payments-webhook-dev-secret"
DEV_FILE_URL_SECRET_FILE = "file-url-dev-secret"
DEV_EMAIL_UNSUBSCRIBE_SECRET_FILE = "email-unsubscribe-dev-secret"
DEV_VAPID_KEY_FILE = "vapid-dev-private-key"
DEV_VAPID_SUBJECT = "mailto:hub@localhost"


class Settings(BaseSettings):
    """Every knob of the hub. Field ``x`` is read from ``HUB_X``."""

    model_config = SettingsConfigDict(
        env_prefix="HUB_", env_file=".env", extra="ignore", validate_default=True
    )

    env: Literal["development", "production"] = "development"
    host: str = "0.0.0.0"
    port: int = 8080
    # Connections the kernel queues before the hub accepts them (capped by
    # net.core.somaxconn). aiohttp's default of 128 overflows when thousands
    # of clients reconnect at once: dropped SYNs are retried by TCP 1, 3, 7 s later.
    listen_backlog: int = Field(4096, ge=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    data_dir: Path = Path("data")
    database_url: str = "sqlite:///data/hub.db"
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    mongodb_write_concern: str = "majority"
    redis_url: str | None = None

    jwt_secret: SecretStr | None = None
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_private_key_file: Path | None = None
    jwt_public_key_file: Path | None = None
    access_token_ttl_s: int = Field(900, ge=5)
    refresh_token_ttl_s: int = Field(30 * 24 * 3600, ge=60)
    # Refresh tokens are deleted this many days after they expired, sessions
    # this many days after they were revoked or their last token expired
    # (hourly, in batches: hub/accounts/retention.py).
    session_retention_days: int = Field(30, ge=1, le=3650)

    password_hash_time_cost: int = Field(3, ge=1)
    password_hash_memory_kib: int = Field(65536, ge=8)
    # Two-factor (issue 19; docs/accounts.md): how long the mfa_token of a
    # login's second step is valid, how many wrong codes in a row lock the
    # user's codes out and for how long, and the issuer authenticator apps show.
    mfa_token_ttl_s: int = Field(300, ge=1)
    mfa_max_failures: int = Field(5, ge=1)
    mfa_lockout_s: int = Field(900, ge=1)
    mfa_issuer: str = Field("Freelance Hub", min_length=1, max_length=64)
    # Mailed account links (issue 19; docs/accounts.md): how long a password
    # reset token and an email verification token are valid (0: expired at
    # once, for tests), and whether sending messages, bidding and posting
    # jobs wait for a verified email (403 email_unverified until then).
    password_reset_ttl_s: int = Field(3600, ge=0)
    email_verification_ttl_s: int = Field(24 * 3600, ge=0)
    require_verified_email: Literal["on", "off"] = "off"
    # Trust and safety (issue 20; docs/trust-and-safety.md): contact details in
    # messages between a client and a freelancer with no accepted bid between
    # them are masked ("[contact hidden]", original kept for moderators),
    # refused (403 contact_details) or let through; "business" lets a
    # freelancer start a conversation with a client only about their bid.
    contact_masking: Literal["off", "mask", "block"] = "mask"
    dm_policy: Literal["open", "business"] = "open"

    cors_origins: Annotated[list[str], NoDecode] = []
    # The largest REST body, Socket.IO packet or long-polling POST accepted
    # (larger ones are 413 at once, before they are read).
    max_payload_bytes: int = Field(1024 * 1024, ge=1024)
    # Unsent data the hub keeps per socket; a client that stops reading is
    # disconnected (slow_consumer) once over it, so it cannot grow our memory.
    socket_send_buffer_bytes: int = Field(1024 * 1024, ge=16 * 1024)
    # WebSocket permessage-deflate, which every browser offers: "off" declines
    # it, "on" accepts it (a zlib context per socket: about 100 KiB each and
    # 20-25 us per frame sent; chat frames are small). docs/benchmarks.md,
    # "WebSocket compression", has the figures.
    ws_compression: Literal["off", "on"] = "off"
    # SIGTERM to exit 0, whatever clients do: acks in flight finish, sockets
    # are told and closed, then the rest of the hub stops.
    shutdown_grace_s: float = Field(10.0, ge=1.0, le=600.0)

    edit_window_s: int = Field(900, ge=0)
    max_text_length: int = Field(4000, ge=1)
    max_group_size: int = Field(256, ge=2)
    typing_expires_ms: int = Field(6000, ge=100)

    presence_grace_s: float = Field(5.0, ge=0)
    presence_process_timeout_s: float = Field(25.0, gt=0)  # + one sweep: within 30 s
    presence_sweep_interval_s: float = Field(1.0, gt=0)
    message_gap_timeout_s: float = Field(0.5, gt=0)

    # Token buckets, "<count>/<period>" ("30/5s": 30 at once, refilled over 5 s).
    # "off" disables every limit (load tests). Sockets: per user; REST: per user
    # when the bearer token is valid, else per client IP; auth: per client IP on
    # POST /auth/login, /auth/register and /auth/refresh.
    rate_limits: Literal["on", "off"] = "on"
    rate_limit_rest: str = "600/1m"
    rate_limit_auth: str = "20/1m"
    # Account mails (password reset, email verification), per email address
    # and kind, whether the account exists or not; per IP the auth limit applies.
    rate_limit_account_email: str = "5/1h"
    # Socket events, per user: every event (invalid ones too) takes a token
    # from rate_limit_socket_events and one from its family's bucket (each
    # event names its family where it is declared: @event(..., limit=...)).
    rate_limit_socket_events: str = "300/10s"
    rate_limit_message_send: str = "30/5s"
    rate_limit_typing: str = "20/10s"
    rate_limit_conversation_change: str = "30/10s"
    rate_limit_conversation_read: str = "120/10s"
    rate_limit_presence: str = "30/10s"
    rate_limit_call: str = "20/10s"
    rate_limit_signal: str = "300/10s"
    rate_limit_echo: str = "10/1m"
    rate_limit_networking: str = "30/10s"
    rate_limit_auth_refresh: str = "10/1m"

    # Marketplace money. Currencies are ISO 4217 codes; the fee is in basis
    # points of what a freelancer receives (1000 = 10%), rounded half up, and
    # at least min_fee minor units on a payment of at least that much.
    currencies: Annotated[list[str], NoDecode] = ["USD", "EUR", "GBP"]
    platform_fee_bps: int = Field(1000, ge=0, le=10_000)
    min_fee: int = Field(1, ge=0, le=10**6)
    payment_provider: Literal["sandbox"] = "sandbox"
    # Signs and verifies POST /payments/webhook; required in production.
    payments_webhook_secret: SecretStr | None = None
    # How the sandbox provider reaches this hub for its webhooks (default
    # http://127.0.0.1:<port>), and how long it waits before delivering one.
    public_url: str | None = None
    sandbox_webhook_delay_s: float = Field(0.2, ge=0, le=60)

    # Video (docs/video.md). STUN/TURN URLs are comma-separated; TURN credentials
    # are minted per user (TURN REST API) from the shared secret, valid turn_ttl_s.
    call_ring_timeout_s: float = Field(30.0, gt=0, le=600)
    stun_urls: Annotated[list[str], NoDecode] = []
    turn_urls: Annotated[list[str], NoDecode] = []
    turn_secret: SecretStr | None = None
    turn_ttl_s: int = Field(3600, ge=60, le=86_400)
    signal_max_candidates: int = Field(64, ge=1, le=10_000)  # per side and negotiation
    echo_max_peers: int = Field(4, ge=0, le=1000)  # per process
    echo_idle_timeout_s: float = Field(60.0, gt=0)
    # Speed networking: a lobby "minute" (tests shorten it), the no-show window,
    # and how often each process checks timers and retries matching.
    networking_minute_s: float = Field(60.0, gt=0)
    networking_no_show_s: float = Field(20.0, gt=0)
    networking_tick_s: float = Field(0.5, gt=0, le=60)

    # Attachments (docs/attachments.md). Where the bytes live: file://PATH (a
    # directory) or s3://bucket/prefix (with s3_endpoint_url for a non-AWS
    # service, and the standard AWS_* credentials); unset: <data_dir>/files.
    file_store: str | None = Field(None, pattern=r"^(file://.+|s3://[^/]+(/.*)?)$")
    s3_endpoint_url: str | None = None
    upload_max_bytes: int = Field(25 * 1024 * 1024, ge=1)
    # Sniffed types accepted ("type/subtype" or "type/*"); empty: the default list
    # (hub/files/checks.py DEFAULT_ALLOWED_TYPES).
    upload_allowed_types: Annotated[list[str], NoDecode] = []
    file_url_ttl_s: int = Field(300, ge=1, le=7 * 86_400)  # signed upload/download URLs
    upload_ttl_s: int = Field(24 * 3600, ge=60)  # then a pending upload is deleted
    upload_quota_bytes_per_day: int = Field(1024**3, ge=0)  # per user; 0: no quota
    # Signs the hub's own file URLs; generated into the data directory in
    # development. Processes sharing a file store need the same one.
    file_url_secret: SecretStr | None = None
    # A ClamAV daemon for uploads (tcp://host:3310 or unix:///path); unset: not scanned.
    clamd_url: str | None = Field(None, pattern=r"^(tcp://[^/]+|unix:///.+)$")

    # Outbound webhooks (issue 18; docs/integrators.md). "on" lets endpoints
    # resolve to private, loopback, link-local or reserved addresses (tests,
    # an intranet); "off" refuses them at registration and at each delivery.
    webhook_allow_private: Literal["on", "off"] = "off"
    # Retries: base * 2**(attempt-1), capped, with jitter, for max_age_s after
    # the event; then the entry is marked failed.
    webhook_backoff_base_s: float = Field(10.0, gt=0)
    webhook_backoff_max_s: float = Field(3600.0, gt=0)
    webhook_max_age_s: float = Field(24 * 3600.0, gt=0)
    webhook_timeout_s: float = Field(10.0, gt=0, le=120)
    # How often a process looks for due entries, and re-reads the endpoint
    # list (registered through another process).
    webhook_poll_s: float = Field(1.0, gt=0, le=60)
    webhook_refresh_s: float = Field(10.0, gt=0)
    # The delivery log's rows, and the outbox entries given up on (by their
    # event's time), are deleted after this many days (hourly, in batches).
    webhook_log_retention_days: int = Field(30, ge=1, le=3650)

    # Reaching users who are offline (issue 18; docs/push.md). An email digest
    # goes to a user offline this long with unread messages (their own
    # notification settings may change it).
    email_digest_delay_s: int = Field(900, ge=0)
    # Web Push: the VAPID key pair's private key (base64url of the raw 32-byte
    # P-256 scalar, as `web-push generate-vapid-keys` prints it, of DER, or
    # PEM) and the contact push services see (mailto: or https:). Generated
    # into the data directory in development; in production, unset means no push.
    vapid_private_key: SecretStr | None = None
    vapid_subject: str | None = Field(None, pattern=r"^(mailto:.+@.+|https://.+)$")
    # "off": pushes say who wrote but never what (no preview of the text).
    push_previews: Literal["on", "off"] = "on"
    # Pushes waiting for the background sender; more are dropped (counted).
    push_queue_size: int = Field(10_000, ge=1)

    # Mail through SMTP (issue 18; docs/protocol.md, "Email digests"):
    # smtp[s]://user:password@host:port. smtp:// upgrades with STARTTLS when
    # the server offers it (port 587 by default), smtps:// is implicit TLS
    # (465). Unset: in development each mail is written to the log instead,
    # in production no mail goes out. Links in mails start with public_url.
    smtp_url: SecretStr | None = None
    smtp_timeout_s: float = Field(10.0, gt=0, le=300)
    email_from: str = "Freelance Hub <no-reply@localhost>"
    # How often each process looks for due digests (the store says which;
    # with several processes exactly one claims each).
    email_digest_poll_s: float = Field(10.0, gt=0, le=600)
    # A digest the SMTP server did not take is tried again after this, then
    # twice as long each time, five tries in all.
    email_digest_retry_s: float = Field(60.0, gt=0)
    # Signs the one-click unsubscribe links in mails; generated into the data
    # directory in development. Processes sharing a database need the same one.
    email_unsubscribe_secret: SecretStr | None = None

    @field_validator("upload_allowed_types", mode="before")
    @classmethod
    def _split_types(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("stun_urls", "turn_urls", mode="before")
    @classmethod
    def _split_ice_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @field_validator("turn_secret", mode="before")
    @classmethod
    def _blank_turn_secret(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "jwt_secret",
        "redis_url",
        "jwt_private_key_file",
        "jwt_public_key_file",
        "payments_webhook_secret",
        "public_url",
        "vapid_private_key",
        "vapid_subject",
        "smtp_url",
        "email_unsubscribe_secret",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("currencies", mode="before")
    @classmethod
    def _split_currencies(cls, value: object) -> object:
        if isinstance(value, str):
            return [code.strip().upper() for code in value.split(",") if code.strip()]
        return value

    @field_validator("currencies")
    @classmethod
    def _iso_currencies(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one currency")
        for code in value:
            if len(code) != 3 or not code.isascii() or not code.isalpha() or not code.isupper():
                raise ValueError(f"{code!r} is not an ISO 4217 code")
        return list(dict.fromkeys(value))

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parts = urlsplit(value.get_secret_value())
            if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
                raise ValueError("must be smtp[s]://user:password@host:port")
        return value

    @field_validator(
        "rate_limits",
        "ws_compression",
        "push_previews",
        "require_verified_email",
        "contact_masking",
        "dm_policy",
        mode="before",
    )
    @classmethod
    def _on_off(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator(
        "rate_limit_rest",
        "rate_limit_auth",
        "rate_limit_account_email",
        *(f"rate_limit_{family}" for family in SOCKET_LIMIT_FAMILIES),
    )
    @classmethod
    def _valid_limit(cls, value: str) -> str:
        Limit.parse(value)  # a bad limit is a settings error at startup
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "mongodb://", "mongodb+srv://")):
            raise ValueError("must start with sqlite:///, mongodb:// or mongodb+srv://")
        return value

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> Settings:
        if self.env == "production":
            if self.jwt_algorithm == "HS256" and self.jwt_secret is None:
                raise ValueError("HUB_JWT_SECRET is required when HUB_ENV=production")
            if self.jwt_algorithm == "HS256" and self.jwt_secret is not None:
                _refuse_weak_jwt_secret(self.jwt_secret.get_secret_value(), self.data_dir)
            if self.payments_webhook_secret is None:
                raise ValueError("HUB_PAYMENTS_WEBHOOK_SECRET is required when HUB_ENV=production")
            if "*" in self.cors_origins:
                raise ValueError("HUB_CORS_ORIGINS must list origins, not '*', in production")
        if self.jwt_algorithm == "RS256" and not (
            self.jwt_private_key_file and self.jwt_public_key_file
        ):
            raise ValueError("RS256 needs HUB_JWT_PRIVATE_KEY_FILE and HUB_JWT_PUBLIC_KEY_FILE")
        return self

    def socket_limit(self, family: str) -> Limit:
        """The per-user limit of a socket event family (SOCKET_LIMIT_FAMILIES)."""
        return Limit.parse(getattr(self, f"rate_limit_{family}"))

    @property
    def uses_mongodb(self) -> bool:
        return self.database_url.startswith(("mongodb://", "mongodb+srv://"))

    def sqlite_path(self) -> Path:
        """The database file of a ``sqlite:///`` URL (four slashes: absolute)."""
        return Path(self.database_url.removeprefix("sqlite:///"))

    def ensure_jwt_secret(self) -> None:
        """In development, generate a secret once and keep it in the data directory."""
        if self.jwt_secret is not None or self.jwt_algorithm != "HS256":
            return
        path = self.data_dir / DEV_SECRET_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        log.warning("HUB_JWT_SECRET is not set: using the development secret in %s", path)
        self.jwt_secret = SecretStr(path.read_text().strip())

    @property
    def base_url(self) -> str:
        """Where this hub can be reached from its own process (sandbox webhooks)."""
        return self.public_url or f"http://127.0.0.1:{self.port}"

    def ensure_webhook_secret(self) -> None:
        """In development, generate a webhook secret once and keep it in the data directory."""
        if self.payments_webhook_secret is not None:
            return
        path = self.data_dir / DEV_WEBHOOK_SECRET_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        log.warning(
            "HUB_PAYMENTS_WEBHOOK_SECRET is not set: using the development secret in %s", path
        )
        self.payments_webhook_secret = SecretStr(path.read_text().strip())

    @property
    def file_store_url(self) -> str:
        return self.file_store or f"file://{self.data_dir / 'files'}"

    @property
    def file_origins(self) -> tuple[str, ...]:
        """Where browsers PUT and GET attachment bytes besides the hub: the
        object store's origin (AWS S3's hosts when no endpoint is set)."""
        if not self.file_store_url.startswith("s3://"):
            return ()
        if self.s3_endpoint_url is None:
            return ("https://*.amazonaws.com",)
        parts = urlsplit(self.s3_endpoint_url)
        return (f"{parts.scheme}://{parts.netloc}",)

    def ensure_file_url_secret(self) -> SecretStr:
        """The file URL secret; unset, one generated once into the data directory."""
        if self.file_url_secret is not None:
            return self.file_url_secret
        path = self.data_dir / DEV_FILE_URL_SECRET_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        self.file_url_secret = SecretStr(path.read_text().strip())
        return self.file_url_secret

    def ensure_vapid_keys(self) -> bool:
        """In development, generate a VAPID key pair once into the data
        directory (and a subject) when unset; whether Web Push is configured."""
        if self.vapid_private_key is None and self.env == "development":
            path = self.data_dir / DEV_VAPID_KEY_FILE
            if not path.exists():
                self.data_dir.mkdir(parents=True, exist_ok=True)
                path.write_text(_new_vapid_private_key())
                path.chmod(0o600)
            self.vapid_private_key = SecretStr(path.read_text().strip())
        if self.vapid_subject is None and self.env == "development":
            self.vapid_subject = DEV_VAPID_SUBJECT
        return self.vapid_private_key is not None and self.vapid_subject is not None

    def ensure_email_unsubscribe_secret(self) -> SecretStr:
        """The unsubscribe-link secret; unset, one generated once into the data directory."""
        if self.email_unsubscribe_secret is not None:
            return self.email_unsubscribe_secret
        path = self.data_dir / DEV_EMAIL_UNSUBSCRIBE_SECRET_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        self.email_unsubscribe_secret = SecretStr(path.read_text().strip())
        return self.email_unsubscribe_secret

    def redacted(self) -> dict[str, object]:
        """The effective settings for the startup log, with secrets hidden."""
        shown = self.model_dump(mode="json")
        shown["jwt_secret"] = "**********" if self.jwt_secret else None
        shown["payments_webhook_secret"] = "**********" if self.payments_webhook_secret else None
        shown["file_url_secret"] = "**********" if self.file_url_secret else None
        shown["vapid_private_key"] = "**********" if self.vapid_private_key else None
        shown["smtp_url"] = redact_url(self.smtp_url.get_secret_value()) if self.smtp_url else None
        shown["email_unsubscribe_secret"] = "**********" if self.email_unsubscribe_secret else None
        for key in ("database_url", "redis_url"):
            shown[key] = redact_url(shown[key])
        return shown


def _new_vapid_private_key() -> str:
    """A new P-256 private key as base64url (no padding) of its 32-byte scalar."""
    scalar = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    return base64.urlsafe_b64encode(scalar.to_bytes(32, "big")).rstrip(b"=").decode()


def redact_url(url: str | None) -> str | None:
    """``url`` with its credentials, if any, shown as ``***``."""
    if not url or "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


# Anyone who has read .env.example knows this one; production refuses it.
EXAMPLE_JWT_SECRET = "replace-with-at-least-32-random-bytes"
MIN_PRODUCTION_JWT_SECRET_BYTES = 32


def _refuse_weak_jwt_secret(secret: str, data_dir: Path) -> None:
    """Production tokens must not be signed by a guessable or copied secret."""
    if len(secret.encode()) < MIN_PRODUCTION_JWT_SECRET_BYTES:
        raise ValueError(
            f"HUB_JWT_SECRET must be at least {MIN_PRODUCTION_JWT_SECRET_BYTES} "
            "bytes when HUB_ENV=production"
        )
    if secret == EXAMPLE_JWT_SECRET:
        raise ValueError(
            "HUB_JWT_SECRET is the placeholder from .env.example: "
            "set a random secret when HUB_ENV=production"
        )
    dev_file = data_dir / DEV_SECRET_FILE
    try:
        dev_secret = dev_file.read_text().strip()
    except OSError:  # none (or unreadable): nothing to compare with
        return
    if secret == dev_secret:
        raise ValueError(
            f"HUB_JWT_SECRET is the development secret from {dev_file}: "
            "set a new one when HUB_ENV=production"
        )
