/*
 * relay.c: POST /api/clay/rows (docs/design.md §13): one row or an
 * array of rows forwarded into Clay with the same client, pacing and answer
 * handling as `clay-function send`, with a per-row result.
 *
 *   401  no RELAY_TOKEN configured (fail closed), or a wrong bearer token
 *   400 / 422 / 413  not JSON / not objects / more rows than the burst
 *   429 + Retry-After  the local budget (CLAY_RATE, CLAY_BURST) is spent, or
 *        Clay's 429 outlasted the request's deadline
 *   503 + Retry-After  Clay or the store unreachable (error "clay_unavailable")
 *   503  every webhook gone or at its limit (error "no_webhook")
 *   502  Clay refused CLAY_WEBHOOK_AUTH
 *   200  every row answered: "sent", or "rejected" by Clay (per-row detail)
 *
 * Quota: submissions per webhook are counted in the store with create-only
 * blocks quota/<url id>/<n> (clay_client.h), so instances sharing a store
 * share one count and together never pass CLAY_WEBHOOK_LIMIT. Each worker
 * thread claims its own blocks (a thread is just one more claimer), so the
 * quota state needs no lock; the token bucket and the webhooks' gone/exhausted
 * flags are process-wide behind one mutex. The bucket paces one instance: N
 * instances may together send N times CLAY_RATE, so divide Clay's workspace
 * rate among them (Clay's own 429s are waited out, within the deadline, anyway).
 *
 * Nothing here blocks the worker: Clay is reached with cw_http_submit on the
 * worker's loop, the store through its asynchronous API, waits are timers,
 * and the response is sent later through cw_async_t.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cw/json.h"
#include "cw/log.h"
#include "cw/metrics.h"
#include "cw/util.h"
#include "clay_client.h"
#include "relay.h"
#include "rows_input.h"

#define MAX_WORKERS 1024
#define MAX_ROWS_PER_REQUEST 100
#define MAX_ATTEMPTS 4
#define RETRY_BASE_MS 200
#define RETRY_MAX_MS 2000
#define RETRY_AFTER_DEFAULT_MS 1000
#define MAX_CLAIM_ROUNDS 64
#define UNAVAILABLE_RETRY_AFTER_S 5
#define LIST_MAX_NAMES 1000000

typedef enum en_row_result_t {
    ROW_PENDING,
    ROW_SENT,
    ROW_REJECTED,
    ROW_RATE_LIMITED,
    ROW_UNAVAILABLE,
    ROW_NO_WEBHOOK,
    ROW_UNAUTHORIZED,
    ROW_NUM_RESULTS
} row_result_t;

static const char *const result_names[ROW_NUM_RESULTS] = {"pending",     "sent",       "rejected",    "rate_limited",
                                                          "unavailable", "no_webhook", "unauthorized"};

typedef struct st_wstate_t wstate_t;

/* quota_t: one worker's claim on one webhook's quota; used on that worker's thread only. */
typedef struct st_quota_t {
    cw_relay_t *relay;
    wstate_t *ws;
    size_t url;
    uint64_t next_block; /* the next block number to try to create */
    uint64_t slots;      /* submissions left in the blocks this worker holds */
    int listed;          /* next_block is past every block in the store (as of the last list) */
    int claiming;        /* a list or create is in flight */
    unsigned rounds;     /* creates that found the block taken, in this claim */
    h2o_linklist_t waiters;
} quota_t;

struct st_wstate_t {
    cw_loop_t *loop;
    quota_t *quotas; /* one per URL */
};

struct st_cw_relay_t {
    const cw_config_t *cfg;
    cw_store_t *store;
    cw_clay_client_t *client;
    cw_clay_urls_t urls;
    uint64_t block_size;
    pthread_mutex_t lock; /* guards bucket, gone, refused, exhausted, warned */
    cw_bucket_t bucket;
    uint8_t *gone, *refused, *exhausted, *warned; /* per URL */
    wstate_t *workers[MAX_WORKERS];               /* slot i is touched only by worker i's thread */
    cw_counter_t *rows_counters[ROW_NUM_RESULTS];
    cw_counter_t *requests_denied;
};

typedef struct st_batch_t batch_t;

