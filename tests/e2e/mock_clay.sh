#!/usr/bin/env bash
# mock_clay.sh: the mock Clay inbound webhook of `clay-harness mock`, over real
# sockets with curl: x-clay-webhook-auth (401), the 100 KB cap (413 just past
# it, 200 at it), JSON only (400), batches, rows kept and shown by
# /_harness/clay/<id>/rows, the workspace rate limit (25 quick rows: the burst
# of 20 passes, the rest get 429 with an integer Retry-After >= 1, and a row
# passes again after it), the per-webhook limit (403), --expire-after (404
# for good), the table's row cap (200 and the row dropped, on any webhook),
# a text success answer (--clay-text-ack), run-time control and reset.
#
# Env (set by ctest): CLAY_HARNESS. Uses 127.0.0.1 only; stops what it starts by PID.
set -uo pipefail

. "$(dirname "$0")/../mock_lib.sh"

[ -x "$CLAY_HARNESS" ] || {
    not_ok "no clay-harness at $CLAY_HARNESS"
    finish
}

# --- token, size, JSON ---
start_mock --clay-auth s3cret --clay-burst 100 --clay-rate 100
W=$base/clay/webhook/pull-in-data-1
check "no token: 401" 401 "$(status POST "$W" -H 'Content-Type: application/json' --data '{"a":1}')"
check "wrong token: 401" 401 "$(status POST "$W" -H 'x-clay-webhook-auth: wrong' --data '{"a":1}')"
body=$(curl -s -w ' %{http_code}' -X POST -H 'x-clay-webhook-auth: s3cret' --data '{"a":1}' "$W")
check "right token: 200 {\"status\":\"ok\"}" '{"status":"ok"} 200' "$body"
# Exactly 100,000 bytes of valid JSON (Clay: under 100 KB; 100,000, not 102,400): {"x":"aaa...a"}
{
    printf '{"x":"'
    head -c $((100000 - 8)) /dev/zero | tr '\0' 'a'
    printf '"}'
} >"$work/exact.json"
check "a body of exactly 100 KB is accepted" 200 "$(status POST "$W" -H 'x-clay-webhook-auth: s3cret' --data-binary @"$work/exact.json")"
{
    printf '{"x":"'
    head -c $((100000 - 7)) /dev/zero | tr '\0' 'a'
    printf '"}'
} >"$work/over.json"
check "a body of 100 KB + 1 byte: 413" 413 "$(status POST "$W" -H 'x-clay-webhook-auth: s3cret' --data-binary @"$work/over.json")"
check "not JSON: 400" 400 "$(status POST "$W" -H 'x-clay-webhook-auth: s3cret' --data 'not json')"
check "empty body: 400" 400 "$(status POST "$W" -H 'x-clay-webhook-auth: s3cret')"
check "GET on the webhook: 405" 405 "$(status GET "$W" -H 'x-clay-webhook-auth: s3cret')"
check "a batch of 3 rows" 200 "$(status POST "$W" -H 'x-clay-webhook-auth: s3cret' --data '[{"r":1},{"r":2},"three"]')"
rows=$(curl -s "$base/_harness/clay/pull-in-data-1/rows")
[[ $rows == *'"count":5,'* && $rows == *'"requests":3,'* ]] && ok "rows endpoint counts 5 rows from 3 requests" || not_ok "rows: $rows"
[[ $rows == *'"rows":[{"a":1},{"x":"aaaa'*'"},{"r":1},{"r":2},"three"]'* ]] && ok "rows are the bodies, as JSON values" || not_ok "rows: ${rows:0:300}"
[[ $rows == *'"401":2'* && $rows == *'"413":1'* && $rows == *'"400":2'* ]] && ok "rejections are counted by status" || not_ok "rejected: ${rows:0:300}"
summary=$(curl -s "$base/_harness/clay/pull-in-data-1/rows?summary=1")
[[ $summary != *'"rows"'* && $summary == *'"count":5'* ]] && ok "summary=1 omits the rows" || not_ok "summary: $summary"
check "another webhook has its own rows" 0 "$(curl -s "$base/_harness/clay/other/rows" | grep -o '"count":[0-9]*' | cut -d: -f2)"
stop_mock

