/*
 * fuzz_xml_list.c: cw_xml_list_parse (function/store/xml_list.h), the reader of the
 * S3/GCS ListBucketResult and Azure EnumerationResults pages a store's list
 * call receives back, on arbitrary bytes in a buffer of exactly their size.
 *
 * Oracles besides the sanitizers: the documented limits of a result (names
 * non-empty, at most CW_XML_LIST_MAX_VALUE bytes, no more than
 * CW_XML_LIST_MAX_NAMES), an empty result after a failure, and a round trip
 * with the harness's mock store: a key the mock escapes with
 * cw_mock_xml_escape (harness/mock/mock_util.h) into a page comes back byte-exact
 * as a name and as the continuation token.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cw/util.h"
#include "mock_util.h"
#include "xml_list.h"

#define CHECK(cond)                                                                                                                \
    do {                                                                                                                           \
        if (!(cond)) {                                                                                                             \
            fprintf(stderr, "fuzz_xml_list: check failed at line %d: %s\n", __LINE__, #cond);                                      \
            abort();                                                                                                               \
        }                                                                                                                          \
    } while (0)

/* S3 keys are at most 1024 bytes; longer ones are not a round trip we promise. */
#define MAX_ROUND_TRIP_KEY 1024

static void check_result(const cw_xml_list_t *list, int ret)
{
    if (ret != 0) {
        CHECK(ret == -1 && list->names == NULL && list->num_names == 0 && list->next == NULL);
        return;
    }
    CHECK(list->num_names <= CW_XML_LIST_MAX_NAMES);
    CHECK((list->names == NULL) == (list->num_names == 0));
    for (size_t i = 0; i != list->num_names; ++i) {
        size_t len = strlen(list->names[i]);
        CHECK(len != 0 && len <= CW_XML_LIST_MAX_VALUE);
    }
    if (list->next != NULL) {
        size_t len = strlen(list->next);
        CHECK(len != 0 && len <= CW_XML_LIST_MAX_VALUE);
    }
}

/* Bytes the mock replaces (U+FFFD) instead of escaping cannot come back as they were. */
static int round_trips(const uint8_t *s, size_t len)
{
    if (len == 0 || len > MAX_ROUND_TRIP_KEY) {
        return 0;
    }
    for (size_t i = 0; i != len; ++i) {
        if ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') || s[i] == 0x7f) {
            return 0;
        }
    }
    return 1;
}

static void round_trip(const uint8_t *key, size_t key_len)
{
    cw_buf_t page = CW_BUF_INIT;
    cw_xml_list_t list;

    cw_buf_appends(&page, "<?xml version='1.0' encoding='UTF-8'?>"
                          "<ListBucketResult xmlns='http://doc.s3.amazonaws.com/2006-03-01'><Name>bucket</Name>"
                          "<Contents><Key>");
    cw_mock_xml_escape(&page, (const char *)key, key_len);
    cw_buf_appends(&page, "</Key><Size>1</Size></Contents><Contents><Key>");
    cw_mock_xml_escape(&page, (const char *)key, key_len);
    cw_buf_appends(&page, "</Key></Contents><NextContinuationToken>");
    cw_mock_xml_escape(&page, (const char *)key, key_len);
    cw_buf_appends(&page, "</NextContinuationToken></ListBucketResult>");

    int ret = cw_xml_list_parse(page.base, page.len, &list);
    check_result(&list, ret);
    CHECK(ret == 0 && list.num_names == 2);
    for (size_t i = 0; i != 2; ++i) {
        CHECK(strlen(list.names[i]) == key_len && memcmp(list.names[i], key, key_len) == 0);
    }
    CHECK(list.next != NULL && strlen(list.next) == key_len && memcmp(list.next, key, key_len) == 0);
    cw_xml_list_free(&list);
    cw_buf_free(&page);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *xml = malloc(size != 0 ? size : 1);
    cw_xml_list_t list;

    CHECK(xml != NULL);
    if (size != 0) {
        memcpy(xml, data, size);
    }
    int ret = cw_xml_list_parse(xml, size, &list);
    check_result(&list, ret);
    cw_xml_list_free(&list);
    CHECK(list.names == NULL && list.num_names == 0 && list.next == NULL);
    free(xml);

    if (round_trips(data, size)) {
        round_trip(data, size);
    }
    return 0;
}
