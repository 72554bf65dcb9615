/*
 * util.h: the umbrella of lib's primitives, one header per subject:
 *   cw/mem.h     allocation that dies on exhaustion, growable buffers (cw_buf_t)
 *   cw/time.h    monotonic and wall clocks, RFC 3339
 *   cw/text.h    hex, percent-decoding, integer parsing, trimming, case-insensitive compare
 *   cw/random.h  the CSPRNG and the seeded splitmix64
 * It stays so the many files that include it keep building unchanged; new code
 * may include just the subject it uses. (cw/utf8.h, cw/json.h and cw/bucket.h
 * are not in it: include them where used.)
 */
#ifndef CW_UTIL_H
#define CW_UTIL_H

#include "cw/mem.h"
#include "cw/random.h"
#include "cw/text.h"
#include "cw/time.h"

#define CW_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CW_STRLIT(s) (s), (sizeof(s) - 1)

#endif
