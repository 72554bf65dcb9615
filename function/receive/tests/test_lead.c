/*
 * test_lead.c: JSON parsing limits and the alias table. Every body is copied
 * into an exact-size heap buffer without a NUL (and freed right after parsing),
 * so a sanitizer build catches reads past the body or pointers kept into it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cw/util.h"
#include "lead.h"

static char detail[256];

static cw_lead_status_t parse_n(cw_lead_t *lead, const char *body, size_t len)
{
    char *copy = malloc(len != 0 ? len : 1);
    memcpy(copy, body, len);
    detail[0] = '\0';
    cw_lead_status_t s = cw_lead_parse(lead, copy, len, detail, sizeof(detail));
    memset(copy, 'X', len); /* anything still pointing into the body would now read X */
    free(copy);
    return s;
}

static cw_lead_status_t parse(cw_lead_t *lead, const char *body)
{
    return parse_n(lead, body, strlen(body));
}

static void expect_status(const char *body, cw_lead_status_t expected)
{
    cw_lead_t lead;
    cw_lead_status_t s = parse(&lead, body);
    if (s != expected) {
        fail_msg("%s: got %s (%s), want %s", body, cw_lead_status_name(s), detail, cw_lead_status_name(expected));
    }
    if (s != CW_LEAD_OK) {
        assert_null(lead.original);
        assert_null(lead.normalised);
        assert_true(strlen(detail) > 0);
    }
    cw_lead_free(&lead);
}

static void test_aliases(void **state)
{
    static const struct {
        const char *key, *canonical;
    } cases[] = {
        {"email", "email"},
        {"Email", "email"},
        {"work email", "email"},
        {"Work Email", "email"},
        {"work_email", "email"},
        {"WorkEmail", "email"},
        {"WORK-EMAIL", "email"},
        {"email address", "email"},
        {"Email Address", "email"},
        {"business email", "email"},
        {"person email", "email"},
        {"first name", "first_name"},
        {"First Name", "first_name"},
        {"firstname", "first_name"},
        {"first_name", "first_name"},
        {"given name", "first_name"},
        {"last name", "last_name"},
        {"lastname", "last_name"},
        {"surname", "last_name"},
        {"family name", "last_name"},
        {"full name", "full_name"},
        {"Full Name", "full_name"},
        {"name", "full_name"},
        {"person name", "full_name"},
        {"company", "company"},
        {"company name", "company"},
        {"company_name", "company"},
        {"Company Name", "company"},
        {"organization", "company"},
        {"organisation", "company"},
        {"account name", "company"},
        {"domain", "domain"},
        {"company domain", "domain"},
        {"website", "domain"},
        {"company website", "domain"},
        {"title", "title"},
        {"job title", "title"},
        {"job_title", "title"},
        {"Job Title", "title"},
        {"position", "title"},
        {"role", "title"},
        {"linkedin", "linkedin_url"},
        {"linkedin url", "linkedin_url"},
        {"LinkedIn URL", "linkedin_url"},
        {"linkedin profile", "linkedin_url"},
        {"linkedin_profile_url", "linkedin_url"},
        {"industry", "industry"},
        {"Industry", "industry"},
    };

    for (size_t i = 0; i != CW_ARRAY_SIZE(cases); ++i) {
        char body[256];
        cw_lead_t lead;
        snprintf(body, sizeof(body), "{\"%s\": \"  value %zu \"}", cases[i].key, i);
        assert_int_equal(parse(&lead, body), CW_LEAD_OK);
        char want[32];
        snprintf(want, sizeof(want), "value %zu", i);
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(lead.normalised, cases[i].canonical);
        if (!cJSON_IsString(item) || strcmp(item->valuestring, want) != 0) {
            fail_msg("key \"%s\" did not become %s", cases[i].key, cases[i].canonical);
        }
        assert_int_equal(cJSON_GetArraySize(lead.normalised), 1);
        const char *ptr = NULL;
        const char *canonical = cases[i].canonical;
        if (strcmp(canonical, "email") == 0) {
            ptr = lead.email;
        } else if (strcmp(canonical, "first_name") == 0) {
            ptr = lead.first_name;
        } else if (strcmp(canonical, "last_name") == 0) {
            ptr = lead.last_name;
        } else if (strcmp(canonical, "full_name") == 0) {
            ptr = lead.full_name;
        } else if (strcmp(canonical, "company") == 0) {
            ptr = lead.company;
        } else if (strcmp(canonical, "domain") == 0) {
            ptr = lead.domain;
        } else if (strcmp(canonical, "title") == 0) {
            ptr = lead.title;
        } else if (strcmp(canonical, "linkedin_url") == 0) {
            ptr = lead.linkedin_url;
        } else if (strcmp(canonical, "industry") == 0) {
            ptr = lead.industry;
        }
        assert_non_null(ptr);
        assert_ptr_equal(ptr, item->valuestring);
        /* the original keeps the key and the untrimmed value */
        const cJSON *orig = cJSON_GetObjectItemCaseSensitive(lead.original, cases[i].key);
        assert_true(cJSON_IsString(orig));
        assert_true(orig->valuestring[0] == ' ');
        cw_lead_free(&lead);
    }
}

