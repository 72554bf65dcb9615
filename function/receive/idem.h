/*
 * idem.h: the idempotency key and event id of a callback (docs/design.md §5).
 *
 * The key is the first of these that exists:
 *   1. the Idempotency-Key header (users template {{Row ID}} into it in Clay);
 *   2. the webhook-id header (Standard Webhooks: the same on every retry);
 *   3. the fields named in IDEMPOTENCY_FIELDS, when every one of them is present
 *      and non-empty in the original object;
 *   4. the raw body.
 * The event id is the lower-case hex SHA-256 of the key: of the header value's
 * bytes exactly as received for 1 and 2, of the raw body for 4, and for 3 of
 *   "fields" 0x1f name_1 0x1f ... name_n 0x1e  len_1 ':' value_1 0x1f ... len_n ':' value_n 0x1f
 * where the names are the configured field names folded like the lead aliases
 * (lower case, no ' ', '_', '-'; so renaming "Row ID" to row_id keeps the ids),
 * each value is length-prefixed (decimal byte count) so no choice of values can
 * collide with another, and values render canonically: strings trimmed, numbers
 * as cJSON prints them (so 85 and "85" are one key), true/false, arrays and
 * objects as compact JSON.
 *
 * Header values that are empty or only whitespace count as absent. There is no
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

/* cw_idem_event_id writes the 64 hex digits of the event id and a NUL into
 * |out_id| and sets |*out_source| (when not NULL) to the static string
 * "idempotency-key", "webhook-id", "fields" or "body". Header pointers may be
 * NULL (absent); |fields| and |original| may be NULL (no field-based key).
 * Borrows everything; thread-safe. */
void cw_idem_event_id(char out_id[CW_IDEM_ID_LEN + 1], const char **out_source, const char *idem_key, size_t idem_key_len,
                      const char *webhook_id, size_t webhook_id_len, const cw_idem_fields_t *fields, const cJSON *original,
                      const void *body, size_t body_len);

#endif
