/*
 * redrive.c: lists pending/ and walks each event through cw_event_resume, a
 * few at a time. An event whose lease (or backoff) is running is left alone;
 * lease n lasts LEASE_S * 2^n, so a sink that keeps failing is retried less
 * and less often, up to REDRIVE_MAX_BACKOFF_S apart.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cw/log.h"
#include "cw/metrics.h"
#include "cw/opt.h"
#include "cw/util.h"
#include "redrive.h"

typedef struct st_run_t {
    const cw_engine_t *engine;
    cw_loop_t *loop;
    cw_redrive_cb cb;
    void *data;
    char **ids;
    size_t num_ids, next, running, max_parallel;
    uint64_t deadline_ms;
    cw_redrive_summary_t summary;
} run_t;

static void run_more(run_t *run);

/* metrics, registered once (cw_redrive_init_metrics) so a scrape lists them before any redrive */
static cw_gauge_t *pending_gauge;
static cw_counter_t *denied_counter;
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void init_metrics(void)
{
    pending_gauge = cw_metrics_gauge("clay_pending_events", "Pending events left after the last redrive on this instance", NULL);
    denied_counter = cw_metrics_counter("clay_redrive_denied_total", "Redrive requests refused (no or wrong bearer token)", NULL);
}

void cw_redrive_init_metrics(void)
{
    pthread_once(&metrics_once, init_metrics);
}

static void on_resumed(const cw_event_outcome_t *o, void *data)
{
    run_t *run = data;
    --run->running;
    switch (o->kind) {
    case CW_EVENT_PROCESSED:
        ++run->summary.completed;
        break;
    case CW_EVENT_ACCEPTED:
        ++run->summary.still_pending;
        break;
    case CW_EVENT_DUPLICATE:
        ++run->summary.already_done;
        break;
    case CW_EVENT_IN_PROGRESS:
        ++run->summary.leased;
        break;
    case CW_EVENT_ABSENT:
        ++run->summary.cleared;
        break;
    case CW_EVENT_STORE_UNAVAILABLE:
    case CW_EVENT_TOO_LARGE: /* submit only */
        ++run->summary.store_errors;
        break;
    }
    if (o->kind == CW_EVENT_PROCESSED || o->kind == CW_EVENT_ACCEPTED || o->kind == CW_EVENT_STORE_UNAVAILABLE) {
        cw_log(o->kind == CW_EVENT_STORE_UNAVAILABLE ? CW_LOG_WARNING : CW_LOG_INFO, NULL, 0, "redrive",
               (cw_log_field_t[]){CW_LF_STR("event_id", o->id), CW_LF_STR("outcome", cw_event_kind_name(o->kind)),
                                  CW_LF_STR("route", o->route), CW_LF_STR("detail", o->detail)},
               4);
    }
    run_more(run);
}

static void run_free(run_t *run)
{
    for (size_t i = 0; i != run->num_ids; ++i) {
        free(run->ids[i]);
    }
    free(run->ids);
    free(run);
}

static void run_more(run_t *run)
{
    while (run->running < run->max_parallel && run->next < run->num_ids) {
        if (cw_now_ms() >= run->deadline_ms) {
            run->summary.skipped = run->num_ids - run->next;
            run->next = run->num_ids;
            break;
        }
        ++run->running;
        cw_event_resume(run->engine, run->loop, run->ids[run->next++], on_resumed, run);
    }
    if (run->running == 0 && run->next == run->num_ids) {
        cw_redrive_init_metrics();
        cw_gauge_set(pending_gauge, (int64_t)(run->summary.still_pending + run->summary.leased + run->summary.store_errors +
                                              run->summary.skipped));
        run->cb(&run->summary, run->data);
        run_free(run);
    }
}

static void on_listed(const cw_store_result_t *res, void *data)
{
    run_t *run = data;
    if (res->status != CW_STORE_OK) {
        run->summary.list_failed = 1;
        run->cb(&run->summary, run->data);
        run_free(run);
        return;
    }
    run->ids = cw_calloc(res->num_names + 1, sizeof(*run->ids));
    for (size_t i = 0; i != res->num_names; ++i) {
        const char *slash = strrchr(res->names[i], '/');
        const char *id = slash != NULL ? slash + 1 : res->names[i];
        if (strlen(id) == 64) {
            run->ids[run->num_ids++] = cw_strdup(id);
        }
    }
    run->summary.scanned = run->num_ids;
    run_more(run);
}

void cw_redrive_run(const cw_engine_t *engine, cw_loop_t *loop, size_t max_parallel, uint64_t budget_ms, cw_redrive_cb cb,
                    void *data)
{
    run_t *run = cw_calloc(1, sizeof(*run));
    *run = (run_t){.engine = engine,
                   .loop = loop,
                   .cb = cb,
                   .data = data,
                   .max_parallel = max_parallel != 0 ? max_parallel : 1,
                   .deadline_ms = cw_now_ms() + budget_ms};
    char prefix[256];
    snprintf(prefix, sizeof(prefix), "%spending/", engine->cfg->store_prefix);
    cw_store_list(engine->store, loop, prefix, 1000000, on_listed, run);
}

