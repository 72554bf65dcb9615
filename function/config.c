/*
 * config.c: every environment variable clay-function reads, with its default,
 * its validation and its line in --help. The table below is the one place a
 * variable is documented; README.md copies it.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "cw/env.h"
#include "config.h"

typedef struct st_var_doc_t {
    const char *name, *def, *help;
} var_doc_t;

static const var_doc_t vars[] = {
    {"PORT", "8080", "TCP port to listen on (0 picks a free one; the log line \"listening\" names it)"},
    {"BIND_ADDRESS", "0.0.0.0", "IPv4 address to bind"},
    {"WORKERS", "CPUs available", "event-loop threads"},
    {"MAX_BODY_BYTES", "1048576", "largest accepted request body; a larger one is refused with 413"},
    {"MAX_RECEIVING_BYTES", "67108864",
     "budget of request bodies buffered before a handler runs, all connections; past it reading pauses (backpressure), "
     "and bodies over 64 KiB declared past it are answered 503 from their headers"},
    {"H2C", "0", "1 also serves HTTP/2 cleartext (prior knowledge and Upgrade: h2c), e.g. for Cloud Run's --use-http2"},
    {"REQUEST_TIMEOUT_MS", "10000",
     "deadline for a whole request, headers and body, on HTTP/1.1 and HTTP/2 (a stream still receiving is reset), and "
     "keep-alive idle time"},
    {"MAX_CONNECTIONS", "1024", "open client connections, all workers; past it a new connection is closed at once"},
    {"SHUTDOWN_TIMEOUT_MS", "7500", "after SIGTERM, how long in-flight work may take before exit"},
    {"MAX_INFLIGHT", "256", "callbacks being processed at once (per process); past it 503 overloaded with Retry-After: 1"},
    {"MAX_INFLIGHT_BYTES", "33554432", "sum of the bodies of the callbacks being processed; past it 503 overloaded"},
    {"CLAY_WEBHOOK_SECRET", "(required)", "comma-separated secrets; several allow rotation; whsec_ secrets for Standard Webhooks"},
    {"AUTH_SCHEMES", "all", "enabled schemes: static, hmac, standard (comma-separated) or all"},
    {"SIGNATURE_TOLERANCE_S", "300", "Standard Webhooks timestamp tolerance, both ways"},
    {"ALLOW_UNAUTHENTICATED", "0", "1 lets the service start without secrets (accepts anything; logs a WARNING)"},
    {"IDEMPOTENCY_FIELDS", "(none)", "body fields forming the idempotency key when no Idempotency-Key/webhook-id header"},
    {"STORE_URL", "file:./data", "file:DIR, gs://bucket/prefix, azblob://account/container/prefix, s3://bucket/prefix"},
    {"STORE_PREFIX", "(none)", "extra prefix for every object name, e.g. prod/"},
    {"LEASE_S", "30", "how long an event is owned by the instance processing it"},
    {"REDRIVE_MAX_BACKOFF_S", "3600", "cap of the doubling wait between redrive attempts of one event"},
    {"OUTREACH_MIN_SCORE", "80", "icp_score from which a lead with an email goes to outreach"},
    {"NURTURE_MIN_SCORE", "50", "icp_score from which a lead goes to nurture"},
    {"SLACK_MIN_SCORE", "90", "icp_score from which Slack is notified"},
    {"OUTREACH_WEBHOOK_URL", "(off)", "sink for outreach leads"},
    {"NURTURE_WEBHOOK_URL", "(off)", "sink for nurture leads"},
    {"ZAPIER_WEBHOOK_URL", "(off)", "sink for every outreach and nurture lead"},
    {"SLACK_WEBHOOK_URL", "(off)", "Slack incoming webhook for hot leads"},
    {"SINK_TIMEOUT_MS", "5000", "timeout of one delivery attempt"},
    {"DELIVERY_DEADLINE_MS", "8000", "inline retry budget before a callback is answered 202 and left to redrive"},
    {"REDRIVE_TOKEN", "(off)", "bearer token of POST /internal/redrive"},
    {"RELAY_TOKEN", "(off)", "bearer token of POST /api/clay/rows"},
    {"CLAY_WEBHOOK_URLS", "(off)", "Clay table webhook URLs, comma-separated, used in order (rotation)"},
    {"CLAY_WEBHOOK_AUTH", "(none)", "token sent to Clay as x-clay-webhook-auth"},
    {"CLAY_WEBHOOK_LIMIT", "50000", "submissions per Clay webhook URL before rotating"},
    {"CLAY_RATE", "10", "rows per second sent to Clay"},
    {"CLAY_BURST", "20", "burst of rows sent to Clay"},
    {"LOG_LEVEL", "info", "debug, info, warning or error"},
    {"LOG_PII", "0", "1 allows email addresses in logs"},
    {"GOOGLE_CLOUD_PROJECT", "(none)", "project id for trace correlation in logs"},
    {"GOOGLE_OAUTH_ACCESS_TOKEN", "(metadata server)", "GCS bearer token; else the metadata server's"},
    {"GCE_METADATA_HOST", "169.254.169.254", "metadata server host"},
    {"STORAGE_EMULATOR_HOST", "(none)",
     "GCS emulator endpoint (as Google's client libraries); no token unless GOOGLE_OAUTH_ACCESS_TOKEN"},
    {"GCS_ENDPOINT_URL", "https://storage.googleapis.com", "GCS endpoint (private or test), with the usual credentials"},
    {"AZURE_STORAGE_CONNECTION_STRING", "(none)", "Azure Shared Key credentials (UseDevelopmentStorage=true for Azurite)"},
    {"AZURE_STORAGE_KEY", "(none)", "Azure account key when no connection string (with AZURE_STORAGE_ACCOUNT)"},
    {"AZURE_CREATE_CONTAINER", "0", "1 creates the container if missing (development)"},
    {"AWS_ACCESS_KEY_ID", "(none)", "S3 credentials (with AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL)"},
    {"S3_FORCE_PATH_STYLE", "0", "1 uses path-style S3 URLs (MinIO, R2); automatic for IP and localhost endpoints"},
    {"K_SERVICE", "(set by Cloud Run)", "when set, STORE_URL is required (instances need a shared store)"},
    {"ALLOW_INSECURE_HTTP", "0",
     "1 allows http:// to hosts other than loopback (sinks, CLAY_WEBHOOK_URLS, store endpoints); else such a URL exits 2"},
    {"METRICS_TOKEN", "(off)", "when set, GET /metrics needs Authorization: Bearer <METRICS_TOKEN>"},
    {"SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt", "CA bundle for outbound TLS"},
};

void cw_config_print_help(FILE *fp)
{
    fputs("Environment variables (all validated at start; a bad value exits 2 naming the variable):\n", fp);
    for (size_t i = 0; i != sizeof(vars) / sizeof(vars[0]); ++i) {
        fprintf(fp, "  %-32s default %s\n      %s\n", vars[i].name, vars[i].def, vars[i].help);
    }
}

/* check_cleartext_sinks refuses a sink reached by http:// beyond loopback: leads are PII. */
static void check_cleartext_sinks(cw_env_t *env, const cw_config_t *cfg)
{
    const char *const names[] = {"OUTREACH_WEBHOOK_URL", "NURTURE_WEBHOOK_URL", "ZAPIER_WEBHOOK_URL", "SLACK_WEBHOOK_URL"};
    const char *const urls[] = {cfg->outreach_url, cfg->nurture_url, cfg->zapier_url, cfg->slack_url};
    for (size_t i = 0; i != sizeof(names) / sizeof(names[0]); ++i) {
        if (urls[i] != NULL) {
            cw_env_check_cleartext(env, names[i], urls[i], strlen(urls[i]), 0, cfg->allow_insecure_http);
        }
    }
}

