"""ServiceMonitor, PodMonitor and ScaledObject: kubernetes-validate has no schema for custom
resources, so their shape is checked here against the fields of their CRDs (Prometheus Operator
monitoring.coreos.com/v1, KEDA keda.sh/v1alpha1) that the chart uses, with unknown fields refused,
and against what they must select."""

from __future__ import annotations

import re
from typing import Any

import pytest

import zinfer_chart as zc

DURATION = r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
LABELS: dict[str, Any] = {"type": "object", "values": {"type": "string"}}
META = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": LABELS,
        "annotations": LABELS,
    },
}
SELECTOR = {"type": "object", "properties": {"matchLabels": LABELS, "matchExpressions": {"type": "array"}}}
NS_SELECTOR = {
    "type": "object",
    "properties": {"any": {"type": "boolean"}, "matchNames": {"type": "array", "items": {"type": "string"}}},
}
ENDPOINT = {
    "type": "object",
    "required": ["port"],
    "properties": {
        "port": {"type": "string"},
        "path": {"type": "string", "pattern": "^/"},
        "interval": {"type": "string", "pattern": DURATION},
        "scrapeTimeout": {"type": "string", "pattern": DURATION},
        "scheme": {"type": "string", "enum": ["http", "https"]},
    },
}


def _monitor(kind: str, endpoints_key: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"type": "string", "enum": ["monitoring.coreos.com/v1"]},
            "kind": {"type": "string", "enum": [kind]},
            "metadata": META,
            "spec": {
                "type": "object",
                "required": ["selector", endpoints_key],
                "properties": {
                    "selector": SELECTOR,
                    "namespaceSelector": NS_SELECTOR,
                    endpoints_key: {"type": "array", "items": ENDPOINT, "minItems": 1},
                    "jobLabel": {"type": "string"},
                },
            },
        },
    }


