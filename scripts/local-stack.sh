# Sourced by scripts/run-local.sh (make run) and scripts/run-shards.sh (make run-shards): the steps both take before
# they start processes. Expects $root, the repository, as the working directory.

# Installs what is missing, builds the release binaries (unless TASKD_SKIP_BUILD=1), and sets $bin (the binaries'
# directory, or TASKD_BIN_DIR) and $nginx_bin.
local_stack_prepare() {
    scripts/install-deps.sh
    if [[ "${TASKD_SKIP_BUILD:-0}" != 1 ]]; then
        swift build -c release
    fi
    bin="${TASKD_BIN_DIR:-$(swift build -c release --show-bin-path)}"
    nginx_bin="$(command -v nginx || true)"
    local candidate
    for candidate in /usr/sbin/nginx /usr/local/sbin/nginx; do
        [[ -z "$nginx_bin" && -x "$candidate" ]] && nginx_bin="$candidate"
    done
    [[ -n "$nginx_bin" ]] || { echo "nginx is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
}

# Sets $run, the directory of one port's runtime files (nginx prefix, sockets, logs), and creates it. A unix socket
# path must stay under 108 bytes, so a deep checkout keeps them under TMPDIR instead.
local_stack_run_directory() { # local_stack_run_directory PORT
    run="$root/var/run-$1"
    if ((${#run} > 80)); then
        run="${TMPDIR:-/tmp}/taskd-run-$(id -u)-$1"
    fi
    mkdir -p "$run/tmp" "$run/logs"
}

# Stops every process in $pids: TERM, up to TENTHS tenths of a second for them to drain and exit, then KILL; then
# says MESSAGE. Installed as the INT/TERM trap by both scripts.
local_stack_stop() { # local_stack_stop TENTHS MESSAGE
    trap - INT TERM
    local pid alive
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq "$1"); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    echo "$2" >&2
}
