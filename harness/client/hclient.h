/*
 * hclient.h: small helpers the harness's client commands (fire, replay,
 * record) share on top of cw/http.h: header lines that survive libcurl's
 * rules, target URLs, and a one-request-at-a-time fetch that turns a
 * cw_loop_t until the asynchronous client completes.
 */
#ifndef CW_HARNESS_HCLIENT_H
#define CW_HARNESS_HCLIENT_H

#include <stddef.h>
#include "cw/http.h"
#include "cw/loop.h"

/* cw_hclient_header_line returns "Name: value" (malloc'd, caller frees). An empty |value| becomes "Name;",
 * libcurl's way of sending a header with an empty value ("Name:" would remove the header instead). */
char *cw_hclient_header_line(const char *name, const char *value);

/* cw_hclient_url returns |target| with |path| appended (malloc'd, caller frees): a trailing '/' of the
 * target is dropped first, so "http://h:1/" + "/api" is "http://h:1/api". */
char *cw_hclient_url(const char *target, const char *path);

/* cw_hclient_target_has_path reports whether |target| (an http(s) URL) names a path beyond "/". */
int cw_hclient_target_has_path(const char *target);

/* cw_hclient_fetch submits |req| on |http| with completions on |loop|, turns |loop| until the answer
 * arrived, and fills |out| (free with cw_http_result_free). Returns out->error. Loop thread only; other
 * work on |loop| (timers, other completions) keeps running meanwhile. */
cw_http_error_t cw_hclient_fetch(cw_http_t *http, cw_loop_t *loop, const cw_http_request_t *req, cw_http_result_t *out);

/* cw_hclient_copy_result fills |out| with copies of |res| (free with cw_http_result_free). */
void cw_hclient_copy_result(const cw_http_response_t *res, cw_http_result_t *out);

#endif
