"""A real server answers real photos correctly, under concurrency, and survives bad input."""

from __future__ import annotations

import io
import os
import re
import threading
import urllib.request
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from modelserver.client import InvalidInput, ModelClient, ModelNotFound, NotAnImage, TooLarge
from tests.conftest import http_status
from tests.integration.corpus import corpus

pytestmark = pytest.mark.integration

CAT_CLASSES = set(range(281, 286))  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE_CLASSES = {967, 968, 504}  # espresso, cup, coffee mug


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_repository: Any) -> Any:
    from tests.conftest import ServerProcess

    process = ServerProcess(model_repository, {}, tmp_path_factory.mktemp("server") / "server.log").start()
    yield process
    process.kill()


@pytest.fixture(scope="module")
def client(server: Any) -> Any:
    with ModelClient(server.endpoint, timeout_ms=30_000) as c:
        yield c


def test_chelsea_is_a_cat_and_coffee_is_coffee(client: ModelClient, photos: dict[str, bytes]) -> None:
    cat = client.predict("efficientnet-lite0", photos["chelsea"], top_k=5)
    assert cat.predictions[0].class_id in CAT_CLASSES, cat.predictions
    assert cat.model == "efficientnet-lite0" and cat.version >= 1
    assert "cat" in cat.predictions[0].label.lower()
    coffee = client.predict("efficientnet-lite0", photos["coffee"])
    assert coffee.predictions[0].class_id in COFFEE_CLASSES, coffee.predictions
    scores = [p.score for p in cat.predictions]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.0001
    assert {"queue", "decode", "batch_wait", "inference", "total"} <= cat.timings_ms.keys()


def test_full_scores_and_top_k(client: ModelClient, photos: dict[str, bytes]) -> None:
    result = client.predict("efficientnet-lite0", photos["chelsea"], top_k=0, scores=True)
    assert result.predictions == []
    assert result.scores is not None and result.scores.shape == (1000,)
    assert abs(float(result.scores.sum()) - 1.0) < 1e-3
    assert int(result.scores.argmax()) in CAT_CLASSES


def test_tensor_input_matches_image_input(
    client: ModelClient, photos: dict[str, bytes], model_repository: Path
) -> None:
    from modelserver.imaging.transforms import to_input_tensor
    from modelserver.repository import load_config

    info = {m.name: m for m in client.models()}["efficientnet-lite0"]
    config = load_config(model_repository / "efficientnet-lite0" / str(info.version))
    tensor = to_input_tensor(Image.open(io.BytesIO(photos["chelsea"])), config.input, config.preprocessing)
    by_tensor = client.predict_tensor("efficientnet-lite0", tensor, top_k=3)
    assert by_tensor.predictions[0].class_id in CAT_CLASSES
    with pytest.raises(InvalidInput, match="does not match the model input"):
        client.predict_tensor("efficientnet-lite0", np.zeros((10, 10, 3), np.float32))


def test_fer_emotion_serves_seven_expressions(client: ModelClient, photos: dict[str, bytes]) -> None:
    result = client.predict("fer-emotion", photos["astronaut"], top_k=7)
    labels = {p.label for p in result.predictions}
    assert labels == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}


def test_models_lists_both_with_inputs(client: ModelClient) -> None:
    models = {m.name: m for m in client.models()}
    assert {"efficientnet-lite0", "fer-emotion"} <= models.keys()
    effnet = models["efficientnet-lite0"]
    assert (effnet.input.height, effnet.input.width, effnet.input.channels) == (224, 224, 3)
    assert effnet.labels == 1000 and effnet.runtime in ("litert", "tensorflow")
    assert models["fer-emotion"].input.channels == 1


def test_unknown_model_and_version(client: ModelClient, photos: dict[str, bytes]) -> None:
    with pytest.raises(ModelNotFound, match="not served"):
        client.predict("no-such-model", photos["chelsea"])
    with pytest.raises(ModelNotFound, match="version 999"):
        client.predict("efficientnet-lite0", photos["chelsea"], version=999)


