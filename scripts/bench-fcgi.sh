# Sourced by scripts/bench-rest.sh: the FastCGI front-door block of `make bench`. It measures, through the same nginx
# and in the same run, nginx's static answer, the FastCGI ceiling (bench/fcgi-ceiling.c: a minimal C libfcgi
# responder with as many threads as taskd-fcgi, answering a fixed body as long as the 10-task GET's), optionally
# PHP-FPM (4 children reading a flock'd JSON file, when php-fpm is installed), taskd's GET /tasks on 10 tasks and its
# no-key 401, with the CPU each responder spends per request, and prints them with the targets and verdicts.
#
# Call fcgi_bench_add_locations before nginx starts, fcgi_bench_start_peers once taskd answers, then
# fcgi_bench_measure and fcgi_bench_report. Expects $root, $bin, $prefix, $pids, $base, $key, $duration,
# $connections, $taskd_pid and run_wrk from the caller. BENCH_ROUNDS (default 1) repeats the four FastCGI rows, interleaved,
# and keeps each row's best round, so that a burst of machine load in one run does not decide a verdict.

fcgi_bench_threads="${TASKD_FCGI_THREADS:-16}"

# The ceiling's location (and PHP-FPM's) in the benchmark's nginx, with exactly the FastCGI parameters of taskd's.
fcgi_bench_add_locations() {
    local params
    params="$(grep -E '^\s*fastcgi_param ' "$root/nginx/taskd-locations.conf")"
    cat >"$prefix/bench-locations.conf" <<CONF
location = /_ceiling/fcgi {
    fastcgi_pass unix:$prefix/ceiling.sock;
    fastcgi_keep_conn off;
    fastcgi_intercept_errors off;
    fastcgi_read_timeout 30s;
$params
}
location = /_peer/php {
    fastcgi_pass unix:$prefix/php-fpm.sock;
    fastcgi_keep_conn off;
    fastcgi_intercept_errors off;
    fastcgi_read_timeout 30s;
$params
    fastcgi_param SCRIPT_FILENAME $prefix/php/tasks.php;
}
location = /_peer/php-create {
    fastcgi_pass unix:$prefix/php-fpm.sock;
    fastcgi_keep_conn off;
    fastcgi_intercept_errors off;
    fastcgi_read_timeout 30s;
$params
    fastcgi_param SCRIPT_FILENAME $prefix/php/create.php;
}
CONF
    sed -i "s|^\(\s*\)include $root/nginx/taskd-locations.conf;|\1include $prefix/bench-locations.conf;\n&|" \
        "$prefix/nginx.conf"
    grep -q "bench-locations.conf" "$prefix/nginx.conf" || { echo "cannot add the ceiling location" >&2; exit 1; }
}

