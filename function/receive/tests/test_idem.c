/*
 * test_idem.c: the order of idempotency sources, stable ids, field keys that
 * cannot collide, and the id's shape.
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
#include "idem.h"

/* printf '%s' row-42 | sha256sum */
#define ROW_KEY "row-42"
#define ROW_KEY_ID "4aed7eeb466400644c1d5e590c5354128433bab09a98aa1f648ae19842c42558"
/* printf '%s' msg_p5jXN8AQM9LWM0D4loKWxJek | sha256sum */
#define WEBHOOK_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define WEBHOOK_ID_ID "f9687cd8cba444e077ceaa14a68c044e686bc6a9cd817724f94a5627e110cfa3"
/* printf '%s' '{"email":"a@b.c"}' | sha256sum */
#define BODY "{\"email\":\"a@b.c\"}"
#define BODY_ID "8edcb978c26f367b88b254fa79e44d3e510021dd38ac6cbac91e84f6c6bd9f2d"

/* Most cases name only the first four members: scheme and query_key then stay NULL. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

typedef struct st_idem_case_t {
    const char *idem_key;
    const char *webhook_id;
    const char *fields;
    const char *body;
    const char *scheme; /* what verified: NULL (unauthenticated) acts as "static" */
    const char *query_key;
} idem_case_t;

static void assert_hex_id(const char *id)
{
    assert_int_equal(strlen(id), CW_IDEM_ID_LEN);
    for (const char *p = id; *p != '\0'; ++p) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) {
            fail_msg("id %s has a non-hex or upper-case digit", id);
        }
    }
}

/* Computes the event id of |c|; returns the source. */
static const char *event_id(char out[CW_IDEM_ID_LEN + 1], const idem_case_t *c)
{
    cw_idem_fields_t *fields = c->fields != NULL ? cw_idem_fields_new(c->fields) : NULL;
    cJSON *original = cJSON_Parse(c->body);
    const char *source = NULL;

    memset(out, 'Z', CW_IDEM_ID_LEN + 1);
    cw_idem_sources_t src = {c->scheme,
                             c->idem_key,
                             c->idem_key != NULL ? strlen(c->idem_key) : 0,
                             c->query_key,
                             c->query_key != NULL ? strlen(c->query_key) : 0,
                             c->webhook_id,
                             c->webhook_id != NULL ? strlen(c->webhook_id) : 0};
    cw_idem_event_id(out, &source, &src, fields, original, c->body, strlen(c->body));
    assert_hex_id(out);
    assert_non_null(source);
    cJSON_Delete(original);
    cw_idem_fields_free(fields);
    return source;
}

static void test_source_order(void **state)
{
    char id[CW_IDEM_ID_LEN + 1];
    static const char body[] = "{\"Row ID\": \"r1\", \"email\": \"a@b.c\"}";

    /* static (or unauthenticated): header, query, fields, body; webhook-id is unsigned there and not used */
    idem_case_t c = {ROW_KEY, WEBHOOK_ID, "row id", body, "static", "q-1"};
    assert_string_equal(event_id(id, &c), "idempotency-key");
    assert_string_equal(id, ROW_KEY_ID);

    c.idem_key = NULL;
    assert_string_equal(event_id(id, &c), "query");
    c.query_key = ROW_KEY; /* one token gives one id, header or query */
    assert_string_equal(event_id(id, &c), "query");
    assert_string_equal(id, ROW_KEY_ID);

    c.query_key = NULL;
    assert_string_equal(event_id(id, &c), "fields");
    char fields_id[CW_IDEM_ID_LEN + 1];
    memcpy(fields_id, id, sizeof(id));
    c.scheme = NULL;
    assert_string_equal(event_id(id, &c), "fields");

    c.fields = NULL;
    assert_string_equal(event_id(id, &c), "body");
    assert_string_not_equal(id, fields_id);

    idem_case_t b = {NULL, NULL, NULL, BODY};
    assert_string_equal(event_id(id, &b), "body");
    assert_string_equal(id, BODY_ID);

    /* empty and blank values are absent */
    idem_case_t blank = {"", "  \t", NULL, BODY, "standard", " "};
    assert_string_equal(event_id(id, &blank), "body");
    assert_string_equal(id, BODY_ID);
    blank.webhook_id = WEBHOOK_ID;
    blank.idem_key = " ";
    assert_string_equal(event_id(id, &blank), "webhook-id");
    assert_string_equal(id, WEBHOOK_ID_ID);

    /* the header's bytes are hashed exactly as received */
    idem_case_t spaced = {" " ROW_KEY, NULL, NULL, BODY};
    assert_string_equal(event_id(id, &spaced), "idempotency-key");
    assert_string_not_equal(id, ROW_KEY_ID);
}

/* Issue 12: under a signature only signed data sets the id, so a captured request replayed with fresh keys stays one
 * event, and a key cannot suppress a later row. */
