/* test_gen.c: the lead generator is deterministic, emits JSON objects, varies types when asked, and its
 * routing facts agree with what a parser of the body would conclude. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "gen.h"

#define NUM_LEADS 2000

static void test_deterministic(void **state)
{
    for (unsigned flags = 0; flags <= CW_GEN_MUTATE_TYPES; flags += CW_GEN_MUTATE_TYPES) {
        for (size_t i = 0; i != 200; ++i) {
            size_t a_len, b_len, c_len;
            char *a = cw_gen_lead_json(42, i, flags, &a_len);
            char *b = cw_gen_lead_json(42, i, flags, &b_len);
            char *c = cw_gen_lead_json(43, i, flags, &c_len);
            assert_int_equal(a_len, b_len);
            assert_memory_equal(a, b, a_len);
            assert_int_equal(strlen(a), a_len);
            assert_false(a_len == c_len && memcmp(a, c, a_len) == 0);
            free(a);
            free(b);
            free(c);
        }
    }
}

static void test_indexes_differ(void **state)
{
    char *bodies[300];
    for (size_t i = 0; i != 300; ++i) {
        bodies[i] = cw_gen_lead_json(7, i, 0, NULL);
        cw_gen_facts_t f;
        cw_gen_lead_facts(7, i, &f);
        for (size_t k = 0; k != i; ++k) {
            assert_string_not_equal(bodies[i], bodies[k]);
        }
    }
    for (size_t i = 0; i != 300; ++i) {
        free(bodies[i]);
    }
}

/* A change to the generator changes every recorded expectation built on it: make it deliberate. */
static void test_golden(void **state)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i != 100; ++i) {
        size_t len;
        char *body = cw_gen_lead_json(1, i, i % 2 ? CW_GEN_MUTATE_TYPES : 0, &len);
        for (size_t k = 0; k != len; ++k) {
            h = (h ^ (uint8_t)body[k]) * UINT64_C(0x100000001b3);
        }
        free(body);
    }
    size_t len;
    char *first = cw_gen_lead_json(1, 0, 0, &len);
    print_message("lead 1/0: %s\nfnv: %016llx\n", first, (unsigned long long)h);
    free(first);
    assert_int_equal(h, UINT64_C(0xfa803dbad870bb63));
}

static const cJSON *field(const cJSON *obj, const char *const *names)
{
    for (size_t i = 0; names[i] != NULL; ++i) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, names[i]);
        if (v != NULL) {
            return v;
        }
    }
    return NULL;
}

/* parse_score reads a score the way the function's contract says: a number, or a numeric string with
 * surrounding spaces; null, "" and absence mean no score. Returns 1 with the score, 0 for none. */
static int parse_score(const cJSON *v, double *out)
{
    if (v == NULL || cJSON_IsNull(v)) {
        return 0;
    }
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return 1;
    }
    assert_true(cJSON_IsString(v));
    const char *s = v->valuestring;
    while (*s == ' ') {
        ++s;
    }
    if (*s == '\0') {
        return 0;
    }
    char *end;
    *out = strtod(s, &end);
    while (*end == ' ') {
        ++end;
    }
    assert_int_equal(*end, '\0');
    return 1;
}

