/*
 * server.c: the h2o serving core. One evloop per worker thread, all accepting
 * from one listening socket (dup'd per worker, so two processes can never
 * silently share a port the way SO_REUSEPORT would allow).
 *
 * Graceful stop: the main thread waits for SIGTERM/SIGINT (blocked in every
 * thread, taken with sigtimedwait) or cw_server_stop; then every worker closes
 * its listener, asks h2o to wind connections down (GOAWAY on HTTP/2, no more
 * keep-alive on HTTP/1) and keeps turning until its live requests and held
 * work reach zero. The main thread gives up after shutdown_timeout_ms.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include "cw/env.h"
#include "cw/json.h"
#include "cw/log.h"
#include "cw/metrics.h"
#include "cw/server.h"
#include "cw/util.h"

struct st_cw_route_t {
    h2o_handler_t super;
    cw_handler_fn fn;
    cw_headers_fn on_headers; /* may be NULL */
    void *data;
};

/* A body being received: req->cw_body.data, in req->pool (see the h2o hooks patch in scripts/deps.sh). */
struct st_receiving_t {
    cw_worker_t *worker;
    h2o_req_t *req;
    h2o_linklist_t paused; /* in the worker's paused list while reading is paused */
    int refused_status;    /* 0, or the answer cw_req_refuse recorded */
    char *refused_code, *refused_detail, *refused_header_name, *refused_header_value; /* in req->pool; may be NULL */
};

struct st_cw_worker_private_t {
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    pthread_t tid;
    atomic_int ready;
    atomic_int done;
    cw_loop_msg_t stop_msg;
    pthread_mutex_t queue_mutex; /* guards queue_closed against a late stop message */
    int queue_closed;
    h2o_linklist_t paused;   /* struct st_receiving_t whose body reading waits for budget, oldest first */
    cw_timer_t resume_timer; /* runs while |paused| is not empty */
};

struct st_cw_server_t {
    cw_server_options_t opts;
    char *host;
    h2o_globalconf_t config;
    h2o_hostconf_t *hostconf;
    int listen_fd;
    uint16_t port;
    cw_worker_t *workers;
    size_t num_workers;
    atomic_int stop_requested;
    int joined;                   /* every worker thread has ended: their state may be freed */
    atomic_llong receiving_bytes; /* body bytes buffered before handlers run, every worker */
    atomic_llong declared_bytes;  /* declared body sizes of requests in progress, from headers to the request's end */
    atomic_long num_connections;  /* open connections, every worker (max_connections) */
};

/* The h2o bounds patch of scripts/deps.sh (issue 12 point 2) defines this; without it HTTP/2 would have no request
 * deadline, reset budget or header-field cap. */
#ifndef H2O_HTTP2_ERROR_CW_TOO_MANY_HEADERS
#error "h2o lacks the bounds patch: rerun scripts/deps.sh (scripts/build.sh does) to rebuild .deps"
#endif

/* Metrics of the receiving budget (process-wide, as the registry). */
static cw_gauge_t *receiving_gauge;
static const int refused_statuses[7] = {401, 404, 405, 413, 415, 503, 0};
static cw_counter_t *paused_counter, *refused_counters[CW_ARRAY_SIZE(refused_statuses)];
static cw_gauge_t *connections_gauge;
static cw_counter_t *connections_refused_counter;
static pthread_once_t receiving_metrics_once = PTHREAD_ONCE_INIT;

static void init_receiving_metrics(void)
{
    connections_gauge = cw_metrics_gauge("clay_connections_open", "Client connections open now (cap MAX_CONNECTIONS)", "");
    connections_refused_counter =
        cw_metrics_counter("clay_connections_refused_total", "Connections closed at once because MAX_CONNECTIONS were open", "");
    receiving_gauge = cw_metrics_gauge("clay_receiving_bytes",
                                       "Request body bytes buffered before a handler runs (budget MAX_RECEIVING_BYTES)", "");
    paused_counter = cw_metrics_counter("clay_receiving_paused_total",
                                        "Times reading a request body paused because the receiving budget was spent", "");
    for (size_t i = 0; i != CW_ARRAY_SIZE(refused_statuses); ++i) {
        char labels[32];
        if (refused_statuses[i] != 0) {
            snprintf(labels, sizeof(labels), "status=\"%d\"", refused_statuses[i]);
        } else {
            snprintf(labels, sizeof(labels), "status=\"other\"");
        }
        refused_counters[i] =
            cw_metrics_counter("clay_refused_before_body_total", "Requests answered from their headers, body never read", labels);
    }
}

