/*
 * relay.h: the relay endpoint POST /api/clay/rows (relay.c), on when
 * CLAY_WEBHOOK_URLS is set: forwards rows into Clay table webhooks with the
 * send client's pacing, and counts the per-webhook quota in the store.
 */
#ifndef CW_RELAY_H
#define CW_RELAY_H

#include <stddef.h>
#include "cw/http.h"
#include "cw/server.h"
#include "config.h"
#include "store.h"

typedef struct st_cw_relay_t cw_relay_t;

/* cw_relay_new builds the relay from |cfg| (borrowed; so are |store| and
 * |http|). Returns NULL with a one-line "NAME: reason" in |err| on a bad setting. */
cw_relay_t *cw_relay_new(const cw_config_t *cfg, cw_store_t *store, cw_http_t *http, char *err, size_t err_size);
/* cw_relay_handle is the cw_handler_fn of POST /api/clay/rows; |data| is the relay. */
int cw_relay_handle(cw_worker_t *worker, h2o_req_t *req, void *data);
/* cw_relay_check_headers is its cw_headers_fn: a request the handler would refuse for its token or method is
 * answered the same way from its headers, before any of its body is read. */
int cw_relay_check_headers(cw_worker_t *worker, h2o_req_t *req, void *data);
/* cw_relay_free releases |relay| (NULL is fine). */
void cw_relay_free(cw_relay_t *relay);

#endif
