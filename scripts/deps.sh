#!/usr/bin/env bash
# deps.sh installs the Debian packages the project needs and builds the two
# dependencies Debian only ships linked against OpenSSL (libh2o 2.2.5, libcurl
# 7.88.1) from Debian's own source packages against Debian's BoringSSL.
#
# Output goes to $DEPS_DIR (default .deps/ beside this script's repo); a version
# stamp makes reruns a no-op. The Dockerfile's build stage runs this same script.
#
#   scripts/deps.sh            packages + source builds
#   scripts/deps.sh --check    exit 0 if the stamp is current, 1 otherwise
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
DEPS_DIR=${DEPS_DIR:-$here/.deps}
STAMP_VERSION="h2o-2.2.5+curl-7.88.1+boringssl-android/6"
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

PACKAGES=(
    build-essential cmake pkg-config dpkg-dev ca-certificates git
    android-libboringssl-dev libcjson-dev libcmocka-dev libnghttp2-dev zlib1g-dev
    libyaml-dev
    clang libclang-rt-14-dev clang-format valgrind wrk curl python3 util-linux tmux
)
# The build stage of the Dockerfile needs only the compilers and libraries.
if [ "${DEPS_MINIMAL:-0}" = 1 ]; then
    PACKAGES=(build-essential cmake pkg-config dpkg-dev ca-certificates
        android-libboringssl-dev libcjson-dev libcmocka-dev libnghttp2-dev zlib1g-dev libyaml-dev)
fi

stamp_ok() {
    [ -f "$DEPS_DIR/stamp" ] && [ "$(cat "$DEPS_DIR/stamp")" = "$STAMP_VERSION" ] &&
        [ -f "$DEPS_DIR/lib/libh2o-evloop.a" ] && [ -f "$DEPS_DIR/lib/libcurl.a" ]
}

if [ "${1:-}" = "--check" ]; then
    stamp_ok && exit 0 || exit 1
fi

# write_manifest records in $DEPS_DIR/manifest what .deps/ was built from, for
# scripts/sbom.sh and the weekly rebuild: the Debian source packages built here
# (name and version from the .dsc files in $1) and the source and binary
# versions of the Debian libraries the binaries link (and libyaml, a build
# dependency of h2o). Tab-separated: kind, source package, source version,
# binary package, binary version. $2 says how the .dsc files were known.
MANIFEST_LIBS=(android-libboringssl libcjson1 libnghttp2-14 zlib1g libc6 libgcc-s1 libstdc++6 libyaml-0-2)
write_manifest() {
    local dsc_dir=$1 how=$2 tmp="$DEPS_DIR/manifest.tmp" dsc
    {
        echo "# what scripts/deps.sh built .deps/ from ($how); read by scripts/sbom.sh"
        printf 'meta\tstamp\t%s\t-\t-\n' "$STAMP_VERSION"
        printf 'meta\tarch\t%s\t-\t-\n' "$(dpkg --print-architecture)"
        printf 'meta\tdistro\tdebian-%s\t-\t-\n' "$(. /etc/os-release && echo "${VERSION_ID:-unknown}")"
        for dsc in "$dsc_dir"/h2o_*.dsc "$dsc_dir"/curl_*.dsc; do
            printf 'built\t%s\t%s\t-\t-\n' "$(sed -n 's/^Source: //p' "$dsc")" "$(sed -n 's/^Version: //p' "$dsc")"
        done
        dpkg-query -W -f='${source:Package}\t${source:Version}\t${Package}\t${Version}\n' "${MANIFEST_LIBS[@]}" |
            awk -F'\t' '{ print ($3 == "libyaml-0-2" ? "build" : "linked") "\t" $0 }'
    } >"$tmp" && [ "$(grep -c '^built' "$tmp")" = 2 ] && mv "$tmp" "$DEPS_DIR/manifest"
}

