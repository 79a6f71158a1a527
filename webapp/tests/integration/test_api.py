"""The JSON API, probes and every error status, through real gunicorn and a real model server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.images import CORPUS_NAMES, bad_image_corpus, jpeg
from tests.integration.conftest import is_cat

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def corpus() -> dict[str, tuple[bytes, int]]:
    made = bad_image_corpus()
    assert set(made) == set(CORPUS_NAMES)
    return made


def test_chelsea_is_a_cat_multipart(base_url: str, chelsea_jpeg: Path) -> None:
    with chelsea_jpeg.open("rb") as image:
        response = requests.post(
            f"{base_url}/api/v1/predict", files={"file": ("chelsea.jpg", image)}, timeout=30
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "efficientnet-lite0" and isinstance(body["version"], int)
    assert len(body["predictions"]) == 5
    top = body["predictions"][0]
    assert is_cat(top["label"], top["class_id"]) and is_cat(top["label"]), body["predictions"]
    scores = [p["score"] for p in body["predictions"]]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1
    assert {"total", "webapp"} <= set(body["timings_ms"])


def test_raw_body_with_options(base_url: str, chelsea_jpeg: Path) -> None:
    response = requests.post(
        f"{base_url}/api/v1/predict",
        params={"model": "fer-emotion", "top_k": 7},
        data=chelsea_jpeg.read_bytes(),
        headers={"Content-Type": "image/jpeg"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "fer-emotion" and len(body["predictions"]) == 7
    assert sum(p["score"] for p in body["predictions"]) == pytest.approx(1.0, abs=0.02)


def test_models(base_url: str) -> None:
    body = requests.get(f"{base_url}/api/v1/models", timeout=10).json()
    models = {m["name"]: m for m in body["models"]}
    assert body["default"] == "efficientnet-lite0"
    assert (
        models["efficientnet-lite0"]["input"]["height"] == 224
        and models["efficientnet-lite0"]["labels"] == 1000
    )
    assert models["fer-emotion"]["input"]["channels"] == 1


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_bad_image_corpus(base_url: str, corpus: dict[str, tuple[bytes, int]], name: str) -> None:
    data, expected = corpus[name]
    response = requests.post(f"{base_url}/api/v1/predict", files={"file": (f"{name}.bin", data)}, timeout=30)
    assert response.status_code == expected, f"{name}: {response.status_code} {response.text}"
    body = response.json()
    if expected == 200:
        assert len(body["predictions"]) == 5
    else:
        assert body["status"] == expected and len(body["error"]) > 10


def test_unknown_model_is_404(base_url: str) -> None:
    response = requests.post(
        f"{base_url}/api/v1/predict", params={"model": "no-such-model"}, data=jpeg(), timeout=10
    )
    assert response.status_code == 404 and "no-such-model" in response.json()["error"]


def test_body_over_the_upload_limit_is_413(logs: Path, modelserver: object) -> None:
    from tests.integration.conftest import start_webapp

    app = start_webapp(logs, modelserver.endpoint, name="webapp-small-uploads", max_upload_bytes="100000")  # type: ignore[attr-defined]
    try:
        response = requests.post(
            f"{app.url}/api/v1/predict", data=b"\xff\xd8\xff" + bytes(200_000), timeout=10
        )
        assert response.status_code == 413
        assert "100000 bytes" in response.json()["error"]
    finally:
        assert app.proc.stop() == 0


def test_probes_and_metrics(base_url: str) -> None:
    assert requests.get(f"{base_url}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{base_url}/readyz", timeout=5).status_code == 200
    metrics = requests.get(f"{base_url}/metrics", timeout=5)
    assert metrics.status_code == 200
    assert (
        "webapp_http_requests_total" in metrics.text
        and "webapp_request_duration_seconds_bucket" in metrics.text
    )


def test_openapi_document(base_url: str) -> None:
    doc = requests.get(f"{base_url}/openapi.json", timeout=5).json()
    assert "/api/v1/predict" in doc["paths"] and "/v2/models/{name}/infer" in doc["paths"]


def test_json_errors_are_json_everywhere(base_url: str) -> None:
    response = requests.get(f"{base_url}/no/such/thing", timeout=5)
    assert response.status_code == 404 and json.loads(response.text)["code"] == "not_found"
