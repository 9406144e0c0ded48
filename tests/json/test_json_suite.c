/*
 * test_json_suite.c — JSONTestSuite conformance (nst/JSONTestSuite,
 * test_parsing/): every y_ file must be accepted, every n_ file rejected,
 * every i_ file answered either way without a crash or hang (ctest's
 * timeout and the sanitizers watch for those).
 *
 * Plain RFC 8259 mode decides the verdict (the suite lists duplicate keys
 * as y_). Every file is also parsed in strict mode, which may only be
 * stricter: an n_ file accepted there is a failure too. Every accepted
 * text is written back (compact and pretty) and parsed again, and the two
 * trees must be equal.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

struct tally {
    int y_total, y_ok, n_total, n_ok, i_total, i_accepted, i_rejected;
    int roundtrip_failures;
    int failures;
};

/* Parse, and if accepted check write -> parse -> equal. Returns accepted. */
static bool parse_and_roundtrip(const char *name, const char *data, size_t len, unsigned flags,
                                struct tally *t)
{
    struct cw_arena *a = cw_arena_new(64u << 20);
    assert_non_null(a);
    struct cw_json_opts opts = {.flags = flags};
    struct cw_json *root = NULL;
    struct cw_err err;
    bool ok = cw_json_parse(a, data, len, &opts, &root, &err) == 0;
    if (ok) {
        assert_non_null(root);
        for (int indent = 0; indent <= 2; indent += 2) {
            struct cw_buf out;
            cw_buf_init(&out, 0);
            struct cw_json *again = NULL;
            struct cw_err err2;
            if (cw_json_write(&out, root, indent) < 0 ||
                cw_json_parse(a, out.ptr, out.len, &opts, &again, &err2) < 0 ||
                !cw_json_equal(root, again)) {
                printf("ROUNDTRIP FAIL %s (indent %d)\n", name, indent);
                t->roundtrip_failures++;
            }
            cw_buf_release(&out);
        }
    } else {
        assert_null(root);
        assert_true(err.issue != CW_ISSUE_NONE);
        assert_true(err.msg[0] != '\0');
    }
    cw_arena_destroy(a);
    return ok;
}

static void one_file(const char *path, void *ctx)
{
    struct tally *t = ctx;
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    size_t len;
    char *data = cw_test_read_file(path, &len);
    assert_non_null(data);
    /* Parse from an exact-size heap copy so ASan catches any read past n. */
    char *exact = malloc(len ? len : 1);
    assert_non_null(exact);
    memcpy(exact, data, len);
    free(data);

    bool plain = parse_and_roundtrip(name, exact, len, 0, t);
    bool strict = parse_and_roundtrip(name, exact, len, CW_JSON_STRICT, t);
    if (strict && !plain) {
        printf("FAIL %s: strict accepted what plain rejected\n", name);
        t->failures++;
    }
    if (strncmp(name, "y_", 2) == 0) {
        t->y_total++;
        if (plain)
            t->y_ok++;
        else {
            printf("FAIL %s: valid JSON rejected\n", name);
            t->failures++;
        }
    } else if (strncmp(name, "n_", 2) == 0) {
        t->n_total++;
        if (!plain && !strict)
            t->n_ok++;
        else {
            printf("FAIL %s: invalid JSON accepted (%s mode)\n", name, plain ? "plain" : "strict");
            t->failures++;
        }
    } else if (strncmp(name, "i_", 2) == 0) {
        t->i_total++;
        if (plain)
            t->i_accepted++;
        else
            t->i_rejected++;
    }
    free(exact);
}

static void test_json_test_suite(void **state)
{
    (void)state;
    const char *dir = cw_test_corpus("json-test-suite/test_parsing");
    if (!dir) cw_test_skip("corpus json-test-suite/test_parsing not found");
    struct tally t = {0};
    assert_int_equal(cw_test_walk(dir, one_file, &t), 0);
    printf("json-test-suite: y %d/%d accepted, n %d/%d rejected, i %d answered (%d accepted, %d "
           "rejected)\n",
           t.y_ok, t.y_total, t.n_ok, t.n_total, t.i_total, t.i_accepted, t.i_rejected);
    if (t.roundtrip_failures)
        printf("json-test-suite: %d round-trip failures\n", t.roundtrip_failures);
    fflush(stdout);
    /* The suite has 95 y_, 188 n_, 35 i_ files; a partial corpus is a setup error. */
    assert_true(t.y_total >= 95);
    assert_true(t.n_total >= 188);
    assert_int_equal(t.failures, 0);
    assert_int_equal(t.roundtrip_failures, 0);
    assert_int_equal(t.i_accepted + t.i_rejected, t.i_total);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_test_suite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
