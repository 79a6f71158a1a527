"""The io_cpus setting: parsing, resolution against the allowed CPUs, and pinning one thread."""

from __future__ import annotations

import os
import threading

import pytest

from modelserver.transport.affinity import (
    parse_cpu_list,
    pin_current_thread,
    resolve_io_cpus,
    unpin_current_thread,
)


@pytest.mark.parametrize(
    ("text", "cpus"), [("3", {3}), ("0,2", {0, 2}), ("0-3,6", {0, 1, 2, 3, 6}), (" 1 , 2 ", {1, 2})]
)
def test_cpu_lists_read_like_cpusets(text: str, cpus: set[int]) -> None:
    assert parse_cpu_list(text) == cpus


@pytest.mark.parametrize("text", ["", "a", "1;2", "3-1", "-1"])
def test_malformed_cpu_lists_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="CPU"):
        parse_cpu_list(text)


def test_resolution() -> None:
    four = frozenset({0, 1, 2, 3})
    assert resolve_io_cpus("", four) == set()
    assert resolve_io_cpus("auto", four) == {3}
    assert resolve_io_cpus("auto", frozenset({5})) == set()  # one CPU: nothing to keep apart
    assert resolve_io_cpus("1-2", four) == {1, 2}
    assert resolve_io_cpus("auto", None) == set()  # a platform without thread affinity


def test_cpus_outside_the_allowed_set_stop_the_server() -> None:
    with pytest.raises(ValueError, match=r"may not use \(\[7\]\)"):
        resolve_io_cpus("1,7", frozenset({0, 1}))


needs_two_cpus = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs thread affinity and at least two CPUs",
)


@needs_two_cpus
def test_pinning_changes_only_the_calling_thread_and_is_inherited() -> None:
    allowed = frozenset(os.sched_getaffinity(0))
    target = frozenset({max(allowed)})
    seen: dict[str, set[int]] = {}

    def started_by_pinned() -> None:
        seen["inherited"] = os.sched_getaffinity(0)
        unpin_current_thread(allowed)
        seen["unpinned"] = os.sched_getaffinity(0)

    def pinned() -> None:
        pin_current_thread(target)
        seen["pinned"] = os.sched_getaffinity(0)
        child = threading.Thread(target=started_by_pinned)
        child.start()
        child.join()

    thread = threading.Thread(target=pinned)
    thread.start()
    thread.join()
    assert seen == {"pinned": target, "inherited": target, "unpinned": allowed}
    assert os.sched_getaffinity(0) == allowed  # the test's own thread was never touched


def test_pinning_nothing_is_a_no_op() -> None:
    before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    pin_current_thread(frozenset())
    unpin_current_thread(None)
    if before is not None:
        assert os.sched_getaffinity(0) == before
