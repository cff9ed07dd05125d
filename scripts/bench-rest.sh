#!/usr/bin/env bash
# `make bench`: the REST benchmark, through nginx with wrk (64 connections), beside ceilings measured in the same run:
# nginx answering a static 200, and (for the store's rows, in their own block below) the disk's append+fdatasync
# ceiling. Prints the figures, the ratios and whether each target is met.
#
# Environment: BENCH_DURATION (seconds per wrk run, default 10), BENCH_CONNECTIONS (default 64),
# TASKD_FCGI_THREADS (responder threads, default the responder's), TASKD_SKIP_BUILD=1 to use existing binaries,
# BENCH_KEEP=1 to keep the temporary prefix, BENCH_ROUNDS and BENCH_ONLY=fcgi (only the FastCGI front-door rows of
# scripts/bench-fcgi.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
duration="${BENCH_DURATION:-10}"
connections="${BENCH_CONNECTIONS:-64}"

scripts/install-deps.sh bench
if [[ "${TASKD_SKIP_BUILD:-0}" != 1 ]]; then
    swift build -c release
fi
bin="$(swift build -c release --show-bin-path)"
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
python="$(command -v /usr/bin/python3 || command -v python3)"

source scripts/bench-prefix.sh
source scripts/bench-fcgi.sh
bench_prepare_prefix taskd-bench
fcgi_bench_add_locations
mkdir -p "$prefix/lua"
export TASKD_STATE_DIR="$prefix/state" TASKD_KEYS_FILE="$prefix/state/keys.json"
export TASKD_FCGI_SOCKET="$prefix/fcgi.sock" TASKD_TIME_SCALE=1000 TASKD_MAX_TASKS=200000 TASKD_LOG_LEVEL=warning

key="$("$bin/taskctl" key add bench 2>/dev/null | tail -n 1 || true)"
if [[ -z "$key" ]]; then
    echo "(taskctl could not issue a key: benchmarking in open mode)" >&2
    export TASKD_OPEN_MODE=true
    key="bench-open-mode-key"
fi

"$bin/taskd-fcgi" 2>"$prefix/logs/taskd-fcgi.log" &
pids+=($!)
taskd_pid=$!
"$nginx_bin" -p "$prefix/" -c "$prefix/nginx.conf" &
pids+=($!)
base="http://127.0.0.1:$port"
for _ in $(seq 100); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/tasks")" == 401 ]] && break
    sleep 0.1
done
[[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/tasks?api_key=$key")" == 200 ]] || {
    echo "taskd did not come up:" >&2; cat "$prefix/logs/"*.log >&2; exit 1; }

post() { # post WORKSPACE
    curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -d '{"name":"bench","type":"gx.heavy"}' "$base/tasks?api_key=$key&workspace_id=$1"
}
for _ in $(seq 10); do post ten >/dev/null; done
fcgi_bench_start_peers

# wrk's summary as "requests/s p50_ms p99_ms non2xx".
run_wrk() { # run_wrk LABEL ARGS...
    local label="$1"; shift
    local output
    output="$(wrk --latency "$@" 2>&1)"
    echo "$output" >"$prefix/logs/wrk-$label.txt"
    echo "$output" | awk '
        function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = ms($2) }
        /^ +99%/ { p99 = ms($2) }
        /Non-2xx/ { non = $5 }
        END { printf "%.0f %.2f %.2f %d\n", rps, p50, p99, non }'
}

# ---- The store's rows (journal and group commit; fairness between tenants) ------------------------------------
# Kept in their own functions: store_measure runs the wrk runs and sets store_* variables, store_report prints the
# rows beside the append+fdatasync ceiling measured in the same run, with their targets.

# The disk's append+fdatasync ceiling: one thread, 100-byte appends, fdatasync after each (taskd-store-probe).
store_ceiling() {
    "$bin/taskd-store-probe" ceiling "$TASKD_STATE_DIR" "$duration"
}