# backfill_manifest writes the manifest of a .deps/ built before deps.sh wrote
# one, only when that is still exact: apt's source lists are older than the
# stamp, so `apt-get source` would pick the very .dsc versions it built from.
backfill_manifest() {
    local lists tmp
    lists=$(find /var/lib/apt/lists -maxdepth 1 -name '*Sources*' -newer "$DEPS_DIR/stamp" 2>/dev/null | head -1)
    if [ -n "$lists" ] || ! ls /var/lib/apt/lists/*Sources* >/dev/null 2>&1; then
        echo "deps: $DEPS_DIR has no manifest and apt's source lists changed since it was built: rm -rf $DEPS_DIR and rerun to record one" >&2
        return 0
    fi
    tmp=$(mktemp -d)
    apt-get source --print-uris -qq h2o curl 2>/dev/null | awk '$2 ~ /\.dsc$/ { print $2 }' | while read -r name; do
        printf 'Source: %s\nVersion: %s\n' "${name%%_*}" "$(basename "${name#*_}" .dsc)" >"$tmp/$name"
    done
    write_manifest "$tmp" "recorded after the build: apt's source lists unchanged since" || true
    rm -rf "$tmp"
}

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# Packages: install only what is missing, so a rerun on a ready machine is quick
# and works without the network.
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

# A deb-src entry derived from the machine's own apt sources (never a host name
# written here): every deb822 "Types: deb" stanza is copied with Types deb-src.
ensure_deb_src() {
    local f=/etc/apt/sources.list.d/clay-webhooks-src.sources
    [ -f "$f" ] && return 0
    if grep -rqsE '^Types:.*deb-src' /etc/apt/sources.list.d/ ||
        grep -qsE '^deb-src ' /etc/apt/sources.list; then
        return 0
    fi
    local tmp
    tmp=$(mktemp)
    if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
        for s in /etc/apt/sources.list.d/*.sources; do
            awk 'BEGIN{RS="";ORS="\n\n"} /(^|\n)Types:[^\n]*deb([ \n]|$)/ {sub(/Types:[^\n]*/,"Types: deb-src"); print}' "$s" >>"$tmp"
        done
    fi
    if [ -f /etc/apt/sources.list ]; then
        grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' >"$tmp.list" || true
        [ -s "$tmp.list" ] && $SUDO cp "$tmp.list" /etc/apt/sources.list.d/clay-webhooks-src.list
        rm -f "$tmp.list"
    fi
    [ -s "$tmp" ] && $SUDO cp "$tmp" "$f"
    rm -f "$tmp"
    NEED_UPDATE=1
}

# Node.js and npm (Azurite, linters, the Express reference) may come from another
# packaging already; install Debian's only when no npm is on the PATH.
if [ "${DEPS_MINIMAL:-0}" != 1 ] && ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi

NEED_UPDATE=0
if ! stamp_ok; then
    ensure_deb_src
