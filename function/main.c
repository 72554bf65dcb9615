/*
 * clay-function: the Cloud Run service (serve, the default) and its
 * command-line subcommands (send, redrive).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cw/http.h"
#include "cw/log.h"
#include "cw/metrics.h"
#include "cw/server.h"
#include "app.h"
#include "config.h"
#include "readyz.h"
#include "receiver.h"
#include "redrive.h"
#include "relay.h"
#include "send.h"
#include "store.h"

#define CW_VERSION "0.1.0"

static void usage(FILE *fp)
{
    fputs("usage: clay-function [serve]            run the HTTP service (default)\n"
          "       clay-function send --help        send rows into Clay table webhooks\n"
          "       clay-function redrive --help     finish pending events; list dead letters\n"
          "       clay-function --version\n\n"
          "Endpoints: POST /api/clay/enriched, POST /api/clay/rows, POST /internal/redrive,\n"
          "           GET /healthz, GET /readyz, GET /metrics\n\n",
          fp);
    cw_config_print_help(fp);
}

static int on_healthz(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    cw_respond_json(req, 200, H2O_STRLIT("{\"status\":\"ok\"}"));
    return 0;
}

static int on_metrics(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    cw_app_t *app = data;
    if (app->cfg.metrics_token != NULL &&
        !cw_bearer_matches(cw_req_header(req, H2O_STRLIT("authorization")), app->cfg.metrics_token)) {
        cw_add_header(req, "www-authenticate", "Bearer");
        cw_respond_error(req, 401, "unauthorized", "Authorization: Bearer <METRICS_TOKEN> required");
        return 0;
    }
    cw_buf_t out = CW_BUF_INIT;
    cw_metrics_render(&out);
    cw_metrics_render_process(&out);
    cw_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.base != NULL ? out.base : "", out.len);
    cw_buf_free(&out);
    return 0;
}

static int on_relay_off(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    cw_respond_error(req, 404, "relay_off", "the relay is off: set CLAY_WEBHOOK_URLS to turn it on");
    return 0;
}

static int on_relay_off_headers(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    cw_req_refuse(req, 404, "relay_off", "the relay is off: set CLAY_WEBHOOK_URLS to turn it on", NULL, NULL);
    return -1;
}

static int on_not_found(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    cw_respond_error(req, 404, "not_found", "no such endpoint");
    return 0;
}

/* on_not_found_headers refuses a body sent to no endpoint before reading it. */
static int on_not_found_headers(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    cw_req_refuse(req, 404, "not_found", "no such endpoint", NULL, NULL);
    return -1;
}

/* A graceful stop answers the callbacks still delivering before its deadline (202, redrive finishes). */
static void on_worker_stopping(cw_worker_t *worker, void *data)
{
    cw_app_t *app = data;
    cw_receiver_worker_stopping(app->receiver, worker);
}

static void on_worker_stop(cw_worker_t *worker, void *data)
{
    cw_app_t *app = data;
    cw_receiver_worker_stopped(app->receiver, worker);
}

