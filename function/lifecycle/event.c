/*
 * event.c: the event lifecycle (see event.h for the object names and why each
 * step is safe to crash in). One event_op_t per callback or redrive of one
 * event walks these steps, each a store operation completing on the loop:
 *
 *   submit:  create record --ok--> own it (fresh)
 *                |exists
 *                v
 *            read record || read done/  (one round trip, two reads)
 *                claim ours -> own it (fresh: our create had landed)
 *                done/ or a sinkless record -> duplicate
 *                else: lease running -> pending marker, in progress; expired -> take over
 *   fresh:   no sinks -> processed (the record is the completion);
 *            else pending/<id> || deliveries (in parallel) -> done/<id> carrying the
 *            results -> answer -> delete pending/<id> (after the answer)
 *   resume:  read record (absent: clear a stale pending marker) -> read done/ ->
 *            lease running -> in progress; else take over with leases/<id>/<n+1>,
 *            read sent/ and failed/ markers, deliver the rest
 *   markers: failed/ (dead letters) always; sent/ only when the event will not
 *            complete inline (a 202), when a sink answered MARKER_GRACE_MS before the
 *            last one, or when done/ could not be written: a crash between a sink's
 *            answer and done/ repeats that delivery with the same Idempotency-Key.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cw/log.h"
#include "cw/metrics.h"
#include "cw/util.h"
#include "event.h"

#define NAME_MAX_LEN 600
/* A sink that answered this long before the last one has its sent/ marker written (a crash
 * then repeats only the slow sinks); faster events complete with done/ alone. */
#define MARKER_GRACE_MS 50

typedef enum en_pending_state_t {
    PENDING_NONE,    /* not written by this op (take-over: maybe written by the first owner) */
    PENDING_WRITING, /* create in flight */
    PENDING_OK,      /* exists */
    PENDING_FAILED,  /* could not be written */
} pending_state_t;

typedef struct st_cw_event_op_t event_op_t;

typedef struct st_sink_slot_t {
    event_op_t *op;
    size_t index;
    int status; /* last HTTP status seen, 0 for transport errors */
} sink_slot_t;

struct st_cw_event_op_t {
    const cw_engine_t *engine;
    cw_loop_t *loop;
    cw_event_cb cb;
    void *data;
    int resume;
    char id[65];
    char claim[33];
    char stored_claim[33]; /* the claim of the record found in the store */
    uint64_t started_ms;
    char *record_json;       /* what submit writes to events/<id> */
    cw_event_build_fn build; /* submit: fills the content once done/ is known absent */
    void *build_data;
    char received_at[40];
    int64_t received_ms;
    char *route;
    size_t num_sinks;
    char *sink_names[CW_EVENT_MAX_SINKS];
    cw_sink_state_t states[CW_EVENT_MAX_SINKS];
    sink_slot_t slots[CW_EVENT_MAX_SINKS];
    char *payload_json;
    char *slack_json;
    int resumed;
    unsigned lease_n;
    int64_t lease_until_ms;
    int64_t record_lease_until_ms;
    size_t outstanding;        /* marker reads of a take-over */
    size_t deliveries_running; /* sink requests in flight */
    size_t writes_running;     /* sent/ and failed/ marker writes in flight */
    int delivering;            /* inside deliver(): completions wait for it to return */
    int markers_unreadable;
    int marked[CW_EVENT_MAX_SINKS];    /* a sent/ or failed/ write was made for the sink */
    int attempted[CW_EVENT_MAX_SINKS]; /* this op delivered to the sink (counted in /metrics) */
    pending_state_t pending;
    int wait_pending; /* finish() waits for the pending create */
    int cleanup_wait; /* the answer is out; delete pending/ once its create completes */
    int done_failed;  /* done/ could not be written: fall back to markers */
    int hurry;        /* cw_event_hurry: answer as soon as what is promised is durable */
    int responded;
    cw_timer_t grace;
    size_t probes_running; /* submit after "exists": the record and done/ read together */
    cw_store_status_t probe_done, probe_record;
    int probe_record_ok;
    cw_event_release_fn released;
    void *release_data;
};

/* metrics: deliveries by sink and result */
static const char *const sink_names_all[] = {"outreach", "nurture", "zapier", "slack"};
static cw_counter_t *delivery_counters[4][3];
static cw_counter_t *event_counters[7];
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void init_metrics(void)
{
    static const char *const results[] = {"pending", "delivered", "failed"};
    char labels[128];
    for (size_t s = 0; s != 4; ++s) {
        for (size_t r = 0; r != 3; ++r) {
            snprintf(labels, sizeof(labels), "sink=\"%s\",result=\"%s\"", sink_names_all[s], results[r]);
            delivery_counters[s][r] = cw_metrics_counter("clay_deliveries_total",
                                                         "Sink deliveries by sink and result (pending: left to redrive)", labels);
        }
    }
    for (size_t k = 0; k != CW_ARRAY_SIZE(event_counters); ++k) {
        snprintf(labels, sizeof(labels), "outcome=\"%s\"", cw_event_kind_name((cw_event_kind_t)k));
        event_counters[k] =
            cw_metrics_counter("clay_event_lifecycles_total", "Event lifecycles run (callbacks and redrives) by outcome", labels);
    }
}

void cw_event_init_metrics(void)
{
    pthread_once(&metrics_once, init_metrics);
}

int cw_event_sink_index(const char *name)
{
    for (size_t s = 0; s != CW_ARRAY_SIZE(sink_names_all); ++s) {
        if (strcmp(name, sink_names_all[s]) == 0) {
            return (int)s;
        }
    }
    return -1;
}

static void count_delivery(const char *sink, cw_sink_state_t state)
{
    int s = cw_event_sink_index(sink);
    if (s >= 0) {
        cw_counter_inc(delivery_counters[s][state]);
    }
}

