/*
 * auth.h: authentication of a callback's raw bytes (docs/design.md §3), before any
 * JSON parsing. Three schemes, any of which may be enabled:
 *
 *   static    X-Clay-Secret: <secret>   or   Authorization: Bearer <secret>
 *             (what a real Clay HTTP API column can send: static headers only)
 *   hmac      X-Clay-Signature: sha256=<64 hex>  (or bare <64 hex>), the
 *             HMAC-SHA256 of the raw body keyed with the secret
 *   standard  Standard Webhooks v1: webhook-id, webhook-timestamp and
 *             webhook-signature: v1,<base64> [v1,<base64> ...], the HMAC-SHA256
 *             of "<id>.<timestamp>.<body>"
 *
 * Secrets are a comma-separated list (rotation: every listed secret is valid).
 * For static and hmac a secret is used exactly as configured. For standard a
 * secret starting with "whsec_" is base64-decoded after the prefix (the
 * Standard Webhooks convention); any other secret is used as raw bytes.
 *
 * Every comparison is constant-time on fixed-length values: MACs are decoded
 * and length-checked first, static secrets are compared as SHA-256 digests so
 * neither content nor length leaks. A verifier is immutable after
 * cw_auth_new and is shared by all worker threads.
 */
#ifndef CW_AUTH_H
#define CW_AUTH_H

#include <stddef.h>
#include <stdint.h>

/* Ordered from least to most informative: when no scheme passes, the result
 * is the highest failure seen across schemes and secrets. */
typedef enum en_cw_auth_result_t {
    CW_AUTH_OK,
    CW_AUTH_MISSING,   /* no header of any enabled scheme */
    CW_AUTH_MALFORMED, /* a header is present but unusable (bad hex/base64, wrong length, too long, bad timestamp) */
    CW_AUTH_MISMATCH,  /* well-formed, but no secret matches */
    CW_AUTH_STALE,     /* standard: timestamp outside the tolerance window */
} cw_auth_result_t;

#define CW_AUTH_STATIC 1u
#define CW_AUTH_HMAC 2u
#define CW_AUTH_STANDARD 4u
#define CW_AUTH_ALL (CW_AUTH_STATIC | CW_AUTH_HMAC | CW_AUTH_STANDARD)

/* Header caps: longer values are CW_AUTH_MALFORMED, never allocated or hashed. */
#define CW_AUTH_MAX_SECRET_HEADER 4096
#define CW_AUTH_MAX_SIGNATURE_HEADER 4096
#define CW_AUTH_MAX_WEBHOOK_ID 256
#define CW_AUTH_MAX_TIMESTAMP_DIGITS 20

typedef struct st_cw_auth_t cw_auth_t;

/* cw_auth_headers_t holds the request's relevant header values as (ptr, len)
 * pairs, borrowed from the request; a ptr is NULL when the header is absent.
 * Values need not be NUL-terminated. */
typedef struct st_cw_auth_headers_t {
    const char *x_clay_secret;
    size_t x_clay_secret_len;
    const char *authorization;
    size_t authorization_len;
    const char *x_clay_signature;
    size_t x_clay_signature_len;
    const char *webhook_id;
    size_t webhook_id_len;
    const char *webhook_timestamp;
    size_t webhook_timestamp_len;
    const char *webhook_signature;
    size_t webhook_signature_len;
} cw_auth_headers_t;

/* cw_auth_parse_schemes parses a comma-separated list of "static", "hmac",
 * "standard" (case-insensitive, spaces allowed) or "all" into a CW_AUTH_* mask.
 * Returns 0, or -1 on an unknown name or an empty list. */
int cw_auth_parse_schemes(const char *csv, unsigned *out_schemes);

/* cw_auth_new builds a verifier from NUL-terminated |secrets_csv| (comma-separated,
 * each trimmed, empty entries ignored), the enabled |schemes| and the Standard
 * Webhooks timestamp |tolerance_s|. Returns a verifier the caller frees with
 * cw_auth_free, or NULL with a one-line reason in |err| (no secret, no scheme,
 * a whsec_ secret that is not valid base64). The reason never contains a secret. */
cw_auth_t *cw_auth_new(const char *secrets_csv, unsigned schemes, uint64_t tolerance_s, char *err, size_t err_size);

/* cw_auth_free releases |auth| (NULL is fine), wiping the key material. */
void cw_auth_free(cw_auth_t *auth);

/* cw_auth_num_secrets returns how many secrets |auth| holds. */
size_t cw_auth_num_secrets(const cw_auth_t *auth);

/* cw_auth_verify checks the raw |body| against every enabled scheme and every
 * secret; |now_s| is the current Unix time. Returns CW_AUTH_OK when any scheme
 * verifies with any secret, setting |*out_scheme| (when not NULL) to the static
 * string "static", "hmac" or "standard"; otherwise the most informative failure
 * (STALE > MISMATCH > MALFORMED > MISSING) with |*out_scheme| set to NULL.
 * Borrows every argument; safe to call concurrently on a shared |auth|; never
 * allocates and never fails on any input bytes. */
cw_auth_result_t cw_auth_verify(const cw_auth_t *auth, const cw_auth_headers_t *h, const void *body, size_t body_len, int64_t now_s,
                                const char **out_scheme);

/* cw_auth_check_headers is what can be decided before the body arrives (refuse
 * before buffering): CW_AUTH_OK when a static secret or bearer token matches
 * (|*out_scheme| = "static", the body's verification is then a formality) or when
 * an enabled body scheme's headers are well formed (hmac: a 32-byte hex MAC;
 * standard: all three headers, a v1 MAC, webhook-timestamp within the tolerance)
 * with |*out_scheme| = NULL: cw_auth_verify must still check the body. Otherwise
 * the most informative failure, as cw_auth_verify would answer for any body.
 * Borrows every argument; thread-safe on a shared |auth|; never allocates. */
cw_auth_result_t cw_auth_check_headers(const cw_auth_t *auth, const cw_auth_headers_t *h, int64_t now_s, const char **out_scheme);

/* cw_auth_result_name returns a static lower-case name of |r| ("ok", "missing",
 * "malformed", "mismatch", "stale"), for logs and metrics labels. */
const char *cw_auth_result_name(cw_auth_result_t r);

#endif
