/*
 * utf8.c: the strict UTF-8 decoder (see utf8.h).
 */
#include "cw/utf8.h"

/* scan looks at the sequence at |s| (|len| > 0). Returns its length when it is
 * well-formed (code point in *|out_cp|), else 0 with the number of bytes of its
 * maximal subpart in *|out_bad|. The ranges of the second byte are those of
 * Unicode's table 3-7, which exclude overlongs, surrogates and > U+10FFFF
 * without decoding first. */
static size_t scan(const uint8_t *s, size_t len, uint32_t *out_cp, size_t *out_bad)
{
    uint8_t c = s[0], lo = 0x80, hi = 0xbf;
    size_t need;
    uint32_t cp;

    if (c < 0x80) {
        *out_cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        need = 2, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3, cp = c & 0x0f;
        if (c == 0xe0) {
            lo = 0xa0; /* below: overlong */
        } else if (c == 0xed) {
            hi = 0x9f; /* above: UTF-16 surrogates */
        }
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4, cp = c & 0x07;
        if (c == 0xf0) {
            lo = 0x90; /* below: overlong */
        } else if (c == 0xf4) {
            hi = 0x8f; /* above: beyond U+10FFFF */
        }
    } else {
        *out_bad = 1; /* continuation byte, overlong lead C0/C1, or F5..FF */
        return 0;
    }
    if (len < 2 || s[1] < lo || s[1] > hi) {
        *out_bad = 1;
        return 0;
    }
    cp = (cp << 6) | (s[1] & 0x3f);
    for (size_t i = 2; i < need; ++i) {
        if (i >= len || s[i] < 0x80 || s[i] > 0xbf) {
            *out_bad = i;
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    *out_cp = cp;
    return need;
}

size_t cw_utf8_decode(const uint8_t *s, size_t len, uint32_t *out_cp)
{
    uint32_t cp;
    size_t bad, n;

    if (len == 0) {
        return 0;
    }
    n = scan(s, len, &cp, &bad);
    if (n != 0 && out_cp != NULL) {
        *out_cp = cp;
    }
    return n;
}

size_t cw_utf8_invalid_len(const uint8_t *s, size_t len)
{
    uint32_t cp;
    size_t bad = 1;

    if (len == 0 || scan(s, len, &cp, &bad) != 0) {
        return 1; /* not an invalid position: a caller's slip, still progress */
    }
    return bad;
}

size_t cw_utf8_valid_prefix(const uint8_t *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        if (s[i] < 0x80) {
            ++i;
            continue;
        }
        size_t n = cw_utf8_decode(s + i, len - i, NULL);
        if (n == 0) {
            return i;
        }
        i += n;
    }
    return len;
}
