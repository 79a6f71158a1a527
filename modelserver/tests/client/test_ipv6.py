"""The client reaches servers at IPv6 addresses, as the resolver writes them (bracketed)."""

from __future__ import annotations

import pytest

from modelserver.client import ModelClient
from tests.client.fake_server import FakeServer
from tests.conftest import has_ipv6_loopback


@pytest.mark.skipif(not has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_a_server_on_an_ipv6_address_answers() -> None:
    server = FakeServer("[::1]", ipv6=True)
    try:
        with ModelClient(server.endpoint, timeout_ms=5_000, connect_timeout_ms=5_000) as client:
            assert client.predict("m", b"abc", top_k=1).predictions[0].class_id == 1
    finally:
        server.close()


def test_ipv4_still_works_on_the_dual_stack_socket() -> None:
    server = FakeServer("127.0.0.1")
    try:
        with ModelClient(server.endpoint, timeout_ms=5_000) as client:
            assert client.predict("m", b"abc", top_k=1).predictions[0].class_id == 1
    finally:
        server.close()
