#!/usr/bin/env bash
# ruff (lint and format check) and mypy --strict on every project's src/.
set -euo pipefail
cd "$(dirname "$0")/.."
for project in modelserver webapp; do
  [ -f "$project/pyproject.toml" ] || continue
  (cd "$project" && ../.venv/bin/ruff check . && ../.venv/bin/ruff format --check . && ../.venv/bin/mypy src)
done
