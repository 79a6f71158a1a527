"""/healthz fails when the I/O thread has died: nothing would be answered any more."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelserver.server import ModelServer
from modelserver.settings import Settings
from tests.conftest import http_status, wait_until


def test_healthz_fails_once_the_io_thread_is_dead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = ModelServer(
        Settings(model_repository=tmp_path, bind="tcp://127.0.0.1:0", http_host="127.0.0.1", http_port=0)
    )

    def crash() -> None:
        raise RuntimeError("a bug outside any one request")

    monkeypatch.setattr(server._io, "_update_idle", crash)
    server._http.start()
    server._frontend.start()  # no models: only the threads /healthz depends on
    try:
        assert http_status(f"http://127.0.0.1:{server.http_port}/healthz") == 200
        server._io.start()
        wait_until(lambda: not server.is_alive(), 5, "the dead I/O thread to be reported")
        assert http_status(f"http://127.0.0.1:{server.http_port}/healthz") == 503
    finally:
        server.stop()
