/*
 * test_auth.c: the three authentication schemes against published and
 * independently computed vectors, rotation, failure ranking, configuration
 * errors and arbitrary bytes in every header.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/base64.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include "cw/util.h"
#include "auth.h"

/* Standard Webhooks test vector (reference Go library). */
#define SW_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TS "1614265330"
#define SW_TS_NUM INT64_C(1614265330)
#define SW_BODY "{\"test\": 2432232314}"
#define SW_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

/* printf '%s' '{"email":"ada@example.com","icp_score":91}' | openssl dgst -sha256 -hmac clay-test-secret */
#define HM_BODY "{\"email\":\"ada@example.com\",\"icp_score\":91}"
#define HM_SECRET "clay-test-secret"
#define HM_HEX "11554dc0381c988206fbea4ef446a4685c73259240d7ac577f1d26811c63f820"
/* the same body with -hmac second-secret */
#define HM_SECRET2 "second-secret"
#define HM_HEX2 "00b7f2fad2fa6cbb9f83fe1bb8b03c2cd9f03531fbdb2f8c3e39a54f197bc739"
/* printf '%s' hello | openssl dgst -sha256 -hmac "$(printf 'k%.0s' $(seq 100))": key longer than a block */
#define HM_LONG_HEX "3fd578d761a4f6703009e92d2e8a0aea22ab9ab50d4ad250dc95d8c369dec3f5"
/* printf '%s' hello | openssl dgst -sha256 -hmac "$(printf 'x%.0s' $(seq 64))": key of exactly one block */
#define HM_BLOCK_HEX "1ce6b1b3dcf10b91a2e1a2287d81adc469c65e9756eb2d5f81e77ee251560d3b"

#define STATIC_SECRET "s3cr3t-static-value"
#define HEX64_OF_AB "abababababababababababababababababababababababababababababababab"

static cw_auth_t *new_auth(const char *secrets, unsigned schemes)
{
    char err[256];
    cw_auth_t *auth = cw_auth_new(secrets, schemes, 300, err, sizeof(err));
    if (auth == NULL) {
        fail_msg("cw_auth_new: %s", err);
    }
    return auth;
}

static cw_auth_headers_t sw_headers(const char *id, const char *ts, const char *sig)
{
    cw_auth_headers_t h = {0};
    if (id != NULL) {
        h.webhook_id = id;
        h.webhook_id_len = strlen(id);
    }
    if (ts != NULL) {
        h.webhook_timestamp = ts;
        h.webhook_timestamp_len = strlen(ts);
    }
    if (sig != NULL) {
        h.webhook_signature = sig;
        h.webhook_signature_len = strlen(sig);
    }
    return h;
}

static cw_auth_result_t verify(const cw_auth_t *auth, const cw_auth_headers_t *h, const char *body, int64_t now,
                               const char **scheme)
{
    return cw_auth_verify(auth, h, body, strlen(body), now, scheme);
}

static void test_standard_vector(void **state)
{
    cw_auth_t *auth = new_auth(SW_SECRET, CW_AUTH_ALL);
    cw_auth_headers_t h = sw_headers(SW_ID, SW_TS, SW_SIG);
    const char *scheme = "unset";

    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, &scheme), CW_AUTH_OK);
    assert_string_equal(scheme, "standard");
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_OK);

    /* tampered body, id, timestamp (still fresh) */
    assert_int_equal(verify(auth, &h, "{\"test\": 2432232315}", SW_TS_NUM, &scheme), CW_AUTH_MISMATCH);
    assert_null(scheme);
    assert_int_equal(verify(auth, &h, "{\"test\":2432232314}", SW_TS_NUM, NULL), CW_AUTH_MISMATCH);
    h = sw_headers("msg_p5jXN8AQM9LWM0D4loKWxJeK", SW_TS, SW_SIG);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_MISMATCH);
    h = sw_headers(SW_ID, "1614265331", SW_SIG);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_MISMATCH);
    cw_auth_free(auth);
}

static void test_standard_tolerance(void **state)
{
    cw_auth_t *auth = new_auth(SW_SECRET, CW_AUTH_ALL);
    cw_auth_headers_t h = sw_headers(SW_ID, SW_TS, SW_SIG);

    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM + 299, NULL), CW_AUTH_OK);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM - 299, NULL), CW_AUTH_OK);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM + 300, NULL), CW_AUTH_OK);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM - 300, NULL), CW_AUTH_OK);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM + 301, NULL), CW_AUTH_STALE);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM - 301, NULL), CW_AUTH_STALE);
    assert_int_equal(verify(auth, &h, SW_BODY, 0, NULL), CW_AUTH_STALE);
    assert_int_equal(verify(auth, &h, SW_BODY, -1, NULL), CW_AUTH_STALE);
    assert_int_equal(verify(auth, &h, SW_BODY, INT64_MAX, NULL), CW_AUTH_STALE);
    /* a stale request with a wrong signature is still reported stale */
    assert_int_equal(verify(auth, &h, "tampered", SW_TS_NUM + 1000, NULL), CW_AUTH_STALE);
    cw_auth_free(auth);

    char err[128];
    auth = cw_auth_new(SW_SECRET, CW_AUTH_STANDARD, 10, err, sizeof(err));
    assert_non_null(auth);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM + 10, NULL), CW_AUTH_OK);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM + 11, NULL), CW_AUTH_STALE);
    cw_auth_free(auth);
}

