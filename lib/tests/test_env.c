/*
 * test_env.c: every cw_env_* reader with unset, empty, good and bad values:
 * defaults apply when unset or empty, a bad value returns -1 and records one
 * line that starts with the variable's name and says what is accepted, and
 * the first error wins.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cw/env.h"
#include "cw/util.h"

#define VAR "CW_TEST_ENV_VALUE"
#define VAR2 "CW_TEST_ENV_OTHER"

static void set(const char *name, const char *value)
{
    if (value == NULL) {
        unsetenv(name);
    } else {
        setenv(name, value, 1);
    }
}

static int setup(void **state)
{
    unsetenv(VAR);
    unsetenv(VAR2);
    return 0;
}

/* assert_error checks that |env| failed once, naming |name| first and containing |words|. */
static void assert_error(const cw_env_t *env, const char *name, const char *words)
{
    assert_true(env->failed);
    size_t n = strlen(name);
    if (strncmp(env->error, name, n) != 0 || strncmp(env->error + n, ": ", 2) != 0) {
        fail_msg("error does not start with \"%s: \": %s", name, env->error);
    }
    if (strstr(env->error, words) == NULL) {
        fail_msg("error lacks \"%s\": %s", words, env->error);
    }
    assert_null(strchr(env->error, '\n'));
}

static void test_u64(void **state)
{
    static const struct {
        const char *value;
        uint64_t want;
    } good[] = {{NULL, 7}, {"", 7}, {"1", 1}, {"42", 42}, {" 42 ", 42}, {"100", 100}, {"0010", 10}};
    for (size_t i = 0; i != CW_ARRAY_SIZE(good); ++i) {
        cw_env_t env = {0};
        uint64_t out = 12345;
        set(VAR, good[i].value);
        assert_int_equal(cw_env_u64(&env, VAR, 7, 1, 100, &out), 0);
        assert_int_equal(out, good[i].want);
        assert_false(env.failed);
        assert_string_equal(env.error, "");
    }
    static const char *const bad[] = {
        "0", "101", "-1", "+5", "12x", "1.5", "0x10", "abc", " ", "1 2", "99999999999999999999999999"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(bad); ++i) {
        cw_env_t env = {0};
        uint64_t out = 12345;
        set(VAR, bad[i]);
        assert_int_equal(cw_env_u64(&env, VAR, 7, 1, 100, &out), -1);
        assert_error(&env, VAR, "must be a whole number from 1 to 100");
    }
    /* The whole range of uint64_t. */
    cw_env_t env = {0};
    uint64_t out = 0;
    set(VAR, "18446744073709551615");
    assert_int_equal(cw_env_u64(&env, VAR, 0, 0, UINT64_MAX, &out), 0);
    assert_true(out == UINT64_MAX);
    set(VAR, "18446744073709551616");
    assert_int_equal(cw_env_u64(&env, VAR, 0, 0, UINT64_MAX, &out), -1);
    assert_error(&env, VAR, "18446744073709551615");
}

static void test_bool(void **state)
{
    static const struct {
        const char *value;
        int want;
    } good[] = {{"1", 1}, {"true", 1},  {"TRUE", 1},  {"yes", 1}, {"Yes", 1}, {"on", 1},  {"ON", 1},
                {"0", 0}, {"false", 0}, {"False", 0}, {"no", 0},  {"NO", 0},  {"off", 0}, {"Off", 0}};
    for (size_t i = 0; i != CW_ARRAY_SIZE(good); ++i) {
        cw_env_t env = {0};
        int out = -1;
        set(VAR, good[i].value);
        assert_int_equal(cw_env_bool(&env, VAR, 1 - good[i].want, &out), 0);
        assert_int_equal(out, good[i].want);
        assert_false(env.failed);
    }
    for (int def = 0; def != 2; ++def) {
        cw_env_t env = {0};
        int out = -1;
        set(VAR, NULL);
        assert_int_equal(cw_env_bool(&env, VAR, def, &out), 0);
        assert_int_equal(out, def);
        set(VAR, "");
        assert_int_equal(cw_env_bool(&env, VAR, def, &out), 0);
        assert_int_equal(out, def);
    }
    static const char *const bad[] = {"2", "-1", "y", "n", "truee", "enabled", " 1", "1 "};
    for (size_t i = 0; i != CW_ARRAY_SIZE(bad); ++i) {
        cw_env_t env = {0};
        int out = -1;
        set(VAR, bad[i]);
        assert_int_equal(cw_env_bool(&env, VAR, 0, &out), -1);
        assert_error(&env, VAR, "must be 1 or 0");
    }
}

static void test_str(void **state)
{
    set(VAR, NULL);
    assert_null(cw_env_str(VAR, NULL));
    assert_string_equal(cw_env_str(VAR, "dflt"), "dflt");
    set(VAR, "");
    assert_string_equal(cw_env_str(VAR, "dflt"), "dflt");
    assert_null(cw_env_str(VAR, NULL));
    set(VAR, "  spaced value, kept as is ");
    assert_string_equal(cw_env_str(VAR, "dflt"), "  spaced value, kept as is ");
}

