"""The OpenAPI 3 document of the HTTP API, served at `/openapi.json`.

Hand-written (`openapi.yaml` beside this module) rather than generated, because the document is
a contract: a schemathesis run in the tests checks the live app against it, so the two cannot
drift apart silently.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml
from flask import Blueprint, Response, current_app, jsonify

from webapp import __version__

__all__ = ["bp", "load_document"]

bp = Blueprint("openapi", __name__)


def load_document(top_k_max: int = 100) -> dict[str, Any]:
    """The document, with the limits that depend on settings filled in."""
    text = resources.files("webapp").joinpath("openapi.yaml").read_text("utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    document["info"]["version"] = __version__
    components = document["components"]
    components["parameters"]["TopKQuery"]["schema"]["maximum"] = top_k_max
    components["schemas"]["UploadForm"]["properties"]["top_k"]["maximum"] = top_k_max
    components["schemas"]["Parameters"]["properties"]["classification"]["maximum"] = max(1, top_k_max)
    return document


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(current_app.extensions["webapp.openapi"])
