#!/usr/bin/env bash
# shellcheck disable=SC2016 # a check's condition is code in single quotes, evaluated by check (scripts/lib/nspawn.sh)
# `make deploy-check`: the Debian package in a fresh Debian 12 container booted with systemd (systemd-nspawn), as
# docs/deploying.md tells an operator: install it, enable the nginx site, issue a key, then create, list and read a
# WebSocket through nginx; upgrade to a rebuilt package (<version>+b1) under REST load and show the state survived;
# a downgrade refused by the package's prerm; remove; purge. The container has no Swift toolchain. Needs root, and
# Debian's mirror for debootstrap and for the package's dependencies.
#
#   make deploy-check         # builds dist/taskd_<version>_<arch>.deb and the +b1 rebuild first
#
# The container's root is .build-nspawn/root, deleted at the end; a pristine Debian 12 root is cached beside it
# (bookworm.tar.zst) and so are the downloaded packages (archives/). Packages are downloaded with the host's network;
# the booted container then has a network namespace of its own (loopback only), so its nginx serves port 80 as on a
# server without touching the host's ports. The checks reach it from inside that namespace (nsenter).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/process.sh
source scripts/lib/nspawn.sh
started=$SECONDS
cache="${TASKD_NSPAWN_CACHE:-$(pwd)/.build-nspawn}"
machine="$cache/root"
version="$(make -s --no-print-directory version)"
architecture="$(dpkg-architecture -qDEB_HOST_ARCH)"
first="taskd_${version}_$architecture.deb"
second="taskd_${version}+b1_$architecture.deb"
for deb in "$first" "$second"; do
    [[ -f "dist/$deb" ]] || { echo "dist/$deb is missing: make deb && make deb DEB_REBUILD=1" >&2; exit 1; }
done
scripts/install-deps.sh deb

mkdir -p "$cache/archives/partial"
if [[ ! -f "$cache/bookworm.tar.zst" ]]; then
    echo "== debootstrap: a minimal Debian 12 with systemd (cached in $cache/bookworm.tar.zst)"
    rm -rf "$cache/bootstrap"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm "$cache/bootstrap" \
        http://deb.debian.org/debian >"$cache/debootstrap.log"
    tar -C "$cache/bootstrap" --zstd -cf "$cache/bookworm.tar.zst.partial" .
    mv "$cache/bookworm.tar.zst.partial" "$cache/bookworm.tar.zst"
    rm -rf "$cache/bootstrap"
fi
rm -rf "$machine" && mkdir -p "$machine"
tar -C "$machine" --zstd -xf "$cache/bookworm.tar.zst"
echo taskd-deploy-check >"$machine/etc/hostname"
cp "dist/$first" "dist/$second" "$machine/root/"
nspawn=(systemd-nspawn -q -D "$machine" --register=no --keep-unit --bind="$cache/archives:/var/cache/apt/archives")

echo "== with the host's network: apt-get update, and download what the package depends on"
"${nspawn[@]}" /bin/sh -ec "apt-get update -qq && cd /root && apt-get install -y -qq --download-only ./$first" \
    >"$cache/download.log" 2>&1 || { cat "$cache/download.log" >&2; exit 1; }

log="$cache/boot.log"
"${nspawn[@]}" --private-network -b --console=pipe >"$log" 2>&1 </dev/null &
container=$!
trap 'stop_processes 600 "$container" || true; rm -rf "$machine" "$cache/upgraded" "$cache/upgrade-codes"' EXIT

init="$(container_init "$container" 150)" || { cat "$log" >&2; echo "the container did not boot" >&2; exit 1; }
host='Host: taskd.example.com'
url='http://127.0.0.1/tasks'

fail=0
# apt_get INIT LOG ARGUMENTS: apt-get ARGUMENTS in the container, in /root (where the packages are); its output in LOG.
apt_get() { in_container "$1" "cd /root && DEBIAN_FRONTEND=noninteractive apt-get -y -qq $3" >"$2" 2>&1; }

echo "== install (docs/deploying.md)"
apt_get "$init" "$cache/apt.log" "install ./$first" || { cat "$cache/apt.log" >&2; exit 1; }
check "the package pulled in nginx and libfcgi" 'in_container "$init" "dpkg-query -W nginx libfcgi0ldbl" >/dev/null' || fail=1
check "no Swift toolchain in the container" 'in_container "$init" "! ls -d /opt/swift /usr/lib/swift" 2>/dev/null' || fail=1
# shellcheck disable=SC2034 # read by the next checks
libraries="$(in_container "$init" 'ldd /usr/bin/taskd-fcgi /usr/bin/taskd-ws /usr/bin/taskctl')"
check "ldd: no Swift runtime library, nothing missing" '! grep -E -q "swift|Foundation|dispatch|not found" <<<"$libraries"' || fail=1
check "taskctl --version runs and says $version" '[[ $(in_container "$init" "taskctl --version") == "$version" ]]' || fail=1
# shellcheck disable=SC2034 # read by the next checks
states="$(in_container "$init" 'systemctl is-enabled taskd.target; systemctl is-active taskd.target taskd-fcgi.socket \
    taskd-fcgi.service taskd-ws.service' | tr '\n' ' ')"
