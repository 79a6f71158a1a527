"""The installed chart answers: the page and the API through the ingress and through
`kubectl port-forward` (as NOTES.txt says), `helm test`, and the dashboards reach Grafana."""

from __future__ import annotations

import json

import zinfer_procs as zp
from kind_stack import MONITORING, Stack, helm, kubectl_json


def _check_page_and_api(base: str) -> None:
    status, body = zp.http_get(base + "/")
    assert status == 200 and b"<form" in body
    status, body = zp.http_get(base + "/api/v1/models")
    assert status == 200 and json.loads(body)
    status, body = zp.post_file(base + "/api/v1/predict", "file", "chelsea.jpg", zp.chelsea_jpeg())
    assert status == 200, body[:300]
    assert zp.is_cat(json.loads(body)["predictions"][0])


def test_page_and_api_through_the_ingress(stack: Stack) -> None:
    _check_page_and_api(stack.ingress_url)


def test_page_and_api_through_port_forward(port_forward: str) -> None:
    _check_page_and_api(port_forward)


def test_helm_test_passes(stack: Stack) -> None:
    helm("test", stack.release, "--namespace", stack.namespace, "--timeout", "5m")


def test_dashboards_configmaps_are_where_grafana_looks(stack: Stack) -> None:
    maps = kubectl_json("get", "configmaps", "-A", "-l", "grafana_dashboard=1")["items"]
    ours = [m for m in maps if m["metadata"]["labels"].get("app.kubernetes.io/instance") == stack.release]
    assert ours
    sidecar = kubectl_json("-n", MONITORING, "get", "pods", "-l", "app.kubernetes.io/name=grafana")["items"]
    assert sidecar, "Grafana (kube-prometheus-stack) is running"
