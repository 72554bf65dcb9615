/*
 * json.c: cJSON construction that aborts on exhaustion, and the JSON string
 * escaper with strict UTF-8 validation (see json.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include "cw/json.h"
#include "cw/utf8.h"
#include "cw/util.h"

void cw_json_oom(void)
{
    fprintf(stderr, "fatal: out of memory building JSON\n");
    abort();
}

cJSON *cw_json_must(cJSON *item)
{
    if (item == NULL) {
        cw_json_oom();
    }
    return item;
}

void cw_json_add(cJSON *object, const char *static_key, cJSON *item)
{
    if (!cJSON_AddItemToObjectCS(object, static_key, cw_json_must(item))) {
        cw_json_oom();
    }
}

void cw_json_append(cJSON *array, cJSON *item)
{
    if (!cJSON_AddItemToArray(array, cw_json_must(item))) {
        cw_json_oom();
    }
}

/* byte_class: 0 copies verbatim (printable ASCII but '"' and '\\', and DEL),
 * 1 needs an escape, 2 starts a multi-byte sequence (or is invalid). */
static const uint8_t byte_class[256] = {
    /* 0x00 - 0x1f: control characters */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x20 - 0x7f: '"' (0x22) and '\\' (0x5c) only */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
    /* 0x80 - 0xff */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x80 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xa0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xc0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xe0 */
};

static void append_escape(cw_buf_t *out, uint8_t c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

    switch (c) {
    case '"':
        cw_buf_append(out, "\\\"", 2);
        break;
    case '\\':
        cw_buf_append(out, "\\\\", 2);
        break;
    case '\b':
        cw_buf_append(out, "\\b", 2);
        break;
    case '\f':
        cw_buf_append(out, "\\f", 2);
        break;
    case '\n':
        cw_buf_append(out, "\\n", 2);
        break;
    case '\r':
        cw_buf_append(out, "\\r", 2);
        break;
    case '\t':
        cw_buf_append(out, "\\t", 2);
        break;
    default:
        cw_buf_append(out, esc, sizeof(esc));
        break;
    }
}

void cw_json_escape(cw_buf_t *out, const char *str, size_t len)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t i = 0;

    cw_buf_reserve(out, len);
    out->base[out->len] = '\0'; /* reserve alone does not terminate a fresh buffer */
    while (i < len) {
        /* Extend a run of bytes that go out unchanged, then copy it at once. */
        size_t run = i, seq = 0;
        int invalid = 0;
        while (i < len) {
            uint8_t cls = byte_class[s[i]];
            if (cls == 0) {
                ++i;
                continue;
            }
            if (cls == 1) {
                break;
            }
            seq = cw_utf8_decode(s + i, len - i, NULL);
            if (seq == 0) {
                invalid = 1;
                break;
            }
            /* U+2028 and U+2029 are valid JSON but end lines in JavaScript. */
            if (seq == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
                break;
            }
            i += seq;
            seq = 0;
        }
        if (i != run) {
            cw_buf_append(out, s + run, i - run);
        }
        if (i == len) {
            break;
        }
        if (invalid) {
            cw_buf_append(out, CW_STRLIT("\\ufffd"));
            i += cw_utf8_invalid_len(s + i, len - i);
        } else if (seq == 3) {
            cw_buf_append(out, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
            i += 3;
        } else {
            append_escape(out, s[i]);
            ++i;
        }
    }
}

void cw_json_quote(cw_buf_t *out, const char *s, size_t len)
{
    cw_buf_append(out, "\"", 1);
    cw_json_escape(out, s, len);
    cw_buf_append(out, "\"", 1);
}
