/*
 * test_send_journal.c: the journal of `clay-function send`: events survive a
 * reopen, 429s do not count against the quota, in-doubt rows are visible,
 * a torn last line is cut, another input's journal and corrupt lines are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "cw/util.h"
#include "send_journal.h"

#define INPUT_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define INPUT_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/cw-journal.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/leads.csv.journal", dir);
    return 0;
}

static int teardown(void **state)
{
    unlink(path);
    rmdir(dir);
    return 0;
}

static void append_raw(const char *text)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static off_t file_size(void)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void test_replay(void **state)
{
    char err[512];
    char id1[CW_CLAY_URL_ID_LEN + 1], id2[CW_CLAY_URL_ID_LEN + 1];
    cw_clay_url_id(id1, "http://127.0.0.1/clay/webhook/one");
    cw_clay_url_id(id2, "http://127.0.0.1/clay/webhook/two");

    cw_journal_t *j = cw_journal_open(path, INPUT_A, 10, err, sizeof(err));
    assert_non_null(j);
    assert_int_equal(j->num_acked + j->num_dead + j->num_sent, 0);
    size_t u1 = cw_journal_url(j, id1);
    assert_int_equal(cw_journal_url(j, id1), u1);
    size_t u2 = cw_journal_url(j, id2);
    assert_int_not_equal(u1, u2);

    /* row 0 acked; row 1 rate-limited then acked; row 2 dead; row 3 in flight; row 4 refused by 429 only */
    assert_int_equal(cw_journal_sent(j, 0, u1), 0);
    assert_int_equal(cw_journal_acked(j, 0, u1), 0);
    assert_int_equal(cw_journal_sent(j, 1, u1), 0);
    assert_int_equal(cw_journal_rate_limited(j, 1, u1), 0);
    assert_int_equal(cw_journal_sent(j, 1, u1), 0);
    assert_int_equal(cw_journal_acked(j, 1, u1), 0);
    assert_int_equal(cw_journal_dead(j, 2), 0);
    assert_int_equal(cw_journal_sent(j, 3, u1), 0);
    assert_int_equal(cw_journal_gone(j, u1), 0);
    assert_int_equal(cw_journal_sent(j, 4, u2), 0);
    assert_int_equal(cw_journal_rate_limited(j, 4, u2), 0);
    assert_int_equal(cw_journal_refused(j, u2), 0);
    assert_int_equal(j->num_acked, 2);
    assert_int_equal(j->num_dead, 1);
    assert_int_equal(j->num_sent, 1);
    cw_journal_close(j);

    j = cw_journal_open(path, INPUT_A, 10, err, sizeof(err));
    assert_non_null(j);
    assert_int_equal(j->rows[0], CW_JOURNAL_ACKED);
    assert_int_equal(j->rows[1], CW_JOURNAL_ACKED);
    assert_int_equal(j->rows[2], CW_JOURNAL_DEAD);
    assert_int_equal(j->rows[3], CW_JOURNAL_SENT); /* in doubt */
    assert_int_equal(j->rows[4], CW_JOURNAL_NONE);
    assert_int_equal(j->rows[5], CW_JOURNAL_NONE);
    assert_int_equal(j->num_acked, 2);
    assert_int_equal(j->num_dead, 1);
    assert_int_equal(j->num_sent, 1);
    assert_int_equal(j->num_urls, 2);
    u1 = cw_journal_url(j, id1);
    u2 = cw_journal_url(j, id2);
    /* submissions: rows 0, 1 (twice, one answered 429), 3 → 3 on url 1; row 4's only attempt was a 429 */
    assert_int_equal(j->urls[u1].submissions, 3);
    assert_int_equal(j->urls[u1].acked, 2);
    assert_int_equal(j->urls[u1].gone, 1);
    assert_int_equal(j->urls[u1].refused, 0);
    assert_int_equal(j->urls[u2].submissions, 0);
    assert_int_equal(j->urls[u2].refused, 1);
    /* an acknowledged row stays acknowledged even if a late line says otherwise */
    assert_int_equal(cw_journal_sent(j, 0, u2), 0);
    assert_int_equal(j->rows[0], CW_JOURNAL_ACKED);
    assert_int_equal(cw_journal_dead(j, 0), 0);
    assert_int_equal(j->rows[0], CW_JOURNAL_ACKED);
    cw_journal_close(j);
}

static void test_torn_line(void **state)
{
    char err[512];
    char id[CW_CLAY_URL_ID_LEN + 1];
    cw_clay_url_id(id, "http://x/y");
    cw_journal_t *j = cw_journal_open(path, INPUT_A, 3, err, sizeof(err));
    assert_non_null(j);
    size_t u = cw_journal_url(j, id);
    assert_int_equal(cw_journal_sent(j, 0, u), 0);
    assert_int_equal(cw_journal_acked(j, 0, u), 0);
    cw_journal_close(j);
    off_t good = file_size();

    /* kill -9 in the middle of writing "A 1 <id>\n" */
    append_raw("S 1 ");
    append_raw(id);
    append_raw("\nA 1 ");
    append_raw("0123");
    j = cw_journal_open(path, INPUT_A, 3, err, sizeof(err));
    assert_non_null(j);
    assert_int_equal(j->rows[1], CW_JOURNAL_SENT);
    assert_int_equal(file_size(), good + 2 + 1 + 1 + CW_CLAY_URL_ID_LEN + 1);
    /* appending after the cut gives a clean journal */
    u = cw_journal_url(j, id);
    assert_int_equal(cw_journal_acked(j, 1, u), 0);
    cw_journal_close(j);
    j = cw_journal_open(path, INPUT_A, 3, err, sizeof(err));
    assert_non_null(j);
    assert_int_equal(j->rows[1], CW_JOURNAL_ACKED);
    assert_int_equal(j->num_acked, 2);
    cw_journal_close(j);
}

static void test_refusals(void **state)
{
    char err[512];
    cw_journal_t *j = cw_journal_open(path, INPUT_A, 3, err, sizeof(err));
    assert_non_null(j);
    cw_journal_close(j);

    /* another input (changed content or row count) */
    assert_null(cw_journal_open(path, INPUT_B, 3, err, sizeof(err)));
    assert_non_null(strstr(err, "another input"));
    assert_null(cw_journal_open(path, INPUT_A, 4, err, sizeof(err)));
    assert_non_null(strstr(err, "another input"));

    /* a corrupt line, a row out of range */
    append_raw("Q 1\n");
    assert_null(cw_journal_open(path, INPUT_A, 3, err, sizeof(err)));
    assert_non_null(strstr(err, "corrupt at line 2"));
    unlink(path);
    j = cw_journal_open(path, INPUT_A, 3, err, sizeof(err));
    assert_non_null(j);
    cw_journal_close(j);
    append_raw("D 3\n");
    assert_null(cw_journal_open(path, INPUT_A, 3, err, sizeof(err)));
    assert_non_null(strstr(err, "corrupt"));

    /* not a journal at all */
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    assert_int_equal(write(fd, "name,email\n", 11), 11);
    close(fd);
    assert_null(cw_journal_open(path, INPUT_A, 3, err, sizeof(err)));
    assert_non_null(strstr(err, "not a clay-function send journal"));

    /* a torn header is started over */
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    assert_int_equal(write(fd, "clay-send-jou", 13), 13);
    close(fd);
    j = cw_journal_open(path, INPUT_A, 3, err, sizeof(err));
    assert_non_null(j);
    cw_journal_close(j);
    assert_true(file_size() > 13);

    /* an unwritable place */
    assert_null(cw_journal_open("/nonexistent-dir/j", INPUT_A, 3, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
