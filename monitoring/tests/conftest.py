"""Fixtures: the real services and a real Prometheus, on ephemeral ports, stopped after the session.

The stack mirrors a small Kubernetes deployment as Prometheus would see it there: two model-server
"pods" (A gets all the load, B stays idle, so the adapter query must tell them apart), one web-app
"pod" in front of A, and static `namespace`/`pod` labels where Kubernetes relabelling would put
them. Prometheus scrapes every second and evaluates monitoring/prometheus/rules every second.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from _load import Load, chelsea_jpeg
from _procs import REPO, VENV_BIN, Proc, free_port, http_ok, start, wait_until
from _prom import Prom

MONITORING = REPO / "monitoring"
RULES_DIR = MONITORING / "prometheus" / "rules"
MODEL_REPOSITORY = Path(os.environ.get("ZINFER_MODEL_REPOSITORY", str(REPO / "models")))

NAMESPACE = "zinfer"
POD_A = "zinfer-modelserver-7d9c-a"  # loaded
POD_B = "zinfer-modelserver-7d9c-b"  # idle
WEB_POD = "zinfer-webapp-5b8f-c"

MODELSERVER_START_S = 180.0
WEBAPP_START_S = 60.0
PROMETHEUS_START_S = 30.0


@dataclass
class ModelServer:
    pod: str
    endpoint: str
    http_port: int
    proc: Proc


@dataclass
class WebApp:
    pod: str
    url: str
    port: int
    proc: Proc


@dataclass
class PromServer:
    api: Prom
    port: int
    config_path: Path
    proc: Proc


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    path = shutil.which("prometheus")
    if path is None or shutil.which("promtool") is None:
        pytest.fail("prometheus/promtool not installed: run scripts/run-monitoring-tests.sh (installs them)")
    return path


def _start_modelserver(log_dir: Path, pod: str, **settings: str) -> ModelServer:
    zmq_port, http_port = free_port(), free_port()
    env = {
        "MODELSERVER_BIND": f"tcp://127.0.0.1:{zmq_port}",
        "MODELSERVER_HTTP_HOST": "127.0.0.1",
        "MODELSERVER_HTTP_PORT": str(http_port),
        "MODELSERVER_MODEL_REPOSITORY": str(MODEL_REPOSITORY),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        **{f"MODELSERVER_{k.upper()}": v for k, v in settings.items()},
    }
    proc = start(pod, [str(VENV_BIN / "python"), "-m", "modelserver"], env, log_dir)
    return ModelServer(pod, f"tcp://127.0.0.1:{zmq_port}", http_port, proc)


def _wait_ready(server: ModelServer) -> None:
    url = f"http://127.0.0.1:{server.http_port}/readyz"
    wait_until(lambda: http_ok(url, server.proc), MODELSERVER_START_S, f"{server.pod} /readyz")


@pytest.fixture(scope="session")
def modelservers(log_dir: Path) -> Iterator[dict[str, ModelServer]]:
    """Pod A serves both models and takes the load; pod B serves one model and stays idle."""
    if (
        not (MODEL_REPOSITORY / "efficientnet-lite0").is_dir()
        or not (MODEL_REPOSITORY / "fer-emotion").is_dir()
    ):
        pytest.fail(f"no model repository at {MODEL_REPOSITORY}: run `make models` first")
    servers = {
        POD_A: _start_modelserver(log_dir, POD_A),
        POD_B: _start_modelserver(log_dir, POD_B, models="efficientnet-lite0"),
    }
    try:
        with ThreadPoolExecutor(len(servers)) as pool:  # both warm up at once
            for wait in [pool.submit(_wait_ready, s) for s in servers.values()]:
                wait.result()
        yield servers
    finally:
        for server in servers.values():
            server.proc.stop()


@pytest.fixture(scope="session")
def webapp(log_dir: Path, modelservers: dict[str, ModelServer]) -> Iterator[WebApp]:
    """gunicorn + the web app (one worker, prometheus-client multiprocess mode) in front of pod A."""
    port = free_port()
    metrics_dir = log_dir / "webapp-metrics"
    metrics_dir.mkdir()
    env = {
        "WEBAPP_ENDPOINTS": modelservers[POD_A].endpoint,
        "WEBAPP_BIND": f"127.0.0.1:{port}",
        "WEBAPP_WORKERS": "1",
        "WEBAPP_GRACEFUL_TIMEOUT_S": "5",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    args = [
        str(VENV_BIN / "python"),
        "-m",
        "gunicorn",
        "-c",
        "python:webapp.gunicorn_conf",
        "webapp:create_app()",
    ]
    proc = start(WEB_POD, args, env, log_dir)
    app = WebApp(WEB_POD, f"http://127.0.0.1:{port}", port, proc)
    try:
        wait_until(lambda: http_ok(app.url + "/readyz", proc), WEBAPP_START_S, "web app /readyz")
        yield app
    finally:
        proc.stop()


def scrape_config(modelservers: dict[str, ModelServer], webapp: WebApp) -> dict[str, object]:
    """What a ServiceMonitor + relabelling gives in a cluster: job, instance, namespace, pod."""
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES_DIR / "*.yaml")],
        "scrape_configs": [
            {
                "job_name": "zinfer-modelserver",
                "static_configs": [
                    {
                        "targets": [f"127.0.0.1:{s.http_port}"],
                        "labels": {"namespace": NAMESPACE, "pod": s.pod},
                    }
                    for s in modelservers.values()
                ],
            },
            {
                "job_name": "zinfer-webapp",
                "static_configs": [
                    {
                        "targets": [f"127.0.0.1:{webapp.port}"],
                        "labels": {"namespace": NAMESPACE, "pod": webapp.pod},
                    }
                ],
            },
        ],
    }


@pytest.fixture(scope="session")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory,
    log_dir: Path,
    prometheus_bin: str,
    modelservers: dict[str, ModelServer],
    webapp: WebApp,
) -> Iterator[PromServer]:
    """Debian's Prometheus in a temp dir, scraping the stack every second; stopped after."""
    work = tmp_path_factory.mktemp("prometheus")
    config_path = work / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(scrape_config(modelservers, webapp), sort_keys=False))
    port = free_port()
    args = [
        prometheus_bin,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={work / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    proc = start("prometheus", args, {}, log_dir)
    server = PromServer(Prom(f"http://127.0.0.1:{port}"), port, config_path, proc)
    try:
        wait_until(
            lambda: http_ok(f"{server.api.base_url}/-/ready", proc), PROMETHEUS_START_S, "Prometheus /-/ready"
        )
        wait_until(
            lambda: len([t for t in server.api.targets() if t["health"] == "up"]) == 3,
            PROMETHEUS_START_S,
            "all three targets up",
        )
        yield server
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def prom(prometheus: PromServer) -> Prom:
    return prometheus.api


@pytest.fixture(scope="session")
def load(modelservers: dict[str, ModelServer], webapp: WebApp) -> Iterator[Load]:
    """Not started: tests start and stop it. 24 ZeroMQ clients on pod A (model batches are ≤ 8,
    two inference threads, so requests queue), 3 clients through the web app."""
    generator = Load(modelservers[POD_A].endpoint, webapp.url, chelsea_jpeg(), clients=24, web_clients=3)
    yield generator
    generator.stop()
    print(f"load outcomes: {dict(generator.outcomes)}", file=sys.stderr)
