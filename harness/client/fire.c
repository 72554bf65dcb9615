/*
 * fire.c: `clay-harness fire`, a Clay-like sender. It sends N generated leads
 * (or one fixture's request) to a target, each K times, signed with a chosen
 * scheme, closed-loop at a fixed concurrency or open-loop at a fixed rate, with
 * Clay-like retries, and prints what came back (fire_report.h).
 *
 * Everything runs on one cw_loop_t: requests go through the asynchronous
 * client (cw/http.h) with one attempt each, since retries, their counts and
 * their jitter are fire's own (fire_plan.h); pacing and retry waits are
 * cw_timer_t. Bodies are sent as generated, byte for byte.
 *
 * --retry clay models Clay's HTTP API column with its settings: "Retry on
 * failure" (--clay-retries), "Response timeout" (--clay-timeout-ms) and
 * "Request limit / Duration (ms)" (--rate N/DURATION_MS). An attempt that
 * times out is closed and counted failed although the receiver may still
 * finish it, so its resend (the same bytes) exercises the receiver's
 * duplicate path; the report says what the resends got.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cw/http.h"
#include "cw/loop.h"
#include "cw/opt.h"
#include "cw/util.h"
#include "client.h"
#include "fire_plan.h"
#include "fire_report.h"
#include "fixture.h"
#include "gen.h"
#include "hclient.h"
#include "sign.h"

static const char usage_head[] =
    "usage: clay-harness fire --target URL [options]\n"
    "\n"
    "Sends generated leads (reproducible from --seed) or one fixture's request to URL (when URL has no\n"
    "path, /api/clay/enriched or the fixture's path is appended) and prints a summary.\n"
    "\n"
    "options:\n";

static const char usage_tail[] =
    "\n"
    "Exit status: 0 when every final answer was 2xx (with --tamper, or a fixture that tampers: 401), 1 otherwise, 2 on bad "
    "usage.\n";

/* The column where the help text of the options starts. */
#define HELP_COLUMN 26

typedef struct st_fire_opts_t {
    const char *target;
    size_t count;
    size_t dup;
    size_t concurrency; /* 0: default */
    int shuffle;
    int mutate;
    int scheme_given;
    cw_sign_scheme_t scheme;
    const char *secrets[CW_SIGN_MAX_SECRETS];
    size_t num_secrets;
    char *env_secrets;       /* owns the strings of secrets[] when they came from the environment or --secret-file */
    const char *secret_file; /* --secret-file; may be NULL */
    cw_sign_tamper_t tamper;
    int64_t skew_s;
    double rate;
    int retry;
    unsigned max_attempts; /* resolved from --clay-retries or --max-attempts (cw_fire_attempts) */
    int max_attempts_given;
    unsigned clay_retries;
    int clay_retries_given;
    uint64_t timeout_ms;
    uint64_t seed;
    const char *fixture_path;
    int report_json;
    int idempotency_header;
} fire_opts_t;

typedef struct st_fire_t fire_t;

typedef struct st_send_t {
    fire_t *fire;
    cw_fire_send_t plan;
    char *body; /* owned while the send is in flight */
    size_t body_len;
    uint64_t start_us; /* latency origin: the scheduled start (open loop) or the first attempt (closed) */
    unsigned attempts;
    int resend_after_timeout; /* the attempt in flight follows one that timed out */
    cw_timer_t retry_timer;
} send_t;

struct st_fire_t {
    fire_opts_t opts;
    cw_loop_t loop;
    cw_http_t *http;
    char *url;
    cw_fixture_t *fixture;       /* may be NULL */
    char **fixture_header_lines; /* the fixture step's request headers as "Name: value" */
    size_t num_fixture_headers;
    cw_fire_send_t *plan;
    size_t num_plan;
    size_t next; /* the next plan entry to start */
    size_t in_flight;
    size_t num_done;
    uint64_t run_start_us;
    uint64_t last_done_us;
    cw_timer_t pace_timer;
    uint64_t jitter_rng;
    cw_fire_backoff_t backoff;
    cw_sign_tamper_t tamper; /* in effect: --tamper, else the fixture's own; 401 is then the success */
    cw_fire_stats_t stats;
};

static const char *const retry_modes[] = {"none", "clay", NULL};
static const char *const report_formats[] = {"json", NULL};

static int scheme_cb(const cw_opt_t *opt, const char *value, char *err, size_t err_size)
{
    return cw_sign_scheme_parse(value, opt->target);
}

