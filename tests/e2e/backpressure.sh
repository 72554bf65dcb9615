#!/usr/bin/env bash
# backpressure.sh: callbacks in progress are bounded (MAX_INFLIGHT, MAX_INFLIGHT_BYTES): past either,
# a callback is answered 503 overloaded with Retry-After: 1 before its body is parsed, counted in
# /metrics; the counts come back when the lifecycle releases the callbacks. A MAX_BODY_BYTES whose
# event record the store could not read back refuses to start.
. "$(dirname "$0")/../lib.sh"
start_mock || exit 1
# Every outreach delivery takes 3 s: callbacks stay in progress that long (room for a loaded machine to send
# the next request while they do).
curl -s -X POST "$MOCK_URL/_harness/sinks/outreach" -d '{"latency_ms":3000}' >/dev/null
start_function bp WORKERS=1 CLAY_WEBHOOK_SECRET=s3cret STORE_URL="file:$E2E_TMP/store" \
    OUTREACH_WEBHOOK_URL="$MOCK_URL/sinks/outreach" MAX_INFLIGHT=2 MAX_BODY_BYTES=40000 MAX_INFLIGHT_BYTES=65536 || exit 1
url=$FN_URL_bp

BG=()
post_bg() { # N BODY: posts in the background, status and headers into $E2E_TMP/r.N
    curl -s -D "$E2E_TMP/h.$1" -o "$E2E_TMP/b.$1" -w '%{http_code}' -X POST "$url/api/clay/enriched" \
        -H 'Content-Type: application/json' -H 'X-Clay-Secret: s3cret' -H "Idempotency-Key: bp-$1-$$" \
        --data-binary "$2" >"$E2E_TMP/r.$1" &
    BG+=($!)
}
wait_bg() { # waits for the posts only (plain `wait` would wait for the servers too)
    local p
    for p in "${BG[@]}"; do wait "$p"; done
    BG=()
}
# wait_attempts N: until the outreach mock has had N delivery attempts (each callback is then in progress,
# held by its 3 s delivery), at most 10 s: a fixed sleep was too short on a loaded machine.
wait_attempts() {
    local i n
    for i in $(seq 200); do
        n=$(curl -s "$MOCK_URL/_harness/deliveries?summary=1" | grep -o '"attempts_by_sink":{"outreach":[0-9]*' | grep -o '[0-9]*$')
        [ "${n:-0}" -ge "$1" ] && return 0
        sleep 0.05
    done
    return 1
}
lead='{"email":"ada@example.com","icp_score":88}'
post_bg 1 "$lead"
post_bg 2 "$lead"
wait_attempts 2 || echo "  (the two callbacks did not reach the sink within 10 s)"
post_bg 3 "$lead"
wait_bg
check "two callbacks in progress: both answered 200" test "$(cat "$E2E_TMP/r.1")$(cat "$E2E_TMP/r.2")" = 200200
check "the third, past MAX_INFLIGHT=2, answered 503 (got $(cat "$E2E_TMP/r.3") $(head -c 200 "$E2E_TMP/b.3"))" \
    test "$(cat "$E2E_TMP/r.3")" = 503
check "503 says overloaded" grep -q '"error":"overloaded"' "$E2E_TMP/b.3"
check "503 carries Retry-After: 1" grep -qi '^retry-after: 1' "$E2E_TMP/h.3"

# The counts came back: one more is accepted.
r=$(post_callback "$url" s3cret "$lead" -H "Idempotency-Key: bp-4-$$")
check "after they finished, a new callback is accepted (${r%% *})" test "${r%% *}" = 200

# Bytes: two bodies of 35,000 bytes pass MAX_INFLIGHT_BYTES=65536 together.
pad=$(head -c 34900 /dev/zero | tr '\0' 'x')
big="{\"email\":\"bob@example.com\",\"icp_score\":88,\"notes\":\"$pad\"}"
post_bg 5 "$big"
wait_attempts 4 || echo "  (the big callback did not reach the sink within 10 s)"
post_bg 6 "$big"
wait_bg
check "bytes: the first big callback answered 200" test "$(cat "$E2E_TMP/r.5")" = 200
check "bytes: the second, past MAX_INFLIGHT_BYTES, answered 503 overloaded" \
    bash -c "test \"\$(cat '$E2E_TMP/r.6')\" = 503 && grep -q overloaded '$E2E_TMP/b.6'"

# Bodies in progress (declared sizes, from headers to the request's end) past MAX_RECEIVING_BYTES: the next
# one is answered 503 from its headers, before its body is read, instead of waiting (and timing out unanswered).
start_function rb WORKERS=1 CLAY_WEBHOOK_SECRET=s3cret STORE_URL="file:$E2E_TMP/store3" \
    OUTREACH_WEBHOOK_URL="$MOCK_URL/sinks/outreach" MAX_BODY_BYTES=500000 MAX_RECEIVING_BYTES=1048576 || exit 1
url_rb=$FN_URL_rb
{ printf '{"email":"cy@example.com","icp_score":88,"notes":"'; head -c 399000 /dev/zero | tr '\0' 'y'; printf '"}'; } >"$E2E_TMP/mid.json"
mid="@$E2E_TMP/mid.json" # too long for a command line
url_saved=$url
url=$url_rb
post_bg 7 "$mid"
post_bg 8 "$mid"
wait_attempts 6 || echo "  (the two 400 kB callbacks did not reach the sink within 10 s)"
post_bg 9 "$mid"
wait_bg
url=$url_saved
check "receiving: two 400 kB callbacks in progress answered 200" test "$(cat "$E2E_TMP/r.7")$(cat "$E2E_TMP/r.8")" = 200200
check "receiving: the third, past MAX_RECEIVING_BYTES, answered 503 overloaded from its headers (got $(cat "$E2E_TMP/r.9") $(head -c 200 "$E2E_TMP/b.9"))" \
    bash -c "test \"\$(cat '$E2E_TMP/r.9')\" = 503 && grep -q overloaded '$E2E_TMP/b.9' && grep -qi '^retry-after: 1' '$E2E_TMP/h.9'"
check "... counted as refused before its body" \
    bash -c "curl -s '$url_rb/metrics' | grep -E '^clay_refused_before_body_total\\{status=\"503\"\\} [1-9]' >/dev/null"

metrics=$(curl -s "$url/metrics")
check "overloaded callbacks are counted in /metrics" \
    bash -c "grep -E '^clay_callbacks_total\\{outcome=\"overloaded\"\\} [1-9]' <<<'$metrics' >/dev/null"
check "the overload is logged" grep -q '"outcome":"overloaded"' "$FN_LOG_bp"

# A body cap whose record the store could not read back is refused at start, naming the variable.
out=$(env CLAY_WEBHOOK_SECRET=x STORE_URL="file:$E2E_TMP/store2" MAX_BODY_BYTES=20000000 "$CLAY_FUNCTION" serve 2>&1)
rc=$?
check "MAX_BODY_BYTES above the store's record limit: exit 2 ($rc)" test "$rc" = 2
check "and the message names MAX_BODY_BYTES" grep -q '^clay-function: MAX_BODY_BYTES' <<<"$out"
finish
