/*
 * receiver.c: the callback pipeline. Everything up to the event id runs
 * synchronously on the worker thread (no allocation beyond the parse); the
 * lifecycle then continues asynchronously in event.c and the response is sent
 * when it completes.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cw/log.h"
#include "cw/metrics.h"
#include "cw/util.h"
#include "auth.h"
#include "idem.h"
#include "lead.h"
#include "receiver.h"
#include "route.h"

#define MAX_WORKERS 256 /* WORKERS' upper bound */

/* rx_worker_t is the receiver's state on one worker thread: its unanswered callbacks, for a graceful stop. */
typedef struct st_rx_worker_t {
    h2o_linklist_t unanswered; /* callback_t.link */
    cw_timer_t hurry_timer;
    int hurrying; /* the stop's deadline is near: every callback answers as soon as it safely can */
} rx_worker_t;

struct st_cw_receiver_t {
    cw_engine_t engine;
    rx_worker_t workers[MAX_WORKERS];
    const cw_config_t *cfg;
    cw_auth_t *auth;          /* NULL when ALLOW_UNAUTHENTICATED and no secret */
    cw_idem_fields_t *fields; /* may be NULL */
    cw_route_config_t route_cfg;
    unsigned configured_sinks;
    /* Backpressure: callbacks (and their bodies' bytes) from acceptance until the lifecycle releases them,
     * over every worker; past MAX_INFLIGHT or MAX_INFLIGHT_BYTES new ones get 503 overloaded. */
    _Atomic size_t inflight, inflight_bytes;
};

typedef enum en_outcome_t {
    OUT_PROCESSED,
    OUT_ACCEPTED,
    OUT_DUPLICATE,
    OUT_IN_PROGRESS,
    OUT_STORE_UNAVAILABLE,
    OUT_UNAUTHORIZED,
    OUT_EMPTY_BODY,
    OUT_BAD_JSON,
    OUT_NOT_AN_OBJECT,
    OUT_INVALID_FIELD,
    OUT_UNSUPPORTED_MEDIA_TYPE,
    OUT_METHOD_NOT_ALLOWED,
    OUT_TOO_LARGE,
    OUT_OVERLOADED,
    OUT_COUNT
} outcome_t;

static const char *const outcome_names[OUT_COUNT] = {
    "processed",  "accepted",  "duplicate",     "in_progress",   "store_unavailable",      "unauthorized",
    "empty_body", "bad_json",  "not_an_object", "invalid_field", "unsupported_media_type", "method_not_allowed",
    "too_large",  "overloaded"};

static cw_counter_t *outcome_counters[OUT_COUNT];
static cw_histogram_t *outcome_latency[OUT_COUNT];
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void init_metrics(void)
{
    char labels[64];
    for (size_t i = 0; i != OUT_COUNT; ++i) {
        snprintf(labels, sizeof(labels), "outcome=\"%s\"", outcome_names[i]);
        outcome_counters[i] =
            cw_metrics_counter("clay_callbacks_total", "Callbacks received on /api/clay/enriched by outcome", labels);
        outcome_latency[i] =
            cw_metrics_histogram("clay_callback_duration_seconds", "Time from request to response, by outcome", labels, NULL, 0);
    }
}

typedef struct st_callback_t {
    cw_async_t async;
    cw_receiver_t *rx;
    uint64_t started_us;
    const char *scheme;    /* static string or NULL */
    const char *id_source; /* static string */
    char trace[160];
    size_t trace_len;
    char email[256]; /* only with LOG_PII */
    /* what the lifecycle's builder needs, kept until the callback completes */
    cw_lead_t lead;
    cw_route_t route;
    unsigned sinks;
    char id[CW_IDEM_ID_LEN + 1];
    char *raw_body;      /* the object as received (NUL-terminated copy); NULL once handed over */
    cw_event_op_t *op;   /* the lifecycle, until it answers */
    h2o_linklist_t link; /* in rx_worker_t.unanswered until answered */
} callback_t;

