"""Model-server benchmark: the in-process limit against the same work through ZeroMQ.

In one run on one machine:
  1. In-process limit: decode + preprocess + inference with no sockets, for each runtime and
     batch size, on as many threads as cores; and the single-image latency (one thread).
  2. Through the client over ZeroMQ to a real server process: closed loop at concurrency 1–32,
     batching on (model config) and off (max_batch_size=1): throughput, p50, p99.
Run by `python -m bench` (make bench) together with the end-to-end part.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from modelserver.settings import Settings

from bench.common import closed_loop, markdown_table
from bench.stack import model_server

ROOT = Path(__file__).resolve().parents[1]
MODEL = "efficientnet-lite0"


def in_process(repository: Path, image: bytes, seconds: float, threads: int) -> dict[str, Any]:
    """Decode + inference without any transport, per runtime and batch size."""
    import numpy as np
    from modelserver.imaging.decode import decode_image
    from modelserver.imaging.transforms import to_input_tensor
    from modelserver.repository import load_config
    from modelserver.repository.config import ModelConfig
    from modelserver.runtime import load_runtime
    from modelserver.serving.preprocess import decode_size

    version_dir = max(
        (p for p in (repository / MODEL).iterdir() if p.name.isdigit()), key=lambda p: int(p.name)
    )
    base = load_config(version_dir)
    results: dict[str, Any] = {"throughput": {}, "single_image_ms": {}}
    for runtime_name in ("litert", "tensorflow"):
        config = ModelConfig.model_validate(base.model_dump() | {"runtime": runtime_name})
        for intra in (1, 2):
            factory = load_runtime(config, version_dir, intra)
            session = factory.session()

            def one(s: Any = session, c: ModelConfig = config) -> None:
                img = decode_image(image, min_size=decode_size(c), max_pixels=10**8)
                s.run(to_input_tensor(img, c.input, c.preprocessing)[None])

            for _ in range(20):
                one()
            single = closed_loop(one, 1, seconds)
            results["single_image_ms"][f"{runtime_name}/intra{intra}"] = single.percentile_ms(50)
        for batch in config.batching.buckets:
            factory = load_runtime(config, version_dir, 1)
            sessions: dict[int, Any] = {}

            def work(
                b: int = batch, c: ModelConfig = config, f: Any = factory, sessions: dict[int, Any] = sessions
            ) -> None:
                import threading

                ident = threading.get_ident()
                if ident not in sessions:
                    sessions[ident] = f.session()
                tensors = [
                    to_input_tensor(
                        decode_image(image, min_size=decode_size(c), max_pixels=10**8),
                        c.input,
                        c.preprocessing,
                    )
                    for _ in range(b)
                ]
                sessions[ident].run(np.stack(tensors))

            for _ in range(3):
                work()
            run = closed_loop(work, threads, seconds)
            results["throughput"][f"{runtime_name}/batch{batch}"] = run.throughput * batch
            print(
                f"  in-process {runtime_name} batch {batch} x{threads} threads: "
                f"{run.throughput * batch:.1f} img/s",
                file=sys.stderr,
            )
    return results


def through_zmq(
    repository: Path,
    image: bytes,
    seconds: float,
    concurrencies: list[int],
    out: Path,
    server_env: dict[str, str],
) -> dict[str, Any]:
    from modelserver.client import ModelClient

    results: dict[str, Any] = {}
    for mode, env in (("batching on", {}), ("batching off", {"MODELSERVER_MAX_BATCH_SIZE": "1"})):
        log = out / "bench-modelserver.log"
        with (
            model_server(repository, log, {**server_env, **env}) as endpoint,
            ModelClient(endpoint, timeout_ms=30_000) as client,
        ):
            for _ in range(50):
                client.predict(MODEL, image)
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
                print(
                    f"  zmq {mode} c={c}: {run.throughput:.1f}/s p50 {run.percentile_ms(50):.2f} ms "
                    f"p99 {run.percentile_ms(99):.2f} ms errors {dict(run.errors)}",
                    file=sys.stderr,
                )
            results[mode] = rows
    return results


def single_image_ms(limit: dict[str, Any], server_env: dict[str, str]) -> float:
    """In-process single-image latency with the runtime and intra-op threads the server uses."""
    best_key = max(limit["throughput"], key=limit["throughput"].get)
    runtime = best_key.split("/")[0]
    intra = server_env.get("MODELSERVER_INTRA_OP_THREADS", str(Settings().intra_op_threads))
    return float(limit["single_image_ms"][f"{runtime}/intra{intra}"])


def report(limit: dict[str, Any], zmq_runs: dict[str, Any], server_env: dict[str, str]) -> str:
    best_key = max(limit["throughput"], key=limit["throughput"].get)
    best = limit["throughput"][best_key]
    runtime = best_key.split("/")[0]
    intra = server_env.get("MODELSERVER_INTRA_OP_THREADS", str(Settings().intra_op_threads))
    single = single_image_ms(limit, server_env)
    lines = [
        "### In-process limit (decode + preprocess + inference, no transport)",
        "",
        markdown_table(
            ["runtime / batch", "images/s (2 threads)"],
            [[k, f"{v:.1f}"] for k, v in limit["throughput"].items()],
        ),
        "",
        markdown_table(
            ["runtime / intra-op threads", "single image p50 (ms)"],
            [[k, f"{v:.2f}"] for k, v in limit["single_image_ms"].items()],
        ),
        "",
        f"Best: **{best_key} = {best:.1f} images/s**; single-image latency with the server's "
        f"settings ({runtime}, {intra} intra-op thread): **{single:.2f} ms**.",
        "",
        "### Through the client over ZeroMQ (real server process, closed loop)",
        "",
    ]
    rows = []
    on, off = zmq_runs["batching on"], zmq_runs["batching off"]
    for a, b in zip(on, off, strict=True):
        rows.append(
            [
                str(a["concurrency"]),
                f"{a['throughput']:.1f}",
                f"{a['p50_ms']:.2f}",
                f"{a['p99_ms']:.2f}",
                f"{b['throughput']:.1f}",
                f"{b['p50_ms']:.2f}",
                f"{b['p99_ms']:.2f}",
                str(sum(a["errors"].values()) + sum(b["errors"].values())),
            ]
        )
    lines.append(
        markdown_table(
            [
                "concurrency",
                "on: req/s",
                "on: p50 ms",
                "on: p99 ms",
                "off: req/s",
                "off: p50 ms",
                "off: p99 ms",
                "errors",
            ],
            rows,
        )
    )
    saturation = max(r["throughput"] for r in on + off)
    worst = min(a["throughput"] / b["throughput"] for a, b in zip(on, off, strict=True))
    c1 = on[0]["p50_ms"]
    lines += [
        "",
        "| target | measured | met |",
        "|---|---|---|",
        f"| saturation through ZeroMQ ≥ 90% of in-process limit | {saturation:.1f} / {best:.1f} = "
        f"{saturation / best:.1%} | {'yes' if saturation >= 0.9 * best else 'NO'} |",
        f"| concurrency-1 p50 within 1 ms of in-process single image | {c1:.2f} vs {single:.2f} ms "
        f"(+{c1 - single:.2f} ms) | {'yes' if c1 - single <= 1.0 else 'NO'} |",
        f"| batching on never > 5% worse than off (throughput) | worst ratio on/off = {worst:.3f} | "
        f"{'yes' if worst >= 0.95 else 'NO'} |",
    ]
    return "\n".join(lines)
