/*
 * store_cloud.c: the machinery shared by the HTTP object-store backends (see
 * store_cloud.h): op lifetime, HTTP answer → store status, list paging.
 */
#include "store_cloud.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sigv4.h"
#include "xml_list.h"

void cw_cloud_store_init(cw_cloud_store_t *store, const cw_store_backend_t *backend, const cw_cloud_hooks_t *hooks, cw_http_t *http,
                         const char *url_for_logs, const char *root)
{
    store->super.backend = backend;
    store->super.http = http;
    store->super.url = cw_strdup(url_for_logs);
    store->hooks = hooks;
    store->root = cw_strdup(root);
}

void cw_cloud_store_dispose(cw_cloud_store_t *store)
{
    free(store->super.url);
    free(store->root);
    store->super.url = NULL;
    store->root = NULL;
}

static int is_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '/' ||
           c == '-';
}

char *cw_cloud_make_root(const char *prefix, size_t len, char *err, size_t err_size)
{
    for (size_t i = 0; i != len; ++i) {
        if (!is_name_char(prefix[i])) {
            snprintf(err, err_size, "store prefix may hold only A-Z a-z 0-9 . _ / -");
            return NULL;
        }
        if (i != 0 && prefix[i] == '/' && prefix[i - 1] == '/') {
            snprintf(err, err_size, "store prefix has an empty segment (\"//\")");
            return NULL;
        }
        if (i != 0 && prefix[i] == '.' && prefix[i - 1] == '.') {
            snprintf(err, err_size, "store prefix holds \"..\"");
            return NULL;
        }
    }
    if (len != 0 && prefix[0] == '/') {
        snprintf(err, err_size, "store prefix starts with '/'");
        return NULL;
    }
    if (len > 256) {
        snprintf(err, err_size, "store prefix is longer than 256 bytes");
        return NULL;
    }
    cw_buf_t root = CW_BUF_INIT;
    cw_buf_append(&root, prefix, len);
    if (len != 0 && prefix[len - 1] != '/') {
        cw_buf_append(&root, "/", 1);
    }
    return cw_buf_release(&root, NULL);
}

char *cw_cloud_parse_endpoint(const char *url, char **out_authority, char *err, size_t err_size)
{
    const char *scheme_end = strstr(url, "://");
    size_t scheme_len = scheme_end != NULL ? (size_t)(scheme_end - url) : 0;
    int https;
    if (scheme_len == 5 && cw_memeq_ci(url, 5, "https", 5)) {
        https = 1;
    } else if (scheme_len == 4 && cw_memeq_ci(url, 4, "http", 4)) {
        https = 0;
    } else {
        snprintf(err, err_size, "endpoint must start with http:// or https://");
        return NULL;
    }
    const char *authority = scheme_end + 3;
    size_t authority_len = strcspn(authority, "/");
    if (authority_len == 0 || strpbrk(url, "?#@ \t\r\n") != NULL) {
        snprintf(err, err_size, "endpoint must be http(s)://host[:port][/path] without user, query or fragment");
        return NULL;
    }
    const char *path = authority + authority_len;
    size_t path_len = strlen(path);
    while (path_len != 0 && path[path_len - 1] == '/') {
        --path_len;
    }
    /* drop the scheme's default port: a signed Host header must match what the client sends */
    const char *bracket = memchr(authority, ']', authority_len);
    const char *colon = memchr(bracket != NULL ? bracket : authority, ':',
                               authority_len - (size_t)((bracket != NULL ? bracket : authority) - authority));
    size_t host_len = authority_len;
    if (colon != NULL) {
        const char *port = colon + 1;
        size_t port_len = authority_len - (size_t)(port - authority);
        uint64_t port_num;
        if (cw_parse_u64(port, port_len, 1, 65535, &port_num) != 0) {
            snprintf(err, err_size, "endpoint has a bad port");
            return NULL;
        }
        if ((https && port_num == 443) || (!https && port_num == 80)) {
            host_len = (size_t)(colon - authority);
        }
    }
    cw_buf_t out = CW_BUF_INIT;
    cw_buf_appendf(&out, "%s://%.*s%.*s", https ? "https" : "http", (int)host_len, authority, (int)path_len, path);
    for (size_t i = 0; i != out.len; ++i) {
        if (out.base[i] >= 'A' && out.base[i] <= 'Z' && out.base + i < out.base + (https ? 8 : 7) + host_len) {
            out.base[i] = (char)(out.base[i] - 'A' + 'a'); /* host names are case-insensitive; lower-case them for signing */
        }
    }
    if (out_authority != NULL) {
        *out_authority = cw_strndup(out.base + (https ? 8 : 7), host_len);
    }
    return cw_buf_release(&out, NULL);
}

