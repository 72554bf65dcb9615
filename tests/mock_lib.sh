# mock_lib.sh: the shared start/stop/check helpers of the tests/e2e/mock_*.sh scripts
# (sourced). Everything listens on 127.0.0.1; what a script starts is stopped by PID.
build=${CW_BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}
CLAY_HARNESS=${CLAY_HARNESS:-$build/clay-harness}

passed=0
failed=0
ok() {
    echo "ok - $*"
    passed=$((passed + 1))
}
not_ok() {
    echo "not ok - $*"
    failed=$((failed + 1))
}
check() { # check DESCRIPTION WANT GOT
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (want '$2', got '$3')"; fi
}
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

work=$(mktemp -d "${TMPDIR:-/tmp}/cw-mock.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT

# start_mock ARGS...: starts the mock, sets mock_pid and base (http://127.0.0.1:PORT).
start_mock() {
    local out="$work/mock.${#pids[@]}.out" line="" i
    "$CLAY_HARNESS" mock --listen 127.0.0.1:0 "$@" >"$out" 2>"$out.err" &
    mock_pid=$!
    pids+=("$mock_pid")
    for ((i = 0; i < 100; i++)); do
        line=$(head -n 1 "$out" 2>/dev/null)
        [[ $line == "listening on http://"* ]] && break
        sleep 0.05
    done
    if [[ $line != "listening on http://"* ]]; then
        not_ok "mock did not start: $(cat "$out.err")"
        finish
    fi
    base=${line#listening on }
}
stop_mock() {
    kill "$mock_pid" 2>/dev/null
    wait "$mock_pid"
}

# status METHOD URL [curl args...]: prints the HTTP status.
status() {
    local m=$1 u=$2
    shift 2
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X "$m" "$@" "$u"
}

