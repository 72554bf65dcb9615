/*
 * send_report.c: what `clay-function send` shows: a progress bar redrawn in
 * place on a terminal (done/total, sent, failed, rows/s, ETA), a plain line
 * every --progress-interval seconds otherwise, and the final summary as text
 * on stdout and, with --summary-json, as JSON.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cw/json.h"
#include "cw/util.h"
#include "send.h"

#define BAR_INTERVAL_MS 250
#define BAR_WIDTH 24
#define MAX_LISTED_ROWS 1000 /* in the summary's in_doubt_rows */

/* ---- progress ---- */

size_t cw_send_remaining(const cw_send_t *s)
{
    return s->num_rows - s->j->num_acked - s->j->num_dead;
}

double cw_send_rate(const cw_send_t *s, uint64_t now)
{
    if (s->first_send_ms == 0 || s->acked_run == 0) {
        return 0;
    }
    uint64_t end = s->finished && s->last_ack_ms > s->first_send_ms ? s->last_ack_ms : now;
    double secs = (double)(end - s->first_send_ms) / 1000;
    return secs >= 0.2 ? (double)s->acked_run / secs : 0;
}

static void format_eta(char *out, size_t size, const cw_send_t *s, uint64_t now)
{
    double rate = cw_send_rate(s, now);
    if (rate <= 0) {
        snprintf(out, size, "--:--");
        return;
    }
    uint64_t secs = (uint64_t)((double)cw_send_remaining(s) / rate + 0.5);
    if (secs >= 3600) {
        snprintf(out, size, "%llu:%02llu:%02llu", (unsigned long long)(secs / 3600), (unsigned long long)(secs / 60 % 60),
                 (unsigned long long)(secs % 60));
    } else {
        snprintf(out, size, "%llu:%02llu", (unsigned long long)(secs / 60), (unsigned long long)(secs % 60));
    }
}

void cw_send_progress_draw(cw_send_t *s, int final)
{
    uint64_t now = cw_now_ms();
    size_t done = s->j->num_acked + s->j->num_dead;
    char eta[32];
    format_eta(eta, sizeof(eta), s, now);
    if (s->bar == 1) {
        char bar[BAR_WIDTH + 1];
        size_t fill = s->num_rows != 0 ? done * BAR_WIDTH / s->num_rows : BAR_WIDTH;
        for (size_t i = 0; i != BAR_WIDTH; ++i) {
            bar[i] = i < fill ? '#' : '-';
        }
        bar[BAR_WIDTH] = '\0';
        fprintf(stderr, "\r[%s] %3zu%% %zu/%zu  sent %zu  failed %zu  %.1f rows/s  ETA %s\x1b[K%s", bar,
                s->num_rows != 0 ? done * 100 / s->num_rows : 100, done, s->num_rows, s->j->num_acked, s->j->num_dead,
                cw_send_rate(s, now), eta, final ? "\n" : "");
        fflush(stderr);
        s->bar_drawn = !final;
    } else if (s->bar == 0) {
        fprintf(stderr, "clay-function send: %zu/%zu rows done (sent %zu, failed %zu), %.1f rows/s, ETA %s\n", done, s->num_rows,
                s->j->num_acked, s->j->num_dead, cw_send_rate(s, now), eta);
    }
}

/* say prints a message line on stderr without tearing the progress bar. */
void cw_send_say(cw_send_t *s, const char *fmt, ...)
{
    va_list ap;
    if (s->bar_drawn) {
        fputs("\r\x1b[K", stderr);
    }
    fputs("clay-function send: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (s->bar_drawn) {
        cw_send_progress_draw(s, 0);
    }
}

static void on_progress_timer(cw_timer_t *timer)
{
    cw_send_t *s = timer->data;
    cw_send_progress_draw(s, 0);
    cw_timer_start(&s->loop, &s->progress_timer, s->bar == 1 ? BAR_INTERVAL_MS : s->opt.progress_interval_s * 1000,
                   on_progress_timer);
}

