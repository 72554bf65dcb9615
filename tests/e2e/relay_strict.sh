#!/usr/bin/env bash
# relay_strict.sh: the relay's three defects of issue 12 point 6 stay fixed:
# with CLAY_BURST >= 100 a request of more than 100 rows is refused whole (413,
# nothing sent) instead of answering "sent" for rows it dropped; a body must be
# exactly one JSON value ("{...} junk" is 400, nothing sent); Clay's Retry-After
# is honoured up to 60 s, not a century.
. "$(dirname "$0")/../lib.sh"

FN_ENV=(CLAY_WEBHOOK_SECRET=s RELAY_TOKEN=relay-tok)

post() { # post BASEURL BODY: prints "STATUS BODY"
    curl -s -o "$E2E_TMP/resp" -D "$E2E_TMP/headers" -w '%{http_code}' -X POST "$1/api/clay/rows" \
        -H 'Content-Type: application/json' -H "Authorization: Bearer relay-tok" --data-binary "$2"
    printf ' %s' "$(cat "$E2E_TMP/resp")"
}
count() { curl -s "$MOCK_URL/_harness/clay/$1/rows?summary=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'; }
rows() { # rows N: a JSON array of N rows
    python3 -c 'import json,sys; print(json.dumps([{"n": i} for i in range(int(sys.argv[1]))]))' "$1"
}

start_mock --clay-rate 10000 --clay-burst 10000 || exit 1

# --- CLAY_BURST >= 100: past the 100th row, the request is refused, never half-sent as "sent" ---
start_function big "${FN_ENV[@]}" STORE_URL="file:$E2E_TMP/big" CLAY_WEBHOOK_URLS="$MOCK_URL/clay/webhook/big" \
    CLAY_RATE=10000 CLAY_BURST=500 || exit 1
r=$(post "$FN_URL_big" "$(rows 150)")
check "150 rows with CLAY_BURST=500: 413 ($(cut -c1-100 <<<"$r"))" grep -q '^413 {"error":"too_many_rows"' <<<"$r"
check "150 rows: Clay received none of them" [ "$(count big)" = 0 ]
r=$(post "$FN_URL_big" "$(rows 100)")
check "100 rows: all sent ($(cut -c1-40 <<<"$r"))" grep -q '^200 {"status":"sent","sent":100,' <<<"$r"
check "100 rows: Clay holds 100" [ "$(count big)" = 100 ]

# --- exactly one JSON value ---
for body in '{"a":1} junk' '{"a":1}{"b":2}' '[{"a":1}] x' '[{"a":1} {"b":2}]' '{"a":1'; do
    r=$(post "$FN_URL_big" "$body")
    check "'$body': 400 bad_json ($r)" grep -q '^400 {"error":"bad_json"' <<<"$r"
done
r=$(post "$FN_URL_big" $' {"a":1}\r\n ')
check "whitespace around one value is fine ($(cut -c1-40 <<<"$r"))" [ "${r%% *}" = 200 ]
check "no junk reached Clay (100 + 1 rows)" [ "$(count big)" = 101 ]
check "the row Clay got is the object alone" bash -c "curl -s '$MOCK_URL/_harness/clay/big/rows' | python3 -c '
import json, sys
assert json.load(sys.stdin)[\"rows\"][-1] == {\"a\": 1}'"

# --- Clay's Retry-After: a century is honoured as 60 s ---
# A fake Clay on loopback: 429 with Retry-After of about 100 years.
cat >"$E2E_TMP/clay429.py" <<'EOF'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(429)
        self.send_header("Retry-After", "3153600000")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
python3 "$E2E_TMP/clay429.py" >"$E2E_TMP/clay429.port" 2>&1 &
E2E_PIDS+=("$!")
wait_for_line "$E2E_TMP/clay429.port" '^[0-9]+$' 10 || { echo "fake Clay did not start" >&2; exit 1; }
port=$(head -1 "$E2E_TMP/clay429.port")
start_function slow "${FN_ENV[@]}" STORE_URL="file:$E2E_TMP/slow" CLAY_WEBHOOK_URLS="http://127.0.0.1:$port/clay/webhook/x" \
    DELIVERY_DEADLINE_MS=1000 || exit 1
r=$(post "$FN_URL_slow" '{"n":1}')
ra=$(grep -i '^retry-after:' "$E2E_TMP/headers" | tr -dc '0-9')
check "Clay's 429: answered 429 rate_limited ($(cut -c1-60 <<<"$r"))" grep -q '^429 {"error":"rate_limited"' <<<"$r"
check "Clay's Retry-After of 100 years is passed on as at most 60 s ($ra)" [ -n "$ra" ] && [ "$ra" -ge 1 ] && [ "$ra" -le 60 ]
check "the row's retry_after_s is at most 60" bash -c "python3 -c '
import json, sys
assert json.load(open(sys.argv[1]))[\"results\"][0][\"retry_after_s\"] <= 60' '$E2E_TMP/resp'"

finish
