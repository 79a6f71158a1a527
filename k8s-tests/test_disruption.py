"""Deleting a model-server pod and rolling updates of both Deployments, under load, fail no request."""

from __future__ import annotations

import time

from kind_stack import Stack, kubectl, modelserver_pods, wait
from load import Load


def _no_failures(load: Load) -> None:
    assert not load.failures(), (load.statuses(), load.failures()[:5])
    assert load.statuses()[200] > 0


def test_deleting_a_model_server_pod_under_load_fails_no_request(stack: Stack) -> None:
    wait(lambda: len(modelserver_pods(stack)) >= 2, 600, "two ready model servers", poll_s=5)
    victim = modelserver_pods(stack)[0]
    with Load(f"{stack.ingress_url}/api/v1/predict", clients=4) as load:
        wait(lambda: len(load.results) >= 20, 120, "load running")
        kubectl("-n", stack.namespace, "delete", "pod", victim, "--wait=true", "--timeout=120s", timeout=180)
        deleted_at = time.monotonic()
        wait(lambda: load.count_after(deleted_at) >= 20, 120, "requests after the deletion")
    _no_failures(load)


def test_rolling_updates_under_load_fail_no_request(stack: Stack) -> None:
    with Load(f"{stack.ingress_url}/api/v1/predict", clients=4) as load:
        wait(lambda: len(load.results) >= 20, 120, "load running")
        for component in ("modelserver", "webapp"):
            deployment = f"deployment/{stack.release}-{component}"
            kubectl("-n", stack.namespace, "rollout", "restart", deployment)
            kubectl("-n", stack.namespace, "rollout", "status", deployment, "--timeout=600s", timeout=660)
        done_at = time.monotonic()
        wait(lambda: load.count_after(done_at) >= 20, 120, "requests after the rollouts")
    _no_failures(load)
