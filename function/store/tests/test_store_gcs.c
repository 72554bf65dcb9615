/*
 * test_store_gcs.c: the GCS backend against a fake GCS XML API and a fake
 * metadata server, both served by one poll-based thread on 127.0.0.1 (port 0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "cw/http.h"
#include "cw/loop.h"
#include "cw/util.h"
#include "store.h"

/* ---- the fake server ---- */

#define MAX_CONNS 64
#define MAX_OBJECTS 256
#define MAX_REQUEST (1024 * 1024)
#define TOKEN_PATH "/computeMetadata/v1/instance/service-accounts/default/token"
#define BUCKET_PATH "/bucket"

typedef struct st_object_t {
    char *name;
    char *body;
    size_t body_len;
} object_t;

typedef struct st_conn_t {
    int fd;
    cw_buf_t in;
} conn_t;

typedef struct st_fake_t {
    int listen_fd;
    uint16_t port;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t mu;            /* guards everything below */
    object_t objects[MAX_OBJECTS]; /* sorted by name */
    size_t num_objects;
    unsigned storage_requests, list_requests, metadata_requests, missing_flavor, bad_puts, bad_queries;
    char last_auth[256];
    int require_token; /* storage wants "Bearer tok-<token_seq>" */
    int metadata_status;
    unsigned expires_in, token_seq;
    int fail_status; /* the next fail_count storage requests get this status */
    unsigned fail_count;
} fake_t;

static fake_t fake;

typedef struct st_request_t {
    char method[16];
    char path[1100];
    char query[1100];
    cw_buf_t head;
    const char *body;
    size_t body_len;
} request_t;

/* header returns the value of |name| in the request head (copied into |buf|), or NULL. */
static const char *header(const request_t *req, const char *name, char *buf, size_t buf_size)
{
    size_t name_len = strlen(name);
    for (const char *line = strstr(req->head.base, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
        const char *p = line + 2;
        if (strncasecmp(p, name, name_len) == 0 && p[name_len] == ':') {
            p += name_len + 1;
            while (*p == ' ') {
                ++p;
            }
            size_t len = strcspn(p, "\r\n");
            snprintf(buf, buf_size, "%.*s", (int)len, p);
            return buf;
        }
    }
    return NULL;
}

static int url_decode(char *out, size_t out_size, const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; ++i) {
        if (n + 1 >= out_size) {
            return -1;
        }
        if (s[i] == '%' && i + 2 < len) {
            unsigned v;
            if (sscanf(s + i + 1, "%2x", &v) != 1) {
                return -1;
            }
            out[n++] = (char)v;
            i += 2;
        } else if (s[i] == '%') {
            return -1;
        } else {
            out[n++] = s[i];
        }
    }
    out[n] = '\0';
    return 0;
}

/* query_param decodes parameter |name| into |out|; returns 1 when present, 0 when absent, -1 when badly encoded. */
static int query_param(const char *query, const char *name, char *out, size_t out_size)
{
    size_t name_len = strlen(name);
    for (const char *p = query; p != NULL && *p != '\0';) {
        const char *amp = strchr(p, '&'), *end = amp != NULL ? amp : p + strlen(p);
        if ((size_t)(end - p) > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
            const char *v = p + name_len + 1;
            for (const char *c = v; c != end; ++c) {
                if (*c == '+' || *c == '/' || *c == '=') {
                    return -1; /* a client must percent-encode these in a value */
                }
            }
            return url_decode(out, out_size, v, (size_t)(end - v)) == 0 ? 1 : -1;
        }
        p = amp != NULL ? amp + 1 : NULL;
    }
    return 0;
}

static void respond(int fd, int status, const char *extra_headers, const char *body, size_t body_len)
{
    char head[512];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", status, body_len,
                     extra_headers != NULL ? extra_headers : "");
    cw_buf_t out = CW_BUF_INIT;
    cw_buf_append(&out, head, (size_t)n);
    if (body_len != 0) {
        cw_buf_append(&out, body, body_len);
    }
    size_t off = 0;
    while (off < out.len) {
        ssize_t w = send(fd, out.base + off, out.len - off, MSG_NOSIGNAL);
        if (w <= 0) {
            break;
        }
        off += (size_t)w;
    }
    cw_buf_free(&out);
}

