#!/usr/bin/env bash
# test.sh: build everything, then run every test (unit, end-to-end, fixture
# replay, scenarios, fuzz smoke, infra checks, lint) with ctest, then the whole
# suite again in an ASan+UBSan build (leaks checked; tests/lsan.supp names the h2o
# state that lives until exit), then the unit tests and the most threaded e2e
# tests in a ThreadSanitizer build (tests/tsan.supp). Prints ctest's summary of
# each pass.
#   scripts/test.sh            all three passes
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

    echo "== tests under ThreadSanitizer (build-tsan/)"
    tsan_started=$(date +%s)
    BUILD_DIR="$here/build-tsan" BUILD_TYPE=Debug "$here/scripts/build.sh" -DCW_SANITIZE=thread
    # Which tests: every unit test (the worker loops, the curl thread, the file store's I/O threads, the
    # mock, run in-process) and the e2e tests that drive the most threads at once. Measured on 2 cores:
    # the build ~1 min (~3 min from scratch), these tests ~3 min; the other e2e tests would add ~3 min
    # more for code these already drive (CI's tsan job runs them all). fuzz_smoke builds its own
    # sanitized tree; lint checks sources, not a build.
    tsan_tests='^(lib|function|harness)/|^e2e/(function_serve|harness_fire|scenarios|send_relay|store_conformance)$'
    # shellcheck disable=SC2086
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$here/tests/tsan.supp" \
        ctest --test-dir "$here/build-tsan" --output-on-failure -j"$jobs" -R "$tsan_tests" ${CTEST_ARGS:-} || status=1
    echo "== ThreadSanitizer pass: $(($(date +%s) - tsan_started)) s"
fi
exit $status
