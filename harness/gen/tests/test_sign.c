/* test_sign.c: the harness signer against published and independently computed vectors, and each
 * tamper mode changing exactly what it promises. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/base64.h>
#include "sign.h"

#define SW_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TS 1614265330
#define SW_BODY "{\"test\": 2432232314}"
#define SW_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

/* Computed in a shell, not by this code:
 *   printf '%s' '{"row_id":"row_1","icp_score":85}' | openssl dgst -sha256 -hmac 'fixture-secret-1' */
#define HMAC_SECRET "fixture-secret-1"
#define HMAC_BODY "{\"row_id\":\"row_1\",\"icp_score\":85}"
#define HMAC_HEX "0b6cdcd70d3252633136aa20f5e3ae9bd9e133109420512de216c88e68ed6874"
/*   printf '' | openssl dgst -sha256 -hmac 'fixture-secret-1' */
#define HMAC_EMPTY_HEX "9cf85f1a3535c633c25bfbd37c09e52e703bc2d95693310aa0ee730cffc6dd18"

static const char *find(const cw_sign_headers_t *h, const char *name)
{
    for (size_t i = 0; i != h->num_headers; ++i) {
        if (strcmp(h->headers[i].name, name) == 0) {
            return h->headers[i].value;
        }
    }
    return NULL;
}

static cw_sign_params_t params_for(cw_sign_scheme_t scheme, const char *const *secrets, size_t num_secrets)
{
    cw_sign_params_t p;
    memset(&p, 0, sizeof(p));
    p.scheme = scheme;
    p.secrets = secrets;
    p.num_secrets = num_secrets;
    p.now_s = SW_TS;
    return p;
}

static void sign_ok(const cw_sign_params_t *p, const char *body, cw_sign_headers_t *out)
{
    char err[160] = "";
    int rc = cw_sign_request(p, body, strlen(body), out, err, sizeof(err));
    if (rc != 0) {
        fail_msg("cw_sign_request: %s", err);
    }
}

static void test_standard_vector(void **state)
{
    char sig[64];
    assert_int_equal(cw_sign_standard_v1(sig, sizeof(sig), SW_SECRET, SW_ID, SW_TS, SW_BODY, strlen(SW_BODY)), 0);
    assert_string_equal(sig, SW_SIG);

    const char *secrets[] = {SW_SECRET};
    cw_sign_params_t p = params_for(CW_SIGN_STANDARD, secrets, 1);
    p.msg_id = SW_ID;
    cw_sign_headers_t h;
    sign_ok(&p, SW_BODY, &h);
    assert_int_equal(h.num_headers, 3);
    assert_string_equal(find(&h, "webhook-id"), SW_ID);
    assert_string_equal(find(&h, "webhook-timestamp"), "1614265330");
    assert_string_equal(find(&h, "webhook-signature"), SW_SIG);
    /* A one-byte change of the body changes the signature. */
    assert_int_equal(cw_sign_standard_v1(sig, sizeof(sig), SW_SECRET, SW_ID, SW_TS, "{\"test\": 2432232315}", 20), 0);
    assert_string_not_equal(sig, SW_SIG);
}

static void test_hmac_vectors(void **state)
{
    char hex[65];
    cw_sign_hmac_hex(hex, HMAC_SECRET, HMAC_BODY, strlen(HMAC_BODY));
    assert_string_equal(hex, HMAC_HEX);
    cw_sign_hmac_hex(hex, HMAC_SECRET, "", 0);
    assert_string_equal(hex, HMAC_EMPTY_HEX);
    /* RFC 4231 test case 2. */
    cw_sign_hmac_hex(hex, "Jefe", "what do ya want for nothing?", 28);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    const char *secrets[] = {HMAC_SECRET};
    cw_sign_params_t p = params_for(CW_SIGN_HMAC, secrets, 1);
    cw_sign_headers_t h;
    sign_ok(&p, HMAC_BODY, &h);
    assert_int_equal(h.num_headers, 1);
    assert_string_equal(find(&h, "X-Clay-Signature"), "sha256=" HMAC_HEX);
    p.flags = CW_SIGN_BARE_HEX;
    sign_ok(&p, HMAC_BODY, &h);
    assert_string_equal(find(&h, "X-Clay-Signature"), HMAC_HEX);
}

