/*
 * http.c: the asynchronous HTTP client (see cw/http.h).
 *
 * One thread owns a CURLM. cw_http_submit copies the request into a job, puts
 * it on a locked queue and wakes the thread with curl_multi_wakeup. The thread
 * adds queued jobs, drives curl_multi_perform, collects completions with
 * curl_multi_info_read, and sleeps in curl_multi_poll no later than the next
 * delayed retry. A job is always in exactly one of: the submission queue, the
 * active list (its easy handle is in the multi), or the delayed list (waiting
 * for its next attempt, ordered by time). Retries never sleep: they wait in the
 * delayed list.
 *
 * Connections live in the multi's pool, so a fresh easy handle per attempt
 * still reuses them.
 */
#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "cw/http.h"

#define DEFAULT_TIMEOUT_MS 10000
#define MAX_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_MAX_RESPONSE_BYTES (1024 * 1024)
#define DEFAULT_BACKOFF_BASE_MS 100
#define DEFAULT_BACKOFF_MAX_MS 10000
#define RETRY_AFTER_CAP_MS (3600 * 1000)
#define MAX_HEADER_BYTES (64 * 1024)
#define MAX_HEADERS 100
#define MAX_POLL_MS 1000
#define MAX_DELTA_SECONDS ((uint64_t)100 * 365 * 86400)

typedef enum en_abort_reason_t {
    ABORT_NONE = 0,
    ABORT_TOO_BIG,
    ABORT_HEADERS,
} abort_reason_t;

typedef struct st_job_t {
    cw_loop_msg_t msg;   /* used only when the completion goes to a loop */
    h2o_linklist_t link; /* in the queue, the active list or the delayed list */
    cw_loop_t *loop;     /* may be NULL: complete on the curl thread */
    cw_http_cb cb;
    void *data;

    /* the request, copied */
    char *method; /* NULL: GET, or POST with a body */
    char *url;
    struct curl_slist *headers;
    char *body; /* may be NULL */
    size_t body_len;
    uint64_t timeout_ms;
    size_t max_response_bytes;
    unsigned max_attempts;
    uint64_t deadline_ms;
    uint64_t backoff_base_ms;
    uint64_t backoff_max_ms;
    int retry_on_409;
    int head_only;

    /* progress */
    uint64_t submitted_at;
    uint64_t start_at; /* when in the delayed list: monotonic ms of the next attempt */
    unsigned attempts;
    CURL *easy; /* non-NULL while in the active list */
    char errbuf[CURL_ERROR_SIZE];
    abort_reason_t abort_reason;

    /* the last attempt's outcome */
    cw_http_error_t error;
    int status;
    char error_text[CURL_ERROR_SIZE + 160];
    cw_http_header_t *res_headers;
    size_t num_res_headers;
    size_t header_bytes;
    cw_buf_t res_body;
    uint64_t elapsed_ms;
} job_t;

struct st_cw_http_t {
    CURLM *multi;
    pthread_t thread;
    char *ca_file; /* NULL: curl's built-in bundle */

    pthread_mutex_t mutex; /* guards the three fields below */
    h2o_linklist_t queue;  /* submitted, not yet seen by the curl thread */
    int stopping;          /* cw_http_free was called */
    int closed;            /* the curl thread completed everything; submissions fail at once */

