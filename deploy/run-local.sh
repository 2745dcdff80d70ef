#!/usr/bin/env bash
# The docker-compose.yml setup on this machine, without Docker: REPLICAS streamlit servers on
# loopback ports behind HAProxy (Debian package haproxy), with the same balancer settings as
# deploy/haproxy.cfg (sticky cookie, websocket tunnel timeout, /_stcore/health checks).
#
#   deploy/run-local.sh                      # balancer on http://127.0.0.1:8600, replicas on 8611, 8612
#   REPLICAS=3 LB_PORT=8700 BASE_PORT=8711 deploy/run-local.sh
#
# Everything listens on 127.0.0.1 only. Ctrl-C (or SIGTERM) stops the replicas and HAProxy it
# started. It writes its config and the pids to RUN_DIR (default: a new temporary folder) and
# prints "ready: URL" once every replica is healthy and the balancer answers.
set -euo pipefail

REPLICAS=${REPLICAS:-2}
LB_PORT=${LB_PORT:-8600}
BASE_PORT=${BASE_PORT:-8611}
STATS_PORT=${STATS_PORT:-$((LB_PORT + 4))}
RUN_DIR=${RUN_DIR:-$(mktemp -d -t attention-lens-lb.XXXXXX)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python}

if ! command -v haproxy >/dev/null 2>&1; then
    echo "haproxy is not installed: install it with 'apt-get install haproxy' (as root), then run $0 again." >&2
    exit 2
fi

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM

mkdir -p "$RUN_DIR"
servers=""
for i in $(seq 1 "$REPLICAS"); do
    port=$((BASE_PORT + i - 1))
    (cd "$ROOT" && exec "$PYTHON" -m streamlit run app.py --server.address 127.0.0.1 --server.port "$port" \
        --server.headless true --server.fileWatcherType none --browser.gatherUsageStats false) \
        >"$RUN_DIR/replica$i.log" 2>&1 &
    pids+=($!)
    echo "$!" >"$RUN_DIR/replica$i.pid"
    servers+="    server r$i 127.0.0.1:$port cookie r$i check inter 5s fall 3 rise 2"$'\n'
done

cat >"$RUN_DIR/haproxy.cfg" <<CFG
# Written by deploy/run-local.sh: deploy/haproxy.cfg with loopback replicas.
global
    maxconn 2000

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    timeout http-request 10s
    timeout queue 30s
    timeout check 30s

frontend web
    bind 127.0.0.1:$LB_PORT
    default_backend app

backend app
    balance leastconn
    cookie ALSRV insert indirect nocache httponly
    option httpchk GET /_stcore/health
    http-check expect status 200
$servers
listen stats
    bind 127.0.0.1:$STATS_PORT
    stats enable
    stats uri /stats
CFG
haproxy -c -q -f "$RUN_DIR/haproxy.cfg"

for i in $(seq 1 "$REPLICAS"); do
    port=$((BASE_PORT + i - 1))
    for _ in $(seq 1 240); do
        curl -fsS "http://127.0.0.1:$port/_stcore/health" >/dev/null 2>&1 && break
        kill -0 "${pids[$((i - 1))]}" 2>/dev/null || { echo "replica $i exited: see $RUN_DIR/replica$i.log" >&2; exit 1; }
        sleep 0.5
    done
done

haproxy -db -f "$RUN_DIR/haproxy.cfg" >"$RUN_DIR/haproxy.log" 2>&1 &
pids+=($!)
echo "$!" >"$RUN_DIR/haproxy.pid"
for _ in $(seq 1 40); do
    curl -fsS "http://127.0.0.1:$LB_PORT/_stcore/health" >/dev/null 2>&1 && break
    sleep 0.25
done
echo "replicas: $(for i in $(seq 1 "$REPLICAS"); do printf '127.0.0.1:%s ' $((BASE_PORT + i - 1)); done)(pids in $RUN_DIR)"
echo "stats: http://127.0.0.1:$STATS_PORT/stats"
echo "ready: http://127.0.0.1:$LB_PORT"
wait
