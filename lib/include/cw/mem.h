/*
 * mem.h: allocation and growable byte buffers.
 *
 * Running out of memory aborts the process (as h2o and redis do): inside an
 * event-loop callback there is no sane recovery, so cw_malloc and friends never
 * return NULL. A cw_buf_t belongs to one thread at a time; the functions keep
 * no other state and may be called from any thread or loop.
 */
#ifndef CW_MEM_H
#define CW_MEM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cw_malloc returns |size| bytes (at least 1); aborts on exhaustion. */
void *cw_malloc(size_t size);
/* cw_calloc returns |n| * |size| zeroed bytes; aborts on exhaustion or overflow. */
void *cw_calloc(size_t n, size_t size);
/* cw_realloc resizes |p| (may be NULL); aborts on exhaustion. */
void *cw_realloc(void *p, size_t size);
/* cw_strdup copies NUL-terminated |s|; caller frees. */
char *cw_strdup(const char *s);
/* cw_strndup copies |len| bytes of |s| (need not be NUL-terminated) and adds a NUL; caller frees. */
char *cw_strndup(const char *s, size_t len);

/* cw_buf_t is a growable byte buffer, always NUL-terminated when base != NULL. */
typedef struct st_cw_buf_t {
    char *base; /* NULL until the first append */
    size_t len;
    size_t cap;
} cw_buf_t;

#define CW_BUF_INIT                                                                                                                \
    {                                                                                                                              \
        NULL, 0, 0                                                                                                                 \
    }

/* cw_buf_reserve makes room for |extra| more bytes (plus the NUL). */
void cw_buf_reserve(cw_buf_t *buf, size_t extra);
/* cw_buf_append copies |len| bytes from |s|. */
void cw_buf_append(cw_buf_t *buf, const void *s, size_t len);
/* cw_buf_appends appends NUL-terminated |s|. */
void cw_buf_appends(cw_buf_t *buf, const char *s);
/* cw_buf_append_i64 appends |v| in decimal (what "%lld" writes, without formatting a format). */
void cw_buf_append_i64(cw_buf_t *buf, int64_t v);
/* cw_buf_appendf appends printf-formatted text. */
void cw_buf_appendf(cw_buf_t *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cw_buf_vappendf(cw_buf_t *buf, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* cw_buf_reset empties |buf| keeping its memory. */
void cw_buf_reset(cw_buf_t *buf);
/* cw_buf_free releases |buf|'s memory and zeroes it. */
void cw_buf_free(cw_buf_t *buf);
/* cw_buf_release hands the bytes to the caller (who frees them) and zeroes |buf|;
 * returns an empty allocated string when nothing was appended. */
char *cw_buf_release(cw_buf_t *buf, size_t *out_len);

#endif
