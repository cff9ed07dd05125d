#!/usr/bin/env bash
# `make test`, after `swift test`: the tests that need a real browser or Python tools (Tests/WebTests): the dashboard
# in headless Chromium, the AsyncAPI document against real frames, schemathesis against the OpenAPI document, and
# every command `make run` prints and the README and docs/api.md show.
#
# Their Python packages are pinned in Tests/WebTests/requirements.txt and installed into .build-venv, created here
# from Debian's python3 (re-created when the requirements change). Chromium and chromedriver come from Debian
# (scripts/install-deps.sh); a missing one fails the tests, it never skips them. Arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

python=/usr/bin/python3
venv="$root/.build-venv"
requirements="$root/Tests/WebTests/requirements.txt"
stamp="$venv/requirements.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --require-virtualenv \
        --no-deps --requirement "$requirements"
    "$venv/bin/python" -m pip check --disable-pip-version-check
    echo "$wanted" >"$stamp"
fi

# No bytecode files in the checkout.
export PYTHONDONTWRITEBYTECODE=1
# The binaries `swift build --build-tests` made (the debug build), unless the caller names others.
export TASKD_BIN_DIR="${TASKD_BIN_DIR:-$(swift build --show-bin-path)}"
exec "$venv/bin/python" -m pytest -c "$root/Tests/WebTests/pytest.ini" "$@"
