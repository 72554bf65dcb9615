/*
 * send.h: the parts of `clay-function send` and the state they share:
 * send.c runs (input, dead letters, pacing, answers, resume), send_options.c
 * reads the command line, send_report.c shows progress and the summary.
 * One run per process; everything happens on the run's loop thread.
 */
#ifndef CW_SEND_H
#define CW_SEND_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "cw/http.h"
#include "cw/loop.h"
#include "clay_client.h"
#include "rows_input.h"
#include "send_journal.h"

typedef enum en_cw_send_progress_t {
    CW_SEND_PROGRESS_AUTO, /* a bar on a terminal (stderr), else plain lines */
    CW_SEND_PROGRESS_BAR,
    CW_SEND_PROGRESS_PLAIN,
    CW_SEND_PROGRESS_OFF,
} cw_send_progress_t;

/* cw_send_options_t is the command line, with the environment's defaults. */
typedef struct st_cw_send_options_t {
    const char *file; /* never NULL after parsing */
    cw_rows_format_t format;
    cw_clay_urls_t urls;    /* at least one after parsing; owned */
    const char *auth_token; /* may be NULL */
    double rate, burst;
    uint64_t limit;
    uint64_t table_rows_limit; /* rows the table may hold: the run stops there instead of rotating (Clay drops silently) */
    const char *journal_path, *dead_path; /* NULL: derived from the file's name */
    const char *summary_path;             /* may be NULL */
    uint64_t concurrency;
    uint64_t max_attempts;
    uint64_t timeout_ms;
    int in_doubt_dead; /* --in-doubt dead-letter */
    cw_send_progress_t progress;
    uint64_t progress_interval_s;
} cw_send_options_t;

/* cw_send_row_t is one record of the input. */
typedef struct st_cw_send_row_t {
    char *json; /* minified; NULL for a record that cannot be sent */
    size_t json_len;
    char *reason; /* why it cannot be sent (bad input, too large); else NULL */
    char *raw;    /* bad input: its bytes (capped); else NULL */
    size_t raw_len;
    size_t line;
    unsigned attempts; /* attempts that ended in 5xx or a transport error */
    uint64_t ready_ms; /* in the retry list: not before this */
} cw_send_row_t;

typedef struct st_cw_send_t {
    cw_send_options_t opt;
    char *data; /* the input's bytes */
    size_t data_len;
    cw_rows_format_t format;
    cw_send_row_t *rows;
    size_t num_rows;
    cw_journal_t *j;
    size_t *jurl;    /* per URL: its index in j->urls */
    uint8_t *warned; /* per URL: the 90% warning was printed */
    size_t cur_url;  /* the URL in use (rotation moves it forward) */
    FILE *dead;      /* opened on the first dead letter; may be NULL */
    cw_bucket_t bucket;
    cw_loop_t loop;
    cw_http_t *http;
    cw_clay_client_t *client;
    cw_timer_t pump_timer, progress_timer;
    size_t *queue, queue_len, queue_head;
    size_t *retry, num_retry;
    size_t inflight;
    int stopping, finished, interrupted, exit_code;
    int no_webhook; /* stopped because no webhook can take more rows */
    int table_full; /* stopped because the table reached --table-rows-limit */
    char stop_msg[1536];
    int bar; /* progress in effect: 1 bar, 0 plain lines, -1 off */
    int bar_drawn;
    /* this run */
    size_t acked_run, dead_run, bad_input, in_doubt, rate_limited, retries;
    size_t *in_doubt_rows; /* in_doubt row indexes: in flight when a previous run was killed */
    uint64_t start_ms, first_send_ms, last_ack_ms;
} cw_send_t;

/* cw_send_print_usage writes the text of `clay-function send --help` to |fp|,
 * its options made from the same table cw_send_parse_options reads. */
void cw_send_print_usage(FILE *fp);

/* cw_send_parse_options fills |o| from the environment (CLAY_WEBHOOK_URLS,
 * CLAY_WEBHOOK_AUTH, CLAY_WEBHOOK_LIMIT, CLAY_RATE, CLAY_BURST) and then |argv|,
 * whose flags override it. Returns 0 (*out_help set to 1 for --help), or -1 with
 * one line in |err|. |o| borrows from argv and environ; o->urls is owned (the
 * caller frees it with cw_clay_urls_free, also after a failure). Main thread,
 * before any loop starts. */
int cw_send_parse_options(cw_send_options_t *o, int argc, char **argv, int *out_help, char *err, size_t err_size);

/* cw_send_remaining returns the rows neither acknowledged nor dead-lettered. */
size_t cw_send_remaining(const cw_send_t *s);
/* cw_send_may_have_dropped reports whether Clay may have dropped rows of this
 * file silently: the run stopped at --table-rows-limit, or the rows acknowledged
 * reached 90% of it (the table may hold rows from elsewhere). Returns 1 or 0. */
int cw_send_may_have_dropped(const cw_send_t *s);
/* cw_send_rate returns this run's acknowledgements per second: up to |now_ms|
 * while running, up to the last acknowledgement once finished. */
double cw_send_rate(const cw_send_t *s, uint64_t now_ms);
/* cw_send_progress_init picks the progress mode (s->bar) from the options and stderr. */
void cw_send_progress_init(cw_send_t *s);
/* cw_send_progress_start draws the first bar and arms the redraw timer on s->loop. */
void cw_send_progress_start(cw_send_t *s);
/* cw_send_progress_draw redraws the bar (|final|: for the last time, with a
 * newline) or prints a plain line. */
void cw_send_progress_draw(cw_send_t *s, int final);
/* cw_send_say prints "clay-function send: <message>" on stderr without tearing the bar. */
void cw_send_say(cw_send_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cw_send_print_summary prints the human summary on stdout. */
void cw_send_print_summary(cw_send_t *s, double elapsed_s);
/* cw_send_write_summary_json writes the summary to opt.summary_path (atomically).
 * Returns 0, or -1 after a line on stderr. */
int cw_send_write_summary_json(cw_send_t *s, double elapsed_s);

/* cw_send_main is `clay-function send`: rows from a file into Clay table webhooks.
 * Takes the arguments after the command name (argv[0] is "send"); returns the
 * exit code: 0 every row acknowledged, 1 some failed, 2 usage or configuration error. */
int cw_send_main(int argc, char **argv);

#endif
