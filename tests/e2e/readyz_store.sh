#!/usr/bin/env bash
# readyz_store.sh: GET /readyz reports the store through a cached probe (a read of
# "readyz-probe"; not_found counts as reachable), at most 10 s old: 200 when the store
# answers, 503 store_denied when it refuses the credentials, 503 store_unavailable with
# Retry-After when it does not answer; a probe is made at most once per 10 s however often
# /readyz is asked, and the answer follows the store when it changes.
. "$(dirname "$0")/../lib.sh"

readyz() { # readyz URL: prints "STATUS BODY"; the headers in $E2E_TMP/h
    curl -s -m 30 -o "$E2E_TMP/r" -D "$E2E_TMP/h" -w '%{http_code}' "$1/readyz"
    printf ' %s' "$(cat "$E2E_TMP/r")"
}

# --- the file store ---
start_function file CLAY_WEBHOOK_SECRET=s STORE_URL="file:$E2E_TMP/f" || exit 1
r=$(readyz "$FN_URL_file")
check "file store: 200 ready ($r)" [ "$r" = '200 {"status":"ready","store":"reachable"}' ]

# --- a store that does not answer at all: 503 store_unavailable + Retry-After ---
start_function down CLAY_WEBHOOK_SECRET=s STORE_URL=gs://bucket/p STORAGE_EMULATOR_HOST=127.0.0.1:1 || exit 1
r=$(readyz "$FN_URL_down")
check "GCS unreachable: 503 store_unavailable ($(cut -c1-90 <<<"$r"))" grep -q '^503 {"error":"store_unavailable"' <<<"$r"
check "GCS unreachable: Retry-After" grep -qi '^retry-after: [0-9]' "$E2E_TMP/h"

# --- a GCS endpoint on loopback that answers as the test says (mode file: 404, 403 or 503) ---
cat >"$E2E_TMP/gcs.py" <<'PY'
import http.server, sys
mode_file, log_file = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(log_file, "a") as f:
            f.write(self.path + "\n")
        code = int(open(mode_file).read().strip())
        body = {404: b"<Error><Code>NoSuchKey</Code></Error>", 403: b"<Error><Code>AccessDenied</Code></Error>"}.get(code, b"")
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
echo 404 >"$E2E_TMP/mode"
: >"$E2E_TMP/gets"
python3 "$E2E_TMP/gcs.py" "$E2E_TMP/mode" "$E2E_TMP/gets" >"$E2E_TMP/gcs.port" 2>&1 &
E2E_PIDS+=("$!")
wait_for_line "$E2E_TMP/gcs.port" '^[0-9]+$' 10 || { echo "fake GCS did not start" >&2; exit 1; }
GCS=127.0.0.1:$(head -1 "$E2E_TMP/gcs.port")
start_function gcs CLAY_WEBHOOK_SECRET=s STORE_URL=gs://bucket/pre STORE_PREFIX=prod/ STORAGE_EMULATOR_HOST="$GCS" || exit 1
r=$(readyz "$FN_URL_gcs")
check "GCS answering 404 for the probe: reachable, 200 ($r)" [ "$r" = '200 {"status":"ready","store":"reachable"}' ]
check "the probe read the fixed name under the prefixes ($(head -1 "$E2E_TMP/gets"))" grep -q '/bucket/pre/prod/readyz-probe' "$E2E_TMP/gets"
echo 403 >"$E2E_TMP/mode"
for i in 1 2 3 4 5; do readyz "$FN_URL_gcs" >/dev/null; done
check "five more /readyz within 10 s: still one probe ($(wc -l <"$E2E_TMP/gets"))" [ "$(wc -l <"$E2E_TMP/gets")" = 1 ]
r=$(readyz "$FN_URL_gcs")
check "the cached answer is served meanwhile ($r)" [ "${r%% *}" = 200 ]

# the store now refuses the credentials: once the cache is 10 s old, 503 store_denied
sleep 10.2
r=$(readyz "$FN_URL_gcs")
check "GCS refusing (403): 503 store_denied naming the cause ($r)" \
    grep -q '^503 {"error":"store_denied","detail":"gcs get: HTTP 403 AccessDenied' <<<"$r"
check "a refresh made exactly one more probe ($(wc -l <"$E2E_TMP/gets"))" [ "$(wc -l <"$E2E_TMP/gets")" = 2 ]
check "the change is logged" grep -q '"message":"readiness: store not usable"' "$FN_LOG_gcs"

# --- and back: 404 again, the next probe (after 10 s) says ready ---
echo 404 >"$E2E_TMP/mode"
r=$(readyz "$FN_URL_gcs")
check "within 10 s of the last probe the cached 503 stays (${r%% *})" [ "${r%% *}" = 503 ]
sleep 10.2
r=$(readyz "$FN_URL_gcs")
check "the store back: 200 after the next probe ($r)" [ "${r%% *}" = 200 ]

finish
