#!/usr/bin/env bash
# `make deb`: builds dist/taskd_<version>_<arch>.deb with dpkg-buildpackage and debian/, checks it with lintian (no
# errors allowed), and shows that its binaries load no Swift runtime library.
#
#   make deb                       # the version of Sources/TaskAPI/TaskdVersion.swift
#   make deb DEB_REBUILD=1         # the same, as binary-only rebuild 1: version <version>+b1 (an upgrade of the above)
#
# debian/changelog is written here, from the one version number, and is not kept in git. The Swift build directory
# is .build-deb (TASKD_SCRATCH), kept between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh deb

version="$(make -s --no-print-directory version)"
[[ -n "$version" ]] || { echo "no version in Sources/TaskAPI/TaskdVersion.swift" >&2; exit 1; }
package_version="$version${DEB_REBUILD:+"+b$DEB_REBUILD"}"
architecture="$(dpkg-architecture -qDEB_HOST_ARCH)"
# The date of the last commit, so that a rebuild of the same tree gives the same package.
date="$(git log -1 --format=%aD 2>/dev/null || date -R)"
{
    echo "taskd ($package_version) bookworm; urgency=medium"
    echo
    if [[ -n "${DEB_REBUILD:-}" ]]; then
        echo "  * Binary-only rebuild $DEB_REBUILD of taskd $version."
    else
        echo "  * taskd $version."
    fi
    echo
    echo " -- taskd maintainers <taskd@example.com>  $date"
} >debian/changelog

mkdir -p dist
base="dist/taskd_${package_version}_$architecture"
export TASKD_SCRATCH="${TASKD_SCRATCH:-.build-deb}"
dpkg-buildpackage --build=binary --no-sign \
    --buildinfo-file="$base.buildinfo" --buildinfo-option=-udist \
    --changes-file="$base.changes" --changes-option=-udist
deb="$base.deb"

echo "== lintian $deb"
lintian --fail-on error --info "$deb"

echo "== libraries the binaries load"
unpacked="$(mktemp -d)"
trap 'rm -rf "$unpacked"' EXIT
dpkg-deb -x "$deb" "$unpacked"
for binary in taskd-fcgi taskd-ws taskctl; do
    needed="$(readelf -d "$unpacked/usr/bin/$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
    echo "$binary: $needed"
    if grep -E -q 'libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime' <<<"$needed"; then
        echo "$binary loads the Swift runtime: it must be linked with --static-swift-stdlib" >&2
        exit 1
    fi
done
echo "Depends: $(dpkg-deb -f "$deb" Depends)"
echo "== $deb ($(du -h "$deb" | cut -f1))"
