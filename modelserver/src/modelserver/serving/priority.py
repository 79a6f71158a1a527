"""Inference threads run behind the I/O threads: a higher nice value for the calling thread.

The I/O thread's work is short and on every request's path — admitting or refusing at once,
forwarding replies — while a batch computes for tens of milliseconds. When the CPU is contended
(saturation, or neighbours on the same cores) the kernel then runs the short work first instead
of letting it wait behind a compute time slice. On Linux the nice value belongs to the thread, and
threads a thread starts inherit it (LiteRT's XNNPACK pool threads are started by the worker that
creates the interpreter). TensorFlow's own thread pools are process-wide and keep their priority.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)

MAX_NICE = 19


def lower_thread_priority(increment: int) -> int | None:
    """Add `increment` to this thread's nice value (capped at 19); returns the new value.

    None when nothing changed: increment 0, or a platform without per-thread nice values.
    Raising one's own nice value needs no privilege, so failure is only logged.
    """
    if increment <= 0 or not hasattr(os, "setpriority"):
        return None
    thread = threading.get_native_id()
    try:
        nice = min(MAX_NICE, os.getpriority(os.PRIO_PROCESS, thread) + increment)
        os.setpriority(os.PRIO_PROCESS, thread, nice)
    except OSError as exc:
        log.warning("could not lower the priority of compute thread %d: %s", thread, exc)
        return None
    return nice
