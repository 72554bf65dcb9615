/*
 * mock_gcs.c: a Google Cloud Storage XML-API emulator, path style
 * (/<bucket>/<object>), as the function's GCS backend uses it with
 * STORAGE_EMULATOR_HOST. Buckets exist as soon as they are named.
 *
 *   PUT    /<b>/<o>   x-goog-if-generation-match: 0 (create-only) or <gen> (compare-and-swap) or none;
 *                     200 with x-goog-generation, 412 PreconditionFailed
 *   GET    /<b>/<o>   200 with the bytes and x-goog-generation, 404 NoSuchKey (HEAD alike, no body)
 *   DELETE /<b>/<o>   204, 404 NoSuchKey, 412 with x-goog-if-generation-match
 *   GET    /<b>?list-type=2&prefix=P&max-keys=N&continuation-token=T&start-after=K
 *                     ListBucketResult, keys sorted, pages of at most 1000 (default 1000);
 *                     without list-type=2 the V1 form (marker / NextMarker)
 *
 * Everything runs under the mock's lock, so a create-only PUT is atomic
 * whatever the number of concurrent requests or workers.
 *
 * Fault injection, decided per request in this order with three draws of the
 * seeded PRNG each time (so a seed reproduces a sequential run): "down" → 503;
 * fail_rate → 503 before doing anything; otherwise the operation is performed
 * at once, and a successful write or delete is answered 503 anyway with
 * ambiguous_rate (committed, but the client cannot know). Latency (latency_ms,
 * plus spike_ms with spike_rate) delays the answer, not the operation: a
 * client that gives up early may have written all the same, as with GCS.
 *
 * Control: POST /_harness/store {"fail_rate","ambiguous_rate","latency_ms",
 * "latency_spike_rate","latency_spike_ms","down"} (fields optional, merged);
 * GET shows it; DELETE restores the command line's values.
 * GET /_harness/store/stats: counters. GET /_harness/store/objects?bucket=&prefix=
 * lists objects as JSON (summary=1: the count only). GET /_harness/store/log: every
 * request since the last reset (arrival time, injected delay, method, status, name),
 * for counting round trips and writes; DELETE /_harness/store/log clears it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "cw/json.h"
#include "mock.h"
#include "mock_objmap.h"

#define MAX_OBJECT_NAME 1024
#define MAX_LIST_KEYS 1000
#define MAX_LOG_ENTRIES 4096 /* the request log keeps the first ones; DELETE /_harness/store/log starts it again */
#define LOG_NAME_LEN 120

/* log_entry_t is one request as the emulator saw it: what a test counts round trips and writes from. */
typedef struct st_log_entry_t {
    int64_t at_us;     /* wall clock at arrival */
    uint64_t delay_ms; /* injected latency before the answer */
    int op;
    int status;
    char name[LOG_NAME_LEN]; /* bucket/object, truncated */
} log_entry_t;

enum { OP_GET, OP_HEAD, OP_PUT, OP_DELETE, OP_LIST, OP_OTHER, NUM_OPS };
static const char *const op_names[NUM_OPS] = {"GET", "HEAD", "PUT", "DELETE", "LIST", "other"};

struct st_cw_mock_gcs_t {
    cw_mock_objmap_t *objects;
    cw_mock_store_faults_t faults;
    uint64_t num_requests;
    uint64_t by_op[NUM_OPS];
    uint64_t num_down, num_failed, num_ambiguous, num_spikes;
    uint64_t num_writes, num_deletes, num_precondition_failed, num_not_found, num_unauthorized, num_bad;
    log_entry_t *log; /* MAX_LOG_ENTRIES, allocated at first use */
    size_t log_len;
    uint64_t log_dropped;
};

static void log_request(cw_mock_gcs_t *gcs, int op, int status, uint64_t delay_ms, const char *key, size_t key_len);

cw_mock_gcs_t *cw_mock_gcs_new(cw_mock_t *mock)
{
    cw_mock_gcs_t *gcs = cw_calloc(1, sizeof(*gcs));
    /* Generations look like GCS's (microseconds since the epoch) and only grow. */
    gcs->objects = cw_mock_objmap_new((uint64_t)cw_wall_ms() * 1000, mock->config.seed ^ 0x5bd1e995u);
    gcs->faults = mock->config.store;
    return gcs;
}

