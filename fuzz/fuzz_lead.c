/*
 * fuzz_lead.c: cw_lead_parse on arbitrary body bytes (function/receive/lead.h), then,
 * for every lead it accepts, what the receiver does next with it: the event id
 * (function/receive/idem.h), the route, the sinks and the sink and Slack payloads
 * (function/receive/route.h).
 *
 * The body is copied into a buffer of exactly its size with no NUL after it,
 * as the receiver hands it over, so ASan sees any read past it.
 *
 * The strict RFC 8259 check (function/receive/json_strict.h) runs on the same
 * bytes: what it accepts cJSON must parse, to a value ending where the text
 * does, and cw_lead_parse must never answer bad_json for it (except for a NUL
 * byte, refused before it); what it refuses cw_lead_parse must answer bad_json
 * for, with an error position inside the body.
 *
 * Oracles besides the sanitizers: the documented shape of a lead (text fields
 * trimmed and non-empty, icp_score within 0..100, employee_count >= 0, both
 * finite), a zeroed lead after a failure, a NUL-terminated detail, a 64-digit
 * lower-case hex event id, and payloads that are JSON objects of the length
 * returned carrying the event id.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "idem.h"
#include "json_strict.h"
#include "lead.h"
#include "route.h"

#define CHECK(cond)                                                                                                                \
    do {                                                                                                                           \
        if (!(cond)) {                                                                                                             \
            fprintf(stderr, "fuzz_lead: check failed at line %d: %s\n", __LINE__, #cond);                                          \
            abort();                                                                                                               \
        }                                                                                                                          \
    } while (0)

#define EVENT_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static cw_idem_fields_t *idem_fields;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    idem_fields = cw_idem_fields_new("row_id, Row ID ,email,,icp_score");
    CHECK(idem_fields != NULL && cw_idem_fields_count(idem_fields) == 4);
    return 0;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void check_text(const char *s)
{
    if (s == NULL) {
        return;
    }
    size_t len = strlen(s);
    CHECK(len != 0 && !is_ws(s[0]) && !is_ws(s[len - 1]));
}

static void check_event_id(const char *id, const char *source)
{
    CHECK(source != NULL);
    CHECK(strlen(id) == CW_IDEM_ID_LEN);
    for (size_t i = 0; i != CW_IDEM_ID_LEN; ++i) {
        CHECK((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'));
    }
}

/* The payload must be one JSON object of exactly |len| bytes with "event_id": EVENT_ID somewhere at the top or in blocks. */
static cJSON *check_payload(char *printed, size_t len)
{
    CHECK(printed != NULL && strlen(printed) == len);
    cJSON *json = cJSON_ParseWithLength(printed, len);
    CHECK(cJSON_IsObject(json));
    return json;
}

