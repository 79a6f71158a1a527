"""ModelClient: the public, thread-safe face of the client (see the package docstring)."""

from __future__ import annotations

import itertools
import operator
import os
import secrets
import threading
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import SupportsIndex

import numpy as np
import numpy.typing as npt

from modelserver.client._endpoint import Call, SocketOptions
from modelserver.client._engine import Engine
from modelserver.client._resolver import parse_endpoints
from modelserver.client._types import (
    DeadlineExceeded,
    InvalidInput,
    ModelInfo,
    Prediction,
    Unavailable,
    error_for,
    model_info_from,
    prediction_from,
)
from modelserver.protocol import (
    ImageInput,
    InferRequest,
    Reply,
    Request,
    Status,
    TensorInput,
)

# Time the caller waits beyond the deadline for the I/O thread's own timeout verdict.
_GRACE_S = 1.0

# Every live client, so that a forked child can drop the parent's engine and lock before any
# of its code runs; weak, so that clients can still be garbage collected.
_clients: weakref.WeakSet[ModelClient] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for client in list(_clients):
        client._reset_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _integer(name: str, value: object) -> int:
    """`value` as a plain int (numpy integers included): json.dumps takes nothing else."""
    if isinstance(value, bool) or not isinstance(value, SupportsIndex):
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}")
    return operator.index(value)


def _image_frame(image: object) -> bytes | memoryview:
    """A frame the I/O thread can send as is: bytes or a C-contiguous buffer (else a copy)."""
    if isinstance(image, bytes):
        return image
    try:
        view = memoryview(image)  # type: ignore[arg-type]  # anything with the buffer protocol
    except TypeError:
        raise TypeError(f"image must be bytes or a buffer, not {type(image).__name__}") from None
    return view if view.c_contiguous else view.tobytes()


def _infer_request(
    model: object, spec: ImageInput | TensorInput, top_k: object, version: object, scores: object
) -> InferRequest:
    """Check and convert the arguments here, on the caller's thread, where a bad one is the
    caller's error; on the I/O thread it would fail a call nobody can attribute."""
    if not isinstance(model, str):
        raise TypeError(f"model must be a str, not {type(model).__name__}")
    try:  # the one thing the header's JSON cannot carry once the types are right
        model.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"the model name is not valid Unicode text: {exc}") from None
    return InferRequest(
        model=model,
        input=spec,
        version=None if version is None else _integer("version", version),
        top_k=_integer("top_k", top_k),
        scores=bool(scores),
    )