static void test_standard_signature_list(void **state)
{
    cw_auth_t *auth = new_auth(SW_SECRET, CW_AUTH_ALL);
    static const struct {
        const char *sig;
        cw_auth_result_t expected;
    } cases[] = {
        /* several entries, one valid (rotation on the sender's side) */
        {"v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " SW_SIG, CW_AUTH_OK},
        {SW_SIG " v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", CW_AUTH_OK},
        {"v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= " SW_SIG, CW_AUTH_OK},
        {"  " SW_SIG "  ", CW_AUTH_OK},
        {"v1,!!! " SW_SIG, CW_AUTH_OK},
        /* other versions are ignored, even with the right MAC */
        {"v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", CW_AUTH_MALFORMED},
        {"v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", CW_AUTH_MALFORMED},
        {"V1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", CW_AUTH_MALFORMED},
        /* well-formed but wrong */
        {"v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", CW_AUTH_MISMATCH},
        {"v1,!!! v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", CW_AUTH_MISMATCH},
        /* not base64 of exactly 32 bytes */
        {"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", CW_AUTH_MALFORMED},
        {"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE==", CW_AUTH_MALFORMED},
        {"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O==", CW_AUTH_MALFORMED},
        {"v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE=", CW_AUTH_MALFORMED},
        {"v1,", CW_AUTH_MALFORMED},
        {"v1", CW_AUTH_MALFORMED},
        {"", CW_AUTH_MALFORMED},
        {"   ", CW_AUTH_MALFORMED},
        {"g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", CW_AUTH_MALFORMED},
    };

    for (size_t i = 0; i != CW_ARRAY_SIZE(cases); ++i) {
        cw_auth_headers_t h = sw_headers(SW_ID, SW_TS, cases[i].sig);
        cw_auth_result_t r = verify(auth, &h, SW_BODY, SW_TS_NUM, NULL);
        if (r != cases[i].expected) {
            fail_msg("case %zu (%s): got %s, want %s", i, cases[i].sig, cw_auth_result_name(r),
                     cw_auth_result_name(cases[i].expected));
        }
    }
    cw_auth_free(auth);
}

static void test_standard_headers(void **state)
{
    cw_auth_t *auth = new_auth(SW_SECRET, CW_AUTH_ALL);
    char long_id[CW_AUTH_MAX_WEBHOOK_ID + 2];
    char long_sig[CW_AUTH_MAX_SIGNATURE_HEADER + 64];
    static const char *const bad_ts[] = {
        "",
        "+1614265330",
        "-1614265330",
        " 1614265330",
        "1614265330 ",
        "1614265330a",
        "0x60375ff2",
        "1.6e9",
        "123456789012345678901", /* 21 digits */
        "99999999999999999999",  /* 20 digits, overflows 64 bits */
    };
    cw_auth_headers_t h;

    for (size_t i = 0; i != CW_ARRAY_SIZE(bad_ts); ++i) {
        h = sw_headers(SW_ID, bad_ts[i], SW_SIG);
        if (verify(auth, &h, SW_BODY, SW_TS_NUM, NULL) != CW_AUTH_MALFORMED) {
            fail_msg("timestamp \"%s\" was not rejected as malformed", bad_ts[i]);
        }
    }
    /* 20 digits that fit are a valid (if absurd) timestamp: stale, not malformed */
    h = sw_headers(SW_ID, "00000000001614265330", SW_SIG);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_MISMATCH);
    h = sw_headers(SW_ID, "18446744073709551615", SW_SIG);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_STALE);

    /* partial sets of headers */
    h = sw_headers(NULL, SW_TS, SW_SIG);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_MALFORMED);
    h = sw_headers(SW_ID, NULL, SW_SIG);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_MALFORMED);
    h = sw_headers(SW_ID, SW_TS, NULL);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_MALFORMED);
    h = sw_headers("", SW_TS, SW_SIG);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_MALFORMED);
    h = sw_headers(NULL, NULL, NULL);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_MISSING);

    /* caps */
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    h = sw_headers(long_id, SW_TS, SW_SIG);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_MALFORMED);
    long_id[CW_AUTH_MAX_WEBHOOK_ID] = '\0';
    h = sw_headers(long_id, SW_TS, SW_SIG);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_MISMATCH);

    memset(long_sig, ' ', sizeof(long_sig));
    memcpy(long_sig + sizeof(long_sig) - sizeof(SW_SIG), SW_SIG, sizeof(SW_SIG));
    h = sw_headers(SW_ID, SW_TS, long_sig);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_MALFORMED);
    h = sw_headers(SW_ID, SW_TS, long_sig + sizeof(long_sig) - CW_AUTH_MAX_SIGNATURE_HEADER - 1);
    assert_int_equal(h.webhook_signature_len, CW_AUTH_MAX_SIGNATURE_HEADER);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_OK);
    cw_auth_free(auth);
}