BEHAVIOR_POLICY = {
    "type": "object",
    "required": ["type", "value", "periodSeconds"],
    "properties": {
        "type": {"type": "string", "enum": ["Pods", "Percent"]},
        "value": {"type": "integer"},
        "periodSeconds": {"type": "integer"},
    },
}
BEHAVIOR_RULES = {
    "type": "object",
    "properties": {
        "stabilizationWindowSeconds": {"type": "integer"},
        "selectPolicy": {"type": "string", "enum": ["Max", "Min", "Disabled"]},
        "policies": {"type": "array", "items": BEHAVIOR_POLICY},
    },
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "ServiceMonitor": _monitor("ServiceMonitor", "endpoints"),
    "PodMonitor": _monitor("PodMonitor", "podMetricsEndpoints"),
    "ScaledObject": {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"type": "string", "enum": ["keda.sh/v1alpha1"]},
            "kind": {"type": "string", "enum": ["ScaledObject"]},
            "metadata": META,
            "spec": {
                "type": "object",
                "required": ["scaleTargetRef", "triggers"],
                "properties": {
                    "scaleTargetRef": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {
                            "apiVersion": {"type": "string"},
                            "kind": {"type": "string"},
                            "name": {"type": "string"},
                        },
                    },
                    "minReplicaCount": {"type": "integer"},
                    "maxReplicaCount": {"type": "integer"},
                    "pollingInterval": {"type": "integer"},
                    "cooldownPeriod": {"type": "integer"},
                    "advanced": {
                        "type": "object",
                        "properties": {
                            "horizontalPodAutoscalerConfig": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "string"},
                                    "behavior": {
                                        "type": "object",
                                        "properties": {"scaleUp": BEHAVIOR_RULES, "scaleDown": BEHAVIOR_RULES},
                                    },
                                },
                            },
                            "restoreToOriginalReplicaCount": {"type": "boolean"},
                        },
                    },
                    "triggers": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["type", "metadata"],
                            "properties": {
                                "type": {"type": "string", "enum": ["prometheus"]},
                                "metricType": {"type": "string", "enum": ["AverageValue", "Value", "Utilization"]},
                                "name": {"type": "string"},
                                "metadata": {
                                    "type": "object",
                                    "required": ["serverAddress", "query", "threshold"],
                                    # KEDA reads every trigger metadata value as a string.
                                    "properties": {
                                        "serverAddress": {"type": "string", "pattern": "^https?://"},
                                        "query": {"type": "string"},
                                        "threshold": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
                                        "activationThreshold": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
                                        "ignoreNullValues": {"type": "string", "enum": ["true", "false"]},
                                        "namespace": {"type": "string"},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}
_TYPES = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool}


def violations(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """A tiny structural validator: type, enum, pattern, required, minItems; objects with
    `properties` refuse unknown keys (strict, like kubernetes-validate --strict)."""
    out: list[str] = []
    expected = _TYPES[schema["type"]]
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        return [f"{path or '.'}: expected {schema['type']}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {value!r} not in {schema['enum']}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        out.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                out.append(f"{path}.{key}: required")
        if "properties" in schema:
            for key, item in value.items():
                if key not in schema["properties"]:
                    out.append(f"{path}.{key}: unknown field")
                else:
                    out += violations(item, schema["properties"][key], f"{path}.{key}")
        if "values" in schema:
            for key, item in value.items():
                out += violations(item, schema["values"], f"{path}.{key}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            out.append(f"{path}: fewer than {schema['minItems']} items")
        for i, item in enumerate(value):
            if "items" in schema:
                out += violations(item, schema["items"], f"{path}[{i}]")
    return out


def test_validator_catches_a_misspelled_field() -> None:
    m = zc.render([zc.CHART / "ci" / "servicemonitor-values.yaml"])
    doc = m["ServiceMonitor", "zinfer-modelserver"]
    broken = {**doc, "spec": {**doc["spec"], "endpoint": doc["spec"]["endpoints"]}}
    assert ".spec.endpoint: unknown field" in violations(broken, SCHEMAS["ServiceMonitor"])


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_custom_resources_have_their_crd_shape(kind: str) -> None:
    seen = 0
    for values in zc.CI_VALUES:
        for doc in zc.of_kind(zc.render([values]), kind):
            assert violations(doc, SCHEMAS[kind]) == [], (values.name, doc["metadata"]["name"])
            seen += 1
    assert seen, f"no ci/*-values.yaml renders a {kind}"


def test_no_custom_resources_by_default(defaults: zc.Manifests) -> None:
    assert not {kind for kind, _ in defaults} & set(SCHEMAS)


def _selected_services(m: zc.Manifests, monitor: dict[str, Any]) -> list[dict[str, Any]]:
    selector = monitor["spec"]["selector"]["matchLabels"]
    return [s for s in zc.of_kind(m, "Service") if selector.items() <= s["metadata"]["labels"].items()]


@pytest.mark.parametrize("component", ["modelserver", "webapp"])
def test_service_monitors_scrape_the_metrics_port_of_one_service(component: str) -> None:
    m = zc.render([zc.CHART / "ci" / "servicemonitor-values.yaml"])
    monitor = m["ServiceMonitor", f"zinfer-{component}"]
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["zinfer"]}
    (service,) = _selected_services(m, monitor)
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    port = next(p for p in service["spec"]["ports"] if p["name"] == endpoint["port"])
    dep = zc.deployment(m, component)
    assert port["targetPort"] == ("http-metrics" if component == "modelserver" else "http")
    assert port["targetPort"] in {p["name"] for p in zc.container(dep)["ports"]}


def test_the_headless_service_is_not_scraped() -> None:
    m = zc.render([zc.CHART / "ci" / "servicemonitor-values.yaml"])
    services = _selected_services(m, m["ServiceMonitor", "zinfer-modelserver"])
    assert [s["metadata"]["name"] for s in services] == ["zinfer-modelserver-metrics"]


@pytest.mark.parametrize("component", ["modelserver", "webapp"])
def test_pod_monitors_select_the_pods_and_a_named_port(component: str) -> None:
    m = zc.render([zc.CHART / "ci" / "podmonitor-values.yaml"])
    monitor = m["PodMonitor", f"zinfer-{component}"]
    dep = zc.deployment(m, component)
    assert monitor["spec"]["selector"]["matchLabels"].items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] in {p["name"] for p in zc.container(dep)["ports"]}
