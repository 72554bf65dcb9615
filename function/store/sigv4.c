/*
 * sigv4.c: AWS Signature Version 4 (the header form). Canonical request →
 * string to sign → HMAC chain over date, region, service → hex signature.
 */
#include "sigv4.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/sha.h>

typedef struct st_canon_header_t {
    char *name;  /* lower-cased */
    char *value; /* trimmed, inner runs of spaces collapsed */
} canon_header_t;

void cw_sigv4_uri_encode(cw_buf_t *out, const char *s, size_t len, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    cw_buf_reserve(out, len * 3);
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~' || (c == '/' && keep_slash)) {
            out->base[out->len++] = (char)c;
        } else {
            out->base[out->len++] = '%';
            out->base[out->len++] = hex[c >> 4];
            out->base[out->len++] = hex[c & 15];
        }
    }
    out->base[out->len] = '\0';
}

void cw_sigv4_payload_hash(char *out, const void *body, size_t len)
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(len != 0 ? body : (const void *)"", len, digest);
    cw_hex_encode(out, digest, sizeof(digest));
}

void cw_sigv4_amz_date(char *out, int64_t wall_ms)
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int is_token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* parse_header splits "Name: value" into a lower-cased name and a normalised
 * value (trimmed; runs of spaces and tabs become one space). Returns 0 or -1. */
static int parse_header(const char *line, canon_header_t *out)
{
    const char *colon = strchr(line, ':');
    if (colon == NULL || colon == line) {
        return -1;
    }
    size_t name_len = (size_t)(colon - line);
    out->name = cw_strndup(line, name_len);
    for (size_t i = 0; i != name_len; ++i) {
        unsigned char c = (unsigned char)out->name[i];
        if (c == '\0' || !is_token_char(c)) {
            free(out->name);
            out->name = NULL;
            return -1;
        }
        if (c >= 'A' && c <= 'Z') {
            out->name[i] = (char)(c - 'A' + 'a');
        }
    }
    const char *v = colon + 1;
    size_t v_len = strlen(v);
    out->value = cw_malloc(v_len + 1);
    size_t n = 0;
    int pending_space = 0;
    for (size_t i = 0; i != v_len; ++i) {
        unsigned char c = (unsigned char)v[i];
        if (c == ' ' || c == '\t') {
            pending_space = n != 0;
            continue;
        }
        if (c < 0x20 || c == 0x7f) {
            free(out->name);
            free(out->value);
            out->name = out->value = NULL;
            return -1;
        }
        if (pending_space) {
            out->value[n++] = ' ';
            pending_space = 0;
        }
        out->value[n++] = (char)c;
    }
    out->value[n] = '\0';
    return 0;
}

static int compare_headers(const void *a, const void *b)
{
    return strcmp(((const canon_header_t *)a)->name, ((const canon_header_t *)b)->name);
}

static void hmac_sha256(uint8_t *out, const void *key, size_t key_len, const void *msg, size_t msg_len)
{
    unsigned out_len = SHA256_DIGEST_LENGTH;
    HMAC(EVP_sha256(), key, key_len, msg, msg_len, out, &out_len);
}

static int is_amz_date(const char *s)
{
    if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z') {
        return 0;
    }
    for (size_t i = 0; i != 15; ++i) {
        if (i != 8 && (s[i] < '0' || s[i] > '9')) {
            return 0;
        }
    }
    return 1;
}

int cw_sigv4_sign(const cw_sigv4_creds_t *creds, const char *method, const char *canonical_uri, const char *canonical_query,
                  const char *const *headers, size_t num_headers, const char *amz_date, const char *payload_hash,
                  cw_buf_t *out_authorization, char *out_canonical_hash)
{
    canon_header_t canon[CW_SIGV4_MAX_HEADERS];
    size_t num_canon = 0;
    cw_buf_t request = CW_BUF_INIT, signed_names = CW_BUF_INIT, to_sign = CW_BUF_INIT, key = CW_BUF_INIT;
    int ret = -1;

    if (num_headers == 0 || num_headers > CW_SIGV4_MAX_HEADERS || !is_amz_date(amz_date)) {
        goto Exit;
    }
    for (size_t i = 0; i != num_headers; ++i) {
        if (parse_header(headers[i], &canon[num_canon]) != 0) {
            goto Exit;
        }
        ++num_canon;
    }
    qsort(canon, num_canon, sizeof(canon[0]), compare_headers);

    /* canonical request: method, URI, query, headers (repeated names joined by ','), signed names, payload hash */
    cw_buf_appendf(&request, "%s\n%s\n%s\n", method, canonical_uri, canonical_query);
    for (size_t i = 0; i != num_canon; ++i) {
        if (i != 0 && strcmp(canon[i].name, canon[i - 1].name) == 0) {
            cw_buf_appendf(&request, ",%s", canon[i].value);
            continue;
        }
        if (i != 0) {
            cw_buf_appends(&request, "\n");
            cw_buf_appends(&signed_names, ";");
        }
        cw_buf_appendf(&request, "%s:%s", canon[i].name, canon[i].value);
        cw_buf_appends(&signed_names, canon[i].name);
    }
    cw_buf_appendf(&request, "\n\n%s\n%s", signed_names.base != NULL ? signed_names.base : "", payload_hash);

    uint8_t digest[SHA256_DIGEST_LENGTH];
    char request_hash[SHA256_DIGEST_LENGTH * 2 + 1];
    SHA256((const uint8_t *)request.base, request.len, digest);
    cw_hex_encode(request_hash, digest, sizeof(digest));
    if (out_canonical_hash != NULL) {
        memcpy(out_canonical_hash, request_hash, sizeof(request_hash));
    }

    char date[9];
    memcpy(date, amz_date, 8);
    date[8] = '\0';
    cw_buf_appendf(&to_sign, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, date, creds->region, creds->service,
                   request_hash);

    /* signing key = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
    uint8_t k[SHA256_DIGEST_LENGTH];
    cw_buf_appendf(&key, "AWS4%s", creds->secret_key);
    hmac_sha256(k, key.base, key.len, date, 8);
    hmac_sha256(k, k, sizeof(k), creds->region, strlen(creds->region));
    hmac_sha256(k, k, sizeof(k), creds->service, strlen(creds->service));
    hmac_sha256(k, k, sizeof(k), "aws4_request", 12);
    uint8_t sig[SHA256_DIGEST_LENGTH];
    char sig_hex[SHA256_DIGEST_LENGTH * 2 + 1];
    hmac_sha256(sig, k, sizeof(k), to_sign.base, to_sign.len);
    cw_hex_encode(sig_hex, sig, sizeof(sig));
    OPENSSL_cleanse(k, sizeof(k));

    cw_buf_appendf(out_authorization, "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
                   creds->access_key, date, creds->region, creds->service, signed_names.base, sig_hex);
    ret = 0;

Exit:
    for (size_t i = 0; i != num_canon; ++i) {
        free(canon[i].name);
        free(canon[i].value);
    }
    if (key.base != NULL) {
        OPENSSL_cleanse(key.base, key.len);
    }
    cw_buf_free(&key);
    cw_buf_free(&request);
    cw_buf_free(&signed_names);
    cw_buf_free(&to_sign);
    return ret;
}