/* The anchor lives in req->pool; its dispose callback runs when the request's
 * memory is released (response done or client gone). */
struct st_cw_async_anchor_t {
    cw_async_t *async; /* NULL once detached */
};

struct st_request_anchor_t {
    cw_worker_t *worker;
};

static void on_request_disposed(void *p)
{
    struct st_request_anchor_t *anchor = p;
    --anchor->worker->num_requests;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct st_cw_route_t *route = (struct st_cw_route_t *)self;
    cw_worker_t *worker = cw_worker_of(req);
    struct st_request_anchor_t *anchor = h2o_mem_alloc_shared(&req->pool, sizeof(*anchor), on_request_disposed);
    anchor->worker = worker;
    ++worker->num_requests;
    struct st_receiving_t *rcv = req->cw_body.data;
    if (rcv != NULL && rcv->refused_status != 0) {
        if (rcv->refused_header_name != NULL) {
            cw_add_header(req, rcv->refused_header_name, rcv->refused_header_value);
        }
        cw_respond_error(req, rcv->refused_status, rcv->refused_code, rcv->refused_detail);
        return 0;
    }
    /* HTTP/2 does not enforce max_request_entity_size with a 413 (it refuses the stream); check here too. */
    if (req->entity.base != NULL && req->entity.len > worker->server->opts.max_body_bytes) {
        cw_respond_error(req, 413, "too_large", "the request body exceeds MAX_BODY_BYTES");
        return 0;
    }
    return route->fn(worker, req, route->data);
}

/* How much budget one resumed body is assumed to take before it can be paused again: one socket read (the patch
 * caps reads at 64 KiB per event). */
#define RESUME_STEP (64 * 1024)
#define RESUME_POLL_MS 10

static void on_resume_timer(cw_timer_t *timer)
{
    struct st_cw_worker_private_t *priv = H2O_STRUCT_FROM_MEMBER(struct st_cw_worker_private_t, resume_timer, timer);
    if (h2o_linklist_is_empty(&priv->paused)) {
        return;
    }
    struct st_receiving_t *first = H2O_STRUCT_FROM_MEMBER(struct st_receiving_t, paused, priv->paused.next);
    cw_worker_t *worker = first->worker;
    cw_server_t *server = worker->server;
    long long room = (long long)server->opts.max_receiving_bytes - atomic_load(&server->receiving_bytes);
    /* Oldest first, and only as many as the room can take one read each: resuming all would overshoot. */
    while (room > 0 && !h2o_linklist_is_empty(&priv->paused)) {
        struct st_receiving_t *rcv = H2O_STRUCT_FROM_MEMBER(struct st_receiving_t, paused, priv->paused.next);
        h2o_linklist_unlink(&rcv->paused);
        room -= RESUME_STEP;
        if (rcv->req->cw_body.resume != NULL) {
            rcv->req->cw_body.resume(rcv->req);
        }
    }
    if (!h2o_linklist_is_empty(&priv->paused)) {
        cw_timer_start(&worker->loop, &priv->resume_timer, RESUME_POLL_MS, on_resume_timer);
    }
}

static void refuse_with(struct st_receiving_t *rcv, int status, const char *code, const char *detail, const char *header_name,
                        const char *header_value)
{
    h2o_mem_pool_t *pool = &rcv->req->pool;
    rcv->refused_status = status;
    rcv->refused_code = h2o_strdup(pool, code, SIZE_MAX).base;
    rcv->refused_detail = detail != NULL ? h2o_strdup(pool, detail, SIZE_MAX).base : NULL;
    rcv->refused_header_name = header_name != NULL ? h2o_strdup(pool, header_name, SIZE_MAX).base : NULL;
    rcv->refused_header_value = header_name != NULL ? h2o_strdup(pool, header_value, SIZE_MAX).base : NULL;
}