static ssize_t find_object(const char *name)
{
    for (size_t i = 0; i != fake.num_objects; ++i) {
        if (strcmp(fake.objects[i].name, name) == 0) {
            return (ssize_t)i;
        }
    }
    return -1;
}

static void handle_metadata(int fd, const request_t *req)
{
    char buf[256];
    ++fake.metadata_requests;
    const char *flavor = header(req, "Metadata-Flavor", buf, sizeof(buf));
    if (flavor == NULL || strcmp(flavor, "Google") != 0) {
        ++fake.missing_flavor;
        respond(fd, 403, NULL, "", 0);
        return;
    }
    if (fake.metadata_status != 200) {
        respond(fd, fake.metadata_status, NULL, "oops", 4);
        return;
    }
    char body[256];
    int n = snprintf(body, sizeof(body), "{\"access_token\":\"tok-%u\",\"expires_in\":%u,\"token_type\":\"Bearer\"}",
                     ++fake.token_seq, fake.expires_in);
    respond(fd, 200, "Content-Type: application/json\r\n", body, (size_t)n);
}

static void handle_list(int fd, const request_t *req)
{
    char prefix[512] = "", token[512] = "", list_type[8] = "";
    ++fake.list_requests;
    if (query_param(req->query, "list-type", list_type, sizeof(list_type)) != 1 || strcmp(list_type, "2") != 0 ||
        query_param(req->query, "prefix", prefix, sizeof(prefix)) < 0 ||
        query_param(req->query, "continuation-token", token, sizeof(token)) < 0) {
        ++fake.bad_queries;
        respond(fd, 400, NULL, "", 0);
        return;
    }
    size_t start = 0;
    if (token[0] != '\0') {
        /* tokens look like "c+/=<index>": the client must encode '+', '/' and '=' */
        if (strncmp(token, "c+/=", 4) != 0) {
            ++fake.bad_queries;
            respond(fd, 400, NULL, "", 0);
            return;
        }
        start = strtoul(token + 4, NULL, 10);
    }
    cw_buf_t xml = CW_BUF_INIT;
    cw_buf_appends(&xml, "<?xml version='1.0' encoding='UTF-8'?><ListBucketResult "
                         "xmlns='http://doc.s3.amazonaws.com/2006-03-01'><Name>bucket</Name>");
    size_t matched = 0, emitted = 0;
    int more = 0;
    for (size_t i = 0; i != fake.num_objects; ++i) {
        if (strncmp(fake.objects[i].name, prefix, strlen(prefix)) != 0) {
            continue;
        }
        if (matched++ < start) {
            continue;
        }
        if (emitted == 2) {
            more = 1;
            break;
        }
        cw_buf_appendf(&xml, "<Contents><Key>%s</Key><Size>%zu</Size></Contents>", fake.objects[i].name, fake.objects[i].body_len);
        ++emitted;
    }
    if (more) {
        cw_buf_appendf(&xml, "<IsTruncated>true</IsTruncated><NextContinuationToken>c+/=%zu</NextContinuationToken>",
                       start + emitted);
    }
    cw_buf_appends(&xml, "</ListBucketResult>");
    respond(fd, 200, "Content-Type: application/xml\r\n", xml.base, xml.len);
    cw_buf_free(&xml);
}

