# shellcheck shell=bash
# What `make run` (scripts/run.sh) and `make run-shards` (scripts/run-shards.sh) share before they start processes.
# Sourced; defines functions only.

# build_release SKIP_BUILD: the release build (`swift build -c release`), unless SKIP_BUILD is 1 (the entry points'
# TASKD_SKIP_BUILD).
build_release() {
    if [[ "$1" != 1 ]]; then swift build -c release; fi
}

# release_bin_dir: prints the directory of the release build's binaries.
release_bin_dir() {
    swift build -c release --show-bin-path
}

# check_port NAME VALUE: fails, saying so, unless VALUE (the setting NAME) is a port number.
check_port() {
    if ! [[ "$2" =~ ^[0-9]+$ ]] || (($2 < 1 || $2 > 65535)); then
        echo "$1 must be a port number, got '$2'" >&2
        return 2
    fi
}

# run_directory ROOT PORT: creates and prints the directory of one port's runtime files (nginx prefix, sockets, logs):
# ROOT/var/run-PORT, or under TMPDIR when that path is long, because a unix socket's path must stay under 108 bytes.
run_directory() {
    local run="$1/var/run-$2"
    if ((${#run} > 80)); then
        run="${TMPDIR:-/tmp}/taskd-run-$(id -u)-$2"
    fi
    mkdir -p "$run/tmp" "$run/logs"
    echo "$run"
}

# warn_open_files FILES MESSAGE: warns with MESSAGE when the hard open-files limit does not let a process raise its
# own to FILES (nginx raises its workers' limit itself, as far as the hard limit lets it).
warn_open_files() {
    if ! (ulimit -n "$1") 2>/dev/null; then
        echo "warning: the hard open-files limit is $(ulimit -Hn): $2" >&2
    fi
}
