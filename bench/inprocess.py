"""The in-process limit: decode + preprocess + inference with no transport at all.

Workloads are built once (interpreters loaded, warmed) and then measured as often as the rounds
of `make bench` ask, so each round can set them side by side with the served path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from modelserver.imaging.decode import decode_image
from modelserver.imaging.transforms import to_input_tensor
from modelserver.repository import load_config
from modelserver.repository.config import ModelConfig
from modelserver.runtime import load_runtime
from modelserver.serving.preprocess import decode_size

from bench.common import closed_loop

MODEL = "efficientnet-lite0"


def _version_dir(repository: Path) -> Path:
    return max((p for p in (repository / MODEL).iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


def _tensor(image: bytes, config: ModelConfig) -> Any:
    decoded = decode_image(image, min_size=decode_size(config), max_pixels=10**8)
    return to_input_tensor(decoded, config.input, config.preprocessing)


def _config(repository: Path, runtime: str) -> tuple[ModelConfig, Path]:
    version_dir = _version_dir(repository)
    return ModelConfig.model_validate(
        load_config(version_dir).model_dump() | {"runtime": runtime}
    ), version_dir


def single_image_call(repository: Path, image: bytes, runtime: str, intra: int) -> Callable[[], None]:
    """One image, decode to scores, on the calling thread; built and warmed once."""
    config, version_dir = _config(repository, runtime)
    session = load_runtime(config, version_dir, intra).session()

    def one() -> None:
        session.run(_tensor(image, config)[None])

    for _ in range(20):
        one()
    return one


def single_image(repository: Path, image: bytes, runtime: str, intra: int) -> Callable[[float], float]:
    """A measurer of the p50 latency of one image, decode to scores, on one thread."""
    one = single_image_call(repository, image, runtime, intra)
    return lambda seconds: closed_loop(one, 1, seconds).percentile_ms(50)


def throughput(
    repository: Path, image: bytes, runtime: str, batch: int, threads: int
) -> Callable[[float], float]:
    """A measurer of images/s with `threads` threads each decoding `batch` images and inferring them.

    Sessions are built and warmed here, once; each measurement hands one to each of its threads.
    """
    config, version_dir = _config(repository, runtime)
    factory = load_runtime(config, version_dir, 1)
    sessions = [factory.session() for _ in range(threads)]
    for session in sessions:
        session.run(np.stack([_tensor(image, config) for _ in range(batch)]))
    local = threading.local()
    free: list[Any] = []
    lock = threading.Lock()

    def work() -> None:
        session = getattr(local, "session", None)
        if session is None:
            with lock:
                session = local.session = free.pop()
        session.run(np.stack([_tensor(image, config) for _ in range(batch)]))

    def measure(seconds: float) -> float:
        free[:] = sessions
        return closed_loop(work, threads, seconds).throughput * batch

    return measure
