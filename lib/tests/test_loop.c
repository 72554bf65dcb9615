/*
 * test_loop.c: the loop every worker and tool runs on: messages posted from
 * other threads run on the loop's thread, each sender's in the order sent,
 * and a sender still finishing its post when the loop consumed the message
 * and is disposed is waited for; timers fire no earlier than asked (on the
 * loop's clock), same-delay timers first come first
 * served, timers far apart in the order of their deadlines, a stopped timer
 * never; cw_loop_stop ends cw_loop_run; dispose releases a loop with many
 * timer slots, and one wrapping a borrowed evloop leaves that evloop usable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cw/loop.h"
#include "cw/util.h"

/* ---- posting from other threads ---- */

#define NUM_SENDERS 4
#define PER_SENDER 500

typedef struct st_inbox_t {
    cw_loop_t *loop;
    pthread_t loop_thread;
    unsigned next[NUM_SENDERS]; /* the sequence number expected next from each sender */
    size_t received;
    size_t wrong_thread;
    size_t out_of_order;
} inbox_t;

typedef struct st_note_t {
    cw_loop_msg_t msg; /* first: the callback casts back */
    inbox_t *inbox;
    unsigned sender;
    unsigned seq;
} note_t;

static void on_note(cw_loop_msg_t *msg)
{
    note_t *note = (note_t *)msg;
    inbox_t *in = note->inbox;
    if (!pthread_equal(pthread_self(), in->loop_thread)) {
        ++in->wrong_thread;
    }
    if (note->seq != in->next[note->sender]) {
        ++in->out_of_order;
    }
    in->next[note->sender] = note->seq + 1;
    if (++in->received == NUM_SENDERS * PER_SENDER) {
        cw_loop_stop(in->loop);
    }
    free(note); /* the callback owns the message */
}

typedef struct st_sender_t {
    inbox_t *inbox;
    unsigned index;
} sender_t;

static void *sender_main(void *arg)
{
    sender_t *s = arg;
    for (unsigned i = 0; i != PER_SENDER; ++i) {
        note_t *note = cw_calloc(1, sizeof(*note));
        note->msg.cb = on_note;
        note->inbox = s->inbox;
        note->sender = s->index;
        note->seq = i;
        cw_loop_post(s->inbox->loop, &note->msg);
        if (i % 64 == 0) {
            sched_yield(); /* let the loop drain part of the queue while others still send */
        }
    }
    return NULL;
}

static void test_post_from_other_threads(void **state)
{
    cw_loop_t loop;
    assert_int_equal(cw_loop_init(&loop), 0);
    inbox_t in = {.loop = &loop, .loop_thread = pthread_self()};
    sender_t senders[NUM_SENDERS];
    pthread_t tids[NUM_SENDERS];
    for (unsigned i = 0; i != NUM_SENDERS; ++i) {
        senders[i] = (sender_t){&in, i};
        assert_int_equal(pthread_create(&tids[i], NULL, sender_main, &senders[i]), 0);
    }
    cw_loop_run(&loop); /* returns when the last message arrived */
    for (unsigned i = 0; i != NUM_SENDERS; ++i) {
        pthread_join(tids[i], NULL);
    }
    assert_int_equal(in.received, NUM_SENDERS * PER_SENDER);
    assert_int_equal(in.wrong_thread, 0);
    assert_int_equal(in.out_of_order, 0);
    for (unsigned i = 0; i != NUM_SENDERS; ++i) {
        assert_int_equal(in.next[i], PER_SENDER);
    }
    cw_loop_dispose(&loop, 1);
}

static void on_self_note(cw_loop_msg_t *msg)
{
    note_t *note = (note_t *)msg;
    ++note->inbox->received;
    cw_loop_stop(note->inbox->loop);
    free(note);
}

static void test_post_to_own_loop_runs_later(void **state)
{
    cw_loop_t loop;
    cw_loop_init(&loop);
    inbox_t in = {.loop = &loop, .loop_thread = pthread_self()};
    note_t *note = cw_calloc(1, sizeof(*note));
    note->msg.cb = on_self_note;
    note->inbox = &in;
    cw_loop_post(&loop, &note->msg);
    assert_int_equal(in.received, 0); /* never synchronously */
    cw_loop_run(&loop);
    assert_int_equal(in.received, 1);
    cw_loop_dispose(&loop, 1);
}

