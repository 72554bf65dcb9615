/*
 * test_http.c: the curl-thread HTTP client against loopback servers started here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <openssl/sha.h>
#include "cw/http.h"
#include "cw/util.h"
#include "rawserver.h"

static cw_http_t *http;

static int group_setup(void **state)
{
    http = cw_http_new();
    return http != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    cw_http_free(http);
    http = NULL;
    return 0;
}

/* ---- handlers ---- */

static int send_response(rs_server_t *s, int fd, int status, const char *extra_headers, const char *body)
{
    cw_buf_t head = CW_BUF_INIT;
    cw_buf_appendf(&head, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", status, strlen(body),
                   extra_headers != NULL ? extra_headers : "");
    int keep = rs_send(s, fd, head.base, head.len) == 0 && rs_sends(s, fd, body) == 0;
    cw_buf_free(&head);
    return keep;
}

static int handle_hello(rs_server_t *s, int fd, const rs_request_t *req)
{
    if (s->data != NULL) {
        rs_sleep_ms(*(unsigned *)s->data);
    }
    return send_response(s, fd, 200, "X-Test-Header:   Value  with spaces  \r\nContent-Type: text/plain\r\n", "hello world");
}

/* handle_echo answers "<method> <length> <sha256 hex> <content-type or -> <expect or ->". */
static int handle_echo(rs_server_t *s, int fd, const rs_request_t *req)
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1], ct[128] = "-", expect[64] = "-", body[512];
    SHA256((const uint8_t *)(req->body != NULL ? req->body : ""), req->body_len, md);
    cw_hex_encode(hex, md, sizeof(md));
    rs_find_header(req, "content-type", ct, sizeof(ct));
    rs_find_header(req, "expect", expect, sizeof(expect));
    snprintf(body, sizeof(body), "%s %zu %s %s %s", req->method, req->body_len, hex, ct, expect);
    return send_response(s, fd, 200, NULL, body);
}

static int handle_never(rs_server_t *s, int fd, const rs_request_t *req)
{
    rs_wait_stop(s);
    return 0;
}

static int handle_reset(rs_server_t *s, int fd, const rs_request_t *req)
{
    rs_reset(fd);
    return -1;
}

/* handle_big sends 10 MB, with a Content-Length when s->data points to a non-zero int. */
static int handle_big(rs_server_t *s, int fd, const rs_request_t *req)
{
    static char chunk[64 * 1024];
    size_t total = 10 * 1024 * 1024;
    int with_length = *(int *)s->data;
    char head[256];
    memset(chunk, 'x', sizeof(chunk));
    if (with_length) {
        snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", total);
    } else {
        snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    }
    if (rs_sends(s, fd, head) != 0) {
        return 0;
    }
    for (size_t sent = 0; sent < total; sent += sizeof(chunk)) {
        if (rs_send(s, fd, chunk, sizeof(chunk)) != 0) {
            return 0;
        }
    }
    return 0;
}

/* handle_exact sends exactly 1 MiB. */
static int handle_exact(rs_server_t *s, int fd, const rs_request_t *req)
{
    size_t n = 1024 * 1024;
    char *body = malloc(n + 1);
    memset(body, 'y', n);
    body[n] = '\0';
    int keep = send_response(s, fd, 200, NULL, body);
    free(body);
    return keep;
}

/* script_t is a list of responses by request index; the last one repeats. */
typedef struct script {
    int statuses[8];
    const char *headers[8];
    size_t num;
} script_t;

static int handle_script(rs_server_t *s, int fd, const rs_request_t *req)
{
    script_t *sc = s->data;
    size_t i = req->index < sc->num ? req->index : sc->num - 1;
    if (sc->statuses[i] == 0) {
        rs_reset(fd);
        return -1;
    }
    char body[32];
    snprintf(body, sizeof(body), "attempt %u", req->index + 1);
    return send_response(s, fd, sc->statuses[i], sc->headers[i], body);
}

