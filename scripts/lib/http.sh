# shellcheck shell=bash
# HTTP from the entry points (curl): the status code an address answers. Sourced; defines functions only.

# http_status URL [CURL_ARGUMENTS...]: prints the status code of a request to URL (000 when nothing answers).
http_status() {
    local url="$1"
    shift
    curl -s -o /dev/null -w '%{http_code}' "$@" "$url" || true
}

# http_status_is CODE URL [CURL_ARGUMENTS...]: whether a request to URL is answered with CODE.
http_status_is() {
    local code="$1"
    shift
    [[ "$(http_status "$@")" == "$code" ]]
}
