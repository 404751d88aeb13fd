"""S3FileStore against a real S3-compatible server (moto's standalone server on
loopback, tests/s3_server.py), over real HTTP: obstore's requests, and plain
aiohttp requests to the presigned URLs as a browser would make them.

moto does not check presigned URLs (an altered or expired one is served like a
valid one; ``test_moto_serves_an_altered_presigned_url``), so whether S3 would
refuse one is checked by recomputing its signature with botocore
(``presigned_refusal``), the signer AWS's own SDK uses.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import pytest
from yarl import URL

from hub.files.s3 import S3FileStore
from hub.files.store import TooLarge
from s3_server import S3Server, presigned_refusal
from s3_server import s3_server as s3_server  # the session's moto server (fixture)

MIB = 1024 * 1024


@pytest.fixture
def prefix_url(s3_server: S3Server) -> str:
    return s3_server.url()


@pytest.fixture
async def store(s3_server: S3Server, prefix_url: str) -> AsyncIterator[S3FileStore]:
    store = S3FileStore(prefix_url, endpoint_url=s3_server.endpoint, config=s3_server.config)
    yield store
    await store.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def read_all(store: S3FileStore, key: str, chunk_size: int = 64 * 1024) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, chunk_size)])


def exact(url: str) -> URL:
    """The URL sent byte for byte, as a browser sends what it is given (yarl
    would otherwise re-quote the signed query)."""
    return URL(url, encoded=True)


def with_query(url: str, change: Iterable[tuple[str, str]]) -> str:
    """``url`` with some query parameters replaced or added."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(change)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def pending_multipart_uploads(s3_server: S3Server, http: aiohttp.ClientSession) -> str:
    async with http.get(f"{s3_server.endpoint}/{s3_server.bucket}?uploads") as response:
        assert response.status == 200
        return "".join(re.findall(r"<Key>(.*?)</Key>", await response.text()))


async def test_write_read_size_delete(store: S3FileStore) -> None:
    assert await store.write("a", chunks(b"hello ", b"", b"world"), limit=11) == 11
    assert await store.size("a") == 11
    assert await read_all(store, "a") == b"hello world"
    await store.delete("a")
    assert await store.size("a") is None
    with pytest.raises(FileNotFoundError):
        await read_all(store, "a")


async def test_a_write_of_several_parts_streams_through_whole(store: S3FileStore) -> None:
    # 11 MiB: three parts of a multipart upload, the last one short.
    blocks = [os.urandom(MIB) for _ in range(11)]
    assert await store.write("big", chunks(*blocks), limit=11 * MIB) == 11 * MIB
    assert await store.size("big") == 11 * MIB
    read = [chunk async for chunk in store.read("big", chunk_size=MIB)]
    assert hashlib.sha256(b"".join(read)).digest() == hashlib.sha256(b"".join(blocks)).digest()
    assert [len(chunk) for chunk in read] == [MIB] * 11


async def test_reads_are_cut_to_the_chunk_size(store: S3FileStore) -> None:
    await store.write("k", chunks(b"x" * 100_000), limit=100_000)
    sizes = [len(chunk) async for chunk in store.read("k", chunk_size=30_000)]
    assert sizes == [30_000, 30_000, 30_000, 10_000]


async def test_an_empty_file(store: S3FileStore) -> None:
    assert await store.write("empty", chunks(), limit=10) == 0
    assert await store.size("empty") == 0
    assert await read_all(store, "empty") == b""


async def test_missing_keys(store: S3FileStore) -> None:
    assert await store.size("none") is None
    await store.delete("none")  # no error
    with pytest.raises(FileNotFoundError):
        await read_all(store, "none")
    with pytest.raises(FileNotFoundError):
        await store.download_url("none", 60, mime="text/plain", disposition="inline")


async def test_exactly_the_limit_is_stored(store: S3FileStore) -> None:
    assert await store.write("k", chunks(b"12345", b"67890"), limit=10) == 10
    assert await store.size("k") == 10


async def test_too_large_leaves_nothing(store: S3FileStore) -> None:
    with pytest.raises(TooLarge):
        await store.write("k", chunks(b"12345", b"678901"), limit=10)
    assert await store.size("k") is None


async def test_too_large_after_parts_were_sent_leaves_no_object_nor_upload(
    store: S3FileStore, s3_server: S3Server, http: aiohttp.ClientSession, prefix_url: str
) -> None:
    # 12 MiB of a 10 MiB limit: two 5 MiB parts are on the server before the
    # count goes over, so the multipart upload must be aborted, not just left.
    with pytest.raises(TooLarge):
        await store.write("k", chunks(*[b"x" * MIB] * 12), limit=10 * MIB)
    assert await store.size("k") is None
    prefix = urlsplit(prefix_url).path.strip("/")
    assert prefix not in await pending_multipart_uploads(s3_server, http)


async def test_too_large_keeps_what_was_under_the_key(store: S3FileStore) -> None:
    await store.write("k", chunks(b"old"), limit=10)
    with pytest.raises(TooLarge):
        await store.write("k", chunks(b"far too long"), limit=10)
    assert await read_all(store, "k") == b"old"


