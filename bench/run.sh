#!/usr/bin/env bash
# run.sh: clay-function against the h2o ceiling and SEED.md's Express handler,
# in one invocation, and the results table (markdown) on stdout and in
# bench/README.md (and in any file given with --readme that holds the markers
# <!-- bench:begin --> / <!-- bench:end -->).
#
#   bench/run.sh              full: 3 rounds, 6 s runs (~7 min), writes bench/README.md
#   bench/run.sh --quick      smoke: 1 round, 2 s runs (< 2 min), writes nothing
#   options: --rounds N  --duration S  --no-write  --readme FILE  --build-only  --keep
#
# Servers (each alone on CPU 0 with taskset; wrk, openloop and the GCS
# emulator on CPU 1), restarted for every round, run alternately:
#   h2o      bench/h2o_bare.c: bare libh2o, a fixed JSON for every request (the ceiling)
#   express  bench/express/server.js: SEED.md's handler on express from npm (node, NODE_ENV=production)
#   function clay-function serve: WORKERS=1, file store on a fresh tmpfs folder, no sinks,
#            AUTH_SCHEMES=hmac, LOG_LEVEL=warning (variants: static scheme, LOG_LEVEL=info, GCS emulator)
# Every request is signed: bodies and their HMAC come from signed_bodies.js
# (X-Clay-Signature, bare hex: what SEED.md checks and clay-function's hmac
# scheme accepts), distinct per request on the unique path, one body on the
# duplicate path. Medians over the rounds; ratios are medians of the
# per-round ratios (each pair measured minutes apart at most).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$here/bench
TOOLS=$here/.tools/bench
EXPRESS_DIR=$here/.tools/bench-express
BUILD=${BUILD_DIR:-$here/build-bench}
DEPS=${CW_DEPS_DIR:-$here/.deps}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
SECRET=bench-secret-0123456789
RATE=2000

ROUNDS=3
DUR=6
QUICK=0
WRITE=1
BUILD_ONLY=0
KEEP=0
READMES=("$BENCH/README.md")
CMDLINE=$(echo "bench/run.sh $*" | sed "s/ *$//")
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1; ROUNDS=1; DUR=2; WRITE=0; shift ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DUR=$2; shift 2 ;;
    --no-write) WRITE=0; shift ;;
    --readme) READMES+=("$2"); shift 2 ;;
    --build-only) BUILD_ONLY=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "usage: bench/run.sh [--quick] [--rounds N] [--duration S] [--no-write] [--readme FILE] [--build-only] [--keep]" >&2; exit 2 ;;
    esac
done
WARM=1
LAT_DUR=$((DUR + 2))
COLD_RUNS=5
NUM_UNIQUE=300000
if [ "$QUICK" = 1 ]; then
    WARM=1
    LAT_DUR=2
    COLD_RUNS=2
    NUM_UNIQUE=60000
fi

log() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

# ---- build ----
for tool in wrk node npm taskset curl gcc; do
    command -v "$tool" >/dev/null || die "$tool is not installed (scripts/deps.sh installs wrk; node/npm for Express)"
done
[ "$(nproc)" -ge 2 ] || log "fewer than 2 CPUs: server and load generator share one"

if [ ! -x "$BUILD/clay-function" ] || [ ! -x "$BUILD/clay-harness" ] || [ "$BUILD_ONLY" = 1 ] || [ "$QUICK" = 0 ]; then
    log "building clay-function into $BUILD"
    BUILD_DIR=$BUILD "$here/scripts/build.sh" >&2
