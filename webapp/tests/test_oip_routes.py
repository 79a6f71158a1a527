from __future__ import annotations

import base64
import json
import struct

import numpy as np
import pytest
from flask.testing import FlaskClient
from modelserver.client import Overloaded, Unavailable

from tests.fakes import FakeClient
from tests.images import jpeg, png_bomb


def test_server_metadata_and_health(http: FlaskClient, fake: FakeClient) -> None:
    meta = http.get("/v2").json
    assert meta is not None and meta["name"] == "zinfer"
    assert {"binary_tensor_data", "classification"} <= set(meta["extensions"])
    assert http.get("/v2/health/live").json == {"live": True}
    assert http.get("/v2/health/ready").json == {"ready": True}
    fake.is_ready = False
    not_ready = http.get("/v2/health/ready")
    assert not_ready.status_code == 503 and not_ready.json == {"ready": False}


def test_model_metadata(http: FlaskClient) -> None:
    meta = http.get("/v2/models/efficientnet-lite0").json
    assert meta == {
        "name": "efficientnet-lite0",
        "versions": ["1"],
        "platform": "litert",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 224, 224, 3]}],
        "outputs": [{"name": "scores", "datatype": "FP32", "shape": [-1, 7]}],
    }
    assert http.get("/v2/models/fer-emotion/versions/1").status_code == 200
    assert http.get("/v2/models/fer-emotion/versions/9").status_code == 404
    assert http.get("/v2/models/fer-emotion/versions/latest").status_code == 404
    missing = http.get("/v2/models/nope")
    assert missing.status_code == 404 and "nope" in missing.json["error"]  # type: ignore[index]


def test_model_ready(http: FlaskClient, fake: FakeClient) -> None:
    assert http.get("/v2/models/fer-emotion/ready").json == {"name": "fer-emotion", "ready": True}
    assert http.get("/v2/models/fer-emotion/versions/2/ready").status_code == 200
    assert http.get("/v2/models/nope/ready").status_code == 404
    fake.error = Unavailable("no model server reachable")
    assert http.get("/v2/models/fer-emotion/versions/2/ready").status_code in (200, 503)  # cached list


def _infer(http: FlaskClient, doc: dict[str, object], binary: bytes = b"", path: str = "efficientnet-lite0"):  # type: ignore[no-untyped-def]
    body = json.dumps(doc).encode()
    headers = {"Inference-Header-Content-Length": str(len(body))} if binary else {}
    return http.post(
        f"/v2/models/{path}/infer",
        data=body + binary,
        headers=headers,
        content_type="application/octet-stream" if binary else "application/json",
    )


def test_infer_image_json_default_output_is_scores(http: FlaskClient, fake: FakeClient) -> None:
    doc = {
        "id": "abc",
        "inputs": [
            {"name": "image", "shape": [1], "datatype": "BYTES", "data": [base64.b64encode(jpeg()).decode()]}
        ],
    }
    response = _infer(http, doc)
    assert response.status_code == 200, response.json
    body = response.json
    assert body is not None and body["id"] == "abc" and body["model_name"] == "efficientnet-lite0"
    assert body["model_version"] == "1"
    (out,) = body["outputs"]
    assert out["name"] == "scores" and out["datatype"] == "FP32" and out["shape"] == [1, 7]
    assert fake.calls[-1]["scores"] is True and fake.calls[-1]["image"] == jpeg()


