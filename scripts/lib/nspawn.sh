# shellcheck shell=bash
# A Debian container booted with systemd (systemd-nspawn -b), for `make deploy-check` (scripts/deploy-check.sh) and
# `make deploy-check-clone` (scripts/deploy-check-clone.sh): waiting for it to boot, running commands in it, and the
# checks' report lines. Sourced; defines functions only.

# container_init NSPAWN_PID TRIES: waits until the container that the systemd-nspawn process NSPAWN_PID boots has
# finished booting (its systemd is that process's child; `systemctl is-system-running --wait` returns), trying TRIES
# times, 0.2 s apart, and prints its systemd's pid. Fails when no systemd started.
container_init() {
    local nspawn="$1" tries="$2" init="" try
    for ((try = 0; try < tries; try++)); do
        init="$(pgrep -P "$nspawn" -x systemd || true)"
        if [[ -n "$init" ]] && nsenter -t "$init" -a systemctl is-system-running --wait >/dev/null 2>&1; then break; fi
        sleep 0.2
    done
    [[ -n "$init" ]] || return 1
    echo "$init"
}

# in_container INIT SCRIPT: runs the shell SCRIPT (sh -e) in all the namespaces of the container whose systemd is INIT.
in_container() {
    nsenter -t "$1" -a /bin/sh -ec "$2"
}

# in_network INIT COMMAND...: runs a host COMMAND (curl, python3) in the container's network namespace only: its
# loopback, its nginx.
in_network() {
    local init="$1"
    shift
    nsenter -t "$init" -n "$@"
}

# check NAME CONDITION: evaluates the shell CONDITION (the caller's code, written in single quotes so that it is
# evaluated now) and prints "ok   NAME" or "FAIL NAME"; returns 1 when it failed.
check() {
    if eval "$2"; then
        echo "ok   $1"
    else
        echo "FAIL $1"
        return 1
    fi
}
