"""gunicorn's config turns prometheus-client's multiprocess mode on before anything imports it.

prometheus_client fixes its mode when first imported, and forked workers inherit what the arbiter
imported. So the config must set PROMETHEUS_MULTIPROC_DIR before its own imports pull
prometheus_client in, whether the directory comes from that variable, from
WEBAPP_PROMETHEUS_MULTIPROC_DIR (`make run`, the benchmark) or from neither (a temporary one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = (
    "import json, os, sys\n"
    "import webapp.gunicorn_conf as conf\n"
    "imported_early = 'prometheus_client' in sys.modules\n"
    "from prometheus_client import values\n"
    "print(json.dumps({'value_class': values.ValueClass.__name__, 'imported_early': imported_early,"
    " 'dir': os.environ['PROMETHEUS_MULTIPROC_DIR']}))\n"
    "conf.on_exit(None)\n"
)


@pytest.mark.parametrize("variable", ["PROMETHEUS_MULTIPROC_DIR", "WEBAPP_PROMETHEUS_MULTIPROC_DIR", None])
def test_the_config_sets_multiprocess_mode_before_prometheus_client_is_imported(
    tmp_path: Path, variable: str | None
) -> None:
    env = {k: v for k, v in os.environ.items() if "PROMETHEUS_MULTIPROC_DIR" not in k}
    if variable:
        env[variable] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, check=True, capture_output=True, text=True, timeout=60
    ).stdout
    seen = json.loads(out.strip().splitlines()[-1])
    assert not seen["imported_early"]
    assert seen["value_class"] != "MutexValue", "single-process values: workers' counts would be lost"
    if variable:
        assert seen["dir"] == str(tmp_path)
