/*
 * test_route.c: route boundaries, sink selection, the sink and Slack payloads.
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
#include "route.h"

static const cw_route_config_t defaults = CW_ROUTE_CONFIG_DEFAULT;

#define EVENT_ID "4aed7eeb466400644c1d5e590c5354128433bab09a98aa1f648ae19842c42558"
#define RECEIVED_AT "2026-11-28T06:47:38.123Z"

static void parse_lead(cw_lead_t *lead, const char *body)
{
    char detail[128];
    if (cw_lead_parse(lead, body, strlen(body), detail, sizeof(detail)) != CW_LEAD_OK) {
        fail_msg("%s: %s", body, detail);
    }
}

static cw_route_t route_of(const char *body)
{
    cw_lead_t lead;
    parse_lead(&lead, body);
    cw_route_t r = cw_route_decide(&defaults, &lead);
    cw_lead_free(&lead);
    return r;
}

static void test_boundaries(void **state)
{
    static const struct {
        const char *body;
        cw_route_t expected;
    } cases[] = {
        {"{\"email\":\"a@b.c\",\"icp_score\":0}", CW_ROUTE_SKIP},
        {"{\"email\":\"a@b.c\",\"icp_score\":49}", CW_ROUTE_SKIP},
        {"{\"email\":\"a@b.c\",\"icp_score\":49.999}", CW_ROUTE_SKIP},
        {"{\"email\":\"a@b.c\",\"icp_score\":50}", CW_ROUTE_NURTURE},
        {"{\"email\":\"a@b.c\",\"icp_score\":\"50\"}", CW_ROUTE_NURTURE},
        {"{\"email\":\"a@b.c\",\"icp_score\":79}", CW_ROUTE_NURTURE},
        {"{\"email\":\"a@b.c\",\"icp_score\":79.99}", CW_ROUTE_NURTURE},
        {"{\"email\":\"a@b.c\",\"icp_score\":80}", CW_ROUTE_OUTREACH},
        {"{\"Work Email\":\"a@b.c\",\"ICP Score\":\" 80 \"}", CW_ROUTE_OUTREACH},
        {"{\"email\":\"a@b.c\",\"icp_score\":89}", CW_ROUTE_OUTREACH},
        {"{\"email\":\"a@b.c\",\"icp_score\":90}", CW_ROUTE_OUTREACH},
        {"{\"email\":\"a@b.c\",\"icp_score\":100}", CW_ROUTE_OUTREACH},
        /* a high score without an email can only be nurtured */
        {"{\"icp_score\":95}", CW_ROUTE_NURTURE},
        {"{\"email\":\"\",\"icp_score\":95}", CW_ROUTE_NURTURE},
        {"{\"email\":null,\"icp_score\":80}", CW_ROUTE_NURTURE},
        /* no score: skip, whatever else is there */
        {"{\"email\":\"a@b.c\"}", CW_ROUTE_SKIP},
        {"{\"email\":\"a@b.c\",\"icp_score\":null}", CW_ROUTE_SKIP},
        {"{\"email\":\"a@b.c\",\"icp_score\":\"\"}", CW_ROUTE_SKIP},
        {"{}", CW_ROUTE_SKIP},
    };
    for (size_t i = 0; i != CW_ARRAY_SIZE(cases); ++i) {
        cw_route_t r = route_of(cases[i].body);
        if (r != cases[i].expected) {
            fail_msg("%s: got %s, want %s", cases[i].body, cw_route_name(r), cw_route_name(cases[i].expected));
        }
    }

    /* thresholds come from the configuration */
    cw_route_config_t custom = {.outreach_min = 60, .nurture_min = 20, .slack_min = 99};
    cw_lead_t lead;
    parse_lead(&lead, "{\"email\":\"a@b.c\",\"icp_score\":60}");
    assert_int_equal(cw_route_decide(&custom, &lead), CW_ROUTE_OUTREACH);
    cw_lead_free(&lead);
    parse_lead(&lead, "{\"email\":\"a@b.c\",\"icp_score\":20}");
    assert_int_equal(cw_route_decide(&custom, &lead), CW_ROUTE_NURTURE);
    cw_lead_free(&lead);
}

