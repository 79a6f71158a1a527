"""Turn a decoded PIL image into the float32 input tensor a model was trained on.

Why pillow + numpy only (no TensorFlow): this runs per request in the server's request path and in
tools that must stay light (the reference-logits script runs it in a torch-only venv), and the
ImageNet evaluation transform we must reproduce (torchvision `Resize(256, bicubic)` +
`CenterCrop(224)` on a PIL image) is itself defined by Pillow's resampling. Using the same library
makes the match exact instead of approximate.

Colour handling, in order:
- 16-bit and 32-bit integer images (`I;16*`, `I`) are scaled from 0-65535 to 0-255 (Pillow's own
  conversion would clip everything above 255 to white); float images (`F`) are clipped to 0-255
  (Pillow's convention for `F`).
- Transparency (alpha channel, premultiplied alpha, or a palette with a transparent index) is
  composited onto a white background: transparent regions of logos, stickers and screenshots are
  meant to be seen on a light page, and black (what dropping alpha gives) invents dark shapes.
- Every other mode (CMYK, YCbCr, LAB, HSV, 1, P, ...) goes through Pillow's conversion to RGB; no
  ICC profile is applied. Grayscale models then take Pillow's ITU-R 601-2 luma (the weights OpenCV's
  BGR2GRAY uses too).
EXIF orientation is the decoder's job, not this module's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from PIL import Image

if TYPE_CHECKING:
    # Annotations only: importing modelserver.repository at run time pulls in the serving stack,
    # which imports this module (a cycle), and the reference-logits tool must not need it.
    from modelserver.repository.config import InputConfig, PreprocessingConfig

__all__ = ["MAX_RESIZED_PIXELS", "center_crop_box", "resize_short_side", "to_input_tensor", "to_model_mode"]

_FILTERS = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
}
# Resizing the whole image is what torchvision does and is bit-exact with it, but for absurd aspect
# ratios (a 10000 x 10 strip becomes 256000 x 256) it would allocate hundreds of MB. Past this many
# resized pixels (aspect ratio beyond ~16:1 for 256) only the crop window is resampled: the same
# geometry and filter, not bit-identical (Pillow rounds the window's sub-pixel offsets differently).
MAX_RESIZED_PIXELS = 1 << 20
_ALPHA_MODES = frozenset({"LA", "La", "RGBA", "RGBa", "PA"})
_WHITE = (255, 255, 255, 255)


def _to_8bit(image: Image.Image) -> Image.Image:
    """An `L`, `RGB` or `RGBA` image with 8-bit channels, same size."""
    mode = image.mode
    if mode in ("L", "RGB", "RGBA"):
        return image
    if mode == "I" or mode.startswith("I;16"):
        values = np.asarray(image).astype(np.float64)
        scaled = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
        return Image.fromarray(scaled, mode="L")
    if mode == "F":
        values = np.asarray(image, dtype=np.float64)
        return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), mode="L")
    if mode == "La":
        return image.convert("LA").convert("RGBA")
    if mode in _ALPHA_MODES or (mode == "P" and "transparency" in image.info):
        return image.convert("RGBA")
    if mode == "1":
        return image.convert("L")
    return image.convert("RGB")


def to_model_mode(image: Image.Image, color_mode: str) -> Image.Image:
    """`image` as 8-bit `RGB` (color_mode "rgb") or `L` ("grayscale"), alpha composited on white."""
    image = _to_8bit(image)
    if image.mode == "RGBA":
        background = Image.new("RGBA", image.size, _WHITE)
        image = Image.alpha_composite(background, image).convert("RGB")
    return image.convert("RGB" if color_mode == "rgb" else "L")


def resize_short_side(width: int, height: int, short: int) -> tuple[int, int]:
    """(w, h) with the short side `short`, the long side truncated like torchvision's Resize(int)."""
    if width <= height:
        return short, max(1, int(short * height / width))
    return max(1, int(short * width / height)), short


def center_crop_box(width: int, height: int, crop_w: int, crop_h: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the central crop, rounded like torchvision's CenterCrop."""
    left = round((width - crop_w) / 2.0)
    top = round((height - crop_h) / 2.0)
    return left, top, left + crop_w, top + crop_h


def to_input_tensor(
    image: Image.Image, input: InputConfig, pre: PreprocessingConfig
) -> npt.NDArray[np.float32]:
    """The H x W x C float32 tensor for one image: colour mode, resize, crop, (x - mean) / std.

    `center_crop`: the short side is resized to round(max(H, W) / crop_fraction) (224 / 0.875 = 256),
    then the central H x W is taken - torchvision's `Resize(256)` + `CenterCrop(224)`.
    `stretch`: resized straight to W x H, aspect ratio not kept.
    """
    if image.width < 1 or image.height < 1:
        raise ValueError("empty image")
    image = to_model_mode(image, input.color_mode)
    resample = _FILTERS[pre.interpolation]
    if pre.resize == "center_crop":
        short = round(max(input.height, input.width) / pre.crop_fraction)
        new_w, new_h = resize_short_side(image.width, image.height, short)
        box = center_crop_box(new_w, new_h, input.width, input.height)
        if new_w * new_h <= MAX_RESIZED_PIXELS:
            image = image.resize((new_w, new_h), resample=resample).crop(box)
        else:
            sx, sy = image.width / new_w, image.height / new_h
            source_box = (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)
            image = image.resize((input.width, input.height), resample=resample, box=source_box)
    else:
        image = image.resize((input.width, input.height), resample=resample)
    pixels = np.asarray(image, dtype=np.float32)
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    out: npt.NDArray[np.float32] = (pixels - np.float32(pre.mean)) / np.float32(pre.std)
    if out.shape != input.shape:
        raise AssertionError(f"produced {out.shape}, config wants {input.shape}")
    return out
