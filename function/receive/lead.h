/*
 * lead.h: parsing and normalising a callback body into a lead (docs/design.md §4).
 *
 * Keys are matched ignoring ASCII case, ' ', '_' and '-', so "Work Email",
 * work_email, WORK-EMAIL and WorkEmail are one key. The alias table (the
 * README copies it):
 *
 * | canonical key    | accepted keys                                                             |
 * | ---------------- | ------------------------------------------------------------------------- |
 * | `email`          | email, work email, email address, business email, person email            |
 * | `first_name`     | first name, given name                                                    |
 * | `last_name`      | last name, surname, family name                                           |
 * | `full_name`      | full name, name, person name                                              |
 * | `company`        | company, company name, organization, organisation, account name           |
 * | `domain`         | domain, company domain, website, company website                          |
 * | `title`          | title, job title, position, role                                          |
 * | `linkedin_url`   | linkedin, linkedin url, linkedin profile, linkedin profile url            |
 * | `industry`       | industry                                                                  |
 * | `employee_count` | employee count, employees, company size, headcount, number of employees  |
 * | `icp_score`      | icp score, icp, score, lead score                                         |
 *
 * Values:
 * - null, "", whitespace-only strings and the absent words below mean absent. When several keys map to
 *   one canonical key, the first present one wins; the others are dropped from
 *   the normalised object (the original object keeps everything).
 * - Text fields are trimmed; a JSON number becomes its string; email must be a
 *   string. A bool, array or object in another text field is passed on as is
 *   under the canonical key (the C pointer is then NULL).
 * - icp_score and employee_count accept JSON numbers and numeric strings
 *   ("85", " 85 ", "1,200", "85.5", "1e2"); they become JSON numbers.
 *   icp_score must be within 0..100, employee_count >= 0, both finite.
 * - Unknown keys are kept under their original key, in their original order,
 *   after the canonical ones.
 *
 * The body must be one strict RFC 8259 JSON text (json_strict.h: whitespace
 * around it allowed, nothing after it, no raw NUL byte anywhere, no leading
 * zeros, no raw control bytes or invalid UTF-8 in strings) nested at most
 * CW_LEAD_MAX_DEPTH levels deep; only then does cJSON, which is lenient, parse
 * it. The bad_json detail names the line, column and byte of the first error,
 * and where a value is missing or has a leading zero (an unquoted Clay token:
 * `"icp_score": }`, `"zip": 0042`) adds "Clay tokens must be quoted".
 *
 * In a known field, the strings "null", "undefined", "none" and "n/a" (any
 * case, trimmed) are absent like "": that is what a quoted Clay token of an
 * empty cell renders as (cw_lead_text_is_absent).
 */
#ifndef CW_LEAD_H
#define CW_LEAD_H

#include <stddef.h>
#include <cjson/cJSON.h>

#define CW_LEAD_MAX_DEPTH 64

typedef enum en_cw_lead_status_t {
    CW_LEAD_OK,
    CW_LEAD_BAD_JSON,   /* 400: not JSON, trailing bytes, too deep */
    CW_LEAD_NOT_OBJECT, /* 422: JSON, but not an object */
    CW_LEAD_BAD_FIELD,  /* 422: a known field has an unusable value; the detail names it */
} cw_lead_status_t;

typedef struct st_cw_lead_t {
    cJSON *original;   /* the parsed body, owned; NULL unless CW_LEAD_OK */
    cJSON *normalised; /* canonical keys then unknown ones, owned; may share unchanged values with |original| */
    /* Each points into |normalised|, trimmed and non-empty, or is NULL when absent. */
    const char *email, *first_name, *last_name, *full_name, *company, *domain, *title, *linkedin_url, *industry;
    int has_score;
    double icp_score; /* 0..100 when has_score */
    int has_employees;
    double employee_count; /* >= 0 when has_employees */
} cw_lead_t;

/* cw_lead_parse parses the |body_len| bytes at |body| (need not be
 * NUL-terminated; nothing past body_len is read) into |out|. Returns CW_LEAD_OK
 * with |out| owning two cJSON trees (release with cw_lead_free), or a failure
 * with |out| zeroed (cw_lead_free is still safe) and a one-line reason in
 * |detail| that names the field but never echoes the body's values. */
cw_lead_status_t cw_lead_parse(cw_lead_t *out, const char *body, size_t body_len, char *detail, size_t detail_size);

/* cw_lead_free releases what |lead| owns and zeroes it (NULL is fine). */
void cw_lead_free(cw_lead_t *lead);

/* cw_lead_status_name returns a static name of |s| ("ok", "bad_json", "not_object", "bad_field"). */
const char *cw_lead_status_name(cw_lead_status_t s);

/* cw_lead_text_is_absent reports whether the |len| bytes at |s| (NULL is
 * absent) mean "no value" in a known field: empty or whitespace only, or, once
 * trimmed, one of null, undefined, none, n/a in any case. Returns 1 or 0;
 * borrows |s|; callable from any thread. Shared with the idempotency fields. */
int cw_lead_text_is_absent(const char *s, size_t len);

/* cw_lead_key_fold writes the matching form of the key |key| (|key_len| bytes:
 * ASCII lower-cased, ' ', '_' and '-' removed) into |out| of |out_size| bytes
 * with a NUL. Returns the folded length, or -1 when it does not fit (such a key
 * matches no alias). Shared with the idempotency fields (idem.c). */
int cw_lead_key_fold(char *out, size_t out_size, const char *key, size_t key_len);

#endif