static void test_url(void **state)
{
    static const char *const good[] = {"http://example.com", "https://example.com/hook?x=1", "HTTPS://Example.com:8443/",
                                       "http://127.0.0.1:9000/sinks/outreach", "http://[::1]:80/"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(good); ++i) {
        cw_env_t env = {0};
        const char *out = NULL;
        set(VAR, good[i]);
        assert_int_equal(cw_env_url(&env, VAR, NULL, &out), 0);
        assert_string_equal(out, good[i]);
        assert_false(env.failed);
    }
    /* Unset: the default, which may be NULL (the feature is off). */
    cw_env_t env = {0};
    const char *out = "x";
    set(VAR, NULL);
    assert_int_equal(cw_env_url(&env, VAR, NULL, &out), 0);
    assert_null(out);
    assert_int_equal(cw_env_url(&env, VAR, "http://default.example", &out), 0);
    assert_string_equal(out, "http://default.example");
    set(VAR, "");
    assert_int_equal(cw_env_url(&env, VAR, NULL, &out), 0);
    assert_null(out);
    assert_false(env.failed);

    static const struct {
        const char *value;
        const char *words;
    } bad[] = {
        {"ftp://example.com", "must be an http:// or https:// URL"},
        {"example.com", "must be an http:// or https:// URL"},
        {"file:///etc/passwd", "must be an http:// or https:// URL"},
        {"http://", "with a host"},
        {"https:///path", "with a host"},
        {"http://exa mple.com", "with a host"},
        {"http://example.com/\r\nX-Injected: 1", "with a host"},
    };
    for (size_t i = 0; i != CW_ARRAY_SIZE(bad); ++i) {
        cw_env_t e = {0};
        set(VAR, bad[i].value);
        assert_int_equal(cw_env_url(&e, VAR, NULL, &out), -1);
        assert_error(&e, VAR, bad[i].words);
    }
}

static void test_enum(void **state)
{
    static const char *const levels[] = {"debug", "info", "warning", "error", NULL};
    cw_env_t env = {0};
    size_t out = 99;
    set(VAR, NULL);
    assert_int_equal(cw_env_enum(&env, VAR, levels, 1, &out), 0);
    assert_int_equal(out, 1);
    set(VAR, "");
    out = 99;
    assert_int_equal(cw_env_enum(&env, VAR, levels, 2, &out), 0);
    assert_int_equal(out, 2);
    set(VAR, "debug");
    assert_int_equal(cw_env_enum(&env, VAR, levels, 1, &out), 0);
    assert_int_equal(out, 0);
    set(VAR, "ERROR");
    assert_int_equal(cw_env_enum(&env, VAR, levels, 1, &out), 0);
    assert_int_equal(out, 3);
    assert_false(env.failed);

    static const char *const bad[] = {"verbose", "warn", "info ", "0"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(bad); ++i) {
        cw_env_t e = {0};
        set(VAR, bad[i]);
        assert_int_equal(cw_env_enum(&e, VAR, levels, 1, &out), -1);
        assert_error(&e, VAR, "must be one of: debug, info, warning, error");
    }
}

static void test_first_error_wins(void **state)
{
    cw_env_t env = {0};
    uint64_t n;
    int b;
    set(VAR, "lots");
    set(VAR2, "maybe");
    assert_int_equal(cw_env_u64(&env, VAR, 1, 0, 10, &n), -1);
    assert_int_equal(cw_env_bool(&env, VAR2, 0, &b), -1);
    assert_error(&env, VAR, "whole number");
    assert_null(strstr(env.error, VAR2));
    /* A later good read still succeeds and does not clear the failure. */
    set(VAR2, "1");
    assert_int_equal(cw_env_bool(&env, VAR2, 0, &b), 0);
    assert_int_equal(b, 1);
    assert_true(env.failed);
    assert_error(&env, VAR, "whole number");
}

static void test_fail_formats_and_truncates(void **state)
{
    cw_env_t env = {0};
    assert_int_equal(cw_env_fail(&env, "STORE_URL", "refused on Cloud Run (%s)", "file:"), -1);
    assert_string_equal(env.error, "STORE_URL: refused on Cloud Run (file:)");
    assert_int_equal(cw_env_fail(&env, "OTHER", "second"), -1);
    assert_string_equal(env.error, "STORE_URL: refused on Cloud Run (file:)");

    /* A message longer than the buffer is cut, still NUL-terminated and still naming the variable. */
    char long_detail[2000];
    memset(long_detail, 'x', sizeof(long_detail) - 1);
    long_detail[sizeof(long_detail) - 1] = '\0';
    cw_env_t e = {0};
    assert_int_equal(cw_env_fail(&e, "PORT", "%s", long_detail), -1);
    assert_true(e.failed);
    assert_int_equal(strlen(e.error), sizeof(e.error) - 1);
    assert_int_equal(strncmp(e.error, "PORT: xxx", 9), 0);
}

static void test_cpus(void **state)
{
    size_t n = cw_env_cpus();
    assert_true(n >= 1);
    assert_true(n <= 4096);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_u64, setup),
        cmocka_unit_test_setup(test_bool, setup),
        cmocka_unit_test_setup(test_str, setup),
        cmocka_unit_test_setup(test_url, setup),
        cmocka_unit_test_setup(test_enum, setup),
        cmocka_unit_test_setup(test_first_error_wins, setup),
        cmocka_unit_test_setup(test_fail_formats_and_truncates, setup),
        cmocka_unit_test(test_cpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
