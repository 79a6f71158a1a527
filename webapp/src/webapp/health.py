"""Probes and metrics: `/healthz` (the process answers), `/readyz` (a model server is ready), `/metrics`.

Liveness never looks past this process: a model-server outage must not make Kubernetes restart
every web pod. Readiness does look: a web pod that can reach no ready model server should get no
traffic, so the ingress sends users to a pod that can answer them.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from webapp.metrics import HttpMetrics
from webapp.state import get_state

__all__ = ["bp"]

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    state = get_state()
    if state.client.ready(timeout_ms=state.settings.ready_timeout_ms):
        return jsonify(status="ready"), 200
    return jsonify(status="not ready", error="No model server is reachable and ready."), 503


@bp.get("/metrics")
def metrics() -> Response:
    http_metrics: HttpMetrics = current_app.extensions["webapp.metrics"]
    return http_metrics.exposition()