const char *cw_event_kind_name(cw_event_kind_t kind)
{
    switch (kind) {
    case CW_EVENT_PROCESSED:
        return "processed";
    case CW_EVENT_ACCEPTED:
        return "accepted";
    case CW_EVENT_DUPLICATE:
        return "duplicate";
    case CW_EVENT_IN_PROGRESS:
        return "in_progress";
    case CW_EVENT_STORE_UNAVAILABLE:
        return "store_unavailable";
    case CW_EVENT_ABSENT:
        return "absent";
    case CW_EVENT_TOO_LARGE:
        return "too_large";
    }
    return "unknown";
}

const char *cw_sink_state_name(cw_sink_state_t state)
{
    switch (state) {
    case CW_SINK_PENDING:
        return "pending";
    case CW_SINK_DELIVERED:
        return "delivered";
    case CW_SINK_FAILED:
        return "failed";
    }
    return "unknown";
}

const char *cw_event_sink_url(const cw_config_t *cfg, const char *name)
{
    if (strcmp(name, "outreach") == 0) {
        return cfg->outreach_url;
    }
    if (strcmp(name, "nurture") == 0) {
        return cfg->nurture_url;
    }
    if (strcmp(name, "zapier") == 0) {
        return cfg->zapier_url;
    }
    if (strcmp(name, "slack") == 0) {
        return cfg->slack_url;
    }
    return NULL;
}

static int64_t now_ms(const event_op_t *op)
{
    return cw_wall_ms() + op->engine->clock_offset_ms;
}

/* name_of writes "<prefix><kind>/<id>[/<suffix>]" into |out| (NAME_MAX_LEN bytes; cut to fit, then refused as a name). */
static void name_of(char *out, const event_op_t *op, const char *kind, const char *suffix)
{
    const char *parts[] = {op->engine->cfg->store_prefix, kind, "/", op->id, suffix != NULL ? "/" : "",
                           suffix != NULL ? suffix : ""};
    size_t n = 0;
    for (size_t i = 0; i != CW_ARRAY_SIZE(parts); ++i) {
        size_t len = strlen(parts[i]);
        if (len > NAME_MAX_LEN - 1 - n) {
            len = NAME_MAX_LEN - 1 - n;
        }
        memcpy(out + n, parts[i], len);
        n += len;
    }
    out[n] = '\0';
}

static void op_free(event_op_t *op)
{
    free(op->record_json);
    free(op->route);
    for (size_t i = 0; i != op->num_sinks; ++i) {
        free(op->sink_names[i]);
    }
    free(op->payload_json);
    free(op->slack_json);
    free(op);
}

/* respond hands the outcome to the caller, once; the op may still have clean-up to do. */
static void respond(event_op_t *op, cw_event_kind_t kind, const char *detail)
{
    if (op->responded) {
        return;
    }
    op->responded = 1;
    cw_event_outcome_t out = {.kind = kind, .id = op->id, .route = op->route, .resumed = op->resumed, .detail = detail};
    if (kind == CW_EVENT_PROCESSED || kind == CW_EVENT_ACCEPTED) {
        out.num_sinks = op->num_sinks;
        for (size_t i = 0; i != op->num_sinks; ++i) {
            out.sink_names[i] = op->sink_names[i];
            out.sink_states[i] = op->states[i];
            if (op->attempted[i]) {
                count_delivery(op->sink_names[i], op->states[i]);
            }
        }
    } else {
        out.route = NULL;
    }
    cw_counter_inc(event_counters[kind]);
    op->cb(&out, op->data);
}

/* end releases the op; no store operation, delivery or timer of it may be running. */
static void end(event_op_t *op)
{
    cw_event_release_fn released = op->released;
    void *release_data = op->release_data;
    op_free(op);
    if (released != NULL) {
        released(release_data);
    }
}

static void complete(event_op_t *op, cw_event_kind_t kind, const char *detail)
{
    respond(op, kind, detail);
    end(op);
}

static int64_t lease_ms(const event_op_t *op, unsigned n)
{
    uint64_t s = op->engine->cfg->lease_s;
    for (unsigned i = 0; i != n && s < op->engine->cfg->redrive_max_backoff_s; ++i) {
        s *= 2;
    }
    if (n != 0 && s > op->engine->cfg->redrive_max_backoff_s) {
        s = op->engine->cfg->redrive_max_backoff_s;
    }
    return (int64_t)s * 1000;
}

/* ---- own it: pending marker, deliveries, markers, done ---- */

static void finish(event_op_t *op);

static void maybe_finish(event_op_t *op)
{
    if (!op->delivering && op->deliveries_running == 0 && op->writes_running == 0) {
        finish(op);
    }
}

static void cleanup(event_op_t *op);
static void hurry_answer(event_op_t *op);

static void on_pending_created(const cw_store_result_t *res, void *data)
{
    event_op_t *op = data;
    op->pending = res->status == CW_STORE_OK || res->status == CW_STORE_EXISTS ? PENDING_OK : PENDING_FAILED;
    if (op->cleanup_wait) {
        cleanup(op);
    } else if (op->wait_pending) {
        op->wait_pending = 0;
        finish(op);
    } else if (op->hurry) {
        hurry_answer(op);
    }
}

/* write_pending creates pending/<id>: the marker redrive lists to finish this event. */
static void write_pending(event_op_t *op)
{
    char name[NAME_MAX_LEN], body[160];
    int n = snprintf(body, sizeof(body), "{\"id\":\"%s\",\"received_ms\":%lld}", op->id, (long long)now_ms(op));
    name_of(name, op, "pending", NULL);
    op->pending = PENDING_WRITING;
    cw_store_create(op->engine->store, op->loop, name, body, (size_t)n, on_pending_created, op);
}