static void test_names(void **state)
{
    cw_route_t r;
    cw_sink_t s;

    assert_string_equal(cw_route_name(CW_ROUTE_SKIP), "skip");
    assert_string_equal(cw_route_name(CW_ROUTE_NURTURE), "nurture");
    assert_string_equal(cw_route_name(CW_ROUTE_OUTREACH), "outreach");
    assert_string_equal(cw_sink_name(CW_SINK_OUTREACH), "outreach");
    assert_string_equal(cw_sink_name(CW_SINK_NURTURE), "nurture");
    assert_string_equal(cw_sink_name(CW_SINK_ZAPIER), "zapier");
    assert_string_equal(cw_sink_name(CW_SINK_SLACK), "slack");
    assert_int_equal(cw_route_parse(CW_STRLIT("nurture"), &r), 0);
    assert_int_equal(r, CW_ROUTE_NURTURE);
    assert_int_equal(cw_route_parse(CW_STRLIT("nurtur"), &r), -1);
    assert_int_equal(cw_sink_parse(CW_STRLIT("slack"), &s), 0);
    assert_int_equal(s, CW_SINK_SLACK);
    assert_int_equal(cw_sink_parse(CW_STRLIT("slackx"), &s), -1);
    assert_int_equal(cw_sink_parse(CW_STRLIT(""), &s), -1);
}

static unsigned sinks_of(const char *body, unsigned configured)
{
    cw_lead_t lead;
    parse_lead(&lead, body);
    unsigned mask = cw_route_sinks(&defaults, cw_route_decide(&defaults, &lead), &lead, configured);
    cw_lead_free(&lead);
    return mask;
}

static void test_sinks(void **state)
{
    const unsigned O = CW_SINK_BIT(CW_SINK_OUTREACH), N = CW_SINK_BIT(CW_SINK_NURTURE), Z = CW_SINK_BIT(CW_SINK_ZAPIER),
                   S = CW_SINK_BIT(CW_SINK_SLACK), ALL = CW_SINK_ALL;

    assert_int_equal(ALL, O | N | Z | S);
    /* everything configured */
    assert_int_equal(sinks_of("{\"email\":\"a@b.c\",\"icp_score\":95}", ALL), O | Z | S);
    assert_int_equal(sinks_of("{\"email\":\"a@b.c\",\"icp_score\":90}", ALL), O | Z | S);
    assert_int_equal(sinks_of("{\"email\":\"a@b.c\",\"icp_score\":89}", ALL), O | Z);
    assert_int_equal(sinks_of("{\"email\":\"a@b.c\",\"icp_score\":60}", ALL), N | Z);
    assert_int_equal(sinks_of("{\"email\":\"a@b.c\",\"icp_score\":10}", ALL), 0);
    assert_int_equal(sinks_of("{\"email\":\"a@b.c\"}", ALL), 0);
    /* 95 without an email: nurture, and Slack still hears of it */
    assert_int_equal(sinks_of("{\"icp_score\":95}", ALL), N | Z | S);
    /* unset URLs switch sinks off */
    assert_int_equal(sinks_of("{\"email\":\"a@b.c\",\"icp_score\":95}", 0), 0);
    assert_int_equal(sinks_of("{\"email\":\"a@b.c\",\"icp_score\":95}", Z), Z);
    assert_int_equal(sinks_of("{\"email\":\"a@b.c\",\"icp_score\":95}", N | S), S);
    assert_int_equal(sinks_of("{\"email\":\"a@b.c\",\"icp_score\":60}", O | S), 0);
    assert_int_equal(sinks_of("{\"email\":\"a@b.c\",\"icp_score\":60}", N), N);

    /* Slack follows the score alone, even on a route that is skipped */
    cw_route_config_t low_slack = {.outreach_min = 80, .nurture_min = 50, .slack_min = 30};
    cw_lead_t lead;
    parse_lead(&lead, "{\"icp_score\":40}");
    assert_int_equal(cw_route_sinks(&low_slack, cw_route_decide(&low_slack, &lead), &lead, ALL), S);
    cw_lead_free(&lead);
}

