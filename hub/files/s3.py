"""``S3FileStore``: the file store on S3-compatible object storage (AWS S3,
MinIO, moto, ...), through obstore.

Clients PUT and GET the bytes through presigned URLs, so they do not pass
through the hub; the hub itself streams them only when it writes (thumbnails)
or reads (the checks after an upload).

What S3 answers a download with. obstore signs a URL over its method, path
and ``host`` only: it cannot add ``response-content-type`` or
``response-content-disposition`` to the signed query (object_store, the Rust
crate under it, has no way to: apache/arrow-rs-object-store#791), and a
parameter appended after signing breaks the signature on real S3. So the type
and disposition live on the object itself, as its ``Content-Type`` and
``Content-Disposition``, which S3 sends with every GET, presigned ones too:
``download_url`` checks them (a HEAD) and, when they differ, rewrites the
object once with the right ones (bytes streamed through the hub, S3 has no
metadata-only update that obstore exposes). Call it once right after an
upload is checked, off the request path, and later calls only cost the HEAD.

For the same reason a presigned PUT does not bind its ``Content-Type``: the
client is asked to send the declared type (``UploadTarget.headers``), but S3
stores whatever it sends, and ``download_url`` puts the checked type back.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import S3Store

from hub.files.store import FileStore, TooLarge, UploadTarget

if TYPE_CHECKING:
    from obstore import Attributes
    from obstore.store import S3Config

# S3's smallest multipart part (but the last) is 5 MiB, and obstore keeps each
# part in memory until sent: 2 in flight keep a write to about 15 MiB of
# buffers (obstore's default, 12, would allow over 60 MiB).
PART_BYTES = 5 * 1024 * 1024
PARTS_IN_FLIGHT = 2


class S3FileStore:
    """A ``FileStore`` on ``s3://bucket/prefix``.

    Credentials and region come from the standard AWS environment variables
    (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
    ``AWS_REGION`` or ``AWS_DEFAULT_REGION``, ...), which obstore reads itself;
    ``config`` overrides any of them (obstore's ``S3Config`` keys).
    ``endpoint_url`` is a non-AWS service (MinIO, moto): addressed path-style
    (``endpoint/bucket/key``), plain HTTP allowed when it is ``http://``. It
    is also the host in every presigned URL, so clients must reach it.
    """

    def __init__(
        self, url: str, *, endpoint_url: str | None = None, config: S3Config | None = None
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
        options: S3Config = {}
        plain_http = False
        if endpoint_url is not None:
            options["endpoint"] = endpoint_url
            # MinIO and moto serve every bucket on one host.
            options["virtual_hosted_style_request"] = False
            plain_http = endpoint_url.startswith("http://")
        options.update(config or {})
        self._store = S3Store(
            parts.netloc,
            prefix=parts.path.strip("/") or None,  # s3://bucket and s3://bucket/: none
            config=options,
            # Only when asked: otherwise AWS_ALLOW_HTTP still applies.
            client_options={"allow_http": True} if plain_http else None,
        )

    async def write(self, key: str, chunks: AsyncIterable[bytes], limit: int) -> int:
        """Store ``chunks`` under ``key`` as a multipart upload, counting the
        bytes as they go. Over ``limit``, or when ``chunks`` fails: the upload
        is aborted, so nothing new is under ``key`` (what was there stays: S3
        replaces an object only when an upload completes)."""
        written = 0
        over = False

        async def counted() -> AsyncIterator[bytes]:
            nonlocal written, over
            async for chunk in chunks:
                written += len(chunk)
                if written > limit:
                    over = True
                    raise TooLarge(f"over {limit} bytes")
                yield chunk

        try:
            await obstore.put_async(
                self._store,
                key,
                counted(),
                chunk_size=PART_BYTES,
                max_concurrency=PARTS_IN_FLIGHT,
            )
        except Exception:
            # obstore re-raises what the source raised, but the flag does not
            # depend on how it wraps it.
            if over:
                raise TooLarge(f"over {limit} bytes") from None
            raise
        return written

    async def read(self, key: str, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
        """The bytes under ``key``, streamed in chunks of ``chunk_size`` (the
        last one shorter); FileNotFoundError if none."""
        try:
            result = await obstore.get_async(self._store, key)
        except (FileNotFoundError, NotFoundError) as error:
            raise FileNotFoundError(key) from error
        # The network's chunks come in whatever sizes; re-cut them.
        pending = bytearray()
        async for chunk in result.stream(min_chunk_size=chunk_size):
            pending += chunk
            while len(pending) >= chunk_size:
                yield bytes(pending[:chunk_size])
                del pending[:chunk_size]
        if pending:
            yield bytes(pending)

    async def size(self, key: str) -> int | None:
        """The stored size (a HEAD), or None. After a presigned PUT this is how
        the hub learns what the client really sent."""
        try:
            meta = await obstore.head_async(self._store, key)
        except (FileNotFoundError, NotFoundError):
            return None
        return meta["size"]

    async def delete(self, key: str) -> None:
        """Remove ``key``; nothing happens if it is not there."""
        try:
            await obstore.delete_async(self._store, key)
        except (FileNotFoundError, NotFoundError):
            pass  # S3 itself says 204 for a missing key; other services may not

    async def upload_target(self, key: str, expires_s: int, mime: str) -> UploadTarget:
        """A presigned PUT of ``key`` valid ``expires_s`` seconds. The client
        should send ``headers`` with it; S3 does not enforce them (see the
        module's docstring), nor the size: check ``size(key)`` afterwards."""
        url = await obstore.sign_async(self._store, "PUT", key, timedelta(seconds=expires_s))
        return UploadTarget(url=url, headers={"Content-Type": _header_value(mime)})

    async def download_url(self, key: str, expires_s: int, *, mime: str, disposition: str) -> str:
        """A presigned GET of ``key`` valid ``expires_s`` seconds, answered with
        ``Content-Type: mime`` and ``Content-Disposition: disposition``. Those
        are stored on the object: the first call for a key (or after a client
        changed them) rewrites it; FileNotFoundError if nothing is stored."""
        wanted: Attributes = {
            "Content-Type": _header_value(mime),
            "Content-Disposition": _header_value(disposition),
        }
        await self._ensure_attributes(key, wanted)
        return await obstore.sign_async(self._store, "GET", key, timedelta(seconds=expires_s))

    async def close(self) -> None:
        """Nothing to release: obstore's connection pool goes with the store."""

    async def _ensure_attributes(self, key: str, wanted: Attributes) -> None:
        try:
            head = await obstore.get_async(self._store, key, options={"head": True})
            if all(head.attributes.get(name) == value for name, value in wanted.items()):
                return
            # S3 serves a GET from the object as it was when the GET began, so
            # reading the key while putting a new version of it is safe.
            current = await obstore.get_async(self._store, key)
        except (FileNotFoundError, NotFoundError) as error:
            raise FileNotFoundError(key) from error
        await obstore.put_async(
            self._store,
            key,
            current.stream(min_chunk_size=PART_BYTES),
            attributes=wanted,
            chunk_size=PART_BYTES,
            max_concurrency=PARTS_IN_FLIGHT,
        )


def _header_value(value: str) -> str:
    """``value`` if it can be an HTTP header value as it is: S3 stores and
    returns it verbatim, so a line break or a non-ASCII name would be a broken
    or injected header. The caller quotes file names (RFC 6266 ``filename*``)."""
    if not value.isascii() or not value.isprintable():
        raise ValueError(f"not a plain ASCII header value: {value!r}")
    return value


if TYPE_CHECKING:

    def _satisfies_the_port(store: S3FileStore) -> FileStore:
        return store  # mypy checks S3FileStore against the FileStore protocol here
