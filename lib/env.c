/*
 * env.c: typed, validated reads of environment variables.
 */
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
