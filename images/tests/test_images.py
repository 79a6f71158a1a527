"""The built images: non-root, no TensorFlow in the web app, no compilers, models inside, sizes."""

from __future__ import annotations

import json

import pytest

import kube_podman as kp
from kube_podman import Images

pytestmark = pytest.mark.images


def _run(image: str, *command: str) -> str:
    proc = kp.podman(
        "run",
        "--rm",
        "--pull=never",
        "--network",
        "none",
        "--read-only",
        "--read-only-tmpfs=false",
        "--entrypoint",
        json.dumps(list(command[:1])),
        image,
        *command[1:],
        timeout=180,
    )
    return proc.stdout.strip()


@pytest.mark.parametrize("component", ["modelserver", "webapp"])
def test_runs_as_a_numeric_non_root_user(images: Images, component: str) -> None:
    image = getattr(images, component)
    user = kp.podman("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip()
    assert user == "10001:10001"
    assert _run(image, "id", "-u") == "10001"


@pytest.mark.parametrize("component", ["modelserver", "webapp"])
def test_no_compilers_and_no_pip_in_the_final_image(images: Images, component: str) -> None:
    image = getattr(images, component)
    found = _run(image, "sh", "-c", "for c in gcc cc g++ c++ clang make pip pip3; do command -v $c || true; done")
    assert found == ""


def test_webapp_image_has_no_tensorflow(images: Images) -> None:
    out = _run(
        images.webapp,
        "python",
        "-c",
        "import importlib.util as u; print([m for m in ('tensorflow', 'keras', 'ai_edge_litert') if u.find_spec(m)])",
    )
    assert out == "[]"
    assert _run(images.webapp, "python", "-c", "import webapp, modelserver.client; print('ok')") == "ok"


def test_modelserver_image_carries_the_built_models(images: Images) -> None:
    out = _run(images.modelserver, "sh", "-c", "ls /opt/zinfer/models/*/1/config.json")
    assert "/opt/zinfer/models/efficientnet-lite0/1/config.json" in out.split()
    # Nothing in the image belongs to the runtime user: it cannot change what it serves.
    owned = _run(images.modelserver, "sh", "-c", "find /opt -user 10001 | head -1")
    assert owned == ""


def test_image_sizes_are_reported(images: Images) -> None:
    for image in (images.modelserver, images.webapp):
        size = int(kp.podman("image", "inspect", "--format", "{{.Size}}", image).stdout)
        assert size > 0
    webapp = int(kp.podman("image", "inspect", "--format", "{{.Size}}", images.webapp).stdout)
    assert webapp < 400e6, "the web-app image must stay small (no TensorFlow)"
