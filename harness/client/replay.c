/*
 * replay.c: `clay-harness replay`, fixtures against a target. Each case's
 * steps are sent in order, byte-exact (headers as recorded, then the
 * signature the step asks for, computed now); each answer is checked against
 * the step's expectations (fixture.h), and sink deliveries against the mock's
 * ledger (GET /_harness/deliveries?event_id=<the id the response named>).
 * One line per case, then "N passed, N failed"; --junit writes JUnit XML.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>
#include "cw/http.h"
#include "cw/loop.h"
#include "cw/opt.h"
#include "cw/util.h"
#include "client.h"
#include "fixture.h"
#include "hclient.h"
#include "junit.h"
#include "sign.h"

#define DEFAULT_TARGET "http://127.0.0.1:8080"
#define MAX_DEPTH 16     /* folder recursion */
#define MAX_FILES 100000 /* fixtures in one run */
#define LEDGER_MAX_BYTES (64u * 1024 * 1024)
#define RESPONSE_MAX_BYTES (16u * 1024 * 1024)

static const char usage_head[] =
    "usage: clay-harness replay [options] PATH...\n"
    "\n"
    "Replays fixture files (PATH: a file, or a folder searched recursively for *.json, in sorted order)\n"
    "against a target and checks each step's status, response JSON subset, headers, substrings, and\n"
    "(with --mock) the sink deliveries the mock recorded. Prints 'ok NAME' or 'FAIL NAME: WHY' per case\n"
    "and a final 'N passed, N failed'. See fixtures/README.md for the format and the target's setup.\n"
    "\n"
    "options:\n";

static const char usage_tail[] = "\n"
                                 "Exit status: 0 when every case passed, 1 otherwise, 2 on bad usage.\n";

/* The column where the help text of the options starts. */
#define HELP_COLUMN 20

typedef struct st_replay_t {
    const char *target;
    const char *secrets[CW_SIGN_MAX_SECRETS];
    size_t num_secrets;
    const char *mock;
    const char *junit;
    uint64_t timeout_ms;
    cw_http_t *http;
    cw_loop_t loop;
} replay_t;

typedef struct st_path_list_t {
    char **paths;
    size_t num, cap;
} path_list_t;

/* ---- finding the fixtures ---- */

static void list_add(path_list_t *list, char *path)
{
    if (list->num == list->cap) {
        list->cap = list->cap == 0 ? 64 : list->cap * 2;
        list->paths = cw_realloc(list->paths, list->cap * sizeof(char *));
    }
    list->paths[list->num++] = path;
}

static int cmp_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with_json(const char *name)
{
    size_t len = strlen(name);
    return len > 5 && strcmp(name + len - 5, ".json") == 0;
}

/* walk adds the *.json regular files under |dir| to |list|. Returns 0, or -1 with |err| set. */
static int walk(const char *dir, unsigned depth, path_list_t *list, char *err, size_t err_size)
{
    if (depth > MAX_DEPTH) {
        snprintf(err, err_size, "%s: folders nested deeper than %u", dir, MAX_DEPTH);
        return -1;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, err_size, "%s: %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue; /* ".", "..", and hidden files (editor swap files, .git) */
        }
        cw_buf_t path = CW_BUF_INIT;
        cw_buf_appendf(&path, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        struct stat st;
        if (stat(path.base, &st) != 0) {
            cw_buf_free(&path);
            continue; /* a dangling link */
        }
        if (S_ISDIR(st.st_mode)) {
            rc = walk(path.base, depth + 1, list, err, err_size);
            cw_buf_free(&path);
        } else if (S_ISREG(st.st_mode) && ends_with_json(e->d_name) && list->num < MAX_FILES) {
            list_add(list, cw_buf_release(&path, NULL));
        } else {
            cw_buf_free(&path);
        }
        if (rc != 0) {
            break;
        }
    }
    closedir(d);
    return rc;
}

/* ---- one step ---- */