def test_many_concurrent_callers_get_their_own_answers(server: Any, photos: dict[str, bytes]) -> None:
    expected = {"chelsea": CAT_CLASSES, "coffee": COFFEE_CLASSES}
    clients = [ModelClient(server.endpoint, timeout_ms=60_000) for _ in range(3)]
    try:

        def call(i: int) -> bool:
            name = "chelsea" if i % 2 else "coffee"
            result = clients[i % 3].predict("efficientnet-lite0", photos[name], top_k=1)
            return result.predictions[0].class_id in expected[name]

        with ThreadPoolExecutor(32) as pool:
            outcomes = list(pool.map(call, range(320)))
    finally:
        for c in clients:
            c.close()
    assert all(outcomes)


def test_bad_input_corpus_gets_the_right_status_and_server_keeps_serving(
    server: Any, client: ModelClient, raw_client: Any, photos: dict[str, bytes]
) -> None:
    raw = raw_client(server.endpoint)
    cases = corpus(photos["chelsea"])
    for i, (payload, _) in enumerate(cases.values()):
        raw.send(f"bad-{i}", payload)
    replies = {r["id"]: r for r in (raw.recv() for _ in cases)}
    for i, (name, (_, expected)) in enumerate(cases.items()):
        reply = replies[f"bad-{i}"]
        assert reply["status"] == expected, f"{name}: {reply}"
        if expected != "OK":
            assert reply["message"], f"{name} has no message"
    assert replies["bad-2"].get("reason") == "not_an_image"  # text → 415 in the web tier
    assert http_status(f"{server.http}/healthz") == 200
    assert http_status(f"{server.http}/readyz") == 200
    assert client.predict("efficientnet-lite0", photos["chelsea"]).predictions[0].class_id in CAT_CLASSES


def test_client_exceptions_for_bad_images(client: ModelClient, photos: dict[str, bytes]) -> None:
    cases = corpus(photos["chelsea"])
    with pytest.raises(NotAnImage):
        client.predict("efficientnet-lite0", cases["text"][0])
    with pytest.raises(TooLarge, match="exceeds the limit"):
        client.predict("efficientnet-lite0", cases["30000x30000 png"][0])
    with pytest.raises(InvalidInput, match=r"truncated|damaged|cannot"):
        client.predict("efficientnet-lite0", cases["truncated jpeg"][0])


def test_malformed_messages_are_answered(server: Any, raw_client: Any) -> None:
    raw = raw_client(server.endpoint)
    raw.send_frames([b"not json"])
    assert raw.recv()["status"] == "INVALID_INPUT"
    raw.send_frames([b'{"v": 7, "id": "old", "op": "ping"}'])
    reply = raw.recv()
    assert (reply["status"], reply["id"]) == ("INVALID_INPUT", "old")
    raw.send("big", b"x" * (21 * 1024 * 1024))
    assert raw.recv()["status"] == "TOO_LARGE"
    raw.send_frames([b'{"v": 1, "id": "p", "op": "ping"}'])
    assert raw.recv() | {"_payload": None} == {
        "v": 1,
        "id": "p",
        "status": "OK",
        "ready": True,
        "_payload": None,
    }


@pytest.mark.parametrize(
    "header",
    [
        b'{"v": 1, "id": "deep", "op": "ping", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"v": 1, "id": "huge", "op": "ping", "timeout_ms": 1' + b"0" * 400 + b"}",
        b'{"v": 1, "id": "digits", "op": "ping", "timeout_ms": 1' + b"0" * 5000 + b"}",
    ],
    ids=["nested", "float-overflow", "digit-limit"],
)
def test_headers_that_broke_the_parser_leave_the_server_answering(
    server: Any, raw_client: Any, header: bytes
) -> None:
    raw = raw_client(server.endpoint)
    raw.send_frames([header, b"x"])
    assert raw.recv()["status"] == "INVALID_INPUT"
    raw.send_frames([header, b"x" * (21 * 1024 * 1024)])  # TOO_LARGE: only the id is looked for
    assert raw.recv()["status"] == "TOO_LARGE"
    raw.send_frames([b'{"v": 1, "id": "p", "op": "ping"}'])
    assert raw.recv()["status"] == "OK"
    assert http_status(f"{server.http}/healthz") == 200