static int handle_many_headers(rs_server_t *s, int fd, const rs_request_t *req)
{
    cw_buf_t h = CW_BUF_INIT;
    for (int i = 0; i != 150; ++i) {
        cw_buf_appendf(&h, "X-H%d: %d\r\n", i, i);
    }
    int keep = send_response(s, fd, 200, h.base, "ok");
    cw_buf_free(&h);
    return keep;
}

/* ---- helpers ---- */

static cw_http_error_t fetch_url(rs_server_t *s, const char *path, cw_http_request_t *req, cw_http_result_t *res)
{
    char url[128];
    req->url = rs_url(s, path, url, sizeof(url));
    return cw_http_fetch(http, req, res);
}

/* ---- tests ---- */

static void test_get_200(void **state)
{
    rs_server_t *s = rs_start(handle_hello, NULL);
    assert_non_null(s);
    cw_http_request_t req = {.method = NULL};
    cw_http_result_t res;
    assert_int_equal(fetch_url(s, "/hello", &req, &res), CW_HTTP_OK);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.error_text, "");
    assert_int_equal(res.body_len, 11);
    assert_memory_equal(res.body, "hello world", 12);
    assert_int_equal(res.attempts, 1);
    const char *v = cw_http_find_header(res.headers, res.num_headers, "x-test-header");
    assert_non_null(v);
    assert_string_equal(v, "Value  with spaces");
    int found = 0;
    for (size_t i = 0; i != res.num_headers; ++i) {
        if (strcmp(res.headers[i].name, "content-type") == 0) {
            assert_string_equal(res.headers[i].value, "text/plain");
            found = 1;
        }
        for (const char *p = res.headers[i].name; *p != '\0'; ++p) {
            assert_false(*p >= 'A' && *p <= 'Z');
        }
    }
    assert_true(found);
    assert_string_equal(cw_http_find_header(res.headers, res.num_headers, "CONTENT-length"), "11");
    assert_null(cw_http_find_header(res.headers, res.num_headers, "x-missing"));
    cw_http_result_free(&res);

    /* HEAD: no body expected even though Content-Length says 11 */
    req = (cw_http_request_t){.head_only = 1};
    assert_int_equal(fetch_url(s, "/hello", &req, &res), CW_HTTP_OK);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.body_len, 0);
    assert_string_equal(res.body, "");
    cw_http_result_free(&res);
    rs_stop(s);
}

static void test_body_exact(void **state)
{
    rs_server_t *s = rs_start(handle_echo, NULL);
    assert_non_null(s);
    size_t n = 1536 * 1024 + 7; /* over curl's 1 MiB threshold for "Expect: 100-continue" */
    uint8_t *body = malloc(n), md[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1], want[512];
    cw_random_bytes(body, n);
    body[0] = 0; /* binary-safe, NULs included */
    SHA256(body, n, md);
    cw_hex_encode(hex, md, sizeof(md));

    /* POST by default when a body is set; no Expect, no made-up Content-Type */
    cw_http_request_t req = {.body = body, .body_len = n};
    cw_http_result_t res;
    assert_int_equal(fetch_url(s, "/echo", &req, &res), CW_HTTP_OK);
    snprintf(want, sizeof(want), "POST %zu %s - -", n, hex);
    assert_string_equal(res.body, want);
    cw_http_result_free(&res);

    /* PUT with the caller's headers */
    const char *headers[] = {"Content-Type: application/octet-stream", "X-Other: 1"};
    req = (cw_http_request_t){.method = "PUT", .body = body, .body_len = n, .headers = headers, .num_headers = 2};
    assert_int_equal(fetch_url(s, "/echo", &req, &res), CW_HTTP_OK);
    snprintf(want, sizeof(want), "PUT %zu %s application/octet-stream -", n, hex);
    assert_string_equal(res.body, want);
    cw_http_result_free(&res);

    /* PUT of nothing still sends Content-Length: 0 */
    SHA256((const uint8_t *)"", 0, md);
    cw_hex_encode(hex, md, sizeof(md));
    req = (cw_http_request_t){.method = "PUT"};
    assert_int_equal(fetch_url(s, "/echo", &req, &res), CW_HTTP_OK);
    snprintf(want, sizeof(want), "PUT 0 %s - -", hex);
    assert_string_equal(res.body, want);
    cw_http_result_free(&res);

    /* DELETE without a body */
    req = (cw_http_request_t){.method = "DELETE"};
    assert_int_equal(fetch_url(s, "/echo", &req, &res), CW_HTTP_OK);
    assert_true(strncmp(res.body, "DELETE 0 ", 9) == 0);
    cw_http_result_free(&res);

    /* a header with CR/LF is refused before anything is sent */
    unsigned before = atomic_load(&s->num_requests);
    const char *evil[] = {"X-Evil: a\r\nX-Injected: b"};
    req = (cw_http_request_t){.headers = evil, .num_headers = 1};
    assert_int_equal(fetch_url(s, "/echo", &req, &res), CW_HTTP_ERR_TRANSPORT);
    assert_int_equal(res.attempts, 0);
    assert_int_equal(atomic_load(&s->num_requests), before);
    cw_http_result_free(&res);

    free(body);
    rs_stop(s);
}

