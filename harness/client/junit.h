/*
 * junit.h: JUnit XML for CI (the format Jenkins, GitLab and GitHub test
 * reporters read): one <testsuite> of <testcase>s, a <failure> for each case
 * that failed. Text is escaped for XML 1.0: the five special characters as
 * entities, characters XML 1.0 cannot carry at all (most C0 controls) and
 * invalid UTF-8 as U+FFFD.
 */
#ifndef CW_HARNESS_JUNIT_H
#define CW_HARNESS_JUNIT_H

#include <stddef.h>
#include "cw/util.h"

typedef struct st_cw_junit_case_t {
    const char *name;    /* never NULL; borrowed */
    const char *file;    /* may be NULL; borrowed */
    const char *failure; /* NULL when the case passed; the reason otherwise; borrowed */
    double time_s;
} cw_junit_case_t;

/* cw_junit_escape appends |len| bytes of |s| to |out| escaped for XML text and attribute values: & < > " '
 * as entities, tab, LF and CR as character references, invalid UTF-8 and characters XML 1.0 cannot carry
 * as U+FFFD, so any input makes a well-formed report. Not the mock's cw_mock_xml_escape, which must stay
 * byte-transparent so store keys round-trip exactly. */
void cw_junit_escape(cw_buf_t *out, const char *s, size_t len);

/* cw_junit_render appends the whole document for suite |suite| to |out|. Borrows everything. */
void cw_junit_render(cw_buf_t *out, const char *suite, const cw_junit_case_t *cases, size_t num_cases, double time_s);

/* cw_junit_write writes the document to |path| (through a temporary file and rename). Returns 0, or -1
 * with errno set. */
int cw_junit_write(const char *path, const char *suite, const cw_junit_case_t *cases, size_t num_cases, double time_s);

#endif
