"""Settings come from MODELSERVER_* variables and flags, and refuse nonsense."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from modelserver.settings import Settings


def test_defaults_match_the_documented_ports() -> None:
    settings = Settings()
    assert settings.bind == "tcp://*:5576"
    assert settings.http_port == 8081


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSERVER_MAX_QUEUE_SIZE", "7")
    monkeypatch.setenv("MODELSERVER_MODELS", "efficientnet-lite0, fer-emotion")
    monkeypatch.setenv("MODELSERVER_MODEL_REPOSITORY", "/srv/models")
    settings = Settings()
    assert settings.max_queue_size == 7
    assert settings.models == ("efficientnet-lite0", "fer-emotion")
    assert settings.model_repository == Path("/srv/models")


def test_flags_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSERVER_MAX_QUEUE_SIZE", "7")
    settings = Settings(_cli_parse_args=["--max_queue_size", "9"])  # type: ignore[call-arg]
    assert settings.max_queue_size == 9


@pytest.mark.parametrize(
    ("name", "value"), [("MAX_QUEUE_SIZE", "0"), ("LOG_LEVEL", "LOUD"), ("HTTP_PORT", "70000")]
)
def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(f"MODELSERVER_{name}", value)
    with pytest.raises(ValidationError):
        Settings()


def test_every_setting_is_documented() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no docstring"


def test_settings_reference_is_up_to_date() -> None:
    import io
    from contextlib import redirect_stdout
    from pathlib import Path

    from modelserver.docs import main

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        main()
    committed = (Path(__file__).resolve().parents[2] / "docs" / "settings.md").read_text()
    assert committed == buffer.getvalue(), (
        "docs/settings.md is stale: run `.venv/bin/python -m modelserver.docs`"
    )
