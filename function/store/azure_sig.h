/*
 * azure_sig.h: Azure Storage Shared Key signing (service version 2015-02-21
 * and later) and connection-string parsing. Pure: no clock, no I/O.
 */
#ifndef CW_AZURE_SIG_H
#define CW_AZURE_SIG_H

#include <stddef.h>
#include <stdint.h>
#include "cw/util.h"

#define CW_AZURE_MAX_HEADERS 32
#define CW_AZURE_MAX_QUERY_PARAMS 16

/* cw_azure_conn_t is a parsed connection string; every string is owned (free
 * with cw_azure_conn_dispose) and may be NULL when absent. */
typedef struct st_cw_azure_conn_t {
    char *account; /* AccountName */
    uint8_t *key;  /* AccountKey, base64-decoded */
    size_t key_len;
    char *blob_endpoint; /* "http(s)://host[:port][/path]" without a trailing '/': BlobEndpoint, or
                          * derived from DefaultEndpointsProtocol, AccountName and EndpointSuffix */
    char *sas;           /* SharedAccessSignature, without a leading '?' */
} cw_azure_conn_t;

/* cw_azure_decode_key base64-decodes an account key into a new buffer
 * (|*out| freed by the caller). Returns 0, or -1 when |b64| is not base64 or is empty. */
int cw_azure_decode_key(const char *b64, uint8_t **out, size_t *out_len);

/* cw_azure_conn_parse parses an AZURE_STORAGE_CONNECTION_STRING
 * ("Key=value;Key=value", keys case-insensitive). "UseDevelopmentStorage=true"
 * means Azurite's published account devstoreaccount1 on
 * http://127.0.0.1:10000/devstoreaccount1. Returns 0, or -1 after writing a
 * reason into |err| (never quoting the key). On success |out| holds a blob
 * endpoint and either account plus key or a SAS. */
int cw_azure_conn_parse(const char *conn, cw_azure_conn_t *out, char *err, size_t err_size);
/* cw_azure_conn_dispose frees what cw_azure_conn_parse filled and zeroes |conn|. */
void cw_azure_conn_dispose(cw_azure_conn_t *conn);

/* cw_azure_string_to_sign appends the Shared Key StringToSign of a request to
 * |out|: the verb, the eleven standard headers (Content-Length empty when 0),
 * the x-ms-* headers lower-cased and sorted, then the canonicalized resource
 * "/<account><url_path>" with each query parameter (names lower-cased,
 * values URL-decoded, sorted) on a line of its own. |url_path| is the encoded
 * path as sent (for path-style endpoints such as Azurite it starts with the
 * account again); |query| is the query string as sent, without '?' ("" or
 * NULL when none); |headers| are "Name: value" strings. Returns 0, or -1 on a
 * malformed header or query, or more than the caps above. */
int cw_azure_string_to_sign(cw_buf_t *out, const char *verb, const char *account, const char *url_path, const char *query,
                            const char *const *headers, size_t num_headers);

/* cw_azure_sign appends "SharedKey <account>:<base64 HMAC-SHA256 of the
 * StringToSign under |key|>" to |out_authorization|. Returns 0 or -1 as
 * cw_azure_string_to_sign. Borrows everything. */
int cw_azure_sign(const uint8_t *key, size_t key_len, const char *account, const char *verb, const char *url_path,
                  const char *query, const char *const *headers, size_t num_headers, cw_buf_t *out_authorization);

/* cw_azure_rfc1123_date writes |wall_ms| as "Sun, 06 Nov 1994 08:49:37 GMT" and a NUL into |out| (30 bytes). */
void cw_azure_rfc1123_date(char *out, int64_t wall_ms);

#endif
