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
STAMP_VERSION="h2o-2.2.5+curl-7.88.1+boringssl-android/10" # /9: the h2o hooks patch (issue 16); /10: the bounds patch (issue 12 point 2)
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

PACKAGES=(
    build-essential cmake pkg-config dpkg-dev patch ca-certificates git
    android-libboringssl-dev libcjson-dev libcmocka-dev libnghttp2-dev zlib1g-dev
    libyaml-dev
    clang libclang-rt-14-dev clang-format valgrind wrk curl python3 util-linux tmux
    prometheus # promtool: e2e/metrics_scrape checks /metrics with `promtool check metrics`
)
# The build stage of the Dockerfile needs only the compilers and libraries.
if [ "${DEPS_MINIMAL:-0}" = 1 ]; then
    PACKAGES=(build-essential cmake pkg-config dpkg-dev patch ca-certificates
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

# Refuse before buffering (issue 16): h2o 2.2.5 reads a whole request body before any handler runs and offers no
# hook to an embedding application. This patch adds two, both NULL (stock behaviour) unless the application sets
# them in h2o_globalconf_t.cw: on_req_headers (once the headers of a request with a body are parsed, before the body
# is read; it may skip the body) and on_req_body_bytes (an accounting point where body bytes are buffered, which may
# pause the body: HTTP/1 stops reading the socket, HTTP/2 withholds the stream's WINDOW_UPDATE). Socket reads are
# capped at 64 KiB per readiness event so a pause takes effect within 64 KiB, and HTTP/2 advertises a 32 KiB
# initial stream window instead of 16 MiB (which let a whole body in unasked). Every hunk says "clay-webhooks"; the
# serving core (lib/server.c) is the only user.
patch_h2o_hooks() {
    patch -s -p1 -d h2o <<'PATCH' || { echo "deps: the h2o hooks patch does not apply (source changed?)" >&2; exit 1; }
--- h2o.orig/include/h2o.h
+++ h2o/include/h2o.h
@@ -323,6 +323,20 @@
      */
     size_t max_request_entity_size;
     /**
+     * clay-webhooks (scripts/deps.sh): hooks for an embedding application; all NULL (stock behaviour) by default.
+     * on_req_headers runs once a request announcing a body (HTTP/1 Content-Length or chunked, HTTP/2 HEADERS without
+     * END_STREAM) has its headers parsed, with req->hostconf and req->pathconf bound, before any body byte is consumed.
+     * |content_length| is SIZE_MAX when not declared. Returns 0 to read the body, or non-zero to skip it: the request then
+     * goes to its handler at once without a body (entity.base == NULL), on HTTP/1 with the connection closed afterwards.
+     * on_req_body_bytes reports |delta| more bytes buffered (> 0) for a body not yet handed to a handler, or releases them
+     * (< 0) when the request is handed over or dropped. A non-zero return (to a positive delta) pauses reading that body
+     * (HTTP/1: the socket; HTTP/2: the stream's WINDOW_UPDATE) until the application calls req->cw_body.resume(req).
+     */
+    struct {
+        int (*on_req_headers)(h2o_req_t *req, size_t content_length);
+        int (*on_req_body_bytes)(h2o_req_t *req, ssize_t delta);
+    } cw;
+    /**
      * maximum count for delegations
      */
     unsigned max_delegations;
@@ -1068,6 +1082,15 @@
     size_t _next_filter_index;
     h2o_timeout_entry_t _timeout_entry;
     /* per-request memory pool (placed at the last since the structure is large) */
+    /**
+     * clay-webhooks (scripts/deps.sh): body accounting for globalconf->cw (zeroed by h2o_init_request)
+     */
+    struct {
+        size_t buffered;                /* bytes reported to on_req_body_bytes and not released */
+        void (*resume)(h2o_req_t *req); /* non-NULL while reading the body is paused */
+        void *data;                     /* the application's, may be NULL */
+        int refused;                    /* on_req_headers refused the body: it is dropped unread */
+    } cw_body;
     h2o_mem_pool_t pool;
 };
 
@@ -1220,6 +1243,18 @@
  */
 void h2o_process_request(h2o_req_t *req);
 /**
+ * clay-webhooks: runs globalconf->cw.on_req_headers (if set) after binding the request's conf; returns its answer or 0
+ */
+int h2o_cw_req_headers(h2o_req_t *req, size_t content_length);
+/**
+ * clay-webhooks: reports that |total| body bytes are buffered for |req|; returns non-zero when reading should pause
+ */
+int h2o_cw_body_buffered(h2o_req_t *req, size_t total);
+/**
+ * clay-webhooks: releases the bytes reported for |req| (handed over or dropped) and forgets a pause
+ */
+void h2o_cw_body_release(h2o_req_t *req);
+/**
  * delegates the request to the next handler; called asynchronously by handlers that returned zero from `on_req`
  */
 void h2o_delegate_request(h2o_req_t *req, h2o_handler_t *current_handler);
--- h2o.orig/lib/common/socket/evloop.c.h
+++ h2o/lib/common/socket/evloop.c.h
@@ -113,6 +113,8 @@
 static const char *on_read_core(int fd, h2o_buffer_t **input)
 {
     int read_any = 0;
+    size_t total_read = 0; /* clay-webhooks: at most 64 KiB per readiness event (epoll is level-triggered: the rest
+                            * is read on the next turn), so body accounting sees every 64 KiB and can pause in time */
 
     while (1) {
         ssize_t rret;
@@ -121,6 +123,8 @@
             /* memory allocation failed */
             return h2o_socket_error_out_of_memory;
         }
+        if (buf.len > 65536)
+            buf.len = 65536; /* clay-webhooks: see total_read */
         while ((rret = read(fd, buf.base, buf.len <= INT_MAX / 2 ? buf.len : INT_MAX / 2 + 1)) == -1 && errno == EINTR)
             ;
         if (rret == -1) {
@@ -137,6 +141,8 @@
         if (buf.len != rret)
             break;
         read_any = 1;
+        if ((total_read += rret) >= 65536)
+            break;
     }
     return NULL;
 }
--- h2o.orig/lib/core/request.c
+++ h2o/lib/core/request.c
@@ -156,6 +156,53 @@
     h2o_send_error_404(req, "File Not Found", "not found", 0);
 }
 
