/*
 * loop.c: an h2o evloop plus a cross-thread queue and timers of any duration.
 *
 * h2o 2.2.5 timeouts have one fixed duration each, so a timer of delay d is
 * linked into the h2o_timeout_t whose duration is d rounded up to a few
 * significant bits; a loop only ever holds a few dozen such slots.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "cw/loop.h"
#include "cw/util.h"

struct st_cw_timeout_slot_t {
    uint64_t duration_ms;
    h2o_timeout_t *timeout;
};

static void on_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        cw_loop_msg_t *msg = H2O_STRUCT_FROM_MEMBER(cw_loop_msg_t, _super, m);
        msg->cb(msg);
    }
}

int cw_loop_init_with(cw_loop_t *loop, h2o_loop_t *h2o)
{
    *loop = (cw_loop_t){.h2o = h2o};
    pthread_mutex_init(&loop->post_mutex, NULL);
    loop->queue = h2o_multithread_create_queue(h2o);
    h2o_multithread_register_receiver(loop->queue, &loop->receiver, on_messages);
    return 0;
}

int cw_loop_init(cw_loop_t *loop)
{
    return cw_loop_init_with(loop, h2o_evloop_create());
}

void cw_loop_dispose(cw_loop_t *loop, int destroy_evloop)
{
    for (size_t i = 0; i != loop->num_slots; ++i) {
        /* h2o asserts a disposed timeout is empty: a timer still armed at exit keeps its slot (and the process ends). */
        if (!h2o_linklist_is_empty(&loop->slots[i].timeout->_entries)) {
            continue;
        }
        h2o_timeout_dispose(loop->h2o, loop->slots[i].timeout);
        free(loop->slots[i].timeout);
    }
    free(loop->slots);
    /* A sender whose message already ran may not have written its wake-up byte yet (h2o writes it after
     * unlocking the queue): wait for it, or it would write to a closed (or reused) pipe of a freed queue. */
    pthread_mutex_lock(&loop->post_mutex);
    pthread_mutex_unlock(&loop->post_mutex);
    pthread_mutex_destroy(&loop->post_mutex);
    h2o_multithread_unregister_receiver(loop->queue, &loop->receiver);
    h2o_multithread_destroy_queue(loop->queue);
    free(loop->queue); /* h2o 2.2.5's evloop flavour closes the queue's pipe but does not free it */
    if (destroy_evloop) {
        h2o_evloop_destroy(loop->h2o);
    }
    loop->slots = NULL;
    loop->num_slots = 0;
    loop->queue = NULL;
}

void cw_loop_drain_thread_cache(void)
{
    h2o_mem_recycle_t *cache = &h2o_socket_buffer_prototype.allocator;
    while (cache->cnt != 0) {
        free(h2o_mem_alloc_recycle(cache, 1)); /* pops a cached chunk, which came from malloc */
    }
}

int cw_loop_run_once(cw_loop_t *loop)
{
    if (h2o_evloop_run(loop->h2o, INT32_MAX) != 0 && errno != EINTR) {
        return -1;
    }
    return 0;
}

void cw_loop_run(cw_loop_t *loop)
{
    loop->stopping = 0;
    while (!loop->stopping) {
        if (cw_loop_run_once(loop) != 0) {
            perror("h2o_evloop_run");
            abort();
        }
    }
}

void cw_loop_stop(cw_loop_t *loop)
{
    loop->stopping = 1;
}

void cw_loop_post(cw_loop_t *loop, cw_loop_msg_t *msg)
{
    msg->_super = (h2o_multithread_message_t){{NULL, NULL}};
    pthread_mutex_lock(&loop->post_mutex);
    h2o_multithread_send_message(&loop->receiver, &msg->_super);
    pthread_mutex_unlock(&loop->post_mutex);
}

/* quantise keeps 5 significant bits: at most ~3% late, ~32 slots per power of two. */
static uint64_t quantise(uint64_t ms)
{
    if (ms <= 32) {
        return ms;
    }
    unsigned shift = 0;
    for (uint64_t v = ms; v >= 64; v >>= 1) {
        ++shift;
    }
    uint64_t unit = (uint64_t)1 << shift;
    return (ms + unit - 1) & ~(unit - 1);
}

static void on_timeout(h2o_timeout_entry_t *entry)
{
    cw_timer_t *timer = H2O_STRUCT_FROM_MEMBER(cw_timer_t, _entry, entry);
    timer->cb(timer);
}

void cw_timer_start(cw_loop_t *loop, cw_timer_t *timer, uint64_t delay_ms, cw_timer_cb cb)
{
    uint64_t d = quantise(delay_ms);
    h2o_timeout_t *timeout = NULL;
    for (size_t i = 0; i != loop->num_slots; ++i) {
        if (loop->slots[i].duration_ms == d) {
            timeout = loop->slots[i].timeout;
            break;
        }
    }
    if (timeout == NULL) {
        loop->slots = cw_realloc(loop->slots, sizeof(*loop->slots) * (loop->num_slots + 1));
        timeout = cw_calloc(1, sizeof(*timeout));
        h2o_timeout_init(loop->h2o, timeout, d);
        loop->slots[loop->num_slots++] = (struct st_cw_timeout_slot_t){d, timeout};
    }
    timer->cb = cb;
    timer->_entry.cb = on_timeout;
    h2o_timeout_link(loop->h2o, timeout, &timer->_entry);
}

void cw_timer_stop(cw_timer_t *timer)
{
    if (h2o_timeout_is_linked(&timer->_entry)) {
        h2o_timeout_unlink(&timer->_entry);
    }
}

int cw_timer_is_running(const cw_timer_t *timer)
{
    return h2o_linklist_is_linked((h2o_linklist_t *)&timer->_entry._link);
}
