"""The application factory: everything an app needs is built here, nothing at import time.

`create_app(settings)` takes its settings (or reads `WEBAPP_*` when given none) and, for tests, an
optional model client. gunicorn calls it once per worker, after the fork (no preload), so every
worker builds its own ZeroMQ client in its own process.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from webapp import api_v1, health, oip, openapi, pages
from webapp.backend import InferenceClient, ModelCatalog, make_client
from webapp.errors import register_error_handlers
from webapp.inputs import InMemoryRequest
from webapp.logs import request_id_var
from webapp.metrics import HttpMetrics
from webapp.settings import Settings
from webapp.state import AppState, install_state

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics", "/v2/health/live", "/v2/health/ready"})
_SECURITY_HEADERS = {
    # Everything the page needs is served by the app itself; uploads are shown as data:/blob: URLs.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(settings: Settings | None = None, *, client: InferenceClient | None = None) -> Flask:
    """Build the web app. `client` replaces the ZeroMQ model client (tests use a fake)."""
    settings = settings if settings is not None else Settings()
    app = Flask(__name__)
    app.request_class = InMemoryRequest
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider has it

    model_client = client if client is not None else make_client(settings)
    catalog = ModelCatalog(
        model_client, ttl_s=settings.models_cache_s, timeout_ms=settings.control_timeout_ms
    )
    install_state(app, AppState(settings=settings, client=model_client, catalog=catalog))

    metrics = HttpMetrics(settings.prometheus_multiproc_dir)
    metrics.install(app)
    app.extensions["webapp.metrics"] = metrics
    app.extensions["webapp.openapi"] = openapi.load_document(settings.top_k_max)

    for blueprint in (pages.bp, api_v1.bp, oip.bp, health.bp, openapi.bp):
        app.register_blueprint(blueprint)
    register_error_handlers(
        app, max_upload_bytes=settings.max_upload_bytes, retry_after_s=settings.retry_after_s
    )
    _install_request_context(app, access_log=settings.access_log)
    return app


def _install_request_context(app: Flask, *, access_log: bool) -> None:
    """Request id in and out, security headers, and a log line per request (5xx only unless `access_log`)."""

    @app.before_request
    def _begin() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex[:16]
        g.request_id = rid
        g.request_started = time.perf_counter()
        g.request_id_token = request_id_var.set(rid)

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "-")
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        started = g.get("request_started")
        elapsed_ms = (time.perf_counter() - started) * 1000.0 if started is not None else 0.0
        loud = response.status_code >= 500 or (access_log and request.path not in _QUIET_ROUTES)
        level = logging.INFO if loud else logging.DEBUG
        if logger.isEnabledFor(level):
            logger.log(
                level, "%s %s %d %.1fms", request.method, request.path, response.status_code, elapsed_ms
            )
        return response

    @app.teardown_request
    def _reset(_exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)


def warm_up(app: Flask) -> None:
    """Connect this worker's model client now, so its first user request pays no connection set-up.

    Called by gunicorn's `post_worker_init` hook, in the worker, after the fork.
    """
    from webapp.state import get_state

    with app.app_context():
        state = get_state()
        try:
            ready = state.client.ready(timeout_ms=state.settings.ready_timeout_ms)
        except Exception:  # a warm-up must never stop a worker from serving
            logger.warning("model client warm-up failed", exc_info=True)
            return
        logger.info("model client warmed up (a model server is %s)", "ready" if ready else "not ready")


def shutdown(app: Flask) -> None:
    """Close this worker's model client (its sockets linger briefly, nothing is left half-sent)."""
    from webapp.state import get_state

    with app.app_context():
        get_state().client.close()
