"""WEBAPP_WORKER_CPUS=auto: each gunicorn worker gets the CPU its live siblings use least."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from webapp.cpus import assign_cpu, least_used_cpu


def test_least_used_cpu_spreads_and_refills() -> None:
    assert least_used_cpu([0, 1], []) == 0
    assert least_used_cpu([0, 1], [0]) == 1
    assert least_used_cpu([0, 1], [0, 1]) == 0
    assert least_used_cpu([5, 3, 7], [3, None, 5]) == 7  # None: a sibling never assigned
    assert least_used_cpu([0, 1, 2], [1, 2, 0, 2]) == 0  # a respawn takes the freed CPU


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs thread affinity and at least two CPUs",
)
def test_the_arbiter_assigns_distinct_cpus_to_live_workers() -> None:
    server = SimpleNamespace(WORKERS={})
    allowed = sorted(os.sched_getaffinity(0))
    for pid in range(len(allowed)):
        worker = SimpleNamespace()
        assign_cpu(server, worker)
        server.WORKERS[pid] = worker
    assert sorted(w.zinfer_cpu for w in server.WORKERS.values()) == allowed
    freed = server.WORKERS.pop(1).zinfer_cpu  # a worker dies; its replacement takes its CPU
    replacement = SimpleNamespace()
    assign_cpu(server, replacement)
    assert replacement.zinfer_cpu == freed
