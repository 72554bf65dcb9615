#!/usr/bin/env bash
# signature_interop.sh: the receiver verifies what the official libraries sign, not only what our own signer
# signs: `standardwebhooks` (webhook-* headers) and `svix` (svix-* headers) from npm sign real requests; each is
# accepted (200), a tampered body or a stale timestamp is refused (401), and the signed message id keys the event
# (a replay under a new Idempotency-Key is a duplicate). The libraries are installed once into .tools/sigs.
. "$(dirname "$0")/../lib.sh"
SIGS="$CW_SOURCE_DIR/.tools/sigs"
PKGS="standardwebhooks@1.0.0 svix@1.40.0"
if [ "$(cat "$SIGS/stamp" 2>/dev/null)" != "$PKGS" ]; then
    mkdir -p "$SIGS"
    # shellcheck disable=SC2086
    npm install --prefix "$SIGS" --no-audit --no-fund --loglevel=error $PKGS >/dev/null || { echo "npm install failed"; exit 1; }
    echo "$PKGS" >"$SIGS/stamp"
fi
SECRET="whsec_$(head -c 24 /dev/urandom | base64)"
start_function sig WORKERS=1 CLAY_WEBHOOK_SECRET="$SECRET" STORE_URL="file:$E2E_TMP/store" || exit 1

NODE_PATH="$SIGS/node_modules" node - "$FN_URL_sig" "$SECRET" <<'JS'
const { Webhook: StdWebhook } = require("standardwebhooks");
const { Webhook: SvixWebhook } = require("svix");
const http = require("http");
const [url, secret] = process.argv.slice(2);
let passed = 0, failed = 0;
const check = (what, ok, detail) => { if (ok) { passed++; console.log("ok - " + what); } else { failed++; console.log("FAIL - " + what + " (" + detail + ")"); } };
function post(headers, body) {
    return new Promise((resolve, reject) => {
        const u = new URL(url + "/api/clay/enriched");
        const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST",
            headers: Object.assign({ "content-type": "application/json", "content-length": Buffer.byteLength(body) }, headers) },
            (res) => { let d = ""; res.on("data", (c) => (d += c)); res.on("end", () => resolve({ status: res.statusCode, body: d })); });
        req.on("error", reject);
        req.end(body);
    });
}
(async () => {
    const run = Date.now();
    for (const [lib, W, prefix] of [["standardwebhooks", StdWebhook, "webhook"], ["svix", SvixWebhook, "svix"]]) {
        const wh = new W(secret);
        const id = `msg_${lib}_${run}`;
        const body = JSON.stringify({ email: `${lib}@example.com`, icp_score: 42, lib });
        const now = new Date();
        const sig = wh.sign(id, now, body);
        const h = { [`${prefix}-id`]: id, [`${prefix}-timestamp`]: String(Math.floor(now.getTime() / 1000)), [`${prefix}-signature`]: sig };
        let r = await post(h, body);
        check(`${lib}: a request it signs is accepted (${r.status})`, r.status === 200 && /"processed"/.test(r.body), r.body);
        r = await post(Object.assign({ "idempotency-key": "another-key" }, h), body);
        check(`${lib}: replayed under a new Idempotency-Key it is a duplicate`, r.status === 200 && /"duplicate"/.test(r.body), r.body);
        r = await post(h, body.replace("42", "43"));
        check(`${lib}: a tampered body is refused (${r.status})`, r.status === 401, r.body);
        const old = new Date(now.getTime() - 3600 * 1000);
        const hs = { [`${prefix}-id`]: id + "_old", [`${prefix}-timestamp`]: String(Math.floor(old.getTime() / 1000)),
                     [`${prefix}-signature`]: wh.sign(id + "_old", old, body) };
        r = await post(hs, body);
        check(`${lib}: a signature an hour old is refused (${r.status})`, r.status === 401, r.body);
    }
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
})().catch((e) => { console.log("FAIL - " + e); console.log(`${passed} passed, ${failed + 1} failed`); process.exit(1); });
JS