static void test_connection_reuse(void **state)
{
    rs_server_t *s = rs_start(handle_hello, NULL);
    assert_non_null(s);
    for (int i = 0; i != 20; ++i) {
        cw_http_request_t req = {.method = "GET"};
        cw_http_result_t res;
        assert_int_equal(fetch_url(s, "/", &req, &res), CW_HTTP_OK);
        assert_int_equal(res.status, 200);
        cw_http_result_free(&res);
    }
    assert_int_equal(atomic_load(&s->num_requests), 20);
    assert_int_equal(atomic_load(&s->num_accepted), 1);
    rs_stop(s);
}

static void test_timeout(void **state)
{
    rs_server_t *s = rs_start(handle_never, NULL);
    assert_non_null(s);
    cw_http_request_t req = {.timeout_ms = 300};
    cw_http_result_t res;
    uint64_t start = cw_now_ms();
    assert_int_equal(fetch_url(s, "/", &req, &res), CW_HTTP_ERR_TIMEOUT);
    uint64_t elapsed = cw_now_ms() - start;
    assert_true(elapsed >= 280);
    assert_true(elapsed < 1500);
    assert_int_equal(res.status, 0);
    assert_non_null(strstr(res.error_text, "Timeout"));
    assert_string_equal(res.body, "");
    cw_http_result_free(&res);
    rs_stop(s);
}

static void test_reset(void **state)
{
    rs_server_t *s = rs_start(handle_reset, NULL);
    assert_non_null(s);
    cw_http_request_t req = {.timeout_ms = 2000};
    cw_http_result_t res;
    assert_int_equal(fetch_url(s, "/", &req, &res), CW_HTTP_ERR_TRANSPORT);
    assert_int_equal(res.attempts, 1);
    assert_true(res.error_text[0] != '\0');
    cw_http_result_free(&res);
    rs_stop(s);
}

static void test_refused(void **state)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    close(fd);

    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)ntohs(sin.sin_port));
    cw_http_request_t req = {.url = url, .timeout_ms = 2000};
    cw_http_result_t res;
    assert_int_equal(cw_http_fetch(http, &req, &res), CW_HTTP_ERR_CONNECT);
    assert_int_equal(res.status, 0);
    cw_http_result_free(&res);

    /* only http and https */
    req = (cw_http_request_t){.url = "file:///etc/passwd"};
    assert_int_equal(cw_http_fetch(http, &req, &res), CW_HTTP_ERR_TRANSPORT);
    cw_http_result_free(&res);
}

static void test_tls_to_plain(void **state)
{
    rs_server_t *s = rs_start(handle_hello, NULL);
    assert_non_null(s);
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/", (unsigned)s->port);
    cw_http_request_t req = {.url = url, .timeout_ms = 2000, .max_attempts = 3};
    cw_http_result_t res;
    assert_int_equal(cw_http_fetch(http, &req, &res), CW_HTTP_ERR_TLS);
    cw_http_result_free(&res);
    rs_stop(s);
}

