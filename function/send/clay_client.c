/*
 * clay_client.c: pacing, URL list, one-attempt submissions and answer
 * classification for rows sent into Clay (see clay_client.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/sha.h>
#include "cw/util.h"
#include "clay_client.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DETAIL_BODY_MAX 160

/* ---- webhook URLs ---- */

void cw_clay_url_id(char *out, const char *url)
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256((const uint8_t *)url, strlen(url), md);
    cw_hex_encode(out, md, sizeof(md));
}

int cw_clay_urls_add(cw_clay_urls_t *list, const char *url, size_t len)
{
    while (len != 0 && (*url == ' ' || *url == '\t')) {
        ++url, --len;
    }
    while (len != 0 && (url[len - 1] == ' ' || url[len - 1] == '\t')) {
        --len;
    }
    int http = len > 7 && strncasecmp(url, "http://", 7) == 0, https = len > 8 && strncasecmp(url, "https://", 8) == 0;
    if (!http && !https) {
        return -1;
    }
    for (size_t i = 0; i != len; ++i) {
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f) {
            return -1;
        }
    }
    char *copy = cw_strndup(url, len);
    char id[CW_CLAY_URL_ID_LEN + 1];
    cw_clay_url_id(id, copy);
    for (size_t i = 0; i != list->num_urls; ++i) {
        if (strcmp(list->ids[i], id) == 0) {
            free(copy);
            return -1;
        }
    }
    list->urls = cw_realloc(list->urls, (list->num_urls + 1) * sizeof(*list->urls));
    list->ids = cw_realloc(list->ids, (list->num_urls + 1) * sizeof(*list->ids));
    list->urls[list->num_urls] = copy;
    memcpy(list->ids[list->num_urls], id, sizeof(id));
    ++list->num_urls;
    return 0;
}

int cw_clay_urls_parse(cw_clay_urls_t *list, const char *csv)
{
    const char *p = csv;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        size_t i = 0;
        while (i != n && (p[i] == ' ' || p[i] == '\t')) {
            ++i;
        }
        if (i != n && cw_clay_urls_add(list, p, n) != 0) {
            return -1;
        }
        p += n;
        if (*p == ',') {
            ++p;
        }
    }
    return 0;
}

void cw_clay_urls_free(cw_clay_urls_t *list)
{
    for (size_t i = 0; i != list->num_urls; ++i) {
        free(list->urls[i]);
    }
    free(list->urls);
    free(list->ids);
    memset(list, 0, sizeof(*list));
}

/* ---- one submission ---- */

cw_clay_outcome_t cw_clay_classify(cw_http_error_t error, int status)
{
    if (error != CW_HTTP_OK) {
        return CW_CLAY_RETRY;
    }
    if (status >= 200 && status <= 299) {
        return CW_CLAY_ACCEPTED;
    }
    switch (status) {
    case 429:
        return CW_CLAY_RATE_LIMITED;
    case 408:
        return CW_CLAY_RETRY;
    case 404:
    case 410:
        return CW_CLAY_GONE;
    case 403:
        return CW_CLAY_LIMIT;
    case 401:
        return CW_CLAY_UNAUTHORIZED;
    default:
        break;
    }
    if (status >= 400 && status <= 499) {
        return CW_CLAY_REJECTED;
    }
    /* 5xx, and anything unexpected (1xx, 3xx: redirects are not followed) */
    return CW_CLAY_RETRY;
}

const char *cw_clay_outcome_name(cw_clay_outcome_t outcome)
{
    static const char *const names[] = {"accepted", "rate_limited", "retry", "gone", "limit", "unauthorized", "rejected"};
    return (size_t)outcome < CW_ARRAY_SIZE(names) ? names[outcome] : "unknown";
}

struct st_cw_clay_client_t {
    cw_http_t *http;
    char *auth_header; /* "x-clay-webhook-auth: <token>"; NULL when no token */
    uint64_t timeout_ms;
};

typedef struct st_post_t {
    cw_clay_cb cb;
    void *data;
} post_t;

cw_clay_client_t *cw_clay_client_new(cw_http_t *http, const char *auth_token, uint64_t timeout_ms)
{
    cw_clay_client_t *c = cw_calloc(1, sizeof(*c));
    c->http = http;
    if (auth_token != NULL && auth_token[0] != '\0') {
        cw_buf_t b = CW_BUF_INIT;
        cw_buf_appendf(&b, "x-clay-webhook-auth: %s", auth_token);
        c->auth_header = cw_buf_release(&b, NULL);
    }
    c->timeout_ms = timeout_ms != 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
    return c;
}

void cw_clay_client_free(cw_clay_client_t *client)
{
    if (client == NULL) {
        return;
    }
    free(client->auth_header);
    free(client);
}

