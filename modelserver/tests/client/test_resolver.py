"""Endpoint specs parse strictly; names resolve to every address; failures keep the last answer."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from modelserver.client import ModelClient
from modelserver.client._resolver import parse_endpoints, resolve


def test_parse_comma_separated_and_lists() -> None:
    assert parse_endpoints("tcp://a:1, tcp://b:2") == [("a", 1), ("b", 2)]
    assert parse_endpoints(["tcp://127.0.0.1:5576"]) == [("127.0.0.1", 5576)]
    assert parse_endpoints("modelserver:5576") == [("modelserver", 5576)]


@pytest.mark.parametrize("spec", ["", "http://a:1", "tcp://a", " , "])
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_endpoints(spec)


def test_ip_literals_need_no_dns() -> None:
    assert resolve([("127.0.0.1", 5), ("::1", 6)]) == frozenset({"tcp://127.0.0.1:5", "tcp://[::1]:6"})


def test_a_name_resolves_to_its_addresses() -> None:
    assert "tcp://127.0.0.1:7" in resolve([("localhost", 7)])


def test_a_failed_lookup_keeps_the_previous_addresses() -> None:
    previous = frozenset({"tcp://10.0.0.9:7"})
    assert resolve([("no-such-host.invalid", 7)], previous) == previous


def test_a_slow_dns_answer_does_not_block_the_caller_that_builds_the_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer = threading.Event()
    real_getaddrinfo = socket.getaddrinfo

    def slow_getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "slow.zinfer.test":
            answer.wait(30)
            return real_getaddrinfo("127.0.0.1", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    client = ModelClient("tcp://slow.zinfer.test:1", resolve_interval_s=60)
    built = threading.Thread(target=client._get_engine, daemon=True)
    began = time.monotonic()
    built.start()
    built.join(timeout=5)
    try:
        assert not built.is_alive(), "building the engine waited for DNS"
        assert time.monotonic() - began < 5
    finally:
        answer.set()
        built.join(timeout=30)
        client.close()
