#!/usr/bin/env bash
# send_input.sh: what clay-function send reads and refuses: CSV (quoting,
# embedded commas/quotes/newlines, numeric columns, BOM) and JSON arrays reach
# Clay as the right objects; bad lines and rows over 100 KB go to the
# dead-letter file with their line and reason while the run goes on; a wrong
# auth token stops the run (nothing lost) and the rerun with the right one
# finishes; usage and configuration errors exit 2 with one line.
. "$(dirname "$0")/../lib.sh"

json_get() { # json_get FILE EXPR (python on d)
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}
rows_of() { curl -s "$MOCK_URL/_harness/clay/$1/rows"; }
send() { # send NAME FILE [args]
    local name=$1 file=$2
    shift 2
    timeout 60 "$CLAY_FUNCTION" send --file "$file" --rate 100 --burst 10 --progress off \
        --summary-json "$E2E_TMP/$name.json" "$@" >"$E2E_TMP/$name.out" 2>&1
}

start_mock --clay-rate 1000 --clay-burst 1000 --clay-auth tok-e2e || exit 1
export CLAY_WEBHOOK_AUTH=tok-e2e

# --- CSV ---
printf '\xef\xbb\xbfname,note,score,zip\r\n"Doe, Jane","said ""hi""\nthen left",85,02134\r\nBob,,90.5,10001\r\nshort,row\r\n' \
    >"$E2E_TMP/leads.csv"
