#!/usr/bin/env bash
# `make deploy-check-clone`: follows docs/deploying.md inside a fresh Debian 12 container booted with systemd (systemd-nspawn), so the units
# run for real: sysusers, tmpfiles, socket activation, hardening, nginx in front, restart after a crash, a clean stop.
# Needs root, debootstrap and systemd-container, and a Debian mirror; not part of `make test`.
#
#   make build && sudo make deploy-check-clone   # the debug build; SWIFT_BIN=.build/release for the release build
#
# The container shares the host's network namespace: its nginx listens on 127.0.0.1:$PORT only (default 8089).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
source scripts/lib/process.sh
source scripts/lib/nspawn.sh
machine="${TASKD_NSPAWN_ROOT:-/var/lib/machines/taskd-deploy-check}"
port="${PORT:-8089}"
bin="$(cd "${SWIFT_BIN:-.build/debug}" && pwd)"
toolchain="$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")"

for binary in taskd-fcgi taskd-ws taskctl; do
    [[ -x "$bin/$binary" ]] || { echo "$bin/$binary is missing: build first" >&2; exit 1; }
done
scripts/install-deps.sh deb # debootstrap and systemd-container among them
if [[ ! -x "$machine/usr/lib/systemd/systemd" ]]; then
    debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,nginx-light,libfcgi0ldbl,curl,make,ca-certificates,procps \
        bookworm "$machine" http://deb.debian.org/debian
fi
echo taskd-deploy-check >"$machine/etc/hostname"
rm -rf "$machine/root/bins" && mkdir -p "$machine/root/bins"
cp "$bin"/{taskd-fcgi,taskd-ws,taskctl} "$machine/root/bins/"

log="$(mktemp)"
systemd-nspawn -D "$machine" --register=no --keep-unit -b --console=pipe \
    --bind-ro="$toolchain" --bind-ro="$root:/src" >"$log" 2>&1 </dev/null &
nspawn=$!
trap 'stop_processes 600 "$nspawn" || true; rm -f "$log"' EXIT

init="$(container_init "$nspawn" 100)" || { cat "$log" >&2; echo "the container did not boot" >&2; exit 1; }

echo "== docs/deploying.md, in the container"
in_container "$init" "
cd /src
make -s install SWIFT_BIN=/root/bins
systemd-sysusers taskd.conf
systemd-tmpfiles --create taskd.conf
systemctl daemon-reload
systemctl enable --now taskd.target
systemctl stop nginx
rm -f /etc/nginx/sites-enabled/default
sed -i -e 's/listen 80;/listen 127.0.0.1:$port;/' -e '/listen \[::\]:80;/d' /etc/nginx/sites-available/taskd
ln -sf /etc/nginx/sites-available/taskd /etc/nginx/sites-enabled/taskd
nginx -t 2>/dev/null && systemctl start nginx
"
key="$(in_container "$init" 'taskctl key add acme' | tail -n 1)"
url="http://127.0.0.1:$port/tasks"
host='Host: taskd.example.com'

echo "== checks"
fail=0
check "keys.json belongs to the service user" "[[ \$(in_container $init 'stat -c %U:%a /var/lib/taskd/keys.json') == taskd:600 ]]" || fail=1
check "the socket is taskd:www-data 0660" "[[ \$(in_container $init 'stat -c %U:%G:%a /run/taskd/fcgi.sock') == taskd:www-data:660 ]]" || fail=1
check "POST through nginx answers 201" "[[ \$(in_container $init \"curl -s -o /dev/null -w %{http_code} -H '$host' -H 'Content-Type: application/json' -d '{\\\"name\\\":\\\"n\\\",\\\"type\\\":\\\"gx.tiny\\\"}' '$url?api_key=$key'\") == 201 ]]" || fail=1
check "GET lists it" "in_container $init \"curl -s -H '$host' '$url?api_key=$key'\" | grep -q '\"id\":1'" || fail=1
check "only taskd and www-data can reach /run/taskd" "[[ \$(in_container $init 'stat -c %U:%G:%a /run/taskd') == taskd:www-data:2750 ]]" || fail=1
check "a WebSocket upgrade through nginx gets 101 and the list" "in_container $init \"curl -s -i -N --max-time 2 -H '$host' -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' 'http://127.0.0.1:$port/ws/tasks?api_key=$key' || true\" | grep -a -q '101 Switching Protocols'" || fail=1
check "the dashboard is served at /" "in_container $init \"curl -s -H '$host' 'http://127.0.0.1:$port/'\" | grep -q 'src=\"/dashboard.js\"'" || fail=1
check "the AsyncAPI document is served" "in_container $init \"curl -s -H '$host' 'http://127.0.0.1:$port/asyncapi.yaml'\" | grep -q '^asyncapi: 3.0.0'" || fail=1
for service in taskd-fcgi taskd-ws; do
    check "$service exposure <= 1.0" "in_container $init 'systemd-analyze security $service.service' | tail -n 1 | awk '{ exit !(\$(NF-2) + 0 <= 1.0) }'" || fail=1
done
check "taskctl check passes" "in_container $init 'taskctl check' >/dev/null" || fail=1
# shellcheck disable=SC2016 # expanded in the container
in_container "$init" 'kill -KILL $(systemctl show -p MainPID --value taskd-fcgi)'
codes="$(in_container "$init" "for i in \$(seq 10); do curl -s -o /dev/null -w '%{http_code} ' -H '$host' '$url?api_key=$key'; sleep 0.2; done")"
check "a crash is restarted and no request fails meanwhile ($codes)" "[[ '$codes' == '$(printf '200 %.0s' $(seq 10))' ]]" || fail=1
# shellcheck disable=SC2016 # expanded in the container
in_container "$init" 'kill -KILL $(systemctl show -p MainPID --value taskd-ws)'
sleep 2
check "a crashed taskd-ws is restarted" "[[ \$(in_container $init 'systemctl show -p NRestarts --value taskd-ws') == 1 && \$(in_container $init 'systemctl is-active taskd-ws') == active ]]" || fail=1
check "taskd-fcgi kept serving meanwhile" "[[ \$(in_container $init \"curl -s -o /dev/null -w %{http_code} -H '$host' '$url?api_key=$key'\") == 200 ]]" || fail=1
in_container "$init" 'systemctl stop taskd-ws.service'
check "systemctl stop taskd-ws: exit status 0" "[[ \$(in_container $init 'systemctl show -p ExecMainStatus --value taskd-ws') == 0 ]]" || fail=1
in_container "$init" 'systemctl stop taskd-fcgi.service'
check "systemctl stop taskd-fcgi: exit status 0" "[[ \$(in_container $init 'systemctl show -p ExecMainStatus --value taskd-fcgi') == 0 ]]" || fail=1
in_container "$init" "taskctl key revoke \$(taskctl key list --json | sed 's/.*\"id\":\"\\([^\"]*\\)\".*/\\1/')" >/dev/null
sleep 1
check "a revoked key is refused (socket activation restarts the responder)" "[[ \$(in_container $init \"curl -s -o /dev/null -w %{http_code} -H '$host' '$url?api_key=$key'\") == 401 ]]" || fail=1
exit "$fail"
