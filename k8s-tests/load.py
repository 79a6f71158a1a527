"""Closed-loop HTTP load for the e2e tests: N clients post the cat until stopped; every answer's
time and status is kept, so a test can assert that no request failed across an event."""

from __future__ import annotations

import threading
import time
from collections import Counter

import zinfer_procs as zp


class Load:
    def __init__(self, url: str, clients: int, timeout_s: float = 30.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.image = zp.chelsea_jpeg()
        self.results: list[tuple[float, int, bytes]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def _run(self) -> None:
        while not self._stop.is_set():
            status, body = zp.post_file(self.url, "file", "chelsea.jpg", self.image, timeout_s=self.timeout_s)
            with self._lock:
                self.results.append((time.monotonic(), status, body[:300] if status != 200 else b""))

    def count_after(self, t: float) -> int:
        with self._lock:
            return sum(1 for at, _, _ in self.results if at > t)

    def failures(self) -> list[tuple[int, bytes]]:
        with self._lock:
            return [(s, b) for _, s, b in self.results if s != 200]

    def statuses(self) -> Counter[int]:
        with self._lock:
            return Counter(s for _, s, _ in self.results)

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)
