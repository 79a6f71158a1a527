"""The I/O thread, with fake models: whatever one request does, it answers it and goes on."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import zmq

from modelserver.errors import ModelNotFound
from modelserver.metrics import ServerMetrics
from modelserver.protocol import Reply, Status
from modelserver.serving.job import Job
from modelserver.transport.io_loop import UNKNOWN_MODEL, IOLoop
from modelserver.transport.replies import ReplyChannel
from tests.conftest import wait_until
from tests.protocol.test_codec import DEEPLY_NESTED, HUGE_TIMEOUT, OVER_DIGIT_LIMIT

PING = b'{"v": 1, "id": "ping", "op": "ping"}'


@dataclass
class FakeModel:
    """Answers OK at once from the thread that submits (or refuses, like a retired version)."""

    name: str
    version: int
    replies: ReplyChannel
    accept: bool = True
    answer: bool = True
    before_submit: Callable[[], None] | None = None
    jobs: list[Job] = field(default_factory=list)

    def submit(self, job: Job) -> bool:
        if self.before_submit is not None:
            self.before_submit()
        if not self.accept:
            return False
        self.jobs.append(job)
        if self.answer:
            self.replies.send(job.envelope, Reply(job.id, Status.OK, body={"version": self.version}))
        return True

    def reply_to_all(self) -> None:
        for job in self.jobs:
            self.replies.send(job.envelope, Reply(job.id, Status.OK, body={"version": self.version}))


class FakeManager:
    """ModelManager.get as the I/O loop uses it, over a dict the test changes."""

    def __init__(self) -> None:
        self.serving: dict[str, FakeModel] = {}
        self.get_hook: Any = None

    def get(self, name: str, version: int | None = None) -> FakeModel:
        if self.get_hook is not None:
            self.get_hook(name)
        model = self.serving.get(name)
        if model is None or (version is not None and version != model.version):
            raise ModelNotFound(f"model {name!r} is not served here")
        return model

    def models(self) -> list[FakeModel]:
        return list(self.serving.values())

    def versions_on_disk(self, name: str) -> list[int]:
        return []


@dataclass
class Harness:
    loop: IOLoop
    manager: FakeManager
    replies: ReplyChannel
    metrics: ServerMetrics
    client: zmq.Socket[bytes]

    def send(self, header: bytes, *payload: bytes) -> None:
        self.client.send_multipart([b"client-1", b"", header, *payload])

    def infer(self, request_id: str, model: str = "m", **fields: Any) -> None:
        header = {"v": 1, "id": request_id, "op": "infer", "model": model, **fields}
        self.send(json.dumps(header).encode(), b"image")

    def recv(self, timeout_ms: int = 5000) -> dict[str, Any]:
        if not self.client.poll(timeout_ms):
            raise TimeoutError("no reply from the I/O loop")
        frames = self.client.recv_multipart()
        assert frames[:2] == [b"client-1", b""]
        reply: dict[str, Any] = json.loads(frames[2])
        return reply

    def add_model(self, name: str = "m", version: int = 1, **kwargs: Any) -> FakeModel:
        model = FakeModel(name, version, self.replies, **kwargs)
        self.manager.serving[name] = model
        return model

    def series(self) -> set[tuple[str, str]]:
        """(model, status) label pairs of the request counter."""
        return {
            (s.labels["model"], s.labels["status"])
            for metric in self.metrics.requests.collect()
            for s in metric.samples
            if s.name == "modelserver_requests_total"
        }


@pytest.fixture
def harness() -> Iterator[Harness]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    backend = "inproc://test-backend"
    client = context.socket(zmq.DEALER)
    client.setsockopt(zmq.LINGER, 0)
    client.bind(backend)
    replies = ReplyChannel(context)
    manager = FakeManager()
    metrics = ServerMetrics()
    loop = IOLoop(
        context,
        backend,
        replies,
        manager,  # type: ignore[arg-type]
        metrics,
        max_queue_size=8,
        max_request_bytes=1024,
        default_timeout_ms=10_000,
        is_ready=lambda: True,
    )
    loop.start()
    yield Harness(loop, manager, replies, metrics, client)
    loop.stop()
    replies.close()
    client.close()
    context.term()


def assert_still_serving(harness: Harness) -> None:
    harness.send(PING)
    assert harness.recv() == {"v": 1, "id": "ping", "status": "OK", "ready": True}
    assert not harness.loop.failed


@pytest.mark.parametrize("header", [DEEPLY_NESTED, HUGE_TIMEOUT, OVER_DIGIT_LIMIT])
def test_headers_that_broke_the_parser_are_refused_and_the_loop_goes_on(
    harness: Harness, header: bytes
) -> None:
    harness.send(header, b"x")
    assert harness.recv()["status"] == "INVALID_INPUT"
    assert_still_serving(harness)


def test_an_oversized_request_with_a_deeply_nested_header_is_answered(harness: Harness) -> None:
    harness.send(DEEPLY_NESTED, b"x" * 2048)  # TOO_LARGE path: only the id is looked for
    assert harness.recv() | {"message": ""} == {"v": 1, "id": "", "status": "TOO_LARGE", "message": ""}
    assert_still_serving(harness)


def test_a_bug_while_admitting_answers_internal_and_the_loop_goes_on(harness: Harness) -> None:
    def broken(name: str) -> None:
        if name == "boom":
            raise RuntimeError("bug")

    harness.manager.get_hook = broken
    harness.infer("b1", model="boom")
    reply = harness.recv()
    assert (reply["id"], reply["status"]) == ("b1", "INTERNAL")
    assert_still_serving(harness)


def test_a_failed_reply_forward_frees_its_admission_slot(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = harness.add_model(answer=False)
    harness.infer("f1")
    wait_until(lambda: harness.loop.inflight == 1, 5, "admission")
    intake = harness.loop._intake
    real_send = intake.send_multipart

    def failing_send(frames: Any, *args: Any, **kwargs: Any) -> Any:
        if len(frames) > 2 and b'"id":"f1"' in bytes(frames[2]):
            raise zmq.ZMQError(zmq.EAGAIN)
        return real_send(frames, *args, **kwargs)

    monkeypatch.setattr(intake, "send_multipart", failing_send)
    model.reply_to_all()
    wait_until(lambda: harness.loop.inflight == 0, 5, "the slot to be freed")
    assert_still_serving(harness)


def test_a_dead_loop_is_reported(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash() -> None:
        raise RuntimeError("bug outside any request")

    monkeypatch.setattr(harness.loop, "_update_idle", crash)
    wait_until(lambda: harness.loop.failed, 5, "the loop to report its death")


def test_a_version_retired_before_submit_is_not_answered_by_another(harness: Harness) -> None:
    successor = FakeModel("m", 2, harness.replies)

    def swap() -> None:  # the swap lands between get() and submit(): v1 is retired
        harness.manager.serving["m"] = successor

    retired = harness.add_model(version=1, accept=False, before_submit=swap)
    harness.infer("pinned", version=1)
    reply = harness.recv()
    assert (reply["id"], reply["status"]) == ("pinned", "MODEL_NOT_FOUND")
    assert successor.jobs == []
    harness.manager.serving["m"] = retired
    harness.infer("newest")
    assert harness.recv() | {"timings_ms": None} == {
        "v": 1, "id": "newest", "status": "OK", "version": 2, "timings_ms": None
    }  # fmt: skip
    wait_until(lambda: harness.loop.inflight == 0, 5, "the slot to be freed (just after forwarding)")


def test_when_no_version_takes_the_job_it_is_answered_unavailable(harness: Harness) -> None:
    harness.add_model(accept=False)
    harness.infer("u1")
    reply = harness.recv()
    assert (reply["id"], reply["status"]) == ("u1", "UNAVAILABLE")
    assert harness.loop.inflight == 0
    assert_still_serving(harness)


def test_unknown_model_names_share_one_metric_series(harness: Harness) -> None:
    harness.add_model("known")
    for i in range(50):
        harness.infer(f"n{i}", model=f"no-such-model-{i}")
        assert harness.recv()["status"] == "MODEL_NOT_FOUND"
    harness.infer("k", model="known", version=9)
    assert harness.recv()["status"] == "MODEL_NOT_FOUND"
    expected = {(UNKNOWN_MODEL, "MODEL_NOT_FOUND"), ("known", "MODEL_NOT_FOUND")}
    wait_until(lambda: harness.series() == expected, 5, "the last count (made after the reply is sent)")


def test_draining_waits_for_a_request_being_admitted_when_it_began(harness: Harness) -> None:
    model = harness.add_model(answer=False)
    admitting, release = threading.Event(), threading.Event()

    def slow_get(name: str) -> None:  # the loop passed its draining check and is in admission
        admitting.set()
        release.wait(5)

    harness.manager.get_hook = slow_get
    wait_until(harness.loop._idle.is_set, 5, "the loop to be idle")
    harness.infer("late")
    assert admitting.wait(5)
    harness.loop.draining = True
    outcome: list[bool] = []
    waiter = threading.Thread(target=lambda: outcome.append(harness.loop.wait_idle(5)))
    waiter.start()
    waiter.join(0.3)
    assert outcome == []  # not idle: a request is still being admitted
    release.set()
    wait_until(lambda: model.jobs, 5, "the request to be admitted")
    waiter.join(0.3)
    assert outcome == []  # not idle: the request is in flight
    model.reply_to_all()
    waiter.join(5)
    assert outcome == [True]
    assert harness.recv()["id"] == "late"
