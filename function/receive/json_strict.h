/*
 * json_strict.h: a strict RFC 8259 check of a body, run before cJSON (which is
 * lenient: it takes leading zeros such as 0042, raw control bytes and invalid
 * UTF-8 inside strings, and cuts a string short at a NUL byte).
 *
 * Accepted is exactly RFC 8259's JSON-text: one value with optional whitespace
 * (space, tab, LF, CR) around it, strings of well-formed UTF-8 (RFC 3629) with
 * only the escapes \" \\ \/ \b \f \n \r \t \uXXXX, where a \u surrogate must be a
 * high one followed by a low one (cJSON refuses lone surrogates, and so does
 * this check, so that what it accepts cJSON parses), numbers
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, and literals true, false, null.
 * Two departures, both stated: a UTF-8 byte-order mark before the value is
 * skipped (RFC 8259 §8.1 lets a parser ignore it), and nesting deeper than
 * |max_depth| arrays and objects is refused.
 *
 * Pure functions of their arguments, no allocation: callable from any thread.
 */
#ifndef CW_JSON_STRICT_H
#define CW_JSON_STRICT_H

#include <stddef.h>

typedef struct st_cw_json_strict_error_t {
    size_t offset;      /* byte offset of the first offending byte (|len| when the text ends too early) */
    size_t line;        /* 1-based line of |offset| (LF counts lines) */
    size_t column;      /* 1-based column of |offset|, in bytes */
    const char *reason; /* static text, never NULL after a failure, e.g. "expected a value" */
    int value_expected; /* 1 when the error sits where a value should be (": }", ": ,", "[,", a bare word)
                         * or is a number with a leading zero: the marks of an unquoted template token */
} cw_json_strict_error_t;

/* cw_json_strict_check reports whether the |len| bytes at |s| (need not be
 * NUL-terminated; nothing past |len| is read) are one strict JSON text nested at
 * most |max_depth| levels deep. Returns 1 when they are, else 0 with the first
 * error in |*out_err| (when not NULL). Borrows |s|. */
int cw_json_strict_check(const char *s, size_t len, size_t max_depth, cw_json_strict_error_t *out_err);

#endif
