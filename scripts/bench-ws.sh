#!/usr/bin/env bash
# `make bench-ws`: the WebSocket benchmark. Starts nginx, taskd-fcgi and taskd-ws in a temporary prefix, and beside
# them a minimal fan-out server (`taskd-ws-bench floor`) behind a second nginx, then runs the client side
# (taskd-ws-bench, release build):
#   1. latency: time from a POST's response to the frame holding the new task reaching every subscriber of the
#      workspace, with 1, 100 and 1,000 subscribers (p50, p90, p99, max over every frame), and the server's CPU time
#      per frame sent: taskd through nginx, the floor server through nginx (same machine, same run: what fan-out
#      through nginx costs here at the least), taskd straight to its unix socket;
#   2. 10,000 clients through nginx with the local template's limits as they are: every one upgraded, every frame
#      delivered, and the latency at that size;
#   3. idle: taskd-ws's resident memory (VmRSS) per idle WebSocket connection with 10,000 open connections
#      (straight to taskd-ws's unix socket: the figure is the sidecar's own);
#   4. the dashboard on a full workspace (10,000 tasks, a few frames a second) in headless Chromium: the time to the
#      list and the page's main-thread busy share over 10 s, measured by Tests/WebTests/full_workspace.py (the code
#      the web test asserts with), on a stack of its own with these release binaries.
# It ends with a table of targets and verdicts.
#
# Environment: BENCH_SUBSCRIBERS (default 1,100,1000), BENCH_ROUNDS (creates per count, default 200),
# BENCH_IDLE_CONNECTIONS (default 10000), BENCH_CLIENTS_THROUGH_NGINX (default 10000), BENCH_ROUNDS_AT_SCALE
# (default 20), TASKD_SKIP_BUILD=1 to use existing binaries, BENCH_KEEP=1 to keep the temporary prefix.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source scripts/lib/process.sh
source scripts/lib/http.sh
source scripts/lib/nginx.sh
source scripts/lib/stack.sh
source scripts/lib/prefix.sh
source scripts/lib/venv.sh
subscribers="${BENCH_SUBSCRIBERS:-1,100,1000}"
rounds="${BENCH_ROUNDS:-200}"
idle_connections="${BENCH_IDLE_CONNECTIONS:-10000}"
clients_through_nginx="${BENCH_CLIENTS_THROUGH_NGINX:-10000}"
rounds_at_scale="${BENCH_ROUNDS_AT_SCALE:-20}"
keep="${BENCH_KEEP:-0}"

# 10,000 connections need 10,000 descriptors in the client and in taskd-ws, and nginx two per proxied client (split
# over its workers; nginx raises its workers' limit itself as far as the hard limit allows).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < idle_connections + 1000 || $(ulimit -n) < clients_through_nginx + 1000)); then
    echo "the open-files limit is $(ulimit -n); it must exceed $((idle_connections + 1000)) (raise the hard limit)" >&2
    exit 1
fi

scripts/install-deps.sh test # the dashboard row needs Chromium and the web tests' Python packages
venv="$root/.build-venv"
web_venv_prepare "$venv" "$root/Tests/WebTests/requirements.txt"
build_release "${TASKD_SKIP_BUILD:-0}"
bin="$(release_bin_dir)"
nginx_bin="$(find_nginx)"
python="$(system_python)"

prefix="$(make_prefix taskd-bench-ws)"
port="$(free_port)"
pids=()
trap 'stop_processes 50 "${pids[@]}" || true; remove_prefix "$prefix" "$keep"' EXIT
unlimited_nginx_conf "$root" "$prefix" "$port" >"$prefix/nginx.conf"
export TASKD_STATE_DIR="$prefix/state" TASKD_KEYS_FILE="$prefix/state/keys.json"
export TASKD_FCGI_SOCKET="$prefix/fcgi.sock" TASKD_WS_LISTEN="unix:$prefix/ws.sock"
# One slot: a long task holds it, so every measured task stays queued and no timed transition adds frames.
export TASKD_SLOTS=1 TASKD_TIME_SCALE=1 TASKD_MAX_WS_CONNECTIONS=100000 TASKD_LOG_LEVEL=warning

