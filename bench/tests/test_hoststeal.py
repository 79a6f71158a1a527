"""Steal time is read from /proc/stat's first line, as a share of all CPU time between readings."""

from __future__ import annotations

import math
from pathlib import Path

from bench.hoststeal import StealMeter, cpu_times


def _stat(path: Path, user: int, idle: int, steal: int) -> None:
    # user nice system idle iowait irq softirq steal guest guest_nice; guest is inside user.
    path.write_text(f"cpu  {user} 0 10 {idle} 0 0 0 {steal} 50 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")


def test_steal_is_a_share_of_all_cpu_time_without_counting_guest_twice(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    _stat(stat, user=100, idle=100, steal=0)
    times = cpu_times(stat)
    assert times is not None and (times.steal, times.total) == (0, 210)
    meter = StealMeter(stat)
    _stat(stat, user=160, idle=120, steal=20)
    assert meter.fraction() == 20 / 100


def test_no_proc_stat_or_no_time_passed_reads_as_not_measured(tmp_path: Path) -> None:
    assert math.isnan(StealMeter(tmp_path / "missing").fraction())
    stat = tmp_path / "stat"
    _stat(stat, user=1, idle=1, steal=0)
    assert math.isnan(StealMeter(stat).fraction())


def test_this_machine_reads_a_share_between_zero_and_one() -> None:
    meter = StealMeter()
    sum(range(200_000))
    share = meter.fraction()
    assert math.isnan(share) or 0.0 <= share <= 1.0
