"""A stand-in for `modelserver.client.ModelClient`, for unit tests of the HTTP mapping only.

Integration tests use the real client against a real model server; this fake exists so that
every status → HTTP mapping can be checked quickly and deterministically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from modelserver.client import InputInfo, Label, ModelInfo, ModelNotFound, ModelServerError, Prediction

LABELS = ["tabby", "tiger cat", "Egyptian cat", "lynx", "tiger", "remote control", "espresso"]

MODELS = [
    ModelInfo(
        name="efficientnet-lite0",
        version=1,
        versions=[1],
        runtime="litert",
        input=InputInfo(224, 224, 3, "float32", "rgb"),
        labels=len(LABELS),
        max_batch_size=8,
    ),
    ModelInfo(
        name="fer-emotion",
        version=2,
        versions=[1, 2],
        runtime="tensorflow",
        input=InputInfo(64, 64, 1, "float32", "grayscale"),
        labels=7,
        max_batch_size=8,
    ),
]


@dataclass
class FakeClient:
    """Answers like a model server; set `error` to make every call raise it."""

    error: ModelServerError | None = None
    saturated: ModelServerError | None = None  # raised by reject_if_saturated, before parsing
    is_ready: bool = True
    calls: list[dict[str, Any]] = field(default_factory=list)
    models_calls: int = 0

    def _answer(self, model: str, top_k: int, version: int | None, scores: bool) -> Prediction:
        if self.error is not None:
            raise self.error
        info = next((m for m in MODELS if m.name == model), None)
        if info is None or (version is not None and version not in info.versions):
            raise ModelNotFound(f"model {model!r} is not served")
        raw = np.linspace(0.4, 0.01, len(LABELS), dtype=np.float32)
        labels = [Label(LABELS[i], i, float(raw[i])) for i in range(min(top_k, len(LABELS)))]
        return Prediction(
            model=model,
            version=version or info.version,
            predictions=labels,
            scores=raw.copy() if scores else None,
            timings_ms={"queue": 0.1, "decode": 1.0, "inference": 5.0, "total": 6.5},
        )

    def predict(
        self,
        model: str,
        image: bytes,
        *,
        top_k: int = 5,
        version: int | None = None,
        timeout_ms: float | None = None,
        scores: bool = False,
    ) -> Prediction:
        self.calls.append(
            {
                "op": "predict",
                "model": model,
                "image": bytes(image),
                "top_k": top_k,
                "version": version,
                "timeout_ms": timeout_ms,
                "scores": scores,
            }
        )
        return self._answer(model, top_k, version, scores)

    def predict_tensor(
        self,
        model: str,
        array: Any,
        *,
        top_k: int = 5,
        version: int | None = None,
        timeout_ms: float | None = None,
        scores: bool = False,
    ) -> Prediction:
        self.calls.append(
            {
                "op": "predict_tensor",
                "model": model,
                "array": np.array(array),
                "top_k": top_k,
                "version": version,
                "timeout_ms": timeout_ms,
                "scores": scores,
            }
        )
        return self._answer(model, top_k, version, scores)

    def models(self, timeout_ms: float | None = None) -> list[ModelInfo]:
        self.models_calls += 1
        if self.error is not None:
            raise self.error
        return list(MODELS)

    def ready(self, timeout_ms: float | None = None) -> bool:
        return self.is_ready

    def reject_if_saturated(self) -> None:
        if self.saturated is not None:
            raise self.saturated

    def close(self) -> None:
        pass