static void on_marker_written(const cw_store_result_t *res, void *data)
{
    sink_slot_t *slot = data;
    event_op_t *op = slot->op;
    if (res->status != CW_STORE_OK && res->status != CW_STORE_EXISTS) {
        /* The sink has it but we could not record that: redrive will deliver again, and the sink's
         * Idempotency-Key lets it drop the repeat. */
        cw_log(CW_LOG_WARNING, NULL, 0, "delivery marker not recorded",
               (cw_log_field_t[]){CW_LF_STR("event_id", op->id), CW_LF_STR("sink", op->sink_names[slot->index]),
                                  CW_LF_STR("store", cw_store_status_name(res->status)), CW_LF_STR("detail", res->detail)},
               4);
        op->states[slot->index] = CW_SINK_PENDING;
    }
    --op->writes_running;
    if (op->hurry) {
        hurry_answer(op); /* never ends the op: its deliveries still run */
    }
    maybe_finish(op);
}

static void write_marker(event_op_t *op, size_t i, const char *reason)
{
    char name[NAME_MAX_LEN], body[256], at[40];
    cw_format_rfc3339(at, sizeof(at), now_ms(op));
    op->marked[i] = 1;
    ++op->writes_running;
    name_of(name, op, op->states[i] == CW_SINK_DELIVERED ? "sent" : "failed", op->sink_names[i]);
    int n = snprintf(body, sizeof(body), "{\"status\":%d,\"at\":\"%s\",\"reason\":\"%s\"}", op->slots[i].status, at, reason);
    cw_store_create(op->engine->store, op->loop, name, body, (size_t)n, on_marker_written, &op->slots[i]);
}

/* mark_delivered writes the sent/ marker of every delivered sink that has none yet. Returns how many. */
static size_t mark_delivered(event_op_t *op)
{
    size_t n = 0;
    for (size_t i = 0; i != op->num_sinks; ++i) {
        if (op->states[i] == CW_SINK_DELIVERED && !op->marked[i]) {
            write_marker(op, i, "delivered");
            ++n;
        }
    }
    return n;
}

static void on_grace_over(cw_timer_t *timer)
{
    event_op_t *op = timer->data;
    /* Some sink is still slow: record the ones that answered, so a crash now repeats only the slow ones. */
    mark_delivered(op);
}

static int is_permanent_refusal(int status)
{
    return status >= 400 && status < 500 && status != 408 && status != 429;
}

static void on_delivered(const cw_http_response_t *res, void *data)
{
    sink_slot_t *slot = data;
    event_op_t *op = slot->op;
    const char *sink = op->sink_names[slot->index];
    slot->status = res->status;
    --op->deliveries_running;
    if (res->error == CW_HTTP_OK && res->status >= 200 && res->status < 300) {
        op->states[slot->index] = CW_SINK_DELIVERED;
        if (op->resumed || op->hurry) {
            write_marker(op, slot->index, "delivered"); /* redrive, or answered early: record each answer */
        } else if (op->deliveries_running != 0 && !cw_timer_is_running(&op->grace)) {
            op->grace.data = op;
            cw_timer_start(op->loop, &op->grace, MARKER_GRACE_MS, on_grace_over);
        }
    } else if (res->error == CW_HTTP_OK && is_permanent_refusal(res->status)) {
        cw_log(CW_LOG_WARNING, NULL, 0, "sink refused the delivery: dead letter",
               (cw_log_field_t[]){CW_LF_STR("event_id", op->id), CW_LF_STR("sink", sink), CW_LF_INT("status", res->status)}, 3);
        op->states[slot->index] = CW_SINK_FAILED;
        write_marker(op, slot->index, "refused"); /* dead letters are listed from failed/ */
    } else {
        cw_log(CW_LOG_WARNING, NULL, 0, "delivery not done within the deadline: left to redrive",
               (cw_log_field_t[]){CW_LF_STR("event_id", op->id), CW_LF_STR("sink", sink), CW_LF_INT("status", res->status),
                                  CW_LF_STR("error", res->error_text), CW_LF_INT("attempts", res->attempts)},
               5);
        op->states[slot->index] = CW_SINK_PENDING;
    }
    maybe_finish(op);
}

static void deliver(event_op_t *op)
{
    const cw_config_t *cfg = op->engine->cfg;
    uint64_t elapsed = cw_now_ms() - op->started_ms;
    uint64_t budget = cfg->delivery_deadline_ms > elapsed ? cfg->delivery_deadline_ms - elapsed : 0;
    op->delivering = 1;
    for (size_t i = 0; i != op->num_sinks; ++i) {
        if (op->states[i] != CW_SINK_PENDING) {
            continue;
        }
        op->attempted[i] = 1;
        const char *url = cw_event_sink_url(cfg, op->sink_names[i]);
        if (url == NULL) {
            /* The sink was configured when the event arrived and is not now: a dead letter, visible in --list-failed. */
            op->slots[i].status = 0;
            op->states[i] = CW_SINK_FAILED;
            write_marker(op, i, "sink no longer configured");
            continue;
        }
        const char *body = strcmp(op->sink_names[i], "slack") == 0 && op->slack_json != NULL ? op->slack_json : op->payload_json;
        char idem[128];
        snprintf(idem, sizeof(idem), "Idempotency-Key: %s:%s", op->id, op->sink_names[i]);
        const char *headers[] = {"Content-Type: application/json", idem, "User-Agent: clay-webhooks/0.1"};
        cw_http_request_t req = {
            .method = "POST",
            .url = url,
            .headers = headers,
            .num_headers = CW_ARRAY_SIZE(headers),
            .body = body,
            .body_len = strlen(body),
            .timeout_ms = cfg->sink_timeout_ms,
            .max_response_bytes = 64 * 1024,
            .max_attempts = budget != 0 ? 10 : 1,
            .deadline_ms = budget,
            .backoff_base_ms = 100,
            .backoff_max_ms = 2000,
        };
        ++op->deliveries_running;
        cw_http_submit(op->engine->http, op->loop, &req, on_delivered, &op->slots[i]);
    }
    op->delivering = 0;
    maybe_finish(op);
}

