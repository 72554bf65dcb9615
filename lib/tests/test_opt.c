/*
 * test_opt.c: the table-driven option parser: both spellings of a value, flags,
 * every type with its range, lists, callbacks, positional arguments, "--",
 * the error lines, required options, and the help text made from the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cw/opt.h"
#include "cw/util.h"

typedef struct st_cfg_t {
    int verbose;
    const char *name;
    uint64_t limit;
    size_t workers;
    unsigned attempts;
    int64_t skew;
    double rate;
    int mode;
    const char *secrets[2];
    size_t num_secrets;
    const char *url;
    int url_given;
    const char *paths[4];
    size_t num_paths;
    int even_calls;
} cfg_t;

static const char *const modes[] = {"auto", "bar", "plain", NULL};

static int even_cb(const cw_opt_t *opt, const char *value, char *err, size_t err_size)
{
    cfg_t *cfg = opt->data;
    ++cfg->even_calls;
    if (strcmp(value, "odd") == 0) {
        return -1; /* the parser says what is wanted */
    }
    if (strcmp(value, "explain") == 0) {
        snprintf(err, err_size, "%s: a reason of its own", opt->name);
        return -1;
    }
    return 0;
}

#define NUM_OPTS 12

static void make_opts(cw_opt_t opts[NUM_OPTS], cfg_t *c)
{
    const cw_opt_t table[NUM_OPTS] = {
        {.name = "--verbose", .alias = "-v", .type = CW_OPT_FLAG, .target = &c->verbose, .help = "say more"},
        {.name = "--name",
         .type = CW_OPT_STRING,
         .target = &c->name,
         .flags = CW_OPT_NONEMPTY | CW_OPT_REQUIRED,
         .metavar = "N",
         .help = "a name (required)"},
        {.name = "--limit", .type = CW_OPT_U64, .target = &c->limit, .min = 1, .max = 100, .metavar = "N", .help = "1 to 100"},
        {.name = "--workers",
         .type = CW_OPT_SIZE,
         .target = &c->workers,
         .min = 1,
         .max = 64,
         .metavar = "N",
         .help = "threads\n(continued)"},
        {.name = "--attempts", .type = CW_OPT_UINT, .target = &c->attempts, .min = 0, .max = 9, .metavar = "N"},
        {.name = "--skew", .type = CW_OPT_I64, .target = &c->skew, .min = -100, .max = 100, .want = "a whole number of seconds"},
        {.name = "--rate",
         .type = CW_OPT_DOUBLE,
         .target = &c->rate,
         .min = 0.1,
         .max = 1000,
         .metavar = "R",
         .help = "per second"},
        {.name = "--mode",
         .type = CW_OPT_ENUM,
         .target = &c->mode,
         .choices = modes,
         .metavar = "auto|bar|plain|off-and-more",
         .help = "how"},
        {.name = "--secret", .type = CW_OPT_LIST, .target = c->secrets, .num = &c->num_secrets, .max = 2, .flags = CW_OPT_NONEMPTY},
        {.name = "--url",
         .type = CW_OPT_CUSTOM,
         .cb = cw_opt_http_url_cb,
         .target = &c->url,
         .given = &c->url_given,
         .want = "an http:// or https:// URL",
         .usage = "--url U|-u",
         .help = "where"},
        {.name = "--even", .type = CW_OPT_CUSTOM, .cb = even_cb, .data = c, .want = "even"},
        {.name = "PATH", .type = CW_OPT_LIST, .target = c->paths, .num = &c->num_paths, .max = 4},
    };
    memcpy(opts, table, sizeof(table));
}

/* parse runs the table over a NULL-terminated argument list (argv[0] is added). Returns cw_opt_parse's result. */
static int parse(cfg_t *c, int *help, char *err, size_t err_size, ...)
{
    char *argv[32] = {"prog"};
    int argc = 1;
    va_list ap;
    va_start(ap, err_size);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;) {
        argv[argc++] = a;
    }
    va_end(ap);
    cw_opt_t opts[NUM_OPTS];
    memset(c, 0, sizeof(*c));
    make_opts(opts, c);
    return cw_opt_parse(opts, NUM_OPTS, argc, argv, help, err, err_size);
}

