#!/usr/bin/env bash
# mock_sinks.sh: the mock sinks of `clay-harness mock` and their delivery
# ledger, over real sockets with curl: deliveries recorded with sink,
# Idempotency-Key, event_id and body; duplicates and unique counts; filters
# and summary; programmable failures (fail_next 2 → two 503 then 200,
# fail_always, Retry-After), latency, hang (the client gives up; a stop
# answers it at once), and reset.
#
# Env (set by ctest): CLAY_HARNESS. Uses 127.0.0.1 only; stops what it starts by PID.
set -uo pipefail

. "$(dirname "$0")/../mock_lib.sh"

[ -x "$CLAY_HARNESS" ] || {
    not_ok "no clay-harness at $CLAY_HARNESS"
    finish
}

start_mock
S=$base/sinks
post() { # post SINK KEY BODY -> status
    local args=()
    [ -n "$2" ] && args+=(-H "Idempotency-Key: $2")
    status POST "$S/$1" -H 'Content-Type: application/json' "${args[@]}" --data "$3"
}
field() { # field JSON KEY -> the first "KEY":value's value
    grep -o "\"$2\":[^,}]*" <<<"$1" | head -n 1 | cut -d: -f2-
}
section() { # section JSON NAME -> the {...} of "NAME":{...}
    grep -o "\"$2\":{[^}]*}" <<<"$1" | head -n 1 | sed "s/^\"$2\"://"
}

# --- the ledger ---
check "delivery 1" 200 "$(post outreach e1:outreach '{"event_id":"e1","route":"outreach","email":"a@example.com"}')"
check "the same delivery again (a retry)" 200 "$(post outreach e1:outreach '{"event_id":"e1","route":"outreach","email":"a@example.com"}')"
check "another sink" 200 "$(post nurture e2:nurture '{"event_id":"e2","route":"nurture"}')"
check "the first event to a third sink" 200 "$(post zapier e1:zapier '{"event_id":"e1"}')"
check "no Idempotency-Key, not JSON" 200 "$(post slack '' 'text with "quotes"')"
led=$(curl -s "$base/_harness/deliveries")
check "total" 5 "$(field "$led" total)"
check "duplicates" 1 "$(field "$led" duplicates)"
check "by_sink" '{"outreach":2,"nurture":1,"zapier":1,"slack":1}' "$(section "$led" by_sink)"
check "unique_by_sink" '{"outreach":1,"nurture":1,"zapier":1,"slack":1}' "$(section "$led" unique_by_sink)"
check "attempts_by_sink" '{"outreach":2,"nurture":1,"zapier":1,"slack":1}' "$(section "$led" attempts_by_sink)"
[[ $led == *'"deliveries":[{"sink":"outreach","idempotency_key":"e1:outreach","event_id":"e1","time":"'*'","duplicate":false,"body":{"event_id":"e1","route":"outreach","email":"a@example.com"}}'* ]] &&
    ok "a delivery records sink, key, event id, time and body" || not_ok "ledger: ${led:0:400}"
[[ $led == *'{"sink":"slack","idempotency_key":null,"event_id":null,'*'"body":"text with \"quotes\""}'* ]] &&
    ok "a non-JSON body is kept as a string" || not_ok "slack entry: $led"
f=$(curl -s "$base/_harness/deliveries?sink=outreach")
check "?sink= filters" 2 "$(field "$f" total)"
check "?sink= filters the sections too" '{"outreach":2}' "$(section "$f" by_sink)"
f=$(curl -s "$base/_harness/deliveries?event_id=e1")
check "?event_id= filters" 3 "$(field "$f" total)"
check "?event_id= counts unique per sink" '{"outreach":1,"nurture":0,"zapier":1,"slack":0}' "$(section "$f" unique_by_sink)"
f=$(curl -s "$base/_harness/deliveries?summary=1")
[[ $f != *'"deliveries"'* && $(field "$f" total) == 5 ]] && ok "?summary=1 omits the list" || not_ok "summary: $f"
check "GET on a sink: 405" 405 "$(status GET "$S/outreach")"
check "a bad sink name: 404" 404 "$(status POST "$S/a%20b" --data '{}')"

