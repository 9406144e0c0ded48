/*
 * test_json_fhir.c — the JSON codec on real FHIR R4 data from the shared
 * corpus (fhir-r4-examples/ and profiles/).
 *
 * For every *.json file: strict parse (no duplicate keys, valid UTF-8),
 * compact and pretty write, parse again, trees equal. Then the writer is
 * held to the files' own formatting: the Synthea bundles are written with
 * 4-space JSON.stringify layout and must come out byte-for-byte identical;
 * of the HL7 spec examples, those laid out the same way with 2 spaces (729
 * of 750 at the pinned corpus; the rest are compact or use other layouts)
 * must as well. Counts are printed.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

struct tally {
    int files, parsed, roundtrip_ok, identical;
    int indent;
    bool check_identical;
};

static bool has_json_suffix(const char *path)
{
    size_t n = strlen(path);
    return n > 5 && strcmp(path + n - 5, ".json") == 0;
}

static void one_file(const char *path, void *ctx)
{
    struct tally *t = ctx;
    if (!has_json_suffix(path)) return;
    t->files++;
    size_t len;
    char *data = cw_test_read_file(path, &len);
    assert_non_null(data);
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json_opts strict = {.flags = CW_JSON_STRICT};
    struct cw_json *root = NULL, *again = NULL;
    struct cw_err err;
    if (cw_json_parse(a, data, len, &strict, &root, &err) < 0) {
        printf("PARSE FAIL %s:%u:%u: %s\n", path, err.line, err.column, err.msg);
        goto out;
    }
    t->parsed++;
    struct cw_buf out;
    cw_buf_init(&out, 0);
    bool rt = true;
    for (int indent = 0; indent <= 3; indent += 3) {
        cw_buf_reset(&out);
        if (cw_json_write(&out, root, indent) < 0 ||
            cw_json_parse(a, out.ptr, out.len, &strict, &again, &err) < 0 ||
            !cw_json_equal(root, again)) {
            printf("ROUNDTRIP FAIL %s (indent %d)\n", path, indent);
            rt = false;
        }
    }
    if (rt) t->roundtrip_ok++;
    if (t->check_identical) {
        cw_buf_reset(&out);
        assert_int_equal(cw_json_write(&out, root, t->indent), 0);
        size_t n = len;
        if (n && data[n - 1] == '\n') n--; /* a final newline is not part of the layout */
        if (out.len == n && memcmp(out.ptr, data, n) == 0) t->identical++;
    }
    cw_buf_release(&out);
out:
    cw_arena_destroy(a);
    free(data);
}

static void run_dir(const char *sub, int indent, struct tally *t)
{
    const char *dir = cw_test_corpus(sub);
    if (!dir) cw_test_skip("corpus folder not found");
    memset(t, 0, sizeof *t);
    t->indent = indent;
    t->check_identical = indent > 0;
    assert_int_equal(cw_test_walk(dir, one_file, t), 0);
    printf("%s: %d files, %d parsed (strict), %d round-trip equal", sub, t->files, t->parsed,
           t->roundtrip_ok);
    if (t->check_identical) printf(", %d byte-identical with indent %d", t->identical, indent);
    printf("\n");
    fflush(stdout);
    assert_true(t->files > 0);
    assert_int_equal(t->parsed, t->files);
    assert_int_equal(t->roundtrip_ok, t->files);
}

static void test_synthea(void **state)
{
    (void)state;
    struct tally t;
    run_dir("fhir-r4-examples/synthea", 4, &t);
    assert_int_equal(t.files, 61);
    assert_int_equal(t.identical, t.files);
}

static void test_spec_examples(void **state)
{
    (void)state;
    struct tally t;
    run_dir("fhir-r4-examples/spec-examples", 2, &t);
    assert_true(t.identical >= 729);
}

static void test_profiles(void **state)
{
    (void)state;
    struct tally t;
    run_dir("profiles", 0, &t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synthea),
        cmocka_unit_test(test_spec_examples),
        cmocka_unit_test(test_profiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
