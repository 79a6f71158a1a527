"""429, 503 and 504 with real processes: an overloaded, an absent and a too-slow model server."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.integration.conftest import (
    ModelServer,
    WebApp,
    free_port,
    start_modelserver,
    start_webapp,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def no_modelserver(logs: Path) -> Iterator[WebApp]:
    """A web app whose model-server endpoint has nothing listening."""
    app = start_webapp(logs, f"tcp://127.0.0.1:{free_port()}", name="webapp-alone")
    yield app
    assert app.proc.stop() == 0


def test_no_model_server_is_503(no_modelserver: WebApp, chelsea_jpeg: Path) -> None:
    url = no_modelserver.url
    response = requests.post(f"{url}/api/v1/predict", data=chelsea_jpeg.read_bytes(), timeout=30)
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "unavailable"
    assert requests.get(f"{url}/readyz", timeout=10).status_code == 503
    assert requests.get(f"{url}/v2/health/ready", timeout=10).status_code == 503
    assert requests.get(f"{url}/healthz", timeout=10).status_code == 200
    assert requests.get(f"{url}/api/v1/models", timeout=10).status_code == 503
    page = requests.get(f"{url}/", timeout=10)
    assert page.status_code == 200 and "cannot be reached" in page.text


def test_deadline_is_504(logs: Path, modelserver: ModelServer, chelsea_jpeg: Path) -> None:
    app = start_webapp(logs, modelserver.endpoint, name="webapp-impatient", request_timeout_ms="0.5")
    try:
        response = requests.post(f"{app.url}/api/v1/predict", data=chelsea_jpeg.read_bytes(), timeout=30)
        assert response.status_code == 504, response.text
        assert response.json()["code"] == "deadline_exceeded"
    finally:
        assert app.proc.stop() == 0


@pytest.fixture(scope="module")
def tiny_queue(logs: Path) -> Iterator[ModelServer]:
    """A model server that admits one request at a time and answers the rest OVERLOADED."""
    server = start_modelserver(
        logs,
        name="modelserver-tiny-queue",
        max_queue_size="1",
        max_batch_size="1",
        models="efficientnet-lite0",
    )
    yield server
    assert server.proc.stop() == 0


def test_overload_is_429_with_retry_after(logs: Path, tiny_queue: ModelServer, chelsea_jpeg: Path) -> None:
    app = start_webapp(logs, tiny_queue.endpoint, name="webapp-overloaded", threads="16")
    image = chelsea_jpeg.read_bytes()
    statuses: Counter[int] = Counter()
    retry_after: set[str] = set()
    lock = threading.Lock()

    def client() -> None:
        with requests.Session() as session:
            for _ in range(6):
                response = session.post(f"{app.url}/api/v1/predict", data=image, timeout=30)
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code == 429:
                        retry_after.add(response.headers.get("Retry-After", ""))
                        assert response.json()["code"] == "overloaded"

    try:
        threads = [threading.Thread(target=client) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
    finally:
        assert app.proc.stop() == 0
    assert set(statuses) <= {200, 429}, statuses
    assert statuses[429] > 0 and statuses[200] > 0, statuses
    assert retry_after and all(value.isdigit() and int(value) >= 1 for value in retry_after)
