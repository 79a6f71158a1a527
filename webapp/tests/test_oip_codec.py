from __future__ import annotations

import base64
import json
import struct

import numpy as np
import pytest

from webapp.errors import BadRequestError
from webapp.oip_codec import OutputSpec, encode_response, parse_request


def _parse(doc: object, binary: bytes = b"", *, max_batch: int = 8):  # type: ignore[no-untyped-def]
    body = json.dumps(doc).encode()
    header = str(len(body)) if binary else None
    return parse_request(body + binary, header, max_batch=max_batch, max_classification=100)


def _bytes_tensor(*elements: bytes) -> bytes:
    return b"".join(struct.pack("<I", len(e)) + e for e in elements)


def test_bytes_input_as_base64_in_json() -> None:
    request = _parse(
        {
            "id": "r1",
            "inputs": [
                {
                    "name": "x",
                    "shape": [2],
                    "datatype": "BYTES",
                    "data": [base64.b64encode(b"one").decode(), "data:image/png;base64,dHdv"],
                }
            ],
        }
    )
    assert request.id == "r1"
    assert request.input.images == [b"one", b"two"]
    assert request.outputs == [OutputSpec()]


def test_bytes_input_through_the_binary_extension() -> None:
    binary = _bytes_tensor(b"\xff\xd8\xffjpeg", b"\x89PNG")
    doc = {
        "inputs": [
            {
                "name": "image",
                "shape": [2, 1],
                "datatype": "BYTES",
                "parameters": {"binary_data_size": len(binary)},
            }
        ],
        "outputs": [{"name": "scores", "parameters": {"classification": 3, "binary_data": True}}],
    }
    request = _parse(doc, binary)
    assert request.input.images == [b"\xff\xd8\xffjpeg", b"\x89PNG"]
    assert request.outputs == [OutputSpec("scores", 3, True)]


@pytest.mark.parametrize("shape", [[1, 2, 2, 3], [2, 2, 3]])
def test_fp32_tensor_in_json_flat_or_nested(shape: list[int]) -> None:
    values = np.arange(12, dtype=np.float32).reshape(shape)
    for data in (values.reshape(-1).tolist(), values.tolist()):
        request = _parse({"inputs": [{"name": "input", "shape": shape, "datatype": "FP32", "data": data}]})
        assert request.input.tensor is not None
        assert request.input.tensor.dtype == np.float32 and request.input.tensor.shape == (1, 2, 2, 3)
        np.testing.assert_array_equal(request.input.tensor.reshape(-1), np.arange(12))


def test_uint8_tensor_binary_batch_of_two() -> None:
    pixels = np.arange(2 * 2 * 2 * 1, dtype=np.uint8)
    doc = {
        "inputs": [
            {
                "name": "input",
                "shape": [2, 2, 2, 1],
                "datatype": "UINT8",
                "parameters": {"binary_data_size": pixels.nbytes},
            }
        ]
    }
    request = _parse(doc, pixels.tobytes())
    assert request.input.batch == 2 and request.input.tensor is not None
    assert request.input.tensor.dtype == np.uint8


def test_fp32_binary_is_little_endian() -> None:
    values = np.array([1.5, -2.0, 3.25], dtype="<f4")
    doc = {
        "inputs": [
            {"name": "input", "shape": [1, 1, 3], "datatype": "FP32", "parameters": {"binary_data_size": 12}}
        ]
    }
    request = _parse(doc, values.tobytes())
    assert request.input.tensor is not None
    np.testing.assert_array_equal(request.input.tensor.reshape(-1), values)


