"""Turn a request's payload into the model's input tensor: an encoded image or a raw tensor."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from modelserver.errors import InvalidInput
from modelserver.imaging.decode import decode_image
from modelserver.imaging.transforms import to_input_tensor
from modelserver.protocol import ImageInput, TensorInput
from modelserver.repository.config import ModelConfig

FloatArray = npt.NDArray[np.float32]


def decode_size(config: ModelConfig) -> tuple[int, int]:
    """Smallest (width, height) the decoder must keep for the configured resize."""
    inp, pre = config.input, config.preprocessing
    if pre.resize == "center_crop":
        side = round(max(inp.height, inp.width) / pre.crop_fraction)
        return side, side
    return inp.width, inp.height


def prepare_input(
    spec: ImageInput | TensorInput, payload: bytes | memoryview, config: ModelConfig, max_image_pixels: int
) -> FloatArray:
    """The float32 H×W×C tensor for one request.

    float32 tensors are taken as already preprocessed; uint8 tensors are pixel values and get the
    model's normalisation, like decoded images.
    """
    if isinstance(spec, ImageInput):
        image = decode_image(payload, min_size=decode_size(config), max_pixels=max_image_pixels)
        return to_input_tensor(image, config.input, config.preprocessing)
    expected = config.input.shape
    shape = spec.shape[1:] if len(spec.shape) == len(expected) + 1 and spec.shape[0] == 1 else spec.shape
    if tuple(shape) != expected:
        raise InvalidInput(f"tensor shape {list(spec.shape)} does not match the model input {list(expected)}")
    array = np.frombuffer(payload, dtype="<f4" if spec.dtype == "float32" else np.uint8).reshape(expected)
    if spec.dtype == "uint8":
        pre = config.preprocessing
        return ((array.astype(np.float32) - pre.mean) / pre.std).astype(np.float32)
    return array.astype(np.float32, copy=False)
