"""The server's one exception family: each error carries the status it is answered with.

Errors cross ZeroMQ as `{status, message}` in the reply header, never as pickled objects.
"""

from __future__ import annotations

from typing import Any, ClassVar

from modelserver.protocol import Status

__all__ = [
    "DeadlineExceeded",
    "InternalError",
    "InvalidInput",
    "ModelNotFound",
    "NotAnImage",
    "Overloaded",
    "ServerError",
    "TooLarge",
    "Unavailable",
]


class ServerError(Exception):
    """Base of every error answered to a client; `status` says which."""

    status: ClassVar[Status] = Status.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def reply_fields(self) -> dict[str, Any]:
        """Extra reply-header fields this error adds (none by default)."""
        return {}


class InvalidInput(ServerError):
    status = Status.INVALID_INPUT


class NotAnImage(InvalidInput):
    """Bytes that are no image format at all (the web tier answers 415, not 400)."""

    def reply_fields(self) -> dict[str, Any]:
        return {"reason": "not_an_image"}


class ModelNotFound(ServerError):
    status = Status.MODEL_NOT_FOUND


class TooLarge(ServerError):
    status = Status.TOO_LARGE


class Overloaded(ServerError):
    status = Status.OVERLOADED

    def __init__(self, message: str, retry_after_ms: int) -> None:
        super().__init__(message)
        self.retry_after_ms = retry_after_ms

    def reply_fields(self) -> dict[str, Any]:
        return {"retry_after_ms": self.retry_after_ms}


class DeadlineExceeded(ServerError):
    status = Status.DEADLINE_EXCEEDED


class Unavailable(ServerError):
    status = Status.UNAVAILABLE


class InternalError(ServerError):
    status = Status.INTERNAL