static int serve(void)
{
    static cw_app_t app;
    char err[512];
    int rc = 1;
    cw_server_t *server = NULL;
    cw_readyz_t *readyz = NULL;

    if (cw_config_load(&app.cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "clay-function: %s\n", err);
        return 2;
    }
    static const cw_severity_t sev[] = {CW_LOG_DEBUG, CW_LOG_INFO, CW_LOG_WARNING, CW_LOG_ERROR};
    cw_log_set_min_severity(sev[app.cfg.log_level]);
    cw_log_set_project(app.cfg.project);
    if (app.cfg.webhook_secrets == NULL) {
        cw_log(CW_LOG_WARNING, NULL, 0,
               "ALLOW_UNAUTHENTICATED=1 and no CLAY_WEBHOOK_SECRET: every callback is accepted unauthenticated", NULL, 0);
    }

    if ((app.http = cw_http_new()) == NULL) {
        fprintf(stderr, "clay-function: cannot initialise the HTTP client\n");
        return 1;
    }
    if ((app.store = cw_store_open(app.cfg.store_url, app.http, err, sizeof(err))) == NULL) {
        fprintf(stderr, "clay-function: STORE_URL: %s\n", err);
        rc = 2;
        goto Exit;
    }
    /* An event record holds the body and the lead made from it: it must stay readable by the store. */
    size_t max_record = cw_store_max_object_bytes(app.store);
    if (app.cfg.max_body_bytes > max_record / 2 - 65536) {
        fprintf(stderr,
                "clay-function: MAX_BODY_BYTES: at most %zu with this store (an event record holds the body twice, and the "
                "store reads back objects of up to %zu bytes)\n",
                max_record / 2 - 65536, max_record);
        rc = 2;
        goto Exit;
    }

    if ((app.receiver = cw_receiver_new(&app.cfg, app.store, app.http, err, sizeof(err))) == NULL) {
        fprintf(stderr, "clay-function: %s\n", err);
        rc = 2;
        goto Exit;
    }

    if (app.cfg.clay_webhook_urls != NULL) {
        if ((app.relay = cw_relay_new(&app.cfg, app.store, app.http, err, sizeof(err))) == NULL) {
            fprintf(stderr, "clay-function: %s\n", err);
            rc = 2;
            goto Exit;
        }
    }

    cw_server_options_t opts = {
        .host = app.cfg.bind_address,
        .port = app.cfg.port,
        .num_workers = app.cfg.workers,
        .max_body_bytes = app.cfg.max_body_bytes,
        .max_receiving_bytes = app.cfg.max_receiving_bytes,
        .no_h2c = !app.cfg.h2c,
        .request_timeout_ms = app.cfg.request_timeout_ms,
        .max_connections = app.cfg.max_connections,
        .shutdown_timeout_ms = app.cfg.shutdown_timeout_ms,
        .handle_signals = 1,
        .on_worker_stopping = on_worker_stopping,
        .on_worker_stop = on_worker_stop,
        .data = &app,
    };
    server = cw_server_new(&opts);
    cw_server_route(server, "/healthz", on_healthz, &app);
    /* Every series listed from the first scrape (the store's, the receiver's and the relay's are
     * registered by their constructors above). */
    cw_redrive_init_metrics();
    cw_gauge_set(cw_metrics_gauge("clay_build_info", "The running build (value 1)", "version=\"" CW_VERSION "\""), 1);
    readyz = cw_readyz_new(app.store, app.cfg.store_prefix, &app.ready);
    cw_server_route(server, "/readyz", cw_readyz_handle, readyz);
    cw_server_route(server, "/metrics", on_metrics, &app);
    cw_server_route_ex(server, "/api/clay/enriched", cw_receiver_handle, cw_receiver_check_headers, app.receiver);
    /* Every endpoint that takes a body refuses what it would refuse from the headers, before reading the body. */
    cw_server_route_ex(server, "/internal/redrive", cw_redrive_handle, cw_redrive_check_headers,
                       (void *)cw_receiver_engine(app.receiver));
    if (app.relay != NULL) {
        cw_server_route_ex(server, "/api/clay/rows", cw_relay_handle, cw_relay_check_headers, app.relay);
    } else {
        cw_server_route_ex(server, "/api/clay/rows", on_relay_off, on_relay_off_headers, &app);
    }
    cw_server_route_ex(server, "/", on_not_found, on_not_found_headers, &app);
    if (cw_server_listen(server) != 0) {
        goto Exit;
    }
    atomic_store(&app.ready, 1);
    cw_log(CW_LOG_INFO, NULL, 0, "listening",
           (cw_log_field_t[]){CW_LF_STR("address", app.cfg.bind_address), CW_LF_INT("port", cw_server_port(server)),
                              CW_LF_INT("workers", cw_server_num_workers(server)), CW_LF_STR("store", app.store->url),
                              CW_LF_STR("version", CW_VERSION)},
           5);
    rc = cw_server_run(server);
    cw_log(CW_LOG_INFO, NULL, 0, rc == 0 ? "stopped" : "stopped at the shutdown deadline", NULL, 0);
    if (rc != 0) {
        /* Work is still running on worker threads: leave without tearing shared state down under them. */
        fflush(stdout);
        _exit(0);
    }

Exit:
    cw_server_free(server);
    cw_readyz_free(readyz);
    cw_receiver_free(app.receiver);
    if (app.relay != NULL) {
        cw_relay_free(app.relay);
    }
    if (app.store != NULL) {
        cw_store_close(app.store);
    }
    cw_http_free(app.http);
    return rc;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "serve";
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("clay-function %s (%s)\n", CW_VERSION, cw_http_version());
        return 0;
    }
    if (strcmp(cmd, "serve") == 0) {
        if (argc > 2) {
            fprintf(stderr, "clay-function serve: takes no arguments (configuration is from the environment; see --help)\n");
            return 2;
        }
        return serve();
    }
    if (strcmp(cmd, "send") == 0) {
        return cw_send_main(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "redrive") == 0) {
        return cw_redrive_main(argc - 1, argv + 1);
    }
    fprintf(stderr, "clay-function: unknown command '%s' (see clay-function --help)\n", cmd);
    return 2;
}
