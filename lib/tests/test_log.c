/*
 * test_log.c: JSON escaping, strict UTF-8 handling, line layout, trace names,
 * the severity filter and whole-line writes from many threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "cw/json.h"
#include "cw/log.h"
#include "cw/util.h"

/* 2026-11-28T06:47:38.123Z */
#define WALL_MS INT64_C(1795848458123)

static char *escape(const char *s, size_t len)
{
    cw_buf_t buf = CW_BUF_INIT;
    cw_json_escape(&buf, s, len);
    return cw_buf_release(&buf, NULL);
}

static void assert_escape(const char *in, size_t in_len, const char *expected)
{
    char *got = escape(in, in_len);
    assert_string_equal(got, expected);
    free(got);
}

static char *format_line(cw_severity_t sev, const char *trace, const char *message, const cw_log_field_t *fields, size_t num_fields)
{
    cw_buf_t buf = CW_BUF_INIT;
    cw_log_format(&buf, sev, WALL_MS, trace, trace != NULL ? strlen(trace) : 0, message, fields, num_fields);
    return cw_buf_release(&buf, NULL);
}

/* parse_line checks |line| is one JSON object ending in a single newline and returns it parsed. */
static cJSON *parse_line(const char *line)
{
    size_t len = strlen(line);
    assert_true(len >= 2);
    assert_int_equal(line[len - 1], '\n');
    assert_null(memchr(line, '\n', len - 1));
    cJSON *json = cJSON_ParseWithLength(line, len);
    assert_non_null(json);
    assert_true(cJSON_IsObject(json));
    return json;
}

/* message_round_trips formats |msg| into a line, parses it and compares. */
static void assert_message_round_trips(const char *msg)
{
    char *line = format_line(CW_LOG_INFO, NULL, msg, NULL, 0);
    cJSON *json = parse_line(line);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(json, "message");
    assert_true(cJSON_IsString(m));
    assert_string_equal(m->valuestring, msg);
    cJSON_Delete(json);
    free(line);
}

static void test_escape_quotes_backslash(void **state)
{
    (void)state;
    assert_escape(CW_STRLIT("plain text"), "plain text");
    assert_escape(CW_STRLIT("a\"b"), "a\\\"b");
    assert_escape(CW_STRLIT("a\\b"), "a\\\\b");
    assert_escape(CW_STRLIT("\"\\\""), "\\\"\\\\\\\"");
    assert_escape(CW_STRLIT("/"), "/");
    assert_escape("", 0, "");
}

static void test_escape_control_chars(void **state)
{
    (void)state;
    for (unsigned c = 0; c < 0x20; ++c) {
        char in[3] = {'x', (char)c, 'y'}, expected[16];
        switch (c) {
        case '\b':
            snprintf(expected, sizeof(expected), "x\\by");
            break;
        case '\t':
            snprintf(expected, sizeof(expected), "x\\ty");
            break;
        case '\n':
            snprintf(expected, sizeof(expected), "x\\ny");
            break;
        case '\f':
            snprintf(expected, sizeof(expected), "x\\fy");
            break;
        case '\r':
            snprintf(expected, sizeof(expected), "x\\ry");
            break;
        default:
            snprintf(expected, sizeof(expected), "x\\u%04xy", c);
            break;
        }
        assert_escape(in, sizeof(in), expected);
    }
    /* DEL is not a JSON control character. */
    assert_escape(CW_STRLIT("a\x7f"
                            "b"),
                  "a\x7f"
                  "b");

    /* Every control character but NUL survives a round trip through a JSON parser. */
    char all[32];
    for (int c = 1; c < 0x20; ++c) {
        all[c - 1] = (char)c;
    }
    all[31] = '\0';
    assert_message_round_trips(all);
}