typedef struct st_job_t {
    batch_t *batch;
    size_t index;
    char *json;
    size_t json_len;
    size_t url; /* the webhook it goes to (moves forward on rotation) */
    unsigned attempts;
    row_result_t result;
    int http_status;
    char *detail; /* may be NULL */
    int64_t retry_after_ms;
    h2o_linklist_t link; /* in a quota's waiters */
    cw_timer_t timer;
} job_t;

struct st_batch_t {
    cw_async_t async;
    cw_relay_t *relay;
    wstate_t *ws;
    job_t *jobs;
    size_t num_jobs, num_open;
    uint64_t deadline_ms;
    uint64_t started_us;
};

static void job_acquire(job_t *job);

/* ---- webhooks ---- */

/* pick_url returns the first usable webhook at or after |from|, or SIZE_MAX.
 * A webhook whose quota has no block left is still usable by a worker that
 * holds slots of it (they were claimed; not using them would only waste them). */
static size_t pick_url(cw_relay_t *relay, const wstate_t *ws, size_t from)
{
    size_t found = SIZE_MAX;
    pthread_mutex_lock(&relay->lock);
    for (size_t u = from; u < relay->urls.num_urls; ++u) {
        if (!relay->gone[u] && !relay->refused[u] && (!relay->exhausted[u] || ws->quotas[u].slots != 0)) {
            found = u;
            break;
        }
    }
    pthread_mutex_unlock(&relay->lock);
    return found;
}

typedef enum en_url_mark_t { MARK_GONE, MARK_REFUSED, MARK_QUOTA } url_mark_t;

/* mark_url records that webhook |u| is gone (404/410), refused by Clay (403)
 * or out of quota blocks, logging the first time. */
static void mark_url(cw_relay_t *relay, size_t u, url_mark_t mark)
{
    static const char *const why[] = {"gone", "clay_limit", "quota"};
    pthread_mutex_lock(&relay->lock);
    uint8_t *flag = mark == MARK_GONE ? &relay->gone[u] : mark == MARK_REFUSED ? &relay->refused[u] : &relay->exhausted[u];
    int first = !*flag;
    *flag = 1;
    size_t next = SIZE_MAX;
    for (size_t v = u + 1; v < relay->urls.num_urls; ++v) {
        if (!relay->gone[v] && !relay->refused[v] && !relay->exhausted[v]) {
            next = v;
            break;
        }
    }
    pthread_mutex_unlock(&relay->lock);
    if (!first) {
        return;
    }
    if (next != SIZE_MAX) {
        cw_log(CW_LOG_WARNING, NULL, 0, "clay webhook rotated",
               (cw_log_field_t[]){CW_LF_INT("webhook", u + 1), CW_LF_STR("reason", why[mark]), CW_LF_INT("next_webhook", next + 1)},
               3);
    } else {
        cw_log(CW_LOG_ERROR, NULL, 0,
               "no clay webhook can take more rows: create a new webhook in Clay and add its URL to CLAY_WEBHOOK_URLS",
               (cw_log_field_t[]){CW_LF_INT("webhook", u + 1), CW_LF_STR("reason", why[mark])}, 2);
    }
}

/* note_claimed warns once per webhook when the claimed blocks pass 90% of the limit. */
static void note_claimed(cw_relay_t *relay, size_t u, uint64_t used)
{
    uint64_t limit = relay->cfg->clay_webhook_limit;
    if (used * 100 < limit * CW_CLAY_QUOTA_WARN_PERCENT) {
        return;
    }
    pthread_mutex_lock(&relay->lock);
    int first = !relay->warned[u];
    relay->warned[u] = 1;
    pthread_mutex_unlock(&relay->lock);
    if (first) {
        cw_log(CW_LOG_WARNING, NULL, 0, "clay webhook quota at 90%: create the next webhook in Clay soon",
               (cw_log_field_t[]){CW_LF_INT("webhook", u + 1), CW_LF_INT("used", used), CW_LF_INT("limit", limit)}, 3);
    }
}

/* ---- the response ---- */

static void batch_free(batch_t *b)
{
    for (size_t i = 0; i != b->num_jobs; ++i) {
        free(b->jobs[i].json);
        free(b->jobs[i].detail);
    }
    free(b->jobs);
    free(b);
}

typedef struct st_verdict_t {
    int status;
    const char *error, *detail; /* NULL when every row was answered */
    char retry_after[24];       /* "" when none */
} verdict_t;

