#!/usr/bin/env bash
# send_rotation.sh: clay-function send moves between webhook URLs: a webhook
# that answers 404 rotates to the next; the last one gone stops the run with a
# message telling the user to create a new webhook; the quota (set low) warns
# at 90%, rotates at the limit, then stops with the documented message, and a
# rerun with a new URL finishes; Clay's own 403 at its limit rotates too.
# Every check also asserts each row reached Clay exactly once overall.
. "$(dirname "$0")/../lib.sh"

gen_rows() { # gen_rows N FILE
    local i
    for ((i = 1; i <= $1; i++)); do
        printf '{"n":%d,"name":"Lead %d"}\n' "$i" "$i"
    done >"$2"
}

json_get() { # json_get FILE EXPR (python on d)
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# tally ID...: prints "c1 c2 ... total distinct": rows kept per webhook, then over all of them
tally() {
    local ids=("$@")
    python3 - "$MOCK_URL" "${ids[@]}" <<'EOF'
import json, sys, urllib.request
base, ids = sys.argv[1], sys.argv[2:]
counts, ns = [], []
for i in ids:
    d = json.load(urllib.request.urlopen(f"{base}/_harness/clay/{i}/rows"))
    counts.append(d["count"])
    ns += [r["n"] for r in d["rows"]]
print(*counts, len(ns), len(set(ns)))
EOF
}

harness_set() { # harness_set ID JSON: change one mock webhook at run time
    curl -s -o /dev/null -w '%{http_code}' -X POST "$MOCK_URL/_harness/clay/$1" --data-binary "$2"
}

send() { # send FILE NAME [args]: runs the CLI (bounded), output in $E2E_TMP/NAME.out, summary in NAME.json
    local file=$1 name=$2
    shift 2
    timeout 60 "$CLAY_FUNCTION" send --file "$file" --rate 100 --burst 10 --progress off \
        --summary-json "$E2E_TMP/$name.json" "$@" >"$E2E_TMP/$name.out" 2>&1
}

start_mock --clay-rate 1000 --clay-burst 1000 || exit 1

# --- 404 rotates to the second URL ---
check "mock: webhook g1 set to expire after 10 rows" [ "$(harness_set g1 '{"expire_after":10}')" = 200 ]
gen_rows 30 "$E2E_TMP/gone.ndjson"
send "$E2E_TMP/gone.ndjson" gone --webhook-url "$MOCK_URL/clay/webhook/g1" --webhook-url "$MOCK_URL/clay/webhook/g2"
rc=$?
check "404: the run completes (exit $rc)" [ $rc -eq 0 ]
check "404: says it rotates" grep -q "webhook 1 is gone (404/410): rotating to webhook 2" "$E2E_TMP/gone.out"
check "404: 10 rows in g1, 20 in g2, 30 distinct overall" [ "$(tally g1 g2)" = "10 20 30 30" ]
check "404: summary marks webhook 1 gone" [ "$(json_get "$E2E_TMP/gone.json" 'd["webhooks"][0]["state"]')" = gone ]
check "404: the journal records it (G line)" grep -q '^G ' "$E2E_TMP/gone.ndjson.journal"

# --- the only URL gone: stop with the message, then a rerun with a new URL finishes ---
harness_set h1 '{"expire_after":12}' >/dev/null
gen_rows 25 "$E2E_TMP/lone.ndjson"
send "$E2E_TMP/lone.ndjson" lone --webhook-url "$MOCK_URL/clay/webhook/h1"
rc=$?
check "404, no other URL: exit 1" [ $rc -eq 1 ]
check "404, no other URL: tells the user to create a new webhook in Clay" grep -q "Create a new webhook in Clay" "$E2E_TMP/lone.out"
check "404, no other URL: 13 rows left" [ "$(json_get "$E2E_TMP/lone.json" 'd["pending"]')" = 13 ]
rejected_404() { curl -s "$MOCK_URL/_harness/clay/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rejected"]["404"])'; }
before=$(rejected_404 h1)
send "$E2E_TMP/lone.ndjson" lone2 --webhook-url "$MOCK_URL/clay/webhook/h1" --webhook-url "$MOCK_URL/clay/webhook/h2"
rc=$?
check "404: rerun with a new URL completes (exit $rc)" [ $rc -eq 0 ]
check "404: the rerun knows h1 is gone from the journal and sends it nothing ($before 404s before, $(rejected_404 h1) after)" \
    [ "$(rejected_404 h1)" = "$before" ]
check "404: each of the 25 rows once across h1 and h2" [ "$(tally h1 h2)" = "12 13 25 25" ]

# --- quota (CLAY_WEBHOOK_LIMIT=10, URLs from CLAY_WEBHOOK_URLS): warn, rotate, stop ---
gen_rows 30 "$E2E_TMP/quota.ndjson"
export CLAY_WEBHOOK_LIMIT=10 CLAY_WEBHOOK_URLS="$MOCK_URL/clay/webhook/q1,$MOCK_URL/clay/webhook/q2"
send "$E2E_TMP/quota.ndjson" quota
rc=$?
check "quota: exit 1 when every webhook is at its limit" [ $rc -eq 1 ]
check "quota: warns at 90%" grep -q "webhook 1 has used 9 of its 10 submissions (90%)" "$E2E_TMP/quota.out"
check "quota: rotates at the limit" grep -q "webhook 1 reached its limit of 10 submissions: rotating to webhook 2" "$E2E_TMP/quota.out"
check "quota: stops with the documented message" \
    grep -q "no webhook can take more rows.*Create a new webhook in Clay.*pass its URL with --webhook-url.*rerun the same command: the 10 rows not sent yet will follow" \
    "$E2E_TMP/quota.out"
check "quota: 10 rows per webhook, never more" [ "$(tally q1 q2)" = "10 10 20 20" ]
check "quota: summary counts 10 submissions each, 10 pending" \
    [ "$(json_get "$E2E_TMP/quota.json" '"%d %d %d" % (d["webhooks"][0]["submissions"], d["webhooks"][1]["submissions"], d["pending"])')" = "10 10 10" ]
send "$E2E_TMP/quota.ndjson" quota-again
rc=$?
check "quota: the same command again stops at once (the journal remembers the counts)" [ $rc -eq 1 ]
check "quota: and sends nothing more" [ "$(tally q1 q2)" = "10 10 20 20" ]
export CLAY_WEBHOOK_URLS="$CLAY_WEBHOOK_URLS,$MOCK_URL/clay/webhook/q3"
send "$E2E_TMP/quota.ndjson" quota-new
rc=$?
check "quota: with a third webhook the rest is sent (exit $rc)" [ $rc -eq 0 ]
check "quota: each of the 30 rows once across q1, q2, q3" [ "$(tally q1 q2 q3)" = "10 10 10 30 30" ]
unset CLAY_WEBHOOK_LIMIT CLAY_WEBHOOK_URLS

# --- Clay's own limit: the mock answers 403 past 5 rows on r1 ---
harness_set r1 '{"limit":5}' >/dev/null
gen_rows 20 "$E2E_TMP/refused.ndjson"
send "$E2E_TMP/refused.ndjson" refused --webhook-url "$MOCK_URL/clay/webhook/r1" --webhook-url "$MOCK_URL/clay/webhook/r2"
rc=$?
check "403: the run completes on the next webhook (exit $rc)" [ $rc -eq 0 ]
check "403: says it rotates" grep -q "webhook 1 refuses more rows (403): rotating to webhook 2" "$E2E_TMP/refused.out"
check "403: 5 rows in r1, 15 in r2, each once" [ "$(tally r1 r2)" = "5 15 20 20" ]

finish