    /* curl thread only */
    h2o_linklist_t active;
    h2o_linklist_t delayed;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- jobs ---- */

static void clear_response(job_t *job)
{
    for (size_t i = 0; i != job->num_res_headers; ++i) {
        free(job->res_headers[i].name);
        free(job->res_headers[i].value);
    }
    free(job->res_headers);
    job->res_headers = NULL;
    job->num_res_headers = 0;
    job->header_bytes = 0;
    cw_buf_free(&job->res_body);
    job->error = CW_HTTP_OK;
    job->status = 0;
    job->error_text[0] = '\0';
    job->errbuf[0] = '\0';
    job->abort_reason = ABORT_NONE;
}

static void job_free(job_t *job)
{
    clear_response(job);
    free(job->method);
    free(job->url);
    curl_slist_free_all(job->headers);
    free(job->body);
    free(job);
}

static void deliver(job_t *job)
{
    cw_http_response_t res = {
        .error = job->error,
        .status = job->error == CW_HTTP_OK ? job->status : 0,
        .error_text = job->error_text,
        .headers = job->error == CW_HTTP_OK ? job->res_headers : NULL,
        .num_headers = job->error == CW_HTTP_OK ? job->num_res_headers : 0,
        .body = job->error == CW_HTTP_OK && job->res_body.base != NULL ? job->res_body.base : "",
        .body_len = job->error == CW_HTTP_OK ? job->res_body.len : 0,
        .attempts = job->attempts,
        .elapsed_ms = job->elapsed_ms,
    };
    job->cb(&res, job->data);
}

static void on_loop_msg(cw_loop_msg_t *msg)
{
    job_t *job = H2O_STRUCT_FROM_MEMBER(job_t, msg, msg);
    deliver(job);
    job_free(job);
}

/* complete hands |job| (in no list, without an easy handle) to its callback; the job is gone afterwards. */
static void complete(job_t *job)
{
    job->elapsed_ms = cw_now_ms() - job->submitted_at;
    if (job->loop != NULL) {
        job->msg.cb = on_loop_msg;
        cw_loop_post(job->loop, &job->msg);
    } else {
        deliver(job);
        job_free(job);
    }
}

static void fail(job_t *job, cw_http_error_t error, const char *text)
{
    job->error = error;
    job->status = 0;
    snprintf(job->error_text, sizeof(job->error_text), "%s", text);
    complete(job);
}

/* ---- curl callbacks ---- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
    job_t *job = userdata;
    size_t len = size * nitems;

    job->header_bytes += len;
    if (job->header_bytes > MAX_HEADER_BYTES) {
        job->abort_reason = ABORT_HEADERS;
        return 0;
    }
    /* A status line starts a new response (1xx first, then the final one): keep only the last one's headers. */
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        for (size_t i = 0; i != job->num_res_headers; ++i) {
            free(job->res_headers[i].name);
            free(job->res_headers[i].value);
        }
        job->num_res_headers = 0;
        return len;
    }
    /* Continuation lines (obsolete folding) and lines without a colon carry nothing we use. */
    if (len == 0 || buf[0] == ' ' || buf[0] == '\t') {
        return len;
    }
    const char *colon = memchr(buf, ':', len);
    if (colon == NULL || colon == buf) {
        return len;
    }
    if (job->num_res_headers == MAX_HEADERS) {
        job->abort_reason = ABORT_HEADERS;
        return 0;
    }
    size_t name_len = (size_t)(colon - buf);
    while (name_len != 0 && is_space(buf[name_len - 1])) {
        --name_len;
    }
    const char *value = colon + 1, *end = buf + len;
    while (value != end && is_space(*value)) {
        ++value;
    }
    while (end != value && is_space(end[-1])) {
        --end;
    }
    if (job->res_headers == NULL) {
        job->res_headers = cw_calloc(MAX_HEADERS, sizeof(*job->res_headers));
    }
    cw_http_header_t *h = job->res_headers + job->num_res_headers++;
    h->name = cw_strndup(buf, name_len);
    for (size_t i = 0; i != name_len; ++i) {
        h->name[i] = (char)tolower((unsigned char)h->name[i]);
    }
    h->value = cw_strndup(value, (size_t)(end - value));
    return len;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *userdata)
{
    job_t *job = userdata;
    size_t len = size * nmemb;

    /* Returning a short count makes curl fail the transfer with CURLE_WRITE_ERROR; abort_reason says why. */
    if (len > job->max_response_bytes - job->res_body.len) {
        job->abort_reason = ABORT_TOO_BIG;
        return 0;
    }
    cw_buf_append(&job->res_body, buf, len);
    return len;
}

/* ---- attempts ---- */

static int method_is(const job_t *job, const char *m)
{
    return job->method != NULL && strcmp(job->method, m) == 0;
}