static void test_numeric_aliases(void **state)
{
    static const char *const score_keys[] = {"icp score", "ICP Score", "icp_score", "IcpScore",   "icp-score", "icp",
                                             "ICP",       "score",     "Score",     "lead score", "Lead_Score"};
    static const char *const employee_keys[] = {"employee count", "Employee Count", "employees", "employee_count",
                                                "company size",   "Company Size",   "headcount", "number of employees"};
    cw_lead_t lead;
    char body[128];

    for (size_t i = 0; i != CW_ARRAY_SIZE(score_keys); ++i) {
        snprintf(body, sizeof(body), "{\"%s\": %zu}", score_keys[i], i + 10);
        assert_int_equal(parse(&lead, body), CW_LEAD_OK);
        assert_true(lead.has_score);
        assert_true(lead.icp_score == (double)(i + 10));
        assert_true(cJSON_GetObjectItemCaseSensitive(lead.normalised, "icp_score")->valuedouble == (double)(i + 10));
        cw_lead_free(&lead);
    }
    for (size_t i = 0; i != CW_ARRAY_SIZE(employee_keys); ++i) {
        snprintf(body, sizeof(body), "{\"%s\": \"%zu\"}", employee_keys[i], i + 1000);
        assert_int_equal(parse(&lead, body), CW_LEAD_OK);
        assert_true(lead.has_employees);
        assert_true(lead.employee_count == (double)(i + 1000));
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(lead.normalised, "employee_count");
        assert_true(cJSON_IsNumber(item));
        assert_true(item->valuedouble == (double)(i + 1000));
        cw_lead_free(&lead);
    }
}

