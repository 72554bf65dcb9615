/*
 * scenario.c: `clay-harness scenario`: starts a mock and instances of the
 * function under test as real processes on loopback, drives them with
 * `clay-harness fire` (this same binary, as a child), breaks things on
 * purpose (sink outages, SIGTERM, kill -9, store faults) and checks the mock's
 * delivery ledger: exactly one delivery per unique lead and sink, none lost.
 *
 * Every process is started here, recorded, and stopped by PID; every wait is
 * bounded; everything listens on 127.0.0.1.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "cw/http.h"
#include "cw/opt.h"
#include "cw/util.h"
#include "client.h"

#define MAX_PROCS 32

typedef struct st_proc_t {
    pid_t pid;
    char name[32];
    char log[PATH_MAX];
    int exited;
    int status;
} proc_t;

typedef struct st_ctx_t {
    const char *function; /* path of clay-function */
    char self[PATH_MAX];  /* path of clay-harness */
    char dir[256];        /* scratch folder of this run */
    cw_http_t *http;
    proc_t procs[MAX_PROCS];
    size_t num_procs;
    char mock_url[64];
    size_t leads; /* 0: each scenario's default */
    int verbose;
    char why[1024]; /* the first failed check of the running scenario */
} ctx_t;

/* ---- processes ---- */

static void say(ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(ctx_t *ctx, const char *fmt, ...)
{
    if (!ctx->verbose) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fputs("  .. ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int failf(ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(ctx_t *ctx, const char *fmt, ...)
{
    if (ctx->why[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->why, sizeof(ctx->why), fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* spawn starts |argv| with |env| (NULL-terminated "K=V" list added to ours), stdout and stderr to a log file. */
static proc_t *spawn(ctx_t *ctx, const char *name, char *const argv[], const char *const env[])
{
    if (ctx->num_procs == MAX_PROCS) {
        return NULL;
    }
    proc_t *p = &ctx->procs[ctx->num_procs];
    *p = (proc_t){0};
    snprintf(p->name, sizeof(p->name), "%s", name);
    static unsigned serial; /* logs are never reused: a reader must not see a previous process's lines */
    snprintf(p->log, sizeof(p->log), "%s/%s-%u.log", ctx->dir, name, ++serial);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1) {
        return NULL;
    }
    if (pid == 0) {
        int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd != -1) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        for (size_t i = 0; env != NULL && env[i] != NULL; ++i) {
            putenv((char *)env[i]);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(argv[0], argv);
        _exit(127);
    }
    p->pid = pid;
    ++ctx->num_procs;
    return p;
}

static int reap(proc_t *p, uint64_t timeout_ms)
{
    uint64_t deadline = cw_now_ms() + timeout_ms;
    while (!p->exited) {
        int status;
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid) {
            p->exited = 1;
            p->status = status;
            break;
        }
        if (cw_now_ms() >= deadline) {
            return -1;
        }
        usleep(10 * 1000);
    }
    return 0;
}

/* stop sends |sig| and waits up to |timeout_ms|; then SIGKILL. Returns the exit code, 128+signal, or -1. */
static int stop(proc_t *p, int sig, uint64_t timeout_ms)
{
    if (p->exited) {
        return WIFEXITED(p->status) ? WEXITSTATUS(p->status) : 128 + WTERMSIG(p->status);
    }
    kill(p->pid, sig);
    if (reap(p, timeout_ms) != 0) {
        kill(p->pid, SIGKILL);
        reap(p, 5000);
        return -1;
    }
    return WIFEXITED(p->status) ? WEXITSTATUS(p->status) : 128 + WTERMSIG(p->status);
}

static void stop_all(ctx_t *ctx)
{
    for (size_t i = 0; i != ctx->num_procs; ++i) {
        stop(&ctx->procs[i], SIGTERM, 9000);
    }
    ctx->num_procs = 0;
}

/* read_file returns the file's bytes (caller frees) or NULL. */
static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        return NULL;
    }
    cw_buf_t b = CW_BUF_INIT;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), fp)) != 0) {
        cw_buf_append(&b, tmp, n);
    }
    fclose(fp);
    return cw_buf_release(&b, NULL);
}

/* wait_log waits until |p|'s log holds |needle|; returns the text from it on (caller frees) or NULL. */
static char *wait_log(proc_t *p, const char *needle, uint64_t timeout_ms)
{
    uint64_t deadline = cw_now_ms() + timeout_ms;
    while (cw_now_ms() < deadline) {
        char *text = read_file(p->log);
        const char *at = text != NULL ? strstr(text, needle) : NULL;
        if (at != NULL) {
            char *rest = cw_strdup(at);
            free(text);
            return rest;
        }
        free(text);
        if (reap(p, 0) == 0 && p->exited) {
            return NULL;
        }
        usleep(20 * 1000);
    }
    return NULL;
}

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    socklen_t len = sizeof(sa);
    uint16_t port = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
        port = ntohs(sa.sin_port);
    }
    close(fd);
    return port;
}