void cw_req_refuse(h2o_req_t *req, int status, const char *code, const char *detail, const char *header_name,
                   const char *header_value)
{
    struct st_receiving_t *rcv = req->cw_body.data;
    if (rcv != NULL) {
        refuse_with(rcv, status, code, detail, header_name, header_value);
    }
}

/* declared_t holds a request's share of declared_bytes; released when the request's pool is cleared. */
typedef struct st_declared_t {
    cw_server_t *server;
    size_t bytes;
} declared_t;

static void release_declared(void *p)
{
    declared_t *d = p;
    atomic_fetch_sub(&d->server->declared_bytes, (long long)d->bytes);
}

/* on_req_headers (the h2o hook) runs before a body is read: unknown path 404, declared size 413, then the route's check,
 * then the large bodies in progress: past max_receiving_bytes of their declared sizes, 503 + Retry-After at once, before
 * any byte is read (waiting for room would let the request's deadline close the connection unanswered). */
static int on_req_headers(h2o_req_t *req, size_t content_length)
{
    cw_worker_t *worker = cw_worker_of(req);
    struct st_receiving_t *rcv = h2o_mem_alloc_pool(&req->pool, sizeof(*rcv));
    *rcv = (struct st_receiving_t){.worker = worker, .req = req};
    req->cw_body.data = rcv;

    if (content_length != SIZE_MAX && content_length > worker->server->opts.max_body_bytes) {
        refuse_with(rcv, 413, "too_large", "the request body exceeds MAX_BODY_BYTES", NULL, NULL);
    } else if (req->pathconf == NULL || req->pathconf->handlers.size == 0) {
        refuse_with(rcv, 404, "not_found", NULL, NULL, NULL);
    } else if (content_length != 0 && req->pathconf->handlers.entries[0]->on_req == on_req) {
        /* A declared empty body has nothing to buffer: the handler answers it in its usual order. */
        struct st_cw_route_t *route = (struct st_cw_route_t *)req->pathconf->handlers.entries[0];
        if (route->on_headers != NULL && route->on_headers(worker, req, route->data) != 0 && rcv->refused_status == 0) {
            refuse_with(rcv, 400, "bad_request", NULL, NULL, NULL); /* a check that refused without saying why */
        }
    }
    /* Small bodies (one read) never wait, as in on_req_body_bytes, so they reserve nothing: an attacker declaring large
     * bodies can only crowd out other large bodies, never a callback of a few KiB. */
    if (rcv->refused_status == 0 && content_length != SIZE_MAX && content_length > RESUME_STEP) {
        cw_server_t *server = worker->server;
        long long total = atomic_fetch_add(&server->declared_bytes, (long long)content_length) + (long long)content_length;
        if (total > (long long)server->opts.max_receiving_bytes && total != (long long)content_length) {
            atomic_fetch_sub(&server->declared_bytes, (long long)content_length);
            refuse_with(rcv, 503, "overloaded", "too many request bodies in progress (MAX_RECEIVING_BYTES); retry in a second",
                        "retry-after", "1");
        } else {
            declared_t *d = h2o_mem_alloc_shared(&req->pool, sizeof(*d), release_declared);
            *d = (declared_t){server, content_length};
        }
    }
    if (rcv->refused_status == 0) {
        return 0;
    }
    size_t i = 0;
    while (refused_statuses[i] != 0 && refused_statuses[i] != rcv->refused_status) {
        ++i;
    }
    cw_counter_inc(refused_counters[i]);
    return -1;
}

/* on_req_body_bytes (the h2o hook) keeps the receiving budget: every buffered byte is counted until its request is
 * handed to a handler or dropped; past the budget the body's reading pauses until the resume timer finds room. */
