#!/usr/bin/env bash
# clay_rendering.sh: the receiver against bodies and requests as Clay (and Svix-format senders) really make
# them (issue 15), and the event id taken only from what the scheme authenticates (issue 12.1):
#   - a signed request replayed with fresh Idempotency-Keys (hmac and standard) stays one event: 200 duplicate;
#   - static: ?idempotency_key= in the query keys the event (Clay documents tokens in query values);
#   - "null", "undefined", "none", "n/a" in a known field are absent (a skip, not an outreach);
#   - an unquoted empty token (": }"), a bare leading zero (0042) and a bare word are 400 bad_json naming the
#     position with the "Clay tokens must be quoted" hint; a raw control byte is 400 without the hint;
#   - svix-id / svix-timestamp / svix-signature verify as Standard Webhooks, and svix-id keys the event.
. "$(dirname "$0")/../lib.sh"

SECRET=rendering-secret
WHSEC='whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'

start_mock || exit 1
mkdir -p "$E2E_TMP/store"
start_function fx CLAY_WEBHOOK_SECRET="$SECRET,$WHSEC" AUTH_SCHEMES=all STORE_URL="file://$E2E_TMP/store" LOG_LEVEL=debug \
    OUTREACH_WEBHOOK_URL="$MOCK_URL/sinks/outreach" NURTURE_WEBHOOK_URL="$MOCK_URL/sinks/nurture" || exit 1
URL=$FN_URL_fx

