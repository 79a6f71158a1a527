"""TensorFlow Lite through `ai-edge-litert`: one interpreter per worker thread and batch bucket.

Interpreters are not thread-safe and resizing one re-plans its memory, so each worker owns an
interpreter already allocated for every bucket size; a run is then copy-in, invoke, copy-out.
On this 2-core machine LiteRT float32 runs EfficientNet-Lite0 ~4× faster than a tf.function.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from modelserver.repository.config import ModelConfig
from modelserver.runtime.base import FloatArray


class LiteRTSession:
    """Interpreters for each bucket size, used only by the thread that made them."""

    def __init__(
        self, model_content: bytes, buckets: tuple[int, ...], input_shape: tuple[int, ...], threads: int
    ):
        self._interpreters: dict[int, tuple[Interpreter, int, int]] = {}
        for size in buckets:
            interpreter = Interpreter(model_content=model_content, num_threads=threads)
            input_index = interpreter.get_input_details()[0]["index"]
            interpreter.resize_tensor_input(input_index, [size, *input_shape], strict=False)
            interpreter.allocate_tensors()
            output_index = interpreter.get_output_details()[0]["index"]
            self._interpreters[size] = (interpreter, input_index, output_index)

    def run(self, batch: FloatArray) -> FloatArray:
        interpreter, input_index, output_index = self._interpreters[batch.shape[0]]
        interpreter.set_tensor(input_index, batch)
        interpreter.invoke()
        result: FloatArray = interpreter.get_tensor(output_index).astype(np.float32, copy=False)
        return result


class LiteRTRuntime:
    """A .tflite file held in memory; sessions are built per worker thread."""

    name = "litert"

    def __init__(self, path: Path, config: ModelConfig, threads: int) -> None:
        self._content = path.read_bytes()
        self._buckets = config.batching.buckets
        self._input_shape = config.input.shape
        self._threads = threads

    def session(self) -> LiteRTSession:
        return LiteRTSession(self._content, self._buckets, self._input_shape, self._threads)
