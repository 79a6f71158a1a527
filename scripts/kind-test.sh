#!/usr/bin/env bash
# `make kind-test`: the end-to-end suite (k8s-tests/) on a kind cluster.
#
# Creates the kind cluster from k8s-tests/kind-config.yaml unless it exists, then runs the suite,
# which builds the images (scripts/images.sh), loads them into the cluster, installs
# ingress-nginx, kube-prometheus-stack, prometheus-adapter (monitoring/ values) and the chart
# (charts/zinfer/ci/kind-values.yaml), and tests it. Needs kind, kubectl, docker (or podman) and
# access to the Helm chart repositories and kindest/node images.
#
# Environment: ZINFER_KIND_CLUSTER (default zinfer), ZINFER_KEEP_CLUSTER=1 keeps a cluster this
# script created, ZINFER_E2E_REUSE=1 skips image loading and the monitoring/ingress installs.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${ZINFER_KIND_CLUSTER:-zinfer}
for tool in kind kubectl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "kind-test: $tool is not installed" >&2; exit 1; }
done
scripts/install-tools.sh chart

created=0
if ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind create cluster --name "$CLUSTER" --config k8s-tests/kind-config.yaml --wait 180s
  created=1
fi
cleanup() {
  if [[ $created == 1 && ${ZINFER_KEEP_CLUSTER:-0} != 1 ]]; then
    kind delete cluster --name "$CLUSTER"
  fi
}
trap cleanup EXIT

export ZINFER_KIND_CLUSTER=$CLUSTER
.venv/bin/python -m pytest -c charts/pytest.ini --rootdir . -v -m e2e k8s-tests "$@"