/* A non-whsec_ secret is used as raw bytes for standard; checked against BoringSSL's HMAC(). */
static void test_standard_raw_secret_and_rotation(void **state)
{
    static const char key[] = "plain-secret";
    static const char content[] = SW_ID "." SW_TS "." SW_BODY;
    uint8_t mac[32];
    unsigned mac_len = 0;
    char sig[3 + 44 + 1] = "v1,";
    cw_auth_headers_t h;

    assert_non_null(HMAC(EVP_sha256(), key, strlen(key), (const uint8_t *)content, strlen(content), mac, &mac_len));
    assert_int_equal(mac_len, 32);
    assert_int_equal(EVP_EncodeBlock((uint8_t *)sig + 3, mac, 32), 44);

    cw_auth_t *auth = new_auth(SW_SECRET ", plain-secret", CW_AUTH_STANDARD);
    h = sw_headers(SW_ID, SW_TS, sig);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_OK);
    h = sw_headers(SW_ID, SW_TS, SW_SIG);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_OK);
    cw_auth_free(auth);

    auth = new_auth("other-secret", CW_AUTH_STANDARD);
    h = sw_headers(SW_ID, SW_TS, sig);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_MISMATCH);
    cw_auth_free(auth);

    /* the whsec_ string is not itself the standard key */
    auth = new_auth(SW_SECRET, CW_AUTH_STANDARD);
    assert_non_null(HMAC(EVP_sha256(), SW_SECRET, strlen(SW_SECRET), (const uint8_t *)content, strlen(content), mac, &mac_len));
    EVP_EncodeBlock((uint8_t *)sig + 3, mac, 32);
    h = sw_headers(SW_ID, SW_TS, sig);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_MISMATCH);
    cw_auth_free(auth);
}

static cw_auth_headers_t hmac_headers(const char *sig)
{
    cw_auth_headers_t h = {0};
    h.x_clay_signature = sig;
    h.x_clay_signature_len = sig != NULL ? strlen(sig) : 0;
    return h;
}

static void test_hmac_vector(void **state)
{
    cw_auth_t *auth = new_auth(HM_SECRET, CW_AUTH_ALL);
    const char *scheme = NULL;
    cw_auth_headers_t h;
    char upper[sizeof("sha256=" HM_HEX)];

    h = hmac_headers("sha256=" HM_HEX);
    assert_int_equal(verify(auth, &h, HM_BODY, 0, &scheme), CW_AUTH_OK);
    assert_string_equal(scheme, "hmac");
    h = hmac_headers(HM_HEX);
    assert_int_equal(verify(auth, &h, HM_BODY, 0, NULL), CW_AUTH_OK);
    h = hmac_headers(" sha256=" HM_HEX " ");
    assert_int_equal(verify(auth, &h, HM_BODY, 0, NULL), CW_AUTH_OK);

    memcpy(upper, "sha256=" HM_HEX, sizeof(upper));
    for (char *p = upper + 7; *p != '\0'; ++p) {
        if (*p >= 'a' && *p <= 'f') {
            *p = (char)(*p - 'a' + 'A');
        }
    }
    h = hmac_headers(upper);
    assert_int_equal(verify(auth, &h, HM_BODY, 0, NULL), CW_AUTH_OK);
    h = hmac_headers(upper + 7);
    assert_int_equal(verify(auth, &h, HM_BODY, 0, NULL), CW_AUTH_OK);
    upper[0] = 'S', upper[1] = 'H', upper[2] = 'A';
    h = hmac_headers(upper);
    assert_int_equal(verify(auth, &h, HM_BODY, 0, NULL), CW_AUTH_OK);

    /* tampered body: one byte, a trailing newline, re-serialised */
    h = hmac_headers("sha256=" HM_HEX);
    assert_int_equal(verify(auth, &h, "{\"email\":\"ada@example.com\",\"icp_score\":92}", 0, &scheme), CW_AUTH_MISMATCH);
    assert_null(scheme);
    assert_int_equal(verify(auth, &h, HM_BODY "\n", 0, NULL), CW_AUTH_MISMATCH);
    assert_int_equal(verify(auth, &h, "{\"email\": \"ada@example.com\", \"icp_score\": 91}", 0, NULL), CW_AUTH_MISMATCH);
    cw_auth_free(auth);

    /* the other secret does not verify it */
    auth = new_auth(HM_SECRET2, CW_AUTH_ALL);
    assert_int_equal(verify(auth, &h, HM_BODY, 0, NULL), CW_AUTH_MISMATCH);
    h = hmac_headers(HM_HEX2);
    assert_int_equal(verify(auth, &h, HM_BODY, 0, NULL), CW_AUTH_OK);
    cw_auth_free(auth);
}

