"""One model version being served: its decode step, batcher, and inference worker threads.

Each inference worker owns a runtime session (LiteRT interpreters are per thread), takes batches
by the batcher's rule, decodes them and runs them: with about one worker per core, one worker
decodes while another infers, and no more compute threads are runnable than there are cores.
(With a decode pool configured, jobs are decoded there before they are batched instead.)
A request whose deadline passed while it queued is answered DEADLINE_EXCEEDED and never computed.
Whatever fails while a batch is handled, every job of it is answered (INTERNAL if nothing else) and
the worker goes on: a lost job would hold one of the I/O thread's admission slots for good.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from modelserver.batching import Batcher, bucket_chunks
from modelserver.errors import DeadlineExceeded, InternalError, ServerError
from modelserver.metrics import ServerMetrics
from modelserver.protocol import Reply
from modelserver.repository.config import ModelConfig
from modelserver.runtime import RuntimeFactory, Session
from modelserver.serving.job import Answer, Job, ReplySink, error_reply, ok_reply
from modelserver.serving.preprocess import prepare_input
from modelserver.serving.priority import lower_thread_priority

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class ServingLimits:
    """Per-process knobs a served model needs from the settings."""

    inference_threads: int
    max_batch_size: int
    max_batch_delay_s: float
    max_image_pixels: int
    inference_nice: int = 0


def _no_release() -> None:
    pass


class _Answered:
    """Which jobs of the batch being handled have been answered, so a failure answers the rest."""

    def __init__(self) -> None:
        self._ids: set[int] = set()

    def add(self, job: Job) -> None:
        self._ids.add(id(job))

    def missing(self, jobs: Iterable[Job]) -> list[Job]:
        return [job for job in jobs if id(job) not in self._ids]


def _softmax(logits: FloatArray) -> FloatArray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    result: FloatArray = exp / exp.sum(axis=-1, keepdims=True)
    return result


class ServedModel:
    """A loaded, warmed model version accepting jobs until closed."""

    def __init__(
        self,
        config: ModelConfig,
        version: int,
        version_dir: Path,
        runtime: RuntimeFactory,
        labels: list[str],
        limits: ServingLimits,
        decode_pool: Executor | None,
        reply: ReplySink,
        metrics: ServerMetrics,
        release_replies: Callable[[], None] = _no_release,
    ) -> None:
        """`release_replies` runs on each worker thread as it ends (frees its reply socket)."""
        self.config = config
        self.name = config.name
        self.version = version
        self.version_dir = version_dir
        self.runtime_name = runtime.name
        self.labels = labels
        self._limits = limits
        self._decode_pool = decode_pool
        self._reply = reply
        self._release_replies = release_replies
        self._metrics = metrics
        # Children bound once: a labels() lookup takes a lock on every observation otherwise.
        self._decode_seconds = metrics.decode_duration.labels(config.name)
        self._inference_seconds = metrics.inference_duration.labels(config.name)
        self._batch_sizes = metrics.batch_size.labels(config.name)
        self._queue_wait_seconds = metrics.queue_wait.labels(config.name)
        self.max_batch_size = min(limits.max_batch_size, config.batching.buckets[-1])
        self._buckets = config.batching.buckets
        self._batcher: Batcher[Job] = Batcher(
            self.max_batch_size, limits.max_batch_delay_s, workers=limits.inference_threads
        )
        self._runtime = runtime
        self._warm = threading.Barrier(limits.inference_threads + 1)
        self._startup_errors: list[BaseException] = []
        self._pending = 0  # submitted to the decode pool, not yet in the batcher or answered
        self._closing = False
        self._pending_cond = threading.Condition()
        self._workers = [
            threading.Thread(target=self._work, name=f"infer-{self.name}-v{version}-{i}", daemon=True)
            for i in range(limits.inference_threads)
        ]

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, timeout_s: float = 600.0) -> None:
        """Start the workers and wait until every one has warmed every bucket."""
        for worker in self._workers:
            worker.start()
        try:
            self._warm.wait(timeout_s)
        except threading.BrokenBarrierError:
            raise RuntimeError(
                f"{self.name} v{self.version} failed to warm up: {self._startup_errors}"
            ) from None
        if self._startup_errors:
            raise RuntimeError(f"{self.name} v{self.version} failed to warm up: {self._startup_errors[0]}")

    def close(self, wait: bool = True) -> None:
        """Accept nothing more; everything already submitted is answered, then workers stop."""
        with self._pending_cond:
            self._closing = True
            self._pending_cond.wait_for(lambda: self._pending == 0)
        self._batcher.close()
        if wait:
            for worker in self._workers:
                worker.join()

    # -- stages --------------------------------------------------------------------------------

    def submit(self, job: Job) -> bool:
        """Queue for batching (decoding first on the pool, if any); False once this version is retiring."""
        with self._pending_cond:
            if self._closing:
                return False
            if self._decode_pool is None:
                self._batcher.put(job)  # the batcher is closed only after _closing is set
                return True
            self._pending += 1
        self._decode_pool.submit(self._decode_then_batch, job)
        return True

    def _decode_then_batch(self, job: Job) -> None:
        try:
            if self._decode(job, queued=True):
                self._batcher.put(job)  # never closed while this job is pending (see close)
        finally:
            with self._pending_cond:
                self._pending -= 1
                self._pending_cond.notify_all()

    def _decode(self, job: Job, *, queued: bool, answered: _Answered | None = None) -> bool:
        """Set job.tensor, or answer the job with the error and return False.

        `queued`: the job still counts in the queue-depth gauge (decoded before it was batched).
        """
        job.decode_started = time.monotonic()
        try:
            if job.expired(job.decode_started):
                raise DeadlineExceeded("the time budget ran out while the request waited to be decoded")
            job.tensor = prepare_input(
                job.infer.input, job.payload, self.config, self._limits.max_image_pixels
            )
        except ServerError as error:
            self._fail(job, error, queued=queued, answered=answered)
            return False
        except Exception as exc:  # a decoder bug must not lose the request
            log.exception("request %s: preprocessing failed", job.id)
            internal = InternalError(f"preprocessing failed: {type(exc).__name__}")
            self._fail(job, internal, queued=queued, answered=answered)
            return False
        job.ready = time.monotonic()
        self._decode_seconds.observe(job.ready - job.decode_started)
        return True

    def _fail(self, job: Job, error: ServerError, *, queued: bool, answered: _Answered | None = None) -> None:
        if queued:
            self._metrics.queue_depth.dec()
        self._answer(job, error_reply(job.id, error), answered)

    def _answer(self, job: Job, reply: Reply, answered: _Answered | None) -> None:
        """Send `reply`; only once it is sent does the job count as answered."""
        self._reply(job, reply, self.name)
        if answered is not None:
            answered.add(job)

    def _answer_rest(self, jobs: list[Job], answered: _Answered, exc: Exception) -> None:
        """After a failure, answer INTERNAL every job of the batch that has no answer yet."""
        error = InternalError(f"the batch failed: {type(exc).__name__}: {exc}")
        for job in answered.missing(jobs):
            try:
                self._answer(job, error_reply(job.id, error), answered)
            except Exception:
                log.exception("request %s: the error reply could not be sent either", job.id)

    def _work(self) -> None:
        try:
            self._serve()
        finally:
            self._release_replies()

    def _serve(self) -> None:
        try:
            lower_thread_priority(self._limits.inference_nice)  # before the session starts its threads
            session = self._runtime.session()
            self._warm_up(session)
        except BaseException as exc:
            log.exception("%s v%d: worker failed to start", self.name, self.version)
            self._startup_errors.append(exc)
            self._warm.abort()
            return
        try:
            self._warm.wait()
        except threading.BrokenBarrierError:
            return  # another worker failed; start() reports it
        run = self._make_runner(session)
        while (batch := self._batcher.next_batch()) is not None:
            jobs = [job for _, job in batch]
            answered = _Answered()
            try:
                run(jobs, answered)
            except Exception as exc:  # answering the batch failed; the worker must go on
                log.exception("%s v%d: a batch of %d failed", self.name, self.version, len(jobs))
                self._answer_rest(jobs, answered, exc)
            finally:
                self._batcher.done()

    def _warm_up(self, session: Session) -> None:
        shape = self.config.input.shape
        for size in self._buckets:
            session.run(np.zeros((size, *shape), dtype=np.float32))
        # A lone request runs as the smallest bucket (see bucket_chunks), on the lone interpreter.
        session.run(np.zeros((self._buckets[0], *shape), dtype=np.float32), lone=True)

    def _make_runner(self, session: Session) -> Callable[[list[Job], _Answered], None]:
        shape = self.config.input.shape
        buffers = {size: np.zeros((size, *shape), dtype=np.float32) for size in self._buckets}
        metrics = self._metrics
        buckets = self._buckets

        def infer(jobs: list[Job]) -> FloatArray:
            # Alone in the server: nothing else queued or computing, so the idle cores may help.
            lone = len(jobs) == 1 and self._batcher.alone()
            outputs = []
            start = 0
            for size in bucket_chunks(len(jobs), buckets):
                chunk = jobs[start : start + size]
                batch = buffers[size]
                for i, job in enumerate(chunk):
                    batch[i] = job.tensor
                outputs.append(session.run(batch, lone=lone)[: len(chunk)])
                start += size
            return outputs[0] if len(outputs) == 1 else np.concatenate(outputs)

        def run(jobs: list[Job], answered: _Answered) -> None:
            metrics.queue_depth.dec(len(jobs))
            if self._decode_pool is None:
                jobs = [job for job in jobs if self._decode(job, queued=False, answered=answered)]
            taken = time.monotonic()
            live = []
            for job in jobs:
                if job.expired(taken):
                    self._answer(
                        job,
                        error_reply(
                            job.id,
                            DeadlineExceeded(
                                "the time budget ran out while the request waited for inference"
                            ),
                        ),
                        answered,
                    )
                else:
                    live.append(job)
            if not live:
                return
            started = time.monotonic()
            try:
                output = infer(live)
            except Exception as exc:
                log.exception("%s v%d: inference failed", self.name, self.version)
                for job in live:
                    self._answer(
                        job, error_reply(job.id, InternalError(f"inference failed: {exc}")), answered
                    )
                return
            done = time.monotonic()
            scores = _softmax(output) if self.config.output == "logits" else output
            self._inference_seconds.observe(done - started)
            self._batch_sizes.observe(len(live))
            for i, job in enumerate(live):
                waited = (job.decode_started - job.received) + (started - job.ready)
                self._queue_wait_seconds.observe(waited)
                timings = {
                    "queue": round((job.decode_started - job.received) * 1000.0, 3),
                    "decode": round((job.ready - job.decode_started) * 1000.0, 3),
                    "batch_wait": round((started - job.ready) * 1000.0, 3),
                    "inference": round((done - started) * 1000.0, 3),
                    "total": round((time.monotonic() - job.received) * 1000.0, 3),
                    "batch_size": float(len(live)),
                }
                reply = ok_reply(job, self.name, self.version, self.labels, Answer(scores[i], timings))
                self._answer(job, reply, answered)

        return run

    def info(self) -> dict[str, object]:
        """This version as the `models` op lists it."""
        cfg = self.config.input
        return {
            "name": self.name,
            "version": self.version,
            "runtime": self.runtime_name,
            "input": {
                "height": cfg.height,
                "width": cfg.width,
                "channels": cfg.channels,
                "dtype": cfg.dtype,
                "color_mode": cfg.color_mode,
            },
            "labels": len(self.labels),
            "max_batch_size": self.max_batch_size,
        }
