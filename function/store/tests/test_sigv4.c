/* test_sigv4.c: SigV4 against the examples of the S3 API reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "sigv4.h"

static const cw_sigv4_creds_t example_creds = {
    .access_key = "AKIAIOSFODNN7EXAMPLE",
    .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    .region = "us-east-1",
    .service = "s3",
};

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_get_object_with_range(void **state)
{
    (void)state;
    char payload_hash[65];
    cw_sigv4_payload_hash(payload_hash, NULL, 0);
    assert_string_equal(payload_hash, EMPTY_SHA256);
    /* deliberately unsorted, mixed case, with extra spaces: canonicalisation must fix all of it */
    const char *headers[] = {
        "X-Amz-Date: 20130524T000000Z",
        "Range:   bytes=0-9  ",
        "Host: examplebucket.s3.amazonaws.com",
        "x-amz-content-sha256: " EMPTY_SHA256,
    };
    cw_buf_t auth = CW_BUF_INIT;
    char canonical_hash[65];
    assert_int_equal(
        cw_sigv4_sign(&example_creds, "GET", "/test.txt", "", headers, 4, "20130524T000000Z", payload_hash, &auth, canonical_hash),
        0);
    assert_string_equal(canonical_hash, "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    assert_string_equal(auth.base, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                                   "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                                   "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    cw_buf_free(&auth);
}

static void test_put_object(void **state)
{
    (void)state;
    static const char body[] = "Welcome to Amazon S3.";
    char payload_hash[65];
    cw_sigv4_payload_hash(payload_hash, body, strlen(body));
    cw_buf_t uri = CW_BUF_INIT;
    cw_buf_appends(&uri, "/");
    cw_sigv4_uri_encode(&uri, CW_STRLIT("test$file.text"), 1);
    assert_string_equal(uri.base, "/test%24file.text");

    char content_header[100];
    snprintf(content_header, sizeof(content_header), "x-amz-content-sha256: %s", payload_hash);
    const char *headers[] = {
        "Host: examplebucket.s3.amazonaws.com",
        "Date: Fri, 24 May 2013 00:00:00 GMT",
        "x-amz-date: 20130524T000000Z",
        "x-amz-storage-class: REDUCED_REDUNDANCY",
        content_header,
    };
    cw_buf_t auth = CW_BUF_INIT;
    assert_int_equal(cw_sigv4_sign(&example_creds, "PUT", uri.base, "", headers, 5, "20130524T000000Z", payload_hash, &auth, NULL),
                     0);
    assert_string_equal(auth.base, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                                   "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
                                   "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    cw_buf_free(&auth);
    cw_buf_free(&uri);
}

static void test_uri_encode(void **state)
{
    (void)state;
    cw_buf_t b = CW_BUF_INIT;
    cw_sigv4_uri_encode(&b, CW_STRLIT("a b/c~d=e+f"), 0);
    assert_string_equal(b.base, "a%20b%2Fc~d%3De%2Bf");
    cw_buf_reset(&b);
    cw_sigv4_uri_encode(&b, CW_STRLIT("events/x.y_z-1"), 1);
    assert_string_equal(b.base, "events/x.y_z-1");
    cw_buf_reset(&b);
    cw_sigv4_uri_encode(&b, "\xff\x01", 2, 1);
    assert_string_equal(b.base, "%FF%01");
    cw_buf_free(&b);
}

static void test_amz_date(void **state)
{
    (void)state;
    char date[17];
    cw_sigv4_amz_date(date, 1369353600000); /* 2013-05-24T00:00:00Z */
    assert_string_equal(date, "20130524T000000Z");
}

static void test_rejects_bad_input(void **state)
{
    (void)state;
    cw_buf_t auth = CW_BUF_INIT;
    const char *no_colon[] = {"Host examplebucket"};
    assert_int_equal(cw_sigv4_sign(&example_creds, "GET", "/", "", no_colon, 1, "20130524T000000Z", EMPTY_SHA256, &auth, NULL), -1);
    const char *bad_name[] = {"Ho st: x"};
    assert_int_equal(cw_sigv4_sign(&example_creds, "GET", "/", "", bad_name, 1, "20130524T000000Z", EMPTY_SHA256, &auth, NULL), -1);
    const char *ctl_value[] = {"Host: a\r\nb"};
    assert_int_equal(cw_sigv4_sign(&example_creds, "GET", "/", "", ctl_value, 1, "20130524T000000Z", EMPTY_SHA256, &auth, NULL),
                     -1);
    const char *ok[] = {"Host: x"};
    assert_int_equal(cw_sigv4_sign(&example_creds, "GET", "/", "", ok, 1, "2013-05-24", EMPTY_SHA256, &auth, NULL), -1);
    assert_int_equal(cw_sigv4_sign(&example_creds, "GET", "/", "", ok, 0, "20130524T000000Z", EMPTY_SHA256, &auth, NULL), -1);
    assert_null(auth.base);
    /* duplicate names are joined with ',' in one canonical header */
    const char *dup[] = {"x-amz-meta-a: 1", "Host: x", "X-Amz-Meta-A: 2"};
    assert_int_equal(cw_sigv4_sign(&example_creds, "GET", "/", "", dup, 3, "20130524T000000Z", EMPTY_SHA256, &auth, NULL), 0);
    assert_non_null(strstr(auth.base, "SignedHeaders=host;x-amz-meta-a,"));
    cw_buf_free(&auth);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_object_with_range),
        cmocka_unit_test(test_put_object),
        cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_amz_date),
        cmocka_unit_test(test_rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
