"""to_input_tensor: shapes, dtype, every image mode, normalisation and the center-crop geometry."""

from __future__ import annotations

import subprocess
import sys
from typing import Literal

import numpy as np
import pytest
from PIL import Image

from modelserver.imaging.transforms import (
    MAX_RESIZED_PIXELS,
    center_crop_box,
    resize_short_side,
    to_input_tensor,
    to_model_mode,
)
from modelserver.repository.config import InputConfig, PreprocessingConfig

RGB_IN = InputConfig(height=224, width=224, color_mode="rgb")
CENTER = PreprocessingConfig(
    resize="center_crop", crop_fraction=0.875, interpolation="bicubic", mean=127, std=128
)
GRAY_IN = InputConfig(height=64, width=64, color_mode="grayscale")
STRETCH = PreprocessingConfig(resize="stretch", interpolation="bilinear", mean=127.5, std=127.5)
IDENTITY = PreprocessingConfig(resize="stretch", interpolation="nearest", mean=0.0, std=1.0)


def _gradient(width: int = 300, height: int = 200) -> Image.Image:
    x = np.linspace(0, 255, width)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height)[:, None].repeat(width, 1)
    return Image.fromarray(np.stack([x, y, 255 - x], axis=-1).astype(np.uint8))


def _pixels(image: Image.Image, color_mode: Literal["rgb", "grayscale"] = "rgb") -> np.ndarray:
    cfg = InputConfig(height=image.height, width=image.width, color_mode=color_mode)
    return to_input_tensor(image, cfg, IDENTITY)


