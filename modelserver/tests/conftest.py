"""Shared fixtures: the model repository, real photos, and model-server processes on free ports."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port the OS just handed out; the server binds it right after."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def has_ipv6_loopback() -> bool:
    """Whether this host can bind ::1 (containers and CI runners may have IPv6 off)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def wait_until(condition: object, timeout_s: float, what: str, interval_s: float = 0.05) -> None:
    """Poll `condition()` until true or fail after `timeout_s` (never a bare sleep)."""
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@dataclass
class ServerProcess:
    """A real `python -m modelserver` process."""

    repository: Path
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, wait_ready: bool = True) -> ServerProcess:
        env = {
            **os.environ,
            "MODELSERVER_BIND": self.endpoint,
            "MODELSERVER_HTTP_HOST": "127.0.0.1",
            "MODELSERVER_HTTP_PORT": str(self.http_port),
            "MODELSERVER_MODEL_REPOSITORY": str(self.repository),
            "MODELSERVER_REPOSITORY_POLL_S": "0.2",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            **self.env,
        }
        assert self.log_path is not None
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "modelserver"], env=env, stdout=log, stderr=log
        )
        log.close()
        if wait_ready:
            self.wait_ready()
        return self

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"model server exited with {self.process.returncode}:\n{self.log()}")
            return http_status(f"{self.http}/readyz") == 200

        wait_until(ready, timeout_s, "the model server to become ready")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def terminate(self, timeout_s: float = 60.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def kill(self) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def model_repository() -> Path:
    path = Path(os.environ.get("ZINFER_MODEL_REPOSITORY", REPO_ROOT / "models"))
    if not (path / "efficientnet-lite0" / "1" / "config.json").is_file():
        pytest.fail(f"no model repository at {path}: run `make models` first")
    return path


@pytest.fixture
def start_server(tmp_path: Path, model_repository: Path) -> Iterator[object]:
    """Factory: start_server(env=..., repository=...) → a ready ServerProcess, stopped afterwards."""
    started: list[ServerProcess] = []

    def start(
        env: dict[str, str] | None = None, repository: Path | None = None, wait_ready: bool = True
    ) -> ServerProcess:
        server = ServerProcess(
            repository or model_repository, env or {}, tmp_path / f"server-{len(started)}.log"
        )
        started.append(server)
        return server.start(wait_ready)

    yield start
    for server in started:
        if server.process is not None and server.process.poll() is None:
            server.kill()


def _jpeg(array: object, quality: int = 90) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)  # type: ignore[arg-type]
    return buffer.getvalue()


@pytest.fixture(scope="session")
def photos() -> dict[str, bytes]:
    """Real photos that ship inside scikit-image, as JPEG bytes."""
    from skimage import data

    return {
        "chelsea": _jpeg(data.chelsea()),
        "coffee": _jpeg(data.coffee()),
        "astronaut": _jpeg(data.astronaut()),
    }
