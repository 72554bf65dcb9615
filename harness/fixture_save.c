/*
 * fixture_save.c: writes a fixture case in the format fixture.c reads, with
 * bodies byte-exact: as text when they are valid UTF-8 without NUL, as one long
 * run of a byte (body_repeat) when that is what they mostly are, else base64.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/base64.h>
#include "cw/util.h"
#include "fixture.h"

/* Bodies up to this size are written as text; larger ones try the repeat form first. */
#define SAVE_TEXT_MAX (256u * 1024)
#define SAVE_REPEAT_MIN_RUN 4096

static void add_text(cJSON *obj, const char *key, const uint8_t *s, size_t len)
{
    char *copy = cw_strndup((const char *)s, len);
    cJSON_AddStringToObject(obj, key, copy);
    free(copy);
}

static void add_base64(cJSON *obj, const char *key, const uint8_t *s, size_t len)
{
    size_t enc_len;
    EVP_EncodedLength(&enc_len, len);
    char *enc = cw_malloc(enc_len);
    EVP_EncodeBlock((uint8_t *)enc, s, len);
    cJSON_AddStringToObject(obj, key, enc);
    free(enc);
}

static void add_repeat(cJSON *obj, const uint8_t *body, size_t prefix_len, uint8_t byte, size_t count, size_t suffix_len)
{
    cJSON *rep = cJSON_AddObjectToObject(obj, "body_repeat");
    if (prefix_len != 0) {
        add_text(rep, "prefix", body, prefix_len);
    }
    if (byte >= 0x20 && byte < 0x7f) {
        char s[2] = {(char)byte, '\0'};
        cJSON_AddStringToObject(rep, "byte", s);
    } else {
        cJSON_AddNumberToObject(rep, "byte", byte);
    }
    cJSON_AddNumberToObject(rep, "count", (double)count);
    if (suffix_len != 0) {
        add_text(rep, "suffix", body + prefix_len + count, suffix_len);
    }
}

/* add_body_auto writes text when it can, else finds one long run of a byte for the repeat form, else base64. */
static void add_body_auto(cJSON *obj, const uint8_t *body, size_t len)
{
    int safe = cw_fixture_text_safe(body, len);
    if (safe && len <= SAVE_TEXT_MAX) {
        add_text(obj, "body", body, len);
        return;
    }
    size_t best_start = 0, best_len = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i + 1;
        while (j < len && body[j] == body[i]) {
            ++j;
        }
        if (j - i > best_len) {
            best_start = i, best_len = j - i;
        }
        i = j;
    }
    if (best_len >= SAVE_REPEAT_MIN_RUN && body[best_start] != 0 && cw_fixture_text_safe(body, best_start) &&
        cw_fixture_text_safe(body + best_start + best_len, len - best_start - best_len)) {
        add_repeat(obj, body, best_start, body[best_start], best_len, len - best_start - best_len);
    } else if (safe) {
        add_text(obj, "body", body, len);
    } else {
        add_base64(obj, "body_base64", body, len);
    }
}

static void add_body(cJSON *obj, const cw_fixture_request_t *r)
{
    switch (r->body_form) {
    case CW_FIXTURE_BODY_TEXT:
        if (cw_fixture_text_safe(r->body, r->body_len)) {
            add_text(obj, "body", r->body, r->body_len);
            return;
        }
        break;
    case CW_FIXTURE_BODY_BASE64:
        add_base64(obj, "body_base64", r->body, r->body_len);
        return;
    case CW_FIXTURE_BODY_REPEAT: {
        size_t pre = r->repeat_prefix_len, cnt = r->repeat_count, suf = r->repeat_suffix_len;
        int consistent =
            pre + cnt + suf == r->body_len && cw_fixture_text_safe(r->body, pre) && cw_fixture_text_safe(r->body + pre + cnt, suf);
        for (size_t i = 0; consistent && i != cnt; ++i) {
            consistent = r->body[pre + i] == r->repeat_byte;
        }
        if (consistent) {
            add_repeat(obj, r->body, pre, r->repeat_byte, cnt, suf);
            return;
        }
        break;
    }
    case CW_FIXTURE_BODY_AUTO:
        break;
    }
    add_body_auto(obj, r->body, r->body_len);
}

