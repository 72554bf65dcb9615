/*
 * fuzz_auth.c: cw_auth_verify on arbitrary header values and bodies, and
 * cw_auth_parse_schemes / cw_auth_new on arbitrary strings (function/receive/auth.h).
 *
 * Input layout (so a seed reads like a request):
 *   byte 0    flags: bit i (0..5) = header i is present; bit 6 = replace
 *             X-Clay-Signature by a correct one; bit 7 = replace webhook-timestamp
 *             and webhook-signature by correct ones for the given webhook-id
 *   then      up to six '\n'-terminated values, in this order: X-Clay-Secret,
 *             Authorization, X-Clay-Signature, webhook-id, webhook-timestamp,
 *             webhook-signature (a missing terminator leaves the rest absent)
 *   the rest  the body (any bytes)
 * Each value is copied into a buffer of its exact size, so ASan sees any read
 * past it.
 *
 * Oracles besides the sanitizers: the all-schemes verifier agrees with the three
 * single-scheme ones (OK from the first scheme that passes, in the order static,
 * hmac, standard, else the worst failure); a signature made by the harness's
 * independent signer (harness/gen/sign.h) always verifies.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "sign.h"

/* The secrets the fixtures are recorded with (fixtures/README.md), so seeds made from them verify. */
#define FUZZ_SECRETS "fixture-secret-1,fixture-secret-2,whsec_L+a80ygH3VKIo69SC0mqH8opR1yagHFp7mRJSbAgM8Q="
#define FUZZ_HMAC_SECRET "fixture-secret-2"
#define FUZZ_WHSEC_SECRET "whsec_L+a80ygH3VKIo69SC0mqH8opR1yagHFp7mRJSbAgM8Q="
#define FUZZ_NOW 1700000000
#define FUZZ_TOLERANCE 300
#define NUM_VALUES 6
#define MAX_STRING_INPUT 4096

#define CHECK(cond)                                                                                                                \
    do {                                                                                                                           \
        if (!(cond)) {                                                                                                             \
            fprintf(stderr, "fuzz_auth: check failed at line %d: %s\n", __LINE__, #cond);                                          \
            abort();                                                                                                               \
        }                                                                                                                          \
    } while (0)

static cw_auth_t *verifier_all, *verifier_one[3];
static const unsigned one_scheme[3] = {CW_AUTH_STATIC, CW_AUTH_HMAC, CW_AUTH_STANDARD};
static const char *const one_name[3] = {"static", "hmac", "standard"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];

    verifier_all = cw_auth_new(FUZZ_SECRETS, CW_AUTH_ALL, FUZZ_TOLERANCE, err, sizeof(err));
    CHECK(verifier_all != NULL);
    for (size_t i = 0; i != 3; ++i) {
        verifier_one[i] = cw_auth_new(FUZZ_SECRETS, one_scheme[i], FUZZ_TOLERANCE, err, sizeof(err));
        CHECK(verifier_one[i] != NULL);
    }
    return 0;
}

/* Copies |len| bytes into a fresh buffer of exactly that size (at least 1 so malloc never returns NULL for 0). */
static char *exact_copy(const uint8_t *p, size_t len)
{
    char *copy = malloc(len != 0 ? len : 1);
    CHECK(copy != NULL);
    if (len != 0) {
        memcpy(copy, p, len);
    }
    return copy;
}