static void check_facts(uint64_t seed, size_t index, unsigned flags)
{
    static const char *const score_names[] = {"icp_score", "ICP Score", NULL};
    static const char *const email_names[] = {"email", "work_email", "Work Email", NULL};
    static const char *const row_names[] = {"row_id", "Row ID", NULL};
    size_t len;
    char *body = cw_gen_lead_json(seed, index, flags, &len);
    cJSON *obj = cJSON_ParseWithLength(body, len);
    if (obj == NULL || !cJSON_IsObject(obj)) {
        fail_msg("lead %zu is not a JSON object: %s", index, body);
    }
    cw_gen_facts_t facts;
    cw_gen_lead_facts(seed, index, &facts);

    double score = 0;
    int has_score = parse_score(field(obj, score_names), &score);
    const cJSON *email = field(obj, email_names);
    int has_email = cJSON_IsString(email) && email->valuestring[0] != '\0';
    if (has_email) {
        assert_non_null(strchr(email->valuestring, '@'));
    }
    cw_gen_route_t route = CW_GEN_ROUTE_SKIP;
    if (has_score && score >= 80 && has_email) {
        route = CW_GEN_ROUTE_OUTREACH;
    } else if (has_score && score >= 50) {
        route = CW_GEN_ROUTE_NURTURE;
    }
    assert_int_equal(has_score, facts.has_score);
    assert_int_equal(has_email, facts.has_email);
    if (has_score) {
        assert_true(score >= 0 && score <= 100);
        assert_true(score == facts.score);
        assert_int_equal(lround(score * 100), facts.score_centi);
    }
    if (route != facts.route) {
        fail_msg("lead %zu: body says %s, facts say %s: %s", index, cw_gen_route_name(route), cw_gen_route_name(facts.route), body);
    }
    assert_int_equal(facts.slack, has_score && score >= 90);
    const cJSON *row = field(obj, row_names);
    assert_true(cJSON_IsString(row));
    assert_string_equal(row->valuestring, facts.row_id);
    cJSON_Delete(obj);
    free(body);
}

static void test_facts_agree(void **state)
{
    for (size_t i = 0; i != NUM_LEADS; ++i) {
        check_facts(2026, i, 0);
        check_facts(2026, i, CW_GEN_MUTATE_TYPES);
    }
}

typedef struct {
    size_t string_scores, padded_scores, comma_counts, nulls, empty_strings, title_keys, work_email_keys;
    size_t missing_email, no_score, decimals, non_ascii_names, openers;
    size_t bands[4]; /* <50, 50-79.99, 80-89.99, >=90 */
    size_t routes[3];
} stats_t;

static void collect(uint64_t seed, unsigned flags, stats_t *st)
{
    memset(st, 0, sizeof(*st));
    for (size_t i = 0; i != NUM_LEADS; ++i) {
        size_t len;
        char *body = cw_gen_lead_json(seed, i, flags, &len);
        cJSON *obj = cJSON_ParseWithLength(body, len);
        assert_non_null(obj);
        const cJSON *score = cJSON_GetObjectItemCaseSensitive(obj, "icp_score");
        if (score == NULL) {
            score = cJSON_GetObjectItemCaseSensitive(obj, "ICP Score");
        }
        if (cJSON_IsString(score) && score->valuestring[0] != '\0') {
            st->string_scores += 1;
            st->padded_scores += score->valuestring[0] == ' ';
        }
        for (const cJSON *c = obj->child; c != NULL; c = c->next) {
            st->nulls += cJSON_IsNull(c);
            st->empty_strings += cJSON_IsString(c) && c->valuestring[0] == '\0';
            if (strcmp(c->string, "Employee Count") == 0 || strcmp(c->string, "employee_count") == 0) {
                st->comma_counts += cJSON_IsString(c) && strchr(c->valuestring, ',') != NULL;
            }
        }
        st->title_keys += cJSON_GetObjectItemCaseSensitive(obj, "Company Name") != NULL;
        st->work_email_keys += cJSON_GetObjectItemCaseSensitive(obj, "work_email") != NULL;
        const cJSON *first = cJSON_GetObjectItemCaseSensitive(obj, "first_name");
        if (first == NULL) {
            first = cJSON_GetObjectItemCaseSensitive(obj, "First Name");
        }
        for (const char *s = first->valuestring; *s != '\0'; ++s) {
            if ((unsigned char)*s >= 0x80) {
                st->non_ascii_names += 1;
                break;
            }
        }
        st->openers += strstr(body, "pener\"") != NULL;
        cw_gen_facts_t f;
        cw_gen_lead_facts(seed, i, &f);
        st->missing_email += !f.has_email;
        st->no_score += !f.has_score;
        if (f.has_score) {
            st->decimals += f.score_centi % 100 != 0;
            st->bands[f.score < 50 ? 0 : f.score < 80 ? 1 : f.score < 90 ? 2 : 3] += 1;
        }
        st->routes[f.route] += 1;
        cJSON_Delete(obj);
        free(body);
    }
}