static void on_cleanup_deleted(const cw_store_result_t *res, void *data)
{
    end(data);
}

/* cleanup runs after the answer of a completed event: the pending marker is now noise. */
static void cleanup(event_op_t *op)
{
    op->cleanup_wait = 0;
    if (op->pending == PENDING_WRITING) {
        op->cleanup_wait = 1;
        return;
    }
    if (op->pending == PENDING_OK || (op->pending == PENDING_NONE && op->resumed)) {
        char name[NAME_MAX_LEN];
        name_of(name, op, "pending", NULL);
        cw_store_delete(op->engine->store, op->loop, name, on_cleanup_deleted, op);
        return;
    }
    end(op);
}

static void on_pending_deleted(const cw_store_result_t *res, void *data)
{
    complete(data, CW_EVENT_PROCESSED, "processed");
}

static void on_done_written(const cw_store_result_t *res, void *data)
{
    event_op_t *op = data;
    if (res->status != CW_STORE_OK && res->status != CW_STORE_EXISTS) {
        /* Record the deliveries one by one instead, so redrive (which finds the pending marker) does not
         * repeat them; it writes done/ later. */
        op->done_failed = 1;
        finish(op);
        return;
    }
    if (op->resume) {
        /* Redrive: clear the marker, then report (the run's loop may end with its last report). */
        char name[NAME_MAX_LEN];
        name_of(name, op, "pending", NULL);
        cw_store_delete(op->engine->store, op->loop, name, on_pending_deleted, op);
        return;
    }
    respond(op, CW_EVENT_PROCESSED, "processed");
    cleanup(op);
}

static void finish(event_op_t *op)
{
    cw_timer_stop(&op->grace);
    int any_pending = 0;
    for (size_t i = 0; i != op->num_sinks; ++i) {
        any_pending |= op->states[i] == CW_SINK_PENDING;
    }
    if (any_pending || op->done_failed) {
        /* Work is left (or done/ is missing): what was delivered must be on record, and the pending marker
         * must exist before the answer, so that redrive finishes exactly the rest. */
        if (mark_delivered(op) != 0) {
            return; /* maybe_finish comes back here */
        }
        switch (op->pending) {
        case PENDING_NONE:
            if (!op->resume) {
                op->wait_pending = 1;
                write_pending(op);
                return;
            }
            break;
        case PENDING_WRITING:
            op->wait_pending = 1;
            return;
        case PENDING_FAILED:
            complete(op, CW_EVENT_STORE_UNAVAILABLE, "pending marker not recorded");
            return;
        case PENDING_OK:
            break;
        }
        any_pending = 0;
        for (size_t i = 0; i != op->num_sinks; ++i) {
            any_pending |= op->states[i] == CW_SINK_PENDING;
        }
        complete(op, any_pending ? CW_EVENT_ACCEPTED : CW_EVENT_PROCESSED,
                 any_pending ? "deliveries pending" : "processed; done marker left to redrive");
        return;
    }
    cw_buf_t b = CW_BUF_INIT;
    char at[40];
    cw_format_rfc3339(at, sizeof(at), now_ms(op));
    cw_buf_appendf(&b, "{\"id\":\"%s\",\"at\":\"%s\",\"deliveries\":{", op->id, at);
    for (size_t i = 0; i != op->num_sinks; ++i) {
        cw_buf_appendf(&b, "%s\"%s\":\"%s\"", i == 0 ? "" : ",", op->sink_names[i], cw_sink_state_name(op->states[i]));
    }
    cw_buf_appends(&b, "}}");
    char name[NAME_MAX_LEN];
    name_of(name, op, "done", NULL);
    cw_store_create(op->engine->store, op->loop, name, b.base, b.len, on_done_written, op);
    cw_buf_free(&b);
}

/* hurry_answer gives the early answer of cw_event_hurry once the settled sinks are on record and the pending
 * marker exists. Only while deliveries run: otherwise the normal path is already answering. */
static void hurry_answer(event_op_t *op)
{
    if (op->responded || op->deliveries_running == 0 || op->delivering) {
        return;
    }
    if (mark_delivered(op) != 0 || op->writes_running != 0) {
        return; /* on_marker_written comes back */
    }
    switch (op->pending) {
    case PENDING_NONE:
        write_pending(op); /* on_pending_created comes back */
        return;
    case PENDING_WRITING:
        return;
    case PENDING_FAILED:
        respond(op, CW_EVENT_STORE_UNAVAILABLE, "stopping, and the pending marker could not be written");
        return;
    case PENDING_OK:
        respond(op, CW_EVENT_ACCEPTED, "answered early: the instance is stopping; redrive finishes the deliveries");
        return;
    }
}

void cw_event_hurry(cw_event_op_t *op)
{
    if (op->responded || op->resume || op->hurry) {
        return;
    }
    op->hurry = 1;
    hurry_answer(op);
}

/* own_fresh delivers an event this op has just recorded. */
static void own_fresh(event_op_t *op)
{
    if (op->num_sinks == 0) {
        /* Nothing to deliver: the record says so, and is the completion. */
        complete(op, CW_EVENT_PROCESSED, "processed");
        return;
    }
    /* The marker goes out beside the deliveries, not before them: until a 2xx nothing is acknowledged,
     * and no 2xx leaves work without it (finish() waits for it). */
    write_pending(op);
    deliver(op);
}

