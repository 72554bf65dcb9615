#!/usr/bin/env bash
# mock_faults.sh: fault injection of the GCS emulator in `clay-harness mock`:
# --store-fail-rate answers about that fraction 503 (and writes nothing), a
# seed reproduces the sequence, --store-ambiguous-rate commits and then
# answers 503, run-time control (down, fail_rate, restore), latency and
# latency spikes, and a stop that answers delayed requests at once.
#
# Env (set by ctest): CLAY_HARNESS. Uses 127.0.0.1 only; stops what it starts by PID.
set -uo pipefail

. "$(dirname "$0")/../mock_lib.sh"

[ -x "$CLAY_HARNESS" ] || {
    not_ok "no clay-harness at $CLAY_HARNESS"
    finish
}

# codes URL N [curl args]: N PUTs over one connection; prints one status per line.
put_many() {
    local prefix=$1 n=$2 i args=()
    shift 2
    for ((i = 0; i < n; i++)); do args+=(-o /dev/null "$prefix$i"); done
    curl -s -w '%{http_code}\n' --max-time 30 -X PUT --data-binary x "$@" "${args[@]}"
}
field() { # field JSON KEY -> the first "KEY":value's value
    grep -o "\"$2\":[^,}]*" <<<"$1" | head -n 1 | cut -d: -f2-
}

# --- a high fail rate: about that fraction of requests is 503, counted as faults ---
start_mock --store-fail-rate 0.5 --seed 42
put_many "$base/bkt/f/" 200 >"$work/run1"
n503=$(grep -c '^503$' "$work/run1")
n200=$(grep -c '^200$' "$work/run1")
[ "$n503" -ge 70 ] && [ "$n503" -le 130 ] && [ $((n200 + n503)) -eq 200 ] &&
    ok "--store-fail-rate 0.5: $n503 of 200 requests are 503" || not_ok "fail rate: $n503 503s, $n200 200s"
stats=$(curl -s "$base/_harness/store/stats")
check "stats count the injected faults" "$n503" "$(field "$stats" injected)"
check "failed writes did not happen" "$n200" "$(field "$stats" objects)"
stop_mock

# --- the same seed, the same faults ---
start_mock --store-fail-rate 0.5 --seed 42
put_many "$base/bkt/f/" 200 >"$work/run2"
stop_mock
cmp -s "$work/run1" "$work/run2" && ok "--seed reproduces the fault sequence" || not_ok "runs with one seed differ"
start_mock --store-fail-rate 0.5 --seed 43
put_many "$base/bkt/f/" 200 >"$work/run3"
stop_mock
cmp -s "$work/run1" "$work/run3" && not_ok "another seed gave the same faults" || ok "another seed, other faults"

# --- ambiguous success: committed, then 503 ---
start_mock --store-ambiguous-rate 1
check "ambiguous create: 503" 503 "$(status PUT "$base/bkt/amb" -H 'x-goog-if-generation-match: 0' --data-binary first)"
check "yet the write happened" first "$(curl -s "$base/bkt/amb")"
check "a retried create-only PUT sees 412" 412 "$(status PUT "$base/bkt/amb" -H 'x-goog-if-generation-match: 0' --data-binary second)"
check "ambiguous delete: 503" 503 "$(status DELETE "$base/bkt/amb")"
check "yet the object is gone" 404 "$(status GET "$base/bkt/amb")"
stats=$(curl -s "$base/_harness/store/stats")
check "ambiguous answers are counted" 2 "$(field "$stats" ambiguous)"

