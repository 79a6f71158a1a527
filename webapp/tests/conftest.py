"""Shared fixtures: an app wired to a fake model client (unit tests).

Integration fixtures (real model server, real gunicorn, chromium) live in
`tests/integration/conftest.py`, so unit tests never start a process.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.fakes import FakeClient
from webapp import Settings, create_app


@pytest.fixture
def fake() -> FakeClient:
    return FakeClient()


@pytest.fixture
def settings() -> Settings:
    return Settings(endpoints=("tcp://127.0.0.1:1",), max_upload_bytes=512 * 1024, max_image_pixels=1_000_000)


@pytest.fixture
def app(settings: Settings, fake: FakeClient) -> Iterator[Flask]:
    application = create_app(settings, client=fake)
    application.testing = True
    yield application


@pytest.fixture
def http(app: Flask) -> FlaskClient:
    return app.test_client()
