"""Status codes carried by every reply (docs/protocol.md)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Outcome of one request; the web tier maps each to one HTTP status."""

    OK = "OK"
    INVALID_INPUT = "INVALID_INPUT"
    MODEL_NOT_FOUND = "MODEL_NOT_FOUND"
    TOO_LARGE = "TOO_LARGE"
    OVERLOADED = "OVERLOADED"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"