static void test_hmac_key_lengths(void **state)
{
    char long_key[101], block_key[65];
    cw_auth_headers_t h;

    memset(long_key, 'k', 100);
    long_key[100] = '\0';
    memset(block_key, 'x', 64);
    block_key[64] = '\0';

    cw_auth_t *auth = new_auth(long_key, CW_AUTH_HMAC);
    h = hmac_headers(HM_LONG_HEX);
    assert_int_equal(verify(auth, &h, "hello", 0, NULL), CW_AUTH_OK);
    cw_auth_free(auth);

    auth = new_auth(block_key, CW_AUTH_HMAC);
    h = hmac_headers(HM_BLOCK_HEX);
    assert_int_equal(verify(auth, &h, "hello", 0, NULL), CW_AUTH_OK);
    cw_auth_free(auth);

    /* against BoringSSL's HMAC for key and body lengths around the block size */
    static const size_t lens[] = {1, 2, 31, 32, 55, 56, 63, 64, 65, 127, 128, 129, 1000};
    uint8_t key[1000], body[1000], mac[32];
    char hex[65];
    for (size_t i = 0; i != sizeof(key); ++i) {
        key[i] = (uint8_t)('A' + i % 58); /* letters and [\]^_` : no ',' or spaces */
        body[i] = (uint8_t)(i * 7);
    }
    for (size_t k = 0; k != CW_ARRAY_SIZE(lens); ++k) {
        char *secret = cw_strndup((const char *)key, lens[k]);
        auth = new_auth(secret, CW_AUTH_HMAC);
        for (size_t b = 0; b != CW_ARRAY_SIZE(lens); ++b) {
            unsigned mac_len = 0;
            HMAC(EVP_sha256(), secret, lens[k], body, lens[b], mac, &mac_len);
            cw_hex_encode(hex, mac, 32);
            h = hmac_headers(hex);
            if (cw_auth_verify(auth, &h, body, lens[b], 0, NULL) != CW_AUTH_OK) {
                fail_msg("key length %zu body length %zu", lens[k], lens[b]);
            }
        }
        /* the empty body too */
        unsigned mac_len = 0;
        HMAC(EVP_sha256(), secret, lens[k], body, 0, mac, &mac_len);
        cw_hex_encode(hex, mac, 32);
        h = hmac_headers(hex);
        assert_int_equal(cw_auth_verify(auth, &h, NULL, 0, 0, NULL), CW_AUTH_OK);
        cw_auth_free(auth);
        free(secret);
    }
}

static void test_hmac_malformed(void **state)
{
    cw_auth_t *auth = new_auth(HM_SECRET, CW_AUTH_HMAC);
    static const char *const malformed[] = {
        "sha256=" HM_HEX "0",                                                      /* 65 digits */
        "sha256=11554dc0381c988206fbea4ef446a4685c73259240d7ac577f1d26811c63f82",  /* 63 digits */
        "sha256=g1554dc0381c988206fbea4ef446a4685c73259240d7ac577f1d26811c63f820", /* non-hex */
        "sha256=11554dc0381c988206fbea4ef446a4685c73259240d7ac577f1d26811c63f8 0",
        "sha1=" HM_HEX,
        "sha256 =" HM_HEX,
        "sha256=",
        "sha256",
        "",
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    };
    cw_auth_headers_t h;

    for (size_t i = 0; i != CW_ARRAY_SIZE(malformed); ++i) {
        h = hmac_headers(malformed[i]);
        if (verify(auth, &h, HM_BODY, 0, NULL) != CW_AUTH_MALFORMED) {
            fail_msg("\"%s\" not malformed", malformed[i]);
        }
    }
    h = hmac_headers(NULL);
    assert_int_equal(verify(auth, &h, HM_BODY, 0, NULL), CW_AUTH_MISSING);
    h = hmac_headers("sha256=0000000000000000000000000000000000000000000000000000000000000000");
    assert_int_equal(verify(auth, &h, HM_BODY, 0, NULL), CW_AUTH_MISMATCH);
    cw_auth_free(auth);
}

static cw_auth_headers_t static_headers(const char *x_clay_secret, const char *authorization)
{
    cw_auth_headers_t h = {0};
    if (x_clay_secret != NULL) {
        h.x_clay_secret = x_clay_secret;
        h.x_clay_secret_len = strlen(x_clay_secret);
    }
    if (authorization != NULL) {
        h.authorization = authorization;
        h.authorization_len = strlen(authorization);
    }
    return h;
}

