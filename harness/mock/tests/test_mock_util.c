/* test_mock_util.c: the mock server's pure helpers: token bucket arithmetic and Retry-After, the seeded PRNG,
 * URL decoding and query lookup, XML escaping, the string set. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mock_util.h"

static void test_bucket_burst_then_rate(void **state)
{
    cw_mock_bucket_t b;
    cw_mock_bucket_init(&b, 10, 20, 1000);
    /* The burst passes at once... */
    for (int i = 0; i != 20; ++i) {
        assert_int_equal(cw_mock_bucket_take(&b, 1, 1000, NULL), 0);
    }
    /* ...then the 21st waits 100 ms (10 per second). */
    uint64_t wait = 0;
    assert_int_equal(cw_mock_bucket_take(&b, 1, 1000, &wait), -1);
    assert_int_equal(wait, 100);
    assert_int_equal(cw_mock_retry_after_s(wait), 1);
    assert_int_equal(cw_mock_bucket_take(&b, 1, 1050, &wait), -1);
    assert_int_equal(wait, 50);
    assert_int_equal(cw_mock_bucket_take(&b, 1, 1100, NULL), 0);
    assert_int_equal(cw_mock_bucket_take(&b, 1, 1100, NULL), -1);
    /* A second later ten more pass, not eleven. */
    for (int i = 0; i != 10; ++i) {
        assert_int_equal(cw_mock_bucket_take(&b, 1, 2100, NULL), 0);
    }
    assert_int_equal(cw_mock_bucket_take(&b, 1, 2100, NULL), -1);
}

static void test_bucket_refill_caps_at_burst(void **state)
{
    cw_mock_bucket_t b;
    cw_mock_bucket_init(&b, 10, 20, 0);
    assert_int_equal(cw_mock_bucket_take(&b, 20, 0, NULL), 0);
    /* An hour idle refills to the burst only. */
    assert_int_equal(cw_mock_bucket_take(&b, 20, 3600 * 1000, NULL), 0);
    assert_int_equal(cw_mock_bucket_take(&b, 1, 3600 * 1000, NULL), -1);
}

static void test_bucket_batches_and_waits(void **state)
{
    cw_mock_bucket_t b;
    cw_mock_bucket_init(&b, 2, 5, 0);
    uint64_t wait = 0;
    assert_int_equal(cw_mock_bucket_take(&b, 4, 0, NULL), 0);
    assert_int_equal(cw_mock_bucket_take(&b, 3, 0, &wait), -1); /* 1 left, needs 2 more at 2/s */
    assert_int_equal(wait, 1000);
    /* More than the burst can never pass. */
    assert_int_equal(cw_mock_bucket_take(&b, 6, 100000, &wait), -1);
    assert_int_equal(wait, UINT64_MAX);
    assert_int_equal(cw_mock_retry_after_s(wait), 3600);
    /* Time going backwards (never with a monotonic clock, but) does not add tokens. */
    assert_int_equal(cw_mock_bucket_take(&b, 5, 100000, NULL), 0);
    assert_int_equal(cw_mock_bucket_take(&b, 1, 50, NULL), -1);
}

static void test_retry_after_rounds_up(void **state)
{
    assert_int_equal(cw_mock_retry_after_s(0), 1);
    assert_int_equal(cw_mock_retry_after_s(1), 1);
    assert_int_equal(cw_mock_retry_after_s(1000), 1);
    assert_int_equal(cw_mock_retry_after_s(1001), 2);
    assert_int_equal(cw_mock_retry_after_s(2500), 3);
}

static void test_rng_reproducible(void **state)
{
    cw_mock_rng_t a, b, c;
    cw_mock_rng_seed(&a, 42);
    cw_mock_rng_seed(&b, 42);
    cw_mock_rng_seed(&c, 43);
    int differs = 0;
    for (int i = 0; i != 1000; ++i) {
        uint64_t x = cw_mock_rng_next(&a);
        assert_int_equal(x, cw_mock_rng_next(&b));
        differs |= x != cw_mock_rng_next(&c);
    }
    assert_true(differs);
    /* Unit draws stay in [0, 1) and spread: about half below 0.5. */
    size_t below = 0;
    for (int i = 0; i != 10000; ++i) {
        double u = cw_mock_rng_unit(&a);
        assert_true(u >= 0.0 && u < 1.0);
        below += u < 0.5;
    }
    assert_in_range(below, 4700, 5300);
}

static void test_url_decode(void **state)
{
    cw_buf_t b = CW_BUF_INIT;
    assert_int_equal(cw_mock_url_decode(&b, CW_STRLIT("a%2Fb%20c+d"), 0), 0);
    assert_string_equal(b.base, "a/b c+d");
    cw_buf_reset(&b);
    assert_int_equal(cw_mock_url_decode(&b, CW_STRLIT("a%2fb+c"), 1), 0);
    assert_string_equal(b.base, "a/b c");
    cw_buf_reset(&b);
    assert_int_equal(cw_mock_url_decode(&b, CW_STRLIT("%C3%A9%00x"), 0), 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.base, "\xc3\xa9\0x", 4);
    const char *bad[] = {"%", "%4", "a%zz", "%g1", "ab%"};
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        cw_buf_reset(&b);
        assert_int_equal(cw_mock_url_decode(&b, bad[i], strlen(bad[i]), 0), -1);
    }
    cw_buf_free(&b);
}

