/*
 * lead.c: cJSON parse of the raw body, then the alias table (see lead.h).
 *
 * The normalised object shares unchanged values with the original through
 * cJSON references instead of copying them, so a large body is not held twice;
 * cw_lead_free releases the normalised tree before the original one.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cw/json.h"
#include "cw/util.h"
#include "json_strict.h"
#include "lead.h"

/* The longest folded alias is 18 bytes; a longer key cannot match. */
#define FOLD_MAX 32
/* A numeric string longer than this is not a number we accept. */
#define NUMBER_TEXT_MAX 64

typedef enum en_field_kind_t {
    KIND_EMAIL,     /* must be a string */
    KIND_TEXT,      /* string; numbers become strings; other types pass through */
    KIND_SCORE,     /* number 0..100 */
    KIND_EMPLOYEES, /* number >= 0 */
} field_kind_t;

typedef struct st_field_t {
    const char *name; /* canonical key */
    field_kind_t kind;
    const char *aliases[6]; /* folded (lower case, no ' ', '_', '-'); NULL-terminated */
} field_t;

/* Keep in sync with the table in lead.h. */
enum {
    F_EMAIL,
    F_FIRST_NAME,
    F_LAST_NAME,
    F_FULL_NAME,
    F_COMPANY,
    F_DOMAIN,
    F_TITLE,
    F_LINKEDIN_URL,
    F_INDUSTRY,
    F_EMPLOYEE_COUNT,
    F_ICP_SCORE,
    NUM_FIELDS
};

static const field_t fields[NUM_FIELDS] = {
    [F_EMAIL] = {"email", KIND_EMAIL, {"email", "workemail", "emailaddress", "businessemail", "personemail", NULL}},
    [F_FIRST_NAME] = {"first_name", KIND_TEXT, {"firstname", "givenname", NULL}},
    [F_LAST_NAME] = {"last_name", KIND_TEXT, {"lastname", "surname", "familyname", NULL}},
    [F_FULL_NAME] = {"full_name", KIND_TEXT, {"fullname", "name", "personname", NULL}},
    [F_COMPANY] = {"company", KIND_TEXT, {"company", "companyname", "organization", "organisation", "accountname", NULL}},
    [F_DOMAIN] = {"domain", KIND_TEXT, {"domain", "companydomain", "website", "companywebsite", NULL}},
    [F_TITLE] = {"title", KIND_TEXT, {"title", "jobtitle", "position", "role", NULL}},
    [F_LINKEDIN_URL] = {"linkedin_url", KIND_TEXT, {"linkedin", "linkedinurl", "linkedinprofile", "linkedinprofileurl", NULL}},
    [F_INDUSTRY] = {"industry", KIND_TEXT, {"industry", NULL}},
    [F_EMPLOYEE_COUNT] = {"employee_count",
                          KIND_EMPLOYEES,
                          {"employeecount", "employees", "companysize", "headcount", "numberofemployees", NULL}},
    [F_ICP_SCORE] = {"icp_score", KIND_SCORE, {"icpscore", "icp", "score", "leadscore", NULL}},
};

int cw_lead_key_fold(char *out, size_t out_size, const char *key, size_t key_len)
{
    size_t n = 0;

    for (size_t i = 0; i != key_len; ++i) {
        char c = key[i];
        if (c == ' ' || c == '_' || c == '-') {
            continue;
        }
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (n + 1 >= out_size) {
            return -1;
        }
        out[n++] = c;
    }
    if (out_size == 0) {
        return -1;
    }
    out[n] = '\0';
    return (int)n;
}

/* Returns the field index of object member |item|, or -1 for an unknown key. */
static int field_of(const cJSON *item)
{
    char folded[FOLD_MAX];

    if (item->string == NULL || cw_lead_key_fold(folded, sizeof(folded), item->string, strlen(item->string)) <= 0) {
        return -1;
    }
    for (int f = 0; f != NUM_FIELDS; ++f) {
        for (const char *const *alias = fields[f].aliases; *alias != NULL; ++alias) {
            /* The first byte rules out nearly every alias without a call (this runs for every member). */
            if ((*alias)[0] == folded[0] && strcmp(folded, *alias) == 0) {
                return f;
            }
        }
    }
    return -1;
}

