/*
 * fire_report.c: fire's summary as text and as JSON (see fire_report.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cw/util.h"
#include "fire_plan.h"
#include "fire_report.h"

/* count_name adds one to |name|'s entry of |results| (|*num| of CW_FIRE_MAX_RESULTS in use). */
static void count_name(cw_fire_result_count_t *results, size_t *num, const char *name)
{
    char key[CW_FIRE_RESULT_NAME_SIZE];
    if (name == NULL) {
        name = "(none)";
    } else if (strlen(name) >= sizeof(key)) {
        name = "(other)";
    }
    snprintf(key, sizeof(key), "%s", name);
    for (size_t i = 0; i != *num; ++i) {
        if (strcmp(results[i].name, key) == 0) {
            ++results[i].count;
            return;
        }
    }
    if (*num >= CW_FIRE_MAX_RESULTS - 1 && strcmp(key, "(other)") != 0) {
        /* Keep the last slot for everything past the first few names. */
        count_name(results, num, "(other)");
        return;
    }
    cw_fire_result_count_t *r = &results[(*num)++];
    memcpy(r->name, key, sizeof(key));
    r->count = 1;
}

void cw_fire_stats_count_result(cw_fire_stats_t *stats, const char *name)
{
    count_name(stats->results, &stats->num_results, name);
}

void cw_fire_stats_count_after_timeout(cw_fire_stats_t *stats, const char *name)
{
    count_name(stats->after_timeout, &stats->num_after_timeout, name);
}

void cw_fire_stats_finish(cw_fire_stats_t *stats)
{
    cw_fire_sort_u64(stats->latency_us, stats->num_sends);
}

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static double mean_us(const cw_fire_stats_t *stats)
{
    if (stats->num_sends == 0) {
        return 0;
    }
    double sum = 0;
    for (size_t i = 0; i != stats->num_sends; ++i) {
        sum += (double)stats->latency_us[i];
    }
    return sum / (double)stats->num_sends;
}

static double achieved_rate(const cw_fire_stats_t *stats)
{
    return stats->elapsed_us == 0 ? 0 : (double)stats->num_sends * 1e6 / (double)stats->elapsed_us;
}

void cw_fire_report_human(const cw_fire_stats_t *stats, FILE *fp)
{
    fprintf(fp, "fire: %zu requests (%zu leads x %zu) to %s, scheme %s, tamper %s, %s, seed %llu\n", stats->num_sends,
            stats->num_leads, stats->dup, stats->target, stats->scheme, stats->tamper, stats->source,
            (unsigned long long)stats->seed);
    fputs("status:", fp);
    for (size_t s = 0; s != CW_FIRE_MAX_STATUS; ++s) {
        if (stats->by_status[s] != 0) {
            if (s == 0) {
                fprintf(fp, " error=%llu", (unsigned long long)stats->by_status[s]);
            } else {
                fprintf(fp, " %zu=%llu", s, (unsigned long long)stats->by_status[s]);
            }
        }
    }
    fputs("\nresult:", fp);
    for (size_t i = 0; i != stats->num_results; ++i) {
        fprintf(fp, " %s=%llu", stats->results[i].name, (unsigned long long)stats->results[i].count);
    }
    fprintf(fp, "\nattempts: %llu, retries: %llu, transport errors: %llu; ok %llu, failed %llu\n",
            (unsigned long long)stats->num_attempts, (unsigned long long)stats->num_retries,
            (unsigned long long)stats->num_transport_errors, (unsigned long long)stats->num_ok,
            (unsigned long long)(stats->num_sends - stats->num_ok));
    if (stats->num_timed_out != 0) {
        fprintf(fp, "timed out: %llu attempts unanswered after %llu ms; answers to their resends:",
                (unsigned long long)stats->num_timed_out, (unsigned long long)stats->timeout_ms);
        for (size_t i = 0; i != stats->num_after_timeout; ++i) {
            fprintf(fp, " %s=%llu", stats->after_timeout[i].name, (unsigned long long)stats->after_timeout[i].count);
        }
        fputs(stats->num_after_timeout == 0 ? " none (no retry)\n" : "\n", fp);
    }
    const uint64_t *l = stats->latency_us;
    size_t n = stats->num_sends;
    fprintf(fp, "latency ms: p50 %.3f, p90 %.3f, p99 %.3f, max %.3f, mean %.3f%s\n", ms(cw_fire_percentile(l, n, 50)),
            ms(cw_fire_percentile(l, n, 90)), ms(cw_fire_percentile(l, n, 99)), ms(cw_fire_percentile(l, n, 100)),
            mean_us(stats) / 1000.0, stats->offered_rate > 0 ? " (from the scheduled start)" : "");
    if (stats->offered_rate > 0) {
        fprintf(fp, "rate: %.1f req/s achieved, %.1f offered, over %.3f s\n", achieved_rate(stats), stats->offered_rate,
                (double)stats->elapsed_us / 1e6);
    } else {
        fprintf(fp, "rate: %.1f req/s achieved at concurrency %zu, over %.3f s\n", achieved_rate(stats), stats->concurrency,
                (double)stats->elapsed_us / 1e6);
    }
    if (stats->expected_known) {
        fprintf(fp, "expected deliveries (unique leads): outreach=%u nurture=%u zapier=%u slack=%u\n", stats->expected.outreach,
                stats->expected.nurture, stats->expected.zapier, stats->expected.slack);
    } else {
        fputs("expected deliveries: unknown (the fixture does not say)\n", fp);
    }
}

