/*
 * test_store_conformance.c: one suite of store semantics run against every
 * backend. The stores are the space-separated URLs in CW_CONFORMANCE_STORES
 * (e2e scripts add the GCS emulator, Azurite, ...); unset, a fresh temporary
 * file: directory. Only the cw_store_* API is used, and every object name
 * starts with a random run prefix, so reruns against a persistent store never
 * collide; the suite deletes what it created.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "cw/http.h"
#include "cw/loop.h"
#include "cw/util.h"
#include "store.h"
#include "store_test_util.h"

enum {
    NUM_RACERS = 32,
    NUM_PAGED = 1050, /* past the 1000-name page of GCS, S3 and Azure listings */
    MAX_IN_FLIGHT = 64,
};

/* The store under test; cmocka's group state cannot carry the URL in. */
static struct {
    const char *url; /* the current URL; may hold a secret, so never printed */
    cw_store_t *store;
    cw_http_t *http; /* NULL until a store needs HTTP */
    cw_loop_t loop;
    char run[40]; /* "conformance/<16 hex>" */
} g;

/* name writes "<run>/<test>/<leaf>" into |out|. */
static void make_name(char *out, size_t out_size, const char *test, const char *leaf)
{
    snprintf(out, out_size, "%s/%s/%s", g.run, test, leaf);
}

