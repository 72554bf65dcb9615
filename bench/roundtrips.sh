#!/usr/bin/env bash
# roundtrips.sh: what a callback costs on a remote store, the production case (Cloud Run + GCS):
# latency with every store answer delayed by a fixed STORE_MS (the harness GCS emulator), and
# store writes per event (billed as class A operations at GCS list price, $0.005 per 1,000).
# One callback at a time, sinks answering at once, so the latency is the store round trips.
#
#   bench/roundtrips.sh [--store-ms 20] [--count 40] [--function PATH] [--label NAME]
#
# Prints a markdown table: p50 latency of a new routed event (outreach + zapier), a new sinkless
# event, and a duplicate; writes per event of each kind (from the emulator's request log); and the
# class-A cost per million events. --function compares another build (e.g. an older commit's).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
STORE_MS=20
COUNT=40
FN=${CLAY_FUNCTION:-$here/build/clay-function}
HARNESS=${CLAY_HARNESS:-$here/build/clay-harness}
LABEL=clay-function
while [ $# -gt 0 ]; do
    case "$1" in
    --store-ms) STORE_MS=$2; shift 2 ;;
    --count) COUNT=$2; shift 2 ;;
    --function) FN=$2; shift 2 ;;
    --label) LABEL=$2; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "usage: bench/roundtrips.sh [--store-ms MS] [--count N] [--function PATH] [--label NAME]" >&2; exit 2 ;;
    esac
done
work=$(mktemp -d /tmp/cw-rt.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
wait_line() { # FILE REGEX
    for _ in $(seq 200); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    echo "roundtrips.sh: no '$2' in $1:" >&2; cat "$1" >&2; return 1
}
"$HARNESS" mock --listen 127.0.0.1:0 --store-latency-ms "$STORE_MS" >"$work/mock.log" 2>&1 &
pids+=($!)
wait_line "$work/mock.log" 'listening on http://127.0.0.1:[0-9]+'
mock=$(grep -m1 -oE 'http://127.0.0.1:[0-9]+' "$work/mock.log")
env BIND_ADDRESS=127.0.0.1 PORT=0 WORKERS=1 LOG_LEVEL=warning CLAY_WEBHOOK_SECRET=bench STORE_URL=gs://bench/rt \
    STORAGE_EMULATOR_HOST="$mock" OUTREACH_WEBHOOK_URL="$mock/sinks/outreach" ZAPIER_WEBHOOK_URL="$mock/sinks/zapier" \
    LOG_LEVEL=info "$FN" serve >"$work/fn.log" 2>&1 &
pids+=($!)
wait_line "$work/fn.log" '"message":"listening"'
port=$(grep -m1 '"message":"listening"' "$work/fn.log" | sed -E 's/.*"port":([0-9]+).*/\1/')

python3 - "http://127.0.0.1:$port" "$mock" "$COUNT" "$STORE_MS" "$LABEL" <<'PY'
import json, statistics, sys, time, urllib.request
fn, mock, count, store_ms, label = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
def post(body, key):
    t0 = time.perf_counter()
    status, _ = http("POST", fn + "/api/clay/enriched", json.dumps(body).encode(),
                     {"Content-Type": "application/json", "X-Clay-Secret": "bench", "Idempotency-Key": key})
    return status, (time.perf_counter() - t0) * 1000
def writes_since_clear():
    time.sleep(0.2)
    log = json.loads(http("GET", mock + "/_harness/store/log")[1])["entries"]
    return sum(1 for e in log if e["op"] == "PUT")
run = str(time.time_ns())
rows = []
for kind, score in [("new, routed (outreach + zapier)", 85), ("new, no sinks (skip)", 10)]:
    lat, writes = [], 0
    http("DELETE", mock + "/_harness/store/log")
    for i in range(count):
        status, ms = post({"email": "lead%d@example.com" % i, "icp_score": score}, "%s-%d-%d" % (run, score, i))
        assert status == 200, status
        lat.append(ms)
    writes = writes_since_clear()
    rows.append((kind, statistics.median(lat), writes / count))
lat = []
http("DELETE", mock + "/_harness/store/log")
for i in range(count):
    status, ms = post({"email": "lead%d@example.com" % i, "icp_score": 85}, "%s-%d-%d" % (run, 85, i))
    assert status == 200, status
    lat.append(ms)
rows.append(("duplicate", statistics.median(lat), writes_since_clear() / count))
print("| %s, store answers after %d ms | p50 latency, ms | store writes per event | class-A cost per million events |" % (label, store_ms))
print("| --- | ---: | ---: | ---: |")
for kind, p50, w in rows:
    print("| %s | %.1f | %.2f | $%.2f |" % (kind, p50, w, w * 1e6 * 0.005 / 1000))
PY
