#!/usr/bin/env bash
# mock_gcs.sh: the GCS XML-API emulator and the metadata mock of `clay-harness
# mock`, over real sockets with curl: create-only PUT is atomic under 32
# concurrent writers (one 200, 31 412), generations and compare-and-swap,
# GET/HEAD/DELETE with NoSuchKey, URL-decoded names, listing by prefix with
# max-keys paging (every key once, sorted), reserved paths, --require-token,
# and the metadata token that needs Metadata-Flavor: Google.
#
# Env (set by ctest): CLAY_HARNESS. Uses 127.0.0.1 only; stops what it starts by PID.
set -uo pipefail

. "$(dirname "$0")/../mock_lib.sh"

[ -x "$CLAY_HARNESS" ] || {
    not_ok "no clay-harness at $CLAY_HARNESS"
    finish
}

start_mock --seed 7
B=$base/bkt

# --- 32 concurrent create-only PUTs of one name: exactly one wins ---
cpids=()
for i in $(seq 1 32); do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 -X PUT -H 'x-goog-if-generation-match: 0' \
        --data-binary "writer $i" "$B/events/race" >"$work/race.$i" &
    cpids+=($!)
done
for p in "${cpids[@]}"; do wait "$p"; done
n200=$(cat "$work"/race.* | grep -c '^200$')
n412=$(cat "$work"/race.* | grep -c '^412$')
check "32 concurrent create-only PUTs: one 200" 1 "$n200"
check "32 concurrent create-only PUTs: 31 412" 31 "$n412"
winner=$(curl -s "$B/events/race")
[[ $winner == "writer "* ]] && ok "the object holds the winner's body ($winner)" || not_ok "object body '$winner'"

# --- generations, CAS, overwrite ---
curl -s -D "$work/h1" -o /dev/null -X PUT -H 'x-goog-if-generation-match: 0' --data-binary 'v1' "$B/cas/obj"
gen1=$(tr -d '\r' <"$work/h1" | sed -n 's/^x-goog-generation: //Ip')
[[ $gen1 =~ ^[0-9]+$ ]] && ok "PUT answers x-goog-generation ($gen1)" || not_ok "no x-goog-generation on PUT"
check "CAS with a stale generation: 412" 412 "$(status PUT "$B/cas/obj" -H "x-goog-if-generation-match: $((gen1 + 1))" --data-binary v2)"
curl -s -D "$work/h2" -o /dev/null -X PUT -H "x-goog-if-generation-match: $gen1" --data-binary 'v2' "$B/cas/obj"
gen2=$(tr -d '\r' <"$work/h2" | sed -n 's/^x-goog-generation: //Ip')
[[ -n $gen2 && $gen2 -gt $gen1 ]] && ok "CAS with the current generation: new, larger generation" || not_ok "CAS gen '$gen2' after '$gen1'"
check "unconditional PUT overwrites" 200 "$(status PUT "$B/cas/obj" --data-binary v3)"
check "GET returns the last write" v3 "$(curl -s "$B/cas/obj")"
check "CAS on a missing object: 412" 412 "$(status PUT "$B/cas/missing" -H 'x-goog-if-generation-match: 5' --data-binary x)"
check "malformed precondition: 400" 400 "$(status PUT "$B/cas/obj" -H 'x-goog-if-generation-match: abc' --data-binary x)"

# --- GET / HEAD / DELETE ---
body=$(curl -s -w ' %{http_code}' "$B/nope/missing")
[[ $body == *"<Code>NoSuchKey</Code>"*" 404" ]] && ok "GET of a missing object: 404 NoSuchKey" || not_ok "missing GET: $body"
check "HEAD of a missing object: 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' -I "$B/nope/missing")"
headers=$(curl -s -I "$B/cas/obj" | tr -d '\r')
[[ $headers == "HTTP/1.1 200"* && $headers == *"x-goog-generation: "* && $headers == *"content-length: 2"* ]] &&
    ok "HEAD: 200, generation, length" || not_ok "HEAD headers: $headers"
check "DELETE with a wrong generation: 412" 412 "$(status DELETE "$B/cas/obj" -H 'x-goog-if-generation-match: 1')"
check "DELETE: 204" 204 "$(status DELETE "$B/cas/obj")"
check "DELETE again: 404" 404 "$(status DELETE "$B/cas/obj")"
check "GET after DELETE: 404" 404 "$(status GET "$B/cas/obj")"
check "create-only after DELETE: 200" 200 "$(status PUT "$B/cas/obj" -H 'x-goog-if-generation-match: 0' --data-binary again)"

# --- names are URL-decoded ---
check "PUT of an encoded name" 200 "$(status PUT "$B/enc/a%20b%2Fc%C3%A9" --data-binary e)"
check "the same name, encoded differently" e "$(curl -s "$B/enc/a%20b/c%c3%a9")"
list=$(curl -s "$B?list-type=2&prefix=enc%2F")
[[ $list == *"<Key>enc/a b/c"$'\xc3\xa9'"</Key>"* ]] && ok "listing shows the decoded name" || not_ok "listing: $list"
check "a bad escape in a name: 400" 400 "$(status GET "$B/enc/%zz")"

# --- listing with paging ---
for i in $(seq -w 1 25); do
    curl -s -o /dev/null -X PUT -H 'x-goog-if-generation-match: 0' --data-binary "p$i" "$B/page/k$i"
