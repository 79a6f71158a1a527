"""A dynamic batcher that never makes an idle server wait.

Rule: when no batch is being computed, a worker takes whatever is queued (up to
`max_batch_size`) at once — a lone request pays no batching delay. While another batch is being
computed, a free worker waits until `max_batch_size` items are queued or the oldest has waited
`max_batch_delay`, whichever comes first, so batches fill exactly when there is load to fill them.
(On CPU a batch costs about its size, so the default delay is 0: batches form only from what
queued while every worker was busy. The delay is for hardware where bigger batches are cheaper.)
A worker takes at most its share of the queue, 1/workers of it: with two workers and four
queued requests it takes two and leaves two, so the other worker, idle now or soon, is not left
with nothing while this one decodes and computes a big batch alone.

The decision (`try_take`) is a pure function of the queue and a clock reading, so tests drive it
with a fake clock; `next_batch` is the blocking wrapper worker threads call.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    """Seconds from an arbitrary origin that never go backwards."""

    def now(self) -> float: ...


class MonotonicClock:
    """`time.monotonic()` as a Clock."""

    def now(self) -> float:
        return time.monotonic()


class Batcher(Generic[T]):
    """Queue of items taken in batches by worker threads (see module docstring for the rule)."""

    def __init__(
        self, max_batch_size: int, max_batch_delay_s: float, clock: Clock | None = None, workers: int = 1
    ) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be >= 1")
        if max_batch_delay_s < 0:
            raise ValueError("max_batch_delay_s must be >= 0")
        self.max_batch_size = max_batch_size
        self.max_batch_delay_s = max_batch_delay_s
        self.workers = max(1, workers)
        self._clock = clock or MonotonicClock()
        self._items: deque[tuple[float, T]] = deque()
        self._in_flight = 0
        self._closed = False
        self._cond = threading.Condition(threading.Lock())

    def __len__(self) -> int:
        return len(self._items)

    @property
    def in_flight(self) -> int:
        """Batches taken and not yet marked done."""
        return self._in_flight

    def put(self, item: T) -> None:
        """Queue one item (bounded by the server's admission control, not here)."""
        with self._cond:
            if self._closed:
                raise RuntimeError("batcher is closed")
            self._items.append((self._clock.now(), item))
            self._cond.notify()

    def try_take(self, now: float) -> tuple[list[tuple[float, T]] | None, float | None]:
        """Take a batch if the rule allows at `now`; else say how long until it might.

        Returns (batch, None) with (enqueue_time, item) pairs, or (None, seconds_to_wait), or
        (None, None) when nothing is queued. The caller must hold no lock; this takes it.
        """
        with self._cond:
            return self._try_take_locked(now)

    def _try_take_locked(self, now: float) -> tuple[list[tuple[float, T]] | None, float | None]:
        if not self._items:
            return None, None
        if self._in_flight and not self._closed and len(self._items) < self.max_batch_size:
            waited = now - self._items[0][0]
            if waited < self.max_batch_delay_s:
                return None, self.max_batch_delay_s - waited
        share = -(-len(self._items) // self.workers)  # ceil: the other workers take the rest
        count = min(self.max_batch_size, share)
        batch = [self._items.popleft() for _ in range(count)]
        self._in_flight += 1
        if self._items:
            self._cond.notify()
        return batch, None

    def next_batch(self) -> list[tuple[float, T]] | None:
        """Block until a batch is due; None once the batcher is closed and empty."""
        with self._cond:
            while True:
                batch, wait_s = self._try_take_locked(self._clock.now())
                if batch is not None:
                    return batch
                if self._closed:
                    return None
                self._cond.wait(wait_s)

    def alone(self) -> bool:
        """True when exactly one batch is taken (the caller's) and nothing is queued."""
        with self._cond:
            return self._in_flight == 1 and not self._items

    def done(self) -> None:
        """Mark one taken batch finished; waiting workers re-evaluate the rule."""
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def close(self) -> None:
        """Stop accepting items; workers drain what is queued, then get None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