static void test_too_big(void **state)
{
    for (int with_length = 0; with_length != 2; ++with_length) {
        rs_server_t *s = rs_start(handle_big, &with_length);
        assert_non_null(s);
        cw_http_request_t req = {.max_response_bytes = 1024 * 1024, .max_attempts = 3};
        cw_http_result_t res;
        assert_int_equal(fetch_url(s, "/big", &req, &res), CW_HTTP_ERR_TOO_BIG);
        assert_int_equal(res.attempts, 1); /* not retried */
        assert_int_equal(res.body_len, 0);
        assert_non_null(strstr(res.error_text, "1048576"));
        cw_http_result_free(&res);
        rs_stop(s);
    }

    /* exactly the limit is fine */
    rs_server_t *s = rs_start(handle_exact, NULL);
    assert_non_null(s);
    cw_http_request_t req = {.max_response_bytes = 1024 * 1024};
    cw_http_result_t res;
    assert_int_equal(fetch_url(s, "/exact", &req, &res), CW_HTTP_OK);
    assert_int_equal(res.body_len, 1024 * 1024);
    cw_http_result_free(&res);
    rs_stop(s);
}

static void test_too_many_headers(void **state)
{
    rs_server_t *s = rs_start(handle_many_headers, NULL);
    assert_non_null(s);
    cw_http_request_t req = {.max_attempts = 3};
    cw_http_result_t res;
    assert_int_equal(fetch_url(s, "/", &req, &res), CW_HTTP_ERR_TRANSPORT);
    assert_int_equal(res.attempts, 1);
    cw_http_result_free(&res);
    rs_stop(s);
}

static void test_retry_5xx(void **state)
{
    script_t sc = {.statuses = {503, 500, 200}, .num = 3};
    rs_server_t *s = rs_start(handle_script, &sc);
    assert_non_null(s);
    cw_http_request_t req = {.max_attempts = 5, .backoff_base_ms = 20};
    cw_http_result_t res;
    assert_int_equal(fetch_url(s, "/", &req, &res), CW_HTTP_OK);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.attempts, 3);
    assert_string_equal(res.body, "attempt 3");
    assert_int_equal(atomic_load(&s->num_requests), 3);
    cw_http_result_free(&res);
    rs_stop(s);

    /* attempts run out: the last response is the answer */
    script_t sc2 = {.statuses = {502}, .num = 1};
    s = rs_start(handle_script, &sc2);
    req = (cw_http_request_t){.max_attempts = 3, .backoff_base_ms = 10};
    assert_int_equal(fetch_url(s, "/", &req, &res), CW_HTTP_OK);
    assert_int_equal(res.status, 502);
    assert_int_equal(res.attempts, 3);
    assert_string_equal(res.body, "attempt 3");
    cw_http_result_free(&res);
    rs_stop(s);

    /* no retry without max_attempts */
    s = rs_start(handle_script, &sc2);
    req = (cw_http_request_t){.method = "GET"};
    assert_int_equal(fetch_url(s, "/", &req, &res), CW_HTTP_OK);
    assert_int_equal(res.status, 502);
    assert_int_equal(res.attempts, 1);
    cw_http_result_free(&res);
    rs_stop(s);
}

static void test_retry_transport(void **state)
{
    script_t sc = {.statuses = {0, 200}, .num = 2}; /* 0: reset the connection */
    rs_server_t *s = rs_start(handle_script, &sc);
    assert_non_null(s);
    cw_http_request_t req = {.max_attempts = 3, .backoff_base_ms = 10};
    cw_http_result_t res;
    assert_int_equal(fetch_url(s, "/", &req, &res), CW_HTTP_OK);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.attempts, 2);
    cw_http_result_free(&res);
    rs_stop(s);
}

static void test_retry_after(void **state)
{
    script_t sc = {.statuses = {429, 200}, .headers = {"Retry-After: 1\r\n", NULL}, .num = 2};
    rs_server_t *s = rs_start(handle_script, &sc);
    assert_non_null(s);
    cw_http_request_t req = {.max_attempts = 3, .backoff_base_ms = 10, .backoff_max_ms = 20};
    cw_http_result_t res;
    uint64_t start = cw_now_ms();
    assert_int_equal(fetch_url(s, "/", &req, &res), CW_HTTP_OK);
    uint64_t elapsed = cw_now_ms() - start;
    assert_int_equal(res.status, 200);
    assert_int_equal(res.attempts, 2);
    assert_true(elapsed >= 980);
    assert_true(elapsed < 3000);
    cw_http_result_free(&res);
    rs_stop(s);
}

