/*
 * test_store_azure.c: the Azure backend against Azurite, Microsoft's emulator,
 * started here on a free loopback port with an in-memory store and stopped by
 * its PID. Azurite comes from `npm install --prefix <repo>/.tools azurite`
 * (or AZURITE_BLOB naming the azurite-blob script); without it every test is
 * skipped. The URL parsing tests run regardless.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static cw_loop_t loop;
static cw_http_t *http;
#include "cloud_test_util.h" /* uses loop */
static pid_t azurite_pid = -1;
static unsigned azurite_port;
static char azurite_dir[64];

/* ---- Azurite ---- */

static const char *azurite_path(char *buf, size_t size)
{
    const char *env = getenv("AZURITE_BLOB");
    if (env != NULL && env[0] != '\0') {
        return access(env, X_OK) == 0 ? env : NULL;
    }
    const char *src = getenv("CW_SOURCE_DIR");
    snprintf(buf, size, "%s/.tools/node_modules/.bin/azurite-blob", src != NULL ? src : ".");
    return access(buf, X_OK) == 0 ? buf : NULL;
}

static int start_azurite(void)
{
    char path_buf[1024], port_str[16];
    const char *path = azurite_path(path_buf, sizeof(path_buf));
    int port;
    if (path == NULL || (port = free_port()) < 0) {
        return -1;
    }
    snprintf(azurite_dir, sizeof(azurite_dir), "/tmp/cw-azurite-XXXXXX");
    if (mkdtemp(azurite_dir) == NULL) {
        return -1;
    }
    snprintf(port_str, sizeof(port_str), "%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 1);
        dup2(devnull, 2);
        if (chdir(azurite_dir) != 0) {
            _exit(127);
        }
        execl(path, path, "--blobHost", "127.0.0.1", "--blobPort", port_str, "--inMemoryPersistence", "--skipApiVersionCheck",
              "--disableTelemetry", "--silent", (char *)NULL);
        _exit(127);
    }
    if (pid < 0) {
        return -1;
    }
    azurite_pid = pid;
    azurite_port = (unsigned)port;
    for (int i = 0; i != 300; ++i) { /* up to 30 s: node starts slowly on a busy machine */
        if (can_connect(azurite_port)) {
            return 0;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            azurite_pid = -1;
            return -1;
        }
        usleep(100 * 1000);
    }
    return -1;
}

static void stop_azurite(void)
{
    if (azurite_pid > 0) {
        kill(azurite_pid, SIGTERM);
        for (int i = 0; i != 50 && waitpid(azurite_pid, NULL, WNOHANG) == 0; ++i) {
            usleep(100 * 1000);
        }
        if (waitpid(azurite_pid, NULL, WNOHANG) == 0) {
            kill(azurite_pid, SIGKILL);
            waitpid(azurite_pid, NULL, 0);
        }
        azurite_pid = -1;
    }
    if (azurite_dir[0] != '\0') {
        rmdir(azurite_dir); /* empty with --inMemoryPersistence; left alone otherwise */
    }
}

/* ---- driving the store ---- */

static void set_connection_string(const char *key)
{
    char conn[512];
    snprintf(conn, sizeof(conn),
             "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;"
             "BlobEndpoint=http://127.0.0.1:%u/devstoreaccount1;",
             key, azurite_port);
    setenv("AZURE_STORAGE_CONNECTION_STRING", conn, 1);
}

