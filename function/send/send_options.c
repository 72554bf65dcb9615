/*
 * send_options.c: the command line of `clay-function send`. The environment
 * gives the defaults (the same variables the relay reads); flags override it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cw/env.h"
#include "cw/opt.h"
#include "cw/util.h"
#include "send.h"

static const char usage_head[] =
    "usage: clay-function send --file FILE [options]\n"
    "\n"
    "Sends every row of FILE (NDJSON, a JSON array of objects, or CSV with a header row) to Clay table\n"
    "webhooks, paced, with a journal so that rerunning the same command resumes where it stopped.\n"
    "\n";

static const char usage_tail[] =
    "\n"
    "Exit status: 0 every row acknowledged; 1 some rows dead-lettered, or the run stopped (webhooks gone or\n"
    "at their limit, Clay unreachable, token refused); 2 usage or configuration error; 130 interrupted.\n"
    "Rerun the same command to resume: acknowledged and dead-lettered rows are not sent again.\n"
    "\n"
    "The dead-letter file has one JSON object per line: {\"row\",\"line\",\"reason\",\"status\" (Clay's, if it\n"
    "answered), \"data\" (the row) or \"raw\" (the bad input's text)}.\n"
    "Quota: submissions per webhook are counted in the journal, so they cover this file's runs only; when\n"
    "other files or the relay also feed a webhook, lower --limit to leave them room.\n";

/* The column where the help text of the options starts. */
#define HELP_COLUMN 26
#define NUM_OPTS 17

/* parse_t is what the option table writes besides the options themselves. */
typedef struct st_parse_t {
    cw_send_options_t *o;
    int urls_given;
    int progress; /* cw_send_progress_t, as an index of progress_modes */
} parse_t;

static const char *const in_doubt_modes[] = {"resend", "dead-letter", NULL};
static const char *const progress_modes[] = {"auto", "bar", "plain", "off", NULL}; /* in cw_send_progress_t's order */

static int format_cb(const cw_opt_t *opt, const char *value, char *err, size_t err_size)
{
    return cw_rows_parse_format(value, opt->target);
}

static int webhook_url_cb(const cw_opt_t *opt, const char *value, char *err, size_t err_size)
{
    return cw_clay_urls_add(opt->target, value, strlen(value));
}

/* make_opts fills |opts| with the command line's table, whose targets are in |p|. */
static void make_opts(cw_opt_t opts[NUM_OPTS], parse_t *p)
{
    cw_send_options_t *o = p->o;
    const cw_opt_t table[NUM_OPTS] = {
        {.name = "--file",
         .type = CW_OPT_STRING,
         .target = &o->file,
         .flags = CW_OPT_REQUIRED,
         .metavar = "FILE",
         .help = "the rows (required)"},
        {.name = "--format",
         .type = CW_OPT_CUSTOM,
         .cb = format_cb,
         .target = &o->format,
         .want = "auto, ndjson, json or csv",
         .metavar = "F",
         .help = "auto (default: '[' JSON array, '{' NDJSON, else CSV), ndjson, json, csv"},
        {.name = "--webhook-url",
         .type = CW_OPT_CUSTOM,
         .cb = webhook_url_cb,
         .target = &o->urls,
         .given = &p->urls_given,
         .want = "an http:// or https:// URL, each given once",
         .metavar = "URL",
         .help = "a Clay webhook URL; repeat for rotation (default: CLAY_WEBHOOK_URLS)"},
        {.name = "--auth-token",
         .type = CW_OPT_STRING,
         .target = &o->auth_token,
         .metavar = "T",
         .help = "sent as x-clay-webhook-auth (default: CLAY_WEBHOOK_AUTH)"},
        {.name = "--rate",
         .type = CW_OPT_DOUBLE,
         .target = &o->rate,
         .min = 0.01,
         .max = 100000,
         .metavar = "R",
         .help = "rows per second (default: CLAY_RATE, 10)"},
        {.name = "--burst",
         .type = CW_OPT_DOUBLE,
         .target = &o->burst,
         .min = 1,
         .max = 100000,
         .metavar = "B",
         .help = "burst of rows (default: CLAY_BURST, 20)"},
        {.name = "--limit",
         .type = CW_OPT_U64,
         .target = &o->limit,
         .min = 1,
         .max = 100000000,
         .metavar = "N",
         .help = "submissions per webhook URL before rotating (default: CLAY_WEBHOOK_LIMIT, 50000)"},
        {.name = "--table-rows-limit",
         .type = CW_OPT_U64,
         .target = &o->table_rows_limit,
         .min = 1,
         .max = 100000000,
         .metavar = "N",
         .help = "rows the table may hold, all webhooks together; the run stops there\n(default 50000: past it Clay silently "
                 "drops rows)"},
        {.name = "--journal",
         .type = CW_OPT_STRING,
         .target = &o->journal_path,
         .metavar = "PATH",
         .help = "the journal (default: FILE.journal)"},
        {.name = "--dead-letter",
         .type = CW_OPT_STRING,
         .target = &o->dead_path,
         .metavar = "PATH",
         .help = "rows that could not be delivered, one JSON line each with the reason\n(default: FILE.dead-letter.ndjson)"},
        {.name = "--summary-json",
         .type = CW_OPT_STRING,
         .target = &o->summary_path,
         .metavar = "PATH",
         .help = "also write the final summary as JSON"},
        {.name = "--concurrency",
         .type = CW_OPT_U64,
         .target = &o->concurrency,
         .min = 1,
         .max = 64,
         .metavar = "N",
         .help = "rows in flight at once (default 4)"},
        {.name = "--max-attempts",
         .type = CW_OPT_U64,
         .target = &o->max_attempts,
         .min = 1,
         .max = 100,
         .metavar = "N",
         .help = "attempts of a row on 5xx or transport errors before the run stops (default 6)"},
        {.name = "--timeout-ms",
         .type = CW_OPT_U64,
         .target = &o->timeout_ms,
         .min = 100,
         .max = 600000,
         .metavar = "MS",
         .help = "one attempt's timeout (default 30000)"},
        {.name = "--in-doubt",
         .type = CW_OPT_ENUM,
         .target = &o->in_doubt_dead,
         .choices = in_doubt_modes,
         .metavar = "resend|dead-letter",
         .help = "rows in flight when a previous run was killed: send again (default; Clay may\n"
                 "then hold one duplicate) or list them in the dead-letter file"},
        {.name = "--progress",
         .type = CW_OPT_ENUM,
         .target = &p->progress,
         .choices = progress_modes,
         .metavar = "auto|bar|plain|off",
         .help = "a progress bar on a terminal, else a line every --progress-interval seconds"},
        {.name = "--progress-interval",
         .type = CW_OPT_U64,
         .target = &o->progress_interval_s,
         .min = 1,
         .max = 86400,
         .metavar = "S",
         .help = "seconds between plain progress lines (default 10)"},
    };
    memcpy(opts, table, sizeof(table));
}