typedef struct st_fn_t {
    proc_t *proc;
    char url[64];
    uint16_t port;
} fn_t;

/* start_function starts clay-function on |port| (0: any) with the common environment plus |extra|. */
static int start_function(ctx_t *ctx, fn_t *fn, const char *name, uint16_t port, const char *store_url, const char *const extra[])
{
    char env_port[32], env_store[PATH_MAX + 16], env_out[160], env_nur[160], env_zap[160], env_slack[160];
    snprintf(env_port, sizeof(env_port), "PORT=%u", (unsigned)port);
    snprintf(env_store, sizeof(env_store), "STORE_URL=%s", store_url);
    snprintf(env_out, sizeof(env_out), "OUTREACH_WEBHOOK_URL=%s/sinks/outreach", ctx->mock_url);
    snprintf(env_nur, sizeof(env_nur), "NURTURE_WEBHOOK_URL=%s/sinks/nurture", ctx->mock_url);
    snprintf(env_zap, sizeof(env_zap), "ZAPIER_WEBHOOK_URL=%s/sinks/zapier", ctx->mock_url);
    snprintf(env_slack, sizeof(env_slack), "SLACK_WEBHOOK_URL=%s/sinks/slack", ctx->mock_url);
    const char *env[32] = {"BIND_ADDRESS=127.0.0.1",
                           env_port,
                           env_store,
                           env_out,
                           env_nur,
                           env_zap,
                           env_slack,
                           "CLAY_WEBHOOK_SECRET=scenario-secret",
                           "REDRIVE_TOKEN=scenario-redrive",
                           "WORKERS=2",
                           "LOG_LEVEL=warning"};
    size_t n = 11;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 31; ++i) {
        env[n++] = extra[i];
    }
    env[n] = NULL;
    /* LOG_LEVEL=warning keeps logs small, but the "listening" line is INFO: read the port from a probe instead. */
    char *argv[] = {(char *)ctx->function, "serve", NULL};
    if (port == 0) {
        port = free_port();
        snprintf(env_port, sizeof(env_port), "PORT=%u", (unsigned)port);
    }
    fn->proc = spawn(ctx, name, argv, env);
    fn->port = port;
    snprintf(fn->url, sizeof(fn->url), "http://127.0.0.1:%u", (unsigned)port);
    if (fn->proc == NULL) {
        return failf(ctx, "cannot start %s", name);
    }
    char url[96];
    snprintf(url, sizeof(url), "%s/healthz", fn->url);
    uint64_t deadline = cw_now_ms() + 10000;
    while (cw_now_ms() < deadline) {
        cw_http_request_t req = {.url = url, .timeout_ms = 500};
        cw_http_result_t res;
        int ok = cw_http_fetch(ctx->http, &req, &res) == CW_HTTP_OK && res.status == 200;
        cw_http_result_free(&res);
        if (ok) {
            say(ctx, "%s up at %s", name, fn->url);
            return 0;
        }
        if (reap(fn->proc, 0) == 0 && fn->proc->exited) {
            char *log = read_file(fn->proc->log);
            failf(ctx, "%s exited at start: %.300s", name, log != NULL ? log : "");
            free(log);
            return -1;
        }
        usleep(20 * 1000);
    }
    return failf(ctx, "%s did not answer /healthz within 10 s", name);
}

static int start_mock(ctx_t *ctx, const char *const extra_args[])
{
    char *argv[24] = {ctx->self, "mock", "--listen", "127.0.0.1:0"};
    size_t n = 4;
    for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL && n < 23; ++i) {
        argv[n++] = (char *)extra_args[i];
    }
    argv[n] = NULL;
    proc_t *p = spawn(ctx, "mock", argv, NULL);
    if (p == NULL) {
        return failf(ctx, "cannot start the mock");
    }
    char *line = wait_log(p, "listening on http://127.0.0.1:", 10000);
    if (line == NULL) {
        return failf(ctx, "the mock did not start");
    }
    const char *url = strstr(line, "http://");
    size_t len = strcspn(url, " \r\n");
    snprintf(ctx->mock_url, sizeof(ctx->mock_url), "%.*s", (int)len, url);
    free(line);
    say(ctx, "mock at %s", ctx->mock_url);
    return 0;
}

/* ---- HTTP helpers ---- */

static int http_json(ctx_t *ctx, const char *method, const char *url, const char *body, const char *auth, cJSON **out,
                     int *out_status)
{
    char auth_header[128];
    const char *headers[2];
    size_t num_headers = 0;
    headers[num_headers++] = "Content-Type: application/json";
    if (auth != NULL) {
        snprintf(auth_header, sizeof(auth_header), "Authorization: Bearer %s", auth);
        headers[num_headers++] = auth_header;
    }
    cw_http_request_t req = {.method = method,
                             .url = url,
                             .headers = headers,
                             .num_headers = num_headers,
                             .body = body,
                             .body_len = body != NULL ? strlen(body) : 0,
                             .timeout_ms = 60000,
                             .max_response_bytes = 64 << 20};
    cw_http_result_t res;
    int rc = -1;
    if (cw_http_fetch(ctx->http, &req, &res) == CW_HTTP_OK) {
        if (out_status != NULL) {
            *out_status = res.status;
        }
        if (out != NULL) {
            *out = cJSON_ParseWithLength(res.body, res.body_len);
        }
        rc = 0;
    }
    cw_http_result_free(&res);
    return rc;
}

