"""Build the zinfer Grafana dashboard (dashboards/zinfer.json) with grafana-foundation-sdk.

    .venv/bin/python monitoring/grafana/build_dashboard.py           # rewrite dashboards/zinfer.json
    .venv/bin/python monitoring/grafana/build_dashboard.py --check   # exit 1 if the JSON is stale

The JSON is the artefact (the chart ships it in a ConfigMap for Grafana's sidecar); this file is
its source. Edit the PANELS table below, run the script, commit both. monitoring/tests/ runs every
query in the JSON against a Prometheus scraping the real services.

Conventions every panel follows (the tests check them):
- the data source is the `$datasource` variable; every query filters on `namespace=~"$namespace"`,
  model-server queries on `model=~"$model"` where the metric has a model label;
- rates use `$__rate_interval`;
- queries on kube-state-metrics (`kube_*`) or cAdvisor (`container_*`) series say so in the
  panel description: they only return data in a cluster.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import heatmap, prometheus, stat, timeseries
from grafana_foundation_sdk.builders.common import (
    StackingConfig,
    VizLegendOptions,
    VizTooltipOptions,
)
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models.common import (
    LegendDisplayMode,
    LegendPlacement,
    SortOrder,
    StackingMode,
    TooltipDisplayMode,
)
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    GridPos,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

OUT = Path(__file__).resolve().parent / "dashboards" / "zinfer.json"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")

NEEDS_KSM = "Needs kube-state-metrics: shows data only in a Kubernetes cluster."
NEEDS_CADVISOR = (
    "Needs cAdvisor metrics (kubelet /metrics/cadvisor): shows data only in a Kubernetes cluster."
)

# Selectors shared by the queries.
MS = 'namespace=~"$namespace", model=~"$model"'  # model-server series with a model label
NS = 'namespace=~"$namespace"'
INFER_ROUTES = "/api/v1/predict|/uploader|/v2/models/<name>/infer|/v2/models/<name>/versions/<version>/infer"
WEB_INFER = f'namespace=~"$namespace", route=~"{INFER_ROUTES}"'
SERVER_ERRORS = "INTERNAL|UNAVAILABLE|DEADLINE_EXCEEDED|OVERLOADED"
K8S_PODS = 'namespace=~"$namespace", pod=~".*(modelserver|webapp)-.*", container!="", container!="POD"'
K8S_NAME = ".*(modelserver|webapp)"


def quantiles(metric: str, selector: str, by: str, legend: str) -> list[tuple[str, str]]:
    return [
        (
            f"histogram_quantile({q}, sum by ({by}) (rate({metric}_bucket{{{selector}}}[$__rate_interval])))",
            f"p{round(q * 100)} {legend}".rstrip(),
        )
        for q in (0.5, 0.95, 0.99)
    ]


@dataclass(frozen=True)
class Spec:
    """One panel: what it shows, where, and its queries as (PromQL, legend)."""

    title: str
    description: str
    kind: str  # timeseries | stat | heatmap
    unit: str
    grid: tuple[int, int, int, int]  # x, y, w, h
    targets: list[tuple[str, str]]
    stacked: bool = False


PANELS: list[Spec] = [
    # --- headline numbers ---------------------------------------------------------------------
    Spec(
        "Model servers ready",
        "Model-server pods reporting ready (models loaded and warmed, not draining).",
        "stat",
        "none",
        (0, 0, 6, 4),
        [(f"sum(modelserver_ready{{{NS}}})", "ready")],
    ),
    Spec(
        "Inference requests/s",
        "Requests answered by the model servers, every status, selected models.",
        "stat",
        "reqps",
        (6, 0, 6, 4),
        [(f"sum(rate(modelserver_requests_total{{{MS}}}[$__rate_interval]))", "requests/s")],
    ),
    Spec(
        "Server error ratio",
        f"Share of model-server answers that are {SERVER_ERRORS.replace('|', ', ')} "
        "(the alert fires above 5 % for 5 minutes).",
        "stat",
        "percentunit",
        (12, 0, 6, 4),
        [
            (
                "(sum(rate(modelserver_requests_total"
                f'{{{MS}, status=~"{SERVER_ERRORS}"}}[$__rate_interval])) or vector(0))'
                f" / sum(rate(modelserver_requests_total{{{MS}}}[$__rate_interval]))",
                "errors",
            )
        ],
    ),
    Spec(
        "Model-server p99",
        "99th percentile of receipt-to-reply time over the selected models (objective: 250 ms).",
        "stat",
        "s",
        (18, 0, 6, 4),
        [
            (
                "histogram_quantile(0.99, sum by (le) "
                f"(rate(modelserver_request_duration_seconds_bucket{{{MS}}}[$__rate_interval])))",
                "p99",
            )
        ],
    ),
    # --- traffic --------------------------------------------------------------------------------
    Spec(
        "Model-server request rate by status",
        "Answers per second by wire-protocol status (OK, INVALID_INPUT, OVERLOADED, ...).",
        "timeseries",
        "reqps",
        (0, 4, 12, 8),
        [(f"sum by (status) (rate(modelserver_requests_total{{{MS}}}[$__rate_interval]))", "{{status}}")],
        stacked=True,
    ),
    Spec(
        "Web-app request rate by status",
        "HTTP answers per second by status code, every route.",
        "timeseries",
        "reqps",
        (12, 4, 12, 8),
        [(f"sum by (status) (rate(webapp_http_requests_total{{{NS}}}[$__rate_interval]))", "{{status}}")],
        stacked=True,
    ),
    # --- latency --------------------------------------------------------------------------------
    Spec(
        "Model-server latency p50 / p95 / p99",
        "Receipt to reply per model: queue wait + decode + inference (objective: p99 ≤ 250 ms).",
        "timeseries",
        "s",
        (0, 12, 12, 8),
        quantiles("modelserver_request_duration_seconds", MS, "model, le", "{{model}}"),
    ),
    Spec(
        "Web-app latency p50 / p95 / p99 (inference routes)",
        f"Request in to response out on {INFER_ROUTES} (objective: p99 ≤ 500 ms).",
        "timeseries",
        "s",
        (12, 12, 12, 8),
        quantiles("webapp_request_duration_seconds", WEB_INFER, "le", ""),
    ),
    # --- saturation -----------------------------------------------------------------------------
    Spec(
        "Queue depth per pod",
        "modelserver_queue_depth (admitted, waiting to be computed) is the autoscaling signal; "
        "in flight adds the requests being computed.",
        "timeseries",
        "short",
        (0, 20, 12, 8),
        [
            (f"max by (pod) (modelserver_queue_depth{{{NS}}})", "queued {{pod}}"),
            (f"max by (pod) (modelserver_inflight_requests{{{NS}}})", "in flight {{pod}}"),
        ],
    ),
    Spec(
        "Queue wait vs inference time (p95)",
        "Where a request's time goes: waiting for a worker and a batch, decoding, and "
        "computing its batch (inference is per batch).",
        "timeseries",
        "s",
        (12, 20, 12, 8),
        [
            (
                "histogram_quantile(0.95, sum by (model, le) "
                f"(rate(modelserver_queue_wait_seconds_bucket{{{MS}}}[$__rate_interval])))",
                "queue wait {{model}}",
            ),
            (
                "histogram_quantile(0.95, sum by (model, le) "
                f"(rate(modelserver_inference_duration_seconds_bucket{{{MS}}}[$__rate_interval])))",
                "inference {{model}}",
            ),
            (
                "histogram_quantile(0.95, sum by (model, le) "
                f"(rate(modelserver_decode_duration_seconds_bucket{{{MS}}}[$__rate_interval])))",
                "decode {{model}}",
            ),
        ],
    ),
    Spec(
        "Batch-size distribution",
        "Batches computed per interval by size bucket: mostly 1 at low load, larger as load grows.",
        "heatmap",
        "short",
        (0, 28, 12, 8),
        [(f"sum by (le) (increase(modelserver_batch_size_bucket{{{MS}}}[$__rate_interval]))", "{{le}}")],
    ),
    Spec(
        "Mean batch size",
        "Requests per computed batch, per model.",
        "timeseries",
        "short",
        (12, 28, 12, 8),
        [
            (
                f"sum by (model) (rate(modelserver_batch_size_sum{{{MS}}}[$__rate_interval]))"
                f" / sum by (model) (rate(modelserver_batch_size_count{{{MS}}}[$__rate_interval]))",
                "{{model}}",
            )
        ],
    ),
    # --- errors and capacity --------------------------------------------------------------------
    Spec(
        "Errors by code",
        "Every non-OK model-server status and every 4xx/5xx web answer. Only "
        f"{SERVER_ERRORS.replace('|', ', ')} and 5xx/429 count against the error objective.",
        "timeseries",
        "reqps",
        (0, 36, 12, 8),
        [
            (
                f'sum by (status) (rate(modelserver_requests_total{{{MS}, status!="OK"}}[$__rate_interval]))',
                "model server {{status}}",
            ),
            (
                "sum by (status) (rate(webapp_http_requests_total"
                f'{{{NS}, status=~"[45].."}}[$__rate_interval]))',
                "web app {{status}}",
            ),
        ],
    ),
    Spec(
        "Replicas: desired vs current",
        "What the HPAs want against what runs and is ready. " + NEEDS_KSM,
        "timeseries",
        "short",
        (12, 36, 12, 8),
        [
            (
                "max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_desired_replicas"
                f'{{{NS}, horizontalpodautoscaler=~"{K8S_NAME}"}})',
                "desired {{horizontalpodautoscaler}}",
            ),
            (
                "max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas"
                f'{{{NS}, horizontalpodautoscaler=~"{K8S_NAME}"}})',
                "current {{horizontalpodautoscaler}}",
            ),
            (
                "max by (deployment) (kube_deployment_status_replicas_ready"
                f'{{{NS}, deployment=~"{K8S_NAME}"}})',
                "ready {{deployment}}",
            ),
        ],
    ),
    Spec(
        "CPU per pod",
        "CPU cores used by each model-server and web-app pod. " + NEEDS_CADVISOR,
        "timeseries",
        "short",
        (0, 44, 12, 8),
        [
            (
                f"sum by (pod) (rate(container_cpu_usage_seconds_total{{{K8S_PODS}}}[$__rate_interval]))",
                "{{pod}}",
            )
        ],
    ),
    Spec(
        "Memory per pod",
        "Working-set memory of each model-server and web-app pod (what the OOM killer looks at). "
        + NEEDS_CADVISOR,
        "timeseries",
        "bytes",
        (12, 44, 12, 8),
        [(f"sum by (pod) (container_memory_working_set_bytes{{{K8S_PODS}}})", "{{pod}}")],
    ),
]


def _targets(spec: Spec) -> list[Builder[Dataquery]]:
    out: list[Builder[Dataquery]] = []
    for index, (expr, legend) in enumerate(spec.targets):
        query = (
            prometheus.Dataquery()
            .expr(expr)
            .legend_format(legend)
            .ref_id(chr(ord("A") + index))
            .datasource(DATASOURCE)
        )
        if spec.kind == "heatmap":
            query = query.format(PromQueryFormat.HEATMAP)
        elif spec.kind == "stat":
            query = query.instant()
        else:
            query = query.range()
        out.append(query)
    return out


def _panel(panel_id: int, spec: Spec) -> timeseries.Panel | stat.Panel | heatmap.Panel:
    x, y, w, h = spec.grid
    builder: timeseries.Panel | stat.Panel | heatmap.Panel
    if spec.kind == "timeseries":
        builder = (
            timeseries.Panel()
            .legend(
                VizLegendOptions()
                .display_mode(LegendDisplayMode.TABLE)
                .placement(LegendPlacement.BOTTOM)
                .show_legend(True)
                .calcs(["mean", "max", "lastNotNull"])
            )
            .tooltip(VizTooltipOptions().mode(TooltipDisplayMode.MULTI).sort(SortOrder.DESCENDING))
            .fill_opacity(10)
        )
        if spec.stacked:
            builder = builder.stacking(StackingConfig().mode(StackingMode.NORMAL))
    elif spec.kind == "stat":
        builder = stat.Panel()
    elif spec.kind == "heatmap":
        builder = heatmap.Panel().calculate(False)
    else:
        raise ValueError(f"unknown panel kind {spec.kind!r}")
    builder = (
        builder.id(panel_id)
        .title(spec.title)
        .description(spec.description)
        .datasource(DATASOURCE)
        .grid_pos(GridPos(x=x, y=y, w=w, h=h))
        .unit(spec.unit)
        .targets(_targets(spec))
    )
    return builder


def build() -> dict[str, object]:
    board = (
        dash.Dashboard("zinfer")
        .uid("zinfer-overview")
        .description(
            "zinfer image inference: web app → ZeroMQ → model servers. Traffic, latency against "
            "the objectives, the queue-depth autoscaling signal, batching, errors, replicas, CPU and memory."
        )
        .tags(["zinfer", "inference"])
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .time("now-1h", "now")
        .refresh("30s")
        .timezone("browser")
        # Grafana's own annotations (alerts, manual notes): Grafana expects annotations.list.
        .annotation(
            dash.AnnotationQuery()
            .name("Annotations & Alerts")
            .datasource(DataSourceRef(type_val="grafana", uid="-- Grafana --"))
            .built_in(1)
            .enable(True)
            .hide(True)
            .icon_color("rgba(0, 211, 255, 1)")
            .type("dashboard")
        )
        .with_variable(dash.DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_variable(
            dash.QueryVariable("namespace")
            .label("Namespace")
            .datasource(DATASOURCE)
            .query("label_values(modelserver_ready, namespace)")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(VariableSort.ALPHABETICAL_ASC)
        )
        .with_variable(
            dash.QueryVariable("model")
            .label("Model")
            .datasource(DATASOURCE)
            .query('label_values(modelserver_model_info{namespace=~"$namespace"}, model)')
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(VariableSort.ALPHABETICAL_ASC)
            .multi(True)
            .include_all(True)
        )
    )
    for panel_id, spec in enumerate(PANELS, start=1):
        board = board.with_panel(_panel(panel_id, spec))
    encoded: dict[str, object] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return encoded


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed JSON is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text("utf-8") != text:
            print(f"{OUT} is stale: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, "utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
