#!/usr/bin/env bash
# Renders nginx/local.conf.template (or the template --template names) to stdout.
# Usage: render-nginx.sh [--template FILE] NAME=VALUE ...
# Every {{NAME}} in the template must get a value; the integration-test harness renders the same templates.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
template="$root/nginx/local.conf.template"
if [[ "${1:-}" == --template ]]; then
    template="$2"
    shift 2
fi
conf="$(<"$template")"
for assignment in "$@"; do
    name="${assignment%%=*}"
    value="${assignment#*=}"
    conf="${conf//"{{$name}}"/$value}"
done
if [[ "$conf" == *"{{"* ]]; then
    left="${conf#*\{\{}"
    echo "render-nginx.sh: no value for {{${left%%\}\}*}}}" >&2
    exit 1
fi
printf '%s\n' "$conf"
