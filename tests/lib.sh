# lib.sh: helpers for the end-to-end scripts in tests/e2e (sourced with
# `. "$(dirname "$0")/../lib.sh"`). Every process a script starts is recorded and stopped by
# PID on exit; every wait is bounded; everything listens on 127.0.0.1.
set -u
: "${CLAY_FUNCTION:?set by ctest}" "${CLAY_HARNESS:?set by ctest}"
E2E_PIDS=()
E2E_TMP=$(mktemp -d /tmp/cw-e2e.XXXXXX)
E2E_PASSED=0
E2E_FAILED=0

e2e_cleanup() {
    local pid
    for pid in "${E2E_PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null
    done
    for pid in "${E2E_PIDS[@]:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null
    done
    rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT

pass() { E2E_PASSED=$((E2E_PASSED + 1)); echo "ok - $*"; }
fail() { E2E_FAILED=$((E2E_FAILED + 1)); echo "FAIL - $*"; }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
    echo "$E2E_PASSED passed, $E2E_FAILED failed"
    [ "$E2E_FAILED" -eq 0 ]
}

# wait_for_line FILE REGEX [SECONDS]: wait until FILE has a line matching REGEX.
wait_for_line() {
    local file=$1 re=$2 limit=${3:-10} i=0
    while [ $i -lt $((limit * 20)) ]; do
        grep -qE "$re" "$file" 2>/dev/null && return 0
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

# start_function NAME [ENV=VALUE...]: starts clay-function on 127.0.0.1 and a free
# port with the given environment; sets FN_PID_<NAME>, FN_URL_<NAME>, FN_LOG_<NAME>.
start_function() {
    local name=$1
    shift
    local log="$E2E_TMP/fn-$name.log"
    env BIND_ADDRESS=127.0.0.1 PORT=0 WORKERS=${WORKERS:-2} "$@" "$CLAY_FUNCTION" serve >"$log" 2>&1 &
    local pid=$!
    E2E_PIDS+=("$pid")
    if ! wait_for_line "$log" '"message":"listening"' 10; then
        echo "clay-function $name did not start:" >&2
        cat "$log" >&2
        return 1
    fi
    local port
    port=$(grep -m1 '"message":"listening"' "$log" | sed -E 's/.*"port":([0-9]+).*/\1/')
    printf -v "FN_PID_$name" '%s' "$pid"
    printf -v "FN_URL_$name" 'http://127.0.0.1:%s' "$port"
    printf -v "FN_LOG_$name" '%s' "$log"
}

# start_mock [ARGS...]: starts clay-harness mock on a free port; sets MOCK_PID, MOCK_URL.
start_mock() {
    local log="$E2E_TMP/mock.log"
    "$CLAY_HARNESS" mock --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
    MOCK_PID=$!
    E2E_PIDS+=("$MOCK_PID")
    if ! wait_for_line "$log" 'listening on http://127.0.0.1:[0-9]+' 10; then
        echo "clay-harness mock did not start:" >&2
        cat "$log" >&2
        return 1
    fi
    MOCK_URL=$(grep -m1 -oE 'http://127.0.0.1:[0-9]+' "$log")
}

# stop_pid PID [SECONDS]: SIGTERM, then wait (bounded, then SIGKILL); sets STOP_RC
# to the exit status (run it in this shell, not in $(...): only the parent can wait).
stop_pid() {
    local pid=$1 limit=${2:-10} i=0
    kill -TERM "$pid" 2>/dev/null
    while kill -0 "$pid" 2>/dev/null && [ $i -lt $((limit * 20)) ]; do
        # a zombie still answers kill -0: ask ps whether it is done
        [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && break
        sleep 0.05
        i=$((i + 1))
    done
    if [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != Z ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        STOP_RC=137
        return
    fi
    wait "$pid" 2>/dev/null
    STOP_RC=$?
}

# post_callback URL SECRET BODY [extra curl args]: prints "STATUS BODY".
post_callback() {
    local url=$1 secret=$2 body=$3
    shift 3
    curl -s -o "$E2E_TMP/resp" -w '%{http_code}' -X POST "$url/api/clay/enriched" \
        -H 'Content-Type: application/json' -H "X-Clay-Secret: $secret" --data-binary "$body" "$@"
    printf ' %s' "$(cat "$E2E_TMP/resp")"
}
