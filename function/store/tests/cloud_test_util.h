/*
 * cloud_test_util.h: helpers the store tests that run an emulator share
 * (test_store_azure.c against Azurite, test_store_s3.c against s3rver): a free
 * loopback port, a connect probe, and synchronous store operations on the
 * including file's `loop`. Header-only; include it after declaring
 * `static cw_loop_t loop;`.
 */
#ifndef CW_CLOUD_TEST_UTIL_H
#define CW_CLOUD_TEST_UTIL_H

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    return ntohs(sin.sin_port);
}

static int can_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

typedef struct st_result_t {
    int done;
    cw_store_status_t status;
    char *data;
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
    (void)timer;
}

static void run_until(result_t *rs, size_t n)
{
    uint64_t deadline = cw_now_ms() + 60000;
    cw_timer_t tick = {0};
    size_t done;
    do {
        done = 0;
        for (size_t i = 0; i != n; ++i) {
            done += rs[i].done != 0;
        }
        if (done != n) {
            assert_true(cw_now_ms() < deadline);
            if (!cw_timer_is_running(&tick)) {
                cw_timer_start(&loop, &tick, 100, on_tick);
            }
            assert_int_equal(cw_loop_run_once(&loop), 0);
        }
    } while (done != n);
    cw_timer_stop(&tick);
}

static cw_store_status_t do_op(cw_store_t *s, cw_store_op_t op, const char *name, const char *body, char **out_data)
{
    result_t r = {0};
    switch (op) {
    case CW_STORE_OP_CREATE:
        cw_store_create(s, &loop, name, body, strlen(body), on_result, &r);
        break;
    case CW_STORE_OP_GET:
        cw_store_get(s, &loop, name, on_result, &r);
        break;
    case CW_STORE_OP_DELETE:
        cw_store_delete(s, &loop, name, on_result, &r);
        break;
    default:
        fail();
    }
    run_until(&r, 1);
    if (r.status != CW_STORE_OK && r.status != CW_STORE_EXISTS && r.status != CW_STORE_NOT_FOUND) {
        print_message("detail: %s\n", r.detail);
    }
    if (out_data != NULL) {
        *out_data = r.data;
        r.data = NULL;
    }
    cw_store_status_t st = r.status;
    result_free(&r);
    return st;
}

#endif