# Builds and starts the C responder with a body as long as taskd's 10-task answer, and PHP-FPM when installed.
fcgi_bench_start_peers() {
    fcgi_bench_body_bytes="$(curl -s "$base/tasks?api_key=$key&workspace_id=ten" | wc -c)"
    cc -O2 -o "$prefix/fcgi-ceiling" "$root/bench/fcgi-ceiling.c" -lfcgi -pthread
    "$prefix/fcgi-ceiling" "$prefix/ceiling.sock" "$fcgi_bench_threads" "$fcgi_bench_body_bytes" \
        >/dev/null 2>"$prefix/logs/fcgi-ceiling.log" &
    fcgi_bench_ceiling_pid=$!
    pids+=("$fcgi_bench_ceiling_pid")
    fcgi_bench_php_pid=""
    local php_fpm
    php_fpm="$(command -v php-fpm8.2 || command -v php-fpm || true)"
    if [[ -n "$php_fpm" ]]; then
        mkdir -p "$prefix/php"
        curl -s "$base/tasks?api_key=$key&workspace_id=ten" >"$prefix/php/tasks.json"
        cat >"$prefix/php/tasks.php" <<'PHP'
<?php
// The peer a PHP shop would write: read the workspace's JSON file under a shared flock and send it.
$file = fopen(__DIR__ . '/tasks.json', 'r');
flock($file, LOCK_SH);
$body = stream_get_contents($file);
flock($file, LOCK_UN);
fclose($file);
header('Content-Type: application/json; charset=utf-8');
header('Access-Control-Allow-Origin: *');
echo $body;
PHP
        mkdir -p "$prefix/php/store"
        cat >"$prefix/php/create.php" <<'PHP'
<?php
// The durable create a PHP shop would write: the workspace's whole JSON document under an exclusive flock, decoded,
// appended to, written to a temporary file, fsynced, renamed over the old one, and the directory fsynced.
$dir = __DIR__ . '/store';
$lock = fopen("$dir/one.lock", 'c');
flock($lock, LOCK_EX);
$path = "$dir/one.json";
$document = is_file($path) ? json_decode(file_get_contents($path), true) : ['next_id' => 1, 'tasks' => []];
$input = json_decode(file_get_contents('php://input'), true);
$task = ['id' => $document['next_id'], 'name' => $input['name'], 'type' => $input['type'], 'status' => 'queued',
    'created_at' => (int) (microtime(true) * 1000)];
$document['next_id'] += 1;
$document['tasks'][] = $task;
$temporary = fopen("$path.tmp", 'w');
fwrite($temporary, json_encode($document));
fflush($temporary);
fsync($temporary);
fclose($temporary);
rename("$path.tmp", $path);
$directory = fopen($dir, 'r');
fsync($directory);
fclose($directory);
flock($lock, LOCK_UN);
http_response_code(201);
header('Content-Type: application/json; charset=utf-8');
echo json_encode(['task' => $task]);
PHP
        cat >"$prefix/php/php-fpm.conf" <<CONF
[global]
error_log = $prefix/logs/php-fpm.log
daemonize = no
[bench]
listen = $prefix/php-fpm.sock
pm = static
pm.max_children = 4
CONF
        "$php_fpm" -y "$prefix/php/php-fpm.conf" -d opcache.enable=1 -R >/dev/null 2>>"$prefix/logs/php-fpm.log" &
        fcgi_bench_php_pid=$!
        pids+=("$fcgi_bench_php_pid")
    fi
    local path
    for path in /_ceiling/fcgi ${fcgi_bench_php_pid:+/_peer/php}; do
        for _ in $(seq 100); do
            [[ "$(curl -s -o /dev/null -w '%{http_code}' "$base$path")" == 200 ]] && break
            sleep 0.1
        done
    done
}

fcgi_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
fcgi_verdict() {
    awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == ">=") ? (v >= t) : (v <= t); print ok ? "met" : "MISSED" }'
}

# CPU seconds (user + system) a process and its children (PHP-FPM's workers) have used so far.
fcgi_bench_cpu_seconds() {
    local pid total=0 seconds
    for pid in "$1" $(pgrep -P "$1" || true); do
        seconds="$(awk -v ticks="$(getconf CLK_TCK)" '{ print ($14 + $15) / ticks }' "/proc/$pid/stat" 2>/dev/null || echo 0)"
        total="$(awk -v a="$total" -v b="$seconds" 'BEGIN { print a + b }')"
    done
    echo "$total"
}

# run_wrk plus the CPU the responder behind it used per answered request: "requests/s p50 p99 non2xx cpu_us".
fcgi_bench_row() { # fcgi_bench_row LABEL PID PATH
    local label="$1" pid="$2" path="$3" before after requests figures
    before="$(fcgi_bench_cpu_seconds "$pid")"
    figures="$(run_wrk "$label" -t2 -c"$connections" -d"${duration}s" "$base$path")"
    after="$(fcgi_bench_cpu_seconds "$pid")"
    requests="$(awk '/requests in/ { print $1 }' "$prefix/logs/wrk-$label.txt")"
    echo "$figures $(awk -v a="$before" -v b="$after" -v n="$requests" 'BEGIN { if (n > 0) printf "%.1f", (b - a) * 1e6 / n; else print "n/a" }')"
}

# Keeps the better of two rows "rps p50 p99 non2xx cpu" (more requests/s wins).
fcgi_bench_best() {
    if [[ -z "$1" ]]; then echo "$2"; return; fi
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); print (y[1] > x[1]) ? b : a }'
}