static int rate_cb(const cw_opt_t *opt, const char *value, char *err, size_t err_size)
{
    return cw_fire_rate_parse(value, opt->target);
}

static int tamper_cb(const cw_opt_t *opt, const char *value, char *err, size_t err_size)
{
    cw_sign_tamper_t *tamper = opt->target;
    return cw_sign_tamper_parse(value, tamper) != 0 || *tamper == CW_SIGN_TAMPER_NONE ? -1 : 0;
}

/* split_secrets takes |text| (malloc'd; owned from here) as secrets separated by commas or line ends,
 * blanks around each ignored, into opts->secrets. */
static void split_secrets(fire_opts_t *opts, char *text)
{
    opts->env_secrets = text;
    char *p = text;
    while (p != NULL && opts->num_secrets < CW_SIGN_MAX_SECRETS) {
        char *sep = p + strcspn(p, ",\r\n");
        char *next = *sep != '\0' ? sep + 1 : NULL;
        *sep = '\0';
        while (*p == ' ' || *p == '\t') {
            ++p;
        }
        for (char *end = p + strlen(p); end != p && (end[-1] == ' ' || end[-1] == '\t');) {
            *--end = '\0';
        }
        if (*p != '\0') {
            opts->secrets[opts->num_secrets++] = p;
        }
        p = next;
    }
}

static void secrets_from_env(fire_opts_t *opts)
{
    const char *env = getenv("CLAY_WEBHOOK_SECRET");
    if (env == NULL || *env == '\0') {
        return;
    }
    split_secrets(opts, cw_strdup(env));
}

/* secrets_from_file reads --secret-file, so a secret need not appear in `ps`. Returns 0, or -1 with
 * one line in |err|. */
static int secrets_from_file(fire_opts_t *opts, char *err, size_t err_size)
{
    FILE *fp = fopen(opts->secret_file, "re");
    if (fp == NULL) {
        snprintf(err, err_size, "--secret-file: cannot open %s: %s", opts->secret_file, strerror(errno));
        return -1;
    }
    char *text = cw_malloc(65536);
    size_t n = fread(text, 1, 65535, fp);
    int too_big = n == 65535 && fgetc(fp) != EOF, failed = ferror(fp);
    fclose(fp);
    text[n] = '\0';
    if (failed || too_big || memchr(text, '\0', n) != NULL) {
        free(text);
        snprintf(err, err_size, "--secret-file: %s is %s", opts->secret_file,
                 failed    ? "unreadable"
                 : too_big ? "over 64 KiB"
                           : "not text");
        return -1;
    }
    split_secrets(opts, text);
    if (opts->num_secrets == 0) {
        snprintf(err, err_size, "--secret-file: %s holds no secret", opts->secret_file);
        return -1;
    }
    return 0;
}

/* parse_args fills |opts|; on --help it prints the usage and sets *|out_help|. Returns 0, or -1 with one
 * line in |err|. */
