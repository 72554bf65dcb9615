/*
 * mock.c: `clay-harness mock`, the world around the function in one process:
 * a mock Clay inbound webhook, mock sinks with a delivery ledger, a GCS
 * XML-API emulator with fault injection and a metadata-server mock (see
 * mock.h for the paths). This file parses the command line, runs the server,
 * dispatches requests, and serves the metadata mock and /_harness/{health,
 * reset,metadata}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cw/log.h"
#include "cw/opt.h"
#include "cw/server.h"
#include "cw/util.h"
#include "mock.h"

static const char usage_head[] =
    "usage: clay-harness mock [options]\n"
    "\n"
    "Serves, on one port:\n"
    "  POST /clay/webhook/<id>        mock Clay inbound webhook (token, 100 KB, rate limit, quota, expiry)\n"
    "  POST /sinks/<name>             mock sinks; every 2xx delivery goes to the ledger\n"
    "  /<bucket>/<object>             GCS XML API emulator (STORAGE_EMULATOR_HOST=http://HOST:PORT)\n"
    "  GET /computeMetadata/v1/...    metadata server (GCE_METADATA_HOST=HOST:PORT)\n"
    "  /_harness/...                  inspection and control, below\n"
    "\n"
    "Clay webhook answers: 404 expired, 401 bad token, 413 over 100000 bytes, 400 not JSON,\n"
    "403 {\"error\":\"webhook submission limit reached\"} past --clay-limit (Clay does not document\n"
    "its answer), 429 + Retry-After past the workspace rate, else 200 {\"status\":\"ok\"} (or \"OK\" as\n"
    "text with --clay-text-ack). Every webhook feeds one table: past --clay-table-rows rows it still\n"
    "answers 200 but drops the row, silently, as Clay does with a full table. A JSON\n"
    "array is a batch of rows (one token and one submission each).\n"
    "\n"
    "Inspection and control:\n"
    "  GET  /_harness/health\n"
    "  POST /_harness/reset[?store=1]   clear ledger, sinks, Clay webhooks, counters, store faults\n"
    "                                   (and, with store=1, every stored object)\n"
    "  GET  /_harness/deliveries[?sink=S&event_id=E&key=K&summary=1]\n"
    "  GET|POST|DELETE /_harness/sinks/<name>   behaviour {\"fail_next\":N,\"fail_always\":bool,\n"
    "                                   \"status\":S,\"latency_ms\":MS,\"hang\":bool,\"retry_after\":S}\n"
    "  GET  /_harness/clay, /_harness/clay/<id>/rows[?summary=1]\n"
    "  POST|DELETE /_harness/clay/<id>  {\"expired\":bool,\"limit\":N,\"expire_after\":N}\n"
    "  GET|POST|DELETE /_harness/store  faults {\"fail_rate\",\"ambiguous_rate\",\"latency_ms\",\n"
    "                                   \"latency_spike_rate\",\"latency_spike_ms\",\"down\"}\n"
    "  GET  /_harness/store/stats, /_harness/store/objects?bucket=B[&prefix=P&summary=1]\n"
    "  GET|DELETE /_harness/store/log    every store request (arrival, delay, method, status, name)\n"
    "  GET  /_harness/metadata/stats\n"
    "\n"
    "options:\n";

static const char usage_tail[] = "\n"
                                 "Prints 'listening on http://HOST:PORT' on the first line of stdout once bound.\n";

/* The column where the help text of the options starts. */
#define HELP_COLUMN 33

static int listen_cb(const cw_opt_t *opt, const char *value, char *err, size_t err_size)
{
    cw_mock_config_t *config = opt->target;
    const char *colon = strrchr(value, ':');
    if (colon == NULL || (size_t)(colon - value) >= sizeof(config->host) || colon == value) {
        return -1;
    }
    uint64_t port;
    if (cw_parse_u64(colon + 1, strlen(colon + 1), 0, 65535, &port) != 0) {
        return -1;
    }
    memcpy(config->host, value, (size_t)(colon - value));
    config->host[colon - value] = '\0';
    config->port = (uint16_t)port;
    return 0;
}

/* parse_args fills |config| from argv ("--name value" or "--name=value"); on --help it prints the usage
 * and sets *|out_help|. Returns 0, or -1 with one line in |err|. */
