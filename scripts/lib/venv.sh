# shellcheck shell=bash
# The Python packages of Tests/WebTests (pytest, selenium, schemathesis, ...) and of `make lint` (ruff), pinned in
# Tests/WebTests/requirements.txt, in a venv created from Debian's python3. Used by scripts/test-web.sh (make test),
# scripts/bench-ws.sh (make bench-ws) and scripts/lint.sh (make lint). Sourced; defines functions only.

# web_venv_prepare VENV REQUIREMENTS: creates the venv VENV with exactly the packages of REQUIREMENTS (--no-deps: the
# file pins every dependency too), unless it holds them already; it is created anew when REQUIREMENTS changes.
web_venv_prepare() {
    local venv="$1" requirements="$2" python=/usr/bin/python3
    local stamp="$venv/requirements.sha256" wanted
    wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
    if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]]; then
        rm -rf "$venv"
        "$python" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --require-virtualenv \
            --no-deps --requirement "$requirements"
        "$venv/bin/python" -m pip check --disable-pip-version-check
        echo "$wanted" >"$stamp"
    fi
}
