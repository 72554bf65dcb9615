#!/usr/bin/env bash
# shutdown_answers.sh: on SIGTERM, a callback still delivering (a sink slower than the stop's deadline)
# is answered 202 accepted before SHUTDOWN_TIMEOUT_MS ends, with its pending/ marker written; the process
# exits 0; redrive on a new instance finishes the delivery, once per sink.
. "$(dirname "$0")/../lib.sh"
start_mock || exit 1
curl -s -X POST "$MOCK_URL/_harness/sinks/outreach" -d '{"latency_ms":6000}' >/dev/null
store="$E2E_TMP/store"
env_common=(CLAY_WEBHOOK_SECRET=s3cret STORE_URL="file:$store" OUTREACH_WEBHOOK_URL="$MOCK_URL/sinks/outreach"
    ZAPIER_WEBHOOK_URL="$MOCK_URL/sinks/zapier" SINK_TIMEOUT_MS=8000 DELIVERY_DEADLINE_MS=8000 LEASE_S=1
    REDRIVE_TOKEN=rt)
start_function a WORKERS=1 SHUTDOWN_TIMEOUT_MS=3000 "${env_common[@]}" || exit 1

t0=$(date +%s%N)
curl -s -o "$E2E_TMP/body" -w '%{http_code}' -X POST "$FN_URL_a/api/clay/enriched" -H 'Content-Type: application/json' \
    -H 'X-Clay-Secret: s3cret' -H 'Idempotency-Key: stop-1' --data-binary '{"email":"ada@example.com","icp_score":88}' \
    >"$E2E_TMP/status" &
curl_pid=$!
sleep 0.5
kill -TERM "$FN_PID_a"
wait "$curl_pid"
t1=$(date +%s%N)
stop_pid "$FN_PID_a" 10
status=$(cat "$E2E_TMP/status")
elapsed_ms=$(((t1 - t0) / 1000000))
check "the callback in flight was answered 202 ($status)" test "$status" = 202
check "... as accepted, outreach pending, zapier delivered" \
    grep -q '"status":"accepted".*"outreach":"pending".*"zapier":"delivered"' "$E2E_TMP/body"
check "... before SHUTDOWN_TIMEOUT_MS (3000 ms) ended (${elapsed_ms} ms)" test "$elapsed_ms" -lt 3500
check "the process exited 0 ($STOP_RC)" test "$STOP_RC" = 0
check "its pending/ marker is there" bash -c "ls '$store/pending/' | grep -q ."
check "zapier's delivery is on record (sent/)" bash -c "ls '$store'/sent/*/zapier >/dev/null 2>&1"

# A new instance; the sink is fast again; after the lease, redrive finishes the event.
curl -s -X POST "$MOCK_URL/_harness/sinks/outreach" -d '{"latency_ms":0}' >/dev/null
start_function b WORKERS=1 "${env_common[@]}" || exit 1
sleep 1.2
summary=$(curl -s -X POST -H 'Authorization: Bearer rt' "$FN_URL_b/internal/redrive")
check "redrive completed it ($summary)" grep -q '"completed":1' <<<"$summary"
check "no pending/ marker left" bash -c "test -z \"\$(ls '$store/pending/' 2>/dev/null)\""
ledger=$(curl -s "$MOCK_URL/_harness/deliveries?summary=1")
check "each sink has the lead once (by Idempotency-Key) ($ledger)" \
    python3 -c 'import json,sys; u=json.loads(sys.argv[1])["unique_by_sink"]; sys.exit(0 if u.get("outreach")==1 and u.get("zapier")==1 else 1)' "$ledger"
finish
