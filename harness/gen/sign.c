/*
 * sign.c: auth headers for the harness (static, bearer, hmac, Standard Webhooks
 * v1) and their deliberate damage. Written without looking at the function's
 * verifier; see sign.h for the exact shapes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/base64.h>
#include <openssl/digest.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/sha.h>
#include "cw/util.h"
#include "sign.h"

#define WHSEC_PREFIX "whsec_"
#define WRONG_SUFFIX "-wrong"
#define MAC_LEN 32
#define MAX_KEY_LEN (CW_SIGN_MAX_SECRET_LEN + sizeof(WRONG_SUFFIX))

/* sign_key_t is one secret turned into HMAC key bytes. */
typedef struct {
    uint8_t bytes[MAX_KEY_LEN];
    size_t len;
} sign_key_t;

static void set_err(char *err, size_t err_size, const char *msg)
{
    if (err != NULL && err_size != 0) {
        snprintf(err, err_size, "%s", msg);
    }
}

/* secret_to_key decodes a whsec_ secret or copies a raw one. Returns 0, or -1 when a whsec_ secret is not
 * base64 (padding may be omitted). */
static int secret_to_key(const char *secret, sign_key_t *key)
{
    size_t secret_len = strlen(secret);
    if (secret_len > CW_SIGN_MAX_SECRET_LEN) {
        return -1;
    }
    if (secret_len < sizeof(WHSEC_PREFIX) - 1 || memcmp(secret, WHSEC_PREFIX, sizeof(WHSEC_PREFIX) - 1) != 0) {
        memcpy(key->bytes, secret, secret_len);
        key->len = secret_len;
        return 0;
    }
    const char *b64 = secret + sizeof(WHSEC_PREFIX) - 1;
    size_t b64_len = secret_len - (sizeof(WHSEC_PREFIX) - 1);
    char padded[CW_SIGN_MAX_SECRET_LEN + 4];
    memcpy(padded, b64, b64_len);
    if (b64_len % 4 == 1) {
        return -1;
    }
    while (b64_len % 4 != 0) {
        padded[b64_len++] = '=';
    }
    size_t max_len;
    if (b64_len == 0 || EVP_DecodedLength(&max_len, b64_len) != 1 || max_len > sizeof(key->bytes)) {
        return -1;
    }
    if (EVP_DecodeBase64(key->bytes, &key->len, sizeof(key->bytes), (const uint8_t *)padded, b64_len) != 1 || key->len == 0) {
        return -1;
    }
    return 0;
}

static void key_make_wrong(sign_key_t *key)
{
    memcpy(key->bytes + key->len, WRONG_SUFFIX, sizeof(WRONG_SUFFIX) - 1);
    key->len += sizeof(WRONG_SUFFIX) - 1;
}

/* hmac_parts computes HMAC-SHA256 over the concatenation of |num_parts| byte ranges. */
static void hmac_parts(uint8_t out[MAC_LEN], const sign_key_t *key, const void *const *parts, const size_t *part_lens,
                       size_t num_parts)
{
    HMAC_CTX ctx;
    unsigned out_len = 0;
    HMAC_CTX_init(&ctx);
    int ok = HMAC_Init_ex(&ctx, key->bytes, key->len, EVP_sha256(), NULL);
    for (size_t i = 0; ok && i != num_parts; ++i) {
        ok = HMAC_Update(&ctx, part_lens[i] != 0 ? parts[i] : (const void *)"", part_lens[i]);
    }
    if (ok) {
        ok = HMAC_Final(&ctx, out, &out_len);
    }
    HMAC_CTX_cleanup(&ctx);
    if (!ok || out_len != MAC_LEN) {
        /* Only reachable if BoringSSL is broken; a wrong MAC would silently corrupt every test. */
        fprintf(stderr, "fatal: HMAC-SHA256 failed\n");
        abort();
    }
}

