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
        socket = context.socket(zmq.DEALER)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.IMMEDIATE, 1)  # never queue for a peer that is not connected
        socket.setsockopt(zmq.SNDHWM, options.sndhwm)
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

    def close(self) -> None:
        self.socket.disable_monitor()
        self.monitor.close(linger=0)
        self.socket.close(linger=0)
