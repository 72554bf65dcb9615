/*
 * send.c: `clay-function send`, rows from a file into Clay table webhooks
 * (docs/design.md §13), resumable.
 *
 * The whole input is read and checked first: bad records and rows over 100 KB
 * go to the dead-letter file before anything is sent. Then one event loop
 * paces submissions with the token bucket, a few in flight at a time, and
 * records every step in the journal (send_journal.h) before and after each
 * submission, so a rerun of the same command sends exactly what was not
 * acknowledged. Ctrl-C (or SIGTERM) stops submitting, waits for the rows in
 * flight and records their answers; a second Ctrl-C quits at once.
 *
 * The residual window: a row that Clay took and answered 2xx just before the
 * process was killed (kill -9, power loss) but whose "A" line was not yet
 * written is "in doubt" on the rerun. Clay does not deduplicate, so it is sent
 * again by default (--in-doubt resend: nothing is skipped, one duplicate is
 * possible within that window, and the run reports how many such rows there
 * were) or dead-lettered for a human to check (--in-doubt dead-letter: no
 * duplicate, the row is listed instead of sent). The A line is written and
 * fsync'd as soon as the answer arrives, so the window is the time from Clay's
 * answer to that fsync.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/sha.h>
#include "cw/json.h"
#include "cw/util.h"
#include "clay_client.h"
#include "rows_input.h"
#include "send.h"

#define MAX_INPUT_BYTES ((size_t)2 << 30)
#define DEAD_RAW_MAX 16384
#define RETRY_BASE_MS 500
#define RETRY_MAX_MS 15000
#define RETRY_AFTER_DEFAULT_MS 1000
#define RETRY_AFTER_MAX_MS (10 * 60 * 1000)

typedef struct st_flight_t {
    cw_send_t *s;
    size_t row, url;
} flight_t;

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

/* ---- input ---- */

static int read_file(const char *path, char **out, size_t *out_len, char *err, size_t err_size)
{
    cw_buf_t b = CW_BUF_INIT;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
    if (fd < 0) {
        snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno));
        goto Exit;
    }
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            snprintf(err, err_size, "cannot read %s: %s", path, strerror(errno));
            goto Exit;
        }
        if (n == 0) {
            break;
        }
        if (b.len + (size_t)n > MAX_INPUT_BYTES) {
            snprintf(err, err_size, "%s is larger than 2 GiB: split it", path);
            goto Exit;
        }
        cw_buf_append(&b, chunk, (size_t)n);
    }
    *out = cw_buf_release(&b, out_len);
    rc = 0;
Exit:
    if (fd >= 0) {
        close(fd);
    }
    cw_buf_free(&b);
    return rc;
}

/* load_rows reads every record; returns 0, or -1 with |err|. */
static int load_rows(cw_send_t *s, char *err, size_t err_size)
{
    cw_rows_t *rows = cw_rows_new(s->data, s->data_len, s->opt.format, err, err_size);
    if (rows == NULL) {
        return -1;
    }
    s->format = cw_rows_format(rows);
    size_t cap = 0;
    cw_row_t rec;
    cw_rows_kind_t kind;
    while ((kind = cw_rows_next(rows, &rec)) != CW_ROWS_END) {
        if (s->num_rows == cap) {
            cap = cap == 0 ? 1024 : cap * 2;
            s->rows = cw_realloc(s->rows, cap * sizeof(*s->rows));
        }
        cw_send_row_t *r = &s->rows[s->num_rows++];
        memset(r, 0, sizeof(*r));
        r->line = rec.line;
        if (kind == CW_ROWS_BAD) {
            r->reason = cw_strdup(rec.reason);
            r->raw_len = rec.raw_len < DEAD_RAW_MAX ? rec.raw_len : DEAD_RAW_MAX;
            r->raw = cw_strndup(rec.raw, r->raw_len);
            continue;
        }
        cw_buf_t min = CW_BUF_INIT;
        cw_clay_json_minify(&min, rec.json, rec.json_len);
        if (min.len > CW_CLAY_MAX_ROW_BYTES) {
            char why[160];
            snprintf(why, sizeof(why), "the row is %zu bytes; Clay takes at most %d (100 KB)", min.len, CW_CLAY_MAX_ROW_BYTES);
            r->reason = cw_strdup(why);
        }
        r->json = cw_buf_release(&min, &r->json_len);
    }
    cw_rows_free(rows);
    return 0;
}