fi
if [ ${#missing[@]} -gt 0 ] || [ "$NEED_UPDATE" = 1 ]; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    if [ ${#missing[@]} -gt 0 ]; then
        echo "deps: installing ${missing[*]}" >&2
        $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi

# One build at a time: parallel builds (CI jobs, several build folders) would
# otherwise delete each other's half-built tree.
exec 9>"$DEPS_DIR.lock"
flock 9
if stamp_ok; then
    [ -f "$DEPS_DIR/manifest" ] || backfill_manifest
    exit 0
fi

ANDROID_LIB=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/android
SRC="$DEPS_DIR/src"
rm -rf "$DEPS_DIR"
mkdir -p "$SRC" "$DEPS_DIR/lib" "$DEPS_DIR/include" "$DEPS_DIR/ssl/include" "$DEPS_DIR/ssl/lib"

# curl's configure wants one prefix with include/openssl and lib/libssl: a
# folder of links pointing at BoringSSL.
ln -sfn /usr/include/android/openssl "$DEPS_DIR/ssl/include/openssl"
ln -sfn "$ANDROID_LIB/libssl.so" "$DEPS_DIR/ssl/lib/libssl.so"
ln -sfn "$ANDROID_LIB/libcrypto.so" "$DEPS_DIR/ssl/lib/libcrypto.so"

cd "$SRC"
echo "deps: fetching Debian sources of h2o and curl" >&2
apt-get source -qq --download-only h2o curl >/dev/null
dpkg-source -q -x h2o_*.dsc h2o >/dev/null
dpkg-source -q -x curl_*.dsc curl >/dev/null

# h2o answers some request errors itself, before any handler runs (a body over
# the size cap is refused before it is buffered). Word those answers as our
# JSON errors: the bodies become {"error":...} and such bodies go out as
# application/json. Each edit is checked, so a changed source fails loudly.
patch_h2o() {
    local http1=h2o/lib/http1.c request=h2o/lib/core/request.c
    sed -i 's|"request entity is too large"|"{\\"error\\":\\"too_large\\",\\"detail\\":\\"the request body exceeds MAX_BODY_BYTES\\"}"|g' "$http1"
    sed -i 's|"broken chunked-encoding"|"{\\"error\\":\\"bad_request\\",\\"detail\\":\\"broken chunked encoding\\"}"|; s|"unknown transfer-encoding"|"{\\"error\\":\\"bad_request\\",\\"detail\\":\\"unknown transfer-encoding\\"}"|; s|"broken content-length header"|"{\\"error\\":\\"bad_request\\",\\"detail\\":\\"broken content-length header\\"}"|' "$http1"
    sed -i 's|H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/plain; charset=utf-8"));|H2O_TOKEN_CONTENT_TYPE, NULL, body[0] == \x27{\x27 ? "application/json" : "text/plain; charset=utf-8", body[0] == \x27{\x27 ? sizeof("application/json") - 1 : sizeof("text/plain; charset=utf-8") - 1);|' "$request"
    [ "$(grep -c '\\"too_large\\"' "$http1")" = 2 ] && grep -q 'body\[0\] == .{. ? "application/json"' "$request" ||
        { echo "deps: patching h2o's error bodies failed (source changed?)" >&2; exit 1; }
}
patch_h2o

echo "deps: building libh2o-evloop against BoringSSL" >&2
(
    cd h2o
    mkdir -p build && cd build
    cmake .. -DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
        -DCMAKE_C_FLAGS="-D_GNU_SOURCE -DH2O_USE_LIBUV=0 -fPIC -fno-omit-frame-pointer" \
        -DOPENSSL_INCLUDE_DIR=/usr/include/android \
        -DOPENSSL_SSL_LIBRARY="$ANDROID_LIB/libssl.so" \
        -DOPENSSL_CRYPTO_LIBRARY="$ANDROID_LIB/libcrypto.so" \
        -DWITH_MRUBY=OFF -DWITH_BUNDLED_SSL=OFF -DWITHOUT_LIBS=OFF >build.log 2>&1
    make -j"$JOBS" libh2o-evloop >>build.log 2>&1 || { tail -40 build.log; exit 1; }
    cp libh2o-evloop.a "$DEPS_DIR/lib/"
    cp -r ../include/* "$DEPS_DIR/include/"
    # Headers h2o.h pulls in from its bundled deps (picohttpparser, yoml, klib).
    cp ../deps/picohttpparser/picohttpparser.h ../deps/yoml/yoml.h ../deps/klib/khash.h "$DEPS_DIR/include/"
)

echo "deps: building static libcurl against BoringSSL" >&2
(
    cd curl
    [ -f configure ] || autoreconf -fi >/dev/null 2>&1
    ./configure --prefix="$DEPS_DIR" --disable-shared --enable-static --with-pic \
        --with-openssl="$DEPS_DIR/ssl" --with-nghttp2 --with-zlib \
        --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
        --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp \
        --disable-gopher --disable-mqtt --disable-manual --disable-docs --disable-ntlm-wb \
        --without-libssh2 --without-libssh --without-librtmp --without-libidn2 --without-libpsl \
        --without-brotli --without-zstd --without-gssapi --without-libgsasl \
        --disable-alt-svc --disable-hsts --enable-ipv6 --without-ca-path \
        --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt \
        LDFLAGS="-Wl,-rpath,$ANDROID_LIB" >configure.log 2>&1 || { tail -40 configure.log; exit 1; }
    make -j"$JOBS" -C lib >build.log 2>&1 || { tail -40 build.log; exit 1; }
    make -C lib install >>build.log 2>&1
    make -C include install >>build.log 2>&1
)

rm -rf "$SRC"
echo "$STAMP_VERSION" >"$DEPS_DIR/stamp"
echo "deps: ready in $DEPS_DIR" >&2
write_manifest "$SRC" "recorded at build time" || { echo "deps: could not write $DEPS_DIR/manifest" >&2; exit 1; }