# --- rate limit: 10 rows/s, burst 20 (the defaults) ---
start_mock
W=$base/clay/webhook/rate
urls=()
for i in $(seq 1 25); do urls+=(-o /dev/null "$W"); done
# One curl process, one keep-alive connection: the 25 requests arrive within a few milliseconds.
curl -s -D "$work/rate.h" -w '%{http_code}\n' -X POST --data '{"n":1}' "${urls[@]}" >"$work/rate.codes"
n200=$(grep -c '^200$' "$work/rate.codes")
n429=$(grep -c '^429$' "$work/rate.codes")
[ "$n200" -ge 20 ] && [ "$n200" -le 21 ] && ok "25 quick rows: the burst of 20 passes ($n200)" || not_ok "25 quick rows: $n200 accepted"
[ "$n429" -ge 4 ] && [ $((n200 + n429)) -eq 25 ] && ok "the rest get 429 ($n429)" || not_ok "429s: $n429, codes: $(tr '\n' ' ' <"$work/rate.codes")"
ra=$(tr -d '\r' <"$work/rate.h" | sed -n 's/^retry-after: //Ip' | head -n 1)
[[ $ra =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] && ok "429 carries Retry-After: $ra (integer >= 1)" || not_ok "Retry-After '$ra'"
sleep "$ra"
check "after Retry-After a row passes again" 200 "$(status POST "$W" --data '{"n":2}')"
check "a batch larger than the burst can never pass: 400" 400 "$(status POST "$W" --data "[$(printf '{"i":1},%.0s' $(seq 1 20)){\"i\":2}]")"
stop_mock

# --- quota (--clay-limit) and expiry (--expire-after) ---
start_mock --clay-limit 3
W=$base/clay/webhook/quota
for i in 1 2 3; do curl -s -o /dev/null -X POST --data "{\"i\":$i}" "$W"; done
body=$(curl -s -w ' %{http_code}' -X POST --data '{"i":4}' "$W")
check "past --clay-limit: 403 with the reason" '{"error":"webhook submission limit reached"} 403' "$body"
check "a batch that would cross the limit on another webhook" 403 "$(status POST "$base/clay/webhook/q2" --data '[1,2,3,4]')"
check "the limit is per webhook" 200 "$(status POST "$base/clay/webhook/q2" --data '[1,2,3]')"
stop_mock

# --- the table's row cap (--clay-table-rows): 200, and the row is dropped silently, whatever the webhook ---
start_mock --clay-table-rows 3 --clay-text-ack
body=$(curl -s -w ' %{http_code} %{content_type}' -X POST --data '[{"i":1},{"i":2}]' "$base/clay/webhook/t1")
check "--clay-text-ack: a success is 200 OK as text, not JSON" 'OK 200 text/plain' "$body"
check "row 3 of 3 on another webhook of the table" 200 "$(status POST "$base/clay/webhook/t2" --data '{"i":3}')"
check "past --clay-table-rows: still 200" 200 "$(status POST "$base/clay/webhook/t2" --data '{"i":4}')"
check "a fresh webhook of the full table: 200 too (rotation does not help)" 200 "$(status POST "$base/clay/webhook/t3" --data '{"i":5}')"
rows=$(curl -s "$base/_harness/clay/t2/rows")
[[ $rows == *'"count":2,"dropped":1,'* && $rows == *'"kept":1,'* ]] && ok "the dropped row is counted, not kept" || not_ok "rows: $rows"
list=$(curl -s "$base/_harness/clay")
[[ $list == *'"table_rows":3,"table_rows_limit":3,'* ]] && ok "/_harness/clay shows the table full" || not_ok "list: $list"
stop_mock

start_mock --expire-after 2
W=$base/clay/webhook/expiring
check "row 1 of 2" 200 "$(status POST "$W" --data '{"i":1}')"
check "row 2 of 2" 200 "$(status POST "$W" --data '{"i":2}')"
check "after --expire-after: 404" 404 "$(status POST "$W" --data '{"i":3}')"
check "404 for good" 404 "$(status POST "$W" --data '{"i":4}')"
check "other webhooks live on" 200 "$(status POST "$base/clay/webhook/fresh" --data '{"i":1}')"
check "expire a webhook at run time" 200 "$(status POST "$base/_harness/clay/fresh" --data '{"expired":true}')"
check "the expired webhook answers 404" 404 "$(status POST "$base/clay/webhook/fresh" --data '{"i":2}')"
check "an unknown control field: 400" 400 "$(status POST "$base/_harness/clay/fresh" --data '{"expird":true}')"
list=$(curl -s "$base/_harness/clay")
[[ $list == *'"id":"expiring","count":2,'*'"expired":true'* ]] && ok "/_harness/clay lists webhooks" || not_ok "list: $list"
check "reset" 200 "$(status POST "$base/_harness/reset")"
check "after reset the webhook is fresh again" 200 "$(status POST "$W" --data '{"i":1}')"
stop_mock
check "mock exits 0 on SIGTERM" 0 "$?"

finish
