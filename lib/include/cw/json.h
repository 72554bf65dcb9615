/*
 * json.h: building cJSON trees under the project's memory policy, and writing
 * JSON strings by hand. cJSON reports exhaustion as NULL or false; these
 * helpers abort instead (as cw_malloc does), so callers never carry half-built
 * trees. The escaper is the one every hand-written JSON text uses (log lines,
 * reports, replies): strict UTF-8 (cw/utf8.h), so its output is always valid.
 */
#ifndef CW_JSON_H
#define CW_JSON_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "cw/mem.h"

/* cw_json_oom aborts with a message: cJSON could not allocate. */
void cw_json_oom(void) __attribute__((noreturn));
/* cw_json_must returns |item|; aborts when it is NULL. */
cJSON *cw_json_must(cJSON *item);
/* cw_json_add adds |item| to |object| under |static_key|, which is not copied
 * (a string literal); the object takes |item|. Aborts on exhaustion. */
void cw_json_add(cJSON *object, const char *static_key, cJSON *item);
/* cw_json_append appends |item| to |array|, which takes it. Aborts on exhaustion. */
void cw_json_append(cJSON *array, cJSON *item);

/* cw_json_escape appends |s| (|len| bytes, any bytes at all) to |out| as the
 * contents of a JSON string without the surrounding quotes: ", \ and control
 * characters escaped, U+2028 and U+2029 as \u escapes, each maximal invalid
 * UTF-8 subpart replaced by one \ufffd. Borrows |s|; any thread. */
void cw_json_escape(cw_buf_t *out, const char *s, size_t len);
/* cw_json_quote appends |s| with the surrounding quotes, as cw_json_escape. */
void cw_json_quote(cw_buf_t *out, const char *s, size_t len);

#endif
