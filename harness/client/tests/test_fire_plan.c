/* test_fire_plan.c: fire's pure parts: the send order for --dup/--shuffle is complete and reproducible,
 * retry delays grow, jitter, cap and honour Retry-After, --clay-retries and --max-attempts give the attempts,
 * --rate reads R and Clay's N/DURATION_MS, percentiles are nearest-rank, and the report carries the counts it
 * was given (timeouts and what their resends got included). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "fire_plan.h"
#include "fire_report.h"

static void check_complete(const cw_fire_send_t *plan, size_t leads, size_t dup)
{
    unsigned *seen = calloc(leads * dup, sizeof(unsigned));
    for (size_t i = 0; i != leads * dup; ++i) {
        assert_true(plan[i].lead < leads);
        assert_true(plan[i].copy < dup);
        ++seen[plan[i].lead * dup + plan[i].copy];
    }
    for (size_t i = 0; i != leads * dup; ++i) {
        assert_int_equal(seen[i], 1);
    }
    free(seen);
}

static void test_schedule_adjacent_copies(void **state)
{
    cw_fire_send_t plan[12];
    assert_int_equal(cw_fire_schedule(4, 3, 0, 1, plan), 0);
    check_complete(plan, 4, 3);
    for (size_t i = 0; i != 12; ++i) {
        assert_int_equal(plan[i].lead, i / 3);
        assert_int_equal(plan[i].copy, i % 3);
    }
}

static void test_schedule_shuffle_deterministic(void **state)
{
    enum { LEADS = 200, DUP = 3 };
    cw_fire_send_t a[LEADS * DUP], b[LEADS * DUP], c[LEADS * DUP], plain[LEADS * DUP];
    assert_int_equal(cw_fire_schedule(LEADS, DUP, 1, 42, a), 0);
    assert_int_equal(cw_fire_schedule(LEADS, DUP, 1, 42, b), 0);
    assert_int_equal(cw_fire_schedule(LEADS, DUP, 1, 43, c), 0);
    assert_int_equal(cw_fire_schedule(LEADS, DUP, 0, 42, plain), 0);
    check_complete(a, LEADS, DUP);
    check_complete(c, LEADS, DUP);
    assert_memory_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, c, sizeof(a));
    assert_memory_not_equal(a, plain, sizeof(a));
    /* Shuffled, the copies of a lead are spread: few end up next to each other. */
    size_t adjacent = 0;
    for (size_t i = 1; i != LEADS * DUP; ++i) {
        adjacent += a[i].lead == a[i - 1].lead;
    }
    assert_true(adjacent < 30);
    /* Pinned: a change of the shuffle changes every recorded run's order, so make it deliberate. */
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i != LEADS * DUP; ++i) {
        h = (h ^ (a[i].lead * DUP + a[i].copy)) * UINT64_C(0x100000001b3);
    }
    assert_int_equal(a[0].lead, 108);
    assert_int_equal(a[0].copy, 1);
    assert_true(h == UINT64_C(11297794389616047165));
}

static void test_schedule_refuses_empty_and_huge(void **state)
{
    cw_fire_send_t one;
    assert_int_equal(cw_fire_schedule(0, 3, 0, 1, &one), -1);
    assert_int_equal(cw_fire_schedule(3, 0, 0, 1, &one), -1);
    assert_int_equal(cw_fire_schedule((size_t)CW_FIRE_MAX_SENDS, 2, 0, 1, &one), -1);
    assert_int_equal(cw_fire_schedule(1, 1, 1, 1, &one), 0);
    assert_int_equal(one.lead, 0);
}

static void test_uniform_in_range(void **state)
{
    uint64_t rng = 7;
    unsigned hist[5] = {0};
    for (int i = 0; i != 5000; ++i) {
        uint64_t v = cw_fire_uniform(&rng, 5);
        assert_true(v < 5);
        ++hist[v];
    }
    for (int i = 0; i != 5; ++i) {
        assert_true(hist[i] > 800 && hist[i] < 1200);
    }
}

