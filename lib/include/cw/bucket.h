/*
 * bucket.h: the token bucket that paces what the function sends into Clay
 * (`clay-function send` and the relay): |rate| tokens per second up to
 * |burst|, with a pause that a 429's Retry-After imposes.
 *
 * Not thread-safe: one owner, or a mutex around every call (the relay's).
 * Times are monotonic microseconds (cw_now_us) passed in, so tests drive the
 * clock. The harness's mock of Clay keeps its own bucket on purpose
 * (harness/mock/mock_util.h): it is the oracle this one is tested against.
 */
#ifndef CW_BUCKET_H
#define CW_BUCKET_H

#include <stdint.h>

/* cw_bucket_t is one bucket's state; fill it with cw_bucket_init. */
typedef struct st_cw_bucket_t {
    double rate;  /* tokens per second, > 0 */
    double burst; /* capacity, >= 1 */
    double tokens;
    uint64_t last_us;  /* when |tokens| was last brought up to date */
    uint64_t pause_us; /* no tokens accrue before this (after a 429); 0: none */
} cw_bucket_t;

/* cw_bucket_init starts a full bucket at |now_us|. A |rate| <= 0 becomes 1 per
 * second and a |burst| < 1 becomes 1. */
void cw_bucket_init(cw_bucket_t *b, double rate, double burst, uint64_t now_us);
/* cw_bucket_take takes |n| tokens if they are there at |now_us|. Returns 0 when
 * taken; -1 when not (nothing taken), with *|out_wait_us| (may be NULL) set to
 * the microseconds until they will be (at least 1), or UINT64_MAX when |n| is
 * above the burst and can never be taken. */
int cw_bucket_take(cw_bucket_t *b, double n, uint64_t now_us, uint64_t *out_wait_us);
/* cw_bucket_give returns |n| tokens taken but not used (capped at the burst). */
void cw_bucket_give(cw_bucket_t *b, double n, uint64_t now_us);
/* cw_bucket_pause empties the bucket and lets no token accrue before
 * |until_us| (Clay answered 429 with Retry-After). A shorter pause than one
 * already running changes nothing. */
void cw_bucket_pause(cw_bucket_t *b, uint64_t until_us);

#endif
