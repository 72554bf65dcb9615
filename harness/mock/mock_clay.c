/*
 * mock_clay.c: a mock of Clay's inbound webhook source,
 * POST /clay/webhook/<id> with a JSON body. Any id is a webhook (created on
 * first use). Checks, in this order:
 *
 *   404 {"error":"webhook not found"}   the webhook expired (--expire-after N accepted rows, or set at run time)
 *   401 {"error":"unauthorized"}        --clay-auth is set and x-clay-webhook-auth differs
 *   413 {"error":"payload too large"}   body over 100 KB (100,000 bytes)
 *   400 {"error":"invalid JSON"}        body is not JSON (or an empty array, or a batch larger than the burst)
 *   403 {"error":"webhook submission limit reached"}
 *                                       the rows would pass the per-webhook limit (--clay-limit, default 50000).
 *                                       Clay does not document its answer; 403 because retrying cannot help
 *                                       and the sender must move to a new webhook.
 *   429 {"error":"rate limit exceeded"} + Retry-After (whole seconds, >= 1): the workspace token bucket
 *                                       (--clay-rate rows/s, --clay-burst) has too few tokens
 *   200 {"status":"ok"}                 accepted; the rows are kept, while the table has room: every webhook
 *                                       feeds one table of --clay-table-rows rows (default 50000, Clay's cap on
 *                                       every plan); past it the answer is the same 200 but the row is dropped
 *                                       (counted in "dropped"), which is what Clay does, silently
 *   200 OK (text/plain)                 the same with --clay-text-ack: Clay does not document its success answer,
 *                                       so a sender must not need JSON there
 *
 * A JSON array is a batch: each element is one row, counting one token and one
 * submission each (Clay's "one row per object"). The token bucket is one per
 * workspace, i.e. shared by every webhook of the mock.
 *
 * Inspection: GET /_harness/clay lists webhooks and counters;
 * GET /_harness/clay/<id>/rows → {"webhook","count","requests","rows":[...]}
 * (summary=1 omits rows); POST /_harness/clay/<id> {"expired":bool,
 * "limit":N,"expire_after":N} changes one webhook; DELETE forgets it.
 */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cw/json.h"
#include "mock.h"

#define MAX_ID 128
#define MAX_WEBHOOKS 1024                     /* ids are looked up linearly */
#define MAX_STORED_BYTES (256u * 1024 * 1024) /* rows kept in memory; past it rows are counted, not kept */

enum { REJ_400, REJ_401, REJ_403, REJ_404, REJ_413, REJ_429, NUM_REJ };
static const char *const rej_names[NUM_REJ] = {"400", "401", "403", "404", "413", "429"};

typedef struct st_webhook_t {
    char *id;
    uint64_t accepted_rows;
    uint64_t accepted_requests;
    uint64_t limit;
    uint64_t expire_after; /* 0: never */
    int expired;
    uint64_t rejected[NUM_REJ];
    cw_buf_t rows; /* the kept rows as JSON values, comma-separated */
    uint64_t num_kept;
    uint64_t dropped_rows; /* accepted with 200 while the table was full, and not kept */
} webhook_t;

struct st_cw_mock_clay_t {
    webhook_t **webhooks;
    size_t num_webhooks;
    cw_mock_bucket_t bucket;
    uint64_t stored_bytes;
    uint64_t table_rows; /* rows the table holds, all webhooks together */
};

cw_mock_clay_t *cw_mock_clay_new(cw_mock_t *mock)
{
    cw_mock_clay_t *clay = cw_calloc(1, sizeof(*clay));
    cw_mock_bucket_init(&clay->bucket, mock->config.clay_rate, mock->config.clay_burst, cw_now_ms());
    return clay;
}

static void webhook_free(webhook_t *w)
{
    free(w->id);
    cw_buf_free(&w->rows);
    free(w);
}

void cw_mock_clay_free(cw_mock_clay_t *clay)
{
    if (clay == NULL) {
        return;
    }
    for (size_t i = 0; i != clay->num_webhooks; ++i) {
        webhook_free(clay->webhooks[i]);
    }
    free(clay->webhooks);
    free(clay);
}

void cw_mock_clay_reset(cw_mock_t *mock)
{
    cw_mock_clay_t *clay = mock->clay;
    for (size_t i = 0; i != clay->num_webhooks; ++i) {
        webhook_free(clay->webhooks[i]);
    }
    free(clay->webhooks);
    clay->webhooks = NULL;
    clay->num_webhooks = 0;
    clay->stored_bytes = 0;
    clay->table_rows = 0;
    cw_mock_bucket_init(&clay->bucket, mock->config.clay_rate, mock->config.clay_burst, cw_now_ms());
}

