/*
 * test_metrics.c: exact Prometheus text rendering, re-registration, type
 * mismatches and lock-free updates from several threads.
 */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "cw/metrics.h"
#include "cw/util.h"

static int reset(void **state)
{
    (void)state;
    cw_metrics_reset_for_tests();
    return 0;
}

static void assert_render(const char *expected)
{
    cw_buf_t buf = CW_BUF_INIT;
    cw_metrics_render(&buf);
    assert_string_equal(buf.base != NULL ? buf.base : "", expected);
    cw_buf_free(&buf);
}

static void test_empty_registry(void **state)
{
    (void)state;
    assert_render("");
}

static void test_small_registry_renders_exactly(void **state)
{
    (void)state;
    static const double bounds[] = {0.125, 1, 10};

    cw_counter_t *accepted = cw_metrics_counter("cw_callbacks_total", "Callbacks by outcome.", "outcome=\"accepted\"");
    cw_gauge_t *pending = cw_metrics_gauge("cw_pending", "Pending events.", NULL);
    /* A later series of the first family still renders with that family. */
    cw_counter_t *rejected = cw_metrics_counter("cw_callbacks_total", "Callbacks by outcome.", "outcome=\"rejected\"");
    cw_histogram_t *latency =
        cw_metrics_histogram("cw_latency_seconds", "Latency.\nSecond line with \\ backslash", "sink=\"slack\"", bounds, 3);
    cw_gauge_t *temp = cw_metrics_gauge("cw_temperature", "Can go below zero.", "");

    cw_counter_inc(accepted);
    cw_counter_inc(accepted);
    cw_counter_inc(accepted);
    cw_counter_add(rejected, 2);
    cw_gauge_set(pending, 7);
    cw_gauge_add(pending, -2);
    cw_gauge_set(temp, -3);
    cw_histogram_observe(latency, 0.25);
    cw_histogram_observe(latency, 0.125); /* le is inclusive */
    cw_histogram_observe(latency, 0.5);
    cw_histogram_observe(latency, 20);

    assert_int_equal(cw_counter_get(accepted), 3);
    assert_int_equal(cw_gauge_get(pending), 5);
    assert_int_equal(cw_histogram_count(latency), 4);
    assert_render("# HELP cw_callbacks_total Callbacks by outcome.\n"
                  "# TYPE cw_callbacks_total counter\n"
                  "cw_callbacks_total{outcome=\"accepted\"} 3\n"
                  "cw_callbacks_total{outcome=\"rejected\"} 2\n"
                  "# HELP cw_pending Pending events.\n"
                  "# TYPE cw_pending gauge\n"
                  "cw_pending 5\n"
                  "# HELP cw_latency_seconds Latency.\\nSecond line with \\\\ backslash\n"
                  "# TYPE cw_latency_seconds histogram\n"
                  "cw_latency_seconds_bucket{sink=\"slack\",le=\"0.125\"} 1\n"
                  "cw_latency_seconds_bucket{sink=\"slack\",le=\"1\"} 3\n"
                  "cw_latency_seconds_bucket{sink=\"slack\",le=\"10\"} 3\n"
                  "cw_latency_seconds_bucket{sink=\"slack\",le=\"+Inf\"} 4\n"
                  "cw_latency_seconds_sum{sink=\"slack\"} 20.875\n"
                  "cw_latency_seconds_count{sink=\"slack\"} 4\n"
                  "# HELP cw_temperature Can go below zero.\n"
                  "# TYPE cw_temperature gauge\n"
                  "cw_temperature -3\n");
}

