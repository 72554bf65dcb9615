/*
 * test_clay_client.c: answer classification (the token bucket is tested in
 * lib/tests/test_bucket.c), the URL list, backoff bounds, quota block arithmetic,
 * JSON minification, and one-attempt submissions against a loopback server
 * (headers sent, Retry-After read, no retry by the HTTP layer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>
#include "cw/server.h"
#include "cw/util.h"
#include "clay_client.h"

static void test_classify(void **state)
{
    assert_int_equal(cw_clay_classify(CW_HTTP_OK, 200), CW_CLAY_ACCEPTED);
    assert_int_equal(cw_clay_classify(CW_HTTP_OK, 202), CW_CLAY_ACCEPTED);
    assert_int_equal(cw_clay_classify(CW_HTTP_OK, 429), CW_CLAY_RATE_LIMITED);
    assert_int_equal(cw_clay_classify(CW_HTTP_OK, 500), CW_CLAY_RETRY);
    assert_int_equal(cw_clay_classify(CW_HTTP_OK, 503), CW_CLAY_RETRY);
    assert_int_equal(cw_clay_classify(CW_HTTP_OK, 408), CW_CLAY_RETRY);
    assert_int_equal(cw_clay_classify(CW_HTTP_ERR_CONNECT, 0), CW_CLAY_RETRY);
    assert_int_equal(cw_clay_classify(CW_HTTP_ERR_TIMEOUT, 0), CW_CLAY_RETRY);
    assert_int_equal(cw_clay_classify(CW_HTTP_OK, 404), CW_CLAY_GONE);
    assert_int_equal(cw_clay_classify(CW_HTTP_OK, 410), CW_CLAY_GONE);
    assert_int_equal(cw_clay_classify(CW_HTTP_OK, 403), CW_CLAY_LIMIT);
    assert_int_equal(cw_clay_classify(CW_HTTP_OK, 401), CW_CLAY_UNAUTHORIZED);
    assert_int_equal(cw_clay_classify(CW_HTTP_OK, 400), CW_CLAY_REJECTED);
    assert_int_equal(cw_clay_classify(CW_HTTP_OK, 413), CW_CLAY_REJECTED);
    assert_int_equal(cw_clay_classify(CW_HTTP_OK, 422), CW_CLAY_REJECTED);
    assert_int_equal(cw_clay_classify(CW_HTTP_OK, 302), CW_CLAY_RETRY);
    assert_string_equal(cw_clay_outcome_name(CW_CLAY_GONE), "gone");
}

static void test_urls(void **state)
{
    cw_clay_urls_t l = {0};
    assert_int_equal(cw_clay_urls_parse(&l, " http://a.example/x , ,https://b.example/y,"), 0);
    assert_int_equal(l.num_urls, 2);
    assert_string_equal(l.urls[0], "http://a.example/x");
    assert_string_equal(l.urls[1], "https://b.example/y");
    /* printf '%s' http://a.example/x | sha256sum */
    char id[CW_CLAY_URL_ID_LEN + 1];
    cw_clay_url_id(id, "http://a.example/x");
    assert_string_equal(l.ids[0], id);
    assert_int_equal(strlen(id), 64);
    /* a repeated URL, a non-URL, a URL with a space */
    assert_int_equal(cw_clay_urls_add(&l, "http://a.example/x", 18), -1);
    assert_int_equal(cw_clay_urls_add(&l, "ftp://a", 7), -1);
    assert_int_equal(cw_clay_urls_add(&l, "http://a b", 10), -1);
    assert_int_equal(cw_clay_urls_parse(&l, "http://c.example,nope"), -1);
    assert_int_equal(l.num_urls, 3);
    cw_clay_urls_free(&l);
    assert_int_equal(l.num_urls, 0);
}