static int sign_step(const replay_t *replay, const cw_fixture_step_t *step, cw_sign_headers_t *out, char *err, size_t err_size)
{
    const cw_fixture_sign_t *s = &step->request.sign;
    if (s->scheme == CW_SIGN_NONE || replay->num_secrets == 0) {
        return cw_fixture_step_sign(step, 0, out, err, err_size);
    }
    cw_sign_params_t p = {.scheme = s->scheme,
                          .secrets = replay->secrets,
                          .num_secrets = replay->num_secrets,
                          .tamper = s->tamper,
                          .skew_s = s->skew_s,
                          .msg_id = s->msg_id,
                          .flags = s->bare_hex ? CW_SIGN_BARE_HEX : 0};
    return cw_sign_request(&p, step->request.body, step->request.body_len, out, err, err_size);
}

/* send_step sends |step|'s request. Returns 0 with the answer in |out|, or -1 with |err| set. */
static int send_step(replay_t *replay, const cw_fixture_step_t *step, cw_http_result_t *out, char *err, size_t err_size)
{
    const cw_fixture_request_t *r = &step->request;
    char *lines[CW_FIXTURE_MAX_HEADERS + CW_SIGN_MAX_HEADERS];
    size_t num_lines = 0;
    char sub[256];
    cw_sign_headers_t auth;
    int rc = -1;

    if (sign_step(replay, step, &auth, sub, sizeof(sub)) != 0) {
        snprintf(err, err_size, "cannot sign: %s", sub);
        return -1;
    }
    for (size_t i = 0; i != r->num_headers && num_lines < CW_FIXTURE_MAX_HEADERS; ++i) {
        lines[num_lines++] = cw_hclient_header_line(r->headers[i].name, r->headers[i].value);
    }
    for (size_t i = 0; i != auth.num_headers; ++i) {
        lines[num_lines++] = cw_hclient_header_line(auth.headers[i].name, auth.headers[i].value);
    }
    int has_body =
        r->body_len != 0 || strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0 || strcmp(r->method, "PATCH") == 0;
    char *url = cw_hclient_url(replay->target, r->path);
    cw_http_request_t req = {.method = r->method,
                             .url = url,
                             .headers = (const char *const *)lines,
                             .num_headers = num_lines,
                             .body = has_body ? r->body : NULL,
                             .body_len = has_body ? r->body_len : 0,
                             .timeout_ms = replay->timeout_ms,
                             .max_response_bytes = RESPONSE_MAX_BYTES,
                             .head_only = strcmp(r->method, "HEAD") == 0};
    if (cw_hclient_fetch(replay->http, &replay->loop, &req, out) != CW_HTTP_OK) {
        snprintf(err, err_size, "no answer from %s: %s", url, out->error_text);
        cw_http_result_free(out);
        goto Exit;
    }
    rc = 0;

Exit:
    free(url);
    for (size_t i = 0; i != num_lines; ++i) {
        free(lines[i]);
    }
    return rc;
}

/* ---- deliveries ---- */

static int expects_deliveries(const cw_fixture_expect_t *e)
{
    for (size_t k = 0; k != CW_FIXTURE_NUM_SINKS; ++k) {
        if (e->deliveries[k] >= 0 || e->sink_json[k] != NULL) {
            return 1;
        }
    }
    return 0;
}

/* row_id_of returns the string "row_id" of the JSON object |body| (malloc'd), or NULL. */
static char *row_id_of(const uint8_t *body, size_t len)
{
    char *row_id = NULL;
    cJSON *json = cJSON_ParseWithLength((const char *)body, len);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, "row_id");
    if (cJSON_IsString(v)) {
        row_id = cw_strdup(v->valuestring);
    }
    cJSON_Delete(json);
    return row_id;
}

/* delivery_matches reports whether a ledger entry belongs to the case. With an event id: the payload's
 * "event_id" is it, or the delivery's Idempotency-Key is "<id>:<sink>" (or the id itself), which also
 * covers payloads without an event_id, such as Slack messages. Without one (no answer of the case named
 * an event yet): the payload carries the request's row_id. */
