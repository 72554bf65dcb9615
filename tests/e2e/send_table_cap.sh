#!/usr/bin/env bash
# send_table_cap.sh: clay-function send against Clay as it really answers (issue 15): a success answer that is
# not JSON is an acknowledgement; a row over 100,000 bytes (not 102,400) is refused locally; and the table's row
# cap (--table-rows-limit, default 50,000) stops the run with a clear message instead of rotating into a full
# table, whose webhooks answer 200 and drop the rows silently; the summary says Clay may have dropped rows.
. "$(dirname "$0")/../lib.sh"

json_get() { # json_get FILE EXPR (python on d)
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}
send() { # send FILE NAME [args]: runs the CLI (bounded), output in $E2E_TMP/NAME.out, summary in NAME.json
    local file=$1 name=$2
    shift 2
    timeout 60 "$CLAY_FUNCTION" send --file "$file" --rate 100 --burst 10 --progress off \
        --summary-json "$E2E_TMP/$name.json" "$@" >"$E2E_TMP/$name.out" 2>&1
}

# The mock's table holds 8 rows; its successes are text/plain "OK".
start_mock --clay-table-rows 8 --clay-text-ack --clay-rate 1000 --clay-burst 100 || exit 1

# 1. Non-JSON success answers, and the 100,000-byte limit: a row of exactly 100,000 bytes goes, one byte more does not.
python3 - "$E2E_TMP/sizes.ndjson" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for n, size in ((1, 100000), (2, 100001), (3, 50)):
        row = {"n": n, "pad": ""}
        row["pad"] = "a" * (size - len(json.dumps(row, separators=(",", ":"))))
        assert len(json.dumps(row, separators=(",", ":"))) == size
        f.write(json.dumps(row) + "\n")
PY
send "$E2E_TMP/sizes.ndjson" sizes --webhook-url "$MOCK_URL/clay/webhook/sizes" --table-rows-limit 100
rc=$?
cat "$E2E_TMP/sizes.out"
check "text success answers are acknowledgements: 2 acknowledged" [ "$(json_get "$E2E_TMP/sizes.json" "d['acknowledged']")" = 2 ]
check "exit 1 (one row dead-lettered)" [ "$rc" -eq 1 ]
check "the row of 100,001 bytes is refused locally with the reason" \
    grep -q '"reason":"the row is 100001 bytes; Clay takes at most 100000 (100 KB)"' "$E2E_TMP/sizes.ndjson.dead-letter.ndjson"
check "the mock kept the 100,000-byte row" bash -c "curl -s '$MOCK_URL/_harness/clay/sizes/rows?summary=1' | grep -q '\"count\":2,\"dropped\":0,'"
curl -s -o /dev/null -X POST "$MOCK_URL/_harness/reset"

# 2. The table cap: 12 rows into a table limited to 5 (--table-rows-limit), two webhooks: the run stops at 5
#    with the message, does not rotate, and the summary says Clay may have dropped rows.
for ((i = 1; i <= 12; i++)); do printf '{"n":%d}\n' "$i"; done >"$E2E_TMP/rows.ndjson"
send "$E2E_TMP/rows.ndjson" cap --webhook-url "$MOCK_URL/clay/webhook/a" --webhook-url "$MOCK_URL/clay/webhook/b" \
    --table-rows-limit 5 --concurrency 1
rc=$?
cat "$E2E_TMP/cap.out"
check "table cap: exit 1" [ "$rc" -eq 1 ]
check "table cap: 5 acknowledged, 7 not sent" [ "$(json_get "$E2E_TMP/cap.json" "d['acknowledged'], d['pending']")" = "5 7" ]
check "table cap: the stop message names the limit and the silent drop" \
    grep -q 'the table has taken 5 rows of this file, its limit (--table-rows-limit 5; Clay tables hold at most 50000 rows on every plan, and past that Clay silently drops rows' "$E2E_TMP/cap.out"
b_rows=$(curl -s "$MOCK_URL/_harness/clay/b/rows?summary=1")
check "table cap: no rotation to webhook 2 ($b_rows)" [ "$(grep -c "rotating to webhook" "$E2E_TMP/cap.out")" = 0 -a "$(grep -c '"count":0,' <<<"$b_rows")" = 1 ]
check "table cap: the summary says Clay may have dropped rows" \
    [ "$(json_get "$E2E_TMP/cap.json" "d['table_full'], d['may_have_dropped_rows'], d['table_rows'], d['table_rows_limit']")" = "True True 5 5" ]
check "table cap: the printed summary warns" grep -q 'warning .*Clay may have dropped rows silently' "$E2E_TMP/cap.out"

# 3. Without the local cap (raised past the mock's 8), Clay's silent drop happens: 200 for every row, 4 dropped;
#    only the summary's warning tells (acknowledged >= 90% of the limit).
rm -f "$E2E_TMP/rows.ndjson.journal"
curl -s -o /dev/null -X POST "$MOCK_URL/_harness/reset"
send "$E2E_TMP/rows.ndjson" nocap --webhook-url "$MOCK_URL/clay/webhook/c" --table-rows-limit 13
rc=$?
cat "$E2E_TMP/nocap.out"
check "no local cap: every row acknowledged (exit 0)" [ "$rc" -eq 0 -a "$(json_get "$E2E_TMP/nocap.json" "d['acknowledged']")" = 12 ]
check "no local cap: the mock dropped 4 rows silently" bash -c "curl -s '$MOCK_URL/_harness/clay/c/rows?summary=1' | grep -q '\"count\":12,\"dropped\":4,'"
check "no local cap: the summary still warns (12 of 13)" [ "$(json_get "$E2E_TMP/nocap.json" "d['may_have_dropped_rows']")" = True ]

finish
