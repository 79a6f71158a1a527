"""Helpers of the kind end-to-end suite (the fixtures are in conftest.py).

The session builds the images (scripts/images.sh), loads them into the cluster, installs
ingress-nginx, kube-prometheus-stack (Prometheus Operator, Grafana with its dashboard sidecar),
prometheus-adapter with monitoring/prometheus-adapter/values.yaml, and the chart with
charts/zinfer/ci/kind-values.yaml; tests then reach the web app through the ingress
(127.0.0.1:8080, kind-config.yaml's port mapping) and through `kubectl port-forward`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "charts" / "tests"))

import zinfer_chart as zc  # noqa: E402

CLUSTER = os.environ.get("ZINFER_KIND_CLUSTER", "")
NAMESPACE = "zinfer"
RELEASE = "zinfer"
MONITORING = "monitoring"
INGRESS_URL = os.environ.get("ZINFER_INGRESS_URL", "http://127.0.0.1:8080")
KIND_VALUES = zc.CHART / "ci" / "kind-values.yaml"
VERSIONS = dict(
    line.split("=", 1)
    for line in (HERE / "stack-versions.env").read_text().splitlines()
    if line and not line.startswith("#")
)


def why_no_cluster() -> str | None:
    if not CLUSTER:
        return "no kind cluster: set ZINFER_KIND_CLUSTER (`make kind-test` creates one and sets it)"
    for tool in ("kind", "kubectl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    proc = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True, check=False)
    if CLUSTER not in proc.stdout.split():
        return f"kind cluster {CLUSTER!r} does not exist"
    return None


# -- commands -------------------------------------------------------------------------------------


def run(
    *args: str, timeout: float = 600, check: bool = True, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, input=input, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def kubectl(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return run("kubectl", "--context", f"kind-{CLUSTER}", *args, **kw)


def kubectl_json(*args: str) -> Any:
    return json.loads(kubectl(*args, "-o", "json").stdout)


def helm(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return run(zc.tool("helm"), "--kube-context", f"kind-{CLUSTER}", *args, timeout=timeout)


# -- session set-up -------------------------------------------------------------------------------


def load_images() -> None:
    engine = os.environ.get("ENGINE") or ("docker" if shutil.which("docker") else "podman")
    run(str(ROOT / "scripts" / "images.sh"), timeout=3600)
    defaults = zc.render()
    for component in ("modelserver", "webapp"):
        image = zc.container(zc.deployment(defaults, component))["image"]
        if engine == "docker":
            run("kind", "load", "docker-image", image, "--name", CLUSTER, timeout=900)
            continue
        # podman names local images localhost/...; containerd must see the docker.io/ name the
        # pod spec's short name means.
        full = f"docker.io/{image}"
        run("podman", "tag", f"localhost/{image}", full)
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "image.tar"
            run("podman", "save", "--format", "docker-archive", "-o", str(archive), full, timeout=900)
            run("kind", "load", "image-archive", str(archive), "--name", CLUSTER, timeout=900)


def install_stack() -> None:
    helm("repo", "add", "--force-update", "ingress-nginx", "https://kubernetes.github.io/ingress-nginx")
    helm("repo", "add", "--force-update", "prometheus-community", "https://prometheus-community.github.io/helm-charts")
    helm("repo", "update")
    helm(
        "upgrade",
        "--install",
        "ingress-nginx",
        "ingress-nginx/ingress-nginx",
        "--version",
        VERSIONS["INGRESS_NGINX_CHART_VERSION"],
        "--namespace",
        "ingress-nginx",
        "--create-namespace",
        "--set",
        "controller.hostPort.enabled=true",
        "--set",
        "controller.service.type=ClusterIP",
        "--set-string",
        "controller.nodeSelector.ingress-ready=true",
        "--set",
        "controller.tolerations[0].key=node-role.kubernetes.io/control-plane",
        "--set",
        "controller.tolerations[0].operator=Exists",
        "--set",
        "controller.tolerations[0].effect=NoSchedule",
        "--set",
        "controller.admissionWebhooks.enabled=false",
        "--wait",
        "--timeout",
        "10m",
    )
    # Prometheus selects every ServiceMonitor/PodMonitor; Grafana's sidecar loads every ConfigMap
    # labelled grafana_dashboard=1 in any namespace.
    helm(
        "upgrade",
        "--install",
        "kube-prometheus-stack",
        "prometheus-community/kube-prometheus-stack",
        "--version",
        VERSIONS["KUBE_PROMETHEUS_STACK_CHART_VERSION"],
        "--namespace",
        MONITORING,
        "--create-namespace",
        "--set",
        "alertmanager.enabled=false",
        "--set",
        "nodeExporter.enabled=false",
        "--set",
        "prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues=false",
        "--set",
        "prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues=false",
        "--set",
        "prometheus.prometheusSpec.scrapeInterval=5s",
        "--set",
        "grafana.sidecar.dashboards.enabled=true",
        "--set",
        "grafana.sidecar.dashboards.searchNamespace=ALL",
        "--wait",
        "--timeout",
        "15m",
        timeout=1200,
    )
    helm(
        "upgrade",
        "--install",
        "prometheus-adapter",
        "prometheus-community/prometheus-adapter",
        "--version",
        VERSIONS["PROMETHEUS_ADAPTER_CHART_VERSION"],
        "--namespace",
        MONITORING,
        "-f",
        str(ROOT / "monitoring" / "prometheus-adapter" / "values.yaml"),
        "--set",
        "metricsRelistInterval=30s",
        "--wait",
        "--timeout",
        "10m",
    )


@dataclass
class Stack:
    namespace: str
    release: str
    ingress_url: str


def modelserver_pods(stack: Stack, ready_only: bool = True) -> list[str]:
    pods = kubectl_json(
        "-n",
        stack.namespace,
        "get",
        "pods",
        "-l",
        f"app.kubernetes.io/instance={stack.release},app.kubernetes.io/component=modelserver",
    )
    names = []
    for pod in pods["items"]:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))
        if ready or not ready_only:
            names.append(pod["metadata"]["name"])
    return sorted(names)


def requests_served(stack: Stack, pod: str) -> float:
    """OK answers a model-server pod has given, read from its /metrics inside the pod (the
    NetworkPolicy admits only Prometheus to the metrics port from outside)."""
    script = (
        "import re,urllib.request as u;"
        "t=u.urlopen('http://127.0.0.1:8081/metrics',timeout=5).read().decode();"
        "p=r'^modelserver_requests_total\\{[^}]*status=\"OK\"[^}]*\\} (\\S+)$';"
        "print(sum(float(v) for v in re.findall(p,t,re.M)))"
    )
    out = kubectl("-n", stack.namespace, "exec", pod, "--", "python", "-c", script).stdout
    return float(out.strip() or 0)


def wait(condition: Any, timeout_s: float, what: str, poll_s: float = 2.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(poll_s)  # poll interval of a deadline-bound wait
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
