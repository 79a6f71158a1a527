#!/usr/bin/env bash
# Everything `make test` runs after setup and models: lint, types, then each project's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2
scripts/lint.sh
(cd modelserver && ../.venv/bin/python -m pytest -q)
.venv/bin/python -m pytest -q -p no:cacheprovider bench/tests
scripts/run-webapp-tests.sh -q
scripts/run-monitoring-tests.sh -q
scripts/chart-tests.sh
