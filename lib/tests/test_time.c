/*
 * test_time.c: cw/time.h: RFC 3339 formatting of known instants (epoch, leap
 * day, past 2038, milliseconds kept, truncation to the buffer) and the clocks
 * (monotonic never going back, ms and us agreeing, the wall clock near time()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "cw/time.h"

static void assert_rfc3339(int64_t wall_ms, const char *want)
{
    char out[40];
    memset(out, 'x', sizeof(out));
    cw_format_rfc3339(out, sizeof(out), wall_ms);
    assert_string_equal(out, want);
}

static void test_rfc3339(void **state)
{
    assert_rfc3339(0, "1970-01-01T00:00:00.000Z");
    assert_rfc3339(1, "1970-01-01T00:00:00.001Z");
    assert_rfc3339(INT64_C(1795848458123), "2026-11-28T06:47:38.123Z");
    assert_rfc3339(INT64_C(1709251199999), "2024-02-29T23:59:59.999Z"); /* leap day, last millisecond */
    assert_rfc3339(INT64_C(1709251200000), "2024-03-01T00:00:00.000Z");
    assert_rfc3339(INT64_C(946684800001), "2000-01-01T00:00:00.001Z");
    assert_rfc3339(INT64_C(2147483648500), "2038-01-19T03:14:08.500Z"); /* past 32-bit time_t */
    assert_rfc3339(INT64_C(253402300799999), "9999-12-31T23:59:59.999Z");
    assert_rfc3339(-1, "1969-12-31T23:59:59.999Z");                        /* before the epoch */
    assert_rfc3339(INT64_C(253402300800000), "10000-01-01T00:00:00.000Z"); /* past year 9999: as printf writes it */
    /* A short buffer is cut and still terminated. */
    char small[11];
    cw_format_rfc3339(small, sizeof(small), 0);
    assert_string_equal(small, "1970-01-01");
}

static void test_monotonic(void **state)
{
    uint64_t prev = cw_now_us();
    for (int i = 0; i != 100000; ++i) {
        uint64_t now = cw_now_us();
        assert_true(now >= prev);
        prev = now;
    }
    /* ms is us / 1000 of the same clock. */
    uint64_t us0 = cw_now_us(), ms = cw_now_ms(), us1 = cw_now_us();
    assert_true(ms >= us0 / 1000 && ms <= us1 / 1000);
    /* A 20 ms sleep shows as at least 20 ms, and not as seconds. */
    struct timespec nap = {0, 20 * 1000 * 1000};
    uint64_t before = cw_now_us();
    nanosleep(&nap, NULL);
    uint64_t slept = cw_now_us() - before;
    assert_true(slept >= 20000);
    assert_true(slept < 5000000);
}

static void test_wall(void **state)
{
    int64_t before = (int64_t)time(NULL) * 1000;
    int64_t wall = cw_wall_ms();
    int64_t after = (int64_t)time(NULL) * 1000 + 999;
    assert_true(wall >= before && wall <= after);
    assert_true(wall > INT64_C(1700000000000)); /* after 2023: milliseconds, not seconds */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_monotonic),
        cmocka_unit_test(test_wall),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
