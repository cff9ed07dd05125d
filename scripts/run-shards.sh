#!/usr/bin/env bash
# `make run-shards`: TASKD_SHARDS (default 2) complete taskd stacks, each started by scripts/run.sh with its own
# port, state directory and shard number, behind a front nginx (nginx/front.conf.template) on
# 127.0.0.1:$TASKD_HTTP_PORT that sends every key to its shard. Ctrl-C or SIGTERM stops everything.
#
# Shard N listens on TASKD_HTTP_PORT + N and keeps its state in $TASKD_STATE_DIR/shard-N (default
# var/state-$TASKD_HTTP_PORT/shard-N); the front's routes file (moved tenants' keys) is $TASKD_STATE_DIR/front.
# TASKD_SKIP_BUILD=1 and TASKD_BIN_DIR work as for make run; TASKD_RATE_LIMIT, TASKD_RATE_BURST and
# TASKD_WS_CONNECTIONS_PER_ADDRESS set the front's per-address limits (the shards behind it see only the front's
# address, so theirs are lifted).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source scripts/lib/process.sh
source scripts/lib/nginx.sh
source scripts/lib/stack.sh

port="${TASKD_HTTP_PORT:-8080}"
shards="${TASKD_SHARDS:-2}"
check_port TASKD_HTTP_PORT "$port"
if ! [[ "$shards" =~ ^[0-9]+$ ]] || ((shards < 1 || shards > 64 || port + shards > 65535)); then
    echo "TASKD_SHARDS must be a number of shards from 1 to 64 (ports $port+1... must exist), got '$shards'" >&2
    exit 2
fi
state="${TASKD_STATE_DIR:-$root/var/state-$port}"

scripts/install-deps.sh
build_release "${TASKD_SKIP_BUILD:-0}"
bin="${TASKD_BIN_DIR:-$(release_bin_dir)}"
nginx_bin="$(find_nginx)"

# The front's runtime files, as make run keeps them.
run="$(run_directory "$root" "$port")"
mkdir -p "$state/front"
chmod 700 "$state"
routes="$state/front/routes.map"
[[ -e "$routes" ]] || printf '# Moved keys: <key id> <shard>; (taskctl tenant route writes these lines).\n' >"$routes"

pids=()
# Each stack's run.sh stops its own servers on TERM; all get 10 s. nginx stops at once.
stop() {
    trap - INT TERM
    stop_processes 100 "$@" || true
    echo "taskd shards stopped." >&2
}
trap 'stop "${pids[@]}"; exit 0' INT TERM

# The stacks. Each prints its own commands into its log; the front's are printed below.
for shard in $(seq "$shards"); do
    env -u TASKD_KEYS_FILE TASKD_HTTP_PORT=$((port + shard)) TASKD_STATE_DIR="$state/shard-$shard" \
        TASKD_SHARD="$shard" TASKD_DEMO_TENANT="demo-$shard" TASKD_SKIP_BUILD=1 TASKD_BIN_DIR="$bin" \
        TASKD_RATE_LIMIT=1000000r/s TASKD_RATE_BURST=1000000 TASKD_WS_CONNECTIONS_PER_ADDRESS=65535 \
        scripts/run.sh >"$run/logs/shard-$shard.log" 2>&1 &
    pids+=("$!")
done

# A stack is up when run.sh has printed its commands (its servers answer through its nginx); it failed if it exited.
# shellcheck disable=SC2317 # called through wait_until
shard_settled() { # shard_settled LOG PID
    grep -q '^Logs: ' "$1" 2>/dev/null || ! any_alive "$2"
}
for shard in $(seq "$shards"); do
    log="$run/logs/shard-$shard.log"
    wait_until 1200 shard_settled "$log" "${pids[$((shard - 1))]}" || true
    if grep -q '^Logs: ' "$log" 2>/dev/null; then continue; fi
    if any_alive "${pids[$((shard - 1))]}"; then
        echo "Shard $shard did not start within 2 minutes ($log)." >&2
    else
        echo "Shard $shard did not start; its output ($log):" >&2
        tail -n 30 "$log" >&2
    fi
    stop "${pids[@]}"
    exit 1
done

