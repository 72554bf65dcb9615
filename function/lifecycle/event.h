/*
 * event.h: the event lifecycle on a conditional-write store (docs/design.md
 * §7), shared by the callback receiver and redrive.
 *
 *   events/<id>           create-only record: lead payloads, route, sinks,
 *                         received_at, lease_until, a random 128-bit claim. Its
 *                         create is the claim and the duplicate check at once;
 *                         an event with no sinks is complete when it exists
 *   pending/<id>          create-only marker: redrive must finish this event;
 *                         written beside the deliveries, always before a 2xx that
 *                         leaves work (202), deleted after done/
 *   leases/<id>/<n>       create-only take-over of an expired lease; lease n
 *                         lasts LEASE_S * 2^n (capped), which is also redrive's backoff
 *   sent/<id>/<sink>      create-only: the sink acknowledged the delivery; written
 *                         only when the event does not complete at once (202, a
 *                         slow sibling sink, redrive, done/ unwritable)
 *   failed/<id>/<sink>    create-only dead letter: the sink refused it for good
 *   done/<id>             every sink settled, with each sink's result; then
 *                         pending/<id> is deleted (after the answer)
 *
 * A new routed event costs two store round trips before its answer (the record;
 * done/, with pending/ written beside the deliveries), a new sinkless one one,
 * a duplicate at most two (the refused create; the record and done/ read together).
 *
 * Every write is create-only and every step is idempotent, so a crash at any
 * point leaves either nothing acknowledged or a pending marker that redrive
 * finishes, and a delivery is repeated only when a crash falls between the
 * sink's answer and its sent/ marker (sinks get Idempotency-Key: <id>:<sink>
 * to absorb exactly that).
 */
#ifndef CW_EVENT_H
#define CW_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include "cw/http.h"
#include "cw/loop.h"
#include "config.h"
#include "store.h"

#define CW_EVENT_MAX_SINKS 4

typedef struct st_cw_engine_t {
    const cw_config_t *cfg;  /* never NULL */
    cw_store_t *store;       /* never NULL */
    cw_http_t *http;         /* never NULL */
    int64_t clock_offset_ms; /* added to the wall clock; 0 except in tests that let leases run out */
} cw_engine_t;

typedef enum en_cw_event_kind_t {
    CW_EVENT_PROCESSED,         /* every sink settled (delivered or dead-lettered) */
    CW_EVENT_ACCEPTED,          /* durably recorded; some deliveries left to redrive */
    CW_EVENT_DUPLICATE,         /* done/<id> exists: processed before */
    CW_EVENT_IN_PROGRESS,       /* another owner's lease is running */
    CW_EVENT_STORE_UNAVAILABLE, /* nothing could be (or was) acknowledged */
    CW_EVENT_ABSENT,            /* resume only: no such event (a stale pending marker was cleared) */
    CW_EVENT_TOO_LARGE,         /* submit only: the record would exceed what the store reads back; nothing written */
} cw_event_kind_t;

typedef enum en_cw_sink_state_t {
    CW_SINK_PENDING,
    CW_SINK_DELIVERED,
    CW_SINK_FAILED,
} cw_sink_state_t;

/* cw_event_outcome_t is what a completion sees; valid only during the callback. */
typedef struct st_cw_event_outcome_t {
    cw_event_kind_t kind;
    const char *id;    /* never NULL */
    const char *route; /* NULL when unknown (duplicate, in progress, absent, store down) */
    size_t num_sinks;
    const char *sink_names[CW_EVENT_MAX_SINKS];
    cw_sink_state_t sink_states[CW_EVENT_MAX_SINKS];
    int resumed;        /* the sinks were resumed from an earlier attempt (take-over or ambiguous success) */
    const char *detail; /* never NULL; why, for logs */
} cw_event_outcome_t;

typedef void (*cw_event_cb)(const cw_event_outcome_t *outcome, void *data);
/* cw_event_release_fn runs once when the lifecycle has no more work for an event
 * (after its cw_event_cb, which may come earlier: clean-up follows the answer). */
