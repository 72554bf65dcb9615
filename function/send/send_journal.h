/*
 * send_journal.h: the journal of `clay-function send`, what makes a rerun
 * resume: an append-only text file, one line per event, keyed by the input's
 * identity (SHA-256 of its bytes) and each row's index in it.
 *
 *   clay-send-journal 1 input=<sha256 hex> rows=<n>    header
 *   S <row> <url id>    a submission starts (counts against the webhook's quota)
 *   R <row> <url id>    Clay refused it without taking it (429, 401, 403, 404, 410): uncounted again
 *   A <row> <url id>    Clay acknowledged it (2xx)             -- fsync'd
 *   D <row>             it went to the dead-letter file         -- fsync'd
 *   G <url id>          that webhook is gone (404/410)          -- fsync'd
 *   X <url id>          that webhook refuses more rows (403)    -- fsync'd
 *
 * <url id> is the hex SHA-256 of the webhook URL (the URL grants write access
 * to a table, so it is never written down). A row whose last line is S was in
 * flight when the previous run died: it is "in doubt" (Clay may or may not have
 * it). The A line is written and fsync'd as soon as the 2xx arrives, so the
 * window in which a row can be in Clay but not acknowledged here is the time
 * between Clay answering and that fsync.
 *
 * A torn last line (a crash in the middle of a write) is cut off at open.
 */
#ifndef CW_SEND_JOURNAL_H
#define CW_SEND_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include "clay_client.h"

typedef enum en_cw_journal_row_t {
    CW_JOURNAL_NONE,  /* never sent, or refused without being taken (R) */
    CW_JOURNAL_SENT,  /* a submission started; no answer recorded (in doubt after a crash) */
    CW_JOURNAL_ACKED, /* Clay acknowledged it */
    CW_JOURNAL_DEAD,  /* dead-lettered */
} cw_journal_row_t;

/* cw_journal_url_t is what the journal knows of one webhook. */
typedef struct st_cw_journal_url_t {
    char id[CW_CLAY_URL_ID_LEN + 1];
    uint64_t submissions; /* S lines minus R lines: what counts against the limit */
    uint64_t acked;
    int gone;    /* a G line */
    int refused; /* an X line */
} cw_journal_url_t;

typedef struct st_cw_journal_t {
    int fd;
    char *path;
    size_t num_rows;
    uint8_t *rows; /* num_rows cw_journal_row_t values */
    cw_journal_url_t *urls;
    size_t num_urls;
    /* counts of rows by state, kept up to date */
    size_t num_acked, num_dead, num_sent;
} cw_journal_t;

/* cw_journal_open opens (or creates) the journal at |path| for an input whose
 * identity is |input_id| (hex SHA-256) and which has |num_rows| records, and
 * replays it. Returns the journal, or NULL with a one-line reason in |err|
 * (unreadable, written for another input, corrupt). */
cw_journal_t *cw_journal_open(const char *path, const char *input_id, size_t num_rows, char *err, size_t err_size);

/* cw_journal_url returns the index of webhook |id| in j->urls, adding it. */
size_t cw_journal_url(cw_journal_t *j, const char *id);

/* The writers append one line (one write(2)) and update the state. Those
 * marked fsync'd above return only after fdatasync. Each returns 0, or -1 with
 * errno set when the line could not be written: the caller must stop sending. */
int cw_journal_sent(cw_journal_t *j, size_t row, size_t url);
int cw_journal_rate_limited(cw_journal_t *j, size_t row, size_t url);
int cw_journal_acked(cw_journal_t *j, size_t row, size_t url);
int cw_journal_dead(cw_journal_t *j, size_t row);
int cw_journal_gone(cw_journal_t *j, size_t url);
int cw_journal_refused(cw_journal_t *j, size_t url);

/* cw_journal_close closes and frees |j| (NULL is fine). */
void cw_journal_close(cw_journal_t *j);

#endif
