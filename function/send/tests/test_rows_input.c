/*
 * test_rows_input.c: NDJSON with blank and bad lines, JSON arrays (pretty,
 * bad elements, unterminated), CSV quoting (embedded commas, quotes,
 * newlines, CRLF), numeric-column detection, a UTF-8 BOM, and format choice.
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
#include "rows_input.h"

typedef struct st_rec_t {
    cw_rows_kind_t kind;
    size_t index, line;
    char json[1024];
    char raw[1024];
    char reason[192];
} rec_t;

/* read_all reads every record of |text| into |out| (at most |max|); returns the count. */
static size_t read_all(const char *text, cw_rows_format_t format, rec_t *out, size_t max, cw_rows_format_t *out_format)
{
    char err[256] = "";
    cw_rows_t *rows = cw_rows_new(text, strlen(text), format, err, sizeof(err));
    if (rows == NULL) {
        fail_msg("cw_rows_new failed: %s", err);
    }
    if (out_format != NULL) {
        *out_format = cw_rows_format(rows);
    }
    size_t n = 0;
    cw_row_t row;
    cw_rows_kind_t k;
    while ((k = cw_rows_next(rows, &row)) != CW_ROWS_END) {
        assert_true(n < max);
        rec_t *r = &out[n++];
        memset(r, 0, sizeof(*r));
        r->kind = k;
        r->index = row.index;
        r->line = row.line;
        if (k == CW_ROWS_ROW) {
            assert_non_null(row.json);
            assert_true(row.json_len < sizeof(r->json));
            memcpy(r->json, row.json, row.json_len);
        } else {
            assert_null(row.json);
            assert_true(row.reason[0] != '\0');
        }
        assert_non_null(row.raw);
        snprintf(r->raw, sizeof(r->raw), "%.*s", (int)row.raw_len, row.raw);
        snprintf(r->reason, sizeof(r->reason), "%s", row.reason);
        assert_int_equal(r->index, n - 1);
    }
    /* END is sticky */
    assert_int_equal(cw_rows_next(rows, &row), CW_ROWS_END);
    cw_rows_free(rows);
    return n;
}

static void test_ndjson(void **state)
{
    rec_t r[8];
    cw_rows_format_t f;
    const char *text = "{\"a\":1}\n"
                       "\n"
                       "   \r\n"
                       "{\"b\": \"x\"}\r\n"
                       "{\"c\": broken}\n"
                       "[1,2]\n"
                       "  {\"d\":12345678901234567890}  \n"
                       "{\"e\":1} trailing\n"
                       "{\"last\":true}";
    size_t n = read_all(text, CW_ROWS_AUTO, r, 8, &f);
    assert_int_equal(f, CW_ROWS_NDJSON);
    assert_int_equal(n, 7);
    assert_int_equal(r[0].kind, CW_ROWS_ROW);
    assert_string_equal(r[0].json, "{\"a\":1}");
    assert_int_equal(r[0].line, 1);
    assert_int_equal(r[1].kind, CW_ROWS_ROW);
    assert_string_equal(r[1].json, "{\"b\": \"x\"}"); /* \r stripped */
    assert_int_equal(r[1].line, 4);
    assert_int_equal(r[2].kind, CW_ROWS_BAD);
    assert_int_equal(r[2].line, 5);
    assert_non_null(strstr(r[2].reason, "invalid JSON"));
    assert_string_equal(r[2].raw, "{\"c\": broken}");
    assert_int_equal(r[3].kind, CW_ROWS_BAD);
    assert_string_equal(r[3].reason, "not a JSON object");
    /* the row's bytes go on unchanged: a 20-digit integer is not rounded */
    assert_int_equal(r[4].kind, CW_ROWS_ROW);
    assert_string_equal(r[4].json, "{\"d\":12345678901234567890}");
    assert_int_equal(r[4].line, 7);
    assert_int_equal(r[5].kind, CW_ROWS_BAD);
    assert_non_null(strstr(r[5].reason, "text after the value"));
    assert_int_equal(r[6].kind, CW_ROWS_ROW);
    assert_int_equal(r[6].line, 9);
}

