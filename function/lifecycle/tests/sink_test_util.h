/*
 * sink_test_util.h: a delivery sink for the lifecycle and receiver tests, served by a cw_server in the test
 * process: it counts deliveries by Idempotency-Key (only those it answers 200) and every request, and answers
 * with the status and after the delay the test set. Header-only; the state is per test program.
 */
#ifndef CW_SINK_TEST_UTIL_H
#define CW_SINK_TEST_UTIL_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cw/loop.h"
#include "cw/server.h"
#include "cw/util.h"

#define SINK_MAX_KEYS 64

static struct {
    pthread_mutex_t mutex;
    struct {
        char key[160];
        int count;
    } keys[SINK_MAX_KEYS];
    size_t num_keys, requests;
    int status;
    uint64_t delay_ms;
} sink_state = {.mutex = PTHREAD_MUTEX_INITIALIZER, .status = 200};

typedef struct st_sink_slow_answer_t {
    cw_async_t async;
    cw_timer_t timer;
    int status;
} sink_slow_answer_t;

static inline void sink_on_slow_answer(cw_timer_t *timer)
{
    sink_slow_answer_t *s = timer->data;
    h2o_req_t *req = cw_async_take(&s->async);
    if (req != NULL) {
        cw_respond_json(req, s->status, H2O_STRLIT("{}"));
    }
    cw_async_end(&s->async);
    free(s);
}

/* on_sink is the cw_handler_fn of the sink's route. */
static inline int on_sink(cw_worker_t *worker, h2o_req_t *req, void *data)
{
    h2o_iovec_t key = cw_req_header(req, H2O_STRLIT("idempotency-key"));
    pthread_mutex_lock(&sink_state.mutex);
    int status = sink_state.status;
    uint64_t delay = sink_state.delay_ms;
    ++sink_state.requests;
    if (status == 200 && key.base != NULL && key.len < sizeof(sink_state.keys[0].key)) {
        size_t i;
        for (i = 0; i != sink_state.num_keys; ++i) {
            if (strlen(sink_state.keys[i].key) == key.len && memcmp(sink_state.keys[i].key, key.base, key.len) == 0) {
                break;
            }
        }
        if (i == sink_state.num_keys && sink_state.num_keys < SINK_MAX_KEYS) {
            memcpy(sink_state.keys[i].key, key.base, key.len);
            sink_state.keys[i].key[key.len] = '\0';
            sink_state.keys[i].count = 0;
            ++sink_state.num_keys;
        }
        if (i != SINK_MAX_KEYS) {
            ++sink_state.keys[i].count;
        }
    }
    pthread_mutex_unlock(&sink_state.mutex);
    if (delay == 0) {
        cw_respond_json(req, status, H2O_STRLIT("{}"));
        return 0;
    }
    sink_slow_answer_t *s = cw_calloc(1, sizeof(*s));
    s->status = status;
    s->timer.data = s;
    cw_async_begin(&s->async, req);
    cw_timer_start(&worker->loop, &s->timer, delay, sink_on_slow_answer);
    return 0;
}

/* sink_reset forgets what the sink counted; it answers |status| from now on, after |delay_ms|. */
static inline void sink_reset(int status, uint64_t delay_ms)
{
    pthread_mutex_lock(&sink_state.mutex);
    sink_state.num_keys = 0;
    sink_state.requests = 0;
    sink_state.status = status;
    sink_state.delay_ms = delay_ms;
    pthread_mutex_unlock(&sink_state.mutex);
}

/* sink_count returns the deliveries answered 200 with Idempotency-Key |key|. */
static inline int sink_count(const char *key)
{
    int n = 0;
    pthread_mutex_lock(&sink_state.mutex);
    for (size_t i = 0; i != sink_state.num_keys; ++i) {
        if (strcmp(sink_state.keys[i].key, key) == 0) {
            n = sink_state.keys[i].count;
        }
    }
    pthread_mutex_unlock(&sink_state.mutex);
    return n;
}

/* sink_num_requests returns every request the sink received, whatever it answered. */
static inline size_t sink_num_requests(void)
{
    pthread_mutex_lock(&sink_state.mutex);
    size_t n = sink_state.requests;
    pthread_mutex_unlock(&sink_state.mutex);
    return n;
}

#endif
