#!/usr/bin/env bash
# `make deploy-check`: the Debian package in a fresh Debian 12 container booted with systemd (systemd-nspawn), as
# docs/deploying.md tells an operator: install it, enable the nginx site, issue a key, then create, list and read a
# WebSocket through nginx; upgrade to a rebuilt package (<version>+b1) under REST load and show the state survived;
# a downgrade refused by the package's prerm; remove; purge. The container has no Swift toolchain. Needs root, and Debian's mirror for debootstrap and for the
# package's dependencies.
#
#   make deploy-check         # builds dist/taskd_<version>_<arch>.deb and the +b1 rebuild first
#
# The container's root is .build-nspawn/root, deleted at the end; a pristine Debian 12 root is cached beside it
# (bookworm.tar.zst) and so are the downloaded packages (archives/). Packages are downloaded with the host's network;
# the booted container then has a network namespace of its own (loopback only), so its nginx serves port 80 as on a
# server without touching the host's ports. The checks reach it from inside that namespace (nsenter).
set -euo pipefail
cd "$(dirname "$0")/.."
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
cleanup() {
    kill -TERM "$container" 2>/dev/null || true
    wait "$container" 2>/dev/null || true
    rm -rf "$machine" "$cache/upgraded" "$cache/upgrade-codes"
}
trap cleanup EXIT

# The container's systemd is the nspawn process's child; commands run in all of its namespaces.
init=""
for _ in $(seq 150); do
    init="$(pgrep -P "$container" -x systemd || true)"
    [[ -n "$init" ]] && nsenter -t "$init" -a systemctl is-system-running --wait >/dev/null 2>&1 && break
    sleep 0.2
done
[[ -n "$init" ]] || { cat "$log" >&2; echo "the container did not boot" >&2; exit 1; }
in_container() { nsenter -t "$init" -a /bin/sh -ec "$1"; }
# Host tools (curl, python3) inside the container's network namespace: its loopback, its nginx on port 80.
in_network() { nsenter -t "$init" -n "$@"; }
host='Host: taskd.example.com'
url='http://127.0.0.1/tasks'

fail=0
# check NAME CONDITION: CONDITION is evaluated when checked (write it in single quotes).
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
apt_get() { in_container "cd /root && DEBIAN_FRONTEND=noninteractive apt-get -y -qq $1" >"$cache/apt.log" 2>&1; }

echo "== install (docs/deploying.md)"
apt_get "install ./$first" || { cat "$cache/apt.log" >&2; exit 1; }
check "the package pulled in nginx and libfcgi" 'in_container "dpkg-query -W nginx libfcgi0ldbl" >/dev/null'
check "no Swift toolchain in the container" 'in_container "! ls -d /opt/swift /usr/lib/swift" 2>/dev/null'
libraries="$(in_container 'ldd /usr/bin/taskd-fcgi /usr/bin/taskd-ws /usr/bin/taskctl')"
check "ldd: no Swift runtime library, nothing missing" '! grep -E -q "swift|Foundation|dispatch|not found" <<<"$libraries"'
check "taskctl --version runs and says $version" '[[ $(in_container "taskctl --version") == "$version" ]]'
states="$(in_container 'systemctl is-enabled taskd.target; systemctl is-active taskd.target taskd-fcgi.socket \
    taskd-fcgi.service taskd-ws.service' | tr '\n' ' ')"
check "taskd.target is enabled; it, the socket and both services are active" \
    '[[ $states == "enabled active active active active " ]]'
check "the user taskd owns /var/lib/taskd, 0700" '[[ $(in_container "stat -c %U:%a /var/lib/taskd") == taskd:700 ]]'
check "/run/taskd is taskd:www-data 2750" '[[ $(in_container "stat -c %U:%G:%a /run/taskd") == taskd:www-data:2750 ]]'
conffiles="$(in_container "dpkg-query -W -f='\${Conffiles}' taskd" | awk 'NF { print $1 }' | sort | tr '\n' ' ')"
check "conffiles: $conffiles" \
    '[[ $conffiles == "/etc/nginx/sites-available/taskd /etc/nginx/taskd-locations.conf /etc/taskd/taskd.env " ]]'