/* judge decides the response's status from the rows' results, worst first. */
static verdict_t judge(const size_t *counts, int64_t retry_after_ms)
{
    verdict_t v = {.status = 200};
    if (counts[ROW_UNAVAILABLE] != 0) {
        v = (verdict_t){.status = 503,
                        .error = "clay_unavailable",
                        .detail =
                            "Clay (or the quota store) did not answer in time; rows marked unavailable were not acknowledged"};
        snprintf(v.retry_after, sizeof(v.retry_after), "%d", UNAVAILABLE_RETRY_AFTER_S);
    } else if (counts[ROW_RATE_LIMITED] != 0) {
        v = (verdict_t){.status = 429,
                        .error = "rate_limited",
                        .detail = "Clay's rate limit outlasted this request; retry the rows marked rate_limited after Retry-After"};
        snprintf(v.retry_after, sizeof(v.retry_after), "%lld", (long long)((retry_after_ms + 999) / 1000));
    } else if (counts[ROW_NO_WEBHOOK] != 0) {
        v = (verdict_t){.status = 503,
                        .error = "no_webhook",
                        .detail = "every webhook in CLAY_WEBHOOK_URLS is gone or at its limit (CLAY_WEBHOOK_LIMIT): create a new "
                                  "webhook in Clay and add its URL to CLAY_WEBHOOK_URLS"};
    } else if (counts[ROW_UNAUTHORIZED] != 0) {
        v = (verdict_t){.status = 502, .error = "clay_unauthorized", .detail = "Clay refused the token in CLAY_WEBHOOK_AUTH"};
    }
    return v;
}

static void batch_respond(batch_t *b)
{
    cw_relay_t *relay = b->relay;
    size_t counts[ROW_NUM_RESULTS] = {0};
    int64_t retry_after_ms = 0;
    for (size_t i = 0; i != b->num_jobs; ++i) {
        job_t *job = &b->jobs[i];
        ++counts[job->result];
        cw_counter_inc(relay->rows_counters[job->result]);
        if (job->result == ROW_RATE_LIMITED && job->retry_after_ms > retry_after_ms) {
            retry_after_ms = job->retry_after_ms;
        }
    }
    verdict_t v = judge(counts, retry_after_ms);
    int status = v.status;
    const char *error = v.error, *detail = v.detail;

    cw_buf_t out = CW_BUF_INIT;
    cw_buf_appends(&out, "{");
    if (error != NULL) {
        cw_buf_appendf(&out, "\"error\":\"%s\",\"detail\":", error);
        cw_json_quote(&out, detail, strlen(detail));
        cw_buf_appends(&out, ",");
    } else {
        cw_buf_appendf(&out, "\"status\":\"%s\",", counts[ROW_REJECTED] != 0 ? "partial" : "sent");
    }
    cw_buf_appendf(&out, "\"sent\":%zu,\"results\":[", counts[ROW_SENT]);
    for (size_t i = 0; i != b->num_jobs; ++i) {
        job_t *job = &b->jobs[i];
        cw_buf_appendf(&out, "%s{\"index\":%zu,\"status\":\"%s\"", i == 0 ? "" : ",", i, result_names[job->result]);
        if (job->result == ROW_SENT) {
            cw_buf_appendf(&out, ",\"webhook\":%zu", job->url + 1);
        }
        if (job->http_status != 0 && job->result != ROW_SENT) {
            cw_buf_appendf(&out, ",\"http_status\":%d", job->http_status);
        }
        if (job->result == ROW_RATE_LIMITED) {
            cw_buf_appendf(&out, ",\"retry_after_s\":%lld", (long long)((job->retry_after_ms + 999) / 1000));
        }
        if (job->detail != NULL && job->result != ROW_SENT) {
            cw_buf_appends(&out, ",\"detail\":");
            cw_json_quote(&out, job->detail, strlen(job->detail));
        }
        cw_buf_appends(&out, "}");
    }
    cw_buf_appends(&out, "]}");

    h2o_req_t *req = cw_async_take(&b->async);
    if (req != NULL) {
        if (v.retry_after[0] != '\0') {
            cw_add_header(req, "retry-after", v.retry_after);
        }
        cw_respond_json(req, status, out.base, out.len);
    }
    cw_log(status >= 500   ? CW_LOG_ERROR
           : status >= 400 ? CW_LOG_WARNING
                           : CW_LOG_INFO,
           NULL, 0, "relay",
           (cw_log_field_t[]){CW_LF_INT("status", status), CW_LF_INT("rows", b->num_jobs), CW_LF_INT("sent", counts[ROW_SENT]),
                              CW_LF_INT("rejected", counts[ROW_REJECTED]), CW_LF_STR("error", error),
                              CW_LF_DBL("latency_ms", (double)(cw_now_us() - b->started_us) / 1000),
                              CW_LF_BOOL("client_gone", req == NULL)},
           7);
    cw_buf_free(&out);
    cw_async_end(&b->async);
    batch_free(b);
}

