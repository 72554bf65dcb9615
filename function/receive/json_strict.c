/*
 * json_strict.c: the strict RFC 8259 check (see json_strict.h). One pass, no
 * recursion, no allocation: the kind of each open container is one bit.
 */
#include <stdint.h>
#include <string.h>
#include "cw/utf8.h"
#include "json_strict.h"

/* Nesting beyond this is refused whatever |max_depth| says (it sizes the bit stack). */
#define DEPTH_CAP 4096

typedef enum en_state_t {
    S_VALUE,                /* a value must come */
    S_VALUE_OR_CLOSE_ARRAY, /* just after '[' */
    S_KEY_OR_CLOSE_OBJECT,  /* just after '{' */
    S_KEY,                  /* after ',' in an object */
    S_COLON,                /* after a member name */
    S_AFTER_VALUE,          /* ',' or the container's close, or the end at depth 0 */
} state_t;

static int fail(cw_json_strict_error_t *err, const uint8_t *u, size_t offset, const char *reason, int value_expected)
{
    if (err != NULL) {
        size_t line = 1, col = 1;
        for (size_t i = 0; i != offset; ++i) {
            if (u[i] == '\n') {
                ++line;
                col = 1;
            } else {
                ++col;
            }
        }
        err->offset = offset;
        err->line = line;
        err->column = col;
        err->reason = reason;
        err->value_expected = value_expected;
    }
    return 0;
}

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    } else if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Reads the 4 hex digits of a \u escape whose 'u' is at |*i|; on success |*i| is past them. */
static int read_u_escape(const uint8_t *u, size_t len, size_t *i, unsigned *out)
{
    unsigned v = 0;
    if (len - *i < 5) {
        return 0;
    }
    for (size_t k = 1; k != 5; ++k) {
        int h = hex_value(u[*i + k]);
        if (h < 0) {
            return 0;
        }
        v = v << 4 | (unsigned)h;
    }
    *i += 5;
    *out = v;
    return 1;
}

