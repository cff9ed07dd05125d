# shellcheck shell=bash
# nginx for the entry points that run their own: where its binary is, and how it runs as root. Sourced; defines
# functions only. The templates are rendered by scripts/tools/render-nginx.sh.

# find_nginx: prints the nginx binary: the one on PATH, else Debian's /usr/sbin/nginx or /usr/local/sbin/nginx (which
# a user's PATH may lack). Fails, saying how to install it, when there is none.
find_nginx() {
    local candidate
    if candidate="$(command -v nginx)"; then
        echo "$candidate"
        return 0
    fi
    for candidate in /usr/sbin/nginx /usr/local/sbin/nginx; do
        if [[ -x "$candidate" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    echo "nginx is not installed (scripts/install-deps.sh installs it)" >&2
    return 1
}

# nginx_user_directive: prints the templates' USER_DIRECTIVE: as root, "user root root;" (nginx's workers would
# otherwise run as nobody, who cannot reach the private prefix); else nothing.
nginx_user_directive() {
    if [[ "$(id -u)" == 0 ]]; then echo "user root root;"; fi
}