static void stop(cw_send_t *s, int exit_code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- dead letters ---- */

/* dead_letter writes one line {"row","line","reason","status"?,"data"|"raw"} and journals D.
 * Returns 0, or -1 after stopping the run with the reason. */
static int dead_letter(cw_send_t *s, size_t i, int status, const char *reason)
{
    cw_send_row_t *r = &s->rows[i];
    if (s->dead == NULL) {
        int fd = open(s->opt.dead_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0 || (s->dead = fdopen(fd, "a")) == NULL) {
            stop(s, 1, "cannot open the dead-letter file %s: %s", s->opt.dead_path, strerror(errno));
            if (fd >= 0) {
                close(fd);
            }
            return -1;
        }
    }
    cw_buf_t b = CW_BUF_INIT;
    cw_buf_appendf(&b, "{\"row\":%zu,\"line\":%zu,\"reason\":", i, r->line);
    cw_json_quote(&b, reason, strlen(reason));
    if (status != 0) {
        cw_buf_appendf(&b, ",\"status\":%d", status);
    }
    if (r->json != NULL) {
        cw_buf_appends(&b, ",\"data\":");
        cw_buf_append(&b, r->json, r->json_len);
    } else {
        cw_buf_appends(&b, ",\"raw\":");
        cw_json_quote(&b, r->raw != NULL ? r->raw : "", r->raw_len);
    }
    cw_buf_appends(&b, "}\n");
    int rc = 0;
    if (fwrite(b.base, 1, b.len, s->dead) != b.len || fflush(s->dead) != 0 || fdatasync(fileno(s->dead)) != 0) {
        stop(s, 1, "cannot write the dead-letter file %s: %s", s->opt.dead_path, strerror(errno));
        rc = -1;
    } else if (cw_journal_dead(s->j, i) != 0) {
        stop(s, 1, "cannot write the journal %s: %s", s->opt.journal_path, strerror(errno));
        rc = -1;
    } else {
        ++s->dead_run;
    }
    cw_buf_free(&b);
    return rc;
}

/* ---- scheduling ---- */

static void pump(cw_send_t *s);

static void on_pump_timer(cw_timer_t *timer)
{
    pump(timer->data);
}

static void arm_pump(cw_send_t *s, uint64_t delay_ms)
{
    cw_timer_stop(&s->pump_timer);
    cw_timer_start(&s->loop, &s->pump_timer, delay_ms, on_pump_timer);
}

static void stop(cw_send_t *s, int exit_code, const char *fmt, ...)
{
    if (s->stopping) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->stop_msg, sizeof(s->stop_msg), fmt, ap);
    va_end(ap);
    s->stopping = 1;
    s->exit_code = exit_code;
}

static void retry_later(cw_send_t *s, size_t row, uint64_t ready_ms)
{
    s->rows[row].ready_ms = ready_ms;
    s->retry = cw_realloc(s->retry, (s->num_retry + 1) * sizeof(*s->retry));
    s->retry[s->num_retry++] = row;
}

/* next_row picks the next row to send: a retry whose time came, else the queue's
 * head. Returns 1 with *out_row (not yet removed), or 0 with *out_wait_ms until a
 * retry is due (0: nothing left). */
static int next_row(cw_send_t *s, uint64_t now, size_t *out_pos, int *out_is_retry, uint64_t *out_wait_ms)
{
    uint64_t soonest = UINT64_MAX;
    for (size_t k = 0; k != s->num_retry; ++k) {
        uint64_t t = s->rows[s->retry[k]].ready_ms;
        if (t <= now) {
            *out_pos = k;
            *out_is_retry = 1;
            return 1;
        }
        soonest = t < soonest ? t : soonest;
    }
    if (s->queue_head != s->queue_len) {
        *out_pos = s->queue_head;
        *out_is_retry = 0;
        return 1;
    }
    *out_wait_ms = soonest == UINT64_MAX ? 0 : soonest - now;
    return 0;
}

/* usable_url finds the URL to send to, rotating past gone, refused and
 * exhausted ones. Returns 0 with *out_url, or -1 (with the stop message set). */
