/*
 * auth.c: the static, hmac and Standard Webhooks verifiers (see auth.h).
 *
 * HMAC-SHA256 is computed from SHA-256 states precomputed at cw_auth_new (the
 * key XOR ipad and XOR opad blocks already absorbed). A verification copies two
 * small structs and hashes the message: no allocation, no shared mutable state,
 * so one verifier serves every worker thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/base64.h>
#include <openssl/crypto.h>
#include <openssl/mem.h>
#include <openssl/sha.h>
#include "cw/util.h"
#include "auth.h"

#define MAC_LEN SHA256_DIGEST_LENGTH
#define HMAC_BLOCK 64
#define WHSEC_PREFIX "whsec_"
/* base64 of a 32-byte MAC with its one '=' of padding */
#define MAC_B64_LEN 44

typedef struct st_hmac_key_t {
    SHA256_CTX inner; /* after absorbing key ^ ipad */
    SHA256_CTX outer; /* after absorbing key ^ opad */
} hmac_key_t;

typedef struct st_secret_t {
    uint8_t static_digest[MAC_LEN]; /* SHA-256 of the secret as configured */
    hmac_key_t raw_key;             /* keyed with the secret as configured: hmac */
    hmac_key_t standard_key;        /* keyed with the decoded whsec_ bytes (or the raw secret): standard */
} secret_t;

struct st_cw_auth_t {
    unsigned schemes;
    uint64_t tolerance_s;
    size_t num_secrets;
    secret_t *secrets; /* never NULL, num_secrets >= 1 */
};

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *len)
{
    while (*len != 0 && is_space(**s)) {
        ++*s;
        --*len;
    }
    while (*len != 0 && is_space((*s)[*len - 1])) {
        --*len;
    }
}

static void hmac_key_init(hmac_key_t *key, const uint8_t *secret, size_t secret_len)
{
    uint8_t block[HMAC_BLOCK] = {0}, pad[HMAC_BLOCK];

    if (secret_len > HMAC_BLOCK) {
        SHA256(secret, secret_len, block);
    } else if (secret_len != 0) {
        memcpy(block, secret, secret_len);
    }
    for (size_t i = 0; i != HMAC_BLOCK; ++i) {
        pad[i] = block[i] ^ 0x36;
    }
    SHA256_Init(&key->inner);
    SHA256_Update(&key->inner, pad, HMAC_BLOCK);
    for (size_t i = 0; i != HMAC_BLOCK; ++i) {
        pad[i] = block[i] ^ 0x5c;
    }
    SHA256_Init(&key->outer);
    SHA256_Update(&key->outer, pad, HMAC_BLOCK);
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(pad, sizeof(pad));
}

/* The message is given in up to five parts so "id.timestamp.body" needs no copy. */
typedef struct st_msg_part_t {
    const void *base;
    size_t len;
} msg_part_t;

static void hmac_compute(uint8_t out[MAC_LEN], const hmac_key_t *key, const msg_part_t *parts, size_t num_parts)
{
    SHA256_CTX ctx = key->inner;
    uint8_t inner_digest[MAC_LEN];

    for (size_t i = 0; i != num_parts; ++i) {
        if (parts[i].len != 0) {
            SHA256_Update(&ctx, parts[i].base, parts[i].len);
        }
    }
    SHA256_Final(inner_digest, &ctx);
    ctx = key->outer;
    SHA256_Update(&ctx, inner_digest, MAC_LEN);
    SHA256_Final(out, &ctx);
    OPENSSL_cleanse(&ctx, sizeof(ctx));
}

