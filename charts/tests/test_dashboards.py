"""The Grafana dashboards: the chart's copy equals monitoring/, one ConfigMap each, sidecar label."""

from __future__ import annotations

import json
import subprocess
import sys

import zinfer_chart as zc

DASHBOARDS = sorted((zc.CHART / "dashboards").glob("*.json"))


def test_chart_copy_equals_monitoring_dashboards() -> None:
    """charts/zinfer/dashboards/ is a copy (a chart cannot read ../../monitoring); refresh it with
    `python charts/tools/chartdocs.py`."""
    source = zc.ROOT / "monitoring" / "grafana" / "dashboards"
    chart = zc.CHART / "dashboards"
    if source.is_dir():
        assert {p.name: p.read_bytes() for p in source.glob("*.json")} == {
            p.name: p.read_bytes() for p in chart.glob("*.json")
        }
    assert DASHBOARDS, "no dashboards in charts/zinfer/dashboards"


def test_one_configmap_per_dashboard_with_the_sidecar_label(defaults: zc.Manifests) -> None:
    maps = [cm for cm in zc.of_kind(defaults, "ConfigMap") if "grafana_dashboard" in cm["metadata"]["labels"]]
    assert len(maps) == len(DASHBOARDS)
    by_file = {next(iter(cm["data"])): cm for cm in maps}
    for path in DASHBOARDS:
        cm = by_file[path.name]
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert json.loads(cm["data"][path.name]) == json.loads(path.read_text("utf-8"))
        assert len(json.dumps(cm).encode()) < 900 * 1024  # ConfigMaps hold at most 1 MiB


def test_dashboards_namespace_annotations_and_switch() -> None:
    m = zc.render([zc.CHART / "ci" / "servicemonitor-values.yaml"])
    maps = [cm for cm in zc.of_kind(m, "ConfigMap") if "grafana_dashboard" in cm["metadata"]["labels"]]
    assert maps and all(cm["metadata"]["namespace"] == "monitoring" for cm in maps)
    assert all(cm["metadata"]["annotations"] == {"grafana_folder": "zinfer"} for cm in maps)
    off = zc.render([zc.CHART / "ci" / "fixed-values.yaml"])
    assert not zc.of_kind(off, "ConfigMap")


def test_dashboards_query_metrics_of_this_chart() -> None:
    for path in DASHBOARDS:
        text = path.read_text("utf-8")
        assert "modelserver_queue_depth" in text
        dashboard = json.loads(text)
        assert dashboard.get("title") and dashboard.get("panels")


def test_chartdocs_check_passes() -> None:
    """README values table, schema setting enums and the dashboard copy are all current."""
    proc = subprocess.run(
        [sys.executable, str(zc.ROOT / "charts" / "tools" / "chartdocs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
