/*
 * text.c: hex, percent-decoding, integer parsing, trimming and ASCII
 * case-insensitive comparison (see text.h).
 */
#include <string.h>
#include "cw/text.h"

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