static void job_finish(job_t *job, row_result_t result, int http_status, const char *detail)
{
    job->result = result;
    job->http_status = http_status;
    if (detail != NULL) {
        free(job->detail);
        job->detail = cw_strdup(detail);
    }
    if (--job->batch->num_open == 0) {
        batch_respond(job->batch);
    }
}

/* ---- quota blocks in the store ---- */

static void quota_claim(quota_t *q);

static void quota_fail_waiters(quota_t *q, const char *detail)
{
    while (!h2o_linklist_is_empty(&q->waiters)) {
        job_t *job = H2O_STRUCT_FROM_MEMBER(job_t, link, q->waiters.next);
        h2o_linklist_unlink(&job->link);
        job_finish(job, ROW_UNAVAILABLE, 0, detail);
    }
}

/* quota_serve hands slots to waiting rows; claims more while rows still wait. */
static void quota_serve(quota_t *q)
{
    while (q->slots != 0 && !h2o_linklist_is_empty(&q->waiters)) {
        job_t *job = H2O_STRUCT_FROM_MEMBER(job_t, link, q->waiters.next);
        h2o_linklist_unlink(&job->link);
        job_acquire(job); /* takes a slot and posts */
    }
    if (!h2o_linklist_is_empty(&q->waiters) && !q->claiming) {
        quota_claim(q);
    }
}

/* quota_exhausted moves every waiting row on to the next webhook. */
static void quota_exhausted(quota_t *q)
{
    h2o_linklist_t moving;
    h2o_linklist_init_anchor(&moving);
    mark_url(q->relay, q->url, MARK_QUOTA);
    while (!h2o_linklist_is_empty(&q->waiters)) {
        h2o_linklist_t *node = q->waiters.next;
        h2o_linklist_unlink(node);
        h2o_linklist_insert(&moving, node);
    }
    while (!h2o_linklist_is_empty(&moving)) {
        job_t *job = H2O_STRUCT_FROM_MEMBER(job_t, link, moving.next);
        h2o_linklist_unlink(&job->link);
        job_acquire(job);
    }
}

static void quota_name(const quota_t *q, char *out, size_t out_size, uint64_t block)
{
    snprintf(out, out_size, "%squota/%s/%llu", q->relay->cfg->store_prefix, q->relay->urls.ids[q->url], (unsigned long long)block);
}

static void on_block_created(const cw_store_result_t *res, void *data)
{
    quota_t *q = data;
    cw_relay_t *relay = q->relay;
    uint64_t limit = relay->cfg->clay_webhook_limit;
    q->claiming = 0;
    switch (res->status) {
    case CW_STORE_OK: {
        uint64_t block = q->next_block++;
        q->rounds = 0;
        q->slots += cw_clay_quota_block_slots(block, relay->block_size, limit);
        uint64_t used = block * relay->block_size + cw_clay_quota_block_slots(block, relay->block_size, limit);
        note_claimed(relay, q->url, used);
        quota_serve(q);
    } break;
    case CW_STORE_EXISTS:
        /* Another instance (or worker) took it: list again to jump past every taken block. */
        ++q->next_block;
        q->listed = 0;
        if (++q->rounds > MAX_CLAIM_ROUNDS) {
            q->rounds = 0;
            quota_fail_waiters(q, "could not claim a quota block: too much contention in the store");
        } else {
            quota_claim(q);
        }
        break;
    default:
        quota_fail_waiters(q, res->detail);
        break;
    }
}