void cw_send_print_usage(FILE *fp)
{
    cw_send_options_t o;
    parse_t p = {.o = &o};
    cw_opt_t opts[NUM_OPTS];
    make_opts(opts, &p);
    cw_opt_print_help(fp, usage_head, opts, NUM_OPTS, HELP_COLUMN, usage_tail);
}

int cw_send_parse_options(cw_send_options_t *o, int argc, char **argv, int *out_help, char *err, size_t err_size)
{
    cw_env_t env = {{0}, 0};
    uint64_t v;
    const char *env_urls = cw_env_str("CLAY_WEBHOOK_URLS", NULL);
    parse_t p = {.o = o, .progress = CW_SEND_PROGRESS_AUTO};
    cw_opt_t opts[NUM_OPTS];

    *out_help = 0;
    *o = (cw_send_options_t){
        .format = CW_ROWS_AUTO, .concurrency = 4, .max_attempts = 6, .timeout_ms = 30000, .progress_interval_s = 10};
    o->table_rows_limit = CW_CLAY_TABLE_ROWS_LIMIT;
    o->auth_token = cw_env_str("CLAY_WEBHOOK_AUTH", NULL);
    cw_env_u64(&env, "CLAY_WEBHOOK_LIMIT", CW_CLAY_DEFAULT_LIMIT, 1, 100000000, &o->limit);
    if (cw_env_u64(&env, "CLAY_RATE", 10, 1, 100000, &v) == 0) {
        o->rate = (double)v;
    }
    if (cw_env_u64(&env, "CLAY_BURST", 20, 1, 100000, &v) == 0) {
        o->burst = (double)v;
    }
    if (env.failed) {
        snprintf(err, err_size, "%s", env.error);
        return -1;
    }

    make_opts(opts, &p);
    if (cw_opt_parse(opts, NUM_OPTS, argc, argv, out_help, err, err_size) != 0) {
        return -1;
    }
    if (*out_help) {
        return 0;
    }
    o->progress = (cw_send_progress_t)p.progress;
    if (!p.urls_given && env_urls != NULL && cw_clay_urls_parse(&o->urls, env_urls) != 0) {
        snprintf(err, err_size, "CLAY_WEBHOOK_URLS: every entry must be a distinct http:// or https:// URL");
        return -1;
    }
    if (o->urls.num_urls == 0) {
        snprintf(err, err_size, "no webhook URL: pass --webhook-url (repeat it for rotation) or set CLAY_WEBHOOK_URLS");
        return -1;
    }
    /* Rows are leads (PII) and the auth token rides along: never in clear beyond loopback by accident. */
    int allow_insecure = 0;
    cw_env_bool(&env, "ALLOW_INSECURE_HTTP", 0, &allow_insecure);
    for (size_t i = 0; i != o->urls.num_urls && !env.failed; ++i) {
        cw_env_check_cleartext(&env, p.urls_given ? "--webhook-url" : "CLAY_WEBHOOK_URLS", o->urls.urls[i], strlen(o->urls.urls[i]),
                               0, allow_insecure);
    }
    if (env.failed) {
        snprintf(err, err_size, "%s", env.error);
        return -1;
    }
    return 0;
}
