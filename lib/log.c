/*
 * log.c: structured JSON log lines in Cloud Logging's format, one write(2) per
 * line, strict UTF-8 validation of every string.
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

/* byte_class: 0 copies verbatim (printable ASCII but '"' and '\\', and DEL),
 * 1 needs an escape, 2 starts a multi-byte sequence (or is invalid). */
static const uint8_t byte_class[256] = {
    /* 0x00 - 0x1f: control characters */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x20 - 0x7f: '"' (0x22) and '\\' (0x5c) only */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
    /* 0x80 - 0xff */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x80 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xa0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xc0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xe0 */
};

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

/* utf8_sequence looks at the non-ASCII byte at |s| (|len| > 0 bytes left).
 * Returns the length of the well-formed sequence there (2 to 4), or minus the
 * number of bytes to replace by one U+FFFD (the "maximal subpart" of Unicode
 * 3.9 / WHATWG: a bad lead byte alone, or a truncated prefix). */
static int utf8_sequence(const uint8_t *s, size_t len)
{
    uint8_t c = s[0], lo = 0x80, hi = 0xbf;
    int need;

    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0) {
            lo = 0xa0; /* below: overlong */
        } else if (c == 0xed) {
            hi = 0x9f; /* above: UTF-16 surrogates */
        }
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0) {
            lo = 0x90; /* below: overlong */
        } else if (c == 0xf4) {
            hi = 0x8f; /* above: beyond U+10FFFF */
        }
    } else {
        return -1; /* continuation byte, overlong lead C0/C1, or F5..FF */
    }
    if (len < 2 || s[1] < lo || s[1] > hi) {
        return -1;
    }
    for (int i = 2; i < need; ++i) {
        if ((size_t)i >= len || s[i] < 0x80 || s[i] > 0xbf) {
            return -i;
        }
    }
    return need;
}

static void append_escape(cw_buf_t *out, uint8_t c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

    switch (c) {
    case '"':
        cw_buf_append(out, "\\\"", 2);
        break;
    case '\\':
        cw_buf_append(out, "\\\\", 2);
        break;
    case '\b':
        cw_buf_append(out, "\\b", 2);
        break;
    case '\f':
        cw_buf_append(out, "\\f", 2);
        break;
    case '\n':
        cw_buf_append(out, "\\n", 2);
        break;
    case '\r':
        cw_buf_append(out, "\\r", 2);
        break;
    case '\t':
        cw_buf_append(out, "\\t", 2);
        break;
    default:
        cw_buf_append(out, esc, sizeof(esc));
        break;
    }
}

void cw_json_escape(cw_buf_t *out, const char *str, size_t len)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t i = 0;

    cw_buf_reserve(out, len);
    out->base[out->len] = '\0'; /* reserve alone does not terminate a fresh buffer */
    while (i < len) {
        /* Extend a run of bytes that go out unchanged, then copy it at once. */
        size_t run = i;
        int seq = 0;
        while (i < len) {
            uint8_t cls = byte_class[s[i]];
            if (cls == 0) {
                ++i;
                continue;
            }
            if (cls == 1) {
                break;
            }
            seq = utf8_sequence(s + i, len - i);
            /* U+2028 and U+2029 are valid JSON but end lines in JavaScript. */
            if (seq < 0 || (seq == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))) {
                break;
            }
            i += (size_t)seq;
            seq = 0;
        }
        if (i != run) {
            cw_buf_append(out, s + run, i - run);
        }
        if (i == len) {
            break;
        }
        if (seq < 0) {
            cw_buf_append(out, CW_STRLIT("\\ufffd"));
            i += (size_t)-seq;
        } else if (seq == 3) {
            cw_buf_append(out, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
            i += 3;
        } else {
            append_escape(out, s[i]);
            ++i;
        }
    }
}

void cw_json_quote(cw_buf_t *out, const char *s, size_t len)
{
    cw_buf_append(out, "\"", 1);
    cw_json_escape(out, s, len);
    cw_buf_append(out, "\"", 1);
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
