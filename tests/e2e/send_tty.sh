#!/usr/bin/env bash
# send_tty.sh: on a terminal (a pty from util-linux `script`), clay-function
# send draws a progress bar that redraws in place (sent, failed, rows/s, ETA)
# and ends with a newline and the summary; messages do not tear it.
. "$(dirname "$0")/../lib.sh"

if ! command -v script >/dev/null; then
    fail "util-linux 'script' is needed to give the CLI a terminal"
    finish
    exit 1
fi

start_mock --clay-rate 1000 --clay-burst 1000 || exit 1
for ((i = 1; i <= 40; i++)); do printf '{"n":%d}\n' "$i"; done >"$E2E_TMP/tty.ndjson"
echo 'not json' >>"$E2E_TMP/tty.ndjson"

cmd=$(printf '%q ' "$CLAY_FUNCTION" send --file "$E2E_TMP/tty.ndjson" --webhook-url "$MOCK_URL/clay/webhook/tty" \
    --rate 20 --burst 2 --limit 42)
timeout 60 script -qfec "$cmd" "$E2E_TMP/typescript" >/dev/null 2>&1
rc=$?
out="$E2E_TMP/typescript"
check "tty: exit 1 (one bad line)" [ $rc -eq 1 ]
frames=$(grep -o $'\r\\[[#-]*\\]' "$out" | wc -l)
check "tty: the bar is redrawn in place ($frames frames)" [ "$frames" -ge 4 ]
check "tty: the bar shows sent, failed, rate and ETA" \
    grep -qE $'\r\\[[#-]{24}\\] +[0-9]+% [0-9]+/41  sent [0-9]+  failed 1  [0-9.]+ rows/s  ETA [0-9]+:[0-9]{2}' "$out"
check "tty: the bar fills up to 100%" grep -qE $'\\[#{24}\\] 100% 41/41  sent 40  failed 1' "$out"
check "tty: a warning is printed on its own line, the bar redrawn after it" \
    grep -qE $'\r\x1b\\[Kclay-function send: warning: webhook 1 has used 38 of its 42 submissions \\(90%\\)' "$out"
check "tty: the summary follows on its own lines" grep -qE '^  acknowledged   40 \(40 in this run\)' "$out"
check "tty: no plain progress lines on a terminal" bash -c "! grep -q 'rows done' '$out'"

# the same run without a terminal: plain lines, no carriage returns
for ((i = 1; i <= 30; i++)); do printf '{"n":%d}\n' "$i"; done >"$E2E_TMP/plain.ndjson"
timeout 60 "$CLAY_FUNCTION" send --file "$E2E_TMP/plain.ndjson" --webhook-url "$MOCK_URL/clay/webhook/plain" --rate 20 \
    --burst 2 --progress-interval 1 >"$E2E_TMP/plain.out" 2>&1
check "no tty: plain progress lines" grep -qE '^clay-function send: [0-9]+/30 rows done \(sent [0-9]+, failed 0\), [0-9.]+ rows/s, ETA' "$E2E_TMP/plain.out"
check "no tty: no carriage returns or escapes" bash -c "! grep -q $'[\r\x1b]' '$E2E_TMP/plain.out'"

finish
