/*
 * test_store_file.c: the file backend and the generic store layer: create-only
 * semantics, get/delete/list, name validation, races between threads and
 * between processes, work kept off the loop thread, URL parsing, start-up
 * checks and the /metrics series. The semantics run on a disk (TMPDIR or /tmp:
 * I/O threads, fsync), in memory (/dev/shm when it is a tmpfs: operations on
 * the caller's thread, no fsync), and once for each way of naming a created
 * object that the store falls back to where the first is not available
 * (cw_file_create_t).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/magic.h>
#include "cw/loop.h"
#include "cw/metrics.h"
#include "cw/util.h"
#include "store.h"
#include "store_test_util.h"

typedef struct st_fixture_t {
    char *dir;
    cw_store_t *store;
    cw_loop_t loop;
} fixture_t;

/* The group being run: where fixtures make their folder, and whether creates link(). */
static struct {
    const char *base; /* NULL: TMPDIR or /tmp */
    int force;        /* -1: as the store chose at open; else a cw_file_create_t */
} g_mode;

#define MEMORY_BASE "/dev/shm"

static int memory_available(void)
{
    struct statfs st;
    return statfs(MEMORY_BASE, &st) == 0 && st.f_type == TMPFS_MAGIC && access(MEMORY_BASE, W_OK) == 0;
}

static char *make_fixture_dir(void)
{
    if (g_mode.base == NULL) {
        return st_make_temp_dir("store-file");
    }
    char path[512];
    snprintf(path, sizeof(path), "%s/cw-store-file-XXXXXX", g_mode.base);
    return mkdtemp(path) != NULL ? cw_strdup(path) : NULL;
}

static void apply_mode(cw_store_t *store)
{
    if (g_mode.force >= 0) {
        cw_store_file_force_create(store, (cw_file_create_t)g_mode.force);
    }
}

static int run_group(const char *title, const struct CMUnitTest *tests, size_t num_tests, const char *base, int force)
{
    g_mode.base = base;
    g_mode.force = force;
    return _cmocka_run_group_tests(title, tests, num_tests, NULL, NULL);
}

static int setup(void **state)
{
    fixture_t *f = cw_calloc(1, sizeof(*f));
    char err[256], url[600];
    f->dir = make_fixture_dir();
    if (f->dir == NULL) {
        return -1;
    }
    snprintf(url, sizeof(url), "file:%s", f->dir);
    if ((f->store = cw_store_open(url, NULL, err, sizeof(err))) == NULL) {
        fprintf(stderr, "open %s: %s\n", url, err);
        return -1;
    }
    apply_mode(f->store);
    cw_loop_init(&f->loop);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    cw_store_close(f->store);
    cw_loop_dispose(&f->loop, 1);
    st_remove_tree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static int count_temp_files(const char *dir)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/.tmp", dir);
    DIR *d = opendir(path);
    if (d == NULL) {
        return -1;
    }
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] != '.') {
            ++n;
        }
    }
    closedir(d);
    return n;
}

static void write_file(const char *dir, const char *name, const char *body, size_t len)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    if (len != 0) {
        assert_int_equal(fwrite(body, 1, len, fp), len);
    }
    assert_int_equal(fclose(fp), 0);
}

