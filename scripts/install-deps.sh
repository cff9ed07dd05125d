#!/usr/bin/env bash
# Installs the Debian packages taskd needs to build, run and test; does nothing when they are present.
# `install-deps.sh test` (make test) adds what only the tests need.
set -euo pipefail

# python3-websockets: the stream client `make run` prints (python3 -m websockets).
packages=(libfcgi-dev pkg-config nginx-light curl jq wrk python3 python3-yaml python3-websockets systemd)
if [[ "${1:-}" == test ]]; then
    # The web tests (scripts/test-web.sh): a venv for their pinned PyPI packages, headless Chromium with its driver,
    # and a font for its screenshots.
    packages+=(python3-venv chromium chromium-driver fonts-dejavu-core)
fi
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    sudo=sudo
else
    sudo=
fi
echo "Installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
