/*
 * mock_util.h: the pure pieces of `clay-harness mock`, kept apart from the
 * server so they can be unit-tested: a token bucket (Clay's workspace rate
 * limit), a seeded PRNG (reproducible fault injection), URL decoding and query
 * lookup, XML text escaping, and a set of byte strings (distinct
 * Idempotency-Keys in the sink ledger).
 */
#ifndef CW_HARNESS_MOCK_UTIL_H
#define CW_HARNESS_MOCK_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "cw/util.h"

/* cw_mock_bucket_t is a token bucket: |rate| tokens per second up to |burst|.
 * It is deliberately not lib's cw_bucket_t (cw/bucket.h), which paces what the
 * function sends: this one models Clay's workspace limit, the oracle the
 * function's pacing is tested against, so a bug in one cannot hide in both. */
typedef struct st_cw_mock_bucket_t {
    double rate;  /* tokens added per second; > 0 */
    double burst; /* capacity; >= 1 */
    double tokens;
    uint64_t last_ms; /* clock of the last refill */
} cw_mock_bucket_t;

/* cw_mock_bucket_init fills |bucket| (full) at clock |now_ms|. */
void cw_mock_bucket_init(cw_mock_bucket_t *bucket, double rate, double burst, uint64_t now_ms);
/* cw_mock_bucket_take removes |n| tokens at clock |now_ms| if they are there.
 * Returns 0 when taken; -1 when not (nothing taken), with *out_wait_ms (may be
 * NULL) set to the time until |n| tokens will be there (UINT64_MAX when |n|
 * exceeds the burst). */
int cw_mock_bucket_take(cw_mock_bucket_t *bucket, double n, uint64_t now_ms, uint64_t *out_wait_ms);
/* cw_mock_retry_after_s converts a wait into a Retry-After value: whole
 * seconds rounded up, at least 1. */
uint64_t cw_mock_retry_after_s(uint64_t wait_ms);

/* cw_mock_rng_t is cw_splitmix64 (cw/random.h): the same seed yields the same sequence. */
typedef struct st_cw_mock_rng_t {
    uint64_t state;
} cw_mock_rng_t;

/* cw_mock_rng_seed starts |rng| at |seed|. */
void cw_mock_rng_seed(cw_mock_rng_t *rng, uint64_t seed);
/* cw_mock_rng_next returns the next 64-bit value. */
uint64_t cw_mock_rng_next(cw_mock_rng_t *rng);
/* cw_mock_rng_unit returns the next value as a double in [0, 1). */
double cw_mock_rng_unit(cw_mock_rng_t *rng);

/* cw_mock_url_decode appends the percent-decoding of |len| bytes at |s| to
 * |out|; with |plus_is_space| a '+' becomes a space (query strings). Returns 0,
 * or -1 on a malformed escape (|out| then holds a partial result). */
int cw_mock_url_decode(cw_buf_t *out, const char *s, size_t len, int plus_is_space);
/* cw_mock_query_get looks for parameter |name| in the query string |query| of
 * |query_len| bytes (without the '?'). Returns 1 and appends its decoded
 * value to |out| (empty for "name" or "name="), 0 when absent, -1 when its
 * value is malformed. Names are compared undecoded. */
int cw_mock_query_get(const char *query, size_t query_len, const char *name, cw_buf_t *out);

/* cw_mock_xml_escape appends |len| bytes at |s| to |out| as XML character
 * data: & < > " ' as entities; control characters other than tab, CR and LF
 * (which XML 1.0 cannot carry) as U+FFFD. Every other byte passes unchanged,
 * valid UTF-8 or not, so a key comes back byte-exact from the function's list
 * parser (fuzz/fuzz_xml_list.c); JUnit reports, which must always be
 * well-formed, use cw_junit_escape instead (harness/client/junit.h). */
void cw_mock_xml_escape(cw_buf_t *out, const char *s, size_t len);

/* cw_mock_strset_t is a set of byte strings (open addressing, grows). */
typedef struct st_cw_mock_strset_t {
    struct st_cw_mock_strset_slot_t *slots; /* NULL while empty */
    size_t num_slots;                       /* 0 or a power of two */
    size_t num_items;
} cw_mock_strset_t;

#define CW_MOCK_STRSET_INIT                                                                                                        \
    {                                                                                                                              \
        NULL, 0, 0                                                                                                                 \
    }

/* cw_mock_strset_add inserts a copy of |len| bytes at |s|. Returns 1 when it
 * was new, 0 when already present. */
int cw_mock_strset_add(cw_mock_strset_t *set, const char *s, size_t len);
/* cw_mock_strset_has reports whether |s| is in |set|. */
int cw_mock_strset_has(const cw_mock_strset_t *set, const char *s, size_t len);
/* cw_mock_strset_clear frees every item and the table. */
void cw_mock_strset_clear(cw_mock_strset_t *set);

/* cw_mock_valid_name reports whether |len| bytes at |s| are 1 to |max_len| of
 * [A-Za-z0-9._-] (sink names, webhook ids). */
int cw_mock_valid_name(const char *s, size_t len, size_t max_len);

#endif
