"""A cluster-like run on this machine: the chart's rendered Deployments started as podman
containers (command, env, ports, security context and volumes taken from `helm template`, not
written twice), two model-server replicas behind the headless Service's name (netavark +
aardvark-dns network alias), the web app reaching both through it. Requests succeed, both
replicas serve, and removing one replica the way Kubernetes deletes a pod (preStop, SIGTERM,
grace period) under load fails no request."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import kube_podman as kp
import zinfer_chart as zc
import zinfer_procs as zp
from kube_podman import Images

pytestmark = pytest.mark.images


@dataclass
class Cluster:
    manifests: zc.Manifests
    modelservers: list[kp.Pod]
    webapp: kp.Pod
    headless: str


def _wait_probe(pod: kp.Pod, probe: str) -> None:
    spec = pod.container[probe]
    budget = spec["periodSeconds"] * spec["failureThreshold"]

    def ok() -> bool:
        state = pod.state()
        if not state.get("Running"):
            raise AssertionError(f"{pod.name} is not running ({state.get('Status')}):\n{pod.logs()}")
        return zp.http_get(pod.probe_url(probe))[0] == 200

    zp.wait_until(ok, budget, f"{pod.name} {probe}", poll_s=0.5)


@pytest.fixture(scope="module")
def cluster(images: Images, network: str) -> Iterator[Cluster]:
    m = zc.render()
    ms_dep = zc.deployment(m, "modelserver")
    web_dep = zc.deployment(m, "webapp")
    assert zc.container(ms_dep)["image"] == images.modelserver
    replicas = max(2, m["HorizontalPodAutoscaler", ms_dep["metadata"]["name"]]["spec"]["minReplicas"])
    prefix = f"zt{os.getpid()}"
    pods: list[kp.Pod] = []
    try:
        for i in range(replicas):
            pods.append(
                kp.start_pod(
                    m,
                    ms_dep,
                    name=f"{prefix}-modelserver-{i}",
                    network=network,
                    publish={"http-metrics": zp.free_port()},
                )
            )
        for pod in pods:
            _wait_probe(pod, "startupProbe")
        web = kp.start_pod(m, web_dep, name=f"{prefix}-webapp-0", network=network, publish={"http": zp.free_port()})
        pods.append(web)
        _wait_probe(web, "startupProbe")
        _wait_probe(web, "readinessProbe")
        headless = zc.env_of(zc.container(web_dep))["WEBAPP_ENDPOINTS"].split("//")[1].split(":")[0]
        yield Cluster(m, pods[:-1], web, headless)
    finally:
        for pod in pods:
            kp.podman("rm", "--force", "--time", "0", pod.name, check=False)


def _ip(pod: kp.Pod, network: str) -> str:
    out = kp.podman("inspect", "--format", "{{json .NetworkSettings.Networks}}", pod.name).stdout
    return str(json.loads(out)[network]["IPAddress"])


def test_the_headless_name_resolves_to_every_replica(cluster: Cluster, network: str) -> None:
    script = (
        "import socket,sys; print(' '.join(sorted({a[4][0] for a in "
        f"socket.getaddrinfo({cluster.headless!r}, 5576, type=socket.SOCK_STREAM)}})))"
    )
    out = kp.podman("exec", cluster.webapp.name, "python", "-c", script).stdout.split()
    assert sorted(out) == sorted(_ip(p, network) for p in cluster.modelservers)


def test_a_cat_through_the_containers(cluster: Cluster) -> None:
    status, body = zp.post_file(cluster.webapp.url("http", "/api/v1/predict"), "file", "chelsea.jpg", zp.chelsea_jpeg())
    assert status == 200, body[:500]
    result = json.loads(body)
    assert zp.is_cat(result["predictions"][0]), result["predictions"]
    assert (
        result["model"] == zc.env_of(zc.container(zc.deployment(cluster.manifests, "webapp")))["WEBAPP_DEFAULT_MODEL"]
    )


def test_the_page_is_served(cluster: Cluster) -> None:
    status, body = zp.http_get(cluster.webapp.url("http", "/"))
    assert status == 200 and b"<form" in body


def _served(pod: kp.Pod) -> float:
    _, body = zp.http_get(pod.url("http-metrics", "/metrics"))
    return sum(
        float(v)
        for v in re.findall(
            r'^modelserver_requests_total\{[^}]*status="OK"[^}]*\} ([0-9.e+]+)$', body.decode(), re.MULTILINE
        )
    )


def test_every_replica_gets_traffic(cluster: Cluster) -> None:
    before = [_served(p) for p in cluster.modelservers]
    image = zp.chelsea_jpeg()
    url = cluster.webapp.url("http", "/api/v1/predict")
    results: list[int] = []

    def client() -> None:
        for _ in range(6):
            results.append(zp.post_file(url, "file", "chelsea.jpg", image)[0])

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert results == [200] * 24
    after = [_served(p) for p in cluster.modelservers]
    assert all(a > b for a, b in zip(after, before, strict=True)), (before, after)


class Load:
    """Closed-loop clients posting the cat until stopped; every status and time is recorded."""

    def __init__(self, url: str, clients: int) -> None:
        self.url = url
        self.image = zp.chelsea_jpeg()
        self.results: list[tuple[float, int, bytes]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def _run(self) -> None:
        while not self._stop.is_set():
            status, body = zp.post_file(self.url, "file", "chelsea.jpg", self.image, timeout_s=30)
            with self._lock:
                self.results.append((time.monotonic(), status, body[:300] if status != 200 else b""))

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)


def test_removing_a_replica_under_load_fails_no_request(cluster: Cluster) -> None:
    """Runs last: it removes a replica."""
    victim, survivor = cluster.modelservers[-1], cluster.modelservers[0]
    with Load(cluster.webapp.url("http", "/api/v1/predict"), clients=4) as load:
        zp.wait_until(lambda: len(load.results) >= 20, 120, "20 requests under load")
        took = victim.terminate()
        removed_at = time.monotonic()
        zp.wait_until(
            lambda: sum(1 for t, _, _ in load.results if t > removed_at) >= 20, 120, "20 requests after the removal"
        )
    statuses = Counter(status for _, status, _ in load.results)
    failures = [(s, b) for _, s, b in load.results if s != 200]
    print(f"\nremoval under load: {dict(statuses)}, termination took {took:.1f} s")
    assert not failures, (statuses, failures[:5])
    state = victim.state()
    assert state["ExitCode"] == 0, victim.logs()  # drained and exited by itself, not killed
    assert took < victim.grace_s
    assert _served(survivor) > 0