check "the site is installed, not enabled" \
    'in_container "test -f /etc/nginx/sites-available/taskd && ! test -e /etc/nginx/sites-enabled/taskd"'
check "man pages; bash, zsh and fish completions" 'in_container "cd /usr/share && ls man/man1/taskctl.1.gz \
    man/man1/taskd-fcgi.1.gz man/man1/taskd-ws.1.gz bash-completion/completions/taskctl \
    zsh/vendor-completions/_taskctl fish/vendor_completions.d/taskctl.fish" >/dev/null'
for service in taskd-fcgi taskd-ws; do
    exposure="$(in_container "systemd-analyze security $service.service" | tail -n 1)"
    check "$service: $exposure" 'awk "{ exit !(\$(NF-2) + 0 <= 1.0) }" <<<"$exposure"'
done

echo "== enable the site, the first key, REST and WebSocket through nginx"
in_container 'ln -s /etc/nginx/sites-available/taskd /etc/nginx/sites-enabled/ && nginx -t -q && systemctl reload nginx'
key="$(in_container 'taskctl key add acme' | tail -n 1)"
check "a key was issued" '[[ -n $key ]]'
# nginx reloads asynchronously: until its new workers run, the default site answers. Wait for the new site (10 s).
for _ in $(seq 100); do
    [[ $(in_network curl -s -o /dev/null -w '%{http_code}' -H "$host" "$url?api_key=$key") == 200 ]] && break
    sleep 0.1
done
created="$(in_network curl -s -w ' %{http_code}' -H "$host" -H 'Content-Type: application/json' \
    -d '{"name":"first","type":"gx.tiny"}' "$url?api_key=$key")"
check "POST /tasks through nginx: $created" '[[ $created == *" 201" ]]'
listed="$(in_network curl -s -H "$host" "$url?api_key=$key")"
check "GET /tasks lists it: $listed" 'grep -q "\"name\":\"first\"" <<<"$listed"'
frame="$(in_network python3 scripts/ws-read.py 127.0.0.1 80 "/ws/tasks?api_key=$key" taskd.example.com || true)"
check "a WebSocket through nginx reads the list: $frame" 'grep -q "\"name\":\"first\"" <<<"$frame"'
for document in openapi asyncapi; do
    served="$(in_network curl -s -H "$host" "http://127.0.0.1/$document.yaml")"
    check "/$document.yaml is served, version $version" 'grep -q "^  version: \"$version\"" <<<"$served"'
done
dashboard="$(in_network curl -s -H "$host" http://127.0.0.1/)"
check "the dashboard is served at /" 'grep -q "src=\"/dashboard.js\"" <<<"$dashboard"'

echo "== upgrade to $second, with a request every 0.1 s meanwhile"
in_container "sed -i 's/^#\\?TASKD_LOG_LEVEL=.*/TASKD_LOG_LEVEL=debug/' /etc/taskd/taskd.env"
pids_before="$(in_container 'systemctl show -p MainPID --value taskd-fcgi taskd-ws' | tr '\n' ' ')"
socket_since="$(in_container 'systemctl show -p ActiveEnterTimestampMonotonic --value taskd-fcgi.socket')"
codes="$cache/upgrade-codes"
rm -f "$codes" "$cache/upgraded"
# At 10 requests a second, below the site's limit of 20 per address; for at most 5 minutes.
in_network /bin/sh -c "deadline=\$((\$(date +%s) + 300)); while [ ! -e '$cache/upgraded' ] && \
    [ \$(date +%s) -lt \$deadline ]; do curl -s -o /dev/null -w '%{http_code}\n' -H '$host' \
    '$url?api_key=$key' >>'$codes'; sleep 0.1; done" &