static cJSON *sign_to_json(const cw_fixture_sign_t *s)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "scheme", cw_sign_scheme_name(s->scheme));
    if (s->num_secrets == 1) {
        cJSON_AddStringToObject(obj, "secret", s->secrets[0]);
    } else {
        cJSON *arr = cJSON_AddArrayToObject(obj, "secrets");
        for (size_t i = 0; i != s->num_secrets; ++i) {
            cJSON_AddItemToArray(arr, cJSON_CreateString(s->secrets[i]));
        }
    }
    if (s->tamper != CW_SIGN_TAMPER_NONE) {
        cJSON_AddStringToObject(obj, "tamper", cw_sign_tamper_name(s->tamper, s->scheme));
    }
    if (s->skew_s != 0) {
        cJSON_AddNumberToObject(obj, "skew", (double)s->skew_s);
    }
    if (s->msg_id != NULL) {
        cJSON_AddStringToObject(obj, "id", s->msg_id);
    }
    if (s->bare_hex) {
        cJSON_AddTrueToObject(obj, "bare_hex");
    }
    return obj;
}

static cJSON *step_to_json(const cw_fixture_step_t *step)
{
    const cw_fixture_request_t *r = &step->request;
    const cw_fixture_expect_t *e = &step->expect;
    cJSON *obj = cJSON_CreateObject();
    cJSON *req = cJSON_AddObjectToObject(obj, "request");
    if (strcmp(r->method, "POST") != 0) {
        cJSON_AddStringToObject(req, "method", r->method);
    }
    if (strcmp(r->path, CW_FIXTURE_DEFAULT_PATH) != 0) {
        cJSON_AddStringToObject(req, "path", r->path);
    }
    if (r->num_headers != 0) {
        cJSON *arr = cJSON_AddArrayToObject(req, "headers");
        for (size_t i = 0; i != r->num_headers; ++i) {
            cw_buf_t line = CW_BUF_INIT;
            cw_buf_appendf(&line, "%s: %s", r->headers[i].name, r->headers[i].value);
            cJSON_AddItemToArray(arr, cJSON_CreateString(line.base));
            cw_buf_free(&line);
        }
    }
    add_body(req, r);
    if (r->sign.scheme != CW_SIGN_NONE) {
        cJSON_AddItemToObject(req, "sign", sign_to_json(&r->sign));
    }

    cJSON *exp = cJSON_AddObjectToObject(obj, "expect");
    if (e->num_statuses == 1) {
        cJSON_AddNumberToObject(exp, "status", e->statuses[0]);
    } else {
        cJSON *arr = cJSON_AddArrayToObject(exp, "status");
        for (size_t i = 0; i != e->num_statuses; ++i) {
            cJSON_AddItemToArray(arr, cJSON_CreateNumber(e->statuses[i]));
        }
    }
    if (e->json != NULL) {
        cJSON_AddItemToObject(exp, "json", cJSON_Duplicate(e->json, 1));
    }
    if (e->num_headers != 0) {
        cJSON *h = cJSON_AddObjectToObject(exp, "headers");
        for (size_t i = 0; i != e->num_headers; ++i) {
            cJSON_AddStringToObject(h, e->headers[i].name, e->headers[i].value);
        }
    }
    if (e->num_body_contains != 0) {
        cJSON *arr = cJSON_AddArrayToObject(exp, "body_contains");
        for (size_t i = 0; i != e->num_body_contains; ++i) {
            cJSON_AddItemToArray(arr, cJSON_CreateString(e->body_contains[i]));
        }
    }
    cJSON *deliveries = NULL, *sink_json = NULL;
    for (size_t i = 0; i != CW_FIXTURE_NUM_SINKS; ++i) {
        if (e->deliveries[i] >= 0) {
            if (deliveries == NULL) {
                deliveries = cJSON_AddObjectToObject(exp, "deliveries");
            }
            cJSON_AddNumberToObject(deliveries, cw_fixture_sink_names[i], e->deliveries[i]);
        }
    }
    for (size_t i = 0; i != CW_FIXTURE_NUM_SINKS; ++i) {
        if (e->sink_json[i] != NULL) {
            if (sink_json == NULL) {
                sink_json = cJSON_AddObjectToObject(exp, "sink_json");
            }
            cJSON_AddItemToObject(sink_json, cw_fixture_sink_names[i], cJSON_Duplicate(e->sink_json[i], 1));
        }
    }
    return obj;
}