+/* clay-webhooks: the pathconf selection of process_hosted_request, shared with h2o_cw_req_headers */
+static h2o_pathconf_t *select_pathconf(h2o_req_t *req, h2o_hostconf_t *hostconf)
+{
+    size_t i;
+    for (i = 0; i != hostconf->paths.size; ++i) {
+        h2o_pathconf_t *candidate = hostconf->paths.entries + i;
+        if (req->path_normalized.len >= candidate->path.len &&
+            memcmp(req->path_normalized.base, candidate->path.base, candidate->path.len) == 0 &&
+            (candidate->path.base[candidate->path.len - 1] == '/' || req->path_normalized.len == candidate->path.len ||
+             req->path_normalized.base[candidate->path.len] == '/'))
+            return candidate;
+    }
+    return &hostconf->fallback_path;
+}
+
+int h2o_cw_req_headers(h2o_req_t *req, size_t content_length)
+{
+    int (*cb)(h2o_req_t *, size_t) = req->conn->ctx->globalconf->cw.on_req_headers;
+    h2o_hostconf_t *hostconf;
+    if (cb == NULL)
+        return 0;
+    hostconf = setup_before_processing(req);
+    h2o_req_bind_conf(req, hostconf, select_pathconf(req, hostconf));
+    return cb(req, content_length);
+}
+
+int h2o_cw_body_buffered(h2o_req_t *req, size_t total)
+{
+    int (*cb)(h2o_req_t *, ssize_t) = req->conn->ctx->globalconf->cw.on_req_body_bytes;
+    ssize_t delta;
+    if (cb == NULL || total <= req->cw_body.buffered)
+        return 0;
+    delta = (ssize_t)(total - req->cw_body.buffered);
+    req->cw_body.buffered = total;
+    return cb(req, delta);
+}
+
+void h2o_cw_body_release(h2o_req_t *req)
+{
+    int (*cb)(h2o_req_t *, ssize_t) = req->conn->ctx->globalconf->cw.on_req_body_bytes;
+    size_t buffered = req->cw_body.buffered;
+    req->cw_body.resume = NULL;
+    req->cw_body.buffered = 0;
+    if (cb != NULL && buffered != 0)
+        cb(req, -(ssize_t)buffered);
+}
+
 static void process_hosted_request(h2o_req_t *req, h2o_hostconf_t *hostconf)
 {
     h2o_pathconf_t *selected_pathconf = &hostconf->fallback_path;
@@ -289,6 +336,10 @@
 
     h2o_timeout_unlink(&req->_timeout_entry);
 
+    /* clay-webhooks: a body dropped before its handler ran gives its bytes back */
+    if (req->conn != NULL)
+        h2o_cw_body_release(req);
+
     if (req->version != 0 && req->pathconf != NULL) {
         h2o_logger_t **logger = req->pathconf->loggers.entries, **end = logger + req->pathconf->loggers.size;
         for (; logger != end; ++logger) {
--- h2o.orig/lib/http1.c
+++ h2o/lib/http1.c
@@ -132,6 +132,24 @@
     }
 }
 
+/* clay-webhooks: resumes reading a body paused by globalconf->cw.on_req_body_bytes */
+static void cw_resume_body(h2o_req_t *req)
+{
+    struct st_h2o_http1_conn_t *conn = H2O_STRUCT_FROM_MEMBER(struct st_h2o_http1_conn_t, req, req);
+    req->cw_body.resume = NULL;
+    if (conn->_req_entity_reader != NULL)
+        h2o_socket_read_start(conn->sock, reqread_on_read);
+}
+
+/* clay-webhooks: reports the body bytes buffered so far (|body_bytes|); pauses reading when the application says so */
+static void cw_account_body(struct st_h2o_http1_conn_t *conn, size_t body_bytes)
+{
+    if (h2o_cw_body_buffered(&conn->req, body_bytes) && conn->req.cw_body.resume == NULL) {
+        conn->req.cw_body.resume = cw_resume_body;
+        h2o_socket_read_stop(conn->sock);
+    }
+}
+
 static void process_request(struct st_h2o_http1_conn_t *conn)
 {
     if (conn->sock->ssl == NULL && conn->req.upgrade.base != NULL && conn->super.ctx->globalconf->http1.upgrade_to_http2 &&
@@ -165,6 +183,7 @@
     conn->_req_entity_reader = NULL;
     set_timeout(conn, NULL, NULL);
     h2o_socket_read_stop(conn->sock);
+    h2o_cw_body_release(&conn->req); /* clay-webhooks: handed over */
     process_request(conn);
 }
 
@@ -188,6 +207,7 @@
     if (ret < 0) {
         if (ret == -2) {
             /* incomplete */
+            cw_account_body(conn, inbuf->size - conn->_reqsize); /* clay-webhooks */
             return;
         }
         /* error */
@@ -220,8 +240,11 @@
     struct st_h2o_http1_content_length_entity_reader *reader = (void *)conn->_req_entity_reader;
 
     /* wait until: reqsize == conn->_input.size */
-    if (conn->sock->input->size < conn->_reqsize)
+    if (conn->sock->input->size < conn->_reqsize) {
+        /* clay-webhooks */
+        cw_account_body(conn, conn->sock->input->size - (conn->_reqsize - reader->content_length));
         return;
+    }
 
     /* all input has arrived */
     conn->req.entity = h2o_iovec_init(conn->sock->input->bytes + conn->_reqsize - reader->content_length, reader->content_length);
@@ -454,6 +477,20 @@
             if (create_entity_reader(conn, headers + entity_body_header_index) != 0) {
                 return;
             }
+            /* clay-webhooks: the application may refuse the body from the headers alone; the request then goes to its
+             * handler without a body, and the connection closes after the response (the body is never read) */
+            if (h2o_cw_req_headers(&conn->req, conn->_req_entity_reader->handle_incoming_entity == handle_chunked_entity_read
+                                                   ? SIZE_MAX
+                                                   : ((struct st_h2o_http1_content_length_entity_reader *)conn->_req_entity_reader)
+                                                         ->content_length) != 0) {
+                conn->req.http1_is_persistent = 0;
+                conn->req.upgrade = h2o_iovec_init(NULL, 0);
+                conn->_req_entity_reader = NULL;
+                set_timeout(conn, NULL, NULL);
+                h2o_socket_read_stop(conn->sock);
+                process_request(conn);
+                return;
+            }
             if (expect.base != NULL) {
                 static const h2o_iovec_t res = {H2O_STRLIT("HTTP/1.1 100 Continue\r\n\r\n")};
                 h2o_socket_write(conn->sock, (void *)&res, 1, on_continue_sent);
--- h2o.orig/lib/http2/connection.c
+++ h2o/lib/http2/connection.c
@@ -39,7 +39,8 @@
     4096,     /* header_table_size */
     0,        /* enable_push (clients are never allowed to initiate server push; RFC 7540 Section 8.2) */
     100,      /* max_concurrent_streams */
-    16777216, /* initial_window_size */
+    32768,    /* initial_window_size (clay-webhooks: 32 KiB instead of 16 MiB, so withholding a stream's WINDOW_UPDATE
+               * holds its body back within 32 KiB; 16 MiB let any body in unasked) */
     16384     /* max_frame_size */
 };
 
@@ -50,7 +51,7 @@
                                                          "\x00\x03"
                                                          "\x00\x00\x00\x64" /* max_concurrent_streams = 100 */
                                                          "\x00\x04"
-                                                         "\x01\x00\x00\x00" /* initial_window_size = 16777216 */
+                                                         "\x00\x00\x80\x00" /* initial_window_size = 32768 (clay-webhooks) */
                                                          )};
 
 static __thread h2o_buffer_prototype_t wbuf_buffer_prototype = {{16}, {H2O_HTTP2_DEFAULT_OUTBUF_SIZE}};
@@ -199,6 +200,7 @@
     }
 
     h2o_http2_stream_set_state(conn, stream, H2O_HTTP2_STREAM_STATE_REQ_PENDING);