static void quota_create(quota_t *q)
{
    cw_relay_t *relay = q->relay;
    if (cw_clay_quota_block_slots(q->next_block, relay->block_size, relay->cfg->clay_webhook_limit) == 0) {
        q->claiming = 0;
        quota_exhausted(q);
        return;
    }
    char name[512], body[160], at[40];
    quota_name(q, name, sizeof(name), q->next_block);
    cw_format_rfc3339(at, sizeof(at), cw_wall_ms());
    int n = snprintf(body, sizeof(body), "{\"claimed_at\":\"%s\",\"block_size\":%llu}", at, (unsigned long long)relay->block_size);
    cw_store_create(relay->store, q->ws->loop, name, body, (size_t)n, on_block_created, q);
}

static void on_blocks_listed(const cw_store_result_t *res, void *data)
{
    quota_t *q = data;
    if (res->status != CW_STORE_OK) {
        q->claiming = 0;
        quota_fail_waiters(q, res->detail);
        return;
    }
    char prefix[512];
    quota_name(q, prefix, sizeof(prefix), 0);
    size_t prefix_len = strlen(prefix) - 1; /* without the "0" */
    for (size_t i = 0; i != res->num_names; ++i) {
        const char *name = res->names[i];
        uint64_t n;
        if (strncmp(name, prefix, prefix_len) == 0 &&
            cw_parse_u64(name + prefix_len, strlen(name + prefix_len), 0, UINT32_MAX, &n) == 0 && n + 1 > q->next_block) {
            q->next_block = n + 1;
        }
    }
    q->listed = 1;
    quota_create(q);
}

/* quota_claim claims a new block for this worker: after a list (first time, or after
 * losing a race) to start past every block taken, then a create-only write. */
static void quota_claim(quota_t *q)
{
    q->claiming = 1;
    if (!q->listed) {
        char prefix[512];
        quota_name(q, prefix, sizeof(prefix), 0);
        prefix[strlen(prefix) - 1] = '\0';
        cw_store_list(q->relay->store, q->ws->loop, prefix, LIST_MAX_NAMES, on_blocks_listed, q);
    } else {
        quota_create(q);
    }
}

/* ---- one row ---- */

static void on_job_posted(const cw_clay_result_t *res, void *data);

static void on_job_timer(cw_timer_t *timer)
{
    job_acquire(timer->data);
}

/* job_wait runs job_acquire again after |ms| if that fits the request's
 * deadline (and the server is not stopping). Returns 0, or -1 when it does not. */
static int job_wait(job_t *job, uint64_t ms)
{
    if (cw_now_ms() + ms > job->batch->deadline_ms || job->batch->async.worker->stopping) {
        return -1;
    }
    job->timer.data = job;
    cw_timer_start(job->batch->ws->loop, &job->timer, ms, on_job_timer);
    return 0;
}

static void job_acquire(job_t *job)
{
    batch_t *b = job->batch;
    size_t u = pick_url(b->relay, b->ws, job->url);
    if (u == SIZE_MAX) {
        job_finish(job, ROW_NO_WEBHOOK, 0, "every webhook is gone or at its limit");
        return;
    }
    job->url = u;
    quota_t *q = &b->ws->quotas[u];
    if (q->slots == 0) {
        h2o_linklist_insert(&q->waiters, &job->link);
        if (!q->claiming) {
            quota_claim(q);
        }
        return;
    }
    --q->slots;
    cw_clay_post(b->relay->client, b->ws->loop, b->relay->urls.urls[u], job->json, job->json_len, on_job_posted, job);
}

