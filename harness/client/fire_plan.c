/*
 * fire_plan.c: send order, retry delays and percentiles for fire (see fire_plan.h).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fire_plan.h"
#include "cw/random.h"
#include "gen.h"

uint64_t cw_fire_uniform(uint64_t *state, uint64_t bound)
{
    unsigned __int128 product = (unsigned __int128)cw_splitmix64(state) * bound;
    return (uint64_t)(product >> 64);
}

int cw_fire_schedule(size_t num_leads, size_t dup, int shuffle, uint64_t seed, cw_fire_send_t *out)
{
    if (num_leads == 0 || dup == 0 || num_leads > CW_FIRE_MAX_SENDS / dup) {
        return -1;
    }
    size_t total = num_leads * dup;
    for (size_t i = 0; i != total; ++i) {
        out[i].lead = (uint32_t)(i / dup);
        out[i].copy = (uint32_t)(i % dup);
    }
    if (shuffle) {
        /* A stream of its own, so the order does not depend on how the leads themselves were drawn. */
        uint64_t state = seed ^ UINT64_C(0x5deece66d1f2e3a7);
        for (size_t i = total - 1; i > 0; --i) {
            size_t j = (size_t)cw_fire_uniform(&state, (uint64_t)i + 1);
            cw_fire_send_t t = out[i];
            out[i] = out[j];
            out[j] = t;
        }
    }
    return 0;
}

uint64_t cw_fire_retry_delay_ms(const cw_fire_backoff_t *policy, unsigned retry, int64_t retry_after_ms, uint64_t *rng)
{
    uint64_t step = policy->base_ms;
    for (unsigned i = 1; i < retry && step < policy->cap_ms; ++i) {
        step *= 2;
    }
    if (step > policy->cap_ms) {
        step = policy->cap_ms;
    }
    uint64_t half = step / 2;
    uint64_t delay = half + cw_fire_uniform(rng, step - half + 1);
    if (retry_after_ms >= 0) {
        uint64_t ra = (uint64_t)retry_after_ms;
        if (ra > policy->retry_after_cap_ms) {
            ra = policy->retry_after_cap_ms;
        }
        if (ra > delay) {
            delay = ra;
        }
    }
    return delay;
}

int cw_fire_attempts(int retries_given, unsigned clay_retries, int max_given, unsigned max_attempts, unsigned *out_attempts)
{
    if (retries_given && max_given && max_attempts != clay_retries + 1) {
        return -1;
    }
    *out_attempts = retries_given ? clay_retries + 1 : max_given ? max_attempts : CW_FIRE_DEFAULT_CLAY_RETRIES + 1;
    return 0;
}

/* whole_number reads the decimal digits in [p, end) (at least one, no sign) as a value up to |max|. Returns
 * 0, or -1. */
static int whole_number(const char *p, const char *end, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (p == end) {
        return -1;
    }
    for (; p != end; ++p) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max) {
            return -1;
        }
    }
    *out = v;
    return 0;
}

int cw_fire_rate_parse(const char *value, double *out_per_s)
{
    const char *slash = strchr(value, '/');
    double rate;
    if (slash != NULL) {
        uint64_t n, duration_ms;
        if (whole_number(value, slash, 1000000000, &n) != 0 || n == 0 ||
            whole_number(slash + 1, slash + strlen(slash), 86400000, &duration_ms) != 0 || duration_ms == 0) {
            return -1;
        }
        rate = (double)n * 1000.0 / (double)duration_ms;
    } else {
        char *end;
        if (*value == '\0' || isspace((unsigned char)*value)) {
            return -1;
        }
        errno = 0;
        rate = strtod(value, &end);
        if (*end != '\0' || errno != 0 || !isfinite(rate) || !(rate > 0)) {
            return -1;
        }
    }
    if (rate > CW_FIRE_MAX_RATE) {
        return -1;
    }
    *out_per_s = rate;
    return 0;
}

int cw_fire_retryable(int status)
{
    return status == 0 || status == 408 || status == 429 || (status >= 500 && status <= 599);
}

uint64_t cw_fire_percentile(const uint64_t *sorted, size_t num, double p)
{
    if (num == 0) {
        return 0;
    }
    double rank = ceil(p / 100.0 * (double)num);
    size_t index = rank < 1.0 ? 0 : (size_t)rank - 1;
    if (index >= num) {
        index = num - 1;
    }
    return sorted[index];
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void cw_fire_sort_u64(uint64_t *values, size_t num)
{
    if (num > 1) {
        qsort(values, num, sizeof(*values), cmp_u64);
    }
}
