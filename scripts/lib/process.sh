# shellcheck shell=bash
# Processes the entry points start: the one way they are stopped, and the one way to wait for something to become
# true. Sourced; defines functions only.

# stop_processes TENTHS PID...: stops background processes of this shell as the tests do: SIGTERM to each, up to
# TENTHS tenths of a second for all of them to exit by themselves (a server drains first), then SIGKILL to those left,
# and reaps them all. Returns 0 when each exited with status 0, else the first other status (137 for one that had to be
# killed).
stop_processes() {
    local tenths="$1" pid status result=0 waited
    shift
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for ((waited = 0; waited < tenths; waited++)); do
        any_alive "$@" || break
        sleep 0.1
    done
    for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        status=0
        wait "$pid" 2>/dev/null || status=$?
        if ((result == 0)); then result=$status; fi
    done
    return "$result"
}

# any_alive PID...: whether any of the processes still runs.
any_alive() {
    local pid
    for pid in "$@"; do
        if kill -0 "$pid" 2>/dev/null; then return 0; fi
    done
    return 1
}

# wait_until TENTHS COMMAND...: runs COMMAND every tenth of a second until it succeeds (returns 0) or TENTHS tenths of a
# second have passed (returns 1).
wait_until() {
    local tenths="$1" waited
    shift
    for ((waited = 0; waited < tenths; waited++)); do
        if "$@"; then return 0; fi
        sleep 0.1
    done
    "$@"
}
