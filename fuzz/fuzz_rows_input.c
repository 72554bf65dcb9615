/*
 * fuzz_rows_input.c: the reader of `clay-function send --file`
 * (function/send/rows_input.h) on arbitrary bytes, read in each of the four formats
 * (auto, NDJSON, JSON array, CSV) to the end, and cw_clay_json_minify
 * (function/send/clay_client.h), which send applies to every good row.
 *
 * Oracles besides the sanitizers: the reader ends (every record consumes
 * input); indexes count 0, 1, 2, ... and lines never go back; raw bytes lie
 * inside the input (and, for JSON inputs, so does the row's JSON); a good row
 * is one JSON object (for CSV with distinct keys, one per column); a bad one
 * has a reason; minifying a row changes no value.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "clay_client.h"
#include "cw/util.h"
#include "rows_input.h"

#define CHECK(cond)                                                                                                                \
    do {                                                                                                                           \
        if (!(cond)) {                                                                                                             \
            fprintf(stderr, "fuzz_rows_input: check failed at line %d: %s\n", __LINE__, #cond);                                    \
            abort();                                                                                                               \
        }                                                                                                                          \
    } while (0)

/* Checking keys for duplicates is quadratic: only for rows up to this many columns. */
#define MAX_KEYS_CHECKED 256

static int inside(const char *p, size_t len, const char *data, size_t size)
{
    return p >= data && len <= size && (size_t)(p - data) <= size - len;
}

static void check_distinct_keys(const cJSON *object)
{
    if (cJSON_GetArraySize(object) > MAX_KEYS_CHECKED) {
        return;
    }
    for (const cJSON *a = object->child; a != NULL; a = a->next) {
        for (const cJSON *b = a->next; b != NULL; b = b->next) {
            CHECK(strcmp(a->string, b->string) != 0);
        }
    }
}

static void check_minify(const char *json, size_t len, const cJSON *parsed)
{
    cw_buf_t min = CW_BUF_INIT;

    cw_clay_json_minify(&min, json, len);
    CHECK(min.len <= len);
    cJSON *again = cJSON_ParseWithLength(min.base, min.len);
    CHECK(again != NULL);
    /* Compare the printed forms: cJSON_Compare calls inf (from 1e999) unequal to itself. */
    char *a = cJSON_PrintUnformatted(parsed), *b = cJSON_PrintUnformatted(again);
    CHECK(a != NULL && b != NULL && strcmp(a, b) == 0);
    free(a);
    free(b);
    cJSON_Delete(again);
    cw_buf_free(&min);
}

static void read_all(const char *data, size_t size, cw_rows_format_t format)
{
    char err[256];
    cw_row_t row;
    size_t count = 0, last_line = 1, num_lines = 1, num_cols = 0;

    err[0] = '\0';
    cw_rows_t *rows = cw_rows_new(data, size, format, err, sizeof(err));
    if (rows == NULL) {
        CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        return;
    }
    cw_rows_format_t used = cw_rows_format(rows);
    CHECK(used != CW_ROWS_AUTO && (format == CW_ROWS_AUTO || used == format));
    CHECK(strcmp(cw_rows_format_name(used), "auto") != 0);
    for (size_t i = 0; i != size; ++i) {
        num_lines += data[i] == '\n';
    }

    for (;;) {
        memset(&row, 0xa5, sizeof(row));
        cw_rows_kind_t kind = cw_rows_next(rows, &row);
        if (kind == CW_ROWS_END) {
            break;
        }
        CHECK(kind == CW_ROWS_ROW || kind == CW_ROWS_BAD);
        /* Every record takes at least one byte of the input. */
        CHECK(count <= size);
        CHECK(row.index == count);
        CHECK(row.line >= last_line && row.line <= num_lines);
        last_line = row.line;
        CHECK(row.raw != NULL && inside(row.raw, row.raw_len, data, size));
        CHECK(memchr(row.reason, '\0', sizeof(row.reason)) != NULL);
        if (kind == CW_ROWS_BAD) {
            CHECK(row.reason[0] != '\0' && row.json == NULL);
        } else {
            CHECK(row.reason[0] == '\0' && row.json != NULL && row.json_len != 0);
            if (used != CW_ROWS_CSV) {
                CHECK(row.json == row.raw && row.json_len == row.raw_len);
            }
            const char *end = NULL;
            cJSON *json = cJSON_ParseWithLengthOpts(row.json, row.json_len, &end, 0);
            CHECK(cJSON_IsObject(json));
            if (used == CW_ROWS_CSV) {
                CHECK(end == row.json + row.json_len);
                /* cJSON cuts a key at an escaped NUL, so such keys may look alike here only. */
                if (memchr(data, '\0', size) == NULL) {
                    check_distinct_keys(json);
                }
                int n = cJSON_GetArraySize(json);
                CHECK(num_cols == 0 || (size_t)n == num_cols);
                num_cols = (size_t)n;
            }
            check_minify(row.json, row.json_len, json);
            cJSON_Delete(json);
        }
        ++count;
    }
    CHECK(cw_rows_next(rows, &row) == CW_ROWS_END);
    cw_rows_free(rows);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const cw_rows_format_t formats[] = {CW_ROWS_AUTO, CW_ROWS_NDJSON, CW_ROWS_JSON, CW_ROWS_CSV};
    char *copy = malloc(size != 0 ? size : 1);

    CHECK(copy != NULL);
    if (size != 0) {
        memcpy(copy, data, size);
    }
    for (size_t i = 0; i != CW_ARRAY_SIZE(formats); ++i) {
        read_all(copy, size, formats[i]);
    }
    free(copy);
    return 0;
}