static void handle_storage(int fd, const request_t *req)
{
    char buf[256];
    ++fake.storage_requests;
    const char *auth = header(req, "Authorization", buf, sizeof(buf));
    snprintf(fake.last_auth, sizeof(fake.last_auth), "%s", auth != NULL ? auth : "");
    if (fake.fail_count != 0) {
        --fake.fail_count;
        static const char err[] = "<?xml version='1.0'?><Error><Code>SlowDown</Code></Error>";
        respond(fd, fake.fail_status, "Retry-After: 0\r\n", err, sizeof(err) - 1);
        return;
    }
    if (fake.require_token) {
        char want[64];
        snprintf(want, sizeof(want), "Bearer tok-%u", fake.token_seq);
        if (auth == NULL || strcmp(auth, want) != 0) {
            respond(fd, 401, NULL, "", 0);
            return;
        }
    }
    if (strcmp(req->path, BUCKET_PATH) == 0 && strcmp(req->method, "GET") == 0) {
        handle_list(fd, req);
        return;
    }
    char name[1024];
    if (url_decode(name, sizeof(name), req->path + strlen(BUCKET_PATH "/"), strlen(req->path + strlen(BUCKET_PATH "/"))) != 0) {
        respond(fd, 400, NULL, "", 0);
        return;
    }
    ssize_t i = find_object(name);
    if (strcmp(req->method, "PUT") == 0) {
        const char *gen = header(req, "x-goog-if-generation-match", buf, sizeof(buf));
        if (gen == NULL || strcmp(gen, "0") != 0) {
            ++fake.bad_puts;
            respond(fd, 400, NULL, "", 0);
        } else if (i >= 0) {
            respond(fd, 412, NULL, "<Error><Code>PreconditionFailed</Code></Error>", 46);
        } else if (fake.num_objects == MAX_OBJECTS) {
            respond(fd, 507, NULL, "", 0);
        } else {
            size_t at = 0;
            while (at < fake.num_objects && strcmp(fake.objects[at].name, name) < 0) {
                ++at;
            }
            memmove(&fake.objects[at + 1], &fake.objects[at], (fake.num_objects - at) * sizeof(object_t));
            fake.objects[at] =
                (object_t){cw_strdup(name), cw_strndup(req->body != NULL ? req->body : "", req->body_len), req->body_len};
            ++fake.num_objects;
            respond(fd, 200, "x-goog-generation: 1\r\n", "", 0);
        }
    } else if (strcmp(req->method, "GET") == 0) {
        if (i < 0) {
            respond(fd, 404, NULL, "<Error><Code>NoSuchKey</Code></Error>", 37);
        } else {
            respond(fd, 200, NULL, fake.objects[i].body, fake.objects[i].body_len);
        }
    } else if (strcmp(req->method, "DELETE") == 0) {
        if (i < 0) {
            respond(fd, 404, NULL, "<Error><Code>NoSuchKey</Code></Error>", 37);
        } else {
            free(fake.objects[i].name);
            free(fake.objects[i].body);
            memmove(&fake.objects[i], &fake.objects[i + 1], (fake.num_objects - (size_t)i - 1) * sizeof(object_t));
            --fake.num_objects;
            respond(fd, 204, NULL, "", 0);
        }
    } else {
        respond(fd, 405, NULL, "", 0);
    }
}

/* serve_buffered handles every complete request in |c|'s buffer. Returns 0, or -1 to close. */
static int serve_buffered(conn_t *c)
{
    for (;;) {
        char *end = c->in.base != NULL ? memmem(c->in.base, c->in.len, "\r\n\r\n", 4) : NULL;
        if (end == NULL) {
            return c->in.len > 64 * 1024 ? -1 : 0;
        }
        size_t head_len = (size_t)(end - c->in.base) + 4;
        request_t req = {.head = CW_BUF_INIT};
        cw_buf_append(&req.head, c->in.base, head_len);
        char target[1024], buf[64];
        if (sscanf(req.head.base, "%15s %1023s", req.method, target) != 2) {
            cw_buf_free(&req.head);
            return -1;
        }
        const char *cl = header(&req, "Content-Length", buf, sizeof(buf));
        size_t body_len = cl != NULL ? strtoul(cl, NULL, 10) : 0;
        if (body_len > MAX_REQUEST) {
            cw_buf_free(&req.head);
            return -1;
        }
        if (c->in.len < head_len + body_len) {
            cw_buf_free(&req.head);
            return 0;
        }
        req.body = body_len != 0 ? c->in.base + head_len : NULL;
        req.body_len = body_len;
        char *q = strchr(target, '?');
        snprintf(req.query, sizeof(req.query), "%s", q != NULL ? q + 1 : "");
        if (q != NULL) {
            *q = '\0';
        }
        snprintf(req.path, sizeof(req.path), "%s", target);
        pthread_mutex_lock(&fake.mu);
        if (strcmp(req.path, TOKEN_PATH) == 0) {
            handle_metadata(c->fd, &req);
        } else if (strncmp(req.path, BUCKET_PATH, strlen(BUCKET_PATH)) == 0) {
            handle_storage(c->fd, &req);
        } else {
            respond(c->fd, 404, NULL, "", 0);
        }
        pthread_mutex_unlock(&fake.mu);
        cw_buf_free(&req.head);
        size_t used = head_len + body_len;
        memmove(c->in.base, c->in.base + used, c->in.len - used);
        c->in.len -= used;
    }
}