class ModelClient:
    """Calls model servers over ZeroMQ from any number of threads (and after fork)."""

    def __init__(
        self,
        endpoints: str | Sequence[str],
        *,
        timeout_ms: float = 10_000.0,
        resolve_interval_s: float = 5.0,
        connect_timeout_ms: float = 2_000.0,
        heartbeat_ivl_ms: int = 1000,
        heartbeat_timeout_ms: int = 3000,
        reconnect_ivl_ms: int = 100,
        reconnect_ivl_max_ms: int = 2000,
        max_outstanding: int = 10_000,
    ) -> None:
        self._specs = parse_endpoints(endpoints)
        self.timeout_ms = timeout_ms
        self._resolve_interval_s = resolve_interval_s
        self._connect_timeout_s = connect_timeout_ms / 1000.0
        self._max_outstanding = max_outstanding
        self._options = SocketOptions(
            heartbeat_ivl_ms,
            heartbeat_timeout_ms,
            reconnect_ivl_ms,
            reconnect_ivl_max_ms,
            sndhwm=max_outstanding,
        )
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._pid = os.getpid()
        self._ids = itertools.count()
        self._prefix = secrets.token_hex(4)
        self._closed = False
        _clients.add(self)

    # -- plumbing --------------------------------------------------------------------------------

    def _reset_after_fork(self) -> None:
        """In a forked child, before anything else runs: the parent's I/O thread did not come
        along, and its lock may have been held by a parent thread that did not either."""
        self._lock = threading.Lock()
        self._engine = None
        self._pid = os.getpid()
        self._prefix = secrets.token_hex(4)

    def _get_engine(self) -> Engine:
        engine = self._engine
        if engine is not None and self._pid == os.getpid():
            return engine
        with self._lock:
            if self._closed:
                raise Unavailable("client is closed")
            if self._pid != os.getpid():  # forked without the at-fork hook (fork from C)
                self._engine, self._pid = None, os.getpid()
                self._prefix = secrets.token_hex(4)
            if self._engine is None:  # quick: names are resolved on the resolver's thread
                self._engine = Engine(
                    self._specs,
                    resolve_interval_s=self._resolve_interval_s,
                    connect_timeout_s=self._connect_timeout_s,
                    max_outstanding=self._max_outstanding,
                    options=self._options,
                )
            return self._engine

    def _new_id(self) -> str:
        return f"{self._prefix}-{os.getpid():x}-{next(self._ids):x}"

    def _call(self, request: Request, timeout_ms: float | None, pinned: str | None = None) -> Reply:
        budget_s = (self.timeout_ms if timeout_ms is None else timeout_ms) / 1000.0
        engine = self._get_engine()
        future: Future[Reply] = Future()
        engine.submit(
            Call(request=request, deadline=time.monotonic() + budget_s, future=future, pinned=pinned)
        )
        try:
            reply = future.result(timeout=budget_s + _GRACE_S)
        except FutureTimeout:
            raise DeadlineExceeded("no answer within the deadline") from None
        if reply.status is not Status.OK:
            raise error_for(reply)
        return reply

    # -- API -------------------------------------------------------------------------------------

    def predict(
        self,
        model: str,
        image: bytes | memoryview,
        *,
        top_k: int = 5,
        version: int | None = None,
        timeout_ms: float | None = None,
        scores: bool = False,
    ) -> Prediction:
        """Classify one encoded image (JPEG, PNG, WebP, GIF, BMP)."""
        infer = _infer_request(model, ImageInput(), top_k, version, scores)
        request = Request(id=self._new_id(), op="infer", infer=infer, payload=[_image_frame(image)])
        return prediction_from(self._call(request, timeout_ms))

    def predict_tensor(
        self,
        model: str,
        array: npt.NDArray[np.float32] | npt.NDArray[np.uint8],
        *,
        top_k: int = 5,
        version: int | None = None,
        timeout_ms: float | None = None,
        scores: bool = False,
    ) -> Prediction:
        """Classify one tensor in the model's input shape (float32 preprocessed, or uint8 pixels)."""
        dtype = "uint8" if array.dtype == np.uint8 else "float32"
        data = np.ascontiguousarray(array, dtype="<f4" if dtype == "float32" else np.uint8)
        spec = TensorInput(dtype=dtype, shape=tuple(int(d) for d in data.shape))
        infer = _infer_request(model, spec, top_k, version, scores)
        request = Request(id=self._new_id(), op="infer", infer=infer, payload=[data.tobytes()])
        return prediction_from(self._call(request, timeout_ms))

    def models(self, timeout_ms: float | None = None) -> list[ModelInfo]:
        """What the least busy server serves."""
        reply = self._call(Request(id=self._new_id(), op="models"), timeout_ms)
        return [model_info_from(entry) for entry in reply.body.get("models", [])]

    def reject_if_saturated(self) -> None:
        """Raise Overloaded at once if every server answered OVERLOADED and has not caught up since.

        For a front end that would otherwise read and parse an upload only to be refused by
        the server: under overload the refusal then costs nothing but this check.
        """
        engine = self._engine
        if engine is None or self._pid != os.getpid():
            return
        error = engine.saturation_error(time.monotonic())
        if error is not None:
            raise error

    def ready(self, timeout_ms: float | None = 1000.0) -> bool:
        """True when at least one connected model server says it is ready."""
        engine = self._get_engine()
        deadline = time.monotonic() + (timeout_ms or 1000.0) / 1000.0
        if not engine.wait_connected(max(0.0, deadline - time.monotonic())):
            return False
        for address in engine.connected_addresses():
            remaining = max(1.0, (deadline - time.monotonic()) * 1000.0)
            try:
                reply = self._call(Request(id=self._new_id(), op="ping"), remaining, pinned=address)
            except Exception:
                continue
            if reply.body.get("ready"):
                return True
        return False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            engine, self._engine = self._engine, None
        if engine is not None and self._pid == os.getpid():
            engine.close()

    def __enter__(self) -> ModelClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
