#!/usr/bin/env bash
# The monitoring tests: promtool checks and rule unit tests, the dashboard's structure, and a real
# Prometheus scraping real model servers and the web app under load (monitoring/tests/).
# Needs .venv (make setup) and the model repository (make models); installs Debian's prometheus
# package and the pinned test requirements when they are missing. Extra arguments go to pytest,
# which runs in monitoring/:   scripts/run-monitoring-tests.sh -k adapter tests/test_live.py
set -euo pipefail
cd "$(dirname "$0")/.."

py=.venv/bin/python
[[ -x $py ]] || { echo "run-monitoring-tests: no .venv; run make setup first" >&2; exit 1; }

scripts/monitor.sh --install

if ! "$py" -c 'import grafana_foundation_sdk, requests, yaml, pytest, pytest_timeout, skimage' 2>/dev/null; then
  "$py" -m pip install --quiet --disable-pip-version-check -r monitoring/requirements-test.txt
fi

(cd monitoring && ../.venv/bin/ruff check --no-cache . && ../.venv/bin/ruff format --no-cache --check .)
"$py" monitoring/grafana/build_dashboard.py --check

export TF_CPP_MIN_LOG_LEVEL=2
cd monitoring
exec ../.venv/bin/python -m pytest -p no:cacheprovider "$@"