store_write_scripts() {
    cat >"$prefix/lua/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"name":"bench","type":"gx.tiny"}'
wrk.headers["Content-Type"] = "application/json"
LUA
    # The same, from clients that honour Retry-After: every 503 makes a request wait that long. wrk's hooks cannot
    # tell a thread's connections apart, so the wait falls on the next request the thread sends (on whichever of its
    # connections), but there is one wait per refusal: a single pending pause would lose the refusals that arrive
    # before the next request is sent.
    cat >"$prefix/lua/post-polite.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"name":"bench","type":"gx.tiny"}'
wrk.headers["Content-Type"] = "application/json"
local pauses = {}
response = function(status, headers, body)
    if status == 503 then table.insert(pauses, (tonumber(headers["Retry-After"]) or 1) * 1000) end
end
delay = function()
    return table.remove(pauses, 1) or 0
end
LUA
    # One workspace per connection (a realistic crowd of clients), or all connections on one workspace.
    cat >"$prefix/lua/post-spread.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"name":"bench","type":"gx.tiny"}'
wrk.headers["Content-Type"] = "application/json"
local counter = 0
request = function()
    counter = counter + 1
    return wrk.format(nil, "/tasks?api_key=$key&workspace_id=spread-" .. (counter % $connections))
end
LUA
    cat >"$prefix/lua/seed.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"name":"seed","type":"gx.heavy"}'
wrk.headers["Content-Type"] = "application/json"
local created = 0
response = function(status)
    if status == 201 then created = created + 1 end
    if created >= tonumber(os.getenv("SEED_COUNT")) then wrk.thread:stop() end
end
LUA
}

store_measure() {
    store_write_scripts
    store_ceiling_rps="$(store_ceiling)"
    read -r store_spread_rps store_spread_p50 store_spread_p99 store_spread_non < <(run_wrk post-spread \
        "${wrk_args[@]}" -s "$prefix/lua/post-spread.lua" "$base/tasks")
    read -r store_one_rps store_one_p50 store_one_p99 store_one_non < <(run_wrk post-one \
        "${wrk_args[@]}" -s "$prefix/lua/post-polite.lua" "$base/tasks?api_key=$key&workspace_id=one")
    read -r store_eager_rps store_eager_p50 store_eager_p99 store_eager_non < <(run_wrk post-one-eager \
        "${wrk_args[@]}" -s "$prefix/lua/post.lua" "$base/tasks?api_key=$key&workspace_id=eager")
    # The peer an operator might run instead: PHP-FPM (4 children) keeping one workspace's JSON document under flock,
    # with the same durability (fsync, rename, directory fsync), when php-fpm is installed.
    store_php_rps="" store_php_p50="" store_php_p99="" store_php_non=""
    if [[ -n "${fcgi_bench_php_pid:-}" ]]; then
        read -r store_php_rps store_php_p50 store_php_p99 store_php_non < <(run_wrk php-create \
            "${wrk_args[@]}" -s "$prefix/lua/post.lua" "$base/_peer/php-create")
    fi
    # wrk counts every answer; only the 201s are creates (the rest are 503s of the writer cap or lock deadline).
    store_spread_creates="$(awk -v r="$store_spread_rps" -v n="$store_spread_non" -v d="$duration" \
        'BEGIN { printf "%.0f", r - n / d }')"
    store_one_creates="$(awk -v r="$store_one_rps" -v n="$store_one_non" -v d="$duration" \
        'BEGIN { printf "%.0f", r - n / d }')"
    store_eager_creates="$(awk -v r="$store_eager_rps" -v n="$store_eager_non" -v d="$duration" \
        'BEGIN { printf "%.0f", r - n / d }')"

    # Latency of a create on a 10-task workspace vs one holding 10,000 tasks, one client at a time.
    for _ in $(seq 10); do post small >/dev/null; done
    SEED_COUNT=10000 wrk -t1 -c16 -d300s -s "$prefix/lua/seed.lua" "$base/tasks?api_key=$key&workspace_id=big" \
        >/dev/null 2>&1
    store_big_count="$(curl -s "$base/tasks?api_key=$key&workspace_id=big" | grep -o '"id"' | wc -l)"
    read -r _ store_small_p50 store_small_p99 _ < <(run_wrk latency-small -t1 -c1 -d5s -s "$prefix/lua/post.lua" \
        "$base/tasks?api_key=$key&workspace_id=small")
    read -r _ store_big_p50 store_big_p99 _ < <(run_wrk latency-big -t1 -c1 -d5s -s "$prefix/lua/post.lua" \
        "$base/tasks?api_key=$key&workspace_id=big")
    read -r store_biget_rps store_biget_p50 store_biget_p99 _ < <(run_wrk get-big -t2 -c16 -d5s \
        "$base/tasks?api_key=$key&workspace_id=big")

    # Fairness: another tenant's GET p99 (4 connections, a 10-task workspace), idle, then while this tenant runs 64
    # concurrent creates on one workspace: from clients that honour Retry-After (the verdict), and from clients that
    # retry at once (every refusal is another request, so the burst is mostly refusals and costs CPU, not workers).
    local other
    other="$("$bin/taskctl" key add other 2>/dev/null | tail -n 1 || true)"
    [[ -n "$other" ]] || other="bench-other-open-mode-key"
    for _ in $(seq 10); do
        curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"name":"b","type":"gx.heavy"}' \
            "$base/tasks?api_key=$other&workspace_id=calm"
    done
    read -r _ _ store_idle_p99 _ < <(run_wrk fair-idle -t1 -c4 -d"${duration}s" \
        "$base/tasks?api_key=$other&workspace_id=calm")
    store_burst polite post-polite.lua
    store_burst eager post.lua
}