static void test_numeric_strings(void **state)
{
    static const struct {
        const char *json;
        double value;
    } scores[] = {
        {"85", 85},       {"\"85\"", 85}, {"\" 85 \"", 85},  {"\"\\t85\\n\"", 85}, {"\"85.5\"", 85.5},
        {"85.5", 85.5},   {"0", 0},       {"100", 100},      {"\"100\"", 100},     {"\"100.0\"", 100},
        {"\"1e2\"", 100}, {"1e2", 100},   {"\"+42\"", 42},   {"\".5\"", 0.5},      {"\"5.\"", 5},
        {"\"-0\"", 0},    {"-0", 0},      {"\"0,085\"", 85}, {"1E1", 10},          {"\"9.99e1\"", 99.9},
    };
    static const struct {
        const char *json;
        double value;
    } employees[] = {
        {"\"1,200\"", 1200},
        {"\" 1,200 \"", 1200},
        {"\"1,200,000\"", 1200000},
        {"\"12,345.5\"", 12345.5},
        {"1200", 1200},
        {"\"0\"", 0},
        {"0", 0},
        {"\"1e6\"", 1e6},
        {"\"999\"", 999},
        {"\"100,000\"", 100000},
        {"1.5e3", 1500},
    };
    cw_lead_t lead;
    char body[128];

    for (size_t i = 0; i != CW_ARRAY_SIZE(scores); ++i) {
        snprintf(body, sizeof(body), "{\"icp_score\": %s}", scores[i].json);
        if (parse(&lead, body) != CW_LEAD_OK) {
            fail_msg("%s: %s", body, detail);
        }
        assert_true(lead.has_score);
        if (lead.icp_score != scores[i].value) {
            fail_msg("%s: got %g", body, lead.icp_score);
        }
        cw_lead_free(&lead);
    }
    for (size_t i = 0; i != CW_ARRAY_SIZE(employees); ++i) {
        snprintf(body, sizeof(body), "{\"Employee Count\": %s}", employees[i].json);
        if (parse(&lead, body) != CW_LEAD_OK) {
            fail_msg("%s: %s", body, detail);
        }
        assert_true(lead.has_employees);
        if (lead.employee_count != employees[i].value) {
            fail_msg("%s: got %g", body, lead.employee_count);
        }
        cw_lead_free(&lead);
    }
}

static void test_bad_numbers(void **state)
{
    static const char *const bad_scores[] = {
        "-1",           "101",      "100.0001", "-0.5",     "\"-1\"",     "\"101\"",      "\"abc\"", "\"85abc\"",
        "\"85 %\"",     "\"85%\"",  "1e400",    "-1e400",   "\"1e400\"",  "\"NaN\"",      "\"nan\"", "\"inf\"",
        "\"Infinity\"", "\"0x50\"", "\"8 5\"",  "\"85,5\"", "\"8,5\"",    "\"1,2345\"",   "\",85\"", "\"85,\"",
        "\"1,,200\"",   "\"--5\"",  "\"+\"",    "\".\"",    "\"e5\"",     "\"5e\"",       "\"5e+\"", "true",
        "false",        "[]",       "[85]",     "{}",       "{\"v\":85}", "\"1234,567\"",
    };
    cw_lead_t lead;
    char body[128];

    for (size_t i = 0; i != CW_ARRAY_SIZE(bad_scores); ++i) {
        snprintf(body, sizeof(body), "{\"ICP Score\": %s, \"email\": \"a@b.c\"}", bad_scores[i]);
        if (parse(&lead, body) != CW_LEAD_BAD_FIELD) {
            fail_msg("%s: not a bad field", body);
        }
        assert_null(lead.normalised);
        if (strstr(detail, "icp_score") == NULL) {
            fail_msg("%s: detail \"%s\" does not name icp_score", body, detail);
        }
        assert_string_equal(detail, "icp_score must be a number from 0 to 100");
        cw_lead_free(&lead);
    }

    static const char *const bad_employees[] = {"-1", "\"-5\"", "\"abc\"", "\"1,20\"", "1e400", "true", "[1]", "\"many\""};
    for (size_t i = 0; i != CW_ARRAY_SIZE(bad_employees); ++i) {
        snprintf(body, sizeof(body), "{\"employees\": %s}", bad_employees[i]);
        if (parse(&lead, body) != CW_LEAD_BAD_FIELD) {
            fail_msg("%s: not a bad field", body);
        }
        assert_non_null(strstr(detail, "employee_count"));
        cw_lead_free(&lead);
    }

    /* the detail never echoes the value */
    assert_int_equal(parse(&lead, "{\"icp_score\": \"hunter2-value\"}"), CW_LEAD_BAD_FIELD);
    assert_null(strstr(detail, "hunter2"));
    cw_lead_free(&lead);
}