+    h2o_cw_body_release(&stream->req); /* clay-webhooks: handed over */
 
     /* TODO schedule the pending reqs using the scheduler */
     h2o_linklist_insert(&conn->_pending_reqs, &stream->_refs.link);
@@ -373,6 +375,14 @@
         return 0;
     }
 
+    /* clay-webhooks: the application may refuse the body from the headers alone; the request then runs at once without
+     * a body, and DATA the client still sends meets RST_STREAM (STREAM_CLOSED) once the response ended the stream */
+    if (stream->_req_body != NULL && h2o_cw_req_headers(&stream->req, stream->_expected_content_length) != 0) {
+        h2o_buffer_dispose(&stream->_req_body);
+        stream->_req_body = NULL;
+        stream->req.cw_body.refused = 1;
+    }
+
     if (stream->_req_body == NULL) {
         execute_or_enqueue_request(conn, stream);
     } else {
@@ -496,6 +506,16 @@
     }
 }
 
+/* clay-webhooks: a paused stream receives the WINDOW_UPDATE it was denied */
+static void cw_resume_stream(h2o_req_t *req)
+{
+    h2o_http2_stream_t *stream = H2O_STRUCT_FROM_MEMBER(h2o_http2_stream_t, req, req);
+    h2o_http2_conn_t *conn = (h2o_http2_conn_t *)req->conn;
+    req->cw_body.resume = NULL;
+    if (conn->state < H2O_HTTP2_CONN_STATE_IS_CLOSING && stream->state == H2O_HTTP2_STREAM_STATE_RECV_BODY)
+        update_input_window(conn, stream->stream_id, &stream->input_window, 0);
+}
+
 static int handle_data_frame(h2o_http2_conn_t *conn, h2o_http2_frame_t *frame, const char **err_desc)
 {
     h2o_http2_data_payload_t payload;
@@ -518,6 +538,10 @@
             *err_desc = "invalid DATA frame";
             return H2O_HTTP2_ERROR_PROTOCOL;
         }