int cw_lead_text_is_absent(const char *s, size_t len)
{
    /* What a quoted Clay token of an empty cell renders as when "Remove empty fields" is off. */
    static const char *const words[] = {"null", "undefined", "none", "n/a"};

    if (s == NULL) {
        return 1;
    }
    cw_trim_ws(&s, &len);
    if (len == 0) {
        return 1;
    }
    for (size_t i = 0; i != CW_ARRAY_SIZE(words); ++i) {
        if (cw_memeq_ci(s, len, words[i], strlen(words[i]))) {
            return 1;
        }
    }
    return 0;
}

/* null, "" and whitespace-only strings, and the words of cw_lead_text_is_absent, are absent. */
static int is_present(const cJSON *item)
{
    if (cJSON_IsNull(item)) {
        return 0;
    }
    if (cJSON_IsString(item)) {
        const char *s = item->valuestring;
        return !cw_lead_text_is_absent(s, s != NULL ? strlen(s) : 0);
    }
    return 1;
}

/* Parses a numeric string: [+-] digits (with optional thousands separators in
 * groups of three: "1,200") [. digits] [e [+-] digits], surrounding whitespace
 * allowed. strtod alone would also take "nan", "inf" and hex. Returns 0, or -1. */
static int parse_number_text(const char *s, size_t len, double *out)
{
    char buf[NUMBER_TEXT_MAX];
    size_t n = 0, i = 0, group = 0, num_digits = 0;
    int has_comma = 0;
    char *end;

    cw_trim_ws(&s, &len);
    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }
    if (s[i] == '+' || s[i] == '-') {
        buf[n++] = s[i++];
    }
    for (; i < len && ((s[i] >= '0' && s[i] <= '9') || s[i] == ','); ++i) {
        if (s[i] == ',') {
            if (group == 0 || (has_comma ? group != 3 : group > 3)) {
                return -1;
            }
            has_comma = 1;
            group = 0;
            continue;
        }
        buf[n++] = s[i];
        ++group;
        ++num_digits;
    }
    if (has_comma && group != 3) {
        return -1;
    }
    if (i < len && s[i] == '.') {
        buf[n++] = s[i++];
        for (; i < len && s[i] >= '0' && s[i] <= '9'; ++i) {
            buf[n++] = s[i];
            ++num_digits;
        }
    }
    if (num_digits == 0) {
        return -1;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp_digits = 0;
        buf[n++] = s[i++];
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            buf[n++] = s[i++];
        }
        for (; i < len && s[i] >= '0' && s[i] <= '9'; ++i) {
            buf[n++] = s[i];
            ++exp_digits;
        }
        if (exp_digits == 0) {
            return -1;
        }
    }
    if (i != len) {
        return -1;
    }
    buf[n] = '\0';
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + n || !isfinite(v)) {
        return -1;
    }
    *out = v;
    return 0;
}

/* Returns an item sharing |item|'s value (a cJSON reference) for strings,
 * arrays and objects, a copy for the small scalars. */
static cJSON *reference_to(const cJSON *item)
{
    if (cJSON_IsObject(item)) {
        return cw_json_must(cJSON_CreateObjectReference(item->child));
    }
    if (cJSON_IsArray(item)) {
        return cw_json_must(cJSON_CreateArrayReference(item->child));
    }
    if (cJSON_IsString(item)) {
        return cw_json_must(cJSON_CreateStringReference(item->valuestring));
    }
    return cw_json_must(cJSON_Duplicate(item, 0));
}