static int group_setup(void **state)
{
    (void)state;
    char err[512];
    uint8_t rnd[8];
    char hex[sizeof(rnd) * 2 + 1];
    cw_random_bytes(rnd, sizeof(rnd));
    cw_hex_encode(hex, rnd, sizeof(rnd));
    snprintf(g.run, sizeof(g.run), "conformance/%s", hex);
    if ((g.store = cw_store_open(g.url, g.http, err, sizeof(err))) == NULL) {
        fprintf(stderr, "cannot open the store: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    cw_store_close(g.store);
    g.store = NULL;
    return 0;
}

/* run_many submits |num| operations through |submit|(i, result), keeping at
 * most MAX_IN_FLIGHT outstanding, and waits for all. Returns 0, or -1 on timeout. */
static int run_many(size_t num, void (*submit)(size_t i, st_result_t *r), st_result_t *results)
{
    size_t done = 0, next = 0;
    while (done < num) {
        while (next < num && next - done < MAX_IN_FLIGHT) {
            results[next].counter = &done;
            submit(next, &results[next]);
            ++next;
        }
        size_t target = done + 1;
        if (st_run_until(&g.loop, &done, target, ST_TIMEOUT_MS) != 0) {
            return -1;
        }
    }
    return 0;
}

static void delete_quietly(const char *name)
{
    st_result_t r = {0};
    st_delete(g.store, &g.loop, name, &r);
    st_result_free(&r);
}

static void test_create_twice(void **state)
{
    (void)state;
    char name[256];
    st_result_t r = {0};
    make_name(name, sizeof(name), "twice", "obj");

    assert_int_equal(st_create(g.store, &g.loop, name, CW_STRLIT("first"), &r), 0);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(st_create(g.store, &g.loop, name, CW_STRLIT("second"), &r), 0);
    assert_int_equal(r.status, CW_STORE_EXISTS);
    assert_non_null(r.detail);
    assert_int_equal(st_get(g.store, &g.loop, name, &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(r.data_len, 5);
    assert_memory_equal(r.data, "first", 5);
    delete_quietly(name);
    st_result_free(&r);
}

static void test_concurrent_creates_one_winner(void **state)
{
    (void)state;
    char name[256], bodies[NUM_RACERS][32];
    st_result_t results[NUM_RACERS];
    memset(results, 0, sizeof(results));
    size_t n = 0;
    make_name(name, sizeof(name), "race", "obj");

    for (size_t i = 0; i != NUM_RACERS; ++i) {
        snprintf(bodies[i], sizeof(bodies[i]), "racer %zu", i);
        results[i].counter = &n;
        cw_store_create(g.store, &g.loop, name, bodies[i], strlen(bodies[i]), st_capture, &results[i]);
    }
    assert_int_equal(st_run_until(&g.loop, &n, NUM_RACERS, ST_TIMEOUT_MS), 0);
    size_t num_ok = 0, num_exists = 0, winner = 0;
    for (size_t i = 0; i != NUM_RACERS; ++i) {
        assert_int_equal(results[i].done, 1);
        if (results[i].status == CW_STORE_OK) {
            ++num_ok;
            winner = i;
        } else if (results[i].status == CW_STORE_EXISTS) {
            ++num_exists;
        } else {
            print_error("racer %zu: %s: %s\n", i, cw_store_status_name(results[i].status), results[i].detail);
        }
        st_result_free(&results[i]);
    }
    assert_int_equal(num_ok, 1);
    assert_int_equal(num_exists, NUM_RACERS - 1);

    /* the stored body is the winner's */
    st_result_t r = {0};
    assert_int_equal(st_get(g.store, &g.loop, name, &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_string_equal(r.data, bodies[winner]);
    delete_quietly(name);
    st_result_free(&r);
}

static void test_get_and_delete(void **state)
{
    (void)state;
    char name[256], missing[256];
    st_result_t r = {0};
    make_name(name, sizeof(name), "getdel", "obj");
    make_name(missing, sizeof(missing), "getdel", "missing");

    assert_int_equal(st_get(g.store, &g.loop, missing, &r), 0);
    assert_int_equal(r.status, CW_STORE_NOT_FOUND);
    assert_null(r.data);
    assert_int_equal(st_delete(g.store, &g.loop, missing, &r), 0);
    assert_int_equal(r.status, CW_STORE_NOT_FOUND);

    /* bytes come back exactly, NUL and high bytes included */
    static const char bin[] = {'{', '"', 'a', '"', ':', '1', '}', '\0', '\r', '\n', (char)0x80, (char)0xff};
    assert_int_equal(st_create(g.store, &g.loop, name, bin, sizeof(bin), &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(st_get(g.store, &g.loop, name, &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(r.data_len, sizeof(bin));
    assert_memory_equal(r.data, bin, sizeof(bin));
    assert_int_equal(r.data[r.data_len], '\0');

    assert_int_equal(st_delete(g.store, &g.loop, name, &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(st_get(g.store, &g.loop, name, &r), 0);
    assert_int_equal(r.status, CW_STORE_NOT_FOUND);
    assert_int_equal(st_delete(g.store, &g.loop, name, &r), 0);
    assert_int_equal(r.status, CW_STORE_NOT_FOUND);

    /* a deleted name can be created again; an empty body is an object */
    assert_int_equal(st_create(g.store, &g.loop, name, NULL, 0, &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(st_get(g.store, &g.loop, name, &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(r.data_len, 0);
    delete_quietly(name);

    /* a bad name is refused before reaching any backend */
    assert_int_equal(st_get(g.store, &g.loop, "../escape", &r), 0);
    assert_int_equal(r.status, CW_STORE_DENIED);
    st_result_free(&r);
}

static void test_list_prefix_and_max(void **state)
{
    (void)state;
    static const char *const leaves[] = {"b/2", "a/1", "b/1", "c", "b/3/x", "bb/1"};
    char name[256], prefix[256];
    st_result_t r = {0};

    for (size_t i = 0; i != CW_ARRAY_SIZE(leaves); ++i) {
        make_name(name, sizeof(name), "list", leaves[i]);
        assert_int_equal(st_create(g.store, &g.loop, name, CW_STRLIT("x"), &r), 0);
        assert_int_equal(r.status, CW_STORE_OK);
    }

    /* a folder prefix: everything below it, at any depth, sorted */
    static const char *const in_b[] = {"b/1", "b/2", "b/3/x"};
    make_name(prefix, sizeof(prefix), "list", "b/");
    assert_int_equal(st_list(g.store, &g.loop, prefix, 100, &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(r.num_names, CW_ARRAY_SIZE(in_b));
    for (size_t i = 0; i != CW_ARRAY_SIZE(in_b); ++i) {
        make_name(name, sizeof(name), "list", in_b[i]);
        assert_string_equal(r.names[i], name);
    }
    /* a partial prefix matches across folders */
    make_name(prefix, sizeof(prefix), "list", "b");
    assert_int_equal(st_list(g.store, &g.loop, prefix, 100, &r), 0);
    assert_int_equal(r.num_names, 4);
    make_name(name, sizeof(name), "list", "bb/1");
    assert_string_equal(r.names[3], name);
    /* max_names keeps the first names in order */
    make_name(prefix, sizeof(prefix), "list", "");
    assert_int_equal(st_list(g.store, &g.loop, prefix, 2, &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(r.num_names, 2);
    make_name(name, sizeof(name), "list", "a/1");
    assert_string_equal(r.names[0], name);
    make_name(name, sizeof(name), "list", "b/1");
    assert_string_equal(r.names[1], name);
    assert_int_equal(st_list(g.store, &g.loop, prefix, 100, &r), 0);
    assert_int_equal(r.num_names, CW_ARRAY_SIZE(leaves));
    /* nothing there: OK and empty */
    make_name(prefix, sizeof(prefix), "list", "none/");
    assert_int_equal(st_list(g.store, &g.loop, prefix, 100, &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(r.num_names, 0);
    assert_null(r.names);

    for (size_t i = 0; i != CW_ARRAY_SIZE(leaves); ++i) {
        make_name(name, sizeof(name), "list", leaves[i]);
        delete_quietly(name);
    }
    st_result_free(&r);
}

static void paged_name(char *out, size_t out_size, size_t i)
{
    char leaf[32];
    snprintf(leaf, sizeof(leaf), "obj-%05zu", i);
    make_name(out, out_size, "paged", leaf);
}

static void submit_paged_create(size_t i, st_result_t *r)
{
    char name[256], body[32];
    paged_name(name, sizeof(name), i);
    snprintf(body, sizeof(body), "%zu", i);
    cw_store_create(g.store, &g.loop, name, body, strlen(body), st_capture, r);
}

static void submit_paged_delete(size_t i, st_result_t *r)
{
    char name[256];
    paged_name(name, sizeof(name), i);
    cw_store_delete(g.store, &g.loop, name, st_capture, r);
}

static void test_list_pages_past_1000(void **state)
{
    (void)state;
    char name[256], prefix[256];
    st_result_t *results = cw_calloc(NUM_PAGED, sizeof(*results));
    st_result_t r = {0};

    assert_int_equal(run_many(NUM_PAGED, submit_paged_create, results), 0);
    for (size_t i = 0; i != NUM_PAGED; ++i) {
        if (results[i].status == CW_STORE_EXISTS) {
            /* An HTTP store may commit a write whose answer is lost; the client's retry then hears
             * "exists". That is only our own write if the object holds our bytes (the lifecycle
             * resolves it the same way, with its claim token). */
            char body[32];
            snprintf(body, sizeof(body), "%zu", i);
            paged_name(name, sizeof(name), i);
            st_result_t again = {0};
            assert_int_equal(st_get(g.store, &g.loop, name, &again), 0);
            assert_int_equal(again.status, CW_STORE_OK);
            assert_string_equal(again.data, body);
            fprintf(stderr, "note: create of %s answered exists after its own write landed (a retried request)\n", name);
            st_result_free(&again);
        } else {
            assert_int_equal(results[i].status, CW_STORE_OK);
        }
        st_result_free(&results[i]);
    }

    make_name(prefix, sizeof(prefix), "paged", "");
    assert_int_equal(st_list(g.store, &g.loop, prefix, NUM_PAGED * 2, &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(r.num_names, NUM_PAGED);
    for (size_t i = 0; i != NUM_PAGED; ++i) {
        paged_name(name, sizeof(name), i);
        assert_string_equal(r.names[i], name);
    }
    /* a cap inside the second page stops there */
    assert_int_equal(st_list(g.store, &g.loop, prefix, 1003, &r), 0);
    assert_int_equal(r.num_names, 1003);
    paged_name(name, sizeof(name), 1002);
    assert_string_equal(r.names[1002], name);

    assert_int_equal(run_many(NUM_PAGED, submit_paged_delete, results), 0);
    for (size_t i = 0; i != NUM_PAGED; ++i) {
        assert_int_equal(results[i].status, CW_STORE_OK);
        st_result_free(&results[i]);
    }
    assert_int_equal(st_list(g.store, &g.loop, prefix, NUM_PAGED * 2, &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(r.num_names, 0);
    free(results);
    st_result_free(&r);
}

/* scheme_of writes the URL's scheme (never the rest, which may hold a token). */
static void scheme_of(const char *url, char *out, size_t out_size)
{
    size_t len = strcspn(url, ":");
    snprintf(out, out_size, "%.*s", (int)(len > 16 ? 16 : len), url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_twice),         cmocka_unit_test(test_concurrent_creates_one_winner),
        cmocka_unit_test(test_get_and_delete),       cmocka_unit_test(test_list_prefix_and_max),
        cmocka_unit_test(test_list_pages_past_1000),
    };
    char *temp_dir = NULL, *urls;
    const char *env = getenv("CW_CONFORMANCE_STORES");
    int failures = 0;

    if (env != NULL && strspn(env, " \t") != strlen(env)) {
        urls = cw_strdup(env);
    } else {
        if ((temp_dir = st_make_temp_dir("conformance")) == NULL) {
            perror("mkdtemp");
            return 1;
        }
        size_t len = strlen("file:") + strlen(temp_dir) + 1;
        urls = cw_malloc(len);
        snprintf(urls, len, "file:%s", temp_dir);
    }

    cw_loop_init(&g.loop);
    size_t index = 0;
    for (char *p = urls;;) {
        p += strspn(p, " \t");
        if (*p == '\0') {
            break;
        }
        char *url = p;
        p += strcspn(p, " \t");
        if (*p != '\0') {
            *p++ = '\0';
        }
        char scheme[20], group[64];
        scheme_of(url, scheme, sizeof(scheme));
        snprintf(group, sizeof(group), "store %zu (%s)", index++, scheme);
        if (g.http == NULL && strncmp(url, "file:", 5) != 0 && (g.http = cw_http_new()) == NULL) {
            fprintf(stderr, "cannot start the HTTP client\n");
            failures++;
            break;
        }
        g.url = url;
        if (cmocka_run_group_tests_name(group, tests, group_setup, group_teardown) != 0) {
            failures++;
        }
    }
    if (g.http != NULL) {
        cw_http_free(g.http);
    }
    cw_loop_dispose(&g.loop, 1);
    free(urls);
    if (temp_dir != NULL) {
        st_remove_tree(temp_dir);
        free(temp_dir);
    }
    return failures != 0 ? 1 : 0;
}
