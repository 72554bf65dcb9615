/*
 * idem.c: the idempotency key and event id (see idem.h). The field-based key is
 * streamed into SHA-256 rather than built in memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>
#include "cw/util.h"
#include "idem.h"
#include "lead.h"

/* Object keys longer than this (folded) match no configured name. */
#define KEY_FOLD_MAX 256

struct st_cw_idem_fields_t {
    size_t num_names;
    char **names; /* folded, NUL-terminated */
};

cw_idem_fields_t *cw_idem_fields_new(const char *csv)
{
    cw_idem_fields_t *fields;
    const char *p = csv;

    if (csv == NULL) {
        return NULL;
    }
    fields = cw_calloc(1, sizeof(*fields));
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        char *folded = cw_malloc(len + 1);
        if (cw_lead_key_fold(folded, len + 1, p, len) > 0) {
            fields->names = cw_realloc(fields->names, (fields->num_names + 1) * sizeof(*fields->names));
            fields->names[fields->num_names++] = folded;
        } else {
            free(folded);
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    if (fields->num_names == 0) {
        cw_idem_fields_free(fields);
        return NULL;
    }
    return fields;
}

void cw_idem_fields_free(cw_idem_fields_t *fields)
{
    if (fields == NULL) {
        return;
    }
    for (size_t i = 0; i != fields->num_names; ++i) {
        free(fields->names[i]);
    }
    free(fields->names);
    free(fields);
}

size_t cw_idem_fields_count(const cw_idem_fields_t *fields)
{
    return fields != NULL ? fields->num_names : 0;
}

static int has_content(const char *s, size_t len)
{
    if (s == NULL) {
        return 0;
    }
    cw_trim_ws(&s, &len);
    return len != 0;
}

/* Returns the first member of |object| whose folded key is |name| and whose
 * value is present (not null, not an empty or blank string), or NULL. */
static const cJSON *find_field(const cJSON *object, const char *name)
{
    const cJSON *item;
    char folded[KEY_FOLD_MAX];

    cJSON_ArrayForEach(item, object)
    {
        if (item->string == NULL || cw_lead_key_fold(folded, sizeof(folded), item->string, strlen(item->string)) <= 0 ||
            strcmp(folded, name) != 0 || cJSON_IsNull(item)) {
            continue;
        }
        if (cJSON_IsString(item) && cw_lead_text_is_absent(item->valuestring, strlen(item->valuestring))) {
            continue;
        }
        return item;
    }
    return NULL;
}

static void hash_value(SHA256_CTX *ctx, const char *s, size_t len)
{
    char prefix[32];
    int n = snprintf(prefix, sizeof(prefix), "%zu:", len);

    SHA256_Update(ctx, prefix, (size_t)n);
    SHA256_Update(ctx, s, len);
    SHA256_Update(ctx, "\x1f", 1);
}

static void hash_item(SHA256_CTX *ctx, const cJSON *item)
{
    if (cJSON_IsString(item)) {
        const char *s = item->valuestring;
        size_t len = strlen(s);
        cw_trim_ws(&s, &len);
        hash_value(ctx, s, len);
    } else if (cJSON_IsNumber(item)) {
        char printed[64];
        if (cJSON_PrintPreallocated((cJSON *)item, printed, sizeof(printed), 0)) {
            hash_value(ctx, printed, strlen(printed));
        } else {
            hash_value(ctx, CW_STRLIT("null"));
        }
    } else if (cJSON_IsBool(item)) {
        if (cJSON_IsTrue(item)) {
            hash_value(ctx, CW_STRLIT("true"));
        } else {
            hash_value(ctx, CW_STRLIT("false"));
        }
    } else {
        char *printed = cJSON_PrintUnformatted(item);
        if (printed == NULL) {
            fprintf(stderr, "fatal: out of memory printing JSON\n");
            abort();
        }
        hash_value(ctx, printed, strlen(printed));
        cJSON_free(printed);
    }
}

/* Hashes the field-based key into |out_digest|. Returns 0, or -1 when a field is missing. */
static int hash_fields(uint8_t out_digest[SHA256_DIGEST_LENGTH], const cw_idem_fields_t *fields, const cJSON *original)
{
    SHA256_CTX ctx;

    if (fields == NULL || !cJSON_IsObject(original)) {
        return -1;
    }
    for (size_t i = 0; i != fields->num_names; ++i) {
        if (find_field(original, fields->names[i]) == NULL) {
            return -1;
        }
    }
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, CW_STRLIT("fields"));
    for (size_t i = 0; i != fields->num_names; ++i) {
        SHA256_Update(&ctx, "\x1f", 1);
        SHA256_Update(&ctx, fields->names[i], strlen(fields->names[i]));
    }
    SHA256_Update(&ctx, "\x1e", 1);
    for (size_t i = 0; i != fields->num_names; ++i) {
        hash_item(&ctx, find_field(original, fields->names[i]));
    }
    SHA256_Final(out_digest, &ctx);
    return 0;
}

static int is_signed_scheme(const char *scheme)
{
    return scheme != NULL && (strcmp(scheme, "hmac") == 0 || strcmp(scheme, "standard") == 0);
}

void cw_idem_event_id(char out_id[CW_IDEM_ID_LEN + 1], const char **out_source, const cw_idem_sources_t *src,
                      const cw_idem_fields_t *fields, const cJSON *original, const void *body, size_t body_len)
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    const char *source;
    int is_standard = src->scheme != NULL && strcmp(src->scheme, "standard") == 0;
    int unsigned_keys = !is_signed_scheme(src->scheme);

    if (is_standard && has_content(src->webhook_id, src->webhook_id_len)) {
        SHA256((const uint8_t *)src->webhook_id, src->webhook_id_len, digest);
        source = "webhook-id";
    } else if (unsigned_keys && has_content(src->idempotency_key, src->idempotency_key_len)) {
        SHA256((const uint8_t *)src->idempotency_key, src->idempotency_key_len, digest);
        source = "idempotency-key";
    } else if (unsigned_keys && has_content(src->query_key, src->query_key_len)) {
        SHA256((const uint8_t *)src->query_key, src->query_key_len, digest);
        source = "query";
    } else if (hash_fields(digest, fields, original) == 0) {
        source = "fields";
    } else {
        SHA256(body != NULL ? body : (const void *)"", body != NULL ? body_len : 0, digest);
        source = "body";
    }
    cw_hex_encode(out_id, digest, sizeof(digest));
    if (out_source != NULL) {
        *out_source = source;
    }
}

int cw_idem_ignored_key(const cw_idem_sources_t *src)
{
    return is_signed_scheme(src->scheme) &&
           (has_content(src->idempotency_key, src->idempotency_key_len) || has_content(src->query_key, src->query_key_len));
}