load=$!
apt_get "install ./$second" || { cat "$cache/apt.log" >&2; fail=1; }
touch "$cache/upgraded"
wait "$load"
pids_after="$(in_container 'systemctl show -p MainPID --value taskd-fcgi taskd-ws' | tr '\n' ' ')"
check "the package is now $version+b1" '[[ $(in_container "dpkg-query -W -f=\\\${Version} taskd") == "$version+b1" ]]'
check "both services were restarted (main PIDs $pids_before-> $pids_after)" '[[ $pids_after != "$pids_before" ]]'
check "the socket stayed open throughout" \
    '[[ $(in_container "systemctl show -p ActiveEnterTimestampMonotonic --value taskd-fcgi.socket") == "$socket_since" ]]'
answers="$(sort "$codes" | uniq -c | awk '{ printf "%s x %s, ", $1, $2 }')"
check "no request failed during the upgrade: ${answers%, }" '[[ -s $codes ]] && ! grep -v -q "^200$" "$codes"'
check "the operator's edit of taskd.env was kept" 'in_container "grep -q ^TASKD_LOG_LEVEL=debug /etc/taskd/taskd.env"'
check "the site is still enabled" 'in_container "test -e /etc/nginx/sites-enabled/taskd"'
listed="$(in_network curl -s -H "$host" "$url?api_key=$key")"
check "the key and the task survived: $listed" 'grep -q "\"name\":\"first\"" <<<"$listed"'
check "taskctl check passes" 'in_container "taskctl check" >/dev/null'

echo "== a downgrade below the state format is refused (the package's floor raised to $version+b1 for this check)"
# The installed prerm refuses; dpkg then asks the incoming package's prerm (failed-upgrade), which upholds it.
downgraded=0
in_container "cd /root && TASKD_PRERM_FORMAT_SINCE=$version+b1 dpkg -i ./$first" >"$cache/downgrade.log" 2>&1 ||
    downgraded=$?
check "dpkg refused the downgrade to $version (exit $downgraded)" '[[ $downgraded != 0 ]]'
check "the refusal says how to export first" 'grep -q "taskctl tenant export --live TENANT" "$cache/downgrade.log"'
check "the package is still $version+b1, installed" \
    '[[ $(in_container "dpkg-query -W -f=\\\${Status}/\\\${Version} taskd") == "install ok installed/$version+b1" ]]'
check "both services are still active" \
    '[[ $(in_container "systemctl is-active taskd-fcgi.service taskd-ws.service" | sort -u) == active ]]'
listed="$(in_network curl -s -H "$host" "$url?api_key=$key")"
check "the key and the task are still served: $listed" 'grep -q "\"name\":\"first\"" <<<"$listed"'

echo "== remove, then purge"
apt_get "remove taskd" || { cat "$cache/apt.log" >&2; fail=1; }
states="$(in_container 'systemctl is-active taskd-fcgi.socket taskd-fcgi.service taskd-ws.service || true' | sort -u)"
check "remove stopped the socket and both services" '[[ $states == inactive ]]'
check "remove kept the configuration" \
    'in_container "test -f /etc/taskd/taskd.env && test -f /etc/nginx/sites-available/taskd"'
apt_get "purge taskd" || { cat "$cache/apt.log" >&2; fail=1; }
check "purge removed /etc/taskd, the nginx site and locations" 'in_container "! test -e /etc/taskd && \
    ! test -e /etc/nginx/sites-available/taskd && ! test -e /etc/nginx/taskd-locations.conf"'
check "purge removed the link to the site; nginx still loads its configuration and runs" \
    'in_container "! test -L /etc/nginx/sites-enabled/taskd && nginx -t -q && systemctl is-active --quiet nginx"'
check "purge kept /var/lib/taskd and its keys" 'in_container "test -s /var/lib/taskd/keys.json"'
check "purge said so" 'grep -q "kept /var/lib/taskd" "$cache/apt.log"'

echo "== $((SECONDS - started)) s"
exit "$fail"
