"""The small HTTP side port: /healthz (alive), /readyz (warmed and not draining), /metrics.

/healthz fails only when the process can no longer serve (its frontend proxy or I/O thread
died), so a liveness probe restarts it; overload or draining never fail it.

Kept on the standard library's threading HTTP server: three GET routes do not justify a web
framework in the inference process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    server: _HealthServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            alive = self.server.is_alive()
            self._send(200 if alive else 503, b"ok\n" if alive else b"broken\n", "text/plain; charset=utf-8")
        elif path == "/readyz":
            ready = self.server.is_ready()
            self._send(
                200 if ready else 503, b"ready\n" if ready else b"not ready\n", "text/plain; charset=utf-8"
            )
        elif path == "/metrics":
            self._send(200, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)
        else:
            self._send(404, b"not found\n", "text/plain; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # probes every few seconds: keep quiet
        log.debug("http %s", format % args)


class _HealthServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        registry: CollectorRegistry,
        is_ready: Callable[[], bool],
        is_alive: Callable[[], bool],
    ) -> None:
        super().__init__(address, _Handler)
        self.registry = registry
        self.is_ready = is_ready
        self.is_alive = is_alive


class HealthServer:
    """Serves the three routes on its own thread."""

    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        is_ready: Callable[[], bool],
        is_alive: Callable[[], bool],
    ) -> None:
        self._server = _HealthServer((host, port), registry, is_ready, is_alive)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("health and metrics on http://%s:%d", self._server.server_address[0], self.port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