static void *fake_main(void *arg)
{
    (void)arg;
    conn_t conns[MAX_CONNS];
    size_t num_conns = 0;
    while (!atomic_load(&fake.stop)) {
        struct pollfd pfd[MAX_CONNS + 1];
        pfd[0] = (struct pollfd){.fd = fake.listen_fd, .events = POLLIN};
        for (size_t i = 0; i != num_conns; ++i) {
            pfd[i + 1] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        }
        if (poll(pfd, num_conns + 1, 50) <= 0) {
            continue;
        }
        for (size_t i = num_conns; i-- > 0;) {
            if (pfd[i + 1].revents == 0) {
                continue;
            }
            char buf[16384];
            ssize_t r = recv(conns[i].fd, buf, sizeof(buf), 0);
            int keep = 0;
            if (r > 0) {
                cw_buf_append(&conns[i].in, buf, (size_t)r);
                keep = serve_buffered(&conns[i]) == 0;
            }
            if (!keep) {
                close(conns[i].fd);
                cw_buf_free(&conns[i].in);
                conns[i] = conns[--num_conns];
            }
        }
        if ((pfd[0].revents & POLLIN) != 0) {
            int fd = accept(fake.listen_fd, NULL, NULL);
            if (fd >= 0 && num_conns < MAX_CONNS) {
                conns[num_conns++] = (conn_t){.fd = fd, .in = CW_BUF_INIT};
            } else if (fd >= 0) {
                close(fd);
            }
        }
    }
    for (size_t i = 0; i != num_conns; ++i) {
        close(conns[i].fd);
        cw_buf_free(&conns[i].in);
    }
    return NULL;
}

static void fake_start(void)
{
    memset(&fake, 0, sizeof(fake));
    pthread_mutex_init(&fake.mu, NULL);
    fake.metadata_status = 200;
    fake.expires_in = 3600;
    fake.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fake.listen_fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fake.listen_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(fake.listen_fd, 64), 0);
    socklen_t len = sizeof(sin);
    assert_int_equal(getsockname(fake.listen_fd, (struct sockaddr *)&sin, &len), 0);
    fake.port = ntohs(sin.sin_port);
    assert_int_equal(pthread_create(&fake.thread, NULL, fake_main, NULL), 0);
}

static void fake_stop(void)
{
    atomic_store(&fake.stop, 1);
    pthread_join(fake.thread, NULL);
    close(fake.listen_fd);
    for (size_t i = 0; i != fake.num_objects; ++i) {
        free(fake.objects[i].name);
        free(fake.objects[i].body);
    }
    pthread_mutex_destroy(&fake.mu);
}

/* fake_get reads a counter under the lock. */
static unsigned fake_get(const unsigned *field)
{
    pthread_mutex_lock(&fake.mu);
    unsigned v = *field;
    pthread_mutex_unlock(&fake.mu);
    return v;
}

static void fake_set(int *field, int value)
{
    pthread_mutex_lock(&fake.mu);
    *field = value;
    pthread_mutex_unlock(&fake.mu);
}

/* ---- driving the store ---- */

static cw_loop_t loop;
static cw_http_t *http;

typedef struct st_result_t {
    int done;
    cw_store_status_t status;
    char *data;
    size_t data_len;
    char **names;
    size_t num_names;
    char detail[256];
} result_t;

static void on_result(const cw_store_result_t *res, void *data)
{
    result_t *r = data;
    r->done = 1;
    r->status = res->status;
    snprintf(r->detail, sizeof(r->detail), "%s", res->detail);
    if (res->data != NULL) {
        r->data = cw_strndup(res->data, res->data_len);
        r->data_len = res->data_len;
    }
    if (res->num_names != 0) {
        r->names = cw_calloc(res->num_names, sizeof(char *));
        for (size_t i = 0; i != res->num_names; ++i) {
            r->names[i] = cw_strdup(res->names[i]);
        }
        r->num_names = res->num_names;
    }
}