/* inflight_t is what the backpressure counted for one callback, released with its lifecycle. */
typedef struct st_inflight_t {
    cw_receiver_t *rx;
    cw_worker_t *worker;
    size_t bytes;
} inflight_t;

/* admit counts a callback of |bytes| in, or reports 0 when that would pass a limit. */
static int admit(cw_receiver_t *rx, size_t bytes)
{
    size_t n = atomic_fetch_add(&rx->inflight, 1) + 1;
    size_t b = atomic_fetch_add(&rx->inflight_bytes, bytes) + bytes;
    if (n > rx->cfg->max_inflight || b > rx->cfg->max_inflight_bytes) {
        atomic_fetch_sub(&rx->inflight, 1);
        atomic_fetch_sub(&rx->inflight_bytes, bytes);
        return 0;
    }
    return 1;
}

static void log_callback(const callback_t *cb, outcome_t outcome, int status, const char *id, const char *route, const char *detail)
{
    uint64_t latency_us = cw_now_us() - cb->started_us;
    double latency = (double)latency_us / 1e6;
    cw_counter_inc(outcome_counters[outcome]);
    cw_histogram_observe(outcome_latency[outcome], latency);
    cw_log_field_t fields[] = {
        CW_LF_STR("event_id", id),
        CW_LF_STR("outcome", outcome_names[outcome]),
        CW_LF_INT("status", status),
        CW_LF_STR("route", route),
        CW_LF_DBL("latency_ms", (double)latency_us / 1000),
        CW_LF_STR("scheme", cb->scheme),
        CW_LF_STR("id_source", cb->id_source),
        CW_LF_STR("detail", detail),
        CW_LF_STR("email", cb->email[0] != '\0' ? cb->email : NULL),
    };
    cw_severity_t sev = status >= 500 ? CW_LOG_ERROR : status >= 400 ? CW_LOG_WARNING : CW_LOG_INFO;
    cw_log(sev, cb->trace_len != 0 ? cb->trace : NULL, cb->trace_len, "callback", fields, CW_ARRAY_SIZE(fields));
}

/* reject answers a request that failed before the lifecycle started. */
static int reject(callback_t *cb, h2o_req_t *req, outcome_t outcome, int status, const char *detail)
{
    const char *code = outcome_names[outcome];
    if (outcome == OUT_METHOD_NOT_ALLOWED) {
        cw_add_header(req, "allow", "POST");
    }
    cw_respond_error(req, status, code, detail);
    log_callback(cb, outcome, status, NULL, NULL, detail);
    return 0;
}

static int is_json_media_type(h2o_iovec_t ct)
{
    size_t n = 0;
    while (n != ct.len && ct.base[n] != ';') {
        ++n;
    }
    while (n != 0 && (ct.base[n - 1] == ' ' || ct.base[n - 1] == '\t')) {
        --n;
    }
    size_t start = 0;
    while (start != n && (ct.base[start] == ' ' || ct.base[start] == '\t')) {
        ++start;
    }
    const char *t = ct.base + start;
    size_t len = n - start;
    if (cw_memeq_ci(t, len, H2O_STRLIT("application/json"))) {
        return 1;
    }
    /* application/<anything>+json (e.g. application/vnd.api+json) */
    return len > 17 && cw_memeq_ci(t, 12, H2O_STRLIT("application/")) && cw_memeq_ci(t + len - 5, 5, H2O_STRLIT("+json"));
}

static const char *auth_detail(cw_auth_result_t r)
{
    switch (r) {
    case CW_AUTH_MISSING:
        return "no credentials: send X-Clay-Secret, Authorization: Bearer, X-Clay-Signature or Standard Webhooks headers";
    case CW_AUTH_MALFORMED:
        return "malformed credentials";
    case CW_AUTH_MISMATCH:
        return "credentials do not match";
    case CW_AUTH_STALE:
        return "webhook-timestamp outside the tolerance window";
    default:
        return NULL;
    }
}