static void test_create_get_delete(void **state)
{
    fixture_t *f = *state;
    st_result_t r = {0};
    char path[700];

    assert_int_equal(st_create(f->store, &f->loop, "events/abc", CW_STRLIT("hello"), &r), 0);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.status, CW_STORE_OK);
    snprintf(path, sizeof(path), "%s/events/abc", f->dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 5);

    /* a second create loses and leaves the first body alone */
    assert_int_equal(st_create(f->store, &f->loop, "events/abc", CW_STRLIT("other body"), &r), 0);
    assert_int_equal(r.status, CW_STORE_EXISTS);
    assert_non_null(strstr(r.detail, "exists"));
    assert_int_equal(st_get(f->store, &f->loop, "events/abc", &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(r.data_len, 5);
    assert_memory_equal(r.data, "hello", 5);

    /* binary bodies keep their length; empty bodies are objects too */
    static const char bin[] = {'a', '\0', 'b', '\n', (char)0xff};
    assert_int_equal(st_create(f->store, &f->loop, "bin", bin, sizeof(bin), &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(st_get(f->store, &f->loop, "bin", &r), 0);
    assert_int_equal(r.data_len, sizeof(bin));
    assert_memory_equal(r.data, bin, sizeof(bin));
    assert_int_equal(st_create(f->store, &f->loop, "empty", NULL, 0, &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(st_get(f->store, &f->loop, "empty", &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(r.data_len, 0);

    assert_int_equal(st_get(f->store, &f->loop, "events/missing", &r), 0);
    assert_int_equal(r.status, CW_STORE_NOT_FOUND);
    assert_null(r.data);
    assert_int_equal(st_get(f->store, &f->loop, "nofolder/missing", &r), 0);
    assert_int_equal(r.status, CW_STORE_NOT_FOUND);

    assert_int_equal(st_delete(f->store, &f->loop, "events/abc", &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(st_delete(f->store, &f->loop, "events/abc", &r), 0);
    assert_int_equal(r.status, CW_STORE_NOT_FOUND);
    assert_int_equal(st_get(f->store, &f->loop, "events/abc", &r), 0);
    assert_int_equal(r.status, CW_STORE_NOT_FOUND);
    /* once deleted, the name can be created again */
    assert_int_equal(st_create(f->store, &f->loop, "events/abc", CW_STRLIT("again"), &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);

    /* a folder is not an object */
    assert_int_equal(st_get(f->store, &f->loop, "events", &r), 0);
    assert_int_equal(r.status, CW_STORE_NOT_FOUND);
    assert_int_equal(st_delete(f->store, &f->loop, "events", &r), 0);
    assert_int_equal(r.status, CW_STORE_NOT_FOUND);
    /* and an object is not a folder */
    assert_int_equal(st_create(f->store, &f->loop, "bin/below", CW_STRLIT("x"), &r), 0);
    assert_int_equal(r.status, CW_STORE_DENIED);

    /* no temp file is left behind */
    assert_int_equal(count_temp_files(f->dir), 0);
    st_result_free(&r);
}

static void assert_names(const st_result_t *r, const char *const *expected, size_t num_expected)
{
    assert_int_equal(r->status, CW_STORE_OK);
    assert_int_equal(r->num_names, num_expected);
    for (size_t i = 0; i != num_expected; ++i) {
        assert_string_equal(r->names[i], expected[i]);
    }
}

static void test_list(void **state)
{
    fixture_t *f = *state;
    st_result_t r = {0};
    static const char *const names[] = {"ev/3", "ev/1", "ev2/x", "ev/sub/z", "other/y", "ev/2", "top"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(names); ++i) {
        assert_int_equal(st_create(f->store, &f->loop, names[i], CW_STRLIT("x"), &r), 0);
        assert_int_equal(r.status, CW_STORE_OK);
    }
    /* a stray file a person dropped in with an impossible name is no object */
    write_file(f->dir, "ev/has space", CW_STRLIT("x"));

    static const char *const in_ev[] = {"ev/1", "ev/2", "ev/3", "ev/sub/z"};
    assert_int_equal(st_list(f->store, &f->loop, "ev/", 100, &r), 0);
    assert_names(&r, in_ev, 4);
    static const char *const ev_any[] = {"ev/1", "ev/2", "ev/3", "ev/sub/z", "ev2/x"};
    assert_int_equal(st_list(f->store, &f->loop, "ev", 100, &r), 0);
    assert_names(&r, ev_any, 5);
    assert_int_equal(st_list(f->store, &f->loop, "ev/", 2, &r), 0);
    assert_names(&r, in_ev, 2);
    static const char *const sub[] = {"ev/sub/z"};
    assert_int_equal(st_list(f->store, &f->loop, "ev/su", 100, &r), 0);
    assert_names(&r, sub, 1);
    static const char *const all[] = {"ev/1", "ev/2", "ev/3", "ev/sub/z", "ev2/x", "other/y", "top"};
    assert_int_equal(st_list(f->store, &f->loop, "", 100, &r), 0);
    assert_names(&r, all, 7);
    assert_int_equal(st_list(f->store, &f->loop, "nope/", 100, &r), 0);
    assert_names(&r, NULL, 0);
    assert_int_equal(st_list(f->store, &f->loop, "top/", 100, &r), 0);
    assert_names(&r, NULL, 0);
    assert_int_equal(st_list(f->store, &f->loop, "ev/", 0, &r), 0);
    assert_names(&r, NULL, 0);
    /* the temp folder is never listed, even when asked for */
    write_file(f->dir, ".tmp/deadbeef", CW_STRLIT("x"));
    assert_int_equal(st_list(f->store, &f->loop, ".tmp/", 100, &r), 0);
    assert_names(&r, NULL, 0);
    assert_int_equal(st_list(f->store, &f->loop, "", 100, &r), 0);
    assert_names(&r, all, 7);
    st_result_free(&r);
}

static void test_bad_names_denied_asynchronously(void **state)
{
    fixture_t *f = *state;
    char long_name[600];
    memset(long_name, 'a', 513);
    long_name[513] = '\0';
    const char *const bad[] = {"",        "/abs", "a/../b", "..",    "a//b", "a b",  "a/",  "caf\xc3\xa9",
                               long_name, ".",    "./a",    "a/./b", "a/.",  "a\\b", "a?b", "%2e"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(bad); ++i) {
        st_result_t r[3];
        memset(r, 0, sizeof(r));
        size_t n = 0;
        for (size_t j = 0; j != 3; ++j) {
            r[j].counter = &n;
        }
        cw_store_create(f->store, &f->loop, bad[i], CW_STRLIT("x"), st_capture, &r[0]);
        cw_store_get(f->store, &f->loop, bad[i], st_capture, &r[1]);
        cw_store_delete(f->store, &f->loop, bad[i], st_capture, &r[2]);
        /* never completed inside the call */
        assert_int_equal(n, 0);
        assert_int_equal(st_run_until(&f->loop, &n, 3, 10000), 0);
        for (size_t j = 0; j != 3; ++j) {
            assert_int_equal(r[j].done, 1);
            assert_int_equal(r[j].status, CW_STORE_DENIED);
            assert_non_null(strstr(r[j].detail, "invalid name"));
            st_result_free(&r[j]);
        }
    }
}

static void test_bad_prefixes_and_reserved_names(void **state)
{
    fixture_t *f = *state;
    st_result_t r = {0};
    static const char *const bad[] = {"/", "../", "a//", "a b", "./"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(bad); ++i) {
        size_t n = 0;
        r.counter = &n;
        cw_store_list(f->store, &f->loop, bad[i], 10, st_capture, &r);
        assert_int_equal(n, 0);
        assert_int_equal(st_run_until(&f->loop, &n, 1, 10000), 0);
        assert_int_equal(r.status, CW_STORE_DENIED);
        assert_non_null(strstr(r.detail, "invalid prefix"));
        st_result_free(&r);
    }
    r.counter = NULL;
    /* the backend's own temp folder is off limits */
    assert_int_equal(st_create(f->store, &f->loop, ".tmp/x", CW_STRLIT("x"), &r), 0);
    assert_int_equal(r.status, CW_STORE_DENIED);
    assert_int_equal(st_create(f->store, &f->loop, ".tmp", CW_STRLIT("x"), &r), 0);
    assert_int_equal(r.status, CW_STORE_DENIED);
    /* ".tmpx" is an ordinary name */
    assert_int_equal(st_create(f->store, &f->loop, ".tmpx", CW_STRLIT("x"), &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);

    /* 512 bytes is allowed (in segments a file system takes) */
    char name[513];
    memset(name, 'n', 512);
    for (size_t i = 100; i < 512; i += 101) {
        name[i] = '/';
    }
    name[512] = '\0';
    assert_int_equal(st_create(f->store, &f->loop, name, CW_STRLIT("long"), &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(st_get(f->store, &f->loop, name, &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_string_equal(r.data, "long");
    /* one 300-byte segment is beyond NAME_MAX: a clear denial, not a crash */
    memset(name, 's', 300);
    name[300] = '\0';
    assert_int_equal(st_create(f->store, &f->loop, name, CW_STRLIT("x"), &r), 0);
    assert_int_equal(r.status, CW_STORE_DENIED);
    assert_non_null(strstr(r.detail, "too long"));
    st_result_free(&r);
}

/* ---- 32 threads, each with its own loop, create one name ---- */

typedef struct st_racer_t {
    cw_store_t *store;
    pthread_barrier_t *barrier;
    const char *name;
    char body[32];
    st_result_t result;
} racer_t;

static void *racer_main(void *arg)
{
    racer_t *racer = arg;
    cw_loop_t loop;
    size_t n = 0;
    cw_loop_init(&loop);
    racer->result.counter = &n;
    pthread_barrier_wait(racer->barrier);
    cw_store_create(racer->store, &loop, racer->name, racer->body, strlen(racer->body), st_capture, &racer->result);
    if (st_run_until(&loop, &n, 1, ST_TIMEOUT_MS) != 0) {
        racer->result.done = -1;
    }
    racer->result.counter = NULL;
    cw_loop_dispose(&loop, 1);
    st_drain_thread_cache();
    return NULL;
}

static void test_threads_race_one_winner(void **state)
{
    fixture_t *f = *state;
    enum { NUM_RACERS = 32, ROUNDS = 5 };
    for (int round = 0; round != ROUNDS; ++round) {
        racer_t racers[NUM_RACERS];
        pthread_t threads[NUM_RACERS];
        pthread_barrier_t barrier;
        char name[64];
        snprintf(name, sizeof(name), "race/round-%d", round);
        pthread_barrier_init(&barrier, NULL, NUM_RACERS);
        memset(racers, 0, sizeof(racers));
        for (int i = 0; i != NUM_RACERS; ++i) {
            racers[i].store = f->store;
            racers[i].barrier = &barrier;
            racers[i].name = name;
            snprintf(racers[i].body, sizeof(racers[i].body), "racer-%d", i);
            assert_int_equal(pthread_create(&threads[i], NULL, racer_main, &racers[i]), 0);
        }
        int winner = -1, num_ok = 0, num_exists = 0;
        for (int i = 0; i != NUM_RACERS; ++i) {
            pthread_join(threads[i], NULL);
            assert_int_equal(racers[i].result.done, 1);
            /* the completion ran on the racer's own loop thread */
            assert_true(pthread_equal(racers[i].result.thread, threads[i]));
            if (racers[i].result.status == CW_STORE_OK) {
                ++num_ok;
                winner = i;
            } else if (racers[i].result.status == CW_STORE_EXISTS) {
                ++num_exists;
            }
            st_result_free(&racers[i].result);
        }
        pthread_barrier_destroy(&barrier);
        assert_int_equal(num_ok, 1);
        assert_int_equal(num_exists, NUM_RACERS - 1);
        st_result_t r = {0};
        assert_int_equal(st_get(f->store, &f->loop, name, &r), 0);
        assert_string_equal(r.data, racers[winner].body);
        st_result_free(&r);
    }
    assert_int_equal(count_temp_files(f->dir), 0);
}

/* ---- two processes race on the same names ---- */

enum { NUM_FORK_NAMES = 200 };

/* race_names submits a create of every name with |who| as the body and
 * records in |out_won| which ones this process won. Returns 0, or -1. */
static int race_names(const char *dir, const char *who, int start_fd, unsigned char *out_won)
{
    char err[256];
    cw_loop_t loop;
    int ret = -1;
    cw_store_t *store = cw_store_file_open(dir, err, sizeof(err));
    if (store == NULL) {
        fprintf(stderr, "%s: %s\n", who, err);
        return -1;
    }
    apply_mode(store);
    cw_loop_init(&loop);
    st_result_t *results = cw_calloc(NUM_FORK_NAMES, sizeof(*results));
    size_t n = 0;
    char go;
    /* both sides start together: the parent writes one byte per side */
    if (read(start_fd, &go, 1) != 1) {
        goto Exit;
    }
    for (size_t i = 0; i != NUM_FORK_NAMES; ++i) {
        char name[64];
        snprintf(name, sizeof(name), "fork/%zu", i);
        results[i].counter = &n;
        cw_store_create(store, &loop, name, who, strlen(who), st_capture, &results[i]);
    }
    if (st_run_until(&loop, &n, NUM_FORK_NAMES, ST_TIMEOUT_MS) != 0) {
        goto Exit;
    }
    ret = 0;
    for (size_t i = 0; i != NUM_FORK_NAMES; ++i) {
        if (results[i].status == CW_STORE_OK) {
            out_won[i] = 1;
        } else if (results[i].status == CW_STORE_EXISTS) {
            out_won[i] = 0;
        } else {
            fprintf(stderr, "%s: %zu: %s\n", who, i, results[i].detail);
            ret = -1;
        }
    }
Exit:
    for (size_t i = 0; i != NUM_FORK_NAMES; ++i) {
        st_result_free(&results[i]);
    }
    free(results);
    cw_store_close(store);
    cw_loop_dispose(&loop, 1);
    return ret;
}

static void test_processes_race_one_winner_per_name(void **state)
{
#if defined(__SANITIZE_THREAD__)
    /* The child starts the store's I/O threads after a fork taken with threads running, which
     * ThreadSanitizer cannot follow (it dies in the child); the thread race above still runs. */
    skip();
#endif
    fixture_t *f = *state;
    int start[2], report[2];
    assert_int_equal(pipe(start), 0);
    assert_int_equal(pipe(report), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsigned char won[NUM_FORK_NAMES];
        close(start[1]);
        close(report[0]);
        int ok = race_names(f->dir, "child", start[0], won) == 0 && write(report[1], won, sizeof(won)) == (ssize_t)sizeof(won);
        _exit(ok ? 0 : 1);
    }
    close(start[0]);
    close(report[1]);
    /* let the child get ready, then release both */
    usleep(50 * 1000);
    int self_pipe[2];
    assert_int_equal(pipe(self_pipe), 0);
    assert_int_equal(write(self_pipe[1], "g", 1), 1);
    assert_int_equal(write(start[1], "g", 1), 1);
    unsigned char parent_won[NUM_FORK_NAMES], child_won[NUM_FORK_NAMES];
    assert_int_equal(race_names(f->dir, "parent", self_pipe[0], parent_won), 0);
    size_t got = 0;
    while (got < sizeof(child_won)) {
        ssize_t n = read(report[0], child_won + got, sizeof(child_won) - got);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(got, sizeof(child_won));
    close(start[1]);
    close(report[0]);
    close(self_pipe[0]);
    close(self_pipe[1]);

    size_t num_parent = 0;
    st_result_t r = {0};
    for (size_t i = 0; i != NUM_FORK_NAMES; ++i) {
        char name[64];
        assert_int_equal(parent_won[i] + child_won[i], 1);
        num_parent += parent_won[i];
        snprintf(name, sizeof(name), "fork/%zu", i);
        assert_int_equal(st_get(f->store, &f->loop, name, &r), 0);
        assert_string_equal(r.data, parent_won[i] ? "parent" : "child");
    }
    st_result_free(&r);
    print_message("parent won %zu of %d names\n", num_parent, NUM_FORK_NAMES);
}

/* ---- the loop thread never does the I/O ---- */

static void test_io_runs_off_the_loop(void **state)
{
    fixture_t *f = *state;
    enum { NUM_OPS = 200 };
    static char body[4096];
    memset(body, 'b', sizeof(body));
    st_result_t *results = cw_calloc(NUM_OPS, sizeof(*results));
    size_t n = 0;

    uint64_t start = cw_now_us(), slowest = 0;
    for (size_t i = 0; i != NUM_OPS; ++i) {
        char name[64];
        snprintf(name, sizeof(name), "offloop/%zu", i);
        results[i].counter = &n;
        uint64_t t0 = cw_now_us();
        cw_store_create(f->store, &f->loop, name, body, sizeof(body), st_capture, &results[i]);
        uint64_t dt = cw_now_us() - t0;
        slowest = dt > slowest ? dt : slowest;
    }
    uint64_t submit_us = cw_now_us() - start;
    /* no completion runs inside a call, nor before the loop turns */
    assert_int_equal(n, 0);

    /* Without turning the loop, the objects appear on disk: the writes,
     * fsyncs and links happen on other threads. */
    uint64_t deadline = cw_now_ms() + ST_TIMEOUT_MS;
    for (size_t i = 0; i != NUM_OPS;) {
        char path[700];
        struct stat st;
        snprintf(path, sizeof(path), "%s/offloop/%zu", f->dir, i);
        if (stat(path, &st) == 0) {
            ++i;
            continue;
        }
        assert_true(cw_now_ms() < deadline);
        usleep(1000);
    }
    assert_int_equal(n, 0);

    assert_int_equal(st_run_until(&f->loop, &n, NUM_OPS, ST_TIMEOUT_MS), 0);
    for (size_t i = 0; i != NUM_OPS; ++i) {
        assert_int_equal(results[i].done, 1);
        assert_int_equal(results[i].status, CW_STORE_OK);
        assert_true(pthread_equal(results[i].thread, pthread_self()));
        st_result_free(&results[i]);
    }
    free(results);
    print_message("200 submissions took %llu us, the slowest %llu us\n", (unsigned long long)submit_us,
                  (unsigned long long)slowest);
    /* generous: submitting is a malloc and a queue push, never a disk write */
    assert_true(slowest < 50000);
}

/* ---- URLs and start-up ---- */

/* ---- in memory, operations run on the caller's thread ---- */

static void test_memory_runs_inline(void **state)
{
    fixture_t *f = *state;
    enum { NUM_OPS = 50 };
    st_result_t *results = cw_calloc(NUM_OPS + 2, sizeof(*results));
    size_t n = 0;

    for (size_t i = 0; i != NUM_OPS; ++i) {
        char name[64], path[700], body[32];
        struct stat st;
        snprintf(name, sizeof(name), "inline/%zu", i);
        /* the body is the caller's: overwritten at once after the call, the object keeps what was passed */
        snprintf(body, sizeof(body), "body-%zu", i);
        results[i].counter = &n;
        cw_store_create(f->store, &f->loop, name, body, strlen(body), st_capture, &results[i]);
        memset(body, 'x', sizeof(body));
        /* written before the call returned ... */
        snprintf(path, sizeof(path), "%s/%s", f->dir, name);
        assert_int_equal(stat(path, &st), 0);
    }
    /* ... yet no completion ran inside a call, nor before the loop turned */
    assert_int_equal(n, 0);
    results[NUM_OPS].counter = &n;
    cw_store_get(f->store, &f->loop, "inline/7", st_capture, &results[NUM_OPS]);
    results[NUM_OPS + 1].counter = &n;
    cw_store_list(f->store, &f->loop, "inline/", 1000, st_capture, &results[NUM_OPS + 1]);
    assert_int_equal(n, 0);
    /* every completion (listing included, from its thread) on this loop's thread */
    assert_int_equal(st_run_until(&f->loop, &n, NUM_OPS + 2, ST_TIMEOUT_MS), 0);
    for (size_t i = 0; i != NUM_OPS + 2; ++i) {
        assert_int_equal(results[i].done, 1);
        assert_int_equal(results[i].status, CW_STORE_OK);
        assert_true(pthread_equal(results[i].thread, pthread_self()));
    }
    assert_int_equal(results[NUM_OPS].data_len, 6);
    assert_memory_equal(results[NUM_OPS].data, "body-7", 6);
    assert_int_equal(results[NUM_OPS + 1].num_names, NUM_OPS);
    for (size_t i = 0; i != NUM_OPS + 2; ++i) {
        st_result_free(&results[i]);
    }
    free(results);
    assert_int_equal(count_temp_files(f->dir), 0);
}

static void test_open_urls(void **state)
{
    (void)state;
    char err[512];
    cw_store_t *store;

    assert_null(cw_store_open("ftp://example/x", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "unsupported store URL scheme \"ftp\""));
    assert_null(cw_store_open("", NULL, err, sizeof(err)));
    assert_null(cw_store_open(NULL, NULL, err, sizeof(err)));
    assert_null(cw_store_open("file:", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "no directory"));
    assert_null(cw_store_open("file://otherhost/tmp/x", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "not a host"));
    /* an unknown https host is not Azure, and the URL (which may hold a token) is not echoed */
    assert_null(cw_store_open("https://example.com/c?sig=SECRET", NULL, err, sizeof(err)));
    assert_null(strstr(err, "SECRET"));

    char *dir = st_make_temp_dir("store-url");
    assert_non_null(dir);
    char url[700];

    /* file:///abs/dir, creating missing folders */
    snprintf(url, sizeof(url), "file://%s/a/b", dir);
    store = cw_store_open(url, NULL, err, sizeof(err));
    assert_non_null(store);
    assert_string_equal(store->backend->name, "file");
    assert_null(store->http);
    cw_store_close(store);
    snprintf(url, sizeof(url), "%s/a/b/.tmp", dir);
    struct stat st;
    assert_int_equal(stat(url, &st), 0);
    assert_true(S_ISDIR(st.st_mode));

    /* file://localhost/abs */
    snprintf(url, sizeof(url), "file://localhost%s/c", dir);
    store = cw_store_open(url, NULL, err, sizeof(err));
    assert_non_null(store);
    cw_store_close(store);

    /* file:./relative and file:relative */
    char cwd[1024];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    store = cw_store_open("file:./rel", NULL, err, sizeof(err));
    assert_non_null(store);
    cw_store_close(store);
    store = cw_store_open("FILE:plain", NULL, err, sizeof(err));
    assert_non_null(store);
    cw_store_close(store);
    assert_int_equal(chdir(cwd), 0);
    snprintf(url, sizeof(url), "%s/rel/.tmp", dir);
    assert_int_equal(stat(url, &st), 0);
    snprintf(url, sizeof(url), "%s/plain/.tmp", dir);
    assert_int_equal(stat(url, &st), 0);

    /* a path through a regular file cannot be a store */
    write_file(dir, "afile", CW_STRLIT("x"));
    snprintf(url, sizeof(url), "file:%s/afile/sub", dir);
    assert_null(cw_store_open(url, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot create directory"));

    /* a read-only directory fails at start, not at the first create (root ignores modes) */
    if (geteuid() != 0) {
        snprintf(url, sizeof(url), "%s/ro", dir);
        assert_int_equal(mkdir(url, 0755), 0);
        snprintf(url, sizeof(url), "%s/ro/.tmp", dir);
        assert_int_equal(mkdir(url, 0555), 0);
        snprintf(url, sizeof(url), "file:%s/ro", dir);
        assert_null(cw_store_open(url, NULL, err, sizeof(err)));
        assert_non_null(strstr(err, "not usable"));
        snprintf(url, sizeof(url), "%s/ro/.tmp", dir);
        chmod(url, 0755);
    }

    /* the cloud schemes go to their backends, or say they are not built */
    static const char *const remote[] = {"gs://bucket/prefix", "s3://bucket/prefix", "azblob://acct/container/prefix",
                                         "https://acct.blob.core.windows.net/container?sv=x"};
    static const char *const scheme[] = {"gs", "s3", "azure", "azure"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(remote); ++i) {
        err[0] = '\0';
        store = cw_store_open(remote[i], NULL, err, sizeof(err));
        if (store != NULL) {
            cw_store_close(store);
            continue;
        }
        char expected[64];
        snprintf(expected, sizeof(expected), "%s store support is not built", scheme[i]);
        if (strstr(err, "not built") != NULL) {
            assert_string_equal(err, expected);
        } else {
            assert_null(strstr(err, "unsupported store URL scheme"));
        }
    }

    st_remove_tree(dir);
    free(dir);
}

static void test_open_cleans_stale_temp_files(void **state)
{
    (void)state;
    char err[256], path[700];
    char *dir = st_make_temp_dir("store-clean");
    assert_non_null(dir);
    cw_store_t *store = cw_store_file_open(dir, err, sizeof(err));
    assert_non_null(store);
    cw_store_close(store);

    write_file(dir, ".tmp/old", CW_STRLIT("crashed create"));
    write_file(dir, ".tmp/fresh", CW_STRLIT("in flight elsewhere"));
    snprintf(path, sizeof(path), "%s/.tmp/old", dir);
    struct timespec times[2] = {{.tv_sec = time(NULL) - 7200}, {.tv_sec = time(NULL) - 7200}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);

    store = cw_store_file_open(dir, err, sizeof(err));
    assert_non_null(store);
    struct stat st;
    assert_int_equal(stat(path, &st), -1);
    assert_int_equal(errno, ENOENT);
    snprintf(path, sizeof(path), "%s/.tmp/fresh", dir);
    assert_int_equal(stat(path, &st), 0);
    cw_store_close(store);
    st_remove_tree(dir);
    free(dir);
}

static void test_get_too_large_is_denied(void **state)
{
    fixture_t *f = *state;
    st_result_t r = {0};
    char path[700];
    snprintf(path, sizeof(path), "%s/huge", f->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 16 * 1024 * 1024 + 1), 0);
    close(fd);
    assert_int_equal(st_get(f->store, &f->loop, "huge", &r), 0);
    assert_int_equal(r.status, CW_STORE_DENIED);
    assert_non_null(strstr(r.detail, "larger than"));
    /* exactly the cap is fine */
    assert_int_equal(truncate(path, 16 * 1024 * 1024), 0);
    assert_int_equal(st_get(f->store, &f->loop, "huge", &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(r.data_len, 16 * 1024 * 1024);
    /* a FIFO does not hang a worker */
    snprintf(path, sizeof(path), "%s/fifo", f->dir);
    assert_int_equal(mkfifo(path, 0644), 0);
    assert_int_equal(st_get(f->store, &f->loop, "fifo", &r), 0);
    assert_int_equal(r.status, CW_STORE_NOT_FOUND);
    st_result_free(&r);
}

static void test_io_errors_are_reported(void **state)
{
    fixture_t *f = *state;
    st_result_t r = {0};
    char tmp[700], moved[700];

    /* the temp folder replaced by a file: creates fail cleanly, reads still work */
    assert_int_equal(st_create(f->store, &f->loop, "io/kept", CW_STRLIT("kept"), &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    snprintf(tmp, sizeof(tmp), "%s/.tmp", f->dir);
    snprintf(moved, sizeof(moved), "%s/tmp-moved", f->dir);
    assert_int_equal(rename(tmp, moved), 0);
    write_file(f->dir, ".tmp", CW_STRLIT("not a folder"));
    cw_file_create_t how = cw_store_file_create_mode(f->store);
    if (how == CW_FILE_CREATE_LINK_FD || how == CW_FILE_CREATE_LINK_PROC) {
        /* unnamed files need no temp folder */
        assert_int_equal(st_create(f->store, &f->loop, "io/unnamed", CW_STRLIT("x"), &r), 0);
        assert_int_equal(r.status, CW_STORE_OK);
        st_result_free(&r);
        assert_int_equal(unlink(tmp), 0);
        assert_int_equal(rename(moved, tmp), 0);
        return;
    }
    assert_int_equal(st_create(f->store, &f->loop, "io/new", CW_STRLIT("x"), &r), 0);
    assert_int_equal(r.status, CW_STORE_UNAVAILABLE);
    assert_non_null(strstr(r.detail, "io/new"));
    assert_int_equal(st_get(f->store, &f->loop, "io/kept", &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    assert_int_equal(unlink(tmp), 0);
    assert_int_equal(rename(moved, tmp), 0);
    assert_int_equal(st_create(f->store, &f->loop, "io/new", CW_STRLIT("x"), &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);

    /* the temp folder removed: the next create puts it back */
    assert_int_equal(rmdir(tmp), 0);
    assert_int_equal(st_create(f->store, &f->loop, "io/after", CW_STRLIT("x"), &r), 0);
    assert_int_equal(r.status, CW_STORE_OK);
    st_result_free(&r);
}

/* ---- /metrics ---- */

static uint64_t requests(const char *op, const char *result)
{
    char labels[128];
    snprintf(labels, sizeof(labels), "backend=\"file\",op=\"%s\",result=\"%s\"", op, result);
    return cw_counter_get(cw_metrics_counter("clay_store_requests_total", "", labels));
}

static void test_metrics(void **state)
{
    fixture_t *f = *state;
    st_result_t r = {0};

    /* the wrappers register their series on first use: do one op first */
    assert_int_equal(st_get(f->store, &f->loop, "m/warmup", &r), 0);
    uint64_t created = requests("create", "ok"), exists = requests("create", "exists");
    uint64_t missing = requests("get", "not_found"), denied = requests("delete", "denied");
    uint64_t listed = requests("list", "ok");
    cw_histogram_t *create_latency =
        cw_metrics_histogram("clay_store_request_duration_seconds", "", "backend=\"file\",op=\"create\"", NULL, 0);
    uint64_t observed = cw_histogram_count(create_latency);

    assert_int_equal(st_create(f->store, &f->loop, "m/a", CW_STRLIT("x"), &r), 0);
    assert_int_equal(st_create(f->store, &f->loop, "m/a", CW_STRLIT("x"), &r), 0);
    assert_int_equal(st_get(f->store, &f->loop, "m/b", &r), 0);
    assert_int_equal(st_delete(f->store, &f->loop, "../m", &r), 0);
    assert_int_equal(st_list(f->store, &f->loop, "m/", 10, &r), 0);
    st_result_free(&r);

    assert_int_equal(requests("create", "ok"), created + 1);
    assert_int_equal(requests("create", "exists"), exists + 1);
    assert_int_equal(requests("get", "not_found"), missing + 1);
    assert_int_equal(requests("delete", "denied"), denied + 1);
    assert_int_equal(requests("list", "ok"), listed + 1);
    assert_int_equal(cw_histogram_count(create_latency), observed + 2);

    cw_buf_t text = CW_BUF_INIT;
    cw_metrics_render(&text);
    assert_non_null(strstr(text.base, "# TYPE clay_store_requests_total counter\n"));
    assert_non_null(strstr(text.base, "clay_store_requests_total{backend=\"file\",op=\"create\",result=\"exists\"} "));
    assert_non_null(strstr(text.base, "clay_store_requests_total{backend=\"file\",op=\"list\",result=\"unavailable\"} 0\n"));
    assert_non_null(strstr(text.base, "# TYPE clay_store_request_duration_seconds histogram\n"));
    assert_non_null(strstr(text.base, "clay_store_request_duration_seconds_count{backend=\"file\",op=\"get\"} "));
    /* only the backends opened show up (each is listed from its open on, at zero: e2e/metrics_scrape) */
    assert_null(strstr(text.base, "backend=\"other\""));
    cw_buf_free(&text);
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(cw_store_status_name(CW_STORE_OK), "ok");
    assert_string_equal(cw_store_status_name(CW_STORE_EXISTS), "exists");
    assert_string_equal(cw_store_status_name(CW_STORE_NOT_FOUND), "not_found");
    assert_string_equal(cw_store_status_name(CW_STORE_UNAVAILABLE), "unavailable");
    assert_string_equal(cw_store_status_name(CW_STORE_DENIED), "denied");
}

/* the store picks a way to create at open, the first its filesystem allows */
static void test_create_mode_is_probed(void **state)
{
    fixture_t *f = *state;
    cw_file_create_t how = cw_store_file_create_mode(f->store);
    print_message("this filesystem creates by %s\n", cw_file_create_name(how));
    /* every Linux filesystem a store lives on in practice (ext4, xfs, btrfs, tmpfs) has O_TMPFILE, and a
     * process can always link through /proc */
    assert_true(how == CW_FILE_CREATE_LINK_FD || how == CW_FILE_CREATE_LINK_PROC);
}

int main(void)
{
    /* the store's semantics, in every mode */
#define SEMANTICS                                                                                                                  \
    cmocka_unit_test_setup_teardown(test_create_get_delete, setup, teardown),                                                      \
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),                                                               \
        cmocka_unit_test_setup_teardown(test_bad_names_denied_asynchronously, setup, teardown),                                    \
        cmocka_unit_test_setup_teardown(test_bad_prefixes_and_reserved_names, setup, teardown),                                    \
        cmocka_unit_test_setup_teardown(test_threads_race_one_winner, setup, teardown),                                            \
        cmocka_unit_test_setup_teardown(test_processes_race_one_winner_per_name, setup, teardown),                                 \
        cmocka_unit_test_setup_teardown(test_get_too_large_is_denied, setup, teardown),                                            \
        cmocka_unit_test_setup_teardown(test_io_errors_are_reported, setup, teardown)
    const struct CMUnitTest disk[] = {
        SEMANTICS,
        cmocka_unit_test_setup_teardown(test_create_mode_is_probed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_runs_off_the_loop, setup, teardown),
        cmocka_unit_test(test_open_urls),
        cmocka_unit_test(test_open_cleans_stale_temp_files),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test(test_status_names),
    };
    const struct CMUnitTest memory[] = {
        SEMANTICS,
        cmocka_unit_test_setup_teardown(test_create_mode_is_probed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_runs_inline, setup, teardown),
    };
    const struct CMUnitTest fallback[] = {SEMANTICS};
#undef SEMANTICS
#define NUM(a) (sizeof(a) / sizeof((a)[0]))
    int failed = run_group("file store on a disk", disk, NUM(disk), NULL, -1);
    if (memory_available()) {
        failed += run_group("file store in memory (" MEMORY_BASE ")", memory, NUM(memory), MEMORY_BASE, -1);
        failed +=
            run_group("file store in memory, temp files renamed", fallback, NUM(fallback), MEMORY_BASE, CW_FILE_CREATE_RENAME);
    } else {
        print_message("[  SKIPPED ] file store in memory: " MEMORY_BASE " is not a writable tmpfs here\n");
    }
    failed += run_group("file store linking through /proc", fallback, NUM(fallback), NULL, CW_FILE_CREATE_LINK_PROC);
    failed += run_group("file store renaming temp files", fallback, NUM(fallback), NULL, CW_FILE_CREATE_RENAME);
    failed += run_group("file store linking temp files", fallback, NUM(fallback), NULL, CW_FILE_CREATE_LINK);
    return failed;
}
