/*
 * fire_report.h: what `clay-harness fire` counted, and its two renderings
 * (a human summary and one JSON object). Kept apart from the sending so the
 * output format is tested without a network.
 */
#ifndef CW_HARNESS_FIRE_REPORT_H
#define CW_HARNESS_FIRE_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "gen.h"

#define CW_FIRE_MAX_STATUS 600
#define CW_FIRE_MAX_RESULTS 16
#define CW_FIRE_RESULT_NAME_SIZE 32

/* A response "status" field value and how many final answers carried it. */
typedef struct st_cw_fire_result_count_t {
    char name[CW_FIRE_RESULT_NAME_SIZE]; /* "processed", "duplicate", ...; "(none)" without one; "(other)" for the rest */
    uint64_t count;
} cw_fire_result_count_t;

typedef struct st_cw_fire_stats_t {
    /* what was asked */
    const char *target; /* borrowed; never NULL */
    const char *scheme; /* borrowed; "none", "static", ... */
    const char *tamper; /* borrowed; "none", "wrong-secret", ... */
    const char *source; /* borrowed; "generated" or the fixture's path */
    uint64_t seed;
    size_t num_leads;      /* unique leads */
    size_t dup;            /* copies of each */
    size_t concurrency;    /* in-flight cap */
    double offered_rate;   /* requests/s with --rate; 0 when closed-loop */
    int retry;             /* --retry clay */
    unsigned max_attempts; /* per request under --retry clay (--clay-retries + 1) */
    uint64_t timeout_ms;   /* per attempt (--clay-timeout-ms) */

    /* what happened */
    size_t num_sends;                       /* final answers (num_leads * dup when the run completed) */
    uint64_t by_status[CW_FIRE_MAX_STATUS]; /* final answers by HTTP status; [0] = no answer (transport error) */
    cw_fire_result_count_t results[CW_FIRE_MAX_RESULTS];
    size_t num_results;
    uint64_t num_attempts;
    uint64_t num_retries;
    uint64_t num_transport_errors; /* attempts that ended without an answer (timeouts included) */
    uint64_t num_timed_out;        /* attempts unanswered after timeout_ms (among the transport errors) */
    /* What the attempt right after a timed-out one (the resend of the same bytes) got: its "status" field
     * ("duplicate", "in_progress", ...), "error:<error field>", "(timeout)" or "(no answer)". */
    cw_fire_result_count_t after_timeout[CW_FIRE_MAX_RESULTS];
    size_t num_after_timeout;
    uint64_t num_ok;      /* final answers that met the success rule (2xx, or 401 under --tamper) */
    uint64_t *latency_us; /* num_sends values; owned; sorted by cw_fire_stats_finish */
    uint64_t elapsed_us;  /* first start to last answer */

    /* what the sinks should hold */
    int expected_known; /* 0: the fixture's body says nothing about deliveries */
    cw_gen_sinks_t expected;
} cw_fire_stats_t;

/* cw_fire_stats_count_result adds one final answer whose body's "status" field is |name| (NULL: none). */
void cw_fire_stats_count_result(cw_fire_stats_t *stats, const char *name);

/* cw_fire_stats_count_after_timeout adds one resend, sent after a timed-out attempt, whose answer is |name|
 * (NULL: an answer without a "status" field). */
void cw_fire_stats_count_after_timeout(cw_fire_stats_t *stats, const char *name);

/* cw_fire_stats_finish sorts the latencies; call once before rendering. */
void cw_fire_stats_finish(cw_fire_stats_t *stats);

/* cw_fire_report_human writes the summary, a few lines, to |fp|. */
void cw_fire_report_human(const cw_fire_stats_t *stats, FILE *fp);

/* cw_fire_report_json returns the summary as one line of JSON (malloc'd, caller frees), with the keys
 * target, scheme, tamper, source, seed, leads, dup, requests, concurrency, offered_rate, by_status,
 * by_result, attempts, retries, transport_errors, timed_out, after_timeout {name: count}, max_attempts (null
 * without --retry clay), timeout_ms, ok, failed, latency_ms {p50,p90,p99,max,mean},
 * elapsed_s, achieved_rate, expected_deliveries {outreach,nurture,zapier,slack} (null when unknown). */
char *cw_fire_report_json(const cw_fire_stats_t *stats);

#endif
