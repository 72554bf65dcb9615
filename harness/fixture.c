/*
 * fixture.c: strict loading of fixture cases, building them in memory, listing
 * a folder of them and signing their steps (see fixture.h and
 * fixtures/README.md). Saving is in fixture_save.c, response checks in
 * fixture_match.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/base64.h>
#include "cw/util.h"
#include "fixture.h"

const char *const cw_fixture_sink_names[CW_FIXTURE_NUM_SINKS] = {"outreach", "nurture", "zapier", "slack"};

#define MAX_WHERE 160
#define MAX_NAME_LEN 100
#define MAX_DESCRIPTION_LEN 4096
#define MAX_PATH_LEN 2048
#define MAX_HEADER_LINE 8192
#define MAX_BODY_CONTAINS 16
#define MAX_DELIVERIES 1000000
#define MAX_SKEW_S 10000000000LL

/* ---- small helpers ---- */

typedef struct {
    const char *file;
    char *err;
    size_t err_size;
} pctx_t;

static int fail(pctx_t *p, const char *where, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(pctx_t *p, const char *where, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->err != NULL && p->err_size != 0) {
        if (where != NULL && where[0] != '\0') {
            snprintf(p->err, p->err_size, "%s: %s: %s", p->file, where, msg);
        } else {
            snprintf(p->err, p->err_size, "%s: %s", p->file, msg);
        }
    }
    return -1;
}

/* join writes "where.key" (or "key" at the top), truncated to fit: it only names a place in a message. */
static void join(char *out, size_t out_size, const char *where, const char *key)
{
    int n = snprintf(out, out_size, "%s%s%s", where, where[0] != '\0' ? "." : "", key);
    if (n < 0) {
        out[0] = '\0';
    }
}

/* utf8_valid_prefix returns the length of the longest valid UTF-8 prefix of |s| (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF). */
static size_t utf8_valid_prefix(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (len - i <= n) {
            return i;
        }
        for (size_t k = 1; k <= n; ++k) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return i;
            }
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return i;
        }
        i += n + 1;
    }
    return len;
}

int cw_fixture_text_safe(const void *s, size_t len)
{
    return memchr(s, '\0', len) == NULL && utf8_valid_prefix(s, len) == len;
}

static int get_int(const cJSON *item, int64_t min, int64_t max, int64_t *out)
{
    if (!cJSON_IsNumber(item)) {
        return -1;
    }
    double d = item->valuedouble;
    if (!(d >= (double)min && d <= (double)max) || (double)(int64_t)d != d) {
        return -1;
    }
    *out = (int64_t)d;
    return 0;
}

/* check_keys fails on a key of |obj| not in |allowed| (NULL-terminated) or given twice. */
static int check_keys(pctx_t *p, const char *where, const cJSON *obj, const char *const *allowed)
{
    char sub[MAX_WHERE];
    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        size_t i;
        for (i = 0; allowed[i] != NULL && strcmp(allowed[i], c->string) != 0; ++i) {
        }
        join(sub, sizeof(sub), where, c->string);
        if (allowed[i] == NULL) {
            char list[256] = "";
            for (i = 0; allowed[i] != NULL; ++i) {
                size_t used = strlen(list);
                snprintf(list + used, sizeof(list) - used, "%s%s", i != 0 ? ", " : "", allowed[i]);
            }
            return fail(p, sub, "unknown key (allowed: %s)", list);
        }
        for (const cJSON *d = obj->child; d != c; d = d->next) {
            if (strcmp(d->string, c->string) == 0) {
                return fail(p, sub, "duplicate key");
            }
        }
    }
    return 0;
}

/* check_duplicates fails on any object in |item|'s tree holding a key twice (cJSON keeps both). */
static int check_duplicates(pctx_t *p, const char *where, const cJSON *item)
{
    char sub[MAX_WHERE];
    size_t index = 0;
    for (const cJSON *c = item->child; c != NULL; c = c->next, ++index) {
        if (cJSON_IsObject(item)) {
            for (const cJSON *d = item->child; d != c; d = d->next) {
                if (strcmp(d->string, c->string) == 0) {
                    join(sub, sizeof(sub), where, c->string);
                    return fail(p, sub, "duplicate key");
                }
            }
            join(sub, sizeof(sub), where, c->string);
        } else {
            snprintf(sub, sizeof(sub), "%s[%zu]", where, index);
        }
        if (check_duplicates(p, sub, c) != 0) {
            return -1;
        }
    }
    return 0;
}

