#!/usr/bin/env bash
# `make bench`: the REST benchmark, through nginx with wrk (64 connections), beside ceilings measured in the same run:
# nginx answering a static 200, and (for the store's rows, in their own block below) the disk's append+fdatasync
# ceiling. Prints the figures, the ratios and whether each target is met.
#
# Environment: BENCH_DURATION (seconds per wrk run, default 10), BENCH_CONNECTIONS (default 64),
# TASKD_FCGI_THREADS (responder threads, default the responder's), TASKD_SKIP_BUILD=1 to use existing binaries,
# BENCH_KEEP=1 to keep the temporary prefix, BENCH_ROUNDS (default 1: the FastCGI rows are repeated, interleaved, and
# each keeps its best round, so that a burst of machine load in one run does not decide a verdict) and BENCH_ONLY=fcgi
# (only the FastCGI front-door rows of scripts/lib/bench-fcgi.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source scripts/lib/process.sh
source scripts/lib/http.sh
source scripts/lib/nginx.sh
source scripts/lib/stack.sh
source scripts/lib/prefix.sh
source scripts/lib/bench.sh
source scripts/lib/bench-fcgi.sh
source scripts/lib/bench-store.sh
duration="${BENCH_DURATION:-10}"
connections="${BENCH_CONNECTIONS:-64}"
rounds="${BENCH_ROUNDS:-1}"
keep="${BENCH_KEEP:-0}"
# The C responder gets as many threads as taskd-fcgi (whose default is 16).
ceiling_threads="${TASKD_FCGI_THREADS:-16}"

scripts/install-deps.sh bench
build_release "${TASKD_SKIP_BUILD:-0}"
bin="$(release_bin_dir)"
nginx_bin="$(find_nginx)"

prefix="$(make_prefix taskd-bench)"
port="$(free_port)"
pids=()
trap 'stop_processes 50 "${pids[@]}" || true; remove_prefix "$prefix" "$keep"' EXIT
unlimited_nginx_conf "$root" "$prefix" "$port" >"$prefix/nginx.conf"
fcgi_bench_locations "$root" "$prefix"
export TASKD_STATE_DIR="$prefix/state" TASKD_KEYS_FILE="$prefix/state/keys.json"
export TASKD_FCGI_SOCKET="$prefix/fcgi.sock" TASKD_TIME_SCALE=1000 TASKD_MAX_TASKS=200000 TASKD_LOG_LEVEL=warning

key="$("$bin/taskctl" key add bench 2>/dev/null | tail -n 1 || true)"
if [[ -z "$key" ]]; then
    echo "(taskctl could not issue a key: benchmarking in open mode)" >&2
    export TASKD_OPEN_MODE=true
    key="bench-open-mode-key"
fi

"$bin/taskd-fcgi" 2>"$prefix/logs/taskd-fcgi.log" &
taskd_pid=$!
pids+=("$taskd_pid")
"$nginx_bin" -p "$prefix/" -c "$prefix/nginx.conf" &
pids+=("$!")
base="http://127.0.0.1:$port"
wait_until 100 http_status_is 401 "$base/tasks" || true
http_status_is 200 "$base/tasks?api_key=$key" || {
    echo "taskd did not come up:" >&2
    cat "$prefix/logs/"*.log >&2
    exit 1
}

for _ in $(seq 10); do post_task "$base" "$key" ten >/dev/null; done
# The FastCGI peers: the C responder, with a body as long as taskd's 10-task answer, and PHP-FPM when installed.
ten="$base/tasks?api_key=$key&workspace_id=ten"
body_bytes="$(curl -s "$ten" | wc -c)"
start_fcgi_ceiling "$root" "$prefix" "$ceiling_threads" "$body_bytes"
ceiling_pid=$!
pids+=("$ceiling_pid")
php_pid=""
if php_fpm="$(find_php_fpm)"; then
    php_peer_files "$prefix"
    curl -s "$ten" >"$prefix/php/tasks.json"
    start_php_fpm "$php_fpm" "$prefix"
    php_pid=$!
    pids+=("$php_pid")
fi
for path in /_ceiling/fcgi ${php_pid:+/_peer/php}; do
    wait_until 100 http_status_is 200 "$base$path" || true
done

load_before="$(cut -d' ' -f1 /proc/loadavg)"
echo "Measuring (each run ${duration} s, $connections connections)..." >&2
wrk_args=(-t2 -c"$connections" -d"${duration}s")
logs="$prefix/logs"
static="" ceiling="" php="" floor="" get=""
for round in $(seq "$rounds"); do
    static="$(best_row "$static" "$(wrk_summary "$logs/wrk-static-$round.txt" "${wrk_args[@]}" "$base/_static") n/a")"
    ceiling="$(best_row "$ceiling" "$(responder_row "$ceiling_pid" "$logs/wrk-ceiling-$round.txt" "${wrk_args[@]}" \
        "$base/_ceiling/fcgi?api_key=$key&workspace_id=ten")")"
    if [[ -n "$php_pid" ]]; then
        php="$(best_row "$php" "$(responder_row "$php_pid" "$logs/wrk-php-$round.txt" "${wrk_args[@]}" \
            "$base/_peer/php?api_key=$key&workspace_id=ten")")"
    fi
    floor="$(best_row "$floor" "$(responder_row "$taskd_pid" "$logs/wrk-floor-$round.txt" "${wrk_args[@]}" \
        "$base/tasks")")"
    get="$(best_row "$get" "$(responder_row "$taskd_pid" "$logs/wrk-get-$round.txt" "${wrk_args[@]}" "$ten")")"
done
if [[ "${BENCH_ONLY:-}" == fcgi ]]; then
    fcgi_bench_report "$ceiling_threads" "$body_bytes" "$rounds" "$static" "$ceiling" "$php" "$floor" "$get"
    exit 0
fi

other="$("$bin/taskctl" key add other 2>/dev/null | tail -n 1 || true)"
[[ -n "$other" ]] || other="bench-other-open-mode-key"
store_bench_measure "$bin" "$prefix" "$base" "$key" "$other" "$connections" "$duration" "${php_pid:+1}" \
    >"$prefix/store-figures.txt"

read -r static_rps static_p50 static_p99 _ _ <<<"$static"
read -r floor_rps floor_p50 floor_p99 _ _ <<<"$floor"
read -r get_rps get_p50 get_p99 get_non _ <<<"$get"
get_ratio="$(ratio "$get_rps" "$static_rps")"
cat <<REPORT

REST benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), load average before the run: $load_before, $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -sr)
wrk ${duration} s per run, $connections connections, nginx worker_processes auto, taskd-fcgi threads: ${TASKD_FCGI_THREADS:-default}

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
fcgi_bench_report "$ceiling_threads" "$body_bytes" "$rounds" "$static" "$ceiling" "$php" "$floor" "$get"
store_bench_report "$prefix/store-figures.txt" "$connections" "$duration"