static int parse_args(int argc, char **argv, cw_mock_config_t *config, int *out_help, char *err, size_t err_size)
{
    cw_mock_store_faults_t *st = &config->store;
    const char *fraction = "a fraction in [0, 1]";
    const cw_opt_t opts[] = {
        {.name = "--listen",
         .type = CW_OPT_CUSTOM,
         .cb = listen_cb,
         .target = config,
         .want = "HOST:PORT",
         .metavar = "HOST:PORT",
         .help = "bind address (default 127.0.0.1:0; port 0 picks a free one)"},
        {.name = "--workers",
         .type = CW_OPT_SIZE,
         .target = &config->num_workers,
         .min = 1,
         .max = 64,
         .want = "1 to 64",
         .metavar = "N",
         .help = "event-loop threads (default 1)"},
        {.name = "--clay-auth",
         .type = CW_OPT_STRING,
         .target = &config->clay_auth,
         .flags = CW_OPT_NONEMPTY,
         .want = "a token",
         .metavar = "TOKEN",
         .help = "require x-clay-webhook-auth: TOKEN (else 401)"},
        {.name = "--clay-rate",
         .type = CW_OPT_DOUBLE,
         .target = &config->clay_rate,
         .min = 0.001,
         .max = 1e6,
         .want = "rows per second (> 0)",
         .metavar = "R",
         .help = "workspace rate limit, rows per second (default 10)"},
        {.name = "--clay-burst",
         .type = CW_OPT_DOUBLE,
         .target = &config->clay_burst,
         .min = 1,
         .max = 1e6,
         .want = "a number >= 1",
         .metavar = "B",
         .help = "workspace burst (default 20)"},
        {.name = "--clay-limit",
         .type = CW_OPT_U64,
         .target = &config->clay_limit,
         .min = 1,
         .max = UINT32_MAX,
         .want = "a positive integer",
         .metavar = "N",
         .help = "submissions per webhook, then 403 (default 50000)"},
        {.name = "--clay-table-rows",
         .type = CW_OPT_U64,
         .target = &config->clay_table_rows,
         .min = 1,
         .max = UINT32_MAX,
         .want = "a positive integer",
         .metavar = "N",
         .help = "rows the table holds (all webhooks together), then 200 and the row is dropped\n(default 50000)"},
        {.name = "--clay-text-ack",
         .type = CW_OPT_FLAG,
         .target = &config->clay_text_ack,
         .help = "answer an accepted row with text/plain \"OK\", not JSON (Clay does not document its answer)"},
        {.name = "--expire-after",
         .type = CW_OPT_U64,
         .target = &config->expire_after,
         .min = 1,
         .max = UINT32_MAX,
         .want = "a positive integer",
         .metavar = "N",
         .help = "a webhook answers 404 for good after N accepted rows (default never)"},
        {.name = "--token-ttl",
         .type = CW_OPT_U64,
         .target = &config->token_ttl_s,
         .min = 1,
         .max = 86400 * 365,
         .want = "seconds (a positive integer)",
         .metavar = "S",
         .help = "metadata token expires_in (default 3600)"},
        {.name = "--require-token",
         .type = CW_OPT_FLAG,
         .target = &config->require_token,
         .help = "the GCS emulator wants Authorization: Bearer mock-token-* (else 401)"},
        {.name = "--store-fail-rate",
         .type = CW_OPT_DOUBLE,
         .target = &st->fail_rate,
         .min = 0,
         .max = 1,
         .want = fraction,
         .metavar = "F",
         .help = "fraction of store requests answered 503 before doing anything"},
        {.name = "--store-latency-ms",
         .type = CW_OPT_U64,
         .target = &st->latency_ms,
         .min = 0,
         .max = CW_MOCK_MAX_LATENCY_MS,
         .want = "0 to 600000",
         .metavar = "MS",
         .help = "latency added to every store answer"},
        {.name = "--store-latency-spike-rate",
         .type = CW_OPT_DOUBLE,
         .target = &st->spike_rate,
         .min = 0,
         .max = 1,
         .want = fraction,
         .metavar = "F",
         .help = "fraction of store requests with a latency spike"},
        {.name = "--store-latency-spike-ms",
         .type = CW_OPT_U64,
         .target = &st->spike_ms,
         .min = 0,
         .max = CW_MOCK_MAX_LATENCY_MS,
         .want = "0 to 600000",
         .metavar = "MS",
         .help = "the spike's extra latency"},
        {.name = "--store-ambiguous-rate",
         .type = CW_OPT_DOUBLE,
         .target = &st->ambiguous_rate,
         .min = 0,
         .max = 1,
         .want = fraction,
         .metavar = "F",
         .help = "fraction of store writes/deletes committed, then answered 503"},
        {.name = "--seed",
         .type = CW_OPT_U64,
         .target = &config->seed,
         .min = 0,
         .max = (double)UINT64_MAX,
         .want = "a non-negative integer",
         .metavar = "X",
         .help = "seed of the fault injection (default random; logged)"},
        {.name = "--verbose", .type = CW_OPT_FLAG, .target = &config->verbose, .help = "log every request"},
    };
    if (cw_opt_parse(opts, CW_ARRAY_SIZE(opts), argc, argv, out_help, err, err_size) != 0) {
        return -1;
    }
    if (*out_help) {
        cw_opt_print_help(stdout, usage_head, opts, CW_ARRAY_SIZE(opts), HELP_COLUMN, usage_tail);
    }
    return 0;
}