+    } else if (stream->state != H2O_HTTP2_STREAM_STATE_RECV_BODY && stream->req.cw_body.refused) {
+        /* clay-webhooks: the body of a refused request is dropped unread; an RST_STREAM now could overtake the
+         * answer still queued for it (DATA after the stream closed meets RST_STREAM below, after the answer) */
+        stream = NULL;
     } else if (stream->state != H2O_HTTP2_STREAM_STATE_RECV_BODY) {
         stream_send_error(conn, frame->stream_id, H2O_HTTP2_ERROR_STREAM_CLOSED);
         h2o_http2_stream_reset(conn, stream);
@@ -547,8 +571,16 @@
 
     /* consume buffer (and set window_update) */
     update_input_window(conn, 0, &conn->_input_window, frame->length);
-    if (stream != NULL)
-        update_input_window(conn, stream->stream_id, &stream->input_window, frame->length);
+    if (stream != NULL) {
+        /* clay-webhooks: over the application's budget, the stream's window is consumed but not replenished (the
+         * connection's still is, so other streams go on) until req->cw_body.resume */
+        if (h2o_cw_body_buffered(&stream->req, stream->_req_body->size) && stream->req.cw_body.resume == NULL)
+            stream->req.cw_body.resume = cw_resume_stream;
+        if (stream->req.cw_body.resume != NULL)
+            h2o_http2_window_consume_window(&stream->input_window, frame->length);
+        else
+            update_input_window(conn, stream->stream_id, &stream->input_window, frame->length);
+    }
 
     return 0;
 }
PATCH
}
patch_h2o_hooks

