"""Inference workers, and the threads their runtime sessions start, run at a higher nice value."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from modelserver.builder.configs import EFFICIENTNET_LITE0
from modelserver.metrics import ServerMetrics
from modelserver.protocol import Reply
from modelserver.runtime.base import FloatArray
from modelserver.serving.job import Job
from modelserver.serving.priority import MAX_NICE, lower_thread_priority
from modelserver.serving.served_model import ServedModel, ServingLimits


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


class RecordingSession:
    def run(self, batch: FloatArray, lone: bool = False) -> FloatArray:
        return np.zeros((batch.shape[0], 1000), dtype=np.float32)


class PoolStartingRuntime:
    """Records the nice value of the thread creating a session and of a thread it starts (as
    XNNPACK starts its pool threads when an interpreter is built)."""

    name = "fake"

    def __init__(self) -> None:
        self.worker_nice: list[int] = []
        self.pool_nice: list[int] = []

    def session(self) -> RecordingSession:
        self.worker_nice.append(_nice())
        pool = threading.Thread(target=lambda: self.pool_nice.append(_nice()))
        pool.start()
        pool.join()
        return RecordingSession()


def _no_reply(job: Job, reply: Reply, model: str) -> None:
    raise AssertionError("nothing is submitted in this test")


def _serve(runtime: PoolStartingRuntime, nice: int) -> None:
    limits = ServingLimits(
        inference_threads=2,
        max_batch_size=4,
        max_batch_delay_s=0.0,
        max_image_pixels=10**6,
        inference_nice=nice,
    )
    model = ServedModel(
        EFFICIENTNET_LITE0, 1, Path("unused"), runtime, [], limits, None, _no_reply, ServerMetrics()
    )
    model.start(timeout_s=30)
    model.close()


@pytest.mark.parametrize("increment", [0, 7])
def test_workers_and_the_threads_they_start_run_at_the_raised_nice_value(increment: int) -> None:
    expected = min(MAX_NICE, _nice() + increment)
    runtime = PoolStartingRuntime()
    _serve(runtime, increment)
    assert runtime.worker_nice == [expected, expected]
    assert runtime.pool_nice == [expected, expected]


def test_the_nice_value_is_capped_at_19_and_the_caller_is_told() -> None:
    seen: list[int | None] = []

    def lower_twice() -> None:
        seen.append(lower_thread_priority(15))
        seen.append(lower_thread_priority(15))
        seen.append(lower_thread_priority(0))

    thread = threading.Thread(target=lower_twice)
    thread.start()
    thread.join()
    assert seen[1:] == [MAX_NICE, None]
    assert seen[0] is not None and seen[0] <= MAX_NICE


def test_the_calling_thread_alone_is_changed() -> None:
    before = _nice()
    thread = threading.Thread(target=lower_thread_priority, args=(5,))
    thread.start()
    thread.join()
    assert _nice() == before