fi
mkdir -p "$TOOLS"
CFLAGS=(-O2 -g -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wmissing-prototypes -Wno-unused-parameter
    -D_GNU_SOURCE -DH2O_USE_LIBUV=0)
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
SSL_LIB=/usr/lib/$MULTIARCH/android
build_tool() { # name, extra args...
    local name=$1
    shift
    if [ ! -x "$TOOLS/$name" ] || [ "$BENCH/$name.c" -nt "$TOOLS/$name" ] || [ "$DEPS/lib/libh2o-evloop.a" -nt "$TOOLS/$name" ]; then
        gcc "${CFLAGS[@]}" "$BENCH/$name.c" -o "$TOOLS/$name" "$@"
    fi
}
build_tool h2o_bare -isystem "$DEPS/include" -isystem /usr/include/android "$DEPS/lib/libh2o-evloop.a" \
    -L"$SSL_LIB" -Wl,-rpath,"$SSL_LIB" -lssl -lcrypto -lyaml -lz -lpthread -lm
build_tool openloop
build_tool coldstart
if ! cmp -s "$BENCH/express/package-lock.json" "$EXPRESS_DIR/package-lock.json" || [ ! -d "$EXPRESS_DIR/node_modules/express" ]; then
    log "installing express into $EXPRESS_DIR"
    mkdir -p "$EXPRESS_DIR"
    cp "$BENCH/express/package.json" "$BENCH/express/package-lock.json" "$EXPRESS_DIR/"
    (cd "$EXPRESS_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
[ "$BUILD_ONLY" = 1 ] && exit 0

# ---- scratch space, processes, cleanup ----
WORK=$(mktemp -d /tmp/clay-bench.XXXXXX)
SHM=$(mktemp -d /dev/shm/clay-bench.XXXXXX)
SRV_PID=""
MOCK_PID=""
SAMPLER_PID=""
cleanup() {
    # Only what this script started and has not reaped yet (never a reused pid).
    for p in $SAMPLER_PID $SRV_PID $MOCK_PID; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$SHM"
    if [ "$KEEP" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Ports below the ephemeral range, so no client socket of wrk, curl or openloop holds one.
EPHEMERAL_LOW=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
    local p
    for _ in $(seq 100); do
        p=$((10000 + RANDOM % (EPHEMERAL_LOW - 10000)))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    die "no free port"
}

wait_healthy() { # port pid
    for _ in $(seq 300); do
        curl -fs -o /dev/null "http://127.0.0.1:$1/healthz" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

SRV_PORT=""
# start_server KIND LABEL: starts a server on CPU $SERVER_CPU; sets SRV_PID, SRV_PORT.
start_server() {
    local kind=$1 label=$2
    SRV_PORT=$(free_port)
    local logf=$WORK/$label.log
    case "$kind" in
    h2o)
        taskset -c "$SERVER_CPU" "$TOOLS/h2o_bare" "$SRV_PORT" >"$logf" 2>&1 &
        ;;
    express)
        env PORT="$SRV_PORT" CLAY_WEBHOOK_SECRET="$SECRET" NODE_ENV=production NODE_PATH="$EXPRESS_DIR/node_modules" \
            taskset -c "$SERVER_CPU" node "$BENCH/express/server.js" >/dev/null 2>"$logf" &
        ;;
    function | function-static | function-info | function-gcs)
        local store schemes=hmac level=warning extra=()
        store=file:$(mktemp -d "$SHM/store.XXXXXX")
        [ "$kind" != function-static ] || schemes=static
        [ "$kind" != function-info ] || level=info
        if [ "$kind" = function-gcs ]; then
            local mport
            mport=$(free_port)
            taskset -c "$LOAD_CPU" "$BUILD/clay-harness" mock --listen "127.0.0.1:$mport" >"$WORK/$label.mock.log" 2>&1 &
            MOCK_PID=$!
            for _ in $(seq 100); do
                grep -q "listening on" "$WORK/$label.mock.log" && break
                sleep 0.05
            done
            store=gs://bench-bucket/p
            extra=(STORAGE_EMULATOR_HOST="http://127.0.0.1:$mport")
        fi
        # The INFO run logs one line per callback: to tmpfs, as a log agent would read it.
        env PORT="$SRV_PORT" BIND_ADDRESS=127.0.0.1 WORKERS=1 STORE_URL="$store" CLAY_WEBHOOK_SECRET="$SECRET" \
            AUTH_SCHEMES="$schemes" LOG_LEVEL="$level" "${extra[@]}" \
            taskset -c "$SERVER_CPU" "$BUILD/clay-function" >"$SHM/$label.log" 2>&1 &
        ;;
    esac
    SRV_PID=$!
    wait_healthy "$SRV_PORT" "$SRV_PID" || die "$label did not come up (see $WORK/$label.log, $SHM/$label.log)"
}

