from __future__ import annotations

import pytest
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

from webapp.errors import from_model_server


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidInput("cannot decode image"), 400, "invalid_input"),
        (NotAnImage("not an image"), 415, "not_an_image"),
        (ModelNotFound("no model x"), 404, "model_not_found"),
        (TooLarge("over 40000000 pixels"), 413, "too_large"),
        (Overloaded("queue full", retry_after_s=0.2), 429, "overloaded"),
        (DeadlineExceeded("deadline passed"), 504, "deadline_exceeded"),
        (Unavailable("no model server reachable"), 503, "unavailable"),
        (InternalError("boom"), 500, "internal"),
    ],
)
def test_each_model_server_status_has_its_http_status(
    error: ModelServerError, status: int, code: str
) -> None:
    api_error = from_model_server(error)
    assert (api_error.status, api_error.code) == (status, code)
    assert error.message in api_error.message


@pytest.mark.parametrize(("hint", "header"), [(0.2, "1"), (1.0, "1"), (2.5, "3"), (0.0, "7")])
def test_retry_after_is_whole_seconds_and_never_zero(hint: float, header: str) -> None:
    api_error = from_model_server(Overloaded("full", retry_after_s=hint), default_retry_after_s=7)
    assert api_error.headers["Retry-After"] == header
