#!/usr/bin/env bash
# harness_fire.sh: `clay-harness fire` against a real clay-function and the mock sinks: a duplicate
# storm with mutated types delivers exactly once per unique lead and sink (fire's expected counts
# against the mock's ledger), every scheme is accepted, every tamper mode is refused with 401, the exit
# code follows the answers, and --report json is one parsable object.
. "$(dirname "$0")/../lib.sh"

SECRET=fire-e2e-secret
WHSEC='whsec_L+a80ygH3VKIo69SC0mqH8opR1yagHFp7mRJSbAgM8Q='

start_mock || exit 1
mkdir -p "$E2E_TMP/store"
start_function a CLAY_WEBHOOK_SECRET="$SECRET,$WHSEC" STORE_URL="file://$E2E_TMP/store" \
    OUTREACH_WEBHOOK_URL="$MOCK_URL/sinks/outreach" NURTURE_WEBHOOK_URL="$MOCK_URL/sinks/nurture" \
    ZAPIER_WEBHOOK_URL="$MOCK_URL/sinks/zapier" SLACK_WEBHOOK_URL="$MOCK_URL/sinks/slack" || exit 1
TARGET=$FN_URL_a

# json_get FILE PYTHON-EXPRESSION-ON-d: prints the value (python3 reads the one JSON object).
json_get() {
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# 1. The duplicate storm: 200 leads x 3 copies, shuffled, 16 in flight, Clay-style type variance.
"$CLAY_HARNESS" fire --target "$TARGET" --count 200 --dup 3 --concurrency 16 --shuffle --mutate-types \
    --scheme hmac --secret "$SECRET" --seed 4242 --retry clay --report json >"$E2E_TMP/storm.json" 2>"$E2E_TMP/storm.txt"
rc=$?
cat "$E2E_TMP/storm.txt"
check "storm: fire exits 0" [ "$rc" -eq 0 ]
check "storm: 600 answers, all 2xx" [ "$(json_get "$E2E_TMP/storm.json" "d['requests'], d['ok'], d['failed']")" = "600 600 0" ]
check "storm: 200 processed, the rest duplicate or in_progress" \
    [ "$(json_get "$E2E_TMP/storm.json" "d['by_result'].get('processed', 0), d['by_result'].get('duplicate', 0) + d['by_result'].get('in_progress', 0)")" = "200 400" ]
curl -s "$MOCK_URL/_harness/deliveries?summary=1" >"$E2E_TMP/ledger.json"
cat "$E2E_TMP/ledger.json"
echo
for sink in outreach nurture zapier slack; do
    want=$(json_get "$E2E_TMP/storm.json" "d['expected_deliveries']['$sink']")
    got=$(json_get "$E2E_TMP/ledger.json" "d['unique_by_sink'].get('$sink', 0)")
    total=$(json_get "$E2E_TMP/ledger.json" "d['by_sink'].get('$sink', 0)")
    check "storm: $sink got $want unique deliveries (ledger: $got unique, $total in all)" [ "$got" = "$want" -a "$total" = "$want" ]
done
check "storm: some leads go to each sink (the comparison means something)" \
    [ "$(json_get "$E2E_TMP/storm.json" "min(d['expected_deliveries'].values()) > 0")" = True ]
check "storm: the ledger holds no duplicate" [ "$(json_get "$E2E_TMP/ledger.json" "d['duplicates']")" = 0 ]

# 2. Each scheme is accepted (new seeds: new leads).
for scheme in static bearer hmac standard; do
    secret=$SECRET
    [ "$scheme" = standard ] && secret=$WHSEC
    "$CLAY_HARNESS" fire --target "$TARGET" --count 20 --concurrency 4 --scheme "$scheme" --secret "$secret" \
        --seed 77 --mutate-types >"$E2E_TMP/scheme.txt" 2>&1
    rc=$?
    check "scheme $scheme: every answer 2xx (exit $rc: $(grep '^status:' "$E2E_TMP/scheme.txt"))" [ "$rc" -eq 0 ]
done
"$CLAY_HARNESS" fire --target "$TARGET" --count 10 --scheme standard --secret "$WHSEC" --seed 78 --skew 120 \
    >"$E2E_TMP/skew.txt" 2>&1
check "standard with 120 s of skew (inside the tolerance): accepted" [ $? -eq 0 ]

# 3. Every tamper mode is refused with 401, and that is a success for fire.
before=$(curl -s "$MOCK_URL/_harness/deliveries?summary=1" | python3 -c "import json,sys; print(json.load(sys.stdin)['total'])")
for mode in wrong-secret wrong-length non-hex missing; do
    "$CLAY_HARNESS" fire --target "$TARGET" --count 10 --scheme hmac --secret "$SECRET" --tamper "$mode" --seed 79 \
        --report json >"$E2E_TMP/tamper.json" 2>/dev/null
    rc=$?
    check "tamper hmac $mode: all 401 (exit $rc)" \
        [ "$rc" -eq 0 -a "$(json_get "$E2E_TMP/tamper.json" "d['by_status']")" = "{'401': 10}" ]
done
for mode in wrong-secret wrong-length non-base64 missing; do
    "$CLAY_HARNESS" fire --target "$TARGET" --count 5 --scheme standard --secret "$WHSEC" --tamper "$mode" --seed 80 \
        >"$E2E_TMP/tamper.txt" 2>&1
    check "tamper standard $mode: all 401" grep -q '^status: 401=5$' "$E2E_TMP/tamper.txt"
done
for mode in wrong-secret wrong-length malformed; do
    "$CLAY_HARNESS" fire --target "$TARGET" --count 5 --scheme static --secret "$SECRET" --tamper "$mode" --seed 81 \
        >"$E2E_TMP/tamper.txt" 2>&1
    check "tamper static $mode: all 401" grep -q '^status: 401=5$' "$E2E_TMP/tamper.txt"
done
"$CLAY_HARNESS" fire --target "$TARGET" --count 5 --scheme standard --secret "$WHSEC" --skew -1000 --seed 82 \
    >"$E2E_TMP/stale.txt" 2>&1
rc=$?
check "a stale Standard Webhooks timestamp is refused, and fire exits 1" [ "$rc" -eq 1 -a "$(grep -c '^status: 401=5$' "$E2E_TMP/stale.txt")" = 1 ]
curl -s "$MOCK_URL/_harness/deliveries?summary=1" >"$E2E_TMP/ledger2.json"
check "refused requests delivered nothing ($before deliveries before and after)" \
    [ "$(json_get "$E2E_TMP/ledger2.json" "d['total']")" = "$before" ]

# 4. Idempotency-Key: the same leads (same seed) with the header are new events (the key differs from the
#    body) but each only once; fired again they are all duplicates.
"$CLAY_HARNESS" fire --target "$TARGET" --count 15 --dup 2 --concurrency 8 --scheme static --secret "$SECRET" \
    --seed 4242 --idempotency-header --report json >"$E2E_TMP/idem.json" 2>/dev/null
check "idempotency header: 15 processed" [ "$(json_get "$E2E_TMP/idem.json" "d['by_result'].get('processed', 0)")" = 15 ]
"$CLAY_HARNESS" fire --target "$TARGET" --count 15 --scheme bearer --secret "$SECRET" --mutate-types \
    --seed 4242 --idempotency-header --report json >"$E2E_TMP/idem2.json" 2>/dev/null
check "idempotency header, other bytes, same keys (bearer: unsigned, the key is trusted): all duplicate" \
    [ "$(json_get "$E2E_TMP/idem2.json" "d['by_result']")" = "{'duplicate': 15}" ]

# 5. Open loop at a fixed rate: the achieved rate is near the offered one.
"$CLAY_HARNESS" fire --target "$MOCK_URL/sinks/paced" --count 200 --rate 200 --seed 5 --report json \
    >"$E2E_TMP/rate.json" 2>/dev/null
check "--rate 200: 200 answers in about a second ($(json_get "$E2E_TMP/rate.json" "d['elapsed_s']") s)" \
    [ "$(json_get "$E2E_TMP/rate.json" "d['ok'] == 200 and 0.9 <= d['elapsed_s'] <= 3")" = True ]

# 6. Clay-like retries: a target that fails twice with 503, then 429 with Retry-After, then answers.
curl -s -X POST "$MOCK_URL/_harness/sinks/flaky" -d '{"fail_next":2,"status":503}' >/dev/null
"$CLAY_HARNESS" fire --target "$MOCK_URL/sinks/flaky" --count 1 --retry clay --report json >"$E2E_TMP/retry.json" 2>/dev/null
check "retry clay: 503 twice, then 200 on the third attempt" \
    [ "$(json_get "$E2E_TMP/retry.json" "d['ok'], d['attempts'], d['retries']")" = "1 3 2" ]
curl -s -X POST "$MOCK_URL/_harness/sinks/flaky" -d '{"fail_next":1,"status":429,"retry_after":1}' >/dev/null
"$CLAY_HARNESS" fire --target "$MOCK_URL/sinks/flaky" --count 1 --retry clay --report json >"$E2E_TMP/retry.json" 2>/dev/null
check "retry clay: Retry-After: 1 is honoured ($(json_get "$E2E_TMP/retry.json" "d['latency_ms']['max']") ms)" \
    [ "$(json_get "$E2E_TMP/retry.json" "d['ok'] == 1 and d['latency_ms']['max'] >= 1000")" = True ]
curl -s -X POST "$MOCK_URL/_harness/sinks/flaky" -d '{"fail_next":1,"status":503}' >/dev/null
"$CLAY_HARNESS" fire --target "$MOCK_URL/sinks/flaky" --count 1 >"$E2E_TMP/noretry.txt" 2>&1
rc=$?
check "without --retry a 503 is final and fire exits 1" [ "$rc" -eq 1 -a "$(grep -c '^status: 503=1$' "$E2E_TMP/noretry.txt")" = 1 ]

# 7. A fixture's request as the body: each --idempotency-header key is one event; --secret replaces the
#    fixture's secret; the ledger grows by exactly the expected deliveries.
before=$(curl -s "$MOCK_URL/_harness/deliveries?summary=1" | python3 -c "import json,sys; print(json.load(sys.stdin)['total'])")
"$CLAY_HARNESS" fire --target "$TARGET" --fixture "$CW_SOURCE_DIR/fixtures/route-score-90.json" --secret "$SECRET" \
    --count 5 --dup 2 --idempotency-header --report json >"$E2E_TMP/fixture.json" 2>/dev/null
rc=$?
after=$(curl -s "$MOCK_URL/_harness/deliveries?summary=1" | python3 -c "import json,sys; print(json.load(sys.stdin)['total'])")
check "--fixture: all 2xx, 5 events, deliveries as expected ($before -> $after)" \
    [ "$rc" -eq 0 -a "$(json_get "$E2E_TMP/fixture.json" "d['by_result'].get('processed'), sum(d['expected_deliveries'].values()) + $before")" = "5 $after" ]
"$CLAY_HARNESS" fire --target "$TARGET" --fixture "$CW_SOURCE_DIR/fixtures/auth-hmac-wrong-secret.json" --secret "$SECRET" \
    --count 3 >"$E2E_TMP/fixture-tamper.txt" 2>&1
rc=$?
check "--fixture that tampers: 401 is the success" [ "$rc" -eq 0 -a "$(grep -c '^status: 401=3$' "$E2E_TMP/fixture-tamper.txt")" = 1 ]

# 8. Usage errors exit 2.
"$CLAY_HARNESS" fire --count 3 >/dev/null 2>&1
check "no --target: exit 2" [ $? -eq 2 ]
"$CLAY_HARNESS" fire --target "$TARGET" --tamper sideways >/dev/null 2>&1
check "unknown tamper mode: exit 2" [ $? -eq 2 ]

finish
