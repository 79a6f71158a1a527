"""Shared pieces of the benchmarks: the test image, closed-loop load, percentiles, tables."""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


def test_jpeg(width: int = 640, height: int = 480) -> bytes:
    """A real photo (scikit-image's `coffee`) as a ~640×480 JPEG, like a phone upload scaled down."""
    from PIL import Image
    from skimage import data

    image = Image.fromarray(data.coffee()).resize((width, height), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@dataclass
class LoadResult:
    concurrency: int
    seconds: float
    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def throughput(self) -> float:
        return len(self.latencies_s) / self.seconds

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_s:
            return float("nan")
        return float(np.percentile(np.array(self.latencies_s), q) * 1000.0)


def closed_loop(
    call: Callable[[], object], concurrency: int, seconds: float, warmup_s: float = 0.5
) -> LoadResult:
    """`concurrency` threads each calling `call()` back to back for warm-up plus `seconds`.

    Counted: every call that ends inside the measured window, wherever it began. (Counting only
    calls that also began inside it would drop about one latency's worth of work per thread, and
    under-state throughput by latency/window: 10% for a 0.4 s latency in a 4 s window.)
    """
    result = LoadResult(concurrency, seconds)
    lock = threading.Lock()
    start_barrier = threading.Barrier(concurrency + 1)
    measure_from = 0.0
    measure_to = 0.0

    def worker() -> None:
        start_barrier.wait()
        while True:
            began = time.perf_counter()
            if began >= measure_to:
                return
            try:
                call()
                error = None
            except Exception as exc:
                error = type(exc).__name__
            ended = time.perf_counter()
            if measure_from <= ended <= measure_to:
                with lock:
                    if error is None:
                        result.latencies_s.append(ended - began)
                    else:
                        result.errors[error] += 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    now = time.perf_counter()
    measure_from = now + warmup_s
    measure_to = measure_from + seconds
    start_barrier.wait()
    for thread in threads:
        thread.join()
    return result


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
