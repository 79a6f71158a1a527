#!/usr/bin/env bash
# `make run`: the whole service on this machine with the real models, no cluster.
# Starts one model server and the web app under gunicorn, prints the address, and stops both
# cleanly on Ctrl-C (the model server drains: nothing in flight is lost).
#   ZINFER_PORT=8000  web app port      ZINFER_HOST=127.0.0.1  address to bind
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
host=${ZINFER_HOST:-127.0.0.1}
port=${ZINFER_PORT:-8000}
zmq_port=${ZINFER_MODELSERVER_PORT:-5576}
health_port=${ZINFER_MODELSERVER_HTTP_PORT:-8081}
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/zinfer-run.XXXXXX")
py="$root/.venv/bin/python"
pids=()

stop() {
  trap - EXIT INT TERM
  echo
  echo "stopping ..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$run_dir"
  echo "stopped"
}
trap stop EXIT INT TERM

wait_ready() {  # URL, name, pid: poll until 200, with a deadline; fail if the process died
  "$py" - "$1" "$2" "$3" <<'PY'
import os, sys, time, urllib.request
url, name, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
deadline = time.monotonic() + 300
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(f"{name} exited during start-up; see its log above")
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(f"{name} did not become ready within 300 s")
PY
}

echo "starting the model server (models from $root/models) ..."
MODELSERVER_BIND="tcp://127.0.0.1:$zmq_port" MODELSERVER_HTTP_HOST=127.0.0.1 MODELSERVER_HTTP_PORT="$health_port" \
MODELSERVER_MODEL_REPOSITORY="$root/models" TF_CPP_MIN_LOG_LEVEL=2 \
  "$py" -m modelserver &
pids+=($!)
wait_ready "http://127.0.0.1:$health_port/readyz" "model server" "${pids[0]}"

echo "starting the web app ..."
WEBAPP_BIND="$host:$port" WEBAPP_ENDPOINTS="tcp://127.0.0.1:$zmq_port" \
WEBAPP_PROMETHEUS_MULTIPROC_DIR="$run_dir/prometheus" \
  "$root/.venv/bin/gunicorn" -c python:webapp.gunicorn_conf 'webapp:create_app()' &
pids+=($!)
wait_ready "http://$host:$port/readyz" "web app" "${pids[1]}"

cat <<MSG

  zinfer is running:  http://$host:$port
    upload page        http://$host:$port/
    JSON API           curl -F file=@photo.jpg http://$host:$port/api/v1/predict
    Open Inference v2  http://$host:$port/v2/models/efficientnet-lite0
    metrics            http://$host:$port/metrics  and  http://127.0.0.1:$health_port/metrics
  Ctrl-C stops everything.

MSG
wait -n "${pids[@]}"
