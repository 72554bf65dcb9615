#!/usr/bin/env bash
# harness_fire_clay.sh: `clay-harness fire --retry clay` with Clay's column settings against a real
# clay-function and the mock sinks. A sink slower than --clay-timeout-ms makes the function answer after
# fire gave up: fire counts the timeouts, resends the same bytes, the function answers the resends 200
# duplicate or 202 in_progress, and the ledger still holds exactly one delivery per lead and sink.
# --clay-retries 0 sends once (the function still completes what fire gave up on); --rate N/DURATION_MS
# paces like Clay's "Request limit / Duration (ms)"; bad settings exit 2.
. "$(dirname "$0")/../lib.sh"

SECRET=fire-clay-e2e-secret
SLOW_MS=2500   # the zapier sink's latency: every outreach or nurture lead is answered after it
TIMEOUT_MS=800 # fire's --clay-timeout-ms, well below it

start_mock || exit 1
mkdir -p "$E2E_TMP/store"
start_function a CLAY_WEBHOOK_SECRET="$SECRET" STORE_URL="file://$E2E_TMP/store" \
    OUTREACH_WEBHOOK_URL="$MOCK_URL/sinks/outreach" NURTURE_WEBHOOK_URL="$MOCK_URL/sinks/nurture" \
    ZAPIER_WEBHOOK_URL="$MOCK_URL/sinks/zapier" SLACK_WEBHOOK_URL="$MOCK_URL/sinks/slack" || exit 1
TARGET=$FN_URL_a
curl -s -X POST "$MOCK_URL/_harness/sinks/zapier" -d "{\"latency_ms\":$SLOW_MS}" >/dev/null