static void respond_outcome(callback_t *cb, const cw_event_outcome_t *o)
{
    outcome_t outcome;
    int status;
    cw_buf_t b = CW_BUF_INIT;
    switch (o->kind) {
    case CW_EVENT_PROCESSED:
    case CW_EVENT_ACCEPTED: {
        int pending = o->kind == CW_EVENT_ACCEPTED;
        outcome = pending ? OUT_ACCEPTED : OUT_PROCESSED;
        status = pending ? 202 : 200;
        /* appended piece by piece: no printf on the path of every callback */
        cw_buf_appends(&b, pending ? "{\"status\":\"accepted\",\"id\":\"" : "{\"status\":\"processed\",\"id\":\"");
        cw_buf_appends(&b, o->id);
        cw_buf_appends(&b, "\",\"route\":\"");
        cw_buf_appends(&b, o->route != NULL ? o->route : "skip");
        cw_buf_appends(&b, "\",\"deliveries\":{");
        for (size_t i = 0; i != o->num_sinks; ++i) {
            cw_buf_appends(&b, i == 0 ? "\"" : ",\"");
            cw_buf_appends(&b, o->sink_names[i]);
            cw_buf_appends(&b, "\":\"");
            cw_buf_appends(&b, cw_sink_state_name(o->sink_states[i]));
            cw_buf_appends(&b, "\"");
        }
        cw_buf_appends(&b, "}");
        if (pending) {
            cw_buf_appends(&b, ",\"pending\":[");
            int first = 1;
            for (size_t i = 0; i != o->num_sinks; ++i) {
                if (o->sink_states[i] == CW_SINK_PENDING) {
                    cw_buf_appendf(&b, "%s\"%s\"", first ? "" : ",", o->sink_names[i]);
                    first = 0;
                }
            }
            cw_buf_appends(&b, "]");
        }
        cw_buf_appends(&b, "}");
    } break;
    case CW_EVENT_DUPLICATE:
        outcome = OUT_DUPLICATE;
        status = 200;
        cw_buf_appendf(&b, "{\"status\":\"duplicate\",\"id\":\"%s\"}", o->id);
        break;
    case CW_EVENT_IN_PROGRESS:
        outcome = OUT_IN_PROGRESS;
        status = 202;
        cw_buf_appendf(&b, "{\"status\":\"in_progress\",\"id\":\"%s\"}", o->id);
        break;
    case CW_EVENT_TOO_LARGE:
        outcome = OUT_TOO_LARGE;
        status = 413;
        cw_buf_appends(&b, "{\"error\":\"too_large\",\"detail\":\"the event record (the body and the lead made from it) would "
                           "exceed the store's object limit; nothing was stored\"}");
        break;
    default:
        outcome = OUT_STORE_UNAVAILABLE;
        status = 503;
        cw_buf_appends(&b,
                       "{\"error\":\"store_unavailable\",\"detail\":\"the event store is unreachable; nothing was acknowledged, "
                       "retry later\"}");
        break;
    }
    h2o_req_t *req = cw_async_take(&cb->async);
    if (req != NULL) {
        if (status == 503) {
            cw_add_header(req, "retry-after", "5");
        }
        cw_respond_json(req, status, b.base, b.len);
    }
    log_callback(cb, outcome, status, o->id, o->route, req == NULL ? "client went away before the response" : o->detail);
    cw_buf_free(&b);
}

/* on_event_released ends the worker hold and the backpressure count taken for the event's lifecycle
 * (released after the answer, once the clean-up is over). */
static void on_event_released(void *data)
{
    inflight_t *in = data;
    atomic_fetch_sub(&in->rx->inflight, 1);
    atomic_fetch_sub(&in->rx->inflight_bytes, in->bytes);
    cw_worker_release(in->worker);
    free(in);
}

