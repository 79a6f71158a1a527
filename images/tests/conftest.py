"""Image tests: the Dockerfiles (hadolint, always) and the images built and run with podman
(marker `images`; skipped with the reason when podman cannot run containers here, or when
ZINFER_SKIP_IMAGES=1)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "charts" / "tests"))

import kube_podman as kp  # noqa: E402
import zinfer_chart as zc  # noqa: E402
from kube_podman import Images  # noqa: E402

SIZES_FILE = ROOT / ".cache" / "images" / "sizes.json"


def _podman_problem() -> str | None:
    """Why podman cannot build and run containers here, or None."""
    if os.environ.get("ZINFER_SKIP_IMAGES") == "1":
        return "ZINFER_SKIP_IMAGES=1"
    subprocess.run([str(ROOT / "scripts" / "install-tools.sh"), "containers"], check=False)
    if shutil.which("podman") is None:
        return "podman is not installed (scripts/install-tools.sh containers needs root and apt-get)"
    info = kp.podman("info", "--format", "{{.Host.OCIRuntime.Name}}", check=False)
    if info.returncode != 0:
        return f"`podman info` fails: {info.stderr.strip()[:300]}"
    return None


@pytest.fixture(scope="session")
def podman_ok() -> None:
    problem = _podman_problem()
    if problem:
        pytest.skip(f"container images not built and run: {problem}")


@pytest.fixture(scope="session")
def images(podman_ok: None) -> Images:
    """Both images, built by scripts/images.sh (idempotent; the layer cache makes a rebuild of
    unchanged sources take seconds). A cold build takes several minutes (TensorFlow wheels)."""
    started = time.monotonic()
    proc = subprocess.run(
        [str(ROOT / "scripts" / "images.sh")], capture_output=True, text=True, env=kp.podman_env(), timeout=3600
    )
    if proc.returncode != 0:
        pytest.fail(f"scripts/images.sh failed:\n{proc.stderr[-4000:]}")
    defaults = zc.render()
    refs = {c: zc.container(zc.deployment(defaults, c))["image"] for c in ("modelserver", "webapp")}
    for ref in refs.values():
        kp.podman("image", "exists", ref)
    sizes = {
        ref: int(kp.podman("image", "inspect", "--format", "{{.Size}}", ref).stdout.strip()) for ref in refs.values()
    }
    SIZES_FILE.parent.mkdir(parents=True, exist_ok=True)
    SIZES_FILE.write_text(json.dumps(sizes, indent=2) + "\n")
    return Images(refs["modelserver"], refs["webapp"], time.monotonic() - started)


@pytest.fixture(scope="session")
def network(podman_ok: None) -> Iterator[str]:
    """A podman network with DNS (netavark + aardvark-dns), like a cluster's pod network."""
    name = f"zinfer-test-{os.getpid()}"
    kp.podman("network", "create", name)
    try:
        yield name
    finally:
        for cid in kp.podman("ps", "-aq", "--filter", f"network={name}", check=False).stdout.split():
            kp.podman("rm", "--force", "--time", "0", cid, check=False)
        kp.podman("network", "rm", "--force", name, check=False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SIZES_FILE.exists() and any("images/tests" in r.nodeid for r in terminalreporter.stats.get("passed", [])):
        sizes = json.loads(SIZES_FILE.read_text())
        terminalreporter.write_line(
            "image sizes: " + ", ".join(f"{ref} {size / 1e6:.0f} MB" for ref, size in sizes.items())
        )
