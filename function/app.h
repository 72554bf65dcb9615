/*
 * app.h: the state clay-function's endpoints share: configuration and the
 * long-lived objects built from it. One per process, read-only after start
 * except where a field says otherwise.
 */
#ifndef CW_APP_H
#define CW_APP_H

#include <stdatomic.h>
#include "cw/http.h"
#include "cw/server.h"
#include "config.h"

typedef struct st_cw_app_t {
    cw_config_t cfg;
    cw_http_t *http;                   /* never NULL while serving */
    struct st_cw_store_t *store;       /* NULL until opened */
    struct st_cw_receiver_t *receiver; /* NULL until the receiver is set up */
    struct st_cw_relay_t *relay;       /* NULL when CLAY_WEBHOOK_URLS is unset */
    atomic_int ready;                  /* 1 once config and store are usable */
} cw_app_t;

#endif
