/*
 * bucket.c: the token bucket (see bucket.h).
 */
#include <stddef.h>
#include "cw/bucket.h"

static void refill(cw_bucket_t *b, uint64_t now_us)
{
    if (now_us <= b->last_us) {
        return;
    }
    uint64_t from = b->last_us > b->pause_us ? b->last_us : b->pause_us;
    if (now_us > from) {
        b->tokens += (double)(now_us - from) * b->rate / 1e6;
        if (b->tokens > b->burst) {
            b->tokens = b->burst;
        }
    }
    b->last_us = now_us;
}

void cw_bucket_init(cw_bucket_t *b, double rate, double burst, uint64_t now_us)
{
    b->rate = rate > 0 ? rate : 1;
    b->burst = burst >= 1 ? burst : 1;
    b->tokens = b->burst;
    b->last_us = now_us;
    b->pause_us = 0;
}

int cw_bucket_take(cw_bucket_t *b, double n, uint64_t now_us, uint64_t *out_wait_us)
{
    uint64_t wait = UINT64_MAX;

    if (n <= b->burst) {
        refill(b, now_us);
        /* A hair of tolerance: float sums of 1/rate steps must not make us wait 1 µs for nothing. */
        if (b->tokens + 1e-9 >= n) {
            b->tokens -= n;
            if (b->tokens < 0) {
                b->tokens = 0;
            }
            return 0;
        }
        wait = (uint64_t)((n - b->tokens) * 1e6 / b->rate) + 1;
        if (b->pause_us > now_us) {
            wait += b->pause_us - now_us;
        }
    }
    if (out_wait_us != NULL) {
        *out_wait_us = wait;
    }
    return -1;
}

void cw_bucket_give(cw_bucket_t *b, double n, uint64_t now_us)
{
    refill(b, now_us);
    b->tokens += n;
    if (b->tokens > b->burst) {
        b->tokens = b->burst;
    }
}

void cw_bucket_pause(cw_bucket_t *b, uint64_t until_us)
{
    b->tokens = 0;
    if (until_us > b->pause_us) {
        b->pause_us = until_us;
    }
}