static void test_deadline(void **state)
{
    script_t sc = {.statuses = {503}, .num = 1};
    rs_server_t *s = rs_start(handle_script, &sc);
    assert_non_null(s);
    cw_http_request_t req = {.max_attempts = 50, .backoff_base_ms = 100, .backoff_max_ms = 100, .deadline_ms = 400};
    cw_http_result_t res;
    uint64_t start = cw_now_ms();
    assert_int_equal(fetch_url(s, "/", &req, &res), CW_HTTP_OK);
    uint64_t elapsed = cw_now_ms() - start;
    assert_int_equal(res.status, 503);
    assert_true(res.attempts >= 2);
    assert_true(res.attempts <= 9);
    assert_true(elapsed < 900);
    cw_http_result_free(&res);
    rs_stop(s);

    /* a Retry-After beyond the deadline ends it at once with that response */
    script_t sc2 = {.statuses = {503}, .headers = {"Retry-After: 5\r\n"}, .num = 1};
    s = rs_start(handle_script, &sc2);
    req = (cw_http_request_t){.max_attempts = 5, .deadline_ms = 1000};
    start = cw_now_ms();
    assert_int_equal(fetch_url(s, "/", &req, &res), CW_HTTP_OK);
    elapsed = cw_now_ms() - start;
    assert_int_equal(res.status, 503);
    assert_int_equal(res.attempts, 1);
    assert_string_equal(cw_http_find_header(res.headers, res.num_headers, "retry-after"), "5");
    assert_true(elapsed < 500);
    cw_http_result_free(&res);
    rs_stop(s);

    /* the deadline also bounds a hanging attempt */
    s = rs_start(handle_never, NULL);
    req = (cw_http_request_t){.max_attempts = 5, .deadline_ms = 300, .timeout_ms = 5000};
    start = cw_now_ms();
    assert_int_equal(fetch_url(s, "/", &req, &res), CW_HTTP_ERR_TIMEOUT);
    elapsed = cw_now_ms() - start;
    assert_int_equal(res.attempts, 1);
    assert_true(elapsed < 1000);
    cw_http_result_free(&res);
    rs_stop(s);
}

static void test_4xx_not_retried(void **state)
{
    script_t sc = {.statuses = {404, 200}, .num = 2};
    rs_server_t *s = rs_start(handle_script, &sc);
    assert_non_null(s);
    cw_http_request_t req = {.max_attempts = 5, .backoff_base_ms = 10};
    cw_http_result_t res;
    assert_int_equal(fetch_url(s, "/", &req, &res), CW_HTTP_OK);
    assert_int_equal(res.status, 404);
    assert_int_equal(res.attempts, 1);
    assert_int_equal(atomic_load(&s->num_requests), 1);
    cw_http_result_free(&res);
    rs_stop(s);

    /* 409 only when asked */
    script_t sc2 = {.statuses = {409, 201}, .num = 2};
    s = rs_start(handle_script, &sc2);
    req = (cw_http_request_t){.max_attempts = 5, .backoff_base_ms = 10};
    assert_int_equal(fetch_url(s, "/", &req, &res), CW_HTTP_OK);
    assert_int_equal(res.status, 409);
    cw_http_result_free(&res);
    rs_stop(s);
    s = rs_start(handle_script, &sc2);
    req = (cw_http_request_t){.max_attempts = 5, .backoff_base_ms = 10, .retry_on_409 = 1};
    assert_int_equal(fetch_url(s, "/", &req, &res), CW_HTTP_OK);
    assert_int_equal(res.status, 201);
    assert_int_equal(res.attempts, 2);
    cw_http_result_free(&res);
    rs_stop(s);
}

/* ---- the loop path ---- */

typedef struct loop_ctx {
    pthread_t loop_thread;
    int num_done;
    int num_wrong_thread;
    int num_ok;
    int timed_out;
} loop_ctx_t;