static void set_method(job_t *job, CURL *easy)
{
    int has_body = job->body != NULL || method_is(job, "POST") || method_is(job, "PUT") || method_is(job, "PATCH");
    if (has_body) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)job->body_len);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, job->body != NULL ? job->body : "");
        if (job->method != NULL && strcmp(job->method, "POST") != 0) {
            curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, job->method);
        }
    } else if (job->head_only || method_is(job, "HEAD")) {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
        if (job->method != NULL && strcmp(job->method, "HEAD") != 0) {
            curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, job->method);
        }
    } else if (job->method != NULL && strcmp(job->method, "GET") != 0) {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, job->method);
    }
}

static CURL *new_easy(cw_http_t *http, job_t *job, uint64_t timeout_ms)
{
    CURL *easy = curl_easy_init();
    if (easy == NULL) {
        return NULL;
    }
    uint64_t connect_ms = timeout_ms < MAX_CONNECT_TIMEOUT_MS ? timeout_ms : MAX_CONNECT_TIMEOUT_MS;
    curl_easy_setopt(easy, CURLOPT_URL, job->url);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, job);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, job->errbuf);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (http->ca_file != NULL) {
        curl_easy_setopt(easy, CURLOPT_CAINFO, http->ca_file);
    }
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 15L);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "clay-webhooks");
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, job->headers);
    /* Content-Length known up front: fail before reading anything (CURLE_FILESIZE_EXCEEDED). */
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)job->max_response_bytes);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, job);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, job);
    set_method(job, easy);
    return easy;
}

/* start_attempt starts the next attempt of |job| (in no list), or completes it with the last outcome
 * when the deadline has passed. */
static void start_attempt(cw_http_t *http, job_t *job)
{
    uint64_t now = cw_now_ms(), timeout_ms = job->timeout_ms;

    if (job->deadline_ms != 0) {
        uint64_t used = now - job->submitted_at;
        if (job->attempts != 0 && used >= job->deadline_ms) {
            complete(job);
            return;
        }
        /* The deadline is a budget for everything: an attempt never outlives it. */
        uint64_t left = used < job->deadline_ms ? job->deadline_ms - used : 1;
        if (left < timeout_ms) {
            timeout_ms = left;
        }
    }
    clear_response(job);
    ++job->attempts;
    if ((job->easy = new_easy(http, job, timeout_ms)) == NULL) {
        fail(job, CW_HTTP_ERR_TRANSPORT, "curl_easy_init failed");
        return;
    }
    CURLMcode mc = curl_multi_add_handle(http->multi, job->easy);
    if (mc != CURLM_OK) {
        curl_easy_cleanup(job->easy);
        job->easy = NULL;
        fail(job, CW_HTTP_ERR_TRANSPORT, curl_multi_strerror(mc));
        return;
    }
    h2o_linklist_insert(&http->active, &job->link);
}

static void schedule(cw_http_t *http, job_t *job, uint64_t start_at)
{
    job->start_at = start_at;
    h2o_linklist_t *pos = http->delayed.next;
    while (pos != &http->delayed && H2O_STRUCT_FROM_MEMBER(job_t, link, pos)->start_at <= start_at) {
        pos = pos->next;
    }
    h2o_linklist_insert(pos, &job->link);
}

/* classify maps a failed transfer's code to the public error and says whether retrying can help. */
static cw_http_error_t classify(const job_t *job, CURLcode rc, int *out_retryable)
{
    *out_retryable = 1;
    if (job->abort_reason == ABORT_TOO_BIG || rc == CURLE_FILESIZE_EXCEEDED) {
        *out_retryable = 0;
        return CW_HTTP_ERR_TOO_BIG;
    }
    if (job->abort_reason == ABORT_HEADERS) {
        *out_retryable = 0;
        return CW_HTTP_ERR_TRANSPORT;
    }
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return CW_HTTP_ERR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return CW_HTTP_ERR_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR: /* a handshake failure may be transient */
        return CW_HTTP_ERR_TLS;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        *out_retryable = 0;
        return CW_HTTP_ERR_TLS;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
        *out_retryable = 0;
        return CW_HTTP_ERR_TRANSPORT;
    default:
        return CW_HTTP_ERR_TRANSPORT;
    }
}

