/* test_mock_objmap.c: the GCS emulator's object table: generations and preconditions, delete, listing by
 * prefix with paging (every key exactly once, in order), binary-safe keys, and speed with many objects. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cw/util.h"
#include "mock_objmap.h"

static void test_put_get_generations(void **state)
{
    cw_mock_objmap_t *m = cw_mock_objmap_new(1000, 1);
    uint64_t g1 = 0, g2 = 0, g3 = 0;
    assert_null(cw_mock_objmap_get(m, CW_STRLIT("b/x")));
    assert_int_equal(cw_mock_objmap_put(m, CW_STRLIT("b/x"), CW_STRLIT("one"), 0, 5, &g1), CW_MOCK_OBJ_OK);
    assert_int_equal(g1, 1000);
    /* create-only again: refused, unchanged */
    assert_int_equal(cw_mock_objmap_put(m, CW_STRLIT("b/x"), CW_STRLIT("two"), 0, 6, &g2), CW_MOCK_OBJ_PRECONDITION);
    const cw_mock_obj_t *o = cw_mock_objmap_get(m, CW_STRLIT("b/x"));
    assert_non_null(o);
    assert_string_equal(o->data, "one");
    assert_int_equal(o->generation, g1);
    assert_int_equal(o->updated_ms, 5);
    /* compare-and-swap: the wrong generation fails, the right one succeeds with a larger generation */
    assert_int_equal(cw_mock_objmap_put(m, CW_STRLIT("b/x"), CW_STRLIT("two"), (int64_t)g1 + 7, 6, &g2), CW_MOCK_OBJ_PRECONDITION);
    assert_int_equal(cw_mock_objmap_put(m, CW_STRLIT("b/x"), CW_STRLIT("two"), (int64_t)g1, 6, &g2), CW_MOCK_OBJ_OK);
    assert_true(g2 > g1);
    /* a generation precondition on an absent object fails */
    assert_int_equal(cw_mock_objmap_put(m, CW_STRLIT("b/y"), CW_STRLIT("y"), (int64_t)g2, 6, NULL), CW_MOCK_OBJ_PRECONDITION);
    /* unconditional overwrite */
    assert_int_equal(cw_mock_objmap_put(m, CW_STRLIT("b/x"), CW_STRLIT("three!"), CW_MOCK_OBJ_ANY, 7, &g3), CW_MOCK_OBJ_OK);
    assert_true(g3 > g2);
    o = cw_mock_objmap_get(m, CW_STRLIT("b/x"));
    assert_string_equal(o->data, "three!");
    assert_int_equal(cw_mock_objmap_count(m), 1);
    assert_int_equal(cw_mock_objmap_bytes(m), 6);
    /* empty objects */
    assert_int_equal(cw_mock_objmap_put(m, CW_STRLIT("b/empty"), "", 0, 0, 8, NULL), CW_MOCK_OBJ_OK);
    o = cw_mock_objmap_get(m, CW_STRLIT("b/empty"));
    assert_int_equal(o->data_len, 0);
    assert_string_equal(o->data, "");
    cw_mock_objmap_free(m);
}

static void test_delete(void **state)
{
    cw_mock_objmap_t *m = cw_mock_objmap_new(1, 2);
    uint64_t g;
    assert_int_equal(cw_mock_objmap_delete(m, CW_STRLIT("b/x"), CW_MOCK_OBJ_ANY), CW_MOCK_OBJ_NOT_FOUND);
    assert_int_equal(cw_mock_objmap_put(m, CW_STRLIT("b/x"), CW_STRLIT("1"), 0, 0, &g), CW_MOCK_OBJ_OK);
    assert_int_equal(cw_mock_objmap_delete(m, CW_STRLIT("b/x"), 0), CW_MOCK_OBJ_PRECONDITION);
    assert_int_equal(cw_mock_objmap_delete(m, CW_STRLIT("b/x"), (int64_t)g + 1), CW_MOCK_OBJ_PRECONDITION);
    assert_int_equal(cw_mock_objmap_delete(m, CW_STRLIT("b/x"), (int64_t)g), CW_MOCK_OBJ_OK);
    assert_null(cw_mock_objmap_get(m, CW_STRLIT("b/x")));
    assert_int_equal(cw_mock_objmap_count(m), 0);
    assert_int_equal(cw_mock_objmap_bytes(m), 0);
    /* Create-only succeeds again after a delete. */
    assert_int_equal(cw_mock_objmap_put(m, CW_STRLIT("b/x"), CW_STRLIT("2"), 0, 0, NULL), CW_MOCK_OBJ_OK);
    cw_mock_objmap_free(m);
}