# Bounds on connections and requests (issue 12 point 2), on top of the hooks above; every hunk says "clay-webhooks":
# - HTTP/2 advertises and enforces SETTINGS_MAX_CONCURRENT_STREAMS = 16 instead of 100 (the 17th open stream of a
#   connection gets RST_STREAM REFUSED_STREAM);
# - a whole-request deadline for HTTP/2 (http2.cw_request_timeout): h2o 2.2.5 only had an idle timer that every read
#   resets, so a stream trickling its body (or a paused one) lived as long as its connection; now a stream not handed to
#   a handler within the deadline of its HEADERS frame is reset (CANCEL). HTTP/1's req_timeout already runs once from the
#   start of a request (headers + body) and is not reset by reads;
# - at most H2O_MAX_HEADERS (100) header fields per request: HTTP/1 answers 431 where picohttpparser ran out of its
#   100-entry array (it used to be a 400), HTTP/2 counts fields while decoding HPACK (the block is still decoded whole so
#   the dynamic table stays in step, extra fields are not kept) and answers 431 on the stream;
# - a Rapid Reset budget (CVE-2023-44487; h2o fixed it upstream after 2.2.5 with dos_mitigation.reset_budget): a peer's
#   RST_STREAM on a stream whose response has not completed costs one of 100, each completed response gives one back;
#   at zero the connection gets GOAWAY ENHANCE_YOUR_CALM.
patch_h2o_bounds() {
    patch -s -p1 -d h2o <<'PATCH' || { echo "deps: the h2o bounds patch does not apply (source changed?)" >&2; exit 1; }
--- h2o.orig/include/h2o/http2_internal.h
+++ h2o/include/h2o/http2_internal.h
@@ -180,6 +180,10 @@
         h2o_http2_scheduler_openref_t scheduler;
     } _refs;
     h2o_send_state_t send_state; /* state of the ostream, only used in push mode */
+    /* clay-webhooks (scripts/deps.sh): the request deadline (linked from HEADERS until handed over), and whether the
+     * peer reset this stream (such a close does not give back reset budget) */
+    h2o_timeout_entry_t _cw_deadline;
+    int _cw_reset_by_peer;
     /* placed at last since it is large and has it's own ctor */
     h2o_req_t req;
 };
@@ -211,6 +215,10 @@
         h2o_http2_conn_num_streams_t pull;
         h2o_http2_conn_num_streams_t push;
     } num_streams;
+    /* clay-webhooks (scripts/deps.sh): Rapid Reset (CVE-2023-44487) mitigation. Each RST_STREAM from the peer on a stream
+     * not yet completed costs one, each stream whose response completed gives one back (up to H2O_CW_RESET_BUDGET); at
+     * zero the connection gets GOAWAY (ENHANCE_YOUR_CALM) */
+    int _cw_reset_budget;
     /* internal */
     h2o_http2_scheduler_node_t scheduler;
     h2o_http2_conn_state_t state;
--- h2o.orig/include/h2o.h
+++ h2o/include/h2o.h
@@ -385,6 +385,12 @@
          */
         size_t max_streams_for_priority;
         /**
+         * clay-webhooks (scripts/deps.sh): deadline (in milliseconds) for a stream's whole request, headers and body, from
+         * its HEADERS frame until it is handed to a handler; a stream still receiving then is reset (CANCEL), or the
+         * connection closed (ENHANCE_YOUR_CALM) while its headers are still arriving in CONTINUATION frames. 0: none.
+         */
+        uint64_t cw_request_timeout;
+        /**
          * conditions for latency optimization
          */
         h2o_socket_latency_optimization_conditions_t latency_optimization;
@@ -498,6 +504,8 @@
     -254 /* an internal value indicating that invalid characters were found in the header name or value */
 #define H2O_HTTP2_ERROR_INCOMPLETE -255 /* an internal value indicating that all data is not ready */
 #define H2O_HTTP2_ERROR_PROTOCOL_CLOSE_IMMEDIATELY -256
