#!/usr/bin/env bash
# rootfs.sh assembles the minimal root filesystem of the scratch container:
# the stripped binaries, every shared library `ldd` lists (BoringSSL stays in
# /usr/lib/<multiarch>/android, where the binaries' RUNPATH looks), the
# loader, libgcc_s (glibc dlopens it for thread cancellation), the NSS
# modules getaddrinfo may load, the CA bundle, a minimal /etc (passwd and
# group with uid/gid 65532, nsswitch.conf, hosts) and an empty /tmp (1777).
#
#   scripts/rootfs.sh BUILD_DIR OUT_DIR [--with-harness]
#
# Binaries are BUILD_DIR/clay-function and BUILD_DIR/clay-harness, unless the
# environment names them (CLAY_FUNCTION, CLAY_HARNESS, as ctest does).
# OUT_DIR must not exist or be empty (or hold an earlier output of this
# script, which is replaced). Host symlinks (/lib -> usr/lib on merged-/usr
# systems) are recreated as relative links, so the tree resolves the same
# way inside a chroot, inside `FROM scratch`, and when inspected from outside.
# The Dockerfile's build stage and tests/e2e/rootfs_chroot.sh run this script.
set -euo pipefail

usage() {
    echo "usage: $0 BUILD_DIR OUT_DIR [--with-harness]" >&2
    exit 2
}

[ $# -ge 2 ] || usage
BUILD_DIR=$1
OUT_DIR=$2
WITH_HARNESS=0
shift 2
for arg in "$@"; do
    case "$arg" in
    --with-harness) WITH_HARNESS=1 ;;
    *) usage ;;
    esac
done

FUNCTION_BIN=${CLAY_FUNCTION:-$BUILD_DIR/clay-function}
HARNESS_BIN=${CLAY_HARNESS:-$BUILD_DIR/clay-harness}
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
MARKER=.clay-rootfs
RUN_UID=65532

die() {
    echo "rootfs: $*" >&2
    exit 1
}

[ -x "$FUNCTION_BIN" ] || die "$FUNCTION_BIN: not an executable (build first)"
if [ "$WITH_HARNESS" = 1 ]; then
    [ -x "$HARNESS_BIN" ] || die "$HARNESS_BIN: not an executable (build first)"
fi
[ -f "$CA_BUNDLE" ] || die "$CA_BUNDLE missing (install ca-certificates)"
command -v ldd >/dev/null || die "ldd not found"
command -v strip >/dev/null || die "strip not found (install binutils)"