static void on_job_posted(const cw_clay_result_t *res, void *data)
{
    job_t *job = data;
    batch_t *b = job->batch;
    cw_relay_t *relay = b->relay;
    quota_t *q = &b->ws->quotas[job->url];

    switch (res->outcome) {
    case CW_CLAY_ACCEPTED:
        job_finish(job, ROW_SENT, res->status, NULL);
        return;
    case CW_CLAY_RATE_LIMITED: {
        ++q->slots; /* refused before counting: the slot is still ours */
        int64_t wait = res->retry_after_ms >= 0 ? res->retry_after_ms : RETRY_AFTER_DEFAULT_MS;
        pthread_mutex_lock(&relay->lock);
        cw_bucket_pause(&relay->bucket, cw_now_us() + (uint64_t)wait * 1000);
        pthread_mutex_unlock(&relay->lock);
        if (job_wait(job, (uint64_t)wait) != 0) {
            job->retry_after_ms = wait;
            job_finish(job, ROW_RATE_LIMITED, res->status, res->detail);
        }
        return;
    }
    case CW_CLAY_RETRY:
        /* The attempt may have reached Clay: its slot stays spent. */
        if (++job->attempts >= MAX_ATTEMPTS || job_wait(job, cw_clay_backoff_ms(job->attempts, RETRY_BASE_MS, RETRY_MAX_MS)) != 0) {
            job_finish(job, ROW_UNAVAILABLE, res->status, res->detail);
        }
        return;
    case CW_CLAY_GONE:
    case CW_CLAY_LIMIT:
        ++q->slots;
        mark_url(relay, job->url, res->outcome == CW_CLAY_GONE ? MARK_GONE : MARK_REFUSED);
        job_acquire(job); /* on to the next webhook */
        return;
    case CW_CLAY_UNAUTHORIZED:
        ++q->slots;
        job_finish(job, ROW_UNAUTHORIZED, res->status, res->detail);
        return;
    case CW_CLAY_REJECTED:
        job_finish(job, ROW_REJECTED, res->status, res->detail);
        return;
    }
}

/* ---- the handler ---- */

static wstate_t *worker_state(cw_relay_t *relay, cw_worker_t *worker)
{
    if (worker->index >= MAX_WORKERS) {
        return NULL;
    }
    wstate_t *ws = relay->workers[worker->index];
    if (ws == NULL) {
        ws = cw_calloc(1, sizeof(*ws));
        ws->loop = &worker->loop;
        ws->quotas = cw_calloc(relay->urls.num_urls, sizeof(*ws->quotas));
        for (size_t u = 0; u != relay->urls.num_urls; ++u) {
            quota_t *q = &ws->quotas[u];
            q->relay = relay;
            q->ws = ws;
            q->url = u;
            h2o_linklist_init_anchor(&q->waiters);
        }
        relay->workers[worker->index] = ws;
    }
    return ws;
}

static void add_row(batch_t *b, size_t *cap, const char *json, size_t json_len)
{
    if (b->num_jobs == *cap) {
        *cap = *cap == 0 ? 4 : *cap * 2;
        b->jobs = cw_realloc(b->jobs, *cap * sizeof(*b->jobs));
    }
    job_t *job = &b->jobs[b->num_jobs];
    memset(job, 0, sizeof(*job));
    job->batch = b;
    job->index = b->num_jobs++;
    cw_buf_t min = CW_BUF_INIT;
    cw_clay_json_minify(&min, json, json_len);
    job->json = cw_buf_release(&min, &job->json_len);
}

/* parse_rows fills |b| with the body's rows. Returns 0, or an HTTP status with |code| and |detail| set. */
static int parse_rows(batch_t *b, const char *body, size_t len, size_t max_rows, const char **code, char *detail,
                      size_t detail_size)
{
    size_t cap = 0;
    /* Exactly one JSON value, strictly: text after it ("{...} junk") or a missing ',' between rows would
     * otherwise travel to Clay. The rows reader below is lenient (it serves files), so check here first. */
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    int parsed = json != NULL, top = cJSON_IsObject(json) ? '{' : cJSON_IsArray(json) ? '[' : 0;
    cJSON_Delete(json);
    if (parsed) {
        while (end < body + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) {
            ++end;
        }
    }
    if (!parsed || end != body + len) {
        *code = "bad_json";
        snprintf(detail, detail_size, !parsed ? "the body is not valid JSON" : "the body must be exactly one JSON value");
        return 400;
    }
    if (top == '{') {
        add_row(b, &cap, body, len);
        return 0;
    }
    if (top != '[') {
        *code = "bad_json";
        snprintf(detail, detail_size, "send one row as a JSON object or several as a JSON array of objects");
        return 400;
    }
    char err[256];
    cw_rows_t *rows = cw_rows_new(body, len, CW_ROWS_JSON, err, sizeof(err));
    cw_row_t row;
    cw_rows_kind_t kind;
    int status = 0;
    while (rows != NULL && (kind = cw_rows_next(rows, &row)) != CW_ROWS_END) {
        if (kind == CW_ROWS_BAD) {
            *code = "invalid_row";
            snprintf(detail, detail_size, "row %zu: %s", row.index, row.reason);
            status = 422;
            break;
        }
        if (b->num_jobs == max_rows) {
            /* Never drop the rest silently: the whole request is refused, nothing sent. */
            *code = "too_many_rows";
            snprintf(detail, detail_size, "at most %zu rows per request (CLAY_BURST, at most %d)", max_rows, MAX_ROWS_PER_REQUEST);
            status = 413;
            break;
        }
        add_row(b, &cap, row.json, row.json_len);
    }
    cw_rows_free(rows);
    if (status == 0 && b->num_jobs == 0) {
        *code = "no_rows";
        snprintf(detail, detail_size, "the array has no rows");
        status = 400;
    }
    return status;
}

