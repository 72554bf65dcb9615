/*
 * fixture.h: recorded callbacks and their expected outcomes, one case per
 * file. The file format is documented in fixtures/README.md; this header is
 * its C form. Loading is strict: an unknown key, a wrong type or an
 * out-of-range value is an error naming the file and the field, e.g.
 *   "fixtures/x.json: steps[0].expect.status: must be an integer 100-599".
 *
 * Ownership: a cw_fixture_t owns every pointer inside it (allocated with
 * cw_malloc/cw_strdup, released by cw_fixture_free). Code that builds one by
 * hand (the `record` command) uses cw_fixture_new, cw_fixture_add_step,
 * cw_fixture_add_header and cw_fixture_set_body so the ownership stays whole.
 */
#ifndef CW_HARNESS_FIXTURE_H
#define CW_HARNESS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "sign.h"

#define CW_FIXTURE_MAX_FILE_BYTES (4u * 1024 * 1024)  /* a fixture file */
#define CW_FIXTURE_MAX_BODY_BYTES (16u * 1024 * 1024) /* one expanded request body */
#define CW_FIXTURE_MAX_STEPS 32
#define CW_FIXTURE_MAX_HEADERS 64
#define CW_FIXTURE_MAX_STATUSES 8
#define CW_FIXTURE_DEFAULT_PATH "/api/clay/enriched"

/* The sinks a fixture can count deliveries for, in this order. */
#define CW_FIXTURE_NUM_SINKS 4
extern const char *const cw_fixture_sink_names[CW_FIXTURE_NUM_SINKS]; /* outreach, nurture, zapier, slack */

/* How a body is written in the file; loading records it so saving writes it back the same way. */
typedef enum en_cw_fixture_body_form_t {
    CW_FIXTURE_BODY_AUTO = 0, /* saving picks: text when valid UTF-8 without NUL, else base64 (or repeat) */
    CW_FIXTURE_BODY_TEXT,     /* "body": "..." */
    CW_FIXTURE_BODY_BASE64,   /* "body_base64": "..." */
    CW_FIXTURE_BODY_REPEAT,   /* "body_repeat": {"prefix":..., "byte":..., "count":..., "suffix":...} */
} cw_fixture_body_form_t;

typedef struct st_cw_fixture_header_t {
    char *name;  /* never NULL; as written (case kept) */
    char *value; /* never NULL; may be empty; in expectations "*" means "present, any value" */
} cw_fixture_header_t;

/* "Sign at replay time": headers come from cw_fixture_step_sign with a fresh clock. */
typedef struct st_cw_fixture_sign_t {
    cw_sign_scheme_t scheme; /* CW_SIGN_NONE when the step has no "sign" */
    char **secrets;          /* num_secrets strings (1..CW_SIGN_MAX_SECRETS) */
    size_t num_secrets;
    cw_sign_tamper_t tamper;
    int64_t skew_s;
    char *msg_id; /* may be NULL: derived from the body (see sign.h) */
    int bare_hex; /* hmac only */
} cw_fixture_sign_t;

typedef struct st_cw_fixture_request_t {
    char *method;                 /* never NULL, default "POST" */
    char *path;                   /* never NULL, default CW_FIXTURE_DEFAULT_PATH */
    cw_fixture_header_t *headers; /* sent in this order, before any signature headers */
    size_t num_headers;
    uint8_t *body; /* body_len exact bytes (plus a NUL not counted); never NULL */
    size_t body_len;
    cw_fixture_body_form_t body_form;
    /* For CW_FIXTURE_BODY_REPEAT: body = body[0..prefix_len) + count * byte + the last suffix_len bytes. */
    size_t repeat_prefix_len, repeat_suffix_len, repeat_count;
    uint8_t repeat_byte;
    cw_fixture_sign_t sign;
} cw_fixture_request_t;

typedef struct st_cw_fixture_expect_t {
    int statuses[CW_FIXTURE_MAX_STATUSES]; /* any of these passes; num_statuses >= 1 */
    size_t num_statuses;
    cJSON *json;                  /* may be NULL; a subset the response body must contain (cw_json_subset_match) */
    cw_fixture_header_t *headers; /* response headers that must be present (name case-insensitive) */
    size_t num_headers;
    char **body_contains; /* substrings the raw response body must contain */
    size_t num_body_contains;
    int deliveries[CW_FIXTURE_NUM_SINKS];   /* -1: not checked; else the mock ledger's total count for this
                                             * case's event after the step (cumulative over the case) */
    cJSON *sink_json[CW_FIXTURE_NUM_SINKS]; /* may be NULL; a subset of the latest payload that sink got */
} cw_fixture_expect_t;