/* ---- resumed ownership: read the sent/ and failed/ markers first ---- */

static void marker_read_done(event_op_t *op)
{
    if (--op->outstanding != 0) {
        return;
    }
    if (op->markers_unreadable) {
        complete(op, CW_EVENT_STORE_UNAVAILABLE, "could not read delivery markers");
        return;
    }
    deliver(op);
}

static void on_failed_marker_read(const cw_store_result_t *res, void *data)
{
    sink_slot_t *slot = data;
    if (res->status == CW_STORE_OK) {
        slot->op->states[slot->index] = CW_SINK_FAILED;
        slot->op->marked[slot->index] = 1;
    } else if (res->status != CW_STORE_NOT_FOUND) {
        slot->op->markers_unreadable = 1;
    }
    marker_read_done(slot->op);
}

static void on_sent_marker_read(const cw_store_result_t *res, void *data)
{
    sink_slot_t *slot = data;
    event_op_t *op = slot->op;
    if (res->status == CW_STORE_OK) {
        op->states[slot->index] = CW_SINK_DELIVERED;
        op->marked[slot->index] = 1;
        marker_read_done(op);
        return;
    }
    if (res->status != CW_STORE_NOT_FOUND) {
        op->markers_unreadable = 1;
        marker_read_done(op);
        return;
    }
    char name[NAME_MAX_LEN];
    name_of(name, op, "failed", op->sink_names[slot->index]);
    cw_store_get(op->engine->store, op->loop, name, on_failed_marker_read, slot);
}

static void own_resumed(event_op_t *op)
{
    op->resumed = 1;
    if (op->num_sinks == 0) {
        finish(op);
        return;
    }
    op->outstanding = op->num_sinks;
    for (size_t i = 0; i != op->num_sinks; ++i) {
        char name[NAME_MAX_LEN];
        name_of(name, op, "sent", op->sink_names[i]);
        cw_store_get(op->engine->store, op->loop, name, on_sent_marker_read, &op->slots[i]);
    }
}

/* ---- inspecting an existing record ---- */

/* parse_head parses a record without the body as received, which build_record writes last after
 * ',"original":' and which no step after the create reads: on a duplicate or a resume it is most of the
 * parse. The cut is checked by the parse itself: the marker can appear earlier only as a member of a nested
 * object (a string holds its quotes escaped), where cutting leaves braces unclosed and the parse fails.
 * Returns the tree, or NULL (the caller then parses the whole record). */
static cJSON *parse_head(const char *data, size_t len)
{
    static const char marker[] = ",\"original\":";
    const char *cut = len >= sizeof(marker) ? memmem(data, len, marker, sizeof(marker) - 1) : NULL;
    if (cut == NULL) {
        return NULL;
    }
    size_t head_len = (size_t)(cut - data);
    char *head = cw_malloc(head_len + 2);
    memcpy(head, data, head_len);
    head[head_len] = '}';
    head[head_len + 1] = '\0';
    cJSON *root = cJSON_ParseWithLength(head, head_len + 1);
    free(head);
    return root;
}

/* read_record takes what the event needs from the parsed record |root|. Returns 1, or 0 when it lacks any. */
static int read_record(event_op_t *op, const cJSON *root)
{
    const cJSON *claim = cJSON_GetObjectItemCaseSensitive(root, "claim");
    const cJSON *lease = cJSON_GetObjectItemCaseSensitive(root, "lease_until_ms");
    const cJSON *route = cJSON_GetObjectItemCaseSensitive(root, "route");
    const cJSON *sinks = cJSON_GetObjectItemCaseSensitive(root, "sinks");
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(root, "payload");
    const cJSON *slack = cJSON_GetObjectItemCaseSensitive(root, "slack");
    /* A record without sinks needs no payload (none is written for one): nothing delivers it. */
    if (!cJSON_IsString(claim) || !cJSON_IsNumber(lease) || !cJSON_IsString(route) || !cJSON_IsArray(sinks) ||
        (!cJSON_IsObject(payload) && cJSON_GetArraySize(sinks) != 0) || cJSON_GetArraySize(sinks) > CW_EVENT_MAX_SINKS) {
        return 0;
    }
    op->record_lease_until_ms = (int64_t)lease->valuedouble;
    snprintf(op->stored_claim, sizeof(op->stored_claim), "%s", claim->valuestring);
    /* The stored record is authoritative: a later callback with the same key may carry another body. */
    free(op->route);
    op->route = cw_strdup(route->valuestring);
    for (size_t i = 0; i != op->num_sinks; ++i) {
        free(op->sink_names[i]);
    }
    op->num_sinks = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, sinks)
    {
        if (!cJSON_IsString(s) || cw_event_sink_index(s->valuestring) < 0) {
            return 0;
        }
        op->sink_names[op->num_sinks] = cw_strdup(s->valuestring);
        op->slots[op->num_sinks] = (sink_slot_t){op, op->num_sinks, 0};
        op->states[op->num_sinks] = CW_SINK_PENDING;
        ++op->num_sinks;
    }
    free(op->payload_json);
    op->payload_json = cJSON_IsObject(payload) ? cJSON_PrintUnformatted(payload) : NULL;
    free(op->slack_json);
    op->slack_json = cJSON_IsObject(slack) ? cJSON_PrintUnformatted(slack) : NULL;
    return 1;
}

/* parse_record reads the stored record |data|: its head alone when that holds everything (a record written
 * otherwise, by another version, is read whole). Returns 1, or 0 for a record that cannot be read. */
static int parse_record(event_op_t *op, const char *data, size_t len)
{
    cJSON *root = parse_head(data, len);
    int ok = root != NULL && read_record(op, root);
    cJSON_Delete(root);
    if (!ok && (root = cJSON_ParseWithLength(data, len)) != NULL) {
        ok = read_record(op, root);
        cJSON_Delete(root);
    }
    return ok;
}

