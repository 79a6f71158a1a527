"""The chart against the code it deploys: environment variable names and values, ports, commands,
probe paths and the autoscaling metric, the last ones proven on the real servers started with the
chart's own command and environment (ports moved to free ones on 127.0.0.1)."""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import zinfer_chart as zc
import zinfer_procs as zp

MODEL_REPOSITORY = zc.ROOT / "models"
VENV_BIN = Path(sys.executable).parent
# Environment the chart may set that is not a settings field: process-level variables.
NOT_SETTINGS = {"HOME", "TF_CPP_MIN_LOG_LEVEL"}
MODELSERVER_START_S = 300.0


def _settings_fields() -> tuple[set[str], set[str]]:
    from modelserver.settings import Settings as ModelServerSettings
    from webapp.settings import Settings as WebappSettings

    ms = {f"MODELSERVER_{name.upper()}" for name in ModelServerSettings.model_fields}
    wa = {f"WEBAPP_{name.upper()}" for name in WebappSettings.model_fields} | {"PROMETHEUS_MULTIPROC_DIR"}
    return ms, wa


def test_every_env_var_the_chart_sets_is_a_setting(scenario: tuple[str, zc.Manifests]) -> None:
    _, m = scenario
    ms_fields, wa_fields = _settings_fields()
    for name in zc.env_of(zc.container(zc.deployment(m, "modelserver"))):
        assert name in ms_fields or name in NOT_SETTINGS, f"modelserver env {name} is no Settings field"
    for name in zc.env_of(zc.container(zc.deployment(m, "webapp"))):
        assert name in wa_fields or name in NOT_SETTINGS, f"webapp env {name} is no Settings field"


def _settings_from_env(monkeypatch: pytest.MonkeyPatch, cls: Any, env: dict[str, str], prefix: str) -> Any:
    import os

    for name in list(os.environ):
        if name.startswith(prefix) or name == "PROMETHEUS_MULTIPROC_DIR":
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return cls()