/* check_cleartext_azure checks a connection string's BlobEndpoint, or the endpoint it implies
 * (DefaultEndpointsProtocol=http without one: the account's public host, in clear). */
static void check_cleartext_azure(cw_env_t *env, const char *cs, int allow_insecure)
{
    int http = 0, has_endpoint = 0, development = 0;
    for (const char *p = cs; *p != '\0';) {
        size_t n = strcspn(p, ";");
        if (n > 13 && strncasecmp(p, "BlobEndpoint=", 13) == 0) {
            has_endpoint = 1;
            cw_env_check_cleartext(env, "AZURE_STORAGE_CONNECTION_STRING", p + 13, n - 13, 0, allow_insecure);
        } else if (n == 29 && strncasecmp(p, "DefaultEndpointsProtocol=http", 29) == 0) {
            http = 1;
        } else if (n == 26 && strncasecmp(p, "UseDevelopmentStorage=true", 26) == 0) {
            development = 1;
        }
        p += n + (p[n] == ';');
    }
    if (http && !has_endpoint && !development) {
        cw_env_check_cleartext(env, "AZURE_STORAGE_CONNECTION_STRING", "http://blob.core.windows.net", 28, 0, allow_insecure);
    }
}

/* check_cleartext_stores refuses a store endpoint reached by http:// beyond loopback: tokens,
 * SAS strings and signed requests would travel in clear. */