void cw_mock_gcs_free(cw_mock_gcs_t *gcs)
{
    if (gcs == NULL) {
        return;
    }
    cw_mock_objmap_free(gcs->objects);
    free(gcs->log);
    free(gcs);
}

void cw_mock_gcs_reset(cw_mock_t *mock, int drop_objects)
{
    cw_mock_gcs_t *gcs = mock->gcs;
    if (drop_objects) {
        cw_mock_objmap_clear(gcs->objects);
    }
    cw_mock_objmap_t *objects = gcs->objects;
    log_entry_t *log = gcs->log;
    *gcs = (cw_mock_gcs_t){.objects = objects, .faults = mock->config.store, .log = log};
}

static void xml_error(cw_mock_reply_t *reply, int status, const char *code, const char *message, const char *details,
                      size_t details_len)
{
    reply->status = status;
    reply->content_type = "application/xml; charset=UTF-8";
    cw_buf_reset(&reply->body);
    cw_buf_appendf(&reply->body, "<?xml version='1.0' encoding='UTF-8'?><Error><Code>%s</Code><Message>%s</Message>", code,
                   message);
    if (details != NULL) {
        cw_buf_appends(&reply->body, "<Details>");
        cw_mock_xml_escape(&reply->body, details, details_len);
        cw_buf_appends(&reply->body, "</Details>");
    }
    cw_buf_appends(&reply->body, "</Error>");
}

static void generation_headers(cw_mock_reply_t *reply, const cw_mock_obj_t *obj)
{
    char gen[32], etag[40], len[32];
    snprintf(gen, sizeof(gen), "%llu", (unsigned long long)obj->generation);
    snprintf(etag, sizeof(etag), "\"%llx\"", (unsigned long long)obj->generation);
    snprintf(len, sizeof(len), "%zu", obj->data_len);
    cw_mock_reply_header(reply, "x-goog-generation", gen);
    cw_mock_reply_header(reply, "x-goog-metageneration", "1");
    cw_mock_reply_header(reply, "x-goog-stored-content-length", len);
    cw_mock_reply_header(reply, "x-goog-storage-class", "STANDARD");
    cw_mock_reply_header(reply, "etag", etag);
}

/* precondition reads x-goog-if-generation-match: CW_MOCK_OBJ_ANY when absent. Returns 0, or -1 when malformed. */
static int precondition(h2o_req_t *req, int64_t *out)
{
    h2o_iovec_t v = cw_req_header(req, H2O_STRLIT("x-goog-if-generation-match"));
    *out = CW_MOCK_OBJ_ANY;
    if (v.base == NULL) {
        return 0;
    }
    uint64_t gen;
    if (cw_parse_u64(v.base, v.len, 0, INT64_MAX, &gen) != 0) {
        return -1;
    }
    *out = (int64_t)gen;
    return 0;
}

static int authorized(cw_mock_t *mock, h2o_req_t *req)
{
    if (!mock->config.require_token) {
        return 1;
    }
    h2o_iovec_t v = cw_req_header(req, H2O_STRLIT("authorization"));
    static const char want[] = "Bearer mock-token-";
    return v.base != NULL && v.len > sizeof(want) - 1 && memcmp(v.base, want, sizeof(want) - 1) == 0;
}

/* list_query_t is a listing request's parameters, decoded. */
typedef struct st_list_query_t {
    int v2;            /* list-type=2 */
    uint64_t max_keys; /* at most MAX_LIST_KEYS */
    cw_buf_t prefix;
    cw_buf_t after; /* start after this object name (continuation-token, start-after or marker) */
    int has_after;
    cw_buf_t marker; /* V1: the marker as given, echoed back */
} list_query_t;

