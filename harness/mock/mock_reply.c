/*
 * mock_reply.c: answers of the mock server, sent now, later (injected
 * latency) or never (a hung sink).
 *
 * A held answer is on its worker's list. A watch timer (every 100 ms) frees
 * held answers whose client went away (HTTP/2 tells at once; HTTP/1 only when
 * written to) and, once the server is stopping, answers every held request at
 * once: delayed answers as they were meant, hung ones with 503. So a stop is
 * never held up by the mock's own waiting.
 */
#include <stdlib.h>
#include <string.h>
#include "cw/json.h"
#include "mock.h"

#define WATCH_INTERVAL_MS 100

typedef struct st_held_t {
    h2o_linklist_t link;
    cw_async_t async;
    cw_timer_t timer;
    cw_mock_reply_t reply;
    int hang;
} held_t;

typedef struct st_mock_worker_t {
    cw_worker_t *worker;
    h2o_linklist_t held; /* held_t, oldest first */
    cw_timer_t watch;
} mock_worker_t;

int cw_mock_method_is(h2o_req_t *req, const char *method)
{
    return h2o_memis(req->method.base, req->method.len, method, strlen(method));
}

void cw_mock_reply_init(cw_mock_reply_t *reply, int status, const char *content_type)
{
    *reply = (cw_mock_reply_t){.status = status, .content_type = content_type, .headers = CW_BUF_INIT, .body = CW_BUF_INIT};
}

void cw_mock_reply_header(cw_mock_reply_t *reply, const char *name, const char *value)
{
    cw_buf_append(&reply->headers, name, strlen(name) + 1);
    cw_buf_append(&reply->headers, value, strlen(value) + 1);
}

void cw_mock_reply_error(cw_mock_reply_t *reply, int status, const char *message)
{
    reply->status = status;
    reply->content_type = "application/json";
    cw_buf_reset(&reply->body);
    cw_buf_appends(&reply->body, "{\"error\":");
    cw_json_quote(&reply->body, message, strlen(message));
    cw_buf_appends(&reply->body, "}");
}

static void reply_free(cw_mock_reply_t *reply)
{
    cw_buf_free(&reply->headers);
    cw_buf_free(&reply->body);
}

static void respond_now(h2o_req_t *req, cw_mock_reply_t *reply)
{
    for (size_t off = 0; off < reply->headers.len;) {
        const char *name = reply->headers.base + off;
        const char *value = name + strlen(name) + 1;
        cw_add_header(req, name, value);
        off = (size_t)(value - reply->headers.base) + strlen(value) + 1;
    }
    const char *body = reply->body.base != NULL ? reply->body.base : "";
    if (reply->omit_body) {
        /* HEAD: advertise the length of the body a GET would get, send none. */
        req->res.status = reply->status;
        req->res.reason = cw_reason_phrase(reply->status);
        if (reply->content_type != NULL) {
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, reply->content_type,
                           strlen(reply->content_type));
        }
        req->res.content_length = reply->body.len;
        h2o_send_inline(req, NULL, 0);
    } else {
        cw_respond(req, reply->status, reply->content_type, body, reply->body.len);
    }
}

static mock_worker_t *worker_state(h2o_req_t *req)
{
    return cw_worker_of(req)->app;
}

static void held_finish(held_t *held, int answer)
{
    cw_timer_stop(&held->timer);
    h2o_linklist_unlink(&held->link);
    h2o_req_t *req = cw_async_take(&held->async);
    if (req != NULL && answer) {
        if (held->hang) {
            cw_mock_reply_error(&held->reply, 503, "the mock is shutting down");
        }
        respond_now(req, &held->reply);
    }
    cw_async_end(&held->async);
    reply_free(&held->reply);
    free(held);
}

static void on_delay_done(cw_timer_t *timer)
{
    held_finish(timer->data, 1);
}

static held_t *hold(h2o_req_t *req, cw_mock_reply_t *reply, int hang)
{
    held_t *held = cw_calloc(1, sizeof(*held));
    cw_async_begin(&held->async, req);
    held->timer.data = held;
    if (reply != NULL) {
        held->reply = *reply;
    } else {
        cw_mock_reply_init(&held->reply, 503, NULL);
    }
    held->hang = hang;
    h2o_linklist_insert(&worker_state(req)->held, &held->link);
    return held;
}

void cw_mock_reply_send(h2o_req_t *req, cw_mock_reply_t *reply, uint64_t delay_ms)
{
    cw_worker_t *worker = cw_worker_of(req);
    if (delay_ms == 0 || worker->stopping) {
        respond_now(req, reply);
        reply_free(reply);
        return;
    }
    held_t *held = hold(req, reply, 0);
    cw_timer_start(&worker->loop, &held->timer, delay_ms, on_delay_done);
}

void cw_mock_reply_json(h2o_req_t *req, int status, const char *json, size_t json_len)
{
    cw_mock_reply_t reply;
    cw_mock_reply_init(&reply, status, "application/json");
    cw_buf_append(&reply.body, json, json_len);
    cw_mock_reply_send(req, &reply, 0);
}

void cw_mock_reply_hang(h2o_req_t *req)
{
    if (cw_worker_of(req)->stopping) {
        cw_mock_reply_t reply;
        cw_mock_reply_init(&reply, 503, NULL);
        cw_mock_reply_error(&reply, 503, "the mock is shutting down");
        cw_mock_reply_send(req, &reply, 0);
        return;
    }
    hold(req, NULL, 1);
}

static void on_watch(cw_timer_t *timer)
{
    mock_worker_t *state = timer->data;
    int stopping = state->worker->stopping;
    h2o_linklist_t *node = state->held.next;
    while (node != &state->held) {
        held_t *held = H2O_STRUCT_FROM_MEMBER(held_t, link, node);
        node = node->next;
        if (stopping) {
            held_finish(held, 1);
        } else if (held->async.req == NULL) {
            held_finish(held, 0); /* the client is gone: nothing to answer */
        }
    }
    cw_timer_start(&state->worker->loop, &state->watch, WATCH_INTERVAL_MS, on_watch);
}

void cw_mock_worker_start(cw_worker_t *worker)
{
    mock_worker_t *state = cw_calloc(1, sizeof(*state));
    state->worker = worker;
    h2o_linklist_init_anchor(&state->held);
    state->watch.data = state;
    cw_timer_start(&worker->loop, &state->watch, WATCH_INTERVAL_MS, on_watch);
    worker->app = state;
}

void cw_mock_worker_stop(cw_worker_t *worker)
{
    mock_worker_t *state = worker->app;
    if (state == NULL) {
        return;
    }
    cw_timer_stop(&state->watch);
    while (!h2o_linklist_is_empty(&state->held)) {
        held_finish(H2O_STRUCT_FROM_MEMBER(held_t, link, state->held.next), 0);
    }
    free(state);
    worker->app = NULL;
}
