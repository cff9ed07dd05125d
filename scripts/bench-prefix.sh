# Sourced by the benchmark scripts: a temporary prefix with a free port on 127.0.0.1, every started process
# stopped (and the prefix removed, unless BENCH_KEEP=1) on exit, and the local nginx template rendered into
# "$prefix/nginx.conf". Expects $root and $python; sets $prefix, $port and $pids (append the pids you start).

bench_cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [[ "${BENCH_KEEP:-0}" == 1 ]] || rm -rf "$prefix"
}

bench_prepare_prefix() {
    prefix="$(mktemp -d "${TMPDIR:-/tmp}/$1-XXXXXX")"
    mkdir -p "$prefix/tmp" "$prefix/logs" "$prefix/state"
    port="$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    pids=()
    trap bench_cleanup EXIT
    local user_directive=""
    if [[ "$(id -u)" == 0 ]]; then user_directive="user root root;"; fi
    scripts/render-nginx.sh \
        "USER_DIRECTIVE=$user_directive" "WORKER_PROCESSES=auto" "PREFIX=$prefix" "ERROR_LOG=$prefix/logs/error.log" \
        "ACCESS_LOG=off" "FCGI_SOCKET=$prefix/fcgi.sock" "WS_UPSTREAM=unix:$prefix/ws.sock" "RATE_LIMIT=1000000r/s" \
        "RATE_BURST=1000000" "WS_CONNECTIONS_PER_ADDRESS=65535" "HTTP_PORT=$port" "OPENAPI_DIR=$root/openapi" \
        "WEB_DIR=$root/web" "LOCATIONS_FILE=$root/nginx/taskd-locations.conf" >"$prefix/nginx.conf"
}