stop_server() {
    kill "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
    SRV_PID=""
    if [ -n "$MOCK_PID" ]; then
        kill "$MOCK_PID" 2>/dev/null || true
        wait "$MOCK_PID" 2>/dev/null || true
        MOCK_PID=""
    fi
    rm -rf "$SHM"/store.* "$SHM"/*.log
}

rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null || echo 0; }

# cpu_ticks PID: user+system CPU time of the process (all threads), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

# wrk_run FILE MODE CONNS SECONDS: sets WRK_RPS (req/s), WRK_CPU_US (server CPU µs per request),
# WRK_UTIL (server CPU used / wall time), WRK_NON2XX, WRK_WRAPPED (times the body file ran out).
WRK_RPS=""
WRK_CPU_US=""
WRK_UTIL=""
WRK_NON2XX=0
WRK_WRAPPED=0
wrk_run() {
    local out c0 c1 n
    c0=$(cpu_ticks "$SRV_PID")
    out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$3" -d"$4"s --timeout 10s -s "$BENCH/callback.lua" \
        "http://127.0.0.1:$SRV_PORT/" -- "$1" "$2" "$SECRET" 2>&1) || die "wrk failed: $out"
    WRK_NON2XX=$(echo "$out" | sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p')
    WRK_NON2XX=${WRK_NON2XX:-0}
    WRK_WRAPPED=$(echo "$out" | sed -n 's/^wrapped \([0-9]*\)/\1/p')
    echo "$out" >>"$WORK/wrk.log"
    c1=$(cpu_ticks "$SRV_PID")
    WRK_RPS=$(echo "$out" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
    n=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
    if [ -z "$WRK_RPS" ] || [ -z "$n" ]; then die "no result from wrk: $out"; fi
    WRK_CPU_US=$(awk -v t=$((c1 - c0)) -v hz="$TICK" -v n="$n" 'BEGIN {if (n > 0) printf "%.2f", t * 1e6 / hz / n}')
    WRK_UTIL=$(awk -v t=$((c1 - c0)) -v hz="$TICK" -v d="$4" 'BEGIN {printf "%.2f", t / hz / d}')
}

# ---- results: R[key]="v1 v2 ..." one value per round ----
declare -A R
add() { R[$1]="${R[$1]:-}${R[$1]:+ }$2"; }
median() { # values... -> median (empty -> "")
    [ $# -eq 0 ] && return 0
    printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}
med() { # key -> median of its rounds
    local v
    read -ra v <<<"${R[$1]:-}"
    median "${v[@]}"
}
NOTES=()
note() { NOTES+=("$*"); log "note: $*"; }

# ---- request bodies ----
log "writing signed bodies"
node "$BENCH/signed_bodies.js" "$SECRET" "$NUM_UNIQUE" "$WORK/unique.txt" 0
node "$BENCH/signed_bodies.js" "$SECRET" $((NUM_UNIQUE / 2)) "$WORK/conns256.txt" 100000000
node "$BENCH/signed_bodies.js" "$SECRET" 40000 "$WORK/warm.txt" 200000000
node "$BENCH/signed_bodies.js" "$SECRET" $((RATE * (LAT_DUR + 1) + 100)) "$WORK/latency.txt" 300000000
node "$BENCH/signed_bodies.js" "$SECRET" 1 "$WORK/dup.txt" 400000000

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)

# throughput_block KIND LABEL WITH_DUP WITH_256: one server instance through its runs.
throughput_block() {
    local kind=$1 label=$2 with_dup=$3 with_256=$4
    start_server "$kind" "$label"
    if [ "$with_256" = 1 ]; then
        add "rss_idle:$label" "$(rss_kib "$SRV_PID")"
    fi
    wrk_run "$WORK/warm.txt" hmac 64 "$WARM"
    local mode=hmac
    [ "$kind" != function-static ] || mode=static
    wrk_run "$WORK/unique.txt" "$mode" 64 "$DUR"
    add "unique:$label" "$WRK_RPS"
    add "cpu_unique:$label" "$WRK_CPU_US"
    add "util_unique:$label" "$WRK_UTIL"
    [ "$WRK_NON2XX" = 0 ] || note "$label unique: $WRK_NON2XX non-2xx responses"
    if [ "$WRK_WRAPPED" != 0 ] && [ "${kind#function}" != "$kind" ]; then
        note "$label unique: the body file ran out, bodies repeated (raise NUM_UNIQUE)"
    fi
    if [ "$with_dup" = 1 ]; then
        wrk_run "$WORK/dup.txt" hmac 64 "$DUR"
        add "dup:$label" "$WRK_RPS"
        add "cpu_dup:$label" "$WRK_CPU_US"
        [ "$WRK_NON2XX" = 0 ] || note "$label duplicate: $WRK_NON2XX non-2xx responses"
    fi
    if [ "$with_256" = 1 ]; then
        local peak_file=$WORK/peak.$label
        echo 0 >"$peak_file"
        (
            peak=0
            while kill -0 "$SRV_PID" 2>/dev/null; do
                r=$(rss_kib "$SRV_PID")
                [ "${r:-0}" -gt "$peak" ] && peak=$r && echo "$peak" >"$peak_file"
                sleep 0.1
            done
        ) &
        SAMPLER_PID=$!
        wrk_run "$WORK/conns256.txt" hmac 256 "$DUR"
        add "c256:$label" "$WRK_RPS"
        [ "$WRK_NON2XX" = 0 ] || note "$label 256 connections: $WRK_NON2XX non-2xx responses"
        kill "$SAMPLER_PID" 2>/dev/null || true
        wait "$SAMPLER_PID" 2>/dev/null || true
        SAMPLER_PID=""
        add "rss256:$label" "$(cat "$peak_file")"
    fi
    stop_server
}

latency_block() {
    local kind=$1 label=$2 out
    start_server "$kind" "$label"
    wrk_run "$WORK/warm.txt" hmac 16 "$WARM"
    out=$(taskset -c "$LOAD_CPU" "$TOOLS/openloop" --port "$SRV_PORT" --rate "$RATE" --duration "$LAT_DUR" --warmup 1 \
        --conns 64 --file "$WORK/latency.txt" --secret "$SECRET") || true
    echo "$label $out" >>"$WORK/openloop.log"
    local p50 p99 lost rate
    p50=$(echo "$out" | sed -n 's/.*"p50_ms":\([0-9.]*\).*/\1/p')
    p99=$(echo "$out" | sed -n 's/.*"p99_ms":\([0-9.]*\).*/\1/p')
    lost=$(echo "$out" | sed -n 's/.*"lost":\([0-9]*\).*/\1/p')
    rate=$(echo "$out" | sed -n 's/.*"achieved_rate":\([0-9.]*\).*/\1/p')
    [ -n "$p99" ] || die "openloop gave no result for $label: $out"
    add "p50:$label" "$p50"
    add "p99:$label" "$p99"
    add "lost:$label" "${lost:-0}"
    add "lat_rate:$label" "$rate"
    stop_server
}

