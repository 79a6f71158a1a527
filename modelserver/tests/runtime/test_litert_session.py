"""A LiteRT session answers the same whichever of its interpreters runs the batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelserver.repository import load_config
from modelserver.runtime import Session, load_runtime


def _session(repository: Path, threads: int, lone_threads: int) -> Session:
    version_dir = repository / "efficientnet-lite0" / "1"
    return load_runtime(load_config(version_dir), version_dir, threads, lone_threads).session()


def test_lone_interpreter_gives_the_bucket_interpreters_answer(model_repository: Path) -> None:
    session = _session(model_repository, threads=1, lone_threads=2)
    image = np.random.default_rng(0).uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32)
    batched = session.run(np.repeat(image, 2, axis=0))
    single = session.run(image)
    lone = session.run(image, lone=True)
    assert lone.shape == single.shape == (1, 1000)
    np.testing.assert_allclose(lone, single, atol=1e-4)
    np.testing.assert_allclose(batched[1:], single, atol=1e-4)


def test_no_lone_interpreter_when_it_would_not_have_more_threads(model_repository: Path) -> None:
    session = _session(model_repository, threads=2, lone_threads=2)
    image = np.zeros((1, 224, 224, 3), dtype=np.float32)
    # the same interpreter both times: bit-identical
    np.testing.assert_array_equal(session.run(image, lone=True), session.run(image))