send csv "$E2E_TMP/leads.csv" --webhook-url "$MOCK_URL/clay/webhook/csv"
rc=$?
check "csv: exit 1 (one bad row dead-lettered, the rest sent)" [ $rc -eq 1 ]
check "csv: Clay got the two good rows as typed objects" [ "$(rows_of csv | python3 -c '
import json, sys
rows = json.load(sys.stdin)["rows"]
want = [{"name": "Bob", "note": "", "score": 90.5, "zip": "10001"},
        {"name": "Doe, Jane", "note": "said \"hi\"\nthen left", "score": 85, "zip": "02134"}]
print(sorted(rows, key=lambda r: r["name"]) == want)')" = True ]
check "csv: the short row is in the dead-letter file with its line and reason" \
    grep -qF '{"row":2,"line":5,"reason":"has 2 fields, the header has 4","raw":"short,row"}' "$E2E_TMP/leads.csv.dead-letter.ndjson"

# --- JSON array, pretty-printed ---
cat >"$E2E_TMP/leads.json" <<'EOF'
[
  {"n": 1, "big": 12345678901234567890,
   "nested": {"a": [1, 2]}},
  "not an object",
  {"n": 2, "unicode": "Zürich"}
]
EOF
send json "$E2E_TMP/leads.json" --webhook-url "$MOCK_URL/clay/webhook/json"
check "json: two rows sent, the string element dead-lettered" [ "$(rows_of json | python3 -c '
import json, sys
print(sorted(r["n"] for r in json.load(sys.stdin)["rows"]))')" = "[1, 2]" ]
check "json: the dead letter names the element's line" \
    grep -qF '{"row":1,"line":4,"reason":"not a JSON object","raw":"\"not an object\""}' "$E2E_TMP/leads.json.dead-letter.ndjson"

# --- NDJSON with bad lines and a row over 100 KB: each listed, the run goes on ---
{
    echo '{"n":1}'
    echo '{"n":2}'
    echo '{"n":3, oops}'
    echo ''
    echo '[1,2,3]'
    echo '{"n":4}'
    echo '{"n":5}'
    echo 'plain text'
    echo '{"n":6}'
    printf '{"n":7,"blob":"%s"}\n' "$(head -c 110000 /dev/zero | tr '\0' x)"
    echo '{"n":8}'
} >"$E2E_TMP/mixed.ndjson"
send mixed "$E2E_TMP/mixed.ndjson" --webhook-url "$MOCK_URL/clay/webhook/mixed" --dead-letter "$E2E_TMP/mixed.dead"
rc=$?
check "dead letters: exit 1" [ $rc -eq 1 ]
check "dead letters: the good rows reached Clay" [ "$(rows_of mixed | python3 -c '
import json, sys
print(sorted(r["n"] for r in json.load(sys.stdin)["rows"]))')" = "[1, 2, 4, 5, 6, 8]" ]
check "dead letters: four entries" [ "$(wc -l <"$E2E_TMP/mixed.dead")" -eq 4 ]
check "dead letters: line 3, invalid JSON" grep -qE '^\{"row":2,"line":3,"reason":"invalid JSON[^"]*","raw":"\{\\"n\\":3, oops\}"\}$' "$E2E_TMP/mixed.dead"
check "dead letters: line 5, not an object" grep -qF '{"row":3,"line":5,"reason":"not a JSON object","raw":"[1,2,3]"}' "$E2E_TMP/mixed.dead"
check "dead letters: line 8, invalid JSON" grep -qE '^\{"row":6,"line":8,"reason":"invalid JSON' "$E2E_TMP/mixed.dead"
check "dead letters: line 10, over 100 KB, refused locally" \
    grep -qE '^\{"row":8,"line":10,"reason":"the row is 1100[0-9]+ bytes; Clay takes at most 100000 \(100 KB\)","data":\{"n":7' "$E2E_TMP/mixed.dead"
check "dead letters: Clay never saw the big row (no 413)" [ "$(curl -s "$MOCK_URL/_harness/clay/mixed" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rejected"]["413"])')" = 0 ]
check "dead letters: summary counts 4 bad, 6 sent, none pending" \
    [ "$(json_get "$E2E_TMP/mixed.json" '"%d %d %d %d" % (d["bad_input"], d["dead_lettered"], d["acknowledged"], d["pending"])')" = "4 4 6 0" ]
send mixed2 "$E2E_TMP/mixed.ndjson" --webhook-url "$MOCK_URL/clay/webhook/mixed" --dead-letter "$E2E_TMP/mixed.dead"
check "dead letters: a rerun does not list them again" [ "$(wc -l <"$E2E_TMP/mixed.dead")" -eq 4 ]

# --- the auth token ---
printf '{"n":1}\n{"n":2}\n{"n":3}\n' >"$E2E_TMP/auth.ndjson"
CLAY_WEBHOOK_AUTH=wrong send auth "$E2E_TMP/auth.ndjson" --webhook-url "$MOCK_URL/clay/webhook/auth"
rc=$?
check "wrong token: exit 1" [ $rc -eq 1 ]
check "wrong token: says the token was refused and how to fix it" grep -q "Clay refused the webhook auth token (HTTP 401.*CLAY_WEBHOOK_AUTH" "$E2E_TMP/auth.out"
check "wrong token: nothing dead-lettered, all 3 still to send" \
    [ "$(json_get "$E2E_TMP/auth.json" '"%d %d" % (d["dead_lettered"], d["pending"])')" = "0 3" ]
send auth2 "$E2E_TMP/auth.ndjson" --webhook-url "$MOCK_URL/clay/webhook/auth" --auth-token tok-e2e
check "right token (--auth-token): the rerun sends all 3, each once" [ $? -eq 0 -a "$(rows_of auth | python3 -c 'import json,sys; print(sorted(r["n"] for r in json.load(sys.stdin)["rows"]))')" = "[1, 2, 3]" ]
check "right token: nothing was in doubt (401 is a refusal)" [ "$(json_get "$E2E_TMP/auth2.json" 'd["in_doubt"]')" = 0 ]

# --- usage and configuration errors: exit 2, one line ---
usage_case() { # usage_case WHAT EXPECTED-TEXT -- command...
    local what=$1 want=$2 out rc
    shift 3
    out=$("$@" 2>&1 >/dev/null)
    rc=$?
    if [ $rc -eq 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && grep -q -- "$want" <<<"$out"; then
        pass "usage: $what exits 2 ($out)"
    else
        fail "usage: $what: rc=$rc out=$out"
    fi
}
usage_case "no --file" "--file is required" -- "$CLAY_FUNCTION" send --webhook-url "$MOCK_URL/clay/webhook/x"
usage_case "no URL" "no webhook URL" -- env -u CLAY_WEBHOOK_URLS "$CLAY_FUNCTION" send --file "$E2E_TMP/auth.ndjson"
usage_case "bad --rate" "--rate" -- "$CLAY_FUNCTION" send --file "$E2E_TMP/auth.ndjson" --webhook-url http://127.0.0.1:1/x --rate 0
usage_case "bad CLAY_RATE" "CLAY_RATE" -- env CLAY_RATE=fast "$CLAY_FUNCTION" send --file "$E2E_TMP/auth.ndjson" --webhook-url http://127.0.0.1:1/x
usage_case "bad URL" "--webhook-url" -- "$CLAY_FUNCTION" send --file "$E2E_TMP/auth.ndjson" --webhook-url ftp://x
usage_case "missing file" "cannot open" -- "$CLAY_FUNCTION" send --file "$E2E_TMP/nope.csv" --webhook-url http://127.0.0.1:1/x
usage_case "unknown option" "unknown option" -- "$CLAY_FUNCTION" send --file "$E2E_TMP/auth.ndjson" --webhook-url http://127.0.0.1:1/x --fast
check "--help exits 0 and documents --in-doubt" bash -c "'$CLAY_FUNCTION' send --help | grep -q -- --in-doubt"

finish
