#!/usr/bin/env bash
# `make monitor`: a local Prometheus (Debian's package) scraping the stack `make run` starts, with
# zinfer's recording rules and alerts loaded. Its data lives in a temp dir, removed on exit;
# Ctrl-C stops it. Start `make run` in another terminal (before or after: targets turn up by themselves).
#
#   scripts/monitor.sh             run Prometheus in the foreground
#   scripts/monitor.sh --check     write the config, `promtool check config` it (and the rules), exit
#   scripts/monitor.sh --install   install Debian's prometheus package if it is missing, exit
#
# Environment (defaults match scripts/run.sh and the settings classes):
#   ZINFER_MONITOR_HOST=127.0.0.1  ZINFER_MONITOR_PORT=9090   where Prometheus listens
#   ZINFER_PORT=8000                     web app            (WEBAPP_BIND default 127.0.0.1:8000)
#   ZINFER_MODELSERVER_HTTP_PORT=8081    model-server HTTP  (MODELSERVER_HTTP_PORT default 8081)
#   ZINFER_MONITOR_INTERVAL=5s           scrape and rule-evaluation interval
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

host=${ZINFER_MONITOR_HOST:-127.0.0.1}
port=${ZINFER_MONITOR_PORT:-9090}
web_port=${ZINFER_PORT:-8000}
ms_port=${ZINFER_MODELSERVER_HTTP_PORT:-8081}
interval=${ZINFER_MONITOR_INTERVAL:-5s}
rules_glob="$root/monitoring/prometheus/rules/*.yaml"

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }

mode=run
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  --install) mode=install ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac

for value in "$port" "$web_port" "$ms_port"; do
  [[ $value =~ ^[0-9]+$ ]] || { echo "monitor: port '$value' is not a number" >&2; exit 2; }
done
[[ $interval =~ ^[0-9]+(ms|s|m)$ ]] || { echo "monitor: interval '$interval' is not like 5s" >&2; exit 2; }

ensure_prometheus() {
  if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    return 0
  fi
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo -n)  # CI runners: passwordless sudo
  if command -v apt-get >/dev/null 2>&1 && { [[ ${#sudo[@]} -eq 0 ]] || sudo -n true 2>/dev/null; }; then
    echo "monitor: installing Debian's prometheus package ..."
    "${sudo[@]}" apt-get install -y -q --no-install-recommends prometheus >/dev/null ||
      { "${sudo[@]}" apt-get update -q >/dev/null &&
        "${sudo[@]}" apt-get install -y -q --no-install-recommends prometheus >/dev/null; }
    return 0
  fi
  echo "monitor: prometheus is not installed; run: sudo apt-get install --no-install-recommends prometheus" >&2
  exit 1
}

ensure_prometheus
[[ $mode == install ]] && exit 0

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/zinfer-monitor.XXXXXX")
prom_pid=""

stop() {
  trap - EXIT INT TERM
  if [[ -n $prom_pid ]] && kill -0 "$prom_pid" 2>/dev/null; then
    echo
    echo "monitor: stopping Prometheus ..."
    kill -TERM "$prom_pid" 2>/dev/null || true
    wait "$prom_pid" 2>/dev/null || true
  fi
  rm -rf "$run_dir"
  [[ $mode == run ]] && echo "monitor: stopped; its data is gone with $run_dir"
  return 0
}
trap stop EXIT
trap 'stop; exit 0' INT TERM

# The same label names Prometheus adds in Kubernetes (namespace, pod), so the rules, the
# dashboard and the prometheus-adapter query work unchanged on this data.
cat >"$run_dir/prometheus.yml" <<EOF
# Written by scripts/monitor.sh; removed when it exits.
global:
  scrape_interval: $interval
  evaluation_interval: $interval
rule_files:
  - "$rules_glob"
scrape_configs:
  - job_name: modelserver
    static_configs:
      - targets: ["127.0.0.1:$ms_port"]
        labels: {namespace: local, pod: modelserver-local}
  - job_name: webapp
    static_configs:
      - targets: ["127.0.0.1:$web_port"]
        labels: {namespace: local, pod: webapp-local}
  - job_name: prometheus
    static_configs:
      - targets: ["$host:$port"]
EOF

promtool check config "$run_dir/prometheus.yml" >"$run_dir/check.log" 2>&1 ||
  { cat "$run_dir/check.log" >&2; exit 1; }
if [[ $mode == check ]]; then
  cat "$run_dir/check.log"
  exit 0
fi

prometheus \
  --config.file="$run_dir/prometheus.yml" \
  --storage.tsdb.path="$run_dir/data" \
  --storage.tsdb.retention.time=1d \
  --web.listen-address="$host:$port" \
  --web.console.templates=/etc/prometheus/consoles \
  --web.console.libraries=/etc/prometheus/console_libraries \
  >"$run_dir/prometheus.log" 2>&1 &
prom_pid=$!

# Ready within a deadline, or say why not (port taken, bad flag: the log says).
python3 - "http://$host:$port/-/ready" "$prom_pid" <<'PY' || { tail -n 20 "$run_dir/prometheus.log" >&2; exit 1; }
import os, sys, time, urllib.request
url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("monitor: prometheus exited during start-up:")
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit("monitor: prometheus did not become ready within 30 s:")
PY

base="http://$host:$port"
cat <<MSG

  Prometheus is running: $base   (pid $prom_pid, scraping every $interval)
    targets      $base/targets         model server 127.0.0.1:$ms_port, web app 127.0.0.1:$web_port
    rules        $base/rules           monitoring/prometheus/rules/*.yaml
    alerts       $base/alerts
    queue depth  $base/graph?g0.expr=namespace_pod%3Amodelserver_queue_depth%3Amax&g0.tab=0&g0.range_input=15m
    p99 latency  $base/graph?g0.expr=namespace_model_quantile%3Amodelserver_request_duration_seconds%3Ahistogram_quantile&g0.tab=0&g0.range_input=15m
  Grafana: import monitoring/grafana/dashboards/zinfer.json with a Prometheus data source at $base
           (namespace "local").
  Targets are down until \`make run\` is up. Data: $run_dir (removed on exit). Ctrl-C stops it.

MSG

# Ctrl-C reaches Prometheus too (Go re-enables SIGINT), which then exits 0 by itself.
set +e
wait "$prom_pid"
rc=$?
set -e
prom_pid=""
if [[ $rc -ne 0 ]]; then
  echo "monitor: prometheus exited with status $rc; last lines of its log:" >&2
  tail -n 20 "$run_dir/prometheus.log" >&2
fi
exit "$rc"
