"""The frontend bound on every address takes clients over IPv4 and, where the host has it, IPv6."""

from __future__ import annotations

import pytest
import zmq

from modelserver.transport.frontend import Frontend
from tests.conftest import has_ipv6_loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]"])
def test_a_wildcard_bind_is_reached_over_both_address_families(host: str) -> None:
    if host == "[::1]" and not has_ipv6_loopback():
        pytest.skip("this host has no IPv6 loopback")
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    frontend = Frontend(
        context,
        "tcp://*:0",
        sndhwm=10,
        rcvhwm=10,
        heartbeat_ivl_ms=0,
        heartbeat_timeout_ms=0,
        max_message_bytes=1 << 20,
    )
    backend = context.socket(zmq.DEALER)
    client = context.socket(zmq.DEALER)
    try:
        backend.connect(frontend.backend_address)
        frontend.start()
        port = frontend.endpoint.rsplit(":", 1)[1]
        client.setsockopt(zmq.IPV6, 1)
        client.connect(f"tcp://{host}:{port}")
        client.send_multipart([b"", b"hello"])
        assert backend.poll(5000), f"nothing arrived over {host}"
        assert backend.recv_multipart()[-1] == b"hello"
    finally:
        frontend.stop()
        backend.close(linger=0)
        client.close(linger=0)
        context.term()
