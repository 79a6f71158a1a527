"""A connection that drops and comes back within one monitor read still retries its lost calls."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import pytest
import zmq

from modelserver.client import Unavailable
from modelserver.client._endpoint import Call
from modelserver.client._engine import Engine
from modelserver.protocol import ImageInput, InferRequest, Reply, Request


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[list[Any]] = []

    def send_multipart(self, frames: list[Any], flags: int = 0, copy: bool = True) -> None:
        self.sent.append(frames)


class FakeEndpoint:
    """What Engine needs of an Endpoint; `events` is what the next monitor read returns."""

    def __init__(self, address: str, events: Sequence[int] = ()) -> None:
        self.address = address
        self.connected = True
        self.retiring = False
        self.outstanding: dict[str, Call] = {}
        self.full_until = 0.0
        self.socket = FakeSocket()
        self.events = [int(code) for code in events]

    def read_monitor(self) -> list[int]:
        events, self.events = self.events, []
        for code in events:
            self.connected = code == zmq.EVENT_HANDSHAKE_SUCCEEDED
        return events

    def is_full(self, now: float) -> bool:
        return False

    def close(self) -> None:
        pass


def _engine(*endpoints: FakeEndpoint) -> Engine:
    """The real Engine's routing, without its I/O thread, context or resolver."""
    engine = Engine.__new__(Engine)
    engine._endpoints = {e.address: e for e in endpoints}  # type: ignore[misc]
    engine._calls = {}
    engine._waiting = deque()
    engine._deadlines = []
    engine._rotation = 0
    engine._poller_stale = False
    engine._any_connected = threading.Event()
    engine.outstanding = 0
    return engine


def _sent_on(engine: Engine, endpoint: FakeEndpoint) -> Call:
    request = Request(id="r1", op="infer", infer=InferRequest(model="m", input=ImageInput()), payload=[b"x"])
    call = Call(request=request, deadline=time.monotonic() + 30, future=Future[Reply]())
    call.attempts, call.tried, call.endpoint = 1, {endpoint.address}, endpoint.address
    engine._calls[request.id] = call
    endpoint.outstanding[request.id] = call
    return call


BOUNCE: list[int] = [zmq.EVENT_DISCONNECTED, zmq.EVENT_HANDSHAKE_SUCCEEDED]  # dropped and back, in one read


def test_calls_lost_in_a_quick_reconnect_are_retried_elsewhere() -> None:
    first, second = FakeEndpoint("tcp://a:1", BOUNCE), FakeEndpoint("tcp://b:1")
    engine = _engine(first, second)
    call = _sent_on(engine, first)
    engine._on_monitor(first)  # type: ignore[arg-type]
    assert first.connected
    assert not first.outstanding
    assert second.outstanding == {"r1": call}
    assert len(second.socket.sent) == 1
    assert call.endpoint == second.address and not call.future.done()


def test_calls_lost_in_a_quick_reconnect_fail_at_once_with_nowhere_else_to_go() -> None:
    only = FakeEndpoint("tcp://a:1", BOUNCE)
    engine = _engine(only)
    call = _sent_on(engine, only)
    engine._on_monitor(only)  # type: ignore[arg-type]
    assert only.connected and not only.outstanding and not engine._calls
    with pytest.raises(Unavailable, match="lost the connection"):
        call.future.result(timeout=0)
