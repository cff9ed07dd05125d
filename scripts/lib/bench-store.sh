# shellcheck shell=bash
# The store's block of `make bench` (scripts/bench.sh): the journal and group commit (creates through nginx, one
# workspace or many; latency on a small and a 10,000-task workspace) and fairness between tenants (another tenant's
# GET during a burst of creates), beside the disk's append+fdatasync ceiling measured in the same run, and the PHP-FPM
# peer's durable create when it runs; then the table with the targets and verdicts. Sourced; defines functions only
# (the rows' figures come from scripts/lib/bench.sh).
#
# store_bench_measure prints the figures as lines "NAME FIGURES..."; store_bench_report reads them from a file.

# store_bench_scripts LUA_DIR KEY CONNECTIONS: the wrk scripts of the block, in LUA_DIR.
store_bench_scripts() {
    local lua="$1" key="$2" connections="$3"
    mkdir -p "$lua"
    cat >"$lua/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"name":"bench","type":"gx.tiny"}'
wrk.headers["Content-Type"] = "application/json"
LUA
    # The same, from clients that honour Retry-After: every 503 makes a request wait that long. wrk's hooks cannot
    # tell a thread's connections apart, so the wait falls on the next request the thread sends (on whichever of its
    # connections), but there is one wait per refusal: a single pending pause would lose the refusals that arrive
    # before the next request is sent.
    cat >"$lua/post-polite.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"name":"bench","type":"gx.tiny"}'
wrk.headers["Content-Type"] = "application/json"
local pauses = {}
response = function(status, headers, body)
    if status == 503 then table.insert(pauses, (tonumber(headers["Retry-After"]) or 1) * 1000) end
end
delay = function()
    return table.remove(pauses, 1) or 0
end
LUA
    # One workspace per connection (a realistic crowd of clients), or all connections on one workspace.
    cat >"$lua/post-spread.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"name":"bench","type":"gx.tiny"}'
wrk.headers["Content-Type"] = "application/json"
local counter = 0
request = function()
    counter = counter + 1
    return wrk.format(nil, "/tasks?api_key=$key&workspace_id=spread-" .. (counter % $connections))
end
LUA
    cat >"$lua/seed.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"name":"seed","type":"gx.heavy"}'
wrk.headers["Content-Type"] = "application/json"
local created = 0
response = function(status)
    if status == 201 then created = created + 1 end
    if created >= tonumber(os.getenv("SEED_COUNT")) then wrk.thread:stop() end
end
LUA
}

# store_bench_measure BIN PREFIX BASE KEY OTHER_KEY CONNECTIONS DURATION PHP: runs the block's measurements against the
# stack at BASE (taskd-store-probe from BIN, state in PREFIX/state, logs in PREFIX/logs) with KEY, and OTHER_KEY as the
# other tenant's; PHP is 1 when the PHP-FPM peer runs. Prints one line per row: "NAME FIGURES...".
store_bench_measure() {
    local bin="$1" prefix="$2" base="$3" key="$4" other="$5" connections="$6" duration="$7" php="$8"
    local lua="$prefix/lua" logs="$prefix/logs"
    local wrk_args=(-t2 -c"$connections" -d"${duration}s")
    store_bench_scripts "$lua" "$key" "$connections"
    # The disk's append+fdatasync ceiling: one thread, 100-byte appends, fdatasync after each (taskd-store-probe).
    echo "ceiling $("$bin/taskd-store-probe" ceiling "$prefix/state" "$duration")"
    echo "spread $(wrk_summary "$logs/wrk-post-spread.txt" "${wrk_args[@]}" -s "$lua/post-spread.lua" "$base/tasks")"
    echo "one $(wrk_summary "$logs/wrk-post-one.txt" "${wrk_args[@]}" -s "$lua/post-polite.lua" \
        "$base/tasks?api_key=$key&workspace_id=one")"
    echo "eager $(wrk_summary "$logs/wrk-post-one-eager.txt" "${wrk_args[@]}" -s "$lua/post.lua" \
        "$base/tasks?api_key=$key&workspace_id=eager")"
    # The peer an operator might run instead: PHP-FPM (4 children) keeping one workspace's JSON document under flock,
    # with the same durability (fsync, rename, directory fsync).
    if [[ "$php" == 1 ]]; then
        echo "php $(wrk_summary "$logs/wrk-php-create.txt" "${wrk_args[@]}" -s "$lua/post.lua" \
            "$base/_peer/php-create")"
    fi

    # Latency of a create on a 10-task workspace vs one holding 10,000 tasks, one client at a time.
    for _ in $(seq 10); do post_task "$base" "$key" small >/dev/null; done
    SEED_COUNT=10000 wrk -t1 -c16 -d300s -s "$lua/seed.lua" "$base/tasks?api_key=$key&workspace_id=big" >/dev/null 2>&1
    echo "big_count $(curl -s "$base/tasks?api_key=$key&workspace_id=big" | grep -o '"id"' | wc -l)"
    echo "small $(wrk_summary "$logs/wrk-latency-small.txt" -t1 -c1 -d5s -s "$lua/post.lua" \
        "$base/tasks?api_key=$key&workspace_id=small")"
    echo "big $(wrk_summary "$logs/wrk-latency-big.txt" -t1 -c1 -d5s -s "$lua/post.lua" \
        "$base/tasks?api_key=$key&workspace_id=big")"
    echo "biget $(wrk_summary "$logs/wrk-get-big.txt" -t2 -c16 -d5s "$base/tasks?api_key=$key&workspace_id=big")"

    # Fairness: another tenant's GET p99 (4 connections, a 10-task workspace), idle, then while this tenant runs 64
    # concurrent creates on one workspace: from clients that honour Retry-After (the verdict), and from clients that
    # retry at once (every refusal is another request, so the burst is mostly refusals and costs CPU, not workers).
    for _ in $(seq 10); do
        curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"name":"b","type":"gx.heavy"}' \
            "$base/tasks?api_key=$other&workspace_id=calm"
    done
    echo "idle $(wrk_summary "$logs/wrk-fair-idle.txt" -t1 -c4 -d"${duration}s" \
        "$base/tasks?api_key=$other&workspace_id=calm")"
    store_bench_burst "$lua/post-polite.lua" "$logs" polite "$base" "$key" "$other" "$duration"
    store_bench_burst "$lua/post.lua" "$logs" eager "$base" "$key" "$other" "$duration"
}