static size_t find_index(cw_mock_clay_t *clay, const char *id, size_t id_len)
{
    for (size_t i = 0; i != clay->num_webhooks; ++i) {
        if (h2o_memis(clay->webhooks[i]->id, strlen(clay->webhooks[i]->id), id, id_len)) {
            return i;
        }
    }
    return SIZE_MAX;
}

/* find_or_add returns webhook |id|, adding it if new, or NULL when MAX_WEBHOOKS exist. Under the lock. */
static webhook_t *find_or_add(cw_mock_t *mock, const char *id, size_t id_len)
{
    cw_mock_clay_t *clay = mock->clay;
    size_t i = find_index(clay, id, id_len);
    if (i != SIZE_MAX) {
        return clay->webhooks[i];
    }
    if (clay->num_webhooks == MAX_WEBHOOKS) {
        return NULL;
    }
    webhook_t *w = cw_calloc(1, sizeof(*w));
    w->id = cw_strndup(id, id_len);
    w->limit = mock->config.clay_limit;
    w->expire_after = mock->config.expire_after;
    clay->webhooks = cw_realloc(clay->webhooks, sizeof(*clay->webhooks) * (clay->num_webhooks + 1));
    clay->webhooks[clay->num_webhooks++] = w;
    return w;
}

/* keep_rows appends the rows of |json| to |w| (within the memory cap) while the table has room; the others are dropped
 * silently. Under the lock. */
static void keep_rows(cw_mock_t *mock, webhook_t *w, const cJSON *json)
{
    cw_mock_clay_t *clay = mock->clay;
    const cJSON *row = cJSON_IsArray(json) ? json->child : json;
    for (; row != NULL; row = cJSON_IsArray(json) ? row->next : NULL) {
        if (clay->table_rows >= mock->config.clay_table_rows) {
            ++w->dropped_rows;
            continue;
        }
        ++clay->table_rows;
        char *text = cJSON_PrintUnformatted(row);
        size_t len = strlen(text);
        if (clay->stored_bytes + len <= MAX_STORED_BYTES) {
            if (w->num_kept != 0) {
                cw_buf_append(&w->rows, ",", 1);
            }
            cw_buf_append(&w->rows, text, len);
            clay->stored_bytes += len;
            ++w->num_kept;
        }
        cJSON_free(text);
    }
}

static int token_ok(cw_mock_t *mock, h2o_req_t *req)
{
    if (mock->config.clay_auth == NULL) {
        return 1;
    }
    h2o_iovec_t v = cw_req_header(req, H2O_STRLIT("x-clay-webhook-auth"));
    return v.base != NULL && h2o_memis(v.base, v.len, mock->config.clay_auth, strlen(mock->config.clay_auth));
}