static int status_is_retryable(const job_t *job, int status)
{
    return status == 408 || status == 429 || (status >= 500 && status <= 599) || (status == 409 && job->retry_on_409);
}

/* retry_wait returns how long to wait before attempt |job|->attempts + 1. */
static uint64_t retry_wait(const job_t *job)
{
    if (job->error == CW_HTTP_OK) {
        const char *ra = cw_http_find_header(job->res_headers, job->num_res_headers, "retry-after");
        int64_t ms = ra != NULL ? cw_http_retry_after_ms(ra, cw_wall_ms()) : -1;
        if (ms >= 0) {
            return ms > RETRY_AFTER_CAP_MS ? RETRY_AFTER_CAP_MS : (uint64_t)ms;
        }
    }
    uint64_t wait = job->backoff_base_ms;
    for (unsigned i = 1; i < job->attempts && wait < job->backoff_max_ms; ++i) {
        wait *= 2;
    }
    if (wait > job->backoff_max_ms) {
        wait = job->backoff_max_ms;
    }
    uint64_t half = wait / 2;
    return half + cw_random_u64() % (wait - half + 1);
}

static void on_done(cw_http_t *http, job_t *job, CURLcode rc)
{
    int retryable;
    long status = 0;

    curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(http->multi, job->easy);
    curl_easy_cleanup(job->easy);
    job->easy = NULL;
    h2o_linklist_unlink(&job->link);

    if (rc == CURLE_OK) {
        job->error = CW_HTTP_OK;
        job->status = (int)status;
        job->error_text[0] = '\0';
        retryable = status_is_retryable(job, job->status);
    } else {
        job->error = classify(job, rc, &retryable);
        job->status = 0;
        if (job->abort_reason == ABORT_TOO_BIG || rc == CURLE_FILESIZE_EXCEEDED) {
            snprintf(job->error_text, sizeof(job->error_text), "response body exceeds %zu bytes", job->max_response_bytes);
        } else if (job->abort_reason == ABORT_HEADERS) {
            snprintf(job->error_text, sizeof(job->error_text), "response headers exceed %d bytes or %d lines", MAX_HEADER_BYTES,
                     MAX_HEADERS);
        } else {
            snprintf(job->error_text, sizeof(job->error_text), "%s%s%s", curl_easy_strerror(rc), job->errbuf[0] != '\0' ? ": " : "",
                     job->errbuf);
        }
    }

    if (retryable && job->attempts < job->max_attempts) {
        uint64_t now = cw_now_ms(), start_at = now + retry_wait(job);
        if (job->deadline_ms == 0 || start_at - job->submitted_at < job->deadline_ms) {
            schedule(http, job, start_at);
            return;
        }
    }
    complete(job);
}

/* ---- the curl thread ---- */

static void start_due(cw_http_t *http)
{
    uint64_t now = cw_now_ms();
    while (!h2o_linklist_is_empty(&http->delayed)) {
        job_t *job = H2O_STRUCT_FROM_MEMBER(job_t, link, http->delayed.next);
        if (job->start_at > now) {
            break;
        }
        h2o_linklist_unlink(&job->link);
        start_attempt(http, job);
    }
}

static int poll_timeout(cw_http_t *http)
{
    if (h2o_linklist_is_empty(&http->delayed)) {
        return MAX_POLL_MS;
    }
    uint64_t now = cw_now_ms(), at = H2O_STRUCT_FROM_MEMBER(job_t, link, http->delayed.next)->start_at;
    if (at <= now) {
        return 0;
    }
    return at - now < MAX_POLL_MS ? (int)(at - now) : MAX_POLL_MS;
}

static void shut_down_list(h2o_linklist_t *list, cw_http_t *http)
{
    while (!h2o_linklist_is_empty(list)) {
        job_t *job = H2O_STRUCT_FROM_MEMBER(job_t, link, list->next);
        h2o_linklist_unlink(&job->link);
        if (job->easy != NULL) {
            curl_multi_remove_handle(http->multi, job->easy);
            curl_easy_cleanup(job->easy);
            job->easy = NULL;
        }
        clear_response(job);
        fail(job, CW_HTTP_ERR_SHUTDOWN, "the HTTP client was shut down");
    }
}

