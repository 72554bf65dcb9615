/*
 * json.c: cJSON construction that aborts on exhaustion (see json.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include "cw/json.h"

void cw_json_oom(void)
{
    fprintf(stderr, "fatal: out of memory building JSON\n");
    abort();
}

cJSON *cw_json_must(cJSON *item)
{
    if (item == NULL) {
        cw_json_oom();
    }
    return item;
}

void cw_json_add(cJSON *object, const char *static_key, cJSON *item)
{
    if (!cJSON_AddItemToObjectCS(object, static_key, cw_json_must(item))) {
        cw_json_oom();
    }
}

void cw_json_append(cJSON *array, cJSON *item)
{
    if (!cJSON_AddItemToArray(array, cw_json_must(item))) {
        cw_json_oom();
    }
}