static void test_sink_payload(void **state)
{
    cw_lead_t lead;
    size_t len = 0;

    parse_lead(&lead, "{\"Work Email\":\" ada@example.com \",\"ICP Score\":\"91\",\"Employees\":\"1,200\",\"Row ID\":\"r-7\","
                      "\"custom\":{\"tags\":[\"a\",\"b\"]},\"route\":\"theirs\",\"event_id\":\"spoofed\"}");
    char *payload = cw_sink_payload(&lead, EVENT_ID, CW_ROUTE_OUTREACH, RECEIVED_AT, &len);
    assert_non_null(payload);
    assert_int_equal(len, strlen(payload));

    cJSON *json = cJSON_ParseWithLength(payload, len);
    assert_non_null(json);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(json, "email")->valuestring, "ada@example.com");
    assert_true(cJSON_GetObjectItemCaseSensitive(json, "icp_score")->valuedouble == 91);
    assert_true(cJSON_GetObjectItemCaseSensitive(json, "employee_count")->valuedouble == 1200);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(json, "Row ID")->valuestring, "r-7");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(json, "event_id")->valuestring, EVENT_ID);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(json, "route")->valuestring, "outreach");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(json, "received_at")->valuestring, RECEIVED_AT);
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(json, "custom"), "tags");
    assert_int_equal(cJSON_GetArraySize(tags), 2);
    /* ours replace theirs: each key once */
    int routes = 0, ids = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, json)
    {
        routes += strcmp(item->string, "route") == 0;
        ids += strcmp(item->string, "event_id") == 0;
    }
    assert_int_equal(routes, 1);
    assert_int_equal(ids, 1);
    cJSON_Delete(json);
    free(payload);

    /* the lead is untouched and can be printed again */
    payload = cw_sink_payload(&lead, EVENT_ID, CW_ROUTE_NURTURE, RECEIVED_AT, NULL);
    assert_non_null(strstr(payload, "\"route\":\"nurture\""));
    free(payload);
    cw_lead_free(&lead);

    parse_lead(&lead, "{}");
    payload = cw_sink_payload(&lead, EVENT_ID, CW_ROUTE_SKIP, RECEIVED_AT, &len);
    assert_string_equal(payload, "{\"event_id\":\"" EVENT_ID "\",\"route\":\"skip\",\"received_at\":\"" RECEIVED_AT "\"}");
    free(payload);
    cw_lead_free(&lead);
}

static char *slack_text(const char *payload, int block)
{
    cJSON *json = cJSON_Parse(payload);
    assert_non_null(json);
    const cJSON *text;
    if (block < 0) {
        text = cJSON_GetObjectItemCaseSensitive(json, "text");
    } else if (block == 0) {
        const cJSON *section = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(json, "blocks"), 0);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(section, "type")->valuestring, "section");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(section, "text");
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(t, "type")->valuestring, "mrkdwn");
        text = cJSON_GetObjectItemCaseSensitive(t, "text");
    } else {
        const cJSON *context = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(json, "blocks"), 1);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(context, "type")->valuestring, "context");
        const cJSON *element = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(context, "elements"), 0);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(element, "type")->valuestring, "mrkdwn");
        text = cJSON_GetObjectItemCaseSensitive(element, "text");
    }
    assert_true(cJSON_IsString(text));
    char *copy = cw_strdup(text->valuestring);
    cJSON_Delete(json);
    return copy;
}