int cw_mock_clay_handle(cw_mock_req_t *mreq)
{
    static const char mount[] = "/webhook/";
    cw_mock_t *mock = mreq->mock;
    h2o_req_t *req = mreq->req;
    if (mreq->path_len <= sizeof(mount) - 1 || memcmp(mreq->path, mount, sizeof(mount) - 1) != 0) {
        return -1;
    }
    const char *id = mreq->path + sizeof(mount) - 1;
    size_t id_len = mreq->path_len - (sizeof(mount) - 1);
    if (!cw_mock_valid_name(id, id_len, MAX_ID)) {
        return -1;
    }
    if (!cw_mock_method_is(req, "POST")) {
        cw_mock_reply_json(req, 405, H2O_STRLIT("{\"error\":\"method not allowed\"}"));
        return 0;
    }

    cw_mock_reply_t reply;
    cw_mock_reply_init(&reply, 200, "application/json");
    size_t body_len = req->entity.base != NULL ? req->entity.len : 0;
    /* Parse outside the lock; only a body within the size cap. */
    cJSON *json = NULL;
    if (body_len != 0 && body_len <= CW_MOCK_CLAY_MAX_BODY) {
        json = cJSON_ParseWithLength(req->entity.base, body_len);
    }
    size_t num_rows = json == NULL ? 0 : cJSON_IsArray(json) ? (size_t)cJSON_GetArraySize(json) : 1;

    pthread_mutex_lock(&mock->lock);
    cw_mock_clay_t *clay = mock->clay;
    webhook_t *w = find_or_add(mock, id, id_len);
    uint64_t wait_ms = 0;
    if (w == NULL) {
        cw_mock_reply_error(&reply, 507, "too many webhooks (reset the mock)");
    } else if (w->expired) {
        ++w->rejected[REJ_404];
        cw_mock_reply_error(&reply, 404, "webhook not found");
    } else if (!token_ok(mock, req)) {
        ++w->rejected[REJ_401];
        cw_mock_reply_error(&reply, 401, "unauthorized");
    } else if (body_len > CW_MOCK_CLAY_MAX_BODY) {
        ++w->rejected[REJ_413];
        cw_mock_reply_error(&reply, 413, "payload too large");
    } else if (json == NULL || num_rows == 0) {
        ++w->rejected[REJ_400];
        cw_mock_reply_error(&reply, 400, json == NULL ? "invalid JSON" : "empty batch");
    } else if ((double)num_rows > clay->bucket.burst) {
        ++w->rejected[REJ_400];
        cw_mock_reply_error(&reply, 400, "batch larger than the rate limit's burst");
    } else if (w->accepted_rows + num_rows > w->limit) {
        ++w->rejected[REJ_403];
        cw_mock_reply_error(&reply, 403, "webhook submission limit reached");
    } else if (cw_mock_bucket_take(&clay->bucket, (double)num_rows, cw_now_ms(), &wait_ms) != 0) {
        ++w->rejected[REJ_429];
        cw_mock_reply_error(&reply, 429, "rate limit exceeded");
        char retry_after[24];
        snprintf(retry_after, sizeof(retry_after), "%llu", (unsigned long long)cw_mock_retry_after_s(wait_ms));
        cw_mock_reply_header(&reply, "retry-after", retry_after);
    } else {
        w->accepted_rows += num_rows;
        ++w->accepted_requests;
        keep_rows(mock, w, json);
        if (w->expire_after != 0 && w->accepted_rows >= w->expire_after) {
            w->expired = 1;
        }
        if (mock->config.clay_text_ack) {
            reply.content_type = "text/plain";
            cw_buf_appends(&reply.body, "OK");
        } else {
            cw_buf_appends(&reply.body, "{\"status\":\"ok\"}");
        }
    }
    pthread_mutex_unlock(&mock->lock);
    cJSON_Delete(json);
    cw_mock_reply_send(req, &reply, 0);
    return 0;
}

static void webhook_json(cw_buf_t *b, const webhook_t *w)
{
    cw_buf_appends(b, "{\"id\":");
    cw_json_quote(b, w->id, strlen(w->id));
    cw_buf_appendf(
        b, ",\"count\":%llu,\"dropped\":%llu,\"requests\":%llu,\"limit\":%llu,\"expire_after\":%llu,\"expired\":%s,\"rejected\":{",
        (unsigned long long)w->accepted_rows, (unsigned long long)w->dropped_rows, (unsigned long long)w->accepted_requests,
        (unsigned long long)w->limit, (unsigned long long)w->expire_after, w->expired ? "true" : "false");
    for (int i = 0; i != NUM_REJ; ++i) {
        cw_buf_appendf(b, "%s\"%s\":%llu", i == 0 ? "" : ",", rej_names[i], (unsigned long long)w->rejected[i]);
    }
    cw_buf_appends(b, "}");
}

/* apply_settings merges {"expired","limit","expire_after"} into |w|. Returns NULL or the bad field's name. */
static const char *apply_settings(const cJSON *json, webhook_t *w)
{
    const cJSON *item;
    if (!cJSON_IsObject(json)) {
        return "body";
    }
    webhook_t copy = *w;
    cJSON_ArrayForEach(item, json)
    {
        const char *k = item->string;
        if (strcmp(k, "expired") == 0 && cJSON_IsBool(item)) {
            copy.expired = cJSON_IsTrue(item);
        } else if ((strcmp(k, "limit") == 0 || strcmp(k, "expire_after") == 0) && cJSON_IsNumber(item) && item->valuedouble >= 0 &&
                   item->valuedouble <= 4294967295.0) {
            *(strcmp(k, "limit") == 0 ? &copy.limit : &copy.expire_after) = (uint64_t)item->valuedouble;
        } else {
            return k;
        }
    }
    w->expired = copy.expired;
    w->limit = copy.limit;
    w->expire_after = copy.expire_after;
    return NULL;
}

