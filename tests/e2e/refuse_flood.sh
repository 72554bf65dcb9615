#!/usr/bin/env bash
# refuse_flood.sh: issue 16, refuse before buffering. Floods a fresh clay-function
# with bodies it must not hold (tests/e2e/flood.py) and reads its peak RSS (VmHWM):
#   - 400 HTTP/1.1 connections, 512 KiB of a declared 1 MiB body, no credentials:
#     >= 90% get their 401 before sending a body byte; peak RSS < 128 MiB
#   - the same with a well-formed X-Clay-Signature (the body is needed): peak RSS
#     < 128 MiB (MAX_RECEIVING_BYTES pauses the readers), and a normal signed
#     callback on a fresh connection is answered within 2 s meanwhile
#   - H2C=1, 8 h2c connections x 100 streams x 512 KiB with a signature: < 128 MiB
# Prints "flood-rss <name> <KiB>" lines (bench/run.sh reads them). Loopback only;
# every process is stopped by PID; every wait is bounded.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

FLOOD="$(dirname "$0")/flood.py"
LIMIT_KB=$((128 * 1024))
# Under AddressSanitizer (scripts/test.sh's second pass) RSS holds ASan's shadow memory, redzones and quarantine,
# not the program's: the bound is checked on the normal build only.
if grep -q __asan_init "$CLAY_FUNCTION" 2>/dev/null; then
    LIMIT_KB=$((1024 * 1024 * 1024))
    echo "# ASan build: the peak RSS bounds are not checked (shadow memory and quarantine)"
fi
ulimit -n 4096 2>/dev/null || true

peak_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 999999999; }
port_of() { sed -E 's|.*:([0-9]+)$|\1|' <<<"$1"; }

# --- 1. no credentials: 401 from the headers ---
start_function a CLAY_WEBHOOK_SECRET=e2e-secret STORE_URL="file:$E2E_TMP/store-a" || exit 1
out=$(timeout 60 python3 "$FLOOD" h1 "$(port_of "$FN_URL_a")" 400 --deadline 5 --hold 1)
rss=$(peak_kb "$FN_PID_a")
early=$(sed -E 's/.*"early_401": ([0-9]+).*/\1/' <<<"$out")
echo "flood-rss h1-unauthenticated $rss"
check "400 unauthenticated bodies: >= 360 answered 401 before the body ($early)" [ "${early:-0}" -ge 360 ]
check "400 unauthenticated bodies: peak RSS ${rss} KiB < 128 MiB" [ "$rss" -lt "$LIMIT_KB" ]
check "early refusals are counted in /metrics" bash -c "curl -s $FN_URL_a/metrics | grep -qE '^clay_refused_before_body_total\{status=\"401\"\} [1-9]'"
check "early 401s are callbacks with outcome unauthorized" bash -c "curl -s $FN_URL_a/metrics | grep -qE '^clay_callbacks_total\{outcome=\"unauthorized\"\} [1-9]'"
r=$(curl -s -o /dev/null -w '%{http_code}' -X GET -H 'Content-Type: application/json' --data-binary '{}' "$FN_URL_a/api/clay/enriched")
check "a GET with a body is a 405 ($r)" [ "$r" = 405 ]
r=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' -H 'X-Clay-Secret: e2e-secret' --data-binary '{}' "$FN_URL_a/api/clay/enriched")
check "a text/plain body is a 415 ($r)" [ "$r" = 415 ]
r=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary '{}' "$FN_URL_a/nope")
check "a body to no endpoint is a 404 ($r)" [ "$r" = 404 ]
r=$(post_callback "$FN_URL_a" wrong '{"email":"a@example.com"}')
check "a wrong static secret is a 401 ($r)" grep -q '^401 .*unauthorized' <<<"$r"
r=$(post_callback "$FN_URL_a" e2e-secret '{"email":"ann@example.com","icp_score":40,"case":"refuse-a"}')
check "a signed callback still works ($r)" grep -q '^200 ' <<<"$r"
stop_pid "$FN_PID_a"

# --- 2. well-formed signatures: the budget holds the bodies back ---
# The store is in memory where possible: the 2 s are about the server under the flood, not the disk's fsync.
STORE_B=$(mktemp -d /dev/shm/cw-refuse.XXXXXX 2>/dev/null || mktemp -d "$E2E_TMP/store-b.XXXXXX")
start_function b CLAY_WEBHOOK_SECRET=e2e-secret STORE_URL="file:$STORE_B" || exit 1
timeout 60 python3 "$FLOOD" h1 "$(port_of "$FN_URL_b")" 400 --sig --deadline 6 --hold 4 >"$E2E_TMP/flood-b" &
FLOOD_PID=$!
E2E_PIDS+=("$FLOOD_PID")
wait_for_line "$E2E_TMP/flood-b" 'body_bytes_sent' 20 || fail "the signature flood did not finish sending"
start=$(date +%s%N)
r=$(post_callback "$FN_URL_b" e2e-secret '{"email":"bob@example.com","icp_score":40,"case":"refuse-b"}' --max-time 2)
ms=$((($(date +%s%N) - start) / 1000000))
check "during the signature flood a signed callback is answered in ${ms} ms ($r)" grep -q '^200 ' <<<"$r"
# Past the budget, large declared bodies are refused from their headers (503) and the rest pause (docs/receiving.md).
check "the receiving budget held: bodies paused or refused 503 from their headers" bash -c "curl -s --max-time 2 $FN_URL_b/metrics |
    grep -qE '^(clay_receiving_paused_total|clay_refused_before_body_total\\{status=\"503\"\\}) [1-9]'"
wait "$FLOOD_PID"
rss=$(peak_kb "$FN_PID_b")
echo "flood-rss h1-signature $rss"
check "400 signed 512 KiB bodies: peak RSS ${rss} KiB < 128 MiB ($(cat "$E2E_TMP/flood-b"))" [ "$rss" -lt "$LIMIT_KB" ]
# Paused readers notice the close only at REQUEST_TIMEOUT_MS (10 s): the budget is back within it.
for _ in $(seq 1 60); do
    curl -s "$FN_URL_b/metrics" | grep -qE '^clay_receiving_bytes 0$' && break
    sleep 0.25
done
check "the budget is given back when the connections close" bash -c "curl -s $FN_URL_b/metrics | grep -qE '^clay_receiving_bytes 0$'"
stop_pid "$FN_PID_b"
rm -rf "$STORE_B"

# --- 3. h2c: 8 connections x 100 streams ---
start_function c CLAY_WEBHOOK_SECRET=e2e-secret H2C=1 STORE_URL="file:$E2E_TMP/store-c" || exit 1
out=$(timeout 60 python3 "$FLOOD" h2 "$(port_of "$FN_URL_c")" 8 --deadline 6 --hold 1)
rss=$(peak_kb "$FN_PID_c")
echo "flood-rss h2c-signature $rss"
check "8 h2c connections x 100 streams x 512 KiB: peak RSS ${rss} KiB < 128 MiB ($out)" [ "$rss" -lt "$LIMIT_KB" ]
r=$(curl -s -o /dev/null -w '%{http_code}' --http2-prior-knowledge -H 'Content-Type: application/json' --data-binary '{}' "$FN_URL_c/api/clay/enriched")
check "h2c: no credentials is a 401 ($r)" [ "$r" = 401 ]
stop_pid "$FN_PID_c"

finish