static int usable_url(cw_send_t *s, size_t *out_url)
{
    /* Every webhook of a run feeds one table, and a full table answers 2xx while dropping the row: stop at the cap
     * instead of rotating (another webhook of the same table does not help). Rows in flight count: Clay may take them. */
    if (s->j->num_acked + s->inflight >= s->opt.table_rows_limit) {
        stop(s, 1,
             "the table has taken %zu rows of this file, its limit (--table-rows-limit %llu; Clay tables hold at most %d rows "
             "on every plan, and past that Clay silently drops rows while answering 2xx, so rotating to another webhook of "
             "the same table does not help). Send the rest to a webhook of another table, or make room in this one, then "
             "rerun the same command with --table-rows-limit raised by the room there is",
             s->j->num_acked, (unsigned long long)s->opt.table_rows_limit, CW_CLAY_TABLE_ROWS_LIMIT);
        s->table_full = 1;
        return -1;
    }
    while (s->cur_url < s->opt.urls.num_urls) {
        size_t u = s->cur_url;
        cw_journal_url_t *ju = &s->j->urls[s->jurl[u]];
        const char *why = NULL;
        char buf[160];
        if (ju->gone) {
            why = "is gone (404/410)";
        } else if (ju->refused) {
            why = "refuses more rows (403)";
        } else if (ju->submissions >= s->opt.limit) {
            snprintf(buf, sizeof(buf), "reached its limit of %llu submissions", (unsigned long long)s->opt.limit);
            why = buf;
        }
        if (why == NULL) {
            if (!s->warned[u] && ju->submissions * 100 >= s->opt.limit * CW_CLAY_QUOTA_WARN_PERCENT) {
                s->warned[u] = 1;
                cw_send_say(
                    s, "warning: webhook %zu has used %llu of its %llu submissions (%d%%); create the next webhook in Clay soon",
                    u + 1, (unsigned long long)ju->submissions, (unsigned long long)s->opt.limit, CW_CLAY_QUOTA_WARN_PERCENT);
            }
            *out_url = u;
            return 0;
        }
        if (u + 1 < s->opt.urls.num_urls) {
            cw_send_say(s, "webhook %zu %s: rotating to webhook %zu", u + 1, why, u + 2);
        }
        ++s->cur_url;
    }
    cw_buf_t b = CW_BUF_INIT;
    for (size_t u = 0; u != s->opt.urls.num_urls; ++u) {
        cw_journal_url_t *ju = &s->j->urls[s->jurl[u]];
        cw_buf_appendf(&b, "%swebhook %zu %s", u == 0 ? "" : "; ", u + 1,
                       ju->gone      ? "is gone (404/410)"
                       : ju->refused ? "refuses more rows (403)"
                                     : "reached its limit");
    }
    stop(s, 1,
         "no webhook can take more rows (%s; limit %llu submissions per webhook, CLAY_WEBHOOK_LIMIT). Create a new webhook "
         "in Clay (in the table: Add source, Webhook), pass its URL with --webhook-url (or add it to CLAY_WEBHOOK_URLS), and "
         "rerun the same command:",
         b.base, (unsigned long long)s->opt.limit);
    s->no_webhook = 1; /* the count of rows left is added once the rows in flight are answered */
    cw_buf_free(&b);
    return -1;
}

static void on_posted(const cw_clay_result_t *res, void *data);

static void submit(cw_send_t *s, size_t row, size_t url)
{
    if (cw_journal_sent(s->j, row, s->jurl[url]) != 0) {
        stop(s, 1, "cannot write the journal %s: %s", s->opt.journal_path, strerror(errno));
        retry_later(s, row, 0);
        return;
    }
    flight_t *f = cw_malloc(sizeof(*f));
    *f = (flight_t){s, row, url};
    ++s->inflight;
    if (s->first_send_ms == 0) {
        s->first_send_ms = cw_now_ms();
    }
    cw_clay_post(s->client, &s->loop, s->opt.urls.urls[url], s->rows[row].json, s->rows[row].json_len, on_posted, f);
}

static void check_finished(cw_send_t *s)
{
    if (s->inflight != 0) {
        return;
    }
    if (s->stopping || (s->queue_head == s->queue_len && s->num_retry == 0)) {
        s->finished = 1;
    }
}

