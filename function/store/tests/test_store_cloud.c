/*
 * test_store_cloud.c: the shared layer of the HTTP backends (store_cloud.c).
 * A backend whose request cannot even be built (a signing failure) completes
 * through the loop like any other failure, never inside the caller's
 * cw_store_* call, whatever the operation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cw/loop.h"
#include "cw/util.h"
#include "store.h"
#include "store_cloud.h"

static cw_loop_t loop;
static int depth;      /* 1 while the test is inside a cw_store_* call */
static int sends;      /* send hook calls */
static int sign_fails; /* 1: the send hook cannot build its request */

typedef struct st_seen_t {
    int done;
    int depth_at_completion;
    cw_store_status_t status;
    char detail[200];
} seen_t;

static void on_done(const cw_store_result_t *res, void *data)
{
    seen_t *seen = data;
    ++seen->done;
    seen->depth_at_completion = depth;
    seen->status = res->status;
    snprintf(seen->detail, sizeof(seen->detail), "%s", res->detail);
}

static void fake_send(cw_cloud_op_t *op)
{
    ++sends;
    assert_true(sign_fails);
    cw_cloud_finish(op, CW_STORE_DENIED, "fake %s: could not sign the request", cw_cloud_op_name(op));
}

static const cw_cloud_hooks_t fake_hooks = {.send = fake_send};

static void fake_destroy(cw_store_t *store)
{
    cw_cloud_store_dispose((cw_cloud_store_t *)store);
    free(store);
}

static const cw_store_backend_t fake_backend = {
    .name = "fake",
    .create = cw_cloud_create,
    .get = cw_cloud_get,
    .del = cw_cloud_delete,
    .list = cw_cloud_list,
    .destroy = fake_destroy,
};

static cw_store_t *fake_store(void)
{
    cw_cloud_store_t *cs = cw_calloc(1, sizeof(*cs));
    cw_cloud_store_init(cs, &fake_backend, &fake_hooks, NULL, "fake://bucket", "");
    return &cs->super;
}

static void run_until_done(seen_t *seen)
{
    for (int i = 0; i != 100 && !seen->done; ++i) {
        assert_int_equal(cw_loop_run_once(&loop), 0);
    }
}

static void check_async_failure(cw_store_op_t op)
{
    cw_store_t *store = fake_store();
    seen_t seen = {0};
    sign_fails = 1;
    sends = 0;
    depth = 1;
    switch (op) {
    case CW_STORE_OP_CREATE:
        cw_store_create(store, &loop, "events/abc", "{}", 2, on_done, &seen);
        break;
    case CW_STORE_OP_GET:
        cw_store_get(store, &loop, "readyz-probe", on_done, &seen);
        break;
    case CW_STORE_OP_DELETE:
        cw_store_delete(store, &loop, "pending/abc", on_done, &seen);
        break;
    case CW_STORE_OP_LIST:
        cw_store_list(store, &loop, "quota/", 10, on_done, &seen);
        break;
    }
    depth = 0;
    assert_int_equal(sends, 1);
    /* the failure is known, but the caller's frame is gone before its callback runs */
    assert_int_equal(seen.done, 0);
    run_until_done(&seen);
    assert_int_equal(seen.done, 1);
    assert_int_equal(seen.depth_at_completion, 0);
    assert_int_equal(seen.status, CW_STORE_DENIED);
    assert_non_null(strstr(seen.detail, "could not sign the request"));
    cw_store_close(store);
}

static void test_create_sign_failure_is_async(void **state)
{
    check_async_failure(CW_STORE_OP_CREATE);
}

static void test_get_sign_failure_is_async(void **state)
{
    check_async_failure(CW_STORE_OP_GET);
}

static void test_delete_sign_failure_is_async(void **state)
{
    check_async_failure(CW_STORE_OP_DELETE);
}

static void test_list_sign_failure_is_async(void **state)
{
    check_async_failure(CW_STORE_OP_LIST);
}

static int setup(void **state)
{
    return cw_loop_init(&loop);
}

static int teardown(void **state)
{
    cw_loop_dispose(&loop, 1);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_sign_failure_is_async),
        cmocka_unit_test(test_get_sign_failure_is_async),
        cmocka_unit_test(test_delete_sign_failure_is_async),
        cmocka_unit_test(test_list_sign_failure_is_async),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