/* append_excerpt appends up to DETAIL_BODY_MAX printable bytes of |body| on one line. */
static void append_excerpt(cw_buf_t *out, const char *body, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i != len && n < DETAIL_BODY_MAX; ++i) {
        unsigned char c = (unsigned char)body[i];
        char ch = c < ' ' || c == 0x7f ? ' ' : (char)c;
        if (ch == ' ' && out->len != 0 && out->base[out->len - 1] == ' ') {
            continue;
        }
        cw_buf_append(out, &ch, 1);
        ++n;
    }
    if (n == DETAIL_BODY_MAX) {
        cw_buf_appends(out, "...");
    }
}

static void on_posted(const cw_http_response_t *res, void *data)
{
    post_t *p = data;
    cw_buf_t detail = CW_BUF_INIT;
    cw_clay_result_t r = {.outcome = cw_clay_classify(res->error, res->status),
                          .status = res->error == CW_HTTP_OK ? res->status : 0,
                          .retry_after_ms = -1,
                          .elapsed_ms = res->elapsed_ms};
    if (res->error != CW_HTTP_OK) {
        cw_buf_appendf(&detail, "no answer from Clay: %s", res->error_text);
    } else {
        const char *ra = cw_http_find_header(res->headers, res->num_headers, "retry-after");
        if (ra != NULL) {
            /* Honoured up to a minute: a broken or hostile "Retry-After: 3153600000" must not park rows for a century. */
            r.retry_after_ms = cw_http_retry_after_ms(ra, cw_wall_ms());
            if (r.retry_after_ms > CW_CLAY_RETRY_AFTER_MAX_MS) {
                r.retry_after_ms = CW_CLAY_RETRY_AFTER_MAX_MS;
            }
        }
        cw_buf_appendf(&detail, "HTTP %d", res->status);
        if (res->body_len != 0 && r.outcome != CW_CLAY_ACCEPTED) {
            cw_buf_appends(&detail, ": ");
            append_excerpt(&detail, res->body, res->body_len);
        }
    }
    r.detail = detail.base;
    p->cb(&r, p->data);
    cw_buf_free(&detail);
    free(p);
}

void cw_clay_post(cw_clay_client_t *client, cw_loop_t *loop, const char *url, const char *json, size_t json_len, cw_clay_cb cb,
                  void *data)
{
    const char *headers[2] = {"Content-Type: application/json", client->auth_header};
    cw_http_request_t req = {
        .method = "POST",
        .url = url,
        .headers = headers,
        .num_headers = client->auth_header != NULL ? 2 : 1,
        .body = json,
        .body_len = json_len,
        .timeout_ms = client->timeout_ms,
        .max_response_bytes = 64 * 1024,
        .max_attempts = 1,
    };
    post_t *p = cw_malloc(sizeof(*p));
    p->cb = cb;
    p->data = data;
    cw_http_submit(client->http, loop, &req, on_posted, p);
}

uint64_t cw_clay_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t max_ms)
{
    if (attempt == 0) {
        attempt = 1;
    }
    uint64_t ceiling = base_ms;
    for (unsigned i = 1; i < attempt && ceiling < max_ms; ++i) {
        ceiling *= 2;
    }
    if (ceiling > max_ms) {
        ceiling = max_ms;
    }
    uint64_t floor = base_ms / 2 < ceiling ? base_ms / 2 : ceiling;
    /* jitter between floor and ceiling: retries of many rows do not march in step */
    return floor + (ceiling > floor ? cw_random_u64() % (ceiling - floor + 1) : 0);
}

/* ---- quota blocks ---- */

uint64_t cw_clay_quota_block_size(uint64_t limit)
{
    uint64_t k = limit / 100;
    return k < 1 ? 1 : k > 100 ? 100 : k;
}

uint64_t cw_clay_quota_block_slots(uint64_t n, uint64_t block_size, uint64_t limit)
{
    if (block_size == 0 || n >= limit / block_size + 1) {
        return 0;
    }
    uint64_t start = n * block_size;
    if (start >= limit) {
        return 0;
    }
    uint64_t end = start + block_size;
    return (end > limit ? limit : end) - start;
}

/* ---- JSON ---- */

void cw_clay_json_minify(cw_buf_t *out, const char *json, size_t json_len)
{
    int in_string = 0;
    size_t run = 0; /* start of the pending run of bytes to copy */
    cw_buf_reserve(out, json_len);
    for (size_t i = 0; i != json_len; ++i) {
        char c = json[i];
        if (in_string) {
            if (c == '\\' && i + 1 != json_len) {
                ++i;
            } else if (c == '"') {
                in_string = 0;
            }
            continue;
        }
        if (c == '"') {
            in_string = 1;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            cw_buf_append(out, json + run, i - run);
            run = i + 1;
        }
    }
    if (run < json_len) {
        cw_buf_append(out, json + run, json_len - run);
    }
}
