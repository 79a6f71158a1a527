"""Prometheus metrics of one model-server instance (names in DESIGN §3, units in the suffix).

Each server owns its registry, so several servers can run in one test process. Histogram buckets
resolve milliseconds: CPU inference here is 2–50 ms, and queueing under overload reaches seconds.
`modelserver_queue_depth` is the autoscaling signal: requests admitted but not yet computing.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["ServerMetrics"]

LATENCY_BUCKETS = (
    0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
    0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)


class ServerMetrics:
    """The metric objects, registered in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.queue_depth = Gauge(
            "modelserver_queue_depth",
            "Requests admitted and not yet taken by an inference worker.",
            registry=r,
        )
        self.inflight = Gauge(
            "modelserver_inflight_requests", "Requests admitted and not yet answered.", registry=r
        )
        self.requests = Counter(
            "modelserver_requests", "Requests answered, by model and status.", ["model", "status"], registry=r
        )
        self.request_duration = Histogram(
            "modelserver_request_duration_seconds",
            "Time from receipt to reply of infer requests.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_wait = Histogram(
            "modelserver_queue_wait_seconds",
            "Time a request waited for a worker and for its batch, excluding its own decoding.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.decode_duration = Histogram(
            "modelserver_decode_duration_seconds",
            "Time to decode and preprocess one input.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.inference_duration = Histogram(
            "modelserver_inference_duration_seconds",
            "Time to compute one batch.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "modelserver_batch_size",
            "Requests per computed batch.",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.model_info = Gauge(
            "modelserver_model_info",
            "1 for each model version being served.",
            ["model", "version", "runtime"],
            registry=r,
        )
        self.ready = Gauge(
            "modelserver_ready", "1 when every model is warmed and the server is not draining.", registry=r
        )