void cw_send_progress_init(cw_send_t *s)
{
    switch (s->opt.progress) {
    case CW_SEND_PROGRESS_OFF:
        s->bar = -1;
        break;
    case CW_SEND_PROGRESS_BAR:
        s->bar = 1;
        break;
    case CW_SEND_PROGRESS_PLAIN:
        s->bar = 0;
        break;
    default:
        s->bar = isatty(STDERR_FILENO) ? 1 : 0;
        break;
    }
}

void cw_send_progress_start(cw_send_t *s)
{
    if (s->bar < 0) {
        return;
    }
    if (s->bar == 1) {
        cw_send_progress_draw(s, 0);
    }
    s->progress_timer.data = s;
    cw_timer_start(&s->loop, &s->progress_timer, s->bar == 1 ? BAR_INTERVAL_MS : s->opt.progress_interval_s * 1000,
                   on_progress_timer);
}

/* ---- summary ---- */

int cw_send_may_have_dropped(const cw_send_t *s)
{
    /* At 90% of the cap the table may already be full with rows from elsewhere (other files, other sources). */
    return s->table_full || (uint64_t)s->j->num_acked * 100 >= s->opt.table_rows_limit * CW_CLAY_QUOTA_WARN_PERCENT;
}

static const char *url_state(const cw_send_t *s, size_t u)
{
    const cw_journal_url_t *ju = &s->j->urls[s->jurl[u]];
    return ju->gone ? "gone" : ju->refused ? "refused" : ju->submissions >= s->opt.limit ? "exhausted" : "active";
}

static void summary_json(cw_send_t *s, cw_buf_t *b, double elapsed_s)
{
    size_t pending = cw_send_remaining(s);
    cw_buf_appends(b, "{\"file\":");
    cw_json_quote(b, s->opt.file, strlen(s->opt.file));
    cw_buf_appendf(b, ",\"format\":\"%s\",\"rows\":%zu,\"acknowledged\":%zu,\"acknowledged_this_run\":%zu",
                   cw_rows_format_name(s->format), s->num_rows, s->j->num_acked, s->acked_run);
    cw_buf_appendf(b, ",\"dead_lettered\":%zu,\"dead_lettered_this_run\":%zu,\"bad_input\":%zu,\"pending\":%zu", s->j->num_dead,
                   s->dead_run, s->bad_input, pending);
    cw_buf_appendf(b, ",\"in_doubt\":%zu,\"in_doubt_policy\":\"%s\",\"in_doubt_rows\":[", s->in_doubt,
                   s->opt.in_doubt_dead ? "dead-letter" : "resend");
    for (size_t k = 0; k != s->in_doubt && k != MAX_LISTED_ROWS; ++k) {
        cw_buf_appendf(b, "%s%zu", k == 0 ? "" : ",", s->in_doubt_rows[k]);
    }
    cw_buf_appendf(b, "],\"rate_limited\":%zu,\"retries\":%zu", s->rate_limited, s->retries);
    double window =
        s->first_send_ms != 0 && s->last_ack_ms > s->first_send_ms ? (double)(s->last_ack_ms - s->first_send_ms) / 1000 : 0;
    cw_buf_appendf(b, ",\"elapsed_s\":%.3f,\"send_window_s\":%.3f,\"rows_per_s\":%.3f,\"rate\":%g,\"burst\":%g", elapsed_s, window,
                   cw_send_rate(s, cw_now_ms()), s->opt.rate, s->opt.burst);
    cw_buf_appends(b, ",\"webhooks\":[");
    for (size_t u = 0; u != s->opt.urls.num_urls; ++u) {
        const cw_journal_url_t *ju = &s->j->urls[s->jurl[u]];
        cw_buf_appendf(
            b, "%s{\"index\":%zu,\"id\":\"%.16s\",\"submissions\":%llu,\"acknowledged\":%llu,\"limit\":%llu,\"state\":\"%s\"}",
            u == 0 ? "" : ",", u + 1, ju->id, (unsigned long long)ju->submissions, (unsigned long long)ju->acked,
            (unsigned long long)s->opt.limit, url_state(s, u));
    }
    cw_buf_appendf(b, "],\"table_rows\":%zu,\"table_rows_limit\":%llu,\"table_full\":%s,\"may_have_dropped_rows\":%s",
                   s->j->num_acked, (unsigned long long)s->opt.table_rows_limit, s->table_full ? "true" : "false",
                   cw_send_may_have_dropped(s) ? "true" : "false");
    cw_buf_appendf(b, ",\"complete\":%s,\"stopped\":", pending == 0 ? "true" : "false");
    if (s->stop_msg[0] != '\0') {
        cw_json_quote(b, s->stop_msg, strlen(s->stop_msg));
    } else {
        cw_buf_appends(b, "null");
    }
    cw_buf_appends(b, ",\"journal\":");
    cw_json_quote(b, s->opt.journal_path, strlen(s->opt.journal_path));
    cw_buf_appends(b, ",\"dead_letter\":");
    cw_json_quote(b, s->opt.dead_path, strlen(s->opt.dead_path));
    cw_buf_appendf(b, ",\"exit_code\":%d}\n", s->exit_code);
}

