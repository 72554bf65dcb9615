#!/usr/bin/env bash
# gcs_metadata.sh: the GCS backend's token path against the harness's
# metadata-server mock, as on Cloud Run: the token is fetched with
# Metadata-Flavor: Google, cached across callbacks, refreshed when no more than
# 300 s remain, and the emulator refuses requests without it.
. "$(dirname "$0")/../lib.sh"

start_mock --require-token --token-ttl 302 || exit 1
host=${MOCK_URL#http://}
start_function m CLAY_WEBHOOK_SECRET=md-secret STORE_URL=gs://md-bucket/p \
    GCS_ENDPOINT_URL="$MOCK_URL" GCE_METADATA_HOST="$host" || exit 1

fetches() { curl -s "$MOCK_URL/_harness/metadata/stats" | grep -oE '"(token_)?fetches":[0-9]+' | grep -oE '[0-9]+$' | head -1; }

r=$(post_callback "$FN_URL_m" md-secret '{"email":"md1@example.com","icp_score":10,"case":"md1"}')
check "a callback is processed on gs:// with the metadata token ($r)" grep -q '^200 .*"processed"' <<<"$r"
r=$(post_callback "$FN_URL_m" md-secret '{"email":"md2@example.com","icp_score":10,"case":"md2"}')
check "a second callback too ($r)" grep -q '^200 .*"processed"' <<<"$r"
n1=$(fetches)
check "the token was fetched once for many store requests (fetches=$n1)" [ "${n1:-0}" = 1 ]
sleep 2.2 # the 302 s token now has under 300 s left: the next request refreshes it
r=$(post_callback "$FN_URL_m" md-secret '{"email":"md3@example.com","icp_score":10,"case":"md3"}')
check "after the refresh point, callbacks still work ($r)" grep -q '^200 .*"processed"' <<<"$r"
n2=$(fetches)
check "the token was refreshed before expiry (fetches=$n2)" [ "${n2:-0}" -ge 2 ]
check "without the header the metadata mock refuses" \
    bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $MOCK_URL/computeMetadata/v1/instance/service-accounts/default/token)\" = 403 ]"
check "the emulator refuses requests without a token" \
    bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $MOCK_URL/md-bucket/p/events/x)\" = 401 ]"
finish
