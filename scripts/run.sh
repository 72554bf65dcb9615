#!/usr/bin/env bash
# run.sh: build everything, then run clay-function on 0.0.0.0:$PORT (8080) with
# the embedded file store in ./data. Configuration comes from the environment
# (clay-function --help lists it). Without CLAY_WEBHOOK_SECRET a random secret is
# generated for this run and printed, so the service never starts open.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/build.sh"
export STORE_URL=${STORE_URL:-file:./data}
if [ -z "${CLAY_WEBHOOK_SECRET:-}" ] && [ "${ALLOW_UNAUTHENTICATED:-0}" != 1 ]; then
    CLAY_WEBHOOK_SECRET=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    export CLAY_WEBHOOK_SECRET
    echo "run.sh: no CLAY_WEBHOOK_SECRET set; using this one for this run: $CLAY_WEBHOOK_SECRET" >&2
    echo "run.sh: send it as 'X-Clay-Secret: <secret>' (see README)" >&2
fi
exec "${BUILD_DIR:-$here/build}/clay-function" serve
