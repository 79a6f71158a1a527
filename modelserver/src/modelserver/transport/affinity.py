"""The I/O threads kept together on chosen CPUs, so a reply's hand-offs happen on a warm core.

A reply crosses four threads in the server: worker → I/O loop → proxy → libzmq's I/O thread. Each
hand-off wakes the next thread. When the scheduler wakes it on a core that went idle during the
inference, that core must be woken first; on a virtual machine that is an exit to the hypervisor
(here 0.1 ms or more per wake-up). Pinned to one CPU, the I/O threads hand off to each other on a
core that is already running. Paired at concurrency 1 on this 2-core VM: the call through ZeroMQ
came 0.5-1.3 ms closer to the in-process single image, with the same saturation throughput.

Off by default. On a node shared by many pods, every pod's "auto" would choose the same CPU;
it suits cores that are the server's own (Kubernetes' static CPU manager policy, a dedicated VM).
Threads inherit the affinity of the thread that starts them, so compute threads started from a
pinned thread must call `unpin_current_thread` (the decode pool's initializer does).
"""

from __future__ import annotations

import logging
import os
import re

log = logging.getLogger(__name__)

_CPU_LIST = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


def parse_cpu_list(text: str) -> frozenset[int]:
    """CPUs named like Linux's cpuset lists: "3", "0,2", "0-3,6"."""
    text = text.replace(" ", "")
    if not _CPU_LIST.match(text):
        raise ValueError(f"not a CPU list: {text!r} (examples: 3 / 0,2 / 0-3)")
    cpus: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        low, high = int(first), int(last or first)
        if high < low:
            raise ValueError(f"CPU range {part!r} runs backwards")
        cpus.update(range(low, high + 1))
    return frozenset(cpus)


def allowed_cpus() -> frozenset[int] | None:
    """The CPUs this process may run on; None where the platform cannot pin threads."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return frozenset(os.sched_getaffinity(0))


def resolve_io_cpus(spec: str, allowed: frozenset[int] | None) -> frozenset[int]:
    """The CPUs for the I/O threads from the `io_cpus` setting; empty means "do not pin".

    "auto" takes the highest-numbered allowed CPU (housekeeping and interrupts tend to favour the
    low ones), and nothing when the process has a single CPU. A list must lie within the allowed
    CPUs: a typo should stop the server at start, not leave it on a core it may not use.
    """
    spec = spec.strip()
    if not spec or allowed is None:
        if spec and allowed is None:
            log.warning("io_cpus=%s ignored: this platform cannot pin threads", spec)
        return frozenset()
    if spec == "auto":
        return frozenset({max(allowed)}) if len(allowed) > 1 else frozenset()
    cpus = parse_cpu_list(spec)
    if not cpus <= allowed:
        raise ValueError(
            f"io_cpus {spec!r} names CPUs this process may not use "
            f"({sorted(cpus - allowed)}); allowed: {sorted(allowed)}"
        )
    return cpus


def pin_current_thread(cpus: frozenset[int]) -> None:
    """Run the calling thread only on `cpus` (no-op when empty)."""
    if cpus:
        os.sched_setaffinity(0, cpus)


def unpin_current_thread(allowed: frozenset[int] | None) -> None:
    """Let the calling thread run on every allowed CPU again (compute started by a pinned thread)."""
    if allowed:
        os.sched_setaffinity(0, allowed)
