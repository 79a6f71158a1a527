"""The Markdown report of `make bench`: medians over rounds, ratios within rounds, targets."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from typing import Any

from bench.common import markdown_table


def _median(values: list[float]) -> float:
    return statistics.median(values)


def median_rows(rounds: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Per-concurrency medians of every numeric field over the rounds; counts are summed."""
    merged = []
    for cells in zip(*(r[key] for r in rounds), strict=True):
        row: dict[str, Any] = {"concurrency": cells[0]["concurrency"]}
        for field, value in cells[0].items():
            if field == "concurrency":
                continue
            if isinstance(value, int | float):
                row[field] = _median([c[field] for c in cells])
            elif isinstance(value, dict):
                total: Counter[str] = Counter()
                for c in cells:
                    total.update(c[field])
                row[field] = dict(total)
        merged.append(row)
    return merged


def batching_ratios(rounds: list[dict[str, Any]]) -> list[float]:
    """Per concurrency, the median over rounds of on/off req/s, each ratio taken within its round.

    On and off are loaded in alternating blocks within a round so that they share its drift; a
    ratio of medians would set one round's "on" against another round's "off".
    """
    return [
        _median([on["throughput"] / off["throughput"] for on, off in cells])
        for cells in zip(*(zip(r["zmq_on"], r["zmq_off"], strict=True) for r in rounds), strict=True)
    ]


