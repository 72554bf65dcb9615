/*
 * opt.c: the table-driven command-line parser (opt.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cw/opt.h"

/* u64_bound converts a table bound to uint64_t: a double cannot hold UINT64_MAX exactly, and converting
 * 2^64 back is undefined, so clamp. */
static uint64_t u64_bound(double v)
{
    if (!(v > 0)) {
        return 0;
    }
    return v >= 0x1p64 ? UINT64_MAX : (uint64_t)v;
}

static int is_positional(const cw_opt_t *opt)
{
    return opt->name[0] != '-';
}

/* say_want writes what |opt| accepts ("an integer between 1 and 64") into |out|. */
static void say_want(const cw_opt_t *opt, char *out, size_t out_size)
{
    if (opt->want != NULL) {
        snprintf(out, out_size, "%s", opt->want);
        return;
    }
    switch (opt->type) {
    case CW_OPT_U64:
    case CW_OPT_SIZE:
    case CW_OPT_UINT:
        snprintf(out, out_size, "an integer between %" PRIu64 " and %" PRIu64, u64_bound(opt->min), u64_bound(opt->max));
        return;
    case CW_OPT_I64:
        snprintf(out, out_size, "an integer between %.0f and %.0f", opt->min, opt->max);
        return;
    case CW_OPT_DOUBLE:
        snprintf(out, out_size, "a number between %g and %g", opt->min, opt->max);
        return;
    case CW_OPT_ENUM: {
        size_t used = 0, n = 0;
        while (opt->choices[n] != NULL) {
            ++n;
        }
        out[0] = '\0';
        for (size_t i = 0; i != n && used < out_size; ++i) {
            const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
            int w = snprintf(out + used, out_size - used, "%s%s", sep, opt->choices[i]);
            used += w > 0 ? (size_t)w : 0;
        }
        return;
    }
    case CW_OPT_STRING:
    case CW_OPT_LIST:
        snprintf(out, out_size, "a non-empty value");
        return;
    case CW_OPT_FLAG:
    case CW_OPT_CUSTOM:
        break;
    }
    snprintf(out, out_size, "a valid value");
}

static int parse_int_range(const cw_opt_t *opt, const char *value, uint64_t *out)
{
    return cw_parse_u64(value, strlen(value), u64_bound(opt->min), u64_bound(opt->max), out);
}