static void pump(cw_send_t *s)
{
    cw_timer_stop(&s->pump_timer);
    while (!s->stopping && s->inflight < s->opt.concurrency) {
        uint64_t now = cw_now_ms(), wait_ms = 0;
        size_t pos, url;
        int is_retry;
        if (!next_row(s, now, &pos, &is_retry, &wait_ms)) {
            if (wait_ms != 0) {
                arm_pump(s, wait_ms);
            }
            break;
        }
        if (usable_url(s, &url) != 0) {
            break;
        }
        uint64_t wait_us;
        if (cw_bucket_take(&s->bucket, 1, cw_now_us(), &wait_us) != 0) {
            arm_pump(s, (wait_us + 999) / 1000);
            break;
        }
        size_t row;
        if (is_retry) {
            row = s->retry[pos];
            s->retry[pos] = s->retry[--s->num_retry];
        } else {
            row = s->queue[s->queue_head++];
        }
        submit(s, row, url);
    }
    check_finished(s);
}

static void on_posted(const cw_clay_result_t *res, void *data)
{
    flight_t *f = data;
    cw_send_t *s = f->s;
    size_t row = f->row, url = f->url, ju = s->jurl[url];
    cw_send_row_t *r = &s->rows[row];
    uint64_t now = cw_now_ms();
    free(f);
    --s->inflight;

    switch (res->outcome) {
    case CW_CLAY_ACCEPTED:
        if (cw_journal_acked(s->j, row, ju) != 0) {
            stop(s, 1, "cannot write the journal %s: %s (row %zu was acknowledged by Clay)", s->opt.journal_path, strerror(errno),
                 row);
            break;
        }
        ++s->acked_run;
        s->last_ack_ms = now;
        break;
    case CW_CLAY_RATE_LIMITED: {
        /* Clay's workspace budget is spent: nobody sends until Retry-After has passed. */
        int64_t wait = res->retry_after_ms >= 0 ? res->retry_after_ms : RETRY_AFTER_DEFAULT_MS;
        if (wait > RETRY_AFTER_MAX_MS) {
            wait = RETRY_AFTER_MAX_MS;
        }
        ++s->rate_limited;
        cw_bucket_pause(&s->bucket, cw_now_us() + (uint64_t)wait * 1000);
        (void)cw_journal_rate_limited(s->j, row, ju);
        retry_later(s, row, now);
    } break;
    case CW_CLAY_RETRY:
        ++r->attempts;
        ++s->retries;
        if (r->attempts >= s->opt.max_attempts) {
            stop(s, 1,
                 "Clay did not take row %zu (line %zu) after %u attempts (last: %s). Nothing is lost: rerun the same "
                 "command to resume",
                 row, r->line, r->attempts, res->detail);
            retry_later(s, row, now);
        } else {
            retry_later(s, row, now + cw_clay_backoff_ms(r->attempts, RETRY_BASE_MS, RETRY_MAX_MS));
        }
        break;
    case CW_CLAY_GONE:
    case CW_CLAY_LIMIT: {
        cw_journal_url_t *u = &s->j->urls[ju];
        int already = res->outcome == CW_CLAY_GONE ? u->gone : u->refused;
        (void)cw_journal_rate_limited(s->j, row, ju); /* refused without being taken: not counted */
        if (!already && (res->outcome == CW_CLAY_GONE ? cw_journal_gone(s->j, ju) : cw_journal_refused(s->j, ju)) != 0) {
            stop(s, 1, "cannot write the journal %s: %s", s->opt.journal_path, strerror(errno));
        }
        retry_later(s, row, now);
    } break;
    case CW_CLAY_UNAUTHORIZED:
        (void)cw_journal_rate_limited(s->j, row, ju);
        stop(s, 1,
             "Clay refused the webhook auth token (%s): check --auth-token or CLAY_WEBHOOK_AUTH against the token shown when "
             "the webhook was created, then rerun the same command to resume",
             res->detail);
        retry_later(s, row, now);
        break;
    case CW_CLAY_REJECTED:
        (void)dead_letter(s, row, res->status, res->detail);
        break;
    }
    pump(s);
}

/* ---- the run ---- */

