#!/usr/bin/env bash
# `make test`, after `swift test` (and `make test-web` alone): the tests that need a real browser or Python tools
# (Tests/WebTests): the dashboard in headless Chromium, the AsyncAPI document against real frames, schemathesis against
# the OpenAPI document, and every command `make run` prints and the README and docs/api.md show.
#
# Their Python packages are pinned in Tests/WebTests/requirements.txt and installed into .build-venv (scripts/lib/venv.sh).
# Chromium and chromedriver come from Debian (scripts/install-deps.sh); a missing one fails the tests, it never skips
# them. Arguments go to pytest.
#
# Environment: TASKD_BIN_DIR, the binaries to test (default: the debug build `swift build --build-tests` made).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source scripts/lib/venv.sh

venv="$root/.build-venv"
web_venv_prepare "$venv" "$root/Tests/WebTests/requirements.txt"

# No bytecode files in the checkout.
export PYTHONDONTWRITEBYTECODE=1
export TASKD_BIN_DIR="${TASKD_BIN_DIR:-$(swift build --show-bin-path)}"
exec "$venv/bin/python" -m pytest -c "$root/Tests/WebTests/pytest.ini" "$@"