/* Adds the winning |item| of text field |f| to |norm|; returns the text or NULL when not a string. */
static const char *add_text(cJSON *norm, int f, const cJSON *item)
{
    cJSON *value;

    if (cJSON_IsString(item)) {
        const char *s = item->valuestring;
        size_t len = strlen(s);
        cw_trim_ws(&s, &len);
        value = cw_json_must(cJSON_CreateString(s));
        value->valuestring[len] = '\0';
    } else if (cJSON_IsNumber(item) && isfinite(item->valuedouble)) {
        char printed[NUMBER_TEXT_MAX];
        if (!cJSON_PrintPreallocated((cJSON *)item, printed, sizeof(printed), 0)) {
            value = reference_to(item);
        } else {
            value = cw_json_must(cJSON_CreateString(printed));
        }
    } else {
        value = reference_to(item);
    }
    cw_json_add(norm, fields[f].name, value);
    return cJSON_IsString(value) ? value->valuestring : NULL;
}

/* Reads the winning |item| of a numeric field. Returns 0, or -1 when not a finite number. */
static int read_number(const cJSON *item, double *out)
{
    if (cJSON_IsNumber(item)) {
        if (!isfinite(item->valuedouble)) {
            return -1;
        }
        *out = item->valuedouble;
        return 0;
    }
    if (cJSON_IsString(item)) {
        return parse_number_text(item->valuestring, strlen(item->valuestring), out);
    }
    return -1;
}

static cw_lead_status_t normalise(cw_lead_t *lead, char *detail, size_t detail_size)
{
    const cJSON *winner[NUM_FIELDS] = {NULL};
    const cJSON *item;
    const char **text_out[NUM_FIELDS] = {
        [F_EMAIL] = &lead->email,         [F_FIRST_NAME] = &lead->first_name,     [F_LAST_NAME] = &lead->last_name,
        [F_FULL_NAME] = &lead->full_name, [F_COMPANY] = &lead->company,           [F_DOMAIN] = &lead->domain,
        [F_TITLE] = &lead->title,         [F_LINKEDIN_URL] = &lead->linkedin_url, [F_INDUSTRY] = &lead->industry,
    };

    /* the field of each of the first members, kept for the second pass below (field_of folds the key and
     * scans the alias table: the costliest step of a parse) */
    enum { MEMO = 64 };
    signed char memo[MEMO];
    size_t index = 0;
    cJSON_ArrayForEach(item, lead->original)
    {
        int f = field_of(item);
        if (index < MEMO) {
            memo[index] = (signed char)f;
        }
        ++index;
        if (f >= 0 && winner[f] == NULL && is_present(item)) {
            winner[f] = item;
        }
    }

    lead->normalised = cw_json_must(cJSON_CreateObject());
    for (int f = 0; f != NUM_FIELDS; ++f) {
        if ((item = winner[f]) == NULL) {
            continue;
        }
        switch (fields[f].kind) {
        case KIND_EMAIL:
            if (!cJSON_IsString(item)) {
                snprintf(detail, detail_size, "%s must be a string", fields[f].name);
                return CW_LEAD_BAD_FIELD;
            }
            /* fallthrough */
        case KIND_TEXT:
            *text_out[f] = add_text(lead->normalised, f, item);
            break;
        case KIND_SCORE:
            if (read_number(item, &lead->icp_score) != 0 || lead->icp_score < 0 || lead->icp_score > 100) {
                snprintf(detail, detail_size, "%s must be a number from 0 to 100", fields[f].name);
                return CW_LEAD_BAD_FIELD;
            }
            lead->has_score = 1;
            cw_json_add(lead->normalised, fields[f].name, cJSON_CreateNumber(lead->icp_score));
            break;
        case KIND_EMPLOYEES:
            if (read_number(item, &lead->employee_count) != 0 || lead->employee_count < 0) {
                snprintf(detail, detail_size, "%s must be a number of at least 0", fields[f].name);
                return CW_LEAD_BAD_FIELD;
            }
            lead->has_employees = 1;
            cw_json_add(lead->normalised, fields[f].name, cJSON_CreateNumber(lead->employee_count));
            break;
        }
    }

    index = 0;
    cJSON_ArrayForEach(item, lead->original)
    {
        int f = index < MEMO ? memo[index] : field_of(item);
        ++index;
        if (item->string != NULL && f < 0 && !cJSON_AddItemReferenceToObject(lead->normalised, item->string, (cJSON *)item)) {
            cw_json_oom();
        }
    }
    return CW_LEAD_OK;
}

