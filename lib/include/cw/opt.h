/*
 * opt.h: one table-driven parser for the command line of every subcommand.
 *
 * A command describes its options once, in an array of cw_opt_t. cw_opt_parse
 * walks argv ("--name value", "--name=value", flags, positional arguments,
 * "--" ending the options, "--help"/"-h"), stores typed values into the
 * table's targets and refuses anything else with one line in |err|;
 * cw_opt_print_help writes the options section of --help from the same table,
 * so the two cannot drift apart. Exit codes are the caller's (`*_main`).
 *
 * Everything here runs on the calling thread before any loop starts. Values
 * are borrowed from argv; nothing is allocated except by cw_opt_help into the
 * caller's buffer.
 */
#ifndef CW_OPT_H
#define CW_OPT_H

#include <stddef.h>
#include <stdio.h>
#include "cw/util.h"

/* CW_OPT_MAX is the most entries one table may have. */
#define CW_OPT_MAX 64

/* What an option's value is, and what its target points to. */
typedef enum en_cw_opt_type_t {
    CW_OPT_FLAG,   /* int: set to 1; takes no value */
    CW_OPT_STRING, /* const char *: the value, borrowed from argv */
    CW_OPT_U64,    /* uint64_t: a decimal integer in [min, max] */
    CW_OPT_SIZE,   /* size_t: a decimal integer in [min, max] */
    CW_OPT_UINT,   /* unsigned: a decimal integer in [min, max] */
    CW_OPT_I64,    /* int64_t: a decimal integer, maybe negative, in [min, max] */
    CW_OPT_DOUBLE, /* double: a finite number in [min, max] */
    CW_OPT_ENUM,   /* int: the index of the value in |choices| */
    CW_OPT_LIST,   /* const char *[max]: repeatable, each value appended; the count is *|num| */
    CW_OPT_CUSTOM, /* nothing: |cb| parses the value; repeatable */
} cw_opt_type_t;

/* Flags of a cw_opt_t. */
#define CW_OPT_REQUIRED 0x1u /* refused when absent: "--file is required" */
#define CW_OPT_NONEMPTY 0x2u /* CW_OPT_STRING and CW_OPT_LIST: "" is refused */

typedef struct st_cw_opt_t cw_opt_t;

/* cw_opt_cb parses |value| for |opt| (CW_OPT_CUSTOM). Returns 0, or -1, optionally with the whole
 * error line in |err| (else the parser says "<name>: must be <want>, not '<value>'"). |opt->data| is
 * the callback's context. Borrows everything; |value| lives as long as argv. */
typedef int (*cw_opt_cb)(const cw_opt_t *opt, const char *value, char *err, size_t err_size);

/* cw_opt_t is one entry of a command's table. A name starting with '-' is an option; at most one entry
 * may have a name that does not ("PATH"): it takes the positional arguments (CW_OPT_STRING, CW_OPT_LIST
 * or CW_OPT_CUSTOM), which are refused ("unexpected argument") when there is no such entry. */
struct st_cw_opt_t {
    const char *name;           /* "--rate", or "PATH" for positional arguments; never NULL */
    const char *alias;          /* another spelling ("-v"); may be NULL */
    cw_opt_type_t type;         /* what |target| points to */
    void *target;               /* where the value goes; may be NULL only for CW_OPT_CUSTOM */
    size_t *num;                /* CW_OPT_LIST: the entries in |target| so far; else NULL */
    double min, max;            /* numbers: the accepted range; CW_OPT_LIST: max is |target|'s capacity */
    const char *const *choices; /* CW_OPT_ENUM: the accepted values, NULL-terminated; else NULL */
    cw_opt_cb cb;               /* CW_OPT_CUSTOM: never NULL; else NULL */
    void *data;                 /* CW_OPT_CUSTOM: |cb|'s context; may be NULL */
    int *given;                 /* may be NULL; set to 1 when the option appears */
    unsigned flags;             /* CW_OPT_REQUIRED, CW_OPT_NONEMPTY */
    const char *want;           /* errors say "must be <want>"; NULL: said from the type and range */
    const char *metavar;        /* help: "VALUE" in "--name VALUE"; NULL for a flag */
    const char *help;           /* help text ('\n' continues it at the column); NULL: not listed */
    const char *usage;          /* help's left column instead of "--name VALUE"; may be NULL */
};

/* cw_opt_parse fills the targets of |opts| (|num_opts| entries, at most CW_OPT_MAX) from argv[1..argc).
 * On "--help" or "-h" it stops, sets *|out_help| to 1 and returns 0 (targets seen so far are set);
 * otherwise *|out_help| is 0. Options may repeat (the last value wins, lists append). Returns 0, or -1
 * with one line in |err| naming the option: "unknown option '--x'", "--rate needs a value",
 * "--shuffle takes no value", "--rate: must be a number between 0.01 and 100000, not '0'", "unexpected
 * argument 'x'", "--file is required". Borrows everything; targets borrow from argv. */
int cw_opt_parse(const cw_opt_t *opts, size_t num_opts, int argc, char **argv, int *out_help, char *err, size_t err_size);

/* cw_opt_help appends the help lines of |opts| to |out|: "  --name VALUE", padded to |column| (or the
 * next line when too long), then the help text, whose continuation lines start at |column|. Entries
 * without help, and the positional entry, are left out. Borrows |opts|. */
void cw_opt_help(cw_buf_t *out, const cw_opt_t *opts, size_t num_opts, size_t column);

/* cw_opt_print_help writes |head|, the help lines of |opts| (cw_opt_help) and |tail| to |fp|. |head|
 * and |tail| may be NULL. Borrows everything. */
void cw_opt_print_help(FILE *fp, const char *head, const cw_opt_t *opts, size_t num_opts, size_t column, const char *tail);

/* cw_opt_http_url_cb is a ready-made cw_opt_cb: it stores an http:// or https:// |value| into
 * *(const char **)opt->target, or returns -1. */
int cw_opt_http_url_cb(const cw_opt_t *opt, const char *value, char *err, size_t err_size);

#endif