static void test_escape_valid_utf8(void **state)
{
    (void)state;
    static const char *const valid[] = {
        "caf\xc3\xa9",            /* 2 bytes: é */
        "\xe2\x82\xac 10",        /* 3 bytes: € */
        "\xef\xbf\xbf",           /* U+FFFF */
        "\xe0\xa0\x80",           /* U+0800, smallest 3-byte */
        "\xed\x9f\xbf",           /* U+D7FF, just below the surrogates */
        "\xee\x80\x80",           /* U+E000, just above */
        "\xf0\x9f\x98\x80 smile", /* 4 bytes: U+1F600 */
        "\xf0\x90\x80\x80",       /* U+10000 */
        "\xf4\x8f\xbf\xbf",       /* U+10FFFF */
        "\xc2\x80",               /* U+0080 */
        "mixed \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 end",
    };
    for (size_t i = 0; i != CW_ARRAY_SIZE(valid); ++i) {
        assert_escape(valid[i], strlen(valid[i]), valid[i]);
        assert_message_round_trips(valid[i]);
    }
}

static void test_escape_line_separators(void **state)
{
    (void)state;
    assert_escape(CW_STRLIT("a\xe2\x80\xa8"
                            "b\xe2\x80\xa9"
                            "c"),
                  "a\\u2028b\\u2029c");
    assert_message_round_trips("a\xe2\x80\xa8"
                               "b\xe2\x80\xa9"
                               "c");
    /* The neighbours are ordinary characters. */
    assert_escape(CW_STRLIT("\xe2\x80\xa7\xe2\x80\xaa"), "\xe2\x80\xa7\xe2\x80\xaa");
}

static void test_escape_invalid_utf8(void **state)
{
    (void)state;
    /* Lone continuation byte. */
    assert_escape(CW_STRLIT("a\x80z"), "a\\ufffdz");
    assert_escape(CW_STRLIT("\xbf"), "\\ufffd");
    /* Truncated 2-, 3- and 4-byte sequences: one replacement for the prefix. */
    assert_escape(CW_STRLIT("a\xc3"), "a\\ufffd");
    assert_escape(CW_STRLIT("a\xc3z"), "a\\ufffdz");
    assert_escape(CW_STRLIT("a\xe2\x82"), "a\\ufffd");
    assert_escape(CW_STRLIT("a\xe2\x82z"), "a\\ufffdz");
    assert_escape(CW_STRLIT("a\xe2z"), "a\\ufffdz");
    assert_escape(CW_STRLIT("a\xf0\x9f\x98"), "a\\ufffd");
    assert_escape(CW_STRLIT("a\xf0\x9f\x98z"), "a\\ufffdz");
    assert_escape(CW_STRLIT("a\xf0\x9fz"), "a\\ufffdz");
    /* Overlong encodings: C0/C1/E0 80../F0 80.. never start a valid sequence. */
    assert_escape(CW_STRLIT("\xc0\xaf"), "\\ufffd\\ufffd");
    assert_escape(CW_STRLIT("\xc1\xbf"), "\\ufffd\\ufffd");
    assert_escape(CW_STRLIT("\xe0\x80\xaf"), "\\ufffd\\ufffd\\ufffd");
    assert_escape(CW_STRLIT("\xf0\x80\x80\xaf"), "\\ufffd\\ufffd\\ufffd\\ufffd");
    /* UTF-16 surrogates encoded in UTF-8. */
    assert_escape(CW_STRLIT("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");
    assert_escape(CW_STRLIT("\xed\xbf\xbf"), "\\ufffd\\ufffd\\ufffd");
    /* Beyond U+10FFFF, and bytes that never appear in UTF-8. */
    assert_escape(CW_STRLIT("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");
    assert_escape(CW_STRLIT("\xf5\x80\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");
    assert_escape(CW_STRLIT("\xfe\xff"), "\\ufffd\\ufffd");
    /* A valid sequence right after an invalid one is kept. */
    assert_escape(CW_STRLIT("\xe2\x82\xc3\xa9"), "\\ufffd\xc3\xa9");
    /* NUL in the middle of a counted string. */
    assert_escape("a\0b", 3, "a\\u0000b");

    /* The whole line stays valid JSON, the replacement decodes to U+FFFD. */
    char *line = format_line(CW_LOG_INFO, NULL, "bad \xc0\xaf end", NULL, 0);
    cJSON *json = parse_line(line);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(json, "message")->valuestring, "bad \xef\xbf\xbd\xef\xbf\xbd end");
    cJSON_Delete(json);
    free(line);
}

static void test_json_quote(void **state)
{
    (void)state;
    cw_buf_t buf = CW_BUF_INIT;
    cw_json_quote(&buf, CW_STRLIT("a\"b"));
    assert_string_equal(buf.base, "\"a\\\"b\"");
    cw_buf_free(&buf);
}

static void test_line_layout(void **state)
{
    (void)state;
    char *line = format_line(CW_LOG_WARNING, NULL, "hello \"world\"", NULL, 0);
    assert_string_equal(line,
                        "{\"severity\":\"WARNING\",\"message\":\"hello \\\"world\\\"\",\"time\":\"2026-11-28T06:47:38.123Z\"}\n");
    free(line);

    static const char *const names[] = {"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"};
    for (int sev = CW_LOG_DEBUG; sev <= CW_LOG_CRITICAL; ++sev) {
        line = format_line((cw_severity_t)sev, NULL, "m", NULL, 0);
        cJSON *json = parse_line(line);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(json, "severity")->valuestring, names[sev]);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(json, "time")->valuestring, "2026-11-28T06:47:38.123Z");
        cJSON_Delete(json);
        free(line);
    }
}

