#!/usr/bin/env bash
# Installs the Debian packages taskd needs to build, run and test; does nothing when they are present.
set -euo pipefail

packages=(libfcgi-dev pkg-config nginx-light curl jq wrk python3 python3-yaml systemd strace)
# `scripts/install-deps.sh deb`: also what `make deb` (dpkg-buildpackage, debhelper, lintian) and `make deploy-check`
# (a Debian 12 container booted with systemd-nspawn) need.
if [[ "${1:-}" = "deb" ]]; then
    packages+=(dpkg-dev debhelper lintian debootstrap systemd-container zstd)
fi
# `scripts/install-deps.sh bench` (make bench): PHP-FPM, the peer an operator might run instead, measured beside taskd.
if [[ "${1:-}" = "bench" ]]; then
    packages+=(php-fpm)
fi
# The stream client `make run` prints (python3 -m websockets). `install-deps.sh test` (make test) adds what the web
# tests need (scripts/test-web.sh), and make bench-ws its dashboard row: a venv for their pinned PyPI packages,
# headless Chromium with its driver, a font.
packages+=(python3-websockets)
if [[ "${1:-}" = "test" ]]; then
    packages+=(python3-venv chromium chromium-driver fonts-dejavu-core)
fi
# `scripts/install-deps.sh lint` (make lint): shellcheck, ESLint for web/, and the venv that holds ruff (pinned with the
# web tests' packages).
if [[ "${1:-}" = "lint" ]]; then
    packages+=(shellcheck eslint python3-venv)
fi
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [[ "${#missing[@]}" -eq 0 ]]; then
    exit 0
fi
if [[ "$(id -u)" -ne 0 ]]; then
    sudo=sudo
else
    sudo=
fi
echo "Installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
