/*
 * store_azure.c: Azure Blob Storage (block blobs).
 *
 *   create  PUT    <container>/<root><name>  x-ms-blob-type: BlockBlob, If-None-Match: *  → 201, or 409/412 when it exists
 *   get     GET    <container>/<root><name>                                             → 200, 404
 *   delete  DELETE <container>/<root><name>                                             → 202, 404
 *   list    GET    <container>?restype=container&comp=list&prefix=…&marker=…            → EnumerationResults pages
 *
 * URLs and credentials:
 *   azblob://<account>/<container>[/<prefix>] with AZURE_STORAGE_CONNECTION_STRING
 *     (AccountName/AccountKey/BlobEndpoint/DefaultEndpointsProtocol/EndpointSuffix,
 *     SharedAccessSignature, or UseDevelopmentStorage=true for Azurite), else
 *     AZURE_STORAGE_KEY (and optionally AZURE_STORAGE_ACCOUNT, which must agree);
 *   https://<account>.blob.core.windows.net/<container>[/<prefix>]?<SAS>, or without
 *     a SAS with the credentials above.
 * Requests are signed with Shared Key (azure_sig.c) or carry the SAS query.
 *
 * The container must exist; AZURE_CREATE_CONTAINER=1 creates it at open (for
 * tests and development against Azurite).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/mem.h>
#include "azure_sig.h"
#include "cw/util.h"
#include "store.h"
#include "store_cloud.h"

#define AZURE_VERSION "2021-08-06"

typedef struct st_azure_store_t {
    cw_cloud_store_t super;
    char *endpoint;      /* "http(s)://host[:port][/path]" without a trailing '/'; never NULL */
    char *endpoint_path; /* the endpoint's path ("" or e.g. "/devstoreaccount1" for Azurite); never NULL */
    char *account;       /* signs requests; NULL with a SAS */
    uint8_t *key;        /* NULL with a SAS */
    size_t key_len;
    char *sas;       /* query without '?'; NULL with a key */
    char *container; /* never NULL */
} azure_store_t;

/* azure_request is one request's pieces, signed or carrying the SAS. */
typedef struct st_azure_request_t {
    cw_buf_t url;
    cw_buf_t auth;
    char date_header[48];
    const char *headers[8];
    size_t num_headers;
} azure_request_t;

/* build_request fills |r| for |method| on |path| (after the container, already encoded; "" for the
 * container itself) with |query| ("" for none; the SAS is appended). |extra| headers are sent and signed.
 * Returns 0, or -1 when signing failed. */
static int build_request(azure_store_t *az, azure_request_t *r, const char *method, const char *path, const char *query,
                         const char *const *extra, size_t num_extra, size_t content_length)
{
    cw_buf_t url_path = CW_BUF_INIT, full_query = CW_BUF_INIT;
    int ret = -1;

    cw_buf_appendf(&url_path, "%s/%s%s%s", az->endpoint_path, az->container, path[0] != '\0' ? "/" : "", path);
    cw_buf_appends(&full_query, query);
    if (az->sas != NULL) {
        cw_buf_appendf(&full_query, "%s%s", full_query.len != 0 ? "&" : "", az->sas);
    }
    /* endpoint_path is the tail of endpoint: the URL is the endpoint's origin plus url_path */
    size_t origin_len = strlen(az->endpoint) - strlen(az->endpoint_path);
    cw_buf_appendf(&r->url, "%.*s%s%s%s", (int)origin_len, az->endpoint, url_path.base, full_query.len != 0 ? "?" : "",
                   full_query.base != NULL ? full_query.base : "");

    char date[30];
    cw_azure_rfc1123_date(date, cw_wall_ms());
    snprintf(r->date_header, sizeof(r->date_header), "x-ms-date: %s", date);
    r->headers[r->num_headers++] = r->date_header;
    r->headers[r->num_headers++] = "x-ms-version: " AZURE_VERSION;
    for (size_t i = 0; i != num_extra; ++i) {
        r->headers[r->num_headers++] = extra[i];
    }
    if (az->key != NULL) {
        /* curl sends Content-Length itself for a PUT; sign the value it will send */
        char length_header[48];
        const char *to_sign[CW_ARRAY_SIZE(r->headers) + 1];
        memcpy(to_sign, r->headers, r->num_headers * sizeof(to_sign[0]));
        snprintf(length_header, sizeof(length_header), "Content-Length: %zu", content_length);
        to_sign[r->num_headers] = length_header;
        cw_buf_appends(&r->auth, "Authorization: ");
        if (cw_azure_sign(az->key, az->key_len, az->account, method, url_path.base, full_query.base, to_sign, r->num_headers + 1,
                          &r->auth) != 0) {
            goto Exit;
        }
        r->headers[r->num_headers++] = r->auth.base;
    }
    ret = 0;
Exit:
    cw_buf_free(&url_path);
    cw_buf_free(&full_query);
    return ret;
}

