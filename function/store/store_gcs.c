/*
 * store_gcs.c: Google Cloud Storage through its XML API.
 *
 *   create  PUT    /<bucket>/<root><name>  x-goog-if-generation-match: 0  → 200, or 412 when it exists
 *   get     GET    /<bucket>/<root><name>                                 → 200, 404
 *   delete  DELETE /<bucket>/<root><name>                                 → 204, 404
 *   list    GET    /<bucket>?list-type=2&prefix=…&continuation-token=…    → ListBucketResult pages
 *
 * Endpoint: https://storage.googleapis.com; GCS_ENDPOINT_URL replaces it (a
 * private endpoint) keeping the usual credentials; STORAGE_EMULATOR_HOST, as
 * Google's client libraries read it, points at an emulator, which is sent a token
 * only when GOOGLE_OAUTH_ACCESS_TOKEN is set.
 *
 * Credentials: GOOGLE_OAUTH_ACCESS_TOKEN when set, else the metadata server's
 * token for the default service account. That token is cached for the whole
 * process (one store serves every worker thread, so the cache is under a
 * mutex) and fetched again once no more than five minutes of it remain.
 * Operations that need a token while one is being fetched queue behind that
 * one fetch instead of each starting their own, and resume on their own loops.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>
#include <openssl/mem.h>
#include "cw/util.h"
#include "store.h"
#include "store_cloud.h"

#define GCS_DEFAULT_ENDPOINT "https://storage.googleapis.com"
#define METADATA_DEFAULT_HOST "169.254.169.254" /* metadata.google.internal, without a DNS lookup */
#define METADATA_TOKEN_PATH "/computeMetadata/v1/instance/service-accounts/default/token"
#define TOKEN_REFRESH_MARGIN_MS (300 * 1000)
#define TOKEN_MAX_LIFETIME_S (24 * 3600)
#define MAX_TOKEN_LEN 4096

typedef struct st_gcs_store_t {
    cw_cloud_store_t super;
    char *endpoint;            /* "http(s)://host[:port]", never NULL */
    char *bucket;              /* never NULL */
    char *static_token;        /* GOOGLE_OAUTH_ACCESS_TOKEN; NULL when unset */
    char *metadata_url;        /* NULL: no token at all (an emulator without GOOGLE_OAUTH_ACCESS_TOKEN) or a static one */
    pthread_mutex_t mutex;     /* guards the fields below */
    char *token;               /* the metadata server's; NULL until fetched or after a 401 */
    uint64_t token_expires_at; /* cw_now_ms() clock */
    uint64_t fetch_started_at;
    int fetching;
    cw_cloud_op_t *waiters; /* ops waiting for the fetch in flight, in arrival order */
    cw_cloud_op_t **waiters_tail;
} gcs_store_t;

