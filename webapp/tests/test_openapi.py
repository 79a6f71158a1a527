from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from webapp import __version__


def test_document_is_served(http: FlaskClient) -> None:
    doc = http.get("/openapi.json").json
    assert doc is not None and doc["openapi"].startswith("3.") and doc["info"]["version"] == __version__


def test_every_route_is_documented_and_every_documented_path_exists(app: Flask, http: FlaskClient) -> None:
    doc = http.get("/openapi.json").json
    assert doc is not None
    documented = {
        (path, method.upper())
        for path, item in doc["paths"].items()
        for method in item
        if method != "parameters"
    }
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        routed |= {(path, m) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    assert documented == routed
