#!/usr/bin/env bash
# function_serve.sh: clay-function as a user starts it: configuration checked
# at start, /healthz over HTTP/1.1 and h2c, /readyz, /metrics, BoringSSL only,
# and a graceful SIGTERM that lets a slow in-flight callback finish.
. "$(dirname "$0")/../lib.sh"

# --- configuration: each bad value exits 2 with one line naming the variable ---
bad_config() { # VAR=VALUE [more env]: expect exit 2 and the first variable named
    local first=${1%%=*} out rc
    out=$(env -i PATH="$PATH" CLAY_WEBHOOK_SECRET=s STORE_URL="file:$E2E_TMP/cfg" "$@" "$CLAY_FUNCTION" serve 2>&1 >/dev/null)
    rc=$?
    if [ $rc -eq 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && printf '%s' "$out" | grep -q "$first"; then
        pass "bad $first exits 2 naming it ($out)"
    else
        fail "bad $first: rc=$rc out=$out"
    fi
}
bad_config PORT=abc
bad_config PORT=70000
bad_config WORKERS=many
bad_config MAX_BODY_BYTES=1
bad_config REQUEST_TIMEOUT_MS=0
bad_config SIGNATURE_TOLERANCE_S=0
bad_config ALLOW_UNAUTHENTICATED=maybe
bad_config AUTH_SCHEMES=magic
bad_config CLAY_WEBHOOK_SECRET=whsec_@@@@
bad_config STORE_URL=ftp://example/x
bad_config STORE_PREFIX=/abs/
bad_config LEASE_S=0
bad_config REDRIVE_MAX_BACKOFF_S=x
bad_config OUTREACH_MIN_SCORE=101
bad_config NURTURE_MIN_SCORE=90 OUTREACH_MIN_SCORE=80
bad_config SLACK_MIN_SCORE=-1
bad_config OUTREACH_WEBHOOK_URL=not-a-url
bad_config NURTURE_WEBHOOK_URL=ftp://x/y
bad_config ZAPIER_WEBHOOK_URL=http://
bad_config SLACK_WEBHOOK_URL=slack
bad_config SINK_TIMEOUT_MS=fast
bad_config DELIVERY_DEADLINE_MS=-5
bad_config CLAY_WEBHOOK_URLS=ftp://x
bad_config CLAY_WEBHOOK_LIMIT=0
bad_config CLAY_RATE=0
bad_config CLAY_BURST=lots
bad_config LOG_LEVEL=loud
bad_config LOG_PII=2
out=$(env -i PATH="$PATH" STORE_URL="file:$E2E_TMP/cfg" "$CLAY_FUNCTION" serve 2>&1 >/dev/null)
check "no secret: refuses to start" [ $? -eq 2 ]
check "no secret: says why" grep -q "CLAY_WEBHOOK_SECRET" <<<"$out"
out=$(env -i PATH="$PATH" CLAY_WEBHOOK_SECRET=s K_SERVICE=svc "$CLAY_FUNCTION" serve 2>&1 >/dev/null)
check "Cloud Run without STORE_URL: refuses" [ $? -eq 2 ]
check "Cloud Run without STORE_URL: asks for a shared store" grep -q "shared store" <<<"$out"

help=$("$CLAY_FUNCTION" --help)
missing=""
for v in $(grep -oE 'cw_env_(u64|bool|url|enum|str)\((&env, )?"[A-Z0-9_]+"' "$CW_SOURCE_DIR"/function/config.c | grep -oE '"[A-Z0-9_]+"' | tr -d '"' | sort -u); do
    grep -q "$v" <<<"$help" || missing="$missing $v"
done
check "--help lists every variable config.c reads${missing:+ (missing:$missing)}" [ -z "$missing" ]

# --- BoringSSL only ---
for b in "$CLAY_FUNCTION" "$CLAY_HARNESS"; do
    check "$(basename "$b") does not load OpenSSL" bash -c "! ldd '$b' | grep -qE 'libssl\.so\.3|libcrypto\.so\.3'"
    check "$(basename "$b") links BoringSSL" bash -c "ldd '$b' | grep -q 'android/libcrypto.so'"
done
check "curl_version() names BoringSSL" bash -c "'$CLAY_FUNCTION' --version | grep -q BoringSSL"

# --- serving ---
start_function a CLAY_WEBHOOK_SECRET=e2e-secret H2C=1 STORE_URL="file:$E2E_TMP/store-a" || exit 1
check "healthz over HTTP/1.1" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code} %{http_version}' $FN_URL_a/healthz)\" = '200 1.1' ]"
check "healthz over h2c (prior knowledge)" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code} %{http_version}' --http2-prior-knowledge $FN_URL_a/healthz)\" = '200 2' ]"
check "healthz over h2c (Upgrade)" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code} %{http_version}' --http2 $FN_URL_a/healthz)\" = '200 2' ]"
check "readyz" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $FN_URL_a/readyz)\" = 200 ]"
check "unknown path is a JSON 404" bash -c "curl -s $FN_URL_a/nope | grep -q '\"error\":\"not_found\"'"
r=$(post_callback "$FN_URL_a" e2e-secret '{"email":"ann@example.com","icp_score":40,"case":"serve"}')
check "a signed callback is processed ($r)" grep -q '^200 .*"status":"processed"' <<<"$r"
r=$(post_callback "$FN_URL_a" wrong '{"email":"ann@example.com","icp_score":40,"case":"serve"}')
check "a wrong secret is 401 ($r)" grep -q '^401 .*"error":"unauthorized"' <<<"$r"
metrics=$(curl -s "$FN_URL_a/metrics")
check "metrics count the processed callback" grep -q 'clay_callbacks_total{outcome="processed"} 1' <<<"$metrics"
check "metrics count the refusal" grep -q 'clay_callbacks_total{outcome="unauthorized"} 1' <<<"$metrics"
check "metrics count store ops" grep -q 'clay_store_requests_total{backend="file",op="create",result="ok"}' <<<"$metrics"
check "no secret in the log" bash -c "! grep -q e2e-secret $FN_LOG_a"
check "no email in the log (LOG_PII=0)" bash -c "! grep -q ann@example.com $FN_LOG_a"
stop_pid "$FN_PID_a" 9
rc=$STOP_RC
check "idle SIGTERM exits 0 (rc=$rc)" [ "$rc" = 0 ]

