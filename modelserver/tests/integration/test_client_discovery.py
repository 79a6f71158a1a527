"""A DNS name that resolves to several servers (a headless Service): connect to all, follow changes."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from modelserver.client import ModelClient, ModelServerError
from tests.conftest import ServerProcess, free_port, wait_until
from tests.integration.test_resilience import metric

pytestmark = pytest.mark.integration

NAME = "modelserver-headless.zinfer.test"


@pytest.fixture
def two_servers_same_port(tmp_path: Any, model_repository: Any) -> Any:
    port = free_port()
    servers = []
    for i, ip in enumerate(("127.0.0.2", "127.0.0.3")):
        server = ServerProcess(
            model_repository, {"MODELSERVER_MODELS": "efficientnet-lite0"}, tmp_path / f"s{i}.log"
        )
        server.env["MODELSERVER_BIND"] = f"tcp://{ip}:{port}"
        server.port = port
        servers.append(server)
    for server in servers:
        server.start(wait_ready=False)
    for server in servers:
        server.wait_ready()
    yield port, servers
    for server in servers:
        server.kill()


def test_client_follows_the_addresses_a_name_resolves_to(
    two_servers_same_port: Any, monkeypatch: pytest.MonkeyPatch, photos: dict[str, bytes]
) -> None:
    port, (first, second) = two_servers_same_port
    answer = ["127.0.0.2"]
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == NAME:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in list(answer)]
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    failures: list[str] = []
    done: list[int] = []
    stop = threading.Event()
    with ModelClient(f"tcp://{NAME}:{port}", resolve_interval_s=0.1, timeout_ms=20_000) as client:

        def load() -> None:
            while not stop.is_set():
                try:
                    client.predict("efficientnet-lite0", photos["chelsea"], top_k=1)
                    done.append(1)
                except ModelServerError as exc:
                    failures.append(repr(exc))

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: len(done) >= 10, 60, "traffic to the first address")
            assert metric(second, "modelserver_requests_total") == 0  # not resolved yet: no traffic
            answer.append("127.0.0.3")  # a new pod became ready
            wait_until(
                lambda: metric(second, "modelserver_requests_total") >= 10, 60, "traffic to the new address"
            )
            answer.remove("127.0.0.2")  # a pod went away from DNS (still running, draining)
            wait_until(
                lambda: len(client._get_engine().connected_addresses()) == 1, 30, "the old address dropped"
            )
            served_by_first = metric(first, "modelserver_requests_total")
            before = len(done)
            wait_until(lambda: len(done) >= before + 20, 60, "more traffic")
            # Requests sent after the drop all went to the remaining server (at most the ones in flight).
            assert metric(first, "modelserver_requests_total") <= served_by_first + 4
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
    assert failures == []