static int delivery_matches(const cJSON *delivery, const char *event_id, const char *row_id)
{
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(delivery, "body");
    if (event_id != NULL) {
        size_t id_len = strlen(event_id);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(delivery, "event_id");
        const cJSON *key = cJSON_GetObjectItemCaseSensitive(delivery, "idempotency_key");
        if (cJSON_IsString(v) && strcmp(v->valuestring, event_id) == 0) {
            return 1;
        }
        return cJSON_IsString(key) && strncmp(key->valuestring, event_id, id_len) == 0 &&
               (key->valuestring[id_len] == '\0' || key->valuestring[id_len] == ':');
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "row_id");
    return row_id != NULL && cJSON_IsString(v) && strcmp(v->valuestring, row_id) == 0;
}

/* check_deliveries compares the mock's ledger with |step|'s expectations for |event_id| (may be NULL).
 * Returns 0 when they match, else -1 with the first difference in |err|. */
static int check_deliveries(replay_t *replay, const cw_fixture_step_t *step, const char *event_id, size_t first, char *err,
                            size_t err_size)
{
    const cw_fixture_expect_t *e = &step->expect;
    cw_http_result_t res = {0};
    cJSON *ledger = NULL;
    char *row_id = NULL;
    int rc = -1;

    cw_buf_t url = CW_BUF_INIT;
    cw_buf_appends(&url, replay->mock);
    if (url.len != 0 && url.base[url.len - 1] == '/') {
        url.base[--url.len] = '\0';
    }
    /* The whole ledger: the mock filters by one field at a time, and a delivery is ours by either. */
    cw_buf_appends(&url, "/_harness/deliveries");
    if (event_id == NULL) {
        row_id = row_id_of(step->request.body, step->request.body_len);
    }
    cw_http_request_t req = {.url = url.base, .timeout_ms = replay->timeout_ms, .max_response_bytes = LEDGER_MAX_BYTES};
    if (cw_hclient_fetch(replay->http, &replay->loop, &req, &res) != CW_HTTP_OK || res.status != 200) {
        snprintf(err, err_size, "cannot read the mock's ledger at %s: %s", url.base,
                 res.error != CW_HTTP_OK ? res.error_text : "not 200");
        goto Exit;
    }
    ledger = cJSON_ParseWithLength(res.body, res.body_len);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(ledger, "deliveries");
    if (!cJSON_IsArray(list)) {
        snprintf(err, err_size, "the mock's ledger at %s has no \"deliveries\" list", url.base);
        goto Exit;
    }
    for (size_t k = 0; k != CW_FIXTURE_NUM_SINKS; ++k) {
        const char *sink = cw_fixture_sink_names[k];
        int count = 0;
        const cJSON *latest = NULL, *d;
        size_t index = 0;
        cJSON_ArrayForEach(d, list)
        {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(d, "sink");
            if (index++ < first) {
                continue; /* recorded before this case began: an earlier run's */
            }
            if (cJSON_IsString(name) && strcmp(name->valuestring, sink) == 0 && delivery_matches(d, event_id, row_id)) {
                ++count;
                latest = d;
            }
        }
        if (e->deliveries[k] >= 0 && count != e->deliveries[k]) {
            snprintf(err, err_size, "deliveries.%s: expected %d, the mock recorded %d for event %s", sink, e->deliveries[k], count,
                     event_id != NULL ? event_id : "(none named)");
            goto Exit;
        }
        if (e->sink_json[k] != NULL) {
            char sub[512];
            if (latest == NULL) {
                snprintf(err, err_size, "sink_json.%s: the sink received nothing for event %s", sink,
                         event_id != NULL ? event_id : "(none named)");
                goto Exit;
            }
            if (!cw_json_subset_match(e->sink_json[k], cJSON_GetObjectItemCaseSensitive(latest, "body"), sub, sizeof(sub))) {
                snprintf(err, err_size, "sink_json.%s: %s", sink, sub);
                goto Exit;
            }
        }
    }
    rc = 0;

Exit:
    cJSON_Delete(ledger);
    cw_http_result_free(&res);
    cw_buf_free(&url);
    free(row_id);
    return rc;
}

