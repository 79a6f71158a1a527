"""Closing the client, or losing its I/O thread, ends every call at once: none waits for its deadline."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from modelserver.client import ModelClient, ModelServerError, Unavailable
from modelserver.client._engine import Engine
from tests.conftest import free_port

LONG_MS = 30_000  # every call's budget: a call forgotten by the client would wait this long


def _unreachable_client() -> ModelClient:
    """Calls park in the client, waiting for a server that never comes."""
    return ModelClient(
        f"tcp://127.0.0.1:{free_port()}", timeout_ms=LONG_MS, connect_timeout_ms=LONG_MS, reconnect_ivl_ms=50
    )


@pytest.mark.parametrize("attempt", range(10))  # each a fresh race between callers and close()
def test_close_ends_every_call_including_those_being_submitted(attempt: int) -> None:
    del attempt
    client = _unreachable_client()
    ended: list[tuple[float, BaseException]] = []
    lock = threading.Lock()
    started = threading.Barrier(9)

    def caller() -> None:
        started.wait()
        while True:
            try:
                client.predict("m", b"x")
            except ModelServerError as exc:
                with lock:
                    ended.append((time.monotonic(), exc))
                if "closed" in str(exc):
                    return

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    started.wait()
    client.close()
    closed_at = time.monotonic()
    for thread in threads:
        thread.join(timeout=LONG_MS / 1000 + 10)
    assert not any(thread.is_alive() for thread in threads)
    assert ended and all(isinstance(exc, Unavailable) and "closed" in str(exc) for _, exc in ended), ended
    assert max(at for at, _ in ended) - closed_at < 5.0  # at once, not after LONG_MS


def test_a_failed_io_thread_refuses_new_calls_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: Any, now: float) -> None:
        raise RuntimeError("injected: the I/O thread's loop fails")

    monkeypatch.setattr(Engine, "_expire", fail)
    with _unreachable_client() as client:
        for _ in range(3):
            began = time.monotonic()
            with pytest.raises(Unavailable, match="I/O thread failed"):
                client.predict("m", b"x")
            assert time.monotonic() - began < 5.0