static void test_plain_shape(void **state)
{
    stats_t st;
    collect(99, 0, &st);
    /* Without mutation: numbers are numbers, nothing is null or "", snake_case keys. */
    assert_int_equal(st.string_scores, 0);
    assert_int_equal(st.comma_counts, 0);
    assert_int_equal(st.nulls, 0);
    assert_int_equal(st.empty_strings, 0);
    assert_int_equal(st.title_keys, 0);
    assert_int_equal(st.work_email_keys, 0);
    /* The spread the brief asks for. */
    assert_in_range(st.missing_email, NUM_LEADS * 2 / 100, NUM_LEADS * 9 / 100);
    assert_in_range(st.no_score, 1, NUM_LEADS * 6 / 100);
    assert_in_range(st.decimals, NUM_LEADS * 5 / 100, NUM_LEADS * 25 / 100);
    assert_true(st.non_ascii_names > NUM_LEADS / 10);
    assert_true(st.openers > NUM_LEADS / 10);
    for (size_t i = 0; i != 4; ++i) {
        assert_true(st.bands[i] > NUM_LEADS / 20);
    }
    for (size_t i = 0; i != 3; ++i) {
        assert_true(st.routes[i] > NUM_LEADS / 10);
    }
}

static void test_mutated_shape(void **state)
{
    stats_t st;
    collect(99, CW_GEN_MUTATE_TYPES, &st);
    assert_true(st.string_scores > NUM_LEADS / 10);
    assert_true(st.padded_scores > NUM_LEADS / 50);
    assert_true(st.comma_counts > NUM_LEADS / 20);
    assert_true(st.nulls > NUM_LEADS / 20);
    assert_true(st.empty_strings > NUM_LEADS / 20);
    assert_true(st.title_keys > NUM_LEADS / 10);
    assert_true(st.work_email_keys > NUM_LEADS / 20);
    /* Mutation never changes meaning: same facts as without it. */
    stats_t plain;
    collect(99, 0, &plain);
    assert_int_equal(st.missing_email, plain.missing_email);
    assert_int_equal(st.no_score, plain.no_score);
    assert_memory_equal(st.routes, plain.routes, sizeof(st.routes));
}

static void test_thresholds(void **state)
{
    cw_gen_facts_t f;
    cw_gen_sinks_t s;
    memset(&f, 0, sizeof(f));
    cw_gen_expected_sinks(&f, NULL, &s);
    assert_int_equal(s.outreach + s.nurture + s.zapier + s.slack, 0);

    f.has_score = 1;
    f.score = 95;
    f.score_centi = 9500;
    cw_gen_expected_sinks(&f, NULL, &s); /* no email: nurture, but still hot enough for slack */
    assert_int_equal(s.outreach, 0);
    assert_int_equal(s.nurture, 1);
    assert_int_equal(s.zapier, 1);
    assert_int_equal(s.slack, 1);
    f.has_email = 1;
    cw_gen_expected_sinks(&f, NULL, &s);
    assert_int_equal(s.outreach, 1);
    assert_int_equal(s.nurture, 0);

    f.score = 79.99;
    assert_int_equal(cw_gen_route(&f, NULL), CW_GEN_ROUTE_NURTURE);
    f.score = 80;
    assert_int_equal(cw_gen_route(&f, NULL), CW_GEN_ROUTE_OUTREACH);
    f.score = 49;
    assert_int_equal(cw_gen_route(&f, NULL), CW_GEN_ROUTE_SKIP);
    cw_gen_thresholds_t t = {40, 20, 45};
    assert_int_equal(cw_gen_route(&f, &t), CW_GEN_ROUTE_OUTREACH);
    cw_gen_expected_sinks(&f, &t, &s);
    assert_int_equal(s.slack, 1);
    assert_string_equal(cw_gen_route_name(CW_GEN_ROUTE_NURTURE), "nurture");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic), cmocka_unit_test(test_indexes_differ), cmocka_unit_test(test_golden),
        cmocka_unit_test(test_facts_agree),   cmocka_unit_test(test_plain_shape),    cmocka_unit_test(test_mutated_shape),
        cmocka_unit_test(test_thresholds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
