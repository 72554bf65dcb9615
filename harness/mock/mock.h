/*
 * mock.h: the parts of `clay-harness mock` (mock.c) and what they share.
 *
 * One server, one route ("/"), dispatched by path prefix in mock.c:
 *   /clay/webhook/<id>             mock Clay inbound webhook        (mock_clay.c)
 *   /sinks/<name>                  mock sinks with a delivery ledger (mock_sinks.c)
 *   /computeMetadata/v1/...        metadata-server mock             (mock.c)
 *   /_harness/...                  inspection and runtime control   (each part)
 *   /<bucket>[/<object>]           GCS XML-API emulator             (mock_gcs.c)
 * so the buckets "clay", "sinks", "computeMetadata" and "_harness" are reserved.
 *
 * All state sits behind one mutex (cw_mock_t.lock), so any number of workers
 * may serve; the default is one. Answers that wait (injected latency, hung
 * sinks) are held on the worker's loop by mock_reply.c and are all released
 * when the server stops.
 */
#ifndef CW_HARNESS_MOCK_H
#define CW_HARNESS_MOCK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "cw/server.h"
#include "cw/util.h"
#include "mock_util.h"

#define CW_MOCK_CLAY_MAX_BODY 100000 /* Clay refuses payloads over 100 KB (100,000 bytes) */
#define CW_MOCK_MAX_BODY (16u * 1024 * 1024)
#define CW_MOCK_MAX_LATENCY_MS 600000

/* cw_mock_store_faults_t is the GCS emulator's fault injection, changeable at run time. */
typedef struct st_cw_mock_store_faults_t {
    double fail_rate;      /* fraction of requests answered 503 before doing anything */
    double ambiguous_rate; /* fraction of successful writes and deletes committed, then answered 503 */
    double spike_rate;     /* fraction of requests that get spike_ms more latency */
    uint64_t latency_ms;   /* added to every answer */
    uint64_t spike_ms;
    int down; /* every request 503 */
} cw_mock_store_faults_t;

/* cw_mock_config_t is the command line. */
typedef struct st_cw_mock_config_t {
    char host[64];
    uint16_t port;
    size_t num_workers;
    const char *clay_auth; /* NULL: no token check; borrowed from argv */
    double clay_rate;
    double clay_burst;
    uint64_t clay_limit;      /* submissions per webhook */
    uint64_t clay_table_rows; /* rows the table (fed by every webhook) holds; past it 200 and the row is dropped */
    int clay_text_ack;        /* answer a success with text/plain "OK" instead of JSON */
    uint64_t expire_after;    /* 0: webhooks never expire */
    uint64_t token_ttl_s;
    int require_token;
    cw_mock_store_faults_t store;
    uint64_t seed;
    int verbose;
} cw_mock_config_t;

typedef struct st_cw_mock_gcs_t cw_mock_gcs_t;
typedef struct st_cw_mock_clay_t cw_mock_clay_t;
typedef struct st_cw_mock_sinks_t cw_mock_sinks_t;

typedef struct st_cw_mock_t {
    cw_mock_config_t config;
    pthread_mutex_t lock; /* guards everything below, and the parts' state */
    cw_mock_rng_t rng;    /* fault injection draws */
    cw_mock_gcs_t *gcs;
    cw_mock_clay_t *clay;
    cw_mock_sinks_t *sinks;
    uint64_t num_token_fetches;
    uint64_t num_token_rejected;
    uint64_t num_project_fetches;
} cw_mock_t;

/* cw_mock_req_t is a request as the parts see it: path and query split, not decoded. */
typedef struct st_cw_mock_req_t {
    h2o_req_t *req;
    cw_mock_t *mock;
    const char *path; /* the part of the path the handler is for (after its mount point) */
    size_t path_len;
    const char *query; /* after '?'; NULL when there is none */
    size_t query_len;
} cw_mock_req_t;

/* cw_mock_method_is reports whether |req|'s method is |method|. */
int cw_mock_method_is(h2o_req_t *req, const char *method);
/* cw_mock_query_flag reports whether query parameter |name| is present and not "0" / "false". */
int cw_mock_query_flag(const cw_mock_req_t *mreq, const char *name);