static void test_retry_delay_grows_with_jitter_and_cap(void **state)
{
    cw_fire_backoff_t policy = {.base_ms = 200, .cap_ms = 10000, .retry_after_cap_ms = 60000, .max_attempts = 8};
    uint64_t rng = 1;
    for (unsigned retry = 1; retry <= 12; ++retry) {
        uint64_t step = 200;
        for (unsigned i = 1; i < retry; ++i) {
            step = step * 2 > 10000 ? 10000 : step * 2;
        }
        uint64_t lo = UINT64_MAX, hi = 0;
        for (int i = 0; i != 200; ++i) {
            uint64_t d = cw_fire_retry_delay_ms(&policy, retry, -1, &rng);
            assert_true(d >= step / 2 && d <= step);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        assert_true(hi > lo); /* jitter: not one fixed value */
    }
    /* Same state, same delays. */
    uint64_t r1 = 99, r2 = 99;
    for (int i = 0; i != 10; ++i) {
        assert_int_equal(cw_fire_retry_delay_ms(&policy, 3, -1, &r1), cw_fire_retry_delay_ms(&policy, 3, -1, &r2));
    }
}

static void test_retry_delay_honours_retry_after(void **state)
{
    cw_fire_backoff_t policy = {.base_ms = 200, .cap_ms = 10000, .retry_after_cap_ms = 60000, .max_attempts = 8};
    uint64_t rng = 5;
    assert_int_equal(cw_fire_retry_delay_ms(&policy, 1, 3000, &rng), 3000); /* longer than the backoff: wait it */
    uint64_t d = cw_fire_retry_delay_ms(&policy, 1, 0, &rng);               /* "0": the backoff still applies */
    assert_true(d >= 100 && d <= 200);
    assert_int_equal(cw_fire_retry_delay_ms(&policy, 1, 3600000, &rng), 60000); /* capped */
}

static void test_retryable(void **state)
{
    assert_true(cw_fire_retryable(0));
    assert_true(cw_fire_retryable(408));
    assert_true(cw_fire_retryable(429));
    assert_true(cw_fire_retryable(500));
    assert_true(cw_fire_retryable(503));
    assert_false(cw_fire_retryable(200));
    assert_false(cw_fire_retryable(202)); /* accepted / in_progress: success for Clay */
    assert_false(cw_fire_retryable(400));
    assert_false(cw_fire_retryable(401));
    assert_false(cw_fire_retryable(413));
}

static void test_attempts_from_clay_retries(void **state)
{
    unsigned attempts = 0;
    assert_int_equal(cw_fire_attempts(0, 0, 0, 0, &attempts), 0);
    assert_int_equal(attempts, CW_FIRE_DEFAULT_CLAY_RETRIES + 1); /* the README's recipe: 3 attempts */
    assert_int_equal(attempts, 3);
    assert_int_equal(cw_fire_attempts(1, 0, 0, 0, &attempts), 0); /* "Retry on failure" off: one attempt */
    assert_int_equal(attempts, 1);
    assert_int_equal(cw_fire_attempts(1, 5, 0, 0, &attempts), 0);
    assert_int_equal(attempts, 6);
    assert_int_equal(cw_fire_attempts(0, 0, 1, 8, &attempts), 0); /* --max-attempts 8 = --clay-retries 7 */
    assert_int_equal(attempts, 8);
    assert_int_equal(cw_fire_attempts(1, 7, 1, 8, &attempts), 0); /* both, agreeing */
    assert_int_equal(attempts, 8);
    attempts = 42;
    assert_int_equal(cw_fire_attempts(1, 3, 1, 3, &attempts), -1); /* both, disagreeing: untouched */
    assert_int_equal(attempts, 42);
}

static void test_rate_parse(void **state)
{
    double r = -1;
    assert_int_equal(cw_fire_rate_parse("10/1000", &r), 0); /* Clay's default: 10 per 1000 ms */
    assert_true(r == 10.0);
    assert_int_equal(cw_fire_rate_parse("5/1000", &r), 0);
    assert_true(r == 5.0);
    assert_int_equal(cw_fire_rate_parse("1/60000", &r), 0); /* one a minute */
    assert_true(fabs(r - 1.0 / 60.0) < 1e-12);
    assert_int_equal(cw_fire_rate_parse("3/500", &r), 0);
    assert_true(r == 6.0);
    assert_int_equal(cw_fire_rate_parse("200", &r), 0); /* rows per second, as before */
    assert_true(r == 200.0);
    assert_int_equal(cw_fire_rate_parse("0.5", &r), 0);
    assert_true(r == 0.5);
    assert_int_equal(cw_fire_rate_parse("1000000/1000", &r), 0); /* the highest */
    assert_true(r == 1e6);

    r = 7;
    static const char *const bad[] = {"",
                                      "0",
                                      "-1",
                                      "abc",
                                      "1e7",
                                      "inf",
                                      "nan",
                                      " 5",
                                      "5 ",
                                      "5/",
                                      "/1000",
                                      "0/1000",
                                      "10/0",
                                      "-1/10",
                                      "10/-1",
                                      "1.5/1000",
                                      "10/1e3",
                                      "10/1000/2",
                                      "10 /1000",
                                      "10/ 1000",
                                      "2000000/1000",
                                      "1/86400001",
                                      "99999999999999999999/1",
                                      "1/99999999999999999999"};
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        if (cw_fire_rate_parse(bad[i], &r) != -1) {
            fail_msg("'%s' was accepted", bad[i]);
        }
    }
    assert_true(r == 7); /* untouched by a refusal */
}

