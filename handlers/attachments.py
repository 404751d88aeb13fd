"""Uploads and attachments (PROTOCOL.md "Attachments", docs/attachments.md).

``/files/...`` are the hub's own signed URLs, used when the file store is a
local directory: they take no bearer token (a browser PUTs or loads them as
they are), the signature in the query is the permission.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hub.attachments.models import Attachment, CreateUpload, UploadTicket
from hub.http import json_response, read_body

from .routing import Route, services_of, user_id_of

CHUNK_BYTES = 64 * 1024


async def create_upload(request: web.Request) -> web.Response:
    body = await read_body(request, CreateUpload)
    ticket = await services_of(request).attachments.create_upload(user_id_of(request), body)
    return json_response(ticket, status=201)


async def complete_upload(request: web.Request) -> web.Response:
    attachments = services_of(request).attachments
    return json_response(await attachments.complete(user_id_of(request), request.match_info["id"]))


async def download(request: web.Request) -> web.Response:
    return await _redirect(request, thumbnail=False)


async def download_thumbnail(request: web.Request) -> web.Response:
    return await _redirect(request, thumbnail=True)


async def _redirect(request: web.Request, *, thumbnail: bool) -> web.Response:
    url = await services_of(request).attachments.download_url(
        user_id_of(request), request.match_info["id"], thumbnail=thumbnail
    )
    return web.Response(status=302, headers={"Location": url, "Cache-Control": "no-store"})


async def put_file(request: web.Request) -> web.Response:
    """The bytes of an upload, streamed to the file store as they arrive
    (never read whole: the body may be far larger than a JSON request)."""
    await services_of(request).attachments.receive(
        request.match_info["id"], request.query, _body_chunks(request)
    )
    return web.Response(status=204)


async def get_file(request: web.Request) -> web.StreamResponse:
    return await _serve(request, thumbnail=False)


async def get_thumbnail_file(request: web.Request) -> web.StreamResponse:
    return await _serve(request, thumbnail=True)


async def _serve(request: web.Request, *, thumbnail: bool) -> web.StreamResponse:
    served = await services_of(request).attachments.serve(
        request.match_info["id"], request.query, thumbnail=thumbnail
    )
    response = web.StreamResponse(
        headers={
            "Content-Type": served.mime,
            "Content-Disposition": served.disposition,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=300",
        }
    )
    response.content_length = served.size
    await response.prepare(request)
    async for chunk in served.chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


async def _body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(CHUNK_BYTES):
        yield chunk


ROUTES: list[Route] = [
    Route(
        "POST",
        "/uploads",
        create_upload,
        "Start an upload into a conversation: where to PUT the bytes",
        "attachments",
        body=CreateUpload,
        response=UploadTicket,
        status=201,
        errors=(404, 413),
    ),
    Route(
        "POST",
        "/uploads/{id}/complete",
        complete_upload,
        "Check the uploaded bytes and make them an attachment",
        "attachments",
        response=Attachment,
        body_optional=True,
        errors=(404, 413, 503),
        description="The bytes decide: over HUB_UPLOAD_MAX_BYTES is 413; a sniffed type"
        " outside HUB_UPLOAD_ALLOWED_TYPES or other than the declared mime is 422"
        " (field mime); with a virus scanner, an infected file is 422 and an unreachable"
        " scanner 503 (the upload is kept: complete again). A file that fails a check is"
        " deleted with its upload.",
    ),
    Route(
        "GET",
        "/attachments/{id}",
        download,
        "Redirect to a short-lived signed URL of the file (participants only)",
        "attachments",
        status=302,
        errors=(404,),
    ),
    Route(
        "GET",
        "/attachments/{id}/thumbnail",
        download_thumbnail,
        "Redirect to a short-lived signed URL of an image's thumbnail",
        "attachments",
        status=302,
        errors=(404,),
    ),
    Route(
        "PUT",
        "/files/{id}",
        put_file,
        "The bytes of an upload (the local file store's signed upload URL)",
        "attachments",
        auth=False,
        status=204,
        errors=(403, 404, 413),
    ),
    Route(
        "GET",
        "/files/{id}",
        get_file,
        "A file's bytes (the local file store's signed download URL)",
        "attachments",
        auth=False,
        errors=(403, 404),
    ),
    Route(
        "GET",
        "/files/{id}/thumbnail",
        get_thumbnail_file,
        "A thumbnail's bytes (the local file store's signed download URL)",
        "attachments",
        auth=False,
        errors=(403, 404),
    ),
]