static int parse_args(int argc, char **argv, fire_opts_t *opts, int *out_help, char *err, size_t err_size)
{
    int seed_given = 0, report_format;
    const cw_opt_t table[] = {
        {.name = "--target",
         .type = CW_OPT_CUSTOM,
         .cb = cw_opt_http_url_cb,
         .target = &opts->target,
         .flags = CW_OPT_REQUIRED,
         .want = "an http:// or https:// URL"},
        {.name = "--count",
         .type = CW_OPT_SIZE,
         .target = &opts->count,
         .min = 1,
         .max = 10000000,
         .metavar = "N",
         .help = "unique leads (default 100)"},
        {.name = "--dup",
         .type = CW_OPT_SIZE,
         .target = &opts->dup,
         .min = 1,
         .max = 1000,
         .metavar = "K",
         .help = "send every lead K times (default 1); copies are adjacent, so they overlap\nunder concurrency, or spread by "
                 "--shuffle"},
        {.name = "--shuffle", .type = CW_OPT_FLAG, .target = &opts->shuffle, .help = "send in a random order derived from --seed"},
        {.name = "--mutate-types",
         .type = CW_OPT_FLAG,
         .target = &opts->mutate,
         .help = "Clay-like variance: numbers as strings, nulls, column-title keys"},
        {.name = "--scheme",
         .type = CW_OPT_CUSTOM,
         .cb = scheme_cb,
         .target = &opts->scheme,
         .given = &opts->scheme_given,
         .want = "static, bearer, hmac, standard or none",
         .metavar = "S",
         .help = "static | bearer | hmac | standard | none (default static with a secret)"},
        {.name = "--secret",
         .type = CW_OPT_LIST,
         .target = opts->secrets,
         .num = &opts->num_secrets,
         .max = CW_SIGN_MAX_SECRETS,
         .flags = CW_OPT_NONEMPTY,
         .metavar = "S",
         .help = "a secret (repeat for several; standard signs with each); default\n--secret-file, else $CLAY_WEBHOOK_SECRET "
                 "split at commas"},
        {.name = "--secret-file",
         .type = CW_OPT_STRING,
         .target = &opts->secret_file,
         .flags = CW_OPT_NONEMPTY,
         .metavar = "FILE",
         .help = "read the secrets from FILE (one per line, or comma-separated), so none\nappears in `ps`"},
        {.name = "--tamper",
         .type = CW_OPT_CUSTOM,
         .cb = tamper_cb,
         .target = &opts->tamper,
         .want = "wrong-secret, wrong-length, non-hex, non-base64, malformed or missing",
         .metavar = "MODE",
         .help = "wrong-secret | wrong-length | non-hex | non-base64 | malformed | missing:\nevery request should then get 401"},
        {.name = "--skew",
         .type = CW_OPT_I64,
         .target = &opts->skew_s,
         .min = -(double)(INT64_C(1) << 40),
         .max = (double)(INT64_C(1) << 40),
         .want = "a whole number of seconds",
         .metavar = "SECONDS",
         .help = "shift Standard Webhooks timestamps (negative: in the past)"},
        {.name = "--idempotency-header",
         .type = CW_OPT_FLAG,
         .target = &opts->idempotency_header,
         .help = "add Idempotency-Key: <row_id> (as Clay users template {{Row ID}})"},
        {.name = "--concurrency",
         .type = CW_OPT_SIZE,
         .target = &opts->concurrency,
         .min = 1,
         .max = 100000,
         .metavar = "C",
         .help = "requests in flight (default 8; with --rate: a cap, default 256)"},
        {.name = "--rate",
         .type = CW_OPT_CUSTOM,
         .cb = rate_cb,
         .target = &opts->rate,
         .want = "requests per second (R, above 0) or N/DURATION_MS (whole numbers above 0, e.g. 10/1000), at most "
                 "1000000/s",
         .metavar = "R|N/MS",
         .help = "open loop: start R requests per second whatever the answers, or N per MS\n"
                 "milliseconds: Clay's column \"Request limit / Duration (ms)\", 10/1000 by default\n"
                 "in Clay; starts are evenly spaced (retries are not paced); latency is measured\n"
                 "from each request's scheduled start (no coordinated omission)"},
        {.name = "--retry",
         .type = CW_OPT_ENUM,
         .target = &opts->retry,
         .choices = retry_modes,
         .metavar = "clay|none",
         .help = "clay: Clay's \"Retry on failure\": retry transport errors, timeouts, 408, 429\n"
                 "and 5xx up to --clay-retries times, with exponential backoff (200 ms doubling,\n"
                 "capped at 10 s) and jitter, honouring Retry-After; Clay's own schedule is\n"
                 "undocumented (default none)"},
        {.name = "--clay-retries",
         .type = CW_OPT_UINT,
         .target = &opts->clay_retries,
         .given = &opts->clay_retries_given,
         .min = 0,
         .max = CW_FIRE_MAX_CLAY_RETRIES,
         .metavar = "N",
         .help = "with --retry clay: the retries the column is set to (default 2: the README's\n"
                 "recipe, 3 attempts in all); 0 = \"Retry on failure\" off, one attempt"},
        {.name = "--max-attempts",
         .type = CW_OPT_UINT,
         .target = &opts->max_attempts,
         .given = &opts->max_attempts_given,
         .min = 1,
         .max = CW_FIRE_MAX_CLAY_RETRIES + 1,
         .metavar = "N",
         .help = "the same as --clay-retries N-1 (attempts in all, the first included)"},
        {.name = "--clay-timeout-ms",
         .alias = "--timeout-ms",
         .type = CW_OPT_U64,
         .target = &opts->timeout_ms,
         .min = 1,
         .max = 3600000,
         .metavar = "MS",
         .usage = "--clay-timeout-ms MS",
         .help = "Clay's \"Response timeout\", per attempt (default 30000; --timeout-ms is the\n"
                 "same): an attempt unanswered by then is closed and failed, although the receiver\n"
                 "may still complete it; --retry clay resends the same bytes: the same body,\n"
                 "Idempotency-Key and signature, except that standard (a real sender signs\n"
                 "each attempt) keeps its webhook-id but signs a fresh webhook-timestamp. The\n"
                 "report counts timed_out and what the resends got (duplicate, in_progress...)"},
        {.name = "--seed",
         .type = CW_OPT_U64,
         .target = &opts->seed,
         .min = 0,
         .max = (double)UINT64_MAX,
         .given = &seed_given,
         .want = "an unsigned integer",
         .metavar = "X",
         .help = "generator and shuffle seed (default random, printed)"},
        {.name = "--fixture",
         .type = CW_OPT_STRING,
         .target = &opts->fixture_path,
         .metavar = "FILE",
         .help = "send the first step of this fixture instead of generated leads"},
        {.name = "--report",
         .type = CW_OPT_ENUM,
         .target = &report_format,
         .choices = report_formats,
         .given = &opts->report_json,
         .metavar = "json",
         .help = "print the summary as one JSON object on stdout (text goes to stderr)"},
    };
    if (cw_opt_parse(table, CW_ARRAY_SIZE(table), argc, argv, out_help, err, err_size) != 0) {
        return -1;
    }
    if (*out_help) {
        cw_opt_print_help(stdout, usage_head, table, CW_ARRAY_SIZE(table), HELP_COLUMN, usage_tail);
        return 0;
    }
    if (!seed_given) {
        opts->seed = cw_random_u64() >> 11; /* short enough to retype */
    }
    if (opts->secret_file != NULL && opts->num_secrets != 0) {
        snprintf(err, err_size, "--secret and --secret-file exclude each other");
        return -1;
    }
    if (opts->secret_file != NULL) {
        if (secrets_from_file(opts, err, err_size) != 0) {
            return -1;
        }
    } else if (opts->num_secrets == 0) {
        secrets_from_env(opts);
    }
    if (!opts->scheme_given && opts->fixture_path == NULL) {
        opts->scheme = opts->num_secrets != 0 ? CW_SIGN_STATIC : CW_SIGN_NONE;
    }
    if (opts->scheme_given && opts->scheme != CW_SIGN_NONE && opts->num_secrets == 0) {
        snprintf(err, err_size, "--scheme needs a --secret, a --secret-file or CLAY_WEBHOOK_SECRET");
        return -1;
    }
    if (!opts->retry && (opts->clay_retries_given || opts->max_attempts_given)) {
        snprintf(err, err_size, "%s needs --retry clay", opts->clay_retries_given ? "--clay-retries" : "--max-attempts");
        return -1;
    }
    if (cw_fire_attempts(opts->clay_retries_given, opts->clay_retries, opts->max_attempts_given, opts->max_attempts,
                         &opts->max_attempts) != 0) {
        snprintf(err, err_size, "--clay-retries %u and --max-attempts %u disagree (attempts = retries + 1)", opts->clay_retries,
                 opts->max_attempts);
        return -1;
    }
    if (opts->concurrency == 0) {
        opts->concurrency = opts->rate > 0 ? 256 : 8;
    }
    if ((uint64_t)opts->count * opts->dup > CW_FIRE_MAX_SENDS) {
        snprintf(err, err_size, "--count times --dup is too large");
        return -1;
    }
    return 0;
}

