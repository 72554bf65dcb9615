#!/usr/bin/env bash
# fuzz.sh: build the libFuzzer targets (fuzz/fuzz_*.c, clang, ASan+UBSan) and
# run each one for a while, then replay every kept crash under
# fuzz/regressions/<target>/. One line per target, then "N passed, N failed";
# exits 1 when any target crashed, leaked, timed out or failed a replay.
#
#   scripts/fuzz.sh                      30 s per target
#   scripts/fuzz.sh 3600                 a long run: an hour per target
#   scripts/fuzz.sh 60 fuzz_auth ...     only the named targets
#
# Env: FUZZ_BUILD_DIR (default build-fuzz/ in the repo), FUZZ_JOBS (parallel
# build jobs, default nproc). Seeds come from fuzz/corpus/<target>/ and are only
# read: what a run finds goes to $FUZZ_BUILD_DIR/corpus-<target>/ (kept between
# runs, so long runs build on each other), crash inputs to
# $FUZZ_BUILD_DIR/artifacts/<target>/, logs to $FUZZ_BUILD_DIR/logs/<target>.log.
# Needs clang and libclang-rt (scripts/deps.sh installs them); installs nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
[ $# -gt 0 ] && shift
case "$seconds" in
'' | *[!0-9]*)
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [fuzz_target ...]" >&2
    exit 2
    ;;
esac
build=${FUZZ_BUILD_DIR:-$here/build-fuzz}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}

if ! command -v clang >/dev/null; then
    echo "fuzz.sh: clang is not installed (scripts/deps.sh installs it)" >&2
    exit 2
fi

targets=()
if [ $# -gt 0 ]; then
    for t in "$@"; do
        if [ ! -f "$here/fuzz/$t.c" ]; then
            echo "fuzz.sh: no such target: fuzz/$t.c" >&2
            exit 2
        fi
        targets+=("$t")
    done
else
    for src in "$here"/fuzz/fuzz_*.c; do
        [ -f "$src" ] && targets+=("$(basename "$src" .c)")
    done
fi
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz.sh: no fuzz/fuzz_*.c targets" >&2
    exit 2
fi

# Only the fuzz targets (and the libraries they link) are built: the unit tests
# and binaries of this configuration are not needed here.
mkdir -p "$build"
if ! { CC=clang cmake -S "$here" -B "$build" -DCW_FUZZ=ON >"$build/configure.log" 2>&1 &&
    cmake --build "$build" -j"$jobs" --target "${targets[@]}" >"$build/build.log" 2>&1; }; then
    tail -n 40 "$build/configure.log" "$build/build.log" >&2 || true
    echo "fuzz.sh: the fuzz build failed (logs in $build)" >&2
    exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/logs"
passed=0
failed=0
for t in "${targets[@]}"; do
    bin="$build/$t"
    log="$build/logs/$t.log"
    work="$build/corpus-$t"
    artifacts="$build/artifacts/$t"
    mkdir -p "$work" "$artifacts"
    args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$artifacts/")
    [ -f "$here/fuzz/$t.dict" ] && args+=(-dict="$here/fuzz/$t.dict")
    corpora=("$work")
    [ -d "$here/fuzz/corpus/$t" ] && corpora+=("$here/fuzz/corpus/$t")

    status=ok
    detail=""
    # The outer timeout only guards against a hang libFuzzer's own -timeout would not catch.
    if ! timeout --kill-after=10 $((seconds + 120)) "$bin" "${args[@]}" "${corpora[@]}" >"$log" 2>&1; then
        status=FAILED
        artifact=$(find "$artifacts" -type f -printf '%T@ %f\n' | sort -n | tail -n 1 | cut -d' ' -f2-)
        detail=" (${artifact:+input $artifacts/$artifact, }log $log)"
    else
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
        detail=" (${runs:-?} runs, ${cov:-?} edges, $(find "$work" -type f | wc -l) inputs in the corpus)"
    fi

    # Replays: each kept crash must now pass (libFuzzer runs files given as arguments once each).
    regressions=()
    if [ -d "$here/fuzz/regressions/$t" ]; then
        while IFS= read -r -d '' f; do
            regressions+=("$f")
        done < <(find "$here/fuzz/regressions/$t" -type f -print0 | sort -z)
    fi
    if [ ${#regressions[@]} -gt 0 ]; then
        if timeout --kill-after=10 300 "$bin" "${regressions[@]}" >>"$log" 2>&1; then
            detail="$detail, ${#regressions[@]} regressions replayed"
        else
            status=FAILED
            detail="$detail, a regression input fails again (log $log)"
        fi
    fi

    echo "$t: $status$detail"
    if [ "$status" = ok ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        grep -m 5 -E 'ERROR|SUMMARY|check failed|runtime error' "$log" | sed 's/^/    /' || true
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
