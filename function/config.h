/*
 * config.h: clay-function's configuration, read once from the environment and
 * validated at start (a bad value exits 2 with one line naming the variable).
 */
#ifndef CW_CONFIG_H
#define CW_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct st_cw_config_t {
    /* serving */
    const char *bind_address; /* never NULL */
    uint16_t port;
    size_t workers; /* 0: CPUs available */
    size_t max_body_bytes;
    size_t max_receiving_bytes; /* budget of bodies buffered before handlers run (issue 16) */
    int h2c;                    /* 1: HTTP/2 cleartext (prior knowledge and Upgrade) besides HTTP/1.1 */
    uint64_t request_timeout_ms;
    size_t max_connections; /* open client connections, all workers */
    uint64_t shutdown_timeout_ms;
    size_t max_inflight;       /* callbacks being processed at once, per process; past it 503 overloaded */
    size_t max_inflight_bytes; /* sum of their bodies; past it 503 overloaded */
    /* authentication */
    const char *webhook_secrets; /* CLAY_WEBHOOK_SECRET; NULL when unset */
    const char *auth_schemes;    /* never NULL */
    uint64_t signature_tolerance_s;
    int allow_unauthenticated;
    /* idempotency and store */
    const char *idempotency_fields; /* may be NULL */
    const char *store_url;          /* never NULL */
    const char *store_prefix;       /* never NULL; "" or ends with '/' */
    uint64_t lease_s;
    uint64_t redrive_max_backoff_s;
    /* routing and sinks */
    uint64_t outreach_min_score, nurture_min_score, slack_min_score;
    const char *outreach_url, *nurture_url, *zapier_url, *slack_url; /* NULL: sink off */
    uint64_t sink_timeout_ms;
    uint64_t delivery_deadline_ms;
    int allow_insecure_http; /* ALLOW_INSECURE_HTTP: http:// beyond loopback allowed */
    /* tokens */
    const char *redrive_token; /* NULL: /internal/redrive is off */
    const char *relay_token;   /* NULL: /api/clay/rows refuses every request */
    const char *metrics_token; /* NULL: GET /metrics is open */
    /* rows into Clay */
    const char *clay_webhook_urls; /* comma-separated; NULL: relay off */
    const char *clay_webhook_auth; /* may be NULL */
    uint64_t clay_webhook_limit;
    uint64_t clay_rate, clay_burst;
    /* logging */
    int log_pii;
    size_t log_level;      /* index into debug, info, warning, error */
    const char *project;   /* GOOGLE_CLOUD_PROJECT; may be NULL */
    const char *k_service; /* set on Cloud Run */
} cw_config_t;

/* cw_config_load fills |cfg| from the environment. Returns 0, or -1 with one
 * line "NAME: what is wrong" in |err|. |cfg| borrows strings from environ. */
int cw_config_load(cw_config_t *cfg, char *err, size_t err_size);

/* cw_config_print_help writes every variable with its default and meaning. */
void cw_config_print_help(FILE *fp);

#endif