static void test_json_array(void **state)
{
    rec_t r[8];
    cw_rows_format_t f;
    const char *text = "\xEF\xBB\xBF  [\n"
                       "  {\"a\": 1,\n"
                       "   \"s\": \"x,]}\\\"\"},\n"
                       "  42,\n"
                       "  {\"b\": [1, {\"c\": 2}]} ,\n"
                       "  {\"bad\": }\n"
                       "  ,{\"z\":null}\n"
                       "]\n";
    size_t n = read_all(text, CW_ROWS_AUTO, r, 8, &f);
    assert_int_equal(f, CW_ROWS_JSON);
    assert_int_equal(n, 5);
    assert_int_equal(r[0].kind, CW_ROWS_ROW);
    assert_string_equal(r[0].json, "{\"a\": 1,\n   \"s\": \"x,]}\\\"\"}");
    assert_int_equal(r[0].line, 2);
    assert_int_equal(r[1].kind, CW_ROWS_BAD);
    assert_string_equal(r[1].reason, "not a JSON object");
    assert_int_equal(r[1].line, 4);
    assert_int_equal(r[2].kind, CW_ROWS_ROW);
    assert_string_equal(r[2].json, "{\"b\": [1, {\"c\": 2}]}");
    assert_int_equal(r[2].line, 5);
    assert_int_equal(r[3].kind, CW_ROWS_BAD);
    assert_int_equal(r[3].line, 6);
    assert_int_equal(r[4].kind, CW_ROWS_ROW);
    assert_string_equal(r[4].json, "{\"z\":null}");
    assert_int_equal(r[4].line, 7);

    /* empty array */
    assert_int_equal(read_all(" [ ] ", CW_ROWS_AUTO, r, 8, NULL), 0);

    /* unterminated: the good rows before it, then one bad record for the rest */
    n = read_all("[{\"a\":1},\n{\"b\":\"open", CW_ROWS_JSON, r, 8, NULL);
    assert_int_equal(n, 2);
    assert_int_equal(r[0].kind, CW_ROWS_ROW);
    assert_int_equal(r[1].kind, CW_ROWS_BAD);
    assert_int_equal(r[1].line, 2);
    assert_non_null(strstr(r[1].reason, "unterminated"));

    n = read_all("[{\"a\":1}", CW_ROWS_JSON, r, 8, NULL);
    assert_int_equal(n, 2);
    assert_int_equal(r[1].kind, CW_ROWS_BAD);
    assert_non_null(strstr(r[1].reason, "not closed"));

    n = read_all("[{\"a\":1}] junk", CW_ROWS_JSON, r, 8, NULL);
    assert_int_equal(n, 2);
    assert_int_equal(r[1].kind, CW_ROWS_BAD);
    assert_non_null(strstr(r[1].reason, "after the JSON array"));

    /* a stray '}' is one bad element, not an endless loop */
    n = read_all("[{\"a\":1} }, {\"b\":2}]", CW_ROWS_JSON, r, 8, NULL);
    assert_int_equal(n, 3);
    assert_int_equal(r[1].kind, CW_ROWS_BAD);
    assert_int_equal(r[2].kind, CW_ROWS_ROW);

    char err[256];
    assert_null(cw_rows_new("{\"a\":1}", 7, CW_ROWS_JSON, err, sizeof(err)));
    assert_non_null(strstr(err, "'['"));
}

static void test_csv_quoting(void **state)
{
    rec_t r[8];
    cw_rows_format_t f;
    const char *text = "\xEF\xBB\xBF"
                       "name,note,city\r\n"
                       "\"Doe, Jane\",\"she said \"\"hi\"\"\",Paris\r\n"
                       "Bob,\"two\nlines\",\r\n"
                       "\r\n"
                       "Ann,a\"b,\"\"\n"
                       "short,row\n"
                       "\"x\"y,z,w\n"
                       "Zed,\"caf\xC3\xA9\",Z\xC3\xBCrich";
    size_t n = read_all(text, CW_ROWS_AUTO, r, 8, &f);
    assert_int_equal(f, CW_ROWS_CSV);
    assert_int_equal(n, 6);
    assert_int_equal(r[0].kind, CW_ROWS_ROW);
    assert_string_equal(r[0].json, "{\"name\":\"Doe, Jane\",\"note\":\"she said \\\"hi\\\"\",\"city\":\"Paris\"}");
    assert_int_equal(r[0].line, 2);
    assert_int_equal(r[1].kind, CW_ROWS_ROW);
    assert_string_equal(r[1].json, "{\"name\":\"Bob\",\"note\":\"two\\nlines\",\"city\":\"\"}");
    assert_int_equal(r[1].line, 3);
    /* a quote inside an unquoted field is kept literally */
    assert_int_equal(r[2].kind, CW_ROWS_ROW);
    assert_string_equal(r[2].json, "{\"name\":\"Ann\",\"note\":\"a\\\"b\",\"city\":\"\"}");
    assert_int_equal(r[2].line, 6);
    assert_int_equal(r[3].kind, CW_ROWS_BAD);
    assert_string_equal(r[3].reason, "has 2 fields, the header has 3");
    assert_string_equal(r[3].raw, "short,row");
    assert_int_equal(r[3].line, 7);
    assert_int_equal(r[4].kind, CW_ROWS_BAD);
    assert_non_null(strstr(r[4].reason, "after a closing quote"));
    assert_int_equal(r[4].line, 8);
    assert_int_equal(r[5].kind, CW_ROWS_ROW);
    assert_string_equal(r[5].json, "{\"name\":\"Zed\",\"note\":\"caf\xC3\xA9\",\"city\":\"Z\xC3\xBCrich\"}");
    assert_int_equal(r[5].line, 9);

    /* an unterminated quote swallows the rest: one bad record */
    n = read_all("a,b\n1,2\n\"open,3\n4,5\n", CW_ROWS_CSV, r, 8, NULL);
    assert_int_equal(n, 2);
    assert_int_equal(r[1].kind, CW_ROWS_BAD);
    assert_non_null(strstr(r[1].reason, "unterminated quoted field (opened on line 3)"));

    /* header problems */
    char err[256];
    assert_null(cw_rows_new("", 0, CW_ROWS_CSV, err, sizeof(err)));
    assert_non_null(strstr(err, "no header"));
    assert_null(cw_rows_new("\"a,b\n", 5, CW_ROWS_CSV, err, sizeof(err)));
    assert_non_null(strstr(err, "header"));

    /* empty and repeated header names */
    n = read_all("a,,a\n1,2,3\n", CW_ROWS_CSV, r, 8, NULL);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].json, "{\"a\":1,\"column_2\":2,\"a_3\":3}");
    /* keys stay distinct when a suffix or a generated name meets a real one, and after escaping */
    n = read_all("a_3,a,a,column_5,\n1,2,3,4,5\n", CW_ROWS_CSV, r, 8, NULL);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].json, "{\"a_3\":1,\"a\":2,\"a_3_3\":3,\"column_5\":4,\"column_5_5\":5}");
    n = read_all("Pr\xe9nom,Pr\xe8nom\nx,y\n", CW_ROWS_CSV, r, 8, NULL);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].json, "{\"Pr\\ufffdnom\":\"x\",\"Pr\\ufffdnom_2\":\"y\"}");
}

