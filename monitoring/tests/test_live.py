"""A real Prometheus scraping the real model servers and web app under real load.

Order matters only for speed: load starts in the first test and stops in the last; every test
that needs load asks for `under_load`, which starts it if needed and waits (with a deadline) for
it to show in Prometheus.
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from _load import Load
from _prom import Prom, PromQueryError, Sample, grafana_label_values, has_data, interpolate
from conftest import MONITORING, NAMESPACE, POD_A, POD_B, RULES_DIR, WEB_POD

pytestmark = pytest.mark.integration

DASHBOARD = MONITORING / "grafana" / "dashboards" / "zinfer.json"
ADAPTER_VALUES = MONITORING / "prometheus-adapter" / "values.yaml"
KEDA = MONITORING / "keda" / "scaledobject.yaml"

# Metrics that exist only in a cluster: kube-state-metrics and cAdvisor (kubelet).
K8S_ONLY = re.compile(r"\b(kube_[a-z_]+|container_[a-z_]+)\b")
RATE_INTERVAL = "1m"  # what Grafana's $__rate_interval is with a 15 s scrape interval
DATA_DEADLINE_S = 30.0


def queue_depth(pod: str) -> str:
    return f'modelserver_queue_depth{{namespace="{NAMESPACE}", pod="{pod}"}}'


def recording_rules() -> list[dict[str, Any]]:
    rules = []
    for path in sorted(RULES_DIR.glob("*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += [rule for rule in group["rules"] if "record" in rule]
    return rules


def rule_selector(rule: dict[str, Any]) -> str:
    labels = ", ".join(f'{k}="{v}"' for k, v in sorted(rule.get("labels", {}).items()))
    return f"{rule['record']}{{{labels}}}"


def dashboard_targets() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    board = json.loads(DASHBOARD.read_text())
    return [
        (f"{panel['id']}:{panel['title']}:{target['refId']}", panel, target)
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]


@pytest.fixture
def under_load(prom: Prom, load: Load) -> Load:
    """Load running, and pod A's queue depth seen above zero by Prometheus."""
    load.start()
    prom.wait_for(
        queue_depth(POD_A),
        lambda r: bool(r) and r[0].value > 0,
        60,
        "pod A's queue depth to rise under load",
        poll_s=0.25,
    )
    return load


@pytest.fixture(scope="module")
def grafana_variables(prom: Prom) -> dict[str, str]:
    """The dashboard's variables resolved as Grafana would, with every model selected."""
    board = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in board["templating"]["list"]}
    namespaces = grafana_label_values(prom, variables["namespace"]["query"], {})
    assert NAMESPACE in namespaces
    models = grafana_label_values(prom, variables["model"]["query"], {"namespace": NAMESPACE})
    return {
        "namespace": NAMESPACE,
        "model": "(" + "|".join(models) + ")",  # "All" of a multi-value variable
        "__rate_interval": RATE_INTERVAL,
    }


# --- the stack as Prometheus sees it -------------------------------------------------------------


def test_targets_are_up_with_kubernetes_labels(prom: Prom) -> None:
    targets = {t["labels"]["pod"]: t for t in prom.targets()}
    assert set(targets) == {POD_A, POD_B, WEB_POD}
    for pod, target in targets.items():
        assert target["health"] == "up", (pod, target.get("lastError"))
        assert target["labels"]["namespace"] == NAMESPACE


def test_queue_depth_rises_under_load(prom: Prom, load: Load) -> None:
    assert not load.running, "this test starts the load itself"
    idle = prom.wait_for(queue_depth(POD_A), lambda r: len(r) == 1, DATA_DEADLINE_S, "pod A scraped")
    assert idle[0].value == 0, "queue depth before any load"

    load.start()
    risen = prom.wait_for(
        queue_depth(POD_A), lambda r: r[0].value > 0, 60, "pod A's queue depth to rise", poll_s=0.25
    )
    assert risen[0].value > 0
    # The idle pod's queue stays empty: the signal is per pod.
    assert prom.query(f"max_over_time({queue_depth(POD_B)}[30s])")[0].value == 0


