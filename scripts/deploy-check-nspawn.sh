#!/usr/bin/env bash
# Follows docs/deploying.md inside a fresh Debian 12 container booted with systemd (systemd-nspawn), so the units
# run for real: sysusers, tmpfiles, socket activation, hardening, nginx in front, restart after a crash, a clean stop.
# Needs root, debootstrap and systemd-container, and a Debian mirror; not part of `make test`.
#
#   make && sudo scripts/deploy-check-nspawn.sh            # uses the debug build; SWIFT_BIN=.build/release for release
#
# The container shares the host's network namespace: its nginx listens on 127.0.0.1:$PORT only (default 8089).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
machine="${TASKD_NSPAWN_ROOT:-/var/lib/machines/taskd-deploy-check}"
port="${PORT:-8089}"
bin="$(cd "${SWIFT_BIN:-.build/debug}" && pwd)"
toolchain="$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")"

for binary in taskd-fcgi taskd-ws taskctl; do
    [[ -x "$bin/$binary" ]] || { echo "$bin/$binary is missing: build first" >&2; exit 1; }
done
command -v systemd-nspawn >/dev/null && command -v debootstrap >/dev/null || {
    echo "Installing systemd-container and debootstrap" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd-container debootstrap >&2
}
if [[ ! -x "$machine/usr/lib/systemd/systemd" ]]; then
    debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,nginx-light,libfcgi0ldbl,curl,make,ca-certificates,procps \
        bookworm "$machine" http://deb.debian.org/debian
fi
echo taskd-deploy-check >"$machine/etc/hostname"
rm -rf "$machine/root/bins" && mkdir -p "$machine/root/bins" && cp "$bin"/{taskd-fcgi,taskd-ws,taskctl} "$machine/root/bins/"

log="$(mktemp)"
systemd-nspawn -D "$machine" --register=no --keep-unit -b --console=pipe \
    --bind-ro="$toolchain" --bind-ro="$root:/src" >"$log" 2>&1 </dev/null &
nspawn=$!
cleanup() {
    kill -TERM "$nspawn" 2>/dev/null || true
    wait "$nspawn" 2>/dev/null || true
    rm -f "$log"
}
trap cleanup EXIT

# The container's systemd is the nspawn process's child; run commands in all of its namespaces.
init=""
for _ in $(seq 100); do
    init="$(pgrep -P "$nspawn" -x systemd || true)"
    [[ -n "$init" ]] && nsenter -t "$init" -a systemctl is-system-running --wait >/dev/null 2>&1 && break
    sleep 0.2
done
[[ -n "$init" ]] || { cat "$log" >&2; echo "the container did not boot" >&2; exit 1; }
in_container() { nsenter -t "$init" -a /bin/sh -ec "$1"; }

echo "== docs/deploying.md, in the container"
in_container "
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
key="$(in_container 'taskctl key add acme' | tail -n 1)"
url="http://127.0.0.1:$port/tasks"
host='Host: taskd.example.com'

echo "== checks"
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
check "keys.json belongs to the service user" "[[ \$(in_container 'stat -c %U:%a /var/lib/taskd/keys.json') == taskd:600 ]]"
check "the socket is taskd:www-data 0660" "[[ \$(in_container 'stat -c %U:%G:%a /run/taskd/fcgi.sock') == taskd:www-data:660 ]]"
check "POST through nginx answers 201" "[[ \$(in_container \"curl -s -o /dev/null -w %{http_code} -H '$host' -H 'Content-Type: application/json' -d '{\\\"name\\\":\\\"n\\\",\\\"type\\\":\\\"gx.tiny\\\"}' '$url?api_key=$key'\") == 201 ]]"
check "GET lists it" "in_container \"curl -s -H '$host' '$url?api_key=$key'\" | grep -q '\"id\":1'"
check "only taskd and www-data can reach /run/taskd" "[[ \$(in_container 'stat -c %U:%G:%a /run/taskd') == taskd:www-data:2750 ]]"
check "a WebSocket upgrade through nginx gets 101 and the list" "in_container \"curl -s -i -N --max-time 2 -H '$host' -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' 'http://127.0.0.1:$port/ws/tasks?api_key=$key' || true\" | grep -a -q '101 Switching Protocols'"
check "the dashboard is served at /" "in_container \"curl -s -H '$host' 'http://127.0.0.1:$port/'\" | grep -q 'src=\"/dashboard.js\"'"
check "the AsyncAPI document is served" "in_container \"curl -s -H '$host' 'http://127.0.0.1:$port/asyncapi.yaml'\" | grep -q '^asyncapi: 3.0.0'"
for service in taskd-fcgi taskd-ws; do
    check "$service exposure <= 1.0" "in_container 'systemd-analyze security $service.service' | tail -n 1 | awk '{ exit !(\$(NF-2) + 0 <= 1.0) }'"
done
check "taskctl check passes" "in_container 'taskctl check' >/dev/null"
in_container 'kill -KILL $(systemctl show -p MainPID --value taskd-fcgi)'
codes="$(in_container "for i in \$(seq 10); do curl -s -o /dev/null -w '%{http_code} ' -H '$host' '$url?api_key=$key'; sleep 0.2; done")"
check "a crash is restarted and no request fails meanwhile ($codes)" "[[ '$codes' == '$(printf '200 %.0s' $(seq 10))' ]]"
in_container 'kill -KILL $(systemctl show -p MainPID --value taskd-ws)'
sleep 2
check "a crashed taskd-ws is restarted" "[[ \$(in_container 'systemctl show -p NRestarts --value taskd-ws') == 1 && \$(in_container 'systemctl is-active taskd-ws') == active ]]"
check "taskd-fcgi kept serving meanwhile" "[[ \$(in_container \"curl -s -o /dev/null -w %{http_code} -H '$host' '$url?api_key=$key'\") == 200 ]]"
in_container 'systemctl stop taskd-ws.service'
check "systemctl stop taskd-ws: exit status 0" "[[ \$(in_container 'systemctl show -p ExecMainStatus --value taskd-ws') == 0 ]]"
in_container 'systemctl stop taskd-fcgi.service'
check "systemctl stop taskd-fcgi: exit status 0" "[[ \$(in_container 'systemctl show -p ExecMainStatus --value taskd-fcgi') == 0 ]]"
in_container "taskctl key revoke \$(taskctl key list --json | sed 's/.*\"id\":\"\\([^\"]*\\)\".*/\\1/')" >/dev/null
sleep 1
check "a revoked key is refused (socket activation restarts the responder)" "[[ \$(in_container \"curl -s -o /dev/null -w %{http_code} -H '$host' '$url?api_key=$key'\") == 401 ]]"
exit "$fail"