static void on_loop_done(const cw_http_response_t *res, void *data)
{
    loop_ctx_t *ctx = data;
    ++ctx->num_done;
    if (!pthread_equal(pthread_self(), ctx->loop_thread)) {
        ++ctx->num_wrong_thread;
    }
    if (res->error == CW_HTTP_OK && res->status == 200 && res->body_len == 11 && strcmp(res->body, "hello world") == 0) {
        ++ctx->num_ok;
    }
}

static void on_loop_timeout(cw_timer_t *timer)
{
    ((loop_ctx_t *)timer->data)->timed_out = 1;
}

static void test_loop_concurrent(void **state)
{
    unsigned delay_ms = 100;
    rs_server_t *s = rs_start(handle_hello, &delay_ms);
    assert_non_null(s);
    cw_loop_t loop;
    assert_int_equal(cw_loop_init(&loop), 0);
    loop_ctx_t ctx = {.loop_thread = pthread_self()};
    cw_timer_t guard = {.data = &ctx};
    cw_timer_start(&loop, &guard, 10000, on_loop_timeout);

    char url[64];
    rs_url(s, "/", url, sizeof(url));
    uint64_t start = cw_now_ms();
    for (int i = 0; i != 50; ++i) {
        cw_http_request_t req = {.url = url};
        cw_http_submit(http, &loop, &req, on_loop_done, &ctx);
    }
    while (ctx.num_done < 50 && !ctx.timed_out) {
        assert_int_equal(cw_loop_run_once(&loop), 0);
    }
    uint64_t elapsed = cw_now_ms() - start;
    cw_timer_stop(&guard);
    assert_false(ctx.timed_out);
    assert_int_equal(ctx.num_done, 50);
    assert_int_equal(ctx.num_ok, 50);
    assert_int_equal(ctx.num_wrong_thread, 0);
    /* concurrent, not one after the other (50 x 100 ms) */
    assert_true(elapsed < 2500);
    assert_true(atomic_load(&s->num_accepted) > 1);
    cw_loop_dispose(&loop, 1);
    rs_stop(s);
}

/* ---- shutdown ---- */

typedef struct shutdown_ctx {
    atomic_int calls[30];
    atomic_int num_shutdown;
    atomic_int num_other;
} shutdown_ctx_t;

typedef struct shutdown_req {
    shutdown_ctx_t *ctx;
    int i;
} shutdown_req_t;

static void on_shutdown_done(const cw_http_response_t *res, void *data)
{
    shutdown_req_t *r = data;
    atomic_fetch_add(&r->ctx->calls[r->i], 1);
    if (res->error == CW_HTTP_ERR_SHUTDOWN && res->status == 0 && res->error_text[0] != '\0') {
        atomic_fetch_add(&r->ctx->num_shutdown, 1);
    } else {
        atomic_fetch_add(&r->ctx->num_other, 1);
    }
}