/* event_id_of returns the response's "id" string (malloc'd, at most 256 bytes), else NULL. */
static char *event_id_of(const char *body, size_t len)
{
    char *id = NULL;
    cJSON *json = cJSON_ParseWithLength(body, len);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, "id");
    if (cJSON_IsString(v) && v->valuestring[0] != '\0' && strlen(v->valuestring) <= 256) {
        id = cw_strdup(v->valuestring);
    }
    cJSON_Delete(json);
    return id;
}

/* ledger_size reads how many deliveries the mock's ledger holds. Returns 0 with *|out| set, or -1 with
 * |err| set. */
static int ledger_size(replay_t *replay, size_t *out, char *err, size_t err_size)
{
    cw_http_result_t res = {0};
    cJSON *summary = NULL;
    int rc = -1;
    char *url = cw_hclient_url(replay->mock, "/_harness/deliveries?summary=1");
    cw_http_request_t req = {.url = url, .timeout_ms = replay->timeout_ms};
    if (cw_hclient_fetch(replay->http, &replay->loop, &req, &res) != CW_HTTP_OK || res.status != 200) {
        snprintf(err, err_size, "cannot read the mock's ledger at %s: %s", url,
                 res.error != CW_HTTP_OK ? res.error_text : "not 200");
        goto Exit;
    }
    summary = cJSON_ParseWithLength(res.body, res.body_len);
    const cJSON *total = cJSON_GetObjectItemCaseSensitive(summary, "total");
    if (!cJSON_IsNumber(total) || total->valuedouble < 0) {
        snprintf(err, err_size, "the mock's ledger summary at %s has no \"total\"", url);
        goto Exit;
    }
    *out = (size_t)total->valuedouble;
    rc = 0;

Exit:
    cJSON_Delete(summary);
    cw_http_result_free(&res);
    free(url);
    return rc;
}

/* ---- one case ---- */

/* run_case runs the steps of |fx|. Returns 0 when every one met its expectations, else -1 with the first failure
 * in |err|. */
static int run_case(replay_t *replay, const cw_fixture_t *fx, char *err, size_t err_size)
{
    char *event_id = NULL;     /* the latest event a step's answer named */
    size_t first_delivery = 0; /* the ledger's size when the case began: only later deliveries are the case's */
    int rc = -1;
    if (replay->mock != NULL) {
        for (size_t s = 0; s != fx->num_steps; ++s) {
            if (expects_deliveries(&fx->steps[s].expect)) {
                char sub[512];
                if (ledger_size(replay, &first_delivery, sub, sizeof(sub)) != 0) {
                    snprintf(err, err_size, "%s", sub);
                    goto Exit;
                }
                break;
            }
        }
    }
    for (size_t s = 0; s != fx->num_steps; ++s) {
        const cw_fixture_step_t *step = &fx->steps[s];
        char sub[1024];
        cw_http_result_t res;
        if (send_step(replay, step, &res, sub, sizeof(sub)) != 0) {
            snprintf(err, err_size, "step %zu: %s", s + 1, sub);
            goto Exit;
        }
        cw_fixture_header_t *headers = cw_calloc(res.num_headers + 1, sizeof(*headers));
        for (size_t i = 0; i != res.num_headers; ++i) {
            headers[i].name = res.headers[i].name;
            headers[i].value = res.headers[i].value;
        }
        int matched = cw_fixture_check_response(&step->expect, res.status, headers, res.num_headers, res.body, res.body_len, sub,
                                                sizeof(sub)) == 0;
        free(headers);
        char *id = event_id_of(res.body, res.body_len);
        if (id != NULL) {
            free(event_id);
            event_id = id;
        }
        cw_http_result_free(&res);
        if (!matched) {
            snprintf(err, err_size, "step %zu: %s", s + 1, sub);
            goto Exit;
        }
        if (expects_deliveries(&step->expect)) {
            if (replay->mock == NULL) {
                snprintf(err, err_size, "step %zu expects sink deliveries, but no --mock URL was given to read them from", s + 1);
                goto Exit;
            }
            if (check_deliveries(replay, step, event_id, first_delivery, sub, sizeof(sub)) != 0) {
                snprintf(err, err_size, "step %zu: %s", s + 1, sub);
                goto Exit;
            }
        }
    }
    rc = 0;

Exit:
    free(event_id);
    return rc;
}