static cJSON *num(double v)
{
    return cJSON_CreateNumber(v);
}

/* round3 keeps three decimals, enough for milliseconds with microsecond samples. */
static double round3(double v)
{
    return (double)(int64_t)(v * 1000.0 + (v >= 0 ? 0.5 : -0.5)) / 1000.0;
}

char *cw_fire_report_json(const cw_fire_stats_t *stats)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "target", stats->target);
    cJSON_AddStringToObject(root, "scheme", stats->scheme);
    cJSON_AddStringToObject(root, "tamper", stats->tamper);
    cJSON_AddStringToObject(root, "source", stats->source);
    char seed[24];
    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)stats->seed);
    cJSON_AddStringToObject(root, "seed", seed); /* a string: 64-bit values do not survive a double */
    cJSON_AddItemToObject(root, "leads", num((double)stats->num_leads));
    cJSON_AddItemToObject(root, "dup", num((double)stats->dup));
    cJSON_AddItemToObject(root, "requests", num((double)stats->num_sends));
    cJSON_AddItemToObject(root, "concurrency", num((double)stats->concurrency));
    if (stats->offered_rate > 0) {
        cJSON_AddItemToObject(root, "offered_rate", num(stats->offered_rate));
    } else {
        cJSON_AddNullToObject(root, "offered_rate");
    }
    cJSON_AddBoolToObject(root, "retry", stats->retry);

    cJSON *by_status = cJSON_AddObjectToObject(root, "by_status");
    for (size_t s = 0; s != CW_FIRE_MAX_STATUS; ++s) {
        if (stats->by_status[s] != 0) {
            char key[8];
            snprintf(key, sizeof(key), "%zu", s);
            cJSON_AddItemToObject(by_status, s == 0 ? "error" : key, num((double)stats->by_status[s]));
        }
    }
    cJSON *by_result = cJSON_AddObjectToObject(root, "by_result");
    for (size_t i = 0; i != stats->num_results; ++i) {
        cJSON_AddItemToObject(by_result, stats->results[i].name, num((double)stats->results[i].count));
    }
    cJSON_AddItemToObject(root, "attempts", num((double)stats->num_attempts));
    cJSON_AddItemToObject(root, "retries", num((double)stats->num_retries));
    cJSON_AddItemToObject(root, "transport_errors", num((double)stats->num_transport_errors));
    cJSON_AddItemToObject(root, "timed_out", num((double)stats->num_timed_out));
    cJSON *after_timeout = cJSON_AddObjectToObject(root, "after_timeout");
    for (size_t i = 0; i != stats->num_after_timeout; ++i) {
        cJSON_AddItemToObject(after_timeout, stats->after_timeout[i].name, num((double)stats->after_timeout[i].count));
    }
    if (stats->retry) {
        cJSON_AddItemToObject(root, "max_attempts", num(stats->max_attempts));
    } else {
        cJSON_AddNullToObject(root, "max_attempts");
    }
    cJSON_AddItemToObject(root, "timeout_ms", num((double)stats->timeout_ms));
    cJSON_AddItemToObject(root, "ok", num((double)stats->num_ok));
    cJSON_AddItemToObject(root, "failed", num((double)(stats->num_sends - stats->num_ok)));

    cJSON *lat = cJSON_AddObjectToObject(root, "latency_ms");
    const uint64_t *l = stats->latency_us;
    size_t n = stats->num_sends;
    cJSON_AddItemToObject(lat, "p50", num(round3(ms(cw_fire_percentile(l, n, 50)))));
    cJSON_AddItemToObject(lat, "p90", num(round3(ms(cw_fire_percentile(l, n, 90)))));
    cJSON_AddItemToObject(lat, "p99", num(round3(ms(cw_fire_percentile(l, n, 99)))));
    cJSON_AddItemToObject(lat, "max", num(round3(ms(cw_fire_percentile(l, n, 100)))));
    cJSON_AddItemToObject(lat, "mean", num(round3(mean_us(stats) / 1000.0)));
    cJSON_AddItemToObject(root, "elapsed_s", num(round3((double)stats->elapsed_us / 1e6)));
    cJSON_AddItemToObject(root, "achieved_rate", num(round3(achieved_rate(stats))));

    if (stats->expected_known) {
        cJSON *exp = cJSON_AddObjectToObject(root, "expected_deliveries");
        cJSON_AddItemToObject(exp, "outreach", num(stats->expected.outreach));
        cJSON_AddItemToObject(exp, "nurture", num(stats->expected.nurture));
        cJSON_AddItemToObject(exp, "zapier", num(stats->expected.zapier));
        cJSON_AddItemToObject(exp, "slack", num(stats->expected.slack));
    } else {
        cJSON_AddNullToObject(root, "expected_deliveries");
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (text == NULL) {
        abort(); /* cJSON only fails on exhaustion */
    }
    return text;
}