/* h2o posts in two steps: it queues the message under a lock, then wakes the loop by writing to a pipe.
 * While the loop runs one message it also picks up any queued meanwhile, so the loop may run a message,
 * finish and be disposed before that message's sender wrote its wake-up byte. Dispose must wait for
 * that sender (ThreadSanitizer saw the store's I/O thread race a worker's dispose this way). */
static void on_slow_first(cw_loop_msg_t *msg)
{
    note_t *note = (note_t *)msg;
    ++note->inbox->received;
    usleep(1000); /* the second message is queued while this one runs */
    free(note);
}

static void on_last(cw_loop_msg_t *msg)
{
    note_t *note = (note_t *)msg;
    ++note->inbox->received;
    cw_loop_stop(note->inbox->loop);
    free(note);
}

static void *post_two(void *arg)
{
    inbox_t *in = arg;
    cw_loop_msg_cb cbs[] = {on_slow_first, on_last};
    for (size_t i = 0; i != CW_ARRAY_SIZE(cbs); ++i) {
        note_t *note = cw_calloc(1, sizeof(*note));
        note->msg.cb = cbs[i];
        note->inbox = in;
        cw_loop_post(in->loop, &note->msg);
        if (i == 0) {
            usleep(300); /* let the loop start on the first */
        }
    }
    return NULL;
}

static void test_dispose_right_after_the_last_message(void **state)
{
    for (int round = 0; round != 50; ++round) {
        cw_loop_t loop;
        cw_loop_init(&loop);
        inbox_t in = {.loop = &loop, .loop_thread = pthread_self()};
        pthread_t tid;
        pthread_create(&tid, NULL, post_two, &in);
        cw_loop_run(&loop);
        cw_loop_dispose(&loop, 1); /* the sender may still be inside its last cw_loop_post */
        pthread_join(tid, NULL);
        assert_int_equal(in.received, 2);
    }
}

/* ---- timers ---- */

typedef struct st_clock_t {
    cw_loop_t *loop;
    uint64_t started_ms;
    int order[16];
    uint64_t fired_after_ms[16];
    size_t num_fired;
    size_t expected;
} record_t;

typedef struct st_tagged_timer_t {
    cw_timer_t timer; /* first */
    record_t *clock;
    int tag;
    uint64_t delay_ms;
} tagged_timer_t;

static void on_tagged(cw_timer_t *timer)
{
    tagged_timer_t *t = (tagged_timer_t *)timer;
    record_t *c = t->clock;
    assert_false(cw_timer_is_running(timer)); /* unlinked before its callback */
    c->fired_after_ms[c->num_fired] = h2o_now(c->loop->h2o) - c->started_ms;
    c->order[c->num_fired++] = t->tag;
    if (c->num_fired == c->expected) {
        cw_loop_stop(c->loop);
    }
}

static void test_timers_fire_in_order(void **state)
{
    cw_loop_t loop;
    cw_loop_init(&loop);
    /* Delays count on the loop's clock, which h2o refreshes once per turn: a timer armed late in a long turn
     * fires that much early by the wall clock, never by the loop's. */
    record_t c = {.loop = &loop, .started_ms = h2o_now(loop.h2o)};
    /* Started out of order, with distinct delays (each its own slot) far enough apart that a busy machine
     * cannot make two deadlines fall due in one turn of the loop, and two of equal delay, which share a
     * slot and must fire first come first served. The 1500 ms one is quantised (5 significant bits): it
     * may be a little late, never early. The stopped one must never fire. */
    static const struct {
        int tag;
        uint64_t delay_ms;
    } plan[] = {{5, 1500}, {3, 300}, {1, 10}, {4, 600}, {2, 10}, {99, 150}};
    tagged_timer_t timers[CW_ARRAY_SIZE(plan)];
    memset(timers, 0, sizeof(timers));
    for (size_t i = 0; i != CW_ARRAY_SIZE(plan); ++i) {
        timers[i].clock = &c;
        timers[i].tag = plan[i].tag;
        timers[i].delay_ms = plan[i].delay_ms;
        assert_false(cw_timer_is_running(&timers[i].timer));
        cw_timer_start(&loop, &timers[i].timer, plan[i].delay_ms, on_tagged);
        assert_true(cw_timer_is_running(&timers[i].timer));
    }
    cw_timer_stop(&timers[5].timer);
    assert_false(cw_timer_is_running(&timers[5].timer));
    cw_timer_stop(&timers[5].timer); /* stopping a stopped timer is fine */
    c.expected = 5;
    cw_loop_run(&loop);

    assert_int_equal(c.num_fired, 5);
    for (size_t i = 0; i != 5; ++i) {
        assert_int_equal(c.order[i], (int)i + 1);
    }
    static const uint64_t asked[] = {10, 10, 300, 600, 1500};
    for (size_t i = 0; i != 5; ++i) {
        if (c.fired_after_ms[i] < asked[i]) {
            fail_msg("timer %zu fired after %llu ms, asked %llu", i + 1, (unsigned long long)c.fired_after_ms[i],
                     (unsigned long long)asked[i]);
        }
    }
    /* The stopped timer stayed silent even though its deadline passed long ago. */
    for (size_t i = 0; i != c.num_fired; ++i) {
        assert_int_not_equal(c.order[i], 99);
    }
    cw_loop_dispose(&loop, 1);
}

