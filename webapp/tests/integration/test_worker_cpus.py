"""WEBAPP_WORKER_CPUS=auto on real gunicorn: each worker and all its threads stay on their own CPU."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.integration.conftest import ModelServer, start_webapp, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs at least two CPUs"),
]


def _workers(arbiter: int) -> list[int]:
    children = Path(f"/proc/{arbiter}/task/{arbiter}/children").read_text().split()
    return [int(pid) for pid in children]


def _cpus_of_every_thread(pid: int) -> set[str]:
    lists = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("Cpus_allowed_list:"):
                lists.add(line.split(":", 1)[1].strip())
    return lists


def test_workers_get_distinct_cpus_and_a_respawned_one_takes_the_freed_cpu(
    logs: Path, modelserver: ModelServer
) -> None:
    app = start_webapp(logs, modelserver.endpoint, name="webapp-cpus", workers=2, worker_cpus="auto")
    try:
        arbiter = app.proc.process.pid
        wait_until(lambda: len(_workers(arbiter)) == 2, 30, "two gunicorn workers")
        # Ready means the worker's threads (pool, model client I/O) exist and inherited the CPU.
        wait_until(lambda: app.proc.log().count("pinned to CPU") >= 2, 30, "both workers pinned")
        first = {pid: _cpus_of_every_thread(pid) for pid in _workers(arbiter)}
        assert all(len(cpus) == 1 and "-" not in next(iter(cpus)) for cpus in first.values()), first
        assert len({next(iter(cpus)) for cpus in first.values()}) == 2, first
        assert len(_cpus_of_every_thread(arbiter)) == 1 and "-" in next(iter(_cpus_of_every_thread(arbiter)))

        victim, survivor = sorted(first)
        os.kill(victim, signal.SIGKILL)
        wait_until(
            lambda: len(workers := _workers(arbiter)) == 2 and victim not in workers, 30, "a respawned worker"
        )
        (replacement,) = set(_workers(arbiter)) - {survivor}
        wait_until(lambda: app.proc.log().count("pinned to CPU") >= 3, 30, "the new worker pinned")
        assert _cpus_of_every_thread(replacement) == first[victim]
    finally:
        assert app.proc.stop() == 0, app.proc.log()
