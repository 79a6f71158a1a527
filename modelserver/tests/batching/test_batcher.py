"""The batching rule, driven with a fake clock: no delay when idle, fill while busy."""

from __future__ import annotations

import threading

import pytest

from modelserver.batching import Batcher


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def now(self) -> float:
        return self.t


def make(max_batch_size: int = 4, delay_s: float = 0.002) -> tuple[Batcher[int], FakeClock]:
    clock = FakeClock()
    return Batcher(max_batch_size, delay_s, clock), clock


def items(batch: list[tuple[float, int]] | None) -> list[int]:
    assert batch is not None
    return [item for _, item in batch]


def test_idle_batcher_dispatches_a_single_request_at_once() -> None:
    batcher, clock = make()
    batcher.put(1)
    batch, wait = batcher.try_take(clock.now())
    assert items(batch) == [1] and wait is None


def test_idle_batcher_takes_everything_queued_up_to_the_max() -> None:
    batcher, clock = make(max_batch_size=3)
    for i in range(5):
        batcher.put(i)
    assert items(batcher.try_take(clock.now())[0]) == [0, 1, 2]


def test_while_busy_a_partial_batch_waits_for_the_delay() -> None:
    batcher, clock = make(max_batch_size=4, delay_s=0.002)
    batcher.put(0)
    batcher.try_take(clock.now())  # one batch in flight now
    batcher.put(1)
    batch, wait = batcher.try_take(clock.now())
    assert batch is None and wait == pytest.approx(0.002)
    clock.t += 0.001
    batcher.put(2)
    batch, wait = batcher.try_take(clock.now())
    assert batch is None and wait == pytest.approx(0.001)
    clock.t += 0.001
    assert items(batcher.try_take(clock.now())[0]) == [1, 2]


def test_while_busy_a_full_batch_goes_at_once() -> None:
    batcher, clock = make(max_batch_size=2, delay_s=1.0)
    batcher.put(0)
    batcher.try_take(clock.now())
    batcher.put(1)
    batcher.put(2)
    assert items(batcher.try_take(clock.now())[0]) == [1, 2]


def test_when_the_busy_batch_finishes_the_waiting_partial_batch_goes_at_once() -> None:
    batcher, clock = make(max_batch_size=8, delay_s=1.0)
    batcher.put(0)
    batcher.try_take(clock.now())
    batcher.put(1)
    assert batcher.try_take(clock.now())[0] is None
    batcher.done()
    assert items(batcher.try_take(clock.now())[0]) == [1]


def test_batch_size_one_turns_batching_off() -> None:
    batcher, clock = make(max_batch_size=1, delay_s=1.0)
    for i in range(3):
        batcher.put(i)
    assert items(batcher.try_take(clock.now())[0]) == [0]
    assert items(batcher.try_take(clock.now())[0]) == [1]  # full batch: no wait even while busy


def test_empty_batcher_has_nothing_to_wait_for() -> None:
    batcher, clock = make()
    assert batcher.try_take(clock.now()) == (None, None)


def test_close_drains_then_ends_workers() -> None:
    batcher: Batcher[int] = Batcher(4, 10.0)
    batcher.put(0)
    batcher.next_batch()
    batcher.put(1)
    batcher.close()
    assert items(batcher.next_batch()) == [1]  # closing flushes the partial batch without the delay
    assert batcher.next_batch() is None
    with pytest.raises(RuntimeError):
        batcher.put(2)


def test_next_batch_wakes_a_blocked_worker() -> None:
    batcher: Batcher[int] = Batcher(4, 0.0)
    got: list[list[int]] = []
    worker = threading.Thread(target=lambda: got.append(items(batcher.next_batch())))
    worker.start()
    batcher.put(7)
    worker.join(timeout=5)
    assert got == [[7]]


def test_invalid_knobs_are_refused() -> None:
    with pytest.raises(ValueError):
        Batcher(0, 0.0)
    with pytest.raises(ValueError):
        Batcher(1, -1.0)


def test_alone_only_for_the_only_batch_with_nothing_queued() -> None:
    batcher, clock = make(max_batch_size=1)
    batcher.put(1)
    batcher.try_take(clock.now())
    assert batcher.alone()  # the caller's batch, nothing else: a lone request
    batcher.put(2)
    assert not batcher.alone()  # someone is waiting
    batcher.try_take(clock.now())
    assert not batcher.alone()  # two batches computing
    batcher.done()
    assert batcher.alone()
    batcher.done()
    assert not batcher.alone()  # nothing taken at all


def test_a_worker_takes_only_its_share_of_the_queue() -> None:
    clock = FakeClock()
    batcher: Batcher[int] = Batcher(8, 0.0, clock, workers=2)
    for i in range(5):
        batcher.put(i)
    assert items(batcher.try_take(clock.now())[0]) == [0, 1, 2]  # ceil(5 / 2): the other gets 2
    assert items(batcher.try_take(clock.now())[0]) == [3]
    assert items(batcher.try_take(clock.now())[0]) == [4]
