/*
 * record.c: `clay-harness record`, a listener that keeps every request it
 * receives as a fixture file (fixture.h), byte-exact. Alone it answers 200
 * {"recorded":true}; with --forward it passes the request on (method, path,
 * headers minus hop-by-hop ones, body) and answers with the target's answer,
 * which becomes the fixture's expectation (status and the response JSON as
 * the subset to match).
 *
 * Credentials are not kept: the values of X-Clay-Secret, Authorization,
 * X-Clay-Signature, webhook-signature, svix-signature (and
 * Proxy-Authorization, X-Clay-Webhook-Auth) are saved as "REDACTED", so a
 * fixture folder can be shared or committed; the forward still carries the
 * real ones. A redacted recording replays as a 401. --keep-secrets keeps them:
 * then a Standard Webhooks timestamp goes stale after the receiver's tolerance
 * (300 s by default), so replaying such a recording later is expected to get
 * 401; static and HMAC headers stay valid as long as the secret does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "cw/http.h"
#include "cw/log.h"
#include "cw/opt.h"
#include "cw/server.h"
#include "cw/util.h"
#include "client.h"
#include "fixture.h"
#include "hclient.h"

#define DEFAULT_PREFIX "rec"
#define MAX_PREFIX_LEN 60
#define FORWARD_MAX_RESPONSE_BYTES (16u * 1024 * 1024)

static const char usage_head[] =
    "usage: clay-harness record --listen HOST:PORT --out DIR [options]\n"
    "\n"
    "Listens and stores every request it receives as a fixture file DIR/<prefix>-<time>-<n>.json (replay\n"
    "them with clay-harness replay DIR). Without --forward it answers 200 {\"recorded\":true} and the\n"
    "fixture expects 200; with --forward the request goes on to URL unchanged and the target's answer is\n"
    "both the reply and the fixture's expectation (status and response JSON).\n"
    "\n"
    "options:\n";

static const char usage_tail[] =
    "\n"
    "Prints 'listening on http://HOST:PORT' on the first line of stdout once bound; SIGTERM stops it.\n";

/* The column where the help text of the options starts. */
#define HELP_COLUMN 23

typedef struct st_record_t {
    char host[64];
    uint16_t port;
    const char *out_dir;
    const char *forward; /* may be NULL */
    const char *prefix;
    uint64_t timeout_ms;
    size_t num_workers;
    char stamp[32]; /* the run's start, in every name: files of one run sort by arrival */
    unsigned long seq;
    cw_http_t *http;  /* NULL without --forward */
    int keep_secrets; /* --keep-secrets: credentials saved as they came */
} record_t;

#define REDACTED "REDACTED"

