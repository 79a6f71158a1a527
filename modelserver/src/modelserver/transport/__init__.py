"""The server's ZeroMQ sockets: ROUTER frontend ↔ DEALER backend proxy, and the I/O loop.

Sockets are not thread-safe, so each has one owning thread: the proxy thread owns the frontend
and backend, the I/O thread owns the intake socket; worker threads hand replies to the I/O
thread through per-thread PUSH sockets (see replies.py).
"""

from modelserver.transport.frontend import Frontend
from modelserver.transport.io_loop import IOLoop
from modelserver.transport.replies import ReplyChannel

__all__ = ["Frontend", "IOLoop", "ReplyChannel"]
