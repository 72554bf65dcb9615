/*
 * readyz.h: GET /readyz, readiness that includes the store. A probe reads a
 * fixed name ("readyz-probe" under STORE_PREFIX): an answer, the object or
 * not_found, means the store is reachable and takes the credentials. The
 * result is cached; a request finding it older than CW_READYZ_MAX_AGE_MS
 * starts a new probe and waits for it, so an answer is never staler than that.
 *
 *   200 {"status":"ready","store":"reachable"}
 *   503 {"error":"store_unavailable","detail":…} + Retry-After  the store did not answer (or 5xx)
 *   503 {"error":"store_denied","detail":…}                      it refused the credentials or the bucket
 *   503 {"error":"not_ready",…}                                  still starting
 */
#ifndef CW_READYZ_H
#define CW_READYZ_H

#include <stdatomic.h>
#include "cw/server.h"
#include "store.h"

#define CW_READYZ_MAX_AGE_MS 10000
#define CW_READYZ_PROBE_NAME "readyz-probe"

typedef struct st_cw_readyz_t cw_readyz_t;

/* cw_readyz_new makes the endpoint's state. Borrows |store| and |started| (1 once
 * the service listens); copies |prefix| (STORE_PREFIX, "" or ending in '/'). Never NULL. */
cw_readyz_t *cw_readyz_new(cw_store_t *store, const char *prefix, const atomic_int *started);
/* cw_readyz_free releases |readyz| (NULL is fine); no probe may be in flight. */
void cw_readyz_free(cw_readyz_t *readyz);
/* cw_readyz_handle is the cw_handler_fn of GET /readyz; |data| is the cw_readyz_t.
 * Runs on any worker's thread; a probe it starts completes on that worker's loop. */
int cw_readyz_handle(cw_worker_t *worker, h2o_req_t *req, void *data);

#endif