static void test_shutdown(void **state)
{
    cw_http_t *h = cw_http_new();
    assert_non_null(h);
    rs_server_t *hang = rs_start(handle_never, NULL);
    script_t sc = {.statuses = {503}, .headers = {"Retry-After: 60\r\n"}, .num = 1};
    rs_server_t *later = rs_start(handle_script, &sc);
    assert_non_null(hang);
    assert_non_null(later);
    cw_loop_t loop;
    assert_int_equal(cw_loop_init(&loop), 0);
    shutdown_ctx_t ctx;
    memset(&ctx, 0, sizeof(ctx));
    shutdown_req_t reqs[30];
    char hang_url[64], later_url[64];
    rs_url(hang, "/", hang_url, sizeof(hang_url));
    rs_url(later, "/", later_url, sizeof(later_url));

    /* 10 hanging in the multi, 10 waiting 60 s for a retry, 10 hanging with completions on a loop */
    for (int i = 0; i != 30; ++i) {
        reqs[i] = (shutdown_req_t){.ctx = &ctx, .i = i};
        cw_http_request_t req = {.url = i < 10 || i >= 20 ? hang_url : later_url, .max_attempts = 3};
        cw_http_submit(h, i >= 20 ? &loop : NULL, &req, on_shutdown_done, &reqs[i]);
    }
    for (int i = 0; i != 200 && (atomic_load(&later->num_requests) < 10 || atomic_load(&hang->num_requests) < 20); ++i) {
        rs_sleep_ms(10);
    }
    assert_int_equal(atomic_load(&later->num_requests), 10);
    rs_sleep_ms(50); /* let the 503s land in the delayed list */
    assert_int_equal(atomic_load(&ctx.num_shutdown) + atomic_load(&ctx.num_other), 0);

    uint64_t start = cw_now_ms();
    cw_http_free(h);
    assert_true(cw_now_ms() - start < 2000);
    /* the loop-less ones completed on the curl thread before cw_http_free returned */
    assert_int_equal(atomic_load(&ctx.num_shutdown), 20);
    for (int i = 0; i != 20 && atomic_load(&ctx.num_shutdown) < 30; ++i) {
        cw_loop_run_once(&loop);
    }
    assert_int_equal(atomic_load(&ctx.num_shutdown), 30);
    assert_int_equal(atomic_load(&ctx.num_other), 0);
    for (int i = 0; i != 30; ++i) {
        assert_int_equal(atomic_load(&ctx.calls[i]), 1);
    }
    cw_loop_dispose(&loop, 1);
    rs_stop(hang);
    rs_stop(later);
}

/* ---- pure functions ---- */

static void test_version(void **state)
{
    assert_non_null(strstr(cw_http_version(), "BoringSSL"));
}

static void test_retry_after_parse(void **state)
{
    int64_t date = (int64_t)1445412480 * 1000; /* Wed, 21 Oct 2015 07:28:00 GMT */
    assert_int_equal(cw_http_retry_after_ms("5", 0), 5000);
    assert_int_equal(cw_http_retry_after_ms(" 5 ", 0), 5000);
    assert_int_equal(cw_http_retry_after_ms("0", 0), 0);
    assert_int_equal(cw_http_retry_after_ms("abc", 0), -1);
    assert_int_equal(cw_http_retry_after_ms("", 0), -1);
    assert_int_equal(cw_http_retry_after_ms("-3", 0), -1);
    assert_int_equal(cw_http_retry_after_ms("1.5", 0), -1);
    assert_int_equal(cw_http_retry_after_ms(NULL, 0), -1);
    assert_int_equal(cw_http_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", date - 10000), 10000);
    assert_int_equal(cw_http_retry_after_ms(" Wed, 21 Oct 2015 07:28:00 GMT ", date - 1500), 1500);
    assert_int_equal(cw_http_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", date + 5000), 0);
    assert_int_equal(cw_http_retry_after_ms("Thu, 01 Jan 1970 00:00:00 GMT", -2000), 2000);
    assert_int_equal(cw_http_retry_after_ms("Tue, 29 Feb 2028 12:00:01 GMT", (int64_t)1835438400 * 1000), 1000);
    assert_int_equal(cw_http_retry_after_ms("Wed, 21 Foo 2015 07:28:00 GMT", 0), -1);
    assert_int_equal(cw_http_retry_after_ms("Wed, 21 Oct 2015 07:28:00 UTC", 0), -1);
    assert_int_equal(cw_http_retry_after_ms("Wed, 21 Oct 2015 25:28:00 GMT", 0), -1);
    assert_int_equal(cw_http_retry_after_ms("Wed, 21 Oct 2015 07:28 GMT", 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),         cmocka_unit_test(test_retry_after_parse), cmocka_unit_test(test_get_200),
        cmocka_unit_test(test_body_exact),      cmocka_unit_test(test_connection_reuse),  cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_reset),           cmocka_unit_test(test_refused),           cmocka_unit_test(test_tls_to_plain),
        cmocka_unit_test(test_too_big),         cmocka_unit_test(test_too_many_headers),  cmocka_unit_test(test_retry_5xx),
        cmocka_unit_test(test_retry_transport), cmocka_unit_test(test_retry_after),       cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_4xx_not_retried), cmocka_unit_test(test_loop_concurrent),   cmocka_unit_test(test_shutdown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
