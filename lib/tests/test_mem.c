/*
 * test_mem.c: cw/mem.h: allocation helpers and the growable buffer (growth
 * keeps the bytes and the NUL, printf appends of any length, reset, release).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cw/mem.h"
#include "cw/util.h"

static void test_alloc(void **state)
{
    /* Size 0 still returns a pointer that can be freed. */
    void *p = cw_malloc(0);
    assert_non_null(p);
    free(p);
    unsigned char *z = cw_calloc(16, 4);
    for (size_t i = 0; i != 64; ++i) {
        assert_int_equal(z[i], 0);
    }
    z = cw_realloc(z, 4096);
    assert_int_equal(z[63], 0); /* the old bytes are kept */
    free(z);
    char *s = cw_strdup("hello");
    assert_string_equal(s, "hello");
    free(s);
    s = cw_strndup("hello world", 5);
    assert_string_equal(s, "hello");
    free(s);
    s = cw_strndup("a\0b", 3); /* counted: NUL inside kept, one added */
    assert_memory_equal(s, "a\0b\0", 4);
    free(s);
    s = cw_strndup(NULL, 0);
    assert_string_equal(s, "");
    free(s);
}

static void test_buf_growth(void **state)
{
    cw_buf_t b = CW_BUF_INIT;
    assert_null(b.base);
    cw_buf_append(&b, "", 0);
    assert_non_null(b.base); /* an append, even empty, makes a string */
    assert_string_equal(b.base, "");
    /* 10000 appends of growing content: every byte in place, always NUL-terminated. */
    size_t expect_len = 0;
    for (size_t i = 0; i != 10000; ++i) {
        char c = (char)('a' + i % 26);
        cw_buf_append(&b, &c, 1);
        ++expect_len;
        assert_int_equal(b.len, expect_len);
        assert_true(b.cap > b.len);
        assert_int_equal(b.base[b.len], '\0');
    }
    for (size_t i = 0; i != 10000; ++i) {
        assert_int_equal(b.base[i], 'a' + i % 26);
    }
    /* One large append after small ones. */
    char *big = malloc(100000);
    memset(big, 'z', 100000);
    cw_buf_append(&b, big, 100000);
    free(big);
    assert_int_equal(b.len, 110000);
    assert_int_equal(b.base[9999], 'a' + 9999 % 26);
    assert_int_equal(b.base[10000], 'z');
    assert_int_equal(b.base[109999], 'z');
    assert_int_equal(b.base[110000], '\0');
    /* reserve makes room without changing the contents. */
    size_t cap = b.cap;
    cw_buf_reserve(&b, cap * 2);
    assert_true(b.cap >= 110000 + cap * 2 + 1);
    assert_int_equal(b.len, 110000);
    cw_buf_free(&b);
    assert_null(b.base);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

static void test_buf_appendf(void **state)
{
    cw_buf_t b = CW_BUF_INIT;
    cw_buf_appendf(&b, "%d-%s", 42, "x");
    assert_string_equal(b.base, "42-x");
    cw_buf_appends(&b, "|");
    /* Longer than the first reservation: the formatting is redone in full. */
    char long_arg[1001];
    memset(long_arg, 'q', 1000);
    long_arg[1000] = '\0';
    cw_buf_appendf(&b, "<%s>%zu", long_arg, (size_t)7);
    assert_int_equal(b.len, 5 + 1 + 1000 + 1 + 1);
    assert_memory_equal(b.base, "42-x|<", 6);
    assert_int_equal(b.base[6], 'q');
    assert_int_equal(b.base[1005], 'q');
    assert_string_equal(b.base + 1006, ">7");
    assert_int_equal(strlen(b.base), b.len);
    /* An empty format appends nothing but still terminates. */
    size_t len = b.len;
    cw_buf_appendf(&b, "%s", "");
    assert_int_equal(b.len, len);
    cw_buf_free(&b);
}

static void test_buf_append_i64(void **state)
{
    static const int64_t values[] = {0, 1, -1, 9, 10, 1795848458123, -1795848458123, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i != sizeof(values) / sizeof(values[0]); ++i) {
        cw_buf_t b = CW_BUF_INIT;
        char want[32];
        snprintf(want, sizeof(want), "x%lldy", (long long)values[i]);
        cw_buf_append(&b, "x", 1);
        cw_buf_append_i64(&b, values[i]);
        cw_buf_append(&b, "y", 1);
        assert_string_equal(b.base, want);
        assert_int_equal(b.len, strlen(want));
        cw_buf_free(&b);
    }
}

static void test_buf_reset_and_release(void **state)
{
    cw_buf_t b = CW_BUF_INIT;
    /* Releasing an untouched buffer gives an empty string the caller frees. */
    size_t len = 99;
    char *s = cw_buf_release(&b, &len);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);

    cw_buf_appends(&b, "hello");
    char *base = b.base;
    size_t cap = b.cap;
    cw_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.base, "");
    assert_ptr_equal(b.base, base); /* the memory is kept */
    assert_int_equal(b.cap, cap);
    cw_buf_appends(&b, "bye");
    s = cw_buf_release(&b, &len);
    assert_string_equal(s, "bye");
    assert_int_equal(len, 3);
    assert_null(b.base); /* the buffer no longer owns it */
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    free(s);
    /* NULL out_len is allowed; a released buffer can be used again. */
    cw_buf_append(&b, "a\0b", 3);
    s = cw_buf_release(&b, NULL);
    assert_memory_equal(s, "a\0b\0", 4);
    free(s);
    cw_buf_reset(&b); /* on an empty buffer: nothing to do, no crash */
    cw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc),
        cmocka_unit_test(test_buf_growth),
        cmocka_unit_test(test_buf_appendf),
        cmocka_unit_test(test_buf_append_i64),
        cmocka_unit_test(test_buf_reset_and_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