static void test_slack_payload(void **state)
{
    cw_lead_t lead;
    size_t len;
    char *payload, *text, *section, *context;

    parse_lead(&lead, "{\"Full Name\":\"<script>&\\\"Ada\\\"</script>\",\"Job Title\":\"VP <Sales> & Ops\","
                      "\"Company\":\"A&B <Corp>\",\"ICP Score\":92.5,\"email\":\"ada@example.com\"}");
    payload = cw_slack_payload(&lead, EVENT_ID, &len);
    assert_int_equal(len, strlen(payload));
    /* no raw angle brackets from user values survive anywhere in the message */
    assert_null(strstr(payload, "<script>"));
    assert_null(strstr(payload, "<Sales>"));
    assert_null(strstr(payload, "<Corp>"));

    text = slack_text(payload, -1);
    assert_string_equal(text, "New high-ICP lead: &lt;script&gt;&amp;\"Ada\"&lt;/script&gt;, VP &lt;Sales&gt; &amp; Ops at A&amp;B "
                              "&lt;Corp&gt; (ICP score 92.5)");
    section = slack_text(payload, 0);
    assert_string_equal(section,
                        "*New high-ICP lead: &lt;script&gt;&amp;\"Ada\"&lt;/script&gt;*\n*Title:* VP &lt;Sales&gt; &amp; Ops\n"
                        "*Company:* A&amp;B &lt;Corp&gt;\n*ICP score:* 92.5");
    context = slack_text(payload, 1);
    assert_string_equal(context, "event " EVENT_ID);
    free(text);
    free(section);
    free(context);
    free(payload);
    cw_lead_free(&lead);

    /* missing fields: first + last, then the email, then Unknown */
    parse_lead(&lead, "{\"first name\":\"Ada\",\"last name\":\"Lovelace\",\"icp_score\":95}");
    payload = cw_slack_payload(&lead, EVENT_ID, NULL);
    section = slack_text(payload, 0);
    assert_string_equal(section, "*New high-ICP lead: Ada Lovelace*\n*Title:* Unknown\n*Company:* Unknown\n*ICP score:* 95");
    free(section);
    free(payload);
    cw_lead_free(&lead);

    parse_lead(&lead, "{\"last name\":\"Lovelace\",\"email\":\"a@b.c\"}");
    payload = cw_slack_payload(&lead, EVENT_ID, NULL);
    section = slack_text(payload, 0);
    assert_string_equal(section, "*New high-ICP lead: Lovelace*\n*Title:* Unknown\n*Company:* Unknown\n*ICP score:* Unknown");
    free(section);
    free(payload);
    cw_lead_free(&lead);

    parse_lead(&lead, "{\"email\":\"a@b.c\",\"icp_score\":91}");
    payload = cw_slack_payload(&lead, EVENT_ID, NULL);
    text = slack_text(payload, -1);
    assert_string_equal(text, "New high-ICP lead: a@b.c, Unknown at Unknown (ICP score 91)");
    free(text);
    free(payload);
    cw_lead_free(&lead);

    parse_lead(&lead, "{\"icp_score\":91}");
    payload = cw_slack_payload(&lead, EVENT_ID, NULL);
    text = slack_text(payload, -1);
    assert_string_equal(text, "New high-ICP lead: Unknown, Unknown at Unknown (ICP score 91)");
    free(text);
    free(payload);
    cw_lead_free(&lead);
}

static void test_slack_long_and_invalid_values(void **state)
{
    cw_lead_t lead;
    cw_buf_t body = CW_BUF_INIT;

    /* 300 x "é" (600 bytes) as the name. (Invalid UTF-8 never reaches here any more: the lead
     * parser refuses it as not JSON, which is checked at the end.) */
    cw_buf_appends(&body, "{\"name\":\"");
    for (int i = 0; i != 300; ++i) {
        cw_buf_appends(&body, "\xc3\xa9");
    }
    cw_buf_appends(&body, "\",\"title\":\"a<b\",\"company\":\"A & B\",\"icp_score\":99}");
    parse_lead(&lead, body.base);
    cw_buf_free(&body);

    char *payload = cw_slack_payload(&lead, EVENT_ID, NULL);
    char *section = slack_text(payload, 0);
    /* cut on a character boundary with an ellipsis */
    const char *name_end = strstr(section, "\xe2\x80\xa6*\n");
    assert_non_null(name_end);
    size_t name_len = (size_t)(name_end - (section + strlen("*New high-ICP lead: ")));
    assert_true(name_len <= 200);
    assert_int_equal(name_len % 2, 0);
    assert_non_null(strstr(section, "*Title:* a&lt;b\n"));
    assert_non_null(strstr(section, "*Company:* A &amp; B\n"));
    free(section);
    free(payload);
    cw_lead_free(&lead);

    static const char invalid[] = "{\"name\":\"a\xff\",\"icp_score\":99}";
    char detail[128];
    assert_int_equal(cw_lead_parse(&lead, invalid, sizeof(invalid) - 1, detail, sizeof(detail)), CW_LEAD_BAD_JSON);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundaries),    cmocka_unit_test(test_names),
        cmocka_unit_test(test_sinks),         cmocka_unit_test(test_sink_payload),
        cmocka_unit_test(test_slack_payload), cmocka_unit_test(test_slack_long_and_invalid_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
