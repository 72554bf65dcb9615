/*
 * store_s3.c: Amazon S3 and S3-compatible stores (R2, MinIO, ...), SigV4-signed.
 *
 *   create  PUT    <root><name>  If-None-Match: *   → 200, or 412 when it exists (409: a concurrent
 *                                                     conditional write; retried)
 *   get     GET    <root><name>                      → 200, 404
 *   delete  DELETE <root><name>                      → 204 (S3 answers 204 for a missing key too)
 *   list    GET    ?list-type=2&prefix=…&continuation-token=…   → ListBucketResult pages
 *
 * s3://bucket/prefix with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optional
 * AWS_SESSION_TOKEN, AWS_REGION (else AWS_DEFAULT_REGION, else us-east-1),
 * AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL for R2/MinIO. Requests go
 * virtual-hosted (bucket.host) unless S3_FORCE_PATH_STYLE=1, the endpoint is an
 * IP address or localhost, or the bucket name holds a '.' (TLS names cannot
 * match it): then path-style (host/bucket).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/mem.h>
#include "cw/util.h"
#include "sigv4.h"
#include "store.h"
#include "store_cloud.h"

typedef struct st_s3_store_t {
    cw_cloud_store_t super;
    char *origin;    /* "http(s)://authority" the requests go to; never NULL */
    char *authority; /* host[:port], signed as the Host header; never NULL */
    char *base_path; /* "" (virtual-hosted) or "/bucket", after any path of the endpoint; never NULL */
    char *access_key;
    char *secret_key;
    char *session_token; /* may be NULL */
    char *region;
} s3_store_t;

static void s3_send(cw_cloud_op_t *op)
{
    s3_store_t *s3 = (s3_store_t *)op->store;
    cw_buf_t path = CW_BUF_INIT, query = CW_BUF_INIT, url = CW_BUF_INIT, auth = CW_BUF_INIT;
    char payload_hash[65], amz_date[17], host_header[300], date_header[32], sha_header[96];
    cw_buf_t token_header = CW_BUF_INIT;
    const char *headers[8];
    size_t num_headers = 0;
    cw_http_request_t req = {.method = "GET"};

    cw_buf_appends(&path, s3->base_path);
    if (op->op == CW_STORE_OP_LIST) {
        if (path.len == 0) {
            cw_buf_appends(&path, "/");
        }
        /* parameters sorted by name, as the canonical query wants; the URL carries the same string */
        if (op->marker != NULL) {
            cw_buf_appends(&query, "continuation-token=");
            cw_cloud_uri_encode(&query, op->marker, 0);
            cw_buf_appends(&query, "&");
        }
        cw_buf_appendf(&query, "list-type=2&max-keys=%zu&prefix=", cw_cloud_page_size(op));
        cw_cloud_uri_encode(&query, op->key, 0);
    } else {
        cw_buf_appends(&path, "/");
        cw_cloud_uri_encode(&path, op->key, 1);
    }
    if (op->op == CW_STORE_OP_CREATE) {
        req.method = "PUT";
        req.body = op->body != NULL ? op->body : "";
        req.body_len = op->body_len;
        req.retry_on_409 = 1; /* ConditionalRequestConflict: another conditional write raced ours */
    } else if (op->op == CW_STORE_OP_DELETE) {
        req.method = "DELETE";
    }

    cw_sigv4_payload_hash(payload_hash, req.body, req.body_len);
    cw_sigv4_amz_date(amz_date, cw_wall_ms());
    snprintf(host_header, sizeof(host_header), "Host: %s", s3->authority);
    snprintf(date_header, sizeof(date_header), "x-amz-date: %s", amz_date);
    snprintf(sha_header, sizeof(sha_header), "x-amz-content-sha256: %s", payload_hash);
    headers[num_headers++] = host_header; /* signed only: curl sends the same Host from the URL */
    headers[num_headers++] = date_header;
    headers[num_headers++] = sha_header;
    if (s3->session_token != NULL) {
        cw_buf_appendf(&token_header, "x-amz-security-token: %s", s3->session_token);
        headers[num_headers++] = token_header.base;
    }
    if (op->op == CW_STORE_OP_CREATE) {
        headers[num_headers++] = "If-None-Match: *";
        headers[num_headers++] = "Content-Type: application/octet-stream";
    }
    cw_sigv4_creds_t creds = {.access_key = s3->access_key, .secret_key = s3->secret_key, .region = s3->region, .service = "s3"};
    cw_buf_appends(&auth, "Authorization: ");
    if (cw_sigv4_sign(&creds, req.method, path.base, query.base != NULL ? query.base : "", headers, num_headers, amz_date,
                      payload_hash, &auth, NULL) != 0) {
        cw_cloud_finish(op, CW_STORE_DENIED, "s3 %s: could not sign the request", cw_cloud_op_name(op));
        goto Exit;
    }
    headers[num_headers++] = auth.base;
    cw_buf_appendf(&url, "%s%s%s%s", s3->origin, path.base, query.len != 0 ? "?" : "", query.base != NULL ? query.base : "");
    req.url = url.base;
    req.headers = headers + 1; /* all but Host */
    req.num_headers = num_headers - 1;
    cw_cloud_submit(op, &req);

Exit:
    if (token_header.base != NULL) {
        OPENSSL_cleanse(token_header.base, token_header.len);
    }
    cw_buf_free(&token_header);
    cw_buf_free(&auth);
    cw_buf_free(&url);
    cw_buf_free(&path);
    cw_buf_free(&query);
}