check "taskd.target is enabled; it, the socket and both services are active" \
    '[[ $states == "enabled active active active active " ]]' || fail=1
check "the user taskd owns /var/lib/taskd, 0700" '[[ $(in_container "$init" "stat -c %U:%a /var/lib/taskd") == taskd:700 ]]' || fail=1
check "/run/taskd is taskd:www-data 2750" '[[ $(in_container "$init" "stat -c %U:%G:%a /run/taskd") == taskd:www-data:2750 ]]' || fail=1
conffiles="$(in_container "$init" "dpkg-query -W -f='\${Conffiles}' taskd" | awk 'NF { print $1 }' | sort | tr '\n' ' ')"
check "conffiles: $conffiles" \
    '[[ $conffiles == "/etc/nginx/sites-available/taskd /etc/nginx/taskd-locations.conf /etc/taskd/taskd.env " ]]' || fail=1
check "the site is installed, not enabled" \
    'in_container "$init" "test -f /etc/nginx/sites-available/taskd && ! test -e /etc/nginx/sites-enabled/taskd"' || fail=1
check "man pages; bash, zsh and fish completions" 'in_container "$init" "cd /usr/share && ls man/man1/taskctl.1.gz \
    man/man1/taskd-fcgi.1.gz man/man1/taskd-ws.1.gz bash-completion/completions/taskctl \
    zsh/vendor-completions/_taskctl fish/vendor_completions.d/taskctl.fish" >/dev/null' || fail=1
for service in taskd-fcgi taskd-ws; do
    exposure="$(in_container "$init" "systemd-analyze security $service.service" | tail -n 1)"
    check "$service: $exposure" 'awk "{ exit !(\$(NF-2) + 0 <= 1.0) }" <<<"$exposure"' || fail=1
done

echo "== enable the site, the first key, REST and WebSocket through nginx"
in_container "$init" 'ln -s /etc/nginx/sites-available/taskd /etc/nginx/sites-enabled/ && nginx -t -q && systemctl reload nginx'
key="$(in_container "$init" 'taskctl key add acme' | tail -n 1)"
check "a key was issued" '[[ -n $key ]]' || fail=1
# nginx reloads asynchronously: until its new workers run, the default site answers. Wait for the new site (10 s).
# shellcheck disable=SC2317 # called through wait_until
site_answers() { # site_answers INIT HOST_HEADER URL
    [[ $(in_network "$1" curl -s -o /dev/null -w '%{http_code}' -H "$2" "$3") == 200 ]]
}
wait_until 100 site_answers "$init" "$host" "$url?api_key=$key" || true
created="$(in_network "$init" curl -s -w ' %{http_code}' -H "$host" -H 'Content-Type: application/json' \
    -d '{"name":"first","type":"gx.tiny"}' "$url?api_key=$key")"
check "POST /tasks through nginx: $created" '[[ $created == *" 201" ]]' || fail=1
listed="$(in_network "$init" curl -s -H "$host" "$url?api_key=$key")"
check "GET /tasks lists it: $listed" 'grep -q "\"name\":\"first\"" <<<"$listed"' || fail=1
frame="$(in_network "$init" python3 scripts/tools/ws-read.py 127.0.0.1 80 "/ws/tasks?api_key=$key" taskd.example.com || true)"
check "a WebSocket through nginx reads the list: $frame" 'grep -q "\"name\":\"first\"" <<<"$frame"' || fail=1
for document in openapi asyncapi; do
    # shellcheck disable=SC2034 # read by the next checks
    served="$(in_network "$init" curl -s -H "$host" "http://127.0.0.1/$document.yaml")"
    check "/$document.yaml is served, version $version" 'grep -q "^  version: \"$version\"" <<<"$served"' || fail=1
done
# shellcheck disable=SC2034 # read by the next checks
dashboard="$(in_network "$init" curl -s -H "$host" http://127.0.0.1/)"
check "the dashboard is served at /" 'grep -q "src=\"/dashboard.js\"" <<<"$dashboard"' || fail=1

echo "== upgrade to $second, with a request every 0.1 s meanwhile"
in_container "$init" "sed -i 's/^#\\?TASKD_LOG_LEVEL=.*/TASKD_LOG_LEVEL=debug/' /etc/taskd/taskd.env"
pids_before="$(in_container "$init" 'systemctl show -p MainPID --value taskd-fcgi taskd-ws' | tr '\n' ' ')"
# shellcheck disable=SC2034 # read by the next checks
socket_since="$(in_container "$init" 'systemctl show -p ActiveEnterTimestampMonotonic --value taskd-fcgi.socket')"
codes="$cache/upgrade-codes"
rm -f "$codes" "$cache/upgraded"
# At 10 requests a second, below the site's limit of 20 per address; for at most 5 minutes.
in_network "$init" /bin/sh -c "deadline=\$((\$(date +%s) + 300)); while [ ! -e '$cache/upgraded' ] && \
    [ \$(date +%s) -lt \$deadline ]; do curl -s -o /dev/null -w '%{http_code}\n' -H '$host' \
    '$url?api_key=$key' >>'$codes'; sleep 0.1; done" &