void cw_sign_hmac_hex(char out_hex[65], const char *secret, const void *body, size_t body_len)
{
    sign_key_t key;
    size_t len = strlen(secret);
    if (len > CW_SIGN_MAX_SECRET_LEN) {
        len = CW_SIGN_MAX_SECRET_LEN;
    }
    memcpy(key.bytes, secret, len);
    key.len = len;
    uint8_t mac[MAC_LEN];
    const void *parts[] = {body};
    size_t part_lens[] = {body_len};
    hmac_parts(mac, &key, parts, part_lens, 1);
    cw_hex_encode(out_hex, mac, sizeof(mac));
}

static void standard_mac(uint8_t out[MAC_LEN], const sign_key_t *key, const char *msg_id, const char *ts, const void *body,
                         size_t body_len)
{
    const void *parts[] = {msg_id, ".", ts, ".", body};
    size_t part_lens[] = {strlen(msg_id), 1, strlen(ts), 1, body_len};
    hmac_parts(out, key, parts, part_lens, CW_ARRAY_SIZE(parts));
}

static void b64_encode(char *out, const uint8_t *in, size_t in_len)
{
    EVP_EncodeBlock((uint8_t *)out, in, in_len);
}

int cw_sign_standard_v1(char *out, size_t out_size, const char *secret, const char *msg_id, int64_t timestamp, const void *body,
                        size_t body_len)
{
    sign_key_t key;
    char ts[32];
    uint8_t mac[MAC_LEN];
    char b64[64];
    if (secret_to_key(secret, &key) != 0) {
        return -1;
    }
    snprintf(ts, sizeof(ts), "%" PRId64, timestamp);
    standard_mac(mac, &key, msg_id, ts, body, body_len);
    b64_encode(b64, mac, sizeof(mac));
    OPENSSL_cleanse(&key, sizeof(key));
    int n = snprintf(out, out_size, "v1,%s", b64);
    return n > 0 && (size_t)n < out_size ? 0 : -1;
}

static cw_sign_header_t *add_header(cw_sign_headers_t *out, const char *name)
{
    cw_sign_header_t *h = &out->headers[out->num_headers++];
    snprintf(h->name, sizeof(h->name), "%s", name);
    h->value[0] = '\0';
    return h;
}

static int check_params(const cw_sign_params_t *params, char *err, size_t err_size)
{
    if (params->scheme == CW_SIGN_NONE) {
        return 0;
    }
    if (params->num_secrets == 0 || params->secrets == NULL) {
        set_err(err, err_size, "no secret given");
        return -1;
    }
    if (params->num_secrets > CW_SIGN_MAX_SECRETS) {
        set_err(err, err_size, "too many secrets (at most 8)");
        return -1;
    }
    for (size_t i = 0; i != params->num_secrets; ++i) {
        size_t len = params->secrets[i] != NULL ? strlen(params->secrets[i]) : 0;
        if (len == 0) {
            set_err(err, err_size, "empty secret");
            return -1;
        }
        if (len > CW_SIGN_MAX_SECRET_LEN) {
            set_err(err, err_size, "secret longer than 256 bytes");
            return -1;
        }
    }
    if (params->msg_id != NULL) {
        size_t len = strlen(params->msg_id);
        if (len == 0 || len > CW_SIGN_MAX_ID_LEN) {
            set_err(err, err_size, "webhook-id must be 1-128 characters");
            return -1;
        }
        for (size_t i = 0; i != len; ++i) {
            char c = params->msg_id[i];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) {
                set_err(err, err_size, "webhook-id may only contain A-Z a-z 0-9 _ - .");
                return -1;
            }
        }
    }
    return 0;
}

static void sign_static(const cw_sign_params_t *params, cw_sign_headers_t *out)
{
    const char *secret = params->secrets[0];
    size_t len = strlen(secret);
    const char *suffix = "";
    switch (params->tamper) {
    case CW_SIGN_TAMPER_WRONG_SECRET:
        suffix = WRONG_SUFFIX;
        break;
    case CW_SIGN_TAMPER_WRONG_LENGTH:
        len -= 1;
        break;
    case CW_SIGN_TAMPER_MALFORMED:
        len = 0;
        break;
    default:
        break;
    }
    if (params->scheme == CW_SIGN_BEARER) {
        cw_sign_header_t *h = add_header(out, "Authorization");
        snprintf(h->value, sizeof(h->value), "Bearer %.*s%s", (int)len, secret, suffix);
    } else {
        cw_sign_header_t *h = add_header(out, "X-Clay-Secret");
        snprintf(h->value, sizeof(h->value), "%.*s%s", (int)len, secret, suffix);
    }
}

