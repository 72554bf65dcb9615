/*
 * env.c: typed, validated reads of environment variables.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "cw/env.h"
#include "cw/util.h"

int cw_env_fail(cw_env_t *env, const char *name, const char *fmt, ...)
{
    if (env->failed) {
        return -1;
    }
    env->failed = 1;
    int n = snprintf(env->error, sizeof(env->error), "%s: ", name);
    if (n < 0 || (size_t)n >= sizeof(env->error)) {
        return -1;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(env->error + n, sizeof(env->error) - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

const char *cw_env_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : def;
}

int cw_env_u64(cw_env_t *env, const char *name, uint64_t def, uint64_t min, uint64_t max, uint64_t *out)
{
    const char *v = cw_env_str(name, NULL);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    if (cw_parse_u64(v, strlen(v), min, max, out) != 0) {
        return cw_env_fail(env, name, "must be a whole number from %llu to %llu", (unsigned long long)min, (unsigned long long)max);
    }
    return 0;
}

int cw_env_bool(cw_env_t *env, const char *name, int def, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};
    const char *v = cw_env_str(name, NULL);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    for (size_t i = 0; i != CW_ARRAY_SIZE(yes); ++i) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return cw_env_fail(env, name, "must be 1 or 0 (true/false, yes/no, on/off)");
}

int cw_env_url(cw_env_t *env, const char *name, const char *def, const char **out)
{
    const char *v = cw_env_str(name, def);
    *out = v;
    if (v == NULL) {
        return 0;
    }
    size_t skip;
    if (strncasecmp(v, "https://", 8) == 0) {
        skip = 8;
    } else if (strncasecmp(v, "http://", 7) == 0) {
        skip = 7;
    } else {
        return cw_env_fail(env, name, "must be an http:// or https:// URL");
    }
    if (v[skip] == '\0' || v[skip] == '/' || strpbrk(v, " \t\r\n") != NULL) {
        return cw_env_fail(env, name, "must be an http:// or https:// URL with a host");
    }
    return 0;
}

/* is_loopback_host reports whether |host| names this machine only. */
static int is_loopback_host(const char *host, size_t len)
{
    char buf[64];
    if (len == 9 && strncasecmp(host, "localhost", 9) == 0) {
        return 1;
    }
    if (len == 0 || len >= sizeof(buf)) {
        return 0;
    }
    memcpy(buf, host, len);
    buf[len] = '\0';
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        return (ntohl(a4.s_addr) >> 24) == 127;
    }
    return inet_pton(AF_INET6, buf, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

int cw_url_is_cleartext_remote(const char *url, size_t len, int bare_is_http)
{
    const char *p = url, *end = url + len;
    if (len >= 7 && strncasecmp(url, "http://", 7) == 0) {
        p += 7;
    } else if (!bare_is_http || memmem(url, len, "://", 3) != NULL) {
        return 0; /* https:// or another scheme */
    }
    /* authority: [userinfo@]host[:port], up to the path, query or fragment */
    const char *auth_end = p;
    while (auth_end != end && *auth_end != '/' && *auth_end != '?' && *auth_end != '#') {
        ++auth_end;
    }
    const char *at = NULL;
    for (const char *q = p; q != auth_end; ++q) {
        if (*q == '@') {
            at = q;
        }
    }
    if (at != NULL) {
        p = at + 1;
    }
    const char *host = p, *host_end;
    if (p != auth_end && *p == '[') {
        host = p + 1;
        host_end = memchr(host, ']', (size_t)(auth_end - host));
        if (host_end == NULL) {
            return 1; /* unparsable: not provably loopback */
        }
    } else {
        host_end = memchr(p, ':', (size_t)(auth_end - p));
        if (host_end == NULL) {
            host_end = auth_end;
        }
    }
    return !is_loopback_host(host, (size_t)(host_end - host));
}

int cw_env_check_cleartext(cw_env_t *env, const char *name, const char *url, size_t len, int bare_is_http, int allow_insecure)
{
    if (allow_insecure || !cw_url_is_cleartext_remote(url, len, bare_is_http)) {
        return 0;
    }
    return cw_env_fail(env, name,
                       "http:// is allowed only to loopback (127.0.0.0/8, ::1, localhost): use https://, or set "
                       "ALLOW_INSECURE_HTTP=1 to send in clear on purpose");
}

int cw_env_enum(cw_env_t *env, const char *name, const char *const *choices, size_t def, size_t *out)
{
    const char *v = cw_env_str(name, NULL);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    cw_buf_t list = CW_BUF_INIT;
    for (size_t i = 0; choices[i] != NULL; ++i) {
        if (strcasecmp(v, choices[i]) == 0) {
            *out = i;
            cw_buf_free(&list);
            return 0;
        }
        cw_buf_appendf(&list, "%s%s", i == 0 ? "" : ", ", choices[i]);
    }
    cw_env_fail(env, name, "must be one of: %s", list.base != NULL ? list.base : "");
    cw_buf_free(&list);
    return -1;
}

size_t cw_env_cpus(void)
{
    size_t n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        n = (size_t)CPU_COUNT(&set);
    }
    if (n == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (size_t)c : 1;
    }
    /* Cloud Run and containers: a cgroup v2 CPU quota caps what is really available. */
    FILE *fp = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (fp != NULL) {
        char quota[32];
        unsigned long long period;
        if (fscanf(fp, "%31s %llu", quota, &period) == 2 && strcmp(quota, "max") != 0 && period != 0) {
            unsigned long long q = strtoull(quota, NULL, 10);
            size_t byquota = (size_t)((q + period - 1) / period);
            if (byquota != 0 && byquota < n) {
                n = byquota;
            }
        }
        fclose(fp);
    }
    return n != 0 ? n : 1;
}
