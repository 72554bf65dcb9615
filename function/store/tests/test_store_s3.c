/*
 * test_store_s3.c: the S3 backend against s3rver (npm "s3rver", a fake S3 that
 * checks SigV4 signatures independently of our signer), started here on a free
 * loopback port with a temporary directory and stopped by its PID. s3rver
 * comes from `npm install --prefix <repo>/.tools s3rver` (or S3RVER naming its
 * script); without it those tests are skipped. s3rver ignores If-None-Match on
 * PUT, so create-only semantics are not checked here (the shared status
 * mapping is covered by test_store_gcs), and s3rver 3.7 does not verify SigV4
 * signatures (only their form and access key; the signer is tested against
 * AWS's vectors in test_sigv4); paths, virtual hosts, paging and errors are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "cw/http.h"
#include "cw/loop.h"
#include "cw/util.h"
#include "store.h"

static cw_loop_t loop;
static cw_http_t *http;
#include "cloud_test_util.h" /* uses loop */
static pid_t s3rver_pid = -1;
static unsigned s3rver_port;
static char s3rver_dir[64];

/* ---- s3rver ---- */

static const char *s3rver_path(char *buf, size_t size)
{
    const char *env = getenv("S3RVER");
    if (env != NULL && env[0] != '\0') {
        return access(env, X_OK) == 0 ? env : NULL;
    }
    const char *src = getenv("CW_SOURCE_DIR");
    snprintf(buf, size, "%s/.tools/node_modules/.bin/s3rver", src != NULL ? src : ".");
    return access(buf, X_OK) == 0 ? buf : NULL;
}

