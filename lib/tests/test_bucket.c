/*
 * test_bucket.c: the token bucket (cw/bucket.h): burst then rate, idle refill
 * capped at the burst, more than the burst never, the pause after a 429 (and a
 * shorter one not cutting it short), refunds, and the return convention.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "cw/bucket.h"

/* waits returns the wait cw_bucket_take reports at |now| (it must refuse). */
static uint64_t waits(cw_bucket_t *b, double n, uint64_t now)
{
    uint64_t wait = 0;
    assert_int_equal(cw_bucket_take(b, n, now, &wait), -1);
    assert_true(wait >= 1);
    return wait;
}

static void test_burst_then_rate(void **state)
{
    cw_bucket_t b;
    uint64_t t = 1000000;
    cw_bucket_init(&b, 10, 20, t);
    for (int i = 0; i != 20; ++i) {
        assert_int_equal(cw_bucket_take(&b, 1, t, NULL), 0);
    }
    uint64_t wait = waits(&b, 1, t);
    assert_true(wait >= 99000 && wait <= 101000);
    /* one token per 100 ms from here: 100 rows over the next 10 s, no more */
    size_t taken = 0;
    for (uint64_t now = t; now <= t + 10000000; now += 1000) {
        while (cw_bucket_take(&b, 1, now, NULL) == 0) {
            ++taken;
        }
    }
    assert_int_equal(taken, 100);
    /* idle time refills up to the burst and no further */
    t += 60000000;
    taken = 0;
    while (cw_bucket_take(&b, 1, t, NULL) == 0) {
        ++taken;
    }
    assert_int_equal(taken, 20);
    /* more than the burst can never be taken */
    assert_int_equal(waits(&b, 21, t + 100000000), UINT64_MAX);
}

static void test_refusal_takes_nothing(void **state)
{
    cw_bucket_t b;
    cw_bucket_init(&b, 2, 5, 0);
    assert_int_equal(cw_bucket_take(&b, 4, 0, NULL), 0);
    /* 1 left: 3 are refused (nothing taken), and the 1 is still there */
    uint64_t wait = waits(&b, 3, 0);
    assert_true(wait >= 1000000 && wait <= 1000001); /* 2 more at 2/s */
    assert_int_equal(cw_bucket_take(&b, 1, 0, NULL), 0);
    assert_int_equal(cw_bucket_take(&b, 1, 0, NULL), -1);
    /* out-of-range settings are clamped: rate 1/s, burst 1 */
    cw_bucket_init(&b, 0, 0, 0);
    assert_int_equal(cw_bucket_take(&b, 1, 0, NULL), 0);
    assert_int_equal(waits(&b, 2, 0), UINT64_MAX);
    wait = waits(&b, 1, 0);
    assert_true(wait >= 1000000 && wait <= 1000001);
    assert_int_equal(cw_bucket_take(&b, 1, 1000000, NULL), 0);
    /* a clock going backwards adds nothing */
    assert_int_equal(cw_bucket_take(&b, 1, 10, NULL), -1);
}

static void test_pause_and_give(void **state)
{
    cw_bucket_t b;
    uint64_t t = 5000000;
    cw_bucket_init(&b, 10, 5, t);
    assert_int_equal(cw_bucket_take(&b, 1, t, NULL), 0);
    /* 429 with Retry-After: 2 → nothing for 2 s, then the rate again (no burst) */
    cw_bucket_pause(&b, t + 2000000);
    uint64_t wait = waits(&b, 1, t);
    assert_true(wait >= 2100000 && wait <= 2101000);
    waits(&b, 1, t + 1999999);
    waits(&b, 1, t + 2050000);
    assert_int_equal(cw_bucket_take(&b, 1, t + 2100000, NULL), 0);
    waits(&b, 1, t + 2100000);
    /* a shorter pause does not cut a running one short */
    cw_bucket_pause(&b, t + 9000000);
    cw_bucket_pause(&b, t + 3000000);
    assert_true(waits(&b, 1, t + 8000000) > 1000000);
    /* giving back a token makes it available at once, capped at the burst */
    cw_bucket_give(&b, 1, t + 8000000);
    assert_int_equal(cw_bucket_take(&b, 1, t + 8000000, NULL), 0);
    cw_bucket_give(&b, 100, t + 20000000);
    size_t taken = 0;
    while (cw_bucket_take(&b, 1, t + 20000000, NULL) == 0) {
        ++taken;
    }
    assert_int_equal(taken, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_refusal_takes_nothing),
        cmocka_unit_test(test_pause_and_give),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