static void free_secret(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

static void s3_destroy(cw_store_t *store)
{
    s3_store_t *s3 = (s3_store_t *)store;
    cw_cloud_store_dispose(&s3->super);
    free(s3->origin);
    free(s3->authority);
    free(s3->base_path);
    free(s3->access_key);
    free_secret(s3->secret_key);
    free_secret(s3->session_token);
    free(s3->region);
    free(s3);
}

static const cw_cloud_hooks_t s3_hooks = {
    .send = s3_send,
    .on_auth_failure = NULL,
    .conflict_is_exists = 0,
};

static const cw_store_backend_t s3_backend = {
    .name = "s3",
    .create = cw_cloud_create,
    .get = cw_cloud_get,
    .del = cw_cloud_delete,
    .list = cw_cloud_list,
    .destroy = s3_destroy,
};

static int valid_bucket(const char *s, size_t len)
{
    if (len < 3 || len > 63) {
        return 0;
    }
    for (size_t i = 0; i != len; ++i) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
            return 0;
        }
    }
    return 1;
}

static int valid_header_value(const char *s)
{
    for (; *s != '\0'; ++s) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f) {
            return 0;
        }
    }
    return 1;
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* is_ip_or_localhost reports whether an authority's host is an IP literal or localhost (no virtual hosts there). */
static int is_ip_or_localhost(const char *authority)
{
    if (authority[0] == '[') {
        return 1;
    }
    size_t host_len = strcspn(authority, ":");
    if (cw_memeq_ci(authority, host_len, "localhost", 9)) {
        return 1;
    }
    for (size_t i = 0; i != host_len; ++i) {
        if (!((authority[i] >= '0' && authority[i] <= '9') || authority[i] == '.')) {
            return 0;
        }
    }
    return 1;
}