static void test_static(void **state)
{
    cw_auth_t *auth = new_auth(STATIC_SECRET, CW_AUTH_ALL);
    static const struct {
        const char *x_clay_secret, *authorization;
        cw_auth_result_t expected;
    } cases[] = {
        {STATIC_SECRET, NULL, CW_AUTH_OK},
        {" " STATIC_SECRET " ", NULL, CW_AUTH_OK},
        {NULL, "Bearer " STATIC_SECRET, CW_AUTH_OK},
        {NULL, "bearer " STATIC_SECRET, CW_AUTH_OK},
        {NULL, "BEARER   " STATIC_SECRET, CW_AUTH_OK},
        {NULL, "Bearer\t" STATIC_SECRET, CW_AUTH_OK},
        {"wrong", "Bearer " STATIC_SECRET, CW_AUTH_OK},
        {STATIC_SECRET, "Basic Zm9vOmJhcg==", CW_AUTH_OK},
        /* wrong, prefix, suffix, case */
        {"wrong", NULL, CW_AUTH_MISMATCH},
        {"s3cr3t-static-valu", NULL, CW_AUTH_MISMATCH},
        {STATIC_SECRET "x", NULL, CW_AUTH_MISMATCH},
        {"S3CR3T-STATIC-VALUE", NULL, CW_AUTH_MISMATCH},
        {NULL, "Bearer s3cr3t-static-valu", CW_AUTH_MISMATCH},
        {NULL, "Bearer " STATIC_SECRET STATIC_SECRET, CW_AUTH_MISMATCH},
        /* the token is not the whole header */
        {NULL, STATIC_SECRET, CW_AUTH_MALFORMED},
        {NULL, "Bearer" STATIC_SECRET, CW_AUTH_MALFORMED},
        {NULL, "Basic Zm9vOmJhcg==", CW_AUTH_MALFORMED},
        {NULL, "Bearer", CW_AUTH_MALFORMED},
        {NULL, "Bearer   ", CW_AUTH_MALFORMED},
        {"", NULL, CW_AUTH_MALFORMED},
        {"wrong", "Basic Zm9vOmJhcg==", CW_AUTH_MISMATCH},
        {NULL, NULL, CW_AUTH_MISSING},
    };
    const char *scheme;

    for (size_t i = 0; i != CW_ARRAY_SIZE(cases); ++i) {
        cw_auth_headers_t h = static_headers(cases[i].x_clay_secret, cases[i].authorization);
        scheme = "unset";
        cw_auth_result_t r = verify(auth, &h, "{}", 0, &scheme);
        if (r != cases[i].expected) {
            fail_msg("case %zu: got %s, want %s", i, cw_auth_result_name(r), cw_auth_result_name(cases[i].expected));
        }
        if (r == CW_AUTH_OK) {
            assert_string_equal(scheme, "static");
        } else {
            assert_null(scheme);
        }
    }

    /* over the cap: malformed, even if it starts with the secret */
    char *big = cw_malloc(CW_AUTH_MAX_SECRET_HEADER + 2);
    memset(big, 'a', CW_AUTH_MAX_SECRET_HEADER + 1);
    big[CW_AUTH_MAX_SECRET_HEADER + 1] = '\0';
    cw_auth_headers_t h = static_headers(big, NULL);
    assert_int_equal(verify(auth, &h, "{}", 0, NULL), CW_AUTH_MALFORMED);
    free(big);
    cw_auth_free(auth);
}

static void test_rotation_and_secret_list(void **state)
{
    cw_auth_t *auth = new_auth(" , old-secret ,, " STATIC_SECRET " , " HM_SECRET ",", CW_AUTH_ALL);
    cw_auth_headers_t h;

    assert_int_equal(cw_auth_num_secrets(auth), 3);
    h = static_headers("old-secret", NULL);
    assert_int_equal(verify(auth, &h, "{}", 0, NULL), CW_AUTH_OK);
    h = static_headers(STATIC_SECRET, NULL);
    assert_int_equal(verify(auth, &h, "{}", 0, NULL), CW_AUTH_OK);
    h = static_headers(NULL, "Bearer " HM_SECRET);
    assert_int_equal(verify(auth, &h, "{}", 0, NULL), CW_AUTH_OK);
    /* the separators and spaces are not part of a secret */
    h = static_headers(" , old-secret ", NULL);
    assert_int_equal(verify(auth, &h, "{}", 0, NULL), CW_AUTH_MISMATCH);
    h = static_headers("old-secret,", NULL);
    assert_int_equal(verify(auth, &h, "{}", 0, NULL), CW_AUTH_MISMATCH);
    /* hmac with the third secret */
    h = hmac_headers(HM_HEX);
    assert_int_equal(verify(auth, &h, HM_BODY, 0, NULL), CW_AUTH_OK);
    cw_auth_free(auth);

    /* hmac rotation: both configured, each signature verifies */
    auth = new_auth(HM_SECRET "," HM_SECRET2, CW_AUTH_HMAC);
    h = hmac_headers(HM_HEX);
    assert_int_equal(verify(auth, &h, HM_BODY, 0, NULL), CW_AUTH_OK);
    h = hmac_headers("sha256=" HM_HEX2);
    assert_int_equal(verify(auth, &h, HM_BODY, 0, NULL), CW_AUTH_OK);
    cw_auth_free(auth);

    /* standard rotation: the whsec_ secret second */
    auth = new_auth("whsec_c2Vjb25k," SW_SECRET, CW_AUTH_STANDARD);
    h = sw_headers(SW_ID, SW_TS, SW_SIG);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_OK);
    cw_auth_free(auth);

    /* the whsec_ string as configured is the static and hmac secret */
    auth = new_auth(SW_SECRET, CW_AUTH_STATIC);
    h = static_headers(SW_SECRET, NULL);
    assert_int_equal(verify(auth, &h, "{}", 0, NULL), CW_AUTH_OK);
    h = static_headers("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", NULL);
    assert_int_equal(verify(auth, &h, "{}", 0, NULL), CW_AUTH_MISMATCH);
    cw_auth_free(auth);
}

