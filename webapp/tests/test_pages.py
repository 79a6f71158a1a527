from __future__ import annotations

import io
import re

from flask.testing import FlaskClient
from modelserver.client import NotAnImage, Unavailable

from tests.fakes import FakeClient
from tests.images import jpeg


def test_page_has_an_accessible_form_that_works_without_javascript(http: FlaskClient) -> None:
    response = http.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert re.search(
        r'<form[^>]*method="post"[^>]*action="/uploader"[^>]*enctype="multipart/form-data"', html
    )
    assert '<label for="file"' in html and 'id="file" name="file"' in html
    assert '<label for="model">' in html
    assert '<option value="efficientnet-lite0" selected>' in html and '<option value="fer-emotion">' in html
    assert 'aria-live="polite"' in html
    assert 'type="submit"' in html
    assert "http://" not in html and "https://" not in html  # nothing from a CDN


def test_page_assets_are_served_and_csp_allows_only_self(http: FlaskClient) -> None:
    response = http.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    for asset in ("/static/app.js", "/static/app.css", "/static/favicon.svg"):
        with http.get(asset) as served:  # a file response: close it
            assert served.status_code == 200


def test_page_still_renders_when_no_model_server_answers(http: FlaskClient, fake: FakeClient) -> None:
    fake.error = Unavailable("no model server reachable")
    html = http.get("/").get_data(as_text=True)
    assert "cannot be reached" in html and '<option value="efficientnet-lite0" selected>' in html


def test_form_post_answers_a_result_page(http: FlaskClient) -> None:
    data = {"file": (io.BytesIO(jpeg()), "cat.jpg"), "model": "efficientnet-lite0", "top_k": "5"}
    response = http.post("/uploader", data=data, content_type="multipart/form-data")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert html.count('class="prediction"') == 5
    assert "tabby" in html and "40.0%" in html
    assert 'src="data:image/jpeg;base64,' in html
    assert "model server" in html and "ms" in html


def test_form_post_errors_are_pages_a_person_can_read(http: FlaskClient, fake: FakeClient) -> None:
    fake.error = NotAnImage("The file is not an image.")
    data = {"file": (io.BytesIO(b"hello"), "notes.txt")}
    response = http.post("/uploader", data=data, content_type="multipart/form-data")
    assert response.status_code == 415 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html and "The file is not an image." in html
    assert 'href="/"' in html