static void check_cleartext_stores(cw_env_t *env, int allow_insecure)
{
    static const char *const endpoints[] = {"GCS_ENDPOINT_URL", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"};
    for (size_t i = 0; i != sizeof(endpoints) / sizeof(endpoints[0]); ++i) {
        const char *v = cw_env_str(endpoints[i], NULL);
        if (v != NULL) {
            cw_env_check_cleartext(env, endpoints[i], v, strlen(v), 0, allow_insecure);
        }
    }
    /* As Google's client libraries, an emulator host without a scheme is http. */
    const char *emulator = cw_env_str("STORAGE_EMULATOR_HOST", NULL);
    if (emulator != NULL) {
        cw_env_check_cleartext(env, "STORAGE_EMULATOR_HOST", emulator, strlen(emulator), 1, allow_insecure);
    }
    const char *cs = cw_env_str("AZURE_STORAGE_CONNECTION_STRING", NULL);
    if (cs != NULL) {
        check_cleartext_azure(env, cs, allow_insecure);
    }
    const char *store_url = cw_env_str("STORE_URL", NULL);
    if (store_url != NULL) {
        cw_env_check_cleartext(env, "STORE_URL", store_url, strlen(store_url), 0, allow_insecure);
    }
}

int cw_config_load(cw_config_t *cfg, char *err, size_t err_size)
{
    static const char *const levels[] = {"debug", "info", "warning", "error", NULL};
    cw_env_t env = {{0}, 0};
    uint64_t v;
    *cfg = (cw_config_t){0};

    cfg->bind_address = cw_env_str("BIND_ADDRESS", "0.0.0.0");
    if (cw_env_u64(&env, "PORT", 8080, 0, 65535, &v) == 0) {
        cfg->port = (uint16_t)v;
    }
    if (cw_env_u64(&env, "WORKERS", 0, 0, 256, &v) == 0) {
        cfg->workers = (size_t)v;
    }
    if (cw_env_u64(&env, "MAX_BODY_BYTES", 1048576, 64, 64 * 1048576, &v) == 0) {
        cfg->max_body_bytes = (size_t)v;
    }
    cw_env_u64(&env, "REQUEST_TIMEOUT_MS", 10000, 100, 3600000, &cfg->request_timeout_ms);
    if (cw_env_u64(&env, "MAX_CONNECTIONS", 1024, 1, 1000000, &v) == 0) {
        cfg->max_connections = (size_t)v;
    }
    cw_env_u64(&env, "SHUTDOWN_TIMEOUT_MS", 7500, 0, 60000, &cfg->shutdown_timeout_ms);
    if (cw_env_u64(&env, "MAX_INFLIGHT", 256, 1, 1000000, &v) == 0) {
        cfg->max_inflight = (size_t)v;
    }
    if (cw_env_u64(&env, "MAX_INFLIGHT_BYTES", 32 * 1048576, 65536, (uint64_t)64 * 1024 * 1048576, &v) == 0) {
        cfg->max_inflight_bytes = (size_t)v;
    }
    if (!env.failed && cfg->max_inflight_bytes < cfg->max_body_bytes) {
        cw_env_fail(&env, "MAX_INFLIGHT_BYTES", "must be at least MAX_BODY_BYTES (%zu)", cfg->max_body_bytes);
    }
    if (cw_env_u64(&env, "MAX_RECEIVING_BYTES", 64 * 1048576, 1048576, (uint64_t)16 * 1024 * 1048576, &v) == 0) {
        cfg->max_receiving_bytes = (size_t)v;
    }
    if (!env.failed && cfg->max_receiving_bytes < cfg->max_body_bytes) {
        cw_env_fail(&env, "MAX_RECEIVING_BYTES", "must be at least MAX_BODY_BYTES (%zu)", cfg->max_body_bytes);
    }
    cw_env_bool(&env, "H2C", 0, &cfg->h2c);

    cfg->webhook_secrets = cw_env_str("CLAY_WEBHOOK_SECRET", NULL);
    cfg->auth_schemes = cw_env_str("AUTH_SCHEMES", "all");
    cw_env_u64(&env, "SIGNATURE_TOLERANCE_S", 300, 1, 7 * 86400, &cfg->signature_tolerance_s);
    cw_env_bool(&env, "ALLOW_UNAUTHENTICATED", 0, &cfg->allow_unauthenticated);
    if (cfg->webhook_secrets == NULL && !cfg->allow_unauthenticated) {
        cw_env_fail(&env, "CLAY_WEBHOOK_SECRET",
                    "not set: the service refuses to start unauthenticated (set it, or ALLOW_UNAUTHENTICATED=1 for local tests)");
    }

    cfg->idempotency_fields = cw_env_str("IDEMPOTENCY_FIELDS", NULL);
    cfg->k_service = cw_env_str("K_SERVICE", NULL);
    cfg->store_url = cw_env_str("STORE_URL", NULL);
    if (cfg->store_url == NULL) {
        if (cfg->k_service != NULL) {
            cw_env_fail(&env, "STORE_URL",
                        "not set on Cloud Run (K_SERVICE is set): instances need a shared store such as gs://bucket/prefix; "
                        "a local directory would lose events and miss duplicates across instances");
        }
        cfg->store_url = "file:./data";
    }
    cfg->store_prefix = cw_env_str("STORE_PREFIX", "");
    if (cfg->store_prefix[0] != '\0') {
        size_t n = strlen(cfg->store_prefix);
        if (cfg->store_prefix[n - 1] != '/' || cfg->store_prefix[0] == '/' ||
            strspn(cfg->store_prefix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") != n) {
            cw_env_fail(&env, "STORE_PREFIX",
                        "must be letters, digits, '.', '_', '-' and '/', end with '/' and not start with '/'");
        }
    }
    cw_env_u64(&env, "LEASE_S", 30, 1, 86400, &cfg->lease_s);
    cw_env_u64(&env, "REDRIVE_MAX_BACKOFF_S", 3600, 1, 7 * 86400, &cfg->redrive_max_backoff_s);

    cw_env_u64(&env, "OUTREACH_MIN_SCORE", 80, 0, 100, &cfg->outreach_min_score);
    cw_env_u64(&env, "NURTURE_MIN_SCORE", 50, 0, 100, &cfg->nurture_min_score);
    cw_env_u64(&env, "SLACK_MIN_SCORE", 90, 0, 100, &cfg->slack_min_score);
    if (!env.failed && cfg->nurture_min_score > cfg->outreach_min_score) {
        cw_env_fail(&env, "NURTURE_MIN_SCORE", "must not exceed OUTREACH_MIN_SCORE (%llu)",
                    (unsigned long long)cfg->outreach_min_score);
    }
    cw_env_bool(&env, "ALLOW_INSECURE_HTTP", 0, &cfg->allow_insecure_http);
    cw_env_url(&env, "OUTREACH_WEBHOOK_URL", NULL, &cfg->outreach_url);
    cw_env_url(&env, "NURTURE_WEBHOOK_URL", NULL, &cfg->nurture_url);
    cw_env_url(&env, "ZAPIER_WEBHOOK_URL", NULL, &cfg->zapier_url);
    cw_env_url(&env, "SLACK_WEBHOOK_URL", NULL, &cfg->slack_url);
    check_cleartext_sinks(&env, cfg);
    cw_env_u64(&env, "SINK_TIMEOUT_MS", 5000, 10, 600000, &cfg->sink_timeout_ms);
    cw_env_u64(&env, "DELIVERY_DEADLINE_MS", 8000, 0, 600000, &cfg->delivery_deadline_ms);

    cfg->redrive_token = cw_env_str("REDRIVE_TOKEN", NULL);
    cfg->relay_token = cw_env_str("RELAY_TOKEN", NULL);
    cfg->clay_webhook_urls = cw_env_str("CLAY_WEBHOOK_URLS", NULL);
    if (cfg->clay_webhook_urls != NULL) {
        /* Each comma-separated entry must be a URL; check them one by one. */
        const char *p = cfg->clay_webhook_urls;
        while (*p != '\0' && !env.failed) {
            size_t n = strcspn(p, ",");
            while (n != 0 && (*p == ' ')) {
                ++p, --n;
            }
            if (n != 0 && !((n > 8 && strncasecmp(p, "https://", 8) == 0) || (n > 7 && strncasecmp(p, "http://", 7) == 0))) {
                cw_env_fail(&env, "CLAY_WEBHOOK_URLS", "every entry must be an http:// or https:// URL");
            }
            cw_env_check_cleartext(&env, "CLAY_WEBHOOK_URLS", p, n, 0, cfg->allow_insecure_http);
            p += n;
            if (*p == ',') {
                ++p;
            }
        }
    }
    cfg->clay_webhook_auth = cw_env_str("CLAY_WEBHOOK_AUTH", NULL);
    cw_env_u64(&env, "CLAY_WEBHOOK_LIMIT", 50000, 1, 100000000, &cfg->clay_webhook_limit);
    cw_env_u64(&env, "CLAY_RATE", 10, 1, 100000, &cfg->clay_rate);
    cw_env_u64(&env, "CLAY_BURST", 20, 1, 100000, &cfg->clay_burst);

    check_cleartext_stores(&env, cfg->allow_insecure_http);
    cfg->metrics_token = cw_env_str("METRICS_TOKEN", NULL);

    cw_env_bool(&env, "LOG_PII", 0, &cfg->log_pii);
    cw_env_enum(&env, "LOG_LEVEL", levels, 1, &cfg->log_level);
    cfg->project = cw_env_str("GOOGLE_CLOUD_PROJECT", NULL);

    if (env.failed) {
        snprintf(err, err_size, "%s", env.error);
        return -1;
    }
    return 0;
}
