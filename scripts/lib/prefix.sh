# shellcheck shell=bash
# A private runtime prefix for the entry points that start their own stack on a free port (make bench, make bench-ws,
# make sanitize): directories, a free port, the local nginx template rendered without its per-address limits.
# Sourced; defines functions only.

# make_prefix NAME: creates and prints a new temporary directory NAME-XXXXXX with tmp/, logs/ and state/ in it.
make_prefix() {
    local prefix
    prefix="$(mktemp -d "${TMPDIR:-/tmp}/$1-XXXXXX")"
    mkdir -p "$prefix/tmp" "$prefix/logs" "$prefix/state"
    echo "$prefix"
}

# remove_prefix PREFIX KEEP: removes PREFIX unless KEEP is 1 (the entry points' BENCH_KEEP).
remove_prefix() {
    if [[ "$2" != 1 ]]; then rm -rf "$1"; fi
}

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    "$(system_python)" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# system_python: prints Debian's python3 (/usr/bin/python3, which another Python earlier on PATH must not replace),
# else the python3 on PATH.
system_python() {
    command -v /usr/bin/python3 || command -v python3
}

# unlimited_nginx_conf ROOT PREFIX PORT: prints nginx/local.conf.template rendered for a benchmark: listening on
# 127.0.0.1:PORT, every file under PREFIX (its error log PREFIX/logs/error.log, taskd-fcgi at PREFIX/fcgi.sock,
# taskd-ws at PREFIX/ws.sock), no access log, and the per-address limits lifted (the load comes from one address).
unlimited_nginx_conf() { # needs nginx_user_directive (scripts/lib/nginx.sh)
    local root="$1" prefix="$2" port="$3"
    "$root/scripts/tools/render-nginx.sh" \
        "USER_DIRECTIVE=$(nginx_user_directive)" "WORKER_PROCESSES=auto" "PREFIX=$prefix" \
        "ERROR_LOG=$prefix/logs/error.log" "ACCESS_LOG=off" "FCGI_SOCKET=$prefix/fcgi.sock" \
        "WS_UPSTREAM=unix:$prefix/ws.sock" "RATE_LIMIT=1000000r/s" "RATE_BURST=1000000" \
        "WS_CONNECTIONS_PER_ADDRESS=65535" "HTTP_PORT=$port" "OPENAPI_DIR=$root/openapi" "WEB_DIR=$root/web" \
        "LOCATIONS_FILE=$root/nginx/taskd-locations.conf"
}