load=$!
apt_get "$init" "$cache/apt.log" "install ./$second" || { cat "$cache/apt.log" >&2; fail=1; }
touch "$cache/upgraded"
wait "$load"
pids_after="$(in_container "$init" 'systemctl show -p MainPID --value taskd-fcgi taskd-ws' | tr '\n' ' ')"
check "the package is now $version+b1" '[[ $(in_container "$init" "dpkg-query -W -f=\\\${Version} taskd") == "$version+b1" ]]' || fail=1
check "both services were restarted (main PIDs $pids_before-> $pids_after)" '[[ $pids_after != "$pids_before" ]]' || fail=1
check "the socket stayed open throughout" \
    '[[ $(in_container "$init" "systemctl show -p ActiveEnterTimestampMonotonic --value taskd-fcgi.socket") == "$socket_since" ]]' || fail=1
answers="$(sort "$codes" | uniq -c | awk '{ printf "%s x %s, ", $1, $2 }')"
check "no request failed during the upgrade: ${answers%, }" '[[ -s $codes ]] && ! grep -v -q "^200$" "$codes"' || fail=1
check "the operator's edit of taskd.env was kept" 'in_container "$init" "grep -q ^TASKD_LOG_LEVEL=debug /etc/taskd/taskd.env"' || fail=1
check "the site is still enabled" 'in_container "$init" "test -e /etc/nginx/sites-enabled/taskd"' || fail=1
listed="$(in_network "$init" curl -s -H "$host" "$url?api_key=$key")"
check "the key and the task survived: $listed" 'grep -q "\"name\":\"first\"" <<<"$listed"' || fail=1
check "taskctl check passes" 'in_container "$init" "taskctl check" >/dev/null' || fail=1

echo "== a downgrade below the state format is refused (the package's floor raised to $version+b1 for this check)"
# The installed prerm refuses; dpkg then asks the incoming package's prerm (failed-upgrade), which upholds it.
downgraded=0
in_container "$init" "cd /root && TASKD_PRERM_FORMAT_SINCE=$version+b1 dpkg -i ./$first" >"$cache/downgrade.log" 2>&1 ||
    downgraded=$?
check "dpkg refused the downgrade to $version (exit $downgraded)" '[[ $downgraded != 0 ]]' || fail=1
check "the refusal says how to export first" 'grep -q "taskctl tenant export --live TENANT" "$cache/downgrade.log"' || fail=1
check "the package is still $version+b1, installed" \
    '[[ $(in_container "$init" "dpkg-query -W -f=\\\${Status}/\\\${Version} taskd") == "install ok installed/$version+b1" ]]' || fail=1
check "both services are still active" \
    '[[ $(in_container "$init" "systemctl is-active taskd-fcgi.service taskd-ws.service" | sort -u) == active ]]' || fail=1
listed="$(in_network "$init" curl -s -H "$host" "$url?api_key=$key")"
check "the key and the task are still served: $listed" 'grep -q "\"name\":\"first\"" <<<"$listed"' || fail=1

echo "== remove, then purge"
apt_get "$init" "$cache/apt.log" "remove taskd" || { cat "$cache/apt.log" >&2; fail=1; }
# shellcheck disable=SC2034 # read by the next checks
states="$(in_container "$init" 'systemctl is-active taskd-fcgi.socket taskd-fcgi.service taskd-ws.service || true' | sort -u)"
check "remove stopped the socket and both services" '[[ $states == inactive ]]' || fail=1
check "remove kept the configuration" \
    'in_container "$init" "test -f /etc/taskd/taskd.env && test -f /etc/nginx/sites-available/taskd"' || fail=1
apt_get "$init" "$cache/apt.log" "purge taskd" || { cat "$cache/apt.log" >&2; fail=1; }
check "purge removed /etc/taskd, the nginx site and locations" 'in_container "$init" "! test -e /etc/taskd && \
    ! test -e /etc/nginx/sites-available/taskd && ! test -e /etc/nginx/taskd-locations.conf"' || fail=1
check "purge removed the link to the site; nginx still loads its configuration and runs" \
    'in_container "$init" "! test -L /etc/nginx/sites-enabled/taskd && nginx -t -q && systemctl is-active --quiet nginx"' || fail=1
check "purge kept /var/lib/taskd and its keys" 'in_container "$init" "test -s /var/lib/taskd/keys.json"' || fail=1
check "purge said so" 'grep -q "kept /var/lib/taskd" "$cache/apt.log"' || fail=1

echo "== $((SECONDS - started)) s"
exit "$fail"
