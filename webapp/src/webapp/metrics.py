"""HTTP metrics and the `/metrics` exposition, correct under several gunicorn workers.

gunicorn forks workers, and each would otherwise expose only its own counts. In
prometheus-client's multiprocess mode (`PROMETHEUS_MULTIPROC_DIR` set before the worker imports
prometheus_client; gunicorn's config does that) every worker writes its values to files in that
directory and `/metrics` adds them up, whichever worker answers. gunicorn's `child_exit` hook
marks a dead worker's files so its gauges disappear while its counts are kept.

Labels are the URL rule (`/v2/models/<name>/infer`), never the raw path, so a scanner probing
random URLs cannot blow up the number of series.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = ["LATENCY_BUCKETS_S", "HttpMetrics"]

# Milliseconds matter here: an image is answered in ~5–20 ms, a rejection in < 1 ms.
LATENCY_BUCKETS_S = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
UNMATCHED = "<unmatched>"


class HttpMetrics:
    """Request count by route and status, and latency by route, for one app."""

    def __init__(self, multiproc_dir: Path | None) -> None:
        self._multiproc_dir = multiproc_dir
        # A registry per app: two apps in one process (tests) must not collide in the global one.
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "webapp_http_requests_total",
            "HTTP requests answered, by route template and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "webapp_request_duration_seconds",
            "Time from receiving a request to handing back its response, by route template.",
            ["route"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )

    def install(self, app: Flask) -> None:
        app.before_request(self._start)
        app.after_request(self._observe)

    @staticmethod
    def _start() -> None:
        g.metrics_started = time.perf_counter()

    def _observe(self, response: Response) -> Response:
        started = g.pop("metrics_started", None)
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        self.requests.labels(route=route, status=str(response.status_code)).inc()
        if started is not None:
            self.duration.labels(route=route).observe(time.perf_counter() - started)
        return response

    def exposition(self) -> Response:
        """Every worker's values in multiprocess mode, else this process's."""
        if self._multiproc_dir is not None:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=str(self._multiproc_dir))  # type: ignore[no-untyped-call]
            payload = generate_latest(registry)
        else:
            payload = generate_latest(self.registry)
        return Response(payload, headers={"Content-Type": CONTENT_TYPE_LATEST})