static int mock_post(ctx_t *ctx, const char *path, const char *body)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", ctx->mock_url, path);
    int status = 0;
    if (http_json(ctx, "POST", url, body, NULL, NULL, &status) != 0 || status / 100 != 2) {
        return failf(ctx, "mock control POST %s answered %d", path, status);
    }
    return 0;
}

static int mock_delete(ctx_t *ctx, const char *path)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", ctx->mock_url, path);
    int status = 0;
    if (http_json(ctx, "DELETE", url, NULL, NULL, NULL, &status) != 0 || status / 100 != 2) {
        return failf(ctx, "mock control DELETE %s answered %d", path, status);
    }
    return 0;
}

/* redrive_until_clear calls /internal/redrive until nothing is pending, waiting |lease_ms| between rounds. */
static int redrive_until_clear(ctx_t *ctx, const fn_t *fn, uint64_t lease_ms, int max_rounds)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/internal/redrive", fn->url);
    for (int round = 0; round != max_rounds; ++round) {
        cJSON *summary = NULL;
        int status = 0;
        if (http_json(ctx, "POST", url, "", "scenario-redrive", &summary, &status) != 0 || status != 200 || summary == NULL) {
            cJSON_Delete(summary);
            return failf(ctx, "redrive answered %d", status);
        }
        double scanned = cJSON_GetNumberValue(cJSON_GetObjectItem(summary, "scanned"));
        double completed = cJSON_GetNumberValue(cJSON_GetObjectItem(summary, "completed"));
        double cleared = cJSON_GetNumberValue(cJSON_GetObjectItem(summary, "cleared"));
        double done = cJSON_GetNumberValue(cJSON_GetObjectItem(summary, "already_done"));
        say(ctx, "redrive round %d: scanned %.0f completed %.0f already done %.0f cleared %.0f", round, scanned, completed, done,
            cleared);
        cJSON_Delete(summary);
        if (scanned == 0) {
            return 0;
        }
        usleep((useconds_t)lease_ms * 1000);
    }
    return failf(ctx, "events still pending after %d redrive rounds", max_rounds);
}

/* ---- fire ---- */

typedef struct st_fire_out_t {
    double expected[4]; /* outreach, nurture, zapier, slack */
    double ok, failed, requests;
    cJSON *report;
} fire_out_t;

static const char *const sink_names[4] = {"outreach", "nurture", "zapier", "slack"};

/* fire_start runs fire against |target|. Scenarios that retry set the column to 7 retries (--clay-retries 7: 8
 * attempts over 11 to 23 s of backoff), enough to outlast a restart or a store outage, beyond the README's recipe. */
static proc_t *fire_start(ctx_t *ctx, const char *target, size_t leads, size_t dup, size_t concurrency, const char *seed,
                          const char *const extra[])
{
    char count[32], dups[32], conc[32], tgt[128];
    snprintf(count, sizeof(count), "%zu", leads);
    snprintf(dups, sizeof(dups), "%zu", dup);
    snprintf(conc, sizeof(conc), "%zu", concurrency);
    snprintf(tgt, sizeof(tgt), "%s/api/clay/enriched", target);
    char *argv[40] = {ctx->self,       "fire", "--target", tgt,          "--count",  count,    "--dup",    dups,
                      "--concurrency", conc,   "--seed",   (char *)seed, "--scheme", "static", "--secret", "scenario-secret",
                      "--report",      "json"};
    size_t n = 18;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 39; ++i) {
        argv[n++] = (char *)extra[i];
    }
    argv[n] = NULL;
    return spawn(ctx, "fire", argv, NULL);
}

static int fire_finish(ctx_t *ctx, proc_t *p, fire_out_t *out, uint64_t timeout_ms)
{
    *out = (fire_out_t){0};
    if (reap(p, timeout_ms) != 0) {
        stop(p, SIGKILL, 1000);
        return failf(ctx, "fire did not finish within %llu s", (unsigned long long)(timeout_ms / 1000));
    }
    char *log = read_file(p->log);
    /* The JSON report is the line that starts with '{'. */
    const char *line = log;
    while (line != NULL && *line != '\0' && *line != '{') {
        const char *nl = strchr(line, '\n');
        line = nl != NULL ? nl + 1 : NULL;
    }
    out->report = line != NULL ? cJSON_Parse(line) : NULL;
    if (out->report == NULL) {
        failf(ctx, "fire printed no JSON report: %.300s", log != NULL ? log : "");
        free(log);
        return -1;
    }
    free(log);
    const cJSON *exp = cJSON_GetObjectItem(out->report, "expected_deliveries");
    for (size_t i = 0; i != 4; ++i) {
        out->expected[i] = cJSON_GetNumberValue(cJSON_GetObjectItem(exp, sink_names[i]));
    }
    out->ok = cJSON_GetNumberValue(cJSON_GetObjectItem(out->report, "ok"));
    out->failed = cJSON_GetNumberValue(cJSON_GetObjectItem(out->report, "failed"));
    out->requests = cJSON_GetNumberValue(cJSON_GetObjectItem(out->report, "requests"));
    char *by_status = cJSON_PrintUnformatted(cJSON_GetObjectItem(out->report, "by_status"));
    say(ctx, "fire: %.0f requests, %.0f ok, %.0f failed, by status %s", out->requests, out->ok, out->failed,
        by_status != NULL ? by_status : "?");
    free(by_status);
    return 0;
}