# --- run-time control ---
ctl=$(curl -s -X POST "$base/_harness/store" --data '{"ambiguous_rate":0,"down":true}')
[[ $ctl == *'"ambiguous_rate":0,'*'"down":true}' ]] && ok "POST /_harness/store answers the new settings" || not_ok "control: $ctl"
check "down: a GET is 503" 503 "$(status GET "$base/bkt/any")"
check "down: a list is 503" 503 "$(status GET "$base/bkt?list-type=2")"
check "down: a PUT is 503" 503 "$(status PUT "$base/bkt/x" --data-binary x)"
check "down: nothing was written" '{"objects":[],"count":0}' "$(curl -s "$base/_harness/store/objects?bucket=bkt&prefix=x&summary=1")"
curl -s -o /dev/null -X POST "$base/_harness/store" --data '{"down":false}'
check "up again: 200" 200 "$(status PUT "$base/bkt/x" --data-binary x)"
curl -s -o /dev/null -X POST "$base/_harness/store" --data '{"fail_rate":1}'
check "fail_rate 1: 503" 503 "$(status GET "$base/bkt/x")"
check "DELETE /_harness/store restores the command line (ambiguous 1)" 503 \
    "$(status DELETE "$base/_harness/store" >/dev/null; status PUT "$base/bkt/y" --data-binary y)"
check "an unknown control field: 400" 400 "$(status POST "$base/_harness/store" --data '{"fail_rat":1}')"
check "a rate over 1: 400" 400 "$(status POST "$base/_harness/store" --data '{"fail_rate":1.5}')"
check "not JSON: 400" 400 "$(status POST "$base/_harness/store" --data 'x')"
curl -s -o /dev/null -X POST "$base/_harness/store" --data '{"down":true}'
check "reset restores the command line's faults" 200 \
    "$(status POST "$base/_harness/reset" >/dev/null; status GET "$base/_harness/store")"
check "after reset: not down, ambiguous 1 again" 503 "$(status PUT "$base/bkt/z" --data-binary z)"
stop_mock

# --- latency and spikes ---
start_mock --store-latency-ms 300
t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$base/bkt/missing")
ms=$(awk -v t="${t#* }" 'BEGIN { printf "%d", t * 1000 }')
[ "${t% *}" = 404 ] && [ "$ms" -ge 280 ] && ok "--store-latency-ms 300 delays answers (${ms} ms)" || not_ok "latency: $t"
curl -s -o /dev/null -X POST "$base/_harness/store" --data '{"latency_ms":0,"latency_spike_rate":1,"latency_spike_ms":500}'
t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X PUT --data-binary s "$base/bkt/spiky")
ms=$(awk -v t="${t#* }" 'BEGIN { printf "%d", t * 1000 }')
[ "${t% *}" = 200 ] && [ "$ms" -ge 480 ] && ok "a latency spike (${ms} ms)" || not_ok "spike: $t"
stats=$(curl -s "$base/_harness/store/stats")
check "spikes are counted" 1 "$(field "$stats" latency_spikes)"
# A stop answers delayed requests at once instead of waiting for their latency.
curl -s -o /dev/null -X POST "$base/_harness/store" --data '{"latency_spike_ms":20000}'
curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$base/bkt/spiky" >"$work/slow.code" &
slow_pid=$!
sleep 0.5
start=$(date +%s%N)
kill "$mock_pid"
wait "$mock_pid"
rc=$?
took=$((($(date +%s%N) - start) / 1000000))
wait "$slow_pid"
check "SIGTERM with a delayed answer pending: exit 0" 0 "$rc"
[ "$took" -lt 2000 ] && ok "and it stops promptly (${took} ms)" || not_ok "stop took ${took} ms"
check "the delayed request got its answer" 200 "$(cat "$work/slow.code")"

# --- bad options are usage errors ---
"$CLAY_HARNESS" mock --store-fail-rate 2 >/dev/null 2>"$work/usage.err"
check "--store-fail-rate 2: exit 2" 2 "$?"
grep -q -- "--store-fail-rate" "$work/usage.err" && ok "the message names the option" || not_ok "message: $(cat "$work/usage.err")"
"$CLAY_HARNESS" mock --bogus >/dev/null 2>&1
check "an unknown option: exit 2" 2 "$?"

finish