# The floor: the minimal fan-out server behind its own nginx, rendered from the same template (its socket is the
# floor prefix's ws.sock).
floor="$prefix/floor"
floor_port="$(free_port)"
mkdir -p "$floor/tmp" "$floor/logs"
unlimited_nginx_conf "$root" "$floor" "$floor_port" >"$floor/nginx.conf"

key="$("$bin/taskctl" key add bench 2>/dev/null | tail -n 1 || true)"
if [[ -z "$key" || "$key" == *" "* ]]; then
    echo "(taskctl could not issue a key: benchmarking in open mode)" >&2
    export TASKD_OPEN_MODE=true
    key="bench-open-mode-key"
fi

"$bin/taskd-fcgi" 2>"$prefix/logs/taskd-fcgi.log" &
pids+=("$!")
"$bin/taskd-ws" 2>"$prefix/logs/taskd-ws.log" &
ws_pid=$!
pids+=("$ws_pid")
"$nginx_bin" -p "$prefix/" -c "$prefix/nginx.conf" 2>"$prefix/logs/nginx.log" &
pids+=("$!")
"$bin/taskd-ws-bench" floor --socket "$floor/ws.sock" 2>"$prefix/logs/floor.log" &
floor_pid=$!
pids+=("$floor_pid")
"$nginx_bin" -p "$floor/" -c "$floor/nginx.conf" 2>"$floor/logs/nginx.log" &
pids+=("$!")
base="http://127.0.0.1:$port"
# shellcheck disable=SC2317 # called through wait_until
stacks_answer() { # stacks_answer BASE KEY PREFIX FLOOR
    http_status_is 200 "$1/tasks?api_key=$2" && [[ -S "$3/ws.sock" && -S "$4/ws.sock" ]]
}
wait_until 100 stacks_answer "$base" "$key" "$prefix" "$floor" || {
    echo "taskd did not come up:" >&2
    cat "$prefix/logs/"*.log >&2
    exit 1
}

results="$prefix/results.txt"
: >"$results"
# record RESULTS COMMAND...: runs COMMAND, its output shown and appended to the file RESULTS.
record() {
    local results="$1"
    shift
    "$@" | tee -a "$results"
}

echo "# taskd-ws benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "# the client, nginx, taskd-fcgi and taskd-ws (or the floor server) share these cores"
# taskd through nginx (what clients get), the floor server through nginx (the least fan-out can cost here), then
# taskd straight to its socket (what the sidecar itself costs). taskd's POSTs go through nginx to taskd-fcgi; the
# floor's go to its own socket.
record "$results" "$bin/taskd-ws-bench" latency --http-port "$port" --api-key "$key" --subscribers "$subscribers" \
    --rounds "$rounds" --pid "$ws_pid"
record "$results" "$bin/taskd-ws-bench" latency --server floor --http-port "$floor_port" --api-key "$key" \
    --subscribers "$subscribers" --rounds "$rounds" --pid "$floor_pid" --trigger-socket "$floor/ws.sock"
record "$results" "$bin/taskd-ws-bench" latency --http-port "$port" --api-key "$key" --subscribers "$subscribers" \
    --rounds "$rounds" --pid "$ws_pid" --socket "$prefix/ws.sock" --workspace bench-direct
record "$results" "$bin/taskd-ws-bench" idle --socket "$prefix/ws.sock" --pid "$ws_pid" --api-key "$key" \
    --connections "$idle_connections"
# Every client through nginx as `make run` configures it: the connect fails the run if nginx or taskd-ws refuse one.
scale_status=0
record "$results" "$bin/taskd-ws-bench" latency --http-port "$port" --api-key "$key" \
    --subscribers "$clients_through_nginx" --rounds "$rounds_at_scale" --pid "$ws_pid" --workspace bench-scale || scale_status=$?
# The dashboard in headless Chromium, on a stack of its own (the stack above is idle by now).
dashboard_status=0
record "$results" env TASKD_BIN_DIR="$bin" PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" \
    Tests/WebTests/full_workspace.py || dashboard_status=$?