void cw_cloud_uri_encode(cw_buf_t *out, const char *s, int keep_slash)
{
    cw_sigv4_uri_encode(out, s, strlen(s), keep_slash);
}

const char *cw_cloud_op_name(const cw_cloud_op_t *op)
{
    static const char *const names[] = {"create", "get", "delete", "list"};
    return (unsigned)op->op < CW_ARRAY_SIZE(names) ? names[op->op] : "?";
}

size_t cw_cloud_page_size(const cw_cloud_op_t *op)
{
    size_t want = op->max_names - op->num_names;
    return want < CW_CLOUD_PAGE_SIZE ? want : CW_CLOUD_PAGE_SIZE;
}

static void op_free(cw_cloud_op_t *op)
{
    for (size_t i = 0; i != op->num_names; ++i) {
        free(op->names[i]);
    }
    free(op->names);
    free(op->key);
    free(op->body);
    free(op->marker);
    free(op->credential);
    free(op);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void complete(cw_cloud_op_t *op, cw_store_status_t status, const char *data, size_t data_len);

static void finish_deferred(cw_cloud_op_t *op)
{
    complete(op, op->deferred_status, NULL, 0);
}

static void complete(cw_cloud_op_t *op, cw_store_status_t status, const char *data, size_t data_len)
{
    if (op->sending) {
        /* The send hook failed before any request left (a signing failure): the caller is still
         * inside cw_store_*; its callback must not run there. Complete through the loop instead,
         * like any other failure (op->detail is already written). */
        op->sending = 0;
        op->deferred_status = status;
        cw_cloud_resume(op, finish_deferred);
        return;
    }
    cw_store_result_t res = {.status = status, .detail = status == CW_STORE_OK ? "" : op->detail};
    if (status == CW_STORE_OK && op->op == CW_STORE_OP_GET) {
        res.data = data;
        res.data_len = data_len;
    }
    if (status == CW_STORE_OK && op->op == CW_STORE_OP_LIST) {
        if (op->num_names != 0) {
            qsort(op->names, op->num_names, sizeof(op->names[0]), compare_names);
        }
        res.names = op->names; /* NULL when empty, as the file backend does */
        res.num_names = op->num_names;
    }
    op->cb(&res, op->data);
    op_free(op);
}

void cw_cloud_finish(cw_cloud_op_t *op, cw_store_status_t status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op->detail, sizeof(op->detail), fmt, ap);
    va_end(ap);
    complete(op, status, NULL, 0);
}

static void on_resume_msg(cw_loop_msg_t *msg)
{
    cw_cloud_op_t *op = (cw_cloud_op_t *)msg;
    op->sending = 0; /* off the submitter's stack from here on */
    op->resume_fn(op);
}

void cw_cloud_resume(cw_cloud_op_t *op, void (*fn)(cw_cloud_op_t *op))
{
    op->resume_fn = fn;
    if (op->loop == NULL) {
        fn(op);
        return;
    }
    op->msg.cb = on_resume_msg;
    cw_loop_post(op->loop, &op->msg);
}

/* error_code returns the service's error code (x-ms-error-code, or S3/GCS XML <Code>) in |buf|, or "". */
static const char *error_code(const cw_http_response_t *res, char *buf, size_t buf_size)
{
    const char *code = cw_http_find_header(res->headers, res->num_headers, "x-ms-error-code");
    size_t len = 0;
    if (code != NULL) {
        len = strlen(code);
    } else {
        const char *start = memmem(res->body, res->body_len, "<Code>", 6);
        if (start != NULL) {
            start += 6;
            const char *end = memchr(start, '<', res->body_len - (size_t)(start - res->body));
            code = start;
            len = end != NULL ? (size_t)(end - start) : 0;
        }
    }
    size_t n = 0;
    for (size_t i = 0; i != len && n + 1 < buf_size; ++i) {
        char c = code[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-') {
            buf[n++] = c; /* only a plain identifier reaches logs */
        }
    }
    buf[n] = '\0';
    return buf;
}

