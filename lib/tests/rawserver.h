/*
 * rawserver.h: a tiny HTTP/1.1 server on plain sockets for client tests.
 *
 * It listens on 127.0.0.1, port 0, accepts on a thread of its own and serves
 * each connection on another thread, parsing just enough HTTP/1.1 (request
 * line, headers, Content-Length body, keep-alive) to hand requests to a test's
 * handler, which writes whatever bytes it likes. Every blocking call polls in
 * short slices and checks the stop flag, so rs_stop always returns quickly.
 * Header-only because every test_*.c is its own executable.
 */
#ifndef CW_TESTS_RAWSERVER_H
#define CW_TESTS_RAWSERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RS_MAX_CONNS 256
#define RS_MAX_REQUEST (4 * 1024 * 1024)

typedef struct rs_server rs_server_t;

typedef struct rs_request {
    char method[16];
    char target[512];
    const char *head; /* request line and headers, NUL-terminated */
    const char *body; /* may be NULL */
    size_t body_len;
    unsigned index; /* 0 for the server's first request */
} rs_request_t;

/* rs_handler writes a response to |fd|; returns 1 to keep the connection open, 0 to close it,
 * -1 when it closed (or reset) |fd| itself. */
typedef int (*rs_handler)(rs_server_t *s, int fd, const rs_request_t *req);

struct rs_server {
    int listen_fd;
    uint16_t port;
    pthread_t accept_thread;
    atomic_int stop;
    atomic_uint num_accepted;
    atomic_uint num_requests;
    rs_handler handler;
    void *data; /* the test's */
    pthread_mutex_t mutex;
    pthread_t threads[RS_MAX_CONNS];
    size_t num_threads;
};

typedef struct rs_conn {
    rs_server_t *s;
    int fd;
} rs_conn_t;

static inline void rs_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* rs_wait_stop blocks until the server is stopping (a "never answers" handler). */
static inline void rs_wait_stop(rs_server_t *s)
{
    while (!atomic_load(&s->stop)) {
        rs_sleep_ms(10);
    }
}

