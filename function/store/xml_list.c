/*
 * xml_list.c: see xml_list.h. A single pass over the bytes; every scan is
 * bounded by |end|.
 */
#include "xml_list.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cw/util.h"

typedef enum en_capture_t {
    CAPTURE_NONE,
    CAPTURE_NAME,
    CAPTURE_NEXT,
} capture_t;

typedef struct st_tag_t {
    const char *name; /* local name (after any "prefix:"), into the input */
    size_t name_len;
} tag_t;

typedef struct st_parser_t {
    const char *end;
    tag_t stack[CW_XML_LIST_MAX_DEPTH];
    size_t depth;
    capture_t capture;
    size_t capture_depth; /* text is captured only directly inside the element at this depth */
    cw_buf_t value;
    int failed;
    cw_xml_list_t *out;
} parser_t;

static int tag_is(const char *name, size_t name_len, const char *lit)
{
    size_t lit_len = strlen(lit);
    return name_len == lit_len && memcmp(name, lit, lit_len) == 0;
}

/* find returns the first occurrence of |needle| in [p, end), or NULL. */
static const char *find(const char *p, const char *end, const char *needle)
{
    size_t n = strlen(needle);
    while (p < end && (size_t)(end - p) >= n) {
        const char *hit = memchr(p, needle[0], (size_t)(end - p) - n + 1);
        if (hit == NULL) {
            return NULL;
        }
        if (memcmp(hit, needle, n) == 0) {
            return hit;
        }
        p = hit + 1;
    }
    return NULL;
}

static void append_value(parser_t *p, const char *s, size_t len)
{
    if (p->value.len + len > CW_XML_LIST_MAX_VALUE) {
        p->failed = 1;
        return;
    }
    cw_buf_append(&p->value, s, len);
}

static size_t utf8_encode(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* decode_entity decodes the entity at |s| ('&' .. ';', at most |len| bytes).
 * Returns the bytes consumed with the decoding in |out| (|*out_len| bytes),
 * or 0 when it is not a known, valid entity (the '&' is then kept as is). */
static size_t decode_entity(const char *s, size_t len, char *out, size_t *out_len)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i != CW_ARRAY_SIZE(named); ++i) {
        size_t n = strlen(named[i].name);
        if (len >= n && memcmp(s, named[i].name, n) == 0) {
            out[0] = named[i].c;
            *out_len = 1;
            return n;
        }
    }
    if (len < 4 || s[1] != '#') {
        return 0;
    }
    int hex = s[2] == 'x';
    size_t i = hex ? 3 : 2, digits = 0;
    uint32_t cp = 0;
    for (; i < len && s[i] != ';'; ++i, ++digits) {
        int d;
        char c = s[i];
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (hex && c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        } else if (hex && c >= 'A' && c <= 'F') {
            d = c - 'A' + 10;
        } else {
            return 0;
        }
        if (digits == 8) {
            return 0;
        }
        cp = cp * (hex ? 16 : 10) + (uint32_t)d;
    }
    if (i == len || digits == 0 || cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    *out_len = utf8_encode(out, cp);
    return i + 1;
}

static void append_text(parser_t *p, const char *s, const char *end)
{
    while (s < end && !p->failed) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *stop = amp != NULL ? amp : end;
        append_value(p, s, (size_t)(stop - s));
        if (amp == NULL) {
            break;
        }
        char decoded[4];
        size_t decoded_len, used = decode_entity(amp, (size_t)(end - amp), decoded, &decoded_len);
        if (used == 0) {
            append_value(p, "&", 1);
            s = amp + 1;
        } else {
            append_value(p, decoded, decoded_len);
            s = amp + used;
        }
    }
}

static void finish_capture(parser_t *p)
{
    cw_xml_list_t *out = p->out;
    if (p->value.len != 0 && memchr(p->value.base, '\0', p->value.len) != NULL) {
        p->failed = 1;
    } else if (p->capture == CAPTURE_NAME && p->value.len != 0) {
        if (out->num_names == CW_XML_LIST_MAX_NAMES) {
            p->failed = 1;
        } else {
            if ((out->num_names & (out->num_names - 1)) == 0) { /* grow at powers of two */
                out->names = cw_realloc(out->names, sizeof(out->names[0]) * (out->num_names == 0 ? 16 : out->num_names * 2));
            }
            out->names[out->num_names++] = cw_strndup(p->value.base, p->value.len);
        }
    } else if (p->capture == CAPTURE_NEXT) {
        free(out->next);
        out->next = p->value.len != 0 ? cw_strndup(p->value.base, p->value.len) : NULL;
    }
    p->capture = CAPTURE_NONE;
    cw_buf_reset(&p->value);
}

static capture_t capture_of(const parser_t *p, const char *name, size_t name_len)
{
    if (tag_is(name, name_len, "NextContinuationToken") || tag_is(name, name_len, "NextMarker")) {
        return CAPTURE_NEXT;
    }
    if (p->depth == 0) {
        return CAPTURE_NONE;
    }
    const tag_t *parent = &p->stack[p->depth - 1];
    if ((tag_is(name, name_len, "Key") && tag_is(parent->name, parent->name_len, "Contents")) ||
        (tag_is(name, name_len, "Name") && tag_is(parent->name, parent->name_len, "Blob"))) {
        return CAPTURE_NAME;
    }
    return CAPTURE_NONE;
}