/* parse_list_query fills |q| (which the caller frees). Returns NULL, or the name of the bad parameter. */
static const char *parse_list_query(const cw_mock_req_t *mreq, list_query_t *q)
{
    cw_buf_t param = CW_BUF_INIT;
    const char *bad = NULL;
    int r;
    q->max_keys = MAX_LIST_KEYS;
    if (cw_mock_query_get(mreq->query, mreq->query_len, "list-type", &param) == 1) {
        q->v2 = h2o_memis(param.base, param.len, H2O_STRLIT("2"));
    }
    if (cw_mock_query_get(mreq->query, mreq->query_len, "prefix", &q->prefix) < 0) {
        bad = "prefix";
        goto Exit;
    }
    cw_buf_reset(&param);
    r = cw_mock_query_get(mreq->query, mreq->query_len, "max-keys", &param);
    if (r != 0 && (r < 0 || cw_parse_u64(param.base, param.len, 0, UINT32_MAX, &q->max_keys) != 0)) {
        bad = "max-keys";
        goto Exit;
    }
    if (q->max_keys > MAX_LIST_KEYS) {
        q->max_keys = MAX_LIST_KEYS;
    }
    cw_buf_reset(&param);
    if (cw_mock_query_get(mreq->query, mreq->query_len, "delimiter", &param) != 0 && param.len != 0) {
        bad = "delimiter";
        goto Exit;
    }
    /* Where to start: the V2 continuation-token (hex of the previous page's last name) or start-after; V1 marker. */
    cw_buf_reset(&param);
    if (q->v2 && (r = cw_mock_query_get(mreq->query, mreq->query_len, "continuation-token", &param)) != 0) {
        size_t n = param.len / 2;
        cw_buf_reserve(&q->after, n);
        if (r < 0 || param.len == 0 || param.len % 2 != 0 ||
            cw_hex_decode((uint8_t *)q->after.base, n, param.base, param.len) != 0) {
            bad = "continuation-token";
            goto Exit;
        }
        q->after.len = n;
        q->after.base[n] = '\0';
        q->has_after = 1;
    } else if ((r = cw_mock_query_get(mreq->query, mreq->query_len, q->v2 ? "start-after" : "marker", &q->after)) != 0) {
        if (r < 0) {
            bad = q->v2 ? "start-after" : "marker";
            goto Exit;
        }
        q->has_after = q->after.len != 0;
        cw_buf_append(&q->marker, q->after.base != NULL ? q->after.base : "", q->after.len);
    }
Exit:
    cw_buf_free(&param);
    return bad;
}

static void render_contents(cw_buf_t *b, const cw_mock_obj_t *obj, size_t strip)
{
    char when[40];
    cw_format_rfc3339(when, sizeof(when), obj->updated_ms);
    cw_buf_appends(b, "<Contents><Key>");
    cw_mock_xml_escape(b, obj->key + strip, obj->key_len - strip);
    cw_buf_appendf(b,
                   "</Key><Generation>%llu</Generation><MetaGeneration>1</MetaGeneration><LastModified>%s</LastModified>"
                   "<ETag>\"%llx\"</ETag><Size>%zu</Size><StorageClass>STANDARD</StorageClass></Contents>",
                   (unsigned long long)obj->generation, when, (unsigned long long)obj->generation, obj->data_len);
}