static void on_lease_created(const cw_store_result_t *res, void *data);

static void take_over(event_op_t *op)
{
    unsigned n = op->lease_n + 1;
    char name[NAME_MAX_LEN], suffix[16], body[160];
    snprintf(suffix, sizeof(suffix), "%u", n);
    name_of(name, op, "leases", suffix);
    op->lease_n = n;
    op->lease_until_ms = now_ms(op) + lease_ms(op, n);
    int len = snprintf(body, sizeof(body), "{\"claim\":\"%s\",\"lease_until_ms\":%lld,\"n\":%u}", op->claim,
                       (long long)op->lease_until_ms, n);
    cw_store_create(op->engine->store, op->loop, name, body, (size_t)len, on_lease_created, op);
}

static void on_lease_reread(const cw_store_result_t *res, void *data)
{
    event_op_t *op = data;
    if (res->status != CW_STORE_OK) {
        complete(op, res->status == CW_STORE_NOT_FOUND ? CW_EVENT_IN_PROGRESS : CW_EVENT_STORE_UNAVAILABLE, "lease unreadable");
        return;
    }
    cJSON *root = cJSON_ParseWithLength(res->data, res->data_len);
    const cJSON *claim = cJSON_GetObjectItemCaseSensitive(root, "claim");
    int ours = cJSON_IsString(claim) && strcmp(claim->valuestring, op->claim) == 0;
    cJSON_Delete(root);
    if (ours) {
        own_resumed(op); /* our create succeeded although we were told otherwise */
    } else {
        complete(op, CW_EVENT_IN_PROGRESS, "another instance took the lease first");
    }
}

static void on_lease_created(const cw_store_result_t *res, void *data)
{
    event_op_t *op = data;
    if (res->status == CW_STORE_OK) {
        own_resumed(op);
    } else if (res->status == CW_STORE_EXISTS) {
        char name[NAME_MAX_LEN], suffix[16];
        snprintf(suffix, sizeof(suffix), "%u", op->lease_n);
        name_of(name, op, "leases", suffix);
        cw_store_get(op->engine->store, op->loop, name, on_lease_reread, op);
    } else {
        complete(op, CW_EVENT_STORE_UNAVAILABLE, res->detail);
    }
}

static void on_in_progress_marked(const cw_store_result_t *res, void *data)
{
    event_op_t *op = data;
    if (res->status != CW_STORE_OK && res->status != CW_STORE_EXISTS) {
        complete(op, CW_EVENT_STORE_UNAVAILABLE, res->detail);
        return;
    }
    complete(op, CW_EVENT_IN_PROGRESS, "lease running");
}

static void decide_lease(event_op_t *op)
{
    int64_t now = now_ms(op);
    int64_t until = op->lease_n != 0 ? op->lease_until_ms : op->record_lease_until_ms;
    if (now >= until) {
        take_over(op);
        return;
    }
    if (op->resume) {
        complete(op, CW_EVENT_IN_PROGRESS, "lease running");
        return;
    }
    /* A 2xx for an unfinished event needs its pending marker: the owner writes it beside its
     * deliveries, but may have died before it landed. Create-only, so this costs nothing twice. */
    char name[NAME_MAX_LEN], body[160];
    int n = snprintf(body, sizeof(body), "{\"id\":\"%s\",\"received_ms\":%lld}", op->id,
                     (long long)op->record_lease_until_ms - lease_ms(op, 0));
    name_of(name, op, "pending", NULL);
    cw_store_create(op->engine->store, op->loop, name, body, (size_t)n, on_in_progress_marked, op);
}

static void on_latest_lease_read(const cw_store_result_t *res, void *data)
{
    event_op_t *op = data;
    if (res->status != CW_STORE_OK) {
        complete(op, CW_EVENT_STORE_UNAVAILABLE, res->detail);
        return;
    }
    cJSON *root = cJSON_ParseWithLength(res->data, res->data_len);
    const cJSON *lease = cJSON_GetObjectItemCaseSensitive(root, "lease_until_ms");
    op->lease_until_ms = cJSON_IsNumber(lease) ? (int64_t)lease->valuedouble : 0;
    cJSON_Delete(root);
    decide_lease(op);
}

static void list_leases(event_op_t *op);

static void on_leases_listed(const cw_store_result_t *res, void *data)
{
    event_op_t *op = data;
    if (res->status != CW_STORE_OK) {
        complete(op, CW_EVENT_STORE_UNAVAILABLE, res->detail);
        return;
    }
    unsigned max_n = 0;
    for (size_t i = 0; i != res->num_names; ++i) {
        const char *slash = strrchr(res->names[i], '/');
        uint64_t n;
        if (slash != NULL && cw_parse_u64(slash + 1, strlen(slash + 1), 1, 1000000, &n) == 0 && n > max_n) {
            max_n = (unsigned)n;
        }
    }
    op->lease_n = max_n;
    if (max_n == 0) {
        decide_lease(op);
        return;
    }
    char name[NAME_MAX_LEN], suffix[16];
    snprintf(suffix, sizeof(suffix), "%u", max_n);
    name_of(name, op, "leases", suffix);
    cw_store_get(op->engine->store, op->loop, name, on_latest_lease_read, op);
}

static void on_pending_cleared_after_done(const cw_store_result_t *res, void *data)
{
    complete(data, CW_EVENT_DUPLICATE, "already processed");
}

