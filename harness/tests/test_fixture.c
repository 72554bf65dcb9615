/* test_fixture.c: every case in fixtures/ loads, malformed cases fail with errors naming file and field,
 * the JSON-subset matcher's rules, and save/load round trips byte-exact. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "cw/util.h"
#include "fixture.h"

static char tmp_dir[64];

static int setup(void **state)
{
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/cw-test-fixture-XXXXXX");
    return mkdtemp(tmp_dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    char **paths;
    size_t num;
    char err[256];
    if (cw_fixture_list_dir(tmp_dir, &paths, &num, err, sizeof(err)) == 0) {
        for (size_t i = 0; i != num; ++i) {
            unlink(paths[i]);
            free(paths[i]);
        }
        free(paths);
    }
    return rmdir(tmp_dir);
}

static const char *fixtures_dir(char *buf, size_t size)
{
    const char *src = getenv("CW_SOURCE_DIR");
    struct stat st;
    if (src != NULL && src[0] != '\0') {
        snprintf(buf, size, "%s/fixtures", src);
        return buf;
    }
    static const char *const guesses[] = {"fixtures", "../fixtures", "../../fixtures"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(guesses); ++i) {
        if (stat(guesses[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(buf, size, "%s", guesses[i]);
            return buf;
        }
    }
    fail_msg("cannot find fixtures/: set CW_SOURCE_DIR");
    return NULL;
}

static void load_all(cw_fixture_t ***out, size_t *out_num)
{
    char dir[1024], err[512];
    char **paths;
    size_t num;
    fixtures_dir(dir, sizeof(dir));
    if (cw_fixture_list_dir(dir, &paths, &num, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    cw_fixture_t **all = cw_calloc(num, sizeof(*all));
    for (size_t i = 0; i != num; ++i) {
        if (cw_fixture_load(paths[i], &all[i], err, sizeof(err)) != 0) {
            fail_msg("%s", err);
        }
        free(paths[i]);
    }
    free(paths);
    *out = all;
    *out_num = num;
}

static void free_all(cw_fixture_t **all, size_t num)
{
    for (size_t i = 0; i != num; ++i) {
        cw_fixture_free(all[i]);
    }
    free(all);
}

static const cw_fixture_t *by_name(cw_fixture_t **all, size_t num, const char *name)
{
    for (size_t i = 0; i != num; ++i) {
        if (strcmp(all[i]->name, name) == 0) {
            return all[i];
        }
    }
    fail_msg("no fixture named %s", name);
    return NULL;
}

static const char *header(const cw_fixture_request_t *r, const char *name)
{
    for (size_t i = 0; i != r->num_headers; ++i) {
        if (strcasecmp(r->headers[i].name, name) == 0) {
            return r->headers[i].value;
        }
    }
    return NULL;
}

static void test_load_all_fixtures(void **state)
{
    cw_fixture_t **all;
    size_t num;
    load_all(&all, &num);
    assert_true(num >= 40);
    for (size_t i = 0; i != num; ++i) {
        /* The name is the file's base name, so a report line leads straight to the file. */
        const char *base = strrchr(all[i]->file, '/');
        base = base != NULL ? base + 1 : all[i]->file;
        assert_int_equal(strlen(base), strlen(all[i]->name) + 5);
        assert_memory_equal(base, all[i]->name, strlen(all[i]->name));
        assert_true(all[i]->description[0] != '\0');
        for (size_t s = 0; s != all[i]->num_steps; ++s) {
            cw_sign_headers_t h;
            char err[160];
            if (cw_fixture_step_sign(&all[i]->steps[s], 0, &h, err, sizeof(err)) != 0) {
                fail_msg("%s: steps[%zu]: %s", all[i]->file, s, err);
            }
            const cw_fixture_sign_t *sg = &all[i]->steps[s].request.sign;
            int none_expected =
                sg->scheme == CW_SIGN_NONE || (sg->tamper == CW_SIGN_TAMPER_MISSING && sg->scheme != CW_SIGN_STANDARD);
            assert_int_equal(h.num_headers == 0, none_expected);
        }
    }

    const cw_fixture_t *f = by_name(all, num, "bad-too-large");
    assert_int_equal(f->steps[0].request.body_len, 1048577);
    assert_int_equal(f->steps[0].expect.statuses[0], 413);
    f = by_name(all, num, "body-at-size-limit");
    assert_int_equal(f->steps[0].request.body_len, 1048576);
    f = by_name(all, num, "bad-invalid-utf8");
    assert_non_null(memchr(f->steps[0].request.body, 0xe9, f->steps[0].request.body_len));
    f = by_name(all, num, "dup-same-body-twice");
    assert_int_equal(f->num_steps, 2);
    assert_int_equal(f->steps[1].request.body_len, f->steps[0].request.body_len);
    assert_memory_equal(f->steps[1].request.body, f->steps[0].request.body, f->steps[0].request.body_len);
    assert_int_equal(f->steps[1].expect.deliveries[0], 1);
    f = by_name(all, num, "auth-standard-stale");
    assert_int_equal(f->steps[0].request.sign.skew_s, -400);
    free_all(all, num);
}