static void test_schemes_disabled(void **state)
{
    cw_auth_headers_t h;
    cw_auth_t *auth;

    auth = new_auth(STATIC_SECRET "," HM_SECRET "," SW_SECRET, CW_AUTH_HMAC | CW_AUTH_STANDARD);
    h = static_headers(STATIC_SECRET, "Bearer " STATIC_SECRET);
    assert_int_equal(verify(auth, &h, HM_BODY, 0, NULL), CW_AUTH_MISSING);
    cw_auth_free(auth);

    auth = new_auth(STATIC_SECRET "," HM_SECRET "," SW_SECRET, CW_AUTH_STATIC | CW_AUTH_STANDARD);
    h = hmac_headers(HM_HEX);
    assert_int_equal(verify(auth, &h, HM_BODY, 0, NULL), CW_AUTH_MISSING);
    cw_auth_free(auth);

    auth = new_auth(STATIC_SECRET "," HM_SECRET "," SW_SECRET, CW_AUTH_STATIC | CW_AUTH_HMAC);
    h = sw_headers(SW_ID, SW_TS, SW_SIG);
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM, NULL), CW_AUTH_MISSING);
    cw_auth_free(auth);
}

static void test_failure_ranking(void **state)
{
    cw_auth_t *auth = new_auth(STATIC_SECRET "," SW_SECRET, CW_AUTH_ALL);
    cw_auth_headers_t h = sw_headers(SW_ID, SW_TS, SW_SIG);

    /* static mismatch + hmac malformed + standard stale -> stale */
    h.x_clay_secret = "wrong";
    h.x_clay_secret_len = 5;
    h.x_clay_signature = "zz";
    h.x_clay_signature_len = 2;
    assert_int_equal(verify(auth, &h, SW_BODY, SW_TS_NUM + 1000, NULL), CW_AUTH_STALE);
    /* ... standard fresh but tampered body -> mismatch */
    assert_int_equal(verify(auth, &h, "x", SW_TS_NUM, NULL), CW_AUTH_MISMATCH);
    /* static mismatch wins over malformed hmac and missing standard */
    h.webhook_id = h.webhook_timestamp = h.webhook_signature = NULL;
    assert_int_equal(verify(auth, &h, "x", SW_TS_NUM, NULL), CW_AUTH_MISMATCH);
    /* malformed wins over missing */
    h.x_clay_secret = NULL;
    assert_int_equal(verify(auth, &h, "x", SW_TS_NUM, NULL), CW_AUTH_MALFORMED);
    /* any valid scheme passes whatever the others say */
    h.x_clay_secret = STATIC_SECRET;
    h.x_clay_secret_len = strlen(STATIC_SECRET);
    assert_int_equal(verify(auth, &h, "x", SW_TS_NUM, NULL), CW_AUTH_OK);
    cw_auth_free(auth);

    assert_string_equal(cw_auth_result_name(CW_AUTH_OK), "ok");
    assert_string_equal(cw_auth_result_name(CW_AUTH_MISSING), "missing");
    assert_string_equal(cw_auth_result_name(CW_AUTH_MALFORMED), "malformed");
    assert_string_equal(cw_auth_result_name(CW_AUTH_MISMATCH), "mismatch");
    assert_string_equal(cw_auth_result_name(CW_AUTH_STALE), "stale");
}