/* ---- building one attempt ---- */

static const cw_fixture_step_t *fixture_step(const fire_t *fire)
{
    return fire->fixture != NULL ? &fire->fixture->steps[0] : NULL;
}

/* sign_headers makes the auth headers of one attempt over |body|. Returns 0, or -1 with |err| set. */
static int sign_headers(const fire_t *fire, const void *body, size_t body_len, cw_sign_headers_t *out, char *err, size_t err_size)
{
    const fire_opts_t *o = &fire->opts;
    const cw_fixture_step_t *step = fixture_step(fire);
    if (step != NULL && !o->scheme_given) {
        /* The fixture's own "sign" block, with --secret (or the environment) replacing its secrets. */
        const cw_fixture_sign_t *s = &step->request.sign;
        if (s->scheme == CW_SIGN_NONE) {
            out->num_headers = 0;
            return 0;
        }
        cw_sign_params_t p = {.scheme = s->scheme,
                              .secrets = o->num_secrets != 0 ? o->secrets : (const char *const *)s->secrets,
                              .num_secrets = o->num_secrets != 0 ? o->num_secrets : s->num_secrets,
                              .tamper = o->tamper != CW_SIGN_TAMPER_NONE ? o->tamper : s->tamper,
                              .skew_s = o->skew_s != 0 ? o->skew_s : s->skew_s,
                              .msg_id = s->msg_id,
                              .flags = s->bare_hex ? CW_SIGN_BARE_HEX : 0};
        return cw_sign_request(&p, body, body_len, out, err, err_size);
    }
    if (o->scheme == CW_SIGN_NONE) {
        out->num_headers = 0;
        return 0;
    }
    cw_sign_params_t p = {
        .scheme = o->scheme, .secrets = o->secrets, .num_secrets = o->num_secrets, .tamper = o->tamper, .skew_s = o->skew_s};
    return cw_sign_request(&p, body, body_len, out, err, err_size);
}