/* fill_malformed writes |len| characters that belong to neither the hex nor the base64 alphabet. */
static void fill_malformed(char *out, size_t len, const char *alphabet)
{
    size_t alphabet_len = strlen(alphabet);
    for (size_t i = 0; i != len; ++i) {
        out[i] = alphabet[i % alphabet_len];
    }
    out[len] = '\0';
}

static void sign_hmac(const cw_sign_params_t *params, const void *body, size_t body_len, cw_sign_headers_t *out)
{
    sign_key_t key;
    uint8_t mac[MAC_LEN];
    char encoded[2 * MAC_LEN + 1];
    size_t secret_len = strlen(params->secrets[0]);
    memcpy(key.bytes, params->secrets[0], secret_len);
    key.len = secret_len;
    if (params->tamper == CW_SIGN_TAMPER_WRONG_SECRET) {
        key_make_wrong(&key);
    }
    const void *parts[] = {body};
    size_t part_lens[] = {body_len};
    hmac_parts(mac, &key, parts, part_lens, 1);
    OPENSSL_cleanse(&key, sizeof(key));
    switch (params->tamper) {
    case CW_SIGN_TAMPER_WRONG_LENGTH:
        cw_hex_encode(encoded, mac, MAC_LEN - 1);
        break;
    case CW_SIGN_TAMPER_MALFORMED:
        /* 'g'-'z' and punctuation: the right length, not one hex digit. */
        fill_malformed(encoded, 2 * MAC_LEN, "ghijklmnopqrstuvwxyz");
        break;
    default:
        cw_hex_encode(encoded, mac, MAC_LEN);
        break;
    }
    cw_sign_header_t *h = add_header(out, "X-Clay-Signature");
    snprintf(h->value, sizeof(h->value), "%s%s", (params->flags & CW_SIGN_BARE_HEX) != 0 ? "" : "sha256=", encoded);
}

static void default_msg_id(char *out, size_t out_size, const void *body, size_t body_len)
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    SHA256(body_len != 0 ? body : (const void *)"", body_len, digest);
    cw_hex_encode(hex, digest, 16);
    snprintf(out, out_size, "msg_%s", hex);
}

static int sign_standard(const cw_sign_params_t *params, const void *body, size_t body_len, cw_sign_headers_t *out, char *err,
                         size_t err_size)
{
    char msg_id[CW_SIGN_MAX_ID_LEN + 1];
    char ts[32];
    if (params->msg_id != NULL) {
        snprintf(msg_id, sizeof(msg_id), "%s", params->msg_id);
    } else {
        default_msg_id(msg_id, sizeof(msg_id), body, body_len);
    }
    int64_t now = params->now_s != 0 ? params->now_s : cw_wall_ms() / 1000;
    snprintf(ts, sizeof(ts), "%" PRId64, now + params->skew_s);

    cw_sign_header_t *id_h = add_header(out, "webhook-id");
    snprintf(id_h->value, sizeof(id_h->value), "%s", msg_id);
    cw_sign_header_t *ts_h = add_header(out, "webhook-timestamp");
    snprintf(ts_h->value, sizeof(ts_h->value), "%s", ts);
    if (params->tamper == CW_SIGN_TAMPER_MISSING) {
        return 0;
    }

    cw_sign_header_t *sig_h = add_header(out, "webhook-signature");
    size_t pos = 0;
    for (size_t i = 0; i != params->num_secrets; ++i) {
        sign_key_t key;
        uint8_t mac[MAC_LEN];
        char b64[64];
        if (secret_to_key(params->secrets[i], &key) != 0) {
            set_err(err, err_size, "a whsec_ secret is not valid base64");
            return -1;
        }
        if (params->tamper == CW_SIGN_TAMPER_WRONG_SECRET) {
            key_make_wrong(&key);
        }
        standard_mac(mac, &key, msg_id, ts, body, body_len);
        OPENSSL_cleanse(&key, sizeof(key));
        switch (params->tamper) {
        case CW_SIGN_TAMPER_WRONG_LENGTH:
            b64_encode(b64, mac, MAC_LEN - 1);
            break;
        case CW_SIGN_TAMPER_MALFORMED:
            fill_malformed(b64, 44, "!*-_~#");
            break;
        default:
            b64_encode(b64, mac, MAC_LEN);
            break;
        }
        int n = snprintf(sig_h->value + pos, sizeof(sig_h->value) - pos, "%sv1,%s", i != 0 ? " " : "", b64);
        if (n < 0 || (size_t)n >= sizeof(sig_h->value) - pos) {
            set_err(err, err_size, "webhook-signature too long");
            return -1;
        }
        pos += (size_t)n;
    }
    return 0;
}

