from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient
from modelserver.client import (
    DeadlineExceeded,
    InvalidInput,
    ModelServerError,
    NotAnImage,
    Overloaded,
    TooLarge,
    Unavailable,
)
from werkzeug import formparser
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.fakes import FakeClient
from tests.images import jpeg, png_bomb


def test_multipart_upload_is_classified(http: FlaskClient, fake: FakeClient) -> None:
    image = jpeg()
    response = http.post(
        "/api/v1/predict",
        data={"file": (io.BytesIO(image), "../../etc/cat.jpg"), "model": "fer-emotion", "top_k": "3"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body is not None
    assert body["model"] == "fer-emotion" and body["version"] == 2
    assert [p["label"] for p in body["predictions"]] == ["tabby", "tiger cat", "Egyptian cat"]
    assert set(body["predictions"][0]) == {"label", "class_id", "score"}
    assert body["timings_ms"]["total"] == 6.5 and body["timings_ms"]["webapp"] >= 0
    assert fake.calls[-1]["image"] == image and fake.calls[-1]["top_k"] == 3


def test_raw_body_with_query_options(http: FlaskClient, fake: FakeClient) -> None:
    response = http.post("/api/v1/predict?top_k=1", data=jpeg(), content_type="image/jpeg")
    assert response.status_code == 200
    assert len(response.json["predictions"]) == 1  # type: ignore[index]
    assert fake.calls[-1]["model"] == "efficientnet-lite0"
    assert fake.calls[-1]["timeout_ms"] == 10_000.0


def test_default_top_k_is_five(http: FlaskClient) -> None:
    response = http.post("/api/v1/predict", data=jpeg(), content_type="application/octet-stream")
    assert len(response.json["predictions"]) == 5  # type: ignore[index]


def _error(http: FlaskClient, expected: int, **kwargs: object) -> dict[str, object]:
    response = http.post("/api/v1/predict", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == expected, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.json
    assert isinstance(body, dict) and body["status"] == expected
    assert isinstance(body["error"], str) and len(body["error"]) > 10
    return body


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidInput("cannot identify image"), 400),
        (NotAnImage("bytes are not an image"), 415),
        (TooLarge("image over the pixel limit"), 413),
        (Overloaded("queue full", retry_after_s=2.0), 429),
        (Unavailable("no model server reachable"), 503),
        (DeadlineExceeded("deadline exceeded"), 504),
    ],
)
def test_model_server_errors_become_json(
    http: FlaskClient, fake: FakeClient, error: ModelServerError, status: int
) -> None:
    fake.error = error
    body = _error(http, status, data=jpeg(), content_type="image/jpeg")
    assert error.message in str(body["error"])


def test_overloaded_says_when_to_retry(http: FlaskClient, fake: FakeClient) -> None:
    fake.error = Overloaded("queue full", retry_after_s=2.0)
    response = http.post("/api/v1/predict", data=jpeg(), content_type="image/jpeg")
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"


def test_saturated_servers_are_answered_429_before_the_upload_is_parsed(
    http: FlaskClient, fake: FakeClient
) -> None:
    fake.saturated = Overloaded("every model server is at capacity", retry_after_s=0.01)
    # A form that would be a 400 if it were parsed: the refusal comes first, and costs nothing.
    response = http.post("/api/v1/predict", data={"model": "../bad"}, content_type="multipart/form-data")
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert fake.calls == []
    fake.saturated = None
    assert http.post("/api/v1/predict", data=jpeg(), content_type="image/jpeg").status_code == 200


def test_unknown_model_is_404(http: FlaskClient) -> None:
    body = _error(http, 404, query_string={"model": "no-such-model"}, data=jpeg())
    assert body["code"] == "model_not_found"


@pytest.mark.parametrize("top_k", ["-1", "101", "five", "2.5"])
def test_bad_top_k_is_400(http: FlaskClient, top_k: str) -> None:
    _error(http, 400, query_string={"top_k": top_k}, data=jpeg())


