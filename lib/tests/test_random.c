/*
 * test_random.c: cw/random.h: splitmix64 against Vigna's reference outputs
 * (generated leads, fixtures and the mock's fault draws depend on the exact
 * sequence), and the CSPRNG filling what it is asked to.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "cw/random.h"

static void test_splitmix64_reference(void **state)
{
    /* Seed 0, from Vigna's splitmix64.c. */
    uint64_t st = 0;
    assert_int_equal(cw_splitmix64(&st), UINT64_C(0xe220a8397b1dcdaf));
    assert_int_equal(cw_splitmix64(&st), UINT64_C(0x6e789e6aa1b965f4));
    assert_int_equal(cw_splitmix64(&st), UINT64_C(0x06c45d188009454f));
    /* The state advances by the golden gamma each call. */
    assert_int_equal(st, UINT64_C(3) * UINT64_C(0x9e3779b97f4a7c15));
    /* The same seed repeats; a neighbouring one does not. */
    uint64_t a = 42, b = 42, c = 43;
    int differs = 0;
    for (int i = 0; i != 1000; ++i) {
        uint64_t x = cw_splitmix64(&a);
        assert_int_equal(x, cw_splitmix64(&b));
        differs |= x != cw_splitmix64(&c);
    }
    assert_true(differs);
}

static void test_random_bytes(void **state)
{
    uint8_t buf[64];
    memset(buf, 0, sizeof(buf));
    cw_random_bytes(buf, sizeof(buf));
    /* 64 random bytes all zero has probability 2^-512. */
    int nonzero = 0;
    for (size_t i = 0; i != sizeof(buf); ++i) {
        nonzero |= buf[i] != 0;
    }
    assert_true(nonzero);
    /* Two draws differ (probability of a collision 2^-64). */
    assert_true(cw_random_u64() != cw_random_u64());
    cw_random_bytes(buf, 0); /* nothing asked, nothing done */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_splitmix64_reference),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