static void test_csv_numeric_columns(void **state)
{
    rec_t r[8];
    const char *text = "id,score,zip,amount,ratio,phone,empty,mixed\n"
                       "1,85,02134,\"1,200\",0.5,4155551234123456,,-3\n"
                       "2,,10001,300,1e3,4155551234123457,,abc\n"
                       "3,90.25,94105,12,-0.001,1,,7\n";
    size_t n = read_all(text, CW_ROWS_CSV, r, 8, NULL);
    assert_int_equal(n, 3);
    /* id, score, ratio numeric; zip (leading zero), amount ("1,200"), phone (16 digits), empty (no value),
     * mixed ("abc") stay strings; an empty cell of a numeric column is null */
    assert_string_equal(r[0].json, "{\"id\":1,\"score\":85,\"zip\":\"02134\",\"amount\":\"1,200\",\"ratio\":0.5,"
                                   "\"phone\":\"4155551234123456\",\"empty\":\"\",\"mixed\":\"-3\"}");
    assert_string_equal(r[1].json, "{\"id\":2,\"score\":null,\"zip\":\"10001\",\"amount\":\"300\",\"ratio\":1e3,"
                                   "\"phone\":\"4155551234123457\",\"empty\":\"\",\"mixed\":\"abc\"}");
    assert_string_equal(r[2].json, "{\"id\":3,\"score\":90.25,\"zip\":\"94105\",\"amount\":\"12\",\"ratio\":-0.001,"
                                   "\"phone\":\"1\",\"empty\":\"\",\"mixed\":\"7\"}");

    /* a bad row does not decide a column's type */
    n = read_all("n\n1\n2,extra\n3\n", CW_ROWS_CSV, r, 8, NULL);
    assert_int_equal(n, 3);
    assert_string_equal(r[0].json, "{\"n\":1}");
    assert_int_equal(r[1].kind, CW_ROWS_BAD);
    assert_string_equal(r[2].json, "{\"n\":3}");
}

static void test_formats(void **state)
{
    cw_rows_format_t f;
    assert_int_equal(cw_rows_parse_format("jsonl", &f), 0);
    assert_int_equal(f, CW_ROWS_NDJSON);
    assert_int_equal(cw_rows_parse_format("csv", &f), 0);
    assert_int_equal(f, CW_ROWS_CSV);
    assert_int_equal(cw_rows_parse_format("xml", &f), -1);
    assert_string_equal(cw_rows_format_name(CW_ROWS_JSON), "json");

    /* forcing NDJSON on an array reports the lines as bad rather than guessing */
    rec_t r[4];
    size_t n = read_all("[\n{\"a\":1}\n]\n", CW_ROWS_NDJSON, r, 4, NULL);
    assert_int_equal(n, 3);
    assert_int_equal(r[0].kind, CW_ROWS_BAD);
    assert_int_equal(r[1].kind, CW_ROWS_ROW);
    assert_int_equal(r[2].kind, CW_ROWS_BAD);

    /* an empty NDJSON input has no rows */
    assert_int_equal(read_all("\n\n  \n", CW_ROWS_NDJSON, r, 4, &f), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ndjson),      cmocka_unit_test(test_json_array),
        cmocka_unit_test(test_csv_quoting), cmocka_unit_test(test_csv_numeric_columns),
        cmocka_unit_test(test_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
