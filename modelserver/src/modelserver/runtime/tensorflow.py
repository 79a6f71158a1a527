"""TensorFlow: the SavedModel's serving function compiled once as a `tf.function`.

Never Keras `predict()` per request (~80 ms of overhead per call here). The function has a fixed
input signature [None, H, W, C], so bucketed batch sizes never retrace; each bucket is run once
during warm-up so its kernels are planned before the server reports ready.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from modelserver.repository.config import ModelConfig
from modelserver.runtime.base import FloatArray

_threads_lock = threading.Lock()


def _configure_threads(intra_op_threads: int) -> None:
    """Set TF's thread pools once per process (later calls would raise after TF initialises)."""
    with _threads_lock:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(intra_op_threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass  # already initialised by an earlier model: the first setting holds


def _serving_function(loaded: Any) -> Any:
    for name in ("serve", "serving_default"):
        function = getattr(loaded, name, None)
        if function is not None:
            return function
        if name in getattr(loaded, "signatures", {}):
            return loaded.signatures[name]
    raise ValueError("SavedModel has neither a 'serve' endpoint nor a 'serving_default' signature")


class TensorFlowSession:
    """Calls the shared compiled function; tf.function calls are thread-safe."""

    def __init__(self, function: Any, loaded: Any) -> None:
        self._function = function
        # The function only references the SavedModel's variables: keep them alive with the session.
        self._loaded = loaded

    def run(self, batch: FloatArray, lone: bool = False) -> FloatArray:
        # TensorFlow's intra-op pool is process-wide: a lone request runs like any other.
        output = self._function(tf.constant(batch))
        if isinstance(output, dict):
            output = next(iter(output.values()))
        result: FloatArray = np.asarray(output, dtype=np.float32)
        return result


class TensorFlowRuntime:
    """A SavedModel loaded once per model version."""

    name = "tensorflow"

    def __init__(self, path: Path, config: ModelConfig, threads: int) -> None:
        _configure_threads(threads)
        self._loaded = tf.saved_model.load(str(path))
        serve = _serving_function(self._loaded)
        signature = tf.TensorSpec([None, *config.input.shape], tf.float32)
        self._function = tf.function(serve, input_signature=[signature])

    def session(self) -> TensorFlowSession:
        return TensorFlowSession(self._function, self._loaded)