static void test_absent_values(void **state)
{
    cw_lead_t lead;

    assert_int_equal(parse(&lead, "{\"icp_score\": null, \"email\": null, \"company\": \"\", \"title\": \"   \", "
                                  "\"employees\": \"\", \"name\": \" \\t \"}"),
                     CW_LEAD_OK);
    assert_false(lead.has_score);
    assert_false(lead.has_employees);
    assert_null(lead.email);
    assert_null(lead.company);
    assert_null(lead.title);
    assert_null(lead.full_name);
    assert_int_equal(cJSON_GetArraySize(lead.normalised), 0);
    assert_int_equal(cJSON_GetArraySize(lead.original), 6);
    cw_lead_free(&lead);

    assert_int_equal(parse(&lead, "{}"), CW_LEAD_OK);
    assert_false(lead.has_score);
    assert_null(lead.email);
    cw_lead_free(&lead);

    /* empty score string with a valid alias later: the later one is used */
    assert_int_equal(parse(&lead, "{\"ICP Score\": \"\", \"score\": \"77\"}"), CW_LEAD_OK);
    assert_true(lead.has_score);
    assert_true(lead.icp_score == 77);
    cw_lead_free(&lead);
}

static void test_first_present_wins(void **state)
{
    cw_lead_t lead;

    assert_int_equal(parse(&lead, "{\"email\": \"\", \"Work Email\": \"w@x.io\", \"email_address\": \"e@x.io\", "
                                  "\"email\": \"late@x.io\"}"),
                     CW_LEAD_OK);
    assert_string_equal(lead.email, "w@x.io");
    /* losers are not in the normalised object, only in the original */
    assert_int_equal(cJSON_GetArraySize(lead.normalised), 1);
    assert_int_equal(cJSON_GetArraySize(lead.original), 4);
    cw_lead_free(&lead);

    assert_int_equal(parse(&lead, "{\"icp_score\": 90, \"score\": \"not validated: it lost\"}"), CW_LEAD_OK);
    assert_true(lead.icp_score == 90);
    cw_lead_free(&lead);

    /* duplicate identical keys: the first */
    assert_int_equal(parse(&lead, "{\"title\": \"CTO\", \"title\": \"CEO\"}"), CW_LEAD_OK);
    assert_string_equal(lead.title, "CTO");
    cw_lead_free(&lead);
}

static void test_text_types(void **state)
{
    cw_lead_t lead;

    assert_int_equal(parse(&lead, "{\"email\": 42}"), CW_LEAD_BAD_FIELD);
    assert_string_equal(detail, "email must be a string");
    cw_lead_free(&lead);
    assert_int_equal(parse(&lead, "{\"Work Email\": [\"a@b.c\"]}"), CW_LEAD_BAD_FIELD);
    assert_non_null(strstr(detail, "email"));
    cw_lead_free(&lead);
    assert_int_equal(parse(&lead, "{\"email\": true}"), CW_LEAD_BAD_FIELD);
    cw_lead_free(&lead);

    /* numbers in text fields become strings; other types pass through */
    assert_int_equal(parse(&lead, "{\"company\": 3, \"domain\": 1.5, \"title\": true, \"industry\": [\"SaaS\", \"AI\"], "
                                  "\"name\": {\"first\": \"Ada\"}}"),
                     CW_LEAD_OK);
    assert_string_equal(lead.company, "3");
    assert_string_equal(lead.domain, "1.5");
    assert_null(lead.title);
    assert_null(lead.industry);
    assert_null(lead.full_name);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(lead.normalised, "title")));
    char *printed = cJSON_PrintUnformatted(lead.normalised);
    assert_string_equal(printed, "{\"full_name\":{\"first\":\"Ada\"},\"company\":\"3\",\"domain\":\"1.5\",\"title\":true,"
                                 "\"industry\":[\"SaaS\",\"AI\"]}");
    free(printed);
    cw_lead_free(&lead);
}

