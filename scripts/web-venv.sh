# Sourced by scripts/test-web.sh (make test) and scripts/bench-ws.sh (make bench-ws): the Python packages of
# Tests/WebTests, pinned in its requirements.txt, installed into .build-venv, which is created from Debian's python3
# (re-created when the requirements change). Expects $root, the repository; sets $venv.

web_venv_prepare() {
    local python=/usr/bin/python3
    local requirements="$root/Tests/WebTests/requirements.txt"
    local stamp wanted
    venv="$root/.build-venv"
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
}
