/*
 * send_options.c: the command line of `clay-function send`. The environment
 * gives the defaults (the same variables the relay reads); flags override it.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cw/env.h"
#include "cw/util.h"
#include "send.h"

const char cw_send_usage[] =
    "usage: clay-function send --file FILE [options]\n"
    "\n"
    "Sends every row of FILE (NDJSON, a JSON array of objects, or CSV with a header row) to Clay table\n"
    "webhooks, paced, with a journal so that rerunning the same command resumes where it stopped.\n"
    "\n"
    "  --file FILE             the rows (required)\n"
    "  --format F              auto (default: '[' JSON array, '{' NDJSON, else CSV), ndjson, json, csv\n"
    "  --webhook-url URL       a Clay webhook URL; repeat for rotation (default: CLAY_WEBHOOK_URLS)\n"
    "  --auth-token T          sent as x-clay-webhook-auth (default: CLAY_WEBHOOK_AUTH)\n"
    "  --rate R                rows per second (default: CLAY_RATE, 10)\n"
    "  --burst B               burst of rows (default: CLAY_BURST, 20)\n"
    "  --limit N               submissions per webhook URL before rotating (default: CLAY_WEBHOOK_LIMIT, 50000)\n"
    "  --journal PATH          the journal (default: FILE.journal)\n"
    "  --dead-letter PATH      rows that could not be delivered, one JSON line each with the reason\n"
    "                          (default: FILE.dead-letter.ndjson)\n"
    "  --summary-json PATH     also write the final summary as JSON\n"
    "  --concurrency N         rows in flight at once (default 4)\n"
    "  --max-attempts N        attempts of a row on 5xx or transport errors before the run stops (default 6)\n"
    "  --timeout-ms MS         one attempt's timeout (default 30000)\n"
    "  --in-doubt resend|dead-letter\n"
    "                          rows in flight when a previous run was killed: send again (default; Clay may\n"
    "                          then hold one duplicate) or list them in the dead-letter file\n"
    "  --progress auto|bar|plain|off\n"
    "                          a progress bar on a terminal, else a line every --progress-interval seconds\n"
    "  --progress-interval S   seconds between plain progress lines (default 10)\n"
    "\n"
    "Exit status: 0 every row acknowledged; 1 some rows dead-lettered, or the run stopped (webhooks gone or\n"
    "at their limit, Clay unreachable, token refused); 2 usage or configuration error; 130 interrupted.\n"
    "Rerun the same command to resume: acknowledged and dead-lettered rows are not sent again.\n"
    "\n"
    "The dead-letter file has one JSON object per line: {\"row\",\"line\",\"reason\",\"status\" (Clay's, if it\n"
    "answered), \"data\" (the row) or \"raw\" (the bad input's text)}.\n"
    "Quota: submissions per webhook are counted in the journal, so they cover this file's runs only; when\n"
    "other files or the relay also feed a webhook, lower --limit to leave them room.\n";

static int usage_error(const char *what)
{
    fprintf(stderr, "clay-function send: %s (see clay-function send --help)\n", what);
    return 2;
}

static int parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

int cw_send_parse_options(cw_send_options_t *o, int argc, char **argv, int *out_help)
{
    char msg[512];
    cw_env_t env = {{0}, 0};
    uint64_t v;
    const char *env_urls = cw_env_str("CLAY_WEBHOOK_URLS", NULL);
    int urls_given = 0;

    *o = (cw_send_options_t){
        .format = CW_ROWS_AUTO, .concurrency = 4, .max_attempts = 6, .timeout_ms = 30000, .progress_interval_s = 10};
    o->auth_token = cw_env_str("CLAY_WEBHOOK_AUTH", NULL);
    cw_env_u64(&env, "CLAY_WEBHOOK_LIMIT", CW_CLAY_DEFAULT_LIMIT, 1, 100000000, &o->limit);
    if (cw_env_u64(&env, "CLAY_RATE", 10, 1, 100000, &v) == 0) {
        o->rate = (double)v;
    }
    if (cw_env_u64(&env, "CLAY_BURST", 20, 1, 100000, &v) == 0) {
        o->burst = (double)v;
    }
    if (env.failed) {
        return usage_error(env.error);
    }

    for (int i = 1; i < argc; ++i) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            *out_help = 1;
            return 0;
        }
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(msg, sizeof(msg), "unexpected argument '%s'", arg);
            return usage_error(msg);
        }
        /* every option takes a value: "--name value" or "--name=value" */
        static const char *const known[] = {"--file",        "--format",       "--webhook-url", "--auth-token",
                                            "--rate",        "--burst",        "--limit",       "--journal",
                                            "--dead-letter", "--summary-json", "--concurrency", "--max-attempts",
                                            "--timeout-ms",  "--in-doubt",     "--progress",    "--progress-interval"};
        char name[64];
        const char *value;
        const char *eq = strchr(arg, '=');
        snprintf(name, sizeof(name), "%.*s", (int)(eq != NULL ? (size_t)(eq - arg) : strlen(arg)), arg);
        int is_known = 0;
        for (size_t k = 0; k != CW_ARRAY_SIZE(known); ++k) {
            is_known |= strcmp(name, known[k]) == 0;
        }
        if (!is_known) {
            snprintf(msg, sizeof(msg), "unknown option '%.100s'", name);
            return usage_error(msg);
        }
        if (eq != NULL) {
            value = eq + 1;
        } else {
            if (i + 1 == argc) {
                snprintf(msg, sizeof(msg), "%s needs a value", arg);
                return usage_error(msg);
            }
            value = argv[++i];
        }
        size_t vlen = strlen(value);
        int bad = 0;
        if (strcmp(name, "--file") == 0) {
            o->file = value;
        } else if (strcmp(name, "--format") == 0) {
            bad = cw_rows_parse_format(value, &o->format) != 0;
        } else if (strcmp(name, "--webhook-url") == 0) {
            if (!urls_given) {
                urls_given = 1;
            }
            bad = cw_clay_urls_add(&o->urls, value, vlen) != 0;
        } else if (strcmp(name, "--auth-token") == 0) {
            o->auth_token = value;
        } else if (strcmp(name, "--rate") == 0) {
            bad = parse_double(value, 0.01, 100000, &o->rate) != 0;
        } else if (strcmp(name, "--burst") == 0) {
            bad = parse_double(value, 1, 100000, &o->burst) != 0;
        } else if (strcmp(name, "--limit") == 0) {
            bad = cw_parse_u64(value, vlen, 1, 100000000, &o->limit) != 0;
        } else if (strcmp(name, "--journal") == 0) {
            o->journal_path = value;
        } else if (strcmp(name, "--dead-letter") == 0) {
            o->dead_path = value;
        } else if (strcmp(name, "--summary-json") == 0) {
            o->summary_path = value;
        } else if (strcmp(name, "--concurrency") == 0) {
            bad = cw_parse_u64(value, vlen, 1, 64, &o->concurrency) != 0;
        } else if (strcmp(name, "--max-attempts") == 0) {
            bad = cw_parse_u64(value, vlen, 1, 100, &o->max_attempts) != 0;
        } else if (strcmp(name, "--timeout-ms") == 0) {
            bad = cw_parse_u64(value, vlen, 100, 600000, &o->timeout_ms) != 0;
        } else if (strcmp(name, "--in-doubt") == 0) {
            bad = strcmp(value, "resend") != 0 && strcmp(value, "dead-letter") != 0;
            o->in_doubt_dead = strcmp(value, "dead-letter") == 0;
        } else if (strcmp(name, "--progress") == 0) {
            static const char *const modes[] = {"auto", "bar", "plain", "off"};
            bad = 1;
            for (size_t m = 0; m != CW_ARRAY_SIZE(modes); ++m) {
                if (strcmp(value, modes[m]) == 0) {
                    o->progress = (cw_send_progress_t)m;
                    bad = 0;
                }
            }
        } else if (strcmp(name, "--progress-interval") == 0) {
            bad = cw_parse_u64(value, vlen, 1, 86400, &o->progress_interval_s) != 0;
        } else {
            snprintf(msg, sizeof(msg), "unknown option '%s'", name);
            return usage_error(msg);
        }
        if (bad) {
            snprintf(msg, sizeof(msg), "%s: bad value '%.200s'", name, value);
            return usage_error(msg);
        }
    }
    if (o->file == NULL) {
        return usage_error("--file is required");
    }
    if (!urls_given && env_urls != NULL && cw_clay_urls_parse(&o->urls, env_urls) != 0) {
        return usage_error("CLAY_WEBHOOK_URLS: every entry must be a distinct http:// or https:// URL");
    }
    if (o->urls.num_urls == 0) {
        return usage_error("no webhook URL: pass --webhook-url (repeat it for rotation) or set CLAY_WEBHOOK_URLS");
    }
    return 0;
}