# A fresh output folder: never write into a tree this script did not make.
if [ -e "$OUT_DIR" ]; then
    [ -d "$OUT_DIR" ] && [ ! -L "$OUT_DIR" ] || die "$OUT_DIR exists and is not a directory"
    if [ -n "$(ls -A "$OUT_DIR")" ]; then
        [ -f "$OUT_DIR/$MARKER" ] || die "$OUT_DIR is not empty and was not made by this script"
        rm -rf "${OUT_DIR:?}"/* "${OUT_DIR:?}"/.[!.]* 2>/dev/null || true
    fi
else
    mkdir -p "$OUT_DIR"
fi
ROOT=$(cd "$OUT_DIR" && pwd)
[ "$ROOT" != / ] || die "refusing to assemble into /"
: >"$ROOT/$MARKER"

MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)

# mirror_path makes ROOT/<path> resolve to a copy of the host's <path>:
# directories are created, regular files copied, and every symlink met on the
# way (a parent like /lib or the file itself) is recreated relative and then
# followed, so nothing inside ROOT ever points outside it. Writes happen only
# through real directories this function created.
mirror_path() {
    local path=$1 depth=${2:-0} prefix="" i target abs rest link_dir
    local -a parts
    [ "$depth" -lt 16 ] || die "$1: too many levels of symbolic links"
    case "$path" in /*) ;; *) die "$path: not an absolute path" ;; esac
    IFS=/ read -r -a parts <<<"${path#/}"
    for ((i = 0; i < ${#parts[@]}; i++)); do
        [ -n "${parts[i]}" ] || continue
        prefix="$prefix/${parts[i]}"
        if [ -L "$prefix" ]; then
            target=$(readlink "$prefix")
            link_dir=$(dirname "$prefix")
            case "$target" in
            /*) abs=$(realpath -s -m "$target") ;;
            *) abs=$(realpath -s -m "$link_dir/$target") ;;
            esac
            if [ ! -L "$ROOT$prefix" ] && [ ! -e "$ROOT$prefix" ]; then
                ln -s "$(realpath -s -m --relative-to="$link_dir" "$abs")" "$ROOT$prefix"
            elif [ ! -L "$ROOT$prefix" ]; then
                die "$ROOT$prefix should be a symlink like $prefix"
            fi
            rest=$(
                IFS=/
                echo "${parts[*]:i+1}"
            )
            mirror_path "$abs${rest:+/$rest}" $((depth + 1))
            return
        fi
        if [ -d "$prefix" ]; then
            [ ! -L "$ROOT$prefix" ] || die "$ROOT$prefix is a symlink, $prefix is not"
            mkdir -p "$ROOT$prefix"
        elif [ -f "$prefix" ]; then
            [ $i -eq $((${#parts[@]} - 1)) ] || die "$prefix: a file in the middle of $path"
            [ ! -L "$ROOT$prefix" ] || die "$ROOT$prefix is a symlink, $prefix is not"
            if [ ! -e "$ROOT$prefix" ]; then
                cp --preserve=mode "$prefix" "$ROOT$prefix"
            fi
        else
            die "$prefix: missing on this machine"
        fi
    done
}

# shared_libs prints the libraries and loader ldd lists for a file, one per line.
shared_libs() {
    local out
    out=$(LC_ALL=C ldd "$1" 2>&1) || {
        case "$out" in
        *"not a dynamic executable"* | *"statically linked"*) return 0 ;;
        *) die "ldd $1 failed: $out" ;;
        esac
    }
    if grep -q "not found" <<<"$out"; then
        die "$1: unresolved libraries: $(grep 'not found' <<<"$out" | tr -s '\t\n' '  ')"
    fi
    awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }' <<<"$out"
}

install_binary() {
    local src=$1 name=$2
    strip --strip-all -o "$ROOT/$name" "$src"
    chmod 0755 "$ROOT/$name"
    for lib in $(shared_libs "$src"); do
        mirror_path "$lib"
    done
}

install_binary "$FUNCTION_BIN" clay-function
if [ "$WITH_HARNESS" = 1 ]; then
    install_binary "$HARNESS_BIN" clay-harness
fi

# Loaded with dlopen, so ldd cannot list them: libgcc_s (pthread_exit and
# cancellation unwind through it) and the NSS modules of nsswitch.conf below
# (built into libc since glibc 2.34, where these files are small stubs).
for name in libgcc_s.so.1 libnss_files.so.2 libnss_dns.so.2; do
    for dir in "/lib/$MULTIARCH" "/usr/lib/$MULTIARCH"; do
        if [ -e "$dir/$name" ]; then
            mirror_path "$dir/$name"
            for lib in $(shared_libs "$dir/$name"); do
                mirror_path "$lib"
            done
            break
        fi
    done
done

mirror_path "$CA_BUNDLE"

mkdir -p "$ROOT/etc" "$ROOT/tmp"
chmod 1777 "$ROOT/tmp"
cat >"$ROOT/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:$RUN_UID:$RUN_UID:nonroot:/tmp:/sbin/nologin
EOF
cat >"$ROOT/etc/group" <<EOF
root:x:0:
nonroot:x:$RUN_UID:
EOF
cat >"$ROOT/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
# Container runtimes mount their own /etc/hosts over this one; a chroot uses it.
cat >"$ROOT/etc/hosts" <<'EOF'
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
EOF
chmod 0644 "$ROOT/etc/passwd" "$ROOT/etc/group" "$ROOT/etc/nsswitch.conf" "$ROOT/etc/hosts"

# One TLS library per process: OpenSSL must never be in the image.
if find "$ROOT" \( -name 'libssl.so.3*' -o -name 'libcrypto.so.3*' \) | grep -q .; then
    die "OpenSSL (libssl.so.3/libcrypto.so.3) ended up in the rootfs"
fi
bytes=$(du -sb "$ROOT" | cut -f1)
echo "rootfs: $ROOT: $(find "$ROOT" -type f | wc -l) files, $bytes bytes ($(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB)"
