"""How worker threads hand finished replies to the I/O thread that owns the intake socket.

Each worker thread gets its own PUSH socket (thread-local) connected to the I/O thread's PULL;
sending is then lock-free and wakes the I/O thread's poller. A thread that ends releases its
socket: hot swaps retire worker threads, and the context allows only so many sockets.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence

import zmq

from modelserver.protocol import Reply, encode_reply

Buffer = bytes | memoryview | zmq.Frame


class ReplyChannel:
    """Per-thread PUSH sockets → one PULL socket read by the I/O thread."""

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]]) -> None:
        self._context = context
        self.address = f"inproc://replies-{uuid.uuid4().hex}"
        self.pull = context.socket(zmq.PULL)
        self.pull.setsockopt(zmq.RCVHWM, 0)  # bounded by admission control, never drop a reply
        self.pull.bind(self.address)
        self._local = threading.local()
        self._sockets: list[zmq.Socket[bytes]] = []
        self._lock = threading.Lock()

    def _socket(self) -> zmq.Socket[bytes]:
        socket: zmq.Socket[bytes] | None = getattr(self._local, "socket", None)
        if socket is None:
            socket = self._context.socket(zmq.PUSH)
            socket.setsockopt(zmq.SNDHWM, 0)
            socket.setsockopt(zmq.LINGER, 0)
            socket.connect(self.address)
            self._local.socket = socket
            with self._lock:
                self._sockets.append(socket)
        return socket

    def send(self, envelope: Sequence[Buffer], reply: Reply) -> None:
        """Queue `reply` for the client behind `envelope` (any thread)."""
        self._socket().send_multipart([*envelope, *encode_reply(reply)], copy=False)

    def release(self) -> None:
        """Close the calling thread's socket, if it has one (call when the thread ends).

        Replies already sent still arrive: inproc messages are handed to the PULL side's pipe.
        """
        socket: zmq.Socket[bytes] | None = getattr(self._local, "socket", None)
        if socket is None:
            return
        self._local.socket = None
        with self._lock:
            if socket in self._sockets:
                self._sockets.remove(socket)
        socket.close(linger=0)

    @property
    def open_sockets(self) -> int:
        """How many thread sockets are held (a test and leak check)."""
        with self._lock:
            return len(self._sockets)

    def close(self) -> None:
        with self._lock:
            for socket in self._sockets:
                socket.close(linger=0)
            self._sockets.clear()
        self.pull.close(linger=0)