static void fire_free(fire_out_t *out)
{
    cJSON_Delete(out->report);
    out->report = NULL;
}

/* check_ledger compares the mock's ledger with what fire expects: per sink, distinct deliveries
 * (by Idempotency-Key) == expected, and no repeated key unless |allowed_repeats| says how many may be. */
static int check_ledger(ctx_t *ctx, const fire_out_t *fire, size_t allowed_repeats)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/_harness/deliveries?summary=1", ctx->mock_url);
    cJSON *ledger = NULL;
    int status = 0;
    if (http_json(ctx, "GET", url, NULL, NULL, &ledger, &status) != 0 || ledger == NULL) {
        return failf(ctx, "cannot read the mock's ledger (%d)", status);
    }
    int rc = 0;
    const cJSON *unique = cJSON_GetObjectItem(ledger, "unique_by_sink");
    double repeats = cJSON_GetNumberValue(cJSON_GetObjectItem(ledger, "duplicates"));
    for (size_t i = 0; i != 4; ++i) {
        const cJSON *u = cJSON_GetObjectItem(unique, sink_names[i]);
        double got = cJSON_IsNumber(u) ? u->valuedouble : 0;
        if (got != fire->expected[i]) {
            rc = failf(ctx, "sink %s: %.0f distinct deliveries, expected %.0f (%s)", sink_names[i], got, fire->expected[i],
                       got < fire->expected[i] ? "leads lost" : "more than one event per lead");
        }
    }
    if (repeats != repeats || repeats > (double)allowed_repeats) {
        rc = failf(ctx, "%.0f repeated deliveries (same Idempotency-Key), at most %zu allowed", repeats, allowed_repeats);
    }
    say(ctx, "ledger: outreach %.0f nurture %.0f zapier %.0f slack %.0f distinct, %.0f repeated",
        cJSON_GetNumberValue(cJSON_GetObjectItem(unique, "outreach")), cJSON_GetNumberValue(cJSON_GetObjectItem(unique, "nurture")),
        cJSON_GetNumberValue(cJSON_GetObjectItem(unique, "zapier")), cJSON_GetNumberValue(cJSON_GetObjectItem(unique, "slack")),
        repeats);
    cJSON_Delete(ledger);
    return rc;
}

static void store_url(ctx_t *ctx, char *out, size_t out_size, const char *name)
{
    snprintf(out, out_size, "file:%s/%s", ctx->dir, name);
}

static size_t leads_or(ctx_t *ctx, size_t def)
{
    return ctx->leads != 0 ? ctx->leads : def;
}

/* ---- scenarios ---- */

static int sc_healthz(ctx_t *ctx)
{
    char store[PATH_MAX];
    store_url(ctx, store, sizeof(store), "healthz");
    if (start_mock(ctx, NULL) != 0) {
        return -1;
    }
    fn_t fn;
    if (start_function(ctx, &fn, "fn", 0, store, NULL) != 0) {
        return -1;
    }
    int rc = stop(fn.proc, SIGTERM, 9000);
    return rc == 0 ? 0 : failf(ctx, "SIGTERM exit status %d", rc);
}

/* duplicate-storm: 3 instances on one store; every lead sent 5 times (2+2+1 across the instances, the same
 * order everywhere so the copies race), 64 concurrent in all. */
static int sc_duplicate_storm(ctx_t *ctx)
{
    size_t leads = leads_or(ctx, 1000);
    char store[PATH_MAX];
    store_url(ctx, store, sizeof(store), "storm");
    if (start_mock(ctx, NULL) != 0) {
        return -1;
    }
    fn_t fn[3];
    for (int i = 0; i != 3; ++i) {
        char name[16];
        snprintf(name, sizeof(name), "fn%d", i);
        if (start_function(ctx, &fn[i], name, 0, store, NULL) != 0) {
            return -1;
        }
    }
    static const char *const extra[] = {"--shuffle", "--mutate-types", "--retry", "clay", "--clay-retries", "7", NULL};
    proc_t *f[3];
    f[0] = fire_start(ctx, fn[0].url, leads, 2, 22, "4242", extra);
    f[1] = fire_start(ctx, fn[1].url, leads, 2, 21, "4242", extra);
    f[2] = fire_start(ctx, fn[2].url, leads, 1, 21, "4242", extra);
    fire_out_t out[3];
    int rc = 0;
    for (int i = 0; i != 3; ++i) {
        if (f[i] == NULL || fire_finish(ctx, f[i], &out[i], 240000) != 0) {
            rc = -1;
            continue;
        }
        if (out[i].failed != 0) {
            rc = failf(ctx, "fire %d: %.0f callbacks did not end 2xx", i, out[i].failed);
        }
    }
    if (rc == 0) {
        rc = check_ledger(ctx, &out[0], 0);
    }
    for (int i = 0; i != 3; ++i) {
        fire_free(&out[i]);
    }
    return rc;
}