SERVERS=(h2o express function)
for round in $(seq "$ROUNDS"); do
    log "round $round/$ROUNDS: throughput"
    # Rotate the order so no server always runs first (or right after another).
    for i in 0 1 2; do
        s=${SERVERS[$(((i + round - 1) % 3))]}
        throughput_block "$s" "$s" 1 1
    done
    throughput_block function-static function-static 0 0
    throughput_block function-info function-info 0 0
    throughput_block function-gcs function-gcs 0 0
    log "round $round/$ROUNDS: latency at $RATE req/s"
    for i in 0 1 2; do
        s=${SERVERS[$(((i + round - 1) % 3))]}
        latency_block "$s" "$s"
    done
done

add_ms() { # key value: only a number (a failed start is noted, not averaged)
    if [[ "$2" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then add "$1" "$2"; else note "$1: a cold start failed"; fi
}
log "cold start"
for _ in $(seq "$COLD_RUNS"); do
    p=$(free_port)
    add_ms cold:h2o "$("$TOOLS/coldstart" --cpu "$SERVER_CPU" "$p" "$TOOLS/h2o_bare" "$p" 2>/dev/null)"
    p=$(free_port)
    d=$(mktemp -d "$SHM/store.XXXXXX")
    add_ms cold:function "$(env PORT="$p" BIND_ADDRESS=127.0.0.1 WORKERS=1 STORE_URL="file:$d" CLAY_WEBHOOK_SECRET="$SECRET" \
        LOG_LEVEL=warning "$TOOLS/coldstart" --cpu "$SERVER_CPU" "$p" "$BUILD/clay-function" 2>/dev/null)"
    rm -rf "$d"
    p=$(free_port)
    add_ms cold:express "$(env PORT="$p" CLAY_WEBHOOK_SECRET="$SECRET" NODE_ENV=production NODE_PATH="$EXPRESS_DIR/node_modules" \
        "$TOOLS/coldstart" --cpu "$SERVER_CPU" "$p" node "$BENCH/express/server.js" 2>/dev/null)"
done

log "rootfs"
ROOTFS_FN=""
if [ -x "$here/scripts/rootfs.sh" ]; then
    "$here/scripts/rootfs.sh" "$BUILD" "$WORK/rootfs" >/dev/null 2>&1 && ROOTFS_FN=$(du -sb "$WORK/rootfs" | cut -f1)
fi
# Express's nearest equivalent: the node binary, the shared libraries it loads, node_modules (no OS, no npm).
node_bin=$(readlink -f "$(command -v node)")
ROOTFS_EX=$(
    {
        echo "$node_bin"
        ldd "$node_bin" | awk '/=>/ {print $3} /^\t\// {print $1}' | xargs -r readlink -f
    } | sort -u | xargs du -cb | tail -1 | cut -f1
)
ROOTFS_EX=$((ROOTFS_EX + $(du -sb "$EXPRESS_DIR/node_modules" | cut -f1)))
T_END=$(date +%s)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the table ----
fmt() { # number decimals -> formatted or "n/a"
    [ -n "$1" ] && awk -v v="$1" -v d="$2" 'BEGIN {printf "%.*f", d, v}' || printf 'n/a'
}
ratio_vs() { # key-num label-num key-den label-den -> median of the per-round ratios
    local a b rs=() i
    read -ra a <<<"${R[$1:$2]:-}"
    read -ra b <<<"${R[$3:$4]:-}"
    for i in "${!a[@]}"; do
        if [ -n "${b[$i]:-}" ]; then
            rs+=("$(awk -v x="${a[$i]}" -v y="${b[$i]}" 'BEGIN {if (y > 0) printf "%.4f", x / y}')")
        fi
    done
    median "${rs[@]}"
}
ratio_med() { ratio_vs "$1" "$2" "$1" "$3"; } # key numerator-label denominator-label
mib() { [ -n "$1" ] && awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}' || printf 'n/a'; }
verdict() { # value op limit
    [ -n "$1" ] || { printf 'n/a'; return; }
    awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {ok = (op == ">=") ? v >= l : v < l; printf ok ? "met" : "missed"}'
}
lat_cell() {
    local p50 p99 lost rate
    p50=$(med "p50:$1")
    p99=$(med "p99:$1")
    lost=$(med "lost:$1")
    printf '%s / %s' "$(fmt "$p50" 2)" "$(fmt "$p99" 2)"
    rate=$(med "lat_rate:$1")
    if awk -v l="${lost:-0}" -v a="${rate:-0}" -v t="$RATE" 'BEGIN {exit !(l > 0 || a < 0.97 * t)}'; then
        printf ' (overloaded: %s req/s achieved)' "$(fmt "$(med "lat_rate:$1")" 0)"
    fi
}

cap() { [ -n "$1" ] && awk -v c="$1" 'BEGIN {if (c > 0) printf "%.0f", 1e6 / c}'; } # µs CPU per request -> req/s per core
cap_cell() { # key label -> "capacity (µs)"
    local c
    c=$(med "$1:$2")
    [ -n "$c" ] || { printf 'n/a'; return; }
    printf '%s (%s µs)' "$(cap "$c")" "$(fmt "$c" 1)"
}
row() { # title key [target-text]: throughput row of the three servers with both ratios
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(fmt "$(med "$2:h2o")" 0)" "$(fmt "$(med "$2:express")" 0)" \
        "$(fmt "$(med "$2:function")" 0)" "$(fmt "$(ratio_med "$2" function h2o)" 2)" "$(fmt "$(ratio_med "$2" function express)" 1)" "${3:-}"
}
variant_row() { # title label: a function variant against the h2o and Express unique runs of its round
    printf '| %s | | | %s | %s | %s | |\n' "$1" "$(fmt "$(med "unique:$2")" 0)" "$(fmt "$(ratio_vs unique "$2" unique h2o)" 2)" \
        "$(fmt "$(ratio_vs unique "$2" unique express)" 1)"
}

u_ratio=$(ratio_med unique function h2o)
cap_ratio=$(ratio_vs cpu_unique h2o cpu_unique function)
h2o_util=$(med util_unique:h2o)
if [ -n "$h2o_util" ] && awk -v u="$h2o_util" 'BEGIN {exit !(u < 0.9)}'; then
    note "the h2o ceiling used $(awk -v u="$h2o_util" 'BEGIN {printf "%.0f", u * 100}')% of its CPU during the unique runs: the load generator (wrk on one shared CPU), not h2o, set its req/s, so the req/s ratios flatter clay-function; the capacity rows (1 / server CPU time per request) compare what each server costs"
fi
table() {
    local machine fp99 r256 cold
    machine="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, $(uname -sr)"
    echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) on ${machine:-unknown}; load average $LOAD_START at the start,"
    echo "$LOAD_END at the end; $ROUNDS round(s) of ${DUR} s runs, $(((T_END - T_START) / 60)) min $(((T_END - T_START) % 60)) s."
    echo "Command: \`$CMDLINE\`. Servers on CPU $SERVER_CPU, wrk/openloop/emulator on CPU $LOAD_CPU; medians over rounds;"
    echo "ratios are medians of per-round ratios. Every request signed (X-Clay-Signature, HMAC-SHA256)."
    echo
    echo "| measure | h2o ceiling | Express (SEED.md) | clay-function | function / h2o | function / Express | target |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
    row "unique bodies, req/s (file store on tmpfs, 64 conns)" unique "≥ 0.6 × h2o: $(verdict "$u_ratio" ">=" 0.6)"
    printf '| unique bodies, capacity: req/s per CPU from server CPU time (µs per request) | %s | %s | %s | %s | %s | ≥ 0.6 × h2o: %s |\n' \
        "$(cap_cell cpu_unique h2o)" "$(cap_cell cpu_unique express)" "$(cap_cell cpu_unique function)" "$(fmt "$cap_ratio" 2)" \
        "$(fmt "$(ratio_vs cpu_unique express cpu_unique function)" 1)" "$(verdict "$cap_ratio" ">=" 0.6)"
    row "duplicate body, req/s" dup
    printf '| duplicate body, capacity (µs per request) | %s | %s | %s | %s | %s | |\n' "$(cap_cell cpu_dup h2o)" \
        "$(cap_cell cpu_dup express)" "$(cap_cell cpu_dup function)" "$(fmt "$(ratio_vs cpu_dup h2o cpu_dup function)" 2)" \
        "$(fmt "$(ratio_vs cpu_dup express cpu_dup function)" 1)"
    variant_row "unique, GCS emulator as the store, req/s" function-gcs
    variant_row "unique, \`static\` scheme (X-Clay-Secret), req/s" function-static
    variant_row "unique, default LOG_LEVEL=info, req/s" function-info
    row "unique, 256 conns, req/s" c256
    fp99=$(med p99:function)
    echo "| latency p50 / p99 ms at $RATE req/s (open loop) | $(lat_cell h2o) | $(lat_cell express) | $(lat_cell function) | | | p99 < 2 ms: $(verdict "$fp99" "<" 2) |"
    r256=$(med rss256:function)
    echo "| RSS idle, MiB | $(mib "$(med rss_idle:h2o)") | $(mib "$(med rss_idle:express)") | $(mib "$(med rss_idle:function)") | | | |"
    echo "| RSS peak under 256 conns, MiB | $(mib "$(med rss256:h2o)") | $(mib "$(med rss256:express)") | $(mib "$r256") | | | < 16 MiB: $(verdict "$(awk -v k="${r256:-}" 'BEGIN {if (k != "") print k / 1024}')" "<" 16) |"
    cold=$(med cold:function)
    echo "| cold start, exec to first 200, ms | $(fmt "$(med cold:h2o)" 1) | $(fmt "$(med cold:express)" 0) | $(fmt "$cold" 1) | | | < 50 ms: $(verdict "$cold" "<" 50) |"
    echo "| container rootfs, MiB | | $(mib "$((ROOTFS_EX / 1024))") (node + libs + node_modules) | $(mib "$([ -n "$ROOTFS_FN" ] && echo $((ROOTFS_FN / 1024)))") (scripts/rootfs.sh) | | | |"
    echo
    echo "Per round: $(for k in unique:h2o unique:express unique:function cpu_unique:h2o cpu_unique:function util_unique:h2o dup:function unique:function-gcs p99:function rss256:function cold:function; do printf '%s [%s]; ' "$k" "${R[$k]:-}"; done)"
    if [ ${#NOTES[@]} -gt 0 ]; then
        echo
        for n in "${NOTES[@]}"; do echo "- note: $n"; done
    fi
}
# Issue 16: peak RSS under the floods of tests/e2e/refuse_flood.sh (one run; its checks go to the log).
# BENCH_FLOOD=0 skips it.
FLOOD_RSS=()
if [ "${BENCH_FLOOD:-1}" = 1 ]; then
    log "floods (tests/e2e/refuse_flood.sh)"
    flood_out=$(CLAY_FUNCTION="$BUILD/clay-function" CLAY_HARNESS="$BUILD/clay-harness" CW_SOURCE_DIR="$here" \
        bash "$here/tests/e2e/refuse_flood.sh" 2>&1) || log "refuse_flood.sh reported failures"
    printf '%s\n' "$flood_out" >&2
    while read -r _ name kib; do FLOOD_RSS+=("$name:$kib"); done < <(grep '^flood-rss ' <<<"$flood_out")
fi
flood_rows() {
    local e name kib what
    for e in "${FLOOD_RSS[@]:-}"; do
        [ -n "$e" ] || continue
        name=${e%%:*} kib=${e#*:}
        case $name in
        h1-unauthenticated) what="400 HTTP/1.1 conns × 512 KiB of 1 MiB, no credentials (401 from the headers)" ;;
        h1-signature) what="400 HTTP/1.1 conns × 512 KiB of 1 MiB, X-Clay-Signature (MAX_RECEIVING_BYTES pauses)" ;;
        h2c-signature) what="h2c, 8 conns × 100 streams × 512 KiB, X-Clay-Signature" ;;
        *) what=$name ;;
        esac
        echo "| RSS peak under flood: $what, MiB | | | $(mib "$kib") | | | < 128 MiB: $(verdict "$(awk -v k="$kib" 'BEGIN {print k / 1024}')" "<" 128) |"
    done
}
TABLE=$(table)
FLOOD_TABLE=$(flood_rows)
if [ -n "$FLOOD_TABLE" ]; then
    # The flood rows go right after the normal-load RSS rows.
    TABLE=$(FLOOD_TABLE="$FLOOD_TABLE" awk '{print} /^\| RSS peak under 256 conns/ {print ENVIRON["FLOOD_TABLE"]}' <<<"$TABLE")
