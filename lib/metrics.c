/*
 * metrics.c: the process-wide registry of counters, gauges and histograms and
 * its Prometheus text rendering (format 0.0.4).
 *
 * Registration and rendering hold one mutex; updates are lock-free __atomic
 * operations on series whose addresses never change once registered.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include "cw/metrics.h"
#include "cw/util.h"

typedef enum en_metric_type_t {
    METRIC_COUNTER,
    METRIC_GAUGE,
    METRIC_HISTOGRAM,
} metric_type_t;

struct st_cw_counter_t {
    uint64_t value;
};

struct st_cw_gauge_t {
    int64_t value;
};

struct st_cw_histogram_t {
    size_t num_bounds;
    double *bounds;    /* never NULL; num_bounds upper bounds, increasing */
    uint64_t *buckets; /* num_bounds + 1 non-cumulative counts; the last one is +Inf */
    uint64_t sum_bits; /* the sum as the bits of a double, updated with a CAS loop */
    uint64_t count;
};

typedef struct st_series_t {
    char *labels; /* never NULL; "" for none */
    union {
        cw_counter_t counter;
        cw_gauge_t gauge;
        cw_histogram_t histogram;
    } u;
} series_t;

typedef struct st_family_t {
    char *name; /* never NULL */
    char *help; /* never NULL; may be "" */
    metric_type_t type;
    series_t **series; /* in registration order; each allocated once so pointers stay valid */
    size_t num_series;
    size_t cap_series;
} family_t;

static const char *const type_names[] = {"counter", "gauge", "histogram"};

static const double default_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static family_t **families; /* in registration order */
static size_t num_families;
static size_t cap_families;

/* find_family returns the family called |name|, creating it with |help| and
 * |type| on first use. Aborts on a type mismatch (a programming error). Call
 * with registry_mutex held. */
static family_t *find_family(const char *name, const char *help, metric_type_t type)
{
    for (size_t i = 0; i != num_families; ++i) {
        family_t *f = families[i];
        if (strcmp(f->name, name) == 0) {
            if (f->type != type) {
                fprintf(stderr, "fatal: metric %s registered as a %s and as a %s\n", name, type_names[f->type], type_names[type]);
                abort();
            }
            return f;
        }
    }
    if (num_families == cap_families) {
        cap_families = cap_families == 0 ? 16 : cap_families * 2;
        families = cw_realloc(families, cap_families * sizeof(*families));
    }
    family_t *f = cw_calloc(1, sizeof(*f));
    f->name = cw_strdup(name);
    f->help = cw_strdup(help != NULL ? help : "");
    f->type = type;
    families[num_families++] = f;
    return f;
}

/* find_series returns the series of |f| with |labels|, or a new zeroed one;
 * |*out_created| says which. Call with registry_mutex held. */
static series_t *find_series(family_t *f, const char *labels, int *out_created)
{
    if (labels == NULL) {
        labels = "";
    }
    *out_created = 0;
    for (size_t i = 0; i != f->num_series; ++i) {
        if (strcmp(f->series[i]->labels, labels) == 0) {
            return f->series[i];
        }
    }
    if (f->num_series == f->cap_series) {
        f->cap_series = f->cap_series == 0 ? 8 : f->cap_series * 2;
        f->series = cw_realloc(f->series, f->cap_series * sizeof(*f->series));
    }
    series_t *s = cw_calloc(1, sizeof(*s));
    s->labels = cw_strdup(labels);
    f->series[f->num_series++] = s;
    *out_created = 1;
    return s;
}

cw_counter_t *cw_metrics_counter(const char *name, const char *help, const char *labels)
{
    int created;
    pthread_mutex_lock(&registry_mutex);
    series_t *s = find_series(find_family(name, help, METRIC_COUNTER), labels, &created);
    pthread_mutex_unlock(&registry_mutex);
    return &s->u.counter;
}

void cw_counter_inc(cw_counter_t *c)
{
    __atomic_fetch_add(&c->value, 1, __ATOMIC_RELAXED);
}

void cw_counter_add(cw_counter_t *c, uint64_t n)
{
    __atomic_fetch_add(&c->value, n, __ATOMIC_RELAXED);
}

uint64_t cw_counter_get(const cw_counter_t *c)
{
    return __atomic_load_n(&c->value, __ATOMIC_RELAXED);
}

cw_gauge_t *cw_metrics_gauge(const char *name, const char *help, const char *labels)
{
    int created;
    pthread_mutex_lock(&registry_mutex);
    series_t *s = find_series(find_family(name, help, METRIC_GAUGE), labels, &created);
    pthread_mutex_unlock(&registry_mutex);
    return &s->u.gauge;
}

void cw_gauge_set(cw_gauge_t *g, int64_t v)
{
    __atomic_store_n(&g->value, v, __ATOMIC_RELAXED);
}

void cw_gauge_add(cw_gauge_t *g, int64_t delta)
{
    __atomic_fetch_add(&g->value, delta, __ATOMIC_RELAXED);
}