static void test_labelless_histogram_default_bounds(void **state)
{
    (void)state;
    cw_histogram_t *h = cw_metrics_histogram("cw_store_seconds", "Store latency.", NULL, NULL, 0);
    cw_histogram_observe(h, 0.003);
    cw_histogram_observe(h, 0.0005);
    assert_render("# HELP cw_store_seconds Store latency.\n"
                  "# TYPE cw_store_seconds histogram\n"
                  "cw_store_seconds_bucket{le=\"0.0005\"} 1\n"
                  "cw_store_seconds_bucket{le=\"0.001\"} 1\n"
                  "cw_store_seconds_bucket{le=\"0.0025\"} 1\n"
                  "cw_store_seconds_bucket{le=\"0.005\"} 2\n"
                  "cw_store_seconds_bucket{le=\"0.01\"} 2\n"
                  "cw_store_seconds_bucket{le=\"0.025\"} 2\n"
                  "cw_store_seconds_bucket{le=\"0.05\"} 2\n"
                  "cw_store_seconds_bucket{le=\"0.1\"} 2\n"
                  "cw_store_seconds_bucket{le=\"0.25\"} 2\n"
                  "cw_store_seconds_bucket{le=\"0.5\"} 2\n"
                  "cw_store_seconds_bucket{le=\"1\"} 2\n"
                  "cw_store_seconds_bucket{le=\"2.5\"} 2\n"
                  "cw_store_seconds_bucket{le=\"5\"} 2\n"
                  "cw_store_seconds_bucket{le=\"10\"} 2\n"
                  "cw_store_seconds_bucket{le=\"+Inf\"} 2\n"
                  "cw_store_seconds_sum 0.0035\n"
                  "cw_store_seconds_count 2\n");
}

static void test_buckets_are_cumulative(void **state)
{
    (void)state;
    static const double bounds[] = {1, 2, 3, 4};
    cw_histogram_t *h = cw_metrics_histogram("h", "", NULL, bounds, CW_ARRAY_SIZE(bounds));
    /* One observation per bucket, two beyond the last bound, NaN ignored. */
    const double values[] = {0.5, 1.5, 2.5, 3.5, 100, 1e300, -7};
    for (size_t i = 0; i != CW_ARRAY_SIZE(values); ++i) {
        cw_histogram_observe(h, values[i]);
    }
    cw_histogram_observe(h, NAN);
    assert_int_equal(cw_histogram_count(h), 7);

    cw_buf_t buf = CW_BUF_INIT;
    cw_metrics_render(&buf);
    static const char *const expected_lines[] = {"h_bucket{le=\"1\"} 2\n", "h_bucket{le=\"2\"} 3\n",    "h_bucket{le=\"3\"} 4\n",
                                                 "h_bucket{le=\"4\"} 5\n", "h_bucket{le=\"+Inf\"} 7\n", "h_count 7\n"};
    const char *prev = buf.base;
    for (size_t i = 0; i != CW_ARRAY_SIZE(expected_lines); ++i) {
        const char *at = strstr(buf.base, expected_lines[i]);
        assert_non_null(at);
        assert_true(at >= prev);
        prev = at;
    }
    /* No help: no HELP line. */
    assert_null(strstr(buf.base, "# HELP"));
    assert_non_null(strstr(buf.base, "# TYPE h histogram\n"));
    cw_buf_free(&buf);
}

static void test_reregistration_returns_same_pointer(void **state)
{
    (void)state;
    cw_counter_t *a = cw_metrics_counter("c_total", "help", "k=\"1\"");
    cw_counter_t *b = cw_metrics_counter("c_total", "other help is ignored", "k=\"1\"");
    cw_counter_t *c = cw_metrics_counter("c_total", "help", "k=\"2\"");
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    /* NULL and "" are both "no labels". */
    cw_gauge_t *g1 = cw_metrics_gauge("g", "help", NULL);
    cw_gauge_t *g2 = cw_metrics_gauge("g", "help", "");
    assert_ptr_equal(g1, g2);
    static const double bounds[] = {1};
    cw_histogram_t *h1 = cw_metrics_histogram("h_seconds", "help", NULL, NULL, 0);
    cw_histogram_t *h2 = cw_metrics_histogram("h_seconds", "help", NULL, bounds, 1);
    assert_ptr_equal(h1, h2);
    /* Many more series and families than the first allocation holds: pointers stay put. */
    char name[32];
    for (int i = 0; i != 100; ++i) {
        snprintf(name, sizeof(name), "fam_%d", i);
        cw_metrics_counter(name, "x", NULL);
        snprintf(name, sizeof(name), "k=\"%d\"", i + 10);
        cw_metrics_counter("c_total", "help", name);
    }
    assert_ptr_equal(cw_metrics_counter("c_total", "help", "k=\"1\""), a);
    assert_ptr_equal(cw_metrics_gauge("g", NULL, NULL), g1);
}