static cw_store_t *open_store(const char *url)
{
    char err[256] = "";
    set_connection_string(DEV_KEY);
    setenv("AZURE_CREATE_CONTAINER", "1", 1);
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
    if (start_azurite() != 0) {
        stop_azurite();
        print_message("azurite not available: the Azurite tests are skipped\n");
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stop_azurite();
    cw_http_free(http);
    cw_loop_dispose(&loop, 1);
    unsetenv("AZURE_STORAGE_CONNECTION_STRING");
    unsetenv("AZURE_CREATE_CONTAINER");
    return 0;
}

#define NEED_AZURITE()                                                                                                             \
    do {                                                                                                                           \
        if (azurite_pid <= 0) {                                                                                                    \
            skip();                                                                                                                \
        }                                                                                                                          \
    } while (0)

/* ---- tests ---- */

static void test_create_get_delete(void **state)
{
    (void)state;
    NEED_AZURITE();
    cw_store_t *s = open_store("azblob://devstoreaccount1/clay/root");
    assert_int_equal(do_op(s, CW_STORE_OP_CREATE, "events/a", "hello", NULL), CW_STORE_OK);
    assert_int_equal(do_op(s, CW_STORE_OP_CREATE, "events/a", "again", NULL), CW_STORE_EXISTS);
    char *data = NULL;
    assert_int_equal(do_op(s, CW_STORE_OP_GET, "events/a", NULL, &data), CW_STORE_OK);
    assert_string_equal(data, "hello");
    free(data);
    assert_int_equal(do_op(s, CW_STORE_OP_GET, "events/missing", NULL, NULL), CW_STORE_NOT_FOUND);
    assert_int_equal(do_op(s, CW_STORE_OP_DELETE, "events/a", NULL, NULL), CW_STORE_OK);
    assert_int_equal(do_op(s, CW_STORE_OP_DELETE, "events/a", NULL, NULL), CW_STORE_NOT_FOUND);
    assert_int_equal(do_op(s, CW_STORE_OP_CREATE, "events/a", "", NULL), CW_STORE_OK); /* an empty body */
    assert_int_equal(do_op(s, CW_STORE_OP_GET, "events/a", NULL, &data), CW_STORE_OK);
    assert_string_equal(data, "");
    free(data);
    cw_store_close(s);
}

static void test_concurrent_creates_one_wins(void **state)
{
    (void)state;
    NEED_AZURITE();
    cw_store_t *s = open_store("azblob://devstoreaccount1/race");
    result_t rs[20];
    memset(rs, 0, sizeof(rs));
    for (size_t i = 0; i != 20; ++i) {
        cw_store_create(s, &loop, "events/same", "x", 1, on_result, &rs[i]);
    }
    run_until(rs, 20);
    size_t ok = 0, exists = 0;
    for (size_t i = 0; i != 20; ++i) {
        ok += rs[i].status == CW_STORE_OK;
        exists += rs[i].status == CW_STORE_EXISTS;
        result_free(&rs[i]);
    }
    assert_int_equal(ok, 1);
    assert_int_equal(exists, 19);
    cw_store_close(s);
}

static void test_list_pages(void **state)
{
    (void)state;
    NEED_AZURITE();
    cw_store_t *s = open_store("azblob://devstoreaccount1/listing/p");
    /* more than one page (pages ask for at most 1000 names) */
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

static void test_wrong_key_denied(void **state)
{
    (void)state;
    NEED_AZURITE();
    cw_store_t *good = open_store("azblob://devstoreaccount1/denied");
    cw_store_close(good);
    char err[256];
    set_connection_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    unsetenv("AZURE_CREATE_CONTAINER");
    cw_store_t *s = cw_store_open("azblob://devstoreaccount1/denied", http, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(do_op(s, CW_STORE_OP_CREATE, "x", "x", NULL), CW_STORE_DENIED);
    cw_store_close(s);
}

static void test_missing_container_denied(void **state)
{
    (void)state;
    NEED_AZURITE();
    char err[256];
    set_connection_string(DEV_KEY);
    unsetenv("AZURE_CREATE_CONTAINER");
    cw_store_t *s = cw_store_open("azblob://devstoreaccount1/nosuchcontainer", http, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(do_op(s, CW_STORE_OP_CREATE, "x", "x", NULL), CW_STORE_DENIED);
    assert_int_equal(do_op(s, CW_STORE_OP_GET, "x", NULL, NULL), CW_STORE_DENIED);
    cw_store_close(s);
}

static void test_bad_urls(void **state)
{
    (void)state;
    char err[256];
    unsetenv("AZURE_CREATE_CONTAINER");
    setenv("AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true", 1);
    assert_null(cw_store_open("azblob://devstoreaccount1", http, err, sizeof(err)));
    assert_null(cw_store_open("azblob://devstoreaccount1/Upper", http, err, sizeof(err)));
    assert_null(cw_store_open("azblob://devstoreaccount1/ok-container/a//b", http, err, sizeof(err)));
    assert_null(cw_store_open("azblob://other/ok-container", http, err, sizeof(err))); /* not the connection string's account */
    assert_non_null(strstr(err, "another account"));
    cw_store_t *s = cw_store_open("azblob://devstoreaccount1/ok-container/p", http, err, sizeof(err));
    assert_non_null(s);
    cw_store_close(s);
    unsetenv("AZURE_STORAGE_CONNECTION_STRING");
    assert_null(cw_store_open("azblob://acct/ok-container", http, err, sizeof(err))); /* no credentials */
    setenv("AZURE_STORAGE_KEY", DEV_KEY, 1);
    s = cw_store_open("azblob://acct/ok-container", http, err, sizeof(err));
    assert_non_null(s);
    assert_string_equal(s->url, "azblob://acct/ok-container");
    cw_store_close(s);
    unsetenv("AZURE_STORAGE_KEY");
    s = cw_store_open("https://acct.blob.core.windows.net/ok-container/pre?sv=2021-08-06&sig=secret%3D", http, err, sizeof(err));
    assert_non_null(s);
    assert_null(strstr(s->url, "secret")); /* the SAS stays out of logs */
    cw_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_create_get_delete),
        cmocka_unit_test(test_concurrent_creates_one_wins),
        cmocka_unit_test(test_list_pages),
        cmocka_unit_test(test_wrong_key_denied),
        cmocka_unit_test(test_missing_container_denied),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
