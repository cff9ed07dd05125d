#!/usr/bin/env bash
# `make lint`: every language's linter, each configured by a file at the repository's root; fails if any finds
# anything (after all of them have run):
#   swift-format (.swift-format)   Sources, Tests
#   ShellCheck (.shellcheckrc)     every shell script: *.sh, and the files whose first line runs sh or bash
#   ESLint (.eslintrc.json)        web/*.js, the dashboard
#   ruff (ruff.toml)               the Python: Tests/WebTests, scripts/tools
# ShellCheck and ESLint come from Debian (scripts/install-deps.sh lint); ruff from PyPI, pinned with the web tests'
# packages in Tests/WebTests/requirements.txt and installed into .build-venv.
#
# Environment: SWIFT, the swift command (default swift).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source scripts/lib/venv.sh

scripts/install-deps.sh lint
venv="$root/.build-venv"
web_venv_prepare "$venv" "$root/Tests/WebTests/requirements.txt"

# shell_scripts: the repository's shell scripts, one path a line, outside the build folders and what builds write.
shell_scripts() {
    local file
    find . \( -name '.build*' -o -name .git -o -path ./var -o -path ./dist -o -path ./debian/taskd \
        -o -path ./debian/tmp -o -path ./debian/.debhelper \) -prune -o -type f -print | sort |
        while read -r file; do
            if [[ "$file" == *.sh ]] || head -n 1 "$file" | grep -qE '^#!(/usr)?/bin/(env )?(ba)?sh\b'; then
                echo "$file"
            fi
        done
}

failed=()
echo "== swift-format: Sources Tests" >&2
"${SWIFT:-swift}" format lint --strict -r Sources Tests || failed+=(swift-format)

mapfile -t scripts < <(shell_scripts)
echo "== shellcheck: ${#scripts[@]} scripts" >&2
shellcheck "${scripts[@]}" || failed+=(shellcheck)

echo "== ESLint: web/" >&2
# Debian's ESLint finds its modules in /usr/share/nodejs, where Debian's node looks by itself and another node does not.
NODE_PATH=/usr/share/nodejs eslint --max-warnings 0 --report-unused-disable-directives --format unix web/ ||
    failed+=(ESLint)

echo "== ruff: Tests/WebTests scripts/tools" >&2
"$venv/bin/ruff" check --quiet Tests/WebTests scripts/tools || failed+=(ruff)

if ((${#failed[@]} > 0)); then
    echo "make lint: ${failed[*]} found problems" >&2
    exit 1
fi
echo "make lint: clean" >&2