static void test_query_get(void **state)
{
    const char q[] = "list-type=2&prefix=pending%2F&max-keys=&flag&x=a+b&prefixx=no";
    cw_buf_t b = CW_BUF_INIT;
    assert_int_equal(cw_mock_query_get(q, strlen(q), "prefix", &b), 1);
    assert_string_equal(b.base, "pending/");
    cw_buf_reset(&b);
    assert_int_equal(cw_mock_query_get(q, strlen(q), "list-type", &b), 1);
    assert_string_equal(b.base, "2");
    cw_buf_reset(&b);
    assert_int_equal(cw_mock_query_get(q, strlen(q), "max-keys", &b), 1);
    assert_int_equal(b.len, 0);
    assert_int_equal(cw_mock_query_get(q, strlen(q), "flag", &b), 1);
    assert_int_equal(b.len, 0);
    assert_int_equal(cw_mock_query_get(q, strlen(q), "x", &b), 1);
    assert_string_equal(b.base, "a b");
    cw_buf_reset(&b);
    assert_int_equal(cw_mock_query_get(q, strlen(q), "pref", &b), 0);
    assert_int_equal(cw_mock_query_get(q, strlen(q), "missing", &b), 0);
    assert_int_equal(cw_mock_query_get(NULL, 0, "prefix", &b), 0);
    assert_int_equal(cw_mock_query_get("", 0, "prefix", &b), 0);
    assert_int_equal(cw_mock_query_get(CW_STRLIT("prefix=%zz"), "prefix", &b), -1);
    /* The query need not be NUL-terminated: only query_len bytes are read. */
    assert_int_equal(cw_mock_query_get("a=1&b=2", 3, "b", &b), 0);
    cw_buf_free(&b);
}

static void test_xml_escape(void **state)
{
    cw_buf_t b = CW_BUF_INIT;
    cw_mock_xml_escape(&b, CW_STRLIT("a&b<c>d\"e'f"));
    assert_string_equal(b.base, "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    cw_buf_reset(&b);
    /* Tab, CR, LF stay; other control characters cannot be carried by XML 1.0. */
    cw_mock_xml_escape(&b, "x\t\r\n\x01\x7f\0y", 8);
    assert_string_equal(b.base, "x\t\r\n\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdy");
    cw_buf_reset(&b);
    cw_mock_xml_escape(&b, CW_STRLIT("caf\xc3\xa9 \xe6\x9d\x8e"));
    assert_string_equal(b.base, "caf\xc3\xa9 \xe6\x9d\x8e");
    cw_buf_free(&b);
}

static void test_strset(void **state)
{
    cw_mock_strset_t set = CW_MOCK_STRSET_INIT;
    char key[32];
    assert_false(cw_mock_strset_has(&set, "x", 1));
    for (int i = 0; i != 20000; ++i) {
        int n = snprintf(key, sizeof(key), "event-%d:outreach", i);
        assert_int_equal(cw_mock_strset_add(&set, key, (size_t)n), 1);
    }
    for (int i = 0; i != 20000; ++i) {
        int n = snprintf(key, sizeof(key), "event-%d:outreach", i);
        assert_int_equal(cw_mock_strset_add(&set, key, (size_t)n), 0);
        assert_true(cw_mock_strset_has(&set, key, (size_t)n));
    }
    assert_int_equal(set.num_items, 20000);
    assert_false(cw_mock_strset_has(&set, CW_STRLIT("event-20000:outreach")));
    /* Binary keys and the empty key. */
    assert_int_equal(cw_mock_strset_add(&set, "a\0b", 3), 1);
    assert_int_equal(cw_mock_strset_add(&set, "a\0c", 3), 1);
    assert_int_equal(cw_mock_strset_add(&set, "", 0), 1);
    assert_int_equal(cw_mock_strset_add(&set, "", 0), 0);
    cw_mock_strset_clear(&set);
    assert_int_equal(set.num_items, 0);
    assert_false(cw_mock_strset_has(&set, CW_STRLIT("event-1:outreach")));
}

static void test_valid_name(void **state)
{
    assert_true(cw_mock_valid_name(CW_STRLIT("outreach"), 64));
    assert_true(cw_mock_valid_name(CW_STRLIT("pull-in-data_1.x"), 64));
    assert_false(cw_mock_valid_name(CW_STRLIT(""), 64));
    assert_false(cw_mock_valid_name(CW_STRLIT("a/b"), 64));
    assert_false(cw_mock_valid_name(CW_STRLIT("a b"), 64));
    assert_false(cw_mock_valid_name(CW_STRLIT("abcd"), 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_burst_then_rate),
        cmocka_unit_test(test_bucket_refill_caps_at_burst),
        cmocka_unit_test(test_bucket_batches_and_waits),
        cmocka_unit_test(test_retry_after_rounds_up),
        cmocka_unit_test(test_rng_reproducible),
        cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_query_get),
        cmocka_unit_test(test_xml_escape),
        cmocka_unit_test(test_strset),
        cmocka_unit_test(test_valid_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
