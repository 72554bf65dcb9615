/*
 * mock_util.c: pure helpers of the mock server (see mock_util.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "mock_util.h"

void cw_mock_bucket_init(cw_mock_bucket_t *bucket, double rate, double burst, uint64_t now_ms)
{
    bucket->rate = rate > 0 ? rate : 1;
    bucket->burst = burst >= 1 ? burst : 1;
    bucket->tokens = bucket->burst;
    bucket->last_ms = now_ms;
}

int cw_mock_bucket_take(cw_mock_bucket_t *bucket, double n, uint64_t now_ms, uint64_t *out_wait_ms)
{
    if (now_ms > bucket->last_ms) {
        bucket->tokens += (double)(now_ms - bucket->last_ms) * bucket->rate / 1000.0;
        if (bucket->tokens > bucket->burst) {
            bucket->tokens = bucket->burst;
        }
        bucket->last_ms = now_ms;
    }
    /* A little slack so that refills computed in floating point do not miss by an ulp. */
    if (bucket->tokens + 1e-9 >= n) {
        bucket->tokens -= n;
        if (bucket->tokens < 0) {
            bucket->tokens = 0;
        }
        return 0;
    }
    if (out_wait_ms != NULL) {
        if (n > bucket->burst) {
            *out_wait_ms = UINT64_MAX;
        } else {
            *out_wait_ms = (uint64_t)ceil((n - bucket->tokens) * 1000.0 / bucket->rate);
        }
    }
    return -1;
}

uint64_t cw_mock_retry_after_s(uint64_t wait_ms)
{
    if (wait_ms == UINT64_MAX) {
        return 3600;
    }
    uint64_t s = (wait_ms + 999) / 1000;
    return s < 1 ? 1 : s;
}

void cw_mock_rng_seed(cw_mock_rng_t *rng, uint64_t seed)
{
    rng->state = seed;
}

uint64_t cw_mock_rng_next(cw_mock_rng_t *rng)
{
    return cw_splitmix64(&rng->state);
}

double cw_mock_rng_unit(cw_mock_rng_t *rng)
{
    return (double)(cw_mock_rng_next(rng) >> 11) / 9007199254740992.0; /* 2^53 */
}

int cw_mock_url_decode(cw_buf_t *out, const char *s, size_t len, int plus_is_space)
{
    return cw_url_decode(out, s, len, plus_is_space);
}

int cw_mock_query_get(const char *query, size_t query_len, const char *name, cw_buf_t *out)
{
    size_t name_len = strlen(name);
    size_t pos = 0;
    while (pos <= query_len && query != NULL) {
        const char *amp = memchr(query + pos, '&', query_len - pos);
        size_t end = amp != NULL ? (size_t)(amp - query) : query_len;
        const char *param = query + pos;
        size_t param_len = end - pos;
        const char *eq = memchr(param, '=', param_len);
        size_t key_len = eq != NULL ? (size_t)(eq - param) : param_len;
        if (key_len == name_len && memcmp(param, name, name_len) == 0) {
            if (eq == NULL) {
                cw_buf_reserve(out, 0);
                return 1;
            }
            size_t value_len = param_len - key_len - 1;
            return cw_mock_url_decode(out, eq + 1, value_len, 1) == 0 ? 1 : -1;
        }
        if (amp == NULL) {
            break;
        }
        pos = end + 1;
    }
    return 0;
}

void cw_mock_xml_escape(cw_buf_t *out, const char *s, size_t len)
{
    cw_buf_reserve(out, len);
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&':
            cw_buf_appends(out, "&amp;");
            break;
        case '<':
            cw_buf_appends(out, "&lt;");
            break;
        case '>':
            cw_buf_appends(out, "&gt;");
            break;
        case '"':
            cw_buf_appends(out, "&quot;");
            break;
        case '\'':
            cw_buf_appends(out, "&apos;");
            break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
                cw_buf_appends(out, "\xef\xbf\xbd");
            } else {
                cw_buf_append(out, &s[i], 1);
            }
            break;
        }
    }
}

struct st_cw_mock_strset_slot_t {
    char *s; /* NULL: empty slot */
    size_t len;
    uint64_t hash;
};

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i != len; ++i) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static struct st_cw_mock_strset_slot_t *find_slot(struct st_cw_mock_strset_slot_t *slots, size_t num_slots, const char *s,
                                                  size_t len, uint64_t hash)
{
    size_t mask = num_slots - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        struct st_cw_mock_strset_slot_t *slot = &slots[i];
        if (slot->s == NULL || (slot->hash == hash && slot->len == len && memcmp(slot->s, s, len) == 0)) {
            return slot;
        }
    }
}

static void grow(cw_mock_strset_t *set)
{
    size_t num_slots = set->num_slots == 0 ? 64 : set->num_slots * 2;
    struct st_cw_mock_strset_slot_t *slots = cw_calloc(num_slots, sizeof(*slots));
    for (size_t i = 0; i != set->num_slots; ++i) {
        struct st_cw_mock_strset_slot_t *old = &set->slots[i];
        if (old->s != NULL) {
            *find_slot(slots, num_slots, old->s, old->len, old->hash) = *old;
        }
    }
    free(set->slots);
    set->slots = slots;
    set->num_slots = num_slots;
}

int cw_mock_strset_add(cw_mock_strset_t *set, const char *s, size_t len)
{
    /* Keep the load under 1/2 so probes stay short. */
    if ((set->num_items + 1) * 2 > set->num_slots) {
        grow(set);
    }
    uint64_t hash = hash_bytes(s, len);
    struct st_cw_mock_strset_slot_t *slot = find_slot(set->slots, set->num_slots, s, len, hash);
    if (slot->s != NULL) {
        return 0;
    }
    slot->s = cw_strndup(s, len);
    slot->len = len;
    slot->hash = hash;
    ++set->num_items;
    return 1;
}

int cw_mock_strset_has(const cw_mock_strset_t *set, const char *s, size_t len)
{
    if (set->num_slots == 0) {
        return 0;
    }
    return find_slot(set->slots, set->num_slots, s, len, hash_bytes(s, len))->s != NULL;
}

void cw_mock_strset_clear(cw_mock_strset_t *set)
{
    for (size_t i = 0; i != set->num_slots; ++i) {
        free(set->slots[i].s);
    }
    free(set->slots);
    *set = (cw_mock_strset_t)CW_MOCK_STRSET_INIT;
}

int cw_mock_valid_name(const char *s, size_t len, size_t max_len)
{
    if (len == 0 || len > max_len) {
        return 0;
    }
    for (size_t i = 0; i != len; ++i) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            return 0;
        }
    }
    return 1;
}
