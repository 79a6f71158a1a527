#!/usr/bin/env bash
# The web app's checks: ruff (lint + format), mypy --strict on webapp/src, then pytest webapp/tests
# (unit tests, and integration tests over a real model server, gunicorn and Debian's chromium).
#
#   scripts/run-webapp-tests.sh [PYTEST_ARGS...]     e.g.  -m "not integration"
#
# Expects .venv with modelserver and webapp[dev] installed (make setup) and models/ built
# (make models); ZINFER_MODEL_REPOSITORY points the tests at another model repository.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"

# The browser test drives Debian's chromium through playwright (never `playwright install`).
if [[ ! -x /usr/bin/chromium ]]; then
    echo "run-webapp-tests: installing chromium (Debian package)"
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo -n)  # CI runners: passwordless sudo
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
fi

cd "$ROOT/webapp"
"$PY" -m ruff check src tests gunicorn.conf.py
"$PY" -m ruff format --check src tests gunicorn.conf.py
"$PY" -m mypy --strict src
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
"$PY" -m pytest tests "$@"
