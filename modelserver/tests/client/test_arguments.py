"""A bad argument fails its own call, on the caller's thread; the I/O thread and the client live on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from modelserver.client import InternalError, InvalidInput, ModelClient
from modelserver.client import _engine as engine_module
from modelserver.protocol import ImageInput, InferRequest, Request
from tests.client.fake_server import FakeServer


@pytest.fixture
def server() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


@pytest.fixture
def client(server: FakeServer) -> Iterator[ModelClient]:
    with ModelClient(server.endpoint, timeout_ms=5_000) as client:
        yield client


def _still_answers(client: ModelClient) -> None:
    assert client.predict("m", b"abc", top_k=2).predictions[0].class_id == 2


def test_numpy_integers_are_sent_as_plain_integers(client: ModelClient, server: FakeServer) -> None:
    prediction = client.predict("m", b"abc", top_k=np.int64(3), version=np.int64(2))  # type: ignore[arg-type]
    assert (prediction.predictions[0].class_id, prediction.version) == (3, 2)
    tensor = np.zeros((2, 2), dtype=np.float32)
    client.predict_tensor("m", tensor, top_k=np.int32(1), version=np.uint8(4))  # type: ignore[arg-type]
    infer = server.requests[-1].infer
    assert infer is not None and (infer.top_k, infer.version) == (1, 4)
    _still_answers(client)


def test_a_non_contiguous_buffer_is_sent_as_a_copy(client: ModelClient, server: FakeServer) -> None:
    image = memoryview(bytes(range(10)))[::2]
    assert not image.c_contiguous
    client.predict("m", image)
    assert bytes(server.requests[-1].payload[0]) == bytes(range(0, 10, 2))
    _still_answers(client)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"top_k": "3"}, TypeError),
        ({"top_k": 2.5}, TypeError),
        ({"top_k": True}, TypeError),
        ({"version": "1"}, TypeError),
        ({"model": b"m"}, TypeError),
        ({"image": "not bytes"}, TypeError),
        ({"model": "\ud800"}, InvalidInput),  # a lone surrogate: no UTF-8 for the header
    ],
)
def test_a_bad_argument_raises_to_its_caller_and_the_client_still_answers(
    client: ModelClient, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    args: dict[str, Any] = {"model": "m", "image": b"abc", **kwargs}
    model, image = args.pop("model"), args.pop("image")
    with pytest.raises(error):
        client.predict(model, image, **args)
    _still_answers(client)


def test_a_call_the_io_thread_cannot_send_fails_alone(
    client: ModelClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past the caller's checks (a request built by hand): fails that call, not the I/O thread.
    unsendable = Request(
        id="unsendable",
        op="infer",
        infer=InferRequest(model="m", input=ImageInput()),
        payload=[memoryview(bytes(10))[::2]],
    )
    with pytest.raises(InternalError, match="could not send"):
        client._call(unsendable, 5_000)
    _still_answers(client)

    real_encode = engine_module.encode_request  # type: ignore[attr-defined]

    def encode(request: Request) -> Any:
        if request.infer is not None and request.infer.model == "boom":
            raise RuntimeError("injected: cannot encode")
        return real_encode(request)

    monkeypatch.setattr(engine_module, "encode_request", encode)
    with pytest.raises(InternalError, match="injected"):
        client.predict("boom", b"abc")
    _still_answers(client)