static void on_rearm(cw_timer_t *timer)
{
    tagged_timer_t *t = (tagged_timer_t *)timer;
    record_t *c = t->clock;
    c->order[c->num_fired++] = t->tag;
    if (c->num_fired == c->expected) {
        cw_loop_stop(c->loop);
    } else {
        cw_timer_start(c->loop, timer, t->delay_ms, on_rearm); /* a callback may re-arm its own timer */
    }
}

static void test_timer_rearms_from_its_callback(void **state)
{
    cw_loop_t loop;
    cw_loop_init(&loop);
    record_t c = {.loop = &loop, .started_ms = h2o_now(loop.h2o), .expected = 4};
    tagged_timer_t t = {.clock = &c, .tag = 7, .delay_ms = 5};
    cw_timer_start(&loop, &t.timer, t.delay_ms, on_rearm);
    cw_loop_run(&loop);
    assert_int_equal(c.num_fired, 4);
    assert_true(h2o_now(loop.h2o) - c.started_ms >= 20); /* on the loop's clock, like every delay */
    assert_false(cw_timer_is_running(&t.timer));
    cw_loop_dispose(&loop, 1);
}

/* ---- dispose ---- */

static void on_never(cw_timer_t *timer)
{
    fail_msg("a stopped timer fired");
}

static void test_dispose_after_many_slots(void **state)
{
    cw_loop_t loop;
    cw_loop_init(&loop);
    /* Many distinct durations, each its own slot, all stopped again: dispose frees every slot. */
    cw_timer_t timers[200];
    memset(timers, 0, sizeof(timers));
    for (size_t i = 0; i != CW_ARRAY_SIZE(timers); ++i) {
        cw_timer_start(&loop, &timers[i], 1000 + i * 997, on_never);
    }
    assert_true(loop.num_slots > 32);
    assert_true(loop.num_slots <= CW_ARRAY_SIZE(timers));
    for (size_t i = 0; i != CW_ARRAY_SIZE(timers); ++i) {
        cw_timer_stop(&timers[i]);
    }
    cw_loop_dispose(&loop, 1);
    assert_null(loop.slots);
    assert_int_equal(loop.num_slots, 0);
    assert_null(loop.queue);
}

static void test_dispose_keeps_a_borrowed_evloop(void **state)
{
    h2o_evloop_t *evloop = h2o_evloop_create();
    cw_loop_t loop;
    assert_int_equal(cw_loop_init_with(&loop, evloop), 0);
    assert_ptr_equal(loop.h2o, evloop);
    cw_timer_t timer;
    memset(&timer, 0, sizeof(timer));
    cw_timer_start(&loop, &timer, 5, on_never);
    cw_timer_stop(&timer);
    cw_loop_dispose(&loop, 0);

    /* The evloop still turns, and a second cw_loop on it works end to end. */
    cw_loop_t again;
    cw_loop_init_with(&again, evloop);
    inbox_t in = {.loop = &again, .loop_thread = pthread_self()};
    note_t *note = cw_calloc(1, sizeof(*note));
    note->msg.cb = on_self_note;
    note->inbox = &in;
    cw_loop_post(&again, &note->msg);
    cw_loop_run(&again);
    assert_int_equal(in.received, 1);
    cw_loop_dispose(&again, 0);
    h2o_evloop_destroy(evloop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_from_other_threads),
        cmocka_unit_test(test_post_to_own_loop_runs_later),
        cmocka_unit_test(test_dispose_right_after_the_last_message),
        cmocka_unit_test(test_timers_fire_in_order),
        cmocka_unit_test(test_timer_rearms_from_its_callback),
        cmocka_unit_test(test_dispose_after_many_slots),
        cmocka_unit_test(test_dispose_keeps_a_borrowed_evloop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
