from __future__ import annotations

import pytest
from PIL import Image

from tests.images import encode, photo, png_bomb
from webapp.imageinfo import sniff


@pytest.mark.parametrize(
    ("fmt", "mode", "mime", "options"),
    [
        ("JPEG", "RGB", "image/jpeg", {}),
        ("JPEG", "RGB", "image/jpeg", {"progressive": True}),
        ("JPEG", "CMYK", "image/jpeg", {}),
        ("PNG", "RGBA", "image/png", {}),
        ("GIF", "P", "image/gif", {}),
        ("BMP", "RGB", "image/bmp", {}),
        ("WEBP", "RGB", "image/webp", {"lossless": False}),
        ("WEBP", "RGB", "image/webp", {"lossless": True}),
        ("WEBP", "RGBA", "image/webp", {"lossless": False}),
    ],
)
def test_size_is_read_from_the_header(fmt: str, mode: str, mime: str, options: dict[str, object]) -> None:
    data = encode(photo(123, 45, mode), fmt, **options)
    header = sniff(data)
    assert header is not None
    assert (header.mime, header.width, header.height, header.pixels) == (mime, 123, 45, 123 * 45)


def test_exif_before_the_frame_header_is_skipped() -> None:
    image = photo(40, 30)
    exif = Image.Exif()
    exif[0x010E] = "a description " * 200  # a long APP1 segment before SOF
    header = sniff(encode(image, "JPEG", exif=exif.tobytes()))
    assert header is not None and (header.width, header.height) == (40, 30)


def test_bomb_size_is_seen_without_decoding() -> None:
    header = sniff(png_bomb())
    assert header is not None and header.pixels == 30_000 * 30_000


@pytest.mark.parametrize("data", [b"", b"hello world", b"%PDF-1.7", b"\x00" * 64])
def test_unknown_bytes_are_left_to_the_model_server(data: bytes) -> None:
    assert sniff(data) is None


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP", "WEBP"])
def test_truncated_headers_give_a_format_without_a_size(fmt: str) -> None:
    data = encode(photo(20, 10), fmt)
    magic = {"JPEG": 3, "PNG": 8, "GIF": 6, "BMP": 18, "WEBP": 12}[fmt]
    header = sniff(data[: magic + 1])
    assert header is not None and header.pixels is None
