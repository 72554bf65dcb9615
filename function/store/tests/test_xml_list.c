/* test_xml_list.c: the list-response reader on real response shapes, entities, limits and truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cw/util.h"
#include "xml_list.h"

static const char s3_page[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
    "  <Name>bucket</Name>\n  <Prefix>clay/events/</Prefix>\n  <KeyCount>2</KeyCount>\n  <MaxKeys>2</MaxKeys>\n"
    "  <IsTruncated>true</IsTruncated>\n"
    "  <Contents>\n    <Key>clay/events/a&amp;b</Key>\n    <LastModified>2024-01-01T00:00:00.000Z</LastModified>\n"
    "    <ETag>&quot;abc&quot;</ETag>\n    <Size>10</Size>\n    <StorageClass>STANDARD</StorageClass>\n  </Contents>\n"
    "  <Contents><Key>clay/events/b</Key><Size>3</Size></Contents>\n"
    "  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&amp;x</NextContinuationToken>\n"
    "</ListBucketResult>\n";

static const char azure_page[] =
    "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>"
    "<EnumerationResults ServiceEndpoint=\"http://127.0.0.1:10000/devstoreaccount1\" ContainerName=\"clay\">"
    "<Prefix>events/</Prefix><MaxResults>2</MaxResults>"
    "<Blobs><Blob><Name>events/1</Name><Properties><Content-Length>3</Content-Length><BlobType>BlockBlob</BlobType>"
    "</Properties></Blob><Blob><Name>events/2</Name><Properties/></Blob></Blobs>"
    "<NextMarker>2!88!MDAwMDE3IWV2ZW50cy8yITAwMDAyOCE5OTk5LTEyLTMxVDIzOjU5OjU5Ljk5OTk5OTlaIQ--</NextMarker>"
    "</EnumerationResults>";

static void test_s3_page(void **state)
{
    (void)state;
    cw_xml_list_t list;
    assert_int_equal(cw_xml_list_parse(s3_page, sizeof(s3_page) - 1, &list), 0);
    assert_int_equal(list.num_names, 2); /* the bucket's <Name> is not an object */
    assert_string_equal(list.names[0], "clay/events/a&b");
    assert_string_equal(list.names[1], "clay/events/b");
    assert_string_equal(list.next, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&x");
    cw_xml_list_free(&list);
    assert_null(list.names);
}

static void test_azure_pages(void **state)
{
    (void)state;
    cw_xml_list_t list;
    assert_int_equal(cw_xml_list_parse(azure_page, sizeof(azure_page) - 1, &list), 0);
    assert_int_equal(list.num_names, 2);
    assert_string_equal(list.names[0], "events/1");
    assert_string_equal(list.names[1], "events/2");
    assert_string_equal(list.next, "2!88!MDAwMDE3IWV2ZW50cy8yITAwMDAyOCE5OTk5LTEyLTMxVDIzOjU5OjU5Ljk5OTk5OTlaIQ--");
    cw_xml_list_free(&list);

    static const char last[] = "<EnumerationResults><Blobs><Blob><Name>x</Name></Blob></Blobs><NextMarker/></EnumerationResults>";
    assert_int_equal(cw_xml_list_parse(last, sizeof(last) - 1, &list), 0);
    assert_int_equal(list.num_names, 1);
    assert_null(list.next);
    cw_xml_list_free(&list);

    static const char empty_marker[] = "<EnumerationResults><Blobs /><NextMarker></NextMarker></EnumerationResults>";
    assert_int_equal(cw_xml_list_parse(empty_marker, sizeof(empty_marker) - 1, &list), 0);
    assert_int_equal(list.num_names, 0);
    assert_null(list.names);
    assert_null(list.next);
    cw_xml_list_free(&list);
}

static void test_entities_cdata_comments(void **state)
{
    (void)state;
    static const char doc[] = "<!DOCTYPE x [ <!ENTITY e \"boom\"> ]><!-- <Contents><Key>no</Key></Contents> -->"
                              "<r><?pi <Key>?><Contents><Key>&lt;&gt;&quot;&apos;&#65;&#x42;&#x1F600;&#0;&#xD800;&bogus;&e;&</Key>"
                              "</Contents><Contents><Key><![CDATA[a<b>&amp;]]>c</Key></Contents>"
                              "<s3:Contents><s3:Key attr='>' other=\"/>\">ns</s3:Key></s3:Contents>"
                              "<Contents><Key/></Contents><Contents><Key><i>skip</i>kept</Key></Contents></r>";
    cw_xml_list_t list;
    assert_int_equal(cw_xml_list_parse(doc, sizeof(doc) - 1, &list), 0);
    assert_int_equal(list.num_names, 4);
    assert_string_equal(list.names[0], "<>\"'AB\xf0\x9f\x98\x80&#0;&#xD800;&bogus;&e;&");
    assert_string_equal(list.names[1], "a<b>&amp;c");
    assert_string_equal(list.names[2], "ns");
    assert_string_equal(list.names[3], "kept");
    assert_null(list.next);
    cw_xml_list_free(&list);
}

