"""A ROUTER that answers like a model server, for client tests that need no model."""

from __future__ import annotations

import threading
from typing import Any

import zmq

from modelserver.protocol import (
    ProtocolError,
    Reply,
    Request,
    Status,
    decode_request,
    encode_reply,
    request_id_of,
)


class FakeServer:
    """Answers `infer` with one label echoing what it got, `ping` with ready; keeps every request.

    Malformed requests get INVALID_INPUT, as from the real server.
    """

    def __init__(self, host: str = "127.0.0.1", *, ipv6: bool = False) -> None:
        self.context: zmq.Context[Any] = zmq.Context()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        if ipv6:
            self.socket.setsockopt(zmq.IPV6, 1)
        port = self.socket.bind_to_random_port(f"tcp://{host}")
        self.endpoint = f"tcp://{host}:{port}"
        self.requests: list[Request] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.socket.poll(50):
                continue
            identity, _, *frames = self.socket.recv_multipart()
            try:
                request = decode_request(frames)
            except ProtocolError as exc:
                reply = Reply(id=request_id_of(frames), status=Status.INVALID_INPUT, message=str(exc))
            else:
                self.requests.append(request)
                reply = self._answer(request)
            self.socket.send_multipart([identity, b"", *encode_reply(reply)])

    @staticmethod
    def _answer(request: Request) -> Reply:
        if request.op == "ping":
            return Reply(id=request.id, status=Status.OK, body={"ready": True})
        if request.op == "models":
            return Reply(id=request.id, status=Status.OK, body={"models": []})
        assert request.infer is not None
        label = {"label": "echo", "class_id": request.infer.top_k, "score": float(len(request.payload[0]))}
        body = {"model": request.infer.model, "version": request.infer.version or 1, "predictions": [label]}
        return Reply(id=request.id, status=Status.OK, body=body)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close(linger=0)
        self.context.term()
