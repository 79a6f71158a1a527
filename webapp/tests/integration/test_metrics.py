"""prometheus-client multiprocess mode: with two gunicorn workers, /metrics counts both."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.integration.conftest import ModelServer, WebApp, start_webapp

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def two_workers(logs: Path, modelserver: ModelServer) -> Iterator[WebApp]:
    app = start_webapp(logs, modelserver.endpoint, name="webapp-metrics", workers=2, threads="2")
    yield app
    assert app.proc.stop() == 0


def _healthz_count(text: str) -> float:
    for line in text.splitlines():
        if (
            line.startswith("webapp_http_requests_total{")
            and 'route="/healthz"' in line
            and 'status="200"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _worker_pids(metrics_dir: Path) -> set[str]:
    return {p.stem.rsplit("_", 1)[1] for p in metrics_dir.glob("counter_*.db")}


def test_metrics_add_up_every_worker(two_workers: WebApp) -> None:
    """Fresh connections from several threads until both workers have answered some."""
    before = _healthz_count(requests.get(f"{two_workers.url}/metrics", timeout=10).text)
    sent = 0
    lock = threading.Lock()
    deadline = time.monotonic() + 60

    def hammer() -> None:
        nonlocal sent
        while time.monotonic() < deadline and len(_worker_pids(two_workers.metrics_dir)) < 2:
            for _ in range(10):
                assert requests.get(f"{two_workers.url}/healthz", timeout=10).status_code == 200
                with lock:
                    sent += 1

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    pids = _worker_pids(two_workers.metrics_dir)
    assert len(pids) == 2, f"only worker(s) {pids} answered {sent} requests"
    counts = {_healthz_count(requests.get(f"{two_workers.url}/metrics", timeout=10).text) for _ in range(6)}
    assert counts == {before + sent}, (counts, before, sent)
