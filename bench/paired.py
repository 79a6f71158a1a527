"""Paired measurements: alternatives measured in short alternating blocks, not one after another.

This VM's speed drifts by tens of percent within minutes, more than the differences the targets
are about (1 ms at concurrency 1, 5 % between batching on and off). Measured in alternating blocks
of a fraction of a second each, every alternative sees the same drift, so their difference
is what the code does, not when it ran.
"""

from __future__ import annotations

import http.client
import statistics
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from bench.common import LoadResult, closed_loop

BLOCK_CALLS = 10


def sequential_latencies(
    calls: Mapping[str, Callable[[], object]], seconds: float, block: int = BLOCK_CALLS
) -> dict[str, list[float]]:
    """One caller: `block` calls of each alternative in turn (order rotating) for about `seconds`."""
    names = list(calls)
    latencies: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm every path before measuring any
        for _ in range(block):
            calls[name]()
    end = time.perf_counter() + seconds
    turn = 0
    while time.perf_counter() < end:
        order = names[turn % len(names) :] + names[: turn % len(names)]
        for name in order:
            call, out = calls[name], latencies[name]
            for _ in range(block):
                began = time.perf_counter()
                call()
                out.append(time.perf_counter() - began)
        turn += 1
    return latencies


def p50_ms(latencies: list[float]) -> float:
    return statistics.median(latencies) * 1000.0


def _alternating(names: list[str], blocks: int) -> list[str]:
    """`names` `blocks` times over, every other pass reversed (cancels order effects)."""
    return [n for b in range(blocks) for n in (names if b % 2 == 0 else list(reversed(names)))]


def alternating_closed_loops(
    calls: Mapping[str, Callable[[], object]], concurrency: int, seconds: float, blocks: int = 2
) -> dict[str, LoadResult]:
    """Closed loops at `concurrency` against each alternative in turn, `blocks` times each.

    Each alternative gets `seconds` in total; results of its blocks are merged.
    """
    merged = {name: LoadResult(concurrency, 0.0) for name in calls}
    for name in _alternating(list(calls), blocks):
        part = closed_loop(calls[name], concurrency, seconds / blocks, warmup_s=0.5)
        into = merged[name]
        into.seconds += part.seconds
        into.latencies_s.extend(part.latencies_s)
        into.errors.update(part.errors)
    return merged


def alternating_rates(
    measures: Mapping[str, Callable[[float], float]], seconds: float, blocks: int = 2
) -> dict[str, float]:
    """Each measure (seconds -> rate) run `blocks` times for `seconds`, in alternating order; mean rates."""
    rates: dict[str, list[float]] = {name: [] for name in measures}
    for name in _alternating(list(measures), blocks):
        rates[name].append(measures[name](seconds))
    return {name: statistics.fmean(values) for name, values in rates.items()}


class MultipartPoster:
    """POSTs one image as multipart field `file` over a kept-alive connection, like the k6 script."""

    BOUNDARY = "zinferbench7MA4YWxkTrZu0gW"

    def __init__(self, base_url: str, image: bytes, path: str = "/api/v1/predict") -> None:
        parts = urlsplit(base_url)
        self._connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        self._path = path
        self._body = (
            (
                f'--{self.BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
            ).encode()
            + image
            + f"\r\n--{self.BOUNDARY}--\r\n".encode()
        )
        self._headers = {"Content-Type": f"multipart/form-data; boundary={self.BOUNDARY}"}

    def __call__(self) -> None:
        try:
            response = self._post()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # gunicorn closed the kept-alive connection while it idled between rounds
            self._connection.close()
            response = self._post()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {body[:200]!r}")

    def _post(self) -> http.client.HTTPResponse:
        self._connection.request("POST", self._path, self._body, self._headers)
        return self._connection.getresponse()

    def close(self) -> None:
        self._connection.close()