static void test_unknown_fields_kept(void **state)
{
    cw_lead_t lead;
    static const char body[] =
        "{\"Row ID\": \"r-1\", \"Email\": \" Ada@Example.com \", \"custom\": {\"x\": [1, 2, {\"y\": null}]}, "
        "\"ICP Score\": \"91\", \"flag\": false, \"n\": 1.25, \"nothing\": null, \"emails\": \"other\", "
        "\"\": \"empty key\", \"route\": \"theirs\"}";
    char *printed;

    assert_int_equal(parse(&lead, body), CW_LEAD_OK);
    assert_string_equal(lead.email, "Ada@Example.com"); /* trimmed, case kept */
    assert_true(lead.icp_score == 91);
    printed = cJSON_PrintUnformatted(lead.normalised);
    assert_string_equal(printed,
                        "{\"email\":\"Ada@Example.com\",\"icp_score\":91,\"Row ID\":\"r-1\",\"custom\":{\"x\":[1,2,{\"y\":null}]},"
                        "\"flag\":false,\"n\":1.25,\"nothing\":null,\"emails\":\"other\",\"\":\"empty key\",\"route\":\"theirs\"}");
    free(printed);

    /* the normalised tree survives duplication and outlives nothing it shares */
    cJSON *copy = cJSON_Duplicate(lead.normalised, 1);
    cw_lead_free(&lead);
    printed = cJSON_PrintUnformatted(copy);
    assert_non_null(strstr(printed, "\"custom\":{\"x\":[1,2,{\"y\":null}]}"));
    free(printed);
    cJSON_Delete(copy);
}

static void test_not_object(void **state)
{
    static const char *const bodies[] = {"[]",  "[{\"email\":\"a@b.c\"}]", "1", "\"string\"", "null", "true", "false", " 42 ",
                                         "-0.5"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(bodies); ++i) {
        expect_status(bodies[i], CW_LEAD_NOT_OBJECT);
    }
}

static void test_bad_json(void **state)
{
    static const char *const bodies[] = {
        "{",
        "}",
        "{\"a\":",
        "{\"a\":1",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{'a':1}",
        "nope",
        "{\"a\":tru}",
        "{\"a\":tru",
        "{\"a\":\"x",
        "{\"a\":\"x\\",
        "{\"a\":\"\\u12\"}",
        "{a:1}",
        "   ",
        "\n",
        "{\"a\":1}x",
        "{}{}",
        "{} {}",
        "{}]",
        "[]]",
        "{},",
        "{\"a\":1} // c",
        "\xef\xbb\xbf",
        "{\"a\":NaN}",
        "{\"a\":.5}",
    };
    for (size_t i = 0; i != CW_ARRAY_SIZE(bodies); ++i) {
        expect_status(bodies[i], CW_LEAD_BAD_JSON);
    }
    cw_lead_t lead;
    assert_int_equal(parse_n(&lead, "", 0), CW_LEAD_BAD_JSON);
    assert_int_equal(cw_lead_parse(&lead, NULL, 0, detail, sizeof(detail)), CW_LEAD_BAD_JSON);
    /* a NUL after the value is trailing garbage too */
    assert_int_equal(parse_n(&lead, "{}\0", 3), CW_LEAD_BAD_JSON);
    assert_int_equal(parse_n(&lead, "{\"a\":\"b\0c\"}", 11), CW_LEAD_BAD_JSON);
    assert_string_equal(detail, "body contains a NUL byte");
    /* whitespace around the value is fine */
    expect_status(" \t\r\n{}\r\n \t", CW_LEAD_OK);
    expect_status("\xef\xbb\xbf{}", CW_LEAD_OK); /* a UTF-8 BOM */
}

static char *nested(int depth, int use_arrays)
{
    cw_buf_t buf = CW_BUF_INIT;
    cw_buf_appends(&buf, "{\"a\":");
    for (int i = 1; i < depth; ++i) {
        cw_buf_appends(&buf, use_arrays ? "[" : "{\"a\":");
    }
    cw_buf_appends(&buf, "1");
    for (int i = 1; i < depth; ++i) {
        cw_buf_appends(&buf, use_arrays ? "]" : "}");
    }
    cw_buf_appends(&buf, "}");
    return cw_buf_release(&buf, NULL);
}