static void row_id_of(const fire_t *fire, uint32_t lead, char *out, size_t out_size)
{
    if (fire->fixture != NULL) {
        snprintf(out, out_size, "%s-%" PRIu32, fire->fixture->name, lead);
    } else {
        cw_gen_facts_t facts;
        cw_gen_lead_facts(fire->opts.seed, lead, &facts);
        snprintf(out, out_size, "%s", facts.row_id);
    }
}

static void on_response(const cw_http_response_t *res, void *data);
static void pump(fire_t *fire);

static void start_attempt(send_t *send)
{
    fire_t *fire = send->fire;
    const char *lines[CW_FIXTURE_MAX_HEADERS + CW_SIGN_MAX_HEADERS + 2];
    char *owned[CW_SIGN_MAX_HEADERS + 1];
    size_t num_lines = 0, num_owned = 0;
    char err[256];
    cw_sign_headers_t auth;

    if (fire->fixture != NULL) {
        for (size_t i = 0; i != fire->num_fixture_headers; ++i) {
            lines[num_lines++] = fire->fixture_header_lines[i];
        }
    } else {
        lines[num_lines++] = "Content-Type: application/json";
    }
    if (fire->opts.idempotency_header) {
        char row_id[160];
        row_id_of(fire, send->plan.lead, row_id, sizeof(row_id));
        owned[num_owned] = cw_hclient_header_line("Idempotency-Key", row_id);
        lines[num_lines++] = owned[num_owned++];
    }
    /* Signed per attempt, as a sender would: a retry has a fresh Standard Webhooks timestamp, same id (the
     * body's digest); static, bearer and hmac give the same bytes on every attempt. */
    if (sign_headers(fire, send->body, send->body_len, &auth, err, sizeof(err)) != 0) {
        auth.num_headers = 0; /* checked once before the run, so this cannot happen */
    }
    for (size_t i = 0; i != auth.num_headers; ++i) {
        owned[num_owned] = cw_hclient_header_line(auth.headers[i].name, auth.headers[i].value);
        lines[num_lines++] = owned[num_owned++];
    }
    const cw_fixture_step_t *step = fixture_step(fire);
    cw_http_request_t req = {.method = step != NULL ? step->request.method : "POST",
                             .url = fire->url,
                             .headers = lines,
                             .num_headers = num_lines,
                             .body = send->body,
                             .body_len = send->body_len,
                             .timeout_ms = fire->opts.timeout_ms,
                             .max_attempts = 1};
    ++send->attempts;
    ++fire->stats.num_attempts;
    cw_http_submit(fire->http, &fire->loop, &req, on_response, send);
    for (size_t i = 0; i != num_owned; ++i) {
        free(owned[i]);
    }
}

static void on_retry_timer(cw_timer_t *timer)
{
    start_attempt(timer->data);
}

/* result_name returns the answer's "status" field, else "error:<its error field>", else NULL. */
static const char *result_name(const cw_http_response_t *res, char *buf, size_t buf_size)
{
    const char *name = NULL;
    cJSON *json = cJSON_ParseWithLength(res->body, res->body_len);
    if (cJSON_IsObject(json)) {
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(json, "status");
        const cJSON *error = cJSON_GetObjectItemCaseSensitive(json, "error");
        if (cJSON_IsString(status)) {
            snprintf(buf, buf_size, "%s", status->valuestring);
            name = buf;
        } else if (cJSON_IsString(error)) {
            snprintf(buf, buf_size, "error:%s", error->valuestring);
            name = buf;
        }
    }
    cJSON_Delete(json);
    return name;
}