static void test_signed_schemes_ignore_unsigned_keys(void **state)
{
    char id[CW_IDEM_ID_LEN + 1], other[CW_IDEM_ID_LEN + 1];
    static const char body[] = "{\"Row ID\": \"r1\", \"email\": \"a@b.c\"}";

    /* standard: webhook-id, whatever the Idempotency-Key or query key say */
    idem_case_t sw = {ROW_KEY, WEBHOOK_ID, "row id", body, "standard", "q-1"};
    assert_string_equal(event_id(id, &sw), "webhook-id");
    assert_string_equal(id, WEBHOOK_ID_ID);
    sw.idem_key = "fresh-key";
    sw.query_key = "fresh-query";
    event_id(other, &sw);
    assert_string_equal(id, other);

    /* hmac: fields, then the body; webhook-id is not signed there either */
    idem_case_t hm = {ROW_KEY, WEBHOOK_ID, "row id", body, "hmac", "q-1"};
    assert_string_equal(event_id(id, &hm), "fields");
    hm.fields = NULL;
    assert_string_equal(event_id(id, &hm), "body");
    hm.idem_key = "fresh-key";
    hm.query_key = NULL;
    event_id(other, &hm);
    assert_string_equal(id, other);

    /* cw_idem_ignored_key: an unsigned key beside a signature, never under static */
    cw_idem_sources_t src = {"hmac", CW_STRLIT(ROW_KEY), NULL, 0, NULL, 0};
    assert_int_equal(cw_idem_ignored_key(&src), 1);
    src.scheme = "standard";
    assert_int_equal(cw_idem_ignored_key(&src), 1);
    src.scheme = "static";
    assert_int_equal(cw_idem_ignored_key(&src), 0);
    src.scheme = NULL;
    assert_int_equal(cw_idem_ignored_key(&src), 0);
    src = (cw_idem_sources_t){"standard", " ", 1, "k", 1, NULL, 0};
    assert_int_equal(cw_idem_ignored_key(&src), 1);
    src.query_key = NULL;
    assert_int_equal(cw_idem_ignored_key(&src), 0);
}

static void test_same_key_same_id(void **state)
{
    char a[CW_IDEM_ID_LEN + 1], b[CW_IDEM_ID_LEN + 1];

    /* a retry with a re-serialised body keeps its id when a key exists */
    idem_case_t c1 = {ROW_KEY, NULL, NULL, "{\"email\":\"a@b.c\",\"icp_score\":85}"};
    idem_case_t c2 = {ROW_KEY, NULL, NULL, "{ \"icp_score\": \"85\", \"email\": \"a@b.c\" }"};
    event_id(a, &c1);
    event_id(b, &c2);
    assert_string_equal(a, b);

    idem_case_t w1 = {NULL, WEBHOOK_ID, NULL, "{}", "standard"}, w2 = {NULL, WEBHOOK_ID, NULL, "{\"x\":1}", "standard"};
    event_id(a, &w1);
    event_id(b, &w2);
    assert_string_equal(a, b);

    /* the same body twice: same id; one byte more: another */
    idem_case_t d1 = {NULL, NULL, NULL, BODY}, d2 = {NULL, NULL, NULL, BODY " "};
    event_id(a, &d1);
    event_id(b, &d1);
    assert_string_equal(a, b);
    event_id(b, &d2);
    assert_string_not_equal(a, b);

    /* a key longer than 1 KiB is hashed like any other */
    char *long_key = cw_malloc(5001);
    memset(long_key, 'k', 5000);
    long_key[5000] = '\0';
    idem_case_t l1 = {long_key, NULL, NULL, "{}"}, l2 = {long_key, NULL, NULL, "{\"y\":2}"};
    assert_string_equal(event_id(a, &l1), "idempotency-key");
    event_id(b, &l2);
    assert_string_equal(a, b);
    long_key[4999] = 'j';
    event_id(b, &l1);
    assert_string_not_equal(a, b);
    free(long_key);
}