static void test_backoff(void **state)
{
    for (int i = 0; i != 200; ++i) {
        uint64_t b1 = cw_clay_backoff_ms(1, 500, 8000);
        assert_true(b1 >= 250 && b1 <= 500);
        uint64_t b3 = cw_clay_backoff_ms(3, 500, 8000);
        assert_true(b3 >= 250 && b3 <= 2000);
        uint64_t b20 = cw_clay_backoff_ms(20, 500, 8000);
        assert_true(b20 >= 250 && b20 <= 8000);
    }
}

static void test_quota_blocks(void **state)
{
    assert_int_equal(cw_clay_quota_block_size(50000), 100);
    assert_int_equal(cw_clay_quota_block_size(1000), 10);
    assert_int_equal(cw_clay_quota_block_size(30), 1);
    assert_int_equal(cw_clay_quota_block_size(1), 1);
    /* limit 250, K 100: blocks of 100, 100, 50, then none */
    assert_int_equal(cw_clay_quota_block_slots(0, 100, 250), 100);
    assert_int_equal(cw_clay_quota_block_slots(1, 100, 250), 100);
    assert_int_equal(cw_clay_quota_block_slots(2, 100, 250), 50);
    assert_int_equal(cw_clay_quota_block_slots(3, 100, 250), 0);
    assert_int_equal(cw_clay_quota_block_slots(UINT64_MAX / 2, 100, 250), 0);
    /* the blocks of any limit sum to exactly the limit */
    for (uint64_t limit = 1; limit < 3000; limit += 7) {
        uint64_t k = cw_clay_quota_block_size(limit), sum = 0, n = 0, s;
        while ((s = cw_clay_quota_block_slots(n++, k, limit)) != 0) {
            sum += s;
        }
        assert_int_equal(sum, limit);
    }
}

static void test_minify(void **state)
{
    cw_buf_t b = CW_BUF_INIT;
    const char *in = "{\n  \"a b\": [1, 2],\n\t\"s\": \"x \\\" y\\\\\" ,\"n\":12345678901234567890 }";
    cw_clay_json_minify(&b, in, strlen(in));
    assert_string_equal(b.base, "{\"a b\":[1,2],\"s\":\"x \\\" y\\\\\",\"n\":12345678901234567890}");
    cw_buf_reset(&b);
    cw_clay_json_minify(&b, "\"\\", 2); /* truncated escape: no read past the end */
    assert_int_equal(b.len, 2);
    cw_buf_free(&b);
}

/* ---- submissions over loopback ---- */

typedef struct st_server_t {
    cw_server_t *server;
    pthread_t tid;
    char last_auth[128];
    char last_type[128];
    char last_body[256];
    int hits;
} server_t;

static server_t srv;

static int on_clay(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    h2o_iovec_t auth = cw_req_header(req, H2O_STRLIT("x-clay-webhook-auth"));
    h2o_iovec_t type = cw_req_header(req, H2O_STRLIT("content-type"));
    __atomic_add_fetch(&srv.hits, 1, __ATOMIC_SEQ_CST);
    snprintf(srv.last_auth, sizeof(srv.last_auth), "%.*s", (int)auth.len, auth.base != NULL ? auth.base : "");
    snprintf(srv.last_type, sizeof(srv.last_type), "%.*s", (int)type.len, type.base != NULL ? type.base : "");
    snprintf(srv.last_body, sizeof(srv.last_body), "%.*s", (int)req->entity.len, req->entity.base != NULL ? req->entity.base : "");
    /* the status is the last path segment */
    int status = 0;
    for (size_t i = req->path_normalized.len - 3; i != req->path_normalized.len; ++i) {
        status = status * 10 + (req->path_normalized.base[i] - '0');
    }
    if (status == 429) {
        cw_add_header(req, "retry-after", "3");
    }
    if (status == 400) {
        cw_respond_json(req, 400, H2O_STRLIT("{\"error\":\"bad\nrow\"}"));
    } else {
        cw_respond_json(req, status, H2O_STRLIT("{}"));
    }
    return 0;
}

static void *run_server(void *arg)
{
    cw_server_run(srv.server);
    return NULL;
}