static void request_dispose(azure_request_t *r)
{
    cw_buf_free(&r->url);
    cw_buf_free(&r->auth);
}

static void azure_send(cw_cloud_op_t *op)
{
    azure_store_t *az = (azure_store_t *)op->store;
    azure_request_t r = {.url = CW_BUF_INIT, .auth = CW_BUF_INIT};
    cw_buf_t path = CW_BUF_INIT, query = CW_BUF_INIT;
    cw_http_request_t req = {.method = "GET"};
    const char *extra[3];
    size_t num_extra = 0;

    if (op->op == CW_STORE_OP_LIST) {
        cw_buf_appends(&query, "restype=container&comp=list&prefix=");
        cw_cloud_uri_encode(&query, op->key, 0);
        cw_buf_appendf(&query, "&maxresults=%zu", cw_cloud_page_size(op));
        if (op->marker != NULL) {
            cw_buf_appends(&query, "&marker=");
            cw_cloud_uri_encode(&query, op->marker, 0);
        }
    } else {
        cw_cloud_uri_encode(&path, op->key, 1);
    }
    if (op->op == CW_STORE_OP_CREATE) {
        req.method = "PUT";
        extra[num_extra++] = "x-ms-blob-type: BlockBlob";
        extra[num_extra++] = "If-None-Match: *";
        extra[num_extra++] = "Content-Type: application/octet-stream";
        req.body = op->body != NULL ? op->body : "";
        req.body_len = op->body_len;
    } else if (op->op == CW_STORE_OP_DELETE) {
        req.method = "DELETE";
    }
    if (build_request(az, &r, req.method, path.base != NULL ? path.base : "", query.base != NULL ? query.base : "", extra,
                      num_extra, req.body_len) != 0) {
        cw_cloud_finish(op, CW_STORE_DENIED, "azure %s: could not sign the request", cw_cloud_op_name(op));
        goto Exit;
    }
    req.url = r.url.base;
    req.headers = r.headers;
    req.num_headers = r.num_headers;
    cw_cloud_submit(op, &req);
Exit:
    request_dispose(&r);
    cw_buf_free(&path);
    cw_buf_free(&query);
}

static void azure_destroy(cw_store_t *store)
{
    azure_store_t *az = (azure_store_t *)store;
    cw_cloud_store_dispose(&az->super);
    free(az->endpoint);
    free(az->endpoint_path);
    free(az->account);
    if (az->key != NULL) {
        OPENSSL_cleanse(az->key, az->key_len);
        free(az->key);
    }
    if (az->sas != NULL) {
        OPENSSL_cleanse(az->sas, strlen(az->sas));
        free(az->sas);
    }
    free(az->container);
    free(az);
}

static const cw_cloud_hooks_t azure_hooks = {
    .send = azure_send,
    .on_auth_failure = NULL,
    .conflict_is_exists = 1,
};

static const cw_store_backend_t azure_backend = {
    .name = "azure",
    .create = cw_cloud_create,
    .get = cw_cloud_get,
    .del = cw_cloud_delete,
    .list = cw_cloud_list,
    .destroy = azure_destroy,
};

static int valid_account(const char *s, size_t len)
{
    if (len < 3 || len > 24) {
        return 0;
    }
    for (size_t i = 0; i != len; ++i) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))) {
            return 0;
        }
    }
    return 1;
}

static int valid_container(const char *s, size_t len)
{
    if (len < 3 || len > 63 || s[0] == '-' || s[len - 1] == '-') {
        return 0;
    }
    for (size_t i = 0; i != len; ++i) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-') ||
            (s[i] == '-' && i != 0 && s[i - 1] == '-')) {
            return 0;
        }
    }
    return 1;
}

