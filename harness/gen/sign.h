/*
 * sign.h: the harness's own signer. It produces the authentication headers a
 * sender would attach to a callback body, for every scheme the function
 * accepts, and can damage them on purpose for negative tests.
 *
 * This is an independent implementation (docs/design.md §15): it links only
 * lib/ (cw_*) and BoringSSL, never function/, so the verifier and the signer
 * cannot agree on a shared mistake. It is checked against the Standard
 * Webhooks v1 spec test vector and an HMAC vector computed with another tool.
 *
 * Schemes and the headers they produce:
 *   static    X-Clay-Secret: <secret>
 *   bearer    Authorization: Bearer <secret>
 *   hmac      X-Clay-Signature: sha256=<lower-case hex HMAC-SHA256(secret, body)>
 *             (or the bare hex with CW_SIGN_BARE_HEX)
 *   standard  webhook-id: <id>
 *             webhook-timestamp: <unix seconds>
 *             webhook-signature: v1,<base64> [v1,<base64> ...]   (one per secret)
 *             HMAC-SHA256 over "<id>.<timestamp>.<body>". A secret starting with
 *             "whsec_" is base64-decoded into the key; any other secret is used
 *             as raw bytes.
 *
 * Tamper modes (negative tests) and what they do per scheme:
 *   wrong-secret  static/bearer: the secret with "-wrong" appended;
 *                 hmac/standard: MACs keyed with the key bytes plus "-wrong".
 *   wrong-length  static/bearer: the secret without its last character;
 *                 hmac: hex of the first 31 MAC bytes (62 digits);
 *                 standard: base64 of the first 31 MAC bytes.
 *   malformed     ("non-hex" / "non-base64" in fixtures) the MAC's encoding is
 *                 broken at the same length: hmac: 64 characters, none of them
 *                 hex; standard: 44 characters outside the base64 alphabet;
 *                 static/bearer: an empty secret value.
 *   missing       no auth header at all (standard keeps webhook-id and
 *                 webhook-timestamp and drops webhook-signature).
 * A timestamp skew (seconds, may be negative) shifts webhook-timestamp and is
 * signed correctly, so it only fails the tolerance check (stale or future).
 */
#ifndef CW_HARNESS_SIGN_H
#define CW_HARNESS_SIGN_H

#include <stddef.h>
#include <stdint.h>

typedef enum en_cw_sign_scheme_t {
    CW_SIGN_NONE = 0, /* no auth headers */
    CW_SIGN_STATIC,
    CW_SIGN_BEARER,
    CW_SIGN_HMAC,
    CW_SIGN_STANDARD,
} cw_sign_scheme_t;

typedef enum en_cw_sign_tamper_t {
    CW_SIGN_TAMPER_NONE = 0,
    CW_SIGN_TAMPER_WRONG_SECRET,
    CW_SIGN_TAMPER_WRONG_LENGTH,
    CW_SIGN_TAMPER_MALFORMED,
    CW_SIGN_TAMPER_MISSING,
} cw_sign_tamper_t;

/* Flags for cw_sign_params_t.flags. */
#define CW_SIGN_BARE_HEX 0x1u /* hmac: send "<hex>" instead of "sha256=<hex>" */

#define CW_SIGN_MAX_SECRETS 8
#define CW_SIGN_MAX_SECRET_LEN 256 /* bytes of one secret as configured (whsec_ included) */
#define CW_SIGN_MAX_ID_LEN 128     /* bytes of a webhook-id */
#define CW_SIGN_MAX_HEADERS 3
#define CW_SIGN_NAME_SIZE 32
#define CW_SIGN_VALUE_SIZE 512 /* holds 8 standard signatures or a 256-byte bearer secret */

typedef struct st_cw_sign_params_t {
    cw_sign_scheme_t scheme;
    const char *const *secrets; /* num_secrets NUL-terminated strings; borrowed */
    size_t num_secrets;         /* >= 1 unless scheme is NONE; static/bearer/hmac use secrets[0] only */
    cw_sign_tamper_t tamper;
    int64_t skew_s;     /* standard: added to the timestamp */
    int64_t now_s;      /* standard: the clock to use; 0 = the wall clock */
    const char *msg_id; /* standard: webhook-id; NULL = "msg_" + the first 32 hex digits of SHA-256(body),
                         * so the same body always has the same id (as a sender's retry would) */
    unsigned flags;     /* CW_SIGN_* */
} cw_sign_params_t;

typedef struct st_cw_sign_header_t {
    char name[CW_SIGN_NAME_SIZE];   /* e.g. "X-Clay-Signature" */
    char value[CW_SIGN_VALUE_SIZE]; /* NUL-terminated */
} cw_sign_header_t;

typedef struct st_cw_sign_headers_t {
    size_t num_headers; /* 0 to CW_SIGN_MAX_HEADERS */
    cw_sign_header_t headers[CW_SIGN_MAX_HEADERS];
} cw_sign_headers_t;

/* cw_sign_request fills |out| with the headers |params| asks for over |body| (|body_len| bytes, any
 * content). Returns 0, or -1 with a message in |err| (never containing a secret) when the parameters are
 * unusable: no secret, too many or too long secrets, a whsec_ secret that is not base64, a msg_id too
 * long or containing characters outside [A-Za-z0-9_.-]. Borrows everything. */
int cw_sign_request(const cw_sign_params_t *params, const void *body, size_t body_len, cw_sign_headers_t *out, char *err,
                    size_t err_size);

/* cw_sign_hmac_hex writes the lower-case hex HMAC-SHA256(|secret|, body) and a NUL into |out_hex|
 * (65 bytes). The secret's bytes are the key as given. */
void cw_sign_hmac_hex(char out_hex[65], const char *secret, const void *body, size_t body_len);

/* cw_sign_standard_v1 writes "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>" and a NUL into |out|
 * (at least 48 bytes), where the key is |secret| base64-decoded after "whsec_" or its raw bytes otherwise.
 * Returns 0, or -1 when a whsec_ secret does not decode or |out_size| is too small. */
int cw_sign_standard_v1(char *out, size_t out_size, const char *secret, const char *msg_id, int64_t timestamp, const void *body,
                        size_t body_len);

/* cw_sign_scheme_name returns "none", "static", "bearer", "hmac" or "standard" (static storage). */
const char *cw_sign_scheme_name(cw_sign_scheme_t scheme);
/* cw_sign_scheme_parse maps a name above to |out|. Returns 0, or -1 for an unknown name. */
int cw_sign_scheme_parse(const char *name, cw_sign_scheme_t *out);
/* cw_sign_tamper_name returns "none", "wrong-secret", "wrong-length", "missing", and for MALFORMED
 * "non-hex" (hmac), "non-base64" (standard) or "malformed" (others); static storage. */
const char *cw_sign_tamper_name(cw_sign_tamper_t tamper, cw_sign_scheme_t scheme);
/* cw_sign_tamper_parse maps "none", "wrong-secret", "wrong-length", "non-hex", "non-base64", "malformed"
 * or "missing" to |out|. Returns 0, or -1 for an unknown name. */
int cw_sign_tamper_parse(const char *name, cw_sign_tamper_t *out);

#endif