static void on_done_checked_inspect(const cw_store_result_t *res, void *data)
{
    event_op_t *op = data;
    char name[NAME_MAX_LEN];
    if (res->status == CW_STORE_OK) {
        if (op->resume) {
            /* Redrive found a finished event whose pending marker outlived it. */
            name_of(name, op, "pending", NULL);
            cw_store_delete(op->engine->store, op->loop, name, on_pending_cleared_after_done, op);
        } else {
            complete(op, CW_EVENT_DUPLICATE, "already processed");
        }
        return;
    }
    if (res->status != CW_STORE_NOT_FOUND) {
        complete(op, CW_EVENT_STORE_UNAVAILABLE, res->detail);
        return;
    }
    list_leases(op);
}

static void inspect(event_op_t *op)
{
    char name[NAME_MAX_LEN];
    name_of(name, op, "done", NULL);
    cw_store_get(op->engine->store, op->loop, name, on_done_checked_inspect, op);
}

/* list_leases finds the latest take-over of an event that is not done. */
static void list_leases(event_op_t *op)
{
    char name[NAME_MAX_LEN];
    snprintf(name, sizeof(name), "%sleases/%s/", op->engine->cfg->store_prefix, op->id);
    cw_store_list(op->engine->store, op->loop, name, 100000, on_leases_listed, op);
}

/* ---- submit after "exists": the record and done/ in one round trip ---- */

static void probe_joined(event_op_t *op)
{
    if (op->probe_record == CW_STORE_OK && op->probe_record_ok && strcmp(op->stored_claim, op->claim) == 0) {
        /* Our create reported "exists" after it had in fact succeeded (a retried write): the event is ours. */
        own_fresh(op);
        return;
    }
    if (op->probe_done == CW_STORE_OK) {
        complete(op, CW_EVENT_DUPLICATE, "already processed");
        return;
    }
    if (op->probe_done != CW_STORE_NOT_FOUND) {
        complete(op, CW_EVENT_STORE_UNAVAILABLE, "could not read the done marker");
        return;
    }
    if (op->probe_record != CW_STORE_OK) {
        complete(op, CW_EVENT_STORE_UNAVAILABLE, op->probe_record == CW_STORE_NOT_FOUND ? "record vanished" : "record unreadable");
        return;
    }
    if (!op->probe_record_ok) {
        cw_log(CW_LOG_ERROR, NULL, 0, "unreadable event record", (cw_log_field_t[]){CW_LF_STR("event_id", op->id)}, 1);
        complete(op, CW_EVENT_STORE_UNAVAILABLE, "unreadable event record");
        return;
    }
    if (op->num_sinks == 0) {
        complete(op, CW_EVENT_DUPLICATE, "already processed (nothing to deliver)");
        return;
    }
    list_leases(op);
}

static void on_probe_record(const cw_store_result_t *res, void *data)
{
    event_op_t *op = data;
    op->probe_record = res->status;
    op->probe_record_ok = res->status == CW_STORE_OK && parse_record(op, res->data, res->data_len);
    if (--op->probes_running == 0) {
        probe_joined(op);
    }
}

static void on_probe_done(const cw_store_result_t *res, void *data)
{
    event_op_t *op = data;
    op->probe_done = res->status;
    if (--op->probes_running == 0) {
        probe_joined(op);
    }
}

static void on_record_created(const cw_store_result_t *res, void *data)
{
    event_op_t *op = data;
    char name[NAME_MAX_LEN];
    if (res->status == CW_STORE_OK) {
        own_fresh(op);
        return;
    }
    if (res->status != CW_STORE_EXISTS) {
        complete(op, CW_EVENT_STORE_UNAVAILABLE, res->detail);
        return;
    }
    op->probes_running = 2;
    name_of(name, op, "events", NULL);
    cw_store_get(op->engine->store, op->loop, name, on_probe_record, op);
    name_of(name, op, "done", NULL);
    cw_store_get(op->engine->store, op->loop, name, on_probe_done, op);
}

/* ---- submit ---- */

/* build_record asks the builder for the content and renders the events/<id> record. */
static void build_record(event_op_t *op)
{
    cw_event_content_t c = {0};
    op->build(op->build_data, op->received_at, &c);
    op->route = cw_strdup(c.route);
    op->num_sinks = c.num_sinks;
    for (size_t i = 0; i != c.num_sinks; ++i) {
        op->sink_names[i] = cw_strdup(c.sink_names[i]);
        op->slots[i] = (sink_slot_t){op, i, 0};
        op->states[i] = CW_SINK_PENDING;
    }
    op->payload_json = c.payload_json;
    op->slack_json = c.slack_json;

    cw_buf_t b = CW_BUF_INIT;
    cw_buf_reserve(&b, 256 + (c.payload_json != NULL ? strlen(c.payload_json) : 0) +
                           (c.slack_json != NULL ? strlen(c.slack_json) : 0) + strlen(c.original_json));
    /* appended piece by piece: no printf on the path of every new event */
    cw_buf_appends(&b, "{\"v\":1,\"id\":\"");
    cw_buf_appends(&b, op->id);
    cw_buf_appends(&b, "\",\"claim\":\"");
    cw_buf_appends(&b, op->claim);
    cw_buf_appends(&b, "\",\"received_at\":\"");
    cw_buf_appends(&b, op->received_at);
    cw_buf_appends(&b, "\",\"received_ms\":");
    cw_buf_append_i64(&b, op->received_ms);
    cw_buf_appends(&b, ",\"lease_until_ms\":");
    cw_buf_append_i64(&b, op->record_lease_until_ms);
    cw_buf_appends(&b, ",\"route\":\"");
    cw_buf_appends(&b, c.route);
    cw_buf_appends(&b, "\",\"sinks\":[");
    for (size_t i = 0; i != c.num_sinks; ++i) {
        if (i != 0) {
            cw_buf_append(&b, ",", 1);
        }
        cw_buf_append(&b, "\"", 1);
        cw_buf_appends(&b, c.sink_names[i]);
        cw_buf_append(&b, "\"", 1);
    }
    cw_buf_appends(&b, "]");
    if (c.payload_json != NULL) {
        cw_buf_appends(&b, ",\"payload\":");
        cw_buf_appends(&b, c.payload_json);
    }
    if (c.slack_json != NULL) {
        cw_buf_appends(&b, ",\"slack\":");
        cw_buf_appends(&b, c.slack_json);
    }
    cw_buf_appends(&b, ",\"original\":");
    cw_buf_appends(&b, c.original_json);
    cw_buf_appends(&b, "}");
    op->record_json = cw_buf_release(&b, NULL);
    free(c.original_json);
}

