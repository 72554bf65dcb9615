#!/usr/bin/env bash
# harness_secrets.sh: the harness keeps secrets out of fixtures and out of `ps`. `record` saves
# X-Clay-Secret, Authorization, X-Clay-Signature, webhook-signature and svix-signature as
# REDACTED (the forward still carries the real values) unless --keep-secrets; `fire` takes its
# secret from --secret-file or CLAY_WEBHOOK_SECRET instead of the command line.
. "$(dirname "$0")/../lib.sh"

SECRET=harness-secrets-e2e-secret
start_function a CLAY_WEBHOOK_SECRET="$SECRET" STORE_URL="file:$E2E_TMP/store" || exit 1

start_record() { # start_record NAME ARGS...: sets REC_PID, REC_URL
    local log="$E2E_TMP/record-$1.log"
    shift
    "$CLAY_HARNESS" record --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
    REC_PID=$!
    E2E_PIDS+=("$REC_PID")
    wait_for_line "$log" '^listening on http://127.0.0.1:[0-9]+$' 10 || { cat "$log" >&2; return 1; }
    REC_URL=$(grep -m1 -oE 'http://127.0.0.1:[0-9]+' "$log")
}
send_all_headers() { # send_all_headers URL: one callback carrying every credential header
    curl -s -o /dev/null -w '%{http_code}' -X POST "$1/api/clay/enriched" -H 'Content-Type: application/json' \
        -H "X-Clay-Secret: $SECRET" -H "Authorization: Bearer $SECRET" -H 'X-Clay-Signature: sha256=00c0ffee00' \
        -H 'webhook-id: msg_1' -H 'webhook-timestamp: 1700000000' -H 'webhook-signature: v1,c2lnbmF0dXJl' \
        -H 'svix-signature: v1,c3ZpeHNpZw==' -H 'X-Custom: kept' --data-binary '{"email":"r@example.com","icp_score":10}'
}

# --- record, default: redacted in the file, real on the wire ---
start_record red --out "$E2E_TMP/red" --forward "$FN_URL_a" || exit 1
code=$(send_all_headers "$REC_URL")
check "through the recorder the function still authenticates the request ($code)" [ "$code" = 200 ]
stop_pid "$REC_PID"
fx=$(find "$E2E_TMP/red" -name '*.json' | head -1)
check "one fixture recorded" [ -n "$fx" ]
check "no secret or signature value in the fixture" bash -c "! grep -qE '$SECRET|00c0ffee00|c2lnbmF0dXJl|c3ZpeHNpZw' '$fx'"
check "each credential header kept by name with the value REDACTED, others as they came" python3 -c '
import json, sys
fx = json.load(open(sys.argv[1]))
h = {x.split(":", 1)[0].lower(): x.split(":", 1)[1].strip() for x in fx["steps"][0]["request"]["headers"]}
for name in ["x-clay-secret", "authorization", "x-clay-signature", "webhook-signature", "svix-signature"]:
    assert h.get(name) == "REDACTED", (name, h)
assert h["x-custom"] == "kept" and h["webhook-id"] == "msg_1", h
assert "redacted" in fx["description"], fx["description"]' "$fx"

# --- record --keep-secrets: as they came ---
start_record keep --out "$E2E_TMP/keep" --forward "$FN_URL_a" --keep-secrets || exit 1
code=$(send_all_headers "$REC_URL")
check "--keep-secrets: forwarded ($code)" [ "$code" = 200 ]
stop_pid "$REC_PID"
fx=$(find "$E2E_TMP/keep" -name '*.json' | head -1)
check "--keep-secrets: the values are in the fixture" \
    bash -c "grep -q 'X-Clay-Secret: $SECRET' '$fx' && grep -q 'svix-signature: v1,c3ZpeHNpZw==' '$fx'"

# --- fire: --secret-file and CLAY_WEBHOOK_SECRET, the secret never on the command line ---
printf '%s\n' "$SECRET" >"$E2E_TMP/secret"
chmod 600 "$E2E_TMP/secret"
"$CLAY_HARNESS" fire --target "$FN_URL_a" --count 5 --secret-file "$E2E_TMP/secret" --seed 5 >"$E2E_TMP/f1" 2>&1
check "fire --secret-file (static scheme): every callback accepted" [ $? -eq 0 ]
"$CLAY_HARNESS" fire --target "$FN_URL_a" --count 5 --secret-file "$E2E_TMP/secret" --seed 6 --scheme hmac >/dev/null 2>&1
check "fire --secret-file --scheme hmac: accepted" [ $? -eq 0 ]
printf 'old-secret\n\n  %s  \n' "$SECRET" >"$E2E_TMP/secrets2"
"$CLAY_HARNESS" fire --target "$FN_URL_a" --count 3 --secret-file "$E2E_TMP/secrets2" --seed 7 --scheme standard >/dev/null 2>&1
check "fire --secret-file with two secrets, one per line (standard signs with each): accepted" [ $? -eq 0 ]
CLAY_WEBHOOK_SECRET="$SECRET" "$CLAY_HARNESS" fire --target "$FN_URL_a" --count 5 --seed 8 --scheme bearer >/dev/null 2>&1
check "fire with CLAY_WEBHOOK_SECRET in the environment: accepted" [ $? -eq 0 ]
# the secret is not in the process's command line while it runs
"$CLAY_HARNESS" fire --target "$FN_URL_a" --count 400 --concurrency 2 --rate 200 --secret-file "$E2E_TMP/secret" --seed 9 \
    >/dev/null 2>&1 &
fire_pid=$!
E2E_PIDS+=("$fire_pid")
sleep 0.3
cmdline=$(tr '\0' ' ' <"/proc/$fire_pid/cmdline" 2>/dev/null)
check "a running fire's command line names the file, not the secret ($cmdline)" \
    bash -c "grep -q -- '--secret-file' <<<'$cmdline' && ! grep -q '$SECRET' <<<'$cmdline'"
wait "$fire_pid"
check "that run succeeded too" [ $? -eq 0 ]

"$CLAY_HARNESS" fire --target "$FN_URL_a" --secret-file "$E2E_TMP/missing" >"$E2E_TMP/f2" 2>&1
rc=$?
check "--secret-file of a missing file: exit 2 naming it (rc $rc)" bash -c "[ $rc = 2 ] && grep -q -- '--secret-file: cannot open' '$E2E_TMP/f2'"
: >"$E2E_TMP/empty"
"$CLAY_HARNESS" fire --target "$FN_URL_a" --secret-file "$E2E_TMP/empty" >"$E2E_TMP/f3" 2>&1
rc=$?
check "--secret-file of an empty file: exit 2 (rc $rc)" bash -c "[ $rc = 2 ] && grep -q 'holds no secret' '$E2E_TMP/f3'"
"$CLAY_HARNESS" fire --target "$FN_URL_a" --secret x --secret-file "$E2E_TMP/secret" >"$E2E_TMP/f4" 2>&1
check "--secret and --secret-file together: exit 2" [ $? -eq 2 ]
check "fire --help lists --secret-file" bash -c "'$CLAY_HARNESS' fire --help | grep -q -- '--secret-file'"
check "record --help lists --keep-secrets" bash -c "'$CLAY_HARNESS' record --help | grep -q -- '--keep-secrets'"

finish