# post PATH BODY [curl args]: prints "STATUS BODY" (no credentials added).
post() {
    local path=$1 body=$2
    shift 2
    curl -s -o "$E2E_TMP/resp" -w '%{http_code}' -X POST "$URL$path" -H 'Content-Type: application/json' \
        --data-binary "$body" "$@"
    printf ' %s' "$(cat "$E2E_TMP/resp")"
}
hmac_hex() { python3 -c 'import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())' "$1" "$2"; }
# sw_sig ID TS BODY: the Standard Webhooks (and Svix) v1 signature with $WHSEC.
sw_sig() {
    python3 -c '
import base64, hashlib, hmac, sys
key = base64.b64decode(sys.argv[1][len("whsec_"):])
print("v1," + base64.b64encode(hmac.new(key, ("%s.%s.%s" % (sys.argv[2], sys.argv[3], sys.argv[4])).encode(), hashlib.sha256).digest()).decode())' \
        "$WHSEC" "$1" "$2" "$3"
}
status_of() { printf '%s' "${1%% *}"; }
json_of() { printf '%s' "${1#* }"; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$(json_of "$1")" "$2"; }

# 1. hmac: the signed body replayed under fresh Idempotency-Keys (and query keys) is one event.
BODY='{"row_id":"e2e-hmac-replay","email":"ada@example.com","icp_score":"85"}'
SIG="sha256=$(hmac_hex "$SECRET" "$BODY")"
r1=$(post /api/clay/enriched "$BODY" -H "X-Clay-Signature: $SIG" -H 'Idempotency-Key: k-1')
r2=$(post /api/clay/enriched "$BODY" -H "X-Clay-Signature: $SIG" -H 'Idempotency-Key: k-2-fresh')
r3=$(post '/api/clay/enriched?idempotency_key=k-3-fresh' "$BODY" -H "X-Clay-Signature: $SIG")
echo "hmac: $r1 | $r2 | $r3"
check "hmac: first delivery processed" [ "$(status_of "$r1")" = 200 -a "$(field "$r1" status)" = processed ]
check "hmac: replay with a fresh Idempotency-Key is 200 duplicate" [ "$(status_of "$r2")" = 200 -a "$(field "$r2" status)" = duplicate ]
check "hmac: replay with a fresh query key is 200 duplicate" [ "$(field "$r3" status)" = duplicate ]
check "hmac: one event id for all three" [ "$(field "$r1" id)" = "$(field "$r2" id)" -a "$(field "$r2" id)" = "$(field "$r3" id)" ]
check "hmac: the ignored key is logged at debug" grep -q '"severity":"DEBUG","message":"unsigned idempotency key ignored".*"scheme":"hmac"' "$FN_LOG_fx"
# ... and a key cannot suppress a later, different signed row
BODY2='{"row_id":"e2e-hmac-other","email":"bob@example.com","icp_score":"85"}'
r4=$(post /api/clay/enriched "$BODY2" -H "X-Clay-Signature: sha256=$(hmac_hex "$SECRET" "$BODY2")" -H 'Idempotency-Key: k-1')
check "hmac: another signed body under a used key is a new event" [ "$(field "$r4" status)" = processed ]

# 2. standard: the id is the signed webhook-id, whatever Idempotency-Key says.
TS=$(date +%s)
BODY='{"row_id":"e2e-standard-replay","email":"cy@example.com","icp_score":85}'
SWS=$(sw_sig msg_e2e_std_1 "$TS" "$BODY")
r1=$(post /api/clay/enriched "$BODY" -H 'webhook-id: msg_e2e_std_1' -H "webhook-timestamp: $TS" -H "webhook-signature: $SWS" -H 'Idempotency-Key: a')
r2=$(post /api/clay/enriched "$BODY" -H 'webhook-id: msg_e2e_std_1' -H "webhook-timestamp: $TS" -H "webhook-signature: $SWS" -H 'Idempotency-Key: b')
echo "standard: $r1 | $r2"
check "standard: replay with a fresh Idempotency-Key is 200 duplicate" [ "$(field "$r1" status)" = processed -a "$(field "$r2" status)" = duplicate ]

# 3. svix-* headers are Standard Webhooks: verified, and svix-id keys the event.
BODY='{"row_id":"e2e-svix","email":"di@example.com","icp_score":85}'
SWS=$(sw_sig msg_e2e_svix_1 "$TS" "$BODY")
r1=$(post /api/clay/enriched "$BODY" -H 'svix-id: msg_e2e_svix_1' -H "svix-timestamp: $TS" -H "svix-signature: $SWS")
BODY_EDIT='{"row_id":"e2e-svix","email":"di@example.com","icp_score":86}'
r2=$(post /api/clay/enriched "$BODY_EDIT" -H 'svix-id: msg_e2e_svix_1' -H "svix-timestamp: $TS" -H "svix-signature: $(sw_sig msg_e2e_svix_1 "$TS" "$BODY_EDIT")")
r3=$(post /api/clay/enriched "$BODY" -H 'svix-id: msg_e2e_svix_1' -H "svix-timestamp: $TS" -H "svix-signature: v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
echo "svix: $r1 | $r2 | $r3"
check "svix: a valid svix-signature is processed" [ "$(status_of "$r1")" = 200 -a "$(field "$r1" status)" = processed ]
check "svix: the same svix-id is a duplicate" [ "$(field "$r2" status)" = duplicate ]
check "svix: a wrong svix-signature is 401" [ "$(status_of "$r3")" = 401 ]
check "svix: logged as the standard scheme with id_source webhook-id" grep -q '"scheme":"standard","id_source":"webhook-id"' "$FN_LOG_fx"

# 4. static: ?idempotency_key= keys the event (Clay puts tokens in query values); the header outranks it.
BODY_A='{"row_id":"e2e-query","email":"ed@example.com","icp_score":"85"}'
BODY_B='{"row_id":"e2e-query","email":"ed@example.com","icp_score":"61","title":"edited"}'
r1=$(post '/api/clay/enriched?idempotency_key=row%20q-1&x=1' "$BODY_A" -H "X-Clay-Secret: $SECRET")
r2=$(post '/api/clay/enriched?x=2&idempotency_key=row+q-1' "$BODY_B" -H "X-Clay-Secret: $SECRET")
r3=$(post '/api/clay/enriched?idempotency_key=row-q-2' "$BODY_B" -H "Authorization: Bearer $SECRET")
r4=$(post '/api/clay/enriched?idempotency_key=row-q-2' "$BODY_A" -H "X-Clay-Secret: $SECRET" -H 'Idempotency-Key: row q-1')
echo "query: $r1 | $r2 | $r3 | $r4"
check "query key: first body processed" [ "$(field "$r1" status)" = processed ]
check "query key: another body with the same (percent- and plus-decoded) key is a duplicate" [ "$(field "$r2" status)" = duplicate -a "$(field "$r1" id)" = "$(field "$r2" id)" ]
check "query key: a new key is a new event" [ "$(field "$r3" status)" = processed ]
check "query key: the header outranks the query, and one token is one id either way" [ "$(field "$r4" status)" = duplicate -a "$(field "$r4" id)" = "$(field "$r1" id)" ]
check "query key: logged with id_source query" grep -q '"id_source":"query"' "$FN_LOG_fx"

# 5. Absent words: a quoted empty cell renders "null"/"undefined"/"none"/"n/a" with "Remove empty fields" off.
for w in null Undefined ' NONE ' n/a; do
    body="{\"row_id\":\"e2e-absent-$w\",\"email\":\"$w\",\"icp_score\":\"85\",\"company\":\"$w\"}"
    r=$(post /api/clay/enriched "$body" -H "X-Clay-Secret: $SECRET")
    check "absent word '$w' in email: no email, so nurture, not outreach" [ "$(status_of "$r")" = 200 -a "$(field "$r" route)" = nurture ]
done
r=$(post /api/clay/enriched '{"row_id":"e2e-absent-score","email":"fa@example.com","icp_score":"undefined"}' -H "X-Clay-Secret: $SECRET")
check "absent word in icp_score: no score (skip), not a 422" [ "$(status_of "$r")" = 200 -a "$(field "$r" route)" = skip ]

# 6. Invalid JSON a Clay template makes: 400 bad_json with the position and, for a missing or bare value, the hint.
expect_bad() { # expect_bad DESCRIPTION BODY POSITION_TEXT HINT(1|0)
    local r detail
    r=$(post /api/clay/enriched "$2" -H "X-Clay-Secret: $SECRET")
    detail=$(field "$r" detail)
    echo "$1: $r"
    check "$1: 400 bad_json" [ "$(status_of "$r")" = 400 -a "$(field "$r" error)" = bad_json ]
    check "$1: the detail names '$3'" grep -qF -- "$3" <<<"$detail"
    if [ "$4" = 1 ]; then
        check "$1: the detail says Clay tokens must be quoted" grep -qF 'Clay tokens must be quoted' <<<"$detail"
    else
        check "$1: no Clay hint" bash -c "! grep -qF 'Clay tokens' <<<'$detail'"
    fi
}
expect_bad "empty bare token" '{"email": "a@b.c", "icp_score": }' 'line 1, column 33 (byte 32): expected a value' 1
expect_bad "empty bare token before a comma" '{"icp_score": , "email": "a@b.c"}' 'column 15' 1
expect_bad "bare leading zero" '{"zip": 0042, "email": "a@b.c"}' 'leading zero' 1
expect_bad "bare text token" '{"company": Acme Corp}' 'expected a value' 1
expect_bad "raw tab inside a string" "{\"title\": \"a	b\"}" 'control character' 0
expect_bad "multi-line template" $'{\n  "email": "a@b.c",\n  "icp_score": \n}' 'line 4, column 1' 1
check "nothing was stored for a 400" [ -z "$(grep -rl 'Acme Corp' "$E2E_TMP/store" 2>/dev/null)" ]

# 7. Every record the store holds is valid JSON (the strict check guarantees it).
check "every stored record parses as JSON" python3 -c '
import json, os, sys
n = 0
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(root, f)
        if "/events/" in p and not f.startswith("."):
            json.load(open(p)); n += 1
sys.exit(0 if n > 0 else 1)' "$E2E_TMP/store"

finish
