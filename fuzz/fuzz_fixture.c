/*
 * fuzz_fixture.c: the fixture format of the harness (harness/fixture/fixture.h) on
 * arbitrary bytes, through its in-memory entry point cw_fixture_parse, and the
 * JSON subset matcher cw_json_subset_match that replay applies to responses.
 *
 * Input:
 *   without a NUL byte   a fixture file. When it loads: every step is signed
 *                        (cw_fixture_step_sign at a fixed clock), its
 *                        expectations are checked against its own request
 *                        (cw_fixture_check_response), its json expectation is
 *                        matched against its own body, and the fixture is
 *                        saved, loaded back and saved again.
 *   with a NUL byte      "<expected JSON>\0<actual JSON>" for the matcher.
 *
 * Oracles besides the sanitizers: a failure leaves a NUL-terminated reason
 * naming the file; saving is a fixed point (what cw_fixture_save writes loads
 * back with the same bodies and saves to the same bytes); a document free of
 * duplicate keys matches itself.
 *
 * Saved files go to $TMPDIR (else /dev/shm, else /tmp) as
 * cw-fuzz-fixture-<pid>-{1,2}.json and are removed at exit.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "fixture.h"

#define CHECK(cond)                                                                                                                \
    do {                                                                                                                           \
        if (!(cond)) {                                                                                                             \
            fprintf(stderr, "fuzz_fixture: check failed at line %d: %s\n", __LINE__, #cond);                                       \
            abort();                                                                                                               \
        }                                                                                                                          \
    } while (0)

#define FUZZ_NOW 1700000000
#define FUZZ_PATH "fuzz.json"

static char path1[512], path2[512];

static void remove_files(void)
{
    unlink(path1);
    unlink(path2);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* cw_fixture_save fsyncs every file: memory-backed /dev/shm keeps that cheap when $TMPDIR is not set. */
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] == '\0') {
        dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    }
    snprintf(path1, sizeof(path1), "%s/cw-fuzz-fixture-%d-1.json", dir, (int)getpid());
    snprintf(path2, sizeof(path2), "%s/cw-fuzz-fixture-%d-2.json", dir, (int)getpid());
    atexit(remove_files);
    return 0;
}

static char *read_file(const char *path, size_t *out_len)
{
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL);
    CHECK(fseek(fp, 0, SEEK_END) == 0);
    long n = ftell(fp);
    CHECK(n >= 0 && fseek(fp, 0, SEEK_SET) == 0);
    char *text = malloc((size_t)n + 1);
    CHECK(text != NULL && fread(text, 1, (size_t)n, fp) == (size_t)n);
    fclose(fp);
    *out_len = (size_t)n;
    return text;
}

static int has_duplicate_keys(const cJSON *item)
{
    for (const cJSON *a = item != NULL ? item->child : NULL; a != NULL; a = a->next) {
        if (cJSON_IsObject(item)) {
            for (const cJSON *b = a->next; b != NULL; b = b->next) {
                if (strcmp(a->string, b->string) == 0) {
                    return 1;
                }
            }
        }
        if (has_duplicate_keys(a)) {
            return 1;
        }
    }
    return 0;
}

static void fuzz_match(const char *expected_text, size_t expected_len, const char *actual_text, size_t actual_len)
{
    char why[512];
    cJSON *expected = cJSON_ParseWithLength(expected_text, expected_len);
    cJSON *actual = cJSON_ParseWithLength(actual_text, actual_len);

    if (expected != NULL) {
        why[0] = '\0';
        if (!cw_json_subset_match(expected, actual, why, sizeof(why))) {
            CHECK(memchr(why, '\0', sizeof(why)) != NULL && why[0] != '\0');
        }
        if (!has_duplicate_keys(expected)) {
            CHECK(cw_json_subset_match(expected, expected, why, sizeof(why)) == 1);
        }
    }
    cJSON_Delete(expected);
    cJSON_Delete(actual);
}

