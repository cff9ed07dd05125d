#!/usr/bin/env bash
# `make test`, after `swift test`: the tests that need a real browser or Python tools (Tests/WebTests): the dashboard
# in headless Chromium, the AsyncAPI document against real frames, schemathesis against the OpenAPI document, and
# every command `make run` prints and the README and docs/api.md show.
#
# Their Python packages are pinned in Tests/WebTests/requirements.txt and installed into .build-venv (scripts/web-venv.sh).
# Chromium and chromedriver come from Debian (scripts/install-deps.sh); a missing one fails the tests, it never skips
# them. Arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

source scripts/web-venv.sh
web_venv_prepare

# No bytecode files in the checkout.
export PYTHONDONTWRITEBYTECODE=1
# The binaries `swift build --build-tests` made (the debug build), unless the caller names others.
export TASKD_BIN_DIR="${TASKD_BIN_DIR:-$(swift build --show-bin-path)}"
exec "$venv/bin/python" -m pytest -c "$root/Tests/WebTests/pytest.ini" "$@"
