"""Model-server HPA on the queue depth, the KEDA alternative (never both), the web HPA on CPU,
and the agreement with monitoring/ (prometheus-adapter rule, KEDA ScaledObject)."""

from __future__ import annotations

import pytest
import yaml

import zinfer_chart as zc

ADAPTER_VALUES = zc.ROOT / "monitoring" / "prometheus-adapter" / "values.yaml"
KEDA_OBJECT = zc.ROOT / "monitoring" / "keda" / "scaledobject.yaml"


def test_modelserver_hpa_scales_on_per_pod_queue_depth(defaults: zc.Manifests) -> None:
    hpa = defaults["HorizontalPodAutoscaler", "zinfer-modelserver"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "zinfer-modelserver",
    }
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Pods"
    assert metric["pods"]["metric"] == {"name": "modelserver_queue_depth"}
    assert metric["pods"]["target"] == {"type": "AverageValue", "averageValue": "4"}
    assert hpa["spec"]["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert hpa["spec"]["minReplicas"] == 2


def test_hpa_target_is_configurable() -> None:
    m = zc.render(set_values=["modelserver.autoscaling.targetQueueDepth=12", "modelserver.autoscaling.maxReplicas=30"])
    hpa = m["HorizontalPodAutoscaler", "zinfer-modelserver"]
    assert hpa["spec"]["metrics"][0]["pods"]["target"]["averageValue"] == "12"
    assert hpa["spec"]["maxReplicas"] == 30


def test_webapp_hpa_on_cpu(defaults: zc.Manifests) -> None:
    hpa = defaults["HorizontalPodAutoscaler", "zinfer-webapp"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric == {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
    }
    # CPU utilisation is relative to the request: there must be one.
    assert zc.container(zc.deployment(defaults, "webapp"))["resources"]["requests"]["cpu"]


def test_keda_replaces_the_hpa() -> None:
    m = zc.render([zc.CHART / "ci" / "keda-values.yaml"])
    assert ("HorizontalPodAutoscaler", "zinfer-modelserver") not in m
    so = m["ScaledObject", "zinfer-modelserver"]
    assert so["spec"]["scaleTargetRef"]["name"] == "zinfer-modelserver"
    (trigger,) = so["spec"]["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metricType"] == "AverageValue"
    assert trigger["metadata"]["serverAddress"] == "http://prometheus-server.monitoring.svc"
    assert 'namespace="zinfer"' in trigger["metadata"]["query"]
    assert 'pod=~"zinfer-modelserver-.*"' in trigger["metadata"]["query"]
    assert trigger["metadata"]["threshold"] == "4"
    assert "replicas" not in zc.deployment(m, "modelserver")["spec"]


@pytest.mark.parametrize("extra", [[], ["modelserver.autoscaling.enabled=true"]])
def test_hpa_and_keda_together_are_refused(extra: list[str]) -> None:
    # The schema refuses it first (an if/then clause); the template's `fail` backs it up for
    # renders that skip the schema.
    with pytest.raises(zc.RenderError, match=r"keda\.enabled does not match: false"):
        zc.render(set_values=["modelserver.keda.enabled=true", *extra])


@pytest.mark.parametrize(
    "sets",
    [["modelserver.keda.enabled=true"], ["metrics.serviceMonitor.enabled=true", "metrics.podMonitor.enabled=true"]],
)
def test_template_fail_backs_up_the_schema(sets: list[str]) -> None:
    with pytest.raises(zc.RenderError, match="are exclusive"):
        zc.template_text(set_values=sets, extra_args=["--skip-schema-validation"])
    with pytest.raises(zc.RenderError, match="values don't meet the specifications of the schema"):
        zc.template_text(set_values=sets)


def test_autoscaling_metric_is_the_one_prometheus_adapter_serves(defaults: zc.Manifests) -> None:
    if not ADAPTER_VALUES.exists():
        pytest.skip("monitoring/prometheus-adapter/values.yaml not present")
    adapter = yaml.safe_load(ADAPTER_VALUES.read_text())
    served = {rule["name"]["as"] for rule in adapter["rules"]["custom"]}
    hpa = defaults["HorizontalPodAutoscaler", "zinfer-modelserver"]
    assert hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] in served
    # The adapter can attach the series to pods only through these labels.
    (rule,) = [r for r in adapter["rules"]["custom"] if r["name"]["as"] == "modelserver_queue_depth"]
    assert rule["resources"]["overrides"]["pod"] == {"resource": "pod"}


def test_keda_scaledobject_equals_monitoring_keda() -> None:
    """The chart's ScaledObject, for the release monitoring/keda/ is written for, is that file."""
    if not KEDA_OBJECT.exists():
        pytest.skip("monitoring/keda/scaledobject.yaml not present")
    want = yaml.safe_load(KEDA_OBJECT.read_text())
    ns = want["metadata"]["namespace"]
    m = zc.render(
        set_values=["modelserver.autoscaling.enabled=false", "modelserver.keda.enabled=true"],
        release="zinfer",
        namespace=ns,
    )
    got = m["ScaledObject", want["metadata"]["name"]]
    assert got["spec"] == want["spec"]
    assert want["metadata"]["labels"].items() <= got["metadata"]["labels"].items()
    # And the chart's HPA aims at the same target with the same behavior.
    hpa = zc.render(release="zinfer", namespace=ns)["HorizontalPodAutoscaler", "zinfer-modelserver"]
    assert (
        hpa["spec"]["metrics"][0]["pods"]["target"]["averageValue"]
        == want["spec"]["triggers"][0]["metadata"]["threshold"]
    )
    assert hpa["spec"]["behavior"] == want["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (
        want["spec"]["minReplicaCount"],
        want["spec"]["maxReplicaCount"],
    )
