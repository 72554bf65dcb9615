#!/usr/bin/env bash
# tools.sh: the npm-packaged test peers, installed once into .tools/ (ignored):
# Azurite (Microsoft's Azure Storage emulator) for the Azure backend, and
# s3rver for the S3 backend's request paths. Reruns with the stamp current are
# no-ops and need no network. Prints nothing on success.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
TOOLS="$here/.tools"
STAMP="azurite@3.35.0 s3rver@3.7.1"
if [ -f "$TOOLS/stamp-peers" ] && [ "$(cat "$TOOLS/stamp-peers")" = "$STAMP" ] &&
    [ -x "$TOOLS/node_modules/.bin/azurite-blob" ] && [ -x "$TOOLS/node_modules/.bin/s3rver" ]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "tools.sh: npm is missing (scripts/deps.sh installs it)" >&2
    exit 1
fi
mkdir -p "$TOOLS"
# shellcheck disable=SC2086
npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error $STAMP >/dev/null
echo "$STAMP" >"$TOOLS/stamp-peers"
