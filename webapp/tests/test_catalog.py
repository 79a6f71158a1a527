"""The model-list cache: concurrent callers share one fetch, its answer or its error, and a
failure is not kept (the next caller asks again)."""

from __future__ import annotations

import threading
from typing import Any

from modelserver.client import ModelInfo, Unavailable

from tests.fakes import MODELS
from tests.integration.conftest import wait_until
from webapp.backend import ModelCatalog

CALLERS = 6


class GatedClient:
    """`models()` holds every fetch until released, so the test controls when it answers."""

    def __init__(self, error: Exception | None = None) -> None:
        self.release = threading.Event()
        self.error = error
        self.calls = 0

    def models(self, timeout_ms: float | None = None) -> list[ModelInfo]:
        self.calls += 1
        assert self.release.wait(10)
        if self.error is not None:
            raise self.error
        return list(MODELS)


def _call_concurrently(catalog: ModelCatalog, client: GatedClient) -> list[Any]:
    outcomes: list[Any] = []

    def call() -> None:
        try:
            outcomes.append(catalog.models())
        except Exception as error:
            outcomes.append(error)

    threads = [threading.Thread(target=call) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()

    def followers_waiting() -> bool:  # CPython's Condition keeps its waiters in `_waiters`
        fetching = catalog._fetching
        return fetching is not None and len(fetching._condition._waiters) == CALLERS - 1  # type: ignore[attr-defined]

    wait_until(followers_waiting, 10, "callers waiting on one fetch")
    client.release.set()
    for thread in threads:
        thread.join(10)
    return outcomes


def test_concurrent_callers_share_one_fetch() -> None:
    client = GatedClient()
    catalog = ModelCatalog(client, ttl_s=60, timeout_ms=1000)  # type: ignore[arg-type]
    outcomes = _call_concurrently(catalog, client)
    assert client.calls == 1
    assert all(names == sorted(MODELS, key=lambda m: m.name) for names in outcomes)
    catalog.models()
    assert client.calls == 1  # within the TTL


def test_a_failing_fetch_fails_every_waiting_caller_once_and_is_not_kept() -> None:
    client = GatedClient(error=Unavailable("no model server is reachable"))
    catalog = ModelCatalog(client, ttl_s=60, timeout_ms=1000)  # type: ignore[arg-type]
    outcomes = _call_concurrently(catalog, client)
    assert client.calls == 1, "each waiting caller repeated the failing fetch"
    assert len(outcomes) == CALLERS and all(isinstance(o, Unavailable) for o in outcomes)
    assert len({id(o) for o in outcomes}) == CALLERS  # no exception object shared across threads
    client.error = None
    assert catalog.models() and client.calls == 2