/* sink-outage: outreach answers 503 for a while; callbacks get 202; after recovery, redrive finishes each once. */
static int sc_sink_outage(ctx_t *ctx)
{
    size_t leads = leads_or(ctx, 200);
    char store[PATH_MAX];
    store_url(ctx, store, sizeof(store), "outage");
    if (start_mock(ctx, NULL) != 0 || mock_post(ctx, "/_harness/sinks/outreach", "{\"fail_always\":true,\"status\":503}") != 0) {
        return -1;
    }
    static const char *const env[] = {"LEASE_S=1", "DELIVERY_DEADLINE_MS=300", NULL};
    fn_t fn;
    if (start_function(ctx, &fn, "fn", 0, store, env) != 0) {
        return -1;
    }
    fire_out_t out;
    proc_t *f = fire_start(ctx, fn.url, leads, 1, 16, "777", NULL);
    if (f == NULL || fire_finish(ctx, f, &out, 120000) != 0) {
        return -1;
    }
    int rc = 0;
    const cJSON *by_result = cJSON_GetObjectItem(out.report, "by_result");
    double accepted = cJSON_GetNumberValue(cJSON_GetObjectItem(by_result, "accepted"));
    if (out.failed != 0) {
        rc = failf(ctx, "%.0f callbacks did not end 2xx during the outage", out.failed);
    } else if (!(accepted == out.expected[0])) {
        rc = failf(ctx, "%.0f callbacks answered 202 accepted, expected one per outreach lead (%.0f)", accepted, out.expected[0]);
    }
    if (rc == 0 && (mock_delete(ctx, "/_harness/sinks/outreach") != 0 || redrive_until_clear(ctx, &fn, 1200, 10) != 0)) {
        rc = -1;
    }
    if (rc == 0) {
        rc = check_ledger(ctx, &out, 0);
    }
    fire_free(&out);
    return rc;
}

/* sigterm-under-load: an instance is stopped with SIGTERM mid-run and restarted on the same port (as Cloud
 * Run replaces it behind one URL); the sender retries like Clay. Every callback ends 2xx, exactly once. */
static int sc_sigterm_under_load(ctx_t *ctx)
{
    size_t leads = leads_or(ctx, 1000);
    char store[PATH_MAX];
    store_url(ctx, store, sizeof(store), "sigterm");
    /* Slow enough that the run lasts seconds and the stop lands with deliveries in flight. */
    if (start_mock(ctx, NULL) != 0 || mock_post(ctx, "/_harness/sinks/zapier", "{\"latency_ms\":100}") != 0) {
        return -1;
    }
    static const char *const env[] = {"LEASE_S=2", NULL};
    fn_t fn;
    if (start_function(ctx, &fn, "fn", 0, store, env) != 0) {
        return -1;
    }
    static const char *const extra[] = {"--retry", "clay", "--clay-retries", "7", "--dup", "2", "--shuffle", NULL};
    proc_t *f = fire_start(ctx, fn.url, leads, 1, 32, "9090", extra);
    usleep(1000 * 1000);
    if (reap(f, 0) == 0 && f->exited) {
        return failf(ctx, "the load ended before the stop: raise --leads");
    }
    int rc = stop(fn.proc, SIGTERM, 9000);
    if (rc != 0) {
        stop(f, SIGKILL, 1000);
        return failf(ctx, "SIGTERM under load: exit status %d (not a clean stop within 9 s)", rc);
    }
    say(ctx, "instance stopped cleanly under load; restarting on port %u", (unsigned)fn.port);
    fn_t again;
    if (start_function(ctx, &again, "fn-again", fn.port, store, env) != 0) {
        stop(f, SIGKILL, 1000);
        return -1;
    }
    fire_out_t out;
    if (fire_finish(ctx, f, &out, 180000) != 0) {
        return -1;
    }
    rc = 0;
    if (out.failed != 0) {
        rc = failf(ctx, "%.0f callbacks did not end 2xx", out.failed);
    }
    /* Events interrupted between acceptance and delivery are finished by redrive after their lease. */
    if (rc == 0 && redrive_until_clear(ctx, &again, 2200, 10) != 0) {
        rc = -1;
    }
    if (rc == 0) {
        rc = check_ledger(ctx, &out, 0);
    }
    fire_free(&out);
    return rc;
}