int64_t cw_gauge_get(const cw_gauge_t *g)
{
    return __atomic_load_n(&g->value, __ATOMIC_RELAXED);
}

cw_histogram_t *cw_metrics_histogram(const char *name, const char *help, const char *labels, const double *bounds,
                                     size_t num_bounds)
{
    int created;
    pthread_mutex_lock(&registry_mutex);
    series_t *s = find_series(find_family(name, help, METRIC_HISTOGRAM), labels, &created);
    cw_histogram_t *h = &s->u.histogram;
    if (created) {
        if (bounds == NULL) {
            bounds = default_bounds;
            num_bounds = CW_ARRAY_SIZE(default_bounds);
        }
        h->num_bounds = num_bounds;
        h->bounds = cw_malloc(num_bounds * sizeof(*h->bounds));
        if (num_bounds != 0) {
            memcpy(h->bounds, bounds, num_bounds * sizeof(*h->bounds));
        }
        h->buckets = cw_calloc(num_bounds + 1, sizeof(*h->buckets));
        double zero = 0;
        memcpy(&h->sum_bits, &zero, sizeof(zero));
    }
    pthread_mutex_unlock(&registry_mutex);
    return h;
}

void cw_histogram_observe(cw_histogram_t *h, double v)
{
    /* A NaN would poison the sum forever; it is never a real observation. */
    if (isnan(v)) {
        return;
    }
    size_t i = 0;
    while (i != h->num_bounds && v > h->bounds[i]) {
        ++i;
    }
    __atomic_fetch_add(&h->buckets[i], 1, __ATOMIC_RELAXED);

    uint64_t old_bits = __atomic_load_n(&h->sum_bits, __ATOMIC_RELAXED), new_bits;
    do {
        double sum;
        memcpy(&sum, &old_bits, sizeof(sum));
        sum += v;
        memcpy(&new_bits, &sum, sizeof(sum));
    } while (!__atomic_compare_exchange_n(&h->sum_bits, &old_bits, new_bits, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));

    __atomic_fetch_add(&h->count, 1, __ATOMIC_RELAXED);
}

uint64_t cw_histogram_count(const cw_histogram_t *h)
{
    return __atomic_load_n(&h->count, __ATOMIC_RELAXED);
}

/* append_float writes |d| as Prometheus reads it: the shortest of %g's forms
 * (6 to 17 significant digits) that reads back as the same double, "+Inf",
 * "-Inf" or "NaN". */
static void append_float(cw_buf_t *out, double d)
{
    char tmp[40];

    if (isnan(d)) {
        cw_buf_append(out, CW_STRLIT("NaN"));
        return;
    }
    if (isinf(d)) {
        cw_buf_appends(out, d > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 6; prec <= 17; ++prec) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (prec == 17 || strtod(tmp, NULL) == d) {
            break;
        }
    }
    cw_buf_appends(out, tmp);
}

/* append_help writes |help| with '\\' and newlines escaped, as HELP lines need. */
static void append_help(cw_buf_t *out, const char *help)
{
    const char *run = help;
    for (const char *p = help; *p != '\0'; ++p) {
        if (*p == '\\' || *p == '\n') {
            cw_buf_append(out, run, (size_t)(p - run));
            cw_buf_appends(out, *p == '\\' ? "\\\\" : "\\n");
            run = p + 1;
        }
    }
    cw_buf_appends(out, run);
}

/* append_name writes "name{labels}" (or "name" with no labels) and a space. */
static void append_name(cw_buf_t *out, const char *name, const char *suffix, const char *labels)
{
    cw_buf_appends(out, name);
    cw_buf_appends(out, suffix);
    if (labels[0] != '\0') {
        cw_buf_appendf(out, "{%s}", labels);
    }
    cw_buf_append(out, " ", 1);
}

static void render_histogram(cw_buf_t *out, const char *name, const series_t *s)
{
    const cw_histogram_t *h = &s->u.histogram;
    const char *sep = s->labels[0] != '\0' ? "," : "";
    uint64_t cumulative = 0;

    for (size_t i = 0; i <= h->num_bounds; ++i) {
        cumulative += __atomic_load_n(&h->buckets[i], __ATOMIC_RELAXED);
        cw_buf_appendf(out, "%s_bucket{%s%sle=\"", name, s->labels, sep);
        if (i == h->num_bounds) {
            cw_buf_append(out, CW_STRLIT("+Inf"));
        } else {
            append_float(out, h->bounds[i]);
        }
        cw_buf_appendf(out, "\"} %" PRIu64 "\n", cumulative);
    }
    uint64_t sum_bits = __atomic_load_n(&h->sum_bits, __ATOMIC_RELAXED);
    double sum;
    memcpy(&sum, &sum_bits, sizeof(sum));
    append_name(out, name, "_sum", s->labels);
    append_float(out, sum);
    cw_buf_append(out, "\n", 1);
    /* _count repeats the +Inf bucket so the two agree even while observations
     * race with this rendering. */
    append_name(out, name, "_count", s->labels);
    cw_buf_appendf(out, "%" PRIu64 "\n", cumulative);
}

