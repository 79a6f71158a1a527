"""The JSON API: `POST /api/v1/predict` and `GET /api/v1/models`.

The shape mirrors the model server's reply (docs/protocol.md) so nothing is lost or renamed on the
way; the only addition is `timings_ms.webapp`, the time this request spent in the web tier's
handler, so a client can tell network, web tier and model server apart.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from modelserver.client import ModelInfo, Prediction

from webapp.inputs import model_option, read_image, top_k_option
from webapp.state import get_state

__all__ = ["bp", "model_json", "prediction_json"]

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")


def prediction_json(prediction: Prediction, webapp_ms: float) -> dict[str, Any]:
    return {
        "model": prediction.model,
        "version": prediction.version,
        "predictions": [
            {"label": p.label, "class_id": p.class_id, "score": float(p.score)}
            for p in prediction.predictions
        ],
        "timings_ms": {
            **{k: float(v) for k, v in prediction.timings_ms.items()},
            "webapp": round(webapp_ms, 3),
        },
    }


def model_json(info: ModelInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "version": info.version,
        "versions": list(info.versions),
        "runtime": info.runtime,
        "input": {
            "height": info.input.height,
            "width": info.input.width,
            "channels": info.input.channels,
            "dtype": info.input.dtype,
            "color_mode": info.input.color_mode,
        },
        "labels": info.labels,
        "max_batch_size": info.max_batch_size,
    }


@bp.post("/predict")
def predict() -> Response:
    """Classify one image sent as multipart field `file` or as the raw body."""
    state = get_state()
    state.shed_load()
    model = model_option(request, state.settings)
    top_k = top_k_option(request, state.settings)
    upload = read_image(request, state.settings)
    prediction, webapp_ms = state.predict(upload, model=model, top_k=top_k)
    return jsonify(prediction_json(prediction, webapp_ms))


@bp.get("/models")
def models() -> Response:
    """Every served model with its versions and input; `default` is the model used when none is named."""
    state = get_state()
    return jsonify(
        models=[model_json(info) for info in state.catalog.models()], default=state.settings.default_model
    )
