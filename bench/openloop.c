/*
 * openloop.c: an open-loop HTTP/1.1 load generator for bench/run.sh.
 *
 * Request k is due at t0 + k/rate whatever happened to the earlier ones; it
 * goes out on the first idle keep-alive connection, and its latency is
 * measured from the time it was due, not from when it was written, so a
 * stalled server shows up in the percentiles instead of slowing the load
 * down (no coordinated omission). Bodies and signatures come from a file
 * written by signed_bodies.js ("<hex>\t<body>" per line), as callback.lua
 * uses them.
 *
 *   openloop --port P --rate R --duration S [--conns C] [--warmup S]
 *            --file F [--mode hmac|static --secret X] [--path /api/clay/enriched]
 *
 * Prints one JSON object: requests scheduled and answered, statuses, the
 * achieved rate, and latency percentiles in milliseconds of the requests due
 * after the warm-up. A server that cannot keep up is not waited for: 5 s after
 * the last request was due, whatever is unanswered counts as "lost" and
 * enters the percentiles with the time it had waited by then (a lower bound).
 * Loopback (127.0.0.1) only; responses must carry a Content-Length (all three
 * servers of the bench send one).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 4096
#define RESP_CAP 65536
#define MAX_LINE 65536
#define DRAIN_NS 5000000000u /* how long to wait for answers after the last request was due */

typedef struct st_conn_t {
    int fd;
    int busy;
    size_t req_index; /* the request in flight when busy */
    uint64_t due_ns;  /* when it was due */
    const char *out;  /* unsent part of the request */
    size_t out_len;
    char in[RESP_CAP];
    size_t in_len;
} conn_t;

typedef struct st_options_t {
    int port;
    double rate;
    double duration_s;
    double warmup_s;
    int conns;
    const char *file;
    const char *mode;
    const char *secret;
    const char *path;
} options_t;

static char **reqs;
static size_t *req_lens;
static size_t num_reqs;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "openloop: %s\n", what);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) {
        die("out of memory");
    }
    return p;
}

static double parse_num(const char *name, const char *s, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "openloop: %s: bad value '%s'\n", name, s);
        exit(2);
    }
    return v;
}

