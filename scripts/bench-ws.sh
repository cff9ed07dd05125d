#!/usr/bin/env bash
# `make bench-ws`: the WebSocket benchmark of issue 4, item 8. Starts nginx, taskd-fcgi and taskd-ws in a temporary
# prefix, then runs the client side (taskd-ws-bench, release build):
#   1. latency: time from a POST's response to the frame holding the new task reaching every subscriber of the
#      workspace, with 1, 100 and 1,000 subscribers (p50, p90, p99, max over every frame), through nginx and
#      straight to taskd-ws's unix socket;
#   2. idle: taskd-ws's resident memory (VmRSS) per idle WebSocket connection with 10,000 open connections
#      (connected straight to taskd-ws's unix socket: the figure is the sidecar's own).
# Targets: p50 <= 2 ms and p99 <= 10 ms at 1,000 subscribers; <= 10 KiB per idle connection.
#
# Environment: BENCH_SUBSCRIBERS (default 1,100,1000), BENCH_ROUNDS (creates per count, default 200),
# BENCH_IDLE_CONNECTIONS (default 10000), TASKD_SKIP_BUILD=1 to use existing binaries, BENCH_KEEP=1 to keep the
# temporary prefix.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
subscribers="${BENCH_SUBSCRIBERS:-1,100,1000}"
rounds="${BENCH_ROUNDS:-200}"
idle_connections="${BENCH_IDLE_CONNECTIONS:-10000}"

# 10,000 connections need 10,000 descriptors on each side (and nginx needs two per proxied subscriber).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < idle_connections + 1000)); then
    echo "the open-files limit is $(ulimit -n); it must exceed $((idle_connections + 1000)) (raise the hard limit)" >&2
    exit 1
fi

scripts/install-deps.sh
if [[ "${TASKD_SKIP_BUILD:-0}" != 1 ]]; then
    swift build -c release
fi
bin="$(swift build -c release --show-bin-path)"
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
python="$(command -v /usr/bin/python3 || command -v python3)"

source scripts/bench-prefix.sh
bench_prepare_prefix taskd-bench-ws
export TASKD_STATE_DIR="$prefix/state" TASKD_KEYS_FILE="$prefix/state/keys.json"
export TASKD_FCGI_SOCKET="$prefix/fcgi.sock" TASKD_WS_LISTEN="unix:$prefix/ws.sock"
# One slot: a long task holds it, so every measured task stays queued and no timed transition adds frames.
export TASKD_SLOTS=1 TASKD_TIME_SCALE=1 TASKD_MAX_WS_CONNECTIONS=100000 TASKD_LOG_LEVEL=warning
# Each proxied subscriber holds two nginx connections.
sed -i -e 's/worker_connections [0-9]*;/worker_connections 8192;/' \
    -e 's/^worker_processes \(.*\)$/worker_processes \1\nworker_rlimit_nofile 65536;/' "$prefix/nginx.conf"

key="$("$bin/taskctl" key add bench 2>/dev/null | tail -n 1 || true)"
if [[ -z "$key" || "$key" == *" "* ]]; then
    echo "(taskctl could not issue a key: benchmarking in open mode)" >&2
    export TASKD_OPEN_MODE=true
    key="bench-open-mode-key"
fi

"$bin/taskd-fcgi" 2>"$prefix/logs/taskd-fcgi.log" &
pids+=($!)
"$bin/taskd-ws" 2>"$prefix/logs/taskd-ws.log" &
ws_pid=$!
pids+=($ws_pid)
"$nginx_bin" -p "$prefix/" -c "$prefix/nginx.conf" &
pids+=($!)
base="http://127.0.0.1:$port"
ready=0
for _ in $(seq 100); do
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/tasks?api_key=$key")" == 200 && -S "$prefix/ws.sock" ]]; then
        ready=1
        break
    fi
    sleep 0.1
done
((ready)) || { echo "taskd did not come up:" >&2; cat "$prefix/logs/"*.log >&2; exit 1; }

echo "# taskd-ws benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "# the client, nginx, taskd-fcgi and taskd-ws share these cores"
# Through nginx (what clients get), then straight to taskd-ws's socket (what the sidecar itself costs); the POSTs
# always go through nginx to taskd-fcgi.
"$bin/taskd-ws-bench" latency --http-port "$port" --api-key "$key" --subscribers "$subscribers" --rounds "$rounds" \
    --pid "$ws_pid"
"$bin/taskd-ws-bench" latency --http-port "$port" --api-key "$key" --subscribers "$subscribers" --rounds "$rounds" \
    --pid "$ws_pid" --socket "$prefix/ws.sock" --workspace bench-direct
"$bin/taskd-ws-bench" idle --socket "$prefix/ws.sock" --pid "$ws_pid" --api-key "$key" \
    --connections "$idle_connections"
if [[ -s "$prefix/logs/taskd-ws.log" ]]; then
    echo "# taskd-ws log:"
    cat "$prefix/logs/taskd-ws.log"
fi
