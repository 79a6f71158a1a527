"""Start a real model server and the web app under gunicorn on free ports, for benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)  # readiness poll, bounded by the deadline
    raise RuntimeError(f"{url} not ready after {timeout_s} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def model_server(
    repository: Path, log: Path, env: dict[str, str] | None = None, models: str = "efficientnet-lite0"
) -> Iterator[str]:
    """Yields the ZeroMQ endpoint of a ready model server."""
    port, http_port = free_port(), free_port()
    full_env = {
        **os.environ,
        "MODELSERVER_BIND": f"tcp://127.0.0.1:{port}",
        "MODELSERVER_HTTP_HOST": "127.0.0.1",
        "MODELSERVER_HTTP_PORT": str(http_port),
        "MODELSERVER_MODEL_REPOSITORY": str(repository),
        "MODELSERVER_MODELS": models,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        **(env or {}),
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "modelserver"], env=full_env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_ready(f"http://127.0.0.1:{http_port}/readyz", process, log)
        yield f"tcp://127.0.0.1:{port}"
    finally:
        stop(process)


@dataclass
class Stack:
    base_url: str
    zmq_endpoint: str


@contextmanager
def web_stack(
    repository: Path,
    log_dir: Path,
    server_env: dict[str, str] | None = None,
    web_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """A model server plus gunicorn running the web app with its default configuration."""
    with model_server(repository, log_dir / "bench-modelserver.log", server_env) as endpoint:
        port = free_port()
        multiproc = tempfile.mkdtemp(prefix="zinfer-bench-prom-")
        env = {
            **os.environ,
            "WEBAPP_BIND": f"127.0.0.1:{port}",
            "WEBAPP_ENDPOINTS": endpoint,
            "WEBAPP_PROMETHEUS_MULTIPROC_DIR": multiproc,
            **(web_env or {}),
        }
        log = log_dir / "bench-webapp.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [str(VENV_BIN / "gunicorn"), "-c", "python:webapp.gunicorn_conf", "webapp:create_app()"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", process, log)
            yield Stack(f"http://127.0.0.1:{port}", endpoint)
        finally:
            stop(process)
