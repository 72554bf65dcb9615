#!/usr/bin/env bash
# test.sh: build everything, then run every test (unit, end-to-end, fixtures,
# scenarios) with ctest, and print ctest's summary.
#   scripts/test.sh              the normal build (build/)
#   scripts/test.sh --sanitize   also the ASan+UBSan build (build-asan/), whole suite again
#   CTEST_ARGS="-R lib/"         pass a filter to ctest
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
sanitize=0
for a in "$@"; do
    case "$a" in
    --sanitize) sanitize=1 ;;
    *) echo "test.sh: unknown option $a" >&2; exit 2 ;;
    esac
done
jobs=$(nproc 2>/dev/null || echo 2)

BUILD_DIR="$here/build" "$here/scripts/build.sh"
"$here/scripts/tools.sh"
status=0
ctest --test-dir "$here/build" --output-on-failure -j"$jobs" ${CTEST_ARGS:-} || status=1

if [ "$sanitize" = 1 ]; then
    BUILD_DIR="$here/build-asan" BUILD_TYPE=Debug "$here/scripts/build.sh" -DCW_SANITIZE=ON
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        LSAN_OPTIONS="suppressions=$here/tests/lsan.supp:print_suppressions=0" \
        ctest --test-dir "$here/build-asan" --output-on-failure -j"$jobs" ${CTEST_ARGS:-} || status=1
fi
exit $status