static event_op_t *op_new(const cw_engine_t *engine, cw_loop_t *loop, const char *id, cw_event_cb cb, void *data)
{
    pthread_once(&metrics_once, init_metrics);
    event_op_t *op = cw_calloc(1, sizeof(*op));
    op->engine = engine;
    op->loop = loop;
    op->cb = cb;
    op->data = data;
    op->started_ms = cw_now_ms();
    size_t id_len = strnlen(id, sizeof(op->id) - 1);
    memcpy(op->id, id, id_len);
    op->id[id_len] = '\0';
    uint8_t claim[16];
    cw_random_bytes(claim, sizeof(claim));
    cw_hex_encode(op->claim, claim, sizeof(claim));
    return op;
}

cw_event_op_t *cw_event_submit(const cw_engine_t *engine, cw_loop_t *loop, const cw_event_new_t *ev, cw_event_cb cb, void *data)
{
    event_op_t *op = op_new(engine, loop, ev->id, cb, data);
    op->build = ev->build;
    op->build_data = ev->build_data;
    size_t at_len = strnlen(ev->received_at, sizeof(op->received_at) - 1);
    memcpy(op->received_at, ev->received_at, at_len);
    op->received_at[at_len] = '\0';
    op->received_ms = ev->received_ms;
    op->record_lease_until_ms = ev->received_ms + lease_ms(op, 0);
    op->released = ev->released;
    op->release_data = ev->release_data;
    /* The content is built before the store is asked anything: the create of the record is at once the
     * claim and the duplicate check (one round trip for a new event instead of a read first). */
    build_record(op);
    if (strlen(op->record_json) > cw_store_max_object_bytes(engine->store)) {
        /* Written, it could never be read back (duplicate checks, redrive): refused before anything is stored. */
        complete(op, CW_EVENT_TOO_LARGE, "the event record would exceed the store's object limit");
        return NULL;
    }

    char name[NAME_MAX_LEN];
    name_of(name, op, "events", NULL);
    cw_store_create(engine->store, loop, name, op->record_json, strlen(op->record_json), on_record_created, op);
    free(op->record_json); /* the store copied it; held until the event ends it would double its memory */
    op->record_json = NULL;
    return op; /* store operations complete on the loop, never inside the call: still unanswered */
}

/* ---- resume ---- */

static void on_stale_pending_deleted(const cw_store_result_t *res, void *data)
{
    complete(data, CW_EVENT_ABSENT, "stale pending marker cleared");
}

static void on_orphan_pending_read(const cw_store_result_t *res, void *data)
{
    event_op_t *op = data;
    if (res->status == CW_STORE_NOT_FOUND) {
        complete(op, CW_EVENT_ABSENT, "no such event");
        return;
    }
    if (res->status != CW_STORE_OK) {
        complete(op, CW_EVENT_STORE_UNAVAILABLE, res->detail);
        return;
    }
    cJSON *root = cJSON_ParseWithLength(res->data, res->data_len);
    const cJSON *received = cJSON_GetObjectItemCaseSensitive(root, "received_ms");
    int64_t received_ms = cJSON_IsNumber(received) ? (int64_t)received->valuedouble : 0;
    cJSON_Delete(root);
    if (now_ms(op) - received_ms < lease_ms(op, 0)) {
        /* A request may be between its pending marker and its record right now. */
        complete(op, CW_EVENT_IN_PROGRESS, "marker younger than a lease");
        return;
    }
    char name[NAME_MAX_LEN];
    name_of(name, op, "pending", NULL);
    cw_store_delete(op->engine->store, op->loop, name, on_stale_pending_deleted, op);
}

static void on_resume_record_read(const cw_store_result_t *res, void *data)
{
    event_op_t *op = data;
    char name[NAME_MAX_LEN];
    if (res->status == CW_STORE_NOT_FOUND) {
        /* The crash fell between pending/ and events/: nothing was acknowledged; clear the marker once it is old. */
        name_of(name, op, "pending", NULL);
        cw_store_get(op->engine->store, op->loop, name, on_orphan_pending_read, op);
        return;
    }
    if (res->status != CW_STORE_OK) {
        complete(op, CW_EVENT_STORE_UNAVAILABLE, res->detail);
        return;
    }
    if (!parse_record(op, res->data, res->data_len)) {
        complete(op, CW_EVENT_STORE_UNAVAILABLE, "unreadable event record");
        return;
    }
    if (op->num_sinks == 0) {
        /* Nothing to deliver: the record was the completion; the marker is stale. */
        name_of(name, op, "pending", NULL);
        cw_store_delete(op->engine->store, op->loop, name, on_pending_cleared_after_done, op);
        return;
    }
    inspect(op);
}

void cw_event_resume(const cw_engine_t *engine, cw_loop_t *loop, const char *id, cw_event_cb cb, void *data)
{
    event_op_t *op = op_new(engine, loop, id, cb, data);
    op->resume = 1;
    op->pending = PENDING_OK; /* redrive found it */
    char name[NAME_MAX_LEN];
    name_of(name, op, "events", NULL);
    cw_store_get(engine->store, loop, name, on_resume_record_read, op);
}
