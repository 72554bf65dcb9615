/*
 * http.h: the asynchronous HTTP client. One libcurl multi handle runs on a
 * thread of its own; requests are submitted from any thread and completions are
 * posted back to the submitter's cw_loop_t (or run on the curl thread when no
 * loop is given). Connections are reused per host; TLS peers are always
 * verified (CA bundle from SSL_CERT_FILE, else the system bundle).
 *
 * Retries live here too, so stores and sinks share one policy: with
 * max_attempts > 1 a transport error, 408, 429 or 5xx is retried after capped
 * exponential backoff with full jitter, honouring Retry-After, as long as the
 * next attempt can start before the deadline.
 */
#ifndef CW_HTTP_H
#define CW_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "cw/loop.h"
#include "cw/util.h"

typedef struct st_cw_http_t cw_http_t;

/* cw_http_header_t is one header; both strings NUL-terminated. */
typedef struct st_cw_http_header_t {
    char *name; /* response headers: lower-cased */
    char *value;
} cw_http_header_t;

/* cw_http_request_t describes a request. Everything is copied by cw_http_submit,
 * so the caller may free it as soon as that returns. */
typedef struct st_cw_http_request_t {
    const char *method;         /* "GET", "PUT", ...; NULL means GET, or POST when body is set */
    const char *url;            /* never NULL */
    const char *const *headers; /* "Name: value" strings; may be NULL */
    size_t num_headers;
    const void *body; /* may be NULL */
    size_t body_len;
    uint64_t timeout_ms;       /* per attempt; 0 means 10000 */
    size_t max_response_bytes; /* 0 means 1 MiB; a larger body fails with CW_HTTP_ERR_TOO_BIG */
    unsigned max_attempts;     /* 0 or 1: no retry */
    uint64_t deadline_ms;      /* overall budget for all attempts and waits; 0: no budget beyond attempts */
    uint64_t backoff_base_ms;  /* first retry waits up to this (default 100), doubling */
    uint64_t backoff_max_ms;   /* cap of one wait (default 10000) */
    int retry_on_409;          /* S3's ConditionalRequestConflict: retry 409 too */
    int head_only;             /* HEAD: no body expected */
} cw_http_request_t;

typedef enum en_cw_http_error_t {
    CW_HTTP_OK = 0,        /* a response arrived (any status) */
    CW_HTTP_ERR_CONNECT,   /* could not resolve or connect */
    CW_HTTP_ERR_TIMEOUT,   /* the attempt's timeout passed */
    CW_HTTP_ERR_TLS,       /* handshake or verification failed */
    CW_HTTP_ERR_TRANSPORT, /* reset, short read, malformed response */
    CW_HTTP_ERR_TOO_BIG,   /* the response body exceeded max_response_bytes */
    CW_HTTP_ERR_SHUTDOWN,  /* the client was shut down before completion */
} cw_http_error_t;

/* cw_http_response_t is what a completion sees; valid only during the callback. */
typedef struct st_cw_http_response_t {
    cw_http_error_t error;
    int status;             /* 0 when error != CW_HTTP_OK */
    const char *error_text; /* never NULL; "" on success */
    cw_http_header_t *headers;
    size_t num_headers;
    const char *body; /* never NULL; NUL-terminated */
    size_t body_len;
    unsigned attempts;
    uint64_t elapsed_ms; /* from submission to completion */
} cw_http_response_t;

typedef void (*cw_http_cb)(const cw_http_response_t *res, void *data);

/* cw_http_new starts the curl thread. Call curl-free code only after; one per
 * process is enough. Returns NULL when libcurl cannot be initialised. */
cw_http_t *cw_http_new(void);
/* cw_http_free completes every outstanding request with CW_HTTP_ERR_SHUTDOWN
 * (callbacks still run, on their loops if those still turn) and joins the thread. */
void cw_http_free(cw_http_t *http);

/* cw_http_submit queues |req|; |cb|(res, |data|) runs exactly once, on |loop|'s
 * thread, or on the curl thread when |loop| is NULL. Thread-safe. */
void cw_http_submit(cw_http_t *http, cw_loop_t *loop, const cw_http_request_t *req, cw_http_cb cb, void *data);

/* cw_http_fetch is the blocking form for command-line code and tests: it fills
 * |out| with the status, headers and body (caller frees with
 * cw_http_result_free). Returns |out|->error. */
typedef struct st_cw_http_result_t {
    cw_http_error_t error;
    int status;
    char *error_text;
    cw_http_header_t *headers;
    size_t num_headers;
    char *body;
    size_t body_len;
    unsigned attempts;
} cw_http_result_t;
cw_http_error_t cw_http_fetch(cw_http_t *http, const cw_http_request_t *req, cw_http_result_t *out);
void cw_http_result_free(cw_http_result_t *res);

/* cw_http_find_header returns the value of the first header named |name|
 * (case-insensitive), or NULL. */
const char *cw_http_find_header(const cw_http_header_t *headers, size_t num_headers, const char *name);

/* cw_http_retry_after_ms parses a Retry-After value (delta-seconds or an HTTP
 * date relative to |now_wall_ms|). Returns -1 when absent or unparsable. */
int64_t cw_http_retry_after_ms(const char *value, int64_t now_wall_ms);

/* cw_http_version returns curl_version() (it names the TLS library). */
const char *cw_http_version(void);

#endif