def test_settings_accept_the_rendered_values(
    scenario: tuple[str, zc.Manifests], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pydantic validates every value the chart renders (types, ranges, enums)."""
    from modelserver.settings import Settings as ModelServerSettings
    from webapp.settings import Settings as WebappSettings

    _, m = scenario
    ms_container = zc.container(zc.deployment(m, "modelserver"))
    ms = _settings_from_env(monkeypatch, ModelServerSettings, zc.env_of(ms_container), "MODELSERVER_")
    assert int(ms.bind.rsplit(":", 1)[1]) == zc.port_of(ms_container, "zmq")
    assert ms.http_port == zc.port_of(ms_container, "http-metrics")
    assert ms.http_host == "0.0.0.0"  # probes and Prometheus come from outside the pod  # noqa: S104
    wa_container = zc.container(zc.deployment(m, "webapp"))
    wa = _settings_from_env(monkeypatch, WebappSettings, zc.env_of(wa_container), "WEBAPP_")
    assert int(wa.bind.rsplit(":", 1)[1]) == zc.port_of(wa_container, "http")
    assert wa.bind.startswith("0.0.0.0:")
    assert str(wa.prometheus_multiproc_dir).startswith("/tmp/")  # on the writable emptyDir
    # The web tier reaches the model servers' ZeroMQ port through the headless Service.
    for endpoint in wa.endpoints:
        url = urlsplit(endpoint)
        if url.hostname and url.hostname.endswith("-modelserver"):
            svc = m["Service", url.hostname]
            assert svc["spec"]["clusterIP"] == "None" and svc["spec"]["ports"][0]["port"] == url.port


def test_chart_defaults_agree_with_the_code_defaults(defaults: zc.Manifests) -> None:
    from modelserver import settings as ms_settings
    from webapp import settings as wa_settings

    c = zc.container(zc.deployment(defaults, "modelserver"))
    assert zc.port_of(c, "zmq") == ms_settings.DEFAULT_PORT
    assert zc.port_of(c, "http-metrics") == ms_settings.DEFAULT_HTTP_PORT
    env = zc.env_of(c)
    fields = ms_settings.Settings.model_fields
    assert float(env["MODELSERVER_DRAIN_TIMEOUT_S"]) == fields["drain_timeout_s"].default
    assert int(env["MODELSERVER_MAX_QUEUE_SIZE"]) == fields["max_queue_size"].default
    web = zc.env_of(zc.container(zc.deployment(defaults, "webapp")))
    wfields = wa_settings.Settings.model_fields
    assert web["WEBAPP_DEFAULT_MODEL"] == wa_settings.DEFAULT_MODEL
    assert float(web["WEBAPP_RESOLVE_INTERVAL_S"]) == wfields["resolve_interval_s"].default
    assert int(web["WEBAPP_MAX_UPLOAD_BYTES"]) == wfields["max_upload_bytes"].default


def test_commands_are_the_projects_console_scripts(defaults: zc.Manifests) -> None:
    import tomllib

    scripts: dict[str, str] = {}
    for project in ("modelserver", "webapp"):
        data = tomllib.loads((zc.ROOT / project / "pyproject.toml").read_text("utf-8"))
        scripts |= data["project"]["scripts"]
    for component in ("modelserver", "webapp"):
        command = zc.container(zc.deployment(defaults, component))["command"]
        assert command[0] in scripts, command


# -- the real servers, started as the chart starts them -------------------------------------------


@dataclass
class Stack:
    ms_http: str
    web_url: str
    ms_container: dict[str, Any]
    web_container: dict[str, Any]
    ms: zp.Proc
    web: zp.Proc


def _local_env(container: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    env = zc.env_of(container)
    env.update(overrides)
    return env


@pytest.fixture(scope="module")
def stack(defaults: zc.Manifests, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not (MODEL_REPOSITORY / "efficientnet-lite0").is_dir():
        pytest.skip(f"no model repository at {MODEL_REPOSITORY}: `make models` builds it")
    logs = tmp_path_factory.mktemp("chart-stack")
    ms_container = zc.container(zc.deployment(defaults, "modelserver"))
    web_container = zc.container(zc.deployment(defaults, "webapp"))
    zmq_port, ms_port, web_port = zp.free_port(), zp.free_port(), zp.free_port()
    ms_env = _local_env(
        ms_container,
        {
            "MODELSERVER_BIND": f"tcp://127.0.0.1:{zmq_port}",
            "MODELSERVER_HTTP_HOST": "127.0.0.1",
            "MODELSERVER_HTTP_PORT": str(ms_port),
            "MODELSERVER_MODEL_REPOSITORY": str(MODEL_REPOSITORY),
            "HOME": str(logs),
            "TF_CPP_MIN_LOG_LEVEL": "2",
        },
    )
    ms_command = [
        str(VENV_BIN / ms_container["command"][0]),
        *ms_container["command"][1:],
        *ms_container.get("args", []),
    ]
    ms = zp.start("modelserver", ms_command, ms_env, logs)
    web: zp.Proc | None = None
    try:
        startup = ms_container["startupProbe"]
        budget = min(MODELSERVER_START_S, startup["periodSeconds"] * startup["failureThreshold"])
        zp.wait_http_ok(f"http://127.0.0.1:{ms_port}{startup['httpGet']['path']}", ms, budget)
        (logs / "metrics").mkdir()
        web_env = _local_env(
            web_container,
            {
                "WEBAPP_BIND": f"127.0.0.1:{web_port}",
                "WEBAPP_ENDPOINTS": f"tcp://127.0.0.1:{zmq_port}",
                "WEBAPP_WORKERS": "1",
                "PROMETHEUS_MULTIPROC_DIR": str(logs / "metrics"),
            },
        )
        web_command = [str(VENV_BIN / web_container["command"][0]), *web_container["command"][1:]]
        web = zp.start("webapp", web_command, web_env, logs)
        zp.wait_http_ok(f"http://127.0.0.1:{web_port}/healthz", web, 60)
        yield Stack(f"http://127.0.0.1:{ms_port}", f"http://127.0.0.1:{web_port}", ms_container, web_container, ms, web)
    finally:
        if web is not None:
            web.stop()
        ms.stop()
        shutil.rmtree(logs / "metrics", ignore_errors=True)


def _probe_paths(container: dict[str, Any]) -> set[str]:
    return {container[p]["httpGet"]["path"] for p in ("startupProbe", "readinessProbe", "livenessProbe")}


@pytest.mark.integration
def test_modelserver_serves_the_probe_paths(stack: Stack) -> None:
    for path in _probe_paths(stack.ms_container):
        assert zp.http_get(stack.ms_http + path)[0] == 200, path
    assert zp.http_get(stack.ms_http + "/no-such-probe")[0] == 404


@pytest.mark.integration
def test_webapp_serves_the_probe_paths(stack: Stack) -> None:
    for path in _probe_paths(stack.web_container):
        assert zp.http_get(stack.web_url + path)[0] == 200, path
    assert zp.http_get(stack.web_url + "/no-such-probe")[0] == 404


def _metric_families(text: str) -> dict[str, str]:
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))


@pytest.mark.integration
def test_the_autoscaling_metric_is_exported_per_pod(stack: Stack, defaults: zc.Manifests) -> None:
    status, body = zp.http_get(stack.ms_http + "/metrics")
    assert status == 200
    families = _metric_families(body.decode())
    hpa = defaults["HorizontalPodAutoscaler", "zinfer-modelserver"]
    metric = hpa["spec"]["metrics"][0]["pods"]["metric"]["name"]
    assert families.get(metric) == "gauge", f"{metric} not exported as a gauge"
    # Unlabelled: one value per pod, which is what a Pods metric averages.
    assert re.search(rf"^{metric} [0-9.e+-]+$", body.decode(), re.MULTILINE)
    # The KEDA query and the adapter rule read the same series.
    keda = zc.render(set_values=["modelserver.autoscaling.enabled=false", "modelserver.keda.enabled=true"])
    query = keda["ScaledObject", "zinfer-modelserver"]["spec"]["triggers"][0]["metadata"]["query"]
    assert set(re.findall(r"\b(modelserver_[a-z_]+)\b", query)) <= set(families)


@pytest.mark.integration
def test_metrics_the_chart_and_dashboards_rely_on_exist(stack: Stack) -> None:
    ms_families = _metric_families(zp.http_get(stack.ms_http + "/metrics")[1].decode())
    web_families = _metric_families(zp.http_get(stack.web_url + "/metrics")[1].decode())
    for name in (
        "modelserver_queue_depth",
        "modelserver_inflight_requests",
        "modelserver_ready",
        "modelserver_requests_total",
        "modelserver_request_duration_seconds",
    ):
        assert name in ms_families, name
    assert {"webapp_http_requests_total", "webapp_request_duration_seconds"} <= set(web_families), web_families


@pytest.mark.integration
def test_a_request_through_the_chart_configured_pair_is_a_cat(stack: Stack) -> None:
    status, body = zp.post_file(stack.web_url + "/api/v1/predict", "file", "chelsea.jpg", zp.chelsea_jpeg())
    assert status == 200, body[:500]
    top = json.loads(body)["predictions"][0]
    assert zp.is_cat(top), top


@pytest.mark.integration
def test_modelserver_drains_within_the_grace_period(stack: Stack, defaults: zc.Manifests) -> None:
    """SIGTERM (after the preStop sleep) must end the server well inside the grace period. Runs
    last in this module: it stops the server."""
    import time

    grace = defaults["Deployment", "zinfer-modelserver"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    sleep = float(stack.ms_container["lifecycle"]["preStop"]["exec"]["command"][1])
    started = time.monotonic()
    code = stack.ms.stop(timeout_s=grace - sleep)
    assert code == 0, stack.ms.log()
    assert time.monotonic() - started < grace - sleep
