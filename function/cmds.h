/*
 * cmds.h: clay-function's parts that live in their own files: the command-line
 * subcommands and the relay endpoint. Subcommands take the arguments after
 * their name (argv[0] is the subcommand) and return the exit code: 0 success,
 * 1 work failed, 2 usage or configuration error (one line on stderr).
 */
#ifndef CW_FUNCTION_CMDS_H
#define CW_FUNCTION_CMDS_H

#include "cw/http.h"
#include "cw/server.h"
#include "config.h"
#include "store.h"

/* clay-function send: rows from a file into Clay table webhooks (send.c). */
int cw_send_main(int argc, char **argv);
/* clay-function redrive: finish pending events, or list dead letters (redrive.c). */
int cw_redrive_main(int argc, char **argv);

/* The relay endpoint POST /api/clay/rows (relay.c), on when CLAY_WEBHOOK_URLS is set. */
typedef struct st_cw_relay_t cw_relay_t;
/* cw_relay_new builds the relay from |cfg| (borrowed). Returns NULL with a
 * one-line "NAME: reason" in |err| on a bad setting. */
cw_relay_t *cw_relay_new(const cw_config_t *cfg, cw_store_t *store, cw_http_t *http, char *err, size_t err_size);
/* cw_relay_handle is the cw_handler_fn of POST /api/clay/rows; |data| is the relay. */
int cw_relay_handle(cw_worker_t *worker, h2o_req_t *req, void *data);
/* cw_relay_free releases |relay| (NULL is fine). */
void cw_relay_free(cw_relay_t *relay);

#endif