int cw_auth_parse_schemes(const char *csv, unsigned *out_schemes)
{
    unsigned schemes = 0;
    const char *p = csv;

    if (csv == NULL) {
        return -1;
    }
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *name = p;
        trim(&name, &len);
        if (cw_memeq_ci(name, len, CW_STRLIT("static"))) {
            schemes |= CW_AUTH_STATIC;
        } else if (cw_memeq_ci(name, len, CW_STRLIT("hmac"))) {
            schemes |= CW_AUTH_HMAC;
        } else if (cw_memeq_ci(name, len, CW_STRLIT("standard"))) {
            schemes |= CW_AUTH_STANDARD;
        } else if (cw_memeq_ci(name, len, CW_STRLIT("all"))) {
            schemes |= CW_AUTH_ALL;
        } else {
            return -1;
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    *out_schemes = schemes;
    return 0;
}

/* Decodes the base64 after "whsec_" into a fresh buffer. Returns 0, or -1. */
static int decode_whsec(const char *b64, size_t b64_len, uint8_t **out_key, size_t *out_key_len)
{
    size_t max_len;

    if (b64_len == 0 || !EVP_DecodedLength(&max_len, b64_len)) {
        return -1;
    }
    uint8_t *key = cw_malloc(max_len);
    if (!EVP_DecodeBase64(key, out_key_len, max_len, (const uint8_t *)b64, b64_len) || *out_key_len == 0) {
        OPENSSL_cleanse(key, max_len);
        free(key);
        return -1;
    }
    *out_key = key;
    return 0;
}

cw_auth_t *cw_auth_new(const char *secrets_csv, unsigned schemes, uint64_t tolerance_s, char *err, size_t err_size)
{
    cw_auth_t *auth = cw_calloc(1, sizeof(*auth));
    size_t cap = 0, index = 0;
    const char *p = secrets_csv != NULL ? secrets_csv : "";

    auth->schemes = schemes;
    auth->tolerance_s = tolerance_s;
    if ((schemes & CW_AUTH_ALL) == 0 || (schemes & ~CW_AUTH_ALL) != 0) {
        snprintf(err, err_size, "no valid authentication scheme enabled");
        goto Error;
    }
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        ++index;
        trim(&s, &len);
        if (len != 0) {
            if (auth->num_secrets == cap) {
                cap = cap == 0 ? 4 : cap * 2;
                auth->secrets = cw_realloc(auth->secrets, cap * sizeof(*auth->secrets));
            }
            secret_t *secret = &auth->secrets[auth->num_secrets++];
            SHA256((const uint8_t *)s, len, secret->static_digest);
            hmac_key_init(&secret->raw_key, (const uint8_t *)s, len);
            if (len >= sizeof(WHSEC_PREFIX) - 1 && memcmp(s, WHSEC_PREFIX, sizeof(WHSEC_PREFIX) - 1) == 0) {
                uint8_t *key;
                size_t key_len;
                if (decode_whsec(s + sizeof(WHSEC_PREFIX) - 1, len - (sizeof(WHSEC_PREFIX) - 1), &key, &key_len) != 0) {
                    snprintf(err, err_size, "secret #%zu: the part after whsec_ is not valid base64", index);
                    goto Error;
                }
                hmac_key_init(&secret->standard_key, key, key_len);
                OPENSSL_cleanse(key, key_len);
                free(key);
            } else {
                secret->standard_key = secret->raw_key;
            }
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    if (auth->num_secrets == 0) {
        snprintf(err, err_size, "no secret configured");
        goto Error;
    }
    return auth;

Error:
    cw_auth_free(auth);
    return NULL;
}

void cw_auth_free(cw_auth_t *auth)
{
    if (auth == NULL) {
        return;
    }
    if (auth->secrets != NULL) {
        OPENSSL_cleanse(auth->secrets, auth->num_secrets * sizeof(*auth->secrets));
        free(auth->secrets);
    }
    free(auth);
}

size_t cw_auth_num_secrets(const cw_auth_t *auth)
{
    return auth->num_secrets;
}

static cw_auth_result_t worse(cw_auth_result_t a, cw_auth_result_t b)
{
    return a > b ? a : b;
}

/* Compares a static secret candidate as SHA-256 digests: neither its content nor
 * its length is observable through timing. */
static cw_auth_result_t check_static_value(const cw_auth_t *auth, const char *value, size_t value_len)
{
    uint8_t digest[MAC_LEN];
    int matched = 0;

    trim(&value, &value_len);
    if (value_len == 0 || value_len > CW_AUTH_MAX_SECRET_HEADER) {
        return CW_AUTH_MALFORMED;
    }
    SHA256((const uint8_t *)value, value_len, digest);
    /* No early exit: which secret matched does not show in the timing either. */
    for (size_t i = 0; i != auth->num_secrets; ++i) {
        matched |= CRYPTO_memcmp(digest, auth->secrets[i].static_digest, MAC_LEN) == 0;
    }
    return matched ? CW_AUTH_OK : CW_AUTH_MISMATCH;
}

static cw_auth_result_t verify_static(const cw_auth_t *auth, const cw_auth_headers_t *h)
{
    cw_auth_result_t result = CW_AUTH_MISSING;

    if (h->x_clay_secret != NULL) {
        cw_auth_result_t r = check_static_value(auth, h->x_clay_secret, h->x_clay_secret_len);
        if (r == CW_AUTH_OK) {
            return r;
        }
        result = worse(result, r);
    }
    if (h->authorization != NULL) {
        const char *v = h->authorization;
        size_t len = h->authorization_len;
        trim(&v, &len);
        /* "Bearer" (any case), at least one space, the token. Another scheme (Basic, ...) is not ours. */
        if (len > 6 && cw_memeq_ci(v, 6, CW_STRLIT("bearer")) && is_space(v[6])) {
            cw_auth_result_t r = check_static_value(auth, v + 6, len - 6);
            if (r == CW_AUTH_OK) {
                return r;
            }
            result = worse(result, r);
        } else {
            result = worse(result, CW_AUTH_MALFORMED);
        }
    }
    return result;
}

/* Decodes X-Clay-Signature into |given|: CW_AUTH_OK, CW_AUTH_MISSING or CW_AUTH_MALFORMED. */
static cw_auth_result_t decode_hmac_header(const cw_auth_headers_t *h, uint8_t given[MAC_LEN])
{
    const char *v = h->x_clay_signature;
    size_t len = h->x_clay_signature_len;

    if (v == NULL) {
        return CW_AUTH_MISSING;
    }
    trim(&v, &len);
    if (len > 7 && cw_memeq_ci(v, 7, CW_STRLIT("sha256="))) {
        v += 7;
        len -= 7;
    }
    return cw_hex_decode(given, MAC_LEN, v, len) == 0 ? CW_AUTH_OK : CW_AUTH_MALFORMED;
}

static cw_auth_result_t verify_hmac(const cw_auth_t *auth, const cw_auth_headers_t *h, const void *body, size_t body_len)
{
    uint8_t given[MAC_LEN], expected[MAC_LEN];
    msg_part_t part = {body, body_len};
    cw_auth_result_t r;

    if ((r = decode_hmac_header(h, given)) != CW_AUTH_OK) {
        return r;
    }
    for (size_t i = 0; i != auth->num_secrets; ++i) {
        hmac_compute(expected, &auth->secrets[i].raw_key, &part, 1);
        if (CRYPTO_memcmp(given, expected, MAC_LEN) == 0) {
            return CW_AUTH_OK;
        }
    }
    return CW_AUTH_MISMATCH;
}

/* Parses digits only (no sign, no spaces), at most CW_AUTH_MAX_TIMESTAMP_DIGITS.
 * Returns 0, or -1 (also on overflow). */
static int parse_timestamp(const char *s, size_t len, uint64_t *out)
{
    /* cw_parse_u64 forgives surrounding blanks; a signed timestamp must be the digits alone */
    if (len == 0 || len > CW_AUTH_MAX_TIMESTAMP_DIGITS || s[0] < '0' || s[0] > '9' || s[len - 1] < '0' || s[len - 1] > '9') {
        return -1;
    }
    return cw_parse_u64(s, len, 0, UINT64_MAX, out);
}

/* Walks the space-separated entries of a webhook-signature value. Returns 1 and
 * fills |out_mac| for the next well-formed "v1,<base64 of 32 bytes>" entry, 0 at
 * the end. Other versions (v1a, ...) are skipped; |*num_bad| counts v1 entries
 * that do not decode to 32 bytes. */
static int next_v1_mac(const char *sig, size_t sig_len, size_t *pos, uint8_t out_mac[MAC_LEN], size_t *num_bad)
{
    while (*pos < sig_len) {
        while (*pos < sig_len && sig[*pos] == ' ') {
            ++*pos;
        }
        size_t start = *pos;
        while (*pos < sig_len && sig[*pos] != ' ') {
            ++*pos;
        }
        const char *entry = sig + start;
        size_t entry_len = *pos - start;
        if (entry_len < 3 || memcmp(entry, "v1,", 3) != 0) {
            continue;
        }
        uint8_t decoded[MAC_B64_LEN]; /* > 33 bytes: EVP_DecodeBase64 wants room for its maximum */
        size_t decoded_len = 0;
        if (entry_len - 3 == MAC_B64_LEN &&
            EVP_DecodeBase64(decoded, &decoded_len, sizeof(decoded), (const uint8_t *)entry + 3, MAC_B64_LEN) &&
            decoded_len == MAC_LEN) {
            memcpy(out_mac, decoded, MAC_LEN);
            return 1;
        }
        ++*num_bad;
    }
    return 0;
}

/* Checks the Standard Webhooks headers without the body: present, well formed, fresh. Returns CW_AUTH_OK,
 * CW_AUTH_MISSING, CW_AUTH_MALFORMED or CW_AUTH_STALE. */
static cw_auth_result_t check_standard_headers(const cw_auth_t *auth, const cw_auth_headers_t *h, int64_t now_s)
{
    uint64_t ts, now, skew;
    uint8_t given[MAC_LEN];
    size_t pos, num_bad = 0, num_good = 0;

    if (h->webhook_id == NULL && h->webhook_timestamp == NULL && h->webhook_signature == NULL) {
        return CW_AUTH_MISSING;
    }
    if (h->webhook_id == NULL || h->webhook_timestamp == NULL || h->webhook_signature == NULL) {
        return CW_AUTH_MALFORMED;
    }
    if (h->webhook_id_len == 0 || h->webhook_id_len > CW_AUTH_MAX_WEBHOOK_ID ||
        h->webhook_signature_len > CW_AUTH_MAX_SIGNATURE_HEADER ||
        parse_timestamp(h->webhook_timestamp, h->webhook_timestamp_len, &ts) != 0) {
        return CW_AUTH_MALFORMED;
    }
    for (pos = 0; next_v1_mac(h->webhook_signature, h->webhook_signature_len, &pos, given, &num_bad);) {
        ++num_good;
    }
    if (num_good == 0) {
        return CW_AUTH_MALFORMED;
    }
    now = now_s < 0 ? 0 : (uint64_t)now_s;
    skew = ts > now ? ts - now : now - ts;
    return skew > auth->tolerance_s ? CW_AUTH_STALE : CW_AUTH_OK;
}

cw_auth_result_t cw_auth_check_headers(const cw_auth_t *auth, const cw_auth_headers_t *h, int64_t now_s, const char **out_scheme)
{
    cw_auth_result_t result = CW_AUTH_MISSING, r;
    const char *scheme = NULL;
    uint8_t given[MAC_LEN];

    /* A matching static secret settles it; a well-formed signature of another scheme still needs the body. */
    if ((auth->schemes & CW_AUTH_STATIC) != 0) {
        if ((r = verify_static(auth, h)) == CW_AUTH_OK) {
            scheme = "static";
            goto Exit;
        }
        result = worse(result, r);
    }
    if ((auth->schemes & CW_AUTH_HMAC) != 0) {
        if ((r = decode_hmac_header(h, given)) == CW_AUTH_OK) {
            goto Exit;
        }
        result = worse(result, r);
    }
    if ((auth->schemes & CW_AUTH_STANDARD) != 0) {
        if ((r = check_standard_headers(auth, h, now_s)) == CW_AUTH_OK) {
            goto Exit;
        }
        result = worse(result, r);
    }
    if (out_scheme != NULL) {
        *out_scheme = NULL;
    }
    return result;

Exit:
    if (out_scheme != NULL) {
        *out_scheme = scheme;
    }
    return CW_AUTH_OK;
}

static cw_auth_result_t verify_standard(const cw_auth_t *auth, const cw_auth_headers_t *h, const void *body, size_t body_len,
                                        int64_t now_s)
{
    uint8_t given[MAC_LEN], expected[MAC_LEN];
    size_t pos, num_bad = 0;
    cw_auth_result_t r;

    /* Cheap syntax pass first, so garbage costs no body hashing. */
    if ((r = check_standard_headers(auth, h, now_s)) != CW_AUTH_OK) {
        return r;
    }

    const msg_part_t parts[] = {
        {h->webhook_id, h->webhook_id_len}, {".", 1}, {h->webhook_timestamp, h->webhook_timestamp_len}, {".", 1}, {body, body_len},
    };
    for (size_t i = 0; i != auth->num_secrets; ++i) {
        hmac_compute(expected, &auth->secrets[i].standard_key, parts, CW_ARRAY_SIZE(parts));
        for (pos = 0; next_v1_mac(h->webhook_signature, h->webhook_signature_len, &pos, given, &num_bad);) {
            if (CRYPTO_memcmp(given, expected, MAC_LEN) == 0) {
                return CW_AUTH_OK;
            }
        }
    }
    return CW_AUTH_MISMATCH;
}

cw_auth_result_t cw_auth_verify(const cw_auth_t *auth, const cw_auth_headers_t *h, const void *body, size_t body_len, int64_t now_s,
                                const char **out_scheme)
{
    cw_auth_result_t result = CW_AUTH_MISSING, r;
    const char *scheme = NULL;

    if (body == NULL) {
        body_len = 0;
    }
    /* Cheapest first: static hashes only a header, the others hash the body. */
    if ((auth->schemes & CW_AUTH_STATIC) != 0) {
        if ((r = verify_static(auth, h)) == CW_AUTH_OK) {
            scheme = "static";
            goto Exit;
        }
        result = worse(result, r);
    }
    if ((auth->schemes & CW_AUTH_HMAC) != 0) {
        if ((r = verify_hmac(auth, h, body, body_len)) == CW_AUTH_OK) {
            scheme = "hmac";
            goto Exit;
        }
        result = worse(result, r);
    }
    if ((auth->schemes & CW_AUTH_STANDARD) != 0) {
        if ((r = verify_standard(auth, h, body, body_len, now_s)) == CW_AUTH_OK) {
            scheme = "standard";
            goto Exit;
        }
        result = worse(result, r);
    }

Exit:
    if (out_scheme != NULL) {
        *out_scheme = scheme;
    }
    return scheme != NULL ? CW_AUTH_OK : result;
}

const char *cw_auth_result_name(cw_auth_result_t r)
{
    switch (r) {
    case CW_AUTH_OK:
        return "ok";
    case CW_AUTH_MISSING:
        return "missing";
    case CW_AUTH_MALFORMED:
        return "malformed";
    case CW_AUTH_MISMATCH:
        return "mismatch";
    case CW_AUTH_STALE:
        return "stale";
    }
    return "unknown";
}