/* collect lists every key under |prefix| in pages of |page| and checks order; returns the count. */
static size_t collect(cw_mock_objmap_t *m, const char *prefix, size_t page, size_t *out_pages)
{
    const cw_mock_obj_t **out = calloc(page, sizeof(*out));
    char *after = NULL;
    size_t after_len = 0, total = 0, pages = 0;
    for (;;) {
        int truncated = 0;
        size_t n = cw_mock_objmap_list(m, prefix, strlen(prefix), after, after_len, page, out, &truncated);
        ++pages;
        for (size_t i = 0; i != n; ++i) {
            assert_true(out[i]->key_len >= strlen(prefix));
            assert_memory_equal(out[i]->key, prefix, strlen(prefix));
            if (after != NULL) {
                assert_true(strcmp(after, out[i]->key) < 0);
            }
            free(after);
            after = strdup(out[i]->key);
            after_len = out[i]->key_len;
        }
        total += n;
        assert_true(n <= page);
        if (!truncated) {
            break;
        }
        assert_int_equal(n, page);
    }
    free(after);
    free(out);
    if (out_pages != NULL) {
        *out_pages = pages;
    }
    return total;
}

static void test_list_prefix_and_paging(void **state)
{
    cw_mock_objmap_t *m = cw_mock_objmap_new(1, 3);
    char key[64];
    /* Two buckets, several prefixes, inserted in an interleaved order. */
    for (int i = 0; i != 500; ++i) {
        int j = (i * 7919) % 500;
        int n = snprintf(key, sizeof(key), "b/events/%04d", j);
        assert_int_equal(cw_mock_objmap_put(m, key, (size_t)n, "x", 1, 0, 0, NULL), CW_MOCK_OBJ_OK);
        n = snprintf(key, sizeof(key), "b/pending/%04d", j);
        if (j % 3 == 0) {
            assert_int_equal(cw_mock_objmap_put(m, key, (size_t)n, "x", 1, 0, 0, NULL), CW_MOCK_OBJ_OK);
        }
        n = snprintf(key, sizeof(key), "c/events/%04d", j);
        assert_int_equal(cw_mock_objmap_put(m, key, (size_t)n, "x", 1, 0, 0, NULL), CW_MOCK_OBJ_OK);
    }
    assert_int_equal(cw_mock_objmap_put(m, CW_STRLIT("b/events"), "x", 1, 0, 0, NULL), CW_MOCK_OBJ_OK);
    assert_int_equal(cw_mock_objmap_put(m, CW_STRLIT("b/eventz"), "x", 1, 0, 0, NULL), CW_MOCK_OBJ_OK);
    size_t pages;
    assert_int_equal(collect(m, "b/events/", 1000, &pages), 500);
    assert_int_equal(pages, 1);
    assert_int_equal(collect(m, "b/events/", 7, &pages), 500);
    assert_int_equal(pages, 72); /* 71 full pages and a last one of 3 */
    assert_int_equal(collect(m, "b/events/", 100, &pages), 500);
    assert_int_equal(pages, 5);                                /* a full last page is not marked truncated */
    assert_int_equal(collect(m, "b/events", 1000, NULL), 501); /* not b/eventz */
    assert_int_equal(collect(m, "b/pending/", 10, NULL), 167);
    assert_int_equal(collect(m, "b/", 33, NULL), 500 + 167 + 2);
    assert_int_equal(collect(m, "c/", 1000, NULL), 500);
    assert_int_equal(collect(m, "", 1000, NULL), 500 + 167 + 2 + 500);
    assert_int_equal(collect(m, "d/", 10, NULL), 0);
    assert_int_equal(collect(m, "b/events/0499", 10, NULL), 1);
    assert_int_equal(collect(m, "b/events/05", 10, NULL), 0);

    /* Starting after a key that is not stored. */
    const cw_mock_obj_t *out[5];
    int truncated = 0;
    size_t n = cw_mock_objmap_list(m, CW_STRLIT("b/events/"), CW_STRLIT("b/events/0100x"), 5, out, &truncated);
    assert_int_equal(n, 5);
    assert_true(truncated);
    assert_string_equal(out[0]->key, "b/events/0101");
    assert_string_equal(out[4]->key, "b/events/0105");
    /* Starting after a key before the prefix changes nothing. */
    n = cw_mock_objmap_list(m, CW_STRLIT("b/pending/"), CW_STRLIT("a"), 1, out, &truncated);
    assert_int_equal(n, 1);
    assert_string_equal(out[0]->key, "b/pending/0000");
    /* After the last key: nothing, not truncated. */
    n = cw_mock_objmap_list(m, CW_STRLIT("b/pending/"), CW_STRLIT("b/pending/0498"), 5, out, &truncated);
    assert_int_equal(n, 0);
    assert_false(truncated);
    cw_mock_objmap_free(m);
}

