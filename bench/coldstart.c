/*
 * coldstart.c: time from exec to the first 200 on GET /healthz, for bench/run.sh.
 *
 *   coldstart [--cpu N] [--timeout-ms T] PORT PROGRAM [ARGS...]
 *
 * Forks, pins the child to CPU N (when given), execs PROGRAM with this
 * process's environment, and polls 127.0.0.1:PORT in a tight loop (connect,
 * GET /healthz, read the status line; 100 µs between refused attempts) until
 * a 200 arrives. Prints the milliseconds from just before fork to that 200
 * (the child's own output goes to /dev/null), then stops the child (SIGTERM, SIGKILL after 2 s) and reaps it. Exit 1 if
 * no 200 arrived within the timeout (default 10 s) or the child died.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long parse_long(const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "coldstart: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

/* probe returns the HTTP status of GET /healthz, or 0 when nothing answered. */
static int probe(int port)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    int status = 0, fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd == -1) {
        return 0;
    }
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
        goto Exit;
    }
    char buf[64];
    size_t len = 0;
    while (len < 12) {
        ssize_t r = read(fd, buf + len, sizeof(buf) - len);
        if (r <= 0) {
            goto Exit;
        }
        len += (size_t)r;
    }
    if (memcmp(buf, "HTTP/1.", 7) == 0) {
        status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    }
Exit:
    close(fd);
    return status;
}

static void stop_child(pid_t pid)
{
    kill(pid, SIGTERM);
    for (int i = 0; i != 2000; ++i) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            return;
        }
        usleep(1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
    int cpu = -1, i = 1;
    long timeout_ms = 10000;
    while (i < argc && strncmp(argv[i], "--", 2) == 0 && i + 1 < argc) {
        if (strcmp(argv[i], "--cpu") == 0) {
            cpu = (int)parse_long(argv[i + 1], 0, CPU_SETSIZE - 1);
        } else if (strcmp(argv[i], "--timeout-ms") == 0) {
            timeout_ms = parse_long(argv[i + 1], 1, 600000);
        } else {
            break;
        }
        i += 2;
    }
    if (argc - i < 2) {
        fprintf(stderr, "usage: coldstart [--cpu N] [--timeout-ms T] PORT PROGRAM [ARGS...]\n");
        return 2;
    }
    int port = (int)parse_long(argv[i], 1, 65535);
    char **child_argv = argv + i + 1;
    if (probe(port) != 0) {
        fprintf(stderr, "coldstart: port %d already answers\n", port);
        return 1;
    }

    uint64_t t0 = now_ns();
    pid_t pid = fork();
    if (pid == -1) {
        perror("coldstart: fork");
        return 1;
    }
    if (pid == 0) {
        if (cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            sched_setaffinity(0, sizeof(set), &set);
        }
        /* The child's output is not ours: stdout carries only the measurement. */
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
            close(devnull);
        }
        execvp(child_argv[0], child_argv);
        perror("coldstart: exec");
        _exit(127);
    }
    int rc = 1;
    uint64_t deadline = t0 + (uint64_t)timeout_ms * 1000000u;
    while (now_ns() < deadline) {
        if (probe(port) == 200) {
            printf("%.2f\n", (double)(now_ns() - t0) / 1e6);
            rc = 0;
            break;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            fprintf(stderr, "coldstart: %s exited before answering\n", child_argv[0]);
            return 1;
        }
        usleep(100);
    }
    if (rc != 0) {
        fprintf(stderr, "coldstart: no 200 on :%d/healthz within %ld ms\n", port, timeout_ms);
    }
    stop_child(pid);
    return rc;
}
