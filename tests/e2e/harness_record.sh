#!/usr/bin/env bash
# harness_record.sh: `clay-harness record` in front of a real clay-function: requests pass through
# unchanged and each becomes a fixture with the function's answer as its expectation; replaying the
# recordings against a fresh function (new store) passes; without --forward the recorder answers
# {"recorded":true} and keeps bodies byte-exact (binary included); SIGTERM stops it cleanly.
. "$(dirname "$0")/../lib.sh"

SECRET=record-e2e-secret
WHSEC='whsec_L+a80ygH3VKIo69SC0mqH8opR1yagHFp7mRJSbAgM8Q='

start_mock || exit 1
fn_env=(CLAY_WEBHOOK_SECRET="$SECRET,$WHSEC"
    OUTREACH_WEBHOOK_URL="$MOCK_URL/sinks/outreach" NURTURE_WEBHOOK_URL="$MOCK_URL/sinks/nurture"
    ZAPIER_WEBHOOK_URL="$MOCK_URL/sinks/zapier" SLACK_WEBHOOK_URL="$MOCK_URL/sinks/slack")
mkdir -p "$E2E_TMP/store-a" "$E2E_TMP/store-b"
start_function a "${fn_env[@]}" STORE_URL="file://$E2E_TMP/store-a" || exit 1

# start_record NAME ARGS...: starts the recorder; sets REC_PID, REC_URL.
start_record() {
    local log="$E2E_TMP/record-$1.log"
    shift
    "$CLAY_HARNESS" record --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
    REC_PID=$!
    E2E_PIDS+=("$REC_PID")
    if ! wait_for_line "$log" '^listening on http://127.0.0.1:[0-9]+' 10; then
        echo "clay-harness record did not start:" >&2
        cat "$log" >&2
        return 1
    fi
    check "record prints 'listening on' first" bash -c "head -n1 '$log' | grep -qE '^listening on http://127.0.0.1:[0-9]+$'"
    REC_URL=$(grep -m1 -oE 'http://127.0.0.1:[0-9]+' "$log")
}

# 1. Record through the function: generated leads (each sent twice, one at a time so the recorded order is
#    the order of the answers), a refused request, bad JSON, a health check.
# --keep-secrets: the recordings are replayed below, so their signatures must stay (e2e/harness_secrets covers the default).
start_record fwd --out "$E2E_TMP/rec" --forward "$FN_URL_a" --keep-secrets || exit 1
"$CLAY_HARNESS" fire --target "$REC_URL" --count 4 --dup 2 --concurrency 1 --scheme hmac --secret "$SECRET" --seed 11 \
    --mutate-types --report json >"$E2E_TMP/fire.json" 2>/dev/null
check "fire through the recorder: every answer 2xx" [ $? -eq 0 ]
check "fire through the recorder: the function's own answers came back (4 processed, 4 duplicate)" \
    [ "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["by_result"]; print(d.get("processed"), d.get("duplicate"))' "$E2E_TMP/fire.json")" = "4 4" ]
"$CLAY_HARNESS" fire --target "$REC_URL" --count 2 --concurrency 1 --scheme standard --secret "$WHSEC" --seed 12 \
    >/dev/null 2>&1
check "Standard Webhooks through the recorder: accepted" [ $? -eq 0 ]
out=$(post_callback "$REC_URL" wrong-secret '{"row_id":"rec-e2e-refused","icp_score":90}')
check "a refused request passes through as 401 ($out)" [ "${out%% *}" = 401 ]
out=$(post_callback "$REC_URL" "$SECRET" '{"row_id": "rec-e2e-bad", icp_score: }')
check "bad JSON passes through as 400 ($out)" [ "${out%% *}" = 400 ]
check "GET /healthz passes through" [ "$(curl -s -o /dev/null -w '%{http_code}' "$REC_URL/healthz")" = 200 ]
stop_pid "$REC_PID"
check "SIGTERM stops the recorder with exit 0 (got $STOP_RC)" [ "$STOP_RC" -eq 0 ]
check "13 fixtures recorded" [ "$(find "$E2E_TMP/rec" -name '*.json' | wc -l)" = 13 ]
first=$(find "$E2E_TMP/rec" -name '*.json' | sort | head -n1)
check "a recording keeps the function's answer as its expectation" python3 -c '
import json, sys
fx = json.load(open(sys.argv[1]))
e = fx["steps"][0]["expect"]
assert e["status"] == 200 and e["json"]["status"] == "processed" and len(e["json"]["id"]) == 64, e
r = fx["steps"][0]["request"]
assert r.get("path", "/api/clay/enriched") == "/api/clay/enriched" and any(h.lower().startswith("x-clay-signature: sha256=") for h in r["headers"]), r
assert not any(h.lower().startswith(("host:", "content-length:")) for h in r["headers"]), r' "$first"

# 2. Replay the recordings against a fresh function (new, empty store): everything as recorded.
start_function b "${fn_env[@]}" STORE_URL="file://$E2E_TMP/store-b" || exit 1
"$CLAY_HARNESS" replay --target "$FN_URL_b" "$E2E_TMP/rec" >"$E2E_TMP/replay.txt" 2>&1
rc=$?
cat "$E2E_TMP/replay.txt"
check "replay of the recordings against a fresh function: exit 0, 13 passed" \
    [ "$rc" -eq 0 -a "$(tail -n1 "$E2E_TMP/replay.txt")" = "13 passed, 0 failed" ]
"$CLAY_HARNESS" replay --target "$FN_URL_b" "$E2E_TMP/rec" >"$E2E_TMP/replay2.txt" 2>&1
check "replayed a second time (same store) the new events are duplicates: exit 1" [ $? -eq 1 ]

# 3. Without --forward: {"recorded":true}, and the bytes kept exactly (a body that is not UTF-8 too); the secret redacted.
start_record plain --out "$E2E_TMP/plain" --prefix e2e || exit 1
printf '{"row_id":"bin","x":"\xff\xfe\x00 raw"}' >"$E2E_TMP/binary.body"
resp=$(curl -s -X POST "$REC_URL/api/clay/enriched?from=e2e" -H 'Content-Type: application/json' -H 'X-Clay-Secret: s1' \
    --data-binary @"$E2E_TMP/binary.body")
check "without --forward the answer is {\"recorded\":true} ($resp)" [ "$resp" = '{"recorded":true}' ]
resp=$(curl -s -X PUT "$REC_URL/other" --data-binary 'plain text')
check "any method and path is recorded ($resp)" [ "$resp" = '{"recorded":true}' ]
stop_pid "$REC_PID"
check "two fixtures, named with the prefix" [ "$(find "$E2E_TMP/plain" -name 'e2e-*.json' | wc -l)" = 2 ]
check "the binary body is kept byte-exact, with method, path and query" python3 -c '
import base64, json, sys
fx = json.load(open(sorted(__import__("glob").glob(sys.argv[1] + "/e2e-*.json"))[0]))
r = fx["steps"][0]["request"]
assert base64.b64decode(r["body_base64"]) == open(sys.argv[2], "rb").read(), r
assert r.get("method", "POST") == "POST" and r["path"] == "/api/clay/enriched?from=e2e", r
assert "X-Clay-Secret: REDACTED" in r["headers"] and "s1" not in json.dumps(r["headers"]), r' "$E2E_TMP/plain" "$E2E_TMP/binary.body"
check "the recorded fixtures load (replay sees them as cases)" bash -c \
    "'$CLAY_HARNESS' replay --target '$FN_URL_b' '$E2E_TMP/plain' | tail -n1 | grep -qE '^[0-9]+ passed, [0-9]+ failed$'"

finish
