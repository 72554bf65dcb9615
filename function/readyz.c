/*
 * readyz.c: GET /readyz with a cached store probe (readyz.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cw/log.h"
#include "cw/util.h"
#include "readyz.h"

#define UNAVAILABLE_RETRY_AFTER "5"

typedef struct st_waiter_t waiter_t;

struct st_cw_readyz_t {
    cw_store_t *store;
    const atomic_int *started;
    char *name;           /* the probe's object name, with STORE_PREFIX */
    pthread_mutex_t lock; /* guards what follows: handlers on every worker read it */
    int known;            /* a probe has answered */
    cw_store_status_t status;
    char detail[200];
    uint64_t checked_ms;
    int in_flight;
    waiter_t *waiters; /* requests waiting for the probe in flight, all on its worker's loop */
};

/* waiter_t is one request that waits for the probe in flight. */
struct st_waiter_t {
    cw_async_t async;
    waiter_t *next;
};

static void respond(h2o_req_t *req, cw_store_status_t status, const char *detail)
{
    switch (status) {
    case CW_STORE_OK:
    case CW_STORE_NOT_FOUND:
        cw_respond_json(req, 200, H2O_STRLIT("{\"status\":\"ready\",\"store\":\"reachable\"}"));
        break;
    case CW_STORE_DENIED:
        cw_respond_error(req, 503, "store_denied", detail);
        break;
    default:
        cw_add_header(req, "retry-after", UNAVAILABLE_RETRY_AFTER);
        cw_respond_error(req, 503, "store_unavailable", detail);
        break;
    }
}

static void on_probed(const cw_store_result_t *res, void *data)
{
    cw_readyz_t *r = data;
    /* Any answer to a read of a name says the store is there and takes our credentials. */
    cw_store_status_t status = res->status == CW_STORE_EXISTS ? CW_STORE_OK : res->status;
    pthread_mutex_lock(&r->lock);
    int changed = !r->known || (r->status == CW_STORE_NOT_FOUND ? CW_STORE_OK : r->status) !=
                                   (status == CW_STORE_NOT_FOUND ? CW_STORE_OK : status);
    r->known = 1;
    r->status = status;
    snprintf(r->detail, sizeof(r->detail), "%s", res->detail);
    r->checked_ms = cw_now_ms();
    r->in_flight = 0;
    waiter_t *w = r->waiters;
    r->waiters = NULL;
    pthread_mutex_unlock(&r->lock);

    if (changed) {
        int ok = status == CW_STORE_OK || status == CW_STORE_NOT_FOUND;
        cw_log(ok ? CW_LOG_INFO : CW_LOG_WARNING, NULL, 0, ok ? "readiness: store reachable" : "readiness: store not usable",
               (cw_log_field_t[]){CW_LF_STR("result", cw_store_status_name(status)), CW_LF_STR("detail", ok ? NULL : res->detail)},
               2);
    }
    while (w != NULL) {
        waiter_t *next = w->next;
        h2o_req_t *req = cw_async_take(&w->async);
        if (req != NULL) {
            respond(req, status, res->detail);
        }
        cw_async_end(&w->async);
        free(w);
        w = next;
    }
}

int cw_readyz_handle(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    cw_readyz_t *r = data;
    if (!atomic_load(r->started)) {
        cw_add_header(req, "retry-after", "1");
        cw_respond_error(req, 503, "not_ready", "starting");
        return 0;
    }
    pthread_mutex_lock(&r->lock);
    int fresh = r->known && cw_now_ms() - r->checked_ms < CW_READYZ_MAX_AGE_MS;
    if (fresh) {
        cw_store_status_t status = r->status;
        char detail[sizeof(r->detail)];
        memcpy(detail, r->detail, sizeof(detail));
        pthread_mutex_unlock(&r->lock);
        respond(req, status, detail);
        return 0;
    }
    /* Stale or never probed: wait for a probe. Waiters join only a probe running on their own loop
     * (its completion answers them there); on another worker's loop, start none and answer from the
     * cache, or "probing" before the first answer. */
    int start = !r->in_flight;
    int join = start || (r->waiters != NULL && r->waiters->async.worker == worker);
    if (join) {
        waiter_t *w = cw_calloc(1, sizeof(*w));
        cw_async_begin(&w->async, req);
        w->next = r->waiters;
        r->waiters = w;
        r->in_flight = 1;
    }
    cw_store_status_t status = r->status;
    int known = r->known;
    char detail[sizeof(r->detail)];
    memcpy(detail, r->detail, sizeof(detail));
    pthread_mutex_unlock(&r->lock);
    if (start) {
        cw_store_get(r->store, &worker->loop, r->name, on_probed, r);
    } else if (!join) {
        if (known) {
            respond(req, status, detail);
        } else {
            cw_add_header(req, "retry-after", "1");
            cw_respond_error(req, 503, "not_ready", "the first store probe is under way");
        }
    }
    return 0;
}

cw_readyz_t *cw_readyz_new(cw_store_t *store, const char *prefix, const atomic_int *started)
{
    cw_readyz_t *r = cw_calloc(1, sizeof(*r));
    r->store = store;
    r->started = started;
    size_t n = strlen(prefix) + sizeof(CW_READYZ_PROBE_NAME);
    r->name = cw_malloc(n);
    snprintf(r->name, n, "%s" CW_READYZ_PROBE_NAME, prefix);
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

void cw_readyz_free(cw_readyz_t *readyz)
{
    if (readyz == NULL) {
        return;
    }
    pthread_mutex_destroy(&readyz->lock);
    free(readyz->name);
    free(readyz);
}