/* kill9-resume: an instance dies with kill -9 while deliveries are in flight; the sender's retries go to a
 * second instance on the same store; after the lease, redrive finishes what the dead one owned. Nothing is
 * lost; a repeat can only be a delivery whose sent/ marker the kill prevented, and it carries the same
 * Idempotency-Key (so it is counted apart, bounded by what was in flight). */
static int sc_kill9_resume(ctx_t *ctx)
{
    size_t leads = leads_or(ctx, 300);
    char store[PATH_MAX];
    store_url(ctx, store, sizeof(store), "kill9");
    if (start_mock(ctx, NULL) != 0 || mock_post(ctx, "/_harness/sinks/outreach", "{\"latency_ms\":300}") != 0 ||
        mock_post(ctx, "/_harness/sinks/nurture", "{\"latency_ms\":300}") != 0) {
        return -1;
    }
    static const char *const env[] = {"LEASE_S=2", NULL};
    fn_t a, b;
    if (start_function(ctx, &a, "fn-a", 0, store, env) != 0 || start_function(ctx, &b, "fn-b", 0, store, env) != 0) {
        return -1;
    }
    /* First wave at A without retries: the kill leaves some unanswered, as Clay would see it. */
    proc_t *f = fire_start(ctx, a.url, leads, 1, 32, "3131", NULL);
    usleep(1500 * 1000);
    kill(a.proc->pid, SIGKILL);
    reap(a.proc, 5000);
    say(ctx, "fn-a killed with SIGKILL mid-flight");
    fire_out_t first;
    if (fire_finish(ctx, f, &first, 120000) != 0) {
        return -1;
    }
    /* Clay retries everything that did not succeed; resending all is the harder case. */
    static const char *const extra[] = {"--retry", "clay", "--clay-retries", "7", NULL};
    f = fire_start(ctx, b.url, leads, 1, 32, "3131", extra);
    fire_out_t second;
    if (fire_finish(ctx, f, &second, 120000) != 0) {
        fire_free(&first);
        return -1;
    }
    int rc = 0;
    if (second.failed != 0) {
        rc = failf(ctx, "retries to the second instance: %.0f did not end 2xx", second.failed);
    }
    if (rc == 0 && redrive_until_clear(ctx, &b, 2200, 10) != 0) {
        rc = -1;
    }
    if (rc == 0) {
        rc = check_ledger(ctx, &second, 64); /* at most what was in flight at the kill (32 sends, 2 sinks each) */
    }
    fire_free(&first);
    fire_free(&second);
    return rc;
}

/* store-faults: the GCS emulator fails 10% of requests with 503 (with latency spikes) and commits 5% of
 * writes before answering 503 (ambiguous success); two instances, every lead twice. */
static int sc_store_faults(ctx_t *ctx)
{
    size_t leads = leads_or(ctx, 1000);
    static const char *const mock_args[] = {"--store-fail-rate",
                                            "0.10",
                                            "--store-ambiguous-rate",
                                            "0.05",
                                            "--store-latency-spike-rate",
                                            "0.05",
                                            "--store-latency-spike-ms",
                                            "200",
                                            "--seed",
                                            "11",
                                            NULL};
    if (start_mock(ctx, mock_args) != 0) {
        return -1;
    }
    char emulator[96];
    snprintf(emulator, sizeof(emulator), "STORAGE_EMULATOR_HOST=%s", ctx->mock_url);
    const char *const env[] = {emulator, NULL};
    fn_t fn[2];
    if (start_function(ctx, &fn[0], "fn0", 0, "gs://scenario-bucket/faults", env) != 0 ||
        start_function(ctx, &fn[1], "fn1", 0, "gs://scenario-bucket/faults", env) != 0) {
        return -1;
    }
    static const char *const extra[] = {"--retry", "clay", "--clay-retries", "7", "--shuffle", NULL};
    proc_t *f0 = fire_start(ctx, fn[0].url, leads, 1, 16, "5151", extra);
    proc_t *f1 = fire_start(ctx, fn[1].url, leads, 1, 16, "5151", extra);
    fire_out_t out0, out1;
    int rc = 0;
    if (fire_finish(ctx, f0, &out0, 300000) != 0 || fire_finish(ctx, f1, &out1, 300000) != 0) {
        return -1;
    }
    if (out0.failed + out1.failed != 0) {
        rc = failf(ctx, "%.0f callbacks did not end 2xx", out0.failed + out1.failed);
    }
    if (rc == 0 && mock_post(ctx, "/_harness/store", "{\"fail_rate\":0,\"ambiguous_rate\":0}") == 0) {
        rc = redrive_until_clear(ctx, &fn[0], 1000, 40);
    }
    if (rc == 0) {
        rc = check_ledger(ctx, &out0, 0);
    }
    fire_free(&out0);
    fire_free(&out1);
    return rc;
}

/* store-down: the store answers 503 to everything; callbacks get 503 with Retry-After; the sender's retries
 * complete every one once the store is back. */
