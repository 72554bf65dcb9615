#!/usr/bin/env bash
# send_relay.sh: POST /api/clay/rows against the mock Clay webhook: fail
# closed without RELAY_TOKEN, per-row results for one row or an array, input
# errors, 429 + Retry-After when the local budget is spent, 503 when Clay is
# unreachable, 404 rotation, and two instances sharing one file: store never
# exceeding the shared quota (CLAY_WEBHOOK_LIMIT).
. "$(dirname "$0")/../lib.sh"

FN_ENV=(CLAY_WEBHOOK_SECRET=s RELAY_TOKEN=relay-tok)

post() { # post BASEURL BODY [TOKEN]: prints "STATUS BODY"
    local url=$1 body=$2 token=${3:-relay-tok}
    curl -s -o "$E2E_TMP/resp" -D "$E2E_TMP/headers" -w '%{http_code}' -X POST "$url/api/clay/rows" \
        -H 'Content-Type: application/json' -H "Authorization: Bearer $token" --data-binary "$body"
    printf ' %s' "$(cat "$E2E_TMP/resp")"
}
count() { curl -s "$MOCK_URL/_harness/clay/$1/rows?summary=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'; }

# fire N URL... : N single-row requests {"n":i}, 16 at a time, round-robin over the instances, each
# retried after Retry-After on 429 as a client should (at most 8 times); prints "sent no_webhook other"
# from the per-row results
fire() {
    python3 - "$@" <<'EOF'
import json, sys, time, urllib.request, urllib.error
from concurrent.futures import ThreadPoolExecutor
n, urls = int(sys.argv[1]), sys.argv[2:]
def one(i):
    for attempt in range(8):
        req = urllib.request.Request(urls[i % len(urls)] + "/api/clay/rows", data=json.dumps({"n": i}).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer relay-tok"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.load(r)["results"][0]["status"]
        except urllib.error.HTTPError as e:
            body = json.load(e)
            if e.code == 429:
                time.sleep(int(e.headers.get("Retry-After", "1")))
                continue
            return body["results"][0]["status"] if "results" in body else "http_%d" % e.code
    return "gave_up"
with ThreadPoolExecutor(16) as ex:
    res = list(ex.map(one, range(n)))
print(res.count("sent"), res.count("no_webhook"), len(res) - res.count("sent") - res.count("no_webhook"))
EOF
}

start_mock --clay-rate 1000 --clay-burst 1000 || exit 1

# --- no RELAY_TOKEN: every request 401 ---
start_function closed CLAY_WEBHOOK_SECRET=s STORE_URL="file:$E2E_TMP/closed" CLAY_WEBHOOK_URLS="$MOCK_URL/clay/webhook/closed" || exit 1
check "no RELAY_TOKEN: logs that the relay refuses everything" grep -q "RELAY_TOKEN is not set" "$FN_LOG_closed"
r=$(post "$FN_URL_closed" '{"n":1}')
check "no RELAY_TOKEN: a bearer request gets 401 ($r)" [ "${r%% *}" = 401 ]
r=$(curl -s -o /dev/null -w '%{http_code}' "$FN_URL_closed/api/clay/rows")
check "no RELAY_TOKEN: even a GET gets 401 ($r)" [ "$r" = 401 ]
check "no RELAY_TOKEN: Clay received nothing" [ "$(count closed)" = 0 ]

# --- one instance: results and input errors ---
start_function a "${FN_ENV[@]}" STORE_URL="file:$E2E_TMP/a" CLAY_WEBHOOK_URLS="$MOCK_URL/clay/webhook/one" \
    CLAY_RATE=1000 CLAY_BURST=5 || exit 1
r=$(post "$FN_URL_a" '{"n":1,"email":"a@example.com"}')
check "one row: 200 with its result ($r)" [ "$r" = '200 {"status":"sent","sent":1,"results":[{"index":0,"status":"sent","webhook":1}]}' ]
r=$(post "$FN_URL_a" '[{"n":2},{"n":3}]')
check "an array: one result per row ($r)" \
    [ "$r" = '200 {"status":"sent","sent":2,"results":[{"index":0,"status":"sent","webhook":1},{"index":1,"status":"sent","webhook":1}]}' ]
check "Clay holds the 3 rows" [ "$(count one)" = 3 ]
r=$(post "$FN_URL_a" '{"n":4}' wrong)
check "wrong token: 401" [ "${r%% *}" = 401 ]
r=$(post "$FN_URL_a" '{"n":')
check "bad JSON: 400 ($r)" [ "${r%% *}" = 400 ]
r=$(post "$FN_URL_a" '[{"n":5},"x"]')
check "a non-object row: 422 naming it ($r)" [ "$r" = '422 {"error":"invalid_row","detail":"row 1: not a JSON object"}' ]
r=$(post "$FN_URL_a" '[{},{},{},{},{},{}]')
check "more rows than CLAY_BURST: 413 ($r)" [ "${r%% *}" = 413 ]
check "none of the refused requests reached Clay" [ "$(count one)" = 3 ]
big=$(printf '{"n":9,"blob":"%s"}' "$(head -c 103000 /dev/zero | tr '\0' x)")
r=$(post "$FN_URL_a" "[{\"n\":10},$big]")
check "a row over 100 KB is rejected locally, the other sent ($(cut -c1-120 <<<"$r"))" \
    grep -q '^200 {"status":"partial","sent":1,.*{"index":1,"status":"rejected","http_status":413' <<<"$r"
check "Clay never saw the big row" [ "$(count one)" = 4 ]
check "metrics count relay rows by result" bash -c "curl -s '$FN_URL_a/metrics' | grep -q 'clay_relay_rows_total{result=\"sent\"} 4'"

# --- the local budget (CLAY_RATE=1, CLAY_BURST=3): 429 + Retry-After, nothing sent ---
start_function budget "${FN_ENV[@]}" STORE_URL="file:$E2E_TMP/budget" CLAY_WEBHOOK_URLS="$MOCK_URL/clay/webhook/budget" \
    CLAY_RATE=1 CLAY_BURST=3 || exit 1
r=$(post "$FN_URL_budget" '[{"n":1},{"n":2},{"n":3}]')
check "budget: the burst goes through ($(cut -c1-40 <<<"$r"))" [ "${r%% *}" = 200 ]
r=$(post "$FN_URL_budget" '[{"n":4},{"n":5},{"n":6}]')
ra=$(grep -i '^retry-after:' "$E2E_TMP/headers" | tr -dc '0-9')
check "budget spent: 429 ($r)" [ "${r%% *}" = 429 ]
check "budget spent: Retry-After ($ra) in whole seconds" [ -n "$ra" -a "$ra" -ge 1 -a "$ra" -le 3 ]
check "budget spent: nothing sent" [ "$(count budget)" = 3 ]
sleep "${ra:-3}"
r=$(post "$FN_URL_budget" '[{"n":4},{"n":5},{"n":6}]')
check "after Retry-After the rows go through ($(cut -c1-40 <<<"$r"))" [ "${r%% *}" = 200 -a "$(count budget)" = 6 ]

# --- Clay unreachable: 503 + Retry-After ---
start_function down "${FN_ENV[@]}" STORE_URL="file:$E2E_TMP/down" CLAY_WEBHOOK_URLS="http://127.0.0.1:1/clay/webhook/x" \
    DELIVERY_DEADLINE_MS=1500 || exit 1
r=$(post "$FN_URL_down" '{"n":1}')
check "Clay unreachable: 503 ($(cut -c1-80 <<<"$r"))" [ "${r%% *}" = 503 ]
check "Clay unreachable: the row is marked unavailable" grep -q '"status":"unavailable"' <<<"$r"
check "Clay unreachable: Retry-After" grep -qi '^retry-after: [0-9]' "$E2E_TMP/headers"

# --- 404 rotates to the second URL ---
curl -s -o /dev/null -X POST "$MOCK_URL/_harness/clay/g1" --data-binary '{"expire_after":2}'
start_function rot "${FN_ENV[@]}" STORE_URL="file:$E2E_TMP/rot" \
    CLAY_WEBHOOK_URLS="$MOCK_URL/clay/webhook/g1,$MOCK_URL/clay/webhook/g2" CLAY_RATE=1000 CLAY_BURST=1000 || exit 1
for i in 1 2 3 4 5; do post "$FN_URL_rot" "{\"n\":$i}" >/dev/null; done
check "404: two rows in g1, three rotated to g2" [ "$(count g1) $(count g2)" = "2 3" ]
check "404: the rotation is logged" grep -q '"message":"clay webhook rotated".*"reason":"gone"' "$FN_LOG_rot"

# --- two instances, one file: store, CLAY_WEBHOOK_LIMIT=15 over q1,q2: 30 rows at most ---
SHARED=(STORE_URL="file:$E2E_TMP/shared" CLAY_WEBHOOK_LIMIT=15 CLAY_RATE=1000 CLAY_BURST=1000
    CLAY_WEBHOOK_URLS="$MOCK_URL/clay/webhook/q1,$MOCK_URL/clay/webhook/q2")
start_function s1 "${FN_ENV[@]}" "${SHARED[@]}" || exit 1
start_function s2 "${FN_ENV[@]}" "${SHARED[@]}" || exit 1
read -r sent none other < <(fire 50 "$FN_URL_s1" "$FN_URL_s2")
q1=$(count q1)
q2=$(count q2)
check "shared quota: q1 got $q1, q2 got $q2: never over 15 each" [ "$q1" -le 15 -a "$q2" -le 15 ]
check "shared quota: with blocks of 1 the quota is used exactly (30 sent)" [ "$sent" = 30 -a $((q1 + q2)) = 30 ]
check "shared quota: the other 20 answered no_webhook, nothing else ($none, $other)" [ "$none" = 20 -a "$other" = 0 ]
check "shared quota: both instances served rows" [ "$(grep -c '"sent":1' "$FN_LOG_s1")" -gt 0 -a "$(grep -c '"sent":1' "$FN_LOG_s2")" -gt 0 ]
check "shared quota: the store holds 15 blocks per webhook" \
    [ "$(find "$E2E_TMP/shared/quota" -type f | wc -l)" = 30 ]
r=$(post "$FN_URL_s1" '{"n":99}')
check "shared quota: then 503 no_webhook telling to create a webhook" \
    grep -q '^503 {"error":"no_webhook","detail":"every webhook in CLAY_WEBHOOK_URLS is gone or at its limit.*create a new webhook in Clay' <<<"$r"

# --- blocks of 2 (limit 200): two instances, 240 rows: never over 200, at most a block per worker wasted ---
BLOCKS=(STORE_URL="file:$E2E_TMP/blocks" CLAY_WEBHOOK_LIMIT=200 CLAY_RATE=1000 CLAY_BURST=1000
    CLAY_WEBHOOK_URLS="$MOCK_URL/clay/webhook/b1")
WORKERS=2 start_function b1 "${FN_ENV[@]}" "${BLOCKS[@]}" || exit 1
WORKERS=2 start_function b2 "${FN_ENV[@]}" "${BLOCKS[@]}" || exit 1
read -r sent none other < <(fire 240 "$FN_URL_b1" "$FN_URL_b2")
b1=$(count b1)
check "blocks: Clay got $b1 rows, never over 200" [ "$b1" -le 200 ]
check "blocks: at most one block (2) per worker (4) left unused ($b1 >= 196)" [ "$b1" -ge 196 ]
check "blocks: every 'sent' answer is a row in Clay ($sent)" [ "$sent" = "$b1" -a "$other" = 0 ]

# --- Clay's 429s (the mock allows 10/s, burst 5) are waited out within the request: nothing lost ---
stop_pid "$MOCK_PID"
start_mock --clay-rate 10 --clay-burst 5 || exit 1
start_function slow "${FN_ENV[@]}" STORE_URL="file:$E2E_TMP/slow" CLAY_WEBHOOK_URLS="$MOCK_URL/clay/webhook/slow" \
    CLAY_RATE=1000 CLAY_BURST=1000 || exit 1
read -r sent none other < <(fire 15 "$FN_URL_slow")
limited=$(curl -s "$MOCK_URL/_harness/clay/slow" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rejected"]["429"])')
check "Clay 429: the mock refused $limited submissions with 429" [ "$limited" -gt 0 ]
check "Clay 429: every row ends sent, the client retrying local 429s ($sent $none $other)" [ "$sent" = 15 -a "$other" = 0 ]
check "Clay 429: each row in Clay once" [ "$(curl -s "$MOCK_URL/_harness/clay/slow/rows" | python3 -c '
import json, sys
ns = [r["n"] for r in json.load(sys.stdin)["rows"]]
print(len(ns), len(set(ns)))')" = "15 15" ]

finish
