#!/usr/bin/env bash
# redrive_cli.sh: `clay-function redrive` and `--list-failed` as an operator
# uses them, on the store a running instance writes: a sink that refuses for
# good becomes a dead letter listed with the sink's answer; a sink that is down
# leaves the callback 202 and pending, and the CLI finishes it once the sink is
# back and the lease is over; POST /internal/redrive needs its bearer token.
. "$(dirname "$0")/../lib.sh"

start_mock || exit 1
store="file:$E2E_TMP/store"
env_common=(CLAY_WEBHOOK_SECRET=rd-secret STORE_URL="$store" LEASE_S=1 DELIVERY_DEADLINE_MS=300
    OUTREACH_WEBHOOK_URL="$MOCK_URL/sinks/outreach" NURTURE_WEBHOOK_URL="$MOCK_URL/sinks/nurture")
start_function r "${env_common[@]}" REDRIVE_TOKEN=rd-token || exit 1

# A permanent refusal: a dead letter, and the callback is still settled (200).
curl -s -X POST "$MOCK_URL/_harness/sinks/nurture" -d '{"fail_always":true,"status":400}' >/dev/null
r=$(post_callback "$FN_URL_r" rd-secret '{"email":"dl@example.com","icp_score":60,"case":"rd-dead"}')
check "a refused delivery is settled as failed ($r)" grep -q '^200 .*"nurture":"failed"' <<<"$r"
dead_id=$(sed -E 's/.*"id":"([0-9a-f]{64})".*/\1/' <<<"$r")
out=$(env "${env_common[@]}" "$CLAY_FUNCTION" redrive --list-failed 2>/dev/null)
check "--list-failed lists it with the sink's status" bash -c "grep -q '$dead_id' <<<'$out' && grep -q nurture <<<'$out' && grep -q '\"status\":400' <<<'$out'"

# A sink outage: 202 and pending; the CLI finishes it after recovery and the lease.
curl -s -X POST "$MOCK_URL/_harness/sinks/outreach" -d '{"fail_always":true,"status":503}' >/dev/null
r=$(post_callback "$FN_URL_r" rd-secret '{"email":"down@example.com","icp_score":90,"case":"rd-down"}')
check "a callback during the outage is 202 accepted ($r)" grep -q '^202 .*"pending":\["outreach"\]' <<<"$r"
curl -s -X DELETE "$MOCK_URL/_harness/sinks/outreach" >/dev/null
sleep 1.3
out=$(env "${env_common[@]}" "$CLAY_FUNCTION" redrive 2>/dev/null)
rc=$?
check "clay-function redrive completes it (rc=$rc: $out)" bash -c "[ $rc -eq 0 ] && grep -q '1 completed' <<<'$out'"
check "the sink got it exactly once" bash -c "curl -s '$MOCK_URL/_harness/deliveries?sink=outreach&summary=1' | grep -q '\"total\":1'"
out=$(env "${env_common[@]}" "$CLAY_FUNCTION" redrive --json 2>/dev/null)
check "a second run finds nothing pending ($out)" grep -q '"scanned":0' <<<"$out"

# The endpoint: bearer token required.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$FN_URL_r/internal/redrive")
check "POST /internal/redrive without a token is 401 ($code)" [ "$code" = 401 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer wrong' "$FN_URL_r/internal/redrive")
check "with a wrong token is 401 ($code)" [ "$code" = 401 ]
body=$(curl -s -X POST -H 'Authorization: Bearer rd-token' "$FN_URL_r/internal/redrive")
check "with the token it runs and reports ($body)" grep -q '"scanned":' <<<"$body"
finish