static void finish_send(send_t *send, const cw_http_response_t *res)
{
    fire_t *fire = send->fire;
    cw_fire_stats_t *stats = &fire->stats;
    uint64_t now = cw_now_us();
    int status = res->error == CW_HTTP_OK ? res->status : 0;
    stats->latency_us[stats->num_sends++] = now >= send->start_us ? now - send->start_us : 0;
    ++stats->by_status[status > 0 && status < CW_FIRE_MAX_STATUS ? status : 0];
    char buf[CW_FIRE_RESULT_NAME_SIZE];
    cw_fire_stats_count_result(stats, res->error == CW_HTTP_OK ? result_name(res, buf, sizeof(buf)) : "(no answer)");
    int ok = fire->tamper != CW_SIGN_TAMPER_NONE ? status == 401 : (status >= 200 && status <= 299);
    if (ok) {
        ++stats->num_ok;
    }
    fire->last_done_us = now;
    free(send->body);
    free(send);
    --fire->in_flight;
    ++fire->num_done;
    pump(fire);
}

static void on_response(const cw_http_response_t *res, void *data)
{
    send_t *send = data;
    fire_t *fire = send->fire;
    int status = res->error == CW_HTTP_OK ? res->status : 0;
    if (res->error != CW_HTTP_OK) {
        ++fire->stats.num_transport_errors;
    }
    if (send->resend_after_timeout) {
        char buf[CW_FIRE_RESULT_NAME_SIZE];
        const char *name = res->error == CW_HTTP_OK            ? result_name(res, buf, sizeof(buf))
                           : res->error == CW_HTTP_ERR_TIMEOUT ? "(timeout)"
                                                               : "(no answer)";
        cw_fire_stats_count_after_timeout(&fire->stats, name);
    }
    /* Clay's "Response timeout": the attempt failed for the sender, but the receiver may be finishing it. */
    send->resend_after_timeout = res->error == CW_HTTP_ERR_TIMEOUT;
    if (send->resend_after_timeout) {
        ++fire->stats.num_timed_out;
    }
    if (fire->opts.retry && cw_fire_retryable(status) && send->attempts < fire->backoff.max_attempts) {
        int64_t retry_after = -1;
        if (res->error == CW_HTTP_OK) {
            const char *ra = cw_http_find_header(res->headers, res->num_headers, "retry-after");
            retry_after = ra != NULL ? cw_http_retry_after_ms(ra, cw_wall_ms()) : -1;
        }
        uint64_t delay = cw_fire_retry_delay_ms(&fire->backoff, send->attempts, retry_after, &fire->jitter_rng);
        ++fire->stats.num_retries;
        send->retry_timer.data = send;
        cw_timer_start(&fire->loop, &send->retry_timer, delay, on_retry_timer);
        return;
    }
    finish_send(send, res);
}

/* scheduled_us returns when plan entry |i| should start under --rate. */
static uint64_t scheduled_us(const fire_t *fire, size_t i)
{
    return fire->run_start_us + (uint64_t)((double)i * 1e6 / fire->opts.rate);
}

static void start_send(fire_t *fire, uint64_t start_us)
{
    send_t *send = cw_calloc(1, sizeof(*send));
    send->fire = fire;
    send->plan = fire->plan[fire->next++];
    send->start_us = start_us;
    if (fire->fixture != NULL) {
        const cw_fixture_request_t *r = &fixture_step(fire)->request;
        send->body = cw_malloc(r->body_len + 1);
        memcpy(send->body, r->body, r->body_len);
        send->body_len = r->body_len;
    } else {
        send->body =
            cw_gen_lead_json(fire->opts.seed, send->plan.lead, fire->opts.mutate ? CW_GEN_MUTATE_TYPES : 0, &send->body_len);
    }
    ++fire->in_flight;
    start_attempt(send);
}

static void on_pace_timer(cw_timer_t *timer)
{
    pump(timer->data);
}