static void test_static_and_bearer(void **state)
{
    const char *secrets[] = {"fixture-secret-1"};
    cw_sign_params_t p = params_for(CW_SIGN_STATIC, secrets, 1);
    cw_sign_headers_t h;
    sign_ok(&p, "{}", &h);
    assert_int_equal(h.num_headers, 1);
    assert_string_equal(find(&h, "X-Clay-Secret"), "fixture-secret-1");
    p.scheme = CW_SIGN_BEARER;
    sign_ok(&p, "{}", &h);
    assert_int_equal(h.num_headers, 1);
    assert_string_equal(find(&h, "Authorization"), "Bearer fixture-secret-1");

    p.tamper = CW_SIGN_TAMPER_WRONG_SECRET;
    sign_ok(&p, "{}", &h);
    assert_string_equal(find(&h, "Authorization"), "Bearer fixture-secret-1-wrong");
    p.scheme = CW_SIGN_STATIC;
    p.tamper = CW_SIGN_TAMPER_WRONG_LENGTH;
    sign_ok(&p, "{}", &h);
    assert_string_equal(find(&h, "X-Clay-Secret"), "fixture-secret-");
    p.tamper = CW_SIGN_TAMPER_MALFORMED;
    sign_ok(&p, "{}", &h);
    assert_string_equal(find(&h, "X-Clay-Secret"), "");
    p.tamper = CW_SIGN_TAMPER_MISSING;
    sign_ok(&p, "{}", &h);
    assert_int_equal(h.num_headers, 0);
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static void test_hmac_tamper(void **state)
{
    const char *secrets[] = {HMAC_SECRET};
    cw_sign_params_t p = params_for(CW_SIGN_HMAC, secrets, 1);
    cw_sign_headers_t h;
    const char *v;

    p.tamper = CW_SIGN_TAMPER_WRONG_SECRET;
    sign_ok(&p, HMAC_BODY, &h);
    v = find(&h, "X-Clay-Signature");
    assert_non_null(v);
    assert_int_equal(strlen(v), 7 + 64);
    assert_memory_equal(v, "sha256=", 7);
    assert_string_not_equal(v + 7, HMAC_HEX);
    char hex[65];
    cw_sign_hmac_hex(hex, HMAC_SECRET "-wrong", HMAC_BODY, strlen(HMAC_BODY));
    assert_string_equal(v + 7, hex);

    p.tamper = CW_SIGN_TAMPER_WRONG_LENGTH;
    sign_ok(&p, HMAC_BODY, &h);
    v = find(&h, "X-Clay-Signature");
    assert_int_equal(strlen(v), 7 + 62);
    assert_memory_equal(v + 7, HMAC_HEX, 62); /* a truncation of the right MAC, not another MAC */

    p.tamper = CW_SIGN_TAMPER_MALFORMED;
    sign_ok(&p, HMAC_BODY, &h);
    v = find(&h, "X-Clay-Signature");
    assert_int_equal(strlen(v), 7 + 64);
    for (size_t i = 7; v[i] != '\0'; ++i) {
        assert_false(is_hex(v[i]));
    }

    p.tamper = CW_SIGN_TAMPER_MISSING;
    sign_ok(&p, HMAC_BODY, &h);
    assert_int_equal(h.num_headers, 0);
}

static int is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

static size_t b64_decoded_len(const char *s)
{
    uint8_t out[128];
    size_t out_len = 0;
    assert_int_equal(EVP_DecodeBase64(out, &out_len, sizeof(out), (const uint8_t *)s, strlen(s)), 1);
    return out_len;
}

static void test_standard_tamper(void **state)
{
    const char *secrets[] = {SW_SECRET};
    cw_sign_params_t p = params_for(CW_SIGN_STANDARD, secrets, 1);
    p.msg_id = SW_ID;
    cw_sign_headers_t h;
    const char *v;

    p.tamper = CW_SIGN_TAMPER_WRONG_SECRET;
    sign_ok(&p, SW_BODY, &h);
    v = find(&h, "webhook-signature");
    assert_non_null(v);
    assert_memory_equal(v, "v1,", 3);
    assert_string_not_equal(v, SW_SIG);
    assert_int_equal(b64_decoded_len(v + 3), 32);

    p.tamper = CW_SIGN_TAMPER_WRONG_LENGTH;
    sign_ok(&p, SW_BODY, &h);
    v = find(&h, "webhook-signature");
    assert_memory_equal(v, "v1,", 3);
    assert_int_equal(b64_decoded_len(v + 3), 31);

    p.tamper = CW_SIGN_TAMPER_MALFORMED;
    sign_ok(&p, SW_BODY, &h);
    v = find(&h, "webhook-signature");
    assert_memory_equal(v, "v1,", 3);
    assert_int_equal(strlen(v + 3), 44);
    for (size_t i = 3; v[i] != '\0'; ++i) {
        assert_false(is_b64(v[i]));
    }

    p.tamper = CW_SIGN_TAMPER_MISSING;
    sign_ok(&p, SW_BODY, &h);
    assert_int_equal(h.num_headers, 2);
    assert_null(find(&h, "webhook-signature"));
    assert_string_equal(find(&h, "webhook-id"), SW_ID);
    assert_string_equal(find(&h, "webhook-timestamp"), "1614265330");
}

static void test_standard_skew(void **state)
{
    const char *secrets[] = {SW_SECRET};
    cw_sign_params_t p = params_for(CW_SIGN_STANDARD, secrets, 1);
    p.msg_id = SW_ID;
    cw_sign_headers_t h;
    char sig[64];

    p.skew_s = -400;
    sign_ok(&p, SW_BODY, &h);
    assert_string_equal(find(&h, "webhook-timestamp"), "1614264930");
    /* Stale but correctly signed over the skewed timestamp: only the tolerance check can reject it. */
    assert_int_equal(cw_sign_standard_v1(sig, sizeof(sig), SW_SECRET, SW_ID, SW_TS - 400, SW_BODY, strlen(SW_BODY)), 0);
    assert_string_equal(find(&h, "webhook-signature"), sig);

    p.skew_s = 400;
    sign_ok(&p, SW_BODY, &h);
    assert_string_equal(find(&h, "webhook-timestamp"), "1614265730");

    /* now_s 0 uses the wall clock: somewhere after this test was written. */
    p.skew_s = 0;
    p.now_s = 0;
    sign_ok(&p, SW_BODY, &h);
    assert_true(strtoll(find(&h, "webhook-timestamp"), NULL, 10) > 1700000000);
}

static void test_standard_rotation(void **state)
{
    const char *secrets[] = {"old-raw-secret", SW_SECRET};
    cw_sign_params_t p = params_for(CW_SIGN_STANDARD, secrets, 2);
    p.msg_id = SW_ID;
    cw_sign_headers_t h;
    char sig_old[64];
    char expected[160];
    sign_ok(&p, SW_BODY, &h);
    assert_int_equal(cw_sign_standard_v1(sig_old, sizeof(sig_old), "old-raw-secret", SW_ID, SW_TS, SW_BODY, strlen(SW_BODY)), 0);
    snprintf(expected, sizeof(expected), "%s %s", sig_old, SW_SIG);
    assert_string_equal(find(&h, "webhook-signature"), expected);
}

static void test_standard_default_id(void **state)
{
    const char *secrets[] = {SW_SECRET};
    cw_sign_params_t p = params_for(CW_SIGN_STANDARD, secrets, 1);
    cw_sign_headers_t a, b, c;
    sign_ok(&p, "{\"a\":1}", &a);
    sign_ok(&p, "{\"a\":1}", &b);
    sign_ok(&p, "{\"a\":2}", &c);
    const char *id = find(&a, "webhook-id");
    assert_int_equal(strlen(id), 4 + 32);
    assert_memory_equal(id, "msg_", 4);
    assert_string_equal(id, find(&b, "webhook-id"));
    assert_string_not_equal(id, find(&c, "webhook-id"));
}

static void test_errors(void **state)
{
    char err[160];
    cw_sign_headers_t h;
    cw_sign_params_t p = params_for(CW_SIGN_HMAC, NULL, 0);
    assert_int_equal(cw_sign_request(&p, "", 0, &h, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "secret"));

    const char *bad_whsec[] = {"whsec_!!!notbase64!!!"};
    p = params_for(CW_SIGN_STANDARD, bad_whsec, 1);
    assert_int_equal(cw_sign_request(&p, "", 0, &h, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "base64"));
    assert_null(strstr(err, "notbase64")); /* never echo a secret */

    const char *ok[] = {SW_SECRET};
    p = params_for(CW_SIGN_STANDARD, ok, 1);
    p.msg_id = "msg with spaces";
    assert_int_equal(cw_sign_request(&p, "", 0, &h, err, sizeof(err)), -1);

    const char *empty[] = {""};
    p = params_for(CW_SIGN_STATIC, empty, 1);
    assert_int_equal(cw_sign_request(&p, "", 0, &h, err, sizeof(err)), -1);

    p = params_for(CW_SIGN_NONE, NULL, 0);
    assert_int_equal(cw_sign_request(&p, "", 0, &h, err, sizeof(err)), 0);
    assert_int_equal(h.num_headers, 0);
}

static void test_names(void **state)
{
    cw_sign_scheme_t s;
    cw_sign_tamper_t t;
    assert_int_equal(cw_sign_scheme_parse("standard", &s), 0);
    assert_int_equal(s, CW_SIGN_STANDARD);
    assert_int_equal(cw_sign_scheme_parse("jwt", &s), -1);
    assert_int_equal(cw_sign_tamper_parse("non-hex", &t), 0);
    assert_int_equal(t, CW_SIGN_TAMPER_MALFORMED);
    assert_int_equal(cw_sign_tamper_parse("non-base64", &t), 0);
    assert_int_equal(t, CW_SIGN_TAMPER_MALFORMED);
    assert_int_equal(cw_sign_tamper_parse("bogus", &t), -1);
    assert_string_equal(cw_sign_tamper_name(CW_SIGN_TAMPER_MALFORMED, CW_SIGN_HMAC), "non-hex");
    assert_string_equal(cw_sign_tamper_name(CW_SIGN_TAMPER_MALFORMED, CW_SIGN_STANDARD), "non-base64");
    assert_string_equal(cw_sign_scheme_name(CW_SIGN_BEARER), "bearer");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standard_vector),
        cmocka_unit_test(test_hmac_vectors),
        cmocka_unit_test(test_static_and_bearer),
        cmocka_unit_test(test_hmac_tamper),
        cmocka_unit_test(test_standard_tamper),
        cmocka_unit_test(test_standard_skew),
        cmocka_unit_test(test_standard_rotation),
        cmocka_unit_test(test_standard_default_id),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