static int on_req_body_bytes(h2o_req_t *req, ssize_t delta)
{
    cw_worker_t *worker = cw_worker_of(req);
    cw_server_t *server = worker->server;
    struct st_receiving_t *rcv = req->cw_body.data;
    long long now = atomic_fetch_add(&server->receiving_bytes, (long long)delta) + delta;
    cw_gauge_add(receiving_gauge, delta);
    if (delta < 0) {
        if (rcv != NULL && h2o_linklist_is_linked(&rcv->paused)) {
            h2o_linklist_unlink(&rcv->paused);
        }
        return 0;
    }
    /* On HTTP/1.1 a body's first 64 KiB never waits: a callback of a few KiB completes in its first reads whatever the
     * attackers hold, and the bound already allows one 64 KiB read per connection (not so for h2c streams). */
    if (now <= (long long)server->opts.max_receiving_bytes || rcv == NULL ||
        (req->version < 0x200 && req->cw_body.buffered <= RESUME_STEP)) {
        return 0;
    }
    if (!h2o_linklist_is_linked(&rcv->paused)) {
        h2o_linklist_insert(&worker->_priv->paused, &rcv->paused);
        cw_counter_inc(paused_counter);
        if (!cw_timer_is_running(&worker->_priv->resume_timer)) {
            cw_timer_start(&worker->loop, &worker->_priv->resume_timer, RESUME_POLL_MS, on_resume_timer);
        }
    }
    return 1;
}

size_t cw_server_num_connections(const cw_server_t *server)
{
    long v = atomic_load(&((cw_server_t *)server)->num_connections);
    return v > 0 ? (size_t)v : 0;
}

size_t cw_server_receiving_bytes(const cw_server_t *server)
{
    long long v = atomic_load(&((cw_server_t *)server)->receiving_bytes);
    return v > 0 ? (size_t)v : 0;
}

cw_worker_t *cw_worker_of(h2o_req_t *req)
{
    return H2O_STRUCT_FROM_MEMBER(cw_worker_t, ctx, req->conn->ctx);
}

void cw_worker_hold(cw_worker_t *worker)
{
    ++worker->num_holds;
}

void cw_worker_release(cw_worker_t *worker)
{
    --worker->num_holds;
}

static void on_async_anchor_disposed(void *p)
{
    struct st_cw_async_anchor_t *anchor = p;
    if (anchor->async != NULL) {
        anchor->async->req = NULL;
        anchor->async->_anchor = NULL;
    }
}

void cw_async_begin(cw_async_t *async, h2o_req_t *req)
{
    async->req = req;
    async->worker = cw_worker_of(req);
    async->_anchor = h2o_mem_alloc_shared(&req->pool, sizeof(*async->_anchor), on_async_anchor_disposed);
    async->_anchor->async = async;
    cw_worker_hold(async->worker);
}

h2o_req_t *cw_async_take(cw_async_t *async)
{
    h2o_req_t *req = async->req;
    if (async->_anchor != NULL) {
        async->_anchor->async = NULL;
        async->_anchor = NULL;
    }
    async->req = NULL;
    return req;
}

void cw_async_end(cw_async_t *async)
{
    cw_async_take(async);
    if (async->worker != NULL) {
        cw_worker_release(async->worker);
        async->worker = NULL;
    }
}

/* on_connection_closed runs when h2o disposes a client socket (whatever the protocol, h2c upgrades included). */
static void on_connection_closed(void *data)
{
    cw_server_t *server = data;
    atomic_fetch_sub(&server->num_connections, 1);
    cw_gauge_add(connections_gauge, -1);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    cw_worker_t *worker = listener->data;
    cw_server_t *server = worker->server;
    if (err != NULL) {
        return;
    }
    /* Accept a bounded batch so one busy listener cannot starve the loop's other work. */
    for (int i = 0; i != 16; ++i) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL) {
            break;
        }
        /* Past MAX_CONNECTIONS a connection is accepted only to be closed at once: left in the backlog it would be
         * retried by the kernel's queue, and the client learns at once instead of at its own timeout. */
        if (atomic_fetch_add(&server->num_connections, 1) >= (long)server->opts.max_connections) {
            atomic_fetch_sub(&server->num_connections, 1);
            cw_counter_inc(connections_refused_counter);
            h2o_socket_close(sock);
            continue;
        }
        cw_gauge_add(connections_gauge, 1);
        sock->on_close.cb = on_connection_closed;
        sock->on_close.data = server;
        h2o_accept(&worker->_priv->accept_ctx, sock);
    }
}

static void close_listener(cw_worker_t *worker)
{
    if (worker->_priv->listener != NULL) {
        h2o_socket_read_stop(worker->_priv->listener);
        h2o_socket_close(worker->_priv->listener);
        worker->_priv->listener = NULL;
    }
}