# json_get FILE PYTHON-EXPRESSION-ON-d: prints the value (python3 reads the one JSON object).
json_get() {
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# ledger_total: the number of deliveries in the mock's ledger.
ledger_total() {
    curl -s "$MOCK_URL/_harness/deliveries?summary=1" | python3 -c "import json,sys; print(json.load(sys.stdin)['total'])"
}

# wait_ledger N: waits (up to 20 s) until the ledger holds N deliveries; the function finishes what fire gave up on.
wait_ledger() {
    local deadline=$((SECONDS + 20))
    while [ "$(ledger_total)" -lt "$1" ] && [ $SECONDS -lt $deadline ]; do
        sleep 0.2
    done
    sleep 0.5 # and nothing more arrives
}

# check_ledger LABEL REPORT BEFORE-JSON: the deliveries since BEFORE are exactly fire's expected ones, none twice.
check_ledger() {
    curl -s "$MOCK_URL/_harness/deliveries?summary=1" >"$E2E_TMP/ledger-now.json"
    check "$1: the ledger grew by exactly one delivery per lead and sink, none twice" python3 -c '
import json, sys
fire, before, now = (json.load(open(p)) for p in sys.argv[1:4])
for sink, want in fire["expected_deliveries"].items():
    got = now["by_sink"].get(sink, 0) - before["by_sink"].get(sink, 0)
    uniq = now["unique_by_sink"].get(sink, 0) - before["unique_by_sink"].get(sink, 0)
    assert got == want and uniq == want, (sink, want, got, uniq)
assert now["duplicates"] == before["duplicates"], (before["duplicates"], now["duplicates"])
assert fire["expected_deliveries"]["zapier"] > 0, "no lead went to the slow sink: the test means nothing"
' "$2" "$3" "$E2E_TMP/ledger-now.json"
}

# 1. The column's timeout is shorter than the function's answer: every lead that goes to zapier times out once;
#    the resend (the same body and signature) is answered duplicate or in_progress; the ledger has each lead once.
curl -s "$MOCK_URL/_harness/deliveries?summary=1" >"$E2E_TMP/before1.json"
"$CLAY_HARNESS" fire --target "$TARGET" --count 20 --concurrency 20 --scheme hmac --secret "$SECRET" --seed 9001 \
    --retry clay --clay-retries 3 --clay-timeout-ms "$TIMEOUT_MS" --report json >"$E2E_TMP/slow.json" 2>"$E2E_TMP/slow.txt"
rc=$?
cat "$E2E_TMP/slow.txt"
zapier=$(json_get "$E2E_TMP/slow.json" "d['expected_deliveries']['zapier']")
check "timeout: fire exits 0, every lead 2xx in the end" [ "$rc" -eq 0 -a "$(json_get "$E2E_TMP/slow.json" "d['ok'], d['failed']")" = "20 0" ]
check "timeout: the report says 4 attempts per request and the timeout" \
    [ "$(json_get "$E2E_TMP/slow.json" "d['max_attempts'], d['timeout_ms']")" = "4 $TIMEOUT_MS" ]
check "timeout: each of the $zapier leads for the slow sink timed out once (timed_out $(json_get "$E2E_TMP/slow.json" "d['timed_out']"))" \
    [ "$(json_get "$E2E_TMP/slow.json" "d['timed_out']")" = "$zapier" ]
check "timeout: every resend was answered duplicate or in_progress ($(json_get "$E2E_TMP/slow.json" "d['after_timeout']"))" \
    [ "$(json_get "$E2E_TMP/slow.json" "set(d['after_timeout']) <= {'duplicate', 'in_progress'} and sum(d['after_timeout'].values()) == d['timed_out']")" = True ]
check "timeout: the final answers are processed for the fast leads, duplicate or in_progress for the slow ones" \
    [ "$(json_get "$E2E_TMP/slow.json" "d['by_result'].get('processed', 0) == 20 - $zapier and d['by_result'].get('duplicate', 0) + d['by_result'].get('in_progress', 0) == $zapier")" = True ]
check "timeout: the text summary says it" grep -q "^timed out: $zapier attempts unanswered after $TIMEOUT_MS ms; answers to their resends:" "$E2E_TMP/slow.txt"
want=$(($(json_get "$E2E_TMP/before1.json" "d['total']") + $(json_get "$E2E_TMP/slow.json" "sum(d['expected_deliveries'].values())")))
wait_ledger "$want"
check_ledger "timeout" "$E2E_TMP/slow.json" "$E2E_TMP/before1.json"

# 2. The resend is the same bytes: fired at a slow mock sink (which records every attempt it gets), the two
#    attempts of each lead carry the same Idempotency-Key and the same body.
curl -s -X POST "$MOCK_URL/_harness/sinks/slowecho" -d '{"latency_ms":1500}' >/dev/null
"$CLAY_HARNESS" fire --target "$MOCK_URL/sinks/slowecho" --count 3 --scheme hmac --secret "$SECRET" --seed 9002 \
    --idempotency-header --mutate-types --retry clay --clay-retries 1 --clay-timeout-ms 300 --report json \
    >"$E2E_TMP/echo.json" 2>/dev/null
rc=$?
check "same bytes: every attempt timed out, so fire exits 1 ($rc) and says what the resends got (timeouts)" \
    [ "$rc" -eq 1 -a "$(json_get "$E2E_TMP/echo.json" "d['attempts'], d['timed_out'], d['after_timeout']")" = "6 6 {'(timeout)': 3}" ]
curl -s "$MOCK_URL/_harness/deliveries?sink=slowecho" >"$E2E_TMP/echo-ledger.json"
check "same bytes: 3 leads x 2 attempts, each pair with one Idempotency-Key and one body" python3 -c '
import json, sys
ds = json.load(open(sys.argv[1]))["deliveries"]
assert len(ds) == 6, len(ds)
by_key = {}
for d in ds:
    by_key.setdefault(d["idempotency_key"], []).append(json.dumps(d["body"], sort_keys=True))
assert len(by_key) == 3 and all(len(b) == 2 and b[0] == b[1] for b in by_key.values()), by_key
' "$E2E_TMP/echo-ledger.json"

# 3. --clay-retries 0 ("Retry on failure" off): one attempt each; the timed-out ones fail for fire, yet the
#    function completes them: still exactly one delivery per lead and sink.
curl -s "$MOCK_URL/_harness/deliveries?summary=1" >"$E2E_TMP/before3.json"
"$CLAY_HARNESS" fire --target "$TARGET" --count 10 --concurrency 10 --scheme static --secret "$SECRET" --seed 9003 \
    --retry clay --clay-retries 0 --clay-timeout-ms "$TIMEOUT_MS" --report json >"$E2E_TMP/once.json" 2>/dev/null
rc=$?
zapier=$(json_get "$E2E_TMP/once.json" "d['expected_deliveries']['zapier']")
check "--clay-retries 0: 10 attempts, no retry, $zapier timed out and failed (exit $rc)" \
    [ "$rc" -eq 1 -a "$(json_get "$E2E_TMP/once.json" "d['attempts'], d['retries'], d['timed_out'], d['failed'], d['after_timeout']")" = "10 0 $zapier $zapier {}" ]
want=$(($(json_get "$E2E_TMP/before3.json" "d['total']") + $(json_get "$E2E_TMP/once.json" "sum(d['expected_deliveries'].values())")))
wait_ledger "$want"
check_ledger "--clay-retries 0" "$E2E_TMP/once.json" "$E2E_TMP/before3.json"

# 4. --rate N/DURATION_MS, Clay's "Request limit / Duration (ms)": 10 requests at 5 per 1000 ms start over
#    1.8 s (evenly spaced); the old form R (per second) still works.
"$CLAY_HARNESS" fire --target "$MOCK_URL/sinks/paced5" --count 10 --rate 5/1000 --seed 6 --report json \
    >"$E2E_TMP/rate.json" 2>/dev/null
check "--rate 5/1000: 10 answers in about 2 s at about 5/s ($(json_get "$E2E_TMP/rate.json" "d['elapsed_s'], d['achieved_rate']"))" \
    [ "$(json_get "$E2E_TMP/rate.json" "d['ok'] == 10 and d['offered_rate'] == 5 and 1.6 <= d['elapsed_s'] <= 4")" = True ]
"$CLAY_HARNESS" fire --target "$MOCK_URL/sinks/paced20" --count 10 --rate 20 --seed 7 --report json \
    >"$E2E_TMP/rate20.json" 2>/dev/null
check "--rate 20 (per second): 10 answers in about 0.5 s ($(json_get "$E2E_TMP/rate20.json" "d['elapsed_s']"))" \
    [ "$(json_get "$E2E_TMP/rate20.json" "d['ok'] == 10 and d['offered_rate'] == 20 and 0.4 <= d['elapsed_s'] <= 2.5")" = True ]

# 5. --max-attempts still works, as --clay-retries N-1; the default under --retry clay is 2 retries (3 attempts).
curl -s -X POST "$MOCK_URL/_harness/sinks/flaky" -d '{"fail_always":true,"status":503}' >/dev/null
"$CLAY_HARNESS" fire --target "$MOCK_URL/sinks/flaky" --count 1 --retry clay --report json >"$E2E_TMP/default.json" 2>/dev/null
check "--retry clay alone: 3 attempts" [ "$(json_get "$E2E_TMP/default.json" "d['attempts'], d['max_attempts']")" = "3 3" ]
"$CLAY_HARNESS" fire --target "$MOCK_URL/sinks/flaky" --count 1 --retry clay --max-attempts 2 --report json \
    >"$E2E_TMP/max.json" 2>/dev/null
check "--max-attempts 2: 2 attempts" [ "$(json_get "$E2E_TMP/max.json" "d['attempts']")" = 2 ]
curl -s -X DELETE "$MOCK_URL/_harness/sinks/flaky" >/dev/null

# 6. Bad settings exit 2 with one line naming the option.
usage() { # usage DESCRIPTION WORD ARGS...: exit 2 and WORD in the message
    local what=$1 word=$2
    shift 2
    "$CLAY_HARNESS" fire --target "$TARGET" "$@" >/dev/null 2>"$E2E_TMP/usage.txt"
    local rc=$? named=0
    grep -q -- "$word" "$E2E_TMP/usage.txt" && named=1
    check "$what: exit 2 naming $word ($(head -n1 "$E2E_TMP/usage.txt"))" [ "$rc" -eq 2 -a "$named" -eq 1 ]
}
usage "--rate 0/1000" --rate --rate 0/1000
usage "--rate 5/0" --rate --rate 5/0
usage "--rate five" --rate --rate five
usage "--rate 1.5/1000" --rate --rate 1.5/1000
usage "--clay-retries without --retry clay" --clay-retries --clay-retries 3
usage "--clay-retries and --max-attempts disagreeing" --max-attempts --retry clay --clay-retries 3 --max-attempts 3
usage "--clay-retries over 99" --clay-retries --retry clay --clay-retries 100
usage "--clay-timeout-ms 0" --clay-timeout-ms --clay-timeout-ms 0

finish
