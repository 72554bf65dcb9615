/*
 * mem.c: allocation that dies on exhaustion and growable buffers (see mem.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cw/mem.h"

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

void cw_buf_append_i64(cw_buf_t *buf, int64_t v)
{
    char digits[20], *p = digits + sizeof(digits);
    /* the magnitude as unsigned: INT64_MIN has no positive twin */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        cw_buf_append(buf, "-", 1);
    }
    cw_buf_append(buf, p, (size_t)(digits + sizeof(digits) - p));
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