static void on_event_done(const cw_event_outcome_t *o, void *data)
{
    callback_t *cb = data;
    if (h2o_linklist_is_linked(&cb->link)) {
        h2o_linklist_unlink(&cb->link);
    }
    respond_outcome(cb, o);
    cw_async_end(&cb->async);
    cw_lead_free(&cb->lead);
    free(cb->raw_body);
    free(cb);
}

/* build_content renders what the event records and delivers; the lifecycle calls it only for events
 * that are not duplicates. */
static void build_content(void *data, const char *received_at, cw_event_content_t *out)
{
    callback_t *cb = data;
    size_t len;
    out->route = cw_route_name(cb->route);
    for (unsigned s = 0; s != CW_SINK_COUNT; ++s) {
        if ((cb->sinks & CW_SINK_BIT(s)) != 0) {
            out->sink_names[out->num_sinks++] = cw_sink_name((cw_sink_t)s);
        }
    }
    /* An event without sinks never delivers: its record keeps the body as received, no payload. */
    out->payload_json = cb->sinks != 0 ? cw_sink_payload(&cb->lead, cb->id, cb->route, received_at, &len) : NULL;
    out->slack_json = (cb->sinks & CW_SINK_BIT(CW_SINK_SLACK)) != 0 ? cw_slack_payload(&cb->lead, cb->id, &len) : NULL;
    /* The parsed trees are bigger than the body they came from: gone as soon as the content is built. */
    cw_lead_free(&cb->lead);
    /* The raw bytes are a JSON object (the parse said so): record them as received, no re-serialising. */
    out->original_json = cb->raw_body;
    cb->raw_body = NULL;
}

#define HDR(req, name) cw_req_header((req), H2O_STRLIT(name))
/* A Standard Webhooks header, or its Svix twin: Svix-format senders sign exactly as Standard Webhooks does
 * (svix-id, svix-timestamp, svix-signature: v1,<base64> over "id.timestamp.body"). */
#define STD_HDR(req, name) standard_header((req), H2O_STRLIT("webhook-" name), H2O_STRLIT("svix-" name))

static h2o_iovec_t standard_header(h2o_req_t *req, const char *name, size_t name_len, const char *svix, size_t svix_len)
{
    h2o_iovec_t v = cw_req_header(req, name, name_len);
    return v.base != NULL ? v : cw_req_header(req, svix, svix_len);
}

/* query_key percent-decodes the first idempotency_key=<value> of the query string into |out|. Returns 0, or -1 when
 * there is none or it does not decode. */
static int query_key(h2o_req_t *req, cw_buf_t *out)
{
    if (req->query_at == SIZE_MAX || req->query_at >= req->path.len) {
        return -1;
    }
    const char *q = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        if (amp == NULL) {
            amp = end;
        }
        const char *eq = memchr(q, '=', (size_t)(amp - q));
        if (eq != NULL && h2o_memis(q, (size_t)(eq - q), H2O_STRLIT("idempotency_key"))) {
            return cw_url_decode(out, eq + 1, (size_t)(amp - eq - 1), 1);
        }
        q = amp + 1;
    }
    return -1;
}

/* refuse_early records the answer to a body that will never be read, and logs and counts it like reject. */
static int refuse_early(callback_t *cb, h2o_req_t *req, outcome_t outcome, int status, const char *detail)
{
    cw_req_refuse(req, status, outcome_names[outcome], detail, outcome == OUT_METHOD_NOT_ALLOWED ? "allow" : NULL,
                  outcome == OUT_METHOD_NOT_ALLOWED ? "POST" : NULL);
    log_callback(cb, outcome, status, NULL, NULL, detail);
    return -1;
}

