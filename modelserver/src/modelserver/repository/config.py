"""The `config.json` of one model version: what the server must know to serve it.

Documented in docs/model-repository.md. Validated strictly (unknown keys are errors) so a typo in
a config fails the load of that version instead of silently changing behaviour.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "BatchingConfig",
    "InputConfig",
    "ModelConfig",
    "PreprocessingConfig",
    "load_config",
]

CONFIG_FILE = "config.json"

Runtime = Literal["litert", "tensorflow"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputConfig(_Strict):
    """The tensor one image becomes: height × width × channels."""

    height: int = Field(gt=0, le=4096)
    width: int = Field(gt=0, le=4096)
    color_mode: Literal["rgb", "grayscale"] = "rgb"
    dtype: Literal["float32"] = "float32"

    @property
    def channels(self) -> int:
        return 3 if self.color_mode == "rgb" else 1

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.channels)


class PreprocessingConfig(_Strict):
    """How decoded pixels become the input tensor, exactly as the model was trained."""

    resize: Literal["center_crop", "stretch"] = "stretch"
    crop_fraction: float = Field(default=0.875, gt=0.0, le=1.0)
    interpolation: Literal["bicubic", "bilinear", "nearest"] = "bilinear"
    mean: float = 0.0
    std: float = Field(default=1.0, gt=0.0)


class BatchingConfig(_Strict):
    """Dynamic batching knobs; a batch runs as chunks of bucket sizes (5 as 4 + 1) rather than padded."""

    max_batch_size: int = Field(default=8, ge=1, le=256)
    max_batch_delay_ms: float = Field(default=0.0, ge=0.0, le=1000.0)
    buckets: tuple[int, ...] = (1, 2, 4, 8)

    @model_validator(mode="after")
    def _buckets_cover_max_batch(self) -> BatchingConfig:
        if not self.buckets or list(self.buckets) != sorted(set(self.buckets)) or self.buckets[0] < 1:
            raise ValueError("buckets must be increasing positive integers")
        if self.buckets[-1] < self.max_batch_size:
            raise ValueError("the largest bucket must be >= max_batch_size")
        return self


class ModelConfig(_Strict):
    """One model version's config.json."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    runtime: Runtime = "litert"
    files: dict[Runtime, str]
    labels: str = "labels.txt"
    input: InputConfig
    preprocessing: PreprocessingConfig = PreprocessingConfig()
    output: Literal["logits", "probabilities"] = "logits"
    batching: BatchingConfig = BatchingConfig()

    @model_validator(mode="after")
    def _runtime_has_file(self) -> ModelConfig:
        if self.runtime not in self.files:
            raise ValueError(f"runtime {self.runtime!r} has no entry in files")
        return self


def load_config(version_dir: Path) -> ModelConfig:
    """Read and validate `version_dir/config.json`."""
    return ModelConfig.model_validate(json.loads((version_dir / CONFIG_FILE).read_text("utf-8")))