# store_burst NAME SCRIPT: the other tenant's GET p99 while 64 connections create in one workspace with SCRIPT; sets
# store_busy_p99_NAME, store_burst_rps_NAME and store_burst_non_NAME.
store_burst() {
    local name="$1" script="$2" burst p99
    wrk -t2 -c64 -d"$((duration + 2))s" -s "$prefix/lua/$script" \
        "$base/tasks?api_key=$key&workspace_id=burst-$name" >"$prefix/logs/wrk-fair-burst-$name.txt" 2>&1 &
    burst=$!
    sleep 1
    read -r _ _ p99 _ < <(run_wrk "fair-busy-$name" -t1 -c4 -d"${duration}s" \
        "$base/tasks?api_key=$other&workspace_id=calm")
    wait "$burst" || true
    printf -v "store_busy_p99_$name" '%s' "$p99"
    printf -v "store_burst_non_$name" '%s' "$(awk '/Non-2xx/ { print $5 }' "$prefix/logs/wrk-fair-burst-$name.txt")"
    printf -v "store_burst_rps_$name" '%s' \
        "$(awk '/Requests\/sec/ { printf "%.0f", $2 }' "$prefix/logs/wrk-fair-burst-$name.txt")"
}

store_report() {
    local one_ratio spread_ratio latency_ratio fair_ratio
    one_ratio="$(ratio "$store_one_creates" "$store_ceiling_rps")"
    spread_ratio="$(ratio "$store_spread_creates" "$store_ceiling_rps")"
    latency_ratio="$(ratio "$store_big_p50" "$store_small_p50")"
    fair_ratio="$(ratio "$store_busy_p99_polite" "$store_idle_p99")"
    local eager_ratio
    eager_ratio="$(ratio "$store_busy_p99_eager" "$store_idle_p99")"
    local php_row="| peer: PHP-FPM, 4 children, one workspace's JSON document under flock (php-fpm not installed) | | | | | |"
    local php_target=""
    if [[ -n "$store_php_rps" ]]; then
        php_row="| peer: PHP-FPM, 4 children, one workspace's JSON document under flock, $connections connections | $store_php_rps | $store_php_rps | $store_php_p50 | $store_php_p99 | ${store_php_non:-0} |"
        php_target="| creates, one workspace (clients honouring Retry-After) ÷ PHP-FPM peer | $(ratio "$store_one_creates" "$store_php_rps")× | $(verdict "$(ratio "$store_one_creates" "$store_php_rps")" ">=" 1) |"
    fi
    cat <<REPORT

Store (journal + group commit), same run:

| measurement | requests/s | creates/s | p50 ms | p99 ms | non-2xx |
| --- | ---: | ---: | ---: | ---: | ---: |
| ceiling: append+fdatasync (1 thread, 100-byte appends) | | $store_ceiling_rps | | | |
$php_row
| POST /tasks, $connections connections on one workspace, clients honouring Retry-After | $store_one_rps | $store_one_creates | $store_one_p50 | $store_one_p99 | ${store_one_non:-0} |
| POST /tasks, $connections connections on one workspace, clients retrying at once | $store_eager_rps | $store_eager_creates | $store_eager_p50 | $store_eager_p99 | ${store_eager_non:-0} |
| POST /tasks, $connections connections over $connections workspaces | $store_spread_rps | $store_spread_creates | $store_spread_p50 | $store_spread_p99 | ${store_spread_non:-0} |
| POST /tasks, 1 client, 10-task workspace | | | $store_small_p50 | $store_small_p99 | |
| POST /tasks, 1 client, $store_big_count-task workspace | | | $store_big_p50 | $store_big_p99 | |
| GET /tasks, $store_big_count-task workspace, unchanged (16 connections) | $store_biget_rps | | $store_biget_p50 | $store_biget_p99 | |
| other tenant's GET, idle server (4 connections) | | | | $store_idle_p99 | |
| other tenant's GET while $connections connections create in one workspace, honouring Retry-After | | | | $store_busy_p99_polite | |
| (that burst: $store_burst_rps_polite answers/s, of which non-2xx in $((duration + 2)) s) | | | | | ${store_burst_non_polite:-0} |
| other tenant's GET while $connections connections create in one workspace, retrying at once | | | | $store_busy_p99_eager | |
| (that burst: $store_burst_rps_eager answers/s, of which non-2xx in $((duration + 2)) s) | | | | | ${store_burst_non_eager:-0} |

| target | value | verdict |
| --- | ---: | --- |
| POST p50 on 10,000 tasks ≤ 1.5× on 10 tasks | ${latency_ratio}× | $(verdict "$latency_ratio" "<=" 1.5) |
| creates, one workspace (clients honouring Retry-After) ≥ 0.35× append+fdatasync ceiling | ${one_ratio}× | $(verdict "$one_ratio" ">=" 0.35) |
| creates, $connections workspaces ≥ 0.5× append+fdatasync ceiling | ${spread_ratio}× | $(verdict "$spread_ratio" ">=" 0.5) |
| other tenant's GET p99 during a burst (clients honouring Retry-After) ≤ 3× idle | ${fair_ratio}× | $(verdict "$fair_ratio" "<=" 3) |
| (the same, clients retrying at once: for information) | ${eager_ratio}× | |
$php_target
REPORT
}