int cw_receiver_check_headers(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    cw_receiver_t *rx = data;
    callback_t cb = {.rx = rx, .started_us = cw_now_us()};
    pthread_once(&metrics_once, init_metrics);

    h2o_iovec_t trace = HDR(req, "x-cloud-trace-context");
    if (trace.base != NULL && trace.len < sizeof(cb.trace)) {
        memcpy(cb.trace, trace.base, trace.len);
        cb.trace[trace.len] = '\0';
        cb.trace_len = trace.len;
    }
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        return refuse_early(&cb, req, OUT_METHOD_NOT_ALLOWED, 405, "use POST");
    }
    h2o_iovec_t ct = HDR(req, "content-type");
    if (ct.base != NULL && !is_json_media_type(ct)) {
        return refuse_early(&cb, req, OUT_UNSUPPORTED_MEDIA_TYPE, 415, "Content-Type must be application/json");
    }
    if (rx->auth != NULL) {
        h2o_iovec_t xs = HDR(req, "x-clay-secret"), az = HDR(req, "authorization"), sig = HDR(req, "x-clay-signature"),
                    wid = STD_HDR(req, "id"), wts = STD_HDR(req, "timestamp"), wsig = STD_HDR(req, "signature");
        cw_auth_headers_t h = {xs.base,  xs.len,  az.base,  az.len,  sig.base,  sig.len,
                               wid.base, wid.len, wts.base, wts.len, wsig.base, wsig.len};
        cw_auth_result_t r = cw_auth_check_headers(rx->auth, &h, cw_wall_ms() / 1000, &cb.scheme);
        if (r != CW_AUTH_OK) {
            return refuse_early(&cb, req, OUT_UNAUTHORIZED, 401, auth_detail(r));
        }
    }
    return 0;
}

