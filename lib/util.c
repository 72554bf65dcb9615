/*
 * util.c: allocation that dies on exhaustion, growable buffers, clocks, hex,
 * randomness and integer parsing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>
#include "cw/util.h"

static void die_oom(size_t size)
{
    /* No allocation here: stderr is unbuffered and fprintf of a short string does not allocate. */
    fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", size);
    abort();
}

void *cw_malloc(size_t size)
{
    void *p = malloc(size != 0 ? size : 1);
    if (p == NULL) {
        die_oom(size);
    }
    return p;
}

void *cw_calloc(size_t n, size_t size)
{
    void *p = calloc(n != 0 ? n : 1, size != 0 ? size : 1);
    if (p == NULL) {
        die_oom(n * size);
    }
    return p;
}

void *cw_realloc(void *p, size_t size)
{
    void *q = realloc(p, size != 0 ? size : 1);
    if (q == NULL) {
        die_oom(size);
    }
    return q;
}

char *cw_strdup(const char *s)
{
    return cw_strndup(s, strlen(s));
}

char *cw_strndup(const char *s, size_t len)
{
    char *p = cw_malloc(len + 1);
    if (len != 0) {
        memcpy(p, s, len);
    }
    p[len] = '\0';
    return p;
}

void cw_buf_reserve(cw_buf_t *buf, size_t extra)
{
    if (buf->len + extra + 1 <= buf->cap) {
        return;
    }
    size_t cap = buf->cap < 64 ? 64 : buf->cap;
    while (cap < buf->len + extra + 1) {
        cap *= 2;
    }
    buf->base = cw_realloc(buf->base, cap);
    buf->base[buf->len] = '\0';
    buf->cap = cap;
}

void cw_buf_append(cw_buf_t *buf, const void *s, size_t len)
{
    cw_buf_reserve(buf, len);
    if (len != 0) {
        memcpy(buf->base + buf->len, s, len);
    }
    buf->len += len;
    buf->base[buf->len] = '\0';
}

void cw_buf_appends(cw_buf_t *buf, const char *s)
{
    cw_buf_append(buf, s, strlen(s));
}

void cw_buf_vappendf(cw_buf_t *buf, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    cw_buf_reserve(buf, 64);
    int n = vsnprintf(buf->base + buf->len, buf->cap - buf->len, fmt, ap);
    if (n < 0) {
        va_end(copy);
        return;
    }
    if ((size_t)n >= buf->cap - buf->len) {
        cw_buf_reserve(buf, (size_t)n);
        vsnprintf(buf->base + buf->len, buf->cap - buf->len, fmt, copy);
    }
    va_end(copy);
    buf->len += (size_t)n;
}

void cw_buf_appendf(cw_buf_t *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cw_buf_vappendf(buf, fmt, ap);
    va_end(ap);
}

void cw_buf_reset(cw_buf_t *buf)
{
    buf->len = 0;
    if (buf->base != NULL) {
        buf->base[0] = '\0';
    }
}

void cw_buf_free(cw_buf_t *buf)
{
    free(buf->base);
    buf->base = NULL;
    buf->len = 0;
    buf->cap = 0;
}

char *cw_buf_release(cw_buf_t *buf, size_t *out_len)
{
    if (buf->base == NULL) {
        cw_buf_reserve(buf, 0);
        buf->base[0] = '\0';
    }
    char *p = buf->base;
    if (out_len != NULL) {
        *out_len = buf->len;
    }
    buf->base = NULL;
    buf->len = 0;
    buf->cap = 0;
    return p;
}

uint64_t cw_now_ms(void)
{
    return cw_now_us() / 1000;
}

uint64_t cw_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int64_t cw_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cw_format_rfc3339(char *out, size_t out_size, int64_t wall_ms)
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, out_size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(wall_ms % 1000));
}

void cw_hex_encode(char *out, const uint8_t *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i != len; ++i) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int cw_hex_decode(uint8_t *out, size_t out_len, const char *in, size_t in_len)
{
    if (in_len != 2 * out_len) {
        return -1;
    }
    for (size_t i = 0; i != out_len; ++i) {
        int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int cw_url_decode(cw_buf_t *out, const char *s, size_t len, int plus_is_space)
{
    cw_buf_reserve(out, len);
    for (size_t i = 0; i < len; ++i) {
        char c = s[i];
        if (c == '%') {
            int hi, lo;
            if (len - i < 3 || (hi = hex_value(s[i + 1])) < 0 || (lo = hex_value(s[i + 2])) < 0) {
                return -1;
            }
            char d = (char)(hi * 16 + lo);
            cw_buf_append(out, &d, 1);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            cw_buf_append(out, " ", 1);
        } else {
            cw_buf_append(out, &c, 1);
        }
    }
    return 0;
}

void cw_random_bytes(void *out, size_t len)
{
    if (RAND_bytes(out, len) != 1) {
        fprintf(stderr, "fatal: RAND_bytes failed\n");
        abort();
    }
}

uint64_t cw_random_u64(void)
{
    uint64_t v;
    cw_random_bytes(&v, sizeof(v));
    return v;
}

int cw_parse_u64(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out)
{
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t')) {
        ++i;
    }
    while (len > i && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
        --len;
    }
    if (i == len) {
        return -1;
    }
    uint64_t v = 0;
    for (; i != len; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    if (v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void cw_trim_ws(const char **s, size_t *len)
{
    while (*len != 0 && is_ws(**s)) {
        ++*s;
        --*len;
    }
    while (*len != 0 && is_ws((*s)[*len - 1])) {
        --*len;
    }
}

int cw_memeq_ci(const char *a, size_t a_len, const char *b, size_t b_len)
{
    if (a_len != b_len) {
        return 0;
    }
    for (size_t i = 0; i != a_len; ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') {
            x = (char)(x - 'A' + 'a');
        }
        if (y >= 'A' && y <= 'Z') {
            y = (char)(y - 'A' + 'a');
        }
        if (x != y) {
            return 0;
        }
    }
    return 1;
}