int cw_sign_request(const cw_sign_params_t *params, const void *body, size_t body_len, cw_sign_headers_t *out, char *err,
                    size_t err_size)
{
    memset(out, 0, sizeof(*out));
    if (check_params(params, err, err_size) != 0) {
        return -1;
    }
    switch (params->scheme) {
    case CW_SIGN_NONE:
        return 0;
    case CW_SIGN_STATIC:
    case CW_SIGN_BEARER:
        if (params->tamper != CW_SIGN_TAMPER_MISSING) {
            sign_static(params, out);
        }
        return 0;
    case CW_SIGN_HMAC:
        if (params->tamper != CW_SIGN_TAMPER_MISSING) {
            sign_hmac(params, body, body_len, out);
        }
        return 0;
    case CW_SIGN_STANDARD:
        if (sign_standard(params, body, body_len, out, err, err_size) != 0) {
            memset(out, 0, sizeof(*out));
            return -1;
        }
        return 0;
    }
    set_err(err, err_size, "unknown scheme");
    return -1;
}

static const char *const scheme_names[] = {"none", "static", "bearer", "hmac", "standard"};

const char *cw_sign_scheme_name(cw_sign_scheme_t scheme)
{
    return (size_t)scheme < CW_ARRAY_SIZE(scheme_names) ? scheme_names[scheme] : "unknown";
}

int cw_sign_scheme_parse(const char *name, cw_sign_scheme_t *out)
{
    for (size_t i = 0; i != CW_ARRAY_SIZE(scheme_names); ++i) {
        if (strcmp(name, scheme_names[i]) == 0) {
            *out = (cw_sign_scheme_t)i;
            return 0;
        }
    }
    return -1;
}

const char *cw_sign_tamper_name(cw_sign_tamper_t tamper, cw_sign_scheme_t scheme)
{
    switch (tamper) {
    case CW_SIGN_TAMPER_NONE:
        return "none";
    case CW_SIGN_TAMPER_WRONG_SECRET:
        return "wrong-secret";
    case CW_SIGN_TAMPER_WRONG_LENGTH:
        return "wrong-length";
    case CW_SIGN_TAMPER_MALFORMED:
        return scheme == CW_SIGN_HMAC ? "non-hex" : scheme == CW_SIGN_STANDARD ? "non-base64" : "malformed";
    case CW_SIGN_TAMPER_MISSING:
        return "missing";
    }
    return "unknown";
}

int cw_sign_tamper_parse(const char *name, cw_sign_tamper_t *out)
{
    static const struct {
        const char *name;
        cw_sign_tamper_t tamper;
    } table[] = {
        {"none", CW_SIGN_TAMPER_NONE},
        {"wrong-secret", CW_SIGN_TAMPER_WRONG_SECRET},
        {"wrong-length", CW_SIGN_TAMPER_WRONG_LENGTH},
        {"non-hex", CW_SIGN_TAMPER_MALFORMED},
        {"non-base64", CW_SIGN_TAMPER_MALFORMED},
        {"malformed", CW_SIGN_TAMPER_MALFORMED},
        {"missing", CW_SIGN_TAMPER_MISSING},
    };
    for (size_t i = 0; i != CW_ARRAY_SIZE(table); ++i) {
        if (strcmp(name, table[i].name) == 0) {
            *out = table[i].tamper;
            return 0;
        }
    }
    return -1;
}
