"""Sniffing, the allow-list, declared-vs-sniffed types, digests and images,
on real files made here (Pillow, zipfile, wave)."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import wave
import zipfile
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from hub.files.checks import (
    DEFAULT_ALLOWED_TYPES,
    SNIFF_BYTES,
    ImageRefused,
    declared_matches,
    digest,
    image_info,
    inspect_image,
    is_allowed,
    sniff,
)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ORIENTATION, GPS_IFD = 0x0112, 0x8825


def image_bytes(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def two_colour(size: tuple[int, int] = (200, 100)) -> Image.Image:
    """Red on the left half, blue on the right."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return image


def zipped(*names: str, first: tuple[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if first is not None:  # OpenDocument: "mimetype", stored, comes first
            archive.writestr(first[0], first[1], compress_type=zipfile.ZIP_STORED)
        for name in names:
            archive.writestr(name, "<x/>" * 40)
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def grey_png(width: int, height: int, rows: int | None = None) -> bytes:
    """A real greyscale PNG, all black: tiny on disk whatever its pixel count
    (``rows``: only so many rows of data, for a header that claims more)."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (width + 1)  # filter byte + pixels
    idat = b"".join(compressor.compress(row) for _ in range(height if rows is None else rows))
    idat += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\0\0" * 800)
    return out.getvalue()


# Sniffing.


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (image_bytes(two_colour(), "PNG"), "image/png"),
        (image_bytes(two_colour(), "JPEG"), "image/jpeg"),
        (image_bytes(two_colour(), "GIF"), "image/gif"),
        (image_bytes(two_colour(), "WEBP"), "image/webp"),
        (image_bytes(two_colour(), "PDF"), "application/pdf"),
        (wav(), "audio/wav"),
        (zipped("notes.txt", "photo.jpg"), "application/zip"),
        (zipped("[Content_Types].xml", "_rels/.rels", "word/document.xml"), DOCX),
        (zipped("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml"), XLSX),
        (zipped("[Content_Types].xml", "_rels/.rels", "ppt/presentation.xml"), PPTX),
        (zipped("content.xml", first=("mimetype", ODT)), ODT),
    ],
    ids=["png", "jpeg", "gif", "webp", "pdf", "wav", "zip", "docx", "xlsx", "pptx", "odt"],
)
def test_types_are_sniffed_from_the_bytes(data: bytes, expected: str) -> None:
    assert sniff(data[:SNIFF_BYTES]) == expected


def test_a_document_whose_telling_entry_comes_late_is_still_a_document() -> None:
    # filetype looks at the first five entries only; Word's own files put
    # docProps and customXml before word/ at times.
    parts = ["docProps/app.xml", "docProps/core.xml", "customXml/item1.xml", "customXml/item2.xml"]
    data = zipped("[Content_Types].xml", "_rels/.rels", *parts, "word/document.xml")
    assert sniff(data[:SNIFF_BYTES]) == DOCX


@pytest.mark.parametrize(
    "text",
    [
        "plain ascii\n",
        "name,amount\nZoë,12.50\r\n",
        "# Brief\n\n- 日本語 and emoji 🎉\n\tindented\n",
        "\x1b[31mred\x1b[0m log line\n",
    ],
)
def test_utf8_text_is_text_plain(text: str) -> None:
    assert sniff(text.encode()) == "text/plain"


def test_a_head_cut_inside_a_character_is_still_text() -> None:
    data = ("a" + "é" * SNIFF_BYTES).encode()  # two bytes each after the "a"
    head = data[:SNIFF_BYTES]
    assert head[-1:] == b"\xc3"  # half a character
    assert sniff(head) == "text/plain"


@pytest.mark.parametrize(
    "data",
    [
        os.urandom(SNIFF_BYTES),
        b"text with a NUL\x00 in it",
        b"ctrl \x01\x02\x03 bytes",
        "latin-1 caf\u00e9".encode("latin-1"),
        "utf-16".encode("utf-16"),
        b"",
    ],
    ids=["random", "nul", "controls", "latin-1", "utf-16", "empty"],
)
def test_binary_or_unknown_bytes_sniff_as_nothing(data: bytes) -> None:
    assert sniff(data) is None


# The allow-list.


@pytest.mark.parametrize(
    "mime",
    [
        "image/jpeg",
        "image/jpg",
        "IMAGE/PNG; charset=binary",
        "image/webp",
        "application/pdf",
        DOCX,
        XLSX,
        PPTX,
        ODT,
        "application/msword",
        "text/plain",
        "text/csv",
        "text/markdown",
        "application/zip",
        "audio/mpeg",
        "audio/x-wav",
        "video/mp4",
        "video/webm",
    ],
)
def test_allowed_by_default(mime: str) -> None:
    assert is_allowed(mime, DEFAULT_ALLOWED_TYPES)


@pytest.mark.parametrize(
    "mime",
    [
        "image/svg+xml",
        "text/html",
        "application/javascript",
        "application/x-msdownload",
        "application/octet-stream",
        "image/tiff",
        "application/x-tar",
        "audiox/mpeg",
        "audio",
        "",
    ],
)
def test_not_allowed_by_default(mime: str) -> None:
    assert not is_allowed(mime, DEFAULT_ALLOWED_TYPES)


def test_custom_lists_with_patterns_and_aliases() -> None:
    assert is_allowed("image/gif", ["image/*"])
    assert not is_allowed("application/pdf", ["image/*"])
    assert is_allowed("image/jpg", ["image/jpeg"])
    assert is_allowed("image/jpeg", [" Image/JPG "])
    assert not is_allowed("image/png", [])


# Declared against sniffed.


@pytest.mark.parametrize(
    ("declared", "sniffed"),
    [
        ("image/jpeg", "image/jpeg"),
        ("image/jpg", "image/jpeg"),
        ("IMAGE/JPEG; q=1", "image/jpeg"),
        ("image/png", "image/apng"),
        ("text/csv", "text/plain"),
        ("text/markdown; charset=utf-8", "text/plain"),
        ("text/plain", "text/plain"),
        (DOCX, DOCX),
        (DOCX, "application/zip"),
        ("application/zip", XLSX),
        ("application/x-zip-compressed", "application/zip"),
        ("audio/wav", "audio/x-wav"),
        ("audio/mp4", "video/mp4"),
        ("audio/webm;codecs=opus", "video/webm"),
    ],
)
def test_declared_agrees(declared: str, sniffed: str) -> None:
    assert declared_matches(declared, sniffed)


@pytest.mark.parametrize(
    ("declared", "sniffed"),
    [
        ("image/png", "image/jpeg"),
        ("application/pdf", "text/plain"),
        ("image/svg+xml", "text/plain"),
        ("text/plain", "application/pdf"),
        (DOCX, XLSX),
        ("application/pdf", "application/zip"),
        ("application/zip", "application/pdf"),
        ("audio/mpeg", "audio/wav"),
        ("application/octet-stream", "image/png"),
        ("image/jpeg", "video/mp4"),
    ],
)
def test_declared_disagrees(declared: str, sniffed: str) -> None:
    assert not declared_matches(declared, sniffed)


async def test_digest_is_the_sha256_of_all_chunks() -> None:
    data = os.urandom(300_000)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 65536):
            yield data[i : i + 65536]

    assert await digest(chunks()) == hashlib.sha256(data).hexdigest()


# Images.


def test_size_and_a_thumbnail_of_at_most_320_px() -> None:
    info = inspect_image(image_bytes(two_colour((1200, 900)), "PNG"))
    assert (info.width, info.height) == (1200, 900)
    assert info.thumbnail_mime == "image/jpeg"  # opaque
    with Image.open(io.BytesIO(info.thumbnail)) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (320, 240)


def test_a_tall_image_fits_its_longest_side() -> None:
    info = inspect_image(image_bytes(two_colour((300, 1500)), "JPEG"))
    with Image.open(io.BytesIO(info.thumbnail)) as thumb:
        assert thumb.size == (64, 320)


def test_a_small_image_is_not_enlarged() -> None:
    info = inspect_image(image_bytes(two_colour((100, 50)), "WEBP"))
    assert (info.width, info.height) == (100, 50)
    with Image.open(io.BytesIO(info.thumbnail)) as thumb:
        assert thumb.size == (100, 50)


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "WEBP"])
def test_transparency_is_kept_in_a_png_thumbnail(fmt: str) -> None:
    image = Image.new("RGBA", (640, 640), (0, 0, 0, 0))
    image.paste((0, 200, 0, 255), (0, 0, 320, 640))
    info = inspect_image(image_bytes(image, fmt))
    assert info.thumbnail_mime == "image/png"
    with Image.open(io.BytesIO(info.thumbnail)) as thumb:
        assert thumb.format == "PNG" and thumb.size == (320, 320)
        rgba = thumb.convert("RGBA")
        assert rgba.getpixel((300, 160))[3] == 0  # the right half stays see-through
        assert rgba.getpixel((20, 160))[3] == 255


def test_gps_and_other_metadata_do_not_reach_the_thumbnail(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (52.0, 22.0, 30.0), 3: "E", 4: (4.0, 53.0, 0.0)})
    photo = tmp_path / "photo.jpg"
    two_colour((800, 600)).save(photo, "JPEG", exif=exif, comment=b"secret comment")
    with Image.open(photo) as upload:  # the input does carry it
        assert upload.getexif().get_ifd(GPS_IFD)[2] == (52.0, 22.0, 30.0)

    info = inspect_image(photo)
    assert b"Exif" not in info.thumbnail and b"PhoneMaker" not in info.thumbnail
    assert b"secret comment" not in info.thumbnail
    with Image.open(io.BytesIO(info.thumbnail)) as thumb:
        assert len(thumb.getexif()) == 0 and thumb.getexif().get_ifd(GPS_IFD) == {}
        assert not {"exif", "icc_profile", "comment", "xmp"} & set(thumb.info)


@pytest.mark.parametrize(
    ("fmt", "mode"), [("JPEG", "RGB"), ("JPEG", "CMYK"), ("PNG", "RGB"), ("PNG", "P")]
)
def test_exif_orientation_is_applied(fmt: str, mode: str) -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # shown turned a quarter clockwise: the left edge on top
    upload = two_colour((800, 400)).convert(mode)
    info = inspect_image(image_bytes(upload, fmt, exif=exif))
    assert (info.width, info.height) == (400, 800)
    with Image.open(io.BytesIO(info.thumbnail)) as thumb:
        assert thumb.size == (160, 320)
        red, _, blue = thumb.convert("RGB").getpixel((80, 40))
        assert red > 200 and blue < 50  # red on top
        red, _, blue = thumb.convert("RGB").getpixel((80, 280))
        assert red < 50 and blue > 200


def test_a_header_claiming_ten_billion_pixels_is_refused() -> None:
    bomb = grey_png(100_000, 100_000, rows=10)
    assert len(bomb) < 2000
    with pytest.raises(ImageRefused):
        inspect_image(bomb)


def test_more_pixels_than_the_hub_allows_is_refused_before_decoding() -> None:
    # 56 megapixels of black in 60 KB: over the hub's 50 megapixels but under
    # Pillow's own limit, so the hub's check is what stops it.
    pillows_limit = Image.MAX_IMAGE_PIXELS
    bomb = grey_png(8000, 7000)
    assert len(bomb) < 100_000
    assert pillows_limit is not None and 8000 * 7000 < pillows_limit
    with pytest.raises(ImageRefused, match="too many pixels"):
        inspect_image(bomb)
    with pytest.raises(ImageRefused):
        inspect_image(image_bytes(two_colour((1000, 1000)), "PNG"), max_pixels=999_999)
    assert Image.MAX_IMAGE_PIXELS == pillows_limit  # the process-wide limit is untouched


@pytest.mark.parametrize(
    "data",
    [
        os.urandom(5000),
        image_bytes(two_colour((400, 400)), "JPEG")[:600],
        image_bytes(two_colour((400, 400)), "PNG")[:200],
        image_bytes(two_colour((400, 400)), "BMP"),  # real, but not a type the hub opens
        b"",
    ],
    ids=["random", "truncated-jpeg", "truncated-png", "bmp", "empty"],
)
def test_corrupt_or_other_images_are_refused(data: bytes) -> None:
    with pytest.raises(ImageRefused):
        inspect_image(data)


async def test_image_info_runs_off_the_loop_on_a_file(tmp_path: Path) -> None:
    path = tmp_path / "shot.png"
    two_colour((640, 360)).save(path)
    info = await image_info(path)
    assert (info.width, info.height) == (640, 360)
    with pytest.raises(ImageRefused):
        await image_info(grey_png(100_000, 100_000, rows=1))
