/*
 * mock_sinks.c: mock delivery targets, POST (or PUT) /sinks/<name>, and the
 * ledger of what they received.
 *
 * Every request counts as an attempt of its sink. Then, by the sink's
 * programmed behaviour: hang → never answered (until the client gives up, or
 * 503 when the mock stops); fail_always, or fail_next > 0 (decremented) → the
 * programmed status (default 503) with Retry-After when retry_after is set;
 * otherwise 200 {"ok":true} and the delivery goes to the ledger: sink, the
 * Idempotency-Key header, the body's "event_id", the body (JSON as is, other
 * bodies as a string) and the time. Only 2xx answers are deliveries; the
 * ledger records them when they are decided, so latency_ms (added to every
 * answer) may let a client give up on a delivery the sink did record, as a
 * real sink would. A delivery is a duplicate when its sink already recorded
 * its Idempotency-Key; deliveries without the header are never duplicates.
 *
 * Control: POST /_harness/sinks/<name> {"fail_next":N,"fail_always":bool,
 * "status":S,"latency_ms":MS,"hang":bool,"retry_after":S} replaces the
 * behaviour (missing fields take their defaults); DELETE resets it; GET shows
 * it; GET /_harness/sinks shows every sink.
 * GET /_harness/deliveries[?sink=&event_id=&key=&summary=1]: the ledger.
 */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cw/json.h"
#include "mock.h"

#define MAX_SINK_NAME 64
#define MAX_KEY_LEN 1024
#define MAX_SINKS 256                         /* names are looked up linearly */
#define MAX_STORED_BYTES (256u * 1024 * 1024) /* bodies kept; past it deliveries are kept without their body */

typedef struct st_behaviour_t {
    uint64_t fail_next;
    int fail_always;
    int status; /* of failures */
    uint64_t latency_ms;
    int hang;
    uint64_t retry_after; /* 0: no Retry-After */
} behaviour_t;

static const behaviour_t default_behaviour = {.status = 503};

typedef struct st_sink_t {
    char name[MAX_SINK_NAME + 1];
    behaviour_t behaviour;
    uint64_t attempts, failures, hung, deliveries, duplicates;
} sink_t;

typedef struct st_delivery_t {
    size_t sink;
    char *key;      /* NULL: no Idempotency-Key */
    char *event_id; /* NULL: the body had no string "event_id" */
    char *body;     /* JSON text (NULL when not kept) */
    int64_t wall_ms;
    int duplicate;
} delivery_t;

struct st_cw_mock_sinks_t {
    sink_t *sinks;
    size_t num_sinks;
    delivery_t *deliveries;
    size_t num_deliveries, cap_deliveries;
    cw_mock_strset_t keys; /* "<sink index>\n<key>" */
    uint64_t stored_bytes;
};

cw_mock_sinks_t *cw_mock_sinks_new(cw_mock_t *mock)
{
    return cw_calloc(1, sizeof(cw_mock_sinks_t));
}

static void clear(cw_mock_sinks_t *sinks)
{
    for (size_t i = 0; i != sinks->num_deliveries; ++i) {
        free(sinks->deliveries[i].key);
        free(sinks->deliveries[i].event_id);
        free(sinks->deliveries[i].body);
    }
    free(sinks->deliveries);
    free(sinks->sinks);
    cw_mock_strset_clear(&sinks->keys);
    *sinks = (cw_mock_sinks_t){.keys = CW_MOCK_STRSET_INIT};
}

void cw_mock_sinks_free(cw_mock_sinks_t *sinks)
{
    if (sinks == NULL) {
        return;
    }
    clear(sinks);
    free(sinks);
}

void cw_mock_sinks_reset(cw_mock_t *mock)
{
    clear(mock->sinks);
}

static size_t find_sink(cw_mock_sinks_t *sinks, const char *name, size_t name_len)
{
    for (size_t i = 0; i != sinks->num_sinks; ++i) {
        if (h2o_memis(sinks->sinks[i].name, strlen(sinks->sinks[i].name), name, name_len)) {
            return i;
        }
    }
    return SIZE_MAX;
}

