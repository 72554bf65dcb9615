/*
 * log.c: structured JSON log lines in Cloud Logging's format, one write(2) per
 * line, every string through cw_json_escape.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cw/log.h"
#include "cw/json.h"
#include "cw/util.h"

/* Cloud Trace ids are 32 hex digits; anything longer is not a trace id. */
#define MAX_TRACE_ID_LEN 32

static int min_severity = CW_LOG_INFO; /* read and written with __atomic */
static int log_fd = 1;                 /* read and written with __atomic */
static char *log_project;              /* set before threads start; NULL: no traces */
/* A write(2) to a pipe is only atomic up to PIPE_BUF bytes, so lines are
 * serialised here rather than trusting the kernel with long ones. */
static pthread_mutex_t write_mutex = PTHREAD_MUTEX_INITIALIZER;

static const char *const severity_names[] = {"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"};

void cw_log_set_min_severity(cw_severity_t sev)
{
    __atomic_store_n(&min_severity, (int)sev, __ATOMIC_RELAXED);
}

void cw_log_set_project(const char *project)
{
    free(log_project);
    log_project = project != NULL && project[0] != '\0' ? cw_strdup(project) : NULL;
}

void cw_log_set_fd(int fd)
{
    __atomic_store_n(&log_fd, fd, __ATOMIC_RELAXED);
}

/* append_double writes a finite |d| with the fewest of 15 to 17 significant
 * digits that read back as the same double; NaN and infinities become null,
 * which JSON has no number for. */
static void append_double(cw_buf_t *out, double d)
{
    char tmp[40];

    if (!isfinite(d)) {
        cw_buf_append(out, CW_STRLIT("null"));
        return;
    }
    for (int prec = 15; prec <= 17; ++prec) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (prec == 17 || strtod(tmp, NULL) == d) {
            break;
        }
    }
    cw_buf_appends(out, tmp);
}

/* trace_id_len returns the length of the trace id at the start of
 * X-Cloud-Trace-Context (before '/'), or 0 when it is empty, too long or not
 * made of hex digits: those bytes are never copied into a log line. */
static size_t trace_id_len(const char *header, size_t header_len)
{
    size_t n = 0;

    while (n < header_len && header[n] != '/') {
        char c = header[n];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
        if (++n > MAX_TRACE_ID_LEN) {
            return 0;
        }
    }
    return n;
}

static void append_field(cw_buf_t *out, const cw_log_field_t *f)
{
    size_t len = f->len;

    if (f->type == CW_LOG_STR && f->s == NULL) {
        return;
    }
    cw_buf_append(out, ",", 1);
    cw_json_quote(out, f->key, strlen(f->key));
    cw_buf_append(out, ":", 1);
    switch (f->type) {
    case CW_LOG_STR:
        cw_json_quote(out, f->s, len == SIZE_MAX ? strlen(f->s) : len);
        break;
    case CW_LOG_INT:
        cw_buf_appendf(out, "%" PRId64, f->i);
        break;
    case CW_LOG_DBL:
        append_double(out, f->d);
        break;
    case CW_LOG_BOOL:
        cw_buf_appends(out, f->i != 0 ? "true" : "false");
        break;
    case CW_LOG_RAW:
        if (f->s == NULL) {
            cw_buf_append(out, CW_STRLIT("null"));
        } else {
            cw_buf_append(out, f->s, len == SIZE_MAX ? strlen(f->s) : len);
        }
        break;
    default:
        cw_buf_append(out, CW_STRLIT("null"));
        break;
    }
}

void cw_log_format(cw_buf_t *out, cw_severity_t sev, int64_t wall_ms, const char *trace_header, size_t trace_len,
                   const char *message, const cw_log_field_t *fields, size_t num_fields)
{
    char time_str[40];
    const char *sev_name = (unsigned)sev < CW_ARRAY_SIZE(severity_names) ? severity_names[sev] : "DEFAULT";

    cw_format_rfc3339(time_str, sizeof(time_str), wall_ms);
    cw_buf_append(out, CW_STRLIT("{\"severity\":\""));
    cw_buf_appends(out, sev_name);
    cw_buf_append(out, CW_STRLIT("\",\"message\":"));
    cw_json_quote(out, message != NULL ? message : "", message != NULL ? strlen(message) : 0);
    cw_buf_append(out, CW_STRLIT(",\"time\":\""));
    cw_buf_appends(out, time_str);
    cw_buf_append(out, "\"", 1);
    if (log_project != NULL && trace_header != NULL) {
        size_t id_len = trace_id_len(trace_header, trace_len);
        if (id_len != 0) {
            cw_buf_append(out, CW_STRLIT(",\"logging.googleapis.com/trace\":\"projects/"));
            cw_json_escape(out, log_project, strlen(log_project));
            cw_buf_append(out, CW_STRLIT("/traces/"));
            cw_buf_append(out, trace_header, id_len);
            cw_buf_append(out, "\"", 1);
        }
    }
    for (size_t i = 0; i != num_fields; ++i) {
        append_field(out, &fields[i]);
    }
    cw_buf_append(out, CW_STRLIT("}\n"));
}

/* write_line writes all of |line| to the log fd, retrying on EINTR and partial
 * writes and waiting (boundedly) when the fd is non-blocking and full. A line
 * that cannot be written is dropped: logging never fails the caller. */
static void write_line(const char *line, size_t len)
{
    int fd = __atomic_load_n(&log_fd, __ATOMIC_RELAXED);

    pthread_mutex_lock(&write_mutex);
    while (len != 0) {
        ssize_t n = write(fd, line, len);
        if (n > 0) {
            line += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            if (poll(&pfd, 1, 1000) <= 0) {
                break;
            }
        } else {
            break;
        }
    }
    pthread_mutex_unlock(&write_mutex);
}

void cw_log(cw_severity_t sev, const char *trace_header, size_t trace_len, const char *message, const cw_log_field_t *fields,
            size_t num_fields)
{
    if ((int)sev < __atomic_load_n(&min_severity, __ATOMIC_RELAXED)) {
        return;
    }
    cw_buf_t line = CW_BUF_INIT;
    cw_buf_reserve(&line, 256);
    cw_log_format(&line, sev, cw_wall_ms(), trace_header, trace_len, message, fields, num_fields);
    write_line(line.base, line.len);
    cw_buf_free(&line);
}

void cw_logf(cw_severity_t sev, const char *fmt, ...)
{
    if ((int)sev < __atomic_load_n(&min_severity, __ATOMIC_RELAXED)) {
        return;
    }
    cw_buf_t message = CW_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    cw_buf_vappendf(&message, fmt, ap);
    va_end(ap);
    cw_log(sev, NULL, 0, message.base != NULL ? message.base : "", NULL, 0);
    cw_buf_free(&message);
}
