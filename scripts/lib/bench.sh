# shellcheck shell=bash
# What the benchmark entry points share: wrk's figures, the CPU a responder spends, ratios and verdicts. A row of
# figures is one line, "requests/s p50_ms p99_ms non2xx [cpu_us]". Sourced; defines functions only.

# wrk_summary LOG WRK_ARGUMENTS...: runs `wrk --latency WRK_ARGUMENTS...`, keeps its output in LOG and prints
# "requests/s p50_ms p99_ms non2xx".
wrk_summary() {
    local log="$1" output
    shift
    output="$(wrk --latency "$@" 2>&1)"
    echo "$output" >"$log"
    echo "$output" | awk '
        function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = ms($2) }
        /^ +99%/ { p99 = ms($2) }
        /Non-2xx/ { non = $5 }
        END { printf "%.0f %.2f %.2f %d\n", rps, p50, p99, non }'
}

# responder_row PID LOG WRK_ARGUMENTS...: wrk_summary, plus the CPU the responder PID (and its children) used per
# request wrk counted, in µs: "requests/s p50_ms p99_ms non2xx cpu_us".
responder_row() {
    local pid="$1" log="$2" before after requests figures
    shift 2
    before="$(cpu_seconds "$pid")"
    figures="$(wrk_summary "$log" "$@")"
    after="$(cpu_seconds "$pid")"
    requests="$(awk '/requests in/ { print $1 }' "$log")"
    echo "$figures $(awk -v a="$before" -v b="$after" -v n="$requests" \
        'BEGIN { if (n > 0) printf "%.1f", (b - a) * 1e6 / n; else print "n/a" }')"
}

# cpu_seconds PID: the CPU seconds (user + system) the process and its children (PHP-FPM's workers) have used so far.
cpu_seconds() {
    local pid total=0 seconds children
    mapfile -t children < <(pgrep -P "$1" || true)
    for pid in "$1" "${children[@]}"; do
        seconds="$(awk -v ticks="$(getconf CLK_TCK)" '{ print ($14 + $15) / ticks }' "/proc/$pid/stat" 2>/dev/null ||
            echo 0)"
        total="$(awk -v a="$total" -v b="$seconds" 'BEGIN { print a + b }')"
    done
    echo "$total"
}

# best_row ROW ROW: the row with more requests/s (the second when the first is empty).
best_row() {
    if [[ -z "$1" ]]; then
        echo "$2"
        return
    fi
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); print (y[1] > x[1]) ? b : a }'
}

# ratio A B: A ÷ B to two decimals, or n/a when B is 0.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'
}

# verdict VALUE OP TARGET: "met" when VALUE OP TARGET holds (OP is >= or <=), else "MISSED".
verdict() {
    awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == ">=") ? (v >= t) : (v <= t); print ok ? "met" : "MISSED" }'
}

# post_task BASE KEY WORKSPACE: creates a long (gx.heavy) task in WORKSPACE; prints the status code.
post_task() {
    curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -d '{"name":"bench","type":"gx.heavy"}' "$1/tasks?api_key=$2&workspace_id=$3"
}