static void test_depth(void **state)
{
    static const struct {
        int depth;
        cw_lead_status_t expected;
    } cases[] = {{1, CW_LEAD_OK},        {60, CW_LEAD_OK},        {64, CW_LEAD_OK},
                 {65, CW_LEAD_BAD_JSON}, {200, CW_LEAD_BAD_JSON}, {5000, CW_LEAD_BAD_JSON}};

    for (size_t i = 0; i != CW_ARRAY_SIZE(cases); ++i) {
        for (int arrays = 0; arrays != 2; ++arrays) {
            char *body = nested(cases[i].depth, arrays);
            expect_status(body, cases[i].expected);
            free(body);
        }
    }
    /* brackets inside strings (also after escaped quotes) do not count */
    cw_buf_t buf = CW_BUF_INIT;
    cw_buf_appends(&buf, "{\"a\\\"[\":\"");
    for (int i = 0; i != 200; ++i) {
        cw_buf_appends(&buf, "[{");
    }
    cw_buf_appends(&buf, "\\\"\\\\\"}");
    expect_status(buf.base, CW_LEAD_OK);
    cw_buf_free(&buf);

    /* unbalanced closing brackets do not let a deep one through */
    char *deep = nested(65, 0);
    cw_buf_appends(&buf, "]]]]]]]]]]");
    cw_buf_appends(&buf, deep);
    expect_status(buf.base, CW_LEAD_BAD_JSON);
    cw_buf_free(&buf);
    free(deep);
}

static void test_unicode_and_bytes(void **state)
{
    cw_lead_t lead;

    assert_int_equal(parse(&lead, "{\"Full Name\": \"Jos\xc3\xa9 M\xc3\xbcller \xe5\x8c\x97\xe4\xba\xac \xf0\x9f\x9a\x80\", "
                                  "\"Company\": \"\\u00c9cole \\ud83d\\ude80\", \"Pr\xc3\xa9nom\": \"Zo\xc3\xab\"}"),
                     CW_LEAD_OK);
    assert_string_equal(lead.full_name, "Jos\xc3\xa9 M\xc3\xbcller \xe5\x8c\x97\xe4\xba\xac \xf0\x9f\x9a\x80");
    assert_string_equal(lead.company, "\xc3\x89"
                                      "cole \xf0\x9f\x9a\x80");
    const cJSON *unknown = cJSON_GetObjectItemCaseSensitive(lead.normalised, "Pr\xc3\xa9nom");
    assert_true(cJSON_IsString(unknown));
    assert_string_equal(unknown->valuestring, "Zo\xc3\xab");
    cw_lead_free(&lead);

    /* RFC 8259: raw control characters inside strings and invalid UTF-8 anywhere are not JSON (400),
     * while escapes such as \u0000 are fine. */
    static const char *const bad[] = {
        "{\"name\": \"\xff\xfe\"}",         /* bytes that never start UTF-8 */
        "{\"name\": \"\xc3\"}",             /* truncated sequence */
        "{\"name\": \"\xc0\xaf\"}",         /* overlong */
        "{\"name\": \"\xed\xa0\x80\"}",     /* encoded surrogate */
        "{\"name\": \"\xf4\x90\x80\x80\"}", /* past U+10FFFF */
        "{\"\xff\": 1}",                    /* in a key */
        "{\"name\": \"a\x01b\"}",           /* raw control character */
        "{\"name\": \"tab\there\"}",        /* raw tab inside a string */
    };
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        assert_int_equal(parse_n(&lead, bad[i], strlen(bad[i])), CW_LEAD_BAD_JSON);
        cw_lead_free(&lead);
    }
    static const char ok[] = "{\"name\": \"Zo\xc3\xab\", \"title\": \"a\\u0000b\",\n\t\"x\": \"\xf0\x9f\x9a\x80\"}";
    assert_int_equal(parse_n(&lead, ok, sizeof(ok) - 1), CW_LEAD_OK);
    char *printed = cJSON_PrintUnformatted(lead.normalised);
    assert_non_null(printed);
    free(printed);
    cw_lead_free(&lead);
}

