/*
 * h2o_bare.c: the ceiling of bench/run.sh. A bare libh2o 2.2.5 server (one
 * evloop, one thread) configured like lib/server.c (same body limit, request
 * timeout, h2c upgrade, TCP_NODELAY, listen backlog), that answers every
 * request with a fixed small JSON and does nothing else: no auth, no parse,
 * no store, no log, no metrics. What h2o alone costs on this machine.
 *
 *   h2o_bare PORT          listens on 127.0.0.1:PORT (0 picks one; printed on stderr)
 *
 * Built by bench/run.sh with the project's flags against .deps; not part of
 * the CMake build.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "h2o.h"

#define MAX_BODY_BYTES (1024 * 1024)
#define REQUEST_TIMEOUT_MS 10000

static h2o_globalconf_t config;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    static const char body[] = "{\"status\":\"processed\"}";
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = sizeof(body) - 1;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    h2o_send_inline(req, body, sizeof(body) - 1);
    return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL) {
        return;
    }
    for (int i = 0; i != 16; ++i) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL) {
            break;
        }
        h2o_accept(&accept_ctx, sock);
    }
}

static int parse_port(const char *s, unsigned short *out_port)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 65535) {
        return -1;
    }
    *out_port = (unsigned short)v;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned short port;
    if (argc != 2 || parse_port(argv[1], &port) != 0) {
        fprintf(stderr, "usage: h2o_bare PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    h2o_config_init(&config);
    config.max_request_entity_size = MAX_BODY_BYTES;
    config.http1.req_timeout = REQUEST_TIMEOUT_MS;
    config.http1.upgrade_to_http2 = 1;
    h2o_hostconf_t *host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_create_handler(path, sizeof(h2o_handler_t))->on_req = on_req;

    int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    socklen_t addr_len = sizeof(addr);
    if (fd == -1 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 1024) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &addr_len) != 0) {
        perror("h2o_bare: listen");
        return 1;
    }
    fprintf(stderr, "listening on http://127.0.0.1:%u\n", ntohs(addr.sin_port));

    h2o_context_init(&ctx, h2o_evloop_create(), &config);
    accept_ctx = (h2o_accept_ctx_t){.ctx = &ctx, .hosts = config.hosts};
    h2o_socket_t *listener = h2o_evloop_socket_create(ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    h2o_socket_read_start(listener, on_accept);
    for (;;) {
        if (h2o_evloop_run(ctx.loop, INT32_MAX) != 0 && errno != EINTR) {
            perror("h2o_bare: h2o_evloop_run");
            return 1;
        }
    }
}