int cw_send_write_summary_json(cw_send_t *s, double elapsed_s)
{
    cw_buf_t b = CW_BUF_INIT, tmp = CW_BUF_INIT;
    int rc = -1, fd = -1;
    summary_json(s, &b, elapsed_s);
    cw_buf_appendf(&tmp, "%s.tmp", s->opt.summary_path);
    if ((fd = open(tmp.base, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0 || write(fd, b.base, b.len) != (ssize_t)b.len ||
        fsync(fd) != 0 || rename(tmp.base, s->opt.summary_path) != 0) {
        fprintf(stderr, "clay-function send: cannot write the summary %s: %s\n", s->opt.summary_path, strerror(errno));
        goto Exit;
    }
    rc = 0;
Exit:
    if (fd >= 0) {
        close(fd);
    }
    cw_buf_free(&b);
    cw_buf_free(&tmp);
    return rc;
}

void cw_send_print_summary(cw_send_t *s, double elapsed_s)
{
    size_t pending = cw_send_remaining(s);
    printf("clay-function send: %s (%s, %zu rows)\n", s->opt.file, cw_rows_format_name(s->format), s->num_rows);
    printf("  acknowledged   %zu (%zu in this run)\n", s->j->num_acked, s->acked_run);
    printf("  dead-lettered  %zu (%zu in this run, %zu bad input)%s%s\n", s->j->num_dead, s->dead_run, s->bad_input,
           s->j->num_dead != 0 ? " -> " : "", s->j->num_dead != 0 ? s->opt.dead_path : "");
    printf("  not sent yet   %zu\n", pending);
    printf("  rate limited   %zu (429)   retries %zu   in doubt %zu (%s)\n", s->rate_limited, s->retries, s->in_doubt,
           s->opt.in_doubt_dead ? "dead-lettered" : "resent");
    for (size_t u = 0; u != s->opt.urls.num_urls; ++u) {
        const cw_journal_url_t *ju = &s->j->urls[s->jurl[u]];
        printf("  webhook %zu      %llu of %llu submissions (%s)\n", u + 1, (unsigned long long)ju->submissions,
               (unsigned long long)s->opt.limit, url_state(s, u));
    }
    printf("  elapsed        %.1f s, %.1f rows/s\n", elapsed_s, cw_send_rate(s, cw_now_ms()));
    if (cw_send_may_have_dropped(s)) {
        printf("  warning        the table has taken %zu rows of this file (limit %llu): Clay may have dropped rows silently "
               "(a full table answers 2xx and keeps nothing); check the table's row count in Clay\n",
               s->j->num_acked, (unsigned long long)s->opt.table_rows_limit);
    }
    fflush(stdout);
}