static void test_forgiving(void **state)
{
    (void)state;
    cw_xml_list_t list;
    static const char html[] = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    assert_int_equal(cw_xml_list_parse(html, sizeof(html) - 1, &list), 0);
    assert_int_equal(list.num_names, 0);
    cw_xml_list_free(&list);
    /* a stray close tag and an unclosed element do not derail the rest */
    static const char messy[] = "</x><r><Contents><Key>a</Key></Oops></Contents><Contents><Key>b</Key></Contents>";
    assert_int_equal(cw_xml_list_parse(messy, sizeof(messy) - 1, &list), 0);
    assert_int_equal(list.num_names, 2);
    assert_string_equal(list.names[1], "b");
    cw_xml_list_free(&list);
    assert_int_equal(cw_xml_list_parse("", 0, &list), 0);
    assert_int_equal(list.num_names, 0);
    cw_xml_list_free(&list);
}

static void test_limits(void **state)
{
    (void)state;
    cw_xml_list_t list;
    cw_buf_t b = CW_BUF_INIT;

    for (int i = 0; i != CW_XML_LIST_MAX_DEPTH + 1; ++i) {
        cw_buf_appends(&b, "<a>");
    }
    assert_int_equal(cw_xml_list_parse(b.base, b.len, &list), -1);
    assert_null(list.names);

    cw_buf_reset(&b);
    cw_buf_appends(&b, "<r>");
    for (int i = 0; i != CW_XML_LIST_MAX_NAMES; ++i) {
        cw_buf_appendf(&b, "<Contents><Key>k%d</Key></Contents>", i);
    }
    assert_int_equal(cw_xml_list_parse(b.base, b.len, &list), 0);
    assert_int_equal(list.num_names, CW_XML_LIST_MAX_NAMES);
    assert_string_equal(list.names[CW_XML_LIST_MAX_NAMES - 1], "k9999");
    cw_xml_list_free(&list);
    cw_buf_appends(&b, "<Contents><Key>one too many</Key></Contents>");
    assert_int_equal(cw_xml_list_parse(b.base, b.len, &list), -1);
    assert_int_equal(list.num_names, 0);

    cw_buf_reset(&b);
    cw_buf_appends(&b, "<NextMarker>");
    for (int i = 0; i != CW_XML_LIST_MAX_VALUE; ++i) {
        cw_buf_appends(&b, "x");
    }
    cw_buf_appends(&b, "</NextMarker>");
    assert_int_equal(cw_xml_list_parse(b.base, b.len, &list), 0);
    assert_int_equal(strlen(list.next), CW_XML_LIST_MAX_VALUE);
    cw_xml_list_free(&list);
    cw_buf_reset(&b);
    cw_buf_appends(&b, "<NextMarker>");
    for (int i = 0; i != CW_XML_LIST_MAX_VALUE + 1; ++i) {
        cw_buf_appends(&b, "x");
    }
    assert_int_equal(cw_xml_list_parse(b.base, b.len, &list), -1);

    static const char nul[] = "<Contents><Key>a\0b</Key></Contents>";
    assert_int_equal(cw_xml_list_parse(nul, sizeof(nul) - 1, &list), -1);
    cw_buf_free(&b);
}

/* every prefix of a real page, copied to an exact-size heap block so ASan sees any overread */
static void test_every_truncation(void **state)
{
    (void)state;
    const char *docs[] = {s3_page, azure_page};
    for (size_t d = 0; d != 2; ++d) {
        size_t len = strlen(docs[d]);
        for (size_t n = 0; n <= len; ++n) {
            char *copy = malloc(n != 0 ? n : 1);
            memcpy(copy, docs[d], n);
            cw_xml_list_t list;
            assert_int_equal(cw_xml_list_parse(copy, n, &list), 0);
            assert_true(list.num_names <= 2);
            cw_xml_list_free(&list);
            free(copy);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s3_page),   cmocka_unit_test(test_azure_pages), cmocka_unit_test(test_entities_cdata_comments),
        cmocka_unit_test(test_forgiving), cmocka_unit_test(test_limits),      cmocka_unit_test(test_every_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
