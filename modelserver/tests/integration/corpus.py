"""Awkward and hostile inputs, each paired with the status the server must answer."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG claiming width×height pixels with almost no data: a decompression-bomb probe."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def corpus(photo_jpeg: bytes) -> dict[str, tuple[bytes, str]]:
    """name → (bytes, expected status)."""
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    frames = [Image.fromarray(np.full((40, 40, 3), v, dtype=np.uint8)) for v in (0, 128, 255)]
    animated = io.BytesIO()
    frames[0].save(animated, format="GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    sixteen = Image.fromarray((rng.integers(0, 65535, (64, 64))).astype(np.uint16))
    return {
        "truncated jpeg": (photo_jpeg[: len(photo_jpeg) // 3], "INVALID_INPUT"),
        "zero bytes": (b"", "INVALID_INPUT"),
        "text": (b"hello, this is not an image\n" * 10, "INVALID_INPUT"),
        "30000x30000 png": (png_header_only(30000, 30000), "TOO_LARGE"),
        "cmyk jpeg": (_save(rgb.convert("CMYK"), "JPEG"), "OK"),
        "16-bit png": (_save(sixteen, "PNG"), "OK"),
        "rgba png": (_save(rgb.convert("RGBA"), "PNG"), "OK"),
        "grayscale jpeg": (_save(rgb.convert("L"), "JPEG"), "OK"),
        "palette png": (_save(rgb.convert("P"), "PNG"), "OK"),
        "animated gif": (animated.getvalue(), "OK"),
        "webp": (_save(rgb, "WEBP"), "OK"),
        "bmp": (_save(rgb, "BMP"), "OK"),
        "1x1 png": (_save(Image.new("RGB", (1, 1)), "PNG"), "OK"),
        "tiff (not served)": (_save(rgb, "TIFF"), "INVALID_INPUT"),
    }
