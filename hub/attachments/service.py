"""Uploads, checked on their bytes, attached to messages and served to the
conversation's participants (PROTOCOL.md "Attachments", docs/attachments.md).

The flow: ``create_upload`` (a participant names the conversation, file name,
size and type) → the client PUTs the bytes to the ticket's URL (a presigned
object-store URL, or the hub itself: ``receive``) → ``complete`` checks the
bytes (size, sniffed type against the allow-list and the declared type,
sha256, image size and thumbnail, virus scan) → ``message:send`` names the
attachment ids (``claim``) → participants ``GET /attachments/{id}``
(``download_url``: a redirect to a short-lived signed URL).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from storage.interfaces import Store
from storage.records import UploadRecord

from ..clock import iso, new_id, now_iso, utc_now
from ..errors import (
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unavailable,
    ValidationFailed,
)
from ..files.checks import (
    SNIFF_BYTES,
    ImageRefused,
    declared_matches,
    image_info,
    is_allowed,
    sniff,
)
from ..files.scanner import ScanFailed, Scanner
from ..files.signing import sign, verify
from ..files.store import FileStore, TooLarge
from .models import Attachment, CreateUpload, UploadTicket

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 600.0
SWEEP_BATCH = 200


@dataclass(frozen=True, slots=True)
class AttachmentLimits:
    max_bytes: int
    allowed_types: tuple[str, ...]
    url_ttl_s: int  # signed upload and download URLs
    upload_ttl_s: int  # a pending upload is deleted after this
    quota_bytes_per_day: int  # per user, by declared size; 0: no quota


@dataclass(frozen=True, slots=True)
class Download:
    """Bytes the hub serves itself (the local file store)."""

    chunks: AsyncIterator[bytes]
    size: int
    mime: str
    disposition: str


class AttachmentService:
    def __init__(
        self,
        store: Store,
        files: FileStore,
        limits: AttachmentLimits,
        *,
        url_secret: bytes,
        api_prefix: str,
        scanner: Scanner | None = None,
    ) -> None:
        self.store = store
        self.files = files
        self.limits = limits
        self.url_secret = url_secret
        self.api_prefix = api_prefix
        self.scanner = scanner
        self._sweeper: asyncio.Task[None] | None = None
        self._unwritten: set[str] = set()  # seen by the last sweep

    # Uploads

    async def create_upload(self, user_id: str, request: CreateUpload) -> UploadTicket:
        """A pending upload of a participant, and where to PUT its bytes."""
        await self._participant(user_id, request.conversation_id)
        if request.size > self.limits.max_bytes:
            raise PayloadTooLarge(f"Files are limited to {self.limits.max_bytes} bytes")
        await self._check_quota(user_id, request.size)
        now = utc_now()
        upload = UploadRecord(
            id=new_id(),
            owner_id=user_id,
            conversation_id=request.conversation_id,
            name=request.name,
            size=request.size,
            mime=request.mime,
            created_at=iso(now),
            expires_at=iso(now + timedelta(seconds=self.limits.upload_ttl_s)),
        )
        await self.store.uploads.create(upload)
        ttl = self.limits.url_ttl_s
        target = await self.files.upload_target(_incoming(upload.id), ttl, upload.mime)
        if target is None:  # the hub receives the bytes itself: ``receive``
            url, headers = self._signed(_file_path(upload.id, False), ttl, {"op": "put"}), {}
        else:
            url, headers = target.url, target.headers
        return {
            "id": upload.id,
            "upload_url": url,
            "method": "PUT",
            "headers": headers,
            "expires_at": iso(now + timedelta(seconds=ttl)),
        }

    async def receive(
        self, upload_id: str, query: Mapping[str, str], chunks: AsyncIterator[bytes]
    ) -> None:
        """The bytes of a pending upload, PUT to the hub's signed URL."""
        path = f"{self.api_prefix}{_file_path(upload_id, False)}"
        if not verify(path, query, self.url_secret, time.time()) or query.get("op") != "put":
            raise Forbidden("This upload URL is not valid (expired or altered)")
        upload = await self.store.uploads.get(upload_id)
        if upload is None or upload.status != "pending":
            raise NotFound("No such pending upload")
        try:
            await self.files.write(_incoming(upload_id), chunks, self.limits.max_bytes)
        except TooLarge:
            raise PayloadTooLarge(f"Files are limited to {self.limits.max_bytes} bytes") from None

    async def complete(self, user_id: str, upload_id: str) -> Attachment:
        """Check the uploaded bytes and make the upload an attachment. A file
        that fails a check is deleted with its upload."""
        upload = await self.store.uploads.get(upload_id)
        if upload is None or upload.owner_id != user_id or upload.status != "pending":
            raise NotFound("No such pending upload of yours")
        try:
            changes = await self._check(upload)
        except (PayloadTooLarge, ValidationFailed):
            await self._discard(upload)
            raise
        completed = await self.store.uploads.complete(upload_id, changes)
        if completed is None:
            raise NotFound("No such pending upload of yours")
        return self.view(completed)

    async def _check(self, upload: UploadRecord) -> dict[str, Any]:
        size = await self._take_incoming(upload.id)
        mime = await self._sniffed_type(upload)
        with tempfile.NamedTemporaryFile(prefix="hub-upload-") as copy:
            sha256 = await self._digest(upload.id, copy if mime.startswith("image/") else None)
            changes: dict[str, Any] = {"size": size, "mime": mime, "sha256": sha256}
            if mime.startswith("image/"):
                copy.flush()
                changes |= await self._image(upload.id, Path(copy.name))
        changes["scan_status"] = await self._scan(upload.id)
        changes["completed_at"] = now_iso()
        return changes

    async def _take_incoming(self, upload_id: str) -> int:
        """Move the uploaded bytes to the key they are served from: the upload
        URL may still be valid, and what is PUT after this is never served."""
        incoming = _incoming(upload_id)
        size = await self.files.size(incoming)
        if size is None:
            moved = await self.files.size(upload_id)  # by an attempt that stopped later
            if moved is None:
                raise ValidationFailed.field("id", "No bytes were uploaded for this upload")
            return moved
        if size > self.limits.max_bytes:
            raise PayloadTooLarge(f"Files are limited to {self.limits.max_bytes} bytes")
        try:
            size = await self.files.write(
                upload_id, self.files.read(incoming), self.limits.max_bytes
            )
        except TooLarge:  # replaced by a bigger file since it was measured
            raise PayloadTooLarge(f"Files are limited to {self.limits.max_bytes} bytes") from None
        await self.files.delete(incoming)
        return size

    async def _sniffed_type(self, upload: UploadRecord) -> str:
        head = await self._head(upload.id)
        sniffed = sniff(head)
        if sniffed is None or not is_allowed(sniffed, self.limits.allowed_types):
            raise ValidationFailed.field(
                "mime", f"Files of type {sniffed or 'unknown'} are not accepted"
            )
        if not declared_matches(upload.mime, sniffed):
            raise ValidationFailed.field(
                "mime", f"The file is {sniffed}, not {upload.mime} as declared"
            )
        return sniffed

    async def _head(self, key: str) -> bytes:
        head = b""
        async for chunk in self.files.read(key):
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
        return head[:SNIFF_BYTES]

    async def _digest(self, key: str, copy: IO[bytes] | None) -> str:
        """The sha256 of the stored bytes, read as a stream (and copied to
        ``copy`` for the image check, which reads a file)."""
        hasher = hashlib.sha256()
        async for chunk in self.files.read(key):
            hasher.update(chunk)
            if copy is not None:
                await asyncio.to_thread(copy.write, chunk)
        return hasher.hexdigest()

    async def _image(self, key: str, copy: Path) -> dict[str, Any]:
        try:
            info = await image_info(copy)
        except ImageRefused as exc:
            raise ValidationFailed.field("id", f"The image cannot be used: {exc}") from None
        await self.files.write(_key(key, True), _one(info.thumbnail), self.limits.max_bytes)
        return {"width": info.width, "height": info.height, "has_thumbnail": True}

    async def _scan(self, key: str) -> str:
        if self.scanner is None:
            return "not_scanned"
        try:
            verdict = await self.scanner.scan(self.files.read(key))
        except ScanFailed as exc:
            log.warning("virus scan failed: %s", exc)
            raise Unavailable("The virus scanner is not answering; complete again later") from None
        if verdict != "clean":
            raise ValidationFailed.field("id", "The file did not pass the virus scan")
        return "clean"

    # Messages

    async def claim(
        self, user_id: str, conversation_id: str, attachment_ids: list[str], message_id: str
    ) -> list[dict[str, Any]]:
        """The attachments of a message about to be sent, marked as its own
        (``release`` undoes it if the message is not written)."""
        if not attachment_ids:
            return []
        if len(set(attachment_ids)) != len(attachment_ids):
            raise ValidationFailed.field("attachments", "An attachment is named twice")
        claimed = await self.store.uploads.attach(
            attachment_ids, user_id, conversation_id, message_id
        )
        if claimed is None:
            raise ValidationFailed.field(
                "attachments",
                "Each attachment must be a completed upload of yours in this conversation,"
                " not sent before",
            )
        return [dict(self.view(upload)) for upload in claimed]

    async def release(self, message_id: str) -> None:
        await self.store.uploads.detach(message_id)

    # Downloads

    async def download_url(self, user_id: str, attachment_id: str, *, thumbnail: bool) -> str:
        """Where a participant fetches the file (or its thumbnail): a signed
        URL valid ``url_ttl_s``. NotFound for anyone else, for a file of a
        deleted message, and for one not (yet) fit to serve."""
        upload = await self._servable(user_id, attachment_id)
        if thumbnail and not upload.has_thumbnail:
            raise NotFound("This attachment has no thumbnail")
        key = _key(upload.id, thumbnail)
        # Thumbnails are JPEG, or PNG when the image has transparency.
        mime = (sniff(await self._head(key)) or "image/jpeg") if thumbnail else upload.mime
        disposition = _disposition(upload.name, inline=mime.startswith("image/"))
        ttl = self.limits.url_ttl_s
        url = await self.files.download_url(key, ttl, mime=mime, disposition=disposition)
        if url is None:
            params = {"mime": mime, "disposition": disposition}
            url = self._signed(_file_path(upload.id, thumbnail), ttl, params)
        return url

    async def serve(self, upload_id: str, query: Mapping[str, str], *, thumbnail: bool) -> Download:
        """Bytes the hub serves itself, at a signed URL of ``download_url``."""
        path = f"{self.api_prefix}{_file_path(upload_id, thumbnail)}"
        if not verify(path, query, self.url_secret, time.time()) or "disposition" not in query:
            raise Forbidden("This file URL is not valid (expired or altered)")
        key = _key(upload_id, thumbnail)
        size = await self.files.size(key)
        if size is None:
            raise NotFound("No such file")
        return Download(self.files.read(key), size, query["mime"], query["disposition"])

    async def _servable(self, user_id: str, attachment_id: str) -> UploadRecord:
        upload = await self.store.uploads.get(attachment_id)
        if upload is None or upload.status == "pending":
            raise NotFound("No such attachment")
        if await self.store.conversations.membership(upload.conversation_id, user_id) is None:
            raise NotFound("No such attachment")
        if upload.status == "complete" and upload.owner_id != user_id:
            raise NotFound("No such attachment")  # not sent yet: only its owner sees it
        if upload.message_id is not None:
            message = await self.store.messages.get(upload.message_id)
            if message is None or message.deleted:
                raise NotFound("No such attachment")
        if upload.scan_status not in ("clean", "not_scanned"):
            raise NotFound("This attachment is not available")
        return upload

    # Views and housekeeping

    def view(self, upload: UploadRecord) -> Attachment:
        attachment: Attachment = {
            "id": upload.id,
            "name": upload.name,
            "size": upload.size,
            "mime": upload.mime,
            "sha256": upload.sha256 or "",
            "url": f"{self.api_prefix}/attachments/{upload.id}",
            "scan_status": upload.scan_status,
        }
        if upload.width is not None and upload.height is not None:
            attachment["width"] = upload.width
            attachment["height"] = upload.height
        if upload.has_thumbnail:
            attachment["thumbnail_url"] = f"{self.api_prefix}/attachments/{upload.id}/thumbnail"
        return attachment

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="attachment-sweeper")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    async def sweep(self) -> int:
        """Delete uploads never completed in time, files of deleted messages,
        and files claimed by a send that a crash kept from writing its message;
        how many were deleted."""
        deleted = 0
        while stale := await self.store.uploads.stale(now_iso(), SWEEP_BATCH):
            for upload in stale:
                await self._discard(upload)
            deleted += len(stale)
        return deleted + await self._sweep_unwritten()

    async def _sweep_unwritten(self) -> int:
        """A claim without its message is a send in progress or a crashed one:
        only those found by two sweeps in a row (minutes apart) are crashed."""
        found = set(await self.store.uploads.unwritten(SWEEP_BATCH))
        crashed, self._unwritten = found & self._unwritten, found - self._unwritten
        for upload_id in crashed:
            upload = await self.store.uploads.get(upload_id)
            if upload is not None:
                await self._discard(upload)
        return len(crashed)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("attachment sweep failed; trying again later")
            await asyncio.sleep(SWEEP_INTERVAL_S)

    async def _discard(self, upload: UploadRecord) -> None:
        for key in (upload.id, _key(upload.id, True), _incoming(upload.id)):
            await self.files.delete(key)
        await self.store.uploads.delete(upload.id)

    async def _participant(self, user_id: str, conversation_id: str) -> None:
        if await self.store.conversations.membership(conversation_id, user_id) is None:
            raise NotFound("No such conversation")

    async def _check_quota(self, user_id: str, size: int) -> None:
        quota = self.limits.quota_bytes_per_day
        if not quota:
            return
        now = utc_now()
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        used = await self.store.uploads.bytes_since(user_id, iso(day))
        if used + size > quota:
            tomorrow = day + timedelta(days=1)
            raise RateLimited(int((tomorrow - now).total_seconds() * 1000))

    def _signed(self, path: str, ttl_s: int, params: dict[str, str]) -> str:
        full = f"{self.api_prefix}{path}"
        expires_at = int(utc_now().timestamp()) + ttl_s
        return f"{full}?{sign(full, expires_at, self.url_secret, params)}"


def _key(upload_id: str, thumbnail: bool) -> str:
    """Where the bytes are stored: by upload id, never by the client's name."""
    return f"{upload_id}.thumb" if thumbnail else upload_id


def _incoming(upload_id: str) -> str:
    """Where an upload's bytes arrive, until ``complete`` takes them."""
    return f"{upload_id}.incoming"


def _file_path(upload_id: str, thumbnail: bool) -> str:
    """The hub's own URL path for the bytes (local file store)."""
    return f"/files/{upload_id}/thumbnail" if thumbnail else f"/files/{upload_id}"


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _safe(char: str) -> str:
    return char if char.isascii() and char.isprintable() and char not in '"\\;/' else "_"


def _disposition(name: str, *, inline: bool) -> str:
    """A Content-Disposition naming the file safely: an ASCII fallback with
    anything odd replaced, and the real name percent-encoded (RFC 6266)."""
    fallback = "".join(_safe(c) for c in name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
