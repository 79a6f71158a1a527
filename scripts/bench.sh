#!/usr/bin/env bash
# `make bench`: model-server benchmark (in-process limit vs through ZeroMQ) into bench-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2
.venv/bin/python -m bench.modelserver_bench "$@"