/* one_line keeps a reason on one output line (fixture errors and matcher paths may hold newlines). */
static void one_line(char *s)
{
    for (; *s != '\0'; ++s) {
        if (*s == '\n' || *s == '\r') {
            *s = ' ';
        }
    }
}

static int input_cb(const cw_opt_t *opt, const char *value, char *err, size_t err_size)
{
    list_add(opt->target, (char *)value);
    return 0;
}

/* parse_args fills |replay| and |inputs|; on --help it prints the usage and sets *|out_help|. Returns 0, or
 * -1 with one line in |err|. */
static int parse_args(int argc, char **argv, replay_t *replay, path_list_t *inputs, int *out_help, char *err, size_t err_size)
{
    const char *url = "an http(s) URL";
    const cw_opt_t opts[] = {
        {.name = "--target",
         .type = CW_OPT_CUSTOM,
         .cb = cw_opt_http_url_cb,
         .target = &replay->target,
         .want = url,
         .metavar = "URL",
         .help = "where to send (default " DEFAULT_TARGET "); fixture paths are appended"},
        {.name = "--secret",
         .type = CW_OPT_LIST,
         .target = replay->secrets,
         .num = &replay->num_secrets,
         .max = CW_SIGN_MAX_SECRETS,
         .flags = CW_OPT_NONEMPTY,
         .metavar = "S",
         .help = "sign with S instead of the fixture's secrets (repeat for several)"},
        {.name = "--mock",
         .type = CW_OPT_CUSTOM,
         .cb = cw_opt_http_url_cb,
         .target = &replay->mock,
         .want = url,
         .metavar = "URL",
         .help = "the clay-harness mock whose sinks the target delivers to (for 'deliveries' and\n"
                 "'sink_json' expectations; a case with them fails without --mock)"},
        {.name = "--junit",
         .type = CW_OPT_STRING,
         .target = &replay->junit,
         .metavar = "FILE",
         .help = "also write JUnit XML to FILE"},
        {.name = "--timeout-ms",
         .type = CW_OPT_U64,
         .target = &replay->timeout_ms,
         .min = 1,
         .max = 3600000,
         .metavar = "MS",
         .help = "per request (default 30000)"},
        {.name = "PATH", .type = CW_OPT_CUSTOM, .cb = input_cb, .target = inputs},
    };
    if (cw_opt_parse(opts, CW_ARRAY_SIZE(opts), argc, argv, out_help, err, err_size) != 0) {
        return -1;
    }
    if (*out_help) {
        cw_opt_print_help(stdout, usage_head, opts, CW_ARRAY_SIZE(opts), HELP_COLUMN, usage_tail);
        return 0;
    }
    if (inputs->num == 0) {
        snprintf(err, err_size, "give at least one fixture file or folder");
        return -1;
    }
    return 0;
}

/* expand_inputs turns the command line's PATHs into |files|: folders become their *.json files (sorted),
 * or themselves when they hold none (reported then as a failing case, in order, like a missing file). */
