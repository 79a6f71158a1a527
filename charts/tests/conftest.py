"""Chart tests: plain pytest over `helm template` output (no cluster), one file per template family."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import zinfer_chart as zc


@pytest.fixture(scope="session")
def defaults() -> zc.Manifests:
    """The chart rendered with its default values (release `zinfer` in namespace `zinfer`)."""
    return zc.render()


@pytest.fixture(scope="session", params=[None, *zc.CI_VALUES], ids=lambda p: "defaults" if p is None else p.name)
def scenario(request: pytest.FixtureRequest) -> tuple[str, zc.Manifests]:
    """Every scenario: the defaults and each ci/*-values.yaml."""
    files = [] if request.param is None else [request.param]
    return ("defaults" if request.param is None else request.param.name), zc.render(files)
