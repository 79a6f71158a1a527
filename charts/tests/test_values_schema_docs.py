"""values.yaml ↔ values.schema.json ↔ README: every value documented, typed and listed."""

from __future__ import annotations

import importlib.util
import json
import sys
from typing import Any

import pytest
import yaml

import zinfer_chart as zc

VALUES_TEXT = (zc.CHART / "values.yaml").read_text("utf-8")
VALUES = yaml.safe_load(VALUES_TEXT)
SCHEMA = json.loads((zc.CHART / "values.schema.json").read_text("utf-8"))


def _chartdocs() -> Any:
    spec = importlib.util.spec_from_file_location("chartdocs", zc.ROOT / "charts" / "tools" / "chartdocs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("chartdocs", module)
    spec.loader.exec_module(module)
    return module


def test_every_value_is_documented_above_its_key() -> None:
    docs = _chartdocs()
    rows, missing = docs.collect(VALUES, docs.comments_by_path(VALUES_TEXT))
    assert missing == []
    assert len(rows) > 100
    assert all(row.description for row in rows)


def test_readme_lists_every_documented_value() -> None:
    docs = _chartdocs()
    rows, _ = docs.collect(VALUES, docs.comments_by_path(VALUES_TEXT))
    readme = (zc.CHART / "README.md").read_text("utf-8")
    for row in rows:
        assert f"| `{row.path}` |" in readme


def _walk(values: dict[str, Any], schema: dict[str, Any], path: str = "") -> list[str]:
    """Keys of values.yaml that the schema does not declare, and declared keys values.yaml lacks,
    wherever the schema is strict (additionalProperties: false)."""
    problems: list[str] = []
    if schema.get("additionalProperties") is False:
        declared = set(schema["properties"]) - {"global"}
        present = set(values)
        problems += [f"{path}{k}: not in the schema" for k in sorted(present - declared)]
        problems += [f"{path}{k}: in the schema, not in values.yaml" for k in sorted(declared - present)]
    for key, value in values.items():
        sub = schema.get("properties", {}).get(key)
        if isinstance(value, dict) and sub and sub.get("type") == "object":
            problems += _walk(value, sub, f"{path}{key}.")
    return problems


def test_schema_declares_exactly_the_values() -> None:
    assert _walk(VALUES, SCHEMA) == []


@pytest.mark.parametrize(
    ("sets", "complaint"),
    [
        (["modelserver.maxQueueSize=0"], "maxQueueSize"),
        (["modelserver.replicas=3"], "replicas"),  # misspelled replicaCount
        (["webapp.ingress.hostname=x"], "hostname"),
        (["modelserver.logLevel=TRACE"], "logLevel"),
        (["modelserver.image.digest=latest"], "digest"),
        (["modelserver.extraSettings.MODELSERVER_MAX_QUEUE=1"], "extraSettings"),  # not a setting
        (["modelserver.extraSettings.MODELSERVER_BIND=tcp://*:1"], "extraSettings"),  # the chart sets it
        (["webapp.extraSettings.WEBAPP_TIMEOUT=1"], "extraSettings"),
        (["modelserver.probes.startup.path=readyz"], "path"),
        (["modelserver.autoscaling.minReplicas=0"], "minReplicas"),
    ],
)
def test_schema_refuses_bad_values(sets: list[str], complaint: str) -> None:
    with pytest.raises(zc.RenderError, match=complaint):
        zc.render(set_values=sets)


def test_extra_settings_pass_through_as_env() -> None:
    m = zc.render([zc.CHART / "ci" / "fixed-values.yaml"])
    env = zc.env_of(zc.container(zc.deployment(m, "modelserver")))
    assert env["MODELSERVER_REPOSITORY_POLL_S"] == "30"
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "2"
    assert env["MODELSERVER_MAX_BATCH_DELAY_MS"] == "2.5"
    assert env["MODELSERVER_MODELS"] == "efficientnet-lite0"
    web = zc.env_of(zc.container(zc.deployment(m, "webapp")))
    assert web["WEBAPP_KEEPALIVE_S"] == "75"
