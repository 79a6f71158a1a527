"""Checks that need no running service: promtool, the alert tests' coverage, the adapter and KEDA
files, the local monitor config, and the dashboard's structure."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from _procs import REPO, VENV_BIN
from conftest import MONITORING, RULES_DIR

PROMETHEUS_DIR = MONITORING / "prometheus"
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yaml"))
RULE_FILES = sorted(RULES_DIR.glob("*.yaml"))
DASHBOARD = MONITORING / "grafana" / "dashboards" / "zinfer.json"
K8S_ONLY = re.compile(r"\b(kube_[a-z_]+|container_[a-z_]+)\b")
# Model-server series that carry a `model` label (queue depth, in-flight and ready do not).
MODEL_LABELLED = re.compile(
    r"\bmodelserver_(requests_total|\w+_seconds_(bucket|sum|count)|batch_size_(bucket|sum|count))\b"
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("promtool") is None:
        pytest.fail("promtool not installed: run scripts/run-monitoring-tests.sh (installs it)")
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60, check=False)


def rules(kind: str) -> list[dict[str, Any]]:
    out = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            out += [rule for rule in group["rules"] if kind in rule]
    return out


# --- promtool -----------------------------------------------------------------------------------


def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules() -> None:
    result = promtool("test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_monitor_script_config_passes_promtool_check_config() -> None:
    """`scripts/monitor.sh --check` writes the config `make monitor` runs and checks it (and the rules)."""
    result = subprocess.run(
        [str(REPO / "scripts" / "monitor.sh"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid prometheus config file syntax" in result.stdout
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in result.stdout


def test_monitor_script_defaults_match_the_settings_classes() -> None:
    from modelserver.settings import DEFAULT_HTTP_PORT
    from webapp.settings import Settings as WebSettings

    script = (REPO / "scripts" / "monitor.sh").read_text()
    web_default = WebSettings.model_fields["bind"].default
    assert web_default == "127.0.0.1:8000"
    assert "${ZINFER_PORT:-8000}" in script
    assert DEFAULT_HTTP_PORT == 8081
    assert f"${{ZINFER_MODELSERVER_HTTP_PORT:-{DEFAULT_HTTP_PORT}}}" in script


# --- alerts -------------------------------------------------------------------------------------


def alert_cases() -> dict[str, list[list[Any]]]:
    cases: dict[str, list[list[Any]]] = {}
    for path in RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                cases.setdefault(case["alertname"], []).append(case.get("exp_alerts") or [])
    return cases


@pytest.mark.parametrize("alert", rules("alert"), ids=lambda r: r["alert"])
def test_every_alert_has_a_firing_and_a_silent_unit_test(alert: dict[str, Any]) -> None:
    cases = alert_cases().get(alert["alert"], [])
    assert any(cases), f"no promtool test where {alert['alert']} fires"
    assert any(not c for c in cases), f"no promtool test where {alert['alert']} stays silent"


@pytest.mark.parametrize("alert", rules("alert"), ids=lambda r: r["alert"])
def test_every_alert_is_labelled_and_explained(alert: dict[str, Any]) -> None:
    assert alert["labels"]["severity"] in {"warning", "critical"}
    assert alert["annotations"]["summary"] and alert["annotations"]["description"]
    needs_cluster = bool(K8S_ONLY.search(alert["expr"]))
    assert (alert["annotations"].get("requires") == "kube-state-metrics") == needs_cluster


def test_alert_objectives_match_the_readme() -> None:
    by_name = {a["alert"]: a["expr"] for a in rules("alert")}
    readme = (MONITORING / "README.md").read_text()
    objectives = {
        "ZinferModelServerLatencyHigh": ("> 0.25", "250 ms"),
        "ZinferWebappLatencyHigh": ("> 0.5", "500 ms"),
        "ZinferModelServerErrorRatioHigh": ("> 0.05", "5 %"),
        "ZinferWebappErrorRatioHigh": ("> 0.05", "5 %"),
        "ZinferModelServerQueueBacklog": ("> 16", "16"),
    }
    for name, (threshold, documented) in objectives.items():
        assert threshold in by_name[name], name
        assert documented in readme, f"README does not state the {name} objective {documented}"


# --- prometheus-adapter and KEDA ----------------------------------------------------------------


def test_adapter_values_expose_queue_depth_per_pod() -> None:
    values = yaml.safe_load((MONITORING / "prometheus-adapter" / "values.yaml").read_text())
    assert values["prometheus"]["url"].startswith("http")
    assert values["rules"]["default"] is False
    (rule,) = values["rules"]["custom"]
    assert rule["seriesQuery"].startswith("modelserver_queue_depth{")
    assert rule["resources"]["overrides"] == {
        "namespace": {"resource": "namespace"},
        "pod": {"resource": "pod"},
    }
    assert rule["name"] == {"matches": "^modelserver_queue_depth$", "as": "modelserver_queue_depth"}
    actions = set(re.findall(r"<<\s*([^>]*?)\s*>>", rule["metricsQuery"]))
    assert actions == {".Series", ".LabelMatchers", ".GroupBy"}


def test_keda_scaledobject_is_well_formed() -> None:
    scaled = yaml.safe_load((MONITORING / "keda" / "scaledobject.yaml").read_text())
    assert scaled["apiVersion"] == "keda.sh/v1alpha1" and scaled["kind"] == "ScaledObject"
    spec = scaled["spec"]
    assert spec["scaleTargetRef"]["kind"] == "Deployment"
    assert spec["scaleTargetRef"]["name"].endswith("-modelserver")
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metricType"] == "AverageValue"
    metadata = trigger["metadata"]
    assert float(metadata["threshold"]) > 0 and isinstance(metadata["threshold"], str)
    assert metadata["serverAddress"].startswith("http")
    assert "modelserver_queue_depth" in metadata["query"]
    assert f'namespace="{scaled["metadata"]["namespace"]}"' in metadata["query"]
    assert f'pod=~"{spec["scaleTargetRef"]["name"]}-.*"' in metadata["query"]


# --- dashboard ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def board() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def test_dashboard_json_is_what_the_generator_builds() -> None:
    result = subprocess.run(
        [str(VENV_BIN / "python"), str(MONITORING / "grafana" / "build_dashboard.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def contained(original: Any, other: Any, path: str = "$") -> list[str]:
    """Where `original` is not contained in `other` (dict keys may be added, nothing dropped or changed)."""
    if isinstance(original, dict):
        if not isinstance(other, dict):
            return [f"{path}: {type(other).__name__} instead of an object"]
        problems = []
        for key, value in original.items():
            if key not in other:
                problems.append(f"{path}.{key}: dropped")
            else:
                problems += contained(value, other[key], f"{path}.{key}")
        return problems
    if isinstance(original, list):
        if not isinstance(other, list) or len(other) != len(original):
            return [f"{path}: list changed"]
        return [
            p
            for i, (a, b) in enumerate(zip(original, other, strict=True))
            for p in contained(a, b, f"{path}[{i}]")
        ]
    return [] if original == other else [f"{path}: {original!r} became {other!r}"]


def test_dashboard_round_trips_through_grafana_foundation_sdk(board: dict[str, Any]) -> None:
    """The SDK's Dashboard model parses the JSON and writes back every key with its value: a
    misspelt or misplaced field (which the model does not know) would be dropped."""
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models.dashboard import Dashboard

    register_default_plugins()
    model = Dashboard.from_json(board)
    again = json.loads(json.dumps(model, cls=JSONEncoder))
    assert contained(board, again) == []
    assert json.loads(json.dumps(Dashboard.from_json(again), cls=JSONEncoder)) == again  # stable
    assert model.uid == "zinfer-overview" and model.panels


def test_dashboard_panels_have_unique_ids_datasources_and_valid_grid(board: dict[str, Any]) -> None:
    panels = board["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    occupied: dict[tuple[int, int], str] = {}
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], (panel["title"], target["refId"])
            assert target["expr"].strip()
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in ("x", "y", "w", "h")), panel["title"]
        assert (
            grid["x"] >= 0
            and grid["w"] >= 1
            and grid["x"] + grid["w"] <= 24
            and grid["h"] >= 1
            and grid["y"] >= 0
        )
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in occupied, f"{panel['title']} overlaps {occupied[(x, y)]}"
                occupied[(x, y)] = panel["title"]
        assert panel["title"] and panel["description"]


def test_dashboard_variables_and_their_use(board: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert (
        variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    )
    assert variables["namespace"]["type"] == "query"
    assert (
        variables["model"]["type"] == "query"
        and variables["model"]["multi"]
        and variables["model"]["includeAll"]
    )
    known = set(variables) | {"__rate_interval", "__interval", "__range"}
    for panel in board["panels"]:
        for target in panel["targets"]:
            used = {a or b for a, b in re.findall(r"\$(?:\{(\w+)\}|(\w+))", target["expr"])}
            assert used <= known, (panel["title"], used - known)
            assert 'namespace=~"$namespace"' in target["expr"], (panel["title"], target["refId"])
            if MODEL_LABELLED.search(target["expr"]):
                assert 'model=~"$model"' in target["expr"], (panel["title"], target["refId"])


def test_dashboard_covers_what_operators_need(board: dict[str, Any]) -> None:
    exprs = " ".join(t["expr"] for p in board["panels"] for t in p["targets"])
    for metric in (
        "modelserver_requests_total",
        "webapp_http_requests_total",
        "modelserver_request_duration_seconds_bucket",
        "webapp_request_duration_seconds_bucket",
        "modelserver_queue_depth",
        "modelserver_queue_wait_seconds_bucket",
        "modelserver_inference_duration_seconds_bucket",
        "modelserver_batch_size_bucket",
        "kube_horizontalpodautoscaler_status_desired_replicas",
        "kube_horizontalpodautoscaler_status_current_replicas",
        "container_cpu_usage_seconds_total",
        "container_memory_working_set_bytes",
    ):
        assert metric in exprs, f"no panel shows {metric}"
    for quantile in ("0.5", "0.95", "0.99"):
        assert (
            f"histogram_quantile({quantile}, sum by (model, le) (rate(modelserver_request_duration" in exprs
        )
        assert f"histogram_quantile({quantile}, sum by (le) (rate(webapp_request_duration" in exprs


def test_cluster_only_panels_say_so(board: dict[str, Any]) -> None:
    for panel in board["panels"]:
        needs_cluster = any(K8S_ONLY.search(t["expr"]) for t in panel["targets"])
        assert ("shows data only in a Kubernetes cluster" in panel["description"]) == needs_cluster, panel[
            "title"
        ]


def test_dashboard_fits_in_a_configmap() -> None:
    assert DASHBOARD.stat().st_size < 512 * 1024  # ConfigMaps hold 1 MiB; the sidecar loads it whole


def test_rule_files_are_plain_prometheus_rule_groups() -> None:
    """The chart wraps each file's `groups` in a PrometheusRule unchanged: nothing else at the top."""
    for path in RULE_FILES:
        document = yaml.safe_load(path.read_text())
        assert set(document) == {"groups"}, path.name
        names = [g["name"] for g in document["groups"]]
        assert len(names) == len(set(names)) and all(n.startswith("zinfer.") for n in names)


def _paths() -> list[Path]:
    return [
        *RULE_FILES,
        *RULE_TESTS,
        MONITORING / "prometheus-adapter" / "values.yaml",
        MONITORING / "keda" / "scaledobject.yaml",
    ]


@pytest.mark.parametrize("path", _paths(), ids=lambda p: p.name)
def test_yaml_files_parse(path: Path) -> None:
    assert yaml.safe_load(path.read_text())
