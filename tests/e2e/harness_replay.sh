#!/usr/bin/env bash
# harness_replay.sh: `clay-harness replay` against a real clay-function configured as fixtures/README.md
# says: the repository's fixtures all pass (with the mock's ledger for deliveries) and the JUnit file
# says so; and replay fails properly: a wrong status, a wrong delivery count, a duplicate, a case that
# needs --mock without it, a malformed file, each with exit 1 and an exact summary line.
. "$(dirname "$0")/../lib.sh"

FIXTURES="$CW_SOURCE_DIR/fixtures"
SECRETS='fixture-secret-1,fixture-secret-2,whsec_L+a80ygH3VKIo69SC0mqH8opR1yagHFp7mRJSbAgM8Q='

start_mock || exit 1
mkdir -p "$E2E_TMP/store"
start_function fx CLAY_WEBHOOK_SECRET="$SECRETS" AUTH_SCHEMES=all STORE_URL="file://$E2E_TMP/store" \
    OUTREACH_WEBHOOK_URL="$MOCK_URL/sinks/outreach" NURTURE_WEBHOOK_URL="$MOCK_URL/sinks/nurture" \
    ZAPIER_WEBHOOK_URL="$MOCK_URL/sinks/zapier" SLACK_WEBHOOK_URL="$MOCK_URL/sinks/slack" || exit 1
TARGET=$FN_URL_fx