/* on_stop_msg only wakes the loop; worker_main sees stop_requested when the iteration ends. */
static void on_stop_msg(cw_loop_msg_t *msg)
{
}

static void *worker_main(void *arg)
{
    cw_worker_t *worker = arg;
    cw_server_t *server = worker->server;

    h2o_context_init(&worker->ctx, h2o_evloop_create(), &server->config);
    cw_loop_init_with(&worker->loop, worker->ctx.loop);
    h2o_linklist_init_anchor(&worker->_priv->paused);
    worker->_priv->accept_ctx = (h2o_accept_ctx_t){.ctx = &worker->ctx, .hosts = server->config.hosts};

    int fd = dup(server->listen_fd);
    if (fd == -1) {
        perror("dup");
        abort();
    }
    worker->_priv->listener = h2o_evloop_socket_create(worker->ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    worker->_priv->listener->data = worker;

    if (server->opts.on_worker_start != NULL) {
        server->opts.on_worker_start(worker, server->opts.data);
    }
    if (!atomic_load(&server->stop_requested)) {
        h2o_socket_read_start(worker->_priv->listener, on_accept);
    }
    atomic_store(&worker->_priv->ready, 1);

    int shutdown_started = 0;
    for (;;) {
        if (atomic_load(&server->stop_requested) && !shutdown_started) {
            shutdown_started = 1;
            worker->stopping = 1;
            close_listener(worker);
            h2o_context_request_shutdown(&worker->ctx);
            if (server->opts.on_worker_stopping != NULL) {
                server->opts.on_worker_stopping(worker, server->opts.data);
            }
        }
        if (shutdown_started && worker->num_requests == 0 && worker->num_holds == 0) {
            break;
        }
        /* While stopping, wake regularly: the last request may end inside h2o without an event of ours. */
        if (h2o_evloop_run(worker->ctx.loop, shutdown_started ? 50 : INT32_MAX) != 0 && errno != EINTR) {
            perror("h2o_evloop_run");
            abort();
        }
    }

    if (server->opts.on_worker_stop != NULL) {
        server->opts.on_worker_stop(worker, server->opts.data);
    }
    close_listener(worker);
    cw_timer_stop(&worker->_priv->resume_timer);
    /* The main thread may be posting the stop message right now (the flag is seen first). */
    pthread_mutex_lock(&worker->_priv->queue_mutex);
    worker->_priv->queue_closed = 1;
    pthread_mutex_unlock(&worker->_priv->queue_mutex);
    cw_loop_dispose(&worker->loop, 0);
    cw_loop_drain_thread_cache();
    atomic_store(&worker->_priv->done, 1);
    return NULL;
}

cw_server_t *cw_server_new(const cw_server_options_t *opts)
{
    cw_server_t *server = cw_calloc(1, sizeof(*server));
    server->opts = *opts;
    server->host = cw_strdup(opts->host != NULL ? opts->host : "0.0.0.0");
    if (server->opts.num_workers == 0) {
        server->opts.num_workers = cw_env_cpus();
    }
    if (server->opts.max_body_bytes == 0) {
        server->opts.max_body_bytes = 1024 * 1024;
    }
    if (server->opts.max_receiving_bytes == 0) {
        server->opts.max_receiving_bytes = 64 * 1024 * 1024;
    }
    pthread_once(&receiving_metrics_once, init_receiving_metrics);
    if (server->opts.request_timeout_ms == 0) {
        server->opts.request_timeout_ms = 10000;
    }
    if (server->opts.shutdown_timeout_ms == 0) {
        server->opts.shutdown_timeout_ms = 7500;
    }
    if (server->opts.max_connections == 0) {
        server->opts.max_connections = 1024;
    }
    server->listen_fd = -1;

    h2o_config_init(&server->config);
    server->config.server_name = h2o_iovec_init(H2O_STRLIT("clay-webhooks"));
    server->config.max_request_entity_size = server->opts.max_body_bytes;
    server->config.http1.req_timeout = server->opts.request_timeout_ms;
    server->config.http2.idle_timeout = server->opts.request_timeout_ms;
    /* HTTP/1's req_timeout already runs once from a request's first byte; the patch gives HTTP/2 streams the same. */
    server->config.http2.cw_request_timeout = server->opts.request_timeout_ms;
    server->config.http1.upgrade_to_http2 = !server->opts.no_h2c; /* also governs h2c by prior knowledge */
    server->config.cw.on_req_headers = on_req_headers;
    server->config.cw.on_req_body_bytes = on_req_body_bytes;
    server->hostconf = h2o_config_register_host(&server->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    return server;
}

void cw_server_route(cw_server_t *server, const char *path, cw_handler_fn fn, void *data)
{
    cw_server_route_ex(server, path, fn, NULL, data);
}

void cw_server_route_ex(cw_server_t *server, const char *path, cw_handler_fn fn, cw_headers_fn on_headers, void *data)
{
    h2o_pathconf_t *pathconf = h2o_config_register_path(server->hostconf, path, 0);
    struct st_cw_route_t *route = (struct st_cw_route_t *)h2o_create_handler(pathconf, sizeof(*route));
    route->super.on_req = on_req;
    route->fn = fn;
    route->on_headers = on_headers;
    route->data = data;
}

int cw_server_listen(cw_server_t *server)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(server->opts.port)};
    if (inet_pton(AF_INET, server->host, &addr.sin_addr) != 1) {
        cw_logf(CW_LOG_ERROR, "cannot listen: %s is not an IPv4 address", server->host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        cw_logf(CW_LOG_ERROR, "socket: %s", strerror(errno));
        return -1;
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 1024) != 0) {
        cw_logf(CW_LOG_ERROR, "cannot listen on %s:%u: %s", server->host, (unsigned)server->opts.port, strerror(errno));
        close(fd);
        return -1;
    }
    socklen_t len = sizeof(addr);
    getsockname(fd, (struct sockaddr *)&addr, &len);
    server->port = ntohs(addr.sin_port);
    server->listen_fd = fd;
    return 0;
}

