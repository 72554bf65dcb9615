/*
 * store_cloud.h: what the three HTTP object-store backends (store_gcs.c,
 * store_azure.c, store_s3.c) share: one operation object that lives from
 * submission to completion, the HTTP retry policy, the mapping of HTTP answers
 * to cw_store_status_t, and list paging (names collected across pages, the
 * store's root stripped, sorted).
 *
 * A backend fills cw_cloud_hooks_t; its send hook builds the HTTP request of
 * an operation (for a list, of its next page) and calls cw_cloud_submit, or
 * cw_cloud_finish when it cannot (a signing failure): a completion before any
 * request left is delivered through the op's loop, never inside the caller's
 * cw_store_* call.
 */
#ifndef CW_STORE_CLOUD_H
#define CW_STORE_CLOUD_H

#include <stddef.h>
#include <stdint.h>
#include "cw/http.h"
#include "cw/loop.h"
#include "store.h"

#define CW_CLOUD_MAX_ATTEMPTS 6
#define CW_CLOUD_DEADLINE_MS 10000
#define CW_CLOUD_ATTEMPT_TIMEOUT_MS 5000
#define CW_CLOUD_BACKOFF_BASE_MS 200
#define CW_CLOUD_BACKOFF_MAX_MS 5000
#define CW_CLOUD_MAX_RESPONSE_BYTES CW_STORE_CLOUD_MAX_OBJECT_BYTES
#define CW_CLOUD_PAGE_SIZE 1000   /* names asked for per list page */
#define CW_CLOUD_MAX_PAGES 100000 /* a server that never stops paging is a broken one */

typedef struct st_cw_cloud_op_t cw_cloud_op_t;

typedef struct st_cw_cloud_hooks_t {
    /* send builds and submits |op|'s request (list: the page after op->marker). */
    void (*send)(cw_cloud_op_t *op);
    /* on_auth_failure, if not NULL, runs (on the op's thread) after a 401, e.g. to drop a cached token. */
    void (*on_auth_failure)(cw_cloud_op_t *op);
    /* conflict_is_exists: a create answered 409 means the name exists (Azure); otherwise 409 is
     * a conflict that was retried (S3) and ends as unavailable. */
    int conflict_is_exists;
} cw_cloud_hooks_t;

/* cw_cloud_store_t is the common head of every HTTP backend's state. */
typedef struct st_cw_cloud_store_t {
    cw_store_t super;
    const cw_cloud_hooks_t *hooks; /* never NULL */
    char *root;                    /* object-name prefix inside the bucket or container: "" or ending in '/'; never NULL */
} cw_cloud_store_t;

/* cw_cloud_op_t is one store operation in flight; owned by store_cloud.c. */
struct st_cw_cloud_op_t {
    cw_loop_msg_t msg; /* for a backend that resumes the op on its loop (cw_cloud_resume) */
    cw_cloud_store_t *store;
    cw_loop_t *loop; /* may be NULL: completions then run on the HTTP client's thread */
    cw_store_op_t op;
    cw_store_cb cb;
    void *data;
    char *key;  /* root + name, or root + list prefix; never NULL */
    char *body; /* create only; may be NULL when body_len is 0 */
    size_t body_len;
    size_t max_names; /* list */
    char **names;     /* list: collected so far, root stripped */
    size_t num_names;
    char *marker; /* list: the continuation token of the next page; NULL on the first */
    unsigned pages;
    /* for the backend's own use between send and resume; freed with the op */
    char *credential; /* e.g. the bearer token this op uses; may be NULL */
    cw_store_status_t deferred_status;
    cw_cloud_op_t *next_waiter;
    void (*resume_fn)(cw_cloud_op_t *op); /* set by cw_cloud_resume */
    int sending;                          /* 1 while inside the submitter's call: a completion then goes through the loop */
    char detail[200];
};

/* cw_cloud_store_init fills |store|'s common head; copies |url_for_logs| and |root|. */
void cw_cloud_store_init(cw_cloud_store_t *store, const cw_store_backend_t *backend, const cw_cloud_hooks_t *hooks, cw_http_t *http,
                         const char *url_for_logs, const char *root);
/* cw_cloud_store_dispose frees what cw_cloud_store_init allocated (not |store| itself). */
void cw_cloud_store_dispose(cw_cloud_store_t *store);

/* cw_cloud_make_root validates a URL's object prefix (|len| bytes: names' characters
 * [A-Za-z0-9._/-], no "//", no ".." and no leading '/') and returns it with a '/'
 * appended unless empty. Returns NULL after writing a reason into |err|. */
char *cw_cloud_make_root(const char *prefix, size_t len, char *err, size_t err_size);

/* The store.h entry points of every HTTP backend: they start an op and call hooks->send. */
void cw_cloud_create(cw_store_t *store, cw_loop_t *loop, const char *name, const void *body, size_t body_len, cw_store_cb cb,
                     void *data);
void cw_cloud_get(cw_store_t *store, cw_loop_t *loop, const char *name, cw_store_cb cb, void *data);
void cw_cloud_delete(cw_store_t *store, cw_loop_t *loop, const char *name, cw_store_cb cb, void *data);
void cw_cloud_list(cw_store_t *store, cw_loop_t *loop, const char *prefix, size_t max_names, cw_store_cb cb, void *data);

/* cw_cloud_submit sends |req| (copied) for |op| with the shared retry policy
 * filled in where |req| leaves it zero; the answer completes or continues |op|. */
void cw_cloud_submit(cw_cloud_op_t *op, cw_http_request_t *req);
/* cw_cloud_finish completes |op| with |status| and a printf-formatted detail,
 * and frees it. Call on the op's loop thread. */
void cw_cloud_finish(cw_cloud_op_t *op, cw_store_status_t status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* cw_cloud_resume runs |fn|(op) on |op|'s loop thread (directly when it has no loop). Thread-safe. */
void cw_cloud_resume(cw_cloud_op_t *op, void (*fn)(cw_cloud_op_t *op));

/* cw_cloud_op_name returns "create", "get", "delete" or "list". */
const char *cw_cloud_op_name(const cw_cloud_op_t *op);
/* cw_cloud_page_size returns how many names to ask for in |op|'s next list page. */
size_t cw_cloud_page_size(const cw_cloud_op_t *op);

/* cw_cloud_uri_encode appends |s| percent-encoded (RFC 3986 unreserved kept; '/' kept when |keep_slash|). */
void cw_cloud_uri_encode(cw_buf_t *out, const char *s, int keep_slash);

/* cw_cloud_parse_endpoint checks that |url| is http(s)://host[:port][/path] without
 * query or fragment and returns a copy without trailing '/' and without the
 * scheme's default port, or NULL after writing a reason into |err|. When
 * |out_authority| is not NULL it receives a copy of "host[:port]" (caller frees). */
char *cw_cloud_parse_endpoint(const char *url, char **out_authority, char *err, size_t err_size);

#endif
