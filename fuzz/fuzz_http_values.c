/*
 * fuzz_http_values.c: the small parsers of values that come off the wire
 * outside a body: Retry-After (cw_http_retry_after_ms, lib/http.c, read from
 * every store and sink response), decimal numbers and hex (cw_parse_u64 and
 * cw_hex_decode, cw/util.h: timestamps, MACs, ports), and the query-string
 * reader of the harness's mock servers (cw_mock_query_get and
 * cw_mock_url_decode, harness/mock/mock_util.h), which parse what the function sends.
 *
 * Oracles besides the sanitizers: a Retry-After is -1 or a delay no later than
 * the date or the delta it names; a date written by the Azure signer's
 * formatter (cw_azure_rfc1123_date, the same IMF-fixdate form) reads back as
 * the same second; a number that parses is within its bounds and prints back
 * as the same digits; hex decodes and re-encodes to itself in lower case.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "azure_sig.h"
#include "cw/http.h"
#include "cw/util.h"
#include "mock_util.h"

#define CHECK(cond)                                                                                                                \
    do {                                                                                                                           \
        if (!(cond)) {                                                                                                             \
            fprintf(stderr, "fuzz_http_values: check failed at line %d: %s\n", __LINE__, #cond);                                   \
            abort();                                                                                                               \
        }                                                                                                                          \
    } while (0)

#define NOW_MS INT64_C(1700000000000)
#define MAX_DELTA_MS (INT64_C(100) * 365 * 86400 * 1000) /* lib/http.c caps a delta at 100 years */
#define YEAR_10000_MS INT64_C(253402300800000)           /* IMF-fixdate has four year digits */
#define MAX_HEX_BYTES 64

static void fuzz_retry_after(const char *s)
{
    int64_t at_now = cw_http_retry_after_ms(s, NOW_MS), at_epoch = cw_http_retry_after_ms(s, 0);
    uint64_t secs;

    CHECK(at_now >= -1 && at_epoch >= -1);
    CHECK((at_now == -1) == (at_epoch == -1));
    if (cw_parse_u64(s, strlen(s), 0, UINT64_MAX, &secs) == 0 && secs <= (uint64_t)(MAX_DELTA_MS / 1000)) {
        /* delta-seconds do not depend on the clock */
        CHECK(at_now == (int64_t)secs * 1000 && at_epoch == at_now);
    } else if (at_epoch >= 0) {
        /* a date: the later the clock, the shorter the wait */
        CHECK(at_epoch <= YEAR_10000_MS && at_now <= at_epoch);
    }
}

static void date_round_trip(const uint8_t *data, size_t size)
{
    uint64_t raw = 0;
    char date[30];

    for (size_t i = 0; i != size && i != 8; ++i) {
        raw = raw << 8 | data[i];
    }
    int64_t wall_ms = (int64_t)(raw % (uint64_t)YEAR_10000_MS);
    cw_azure_rfc1123_date(date, wall_ms);
    CHECK(strlen(date) == 29);
    CHECK(cw_http_retry_after_ms(date, 0) == wall_ms / 1000 * 1000);
}

static void fuzz_numbers(const char *s, size_t len)
{
    uint64_t v, bound = 0;
    char printed[32];

    for (size_t i = 0; i != len && i != 8; ++i) {
        bound = bound << 8 | (uint8_t)s[i];
    }
    if (cw_parse_u64(s, len, 0, UINT64_MAX, &v) == 0) {
        /* The digits without the surrounding blanks, leading zeros aside, print back the same. */
        size_t a = 0, b = len;
        while (a < b && (s[a] == ' ' || s[a] == '\t')) {
            ++a;
        }
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) {
            --b;
        }
        while (b - a > 1 && s[a] == '0') {
            ++a;
        }
        int n = snprintf(printed, sizeof(printed), "%" PRIu64, v);
        CHECK(n > 0 && (size_t)n == b - a && memcmp(printed, s + a, b - a) == 0);
        uint64_t w;
        CHECK(cw_parse_u64(s, len, v, v, &w) == 0 && w == v);
        if (v != 0) {
            CHECK(cw_parse_u64(s, len, 0, v - 1, &w) == -1);
        }
    }
    if (cw_parse_u64(s, len, bound / 2, bound, &v) == 0) {
        CHECK(v >= bound / 2 && v <= bound);
    }
}

static void fuzz_hex(const char *s, size_t len)
{
    uint8_t bytes[MAX_HEX_BYTES];
    char again[2 * MAX_HEX_BYTES + 1];

    if (len % 2 != 0 || len > 2 * MAX_HEX_BYTES) {
        return;
    }
    if (cw_hex_decode(bytes, len / 2, s, len) == 0) {
        cw_hex_encode(again, bytes, len / 2);
        for (size_t i = 0; i != len; ++i) {
            CHECK(again[i] == tolower((unsigned char)s[i]));
        }
    }
}

static void fuzz_query(const char *s, size_t len)
{
    static const char *const names[] = {"prefix", "continuation-token", "marker", "list-type", "max-keys", "comp", ""};
    cw_buf_t out = CW_BUF_INIT;

    for (size_t i = 0; i != CW_ARRAY_SIZE(names); ++i) {
        cw_buf_reset(&out);
        int r = cw_mock_query_get(s, len, names[i], &out);
        CHECK(r >= -1 && r <= 1);
        if (r != 1) {
            CHECK(out.len == 0 || r == -1);
        }
    }
    for (int plus = 0; plus != 2; ++plus) {
        cw_buf_reset(&out);
        if (cw_mock_url_decode(&out, s, len, plus) == 0) {
            CHECK(out.len <= len);
        }
    }
    cw_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Retry-After is read as a C string; the others take (ptr, len) and get a copy with nothing after it. */
    char *s = malloc(size + 1), *exact = malloc(size != 0 ? size : 1);

    CHECK(s != NULL && exact != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    memcpy(exact, data, size);
    fuzz_retry_after(s);
    fuzz_numbers(exact, size);
    fuzz_hex(exact, size);
    fuzz_query(exact, size);
    date_round_trip(data, size);
    free(exact);
    free(s);
    return 0;
}
