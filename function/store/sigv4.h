/*
 * sigv4.h: AWS Signature Version 4 for S3 and compatibles (R2, MinIO). Pure:
 * no clock, no I/O, so it is tested against AWS's published examples.
 */
#ifndef CW_SIGV4_H
#define CW_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include "cw/util.h"

#define CW_SIGV4_MAX_HEADERS 32

/* cw_sigv4_creds_t names the signing identity and scope; all borrowed, never NULL. */
typedef struct st_cw_sigv4_creds_t {
    const char *access_key;
    const char *secret_key;
    const char *region;  /* e.g. "us-east-1"; "auto" for R2 */
    const char *service; /* "s3" */
} cw_sigv4_creds_t;

/* cw_sigv4_uri_encode appends |len| bytes of |s| to |out| percent-encoded the
 * way SigV4 wants: A-Z a-z 0-9 - . _ ~ kept, '/' kept when |keep_slash|,
 * everything else %XX with upper-case hex. */
void cw_sigv4_uri_encode(cw_buf_t *out, const char *s, size_t len, int keep_slash);

/* cw_sigv4_payload_hash writes the lower-case hex SHA-256 of |body| (|len|
 * bytes; may be NULL when 0) and a NUL into |out| (65 bytes). */
void cw_sigv4_payload_hash(char *out, const void *body, size_t len);

/* cw_sigv4_amz_date writes |wall_ms| as "YYYYMMDDTHHMMSSZ" (UTC) and a NUL into |out| (17 bytes). */
void cw_sigv4_amz_date(char *out, int64_t wall_ms);

/* cw_sigv4_sign appends the value of the Authorization header to
 * |out_authorization| ("AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
 * Signature=…"). Every one of |headers| ("Name: value" strings, at most
 * CW_SIGV4_MAX_HEADERS) is signed, so they must include host, x-amz-date
 * (equal to |amz_date|) and x-amz-content-sha256 (equal to |payload_hash|).
 * |canonical_uri| is the already-encoded path, |canonical_query| the
 * already-encoded query with parameters sorted by name ("" when none; the URL
 * must carry exactly this string). When |out_canonical_hash| is not NULL the
 * hex SHA-256 of the canonical request is written to it (65 bytes), for tests.
 * Returns 0, or -1 on a malformed header, too many headers or a bad date.
 * Borrows everything. */
int cw_sigv4_sign(const cw_sigv4_creds_t *creds, const char *method, const char *canonical_uri, const char *canonical_query,
                  const char *const *headers, size_t num_headers, const char *amz_date, const char *payload_hash,
                  cw_buf_t *out_authorization, char *out_canonical_hash);

#endif