static void shut_down(cw_http_t *http, h2o_linklist_t *incoming)
{
    shut_down_list(incoming, http);
    shut_down_list(&http->active, http);
    shut_down_list(&http->delayed, http);
    /* Callbacks may have submitted more; drain until the queue stays empty, then close it. */
    for (;;) {
        pthread_mutex_lock(&http->mutex);
        h2o_linklist_insert_list(incoming, &http->queue);
        if (h2o_linklist_is_empty(incoming)) {
            http->closed = 1;
        }
        pthread_mutex_unlock(&http->mutex);
        if (h2o_linklist_is_empty(incoming)) {
            break;
        }
        shut_down_list(incoming, http);
    }
}

static void *run(void *arg)
{
    cw_http_t *http = arg;
    h2o_linklist_t incoming;

    h2o_linklist_init_anchor(&incoming);
    for (;;) {
        pthread_mutex_lock(&http->mutex);
        h2o_linklist_insert_list(&incoming, &http->queue);
        int stopping = http->stopping;
        pthread_mutex_unlock(&http->mutex);
        if (stopping) {
            break;
        }
        while (!h2o_linklist_is_empty(&incoming)) {
            job_t *job = H2O_STRUCT_FROM_MEMBER(job_t, link, incoming.next);
            h2o_linklist_unlink(&job->link);
            start_attempt(http, job);
        }
        start_due(http);

        int running;
        curl_multi_perform(http->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(http->multi, &left)) != NULL) {
            if (m->msg == CURLMSG_DONE) {
                char *priv = NULL;
                CURLcode rc = m->data.result;
                curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
                on_done(http, (job_t *)priv, rc);
            }
        }
        curl_multi_poll(http->multi, NULL, 0, poll_timeout(http), NULL);
    }
    shut_down(http, &incoming);
    return NULL;
}

/* ---- public API ---- */

