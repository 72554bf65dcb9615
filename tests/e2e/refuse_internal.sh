#!/usr/bin/env bash
# refuse_internal.sh: the two other endpoints that take a body, POST /internal/redrive and POST /api/clay/rows,
# refuse what they would refuse (endpoint off, no valid token, not POST) from the headers, as the callback
# endpoint does (docs/receiving.md): the client declares 1 MB, sends 100 bytes of it and gets its answer at
# once, not after REQUEST_TIMEOUT_MS. A request they accept still has its body read.
. "$(dirname "$0")/../lib.sh"

# early PORT METHOD PATH [HEADER...]: declares a 1,000,000-byte body, sends 100 bytes, prints the status line
# that came back within 3 s ("none" if nothing did).
early() {
    python3 - "$@" <<'EOF'
import socket, sys
port, method, path, headers = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
s = socket.create_connection(("127.0.0.1", port), timeout=3)
head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n"
head += "".join(h + "\r\n" for h in headers) + "\r\n"
s.sendall(head.encode() + b"[" + b" " * 99)
try:
    data = s.recv(4096)
    print(data.split(b"\r\n", 1)[0].decode() if data else "closed")
except socket.timeout:
    print("none")
EOF
}
port_of() { echo "${1##*:}"; }

start_function on CLAY_WEBHOOK_SECRET=s STORE_URL="file:$E2E_TMP/on" REDRIVE_TOKEN=redrive-tok RELAY_TOKEN=relay-tok \
    CLAY_WEBHOOK_URLS="http://127.0.0.1:9/clay/webhook/x" REQUEST_TIMEOUT_MS=10000 || exit 1
start_function off CLAY_WEBHOOK_SECRET=s STORE_URL="file:$E2E_TMP/off" REQUEST_TIMEOUT_MS=10000 || exit 1
on=$(port_of "$FN_URL_on")
off=$(port_of "$FN_URL_off")

r=$(early "$on" POST /internal/redrive)
check "redrive without a token: 401 from the headers ($r)" [ "$r" = "HTTP/1.1 401 Unauthorized" ]
r=$(early "$on" POST /internal/redrive "Authorization: Bearer wrong")
check "redrive with a wrong token: 401 from the headers ($r)" [ "$r" = "HTTP/1.1 401 Unauthorized" ]
r=$(early "$on" PUT /internal/redrive "Authorization: Bearer redrive-tok")
check "redrive by PUT: 405 from the headers ($r)" [ "$r" = "HTTP/1.1 405 Method Not Allowed" ]
r=$(early "$off" POST /internal/redrive "Authorization: Bearer redrive-tok")
check "redrive off (no REDRIVE_TOKEN): 404 from the headers ($r)" [ "$r" = "HTTP/1.1 404 Not Found" ]
r=$(early "$on" POST /internal/redrive "Authorization: Bearer redrive-tok")
check "redrive with its token: the body is awaited, no early answer ($r)" [ "$r" = "none" ]

r=$(early "$on" POST /api/clay/rows)
check "relay without a token: 401 from the headers ($r)" [ "$r" = "HTTP/1.1 401 Unauthorized" ]
r=$(early "$on" PATCH /api/clay/rows "Authorization: Bearer relay-tok")
check "relay by PATCH: 405 from the headers ($r)" [ "$r" = "HTTP/1.1 405 Method Not Allowed" ]
r=$(early "$off" POST /api/clay/rows "Authorization: Bearer relay-tok")
check "relay off (no CLAY_WEBHOOK_URLS): 404 from the headers ($r)" [ "$r" = "HTTP/1.1 404 Not Found" ]
r=$(early "$on" POST /api/clay/rows "Authorization: Bearer relay-tok")
check "relay with its token: the body is awaited, no early answer ($r)" [ "$r" = "none" ]

# The refusals are counted, as before, and as refused before their body.
metrics=$(curl -s "$FN_URL_on/metrics")
check "refusals before the body are counted (three 401s)" \
    bash -c "grep -E '^clay_refused_before_body_total\\{status=\"401\"\\} 3$' <<<'$metrics' >/dev/null"
check "denied relay requests are counted" bash -c "grep -E '^clay_relay_denied_total [1-9]' <<<'$metrics' >/dev/null"
# A bodiless request is still refused by the handler, with the same answer.
code=$(curl -s -o "$E2E_TMP/b" -w '%{http_code}' -X POST "$FN_URL_on/internal/redrive")
check "a bodiless redrive without a token: 401 from the handler ($code)" [ "$code" = 401 ]
check "... saying what is required" grep -q 'Bearer <REDRIVE_TOKEN>' "$E2E_TMP/b"
finish
