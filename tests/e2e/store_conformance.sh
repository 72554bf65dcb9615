#!/usr/bin/env bash
# store_conformance.sh: one conformance suite (function/store/tests/test_store_conformance.c)
# against every backend CI can run: the file store, GCS through the harness's
# emulator, and Azure Blob through Azurite (Microsoft's emulator, from npm,
# installed by scripts/tools.sh). Processes are stopped by PID.
. "$(dirname "$0")/../lib.sh"
: "${CW_BUILD_DIR:?set by ctest}"
suite="$CW_BUILD_DIR/function_store_test_store_conformance"
azurite="$CW_SOURCE_DIR/.tools/node_modules/.bin/azurite-blob"

start_mock || exit 1
if [ ! -x "$azurite" ]; then
    fail "Azurite is not installed (scripts/tools.sh installs it into .tools)"
    finish
    exit 1
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000)))
mkdir -p "$E2E_TMP/azurite"
(cd "$E2E_TMP/azurite" && exec "$azurite" --blobHost 127.0.0.1 --blobPort "$port" --inMemoryPersistence \
    --skipApiVersionCheck --disableTelemetry --silent) >"$E2E_TMP/azurite.log" 2>&1 &
E2E_PIDS+=("$!")
for _ in $(seq 1 300); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
done
key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$port/devstoreaccount1;"
export AZURE_CREATE_CONTAINER=1
export STORAGE_EMULATOR_HOST="$MOCK_URL"
export CW_CONFORMANCE_STORES="file:$E2E_TMP/file-store gs://conformance-bucket/run azblob://devstoreaccount1/conformance/run"
backends="file gs azblob"
# The file store in memory (tmpfs) runs its operations on the caller's thread without fsync: the same suite.
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && memdir=$(mktemp -d /dev/shm/cw-conformance.XXXXXX 2>/dev/null); then
    trap 'e2e_cleanup; rm -rf "$memdir"' EXIT
    CW_CONFORMANCE_STORES="$CW_CONFORMANCE_STORES file:$memdir"
    backends="$backends file-in-memory"
else
    echo "  (no writable tmpfs at /dev/shm: the in-memory file store is not run)"
fi

out=$("$suite" 2>&1)
rc=$?
printf '%s\n' "$out" | grep -E '^\[ *(RUN|OK|FAILED|PASSED|ERROR)' | sed 's/^/  /'
for backend in $backends; do
    if [ $rc -eq 0 ]; then pass "conformance suite on $backend"; else fail "conformance suite on $backend (see above)"; fi
done
[ $rc -eq 0 ] || printf '%s\n' "$out" | tail -30
finish
