/*
 * receiver.h: POST /api/clay/enriched, the callback receiver (docs/design.md
 * §2): size and type, authentication of the raw bytes, parsing and
 * normalisation, the idempotency key, durable acceptance, routing and delivery,
 * each failure with its one documented response.
 */
#ifndef CW_RECEIVER_H
#define CW_RECEIVER_H

#include <stddef.h>
#include "cw/http.h"
#include "cw/server.h"
#include "config.h"
#include "event.h"
#include "store.h"

typedef struct st_cw_receiver_t cw_receiver_t;

/* cw_receiver_new builds the receiver from |cfg| (borrowed; must outlive it).
 * Returns NULL with a one-line "NAME: reason" in |err| on a bad setting. */
cw_receiver_t *cw_receiver_new(const cw_config_t *cfg, cw_store_t *store, cw_http_t *http, char *err, size_t err_size);
/* cw_receiver_free releases |receiver| (NULL is fine). */
void cw_receiver_free(cw_receiver_t *receiver);
/* cw_receiver_engine returns the lifecycle engine the receiver uses (shared with redrive). */
const cw_engine_t *cw_receiver_engine(const cw_receiver_t *receiver);
/* cw_receiver_worker_stopping is called on each worker thread when a graceful stop begins: callbacks
 * still delivering when SHUTDOWN_TIMEOUT_MS is near answer 202 accepted (their pending/ marker written)
 * instead of being cut off by the exit; redrive finishes them. cw_receiver_worker_stopped, on the same
 * thread once its loop drained, disarms what the former armed. */
void cw_receiver_worker_stopping(cw_receiver_t *receiver, cw_worker_t *worker);
void cw_receiver_worker_stopped(cw_receiver_t *receiver, cw_worker_t *worker);
/* cw_receiver_handle is the cw_handler_fn of POST /api/clay/enriched; |data| is the receiver. */
int cw_receiver_handle(cw_worker_t *worker, h2o_req_t *req, void *data);
/* cw_receiver_check_headers is the cw_headers_fn of the same route: method, Content-Type
 * and the credentials that can be judged without the body (cw_auth_check_headers), so
 * an unauthenticated body is refused before it is read. |data| is the receiver. */
int cw_receiver_check_headers(cw_worker_t *worker, h2o_req_t *req, void *data);

#endif