static void free_send(cw_send_t *s)
{
    for (size_t i = 0; i != s->num_rows; ++i) {
        free(s->rows[i].json);
        free(s->rows[i].reason);
        free(s->rows[i].raw);
    }
    free(s->rows);
    free(s->data);
    free(s->jurl);
    free(s->warned);
    free(s->queue);
    free(s->retry);
    free(s->in_doubt_rows);
    if (s->dead != NULL) {
        fclose(s->dead);
    }
    cw_journal_close(s->j);
    cw_clay_urls_free(&s->opt.urls);
}

/* prepare dead-letters what cannot be sent and queues the rest. Returns 0 or -1 (stop_msg set). */
static int prepare(cw_send_t *s)
{
    s->queue = cw_calloc(s->num_rows != 0 ? s->num_rows : 1, sizeof(*s->queue));
    for (size_t i = 0; i != s->num_rows; ++i) {
        cw_send_row_t *r = &s->rows[i];
        cw_journal_row_t st = (cw_journal_row_t)s->j->rows[i];
        if (st == CW_JOURNAL_ACKED || st == CW_JOURNAL_DEAD) {
            continue;
        }
        if (r->reason != NULL) {
            ++s->bad_input;
            if (dead_letter(s, i, 0, r->reason) != 0) {
                return -1;
            }
            continue;
        }
        if (st == CW_JOURNAL_SENT) {
            s->in_doubt_rows = cw_realloc(s->in_doubt_rows, (s->in_doubt + 1) * sizeof(*s->in_doubt_rows));
            s->in_doubt_rows[s->in_doubt++] = i;
            if (s->opt.in_doubt_dead) {
                if (dead_letter(s, i, 0,
                                "in doubt: in flight when a previous run was killed, before Clay's answer was recorded; "
                                "Clay may already have it") != 0) {
                    return -1;
                }
                continue;
            }
        }
        s->queue[s->queue_len++] = i;
    }
    if (s->in_doubt != 0) {
        cw_buf_t lines = CW_BUF_INIT;
        for (size_t k = 0; k != s->in_doubt && k != 10; ++k) {
            cw_buf_appendf(&lines, "%s%zu", k == 0 ? "" : ", ", s->rows[s->in_doubt_rows[k]].line);
        }
        cw_send_say(s, "%zu rows were in flight when the previous run was killed (input line %s%s); %s", s->in_doubt, lines.base,
                    s->in_doubt > 10 ? ", ..." : "",
                    s->opt.in_doubt_dead ? "they are listed in the dead-letter file (check Clay for them)"
                                         : "they are sent again (Clay may now hold one duplicate of each; --in-doubt dead-letter "
                                           "lists them instead)");
        cw_buf_free(&lines);
    }
    return 0;
}

/* open_input reads and checks the input, then opens the journal. Returns 0,
 * or -1 after one line on stderr. Default paths are built in |jpath| and |dpath|. */
static int open_input(cw_send_t *s, cw_buf_t *jpath, cw_buf_t *dpath)
{
    char err[1024];
    uint8_t md[SHA256_DIGEST_LENGTH];
    char input_id[2 * SHA256_DIGEST_LENGTH + 1];

    if (read_file(s->opt.file, &s->data, &s->data_len, err, sizeof(err)) != 0) {
        fprintf(stderr, "clay-function send: %s\n", err);
        return -1;
    }
    /* The journal belongs to these exact bytes: rows are keyed by their index in them. */
    SHA256((const uint8_t *)s->data, s->data_len, md);
    cw_hex_encode(input_id, md, sizeof(md));
    if (load_rows(s, err, sizeof(err)) != 0) {
        fprintf(stderr, "clay-function send: %s: %s\n", s->opt.file, err);
        return -1;
    }
    if (s->opt.journal_path == NULL) {
        cw_buf_appendf(jpath, "%s.journal", s->opt.file);
        s->opt.journal_path = jpath->base;
    }
    if (s->opt.dead_path == NULL) {
        cw_buf_appendf(dpath, "%s.dead-letter.ndjson", s->opt.file);
        s->opt.dead_path = dpath->base;
    }
    if ((s->j = cw_journal_open(s->opt.journal_path, input_id, s->num_rows, err, sizeof(err))) == NULL) {
        fprintf(stderr, "clay-function send: %s\n", err);
        return -1;
    }
    s->jurl = cw_calloc(s->opt.urls.num_urls, sizeof(*s->jurl));
    s->warned = cw_calloc(s->opt.urls.num_urls, 1);
    for (size_t u = 0; u != s->opt.urls.num_urls; ++u) {
        s->jurl[u] = cw_journal_url(s->j, s->opt.urls.ids[u]);
    }
    return 0;
}

