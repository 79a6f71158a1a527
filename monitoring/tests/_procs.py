"""Child processes on ephemeral ports, each with a log file, stopped by PID; waits with deadlines."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.1) -> None:
    """Poll `condition` until it holds; fail naming `what` past the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(poll_s)  # the poll interval of a deadline-bound wait, not synchronisation


@dataclass
class Proc:
    """A started process and its log; `stop()` is idempotent and returns the exit status."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self, tail: int = 4000) -> str:
        return self.log_path.read_text("utf-8", errors="replace")[-tail:]

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        """Signal the whole process group, as a terminal's Ctrl-C does."""
        if self.alive():
            os.killpg(self.process.pid, signum)

    def stop(self, timeout_s: float = 30.0) -> int:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return int(self.process.returncode)


def start(
    name: str, args: list[str], env: dict[str, str], log_dir: Path, *, new_session: bool = False
) -> Proc:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=new_session,
        )
    return Proc(name, process, log_path)


def http_ok(url: str, proc: Proc) -> bool:
    """True once `url` answers 200; fails at once, with its log, if `proc` died."""
    if not proc.alive():
        raise AssertionError(f"{proc.name} exited with {proc.process.returncode}:\n{proc.log()}")
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
