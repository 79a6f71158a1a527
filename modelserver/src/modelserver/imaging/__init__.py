"""Decoding and preprocessing images, bounded: pillow + numpy only, never TensorFlow.

This package runs in the server's request path (and in light tools), so it must import quickly
and stay free of TensorFlow / LiteRT. `decode` turns request bytes into a bounded PIL image;
`transforms` turns a PIL image into the float32 tensor a model's config.json describes (colour
mode, resize / center crop, normalisation).
"""

from modelserver.imaging.transforms import to_input_tensor

__all__ = ["to_input_tensor"]