def test_imports_neither_tensorflow_nor_the_server() -> None:
    code = (
        "import sys, modelserver.imaging.transforms; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'modelserver.repository') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(("cfg", "pre"), [(RGB_IN, CENTER), (GRAY_IN, STRETCH)])
@pytest.mark.parametrize("size", [(300, 200), (200, 300), (224, 224), (1, 1), (5000, 20)])
def test_shape_and_dtype(cfg: InputConfig, pre: PreprocessingConfig, size: tuple[int, int]) -> None:
    out = to_input_tensor(_gradient(*size), cfg, pre)
    assert out.shape == cfg.shape and out.dtype == np.float32
    assert np.isfinite(out).all()


def test_normalisation() -> None:
    gray = Image.new("RGB", (300, 260), (127, 255, 0))
    out = to_input_tensor(gray, RGB_IN, CENTER)
    np.testing.assert_array_equal(out[..., 0], 0.0)
    np.testing.assert_array_equal(out[..., 1], np.float32((255 - 127) / 128))
    np.testing.assert_array_equal(out[..., 2], np.float32(-127 / 128))
    white = to_input_tensor(Image.new("L", (100, 80), 255), GRAY_IN, STRETCH)
    np.testing.assert_array_equal(white, 1.0)


MODES = [
    "RGB",
    "L",
    "RGBA",
    "LA",
    "P",
    "PA",
    "CMYK",
    "I;16",
    "I;16B",
    "I",
    "F",
    "1",
    "YCbCr",
    "HSV",
    "LAB",
    "RGBX",
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("cfg", "pre"), [(RGB_IN, CENTER), (GRAY_IN, STRETCH)])
def test_every_mode_converts(mode: str, cfg: InputConfig, pre: PreprocessingConfig) -> None:
    image = _gradient(120, 90).convert("RGBA" if mode in ("PA", "LA") else "RGB")
    image = image.convert(mode) if mode not in ("I;16", "I;16B", "I", "F", "LAB") else _special(mode)
    out = to_input_tensor(image, cfg, pre)
    assert out.shape == cfg.shape and out.dtype == np.float32


def _special(mode: str) -> Image.Image:
    if mode.startswith("I"):
        values = np.linspace(0, 65535, 120 * 90).reshape(90, 120)
        if mode == "I;16B":
            return Image.frombytes(mode, (120, 90), values.astype(">u2").tobytes())
        image = Image.fromarray(values.astype(np.uint16))
        return image if mode == "I;16" else image.convert(mode)
    if mode == "F":
        return Image.fromarray(np.linspace(0, 255, 120 * 90, dtype=np.float32).reshape(90, 120), mode="F")
    return Image.new("LAB", (120, 90), (50, 128, 128))


def test_sixteen_bit_is_scaled_not_clipped() -> None:
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    np.testing.assert_array_equal(_pixels(Image.fromarray(values), "grayscale")[0, :, 0], [0, 1, 128, 255])
    big_endian = Image.frombytes("I;16B", (4, 1), values.astype(">u2").tobytes())  # convert() would clip
    np.testing.assert_array_equal(_pixels(big_endian, "grayscale")[0, :, 0], [0, 1, 128, 255])
    as_i = Image.fromarray(values.astype(np.int32), mode="I")
    np.testing.assert_array_equal(_pixels(as_i, "grayscale")[0, :, 0], [0, 1, 128, 255])


def test_float_images_are_clipped_to_8bit() -> None:
    image = Image.fromarray(np.array([[-5.0, 0.4, 100.6, 300.0]], dtype=np.float32), mode="F")
    np.testing.assert_array_equal(_pixels(image, "grayscale")[0, :, 0], [0, 0, 101, 255])


def test_transparency_is_composited_on_white() -> None:
    rgba = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    rgba.putpixel((0, 0), (255, 0, 0, 255))
    rgba.putpixel((1, 0), (0, 0, 0, 128))
    out = _pixels(rgba)
    np.testing.assert_array_equal(out[3, 3], [255, 255, 255])  # fully transparent -> white
    np.testing.assert_array_equal(out[0, 0], [255, 0, 0])  # opaque kept
    assert 120 <= out[0, 1, 0] <= 135  # half-transparent black on white -> mid grey
    la = Image.new("LA", (2, 2), (0, 0))
    np.testing.assert_array_equal(_pixels(la, "grayscale"), 255)


def test_palette_with_transparent_index() -> None:
    palette = Image.new("P", (3, 1))
    palette.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    palette.putpixel((1, 0), 1)
    palette.info["transparency"] = 0
    out = _pixels(palette)
    np.testing.assert_array_equal(out[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(out[0, 1], [10, 200, 30])
    opaque = palette.copy()
    opaque.info.pop("transparency")
    np.testing.assert_array_equal(_pixels(opaque)[0, 0], [0, 0, 0])


def test_cmyk_and_grayscale_luma() -> None:
    cmyk = Image.new("CMYK", (2, 2), (0, 255, 255, 0))  # pure red
    np.testing.assert_array_equal(_pixels(cmyk)[0, 0], [255, 0, 0])
    red = Image.new("RGB", (2, 2), (255, 0, 0))
    np.testing.assert_array_equal(_pixels(red, "grayscale")[0, 0], [76])  # 0.299 * 255
    assert to_model_mode(Image.new("1", (2, 2), 1), "rgb").getpixel((0, 0)) == (255, 255, 255)


def test_torchvision_resize_and_crop_arithmetic() -> None:
    # Resize(256): short side 256, long side truncated (int), as torchvision computes it.
    assert resize_short_side(451, 300, 256) == (384, 256)  # chelsea: 256 * 451 / 300 = 384.85
    assert resize_short_side(300, 451, 256) == (256, 384)
    assert resize_short_side(256, 256, 256) == (256, 256)
    assert resize_short_side(640, 400, 256) == (409, 256)  # 409.6
    # CenterCrop(224): offsets int(round((size - crop) / 2)), Python's round (half to even).
    assert center_crop_box(384, 256, 224, 224) == (80, 16, 304, 240)
    assert center_crop_box(409, 256, 224, 224) == (92, 16, 316, 240)  # 92.5 -> 92
    assert center_crop_box(411, 256, 224, 224) == (94, 16, 318, 240)  # 93.5 -> 94


def test_center_crop_equals_resize_then_crop() -> None:
    image = _gradient(451, 300)
    want = image.resize((384, 256), Image.Resampling.BICUBIC).crop((80, 16, 304, 240))
    out = to_input_tensor(image, RGB_IN, CENTER)
    np.testing.assert_array_equal(out, (np.asarray(want, dtype=np.float32) - 127) / 128)


def test_center_crop_geometry_keeps_the_centre() -> None:
    """A centred square stays centred; the crop shows 224/256 of the short side."""
    canvas = np.zeros((400, 600, 3), dtype=np.uint8)
    canvas[150:250, 250:350] = 255  # 100 px square at the centre
    pre = PreprocessingConfig(
        resize="center_crop", crop_fraction=0.875, interpolation="nearest", mean=0, std=1
    )
    out = to_input_tensor(Image.fromarray(canvas), RGB_IN, pre)[..., 0]
    rows, cols = np.nonzero(out > 127)
    # 600 x 400 -> 384 x 256 (scale 0.64): the square becomes x 160..223, y 96..159; the crop box is
    # (80, 16, 304, 240), so in the output it spans 80..143 on both axes, centred in 224 (80 + 64 + 80).
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (80, 143, 80, 143)


def test_stretch_ignores_aspect_ratio() -> None:
    canvas = np.zeros((100, 400), dtype=np.uint8)
    canvas[:, 200:] = 255  # right half white
    pre = PreprocessingConfig(resize="stretch", interpolation="nearest", mean=0, std=1)
    out = to_input_tensor(Image.fromarray(canvas), GRAY_IN, pre)[..., 0]
    np.testing.assert_array_equal(out[:, :32], 0)
    np.testing.assert_array_equal(out[:, 32:], 255)


def test_non_square_input_center_crop() -> None:
    cfg = InputConfig(height=100, width=200)
    pre = PreprocessingConfig(resize="center_crop", crop_fraction=0.5, interpolation="bilinear")
    assert to_input_tensor(_gradient(640, 480), cfg, pre).shape == (100, 200, 3)
    assert to_input_tensor(_gradient(480, 640), cfg, pre).shape == (100, 200, 3)


def test_extreme_aspect_ratio_stays_bounded() -> None:
    strip = _gradient(20000, 8)  # resized whole it would be 640000 x 256
    assert resize_short_side(20000, 8, 256)[0] * 256 > MAX_RESIZED_PIXELS
    out = to_input_tensor(strip, RGB_IN, CENTER)
    assert out.shape == (224, 224, 3)
    # the window is the centre of the strip: the red channel (x gradient) is mid-range
    assert 120 < float(out[..., 0].mean()) * 128 + 127 < 136


@pytest.mark.parametrize("mode", ["La", "RGBa"])
def test_premultiplied_alpha_modes(mode: str) -> None:
    transparent = Image.new(mode, (3, 2), 0)
    np.testing.assert_array_equal(_pixels(transparent), 255)
    np.testing.assert_array_equal(_pixels(transparent, "grayscale"), 255)
