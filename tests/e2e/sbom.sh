#!/usr/bin/env bash
# sbom.sh: the SBOM lists what scripts/deps.sh actually built. Generates the
# CycloneDX SBOM with scripts/sbom.sh from .deps/manifest, then checks: the
# manifest is true of this machine (h2o's and curl's upstream versions in the
# headers deps.sh installed, and `dpkg-query -W` of every library it records),
# the SBOM is schema-valid, and every manifest entry is in it with its exact
# Debian source version (and nothing else). Env (from ctest): CW_SOURCE_DIR.
set -uo pipefail
src=${CW_SOURCE_DIR:-}
[ -n "$src" ] || src=$(cd "$(dirname "$0")/../.." && pwd)
deps=${CW_DEPS_DIR:-$src/.deps}
manifest=$deps/manifest
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
ok() { echo "ok - $*"; }
not_ok() {
    echo "not ok - $*"
    failed=1
}

if [ ! -f "$manifest" ]; then
    # deps.sh records it at build time, or afterwards while apt's source lists are unchanged.
    bash "$src/scripts/deps.sh" >/dev/null 2>&1 || true
fi
if [ ! -f "$manifest" ]; then
    echo "not ok - $manifest missing (rm -rf $deps and rerun scripts/deps.sh)"
    exit 1
fi

# The manifest against the machine.
h2o_up=$(sed -n 's/^#define H2O_VERSION "\(.*\)"/\1/p' "$deps/include/h2o/version.h")
curl_up=$(sed -n 's/^#define LIBCURL_VERSION "\(.*\)"/\1/p' "$deps/include/curl/curlver.h")
h2o_rec=$(awk -F'\t' '$1 == "built" && $2 == "h2o" { print $3 }' "$manifest")
curl_rec=$(awk -F'\t' '$1 == "built" && $2 == "curl" { print $3 }' "$manifest")
case "$h2o_rec" in
"$h2o_up"+* | "$h2o_up"-*) ok "manifest: h2o $h2o_rec is the source of the installed h2o $h2o_up" ;;
*) not_ok "manifest: h2o '$h2o_rec' does not match the installed h2o '$h2o_up'" ;;
esac
case "$curl_rec" in
"$curl_up"+* | "$curl_up"-*) ok "manifest: curl $curl_rec is the source of the installed libcurl $curl_up" ;;
*) not_ok "manifest: curl '$curl_rec' does not match the installed libcurl '$curl_up'" ;;
esac
n=0
while IFS=$'\t' read -r kind srcpkg srcver bin binver; do
    case "$kind" in linked | build) ;; *) continue ;; esac
    n=$((n + 1))
    now=$(dpkg-query -W -f='${source:Package}\t${source:Version}\t${Version}' "$bin" 2>/dev/null)
    if [ "$now" = "$srcpkg"$'\t'"$srcver"$'\t'"$binver" ]; then
        :
    else
        not_ok "manifest: $bin $binver (source $srcpkg $srcver) recorded, installed now: ${now:-nothing}"
    fi
done <"$manifest"
[ "$n" -ge 6 ] && ok "manifest: the $n libraries it records are the ones installed (dpkg-query -W)" ||
    not_ok "manifest: only $n libraries recorded"

# The SBOM from the manifest.
if bash "$src/scripts/sbom.sh" --manifest "$manifest" --version 0.0.0-test --out "$tmp/sbom.cdx.json" >"$tmp/gen.log" 2>&1; then
    ok "sbom.sh: generated $(wc -c <"$tmp/sbom.cdx.json") bytes of CycloneDX"
else
    not_ok "sbom.sh: generation failed: $(tr '\n' ' ' <"$tmp/gen.log" | cut -c1-400)"
    exit 1
fi
if out=$(bash "$src/scripts/sbom.sh" --check --manifest "$manifest" --sbom "$tmp/sbom.cdx.json" 2>&1); then
    echo "$out"
else
    echo "$out"
    failed=1
fi
# A tampered SBOM must be caught (the check checks).
sed 's/"version": "'"$curl_rec"'"/"version": "7.88.1-0"/' "$tmp/sbom.cdx.json" >"$tmp/bad.json"
if bash "$src/scripts/sbom.sh" --check --manifest "$manifest" --sbom "$tmp/bad.json" >/dev/null 2>&1; then
    not_ok "sbom.sh --check accepted an SBOM with a wrong curl version"
else
    ok "sbom.sh --check refuses an SBOM with a wrong curl version"
fi
exit $failed
