"""`make bench`: every benchmark in one run, so the ratios compare like with like.

  1. in-process limit (no transport) and single-image latency
  2. through the client over ZeroMQ, batching on and off
  3. end to end over HTTP (gunicorn + Flask + client + ZeroMQ), closed and open loop
Results: bench-results/results.md (tables and targets), results.json, latency-throughput.png.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bench import e2e_bench, modelserver_bench
from bench.common import markdown_table, test_jpeg
from bench.stack import web_stack

ROOT = Path(__file__).resolve().parents[1]


def e2e_report(
    closed: list[dict[str, object]], open_rows: list[dict[str, object]], limit: float, single_ms: float
) -> str:
    def f(value: object) -> str:
        return f"{value:.1f}" if isinstance(value, float) else str(value)

    closed_table = markdown_table(
        ["concurrency", "req/s (200)", "p50 ms", "p99 ms", "responses by status"],
        [
            [
                str(r["concurrency"]),
                f(r["throughput_ok"]),
                f"{r['p50_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                ", ".join(f"{k}: {v}" for k, v in r["statuses"].items() if v),
            ]
            for r in closed
        ],
    )
    open_table = markdown_table(
        [
            "offered rate",
            "req/s (200)",
            "p50 ms",
            "p99 ms",
            "429 p99 ms",
            "429 max ms",
            "responses by status",
            "not sent (k6 ran out of VUs)",
        ],
        [
            [
                f"{r['rate']}/s ({r['fraction']}×)",
                f(r["throughput_ok"]),
                f"{r['p50_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                f"{r['p99_429_ms']:.2f}",
                f"{r['max_429_ms']:.2f}",
                ", ".join(f"{k}: {v}" for k, v in r["statuses"].items() if v),
                str(r["dropped_iterations"]),
            ]
            for r in open_rows
        ],
    )
    saturation = max(float(r["throughput_ok"]) for r in closed)
    c1 = float(closed[0]["p50_ms"])
    overload = open_rows[-1]
    st = overload["statuses"]
    bad = sum(v for k, v in st.items() if k not in ("200", "429"))
    fast_429 = float(overload["p99_429_ms"])
    return "\n".join(
        [
            "### End to end: HTTP POST /api/v1/predict (multipart, 640×480 JPEG), closed loop",
            "",
            closed_table,
            "",
            "### End to end, open loop (constant arrival rate, fractions of the closed-loop saturation)",
            "",
            open_table,
            "",
            "| target | measured | met |",
            "|---|---|---|",
            f"| end-to-end saturation ≥ 75% of the in-process limit | {saturation:.1f} / {limit:.1f} = "
            f"{saturation / limit:.1%} | {'yes' if saturation >= 0.75 * limit else 'NO'} |",
            f"| p50 at concurrency 1 within 3 ms of in-process single image | {c1:.2f} vs {single_ms:.2f} ms "
            f"(+{c1 - single_ms:.2f} ms) | {'yes' if c1 - single_ms <= 3.0 else 'NO'} |",
            f"| at 2× saturation only 200/429, no 5xx, none hung | other responses: {bad} "
            f"| {'yes' if bad == 0 else 'NO'} |",
            f"| … and the 429s within 10 ms | 429 p99 {fast_429:.2f} ms, "
            f"max {float(overload['max_429_ms']):.2f} ms "
            f"| {'yes' if not st['429'] or fast_429 <= 10 else 'NO'} |",
            "",
            "![latency against throughput](latency-throughput.png)",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repository", type=Path, default=ROOT / "models")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    parser.add_argument("--concurrency", default="1,2,4,8,16,32")
    parser.add_argument("--skip-e2e", action="store_true", help="only the model-server part")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    image = test_jpeg()
    image_path = args.out / "bench-640x480.jpg"
    image_path.write_bytes(image)
    server_env: dict[str, str] = {}
    print("1/3 in-process limit ...", file=sys.stderr)
    limit = modelserver_bench.in_process(args.repository, image, args.seconds, os.cpu_count() or 2)
    print("2/3 through ZeroMQ ...", file=sys.stderr)
    zmq_runs = modelserver_bench.through_zmq(
        args.repository, image, args.seconds, concurrencies, args.out, server_env
    )
    sections = [modelserver_bench.report(limit, zmq_runs, server_env)]
    results: dict[str, object] = {"in_process": limit, "zmq": zmq_runs}
    if not args.skip_e2e:
        print("3/3 end to end over HTTP ...", file=sys.stderr)
        best = max(limit["throughput"].values())
        single = modelserver_bench.single_image_ms(limit, server_env)
        with web_stack(args.repository, args.out, server_env) as stack:
            closed = e2e_bench.closed_sweep(stack.base_url, image_path, args.out, concurrencies, args.seconds)
            saturation = max(r["throughput_ok"] for r in closed)
            open_rows = e2e_bench.open_sweep(
                stack.base_url, image_path, args.out, saturation, args.seconds * 2
            )
        e2e_bench.plot(closed, open_rows, best, args.out / "latency-throughput.png")
        sections.append(e2e_report(closed, open_rows, best, single))
        results["e2e"] = {"closed": closed, "open": open_rows}
    header = (
        f"## zinfer benchmark — {os.cpu_count()} cores, EfficientNet-Lite0, one run\n\n"
        "Reproduce: `make bench` (writes bench-results/).\n"
    )
    text = "\n\n".join([header, *sections]) + "\n"
    (args.out / "results.md").write_text(text)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