/* pump starts what may start now: up to the concurrency (closed loop), or everything due (open loop). */
static void pump(fire_t *fire)
{
    if (fire->opts.rate <= 0) {
        while (fire->next < fire->num_plan && fire->in_flight < fire->opts.concurrency) {
            start_send(fire, cw_now_us());
        }
        return;
    }
    uint64_t now = cw_now_us();
    while (fire->next < fire->num_plan && fire->in_flight < fire->opts.concurrency) {
        uint64_t due = scheduled_us(fire, fire->next);
        if (due > now) {
            break;
        }
        /* Latency counts from |due|: a start delayed by the cap or a slow loop is the target's time too. */
        start_send(fire, due);
    }
    if (fire->next < fire->num_plan && fire->in_flight < fire->opts.concurrency && !cw_timer_is_running(&fire->pace_timer)) {
        uint64_t due = scheduled_us(fire, fire->next);
        uint64_t delay_ms = due > now ? (due - now + 999) / 1000 : 0;
        fire->pace_timer.data = fire;
        cw_timer_start(&fire->loop, &fire->pace_timer, delay_ms, on_pace_timer);
    }
}

/* ---- setup ---- */

static void compute_expected(fire_t *fire)
{
    cw_fire_stats_t *stats = &fire->stats;
    memset(&stats->expected, 0, sizeof(stats->expected));
    if (fire->tamper != CW_SIGN_TAMPER_NONE) {
        stats->expected_known = 1; /* refused requests deliver nothing */
        return;
    }
    if (fire->fixture != NULL) {
        const int *d = fixture_step(fire)->expect.deliveries;
        if (d[0] < 0 || d[1] < 0 || d[2] < 0 || d[3] < 0) {
            return;
        }
        /* Every send has the same body: one event, or one per lead with distinct Idempotency-Keys, which the receiver
         * reads only when nothing is signed (static, bearer, none): under hmac and standard only signed data sets the id. */
        cw_sign_scheme_t scheme = fire->opts.scheme_given ? fire->opts.scheme : fixture_step(fire)->request.sign.scheme;
        int keyed = fire->opts.idempotency_header && scheme != CW_SIGN_HMAC && scheme != CW_SIGN_STANDARD;
        unsigned events = keyed ? (unsigned)fire->opts.count : 1;
        stats->expected =
            (cw_gen_sinks_t){(unsigned)d[0] * events, (unsigned)d[1] * events, (unsigned)d[2] * events, (unsigned)d[3] * events};
        stats->expected_known = 1;
        return;
    }
    for (size_t i = 0; i != fire->opts.count; ++i) {
        cw_gen_facts_t facts;
        cw_gen_sinks_t sinks;
        cw_gen_lead_facts(fire->opts.seed, i, &facts);
        cw_gen_expected_sinks(&facts, NULL, &sinks);
        stats->expected.outreach += sinks.outreach;
        stats->expected.nurture += sinks.nurture;
        stats->expected.zapier += sinks.zapier;
        stats->expected.slack += sinks.slack;
    }
    stats->expected_known = 1;
}

/* setup loads the fixture, builds the URL and the plan, and checks the signing parameters once.
 * Returns 0, or an exit code (2) after printing why. */
