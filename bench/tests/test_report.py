"""The benchmark report: paired ratios are taken within rounds, and every table renders."""

from __future__ import annotations

import math
from typing import Any

import pytest

from bench import report


def _zmq_row(concurrency: int, throughput: float) -> dict[str, Any]:
    return {
        "concurrency": concurrency,
        "throughput": throughput,
        "p50_ms": 10.0,
        "p99_ms": 20.0,
        "errors": {},
    }


def _http_row(name: str, throughput: float, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "throughput_ok": throughput,
        "p50_ms": 20.0,
        "p99_ms": 30.0,
        "p50_429_ms": math.nan,
        "p99_429_ms": math.nan,
        "max_429_ms": math.nan,
        "statuses": {"200": 100, "429": 0, "503": 0},
        "dropped_iterations": 0,
        **extra,
    }


def _round(on: float, off: float, *, ping: bool = True) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "limit": 100.0,
        "single_ms": 15.0,
        "zmq_ms": 16.0,
        "http_ms": 18.5,
        "zmq_on": [_zmq_row(1, on)],
        "zmq_off": [_zmq_row(1, off)],
        "saturation": {"limit": 100.0, "zmq": 93.0, "e2e": 80.0},
        "e2e": [_http_row("closed-1", 50.0, concurrency=1)],
    }
    if ping:
        entry["ping_ms"] = 0.5
    return entry


# Batching on beats off within every round but one; the rounds drift, so the median "on" and the
# median "off" come from different rounds and their ratio (90 / 97 = 0.93) would read as a miss.
DRIFTING = [_round(100.0, 97.0), _round(70.0, 68.0), _round(90.0, 100.0)]


def test_batching_ratio_is_the_median_of_ratios_within_rounds() -> None:
    assert report.batching_ratios(DRIFTING) == [pytest.approx(70.0 / 68.0)]


def _render(rounds: list[dict[str, Any]], open_rows: list[dict[str, Any]]) -> str:
    return report.render(
        {"litert/batch4": 100.0}, {"litert/intra2": 15.0}, "litert/batch4", 2, rounds, open_rows, 2
    )


def _overload_run(n: int, p99_429_ms: float, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"statuses": {"200": 600, "429": 700, "503": 0}, "k6_nice": -10, **extra}
    return _http_row(
        f"open-2.0-{n}",
        80.0,
        rate=160,
        fraction=2.0,
        run=n,
        p50_429_ms=2.0,
        p99_429_ms=p99_429_ms,
        max_429_ms=30.0,
        **fields,
    )


def test_render_reports_targets_from_paired_measurements() -> None:
    below = _http_row("open-1.5", 90.0, rate=120, fraction=1.5)
    overload = [_overload_run(1, 12.0), _overload_run(2, 9.0), _overload_run(3, 14.0)]
    text = _render(DRIFTING, [below, *overload])
    assert "| 1 | 15.00 | 16.00 (+1.00) | 0.50 | 18.50 (+3.50) |" in text
    assert "| min 1.029 | yes |" in text
    assert (
        "| saturation through ZeroMQ ≥ 90% of the in-process limit | 93.0%, 93.0%, 93.0% | 93.0% | yes |"
        in text
    )
    assert "| +3.50, +3.50, +3.50 ms | +3.50 ms | **no** |" in text
    # The overload point is judged on all its runs: statuses summed, the median of the p99s.
    assert "| 160/s (2.0×) run 2 |" in text
    assert "200: 1800, 429: 2100; other: 0, not sent: 0 | | yes |" in text
    assert "| 12.00, 9.00, 14.00 ms | 12.00 ms | **no** |" in text
    assert "k6 ran at nice -10" in text


def test_one_5xx_in_any_overload_run_fails_the_target() -> None:
    overload = [_overload_run(1, 8.0), _overload_run(2, 8.0, statuses={"200": 5, "429": 5, "503": 1})]
    text = _render(DRIFTING, overload)
    assert "other: 1, not sent: 0 | | **no** |" in text
    assert "| 8.00, 8.00 ms | 8.00 ms | yes |" in text


def test_the_plot_takes_the_median_run_of_a_repeated_rate() -> None:
    runs = [_http_row("a", 1.0, fraction=2.0, p99_ms=p) for p in (30.0, 10.0, 20.0)]
    single = _http_row("b", 1.0, fraction=1.0)
    assert report.open_points([single, *runs]) == [single, runs[2]]


def test_render_reads_results_without_a_web_part_or_a_ping() -> None:
    text = _render([_round(60.0, 59.0, ping=False)], [])
    assert "| 1 | 15.00 | 16.00 (+1.00) | — |" in text
    assert "End to end" not in text


def test_host_steal_is_shown_where_measured_and_a_dash_where_not() -> None:
    measured = [{**_round(100.0, 97.0), "c1_steal": 0.031, "steal": 0.012} for _ in range(3)]
    text = report.render({"litert/batch8": 100.0}, {}, "litert/batch8", 2, measured, [], 2)
    assert "| 3.1% |" in text and "| 1.2% |" in text
    older = report.render({"litert/batch8": 100.0}, {}, "litert/batch8", 2, DRIFTING, [], 2)
    assert "| — |" in older