static void exercise(const cw_fixture_t *f)
{
    char err[512];

    CHECK(f->name != NULL && f->description != NULL && f->num_steps >= 1);
    for (size_t i = 0; i != f->num_steps; ++i) {
        const cw_fixture_step_t *step = &f->steps[i];
        const cw_fixture_request_t *req = &step->request;
        cw_sign_headers_t signed_headers;
        CHECK(req->method != NULL && req->path != NULL && req->body != NULL);
        CHECK(step->expect.num_statuses >= 1 && step->expect.num_statuses <= CW_FIXTURE_MAX_STATUSES);
        err[0] = '\0';
        if (cw_fixture_step_sign(step, FUZZ_NOW, &signed_headers, err, sizeof(err)) == 0) {
            CHECK(signed_headers.num_headers <= CW_SIGN_MAX_HEADERS);
        } else {
            CHECK(err[0] != '\0');
        }
        /* Its own request as the response: exercises every expectation kind against fuzzed bytes. */
        err[0] = '\0';
        int matched = cw_fixture_check_response(&step->expect, step->expect.statuses[0], req->headers, req->num_headers,
                                                (const char *)req->body, req->body_len, err, sizeof(err));
        CHECK(memchr(err, '\0', sizeof(err)) != NULL);
        CHECK(matched == 0 || (matched == -1 && err[0] != '\0')); /* a mismatch always says why */
        if (step->expect.json != NULL) {
            cJSON *body = cJSON_ParseWithLength((const char *)req->body, req->body_len);
            cw_json_subset_match(step->expect.json, body, err, sizeof(err));
            cJSON_Delete(body);
        }
    }
}

static void same_bodies(const cw_fixture_t *a, const cw_fixture_t *b)
{
    CHECK(a->num_steps == b->num_steps && strcmp(a->name, b->name) == 0 && strcmp(a->description, b->description) == 0);
    for (size_t i = 0; i != a->num_steps; ++i) {
        const cw_fixture_request_t *x = &a->steps[i].request, *y = &b->steps[i].request;
        CHECK(x->body_len == y->body_len && memcmp(x->body, y->body, x->body_len) == 0);
        CHECK(x->num_headers == y->num_headers && strcmp(x->method, y->method) == 0 && strcmp(x->path, y->path) == 0);
    }
}

static void save_round_trip(const cw_fixture_t *f)
{
    char err[512];
    cw_fixture_t *again = NULL, *third = NULL;
    size_t len1, len2;

    errno = 0;
    if (cw_fixture_save(path1, f) != 0) {
        /* Documented refusals only: a string that is not UTF-8 or holds a NUL, or a file too large. */
        CHECK(errno == EINVAL || errno == EFBIG);
        return;
    }
    if (cw_fixture_load(path1, &again, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_fixture: a saved fixture does not load: %s\n", err);
        abort();
    }
    same_bodies(f, again);
    CHECK(cw_fixture_save(path2, again) == 0);
    char *text1 = read_file(path1, &len1), *text2 = read_file(path2, &len2);
    CHECK(len1 == len2 && memcmp(text1, text2, len1) == 0);
    CHECK(cw_fixture_parse(FUZZ_PATH, text2, len2, &third, err, sizeof(err)) == 0);
    same_bodies(f, third);
    free(text1);
    free(text2);
    cw_fixture_free(again);
    cw_fixture_free(third);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size != 0 ? size : 1), err[512];
    cw_fixture_t *f = (cw_fixture_t *)&f;

    CHECK(text != NULL);
    if (size != 0) {
        memcpy(text, data, size);
    }
    const char *nul = memchr(text, '\0', size);
    if (nul != NULL) {
        size_t left = (size_t)(nul - text);
        fuzz_match(text, left, nul + 1, size - left - 1);
        free(text);
        return 0;
    }

    memset(err, 'x', sizeof(err));
    if (cw_fixture_parse(FUZZ_PATH, text, size, &f, err, sizeof(err)) != 0) {
        CHECK(f == NULL);
        CHECK(memchr(err, '\0', sizeof(err)) != NULL && strncmp(err, FUZZ_PATH ": ", strlen(FUZZ_PATH ": ")) == 0);
    } else {
        CHECK(f != NULL);
        exercise(f);
        save_round_trip(f);
        cw_fixture_free(f);
    }
    /* The matcher on the whole text as both sides. */
    fuzz_match(text, size, text, size);
    free(text);
    return 0;
}