static void test_fields_of_every_type(void **state)
{
    (void)state;
    cw_log_field_t fields[] = {
        CW_LF_STR("event_id", "evt_1"),
        CW_LF_STR("absent", NULL),
        CW_LF_STRN("cut", "abcdef", 3),
        CW_LF_INT("n", -42),
        CW_LF_INT("big", INT64_MAX),
        CW_LF_DBL("d", 0.1),
        CW_LF_DBL("third", 1.0 / 3.0),
        CW_LF_DBL("whole", 250),
        CW_LF_DBL("nan", NAN),
        CW_LF_DBL("inf", INFINITY),
        CW_LF_BOOL("yes", 7),
        CW_LF_BOOL("no", 0),
        {.key = "raw", .type = CW_LOG_RAW, .s = "{\"a\":[1,2]}", .len = SIZE_MAX},
        {.key = "rawn", .type = CW_LOG_RAW, .s = "[true]xyz", .len = 6},
        CW_LF_STR("esc", "q\"\n\xff"),
    };
    char *line = format_line(CW_LOG_INFO, NULL, "f", fields, CW_ARRAY_SIZE(fields));
    assert_string_equal(line, "{\"severity\":\"INFO\",\"message\":\"f\",\"time\":\"2026-11-28T06:47:38.123Z\","
                              "\"event_id\":\"evt_1\",\"cut\":\"abc\",\"n\":-42,\"big\":9223372036854775807,"
                              "\"d\":0.1,\"third\":0.3333333333333333,\"whole\":250,\"nan\":null,\"inf\":null,"
                              "\"yes\":true,\"no\":false,\"raw\":{\"a\":[1,2]},\"rawn\":[true],"
                              "\"esc\":\"q\\\"\\n\\ufffd\"}\n");
    cJSON *json = parse_line(line);
    assert_null(cJSON_GetObjectItemCaseSensitive(json, "absent"));
    assert_true(cJSON_GetObjectItemCaseSensitive(json, "third")->valuedouble == 1.0 / 3.0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(json, "yes")));
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(json, "rawn")));
    cJSON_Delete(json);
    free(line);
}

