"""Attachments over real HTTP and real sockets: upload, complete, send, receive,
download through the signed URL; everyone else gets 404; bad input is refused
with nothing stored and nothing served (PROTOCOL.md "Attachments")."""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from conftest import hub_settings_of, make_settings
from hub.config import Settings
from hub.services import SERVICES
from s3_server import shared_s3_server
from storage.records import MessageRecord
from users import User, Users, put_bytes

API = "/api/v1"
FILE_STORES = ["local", "s3"]


@pytest.fixture(params=FILE_STORES)
def settings(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The hub's settings on each file store: a directory, and a real S3-compatible
    server (moto, on loopback) that clients PUT to and GET from directly."""
    fields = hub_settings_of(request.node)
    if request.param == "s3":
        s3 = shared_s3_server(request)
        for name, value in s3.env.items():
            monkeypatch.setenv(name, value)
        fields |= {"file_store": s3.url(), "s3_endpoint_url": s3.endpoint}
    return make_settings(tmp_path, **fields)


def on_s3(settings: Settings) -> bool:
    return settings.file_store_url.startswith("s3://")


def skip_presigned_checks_on_moto(settings: Settings) -> None:
    if on_s3(settings):
        pytest.skip(
            "moto accepts altered and expired presigned URLs; what AWS S3 would answer"
            " is checked in tests/test_s3_file_store.py"
        )


def png(width: int = 640, height: int = 480, *, gps: bool = False) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    out = io.BytesIO()
    exif = Image.Exif()
    if gps:
        exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}  # GPSInfo: latitude
    image.save(out, "PNG", exif=exif.tobytes())
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def conversation(users: Users) -> tuple[User, User, str]:
    ann, bob = await users("ann", "bob")
    created = await ann.ok("POST", "/conversations", {"participant_ids": [bob.id]}, status=201)
    return ann, bob, created["id"]


async def upload(
    user: User, cid: str, data: bytes, name: str = "red.png", mime: str = "image/png"
) -> dict[str, Any]:
    return await user.upload(cid, data, name, mime)


async def put(http: TestClient, url: str, data: bytes, headers: dict[str, str]) -> int:
    return await put_bytes(http, url, data, headers)


def outgoing(cid: str, client_msg_id: str, text: str, ids: list[str]) -> dict[str, Any]:
    """A message:send payload naming attachments."""
    payload = {"conversation_id": cid, "client_msg_id": client_msg_id, "text": text}
    return {**payload, "attachments": ids}


async def fetch(http: TestClient, url: str) -> tuple[int, dict[str, str], bytes]:
    """GET a signed URL: the hub's own (a path) or the object store's."""
    if not urlsplit(url).netloc:
        response = await http.get(url)
        return response.status, dict(response.headers), await response.read()
    async with aiohttp.ClientSession() as session, session.get(url) as answer:
        return answer.status, dict(answer.headers), await answer.read()


async def redirect(user: User, path: str) -> tuple[int, str]:
    response = await user.http.get(API + path, headers=user.headers, allow_redirects=False)
    return response.status, response.headers.get("Location", "")


async def test_upload_send_receive_and_download(users: Users, settings: Settings) -> None:
    ann, bob, cid = await conversation(users)
    data = png(gps=True)
    ann_socket, bob_socket = await ann.socket(), await bob.socket()
    ticket = await upload(ann, cid, data)

    attachment = await ann.ok("POST", f"/uploads/{ticket['id']}/complete")
    assert attachment["id"] == ticket["id"]
    assert (attachment["mime"], attachment["size"]) == ("image/png", len(data))
    assert attachment["sha256"] == hashlib.sha256(data).hexdigest()
    assert (attachment["width"], attachment["height"]) == (640, 480)
    assert attachment["url"] == f"{API}/attachments/{ticket['id']}"
    assert attachment["scan_status"] == "not_scanned"

    sent = await ann_socket.ok(
        "message:send",
        outgoing(cid, "m1", "look", [ticket["id"]]),
    )
    assert sent["attachments"] == [attachment]
    delivered = (await bob_socket.wait_for("message:new"))[0]
    assert delivered["attachments"] == [attachment]

    status, location = await redirect(bob, f"/attachments/{ticket['id']}")
    assert status == 302 and location
    status, headers, body = await fetch(bob.http, location)
    assert (status, body) == (200, data)
    assert headers["Content-Type"] == "image/png"
    if not on_s3(settings):  # a presigned GET can set the type, not this header
        assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"].startswith("inline;")

    status, location = await redirect(bob, f"/attachments/{ticket['id']}/thumbnail")
    status, headers, body = await fetch(bob.http, location)
    assert status == 200
    thumbnail = Image.open(io.BytesIO(body))
    assert max(thumbnail.size) == 320 and thumbnail.size == (320, 240)
    assert 0x8825 not in thumbnail.getexif()  # no GPS left


async def test_only_participants_see_an_attachment(users: Users) -> None:
    ann, _bob, cid = await conversation(users)
    (carol,) = await users("carol")
    ticket = await upload(ann, cid, PDF, "spec.pdf", "application/pdf")
    await ann.ok("POST", f"/uploads/{ticket['id']}/complete")
    await ann.send(cid, "the spec", attachments=[ticket["id"]])

    assert (await redirect(carol, f"/attachments/{ticket['id']}"))[0] == 404
    body = {"conversation_id": cid, "name": "x.pdf", "size": 10, "mime": "application/pdf"}
    await carol.fails("POST", "/uploads", body, status=404, code="not_found")
    await carol.fails("POST", f"/uploads/{ticket['id']}/complete", status=404, code="not_found")


async def test_a_pdf_downloads_as_an_attachment_with_a_safe_name(users: Users) -> None:
    ann, bob, cid = await conversation(users)
    ticket = await upload(ann, cid, PDF, '../../etc/pass"wd;.pdf', "application/pdf")
    await ann.ok("POST", f"/uploads/{ticket['id']}/complete")
    await ann.send(cid, "see", attachments=[ticket["id"]])

    _, location = await redirect(bob, f"/attachments/{ticket['id']}")
    status, headers, body = await fetch(bob.http, location)
    assert (status, body) == (200, PDF)
    disposition = headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename=".._.._etc_pass_wd_.pdf"'), disposition
    assert "filename*=UTF-8''..%2F..%2Fetc%2Fpass%22wd%3B.pdf" in disposition


async def test_altered_or_expired_urls_are_403(users: Users, settings: Settings) -> None:
    skip_presigned_checks_on_moto(settings)
    ann, bob, cid = await conversation(users)
    body = {"conversation_id": cid, "name": "a.pdf", "size": len(PDF), "mime": "application/pdf"}
    ticket = await ann.ok("POST", "/uploads", body, status=201)
    parts = urlsplit(ticket["upload_url"])
    query = dict(parse_qsl(parts.query))
    for altered in (
        {**query, "sig": "0" * len(query["sig"])},
        {**query, "expires": str(int(query["expires"]) + 3600)},
        {k: v for k, v in query.items() if k != "sig"},
    ):
        url = f"{parts.path}?{urlencode(altered)}"
        assert await put(ann.http, url, PDF, {}) == 403
    assert await put(ann.http, ticket["upload_url"], PDF, {}) == 204
    await ann.ok("POST", f"/uploads/{ticket['id']}/complete")
    await ann.send(cid, "a", attachments=[ticket["id"]])

    _, location = await redirect(bob, f"/attachments/{ticket['id']}")
    parts = urlsplit(location)
    query = dict(parse_qsl(parts.query))
    for altered in (
        {**query, "mime": "text/html"},
        {**query, "disposition": "inline"},
        {**query, "sig": "f" * len(query["sig"])},
    ):
        assert (await fetch(bob.http, f"{parts.path}?{urlencode(altered)}"))[0] == 403


@pytest.mark.hub_settings(file_url_ttl_s=1)
async def test_an_expired_download_url_is_403(users: Users, settings: Settings) -> None:
    skip_presigned_checks_on_moto(settings)
    ann, bob, cid = await conversation(users)
    ticket = await upload(ann, cid, PDF, "a.pdf", "application/pdf")
    await ann.ok("POST", f"/uploads/{ticket['id']}/complete")
    await ann.send(cid, "a", attachments=[ticket["id"]])
    _, location = await redirect(bob, f"/attachments/{ticket['id']}")
    await asyncio.sleep(2.1)  # on purpose: past the URL's 1 s life (whole seconds)
    assert (await fetch(bob.http, location))[0] == 403


@pytest.mark.hub_settings(upload_max_bytes=1000)
async def test_oversized_uploads_are_413_even_when_the_size_was_a_lie(
    users: Users, settings: Settings
) -> None:
    ann, _bob, cid = await conversation(users)
    body = {"conversation_id": cid, "name": "a.pdf", "size": 5000, "mime": "application/pdf"}
    await ann.fails("POST", "/uploads", body, status=413, code="payload_too_large")

    lied = await ann.ok("POST", "/uploads", {**body, "size": 10}, status=201)
    status = await put(ann.http, lied["upload_url"], PDF + b" " * 2000, lied["headers"])
    complete = f"/uploads/{lied['id']}/complete"
    if on_s3(settings):  # the bucket takes any size: the hub measures it on complete
        assert status == 200
        await ann.fails("POST", complete, status=413, code="payload_too_large")
    else:  # the hub's own PUT stops at the limit and keeps nothing
        assert status == 413
        await ann.fails("POST", complete, status=422, code="validation_failed")
    await ann.fails("POST", complete, status=404, code="not_found")  # nothing left


async def test_types_are_sniffed_from_the_bytes(users: Users) -> None:
    ann, _bob, cid = await conversation(users)
    claims_png = await upload(ann, cid, PDF, "a.png", "image/png")
    problem = await ann.fails(
        "POST", f"/uploads/{claims_png['id']}/complete", status=422, code="validation_failed"
    )
    assert problem["details"]["fields"][0]["field"] == "mime"

    elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
    program = await upload(ann, cid, elf, "a.pdf", "application/pdf")
    problem = await ann.fails(
        "POST", f"/uploads/{program['id']}/complete", status=422, code="validation_failed"
    )
    assert problem["details"]["fields"][0]["field"] == "mime"
    # Refused files are gone: nothing to complete again, nothing to send.
    await ann.fails("POST", f"/uploads/{program['id']}/complete", status=404, code="not_found")


async def test_a_decompression_bomb_is_refused(users: Users) -> None:
    ann, _bob, cid = await conversation(users)
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, "PNG")  # 144 Mpx of one bit: tiny file
    bomb = await upload(ann, cid, out.getvalue(), "bomb.png", "image/png")
    await ann.fails("POST", f"/uploads/{bomb['id']}/complete", status=422, code="validation_failed")


async def test_messages_name_only_completed_uploads_of_the_sender_here(users: Users) -> None:
    ann, bob, cid = await conversation(users)
    (carol,) = await users("carol")
    other = await ann.ok("POST", "/conversations", {"participant_ids": [carol.id]}, status=201)
    elsewhere = await upload(ann, other["id"], PDF, "a.pdf", "application/pdf")
    await ann.ok("POST", f"/uploads/{elsewhere['id']}/complete")
    pending = await upload(ann, cid, PDF, "b.pdf", "application/pdf")
    bobs = await upload(bob, cid, PDF, "c.pdf", "application/pdf")
    await bob.ok("POST", f"/uploads/{bobs['id']}/complete")
    ann_socket = await ann.socket()

    for ids in ([elsewhere["id"]], [pending["id"]], [bobs["id"]], ["01HZZZZZZZZZZZZZZZZZZZZZZZ"]):
        error = await ann_socket.error(
            "message:send",
            outgoing(cid, f"x-{ids[0]}", "x", ids),
            "validation_failed",
        )
        assert error["details"]["fields"][0]["field"] == "attachments"
    history = await ann_socket.ok("message:history", {"conversation_id": cid})
    assert history["items"] == []


async def test_a_resend_returns_the_original_with_its_attachment(users: Users) -> None:
    ann, _bob, cid = await conversation(users)
    ticket = await upload(ann, cid, PDF, "a.pdf", "application/pdf")
    await ann.ok("POST", f"/uploads/{ticket['id']}/complete")
    socket = await ann.socket()
    send = outgoing(cid, "once", "a", [ticket["id"]])
    first = await socket.ok("message:send", send)
    again = await socket.ok("message:send", send)
    assert again == first and len(first["attachments"]) == 1


async def test_a_deleted_messages_files_stop_being_served_and_are_swept(
    users: Users, app: Any
) -> None:
    ann, bob, cid = await conversation(users)
    ticket = await upload(ann, cid, png(), "a.png", "image/png")
    await ann.ok("POST", f"/uploads/{ticket['id']}/complete")
    message = await ann.send(cid, "a", attachments=[ticket["id"]])
    _, location = await redirect(bob, f"/attachments/{ticket['id']}")

    await ann.ok("DELETE", f"/messages/{message['id']}")
    assert (await redirect(bob, f"/attachments/{ticket['id']}"))[0] == 404
    assert await app[SERVICES].attachments.sweep() == 1
    assert (await fetch(bob.http, location))[0] == 404


@pytest.mark.hub_settings(upload_ttl_s=60)
async def test_uploads_never_completed_are_swept_after_their_time(users: Users, app: Any) -> None:
    ann, _bob, cid = await conversation(users)
    ticket = await upload(ann, cid, PDF, "a.pdf", "application/pdf")
    service = app[SERVICES].attachments
    assert await service.sweep() == 0  # not yet expired
    record = await service.store.uploads.get(ticket["id"])
    await service.store.uploads.delete(ticket["id"])
    record.expires_at = "2000-01-01T00:00:00.000Z"
    await service.store.uploads.create(record)
    assert await service.sweep() == 1
    await ann.fails("POST", f"/uploads/{ticket['id']}/complete", status=404, code="not_found")


@pytest.mark.hub_settings(upload_quota_bytes_per_day=100)
async def test_the_daily_quota_is_per_user(users: Users) -> None:
    ann, bob, cid = await conversation(users)
    body = {"conversation_id": cid, "name": "a.pdf", "size": 60, "mime": "application/pdf"}
    await ann.ok("POST", "/uploads", body, status=201)
    await ann.fails("POST", "/uploads", body, status=429, code="rate_limited")
    await bob.ok("POST", "/uploads", body, status=201)


async def test_old_metadata_only_attachments_still_read(users: Users, app: Any) -> None:
    ann, bob, cid = await conversation(users)
    old = {"url": "https://files.example.com/a.pdf", "name": "a.pdf", "size": 1}
    old["mime"] = "application/pdf"
    store = app[SERVICES].conversations.store
    record = MessageRecord(
        id="01HOLDMESSAGE0000000000000",
        conversation_id=cid,
        sender_id=ann.id,
        client_msg_id="old",
        text="from before uploads",
        created_at="2026-01-01T00:00:00.000Z",
        attachments=[old],
    )
    assert await store.messages.append(record) is not None
    page = await bob.ok("GET", f"/conversations/{cid}/messages")
    assert page["items"][0]["attachments"] == [old]
    await ann.send(cid, "no files", attachments=[])


async def test_bytes_put_after_complete_are_never_served(users: Users) -> None:
    ann, bob, cid = await conversation(users)
    ticket = await upload(ann, cid, PDF, "a.pdf", "application/pdf")
    await ann.ok("POST", f"/uploads/{ticket['id']}/complete")
    # The upload URL is still valid: the hub refuses it, a bucket takes the bytes.
    await put(ann.http, ticket["upload_url"], b"<script>evil()</script>", ticket["headers"])
    await ann.send(cid, "a", attachments=[ticket["id"]])

    _, location = await redirect(bob, f"/attachments/{ticket['id']}")
    assert (await fetch(bob.http, location))[2] == PDF


async def test_files_claimed_by_a_send_that_never_wrote_its_message_are_swept(
    users: Users, app: Any
) -> None:
    ann, _bob, cid = await conversation(users)
    ticket = await upload(ann, cid, PDF, "a.pdf", "application/pdf")
    await ann.ok("POST", f"/uploads/{ticket['id']}/complete")
    service = app[SERVICES].attachments
    # What a crash between the claim and the append leaves: a claim, no message.
    await service.claim(ann.id, cid, [ticket["id"]], "01HNEVERWRITTEN00000000000")

    assert await service.sweep() == 0  # could be a send in progress
    assert await service.sweep() == 1  # still there a sweep later: a crashed one
    assert await service.store.uploads.get(ticket["id"]) is None


async def test_the_page_may_reach_the_file_store_and_nothing_else(
    http: TestClient, settings: Settings
) -> None:
    response = await http.get("/")
    policy = response.headers["Content-Security-Policy"]
    connect = next(part for part in policy.split(";") if "connect-src" in part).split()
    expected = ["connect-src", "'self'", "ws:", "wss:"]
    if on_s3(settings):  # the page PUTs to and GETs from the bucket's presigned URLs
        expected.append(str(settings.s3_endpoint_url))
    assert connect == expected