void cw_metrics_render(cw_buf_t *out)
{
    pthread_mutex_lock(&registry_mutex);
    for (size_t i = 0; i != num_families; ++i) {
        const family_t *f = families[i];
        if (f->help[0] != '\0') {
            cw_buf_appendf(out, "# HELP %s ", f->name);
            append_help(out, f->help);
            cw_buf_append(out, "\n", 1);
        }
        cw_buf_appendf(out, "# TYPE %s %s\n", f->name, type_names[f->type]);
        for (size_t j = 0; j != f->num_series; ++j) {
            const series_t *s = f->series[j];
            switch (f->type) {
            case METRIC_COUNTER:
                append_name(out, f->name, "", s->labels);
                cw_buf_appendf(out, "%" PRIu64 "\n", cw_counter_get(&s->u.counter));
                break;
            case METRIC_GAUGE:
                append_name(out, f->name, "", s->labels);
                cw_buf_appendf(out, "%" PRId64 "\n", cw_gauge_get(&s->u.gauge));
                break;
            case METRIC_HISTOGRAM:
                render_histogram(out, f->name, s);
                break;
            }
        }
    }
    pthread_mutex_unlock(&registry_mutex);
}

/* ---- process metrics ---- */

static void render_process_value(cw_buf_t *out, const char *name, const char *type, const char *help, double v)
{
    cw_buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n%s ", name, help, name, type, name);
    append_float(out, v);
    cw_buf_append(out, "\n", 1);
}

/* read_small reads up to |size| - 1 bytes of |path| NUL-terminated. Returns the length, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n >= 0) {
        buf[n] = '\0';
    }
    return n;
}

/* boot_time_s returns the "btime" of /proc/stat (Unix seconds of the boot), or -1. */
static double boot_time_s(void)
{
    FILE *fp = fopen("/proc/stat", "re");
    char line[256];
    double btime = -1;
    if (fp == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (strncmp(line, "btime ", 6) == 0) {
            char *end;
            unsigned long long v = strtoull(line + 6, &end, 10);
            if (end != line + 6) {
                btime = (double)v;
            }
            break;
        }
    }
    fclose(fp);
    return btime;
}

void cw_metrics_render_process(cw_buf_t *out)
{
    char buf[1024];
    long page = sysconf(_SC_PAGESIZE), ticks = sysconf(_SC_CLK_TCK);

    /* /proc/self/stat: the fields after the command (which may hold spaces) in ")"; utime and stime
     * are fields 14 and 15, starttime 22, vsize 23, rss 24 (proc(5)), i.e. the 12th.. after ") ". */
    if (read_small("/proc/self/stat", buf, sizeof(buf)) > 0 && ticks > 0) {
        const char *p = strrchr(buf, ')');
        unsigned long long f[24] = {0};
        size_t n = 0;
        if (p != NULL) {
            p += 2; /* ") " then field 3 (state) */
            while (*p != '\0' && n != 24) {
                char *end;
                f[n] = strtoull(p, &end, 10);
                ++n;
                p = strchr(p, ' ');
                if (p == NULL) {
                    break;
                }
                ++p;
            }
        }
        /* f[0] is field 3, so field k is f[k - 3] */
        if (n >= 22) {
            render_process_value(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
                                 (double)(f[14 - 3] + f[15 - 3]) / (double)ticks);
            double btime = boot_time_s();
            if (btime >= 0) {
                render_process_value(out, "process_start_time_seconds", "gauge",
                                     "Start time of the process since unix epoch in seconds.",
                                     btime + (double)f[22 - 3] / (double)ticks);
            }
            render_process_value(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", (double)f[23 - 3]);
            render_process_value(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                                 (double)f[24 - 3] * (double)(page > 0 ? page : 4096));
        }
    }

    DIR *dir = opendir("/proc/self/fd");
    if (dir != NULL) {
        size_t fds = 0;
        struct dirent *ent;
        while ((ent = readdir(dir)) != NULL) {
            fds += ent->d_name[0] != '.';
        }
        closedir(dir);
        render_process_value(out, "process_open_fds", "gauge", "Number of open file descriptors.",
                             (double)(fds != 0 ? fds - 1 : 0)); /* less the one reading the folder */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        render_process_value(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.", (double)rl.rlim_cur);
    }
}

void cw_metrics_reset_for_tests(void)
{
    pthread_mutex_lock(&registry_mutex);
    for (size_t i = 0; i != num_families; ++i) {
        family_t *f = families[i];
        for (size_t j = 0; j != f->num_series; ++j) {
            series_t *s = f->series[j];
            if (f->type == METRIC_HISTOGRAM) {
                free(s->u.histogram.bounds);
                free(s->u.histogram.buckets);
            }
            free(s->labels);
            free(s);
        }
        free(f->series);
        free(f->name);
        free(f->help);
        free(f);
    }
    free(families);
    families = NULL;
    num_families = 0;
    cap_families = 0;
    pthread_mutex_unlock(&registry_mutex);
}
