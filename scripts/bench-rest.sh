#!/usr/bin/env bash
# `make bench`: the REST benchmark of issue 3, through nginx with wrk (64 connections), beside two ceilings measured
# in the same run: nginx answering a static 200, and the machine's rate of durable snapshot replaces (1 KB temp
# file, fsync, rename, fsync the directory). Prints the figures, the ratios and whether each target is met.
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

scripts/install-deps.sh
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
export TASKD_FCGI_SOCKET="$prefix/fcgi.sock" TASKD_TIME_SCALE=1000 TASKD_MAX_TASKS=20000 TASKD_LOG_LEVEL=warning

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

cat >"$prefix/lua/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"name":"bench","type":"gx.tiny"}'
wrk.headers["Content-Type"] = "application/json"
LUA
# One workspace per connection (a realistic crowd of clients) or all connections on one workspace.
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

snapshot_ceiling() {
    "$python" - "$TASKD_STATE_DIR" "$duration" <<'PY'
import os, sys, time
directory, seconds = sys.argv[1], float(sys.argv[2])
target, temp = os.path.join(directory, "ceiling.json"), os.path.join(directory, "ceiling.json.tmp")
payload = b"x" * 1024
dirfd = os.open(directory, os.O_RDONLY)
count, end = 0, time.monotonic() + seconds
while time.monotonic() < end:
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, payload); os.fsync(fd); os.close(fd)
    os.rename(temp, target); os.fsync(dirfd)
    count += 1
os.close(dirfd); os.unlink(target)
print(f"{count / seconds:.0f}")
PY
}

load_before="$(cut -d' ' -f1 /proc/loadavg)"
wrk_args=(-t2 -c"$connections" -d"${duration}s")
echo "Measuring (each run ${duration} s, $connections connections)..." >&2
fcgi_bench_measure
if [[ "${BENCH_ONLY:-}" == fcgi ]]; then fcgi_bench_report; exit 0; fi
snapshot_rps="$(snapshot_ceiling)"
read -r spread_rps spread_p50 spread_p99 spread_non < <(run_wrk post-spread "${wrk_args[@]}" -s "$prefix/lua/post-spread.lua" "$base/tasks")
read -r one_rps one_p50 one_p99 one_non < <(run_wrk post-one "${wrk_args[@]}" -s "$prefix/lua/post.lua" "$base/tasks?api_key=$key&workspace_id=one")

# Latency of a create on a 10-task workspace vs one holding 10,000 tasks, one client at a time.
for _ in $(seq 10); do post small >/dev/null; done
SEED_COUNT=10000 wrk -t1 -c16 -d300s -s "$prefix/lua/seed.lua" "$base/tasks?api_key=$key&workspace_id=big" >/dev/null 2>&1
big_count="$(curl -s "$base/tasks?api_key=$key&workspace_id=big" | grep -o '"id"' | wc -l)"
read -r small_rps small_p50 small_p99 _ < <(run_wrk latency-small -t1 -c1 -d5s -s "$prefix/lua/post.lua" "$base/tasks?api_key=$key&workspace_id=small")
read -r big_rps big_p50 big_p99 _ < <(run_wrk latency-big -t1 -c1 -d5s -s "$prefix/lua/post.lua" "$base/tasks?api_key=$key&workspace_id=big")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == ">=") ? (v >= t) : (v <= t); print ok ? "met" : "MISSED" }'; }
get_ratio="$(ratio "$get_rps" "$static_rps")"
spread_ratio="$(ratio "$spread_rps" "$snapshot_rps")"
one_ratio="$(ratio "$one_rps" "$snapshot_rps")"
latency_ratio="$(ratio "$big_p50" "$small_p50")"
threads="${TASKD_FCGI_THREADS:-default}"
cat <<REPORT

REST benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), load average before the run: $load_before, $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -sr)
wrk ${duration} s per run, $connections connections, nginx worker_processes auto, taskd-fcgi threads: $threads

| measurement | requests/s | p50 ms | p99 ms | non-2xx |
| --- | ---: | ---: | ---: | ---: |
| ceiling: nginx static 200 | $static_rps | $static_p50 | $static_p99 | |
| ceiling: durable snapshot replaces (1 thread) | $snapshot_rps | | | |
| GET /tasks without a key (401: nginx + FastCGI round trip, no store) | $floor_rps | $floor_p50 | $floor_p99 | all |
| GET /tasks (10 tasks) | $get_rps | $get_p50 | $get_p99 | $get_non |
| POST /tasks, one workspace per connection | $spread_rps | $spread_p50 | $spread_p99 | $spread_non |
| POST /tasks, all connections on one workspace | $one_rps | $one_p50 | $one_p99 | $one_non |
| POST /tasks, 1 client, 10-task workspace | $small_rps | $small_p50 | $small_p99 | |
| POST /tasks, 1 client, $big_count-task workspace | $big_rps | $big_p50 | $big_p99 | |

| target | value | verdict |
| --- | ---: | --- |
| GET ≥ 0.15× static | ${get_ratio}× | $(verdict "$get_ratio" ">=" 0.15) |
| GET p99 < 15 ms | $get_p99 ms | $(verdict "$get_p99" "<=" 15) |
| POST ≥ 0.5× snapshot ceiling (one workspace per connection) | ${spread_ratio}× | $(verdict "$spread_ratio" ">=" 0.5) |
| POST ≥ 0.5× snapshot ceiling (one shared workspace) | ${one_ratio}× | $(verdict "$one_ratio" ">=" 0.5) |
| POST p50 on 10,000 tasks ≤ 3× on 10 tasks | ${latency_ratio}× | $(verdict "$latency_ratio" "<=" 3) |
REPORT
fcgi_bench_report