static int sc_store_down(ctx_t *ctx)
{
    size_t leads = leads_or(ctx, 100);
    if (start_mock(ctx, NULL) != 0 || mock_post(ctx, "/_harness/store", "{\"down\":true}") != 0) {
        return -1;
    }
    char emulator[96];
    snprintf(emulator, sizeof(emulator), "STORAGE_EMULATOR_HOST=%s", ctx->mock_url);
    const char *const env[] = {emulator, NULL};
    fn_t fn;
    if (start_function(ctx, &fn, "fn", 0, "gs://scenario-bucket/down", env) != 0) {
        return -1;
    }
    /* While down: a plain callback is refused with 503 and Retry-After. */
    char url[128];
    snprintf(url, sizeof(url), "%s/api/clay/enriched", fn.url);
    const char *headers[] = {"Content-Type: application/json", "X-Clay-Secret: scenario-secret"};
    const char body[] = "{\"email\":\"down@example.com\",\"icp_score\":85}";
    cw_http_request_t req = {.method = "POST",
                             .url = url,
                             .headers = headers,
                             .num_headers = 2,
                             .body = body,
                             .body_len = sizeof(body) - 1,
                             .timeout_ms = 30000};
    cw_http_result_t res;
    cw_http_fetch(ctx->http, &req, &res);
    int ok = res.status == 503 && cw_http_find_header(res.headers, res.num_headers, "retry-after") != NULL;
    cw_http_result_free(&res);
    if (!ok) {
        return failf(ctx, "with the store down a callback got %d, expected 503 with Retry-After", res.status);
    }
    static const char *const extra[] = {"--retry", "clay", "--clay-retries", "7", NULL};
    proc_t *f = fire_start(ctx, fn.url, leads, 1, 8, "6161", extra);
    usleep(1500 * 1000);
    if (mock_post(ctx, "/_harness/store", "{\"down\":false}") != 0) {
        stop(f, SIGKILL, 1000);
        return -1;
    }
    say(ctx, "store back up");
    fire_out_t out;
    if (fire_finish(ctx, f, &out, 180000) != 0) {
        return -1;
    }
    int rc = 0;
    if (out.failed != 0) {
        rc = failf(ctx, "%.0f callbacks did not complete after the store came back", out.failed);
    }
    if (rc == 0) {
        rc = check_ledger(ctx, &out, 0);
    }
    fire_free(&out);
    return rc;
}

typedef struct st_scenario_t {
    const char *name;
    int (*run)(ctx_t *ctx);
    const char *what;
} scenario_t;

static const scenario_t scenarios[] = {
    {"healthz", sc_healthz, "one instance answers /healthz and stops cleanly on SIGTERM"},
    {"duplicate-storm", sc_duplicate_storm, "3 instances, one store, 1000 leads x 5 copies, 64 concurrent, shuffled"},
    {"sink-outage", sc_sink_outage, "a sink fails, callbacks get 202, redrive after recovery delivers each once"},
    {"sigterm-under-load", sc_sigterm_under_load, "SIGTERM mid-run, restart on the same port, Clay-like retries"},
    {"kill9-resume", sc_kill9_resume, "kill -9 mid-flight, retries to a second instance, redrive after the lease"},
    {"store-faults", sc_store_faults, "GCS emulator with 10% 503s, latency spikes and 5% ambiguous successes"},
    {"store-down", sc_store_down, "store down: 503 + Retry-After; Clay-like retries complete once it is back"},
};

/* The column where the help text of the options starts. */
#define HELP_COLUMN 19

/* names_t is the scenarios named on the command line. */
typedef struct st_names_t {
    const char *names[CW_ARRAY_SIZE(scenarios)];
    size_t num_names;
} names_t;

static int name_cb(const cw_opt_t *opt, const char *value, char *err, size_t err_size)
{
    names_t *list = opt->target;
    size_t k;
    for (k = 0; k != CW_ARRAY_SIZE(scenarios) && strcmp(scenarios[k].name, value) != 0; ++k) {
    }
    if (k == CW_ARRAY_SIZE(scenarios)) {
        snprintf(err, err_size, "unknown scenario '%.100s'", value);
        return -1;
    }
    if (list->num_names == CW_ARRAY_SIZE(list->names)) {
        snprintf(err, err_size, "too many names");
        return -1;
    }
    list->names[list->num_names++] = value;
    return 0;
}

static void usage(FILE *fp, const cw_opt_t *opts, size_t num_opts)
{
    cw_opt_print_help(fp,
                      "usage: clay-harness scenario [--function PATH] [--leads N] [--keep] [-v] [NAME...]\n"
                      "  Starts a mock and instances of the function as processes on 127.0.0.1 and runs the named\n"
                      "  scenarios (default: all), printing one line per scenario and 'N passed, N failed'.\n",
                      opts, num_opts, HELP_COLUMN, "scenarios:\n");
    for (size_t i = 0; i != CW_ARRAY_SIZE(scenarios); ++i) {
        fprintf(fp, "  %-20s %s\n", scenarios[i].name, scenarios[i].what);
    }
}

