/*
 * json.h: building cJSON trees under the project's memory policy. cJSON reports
 * exhaustion as NULL or false; these helpers abort instead (as cw_malloc does),
 * so callers never carry half-built trees.
 */
#ifndef CW_JSON_H
#define CW_JSON_H

#include <cjson/cJSON.h>

/* cw_json_oom aborts with a message: cJSON could not allocate. */
void cw_json_oom(void) __attribute__((noreturn));
/* cw_json_must returns |item|; aborts when it is NULL. */
cJSON *cw_json_must(cJSON *item);
/* cw_json_add adds |item| to |object| under |static_key|, which is not copied
 * (a string literal); the object takes |item|. Aborts on exhaustion. */
void cw_json_add(cJSON *object, const char *static_key, cJSON *item);
/* cw_json_append appends |item| to |array|, which takes it. Aborts on exhaustion. */
void cw_json_append(cJSON *array, cJSON *item);

#endif