# field RESULTS NAME LINE-PATTERN: the value of NAME= on the first line of the file RESULTS matching the pattern;
# nothing when no line does (BENCH_SUBSCRIBERS without 1000, say: that target's verdict is then MISSED).
field() { { grep -E "$3" "$1" || true; } | head -n 1 | sed -n "s/.* $2=\([^ ]*\).*/\1/p"; }
ms() { echo "${1%ms}"; }
us() { echo "${1%us}"; }
taskd_p50="$(field "$results" p50 'server=taskd via=nginx workspace=bench subscribers=1000 ')"
taskd_p99="$(field "$results" p99 'server=taskd via=nginx workspace=bench subscribers=1000 ')"
floor_p99="$(field "$results" p99 'server=floor via=nginx workspace=bench subscribers=1000 ')"
taskd_cpu="$(us "$(field "$results" server_cpu_per_frame 'server=taskd via=nginx workspace=bench subscribers=1000 ')")"
floor_cpu="$(us "$(field "$results" server_cpu_per_frame 'server=floor via=nginx workspace=bench subscribers=1000 ')")"
scale_frames="$(field "$results" frames 'workspace=bench-scale ')"
scale_p99="$(field "$results" p99 'workspace=bench-scale ')"
per_connection="$(field "$results" per_connection 'idle connections=' | sed 's/B$//')"
list_shown="$(field "$results" list_shown '^dashboard list_shown=' | sed 's/s$//')"
busy_all="$(field "$results" busy '^dashboard view=all ' | sed 's/%$//')"
busy_queued="$(field "$results" busy '^dashboard view=queued ' | sed 's/%$//')"
# verdict PYTHON EXPRESSION: "met" when the Python EXPRESSION holds, else "MISSED".
verdict() { if "$1" -c "import sys; sys.exit(0 if $2 else 1)"; then echo met; else echo MISSED; fi; }

echo
echo "| target | value | ceiling or peer (same run) | verdict |"
echo "| --- | ---: | ---: | --- |"
echo "| taskd-ws CPU per frame sent, 1,000 subscribers through nginx <= 3 us | ${taskd_cpu:-n/a} us" \
    "| floor server ${floor_cpu:-n/a} us | $(verdict "$python" "${taskd_cpu:-99} <= 3") |"
echo "| p99 through nginx at 1,000 subscribers <= 10 ms | ${taskd_p99:-n/a}" \
    "| floor ${floor_p99:-n/a}; taskd/floor $("$python" -c "print('%.2f' % ($(ms "${taskd_p99:-0ms}") / max($(ms "${floor_p99:-0ms}"), 1e-9)))")x" \
    "| $(verdict "$python" "$(ms "${taskd_p99:-99ms}") <= 10") |"
echo "| p50 through nginx at 1,000 subscribers <= 2 ms | ${taskd_p50:-n/a} | | $(verdict "$python" "$(ms "${taskd_p50:-99ms}") <= 2") |"
echo "| $clients_through_nginx clients through nginx (local template), every frame delivered" \
    "| ${scale_frames:-0} frames, p99 ${scale_p99:-n/a} | $((clients_through_nginx * rounds_at_scale)) expected" \
    "| $(verdict "$python" "$scale_status == 0 and ${scale_frames:-0} == $((clients_through_nginx * rounds_at_scale))") |"
echo "| memory per idle connection <= 10 KiB | ${per_connection:-n/a} B | | $(verdict "$python" "${per_connection:-99999} <= 10240") |"
echo "| dashboard, full workspace (10,000 tasks): main thread busy <= 20 % over 10 s | ${busy_all:-n/a} %" \
    "| showing queued only: ${busy_queued:-n/a} % |" \
    "$(verdict "$python" "$dashboard_status == 0 and ${busy_all:-100} <= 20 and ${busy_queued:-100} <= 20") |"
echo "| dashboard, full workspace: list shown <= 2 s after opening | ${list_shown:-n/a} s | |" \
    "$(verdict "$python" "$dashboard_status == 0 and ${list_shown:-99} <= 2") |"
for log in "$prefix/logs/taskd-ws.log" "$prefix/logs/nginx.log"; do
    if [[ -s "$log" ]]; then
        echo "# $(basename "$log"):"
        tail -n 20 "$log"
    fi
done