# --- recording rules ----------------------------------------------------------------------------


@pytest.mark.parametrize("rule", recording_rules(), ids=rule_selector)
def test_recording_rule_returns_data(prom: Prom, under_load: Load, rule: dict[str, Any]) -> None:
    result = prom.wait_for(rule_selector(rule), has_data, DATA_DEADLINE_S, f"data from {rule['record']}")
    assert all(s.labels.get("namespace") == NAMESPACE for s in result), result


def test_every_rule_evaluates_without_error(prom: Prom, under_load: Load) -> None:
    def all_evaluated() -> bool:  # never-evaluated rules report Go's zero time
        return all(
            not rule["lastEvaluation"].startswith("0001-")
            for group in prom.rule_groups()
            for rule in group["rules"]
        )

    deadline = time.monotonic() + DATA_DEADLINE_S
    while not all_evaluated():
        assert time.monotonic() < deadline, "rules not evaluated yet"
        time.sleep(0.5)  # the poll interval of a deadline-bound wait
    files = {Path(g["file"]).name for g in prom.rule_groups()}
    assert files == {p.name for p in RULES_DIR.glob("*.yaml")}
    for group in prom.rule_groups():
        for rule in group["rules"]:
            assert rule["health"] == "ok", (group["name"], rule["name"], rule.get("lastError"))


# --- dashboard ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("panel", "target"), [t[1:] for t in dashboard_targets()], ids=[t[0] for t in dashboard_targets()]
)
def test_dashboard_query_returns_data(
    prom: Prom,
    under_load: Load,
    grafana_variables: dict[str, str],
    panel: dict[str, Any],
    target: dict[str, Any],
) -> None:
    expr = interpolate(target["expr"], grafana_variables)
    cluster_metrics = K8S_ONLY.findall(expr)
    if cluster_metrics:
        # kube-state-metrics / cAdvisor do not exist here: the panel must say so, and the query
        # must still parse and evaluate (an empty result).
        assert "shows data only in a Kubernetes cluster" in panel["description"], panel["title"]
        try:
            prom.query(expr)
        except PromQueryError as exc:
            pytest.fail(f"{panel['title']} {target['refId']} does not parse: {exc}")
        return
    prom.wait_for(expr, has_data, DATA_DEADLINE_S, f"data for {panel['title']} {target['refId']}")


def test_dashboard_variables_list_values(prom: Prom, under_load: Load) -> None:
    board = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert grafana_label_values(prom, variables["namespace"]["query"], {}) == [NAMESPACE]
    models = grafana_label_values(prom, variables["model"]["query"], {"namespace": NAMESPACE})
    assert models == ["efficientnet-lite0", "fer-emotion"]


# --- autoscaling signal: prometheus-adapter and KEDA --------------------------------------------


def adapter_rule() -> dict[str, Any]:
    rules = yaml.safe_load(ADAPTER_VALUES.read_text())["rules"]["custom"]
    (rule,) = [r for r in rules if "modelserver_queue_depth" in r["seriesQuery"]]
    return rule


def go_quote(value: str) -> str:
    """Go's %q for the label values used here (what prom.LabelEq / LabelMatches produce)."""
    return json.dumps(value)