fi
# Issue 13: a callback on a remote store (the production path) is its store round trips: latency with a
# 20 ms store (the GCS emulator), writes per event and their class-A cost (bench/roundtrips.sh).
# BENCH_ROUNDTRIPS=0 skips it.
if [ "${BENCH_ROUNDTRIPS:-1}" = 1 ]; then
    log "store round trips (bench/roundtrips.sh, GCS emulator answering after 20 ms)"
    RT_TABLE=$(CLAY_HARNESS="$BUILD/clay-harness" bash "$BENCH/roundtrips.sh" --store-ms 20 --count 40 \
        --function "$BUILD/clay-function" 2>/dev/null) || log "roundtrips.sh failed"
    [ -n "${RT_TABLE:-}" ] && TABLE=$(printf '%s\n\n%s' "$TABLE" "$RT_TABLE")
fi
# Issue 12 point 3: 200 concurrent authenticated ~1 MB callbacks against a slow sink (bench/inflight.sh).
# BENCH_INFLIGHT=0 skips it.
if [ "${BENCH_INFLIGHT:-1}" = 1 ]; then
    log "200 concurrent 1 MB callbacks (bench/inflight.sh)"
    inflight_out=$(CLAY_HARNESS="$BUILD/clay-harness" bash "$BENCH/inflight.sh" --function "$BUILD/clay-function" 2>&1) ||
        log "inflight.sh: an answer other than 2xx/503"
    printf '%s\n' "$inflight_out" >&2
    kib=$(awk '/^inflight-rss / {print $2}' <<<"$inflight_out")
    answers=$(grep -m1 '^answers:' <<<"$inflight_out" | sed 's/ body bytes.*//; s/^answers: //')
    [ -n "$kib" ] && TABLE=$(printf '%s\n\n| 200 concurrent ~1 MB callbacks, slow sink | peak RSS, MiB | answers |\n| --- | ---: | --- |\n| clay-function (target < 256 MiB, only 2xx and 503) | %s | %s |' \
        "$TABLE" "$((kib / 1024))" "$answers")
fi
echo "$TABLE"

if [ "$WRITE" = 1 ]; then
    for f in "${READMES[@]}"; do
        if [ -f "$f" ] && grep -q '<!-- bench:begin -->' "$f" && grep -q '<!-- bench:end -->' "$f"; then
            TABLE="$TABLE" awk '
                /<!-- bench:begin -->/ {print; print ENVIRON["TABLE"]; skip = 1; next}
                /<!-- bench:end -->/ {skip = 0}
                !skip {print}' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
            log "table written into $f"
        else
            log "$f has no <!-- bench:begin --> / <!-- bench:end --> markers: not written"
        fi
    done
fi