/* mounted reports whether |path| is |mount| or under "|mount|/"; *out_rest is what follows |mount|. */
static int mounted(const char *path, size_t path_len, const char *mount, size_t *out_rest)
{
    size_t mount_len = strlen(mount);
    if (path_len < mount_len || memcmp(path, mount, mount_len) != 0) {
        return 0;
    }
    if (path_len > mount_len && path[mount_len] != '/') {
        return 0;
    }
    *out_rest = mount_len;
    return 1;
}

int cw_mock_query_flag(const cw_mock_req_t *mreq, const char *name)
{
    cw_buf_t value = CW_BUF_INIT;
    int found = cw_mock_query_get(mreq->query, mreq->query_len, name, &value) == 1;
    int on = found && !(value.len == 1 && value.base[0] == '0') && !(value.len == 5 && memcmp(value.base, "false", 5) == 0);
    cw_buf_free(&value);
    return on;
}

static void serve_metadata(cw_mock_req_t *mreq)
{
    cw_mock_t *mock = mreq->mock;
    h2o_req_t *req = mreq->req;
    static const char token_path[] = "/v1/instance/service-accounts/default/token";
    static const char project_path[] = "/v1/project/project-id";
    int is_token = h2o_memis(mreq->path, mreq->path_len, H2O_STRLIT(token_path));
    int is_project = h2o_memis(mreq->path, mreq->path_len, H2O_STRLIT(project_path));
    cw_mock_reply_t reply;
    cw_mock_reply_init(&reply, 200, NULL);
    cw_mock_reply_header(&reply, "metadata-flavor", "Google");
    h2o_iovec_t flavor = cw_req_header(req, H2O_STRLIT("metadata-flavor"));
    if (!is_token && !is_project) {
        reply.status = 404;
        reply.content_type = "text/plain";
        cw_buf_appends(&reply.body, "Not Found\n");
    } else if (!cw_mock_method_is(req, "GET")) {
        reply.status = 405;
        reply.content_type = "text/plain";
        cw_buf_appends(&reply.body, "Method Not Allowed\n");
    } else if (!h2o_memis(flavor.base, flavor.len, H2O_STRLIT("Google"))) {
        pthread_mutex_lock(&mock->lock);
        ++mock->num_token_rejected;
        pthread_mutex_unlock(&mock->lock);
        reply.status = 403;
        reply.content_type = "text/plain";
        cw_buf_appends(&reply.body, "Missing Metadata-Flavor:Google header.\n");
    } else if (is_token) {
        pthread_mutex_lock(&mock->lock);
        uint64_t n = ++mock->num_token_fetches;
        pthread_mutex_unlock(&mock->lock);
        reply.content_type = "application/json";
        cw_buf_appendf(&reply.body, "{\"access_token\":\"mock-token-%llu\",\"expires_in\":%llu,\"token_type\":\"Bearer\"}",
                       (unsigned long long)n, (unsigned long long)mock->config.token_ttl_s);
    } else {
        pthread_mutex_lock(&mock->lock);
        ++mock->num_project_fetches;
        pthread_mutex_unlock(&mock->lock);
        reply.content_type = "application/text";
        cw_buf_appends(&reply.body, "mock-project");
    }
    cw_mock_reply_send(req, &reply, 0);
}

