#!/usr/bin/env bash
# scenarios.sh: every end-to-end scenario of `clay-harness scenario` (duplicate
# storm across 3 instances, sink outage then redrive, SIGTERM under load, kill -9
# then resume, GCS store faults, store down) against the real clay-function.
set -u
exec "$CLAY_HARNESS" scenario --function "$CLAY_FUNCTION" -v