int cw_mock_clay_harness(cw_mock_req_t *mreq)
{
    cw_mock_t *mock = mreq->mock;
    h2o_req_t *req = mreq->req;
    cw_buf_t b = CW_BUF_INIT;
    int status = 200;
    int rc = 0;

    if (mreq->path_len == 0) {
        pthread_mutex_lock(&mock->lock);
        cw_mock_clay_t *clay = mock->clay;
        cw_mock_bucket_take(&clay->bucket, 0, cw_now_ms(), NULL); /* refill, to show the current level */
        cw_buf_appendf(&b, "{\"bucket_tokens\":%.3f,\"table_rows\":%llu,\"table_rows_limit\":%llu,\"webhooks\":[",
                       clay->bucket.tokens, (unsigned long long)clay->table_rows, (unsigned long long)mock->config.clay_table_rows);
        for (size_t i = 0; i != clay->num_webhooks; ++i) {
            if (i != 0) {
                cw_buf_appends(&b, ",");
            }
            webhook_json(&b, clay->webhooks[i]);
            cw_buf_appends(&b, "}");
        }
        cw_buf_appends(&b, "]}");
        pthread_mutex_unlock(&mock->lock);
        goto Respond;
    }
    /* "/<id>" or "/<id>/rows" */
    const char *id = mreq->path + 1;
    size_t id_len = mreq->path_len - 1;
    const char *slash = memchr(id, '/', id_len);
    int rows = 0;
    if (slash != NULL) {
        if (!h2o_memis(slash, id_len - (size_t)(slash - id), H2O_STRLIT("/rows"))) {
            rc = -1;
            goto Exit;
        }
        id_len = (size_t)(slash - id);
        rows = 1;
    }
    if (mreq->path[0] != '/' || !cw_mock_valid_name(id, id_len, MAX_ID)) {
        rc = -1;
        goto Exit;
    }
    pthread_mutex_lock(&mock->lock);
    size_t i = find_index(mock->clay, id, id_len);
    if (cw_mock_method_is(req, "DELETE") && !rows) {
        if (i != SIZE_MAX) {
            cw_mock_clay_t *clay = mock->clay;
            webhook_free(clay->webhooks[i]);
            memmove(&clay->webhooks[i], &clay->webhooks[i + 1], sizeof(*clay->webhooks) * (clay->num_webhooks - i - 1));
            --clay->num_webhooks;
        }
        cw_buf_appends(&b, "{\"status\":\"deleted\"}");
    } else if (cw_mock_method_is(req, "POST") && !rows) {
        cJSON *json = cJSON_ParseWithLength(req->entity.base != NULL ? req->entity.base : "", req->entity.len);
        webhook_t *w = find_or_add(mock, id, id_len);
        const char *bad = w == NULL ? "id (too many webhooks)" : json != NULL ? apply_settings(json, w) : "body";
        if (bad != NULL) {
            status = 400;
            cw_buf_appends(&b, "{\"error\":\"bad or unknown field\",\"field\":");
            cw_json_quote(&b, bad, strlen(bad));
            cw_buf_appends(&b, "}");
        } else {
            webhook_json(&b, w);
            cw_buf_appends(&b, "}");
        }
        cJSON_Delete(json);
    } else if (cw_mock_method_is(req, "GET")) {
        webhook_t empty = {.id = (char *)"", .limit = mock->config.clay_limit, .expire_after = mock->config.expire_after};
        const webhook_t *w = i != SIZE_MAX ? mock->clay->webhooks[i] : &empty;
        if (i == SIZE_MAX) {
            cw_buf_t idbuf = CW_BUF_INIT;
            cw_buf_append(&idbuf, id, id_len);
            empty.id = idbuf.base;
            webhook_json(&b, w);
            cw_buf_free(&idbuf);
        } else {
            webhook_json(&b, w);
        }
        if (rows) {
            cw_buf_appendf(&b, ",\"webhook\":");
            cw_json_quote(&b, id, id_len);
            cw_buf_appendf(&b, ",\"kept\":%llu", (unsigned long long)w->num_kept);
            if (!cw_mock_query_flag(mreq, "summary")) {
                cw_buf_appends(&b, ",\"rows\":[");
                cw_buf_append(&b, w->rows.base != NULL ? w->rows.base : "", w->rows.len);
                cw_buf_appends(&b, "]");
            }
        }
        cw_buf_appends(&b, "}");
    } else {
        status = 405;
        cw_buf_appends(&b, "{\"error\":\"method not allowed\"}");
    }
    pthread_mutex_unlock(&mock->lock);

Respond:
    cw_mock_reply_json(req, status, b.base, b.len);
Exit:
    cw_buf_free(&b);
    return rc;
}
