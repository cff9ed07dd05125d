# shellcheck shell=bash
# The FastCGI front-door block of `make bench` (scripts/bench.sh): through the same nginx and in the same run, nginx's
# static answer, the FastCGI ceiling (bench/fcgi-ceiling.c: a minimal C libfcgi responder with as many threads as
# taskd-fcgi, answering a fixed body as long as the 10-task GET's), optionally PHP-FPM (4 children reading a flock'd
# JSON file, when php-fpm is installed), taskd's GET /tasks on 10 tasks and its no-key 401, with the CPU each
# responder spends per request; then the table with the targets and verdicts. Sourced; defines functions only (the
# rows' figures come from scripts/lib/bench.sh).
#
# Before nginx starts: fcgi_bench_locations. Once taskd answers: start_fcgi_ceiling, and with php-fpm php_peer_files
# and start_php_fpm. After the measurements: fcgi_bench_report.

# fcgi_bench_locations ROOT PREFIX: the ceiling's location (and PHP-FPM's), with exactly the FastCGI parameters of
# taskd's, in PREFIX/bench-locations.conf, included by PREFIX/nginx.conf beside taskd's locations.
fcgi_bench_locations() {
    local root="$1" prefix="$2" params
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
    grep -q "bench-locations.conf" "$prefix/nginx.conf" || { echo "cannot add the ceiling location" >&2; return 1; }
}

# start_fcgi_ceiling ROOT PREFIX THREADS BODY_BYTES: builds the C responder and starts it in the background on
# PREFIX/ceiling.sock with THREADS threads, answering BODY_BYTES bytes ($! is its pid).
start_fcgi_ceiling() {
    local root="$1" prefix="$2" threads="$3" body_bytes="$4"
    cc -O2 -o "$prefix/fcgi-ceiling" "$root/bench/fcgi-ceiling.c" -lfcgi -pthread
    "$prefix/fcgi-ceiling" "$prefix/ceiling.sock" "$threads" "$body_bytes" >/dev/null 2>"$prefix/logs/fcgi-ceiling.log" &
}

# find_php_fpm: prints the php-fpm binary, or fails when none is installed.
find_php_fpm() {
    command -v php-fpm8.2 || command -v php-fpm
}

# php_peer_files PREFIX: the PHP peer's scripts and pool under PREFIX/php. It serves PREFIX/php/tasks.json, which the
# caller writes.
php_peer_files() {
    local prefix="$1"
    mkdir -p "$prefix/php/store"
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
}

# start_php_fpm PHP_FPM PREFIX: starts PHP-FPM with the pool of php_peer_files in the background ($! is its pid).
start_php_fpm() {
    local php_fpm="$1" prefix="$2"
    "$php_fpm" -y "$prefix/php/php-fpm.conf" -d opcache.enable=1 -R >/dev/null 2>>"$prefix/logs/php-fpm.log" &
}

# fcgi_bench_report THREADS BODY_BYTES ROUNDS STATIC CEILING PHP FLOOR GET: the block's table and verdicts from its
# rows (PHP empty when php-fpm is not installed).
fcgi_bench_report() {
    local threads="$1" body_bytes="$2" rounds="$3" static="$4" ceiling="$5" php="$6" floor="$7" get="$8"
    local static_rps static_p50 static_p99 ceiling_rps ceiling_p50 ceiling_p99 ceiling_cpu php_rps php_p50 php_p99
    local php_cpu floor_rps floor_p50 floor_p99 floor_cpu get_rps get_p50 get_p99 get_non get_cpu
    read -r static_rps static_p50 static_p99 _ _ <<<"$static"
    read -r ceiling_rps ceiling_p50 ceiling_p99 _ ceiling_cpu <<<"$ceiling"
    read -r floor_rps floor_p50 floor_p99 _ floor_cpu <<<"$floor"
    read -r get_rps get_p50 get_p99 get_non get_cpu <<<"$get"
    local php_row="| PHP-FPM, 4 children, flock'd JSON file (php-fpm not installed) | | | | | | |"
    if [[ -n "$php" ]]; then
        read -r php_rps php_p50 php_p99 _ php_cpu <<<"$php"
        php_row="| PHP-FPM, 4 children, flock'd JSON file | $php_rps | $php_p50 | $php_p99 | $(ratio "$php_rps" "$ceiling_rps")× | $php_cpu | |"
    fi
    local get_ratio floor_ratio
    get_ratio="$(ratio "$get_rps" "$ceiling_rps")"
    floor_ratio="$(ratio "$floor_rps" "$ceiling_rps")"
    cat <<REPORT

FastCGI front door: $threads threads for taskd-fcgi and the C responder, body $body_bytes bytes, best of $rounds round(s), load average now $(cut -d' ' -f1 /proc/loadavg)

| measurement | requests/s | p50 ms | p99 ms | ÷ C responder | responder CPU µs/request | non-2xx |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
| nginx static 200 | $static_rps | $static_p50 | $static_p99 | $(ratio "$static_rps" "$ceiling_rps")× | | |
| ceiling: C libfcgi responder, fixed body | $ceiling_rps | $ceiling_p50 | $ceiling_p99 | 1× | $ceiling_cpu | |
$php_row
| taskd GET /tasks (10 tasks) | $get_rps | $get_p50 | $get_p99 | ${get_ratio}× | $get_cpu | $get_non |
| taskd GET /tasks without a key (401) | $floor_rps | $floor_p50 | $floor_p99 | ${floor_ratio}× | $floor_cpu | all |

| target | value | verdict |
| --- | ---: | --- |
| GET ≥ 0.8× C responder | ${get_ratio}× | $(verdict "$get_ratio" ">=" 0.8) |
| GET p99 ≤ 10 ms | $get_p99 ms | $(verdict "$get_p99" "<=" 10) |
| 401 ≥ 0.9× C responder | ${floor_ratio}× | $(verdict "$floor_ratio" ">=" 0.9) |
REPORT
}
