"""Images made in memory with Pillow: good ones, and the bad-image corpus (each with why it is bad)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def photo(width: int = 64, height: int = 48, mode: str = "RGB") -> Image.Image:
    """A smooth gradient: decodes everywhere, compresses well."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) % 256], axis=-1)
    return Image.fromarray(rgb.astype(np.uint8)).convert(mode)


def jpeg(width: int = 64, height: int = 48) -> bytes:
    return encode(photo(width, height), "JPEG", quality=90)


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A ~100 KB PNG that claims width×height 1-bit pixels (~112 MB raw): a decompression bomb.

    Written with zlib rather than Pillow, which would need the whole image in memory first.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * ((width + 7) // 8)  # filter byte + packed 1-bit pixels
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def animated_gif() -> bytes:
    frames = [photo(32, 32).rotate(angle) for angle in (0, 90, 180)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def png16() -> bytes:
    gray = (np.arange(48 * 64, dtype=np.uint32).reshape(48, 64) * 21).astype(np.uint16)
    image = Image.fromarray(gray)  # uint16 → mode I;16
    assert image.mode == "I;16"
    return encode(image, "PNG")


CORPUS_NAMES = (
    "truncated_jpeg", "zero_bytes", "text", "png_bomb_30000x30000", "cmyk_jpeg",
    "png_16bit", "rgba_png", "grayscale_jpeg", "animated_gif",
)  # fmt: skip


def bad_image_corpus() -> dict[str, tuple[bytes, int]]:
    """name → (bytes, the HTTP status the API must answer)."""
    full = jpeg(320, 240)
    return {
        "truncated_jpeg": (full[: len(full) // 3], 400),
        "zero_bytes": (b"", 400),
        "text": (b"This is a plain text file, not a picture.\n" * 20, 415),
        "png_bomb_30000x30000": (png_bomb(), 413),
        "cmyk_jpeg": (encode(photo(64, 48, "CMYK"), "JPEG"), 200),
        "png_16bit": (png16(), 200),
        "rgba_png": (encode(photo(64, 48, "RGBA"), "PNG"), 200),
        "grayscale_jpeg": (encode(photo(64, 48, "L"), "JPEG"), 200),
        "animated_gif": (animated_gif(), 200),
    }