static void test_trace(void **state)
{
    (void)state;
    static const char *const trace_key = "logging.googleapis.com/trace";
    char *line;
    cJSON *json;

    /* No project: no trace field. */
    cw_log_set_project(NULL);
    line = format_line(CW_LOG_INFO, "105445aa7843bc8bf206b12000100000/1;o=1", "m", NULL, 0);
    json = parse_line(line);
    assert_null(cJSON_GetObjectItemCaseSensitive(json, trace_key));
    cJSON_Delete(json);
    free(line);

    cw_log_set_project("my-proj");
    line = format_line(CW_LOG_INFO, "105445aa7843bc8bf206b12000100000/1;o=1", "m", NULL, 0);
    assert_string_equal(line, "{\"severity\":\"INFO\",\"message\":\"m\",\"time\":\"2026-11-28T06:47:38.123Z\","
                              "\"logging.googleapis.com/trace\":\"projects/my-proj/traces/105445aa7843bc8bf206b12000100000\"}\n");
    free(line);

    /* Without the span part. */
    line = format_line(CW_LOG_INFO, "ABCdef0123", "m", NULL, 0);
    json = parse_line(line);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(json, trace_key)->valuestring, "projects/my-proj/traces/ABCdef0123");
    cJSON_Delete(json);
    free(line);

    /* Only the counted bytes are looked at. */
    cw_buf_t buf = CW_BUF_INIT;
    cw_log_format(&buf, CW_LOG_INFO, WALL_MS, "abc123zzz", 6, "m", NULL, 0);
    assert_non_null(strstr(buf.base, "\"projects/my-proj/traces/abc123\""));
    cw_buf_free(&buf);

    /* Invalid ids never reach the line. */
    static const char *const bad[] = {"",        "/1;o=1",  "xyz/1",        "abc\"def/1",
                                      "abc\n/1", "12 34/1", "ab\xc3\xa9/1", "0123456789abcdef0123456789abcdef0/1"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(bad); ++i) {
        line = format_line(CW_LOG_INFO, bad[i], "m", NULL, 0);
        json = parse_line(line);
        assert_null(cJSON_GetObjectItemCaseSensitive(json, trace_key));
        cJSON_Delete(json);
        free(line);
    }
    /* NULL header. */
    line = format_line(CW_LOG_INFO, NULL, "m", NULL, 0);
    assert_null(strstr(line, "trace"));
    free(line);
    cw_log_set_project(NULL);
}

/* read_available reads what is in the non-blocking pipe |fd| right now. */
static char *read_available(int fd)
{
    cw_buf_t buf = CW_BUF_INIT;
    char tmp[4096];
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n > 0) {
            cw_buf_append(&buf, tmp, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        assert_true(n == 0 || errno == EAGAIN);
        break;
    }
    return cw_buf_release(&buf, NULL);
}

static void test_write_to_pipe_and_filter(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    cw_log_set_fd(fds[1]);

    cw_log_field_t fields[] = {CW_LF_INT("n", 1)};
    cw_log(CW_LOG_INFO, NULL, 0, "through the pipe", fields, 1);
    char *got = read_available(fds[0]);
    cJSON *json = parse_line(got);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(json, "message")->valuestring, "through the pipe");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(json, "n")->valueint, 1);
    /* The live clock is used: an RFC 3339 UTC time with milliseconds. */
    const char *t = cJSON_GetObjectItemCaseSensitive(json, "time")->valuestring;
    assert_int_equal(strlen(t), 24);
    assert_int_equal(t[10], 'T');
    assert_int_equal(t[23], 'Z');
    cJSON_Delete(json);
    free(got);

    /* Default filter: DEBUG is dropped. */
    cw_log(CW_LOG_DEBUG, NULL, 0, "dropped", NULL, 0);
    got = read_available(fds[0]);
    assert_string_equal(got, "");
    free(got);

    cw_log_set_min_severity(CW_LOG_WARNING);
    cw_log(CW_LOG_INFO, NULL, 0, "dropped", NULL, 0);
    cw_logf(CW_LOG_NOTICE, "dropped %d", 1);
    got = read_available(fds[0]);
    assert_string_equal(got, "");
    free(got);
    cw_log(CW_LOG_WARNING, NULL, 0, "kept", NULL, 0);
    cw_logf(CW_LOG_ERROR, "kept %s %d", "formatted", 2);
    got = read_available(fds[0]);
    char *nl = strchr(got, '\n');
    assert_non_null(nl);
    assert_non_null(strstr(got, "\"severity\":\"WARNING\",\"message\":\"kept\""));
    assert_non_null(strstr(nl + 1, "\"severity\":\"ERROR\",\"message\":\"kept formatted 2\""));
    assert_int_equal(nl[1 + strlen(nl + 1) - 1], '\n');
    free(got);

    /* cw_logf has no fixed cap on the message. */
    cw_log_set_min_severity(CW_LOG_DEBUG);
    char *big = cw_malloc(20001);
    memset(big, 'x', 20000);
    big[20000] = '\0';
    cw_logf(CW_LOG_DEBUG, "<%s>", big);
    got = read_available(fds[0]);
    json = parse_line(got);
    const char *m = cJSON_GetObjectItemCaseSensitive(json, "message")->valuestring;
    assert_int_equal(strlen(m), 20002);
    assert_int_equal(m[0], '<');
    assert_int_equal(m[20001], '>');
    cJSON_Delete(json);
    free(got);
    free(big);

    cw_log_set_min_severity(CW_LOG_INFO);
    cw_log_set_fd(1);
    close(fds[0]);
    close(fds[1]);
}