uint16_t cw_server_port(const cw_server_t *server)
{
    return server->port;
}

size_t cw_server_num_workers(const cw_server_t *server)
{
    return server->opts.num_workers;
}

static void wake_workers(cw_server_t *server)
{
    for (size_t i = 0; i != server->num_workers; ++i) {
        cw_worker_t *worker = &server->workers[i];
        pthread_mutex_lock(&worker->_priv->queue_mutex);
        if (!worker->_priv->queue_closed) {
            worker->_priv->stop_msg.cb = on_stop_msg;
            cw_loop_post(&worker->loop, &worker->_priv->stop_msg);
        }
        pthread_mutex_unlock(&worker->_priv->queue_mutex);
    }
}

int cw_server_run(cw_server_t *server)
{
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    if (server->opts.handle_signals) {
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    }
    signal(SIGPIPE, SIG_IGN);

    server->num_workers = server->opts.num_workers;
    server->workers = cw_calloc(server->num_workers, sizeof(*server->workers));
    for (size_t i = 0; i != server->num_workers; ++i) {
        cw_worker_t *worker = &server->workers[i];
        worker->server = server;
        worker->index = i;
        worker->_priv = cw_calloc(1, sizeof(*worker->_priv));
        pthread_mutex_init(&worker->_priv->queue_mutex, NULL);
        pthread_create(&worker->_priv->tid, NULL, worker_main, worker);
    }
    /* Workers own their loops from here on; wait until each can take a stop message. */
    for (size_t i = 0; i != server->num_workers; ++i) {
        while (!atomic_load(&server->workers[i]._priv->ready)) {
            usleep(1000);
        }
    }

    /* Wait for a stop request. */
    while (!atomic_load(&server->stop_requested)) {
        if (server->opts.handle_signals) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            int sig = sigtimedwait(&sigs, NULL, &ts);
            if (sig == SIGTERM || sig == SIGINT) {
                cw_log(CW_LOG_INFO, NULL, 0, "shutting down",
                       (cw_log_field_t[]){CW_LF_STR("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT")}, 1);
                atomic_store(&server->stop_requested, 1);
            }
        } else {
            usleep(50 * 1000);
        }
    }
    uint64_t deadline = cw_now_ms() + server->opts.shutdown_timeout_ms;
    wake_workers(server);

    int cut_short = 0;
    for (size_t i = 0; i != server->num_workers; ++i) {
        cw_worker_t *worker = &server->workers[i];
        while (!atomic_load(&worker->_priv->done) && cw_now_ms() < deadline) {
            usleep(5 * 1000);
        }
        if (!atomic_load(&worker->_priv->done)) {
            cut_short = 1;
        }
    }
    if (cut_short) {
        cw_log(CW_LOG_WARNING, NULL, 0, "shutdown deadline reached with work in flight", NULL, 0);
        /* Nobody joins the workers now (the stuck ones never end): detached, the finished ones are reclaimed. */
        for (size_t i = 0; i != server->num_workers; ++i) {
            pthread_detach(server->workers[i]._priv->tid);
        }
        return 1;
    }
    for (size_t i = 0; i != server->num_workers; ++i) {
        pthread_join(server->workers[i]._priv->tid, NULL);
    }
    server->joined = 1;
    return 0;
}

