"""One base exception that carries its HTTP status, and the one handler that turns it into JSON.

Every error a client can see leaves through `ApiError`: model-server failures are translated by
`from_model_server`, Werkzeug's own HTTP errors (404 route, 405, 413 body too large) by
`from_http_exception`. The body is always `{"error": message, "code": name, "status": int}`: the
`error` string is what the Open Inference Protocol requires; `code` is stable for programs.
"""

from __future__ import annotations

import logging
import math

from flask import Flask, Response, jsonify, make_response, render_template, request
from modelserver.client import (
    DeadlineExceeded,
    InternalError,
    InvalidInput,
    ModelNotFound,
    ModelServerError,
    NotAnImage,
    Overloaded,
    TooLarge,
    Unavailable,
)
from werkzeug.exceptions import HTTPException

__all__ = [
    "ApiError",
    "BadRequestError",
    "DeadlineExceededError",
    "InternalServerError",
    "ModelNotFoundError",
    "NotAnImageError",
    "OverloadedError",
    "PayloadTooLargeError",
    "UnavailableError",
    "from_model_server",
    "register_error_handlers",
]

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with the HTTP status and stable code a client sees."""

    status: int = 500
    code: str = "internal"

    def __init__(
        self, message: str, *, headers: dict[str, str] | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})
        if status is not None:
            self.status = status

    def to_response(self) -> Response:
        response = jsonify(error=self.message, code=self.code, status=self.status)
        response.status_code = self.status
        response.headers.update(self.headers)
        return response


class BadRequestError(ApiError):
    """The request or the image in it cannot be used (undecodable image, bad option)."""

    status = 400
    code = "invalid_input"


class ModelNotFoundError(ApiError):
    status = 404
    code = "model_not_found"


class NotFoundError(ApiError):
    status = 404
    code = "not_found"


class MethodNotAllowedError(ApiError):
    status = 405
    code = "method_not_allowed"


class PayloadTooLargeError(ApiError):
    """Too many bytes, or too many pixels (a decompression bomb)."""

    status = 413
    code = "too_large"


class NotAnImageError(ApiError):
    status = 415
    code = "not_an_image"


class OverloadedError(ApiError):
    status = 429
    code = "overloaded"


class InternalServerError(ApiError):
    status = 500
    code = "internal"


class UnavailableError(ApiError):
    status = 503
    code = "unavailable"


class DeadlineExceededError(ApiError):
    status = 504
    code = "deadline_exceeded"


def from_model_server(exc: ModelServerError, *, default_retry_after_s: int = 1) -> ApiError:
    """Map a model-server status to the HTTP error of docs/protocol.md: a sentence, then its detail."""
    detail = exc.message or str(exc)
    if isinstance(exc, NotAnImage):
        return NotAnImageError(f"The upload is not an image (JPEG, PNG, WebP, GIF or BMP): {detail}")
    if isinstance(exc, InvalidInput):
        return BadRequestError(f"The image or request cannot be used: {detail}")
    if isinstance(exc, ModelNotFound):
        return ModelNotFoundError(f"No such model is served: {detail}")
    if isinstance(exc, TooLarge):
        return PayloadTooLargeError(f"The image is too large: {detail}")
    if isinstance(exc, Overloaded):
        hint = getattr(exc, "retry_after_s", None)
        seconds = math.ceil(hint) if isinstance(hint, int | float) and hint > 0 else default_retry_after_s
        seconds = max(1, seconds)
        return OverloadedError(
            f"The model servers are busy; try again in {seconds} s. ({detail})",
            headers={"Retry-After": str(seconds)},
        )
    if isinstance(exc, DeadlineExceeded):
        return DeadlineExceededError(f"The model server did not answer in time ({detail}).")
    if isinstance(exc, Unavailable):
        return UnavailableError(f"No model server can be reached right now; try again shortly ({detail}).")
    if isinstance(exc, InternalError):
        return InternalServerError(f"The model server failed: {detail}")
    return InternalServerError(f"Unexpected model-server status {exc.status}: {detail}")


_HTTP_ERRORS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    413: PayloadTooLargeError,
    415: NotAnImageError,
}


def from_http_exception(exc: HTTPException, *, max_upload_bytes: int) -> ApiError:
    """Werkzeug's errors (unknown route, wrong method, body over MAX_CONTENT_LENGTH) as ApiError."""
    status = exc.code or 500
    if status == 413:
        return PayloadTooLargeError(f"The upload is larger than the limit of {max_upload_bytes} bytes.")
    if status == 404:
        return NotFoundError(f"There is nothing at {request.path}.")
    if status == 405:
        error = MethodNotAllowedError(f"{request.method} is not allowed on {request.path}.")
        allowed = exc.get_headers()
        error.headers.update({k: v for k, v in allowed if k.lower() == "allow"})
        return error
    cls = _HTTP_ERRORS.get(status, BadRequestError if status < 500 else InternalServerError)
    return cls(exc.description or exc.name, status=status)


def register_error_handlers(app: Flask, *, max_upload_bytes: int, retry_after_s: int) -> None:
    """The single place where exceptions become HTTP responses."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        if exc.status >= 500:
            logger.warning("%s %s -> %d %s", request.method, request.path, exc.status, exc.message)
        if request.blueprint == "pages":  # a person at a browser without JavaScript: answer a page
            page = make_response(render_template("error.html", error=exc), exc.status)
            page.headers.update(exc.headers)
            return page
        return exc.to_response()

    @app.errorhandler(ModelServerError)
    def _model_server_error(exc: ModelServerError) -> Response:
        return _api_error(from_model_server(exc, default_retry_after_s=retry_after_s))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        return _api_error(from_http_exception(exc, max_upload_bytes=max_upload_bytes))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return InternalServerError("An unexpected error occurred; it has been logged.").to_response()