cw_http_t *cw_http_new(void)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        return NULL;
    }
    cw_http_t *http = cw_calloc(1, sizeof(*http));
    if ((http->multi = curl_multi_init()) == NULL) {
        free(http);
        return NULL;
    }
    curl_multi_setopt(http->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
    curl_multi_setopt(http->multi, CURLMOPT_MAXCONNECTS, 256L);
    curl_multi_setopt(http->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    const char *ca = getenv("SSL_CERT_FILE");
    if (ca != NULL && ca[0] != '\0') {
        http->ca_file = cw_strdup(ca);
    }
    pthread_mutex_init(&http->mutex, NULL);
    h2o_linklist_init_anchor(&http->queue);
    h2o_linklist_init_anchor(&http->active);
    h2o_linklist_init_anchor(&http->delayed);
    /* The curl thread takes no signals: SIGTERM and SIGINT belong to the thread that waits for them
     * (cw_server_run). Unblocked here, a SIGTERM arriving while that thread was not inside sigtimedwait
     * was delivered to this thread and killed the process with no graceful stop (seen under TSan). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&http->thread, NULL, run, http);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_mutex_destroy(&http->mutex);
        curl_multi_cleanup(http->multi);
        free(http->ca_file);
        free(http);
        return NULL;
    }
    return http;
}

void cw_http_free(cw_http_t *http)
{
    if (http == NULL) {
        return;
    }
    pthread_mutex_lock(&http->mutex);
    http->stopping = 1;
    curl_multi_wakeup(http->multi);
    pthread_mutex_unlock(&http->mutex);
    pthread_join(http->thread, NULL);
    curl_multi_cleanup(http->multi);
    pthread_mutex_destroy(&http->mutex);
    free(http->ca_file);
    free(http);
}

static int has_header(const cw_http_request_t *req, const char *name)
{
    size_t name_len = strlen(name);
    for (size_t i = 0; i != req->num_headers; ++i) {
        const char *h = req->headers[i], *colon = strchr(h, ':');
        if (colon != NULL && cw_memeq_ci(h, (size_t)(colon - h), name, name_len)) {
            return 1;
        }
    }
    return 0;
}

void cw_http_submit(cw_http_t *http, cw_loop_t *loop, const cw_http_request_t *req, cw_http_cb cb, void *data)
{
    job_t *job = cw_calloc(1, sizeof(*job));
    int bad_header = 0;

    job->loop = loop;
    job->cb = cb;
    job->data = data;
    job->submitted_at = cw_now_ms();
    job->method = req->method != NULL ? cw_strdup(req->method) : NULL;
    job->url = cw_strdup(req->url);
    for (size_t i = 0; i != req->num_headers; ++i) {
        /* A CR or LF would let a value smuggle in headers of its own. */
        if (strpbrk(req->headers[i], "\r\n") != NULL) {
            bad_header = 1;
            continue;
        }
        struct curl_slist *l = curl_slist_append(job->headers, req->headers[i]);
        if (l == NULL) {
            abort();
        }
        job->headers = l;
    }
    if (req->body != NULL) {
        job->body = cw_malloc(req->body_len + 1);
        memcpy(job->body, req->body, req->body_len);
        job->body_len = req->body_len;
    }
    /* curl would otherwise send "Expect: 100-continue" (a round trip) and a form Content-Type. */
    const char *suppress[] = {"Expect:", "Content-Type:"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(suppress); ++i) {
        if (i == 1 && has_header(req, "content-type")) {
            continue;
        }
        struct curl_slist *l = curl_slist_append(job->headers, suppress[i]);
        if (l == NULL) {
            abort();
        }
        job->headers = l;
    }
    job->timeout_ms = req->timeout_ms != 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS;
    job->max_response_bytes = req->max_response_bytes != 0 ? req->max_response_bytes : DEFAULT_MAX_RESPONSE_BYTES;
    job->max_attempts = req->max_attempts > 1 ? req->max_attempts : 1;
    job->deadline_ms = req->deadline_ms;
    job->backoff_base_ms = req->backoff_base_ms != 0 ? req->backoff_base_ms : DEFAULT_BACKOFF_BASE_MS;
    job->backoff_max_ms = req->backoff_max_ms != 0 ? req->backoff_max_ms : DEFAULT_BACKOFF_MAX_MS;
    job->retry_on_409 = req->retry_on_409;
    job->head_only = req->head_only;

    if (bad_header) {
        fail(job, CW_HTTP_ERR_TRANSPORT, "request header contains CR or LF");
        return;
    }
    pthread_mutex_lock(&http->mutex);
    int closed = http->closed;
    if (!closed) {
        h2o_linklist_insert(&http->queue, &job->link);
        /* Under the lock, so the thread cannot have cleaned the multi up in between. */
        curl_multi_wakeup(http->multi);
    }
    pthread_mutex_unlock(&http->mutex);
    if (closed) {
        fail(job, CW_HTTP_ERR_SHUTDOWN, "the HTTP client was shut down");
    }
}

typedef struct st_fetch_t {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int done;
    cw_http_result_t *out;
} fetch_t;

static void on_fetch_done(const cw_http_response_t *res, void *data)
{
    fetch_t *f = data;
    cw_http_result_t *out = f->out;

    out->error = res->error;
    out->status = res->status;
    out->error_text = cw_strdup(res->error_text);
    out->num_headers = res->num_headers;
    out->headers = cw_calloc(res->num_headers != 0 ? res->num_headers : 1, sizeof(*out->headers));
    for (size_t i = 0; i != res->num_headers; ++i) {
        out->headers[i].name = cw_strdup(res->headers[i].name);
        out->headers[i].value = cw_strdup(res->headers[i].value);
    }
    out->body = cw_strndup(res->body, res->body_len);
    out->body_len = res->body_len;
    out->attempts = res->attempts;

    pthread_mutex_lock(&f->mutex);
    f->done = 1;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->mutex);
}