/* Returns a NUL-terminated copy of at most MAX_STRING_INPUT bytes. */
static char *string_copy(const uint8_t *p, size_t len)
{
    if (len > MAX_STRING_INPUT) {
        len = MAX_STRING_INPUT;
    }
    char *s = malloc(len + 1);
    CHECK(s != NULL);
    memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

static void fuzz_strings(const uint8_t *data, size_t size)
{
    char *s = string_copy(data, size), err[256];
    unsigned schemes = 0xdead;

    if (cw_auth_parse_schemes(s, &schemes) == 0) {
        CHECK(schemes != 0 && (schemes & ~CW_AUTH_ALL) == 0);
    }
    err[0] = '\0';
    cw_auth_t *auth = cw_auth_new(s, CW_AUTH_ALL, FUZZ_TOLERANCE, err, sizeof(err));
    if (auth != NULL) {
        CHECK(cw_auth_num_secrets(auth) >= 1);
    } else {
        CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
    }
    cw_auth_free(auth);
    free(s);
}

/* The six values as (ptr, len) slots of cw_auth_headers_t, in the input's order. */
static void header_slot(cw_auth_headers_t *h, size_t i, const char ***out_ptr, size_t **out_len)
{
    const char **ptrs[NUM_VALUES] = {&h->x_clay_secret, &h->authorization,     &h->x_clay_signature,
                                     &h->webhook_id,    &h->webhook_timestamp, &h->webhook_signature};
    size_t *lens[NUM_VALUES] = {&h->x_clay_secret_len, &h->authorization_len,     &h->x_clay_signature_len,
                                &h->webhook_id_len,    &h->webhook_timestamp_len, &h->webhook_signature_len};
    *out_ptr = ptrs[i];
    *out_len = lens[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cw_auth_headers_t h = {0};
    char *values[NUM_VALUES] = {NULL};
    char hmac_value[7 + 65], ts_value[32], sig_value[64], *id = NULL;
    size_t pos = 1;
    int expect_ok = 0;

    fuzz_strings(data, size);
    if (size == 0) {
        return 0;
    }
    uint8_t flags = data[0];
    for (size_t i = 0; i != NUM_VALUES && pos <= size; ++i) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        if (nl == NULL) {
            break;
        }
        size_t len = (size_t)(nl - (data + pos));
        if ((flags & (1u << i)) != 0) {
            const char **ptr;
            size_t *plen;
            header_slot(&h, i, &ptr, &plen);
            values[i] = exact_copy(data + pos, len);
            *ptr = values[i];
            *plen = len;
        }
        pos += len + 1;
    }
    char *body = exact_copy(data + pos, size - pos);
    size_t body_len = size - pos;

    if ((flags & 0x40) != 0) {
        memcpy(hmac_value, "sha256=", 7);
        cw_sign_hmac_hex(hmac_value + 7, FUZZ_HMAC_SECRET, body, body_len);
        h.x_clay_signature = hmac_value;
        h.x_clay_signature_len = strlen(hmac_value);
        expect_ok = 1;
    }
    if ((flags & 0x80) != 0 && h.webhook_id != NULL && h.webhook_id_len != 0 && h.webhook_id_len <= CW_AUTH_MAX_WEBHOOK_ID &&
        memchr(h.webhook_id, '\0', h.webhook_id_len) == NULL) {
        int64_t ts = FUZZ_NOW - FUZZ_TOLERANCE + (int64_t)(body_len % (2 * FUZZ_TOLERANCE + 1));
        id = string_copy((const uint8_t *)h.webhook_id, h.webhook_id_len);
        CHECK(cw_sign_standard_v1(sig_value, sizeof(sig_value), FUZZ_WHSEC_SECRET, id, ts, body, body_len) == 0);
        snprintf(ts_value, sizeof(ts_value), "%lld", (long long)ts);
        h.webhook_timestamp = ts_value;
        h.webhook_timestamp_len = strlen(ts_value);
        h.webhook_signature = sig_value;
        h.webhook_signature_len = strlen(sig_value);
        expect_ok = 1;
    }

    cw_auth_result_t one[3], worst = CW_AUTH_MISSING;
    const char *first_ok = NULL, *scheme = "unset";
    for (size_t i = 0; i != 3; ++i) {
        const char *s = "unset";
        one[i] = cw_auth_verify(verifier_one[i], &h, body, body_len, FUZZ_NOW, &s);
        CHECK(one[i] >= CW_AUTH_OK && one[i] <= CW_AUTH_STALE);
        CHECK(strcmp(cw_auth_result_name(one[i]), "unknown") != 0);
        if (one[i] == CW_AUTH_OK) {
            CHECK(s != NULL && strcmp(s, one_name[i]) == 0);
            if (first_ok == NULL) {
                first_ok = one_name[i];
            }
        } else {
            CHECK(s == NULL);
            worst = one[i] > worst ? one[i] : worst;
        }
    }
    cw_auth_result_t all = cw_auth_verify(verifier_all, &h, body, body_len, FUZZ_NOW, &scheme);
    if (first_ok != NULL) {
        CHECK(all == CW_AUTH_OK && scheme != NULL && strcmp(scheme, first_ok) == 0);
    } else {
        CHECK(all == worst && scheme == NULL);
    }
    if (expect_ok) {
        CHECK(all == CW_AUTH_OK);
    }
    /* A NULL body counts as empty. */
    CHECK(cw_auth_verify(verifier_all, &h, NULL, 0, FUZZ_NOW, NULL) == cw_auth_verify(verifier_all, &h, "", 0, FUZZ_NOW, NULL));

    free(id);
    free(body);
    for (size_t i = 0; i != NUM_VALUES; ++i) {
        free(values[i]);
    }
    return 0;
}
