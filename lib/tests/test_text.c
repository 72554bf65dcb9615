/*
 * test_text.c: cw/text.h: hex both ways, percent-decoding, bounded decimal
 * parsing, whitespace trimming and ASCII case-insensitive comparison.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "cw/text.h"
#include "cw/util.h"

static void test_hex_encode(void **state)
{
    static const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof(in) + 1];
    memset(out, 'x', sizeof(out));
    cw_hex_encode(out, in, sizeof(in));
    assert_string_equal(out, "00017f80abff");
    cw_hex_encode(out, in, 0);
    assert_string_equal(out, "");
}

static void test_hex_decode(void **state)
{
    uint8_t out[4];
    assert_int_equal(cw_hex_decode(out, 4, CW_STRLIT("deadBEEF")), 0);
    assert_int_equal(out[0], 0xde);
    assert_int_equal(out[1], 0xad);
    assert_int_equal(out[2], 0xbe);
    assert_int_equal(out[3], 0xef);
    /* The length must be exactly twice the output. */
    assert_int_equal(cw_hex_decode(out, 4, CW_STRLIT("deadbee")), -1);
    assert_int_equal(cw_hex_decode(out, 4, CW_STRLIT("deadbeef00")), -1);
    assert_int_equal(cw_hex_decode(out, 3, CW_STRLIT("deadbeef")), -1);
    /* Every non-hex byte is refused, in either nibble. */
    assert_int_equal(cw_hex_decode(out, 1, CW_STRLIT("0g")), -1);
    assert_int_equal(cw_hex_decode(out, 1, CW_STRLIT("g0")), -1);
    assert_int_equal(cw_hex_decode(out, 1, CW_STRLIT(" 0")), -1);
    assert_int_equal(cw_hex_decode(out, 1, "0\0", 2), -1);
    /* Round trip of every byte value. */
    uint8_t all[256], back[256];
    char hex[513];
    for (size_t i = 0; i != 256; ++i) {
        all[i] = (uint8_t)i;
    }
    cw_hex_encode(hex, all, sizeof(all));
    assert_int_equal(cw_hex_decode(back, sizeof(back), hex, 512), 0);
    assert_memory_equal(all, back, sizeof(all));
}

static void test_url_decode(void **state)
{
    cw_buf_t b = CW_BUF_INIT;
    assert_int_equal(cw_url_decode(&b, CW_STRLIT("a%2Fb%2fc+d%20e"), 0), 0);
    assert_string_equal(b.base, "a/b/c+d e");
    cw_buf_reset(&b);
    assert_int_equal(cw_url_decode(&b, CW_STRLIT("q=a+b%2B"), 1), 0);
    assert_string_equal(b.base, "q=a b+");
    /* NUL and high bytes decode as they are. */
    cw_buf_reset(&b);
    assert_int_equal(cw_url_decode(&b, CW_STRLIT("%00%C3%A9"), 0), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.base, "\0\xc3\xa9", 3);
    /* Appends to what is there. */
    assert_int_equal(cw_url_decode(&b, CW_STRLIT("!"), 0), 0);
    assert_int_equal(b.len, 4);
    /* Truncated and non-hex escapes fail. */
    static const char *const bad[] = {"%", "%2", "a%2", "%zz", "%2g", "%g2"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(bad); ++i) {
        cw_buf_reset(&b);
        assert_int_equal(cw_url_decode(&b, bad[i], strlen(bad[i]), 0), -1);
    }
    cw_buf_free(&b);
}

static void test_parse_u64(void **state)
{
    uint64_t v = 7;
    assert_int_equal(cw_parse_u64(CW_STRLIT("0"), 0, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(cw_parse_u64(CW_STRLIT(" \t42 "), 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(cw_parse_u64(CW_STRLIT("18446744073709551615"), 0, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    /* Bounds are inclusive; failures leave |out| alone. */
    v = 7;
    assert_int_equal(cw_parse_u64(CW_STRLIT("10"), 10, 10, &v), 0);
    assert_int_equal(v, 10);
    v = 7;
    assert_int_equal(cw_parse_u64(CW_STRLIT("9"), 10, 20, &v), -1);
    assert_int_equal(cw_parse_u64(CW_STRLIT("21"), 10, 20, &v), -1);
    assert_int_equal(v, 7);
    /* Not a whole decimal integer. */
    static const char *const bad[] = {
        "", "   ", "-1", "+1", "1.0", "1e3", "0x10", "1 2", "12a", "18446744073709551616", "99999999999999999999"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(bad); ++i) {
        assert_int_equal(cw_parse_u64(bad[i], strlen(bad[i]), 0, UINT64_MAX, &v), -1);
    }
    /* Only |len| bytes count. */
    assert_int_equal(cw_parse_u64("123456", 3, 0, 1000, &v), 0);
    assert_int_equal(v, 123);
    /* Newlines are not the spaces allowed around the number. */
    assert_int_equal(cw_parse_u64(CW_STRLIT("5\n"), 0, 10, &v), -1);
}

static void test_trim_ws(void **state)
{
    const char *s = " \t\r\n\v\fhello world\f\v\n\r\t ";
    size_t len = strlen(s);
    cw_trim_ws(&s, &len);
    assert_int_equal(len, 11);
    assert_memory_equal(s, "hello world", 11);
    /* All whitespace trims to nothing; nothing stays nothing. */
    s = " \t\n ";
    len = 4;
    cw_trim_ws(&s, &len);
    assert_int_equal(len, 0);
    len = 0;
    cw_trim_ws(&s, &len);
    assert_int_equal(len, 0);
    /* NUL and non-breaking spaces are not whitespace. */
    s = "\0x\0";
    len = 3;
    cw_trim_ws(&s, &len);
    assert_int_equal(len, 3);
    s = "\xc2\xa0x";
    len = 3;
    cw_trim_ws(&s, &len);
    assert_int_equal(len, 3);
}

static void test_memeq_ci(void **state)
{
    assert_int_equal(cw_memeq_ci(CW_STRLIT("Content-Type"), CW_STRLIT("content-type")), 1);
    assert_int_equal(cw_memeq_ci(CW_STRLIT("ABCXYZ"), CW_STRLIT("abcxyz")), 1);
    assert_int_equal(cw_memeq_ci(CW_STRLIT(""), CW_STRLIT("")), 1);
    assert_int_equal(cw_memeq_ci(CW_STRLIT("abc"), CW_STRLIT("abcd")), 0);
    assert_int_equal(cw_memeq_ci(CW_STRLIT("abc"), CW_STRLIT("abd")), 0);
    /* ASCII letters only: '@' and '`' sit next to 'A' and 'a' but are not letters. */
    assert_int_equal(cw_memeq_ci(CW_STRLIT("@"), CW_STRLIT("`")), 0);
    assert_int_equal(cw_memeq_ci(CW_STRLIT("["), CW_STRLIT("{")), 0);
    assert_int_equal(cw_memeq_ci(CW_STRLIT("\xc3\x89"), CW_STRLIT("\xc3\xa9")), 0); /* É and é */
    /* Embedded NUL compares like any byte. */
    assert_int_equal(cw_memeq_ci("a\0B", 3, "A\0b", 3), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_encode), cmocka_unit_test(test_hex_decode), cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_parse_u64),  cmocka_unit_test(test_trim_ws),    cmocka_unit_test(test_memeq_ci),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