typedef struct st_cw_fixture_step_t {
    cw_fixture_request_t request;
    cw_fixture_expect_t expect;
} cw_fixture_step_t;

typedef struct st_cw_fixture_t {
    char *file;        /* the path it was loaded from or saved to; may be NULL */
    char *name;        /* never NULL; [A-Za-z0-9._-], 1-100 characters */
    char *description; /* never NULL */
    cw_fixture_step_t *steps;
    size_t num_steps;
} cw_fixture_t;

/* cw_fixture_load reads and validates the case at |path|. Returns 0 and a new fixture in *|out| (free it
 * with cw_fixture_free), or -1 with "<path>: <field>: <problem>" in |err| and *|out| NULL. */
int cw_fixture_load(const char *path, cw_fixture_t **out, char *err, size_t err_size);

/* cw_fixture_parse is cw_fixture_load on |len| bytes already in memory; |path| only names them in errors. */
int cw_fixture_parse(const char *path, const char *text, size_t len, cw_fixture_t **out, char *err, size_t err_size);

/* cw_fixture_save writes |fixture| to |path| (through a temporary file and rename) in the format
 * cw_fixture_load reads, with bodies byte-exact (any bytes). Returns 0, or -1 with errno set when the file
 * cannot be written, the result would exceed CW_FIXTURE_MAX_FILE_BYTES (EFBIG), or a string other than a
 * body (a header value, a secret, the name) is not valid UTF-8 or holds a NUL (EINVAL). */
int cw_fixture_save(const char *path, const cw_fixture_t *fixture);

/* cw_fixture_free releases |fixture| and everything it owns; NULL is fine. */
void cw_fixture_free(cw_fixture_t *fixture);

/* cw_fixture_text_safe returns 1 when |len| bytes are valid UTF-8 (RFC 3629) without a NUL, so a `body`
 * string holds them byte-exact; 0 when they need `body_base64`. */
int cw_fixture_text_safe(const void *s, size_t len);

/* cw_fixture_list_dir returns the sorted paths "<dir>/<name>.json" of the regular *.json files in |dir|
 * (not recursive) in *|out_paths| (an array of *|out_num| strings; free each and the array with free()).
 * Returns 0, or -1 with a message in |err| when the folder cannot be read. */
int cw_fixture_list_dir(const char *dir, char ***out_paths, size_t *out_num, char *err, size_t err_size);

/* cw_fixture_new returns an empty fixture with copies of |name| and |description| and no steps. */
cw_fixture_t *cw_fixture_new(const char *name, const char *description);
/* cw_fixture_add_step appends a step (method POST, the default path, an empty body, expected status 200,
 * no other expectations) and returns it; the pointer is valid until the next add. */
cw_fixture_step_t *cw_fixture_add_step(cw_fixture_t *fixture);
/* cw_fixture_add_header appends a copy of |name|/|value| to the array *|headers| of *|num_headers|. */
void cw_fixture_add_header(cw_fixture_header_t **headers, size_t *num_headers, const char *name, const char *value);
/* cw_fixture_set_body replaces |request|'s body with a copy of |len| bytes (form AUTO). */
void cw_fixture_set_body(cw_fixture_request_t *request, const void *body, size_t len);

/* cw_fixture_step_sign produces the auth headers |step| asks for at wall-clock time |now_s| (0 = now).
 * out->num_headers is 0 when the step has no "sign". Returns 0, or -1 with a message in |err|. */
int cw_fixture_step_sign(const cw_fixture_step_t *step, int64_t now_s, cw_sign_headers_t *out, char *err, size_t err_size);

/* cw_fixture_check_response compares a response with |expect|: the status, the headers subset, the
 * body_contains substrings and the json subset (deliveries and sink_json need the mock's ledger and are
 * the caller's job). Returns 1 when everything matches, else 0 with the first difference in |why|. */
int cw_fixture_check_response(const cw_fixture_expect_t *expect, int status, const cw_fixture_header_t *headers, size_t num_headers,
                              const char *body, size_t body_len, char *why, size_t why_size);

/* cw_json_subset_match returns 1 when |actual| contains |expected|, else 0 with the first difference and
 * its path ("$.deliveries.outreach: expected \"delivered\", got \"failed\"") in |why|. Rules: an object
 * matches when every key of |expected| is present in |actual| (case-sensitive) with a matching value,
 * extra keys allowed; the string "*" matches any value that is present; arrays match when they have the
 * same length and each element matches in order; numbers compare by value; strings, booleans and null
 * must be equal. Borrows both trees; NULL |actual| never matches. */
int cw_json_subset_match(const cJSON *expected, const cJSON *actual, char *why, size_t why_size);

#endif
