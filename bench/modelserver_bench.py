"""The served path through the client over ZeroMQ: closed-loop sweeps against a real server."""

from __future__ import annotations

from typing import Any

from modelserver.client import ModelClient

from bench.common import closed_loop

MODEL = "efficientnet-lite0"


def zmq_sweep(
    client: ModelClient, image: bytes, concurrencies: list[int], seconds: float
) -> list[dict[str, Any]]:
    """Throughput, p50 and p99 at each concurrency, with errors counted by type."""
    rows = []
    for c in concurrencies:
        run = closed_loop(lambda: client.predict(MODEL, image), c, seconds)
        rows.append(
            {
                "concurrency": c,
                "throughput": run.throughput,
                "p50_ms": run.percentile_ms(50),
                "p99_ms": run.percentile_ms(99),
                "errors": dict(run.errors),
            }
        )
    return rows