done
curl -s -o /dev/null -X PUT --data-binary x "$B/pagez"
curl -s -o /dev/null -X PUT --data-binary x "$base/otherbucket/page/k01"
keys=()
token=""
pages=0
while :; do
    url="$B?list-type=2&prefix=page%2F&max-keys=10"
    [ -n "$token" ] && url="$url&continuation-token=$token"
    xml=$(curl -s "$url")
    pages=$((pages + 1))
    while read -r k; do [ -n "$k" ] && keys+=("$k"); done < <(grep -o '<Key>[^<]*</Key>' <<<"$xml" | sed 's/<[^>]*>//g')
    token=$(grep -o '<NextContinuationToken>[^<]*' <<<"$xml" | sed 's/.*>//')
    if [[ $xml == *"<IsTruncated>true</IsTruncated>"* ]]; then
        [ -n "$token" ] || {
            not_ok "truncated page without a token"
            break
        }
    else
        break
    fi
    [ "$pages" -lt 10 ] || break
done
check "25 keys listed with max-keys=10: 3 pages" 3 "$pages"
check "25 keys listed, none from other prefixes or buckets" 25 "${#keys[@]}"
sorted=$(printf '%s\n' "${keys[@]}" | LC_ALL=C sort -u | tr '\n' ' ')
check "keys are sorted and distinct" "$sorted" "$(printf '%s\n' "${keys[@]}" | tr '\n' ' ')"
check "the first key" "page/k01" "${keys[0]:-}"
xml=$(curl -s "$B?list-type=2&prefix=page%2F&max-keys=10")
[[ $xml == *"<Contents><Key>page/k01</Key><Generation>"*"<Size>3</Size>"* && $xml == *"<KeyCount>10</KeyCount>"* ]] &&
    ok "Contents carry Key, Generation, Size" || not_ok "list XML: $xml"
xml=$(curl -s "$B?list-type=2&prefix=page%2F&start-after=page%2Fk20")
check "start-after skips to k21" 5 "$(grep -o '<Key>' <<<"$xml" | wc -l | tr -d ' ')"
check "a bad continuation token: 400" 400 "$(status GET "$B?list-type=2&continuation-token=zz")"
xml=$(curl -s "$B?prefix=page%2F&max-keys=20")
[[ $xml == *"<NextMarker>page/k20</NextMarker>"* ]] && ok "V1 listing pages with NextMarker" || not_ok "V1 list: $xml"
check "V1 marker continues" 5 "$(curl -s "$B?prefix=page%2F&marker=page%2Fk20" | grep -o '<Key>' | wc -l | tr -d ' ')"
xml=$(curl -s "$B?list-type=2&prefix=none%2F")
[[ $xml == *"<KeyCount>0</KeyCount>"*"<IsTruncated>false</IsTruncated>"* ]] && ok "empty listing" || not_ok "empty list: $xml"

# --- store stats and the JSON object view ---
stats=$(curl -s "$base/_harness/store/stats")
[[ $stats == *'"precondition_failed":'* && $stats == *'"objects":'* ]] && ok "store stats" || not_ok "stats: $stats"
objs=$(curl -s "$base/_harness/store/objects?bucket=bkt&prefix=page/&summary=1")
check "objects view counts a prefix" '{"objects":[],"count":25}' "$objs"

# --- reserved paths are not buckets ---
check "/clay is not a bucket" 404 "$(status GET "$base/clay/x")"
check "/_harness/unknown is 404" 404 "$(status GET "$base/_harness/unknown")"

# --- metadata mock ---
check "token without Metadata-Flavor: 403" 403 "$(status GET "$base/computeMetadata/v1/instance/service-accounts/default/token")"
tok=$(curl -s -H 'Metadata-Flavor: Google' "$base/computeMetadata/v1/instance/service-accounts/default/token")
check "token with Metadata-Flavor" '{"access_token":"mock-token-1","expires_in":3600,"token_type":"Bearer"}' "$tok"
tok=$(curl -s -H 'Metadata-Flavor: Google' "$base/computeMetadata/v1/instance/service-accounts/default/token?scopes=x")
[[ $tok == *'"mock-token-2"'* ]] && ok "each fetch gets a new token" || not_ok "second token: $tok"
check "project id" mock-project "$(curl -s -H 'Metadata-Flavor: Google' "$base/computeMetadata/v1/project/project-id")"
check "metadata stats" '{"token_fetches":2,"rejected":1,"project_fetches":1}' "$(curl -s "$base/_harness/metadata/stats")"

# --- reset keeps the objects; reset?store=1 drops them ---
check "reset" 200 "$(status POST "$base/_harness/reset")"
check "after reset the objects are still there" 200 "$(status GET "$B/page/k01")"
check "the store counters restart" 1 "$(curl -s "$base/_harness/store/stats" | grep -o '"requests":[0-9]*' | cut -d: -f2)"
check "reset?store=1" 200 "$(status POST "$base/_harness/reset?store=1")"
check "after reset?store=1 the objects are gone" 404 "$(status GET "$B/page/k01")"
stop_mock
check "mock exits 0 on SIGTERM" 0 "$?"

# --- --require-token and --token-ttl ---
start_mock --require-token --token-ttl 120
check "no token: 401" 401 "$(status PUT "$base/b/x" --data-binary x)"
check "a foreign token: 401" 401 "$(status PUT "$base/b/x" -H 'Authorization: Bearer other' --data-binary x)"
tok=$(curl -s -H 'Metadata-Flavor: Google' "$base/computeMetadata/v1/instance/service-accounts/default/token")
check "token ttl" '{"access_token":"mock-token-1","expires_in":120,"token_type":"Bearer"}' "$tok"
check "the mock's token: 200" 200 "$(status PUT "$base/b/x" -H 'Authorization: Bearer mock-token-1' --data-binary x)"
stop_mock

finish