/* list serves a bucket listing into |reply|. Under the lock (the objects are borrowed from the map). */
static void list(cw_mock_gcs_t *gcs, const cw_mock_req_t *mreq, const char *bucket, size_t bucket_len, cw_mock_reply_t *reply)
{
    list_query_t q = {.prefix = CW_BUF_INIT, .after = CW_BUF_INIT, .marker = CW_BUF_INIT};
    cw_buf_t key_prefix = CW_BUF_INIT, after_key = CW_BUF_INIT;
    const cw_mock_obj_t **objs = NULL;
    const char *bad = parse_list_query(mreq, &q);
    if (bad != NULL) {
        ++gcs->num_bad;
        if (strcmp(bad, "delimiter") == 0) {
            xml_error(reply, 501, "NotImplemented", "The mock emulator does not implement delimiter listings.", NULL, 0);
        } else {
            xml_error(reply, 400, "InvalidArgument", "Invalid argument.", bad, strlen(bad));
        }
        goto Exit;
    }

    /* Keys in the map are "<bucket>/<name>". */
    cw_buf_append(&key_prefix, bucket, bucket_len);
    cw_buf_append(&key_prefix, "/", 1);
    size_t strip = key_prefix.len;
    if (q.has_after) {
        cw_buf_append(&after_key, key_prefix.base, key_prefix.len);
        cw_buf_append(&after_key, q.after.base, q.after.len);
    }
    cw_buf_append(&key_prefix, q.prefix.base != NULL ? q.prefix.base : "", q.prefix.len);
    objs = cw_malloc(sizeof(*objs) * MAX_LIST_KEYS);
    int truncated = 0;
    /* max-keys=0 lists nothing but still tells whether there is something. */
    size_t n = cw_mock_objmap_list(gcs->objects, key_prefix.base, key_prefix.len, after_key.base, after_key.len,
                                   q.max_keys != 0 ? (size_t)q.max_keys : 1, objs, &truncated);
    if (q.max_keys == 0) {
        truncated = n != 0;
        n = 0;
    }

    cw_buf_t *b = &reply->body;
    reply->content_type = "application/xml; charset=UTF-8";
    cw_buf_appends(b, "<?xml version='1.0' encoding='UTF-8'?>"
                      "<ListBucketResult xmlns=\"http://doc.s3.amazonaws.com/2006-03-01\"><Name>");
    cw_mock_xml_escape(b, bucket, bucket_len);
    cw_buf_appends(b, "</Name><Prefix>");
    cw_mock_xml_escape(b, q.prefix.base != NULL ? q.prefix.base : "", q.prefix.len);
    cw_buf_appends(b, "</Prefix>");
    if (q.v2) {
        cw_buf_appendf(b, "<KeyCount>%zu</KeyCount>", n);
    } else {
        cw_buf_appends(b, "<Marker>");
        cw_mock_xml_escape(b, q.marker.base != NULL ? q.marker.base : "", q.marker.len);
        cw_buf_appends(b, "</Marker>");
    }
    cw_buf_appendf(b, "<MaxKeys>%llu</MaxKeys><IsTruncated>%s</IsTruncated>", (unsigned long long)q.max_keys,
                   truncated ? "true" : "false");
    for (size_t i = 0; i != n; ++i) {
        render_contents(b, objs[i], strip);
    }
    if (truncated && n != 0) {
        const cw_mock_obj_t *last = objs[n - 1];
        if (q.v2) {
            char *hex = cw_malloc(2 * (last->key_len - strip) + 1);
            cw_hex_encode(hex, (const uint8_t *)last->key + strip, last->key_len - strip);
            cw_buf_appendf(b, "<NextContinuationToken>%s</NextContinuationToken>", hex);
            free(hex);
        } else {
            cw_buf_appends(b, "<NextMarker>");
            cw_mock_xml_escape(b, last->key + strip, last->key_len - strip);
            cw_buf_appends(b, "</NextMarker>");
        }
    }
    cw_buf_appends(b, "</ListBucketResult>");

Exit:
    free(objs);
    cw_buf_free(&key_prefix);
    cw_buf_free(&after_key);
    cw_buf_free(&q.prefix);
    cw_buf_free(&q.after);
    cw_buf_free(&q.marker);
}

