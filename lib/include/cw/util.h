/*
 * util.h: allocation, growable buffers, clocks, hex and randomness shared by
 * every module.
 *
 * Running out of memory aborts the process (as h2o and redis do): inside an
 * event-loop callback there is no sane recovery, so cw_malloc and friends never
 * return NULL.
 */
#ifndef CW_UTIL_H
#define CW_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#define CW_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CW_STRLIT(s) (s), (sizeof(s) - 1)

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

/* cw_now_ms returns a monotonic clock in milliseconds. */
uint64_t cw_now_ms(void);
/* cw_now_us returns a monotonic clock in microseconds. */
uint64_t cw_now_us(void);
/* cw_wall_ms returns the wall clock (Unix epoch) in milliseconds. */
int64_t cw_wall_ms(void);
/* cw_format_rfc3339 writes |wall_ms| as "2026-11-28T06:47:38.123Z" into |out| (at least 32 bytes). */
void cw_format_rfc3339(char *out, size_t out_size, int64_t wall_ms);

/* cw_hex_encode writes 2*|len| lower-case hex digits and a NUL into |out|
 * (which must hold 2*len+1 bytes). */
void cw_hex_encode(char *out, const uint8_t *in, size_t len);
/* cw_hex_decode decodes exactly 2*|out_len| hex digits from |in| of |in_len| bytes.
 * Returns 0, or -1 on a wrong length or a non-hex digit. */
int cw_hex_decode(uint8_t *out, size_t out_len, const char *in, size_t in_len);

/* cw_url_decode appends the percent-decoding of |len| bytes at |s| to |out|
 * ('+' becomes a space when |plus_is_space|, as in query strings). Returns 0,
 * or -1 on a truncated or non-hex escape (|out| may then hold a partial result).
 * Decoded bytes may include NUL: callers that need text check for it. */
int cw_url_decode(cw_buf_t *out, const char *s, size_t len, int plus_is_space);

/* cw_random_bytes fills |out| from the CSPRNG (BoringSSL); aborts on failure. */
void cw_random_bytes(void *out, size_t len);
/* cw_random_u64 returns a uniformly random 64-bit value from the CSPRNG. */
uint64_t cw_random_u64(void);

/* cw_parse_u64 parses the whole of |s| (|len| bytes, surrounding spaces allowed)
 * as a decimal integer in [min, max]. Returns 0, or -1 when it is not one. */
int cw_parse_u64(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out);

/* cw_trim_ws narrows (|*s|, |*len|) past leading and trailing JSON/C whitespace
 * (space, \t, \n, \r, \v, \f). */
void cw_trim_ws(const char **s, size_t *len);

/* cw_memeq_ci reports whether two byte ranges are equal ignoring ASCII case. */
int cw_memeq_ci(const char *a, size_t a_len, const char *b, size_t b_len);

#endif
