/*
 * send_journal.c: append-only journal of `clay-function send` (see send_journal.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cw/util.h"
#include "send_journal.h"

#define MAGIC "clay-send-journal 1"
#define MAX_JOURNAL_BYTES ((size_t)1 << 32)

size_t cw_journal_url(cw_journal_t *j, const char *id)
{
    for (size_t i = 0; i != j->num_urls; ++i) {
        if (strcmp(j->urls[i].id, id) == 0) {
            return i;
        }
    }
    j->urls = cw_realloc(j->urls, (j->num_urls + 1) * sizeof(*j->urls));
    cw_journal_url_t *u = &j->urls[j->num_urls];
    memset(u, 0, sizeof(*u));
    snprintf(u->id, sizeof(u->id), "%s", id);
    return j->num_urls++;
}

static void set_row(cw_journal_t *j, size_t row, cw_journal_row_t state)
{
    cw_journal_row_t old = (cw_journal_row_t)j->rows[row];
    j->num_acked -= old == CW_JOURNAL_ACKED;
    j->num_dead -= old == CW_JOURNAL_DEAD;
    j->num_sent -= old == CW_JOURNAL_SENT;
    j->rows[row] = (uint8_t)state;
    j->num_acked += state == CW_JOURNAL_ACKED;
    j->num_dead += state == CW_JOURNAL_DEAD;
    j->num_sent += state == CW_JOURNAL_SENT;
}

/* apply updates the state for one event; shared by replay and the writers. */
static void apply(cw_journal_t *j, char op, size_t row, size_t url)
{
    cw_journal_row_t cur = row < j->num_rows ? (cw_journal_row_t)j->rows[row] : CW_JOURNAL_NONE;
    switch (op) {
    case 'S':
        ++j->urls[url].submissions;
        if (cur != CW_JOURNAL_ACKED && cur != CW_JOURNAL_DEAD) {
            set_row(j, row, CW_JOURNAL_SENT);
        }
        break;
    case 'R':
        if (j->urls[url].submissions != 0) {
            --j->urls[url].submissions;
        }
        if (cur == CW_JOURNAL_SENT) {
            set_row(j, row, CW_JOURNAL_NONE);
        }
        break;
    case 'A':
        ++j->urls[url].acked;
        set_row(j, row, CW_JOURNAL_ACKED);
        break;
    case 'D':
        if (cur != CW_JOURNAL_ACKED) {
            set_row(j, row, CW_JOURNAL_DEAD);
        }
        break;
    case 'G':
        j->urls[url].gone = 1;
        break;
    case 'X':
        j->urls[url].refused = 1;
        break;
    default:
        break;
    }
}

static int is_hex_id(const char *s, size_t len)
{
    if (len != CW_CLAY_URL_ID_LEN) {
        return 0;
    }
    for (size_t i = 0; i != len; ++i) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* replay_line applies one complete line (without its '\n'). Returns 0 or -1. */
static int replay_line(cw_journal_t *j, const char *line, size_t len)
{
    if (len < 3 || line[1] != ' ') {
        return -1;
    }
    char op = line[0];
    const char *p = line + 2, *end = line + len;
    uint64_t row = 0;
    size_t url = 0;
    if (op == 'S' || op == 'R' || op == 'A' || op == 'D') {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        const char *num_end = sp != NULL ? sp : end;
        if (cw_parse_u64(p, (size_t)(num_end - p), 0, UINT64_MAX, &row) != 0 || row >= j->num_rows) {
            return -1;
        }
        if (op == 'D') {
            if (sp != NULL) {
                return -1;
            }
            apply(j, op, (size_t)row, 0);
            return 0;
        }
        if (sp == NULL) {
            return -1;
        }
        p = sp + 1;
    } else if (op != 'G' && op != 'X') {
        return -1;
    }
    if (!is_hex_id(p, (size_t)(end - p))) {
        return -1;
    }
    char id[CW_CLAY_URL_ID_LEN + 1];
    memcpy(id, p, CW_CLAY_URL_ID_LEN);
    id[CW_CLAY_URL_ID_LEN] = '\0';
    url = cw_journal_url(j, id);
    apply(j, op, (size_t)row, url);
    return 0;
}

static int read_all(int fd, cw_buf_t *out)
{
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        if (n == 0) {
            return 0;
        }
        if (out->len + (size_t)n > MAX_JOURNAL_BYTES) {
            errno = EFBIG;
            return -1;
        }
        cw_buf_append(out, chunk, (size_t)n);
    }
}