static int setup(fire_t *fire)
{
    const fire_opts_t *o = &fire->opts;
    char err[512];
    if (o->fixture_path != NULL) {
        if (cw_fixture_load(o->fixture_path, &fire->fixture, err, sizeof(err)) != 0) {
            fprintf(stderr, "clay-harness fire: %s\n", err);
            return 2;
        }
        const cw_fixture_request_t *r = &fire->fixture->steps[0].request;
        fire->fixture_header_lines = cw_calloc(r->num_headers + 1, sizeof(char *));
        for (size_t i = 0; i != r->num_headers; ++i) {
            fire->fixture_header_lines[i] = cw_hclient_header_line(r->headers[i].name, r->headers[i].value);
        }
        fire->num_fixture_headers = r->num_headers;
        if (!o->scheme_given && r->sign.scheme != CW_SIGN_NONE && o->num_secrets == 0 && r->sign.num_secrets == 0) {
            fprintf(stderr, "clay-harness fire: %s asks for a signature but has no secret: give --secret\n", o->fixture_path);
            return 2;
        }
    }
    const char *path = fire->fixture != NULL ? fire->fixture->steps[0].request.path : CW_FIXTURE_DEFAULT_PATH;
    fire->url = cw_hclient_target_has_path(o->target) ? cw_strdup(o->target) : cw_hclient_url(o->target, path);

    /* A bad secret (say, a whsec_ that is not base64) fails here once, not on every request. */
    cw_sign_headers_t probe;
    if (sign_headers(fire, "{}", 2, &probe, err, sizeof(err)) != 0) {
        fprintf(stderr, "clay-harness fire: cannot sign: %s\n", err);
        return 2;
    }

    fire->num_plan = o->count * o->dup;
    fire->plan = cw_calloc(fire->num_plan, sizeof(*fire->plan));
    if (cw_fire_schedule(o->count, o->dup, o->shuffle, o->seed, fire->plan) != 0) {
        fprintf(stderr, "clay-harness fire: cannot plan %zu x %zu sends\n", o->count, o->dup);
        return 2;
    }
    fire->backoff = (cw_fire_backoff_t)CW_FIRE_BACKOFF_DEFAULT;
    fire->backoff.max_attempts = o->max_attempts;
    fire->jitter_rng = o->seed ^ UINT64_C(0x9e3779b97f4a7c15);

    cw_fire_stats_t *stats = &fire->stats;
    stats->target = fire->url;
    const cw_fixture_step_t *step = fixture_step(fire);
    cw_sign_scheme_t scheme = step != NULL && !o->scheme_given ? step->request.sign.scheme : o->scheme;
    cw_sign_tamper_t tamper =
        step != NULL && !o->scheme_given && o->tamper == CW_SIGN_TAMPER_NONE ? step->request.sign.tamper : o->tamper;
    stats->scheme = cw_sign_scheme_name(scheme);
    stats->tamper = cw_sign_tamper_name(tamper, scheme);
    fire->tamper = scheme != CW_SIGN_NONE ? tamper : CW_SIGN_TAMPER_NONE;
    stats->source = o->fixture_path != NULL ? o->fixture_path : (o->mutate ? "generated, mutated types" : "generated");
    stats->seed = o->seed;
    stats->num_leads = o->count;
    stats->dup = o->dup;
    stats->concurrency = o->concurrency;
    stats->offered_rate = o->rate;
    stats->retry = o->retry;
    stats->max_attempts = o->max_attempts;
    stats->timeout_ms = o->timeout_ms;
    stats->latency_us = cw_calloc(fire->num_plan, sizeof(uint64_t));
    compute_expected(fire);
    return 0;
}

static void teardown(fire_t *fire)
{
    for (size_t i = 0; i != fire->num_fixture_headers; ++i) {
        free(fire->fixture_header_lines[i]);
    }
    free(fire->fixture_header_lines);
    cw_fixture_free(fire->fixture);
    free(fire->plan);
    free(fire->url);
    free(fire->stats.latency_us);
    free(fire->opts.env_secrets);
}

int cw_harness_fire_main(int argc, char **argv)
{
    fire_t fire = {.opts = {.count = 100, .dup = 1, .timeout_ms = 30000}};
    char err[512];
    int help = 0, rc;
    if (parse_args(argc, argv, &fire.opts, &help, err, sizeof(err)) != 0 || help) {
        free(fire.opts.env_secrets);
        if (!help) {
            fprintf(stderr, "clay-harness fire: %s (see clay-harness fire --help)\n", err);
            return 2;
        }
        return 0;
    }
    if ((rc = setup(&fire)) != 0) {
        goto Exit;
    }
    fire.http = cw_http_new();
    if (fire.http == NULL) {
        fputs("clay-harness fire: cannot start the HTTP client\n", stderr);
        rc = 1;
        goto Exit;
    }
    cw_loop_init(&fire.loop);
    fire.run_start_us = cw_now_us();
    fire.last_done_us = fire.run_start_us;
    pump(&fire);
    while (fire.num_done < fire.num_plan) {
        cw_loop_run_once(&fire.loop);
    }
    cw_timer_stop(&fire.pace_timer);
    cw_http_free(fire.http);
    cw_loop_dispose(&fire.loop, 1);

    fire.stats.elapsed_us = fire.last_done_us - fire.run_start_us;
    cw_fire_stats_finish(&fire.stats);
    if (fire.opts.report_json) {
        cw_fire_report_human(&fire.stats, stderr);
        char *json = cw_fire_report_json(&fire.stats);
        printf("%s\n", json);
        free(json);
    } else {
        cw_fire_report_human(&fire.stats, stdout);
    }
    fflush(stdout);
    rc = fire.stats.num_ok == fire.stats.num_sends ? 0 : 1;

Exit:
    teardown(&fire);
    return rc;
}
