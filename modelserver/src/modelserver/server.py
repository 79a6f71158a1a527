"""Assembles one model-server process: models, pipeline, sockets, HTTP port; start and drain.

Start-up order: HTTP port first (so liveness answers during the minutes a big model may take to
load), then models loaded and warmed, then ready. Drain (SIGTERM): not ready at once, new requests
answered UNAVAILABLE so clients retry elsewhere, everything admitted answered, then exit.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import zmq

from modelserver.metrics import ServerMetrics
from modelserver.protocol import Reply, Status
from modelserver.repository import load_config
from modelserver.repository.manager import ModelManager
from modelserver.runtime import load_runtime
from modelserver.serving import Job, ServedModel
from modelserver.serving.priority import lower_thread_priority
from modelserver.serving.served_model import ServingLimits
from modelserver.settings import Settings
from modelserver.transport import Frontend, IOLoop, ReplyChannel

log = logging.getLogger(__name__)

__all__ = ["ModelServer"]


def _read_labels(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines() if path.is_file() else []


class ModelServer:
    """One server instance; several can live in one process (tests)."""

    def __init__(self, settings: Settings) -> None:
        from modelserver.http import HealthServer

        self.settings = settings
        self.metrics = ServerMetrics()
        self._ready = False
        self._context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        # By default the inference workers decode what they take (see decode_threads).
        self._decode_pool = (
            ThreadPoolExecutor(
                settings.decode_threads,
                thread_name_prefix="decode",
                initializer=lower_thread_priority,  # compute, like the inference workers
                initargs=(settings.inference_nice,),
            )
            if settings.decode_threads
            else None
        )
        self._replies = ReplyChannel(self._context)
        self.manager = ModelManager(
            settings.model_repository, self._load, only=settings.models, poll_s=settings.repository_poll_s
        )
        self.manager.on_change = self._on_model_change
        self._frontend = Frontend(
            self._context,
            settings.bind,
            sndhwm=settings.sndhwm,
            rcvhwm=settings.rcvhwm,
            heartbeat_ivl_ms=settings.heartbeat_ivl_ms,
            heartbeat_timeout_ms=settings.heartbeat_timeout_ms,
            max_message_bytes=settings.max_request_bytes * 4 + 65536,
        )
        self.endpoint = self._frontend.endpoint
        self._io = IOLoop(
            self._context,
            self._frontend.backend_address,
            self._replies,
            self.manager,
            self.metrics,
            max_queue_size=settings.max_queue_size,
            max_request_bytes=settings.max_request_bytes,
            default_timeout_ms=settings.default_timeout_ms,
            is_ready=lambda: self._ready,
        )
        self._http = HealthServer(
            settings.http_host, settings.http_port, self.metrics.registry, self.is_ready, self.is_alive
        )
        self.http_port = self._http.port
        self._stopped = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------------

    def is_ready(self) -> bool:
        return self._ready and not self._io.draining and self.is_alive()

    def is_alive(self) -> bool:
        """False once the proxy or the I/O thread died: nothing would be answered any more."""
        return not self._frontend.failed and not self._io.failed

    def start(self) -> None:
        """Serve: returns once every model is loaded and warmed (ready)."""
        self._http.start()
        self._frontend.start()
        self._io.start()
        started = time.monotonic()
        self.manager.load_all()
        self.manager.start_polling()
        self._ready = True
        self.metrics.ready.set(1)
        log.info(
            "ready in %.1f s: %s",
            time.monotonic() - started,
            ", ".join(f"{m.name} v{m.version} ({m.runtime_name})" for m in self.manager.models()),
        )

    def drain(self, timeout_s: float | None = None) -> bool:
        """Stop taking work, finish what was admitted, stop. True when nothing was cut off."""
        timeout_s = self.settings.drain_timeout_s if timeout_s is None else timeout_s
        self._io.draining = True  # wait_idle waits until the I/O thread has seen this
        self.metrics.ready.set(0)
        log.info("draining: %d requests in flight", self._io.inflight)
        finished = self._io.wait_idle(timeout_s)
        if not finished:
            log.warning(
                "drain timeout of %.1f s passed with %d requests in flight", timeout_s, self._io.inflight
            )
        self.stop()
        return finished

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._ready = False
        self._io.stop()
        self._frontend.stop()
        self.manager.close()
        if self._decode_pool is not None:
            self._decode_pool.shutdown(wait=True)
        self._replies.close()
        self._http.stop()
        self._context.term()
        log.info("stopped")

    # -- wiring ----------------------------------------------------------------------------------

    def _load(self, name: str, version: int, path: Path) -> ServedModel:
        config = load_config(path)
        s = self.settings
        limits = ServingLimits(
            inference_threads=s.inference_threads,
            max_batch_size=s.max_batch_size or config.batching.max_batch_size,
            max_batch_delay_s=(
                s.max_batch_delay_ms
                if s.max_batch_delay_ms is not None
                else config.batching.max_batch_delay_ms
            )
            / 1000.0,
            max_image_pixels=s.max_image_pixels,
            inference_nice=s.inference_nice,
        )
        runtime = load_runtime(config, path, s.intra_op_threads, s.lone_request_threads)
        model = ServedModel(
            config,
            version,
            path,
            runtime,
            _read_labels(path / config.labels),
            limits,
            self._decode_pool,
            self._send_reply,
            self.metrics,
            release_replies=self._replies.release,
        )
        model.start()
        return model

    def _on_model_change(self, new: ServedModel, old: ServedModel | None) -> None:
        if old is not None:
            self.metrics.model_info.remove(old.name, str(old.version), old.runtime_name)
        self.metrics.model_info.labels(new.name, str(new.version), new.runtime_name).set(1)

    def _send_reply(self, job: Job, reply: Reply, model: str) -> None:
        elapsed = time.monotonic() - job.received
        self.metrics.requests.labels(model, reply.status.value).inc()
        self.metrics.request_duration.labels(model).observe(elapsed)
        # One line per request: errors at INFO; successes only at DEBUG, since formatting and
        # writing a line per answer costs about half a millisecond of latency on a small machine.
        level = logging.DEBUG if reply.status is Status.OK else logging.INFO
        if log.isEnabledFor(level):
            log.log(
                level,
                "request %s model=%s status=%s total_ms=%.2f%s",
                job.id,
                model,
                reply.status.value,
                elapsed * 1000.0,
                f": {reply.message}" if reply.message else "",
            )
        self._replies.send(job.envelope, reply)
