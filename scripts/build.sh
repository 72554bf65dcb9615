#!/usr/bin/env bash
# build.sh: dependencies (scripts/deps.sh, once) then the project into build/.
#   scripts/build.sh [extra cmake args]     e.g. -DCW_SANITIZE=ON with BUILD_DIR=build-asan
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$here/build}
"$here/scripts/deps.sh"
cmake -S "$here" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc 2>/dev/null || echo 2)" 2>&1 | grep -vE '^\[ *[0-9]+%\]|^-- ' || true
test -x "$BUILD_DIR/clay-function" && test -x "$BUILD_DIR/clay-harness"
