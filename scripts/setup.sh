#!/usr/bin/env bash
# Create .venv and install both projects with everything the tests need.
# Idempotent and quick when nothing changed: a stamp records the hash of the dependency files.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version}"'

inputs=(modelserver/pyproject.toml bench/requirements.txt monitoring/requirements-test.txt)
[ -f webapp/pyproject.toml ] && inputs+=(webapp/pyproject.toml)
stamp=.venv/.zinfer-setup-$(cat "${inputs[@]}" scripts/setup.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ]; then
  exit 0
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet -e 'modelserver[server,build,dev]'
if [ -f webapp/pyproject.toml ]; then
  .venv/bin/python -m pip install --quiet -e 'webapp[dev]'
fi
.venv/bin/python -m pip install --quiet -r bench/requirements.txt -r monitoring/requirements-test.txt
rm -f .venv/.zinfer-setup-*
touch "$stamp"
echo "setup: .venv ready"
