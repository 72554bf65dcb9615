#!/usr/bin/env bash
# profile.sh: instructions per request of clay-function's signed-callback hot
# path under callgrind, and the functions that dominate it.
#
#   bench/profile.sh [--requests N] [--dup] [--static] [--log-level L] [--build DIR] [--out DIR]
#
# Starts clay-function (WORKERS=1, file store on tmpfs, no sinks) under
# valgrind --tool=callgrind, warms it with 400 callbacks, zeroes the counters,
# sends N (default 2000) unique signed callbacks (or one body N times with
# --dup) with bench/openloop, dumps, and prints Ir per request plus the top
# functions by self and inclusive cost. Output files stay in --out (default a
# temp folder) for callgrind_annotate / kcachegrind.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$here/build-bench}
REQUESTS=2000
DUP=0
MODE=hmac
LOG_LEVEL=warning
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
    --requests) REQUESTS=$2; shift 2 ;;
    --dup) DUP=1; shift ;;
    --static) MODE=static; shift ;;
    --log-level) LOG_LEVEL=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--requests N] [--dup] [--static] [--log-level L] [--build DIR] [--out DIR]" >&2; exit 2 ;;
    esac
done
command -v valgrind >/dev/null || { echo "profile: valgrind is not installed" >&2; exit 1; }
TOOLS=$here/.tools/bench
"$here/bench/run.sh" --build-only >/dev/null
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/clay-profile.XXXXXX)
mkdir -p "$OUT"
STORE=$(mktemp -d /dev/shm/clay-profile.XXXXXX)
SECRET=bench-secret
PORT=$((10000 + RANDOM % 20000)) # below the ephemeral range
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$STORE"
}
trap cleanup EXIT

node "$here/bench/signed_bodies.js" "$SECRET" 400 "$OUT/warm.txt" 900000000
if [ "$DUP" = 1 ]; then
    node "$here/bench/signed_bodies.js" "$SECRET" 1 "$OUT/bodies.txt" 0
else
    node "$here/bench/signed_bodies.js" "$SECRET" "$REQUESTS" "$OUT/bodies.txt" 0
fi
PORT=$PORT BIND_ADDRESS=127.0.0.1 WORKERS=1 STORE_URL=file:$STORE CLAY_WEBHOOK_SECRET=$SECRET AUTH_SCHEMES=$MODE \
    LOG_LEVEL=$LOG_LEVEL valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$OUT/callgrind.out" "$BUILD/clay-function" >"$OUT/function.log" 2>&1 &
pid=$!
for _ in $(seq 200); do
    curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
"$TOOLS/openloop" --port "$PORT" --rate 200 --duration 2 --warmup 0 --conns 8 --file "$OUT/warm.txt" \
    --mode "$MODE" --secret "$SECRET" >/dev/null
callgrind_control -z "$pid" >/dev/null
"$TOOLS/openloop" --port "$PORT" --rate 400 --duration "$(awk -v n="$REQUESTS" 'BEGIN{print n/400}')" --warmup 0 \
    --conns 8 --file "$OUT/bodies.txt" --mode "$MODE" --secret "$SECRET" >"$OUT/load.json"
callgrind_control -d "$pid" >/dev/null
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=""
raw=$(find "$OUT" -name 'callgrind.out.*' -printf '%T@ %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
# Calls begun before the counters were zeroed are dumped as "calls=0", which
# callgrind_annotate 3.19 books as self cost of the caller (clone 100%): count them once.
dump=$OUT/callgrind.hot
sed 's/^calls=0 /calls=1 /' "$raw" >"$dump"
total=$(sed -n 's/^summary: //p' "$dump")
echo "load: $(cat "$OUT/load.json")"
echo "instructions: $total for $REQUESTS requests = $((total / REQUESTS)) Ir/request (mode $MODE, dup $DUP, LOG_LEVEL $LOG_LEVEL)"
echo
echo "== self cost =="
callgrind_annotate --auto=no --inclusive=no --threshold=90 "$dump" | sed -n '/file:function/,$p' | sed -n '3,40p'
echo
echo "== inclusive cost =="
callgrind_annotate --auto=no --inclusive=yes --threshold=99 "$dump" | sed -n '/file:function/,$p' | sed -n '3,60p'
echo
echo "files in $OUT"
