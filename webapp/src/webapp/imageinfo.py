"""Read an image's format and size from its first bytes, without decoding a pixel.

Why here: the web tier carries no image decoder (decoding is the model servers' job, overlapped
with inference), yet it should refuse a decompression bomb — a 100 KB PNG that claims 30000×30000
pixels — before sending it anywhere, and tell the browser what MIME type an upload is. Every format
the model servers decode (JPEG, PNG, GIF, BMP, WebP) stores its size in a small header; this module
reads only that header. Anything it does not recognise is passed on unchanged: the model server
has the last word on what is an image.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["ImageHeader", "sniff"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers carry the size: C0–CF except DHT (C4), JPG (C8) and DAC (CC).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers with no length field after them.
_JPEG_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01, 0xD8}
_JPEG_SCAN_LIMIT = 1 << 20  # a size past the first MiB of metadata is not looked for


@dataclass(frozen=True)
class ImageHeader:
    """What the header says: format, MIME type and, when the header is complete, the size."""

    format: str
    mime: str
    width: int | None = None
    height: int | None = None

    @property
    def pixels(self) -> int | None:
        if self.width is None or self.height is None:
            return None
        return self.width * self.height


def sniff(data: bytes) -> ImageHeader | None:
    """The header of `data` if it starts like a JPEG, PNG, GIF, BMP or WebP file; else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg(data)
    if data.startswith(_PNG_MAGIC):
        return _png(data)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return _gif(data)
    if data.startswith(b"BM") and len(data) >= 18:
        return _bmp(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data)
    return None


def _png(data: bytes) -> ImageHeader:
    if len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return ImageHeader("png", "image/png", width, height)
    return ImageHeader("png", "image/png")


def _gif(data: bytes) -> ImageHeader:
    if len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return ImageHeader("gif", "image/gif", width, height)
    return ImageHeader("gif", "image/gif")


def _bmp(data: bytes) -> ImageHeader:
    (dib_size,) = struct.unpack("<I", data[14:18])
    if dib_size == 12 and len(data) >= 22:  # BITMAPCOREHEADER: 16-bit sizes
        width, height = struct.unpack("<HH", data[18:22])
        return ImageHeader("bmp", "image/bmp", width, height)
    if dib_size >= 40 and len(data) >= 26:  # BITMAPINFOHEADER and later: signed, height < 0 is top-down
        width, height = struct.unpack("<ii", data[18:26])
        return ImageHeader("bmp", "image/bmp", abs(width), abs(height))
    return ImageHeader("bmp", "image/bmp")


def _webp(data: bytes) -> ImageHeader:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return ImageHeader("webp", "image/webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        (bits,) = struct.unpack("<I", data[21:25])
        return ImageHeader("webp", "image/webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return ImageHeader("webp", "image/webp", width, height)
    return ImageHeader("webp", "image/webp")


def _jpeg(data: bytes) -> ImageHeader:
    """Walk the marker segments up to the first start-of-frame."""
    pos = 2
    end = min(len(data), _JPEG_SCAN_LIMIT)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            break  # not a marker where one must be: leave the verdict to the decoder
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _JPEG_SOF:
            if pos + 9 <= len(data):
                height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
                if height and width:
                    return ImageHeader("jpeg", "image/jpeg", width, height)
            break
        if marker == 0xDA or length < 2:  # start of scan before any frame header: malformed
            break
        pos += 2 + length
    return ImageHeader("jpeg", "image/jpeg")
