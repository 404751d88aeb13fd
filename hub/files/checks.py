"""What an upload's bytes are: the type sniffed from its content, the
allow-list, whether the client's declared type agrees, a digest, and for
images their size and a metadata-free thumbnail.

The hub trusts none of the client's words: it serves the *sniffed* type, and
``declared_matches`` only decides whether to refuse an upload whose bytes say
something else than its ``mime``.
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import io
import re
import struct
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass
from pathlib import Path

import filetype
from PIL import ExifTags, Image, ImageOps

# filetype looks at no more than the first 8 KiB.
SNIFF_BYTES = 8192

DEFAULT_ALLOWED_TYPES: tuple[str, ...] = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "text/plain",
    "text/csv",
    "text/markdown",
    "application/zip",
    "audio/*",
    "video/*",
)

# Other names clients (browsers, OSes, old libraries) give the same formats,
# and the names filetype gives them, to one spelling.
ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/apng": "image/png",  # an animated PNG is a PNG; browsers call it image/png
    "image/x-png": "image/png",
    "application/x-pdf": "application/pdf",
    "application/x-zip-compressed": "application/zip",
    "application/x-zip": "application/zip",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/x-flac": "audio/flac",
    "audio/mp3": "audio/mpeg",
    "audio/x-aiff": "audio/aiff",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "video/x-m4v": "video/mp4",
    "video/mkv": "video/x-matroska",
    "audio/x-matroska": "video/x-matroska",
    "application/ogg": "audio/ogg",
    "video/ogg": "audio/ogg",
    "text/x-markdown": "text/markdown",
}

# The same container whatever its content: sniffing cannot always tell an MP4
# holding only sound from a video (a browser's voice recording is audio/webm).
_SAME_CONTAINER = {"audio/mp4": "video/mp4", "audio/webm": "video/webm"}

_OOXML = {
    b"word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    b"xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    b"ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
OFFICE_ZIP_TYPES = frozenset(_OOXML.values()) | {
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}

# C0 controls but tab, newline, vertical tab, form feed, carriage return and
# escape (terminal colours in logs): text has none of them.
_BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f]")


def normalize(mime: str) -> str:
    """``mime`` lower-cased, without parameters, in its one spelling."""
    bare = mime.split(";", 1)[0].strip().lower()
    return ALIASES.get(bare, bare)


def sniff(head: bytes) -> str | None:
    """The MIME type told by the first ``SNIFF_BYTES`` bytes of a file (all of
    it if shorter: a shorter head is taken as the whole file); None when they
    tell nothing.

    Text has no signature: UTF-8 without NUL or other binary control bytes is
    ``text/plain``. An empty head is None.
    """
    if not head:
        return None
    kind = filetype.guess_mime(head)
    if kind == "application/zip":
        # filetype names an OOXML document only if its telling entry comes
        # within the first five; look at every entry that starts in the head.
        return _office_in_zip(head) or kind
    if kind is not None:
        return normalize(kind)
    return "text/plain" if _is_text(head) else None


def _is_text(head: bytes) -> bool:
    try:
        # A full head may end in the middle of a character; a whole file may not.
        final = len(head) < SNIFF_BYTES
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=final)
    except UnicodeDecodeError:
        return False
    return _BINARY_CONTROLS.search(text) is None


def _office_in_zip(head: bytes) -> str | None:
    start = head.find(b"PK\x03\x04")
    while start != -1 and start + 30 <= len(head):
        (name_length,) = struct.unpack_from("<H", head, start + 26)
        name = head[start + 30 : start + 30 + name_length]
        for prefix, mime in _OOXML.items():
            if name.startswith(prefix):
                return mime
        start = head.find(b"PK\x03\x04", start + 30)
    return None


def is_allowed(mime: str, allowed: Iterable[str]) -> bool:
    """Whether ``mime`` is on ``allowed``: exact types and ``type/*`` patterns."""
    mime = normalize(mime)
    major, slash, _ = mime.partition("/")
    if not slash:
        return False
    for pattern in allowed:
        pattern = pattern.strip().lower()
        if pattern == f"{major}/*" or normalize(pattern) == mime:
            return True
    return False


def declared_matches(declared: str, sniffed: str) -> bool:
    """Whether the client's ``mime`` agrees with the type sniffed from the bytes.

    Any ``text/*`` agrees with sniffed text (``text/plain``: sniffing cannot
    tell CSV from Markdown). An office document and a zip agree either way: a
    document is a zip, and one whose telling entries lie past the head sniffs
    as a plain zip; it is served as an attachment either way.
    """
    declared, sniffed = normalize(declared), normalize(sniffed)
    if declared == sniffed:
        return True
    if sniffed == "text/plain":
        return declared.startswith("text/")
    zips = OFFICE_ZIP_TYPES | {"application/zip"}
    if declared in zips and sniffed in zips:
        return "application/zip" in (declared, sniffed)
    return _SAME_CONTAINER.get(declared, declared) == _SAME_CONTAINER.get(sniffed, sniffed)


async def digest(chunks: AsyncIterable[bytes]) -> str:
    """The hex SHA-256 of the bytes of ``chunks``."""
    sha = hashlib.sha256()
    async for chunk in chunks:
        sha.update(chunk)
    return sha.hexdigest()


# Images.

THUMBNAIL_SIDE = 320
MAX_IMAGE_PIXELS = 50_000_000
# The image types the hub opens with Pillow, and the Pillow decoders for them:
# no other decoder runs on uploaded bytes.
IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


class ImageRefused(Exception):
    """Not an image the hub will open: corrupt, or too many pixels."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """An image as shown (EXIF orientation applied) and its thumbnail."""

    width: int
    height: int
    thumbnail: bytes
    thumbnail_mime: str


def inspect_image(
    source: Path | bytes, max_pixels: int = MAX_IMAGE_PIXELS, side: int = THUMBNAIL_SIDE
) -> ImageInfo:
    """Size and thumbnail of a JPEG, PNG, GIF or WebP image; blocking (see
    ``image_info``). ImageRefused when it is corrupt or has more than
    ``max_pixels`` pixels (checked from the header, before decoding).

    The thumbnail (longest side ``side``) is a fresh image with no metadata
    at all (no EXIF, GPS, XMP, ICC profile, comments): JPEG when opaque, for
    photos the smallest that every client decodes; PNG when there is
    transparency, which JPEG cannot carry. (WebP would do both, but not every
    Pillow build can write it.)
    """
    fp = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with Image.open(fp, formats=list(IMAGE_FORMATS.values())) as img:
            return _inspect(img, max_pixels, side)
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageRefused(f"too many pixels: {e}") from e
    except Exception as e:
        # Decoders fed hostile bytes fail in many ways (OSError, SyntaxError,
        # ValueError, struct.error, EOFError...): all mean "not an image we keep".
        raise ImageRefused(f"not a readable image: {e}") from e


def _inspect(img: Image.Image, max_pixels: int, side: int) -> ImageInfo:
    width, height = img.size
    # Image.open read only the header: refuse before any pixel is decoded,
    # with the hub's limit rather than Pillow's process-wide MAX_IMAGE_PIXELS.
    if width * height > max_pixels:
        raise ImageRefused(f"too many pixels: {width}x{height}")
    if img.getexif().get(ExifTags.Base.Orientation) in (5, 6, 7, 8):
        width, height = height, width  # shown turned a quarter
    alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    mode = "RGBA" if alpha else "L" if img.mode == "L" else "RGB"
    if img.mode != mode:
        # Palette images resize only with nearest-neighbour: convert first.
        img = img.convert(mode)
    # In place; for a JPEG not yet converted it decodes at a reduced scale.
    img.thumbnail((side, side))
    img = ImageOps.exif_transpose(img)
    # A fresh image from the pixels alone: nothing of the upload's info
    # (EXIF, ICC profile, comments) can reach the saved file.
    clean = Image.frombytes(img.mode, img.size, img.tobytes())
    out = io.BytesIO()
    if alpha:
        clean.save(out, "PNG", optimize=True)
    else:
        clean.save(out, "JPEG", quality=85, optimize=True)
    return ImageInfo(width, height, out.getvalue(), "image/png" if alpha else "image/jpeg")


async def image_info(
    source: Path | bytes, max_pixels: int = MAX_IMAGE_PIXELS, side: int = THUMBNAIL_SIDE
) -> ImageInfo:
    """``inspect_image`` in a worker thread, off the event loop."""
    return await asyncio.to_thread(inspect_image, source, max_pixels, side)
