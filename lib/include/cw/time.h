/*
 * time.h: the monotonic and wall clocks, and RFC 3339 timestamps. Any thread.
 */
#ifndef CW_TIME_H
#define CW_TIME_H

#include <stddef.h>
#include <stdint.h>

/* cw_now_ms returns a monotonic clock in milliseconds. */
uint64_t cw_now_ms(void);
/* cw_now_us returns a monotonic clock in microseconds. */
uint64_t cw_now_us(void);
/* cw_wall_ms returns the wall clock (Unix epoch) in milliseconds. */
int64_t cw_wall_ms(void);
/* cw_format_rfc3339 writes |wall_ms| as "2026-11-28T06:47:38.123Z" into |out| (at least 32 bytes). */
void cw_format_rfc3339(char *out, size_t out_size, int64_t wall_ms);

#endif