static void serve_metadata_stats(cw_mock_req_t *mreq)
{
    cw_mock_t *mock = mreq->mock;
    cw_buf_t b = CW_BUF_INIT;
    pthread_mutex_lock(&mock->lock);
    cw_buf_appendf(&b, "{\"token_fetches\":%llu,\"rejected\":%llu,\"project_fetches\":%llu}",
                   (unsigned long long)mock->num_token_fetches, (unsigned long long)mock->num_token_rejected,
                   (unsigned long long)mock->num_project_fetches);
    pthread_mutex_unlock(&mock->lock);
    cw_mock_reply_json(mreq->req, 200, b.base, b.len);
    cw_buf_free(&b);
}

static void serve_reset(cw_mock_req_t *mreq)
{
    cw_mock_t *mock = mreq->mock;
    int drop_objects = cw_mock_query_flag(mreq, "store");
    pthread_mutex_lock(&mock->lock);
    cw_mock_sinks_reset(mock);
    cw_mock_clay_reset(mock);
    cw_mock_gcs_reset(mock, drop_objects);
    mock->num_token_fetches = 0;
    mock->num_token_rejected = 0;
    mock->num_project_fetches = 0;
    pthread_mutex_unlock(&mock->lock);
    cw_mock_reply_json(mreq->req, 200, H2O_STRLIT("{\"status\":\"reset\"}"));
}

/* serve_harness handles /_harness/<rest>. Returns 0, or -1 for 404. */
static int serve_harness(cw_mock_req_t *mreq)
{
    h2o_req_t *req = mreq->req;
    const char *path = mreq->path;
    size_t len = mreq->path_len, rest;
    if (h2o_memis(path, len, H2O_STRLIT("/health"))) {
        cw_mock_reply_json(req, 200, H2O_STRLIT("{\"status\":\"ok\"}"));
        return 0;
    }
    if (h2o_memis(path, len, H2O_STRLIT("/reset"))) {
        if (!cw_mock_method_is(req, "POST")) {
            cw_mock_reply_json(req, 405, H2O_STRLIT("{\"error\":\"use POST\"}"));
            return 0;
        }
        serve_reset(mreq);
        return 0;
    }
    if (h2o_memis(path, len, H2O_STRLIT("/deliveries"))) {
        cw_mock_sinks_deliveries(mreq);
        return 0;
    }
    if (h2o_memis(path, len, H2O_STRLIT("/metadata/stats"))) {
        serve_metadata_stats(mreq);
        return 0;
    }
    if (mounted(path, len, "/sinks", &rest)) {
        mreq->path += rest;
        mreq->path_len -= rest;
        return cw_mock_sinks_harness(mreq);
    }
    if (mounted(path, len, "/clay", &rest)) {
        mreq->path += rest;
        mreq->path_len -= rest;
        return cw_mock_clay_harness(mreq);
    }
    if (mounted(path, len, "/store", &rest)) {
        mreq->path += rest;
        mreq->path_len -= rest;
        return cw_mock_gcs_harness(mreq);
    }
    return -1;
}

static int on_request(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    cw_mock_t *mock = data;
    cw_mock_req_t mreq = {.req = req, .mock = mock, .path = req->path.base, .path_len = req->path.len};
    if (req->query_at != SIZE_MAX && req->query_at < req->path.len) {
        mreq.path_len = req->query_at;
        mreq.query = req->path.base + req->query_at + 1;
        mreq.query_len = req->path.len - req->query_at - 1;
    }
    if (mock->config.verbose) {
        cw_log(CW_LOG_INFO, NULL, 0, "request",
               (cw_log_field_t[]){CW_LF_STRN("method", req->method.base, req->method.len),
                                  CW_LF_STRN("path", req->path.base, req->path.len)},
               2);
    }
    size_t rest;
    int rc = 0;
    if (mounted(mreq.path, mreq.path_len, "/_harness", &rest)) {
        mreq.path += rest;
        mreq.path_len -= rest;
        rc = serve_harness(&mreq);
    } else if (mounted(mreq.path, mreq.path_len, "/clay", &rest)) {
        mreq.path += rest;
        mreq.path_len -= rest;
        rc = cw_mock_clay_handle(&mreq);
    } else if (mounted(mreq.path, mreq.path_len, "/sinks", &rest)) {
        mreq.path += rest;
        mreq.path_len -= rest;
        rc = cw_mock_sinks_handle(&mreq);
    } else if (mounted(mreq.path, mreq.path_len, "/computeMetadata", &rest)) {
        mreq.path += rest;
        mreq.path_len -= rest;
        serve_metadata(&mreq);
    } else {
        cw_mock_gcs_handle(&mreq);
    }
    if (rc != 0) {
        cw_mock_reply_json(req, 404, H2O_STRLIT("{\"error\":\"not found\"}"));
    }
    return 0;
}