/* cw_auth_check_headers: what is decided before the body (issue 16). */
static void test_check_headers(void **state)
{
    cw_auth_t *auth = new_auth(STATIC_SECRET "," SW_SECRET, CW_AUTH_ALL);
    const char *scheme = "x";
    cw_auth_headers_t none = {0};
    assert_int_equal(cw_auth_check_headers(auth, &none, SW_TS_NUM, &scheme), CW_AUTH_MISSING);
    assert_null(scheme);

    cw_auth_headers_t h = {0};
    h.x_clay_secret = STATIC_SECRET;
    h.x_clay_secret_len = strlen(STATIC_SECRET);
    assert_int_equal(cw_auth_check_headers(auth, &h, SW_TS_NUM, &scheme), CW_AUTH_OK);
    assert_string_equal(scheme, "static");
    h.x_clay_secret = "wrong";
    h.x_clay_secret_len = 5;
    assert_int_equal(cw_auth_check_headers(auth, &h, SW_TS_NUM, &scheme), CW_AUTH_MISMATCH);

    /* hmac: well formed is enough to read the body; malformed is refused */
    cw_auth_headers_t sig = {0};
    sig.x_clay_signature = "sha256=" HEX64_OF_AB;
    sig.x_clay_signature_len = strlen(sig.x_clay_signature);
    assert_int_equal(cw_auth_check_headers(auth, &sig, SW_TS_NUM, &scheme), CW_AUTH_OK);
    assert_null(scheme);
    sig.x_clay_signature = "sha256=abc";
    sig.x_clay_signature_len = 10;
    assert_int_equal(cw_auth_check_headers(auth, &sig, SW_TS_NUM, &scheme), CW_AUTH_MALFORMED);

    /* standard: complete, well formed and fresh */
    cw_auth_headers_t sw = sw_headers(SW_ID, SW_TS, SW_SIG);
    assert_int_equal(cw_auth_check_headers(auth, &sw, SW_TS_NUM, &scheme), CW_AUTH_OK);
    assert_int_equal(cw_auth_check_headers(auth, &sw, SW_TS_NUM + 301, &scheme), CW_AUTH_STALE);
    sw = sw_headers(SW_ID, NULL, SW_SIG);
    assert_int_equal(cw_auth_check_headers(auth, &sw, SW_TS_NUM, &scheme), CW_AUTH_MALFORMED);
    cw_auth_free(auth);

    /* a scheme that is off does not let its headers through */
    auth = new_auth(STATIC_SECRET, CW_AUTH_STATIC);
    sig.x_clay_signature = "sha256=" HEX64_OF_AB;
    sig.x_clay_signature_len = strlen(sig.x_clay_signature);
    assert_int_equal(cw_auth_check_headers(auth, &sig, SW_TS_NUM, &scheme), CW_AUTH_MISSING);
    cw_auth_free(auth);
}

static void test_config_errors(void **state)
{
    char err[256];
    static const char *const no_secret[] = {"", " ", ",", " , ,, ", "\t"};

    for (size_t i = 0; i != CW_ARRAY_SIZE(no_secret); ++i) {
        err[0] = '\0';
        assert_null(cw_auth_new(no_secret[i], CW_AUTH_ALL, 300, err, sizeof(err)));
        assert_true(strlen(err) > 0);
    }
    assert_null(cw_auth_new(NULL, CW_AUTH_ALL, 300, err, sizeof(err)));
    assert_null(cw_auth_new("secret", 0, 300, err, sizeof(err)));
    assert_null(cw_auth_new("secret", 8, 300, err, sizeof(err)));

    /* a whsec_ secret must decode; the reason never shows it */
    static const char *const bad_whsec[] = {"whsec_", "whsec_!!!!", "whsec_abc", "ok,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS*"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(bad_whsec); ++i) {
        err[0] = '\0';
        assert_null(cw_auth_new(bad_whsec[i], CW_AUTH_ALL, 300, err, sizeof(err)));
        assert_non_null(strstr(err, "whsec_"));
        assert_null(strstr(err, "MfKQ"));
        assert_null(strstr(err, "!!!"));
    }
    /* a tiny error buffer is fine */
    assert_null(cw_auth_new("", CW_AUTH_ALL, 300, err, 4));
    assert_true(strlen(err) < 4);
}

static void test_parse_schemes(void **state)
{
    unsigned s = 0;

    assert_int_equal(cw_auth_parse_schemes("static,hmac,standard", &s), 0);
    assert_int_equal(s, CW_AUTH_ALL);
    assert_int_equal(cw_auth_parse_schemes("all", &s), 0);
    assert_int_equal(s, CW_AUTH_ALL);
    assert_int_equal(cw_auth_parse_schemes(" Static , HMAC ", &s), 0);
    assert_int_equal(s, CW_AUTH_STATIC | CW_AUTH_HMAC);
    assert_int_equal(cw_auth_parse_schemes("standard", &s), 0);
    assert_int_equal(s, CW_AUTH_STANDARD);
    s = 99;
    assert_int_equal(cw_auth_parse_schemes("", &s), -1);
    assert_int_equal(cw_auth_parse_schemes("static,,hmac", &s), -1);
    assert_int_equal(cw_auth_parse_schemes("static,jwt", &s), -1);
    assert_int_equal(cw_auth_parse_schemes("statics", &s), -1);
    assert_int_equal(cw_auth_parse_schemes(NULL, &s), -1);
    assert_int_equal(s, 99);
}