static int valid_token(const char *s, size_t len)
{
    if (len == 0 || len > MAX_TOKEN_LEN) {
        return 0;
    }
    for (size_t i = 0; i != len; ++i) {
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* send_with builds |op|'s request with |token| (NULL: none) and submits it. */
static void send_with(cw_cloud_op_t *op, const char *token)
{
    gcs_store_t *gs = (gcs_store_t *)op->store;
    cw_buf_t url = CW_BUF_INIT, auth = CW_BUF_INIT;
    const char *headers[3];
    size_t num_headers = 0;
    cw_http_request_t req = {.url = NULL};

    cw_buf_appendf(&url, "%s/%s", gs->endpoint, gs->bucket);
    if (op->op == CW_STORE_OP_LIST) {
        cw_buf_appends(&url, "?list-type=2&prefix=");
        cw_cloud_uri_encode(&url, op->key, 0);
        cw_buf_appendf(&url, "&max-keys=%zu", cw_cloud_page_size(op));
        if (op->marker != NULL) {
            cw_buf_appends(&url, "&continuation-token=");
            cw_cloud_uri_encode(&url, op->marker, 0);
        }
    } else {
        cw_buf_appends(&url, "/");
        cw_cloud_uri_encode(&url, op->key, 1);
    }
    if (token != NULL) {
        cw_buf_appendf(&auth, "Authorization: Bearer %s", token);
        headers[num_headers++] = auth.base;
    }
    switch (op->op) {
    case CW_STORE_OP_CREATE:
        req.method = "PUT";
        headers[num_headers++] = "x-goog-if-generation-match: 0";
        headers[num_headers++] = "Content-Type: application/octet-stream";
        req.body = op->body != NULL ? op->body : "";
        req.body_len = op->body_len;
        break;
    case CW_STORE_OP_DELETE:
        req.method = "DELETE";
        break;
    default:
        req.method = "GET";
        break;
    }
    req.url = url.base;
    req.headers = headers;
    req.num_headers = num_headers;
    cw_cloud_submit(op, &req);
    if (auth.base != NULL) {
        OPENSSL_cleanse(auth.base, auth.len);
    }
    cw_buf_free(&auth);
    cw_buf_free(&url);
}

/* on_token_ready runs on the op's loop once the fetch it waited for ended. */
static void on_token_ready(cw_cloud_op_t *op)
{
    if (op->credential != NULL) {
        send_with(op, op->credential);
        return;
    }
    char detail[sizeof(op->detail)];
    memcpy(detail, op->detail, sizeof(detail));
    cw_cloud_finish(op, op->deferred_status, "%s", detail);
}

/* parse_token reads {"access_token": "...", "expires_in": N}. Returns 0 or -1. */
static int parse_token(const char *body, size_t len, char **out_token, uint64_t *out_expires_in)
{
    cJSON *json = cJSON_ParseWithLength(body, len);
    int ret = -1;
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(json, "access_token");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(json, "expires_in");
    if (!cJSON_IsString(tok) || !valid_token(tok->valuestring, strlen(tok->valuestring))) {
        goto Exit;
    }
    double seconds = cJSON_IsNumber(exp) ? exp->valuedouble : 0;
    if (!(seconds >= 0)) {
        seconds = 0;
    }
    *out_expires_in = seconds > TOKEN_MAX_LIFETIME_S ? TOKEN_MAX_LIFETIME_S : (uint64_t)seconds;
    *out_token = cw_strdup(tok->valuestring);
    ret = 0;
Exit:
    if (json != NULL) {
        if (cJSON_IsString(tok)) {
            OPENSSL_cleanse(tok->valuestring, strlen(tok->valuestring));
        }
        cJSON_Delete(json);
    }
    return ret;
}

/* on_token runs on the HTTP client's thread: stores the token and hands the
 * outcome to every waiting op, each resumed on its own loop. */
static void on_token(const cw_http_response_t *res, void *data)
{
    gcs_store_t *gs = data;
    cw_store_status_t status = CW_STORE_OK;
    char detail[160] = "";
    char *token = NULL;
    uint64_t expires_in = 0;

    if (res->error != CW_HTTP_OK) {
        status = CW_STORE_UNAVAILABLE;
        snprintf(detail, sizeof(detail), "gcs token: metadata server: %s (%u attempts)", res->error_text, res->attempts);
    } else if (res->status != 200) {
        /* no service account, or the metadata server refuses us: retrying will not help */
        status = res->status == 401 || res->status == 403 || res->status == 404 ? CW_STORE_DENIED : CW_STORE_UNAVAILABLE;
        snprintf(detail, sizeof(detail), "gcs token: metadata server answered HTTP %d (%u attempts)", res->status, res->attempts);
    } else if (parse_token(res->body, res->body_len, &token, &expires_in) != 0) {
        status = CW_STORE_UNAVAILABLE;
        snprintf(detail, sizeof(detail), "gcs token: the metadata server's answer has no usable access_token");
    }

    pthread_mutex_lock(&gs->mutex);
    if (token != NULL) {
        if (gs->token != NULL) {
            OPENSSL_cleanse(gs->token, strlen(gs->token));
            free(gs->token);
        }
        gs->token = cw_strdup(token);
        gs->token_expires_at = gs->fetch_started_at + expires_in * 1000;
    }
    cw_cloud_op_t *waiters = gs->waiters;
    gs->waiters = NULL;
    gs->waiters_tail = &gs->waiters;
    gs->fetching = 0;
    pthread_mutex_unlock(&gs->mutex);
    /* from here on |gs| is not touched: the last op may complete and the store be closed */

    while (waiters != NULL) {
        cw_cloud_op_t *op = waiters;
        waiters = op->next_waiter;
        op->next_waiter = NULL;
        free(op->credential);
        op->credential = token != NULL ? cw_strdup(token) : NULL;
        op->deferred_status = status;
        memcpy(op->detail, detail, sizeof(detail) < sizeof(op->detail) ? sizeof(detail) : sizeof(op->detail));
        cw_cloud_resume(op, on_token_ready);
    }
    if (token != NULL) {
        OPENSSL_cleanse(token, strlen(token));
        free(token);
    }
}

static void fetch_token(gcs_store_t *gs)
{
    const char *headers[] = {"Metadata-Flavor: Google"};
    cw_http_request_t req = {
        .method = "GET",
        .url = gs->metadata_url,
        .headers = headers,
        .num_headers = 1,
        .timeout_ms = 2000,
        .max_response_bytes = 64 * 1024,
        .max_attempts = 4,
        .deadline_ms = 5000,
        .backoff_base_ms = 100,
        .backoff_max_ms = 1000,
    };
    cw_http_submit(gs->super.super.http, NULL, &req, on_token, gs);
}

static void gcs_send(cw_cloud_op_t *op)
{
    gcs_store_t *gs = (gcs_store_t *)op->store;
    if (gs->metadata_url == NULL) {
        send_with(op, gs->static_token);
        return;
    }
    pthread_mutex_lock(&gs->mutex);
    uint64_t now = cw_now_ms();
    if (gs->token != NULL && gs->token_expires_at > now + TOKEN_REFRESH_MARGIN_MS) {
        free(op->credential);
        op->credential = cw_strdup(gs->token);
        pthread_mutex_unlock(&gs->mutex);
        send_with(op, op->credential);
        return;
    }
    op->next_waiter = NULL;
    *gs->waiters_tail = op;
    gs->waiters_tail = &op->next_waiter;
    int start = !gs->fetching;
    if (start) {
        gs->fetching = 1;
        gs->fetch_started_at = now; /* the token's lifetime counts from before the request: err early */
    }
    pthread_mutex_unlock(&gs->mutex);
    if (start) {
        fetch_token(gs);
    }
}

/* gcs_on_auth_failure drops the cached token after a 401 (revoked, or the clock was off) so the next op fetches anew. */
static void gcs_on_auth_failure(cw_cloud_op_t *op)
{
    gcs_store_t *gs = (gcs_store_t *)op->store;
    if (gs->metadata_url == NULL || op->credential == NULL) {
        return;
    }
    pthread_mutex_lock(&gs->mutex);
    if (gs->token != NULL && strcmp(gs->token, op->credential) == 0) {
        OPENSSL_cleanse(gs->token, strlen(gs->token));
        free(gs->token);
        gs->token = NULL;
    }
    pthread_mutex_unlock(&gs->mutex);
}

static void gcs_destroy(cw_store_t *store)
{
    gcs_store_t *gs = (gcs_store_t *)store;
    cw_cloud_store_dispose(&gs->super);
    free(gs->endpoint);
    free(gs->bucket);
    if (gs->static_token != NULL) {
        OPENSSL_cleanse(gs->static_token, strlen(gs->static_token));
        free(gs->static_token);
    }
    if (gs->token != NULL) {
        OPENSSL_cleanse(gs->token, strlen(gs->token));
        free(gs->token);
    }
    free(gs->metadata_url);
    pthread_mutex_destroy(&gs->mutex);
    free(gs);
}

static const cw_cloud_hooks_t gcs_hooks = {
    .send = gcs_send,
    .on_auth_failure = gcs_on_auth_failure,
    .conflict_is_exists = 0,
};

static const cw_store_backend_t gcs_backend = {
    .name = "gcs",
    .create = cw_cloud_create,
    .get = cw_cloud_get,
    .del = cw_cloud_delete,
    .list = cw_cloud_list,
    .destroy = gcs_destroy,
};

static int valid_bucket(const char *s, size_t len)
{
    if (len < 3 || len > 222) {
        return 0;
    }
    for (size_t i = 0; i != len; ++i) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
            return 0;
        }
    }
    return 1;
}