# store_bench_burst SCRIPT LOGS NAME BASE KEY OTHER_KEY DURATION: the other tenant's GET while 64 connections create in
# one workspace with the wrk script SCRIPT. Prints "busy_NAME ROW" and "burst_NAME REQUESTS/S NON2XX".
store_bench_burst() {
    local script="$1" logs="$2" name="$3" base="$4" key="$5" other="$6" duration="$7" burst row
    local burst_log="$logs/wrk-fair-burst-$name.txt"
    wrk -t2 -c64 -d"$((duration + 2))s" -s "$script" "$base/tasks?api_key=$key&workspace_id=burst-$name" \
        >"$burst_log" 2>&1 &
    burst=$!
    sleep 1 # the burst is under way before the measured GETs start
    row="$(wrk_summary "$logs/wrk-fair-busy-$name.txt" -t1 -c4 -d"${duration}s" \
        "$base/tasks?api_key=$other&workspace_id=calm")"
    wait "$burst" || true
    echo "busy_$name $row"
    echo "burst_$name $(awk '/Requests\/sec/ { printf "%.0f", $2 }' "$burst_log") $(awk '/Non-2xx/ { print $5 }' "$burst_log")"
}

# creates_per_second ROW DURATION: wrk counts every answer; only the 201s are creates (the rest are 503s of the writer
# cap or lock deadline): requests/s less the non-2xx answers per second.
creates_per_second() {
    local rps non
    read -r rps _ _ non _ <<<"$1"
    awk -v r="$rps" -v n="$non" -v d="$2" 'BEGIN { printf "%.0f", r - n / d }'
}

