"""Closed-loop load on the real services: many ZeroMQ clients on one model server, a few through
the web app, and a trickle of bad requests so the error panels have something to show."""

from __future__ import annotations

import collections
import io
import threading
from collections.abc import Callable

import requests
from modelserver.client import ModelClient, ModelServerError

MODEL = "efficientnet-lite0"
SECOND_MODEL = "fer-emotion"


def chelsea_jpeg() -> bytes:
    """scikit-image's `chelsea` (a tabby cat) at 640×480 as a JPEG, the DESIGN's benchmark size."""
    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.chelsea()).resize((640, 480)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


class Load:
    """Threads that loop until stopped; `outcomes` counts what came back, by kind."""

    def __init__(self, endpoint: str, web_url: str, image: bytes, *, clients: int, web_clients: int) -> None:
        self._endpoint = endpoint
        self._web_url = web_url
        self._image = image
        self._clients = clients
        self._web_clients = web_clients
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._client: ModelClient | None = None
        self._lock = threading.Lock()
        self.outcomes: collections.Counter[str] = collections.Counter()

    @property
    def running(self) -> bool:
        return bool(self._threads)

    def _count(self, outcome: str) -> None:
        with self._lock:
            self.outcomes[outcome] += 1

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._client = ModelClient(self._endpoint, timeout_ms=20_000)
        zmq: list[Callable[[int], None]] = [self._zmq_loop] * self._clients
        web: list[Callable[[int], None]] = [self._web_loop] * self._web_clients
        loops = zmq + web
        self._threads = [
            threading.Thread(target=loop, args=(i,), name=f"load-{i}", daemon=True)
            for i, loop in enumerate(loops)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        stuck = [t.name for t in self._threads if t.is_alive()]
        self._threads = []
        if self._client is not None:
            self._client.close()
            self._client = None
        assert not stuck, f"load threads did not stop: {stuck}"

    def _zmq_loop(self, index: int) -> None:
        assert self._client is not None
        client = self._client
        n = 0
        while not self._stop.is_set():
            n += 1
            # Thread 0 alternates with the second model; every 10th request of thread 1 is bad.
            if index == 0 and n % 2 == 0:
                model, payload = SECOND_MODEL, self._image
            elif index == 1 and n % 10 == 0:
                model, payload = MODEL, b"this is not an image"  # INVALID_INPUT
            elif index == 1 and n % 10 == 1:
                model, payload = "no-such-model", self._image  # MODEL_NOT_FOUND
            else:
                model, payload = MODEL, self._image
            try:
                client.predict(model, payload, top_k=1)
                self._count("zmq ok")
            except ModelServerError as exc:
                self._count(f"zmq {type(exc).__name__}")

    def _web_loop(self, index: int) -> None:
        session = requests.Session()
        n = 0
        while not self._stop.is_set():
            n += 1
            if n % 20 == 0:
                files = {"file": ("junk.jpg", b"\xff\xd8 not really a jpeg", "image/jpeg")}  # 400/415
                params = {}
            elif n % 20 == 1:
                files = {"file": ("cat.jpg", self._image, "image/jpeg")}
                params = {"model": "no-such-model"}  # 404
            else:
                files = {"file": ("cat.jpg", self._image, "image/jpeg")}
                params = {}
            try:
                response = session.post(
                    f"{self._web_url}/api/v1/predict", files=files, params=params, timeout=30
                )
                self._count(f"web {response.status_code}")
            except requests.RequestException as exc:
                self._count(f"web {type(exc).__name__}")
        session.close()