static void result_free(result_t *r)
{
    free(r->data);
    for (size_t i = 0; i != r->num_names; ++i) {
        free(r->names[i]);
    }
    free(r->names);
    memset(r, 0, sizeof(*r));
}

static void on_tick(cw_timer_t *timer)
{
    (void)timer; /* only wakes the loop so the deadline below is checked */
}

/* run_until turns the loop until all |n| results are done (at most 30 s). */
static void run_until(result_t *rs, size_t n)
{
    uint64_t deadline = cw_now_ms() + 30000;
    cw_timer_t tick = {0};
    for (;;) {
        size_t done = 0;
        for (size_t i = 0; i != n; ++i) {
            done += rs[i].done != 0;
        }
        if (done == n) {
            break;
        }
        assert_true(cw_now_ms() < deadline);
        if (!cw_timer_is_running(&tick)) {
            cw_timer_start(&loop, &tick, 100, on_tick);
        }
        assert_int_equal(cw_loop_run_once(&loop), 0);
    }
    cw_timer_stop(&tick);
}

static cw_store_status_t do_create(cw_store_t *s, const char *name, const char *body)
{
    result_t r = {0};
    cw_store_create(s, &loop, name, body, strlen(body), on_result, &r);
    run_until(&r, 1);
    cw_store_status_t st = r.status;
    result_free(&r);
    return st;
}

static cw_store_status_t do_get(cw_store_t *s, const char *name, char **out_data)
{
    result_t r = {0};
    cw_store_get(s, &loop, name, on_result, &r);
    run_until(&r, 1);
    cw_store_status_t st = r.status;
    if (out_data != NULL) {
        *out_data = r.data;
        r.data = NULL;
    }
    result_free(&r);
    return st;
}

static cw_store_status_t do_delete(cw_store_t *s, const char *name)
{
    result_t r = {0};
    cw_store_delete(s, &loop, name, on_result, &r);
    run_until(&r, 1);
    cw_store_status_t st = r.status;
    result_free(&r);
    return st;
}