# store_bench_report FIGURES CONNECTIONS DURATION: the block's table and verdicts from the lines store_bench_measure
# printed into the file FIGURES.
store_bench_report() {
    local figures="$1" connections="$2" duration="$3" name rest
    local -A row=()
    while read -r name rest; do row[$name]="$rest"; done <"$figures"
    local store_ceiling_rps="${row[ceiling]}" store_big_count="${row[big_count]}"
    local store_spread_rps store_spread_p50 store_spread_p99 store_spread_non store_one_rps store_one_p50 store_one_p99
    local store_one_non store_eager_rps store_eager_p50 store_eager_p99 store_eager_non store_small_p50 store_small_p99
    local store_big_p50 store_big_p99 store_biget_rps store_biget_p50 store_biget_p99 store_idle_p99
    local store_busy_p99_polite store_busy_p99_eager store_burst_rps_polite store_burst_non_polite
    local store_burst_rps_eager store_burst_non_eager
    read -r store_spread_rps store_spread_p50 store_spread_p99 store_spread_non <<<"${row[spread]}"
    read -r store_one_rps store_one_p50 store_one_p99 store_one_non <<<"${row[one]}"
    read -r store_eager_rps store_eager_p50 store_eager_p99 store_eager_non <<<"${row[eager]}"
    read -r _ store_small_p50 store_small_p99 _ <<<"${row[small]}"
    read -r _ store_big_p50 store_big_p99 _ <<<"${row[big]}"
    read -r store_biget_rps store_biget_p50 store_biget_p99 _ <<<"${row[biget]}"
    read -r _ _ store_idle_p99 _ <<<"${row[idle]}"
    read -r _ _ store_busy_p99_polite _ <<<"${row[busy_polite]}"
    read -r _ _ store_busy_p99_eager _ <<<"${row[busy_eager]}"
    read -r store_burst_rps_polite store_burst_non_polite <<<"${row[burst_polite]}"
    read -r store_burst_rps_eager store_burst_non_eager <<<"${row[burst_eager]}"
    local store_spread_creates store_one_creates store_eager_creates
    store_spread_creates="$(creates_per_second "${row[spread]}" "$duration")"
    store_one_creates="$(creates_per_second "${row[one]}" "$duration")"
    store_eager_creates="$(creates_per_second "${row[eager]}" "$duration")"

    local one_ratio spread_ratio latency_ratio fair_ratio eager_ratio
    one_ratio="$(ratio "$store_one_creates" "$store_ceiling_rps")"
    spread_ratio="$(ratio "$store_spread_creates" "$store_ceiling_rps")"
    latency_ratio="$(ratio "$store_big_p50" "$store_small_p50")"
    fair_ratio="$(ratio "$store_busy_p99_polite" "$store_idle_p99")"
    eager_ratio="$(ratio "$store_busy_p99_eager" "$store_idle_p99")"
    local php_row="| peer: PHP-FPM, 4 children, one workspace's JSON document under flock (php-fpm not installed) | | | | | |"
    local php_target="" store_php_rps store_php_p50 store_php_p99 store_php_non
    if [[ -n "${row[php]:-}" ]]; then
        read -r store_php_rps store_php_p50 store_php_p99 store_php_non <<<"${row[php]}"
        php_row="| peer: PHP-FPM, 4 children, one workspace's JSON document under flock, $connections connections | $store_php_rps | $store_php_rps | $store_php_p50 | $store_php_p99 | ${store_php_non:-0} |"
        php_target="| creates, one workspace (clients honouring Retry-After) ÷ PHP-FPM peer | $(ratio "$store_one_creates" "$store_php_rps")× | $(verdict "$(ratio "$store_one_creates" "$store_php_rps")" ">=" 1) |"
    fi
    cat <<REPORT

Store (journal + group commit), same run:

| measurement | requests/s | creates/s | p50 ms | p99 ms | non-2xx |
| --- | ---: | ---: | ---: | ---: | ---: |
| ceiling: append+fdatasync (1 thread, 100-byte appends) | | $store_ceiling_rps | | | |
$php_row
| POST /tasks, $connections connections on one workspace, clients honouring Retry-After | $store_one_rps | $store_one_creates | $store_one_p50 | $store_one_p99 | ${store_one_non:-0} |
| POST /tasks, $connections connections on one workspace, clients retrying at once | $store_eager_rps | $store_eager_creates | $store_eager_p50 | $store_eager_p99 | ${store_eager_non:-0} |
| POST /tasks, $connections connections over $connections workspaces | $store_spread_rps | $store_spread_creates | $store_spread_p50 | $store_spread_p99 | ${store_spread_non:-0} |
| POST /tasks, 1 client, 10-task workspace | | | $store_small_p50 | $store_small_p99 | |
| POST /tasks, 1 client, $store_big_count-task workspace | | | $store_big_p50 | $store_big_p99 | |
| GET /tasks, $store_big_count-task workspace, unchanged (16 connections) | $store_biget_rps | | $store_biget_p50 | $store_biget_p99 | |
| other tenant's GET, idle server (4 connections) | | | | $store_idle_p99 | |
| other tenant's GET while $connections connections create in one workspace, honouring Retry-After | | | | $store_busy_p99_polite | |
| (that burst: $store_burst_rps_polite answers/s, of which non-2xx in $((duration + 2)) s) | | | | | ${store_burst_non_polite:-0} |
| other tenant's GET while $connections connections create in one workspace, retrying at once | | | | $store_busy_p99_eager | |
| (that burst: $store_burst_rps_eager answers/s, of which non-2xx in $((duration + 2)) s) | | | | | ${store_burst_non_eager:-0} |

| target | value | verdict |
| --- | ---: | --- |
| POST p50 on 10,000 tasks ≤ 1.5× on 10 tasks | ${latency_ratio}× | $(verdict "$latency_ratio" "<=" 1.5) |
| creates, one workspace (clients honouring Retry-After) ≥ 0.35× append+fdatasync ceiling | ${one_ratio}× | $(verdict "$one_ratio" ">=" 0.35) |
| creates, $connections workspaces ≥ 0.5× append+fdatasync ceiling | ${spread_ratio}× | $(verdict "$spread_ratio" ">=" 0.5) |
| other tenant's GET p99 during a burst (clients honouring Retry-After) ≤ 3× idle | ${fair_ratio}× | $(verdict "$fair_ratio" "<=" 3) |
| (the same, clients retrying at once: for information) | ${eager_ratio}× | |
$php_target
REPORT
}
