#!/usr/bin/env bash
# `make run`: builds taskd in release mode and runs nginx, taskd-fcgi and taskd-ws in the foreground on
# 127.0.0.1:$TASKD_HTTP_PORT with a state directory inside the checkout. Ctrl-C or SIGTERM stops all three.
#
# Settings (environment): TASKD_HTTP_PORT (default 8080), TASKD_STATE_DIR (default var/state-$TASKD_HTTP_PORT),
# TASKD_SLOTS, TASKD_TIME_SCALE and every other TASKD_* variable the servers read. Two copies run side by side
# with different ports (each gets its own state directory unless TASKD_STATE_DIR says otherwise).
# TASKD_SKIP_BUILD=1 uses the binaries already built; TASKD_BIN_DIR names the directory holding them (default: the
# release build). TASKD_DEMO_TENANT names the demo key's tenant (default demo; make run-shards gives each shard its own).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source scripts/lib/process.sh
source scripts/lib/http.sh
source scripts/lib/nginx.sh
source scripts/lib/stack.sh

port="${TASKD_HTTP_PORT:-8080}"
check_port TASKD_HTTP_PORT "$port"
export TASKD_STATE_DIR="${TASKD_STATE_DIR:-$root/var/state-$port}"
export TASKD_KEYS_FILE="${TASKD_KEYS_FILE:-$TASKD_STATE_DIR/keys.json}"

scripts/install-deps.sh
build_release "${TASKD_SKIP_BUILD:-0}"
bin="${TASKD_BIN_DIR:-$(release_bin_dir)}"
nginx_bin="$(find_nginx)"

# Runtime files (nginx prefix, sockets, logs) per port.
run="$(run_directory "$root" "$port")"
mkdir -p "$TASKD_STATE_DIR"
chmod 700 "$TASKD_STATE_DIR"
export TASKD_FCGI_SOCKET="$run/fcgi.sock"
export TASKD_WS_LISTEN="unix:$run/ws.sock"

# The demo key is issued once per state directory and kept beside it (readable by this user only).
demo_key_file="$TASKD_STATE_DIR/demo-key"
demo_tenant="${TASKD_DEMO_TENANT:-demo}"
if [[ ! -s "$demo_key_file" ]]; then
    (umask 077 && "$bin/taskctl" key add "$demo_tenant" | tail -n 1 >"$demo_key_file.tmp")
    mv "$demo_key_file.tmp" "$demo_key_file"
fi
demo_key="$(<"$demo_key_file")"

scripts/tools/render-nginx.sh \
    "USER_DIRECTIVE=$(nginx_user_directive)" "WORKER_PROCESSES=auto" "PREFIX=$run" "ERROR_LOG=stderr" \
    "ACCESS_LOG=$run/logs/access.log taskd" "FCGI_SOCKET=$run/fcgi.sock" "WS_UPSTREAM=unix:$run/ws.sock" \
    "RATE_LIMIT=${TASKD_RATE_LIMIT:-1000r/s}" "RATE_BURST=${TASKD_RATE_BURST:-2000}" \
    "WS_CONNECTIONS_PER_ADDRESS=${TASKD_WS_CONNECTIONS_PER_ADDRESS:-10000}" "HTTP_PORT=$port" \
    "OPENAPI_DIR=$root/openapi" "WEB_DIR=$root/web" \
    "LOCATIONS_FILE=$root/nginx/taskd-locations.conf" >"$run/nginx.conf"
"$nginx_bin" -t -q -p "$run/" -c "$run/nginx.conf"

# 10,000 WebSocket clients need 20,000 nginx connections in a worker (nginx/local.conf.template) and 10,000 sockets in
# taskd-ws; both raise their open-files limit, but only as far as the hard limit lets them.
nginx_files="$(sed -n 's/^worker_rlimit_nofile \([0-9]*\);/\1/p' nginx/local.conf.template)"
warn_open_files "$nginx_files" "nginx cannot raise its workers' to $nginx_files, so each worker proxies at most about \
$(($(ulimit -Hn) / 2)) WebSocket clients (10,000 on one worker need $nginx_files). Raise it (ulimit -Hn, or \
LimitNOFILE= / limits.conf) for more."

pids=()
# Each server drains and exits; it gets 5 s, then is made sure of.
stop() {
    trap - INT TERM
    stop_processes 50 "$@" || true
    echo "taskd stopped." >&2
}
trap 'stop "${pids[@]}"; exit 0' INT TERM

"$bin/taskd-fcgi" &
pids+=($!)
"$bin/taskd-ws" &
pids+=($!)
"$nginx_bin" -p "$run/" -c "$run/nginx.conf" &
pids+=($!)

base="http://127.0.0.1:$port"
# The commands below are printed once they work: both servers listen, and nginx reaches them (401: no key given).
# shellcheck disable=SC2317 # called through wait_until
stack_answers() { # stack_answers RUN_DIRECTORY BASE
    [[ -S "$1/fcgi.sock" && -S "$1/ws.sock" ]] && http_status_is 401 "$2/tasks" && http_status_is 401 "$2/ws/tasks"
}
wait_until 150 stack_answers "$run" "$base" || true

# Every line indented by two spaces below is a command to paste as it is (Tests/WebTests/test_first_run.py runs
# each one against this stack); keep it so.
query="api_key=$demo_key&workspace_id=demo"
json="-H 'Content-Type: application/json'"
slots="${TASKD_SLOTS:-6}"
cat <<INFO

taskd is running on $base (state: $TASKD_STATE_DIR). Ctrl-C stops it.
The demo key (tenant "$demo_tenant") is $demo_key

The dashboard, with the demo key and workspace in the URL fragment (which the browser keeps to itself):
  $base/#$query

The API, from another terminal (workspace "demo": watch the dashboard while you paste):
  curl -s '$base/tasks?$query'
  curl -s -X POST '$base/tasks?$query' $json -d '{"name":"Task name","type":"gx.tiny"}'
  curl -s -X POST '$base/tasks/flush?$query' -w '%{http_code}\n'
  curl -s '$base/openapi.yaml' | head -n 5

The stream: the list at once, then after every change (Debian's python3-websockets; websocat works too):
  /usr/bin/python3 -m websockets 'ws://127.0.0.1:$port/ws/tasks?$query'

Only a queued task can be deleted, one waiting for a slot (a workspace runs $slots at once): fill the slots of
workspace "busy" with long tasks, add one more, and delete it:
  for n in \$(seq $slots); do curl -s -o /dev/null -X POST '$base/tasks?api_key=$demo_key&workspace_id=busy' $json -d '{"name":"Long","type":"gx.heavy"}'; done
  id=\$(curl -s -X POST '$base/tasks?api_key=$demo_key&workspace_id=busy' $json -d '{"name":"Waiting","type":"gx.tiny"}' | jq .task.id); curl -s -X DELETE "$base/tasks/\$id?api_key=$demo_key&workspace_id=busy" -w '%{http_code}\n'

taskctl, the operator's tool, on this state directory (keys, workspaces, checks):
  export PATH="$bin:\$PATH" TASKD_STATE_DIR='$TASKD_STATE_DIR' TASKD_KEYS_FILE='$TASKD_KEYS_FILE'
  taskctl key list

Logs: nginx's access log is $run/logs/access.log; the servers log to this terminal.
INFO

# When any of the three exits on its own, stop the others too.
set +e
wait -n "${pids[@]}"
status=$?
echo "A taskd process exited (status $status); stopping the others." >&2
stop "${pids[@]}"
exit "$status"
