"""The I/O thread: admits requests from the backend and forwards replies from the workers.

Everything that can be decided without decoding is decided here, at once: malformed headers,
unknown models, oversized payloads, expired budgets, a full queue (OVERLOADED) and draining
(UNAVAILABLE). Admitted requests go to the model's pipeline; the in-flight count is kept only on
this thread, so admission control needs no lock. A failure while admitting one request or
forwarding one reply costs that request, never the thread; if the thread dies anyway, `failed`
says so (/healthz). The `model` label of the request counter is a served model's name or
UNKNOWN_MODEL: clients choose names, and every distinct label value is a series kept forever.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import zmq

from modelserver.errors import (
    DeadlineExceeded,
    ModelNotFound,
    Overloaded,
    ServerError,
    TooLarge,
    Unavailable,
)
from modelserver.metrics import ServerMetrics
from modelserver.protocol import (
    ProtocolError,
    Reply,
    Request,
    Status,
    decode_request,
    encode_reply,
    request_id_of,
)
from modelserver.repository.manager import ModelManager
from modelserver.serving.job import Buffer, Job
from modelserver.serving.served_model import ServedModel
from modelserver.transport.replies import ReplyChannel

log = logging.getLogger(__name__)

POLL_MS = 100
UNKNOWN_MODEL = "<unknown>"  # metric label for any model name that is not served


def _split_envelope(frames: list[zmq.Frame]) -> tuple[list[Buffer], list[zmq.Frame]]:
    """Routing frames up to the empty delimiter, and the message after it."""
    for i, frame in enumerate(frames):
        if len(frame) == 0:
            return [f.buffer for f in frames[: i + 1]], frames[i + 1 :]
    return [f.buffer for f in frames[:1]], frames[1:]


class IOLoop:
    """Owns the intake DEALER socket; runs on one thread until stopped."""

    def __init__(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        backend_address: str,
        replies: ReplyChannel,
        manager: ModelManager,
        metrics: ServerMetrics,
        *,
        max_queue_size: int,
        max_request_bytes: int,
        default_timeout_ms: float,
        is_ready: Callable[[], bool],
    ) -> None:
        self._intake = context.socket(zmq.DEALER)
        self._intake.setsockopt(zmq.LINGER, 1000)
        self._intake.setsockopt(zmq.SNDHWM, 0)
        self._intake.connect(backend_address)
        self._replies = replies
        self._manager = manager
        self._metrics = metrics
        self._max_queue_size = max_queue_size
        self._max_request_bytes = max_request_bytes
        self._default_timeout_s = default_timeout_ms / 1000.0
        self._is_ready = is_ready
        self.inflight = 0
        self.draining = False
        self.failed = False  # the loop ended without being asked to: /healthz reports it
        self._stop = threading.Event()
        self._drain_seen = threading.Event()  # set by the loop once it refuses new work
        self._idle = threading.Event()
        self._service_ewma_s = 0.005  # smoothed time between replies: how fast the queue drains
        self._last_reply = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="zmq-io", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing is in flight (used once `draining` is set).

        First the loop must have seen `draining` at the top of an iteration: a request it was
        admitting when `draining` was set is then counted in flight, so idle means answered.
        """
        deadline = time.monotonic() + timeout_s
        if not self._drain_seen.wait(timeout_s):
            return False
        return self._idle.wait(max(0.0, deadline - time.monotonic())) and not self.failed

    # -- loop ------------------------------------------------------------------------------------

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self._intake, zmq.POLLIN)
        poller.register(self._replies.pull, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                if self.draining:
                    self._drain_seen.set()  # every admission from here on sees it
                for socket, _ in poller.poll(POLL_MS):
                    if socket is self._replies.pull:
                        self._forward_replies()
                    else:
                        self._admit_all()
                self._update_idle()
            self._forward_replies()  # flush what finished during the last poll
        except Exception:
            log.exception("the I/O thread failed; this server can no longer answer")
        finally:
            self.failed = not self._stop.is_set()
            self._drain_seen.set()  # wake a drain waiting for this loop; `failed` tells it why
            self._intake.close()

    def _update_idle(self) -> None:
        if self.inflight == 0:
            self._idle.set()
        else:
            self._idle.clear()

    def _forward_replies(self) -> None:
        pull = self._replies.pull
        while True:
            try:
                frames = pull.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            try:
                self._intake.send_multipart(frames, copy=False)
            except Exception:  # the reply is lost, but it must still free its admission slot
                log.exception("forwarding a reply failed; it is dropped")
            now = time.monotonic()
            self._service_ewma_s += 0.05 * (min(now - self._last_reply, 1.0) - self._service_ewma_s)
            self._last_reply = now
            self.inflight -= 1
            self._metrics.inflight.set(self.inflight)
        self._update_idle()

    def _admit_all(self) -> None:
        while True:
            try:
                frames = self._intake.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            self._admit_guarded(frames)

    def _admit_guarded(self, frames: list[zmq.Frame]) -> None:
        """Admit one request; a bug on the way costs that request an INTERNAL reply, not the thread."""
        try:
            self._admit(frames)
        except Exception as exc:
            log.exception("admitting a request failed")
            try:
                envelope, message = _split_envelope(frames)
                rid = request_id_of([message[0].bytes]) if message else ""
                error = f"the server failed to admit the request: {type(exc).__name__}"
                self._reply_now(envelope, Reply(rid, Status.INTERNAL, error))
            except Exception:
                log.exception("the INTERNAL reply could not be sent either")

    def _reply_now(self, envelope: Sequence[Buffer], reply: Reply, label: str = "") -> None:
        """Send `reply`; counted under the model `label` if given (see _model_label)."""
        self._intake.send_multipart([*envelope, *encode_reply(reply)], copy=False)
        if label:
            self._metrics.requests.labels(label, reply.status.value).inc()

    def _model_label(self, name: str) -> str:
        """`name` if that model is served, else UNKNOWN_MODEL (metric series must stay bounded)."""
        try:
            self._manager.get(name)
        except ServerError:
            return UNKNOWN_MODEL
        return name

    def _error(
        self, envelope: Sequence[Buffer], request_id: str, error: ServerError, label: str = ""
    ) -> None:
        log.info(
            "request %s model=%s status=%s: %s", request_id, label or "-", error.status.value, error.message
        )
        self._reply_now(envelope, Reply(request_id, error.status, error.message, error.reply_fields()), label)

    def _admit(self, frames: list[zmq.Frame]) -> None:
        received = time.monotonic()
        envelope, message = _split_envelope(frames)
        payload_bytes = sum(len(f) for f in message[1:])
        if payload_bytes > self._max_request_bytes:
            self._error(
                envelope,
                request_id_of([message[0].bytes] if message else []),
                TooLarge(
                    f"payload of {payload_bytes} bytes exceeds the limit of {self._max_request_bytes} bytes"
                ),
            )
            return
        try:
            request = decode_request([message[0].bytes, *(f.buffer for f in message[1:])] if message else [])
        except ProtocolError as exc:
            rid = request_id_of([message[0].bytes]) if message else ""
            self._reply_now(envelope, Reply(rid, Status.INVALID_INPUT, str(exc)))
            return
        if request.op == "ping":
            self._reply_now(
                envelope, Reply(request.id, Status.OK, body={"ready": self._is_ready() and not self.draining})
            )
        elif request.op == "models":
            self._reply_now(envelope, Reply(request.id, Status.OK, body={"models": self._model_list()}))
        else:
            self._admit_infer(envelope, request, received)

    def _model_list(self) -> list[dict[str, Any]]:
        listed = []
        for model in self._manager.models():
            info = model.info()
            info["versions"] = self._manager.versions_on_disk(model.name) or [model.version]
            listed.append(info)
        return listed

    def _admit_infer(self, envelope: list[Buffer], request: Request, received: float) -> None:
        infer = request.infer
        assert infer is not None
        model_name = infer.model
        if self.draining:
            self._error(
                envelope,
                request.id,
                Unavailable("server is shutting down; retry on another"),
                self._model_label(model_name),
            )
            return
        try:
            model = self._manager.get(model_name, infer.version)
        except ServerError as not_found:
            loading = Unavailable("models are still loading")
            error = not_found if self._is_ready() else loading
            self._error(envelope, request.id, error, self._model_label(model_name))
            return
        # From here on `model_name` is served, so it is its own metric label (no second lookup).
        timeout_s = self._default_timeout_s if request.timeout_ms is None else request.timeout_ms / 1000.0
        if timeout_s <= 0:
            self._error(
                envelope,
                request.id,
                DeadlineExceeded("the time budget ran out before the request arrived"),
                model_name,
            )
            return
        if self.inflight >= self._max_queue_size:
            retry_ms = max(5, min(1000, int(self._service_ewma_s * self.inflight * 1000)))
            self._error(
                envelope,
                request.id,
                Overloaded(f"{self.inflight} requests queued, the limit is {self._max_queue_size}", retry_ms),
                model_name,
            )
            return
        job = Job(
            id=request.id,
            envelope=envelope,
            infer=infer,
            payload=request.payload[0],
            received=received,
            deadline=received + timeout_s,
        )
        self._metrics.queue_depth.inc()
        refused = self._submit(model, job)
        if refused is not None:
            self._metrics.queue_depth.dec()
            self._error(envelope, request.id, refused, model_name)
            return
        # Counted after the hand-over is safe: replies are forwarded (and counted off) on this thread.
        self.inflight += 1
        self._metrics.inflight.set(self.inflight)
        self._idle.clear()

    def _submit(self, model: ServedModel, job: Job) -> ServerError | None:
        """Hand `job` to `model`, or to its successor if a swap retired it just now; else the error."""
        if model.submit(job):
            return None
        name, version = job.infer.model, job.infer.version
        if version is not None:  # that exact version was asked for: no other may answer
            return ModelNotFound(f"model {name!r} version {version} is no longer served")
        try:
            successor = self._manager.get(name)
        except ServerError as error:
            return error
        if successor is not model and successor.submit(job):
            return None
        return Unavailable(f"model {name!r} is being replaced; retry")