/* add_sink returns the index of |name| (valid, at most MAX_SINK_NAME bytes), adding it if new, or
 * SIZE_MAX when MAX_SINKS are known already. */
static size_t add_sink(cw_mock_sinks_t *sinks, const char *name, size_t name_len)
{
    size_t i = find_sink(sinks, name, name_len);
    if (i != SIZE_MAX || sinks->num_sinks == MAX_SINKS) {
        return i;
    }
    sinks->sinks = cw_realloc(sinks->sinks, sizeof(*sinks->sinks) * (sinks->num_sinks + 1));
    sink_t *sink = &sinks->sinks[sinks->num_sinks];
    *sink = (sink_t){.behaviour = default_behaviour};
    memcpy(sink->name, name, name_len);
    sink->name[name_len] = '\0';
    return sinks->num_sinks++;
}

/* record adds a delivery to the ledger; |json| is the parsed body or NULL. Under the lock. */
static void record(cw_mock_sinks_t *sinks, size_t sink_index, h2o_iovec_t key, const cJSON *json, const char *raw, size_t raw_len)
{
    if (sinks->num_deliveries == sinks->cap_deliveries) {
        sinks->cap_deliveries = sinks->cap_deliveries == 0 ? 256 : sinks->cap_deliveries * 2;
        sinks->deliveries = cw_realloc(sinks->deliveries, sizeof(*sinks->deliveries) * sinks->cap_deliveries);
    }
    delivery_t *d = &sinks->deliveries[sinks->num_deliveries++];
    *d = (delivery_t){.sink = sink_index, .wall_ms = cw_wall_ms()};
    sink_t *sink = &sinks->sinks[sink_index];
    ++sink->deliveries;
    if (key.base != NULL) {
        d->key = cw_strndup(key.base, key.len);
        cw_buf_t k = CW_BUF_INIT;
        cw_buf_appendf(&k, "%zu\n", sink_index);
        cw_buf_append(&k, key.base, key.len);
        if (!cw_mock_strset_add(&sinks->keys, k.base, k.len)) {
            d->duplicate = 1;
            ++sink->duplicates;
        }
        cw_buf_free(&k);
    }
    const cJSON *event_id = cJSON_GetObjectItemCaseSensitive(json, "event_id");
    if (cJSON_IsString(event_id)) {
        d->event_id = cw_strdup(event_id->valuestring);
    }
    char *text;
    if (json != NULL) {
        text = cJSON_PrintUnformatted(json);
    } else {
        cw_buf_t s = CW_BUF_INIT;
        cw_json_quote(&s, raw, raw_len);
        text = cw_buf_release(&s, NULL);
    }
    size_t len = strlen(text);
    if (sinks->stored_bytes + len <= MAX_STORED_BYTES) {
        d->body = cw_strndup(text, len);
        sinks->stored_bytes += len;
    }
    if (json != NULL) {
        cJSON_free(text);
    } else {
        free(text);
    }
}

