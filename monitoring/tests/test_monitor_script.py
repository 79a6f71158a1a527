"""`make monitor` (scripts/monitor.sh) against the real stack: it starts Prometheus, says where to
look, scrapes both services with the rules loaded, and Ctrl-C stops it and removes its data."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from _procs import REPO, free_port, port_open, start, wait_until
from _prom import Prom, has_data
from conftest import POD_A, ModelServer, WebApp

pytestmark = pytest.mark.integration

START_S = 30.0


def test_make_monitor_scrapes_the_stack_and_stops_on_ctrl_c(
    tmp_path: Path, modelservers: dict[str, ModelServer], webapp: WebApp
) -> None:
    port = free_port()
    env = {
        "ZINFER_MONITOR_PORT": str(port),
        "ZINFER_PORT": str(webapp.port),
        "ZINFER_MODELSERVER_HTTP_PORT": str(modelservers[POD_A].http_port),
        "ZINFER_MONITOR_INTERVAL": "1s",
        "TMPDIR": str(tmp_path),
    }
    # Its own session, so a "Ctrl-C" can go to the whole process group as a terminal sends it.
    proc = start("monitor", [str(REPO / "scripts" / "monitor.sh")], env, tmp_path, new_session=True)
    try:
        wait_until(lambda: "Ctrl-C stops it" in proc.log() or not proc.alive(), START_S, "monitor.sh banner")
        banner = proc.log()
        assert proc.alive(), banner
        base = f"http://127.0.0.1:{port}"
        for where in (
            f"{base}/targets",
            f"{base}/rules",
            f"{base}/alerts",
            "monitoring/grafana/dashboards/zinfer.json",
        ):
            assert where in banner, where
        data_dir = Path(re.search(r"Data: (\S+)", banner)[1])  # type: ignore[index]
        assert data_dir.is_dir() and data_dir.parent == tmp_path

        prom = Prom(base)
        wait_until(
            lambda: (
                {t["labels"]["job"]: t["health"] for t in prom.targets()}
                == {"modelserver": "up", "webapp": "up", "prometheus": "up"}
            ),
            START_S,
            "model server, web app and Prometheus itself scraped",
        )
        assert len(prom.rule_groups()) == 3
        prom.wait_for(
            'namespace_pod:modelserver_queue_depth:max{namespace="local"}', has_data, START_S, "a rule"
        )

        proc.signal_group(signal.SIGINT)
        proc.process.wait(timeout=30)
        assert proc.process.returncode == 0, proc.log()
        assert not data_dir.exists(), "monitor.sh left its data behind"
        assert not port_open(port), "Prometheus still listening"
        assert "stopped" in proc.log()
    finally:
        proc.signal_group(signal.SIGTERM)
        proc.stop()
