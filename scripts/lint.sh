#!/usr/bin/env bash
# lint.sh: the source checks a tool can hold (STYLE.md, "Tests and tools").
#   scripts/lint.sh format   clang-format --dry-run -Werror over every tracked *.c/*.h under
#                            lib function harness fuzz bench (.clang-format at the top)
#   scripts/lint.sh banned   no call of the functions curl bans (and STYLE.md names) in any
#                            tracked *.c/*.h; snprintf/vsnprintf/strtol are the replacements
# ctest runs both (lint/format, lint/banned); `cmake --build build --target format-check` runs
# the first. Exit 0 when clean, 1 with the offending lines, 2 when a tool is missing.
# Outside a git checkout (an exported tarball), the files are found with find instead.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

banned='sprintf|strcpy|strcat|atoi|strtok|gets'

sources() {
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z -- "$@"
    else
        local dirs=() p
        for p in "$@"; do
            p=${p%%/\**}
            [ -d "$p" ] && dirs+=("$p")
        done
        [ ${#dirs[@]} -eq 0 ] || find "${dirs[@]}" -type f \( -name '*.c' -o -name '*.h' \) -print0
    fi
}

case "${1:-}" in
format)
    cf=${CLANG_FORMAT:-clang-format}
    if ! command -v "$cf" >/dev/null 2>&1; then
        echo "lint.sh: $cf not found (apt-get install clang-format)" >&2
        exit 2
    fi
    files=()
    while IFS= read -r -d '' f; do
        [ -f "$f" ] && files+=("$f") # a tracked file deleted in the work tree is not a violation
    done < <(sources 'lib/*.[ch]' 'function/*.[ch]' 'harness/*.[ch]' 'fuzz/*.[ch]' 'bench/*.[ch]')
    if [ ${#files[@]} -eq 0 ]; then
        echo "lint.sh: no C sources found under lib function harness fuzz bench" >&2
        exit 2
    fi
    if ! out=$("$cf" --dry-run -Werror "${files[@]}" 2>&1); then
        printf '%s\n' "$out" | grep -E '^[^ ].*(error|warning):' | sed 's/ \[-Wclang-format-violations\]//' || true
        echo "lint.sh: the files above are not clang-formatted: run clang-format -i on them" >&2
        exit 1
    fi
    echo "format: ${#files[@]} files clean"
    ;;
banned)
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        hits=$(git grep -nwE "$banned" -- '*.c' '*.h' || true)
    else
        hits=$(grep -rnwE --include='*.c' --include='*.h' "$banned" lib function harness fuzz bench 2>/dev/null || true)
    fi
    if [ -n "$hits" ]; then
        printf '%s\n' "$hits"
        echo "lint.sh: banned functions (or those words in comments) above: use snprintf, memcpy with a length, strtol with checks" >&2
        exit 1
    fi
    echo "banned: none of $banned"
    ;;
*)
    echo "usage: scripts/lint.sh format|banned" >&2
    exit 2
    ;;
esac