cw_store_t *cw_store_s3_open(const char *url, cw_http_t *http, char *err, size_t err_size)
{
    s3_store_t *s3 = cw_calloc(1, sizeof(*s3));
    char *root = NULL, *endpoint = NULL, *authority = NULL;
    int ok = 0;

    s3->super.super.backend = &s3_backend;
    if (strncasecmp(url, "s3://", 5) != 0) {
        snprintf(err, err_size, "s3 store URL must be s3://bucket/prefix");
        goto Exit;
    }
    const char *bucket = url + 5;
    size_t bucket_len = strcspn(bucket, "/");
    if (!valid_bucket(bucket, bucket_len)) {
        snprintf(err, err_size, "s3 store URL: bad bucket name (3-63 of a-z 0-9 - .)");
        goto Exit;
    }
    const char *prefix = bucket[bucket_len] == '/' ? bucket + bucket_len + 1 : bucket + bucket_len;
    if ((root = cw_cloud_make_root(prefix, strlen(prefix), err, err_size)) == NULL) {
        goto Exit;
    }

    const char *access_key = env_nonempty("AWS_ACCESS_KEY_ID"), *secret_key = env_nonempty("AWS_SECRET_ACCESS_KEY");
    const char *session_token = env_nonempty("AWS_SESSION_TOKEN");
    if (access_key == NULL || secret_key == NULL) {
        snprintf(err, err_size, "s3 store needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
        goto Exit;
    }
    if (!valid_header_value(access_key) || strchr(access_key, '/') != NULL || strchr(access_key, ' ') != NULL ||
        (session_token != NULL && !valid_header_value(session_token))) {
        snprintf(err, err_size, "AWS_ACCESS_KEY_ID or AWS_SESSION_TOKEN holds characters a header cannot carry");
        goto Exit;
    }
    const char *region = env_nonempty("AWS_REGION");
    if (region == NULL) {
        region = env_nonempty("AWS_DEFAULT_REGION");
    }
    if (region == NULL) {
        region = "us-east-1";
    }
    for (const char *c = region; *c != '\0'; ++c) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-')) {
            snprintf(err, err_size, "AWS_REGION is not a region name");
            goto Exit;
        }
    }

    const char *custom = env_nonempty("AWS_ENDPOINT_URL_S3");
    if (custom == NULL) {
        custom = env_nonempty("AWS_ENDPOINT_URL");
    }
    if (custom != NULL) {
        if ((endpoint = cw_cloud_parse_endpoint(custom, &authority, err, err_size)) == NULL) {
            goto Exit;
        }
    } else {
        cw_buf_t b = CW_BUF_INIT;
        cw_buf_appendf(&b, "https://s3.%s.amazonaws.com", region);
        endpoint = cw_buf_release(&b, NULL);
        b = (cw_buf_t)CW_BUF_INIT;
        cw_buf_appendf(&b, "s3.%s.amazonaws.com", region);
        authority = cw_buf_release(&b, NULL);
    }
    const char *force = getenv("S3_FORCE_PATH_STYLE");
    int path_style = (force != NULL && (strcmp(force, "1") == 0 || strcasecmp(force, "true") == 0)) ||
                     is_ip_or_localhost(authority) || memchr(bucket, '.', bucket_len) != NULL;
    const char *scheme_end = strstr(endpoint, "://") + 3;
    const char *endpoint_path = scheme_end + strcspn(scheme_end, "/");
    size_t scheme_len = (size_t)(scheme_end - endpoint);
    cw_buf_t b = CW_BUF_INIT;
    if (path_style) {
        s3->authority = cw_strdup(authority);
        cw_buf_appendf(&b, "%.*s%s", (int)(endpoint_path - endpoint), endpoint, "");
        s3->origin = cw_buf_release(&b, NULL);
        b = (cw_buf_t)CW_BUF_INIT;
        cw_buf_appendf(&b, "%s/%.*s", endpoint_path, (int)bucket_len, bucket);
        s3->base_path = cw_buf_release(&b, NULL);
    } else {
        cw_buf_appendf(&b, "%.*s.%s", (int)bucket_len, bucket, authority);
        s3->authority = cw_buf_release(&b, NULL);
        b = (cw_buf_t)CW_BUF_INIT;
        cw_buf_appendf(&b, "%.*s%s", (int)scheme_len, endpoint, s3->authority);
        s3->origin = cw_buf_release(&b, NULL);
        s3->base_path = cw_strdup(endpoint_path);
    }
    s3->access_key = cw_strdup(access_key);
    s3->secret_key = cw_strdup(secret_key);
    s3->session_token = session_token != NULL ? cw_strdup(session_token) : NULL;
    s3->region = cw_strdup(region);
    cw_cloud_store_init(&s3->super, &s3_backend, &s3_hooks, http, url, root);
    ok = 1;

Exit:
    free(root);
    free(endpoint);
    free(authority);
    if (!ok) {
        s3_destroy(&s3->super.super);
        return NULL;
    }
    return &s3->super.super;
}
