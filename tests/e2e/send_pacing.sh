#!/usr/bin/env bash
# send_pacing.sh: clay-function send against the mock Clay webhook: the
# measured send rate is within 10% of --rate, and 429 bursts (a CLI configured
# faster than Clay's workspace budget) lose nothing and duplicate nothing.
. "$(dirname "$0")/../lib.sh"

# gen_rows N FILE: N NDJSON rows {"n":i,...}
gen_rows() {
    local i
    for ((i = 1; i <= $1; i++)); do
        printf '{"n":%d,"email":"lead%d@example.com","company":"Co %d"}\n' "$i" "$i" "$i"
    done >"$2"
}

# mock_tally ID: prints "count distinct min max" of field n among the rows the mock kept for webhook ID
mock_tally() {
    curl -s "$MOCK_URL/_harness/clay/$1/rows" | python3 -c '
import json, sys
d = json.load(sys.stdin)
ns = [r.get("n") for r in d.get("rows", [])]
print(d["count"], len(set(ns)), min(ns) if ns else 0, max(ns) if ns else 0)'
}

json_get() { # json_get FILE EXPR (python on d)
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# The mock's own budget is far above what the CLI sends, so only the CLI paces.
start_mock --clay-rate 1000 --clay-burst 1000 || exit 1

# --- rate: 62 rows at 20/s with a burst of 2: after the burst, one row every 50 ms ---
gen_rows 62 "$E2E_TMP/rate.ndjson"
start=$(date +%s.%N)
"$CLAY_FUNCTION" send --file "$E2E_TMP/rate.ndjson" --webhook-url "$MOCK_URL/clay/webhook/rate" --rate 20 --burst 2 \
    --summary-json "$E2E_TMP/rate.json" --progress off >"$E2E_TMP/rate.out" 2>&1
rc=$?
end=$(date +%s.%N)
check "rate: every row acknowledged (exit 0)" [ $rc -eq 0 ]
check "rate: the mock holds each of the 62 rows once" [ "$(mock_tally rate)" = "62 62 1 62" ]
window=$(json_get "$E2E_TMP/rate.json" 'd["send_window_s"]')
measured=$(python3 -c "print(round((62 - 2) / $window, 2))")
wall=$(python3 -c "print(round((62 - 2) / ($end - $start), 2))")
check "rate: measured $measured rows/s (send window ${window}s) is within 10% of 20" \
    python3 -c "import sys; sys.exit(0 if abs($measured - 20) <= 2 else 1)"
check "rate: wall-clock rate $wall rows/s is not above 20 + 10%" python3 -c "import sys; sys.exit(0 if $wall <= 22 else 1)"
check "rate: no 429, no retries" [ "$(json_get "$E2E_TMP/rate.json" 'd["rate_limited"] + d["retries"]')" = 0 ]

# --- a second rate, to show the pacing follows the setting: 45 rows at 40/s, burst 5 ---
gen_rows 45 "$E2E_TMP/rate40.ndjson"
"$CLAY_FUNCTION" send --file "$E2E_TMP/rate40.ndjson" --webhook-url "$MOCK_URL/clay/webhook/rate40" --rate 40 --burst 5 \
    --summary-json "$E2E_TMP/rate40.json" --progress off >/dev/null 2>&1
window=$(json_get "$E2E_TMP/rate40.json" 'd["send_window_s"]')
measured=$(python3 -c "print(round((45 - 5) / $window, 2))")
check "rate: measured $measured rows/s is within 10% of 40" python3 -c "import sys; sys.exit(0 if abs($measured - 40) <= 4 else 1)"
stop_pid "$MOCK_PID"

# --- 429 bursts: Clay allows 10/s burst 5; the CLI is told 40/s burst 20 ---
start_mock --clay-rate 10 --clay-burst 5 || exit 1
gen_rows 40 "$E2E_TMP/burst.ndjson"
timeout 60 "$CLAY_FUNCTION" send --file "$E2E_TMP/burst.ndjson" --webhook-url "$MOCK_URL/clay/webhook/burst" --rate 40 \
    --burst 20 --summary-json "$E2E_TMP/burst.json" --progress plain --progress-interval 1 >"$E2E_TMP/burst.out" 2>&1
rc=$?
check "429: the run completes (exit 0)" [ $rc -eq 0 ]
limited=$(json_get "$E2E_TMP/burst.json" 'd["rate_limited"]')
check "429: Clay answered 429 ($limited times)" [ "$limited" -gt 0 ]
rejected=$(curl -s "$MOCK_URL/_harness/clay/burst" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rejected"]["429"])')
check "429: the mock counted the same 429s ($rejected)" [ "$rejected" = "$limited" ]
check "429: no row lost or duplicated (40 rows, each once)" [ "$(mock_tally burst)" = "40 40 1 40" ]
check "429: summary says 40 acknowledged, none pending" \
    [ "$(json_get "$E2E_TMP/burst.json" '"%d %d %d" % (d["acknowledged"], d["pending"], d["dead_lettered"])')" = "40 0 0" ]
# A 429 is not a submission: the journal's count equals the rows Clay took.
check "429: refused submissions are not counted against the quota" \
    [ "$(json_get "$E2E_TMP/burst.json" 'd["webhooks"][0]["submissions"]')" = 40 ]
check "429: plain progress lines without a terminal" grep -q "rows done" "$E2E_TMP/burst.out"
check "429: no progress bar without a terminal" bash -c "! grep -q $'\r' '$E2E_TMP/burst.out'"

finish