def expand_metrics_query(template: str, series: str, namespace: str, pods: list[str]) -> str:
    """prometheus-adapter's metricsQuery.Build for a namespaced pod metric: namespace matcher,
    then the resource matcher (`=` for one pod, `=~` joined with `|` for several), grouped by the
    resource label."""
    resource_matcher = f"pod={go_quote(pods[0])}" if len(pods) == 1 else f"pod=~{go_quote('|'.join(pods))}"
    fields = {
        "Series": series,
        "LabelMatchers": ",".join([f"namespace={go_quote(namespace)}", resource_matcher]),
        "GroupBy": "pod",
    }
    expanded = re.sub(r"<<\s*\.(\w+)\s*>>", lambda m: fields[m.group(1)], template)
    assert "<<" not in expanded and ">>" not in expanded, f"unsupported template action in {template!r}"
    return expanded


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_adapter_query_returns_each_pods_queue_depth(prom: Prom, under_load: Load) -> None:
    rule = adapter_rule()
    # Discovery: the adapter lists series with seriesQuery and maps labels to resources.
    discovered = prom.series(rule["seriesQuery"])
    assert {s["pod"] for s in discovered} == {POD_A, POD_B}
    overrides = rule["resources"]["overrides"]
    assert {overrides[label]["resource"] for label in overrides} == {"namespace", "pod"}
    for series in discovered:
        assert set(overrides) <= set(series)
    name = discovered[0]["__name__"]
    assert re.sub(rule["name"]["matches"], rule["name"]["as"], name) == "modelserver_queue_depth"

    # One evaluation time for the query and for the independent expectation, far enough in the
    # past (> scrape timeout) that no scrape with an earlier timestamp is still being written.
    at = time.time() - 2

    def expected(pod: str) -> float:
        raw = prom.raw_samples(queue_depth(pod), "1m", at)
        (samples,) = raw.values()
        return mean(samples)

    for pod in (POD_A, POD_B):
        query = expand_metrics_query(rule["metricsQuery"], name, NAMESPACE, [pod])
        result = prom.query(query, at=at)
        assert [s.labels for s in result] == [{"pod": pod}], (query, result)
        assert math.isclose(result[0].value, expected(pod), abs_tol=1e-9), (
            pod,
            result[0].value,
            expected(pod),
        )
    assert (
        prom.query(expand_metrics_query(rule["metricsQuery"], name, NAMESPACE, [POD_A]), at=at)[0].value > 0
    )
    assert (
        prom.query(expand_metrics_query(rule["metricsQuery"], name, NAMESPACE, [POD_B]), at=at)[0].value == 0
    )

    # What the HPA asks for: every pod of the Deployment at once.
    both = prom.query(expand_metrics_query(rule["metricsQuery"], name, NAMESPACE, [POD_A, POD_B]), at=at)
    assert {s.labels["pod"]: s.value for s in both} == pytest.approx({POD_A: expected(POD_A), POD_B: 0.0})


def test_keda_query_equals_the_sum_the_hpa_uses(prom: Prom, under_load: Load) -> None:
    scaled = yaml.safe_load(KEDA.read_text())
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "prometheus"
    assert trigger.get("metricType", "AverageValue") == "AverageValue"
    rule = adapter_rule()
    at = time.time() - 2
    keda: list[Sample] = prom.query(trigger["metadata"]["query"], at=at)
    per_pod = prom.query(
        expand_metrics_query(rule["metricsQuery"], "modelserver_queue_depth", NAMESPACE, [POD_A, POD_B]),
        at=at,
    )
    assert len(keda) == 1, "KEDA needs a single value"
    assert keda[0].value > 0
    assert math.isclose(keda[0].value, sum(s.value for s in per_pod), abs_tol=1e-9)


# --- and back to idle ---------------------------------------------------------------------------


def test_queue_depth_falls_to_zero_when_load_stops(prom: Prom, under_load: Load) -> None:
    under_load.stop()
    stopped = time.time()
    # Zero in every sample of the last 5 s, all scraped after the load stopped, and enough of them
    # to be sure scraping continued.
    prom.wait_for(
        f"max_over_time({queue_depth(POD_A)}[5s]) == 0 and count_over_time({queue_depth(POD_A)}[5s]) >= 3",
        lambda r: len(r) == 1,
        DATA_DEADLINE_S,
        "pod A's queue depth back to zero",
    )
    assert time.time() - stopped < DATA_DEADLINE_S
    assert (
        prom.query(f'modelserver_inflight_requests{{namespace="{NAMESPACE}", pod="{POD_A}"}}')[0].value == 0
    )
    assert prom.query(f'namespace_pod:modelserver_queue_depth:max{{pod="{POD_A}"}}')[0].value == 0
    outcomes = under_load.outcomes
    assert outcomes["zmq ok"] > 100 and outcomes["web 200"] > 10, outcomes
