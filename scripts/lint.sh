#!/usr/bin/env bash
# ruff (lint and format check) on every Python tree, and mypy --strict on each project's src/.
set -euo pipefail
cd "$(dirname "$0")/.."
ruff=../.venv/bin/ruff
(cd modelserver && $ruff check . && $ruff format --check . && ../.venv/bin/mypy src)
(cd webapp && $ruff check . && $ruff format --check . && ../.venv/bin/mypy src)
.venv/bin/ruff check --config modelserver/pyproject.toml bench
.venv/bin/ruff format --config modelserver/pyproject.toml --check bench
for tree in charts images k8s-tests monitoring; do
  (cd "$tree" && $ruff check . && $ruff format --check .)
done