static int write_line(cw_journal_t *j, const char *line, size_t len, int sync)
{
    size_t off = 0;
    while (off != len) {
        ssize_t n = write(j->fd, line + off, len - off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        off += (size_t)n;
    }
    if (sync && fdatasync(j->fd) != 0) {
        return -1;
    }
    return 0;
}

static void sync_parent_dir(const char *path)
{
    char *copy = cw_strdup(path);
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(copy);
}

cw_journal_t *cw_journal_open(const char *path, const char *input_id, size_t num_rows, char *err, size_t err_size)
{
    cw_journal_t *j = cw_calloc(1, sizeof(*j));
    cw_buf_t content = CW_BUF_INIT, header = CW_BUF_INIT;
    j->fd = -1;
    j->path = cw_strdup(path);
    j->num_rows = num_rows;
    j->rows = cw_calloc(num_rows != 0 ? num_rows : 1, 1);

    if ((j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0) {
        snprintf(err, err_size, "cannot open the journal %s: %s", path, strerror(errno));
        goto Error;
    }
    if (read_all(j->fd, &content) != 0) {
        snprintf(err, err_size, "cannot read the journal %s: %s", path, strerror(errno));
        goto Error;
    }
    cw_buf_appendf(&header, MAGIC " input=%s rows=%zu\n", input_id, num_rows);
    if (content.len != 0 && content.len < header.len && memchr(content.base, '\n', content.len) == NULL &&
        memcmp(content.base, header.base, content.len) == 0) {
        /* Only a torn header: the previous run died while creating the journal. */
        if (ftruncate(j->fd, 0) != 0) {
            snprintf(err, err_size, "cannot repair the journal %s: %s", path, strerror(errno));
            goto Error;
        }
        cw_buf_reset(&content);
    }
    if (content.len == 0) {
        if (write_line(j, header.base, header.len, 1) != 0) {
            snprintf(err, err_size, "cannot write the journal %s: %s", path, strerror(errno));
            goto Error;
        }
        sync_parent_dir(path);
        goto Done;
    }

    const char *nl = memchr(content.base, '\n', content.len);
    size_t hlen = nl != NULL ? (size_t)(nl - content.base) + 1 : content.len;
    if (hlen != header.len || memcmp(content.base, header.base, hlen) != 0) {
        if (content.len >= sizeof(MAGIC) - 1 && memcmp(content.base, MAGIC, sizeof(MAGIC) - 1) == 0) {
            snprintf(err, err_size,
                     "the journal %s was written for another input (the file's content or row count changed since): "
                     "remove the journal to send the file from the start, or pass --journal with another path",
                     path);
        } else {
            snprintf(err, err_size, "%s is not a clay-function send journal", path);
        }
        goto Error;
    }
    size_t pos = hlen, line_no = 2, complete = hlen;
    while (pos < content.len) {
        const char *line = content.base + pos;
        const char *eol = memchr(line, '\n', content.len - pos);
        if (eol == NULL) {
            break; /* torn last line: cut below */
        }
        size_t len = (size_t)(eol - line);
        if (replay_line(j, line, len) != 0) {
            snprintf(err, err_size, "the journal %s is corrupt at line %zu", path, line_no);
            goto Error;
        }
        pos += len + 1;
        complete = pos;
        ++line_no;
    }
    if (complete != content.len) {
        /* A crash in the middle of a write: the event never happened as far as we know. */
        if (ftruncate(j->fd, (off_t)complete) != 0 || fdatasync(j->fd) != 0) {
            snprintf(err, err_size, "cannot repair the torn end of the journal %s: %s", path, strerror(errno));
            goto Error;
        }
    }
Done:
    cw_buf_free(&content);
    cw_buf_free(&header);
    return j;
Error:
    cw_buf_free(&content);
    cw_buf_free(&header);
    cw_journal_close(j);
    return NULL;
}

static int append(cw_journal_t *j, char op, size_t row, size_t url, int sync)
{
    char line[32 + CW_CLAY_URL_ID_LEN];
    int n;
    switch (op) {
    case 'D':
        n = snprintf(line, sizeof(line), "D %zu\n", row);
        break;
    case 'G':
    case 'X':
        n = snprintf(line, sizeof(line), "%c %s\n", op, j->urls[url].id);
        break;
    default:
        n = snprintf(line, sizeof(line), "%c %zu %s\n", op, row, j->urls[url].id);
        break;
    }
    if (write_line(j, line, (size_t)n, sync) != 0) {
        return -1;
    }
    apply(j, op, row, url);
    return 0;
}

int cw_journal_sent(cw_journal_t *j, size_t row, size_t url)
{
    return append(j, 'S', row, url, 0);
}

int cw_journal_rate_limited(cw_journal_t *j, size_t row, size_t url)
{
    return append(j, 'R', row, url, 0);
}

int cw_journal_acked(cw_journal_t *j, size_t row, size_t url)
{
    return append(j, 'A', row, url, 1);
}

int cw_journal_dead(cw_journal_t *j, size_t row)
{
    return append(j, 'D', row, 0, 1);
}

int cw_journal_gone(cw_journal_t *j, size_t url)
{
    return append(j, 'G', 0, url, 1);
}

int cw_journal_refused(cw_journal_t *j, size_t url)
{
    return append(j, 'X', 0, url, 1);
}

void cw_journal_close(cw_journal_t *j)
{
    if (j == NULL) {
        return;
    }
    if (j->fd >= 0) {
        close(j->fd);
    }
    free(j->path);
    free(j->rows);
    free(j->urls);
    free(j);
}