static void test_type_mismatch_aborts(void **state)
{
    (void)state;
    cw_metrics_counter("dual", "help", NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Keep the expected fatal message out of the test output. */
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 2);
        }
        cw_metrics_gauge("dual", "help", NULL);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

#define NUM_THREADS 4
#define ITERATIONS 100000

typedef struct {
    cw_counter_t *counter;
    cw_gauge_t *gauge;
    cw_histogram_t *histogram;
} shared_t;

static void *updater_main(void *p)
{
    shared_t *s = p;
    for (int i = 0; i != ITERATIONS; ++i) {
        cw_counter_inc(s->counter);
        cw_gauge_add(s->gauge, 2);
        cw_gauge_add(s->gauge, -1);
        cw_histogram_observe(s->histogram, (i & 1) != 0 ? 0.5 : 2);
    }
    return NULL;
}

static void test_concurrent_updates_sum_exactly(void **state)
{
    (void)state;
    static const double bounds[] = {1};
    shared_t s = {
        .counter = cw_metrics_counter("conc_total", "h", NULL),
        .gauge = cw_metrics_gauge("conc_gauge", "h", NULL),
        .histogram = cw_metrics_histogram("conc_seconds", "h", NULL, bounds, 1),
    };
    pthread_t threads[NUM_THREADS];
    for (int t = 0; t != NUM_THREADS; ++t) {
        assert_int_equal(pthread_create(&threads[t], NULL, updater_main, &s), 0);
    }
    /* Rendering while updates run must be safe. */
    for (int i = 0; i != 20; ++i) {
        cw_buf_t buf = CW_BUF_INIT;
        cw_metrics_render(&buf);
        cw_buf_free(&buf);
    }
    for (int t = 0; t != NUM_THREADS; ++t) {
        pthread_join(threads[t], NULL);
    }
    assert_int_equal(cw_counter_get(s.counter), NUM_THREADS * ITERATIONS);
    assert_int_equal(cw_gauge_get(s.gauge), NUM_THREADS * ITERATIONS);
    assert_int_equal(cw_histogram_count(s.histogram), NUM_THREADS * ITERATIONS);

    /* Halves and twos add exactly in a double: the CAS loop lost nothing. */
    cw_buf_t buf = CW_BUF_INIT;
    cw_metrics_render(&buf);
    assert_non_null(strstr(buf.base, "conc_total 400000\n"));
    assert_non_null(strstr(buf.base, "conc_gauge 400000\n"));
    assert_non_null(strstr(buf.base, "conc_seconds_bucket{le=\"1\"} 200000\n"));
    assert_non_null(strstr(buf.base, "conc_seconds_bucket{le=\"+Inf\"} 400000\n"));
    assert_non_null(strstr(buf.base, "conc_seconds_sum 500000\n"));
    assert_non_null(strstr(buf.base, "conc_seconds_count 400000\n"));
    cw_buf_free(&buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_empty_registry, reset),
        cmocka_unit_test_teardown(test_small_registry_renders_exactly, reset),
        cmocka_unit_test_teardown(test_labelless_histogram_default_bounds, reset),
        cmocka_unit_test_teardown(test_buckets_are_cumulative, reset),
        cmocka_unit_test_teardown(test_reregistration_returns_same_pointer, reset),
        cmocka_unit_test_teardown(test_type_mismatch_aborts, reset),
        cmocka_unit_test_teardown(test_concurrent_updates_sum_exactly, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