# --- programmable failures ---
check "program fail_next 2" 200 "$(status POST "$base/_harness/sinks/outreach" --data '{"fail_next":2,"status":503,"retry_after":1}')"
c1=$(post outreach e3:outreach '{"event_id":"e3"}')
c2=$(post outreach e3:outreach '{"event_id":"e3"}')
c3=$(post outreach e3:outreach '{"event_id":"e3"}')
check "fail_next 2: two 503 then 200" "503 503 200" "$c1 $c2 $c3"
f=$(curl -s "$base/_harness/deliveries?sink=outreach&event_id=e3")
check "failed attempts are not deliveries" 1 "$(field "$f" total)"
check "but they are attempts" '{"outreach":5}' "$(section "$f" attempts_by_sink)"
check "and failures" '{"outreach":2}' "$(section "$f" failures_by_sink)"
curl -s -o /dev/null -X POST "$base/_harness/sinks/ra" --data '{"fail_next":1,"status":429,"retry_after":7}'
hdr=$(curl -s -D - -o /dev/null -X POST --data '{}' "$S/ra" | tr -d '\r')
[[ $hdr == "HTTP/1.1 429"* && $hdr == *"retry-after: 7"* ]] && ok "failures carry the programmed status and Retry-After" || not_ok "headers: $hdr"
curl -s -o /dev/null -X POST "$base/_harness/sinks/nurture" --data '{"fail_always":true,"status":400}'
check "fail_always 400 (1)" 400 "$(post nurture e4:nurture '{"event_id":"e4"}')"
check "fail_always 400 (2)" 400 "$(post nurture e4:nurture '{"event_id":"e4"}')"
beh=$(curl -s "$base/_harness/sinks/nurture")
[[ $beh == *'"fail_always":true,"status":400'* ]] && ok "GET shows the behaviour" || not_ok "behaviour: $beh"
check "DELETE resets the behaviour" 200 "$(status DELETE "$base/_harness/sinks/nurture")"
check "then deliveries pass" 200 "$(post nurture e4:nurture '{"event_id":"e4"}')"
check "an unknown behaviour field: 400" 400 "$(status POST "$base/_harness/sinks/x" --data '{"fail_nxt":1}')"
check "a bad status: 400" 400 "$(status POST "$base/_harness/sinks/x" --data '{"fail_next":1,"status":99}')"

# --- latency and hang ---
curl -s -o /dev/null -X POST "$base/_harness/sinks/slow" --data '{"latency_ms":400}'
t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST --data '{"event_id":"s"}' "$S/slow")
code=${t% *}
ms=$(awk -v t="${t#* }" 'BEGIN { printf "%d", t * 1000 }')
[ "$code" = 200 ] && [ "$ms" -ge 380 ] && ok "latency_ms 400 delays the answer (${ms} ms)" || not_ok "latency: $t"
curl -s -o /dev/null -X POST "$base/_harness/sinks/stuck" --data '{"hang":true}'
t=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -X POST --data '{"event_id":"h"}' "$S/stuck")
rc=$?
check "hang: the client gives up (curl timeout)" "28 000" "$rc $t"
f=$(curl -s "$base/_harness/deliveries?sink=stuck&summary=1")
check "a hung request is an attempt, not a delivery" '0 {"stuck":1} {"stuck":1}' \
    "$(field "$f" total) $(section "$f" attempts_by_sink) $(section "$f" hung_by_sink)"
check "other sinks are not held up" 200 "$(post outreach e5:outreach '{"event_id":"e5"}')"

# --- reset ---
check "reset" 200 "$(status POST "$base/_harness/reset")"
f=$(curl -s "$base/_harness/deliveries")
check "reset empties the ledger and forgets the sinks" '{"total":0,"duplicates":0,"by_sink":{},"unique_by_sink":{},"attempts_by_sink":{},"failures_by_sink":{},"hung_by_sink":{},"deliveries":[]}' "$f"
check "and the behaviours" 200 "$(post stuck k '{}')"

# --- a stop releases hung requests at once ---
curl -s -o /dev/null -X POST "$base/_harness/sinks/stuck" --data '{"hang":true}'
curl -s -o "$work/hung.body" -w '%{http_code}' --max-time 20 -X POST --data '{}' "$S/stuck" >"$work/hung.code" &
hung_pid=$!
sleep 0.5
start=$(date +%s%N)
kill "$mock_pid"
wait "$mock_pid"
rc=$?
took=$((($(date +%s%N) - start) / 1000000))
wait "$hung_pid"
check "SIGTERM with a hung request: exit 0" 0 "$rc"
[ "$took" -lt 2000 ] && ok "and it stops promptly (${took} ms)" || not_ok "stop took ${took} ms"
check "the hung client gets 503" 503 "$(cat "$work/hung.code")"

finish
