from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.fakes import FakeClient
from webapp import Settings, create_app


def test_env_prefix_and_comma_separated_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBAPP_ENDPOINTS", "tcp://a:5576, tcp://b:5576")
    monkeypatch.setenv("WEBAPP_MAX_UPLOAD_BYTES", "4096")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp/metrics-here")
    settings = Settings()
    assert settings.endpoints == ("tcp://a:5576", "tcp://b:5576")
    assert settings.max_upload_bytes == 4096
    assert str(settings.prometheus_multiproc_dir) == "/tmp/metrics-here"


@pytest.mark.parametrize(
    "bad",
    [
        {"endpoints": ""},
        {"endpoints": "localhost:5576"},
        {"top_k_default": 10, "top_k_max": 5},
        {"request_timeout_ms": 0},
        {"no_such_setting": 1},
    ],
)
def test_invalid_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**bad)  # type: ignore[arg-type]


def test_every_field_has_a_docstring() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} has no docstring"


def test_two_apps_with_different_settings_live_in_one_process() -> None:
    small = create_app(Settings(max_upload_bytes=2048), client=FakeClient())
    large = create_app(Settings(max_upload_bytes=1 << 20), client=FakeClient())
    assert small.config["MAX_CONTENT_LENGTH"] == 2048
    assert large.config["MAX_CONTENT_LENGTH"] == 1 << 20
    assert small.test_client().post("/api/v1/predict", data=b"\xff" * 4096).status_code == 413
