"""Services (headless for ZeroMQ, metrics, web), the NetworkPolicy, the PodDisruptionBudgets."""

from __future__ import annotations

from typing import Any

import pytest

import zinfer_chart as zc


def test_headless_service_publishes_only_ready_pods(defaults: zc.Manifests) -> None:
    svc = defaults["Service", "zinfer-modelserver"]
    assert svc["spec"]["clusterIP"] == "None"
    assert svc["spec"]["publishNotReadyAddresses"] is False
    assert svc["spec"]["ports"] == [{"name": "zmq", "port": 5576, "targetPort": "zmq", "protocol": "TCP"}]


def test_webapp_connects_to_the_headless_service_name(defaults: zc.Manifests) -> None:
    env = zc.env_of(zc.container(zc.deployment(defaults, "webapp")))
    svc = defaults["Service", "zinfer-modelserver"]
    assert env["WEBAPP_ENDPOINTS"] == f"tcp://{svc['metadata']['name']}:{svc['spec']['ports'][0]['port']}"


def test_metrics_service_is_a_normal_service_on_the_http_port(defaults: zc.Manifests) -> None:
    svc = defaults["Service", "zinfer-modelserver-metrics"]
    assert "clusterIP" not in svc["spec"] and svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"][0]["targetPort"] == "http-metrics"


def test_webapp_service(defaults: zc.Manifests) -> None:
    svc = defaults["Service", "zinfer-webapp"]
    assert svc["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return selector.get("matchLabels", {}).items() <= labels.items() and not selector.get("matchExpressions")


def _allowed(policy: dict[str, Any], labels: dict[str, str], same_namespace: bool, port: int) -> bool:
    """Whether a pod with `labels` may reach `port` on the selected pods (the subset of NetworkPolicy
    semantics the chart uses: podSelector and namespaceSelector peers, numeric ports)."""
    for rule in policy["spec"]["ingress"]:
        if not any(p["port"] == port for p in rule["ports"]):
            continue
        for peer in rule["from"]:
            ns_ok = same_namespace if "namespaceSelector" not in peer else peer["namespaceSelector"] == {}
            pod_ok = "podSelector" not in peer or _matches(peer["podSelector"], labels)
            if ns_ok and pod_ok:
                return True
    return False


def test_only_webapp_pods_reach_the_zmq_port(defaults: zc.Manifests) -> None:
    policy = defaults["NetworkPolicy", "zinfer-modelserver"]
    ms = zc.deployment(defaults, "modelserver")
    web = zc.deployment(defaults, "webapp")
    assert _matches(policy["spec"]["podSelector"], ms["spec"]["template"]["metadata"]["labels"])
    assert not _matches(policy["spec"]["podSelector"], web["spec"]["template"]["metadata"]["labels"])
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    zmq = zc.port_of(zc.container(ms), "zmq")
    metrics = zc.port_of(zc.container(ms), "http-metrics")
    web_labels = web["spec"]["template"]["metadata"]["labels"]
    assert _allowed(policy, web_labels, True, zmq)
    assert not _allowed(policy, web_labels, False, zmq)  # a web pod of another namespace
    assert not _allowed(policy, ms["spec"]["template"]["metadata"]["labels"], True, zmq)
    assert not _allowed(policy, {"app": "debug"}, True, zmq)
    other_release = {**web_labels, "app.kubernetes.io/instance": "other"}
    assert not _allowed(policy, other_release, True, zmq)
    prometheus = {"app.kubernetes.io/name": "prometheus"}
    assert _allowed(policy, prometheus, False, metrics)
    assert not _allowed(policy, prometheus, False, zmq)
    assert not _allowed(policy, web_labels, True, metrics)


def test_network_policy_can_be_disabled() -> None:
    m = zc.render([zc.CHART / "ci" / "fixed-values.yaml"])
    assert not zc.of_kind(m, "NetworkPolicy")


@pytest.mark.parametrize("component", ["modelserver", "webapp"])
def test_pdb_selects_the_component(defaults: zc.Manifests, component: str) -> None:
    pdb = defaults["PodDisruptionBudget", f"zinfer-{component}"]
    assert pdb["spec"]["maxUnavailable"] == 1 and "minAvailable" not in pdb["spec"]
    dep = zc.deployment(defaults, component)
    assert pdb["spec"]["selector"] == dep["spec"]["selector"]


def test_pdb_min_available_wins_when_set() -> None:
    m = zc.render([zc.CHART / "ci" / "fixed-values.yaml"])
    pdb = m["PodDisruptionBudget", "infer-modelserver"]
    assert pdb["spec"] == {"minAvailable": 2, "selector": pdb["spec"]["selector"]}
    assert ("PodDisruptionBudget", "infer-webapp") not in m


def test_ingress_routes_to_the_webapp_service_with_upload_sized_body_limit() -> None:
    m = zc.render([zc.CHART / "ci" / "ingress-values.yaml"])
    ing = m["Ingress", "zinfer-webapp"]
    assert ing["spec"]["ingressClassName"] == "nginx"
    # 20 MiB uploads: nginx must let them through (the web app answers 413 above its own limit).
    assert ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "21m"
    assert ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "30"
    assert [r["host"] for r in ing["spec"]["rules"]] == ["zinfer.example.com", "predict.example.com"]
    for rule in ing["spec"]["rules"]:
        (path,) = rule["http"]["paths"]
        assert path["backend"]["service"] == {"name": "zinfer-webapp", "port": {"name": "http"}}
    assert ing["spec"]["tls"][0]["secretName"] == "zinfer-tls"


def test_ingress_with_an_empty_host_matches_any_host() -> None:
    m = zc.render([zc.CHART / "ci" / "kind-values.yaml"])
    (rule,) = m["Ingress", "zinfer-webapp"]["spec"]["rules"]
    assert "host" not in rule


def test_no_ingress_by_default(defaults: zc.Manifests) -> None:
    assert not zc.of_kind(defaults, "Ingress")


def test_service_account_never_mounts_a_token(defaults: zc.Manifests) -> None:
    sa = defaults["ServiceAccount", "zinfer"]
    assert sa["automountServiceAccountToken"] is False
    for component in ("modelserver", "webapp"):
        assert zc.deployment(defaults, component)["spec"]["template"]["spec"]["serviceAccountName"] == "zinfer"
