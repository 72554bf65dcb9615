#!/usr/bin/env bash
# inflight.sh: memory under many large callbacks at once (issue 12 point 3). 200 concurrent authenticated
# callbacks, each a ~1 MB body of 90,000 small members (the worst case for a JSON tree), routed to a sink
# that answers after 3 s, against clay-function with its defaults (MAX_INFLIGHT 256, MAX_INFLIGHT_BYTES
# 32 MiB, MAX_RECEIVING_BYTES 64 MiB). Reports the answers by status (only 2xx and 503 overloaded are
# allowed) and the function's peak RSS (VmHWM); target under 256 MiB.
#   bench/inflight.sh [--count 200] [--function PATH]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
COUNT=200
FN=${CLAY_FUNCTION:-$here/build/clay-function}
HARNESS=${CLAY_HARNESS:-$here/build/clay-harness}
while [ $# -gt 0 ]; do
    case "$1" in
    --count) COUNT=$2; shift 2 ;;
    --function) FN=$2; shift 2 ;;
    *) echo "usage: bench/inflight.sh [--count N] [--function PATH]" >&2; exit 2 ;;
    esac
done
work=$(mktemp -d /tmp/cw-inflight.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
wait_line() {
    for _ in $(seq 200); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    echo "inflight.sh: no '$2' in $1" >&2; cat "$1" >&2; return 1
}
"$HARNESS" mock --listen 127.0.0.1:0 >"$work/mock.log" 2>&1 &
pids+=($!)
wait_line "$work/mock.log" 'listening on http://127.0.0.1:[0-9]+'
mock=$(grep -m1 -oE 'http://127.0.0.1:[0-9]+' "$work/mock.log")
curl -s -X POST "$mock/_harness/sinks/outreach" -d '{"latency_ms":3000}' >/dev/null
env BIND_ADDRESS=127.0.0.1 PORT=0 CLAY_WEBHOOK_SECRET=bench STORE_URL="file:$work/store" \
    OUTREACH_WEBHOOK_URL="$mock/sinks/outreach" "$FN" serve >"$work/fn.log" 2>&1 &
fn_pid=$!
pids+=($fn_pid)
for _ in $(seq 200); do grep -q '"port":' "$work/fn.log" 2>/dev/null && break; sleep 0.05; done
port=$(grep -m1 -oE '"port":[0-9]+' "$work/fn.log" | cut -d: -f2)
python3 - "http://127.0.0.1:$port" "$COUNT" <<'PY'
import collections, http.client, sys, threading, urllib.parse
url, count = sys.argv[1], int(sys.argv[2])
members = ",".join('"k%05d":1' % i for i in range(90000))
body_tpl = '{"email":"lead%d@example.com","icp_score":85,' + members + '}'
statuses = collections.Counter()
lock = threading.Lock()
u = urllib.parse.urlparse(url)
start = threading.Barrier(count)
def one(i):
    body = (body_tpl % i).encode()
    start.wait()
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        c.request("POST", "/api/clay/enriched", body, {"Content-Type": "application/json", "X-Clay-Secret": "bench",
                                                      "Idempotency-Key": "inflight-%d" % i})
        r = c.getresponse()
        r.read()
        st = str(r.status)
    except Exception as e:
        st = "error:" + type(e).__name__
    with lock:
        statuses[st] += 1
threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
for t in threads: t.start()
for t in threads: t.join()
print("answers:", dict(sorted(statuses.items())), "body bytes:", len(body_tpl % 0))
bad = {k: v for k, v in statuses.items() if k not in ("200", "202", "503")}
sys.exit(1 if bad else 0)
PY
rc=$?
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$fn_pid/status")
echo "inflight: $COUNT concurrent 1 MB callbacks, peak RSS $((hwm / 1024)) MiB (target < 256 MiB)"
echo "inflight-rss $hwm"
exit $rc
