/* test_azure_sig.c: Shared Key StringToSign, signature and connection strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "azure_sig.h"

#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define DATE "Fri, 24 May 2013 00:00:00 GMT"

static void test_put_blob_path_style(void **state)
{
    (void)state;
    const char *headers[] = {
        "x-ms-version: 2021-08-06", "X-Ms-Date: " DATE,  "x-ms-blob-type:  BlockBlob ",
        "If-None-Match: *",         "Content-Length: 5", "Content-Type: application/octet-stream",
        "Expect: 100-continue", /* not signed */
    };
    cw_buf_t sts = CW_BUF_INIT;
    assert_int_equal(cw_azure_string_to_sign(&sts, "PUT", "devstoreaccount1", "/devstoreaccount1/clay/events/abc", NULL, headers,
                                             CW_ARRAY_SIZE(headers)),
                     0);
    assert_string_equal(sts.base, "PUT\n\n\n5\n\napplication/octet-stream\n\n\n\n*\n\n\n"
                                  "x-ms-blob-type:BlockBlob\nx-ms-date:" DATE "\nx-ms-version:2021-08-06\n"
                                  "/devstoreaccount1/devstoreaccount1/clay/events/abc");
    cw_buf_free(&sts);

    uint8_t *key;
    size_t key_len;
    assert_int_equal(cw_azure_decode_key(DEV_KEY, &key, &key_len), 0);
    assert_int_equal(key_len, 64);
    cw_buf_t auth = CW_BUF_INIT;
    assert_int_equal(cw_azure_sign(key, key_len, "devstoreaccount1", "PUT", "/devstoreaccount1/clay/events/abc", "", headers,
                                   CW_ARRAY_SIZE(headers), &auth),
                     0);
    assert_string_equal(auth.base, "SharedKey devstoreaccount1:pM1bJagKbQGM5vH1BNXQK5Gel807wvo4fLPd6MCbXKo=");
    cw_buf_free(&auth);
    free(key);
}

static void test_list_query_canonicalised(void **state)
{
    (void)state;
    const char *headers[] = {"x-ms-date: " DATE, "x-ms-version: 2021-08-06", "Content-Length: 0"};
    cw_buf_t sts = CW_BUF_INIT;
    assert_int_equal(cw_azure_string_to_sign(&sts, "GET", "myaccount", "/clay",
                                             "restype=container&comp=list&prefix=events%2F&Marker=abc%3d%3D", headers, 3),
                     0);
    assert_string_equal(sts.base, "GET\n\n\n\n\n\n\n\n\n\n\n\n"
                                  "x-ms-date:" DATE "\nx-ms-version:2021-08-06\n/myaccount/clay\n"
                                  "comp:list\nmarker:abc==\nprefix:events/\nrestype:container");
    cw_buf_free(&sts);

    uint8_t *key;
    size_t key_len;
    assert_int_equal(cw_azure_decode_key(DEV_KEY, &key, &key_len), 0);
    cw_buf_t auth = CW_BUF_INIT;
    assert_int_equal(cw_azure_sign(key, key_len, "myaccount", "GET", "/clay",
                                   "restype=container&comp=list&prefix=events%2F&marker=abc%3D%3D", headers, 3, &auth),
                     0);
    assert_string_equal(auth.base, "SharedKey myaccount:7vk+IWQa69Sb1Ak7swPFR6tjbaHGJxDXHwXL8TC4ifI=");
    cw_buf_free(&auth);
    free(key);
}

static void test_repeated_query_params_joined(void **state)
{
    (void)state;
    cw_buf_t sts = CW_BUF_INIT;
    assert_int_equal(cw_azure_string_to_sign(&sts, "GET", "a", "/c", "include=b&include=a&x", NULL, 0), 0);
    assert_non_null(strstr(sts.base, "\n/a/c\ninclude:a,b\nx:"));
    cw_buf_free(&sts);
}