load_before="$(cut -d' ' -f1 /proc/loadavg)"
wrk_args=(-t2 -c"$connections" -d"${duration}s")
echo "Measuring (each run ${duration} s, $connections connections)..." >&2
fcgi_bench_measure
if [[ "${BENCH_ONLY:-}" == fcgi ]]; then fcgi_bench_report; exit 0; fi
store_measure
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == ">=") ? (v >= t) : (v <= t); print ok ? "met" : "MISSED" }'; }
get_ratio="$(ratio "$get_rps" "$static_rps")"
threads="${TASKD_FCGI_THREADS:-default}"
cat <<REPORT

REST benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), load average before the run: $load_before, $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -sr)
wrk ${duration} s per run, $connections connections, nginx worker_processes auto, taskd-fcgi threads: $threads

| measurement | requests/s | p50 ms | p99 ms | non-2xx |
| --- | ---: | ---: | ---: | ---: |
| ceiling: nginx static 200 | $static_rps | $static_p50 | $static_p99 | |
| GET /tasks without a key (401: nginx + FastCGI round trip, no store) | $floor_rps | $floor_p50 | $floor_p99 | all |
| GET /tasks (10 tasks) | $get_rps | $get_p50 | $get_p99 | $get_non |

| target | value | verdict |
| --- | ---: | --- |
| GET ≥ 0.15× static | ${get_ratio}× | $(verdict "$get_ratio" ">=" 0.15) |
| GET p99 < 15 ms | $get_p99 ms | $(verdict "$get_p99" "<=" 15) |
REPORT
fcgi_bench_report
store_report