static void set_env(const char *name, const char *fmt, ...)
{
    char value[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    setenv(name, value, 1);
}

static void clear_env(void)
{
    unsetenv("STORAGE_EMULATOR_HOST");
    unsetenv("GCS_ENDPOINT_URL");
    unsetenv("GOOGLE_OAUTH_ACCESS_TOKEN");
    unsetenv("GCE_METADATA_HOST");
}

/* fake_reset empties the fake's bucket and restores its defaults: every test starts clean. */
static void fake_reset(void)
{
    pthread_mutex_lock(&fake.mu);
    for (size_t i = 0; i != fake.num_objects; ++i) {
        free(fake.objects[i].name);
        free(fake.objects[i].body);
    }
    fake.num_objects = 0;
    fake.expires_in = 3600;
    fake.metadata_status = 200;
    fake.require_token = 0;
    fake.fail_count = 0;
    pthread_mutex_unlock(&fake.mu);
}

static cw_store_t *open_emulator(void)
{
    fake_reset();
    clear_env();
    set_env("STORAGE_EMULATOR_HOST", "127.0.0.1:%u", fake.port); /* no scheme: http:// is implied */
    char err[256] = "";
    cw_store_t *s = cw_store_open("gs://bucket/root", http, err, sizeof(err));
    if (s == NULL) {
        fail_msg("open: %s", err);
    }
    return s;
}

/* open_metadata points the backend at the fake through GCS_ENDPOINT_URL, so tokens come from the fake metadata server. */
static cw_store_t *open_metadata(void)
{
    fake_reset();
    clear_env();
    set_env("GCS_ENDPOINT_URL", "http://127.0.0.1:%u", fake.port);
    set_env("GCE_METADATA_HOST", "127.0.0.1:%u", fake.port);
    char err[256] = "";
    cw_store_t *s = cw_store_open("gs://bucket/root/", http, err, sizeof(err));
    if (s == NULL) {
        fail_msg("open: %s", err);
    }
    return s;
}

static int setup(void **state)
{
    (void)state;
    fake_start();
    if (cw_loop_init(&loop) != 0 || (http = cw_http_new()) == NULL) {
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cw_http_free(http);
    cw_loop_dispose(&loop, 1);
    fake_stop();
    clear_env();
    return 0;
}

/* ---- tests ---- */

static void test_create_get_delete(void **state)
{
    (void)state;
    cw_store_t *s = open_emulator();
    assert_int_equal(do_create(s, "events/a", "hello"), CW_STORE_OK);
    pthread_mutex_lock(&fake.mu);
    assert_int_equal(find_object("root/events/a"), 0); /* the store's prefix is a folder */
    pthread_mutex_unlock(&fake.mu);
    assert_int_equal(do_create(s, "events/a", "again"), CW_STORE_EXISTS);
    char *data = NULL;
    assert_int_equal(do_get(s, "events/a", &data), CW_STORE_OK);
    assert_string_equal(data, "hello");
    free(data);
    assert_int_equal(do_get(s, "events/missing", NULL), CW_STORE_NOT_FOUND);
    assert_int_equal(do_delete(s, "events/a"), CW_STORE_OK);
    assert_int_equal(do_delete(s, "events/a"), CW_STORE_NOT_FOUND);
    assert_int_equal(do_get(s, "events/a", NULL), CW_STORE_NOT_FOUND);
    assert_int_equal(do_create(s, "events/a", "third"), CW_STORE_OK);
    assert_int_equal(fake_get(&fake.bad_puts), 0);
    pthread_mutex_lock(&fake.mu);
    assert_string_equal(fake.last_auth, ""); /* an emulator without GOOGLE_OAUTH_ACCESS_TOKEN is sent no token */
    pthread_mutex_unlock(&fake.mu);
    assert_int_equal(fake_get(&fake.metadata_requests), 0);
    cw_store_close(s);
}

static void test_list_pages(void **state)
{
    (void)state;
    cw_store_t *s = open_emulator();
    const char *names[] = {"events/3", "events/1", "events/5", "other/x", "events/2", "events/4"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(names); ++i) {
        assert_int_equal(do_create(s, names[i], "x"), CW_STORE_OK);
    }
    unsigned before = fake_get(&fake.list_requests);
    result_t r = {0};
    cw_store_list(s, &loop, "events/", 100, on_result, &r);
    run_until(&r, 1);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(r.num_names, 5);
    for (size_t i = 0; i != 5; ++i) {
        char want[16];
        snprintf(want, sizeof(want), "events/%zu", i + 1);
        assert_string_equal(r.names[i], want);
    }
    assert_int_equal(fake_get(&fake.list_requests) - before, 3); /* pages of 2, 2, 1 */
    assert_int_equal(fake_get(&fake.bad_queries), 0);
    result_free(&r);

    cw_store_list(s, &loop, "events/", 3, on_result, &r);
    run_until(&r, 1);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(r.num_names, 3);
    assert_string_equal(r.names[2], "events/3");
    result_free(&r);

    cw_store_list(s, &loop, "", 100, on_result, &r);
    run_until(&r, 1);
    assert_int_equal(r.num_names, 6);
    assert_string_equal(r.names[5], "other/x");
    result_free(&r);

    cw_store_list(s, &loop, "nothing/", 100, on_result, &r);
    run_until(&r, 1);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(r.num_names, 0);
    result_free(&r);

    before = fake_get(&fake.list_requests);
    cw_store_list(s, &loop, "events/", 0, on_result, &r);
    run_until(&r, 1);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(r.num_names, 0);
    assert_int_equal(fake_get(&fake.list_requests), before);
    result_free(&r);
    cw_store_close(s);
}

static void test_static_token(void **state)
{
    (void)state;
    clear_env();
    set_env("STORAGE_EMULATOR_HOST", "http://127.0.0.1:%u", fake.port);
    setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "static-token", 1);
    char err[256];
    cw_store_t *s = cw_store_open("gs://bucket", http, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(do_create(s, "a", "x"), CW_STORE_OK);
    pthread_mutex_lock(&fake.mu);
    assert_string_equal(fake.last_auth, "Bearer static-token");
    assert_int_equal(find_object("a") >= 0, 1); /* no prefix: names at the bucket's top */
    pthread_mutex_unlock(&fake.mu);
    assert_int_equal(fake_get(&fake.metadata_requests), 0);
    cw_store_close(s);
}

static void test_errors(void **state)
{
    (void)state;
    cw_store_t *s = open_emulator();
    pthread_mutex_lock(&fake.mu);
    fake.fail_status = 403;
    fake.fail_count = 1;
    pthread_mutex_unlock(&fake.mu);
    result_t r = {0};
    cw_store_get(s, &loop, "x", on_result, &r);
    run_until(&r, 1);
    assert_int_equal(r.status, CW_STORE_DENIED);
    assert_non_null(strstr(r.detail, "HTTP 403"));
    result_free(&r);

    /* transient failures are retried (Retry-After: 0 keeps this quick) ... */
    pthread_mutex_lock(&fake.mu);
    fake.fail_status = 503;
    fake.fail_count = 2;
    pthread_mutex_unlock(&fake.mu);
    assert_int_equal(do_create(s, "retried", "x"), CW_STORE_OK);
    /* ... until the attempts run out */
    unsigned before = fake_get(&fake.storage_requests);
    pthread_mutex_lock(&fake.mu);
    fake.fail_status = 503;
    fake.fail_count = 100;
    pthread_mutex_unlock(&fake.mu);
    cw_store_create(s, &loop, "never", "x", 1, on_result, &r);
    run_until(&r, 1);
    assert_int_equal(r.status, CW_STORE_UNAVAILABLE);
    assert_non_null(strstr(r.detail, "HTTP 503 SlowDown"));
    assert_int_equal(fake_get(&fake.storage_requests) - before, 6);
    result_free(&r);
    pthread_mutex_lock(&fake.mu);
    fake.fail_count = 0;
    pthread_mutex_unlock(&fake.mu);

    /* nothing listens on port 1: a transport error, after retries */
    clear_env();
    setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:1", 1);
    char err[256];
    cw_store_t *dead = cw_store_open("gs://bucket/p", http, err, sizeof(err));
    assert_non_null(dead);
    assert_int_equal(do_get(dead, "x", NULL), CW_STORE_UNAVAILABLE);
    cw_store_close(dead);
    cw_store_close(s);
}

static void test_bad_urls(void **state)
{
    (void)state;
    char err[256];
    clear_env();
    assert_null(cw_store_open("gs://", http, err, sizeof(err)));
    assert_null(cw_store_open("gs://Bucket/x", http, err, sizeof(err)));
    assert_null(cw_store_open("gs://bucket/a//b", http, err, sizeof(err)));
    assert_null(cw_store_open("gs://bucket/a b", http, err, sizeof(err)));
    assert_null(cw_store_open("gs://bucket/../x", http, err, sizeof(err)));
    setenv("STORAGE_EMULATOR_HOST", "ftp://127.0.0.1:1", 1);
    assert_null(cw_store_open("gs://bucket/x", http, err, sizeof(err)));
    clear_env();
    setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "two words", 1);
    assert_null(cw_store_open("gs://bucket/x", http, err, sizeof(err)));
    clear_env();
}

static void test_metadata_token_shared(void **state)
{
    (void)state;
    cw_store_t *s = open_metadata();
    fake_set(&fake.require_token, 1);
    unsigned fetches = fake_get(&fake.metadata_requests);
    /* ten operations at once: one fetch, the rest wait for it */
    result_t rs[10];
    memset(rs, 0, sizeof(rs));
    char names[10][16];
    for (size_t i = 0; i != 10; ++i) {
        snprintf(names[i], sizeof(names[i]), "shared/%zu", i);
        cw_store_create(s, &loop, names[i], "x", 1, on_result, &rs[i]);
    }
    run_until(rs, 10);
    for (size_t i = 0; i != 10; ++i) {
        assert_int_equal(rs[i].status, CW_STORE_OK);
        result_free(&rs[i]);
    }
    assert_int_equal(fake_get(&fake.metadata_requests) - fetches, 1);
    for (size_t i = 0; i != 5; ++i) {
        assert_int_equal(do_get(s, "shared/1", NULL), CW_STORE_OK);
    }
    assert_int_equal(fake_get(&fake.metadata_requests) - fetches, 1);
    assert_int_equal(fake_get(&fake.missing_flavor), 0);
    pthread_mutex_lock(&fake.mu);
    char want[32];
    snprintf(want, sizeof(want), "Bearer tok-%u", fake.token_seq);
    assert_string_equal(fake.last_auth, want);
    pthread_mutex_unlock(&fake.mu);
    fake_set(&fake.require_token, 0);
    cw_store_close(s);
}

static void test_metadata_token_refresh(void **state)
{
    (void)state;
    cw_store_t *s = open_metadata();
    fake_set(&fake.require_token, 1);
    pthread_mutex_lock(&fake.mu);
    fake.expires_in = 301; /* just over the five-minute margin */
    pthread_mutex_unlock(&fake.mu);
    unsigned fetches = fake_get(&fake.metadata_requests);
    assert_int_equal(do_create(s, "refresh/a", "x"), CW_STORE_OK);
    assert_int_equal(do_get(s, "refresh/a", NULL), CW_STORE_OK);
    assert_int_equal(fake_get(&fake.metadata_requests) - fetches, 1);
    usleep(1100 * 1000); /* now less than 300 s remain */
    assert_int_equal(do_get(s, "refresh/a", NULL), CW_STORE_OK);
    assert_int_equal(fake_get(&fake.metadata_requests) - fetches, 2);

    pthread_mutex_lock(&fake.mu);
    fake.expires_in = 300; /* stale on arrival: used once by its waiters, fetched again next time */
    pthread_mutex_unlock(&fake.mu);
    usleep(1100 * 1000);
    assert_int_equal(do_get(s, "refresh/a", NULL), CW_STORE_OK);
    assert_int_equal(do_get(s, "refresh/a", NULL), CW_STORE_OK);
    assert_int_equal(fake_get(&fake.metadata_requests) - fetches, 4);
    fake_set(&fake.require_token, 0);
    cw_store_close(s);
}

static void test_metadata_failures(void **state)
{
    (void)state;
    cw_store_t *s = open_metadata();
    fake_set(&fake.metadata_status, 500);
    unsigned fetches = fake_get(&fake.metadata_requests), storage = fake_get(&fake.storage_requests);
    result_t r = {0};
    cw_store_create(s, &loop, "meta/a", "x", 1, on_result, &r);
    run_until(&r, 1);
    assert_int_equal(r.status, CW_STORE_UNAVAILABLE);
    assert_non_null(strstr(r.detail, "metadata"));
    result_free(&r);
    assert_true(fake_get(&fake.metadata_requests) - fetches > 1); /* retried */
    assert_int_equal(fake_get(&fake.storage_requests), storage);  /* never sent without a token */

    fake_set(&fake.metadata_status, 404); /* no service account */
    assert_int_equal(do_create(s, "meta/a", "x"), CW_STORE_DENIED);

    fake_set(&fake.metadata_status, 200); /* failures are not cached */
    assert_int_equal(do_create(s, "meta/a", "x"), CW_STORE_OK);

    /* a 401 drops the cached token: the next operation fetches a new one */
    fake_set(&fake.require_token, 1);
    fetches = fake_get(&fake.metadata_requests);
    pthread_mutex_lock(&fake.mu);
    fake.fail_status = 401;
    fake.fail_count = 1;
    pthread_mutex_unlock(&fake.mu);
    assert_int_equal(do_get(s, "meta/a", NULL), CW_STORE_DENIED);
    assert_int_equal(do_get(s, "meta/a", NULL), CW_STORE_OK);
    assert_int_equal(fake_get(&fake.metadata_requests) - fetches, 1);
    fake_set(&fake.require_token, 0);
    cw_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_get_delete),
        cmocka_unit_test(test_list_pages),
        cmocka_unit_test(test_static_token),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_metadata_token_shared),
        cmocka_unit_test(test_metadata_token_refresh),
        cmocka_unit_test(test_metadata_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
