/*
 * fire_plan.h: the pure parts of `clay-harness fire` (and of replay's
 * summary): the order of the sends for --dup/--shuffle, the delay before a
 * Clay-like retry, and latency percentiles. No I/O, no clocks: every result
 * is a function of the arguments, so the unit tests pin them down.
 */
#ifndef CW_HARNESS_FIRE_PLAN_H
#define CW_HARNESS_FIRE_PLAN_H

#include <stddef.h>
#include <stdint.h>

/* One send of the plan: lead |lead| (0..num_leads-1), its |copy|-th copy (0..dup-1). */
typedef struct st_cw_fire_send_t {
    uint32_t lead;
    uint32_t copy;
} cw_fire_send_t;

#define CW_FIRE_MAX_SENDS (UINT32_C(1) << 30)

/* cw_fire_schedule fills |out| (num_leads * dup entries) with the order of the sends. Without
 * |shuffle| the copies of a lead are adjacent (lead 0 copy 0, lead 0 copy 1, ..., lead 1 copy 0, ...), so
 * under any concurrency >= 2 copies overlap in flight. With |shuffle| that order is permuted by a
 * Fisher-Yates shuffle driven by |seed| (cw_splitmix64, cw/random.h): the same arguments always give the same
 * order. Returns 0, or -1 when num_leads * dup is 0 or over CW_FIRE_MAX_SENDS. */
int cw_fire_schedule(size_t num_leads, size_t dup, int shuffle, uint64_t seed, cw_fire_send_t *out);

/* cw_fire_uniform returns a value in [0, bound) from the splitmix64 state |state| (bound > 0), without
 * modulo bias worth speaking of (a 64x64->128 multiply). */
uint64_t cw_fire_uniform(uint64_t *state, uint64_t bound);

/* The retry policy of --retry clay. */
typedef struct st_cw_fire_backoff_t {
    uint64_t base_ms;            /* the first retry waits about this long */
    uint64_t cap_ms;             /* one wait never exceeds this (before Retry-After) */
    uint64_t retry_after_cap_ms; /* a Retry-After longer than this is shortened to it */
    unsigned max_attempts;       /* attempts in all, the first included */
} cw_fire_backoff_t;

#define CW_FIRE_BACKOFF_DEFAULT                                                                                                    \
    {                                                                                                                              \
        200, 10000, 60000, 8                                                                                                       \
    }

/* The retries of --retry clay when neither --clay-retries nor --max-attempts is given: the README's column
 * recipe ("Retry on failure: on, 3 attempts"). Clay's own default is undocumented. */
#define CW_FIRE_DEFAULT_CLAY_RETRIES 2
#define CW_FIRE_MAX_CLAY_RETRIES 99

/* cw_fire_attempts returns in *|out_attempts| the attempts per request under --retry clay, the first
 * included: |clay_retries| + 1 when --clay-retries was given (|retries_given|), else |max_attempts| when
 * --max-attempts was given (|max_given|), else CW_FIRE_DEFAULT_CLAY_RETRIES + 1. Returns 0, or -1 when
 * both were given and disagree (max_attempts != clay_retries + 1). */
int cw_fire_attempts(int retries_given, unsigned clay_retries, int max_given, unsigned max_attempts, unsigned *out_attempts);

/* The highest --rate, in requests per second. */
#define CW_FIRE_MAX_RATE 1e6

/* cw_fire_rate_parse reads a --rate value: "R", requests per second (a number above 0), or Clay's column
 * setting "N/DURATION_MS", N requests per DURATION_MS milliseconds (whole numbers, N >= 1, DURATION_MS in
 * [1, 86400000]; "10/1000" is Clay's default), which is N * 1000 / DURATION_MS per second. Surrounding
 * spaces are refused. Returns 0 with the rate in *|out_per_s|, or -1 (*|out_per_s| untouched) when
 * |value| is neither form or the rate is over CW_FIRE_MAX_RATE. Borrows |value|. */
int cw_fire_rate_parse(const char *value, double *out_per_s);

/* cw_fire_retry_delay_ms returns the wait before retry number |retry| (1 = the second attempt): an
 * exponential step base_ms * 2^(retry-1) capped at cap_ms, with "equal jitter" (uniformly in
 * [step/2, step], drawn from |rng|) so a herd of retries spreads out but never retries at once; and at
 * least |retry_after_ms| (capped at retry_after_cap_ms) when the server sent Retry-After
 * (|retry_after_ms| < 0: it did not). */
uint64_t cw_fire_retry_delay_ms(const cw_fire_backoff_t *policy, unsigned retry, int64_t retry_after_ms, uint64_t *rng);

/* cw_fire_retryable reports whether an attempt that ended with HTTP |status| (0 for a transport error or a
 * timeout) should be retried the way Clay-like senders do: transport errors, 408, 429 and 5xx. A 2xx
 * (202 included) is a success, every other 4xx final. */
int cw_fire_retryable(int status);

/* cw_fire_percentile returns the nearest-rank |p|-th percentile (0 < p <= 100) of the |num| values in
 * |sorted| (ascending): the smallest value with at least p% of the values at or below it. Returns 0
 * when |num| is 0. */
uint64_t cw_fire_percentile(const uint64_t *sorted, size_t num, double p);

/* cw_fire_sort_u64 sorts |num| values ascending in place. */
void cw_fire_sort_u64(uint64_t *values, size_t num);

#endif
