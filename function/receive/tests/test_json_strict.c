/*
 * test_json_strict.c: the strict RFC 8259 check: what it accepts and refuses,
 * the position and reason it reports, and the "value expected" mark that makes
 * the Clay hint (issue 15) and the leading-zero refusal (issue 12).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "cw/util.h"
#include "json_strict.h"

static int check(const char *s, cw_json_strict_error_t *err)
{
    /* a copy of exactly the text's size: ASan sees any read past it */
    size_t len = strlen(s);
    char *copy = malloc(len != 0 ? len : 1);
    memcpy(copy, s, len);
    int ok = cw_json_strict_check(copy, len, 64, err);
    free(copy);
    return ok;
}

static void test_accepts_rfc8259(void **state)
{
    static const char *const good[] = {
        "{}",
        "[]",
        " \t\r\n{ } \n",
        "0",
        "-0",
        "-0.5e+10",
        "1E-2",
        "123.456",
        "\"\"",
        "true",
        "false",
        "null",
        "{\"a\":[1,2,{\"b\":null}],\"c\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"}",
        "{\"icp_score\": \"85\", \"email\": \"\", \"zip\": \"0042\"}",
        "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
        "\xef\xbb\xbf{\"bom\":1}",
        "{\"a\":1,\"a\":2}",
    };
    for (size_t i = 0; i != CW_ARRAY_SIZE(good); ++i) {
        cw_json_strict_error_t err = {0};
        if (!check(good[i], &err)) {
            fail_msg("%s: refused at byte %zu: %s", good[i], err.offset, err.reason);
        }
        /* what the check accepts, cJSON parses */
        cJSON *json = cJSON_Parse(good[i]);
        assert_non_null(json);
        cJSON_Delete(json);
    }
}

typedef struct st_bad_case_t {
    const char *text;
    size_t offset;
    int value_expected;
    const char *reason; /* a substring of the reason */
} bad_case_t;

static void test_refuses_with_position(void **state)
{
    static const bad_case_t bad[] = {
        /* what an unquoted Clay token renders as: the hint cases */
        {"{\"icp_score\": }", 14, 1, "expected a value"},
        {"{\"icp_score\": , \"a\": 1}", 14, 1, "expected a value"},
        {"{\"zip\": 0042}", 8, 1, "leading zero"},
        {"{\"n\": -01}", 6, 1, "leading zero"},
        {"{\"company\": Acme Corp}", 12, 1, "expected a value"},
        {"[1,]", 3, 1, "expected a value"},
        {"[,1]", 1, 1, "expected a value"},
        {"{\"a\": tru}", 6, 1, "expected a value"},
        {"{\"a\": -}", 6, 1, "'-'"},
        /* other syntax errors: no hint */
        {"", 0, 0, "ends too early"},
        {"{\"a\":1", 6, 0, "ends too early"},
        {"{\"a\" 1}", 5, 0, "':'"},
        {"{a:1}", 1, 0, "member name"},
        {"{\"a\":1,}", 7, 0, "member name"},
        {"{\"a\":1]", 6, 0, "'}'"},
        {"[1}", 2, 0, "']'"},
        {"{} x", 3, 0, "after the JSON value"},
        {"{}{}", 2, 0, "after the JSON value"},
        {"1.", 2, 0, "decimal point"},
        {"1e", 2, 0, "exponent"},
        {".5", 0, 1, "expected a value"},
        {"+1", 0, 1, "expected a value"},
        {"\"abc", 4, 0, "unterminated"},
        {"\"a\tb\"", 2, 0, "control character"},
        {"\"\\x\"", 1, 0, "invalid escape"},
        {"\"\\u12\"", 1, 0, "4 hex digits"},
        {"\"\\uDC00\"", 1, 0, "lone low surrogate"},
        {"\"\\uD800\"", 1, 0, "lone high surrogate"},
        {"\"\\uD800\\u0041\"", 1, 0, "lone high surrogate"},
        {"\"\xc3\x28\"", 1, 0, "UTF-8"},
        {"\"\xed\xa0\x80\"", 1, 0, "UTF-8"},
        {"NaN", 0, 1, "expected a value"},
        {"\v{}", 0, 1, "expected a value"},
        {"{\"a\":1}\xef\xbb\xbf", 7, 0, "after the JSON value"},
    };
    for (size_t i = 0; i != CW_ARRAY_SIZE(bad); ++i) {
        cw_json_strict_error_t err = {0};
        if (check(bad[i].text, &err)) {
            fail_msg("%s: accepted", bad[i].text);
        }
        assert_non_null(err.reason);
        if (err.offset != bad[i].offset || err.value_expected != bad[i].value_expected ||
            strstr(err.reason, bad[i].reason) == NULL) {
            fail_msg("%s: got byte %zu, value_expected %d, \"%s\"; want byte %zu, %d, \"%s\"", bad[i].text, err.offset,
                     err.value_expected, err.reason, bad[i].offset, bad[i].value_expected, bad[i].reason);
        }
    }
}

static void test_line_and_column(void **state)
{
    cw_json_strict_error_t err = {0};
    assert_false(check("{\n  \"email\": \"a@b.c\",\n  \"icp_score\": \n}", &err));
    assert_int_equal(err.line, 4);
    assert_int_equal(err.column, 1);
    assert_int_equal(err.value_expected, 1);
    assert_false(check("{\"a\":\n 0042}", &err));
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 2);
    assert_int_equal(err.offset, 7);
    /* a NULL error is fine */
    assert_int_equal(cw_json_strict_check("{", 1, 64, NULL), 0);
    assert_int_equal(cw_json_strict_check("{}", 2, 64, NULL), 1);
}

static void test_depth(void **state)
{
    char text[256];
    cw_json_strict_error_t err = {0};
    for (size_t depth = 1; depth != 100; ++depth) {
        for (size_t i = 0; i != depth; ++i) {
            text[i] = '[';
            text[2 * depth - 1 - i] = ']';
        }
        int ok = cw_json_strict_check(text, 2 * depth, 64, &err);
        assert_int_equal(ok, depth <= 64);
        if (!ok) {
            assert_int_equal(err.offset, 64);
            assert_non_null(strstr(err.reason, "deep"));
        }
    }
    /* a zero max_depth refuses any container but takes a scalar */
    assert_int_equal(cw_json_strict_check("[]", 2, 0, NULL), 0);
    assert_int_equal(cw_json_strict_check("1", 1, 0, NULL), 1);
    /* mixed containers close by kind */
    assert_true(check("[{\"a\":[{\"b\":[]}]}]", &err));
    assert_false(check("[{\"a\":[{\"b\":[]]}]}", &err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_rfc8259),
        cmocka_unit_test(test_refuses_with_position),
        cmocka_unit_test(test_line_and_column),
        cmocka_unit_test(test_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