static void expand_inputs(const path_list_t *inputs, path_list_t *files)
{
    for (size_t i = 0; i != inputs->num; ++i) {
        struct stat st;
        if (stat(inputs->paths[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
            list_add(files, cw_strdup(inputs->paths[i]));
            continue;
        }
        path_list_t found = {0};
        char err[512] = "";
        if (walk(inputs->paths[i], 0, &found, err, sizeof(err)) != 0) {
            fprintf(stderr, "clay-harness replay: %s\n", err);
        }
        qsort(found.paths, found.num, sizeof(char *), cmp_paths);
        for (size_t k = 0; k != found.num; ++k) {
            list_add(files, found.paths[k]);
        }
        free(found.paths);
        if (found.num == 0) {
            list_add(files, cw_strdup(inputs->paths[i]));
        }
    }
}

/* replay_file loads and runs the case at |path|, prints its line, and fills |out| (whose name and failure
 * strings it allocates). Returns 1 when the case passed. */
static int replay_file(replay_t *replay, const char *path, cw_junit_case_t *out)
{
    uint64_t start = cw_now_us();
    char why[2048] = "";
    cw_fixture_t *fx = NULL;
    int ok = 0;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(why, sizeof(why), "%s: no *.json fixtures in this folder", path);
    } else if (cw_fixture_load(path, &fx, why, sizeof(why)) == 0) {
        ok = run_case(replay, fx, why, sizeof(why)) == 0;
    }
    one_line(why);
    /* Load errors start with the path already: do not say it twice. */
    size_t path_len = strlen(path);
    const char *reason =
        fx == NULL && strncmp(why, path, path_len) == 0 && strncmp(why + path_len, ": ", 2) == 0 ? why + path_len + 2 : why;
    char *name = cw_strdup(fx != NULL ? fx->name : path);
    if (ok) {
        printf("ok %s\n", name);
    } else {
        printf("FAIL %s: %s\n", name, reason);
    }
    fflush(stdout);
    *out = (cw_junit_case_t){
        .name = name, .file = path, .failure = ok ? NULL : cw_strdup(reason), .time_s = (double)(cw_now_us() - start) / 1e6};
    cw_fixture_free(fx);
    return ok;
}

int cw_harness_replay_main(int argc, char **argv)
{
    replay_t replay = {.target = DEFAULT_TARGET, .timeout_ms = 30000};
    path_list_t inputs = {0}, files = {0};
    cw_junit_case_t *cases = NULL;
    size_t passed = 0;
    char err[512];
    int help = 0, rc;
    if (parse_args(argc, argv, &replay, &inputs, &help, err, sizeof(err)) != 0 || help) {
        free(inputs.paths);
        if (!help) {
            fprintf(stderr, "clay-harness replay: %s (see clay-harness replay --help)\n", err);
            return 2;
        }
        return 0;
    }
    expand_inputs(&inputs, &files);
    replay.http = cw_http_new();
    if (replay.http == NULL) {
        fputs("clay-harness replay: cannot start the HTTP client\n", stderr);
        rc = 1;
        goto Exit;
    }
    cw_loop_init(&replay.loop);
    cases = cw_calloc(files.num + 1, sizeof(*cases));
    uint64_t run_start = cw_now_us();
    for (size_t i = 0; i != files.num; ++i) {
        passed += (size_t)replay_file(&replay, files.paths[i], &cases[i]);
    }
    printf("%zu passed, %zu failed\n", passed, files.num - passed);
    fflush(stdout);
    rc = passed == files.num ? 0 : 1;
    if (replay.junit != NULL &&
        cw_junit_write(replay.junit, "clay-harness replay", cases, files.num, (double)(cw_now_us() - run_start) / 1e6) != 0) {
        fprintf(stderr, "clay-harness replay: cannot write %s: %s\n", replay.junit, strerror(errno));
        rc = 1;
    }
    cw_http_free(replay.http);
    cw_loop_dispose(&replay.loop, 1);

Exit:
    for (size_t i = 0; i != files.num; ++i) {
        free(files.paths[i]);
        if (cases != NULL) {
            free((char *)cases[i].name);
            free((char *)cases[i].failure);
        }
    }
    free(files.paths);
    free(inputs.paths);
    free(cases);
    return rc;
}