static int parse_i64(const char *value, double min, double max, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (*value == '\0' || errno != 0 || *end != '\0' || (double)v < min || (double)v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_double(const char *value, double min, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || errno != 0 || *end != '\0' || !isfinite(v) || !(v >= min && v <= max)) {
        return -1;
    }
    *out = v;
    return 0;
}

/* store puts |value| into |opt|'s target. Returns 0, or -1 with the error line in |err|. */
static int store(const cw_opt_t *opt, const char *value, char *err, size_t err_size)
{
    uint64_t u;
    int bad = 0;
    switch (opt->type) {
    case CW_OPT_FLAG:
        *(int *)opt->target = 1;
        break;
    case CW_OPT_STRING:
        if ((bad = (opt->flags & CW_OPT_NONEMPTY) != 0 && *value == '\0') == 0) {
            *(const char **)opt->target = value;
        }
        break;
    case CW_OPT_U64:
    case CW_OPT_SIZE:
    case CW_OPT_UINT:
        if ((bad = parse_int_range(opt, value, &u) != 0) == 0) {
            if (opt->type == CW_OPT_U64) {
                *(uint64_t *)opt->target = u;
            } else if (opt->type == CW_OPT_SIZE) {
                *(size_t *)opt->target = (size_t)u;
            } else {
                *(unsigned *)opt->target = (unsigned)u;
            }
        }
        break;
    case CW_OPT_I64:
        bad = parse_i64(value, opt->min, opt->max, opt->target) != 0;
        break;
    case CW_OPT_DOUBLE:
        bad = parse_double(value, opt->min, opt->max, opt->target) != 0;
        break;
    case CW_OPT_ENUM:
        bad = 1;
        for (int i = 0; opt->choices[i] != NULL && bad; ++i) {
            if (strcmp(opt->choices[i], value) == 0) {
                *(int *)opt->target = i;
                bad = 0;
            }
        }
        break;
    case CW_OPT_LIST:
        if (*opt->num >= u64_bound(opt->max)) {
            snprintf(err, err_size, "too many %s (at most %" PRIu64 ")", opt->name, u64_bound(opt->max));
            return -1;
        }
        if ((bad = (opt->flags & CW_OPT_NONEMPTY) != 0 && *value == '\0') == 0) {
            ((const char **)opt->target)[(*opt->num)++] = value;
        }
        break;
    case CW_OPT_CUSTOM:
        if (err_size != 0) {
            err[0] = '\0';
        }
        if (opt->cb(opt, value, err, err_size) != 0) {
            if (err_size != 0 && err[0] != '\0') {
                return -1;
            }
            bad = 1;
        }
        break;
    }
    if (bad) {
        char want[256];
        say_want(opt, want, sizeof(want));
        snprintf(err, err_size, "%s: must be %s, not '%.200s'", opt->name, want, value);
        return -1;
    }
    if (opt->given != NULL) {
        *opt->given = 1;
    }
    return 0;
}

/* lookup finds the option spelled |name| (|len| bytes). Returns its index, or -1. */
static int lookup(const cw_opt_t *opts, size_t num_opts, const char *name, size_t len)
{
    for (size_t i = 0; i != num_opts; ++i) {
        const cw_opt_t *o = &opts[i];
        if (is_positional(o)) {
            continue;
        }
        if ((strlen(o->name) == len && memcmp(o->name, name, len) == 0) ||
            (o->alias != NULL && strlen(o->alias) == len && memcmp(o->alias, name, len) == 0)) {
            return (int)i;
        }
    }
    return -1;
}

int cw_opt_parse(const cw_opt_t *opts, size_t num_opts, int argc, char **argv, int *out_help, char *err, size_t err_size)
{
    unsigned char seen[CW_OPT_MAX] = {0};
    int positional = -1, only_positional = 0;

    *out_help = 0;
    if (err_size != 0) {
        err[0] = '\0';
    }
    if (num_opts > CW_OPT_MAX) {
        snprintf(err, err_size, "too many options in one table (at most %d)", CW_OPT_MAX);
        return -1;
    }
    for (size_t i = 0; i != num_opts; ++i) {
        if (is_positional(&opts[i])) {
            positional = (int)i;
        }
    }
    for (int i = 1; i < argc; ++i) {
        const char *arg = argv[i];
        if (!only_positional && strcmp(arg, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            if (positional < 0) {
                snprintf(err, err_size, "unexpected argument '%.200s'", arg);
                return -1;
            }
            if (store(&opts[positional], arg, err, err_size) != 0) {
                return -1;
            }
            seen[positional] = 1;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            *out_help = 1;
            return 0;
        }
        /* "--name=value"; a single-dash alias never carries its value after '='. */
        const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
        size_t name_len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        int k = lookup(opts, num_opts, arg, name_len);
        if (k < 0) {
            snprintf(err, err_size, "unknown option '%.*s'", (int)(name_len < 100 ? name_len : 100), arg);
            return -1;
        }
        const cw_opt_t *opt = &opts[k];
        const char *value = eq != NULL ? eq + 1 : NULL;
        if (opt->type == CW_OPT_FLAG) {
            if (value != NULL) {
                snprintf(err, err_size, "%s takes no value", opt->name);
                return -1;
            }
            value = "";
        } else if (value == NULL) {
            if (i + 1 >= argc) {
                snprintf(err, err_size, "%s needs a value", opt->name);
                return -1;
            }
            value = argv[++i];
        }
        if (store(opt, value, err, err_size) != 0) {
            return -1;
        }
        seen[k] = 1;
    }
    for (size_t i = 0; i != num_opts; ++i) {
        if ((opts[i].flags & CW_OPT_REQUIRED) != 0 && !seen[i]) {
            snprintf(err, err_size, "%s is required", opts[i].name);
            return -1;
        }
    }
    return 0;
}

void cw_opt_help(cw_buf_t *out, const cw_opt_t *opts, size_t num_opts, size_t column)
{
    static const char spaces[] = "                                                                ";
    size_t pad_max = sizeof(spaces) - 1;
    for (size_t i = 0; i != num_opts; ++i) {
        const cw_opt_t *o = &opts[i];
        if (o->help == NULL || is_positional(o)) {
            continue;
        }
        size_t start = out->len;
        cw_buf_appends(out, "  ");
        if (o->usage != NULL) {
            cw_buf_appends(out, o->usage);
        } else {
            cw_buf_appendf(out, "%s%s%s", o->name, o->metavar != NULL ? " " : "", o->metavar != NULL ? o->metavar : "");
        }
        size_t used = out->len - start;
        if (used + 2 > column) {
            /* too long for the column: the text starts on the next line */
            cw_buf_appends(out, "\n");
            used = 0;
        }
        size_t pad = column - used;
        cw_buf_append(out, spaces, pad < pad_max ? pad : pad_max);
        for (const char *p = o->help; *p != '\0'; ++p) {
            cw_buf_append(out, p, 1);
            if (*p == '\n' && p[1] != '\0') {
                cw_buf_append(out, spaces, column < pad_max ? column : pad_max);
            }
        }
        cw_buf_appends(out, "\n");
    }
}

void cw_opt_print_help(FILE *fp, const char *head, const cw_opt_t *opts, size_t num_opts, size_t column, const char *tail)
{
    cw_buf_t buf = CW_BUF_INIT;
    if (head != NULL) {
        cw_buf_appends(&buf, head);
    }
    cw_opt_help(&buf, opts, num_opts, column);
    if (tail != NULL) {
        cw_buf_appends(&buf, tail);
    }
    if (buf.base != NULL) {
        fputs(buf.base, fp);
    }
    cw_buf_free(&buf);
}

int cw_opt_http_url_cb(const cw_opt_t *opt, const char *value, char *err, size_t err_size)
{
    if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) {
        return -1;
    }
    *(const char **)opt->target = value;
    return 0;
}