# --- SIGTERM with a slow request in flight ---
start_mock || exit 1
curl -s -X POST "$MOCK_URL/_harness/sinks/outreach" -d '{"latency_ms":2500}' >/dev/null
start_function b CLAY_WEBHOOK_SECRET=e2e-secret STORE_URL="file:$E2E_TMP/store-b" \
    OUTREACH_WEBHOOK_URL="$MOCK_URL/sinks/outreach" SINK_TIMEOUT_MS=5000 || exit 1
( post_callback "$FN_URL_b" e2e-secret '{"email":"bo@example.com","icp_score":85,"case":"sigterm"}' >"$E2E_TMP/slow.out" ) &
client=$!
sleep 0.7
t0=$(date +%s%N)
stop_pid "$FN_PID_b" 9
rc=$STOP_RC
t1=$(date +%s%N)
wait $client
elapsed_ms=$(( (t1 - t0) / 1000000 ))
check "SIGTERM mid-request: exit 0 (rc=$rc)" [ "$rc" = 0 ]
check "SIGTERM mid-request: within 8 s (${elapsed_ms} ms)" [ "$elapsed_ms" -lt 8000 ]
check "SIGTERM mid-request: it waited for the request (${elapsed_ms} ms)" [ "$elapsed_ms" -gt 1000 ]
check "SIGTERM mid-request: the slow callback completed ($(cat "$E2E_TMP/slow.out"))" grep -q '^200 .*"outreach":"delivered"' "$E2E_TMP/slow.out"
check "SIGTERM mid-request: the sink got it once" bash -c "curl -s '$MOCK_URL/_harness/deliveries?summary=1' | grep -q '\"total\":1'"
finish