static void after_parse(const cw_lead_t *lead, const char *body, size_t body_len)
{
    char id[CW_IDEM_ID_LEN + 1], id2[CW_IDEM_ID_LEN + 1];
    const char *source = NULL;
    size_t len = 0;

    CHECK(cJSON_IsObject(lead->original) && cJSON_IsObject(lead->normalised));
    check_text(lead->email);
    check_text(lead->first_name);
    check_text(lead->last_name);
    check_text(lead->full_name);
    check_text(lead->company);
    check_text(lead->domain);
    check_text(lead->title);
    check_text(lead->linkedin_url);
    check_text(lead->industry);
    if (lead->has_score) {
        CHECK(isfinite(lead->icp_score) && lead->icp_score >= 0 && lead->icp_score <= 100);
    }
    if (lead->has_employees) {
        CHECK(isfinite(lead->employee_count) && lead->employee_count >= 0);
    }

    /* Event ids: from the fields when all are there, else the body; from a header taken from the body's bytes. */
    cw_idem_sources_t none = {0};
    cw_idem_event_id(id, &source, &none, idem_fields, lead->original, body, body_len);
    check_event_id(id, source);
    CHECK(strcmp(source, "fields") == 0 || strcmp(source, "body") == 0);
    cw_idem_sources_t key = {"static", body, body_len > 64 ? 64 : body_len, NULL, 0, NULL, 0};
    cw_idem_event_id(id2, &source, &key, NULL, NULL, body, body_len);
    check_event_id(id2, source);
    /* under hmac an unsigned key never sets the id: the same id as without it */
    key.scheme = "hmac";
    cw_idem_event_id(id2, &source, &key, idem_fields, lead->original, body, body_len);
    CHECK(strcmp(id, id2) == 0);
    cw_idem_sources_t wid = {"standard", NULL, 0, body, body_len > 32 ? 32 : body_len, body, body_len > 256 ? 256 : body_len};
    cw_idem_event_id(id2, &source, &wid, idem_fields, lead->original, body, body_len);
    check_event_id(id2, source);

    cw_route_config_t config = CW_ROUTE_CONFIG_DEFAULT;
    cw_route_t route = cw_route_decide(&config, lead);
    CHECK(route == CW_ROUTE_SKIP || route == CW_ROUTE_NURTURE || route == CW_ROUTE_OUTREACH);
    if (route == CW_ROUTE_OUTREACH) {
        CHECK(lead->email != NULL && lead->has_score);
    }
    unsigned sinks = cw_route_sinks(&config, route, lead, CW_SINK_ALL);
    CHECK((sinks & ~CW_SINK_ALL) == 0);
    CHECK(cw_route_sinks(&config, route, lead, 0) == 0);

    char *printed = cw_sink_payload(lead, EVENT_ID, route, "2026-01-01T00:00:00.000Z", &len);
    cJSON *json = check_payload(printed, len);
    const cJSON *event_id = cJSON_GetObjectItemCaseSensitive(json, "event_id");
    CHECK(cJSON_IsString(event_id) && strcmp(event_id->valuestring, EVENT_ID) == 0);
    const cJSON *route_item = cJSON_GetObjectItemCaseSensitive(json, "route");
    CHECK(cJSON_IsString(route_item) && strcmp(route_item->valuestring, cw_route_name(route)) == 0);
    cJSON_Delete(json);
    free(printed);

    printed = cw_slack_payload(lead, id, &len);
    json = check_payload(printed, len);
    CHECK(strstr(printed, id) != NULL);
    cJSON_Delete(json);
    free(printed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size != 0 ? size : 1), detail[256];
    cw_lead_t lead;

    CHECK(body != NULL);
    if (size != 0) {
        memcpy(body, data, size);
    }
    memset(detail, 'x', sizeof(detail));
    cw_json_strict_error_t strict_err = {0};
    int strict = cw_json_strict_check(body, size, CW_LEAD_MAX_DEPTH, &strict_err);
    if (strict) {
        /* strict accepts => cJSON parses the whole text once a BOM is skipped (as cw_lead_parse does: cJSON 1.7.15
         * fails a number that ends the text right after a BOM) */
        size_t bom = size >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
        const char *end = NULL;
        cJSON *parsed = cJSON_ParseWithLengthOpts(body + bom, size - bom, &end, 0);
        CHECK(parsed != NULL);
        CHECK(end != NULL && end >= body && end <= body + size);
        for (; end != body + size; ++end) {
            CHECK(*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r');
        }
        cJSON_Delete(parsed);
    } else {
        CHECK(strict_err.reason != NULL && strict_err.offset <= size && strict_err.line >= 1 && strict_err.column >= 1);
    }
    cw_lead_status_t status = cw_lead_parse(&lead, body, size, detail, sizeof(detail));
    if (strict && memchr(body, '\0', size) == NULL) {
        CHECK(status != CW_LEAD_BAD_JSON);
    } else if (!strict) {
        CHECK(status == CW_LEAD_BAD_JSON);
    }
    CHECK(memchr(detail, '\0', sizeof(detail)) != NULL);
    CHECK(strcmp(cw_lead_status_name(status), "unknown") != 0);
    if (status == CW_LEAD_OK) {
        after_parse(&lead, body, size);
    } else {
        CHECK(detail[0] != '\0');
        CHECK(lead.original == NULL && lead.normalised == NULL && lead.email == NULL && !lead.has_score && !lead.has_employees);
    }
    cw_lead_free(&lead);
    CHECK(lead.original == NULL && lead.normalised == NULL);
    free(body);
    return 0;
}
