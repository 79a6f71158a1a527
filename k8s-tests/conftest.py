"""End-to-end suite on a kind cluster (`make kind-test`). Every test here is marked e2e and skipped,
with the reason, unless ZINFER_KIND_CLUSTER names a running kind cluster; `make test` still
collects it (imports, fixtures and markers are checked).

The session builds the images (scripts/images.sh), loads them into the cluster, installs
ingress-nginx, kube-prometheus-stack (Prometheus Operator, Grafana with its dashboard sidecar),
prometheus-adapter with monitoring/prometheus-adapter/values.yaml, and the chart with
charts/zinfer/ci/kind-values.yaml; tests then reach the web app through the ingress
(127.0.0.1:8080, kind-config.yaml's port mapping) and through `kubectl port-forward`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "charts" / "tests"))

import zinfer_chart as zc  # noqa: E402
import zinfer_procs as zp  # noqa: E402
from kind_stack import (  # noqa: E402
    CLUSTER,
    INGRESS_URL,
    KIND_VALUES,
    NAMESPACE,
    RELEASE,
    Stack,
    helm,
    install_stack,
    kubectl,
    load_images,
    why_no_cluster,
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = why_no_cluster()
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def stack() -> Stack:
    reason = why_no_cluster()
    if reason:
        pytest.skip(reason)
    if os.environ.get("ZINFER_E2E_REUSE") != "1":
        load_images()
        install_stack()
    helm(
        "upgrade",
        "--install",
        RELEASE,
        str(zc.CHART),
        "--namespace",
        NAMESPACE,
        "--create-namespace",
        "-f",
        str(KIND_VALUES),
        "--wait",
        "--timeout",
        "10m",
    )
    for component in ("modelserver", "webapp"):
        kubectl("-n", NAMESPACE, "rollout", "status", f"deployment/{RELEASE}-{component}", "--timeout=300s")
    return Stack(NAMESPACE, RELEASE, INGRESS_URL)


@pytest.fixture
def port_forward(stack: Stack) -> Iterator[str]:
    """`kubectl port-forward service/<release>-webapp`, as NOTES.txt tells users; yields the URL."""
    port = zp.free_port()
    proc = subprocess.Popen(
        [
            "kubectl",
            "--context",
            f"kind-{CLUSTER}",
            "-n",
            stack.namespace,
            "port-forward",
            f"service/{stack.release}-webapp",
            f"{port}:80",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        zp.wait_until(lambda: zp.http_get(url + "/healthz")[0] == 200, 60, "port-forward")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
