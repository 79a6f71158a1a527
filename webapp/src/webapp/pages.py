"""The page people use: `GET /` and its no-JavaScript twin `POST /uploader`.

The page is server-rendered and fully usable without JavaScript: the form posts the file to
`/uploader`, which answers with a result page. With JavaScript, `static/app.js` takes over the
same form (drop, paste, preview, `fetch` to `/api/v1/predict`) and fills the same markup, so both
paths show the same thing. The uploaded image is shown back from memory as a `data:` URL: it is
never stored.
"""

from __future__ import annotations

import base64
import logging

from flask import Blueprint, render_template, request
from modelserver.client import ModelInfo, ModelServerError

from webapp.inputs import model_option, read_image, top_k_option
from webapp.state import get_state

__all__ = ["bp"]

logger = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)

# Formats every browser displays; anything else is classified but not shown back.
_DISPLAYABLE = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"})
# Larger uploads are classified but not echoed back inside the page.
_MAX_PREVIEW_BYTES = 8 * 1024 * 1024


def _models() -> tuple[list[ModelInfo], str | None]:
    """The models for the picker (the default first), and a notice when the list could not be had."""
    state = get_state()
    try:
        infos = list(state.catalog.models())
    except ModelServerError as exc:
        logger.warning("model list unavailable for the page: %s", exc)
        return [], "The model servers cannot be reached right now."
    infos.sort(key=lambda info: info.name != state.settings.default_model)
    return infos, None


def describe(info: ModelInfo | None) -> str:
    """What the picker shows under the model name (the script writes the same sentence)."""
    if info is None:
        return ""
    colour = "grayscale" if info.input.color_mode == "grayscale" else "colour"
    size = f"{info.input.width}×{info.input.height}"
    return f"{size} {colour} input · {info.labels} classes · version {info.version}"


def _render(selected: str | None = None, **result: object) -> str:
    infos, notice = _models()
    names = [info.name for info in infos] or [get_state().settings.default_model]
    chosen = selected if selected in names else names[0]
    info = next((i for i in infos if i.name == chosen), None)
    return render_template(
        "index.html", models=names, selected=chosen, model_info=describe(info), notice=notice, **result
    )


@bp.get("/")
def index() -> str:
    return _render()


@bp.post("/uploader")
def uploader() -> str:
    """The form post: classify the file and answer with a page (errors become an error page)."""
    state = get_state()
    state.shed_load()
    model = model_option(request, state.settings)
    top_k = top_k_option(request, state.settings)
    upload = read_image(request, state.settings)
    prediction, webapp_ms = state.predict(upload, model=model, top_k=top_k)
    image_url = None
    if upload.mime in _DISPLAYABLE and len(upload.data) <= _MAX_PREVIEW_BYTES:
        image_url = f"data:{upload.mime};base64,{base64.b64encode(upload.data).decode()}"
    return _render(
        prediction.model,
        prediction=prediction,
        image_url=image_url,
        webapp_ms=webapp_ms,
        server_ms=prediction.timings_ms.get("total"),
    )
