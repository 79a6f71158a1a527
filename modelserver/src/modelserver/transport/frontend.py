"""ROUTER frontend (clients connect here) joined to an inproc DEALER backend by a C-level proxy.

This is the tutorial design's spine: the proxy moves messages without the GIL, and whatever
serves the backend sees each request with its routing envelope, so replies find their client.
"""

from __future__ import annotations

import logging
import threading
import uuid

import zmq

log = logging.getLogger(__name__)


class Frontend:
    """Binds the frontend and backend and runs `zmq.proxy_steerable` between them."""

    def __init__(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        bind: str,
        *,
        sndhwm: int,
        rcvhwm: int,
        heartbeat_ivl_ms: int,
        heartbeat_timeout_ms: int,
        max_message_bytes: int,
    ) -> None:
        self._context = context
        self.backend_address = f"inproc://backend-{uuid.uuid4().hex}"
        self._control_address = f"inproc://proxy-control-{uuid.uuid4().hex}"
        router = context.socket(zmq.ROUTER)
        # No ROUTER_MANDATORY: zmq_proxy stops at the first failed send, so a reply to a client that
        # has gone away must be dropped silently (the client's own deadline covers it), not raise.
        router.setsockopt(zmq.LINGER, 1000)
        router.setsockopt(zmq.SNDHWM, sndhwm)
        router.setsockopt(zmq.RCVHWM, rcvhwm)
        router.setsockopt(zmq.MAXMSGSIZE, max_message_bytes)  # hard cap; a peer over it is disconnected
        # Dual stack: `tcp://*:5576` then listens on IPv6 and IPv4 alike (libzmq falls back to IPv4
        # alone where the kernel has no IPv6), so pods in IPv6 and dual-stack clusters are reached.
        router.setsockopt(zmq.IPV6, 1)
        if heartbeat_ivl_ms:
            router.setsockopt(zmq.HEARTBEAT_IVL, heartbeat_ivl_ms)
            router.setsockopt(zmq.HEARTBEAT_TIMEOUT, heartbeat_timeout_ms)
            router.setsockopt(zmq.HEARTBEAT_TTL, heartbeat_timeout_ms)
        router.bind(bind)
        self.endpoint: str = router.getsockopt_string(zmq.LAST_ENDPOINT)
        backend = context.socket(zmq.DEALER)
        backend.setsockopt(zmq.LINGER, 1000)
        backend.setsockopt(zmq.SNDHWM, sndhwm)
        backend.setsockopt(zmq.RCVHWM, rcvhwm)
        backend.bind(self.backend_address)
        control = context.socket(zmq.PAIR)
        control.bind(self._control_address)
        self._router, self._backend, self._control = router, backend, control
        self._controller = context.socket(zmq.PAIR)
        self._controller.connect(self._control_address)
        self._thread = threading.Thread(target=self._run, name="zmq-proxy", daemon=True)
        self._stopping = False
        self.failed = False  # the proxy ended without being asked to: /healthz reports it

    def start(self) -> None:
        self._thread.start()
        log.info("frontend listening on %s", self.endpoint)

    def _run(self) -> None:
        try:
            zmq.proxy_steerable(self._router, self._backend, None, self._control)
        except zmq.ContextTerminated:
            pass
        except zmq.ZMQError:
            log.exception("the frontend proxy failed; this server can no longer answer")
        finally:
            self.failed = not self._stopping
            for socket in (self._router, self._backend, self._control):
                socket.close()

    def stop(self) -> None:
        """Stop the proxy; the frontend's LINGER lets replies already sent leave."""
        self._stopping = True
        if self._thread.is_alive():
            self._controller.send(b"TERMINATE")
            self._thread.join()
        self._controller.close(linger=0)