+#define H2O_HTTP2_ERROR_CW_TOO_MANY_HEADERS                                                                                        \
+    -257 /* clay-webhooks: a request carried more than H2O_MAX_HEADERS header fields (answered 431) */
 
 enum {
     /* http1 protocol errors */
@@ -604,6 +612,10 @@
          * timeout entry used for graceful shutdown
          */
         h2o_timeout_entry_t _graceful_shutdown_timeout;
+        /**
+         * clay-webhooks: the request deadline of streams (globalconf->http2.cw_request_timeout)
+         */
+        h2o_timeout_t _cw_request_timeout;
         struct {
             /**
              * counter for http2 errors internally emitted by h2o
--- h2o.orig/lib/core/context.c
+++ h2o/lib/core/context.c
@@ -101,6 +101,7 @@
     h2o_linklist_init_anchor(&ctx->http1._conns);
     h2o_timeout_init(ctx->loop, &ctx->http2.idle_timeout, config->http2.idle_timeout);
     h2o_timeout_init(ctx->loop, &ctx->http2.graceful_shutdown_timeout, config->http2.graceful_shutdown_timeout);
+    h2o_timeout_init(ctx->loop, &ctx->http2._cw_request_timeout, config->http2.cw_request_timeout); /* clay-webhooks */
     h2o_linklist_init_anchor(&ctx->http2._conns);
     ctx->proxy.client_ctx.loop = loop;
     h2o_timeout_init(ctx->loop, &ctx->proxy.io_timeout, config->proxy.io_timeout);
@@ -146,6 +147,7 @@
     h2o_timeout_dispose(ctx->loop, &ctx->http1.req_timeout);
     h2o_timeout_dispose(ctx->loop, &ctx->http2.idle_timeout);
     h2o_timeout_dispose(ctx->loop, &ctx->http2.graceful_shutdown_timeout);
+    h2o_timeout_dispose(ctx->loop, &ctx->http2._cw_request_timeout); /* clay-webhooks */
     h2o_timeout_dispose(ctx->loop, &ctx->proxy.io_timeout);
     /* what should we do here? assert(!h2o_linklist_is_empty(&ctx->http2._conns); */
 
--- h2o.orig/lib/http1.c
+++ h2o/lib/http1.c
@@ -442,6 +442,20 @@
     h2o_socket_read_stop(conn->sock);
 }
 
+/* clay-webhooks: more than H2O_MAX_HEADERS header fields: 431 as our JSON error, and the connection closes */
+static void send_too_many_headers(struct st_h2o_http1_conn_t *conn)
+{
+#define CW_431_BODY "{\"error\":\"too_many_headers\",\"detail\":\"a request may carry at most 100 header fields\"}"
+    static const h2o_iovec_t resp = {H2O_STRLIT("HTTP/1.1 431 Request Header Fields Too Large\r\n"
+                                                "Content-Type: application/json\r\n"
+                                                "Connection: close\r\n"
+                                                "Content-Length: 85\r\n" /* the body's length */
+                                                "\r\n" CW_431_BODY)};
+#undef CW_431_BODY
+    h2o_socket_write(conn->sock, (h2o_iovec_t *)&resp, 1, send_bad_request_on_complete);
+    h2o_socket_read_stop(conn->sock);
+}
+
 static void handle_incoming_request(struct st_h2o_http1_conn_t *conn)
 {
     size_t inreqlen = conn->sock->input->size < H2O_MAX_REQLEN ? conn->sock->input->size : H2O_MAX_REQLEN;
@@ -511,6 +525,12 @@
         }
         return;
     case -1: // error
+        /* clay-webhooks: picohttpparser stops with num_headers == H2O_MAX_HEADERS when one more field follows */
+        if (num_headers == H2O_MAX_HEADERS) {
+            set_timeout(conn, NULL, NULL);
+            send_too_many_headers(conn);
+            return;
+        }
         /* upgrade to HTTP/2 if the request starts with: PRI * HTTP/2 */
         if (conn->super.ctx->globalconf->http1.upgrade_to_http2) {
             /* should check up to the first octet that phr_parse_request returns an error */
--- h2o.orig/lib/http2/connection.c
+++ h2o/lib/http2/connection.c
@@ -38,7 +38,7 @@
 const h2o_http2_settings_t H2O_HTTP2_SETTINGS_HOST = {
     4096,     /* header_table_size */
     0,        /* enable_push (clients are never allowed to initiate server push; RFC 7540 Section 8.2) */
-    100,      /* max_concurrent_streams */
+    16,       /* max_concurrent_streams (clay-webhooks: 16 instead of 100, enforced by handle_incoming_request) */
     32768,    /* initial_window_size (clay-webhooks: 32 KiB instead of 16 MiB, so withholding a stream's WINDOW_UPDATE
                * holds its body back within 32 KiB; 16 MiB let any body in unasked) */
     16384     /* max_frame_size */
@@ -49,11 +49,14 @@
                                                          "\x00"             /* no flags */
                                                          "\x00\x00\x00\x00" /* stream id */
                                                          "\x00\x03"
-                                                         "\x00\x00\x00\x64" /* max_concurrent_streams = 100 */
+                                                         "\x00\x00\x00\x10" /* max_concurrent_streams = 16 (clay-webhooks) */
                                                          "\x00\x04"
                                                          "\x00\x00\x80\x00" /* initial_window_size = 32768 (clay-webhooks) */
                                                          )};
 
+/* clay-webhooks: the Rapid Reset budget of a connection (see h2o_http2_conn_t._cw_reset_budget) */
+#define H2O_CW_RESET_BUDGET 100
+
 static __thread h2o_buffer_prototype_t wbuf_buffer_prototype = {{16}, {H2O_HTTP2_DEFAULT_OUTBUF_SIZE}};
 
 static void initiate_graceful_shutdown(h2o_context_t *ctx);
@@ -201,6 +204,7 @@
 
     h2o_http2_stream_set_state(conn, stream, H2O_HTTP2_STREAM_STATE_REQ_PENDING);
     h2o_cw_body_release(&stream->req); /* clay-webhooks: handed over */
+    h2o_timeout_unlink(&stream->_cw_deadline); /* clay-webhooks: the request is complete */
 
     /* TODO schedule the pending reqs using the scheduler */
     h2o_linklist_insert(&conn->_pending_reqs, &stream->_refs.link);
@@ -246,6 +250,12 @@
             h2o_linklist_unlink(&stream->_refs.link);
         break;
     }