static void test_binary_keys_sort_bytewise(void **state)
{
    cw_mock_objmap_t *m = cw_mock_objmap_new(1, 4);
    const char *keys[] = {"b/a", "b/a\xc3\xa9", "b/a b", "b/A", "b/a/b", "b/a-"};
    for (size_t i = 0; i != sizeof(keys) / sizeof(keys[0]); ++i) {
        assert_int_equal(cw_mock_objmap_put(m, keys[i], strlen(keys[i]), "v", 1, 0, 0, NULL), CW_MOCK_OBJ_OK);
    }
    const cw_mock_obj_t *out[10];
    size_t n = cw_mock_objmap_list(m, CW_STRLIT("b/"), NULL, 0, 10, out, NULL);
    assert_int_equal(n, 6);
    const char *want[] = {"b/A", "b/a", "b/a b", "b/a-", "b/a/b", "b/a\xc3\xa9"};
    for (size_t i = 0; i != n; ++i) {
        assert_string_equal(out[i]->key, want[i]);
    }
    cw_mock_objmap_free(m);
}

static void test_many_objects_fast(void **state)
{
    /* 20000 keys inserted in sorted order (the worst case of an unbalanced tree), listed by prefix
     * page by page: with a balanced tree this takes milliseconds, quadratic behaviour would take seconds. */
    cw_mock_objmap_t *m = cw_mock_objmap_new(1, 5);
    char key[64];
    uint64_t start = cw_now_ms();
    for (int i = 0; i != 20000; ++i) {
        int n = snprintf(key, sizeof(key), "bucket/p/%s/%06d", i % 2 ? "done" : "events", i);
        assert_int_equal(cw_mock_objmap_put(m, key, (size_t)n, key, (size_t)n, 0, 0, NULL), CW_MOCK_OBJ_OK);
    }
    for (int round = 0; round != 20; ++round) {
        assert_int_equal(collect(m, "bucket/p/done/", 1000, NULL), 10000);
        assert_int_equal(collect(m, "bucket/p/events/0000", 1000, NULL), 50);
    }
    for (int i = 0; i != 20000; i += 2) {
        int n = snprintf(key, sizeof(key), "bucket/p/events/%06d", i);
        assert_int_equal(cw_mock_objmap_delete(m, key, (size_t)n, CW_MOCK_OBJ_ANY), CW_MOCK_OBJ_OK);
    }
    assert_int_equal(cw_mock_objmap_count(m), 10000);
    assert_int_equal(collect(m, "bucket/p/events/", 1000, NULL), 0);
    uint64_t elapsed = cw_now_ms() - start;
    assert_true(elapsed < 3000);
    cw_mock_objmap_clear(m);
    assert_int_equal(cw_mock_objmap_count(m), 0);
    /* Generations keep growing across a clear. */
    uint64_t g;
    assert_int_equal(cw_mock_objmap_put(m, CW_STRLIT("b/x"), "", 0, 0, 0, &g), CW_MOCK_OBJ_OK);
    assert_int_equal(g, 20001);
    cw_mock_objmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_generations),    cmocka_unit_test(test_delete),
        cmocka_unit_test(test_list_prefix_and_paging), cmocka_unit_test(test_binary_keys_sort_bytewise),
        cmocka_unit_test(test_many_objects_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
