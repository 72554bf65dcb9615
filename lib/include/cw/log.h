/*
 * log.h: one JSON object per line on stdout, in Cloud Logging's structured
 * format (severity, message, time, logging.googleapis.com/trace, extra fields).
 *
 * Every string is escaped by cw_json_escape (cw/json.h: quotes, backslashes,
 * control characters; invalid UTF-8 becomes U+FFFD), and each line reaches
 * stdout in one write(2) so lines from several threads never interleave. Never
 * pass a secret, a MAC or a request body to these functions.
 */
#ifndef CW_LOG_H
#define CW_LOG_H

#include <stddef.h>
#include <stdint.h>
#include "cw/util.h"

typedef enum en_cw_severity_t {
    CW_LOG_DEBUG,
    CW_LOG_INFO,
    CW_LOG_NOTICE,
    CW_LOG_WARNING,
    CW_LOG_ERROR,
    CW_LOG_CRITICAL,
} cw_severity_t;

typedef enum en_cw_log_type_t {
    CW_LOG_STR,  /* .s (len bytes; len == SIZE_MAX means NUL-terminated) */
    CW_LOG_INT,  /* .i */
    CW_LOG_DBL,  /* .d */
    CW_LOG_BOOL, /* .i != 0 */
    CW_LOG_RAW,  /* .s is already valid JSON (an object or array), copied verbatim */
} cw_log_type_t;

/* cw_log_field_t is one extra key of a log line. */
typedef struct st_cw_log_field_t {
    const char *key; /* never NULL; plain ASCII */
    cw_log_type_t type;
    const char *s; /* may be NULL for CW_LOG_STR: the field is then omitted */
    size_t len;
    int64_t i;
    double d;
} cw_log_field_t;

#define CW_LF_STR(k, v) ((cw_log_field_t){.key = (k), .type = CW_LOG_STR, .s = (v), .len = SIZE_MAX})
#define CW_LF_STRN(k, v, n) ((cw_log_field_t){.key = (k), .type = CW_LOG_STR, .s = (v), .len = (n)})
#define CW_LF_INT(k, v) ((cw_log_field_t){.key = (k), .type = CW_LOG_INT, .i = (int64_t)(v)})
#define CW_LF_DBL(k, v) ((cw_log_field_t){.key = (k), .type = CW_LOG_DBL, .d = (double)(v)})
#define CW_LF_BOOL(k, v) ((cw_log_field_t){.key = (k), .type = CW_LOG_BOOL, .i = (v) ? 1 : 0})

/* cw_log_set_min_severity drops lines below |sev| (default CW_LOG_INFO). */
void cw_log_set_min_severity(cw_severity_t sev);
/* cw_log_set_project sets the Google Cloud project used to build trace names
 * (NULL: traces are not logged). Copies |project|. Call before threads start. */
void cw_log_set_project(const char *project);
/* cw_log_set_fd redirects output (default 1, stdout); for tests. */
void cw_log_set_fd(int fd);

/* cw_log writes one line with |message| and |num_fields| extra fields.
 * |trace_header| is the raw X-Cloud-Trace-Context value (may be NULL; its
 * length is |trace_len|): its part before '/' becomes
 * "logging.googleapis.com/trace" when a project is set. Borrows everything. */
void cw_log(cw_severity_t sev, const char *trace_header, size_t trace_len, const char *message, const cw_log_field_t *fields,
            size_t num_fields);

/* cw_logf writes a line whose message is printf-formatted, with no extra fields. */
void cw_logf(cw_severity_t sev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cw_log_format builds the line cw_log would write (with the trailing newline)
 * into |out| at wall time |wall_ms|; used by cw_log and by tests. */
void cw_log_format(cw_buf_t *out, cw_severity_t sev, int64_t wall_ms, const char *trace_header, size_t trace_len,
                   const char *message, const cw_log_field_t *fields, size_t num_fields);

#endif
