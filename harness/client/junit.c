/*
 * junit.c: JUnit XML rendering and escaping (see junit.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cw/utf8.h"
#include "junit.h"

static int xml_allowed(uint32_t cp)
{
    return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
           (cp >= 0x10000 && cp <= 0x10ffff);
}

void cw_junit_escape(cw_buf_t *out, const char *s, size_t len)
{
    static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = cw_utf8_decode(p + i, len - i, &cp);
        if (n == 0) {
            cw_buf_append(out, replacement, 3);
            ++i;
            continue;
        }
        if (!xml_allowed(cp)) {
            cw_buf_append(out, replacement, 3);
        } else if (cp == '&') {
            cw_buf_appends(out, "&amp;");
        } else if (cp == '<') {
            cw_buf_appends(out, "&lt;");
        } else if (cp == '>') {
            cw_buf_appends(out, "&gt;");
        } else if (cp == '"') {
            cw_buf_appends(out, "&quot;");
        } else if (cp == '\'') {
            cw_buf_appends(out, "&apos;");
        } else if (cp == '\n' || cp == '\r' || cp == '\t') {
            /* As references they survive attribute-value normalisation too. */
            cw_buf_appendf(out, "&#%u;", (unsigned)cp);
        } else {
            cw_buf_append(out, p + i, n);
        }
        i += n;
    }
}

static void escape_str(cw_buf_t *out, const char *s)
{
    cw_junit_escape(out, s, strlen(s));
}

void cw_junit_render(cw_buf_t *out, const char *suite, const cw_junit_case_t *cases, size_t num_cases, double time_s)
{
    size_t failures = 0;
    for (size_t i = 0; i != num_cases; ++i) {
        failures += cases[i].failure != NULL;
    }
    cw_buf_appends(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"");
    escape_str(out, suite);
    cw_buf_appendf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"%.3f\">\n", num_cases, failures,
                   time_s);
    for (size_t i = 0; i != num_cases; ++i) {
        const cw_junit_case_t *c = &cases[i];
        cw_buf_appends(out, "    <testcase classname=\"");
        escape_str(out, suite);
        cw_buf_appends(out, "\" name=\"");
        escape_str(out, c->name);
        if (c->file != NULL) {
            cw_buf_appends(out, "\" file=\"");
            escape_str(out, c->file);
        }
        cw_buf_appendf(out, "\" time=\"%.3f\"", c->time_s);
        if (c->failure == NULL) {
            cw_buf_appends(out, "/>\n");
            continue;
        }
        cw_buf_appends(out, ">\n      <failure message=\"");
        escape_str(out, c->failure);
        cw_buf_appends(out, "\" type=\"failure\">");
        escape_str(out, c->failure);
        cw_buf_appends(out, "</failure>\n    </testcase>\n");
    }
    cw_buf_appends(out, "  </testsuite>\n</testsuites>\n");
}

int cw_junit_write(const char *path, const char *suite, const cw_junit_case_t *cases, size_t num_cases, double time_s)
{
    cw_buf_t doc = CW_BUF_INIT, tmp = CW_BUF_INIT;
    FILE *fp = NULL;
    int rc = -1, saved = 0;

    cw_junit_render(&doc, suite, cases, num_cases, time_s);
    cw_buf_appendf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    if ((fp = fopen(tmp.base, "wb")) == NULL) {
        goto Exit;
    }
    if (fwrite(doc.base, 1, doc.len, fp) != doc.len) {
        goto Exit;
    }
    int closed = fclose(fp);
    fp = NULL;
    if (closed != 0 || rename(tmp.base, path) != 0) {
        goto Exit;
    }
    rc = 0;

Exit:
    saved = errno;
    if (fp != NULL) {
        fclose(fp);
    }
    if (rc != 0 && tmp.base != NULL) {
        unlink(tmp.base);
    }
    cw_buf_free(&doc);
    cw_buf_free(&tmp);
    errno = saved;
    return rc;
}
