"""What every runtime provides, and the choice of runtime from a model's config."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from modelserver.repository.config import ModelConfig

FloatArray = npt.NDArray[np.float32]


class Session(Protocol):
    """Runs batches on the thread that created it."""

    def run(self, batch: FloatArray, lone: bool = False) -> FloatArray:
        """Scores [B, classes] for a batch [B, H, W, C]; B must be a bucket size.

        `lone`: a single image with the CPU otherwise idle; a runtime may use more threads for it.
        """
        ...


class RuntimeFactory(Protocol):
    """Loaded model file; makes one session per worker thread."""

    name: str

    def session(self) -> Session: ...


def load_runtime(
    config: ModelConfig, version_dir: Path, intra_op_threads: int, lone_request_threads: int = 1
) -> RuntimeFactory:
    """Load the model file of the runtime the config names."""
    path = version_dir / config.files[config.runtime]
    if config.runtime == "litert":
        from modelserver.runtime.litert import LiteRTRuntime

        return LiteRTRuntime(path, config, intra_op_threads, lone_request_threads)
    from modelserver.runtime.tensorflow import TensorFlowRuntime

    return TensorFlowRuntime(path, config, intra_op_threads)
