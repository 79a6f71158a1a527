"""Micro-benchmark each model in a repository through both runtimes, on this machine.

Why: which runtime a model's config.json names, how many threads an interpreter gets and which
batch buckets pay off are decisions that need numbers from the target machine, not folklore.
This measures exactly what the server's runtimes do per batch (model-server overhead excluded):

- LiteRT float32: `ai_edge_litert.interpreter.Interpreter(model_path, num_threads=1 | 2)`, input
  resized to the batch size and allocated once; a call is set_tensor + invoke + get_tensor.
- TensorFlow: the SavedModel's `serve` wrapped in a `tf.function` with a fixed [None, H, W, C]
  input signature, intra-op threads 2, inter-op 1; a call is tf.constant + call + .numpy().

Per model, runtime and batch size (1, 2, 4, 8): warm-up calls, then timed calls (>= 200 at
batch 1), repeated in rounds; reported are the best round's median and p90 latency per call,
images/s = batch / median, and how much CPU other processes used meanwhile (this machine is
shared: a row with a high figure there is contaminated, rerun when the machine is quiet).

    .venv/bin/python modelserver/tools/runtime_microbench.py [--repository models] [--json out.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[2]
Array = npt.NDArray[np.float32]


def _machine_busy_s() -> float:
    """CPU-seconds the whole machine has spent busy since boot (all cores, /proc/stat)."""
    with open("/proc/stat", encoding="ascii") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


def _measure(call: Callable[[], object], warmup: int, calls: int) -> dict[str, float]:
    """Median / p90 of `calls` timed calls, and how busy *other* processes kept the CPUs meanwhile."""
    for _ in range(warmup):
        call()
    samples = []
    busy0, own0, wall0 = _machine_busy_s(), time.process_time(), time.perf_counter()
    for _ in range(calls):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    busy, own = _machine_busy_s() - busy0, time.process_time() - own0
    wall = time.perf_counter() - wall0
    samples.sort()
    return {
        "median_ms": statistics.median(samples) * 1e3,
        "p90_ms": samples[int(0.9 * (len(samples) - 1))] * 1e3,
        "calls": float(calls),
        "foreign_cpu_pct": max(0.0, 100.0 * (busy - own) / (wall * (os.cpu_count() or 1))),
    }


def _best_of(call: Callable[[], object], warmup: int, calls: int, rounds: int) -> dict[str, float]:
    """The round with the lowest median: on a shared machine, the least disturbed one."""
    results = [_measure(call, warmup if i == 0 else 2, calls) for i in range(rounds)]
    return min(results, key=lambda r: r["median_ms"])


def _litert_call(model_path: Path, batch: Array, threads: int) -> Callable[[], object]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_path), num_threads=threads)
    input_index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(input_index, list(batch.shape), strict=False)
    interpreter.allocate_tensors()
    output_index = interpreter.get_output_details()[0]["index"]

    def call() -> object:
        interpreter.set_tensor(input_index, batch)
        interpreter.invoke()
        return interpreter.get_tensor(output_index)

    return call


def _tensorflow_function(saved_model: Path, shape: tuple[int, ...]) -> Callable[[Array], Array]:
    import tensorflow as tf

    loaded: Any = tf.saved_model.load(str(saved_model))

    def forward(x: Any) -> Any:
        # Through `loaded`, not a saved `loaded.serve`: the restored function does not keep the
        # loaded object (which owns the variables) alive on its own.
        return loaded.serve(x)

    function = tf.function(forward, input_signature=[tf.TensorSpec([None, *shape], tf.float32)])

    def run(batch: Array) -> Array:
        return np.asarray(function(tf.constant(batch)))

    return run


def _calls_for(batch_size: int, calls: int, min_calls: int) -> int:
    return calls if batch_size == 1 else max(min_calls, calls // batch_size)


def bench_model(version_dir: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    config = json.loads((version_dir / "config.json").read_text("utf-8"))
    shape = (
        config["input"]["height"],
        config["input"]["width"],
        3 if config["input"]["color_mode"] == "rgb" else 1,
    )
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    tf_run = _tensorflow_function(version_dir / config["files"]["tensorflow"], shape)
    for batch_size in args.batches:
        batch = rng.uniform(-1, 1, (batch_size, *shape)).astype(np.float32)
        calls = _calls_for(batch_size, args.calls, args.min_calls)
        runs: list[tuple[str, Callable[[], object]]] = [
            (f"litert t={t}", _litert_call(version_dir / config["files"]["litert"], batch, t)) for t in (1, 2)
        ]
        runs.append(("tensorflow t=2", functools.partial(tf_run, batch)))
        for runtime, call in runs:
            result = _best_of(call, args.warmup, calls, args.rounds)
            result["images_per_s"] = batch_size / (result["median_ms"] / 1e3)
            rows.append({"model": config["name"], "runtime": runtime, "batch": batch_size, **result})
            print(
                f"{config['name']:20s} {runtime:15s} batch {batch_size}: median {result['median_ms']:7.2f} ms"
                f"  p90 {result['p90_ms']:7.2f} ms  {result['images_per_s']:8.1f} img/s  ({calls} calls,"
                f" other processes {result['foreign_cpu_pct']:.0f}% CPU)",
                flush=True,
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repository", type=Path, default=REPO / "models")
    parser.add_argument("--models", nargs="*", default=["efficientnet-lite0", "fer-emotion"])
    parser.add_argument("--version", default="1")
    parser.add_argument("--batches", type=int, nargs="*", default=[1, 2, 4, 8])
    parser.add_argument("--calls", type=int, default=200, help="timed calls at batch 1 (fewer for larger)")
    parser.add_argument("--min-calls", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="repeat each measurement, keep the best")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    print(f"cpus: {os.cpu_count()}  tensorflow {tf.__version__}", flush=True)
    rows = []
    for name in args.models:
        rows += bench_model(args.repository / name / args.version, args)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