typedef void (*cw_event_release_fn)(void *data);

/* cw_event_content_t is what an event records and delivers; the builder below
 * fills it (the strings are malloc'd and the engine takes them). */
typedef struct st_cw_event_content_t {
    const char *route; /* "outreach", "nurture", "skip"; static */
    size_t num_sinks;
    const char *sink_names[CW_EVENT_MAX_SINKS]; /* "outreach", "nurture", "zapier", "slack"; static */
    char *payload_json;  /* the sink body for webhooks and Zapier (lead + event_id, route, received_at); may be NULL when
                          * there are no sinks (nothing would ever deliver it) */
    char *slack_json;    /* Slack's message; NULL when Slack is not a sink */
    char *original_json; /* the object as received */
} cw_event_content_t;

/* cw_event_build_fn fills |out|; runs once, on the loop's thread, inside
 * cw_event_submit (the record is the first thing written). */
typedef void (*cw_event_build_fn)(void *build_data, const char *received_at, cw_event_content_t *out);

/* cw_event_new_t is a freshly received callback, ready to record. */
typedef struct st_cw_event_new_t {
    const char *id;          /* 64 hex digits */
    const char *received_at; /* RFC 3339 */
    int64_t received_ms;
    cw_event_build_fn build; /* never NULL */
    void *build_data;
    cw_event_release_fn released; /* may be NULL */
    void *release_data;
} cw_event_new_t;

/* cw_event_submit runs the lifecycle of a new callback: the content (ev->build),
 * the create-only record (a refused create means a duplicate, an event in
 * progress, or one to take over), the deliveries within DELIVERY_DEADLINE_MS
 * beside the pending marker, done/. |cb| runs once on |loop|'s thread with the
 * answer; ev->released runs after it, once clean-up is over. Copies |ev|. Returns a handle for
 * cw_event_hurry, valid until |cb| runs, or NULL when |cb| has already run. */
typedef struct st_cw_event_op_t cw_event_op_t;
cw_event_op_t *cw_event_submit(const cw_engine_t *engine, cw_loop_t *loop, const cw_event_new_t *ev, cw_event_cb cb, void *data);

/* cw_event_hurry asks a submitted event whose answer has not been given (|cb| has not run) to answer
 * as soon as what it promises is durable: while its deliveries still run, it records the settled ones
 * (sent/ or failed/), makes sure pending/<id> exists, and answers CW_EVENT_ACCEPTED; the deliveries go
 * on, and redrive finishes whatever the process does not. For a graceful stop that must answer before
 * its deadline. Loop thread; |op| is the value cw_event_submit returned, valid until |cb| runs. */
void cw_event_hurry(cw_event_op_t *op);

/* cw_event_resume finishes event |id| for redrive: clears stale markers, skips
 * events whose lease runs, takes over expired ones and delivers what is left.
 * |cb| runs once on |loop|'s thread. Copies |id|. */
void cw_event_resume(const cw_engine_t *engine, cw_loop_t *loop, const char *id, cw_event_cb cb, void *data);

/* cw_event_kind_name returns "processed", "accepted", "duplicate", "in_progress", "store_unavailable", "absent". */
const char *cw_event_kind_name(cw_event_kind_t kind);
/* cw_sink_state_name returns "pending", "delivered", "failed". */
const char *cw_sink_state_name(cw_sink_state_t state);

/* cw_event_init_metrics registers the event series (deliveries by sink and result,
 * lifecycles by outcome) so /metrics lists them at zero before any callback. Any thread; idempotent. */
void cw_event_init_metrics(void);

/* cw_event_sink_index returns 0..3 for "outreach", "nurture", "zapier", "slack", else -1. */
int cw_event_sink_index(const char *name);
/* cw_event_sink_url returns the configured URL of sink |name|, or NULL. */
const char *cw_event_sink_url(const cw_config_t *cfg, const char *name);

#endif
