#!/usr/bin/env bash
# metrics_scrape.sh: /metrics lists every series from the first scrape (zeros before any
# callback): callbacks by outcome, deliveries by sink and result, the store's operations by
# op and result, the redrive and receiving series, the process_* metrics read from /proc and
# clay_build_info{version}; the text passes `promtool check metrics` (Debian's prometheus
# package, installed by scripts/deps.sh). METRICS_TOKEN, when set, is required as a bearer.
. "$(dirname "$0")/../lib.sh"

if ! command -v promtool >/dev/null 2>&1; then
    echo "promtool is missing: scripts/deps.sh installs it (Debian package prometheus)" >&2
    exit 1
fi

start_function a CLAY_WEBHOOK_SECRET=s STORE_URL="file:$E2E_TMP/a" || exit 1
curl -s "$FN_URL_a/metrics" >"$E2E_TMP/first"
has() { grep -qE "^$1 [0-9.e+-]+$" "$E2E_TMP/first"; }
value() { grep -E "^$1 " "$E2E_TMP/$2" | awk '{print $2}'; }

check "first scrape passes promtool check metrics" bash -c "promtool check metrics <'$E2E_TMP/first' >'$E2E_TMP/lint' 2>&1 || { cat '$E2E_TMP/lint'; false; }"
for o in processed accepted duplicate in_progress store_unavailable unauthorized bad_json; do
    check "before any callback: clay_callbacks_total{outcome=\"$o\"} 0" grep -qx "clay_callbacks_total{outcome=\"$o\"} 0" "$E2E_TMP/first"
done
check "before any callback: the duration histogram of processed callbacks, empty" \
    grep -qx 'clay_callback_duration_seconds_count{outcome="processed"} 0' "$E2E_TMP/first"
n=0
for sink in outreach nurture zapier slack; do
    for r in pending delivered failed; do
        grep -qx "clay_deliveries_total{sink=\"$sink\",result=\"$r\"} 0" "$E2E_TMP/first" && n=$((n + 1))
    done
done
check "every sink x result of clay_deliveries_total at 0 ($n of 12)" [ "$n" = 12 ]
n=$(grep -cE '^clay_store_requests_total\{backend="file",op="(create|get|delete|list)",result="[a-z_]+"\} 0$' "$E2E_TMP/first")
check "the store's backend x op x result at 0 before any store call ($n of 20)" [ "$n" = 20 ]
check "clay_event_lifecycles_total listed" grep -q '^clay_event_lifecycles_total{outcome="processed"} 0$' "$E2E_TMP/first"
check "clay_pending_events listed" has clay_pending_events
check "clay_redrive_denied_total listed" has clay_redrive_denied_total
version=$("$CLAY_FUNCTION" --version | awk '{print $2}')
check "clay_build_info{version=\"$version\"} 1" grep -qx "clay_build_info{version=\"$version\"} 1" "$E2E_TMP/first"
for m in process_resident_memory_bytes process_cpu_seconds_total process_open_fds process_start_time_seconds; do
    check "$m listed" has "$m"
done
check "process_cpu_seconds_total is a counter" grep -qx '# TYPE process_cpu_seconds_total counter' "$E2E_TMP/first"
rss=$(value process_resident_memory_bytes first)
check "resident memory is plausible ($rss bytes: over 1 MB, under 1 GB)" \
    python3 -c "import sys; v=float(sys.argv[1]); sys.exit(0 if 1e6 < v < 1e9 else 1)" "$rss"
fds=$(value process_open_fds first)
check "open fds counted ($fds), as many as /proc/PID/fd shows give or take a few" \
    python3 -c "import sys; a,b=float(sys.argv[1]),int(sys.argv[2]); sys.exit(0 if 3 <= a and abs(a-b) <= 4 else 1)" "$fds" \
    "$(ls /proc/"$FN_PID_a"/fd | wc -l)"
start=$(value process_start_time_seconds first)
check "the start time is this process's (within 120 s of now: $start)" \
    python3 -c "import sys,time; sys.exit(0 if abs(time.time()-float(sys.argv[1])) < 120 else 1)" "$start"

# a callback moves the counters; the text still passes promtool
r=$(post_callback "$FN_URL_a" s '{"email":"m@example.com","icp_score":10}')
check "a callback is processed (${r%% *})" [ "${r%% *}" = 200 ]
curl -s "$FN_URL_a/metrics" >"$E2E_TMP/second"
check "then clay_callbacks_total{outcome=\"processed\"} 1" grep -qx 'clay_callbacks_total{outcome="processed"} 1' "$E2E_TMP/second"
check "the second scrape passes promtool too" bash -c "promtool check metrics <'$E2E_TMP/second'"
check "process_cpu_seconds_total never goes back" python3 -c "import sys; sys.exit(0 if float(sys.argv[2]) >= float(sys.argv[1]) else 1)" \
    "$(value process_cpu_seconds_total first)" "$(value process_cpu_seconds_total second)"

# METRICS_TOKEN
start_function t CLAY_WEBHOOK_SECRET=s STORE_URL="file:$E2E_TMP/t" METRICS_TOKEN=metrics-tok || exit 1
r=$(curl -s -o /dev/null -w '%{http_code}' "$FN_URL_t/metrics")
check "METRICS_TOKEN set: no token, 401 ($r)" [ "$r" = 401 ]
r=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "$FN_URL_t/metrics")
check "METRICS_TOKEN set: a wrong token, 401 ($r)" [ "$r" = 401 ]
r=$(curl -s -o "$E2E_TMP/tok" -w '%{http_code}' -H 'Authorization: Bearer metrics-tok' "$FN_URL_t/metrics")
check "METRICS_TOKEN set: the token, 200 with the metrics ($r)" bash -c "[ '$r' = 200 ] && grep -q '^clay_build_info' '$E2E_TMP/tok'"
r=$(curl -s -o /dev/null -w '%{http_code}' "$FN_URL_t/healthz")
check "METRICS_TOKEN guards /metrics only: /healthz 200 ($r)" [ "$r" = 200 ]

finish