/* Writes the bad_json detail of a strict-check failure: where, why, and for the marks of an unquoted template token
 * (a missing value, a bare word, a leading zero) the fix in Clay, since this detail is what the Clay cell shows. */
static void strict_detail(char *detail, size_t detail_size, const cw_json_strict_error_t *e)
{
    snprintf(detail, detail_size, "invalid JSON at line %zu, column %zu (byte %zu): %s%s", e->line, e->column, e->offset, e->reason,
             e->value_expected ? "; Clay tokens must be quoted, numbers included (\"icp_score\": \"/ICP Score\")" : "");
}

cw_lead_status_t cw_lead_parse(cw_lead_t *out, const char *body, size_t body_len, char *detail, size_t detail_size)
{
    cw_lead_status_t status;
    const char *end = NULL;
    cw_json_strict_error_t strict_err;

    memset(out, 0, sizeof(*out));
    if (detail_size != 0) {
        detail[0] = '\0';
    }
    if (body == NULL || body_len == 0) {
        snprintf(detail, detail_size, "empty body");
        status = CW_LEAD_BAD_JSON;
        goto Exit;
    }
    if (memchr(body, '\0', body_len) != NULL) {
        snprintf(detail, detail_size, "body contains a NUL byte");
        status = CW_LEAD_BAD_JSON;
        goto Exit;
    }
    /* cJSON is lenient (leading zeros, raw control bytes, invalid UTF-8): only a strict RFC 8259 text reaches it, so
     * the record, which embeds the body as received, is always valid JSON. */
    if (!cw_json_strict_check(body, body_len, CW_LEAD_MAX_DEPTH, &strict_err)) {
        strict_detail(detail, detail_size, &strict_err);
        status = CW_LEAD_BAD_JSON;
        goto Exit;
    }
    /* A UTF-8 byte-order mark is skipped here, not by cJSON: cJSON 1.7.15 fails a number that ends the text
     * right after one ("\xef\xbb\xbf0", found by fuzz_lead). */
    if (body_len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0) {
        body += 3;
        body_len -= 3;
    }
    /* Not require_null_terminated: cJSON then insists on a NUL inside the
     * length, and the body has none. Trailing bytes are checked below. */
    if ((out->original = cJSON_ParseWithLengthOpts(body, body_len, &end, 0)) == NULL) {
        snprintf(detail, detail_size, "body is not valid JSON");
        status = CW_LEAD_BAD_JSON;
        goto Exit;
    }
    if (end == NULL || end < body || end > body + body_len) {
        end = body;
    }
    for (; end != body + body_len; ++end) {
        if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
            snprintf(detail, detail_size, "unexpected bytes after the JSON value");
            status = CW_LEAD_BAD_JSON;
            goto Exit;
        }
    }
    if (!cJSON_IsObject(out->original)) {
        snprintf(detail, detail_size, "body must be a JSON object");
        status = CW_LEAD_NOT_OBJECT;
        goto Exit;
    }
    status = normalise(out, detail, detail_size);

Exit:
    if (status != CW_LEAD_OK) {
        cw_lead_free(out);
    }
    return status;
}

void cw_lead_free(cw_lead_t *lead)
{
    if (lead == NULL) {
        return;
    }
    /* The normalised tree may reference values of the original one: it goes first. */
    cJSON_Delete(lead->normalised);
    cJSON_Delete(lead->original);
    memset(lead, 0, sizeof(*lead));
}

const char *cw_lead_status_name(cw_lead_status_t s)
{
    switch (s) {
    case CW_LEAD_OK:
        return "ok";
    case CW_LEAD_BAD_JSON:
        return "bad_json";
    case CW_LEAD_NOT_OBJECT:
        return "not_object";
    case CW_LEAD_BAD_FIELD:
        return "bad_field";
    }
    return "unknown";
}
