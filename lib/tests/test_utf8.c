/*
 * test_utf8.c: the strict UTF-8 decoder (cw/utf8.h): every scalar value round
 * trips, every invalid class is refused (overlongs, surrogates, > U+10FFFF,
 * stray and missing continuation bytes, truncation), the maximal subparts a
 * replacement covers, and the valid prefix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "cw/utf8.h"
#include "cw/util.h"

#define U(s) (const uint8_t *)(s), (sizeof(s) - 1)

static size_t encode(uint8_t *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (uint8_t)(0xf0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

static void assert_invalid(const uint8_t *s, size_t len, size_t maximal_subpart)
{
    uint32_t cp = 0x12345;
    assert_int_equal(cw_utf8_decode(s, len, &cp), 0);
    assert_int_equal(cp, 0x12345); /* untouched */
    assert_int_equal(cw_utf8_invalid_len(s, len), maximal_subpart);
    assert_int_equal(cw_utf8_valid_prefix(s, len), 0);
}

static void test_every_scalar_value_round_trips(void **state)
{
    uint8_t buf[4];
    for (uint32_t cp = 0; cp <= 0x10ffff; ++cp) {
        if (cp == 0xd800) {
            cp = 0xe000;
        }
        size_t n = encode(buf, cp);
        uint32_t got = 0xffffffff;
        if (cw_utf8_decode(buf, n, &got) != n || got != cp) {
            fail_msg("U+%04X does not round-trip", (unsigned)cp);
        }
        /* One byte short is truncation, never a shorter sequence. */
        if (n > 1 && cw_utf8_decode(buf, n - 1, NULL) != 0) {
            fail_msg("U+%04X cut short decodes", (unsigned)cp);
        }
    }
}

static void test_valid_boundaries(void **state)
{
    uint32_t cp;
    assert_int_equal(cw_utf8_decode(U("\0"), &cp), 1);
    assert_int_equal(cp, 0);
    assert_int_equal(cw_utf8_decode(U("\x7f"), &cp), 1);
    assert_int_equal(cp, 0x7f);
    assert_int_equal(cw_utf8_decode(U("\xc2\x80"), &cp), 2);
    assert_int_equal(cp, 0x80);
    assert_int_equal(cw_utf8_decode(U("\xc3\xa9z"), &cp), 2); /* é, trailing bytes ignored */
    assert_int_equal(cp, 0xe9);
    assert_int_equal(cw_utf8_decode(U("\xdf\xbf"), &cp), 2);
    assert_int_equal(cp, 0x7ff);
    assert_int_equal(cw_utf8_decode(U("\xe0\xa0\x80"), &cp), 3);
    assert_int_equal(cp, 0x800);
    assert_int_equal(cw_utf8_decode(U("\xe2\x82\xac"), &cp), 3); /* € */
    assert_int_equal(cp, 0x20ac);
    assert_int_equal(cw_utf8_decode(U("\xed\x9f\xbf"), &cp), 3);
    assert_int_equal(cp, 0xd7ff);
    assert_int_equal(cw_utf8_decode(U("\xee\x80\x80"), &cp), 3);
    assert_int_equal(cp, 0xe000);
    assert_int_equal(cw_utf8_decode(U("\xef\xbf\xbf"), &cp), 3);
    assert_int_equal(cp, 0xffff);
    assert_int_equal(cw_utf8_decode(U("\xf0\x90\x80\x80"), &cp), 4);
    assert_int_equal(cp, 0x10000);
    assert_int_equal(cw_utf8_decode(U("\xf0\x9f\x98\x80"), &cp), 4); /* U+1F600 */
    assert_int_equal(cp, 0x1f600);
    assert_int_equal(cw_utf8_decode(U("\xf4\x8f\xbf\xbf"), &cp), 4);
    assert_int_equal(cp, 0x10ffff);
    /* |out_cp| may be NULL; an empty input is no sequence. */
    assert_int_equal(cw_utf8_decode(U("\xe2\x82\xac"), NULL), 3);
    assert_int_equal(cw_utf8_decode((const uint8_t *)"", 0, NULL), 0);
}