static void test_values(void **state)
{
    cfg_t c;
    int help = -1;
    char err[256];
    assert_int_equal(parse(&c, &help, err, sizeof(err), "--name", "x", "--limit=7", "--workers", "3", "--attempts=0", "--skew",
                           "-20", "--rate", "0.5", "--mode=plain", "-v", "--secret", "a", "--secret=b", "--url", "https://h/p",
                           "--even", "2", "p1", "-", NULL),
                     0);
    assert_int_equal(help, 0);
    assert_string_equal(err, "");
    assert_string_equal(c.name, "x");
    assert_int_equal(c.limit, 7);
    assert_int_equal(c.workers, 3);
    assert_int_equal(c.attempts, 0);
    assert_int_equal(c.skew, -20);
    assert_true(c.rate == 0.5);
    assert_int_equal(c.mode, 2);
    assert_int_equal(c.verbose, 1);
    assert_int_equal(c.num_secrets, 2);
    assert_string_equal(c.secrets[0], "a");
    assert_string_equal(c.secrets[1], "b");
    assert_string_equal(c.url, "https://h/p");
    assert_int_equal(c.url_given, 1);
    assert_int_equal(c.even_calls, 1);
    assert_int_equal(c.num_paths, 2);
    assert_string_equal(c.paths[0], "p1");
    assert_string_equal(c.paths[1], "-"); /* a lone dash is an argument */

    /* The last value wins; "--" makes the rest positional, options included; a value may start with '-'. */
    assert_int_equal(parse(&c, &help, err, sizeof(err), "--name", "a", "--name", "-b", "--limit", "1", "--limit", "100", "--",
                           "--verbose", NULL),
                     0);
    assert_string_equal(c.name, "-b");
    assert_int_equal(c.limit, 100);
    assert_int_equal(c.verbose, 0);
    assert_int_equal(c.num_paths, 1);
    assert_string_equal(c.paths[0], "--verbose");
    assert_int_equal(c.url_given, 0);
}

static void test_help_stops(void **state)
{
    cfg_t c;
    int help = 0;
    char err[256];
    /* --help wins over a missing required option and what follows it, not over an earlier error */
    assert_int_equal(parse(&c, &help, err, sizeof(err), "--limit", "5", "--help", "--bogus", NULL), 0);
    assert_int_equal(help, 1);
    assert_int_equal(c.limit, 5);
    assert_int_equal(parse(&c, &help, err, sizeof(err), "-h", NULL), 0);
    assert_int_equal(help, 1);
    assert_int_equal(parse(&c, &help, err, sizeof(err), "--bogus", "--help", NULL), -1);
    assert_int_equal(help, 0);
    /* as a value, --help is a value */
    assert_int_equal(parse(&c, &help, err, sizeof(err), "--name", "--help", NULL), 0);
    assert_int_equal(help, 0);
    assert_string_equal(c.name, "--help");
}

static void expect_error(const char *want, ...)
{
    char *argv[32] = {"prog"};
    int argc = 1;
    va_list ap;
    va_start(ap, want);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;) {
        argv[argc++] = a;
    }
    va_end(ap);
    cfg_t c = {0};
    cw_opt_t opts[NUM_OPTS];
    make_opts(opts, &c);
    int help = -1;
    char err[256];
    assert_int_equal(cw_opt_parse(opts, NUM_OPTS, argc, argv, &help, err, sizeof(err)), -1);
    assert_string_equal(err, want);
}

