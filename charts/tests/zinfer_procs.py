"""Processes for the tests that tie the chart to the code: ports from the OS, logs to files,
waits on conditions with deadlines, every process stopped by the fixture that started it."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# ImageNet's domestic cats: tabby, tiger cat, Persian, Siamese, Egyptian cat.
CAT_CLASS_IDS = frozenset({281, 282, 283, 284, 285})
CAT_WORDS = re.compile(r"\b(cat|tabby|persian|siamese)\b", re.IGNORECASE)


def is_cat(prediction: dict[str, object]) -> bool:
    class_id = prediction.get("class_id")
    if isinstance(class_id, int):
        return class_id in CAT_CLASS_IDS
    return CAT_WORDS.search(str(prediction.get("label", ""))) is not None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(poll_s)  # poll interval of a deadline-bound wait
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def http_get(url: str, timeout_s: float = 3.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def post_file(url: str, field: str, filename: str, data: bytes, timeout_s: float = 30.0) -> tuple[int, bytes]:
    boundary = "zinfer-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc).encode()


def chelsea_jpeg() -> bytes:
    """scikit-image's `chelsea` (a tabby cat) as a JPEG."""
    from PIL import Image
    from skimage import data

    out = io.BytesIO()
    Image.fromarray(data.chelsea()).save(out, "JPEG", quality=92)
    return out.getvalue()


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self, tail: int = 4000) -> str:
        return self.log_path.read_text("utf-8", errors="replace")[-tail:]

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout_s: float = 40.0) -> int:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return int(self.process.returncode)


def start(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Proc:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    return Proc(name, process, log_path)


def wait_http_ok(url: str, proc: Proc, timeout_s: float) -> None:
    def ok() -> bool:
        if not proc.alive():
            raise AssertionError(f"{proc.name} exited with {proc.process.returncode}:\n{proc.log()}")
        return http_get(url)[0] == 200

    wait_until(ok, timeout_s, f"{proc.name} {url}")