static int is_missing_bucket(const char *code)
{
    return strcmp(code, "NoSuchBucket") == 0 || strcmp(code, "ContainerNotFound") == 0;
}

static void on_list_page(cw_cloud_op_t *op, const cw_http_response_t *res)
{
    cw_cloud_store_t *store = op->store;
    size_t root_len = strlen(store->root);
    cw_xml_list_t page;

    if (cw_xml_list_parse(res->body, res->body_len, &page) != 0) {
        cw_cloud_finish(op, CW_STORE_UNAVAILABLE, "%s list: a page exceeds the reader's limits", store->super.backend->name);
        return;
    }
    for (size_t i = 0; i != page.num_names && op->num_names < op->max_names; ++i) {
        const char *full = page.names[i];
        if (strncmp(full, op->key, strlen(op->key)) != 0 || full[root_len] == '\0') {
            continue; /* not under the asked prefix: a confused server; never hand it out */
        }
        if ((op->num_names & (op->num_names - 1)) == 0) {
            op->names = cw_realloc(op->names, sizeof(op->names[0]) * (op->num_names == 0 ? 16 : op->num_names * 2));
        }
        op->names[op->num_names++] = cw_strdup(full + root_len);
    }
    if (page.next == NULL || op->num_names >= op->max_names) {
        cw_xml_list_free(&page);
        complete(op, CW_STORE_OK, NULL, 0);
        return;
    }
    if ((op->marker != NULL && strcmp(op->marker, page.next) == 0) || ++op->pages >= CW_CLOUD_MAX_PAGES) {
        cw_xml_list_free(&page);
        cw_cloud_finish(op, CW_STORE_UNAVAILABLE, "%s list: the server keeps paging", store->super.backend->name);
        return;
    }
    free(op->marker);
    op->marker = page.next;
    page.next = NULL;
    cw_xml_list_free(&page);
    store->hooks->send(op);
}

static void on_response(const cw_http_response_t *res, void *data)
{
    cw_cloud_op_t *op = data;
    const char *backend = op->store->super.backend->name, *what = cw_cloud_op_name(op);
    char code_buf[64];

    if (res->error != CW_HTTP_OK) {
        cw_cloud_finish(op, CW_STORE_UNAVAILABLE, "%s %s: %s (%u attempts)", backend, what, res->error_text, res->attempts);
        return;
    }
    int status = res->status;
    const char *code = error_code(res, code_buf, sizeof(code_buf));
    switch (op->op) {
    case CW_STORE_OP_CREATE:
        if (status >= 200 && status <= 299) {
            complete(op, CW_STORE_OK, NULL, 0);
            return;
        }
        if (status == 412 || (status == 409 && op->store->hooks->conflict_is_exists &&
                              (code[0] == '\0' || strcmp(code, "BlobAlreadyExists") == 0))) {
            cw_cloud_finish(op, CW_STORE_EXISTS, "%s create: exists", backend);
            return;
        }
        break;
    case CW_STORE_OP_GET:
    case CW_STORE_OP_DELETE:
        if (status == 200 || (op->op == CW_STORE_OP_DELETE && status >= 200 && status <= 299)) {
            complete(op, CW_STORE_OK, res->body, res->body_len);
            return;
        }
        if (status == 404 && !is_missing_bucket(code)) {
            cw_cloud_finish(op, CW_STORE_NOT_FOUND, "%s %s: not found", backend, what);
            return;
        }
        break;
    case CW_STORE_OP_LIST:
        if (status == 200) {
            on_list_page(op, res);
            return;
        }
        break;
    }
    if (status == 401 && op->store->hooks->on_auth_failure != NULL) {
        op->store->hooks->on_auth_failure(op);
    }
    cw_store_status_t st;
    if (status == 408 || status == 429 || status == 409 || (status >= 500 && status <= 599)) {
        st = CW_STORE_UNAVAILABLE;
    } else {
        st = CW_STORE_DENIED; /* 401, 403, a missing bucket, a wrong region, anything else permanent */
    }
    cw_cloud_finish(op, st, "%s %s: HTTP %d%s%s (%u attempts)", backend, what, status, code[0] != '\0' ? " " : "", code,
                    res->attempts);
}