def test_binary_data_output_applies_to_every_output() -> None:
    doc = {
        "parameters": {"binary_data_output": True},
        "inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": ["AA=="]}],
    }
    assert _parse(doc).outputs == [OutputSpec(binary=True)]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "JSON object"),
        ({"inputs": []}, "exactly one input"),
        ({"inputs": [{"name": "x", "shape": [1], "datatype": "INT64", "data": [1]}]}, "not accepted"),
        ({"inputs": [{"name": "x", "shape": [2], "datatype": "BYTES", "data": ["AA=="]}]}, "2 elements"),
        ({"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": ["%%%"]}]}, "base64"),
        ({"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": [5]}]}, "base64"),
        ({"inputs": [{"name": "x", "shape": [9], "datatype": "BYTES", "data": ["AA=="] * 9}]}, "1 to 8"),
        (
            {"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}]},
            "[N, H, W, C]",
        ),
        ({"inputs": [{"name": "x", "shape": [1, 1, 2], "datatype": "FP32", "data": [1]}]}, "holds 2"),
        ({"inputs": [{"name": "x", "shape": [1, 1, 1], "datatype": "FP32", "data": ["a"]}]}, "numbers"),
        ({"inputs": [{"name": "x", "shape": [1, 1, 1], "datatype": "UINT8", "data": [300]}]}, "0 to 255"),
        ({"inputs": [{"name": "x", "shape": [1, 1, 1], "datatype": "FP32", "data": [1e309]}]}, "finite"),
        ({"inputs": [{"name": "x", "shape": [-1], "datatype": "BYTES", "data": []}]}, "non-negative"),
        ({"inputs": [{"name": "x", "shape": [0, 1, 1], "datatype": "UINT8", "data": []}]}, "positive"),
        ({"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES"}]}, "'data'"),
        (
            {
                "inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": ["AA=="]}],
                "outputs": [{"name": "labels"}],
            },
            "only output",
        ),
        (
            {
                "inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": ["AA=="]}],
                "outputs": [{"name": "scores", "parameters": {"classification": 0}}],
            },
            "classification",
        ),
        ({"id": 5, "inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": ["AA=="]}]}, "'id'"),
    ],
)
def test_bad_requests_say_what_is_wrong(doc: object, message: str) -> None:
    with pytest.raises(BadRequestError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _parse(doc)


def test_binary_sizes_must_add_up() -> None:
    doc = {
        "inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 10}}]
    }
    with pytest.raises(BadRequestError, match="binary_data_size"):
        _parse(doc, _bytes_tensor(b"abc"))
    with pytest.raises(BadRequestError, match="Inference-Header-Content-Length"):
        parse_request(b"{}", "99", max_batch=8, max_classification=100)
    with pytest.raises(BadRequestError, match="length prefix"):
        _parse(
            {
                "inputs": [
                    {"name": "x", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 6}}
                ]
            },
            struct.pack("<I", 9) + b"ab",
        )


TOP = [[(0.75, 281, "tabby"), (0.125, 282, "tiger cat")], [(0.5, 7, "cock"), (0.25, 8, "hen")]]


def test_json_response_with_scores_and_classification() -> None:
    scores = np.array([[0.1, 0.9], [0.6, 0.4]], dtype=np.float32)
    body, json_length = encode_response(
        model="m",
        version=3,
        request_id="r",
        outputs=[OutputSpec(), OutputSpec("scores", 2)],
        scores=scores,
        top=TOP,
    )
    assert json_length is None
    doc = json.loads(body)
    assert doc["model_name"] == "m" and doc["model_version"] == "3" and doc["id"] == "r"
    raw, classes = doc["outputs"]
    assert raw == {
        "name": "scores",
        "datatype": "FP32",
        "shape": [2, 2],
        "data": pytest.approx([0.1, 0.9, 0.6, 0.4]),
    }
    assert classes["datatype"] == "BYTES" and classes["shape"] == [2, 2]
    assert classes["data"] == ["0.75:281:tabby", "0.125:282:tiger cat", "0.5:7:cock", "0.25:8:hen"]


def test_binary_response_follows_the_json_in_output_order() -> None:
    scores = np.array([[0.1, 0.9]], dtype=np.float32)
    body, json_length = encode_response(
        model="m",
        version=1,
        request_id="r",
        outputs=[OutputSpec("scores", 1, binary=True), OutputSpec(binary=True)],
        scores=scores,
        top=TOP[:1],
    )
    assert json_length is not None
    doc = json.loads(body[:json_length])
    labels_size = doc["outputs"][0]["parameters"]["binary_data_size"]
    scores_size = doc["outputs"][1]["parameters"]["binary_data_size"]
    rest = body[json_length:]
    assert len(rest) == labels_size + scores_size == 4 + len(b"0.75:281:tabby") + 8
    assert rest[:labels_size] == struct.pack("<I", 14) + b"0.75:281:tabby"
    np.testing.assert_array_equal(np.frombuffer(rest[labels_size:], dtype="<f4"), scores[0])
    assert "data" not in doc["outputs"][0]