# 1. The repository's fixtures, all of them.
n=$(find "$FIXTURES" -name '*.json' | wc -l)
"$CLAY_HARNESS" replay --target "$TARGET" --mock "$MOCK_URL" --junit "$E2E_TMP/junit.xml" "$FIXTURES" >"$E2E_TMP/all.txt" 2>&1
rc=$?
grep -v '^ok ' "$E2E_TMP/all.txt"
check "fixtures/: replay exits 0" [ "$rc" -eq 0 ]
check "fixtures/: last line is '$n passed, 0 failed'" [ "$(tail -n1 "$E2E_TMP/all.txt")" = "$n passed, 0 failed" ]
check "fixtures/: one 'ok' line per case ($n)" [ "$(grep -c '^ok ' "$E2E_TMP/all.txt")" = "$n" ]
check "fixtures/: the JUnit XML parses and counts $n tests, 0 failures" [ "$(python3 -c '
import sys, xml.dom.minidom as m
s = m.parse(sys.argv[1]).getElementsByTagName("testsuite")[0]
print(s.getAttribute("tests"), s.getAttribute("failures"), len(s.getElementsByTagName("testcase")))' "$E2E_TMP/junit.xml")" = "$n 0 $n" ]

# 2. A case that expects the wrong status.
mkdir -p "$E2E_TMP/wrong"
cat >"$E2E_TMP/wrong/wrong-status.json" <<'EOF'
{"name": "wrong-status", "description": "healthz is 200, not 418",
 "steps": [{"request": {"method": "GET", "path": "/healthz", "body": ""}, "expect": {"status": 418}}]}
EOF
"$CLAY_HARNESS" replay --target "$TARGET" --junit "$E2E_TMP/wrong.xml" "$E2E_TMP/wrong" >"$E2E_TMP/wrong.txt" 2>&1
rc=$?
cat "$E2E_TMP/wrong.txt"
check "wrong status: exit 1" [ "$rc" -eq 1 ]
check "wrong status: last line is exactly '0 passed, 1 failed'" [ "$(tail -n1 "$E2E_TMP/wrong.txt")" = "0 passed, 1 failed" ]
check "wrong status: the FAIL line says why" grep -q '^FAIL wrong-status: step 1: .*418.*200' "$E2E_TMP/wrong.txt"
check "wrong status: the JUnit XML has the failure" grep -q '<failure message="step 1: .*418' "$E2E_TMP/wrong.xml"

# 3. A new event whose expected delivery count is wrong, then the same file again (now a duplicate).
python3 - "$FIXTURES/route-score-80.json" "$E2E_TMP/deliv/e2e-wrong-deliveries.json" <<'EOF'
import json, os, sys
fx = json.load(open(sys.argv[1]))
fx["name"] = "e2e-wrong-deliveries"
step = fx["steps"][0]
step["request"]["body"] = step["request"]["body"].replace("fx-route-score-80", "fx-e2e-wrong-deliveries")
step["expect"]["deliveries"] = {"outreach": 2}
os.makedirs(os.path.dirname(sys.argv[2]), exist_ok=True)
json.dump(fx, open(sys.argv[2], "w"))
EOF
"$CLAY_HARNESS" replay --target "$TARGET" --mock "$MOCK_URL" "$E2E_TMP/deliv" >"$E2E_TMP/deliv.txt" 2>&1
rc=$?
cat "$E2E_TMP/deliv.txt"
check "wrong delivery count: exit 1, named" [ "$rc" -eq 1 -a "$(grep -c '^FAIL e2e-wrong-deliveries: step 1: deliveries.outreach: expected 2, the mock recorded 1' "$E2E_TMP/deliv.txt")" = 1 ]
"$CLAY_HARNESS" replay --target "$TARGET" --mock "$MOCK_URL" "$FIXTURES/route-score-80.json" >"$E2E_TMP/again.txt" 2>&1
rc=$?
cat "$E2E_TMP/again.txt"
check "a replayed case against the same store is a duplicate: exit 1" [ "$rc" -eq 1 -a "$(grep -c 'expected "processed", got "duplicate"' "$E2E_TMP/again.txt")" = 1 ]

# 4. Deliveries expected but no --mock: a clear failure, not a silent pass.
python3 - "$FIXTURES/route-score-50.json" "$E2E_TMP/nomock/e2e-no-mock.json" <<'EOF'
import json, os, sys
fx = json.load(open(sys.argv[1]))
fx["name"] = "e2e-no-mock"
fx["steps"][0]["request"]["body"] = fx["steps"][0]["request"]["body"].replace("fx-route-score-50", "fx-e2e-no-mock")
os.makedirs(os.path.dirname(sys.argv[2]), exist_ok=True)
json.dump(fx, open(sys.argv[2], "w"))
EOF
"$CLAY_HARNESS" replay --target "$TARGET" "$E2E_TMP/nomock" >"$E2E_TMP/nomock.txt" 2>&1
rc=$?
cat "$E2E_TMP/nomock.txt"
check "deliveries without --mock: exit 1 with the reason" [ "$rc" -eq 1 -a "$(grep -c '^FAIL e2e-no-mock: .*no --mock' "$E2E_TMP/nomock.txt")" = 1 ]

# 5. A malformed file among good ones (in a subfolder: folders are searched recursively) is one failure
#    naming the file; the run goes on.
mkdir -p "$E2E_TMP/mixed/sub"
cp "$FIXTURES/endpoint-healthz.json" "$E2E_TMP/mixed/a.json"
printf '{"name": "broken", "steps": [' >"$E2E_TMP/mixed/sub/broken.json"
echo 'not a fixture' >"$E2E_TMP/mixed/notes.txt"
"$CLAY_HARNESS" replay --target "$TARGET" "$E2E_TMP/mixed" >"$E2E_TMP/mixed.txt" 2>&1
rc=$?
cat "$E2E_TMP/mixed.txt"
check "malformed fixture: exit 1, '1 passed, 1 failed'" [ "$rc" -eq 1 -a "$(tail -n1 "$E2E_TMP/mixed.txt")" = "1 passed, 1 failed" ]
check "malformed fixture: the FAIL line names the file" grep -q "^FAIL $E2E_TMP/mixed/sub/broken.json: " "$E2E_TMP/mixed.txt"

# 6. Usage errors exit 2.
"$CLAY_HARNESS" replay --target "$TARGET" >/dev/null 2>&1
check "no PATH: exit 2" [ $? -eq 2 ]

finish