static void test_free_is_safe(void **state)
{
    cw_lead_t lead;
    memset(&lead, 0, sizeof(lead));
    cw_lead_free(&lead);
    cw_lead_free(NULL);
    assert_int_equal(parse(&lead, "{\"email\":\"a@b.c\"}"), CW_LEAD_OK);
    cw_lead_free(&lead);
    cw_lead_free(&lead);
    assert_null(lead.email);
    /* a small detail buffer is fine */
    char small[8];
    assert_int_equal(cw_lead_parse(&lead, "[]", 2, small, sizeof(small)), CW_LEAD_NOT_OBJECT);
    assert_true(strlen(small) < sizeof(small));
    assert_int_equal(cw_lead_parse(&lead, "[]", 2, NULL, 0), CW_LEAD_NOT_OBJECT);
}

static void test_key_fold(void **state)
{
    char out[16];
    assert_int_equal(cw_lead_key_fold(out, sizeof(out), CW_STRLIT("Work E-mail_Address ")), -1); /* 16 + NUL */
    assert_int_equal(cw_lead_key_fold(out, sizeof(out), CW_STRLIT(" I_C-P Score")), 8);
    assert_string_equal(out, "icpscore");
    assert_int_equal(cw_lead_key_fold(out, sizeof(out), CW_STRLIT("___")), 0);
    assert_string_equal(out, "");
    assert_int_equal(cw_lead_key_fold(out, sizeof(out), CW_STRLIT("abcdefghijklmno")), 15);
    assert_int_equal(cw_lead_key_fold(out, sizeof(out), CW_STRLIT("abcdefghijklmnop")), -1);
}

/* Random mutations of a realistic body: never crashes, never leaks (under ASan/LSan). */
static void test_mutations(void **state)
{
    static const char seed[] = "{\"Work Email\":\"ada@example.com\",\"ICP Score\":\"91\",\"Employees\":\"1,200\","
                               "\"Full Name\":\"Ada L\",\"x\":[1,{\"y\":[true,null,\"\\u00e9\"]}],\"n\":-1.5e3}";
    uint64_t s = 0x243f6a8885a308d3ull;
    static const char alphabet[] = "{}[]\",:\\0123456789-+.eE tfnul\x01\xff";

    for (int iter = 0; iter != 20000; ++iter) {
        char body[sizeof(seed)];
        size_t len = sizeof(seed) - 1;
        memcpy(body, seed, len);
        int edits = 1 + iter % 4;
        for (int e = 0; e != edits; ++e) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            size_t at = (size_t)(s % len);
            switch ((s >> 32) % 3) {
            case 0:
                body[at] = alphabet[(s >> 40) % (sizeof(alphabet) - 1)];
                break;
            case 1:
                len = at; /* truncate */
                break;
            default:
                body[at] = (char)(s >> 48);
                break;
            }
            if (len == 0) {
                break;
            }
        }
        cw_lead_t lead;
        cw_lead_status_t st = parse_n(&lead, body, len);
        assert_true(st == CW_LEAD_OK || st == CW_LEAD_BAD_JSON || st == CW_LEAD_NOT_OBJECT || st == CW_LEAD_BAD_FIELD);
        if (st == CW_LEAD_OK) {
            char *printed = cJSON_PrintUnformatted(lead.normalised);
            assert_non_null(printed);
            free(printed);
        }
        cw_lead_free(&lead);
    }
}

