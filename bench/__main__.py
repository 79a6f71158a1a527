"""`make bench`: the in-process limit, the served path over ZeroMQ and end to end, in one run.

This machine's speed drifts by tens of percent over minutes, so the parts are interleaved: each
round measures the in-process limit, the concurrency-1 latencies, the ZeroMQ sweeps and the
end-to-end sweep back to back, and every ratio is computed within a round; tables show per-cell
medians over the rounds. What the targets compare is measured paired (bench/paired.py): the
in-process single image, one call through ZeroMQ, a bare ZeroMQ round trip (ping) and one HTTP
request alternate in blocks of ten calls; batching on and off alternate in blocks at each
concurrency. An open-loop sweep up to twice the saturation rate follows.
Results: bench-results/results.md (tables and targets), results.json, latency-throughput.png.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Callable
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelserver.client import ModelClient
from modelserver.settings import Settings

from bench import e2e_bench, inprocess, report
from bench.common import closed_loop, test_jpeg
from bench.hoststeal import StealMeter
from bench.modelserver_bench import MODEL, zmq_sweeps
from bench.paired import MultipartPoster, alternating_rates, p50_ms, sequential_latencies
from bench.stack import Stack, model_server, web_stack

ROOT = Path(__file__).resolve().parents[1]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def in_process_sweep(
    repository: Path, image: bytes, threads: int, seconds: float
) -> tuple[dict[str, float], dict[str, float]]:
    """images/s per runtime × batch, and single-image p50 per runtime × intra-op threads.

    The configurations are measured in alternating blocks, as compared things are everywhere else
    here: measured one after the other, the drift of this VM's speed picked the "best" one.
    """
    log("in-process sweep (runtime × batch, alternating blocks) to find the best configuration ...")
    measures = {
        f"{runtime}/batch{batch}": inprocess.throughput(repository, image, runtime, batch, threads)
        for runtime in ("litert", "tensorflow")
        for batch in (1, 2, 4, 8)
    }
    sweep = alternating_rates(measures, seconds)
    for name, rate in sweep.items():
        log(f"  {name} × {threads} threads: {rate:.1f}/s")
    singles = {
        f"{runtime}/intra{n}": inprocess.single_image(repository, image, runtime, n)(seconds)
        for runtime in ("litert", "tensorflow")
        for n in (1, 2)
    }
    return sweep, singles


@dataclass(frozen=True)
class RoundPlan:
    """What every round measures, built once."""

    limit: Callable[[float], float]
    singles_c1: dict[str, Callable[[], object]]
    clients: dict[str, ModelClient]
    web: Stack | None
    image: bytes
    image_path: Path
    concurrencies: list[int]
    args: argparse.Namespace


def saturation_measures(plan: RoundPlan) -> dict[str, Callable[[float], float]]:
    """The in-process limit and the served paths at the top concurrency, as rates over `seconds`."""
    top = max(plan.concurrencies)
    client, web = plan.clients["on"], plan.web
    measures: dict[str, Callable[[float], float]] = {
        "limit": plan.limit,
        "zmq": lambda s: closed_loop(lambda: client.predict(MODEL, plan.image), top, s).throughput,
    }
    if web is not None:
        measures["e2e"] = lambda s: e2e_bench.k6(
            web.base_url,
            plan.image_path,
            plan.args.out,
            "saturation",
            {"MODE": "closed", "VUS": str(top), "DURATION": f"{s}s"},
        )["throughput_ok"]
    return measures


def measure_round(plan: RoundPlan) -> dict[str, Any]:
    """In-process limit, paired concurrency-1 latencies, ZeroMQ sweeps, end-to-end sweep."""
    seconds, web = plan.args.seconds, plan.web
    whole_round = StealMeter()
    entry: dict[str, Any] = {"limit": plan.limit(seconds)}
    c1_block = StealMeter()
    paired = sequential_latencies(plan.singles_c1, seconds * 1.5)
    entry["c1_steal"] = c1_block.fraction()
    entry.update({f"{name}_ms": p50_ms(values) for name, values in paired.items()})
    sweeps = zmq_sweeps(plan.clients, plan.image, plan.concurrencies, seconds)
    entry["zmq_on"], entry["zmq_off"] = sweeps["on"], sweeps["off"]
    entry["saturation"] = alternating_rates(saturation_measures(plan), seconds)
    if web is not None:
        entry["e2e"] = e2e_bench.closed_sweep(
            web.base_url, plan.image_path, plan.args.out, plan.concurrencies, seconds
        )
    entry["steal"] = whole_round.fraction()
    log(
        f"  limit {entry['limit']:.1f}/s, c=1 p50: single {entry['single_ms']:.2f} ms, zmq "
        f"{entry['zmq_ms']:.2f} ms, ping {entry['ping_ms']:.2f} ms"
        + (f", http {entry['http_ms']:.2f} ms" if web else "")
        + "; saturation (paired): "
        + ", ".join(f"{name} {rate:.1f}/s" for name, rate in entry["saturation"].items())
        + f"; host steal {entry['steal']:.1%} (concurrency 1: {entry['c1_steal']:.1%})"
    )
    return entry


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repository", type=Path, default=ROOT / "models")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each measurement")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    parser.add_argument("--concurrency", default="1,2,4,8,16,32")
    parser.add_argument("--skip-e2e", action="store_true", help="only the model-server part")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for stale in args.out.glob("*.log"):
        stale.unlink()
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    image = test_jpeg()
    image_path = (args.out / "bench-640x480.jpg").resolve()
    image_path.write_bytes(image)
    threads = os.cpu_count() or 2
    # The server runs a lone request on lone_request_threads: compare with the same in-process.
    settings = Settings()
    intra = max(settings.intra_op_threads, settings.lone_request_threads)

    sweep, singles = in_process_sweep(args.repository, image, threads, args.seconds)
    best = max(sweep, key=lambda key: sweep[key])
    best_runtime, best_batch = best.split("/")[0], int(best.split("batch")[1])
    limit_measure = inprocess.throughput(args.repository, image, best_runtime, best_batch, threads)
    single_call = inprocess.single_image_call(args.repository, image, best_runtime, intra)

    rounds: list[dict[str, Any]] = []
    with ExitStack() as stack:
        servers = {
            "on": stack.enter_context(model_server(args.repository, args.out / "bench-modelserver-on.log")),
            "off": stack.enter_context(
                model_server(
                    args.repository,
                    args.out / "bench-modelserver-off.log",
                    {"MODELSERVER_MAX_BATCH_SIZE": "1"},
                )
            ),
        }
        clients = {
            mode: stack.enter_context(ModelClient(ep, timeout_ms=30_000)) for mode, ep in servers.items()
        }
        for client in clients.values():
            for _ in range(50):
                client.predict(MODEL, image)
        web = None if args.skip_e2e else stack.enter_context(web_stack(args.repository, args.out))
        singles_c1: dict[str, Callable[[], object]] = {
            "single": single_call,
            "zmq": lambda: clients["on"].predict(MODEL, image),
            # The bare round trip (client I/O thread, proxy, server I/O thread; no payload, no
            # worker): the part of the ZeroMQ gap that is transport, not serving the image.
            "ping": clients["on"].ready,
        }
        if web is not None:
            e2e_bench.k6(
                web.base_url, image_path, args.out, "warmup", {"MODE": "closed", "VUS": "4", "DURATION": "3s"}
            )
            singles_c1["http"] = stack.enter_context(closing(MultipartPoster(web.base_url, image)))
        plan = RoundPlan(limit_measure, singles_c1, clients, web, image, image_path, concurrencies, args)
        for r in range(args.rounds):
            log(f"round {r + 1}/{args.rounds} ...")
            rounds.append(measure_round(plan))
        open_rows: list[dict[str, Any]] = []
        if web is not None:
            saturation = statistics.median(max(x["throughput_ok"] for x in e["e2e"]) for e in rounds)
            log(f"open loop around the e2e saturation of {saturation:.1f}/s ...")
            open_rows = e2e_bench.open_sweep(web.base_url, image_path, args.out, saturation, args.seconds * 2)

    text = report.render(sweep, singles, best, intra, rounds, open_rows, threads)
    if open_rows:
        e2e_bench.plot(
            report.median_rows(rounds, "e2e"),
            report.open_points(open_rows),
            statistics.median(e["limit"] for e in rounds),
            args.out / "latency-throughput.png",
        )
    (args.out / "results.md").write_text(text)
    (args.out / "results.json").write_text(
        json.dumps(
            {"sweep": sweep, "single": singles, "best": best, "rounds": rounds, "open": open_rows}, indent=2
        )
    )
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