static int is_tchar(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int valid_header_name(const char *s, size_t len)
{
    if (len == 0 || len > 256) {
        return 0;
    }
    for (size_t i = 0; i != len; ++i) {
        if (!is_tchar(s[i])) {
            return 0;
        }
    }
    return 1;
}

static int valid_header_value(const char *s, size_t len)
{
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return 0;
        }
    }
    return 1;
}

void cw_fixture_add_header(cw_fixture_header_t **headers, size_t *num_headers, const char *name, const char *value)
{
    *headers = cw_realloc(*headers, (*num_headers + 1) * sizeof(**headers));
    (*headers)[*num_headers].name = cw_strdup(name);
    (*headers)[*num_headers].value = cw_strdup(value);
    ++*num_headers;
}

/* ---- loading ---- */

static int parse_headers(pctx_t *p, const char *where, const cJSON *item, cw_fixture_request_t *r)
{
    char sub[MAX_WHERE];
    size_t index = 0;
    if (!cJSON_IsArray(item)) {
        return fail(p, where, "must be an array of \"Name: value\" strings");
    }
    if ((size_t)cJSON_GetArraySize(item) > CW_FIXTURE_MAX_HEADERS) {
        return fail(p, where, "at most %d headers", CW_FIXTURE_MAX_HEADERS);
    }
    for (const cJSON *c = item->child; c != NULL; c = c->next, ++index) {
        snprintf(sub, sizeof(sub), "%s[%zu]", where, index);
        if (!cJSON_IsString(c)) {
            return fail(p, sub, "must be a \"Name: value\" string");
        }
        const char *line = c->valuestring;
        size_t line_len = strlen(line);
        const char *colon = memchr(line, ':', line_len);
        if (line_len > MAX_HEADER_LINE) {
            return fail(p, sub, "longer than %d bytes", MAX_HEADER_LINE);
        }
        if (colon == NULL || !valid_header_name(line, (size_t)(colon - line))) {
            return fail(p, sub, "must be \"Name: value\" with a valid header name");
        }
        const char *value = colon + 1, *end = line + line_len;
        while (value < end && (*value == ' ' || *value == '\t')) {
            ++value;
        }
        while (end > value && (end[-1] == ' ' || end[-1] == '\t')) {
            --end;
        }
        if (!valid_header_value(value, (size_t)(end - value))) {
            return fail(p, sub, "header value contains a control character");
        }
        r->headers = cw_realloc(r->headers, (r->num_headers + 1) * sizeof(*r->headers));
        r->headers[r->num_headers].name = cw_strndup(line, (size_t)(colon - line));
        r->headers[r->num_headers].value = cw_strndup(value, (size_t)(end - value));
        ++r->num_headers;
    }
    return 0;
}

static int parse_repeat(pctx_t *p, const char *where, const cJSON *item, cw_fixture_request_t *r)
{
    static const char *const keys[] = {"prefix", "byte", "count", "suffix", NULL};
    char sub[MAX_WHERE];
    int64_t v;
    if (!cJSON_IsObject(item)) {
        return fail(p, where, "must be an object {\"byte\":\"a\",\"count\":N} (prefix, suffix optional)");
    }
    if (check_keys(p, where, item, keys) != 0) {
        return -1;
    }
    const cJSON *byte = cJSON_GetObjectItemCaseSensitive(item, "byte");
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(item, "count");
    const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(item, "prefix");
    const cJSON *suffix = cJSON_GetObjectItemCaseSensitive(item, "suffix");
    join(sub, sizeof(sub), where, "byte");
    if (cJSON_IsString(byte) && strlen(byte->valuestring) == 1) {
        r->repeat_byte = (uint8_t)byte->valuestring[0];
    } else if (get_int(byte, 0, 255, &v) == 0) {
        r->repeat_byte = (uint8_t)v;
    } else {
        return fail(p, sub, "must be a one-byte string or an integer 0-255");
    }
    join(sub, sizeof(sub), where, "count");
    if (get_int(count, 0, CW_FIXTURE_MAX_BODY_BYTES, &v) != 0) {
        return fail(p, sub, "must be an integer 0-%u", CW_FIXTURE_MAX_BODY_BYTES);
    }
    r->repeat_count = (size_t)v;
    const char *pre = "", *suf = "";
    if (prefix != NULL) {
        join(sub, sizeof(sub), where, "prefix");
        if (!cJSON_IsString(prefix)) {
            return fail(p, sub, "must be a string");
        }
        pre = prefix->valuestring;
    }
    if (suffix != NULL) {
        join(sub, sizeof(sub), where, "suffix");
        if (!cJSON_IsString(suffix)) {
            return fail(p, sub, "must be a string");
        }
        suf = suffix->valuestring;
    }
    r->repeat_prefix_len = strlen(pre);
    r->repeat_suffix_len = strlen(suf);
    size_t total = r->repeat_prefix_len + r->repeat_count + r->repeat_suffix_len;
    if (total > CW_FIXTURE_MAX_BODY_BYTES) {
        return fail(p, where, "body of %zu bytes is over the cap of %u", total, CW_FIXTURE_MAX_BODY_BYTES);
    }
    r->body = cw_malloc(total + 1);
    memcpy(r->body, pre, r->repeat_prefix_len);
    memset(r->body + r->repeat_prefix_len, r->repeat_byte, r->repeat_count);
    memcpy(r->body + r->repeat_prefix_len + r->repeat_count, suf, r->repeat_suffix_len);
    r->body[total] = '\0';
    r->body_len = total;
    r->body_form = CW_FIXTURE_BODY_REPEAT;
    return 0;
}