static int start_s3rver(void)
{
    char path_buf[1024], port_str[16];
    const char *path = s3rver_path(path_buf, sizeof(path_buf));
    int port;
    if (path == NULL || (port = free_port()) < 0) {
        return -1;
    }
    snprintf(s3rver_dir, sizeof(s3rver_dir), "/tmp/cw-s3rver-XXXXXX");
    if (mkdtemp(s3rver_dir) == NULL) {
        s3rver_dir[0] = '\0';
        return -1;
    }
    snprintf(port_str, sizeof(port_str), "%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 1);
        dup2(devnull, 2);
        /* s3rver 3.7 encrypts its continuation tokens with a cipher OpenSSL 3 hides behind the legacy provider */
        setenv("NODE_OPTIONS", "--openssl-legacy-provider", 1);
        execl(path, path, "-d", s3rver_dir, "-a", "127.0.0.1", "-p", port_str, "-s", "--service-endpoint", "localhost",
              "--configure-bucket", "clay", (char *)NULL);
        _exit(127);
    }
    if (pid < 0) {
        return -1;
    }
    s3rver_pid = pid;
    s3rver_port = (unsigned)port;
    for (int i = 0; i != 300; ++i) {
        if (can_connect(s3rver_port)) {
            return 0;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            s3rver_pid = -1;
            return -1;
        }
        usleep(100 * 1000);
    }
    return -1;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

static void stop_s3rver(void)
{
    if (s3rver_pid > 0) {
        kill(s3rver_pid, SIGTERM);
        for (int i = 0; i != 50 && waitpid(s3rver_pid, NULL, WNOHANG) == 0; ++i) {
            usleep(100 * 1000);
        }
        if (waitpid(s3rver_pid, NULL, WNOHANG) == 0) {
            kill(s3rver_pid, SIGKILL);
            waitpid(s3rver_pid, NULL, 0);
        }
        s3rver_pid = -1;
    }
    if (strncmp(s3rver_dir, "/tmp/cw-s3rver-", 15) == 0) {
        nftw(s3rver_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

/* ---- driving the store ---- */

static void clear_env(void)
{
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("S3_FORCE_PATH_STYLE");
}

/* open_store points at s3rver by |host| ("127.0.0.1": path-style; "s3.localhost": virtual-hosted). */
static cw_store_t *open_store(const char *url, const char *host, const char *access_key)
{
    char endpoint[128], err[256] = "";
    clear_env();
    setenv("AWS_ACCESS_KEY_ID", access_key, 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    setenv("AWS_REGION", "eu-west-3", 1);
    snprintf(endpoint, sizeof(endpoint), "http://%s:%u/", host, s3rver_port);
    setenv("AWS_ENDPOINT_URL", endpoint, 1);
    cw_store_t *s = cw_store_open(url, http, err, sizeof(err));
    if (s == NULL) {
        fail_msg("open %s: %s", url, err);
    }
    return s;
}

static int setup(void **state)
{
    (void)state;
    if (cw_loop_init(&loop) != 0 || (http = cw_http_new()) == NULL) {
        return -1;
    }
    if (start_s3rver() != 0) {
        stop_s3rver();
        print_message("s3rver not available: the s3rver tests are skipped\n");
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stop_s3rver();
    cw_http_free(http);
    cw_loop_dispose(&loop, 1);
    clear_env();
    return 0;
}

#define NEED_S3RVER()                                                                                                              \
    do {                                                                                                                           \
        if (s3rver_pid <= 0) {                                                                                                     \
            skip();                                                                                                                \
        }                                                                                                                          \
    } while (0)

/* ---- tests ---- */

static void crud(cw_store_t *s)
{
    assert_int_equal(do_op(s, CW_STORE_OP_CREATE, "events/a", "hello", NULL), CW_STORE_OK);
    char *data = NULL;
    assert_int_equal(do_op(s, CW_STORE_OP_GET, "events/a", NULL, &data), CW_STORE_OK);
    assert_string_equal(data, "hello");
    free(data);
    assert_int_equal(do_op(s, CW_STORE_OP_GET, "events/missing", NULL, NULL), CW_STORE_NOT_FOUND);
    assert_int_equal(do_op(s, CW_STORE_OP_DELETE, "events/a", NULL, NULL), CW_STORE_OK);
    assert_int_equal(do_op(s, CW_STORE_OP_GET, "events/a", NULL, NULL), CW_STORE_NOT_FOUND);
    assert_int_equal(do_op(s, CW_STORE_OP_CREATE, "events/empty", "", NULL), CW_STORE_OK);
    assert_int_equal(do_op(s, CW_STORE_OP_GET, "events/empty", NULL, &data), CW_STORE_OK);
    assert_string_equal(data, "");
    free(data);
}

static void test_path_style(void **state)
{
    (void)state;
    NEED_S3RVER();
    cw_store_t *s = open_store("s3://clay/path", "127.0.0.1", "S3RVER");
    crud(s);
    cw_store_close(s);
}

static void test_virtual_hosted(void **state)
{
    (void)state;
    NEED_S3RVER();
    /* clay.s3.localhost resolves to loopback in curl; s3rver maps the subdomain to the bucket */
    cw_store_t *s = open_store("s3://clay/vhost", "s3.localhost", "S3RVER");
    crud(s);
    cw_store_close(s);
}

static void test_session_token_signed(void **state)
{
    (void)state;
    NEED_S3RVER();
    cw_store_t *s = open_store("s3://clay/session", "127.0.0.1", "S3RVER");
    cw_store_close(s);
    setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLE//token+with=specials", 1);
    char err[256];
    s = cw_store_open("s3://clay/session", http, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(do_op(s, CW_STORE_OP_CREATE, "x", "y", NULL), CW_STORE_OK);
    cw_store_close(s);
}

static void test_list_pages(void **state)
{
    (void)state;
    NEED_S3RVER();
    cw_store_t *s = open_store("s3://clay/listing", "127.0.0.1", "S3RVER");
    enum { N = 1005 };
    static result_t rs[N];
    memset(rs, 0, sizeof(rs));
    char name[32];
    /* in batches: a thousand requests at once measures the emulator, not the backend */
    for (size_t start = 0; start < N; start += 50) {
        size_t end = start + 50 < N ? start + 50 : N;
        for (size_t i = start; i != end; ++i) {
            snprintf(name, sizeof(name), "events/%04zu", i);
            cw_store_create(s, &loop, name, "x", 1, on_result, &rs[i]);
        }
        run_until(rs + start, end - start);
    }
    for (size_t i = 0; i != N; ++i) {
        if (rs[i].status != CW_STORE_OK) {
            print_message("%zu: %s\n", i, rs[i].detail);
        }
        assert_int_equal(rs[i].status, CW_STORE_OK);
        result_free(&rs[i]);
    }
    assert_int_equal(do_op(s, CW_STORE_OP_CREATE, "other/x", "x", NULL), CW_STORE_OK);

    result_t r = {0};
    cw_store_list(s, &loop, "events/", 5000, on_result, &r);
    run_until(&r, 1);
    if (r.status != CW_STORE_OK) {
        print_message("list: %s\n", r.detail);
    }
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(r.num_names, N);
    assert_string_equal(r.names[0], "events/0000");
    assert_string_equal(r.names[N - 1], "events/1004");
    result_free(&r);

    cw_store_list(s, &loop, "", 1002, on_result, &r);
    run_until(&r, 1);
    assert_int_equal(r.num_names, 1002);
    assert_string_equal(r.names[1001], "events/1001");
    result_free(&r);

    cw_store_list(s, &loop, "other/", 10, on_result, &r);
    run_until(&r, 1);
    assert_int_equal(r.num_names, 1);
    assert_string_equal(r.names[0], "other/x");
    result_free(&r);
    cw_store_close(s);
}

static void test_denied(void **state)
{
    (void)state;
    NEED_S3RVER();
    cw_store_t *s = open_store("s3://clay/denied", "127.0.0.1", "UNKNOWNKEY"); /* InvalidAccessKeyId */
    assert_int_equal(do_op(s, CW_STORE_OP_CREATE, "x", "x", NULL), CW_STORE_DENIED);
    assert_int_equal(do_op(s, CW_STORE_OP_GET, "x", NULL, NULL), CW_STORE_DENIED);
    cw_store_close(s);
    s = open_store("s3://no-such-bucket/p", "127.0.0.1", "S3RVER");
    assert_int_equal(do_op(s, CW_STORE_OP_CREATE, "x", "x", NULL), CW_STORE_DENIED);
    assert_int_equal(do_op(s, CW_STORE_OP_GET, "x", NULL, NULL), CW_STORE_DENIED); /* NoSuchBucket, not a missing key */
    cw_store_close(s);
}

static void test_bad_config(void **state)
{
    (void)state;
    char err[256];
    clear_env();
    assert_null(cw_store_open("s3://clay/p", http, err, sizeof(err)));
    assert_non_null(strstr(err, "AWS_ACCESS_KEY_ID"));
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    assert_null(cw_store_open("s3://Bad_Bucket/p", http, err, sizeof(err)));
    assert_null(cw_store_open("s3://ok-bucket/a//b", http, err, sizeof(err)));
    setenv("AWS_REGION", "us-east-1/../x", 1);
    assert_null(cw_store_open("s3://ok-bucket/p", http, err, sizeof(err)));
    unsetenv("AWS_REGION");
    setenv("AWS_ENDPOINT_URL", "ftp://x", 1);
    assert_null(cw_store_open("s3://ok-bucket/p", http, err, sizeof(err)));
    setenv("AWS_ENDPOINT_URL", "https://acct.r2.cloudflarestorage.com", 1);
    setenv("AWS_REGION", "auto", 1);
    cw_store_t *s = cw_store_open("s3://ok-bucket/p", http, err, sizeof(err));
    assert_non_null(s);
    cw_store_close(s);
    clear_env();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_config),           cmocka_unit_test(test_path_style), cmocka_unit_test(test_virtual_hosted),
        cmocka_unit_test(test_session_token_signed), cmocka_unit_test(test_list_pages), cmocka_unit_test(test_denied),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