static int valid_sas(const char *s)
{
    for (; *s != '\0'; ++s) {
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f || *s == '#') {
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

/* credentials_from_env fills |az|'s endpoint and key or SAS for |account| from the environment.
 * |endpoint| (may be NULL) is the URL's own endpoint, which wins over a connection string's. Returns 0 or -1. */
static int credentials_from_env(azure_store_t *az, const char *account, const char *endpoint, char *err, size_t err_size)
{
    const char *conn_str = env_nonempty("AZURE_STORAGE_CONNECTION_STRING");
    cw_azure_conn_t conn = {NULL};
    int ret = -1;

    if (conn_str != NULL) {
        if (cw_azure_conn_parse(conn_str, &conn, err, err_size) != 0) {
            goto Exit;
        }
        if (conn.account != NULL && strcmp(conn.account, account) != 0) {
            snprintf(err, err_size, "AZURE_STORAGE_CONNECTION_STRING is for another account than the store URL's");
            goto Exit;
        }
        az->endpoint = cw_strdup(endpoint != NULL ? endpoint : conn.blob_endpoint);
        if (conn.key != NULL) {
            az->key = conn.key;
            az->key_len = conn.key_len;
            conn.key = NULL;
        } else {
            az->sas = conn.sas;
            conn.sas = NULL;
        }
    } else {
        const char *key = env_nonempty("AZURE_STORAGE_KEY"), *env_account = env_nonempty("AZURE_STORAGE_ACCOUNT");
        if (key == NULL) {
            snprintf(err, err_size, "azure store needs AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY or a SAS in the URL");
            goto Exit;
        }
        if (env_account != NULL && strcmp(env_account, account) != 0) {
            snprintf(err, err_size, "AZURE_STORAGE_ACCOUNT differs from the store URL's account");
            goto Exit;
        }
        if (cw_azure_decode_key(key, &az->key, &az->key_len) != 0) {
            snprintf(err, err_size, "AZURE_STORAGE_KEY is not base64");
            goto Exit;
        }
        if (endpoint != NULL) {
            az->endpoint = cw_strdup(endpoint);
        } else {
            cw_buf_t b = CW_BUF_INIT;
            cw_buf_appendf(&b, "https://%s.blob.core.windows.net", account);
            az->endpoint = cw_buf_release(&b, NULL);
        }
    }
    ret = 0;
Exit:
    cw_azure_conn_dispose(&conn);
    return ret;
}

/* create_container makes the container (AZURE_CREATE_CONTAINER=1); "already exists" is fine. Blocking. Returns 0 or -1. */
static int create_container(azure_store_t *az, char *err, size_t err_size)
{
    azure_request_t r = {.url = CW_BUF_INIT, .auth = CW_BUF_INIT};
    cw_http_result_t res = {0};
    int ret = -1;
    if (build_request(az, &r, "PUT", "", "restype=container", NULL, 0, 0) != 0) {
        snprintf(err, err_size, "azure: could not sign the container request");
        goto Exit;
    }
    cw_http_request_t req = {.method = "PUT",
                             .url = r.url.base,
                             .headers = r.headers,
                             .num_headers = r.num_headers,
                             .body = "",
                             .body_len = 0,
                             .max_attempts = CW_CLOUD_MAX_ATTEMPTS,
                             .deadline_ms = CW_CLOUD_DEADLINE_MS,
                             .timeout_ms = CW_CLOUD_ATTEMPT_TIMEOUT_MS,
                             .backoff_base_ms = CW_CLOUD_BACKOFF_BASE_MS,
                             .backoff_max_ms = CW_CLOUD_BACKOFF_MAX_MS};
    if (cw_http_fetch(az->super.super.http, &req, &res) != CW_HTTP_OK) {
        snprintf(err, err_size, "azure: creating the container failed: %s", res.error_text != NULL ? res.error_text : "");
        goto Exit;
    }
    if (res.status != 201 && res.status != 409) {
        snprintf(err, err_size, "azure: creating the container answered HTTP %d", res.status);
        goto Exit;
    }
    ret = 0;
Exit:
    cw_http_result_free(&res);
    request_dispose(&r);
    return ret;
}

cw_store_t *cw_store_azure_open(const char *url, cw_http_t *http, char *err, size_t err_size)
{
    azure_store_t *az = cw_calloc(1, sizeof(*az));
    char *account = NULL, *root = NULL, *url_endpoint = NULL;
    const char *path;
    int ok = 0;

    if (strncasecmp(url, "azblob://", 9) == 0) {
        const char *acct = url + 9;
        size_t acct_len = strcspn(acct, "/?#");
        if (!valid_account(acct, acct_len)) {
            snprintf(err, err_size, "azure store URL: bad account name (3-24 of a-z 0-9)");
            goto Exit;
        }
        account = cw_strndup(acct, acct_len);
        path = acct + acct_len;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        const char *host = url + 8;
        size_t host_len = strcspn(host, "/?#"), label_len = strcspn(host, ".");
        if (label_len >= host_len || !valid_account(host, label_len)) {
            snprintf(err, err_size, "azure store URL: want https://ACCOUNT.blob.core.windows.net/container");
            goto Exit;
        }
        account = cw_strndup(host, label_len);
        cw_buf_t e = CW_BUF_INIT;
        cw_buf_appendf(&e, "https://%.*s", (int)host_len, host);
        url_endpoint = cw_cloud_parse_endpoint(e.base, NULL, err, err_size);
        cw_buf_free(&e);
        if (url_endpoint == NULL) {
            goto Exit;
        }
        path = host + host_len;
    } else {
        snprintf(
            err, err_size,
            "azure store URL must be azblob://account/container/prefix or https://ACCOUNT.blob.core.windows.net/container?SAS");
        goto Exit;
    }
    if (strchr(path, '#') != NULL) {
        snprintf(err, err_size, "azure store URL: no fragment allowed");
        goto Exit;
    }
    const char *query = strchr(path, '?');
    size_t path_len = query != NULL ? (size_t)(query - path) : strlen(path);
    if (path_len == 0 || path[0] != '/') {
        snprintf(err, err_size, "azure store URL names no container");
        goto Exit;
    }
    const char *container = path + 1;
    size_t container_len = strcspn(container, "/?");
    if (!valid_container(container, container_len)) {
        snprintf(err, err_size, "azure store URL: bad container name (3-63 of a-z 0-9 -)");
        goto Exit;
    }
    const char *prefix = container + container_len;
    if (*prefix == '/') {
        ++prefix;
    }
    size_t prefix_len = path_len - (size_t)(prefix - path);
    if ((root = cw_cloud_make_root(prefix, prefix_len, err, err_size)) == NULL) {
        goto Exit;
    }
    az->container = cw_strndup(container, container_len);

    if (query != NULL && query[1] != '\0') {
        if (url_endpoint == NULL) {
            snprintf(err, err_size, "azure store URL: a SAS goes with https://ACCOUNT.blob.core.windows.net/...");
            goto Exit;
        }
        if (!valid_sas(query + 1)) {
            snprintf(err, err_size, "azure store URL: the SAS holds spaces or control characters");
            goto Exit;
        }
        az->sas = cw_strdup(query + 1);
        az->endpoint = url_endpoint;
        url_endpoint = NULL;
    } else if (credentials_from_env(az, account, url_endpoint, err, err_size) != 0) {
        goto Exit;
    }
    /* re-parse: a connection string's BlobEndpoint is normalised here too */
    char *normal = cw_cloud_parse_endpoint(az->endpoint, NULL, err, err_size);
    if (normal == NULL) {
        goto Exit;
    }
    free(az->endpoint);
    az->endpoint = normal;
    const char *after_scheme = strstr(normal, "://") + 3;
    az->endpoint_path = cw_strdup(after_scheme + strcspn(after_scheme, "/"));
    if (az->key != NULL) {
        az->account = cw_strdup(account);
    }

    /* the URL may carry a SAS: log it without the query */
    cw_buf_t log_url = CW_BUF_INIT;
    cw_buf_append(&log_url, url, query != NULL ? (size_t)(query - url) : strlen(url));
    cw_cloud_store_init(&az->super, &azure_backend, &azure_hooks, http, log_url.base, root);
    cw_buf_free(&log_url);

    const char *create = getenv("AZURE_CREATE_CONTAINER");
    if (create != NULL && strcmp(create, "1") == 0 && create_container(az, err, err_size) != 0) {
        goto Exit;
    }
    ok = 1;

Exit:
    free(account);
    free(root);
    free(url_endpoint);
    if (!ok) {
        azure_destroy(&az->super.super); /* frees whatever was filled in; the rest is NULL */
        return NULL;
    }
    return &az->super.super;
}