void cw_redrive_summary_json(cw_buf_t *out, const cw_redrive_summary_t *s)
{
    cw_buf_appendf(out,
                   "{\"scanned\":%zu,\"completed\":%zu,\"already_done\":%zu,\"still_pending\":%zu,\"leased\":%zu,\"cleared\":%zu,"
                   "\"store_errors\":%zu,\"skipped\":%zu%s}",
                   s->scanned, s->completed, s->already_done, s->still_pending, s->leased, s->cleared, s->store_errors, s->skipped,
                   s->list_failed ? ",\"error\":\"store_unavailable\"" : "");
}

/* ---- POST /internal/redrive ---- */

typedef struct st_http_run_t {
    cw_async_t async;
} http_run_t;

static void on_http_run_done(const cw_redrive_summary_t *s, void *data)
{
    http_run_t *hr = data;
    h2o_req_t *req = cw_async_take(&hr->async);
    cw_buf_t b = CW_BUF_INIT;
    cw_redrive_summary_json(&b, s);
    cw_log(s->list_failed ? CW_LOG_ERROR : CW_LOG_INFO, NULL, 0, "redrive run",
           (cw_log_field_t[]){{.key = "summary", .type = CW_LOG_RAW, .s = b.base, .len = b.len}}, 1);
    if (req != NULL) {
        if (s->list_failed) {
            cw_add_header(req, "retry-after", "30");
            cw_respond_json(req, 503, b.base, b.len);
        } else {
            cw_respond_json(req, 200, b.base, b.len);
        }
    }
    cw_buf_free(&b);
    cw_async_end(&hr->async);
    free(hr);
}

/* refusal tells whether POST /internal/redrive refuses |req| from its headers alone, and how (one place for the
 * handler and the header check). */
typedef struct st_refusal_t {
    int status;
    const char *code, *detail;
} refusal_t;

static int refuses(const cw_engine_t *engine, h2o_req_t *req, refusal_t *out)
{
    cw_redrive_init_metrics();
    if (engine->cfg->redrive_token == NULL) {
        *out = (refusal_t){404, "redrive_off", "set REDRIVE_TOKEN to turn POST /internal/redrive on"};
    } else if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        *out = (refusal_t){405, "method_not_allowed", "use POST"};
    } else if (!cw_bearer_matches(cw_req_header(req, H2O_STRLIT("authorization")), engine->cfg->redrive_token)) {
        cw_counter_inc(denied_counter);
        *out = (refusal_t){401, "unauthorized", "Authorization: Bearer <REDRIVE_TOKEN> required"};
    } else {
        return 0;
    }
    return 1;
}

int cw_redrive_check_headers(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    refusal_t r;
    if (!refuses(data, req, &r)) {
        return 0;
    }
    cw_req_refuse(req, r.status, r.code, r.detail, r.status == 405 ? "allow" : NULL, r.status == 405 ? "POST" : NULL);
    return -1;
}

int cw_redrive_handle(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    const cw_engine_t *engine = data;
    refusal_t r;
    if (refuses(engine, req, &r)) {
        if (r.status == 405) {
            cw_add_header(req, "allow", "POST");
        }
        cw_respond_error(req, r.status, r.code, r.detail);
        return 0;
    }
    http_run_t *hr = cw_calloc(1, sizeof(*hr));
    cw_async_begin(&hr->async, req);
    /* Cloud Scheduler calls every minute: keep a run well inside that. */
    cw_redrive_run(engine, &worker->loop, 16, 45000, on_http_run_done, hr);
    return 0;
}

/* ---- clay-function redrive ---- */

typedef struct st_cli_t {
    cw_store_t *store;
    cw_loop_t loop;
    int done;
    int rc;
    int json;
    size_t outstanding;
} cli_t;

static void on_cli_run_done(const cw_redrive_summary_t *s, void *data)
{
    cli_t *cli = data;
    cw_buf_t b = CW_BUF_INIT;
    cw_redrive_summary_json(&b, s);
    if (cli->json) {
        printf("%s\n", b.base);
    } else {
        printf("redrive: %zu pending scanned: %zu completed, %zu already done, %zu still pending, %zu leased, %zu cleared, "
               "%zu store errors, %zu skipped\n",
               s->scanned, s->completed, s->already_done, s->still_pending, s->leased, s->cleared, s->store_errors, s->skipped);
    }
    cw_buf_free(&b);
    cli->rc = s->list_failed || s->store_errors != 0 ? 1 : 0;
    if (s->list_failed) {
        fprintf(stderr, "clay-function redrive: the store is unavailable (listing pending/ failed)\n");
    }
    cli->done = 1;
}

typedef struct st_failed_item_t {
    cli_t *cli;
    char *name;
} failed_item_t;