static void on_worker_start(cw_worker_t *worker, void *data)
{
    cw_mock_worker_start(worker);
}

static void on_worker_stop(cw_worker_t *worker, void *data)
{
    cw_mock_worker_stop(worker);
}

int cw_harness_mock_main(int argc, char **argv)
{
    cw_mock_t mock = {.config = {.host = "127.0.0.1",
                                 .num_workers = 1,
                                 .clay_rate = 10,
                                 .clay_burst = 20,
                                 .clay_limit = 50000,
                                 .clay_table_rows = 50000,
                                 .token_ttl_s = 3600,
                                 .seed = cw_random_u64()}};
    char err[512];
    int help = 0, rc;
    if (parse_args(argc, argv, &mock.config, &help, err, sizeof(err)) != 0) {
        fprintf(stderr, "clay-harness mock: %s (see clay-harness mock --help)\n", err);
        return 2;
    }
    if (help) {
        return 0;
    }
    pthread_mutex_init(&mock.lock, NULL);
    cw_mock_rng_seed(&mock.rng, mock.config.seed);
    mock.gcs = cw_mock_gcs_new(&mock);
    mock.clay = cw_mock_clay_new(&mock);
    mock.sinks = cw_mock_sinks_new(&mock);

    cw_server_options_t opts = {.host = mock.config.host,
                                .port = mock.config.port,
                                .num_workers = mock.config.num_workers,
                                .max_body_bytes = CW_MOCK_MAX_BODY,
                                .request_timeout_ms = 30000,
                                .shutdown_timeout_ms = 3000,
                                .handle_signals = 1,
                                .on_worker_start = on_worker_start,
                                .on_worker_stop = on_worker_stop,
                                .data = &mock};
    cw_server_t *server = cw_server_new(&opts);
    if (server == NULL) {
        rc = 2;
        goto Exit;
    }
    cw_server_route(server, "/", on_request, &mock);
    if (cw_server_listen(server) != 0) {
        rc = 1;
        goto Exit;
    }
    printf("listening on http://%s:%u\n", mock.config.host, (unsigned)cw_server_port(server));
    fflush(stdout);
    char seed[32];
    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)mock.config.seed);
    cw_log(CW_LOG_INFO, NULL, 0, "mock ready",
           (cw_log_field_t[]){CW_LF_INT("port", cw_server_port(server)), CW_LF_STR("seed", seed),
                              CW_LF_DBL("store_fail_rate", mock.config.store.fail_rate),
                              CW_LF_DBL("store_ambiguous_rate", mock.config.store.ambiguous_rate),
                              CW_LF_INT("store_latency_ms", mock.config.store.latency_ms),
                              CW_LF_BOOL("clay_auth", mock.config.clay_auth != NULL),
                              CW_LF_BOOL("require_token", mock.config.require_token)},
           7);
    rc = cw_server_run(server);
    cw_log(CW_LOG_INFO, NULL, 0, "mock stopped", NULL, 0);

Exit:
    if (rc == 1 && server != NULL && cw_server_is_stopping(server)) {
        /* The shutdown deadline cut work short: the workers still run, so leave the state to the OS. */
        return 1;
    }
    cw_server_free(server);
    cw_mock_sinks_free(mock.sinks);
    cw_mock_clay_free(mock.clay);
    cw_mock_gcs_free(mock.gcs);
    pthread_mutex_destroy(&mock.lock);
    return rc;
}
