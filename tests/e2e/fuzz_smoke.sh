#!/usr/bin/env bash
# fuzz_smoke.sh: every libFuzzer target (fuzz/fuzz_*.c) runs briefly under
# ASan+UBSan from its seed corpus, and every kept crash input under
# fuzz/regressions/ replays clean: scripts/fuzz.sh with FUZZ_SMOKE_SECONDS
# (default 8) per target. The fuzz build lives in its own folder inside this
# build's (CW_BUILD_DIR/fuzz), so parallel test runs do not share one; the first
# run builds it, later runs only rebuild what changed.
# Env (from ctest): CW_SOURCE_DIR, CW_BUILD_DIR.
set -euo pipefail
src=${CW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${CW_BUILD_DIR:-$src/build}
seconds=${FUZZ_SMOKE_SECONDS:-8}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

command -v clang >/dev/null || fail "clang is not installed: run scripts/deps.sh"

# A bad argument is refused before anything is built.
if bash "$src/scripts/fuzz.sh" not-a-number >/dev/null 2>&1; then
    fail "scripts/fuzz.sh accepted a non-numeric duration"
fi
if bash "$src/scripts/fuzz.sh" 1 fuzz_no_such_target >/dev/null 2>&1; then
    fail "scripts/fuzz.sh accepted an unknown target"
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
FUZZ_BUILD_DIR="$build/fuzz" FUZZ_JOBS=${FUZZ_JOBS:-2} bash "$src/scripts/fuzz.sh" "$seconds" >"$out" 2>&1 || status=$?
cat "$out"
[ "$status" -eq 0 ] || fail "scripts/fuzz.sh exited $status"

expected=0
for f in "$src"/fuzz/fuzz_*.c; do
    [ -f "$f" ] || continue
    expected=$((expected + 1))
    name=$(basename "$f" .c)
    grep -q "^$name: ok" "$out" || fail "$name did not pass"
    if [ -d "$src/fuzz/regressions/$name" ]; then
        n=$(find "$src/fuzz/regressions/$name" -type f | wc -l)
        [ "$n" -eq 0 ] || grep -q "^$name: ok.*, $n regressions replayed" "$out" || fail "$name: the $n regression inputs were not all replayed"
    fi
done
[ "$expected" -gt 0 ] || fail "no fuzz targets in $src/fuzz"
grep -qx "$expected passed, 0 failed" "$out" || fail "expected \"$expected passed, 0 failed\""
echo "PASS: $expected fuzz targets, $seconds s each"