/* cw_mock_reply_t is an answer under construction. */
typedef struct st_cw_mock_reply_t {
    int status;
    const char *content_type; /* a string literal; may be NULL */
    cw_buf_t headers;         /* name NUL value NUL, repeated */
    cw_buf_t body;
    int omit_body; /* HEAD: Content-Length of the body, no bytes */
} cw_mock_reply_t;

/* cw_mock_reply_init starts an empty reply with |status|. */
void cw_mock_reply_init(cw_mock_reply_t *reply, int status, const char *content_type);
/* cw_mock_reply_header adds a header; copies both strings. */
void cw_mock_reply_header(cw_mock_reply_t *reply, const char *name, const char *value);
/* cw_mock_reply_error makes |reply| a JSON {"error":<message>} answer with |status|. */
void cw_mock_reply_error(cw_mock_reply_t *reply, int status, const char *message);
/* cw_mock_reply_send answers |req| with |reply| now (|delay_ms| 0) or after
 * |delay_ms| (earlier if the server stops), and frees the reply's buffers. */
void cw_mock_reply_send(h2o_req_t *req, cw_mock_reply_t *reply, uint64_t delay_ms);
/* cw_mock_reply_json is cw_mock_reply_send of a 200/|status| JSON body. Copies |json|. */
void cw_mock_reply_json(h2o_req_t *req, int status, const char *json, size_t json_len);
/* cw_mock_reply_hang never answers |req| (the client has to give up) until
 * the server stops; then it answers 503. */
void cw_mock_reply_hang(h2o_req_t *req);
/* cw_mock_worker_start / cw_mock_worker_stop set up and tear down a worker's
 * held answers (worker->app). */
void cw_mock_worker_start(cw_worker_t *worker);
void cw_mock_worker_stop(cw_worker_t *worker);

/* The parts. Each _new returns its state (caller frees with _free); _reset
 * runs under mock->lock; handlers take the lock themselves. */
cw_mock_gcs_t *cw_mock_gcs_new(cw_mock_t *mock);
void cw_mock_gcs_free(cw_mock_gcs_t *gcs);
/* cw_mock_gcs_reset zeroes the counters and restores the command line's faults; with |drop_objects| it
 * also removes every object. */
void cw_mock_gcs_reset(cw_mock_t *mock, int drop_objects);
/* cw_mock_gcs_handle serves the XML API for mreq->path "/<bucket>[/<object>]". */
void cw_mock_gcs_handle(cw_mock_req_t *mreq);
/* cw_mock_gcs_harness serves /_harness/store (mreq->path is what follows, "" or "/stats"). Returns 0, or -1 for 404. */
int cw_mock_gcs_harness(cw_mock_req_t *mreq);

cw_mock_clay_t *cw_mock_clay_new(cw_mock_t *mock);
void cw_mock_clay_free(cw_mock_clay_t *clay);
void cw_mock_clay_reset(cw_mock_t *mock);
/* cw_mock_clay_handle serves mreq->path "/webhook/<id>". Returns 0, or -1 for 404. */
int cw_mock_clay_handle(cw_mock_req_t *mreq);
/* cw_mock_clay_harness serves /_harness/clay (mreq->path is what follows). Returns 0, or -1 for 404. */
int cw_mock_clay_harness(cw_mock_req_t *mreq);

cw_mock_sinks_t *cw_mock_sinks_new(cw_mock_t *mock);
void cw_mock_sinks_free(cw_mock_sinks_t *sinks);
void cw_mock_sinks_reset(cw_mock_t *mock);
/* cw_mock_sinks_handle serves mreq->path "/<name>". Returns 0, or -1 for 404. */
int cw_mock_sinks_handle(cw_mock_req_t *mreq);
/* cw_mock_sinks_deliveries serves GET /_harness/deliveries. */
void cw_mock_sinks_deliveries(cw_mock_req_t *mreq);
/* cw_mock_sinks_harness serves /_harness/sinks (mreq->path is what follows). Returns 0, or -1 for 404. */
int cw_mock_sinks_harness(cw_mock_req_t *mreq);

/* cw_harness_mock_main is `clay-harness mock`: takes the arguments after its name
 * (argv[0] is "mock"); returns the exit code: 0 after a clean stop, 2 on a usage error. */
int cw_harness_mock_main(int argc, char **argv);

#endif
