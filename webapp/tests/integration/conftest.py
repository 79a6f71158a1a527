"""Real processes on ephemeral ports: the model server, gunicorn with the web app, chromium.

Every fixture stops what it started (SIGTERM, then SIGKILL past a deadline) and waits on
conditions with deadlines, never on a bare sleep. The model repository is the project's
`models/` (built by `make models`); `ZINFER_MODEL_REPOSITORY` points elsewhere.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[3]
MODEL_REPOSITORY = Path(os.environ.get("ZINFER_MODEL_REPOSITORY", str(REPO / "models")))
MODELSERVER_START_S = 240.0
GUNICORN_START_S = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.05) -> None:
    """Poll `condition` until it holds; fail with `what` past the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(poll_s)  # the poll interval of a deadline-bound wait, not synchronisation
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


@dataclass
class Proc:
    """A child process with its log file; `stop()` is idempotent."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    extra: dict[str, object] = field(default_factory=dict)

    def log(self, tail: int = 4000) -> str:
        return self.log_path.read_text("utf-8", errors="replace")[-tail:]

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout_s: float = 30.0) -> int:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return int(self.process.returncode)


def _http_ok(url: str, proc: Proc) -> bool:
    if not proc.alive():
        raise AssertionError(f"{proc.name} exited with {proc.process.returncode}:\n{proc.log()}")
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def start(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Proc:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    return Proc(name, process, log_path)


@dataclass
class ModelServer:
    endpoint: str
    http_url: str
    proc: Proc


def start_modelserver(log_dir: Path, name: str = "modelserver", **settings: str) -> ModelServer:
    if not (MODEL_REPOSITORY / "efficientnet-lite0").is_dir():
        pytest.fail(f"no model repository at {MODEL_REPOSITORY}: run `make models` first")
    zmq_port, http_port = free_port(), free_port()
    env = {
        "MODELSERVER_BIND": f"tcp://127.0.0.1:{zmq_port}",
        "MODELSERVER_HTTP_HOST": "127.0.0.1",
        "MODELSERVER_HTTP_PORT": str(http_port),
        "MODELSERVER_MODEL_REPOSITORY": str(MODEL_REPOSITORY),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        **{f"MODELSERVER_{k.upper()}": v for k, v in settings.items()},
    }
    proc = start(name, [sys.executable, "-m", "modelserver"], env, log_dir)
    server = ModelServer(f"tcp://127.0.0.1:{zmq_port}", f"http://127.0.0.1:{http_port}", proc)
    try:
        wait_until(
            lambda: _http_ok(server.http_url + "/readyz", proc), MODELSERVER_START_S, f"{name} /readyz"
        )
    except BaseException:
        proc.stop()
        raise
    return server


@dataclass
class WebApp:
    url: str
    proc: Proc
    metrics_dir: Path


def start_webapp(
    log_dir: Path, endpoint: str, *, name: str = "webapp", workers: int = 1, **settings: str
) -> WebApp:
    port = free_port()
    metrics_dir = log_dir / f"{name}-metrics"
    metrics_dir.mkdir(exist_ok=True)
    env = {
        "WEBAPP_ENDPOINTS": endpoint,
        "WEBAPP_BIND": f"127.0.0.1:{port}",
        "WEBAPP_WORKERS": str(workers),
        "WEBAPP_GRACEFUL_TIMEOUT_S": "5",
        # The variable `make run` sets; the chart sets PROMETHEUS_MULTIPROC_DIR (both: test_gunicorn_conf).
        "WEBAPP_PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        **{f"WEBAPP_{k.upper()}": v for k, v in settings.items()},
    }
    args = [sys.executable, "-m", "gunicorn", "-c", "python:webapp.gunicorn_conf", "webapp:create_app()"]
    proc = start(name, args, env, log_dir)
    app = WebApp(f"http://127.0.0.1:{port}", proc, metrics_dir)
    try:
        wait_until(lambda: _http_ok(app.url + "/healthz", proc), GUNICORN_START_S, f"{name} /healthz")
    except BaseException:
        proc.stop()
        raise
    return app


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def modelserver(logs: Path) -> Iterator[ModelServer]:
    server = start_modelserver(logs)
    yield server
    assert server.proc.stop() == 0, server.proc.log()


@pytest.fixture(scope="session")
def webapp(logs: Path, modelserver: ModelServer) -> Iterator[WebApp]:
    """gunicorn with two workers in front of the real model server."""
    app = start_webapp(logs, modelserver.endpoint, workers=2)
    yield app
    assert app.proc.stop() == 0, app.proc.log()


@pytest.fixture(scope="session")
def base_url(webapp: WebApp) -> str:
    return webapp.url


@pytest.fixture(scope="session")
def chelsea_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scikit-image's `chelsea`, a photo of a tabby cat, saved as a JPEG."""
    from PIL import Image
    from skimage import data

    path = tmp_path_factory.mktemp("images") / "chelsea.jpg"
    Image.fromarray(data.chelsea()).save(path, "JPEG", quality=92)
    return path


# ImageNet's domestic cats: tabby, tiger cat, Persian, Siamese, Egyptian (Mau).
CAT_CLASS_IDS = frozenset(range(281, 286))
CAT_WORDS = re.compile(r"\b(cats?|tabby|persian|siamese|egyptian|mau)\b", re.IGNORECASE)


def is_cat(label: str, class_id: int | None = None) -> bool:
    """A cat by ImageNet class id when known, else by the words of its label."""
    if class_id is not None:
        return class_id in CAT_CLASS_IDS
    return CAT_WORDS.search(label) is not None
