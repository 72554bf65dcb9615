/*
 * time.c: clocks and RFC 3339 formatting (see time.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "cw/time.h"

uint64_t cw_now_ms(void)
{
    return cw_now_us() / 1000;
}

uint64_t cw_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int64_t cw_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *put_digits(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; --i) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void cw_format_rfc3339(char *out, size_t out_size, int64_t wall_ms)
{
    if (out_size == 0) {
        return;
    }
    time_t secs = (time_t)(wall_ms / 1000);
    int ms = (int)(wall_ms % 1000);
    if (ms < 0) { /* before the epoch: the millisecond counts up from the second below */
        ms += 1000;
        --secs;
    }
    struct tm tm;
    int year = gmtime_r(&secs, &tm) != NULL ? tm.tm_year + 1900 : -1;
    if (year < 0 || year > 9999) { /* not four digits: as printf writes it */
        snprintf(out, out_size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, ms);
        return;
    }
    /* written by hand: this runs for every callback and every log line, and snprintf costs it ten times more */
    char buf[sizeof("2026-11-28T06:47:38.123Z")], *p = buf;
    p = put_digits(p, (unsigned)year, 4);
    *p++ = '-';
    p = put_digits(p, (unsigned)tm.tm_mon + 1, 2);
    *p++ = '-';
    p = put_digits(p, (unsigned)tm.tm_mday, 2);
    *p++ = 'T';
    p = put_digits(p, (unsigned)tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)tm.tm_min, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)tm.tm_sec, 2);
    *p++ = '.';
    p = put_digits(p, (unsigned)ms, 3);
    *p++ = 'Z';
    *p = '\0';
    size_t n = (size_t)(p - buf) < out_size - 1 ? (size_t)(p - buf) : out_size - 1;
    memcpy(out, buf, n);
    out[n] = '\0';
}