static void test_fields(void **state)
{
    char a[CW_IDEM_ID_LEN + 1], b[CW_IDEM_ID_LEN + 1];

    /* key spelling, member order, other members and number-vs-string do not matter */
    idem_case_t c1 = {NULL, NULL, "Row ID, email", "{\"Row ID\": \"r1\", \"email\": \"a@b.c\", \"icp_score\": 85}"};
    idem_case_t c2 = {NULL, NULL, "row_id,Email", "{\"EMAIL\": \" a@b.c \", \"icp_score\": 12, \"rowid\": \"r1\"}"};
    assert_string_equal(event_id(a, &c1), "fields");
    assert_string_equal(event_id(b, &c2), "fields");
    assert_string_equal(a, b);

    idem_case_t n1 = {NULL, NULL, "row_id", "{\"row_id\": 85}"}, n2 = {NULL, NULL, "row_id", "{\"row_id\": \"85\"}"};
    event_id(a, &n1);
    event_id(b, &n2);
    assert_string_equal(a, b);

    /* a different value, a different field name: different ids */
    idem_case_t v = {NULL, NULL, "Row ID, email", "{\"Row ID\": \"r2\", \"email\": \"a@b.c\"}"};
    event_id(a, &c1);
    event_id(b, &v);
    assert_string_not_equal(a, b);
    idem_case_t fa = {NULL, NULL, "a", "{\"a\": 1, \"b\": 1}"}, fb = {NULL, NULL, "b", "{\"a\": 1, \"b\": 1}"};
    assert_string_equal(event_id(a, &fa), "fields");
    assert_string_equal(event_id(b, &fb), "fields");
    assert_string_not_equal(a, b);

    /* values cannot be shifted between fields */
    idem_case_t s1 = {NULL, NULL, "a,b", "{\"a\": \"x\\u001fb\", \"b\": \"c\"}"};
    idem_case_t s2 = {NULL, NULL, "a,b", "{\"a\": \"x\", \"b\": \"b\\u001fc\"}"};
    idem_case_t s3 = {NULL, NULL, "a,b", "{\"a\": \"x\\u001f\", \"b\": \"c\"}"};
    idem_case_t s4 = {NULL, NULL, "a,b", "{\"a\": \"x\", \"b\": \"\\u001fc\"}"};
    event_id(a, &s1);
    event_id(b, &s2);
    assert_string_not_equal(a, b);
    event_id(a, &s3);
    event_id(b, &s4);
    assert_string_not_equal(a, b);

    /* one listed field missing, null or empty: the body decides */
    static const char *const incomplete[] = {
        "{\"Row ID\": \"r1\"}",
        "{\"Row ID\": \"r1\", \"email\": null}",
        "{\"Row ID\": \"r1\", \"email\": \"\"}",
        "{\"Row ID\": \"r1\", \"email\": \"  \"}",
        "{\"Row ID\": \"r1\", \"email\": \" NULL \"}",
        "{\"Row ID\": \"r1\", \"email\": \"undefined\"}",
        "{\"Row ID\": \"r1\", \"email\": \"n/a\"}",
        "{\"email\": \"a@b.c\"}",
        "[\"Row ID\", \"email\"]",
        "not json",
    };
    for (size_t i = 0; i != CW_ARRAY_SIZE(incomplete); ++i) {
        idem_case_t c = {NULL, NULL, "Row ID, email", incomplete[i]};
        if (strcmp(event_id(a, &c), "body") != 0) {
            fail_msg("%s: not the body", incomplete[i]);
        }
    }

    /* the first present member wins, as with the aliases */
    idem_case_t p1 = {NULL, NULL, "row id", "{\"row_id\": \"\", \"Row ID\": \"r1\", \"ROW-ID\": \"r9\"}"};
    idem_case_t p2 = {NULL, NULL, "row id", "{\"row id\": \"r1\"}"};
    event_id(a, &p1);
    event_id(b, &p2);
    assert_string_equal(a, b);

    /* other value types render canonically */
    idem_case_t t1 = {NULL, NULL, "k", "{\"k\": {\"x\": [1, true, null]}}"};
    idem_case_t t2 = {NULL, NULL, "k", "{\"k\":{\"x\":[1,true,null]}, \"z\": 0}"};
    assert_string_equal(event_id(a, &t1), "fields");
    event_id(b, &t2);
    assert_string_equal(a, b);
    idem_case_t bt = {NULL, NULL, "k", "{\"k\": true}"}, bs = {NULL, NULL, "k", "{\"k\": \"true\"}"};
    event_id(a, &bt);
    event_id(b, &bs);
    assert_string_equal(a, b);
    idem_case_t f1 = {NULL, NULL, "k", "{\"k\": 1.5}"}, f2 = {NULL, NULL, "k", "{\"k\": 1.50}"};
    event_id(a, &f1);
    event_id(b, &f2);
    assert_string_equal(a, b);
}

static void test_fields_list(void **state)
{
    cw_idem_fields_t *f;

    assert_null(cw_idem_fields_new(NULL));
    assert_null(cw_idem_fields_new(""));
    assert_null(cw_idem_fields_new(" , ,_, -"));
    assert_int_equal(cw_idem_fields_count(NULL), 0);
    f = cw_idem_fields_new(" Row ID ,, email,");
    assert_non_null(f);
    assert_int_equal(cw_idem_fields_count(f), 2);
    cw_idem_fields_free(f);
    cw_idem_fields_free(NULL);

    /* fields configured, but no parsed object: the body */
    char id[CW_IDEM_ID_LEN + 1];
    const char *source = NULL;
    f = cw_idem_fields_new("email");
    cw_idem_sources_t none = {0};
    cw_idem_event_id(id, &source, &none, f, NULL, BODY, strlen(BODY));
    assert_string_equal(source, "body");
    assert_string_equal(id, BODY_ID);
    cw_idem_fields_free(f);

    /* NULL out_source and an empty body are fine */
    cw_idem_event_id(id, NULL, &none, NULL, NULL, NULL, 0);
    assert_string_equal(id, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_order),     cmocka_unit_test(test_signed_schemes_ignore_unsigned_keys),
        cmocka_unit_test(test_same_key_same_id), cmocka_unit_test(test_fields),
        cmocka_unit_test(test_fields_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