void cw_server_stop(cw_server_t *server)
{
    atomic_store(&server->stop_requested, 1);
}

int cw_server_is_stopping(const cw_server_t *server)
{
    return atomic_load(&((cw_server_t *)server)->stop_requested);
}

void cw_server_free(cw_server_t *server)
{
    if (server == NULL) {
        return;
    }
    if (server->listen_fd != -1) {
        close(server->listen_fd);
    }
    free(server->host);
    if (server->joined || server->workers == NULL) {
        /* Idle keep-alive connections may still hold each worker's h2o context, so contexts and
         * evloops are left to the process's end (tests/lsan.supp names them); ours go now. */
        for (size_t i = 0; i != server->num_workers; ++i) {
            free(server->workers[i]._priv);
        }
        free(server->workers);
        h2o_config_dispose(&server->config);
        free(server);
    }
    /* Otherwise worker threads are still running on this state: it stays until the process ends. */
}

void cw_add_header(h2o_req_t *req, const char *name, const char *value)
{
    size_t name_len = strlen(name), value_len = strlen(value);
    h2o_iovec_t n = h2o_strdup(&req->pool, name, name_len), v = h2o_strdup(&req->pool, value, value_len);
    h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 1, NULL, v.base, v.len);
}

void cw_respond(h2o_req_t *req, int status, const char *content_type, const char *body, size_t body_len)
{
    req->res.status = status;
    req->res.reason = cw_reason_phrase(status);
    req->res.content_length = body_len;
    if (content_type != NULL) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    }
    /* h2o_send_inline copies the body into the pool. */
    h2o_send_inline(req, body, body_len);
}

void cw_respond_json(h2o_req_t *req, int status, const char *json, size_t json_len)
{
    cw_respond(req, status, "application/json", json, json_len);
}

void cw_respond_error(h2o_req_t *req, int status, const char *code, const char *detail)
{
    cw_buf_t b = CW_BUF_INIT;
    cw_buf_appends(&b, "{\"error\":");
    cw_json_quote(&b, code, strlen(code));
    if (detail != NULL) {
        cw_buf_appends(&b, ",\"detail\":");
        cw_json_quote(&b, detail, strlen(detail));
    }
    cw_buf_appends(&b, "}");
    cw_respond_json(req, status, b.base, b.len);
    cw_buf_free(&b);
}

h2o_iovec_t cw_req_header(h2o_req_t *req, const char *name, size_t name_len)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, name_len, -1);
    if (i == -1) {
        return h2o_iovec_init(NULL, 0);
    }
    return req->headers.entries[i].value;
}

int cw_bearer_matches(h2o_iovec_t authorization, const char *token)
{
    static const char prefix[] = "bearer ";
    if (authorization.base == NULL || authorization.len <= sizeof(prefix) - 1 ||
        !cw_memeq_ci(authorization.base, sizeof(prefix) - 1, prefix, sizeof(prefix) - 1)) {
        return 0;
    }
    uint8_t a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    SHA256((const uint8_t *)authorization.base + sizeof(prefix) - 1, authorization.len - (sizeof(prefix) - 1), a);
    SHA256((const uint8_t *)token, strlen(token), b);
    return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

const char *cw_reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Status";
    }
}
