#!/usr/bin/env bash
# Renders nginx/local.conf.template to stdout. Usage: render-nginx.sh NAME=VALUE ...
# Every {{NAME}} in the template must get a value; the integration-test harness renders the same template.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
conf="$(<"$root/nginx/local.conf.template")"
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
