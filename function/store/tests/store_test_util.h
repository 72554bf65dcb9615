/*
 * store_test_util.h: helpers shared by the store tests: capture a completion,
 * turn a loop until enough completions arrived (bounded in time), make and
 * remove temporary directories. Header-only; every function is static.
 */
#ifndef CW_STORE_TEST_UTIL_H
#define CW_STORE_TEST_UTIL_H

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cw/loop.h"
#include "cw/util.h"
#include "store.h"

/* st_result_t keeps a copy of one completion. */
typedef struct st_st_result_t {
    int done; /* how many times the callback ran (must end at 1) */
    cw_store_status_t status;
    char *data; /* get: copy of the bytes, NUL-terminated; else NULL */
    size_t data_len;
    char **names; /* list: copies */
    size_t num_names;
    char detail[512];
    pthread_t thread; /* the thread the callback ran on */
    size_t *counter;  /* incremented on completion when not NULL */
} st_result_t;

static inline void st_result_free(st_result_t *r)
{
    free(r->data);
    for (size_t i = 0; i != r->num_names; ++i) {
        free(r->names[i]);
    }
    free(r->names);
    size_t *counter = r->counter;
    memset(r, 0, sizeof(*r));
    r->counter = counter;
}

static inline void st_capture(const cw_store_result_t *res, void *data)
{
    st_result_t *r = data;
    r->done++;
    r->status = res->status;
    r->thread = pthread_self();
    snprintf(r->detail, sizeof(r->detail), "%s", res->detail != NULL ? res->detail : "(null detail)");
    if (res->data != NULL) {
        r->data = cw_strndup(res->data, res->data_len);
        r->data_len = res->data_len;
    }
    if (res->num_names != 0) {
        r->names = cw_calloc(res->num_names, sizeof(*r->names));
        for (size_t i = 0; i != res->num_names; ++i) {
            r->names[i] = cw_strdup(res->names[i]);
        }
        r->num_names = res->num_names;
    }
    if (r->counter != NULL) {
        ++*r->counter;
    }
}

/* The watchdog timer makes cw_loop_run_once return now and then, so that a
 * wait that never completes still ends at its deadline. */
static inline void st_on_tick(cw_timer_t *timer)
{
    (void)timer;
}

/* st_run_until turns |loop| until *|counter| >= |target|. Returns 0, or -1
 * after |timeout_ms|. */
static inline int st_run_until(cw_loop_t *loop, const size_t *counter, size_t target, uint64_t timeout_ms)
{
    uint64_t deadline = cw_now_ms() + timeout_ms;
    cw_timer_t tick;
    memset(&tick, 0, sizeof(tick));
    while (*counter < target) {
        if (cw_now_ms() >= deadline) {
            cw_timer_stop(&tick);
            return -1;
        }
        if (!cw_timer_is_running(&tick)) {
            cw_timer_start(loop, &tick, 20, st_on_tick);
        }
        if (cw_loop_run_once(loop) != 0) {
            cw_timer_stop(&tick);
            return -1;
        }
    }
    cw_timer_stop(&tick);
    return 0;
}

/* st_drain_thread_cache frees the socket buffers h2o caches per thread (its
 * __thread recycle list), which would otherwise leak when a short-lived loop
 * thread exits. Call it on that thread after cw_loop_dispose. */
static inline void st_drain_thread_cache(void)
{
    h2o_mem_recycle_t *cache = &h2o_socket_buffer_prototype.allocator;
    while (cache->cnt != 0) {
        free(h2o_mem_alloc_recycle(cache, 1)); /* pops a cached chunk, which came from malloc */
    }
}

#define ST_TIMEOUT_MS 60000

/* The synchronous forms: submit one operation and wait for it. Return 0, or -1 on timeout. */
static inline int st_create(cw_store_t *store, cw_loop_t *loop, const char *name, const void *body, size_t body_len,
                            st_result_t *out)
{
    size_t n = 0;
    st_result_free(out);
    out->counter = &n;
    cw_store_create(store, loop, name, body, body_len, st_capture, out);
    int ret = st_run_until(loop, &n, 1, ST_TIMEOUT_MS);
    out->counter = NULL;
    return ret;
}

static inline int st_get(cw_store_t *store, cw_loop_t *loop, const char *name, st_result_t *out)
{
    size_t n = 0;
    st_result_free(out);
    out->counter = &n;
    cw_store_get(store, loop, name, st_capture, out);
    int ret = st_run_until(loop, &n, 1, ST_TIMEOUT_MS);
    out->counter = NULL;
    return ret;
}

static inline int st_delete(cw_store_t *store, cw_loop_t *loop, const char *name, st_result_t *out)
{
    size_t n = 0;
    st_result_free(out);
    out->counter = &n;
    cw_store_delete(store, loop, name, st_capture, out);
    int ret = st_run_until(loop, &n, 1, ST_TIMEOUT_MS);
    out->counter = NULL;
    return ret;
}

static inline int st_list(cw_store_t *store, cw_loop_t *loop, const char *prefix, size_t max_names, st_result_t *out)
{
    size_t n = 0;
    st_result_free(out);
    out->counter = &n;
    cw_store_list(store, loop, prefix, max_names, st_capture, out);
    int ret = st_run_until(loop, &n, 1, ST_TIMEOUT_MS);
    out->counter = NULL;
    return ret;
}

/* st_make_temp_dir returns a new empty directory (caller frees the string). */
static inline char *st_make_temp_dir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/cw-%s-XXXXXX", base != NULL && base[0] != '\0' ? base : "/tmp", tag);
    if (mkdtemp(path) == NULL) {
        return NULL;
    }
    return cw_strdup(path);
}

static inline int st_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* st_remove_tree deletes |dir| and everything under it. */
static inline void st_remove_tree(const char *dir)
{
    if (dir != NULL) {
        nftw(dir, st_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

#endif
