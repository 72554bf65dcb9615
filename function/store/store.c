/*
 * store.c: the backend-independent layer of the store (docs/design.md §10):
 * picks the backend from the URL, validates names, and counts every operation
 * in /metrics before the caller's completion runs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cw/metrics.h"
#include "cw/util.h"
#include "store.h"

#define MAX_NAME_LEN 512
#define NUM_OPS 4
#define NUM_STATUSES 5

/* ---- metrics ---- */

/* One slot per known backend name plus "other" for anything else (tests' fakes). */
static const char *const backend_names[] = {"file", "gcs", "azure", "s3", "other"};
#define NUM_BACKENDS (sizeof(backend_names) / sizeof(backend_names[0]))
static const char *const op_names[NUM_OPS] = {"create", "get", "delete", "list"};

typedef struct st_store_series_t {
    cw_counter_t *requests[NUM_OPS][NUM_STATUSES];
    cw_histogram_t *duration[NUM_OPS];
} store_series_t;

static store_series_t series[NUM_BACKENDS];
static pthread_once_t series_once[NUM_BACKENDS] = {PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT,
                                                   PTHREAD_ONCE_INIT};

static void register_series(size_t backend)
{
    char labels[128];
    for (size_t op = 0; op != NUM_OPS; ++op) {
        for (size_t st = 0; st != NUM_STATUSES; ++st) {
            snprintf(labels, sizeof(labels), "backend=\"%s\",op=\"%s\",result=\"%s\"", backend_names[backend], op_names[op],
                     cw_store_status_name((cw_store_status_t)st));
            series[backend].requests[op][st] =
                cw_metrics_counter("clay_store_requests_total", "Store operations by backend, operation and result.", labels);
        }
        snprintf(labels, sizeof(labels), "backend=\"%s\",op=\"%s\"", backend_names[backend], op_names[op]);
        series[backend].duration[op] = cw_metrics_histogram("clay_store_request_duration_seconds",
                                                            "Store operation latency, submission to completion.", labels, NULL, 0);
    }
}

/* pthread_once takes no argument: one tiny initialiser per backend slot. */
#define REGISTER_FN(i)                                                                                                             \
    static void register_series_##i(void)                                                                                          \
    {                                                                                                                              \
        register_series(i);                                                                                                        \
    }
REGISTER_FN(0)
REGISTER_FN(1)
REGISTER_FN(2)
REGISTER_FN(3)
REGISTER_FN(4)
static void (*const register_fns[NUM_BACKENDS])(void) = {register_series_0, register_series_1, register_series_2, register_series_3,
                                                         register_series_4};

static store_series_t *series_for(const cw_store_t *store)
{
    size_t i = NUM_BACKENDS - 1;
    for (size_t j = 0; j + 1 < NUM_BACKENDS; ++j) {
        if (store->backend->name != NULL && strcmp(store->backend->name, backend_names[j]) == 0) {
            i = j;
            break;
        }
    }
    pthread_once(&series_once[i], register_fns[i]);
    return &series[i];
}

/* ---- completions ---- */

/* call_t wraps the caller's completion so it can be counted, and doubles as
 * the loop message that delivers a rejection (bad name) asynchronously. */
typedef struct st_call_t {
    cw_loop_msg_t msg; /* used only for rejections */
    store_series_t *series;
    cw_store_op_t op;
    uint64_t start_us;
    cw_store_cb cb;
    void *data;
    char detail[96]; /* rejections only */
} call_t;

static void count(call_t *call, cw_store_status_t status)
{
    if ((unsigned)status < NUM_STATUSES) {
        cw_counter_inc(call->series->requests[call->op][status]);
    }
    cw_histogram_observe(call->series->duration[call->op], (double)(cw_now_us() - call->start_us) / 1e6);
}

static void on_complete(const cw_store_result_t *res, void *data)
{
    call_t *call = data;
    count(call, res->status);
    if (call->cb != NULL) {
        call->cb(res, call->data);
    }
    free(call);
}

