"""The served path through the client over ZeroMQ: closed-loop sweeps against real servers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelserver.client import ModelClient

from bench.common import LoadResult
from bench.paired import alternating_closed_loops

MODEL = "efficientnet-lite0"


def _row(run: LoadResult) -> dict[str, Any]:
    return {
        "concurrency": run.concurrency,
        "throughput": run.throughput,
        "p50_ms": run.percentile_ms(50),
        "p99_ms": run.percentile_ms(99),
        "errors": dict(run.errors),
    }


def zmq_sweeps(
    clients: Mapping[str, ModelClient], image: bytes, concurrencies: list[int], seconds: float
) -> dict[str, list[dict[str, Any]]]:
    """Per client (e.g. batching on and off): throughput, p50, p99 and errors at each concurrency.

    At each concurrency the servers are loaded in alternating blocks, so they share the drift.
    """
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in clients}
    for c in concurrencies:
        runs = alternating_closed_loops(
            {name: (lambda client=client: client.predict(MODEL, image)) for name, client in clients.items()},
            c,
            seconds,
        )
        for name, run in runs.items():
            rows[name].append(_row(run))
    return rows
