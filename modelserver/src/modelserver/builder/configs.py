"""The config.json of each model the builder makes, in one place, as validated `ModelConfig`s.

Why a separate module without TensorFlow: the reference-logits tool (run in a torch-only venv) and
the tests import the EfficientNet preprocessing from here, so the tensor fed to the PyTorch
reference is produced by exactly the settings the server will use.
"""

from __future__ import annotations

from modelserver.repository.config import BatchingConfig, InputConfig, ModelConfig, PreprocessingConfig

__all__ = ["EFFICIENTNET_LITE0", "FER_EMOTION", "FER_LABELS"]

# No batch delay: on CPU a batch costs about its size, so waiting for a fuller one only adds
# latency; batches still form from what queues while both workers compute (see the Batcher).
_BATCHING = BatchingConfig(max_batch_size=8, max_batch_delay_ms=0.0, buckets=(1, 2, 4, 8))
_FILES: dict[str, str] = {"litert": "model.tflite", "tensorflow": "saved_model"}

# ImageNet evaluation transform of the EfficientNet-Lite release: Resize(256, bicubic) +
# CenterCrop(224), (x - 127) / 128 (efficientnet/lite: MEAN_RGB = [127.0]*3, STDDEV_RGB = [128.0]*3).
EFFICIENTNET_LITE0 = ModelConfig.model_validate(
    {
        "name": "efficientnet-lite0",
        "runtime": "litert",
        "files": _FILES,
        "labels": "labels.txt",
        "input": InputConfig(height=224, width=224, color_mode="rgb"),
        "preprocessing": PreprocessingConfig(
            resize="center_crop", crop_fraction=224 / 256, interpolation="bicubic", mean=127.0, std=128.0
        ),
        "output": "logits",
        "batching": _BATCHING,
    }
)

# fer: cv2.resize of the face crop to 64x64 grayscale, x / 255, then (x - 0.5) * 2, i.e.
# (x - 127.5) / 127.5; the model ends in a softmax.
FER_EMOTION = ModelConfig.model_validate(
    {
        "name": "fer-emotion",
        "runtime": "litert",
        "files": _FILES,
        "labels": "labels.txt",
        "input": InputConfig(height=64, width=64, color_mode="grayscale"),
        "preprocessing": PreprocessingConfig(
            resize="stretch", interpolation="bilinear", mean=127.5, std=127.5
        ),
        "output": "probabilities",
        "batching": _BATCHING,
    }
)

# fer.FER._get_labels(), index = output unit.
FER_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