static void test_errors(void **state)
{
    expect_error("unknown option '--bogus'", "--name", "x", "--bogus", NULL);
    expect_error("unknown option '--bogus'", "--name", "x", "--bogus=1", NULL);
    expect_error("unknown option '-x'", "--name", "x", "-x", NULL);
    expect_error("--limit needs a value", "--name", "x", "--limit", NULL);
    expect_error("--verbose takes no value", "--name", "x", "--verbose=1", NULL);
    expect_error("--name is required", "--limit", "3", NULL);
    expect_error("--name: must be a non-empty value, not ''", "--name", "", NULL);
    expect_error("--name: must be a non-empty value, not ''", "--name=", NULL);
    expect_error("--limit: must be an integer between 1 and 100, not '0'", "--name", "x", "--limit", "0", NULL);
    expect_error("--limit: must be an integer between 1 and 100, not '101'", "--name", "x", "--limit", "101", NULL);
    expect_error("--limit: must be an integer between 1 and 100, not '5x'", "--name", "x", "--limit", "5x", NULL);
    expect_error("--workers: must be an integer between 1 and 64, not '-1'", "--name", "x", "--workers", "-1", NULL);
    expect_error("--attempts: must be an integer between 0 and 9, not '10'", "--name", "x", "--attempts", "10", NULL);
    expect_error("--skew: must be a whole number of seconds, not '101'", "--name", "x", "--skew", "101", NULL);
    expect_error("--skew: must be a whole number of seconds, not ''", "--name", "x", "--skew", "", NULL);
    expect_error("--rate: must be a number between 0.1 and 1000, not '0'", "--name", "x", "--rate", "0", NULL);
    expect_error("--rate: must be a number between 0.1 and 1000, not 'nan'", "--name", "x", "--rate", "nan", NULL);
    expect_error("--rate: must be a number between 0.1 and 1000, not 'inf'", "--name", "x", "--rate", "inf", NULL);
    expect_error("--rate: must be a number between 0.1 and 1000, not ''", "--name", "x", "--rate", "", NULL);
    expect_error("--mode: must be auto, bar or plain, not 'off'", "--name", "x", "--mode", "off", NULL);
    expect_error("too many --secret (at most 2)", "--name", "x", "--secret", "a", "--secret", "b", "--secret", "c", NULL);
    expect_error("--secret: must be a non-empty value, not ''", "--name", "x", "--secret", "", NULL);
    expect_error("--url: must be an http:// or https:// URL, not 'ftp://x'", "--name", "x", "--url", "ftp://x", NULL);
    expect_error("--even: must be even, not 'odd'", "--name", "x", "--even", "odd", NULL);
    expect_error("--even: a reason of its own", "--name", "x", "--even", "explain", NULL);
    expect_error("too many PATH (at most 4)", "--name", "x", "a", "b", "c", "d", "e", NULL);
}

static void test_no_positional(void **state)
{
    int flag = 0, help;
    char err[128];
    const cw_opt_t opts[] = {{.name = "--flag", .type = CW_OPT_FLAG, .target = &flag}};
    char *argv[] = {"prog", "--flag", "stray", NULL};
    assert_int_equal(cw_opt_parse(opts, CW_ARRAY_SIZE(opts), 3, argv, &help, err, sizeof(err)), -1);
    assert_string_equal(err, "unexpected argument 'stray'");
    assert_int_equal(cw_opt_parse(opts, CW_ARRAY_SIZE(opts), 2, argv, &help, err, sizeof(err)), 0);
    assert_int_equal(flag, 1);

    /* Bounds past what a double holds exactly still parse the whole u64 range. */
    uint64_t seed = 0;
    const cw_opt_t seeds[] = {{.name = "--seed", .type = CW_OPT_U64, .target = &seed, .min = 0, .max = (double)UINT64_MAX}};
    char *argv2[] = {"prog", "--seed=18446744073709551615", NULL};
    assert_int_equal(cw_opt_parse(seeds, 1, 2, argv2, &help, err, sizeof(err)), 0);
    assert_true(seed == UINT64_MAX);
}

static void test_help_text(void **state)
{
    cfg_t c = {0};
    cw_opt_t opts[NUM_OPTS];
    make_opts(opts, &c);
    cw_buf_t buf = CW_BUF_INIT;
    cw_opt_help(&buf, opts, NUM_OPTS, 20);
    assert_string_equal(buf.base, "  --verbose         say more\n"
                                  "  --name N          a name (required)\n"
                                  "  --limit N         1 to 100\n"
                                  "  --workers N       threads\n"
                                  "                    (continued)\n"
                                  "  --rate R          per second\n"
                                  "  --mode auto|bar|plain|off-and-more\n"
                                  "                    how\n"
                                  "  --url U|-u        where\n");
    cw_buf_free(&buf);

    /* Every option with help text appears in it: the help cannot forget one. */
    cw_buf_t all = CW_BUF_INIT;
    cw_opt_help(&all, opts, NUM_OPTS, 20);
    for (size_t i = 0; i != NUM_OPTS; ++i) {
        if (opts[i].help != NULL) {
            assert_non_null(strstr(all.base, opts[i].usage != NULL ? opts[i].usage : opts[i].name));
        }
    }
    cw_buf_free(&all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),        cmocka_unit_test(test_help_stops), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_no_positional), cmocka_unit_test(test_help_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
