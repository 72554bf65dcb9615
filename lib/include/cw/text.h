/*
 * text.h: small byte-string primitives: hex, percent-decoding, decimal
 * parsing, whitespace trimming, ASCII case-insensitive comparison. Strings are
 * pointer and length (never assumed NUL-terminated) and borrowed; pure
 * functions, callable from any thread or loop.
 */
#ifndef CW_TEXT_H
#define CW_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include "cw/mem.h"

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

/* cw_parse_u64 parses the whole of |s| (|len| bytes, surrounding spaces allowed)
 * as a decimal integer in [min, max]. Returns 0, or -1 when it is not one. */
int cw_parse_u64(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out);

/* cw_trim_ws narrows (|*s|, |*len|) past leading and trailing JSON/C whitespace
 * (space, \t, \n, \r, \v, \f). */
void cw_trim_ws(const char **s, size_t *len);

/* cw_memeq_ci reports whether two byte ranges are equal ignoring ASCII case. */
int cw_memeq_ci(const char *a, size_t a_len, const char *b, size_t b_len);

#endif