static void test_percentiles_nearest_rank(void **state)
{
    uint64_t v[100];
    for (int i = 0; i != 100; ++i) {
        v[i] = (uint64_t)(100 - i); /* 100..1, unsorted */
    }
    cw_fire_sort_u64(v, 100);
    assert_int_equal(v[0], 1);
    assert_int_equal(cw_fire_percentile(v, 100, 50), 50);
    assert_int_equal(cw_fire_percentile(v, 100, 90), 90);
    assert_int_equal(cw_fire_percentile(v, 100, 99), 99);
    assert_int_equal(cw_fire_percentile(v, 100, 100), 100);
    uint64_t few[] = {10, 20, 30};
    assert_int_equal(cw_fire_percentile(few, 3, 50), 20);
    assert_int_equal(cw_fire_percentile(few, 3, 99), 30);
    assert_int_equal(cw_fire_percentile(few, 3, 1), 10);
    uint64_t one[] = {7};
    assert_int_equal(cw_fire_percentile(one, 1, 50), 7);
    assert_int_equal(cw_fire_percentile(NULL, 0, 50), 0);
}

static void test_report_json(void **state)
{
    uint64_t lat[4] = {4000, 1000, 3000, 2000};
    cw_fire_stats_t s = {.target = "http://127.0.0.1:1/api/clay/enriched",
                         .scheme = "hmac",
                         .tamper = "none",
                         .source = "generated",
                         .seed = UINT64_C(18446744073709551615),
                         .num_leads = 2,
                         .dup = 2,
                         .concurrency = 4,
                         .num_sends = 4,
                         .num_attempts = 5,
                         .num_retries = 1,
                         .num_ok = 3,
                         .latency_us = lat,
                         .elapsed_us = 2000000,
                         .expected_known = 1,
                         .expected = {1, 0, 1, 1}};
    s.by_status[200] = 3;
    s.by_status[0] = 1;
    cw_fire_stats_count_result(&s, "processed");
    cw_fire_stats_count_result(&s, "duplicate");
    cw_fire_stats_count_result(&s, "processed");
    cw_fire_stats_count_result(&s, NULL);
    cw_fire_stats_finish(&s);
    char *text = cw_fire_report_json(&s);
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "seed")->valuestring, "18446744073709551615");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_status"), "200")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_status"), "error")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_result"), "processed")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_result"), "(none)")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(j, "failed")->valueint, 1);
    cJSON *lat_ms = cJSON_GetObjectItem(j, "latency_ms");
    assert_true(cJSON_GetObjectItem(lat_ms, "p50")->valuedouble == 2.0);
    assert_true(cJSON_GetObjectItem(lat_ms, "max")->valuedouble == 4.0);
    assert_true(cJSON_GetObjectItem(lat_ms, "mean")->valuedouble == 2.5);
    assert_true(cJSON_GetObjectItem(j, "achieved_rate")->valuedouble == 2.0);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "expected_deliveries"), "slack")->valueint, 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "offered_rate")));
    cJSON_Delete(j);
    free(text);

    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    cw_fire_report_human(&s, fp);
    fclose(fp);
    assert_non_null(strstr(buf, " 200=3"));
    assert_non_null(strstr(buf, "processed=2"));
    assert_non_null(strstr(buf, "outreach=1 nurture=0 zapier=1 slack=1"));
    assert_null(strstr(buf, "timed out")); /* said only when something timed out */
    free(buf);
}

