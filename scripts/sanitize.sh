#!/usr/bin/env bash
# `make sanitize`: the memory-safety checks of the store's read cache, group commit and the servers' threads.
#
#  1. The store, API and responder unit tests under ThreadSanitizer, then under AddressSanitizer, each build in its
#     own scratch directory (.build-tsan, .build-asan), so they never disturb the normal build.
#  2. GET and POST load through nginx against taskd-fcgi running with glibc's malloc checking (libc_malloc_debug,
#     glibc.malloc.check=3, perturbed fresh and freed memory), then SIGTERM: the responder must exit 0 and its log must
#     hold no heap report.
#
# Environment: SANITIZE_ONLY=thread|address|malloc runs one part; SANITIZE_LOAD_SECONDS (default 10) per load run;
# BENCH_KEEP=1 keeps the load run's temporary prefix.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source scripts/lib/process.sh
source scripts/lib/http.sh
source scripts/lib/nginx.sh
source scripts/lib/prefix.sh
only="${SANITIZE_ONLY:-}"
seconds="${SANITIZE_LOAD_SECONDS:-10}"
keep="${BENCH_KEEP:-0}"
suites='TaskStoreTests|TaskAPITests|TaskdFastCGITests'
started=$SECONDS

scripts/install-deps.sh

for sanitizer in thread address; do
    [[ -z "$only" || "$only" == "$sanitizer" ]] || continue
    scratch=".build-${sanitizer/thread/tsan}"
    scratch="${scratch/address/asan}"
    echo "== $sanitizer sanitizer: building in $scratch" >&2
    swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch"
    echo "== $sanitizer sanitizer: $suites" >&2
    # TSan: halt on the first report, so a race fails the run. ASan halts by default.
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ASAN_OPTIONS="detect_leaks=0" \
        swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" --filter "$suites"
done

if [[ -z "$only" || "$only" == malloc ]]; then
    echo "== GET/POST load with glibc malloc checking" >&2
    swift build --product taskd-fcgi
    swift build --product taskctl
    bin="$(swift build --show-bin-path)"
    nginx_bin="$(find_nginx)"
    debug_library="$(find /lib/ /usr/lib/ -maxdepth 2 -name libc_malloc_debug.so.0 -print -quit 2>/dev/null)"
    [[ -n "$debug_library" ]] || { echo "libc_malloc_debug.so.0 not found (glibc >= 2.34 ships it)" >&2; exit 1; }
    prefix="$(make_prefix taskd-sanitize)"
    port="$(free_port)"
    unlimited_nginx_conf "$root" "$prefix" "$port" >"$prefix/nginx.conf"
    pids=()
    trap 'stop_processes 50 "${pids[@]}" || true; remove_prefix "$prefix" "$keep"' EXIT
    export TASKD_STATE_DIR="$prefix/state" TASKD_KEYS_FILE="$prefix/state/keys.json"
    export TASKD_FCGI_SOCKET="$prefix/fcgi.sock" TASKD_TIME_SCALE=1000 TASKD_LOG_LEVEL=warning
    key="$("$bin/taskctl" key add sanitize | tail -n 1)"
    LD_PRELOAD="$debug_library" GLIBC_TUNABLES="glibc.malloc.check=3:glibc.malloc.perturb=165" \
        "$bin/taskd-fcgi" 2>"$prefix/logs/taskd-fcgi.log" &
    fcgi=$!
    pids+=("$fcgi")
    "$nginx_bin" -p "$prefix/" -c "$prefix/nginx.conf" &
    pids+=("$!")
    base="http://127.0.0.1:$port"
    wait_until 100 http_status_is 200 "$base/tasks?api_key=$key" || true
    cat >"$prefix/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"name":"sanitize","type":"gx.tiny"}'
wrk.headers["Content-Type"] = "application/json"
LUA
    # Creates on a few workspaces (so batches form and the cache is refreshed under reads), reads of the same.
    writers=()
    for workspace in one two; do
        wrk -t2 -c16 -d"${seconds}s" -s "$prefix/post.lua" "$base/tasks?api_key=$key&workspace_id=$workspace" \
            >"$prefix/logs/wrk-post-$workspace.txt" &
        writers+=("$!")
    done
    wrk -t2 -c32 -d"${seconds}s" "$base/tasks?api_key=$key&workspace_id=one" >"$prefix/logs/wrk-get.txt"
    wait "${writers[@]}" || true
    # The responder must drain and exit 0 on SIGTERM by itself (within 10 s; killed, it would exit 137).
    status=0
    stop_processes 100 "$fcgi" || status=$?
    grep -h "Requests/sec" "$prefix/logs/"wrk-*.txt >&2 || true
    if [[ "$status" != 0 ]] || grep -qiE "malloc|free\\(\\)|corrupt|double free" "$prefix/logs/taskd-fcgi.log"; then
        echo "taskd-fcgi under malloc checking: exit status $status" >&2
        cat "$prefix/logs/taskd-fcgi.log" >&2
        exit 1
    fi
    echo "taskd-fcgi under malloc checking: clean, exit status 0" >&2
fi
echo "make sanitize took $((SECONDS - started)) s" >&2
