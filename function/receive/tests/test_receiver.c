/*
 * test_receiver.c: POST /api/clay/enriched (cw_receiver_handle) served by a real
 * cw_server on 127.0.0.1, in process, over an in-memory create-only store that
 * can be made to fail, with one sink (another cw_server in this process) that
 * can be slow or failing. Each case of README's response table ("The callback
 * endpoint") is asserted: status, body, the headers that go with it, and what
 * the store saw: nothing for a refused request, a durable create before any
 * 2xx, nothing acknowledged when the store is down.
 *
 * The exact sequence of store operations is the lifecycle's business (it
 * changes as round trips are saved): only the guarantees are checked here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "cw/http.h"
#include "cw/log.h"
#include "cw/server.h"
#include "cw/util.h"
#include "config.h"
#include "receiver.h"
#include "sink_test_util.h"
#include "store.h"

#define SECRET "receiver-test-secret"

/* ---- an in-memory create-only store that fails on demand ---- */

typedef enum en_fake_mode_t {
    FAKE_WORKS,        /* create-only semantics, like every real backend */
    FAKE_DOWN,         /* every operation: UNAVAILABLE, nothing changes */
    FAKE_CREATES_FAIL, /* creates: UNAVAILABLE, nothing written; reads work */
} fake_mode_t;

#define FAKE_MAX_OBJECTS 256
#define FAKE_MAX_LOG 512

typedef struct st_fake_op_t {
    cw_store_op_t op;
    char name[160];
    cw_store_status_t status;
} fake_op_t;

typedef struct st_fake_store_t {
    cw_store_t super; /* first: the backend casts back */
    pthread_mutex_t mutex;
    fake_mode_t mode;
    struct {
        char *name;
        char *data;
        size_t len;
    } objects[FAKE_MAX_OBJECTS];
    size_t num_objects;
    fake_op_t log[FAKE_MAX_LOG]; /* every operation, in the order it took effect */
    size_t num_log;
} fake_store_t;

/* fake_done_t carries a completion to the submitting loop: a store never completes inside the call. */
typedef struct st_fake_done_t {
    cw_loop_msg_t msg; /* first */
    cw_store_cb cb;
    void *data;
    cw_store_status_t status;
    char *bytes;
    size_t len;
    char **names;
    size_t num_names;
} fake_done_t;

static void on_fake_done(cw_loop_msg_t *msg)
{
    fake_done_t *d = (fake_done_t *)msg;
    cw_store_result_t res = {.status = d->status,
                             .data = d->bytes,
                             .data_len = d->len,
                             .names = d->names,
                             .num_names = d->num_names,
                             .detail = d->status == CW_STORE_UNAVAILABLE ? "fake store: down on purpose" : ""};
    d->cb(&res, d->data);
    free(d->bytes);
    for (size_t i = 0; i != d->num_names; ++i) {
        free(d->names[i]);
    }
    free(d->names);
    free(d);
}

static void fake_complete(cw_loop_t *loop, fake_done_t *d)
{
    d->msg.cb = on_fake_done;
    cw_loop_post(loop, &d->msg);
}

