/*
 * idem.h: the idempotency key and event id of a callback (docs/design.md §5).
 *
 * The key comes only from what the scheme that verified the request
 * authenticates (cw_auth_verify's |out_scheme|), so a captured signed request
 * cannot be replayed under fresh keys, nor a later row suppressed with its key:
 *   standard  1. the webhook-id header (signed with the body; the same on every
 *                retry), then 3 and 4;
 *   hmac      3. then 4 (only the body is signed);
 *   static    (and bearer, and no authentication: nothing is signed, whoever
 *             holds the secret can send anything anyway)
 *             1. the Idempotency-Key header,
 *             2. the idempotency_key query parameter (POST
 *                /api/clay/enriched?idempotency_key=<token>: Clay documents
 *                column tokens in query values, not in header values),
 *             then 3 and 4.
 *   3. the fields named in IDEMPOTENCY_FIELDS, when every one of them is present
 *      and non-empty in the original object (IDEMPOTENCY_FIELDS=email: one
 *      delivery per person across edits of the row);
 *   4. the raw body.
 * An Idempotency-Key or query key beside an hmac or standard signature is
 * ignored (cw_idem_ignored_key says so, for a debug log line).
 * The event id is the lower-case hex SHA-256 of the key: of the header value's
 * bytes exactly as received for 1 (the query value's bytes once percent-decoded
 * for 2, so the header and the query give one id for one token), of the raw
 * body for 4, and for 3 of
 *   "fields" 0x1f name_1 0x1f ... name_n 0x1e  len_1 ':' value_1 0x1f ... len_n ':' value_n 0x1f
 * where the names are the configured field names folded like the lead aliases
 * (lower case, no ' ', '_', '-'; so renaming "Row ID" to row_id keeps the ids),
 * each value is length-prefixed (decimal byte count) so no choice of values can
 * collide with another, and values render canonically: strings trimmed, numbers
 * as cJSON prints them (so 85 and "85" are one key), true/false, arrays and
 * objects as compact JSON.
 *
 * Header values that are empty or only whitespace count as absent; so do field
 * values that lead.h calls absent ("", "null", "undefined", "none", "n/a"), or
 * every row with an empty email would be one event. There is no
 * length cap on them here: only their hash is used, and the HTTP layer already
 * bounds header sizes.
 */
#ifndef CW_IDEM_H
#define CW_IDEM_H

#include <stddef.h>
#include <cjson/cJSON.h>

#define CW_IDEM_ID_LEN 64

typedef struct st_cw_idem_fields_t cw_idem_fields_t;

/* cw_idem_fields_new parses the comma-separated field names |csv| (each trimmed,
 * empty entries ignored). Returns a list the caller frees with
 * cw_idem_fields_free, or NULL when |csv| is NULL or names no field (then no
 * field-based key is used). */
cw_idem_fields_t *cw_idem_fields_new(const char *csv);

/* cw_idem_fields_free releases |fields| (NULL is fine). */
void cw_idem_fields_free(cw_idem_fields_t *fields);

/* cw_idem_fields_count returns how many names |fields| holds (0 for NULL). */
size_t cw_idem_fields_count(const cw_idem_fields_t *fields);

/* cw_idem_sources_t: the request's candidate keys, borrowed from the request;
 * a pointer is NULL when that source is absent. Values need not be NUL-terminated. */
typedef struct st_cw_idem_sources_t {
    const char *scheme;          /* the static string cw_auth_verify set: "static", "hmac", "standard"; NULL when unauthenticated */
    const char *idempotency_key; /* Idempotency-Key header */
    size_t idempotency_key_len;
    const char *query_key; /* idempotency_key query parameter, percent-decoded */
    size_t query_key_len;
    const char *webhook_id; /* webhook-id (or svix-id) header */
    size_t webhook_id_len;
} cw_idem_sources_t;

/* cw_idem_event_id writes the 64 hex digits of the event id and a NUL into
 * |out_id| and sets |*out_source| (when not NULL) to the static string
 * "idempotency-key", "query", "webhook-id", "fields" or "body", following the
 * precedence of |src->scheme| above. |fields| and |original| may be NULL (no
 * field-based key). Borrows everything; thread-safe. */
void cw_idem_event_id(char out_id[CW_IDEM_ID_LEN + 1], const char **out_source, const cw_idem_sources_t *src,
                      const cw_idem_fields_t *fields, const cJSON *original, const void *body, size_t body_len);

/* cw_idem_ignored_key reports whether |src| carries an Idempotency-Key or a
 * query key that its scheme (hmac or standard) does not let set the id. Returns
 * 1 or 0; borrows |src|. */
int cw_idem_ignored_key(const cw_idem_sources_t *src);

#endif