static void on_failed_read(const cw_store_result_t *res, void *data)
{
    failed_item_t *item = data;
    cli_t *cli = item->cli;
    /* names are [prefix]failed/<id>/<sink> */
    const char *rest = strstr(item->name, "failed/");
    rest = rest != NULL ? rest + 7 : item->name;
    const char *slash = strchr(rest, '/');
    int id_len = slash != NULL ? (int)(slash - rest) : (int)strlen(rest);
    const char *sink = slash != NULL ? slash + 1 : "?";
    int ok = res->status == CW_STORE_OK && res->data_len != 0;
    if (cli->json) {
        printf("{\"id\":\"%.*s\",\"sink\":\"%s\",\"marker\":%s}\n", id_len, rest, sink, ok ? res->data : "null");
    } else {
        printf("%.*s  %-8s  %s\n", id_len, rest, sink, ok ? res->data : cw_store_status_name(res->status));
    }
    free(item->name);
    free(item);
    if (--cli->outstanding == 0) {
        cli->done = 1;
    }
}

static void on_failed_listed(const cw_store_result_t *res, void *data)
{
    cli_t *cli = data;
    if (res->status != CW_STORE_OK) {
        fprintf(stderr, "clay-function redrive: cannot list dead letters: %s\n", res->detail);
        cli->rc = 1;
        cli->done = 1;
        return;
    }
    if (res->num_names == 0) {
        if (!cli->json) {
            printf("no dead letters\n");
        }
        cli->done = 1;
        return;
    }
    cli->outstanding = res->num_names;
    for (size_t i = 0; i != res->num_names; ++i) {
        failed_item_t *item = cw_calloc(1, sizeof(*item));
        item->cli = cli;
        item->name = cw_strdup(res->names[i]);
        cw_store_get(cli->store, &cli->loop, item->name, on_failed_read, item);
    }
}

/* The column where the help text of the options starts. */
#define HELP_COLUMN 18

static void redrive_usage(FILE *fp, const cw_opt_t *opts, size_t num_opts)
{
    cw_opt_print_help(fp,
                      "usage: clay-function redrive [--list-failed] [--json]\n"
                      "  Finishes pending events whose lease expired (the same run as POST /internal/redrive),\n"
                      "  using the same environment as serve (STORE_URL, sink URLs, LEASE_S, ...).\n",
                      opts, num_opts, HELP_COLUMN, "exit status: 0 done, 1 store errors, 2 usage or configuration error\n");
}

int cw_redrive_main(int argc, char **argv)
{
    int list_failed = 0, help = 0, rc = 2;
    cli_t cli = {.rc = 0};
    cw_config_t cfg;
    cw_http_t *http = NULL;
    char err[512];
    const cw_opt_t opts[] = {
        {.name = "--list-failed",
         .type = CW_OPT_FLAG,
         .target = &list_failed,
         .help = "list dead letters (failed/<id>/<sink>) with the sink's answer instead"},
        {.name = "--json", .type = CW_OPT_FLAG, .target = &cli.json, .help = "one JSON object per line"},
    };

    if (cw_opt_parse(opts, CW_ARRAY_SIZE(opts), argc, argv, &help, err, sizeof(err)) != 0) {
        fprintf(stderr, "clay-function redrive: %s\n", err);
        redrive_usage(stderr, opts, CW_ARRAY_SIZE(opts));
        return 2;
    }
    if (help) {
        redrive_usage(stdout, opts, CW_ARRAY_SIZE(opts));
        return 0;
    }
    /* The CLI needs no secret: it never receives callbacks. */
    if (getenv("CLAY_WEBHOOK_SECRET") == NULL) {
        setenv("ALLOW_UNAUTHENTICATED", "1", 0);
    }
    if (cw_config_load(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "clay-function redrive: %s\n", err);
        return 2;
    }
    cw_log_set_fd(2); /* stdout carries the report */
    if ((http = cw_http_new()) == NULL) {
        fprintf(stderr, "clay-function redrive: cannot initialise the HTTP client\n");
        return 1;
    }
    if ((cli.store = cw_store_open(cfg.store_url, http, err, sizeof(err))) == NULL) {
        fprintf(stderr, "clay-function redrive: STORE_URL: %s\n", err);
        goto Exit;
    }
    cw_loop_init(&cli.loop);
    cw_engine_t engine = {&cfg, cli.store, http, 0};
    if (list_failed) {
        char prefix[256];
        snprintf(prefix, sizeof(prefix), "%sfailed/", cfg.store_prefix);
        cw_store_list(cli.store, &cli.loop, prefix, 1000000, on_failed_listed, &cli);
    } else {
        cw_redrive_run(&engine, &cli.loop, 16, UINT64_MAX / 2, on_cli_run_done, &cli);
    }
    while (!cli.done) {
        cw_loop_run_once(&cli.loop);
    }
    rc = cli.rc;
    cw_store_close(cli.store);
    cw_loop_dispose(&cli.loop, 1);
Exit:
    cw_http_free(http);
    return rc;
}