/* object_op performs GET/HEAD/PUT/DELETE of |key| into |reply|. Returns 1 when it changed the store. Under the lock. */
static int object_op(cw_mock_gcs_t *gcs, h2o_req_t *req, int op, const char *key, size_t key_len, size_t strip,
                     cw_mock_reply_t *reply)
{
    int64_t if_gen;
    if (precondition(req, &if_gen) != 0) {
        ++gcs->num_bad;
        xml_error(reply, 400, "InvalidArgument", "Invalid argument: x-goog-if-generation-match.", NULL, 0);
        return 0;
    }
    const char *name = key + strip;
    size_t name_len = key_len - strip;
    if (op == OP_PUT) {
        uint64_t gen;
        const char *body = req->entity.base != NULL ? req->entity.base : "";
        if (cw_mock_objmap_put(gcs->objects, key, key_len, body, req->entity.len, if_gen, cw_wall_ms(), &gen) != CW_MOCK_OBJ_OK) {
            ++gcs->num_precondition_failed;
            xml_error(reply, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.", NULL, 0);
            return 0;
        }
        ++gcs->num_writes;
        generation_headers(reply, cw_mock_objmap_get(gcs->objects, key, key_len));
        reply->status = 200;
        return 1;
    }
    if (op == OP_DELETE) {
        switch (cw_mock_objmap_delete(gcs->objects, key, key_len, if_gen)) {
        case CW_MOCK_OBJ_OK:
            ++gcs->num_deletes;
            reply->status = 204;
            return 1;
        case CW_MOCK_OBJ_NOT_FOUND:
            ++gcs->num_not_found;
            xml_error(reply, 404, "NoSuchKey", "The specified key does not exist.", name, name_len);
            return 0;
        default:
            ++gcs->num_precondition_failed;
            xml_error(reply, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.", NULL, 0);
            return 0;
        }
    }
    /* GET and HEAD. */
    const cw_mock_obj_t *obj = cw_mock_objmap_get(gcs->objects, key, key_len);
    if (obj == NULL) {
        ++gcs->num_not_found;
        xml_error(reply, 404, "NoSuchKey", "The specified key does not exist.", name, name_len);
        reply->omit_body = op == OP_HEAD;
        return 0;
    }
    if (if_gen != CW_MOCK_OBJ_ANY && (if_gen == 0 || obj->generation != (uint64_t)if_gen)) {
        ++gcs->num_precondition_failed;
        xml_error(reply, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.", NULL, 0);
        reply->omit_body = op == OP_HEAD;
        return 0;
    }
    reply->status = 200;
    reply->content_type = "application/octet-stream";
    generation_headers(reply, obj);
    cw_buf_append(&reply->body, obj->data, obj->data_len);
    reply->omit_body = op == OP_HEAD;
    return 0;
}

void cw_mock_gcs_handle(cw_mock_req_t *mreq)
{
    cw_mock_t *mock = mreq->mock;
    cw_mock_gcs_t *gcs = mock->gcs;
    h2o_req_t *req = mreq->req;
    cw_mock_reply_t reply;
    cw_buf_t key = CW_BUF_INIT;
    uint64_t delay_ms = 0;
    cw_mock_reply_init(&reply, 200, NULL);

    /* "/<bucket>[/<object>]"; the object name is percent-decoded (a literal '+' stays a '+'). */
    const char *bucket = mreq->path_len > 0 ? mreq->path + 1 : "";
    size_t rest_len = mreq->path_len > 0 ? mreq->path_len - 1 : 0;
    const char *slash = memchr(bucket, '/', rest_len);
    size_t bucket_len = slash != NULL ? (size_t)(slash - bucket) : rest_len;
    const char *raw_name = slash != NULL ? slash + 1 : "";
    size_t raw_name_len = slash != NULL ? rest_len - bucket_len - 1 : 0;
    int bad_name = 0;
    cw_buf_append(&key, bucket, bucket_len);
    cw_buf_append(&key, "/", 1);
    size_t strip = key.len;
    if (cw_mock_url_decode(&key, raw_name, raw_name_len, 0) != 0 || memchr(key.base, '\0', key.len) != NULL ||
        key.len - strip > MAX_OBJECT_NAME) {
        bad_name = 1;
    }
    int is_bucket = key.len == strip;

    int op = OP_OTHER;
    if (cw_mock_method_is(req, "GET")) {
        op = is_bucket ? OP_LIST : OP_GET;
    } else if (cw_mock_method_is(req, "HEAD")) {
        op = OP_HEAD;
    } else if (cw_mock_method_is(req, "PUT")) {
        op = OP_PUT;
    } else if (cw_mock_method_is(req, "DELETE")) {
        op = OP_DELETE;
    }

    pthread_mutex_lock(&mock->lock);
    ++gcs->num_requests;
    ++gcs->by_op[op];
    /* Three draws per request whatever happens, so a seed reproduces the same faults. */
    double draw_fail = cw_mock_rng_unit(&mock->rng), draw_spike = cw_mock_rng_unit(&mock->rng),
           draw_ambiguous = cw_mock_rng_unit(&mock->rng);
    delay_ms = gcs->faults.latency_ms;
    if (gcs->faults.spike_ms != 0 && draw_spike < gcs->faults.spike_rate) {
        ++gcs->num_spikes;
        delay_ms += gcs->faults.spike_ms;
    }
    if (!authorized(mock, req)) {
        ++gcs->num_unauthorized;
        xml_error(&reply, 401, "AuthenticationRequired", "Authentication required.", NULL, 0);
    } else if (gcs->faults.down) {
        ++gcs->num_down;
        xml_error(&reply, 503, "ServiceUnavailable", "The service is down (injected).", NULL, 0);
    } else if (draw_fail < gcs->faults.fail_rate) {
        ++gcs->num_failed;
        xml_error(&reply, 503, "ServiceUnavailable", "Backend error (injected).", NULL, 0);
    } else if (bucket_len == 0 || !cw_mock_valid_name(bucket, bucket_len, 222)) {
        ++gcs->num_bad;
        xml_error(&reply, 400, "InvalidBucketName", "The specified bucket is not valid.", bucket, bucket_len);
    } else if (bad_name) {
        ++gcs->num_bad;
        xml_error(&reply, 400, "InvalidArgument", "Invalid object name.", NULL, 0);
    } else if (op == OP_LIST) {
        list(gcs, mreq, bucket, bucket_len, &reply);
    } else if (is_bucket && op == OP_PUT) {
        reply.status = 200; /* buckets exist as soon as they are named */
    } else if (is_bucket || op == OP_OTHER) {
        ++gcs->num_bad;
        xml_error(&reply, 405, "MethodNotAllowed", "The specified method is not allowed against this resource.", NULL, 0);
        reply.omit_body = op == OP_HEAD;
    } else if (object_op(gcs, req, op, key.base, key.len, strip, &reply) && draw_ambiguous < gcs->faults.ambiguous_rate) {
        ++gcs->num_ambiguous;
        cw_buf_reset(&reply.headers);
        xml_error(&reply, 503, "ServiceUnavailable", "Backend error after commit (injected ambiguous success).", NULL, 0);
    }
    log_request(gcs, op, reply.status, delay_ms, key.base, key.len);
    pthread_mutex_unlock(&mock->lock);

    cw_buf_free(&key);
    cw_mock_reply_send(req, &reply, delay_ms);
}

/* log_request appends one entry to the request log; under mock->lock. */
static void log_request(cw_mock_gcs_t *gcs, int op, int status, uint64_t delay_ms, const char *key, size_t key_len)
{
    if (gcs->log_len == MAX_LOG_ENTRIES) {
        ++gcs->log_dropped;
        return;
    }
    if (gcs->log == NULL) {
        gcs->log = cw_calloc(MAX_LOG_ENTRIES, sizeof(*gcs->log));
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    log_entry_t *e = &gcs->log[gcs->log_len++];
    e->at_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    e->delay_ms = delay_ms;
    e->op = op;
    e->status = status;
    size_t n = key_len < sizeof(e->name) - 1 ? key_len : sizeof(e->name) - 1;
    memcpy(e->name, key != NULL ? key : "", n);
    e->name[n] = '\0';
}

/* serve_log answers GET /_harness/store/log (every request since the last reset, in arrival order) and
 * DELETE /_harness/store/log (start again). */
static void serve_log(cw_mock_t *mock, h2o_req_t *req)
{
    cw_mock_gcs_t *gcs = mock->gcs;
    cw_buf_t b = CW_BUF_INIT;
    if (cw_mock_method_is(req, "DELETE")) {
        pthread_mutex_lock(&mock->lock);
        gcs->log_len = 0;
        gcs->log_dropped = 0;
        pthread_mutex_unlock(&mock->lock);
        cw_mock_reply_json(req, 200, H2O_STRLIT("{\"status\":\"cleared\"}"));
        return;
    }
    if (!cw_mock_method_is(req, "GET")) {
        cw_mock_reply_json(req, 405, H2O_STRLIT("{\"error\":\"use GET or DELETE\"}"));
        return;
    }
    cw_buf_appends(&b, "{\"entries\":[");
    pthread_mutex_lock(&mock->lock);
    for (size_t i = 0; i != gcs->log_len; ++i) {
        const log_entry_t *e = &gcs->log[i];
        cw_buf_appendf(&b, "%s{\"op\":\"%s\",\"status\":%d,\"at_us\":%lld,\"delay_ms\":%llu,\"name\":", i == 0 ? "" : ",",
                       op_names[e->op], e->status, (long long)e->at_us, (unsigned long long)e->delay_ms);
        cw_json_quote(&b, e->name, strlen(e->name));
        cw_buf_appends(&b, "}");
    }
    cw_buf_appendf(&b, "],\"dropped\":%llu}", (unsigned long long)gcs->log_dropped);
    pthread_mutex_unlock(&mock->lock);
    cw_mock_reply_json(req, 200, b.base, b.len);
    cw_buf_free(&b);
}

static void faults_json(cw_buf_t *b, const cw_mock_store_faults_t *f)
{
    cw_buf_appendf(b,
                   "{\"fail_rate\":%g,\"ambiguous_rate\":%g,\"latency_ms\":%llu,\"latency_spike_rate\":%g,"
                   "\"latency_spike_ms\":%llu,\"down\":%s}",
                   f->fail_rate, f->ambiguous_rate, (unsigned long long)f->latency_ms, f->spike_rate,
                   (unsigned long long)f->spike_ms, f->down ? "true" : "false");
}

/* apply_faults merges the fields of |json| into |f|. Returns NULL, or the name of the bad field. */
static const char *apply_faults(const cJSON *json, cw_mock_store_faults_t *f)
{
    const cJSON *item;
    if (!cJSON_IsObject(json)) {
        return "body";
    }
    cJSON_ArrayForEach(item, json)
    {
        const char *k = item->string;
        double *rate = strcmp(k, "fail_rate") == 0            ? &f->fail_rate
                       : strcmp(k, "ambiguous_rate") == 0     ? &f->ambiguous_rate
                       : strcmp(k, "latency_spike_rate") == 0 ? &f->spike_rate
                       : strcmp(k, "spike_rate") == 0         ? &f->spike_rate
                                                              : NULL;
        uint64_t *ms = strcmp(k, "latency_ms") == 0         ? &f->latency_ms
                       : strcmp(k, "latency_spike_ms") == 0 ? &f->spike_ms
                       : strcmp(k, "spike_ms") == 0         ? &f->spike_ms
                                                            : NULL;
        if (rate != NULL) {
            if (!cJSON_IsNumber(item) || !(item->valuedouble >= 0 && item->valuedouble <= 1)) {
                return k;
            }
            *rate = item->valuedouble;
        } else if (ms != NULL) {
            if (!cJSON_IsNumber(item) || !(item->valuedouble >= 0 && item->valuedouble <= CW_MOCK_MAX_LATENCY_MS)) {
                return k;
            }
            *ms = (uint64_t)item->valuedouble;
        } else if (strcmp(k, "down") == 0) {
            if (!cJSON_IsBool(item)) {
                return k;
            }
            f->down = cJSON_IsTrue(item);
        } else {
            return k;
        }
    }
    return NULL;
}

static void serve_stats(cw_mock_t *mock, h2o_req_t *req)
{
    cw_mock_gcs_t *gcs = mock->gcs;
    cw_buf_t b = CW_BUF_INIT;
    pthread_mutex_lock(&mock->lock);
    cw_buf_appendf(&b, "{\"requests\":%llu,\"by_method\":{", (unsigned long long)gcs->num_requests);
    for (int i = 0; i != NUM_OPS; ++i) {
        cw_buf_appendf(&b, "%s\"%s\":%llu", i == 0 ? "" : ",", op_names[i], (unsigned long long)gcs->by_op[i]);
    }
    cw_buf_appendf(&b,
                   "},\"faults\":%llu,\"faults_by_kind\":{\"down\":%llu,\"injected\":%llu,\"ambiguous\":%llu,"
                   "\"latency_spikes\":%llu},\"writes\":%llu,\"deletes\":%llu,\"precondition_failed\":%llu,\"not_found\":%llu,"
                   "\"unauthorized\":%llu,\"bad_requests\":%llu,\"objects\":%zu,\"bytes\":%llu,\"config\":",
                   (unsigned long long)(gcs->num_down + gcs->num_failed + gcs->num_ambiguous), (unsigned long long)gcs->num_down,
                   (unsigned long long)gcs->num_failed, (unsigned long long)gcs->num_ambiguous, (unsigned long long)gcs->num_spikes,
                   (unsigned long long)gcs->num_writes, (unsigned long long)gcs->num_deletes,
                   (unsigned long long)gcs->num_precondition_failed, (unsigned long long)gcs->num_not_found,
                   (unsigned long long)gcs->num_unauthorized, (unsigned long long)gcs->num_bad, cw_mock_objmap_count(gcs->objects),
                   (unsigned long long)cw_mock_objmap_bytes(gcs->objects));
    faults_json(&b, &gcs->faults);
    cw_buf_appends(&b, "}");
    pthread_mutex_unlock(&mock->lock);
    cw_mock_reply_json(req, 200, b.base, b.len);
    cw_buf_free(&b);
}

static void serve_objects(cw_mock_req_t *mreq)
{
    cw_mock_t *mock = mreq->mock;
    cw_buf_t bucket = CW_BUF_INIT, prefix = CW_BUF_INIT, key_prefix = CW_BUF_INIT, after = CW_BUF_INIT, b = CW_BUF_INIT;
    int summary = cw_mock_query_flag(mreq, "summary");
    if (cw_mock_query_get(mreq->query, mreq->query_len, "bucket", &bucket) != 1 ||
        !cw_mock_valid_name(bucket.base, bucket.len, 222) ||
        cw_mock_query_get(mreq->query, mreq->query_len, "prefix", &prefix) < 0) {
        cw_mock_reply_json(mreq->req, 400, H2O_STRLIT("{\"error\":\"want ?bucket=B[&prefix=P][&summary=1]\"}"));
        goto Exit;
    }
    cw_buf_append(&key_prefix, bucket.base, bucket.len);
    cw_buf_append(&key_prefix, "/", 1);
    size_t strip = key_prefix.len;
    cw_buf_append(&key_prefix, prefix.base != NULL ? prefix.base : "", prefix.len);
    const cw_mock_obj_t *page[256];
    size_t count = 0;
    cw_buf_appends(&b, "{\"objects\":[");
    pthread_mutex_lock(&mock->lock);
    for (;;) {
        int truncated = 0;
        size_t n = cw_mock_objmap_list(mock->gcs->objects, key_prefix.base, key_prefix.len, after.base, after.len,
                                       CW_ARRAY_SIZE(page), page, &truncated);
        for (size_t i = 0; i != n && !summary; ++i) {
            cw_buf_appends(&b, count + i == 0 ? "{\"name\":" : ",{\"name\":");
            cw_json_quote(&b, page[i]->key + strip, page[i]->key_len - strip);
            cw_buf_appendf(&b, ",\"generation\":%llu,\"size\":%zu}", (unsigned long long)page[i]->generation, page[i]->data_len);
        }
        count += n;
        if (!truncated || n == 0) {
            break;
        }
        cw_buf_reset(&after);
        cw_buf_append(&after, page[n - 1]->key, page[n - 1]->key_len);
    }
    pthread_mutex_unlock(&mock->lock);
    cw_buf_appendf(&b, "],\"count\":%zu}", count);
    cw_mock_reply_json(mreq->req, 200, b.base, b.len);
Exit:
    cw_buf_free(&bucket);
    cw_buf_free(&prefix);
    cw_buf_free(&key_prefix);
    cw_buf_free(&after);
    cw_buf_free(&b);
}

int cw_mock_gcs_harness(cw_mock_req_t *mreq)
{
    cw_mock_t *mock = mreq->mock;
    h2o_req_t *req = mreq->req;
    if (h2o_memis(mreq->path, mreq->path_len, H2O_STRLIT("/stats"))) {
        serve_stats(mock, req);
        return 0;
    }
    if (h2o_memis(mreq->path, mreq->path_len, H2O_STRLIT("/objects"))) {
        serve_objects(mreq);
        return 0;
    }
    if (h2o_memis(mreq->path, mreq->path_len, H2O_STRLIT("/log"))) {
        serve_log(mock, req);
        return 0;
    }
    if (mreq->path_len != 0) {
        return -1;
    }
    cw_buf_t b = CW_BUF_INIT;
    int status = 200;
    if (cw_mock_method_is(req, "POST")) {
        cJSON *json = cJSON_ParseWithLength(req->entity.base != NULL ? req->entity.base : "", req->entity.len);
        pthread_mutex_lock(&mock->lock);
        cw_mock_store_faults_t f = mock->gcs->faults;
        const char *bad = json != NULL ? apply_faults(json, &f) : "body";
        if (bad == NULL) {
            mock->gcs->faults = f;
        }
        pthread_mutex_unlock(&mock->lock);
        if (bad != NULL) {
            /* |bad| points into |json|: quote it before freeing. */
            cw_buf_appends(&b, "{\"error\":\"bad or unknown field\",\"field\":");
            cw_json_quote(&b, bad, strlen(bad));
            cw_buf_appends(&b, "}");
            cJSON_Delete(json);
            cw_mock_reply_json(req, 400, b.base, b.len);
            cw_buf_free(&b);
            return 0;
        }
        cJSON_Delete(json);
    } else if (cw_mock_method_is(req, "DELETE")) {
        pthread_mutex_lock(&mock->lock);
        mock->gcs->faults = mock->config.store;
        pthread_mutex_unlock(&mock->lock);
    } else if (!cw_mock_method_is(req, "GET")) {
        status = 405;
    }
    if (status == 405) {
        cw_buf_appends(&b, "{\"error\":\"use GET, POST or DELETE\"}");
    } else {
        pthread_mutex_lock(&mock->lock);
        faults_json(&b, &mock->gcs->faults);
        pthread_mutex_unlock(&mock->lock);
    }
    cw_mock_reply_json(req, status, b.base, b.len);
    cw_buf_free(&b);
    return 0;
}