static void test_invalid_classes(void **state)
{
    /* Stray continuation bytes. */
    assert_invalid(U("\x80"), 1);
    assert_invalid(U("\xbf\x80"), 1);
    /* Overlong forms: C0 and C1 leads, E0 80..9F, F0 80..8F. */
    assert_invalid(U("\xc0\x80"), 1);
    assert_invalid(U("\xc1\xbf"), 1);
    assert_invalid(U("\xe0\x80\x80"), 1);
    assert_invalid(U("\xe0\x9f\xbf"), 1);
    assert_invalid(U("\xf0\x80\x80\x80"), 1);
    assert_invalid(U("\xf0\x8f\xbf\xbf"), 1);
    /* UTF-16 surrogates U+D800..U+DFFF. */
    assert_invalid(U("\xed\xa0\x80"), 1);
    assert_invalid(U("\xed\xbf\xbf"), 1);
    /* Beyond U+10FFFF: F4 90.., F5..F7 leads; F8..FF never appear. */
    assert_invalid(U("\xf4\x90\x80\x80"), 1);
    assert_invalid(U("\xf5\x80\x80\x80"), 1);
    assert_invalid(U("\xf7\xbf\xbf\xbf"), 1);
    assert_invalid(U("\xf8\x88\x80\x80\x80"), 1);
    assert_invalid(U("\xfe"), 1);
    assert_invalid(U("\xff"), 1);
    /* A non-continuation byte inside a sequence: the prefix before it is the subpart. */
    assert_invalid(U("\xc3z"), 1);
    assert_invalid(U("\xc3\xc3\xa9"), 1);
    assert_invalid(U("\xe2\x82z"), 2);
    assert_invalid(U("\xe2\x82\xc0"), 2);
    assert_invalid(U("\xf0\x9f\x98z"), 3);
    assert_invalid(U("\xf0\x9fz"), 2);
    assert_invalid(U("\xf0z"), 1);
}

static void test_truncation(void **state)
{
    assert_invalid(U("\xc3"), 1);
    assert_invalid(U("\xe2"), 1);
    assert_invalid(U("\xe2\x82"), 2);
    assert_invalid(U("\xf0"), 1);
    assert_invalid(U("\xf0\x9f"), 2);
    assert_invalid(U("\xf0\x9f\x98"), 3);
    /* The length given is what counts, not the bytes beyond it. */
    assert_int_equal(cw_utf8_decode((const uint8_t *)"\xe2\x82\xac", 2, NULL), 0);
    assert_int_equal(cw_utf8_invalid_len((const uint8_t *)"\xe2\x82\xac", 2), 2);
}

static void test_every_two_byte_input(void **state)
{
    /* Exhaustively against the definition: 2 bytes decode iff lead C2..DF and a continuation byte. */
    for (unsigned a = 0x80; a <= 0xff; ++a) {
        for (unsigned b = 0; b <= 0xff; ++b) {
            uint8_t s[2] = {(uint8_t)a, (uint8_t)b};
            uint32_t cp = 0;
            size_t n = cw_utf8_decode(s, 2, &cp);
            int want = a >= 0xc2 && a <= 0xdf && b >= 0x80 && b <= 0xbf;
            if (n != (want ? 2u : 0u) || (want && cp != (((a & 0x1fu) << 6) | (b & 0x3fu)))) {
                fail_msg("%02x %02x: got %zu", a, b, n);
            }
        }
    }
}

static void test_valid_prefix(void **state)
{
    assert_int_equal(cw_utf8_valid_prefix(U("")), 0);
    assert_int_equal(cw_utf8_valid_prefix(U("plain ascii")), 11);
    assert_int_equal(cw_utf8_valid_prefix(U("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")), 14);
    assert_int_equal(cw_utf8_valid_prefix((const uint8_t *)"a\0b", 3), 3); /* NUL is valid UTF-8 */
    assert_int_equal(cw_utf8_valid_prefix(U("caf\xc3")), 3);               /* truncated at the end */
    assert_int_equal(cw_utf8_valid_prefix(U("ab\xed\xa0\x80 cd")), 2);     /* surrogate */
    assert_int_equal(cw_utf8_valid_prefix(U("\xc3\xa9\xc0\xaf")), 2);      /* overlong after a valid one */
    assert_int_equal(cw_utf8_valid_prefix(U("x\x80")), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_scalar_value_round_trips),
        cmocka_unit_test(test_valid_boundaries),
        cmocka_unit_test(test_invalid_classes),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_every_two_byte_input),
        cmocka_unit_test(test_valid_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
