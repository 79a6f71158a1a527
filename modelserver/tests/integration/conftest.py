"""Helpers for talking to a real server over raw ZeroMQ sockets, below the client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

pytestmark = pytest.mark.integration


class RawClient:
    """A bare DEALER socket speaking the wire protocol, for tests that need exact control."""

    def __init__(self, endpoint: str) -> None:
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(endpoint)

    def send(
        self, request_id: str, payload: bytes | None, model: str = "efficientnet-lite0", **header: Any
    ) -> None:
        fields: dict[str, Any] = {
            "v": 1,
            "id": request_id,
            "op": "infer",
            "model": model,
            "input": {"kind": "image"},
        }
        fields.update(header)
        frames = [b"", json.dumps(fields).encode()]
        if payload is not None:
            frames.append(payload)
        self.socket.send_multipart(frames)

    def send_frames(self, frames: list[bytes]) -> None:
        self.socket.send_multipart([b"", *frames])

    def recv(self, timeout_ms: int = 30_000) -> dict[str, Any]:
        if not self.socket.poll(timeout_ms):
            raise TimeoutError("no reply")
        frames = self.socket.recv_multipart()
        assert frames[0] == b""
        header: dict[str, Any] = json.loads(frames[1])
        header["_payload"] = frames[2:]
        return header

    def close(self) -> None:
        if not self.socket.closed:
            self.socket.close(linger=0)
            self.context.term()


@pytest.fixture
def raw_client() -> Iterator[Any]:
    clients: list[RawClient] = []

    def make(endpoint: str) -> RawClient:
        client = RawClient(endpoint)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