/* parse_args fills |ctx|, *|keep| and |names|; on --help it prints the usage and sets *|out_help|. Returns 0,
 * or -1 with one line in |err|. */
static int parse_args(int argc, char **argv, ctx_t *ctx, int *keep, names_t *names, int *out_help, char *err, size_t err_size)
{
    const cw_opt_t opts[] = {
        {.name = "--function",
         .type = CW_OPT_STRING,
         .target = &ctx->function,
         .metavar = "PATH",
         .help = "the clay-function binary (default: $CLAY_FUNCTION, else next to this binary)"},
        {.name = "--leads",
         .type = CW_OPT_SIZE,
         .target = &ctx->leads,
         .min = 1,
         .max = 1000000,
         .want = "a number from 1 to 1000000",
         .metavar = "N",
         .help = "unique leads per scenario (default: each scenario's own)"},
        {.name = "--keep", .type = CW_OPT_FLAG, .target = keep, .help = "keep the scratch folder (logs, stores)"},
        {.name = "--verbose", .alias = "-v", .type = CW_OPT_FLAG, .target = &ctx->verbose, .usage = "-v", .help = "narrate"},
        {.name = "NAME", .type = CW_OPT_CUSTOM, .cb = name_cb, .target = names},
    };
    if (cw_opt_parse(opts, CW_ARRAY_SIZE(opts), argc, argv, out_help, err, err_size) != 0) {
        return -1;
    }
    if (*out_help) {
        usage(stdout, opts, CW_ARRAY_SIZE(opts));
    }
    return 0;
}

static int rm_tree(const char *path)
{
    char cmd[PATH_MAX + 16];
    if (strncmp(path, "/tmp/cw-scenario.", 17) != 0 && strncmp(path, "/dev/shm/cw-scenario.", 21) != 0) {
        return -1; /* only ever our own scratch folder */
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    return system(cmd);
}

int cw_harness_scenario_main(int argc, char **argv)
{
    ctx_t ctx = {.function = getenv("CLAY_FUNCTION")};
    int keep = 0, help = 0;
    names_t names = {.num_names = 0};
    char err[512];

    if (parse_args(argc, argv, &ctx, &keep, &names, &help, err, sizeof(err)) != 0) {
        fprintf(stderr, "clay-harness scenario: %s (see clay-harness scenario --help)\n", err);
        return 2;
    }
    if (help) {
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", ctx.self, sizeof(ctx.self) - 1);
    if (n <= 0) {
        fprintf(stderr, "clay-harness scenario: cannot find its own binary\n");
        return 2;
    }
    ctx.self[n] = '\0';
    static char sibling[PATH_MAX + 16];
    if (ctx.function == NULL) {
        snprintf(sibling, sizeof(sibling), "%.*s/clay-function", (int)(strrchr(ctx.self, '/') - ctx.self), ctx.self);
        ctx.function = sibling;
    }
    if (access(ctx.function, X_OK) != 0) {
        fprintf(stderr, "clay-harness scenario: no clay-function at %s (use --function PATH)\n", ctx.function);
        return 2;
    }
    /* Stores live in memory when /dev/shm exists: the scenarios test the protocol, not the disk. */
    snprintf(ctx.dir, sizeof(ctx.dir), "%s/cw-scenario.XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(ctx.dir) == NULL) {
        fprintf(stderr, "clay-harness scenario: cannot create a scratch folder: %s\n", strerror(errno));
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if ((ctx.http = cw_http_new()) == NULL) {
        fprintf(stderr, "clay-harness scenario: cannot start the HTTP client\n");
        return 2;
    }

    size_t passed = 0, failed = 0;
    for (size_t i = 0; i != CW_ARRAY_SIZE(scenarios); ++i) {
        int wanted = names.num_names == 0;
        for (size_t k = 0; k != names.num_names; ++k) {
            wanted |= strcmp(names.names[k], scenarios[i].name) == 0;
        }
        if (!wanted) {
            continue;
        }
        ctx.why[0] = '\0';
        ctx.mock_url[0] = '\0';
        uint64_t t0 = cw_now_ms();
        int rc = scenarios[i].run(&ctx);
        stop_all(&ctx);
        double secs = (double)(cw_now_ms() - t0) / 1000;
        if (rc == 0) {
            ++passed;
            printf("ok %s (%.1f s)\n", scenarios[i].name, secs);
        } else {
            ++failed;
            printf("FAIL %s (%.1f s): %s\n", scenarios[i].name, secs, ctx.why[0] != '\0' ? ctx.why : "failed");
        }
        fflush(stdout);
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    cw_http_free(ctx.http);
    if (keep || failed != 0) {
        fprintf(stderr, "scenario logs and stores kept in %s\n", ctx.dir);
    } else {
        rm_tree(ctx.dir);
    }
    return failed == 0 ? 0 : 1;
}
