"""Open Inference Protocol v2 endpoints, so existing KServe/Triton v2 clients work unchanged.

Health, server and model metadata, model readiness and inference, with and without an explicit
version in the path. The body format lives in `oip_codec`; this module maps it onto the model
client. Error bodies are `{"error": message}` plus the app's usual `code` and `status`.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
from flask import Blueprint, Response, g, jsonify, request
from modelserver.client import ModelInfo, ModelNotFound, Prediction

from webapp import __version__
from webapp.inputs import check_image, model_name
from webapp.oip_codec import SCORES_OUTPUT, InferRequest, encode_response, parse_request
from webapp.state import AppState, get_state

__all__ = ["EXTENSIONS", "bp"]

bp = Blueprint("oip", __name__, url_prefix="/v2")

EXTENSIONS = ["binary_tensor_data", "classification"]
HEADER_LENGTH = "Inference-Header-Content-Length"


def _version(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:  # "²".isdigit() is true
        raise ModelNotFound(f"Model version {raw[:20]!r} does not exist.")
    return int(raw)


@bp.get("")
def server_metadata() -> Response:
    return jsonify(name="zinfer", version=__version__, extensions=EXTENSIONS)


@bp.get("/health/live")
def live() -> Response:
    """The web process answers: that is all liveness means (restarting it helps nothing else)."""
    return jsonify(live=True)


@bp.get("/health/ready")
def ready() -> tuple[Response, int]:
    state = get_state()
    is_ready = state.client.ready(timeout_ms=state.settings.ready_timeout_ms)
    return jsonify(ready=is_ready), 200 if is_ready else 503


def _metadata(info: ModelInfo) -> dict[str, object]:
    return {
        "name": info.name,
        "versions": [str(v) for v in info.versions],
        "platform": info.runtime,
        "inputs": [
            {
                "name": "input",
                "datatype": "FP32",
                "shape": [-1, info.input.height, info.input.width, info.input.channels],
            }
        ],
        "outputs": [{"name": SCORES_OUTPUT, "datatype": "FP32", "shape": [-1, info.labels]}],
    }


@bp.get("/models/<name>")
@bp.get("/models/<name>/versions/<version>")
def model_metadata(name: str, version: str | None = None) -> Response:
    return jsonify(_metadata(get_state().catalog.get(model_name(name), _version(version))))


@bp.get("/models/<name>/ready")
@bp.get("/models/<name>/versions/<version>/ready")
def model_ready(name: str, version: str | None = None) -> tuple[Response, int]:
    """Ready when a ready model server serves it; unknown models are 404."""
    state = get_state()
    info = state.catalog.get(model_name(name), _version(version))
    is_ready = state.client.ready(timeout_ms=state.settings.ready_timeout_ms)
    return jsonify(name=info.name, ready=is_ready), 200 if is_ready else 503


@bp.post("/models/<name>/infer")
@bp.post("/models/<name>/versions/<version>/infer")
def infer(name: str, version: str | None = None) -> Response:
    state = get_state()
    state.shed_load()
    model, model_version = model_name(name), _version(version)
    parsed = parse_request(
        request.get_data(cache=False),
        request.headers.get(HEADER_LENGTH),
        max_batch=state.settings.max_infer_batch,
        max_classification=state.settings.top_k_max,
    )
    predictions = _run(state, parsed, model, model_version)
    want_scores = any(spec.classification is None for spec in parsed.outputs)
    scores = np.stack([_scores(p) for p in predictions]) if want_scores else None
    top = [[(float(lab.score), lab.class_id, lab.label) for lab in p.predictions] for p in predictions]
    body, json_length = encode_response(
        model=predictions[0].model,
        version=predictions[0].version,
        request_id=parsed.id if parsed.id is not None else str(g.get("request_id", "")),
        outputs=parsed.outputs,
        scores=scores,
        top=top,
    )
    if json_length is None:
        return Response(body, mimetype="application/json")
    response = Response(body, mimetype="application/octet-stream")
    response.headers[HEADER_LENGTH] = str(json_length)
    return response


def _scores(prediction: Prediction) -> npt.NDArray[np.float32]:
    if prediction.scores is None:
        raise RuntimeError("the model server returned no score vector although one was asked for")
    return np.asarray(prediction.scores, dtype=np.float32)


def _run(state: AppState, parsed: InferRequest, model: str, version: int | None) -> list[Prediction]:
    """One model-server call per batch item, all within one deadline."""
    top_k = max((spec.classification or 0 for spec in parsed.outputs), default=0)
    want_scores = any(spec.classification is None for spec in parsed.outputs)
    budget_ms = state.settings.request_timeout_ms
    deadline = time.monotonic() + budget_ms / 1000.0
    results = []
    for i in range(parsed.input.batch):
        remaining_ms = max(1.0, (deadline - time.monotonic()) * 1000.0)
        if parsed.input.tensor is not None:
            results.append(
                state.client.predict_tensor(
                    model,
                    parsed.input.tensor[i],
                    top_k=top_k,
                    version=version,
                    timeout_ms=remaining_ms,
                    scores=want_scores,
                )
            )
        else:
            image = check_image(parsed.input.images[i], state.settings)
            results.append(
                state.client.predict(
                    model,
                    image.data,
                    top_k=top_k,
                    version=version,
                    timeout_ms=remaining_ms,
                    scores=want_scores,
                )
            )
    return results
