"""The queue-depth metric reaches the HPA through prometheus-adapter, and under load the HPA adds
model-server replicas that then receive traffic."""

from __future__ import annotations

import json
import time

from kind_stack import Stack, kubectl, kubectl_json, modelserver_pods, requests_served, wait
from load import Load


def test_custom_metric_is_served_per_pod(stack: Stack) -> None:
    path = f"/apis/custom.metrics.k8s.io/v1beta1/namespaces/{stack.namespace}/pods/*/modelserver_queue_depth"

    def served() -> bool:
        proc = kubectl("get", "--raw", path, check=False)
        if proc.returncode != 0:
            return False
        pods = {item["describedObject"]["name"] for item in json.loads(proc.stdout)["items"]}
        return set(modelserver_pods(stack)) <= pods

    wait(served, 300, "modelserver_queue_depth in the custom metrics API for every model-server pod")


def test_hpa_scales_up_under_load_and_new_pods_get_traffic(stack: Stack) -> None:
    hpa_name = f"{stack.release}-modelserver"
    before = set(modelserver_pods(stack))
    hpa = kubectl_json("-n", stack.namespace, "get", "hpa", hpa_name)
    assert hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] == "modelserver_queue_depth"
    with Load(f"{stack.ingress_url}/api/v1/predict", clients=24) as load:
        wait(
            lambda: len(modelserver_pods(stack)) > len(before), 600, "the HPA to add a ready model-server pod", poll_s=5
        )
        new = set(modelserver_pods(stack)) - before
        started = time.monotonic()
        wait(lambda: all(requests_served(stack, pod) > 0 for pod in new), 120, "the new pods to serve requests")
        assert load.count_after(started) > 0
    status = kubectl_json("-n", stack.namespace, "get", "hpa", hpa_name)["status"]
    assert status["desiredReplicas"] > len(before)