int cw_mock_sinks_handle(cw_mock_req_t *mreq)
{
    cw_mock_t *mock = mreq->mock;
    h2o_req_t *req = mreq->req;
    if (mreq->path_len < 2 || mreq->path[0] != '/' || !cw_mock_valid_name(mreq->path + 1, mreq->path_len - 1, MAX_SINK_NAME)) {
        return -1;
    }
    const char *name = mreq->path + 1;
    size_t name_len = mreq->path_len - 1;
    if (!cw_mock_method_is(req, "POST") && !cw_mock_method_is(req, "PUT")) {
        cw_mock_reply_json(req, 405, H2O_STRLIT("{\"error\":\"method not allowed\"}"));
        return 0;
    }
    h2o_iovec_t key = cw_req_header(req, H2O_STRLIT("idempotency-key"));
    if (key.base != NULL && key.len > MAX_KEY_LEN) {
        cw_mock_reply_json(req, 400, H2O_STRLIT("{\"error\":\"Idempotency-Key too long\"}"));
        return 0;
    }
    const char *raw = req->entity.base != NULL ? req->entity.base : "";
    size_t raw_len = req->entity.base != NULL ? req->entity.len : 0;

    cw_mock_reply_t reply;
    cw_mock_reply_init(&reply, 200, "application/json");
    pthread_mutex_lock(&mock->lock);
    cw_mock_sinks_t *sinks = mock->sinks;
    size_t index = add_sink(sinks, name, name_len);
    if (index == SIZE_MAX) {
        pthread_mutex_unlock(&mock->lock);
        cw_buf_free(&reply.body);
        cw_mock_reply_json(req, 507, H2O_STRLIT("{\"error\":\"too many sinks (reset the mock)\"}"));
        return 0;
    }
    sink_t *sink = &sinks->sinks[index];
    behaviour_t *bh = &sink->behaviour;
    uint64_t delay_ms = bh->latency_ms;
    int hang = 0;
    ++sink->attempts;
    if (bh->hang) {
        ++sink->hung;
        hang = 1;
    } else if (bh->fail_always || bh->fail_next > 0) {
        if (!bh->fail_always) {
            --bh->fail_next;
        }
        ++sink->failures;
        cw_mock_reply_error(&reply, bh->status, "injected failure");
        if (bh->retry_after != 0) {
            char v[24];
            snprintf(v, sizeof(v), "%llu", (unsigned long long)bh->retry_after);
            cw_mock_reply_header(&reply, "retry-after", v);
        }
    } else {
        cJSON *json = cJSON_ParseWithLength(raw, raw_len);
        record(sinks, index, key, json, raw, raw_len);
        cJSON_Delete(json);
        cw_buf_appends(&reply.body, "{\"ok\":true}");
    }
    pthread_mutex_unlock(&mock->lock);
    if (hang) {
        cw_mock_reply_hang(req);
        cw_buf_free(&reply.headers);
        cw_buf_free(&reply.body);
        return 0;
    }
    cw_mock_reply_send(req, &reply, delay_ms);
    return 0;
}

typedef struct st_filter_t {
    cw_buf_t sink, event_id, key;
    int has_sink, has_event_id, has_key;
} filter_t;

static int matches(const cw_mock_sinks_t *sinks, const filter_t *f, const delivery_t *d)
{
    if (f->has_sink && strcmp(sinks->sinks[d->sink].name, f->sink.base) != 0) {
        return 0;
    }
    if (f->has_event_id && (d->event_id == NULL || strcmp(d->event_id, f->event_id.base) != 0)) {
        return 0;
    }
    if (f->has_key && (d->key == NULL || strcmp(d->key, f->key.base) != 0)) {
        return 0;
    }
    return 1;
}

static void quote_or_null(cw_buf_t *b, const char *s)
{
    if (s == NULL) {
        cw_buf_appends(b, "null");
    } else {
        cw_json_quote(b, s, strlen(s));
    }
}