async def test_other_errors_of_the_source_pass_through(store: S3FileStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"some"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.write("k", broken(), limit=100)
    assert await store.size("k") is None


async def test_presigned_put_by_a_plain_client(
    store: S3FileStore, http: aiohttp.ClientSession
) -> None:
    target = await store.upload_target("up", 60, "image/png")
    assert target.headers == {"Content-Type": "image/png"}
    body = os.urandom(100_000)
    async with http.put(exact(target.url), data=body, headers=target.headers) as response:
        assert response.status == 200, await response.text()
    assert await store.size("up") == len(body)
    assert await read_all(store, "up") == body


async def test_presigned_get_answers_with_the_type_and_disposition(
    store: S3FileStore, http: aiohttp.ClientSession
) -> None:
    await store.write("doc", chunks(b"%PDF-1.7 ..."), limit=100)
    disposition = "attachment; filename=\"brief.pdf\"; filename*=UTF-8''brief.pdf"
    url = await store.download_url("doc", 60, mime="application/pdf", disposition=disposition)
    async with http.get(exact(url)) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.headers["Content-Disposition"] == disposition
        assert await response.read() == b"%PDF-1.7 ..."
    # Asked for with other ones, the object answers with those from then on.
    url = await store.download_url("doc", 60, mime="application/pdf", disposition="inline")
    async with http.get(exact(url)) as response:
        assert response.headers["Content-Disposition"] == "inline"
        assert await response.read() == b"%PDF-1.7 ..."


async def test_the_checked_type_wins_over_what_the_client_put(
    store: S3FileStore, http: aiohttp.ClientSession
) -> None:
    # A presigned PUT binds no header: the client may store any Content-Type.
    target = await store.upload_target("img", 60, "image/png")
    async with http.put(
        exact(target.url), data=b"<script>", headers={"Content-Type": "text/html"}
    ) as response:
        assert response.status == 200
    url = await store.download_url("img", 60, mime="image/png", disposition="inline")
    async with http.get(exact(url)) as response:
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["Content-Disposition"] == "inline"


@pytest.mark.parametrize(
    "mime, disposition",
    [
        ("text/plain\r\nX-Injected: 1", "inline"),
        ("text/plain", 'attachment; filename="na\u00efve.txt"'),
        ("text/plain", "attachment;\tfilename=x"),
    ],
)
async def test_header_values_must_be_plain_ascii(
    store: S3FileStore, mime: str, disposition: str
) -> None:
    await store.write("k", chunks(b"text"), limit=10)
    with pytest.raises(ValueError):
        await store.download_url("k", 60, mime=mime, disposition=disposition)


async def test_presigned_urls_are_what_s3_accepts(store: S3FileStore) -> None:
    await store.write("k", chunks(b"x"), limit=10)
    get = await store.download_url("k", 120, mime="text/plain", disposition="inline")
    put = (await store.upload_target("k", 120, "text/plain")).url
    assert dict(parse_qsl(urlsplit(get).query))["X-Amz-Expires"] == "120"
    assert presigned_refusal(get, "GET") is None
    assert presigned_refusal(put, "PUT") is None


async def test_presigned_urls_s3_would_refuse(store: S3FileStore) -> None:
    await store.write("k", chunks(b"x"), limit=10)
    url = await store.download_url("k", 5, mime="text/plain", disposition="inline")
    signed_at = datetime.strptime(
        dict(parse_qsl(urlsplit(url).query))["X-Amz-Date"], "%Y%m%dT%H%M%SZ"
    ).replace(tzinfo=UTC)
    assert presigned_refusal(url, "GET", now=signed_at + timedelta(seconds=4)) is None
    expired = presigned_refusal(url, "GET", now=signed_at + timedelta(seconds=6))
    assert expired == "AccessDenied: Request has expired"

    mismatch = "SignatureDoesNotMatch"
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert presigned_refusal(with_query(url, [("X-Amz-Signature", flipped)]), "GET") == mismatch
    assert presigned_refusal(with_query(url, [("X-Amz-Expires", "604800")]), "GET") == mismatch
    assert presigned_refusal(url.replace("/k?", "/other?"), "GET") == mismatch
    assert presigned_refusal(url, "PUT") == mismatch
    # Why the store cannot append response-content-type to a signed URL:
    added = with_query(url, [("response-content-type", "text/html")])
    assert presigned_refusal(added, "GET") == mismatch


async def test_moto_serves_an_altered_presigned_url(
    store: S3FileStore, http: aiohttp.ClientSession
) -> None:
    """What moto does not check (so the refusals above are not asked of it).
    If this fails, moto has started checking: test the refusals over HTTP."""
    await store.write("k", chunks(b"x"), limit=10)
    url = await store.download_url("k", 60, mime="text/plain", disposition="inline")
    altered = with_query(url, [("X-Amz-Signature", "0" * 64)])
    async with http.get(exact(altered)) as response:
        assert response.status == 200


async def test_credentials_and_region_from_the_aws_environment(
    s3_server: S3Server, prefix_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    store = S3FileStore(prefix_url, endpoint_url=s3_server.endpoint)
    await store.write("k", chunks(b"from env"), limit=100)
    assert await read_all(store, "k") == b"from env"
    url = (await store.upload_target("k", 60, "text/plain")).url
    assert f"X-Amz-Credential={s3_server.env['AWS_ACCESS_KEY_ID']}%2F" in url
    assert presigned_refusal(url, "PUT") is None


async def test_keys_live_under_the_prefix(
    store: S3FileStore, s3_server: S3Server, http: aiohttp.ClientSession, prefix_url: str
) -> None:
    await store.write("k", chunks(b"here"), limit=10)
    prefix = urlsplit(prefix_url).path.strip("/")
    async with http.get(s3_server.object_url(f"{prefix}/k")) as response:
        assert await response.read() == b"here"
    other = S3FileStore(s3_server.url(), endpoint_url=s3_server.endpoint, config=s3_server.config)
    assert await other.size("k") is None


@pytest.mark.parametrize("url", ["file:///tmp/files", "s3://", "https://bucket.s3.amazonaws.com"])
def test_only_s3_urls(url: str) -> None:
    with pytest.raises(ValueError):
        S3FileStore(url)