def overload_runs(open_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The open-loop runs at the highest offered rate (twice the saturation), measured repeatedly."""
    top = max(r["fraction"] for r in open_rows)
    return [r for r in open_rows if r["fraction"] == top]


def open_points(open_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per offered rate, for the plot: of repeated runs, the one with the median p99."""
    points = []
    for fraction in sorted({r["fraction"] for r in open_rows}):
        runs = sorted((r for r in open_rows if r["fraction"] == fraction), key=lambda r: r["p99_ms"])
        points.append(runs[(len(runs) - 1) // 2])
    return points


def _offered(row: dict[str, Any]) -> str:
    run = row.get("run")
    return f"{row['rate']}/s ({row['fraction']}×)" + (f" run {run}" if run else "")


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _share(fraction: float | None) -> str:
    """A share of CPU time, or a dash where it was not measured (older results, not Linux)."""
    return "—" if fraction is None or math.isnan(fraction) else f"{fraction:.1%}"


def _per_round(values: list[float], fmt: str) -> str:
    return ", ".join(format(v, fmt) for v in values)


def render(
    sweep: dict[str, float],
    singles: dict[str, float],
    best: str,
    intra: int,
    rounds: list[dict[str, Any]],
    open_rows: list[dict[str, Any]],
    threads: int,
) -> str:
    limits = [r["limit"] for r in rounds]
    single = [r["single_ms"] for r in rounds]
    on, off = median_rows(rounds, "zmq_on"), median_rows(rounds, "zmq_off")
    sat_ratio = [r["saturation"]["zmq"] / r["saturation"]["limit"] for r in rounds]
    c1_gap = [r["zmq_ms"] - r["single_ms"] for r in rounds]
    batching = batching_ratios(rounds)
    out = [
        f"## zinfer benchmark — {threads} cores, EfficientNet-Lite0, 640×480 JPEG, "
        f"{len(rounds)} interleaved rounds",
        "",
        "Reproduce: `make bench` (writes bench-results/). Each round measures the in-process limit, the",
        "concurrency-1 latencies, the ZeroMQ sweeps and the end-to-end sweep back to back; ratios are taken",
        "within a round, tables show medians over the rounds. Compared things are measured paired: the",
        "in-process single image, one call through ZeroMQ, a bare ZeroMQ round trip and one HTTP request",
        "alternate in blocks of ten calls; the servers with batching on and off are loaded in alternating",
        "blocks at each concurrency, and their ratio is taken within each round.",
        "",
        "### In-process (decode + preprocess + inference, no transport)",
        "",
        markdown_table(
            [f"runtime / batch ({threads} threads)", "images/s (sweep, two alternating blocks)"],
            [[k, f"{v:.1f}"] for k, v in sweep.items()],
        ),
        "",
        markdown_table(
            ["runtime / intra-op threads", "single image p50 ms (sweep)"],
            [[k, f"{v:.2f}"] for k, v in singles.items()],
        ),
        "",
        f"Best configuration: **{best}**; in the rounds: {_per_round(limits, '.1f')} images/s "
        f"(median **{_median(limits):.1f}**). Single image with the server's settings "
        f"({best.split('/', maxsplit=1)[0]}, {intra} intra-op threads): {_per_round(single, '.2f')} ms "
        f"(median **{_median(single):.2f} ms**).",
        "",
        "### Concurrency 1, paired (p50 ms; blocks of ten calls of each, alternating)",
        "",
        "'ZeroMQ, no model' is a bare round trip (a `ping`: the client's I/O thread, the proxy and the",
        "server's I/O thread, there and back): the transport's share of the ZeroMQ gap. The rest is",
        "the hand-off to an inference worker and back, and moving the upload. 'Host steal' is the",
        "share of CPU time the hypervisor kept for others during the block (bench/hoststeal.py):",
        "wake-ups, and so these gaps, are slower on a busy host.",
        "",
        markdown_table(
            [
                "round",
                "in-process single image",
                "through ZeroMQ",
                "ZeroMQ, no model",
                "HTTP end to end",
                "host steal",
            ],
            [
                [
                    str(i + 1),
                    f"{r['single_ms']:.2f}",
                    f"{r['zmq_ms']:.2f} ({r['zmq_ms'] - r['single_ms']:+.2f})",
                    f"{r['ping_ms']:.2f}" if "ping_ms" in r else "—",
                    f"{r['http_ms']:.2f} ({r['http_ms'] - r['single_ms']:+.2f})" if "http_ms" in r else "—",
                    _share(r.get("c1_steal")),
                ]
                for i, r in enumerate(rounds)
            ],
        ),
        "",
        "### Saturation, paired (req/s: the in-process limit, and the served paths at the top concurrency)",
        "",
        "Two blocks of each, alternating; the ratios in the targets below are taken from this table.",
        "",
        markdown_table(
            ["round", *rounds[0]["saturation"], "host steal (whole round)"],
            [
                [str(i + 1), *(f"{v:.1f}" for v in r["saturation"].values()), _share(r.get("steal"))]
                for i, r in enumerate(rounds)
            ],
        ),
        "",
        "### Through the client over ZeroMQ (real server process, closed loop)",
        "",
        markdown_table(
            [
                "concurrency",
                "on: req/s",
                "on: p50 ms",
                "on: p99 ms",
                "off: req/s",
                "off: p50 ms",
                "off: p99 ms",
                "on/off (in round, median)",
                "errors",
            ],
            [
                [
                    str(a["concurrency"]),
                    f"{a['throughput']:.1f}",
                    f"{a['p50_ms']:.2f}",
                    f"{a['p99_ms']:.2f}",
                    f"{b['throughput']:.1f}",
                    f"{b['p50_ms']:.2f}",
                    f"{b['p99_ms']:.2f}",
                    f"{ratio:.3f}",
                    str(sum(a["errors"].values()) + sum(b["errors"].values())),
                ]
                for a, b, ratio in zip(on, off, batching, strict=True)
            ],
        ),
        "",
        "| target | measured (per round) | median | met |",
        "|---|---|---|---|",
        f"| saturation through ZeroMQ ≥ 90% of the in-process limit | {_per_round(sat_ratio, '.1%')} | "
        f"{_median(sat_ratio):.1%} | {_met(_median(sat_ratio) >= 0.9)} |",
        f"| concurrency-1 p50 within 1 ms of the in-process single image | {_per_round(c1_gap, '+.2f')} ms | "
        f"{_median(c1_gap):+.2f} ms | {_met(_median(c1_gap) <= 1.0)} |",
        f"| batching on never > 5% worse than off (req/s on/off within a round, median per concurrency) | "
        f"{_per_round(batching, '.3f')} | min {min(batching):.3f} | {_met(min(batching) >= 0.95)} |",
    ]
    if open_rows:
        out += _e2e(rounds, open_rows)
    return "\n".join(out) + "\n"


def _e2e(rounds: list[dict[str, Any]], open_rows: list[dict[str, Any]]) -> list[str]:
    closed = median_rows(rounds, "e2e")
    ratio = [r["saturation"]["e2e"] / r["saturation"]["limit"] for r in rounds]
    gap = [r["http_ms"] - r["single_ms"] for r in rounds]
    overload = overload_runs(open_rows)
    statuses: Counter[str] = Counter()
    for run in overload:
        statuses.update(run["statuses"])
    bad = sum(v for k, v in statuses.items() if k not in ("200", "429"))
    dropped = sum(r["dropped_iterations"] for r in overload)
    p99_429 = [r["p99_429_ms"] for r in overload if r["statuses"].get("429")]
    p50_429 = _per_round([r["p50_429_ms"] for r in overload], ".2f")
    max_429 = max(r["max_429_ms"] for r in overload)
    nice = overload[0].get("k6_nice", 0)

    def codes(st: dict[str, int]) -> str:
        return ", ".join(f"{k}: {v}" for k, v in st.items() if v)

    return [
        "",
        "### End to end: HTTP POST /api/v1/predict (multipart), gunicorn + Flask + client + ZeroMQ,"
        " closed loop",
        "",
        markdown_table(
            ["concurrency", "req/s (200)", "p50 ms", "p99 ms", "responses by status (all rounds)"],
            [
                [
                    str(r["concurrency"]),
                    f"{r['throughput_ok']:.1f}",
                    f"{r['p50_ms']:.2f}",
                    f"{r['p99_ms']:.2f}",
                    codes(r["statuses"]),
                ]
                for r in closed
            ],
        ),
        "",
        "### End to end, open loop (constant arrival rate, fractions of the closed-loop saturation)",
        "",
        markdown_table(
            [
                "offered",
                "req/s (200)",
                "p50 ms",
                "p99 ms",
                "429 p50 ms",
                "429 p99 ms",
                "429 max ms",
                "responses by status",
                "not sent (k6 out of VUs)",
                "host steal",
            ],
            [
                [
                    _offered(r),
                    f"{r['throughput_ok']:.1f}",
                    f"{r['p50_ms']:.2f}",
                    f"{r['p99_ms']:.2f}",
                    f"{r['p50_429_ms']:.2f}",
                    f"{r['p99_429_ms']:.2f}",
                    f"{r['max_429_ms']:.2f}",
                    codes(r["statuses"]),
                    str(r["dropped_iterations"]),
                    _share(r.get("steal")),
                ]
                for r in open_rows
            ],
        ),
        "",
        f"The overload point ran {len(overload)} times. k6 ran "
        + (f"at nice {nice}, ahead of the stack it measures" if nice else "at the default priority")
        + " (docs/benchmarks.md says why).",
        "",
        "| target | measured (per round) | median | met |",
        "|---|---|---|---|",
        f"| end-to-end saturation ≥ 75% of the in-process limit | {_per_round(ratio, '.1%')} | "
        f"{_median(ratio):.1%} | {_met(_median(ratio) >= 0.75)} |",
        f"| p50 at concurrency 1 within 3 ms of the in-process single image | {_per_round(gap, '+.2f')} ms | "
        f"{_median(gap):+.2f} ms | {_met(_median(gap) <= 3.0)} |",
        f"| at 2× saturation only 200 or 429, no 5xx, nothing hung (all runs) | "
        f"{codes(dict(statuses))}; other: {bad}, not sent: {dropped} | | {_met(bad == 0 and dropped == 0)} |",
        f"| … the 429s within 10 ms (p99 per run; p50 {p50_429} ms, max {max_429:.2f} ms) | "
        f"{_per_round(p99_429, '.2f')} ms | "
        + (
            f"{_median(p99_429):.2f} ms | {_met(_median(p99_429) <= 10.0)} |" if p99_429 else "no 429 | yes |"
        ),
        "",
        "![latency against throughput](latency-throughput.png)",
    ]