{
    for shard in $(seq "$shards"); do
        printf 'upstream taskd_shard_%d {\n    server 127.0.0.1:%d;\n    keepalive 16;\n}\n' "$shard" $((port + shard))
    done
    # shellcheck disable=SC2016 # nginx's variables
    printf 'map $taskd_shard $taskd_upstream {\n    default taskd_shard_1;\n'
    for shard in $(seq "$shards"); do printf '    %d taskd_shard_%d;\n' "$shard" "$shard"; done
    printf '}\n'
} >"$run/shards.conf"

scripts/tools/render-nginx.sh --template nginx/front.conf.template \
    "USER_DIRECTIVE=$(nginx_user_directive)" "WORKER_PROCESSES=auto" "PREFIX=$run" "PID_FILE=$run/nginx.pid" \
    "ERROR_LOG=stderr" "ACCESS_LOG=$run/logs/access.log taskd_front" "LISTEN=127.0.0.1:$port" "SERVER_NAME=localhost" \
    "SERVER_DIRECTIVES=" \
    "RATE_LIMIT=${TASKD_RATE_LIMIT:-1000r/s}" "RATE_BURST=${TASKD_RATE_BURST:-2000}" \
    "WS_CONNECTIONS_PER_ADDRESS=${TASKD_WS_CONNECTIONS_PER_ADDRESS:-10000}" "DEFAULT_SHARD=1" \
    "ROUTES_FILE=$routes" "SHARDS_FILE=$run/shards.conf" >"$run/nginx.conf"
"$nginx_bin" -t -q -p "$run/" -c "$run/nginx.conf" -g 'daemon off;'
warn_open_files 24576 "the front's workers proxy at most about $(($(ulimit -Hn) / 2)) WebSocket clients each (see \
make run's warning)."
"$nginx_bin" -p "$run/" -c "$run/nginx.conf" -g 'daemon off;' &
pids+=("$!")

base="http://127.0.0.1:$port"
keys=()
for shard in $(seq "$shards"); do
    keys+=("$(<"$state/shard-$shard/demo-key")")
done
# Ready when the front sends each demo key to its own shard.
# shellcheck disable=SC2317 # called through wait_until
shards_routed() { # shards_routed BASE KEY...: whether the front sends the Nth key to shard N
    local base="$1" shard=0 key answer
    shift
    for key in "$@"; do
        shard=$((shard + 1))
        answer="$(curl -s -o /dev/null -D - "$base/tasks?api_key=$key" || true)"
        [[ "$answer" == "HTTP/1.1 200"* && "$answer" == *"X-Taskd-Shard: $shard"$'\r'* ]] || return 1
    done
}
wait_until 150 shards_routed "$base" "${keys[@]}" || true

# Every line indented by two spaces below is a command to paste as it is.
cat <<INFO

taskd is running on $base: a front nginx that sends each key to its shard, and $shards complete stacks behind it
(shard N on port $((port + 1))..., state in $state/shard-N). Ctrl-C stops them all.

INFO
for shard in $(seq "$shards"); do
    echo "Demo key (shard $shard, tenant \"demo-$shard\"): ${keys[$((shard - 1))]}"
done
cat <<INFO

Each key reaches its own shard through the front; the X-Taskd-Shard header says which:
  curl -s -D - -o /dev/null '$base/tasks?api_key=${keys[0]}&workspace_id=demo' | grep -i '^x-taskd-shard'
  curl -s -X POST '$base/tasks?api_key=${keys[$((shards - 1))]}&workspace_id=demo' -H 'Content-Type: application/json' -d '{"name":"Task name","type":"gx.tiny"}'
  /usr/bin/python3 -m websockets 'ws://127.0.0.1:$port/ws/tasks?api_key=${keys[$((shards - 1))]}&workspace_id=demo'

taskctl on shard 1 (issue keys there with: taskctl key add TENANT; each shard writes its number into its keys):
  export PATH="$bin:\$PATH" TASKD_STATE_DIR='$state/shard-1' TASKD_KEYS_FILE='$state/shard-1/keys.json' TASKD_SHARD=1

Moving a tenant between shards (docs/scaling.md): the front's routes file is $routes;
after editing it: $nginx_bin -p $run/ -c $run/nginx.conf -s reload
Logs: the front's access log is $run/logs/access.log; shard N's output is $run/logs/shard-N.log.
INFO

# When a stack or the front exits on its own, stop everything.
set +e
wait -n "${pids[@]}"
status=$?
echo "A stack or the front exited (status $status); stopping the others." >&2
stop "${pids[@]}"
exit "$status"
