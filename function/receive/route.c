/*
 * route.c: route decision, sink selection and sink payloads (see route.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cw/json.h"
#include "cw/utf8.h"
#include "cw/util.h"
#include "route.h"

/* Longest lead value shown in a Slack message, in bytes (cut on a UTF-8 boundary). */
#define SLACK_VALUE_MAX 200

static const char *const route_names[] = {
    [CW_ROUTE_SKIP] = "skip",
    [CW_ROUTE_NURTURE] = "nurture",
    [CW_ROUTE_OUTREACH] = "outreach",
};

static const char *const sink_names[CW_SINK_COUNT] = {
    [CW_SINK_OUTREACH] = "outreach",
    [CW_SINK_NURTURE] = "nurture",
    [CW_SINK_ZAPIER] = "zapier",
    [CW_SINK_SLACK] = "slack",
};

cw_route_t cw_route_decide(const cw_route_config_t *config, const cw_lead_t *lead)
{
    if (!lead->has_score) {
        return CW_ROUTE_SKIP;
    }
    if (lead->icp_score >= config->outreach_min && lead->email != NULL) {
        return CW_ROUTE_OUTREACH;
    }
    if (lead->icp_score >= config->nurture_min) {
        return CW_ROUTE_NURTURE;
    }
    return CW_ROUTE_SKIP;
}

const char *cw_route_name(cw_route_t route)
{
    if ((size_t)route < CW_ARRAY_SIZE(route_names)) {
        return route_names[route];
    }
    return "skip";
}

int cw_route_parse(const char *name, size_t len, cw_route_t *out_route)
{
    for (size_t i = 0; i != CW_ARRAY_SIZE(route_names); ++i) {
        if (len == strlen(route_names[i]) && memcmp(name, route_names[i], len) == 0) {
            *out_route = (cw_route_t)i;
            return 0;
        }
    }
    return -1;
}

const char *cw_sink_name(cw_sink_t sink)
{
    if ((size_t)sink < CW_SINK_COUNT) {
        return sink_names[sink];
    }
    return "unknown";
}

int cw_sink_parse(const char *name, size_t len, cw_sink_t *out_sink)
{
    for (size_t i = 0; i != CW_SINK_COUNT; ++i) {
        if (len == strlen(sink_names[i]) && memcmp(name, sink_names[i], len) == 0) {
            *out_sink = (cw_sink_t)i;
            return 0;
        }
    }
    return -1;
}

unsigned cw_route_sinks(const cw_route_config_t *config, cw_route_t route, const cw_lead_t *lead, unsigned configured_mask)
{
    unsigned mask = 0;

    switch (route) {
    case CW_ROUTE_OUTREACH:
        mask |= CW_SINK_BIT(CW_SINK_OUTREACH) | CW_SINK_BIT(CW_SINK_ZAPIER);
        break;
    case CW_ROUTE_NURTURE:
        mask |= CW_SINK_BIT(CW_SINK_NURTURE) | CW_SINK_BIT(CW_SINK_ZAPIER);
        break;
    case CW_ROUTE_SKIP:
        break;
    }
    if (lead->has_score && lead->icp_score >= config->slack_min) {
        mask |= CW_SINK_BIT(CW_SINK_SLACK);
    }
    return mask & configured_mask;
}

static char *print(cJSON *root, size_t *out_len)
{
    char *printed = cJSON_PrintUnformatted(root);

    if (printed == NULL) {
        cw_json_oom();
    }
    if (out_len != NULL) {
        *out_len = strlen(printed);
    }
    return printed;
}

char *cw_sink_payload(const cw_lead_t *lead, const char *event_id, cw_route_t route, const char *received_at, size_t *out_len)
{
    cJSON *root = cw_json_must(cJSON_CreateObject());
    const cJSON *item;
    char *printed;

    /* References share the lead's values: nothing of the lead is copied but the keys. */
    cJSON_ArrayForEach(item, lead->normalised)
    {
        if (item->string == NULL || strcmp(item->string, "event_id") == 0 || strcmp(item->string, "route") == 0 ||
            strcmp(item->string, "received_at") == 0) {
            continue;
        }
        if (!cJSON_AddItemReferenceToObject(root, item->string, (cJSON *)item)) {
            cw_json_oom();
        }
    }
    cw_json_add(root, "event_id", cJSON_CreateString(event_id));
    cw_json_add(root, "route", cJSON_CreateString(cw_route_name(route)));
    cw_json_add(root, "received_at", cJSON_CreateString(received_at));
    printed = print(root, out_len);
    cJSON_Delete(root);
    return printed;
}

/* Appends |s| for Slack mrkdwn: & < > escaped as Slack requires, invalid UTF-8
 * replaced by U+FFFD, cut after SLACK_VALUE_MAX bytes with an ellipsis. Not an
 * XML escaper: Slack wants exactly those three escaped (quotes stay as they are),
 * so it is not the harness's XML escaping. */
