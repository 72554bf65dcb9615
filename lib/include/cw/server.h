/*
 * server.h: the serving core both binaries share. One h2o evloop per worker
 * thread accepting from one listening socket; HTTP/1.1 and h2c (prior knowledge
 * and Upgrade); a request-body cap; graceful SIGTERM/SIGINT: stop accepting,
 * finish in-flight requests and held work, exit before a deadline.
 *
 * Refusing before buffering (issue 16, docs/receiving.md): a route may check a
 * request's headers before its body is read (cw_server_route_ex); a refused
 * body is never read. Bodies being received (not yet handed to a handler) share
 * one budget, max_receiving_bytes: past it, reading the bodies that would grow
 * it pauses (TCP backpressure on HTTP/1, withheld WINDOW_UPDATE on HTTP/2)
 * until handed-over or dropped bodies free room.
 *
 * Bounds (issue 12 point 2, docs/receiving.md): at most max_connections open
 * connections (past it a new one is closed at once); request_timeout_ms is a
 * deadline for a whole request, headers and body, on HTTP/1.1 and HTTP/2 (a
 * stream still receiving then is reset); h2c only when asked (no_h2c = 0), with
 * at most 16 concurrent streams, 100 header fields per request (431) and a
 * reset budget per connection (Rapid Reset: GOAWAY). Most of it is carried by
 * the h2o patches of scripts/deps.sh.
 */
#ifndef CW_SERVER_H
#define CW_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include "h2o.h"
#include "cw/loop.h"

typedef struct st_cw_server_t cw_server_t;
typedef struct st_cw_worker_t cw_worker_t;

/* cw_handler_fn handles a request on |worker|'s thread. Returns 0 when it
 * responded or will respond later (see cw_async_t), -1 to pass (404). */
typedef int (*cw_handler_fn)(cw_worker_t *worker, h2o_req_t *req, void *data);

/* cw_headers_fn checks a request that announces a body, on |worker|'s thread, once its
 * headers are parsed and before any of its body is read (req->entity is empty).
 * Returns 0 to read the body (the route's cw_handler_fn then runs as usual), or -1
 * after cw_req_refuse: the body is never read, the handler is not called, the server
 * answers the refusal (HTTP/1: then closes the connection; HTTP/2: ends the stream).
 * Borrows |req| for the call only. */
typedef int (*cw_headers_fn)(cw_worker_t *worker, h2o_req_t *req, void *data);

typedef struct st_cw_server_options_t {
    const char *host;            /* bind address; NULL means 0.0.0.0 */
    uint16_t port;               /* 0 picks a free port (see cw_server_port) */
    size_t num_workers;          /* 0 means the CPUs available to the process */
    size_t max_body_bytes;       /* larger bodies get 413 (HTTP/1) or are refused; 0 means 1 MiB */
    size_t max_receiving_bytes;  /* budget of body bytes buffered before handlers run, all connections; 0 means 64 MiB */
    uint64_t request_timeout_ms; /* whole-request deadline (headers+body, HTTP/1.1 and HTTP/2) and keep-alive idle; 0 means 10000 */
    size_t max_connections;      /* open connections, all workers; past it a new one is closed at once; 0 means 1024 */
    uint64_t shutdown_timeout_ms; /* stop waiting for in-flight work after this; 0 means 7500 */
    int handle_signals;           /* SIGTERM and SIGINT stop the server gracefully */
    int no_h2c;                   /* 1: HTTP/1.1 only (no h2c by prior knowledge or Upgrade); 0 serves both */
    /* on_worker_start runs on each worker thread before it accepts; sets worker->app. May be NULL. */
    void (*on_worker_start)(cw_worker_t *worker, void *data);
    /* on_worker_stopping runs on each worker thread when its graceful stop begins (it no longer
     * accepts; requests and held work in flight go on until shutdown_timeout_ms). May be NULL. */
    void (*on_worker_stopping)(cw_worker_t *worker, void *data);
    /* on_worker_stop runs on each worker thread after its loop drained. May be NULL. */
    void (*on_worker_stop)(cw_worker_t *worker, void *data);
    void *data;
} cw_server_options_t;

struct st_cw_worker_t {
    h2o_context_t ctx;
    cw_loop_t loop; /* wraps ctx.loop */
    cw_server_t *server;
    size_t index;
    void *app;           /* the application's per-thread state; may be NULL */
    size_t num_requests; /* requests whose pool is still alive */
    size_t num_holds;    /* asynchronous work in progress (cw_worker_hold) */
    int stopping;
    struct st_cw_worker_private_t *_priv;
};

/* cw_server_new copies |opts|. Returns NULL only on a bad option (logged). */
cw_server_t *cw_server_new(const cw_server_options_t *opts);
/* cw_server_route sends requests whose path starts with |path| to |fn|. Call
 * before cw_server_listen; the first matching route (longest registered first
 * by h2o) wins. Copies |path|. */