/* fake_find returns the index of |name| or -1; mutex held. */
static long fake_find(fake_store_t *f, const char *name)
{
    for (size_t i = 0; i != f->num_objects; ++i) {
        if (strcmp(f->objects[i].name, name) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static void fake_log(fake_store_t *f, cw_store_op_t op, const char *name, cw_store_status_t status)
{
    if (f->num_log < FAKE_MAX_LOG) {
        fake_op_t *e = &f->log[f->num_log++];
        e->op = op;
        snprintf(e->name, sizeof(e->name), "%s", name);
        e->status = status;
    }
}

static fake_done_t *fake_begin(cw_store_cb cb, void *data)
{
    fake_done_t *d = cw_calloc(1, sizeof(*d));
    d->cb = cb;
    d->data = data;
    return d;
}

static void fake_create(cw_store_t *s, cw_loop_t *loop, const char *name, const void *body, size_t len, cw_store_cb cb, void *data)
{
    fake_store_t *f = (fake_store_t *)s;
    fake_done_t *d = fake_begin(cb, data);
    pthread_mutex_lock(&f->mutex);
    if (f->mode != FAKE_WORKS) {
        d->status = CW_STORE_UNAVAILABLE;
    } else if (fake_find(f, name) >= 0) {
        d->status = CW_STORE_EXISTS;
    } else if (f->num_objects == FAKE_MAX_OBJECTS) {
        d->status = CW_STORE_UNAVAILABLE;
    } else {
        f->objects[f->num_objects].name = cw_strdup(name);
        f->objects[f->num_objects].data = cw_strndup(body, len);
        f->objects[f->num_objects].len = len;
        ++f->num_objects;
        d->status = CW_STORE_OK;
    }
    fake_log(f, CW_STORE_OP_CREATE, name, d->status);
    pthread_mutex_unlock(&f->mutex);
    fake_complete(loop, d);
}

static void fake_get(cw_store_t *s, cw_loop_t *loop, const char *name, cw_store_cb cb, void *data)
{
    fake_store_t *f = (fake_store_t *)s;
    fake_done_t *d = fake_begin(cb, data);
    pthread_mutex_lock(&f->mutex);
    long i = f->mode == FAKE_DOWN ? -2 : fake_find(f, name);
    if (i == -2) {
        d->status = CW_STORE_UNAVAILABLE;
    } else if (i < 0) {
        d->status = CW_STORE_NOT_FOUND;
    } else {
        d->status = CW_STORE_OK;
        d->bytes = cw_strndup(f->objects[i].data, f->objects[i].len);
        d->len = f->objects[i].len;
    }
    fake_log(f, CW_STORE_OP_GET, name, d->status);
    pthread_mutex_unlock(&f->mutex);
    fake_complete(loop, d);
}

static void fake_del(cw_store_t *s, cw_loop_t *loop, const char *name, cw_store_cb cb, void *data)
{
    fake_store_t *f = (fake_store_t *)s;
    fake_done_t *d = fake_begin(cb, data);
    pthread_mutex_lock(&f->mutex);
    long i = f->mode == FAKE_DOWN ? -2 : fake_find(f, name);
    if (i == -2) {
        d->status = CW_STORE_UNAVAILABLE;
    } else if (i < 0) {
        d->status = CW_STORE_NOT_FOUND;
    } else {
        free(f->objects[i].name);
        free(f->objects[i].data);
        f->objects[i] = f->objects[--f->num_objects];
        d->status = CW_STORE_OK;
    }
    fake_log(f, CW_STORE_OP_DELETE, name, d->status);
    pthread_mutex_unlock(&f->mutex);
    fake_complete(loop, d);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void fake_list(cw_store_t *s, cw_loop_t *loop, const char *prefix, size_t max, cw_store_cb cb, void *data)
{
    fake_store_t *f = (fake_store_t *)s;
    fake_done_t *d = fake_begin(cb, data);
    pthread_mutex_lock(&f->mutex);
    if (f->mode == FAKE_DOWN) {
        d->status = CW_STORE_UNAVAILABLE;
    } else {
        d->names = cw_calloc(f->num_objects + 1, sizeof(*d->names));
        for (size_t i = 0; i != f->num_objects; ++i) {
            if (strncmp(f->objects[i].name, prefix, strlen(prefix)) == 0) {
                d->names[d->num_names++] = cw_strdup(f->objects[i].name);
            }
        }
        qsort(d->names, d->num_names, sizeof(*d->names), by_name);
        while (d->num_names > max) {
            free(d->names[--d->num_names]);
        }
        d->status = CW_STORE_OK;
    }
    fake_log(f, CW_STORE_OP_LIST, prefix, d->status);
    pthread_mutex_unlock(&f->mutex);
    fake_complete(loop, d);
}

static void fake_destroy(cw_store_t *s)
{
    fake_store_t *f = (fake_store_t *)s;
    for (size_t i = 0; i != f->num_objects; ++i) {
        free(f->objects[i].name);
        free(f->objects[i].data);
    }
    pthread_mutex_destroy(&f->mutex);
    free(f);
}

static const cw_store_backend_t fake_backend = {
    .name = "fake", .create = fake_create, .get = fake_get, .del = fake_del, .list = fake_list, .destroy = fake_destroy};

static void fake_set_mode(fake_store_t *f, fake_mode_t mode)
{
    pthread_mutex_lock(&f->mutex);
    f->mode = mode;
    pthread_mutex_unlock(&f->mutex);
}

static size_t fake_num_ops(fake_store_t *f)
{
    pthread_mutex_lock(&f->mutex);
    size_t n = f->num_log;
    pthread_mutex_unlock(&f->mutex);
    return n;
}

/* fake_count counts logged operations since |from| of kind |op| with |status| whose name contains |id|. */
static size_t fake_count(fake_store_t *f, size_t from, cw_store_op_t op, cw_store_status_t status, const char *id)
{
    size_t n = 0;
    pthread_mutex_lock(&f->mutex);
    for (size_t i = from; i < f->num_log; ++i) {
        if (f->log[i].op == op && f->log[i].status == status && strstr(f->log[i].name, id) != NULL) {
            ++n;
        }
    }
    pthread_mutex_unlock(&f->mutex);
    return n;
}

/* fake_num_objects_with counts stored objects whose name contains |id|. */
static size_t fake_num_objects_with(fake_store_t *f, const char *id)
{
    size_t n = 0;
    pthread_mutex_lock(&f->mutex);
    for (size_t i = 0; i != f->num_objects; ++i) {
        n += strstr(f->objects[i].name, id) != NULL;
    }
    pthread_mutex_unlock(&f->mutex);
    return n;
}

/* ---- the sink (sink_test_util.h): counts deliveries by Idempotency-Key; may be slow or failing ---- */

static cw_server_t *sink_server;
static pthread_t sink_thread;
static char sink_url[128];
static cw_http_t *http;

static void *server_main(void *arg)
{
    cw_server_run(arg);
    return NULL;
}

/* base_cfg is what cw_config_load makes of the environment group_setup sets (every other setting at
 * its default, whatever the service adds later); each world copies it and changes only delivery timing. */
static cw_config_t base_cfg;

static int group_setup(void **state)
{
    cw_log_set_min_severity(CW_LOG_ERROR); /* the receiver logs every callback; the test's output stays readable */
    cw_server_options_t opts = {.host = "127.0.0.1", .num_workers = 1, .shutdown_timeout_ms = 2000};
    sink_server = cw_server_new(&opts);
    cw_server_route(sink_server, "/sink", on_sink, NULL);
    if (cw_server_listen(sink_server) != 0) {
        return -1;
    }
    snprintf(sink_url, sizeof(sink_url), "http://127.0.0.1:%u/sink/outreach", (unsigned)cw_server_port(sink_server));

    /* The environment is set before any thread starts (libcurl reads it on its own thread). */
    static const char *const unset[] = {"K_SERVICE",           "AUTH_SCHEMES",       "IDEMPOTENCY_FIELDS", "STORE_PREFIX",
                                        "NURTURE_WEBHOOK_URL", "ZAPIER_WEBHOOK_URL", "SLACK_WEBHOOK_URL",  "LOG_PII"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(unset); ++i) {
        unsetenv(unset[i]);
    }
    setenv("CLAY_WEBHOOK_SECRET", SECRET, 1);
    setenv("STORE_URL", "file:/nonexistent/the-test-uses-a-fake-store", 1);
    setenv("MAX_BODY_BYTES", "1024", 1);
    setenv("OUTREACH_MIN_SCORE", "80", 1);
    setenv("NURTURE_MIN_SCORE", "50", 1);
    setenv("SLACK_MIN_SCORE", "90", 1);
    setenv("OUTREACH_WEBHOOK_URL", sink_url, 1);
    setenv("SINK_TIMEOUT_MS", "3000", 1);
    char err[256] = "";
    if (cw_config_load(&base_cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "cw_config_load: %s\n", err);
        return -1;
    }
    if ((http = cw_http_new()) == NULL) {
        return -1;
    }
    pthread_create(&sink_thread, NULL, server_main, sink_server);
    return 0;
}

static int group_teardown(void **state)
{
    cw_server_stop(sink_server);
    pthread_join(sink_thread, NULL);
    cw_server_free(sink_server);
    cw_http_free(http);
    return 0;
}

/* ---- the receiver, served ---- */

typedef struct st_world_t {
    cw_config_t cfg;
    fake_store_t *store;
    cw_receiver_t *rx;
    cw_server_t *server;
    pthread_t thread;
    uint16_t port;
} world_t;

static world_t *world_new(uint64_t delivery_deadline_ms)
{
    world_t *w = cw_calloc(1, sizeof(*w));
    w->store = cw_calloc(1, sizeof(*w->store));
    w->store->super.backend = &fake_backend;
    w->store->super.url = "fake:";
    pthread_mutex_init(&w->store->mutex, NULL);
    w->cfg = base_cfg;
    w->cfg.delivery_deadline_ms = delivery_deadline_ms;
    char err[256] = "";
    w->rx = cw_receiver_new(&w->cfg, &w->store->super, http, err, sizeof(err));
    if (w->rx == NULL) {
        fail_msg("cw_receiver_new: %s", err);
    }
    /* The server's own cap is above the receiver's, so MAX_BODY_BYTES is the receiver's check here. */
    cw_server_options_t opts = {.host = "127.0.0.1", .num_workers = 2, .max_body_bytes = 4096, .shutdown_timeout_ms = 5000};
    w->server = cw_server_new(&opts);
    cw_server_route(w->server, "/api/clay/enriched", cw_receiver_handle, w->rx);
    assert_int_equal(cw_server_listen(w->server), 0);
    w->port = cw_server_port(w->server);
    pthread_create(&w->thread, NULL, server_main, w->server);
    return w;
}

static void world_free(world_t *w)
{
    cw_server_stop(w->server);
    pthread_join(w->thread, NULL);
    cw_server_free(w->server);
    cw_receiver_free(w->rx);
    cw_store_close(&w->store->super);
    free(w);
}

/* ---- a raw HTTP/1.1 client ---- */

typedef struct st_reply_t {
    int status;
    char *raw; /* the whole response, NUL-terminated */
    const char *body;
} reply_t;

static void reply_free(reply_t *r)
{
    free(r->raw);
    *r = (reply_t){0};
}

/* reply_header returns a copy (static buffer) of header |name|'s value, or NULL. */
static const char *reply_header(const reply_t *r, const char *name)
{
    static char value[256];
    size_t n = strlen(name);
    for (const char *p = strstr(r->raw, "\r\n"); p != NULL && p < r->body; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ') {
                ++v;
            }
            size_t len = strcspn(v, "\r\n");
            snprintf(value, sizeof(value), "%.*s", (int)len, v);
            return value;
        }
    }
    return NULL;
}

/* request sends one request and reads the whole answer (Connection: close). |headers| are extra
 * "Name: value\r\n" lines; |body| may be NULL for none. */
static reply_t request(uint16_t port, const char *method, const char *headers, const char *body, size_t body_len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct timeval tv = {15, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    cw_buf_t req = CW_BUF_INIT;
    cw_buf_appendf(&req, "%s /api/clay/enriched HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s", method, headers);
    if (body != NULL) {
        cw_buf_appendf(&req, "Content-Length: %zu\r\n\r\n", body_len);
        cw_buf_append(&req, body, body_len);
    } else {
        cw_buf_appends(&req, "\r\n");
    }
    size_t off = 0;
    while (off < req.len) {
        ssize_t n = write(fd, req.base + off, req.len - off);
        if (n <= 0) {
            break;
        }
        off += (size_t)n;
    }
    cw_buf_free(&req);
    cw_buf_t resp = CW_BUF_INIT;
    char tmp[4096];
    ssize_t n;
    while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
        cw_buf_append(&resp, tmp, (size_t)n);
    }
    close(fd);
    reply_t r = {0};
    r.raw = cw_buf_release(&resp, NULL);
    if (r.raw == NULL || strncmp(r.raw, "HTTP/1.1 ", 9) != 0) {
        fail_msg("no HTTP response: %s", r.raw != NULL ? r.raw : "(nothing)");
    }
    r.status = (int)strtol(r.raw + 9, NULL, 10);
    const char *end = strstr(r.raw, "\r\n\r\n");
    assert_non_null(end);
    r.body = end + 4;
    return r;
}

static reply_t post_json(world_t *w, const char *key, const char *body)
{
    char headers[512];
    snprintf(headers, sizeof(headers), "Content-Type: application/json\r\nX-Clay-Secret: %s\r\n%s%s%s", SECRET,
             key != NULL ? "Idempotency-Key: " : "", key != NULL ? key : "", key != NULL ? "\r\n" : "");
    return request(w->port, "POST", headers, body, strlen(body));
}

/* assert_reply checks the status, that the body is JSON with a Content-Length, and that it contains |needle|. */
static void assert_reply(const reply_t *r, int status, const char *needle)
{
    if (r->status != status || strstr(r->body, needle) == NULL) {
        fail_msg("want %d with %s, got: %s", status, needle, r->raw);
    }
    const char *ct = reply_header(r, "content-type");
    if (ct == NULL || strncmp(ct, "application/json", 16) != 0) {
        fail_msg("not JSON: %s", r->raw);
    }
    const char *cl = reply_header(r, "content-length");
    if (cl == NULL || strtoul(cl, NULL, 10) != strlen(r->body)) {
        fail_msg("Content-Length does not match the body: %s", r->raw);
    }
}

/* reply_id copies the "id" of a response into |out| (65 bytes). */
static void reply_id(const reply_t *r, char *out)
{
    const char *p = strstr(r->body, "\"id\":\"");
    assert_non_null(p);
    p += 6;
    assert_int_equal(strspn(p, "0123456789abcdef"), 64);
    memcpy(out, p, 64);
    out[64] = '\0';
}

#define LEAD "{\"Work Email\":\"ada@example.com\",\"First Name\":\"Ada\",\"Company\":\"Analytical Engines\",\"ICP Score\":\"91\"}"

/* ---- the refusals: each its own answer, and none reaches the store ---- */

static void test_refusals_touch_nothing(void **state)
{
    sink_reset(200, 0);
    world_t *w = world_new(3000);
    reply_t r;

    r = request(w->port, "GET", "", NULL, 0);
    assert_reply(&r, 405, "\"error\":\"method_not_allowed\"");
    assert_non_null(reply_header(&r, "allow"));
    assert_string_equal(reply_header(&r, "allow"), "POST");
    reply_free(&r);

    r = request(w->port, "POST", "Content-Type: text/plain\r\nX-Clay-Secret: " SECRET "\r\n", LEAD, strlen(LEAD));
    assert_reply(&r, 415, "\"error\":\"unsupported_media_type\"");
    reply_free(&r);

    r = request(w->port, "POST", "Content-Type: application/json\r\n", LEAD, strlen(LEAD));
    assert_reply(&r, 401, "\"error\":\"unauthorized\"");
    reply_free(&r);
    r = request(w->port, "POST", "Content-Type: application/json\r\nX-Clay-Secret: not-" SECRET "\r\n", LEAD, strlen(LEAD));
    assert_reply(&r, 401, "\"error\":\"unauthorized\"");
    reply_free(&r);
    r = request(w->port, "POST", "Content-Type: application/json\r\nX-Clay-Signature: sha256=00ff\r\n", LEAD, strlen(LEAD));
    assert_reply(&r, 401, "\"error\":\"unauthorized\"");
    reply_free(&r);

    r = post_json(w, "k-empty", "");
    assert_reply(&r, 400, "\"error\":\"empty_body\"");
    reply_free(&r);
    r = post_json(w, "k-bad", "{\"email\": \"ada@example.com\",");
    assert_reply(&r, 400, "\"error\":\"bad_json\"");
    reply_free(&r);

    r = post_json(w, "k-array", "[{\"email\":\"ada@example.com\"}]");
    assert_reply(&r, 422, "\"error\":\"not_an_object\"");
    reply_free(&r);
    r = post_json(w, "k-score", "{\"email\":\"ada@example.com\",\"icp_score\":\"very high\"}");
    assert_reply(&r, 422, "\"error\":\"invalid_field\"");
    assert_non_null(strstr(r.body, "icp_score"));
    reply_free(&r);

    /* Over the receiver's MAX_BODY_BYTES (1024) but under the server's own cap. */
    char big[1600];
    int len = snprintf(big, sizeof(big), "{\"email\":\"ada@example.com\",\"note\":\"%01500d\"}", 0);
    assert_true(len > 1024 && (size_t)len < sizeof(big));
    r = post_json(w, "k-big", big);
    assert_reply(&r, 413, "\"error\":\"too_large\"");
    reply_free(&r);

    assert_int_equal(fake_num_ops(w->store), 0);
    assert_int_equal(sink_num_requests(), 0);
    world_free(w);
}

/* ---- a new event, then its duplicate ---- */

static void test_processed_then_duplicate(void **state)
{
    sink_reset(200, 0);
    world_t *w = world_new(3000);
    char id[65], key[160];

    reply_t r = post_json(w, "row-1", LEAD);
    /* The answer came after the store durably took the event: a create naming it succeeded by now. */
    size_t ops_at_answer = fake_num_ops(w->store);
    assert_reply(&r, 200, "\"status\":\"processed\"");
    assert_non_null(strstr(r.body, "\"route\":\"outreach\""));
    assert_non_null(strstr(r.body, "\"deliveries\":{\"outreach\":\"delivered\"}"));
    reply_id(&r, id);
    reply_free(&r);
    assert_true(ops_at_answer > 0);
    assert_true(fake_count(w->store, 0, CW_STORE_OP_CREATE, CW_STORE_OK, id) >= 1);
    snprintf(key, sizeof(key), "%s:outreach", id);
    assert_int_equal(sink_count(key), 1);

    /* The same row again (Clay's retry): a duplicate with the same id, no second delivery, nothing new stored. */
    size_t before = fake_num_ops(w->store);
    r = post_json(w, "row-1", LEAD);
    assert_reply(&r, 200, "\"status\":\"duplicate\"");
    char again[65];
    reply_id(&r, again);
    assert_string_equal(again, id);
    reply_free(&r);
    assert_int_equal(fake_count(w->store, before, CW_STORE_OP_CREATE, CW_STORE_OK, id), 0);
    assert_int_equal(sink_count(key), 1);

    /* Another key is another event. */
    r = post_json(w, "row-2", LEAD);
    assert_reply(&r, 200, "\"status\":\"processed\"");
    reply_id(&r, again);
    assert_string_not_equal(again, id);
    reply_free(&r);
    world_free(w);
}

/* ---- the store down: 503 + Retry-After, nothing acknowledged, then the retry succeeds ---- */

static void test_store_down_is_503_then_retry_works(void **state)
{
    static const fake_mode_t modes[] = {FAKE_DOWN, FAKE_CREATES_FAIL};
    for (size_t m = 0; m != CW_ARRAY_SIZE(modes); ++m) {
        sink_reset(200, 0);
        world_t *w = world_new(3000);
        fake_set_mode(w->store, modes[m]);
        reply_t r = post_json(w, "row-down", LEAD);
        assert_reply(&r, 503, "\"error\":\"store_unavailable\"");
        assert_non_null(reply_header(&r, "retry-after"));
        assert_string_equal(reply_header(&r, "retry-after"), "5");
        reply_free(&r);
        assert_true(fake_num_ops(w->store) > 0);  /* it did try */
        assert_int_equal(sink_num_requests(), 0); /* nothing delivered that was not recorded */

        fake_set_mode(w->store, FAKE_WORKS);
        r = post_json(w, "row-down", LEAD);
        assert_reply(&r, 200, "\"status\":\"processed\"");
        char id[65], key[160];
        reply_id(&r, id);
        reply_free(&r);
        assert_true(fake_num_objects_with(w->store, id) >= 1);
        snprintf(key, sizeof(key), "%s:outreach", id);
        assert_int_equal(sink_count(key), 1);
        world_free(w);
    }
}

/* ---- in progress: the same event arrives while its first copy is still delivering ---- */

typedef struct st_first_t {
    world_t *w;
    reply_t reply;
} first_t;

static void *send_first(void *arg)
{
    first_t *f = arg;
    f->reply = post_json(f->w, "row-slow", LEAD);
    return NULL;
}

static void test_in_progress_while_first_copy_delivers(void **state)
{
    sink_reset(200, 1500); /* the sink holds the first delivery for 1.5 s */
    world_t *w = world_new(5000);
    first_t first = {.w = w};
    pthread_t tid;
    pthread_create(&tid, NULL, send_first, &first);
    /* Wait until the first copy reached the sink: the event is recorded and its lease runs. */
    uint64_t deadline = cw_now_ms() + 10000;
    while (sink_num_requests() == 0 && cw_now_ms() < deadline) {
        usleep(5000);
    }
    assert_int_equal(sink_num_requests(), 1);
    reply_t r = post_json(w, "row-slow", LEAD);
    assert_reply(&r, 202, "\"status\":\"in_progress\"");
    char id[65];
    reply_id(&r, id);
    reply_free(&r);

    pthread_join(tid, NULL);
    assert_reply(&first.reply, 200, "\"status\":\"processed\"");
    char first_id[65];
    reply_id(&first.reply, first_id);
    assert_string_equal(first_id, id);
    reply_free(&first.reply);
    assert_int_equal(sink_num_requests(), 1); /* the second copy delivered nothing */
    world_free(w);
}

/* ---- accepted: recorded, a delivery left to redrive ---- */

static void test_sink_down_is_202_accepted_with_pending(void **state)
{
    sink_reset(503, 0);
    world_t *w = world_new(400);
    reply_t r = post_json(w, "row-sink-down", LEAD);
    assert_reply(&r, 202, "\"status\":\"accepted\"");
    assert_non_null(strstr(r.body, "\"pending\":[\"outreach\"]"));
    char id[65];
    reply_id(&r, id);
    reply_free(&r);
    /* Recorded durably, with something left for redrive to find. */
    assert_true(fake_count(w->store, 0, CW_STORE_OP_CREATE, CW_STORE_OK, id) >= 1);
    assert_true(fake_num_objects_with(w->store, id) >= 1);
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals_touch_nothing),
        cmocka_unit_test(test_processed_then_duplicate),
        cmocka_unit_test(test_store_down_is_503_then_retry_works),
        cmocka_unit_test(test_in_progress_while_first_copy_delivers),
        cmocka_unit_test(test_sink_down_is_202_accepted_with_pending),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