/* send_all turns the loop until every queued row is answered or the run
 * stopped and nothing is in flight. Call with s->loop initialised. */
static void send_all(cw_send_t *s)
{
    s->client = cw_clay_client_new(s->http, s->opt.auth_token, s->opt.timeout_ms);
    cw_bucket_init(&s->bucket, s->opt.rate, s->opt.burst, cw_now_us());
    s->pump_timer.data = s;
    cw_send_progress_start(s);

    /* The first Ctrl-C stops gracefully; SA_RESETHAND makes a second one quit at once. */
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    pump(s);
    while (!s->finished) {
        cw_loop_run_once(&s->loop);
        if (got_signal != 0 && !s->interrupted) {
            s->interrupted = 1;
            stop(s, 130, "interrupted: rerun the same command to resume");
            if (s->inflight != 0) {
                cw_send_say(s, "interrupted: waiting for the %zu rows in flight (press Ctrl-C again to quit at once)", s->inflight);
            }
            check_finished(s);
        }
    }
    cw_timer_stop(&s->pump_timer);
    cw_timer_stop(&s->progress_timer);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

/* report prints the stop message and the summary. Returns the exit code. */
static int report(cw_send_t *s)
{
    if (s->bar == 1) {
        cw_send_progress_draw(s, 1);
    }
    double elapsed = (double)(cw_now_ms() - s->start_ms) / 1000;
    if (!s->stopping) {
        s->exit_code = s->j->num_dead != 0 ? 1 : 0;
    }
    if (s->no_webhook) {
        size_t len = strlen(s->stop_msg);
        snprintf(s->stop_msg + len, sizeof(s->stop_msg) - len, " the %zu rows not sent yet will follow", cw_send_remaining(s));
    }
    if (s->stop_msg[0] != '\0') {
        fprintf(stderr, "clay-function send: %s\n", s->stop_msg);
    }
    cw_send_print_summary(s, elapsed);
    int rc = s->exit_code;
    if (s->opt.summary_path != NULL && cw_send_write_summary_json(s, elapsed) != 0 && rc == 0) {
        rc = 1;
    }
    return rc;
}

static int run(cw_send_t *s)
{
    cw_buf_t jpath = CW_BUF_INIT, dpath = CW_BUF_INIT;
    int rc = 2, loop_ready = 0;

    if (open_input(s, &jpath, &dpath) != 0) {
        goto Exit;
    }
    cw_send_progress_init(s);
    s->start_ms = cw_now_ms();
    rc = 1;
    if (prepare(s) != 0) {
        fprintf(stderr, "clay-function send: %s\n", s->stop_msg);
        goto Exit;
    }
    if (s->queue_len != 0) {
        if ((s->http = cw_http_new()) == NULL) {
            fprintf(stderr, "clay-function send: cannot initialise the HTTP client\n");
            goto Exit;
        }
        cw_loop_init(&s->loop);
        loop_ready = 1;
        send_all(s);
    }
    rc = report(s);

Exit:
    if (s->http != NULL) {
        cw_http_free(s->http); /* nothing is outstanding: the loop ran until no row was in flight */
    }
    cw_clay_client_free(s->client);
    if (loop_ready) {
        cw_loop_dispose(&s->loop, 1);
    }
    free_send(s);
    cw_buf_free(&jpath);
    cw_buf_free(&dpath);
    return rc;
}

int cw_send_main(int argc, char **argv)
{
    static cw_send_t s;
    int help = 0;
    char err[512];
    memset(&s, 0, sizeof(s));
    if (cw_send_parse_options(&s.opt, argc, argv, &help, err, sizeof(err)) != 0) {
        fprintf(stderr, "clay-function send: %s (see clay-function send --help)\n", err);
        cw_clay_urls_free(&s.opt.urls);
        return 2;
    }
    if (help) {
        cw_send_print_usage(stdout);
        cw_clay_urls_free(&s.opt.urls);
        return 0;
    }
    return run(&s);
}
