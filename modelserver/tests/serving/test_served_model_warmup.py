"""A served model warms exactly the batch shapes its workers will run, lone requests included."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelserver.builder.configs import EFFICIENTNET_LITE0
from modelserver.metrics import ServerMetrics
from modelserver.protocol import Reply
from modelserver.repository.config import BatchingConfig
from modelserver.runtime.base import FloatArray
from modelserver.serving.job import Job
from modelserver.serving.served_model import ServedModel, ServingLimits


class BucketOnlySession:
    """Like a compiled runtime: only the bucket batch sizes exist."""

    def __init__(self, buckets: tuple[int, ...], seen: list[tuple[int, bool]]) -> None:
        self._buckets = buckets
        self._seen = seen

    def run(self, batch: FloatArray, lone: bool = False) -> FloatArray:
        assert batch.shape[0] in self._buckets, f"batch of {batch.shape[0]} is not a bucket"
        self._seen.append((batch.shape[0], lone))
        return np.zeros((batch.shape[0], 1000), dtype=np.float32)


class BucketOnlyRuntime:
    name = "fake"

    def __init__(self, buckets: tuple[int, ...]) -> None:
        self.buckets = buckets
        self.seen: list[tuple[int, bool]] = []

    def session(self) -> BucketOnlySession:
        return BucketOnlySession(self.buckets, self.seen)


def _no_reply(job: Job, reply: Reply, model: str) -> None:
    raise AssertionError("nothing is submitted in this test")


def test_warm_up_runs_only_bucket_sizes_when_there_is_no_bucket_of_one() -> None:
    buckets = (2, 4)
    config = EFFICIENTNET_LITE0.model_copy(
        update={"batching": BatchingConfig(max_batch_size=4, max_batch_delay_ms=0.0, buckets=buckets)}
    )
    runtime = BucketOnlyRuntime(buckets)
    model = ServedModel(
        config,
        1,
        Path("unused"),
        runtime,
        labels=[str(i) for i in range(1000)],
        limits=ServingLimits(
            inference_threads=1, max_batch_size=4, max_batch_delay_s=0.0, max_image_pixels=10**6
        ),
        decode_pool=None,
        reply=_no_reply,
        metrics=ServerMetrics(),
    )
    model.start(timeout_s=30)
    model.close()
    assert runtime.seen == [(2, False), (4, False), (2, True)]
