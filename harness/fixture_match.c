/*
 * fixture_match.c: compares a response with a step's expectations: status,
 * headers, substrings and the JSON-subset rule (see cw_json_subset_match).
 */
#include <stdio.h>
#include <string.h>
#include "cw/util.h"
#include "fixture.h"

static void describe(const cJSON *v, char *out, size_t out_size)
{
    if (v == NULL) {
        snprintf(out, out_size, "nothing");
    } else if (cJSON_IsString(v)) {
        snprintf(out, out_size, "\"%.60s\"%s", v->valuestring, strlen(v->valuestring) > 60 ? "..." : "");
    } else if (cJSON_IsNumber(v)) {
        snprintf(out, out_size, "%.17g", v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        snprintf(out, out_size, "%s", cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsNull(v)) {
        snprintf(out, out_size, "null");
    } else if (cJSON_IsArray(v)) {
        snprintf(out, out_size, "an array of %d", cJSON_GetArraySize(v));
    } else {
        snprintf(out, out_size, "an object");
    }
}

static int mismatch(const char *path, const cJSON *expected, const cJSON *actual, char *why, size_t why_size)
{
    char e[96], a[96];
    describe(expected, e, sizeof(e));
    describe(actual, a, sizeof(a));
    if (why != NULL && why_size != 0) {
        if (actual == NULL) {
            snprintf(why, why_size, "%s: missing (expected %s)", path, e);
        } else {
            snprintf(why, why_size, "%s: expected %s, got %s", path, e, a);
        }
    }
    return 0;
}

static int subset_at(const cJSON *expected, const cJSON *actual, const char *path, char *why, size_t why_size)
{
    char sub[256];
    if (actual == NULL) {
        return mismatch(path, expected, actual, why, why_size);
    }
    if (cJSON_IsString(expected) && strcmp(expected->valuestring, "*") == 0) {
        return 1;
    }
    if (cJSON_IsObject(expected)) {
        if (!cJSON_IsObject(actual)) {
            return mismatch(path, expected, actual, why, why_size);
        }
        for (const cJSON *c = expected->child; c != NULL; c = c->next) {
            snprintf(sub, sizeof(sub), "%s.%s", path, c->string);
            if (!subset_at(c, cJSON_GetObjectItemCaseSensitive(actual, c->string), sub, why, why_size)) {
                return 0;
            }
        }
        return 1;
    }
    if (cJSON_IsArray(expected)) {
        if (!cJSON_IsArray(actual) || cJSON_GetArraySize(actual) != cJSON_GetArraySize(expected)) {
            return mismatch(path, expected, actual, why, why_size);
        }
        size_t i = 0;
        for (const cJSON *e = expected->child, *a = actual->child; e != NULL; e = e->next, a = a->next, ++i) {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if (!subset_at(e, a, sub, why, why_size)) {
                return 0;
            }
        }
        return 1;
    }
    int equal;
    if (cJSON_IsString(expected)) {
        equal = cJSON_IsString(actual) && strcmp(expected->valuestring, actual->valuestring) == 0;
    } else if (cJSON_IsNumber(expected)) {
        equal = cJSON_IsNumber(actual) && expected->valuedouble == actual->valuedouble;
    } else if (cJSON_IsBool(expected)) {
        equal = cJSON_IsBool(actual) && cJSON_IsTrue(expected) == cJSON_IsTrue(actual);
    } else {
        equal = cJSON_IsNull(expected) && cJSON_IsNull(actual);
    }
    return equal ? 1 : mismatch(path, expected, actual, why, why_size);
}

int cw_json_subset_match(const cJSON *expected, const cJSON *actual, char *why, size_t why_size)
{
    if (why != NULL && why_size != 0) {
        why[0] = '\0';
    }
    return subset_at(expected, actual, "$", why, why_size);
}

int cw_fixture_check_response(const cw_fixture_expect_t *expect, int status, const cw_fixture_header_t *headers, size_t num_headers,
                              const char *body, size_t body_len, char *why, size_t why_size)
{
    size_t i;
    for (i = 0; i != expect->num_statuses && expect->statuses[i] != status; ++i) {
    }
    if (i == expect->num_statuses) {
        char list[96] = "";
        for (size_t k = 0; k != expect->num_statuses; ++k) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof(list) - used, "%s%d", k != 0 ? " or " : "", expect->statuses[k]);
        }
        snprintf(why, why_size, "status: expected %s, got %d", list, status);
        return 0;
    }
    for (i = 0; i != expect->num_headers; ++i) {
        const cw_fixture_header_t *want = &expect->headers[i];
        const cw_fixture_header_t *got = NULL;
        for (size_t k = 0; k != num_headers && got == NULL; ++k) {
            if (cw_memeq_ci(headers[k].name, strlen(headers[k].name), want->name, strlen(want->name))) {
                got = &headers[k];
            }
        }
        if (got == NULL) {
            snprintf(why, why_size, "header %s: missing", want->name);
            return 0;
        }
        if (strcmp(want->value, "*") != 0 && strcmp(want->value, got->value) != 0) {
            snprintf(why, why_size, "header %s: expected \"%.80s\", got \"%.80s\"", want->name, want->value, got->value);
            return 0;
        }
    }
    for (i = 0; i != expect->num_body_contains; ++i) {
        const char *needle = expect->body_contains[i];
        if (body == NULL || memmem(body, body_len, needle, strlen(needle)) == NULL) {
            snprintf(why, why_size, "body: does not contain \"%.80s\"", needle);
            return 0;
        }
    }
    if (expect->json != NULL) {
        cJSON *actual = body != NULL ? cJSON_ParseWithLength(body, body_len) : NULL;
        if (actual == NULL) {
            snprintf(why, why_size, "body: not JSON");
            return 0;
        }
        int ok = cw_json_subset_match(expect->json, actual, why, why_size);
        cJSON_Delete(actual);
        return ok;
    }
    return 1;
}