/* xorshift: deterministic so a failure reproduces */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Fills an exact-size heap buffer (so ASan sees any read past it) with bytes
 * biased towards the characters the parsers look at. */
static char *garbage(size_t *out_len)
{
    static const char interesting[] = "v1, =sha256Bearer whsec_0123456789abcdefABCDEF+/.\t\r\n";
    size_t len;
    switch (rng() % 4) {
    case 0:
        len = rng() % 8;
        break;
    case 1:
        len = 40 + rng() % 60;
        break;
    case 2:
        len = rng() % 600;
        break;
    default:
        len = rng() % (CW_AUTH_MAX_SIGNATURE_HEADER + 100);
        break;
    }
    char *p = malloc(len != 0 ? len : 1);
    for (size_t i = 0; i != len; ++i) {
        uint64_t r = rng();
        p[i] = (r & 1) != 0 ? (char)(r >> 8) : interesting[(r >> 8) % (sizeof(interesting) - 1)];
    }
    *out_len = len;
    return p;
}

static void test_garbage_never_crashes(void **state)
{
    cw_auth_t *auth = new_auth(STATIC_SECRET "," HM_SECRET "," SW_SECRET, CW_AUTH_ALL);

    for (int iter = 0; iter != 20000; ++iter) {
        cw_auth_headers_t h = {0};
        const char **ptrs[] = {&h.x_clay_secret, &h.authorization,     &h.x_clay_signature,
                               &h.webhook_id,    &h.webhook_timestamp, &h.webhook_signature};
        size_t *lens[] = {&h.x_clay_secret_len, &h.authorization_len,     &h.x_clay_signature_len,
                          &h.webhook_id_len,    &h.webhook_timestamp_len, &h.webhook_signature_len};
        char *owned[6] = {NULL};
        for (size_t i = 0; i != 6; ++i) {
            if (rng() % 3 != 0) {
                owned[i] = garbage(lens[i]);
                *ptrs[i] = owned[i];
            }
        }
        if (iter % 2 == 0 && owned[4] != NULL) {
            /* a plausible timestamp so the signature list is parsed and MACs computed */
            free(owned[4]);
            owned[4] = cw_strdup(SW_TS);
            h.webhook_timestamp = owned[4];
            h.webhook_timestamp_len = strlen(SW_TS);
        }
        size_t body_len;
        char *body = garbage(&body_len);
        cw_auth_result_t r = cw_auth_verify(auth, &h, body, body_len, SW_TS_NUM, NULL);
        assert_true(r == CW_AUTH_MISSING || r == CW_AUTH_MALFORMED || r == CW_AUTH_MISMATCH || r == CW_AUTH_STALE);
        free(body);
        for (size_t i = 0; i != 6; ++i) {
            free(owned[i]);
        }
    }

    /* NUL bytes and empty non-NULL values */
    cw_auth_headers_t h = {0};
    static const char nuls[8] = {0};
    h.x_clay_secret = h.authorization = h.x_clay_signature = h.webhook_id = h.webhook_timestamp = h.webhook_signature = nuls;
    h.x_clay_secret_len = h.authorization_len = h.x_clay_signature_len = h.webhook_id_len = h.webhook_timestamp_len =
        h.webhook_signature_len = sizeof(nuls);
    assert_int_not_equal(cw_auth_verify(auth, &h, nuls, sizeof(nuls), 0, NULL), CW_AUTH_OK);
    h.x_clay_secret_len = h.authorization_len = h.x_clay_signature_len = h.webhook_id_len = h.webhook_timestamp_len =
        h.webhook_signature_len = 0;
    assert_int_equal(cw_auth_verify(auth, &h, nuls, 0, 0, NULL), CW_AUTH_MALFORMED);
    cw_auth_free(auth);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standard_vector),
        cmocka_unit_test(test_standard_tolerance),
        cmocka_unit_test(test_standard_signature_list),
        cmocka_unit_test(test_standard_headers),
        cmocka_unit_test(test_standard_raw_secret_and_rotation),
        cmocka_unit_test(test_hmac_vector),
        cmocka_unit_test(test_hmac_key_lengths),
        cmocka_unit_test(test_hmac_malformed),
        cmocka_unit_test(test_static),
        cmocka_unit_test(test_rotation_and_secret_list),
        cmocka_unit_test(test_schemes_disabled),
        cmocka_unit_test(test_failure_ranking),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_check_headers),
        cmocka_unit_test(test_parse_schemes),
        cmocka_unit_test(test_garbage_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