/* is_secret_header reports whether a header (any case) carries a credential or a signature. */
static int is_secret_header(const char *name)
{
    static const char *const names[] = {"x-clay-secret",  "authorization",       "x-clay-signature",   "webhook-signature",
                                        "svix-signature", "proxy-authorization", "x-clay-webhook-auth"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(names); ++i) {
        if (strcasecmp(name, names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A request kept for the fixture (and the forward), copied out of the request's pool. */
typedef struct st_captured_t {
    cw_async_t async;
    record_t *record;
    char *method;
    char *path;
    cw_fixture_header_t *headers;
    size_t num_headers;
    uint8_t *body;
    size_t body_len;
} captured_t;

/* is_hop_by_hop reports whether a header (lower-case |name|) belongs to one connection rather than the
 * request, or is recomputed by whoever sends the bytes next (Host, Content-Length). */
static int is_hop_by_hop(const char *name, size_t len)
{
    static const char *const names[] = {
        "connection", "keep-alive",     "proxy-connection", "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade",
        "host",       "content-length", "expect",           "http2-settings"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(names); ++i) {
        if (cw_memeq_ci(name, len, names[i], strlen(names[i]))) {
            return 1;
        }
    }
    return 0;
}

static captured_t *capture(record_t *record, h2o_req_t *req)
{
    captured_t *c = cw_calloc(1, sizeof(*c));
    c->record = record;
    c->method = cw_strndup(req->method.base, req->method.len);
    c->path = cw_strndup(req->path.base, req->path.len);
    for (size_t i = 0; i != req->headers.size; ++i) {
        const h2o_header_t *h = &req->headers.entries[i];
        if (is_hop_by_hop(h->name->base, h->name->len)) {
            continue;
        }
        char *name = cw_strndup(h->orig_name != NULL ? h->orig_name : h->name->base, h->name->len);
        char *value = cw_strndup(h->value.base, h->value.len);
        if (cw_fixture_text_safe(value, h->value.len)) {
            cw_fixture_add_header(&c->headers, &c->num_headers, name, value);
        } else {
            /* The fixture format holds header values as text: say what was left out. */
            cw_log(CW_LOG_WARNING, NULL, 0, "header not recorded: its value is not UTF-8 text",
                   (cw_log_field_t[]){CW_LF_STR("header", name)}, 1);
        }
        free(name);
        free(value);
    }
    if (req->entity.base != NULL) {
        c->body = cw_malloc(req->entity.len + 1);
        memcpy(c->body, req->entity.base, req->entity.len);
        c->body_len = req->entity.len;
    } else {
        c->body = cw_malloc(1);
    }
    return c;
}

static void captured_free(captured_t *c)
{
    free(c->method);
    free(c->path);
    for (size_t i = 0; i != c->num_headers; ++i) {
        free(c->headers[i].name);
        free(c->headers[i].value);
    }
    free(c->headers);
    free(c->body);
    free(c);
}

/* next_path picks a fixture name no file in the folder has yet and returns "<dir>/<name>.json" (malloc'd);
 * the name goes to |name| (at most 100 characters, as the format allows). */
static char *next_path(record_t *record, char *name, size_t name_size)
{
    for (;;) {
        unsigned long seq = __atomic_add_fetch(&record->seq, 1, __ATOMIC_SEQ_CST);
        snprintf(name, name_size, "%s-%s-%06lu", record->prefix, record->stamp, seq);
        cw_buf_t path = CW_BUF_INIT;
        cw_buf_appendf(&path, "%s/%s.json", record->out_dir, name);
        struct stat st;
        if (stat(path.base, &st) != 0) {
            return cw_buf_release(&path, NULL);
        }
        cw_buf_free(&path);
    }
}

/* save writes the fixture of |c| with |res|'s answer as the expectation (|res| NULL: recorded without a
 * target; |forward_error| non-NULL: the target did not answer). */
static void save(captured_t *c, const cw_http_response_t *res, const char *forward_error)
{
    record_t *record = c->record;
    char name[128], when[40];
    char *path = next_path(record, name, sizeof(name));
    cw_format_rfc3339(when, sizeof(when), cw_wall_ms());
    cw_buf_t desc = CW_BUF_INIT;
    cw_buf_appendf(&desc, "%s %s recorded at %s", c->method, c->path, when);
    if (res != NULL) {
        cw_buf_appendf(&desc, "; the target answered %d", res->status);
    } else if (forward_error != NULL) {
        cw_buf_appends(&desc, "; forwarding failed, so the expectation is a placeholder (200)");
    } else {
        cw_buf_appends(&desc, " without a target, so the expectation is a placeholder (200)");
    }
    for (size_t i = 0; !record->keep_secrets && i != c->num_headers; ++i) {
        if (is_secret_header(c->headers[i].name)) {
            /* Said in the fixture itself: its replay answers 401 until the credentials are put back. */
            cw_buf_appends(&desc, "; credentials redacted (record --keep-secrets keeps them)");
            break;
        }
    }
    if (!cw_fixture_text_safe(desc.base, desc.len)) {
        cw_buf_reset(&desc);
        cw_buf_appendf(&desc, "recorded at %s", when);
    }
    cw_fixture_t *fx = cw_fixture_new(name, desc.base);
    cw_fixture_step_t *step = cw_fixture_add_step(fx);
    free(step->request.method);
    step->request.method = cw_strdup(c->method);
    free(step->request.path);
    step->request.path = cw_strdup(c->path[0] == '/' ? c->path : "/");
    for (size_t i = 0; i != c->num_headers; ++i) {
        int hide = !record->keep_secrets && is_secret_header(c->headers[i].name);
        cw_fixture_add_header(&step->request.headers, &step->request.num_headers, c->headers[i].name,
                              hide ? REDACTED : c->headers[i].value);
    }

    cw_fixture_set_body(&step->request, c->body, c->body_len);
    if (res != NULL) {
        step->expect.statuses[0] = res->status;
        step->expect.num_statuses = 1;
        cJSON *json = cJSON_ParseWithLength(res->body, res->body_len);
        if (json != NULL && (cJSON_IsObject(json) || cJSON_IsArray(json))) {
            step->expect.json = json;
        } else {
            cJSON_Delete(json);
        }
    }
    if (cw_fixture_save(path, fx) == 0) {
        cw_log(CW_LOG_INFO, NULL, 0, "recorded",
               (cw_log_field_t[]){CW_LF_STR("file", path), CW_LF_STR("method", c->method), CW_LF_STR("path", c->path),
                                  CW_LF_INT("status", res != NULL ? res->status : 0)},
               4);
    } else {
        cw_log(CW_LOG_ERROR, NULL, 0, "cannot save the fixture",
               (cw_log_field_t[]){CW_LF_STR("file", path), CW_LF_STR("error", strerror(errno))}, 2);
    }
    cw_fixture_free(fx);
    cw_buf_free(&desc);
    free(path);
}

static void on_forwarded(const cw_http_response_t *res, void *data)
{
    captured_t *c = data;
    save(c, res->error == CW_HTTP_OK ? res : NULL, res->error == CW_HTTP_OK ? NULL : res->error_text);
    h2o_req_t *req = cw_async_take(&c->async);
    if (req != NULL) {
        if (res->error != CW_HTTP_OK) {
            cw_respond_error(req, 502, "bad_gateway", res->error_text);
        } else {
            const char *content_type = NULL;
            for (size_t i = 0; i != res->num_headers; ++i) {
                const cw_http_header_t *h = &res->headers[i];
                if (strcmp(h->name, "content-type") == 0) {
                    content_type = h->value;
                } else if (!is_hop_by_hop(h->name, strlen(h->name)) && strcmp(h->name, "date") != 0 &&
                           strcmp(h->name, "server") != 0) {
                    cw_add_header(req, h->name, h->value);
                }
            }
            cw_respond(req, res->status, content_type, res->body, res->body_len);
        }
    }
    cw_async_end(&c->async);
    captured_free(c);
}

static int on_request(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    record_t *record = data;
    captured_t *c = capture(record, req);
    if (record->forward == NULL) {
        save(c, NULL, NULL);
        captured_free(c);
        cw_respond_json(req, 200, H2O_STRLIT("{\"recorded\":true}"));
        return 0;
    }
    cw_async_begin(&c->async, req);
    char **lines = cw_calloc(c->num_headers + 1, sizeof(char *));
    for (size_t i = 0; i != c->num_headers; ++i) {
        lines[i] = cw_hclient_header_line(c->headers[i].name, c->headers[i].value);
    }
    char *url = cw_hclient_url(record->forward, c->path);
    int has_body =
        c->body_len != 0 || strcmp(c->method, "POST") == 0 || strcmp(c->method, "PUT") == 0 || strcmp(c->method, "PATCH") == 0;
    cw_http_request_t freq = {.method = c->method,
                              .url = url,
                              .headers = (const char *const *)lines,
                              .num_headers = c->num_headers,
                              .body = has_body ? c->body : NULL,
                              .body_len = has_body ? c->body_len : 0,
                              .timeout_ms = record->timeout_ms,
                              .max_response_bytes = FORWARD_MAX_RESPONSE_BYTES,
                              .head_only = strcmp(c->method, "HEAD") == 0};
    cw_http_submit(record->http, &worker->loop, &freq, on_forwarded, c);
    for (size_t i = 0; i != c->num_headers; ++i) {
        free(lines[i]);
    }
    free(lines);
    free(url);
    return 0;
}

static int listen_cb(const cw_opt_t *opt, const char *value, char *err, size_t err_size)
{
    record_t *record = opt->target;
    const char *colon = strrchr(value, ':');
    uint64_t port;
    if (colon == NULL || colon == value || (size_t)(colon - value) >= sizeof(record->host) ||
        cw_parse_u64(colon + 1, strlen(colon + 1), 0, 65535, &port) != 0) {
        return -1;
    }
    memcpy(record->host, value, (size_t)(colon - value));
    record->host[colon - value] = '\0';
    record->port = (uint16_t)port;
    return 0;
}

static int prefix_cb(const cw_opt_t *opt, const char *value, char *err, size_t err_size)
{
    size_t len = strlen(value);
    if (len == 0 || len > MAX_PREFIX_LEN ||
        strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != len) {
        return -1;
    }
    *(const char **)opt->target = value;
    return 0;
}

/* parse_args fills |record|; on --help it prints the usage and sets *|out_help|. Returns 0, or -1 with one
 * line in |err|. */
static int parse_args(int argc, char **argv, record_t *record, int *out_help, char *err, size_t err_size)
{
    const cw_opt_t opts[] = {
        {.name = "--listen",
         .type = CW_OPT_CUSTOM,
         .cb = listen_cb,
         .target = record,
         .flags = CW_OPT_REQUIRED,
         .want = "HOST:PORT",
         .metavar = "HOST:PORT",
         .help = "bind address (port 0 picks a free one)"},
        {.name = "--out",
         .type = CW_OPT_STRING,
         .target = &record->out_dir,
         .flags = CW_OPT_REQUIRED | CW_OPT_NONEMPTY,
         .want = "a folder",
         .metavar = "DIR",
         .help = "where fixtures go (created if missing)"},
        {.name = "--forward",
         .type = CW_OPT_CUSTOM,
         .cb = cw_opt_http_url_cb,
         .target = &record->forward,
         .want = "an http(s) URL",
         .metavar = "URL",
         .help = "the target (e.g. http://127.0.0.1:8080); the request's path is appended"},
        {.name = "--prefix",
         .type = CW_OPT_CUSTOM,
         .cb = prefix_cb,
         .target = &record->prefix,
         .want = "1-60 characters of A-Z a-z 0-9 . _ -",
         .metavar = "NAME",
         .help = "fixture names start with NAME (default " DEFAULT_PREFIX ")"},
        {.name = "--timeout-ms",
         .type = CW_OPT_U64,
         .target = &record->timeout_ms,
         .min = 1,
         .max = 3600000,
         .metavar = "MS",
         .help = "forwarding timeout (default 30000)"},
        {.name = "--keep-secrets",
         .type = CW_OPT_FLAG,
         .target = &record->keep_secrets,
         .help = "save X-Clay-Secret, Authorization and signature headers as they came\n(default: REDACTED)"},
        {.name = "--workers",
         .type = CW_OPT_SIZE,
         .target = &record->num_workers,
         .min = 1,
         .max = 256,
         .metavar = "N",
         .help = "event-loop threads (default 1, so files are numbered in arrival order)"},
    };
    if (cw_opt_parse(opts, CW_ARRAY_SIZE(opts), argc, argv, out_help, err, err_size) != 0) {
        return -1;
    }
    if (*out_help) {
        cw_opt_print_help(stdout, usage_head, opts, CW_ARRAY_SIZE(opts), HELP_COLUMN, usage_tail);
    }
    return 0;
}

int cw_harness_record_main(int argc, char **argv)
{
    record_t record = {.prefix = DEFAULT_PREFIX, .timeout_ms = 30000, .num_workers = 1};
    cw_server_t *server = NULL;
    char err[512];
    int help = 0, rc;
    if (parse_args(argc, argv, &record, &help, err, sizeof(err)) != 0) {
        fprintf(stderr, "clay-harness record: %s (see clay-harness record --help)\n", err);
        return 2;
    }
    if (help) {
        return 0;
    }
    if (mkdir(record.out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "clay-harness record: cannot create %s: %s\n", record.out_dir, strerror(errno));
        return 1;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(record.stamp, sizeof(record.stamp), "%Y%m%d-%H%M%S", &tm);
    if (record.forward != NULL && (record.http = cw_http_new()) == NULL) {
        fputs("clay-harness record: cannot start the HTTP client\n", stderr);
        return 1;
    }

    cw_server_options_t opts = {.host = record.host,
                                .port = record.port,
                                .num_workers = record.num_workers,
                                .max_body_bytes = CW_FIXTURE_MAX_BODY_BYTES,
                                .request_timeout_ms = 30000,
                                .shutdown_timeout_ms = 5000,
                                .handle_signals = 1};
    if ((server = cw_server_new(&opts)) == NULL) {
        rc = 2;
        goto Exit;
    }
    cw_server_route(server, "/", on_request, &record);
    if (cw_server_listen(server) != 0) {
        rc = 1;
        goto Exit;
    }
    printf("listening on http://%s:%u\n", record.host, (unsigned)cw_server_port(server));
    fflush(stdout);
    rc = cw_server_run(server);
    if (rc == 1) {
        /* The shutdown deadline cut a forward short: its worker still runs, so leave the rest to the OS. */
        return 1;
    }

Exit:
    cw_server_free(server);
    if (record.http != NULL) {
        cw_http_free(record.http);
    }
    return rc;
}