static void on_rejected(cw_loop_msg_t *msg)
{
    call_t *call = (call_t *)msg;
    cw_store_result_t res = {.status = CW_STORE_DENIED, .detail = call->detail};
    on_complete(&res, call);
}

static call_t *new_call(cw_store_t *store, cw_store_op_t op, cw_store_cb cb, void *data)
{
    call_t *call = cw_calloc(1, sizeof(*call));
    call->series = series_for(store);
    call->op = op;
    call->start_us = cw_now_us();
    call->cb = cb;
    call->data = data;
    return call;
}

/* reject completes |call| with CW_STORE_DENIED on |loop|'s next turn: the
 * caller never sees its callback run inside its own call. */
static void reject(cw_loop_t *loop, call_t *call, const char *what, const char *why)
{
    snprintf(call->detail, sizeof(call->detail), "invalid %s: %s", what, why);
    call->msg.cb = on_rejected;
    cw_loop_post(loop, &call->msg);
}

/* check_name returns NULL when |name| is acceptable, else why not. A list
 * prefix may be empty and may end in '/'; an object name may not. */
static const char *check_name(const char *name, int is_prefix)
{
    if (name == NULL) {
        return "missing";
    }
    size_t len = strnlen(name, MAX_NAME_LEN + 1);
    if (len > MAX_NAME_LEN) {
        return "longer than 512 bytes";
    }
    if (len == 0) {
        return is_prefix ? NULL : "empty";
    }
    for (size_t i = 0; i != len; ++i) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '/' ||
              c == '-')) {
            return "only A-Z a-z 0-9 . _ / - are allowed";
        }
    }
    if (name[0] == '/') {
        return "leading '/'";
    }
    if (!is_prefix && name[len - 1] == '/') {
        return "trailing '/'";
    }
    if (strstr(name, "..") != NULL) {
        return "\"..\"";
    }
    if (strstr(name, "//") != NULL) {
        return "\"//\"";
    }
    /* A "." segment would make two names one file in the file backend. */
    if (strcmp(name, ".") == 0 || strncmp(name, "./", 2) == 0 || strstr(name, "/./") != NULL ||
        (len >= 2 && strcmp(name + len - 2, "/.") == 0 && !is_prefix)) {
        return "a \".\" segment";
    }
    return NULL;
}

void cw_store_create(cw_store_t *store, cw_loop_t *loop, const char *name, const void *body, size_t body_len, cw_store_cb cb,
                     void *data)
{
    call_t *call = new_call(store, CW_STORE_OP_CREATE, cb, data);
    const char *why = check_name(name, 0);
    if (why != NULL) {
        reject(loop, call, "name", why);
        return;
    }
    store->backend->create(store, loop, name, body, body_len, on_complete, call);
}

void cw_store_get(cw_store_t *store, cw_loop_t *loop, const char *name, cw_store_cb cb, void *data)
{
    call_t *call = new_call(store, CW_STORE_OP_GET, cb, data);
    const char *why = check_name(name, 0);
    if (why != NULL) {
        reject(loop, call, "name", why);
        return;
    }
    store->backend->get(store, loop, name, on_complete, call);
}

void cw_store_delete(cw_store_t *store, cw_loop_t *loop, const char *name, cw_store_cb cb, void *data)
{
    call_t *call = new_call(store, CW_STORE_OP_DELETE, cb, data);
    const char *why = check_name(name, 0);
    if (why != NULL) {
        reject(loop, call, "name", why);
        return;
    }
    store->backend->del(store, loop, name, on_complete, call);
}

void cw_store_list(cw_store_t *store, cw_loop_t *loop, const char *prefix, size_t max_names, cw_store_cb cb, void *data)
{
    call_t *call = new_call(store, CW_STORE_OP_LIST, cb, data);
    const char *why = check_name(prefix, 1);
    if (why != NULL) {
        reject(loop, call, "prefix", why);
        return;
    }
    store->backend->list(store, loop, prefix, max_names, on_complete, call);
}

