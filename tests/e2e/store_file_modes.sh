#!/usr/bin/env bash
# store_file_modes.sh: the file store keeps leads to its owner: every object it writes is 0600
# and every folder it makes 0700, whatever the umask (022 here, the usual default), from the
# store's own directory down to the events, sent markers, leases and quota blocks.
. "$(dirname "$0")/../lib.sh"

umask 022
start_mock || exit 1
DATA="$E2E_TMP/fresh/store"
start_function a CLAY_WEBHOOK_SECRET=s STORE_URL="file:$DATA" OUTREACH_WEBHOOK_URL="$MOCK_URL/sinks/outreach" \
    RELAY_TOKEN=t CLAY_WEBHOOK_URLS="$MOCK_URL/clay/webhook/m" || exit 1
for i in 1 2 3; do
    r=$(post_callback "$FN_URL_a" s "{\"email\":\"l$i@example.com\",\"icp_score\":95}")
    check "callback $i processed (${r%% *})" [ "${r%% *}" = 200 ]
done
r=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$FN_URL_a/api/clay/rows" -H 'Authorization: Bearer t' \
    -H 'Content-Type: application/json' --data-binary '{"n":1}')
check "a relay row sent, claiming a quota block ($r)" [ "$r" = 200 ]

nfiles=$(find "$DATA" -type f | wc -l)
check "the store holds objects ($nfiles)" [ "$nfiles" -ge 6 ]
check "quota blocks are among them" [ -n "$(find "$DATA/quota" -type f 2>/dev/null | head -1)" ]
bad=$(find "$DATA" -type f ! -perm 0600 -printf '%m %P\n' | head -5)
check "every object is 0600 (${bad:-all})" [ -z "$bad" ]
bad=$(find "$DATA" -type d ! -perm 0700 -printf '%m %P\n' | head -5)
check "every folder, the store's own included, is 0700 (${bad:-all})" [ -z "$bad" ]
check "the store's directory is 0700" [ "$(stat -c %a "$DATA")" = 700 ]

finish
