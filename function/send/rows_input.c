/*
 * rows_input.c: NDJSON, JSON array and CSV readers behind one iterator. JSON
 * rows are validated with cJSON but handed on as the bytes of the input, so
 * numbers keep their exact text (cJSON would print large integers as doubles).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cw/json.h"
#include "cw/util.h"
#include "rows_input.h"

#define MAX_CSV_COLUMNS 4096
#define MAX_NUMERIC_DIGITS 15

typedef struct st_span_t {
    size_t off, len;
} span_t;

struct st_cw_rows_t {
    const char *data;
    size_t len;
    size_t pos;  /* next byte to read */
    size_t line; /* line of data[pos], 1-based */
    size_t next_index;
    cw_rows_format_t format;
    int done;
    /* CSV */
    size_t num_cols;
    cw_buf_t keys;     /* the quoted JSON keys, back to back */
    span_t *key_spans; /* num_cols entries into keys */
    unsigned char *numeric;
    cw_buf_t vals; /* the current record's unescaped values */
    span_t *spans;
    size_t num_spans, spans_cap;
    cw_buf_t out; /* the current row's JSON */
};

const char *cw_rows_format_name(cw_rows_format_t format)
{
    switch (format) {
    case CW_ROWS_NDJSON:
        return "ndjson";
    case CW_ROWS_JSON:
        return "json";
    case CW_ROWS_CSV:
        return "csv";
    default:
        return "auto";
    }
}

int cw_rows_parse_format(const char *name, cw_rows_format_t *out)
{
    static const struct {
        const char *name;
        cw_rows_format_t format;
    } names[] = {{"auto", CW_ROWS_AUTO},
                 {"ndjson", CW_ROWS_NDJSON},
                 {"jsonl", CW_ROWS_NDJSON},
                 {"json", CW_ROWS_JSON},
                 {"csv", CW_ROWS_CSV}};
    for (size_t i = 0; i != CW_ARRAY_SIZE(names); ++i) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].format;
            return 0;
        }
    }
    return -1;
}

