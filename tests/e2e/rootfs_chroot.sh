#!/usr/bin/env bash
# rootfs_chroot.sh: the scratch image's root filesystem, tested without a
# container engine. scripts/rootfs.sh assembles it from the current build, then
# clay-function runs inside `chroot` (as uid 65532, with an empty environment
# but for its configuration) on a loopback port: /healthz and one
# authenticated callback must succeed, proving nothing outside the rootfs is
# needed. Also checks the harness stage (--with-harness) starts, and reports
# the production rootfs size (target under 15 MiB: a warning above, not a failure).
#
# Env (set by ctest): CW_BUILD_DIR, CW_SOURCE_DIR, CLAY_FUNCTION, CLAY_HARNESS.
# Needs root (chroot). Uses 127.0.0.1 only.
set -uo pipefail

src=${CW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${CW_BUILD_DIR:?CW_BUILD_DIR must point at the build folder}
export CLAY_FUNCTION=${CLAY_FUNCTION:-$build/clay-function}
export CLAY_HARNESS=${CLAY_HARNESS:-$build/clay-harness}
TARGET_BYTES=$((15 * 1048576))
RUN_USER=65532:65532

passed=0
failed=0
ok() {
    echo "ok - $*"
    passed=$((passed + 1))
}
not_ok() {
    echo "not ok - $*"
    failed=$((failed + 1))
}
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

if [ "$(id -u)" -ne 0 ]; then
    not_ok "chroot needs root (run as root, as CI does)"
    finish
fi
for tool in chroot curl readelf stat; do
    command -v "$tool" >/dev/null || {
        not_ok "$tool not found"
        finish
    }
done
CHROOT=$(command -v chroot)

work=$(mktemp -d "${TMPDIR:-/tmp}/cw-rootfs.XXXXXX")
root=$work/rootfs
fn_pid=""

# stop_function sends SIGTERM and waits up to 10 s (Cloud Run's grace period),
# then SIGKILL. Prints the exit status; returns 1 if SIGKILL was needed.
stop_function() {
    local i rc
    [ -n "$fn_pid" ] || return 0
    kill -TERM "$fn_pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$fn_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$fn_pid" 2>/dev/null; then
        kill -KILL "$fn_pid" 2>/dev/null || true
        wait "$fn_pid" 2>/dev/null
        fn_pid=""
        return 1
    fi
    wait "$fn_pid" 2>/dev/null
    rc=$?
    fn_pid=""
    echo "# clay-function exited with status $rc after SIGTERM"
    return 0
}
cleanup() {
    stop_function >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# --- assembly ----------------------------------------------------------------
if bash "$src/scripts/rootfs.sh" "$build" "$root" >"$work/rootfs.log" 2>&1; then
    ok "rootfs.sh assembled $(tail -n 1 "$work/rootfs.log")"
else
    not_ok "rootfs.sh failed: $(tail -n 5 "$work/rootfs.log" | tr '\n' ' ')"
    finish
fi

if [ -x "$root/clay-function" ] && [ -f "$root/etc/ssl/certs/ca-certificates.crt" ] &&
    [ "$(stat -c %a "$root/tmp")" = 1777 ] && grep -q ':65532:65532:' "$root/etc/passwd" &&
    grep -q ':65532:' "$root/etc/group"; then
    ok "rootfs has the binary, the CA bundle, /tmp 1777 and uid/gid 65532"
else
    not_ok "rootfs layout incomplete: $(ls -la "$root" | tr '\n' ' ')"
fi
if readelf -S "$root/clay-function" | grep -q '\.symtab'; then
    not_ok "clay-function in the rootfs is not stripped"
else
    ok "clay-function is stripped"
fi
if find "$root" \( -name 'libssl.so.3*' -o -name 'libcrypto.so.3*' \) | grep -q .; then
    not_ok "OpenSSL libraries in the rootfs"
else
    ok "no OpenSSL in the rootfs"
fi
if readelf -d "$CLAY_FUNCTION" | grep -q 'android'; then
    if [ -f "$root/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)/android/libcrypto.so.0" ]; then
        ok "BoringSSL kept where the binary's RUNPATH looks"
    else
        not_ok "the binary's RUNPATH names the android folder but BoringSSL is not there in the rootfs"
    fi
fi

bytes=$(du -sb "$root" | cut -f1)
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "# rootfs size: $bytes bytes ($mib MiB; target under 15 MiB)"
if [ "$bytes" -gt "$TARGET_BYTES" ]; then
    echo "# WARNING: rootfs is $mib MiB, over the 15 MiB target"
fi

# --- the function inside the chroot --------------------------------------------
secret=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')

# A port nobody answers on; bind failures are retried with another one.
pick_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

start_function() {
    local i
    for _ in 1 2 3; do
        port=$(pick_port) || return 1
        # env -i: nothing from this machine's environment leaks into the chroot.
        env -i PORT="$port" BIND_ADDRESS=127.0.0.1 STORE_URL=file:/tmp/store \
            CLAY_WEBHOOK_SECRET="$secret" WORKERS=2 \
            "$CHROOT" --userspec="$RUN_USER" "$root" /clay-function serve >"$work/fn.log" 2>&1 &
        fn_pid=$!
        for ((i = 0; i < 100; i++)); do
            if ! kill -0 "$fn_pid" 2>/dev/null; then
                wait "$fn_pid" 2>/dev/null
                fn_pid=""
                break
            fi
            if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/healthz"; then
                return 0
            fi
            sleep 0.1
        done
        [ -z "$fn_pid" ] || return 1 # running but not answering in 10 s
        grep -qiE 'address already in use|EADDRINUSE' "$work/fn.log" || return 1
    done
    return 1
}

if start_function; then
    ok "clay-function started inside the chroot as $RUN_USER on 127.0.0.1:$port"
else
    not_ok "clay-function did not start inside the chroot; its output: $(tail -n 20 "$work/fn.log" | tr '\n' ' ')"
    finish
fi

code=$(curl -s -o "$work/healthz.out" -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/healthz")
if [ "$code" = 200 ]; then
    ok "GET /healthz -> 200"
else
    not_ok "GET /healthz -> $code"
fi

lead='{"email":"ada@example.com","first_name":"Ada","last_name":"Lovelace","title":"CTO","company":"Analytical Engines","icp_score":85}'
code=$(curl -s -o "$work/cb.out" -w '%{http_code}' --max-time 15 \
    -H 'Content-Type: application/json' -H "X-Clay-Secret: $secret" \
    -H 'Idempotency-Key: rootfs-chroot-row-1' --data-binary "$lead" \
    "http://127.0.0.1:$port/api/clay/enriched")
if [ "$code" = 200 ] && grep -qE '"status"[[:space:]]*:[[:space:]]*"processed"' "$work/cb.out"; then
    ok "signed callback -> 200 processed"
else
    not_ok "signed callback -> $code $(head -c 300 "$work/cb.out" 2>/dev/null)"
fi

code=$(curl -s -o "$work/unauth.out" -w '%{http_code}' --max-time 5 \
    -H 'Content-Type: application/json' -H 'X-Clay-Secret: wrong' --data-binary "$lead" \
    "http://127.0.0.1:$port/api/clay/enriched")
if [ "$code" = 401 ]; then
    ok "callback with a wrong secret -> 401"
else
    not_ok "callback with a wrong secret -> $code"
fi

if [ -d "$root/tmp/store" ] && find "$root/tmp/store" -type f | grep -q .; then
    ok "the event was stored inside the rootfs (/tmp/store)"
else
    not_ok "nothing was written under /tmp/store inside the rootfs"
fi

if stop_function; then
    ok "clay-function stopped within 10 s of SIGTERM"
else
    not_ok "clay-function still running 10 s after SIGTERM (killed)"
fi
if grep -qF "$secret" "$work/fn.log"; then
    not_ok "the webhook secret appears in the function's output"
else
    ok "the secret is not in the function's output"
fi

# --- the harness stage -----------------------------------------------------------
if bash "$src/scripts/rootfs.sh" "$build" "$work/rootfs-ci" --with-harness >"$work/rootfs-ci.log" 2>&1; then
    env -i "$CHROOT" --userspec="$RUN_USER" "$work/rootfs-ci" /clay-harness --help >"$work/harness.out" 2>&1
    rc=$?
    if [ "$rc" -ne 126 ] && [ "$rc" -ne 127 ] && ! grep -q 'error while loading shared libraries' "$work/harness.out"; then
        ok "clay-harness runs inside the --with-harness rootfs (exit $rc)"
    else
        not_ok "clay-harness cannot run inside the rootfs: $(head -c 300 "$work/harness.out")"
    fi
else
    not_ok "rootfs.sh --with-harness failed: $(tail -n 5 "$work/rootfs-ci.log" | tr '\n' ' ')"
fi

finish