void cw_mock_sinks_deliveries(cw_mock_req_t *mreq)
{
    cw_mock_t *mock = mreq->mock;
    filter_t f = {.sink = CW_BUF_INIT, .event_id = CW_BUF_INIT, .key = CW_BUF_INIT};
    cw_buf_t b = CW_BUF_INIT, list = CW_BUF_INIT;
    int summary = cw_mock_query_flag(mreq, "summary");
    f.has_sink = cw_mock_query_get(mreq->query, mreq->query_len, "sink", &f.sink) == 1;
    f.has_event_id = cw_mock_query_get(mreq->query, mreq->query_len, "event_id", &f.event_id) == 1;
    f.has_key = cw_mock_query_get(mreq->query, mreq->query_len, "key", &f.key) == 1;
    cw_buf_reserve(&f.sink, 0);
    cw_buf_reserve(&f.event_id, 0);
    cw_buf_reserve(&f.key, 0);

    pthread_mutex_lock(&mock->lock);
    cw_mock_sinks_t *sinks = mock->sinks;
    size_t n = sinks->num_sinks;
    uint64_t *by_sink = cw_calloc(n + 1, sizeof(uint64_t)), *unique = cw_calloc(n + 1, sizeof(uint64_t));
    uint64_t total = 0, duplicates = 0;
    for (size_t i = 0; i != sinks->num_deliveries; ++i) {
        const delivery_t *d = &sinks->deliveries[i];
        if (!matches(sinks, &f, d)) {
            continue;
        }
        ++total;
        ++by_sink[d->sink];
        if (d->duplicate) {
            ++duplicates;
        } else {
            ++unique[d->sink];
        }
        if (!summary) {
            char when[40];
            cw_format_rfc3339(when, sizeof(when), d->wall_ms);
            cw_buf_appends(&list, total == 1 ? "{\"sink\":" : ",{\"sink\":");
            quote_or_null(&list, sinks->sinks[d->sink].name);
            cw_buf_appends(&list, ",\"idempotency_key\":");
            quote_or_null(&list, d->key);
            cw_buf_appends(&list, ",\"event_id\":");
            quote_or_null(&list, d->event_id);
            cw_buf_appendf(&list, ",\"time\":\"%s\",\"duplicate\":%s,\"body\":%s}", when, d->duplicate ? "true" : "false",
                           d->body != NULL ? d->body : "null");
        }
    }
    static const char *const sections[] = {"by_sink", "unique_by_sink", "attempts_by_sink", "failures_by_sink", "hung_by_sink"};
    cw_buf_appendf(&b, "{\"total\":%llu,\"duplicates\":%llu", (unsigned long long)total, (unsigned long long)duplicates);
    for (size_t s = 0; s != CW_ARRAY_SIZE(sections); ++s) {
        cw_buf_appendf(&b, ",\"%s\":{", sections[s]);
        int first = 1;
        for (size_t i = 0; i != n; ++i) {
            const sink_t *sink = &sinks->sinks[i];
            if (f.has_sink && strcmp(sink->name, f.sink.base) != 0) {
                continue;
            }
            uint64_t v = s == 0 ? by_sink[i] : s == 1 ? unique[i] : s == 2 ? sink->attempts : s == 3 ? sink->failures : sink->hung;
            cw_buf_appends(&b, first ? "" : ",");
            cw_json_quote(&b, sink->name, strlen(sink->name));
            cw_buf_appendf(&b, ":%llu", (unsigned long long)v);
            first = 0;
        }
        cw_buf_appends(&b, "}");
    }
    pthread_mutex_unlock(&mock->lock);
    if (!summary) {
        cw_buf_appends(&b, ",\"deliveries\":[");
        cw_buf_append(&b, list.base != NULL ? list.base : "", list.len);
        cw_buf_appends(&b, "]");
    }
    cw_buf_appends(&b, "}");
    cw_mock_reply_json(mreq->req, 200, b.base, b.len);
    free(by_sink);
    free(unique);
    cw_buf_free(&b);
    cw_buf_free(&list);
    cw_buf_free(&f.sink);
    cw_buf_free(&f.event_id);
    cw_buf_free(&f.key);
}

/* parse_behaviour reads a behaviour from |json| over the defaults. Returns NULL or the bad field's name. */
static const char *parse_behaviour(const cJSON *json, behaviour_t *out)
{
    const cJSON *item;
    if (!cJSON_IsObject(json)) {
        return "body";
    }
    behaviour_t bh = default_behaviour;
    cJSON_ArrayForEach(item, json)
    {
        const char *k = item->string;
        if (strcmp(k, "hang") == 0 || strcmp(k, "fail_always") == 0) {
            if (!cJSON_IsBool(item)) {
                return k;
            }
            *(k[0] == 'h' ? &bh.hang : &bh.fail_always) = cJSON_IsTrue(item);
        } else if (strcmp(k, "status") == 0) {
            if (!cJSON_IsNumber(item) || item->valuedouble < 200 || item->valuedouble > 599) {
                return k;
            }
            bh.status = (int)item->valuedouble;
        } else if (strcmp(k, "fail_next") == 0 || strcmp(k, "latency_ms") == 0 || strcmp(k, "retry_after") == 0) {
            if (!cJSON_IsNumber(item) || item->valuedouble < 0 || item->valuedouble > 1e9) {
                return k;
            }
            uint64_t v = (uint64_t)item->valuedouble;
            if (k[0] == 'f') {
                bh.fail_next = v;
            } else if (k[0] == 'l') {
                if (v > 600000) {
                    return k;
                }
                bh.latency_ms = v;
            } else {
                bh.retry_after = v;
            }
        } else {
            return k;
        }
    }
    *out = bh;
    return NULL;
}

