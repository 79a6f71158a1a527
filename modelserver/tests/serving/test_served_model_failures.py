"""A failure after inference (building or sending a reply) answers the whole batch; the worker goes on.

A job left unanswered would hold one of the I/O thread's admission slots for good.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from modelserver.builder.configs import EFFICIENTNET_LITE0
from modelserver.metrics import ServerMetrics
from modelserver.protocol import InferRequest, Reply, TensorInput
from modelserver.runtime.base import FloatArray
from modelserver.serving.job import Job
from modelserver.serving.served_model import ServedModel, ServingLimits
from tests.conftest import wait_until

SHAPE = EFFICIENTNET_LITE0.input.shape
TENSOR = np.zeros(SHAPE, dtype="<f4").tobytes()


class SwitchableRuntime:
    """Outputs one score vector per image, or (when `bad_rank`) a 3-D output no reply can be made of."""

    name = "fake"

    def __init__(self) -> None:
        self.bad_rank = False

    def session(self) -> SwitchableRuntime:
        return self

    def run(self, batch: FloatArray, lone: bool = False) -> FloatArray:
        shape = (batch.shape[0], 10, 100) if self.bad_rank else (batch.shape[0], 1000)
        return np.zeros(shape, dtype=np.float32)


class RecordingSink:
    """Records (id, status) of each reply; raises instead of sending for the ids in `fail_ids`, once."""

    def __init__(self, fail_ids: set[str] | None = None) -> None:
        self.fail_ids = set(fail_ids or ())
        self.replies: list[tuple[str, str]] = []
        self.threads: set[str] = set()

    def __call__(self, job: Job, reply: Reply, model: str) -> None:
        self.threads.add(threading.current_thread().name)
        if job.id in self.fail_ids:
            self.fail_ids.discard(job.id)
            raise zmq.ZMQError(zmq.ENOTSOCK)
        self.replies.append((job.id, reply.status.value))


def _job(job_id: str) -> Job:
    now = time.monotonic()
    return Job(
        id=job_id,
        envelope=[b""],
        infer=InferRequest("efficientnet-lite0", TensorInput("float32", SHAPE)),
        payload=TENSOR,
        received=now,
        deadline=now + 60,
    )


def _model(runtime: SwitchableRuntime, sink: RecordingSink, released: list[str]) -> ServedModel:
    return ServedModel(
        EFFICIENTNET_LITE0,
        1,
        Path("unused"),
        runtime,
        labels=[str(i) for i in range(1000)],
        limits=ServingLimits(
            inference_threads=1, max_batch_size=4, max_batch_delay_s=0.0, max_image_pixels=1
        ),
        decode_pool=None,
        reply=sink,
        metrics=ServerMetrics(),
        release_replies=lambda: released.append(threading.current_thread().name),
    )


@pytest.mark.parametrize(
    ("bad_rank", "fail_ids", "expected"),
    [
        (True, set(), {"j0": "INTERNAL", "j1": "INTERNAL", "j2": "INTERNAL"}),
        (False, {"j1"}, {"j0": "OK", "j1": "INTERNAL", "j2": "INTERNAL"}),
    ],
    ids=["reply-cannot-be-built", "reply-cannot-be-sent"],
)
def test_a_failing_reply_answers_the_rest_of_the_batch_and_the_worker_goes_on(
    bad_rank: bool, fail_ids: set[str], expected: dict[str, str]
) -> None:
    runtime, sink, released = SwitchableRuntime(), RecordingSink(fail_ids), []
    model = _model(runtime, sink, released)
    for i in range(3):  # queued before the worker starts: it takes them as one batch
        assert model.submit(_job(f"j{i}"))
    runtime.bad_rank = bad_rank
    model.start(timeout_s=30)
    try:
        wait_until(lambda: len(sink.replies) >= 3, 10, "the batch to be answered")
        assert dict(sink.replies) == expected
        assert len(sink.replies) == 3  # each job answered exactly once
        runtime.bad_rank = False
        assert model.submit(_job("after"))
        wait_until(lambda: len(sink.replies) == 4, 10, "the worker to answer again")
        assert sink.replies[-1] == ("after", "OK")
    finally:
        model.close()
    assert released == sorted(sink.threads)  # the worker released its reply socket as it ended
