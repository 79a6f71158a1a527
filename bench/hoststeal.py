"""How much of this machine's CPU time the host kept for others while a measurement ran.

On a virtual machine, Linux counts as *steal* the time a virtual CPU was ready to run and the host
ran something else, including a halted virtual CPU's wait for the host to run it once another's
hand-off has woken it.
A latency that depends on wake-ups (concurrency 1, a cheap 429 on saturated cores) grows with it,
so the report puts it next to those figures: a slow round on a busy host is told apart from slow
code. Read from the first line of /proc/stat; NaN where there is none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")


@dataclass(frozen=True)
class CpuTimes:
    steal: int
    total: int


def cpu_times(stat: Path = PROC_STAT) -> CpuTimes | None:
    """All CPUs' steal and total time so far (in clock ticks), or None off Linux."""
    try:
        fields = stat.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is already
    # counted in user and nice, so the total is the first eight.
    ticks = [int(v) for v in fields[1:9]]
    return CpuTimes(steal=ticks[7], total=sum(ticks))


class StealMeter:
    """Steal as a fraction of all CPU time since the meter was made."""

    def __init__(self, stat: Path = PROC_STAT) -> None:
        self._stat = stat
        self._start = cpu_times(stat)

    def fraction(self) -> float:
        end = cpu_times(self._stat)
        if self._start is None or end is None or end.total <= self._start.total:
            return math.nan
        return (end.steal - self._start.steal) / (end.total - self._start.total)