static void sink_json(cw_buf_t *b, const sink_t *sink)
{
    const behaviour_t *bh = &sink->behaviour;
    cw_buf_appends(b, "{\"name\":");
    cw_json_quote(b, sink->name, strlen(sink->name));
    cw_buf_appendf(b,
                   ",\"behaviour\":{\"fail_next\":%llu,\"fail_always\":%s,\"status\":%d,\"latency_ms\":%llu,\"hang\":%s,"
                   "\"retry_after\":%llu},\"attempts\":%llu,\"failures\":%llu,\"hung\":%llu,\"deliveries\":%llu,"
                   "\"duplicates\":%llu}",
                   (unsigned long long)bh->fail_next, bh->fail_always ? "true" : "false", bh->status,
                   (unsigned long long)bh->latency_ms, bh->hang ? "true" : "false", (unsigned long long)bh->retry_after,
                   (unsigned long long)sink->attempts, (unsigned long long)sink->failures, (unsigned long long)sink->hung,
                   (unsigned long long)sink->deliveries, (unsigned long long)sink->duplicates);
}

int cw_mock_sinks_harness(cw_mock_req_t *mreq)
{
    cw_mock_t *mock = mreq->mock;
    h2o_req_t *req = mreq->req;
    cw_buf_t b = CW_BUF_INIT;
    int status = 200;

    pthread_mutex_lock(&mock->lock);
    cw_mock_sinks_t *sinks = mock->sinks;
    if (mreq->path_len == 0) {
        cw_buf_appends(&b, "{\"sinks\":[");
        for (size_t i = 0; i != sinks->num_sinks; ++i) {
            cw_buf_appends(&b, i == 0 ? "" : ",");
            sink_json(&b, &sinks->sinks[i]);
        }
        cw_buf_appends(&b, "]}");
    } else if (mreq->path[0] != '/' || !cw_mock_valid_name(mreq->path + 1, mreq->path_len - 1, MAX_SINK_NAME)) {
        pthread_mutex_unlock(&mock->lock);
        cw_buf_free(&b);
        return -1;
    } else {
        size_t i = add_sink(sinks, mreq->path + 1, mreq->path_len - 1);
        if (i == SIZE_MAX) {
            status = 507;
            cw_buf_appends(&b, "{\"error\":\"too many sinks (reset the mock)\"}");
        } else if (cw_mock_method_is(req, "POST")) {
            cJSON *json = cJSON_ParseWithLength(req->entity.base != NULL ? req->entity.base : "", req->entity.len);
            const char *bad = json != NULL ? parse_behaviour(json, &sinks->sinks[i].behaviour) : "body";
            if (bad != NULL) {
                status = 400;
                cw_buf_appends(&b, "{\"error\":\"bad or unknown field\",\"field\":");
                cw_json_quote(&b, bad, strlen(bad));
                cw_buf_appends(&b, "}");
            }
            cJSON_Delete(json);
        } else if (cw_mock_method_is(req, "DELETE")) {
            sinks->sinks[i].behaviour = default_behaviour;
        } else if (!cw_mock_method_is(req, "GET")) {
            status = 405;
            cw_buf_appends(&b, "{\"error\":\"use GET, POST or DELETE\"}");
        }
        if (status == 200) {
            sink_json(&b, &sinks->sinks[i]);
        }
    }
    pthread_mutex_unlock(&mock->lock);
    cw_mock_reply_json(req, status, b.base, b.len);
    cw_buf_free(&b);
    return 0;
}
