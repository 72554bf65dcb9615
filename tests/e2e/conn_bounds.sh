#!/usr/bin/env bash
# conn_bounds.sh: issue 12 point 2, HTTP/2 and connections opt-in and bounded (tests/e2e/bounds.py
# speaks the raw HTTP/1.1 and h2c):
#   - H2C unset: no h2c, neither by prior knowledge nor by Upgrade
#   - MAX_CONNECTIONS=8: of 20 idle connections 12 are closed at once, counted in /metrics
#   - at most 16 concurrent streams per h2c connection: advertised, and the 17th..20th refused
#   - at most 100 header fields per request: 431 on HTTP/1.1 and HTTP/2, 100 still pass
#   - a reset budget: 1000 streams opened and cancelled get GOAWAY ENHANCE_YOUR_CALM; a client
#     that completes its streams (and cancels some) keeps its connection
#   - REQUEST_TIMEOUT_MS=2000 is a whole-request deadline: a body trickled a byte every 0.2 s
#     (HTTP/1.1, h2c) and an h2c header block trickled in CONTINUATION frames are cut within 3.5 s
# Loopback only; every process is stopped by PID; every wait is bounded.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"

BOUNDS="$(dirname "$0")/bounds.py"
port_of() { sed -E 's|.*:([0-9]+)$|\1|' <<<"$1"; }
field() { sed -nE "s/.*\"$2\": (\"?[^,}\"]*\"?).*/\1/p" <<<"$1" | tr -d '"'; }
bounds() { timeout 30 python3 "$BOUNDS" "$@"; }

# --- H2C defaults to off ---
start_function off CLAY_WEBHOOK_SECRET=e2e-secret STORE_URL="file:$E2E_TMP/store-off" || exit 1
r=$(curl -s -o /dev/null -w '%{http_version}' --max-time 3 --http2-prior-knowledge "$FN_URL_off/healthz")
check "H2C unset: no h2c by prior knowledge (HTTP version '$r')" [ "$r" != 2 ]
r=$(curl -s -o /dev/null -w '%{http_code} %{http_version}' --max-time 3 --http2 "$FN_URL_off/healthz")
check "H2C unset: Upgrade: h2c is not taken ($r)" [ "$r" = "200 1.1" ]
stop_pid "$FN_PID_off"

start_function a CLAY_WEBHOOK_SECRET=e2e-secret H2C=1 MAX_CONNECTIONS=8 REQUEST_TIMEOUT_MS=2000 \
    STORE_URL="file:$E2E_TMP/store-a" || exit 1
PORT=$(port_of "$FN_URL_a")
r=$(curl -s -o /dev/null -w '%{http_code} %{http_version}' --max-time 3 --http2-prior-knowledge "$FN_URL_a/healthz")
check "H2C=1: h2c by prior knowledge ($r)" [ "$r" = "200 2" ]

# --- MAX_CONNECTIONS ---
out=$(bounds conns "$PORT" 20)
check "MAX_CONNECTIONS=8: 12 of 20 connections closed at once ($out)" [ "$(field "$out" closed_at_once)" = 12 ]
sleep 0.3
m=$(curl -s --max-time 3 "$FN_URL_a/metrics")
check "the closed connections are counted in /metrics" grep -qE '^clay_connections_refused_total 12$' <<<"$m"
check "open connections are a gauge in /metrics (this scrape's)" grep -qE '^clay_connections_open 1$' <<<"$m"

# --- 16 concurrent streams ---
out=$(bounds streams "$PORT" 20)
check "h2c advertises SETTINGS_MAX_CONCURRENT_STREAMS 16 ($out)" [ "$(field "$out" max_concurrent_streams)" = 16 ]
check "h2c refuses the 17th..20th concurrent stream ($out)" [ "$(field "$out" refused)" = 4 ]

# --- 100 header fields ---
out=$(bounds headers "$PORT" h1 100)
check "HTTP/1.1 with 100 header fields passes ($out)" [ "$(field "$out" status)" = 200 ]
out=$(bounds headers "$PORT" h1 101)
check "HTTP/1.1 with 101 header fields is a JSON 431 ($out)" [ "$(field "$out" status):$(field "$out" json)" = 431:true ]
out=$(bounds headers "$PORT" h2 100)
check "h2c with 100 header fields passes ($out)" [ "$(field "$out" status)" = 200 ]
out=$(bounds headers "$PORT" h2 101)
check "h2c with 101 header fields is a JSON 431 ($out)" [ "$(field "$out" status)" = 431 ]
r=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 --http2-prior-knowledge "$FN_URL_a/healthz")
check "after the 431 the HPACK state is in step: h2c still serves ($r)" [ "$r" = 200 ]

# --- reset budget (Rapid Reset) ---
out=$(bounds reset "$PORT" 1000)
check "1000 streams opened and cancelled get GOAWAY ENHANCE_YOUR_CALM (11) ($out)" [ "$(field "$out" goaway)" = 11 ]
out=$(bounds polite "$PORT" 300)
check "a client completing its streams (every third cancelled) keeps its connection ($out)" \
    [ "$(field "$out" goaway):$(field "$out" answered)" = null:200 ]

# --- whole-request deadline (REQUEST_TIMEOUT_MS=2000) ---
within() { [ -n "$1" ] && [ "$1" != null ] && awk -v t="$1" 'BEGIN { exit !(t >= 1.5 && t <= 3.5) }'; }
out=$(bounds trickle "$PORT" h1 6)
check "HTTP/1.1: a body trickled past the deadline is cut ($out)" within "$(field "$out" cut_after_s)"
out=$(bounds trickle "$PORT" h2 6)
check "h2c: a stream trickling its body is reset (CANCEL) at the deadline ($out)" within "$(field "$out" cut_after_s)"
check "h2c: the trickling stream got RST_STREAM CANCEL ($out)" [ "$(field "$out" how):$(field "$out" code)" = rst_stream:8 ]
out=$(bounds trickle "$PORT" h2-headers 6)
check "h2c: a header block trickled in CONTINUATION frames is cut at the deadline ($out)" within "$(field "$out" cut_after_s)"
r=$(post_callback "$FN_URL_a" e2e-secret '{"email":"ann@example.com","icp_score":40,"case":"bounds"}')
check "a signed callback still works ($r)" grep -q '^200 ' <<<"$r"
stop_pid "$FN_PID_a"

finish
