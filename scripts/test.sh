#!/usr/bin/env bash
# test.sh: build everything, then run every test (unit, end-to-end, fixture
# replay, scenarios, fuzz smoke, infra checks) with ctest, then the whole suite
# again in an ASan+UBSan build (leaks checked; tests/lsan.supp names the h2o
# state that lives until exit). Prints ctest's summary of each pass.
#   scripts/test.sh            both passes
#   scripts/test.sh --quick    the normal build only
#   CTEST_ARGS="-R lib/"       pass a filter to ctest
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
sanitize=1
for a in "$@"; do
    case "$a" in
    --quick) sanitize=0 ;;
    --sanitize) sanitize=1 ;;
    *)
        echo "test.sh: unknown option $a (use --quick)" >&2
        exit 2
        ;;
    esac
done
jobs=$(nproc 2>/dev/null || echo 2)

BUILD_DIR="$here/build" "$here/scripts/build.sh"
"$here/scripts/tools.sh"
status=0
echo "== tests (build/)"
# shellcheck disable=SC2086
ctest --test-dir "$here/build" --output-on-failure -j"$jobs" ${CTEST_ARGS:-} || status=1

if [ "$sanitize" = 1 ]; then
    echo "== tests under ASan+UBSan (build-asan/)"
    BUILD_DIR="$here/build-asan" BUILD_TYPE=Debug "$here/scripts/build.sh" -DCW_SANITIZE=ON
    # The fuzz smoke run is already sanitized (it builds its own libFuzzer tree): not twice.
    # shellcheck disable=SC2086
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        LSAN_OPTIONS="suppressions=$here/tests/lsan.supp:print_suppressions=0" \
        ctest --test-dir "$here/build-asan" --output-on-failure -j"$jobs" -E 'e2e/fuzz_smoke' ${CTEST_ARGS:-} || status=1
fi
exit $status