/* local_name skips a namespace prefix ("s3:Key" → "Key"). */
static void local_name(const char **name, size_t *name_len)
{
    const char *colon = memchr(*name, ':', *name_len);
    if (colon != NULL) {
        *name_len -= (size_t)(colon + 1 - *name);
        *name = colon + 1;
    }
}

static int is_name_end(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/' || c == '>';
}

/* close_tag handles "</name>" starting at |s| (just after "</"); returns where scanning resumes. */
static const char *close_tag(parser_t *p, const char *s)
{
    const char *gt = memchr(s, '>', (size_t)(p->end - s));
    if (gt == NULL) {
        return p->end;
    }
    const char *name = s;
    size_t name_len = 0;
    while (name + name_len < gt && !is_name_end(name[name_len])) {
        ++name_len;
    }
    local_name(&name, &name_len);
    /* forgiving: pop to the nearest matching open element; ignore a stray close */
    for (size_t d = p->depth; d-- > 0;) {
        if (p->stack[d].name_len == name_len && memcmp(p->stack[d].name, name, name_len) == 0) {
            if (p->capture != CAPTURE_NONE && p->capture_depth > d) {
                finish_capture(p);
            }
            p->depth = d;
            break;
        }
    }
    return gt + 1;
}

/* open_tag handles "<name attr='…'>" or "<name/>" starting at |s| (just after "<"). */
static const char *open_tag(parser_t *p, const char *s)
{
    const char *name = s, *q = s;
    while (q < p->end && !is_name_end(*q)) {
        ++q;
    }
    size_t name_len = (size_t)(q - name);
    /* find the closing '>' outside quoted attribute values */
    char quote = 0;
    for (; q < p->end; ++q) {
        if (quote != 0) {
            if (*q == quote) {
                quote = 0;
            }
        } else if (*q == '"' || *q == '\'') {
            quote = *q;
        } else if (*q == '>') {
            break;
        }
    }
    if (q == p->end) {
        return p->end;
    }
    int self_closing = q > s && q[-1] == '/';
    if (name_len == 0) {
        return q + 1;
    }
    local_name(&name, &name_len);
    capture_t capture = p->capture == CAPTURE_NONE ? capture_of(p, name, name_len) : CAPTURE_NONE;
    if (self_closing) {
        if (capture == CAPTURE_NEXT) { /* <NextMarker/>: the last page */
            free(p->out->next);
            p->out->next = NULL;
        }
        return q + 1;
    }
    if (p->depth == CW_XML_LIST_MAX_DEPTH) {
        p->failed = 1;
        return p->end;
    }
    p->stack[p->depth++] = (tag_t){name, name_len};
    if (capture != CAPTURE_NONE) {
        p->capture = capture;
        p->capture_depth = p->depth;
        cw_buf_reset(&p->value);
    }
    return q + 1;
}

int cw_xml_list_parse(const char *xml, size_t len, cw_xml_list_t *out)
{
    parser_t p = {.end = xml + len, .out = out};
    const char *s = xml;

    memset(out, 0, sizeof(*out));
    while (s < p.end && !p.failed) {
        const char *lt = memchr(s, '<', (size_t)(p.end - s));
        const char *text_end = lt != NULL ? lt : p.end;
        if (p.capture != CAPTURE_NONE && p.depth == p.capture_depth) {
            append_text(&p, s, text_end);
        }
        if (lt == NULL) {
            break;
        }
        s = lt + 1;
        size_t rest = (size_t)(p.end - s);
        if (rest >= 3 && memcmp(s, "!--", 3) == 0) {
            const char *e = find(s + 3, p.end, "-->");
            s = e != NULL ? e + 3 : p.end;
        } else if (rest >= 8 && memcmp(s, "![CDATA[", 8) == 0) {
            const char *e = find(s + 8, p.end, "]]>");
            const char *data_end = e != NULL ? e : p.end;
            if (p.capture != CAPTURE_NONE && p.depth == p.capture_depth) {
                append_value(&p, s + 8, (size_t)(data_end - (s + 8)));
            }
            s = e != NULL ? e + 3 : p.end;
        } else if (rest >= 1 && s[0] == '?') {
            const char *e = find(s + 1, p.end, "?>");
            s = e != NULL ? e + 2 : p.end;
        } else if (rest >= 1 && s[0] == '!') {
            const char *e = memchr(s, '>', rest);
            s = e != NULL ? e + 1 : p.end;
        } else if (rest >= 1 && s[0] == '/') {
            s = close_tag(&p, s + 1);
        } else {
            s = open_tag(&p, s);
        }
    }
    cw_buf_free(&p.value);
    if (p.failed) {
        cw_xml_list_free(out);
        return -1;
    }
    return 0;
}

void cw_xml_list_free(cw_xml_list_t *list)
{
    for (size_t i = 0; i != list->num_names; ++i) {
        free(list->names[i]);
    }
    free(list->names);
    free(list->next);
    memset(list, 0, sizeof(*list));
}