/* reindent turns cJSON's tab formatting into two-space indentation. Raw tabs only occur as layout:
 * cJSON escapes tabs inside strings. */
static void reindent(cw_buf_t *out, const char *text)
{
    int line_start = 1;
    for (const char *s = text; *s != '\0'; ++s) {
        if (*s == '\t') {
            cw_buf_append(out, line_start ? "  " : " ", line_start ? 2 : 1);
            continue;
        }
        line_start = *s == '\n';
        cw_buf_append(out, s, 1);
    }
    cw_buf_append(out, "\n", 1);
}

/* strings_safe reports whether every string save writes outside a body is valid UTF-8 without NUL: cJSON
 * would copy other bytes raw into a file that load then refuses. */
static int strings_safe(const cw_fixture_t *fixture)
{
#define SAFE(s) ((s) == NULL || cw_fixture_text_safe((const uint8_t *)(s), strlen(s)))
    if (!SAFE(fixture->name) || !SAFE(fixture->description)) {
        return 0;
    }
    for (size_t i = 0; i != fixture->num_steps; ++i) {
        const cw_fixture_step_t *step = &fixture->steps[i];
        if (!SAFE(step->request.method) || !SAFE(step->request.path) || !SAFE(step->request.sign.msg_id)) {
            return 0;
        }
        for (size_t k = 0; k != step->request.num_headers; ++k) {
            if (!SAFE(step->request.headers[k].name) || !SAFE(step->request.headers[k].value)) {
                return 0;
            }
        }
        for (size_t k = 0; k != step->request.sign.num_secrets; ++k) {
            if (!SAFE(step->request.sign.secrets[k])) {
                return 0;
            }
        }
        for (size_t k = 0; k != step->expect.num_headers; ++k) {
            if (!SAFE(step->expect.headers[k].name) || !SAFE(step->expect.headers[k].value)) {
                return 0;
            }
        }
        for (size_t k = 0; k != step->expect.num_body_contains; ++k) {
            if (!SAFE(step->expect.body_contains[k])) {
                return 0;
            }
        }
    }
    return 1;
#undef SAFE
}

int cw_fixture_save(const char *path, const cw_fixture_t *fixture)
{
    cJSON *root = cJSON_CreateObject();
    char *printed = NULL, *tmp = NULL;
    cw_buf_t text = CW_BUF_INIT, tmp_name = CW_BUF_INIT;
    FILE *fp = NULL;
    int ret = -1;

    if (!strings_safe(fixture)) {
        errno = EINVAL;
        goto Exit;
    }
    cJSON_AddStringToObject(root, "name", fixture->name);
    cJSON_AddStringToObject(root, "description", fixture->description);
    cJSON *steps = cJSON_AddArrayToObject(root, "steps");
    for (size_t i = 0; i != fixture->num_steps; ++i) {
        cJSON_AddItemToArray(steps, step_to_json(&fixture->steps[i]));
    }
    if ((printed = cJSON_Print(root)) == NULL) {
        goto Exit;
    }
    reindent(&text, printed);
    if (text.len > CW_FIXTURE_MAX_FILE_BYTES) {
        errno = EFBIG;
        goto Exit;
    }
    cw_buf_appendf(&tmp_name, "%s.tmp.%d", path, (int)getpid());
    tmp = cw_buf_release(&tmp_name, NULL);
    if ((fp = fopen(tmp, "wb")) == NULL) {
        goto Exit;
    }
    if (fwrite(text.base, 1, text.len, fp) != text.len || fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
        goto Exit;
    }
    if (fclose(fp) != 0) {
        fp = NULL;
        goto Exit;
    }
    fp = NULL;
    if (rename(tmp, path) != 0) {
        goto Exit;
    }
    ret = 0;
Exit:
    if (fp != NULL) {
        fclose(fp);
    }
    if (ret != 0 && tmp != NULL) {
        unlink(tmp);
    }
    free(tmp);
    free(printed);
    cw_buf_free(&text);
    cJSON_Delete(root);
    return ret;
}
