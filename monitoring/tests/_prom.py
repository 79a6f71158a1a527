"""A small client of the Prometheus HTTP API (v1), and Grafana's query-time substitutions."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests


class PromQueryError(AssertionError):
    """Prometheus refused a query (parse or evaluation error)."""


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


class Prom:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = requests.Session()

    def _get(self, path: str, params: dict[str, Any] | list[tuple[str, str]]) -> Any:
        response = self._session.get(self.base_url + path, params=params, timeout=10)
        body = response.json()
        if body.get("status") != "success":
            raise PromQueryError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """Instant query of a vector or scalar expression."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self._get("/api/v1/query", params)
        if data["resultType"] == "scalar":
            return [Sample({}, float(data["result"][1]))]
        if data["resultType"] != "vector":
            raise PromQueryError(f"{expr!r} is a {data['resultType']}, not a vector")
        return [Sample(item["metric"], float(item["value"][1])) for item in data["result"]]

    def raw_samples(
        self, selector: str, window: str, at: float
    ) -> dict[tuple[tuple[str, str], ...], list[float]]:
        """The stored samples of `selector` in (at - window, at], per series (no evaluation)."""
        data = self._get("/api/v1/query", {"query": f"{selector}[{window}]", "time": f"{at:.3f}"})
        assert data["resultType"] == "matrix", data["resultType"]
        return {
            tuple(sorted(item["metric"].items())): [float(v) for _, v in item["values"]]
            for item in data["result"]
        }

    def series(self, match: str) -> list[dict[str, str]]:
        return list(self._get("/api/v1/series", [("match[]", match)]))

    def targets(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/targets", {"state": "active"})["activeTargets"])

    def rule_groups(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/rules", {})["groups"])

    def wait_for(
        self,
        expr: str,
        condition: Callable[[list[Sample]], bool],
        timeout_s: float,
        what: str,
        poll_s: float = 0.5,
    ) -> list[Sample]:
        """Poll an instant query until `condition(result)` holds; fail past the deadline."""
        deadline = time.monotonic() + timeout_s
        last: list[Sample] = []
        while True:
            last = self.query(expr)
            if condition(last):
                return last
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"timed out after {timeout_s:.0f} s waiting for {what}; last {expr} = {last}"
                )
            time.sleep(poll_s)  # the poll interval of a deadline-bound wait, not synchronisation


def has_data(samples: list[Sample]) -> bool:
    """At least one series with a real number (NaN, e.g. a quantile of no traffic, is not data)."""
    return any(math.isfinite(s.value) for s in samples)


# --- Grafana ------------------------------------------------------------------------------------

LABEL_VALUES = re.compile(r"^label_values\((?P<expr>.+),\s*(?P<label>[a-zA-Z_][a-zA-Z0-9_]*)\)$")
GRAFANA_VAR = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")


def grafana_label_values(prom: Prom, query: str, variables: dict[str, str]) -> list[str]:
    """What Grafana's Prometheus data source does for a `label_values(series, label)` variable."""
    match = LABEL_VALUES.match(interpolate(query, variables))
    assert match, f"unsupported variable query {query!r}"
    values = {s[match["label"]] for s in prom.series(match["expr"]) if match["label"] in s}
    return sorted(values)


def interpolate(expr: str, variables: dict[str, str]) -> str:
    """Replace `$name` / `${name}` as Grafana does before sending a query; unknown names fail."""

    def substitute(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name not in variables:
            raise KeyError(f"query uses ${name}, which is neither a dashboard variable nor handled: {expr}")
        return variables[name]

    return GRAFANA_VAR.sub(substitute, expr)
