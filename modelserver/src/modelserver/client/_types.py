"""What the client returns and raises: plain dataclasses and one exception per status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from modelserver.protocol import Reply, Status


@dataclass(frozen=True, slots=True)
class Label:
    label: str
    class_id: int
    score: float


@dataclass(frozen=True, slots=True)
class Prediction:
    model: str
    version: int
    predictions: list[Label]
    scores: npt.NDArray[np.float32] | None
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InputInfo:
    height: int
    width: int
    channels: int
    dtype: str
    color_mode: str


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    version: int
    versions: list[int]
    runtime: str
    input: InputInfo
    labels: int
    max_batch_size: int


class ModelServerError(Exception):
    """A request that ended in a status other than OK; `status` and `message` say why."""

    status: Status = Status.INTERNAL

    def __init__(self, message: str, status: Status | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class InvalidInput(ModelServerError):
    status = Status.INVALID_INPUT


class NotAnImage(InvalidInput):
    """The bytes are no accepted image format at all (HTTP 415 rather than 400)."""


class ModelNotFound(ModelServerError):
    status = Status.MODEL_NOT_FOUND


class TooLarge(ModelServerError):
    status = Status.TOO_LARGE


class Overloaded(ModelServerError):
    status = Status.OVERLOADED

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class DeadlineExceeded(ModelServerError):
    status = Status.DEADLINE_EXCEEDED


class Unavailable(ModelServerError):
    status = Status.UNAVAILABLE


class InternalError(ModelServerError):
    status = Status.INTERNAL


_BY_STATUS: dict[Status, type[ModelServerError]] = {
    Status.INVALID_INPUT: InvalidInput,
    Status.MODEL_NOT_FOUND: ModelNotFound,
    Status.TOO_LARGE: TooLarge,
    Status.DEADLINE_EXCEEDED: DeadlineExceeded,
    Status.UNAVAILABLE: Unavailable,
    Status.INTERNAL: InternalError,
}


def error_for(reply: Reply) -> ModelServerError:
    """The exception a non-OK reply becomes."""
    message = reply.message or reply.status.value
    if reply.status is Status.OVERLOADED:
        return Overloaded(message, retry_after_s=float(reply.body.get("retry_after_ms", 1000)) / 1000.0)
    if reply.status is Status.INVALID_INPUT and reply.body.get("reason") == "not_an_image":
        return NotAnImage(message)
    return _BY_STATUS.get(reply.status, InternalError)(message)


def prediction_from(reply: Reply) -> Prediction:
    body = reply.body
    scores = None
    for descriptor, frame in zip(body.get("outputs", []), reply.payload, strict=False):
        if descriptor.get("name") == "scores":
            scores = np.frombuffer(frame, dtype="<f4").copy()
    return Prediction(
        model=str(body["model"]),
        version=int(body["version"]),
        predictions=[
            Label(str(p["label"]), int(p["class_id"]), float(p["score"])) for p in body["predictions"]
        ],
        scores=scores,
        timings_ms={str(k): float(v) for k, v in body.get("timings_ms", {}).items()},
    )


def model_info_from(entry: dict[str, Any]) -> ModelInfo:
    inp = entry["input"]
    return ModelInfo(
        name=str(entry["name"]),
        version=int(entry["version"]),
        versions=[int(v) for v in entry.get("versions", [entry["version"]])],
        runtime=str(entry["runtime"]),
        input=InputInfo(
            int(inp["height"]),
            int(inp["width"]),
            int(inp["channels"]),
            str(inp["dtype"]),
            str(inp["color_mode"]),
        ),
        labels=int(entry["labels"]),
        max_batch_size=int(entry["max_batch_size"]),
    )