static void append_slack_text(cw_buf_t *buf, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), used = 0;

    while (len != 0) {
        size_t n = cw_utf8_decode(p, len, NULL);
        if (used + (n != 0 ? n : 3) > SLACK_VALUE_MAX) {
            cw_buf_appends(buf, "\xe2\x80\xa6");
            return;
        }
        if (n == 0) {
            cw_buf_appends(buf, "\xef\xbf\xbd");
            used += 3;
            n = 1;
        } else if (*p == '&') {
            cw_buf_appends(buf, "&amp;");
            used += 1;
        } else if (*p == '<') {
            cw_buf_appends(buf, "&lt;");
            used += 1;
        } else if (*p == '>') {
            cw_buf_appends(buf, "&gt;");
            used += 1;
        } else {
            cw_buf_append(buf, p, n);
            used += n;
        }
        p += n;
        len -= n;
    }
}

/* Appends the person's name: full name, else first and last, else the email, else "Unknown". */
static void append_person(cw_buf_t *buf, const cw_lead_t *lead)
{
    if (lead->full_name != NULL) {
        append_slack_text(buf, lead->full_name);
    } else if (lead->first_name != NULL || lead->last_name != NULL) {
        if (lead->first_name != NULL) {
            append_slack_text(buf, lead->first_name);
        }
        if (lead->first_name != NULL && lead->last_name != NULL) {
            cw_buf_appends(buf, " ");
        }
        if (lead->last_name != NULL) {
            append_slack_text(buf, lead->last_name);
        }
    } else if (lead->email != NULL) {
        append_slack_text(buf, lead->email);
    } else {
        cw_buf_appends(buf, "Unknown");
    }
}

static void append_or_unknown(cw_buf_t *buf, const char *s)
{
    if (s != NULL) {
        append_slack_text(buf, s);
    } else {
        cw_buf_appends(buf, "Unknown");
    }
}

char *cw_slack_payload(const cw_lead_t *lead, const char *event_id, size_t *out_len)
{
    cw_buf_t person = CW_BUF_INIT, title = CW_BUF_INIT, company = CW_BUF_INIT, text = CW_BUF_INIT;
    char score[32];
    cJSON *root = cw_json_must(cJSON_CreateObject());
    char *printed;

    /* Allocate each buffer now so .base is a string even when nothing else is appended. */
    cw_buf_appends(&person, "");
    cw_buf_appends(&title, "");
    cw_buf_appends(&company, "");
    cw_buf_appends(&text, "");
    append_person(&person, lead);
    append_or_unknown(&title, lead->title);
    append_or_unknown(&company, lead->company);
    if (lead->has_score) {
        snprintf(score, sizeof(score), "%.10g", lead->icp_score);
    } else {
        snprintf(score, sizeof(score), "Unknown");
    }

    cw_buf_appendf(&text, "New high-ICP lead: %s, %s at %s (ICP score %s)", person.base, title.base, company.base, score);
    cw_json_add(root, "text", cJSON_CreateString(text.base));

    cJSON *blocks = cw_json_must(cJSON_CreateArray());
    cw_json_add(root, "blocks", blocks);

    cJSON *section = cw_json_must(cJSON_CreateObject());
    cw_json_append(blocks, section);
    cw_json_add(section, "type", cJSON_CreateString("section"));
    cJSON *section_text = cw_json_must(cJSON_CreateObject());
    cw_json_add(section, "text", section_text);
    cw_json_add(section_text, "type", cJSON_CreateString("mrkdwn"));
    cw_buf_reset(&text);
    cw_buf_appendf(&text, "*New high-ICP lead: %s*\n*Title:* %s\n*Company:* %s\n*ICP score:* %s", person.base, title.base,
                   company.base, score);
    cw_json_add(section_text, "text", cJSON_CreateString(text.base));

    cJSON *context = cw_json_must(cJSON_CreateObject());
    cw_json_append(blocks, context);
    cw_json_add(context, "type", cJSON_CreateString("context"));
    cJSON *elements = cw_json_must(cJSON_CreateArray());
    cw_json_add(context, "elements", elements);
    cJSON *element = cw_json_must(cJSON_CreateObject());
    cw_json_append(elements, element);
    cw_json_add(element, "type", cJSON_CreateString("mrkdwn"));
    cw_buf_reset(&text);
    cw_buf_appends(&text, "event ");
    append_slack_text(&text, event_id != NULL ? event_id : "");
    cw_json_add(element, "text", cJSON_CreateString(text.base));

    printed = print(root, out_len);
    cJSON_Delete(root);
    cw_buf_free(&person);
    cw_buf_free(&title);
    cw_buf_free(&company);
    cw_buf_free(&text);
    return printed;
}