typedef struct st_wait_t {
    cw_clay_result_t res;
    char detail[512];
    int done;
} wait_t;

static void on_result(const cw_clay_result_t *res, void *data)
{
    wait_t *w = data;
    w->res = *res;
    snprintf(w->detail, sizeof(w->detail), "%s", res->detail);
    w->res.detail = w->detail;
    w->done = 1;
}

static void post_and_wait(cw_clay_client_t *c, cw_loop_t *loop, int status, wait_t *w)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/clay/%03d", cw_server_port(srv.server), status);
    memset(w, 0, sizeof(*w));
    cw_clay_post(c, loop, url, "{\"a\":1}", 7, on_result, w);
    uint64_t deadline = cw_now_ms() + 10000;
    while (!w->done && cw_now_ms() < deadline) {
        cw_loop_run_once(loop);
    }
    assert_true(w->done);
}

static void test_post(void **state)
{
    cw_server_options_t opts = {.host = "127.0.0.1", .port = 0, .num_workers = 1};
    srv.server = cw_server_new(&opts);
    cw_server_route(srv.server, "/clay", on_clay, NULL);
    assert_int_equal(cw_server_listen(srv.server), 0);
    pthread_create(&srv.tid, NULL, run_server, NULL);

    cw_http_t *http = cw_http_new();
    cw_loop_t loop;
    cw_loop_init(&loop);
    cw_clay_client_t *c = cw_clay_client_new(http, "tok-123", 5000);
    wait_t w;

    post_and_wait(c, &loop, 200, &w);
    assert_int_equal(w.res.outcome, CW_CLAY_ACCEPTED);
    assert_int_equal(w.res.status, 200);
    assert_string_equal(srv.last_auth, "tok-123");
    assert_string_equal(srv.last_type, "application/json");
    assert_string_equal(srv.last_body, "{\"a\":1}");

    /* 429: one attempt only (the caller owns retries), Retry-After read */
    int hits = srv.hits;
    post_and_wait(c, &loop, 429, &w);
    assert_int_equal(w.res.outcome, CW_CLAY_RATE_LIMITED);
    assert_int_equal(w.res.retry_after_ms, 3000);
    assert_int_equal(srv.hits, hits + 1);

    post_and_wait(c, &loop, 503, &w);
    assert_int_equal(w.res.outcome, CW_CLAY_RETRY);
    assert_int_equal(w.res.retry_after_ms, -1);
    assert_int_equal(srv.hits, hits + 2);

    /* a rejection keeps the start of Clay's answer, on one line */
    post_and_wait(c, &loop, 400, &w);
    assert_int_equal(w.res.outcome, CW_CLAY_REJECTED);
    assert_string_equal(w.res.detail, "HTTP 400: {\"error\":\"bad row\"}");

    post_and_wait(c, &loop, 410, &w);
    assert_int_equal(w.res.outcome, CW_CLAY_GONE);

    cw_clay_client_free(c);
    /* no token: no header */
    c = cw_clay_client_new(http, NULL, 0);
    post_and_wait(c, &loop, 201, &w);
    assert_int_equal(w.res.outcome, CW_CLAY_ACCEPTED);
    assert_string_equal(srv.last_auth, "");
    cw_clay_client_free(c);

    /* nobody listening: a transport error to retry */
    cw_server_stop(srv.server);
    pthread_join(srv.tid, NULL);
    c = cw_clay_client_new(http, NULL, 2000);
    post_and_wait(c, &loop, 200, &w);
    assert_int_equal(w.res.outcome, CW_CLAY_RETRY);
    assert_int_equal(w.res.status, 0);
    assert_non_null(strstr(w.res.detail, "no answer from Clay"));
    cw_clay_client_free(c);

    cw_server_free(srv.server);
    cw_http_free(http);
    cw_loop_dispose(&loop, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),     cmocka_unit_test(test_urls),   cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_quota_blocks), cmocka_unit_test(test_minify), cmocka_unit_test(test_post),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
