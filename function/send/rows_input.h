/*
 * rows_input.h: the rows of `clay-function send --file`: NDJSON, a JSON array
 * of objects, or CSV (RFC 4180 quoting; the header row gives the keys). Pure:
 * it reads a buffer the caller holds and does no I/O.
 *
 * Every record has a stable index (its ordinal in the input, bad records
 * included), so a journal can key rows by index for a given input. A bad record
 * (invalid JSON, not an object, a CSV row with the wrong number of fields) is
 * reported with its line and a reason, and reading goes on.
 *
 * CSV values are strings, except in a column whose every non-empty value is a
 * plain JSON number of at most 15 significant digits (so zip codes such as
 * "02134", "1,200" and long ids stay strings): those become numbers, and an
 * empty cell there becomes null.
 */
#ifndef CW_ROWS_INPUT_H
#define CW_ROWS_INPUT_H

#include <stddef.h>

typedef enum en_cw_rows_format_t {
    CW_ROWS_AUTO,   /* '[' first: JSON array; '{' first: NDJSON; else CSV */
    CW_ROWS_NDJSON, /* one object per line; blank lines skipped */
    CW_ROWS_JSON,   /* one JSON array of objects */
    CW_ROWS_CSV,
} cw_rows_format_t;

typedef enum en_cw_rows_kind_t {
    CW_ROWS_END, /* no more records */
    CW_ROWS_ROW, /* a good row: json holds one object */
    CW_ROWS_BAD, /* a bad record: reason says why */
} cw_rows_kind_t;

/* cw_row_t is one record; its pointers stay valid until the next cw_rows_next
 * or cw_rows_free (raw and, for JSON inputs, json point into the caller's buffer). */
typedef struct st_cw_row_t {
    size_t index;     /* 0-based ordinal among records (good and bad) */
    size_t line;      /* 1-based line where the record starts */
    const char *json; /* CW_ROWS_ROW: a JSON object (not NUL-terminated); else NULL */
    size_t json_len;
    const char *raw; /* the record's bytes in the input (for the dead-letter file); never NULL */
    size_t raw_len;
    char reason[192]; /* CW_ROWS_BAD: why; "" otherwise */
} cw_row_t;

typedef struct st_cw_rows_t cw_rows_t;

/* cw_rows_new starts reading |data| (|len| bytes, borrowed: it must outlive the
 * reader) as |format|; a UTF-8 byte order mark is skipped. Returns the reader,
 * or NULL with a one-line reason in |err| when the input cannot be read at all
 * (a JSON array that does not start with '[', a CSV without a header row). */
cw_rows_t *cw_rows_new(const char *data, size_t len, cw_rows_format_t format, char *err, size_t err_size);

/* cw_rows_next fills |out| with the next record and returns its kind, or
 * CW_ROWS_END. */
cw_rows_kind_t cw_rows_next(cw_rows_t *rows, cw_row_t *out);

/* cw_rows_format returns the format in use (never CW_ROWS_AUTO). */
cw_rows_format_t cw_rows_format(const cw_rows_t *rows);

/* cw_rows_format_name returns "auto", "ndjson", "json" or "csv". */
const char *cw_rows_format_name(cw_rows_format_t format);

/* cw_rows_parse_format reads a --format value ("auto", "ndjson" or "jsonl",
 * "json", "csv"). Returns 0, or -1 when it is none of them. */
int cw_rows_parse_format(const char *name, cw_rows_format_t *out);

/* cw_rows_free releases |rows| (NULL is fine). */
void cw_rows_free(cw_rows_t *rows);

#endif