#define NUM_THREADS 4
#define LINES_PER_THREAD 2000

typedef struct {
    int id;
} writer_arg_t;

static void *writer_main(void *p)
{
    const writer_arg_t *arg = p;
    /* Some lines are longer than PIPE_BUF, where the kernel no longer keeps a write whole. */
    char *pad = cw_malloc(6001);
    memset(pad, 'p', 6000);
    pad[6000] = '\0';
    for (int i = 0; i != LINES_PER_THREAD; ++i) {
        cw_log_field_t fields[] = {CW_LF_INT("thread", arg->id), CW_LF_INT("i", i),
                                   CW_LF_STRN("pad", pad, (size_t)(i % 7 == 0 ? 6000 : i % 50))};
        cw_log(CW_LOG_INFO, NULL, 0, "concurrent \xe2\x82\xac line", fields, CW_ARRAY_SIZE(fields));
    }
    free(pad);
    return NULL;
}

typedef struct {
    int fd;
    cw_buf_t data;
} reader_arg_t;

static void *reader_main(void *p)
{
    reader_arg_t *arg = p;
    char tmp[65536];
    for (;;) {
        ssize_t n = read(arg->fd, tmp, sizeof(tmp));
        if (n > 0) {
            cw_buf_append(&arg->data, tmp, (size_t)n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break;
        }
    }
    return NULL;
}

static void test_threads_write_whole_lines(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    cw_log_set_fd(fds[1]);

    reader_arg_t reader = {.fd = fds[0], .data = CW_BUF_INIT};
    pthread_t reader_thread, writers[NUM_THREADS];
    writer_arg_t args[NUM_THREADS];
    assert_int_equal(pthread_create(&reader_thread, NULL, reader_main, &reader), 0);
    for (int t = 0; t != NUM_THREADS; ++t) {
        args[t].id = t;
        assert_int_equal(pthread_create(&writers[t], NULL, writer_main, &args[t]), 0);
    }
    for (int t = 0; t != NUM_THREADS; ++t) {
        pthread_join(writers[t], NULL);
    }
    cw_log_set_fd(1);
    close(fds[1]);
    pthread_join(reader_thread, NULL);
    close(fds[0]);

    /* Every line parses, and every (thread, i) pair arrives exactly once. */
    static unsigned char seen[NUM_THREADS][LINES_PER_THREAD];
    memset(seen, 0, sizeof(seen));
    size_t num_lines = 0;
    char *p = reader.data.base, *end = reader.data.base + reader.data.len;
    assert_non_null(p);
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(nl);
        cJSON *json = cJSON_ParseWithLength(p, (size_t)(nl - p));
        assert_non_null(json);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(json, "message")->valuestring, "concurrent \xe2\x82\xac line");
        int t = cJSON_GetObjectItemCaseSensitive(json, "thread")->valueint;
        int i = cJSON_GetObjectItemCaseSensitive(json, "i")->valueint;
        assert_in_range(t, 0, NUM_THREADS - 1);
        assert_in_range(i, 0, LINES_PER_THREAD - 1);
        assert_int_equal(strlen(cJSON_GetObjectItemCaseSensitive(json, "pad")->valuestring), i % 7 == 0 ? 6000 : i % 50);
        assert_int_equal(seen[t][i], 0);
        seen[t][i] = 1;
        cJSON_Delete(json);
        ++num_lines;
        p = nl + 1;
    }
    assert_int_equal(num_lines, NUM_THREADS * LINES_PER_THREAD);
    cw_buf_free(&reader.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_quotes_backslash),
        cmocka_unit_test(test_escape_control_chars),
        cmocka_unit_test(test_escape_valid_utf8),
        cmocka_unit_test(test_escape_line_separators),
        cmocka_unit_test(test_escape_invalid_utf8),
        cmocka_unit_test(test_json_quote),
        cmocka_unit_test(test_line_layout),
        cmocka_unit_test(test_fields_of_every_type),
        cmocka_unit_test(test_trace),
        cmocka_unit_test(test_write_to_pipe_and_filter),
        cmocka_unit_test(test_threads_write_whole_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
