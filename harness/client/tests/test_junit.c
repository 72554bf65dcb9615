/* test_junit.c: JUnit XML escapes the five special characters, replaces what XML 1.0 cannot carry
 * (controls, invalid UTF-8) with U+FFFD, keeps valid UTF-8, and renders counts and failures. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "junit.h"

static char *escaped(const char *s, size_t len)
{
    cw_buf_t b = CW_BUF_INIT;
    cw_junit_escape(&b, s, len);
    return cw_buf_release(&b, NULL);
}

static void test_escape_specials(void **state)
{
    char *e = escaped(CW_STRLIT("a<b>&\"c'd"));
    assert_string_equal(e, "a&lt;b&gt;&amp;&quot;c&apos;d");
    free(e);
    e = escaped(CW_STRLIT("line1\nline2\tx\r"));
    assert_string_equal(e, "line1&#10;line2&#9;x&#13;");
    free(e);
}

static void test_escape_keeps_utf8(void **state)
{
    const char s[] = "Bj\xc3\xb6rk \xe6\x9d\x8e \xf0\x9f\x9a\x80"; /* Björk 李 🚀 */
    char *e = escaped(s, sizeof(s) - 1);
    assert_string_equal(e, s);
    free(e);
}

static void test_escape_replaces_what_xml_cannot_carry(void **state)
{
    const char s[] = {'a', 0x00, 'b', 0x01, 0x1b, 'c', (char)0xff, 'd', (char)0xc3, 'e', (char)0xed, (char)0xa0, (char)0x80};
    char *e = escaped(s, sizeof(s));
    /* NUL, SOH, ESC, a stray 0xff, a cut sequence, a UTF-16 surrogate: each becomes U+FFFD. */
    assert_string_equal(e, "a\xef\xbf\xbd"
                           "b\xef\xbf\xbd\xef\xbf\xbd"
                           "c\xef\xbf\xbd"
                           "d\xef\xbf\xbd"
                           "e\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    free(e);
    const char overlong[] = {(char)0xc0, (char)0xbc}; /* an overlong '<' must not sneak through */
    e = escaped(overlong, sizeof(overlong));
    assert_null(strchr(e, '<'));
    free(e);
}

static void test_render(void **state)
{
    cw_junit_case_t cases[] = {
        {.name = "ok-case", .file = "fixtures/ok-case.json", .time_s = 0.01},
        {.name = "bad<case>", .failure = "step 1: status: expected 200, got 401 & \"more\"", .time_s = 0.5},
    };
    cw_buf_t b = CW_BUF_INIT;
    cw_junit_render(&b, "replay", cases, 2, 0.51);
    assert_non_null(strstr(b.base, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert_non_null(strstr(b.base, "tests=\"2\" failures=\"1\""));
    assert_non_null(
        strstr(b.base, "<testcase classname=\"replay\" name=\"ok-case\" file=\"fixtures/ok-case.json\" time=\"0.010\"/>"));
    assert_non_null(strstr(b.base, "name=\"bad&lt;case&gt;\""));
    assert_non_null(strstr(b.base, "<failure message=\"step 1: status: expected 200, got 401 &amp; &quot;more&quot;\""));
    assert_null(strstr(b.base, "<case>"));
    cw_buf_free(&b);
}

static void test_write_file(void **state)
{
    char path[] = "/tmp/cw-junit-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    cw_junit_case_t c = {.name = "x", .time_s = 1};
    assert_int_equal(cw_junit_write(path, "s", &c, 1, 1), 0);
    FILE *fp = fopen(path, "r");
    char buf[512] = "";
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "<testcase classname=\"s\" name=\"x\" time=\"1.000\"/>"));
    unlink(path);
    assert_int_equal(cw_junit_write("/nonexistent-dir/x.xml", "s", &c, 1, 1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_specials),
        cmocka_unit_test(test_escape_keeps_utf8),
        cmocka_unit_test(test_escape_replaces_what_xml_cannot_carry),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_write_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