cw_rows_format_t cw_rows_format(const cw_rows_t *rows)
{
    return rows->format;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* skip_space moves past whitespace, counting lines. */
static void skip_space(cw_rows_t *r)
{
    while (r->pos != r->len && is_space(r->data[r->pos])) {
        if (r->data[r->pos] == '\n') {
            ++r->line;
        }
        ++r->pos;
    }
}

/* check_object validates |len| bytes of JSON as one object; fills |reason| on failure. */
static int check_object(const char *s, size_t len, char *reason, size_t reason_size)
{
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    int ok = 0;
    if (json == NULL) {
        size_t at = end != NULL && end >= s && end <= s + len ? (size_t)(end - s) : 0;
        snprintf(reason, reason_size, "invalid JSON (near byte %zu of the record)", at + 1);
        goto Exit;
    }
    while (end != NULL && end < s + len && is_space(*end)) {
        ++end;
    }
    if (end != s + len) {
        snprintf(reason, reason_size, "invalid JSON: text after the value (byte %zu of the record)", (size_t)(end - s) + 1);
        goto Exit;
    }
    if (!cJSON_IsObject(json)) {
        snprintf(reason, reason_size, "not a JSON object");
        goto Exit;
    }
    ok = 1;
Exit:
    cJSON_Delete(json);
    return ok;
}

static cw_rows_kind_t finish_json_record(cw_rows_t *r, cw_row_t *out, const char *s, size_t len, size_t line)
{
    memset(out, 0, sizeof(*out));
    out->index = r->next_index++;
    out->line = line;
    out->raw = s;
    out->raw_len = len;
    if (!check_object(s, len, out->reason, sizeof(out->reason))) {
        return CW_ROWS_BAD;
    }
    out->json = s;
    out->json_len = len;
    return CW_ROWS_ROW;
}

/* ---- NDJSON ---- */

static cw_rows_kind_t next_ndjson(cw_rows_t *r, cw_row_t *out)
{
    while (r->pos != r->len) {
        const char *start = r->data + r->pos;
        const char *nl = memchr(start, '\n', r->len - r->pos);
        size_t n = nl != NULL ? (size_t)(nl - start) : r->len - r->pos;
        size_t line = r->line;
        r->pos += n + (nl != NULL ? 1 : 0);
        r->line += nl != NULL ? 1 : 0;
        while (n != 0 && is_space(start[0])) {
            ++start, --n;
        }
        while (n != 0 && is_space(start[n - 1])) {
            --n;
        }
        if (n != 0) {
            return finish_json_record(r, out, start, n, line);
        }
    }
    return CW_ROWS_END;
}

/* ---- JSON array ---- */

/* scan_value finds the end of the JSON value at r->pos without parsing it
 * (strings and nesting respected). Returns 0 with *out_end, or -1 at the end of
 * the input. Counts lines. */
static int scan_value(cw_rows_t *r, size_t *out_end)
{
    size_t i = r->pos, depth = 0;
    int in_string = 0;
    for (; i != r->len; ++i) {
        char c = r->data[i];
        if (c == '\n') {
            ++r->line;
        }
        if (in_string) {
            if (c == '\\') {
                if (i + 1 != r->len && r->data[i + 1] == '\n') {
                    ++r->line;
                }
                ++i;
                if (i == r->len) {
                    return -1;
                }
            } else if (c == '"') {
                in_string = 0;
                if (depth == 0) {
                    *out_end = i + 1;
                    return 0;
                }
            }
            continue;
        }
        switch (c) {
        case '"':
            in_string = 1;
            break;
        case '{':
        case '[':
            ++depth;
            break;
        case '}':
        case ']':
            if (depth == 0) {
                /* a scalar ended by the array's close, or a stray close (taken as a 1-byte bad value) */
                *out_end = i == r->pos ? i + 1 : i;
                return 0;
            }
            if (--depth == 0) {
                *out_end = i + 1;
                return 0;
            }
            break;
        case ',':
        case ' ':
        case '\t':
        case '\r':
        case '\n':
            if (depth == 0) {
                *out_end = i;
                if (c == '\n') {
                    --r->line; /* skip_space will count it */
                }
                return 0;
            }
            break;
        default:
            break;
        }
    }
    if (depth == 0 && !in_string && i > r->pos) {
        *out_end = i;
        return 0;
    }
    return -1;
}

static cw_rows_kind_t bad_rest(cw_rows_t *r, cw_row_t *out, size_t line, const char *reason)
{
    memset(out, 0, sizeof(*out));
    out->index = r->next_index++;
    out->line = line;
    out->raw = r->data + r->pos;
    out->raw_len = r->len - r->pos;
    snprintf(out->reason, sizeof(out->reason), "%s; the rest of the file was not read", reason);
    r->pos = r->len;
    r->done = 1;
    return CW_ROWS_BAD;
}

static cw_rows_kind_t next_json(cw_rows_t *r, cw_row_t *out)
{
    for (;;) {
        if (r->done) {
            return CW_ROWS_END;
        }
        skip_space(r);
        if (r->pos == r->len) {
            return bad_rest(r, out, r->line, "the JSON array is not closed with ']'");
        }
        char c = r->data[r->pos];
        if (c == ']') {
            ++r->pos;
            r->done = 1;
            skip_space(r);
            if (r->pos != r->len) {
                r->done = 0;
                return bad_rest(r, out, r->line, "text after the JSON array");
            }
            return CW_ROWS_END;
        }
        if (c == ',') {
            /* An empty element ("[,") or a separator we did not consume: skip it. */
            ++r->pos;
            continue;
        }
        size_t line = r->line, start = r->pos, end;
        if (scan_value(r, &end) != 0) {
            r->line = line;
            return bad_rest(r, out, line, "unterminated value in the JSON array");
        }
        r->pos = end;
        /* Lenient about a missing ',': the next call scans whatever follows as the next element. */
        skip_space(r);
        if (r->pos != r->len && r->data[r->pos] == ',') {
            ++r->pos;
        }
        return finish_json_record(r, out, r->data + start, end - start, line);
    }
}

/* ---- CSV ---- */

static void push_span(cw_rows_t *r, size_t off, size_t len)
{
    if (r->num_spans == r->spans_cap) {
        r->spans_cap = r->spans_cap == 0 ? 16 : r->spans_cap * 2;
        r->spans = cw_realloc(r->spans, r->spans_cap * sizeof(*r->spans));
    }
    r->spans[r->num_spans++] = (span_t){off, len};
}

/* parse_csv_record reads one record at r->pos into r->vals / r->spans and moves
 * past its line end. Returns 0, or -1 with |reason| (the position is then past
 * the bad record). Sets *out_blank for a line with nothing on it. */
static int parse_csv_record(cw_rows_t *r, int *out_blank, char *reason, size_t reason_size)
{
    const char *d = r->data;
    size_t i = r->pos, n = r->len;
    int bad = 0;
    cw_buf_reset(&r->vals);
    cw_buf_reserve(&r->vals, 0); /* spans point into vals.base: never NULL, even when every field is empty */
    r->num_spans = 0;
    *out_blank = 0;

    for (;;) {
        size_t off = r->vals.len;
        if (i != n && d[i] == '"') {
            /* quoted field: "" is a quote; anything (commas, newlines) until the closing quote */
            size_t qline = r->line;
            ++i;
            for (;;) {
                if (i == n) {
                    snprintf(reason, reason_size, "unterminated quoted field (opened on line %zu)", qline);
                    r->pos = n;
                    return -1;
                }
                if (d[i] == '"') {
                    if (i + 1 != n && d[i + 1] == '"') {
                        cw_buf_append(&r->vals, "\"", 1);
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                if (d[i] == '\n') {
                    ++r->line;
                }
                cw_buf_append(&r->vals, d + i, 1);
                ++i;
            }
            if (i != n && d[i] != ',' && d[i] != '\n' && !(d[i] == '\r' && (i + 1 == n || d[i + 1] == '\n'))) {
                snprintf(reason, reason_size, "unexpected character after a closing quote (line %zu)", r->line);
                bad = 1;
                /* resynchronise at the end of this line */
                while (i != n && d[i] != '\n') {
                    ++i;
                }
            }
        } else {
            size_t start = i;
            while (i != n && d[i] != ',' && d[i] != '\n' && !(d[i] == '\r' && (i + 1 == n || d[i + 1] == '\n'))) {
                ++i;
            }
            cw_buf_append(&r->vals, d + start, i - start);
        }
        if (!bad) {
            if (r->num_spans == MAX_CSV_COLUMNS) {
                snprintf(reason, reason_size, "more than %d fields", MAX_CSV_COLUMNS);
                bad = 1;
            } else {
                push_span(r, off, r->vals.len - off);
            }
        }
        if (i != n && d[i] == ',' && !bad) {
            ++i;
            continue;
        }
        /* end of the record */
        while (i != n && d[i] != '\n') {
            ++i; /* the '\r' of "\r\n" (or the rest of a bad line) */
        }
        if (i != n) {
            ++i;
            ++r->line;
        }
        break;
    }
    r->pos = i;
    if (bad) {
        return -1;
    }
    *out_blank = r->num_spans == 1 && r->spans[0].len == 0;
    return 0;
}

/* is_plain_number: JSON number syntax with at most 15 significant digits, so
 * it survives a round trip through a double unchanged. */
static int is_plain_number(const char *s, size_t len)
{
    size_t i = 0, digits = 0;
    int leading = 1;
    if (i != len && s[i] == '-') {
        ++i;
    }
    if (i == len) {
        return 0;
    }
    if (s[i] == '0') {
        ++i;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i != len && s[i] >= '0' && s[i] <= '9') {
            ++i, ++digits;
        }
        leading = 0;
    } else {
        return 0;
    }
    if (i != len && s[i] == '.') {
        ++i;
        size_t start = i;
        while (i != len && s[i] >= '0' && s[i] <= '9') {
            if (!(leading && s[i] == '0')) {
                leading = 0;
                ++digits;
            }
            ++i;
        }
        if (i == start) {
            return 0;
        }
    }
    if (i != len && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i != len && (s[i] == '+' || s[i] == '-')) {
            ++i;
        }
        size_t start = i;
        while (i != len && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
            ++i;
        }
        if (i == start) {
            return 0;
        }
    }
    return i == len && digits <= MAX_NUMERIC_DIGITS;
}

/* append_key_text appends |len| bytes of a CSV column name as JSON string contents in one canonical
 * form, so equal keys are equal texts: cw_json_escape writes an invalid byte as "\ufffd" but passes a
 * real U+FFFD through raw, so here U+FFFD is always written escaped. */
static void append_key_text(cw_buf_t *keys, const char *k, size_t len)
{
    static const char replacement[] = "\xef\xbf\xbd"; /* never inside another sequence: 0xef is a lead byte */
    const char *hit;
    while ((hit = memmem(k, len, replacement, 3)) != NULL) {
        cw_json_escape(keys, k, (size_t)(hit - k));
        cw_buf_appends(keys, "\\ufffd");
        len -= (size_t)(hit - k) + 3;
        k = hit + 3;
    }
    cw_json_escape(keys, k, len);
}

/* key_taken reports whether the key being built at r->keys.base + off (its opening quote so far, no
 * closing one) equals the key of one of the first |num_done| columns. */
static int key_taken(const cw_rows_t *r, size_t num_done, size_t off)
{
    const char *key = r->keys.base + off;
    size_t len = r->keys.len - off;
    for (size_t p = 0; p != num_done; ++p) {
        if (r->key_spans[p].len == len + 1 && memcmp(r->keys.base + r->key_spans[p].off, key, len) == 0) {
            return 1;
        }
    }
    return 0;
}

/* csv_header reads the header and decides which columns are numeric by a first
 * pass over every record; the reader is left at the first data record. */
static int csv_header(cw_rows_t *r, char *err, size_t err_size)
{
    char reason[192];
    int blank = 1;
    while (blank) {
        if (r->pos == r->len) {
            snprintf(err, err_size, "the CSV input has no header row");
            return -1;
        }
        if (parse_csv_record(r, &blank, reason, sizeof(reason)) != 0) {
            snprintf(err, err_size, "the CSV header row is malformed: %s", reason);
            return -1;
        }
    }
    r->num_cols = r->num_spans;
    r->key_spans = cw_calloc(r->num_cols, sizeof(*r->key_spans));
    r->numeric = cw_calloc(r->num_cols, 1);
    unsigned char *seen = cw_calloc(r->num_cols, 1);
    for (size_t c = 0; c != r->num_cols; ++c) {
        char name[64];
        const char *k = r->vals.base + r->spans[c].off;
        size_t k_len = r->spans[c].len;
        size_t off = r->keys.len;
        cw_buf_append(&r->keys, "\"", 1);
        if (k_len == 0) {
            snprintf(name, sizeof(name), "column_%zu", c + 1);
            cw_buf_appends(&r->keys, name);
        } else {
            append_key_text(&r->keys, k, k_len);
        }
        /* A key already taken is suffixed with "_<column>" so no value is silently dropped. Compared after escaping and
         * naming: "Pr\xe9nom" and "Pr\xe8nom" (Latin-1) both escape to "Pr\ufffdnom", and "a_3,a,a" or
         * "column_2," would otherwise collide. Each suffix makes the key longer, so this ends. */
        while (key_taken(r, c, off)) {
            cw_buf_appendf(&r->keys, "_%zu", c + 1);
        }
        cw_buf_append(&r->keys, "\"", 1);
        r->key_spans[c] = (span_t){off, r->keys.len - off};
        r->numeric[c] = 1;
    }

    /* First pass: a column is numeric when all its non-empty values are (and one exists). */
    size_t data_pos = r->pos, data_line = r->line;
    while (r->pos != r->len) {
        if (parse_csv_record(r, &blank, reason, sizeof(reason)) != 0 || blank || r->num_spans != r->num_cols) {
            continue;
        }
        for (size_t c = 0; c != r->num_cols; ++c) {
            if (r->spans[c].len == 0) {
                continue;
            }
            seen[c] = 1;
            if (r->numeric[c] && !is_plain_number(r->vals.base + r->spans[c].off, r->spans[c].len)) {
                r->numeric[c] = 0;
            }
        }
    }
    for (size_t c = 0; c != r->num_cols; ++c) {
        r->numeric[c] = r->numeric[c] && seen[c];
    }
    free(seen);
    r->pos = data_pos;
    r->line = data_line;
    return 0;
}

static cw_rows_kind_t next_csv(cw_rows_t *r, cw_row_t *out)
{
    while (r->pos != r->len) {
        size_t start = r->pos, line = r->line;
        int blank;
        memset(out, 0, sizeof(*out));
        int rc = parse_csv_record(r, &blank, out->reason, sizeof(out->reason));
        if (rc == 0 && blank) {
            continue;
        }
        out->index = r->next_index++;
        out->line = line;
        out->raw = r->data + start;
        out->raw_len = r->pos - start;
        while (out->raw_len != 0 && (out->raw[out->raw_len - 1] == '\n' || out->raw[out->raw_len - 1] == '\r')) {
            --out->raw_len;
        }
        if (rc != 0) {
            return CW_ROWS_BAD;
        }
        if (r->num_spans != r->num_cols) {
            snprintf(out->reason, sizeof(out->reason), "has %zu fields, the header has %zu", r->num_spans, r->num_cols);
            return CW_ROWS_BAD;
        }
        cw_buf_reset(&r->out);
        cw_buf_append(&r->out, "{", 1);
        for (size_t c = 0; c != r->num_cols; ++c) {
            if (c != 0) {
                cw_buf_append(&r->out, ",", 1);
            }
            cw_buf_append(&r->out, r->keys.base + r->key_spans[c].off, r->key_spans[c].len);
            cw_buf_append(&r->out, ":", 1);
            const char *v = r->vals.base + r->spans[c].off;
            size_t v_len = r->spans[c].len;
            if (r->numeric[c]) {
                if (v_len == 0) {
                    cw_buf_appends(&r->out, "null");
                } else {
                    cw_buf_append(&r->out, v, v_len);
                }
            } else {
                cw_json_quote(&r->out, v != NULL ? v : "", v_len);
            }
        }
        cw_buf_append(&r->out, "}", 1);
        out->json = r->out.base;
        out->json_len = r->out.len;
        return CW_ROWS_ROW;
    }
    return CW_ROWS_END;
}

/* ---- the iterator ---- */

cw_rows_t *cw_rows_new(const char *data, size_t len, cw_rows_format_t format, char *err, size_t err_size)
{
    cw_rows_t *r = cw_calloc(1, sizeof(*r));
    r->data = data;
    r->len = len;
    r->line = 1;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        r->pos = 3;
    }
    if (format == CW_ROWS_AUTO) {
        size_t i = r->pos;
        while (i != len && is_space(data[i])) {
            ++i;
        }
        format = i != len && data[i] == '[' ? CW_ROWS_JSON : i != len && data[i] == '{' ? CW_ROWS_NDJSON : CW_ROWS_CSV;
    }
    r->format = format;
    switch (format) {
    case CW_ROWS_JSON:
        skip_space(r);
        if (r->pos == r->len || r->data[r->pos] != '[') {
            snprintf(err, err_size, "a JSON input must be an array of objects (it does not start with '[')");
            goto Error;
        }
        ++r->pos;
        break;
    case CW_ROWS_CSV:
        if (csv_header(r, err, err_size) != 0) {
            goto Error;
        }
        break;
    default:
        break;
    }
    return r;
Error:
    cw_rows_free(r);
    return NULL;
}

cw_rows_kind_t cw_rows_next(cw_rows_t *rows, cw_row_t *out)
{
    switch (rows->format) {
    case CW_ROWS_JSON:
        return next_json(rows, out);
    case CW_ROWS_CSV:
        return next_csv(rows, out);
    default:
        return next_ndjson(rows, out);
    }
}

void cw_rows_free(cw_rows_t *rows)
{
    if (rows == NULL) {
        return;
    }
    cw_buf_free(&rows->keys);
    cw_buf_free(&rows->vals);
    cw_buf_free(&rows->out);
    free(rows->key_spans);
    free(rows->numeric);
    free(rows->spans);
    free(rows);
}