static int parse_body(pctx_t *p, const char *where, const cJSON *req, cw_fixture_request_t *r)
{
    char sub[MAX_WHERE];
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(req, "body");
    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(req, "body_base64");
    const cJSON *repeat = cJSON_GetObjectItemCaseSensitive(req, "body_repeat");
    if ((text != NULL) + (b64 != NULL) + (repeat != NULL) != 1) {
        return fail(p, where, "needs exactly one of body, body_base64, body_repeat");
    }
    if (text != NULL) {
        join(sub, sizeof(sub), where, "body");
        if (!cJSON_IsString(text)) {
            return fail(p, sub, "must be a string (its UTF-8 bytes are the body)");
        }
        r->body_len = strlen(text->valuestring);
        if (r->body_len > CW_FIXTURE_MAX_BODY_BYTES) {
            return fail(p, sub, "over the cap of %u bytes", CW_FIXTURE_MAX_BODY_BYTES);
        }
        r->body = (uint8_t *)cw_strndup(text->valuestring, r->body_len);
        r->body_form = CW_FIXTURE_BODY_TEXT;
        return 0;
    }
    if (b64 != NULL) {
        join(sub, sizeof(sub), where, "body_base64");
        if (!cJSON_IsString(b64)) {
            return fail(p, sub, "must be a base64 string");
        }
        size_t in_len = strlen(b64->valuestring), max_len, out_len;
        if (in_len % 4 != 0 || EVP_DecodedLength(&max_len, in_len) != 1) {
            return fail(p, sub, "not valid base64 (standard alphabet, padded)");
        }
        r->body = cw_malloc(max_len + 1);
        if (EVP_DecodeBase64(r->body, &out_len, max_len, (const uint8_t *)b64->valuestring, in_len) != 1) {
            return fail(p, sub, "not valid base64 (standard alphabet, padded)");
        }
        if (out_len > CW_FIXTURE_MAX_BODY_BYTES) {
            return fail(p, sub, "over the cap of %u bytes", CW_FIXTURE_MAX_BODY_BYTES);
        }
        r->body[out_len] = '\0';
        r->body_len = out_len;
        r->body_form = CW_FIXTURE_BODY_BASE64;
        return 0;
    }
    join(sub, sizeof(sub), where, "body_repeat");
    return parse_repeat(p, sub, repeat, r);
}