int cw_receiver_handle(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    cw_receiver_t *rx = data;
    callback_t stack_cb = {.rx = rx, .started_us = cw_now_us()}, *cb = &stack_cb;
    pthread_once(&metrics_once, init_metrics);

    h2o_iovec_t trace = HDR(req, "x-cloud-trace-context");
    if (trace.base != NULL && trace.len < sizeof(cb->trace)) {
        memcpy(cb->trace, trace.base, trace.len);
        cb->trace[trace.len] = '\0';
        cb->trace_len = trace.len;
    }

    /* 1. Method, size, type. */
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        return reject(cb, req, OUT_METHOD_NOT_ALLOWED, 405, "use POST");
    }
    if (req->entity.len > rx->cfg->max_body_bytes) {
        return reject(cb, req, OUT_TOO_LARGE, 413, "the request body exceeds MAX_BODY_BYTES");
    }
    h2o_iovec_t ct = HDR(req, "content-type");
    if (ct.base != NULL && !is_json_media_type(ct)) {
        return reject(cb, req, OUT_UNSUPPORTED_MEDIA_TYPE, 415, "Content-Type must be application/json");
    }
    if (req->entity.base == NULL || req->entity.len == 0) {
        return reject(cb, req, OUT_EMPTY_BODY, 400, "the request body is empty");
    }
    const char *body = req->entity.base;
    size_t body_len = req->entity.len;

    /* 2. Authenticate the raw bytes, before any parsing. */
    if (rx->auth != NULL) {
        h2o_iovec_t xs = HDR(req, "x-clay-secret"), az = HDR(req, "authorization"), sig = HDR(req, "x-clay-signature"),
                    wid = STD_HDR(req, "id"), wts = STD_HDR(req, "timestamp"), wsig = STD_HDR(req, "signature");
        cw_auth_headers_t h = {xs.base,  xs.len,  az.base,  az.len,  sig.base,  sig.len,
                               wid.base, wid.len, wts.base, wts.len, wsig.base, wsig.len};
        cw_auth_result_t r = cw_auth_verify(rx->auth, &h, body, body_len, cw_wall_ms() / 1000, &cb->scheme);
        if (r != CW_AUTH_OK) {
            return reject(cb, req, OUT_UNAUTHORIZED, 401, auth_detail(r));
        }
    }

    /* Backpressure before the parse: a body parses into many times its size, held until the lifecycle
     * releases it. Clay retries a 503; nothing is lost. */
    if (!admit(rx, body_len)) {
        cw_add_header(req, "retry-after", "1");
        return reject(cb, req, OUT_OVERLOADED, 503, "too many callbacks in progress (MAX_INFLIGHT, MAX_INFLIGHT_BYTES)");
    }

    /* 3. Parse and normalise. */
    cw_lead_t lead;
    char detail[256];
    cw_lead_status_t parsed = cw_lead_parse(&lead, body, body_len, detail, sizeof(detail));
    if (parsed != CW_LEAD_OK) {
        atomic_fetch_sub(&rx->inflight, 1);
        atomic_fetch_sub(&rx->inflight_bytes, body_len);
    }
    switch (parsed) {
    case CW_LEAD_OK:
        break;
    case CW_LEAD_BAD_JSON:
        return reject(cb, req, OUT_BAD_JSON, 400, detail);
    case CW_LEAD_NOT_OBJECT:
        return reject(cb, req, OUT_NOT_AN_OBJECT, 422, detail);
    default:
        return reject(cb, req, OUT_INVALID_FIELD, 422, detail);
    }

    /* 4. The idempotency key. */
    char id[CW_IDEM_ID_LEN + 1];
    h2o_iovec_t idem = HDR(req, "idempotency-key"), wid = STD_HDR(req, "id");
    cw_buf_t qkey = CW_BUF_INIT;
    int has_qkey = query_key(req, &qkey) == 0;
    cw_idem_sources_t sources = {cb->scheme, idem.base, idem.len, has_qkey ? qkey.base : NULL, has_qkey ? qkey.len : 0,
                                 wid.base,   wid.len};
    cw_idem_event_id(id, &cb->id_source, &sources, rx->fields, lead.original, body, body_len);
    if (cw_idem_ignored_key(&sources)) {
        /* Only signed data sets the id under a signature: an unsigned key would let a captured request be replayed. */
        cw_log_field_t f[] = {CW_LF_STR("scheme", cb->scheme), CW_LF_STR("id_source", cb->id_source)};
        cw_log(CW_LOG_DEBUG, cb->trace_len != 0 ? cb->trace : NULL, cb->trace_len, "unsigned idempotency key ignored", f,
               CW_ARRAY_SIZE(f));
    }
    cw_buf_free(&qkey);

    /* 5–7. Route, then the durable lifecycle and deliveries (content built only for a new event). */
    cb = cw_malloc(sizeof(*cb));
    *cb = stack_cb;
    cb->lead = lead;
    cb->route = cw_route_decide(&rx->route_cfg, &lead);
    cb->sinks = cw_route_sinks(&rx->route_cfg, cb->route, &lead, rx->configured_sinks);
    memcpy(cb->id, id, sizeof(cb->id));
    /* cJSON skips a UTF-8 byte-order mark; the record embeds the body as JSON, so drop it here too. */
    size_t bom = body_len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    cb->raw_body = cw_strndup(body + bom, body_len - bom);
    if (rx->cfg->log_pii && lead.email != NULL) {
        snprintf(cb->email, sizeof(cb->email), "%s", lead.email);
    }
    char received_at[40];
    int64_t received_ms = cw_wall_ms();
    cw_format_rfc3339(received_at, sizeof(received_at), received_ms);
    inflight_t *in = cw_malloc(sizeof(*in));
    *in = (inflight_t){rx, worker, body_len};
    cw_event_new_t ev = {.id = cb->id,
                         .received_at = received_at,
                         .received_ms = received_ms,
                         .build = build_content,
                         .build_data = cb,
                         .released = on_event_released,
                         .release_data = in};
    cw_async_begin(&cb->async, req);
    cw_worker_hold(worker);
    cw_event_op_t *op = cw_event_submit(&rx->engine, &worker->loop, &ev, on_event_done, cb);
    if (op != NULL && worker->index < MAX_WORKERS) { /* NULL: answered already, and |cb| is gone */
        rx_worker_t *rw = &rx->workers[worker->index];
        cb->op = op;
        h2o_linklist_insert(&rw->unanswered, &cb->link);
        if (rw->hurrying) {
            cw_event_hurry(op);
        }
    }
    return 0;
}

