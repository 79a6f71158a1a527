"""One model server as the client's I/O thread sees it: a DEALER socket, its state and its calls."""

from __future__ import annotations

import itertools
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from modelserver.protocol import Reply, Request

_MONITORED = zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED | zmq.EVENT_CLOSED
COPY_THRESHOLD = 256 * 1024
# Longest a server that said OVERLOADED is considered full: while calls of ours are outstanding
# there, their answers clock new calls in; with none, other clients filled it, so probe soon.
MAX_FULL_S = 1.0
MAX_FULL_IDLE_S = 0.02
_sequence = itertools.count()


@dataclass(eq=False, slots=True)
class Call:
    """One request until it is answered, failed or timed out."""

    request: Request
    deadline: float
    future: Future[Reply]
    pinned: str | None = None  # send only to this endpoint (pings to every server)
    attempts: int = 0
    tried: set[str] = field(default_factory=set)
    endpoint: str | None = None
    waiting_since: float | None = None
    seq: int = field(default_factory=lambda: next(_sequence))

    def remaining_ms(self, now: float) -> float:
        return max(0.0, (self.deadline - now) * 1000.0)


@dataclass(frozen=True, slots=True)
class SocketOptions:
    heartbeat_ivl_ms: int
    heartbeat_timeout_ms: int
    reconnect_ivl_ms: int
    reconnect_ivl_max_ms: int
    sndhwm: int


class Endpoint:
    """A DEALER connected to one server address, with a monitor telling when it is usable."""

    def __init__(self, context: zmq.Context[Any], address: str, options: SocketOptions) -> None:
        self.address = address
        self.connected = False
        self.retiring = False
        self.outstanding: dict[str, Call] = {}
        self.full_until = 0.0
        self.full_window = 0
        socket = context.socket(zmq.DEALER)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.IMMEDIATE, 1)  # never queue for a peer that is not connected
        # Dual-stack: without it libzmq refuses tcp://[v6]:port, which the resolver produces for
        # IPv6 pods; IPv4 addresses still work.
        socket.setsockopt(zmq.IPV6, 1)
        socket.setsockopt(zmq.SNDHWM, options.sndhwm)
        # Send typical uploads by copy: zero-copy hands each buffer back through pyzmq's garbage
        # thread, one more thread wake-up (and GIL hand-off) per request, dearer than the copy.
        socket.copy_threshold = COPY_THRESHOLD
        socket.setsockopt(zmq.RECONNECT_IVL, options.reconnect_ivl_ms)
        socket.setsockopt(zmq.RECONNECT_IVL_MAX, options.reconnect_ivl_max_ms)
        if options.heartbeat_ivl_ms:
            socket.setsockopt(zmq.HEARTBEAT_IVL, options.heartbeat_ivl_ms)
            socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, options.heartbeat_timeout_ms)
            socket.setsockopt(zmq.HEARTBEAT_TTL, options.heartbeat_timeout_ms)
        self.monitor = socket.get_monitor_socket(_MONITORED)
        socket.connect(address)
        self.socket = socket
        self.connected_at = time.monotonic()

    def read_monitor(self) -> list[int]:
        """Drain monitor events; returns the event codes seen and updates `connected`."""
        events: list[int] = []
        while True:
            try:
                event = recv_monitor_message(self.monitor, zmq.NOBLOCK)
            except zmq.Again:
                return events
            code = int(event["event"])
            events.append(code)
            if code == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.connected = True
            elif code in (zmq.EVENT_DISCONNECTED, zmq.EVENT_CLOSED):
                self.connected = False

    # Back-off after OVERLOADED: the server's queue was full when it answered, so sending more
    # before anything there finishes only buys more rejections, each a round trip the caller
    # waits for under load. For a short while, calls are sent only while fewer of ours are
    # outstanding there than when it refused: one per answer, which clocks sending to the
    # server's pace. Other calls are refused locally, at once.

    def is_full(self, now: float) -> bool:
        return now < self.full_until and len(self.outstanding) >= self.full_window

    def mark_overloaded(self, now: float, retry_after_s: float) -> None:
        """Call after removing the refused call from `outstanding`."""
        self.full_window = len(self.outstanding)
        self.full_until = now + min(retry_after_s, MAX_FULL_S if self.full_window else MAX_FULL_IDLE_S)

    def close(self) -> None:
        self.socket.disable_monitor()
        self.monitor.close(linger=0)
        self.socket.close(linger=0)
