"""Open Inference Protocol v2 through real gunicorn and a real model server."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import numpy as np
import pytest
import requests

from tests.integration.conftest import is_cat

pytestmark = pytest.mark.integration

MODEL = "efficientnet-lite0"


def test_health_and_metadata(base_url: str) -> None:
    assert requests.get(f"{base_url}/v2/health/live", timeout=5).json() == {"live": True}
    assert requests.get(f"{base_url}/v2/health/ready", timeout=5).json() == {"ready": True}
    assert "binary_tensor_data" in requests.get(f"{base_url}/v2", timeout=5).json()["extensions"]
    meta = requests.get(f"{base_url}/v2/models/{MODEL}", timeout=5).json()
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 224, 224, 3]}]
    assert meta["outputs"] == [{"name": "scores", "datatype": "FP32", "shape": [-1, 1000]}]
    version = meta["versions"][0]
    assert requests.get(f"{base_url}/v2/models/{MODEL}/versions/{version}", timeout=5).status_code == 200
    assert requests.get(f"{base_url}/v2/models/{MODEL}/ready", timeout=5).json() == {
        "name": MODEL,
        "ready": True,
    }
    assert requests.get(f"{base_url}/v2/models/nope/ready", timeout=5).status_code == 404


def test_infer_image_as_json_bytes(base_url: str, chelsea_jpeg: Path) -> None:
    doc = {
        "id": "cat-1",
        "inputs": [
            {
                "name": "image",
                "shape": [1],
                "datatype": "BYTES",
                "data": [base64.b64encode(chelsea_jpeg.read_bytes()).decode()],
            }
        ],
        "outputs": [{"name": "scores", "parameters": {"classification": 3}}, {"name": "scores"}],
    }
    response = requests.post(f"{base_url}/v2/models/{MODEL}/infer", json=doc, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == "cat-1" and body["model_name"] == MODEL
    labels, scores = body["outputs"]
    assert labels["datatype"] == "BYTES" and labels["shape"] == [1, 3]
    value, index, label = labels["data"][0].split(":", 2)
    assert is_cat(label, int(index)) and is_cat(label)
    assert scores["datatype"] == "FP32" and scores["shape"] == [1, 1000]
    assert int(np.argmax(scores["data"])) == int(index)
    assert float(value) == pytest.approx(max(scores["data"]), rel=1e-4)


def test_infer_binary_extension_in_and_out(base_url: str, chelsea_jpeg: Path) -> None:
    image = chelsea_jpeg.read_bytes()
    binary = struct.pack("<I", len(image)) + image
    doc = {
        "inputs": [
            {
                "name": "image",
                "shape": [1],
                "datatype": "BYTES",
                "parameters": {"binary_data_size": len(binary)},
            }
        ],
        "outputs": [{"name": "scores", "parameters": {"binary_data": True}}],
    }
    header = json.dumps(doc).encode()
    response = requests.post(
        f"{base_url}/v2/models/{MODEL}/infer",
        data=header + binary,
        headers={
            "Inference-Header-Content-Length": str(len(header)),
            "Content-Type": "application/octet-stream",
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    length = int(response.headers["Inference-Header-Content-Length"])
    meta = json.loads(response.content[:length])
    (out,) = meta["outputs"]
    assert out["parameters"]["binary_data_size"] == 4000
    scores = np.frombuffer(response.content[length:], dtype="<f4")
    assert scores.shape == (1000,) and np.isfinite(scores).all()


def test_infer_tensor_in_the_models_own_shape(base_url: str) -> None:
    for dtype, data in (
        ("FP32", np.zeros((1, 64, 64, 1), np.float32)),
        ("UINT8", np.zeros((64, 64, 1), np.uint8)),
    ):
        doc = {
            "inputs": [
                {
                    "name": "input",
                    "shape": list(data.shape),
                    "datatype": dtype,
                    "parameters": {"binary_data_size": data.nbytes},
                }
            ],
            "outputs": [{"name": "scores", "parameters": {"classification": 7}}],
        }
        header = json.dumps(doc).encode()
        response = requests.post(
            f"{base_url}/v2/models/fer-emotion/infer",
            data=header + data.tobytes(),
            headers={"Inference-Header-Content-Length": str(len(header))},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert response.json()["outputs"][0]["shape"] == [1, 7]


def test_infer_tensor_of_the_wrong_shape_is_400(base_url: str) -> None:
    doc = {"inputs": [{"name": "input", "shape": [1, 2, 2, 3], "datatype": "FP32", "data": [0.0] * 12}]}
    response = requests.post(f"{base_url}/v2/models/{MODEL}/infer", json=doc, timeout=30)
    assert response.status_code == 400, response.text
    assert isinstance(response.json()["error"], str)


def test_infer_not_an_image_is_415(base_url: str) -> None:
    doc = {
        "inputs": [
            {
                "name": "image",
                "shape": [1],
                "datatype": "BYTES",
                "data": [base64.b64encode(b"just some text, not a picture").decode()],
            }
        ]
    }
    response = requests.post(f"{base_url}/v2/models/{MODEL}/infer", json=doc, timeout=30)
    assert response.status_code == 415, response.text
