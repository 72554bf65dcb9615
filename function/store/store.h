/*
 * store.h: the conditional-write object store behind idempotency and the event
 * lifecycle (docs/design.md §10 and §7). One asynchronous interface; one file per
 * backend (store_file.c, store_gcs.c, store_azure.c, store_s3.c).
 *
 * Every operation completes exactly once by calling |cb| on the submitting
 * |loop|'s thread; the loop never blocks on the store. Names are relative to the
 * store's root (the prefix of the URL), e.g. "events/<id>"; they hold only
 * [A-Za-z0-9._/-] and no name is a prefix folder of another.
 */
#ifndef CW_STORE_H
#define CW_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "cw/http.h"
#include "cw/loop.h"

typedef struct st_cw_store_t cw_store_t;

typedef enum en_cw_store_status_t {
    CW_STORE_OK,          /* created / read / deleted / listed */
    CW_STORE_EXISTS,      /* create: the name already exists (412 / 409 / EEXIST) */
    CW_STORE_NOT_FOUND,   /* get or delete: no such name */
    CW_STORE_UNAVAILABLE, /* transient: retries exhausted (5xx, 429, timeouts, I/O errors) */
    CW_STORE_DENIED,      /* permanent: credentials or permissions (401/403), bad bucket */
} cw_store_status_t;

typedef enum en_cw_store_op_t {
    CW_STORE_OP_CREATE,
    CW_STORE_OP_GET,
    CW_STORE_OP_DELETE,
    CW_STORE_OP_LIST,
} cw_store_op_t;

/* cw_store_result_t is what a completion sees; valid only during the callback. */
typedef struct st_cw_store_result_t {
    cw_store_status_t status;
    const char *data; /* get: the object's bytes (NUL-terminated); else NULL */
    size_t data_len;
    char *const *names; /* list: full names (relative to the root), sorted; else NULL */
    size_t num_names;
    const char *detail; /* never NULL; human-readable cause when status is not OK */
} cw_store_result_t;

typedef void (*cw_store_cb)(const cw_store_result_t *res, void *data);

/* cw_store_backend_t is the table each backend fills in. Callers use the
 * cw_store_* wrappers below, which also count every op in /metrics. */
typedef struct st_cw_store_backend_t {
    const char *name; /* "file", "gcs", "azure", "s3" */
    void (*create)(cw_store_t *store, cw_loop_t *loop, const char *name, const void *body, size_t body_len, cw_store_cb cb,
                   void *data);
    void (*get)(cw_store_t *store, cw_loop_t *loop, const char *name, cw_store_cb cb, void *data);
    void (*del)(cw_store_t *store, cw_loop_t *loop, const char *name, cw_store_cb cb, void *data);
    void (*list)(cw_store_t *store, cw_loop_t *loop, const char *prefix, size_t max_names, cw_store_cb cb, void *data);
    void (*destroy)(cw_store_t *store);
} cw_store_backend_t;

/* Every backend's state starts with this. */
struct st_cw_store_t {
    const cw_store_backend_t *backend;
    cw_http_t *http; /* the shared client (NULL for the file backend) */
    char *url;       /* as configured, for logs; credentials never included */
};

/* cw_store_open parses |url| (file:DIR, file:///DIR, gs://bucket/prefix,
 * azblob://account/container/prefix, https://acct.blob.core.windows.net/container?sas,
 * s3://bucket/prefix) and returns the store, or NULL after writing a one-line
 * reason into |err|. Credentials come from the environment (see README).
 * Borrows |http| (must outlive the store). */
cw_store_t *cw_store_open(const char *url, cw_http_t *http, char *err, size_t err_size);
/* cw_store_close releases the store; no operation may be outstanding. */
void cw_store_close(cw_store_t *store);

/* cw_store_create writes |body| under |name| only if |name| does not exist:
 * CW_STORE_OK (created) or CW_STORE_EXISTS. Copies |name| and |body|. */
void cw_store_create(cw_store_t *store, cw_loop_t *loop, const char *name, const void *body, size_t body_len, cw_store_cb cb,
                     void *data);
/* cw_store_get reads |name|: CW_STORE_OK with data, or CW_STORE_NOT_FOUND. */
void cw_store_get(cw_store_t *store, cw_loop_t *loop, const char *name, cw_store_cb cb, void *data);
/* cw_store_delete removes |name|: CW_STORE_OK or CW_STORE_NOT_FOUND. */
void cw_store_delete(cw_store_t *store, cw_loop_t *loop, const char *name, cw_store_cb cb, void *data);
/* cw_store_list returns up to |max_names| names starting with |prefix| (all
 * pages fetched), sorted. */
void cw_store_list(cw_store_t *store, cw_loop_t *loop, const char *prefix, size_t max_names, cw_store_cb cb, void *data);

/* The largest object a backend reads back (a get of anything larger fails): what the
 * event lifecycle may write. */
#define CW_STORE_FILE_MAX_OBJECT_BYTES ((size_t)16 * 1024 * 1024)
#define CW_STORE_CLOUD_MAX_OBJECT_BYTES ((size_t)8 * 1024 * 1024)
/* cw_store_max_object_bytes returns that limit for |store|'s backend. */
size_t cw_store_max_object_bytes(const cw_store_t *store);

/* cw_store_status_name returns "ok", "exists", "not_found", "unavailable", "denied". */
const char *cw_store_status_name(cw_store_status_t status);

/* Backend constructors, called by cw_store_open; each returns NULL and fills |err| on a bad URL. */
cw_store_t *cw_store_file_open(const char *dir, char *err, size_t err_size);
/* How a file store gives a written object its name, create-only (docs/design.md §10). At open the store
 * takes the first its filesystem and privileges allow, in this order. */
typedef enum en_cw_file_create_t {
    CW_FILE_CREATE_LINK_FD,   /* an unnamed file (O_TMPFILE), linkat(AT_EMPTY_PATH) */
    CW_FILE_CREATE_LINK_PROC, /* an unnamed file (O_TMPFILE), linkat of /proc/self/fd/N */
    CW_FILE_CREATE_RENAME,    /* a temp file in .tmp/, renameat2(RENAME_NOREPLACE) */
    CW_FILE_CREATE_LINK,      /* a temp file in .tmp/, link() then unlink() */
} cw_file_create_t;
/* cw_file_create_name returns "link-fd", "link-proc", "rename", "link". */
const char *cw_file_create_name(cw_file_create_t how);
/* cw_store_file_create_mode returns how a file store creates; cw_store_file_force_create makes it create
 * as |how| (tests: every path, on any filesystem that supports it). Before any operation. */
cw_file_create_t cw_store_file_create_mode(const cw_store_t *store);
void cw_store_file_force_create(cw_store_t *store, cw_file_create_t how);
cw_store_t *cw_store_gcs_open(const char *url, cw_http_t *http, char *err, size_t err_size);
cw_store_t *cw_store_azure_open(const char *url, cw_http_t *http, char *err, size_t err_size);
cw_store_t *cw_store_s3_open(const char *url, cw_http_t *http, char *err, size_t err_size);

#endif