/* load_requests formats up to |limit| requests from the body file. */
static void load_requests(const options_t *o, size_t limit)
{
    FILE *fp = fopen(o->file, "r");
    if (fp == NULL) {
        perror(o->file);
        exit(2);
    }
    reqs = xmalloc(limit * sizeof(*reqs));
    req_lens = xmalloc(limit * sizeof(*req_lens));
    char *line = xmalloc(MAX_LINE);
    while (num_reqs != limit && fgets(line, MAX_LINE, fp) != NULL) {
        size_t len = strlen(line);
        while (len != 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        char *tab = strchr(line, '\t');
        if (tab == NULL) {
            continue;
        }
        *tab = '\0';
        const char *sig = line, *body = tab + 1;
        size_t body_len = len - (size_t)(body - line);
        char head[1024];
        int n = strcmp(o->mode, "static") == 0
                    ? snprintf(head, sizeof(head),
                               "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                               "X-Clay-Secret: %s\r\nContent-Length: %zu\r\n\r\n",
                               o->path, o->port, o->secret, body_len)
                    : snprintf(head, sizeof(head),
                               "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                               "X-Clay-Signature: %s\r\nContent-Length: %zu\r\n\r\n",
                               o->path, o->port, sig, body_len);
        if (n < 0 || (size_t)n >= sizeof(head)) {
            die("request head too long");
        }
        char *r = xmalloc((size_t)n + body_len);
        memcpy(r, head, (size_t)n);
        memcpy(r + n, body, body_len);
        reqs[num_reqs] = r;
        req_lens[num_reqs] = (size_t)n + body_len;
        ++num_reqs;
    }
    free(line);
    fclose(fp);
    if (num_reqs == 0) {
        die("no requests in the body file");
    }
}

static int connect_one(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1;
    if (fd == -1) {
        die("socket");
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("openloop: connect");
        exit(1);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* response_length returns the length of the complete response at the start of |buf|, 0 if incomplete, -1 if unusable. */
static long response_length(const char *buf, size_t len, int *out_status)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (end == NULL) {
        return len >= RESP_CAP ? -1 : 0;
    }
    size_t head_len = (size_t)(end - buf) + 4;
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0) {
        return -1;
    }
    *out_status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    long content_length = -1;
    for (const char *p = buf; p < end;) {
        const char *eol = memmem(p, (size_t)(end - p) + 2, "\r\n", 2);
        if (eol == NULL) {
            break;
        }
        if ((size_t)(eol - p) > 15 && strncasecmp(p, "content-length:", 15) == 0) {
            content_length = strtol(p + 15, NULL, 10);
        }
        p = eol + 2;
    }
    if (content_length < 0) {
        return -1;
    }
    return head_len + (size_t)content_length <= len ? (long)(head_len + (size_t)content_length) : 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const uint64_t *v, size_t n, double p)
{
    if (n == 0) {
        return 0;
    }
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e6;
}

static void usage(void)
{
    fputs("usage: openloop --port P --rate R --duration S [--conns C] [--warmup S] --file F [--mode hmac|static]\n"
          "                [--secret X] [--path P]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    options_t o = {
        .rate = 0, .duration_s = 10, .warmup_s = 1, .conns = 64, .mode = "hmac", .secret = "", .path = "/api/clay/enriched"};
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            usage();
        }
        if (strcmp(a, "--port") == 0) {
            o.port = (int)parse_num(a, v, 1, 65535);
        } else if (strcmp(a, "--rate") == 0) {
            o.rate = parse_num(a, v, 1, 1e6);
        } else if (strcmp(a, "--duration") == 0) {
            o.duration_s = parse_num(a, v, 0.1, 3600);
        } else if (strcmp(a, "--warmup") == 0) {
            o.warmup_s = parse_num(a, v, 0, 3600);
        } else if (strcmp(a, "--conns") == 0) {
            o.conns = (int)parse_num(a, v, 1, MAX_CONNS);
        } else if (strcmp(a, "--file") == 0) {
            o.file = v;
        } else if (strcmp(a, "--mode") == 0) {
            o.mode = v;
        } else if (strcmp(a, "--secret") == 0) {
            o.secret = v;
        } else if (strcmp(a, "--path") == 0) {
            o.path = v;
        } else {
            usage();
        }
        ++i;
    }
    if (o.port == 0 || o.rate == 0 || o.file == NULL) {
        usage();
    }
    signal(SIGPIPE, SIG_IGN);

    size_t total = (size_t)((o.warmup_s + o.duration_s) * o.rate);
    size_t warm = (size_t)(o.warmup_s * o.rate);
    load_requests(&o, total);
    uint64_t interval_ns = (uint64_t)(1e9 / o.rate);

    int ep = epoll_create1(0);
    conn_t *conns = xmalloc((size_t)o.conns * sizeof(*conns));
    size_t *idle = xmalloc((size_t)o.conns * sizeof(*idle)), num_idle = 0;
    for (int i = 0; i != o.conns; ++i) {
        conns[i] = (conn_t){.fd = connect_one(o.port)};
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
        idle[num_idle++] = (size_t)i;
    }

    uint64_t *lat = xmalloc(total * sizeof(*lat));
    size_t num_lat = 0, next = 0, queued_from = 0, answered = 0, errors = 0, status_2xx = 0, status_other = 0;
    size_t max_queue = 0, lost = 0;
    uint64_t t0 = now_ns() + 1000000, last_done = t0;

    while (answered + errors < total) {
        uint64_t now = now_ns();
        /* Everything due by now joins the queue (requests queued_from..next-1 wait for a connection). */
        while (next < total && t0 + next * interval_ns <= now) {
            ++next;
        }
        if (next - queued_from > max_queue) {
            max_queue = next - queued_from;
        }
        while (queued_from < next && num_idle != 0) {
            conn_t *c = &conns[idle[--num_idle]];
            size_t k = queued_from++;
            c->busy = 1;
            c->req_index = k;
            c->due_ns = t0 + k * interval_ns;
            c->out = reqs[k % num_reqs];
            c->out_len = req_lens[k % num_reqs];
            c->in_len = 0;
            ssize_t w = write(c->fd, c->out, c->out_len);
            if (w > 0) {
                c->out += w;
                c->out_len -= (size_t)w;
            }
            if (c->out_len != 0) {
                struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)(c - conns)};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            }
        }
        struct epoll_event events[256];
        struct timespec timeout = {0, 0};
        if (next < total && queued_from == next) {
            uint64_t due = t0 + next * interval_ns;
            now = now_ns();
            if (due > now) {
                timeout.tv_sec = (time_t)((due - now) / 1000000000u);
                timeout.tv_nsec = (long)((due - now) % 1000000000u);
            }
        } else if (next == total) {
            timeout.tv_sec = 1;
        }
        int n = epoll_pwait2(ep, events, 256, &timeout, NULL);
        if (n == -1 && errno != EINTR) {
            die("epoll_pwait2");
        }
        if (next == total && now_ns() > t0 + total * interval_ns + DRAIN_NS) {
            /* Overloaded: what is still queued or in flight 5 s after the last was due counts as lost,
             * and enters the percentiles with the time it has waited so far (a lower bound). */
            uint64_t t = now_ns();
            lost = total - answered - errors;
            for (int i = 0; i != o.conns; ++i) {
                if (conns[i].busy && conns[i].req_index >= warm) {
                    lat[num_lat++] = t - conns[i].due_ns;
                }
            }
            for (size_t k = queued_from < warm ? warm : queued_from; k < total; ++k) {
                lat[num_lat++] = t - (t0 + k * interval_ns);
            }
            last_done = t;
            break;
        }
        for (int e = 0; e < n; ++e) {
            conn_t *c = &conns[events[e].data.u32];
            if ((events[e].events & EPOLLOUT) != 0 && c->out_len != 0) {
                ssize_t w = write(c->fd, c->out, c->out_len);
                if (w > 0) {
                    c->out += w;
                    c->out_len -= (size_t)w;
                }
                if (c->out_len == 0) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = events[e].data.u32};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            if ((events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0) {
                continue;
            }
            ssize_t r = read(c->fd, c->in + c->in_len, RESP_CAP - c->in_len);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }
            int status = 0;
            long rlen = r > 0 ? (c->in_len += (size_t)r, response_length(c->in, c->in_len, &status)) : -1;
            if (rlen == 0) {
                continue;
            }
            uint64_t t = now_ns();
            if (rlen < 0 || !c->busy) {
                /* Closed, garbled or unsolicited: count the request lost and start a fresh connection. */
                if (c->busy) {
                    ++errors;
                }
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = connect_one(o.port);
                struct epoll_event ev = {.events = EPOLLIN, .data.u32 = events[e].data.u32};
                epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
            } else {
                ++answered;
                if (status >= 200 && status < 300) {
                    ++status_2xx;
                } else {
                    ++status_other;
                }
                if (c->req_index >= warm) {
                    lat[num_lat++] = t - c->due_ns;
                }
            }
            last_done = t;
            c->in_len = 0;
            if (c->busy) { /* an idle connection is in |idle| already */
                c->busy = 0;
                idle[num_idle++] = events[e].data.u32;
            }
        }
    }
    double elapsed_s = (double)(last_done - t0) / 1e9;
    qsort(lat, num_lat, sizeof(*lat), cmp_u64);
    printf("{\"scheduled\":%zu,\"answered\":%zu,\"errors\":%zu,\"lost\":%zu,\"status_2xx\":%zu,\"status_other\":%zu,"
           "\"target_rate\":%.0f,\"achieved_rate\":%.0f,\"measured\":%zu,\"max_queue\":%zu,"
           "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
           total, answered, errors, lost, status_2xx, status_other, o.rate, elapsed_s > 0 ? (double)answered / elapsed_s : 0,
           num_lat, max_queue, pct_ms(lat, num_lat, 0.50), pct_ms(lat, num_lat, 0.90), pct_ms(lat, num_lat, 0.99),
           pct_ms(lat, num_lat, 0.999), num_lat != 0 ? (double)lat[num_lat - 1] / 1e6 : 0);
    return errors != 0 || lost != 0 || status_other != 0 ? 1 : 0;
}