def test_unknown_model_names_are_counted_in_one_series(server: Any, raw_client: Any) -> None:
    raw = raw_client(server.endpoint)
    for i in range(200):
        raw.send(f"u{i}", b"x", model=f"no-such-model-{i}")
    assert {raw.recv()["status"] for _ in range(200)} == {"MODEL_NOT_FOUND"}
    with urllib.request.urlopen(f"{server.http}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert "no-such-model" not in text
    counted = re.search(
        r'^modelserver_requests_total\{model="<unknown>",status="MODEL_NOT_FOUND"\} (\S+)$', text, re.M
    )
    assert counted is not None and float(counted.group(1)) >= 200


def test_metrics_expose_the_documented_names(
    server: Any, client: ModelClient, photos: dict[str, bytes]
) -> None:
    client.predict("efficientnet-lite0", photos["coffee"])
    with urllib.request.urlopen(f"{server.http}/metrics", timeout=5) as response:
        text = response.read().decode()
    for name in (
        "modelserver_queue_depth",
        "modelserver_inflight_requests",
        "modelserver_requests_total",
        "modelserver_request_duration_seconds_bucket",
        "modelserver_queue_wait_seconds_bucket",
        "modelserver_inference_duration_seconds_bucket",
        "modelserver_batch_size_bucket",
        "modelserver_decode_duration_seconds_bucket",
        'modelserver_model_info{model="efficientnet-lite0"',
    ):
        assert name in text, name
    assert 'modelserver_requests_total{model="efficientnet-lite0",status="OK"}' in text
    assert http_status(f"{server.http}/nope") == 404


def test_client_is_safe_to_share_across_threads_and_fork(server: Any, photos: dict[str, bytes]) -> None:
    shared = ModelClient(server.endpoint, timeout_ms=30_000)
    try:
        assert shared.ready()
        barrier = threading.Barrier(8)

        def call() -> int:
            barrier.wait()
            return shared.predict("efficientnet-lite0", photos["chelsea"], top_k=1).predictions[0].class_id

        with ThreadPoolExecutor(8) as pool:
            assert all(c in CAT_CLASSES for c in pool.map(lambda _: call(), range(8)))
        with warnings.catch_warnings():  # fork() with threads running is exactly what we test
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # child: the inherited client must build its own I/O thread and work
            try:
                ok = (
                    shared.predict("efficientnet-lite0", photos["chelsea"], top_k=1).predictions[0].class_id
                    in CAT_CLASSES
                )
            except BaseException:
                ok = False
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert (
            shared.predict("efficientnet-lite0", photos["coffee"], top_k=1).predictions[0].class_id
            in COFFEE_CLASSES
        )
    finally:
        shared.close()


def test_a_client_vanishing_with_requests_in_flight_does_not_hurt_the_server(
    server: Any, client: ModelClient, raw_client: Any, photos: dict[str, bytes]
) -> None:
    for round_ in range(3):
        gone = raw_client(server.endpoint)
        for i in range(10):
            gone.send(f"gone-{round_}-{i}", photos["chelsea"])
        gone.close()  # replies for these now have nowhere to go
        result = client.predict("efficientnet-lite0", photos["coffee"], top_k=1)
        assert result.predictions[0].class_id in COFFEE_CLASSES


def _thread_nice_values(pid: int) -> list[int]:
    """The nice value of every thread of `pid` (field 19 of /proc/<pid>/task/<tid>/stat)."""
    values = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        stat = (task / "stat").read_text()
        values.append(int(stat.rsplit(")", 1)[1].split()[16]))
    return values


def test_inference_threads_run_behind_the_io_threads(server: Any) -> None:
    assert server.process is not None
    values = _thread_nice_values(server.process.pid)
    base = min(values)
    lowered = [v for v in values if v == min(19, base + 10)]
    # Two workers per model, each with the LiteRT pool thread of its lone-request interpreter.
    assert len(lowered) >= 4, values
    # The main thread, the I/O thread, the proxy, libzmq's I/O thread and the HTTP port are not.
    assert values.count(base) >= 5, values
