"""Write one model version directory (SavedModel, model.tflite, labels.txt, config.json) atomically.

Why this shape: the server picks a version up as soon as its `config.json` exists and loads the
files it names, so a half-written version must never be visible. Everything is written into a
hidden temp directory next to the target (same filesystem) and renamed into
`<out>/<name>/<version>/` in one `os.replace`. Each artefact is checked before the rename:

- the SavedModel's `serve` endpoint takes a bare float32 [None, H, W, C] tensor and gives the
  Keras model's numbers;
- model.tflite (float32, converted from that SavedModel with TFLite builtins only) reports input
  shape [1, H, W, C] with a dynamic batch, and resizing it to batch 8 gives the batch-1 numbers;
- config.json is validated by `ModelConfig` and its file names / input shape match what was built.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import numpy.typing as npt
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from modelserver.repository.config import CONFIG_FILE, ModelConfig

__all__ = ["SAVED_MODEL_TOLERANCE", "TFLITE_TOLERANCE", "convert_tflite", "run_tflite", "write_version"]

log = logging.getLogger(__name__)

# Both run the same TF kernels; only op fusion / summation order may differ.
SAVED_MODEL_TOLERANCE = 1e-4
# Builder self-check only (the tests assert the measured, tighter bound): LiteRT's XNNPACK kernels
# sum in another order than TF's, which moves float32 logits by ~1e-5 (1.5e-5 measured on Lite0).
TFLITE_TOLERANCE = 1e-3
_CHECK_BATCH = 8


def export_saved_model(model: keras.Model, path: Path, input_shape: tuple[int, int, int]) -> None:
    """Save `model` with a `serve` endpoint (and `serving_default` signature) on one [None, H, W, C].

    Not `model.export(format="tf_saved_model")`: with Keras 3.15 / TF 2.21 that stores every
    variable twice (tracked as `variables` and `_all_variables`), doubling the SavedModel to 38 MB
    for Lite0, and its default signature wants a one-element list. A bare `tf.Module` holding the
    variables and one traced function stores each weight once.
    """
    spec = tf.TensorSpec([None, *input_shape], tf.float32, name="image")
    module = tf.Module()
    module.model_variables = [v.value for v in model.weights]

    def serve(image: tf.Tensor) -> tf.Tensor:
        return model(image, training=False)

    module.serve = tf.function(serve, input_signature=[spec])
    signatures = {"serving_default": module.serve.get_concrete_function()}
    tf.saved_model.save(module, str(path), signatures=signatures)


def convert_tflite(saved_model_dir: Path) -> bytes:
    """Float32 TFLite flatbuffer from the SavedModel's serving signature (batch dimension dynamic)."""
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    content: bytes = converter.convert()
    return content


def run_tflite(
    content: bytes, batch: npt.NDArray[np.float32], num_threads: int = 1
) -> npt.NDArray[np.float32]:
    """Run the flatbuffer on `batch`, resizing its input to the batch size first."""
    interpreter = Interpreter(model_content=content, num_threads=num_threads)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, list(batch.shape), strict=False)
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, np.ascontiguousarray(batch, dtype=np.float32))
    interpreter.invoke()
    out: npt.NDArray[np.float32] = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    return out.copy()


def _check_tflite(content: bytes, expected: npt.NDArray[np.float32], batch: npt.NDArray[np.float32]) -> None:
    details = Interpreter(model_content=content).get_input_details()[0]
    shape = tuple(int(d) for d in details["shape"])
    if shape != (1, *batch.shape[1:]) or details["dtype"] is not np.float32:
        raise AssertionError(f"tflite input is {shape} {details['dtype']}, want (1, {batch.shape[1:]}) f32")
    singles = np.concatenate([run_tflite(content, batch[i : i + 1]) for i in range(len(batch))])
    batched = run_tflite(content, batch)
    if not np.allclose(batched, singles, rtol=0.0, atol=1e-5):
        raise AssertionError(
            f"tflite batch-{len(batch)} differs from batch-1: {np.abs(batched - singles).max()}"
        )
    err = float(np.abs(batched - expected).max())
    log.info("tflite vs keras: max |diff| %.3g over batch %d", err, len(batch))
    if err > TFLITE_TOLERANCE:
        raise AssertionError(f"tflite output differs from keras by {err}")


def _check_saved_model(path: Path, expected: npt.NDArray[np.float32], batch: npt.NDArray[np.float32]) -> None:
    loaded: Any = tf.saved_model.load(str(path))
    out = np.asarray(loaded.serve(tf.constant(batch)))
    err = float(np.abs(out - expected).max())
    log.info("saved_model vs keras: max |diff| %.3g", err)
    if err > SAVED_MODEL_TOLERANCE:
        raise AssertionError(f"SavedModel output differs from keras by {err}")


def _check_config(config: ModelConfig, version_dir: Path, model: keras.Model) -> None:
    config = ModelConfig.model_validate(json.loads(config.model_dump_json()))
    for runtime, name in config.files.items():
        if not (version_dir / name).exists():
            raise AssertionError(f"config names {name} for {runtime}, which was not written")
    if tuple(model.inputs[0].shape[1:]) != config.input.shape:
        raise AssertionError(f"model input {model.inputs[0].shape} != config {config.input.shape}")
    if not (version_dir / config.labels).exists():
        raise AssertionError("labels file missing")


def _replace_dir(tmp: Path, target: Path) -> None:
    """Rename `tmp` to `target`; an existing target is moved aside first and then deleted."""
    if not target.exists():
        os.replace(tmp, target)
        return
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
    os.replace(target, old / target.name)
    os.replace(tmp, target)
    shutil.rmtree(old)


def write_version(
    out_dir: Path,
    config: ModelConfig,
    version: int,
    model: keras.Model,
    labels: Sequence[str],
    check_inputs: npt.NDArray[np.float32],
) -> Path:
    """Build `<out_dir>/<config.name>/<version>/` from `model`; returns that directory."""
    if len(labels) != int(model.outputs[0].shape[-1]) or any("\n" in s or not s for s in labels):
        raise ValueError("labels must be one non-empty line per model output")
    model_dir = out_dir / config.name
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=model_dir, prefix=f".{version}.building-"))
    try:
        batch = np.ascontiguousarray(check_inputs[:_CHECK_BATCH], dtype=np.float32)
        expected = np.asarray(model(batch, training=False))
        saved_model_dir = tmp / config.files["tensorflow"]
        export_saved_model(model, saved_model_dir, config.input.shape)
        _check_saved_model(saved_model_dir, expected, batch)
        content = convert_tflite(saved_model_dir)
        _check_tflite(content, expected, batch)
        (tmp / config.files["litert"]).write_bytes(content)
        (tmp / config.labels).write_text("".join(f"{s}\n" for s in labels), encoding="utf-8")
        _check_config(config, tmp, model)
        # Last, so a reader that sees config.json sees a complete version.
        (tmp / CONFIG_FILE).write_text(config.model_dump_json(indent=2) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o755)
        target = model_dir / str(version)
        _replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("wrote %s", target)
    return target