cw_http_error_t cw_http_fetch(cw_http_t *http, const cw_http_request_t *req, cw_http_result_t *out)
{
    memset(out, 0, sizeof(*out));
    if (pthread_equal(pthread_self(), http->thread)) {
        /* Waiting here would block the thread that has to do the work. */
        out->error = CW_HTTP_ERR_TRANSPORT;
        out->error_text = cw_strdup("cw_http_fetch called from an HTTP completion on the curl thread");
        out->headers = cw_calloc(1, sizeof(*out->headers));
        out->body = cw_strdup("");
        return out->error;
    }
    fetch_t f = {.done = 0, .out = out};
    pthread_mutex_init(&f.mutex, NULL);
    pthread_cond_init(&f.cond, NULL);
    cw_http_submit(http, NULL, req, on_fetch_done, &f);
    pthread_mutex_lock(&f.mutex);
    while (!f.done) {
        pthread_cond_wait(&f.cond, &f.mutex);
    }
    pthread_mutex_unlock(&f.mutex);
    pthread_cond_destroy(&f.cond);
    pthread_mutex_destroy(&f.mutex);
    return out->error;
}

void cw_http_result_free(cw_http_result_t *res)
{
    if (res == NULL) {
        return;
    }
    for (size_t i = 0; i != res->num_headers; ++i) {
        free(res->headers[i].name);
        free(res->headers[i].value);
    }
    free(res->headers);
    free(res->error_text);
    free(res->body);
    memset(res, 0, sizeof(*res));
}

const char *cw_http_find_header(const cw_http_header_t *headers, size_t num_headers, const char *name)
{
    size_t name_len = strlen(name);
    for (size_t i = 0; i != num_headers; ++i) {
        if (cw_memeq_ci(headers[i].name, strlen(headers[i].name), name, name_len)) {
            return headers[i].value;
        }
    }
    return NULL;
}

/* ---- Retry-After ---- */

static int parse_digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i != n; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* days_from_civil returns the days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* parse_imf_fixdate parses "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110's preferred form) into Unix ms. */
static int parse_imf_fixdate(const char *s, size_t len, int64_t *out_ms)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    static const char days[] = "MonTueWedThuFriSatSun";
    int day, year, hour, min, sec, month = -1;

    while (len != 0 && (*s == ' ' || *s == '\t')) {
        ++s;
        --len;
    }
    while (len != 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
        --len;
    }
    /* "Www, DD Mmm YYYY HH:MM:SS GMT" is exactly 29 bytes */
    if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
        s[25] != ' ' || memcmp(s + 26, "GMT", 3) != 0) {
        return -1;
    }
    int day_ok = 0;
    for (size_t i = 0; i != 7; ++i) {
        if (memcmp(s, days + 3 * i, 3) == 0) {
            day_ok = 1;
        }
    }
    for (int i = 0; i != 12; ++i) {
        if (memcmp(s + 8, months + 3 * i, 3) == 0) {
            month = i + 1;
        }
    }
    if (!day_ok || month < 0 || parse_digits(s + 5, 2, &day) != 0 || parse_digits(s + 12, 4, &year) != 0 ||
        parse_digits(s + 17, 2, &hour) != 0 || parse_digits(s + 20, 2, &min) != 0 || parse_digits(s + 23, 2, &sec) != 0) {
        return -1;
    }
    if (day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) {
        return -1;
    }
    int64_t secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
    *out_ms = secs * 1000;
    return 0;
}

int64_t cw_http_retry_after_ms(const char *value, int64_t now_wall_ms)
{
    if (value == NULL) {
        return -1;
    }
    size_t len = strlen(value);
    uint64_t secs;
    if (cw_parse_u64(value, len, 0, MAX_DELTA_SECONDS, &secs) == 0) {
        return (int64_t)secs * 1000;
    }
    int64_t at_ms;
    if (parse_imf_fixdate(value, len, &at_ms) != 0) {
        return -1;
    }
    return at_ms > now_wall_ms ? at_ms - now_wall_ms : 0;
}

const char *cw_http_version(void)
{
    return curl_version();
}
