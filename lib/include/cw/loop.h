/*
 * loop.h: an h2o evloop with a cross-thread message queue and timers of any
 * duration. Every server worker owns one; command-line tools create one too,
 * so asynchronous code (HTTP client completions, timers) is written once.
 *
 * A cw_loop_t and everything on it is used from one thread only, except
 * cw_loop_post, which any thread may call.
 */
#ifndef CW_LOOP_H
#define CW_LOOP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "h2o.h"

typedef struct st_cw_loop_t cw_loop_t;
typedef struct st_cw_timer_t cw_timer_t;
typedef struct st_cw_loop_msg_t cw_loop_msg_t;

typedef void (*cw_timer_cb)(cw_timer_t *timer);
typedef void (*cw_loop_msg_cb)(cw_loop_msg_t *msg);

/* cw_timer_t is embedded by the user; zero it (or CW_TIMER_INIT) before first use. */
struct st_cw_timer_t {
    h2o_timeout_entry_t _entry;
    cw_timer_cb cb;
    void *data; /* user's; may be NULL */
};

/* cw_loop_msg_t is embedded by the sender in a heap object; the receiving
 * loop runs |cb| on its own thread, and |cb| owns (frees) the message. */
struct st_cw_loop_msg_t {
    h2o_multithread_message_t _super;
    cw_loop_msg_cb cb; /* never NULL */
};

struct st_cw_timeout_slot_t;

struct st_cw_loop_t {
    h2o_loop_t *h2o; /* never NULL */
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t receiver;
    struct st_cw_timeout_slot_t *slots; /* one h2o_timeout_t per distinct (quantised) delay */
    size_t num_slots;
    int stopping; /* set by cw_loop_stop */
    /* held by cw_loop_post across h2o's two steps (queue the message, then wake the loop through its pipe):
     * the loop may run a message between them, so cw_loop_dispose takes it before closing the pipe */
    pthread_mutex_t post_mutex;
};

/* cw_loop_init creates the evloop and its queue. Returns 0 (aborts on exhaustion). */
int cw_loop_init(cw_loop_t *loop);
/* cw_loop_init_with wraps an existing h2o loop (an h2o_context_t's). */
int cw_loop_init_with(cw_loop_t *loop, h2o_loop_t *h2o);
/* cw_loop_dispose releases the queue and timeout slots (and the evloop if cw_loop_init made it).
 * No timer may still be running, and no message may be posted once it started; a sender still
 * inside cw_loop_post for a message the loop already ran is waited for. */
void cw_loop_dispose(cw_loop_t *loop, int destroy_evloop);

/* cw_loop_drain_thread_cache frees the socket buffers h2o caches per thread, which
 * would otherwise be lost when a thread that ran a loop exits. Call it on that
 * thread, last. */
void cw_loop_drain_thread_cache(void);

/* cw_loop_run_once runs one iteration (waits at most until the next timer).
 * Returns 0, or -1 on an unexpected error (EINTR is not one). */
int cw_loop_run_once(cw_loop_t *loop);
/* cw_loop_run runs until cw_loop_stop is called. */
void cw_loop_run(cw_loop_t *loop);
/* cw_loop_stop makes cw_loop_run return after the current iteration. Loop thread only. */
void cw_loop_stop(cw_loop_t *loop);

/* cw_loop_post delivers |msg| to |loop|'s thread, where msg->cb runs. Thread-safe; |loop| must not
 * have been disposed (a post racing the loop's last message and its dispose is fine). */
void cw_loop_post(cw_loop_t *loop, cw_loop_msg_t *msg);

/* cw_timer_start arms |timer| to call |cb| after |delay_ms| (quantised up by at
 * most ~3% so distinct durations stay few). The timer must not be running. */
void cw_timer_start(cw_loop_t *loop, cw_timer_t *timer, uint64_t delay_ms, cw_timer_cb cb);
/* cw_timer_stop disarms |timer| if it is running; safe to call on a stopped one. */
void cw_timer_stop(cw_timer_t *timer);
/* cw_timer_is_running reports whether |timer| is armed. */
int cw_timer_is_running(const cw_timer_t *timer);

#endif