/* take_budget takes |n| tokens from the process's bucket. Returns 0, or 429
 * with Retry-After set on |req| when they are not there yet (nothing taken). */
static int take_budget(cw_relay_t *relay, h2o_req_t *req, size_t n, const char **code, char *detail, size_t detail_size)
{
    pthread_mutex_lock(&relay->lock);
    uint64_t wait_us;
    int taken = cw_bucket_take(&relay->bucket, (double)n, cw_now_us(), &wait_us) == 0;
    pthread_mutex_unlock(&relay->lock);
    if (taken) {
        return 0;
    }
    char ra[24];
    snprintf(ra, sizeof(ra), "%llu", (unsigned long long)((wait_us + 999999) / 1000000));
    cw_add_header(req, "retry-after", ra);
    *code = "rate_limited";
    snprintf(detail, detail_size, "the relay's budget (CLAY_RATE %llu rows/s, CLAY_BURST %llu) is spent; retry after %s s",
             (unsigned long long)relay->cfg->clay_rate, (unsigned long long)relay->cfg->clay_burst, ra);
    return 429;
}

/* refuses tells whether the relay refuses |req| from its headers alone, and how (one place for the handler and
 * the header check). Fail closed: without a configured token nothing passes, whatever the request. */
static int refuses(cw_relay_t *relay, h2o_req_t *req, int *status, const char **code, const char **detail)
{
    if (relay->cfg->relay_token == NULL) {
        cw_counter_inc(relay->requests_denied);
        *status = 401, *code = "unauthorized", *detail = "RELAY_TOKEN is not set: the relay refuses every request";
    } else if (!cw_bearer_matches(cw_req_header(req, H2O_STRLIT("authorization")), relay->cfg->relay_token)) {
        cw_counter_inc(relay->requests_denied);
        *status = 401, *code = "unauthorized", *detail = "Authorization: Bearer <RELAY_TOKEN> required";
    } else if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        *status = 405, *code = "method_not_allowed", *detail = "use POST";
    } else {
        return 0;
    }
    return 1;
}

int cw_relay_check_headers(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    int status;
    const char *code, *why;
    if (!refuses(data, req, &status, &code, &why)) {
        return 0;
    }
    cw_req_refuse(req, status, code, why, status == 405 ? "allow" : NULL, status == 405 ? "POST" : NULL);
    return -1;
}

int cw_relay_handle(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    cw_relay_t *relay = data;
    char detail[320];
    const char *code = NULL;

    int refused_status;
    const char *refused_detail;
    if (refuses(relay, req, &refused_status, &code, &refused_detail)) {
        if (refused_status == 405) {
            cw_add_header(req, "allow", "POST");
        }
        cw_respond_error(req, refused_status, code, refused_detail);
        return 0;
    }
    wstate_t *ws = worker_state(relay, worker);
    if (ws == NULL) {
        cw_respond_error(req, 500, "internal", "too many worker threads for the relay");
        return 0;
    }

    batch_t *b = cw_calloc(1, sizeof(*b));
    b->relay = relay;
    b->ws = ws;
    b->started_us = cw_now_us();
    size_t max_rows = relay->cfg->clay_burst < MAX_ROWS_PER_REQUEST ? (size_t)relay->cfg->clay_burst : MAX_ROWS_PER_REQUEST;
    int status =
        parse_rows(b, req->entity.base != NULL ? req->entity.base : "", req->entity.len, max_rows, &code, detail, sizeof(detail));
    /* Rows Clay would refuse for their size are answered here and cost nothing. */
    size_t sendable = 0;
    for (size_t i = 0; status == 0 && i != b->num_jobs; ++i) {
        if (b->jobs[i].json_len > CW_CLAY_MAX_ROW_BYTES) {
            b->jobs[i].result = ROW_REJECTED;
            b->jobs[i].http_status = 413;
            b->jobs[i].detail = cw_strdup("the row is over 100 KB: Clay refuses it");
        } else {
            ++sendable;
        }
    }
    if (status == 0 && sendable != 0) {
        status = take_budget(relay, req, sendable, &code, detail, sizeof(detail));
    }
    if (status != 0) {
        cw_respond_error(req, status, code, detail);
        cw_log(CW_LOG_WARNING, NULL, 0, "relay",
               (cw_log_field_t[]){CW_LF_INT("status", status), CW_LF_STR("error", code), CW_LF_INT("rows", b->num_jobs)}, 3);
        batch_free(b);
        return 0;
    }

    b->deadline_ms = cw_now_ms() + relay->cfg->delivery_deadline_ms;
    b->num_open = sendable + 1; /* +1 until every row is started, so an early finish cannot respond */
    cw_async_begin(&b->async, req);
    for (size_t i = 0; i != b->num_jobs; ++i) {
        if (b->jobs[i].result == ROW_PENDING) {
            job_acquire(&b->jobs[i]);
        }
    }
    if (--b->num_open == 0) {
        batch_respond(b);
    }
    return 0;
}