static int parse_sign(pctx_t *p, const char *where, const cJSON *item, cw_fixture_request_t *r)
{
    static const char *const keys[] = {"scheme", "secret", "secrets", "tamper", "skew", "id", "bare_hex", NULL};
    char sub[MAX_WHERE], sign_err[160];
    cw_fixture_sign_t *s = &r->sign;
    if (!cJSON_IsObject(item)) {
        return fail(p, where, "must be an object");
    }
    if (check_keys(p, where, item, keys) != 0) {
        return -1;
    }
    const cJSON *scheme = cJSON_GetObjectItemCaseSensitive(item, "scheme");
    join(sub, sizeof(sub), where, "scheme");
    if (!cJSON_IsString(scheme) || cw_sign_scheme_parse(scheme->valuestring, &s->scheme) != 0 || s->scheme == CW_SIGN_NONE) {
        s->scheme = CW_SIGN_NONE;
        return fail(p, sub, "must be one of \"static\", \"bearer\", \"hmac\", \"standard\"");
    }
    const cJSON *secret = cJSON_GetObjectItemCaseSensitive(item, "secret");
    const cJSON *secrets = cJSON_GetObjectItemCaseSensitive(item, "secrets");
    if ((secret != NULL) == (secrets != NULL)) {
        return fail(p, where, "needs exactly one of secret, secrets");
    }
    if (secret != NULL) {
        join(sub, sizeof(sub), where, "secret");
        if (!cJSON_IsString(secret) || secret->valuestring[0] == '\0') {
            return fail(p, sub, "must be a non-empty string");
        }
        s->secrets = cw_malloc(sizeof(*s->secrets));
        s->secrets[s->num_secrets++] = cw_strdup(secret->valuestring);
    } else {
        join(sub, sizeof(sub), where, "secrets");
        int n = cJSON_IsArray(secrets) ? cJSON_GetArraySize(secrets) : 0;
        if (n < 1 || n > CW_SIGN_MAX_SECRETS) {
            return fail(p, sub, "must be an array of 1-%d strings", CW_SIGN_MAX_SECRETS);
        }
        s->secrets = cw_calloc((size_t)n, sizeof(*s->secrets));
        for (const cJSON *c = secrets->child; c != NULL; c = c->next) {
            if (!cJSON_IsString(c) || c->valuestring[0] == '\0') {
                return fail(p, sub, "must be an array of 1-%d non-empty strings", CW_SIGN_MAX_SECRETS);
            }
            s->secrets[s->num_secrets++] = cw_strdup(c->valuestring);
        }
    }
    const cJSON *tamper = cJSON_GetObjectItemCaseSensitive(item, "tamper");
    if (tamper != NULL) {
        join(sub, sizeof(sub), where, "tamper");
        if (!cJSON_IsString(tamper) || cw_sign_tamper_parse(tamper->valuestring, &s->tamper) != 0) {
            return fail(p, sub,
                        "must be one of \"none\", \"wrong-secret\", \"wrong-length\", \"non-hex\", \"non-base64\", "
                        "\"malformed\", \"missing\"");
        }
    }
    const cJSON *skew = cJSON_GetObjectItemCaseSensitive(item, "skew");
    if (skew != NULL) {
        join(sub, sizeof(sub), where, "skew");
        if (get_int(skew, -MAX_SKEW_S, MAX_SKEW_S, &s->skew_s) != 0) {
            return fail(p, sub, "must be an integer number of seconds");
        }
        if (s->scheme != CW_SIGN_STANDARD) {
            return fail(p, sub, "only the standard scheme has a timestamp");
        }
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
    if (id != NULL) {
        join(sub, sizeof(sub), where, "id");
        if (!cJSON_IsString(id) || s->scheme != CW_SIGN_STANDARD) {
            return fail(p, sub, "must be a string, for the standard scheme only");
        }
        s->msg_id = cw_strdup(id->valuestring);
    }
    const cJSON *bare = cJSON_GetObjectItemCaseSensitive(item, "bare_hex");
    if (bare != NULL) {
        join(sub, sizeof(sub), where, "bare_hex");
        if (!cJSON_IsBool(bare) || s->scheme != CW_SIGN_HMAC) {
            return fail(p, sub, "must be a boolean, for the hmac scheme only");
        }
        s->bare_hex = cJSON_IsTrue(bare);
    }
    /* Sign once now so a bad secret or id fails at load time, not halfway through a replay. */
    cw_fixture_step_t probe;
    cw_sign_headers_t headers;
    memset(&probe, 0, sizeof(probe));
    probe.request.sign = *s;
    if (cw_fixture_step_sign(&probe, 1, &headers, sign_err, sizeof(sign_err)) != 0) {
        return fail(p, where, "%s", sign_err);
    }
    return 0;
}

static int parse_request(pctx_t *p, const char *where, const cJSON *item, cw_fixture_request_t *r)
{
    static const char *const keys[] = {"method", "path", "headers", "body", "body_base64", "body_repeat", "sign", NULL};
    char sub[MAX_WHERE];
    if (!cJSON_IsObject(item)) {
        return fail(p, where, "must be an object");
    }
    if (check_keys(p, where, item, keys) != 0) {
        return -1;
    }
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(item, "method");
    if (method != NULL) {
        join(sub, sizeof(sub), where, "method");
        size_t len = cJSON_IsString(method) ? strlen(method->valuestring) : 0;
        int ok = len >= 1 && len <= 16;
        for (size_t i = 0; ok && i != len; ++i) {
            ok = method->valuestring[i] >= 'A' && method->valuestring[i] <= 'Z';
        }
        if (!ok) {
            return fail(p, sub, "must be an upper-case HTTP method such as \"POST\"");
        }
        r->method = cw_strdup(method->valuestring);
    } else {
        r->method = cw_strdup("POST");
    }
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(item, "path");
    if (path != NULL) {
        join(sub, sizeof(sub), where, "path");
        size_t len = cJSON_IsString(path) ? strlen(path->valuestring) : 0;
        int ok = len >= 1 && len <= MAX_PATH_LEN && path->valuestring[0] == '/';
        for (size_t i = 0; ok && i != len; ++i) {
            unsigned char c = (unsigned char)path->valuestring[i];
            ok = c > 0x20 && c < 0x7f;
        }
        if (!ok) {
            return fail(p, sub, "must start with '/' and contain only visible ASCII");
        }
        r->path = cw_strdup(path->valuestring);
    } else {
        r->path = cw_strdup(CW_FIXTURE_DEFAULT_PATH);
    }
    const cJSON *headers = cJSON_GetObjectItemCaseSensitive(item, "headers");
    if (headers != NULL) {
        join(sub, sizeof(sub), where, "headers");
        if (parse_headers(p, sub, headers, r) != 0) {
            return -1;
        }
    }
    if (parse_body(p, where, item, r) != 0) {
        return -1;
    }
    const cJSON *sign = cJSON_GetObjectItemCaseSensitive(item, "sign");
    if (sign != NULL) {
        join(sub, sizeof(sub), where, "sign");
        return parse_sign(p, sub, sign, r);
    }
    return 0;
}

static int sink_index(const char *name)
{
    for (int i = 0; i != CW_FIXTURE_NUM_SINKS; ++i) {
        if (strcmp(cw_fixture_sink_names[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

static int parse_status(pctx_t *p, const char *where, const cJSON *item, cw_fixture_expect_t *e)
{
    int64_t v;
    if (cJSON_IsArray(item)) {
        int n = cJSON_GetArraySize(item);
        if (n < 1 || n > CW_FIXTURE_MAX_STATUSES) {
            return fail(p, where, "a list must hold 1-%d statuses", CW_FIXTURE_MAX_STATUSES);
        }
        for (const cJSON *c = item->child; c != NULL; c = c->next) {
            if (get_int(c, 100, 599, &v) != 0) {
                return fail(p, where, "must be an integer 100-599 or a list of them");
            }
            e->statuses[e->num_statuses++] = (int)v;
        }
        return 0;
    }
    if (get_int(item, 100, 599, &v) != 0) {
        return fail(p, where, "must be an integer 100-599 or a list of them");
    }
    e->statuses[e->num_statuses++] = (int)v;
    return 0;
}

static int parse_sink_map(pctx_t *p, const char *where, const cJSON *item, cw_fixture_expect_t *e, int counts)
{
    char sub[MAX_WHERE];
    if (!cJSON_IsObject(item)) {
        return fail(p, where, "must be an object keyed by sink (outreach, nurture, zapier, slack)");
    }
    for (const cJSON *c = item->child; c != NULL; c = c->next) {
        join(sub, sizeof(sub), where, c->string);
        int i = sink_index(c->string);
        if (i < 0) {
            return fail(p, sub, "unknown sink (outreach, nurture, zapier, slack)");
        }
        if (counts) {
            int64_t v;
            if (e->deliveries[i] >= 0) {
                return fail(p, sub, "duplicate key");
            }
            if (get_int(c, 0, MAX_DELIVERIES, &v) != 0) {
                return fail(p, sub, "must be an integer 0-%d", MAX_DELIVERIES);
            }
            e->deliveries[i] = (int)v;
        } else {
            if (e->sink_json[i] != NULL) {
                return fail(p, sub, "duplicate key");
            }
            if (!cJSON_IsObject(c)) {
                return fail(p, sub, "must be an object (a subset of the payload)");
            }
            e->sink_json[i] = cJSON_Duplicate(c, 1);
        }
    }
    return 0;
}

static int parse_expect(pctx_t *p, const char *where, const cJSON *item, cw_fixture_expect_t *e)
{
    static const char *const keys[] = {"status", "json", "headers", "body_contains", "deliveries", "sink_json", NULL};
    char sub[MAX_WHERE];
    if (!cJSON_IsObject(item)) {
        return fail(p, where, "must be an object");
    }
    if (check_keys(p, where, item, keys) != 0) {
        return -1;
    }
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(item, "status");
    join(sub, sizeof(sub), where, "status");
    if (status == NULL) {
        return fail(p, sub, "missing (an integer 100-599 or a list of them)");
    }
    if (parse_status(p, sub, status, e) != 0) {
        return -1;
    }
    const cJSON *json = cJSON_GetObjectItemCaseSensitive(item, "json");
    if (json != NULL) {
        e->json = cJSON_Duplicate(json, 1);
    }
    const cJSON *headers = cJSON_GetObjectItemCaseSensitive(item, "headers");
    if (headers != NULL) {
        join(sub, sizeof(sub), where, "headers");
        if (!cJSON_IsObject(headers)) {
            return fail(p, sub, "must be an object of header name to value (\"*\" = present)");
        }
        for (const cJSON *c = headers->child; c != NULL; c = c->next) {
            char hsub[MAX_WHERE];
            join(hsub, sizeof(hsub), sub, c->string);
            if (!valid_header_name(c->string, strlen(c->string)) || !cJSON_IsString(c)) {
                return fail(p, hsub, "must be a header name with a string value");
            }
            cw_fixture_add_header(&e->headers, &e->num_headers, c->string, c->valuestring);
        }
    }
    const cJSON *contains = cJSON_GetObjectItemCaseSensitive(item, "body_contains");
    if (contains != NULL) {
        join(sub, sizeof(sub), where, "body_contains");
        int n = cJSON_IsArray(contains) ? cJSON_GetArraySize(contains) : 0;
        if (n < 1 || n > MAX_BODY_CONTAINS) {
            return fail(p, sub, "must be an array of 1-%d non-empty strings", MAX_BODY_CONTAINS);
        }
        e->body_contains = cw_calloc((size_t)n, sizeof(*e->body_contains));
        for (const cJSON *c = contains->child; c != NULL; c = c->next) {
            if (!cJSON_IsString(c) || c->valuestring[0] == '\0') {
                return fail(p, sub, "must be an array of 1-%d non-empty strings", MAX_BODY_CONTAINS);
            }
            e->body_contains[e->num_body_contains++] = cw_strdup(c->valuestring);
        }
    }
    const cJSON *deliveries = cJSON_GetObjectItemCaseSensitive(item, "deliveries");
    if (deliveries != NULL) {
        join(sub, sizeof(sub), where, "deliveries");
        if (parse_sink_map(p, sub, deliveries, e, 1) != 0) {
            return -1;
        }
    }
    const cJSON *sink_json = cJSON_GetObjectItemCaseSensitive(item, "sink_json");
    if (sink_json != NULL) {
        join(sub, sizeof(sub), where, "sink_json");
        if (parse_sink_map(p, sub, sink_json, e, 0) != 0) {
            return -1;
        }
    }
    return 0;
}

static void expect_init(cw_fixture_expect_t *e)
{
    memset(e, 0, sizeof(*e));
    for (size_t i = 0; i != CW_FIXTURE_NUM_SINKS; ++i) {
        e->deliveries[i] = -1;
    }
}

static int parse_fixture(pctx_t *p, const cJSON *root, cw_fixture_t *f)
{
    static const char *const keys[] = {"name", "description", "steps", NULL};
    static const char *const step_keys[] = {"request", "expect", NULL};
    char sub[MAX_WHERE];
    if (!cJSON_IsObject(root)) {
        return fail(p, NULL, "must hold one JSON object");
    }
    if (check_keys(p, "", root, keys) != 0 || check_duplicates(p, "", root) != 0) {
        return -1;
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    size_t len = cJSON_IsString(name) ? strlen(name->valuestring) : 0;
    int ok = len >= 1 && len <= MAX_NAME_LEN;
    for (size_t i = 0; ok && i != len; ++i) {
        char c = name->valuestring[i];
        ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    }
    if (!ok) {
        return fail(p, "name", "must be 1-%d characters of A-Z a-z 0-9 . _ -", MAX_NAME_LEN);
    }
    f->name = cw_strdup(name->valuestring);
    const cJSON *description = cJSON_GetObjectItemCaseSensitive(root, "description");
    if (!cJSON_IsString(description) || strlen(description->valuestring) > MAX_DESCRIPTION_LEN) {
        return fail(p, "description", "must be a string of at most %d bytes", MAX_DESCRIPTION_LEN);
    }
    f->description = cw_strdup(description->valuestring);
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(root, "steps");
    int n = cJSON_IsArray(steps) ? cJSON_GetArraySize(steps) : 0;
    if (n < 1 || n > CW_FIXTURE_MAX_STEPS) {
        return fail(p, "steps", "must be an array of 1-%d steps", CW_FIXTURE_MAX_STEPS);
    }
    f->steps = cw_calloc((size_t)n, sizeof(*f->steps));
    size_t index = 0;
    for (const cJSON *c = steps->child; c != NULL; c = c->next, ++index) {
        cw_fixture_step_t *step = &f->steps[index];
        expect_init(&step->expect);
        f->num_steps = index + 1;
        char where[MAX_WHERE];
        snprintf(where, sizeof(where), "steps[%zu]", index);
        if (!cJSON_IsObject(c)) {
            return fail(p, where, "must be an object with request and expect");
        }
        if (check_keys(p, where, c, step_keys) != 0) {
            return -1;
        }
        const cJSON *request = cJSON_GetObjectItemCaseSensitive(c, "request");
        const cJSON *expect = cJSON_GetObjectItemCaseSensitive(c, "expect");
        join(sub, sizeof(sub), where, "request");
        if (request == NULL) {
            return fail(p, sub, "missing");
        }
        if (parse_request(p, sub, request, &step->request) != 0) {
            return -1;
        }
        join(sub, sizeof(sub), where, "expect");
        if (expect == NULL) {
            return fail(p, sub, "missing");
        }
        if (parse_expect(p, sub, expect, &step->expect) != 0) {
            return -1;
        }
    }
    return 0;
}

/* has_nul_escape finds a \u0000 escape: cJSON would cut the string there, so it is refused. */
static int has_nul_escape(const char *text, size_t len)
{
    for (size_t i = 0; i + 1 < len; ++i) {
        if (text[i] == '\\') {
            if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0) {
                return 1;
            }
            ++i;
        }
    }
    return 0;
}

int cw_fixture_parse(const char *path, const char *text, size_t len, cw_fixture_t **out, char *err, size_t err_size)
{
    pctx_t p = {path, err, err_size};
    cJSON *root = NULL;
    cw_fixture_t *f = NULL;
    int ret = -1;
    *out = NULL;

    if (len > CW_FIXTURE_MAX_FILE_BYTES) {
        fail(&p, NULL, "larger than %u bytes", CW_FIXTURE_MAX_FILE_BYTES);
        goto Exit;
    }
    size_t valid = utf8_valid_prefix((const uint8_t *)text, len);
    if (valid != len || memchr(text, '\0', len) != NULL) {
        fail(&p, NULL, "not valid UTF-8 text (byte %zu); binary bodies go in body_base64", valid);
        goto Exit;
    }
    if (has_nul_escape(text, len)) {
        fail(&p, NULL, "\\u0000 is not supported in strings; put bodies with NUL bytes in body_base64");
        goto Exit;
    }
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root == NULL) {
        size_t off = end != NULL && end >= text && end <= text + len ? (size_t)(end - text) : 0, line = 1, col = 1;
        for (size_t i = 0; i != off; ++i) {
            line += text[i] == '\n';
            col = text[i] == '\n' ? 1 : col + 1;
        }
        fail(&p, NULL, "not valid JSON (near line %zu, column %zu)", line, col);
        goto Exit;
    }
    for (; end < text + len; ++end) {
        if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
            fail(&p, NULL, "unexpected text after the JSON object");
            goto Exit;
        }
    }
    f = cw_calloc(1, sizeof(*f));
    f->file = cw_strdup(path);
    if (parse_fixture(&p, root, f) != 0) {
        goto Exit;
    }
    *out = f;
    f = NULL;
    ret = 0;
Exit:
    cJSON_Delete(root);
    cw_fixture_free(f);
    return ret;
}

int cw_fixture_load(const char *path, cw_fixture_t **out, char *err, size_t err_size)
{
    pctx_t p = {path, err, err_size};
    char *text = NULL;
    size_t len = 0;
    int fd = -1, ret = -1;
    *out = NULL;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        fail(&p, NULL, "cannot open: %s", strerror(errno));
        goto Exit;
    }
    /* Read at most cap + 1 bytes whatever fstat says, so a growing or special file cannot blow the cap. */
    text = cw_malloc(CW_FIXTURE_MAX_FILE_BYTES + 2);
    for (;;) {
        ssize_t n = read(fd, text + len, CW_FIXTURE_MAX_FILE_BYTES + 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            fail(&p, NULL, "cannot read: %s", strerror(errno));
            goto Exit;
        }
        if (n == 0 || (len += (size_t)n) > CW_FIXTURE_MAX_FILE_BYTES) {
            break;
        }
    }
    if (len > CW_FIXTURE_MAX_FILE_BYTES) {
        fail(&p, NULL, "larger than %u bytes", CW_FIXTURE_MAX_FILE_BYTES);
        goto Exit;
    }
    ret = cw_fixture_parse(path, text, len, out, err, err_size);
Exit:
    if (fd >= 0) {
        close(fd);
    }
    free(text);
    return ret;
}

/* ---- freeing and building ---- */

static void free_headers(cw_fixture_header_t *headers, size_t num)
{
    for (size_t i = 0; i != num; ++i) {
        free(headers[i].name);
        free(headers[i].value);
    }
    free(headers);
}

static void free_step(cw_fixture_step_t *step)
{
    cw_fixture_request_t *r = &step->request;
    cw_fixture_expect_t *e = &step->expect;
    free(r->method);
    free(r->path);
    free_headers(r->headers, r->num_headers);
    free(r->body);
    for (size_t i = 0; i != r->sign.num_secrets; ++i) {
        free(r->sign.secrets[i]);
    }
    free(r->sign.secrets);
    free(r->sign.msg_id);
    cJSON_Delete(e->json);
    free_headers(e->headers, e->num_headers);
    for (size_t i = 0; i != e->num_body_contains; ++i) {
        free(e->body_contains[i]);
    }
    free(e->body_contains);
    for (size_t i = 0; i != CW_FIXTURE_NUM_SINKS; ++i) {
        cJSON_Delete(e->sink_json[i]);
    }
}

void cw_fixture_free(cw_fixture_t *fixture)
{
    if (fixture == NULL) {
        return;
    }
    for (size_t i = 0; i != fixture->num_steps; ++i) {
        free_step(&fixture->steps[i]);
    }
    free(fixture->steps);
    free(fixture->file);
    free(fixture->name);
    free(fixture->description);
    free(fixture);
}

cw_fixture_t *cw_fixture_new(const char *name, const char *description)
{
    cw_fixture_t *f = cw_calloc(1, sizeof(*f));
    f->name = cw_strdup(name);
    f->description = cw_strdup(description);
    return f;
}

cw_fixture_step_t *cw_fixture_add_step(cw_fixture_t *fixture)
{
    fixture->steps = cw_realloc(fixture->steps, (fixture->num_steps + 1) * sizeof(*fixture->steps));
    cw_fixture_step_t *step = &fixture->steps[fixture->num_steps++];
    memset(step, 0, sizeof(*step));
    step->request.method = cw_strdup("POST");
    step->request.path = cw_strdup(CW_FIXTURE_DEFAULT_PATH);
    step->request.body = (uint8_t *)cw_strdup("");
    expect_init(&step->expect);
    step->expect.statuses[step->expect.num_statuses++] = 200;
    return step;
}

void cw_fixture_set_body(cw_fixture_request_t *request, const void *body, size_t len)
{
    free(request->body);
    request->body = (uint8_t *)cw_strndup(body, len);
    request->body_len = len;
    request->body_form = CW_FIXTURE_BODY_AUTO;
}

/* ---- listing ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cw_fixture_list_dir(const char *dir, char ***out_paths, size_t *out_num, char *err, size_t err_size)
{
    DIR *d = opendir(dir);
    char **paths = NULL;
    size_t num = 0;
    *out_paths = NULL;
    *out_num = 0;
    if (d == NULL) {
        snprintf(err, err_size, "%s: cannot open folder: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        if (ent->d_name[0] == '.' || len < 6 || strcmp(ent->d_name + len - 5, ".json") != 0) {
            continue;
        }
        cw_buf_t path = CW_BUF_INIT;
        cw_buf_appendf(&path, "%s/%s", dir, ent->d_name);
        struct stat st;
        if (stat(path.base, &st) != 0 || !S_ISREG(st.st_mode)) {
            cw_buf_free(&path);
            continue;
        }
        paths = cw_realloc(paths, (num + 1) * sizeof(*paths));
        paths[num++] = cw_buf_release(&path, NULL);
    }
    closedir(d);
    if (num != 0) {
        qsort(paths, num, sizeof(*paths), cmp_str);
    }
    *out_paths = paths;
    *out_num = num;
    return 0;
}

/* ---- replay helpers ---- */

int cw_fixture_step_sign(const cw_fixture_step_t *step, int64_t now_s, cw_sign_headers_t *out, char *err, size_t err_size)
{
    const cw_fixture_sign_t *s = &step->request.sign;
    cw_sign_params_t params = {
        .scheme = s->scheme,
        .secrets = (const char *const *)s->secrets,
        .num_secrets = s->num_secrets,
        .tamper = s->tamper,
        .skew_s = s->skew_s,
        .now_s = now_s,
        .msg_id = s->msg_id,
        .flags = s->bare_hex ? CW_SIGN_BARE_HEX : 0,
    };
    return cw_sign_request(&params, step->request.body != NULL ? step->request.body : (const uint8_t *)"", step->request.body_len,
                           out, err, err_size);
}