static void test_report_timeouts_and_resends(void **state)
{
    uint64_t lat[3] = {1000, 1000, 1000};
    cw_fire_stats_t s = {.target = "http://127.0.0.1:1/api/clay/enriched",
                         .scheme = "static",
                         .tamper = "none",
                         .source = "generated",
                         .num_leads = 3,
                         .dup = 1,
                         .retry = 1,
                         .max_attempts = 4,
                         .timeout_ms = 500,
                         .num_sends = 3,
                         .num_attempts = 6,
                         .num_retries = 3,
                         .num_transport_errors = 3,
                         .num_timed_out = 3,
                         .num_ok = 3,
                         .latency_us = lat};
    cw_fire_stats_count_after_timeout(&s, "in_progress");
    cw_fire_stats_count_after_timeout(&s, "duplicate");
    cw_fire_stats_count_after_timeout(&s, "in_progress");
    cw_fire_stats_finish(&s);
    char *text = cw_fire_report_json(&s);
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "timed_out")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(j, "max_attempts")->valueint, 4);
    assert_int_equal(cJSON_GetObjectItem(j, "timeout_ms")->valueint, 500);
    cJSON *after = cJSON_GetObjectItem(j, "after_timeout");
    assert_int_equal(cJSON_GetObjectItem(after, "in_progress")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(after, "duplicate")->valueint, 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "by_result")), 0); /* final answers are counted apart */
    cJSON_Delete(j);
    free(text);

    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    cw_fire_report_human(&s, fp);
    fclose(fp);
    assert_non_null(
        strstr(buf, "timed out: 3 attempts unanswered after 500 ms; answers to their resends: in_progress=2 duplicate=1\n"));
    free(buf);

    s.retry = 0; /* without --retry clay: no max_attempts */
    text = cw_fire_report_json(&s);
    j = cJSON_Parse(text);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "max_attempts")));
    cJSON_Delete(j);
    free(text);
}

static void test_result_names_are_bounded(void **state)
{
    cw_fire_stats_t s = {0};
    char name[16];
    for (int i = 0; i != 40; ++i) {
        snprintf(name, sizeof(name), "r%d", i);
        cw_fire_stats_count_result(&s, name);
    }
    cw_fire_stats_count_result(&s, "a-name-far-longer-than-the-thirty-two-byte-slot");
    assert_int_equal(s.num_results, CW_FIRE_MAX_RESULTS);
    assert_string_equal(s.results[CW_FIRE_MAX_RESULTS - 1].name, "(other)");
    uint64_t total = 0;
    for (size_t i = 0; i != s.num_results; ++i) {
        total += s.results[i].count;
    }
    assert_int_equal(total, 41);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_adjacent_copies),
        cmocka_unit_test(test_schedule_shuffle_deterministic),
        cmocka_unit_test(test_schedule_refuses_empty_and_huge),
        cmocka_unit_test(test_uniform_in_range),
        cmocka_unit_test(test_retry_delay_grows_with_jitter_and_cap),
        cmocka_unit_test(test_retry_delay_honours_retry_after),
        cmocka_unit_test(test_retryable),
        cmocka_unit_test(test_attempts_from_clay_retries),
        cmocka_unit_test(test_rate_parse),
        cmocka_unit_test(test_percentiles_nearest_rank),
        cmocka_unit_test(test_report_json),
        cmocka_unit_test(test_result_names_are_bounded),
        cmocka_unit_test(test_report_timeouts_and_resends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
