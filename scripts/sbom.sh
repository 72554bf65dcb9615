#!/usr/bin/env bash
# sbom.sh writes the CycloneDX SBOM of clay-function (scripts/sbom.js, with
# @cyclonedx/cyclonedx-library) from .deps/manifest, the record scripts/deps.sh
# keeps of the exact Debian source versions it built (h2o, curl) and the
# libraries linked (BoringSSL, cJSON, nghttp2, zlib, glibc, libgcc/libstdc++)
# or used to build (libyaml). The Dockerfile's "sbom" stage runs it; the image
# carries the result at /usr/share/doc/clay-function/sbom.cdx.json and releases
# attach it.
#
#   scripts/sbom.sh [--manifest FILE] [--version V] [--out FILE]   (default: .deps/manifest, git describe, sbom.cdx.json)
#   scripts/sbom.sh --check [--manifest FILE] --sbom FILE          (schema-valid and equal to the manifest)
#
# The npm packages are pinned below and installed once into .tools/sbom
# (CW_SBOM_TOOLS), reused while the stamp matches (no network then).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${CW_SBOM_TOOLS:-$root/.tools/sbom}
PACKAGES=(
    @cyclonedx/cyclonedx-library@10.3.0
    packageurl-js@2.0.1
    ajv@8.20.0
    ajv-formats@3.0.1
    ajv-formats-draft2019@1.6.1
)
STAMP="sbom-tools/1 ${PACKAGES[*]}"

mode=generate
manifest=$root/.deps/manifest
out=sbom.cdx.json
sbom=""
version=${VERSION:-}
while [ $# -gt 0 ]; do
    case "$1" in
    --check) mode=check ;;
    --manifest) manifest=$2; shift ;;
    --version) version=$2; shift ;;
    --out) out=$2; shift ;;
    --sbom) sbom=$2; shift ;;
    *)
        echo "sbom.sh: unknown option $1" >&2
        exit 2
        ;;
    esac
    shift
done
if [ ! -f "$manifest" ]; then
    echo "sbom.sh: $manifest missing: scripts/deps.sh writes it (rm -rf .deps and rerun it if .deps predates the manifest)" >&2
    exit 1
fi

command -v node >/dev/null && command -v npm >/dev/null || {
    echo "sbom.sh: node and npm are needed" >&2
    exit 1
}
if ! { [ -f "$TOOLS/stamp" ] && [ "$(cat "$TOOLS/stamp")" = "$STAMP" ] && [ -d "$TOOLS/node_modules" ]; }; then
    mkdir -p "$TOOLS"
    (
        flock -w 300 9 || exit 1
        if [ -f "$TOOLS/stamp" ] && [ "$(cat "$TOOLS/stamp")" = "$STAMP" ]; then
            exit 0
        fi
        rm -rf "$TOOLS/node_modules" "$TOOLS/package.json" "$TOOLS/package-lock.json" "$TOOLS/stamp"
        echo "sbom.sh: installing ${PACKAGES[*]} into $TOOLS" >&2
        npm install --prefix "$TOOLS" --no-audit --no-fund --save-exact --loglevel=error "${PACKAGES[@]}" >&2 &&
            echo "$STAMP" >"$TOOLS/stamp"
    ) 9>"$TOOLS/.lock"
fi
export NODE_PATH=$TOOLS/node_modules

if [ "$mode" = check ]; then
    [ -n "$sbom" ] || {
        echo "sbom.sh: --check needs --sbom FILE" >&2
        exit 2
    }
    exec node "$root/scripts/sbom.js" check --manifest "$manifest" --sbom "$sbom"
fi
if [ -z "$version" ]; then
    version=$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo 0.0.0-dev)
    version=${version#v}
fi
exec node "$root/scripts/sbom.js" generate --manifest "$manifest" --version "$version" --out "$out"
