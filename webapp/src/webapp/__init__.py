"""zinfer web tier: the upload page, a JSON API and the Open Inference Protocol v2, over gunicorn.

Modules, each with one concern:
  settings    every knob, from WEBAPP_* variables
  app         the application factory
  backend     the model client (modelserver.client) and the cached model list
  inputs      images and options out of requests, bounded, in memory
  imageinfo   format and size from an image header (no decoder in this tier)
  pages       the page and its no-JavaScript form post
  api_v1      POST /api/v1/predict, GET /api/v1/models
  oip         Open Inference Protocol v2 endpoints; oip_codec its body format
  health      /healthz, /readyz, /metrics; metrics the HTTP metrics
  errors      the base error and the one JSON error handler
  openapi     the OpenAPI document; logs request ids and log formats
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from webapp.settings import Settings

if TYPE_CHECKING:
    from webapp.app import create_app

__all__ = ["Settings", "__version__", "create_app"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """`create_app` is imported on first use, not with the package.

    gunicorn's config imports this package in the arbiter before it sets PROMETHEUS_MULTIPROC_DIR,
    and prometheus_client fixes its single- or multi-process mode when first imported; importing
    the app (and so prometheus_client) here would fix it too early, for every forked worker.
    """
    if name == "create_app":
        from webapp.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