static void test_rejects_malformed(void **state)
{
    (void)state;
    cw_buf_t sts = CW_BUF_INIT;
    const char *no_colon[] = {"x-ms-date"};
    assert_int_equal(cw_azure_string_to_sign(&sts, "GET", "a", "/c", NULL, no_colon, 1), -1);
    const char *crlf[] = {"x-ms-date: a\r\nx-evil: b"};
    assert_int_equal(cw_azure_string_to_sign(&sts, "GET", "a", "/c", NULL, crlf, 1), -1);
    assert_int_equal(cw_azure_string_to_sign(&sts, "GET", "a", "/c", "a=%zz", NULL, 0), -1);
    assert_int_equal(cw_azure_string_to_sign(&sts, "GET", "a", "/c", "a=%0", NULL, 0), -1);
    assert_int_equal(cw_azure_string_to_sign(&sts, "GET", "a", "/c", "a=%00", NULL, 0), -1);
    char many[256] = "";
    for (int i = 0; i != CW_AZURE_MAX_QUERY_PARAMS + 1; ++i) {
        size_t len = strlen(many);
        snprintf(many + len, sizeof(many) - len, "p%d=1&", i);
    }
    assert_int_equal(cw_azure_string_to_sign(&sts, "GET", "a", "/c", many, NULL, 0), -1);
    assert_null(sts.base);
    uint8_t *key;
    size_t key_len;
    assert_int_equal(cw_azure_decode_key("", &key, &key_len), -1);
    assert_int_equal(cw_azure_decode_key("not base64!", &key, &key_len), -1);
    assert_null(key);
}

static void test_conn_dev_storage(void **state)
{
    (void)state;
    cw_azure_conn_t conn;
    char err[256];
    assert_int_equal(cw_azure_conn_parse("UseDevelopmentStorage=true", &conn, err, sizeof(err)), 0);
    assert_string_equal(conn.account, "devstoreaccount1");
    assert_string_equal(conn.blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
    assert_int_equal(conn.key_len, 64);
    assert_null(conn.sas);
    cw_azure_conn_dispose(&conn);
    assert_null(conn.account);
}

static void test_conn_full(void **state)
{
    (void)state;
    cw_azure_conn_t conn;
    char err[256];
    assert_int_equal(cw_azure_conn_parse("DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=" DEV_KEY
                                         ";EndpointSuffix=core.windows.net;",
                                         &conn, err, sizeof(err)),
                     0);
    assert_string_equal(conn.account, "acme");
    assert_string_equal(conn.blob_endpoint, "https://acme.blob.core.windows.net");
    cw_azure_conn_dispose(&conn);

    assert_int_equal(cw_azure_conn_parse("accountname=devstoreaccount1;accountkey=" DEV_KEY
                                         ";BlobEndpoint=http://127.0.0.1:4321/devstoreaccount1/",
                                         &conn, err, sizeof(err)),
                     0);
    assert_string_equal(conn.blob_endpoint, "http://127.0.0.1:4321/devstoreaccount1");
    cw_azure_conn_dispose(&conn);

    assert_int_equal(
        cw_azure_conn_parse("BlobEndpoint=https://x.blob.core.windows.net;SharedAccessSignature=?sv=2021-08-06&sig=abc%3D", &conn,
                            err, sizeof(err)),
        0);
    assert_null(conn.account);
    assert_null(conn.key);
    assert_string_equal(conn.sas, "sv=2021-08-06&sig=abc%3D");
    cw_azure_conn_dispose(&conn);
}

static void test_conn_errors(void **state)
{
    (void)state;
    cw_azure_conn_t conn;
    char err[256];
    assert_int_equal(cw_azure_conn_parse("AccountName=a", &conn, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "AccountKey"));
    assert_int_equal(cw_azure_conn_parse("AccountName=a;AccountKey=%%%%", &conn, err, sizeof(err)), -1);
    assert_null(strstr(err, "%%%%")); /* the key is never quoted */
    assert_int_equal(cw_azure_conn_parse("AccountKey=" DEV_KEY, &conn, err, sizeof(err)), -1);
    assert_int_equal(cw_azure_conn_parse("garbage", &conn, err, sizeof(err)), -1);
    assert_int_equal(cw_azure_conn_parse("AccountName=a;AccountKey=" DEV_KEY ";BlobEndpoint=ftp://x", &conn, err, sizeof(err)), -1);
    assert_int_equal(
        cw_azure_conn_parse("AccountName=a;AccountKey=" DEV_KEY ";DefaultEndpointsProtocol=gopher", &conn, err, sizeof(err)), -1);
    assert_null(conn.account);
}

static void test_rfc1123_date(void **state)
{
    (void)state;
    char date[30];
    cw_azure_rfc1123_date(date, 1369353600000);
    assert_string_equal(date, DATE);
    cw_azure_rfc1123_date(date, 784111777000); /* RFC 9110's example */
    assert_string_equal(date, "Sun, 06 Nov 1994 08:49:37 GMT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_blob_path_style),
        cmocka_unit_test(test_list_query_canonicalised),
        cmocka_unit_test(test_repeated_query_params_joined),
        cmocka_unit_test(test_rejects_malformed),
        cmocka_unit_test(test_conn_dev_storage),
        cmocka_unit_test(test_conn_full),
        cmocka_unit_test(test_conn_errors),
        cmocka_unit_test(test_rfc1123_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
