/*
 * hclient.c: header lines, target URLs and a loop-turning fetch (see hclient.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cw/util.h"
#include "hclient.h"

char *cw_hclient_header_line(const char *name, const char *value)
{
    cw_buf_t line = CW_BUF_INIT;
    if (value[0] == '\0') {
        cw_buf_appendf(&line, "%s;", name);
    } else {
        cw_buf_appendf(&line, "%s: %s", name, value);
    }
    return cw_buf_release(&line, NULL);
}

char *cw_hclient_url(const char *target, const char *path)
{
    size_t len = strlen(target);
    if (len != 0 && target[len - 1] == '/') {
        --len;
    }
    cw_buf_t url = CW_BUF_INIT;
    cw_buf_append(&url, target, len);
    cw_buf_appends(&url, path);
    return cw_buf_release(&url, NULL);
}

int cw_hclient_target_has_path(const char *target)
{
    const char *p = strstr(target, "://");
    p = p != NULL ? p + 3 : target;
    p = strchr(p, '/');
    return p != NULL && p[1] != '\0';
}

void cw_hclient_copy_result(const cw_http_response_t *res, cw_http_result_t *out)
{
    memset(out, 0, sizeof(*out));
    out->error = res->error;
    out->status = res->status;
    out->error_text = cw_strdup(res->error_text);
    out->attempts = res->attempts;
    out->body = cw_malloc(res->body_len + 1);
    memcpy(out->body, res->body, res->body_len);
    out->body[res->body_len] = '\0';
    out->body_len = res->body_len;
    if (res->num_headers != 0) {
        out->headers = cw_calloc(res->num_headers, sizeof(*out->headers));
        for (size_t i = 0; i != res->num_headers; ++i) {
            out->headers[i].name = cw_strdup(res->headers[i].name);
            out->headers[i].value = cw_strdup(res->headers[i].value);
        }
        out->num_headers = res->num_headers;
    }
}

typedef struct st_fetch_t {
    cw_http_result_t *out;
    int done;
} fetch_t;

static void on_fetched(const cw_http_response_t *res, void *data)
{
    fetch_t *fetch = data;
    cw_hclient_copy_result(res, fetch->out);
    fetch->done = 1;
}

cw_http_error_t cw_hclient_fetch(cw_http_t *http, cw_loop_t *loop, const cw_http_request_t *req, cw_http_result_t *out)
{
    fetch_t fetch = {.out = out};
    cw_http_submit(http, loop, req, on_fetched, &fetch);
    while (!fetch.done) {
        if (cw_loop_run_once(loop) != 0) {
            /* The loop itself failed: keep turning would spin; the completion still arrives and is waited for. */
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    return out->error;
}