/* env_nonempty returns the variable's value, or NULL when unset or empty. */
static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

cw_store_t *cw_store_gcs_open(const char *url, cw_http_t *http, char *err, size_t err_size)
{
    gcs_store_t *gs = NULL;
    char *root = NULL, *endpoint = NULL;
    cw_buf_t tmp = CW_BUF_INIT;

    if (strncasecmp(url, "gs://", 5) != 0) {
        snprintf(err, err_size, "gcs store URL must be gs://bucket/prefix");
        goto Exit;
    }
    const char *bucket = url + 5;
    size_t bucket_len = strcspn(bucket, "/");
    if (!valid_bucket(bucket, bucket_len)) {
        snprintf(err, err_size, "gcs store URL: bad bucket name (3-222 of a-z 0-9 - _ .)");
        goto Exit;
    }
    const char *prefix = bucket[bucket_len] == '/' ? bucket + bucket_len + 1 : bucket + bucket_len;
    if ((root = cw_cloud_make_root(prefix, strlen(prefix), err, err_size)) == NULL) {
        goto Exit;
    }

    const char *emulator = env_nonempty("STORAGE_EMULATOR_HOST"), *custom = env_nonempty("GCS_ENDPOINT_URL");
    const char *static_token = env_nonempty("GOOGLE_OAUTH_ACCESS_TOKEN");
    if (emulator != NULL) {
        if (strstr(emulator, "://") == NULL) {
            cw_buf_appends(&tmp, "http://");
        }
        cw_buf_appends(&tmp, emulator);
        if ((endpoint = cw_cloud_parse_endpoint(tmp.base, NULL, err, err_size)) == NULL) {
            goto Exit;
        }
    } else if (custom != NULL) {
        if ((endpoint = cw_cloud_parse_endpoint(custom, NULL, err, err_size)) == NULL) {
            goto Exit;
        }
    } else {
        endpoint = cw_strdup(GCS_DEFAULT_ENDPOINT);
    }
    if (static_token != NULL && !valid_token(static_token, strlen(static_token))) {
        snprintf(err, err_size, "GOOGLE_OAUTH_ACCESS_TOKEN holds spaces or control characters");
        goto Exit;
    }

    gs = cw_calloc(1, sizeof(*gs));
    cw_cloud_store_init(&gs->super, &gcs_backend, &gcs_hooks, http, url, root);
    gs->endpoint = endpoint;
    endpoint = NULL;
    gs->bucket = cw_strndup(bucket, bucket_len);
    gs->static_token = static_token != NULL ? cw_strdup(static_token) : NULL;
    if (static_token == NULL && emulator == NULL) {
        const char *host = env_nonempty("GCE_METADATA_HOST");
        cw_buf_t m = CW_BUF_INIT;
        cw_buf_appendf(&m, "%s%s%s", host != NULL && strstr(host, "://") != NULL ? "" : "http://",
                       host != NULL ? host : METADATA_DEFAULT_HOST, METADATA_TOKEN_PATH);
        gs->metadata_url = cw_buf_release(&m, NULL);
    }
    pthread_mutex_init(&gs->mutex, NULL);
    gs->waiters_tail = &gs->waiters;

Exit:
    free(root);
    free(endpoint);
    cw_buf_free(&tmp);
    return gs != NULL ? &gs->super.super : NULL;
}
