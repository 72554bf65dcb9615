#!/usr/bin/env bash
# config_cleartext.sh: outbound http:// (sinks, CLAY_WEBHOOK_URLS, store endpoints, send's
# --webhook-url) only to loopback or with ALLOW_INSECURE_HTTP=1; otherwise exit 2 naming the
# variable, so lead PII, GCS tokens and SAS strings never travel in clear by accident. Nothing
# here contacts a remote host: a refused configuration stops before any request.
. "$(dirname "$0")/../lib.sh"

BASE=(BIND_ADDRESS=127.0.0.1 PORT=0 WORKERS=1 CLAY_WEBHOOK_SECRET=s STORE_URL="file:$E2E_TMP/data")

refused() { # refused NAME ENV=VALUE...: serve exits 2 with a line naming NAME and the cleartext rule
    local name=$1
    shift
    env -i PATH="$PATH" "${BASE[@]}" "$@" timeout 10 "$CLAY_FUNCTION" serve >"$E2E_TMP/out" 2>&1
    local rc=$?
    if [ "$rc" = 2 ] && grep -q "^clay-function: .*$name: http:// is allowed only to loopback" "$E2E_TMP/out"; then
        return 0
    fi
    echo "  rc=$rc: $(head -c 300 "$E2E_TMP/out")"
    return 1
}

for v in OUTREACH_WEBHOOK_URL NURTURE_WEBHOOK_URL ZAPIER_WEBHOOK_URL SLACK_WEBHOOK_URL; do
    check "$v=http://sinks.example.com: exit 2 naming it" refused "$v" "$v=http://sinks.example.com/hook"
done
check "CLAY_WEBHOOK_URLS with one remote http:// entry: exit 2" \
    refused CLAY_WEBHOOK_URLS CLAY_WEBHOOK_URLS="http://127.0.0.1:1/a, http://api.clay.example/b"
check "GCS_ENDPOINT_URL=http://10.0.0.8: exit 2" refused GCS_ENDPOINT_URL STORE_URL=gs://bucket/p GCS_ENDPOINT_URL=http://10.0.0.8:4443
check "STORAGE_EMULATOR_HOST=gcs.example:9000 (no scheme means http): exit 2" \
    refused STORAGE_EMULATOR_HOST STORE_URL=gs://bucket/p STORAGE_EMULATOR_HOST=gcs.example:9000
check "AWS_ENDPOINT_URL=http://minio.example: exit 2" refused AWS_ENDPOINT_URL STORE_URL=s3://bucket/p \
    AWS_ENDPOINT_URL=http://minio.example:9000 AWS_ACCESS_KEY_ID=a AWS_SECRET_ACCESS_KEY=b AWS_REGION=us-east-1
check "Azure BlobEndpoint=http://10.1.2.3: exit 2" refused AZURE_STORAGE_CONNECTION_STRING STORE_URL=azblob://acct/c \
    "AZURE_STORAGE_CONNECTION_STRING=AccountName=acct;AccountKey=a2V5;BlobEndpoint=http://10.1.2.3:10000/acct"
check "Azure DefaultEndpointsProtocol=http (the public endpoint in clear): exit 2" \
    refused AZURE_STORAGE_CONNECTION_STRING STORE_URL=azblob://acct/c \
    "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net"
check "a userinfo that looks like loopback does not fool it (http://127.0.0.1@evil.example)" \
    refused OUTREACH_WEBHOOK_URL OUTREACH_WEBHOOK_URL=http://127.0.0.1@evil.example/x
check "nor a host that starts like loopback (http://127.0.0.1.evil.example)" \
    refused OUTREACH_WEBHOOK_URL OUTREACH_WEBHOOK_URL=http://127.0.0.1.evil.example/x
check "redrive reads the same configuration: exit 2" bash -c "env -i PATH='$PATH' CLAY_WEBHOOK_SECRET=s \
    STORE_URL='file:$E2E_TMP/data' SLACK_WEBHOOK_URL=http://hooks.example/x '$CLAY_FUNCTION' redrive >'$E2E_TMP/rd' 2>&1; \
    [ \$? = 2 ] && grep -q 'SLACK_WEBHOOK_URL: http:// is allowed only to loopback' '$E2E_TMP/rd'"

# send: --webhook-url and CLAY_WEBHOOK_URLS
printf '{"n":1}\n' >"$E2E_TMP/rows.ndjson"
"$CLAY_FUNCTION" send --file "$E2E_TMP/rows.ndjson" --webhook-url http://api.clay.example/x >"$E2E_TMP/send" 2>&1
rc=$?
check "send --webhook-url http://api.clay.example: exit 2 naming the option (rc $rc)" \
    bash -c "[ $rc = 2 ] && grep -q -- '--webhook-url: http:// is allowed only to loopback' '$E2E_TMP/send'"
env CLAY_WEBHOOK_URLS=http://api.clay.example/x "$CLAY_FUNCTION" send --file "$E2E_TMP/rows.ndjson" >"$E2E_TMP/send" 2>&1
rc=$?
check "send with CLAY_WEBHOOK_URLS=http://api.clay.example: exit 2 naming it (rc $rc)" \
    bash -c "[ $rc = 2 ] && grep -q 'CLAY_WEBHOOK_URLS: http:// is allowed only to loopback' '$E2E_TMP/send'"

# allowed: loopback in every spelling, https anywhere, or ALLOW_INSECURE_HTTP=1 (nothing is sent: no lead arrives)
start_function loop CLAY_WEBHOOK_SECRET=s STORE_URL="file:$E2E_TMP/l" OUTREACH_WEBHOOK_URL=http://127.0.0.2:9/x \
    NURTURE_WEBHOOK_URL=http://localhost:9/x ZAPIER_WEBHOOK_URL='http://[::1]:9/x' SLACK_WEBHOOK_URL=https://hooks.example/x \
    CLAY_WEBHOOK_URLS=http://127.0.0.1:9/c RELAY_TOKEN=t
check "loopback http:// (127/8, localhost, [::1]) and https:// anywhere: the service starts" [ -n "${FN_PID_loop:-}" ]
start_function insecure CLAY_WEBHOOK_SECRET=s STORE_URL="file:$E2E_TMP/i" ALLOW_INSECURE_HTTP=1 \
    OUTREACH_WEBHOOK_URL=http://sinks.example.com/hook CLAY_WEBHOOK_URLS=http://api.clay.example/x RELAY_TOKEN=t
check "ALLOW_INSECURE_HTTP=1: remote http:// accepted on purpose" [ -n "${FN_PID_insecure:-}" ]
env -i PATH="$PATH" "${BASE[@]}" ALLOW_INSECURE_HTTP=maybe timeout 10 "$CLAY_FUNCTION" serve >"$E2E_TMP/out" 2>&1
rc=$?
check "ALLOW_INSECURE_HTTP=maybe: exit 2 naming it (rc $rc)" \
    bash -c "[ $rc = 2 ] && grep -q 'ALLOW_INSECURE_HTTP' '$E2E_TMP/out'"
check "--help lists ALLOW_INSECURE_HTTP" bash -c "'$CLAY_FUNCTION' --help | grep -q ALLOW_INSECURE_HTTP"

finish