fcgi_bench_measure() {
    local rounds="${BENCH_ROUNDS:-1}" round
    fcgi_static="" fcgi_ceiling="" fcgi_php="" fcgi_floor="" fcgi_get=""
    for round in $(seq "$rounds"); do
        fcgi_static="$(fcgi_bench_best "$fcgi_static" "$(run_wrk "static-$round" -t2 -c"$connections" -d"${duration}s" "$base/_static") n/a")"
        fcgi_ceiling="$(fcgi_bench_best "$fcgi_ceiling" "$(fcgi_bench_row "ceiling-$round" "$fcgi_bench_ceiling_pid" "/_ceiling/fcgi?api_key=$key&workspace_id=ten")")"
        if [[ -n "$fcgi_bench_php_pid" ]]; then
            fcgi_php="$(fcgi_bench_best "$fcgi_php" "$(fcgi_bench_row "php-$round" "$fcgi_bench_php_pid" "/_peer/php?api_key=$key&workspace_id=ten")")"
        fi
        fcgi_floor="$(fcgi_bench_best "$fcgi_floor" "$(fcgi_bench_row "floor-$round" "$taskd_pid" "/tasks")")"
        fcgi_get="$(fcgi_bench_best "$fcgi_get" "$(fcgi_bench_row "get-$round" "$taskd_pid" "/tasks?api_key=$key&workspace_id=ten")")"
    done
    # The figures the rest of bench-rest.sh prints.
    read -r static_rps static_p50 static_p99 _ _ <<<"$fcgi_static"
    read -r floor_rps floor_p50 floor_p99 _ _ <<<"$fcgi_floor"
    read -r get_rps get_p50 get_p99 get_non _ <<<"$fcgi_get"
}

fcgi_bench_report() {
    local ceiling_rps ceiling_p50 ceiling_p99 ceiling_cpu php_rps php_p50 php_p99 php_cpu floor_cpu get_cpu
    read -r ceiling_rps ceiling_p50 ceiling_p99 _ ceiling_cpu <<<"$fcgi_ceiling"
    read -r _ _ _ _ floor_cpu <<<"$fcgi_floor"
    read -r _ _ _ _ get_cpu <<<"$fcgi_get"
    local php_row="| PHP-FPM, 4 children, flock'd JSON file (php-fpm not installed) | | | | | | |"
    if [[ -n "$fcgi_php" ]]; then
        read -r php_rps php_p50 php_p99 _ php_cpu <<<"$fcgi_php"
        php_row="| PHP-FPM, 4 children, flock'd JSON file | $php_rps | $php_p50 | $php_p99 | $(fcgi_ratio "$php_rps" "$ceiling_rps")× | $php_cpu | |"
    fi
    local get_ratio floor_ratio
    get_ratio="$(fcgi_ratio "$get_rps" "$ceiling_rps")"
    floor_ratio="$(fcgi_ratio "$floor_rps" "$ceiling_rps")"
    cat <<REPORT

FastCGI front door: $fcgi_bench_threads threads for taskd-fcgi and the C responder, body $fcgi_bench_body_bytes bytes, best of ${BENCH_ROUNDS:-1} round(s), load average now $(cut -d' ' -f1 /proc/loadavg)

| measurement | requests/s | p50 ms | p99 ms | ÷ C responder | responder CPU µs/request | non-2xx |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
| nginx static 200 | $static_rps | $static_p50 | $static_p99 | $(fcgi_ratio "$static_rps" "$ceiling_rps")× | | |
| ceiling: C libfcgi responder, fixed body | $ceiling_rps | $ceiling_p50 | $ceiling_p99 | 1× | $ceiling_cpu | |
$php_row
| taskd GET /tasks (10 tasks) | $get_rps | $get_p50 | $get_p99 | ${get_ratio}× | $get_cpu | $get_non |
| taskd GET /tasks without a key (401) | $floor_rps | $floor_p50 | $floor_p99 | ${floor_ratio}× | $floor_cpu | all |

| target | value | verdict |
| --- | ---: | --- |
| GET ≥ 0.8× C responder | ${get_ratio}× | $(fcgi_verdict "$get_ratio" ">=" 0.8) |
| GET p99 ≤ 10 ms | $get_p99 ms | $(fcgi_verdict "$get_p99" "<=" 10) |
| 401 ≥ 0.9× C responder | ${floor_ratio}× | $(fcgi_verdict "$floor_ratio" ">=" 0.9) |
REPORT
}