/* Replayed against one function, no case may see another case's event as a duplicate: every body that is
 * accepted (2xx on the callback path), every Idempotency-Key and every explicit webhook-id belongs to one
 * case only. */
static void test_cases_are_independent(void **state)
{
    cw_fixture_t **all;
    size_t num;
    load_all(&all, &num);
    for (size_t a = 0; a != num; ++a) {
        for (size_t b = a + 1; b != num; ++b) {
            for (size_t sa = 0; sa != all[a]->num_steps; ++sa) {
                for (size_t sb = 0; sb != all[b]->num_steps; ++sb) {
                    const cw_fixture_step_t *x = &all[a]->steps[sa], *y = &all[b]->steps[sb];
                    int x_accepted = x->expect.statuses[0] < 300 && strcmp(x->request.path, CW_FIXTURE_DEFAULT_PATH) == 0;
                    int y_accepted = y->expect.statuses[0] < 300 && strcmp(y->request.path, CW_FIXTURE_DEFAULT_PATH) == 0;
                    if (x_accepted && y_accepted && x->request.body_len == y->request.body_len &&
                        memcmp(x->request.body, y->request.body, x->request.body_len) == 0) {
                        fail_msg("%s and %s send the same body", all[a]->name, all[b]->name);
                    }
                    const char *kx = header(&x->request, "Idempotency-Key"), *ky = header(&y->request, "Idempotency-Key");
                    if (kx != NULL && ky != NULL && strcmp(kx, ky) == 0) {
                        fail_msg("%s and %s share an Idempotency-Key", all[a]->name, all[b]->name);
                    }
                    const char *ix = x->request.sign.msg_id, *iy = y->request.sign.msg_id;
                    if (ix != NULL && iy != NULL && strcmp(ix, iy) == 0) {
                        fail_msg("%s and %s share a webhook-id", all[a]->name, all[b]->name);
                    }
                }
            }
        }
    }
    free_all(all, num);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* expect_error writes |text| to a temp file, loads it and checks the error names the file and |needle|. */
static void expect_error(const char *file_name, const char *text, const char *needle)
{
    char path[256], err[512] = "";
    cw_fixture_t *f = (cw_fixture_t *)1;
    snprintf(path, sizeof(path), "%s/%s", tmp_dir, file_name);
    write_file(path, text, strlen(text));
    assert_int_equal(cw_fixture_load(path, &f, err, sizeof(err)), -1);
    assert_null(f);
    print_message("%s\n", err);
    if (strncmp(err, path, strlen(path)) != 0 || strstr(err, needle) == NULL) {
        fail_msg("error \"%s\" should start with %s and contain \"%s\"", err, path, needle);
    }
    unlink(path);
}

#define OK_REQ "\"request\":{\"body\":\"{}\"}"

static void test_malformed(void **state)
{
    expect_error("no-status.json", "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{" OK_REQ ",\"expect\":{}}]}",
                 "steps[0].expect.status: missing");
    expect_error("bad-status.json", "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{" OK_REQ ",\"expect\":{\"status\":600}}]}",
                 "steps[0].expect.status: must be an integer 100-599");
    expect_error("bad-status-type.json",
                 "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{" OK_REQ ",\"expect\":{\"status\":\"200\"}}]}",
                 "steps[0].expect.status: must be an integer 100-599");
    expect_error("bad-base64.json",
                 "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{\"request\":{\"body_base64\":\"not base64!\"},"
                 "\"expect\":{\"status\":200}}]}",
                 "steps[0].request.body_base64: not valid base64");
    expect_error("bad-scheme.json",
                 "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{\"request\":{\"body\":\"{}\",\"sign\":{\"scheme\":\"jwt\","
                 "\"secret\":\"s\"}},\"expect\":{\"status\":200}}]}",
                 "steps[0].request.sign.scheme: must be one of");
    expect_error("bad-tamper.json",
                 "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{\"request\":{\"body\":\"{}\",\"sign\":{\"scheme\":\"hmac\","
                 "\"secret\":\"s\",\"tamper\":\"flip\"}},\"expect\":{\"status\":200}}]}",
                 "steps[0].request.sign.tamper");
    expect_error("bad-whsec.json",
                 "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{\"request\":{\"body\":\"{}\",\"sign\":{\"scheme\":\"standard\","
                 "\"secret\":\"whsec_***\"}},\"expect\":{\"status\":200}}]}",
                 "steps[0].request.sign: a whsec_ secret is not valid base64");
    expect_error("skew-hmac.json",
                 "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{\"request\":{\"body\":\"{}\",\"sign\":{\"scheme\":\"hmac\","
                 "\"secret\":\"s\",\"skew\":5}},\"expect\":{\"status\":200}}]}",
                 "steps[0].request.sign.skew: only the standard scheme");
    expect_error("not-json.json", "{\"name\":\"x\",\n\"description\":\"d\",\n\"steps\":[", "not valid JSON (near line 3");
    expect_error("trailing.json", "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{" OK_REQ ",\"expect\":{\"status\":200}}]} {}",
                 "unexpected text after the JSON object");
    expect_error("unknown-key.json",
                 "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{" OK_REQ ",\"expect\":{\"status\":200,\"stauts\":1}}]}",
                 "steps[0].expect.stauts: unknown key");
    expect_error("dup-key.json",
                 "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{" OK_REQ ",\"expect\":{\"status\":200,\"status\":201}}]}",
                 "steps[0].expect.status: duplicate key");
    expect_error("two-bodies.json",
                 "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{\"request\":{\"body\":\"{}\",\"body_base64\":\"e30=\"},"
                 "\"expect\":{\"status\":200}}]}",
                 "steps[0].request: needs exactly one of body, body_base64, body_repeat");
    expect_error("no-body.json", "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{\"request\":{},\"expect\":{\"status\":200}}]}",
                 "steps[0].request: needs exactly one of");
    expect_error("bad-sink.json",
                 "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{" OK_REQ
                 ",\"expect\":{\"status\":200,\"deliveries\":{\"email\":1}}}]}",
                 "steps[0].expect.deliveries.email: unknown sink");
    expect_error("bad-header.json",
                 "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{\"request\":{\"headers\":[\"No colon here\"],\"body\":\"{}\"},"
                 "\"expect\":{\"status\":200}}]}",
                 "steps[0].request.headers[0]: must be \"Name: value\"");
    expect_error("bad-repeat.json",
                 "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{\"request\":{\"body_repeat\":{\"byte\":\"ab\",\"count\":3}},"
                 "\"expect\":{\"status\":200}}]}",
                 "steps[0].request.body_repeat.byte: must be a one-byte string");
    expect_error(
        "huge-repeat.json",
        "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{\"request\":{\"body_repeat\":{\"byte\":\"a\",\"count\":99999999}},"
        "\"expect\":{\"status\":200}}]}",
        "steps[0].request.body_repeat.count: must be an integer 0-16777216");
    expect_error("bad-name.json",
                 "{\"name\":\"has space\",\"description\":\"d\",\"steps\":[{" OK_REQ ",\"expect\":{\"status\":200}}]}",
                 "name: must be");
    expect_error("no-steps.json", "{\"name\":\"x\",\"description\":\"d\",\"steps\":[]}", "steps: must be an array of 1-32");
    expect_error(
        "nul-escape.json",
        "{\"name\":\"x\",\"description\":\"d\",\"steps\":[{\"request\":{\"body\":\"a\\u0000b\"},\"expect\":{\"status\":200}}]}",
        "\\u0000 is not supported");
    expect_error("array.json", "[1,2]", "must hold one JSON object");

    /* Invalid UTF-8 in the file itself. */
    char path[256], err[512];
    cw_fixture_t *f;
    snprintf(path, sizeof(path), "%s/latin1.json", tmp_dir);
    static const char latin1_file[] = "{\"name\":\"x\",\"description\":\"caf\xe9\",\"steps\":[]}";
    write_file(path, latin1_file, strlen(latin1_file));
    assert_int_equal(cw_fixture_load(path, &f, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not valid UTF-8"));
    unlink(path);

    /* Over the size cap: a file of cap + 1 bytes is refused before parsing. */
    snprintf(path, sizeof(path), "%s/huge.json", tmp_dir);
    size_t big_len = CW_FIXTURE_MAX_FILE_BYTES + 1;
    char *big = cw_malloc(big_len);
    memset(big, ' ', big_len);
    big[0] = '{';
    big[big_len - 1] = '}';
    write_file(path, big, big_len);
    free(big);
    assert_int_equal(cw_fixture_load(path, &f, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "larger than"));
    unlink(path);

    snprintf(path, sizeof(path), "%s/absent.json", tmp_dir);
    assert_int_equal(cw_fixture_load(path, &f, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open"));
}

static cJSON *J(const char *text)
{
    cJSON *v = cJSON_Parse(text);
    if (v == NULL) {
        fail_msg("bad test JSON: %s", text);
    }
    return v;
}

static int match(const char *expected, const char *actual, char *why, size_t why_size)
{
    cJSON *e = J(expected), *a = J(actual);
    int r = cw_json_subset_match(e, a, why, why_size);
    cJSON_Delete(e);
    cJSON_Delete(a);
    return r;
}

static void test_subset_match(void **state)
{
    char why[256];
    assert_int_equal(match("{}", "{\"a\":1}", why, sizeof(why)), 1);
    assert_int_equal(match("{\"a\":1}", "{\"a\":1,\"b\":2}", why, sizeof(why)), 1);
    assert_int_equal(match("{\"id\":\"*\"}", "{\"id\":\"3f9a\"}", why, sizeof(why)), 1);
    assert_int_equal(match("{\"id\":\"*\"}", "{\"id\":null}", why, sizeof(why)), 1); /* present, any value */
    assert_int_equal(match("{\"id\":\"*\"}", "{\"other\":1}", why, sizeof(why)), 0);
    assert_string_equal(why, "$.id: missing (expected \"*\")");

    assert_int_equal(match("{\"d\":{\"outreach\":\"delivered\"}}", "{\"d\":{\"outreach\":\"delivered\",\"zapier\":\"delivered\"}}",
                           why, sizeof(why)),
                     1);
    assert_int_equal(match("{\"d\":{\"outreach\":\"delivered\"}}", "{\"d\":{\"outreach\":\"failed\"}}", why, sizeof(why)), 0);
    assert_string_equal(why, "$.d.outreach: expected \"delivered\", got \"failed\"");
    assert_int_equal(match("{\"d\":{\"x\":1}}", "{\"d\":[1]}", why, sizeof(why)), 0);
    assert_string_equal(why, "$.d: expected an object, got an array of 1");

    /* Arrays: same length, element by element, in order. */
    assert_int_equal(match("{\"p\":[\"a\",\"b\"]}", "{\"p\":[\"a\",\"b\"]}", why, sizeof(why)), 1);
    assert_int_equal(match("{\"p\":[\"a\",\"b\"]}", "{\"p\":[\"b\",\"a\"]}", why, sizeof(why)), 0);
    assert_string_equal(why, "$.p[0]: expected \"a\", got \"b\"");
    assert_int_equal(match("{\"p\":[\"a\"]}", "{\"p\":[\"a\",\"b\"]}", why, sizeof(why)), 0);
    assert_int_equal(match("[{\"a\":1},\"*\"]", "[{\"a\":1,\"b\":2},7]", why, sizeof(why)), 1);

    /* Scalars compare by type and value. */
    assert_int_equal(match("{\"n\":85}", "{\"n\":85.0}", why, sizeof(why)), 1);
    assert_int_equal(match("{\"n\":85}", "{\"n\":\"85\"}", why, sizeof(why)), 0);
    assert_string_equal(why, "$.n: expected 85, got \"85\"");
    assert_int_equal(match("{\"b\":true}", "{\"b\":true}", why, sizeof(why)), 1);
    assert_int_equal(match("{\"b\":true}", "{\"b\":false}", why, sizeof(why)), 0);
    assert_int_equal(match("{\"z\":null}", "{\"z\":null}", why, sizeof(why)), 1);
    assert_int_equal(match("{\"z\":null}", "{\"z\":0}", why, sizeof(why)), 0);
    assert_int_equal(match("{\"Status\":\"ok\"}", "{\"status\":\"ok\"}", why, sizeof(why)), 0); /* keys are case-sensitive */

    cJSON *e = J("{}");
    assert_int_equal(cw_json_subset_match(e, NULL, why, sizeof(why)), 0);
    cJSON_Delete(e);
}

static void test_check_response(void **state)
{
    cw_fixture_t *f = cw_fixture_new("check", "d");
    cw_fixture_step_t *step = cw_fixture_add_step(f);
    cw_fixture_expect_t *e = &step->expect;
    e->statuses[e->num_statuses++] = 202;
    e->json = J("{\"status\":\"processed\",\"id\":\"*\"}");
    cw_fixture_add_header(&e->headers, &e->num_headers, "Content-Type", "application/json");
    cw_fixture_add_header(&e->headers, &e->num_headers, "retry-after", "*");
    e->body_contains = cw_calloc(1, sizeof(char *));
    e->body_contains[e->num_body_contains++] = cw_strdup("processed");

    cw_fixture_header_t got[] = {{"content-type", "application/json"}, {"Retry-After", "5"}};
    const char *body = "{\"status\":\"processed\",\"id\":\"ab\"}";
    char why[256];
    assert_int_equal(cw_fixture_check_response(e, 200, got, 2, body, strlen(body), why, sizeof(why)), 1);
    assert_int_equal(cw_fixture_check_response(e, 202, got, 2, body, strlen(body), why, sizeof(why)), 1);
    assert_int_equal(cw_fixture_check_response(e, 500, got, 2, body, strlen(body), why, sizeof(why)), 0);
    assert_string_equal(why, "status: expected 200 or 202, got 500");
    assert_int_equal(cw_fixture_check_response(e, 200, got, 1, body, strlen(body), why, sizeof(why)), 0);
    assert_string_equal(why, "header retry-after: missing");
    const char *other = "{\"status\":\"duplicate\",\"id\":\"ab\",\"x\":\"processed\"}";
    assert_int_equal(cw_fixture_check_response(e, 200, got, 2, other, strlen(other), why, sizeof(why)), 0);
    assert_string_equal(why, "$.status: expected \"processed\", got \"duplicate\"");
    assert_int_equal(cw_fixture_check_response(e, 200, got, 2, "oops processed", 14, why, sizeof(why)), 0);
    assert_string_equal(why, "body: not JSON");
    cw_fixture_free(f);
}

static void assert_same_step(const cw_fixture_step_t *a, const cw_fixture_step_t *b)
{
    assert_string_equal(a->request.method, b->request.method);
    assert_string_equal(a->request.path, b->request.path);
    assert_int_equal(a->request.body_len, b->request.body_len);
    assert_memory_equal(a->request.body, b->request.body, a->request.body_len);
    assert_int_equal(a->request.num_headers, b->request.num_headers);
    for (size_t i = 0; i != a->request.num_headers; ++i) {
        assert_string_equal(a->request.headers[i].name, b->request.headers[i].name);
        assert_string_equal(a->request.headers[i].value, b->request.headers[i].value);
    }
    assert_int_equal(a->request.sign.scheme, b->request.sign.scheme);
    assert_int_equal(a->request.sign.tamper, b->request.sign.tamper);
    assert_int_equal(a->request.sign.skew_s, b->request.sign.skew_s);
    assert_int_equal(a->request.sign.num_secrets, b->request.sign.num_secrets);
    for (size_t i = 0; i != a->request.sign.num_secrets; ++i) {
        assert_string_equal(a->request.sign.secrets[i], b->request.sign.secrets[i]);
    }
    assert_int_equal(a->expect.num_statuses, b->expect.num_statuses);
    assert_memory_equal(a->expect.statuses, b->expect.statuses, sizeof(a->expect.statuses));
    assert_memory_equal(a->expect.deliveries, b->expect.deliveries, sizeof(a->expect.deliveries));
    assert_int_equal(a->expect.json == NULL, b->expect.json == NULL);
    if (a->expect.json != NULL) {
        assert_true(cJSON_Compare(a->expect.json, b->expect.json, 1));
    }
}

static char *read_all(const char *path, size_t *out_len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    cw_buf_t buf = CW_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) != 0) {
        cw_buf_append(&buf, chunk, n);
    }
    fclose(fp);
    return cw_buf_release(&buf, out_len);
}

static void test_save_round_trip(void **state)
{
    static const uint8_t latin1[] = "{\"first_name\":\"Jos\xe9\",\"nul\":\"\x00\",\"icp_score\":85}";
    char path[256], path2[256], err[512];
    snprintf(path, sizeof(path), "%s/recorded.json", tmp_dir);
    snprintf(path2, sizeof(path2), "%s/recorded-again.json", tmp_dir);

    cw_fixture_t *f = cw_fixture_new("recorded-latin1", "A body that is not UTF-8, as record would capture it.");
    cw_fixture_step_t *step = cw_fixture_add_step(f);
    cw_fixture_set_body(&step->request, latin1, sizeof(latin1) - 1);
    cw_fixture_add_header(&step->request.headers, &step->request.num_headers, "Content-Type", "application/json");
    cw_fixture_add_header(&step->request.headers, &step->request.num_headers, "X-Clay-Secret", "s3cr\xc3\xa9t");
    step->expect.statuses[0] = 400;
    step->expect.json = J("{\"error\":\"bad_json\"}");
    step->expect.deliveries[2] = 0;
    step = cw_fixture_add_step(f);
    cw_fixture_set_body(&step->request, "{\"ok\":true}", 11);
    step->request.sign.scheme = CW_SIGN_STANDARD;
    step->request.sign.secrets = cw_calloc(2, sizeof(char *));
    step->request.sign.secrets[step->request.sign.num_secrets++] = cw_strdup("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    step->request.sign.secrets[step->request.sign.num_secrets++] = cw_strdup("raw-secret");
    step->request.sign.tamper = CW_SIGN_TAMPER_MALFORMED;
    step->request.sign.skew_s = -301;
    step->expect.num_statuses = 0;
    step->expect.statuses[step->expect.num_statuses++] = 401;
    step->expect.statuses[step->expect.num_statuses++] = 400;

    assert_int_equal(cw_fixture_save(path, f), 0);
    cw_fixture_t *g;
    if (cw_fixture_load(path, &g, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    assert_string_equal(g->name, f->name);
    assert_string_equal(g->description, f->description);
    assert_int_equal(g->num_steps, 2);
    assert_int_equal(g->steps[0].request.body_form, CW_FIXTURE_BODY_BASE64);
    assert_int_equal(g->steps[1].request.body_form, CW_FIXTURE_BODY_TEXT);
    for (size_t i = 0; i != 2; ++i) {
        assert_same_step(&f->steps[i], &g->steps[i]);
    }
    /* Saving what was loaded writes the same bytes. */
    assert_int_equal(cw_fixture_save(path2, g), 0);
    size_t a_len, b_len;
    char *a = read_all(path, &a_len), *b = read_all(path2, &b_len);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    free(a);
    free(b);
    cw_fixture_free(f);
    cw_fixture_free(g);

    /* A recorded 1 MiB body with one long run is saved compactly and still byte-exact. */
    f = cw_fixture_new("recorded-big", "d");
    step = cw_fixture_add_step(f);
    size_t big_len = 1048577;
    char *big = cw_malloc(big_len);
    memset(big, 'z', big_len);
    memcpy(big, "{\"pad\":\"", 8);
    memcpy(big + big_len - 2, "\"}", 2);
    big[100] = '\xff'; /* not UTF-8: the body must be saved as base64 */
    cw_fixture_set_body(&step->request, big, big_len);
    assert_int_equal(cw_fixture_save(path, f), 0);
    if (cw_fixture_load(path, &g, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    assert_int_equal(g->steps[0].request.body_len, big_len);
    assert_memory_equal(g->steps[0].request.body, big, big_len);
    big[100] = 'z';
    cw_fixture_set_body(&f->steps[0].request, big, big_len);
    assert_int_equal(cw_fixture_save(path2, f), 0);
    cw_fixture_free(g);
    if (cw_fixture_load(path2, &g, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    assert_int_equal(g->steps[0].request.body_form, CW_FIXTURE_BODY_REPEAT);
    assert_memory_equal(g->steps[0].request.body, big, big_len);
    struct stat st;
    assert_int_equal(stat(path2, &st), 0);
    assert_true(st.st_size < 4096);
    free(big);
    cw_fixture_free(f);
    cw_fixture_free(g);
    unlink(path);
    unlink(path2);
}

/* Every fixture in the repo survives load -> save -> load unchanged. */
static void test_round_trip_all(void **state)
{
    cw_fixture_t **all;
    size_t num;
    char path[256], err[512];
    load_all(&all, &num);
    snprintf(path, sizeof(path), "%s/again.json", tmp_dir);
    for (size_t i = 0; i != num; ++i) {
        cw_fixture_t *g;
        assert_int_equal(cw_fixture_save(path, all[i]), 0);
        if (cw_fixture_load(path, &g, err, sizeof(err)) != 0) {
            fail_msg("%s", err);
        }
        assert_int_equal(g->num_steps, all[i]->num_steps);
        for (size_t s = 0; s != g->num_steps; ++s) {
            assert_same_step(&all[i]->steps[s], &g->steps[s]);
            assert_int_equal(g->steps[s].request.body_form, all[i]->steps[s].request.body_form);
        }
        cw_fixture_free(g);
    }
    unlink(path);
    free_all(all, num);
}

static void test_list_dir(void **state)
{
    char path[256], err[256];
    char **paths;
    size_t num;
    static const char *const names[] = {"b.json", "a.json", "c.txt", ".hidden.json"};
    for (size_t i = 0; i != CW_ARRAY_SIZE(names); ++i) {
        snprintf(path, sizeof(path), "%s/%s", tmp_dir, names[i]);
        write_file(path, "{}", 2);
    }
    assert_int_equal(cw_fixture_list_dir(tmp_dir, &paths, &num, err, sizeof(err)), 0);
    assert_int_equal(num, 2);
    assert_non_null(strstr(paths[0], "/a.json"));
    assert_non_null(strstr(paths[1], "/b.json"));
    for (size_t i = 0; i != num; ++i) {
        free(paths[i]);
    }
    free(paths);
    for (size_t i = 0; i != CW_ARRAY_SIZE(names); ++i) {
        snprintf(path, sizeof(path), "%s/%s", tmp_dir, names[i]);
        unlink(path);
    }
    assert_int_equal(cw_fixture_list_dir("/nonexistent-cw-dir", &paths, &num, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent-cw-dir"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_all_fixtures), cmocka_unit_test(test_cases_are_independent),
        cmocka_unit_test(test_malformed),         cmocka_unit_test(test_subset_match),
        cmocka_unit_test(test_check_response),    cmocka_unit_test(test_save_round_trip),
        cmocka_unit_test(test_round_trip_all),    cmocka_unit_test(test_list_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