+    /* clay-webhooks: a stream whose response completed (not reset by either side) gives back one reset */
+    h2o_timeout_unlink(&stream->_cw_deadline);
+    if (stream->state == H2O_HTTP2_STREAM_STATE_END_STREAM && !stream->_cw_reset_by_peer &&
+        conn->_cw_reset_budget < H2O_CW_RESET_BUDGET)
+        ++conn->_cw_reset_budget;
+
     if (stream->state != H2O_HTTP2_STREAM_STATE_END_STREAM)
         h2o_http2_stream_set_state(conn, stream, H2O_HTTP2_STREAM_STATE_END_STREAM);
 
@@ -347,8 +357,8 @@
     header_exists_map = 0;
     if ((ret = h2o_hpack_parse_headers(&stream->req, &conn->_input_header_table, src, len, &header_exists_map,
                                        &stream->_expected_content_length, &stream->cache_digests, err_desc)) != 0) {
-        /* all errors except invalid-header-char are connection errors */
-        if (ret != H2O_HTTP2_ERROR_INVALID_HEADER_CHAR)
+        /* all errors except invalid-header-char are connection errors (clay-webhooks: and too many header fields) */
+        if (ret != H2O_HTTP2_ERROR_INVALID_HEADER_CHAR && ret != H2O_HTTP2_ERROR_CW_TOO_MANY_HEADERS)
             return ret;
     }
 
@@ -365,6 +375,22 @@
         goto SendRSTStream;
     }
 
+    /* clay-webhooks: over H2O_MAX_HEADERS header fields, 431 (the block was decoded whole, so HPACK state stays in step);
+     * a body the client still sends is dropped unread like a refused one */
+    if (ret == H2O_HTTP2_ERROR_CW_TOO_MANY_HEADERS) {
+        if (stream->_req_body != NULL) {
+            h2o_buffer_dispose(&stream->_req_body);
+            stream->_req_body = NULL;
+            stream->req.cw_body.refused = 1;
+        }
+        h2o_http2_stream_set_state(conn, stream, H2O_HTTP2_STREAM_STATE_REQ_PENDING);
+        h2o_timeout_unlink(&stream->_cw_deadline);
+        h2o_http2_stream_set_state(conn, stream, H2O_HTTP2_STREAM_STATE_SEND_HEADERS);
+        h2o_send_error_generic(&stream->req, 431, "Request Header Fields Too Large",
+                               "{\"error\":\"too_many_headers\",\"detail\":\"a request may carry at most 100 header fields\"}", 0);
+        return 0;
+    }
+
     /* handle request to send response */
     if (ret != 0) {
         assert(ret == H2O_HTTP2_ERROR_INVALID_HEADER_CHAR);
@@ -406,7 +432,7 @@
 
     if ((ret = h2o_hpack_parse_headers(&stream->req, &conn->_input_header_table, src, len, NULL, &dummy_content_length, NULL,
                                        err_desc)) != 0)
-        return ret;
+        return ret == H2O_HTTP2_ERROR_CW_TOO_MANY_HEADERS ? H2O_HTTP2_ERROR_ENHANCE_YOUR_CALM : ret; /* clay-webhooks */
 
     execute_or_enqueue_request(conn, stream);
     return 0;
@@ -463,6 +489,24 @@
     return ret;
 }
 
