/*
 * clay_client.h: the one client that sends rows into Clay table webhooks,
 * shared by `clay-function send` (send.c) and the relay POST /api/clay/rows
 * (relay.c): the webhook URL list, pacing by token bucket, one POST per row,
 * the classification of Clay's answers, backoff, and the quota arithmetic.
 *
 * Retry policy (docs/design.md §13): 2xx accepted; 429 waits Retry-After and
 * pauses all sending; 408, 5xx and transport errors back off and retry a bounded
 * number of times; 404/410 mean the webhook is gone (rotate to the next URL);
 * 403 means the webhook refuses more submissions (its limit: rotate); 401
 * means the auth token is wrong (stop: every row would fail the same way);
 * any other 4xx refuses this row (dead letter with the reason).
 */
#ifndef CW_CLAY_CLIENT_H
#define CW_CLAY_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include "cw/bucket.h"
#include "cw/http.h"
#include "cw/loop.h"

/* Clay refuses payloads over 100 KB; rows larger than this are refused locally. */
#define CW_CLAY_MAX_ROW_BYTES 100000
/* 50,000 submissions per webhook source (Clay's documented limit). */
#define CW_CLAY_DEFAULT_LIMIT 50000
/* Rows a Clay table holds on every plan; past it Clay answers 2xx and silently drops the row (docs/clay.md). */
#define CW_CLAY_TABLE_ROWS_LIMIT 50000
/* The warning threshold of a webhook's quota, in percent. */
#define CW_CLAY_QUOTA_WARN_PERCENT 90
/* The length of a webhook URL's id in journals and store names (hex of SHA-256). */
#define CW_CLAY_URL_ID_LEN 64

/* ---- webhook URLs ---- */

/* cw_clay_urls_t is an ordered list of webhook URLs (rotation order), each with
 * its id: the hex SHA-256 of the URL, used in journals and store names so the
 * URL itself (which grants write access to a table) is never written down. */
typedef struct st_cw_clay_urls_t {
    char **urls; /* num_urls entries, owned */
    char (*ids)[CW_CLAY_URL_ID_LEN + 1];
    size_t num_urls;
} cw_clay_urls_t;

/* cw_clay_urls_add appends |len| bytes of |url| (spaces around it trimmed) to
 * |list|. Returns 0, or -1 when it is not an http:// or https:// URL or is
 * already in the list (|list| unchanged). */
int cw_clay_urls_add(cw_clay_urls_t *list, const char *url, size_t len);
/* cw_clay_urls_parse appends every entry of the comma-separated |csv|; empty
 * entries are skipped. Returns 0, or -1 at the first bad entry. */
int cw_clay_urls_parse(cw_clay_urls_t *list, const char *csv);
/* cw_clay_urls_free releases the list's entries and zeroes it. */
void cw_clay_urls_free(cw_clay_urls_t *list);
/* cw_clay_url_id writes the id of |url| (hex SHA-256, CW_CLAY_URL_ID_LEN + 1 bytes with the NUL). */
void cw_clay_url_id(char *out, const char *url);

/* ---- one submission ---- */

typedef enum en_cw_clay_outcome_t {
    CW_CLAY_ACCEPTED,     /* 2xx */
    CW_CLAY_RATE_LIMITED, /* 429: wait retry_after_ms, then send again */
    CW_CLAY_RETRY,        /* 408, 5xx, transport error: back off and retry (bounded) */
    CW_CLAY_GONE,         /* 404, 410: the webhook no longer exists */
    CW_CLAY_LIMIT,        /* 403: the webhook takes no more submissions */
    CW_CLAY_UNAUTHORIZED, /* 401: the x-clay-webhook-auth token is wrong */
    CW_CLAY_REJECTED,     /* any other 4xx (413 included): this row is refused */
} cw_clay_outcome_t;

/* The longest Retry-After honoured from Clay; a longer one counts as this. */
#define CW_CLAY_RETRY_AFTER_MAX_MS 60000

/* cw_clay_classify maps a transport error and status to an outcome. */
cw_clay_outcome_t cw_clay_classify(cw_http_error_t error, int status);
/* cw_clay_outcome_name returns "accepted", "rate_limited", "retry", "gone", "limit", "unauthorized", "rejected". */
const char *cw_clay_outcome_name(cw_clay_outcome_t outcome);

/* cw_clay_result_t is what a submission's completion sees; valid during the callback. */
typedef struct st_cw_clay_result_t {
    cw_clay_outcome_t outcome;
    int status;             /* 0 on a transport error */
    int64_t retry_after_ms; /* from Retry-After, at most CW_CLAY_RETRY_AFTER_MAX_MS; -1 when absent */
    const char *detail;     /* never NULL: "HTTP 400: <start of Clay's answer>" or the transport error */
    uint64_t elapsed_ms;
} cw_clay_result_t;

typedef void (*cw_clay_cb)(const cw_clay_result_t *res, void *data);

typedef struct st_cw_clay_client_t cw_clay_client_t;

/* cw_clay_client_new makes a client over |http| (borrowed; must outlive it).
 * |auth_token| (may be NULL) is copied and sent as x-clay-webhook-auth;
 * |timeout_ms| bounds one attempt (0: 30000). */
cw_clay_client_t *cw_clay_client_new(cw_http_t *http, const char *auth_token, uint64_t timeout_ms);
/* cw_clay_client_free releases |client| (NULL is fine); no submission may be outstanding. */
void cw_clay_client_free(cw_clay_client_t *client);

/* cw_clay_post sends one row (|json|, copied) to |url| in one attempt (no
 * retry: the caller decides, because every attempt may count against the
 * webhook's quota). |cb| runs exactly once on |loop|'s thread (|loop| may be
 * NULL: the curl thread). Thread-safe. */
void cw_clay_post(cw_clay_client_t *client, cw_loop_t *loop, const char *url, const char *json, size_t json_len, cw_clay_cb cb,
                  void *data);

/* cw_clay_backoff_ms returns the wait before retry |attempt| (1 for the first
 * retry): a random value in [base/2, base * 2^(attempt-1)], capped at |max_ms|. */
uint64_t cw_clay_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t max_ms);

/* ---- quota blocks (relay) ---- */

/* The relay counts submissions per webhook in the store with create-only
 * blocks quota/<url id>/<n>: block n grants submissions [n*K, min((n+1)*K, limit)).
 * An instance that created block n may make that many submissions; one that
 * crashed wastes the rest of its block (the safe direction). No block starts at
 * or past the limit, so the instances together never exceed it. */

/* cw_clay_quota_block_size returns K for |limit|: about 1% of it, from 1 to 100. */
uint64_t cw_clay_quota_block_size(uint64_t limit);
/* cw_clay_quota_block_slots returns the submissions block |n| grants (0 when it
 * starts at or past |limit|). */
uint64_t cw_clay_quota_block_slots(uint64_t n, uint64_t block_size, uint64_t limit);

/* cw_clay_json_minify appends |json| (valid JSON) to |out| without the
 * whitespace outside strings, so a pretty-printed row fits on one line. */
void cw_clay_json_minify(cw_buf_t *out, const char *json, size_t json_len);

#endif
