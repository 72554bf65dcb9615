/*
 * metrics.h: a process-wide registry of counters, gauges and histograms with
 * labels, rendered in Prometheus text format (version 0.0.4).
 *
 * A series is (family name, label set). Registration takes a mutex and returns
 * a stable pointer: look series up once (at start, or cache them) and update
 * them from any thread; updates are lock-free atomics.
 */
#ifndef CW_METRICS_H
#define CW_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "cw/util.h"

typedef struct st_cw_counter_t cw_counter_t;
typedef struct st_cw_gauge_t cw_gauge_t;
typedef struct st_cw_histogram_t cw_histogram_t;

/* |labels| below is the inside of the braces, already formatted, e.g.
 * "sink=\"slack\",result=\"delivered\"", or NULL/"" for none. Label values
 * must be escaped by the caller if they can hold quotes (ours never do). */

/* cw_metrics_counter returns the counter series, creating it (and its family
 * with |help|) on first use. Never NULL; the registry owns it. Aborts if |name|
 * is already registered as another type. */
cw_counter_t *cw_metrics_counter(const char *name, const char *help, const char *labels);
void cw_counter_inc(cw_counter_t *c);
void cw_counter_add(cw_counter_t *c, uint64_t n);
uint64_t cw_counter_get(const cw_counter_t *c);

/* cw_metrics_gauge returns the gauge series (as cw_metrics_counter). */
cw_gauge_t *cw_metrics_gauge(const char *name, const char *help, const char *labels);
void cw_gauge_set(cw_gauge_t *g, int64_t v);
void cw_gauge_add(cw_gauge_t *g, int64_t delta);
int64_t cw_gauge_get(const cw_gauge_t *g);

/* cw_metrics_histogram returns the histogram series; |bounds| are the upper
 * bounds of the buckets in increasing order (copied; +Inf is implicit). NULL
 * bounds selects latency buckets in seconds from 0.5 ms to 10 s. */
cw_histogram_t *cw_metrics_histogram(const char *name, const char *help, const char *labels, const double *bounds,
                                     size_t num_bounds);
void cw_histogram_observe(cw_histogram_t *h, double v);
/* cw_histogram_count returns how many observations were made. */
uint64_t cw_histogram_count(const cw_histogram_t *h);

/* cw_metrics_render appends every family in registration order, with # HELP
 * and # TYPE lines, to |out|. */
void cw_metrics_render(cw_buf_t *out);

/* cw_metrics_render_process appends the standard process_* families, read from
 * /proc at the call: process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds and
 * process_start_time_seconds. A value /proc cannot give is left out. Any thread. */
void cw_metrics_render_process(cw_buf_t *out);

/* cw_metrics_reset_for_tests drops every series. Not thread-safe. */
void cw_metrics_reset_for_tests(void);

#endif