+/* clay-webhooks: a stream still receiving its request at the deadline is reset; one whose headers are still arriving in
+ * CONTINUATION frames holds the whole connection, which is closed */
+static void on_cw_request_deadline(h2o_timeout_entry_t *entry)
+{
+    h2o_http2_stream_t *stream = H2O_STRUCT_FROM_MEMBER(h2o_http2_stream_t, _cw_deadline, entry);
+    h2o_http2_conn_t *conn = (h2o_http2_conn_t *)stream->req.conn;
+
+    if (stream->state >= H2O_HTTP2_STREAM_STATE_REQ_PENDING || conn->state >= H2O_HTTP2_CONN_STATE_IS_CLOSING)
+        return;
+    if (conn->_read_expect == expect_continuation_of_headers) {
+        enqueue_goaway(conn, H2O_HTTP2_ERROR_ENHANCE_YOUR_CALM, h2o_iovec_init(H2O_STRLIT("request timeout")));
+        close_connection(conn);
+        return;
+    }
+    stream_send_error(conn, stream->stream_id, H2O_HTTP2_ERROR_CANCEL);
+    h2o_http2_stream_reset(conn, stream);
+}
+
 static void update_input_window(h2o_http2_conn_t *conn, uint32_t stream_id, h2o_http2_window_t *window, size_t consumed)
 {
     h2o_http2_window_consume_window(window, consumed);
@@ -635,6 +679,11 @@
         set_priority(conn, stream, &payload.priority, 0);
     }
     h2o_http2_stream_prepare_for_request(conn, stream);
+    /* clay-webhooks: the request's deadline runs from its HEADERS frame */
+    if (conn->super.ctx->globalconf->http2.cw_request_timeout != 0 && !h2o_timeout_is_linked(&stream->_cw_deadline)) {
+        stream->_cw_deadline.cb = on_cw_request_deadline;
+        h2o_timeout_link(conn->super.ctx->loop, &conn->super.ctx->http2._cw_request_timeout, &stream->_cw_deadline);
+    }
 
     /* setup container for request body if it is expected to arrive */
     if ((frame->flags & H2O_HTTP2_FRAME_FLAG_END_STREAM) == 0)
@@ -831,8 +880,15 @@
 
     stream = h2o_http2_conn_get_stream(conn, frame->stream_id);
     if (stream != NULL) {
+        /* clay-webhooks: Rapid Reset (CVE-2023-44487): cancelling a stream before its response completed costs budget */
+        int charged = stream->state < H2O_HTTP2_STREAM_STATE_END_STREAM;
+        stream->_cw_reset_by_peer = 1;
         /* reset the stream */
         h2o_http2_stream_reset(conn, stream);
+        if (charged && --conn->_cw_reset_budget <= 0) {
+            *err_desc = "too many streams reset";
+            return H2O_HTTP2_ERROR_ENHANCE_YOUR_CALM;
+        }
     }
     /* TODO log */
 
@@ -1267,6 +1323,7 @@
     h2o_http2_window_init(&conn->_input_window, &H2O_HTTP2_SETTINGS_DEFAULT);
     conn->_output_header_table.hpack_capacity = H2O_HTTP2_SETTINGS_HOST.header_table_size;
     h2o_linklist_init_anchor(&conn->_pending_reqs);
+    conn->_cw_reset_budget = H2O_CW_RESET_BUDGET; /* clay-webhooks */
     h2o_buffer_init(&conn->_write.buf, &wbuf_buffer_prototype);
     h2o_linklist_init_anchor(&conn->_write.streams_to_proceed);
     conn->_write.timeout_entry.cb = emit_writereq;
--- h2o.orig/lib/http2/hpack.c
+++ h2o/lib/http2/hpack.c
@@ -488,6 +488,8 @@
                             const char **err_desc)
 {
     const uint8_t *src_end = src + len;
+    size_t cw_num_fields = 0; /* clay-webhooks: header fields of this block; past H2O_MAX_HEADERS they are decoded (to keep
+                               * the HPACK table in step) but not kept, and the block is refused */
 
     *content_length = SIZE_MAX;
 
@@ -543,6 +545,8 @@
             }
         } else {
             pseudo_header_exists_map = NULL;
+            if (++cw_num_fields > H2O_MAX_HEADERS) /* clay-webhooks */
+                goto Next;
             if (h2o_iovec_is_token(r.name)) {
                 h2o_token_t *token = H2O_STRUCT_FROM_MEMBER(h2o_token_t, buf, r.name);
                 if (token == H2O_TOKEN_CONTENT_LENGTH) {
@@ -573,6 +577,8 @@
     Next:;
     }
 
+    if (cw_num_fields > H2O_MAX_HEADERS) /* clay-webhooks */
+        return H2O_HTTP2_ERROR_CW_TOO_MANY_HEADERS;
     if (*err_desc) {
         return H2O_HTTP2_ERROR_INVALID_HEADER_CHAR;
     }
PATCH
}
patch_h2o_bounds

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

write_manifest "$SRC" "recorded at build time" || { echo "deps: could not write $DEPS_DIR/manifest" >&2; exit 1; }
rm -rf "$SRC"
echo "$STAMP_VERSION" >"$DEPS_DIR/stamp"
echo "deps: ready in $DEPS_DIR" >&2
