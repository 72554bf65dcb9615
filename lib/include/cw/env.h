/*
 * env.h: configuration from environment variables, validated at start. Each
 * reader returns 0 and stores the value (the default when the variable is
 * unset or empty), or -1 after recording one line that names the variable and
 * what is wrong in |env|->error (the first error wins).
 */
#ifndef CW_ENV_H
#define CW_ENV_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_cw_env_t {
    char error[512]; /* "" until a reader failed */
    int failed;
} cw_env_t;

/* cw_env_u64 reads a decimal integer within [min, max]. */
int cw_env_u64(cw_env_t *env, const char *name, uint64_t def, uint64_t min, uint64_t max, uint64_t *out);
/* cw_env_bool reads 1/0/true/false/yes/no/on/off. */
int cw_env_bool(cw_env_t *env, const char *name, int def, int *out);
/* cw_env_str returns the value or |def| (borrowed from the environment; may be NULL). Never fails. */
const char *cw_env_str(const char *name, const char *def);
/* cw_env_url reads an absolute http:// or https:// URL (NULL when unset and def is NULL). */
int cw_env_url(cw_env_t *env, const char *name, const char *def, const char **out);
/* cw_env_enum reads one of |choices| (NULL-terminated); stores its index. */
int cw_env_enum(cw_env_t *env, const char *name, const char *const *choices, size_t def, size_t *out);
/* cw_url_is_cleartext_remote reports whether |url| (|len| bytes) is an http:// URL, or a bare
 * "host[:port]" when |bare_is_http|, whose host is not loopback (127.0.0.0/8, ::1, localhost):
 * 1 when it would carry data in clear beyond this machine, else 0. Borrows |url|; any thread. */
int cw_url_is_cleartext_remote(const char *url, size_t len, int bare_is_http);
/* cw_env_check_cleartext fails |env| naming |name| when |url| is cleartext to a remote host
 * (cw_url_is_cleartext_remote) and |allow_insecure| is 0 (ALLOW_INSECURE_HTTP). Returns 0 or -1. */
int cw_env_check_cleartext(cw_env_t *env, const char *name, const char *url, size_t len, int bare_is_http, int allow_insecure);
/* cw_env_fail records a custom error "NAME: message". Always returns -1. */
int cw_env_fail(cw_env_t *env, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* cw_env_cpus returns the CPUs available to the process (affinity mask, cgroup quota), at least 1. */
size_t cw_env_cpus(void);

#endif