/* Issue 15: what a quoted Clay token of an empty cell renders as is absent in a known field (not in an unknown one). */
static void test_absent_words(void **state)
{
    cw_lead_t lead;
    /* as JSON source (escapes allowed), and as the string it decodes to */
    static const char *const words[] = {"null", "NULL", " undefined ", "Undefined", "none", "None", "n/a", "N/A", "\\t n/a\\n"};
    static const char *const decoded[] = {"null", "NULL", " undefined ", "Undefined", "none", "None", "n/a", "N/A", "\t n/a\n"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(words); ++i) {
        char body[200];
        snprintf(body, sizeof(body), "{\"email\": \"%s\", \"icp_score\": \"%s\", \"Company\": \"%s\", \"x\": \"%s\"}", words[i],
                 words[i], words[i], words[i]);
        if (parse(&lead, body) != CW_LEAD_OK) {
            fail_msg("%s: %s", body, detail);
        }
        assert_null(lead.email);
        assert_null(lead.company);
        assert_false(lead.has_score);
        /* unknown fields are passed on as they are */
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(lead.normalised, "x")->valuestring, decoded[i]);
        cw_lead_free(&lead);
    }
    /* the first present alias wins over an absent word */
    assert_int_equal(parse(&lead, "{\"email\": \"null\", \"Work Email\": \"a@b.c\"}"), CW_LEAD_OK);
    assert_string_equal(lead.email, "a@b.c");
    cw_lead_free(&lead);
    /* words that merely contain them are values */
    assert_int_equal(parse(&lead, "{\"company\": \"None Ltd\", \"title\": \"n/a/b\", \"first_name\": \"Nulla\"}"), CW_LEAD_OK);
    assert_string_equal(lead.company, "None Ltd");
    assert_string_equal(lead.title, "n/a/b");
    assert_string_equal(lead.first_name, "Nulla");
    cw_lead_free(&lead);
    assert_int_equal(cw_lead_text_is_absent(NULL, 0), 1);
    assert_int_equal(cw_lead_text_is_absent("nul", 3), 0);
}

/* Issues 12 and 15: what cJSON alone would take (leading zeros) is refused; the detail names the position, and adds the
 * Clay hint only where a value is missing or bare. */
static void test_strict_json_detail(void **state)
{
    cw_lead_t lead;
    assert_int_equal(parse(&lead, "{\"zip\": 0042}"), CW_LEAD_BAD_JSON);
    assert_string_equal(detail,
                        "invalid JSON at line 1, column 9 (byte 8): number with a leading zero; Clay tokens must be quoted, "
                        "numbers included (\"icp_score\": \"/ICP Score\")");
    assert_int_equal(parse(&lead, "{\"email\": \"a@b.c\",\n \"icp_score\": }"), CW_LEAD_BAD_JSON);
    assert_non_null(strstr(detail, "line 2, column 15"));
    assert_non_null(strstr(detail, "Clay tokens must be quoted"));
    assert_int_equal(parse(&lead, "{\"a\": 1} x"), CW_LEAD_BAD_JSON);
    assert_non_null(strstr(detail, "after the JSON value"));
    assert_null(strstr(detail, "Clay"));
    assert_int_equal(parse(&lead, "{\"icp_score\": \"0042\"}"), CW_LEAD_OK);
    assert_true(lead.has_score);
    assert_true(lead.icp_score == 42);
    cw_lead_free(&lead);
    /* a small detail buffer truncates, never overflows */
    char small[16];
    assert_int_equal(cw_lead_parse(&lead, "[01]", 4, small, sizeof(small)), CW_LEAD_BAD_JSON);
    assert_int_equal(strlen(small), sizeof(small) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_numeric_aliases),
        cmocka_unit_test(test_numeric_strings),
        cmocka_unit_test(test_bad_numbers),
        cmocka_unit_test(test_absent_values),
        cmocka_unit_test(test_first_present_wins),
        cmocka_unit_test(test_text_types),
        cmocka_unit_test(test_unknown_fields_kept),
        cmocka_unit_test(test_not_object),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_unicode_and_bytes),
        cmocka_unit_test(test_free_is_safe),
        cmocka_unit_test(test_key_fold),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_absent_words),
        cmocka_unit_test(test_strict_json_detail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
