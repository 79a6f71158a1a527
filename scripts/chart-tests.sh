#!/usr/bin/env bash
# Deployment tests for `make test`: chart unit tests and ties to the code (charts/tests), the
# Dockerfiles and the images built and run with podman (images/tests; skipped with the reason
# when podman cannot run here or ZINFER_SKIP_IMAGES=1), and the kind suite (k8s-tests; collected,
# skipped without a cluster). Installs its tools first (quick when present).
#
#   scripts/chart-tests.sh                 everything above
#   scripts/chart-tests.sh --no-images     without building/running images (ZINFER_SKIP_IMAGES=1)
#   scripts/chart-tests.sh -- ARGS...      extra pytest arguments (e.g. -k keda)
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ${1:-} == --no-images ]]; then
  export ZINFER_SKIP_IMAGES=1
  shift
fi
[[ ${1:-} == -- ]] && shift

scripts/install-tools.sh chart
if [[ ${ZINFER_SKIP_IMAGES:-0} != 1 ]]; then
  scripts/install-tools.sh containers
fi
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/.cache/tools/containers.conf}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

exec .venv/bin/python -m pytest -c charts/pytest.ini --rootdir . -q charts/tests images/tests k8s-tests "$@"