static void on_hurry_timer(cw_timer_t *timer)
{
    rx_worker_t *rw = timer->data;
    rw->hurrying = 1;
    /* An early answer unlinks its callback: step on before answering. */
    for (h2o_linklist_t *node = rw->unanswered.next, *next; node != &rw->unanswered; node = next) {
        next = node->next;
        callback_t *cb = H2O_STRUCT_FROM_MEMBER(callback_t, link, node);
        cw_event_hurry(cb->op);
    }
}

void cw_receiver_worker_stopping(cw_receiver_t *rx, cw_worker_t *worker)
{
    if (worker->index >= MAX_WORKERS) {
        return;
    }
    /* Callbacks finish normally while they can; those still delivering close to the deadline answer 202
     * (their pending/ marker written), so that none is cut off unanswered by the exit. */
    uint64_t t = rx->cfg->shutdown_timeout_ms, margin = t >= 4000 ? 2000 : t / 2;
    rx_worker_t *rw = &rx->workers[worker->index];
    rw->hurry_timer.data = rw;
    cw_timer_start(&worker->loop, &rw->hurry_timer, t - margin, on_hurry_timer);
}

void cw_receiver_worker_stopped(cw_receiver_t *rx, cw_worker_t *worker)
{
    if (worker->index < MAX_WORKERS) {
        cw_timer_stop(&rx->workers[worker->index].hurry_timer);
    }
}

cw_receiver_t *cw_receiver_new(const cw_config_t *cfg, cw_store_t *store, cw_http_t *http, char *err, size_t err_size)
{
    cw_receiver_t *rx = cw_calloc(1, sizeof(*rx));
    /* every series at zero from the first scrape, not from the first callback */
    pthread_once(&metrics_once, init_metrics);
    cw_event_init_metrics();
    rx->cfg = cfg;
    rx->engine = (cw_engine_t){cfg, store, http, 0};
    for (size_t i = 0; i != MAX_WORKERS; ++i) {
        h2o_linklist_init_anchor(&rx->workers[i].unanswered);
    }
    if (cfg->webhook_secrets != NULL) {
        unsigned schemes;
        if (cw_auth_parse_schemes(cfg->auth_schemes, &schemes) != 0) {
            snprintf(err, err_size, "AUTH_SCHEMES: must be a comma-separated list of static, hmac, standard, or all");
            goto Error;
        }
        char why[256];
        if ((rx->auth = cw_auth_new(cfg->webhook_secrets, schemes, cfg->signature_tolerance_s, why, sizeof(why))) == NULL) {
            snprintf(err, err_size, "CLAY_WEBHOOK_SECRET: %s", why);
            goto Error;
        }
    }
    rx->fields = cw_idem_fields_new(cfg->idempotency_fields);
    rx->route_cfg =
        (cw_route_config_t){(double)cfg->outreach_min_score, (double)cfg->nurture_min_score, (double)cfg->slack_min_score};
    for (unsigned s = 0; s != CW_SINK_COUNT; ++s) {
        if (cw_event_sink_url(cfg, cw_sink_name((cw_sink_t)s)) != NULL) {
            rx->configured_sinks |= CW_SINK_BIT(s);
        }
    }
    return rx;
Error:
    cw_receiver_free(rx);
    return NULL;
}

void cw_receiver_free(cw_receiver_t *rx)
{
    if (rx == NULL) {
        return;
    }
    cw_auth_free(rx->auth);
    cw_idem_fields_free(rx->fields);
    free(rx);
}

const cw_engine_t *cw_receiver_engine(const cw_receiver_t *rx)
{
    return &rx->engine;
}
