"""Endpoint specs → concrete `tcp://IP:port` addresses, re-resolved on a thread of their own.

libzmq connects to the first address a name resolves to, so a headless Service (one A record per
ready pod) would get one connection. We resolve the names ourselves and connect to each address;
DNS can block, so it never runs on the I/O thread nor on a calling thread.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

log = logging.getLogger(__name__)


def parse_endpoints(endpoints: str | Sequence[str]) -> list[tuple[str, int]]:
    """`"tcp://a:5576,tcp://b:5576"` or a list of them → [(host, port)]."""
    items = endpoints.split(",") if isinstance(endpoints, str) else list(endpoints)
    parsed = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        url = urlsplit(item if "://" in item else f"tcp://{item}")
        if url.scheme != "tcp" or not url.hostname or url.port is None:
            raise ValueError(f"endpoint {item!r} must look like tcp://HOST:PORT")
        parsed.append((url.hostname, url.port))
    if not parsed:
        raise ValueError("no model-server endpoint given")
    return parsed


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _address(ip: str, port: int) -> str:
    return f"tcp://[{ip}]:{port}" if ":" in ip else f"tcp://{ip}:{port}"


def resolve(specs: Sequence[tuple[str, int]], previous: frozenset[str] = frozenset()) -> frozenset[str]:
    """Every address the specs name now; a name that fails to resolve keeps its previous addresses."""
    addresses: set[str] = set()
    for host, port in specs:
        if _is_ip(host):
            addresses.add(_address(host, port))
            continue
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            log.warning("cannot resolve %s: %s; keeping its previous addresses", host, exc)
            addresses.update(a for a in previous if a.endswith(f":{port}"))
            continue
        addresses.update(_address(str(info[4][0]), port) for info in infos)
    return frozenset(addresses)


class Resolver:
    """Calls `on_change(addresses)` now and whenever the resolved set changes."""

    def __init__(
        self, specs: Sequence[tuple[str, int]], interval_s: float, on_change: Callable[[frozenset[str]], None]
    ) -> None:
        self._specs = list(specs)
        self._interval_s = interval_s
        self._on_change = on_change
        self._stop = threading.Event()
        self._current: frozenset[str] = frozenset()
        self._thread: threading.Thread | None = None
        self.static = all(_is_ip(host) for host, _ in self._specs)

    def start(self) -> None:
        """Report IP literals at once; names are resolved on the resolver's thread, first thing.

        DNS can block for seconds: the caller that builds the client's engine must not wait for
        it (nor hold the client's lock meanwhile). Calls sent before the first answer wait, as
        for any server not yet connected.
        """
        if self.static:
            self._current = resolve(self._specs)
            self._on_change(self._current)
            return
        self._thread = threading.Thread(target=self._run, name="zinfer-client-resolver", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._current = resolve(self._specs)
        self._on_change(self._current)
        while not self._stop.wait(self._interval_s):
            addresses = resolve(self._specs, self._current)
            if addresses != self._current:
                log.info("model servers now %s", sorted(addresses))
                self._current = addresses
                self._on_change(addresses)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