/* is_plain tells the bytes a string holds as they are: printable ASCII but the quote and the backslash. */
static inline int is_plain(uint8_t c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Scans the string whose opening quote is at |*i|; on success |*i| is past the closing quote. */
static int scan_string(const uint8_t *u, size_t len, size_t *i, cw_json_strict_error_t *err)
{
    size_t p = *i + 1;
    for (;;) {
        /* the common bytes in one tight loop; everything else below */
        while (p != len && is_plain(u[p])) {
            ++p;
        }
        if (p == len) {
            return fail(err, u, len, "unterminated string", 0);
        }
        uint8_t c = u[p];
        if (c == '"') {
            *i = p + 1;
            return 1;
        } else if (c < 0x20) {
            return fail(err, u, p, "control character inside a JSON string", 0);
        } else if (c >= 0x80) {
            size_t n = cw_utf8_decode(u + p, len - p, NULL);
            if (n == 0) {
                return fail(err, u, p, "body is not valid UTF-8", 0);
            }
            p += n;
        } else if (c != '\\') {
            ++p;
        } else {
            size_t esc = p;
            if (++p == len) {
                return fail(err, u, len, "unterminated string", 0);
            }
            switch (u[p]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                ++p;
                break;
            case 'u': {
                unsigned cp, lo;
                if (!read_u_escape(u, len, &p, &cp)) {
                    return fail(err, u, esc, "\\u must be followed by 4 hex digits", 0);
                }
                if (cp >= 0xdc00 && cp <= 0xdfff) {
                    return fail(err, u, esc, "lone low surrogate in a \\u escape", 0);
                }
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    /* a high surrogate must be followed at once by a low one */
                    if (len - p < 2 || u[p] != '\\' || u[p + 1] != 'u') {
                        return fail(err, u, esc, "lone high surrogate in a \\u escape", 0);
                    }
                    ++p;
                    if (!read_u_escape(u, len, &p, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                        return fail(err, u, esc, "lone high surrogate in a \\u escape", 0);
                    }
                }
            } break;
            default:
                return fail(err, u, esc, "invalid escape in a string", 0);
            }
        }
    }
}

/* Scans the number starting at |*i| ('-' or a digit); on success |*i| is past it. */
static int scan_number(const uint8_t *u, size_t len, size_t *i, cw_json_strict_error_t *err)
{
    size_t p = *i, start = *i;
    if (u[p] == '-') {
        ++p;
    }
    if (p == len || !is_digit(u[p])) {
        return fail(err, u, start, "'-' must be followed by a digit", 1);
    }
    if (u[p] == '0') {
        if (p + 1 < len && is_digit(u[p + 1])) {
            return fail(err, u, start, "number with a leading zero", 1);
        }
        ++p;
    } else {
        while (p != len && is_digit(u[p])) {
            ++p;
        }
    }
    if (p != len && u[p] == '.') {
        if (++p == len || !is_digit(u[p])) {
            return fail(err, u, p, "a digit must follow the decimal point", 0);
        }
        while (p != len && is_digit(u[p])) {
            ++p;
        }
    }
    if (p != len && (u[p] == 'e' || u[p] == 'E')) {
        if (++p != len && (u[p] == '+' || u[p] == '-')) {
            ++p;
        }
        if (p == len || !is_digit(u[p])) {
            return fail(err, u, p, "a digit must follow the exponent", 0);
        }
        while (p != len && is_digit(u[p])) {
            ++p;
        }
    }
    *i = p;
    return 1;
}

static int is_literal(const uint8_t *u, size_t len, size_t i, const char *word, size_t word_len)
{
    return len - i >= word_len && memcmp(u + i, word, word_len) == 0;
}

int cw_json_strict_check(const char *s, size_t len, size_t max_depth, cw_json_strict_error_t *out_err)
{
    const uint8_t *u = (const uint8_t *)s;
    uint8_t is_object[DEPTH_CAP / 8] = {0};
    size_t i = 0, depth = 0;
    state_t state = S_VALUE;

    if (max_depth > DEPTH_CAP) {
        max_depth = DEPTH_CAP;
    }
    if (len >= 3 && memcmp(u, "\xef\xbb\xbf", 3) == 0) {
        i = 3;
    }
    for (;;) {
        while (i != len && (u[i] == ' ' || u[i] == '\t' || u[i] == '\n' || u[i] == '\r')) {
            ++i;
        }
        if (i == len) {
            if (state == S_AFTER_VALUE && depth == 0) {
                return 1;
            }
            return fail(out_err, u, len, "the JSON text ends too early", 0);
        }
        uint8_t c = u[i];
        switch (state) {
        case S_VALUE_OR_CLOSE_ARRAY:
            if (c == ']') {
                --depth;
                ++i;
                state = S_AFTER_VALUE;
                continue;
            }
            /* fall through */
        case S_VALUE:
            if (c == '{' || c == '[') {
                if (depth == max_depth) {
                    return fail(out_err, u, i, "JSON nested too deep", 0);
                }
                if (c == '{') {
                    is_object[depth / 8] |= (uint8_t)(1u << (depth % 8));
                } else {
                    is_object[depth / 8] &= (uint8_t) ~(1u << (depth % 8));
                }
                ++depth;
                ++i;
                state = c == '{' ? S_KEY_OR_CLOSE_OBJECT : S_VALUE_OR_CLOSE_ARRAY;
                continue;
            }
            if (c == '"') {
                if (!scan_string(u, len, &i, out_err)) {
                    return 0;
                }
            } else if (c == '-' || is_digit(c)) {
                if (!scan_number(u, len, &i, out_err)) {
                    return 0;
                }
            } else if (is_literal(u, len, i, "true", 4)) {
                i += 4;
            } else if (is_literal(u, len, i, "false", 5)) {
                i += 5;
            } else if (is_literal(u, len, i, "null", 4)) {
                i += 4;
            } else {
                return fail(out_err, u, i, "expected a value", 1);
            }
            state = S_AFTER_VALUE;
            continue;
        case S_KEY_OR_CLOSE_OBJECT:
            if (c == '}') {
                --depth;
                ++i;
                state = S_AFTER_VALUE;
                continue;
            }
            /* fall through */
        case S_KEY:
            if (c != '"') {
                return fail(out_err, u, i, "expected a quoted member name", 0);
            }
            if (!scan_string(u, len, &i, out_err)) {
                return 0;
            }
            state = S_COLON;
            continue;
        case S_COLON:
            if (c != ':') {
                return fail(out_err, u, i, "expected ':' after a member name", 0);
            }
            ++i;
            state = S_VALUE;
            continue;
        case S_AFTER_VALUE: {
            if (depth == 0) {
                return fail(out_err, u, i, "unexpected bytes after the JSON value", 0);
            }
            int in_object = (is_object[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
            if (c == ',') {
                ++i;
                state = in_object ? S_KEY : S_VALUE;
            } else if (c == (in_object ? '}' : ']')) {
                --depth;
                ++i;
            } else {
                return fail(out_err, u, i, in_object ? "expected ',' or '}'" : "expected ',' or ']'", 0);
            }
        } break;
        }
    }
}