void cw_cloud_submit(cw_cloud_op_t *op, cw_http_request_t *req)
{
    if (req->timeout_ms == 0) {
        req->timeout_ms = CW_CLOUD_ATTEMPT_TIMEOUT_MS;
    }
    if (req->max_response_bytes == 0) {
        req->max_response_bytes = CW_CLOUD_MAX_RESPONSE_BYTES;
    }
    if (req->max_attempts == 0) {
        req->max_attempts = CW_CLOUD_MAX_ATTEMPTS;
    }
    if (req->deadline_ms == 0) {
        req->deadline_ms = CW_CLOUD_DEADLINE_MS;
    }
    if (req->backoff_base_ms == 0) {
        req->backoff_base_ms = CW_CLOUD_BACKOFF_BASE_MS;
    }
    if (req->backoff_max_ms == 0) {
        req->backoff_max_ms = CW_CLOUD_BACKOFF_MAX_MS;
    }
    op->sending = 0; /* from here the answer completes the op, on its loop */
    cw_http_submit(op->store->super.http, op->loop, req, on_response, op);
}

static cw_cloud_op_t *op_new(cw_store_t *store, cw_loop_t *loop, cw_store_op_t kind, const char *name, cw_store_cb cb, void *data)
{
    cw_cloud_store_t *cs = (cw_cloud_store_t *)store;
    cw_cloud_op_t *op = cw_calloc(1, sizeof(*op));
    op->store = cs;
    op->loop = loop;
    op->op = kind;
    op->cb = cb;
    op->data = data;
    cw_buf_t key = CW_BUF_INIT;
    cw_buf_appends(&key, cs->root);
    cw_buf_appends(&key, name);
    op->key = cw_buf_release(&key, NULL);
    return op;
}

/* start hands a new op to its backend. Until a request is submitted (or the op
 * resumed on its loop), a completion is deferred through the loop: see complete(). */
static void start(cw_cloud_op_t *op)
{
    op->sending = 1;
    op->store->hooks->send(op); /* |op| may be gone (or completing on another thread) once this returns */
}

void cw_cloud_create(cw_store_t *store, cw_loop_t *loop, const char *name, const void *body, size_t body_len, cw_store_cb cb,
                     void *data)
{
    cw_cloud_op_t *op = op_new(store, loop, CW_STORE_OP_CREATE, name, cb, data);
    if (body_len != 0) {
        op->body = cw_malloc(body_len);
        memcpy(op->body, body, body_len);
        op->body_len = body_len;
    }
    start(op);
}

void cw_cloud_get(cw_store_t *store, cw_loop_t *loop, const char *name, cw_store_cb cb, void *data)
{
    cw_cloud_op_t *op = op_new(store, loop, CW_STORE_OP_GET, name, cb, data);
    start(op);
}

void cw_cloud_delete(cw_store_t *store, cw_loop_t *loop, const char *name, cw_store_cb cb, void *data)
{
    cw_cloud_op_t *op = op_new(store, loop, CW_STORE_OP_DELETE, name, cb, data);
    start(op);
}

static void finish_empty_list(cw_cloud_op_t *op)
{
    complete(op, CW_STORE_OK, NULL, 0);
}

void cw_cloud_list(cw_store_t *store, cw_loop_t *loop, const char *prefix, size_t max_names, cw_store_cb cb, void *data)
{
    cw_cloud_op_t *op = op_new(store, loop, CW_STORE_OP_LIST, prefix, cb, data);
    op->max_names = max_names;
    if (max_names == 0) {
        cw_cloud_resume(op, finish_empty_list); /* still asynchronous, as every completion is */
        return;
    }
    start(op);
}