def test_bad_model_name_is_400(http: FlaskClient) -> None:
    _error(http, 400, query_string={"model": "../../etc/passwd"}, data=jpeg())


def test_empty_body_is_400(http: FlaskClient, fake: FakeClient) -> None:
    _error(http, 400, data=b"", content_type="image/jpeg")
    assert fake.calls == []


def test_multipart_without_file_is_400(http: FlaskClient) -> None:
    _error(http, 400, data={"model": "efficientnet-lite0"}, content_type="multipart/form-data")


def test_body_over_the_byte_limit_is_413(http: FlaskClient, fake: FakeClient) -> None:
    body = _error(http, 413, data=b"\xff\xd8\xff" + b"\x00" * 600_000, content_type="image/jpeg")
    assert "524288 bytes" in str(body["error"])
    assert fake.calls == []


def _multipart(fields: dict[str, object]) -> tuple[bytes, str]:
    """Encoded in memory: Werkzeug's test client would spool a big body to a temporary file."""
    boundary, body = encode_multipart(fields)
    return body, f"multipart/form-data; boundary={boundary}"


def test_multipart_over_the_byte_limit_is_413(http: FlaskClient) -> None:
    body, content_type = _multipart({"file": FileStorage(io.BytesIO(b"\x00" * 600_000), "big.jpg")})
    _error(http, 413, data=body, content_type=content_type)


def test_image_over_the_pixel_limit_is_413_before_any_model_server_call(
    http: FlaskClient, fake: FakeClient
) -> None:
    body = _error(http, 413, data=png_bomb(), content_type="image/png")
    assert "30000×30000" in str(body["error"])
    assert fake.calls == []


def test_uploads_never_touch_the_disk(
    http: FlaskClient, fake: FakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Werkzeug spools multipart files over 500 KB to a temporary file unless told otherwise."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an upload was about to be written to disk")

    for name in ("SpooledTemporaryFile", "TemporaryFile"):
        monkeypatch.setattr(formparser, name, refuse, raising=False)
    http.application.config["MAX_CONTENT_LENGTH"] = 4 << 20
    large = jpeg(800, 600) + b"\x00" * (1 << 20)
    body, content_type = _multipart({"file": FileStorage(io.BytesIO(large), "../photo.jpg")})
    response = http.post("/api/v1/predict", data=body, content_type=content_type)
    assert response.status_code == 200
    assert fake.calls[-1]["image"] == large


def test_models_lists_versions_and_inputs(http: FlaskClient) -> None:
    response = http.get("/api/v1/models")
    assert response.status_code == 200
    body = response.json
    assert body is not None and body["default"] == "efficientnet-lite0"
    fer = next(m for m in body["models"] if m["name"] == "fer-emotion")
    assert fer["versions"] == [1, 2]
    assert fer["input"] == {
        "height": 64,
        "width": 64,
        "channels": 1,
        "dtype": "float32",
        "color_mode": "grayscale",
    }


def test_model_list_is_cached(http: FlaskClient, fake: FakeClient) -> None:
    for _ in range(5):
        assert http.get("/api/v1/models").status_code == 200
    assert fake.models_calls == 1


def test_models_when_no_model_server_is_reachable(http: FlaskClient, fake: FakeClient) -> None:
    fake.error = Unavailable("no model server reachable")
    response = http.get("/api/v1/models")
    assert response.status_code == 503 and response.json["code"] == "unavailable"  # type: ignore[index]


def test_unknown_route_and_wrong_method_are_json(http: FlaskClient) -> None:
    missing = http.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.json["code"] == "not_found"  # type: ignore[index]
    wrong = http.get("/api/v1/predict")
    assert wrong.status_code == 405 and "POST" in wrong.headers["Allow"]


def test_request_id_is_echoed_or_made(http: FlaskClient) -> None:
    assert http.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = http.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    assert made and made != "bad id with spaces"