void cw_server_route(cw_server_t *server, const char *path, cw_handler_fn fn, void *data);
/* cw_server_route_ex is cw_server_route with a header check run before the body is
 * read (|on_headers| may be NULL). Requests with a body to a path no route serves
 * get 404 before their body is read, and any route answers 413 for a declared
 * Content-Length over max_body_bytes. */
void cw_server_route_ex(cw_server_t *server, const char *path, cw_handler_fn fn, cw_headers_fn on_headers, void *data);
/* cw_req_refuse records the answer to a body refused by a cw_headers_fn (call it only
 * there): {"error":"<code>","detail":"<detail>"} with |status|, plus the header
 * |header_name|: |header_value| when not NULL (e.g. Allow). Copies every string. */
void cw_req_refuse(h2o_req_t *req, int status, const char *code, const char *detail, const char *header_name,
                   const char *header_value);
/* cw_server_receiving_bytes returns the body bytes buffered for requests not yet
 * handed to a handler, over all workers. Any thread. */
size_t cw_server_receiving_bytes(const cw_server_t *server);
/* cw_server_num_connections returns the connections open now, over all workers. Any thread. */
size_t cw_server_num_connections(const cw_server_t *server);
/* cw_server_listen binds and listens. Returns 0, or -1 (logged). */
int cw_server_listen(cw_server_t *server);
/* cw_server_port returns the bound port (after cw_server_listen). */
uint16_t cw_server_port(const cw_server_t *server);
/* cw_server_run starts the workers and blocks until the server stopped.
 * Returns 0 after a graceful stop, 1 when the shutdown deadline cut work short. */
int cw_server_run(cw_server_t *server);
/* cw_server_stop asks the server to stop gracefully; thread- and async-signal-safe. */
void cw_server_stop(cw_server_t *server);
/* cw_server_is_stopping reports whether a stop was requested. */
int cw_server_is_stopping(const cw_server_t *server);
/* cw_server_free releases the server after cw_server_run returned. */
void cw_server_free(cw_server_t *server);
/* cw_server_worker returns worker |i| (valid while running); for tests and metrics. */
size_t cw_server_num_workers(const cw_server_t *server);

/* cw_worker_of returns the worker serving |req|. */
cw_worker_t *cw_worker_of(h2o_req_t *req);
/* cw_worker_hold / cw_worker_release count asynchronous work that must end
 * before a graceful stop completes. Worker thread only. */
void cw_worker_hold(cw_worker_t *worker);
void cw_worker_release(cw_worker_t *worker);

/* cw_async_t tracks a request answered later. Embed it in the work's state.
 * |req| becomes NULL if the client goes away first (HTTP/2 RST_STREAM, a
 * closed HTTP/1 connection), so check it before responding. */
typedef struct st_cw_async_t {
    h2o_req_t *req; /* NULL once the client went away or the request was taken */
    cw_worker_t *worker;
    struct st_cw_async_anchor_t *_anchor;
} cw_async_t;

/* cw_async_begin ties |async| to |req| and holds the worker. */
void cw_async_begin(cw_async_t *async, h2o_req_t *req);
/* cw_async_take detaches and returns the request to respond to, or NULL when
 * the client went away. Call it once, then respond at once with cw_respond*. */
h2o_req_t *cw_async_take(cw_async_t *async);
/* cw_async_end releases the worker hold (detaching first if not taken). */
void cw_async_end(cw_async_t *async);

/* cw_add_header adds a response header, copying name and value into req->pool. */
void cw_add_header(h2o_req_t *req, const char *name, const char *value);
/* cw_respond sends a complete response; copies |body| into req->pool and sets
 * Content-Length. |content_type| may be NULL. */
void cw_respond(h2o_req_t *req, int status, const char *content_type, const char *body, size_t body_len);
/* cw_respond_json sends |json| with Content-Type: application/json. */
void cw_respond_json(h2o_req_t *req, int status, const char *json, size_t json_len);
/* cw_respond_error sends {"error":"<code>","detail":"<detail>"} (detail omitted
 * when NULL), escaping both. */
void cw_respond_error(h2o_req_t *req, int status, const char *code, const char *detail);

/* cw_req_header returns the value of request header |name| (lower-case) or an
 * iovec with base NULL. Borrows. */
h2o_iovec_t cw_req_header(h2o_req_t *req, const char *name, size_t name_len);

/* cw_bearer_matches reports whether |authorization| (a request's Authorization
 * value; base NULL when absent) is "Bearer <token>" ("Bearer" in any case). The
 * tokens are compared as SHA-256 digests with CRYPTO_memcmp: constant time and
 * blind to the expected token's length. Borrows both. */
int cw_bearer_matches(h2o_iovec_t authorization, const char *token);

/* cw_reason_phrase returns the standard reason phrase of |status|. */
const char *cw_reason_phrase(int status);

#endif
