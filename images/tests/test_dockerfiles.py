"""The Dockerfiles and .dockerignore, without building: hadolint, pinned base, numeric user, no
network in the build, no compiler packages, the context limited to what the builds copy."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

import zinfer_chart as zc

ROOT = zc.ROOT
DOCKERFILES = sorted((ROOT / "images").glob("*/Dockerfile"))


def test_both_images_have_a_dockerfile() -> None:
    assert {p.parent.name for p in DOCKERFILES} == {"modelserver", "webapp"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint_clean(dockerfile: Path) -> None:
    proc = subprocess.run(
        [zc.tool("hadolint"), "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_rules(dockerfile: Path) -> None:
    text = dockerfile.read_text("utf-8")
    (base,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert re.fullmatch(r"docker\.io/library/python:3\.11\.?[0-9]*-slim-bookworm(@sha256:[0-9a-f]{64})?", base)
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", text, re.MULTILINE)
    assert len(stages) >= 2, "multi-stage"
    assert stages[-1] == ("${PYTHON_IMAGE}", ""), "the final stage starts from the slim base again"
    final = text[text.rindex("\nFROM ") :]
    (user,) = re.findall(r"^USER (\S+)$", final, re.MULTILINE)
    assert re.fullmatch(r"[1-9][0-9]*:[1-9][0-9]*", user), "numeric non-root user and group"
    assert "RUN " not in final, "the final stage only copies: nothing installed, no compilers"
    assert not re.search(r"\b(gcc|g\+\+|build-essential|apt-get install)\b", text)
    assert "--no-index" in text or "PIP_NO_INDEX=1" in text, "pip never reaches an index"
    assert re.search(r'^ENTRYPOINT \["zinfer-(modelserver|webapp)"\]$', final, re.MULTILINE)


def test_webapp_dockerfile_never_installs_the_server_extra() -> None:
    text = (ROOT / "images" / "webapp" / "Dockerfile").read_text("utf-8")
    assert "[server]" not in text
    assert 'find_spec("tensorflow")' in text, "the build refuses an image that could import TensorFlow"


def test_dockerignore_sends_only_what_the_builds_copy() -> None:
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "*", "deny everything, then allow what is copied"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    for dockerfile in DOCKERFILES:
        for source in re.findall(r"^COPY (?!--from)(\S+) ", dockerfile.read_text(), re.MULTILINE):
            assert any(source.rstrip("/") == a or source.startswith(a + "/") for a in allowed), source
    assert not {".venv", "models", ".git", ".cache", "bench-results"} & allowed


def test_images_script_builds_without_network() -> None:
    text = (ROOT / "scripts" / "images.sh").read_text("utf-8")
    assert "--network none" in text
    assert "--only-binary=:all:" in text
