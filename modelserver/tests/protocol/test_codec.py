"""The wire format round-trips, and every malformed header is refused with a useful message."""

from __future__ import annotations

import json

import numpy as np
import pytest

from modelserver.protocol import (
    ImageInput,
    InferRequest,
    ProtocolError,
    Reply,
    Request,
    Status,
    TensorInput,
    decode_reply,
    decode_request,
    encode_reply,
    encode_request,
    request_id_of,
)


def _header(**fields: object) -> bytes:
    base: dict[str, object] = {"v": 1, "id": "r1", "op": "infer", "model": "m", "input": {"kind": "image"}}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None}).encode()


def test_image_request_round_trip_keeps_payload_untouched() -> None:
    payload = memoryview(b"\xff\xd8jpeg bytes")
    request = Request(
        id="abc",
        op="infer",
        timeout_ms=250.0,
        infer=InferRequest(model="efficientnet-lite0", input=ImageInput(), version=3, top_k=7, scores=True),
        payload=[payload],
    )
    frames = encode_request(request)
    assert frames[1] is payload  # zero-copy: the buffer itself is sent
    decoded = decode_request(frames)
    assert decoded.id == "abc" and decoded.timeout_ms == 250.0
    assert decoded.infer == request.infer
    assert bytes(decoded.payload[0]) == bytes(payload)


def test_tensor_request_round_trip() -> None:
    array = np.arange(2 * 3 * 1, dtype=np.float32).reshape(2, 3, 1)
    spec = TensorInput(dtype="float32", shape=(2, 3, 1))
    frames = encode_request(
        Request(id="t", op="infer", infer=InferRequest("m", spec), payload=[array.tobytes()])
    )
    decoded = decode_request(frames)
    assert decoded.infer is not None and decoded.infer.input == spec


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ([], "empty message"),
        ([b"not json"], "not JSON"),
        ([b"[1, 2]"], "JSON object"),
        ([b"x" * 20000], "limit"),
        ([_header(v=2), b"x"], "version 2"),
        ([_header(id=""), b"x"], "request id"),
        ([_header(id=5), b"x"], "'id'"),
        ([_header(op="train"), b"x"], "unknown op"),
        ([_header(model=None), b"x"], "'model'"),
        ([_header(top_k=101), b"x"], "top_k"),
        ([_header(top_k=True), b"x"], "top_k"),
        ([_header(scores="yes"), b"x"], "scores"),
        ([_header(version=-1), b"x"], "version"),
        ([_header(timeout_ms="soon"), b"x"], "timeout_ms"),
        ([_header(input={"kind": "audio"}), b"x"], "input"),
        ([_header(input={"kind": "tensor", "dtype": "float64", "shape": [1]}), b"x"], "dtype"),
        ([_header(input={"kind": "tensor", "dtype": "float32", "shape": [0]}), b"x"], "shape"),
        ([_header(input={"kind": "tensor", "dtype": "float32", "shape": [2]}), b"x"], "needs 8 bytes"),
        ([_header()], "exactly one payload frame"),
        ([_header(), b"a", b"b"], "exactly one payload frame"),
    ],
)
def test_malformed_requests_are_refused_with_a_reason(frames: list[bytes], message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        decode_request(frames)


def test_request_id_is_recovered_from_a_bad_message() -> None:
    assert request_id_of([_header(v=9)]) == "r1"
    assert request_id_of([b"garbage"]) == ""
    assert request_id_of([]) == ""


DEEPLY_NESTED = b'{"v": 1, "id": "r1", "op": "ping", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
HUGE_TIMEOUT = b'{"v": 1, "id": "r1", "op": "ping", "timeout_ms": 1' + b"0" * 400 + b"}"
OVER_DIGIT_LIMIT = b'{"v": 1, "id": "r1", "op": "ping", "timeout_ms": 1' + b"0" * 5000 + b"}"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (DEEPLY_NESTED, "nested too deeply"),
        (HUGE_TIMEOUT, "timeout_ms"),
        (OVER_DIGIT_LIMIT, "not JSON"),
        (b'{"v": 1, "id": "r\\ud800", "op": "ping"}', "'id' is not valid Unicode"),
        (b'{"v": 1, "id": "r1", "op": "infer", "model": "m\\udfff"}', "'model' is not valid Unicode"),
    ],
)
def test_headers_that_break_the_json_or_number_parser_are_protocol_errors(
    header: bytes, message: str
) -> None:
    """Anything else raised here would escape the I/O thread's handler and kill it."""
    assert len(header) <= 16 * 1024
    with pytest.raises(ProtocolError, match=message):
        decode_request([header, b"x"])


@pytest.mark.parametrize("header", [DEEPLY_NESTED, OVER_DIGIT_LIMIT, b'{"id": "\\ud800"}', b"\xff"])
def test_request_id_of_never_raises(header: bytes) -> None:
    assert request_id_of([header]) == ""


def test_request_id_of_a_header_with_a_huge_timeout_is_still_found() -> None:
    assert request_id_of([HUGE_TIMEOUT]) == "r1"


def test_reply_round_trip_with_payload() -> None:
    scores = np.array([0.25, 0.75], dtype="<f4").tobytes()
    reply = Reply(
        id="r",
        status=Status.OK,
        body={"model": "m", "version": 1, "predictions": [], "outputs": [{"name": "scores"}]},
        payload=[scores],
    )
    decoded = decode_reply(encode_reply(reply))
    assert decoded.status is Status.OK and decoded.id == "r" and decoded.message == ""
    assert decoded.body["model"] == "m" and bytes(decoded.payload[0]) == scores


def test_error_reply_carries_status_and_message() -> None:
    decoded = decode_reply(
        encode_reply(Reply(id="r", status=Status.OVERLOADED, message="full", body={"retry_after_ms": 5}))
    )
    assert (decoded.status, decoded.message, decoded.body) == (
        Status.OVERLOADED,
        "full",
        {"retry_after_ms": 5},
    )


def test_reply_without_status_is_malformed() -> None:
    with pytest.raises(ProtocolError):
        decode_reply([b'{"v": 1, "id": "x"}'])
