"""Getting an image and its options out of an HTTP request, within the configured bounds.

Uploads stay in memory: Werkzeug would spool a large multipart file to a temporary file, so the
app's request class hands it a `BytesIO` instead; the body is already bounded by
MAX_CONTENT_LENGTH (`WEBAPP_MAX_UPLOAD_BYTES`). Nothing is ever written under a user's filename.
The pixel bound is checked from the image header before the bytes travel to a model server.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import IO, Any

from flask import Request

from webapp.errors import BadRequestError, PayloadTooLargeError
from webapp.forms import FastFormDataParser
from webapp.imageinfo import ImageHeader, sniff
from webapp.settings import Settings

__all__ = ["ImageUpload", "InMemoryRequest", "check_image", "model_option", "read_image", "top_k_option"]

MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
FILE_FIELD = "file"


class InMemoryRequest(Request):
    """A Flask request whose multipart files are buffered in memory, never on disk.

    Its multipart parser is python-multipart's (see `webapp.forms`), several times faster.
    """

    form_data_parser_class = FastFormDataParser

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()


@dataclass(frozen=True)
class ImageUpload:
    """The bytes of one upload and what its header says (None: a format we do not recognise)."""

    data: bytes
    header: ImageHeader | None

    @property
    def mime(self) -> str:
        return self.header.mime if self.header else "application/octet-stream"


def read_image(request: Request, settings: Settings) -> ImageUpload:
    """The image of a multipart upload (field `file`) or of the raw body."""
    if request.mimetype == "multipart/form-data":
        storage = request.files.get(FILE_FIELD)
        if storage is None:
            raise BadRequestError(
                f"The form has no file field named {FILE_FIELD!r}; choose an image to upload."
            )
        data = storage.read()
    elif request.mimetype == "application/x-www-form-urlencoded":
        raise BadRequestError(
            "Send the image as multipart/form-data (field 'file') or as the raw request body."
        )
    else:
        data = request.get_data(cache=False)
    return check_image(data, settings)


def check_image(data: bytes, settings: Settings) -> ImageUpload:
    """Refuse an empty upload and an image over the pixel limit; keep the header for later."""
    if not data:
        raise BadRequestError("The upload is empty; send the bytes of a JPEG, PNG, WebP, GIF or BMP image.")
    header = sniff(data)
    pixels = header.pixels if header else None
    if header is not None and pixels is not None and pixels > settings.max_image_pixels:
        raise PayloadTooLargeError(
            f"The image is {header.width}×{header.height} pixels; "
            f"at most {settings.max_image_pixels} pixels are accepted."
        )
    return ImageUpload(data, header)


def _option(request: Request, name: str) -> str | None:
    value = request.args.get(name)
    if value is None and request.mimetype == "multipart/form-data":
        value = request.form.get(name)
    return value if value not in (None, "") else None


def model_option(request: Request, settings: Settings) -> str:
    """The `model` query or form field, or the default model."""
    return model_name(_option(request, "model") or settings.default_model)


def model_name(value: str) -> str:
    if not MODEL_NAME.match(value):
        raise BadRequestError(
            f"{value[:80]!r} is not a model name: lower-case letters, digits, '.', '_' and '-', "
            "at most 63 characters."
        )
    return value


def top_k_option(request: Request, settings: Settings) -> int:
    """The `top_k` query or form field, or the default; 0 ≤ top_k ≤ the configured maximum."""
    return top_k_value(_option(request, "top_k"), settings)


def top_k_value(raw: Any, settings: Settings) -> int:
    if raw is None:
        return settings.top_k_default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise BadRequestError(f"top_k must be a whole number, not {str(raw)[:40]!r}.") from None
    if isinstance(raw, float | bool) or not 0 <= value <= settings.top_k_max:
        raise BadRequestError(f"top_k must be a whole number from 0 to {settings.top_k_max}.")
    return value