/* rs_send writes all of |len| bytes; returns 0, or -1 when the peer went away or the server stops. */
static inline int rs_send(rs_server_t *s, int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len != 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (atomic_load(&s->stop)) {
            return -1;
        }
        if (poll(&pfd, 1, 50) <= 0) {
            continue;
        }
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static inline int rs_sends(rs_server_t *s, int fd, const char *str)
{
    return rs_send(s, fd, str, strlen(str));
}

/* rs_reset closes |fd| with an RST instead of a FIN. */
static inline void rs_reset(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

/* rs_find_header copies the value of header |name| (lower-case) from |req| into |out|; returns 0 or -1. */
static inline int rs_find_header(const rs_request_t *req, const char *name, char *out, size_t out_size)
{
    size_t name_len = strlen(name);
    const char *line = strstr(req->head, "\r\n");
    while (line != NULL && line[2] != '\r' && line[2] != '\0') {
        line += 2;
        const char *end = strstr(line, "\r\n");
        if (end == NULL) {
            break;
        }
        if ((size_t)(end - line) > name_len && line[name_len] == ':' && strncasecmp(line, name, name_len) == 0) {
            const char *v = line + name_len + 1;
            while (*v == ' ') {
                ++v;
            }
            snprintf(out, out_size, "%.*s", (int)(end - v), v);
            return 0;
        }
        line = end;
    }
    return -1;
}

static inline void *rs_conn_main(void *arg)
{
    rs_conn_t *c = arg;
    rs_server_t *s = c->s;
    char *buf = malloc(RS_MAX_REQUEST + 1);
    size_t len = 0;
    int keep = 1;

    while (keep && !atomic_load(&s->stop)) {
        char *eoh;
        buf[len] = '\0';
        if (len != 0 && (unsigned char)buf[0] == 0x16) {
            /* a TLS ClientHello on a plain port: answer like a real server would */
            rs_sends(s, c->fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            break;
        }
        if ((eoh = strstr(buf, "\r\n\r\n")) == NULL) {
            struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
            if (poll(&pfd, 1, 50) <= 0) {
                continue;
            }
            if (len == RS_MAX_REQUEST) {
                break;
            }
            ssize_t n = recv(c->fd, buf + len, RS_MAX_REQUEST - len, 0);
            if (n <= 0) {
                break;
            }
            len += (size_t)n;
            continue;
        }
        size_t head_len = (size_t)(eoh - buf) + 4;
        rs_request_t req = {.head = NULL};
        char cl[32];
        size_t body_len = 0;
        char saved = buf[head_len];
        buf[head_len] = '\0';
        req.head = buf;
        if (sscanf(buf, "%15s %511s", req.method, req.target) != 2) {
            break;
        }
        if (rs_find_header(&req, "content-length", cl, sizeof(cl)) == 0) {
            body_len = strtoul(cl, NULL, 10);
        }
        buf[head_len] = saved;
        if (body_len > RS_MAX_REQUEST - head_len) {
            break;
        }
        /* read the rest of the body */
        while (len < head_len + body_len && !atomic_load(&s->stop)) {
            struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
            if (poll(&pfd, 1, 50) <= 0) {
                continue;
            }
            ssize_t n = recv(c->fd, buf + len, RS_MAX_REQUEST - len, 0);
            if (n <= 0) {
                keep = 0;
                break;
            }
            len += (size_t)n;
        }
        if (!keep || atomic_load(&s->stop)) {
            break;
        }
        /* the head must stay NUL-terminated while the handler runs */
        char *head = strndup(buf, head_len);
        req.head = head;
        req.body = body_len != 0 ? buf + head_len : NULL;
        req.body_len = body_len;
        req.index = atomic_fetch_add(&s->num_requests, 1);
        keep = s->handler(s, c->fd, &req);
        free(head);
        if (keep < 0) {
            /* the handler closed (or reset) the socket itself */
            c->fd = -1;
            break;
        }
        memmove(buf, buf + head_len + body_len, len - head_len - body_len);
        len -= head_len + body_len;
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    free(buf);
    free(c);
    return NULL;
}

static inline void *rs_accept_main(void *arg)
{
    rs_server_t *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {.fd = s->listen_fd, .events = POLLIN};
        if (poll(&pfd, 1, 20) <= 0) {
            continue;
        }
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        atomic_fetch_add(&s->num_accepted, 1);
        rs_conn_t *c = malloc(sizeof(*c));
        c->s = s;
        c->fd = fd;
        pthread_mutex_lock(&s->mutex);
        if (s->num_threads == RS_MAX_CONNS || pthread_create(&s->threads[s->num_threads], NULL, rs_conn_main, c) != 0) {
            close(fd);
            free(c);
        } else {
            ++s->num_threads;
        }
        pthread_mutex_unlock(&s->mutex);
    }
    return NULL;
}

/* rs_start starts a server calling |handler|; returns NULL on failure. Stop it with rs_stop. */
static inline rs_server_t *rs_start(rs_handler handler, void *data)
{
    rs_server_t *s = calloc(1, sizeof(*s));
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
    socklen_t sl = sizeof(sin);

    s->handler = handler;
    s->data = data;
    pthread_mutex_init(&s->mutex, NULL);
    if ((s->listen_fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 || bind(s->listen_fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        listen(s->listen_fd, 128) != 0 || getsockname(s->listen_fd, (struct sockaddr *)&sin, &sl) != 0) {
        goto Error;
    }
    s->port = ntohs(sin.sin_port);
    if (pthread_create(&s->accept_thread, NULL, rs_accept_main, s) != 0) {
        goto Error;
    }
    return s;
Error:
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
    }
    pthread_mutex_destroy(&s->mutex);
    free(s);
    return NULL;
}

/* rs_stop stops accepting, ends every connection thread and frees |s|. */
static inline void rs_stop(rs_server_t *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->accept_thread, NULL);
    for (size_t i = 0; i != s->num_threads; ++i) {
        pthread_join(s->threads[i], NULL);
    }
    close(s->listen_fd);
    pthread_mutex_destroy(&s->mutex);
    free(s);
}

/* rs_url formats "http://127.0.0.1:<port><path>" into |out|. */
static inline const char *rs_url(const rs_server_t *s, const char *path, char *out, size_t out_size)
{
    snprintf(out, out_size, "http://127.0.0.1:%u%s", (unsigned)s->port, path);
    return out;
}

#endif