size_t cw_store_max_object_bytes(const cw_store_t *store)
{
    return strcmp(store->backend->name, "file") == 0 ? CW_STORE_FILE_MAX_OBJECT_BYTES : CW_STORE_CLOUD_MAX_OBJECT_BYTES;
}

const char *cw_store_status_name(cw_store_status_t status)
{
    switch (status) {
    case CW_STORE_OK:
        return "ok";
    case CW_STORE_EXISTS:
        return "exists";
    case CW_STORE_NOT_FOUND:
        return "not_found";
    case CW_STORE_UNAVAILABLE:
        return "unavailable";
    case CW_STORE_DENIED:
        return "denied";
    }
    return "unknown";
}

/* ---- opening ---- */

static int has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* is_azure_https reports whether |url| is https://<account>.blob.core.windows.net/... */
static int is_azure_https(const char *url)
{
    if (!has_prefix_ci(url, "https://")) {
        return 0;
    }
    const char *host = url + strlen("https://");
    size_t host_len = strcspn(host, "/?#");
    static const char suffix[] = ".blob.core.windows.net";
    /* a port would still be an Azure host; ignore it for the match */
    const char *colon = memchr(host, ':', host_len);
    if (colon != NULL) {
        host_len = (size_t)(colon - host);
    }
    return host_len > sizeof(suffix) - 1 &&
           cw_memeq_ci(host + host_len - (sizeof(suffix) - 1), sizeof(suffix) - 1, suffix, sizeof(suffix) - 1);
}

/* open_file maps file:DIR, file:./dir, file:///abs/dir and file://localhost/abs/dir to a directory. */
static cw_store_t *open_file(const char *url, char *err, size_t err_size)
{
    const char *path = url + strlen("file:");
    if (strncmp(path, "//", 2) == 0) {
        const char *host = path + 2;
        const char *slash = strchr(host, '/');
        size_t host_len = slash != NULL ? (size_t)(slash - host) : strlen(host);
        if (slash == NULL || (host_len != 0 && !cw_memeq_ci(host, host_len, "localhost", 9))) {
            snprintf(err, err_size, "file store URL must be file:DIR or file:///absolute/dir, not a host: %s", url);
            return NULL;
        }
        path = slash;
    }
    if (path[0] == '\0') {
        snprintf(err, err_size, "file store URL has no directory: %s", url);
        return NULL;
    }
    return cw_store_file_open(path, err, err_size);
}

/* registered lists |store|'s series in /metrics at zero from the start (NULL passes through). */
static cw_store_t *registered(cw_store_t *store)
{
    if (store != NULL) {
        series_for(store);
    }
    return store;
}

cw_store_t *cw_store_open(const char *url, cw_http_t *http, char *err, size_t err_size)
{
    if (url == NULL || url[0] == '\0') {
        snprintf(err, err_size, "no store URL");
        return NULL;
    }
    if (has_prefix_ci(url, "file:")) {
        return registered(open_file(url, err, err_size));
    }
    if (has_prefix_ci(url, "gs://")) {
        return registered(cw_store_gcs_open(url, http, err, err_size));
    }
    if (has_prefix_ci(url, "azblob://") || is_azure_https(url)) {
        return registered(cw_store_azure_open(url, http, err, err_size));
    }
    if (has_prefix_ci(url, "s3://")) {
        return registered(cw_store_s3_open(url, http, err, err_size));
    }
    /* Never echo the whole URL: an https one may carry a SAS token. */
    size_t scheme_len = strcspn(url, ":");
    snprintf(err, err_size,
             "unsupported store URL scheme \"%.*s\" (want file:DIR, gs://bucket/prefix, azblob://account/container/prefix, "
             "https://ACCOUNT.blob.core.windows.net/container?SAS or s3://bucket/prefix)",
             (int)(scheme_len > 16 ? 16 : scheme_len), url);
    return NULL;
}

void cw_store_close(cw_store_t *store)
{
    if (store != NULL) {
        store->backend->destroy(store);
    }
}
