"""What one app instance owns (settings, model client, model catalog), reachable from any view.

Kept in `app.extensions` rather than in module globals so that two apps with different settings
can live in one process (tests do this), as the Flask docs advise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast

from flask import Flask, current_app
from modelserver.client import Prediction

from webapp.backend import InferenceClient, ModelCatalog
from webapp.inputs import ImageUpload
from webapp.settings import Settings

__all__ = ["AppState", "get_state", "install_state"]

_KEY = "webapp"


@dataclass(frozen=True)
class AppState:
    settings: Settings
    client: InferenceClient
    catalog: ModelCatalog

    def shed_load(self) -> None:
        """429 at once, before the upload is parsed, while every model server is known to be full."""
        self.client.reject_if_saturated()

    def predict(self, upload: ImageUpload, *, model: str, top_k: int) -> tuple[Prediction, float]:
        """Classify one image; returns the prediction and the web tier's wall time in ms."""
        started = time.perf_counter()
        prediction = self.client.predict(
            model, upload.data, top_k=top_k, timeout_ms=self.settings.request_timeout_ms
        )
        return prediction, (time.perf_counter() - started) * 1000.0


def install_state(app: Flask, state: AppState) -> None:
    app.extensions[_KEY] = state


def get_state() -> AppState:
    return cast(AppState, current_app.extensions[_KEY])
