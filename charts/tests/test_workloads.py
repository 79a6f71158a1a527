"""Both Deployments: restricted security, probes, termination budget, resources, topology spread."""

from __future__ import annotations

from typing import Any

import pytest

import zinfer_chart as zc

COMPONENTS = ["modelserver", "webapp"]


def _pod(dep: dict[str, Any]) -> dict[str, Any]:
    return dep["spec"]["template"]["spec"]


@pytest.mark.parametrize("component", COMPONENTS)
def test_pods_run_restricted(scenario: tuple[str, zc.Manifests], component: str) -> None:
    _, m = scenario
    pod = _pod(zc.deployment(m, component))
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] is True
    assert isinstance(psc["runAsUser"], int) and psc["runAsUser"] > 0
    assert psc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for c in pod["containers"]:
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] is True
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        # A read-only root needs a writable /tmp.
        mounts = {v["mountPath"]: v["name"] for v in c["volumeMounts"]}
        assert "/tmp" in mounts
        assert any(v["name"] == mounts["/tmp"] and "emptyDir" in v for v in pod["volumes"])


@pytest.mark.parametrize("component", COMPONENTS)
def test_resources_requests_and_limits(scenario: tuple[str, zc.Manifests], component: str) -> None:
    _, m = scenario
    c = zc.container(zc.deployment(m, component))
    assert {"cpu", "memory"} <= set(c["resources"]["requests"])
    assert "memory" in c["resources"]["limits"]


@pytest.mark.parametrize("component", COMPONENTS)
def test_topology_spread_selects_own_pods(defaults: zc.Manifests, component: str) -> None:
    dep = zc.deployment(defaults, component)
    constraints = _pod(dep)["topologySpreadConstraints"]
    assert {c["topologyKey"] for c in constraints} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    for c in constraints:
        assert c["labelSelector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]
        assert c["whenUnsatisfiable"] == "ScheduleAnyway"


def test_modelserver_probes_use_real_endpoints(defaults: zc.Manifests) -> None:
    c = zc.container(zc.deployment(defaults, "modelserver"))
    assert c["startupProbe"]["httpGet"] == {"path": "/readyz", "port": "http-metrics"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http-metrics"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http-metrics"}
    # Loading and warming the models may take minutes on a busy node.
    startup = c["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120


def test_webapp_probes_never_wait_for_model_servers_to_start_or_live(defaults: zc.Manifests) -> None:
    c = zc.container(zc.deployment(defaults, "webapp"))
    assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def _prestop_sleep(c: dict[str, Any]) -> float:
    command = c["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    return float(command[1])


def test_modelserver_termination_outlasts_prestop_and_drain(scenario: tuple[str, zc.Manifests]) -> None:
    _, m = scenario
    dep = zc.deployment(m, "modelserver")
    c = zc.container(dep)
    env = zc.env_of(c)
    sleep = _prestop_sleep(c)
    drain = float(env["MODELSERVER_DRAIN_TIMEOUT_S"])
    assert _pod(dep)["terminationGracePeriodSeconds"] > sleep + drain
    # The preStop sleep outlasts the web tier's re-resolve interval, so no web pod still sends here.
    web = zc.env_of(zc.container(zc.deployment(m, "webapp")))
    assert sleep > float(web["WEBAPP_RESOLVE_INTERVAL_S"])


def test_webapp_termination_outlasts_prestop_and_graceful_timeout(scenario: tuple[str, zc.Manifests]) -> None:
    _, m = scenario
    dep = zc.deployment(m, "webapp")
    c = zc.container(dep)
    graceful = float(zc.env_of(c)["WEBAPP_GRACEFUL_TIMEOUT_S"])
    assert _pod(dep)["terminationGracePeriodSeconds"] > _prestop_sleep(c) + graceful


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["modelserver.terminationGracePeriodSeconds=25"], r"must exceed preStopSleepSeconds \+ drainTimeoutSeconds"),
        (["webapp.terminationGracePeriodSeconds=20"], r"must exceed preStopSleepSeconds \+ gracefulTimeoutSeconds"),
        (["modelserver.preStopSleepSeconds=4"], "must exceed webapp.resolveIntervalSeconds"),
    ],
)
def test_too_short_grace_periods_fail_the_render(sets: list[str], message: str) -> None:
    with pytest.raises(zc.RenderError, match=message):
        zc.render(set_values=sets)


def test_rollouts_never_drop_below_ready_capacity(defaults: zc.Manifests) -> None:
    for component in COMPONENTS:
        strategy = zc.deployment(defaults, component)["spec"]["strategy"]
        assert strategy["rollingUpdate"]["maxUnavailable"] == 0


def test_replicas_left_to_the_autoscaler(defaults: zc.Manifests) -> None:
    for component in COMPONENTS:
        assert "replicas" not in zc.deployment(defaults, component)["spec"]
    fixed = zc.render([zc.CHART / "ci" / "fixed-values.yaml"])
    assert zc.deployment(fixed, "modelserver")["spec"]["replicas"] == 3
    assert not zc.of_kind(fixed, "HorizontalPodAutoscaler")


def test_images_default_to_app_version_and_digest_wins(defaults: zc.Manifests) -> None:
    import yaml

    app_version = yaml.safe_load((zc.CHART / "Chart.yaml").read_text())["appVersion"]
    assert zc.container(zc.deployment(defaults, "modelserver"))["image"] == f"zinfer/modelserver:{app_version}"
    assert zc.container(zc.deployment(defaults, "webapp"))["image"] == f"zinfer/webapp:{app_version}"
    fixed = zc.render([zc.CHART / "ci" / "fixed-values.yaml"])
    assert zc.container(zc.deployment(fixed, "webapp"))["image"].startswith(
        "registry.example.com/zinfer/webapp@sha256:"
    )


def test_scrape_annotations_point_at_the_metrics_ports(defaults: zc.Manifests) -> None:
    for component, port_name in (("modelserver", "http-metrics"), ("webapp", "http")):
        dep = zc.deployment(defaults, component)
        ann = dep["spec"]["template"]["metadata"]["annotations"]
        assert ann["prometheus.io/scrape"] == "true"
        assert ann["prometheus.io/path"] == "/metrics"
        assert int(ann["prometheus.io/port"]) == zc.port_of(zc.container(dep), port_name)


def test_extra_volumes_serve_models_from_a_claim() -> None:
    m = zc.render([zc.CHART / "ci" / "fixed-values.yaml"])
    dep = zc.deployment(m, "modelserver")
    c = zc.container(dep)
    assert zc.env_of(c)["MODELSERVER_MODEL_REPOSITORY"] == "/models"
    assert {"name": "models", "mountPath": "/models", "readOnly": True} in c["volumeMounts"]
    assert any(v.get("persistentVolumeClaim", {}).get("claimName") == "zinfer-models" for v in _pod(dep)["volumes"])
