#!/usr/bin/env bash
# store_round_trips.sh: how many store round trips a callback waits for, and how many
# writes it costs, counted from the GCS emulator's request log (clay-harness mock) with a
# fixed delay on every store answer. Counts, not times: a request sent while another was
# unanswered runs beside it, so the result does not depend on how busy the machine is.
#   new event routed to outreach + zapier: 2 round trips, <= 3 writes
#   new event with no sinks:                1 round trip,  1 write
#   duplicate (either):                    <= 2 round trips, <= 1 write (a refused create counts)
. "$(dirname "$0")/../lib.sh"
DELAY_MS=250
start_mock --store-latency-ms "$DELAY_MS" || exit 1
start_function rt WORKERS=1 CLAY_WEBHOOK_SECRET=s3cret STORE_URL=gs://rt-bucket/rt STORAGE_EMULATOR_HOST="$MOCK_URL" \
    OUTREACH_WEBHOOK_URL="$MOCK_URL/sinks/outreach" ZAPIER_WEBHOOK_URL="$MOCK_URL/sinks/zapier" LEASE_S=30 || exit 1

python3 - "$FN_URL_rt" "$MOCK_URL" "$DELAY_MS" <<'PY'
import json, sys, time, urllib.request

fn, mock, delay_ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
passed = failed = 0

def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

def callback(body, key):
    http("DELETE", mock + "/_harness/store/log")
    t0 = time.time() * 1e6
    status, answer = http("POST", fn + "/api/clay/enriched", json.dumps(body).encode(),
                          {"Content-Type": "application/json", "X-Clay-Secret": "s3cret", "Idempotency-Key": key})
    t1 = time.time() * 1e6
    time.sleep(0.5)  # clean-up after the answer lands in the log too
    log = json.loads(http("GET", mock + "/_harness/store/log")[1])["entries"]
    # What the answer waited for was answered before it: arrival + delay <= the answer. A request sent at the
    # same moment as the answer (the pending/ marker's deletion, clean-up) is not counted.
    before = [e for e in log if t0 <= e["at_us"] and e["at_us"] + e["delay_ms"] * 1000 <= t1]
    # Round trips in sequence: a request depends on every one answered before it arrived (arrival plus
    # the injected delay); requests sent while another was still unanswered run beside it.
    depth = []
    ordered = sorted(before, key=lambda e: e["at_us"])
    for i, e in enumerate(ordered):
        depth.append(1 + max([depth[j] for j in range(i)
                              if ordered[j]["at_us"] + ordered[j]["delay_ms"] * 1000 <= e["at_us"]] or [0]))
    waves = max(depth or [0])
    writes = sum(1 for e in before if e["op"] == "PUT")
    writes_all = sum(1 for e in log if e["op"] == "PUT")
    detail = ", ".join("%s %s %d +%dms" % (e["op"], e["name"].split("/", 2)[-1][:12], e["status"], (e["at_us"] - t0) / 1000)
                       for e in log)
    return status, json.loads(answer), waves, writes, writes_all, detail

def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok - " + what)
    else:
        failed += 1
        print("FAIL - %s (%s)" % (what, detail))

# A first callback opens the connections (store, sinks), so that the measured ones see the steady state:
# a delivery slower than the store delay would look like one more round trip.
callback({"email": "warm@example.com", "icp_score": 85}, "warm-up-" + str(time.time()))
routed = {"email": "ada@example.com", "first_name": "Ada", "company": "Analytical", "icp_score": 85}
skip = {"email": "bob@example.com", "company": "Nobody", "icp_score": 10}
run = str(int(time.time()))
for name, body, key, want_status, want_trips, want_writes in [
        ("new routed (outreach + zapier)", routed, "routed-" + run, "processed", 2, 3),
        ("new sinkless (skip)", skip, "skip-" + run, "processed", 1, 1),
        ("duplicate of the routed event", routed, "routed-" + run, "duplicate", 2, 1),
        ("duplicate of the sinkless event", skip, "skip-" + run, "duplicate", 2, 1)]:
    status, answer, trips, writes, writes_all, detail = callback(body, key)
    print("# %s: HTTP %d %s, %d round trip(s) before the answer, %d write(s) before it, %d in all: %s"
          % (name, status, answer.get("status"), trips, writes, writes_all, detail))
    check(name + ": answered " + want_status, status == 200 and answer.get("status") == want_status, answer)
    if want_status == "processed":
        check("%s: %d round trip(s)" % (name, want_trips), trips == want_trips, trips)
        check("%s: %d write(s) at most" % (name, want_writes), writes_all <= want_writes and writes <= want_writes, writes_all)
    else:
        check("%s: %d round trips at most" % (name, want_trips), trips <= want_trips, trips)
        check("%s: %d write at most" % (name, want_writes), writes_all <= want_writes, writes_all)

ledger = json.loads(http("GET", mock + "/_harness/deliveries?summary=1")[1])
check("each routed sink got each lead once", ledger.get("by_sink", {}).get("outreach") == 2 and ledger.get("by_sink", {}).get("zapier") == 2, ledger)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
