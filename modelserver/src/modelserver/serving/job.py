"""One admitted infer request on its way through the stages, and how its answer is made."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from modelserver.errors import ServerError
from modelserver.protocol import InferRequest, Reply, Status

Buffer = bytes | memoryview


@dataclass(slots=True)
class Job:
    """An admitted request: where to answer, what was asked, and when things happened."""

    id: str
    envelope: Sequence[Buffer]
    infer: InferRequest
    payload: Buffer
    received: float
    deadline: float
    tensor: npt.NDArray[np.float32] | None = None
    decode_started: float = 0.0
    ready: float = 0.0  # when its tensor was made; batch_wait runs from here to inference

    def expired(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) >= self.deadline


class ReplySink(Protocol):
    """Delivers the reply to `job`'s client; callable from any thread."""

    def __call__(self, job: Job, reply: Reply, model: str) -> None: ...


@dataclass(slots=True)
class Answer:
    """What one job's inference produced, before it becomes a Reply."""

    scores: npt.NDArray[np.float32]
    timings_ms: dict[str, float] = field(default_factory=dict)


def error_reply(job_id: str, error: ServerError) -> Reply:
    return Reply(id=job_id, status=error.status, message=error.message, body=error.reply_fields())


def ok_reply(job: Job, model: str, version: int, labels: Sequence[str], answer: Answer) -> Reply:
    """Top-k labelled predictions, plus the full score vector when the request asked for it."""
    scores = answer.scores
    k = min(job.infer.top_k, scores.shape[0])
    if k:
        top = np.argpartition(scores, -k)[-k:]
        top = top[np.argsort(scores[top])[::-1]]
    else:
        top = np.empty(0, dtype=np.int64)
    predictions = [
        {"label": labels[i] if i < len(labels) else str(i), "class_id": int(i), "score": float(scores[i])}
        for i in top
    ]
    body: dict[str, object] = {
        "model": model,
        "version": version,
        "predictions": predictions,
        "timings_ms": answer.timings_ms,
    }
    payload: list[Buffer] = []
    if job.infer.scores:
        body["outputs"] = [{"name": "scores", "dtype": "float32", "shape": [int(scores.shape[0])]}]
        payload.append(np.ascontiguousarray(scores, dtype="<f4").tobytes())
    return Reply(id=job.id, status=Status.OK, body=body, payload=payload)
