"""The web tier's one way to the model servers: a `ModelClient` per process and a model-list cache.

Why a protocol: the app depends on what the client does, not on ZeroMQ, so unit tests can hand
`create_app` a small fake while integration tests use the real client against a real server. Why a
cache: the page, `/api/v1/models` and the v2 metadata endpoints all want the model list, which
changes only when a model version is deployed; asking a model server on every page view would
put a ZeroMQ round trip on a path that needs none.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Protocol

import numpy as np
import numpy.typing as npt
from modelserver.client import ModelInfo, ModelNotFound, Prediction

from webapp.settings import Settings

__all__ = ["InferenceClient", "ModelCatalog", "make_client"]


class InferenceClient(Protocol):
    """What the web app uses of `modelserver.client.ModelClient`."""

    def predict(
        self,
        model: str,
        image: bytes,
        *,
        top_k: int = 5,
        version: int | None = None,
        timeout_ms: float | None = None,
        scores: bool = False,
    ) -> Prediction: ...

    def predict_tensor(
        self,
        model: str,
        array: npt.NDArray[np.float32] | npt.NDArray[np.uint8],
        *,
        top_k: int = 5,
        version: int | None = None,
        timeout_ms: float | None = None,
        scores: bool = False,
    ) -> Prediction: ...

    def models(self, timeout_ms: float | None = None) -> list[ModelInfo]: ...

    def ready(self, timeout_ms: float | None = None) -> bool: ...

    def reject_if_saturated(self) -> None: ...

    def close(self) -> None: ...


def make_client(settings: Settings) -> InferenceClient:
    """The real client. It opens no socket until first used, so it is safe to build before fork."""
    from modelserver.client import ModelClient

    endpoints: str | list[str] = (
        settings.endpoints[0] if len(settings.endpoints) == 1 else list(settings.endpoints)
    )
    client: InferenceClient = ModelClient(
        endpoints=endpoints,
        timeout_ms=settings.request_timeout_ms,
        resolve_interval_s=settings.resolve_interval_s,
    )
    return client


class ModelCatalog:
    """The model list, fetched at most once per `ttl_s`; concurrent callers share one fetch."""

    def __init__(
        self,
        client: InferenceClient,
        *,
        ttl_s: float,
        timeout_ms: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._timeout_ms = timeout_ms
        self._clock = clock
        self._lock = threading.Lock()
        self._models: list[ModelInfo] | None = None
        self._fetched_at = 0.0
        self._fetching: Future[list[ModelInfo]] | None = None

    def models(self) -> list[ModelInfo]:
        """Every served model; raises the client's errors (Unavailable…) when none can be asked.

        One caller fetches while the others wait for its answer, success or error. (Fetching
        under the lock instead would make each waiting caller repeat a failing fetch in turn: with
        the model servers down, the 32nd of 32 callers would wait 32 fetch timeouts.)
        """
        with self._lock:
            if self._models is not None and self._clock() - self._fetched_at < self._ttl_s:
                return self._models
            fetching, leader = self._fetching, self._fetching is None
            if fetching is None:
                fetching = self._fetching = Future()
        if not leader:
            try:
                return fetching.result()  # bounded by the leader's own timeout_ms
            except Exception as error:
                raise copy.copy(error) from None  # each caller its own exception object
        try:
            models = sorted(self._client.models(timeout_ms=self._timeout_ms), key=lambda m: m.name)
        except BaseException as error:
            with self._lock:
                self._fetching = None
            fetching.set_exception(error)
            raise
        with self._lock:
            self._models, self._fetched_at, self._fetching = models, self._clock(), None
        fetching.set_result(models)
        return models

    def get(self, name: str, version: int | None = None) -> ModelInfo:
        """One model by name (and version); `ModelNotFound` when it is not served."""
        for info in self.models():
            if info.name == name and (version is None or version in info.versions):
                return info
        what = name if version is None else f"{name} version {version}"
        raise ModelNotFound(f"No model named {what!r} is served.")

    def names(self) -> Sequence[str]:
        return [info.name for info in self.models()]