cw_relay_t *cw_relay_new(const cw_config_t *cfg, cw_store_t *store, cw_http_t *http, char *err, size_t err_size)
{
    cw_relay_t *relay = cw_calloc(1, sizeof(*relay));
    relay->cfg = cfg;
    relay->store = store;
    pthread_mutex_init(&relay->lock, NULL);
    if (cfg->clay_webhook_urls == NULL || cw_clay_urls_parse(&relay->urls, cfg->clay_webhook_urls) != 0 ||
        relay->urls.num_urls == 0) {
        snprintf(err, err_size, "CLAY_WEBHOOK_URLS: must be one or more distinct http:// or https:// URLs, comma-separated");
        cw_relay_free(relay);
        return NULL;
    }
    relay->client = cw_clay_client_new(http, cfg->clay_webhook_auth, cfg->sink_timeout_ms);
    relay->block_size = cw_clay_quota_block_size(cfg->clay_webhook_limit);
    cw_bucket_init(&relay->bucket, (double)cfg->clay_rate, (double)cfg->clay_burst, cw_now_us());
    relay->gone = cw_calloc(relay->urls.num_urls, 1);
    relay->refused = cw_calloc(relay->urls.num_urls, 1);
    relay->exhausted = cw_calloc(relay->urls.num_urls, 1);
    relay->warned = cw_calloc(relay->urls.num_urls, 1);
    for (size_t r = 0; r != ROW_NUM_RESULTS; ++r) {
        char labels[48];
        snprintf(labels, sizeof(labels), "result=\"%s\"", result_names[r]);
        relay->rows_counters[r] = cw_metrics_counter("clay_relay_rows_total", "Rows through POST /api/clay/rows by result", labels);
    }
    relay->requests_denied =
        cw_metrics_counter("clay_relay_denied_total", "Relay requests refused (no RELAY_TOKEN, or a wrong bearer token)", NULL);
    if (cfg->relay_token == NULL) {
        cw_log(CW_LOG_WARNING, NULL, 0, "RELAY_TOKEN is not set: POST /api/clay/rows refuses every request (401)", NULL, 0);
    }
    cw_log(CW_LOG_INFO, NULL, 0, "relay on",
           (cw_log_field_t[]){CW_LF_INT("webhooks", relay->urls.num_urls), CW_LF_INT("limit", cfg->clay_webhook_limit),
                              CW_LF_INT("quota_block", relay->block_size), CW_LF_INT("rate", cfg->clay_rate),
                              CW_LF_INT("burst", cfg->clay_burst)},
           5);
    return relay;
}

void cw_relay_free(cw_relay_t *relay)
{
    if (relay == NULL) {
        return;
    }
    for (size_t i = 0; i != MAX_WORKERS; ++i) {
        if (relay->workers[i] != NULL) {
            free(relay->workers[i]->quotas);
            free(relay->workers[i]);
        }
    }
    cw_clay_client_free(relay->client);
    cw_clay_urls_free(&relay->urls);
    free(relay->gone);
    free(relay->refused);
    free(relay->exhausted);
    free(relay->warned);
    pthread_mutex_destroy(&relay->lock);
    free(relay);
}