def test_infer_binary_in_and_out_with_classification(http: FlaskClient, fake: FakeClient) -> None:
    images = [jpeg(), jpeg(32, 32)]
    binary = b"".join(struct.pack("<I", len(i)) + i for i in images)
    doc = {
        "inputs": [
            {
                "name": "image",
                "shape": [2],
                "datatype": "BYTES",
                "parameters": {"binary_data_size": len(binary)},
            }
        ],
        "outputs": [{"name": "scores", "parameters": {"classification": 2, "binary_data": True}}],
    }
    response = _infer(http, doc, binary, path="fer-emotion/versions/1")
    assert response.status_code == 200
    assert response.mimetype == "application/octet-stream"
    length = int(response.headers["Inference-Header-Content-Length"])
    raw = response.get_data()
    header = json.loads(raw[:length])
    assert header["model_version"] == "1" and header["id"]  # the request id when none was given
    (out,) = header["outputs"]
    assert out["datatype"] == "BYTES" and out["shape"] == [2, 2]
    first_len = struct.unpack("<I", raw[length : length + 4])[0]
    assert raw[length + 4 : length + 4 + first_len].decode() == "0.4:0:tabby"
    assert [c["image"] for c in fake.calls] == images
    assert all(c["scores"] is False and c["top_k"] == 2 and c["version"] == 1 for c in fake.calls)


def test_infer_tensor(http: FlaskClient, fake: FakeClient) -> None:
    tensor = np.zeros((1, 4, 4, 3), dtype=np.float32)
    doc = {
        "inputs": [
            {"name": "input", "shape": [1, 4, 4, 3], "datatype": "FP32", "data": tensor.reshape(-1).tolist()}
        ],
        "outputs": [{"name": "scores", "parameters": {"classification": 1}}],
    }
    response = _infer(http, doc)
    assert response.status_code == 200
    assert response.json["outputs"][0]["data"] == ["0.4:0:tabby"]  # type: ignore[index]
    assert fake.calls[-1]["op"] == "predict_tensor" and fake.calls[-1]["array"].shape == (4, 4, 3)


@pytest.mark.parametrize(
    ("doc", "status"),
    [
        ({"inputs": "nope"}, 400),
        (
            {
                "inputs": [
                    {
                        "name": "i",
                        "shape": [1],
                        "datatype": "BYTES",
                        "data": [base64.b64encode(png_bomb()).decode()],
                    }
                ]
            },
            413,
        ),
        ({"inputs": [{"name": "i", "shape": [1], "datatype": "BYTES", "data": [""]}]}, 400),
    ],
)
def test_infer_errors(http: FlaskClient, doc: dict[str, object], status: int) -> None:
    response = _infer(http, doc)
    assert response.status_code == status
    assert isinstance(response.json["error"], str)  # type: ignore[index]


def test_infer_unparseable_json_and_unknown_model(http: FlaskClient) -> None:
    bad = http.post("/v2/models/efficientnet-lite0/infer", data=b"{not json", content_type="application/json")
    assert bad.status_code == 400 and "JSON" in bad.json["error"]  # type: ignore[index]
    doc = {"inputs": [{"name": "i", "shape": [1], "datatype": "BYTES", "data": ["AAAA"]}]}
    assert _infer(http, doc, path="nope").status_code == 404


DEEP = 900  # deep, but within json's own limit


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"[" * 100_000 + b"]" * 100_000, 400),  # nesting deeper than any recursion limit
        (b'{"inputs": [], "id": ' + b"9" * 5000 + b"}", 400),  # over the interpreter's 4300-digit limit
        # nested data is flattened without recursion, however deep json let it through
        (
            b'{"inputs": [{"name": "i", "shape": [1], "datatype": "BYTES", "data": '
            + b"[" * DEEP
            + b'"AA=="'
            + b"]" * DEEP
            + b"}]}",
            200,
        ),
    ],
)
def test_hostile_json_gets_an_answer_not_a_500(http: FlaskClient, body: bytes, status: int) -> None:
    response = http.post("/v2/models/efficientnet-lite0/infer", data=body, content_type="application/json")
    assert response.status_code == status, response.json


def test_a_version_that_is_not_ascii_digits_is_404(http: FlaskClient) -> None:
    assert http.get("/v2/models/efficientnet-lite0/versions/%C2%B2").status_code == 404


def test_infer_overloaded(http: FlaskClient, fake: FakeClient) -> None:
    fake.error = Overloaded("queue full", retry_after_s=0.05)
    doc = {"inputs": [{"name": "i", "shape": [1], "datatype": "BYTES", "data": ["AAAA"]}]}
    response = _infer(http, doc)
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
