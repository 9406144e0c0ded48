/*
 * test_hl7v2_corpus.c — the HL7 v2 engine on the shared third-party corpus.
 *
 * corpus/hl7v2: every file is split into messages by the peer benchmark's
 * rules (bench/hl7v2_peer_split.h), so the count matches the peers' 759.
 * Every message must parse in lenient mode except the deliberately broken
 * ones listed below (they must fail with a v2 code, not crash); every
 * message that parsed without warnings must write back byte for byte, both
 * from the cached segment text and rebuilt from the leaves; the others
 * must re-parse to the same tree. Each message is also validated and
 * acknowledged (counts printed). Whole files go through
 * cw_hl7v2_parse_file too, and must find the same messages.
 *
 * corpus/hl7v2-malformed: fuzzer-found inputs that crashed other parsers.
 * Each must give an error or a lenient parse with warnings, never a crash
 * or hang; strict mode must reject each one.
 *
 * Every input is copied into a buffer of exactly its size, so ASan sees
 * any read past the end.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bench/hl7v2_peer_split.h"
#include "hl7v2/hl7v2.h"

/* Messages in corpus/hl7v2 that are broken on purpose (CDC trusted-intermediary "Test/Message"). */
static const char *const expected_failures[] = {
    "msh_present_but_missing_all_fields.hl7", /* "MSH|": no encoding characters */
    "msh_present_but_missing_msh-2.hl7",      /* "MSH||...": MSH-2 empty */
};

static bool expected_to_fail(const char *file)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    for (size_t i = 0; i < sizeof expected_failures / sizeof expected_failures[0]; i++)
        if (strcmp(base, expected_failures[i]) == 0) return true;
    return false;
}

static char *exact_copy(const char *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    assert_non_null(c);
    if (n) memcpy(c, p, n);
    return c;
}

/* Same tree: segment count, field counts, every node's text. */
static void assert_same_tree(const struct cw_hl7v2_msg *a, const struct cw_hl7v2_msg *b)
{
    assert_int_equal(a->nsegs, b->nsegs);
    for (uint32_t i = 0; i < a->nsegs; i++) {
        const struct cw_hl7v2_node *sa = cw_hl7v2_seg_at(a, i), *sb = cw_hl7v2_seg_at(b, i);
        assert_int_equal(cw_hl7v2_field_count(sa), cw_hl7v2_field_count(sb));
        assert_true(cw_slice_eq(cw_hl7v2_text(sa), cw_hl7v2_text(sb)));
        for (uint32_t f = 0; f <= cw_hl7v2_field_count(sa); f++) {
            const struct cw_hl7v2_node *fa = cw_hl7v2_field(sa, f), *fb = cw_hl7v2_field(sb, f);
            assert_int_equal(cw_hl7v2_rep_count(fa), cw_hl7v2_rep_count(fb));
            for (uint32_t r = 1; r <= cw_hl7v2_rep_count(fa); r++) {
                const struct cw_hl7v2_node *ra = cw_hl7v2_rep(fa, r), *rb = cw_hl7v2_rep(fb, r);
                assert_int_equal(cw_hl7v2_comp_count(ra), cw_hl7v2_comp_count(rb));
                for (uint32_t c = 1; c <= cw_hl7v2_comp_count(ra); c++) {
                    const struct cw_hl7v2_node *ca = cw_hl7v2_comp(ra, c),
                                               *cb = cw_hl7v2_comp(rb, c);
                    assert_int_equal(cw_hl7v2_sub_count(ca), cw_hl7v2_sub_count(cb));
                    assert_true(cw_slice_eq(cw_hl7v2_text(ca), cw_hl7v2_text(cb)));
                }
            }
        }
    }
}

static void corpus_messages(void **state)
{
    (void)state;
    const char *dir = cw_test_corpus("hl7v2");
    if (!dir) cw_test_skip("corpus/hl7v2 not found (set CW_CORPUS)");
    struct peer_msgs msgs = {0};
    assert_int_equal(peer_load(&msgs, dir), 0);
    size_t bytes = 0;
    for (size_t i = 0; i < msgs.n; i++) bytes += msgs.v[i].len;
    printf("corpus/hl7v2: %zu files, %zu messages, %zu bytes (peer split)\n", msgs.nfiles, msgs.n,
           bytes);
    /* the peer benchmark counts 759 messages, 3055712 bytes on this corpus */
    assert_int_equal(msgs.n, 759);
    assert_int_equal(bytes, 3055712);

    size_t parsed = 0, failed = 0, with_warnings = 0, identical = 0, strict_ok = 0;
    size_t stable = 0, validated_clean = 0, issues_total = 0, acks = 0;
    unsigned code_hist[256] = {0};
    for (size_t i = 0; i < msgs.n; i++) {
        struct cw_arena *a = cw_arena_new(0);
        char *in = exact_copy(msgs.v[i].data, msgs.v[i].len);
        cw_slice input = {in, msgs.v[i].len};
        struct cw_hl7v2_msg *m = NULL;
        struct cw_err err;
        cw_err_clear(&err);
        int rc = cw_hl7v2_parse(a, input, NULL, &m, &err);
        bool expect_fail = expected_to_fail(msgs.v[i].file);
        if (rc < 0) {
            failed++;
            if (!expect_fail)
                fail_msg("%s: lenient parse failed: %d %s: %s", msgs.v[i].file,
                         (int)cw_err_v2_code(&err), err.location, err.msg);
            assert_true(err.v2_code >= 100 && err.v2_code <= 207);
            assert_true(err.msg[0] != '\0');
            /* a reject can still be built for it */
            struct cw_hl7v2_msg *ack = NULL;
            assert_int_equal(cw_hl7v2_ack_build_raw(a, input, NULL, &err, 1, &ack, NULL), 0);
            assert_true(
                cw_slice_eq_cstr(cw_hl7v2_text(cw_hl7v2_field(cw_hl7v2_seg_at(ack, 1), 1)), "AR"));
            acks++;
            printf("  expected failure: %s: %d %s: %s\n", strrchr(msgs.v[i].file, '/') + 1,
                   (int)cw_err_v2_code(&err), err.location, err.msg);
            free(in);
            cw_arena_destroy(a);
            continue;
        }
        if (expect_fail) fail_msg("%s: parsed but is broken on purpose", msgs.v[i].file);
        parsed++;

        struct cw_buf b;
        cw_buf_init(&b, 0);
        if (m->nwarnings == 0 && m->warnings_dropped == 0) {
            assert_int_equal(cw_hl7v2_write(m, 0, &b, NULL), 0);
            bool same = cw_slice_eq(cw_buf_slice(&b), input);
            cw_buf_reset(&b);
            assert_int_equal(cw_hl7v2_write(m, CW_HL7V2_WRITE_REBUILD, &b, NULL), 0);
            bool same2 = cw_slice_eq(cw_buf_slice(&b), input);
            if (!same || !same2) fail_msg("%s: round trip differs", msgs.v[i].file);
            identical++;
        } else {
            with_warnings++;
            assert_int_equal(cw_hl7v2_write(m, CW_HL7V2_WRITE_REBUILD, &b, NULL), 0);
            char *out = exact_copy(b.ptr, b.len);
            struct cw_hl7v2_msg *m2 = NULL;
            assert_int_equal(cw_hl7v2_parse(a, (cw_slice){out, b.len}, NULL, &m2, &err), 0);
            assert_same_tree(m, m2);
            stable++;
            free(out);
        }
        cw_buf_release(&b);

        struct cw_hl7v2_opts strict = {.flags = CW_HL7V2_STRICT};
        struct cw_hl7v2_msg *ms = NULL;
        if (cw_hl7v2_parse(a, input, &strict, &ms, &err) == 0) {
            strict_ok++;
            assert_int_equal(m->nwarnings, 0);
        } else if (m->nwarnings == 0) {
            fail_msg("%s: strict rejects (%d %s: %s) but lenient had no warning", msgs.v[i].file,
                     (int)cw_err_v2_code(&err), err.location, err.msg);
        }

        struct cw_hl7v2_issues is;
        assert_int_equal(cw_hl7v2_validate(a, m, NULL, &is, &err), 0);
        if (is.errors == 0) validated_clean++;
        issues_total += is.n;
        for (uint32_t k = 0; k < is.n; k++) code_hist[is.items[k].v2_code & 0xff]++;

        struct cw_hl7v2_msg *ack = NULL;
        struct cw_hl7v2_ack_opts ao = {.outcome = is.errors ? CW_HL7V2_ERROR : CW_HL7V2_ACCEPT};
        assert_int_equal(cw_hl7v2_ack_build(a, m, &ao, is.items, is.n, &ack, &err), 0);
        cw_slice ctl =
            cw_hl7v2_text(cw_hl7v2_field(cw_hl7v2_seg_find(m, CW_LIT("MSH"), 1, NULL), 10));
        cw_slice msa2 =
            cw_hl7v2_text(cw_hl7v2_field(cw_hl7v2_seg_find(ack, CW_LIT("MSA"), 1, NULL), 2));
        assert_true(cw_slice_eq(ctl, msa2));
        acks++;
        free(in);
        cw_arena_destroy(a);
    }
    printf("lenient: %zu parsed, %zu failed (all expected); %zu without warnings, %zu with\n",
           parsed, failed, parsed - with_warnings, with_warnings);
    printf("round trip byte-identical (cached and rebuilt): %zu; re-parse stable (with warnings): "
           "%zu\n",
           identical, stable);
    printf("strict: %zu accepted, %zu rejected\n", strict_ok, parsed - strict_ok + failed);
    printf("validate: %zu messages without errors, %zu issues in total; by code:", validated_clean,
           issues_total);
    for (int c = 0; c < 256; c++)
        if (code_hist[c]) printf(" %d:%u", c + 0, code_hist[c]);
    printf("\nacks built: %zu\n", acks);
    assert_int_equal(failed, sizeof expected_failures / sizeof expected_failures[0]);
    assert_int_equal(parsed + failed, 759);
    assert_true(identical > 500);
    peer_free(&msgs);
}

struct file_ctx {
    size_t files, messages, failed;
};

static void each_file(const char *path, void *vctx)
{
    struct file_ctx *ctx = vctx;
    size_t len;
    char *data = cw_test_read_file(path, &len);
    assert_non_null(data);
    char *in = exact_copy(data, len);
    free(data);
    struct cw_arena *a = cw_arena_new(0);
    struct cw_hl7v2_file *f = NULL;
    struct cw_err err;
    cw_err_clear(&err);
    ctx->files++;
    if (cw_hl7v2_parse_file(a, (cw_slice){in, len}, NULL, &f, &err) == 0) {
        ctx->messages += f->nitems;
        ctx->failed += f->nfailed;
    } else {
        /* only files without any MSH (the empty test file) */
        assert_int_equal(err.v2_code, CW_V2_SEGMENT_SEQUENCE);
    }
    free(in);
    cw_arena_destroy(a);
}

static void corpus_files(void **state)
{
    (void)state;
    const char *dir = cw_test_corpus("hl7v2");
    if (!dir) cw_test_skip("corpus/hl7v2 not found (set CW_CORPUS)");
    struct file_ctx ctx = {0};
    cw_test_walk(dir, each_file, &ctx);
    printf("parse_file: %zu files, %zu messages, %zu failed\n", ctx.files, ctx.messages,
           ctx.failed);
    assert_int_equal(ctx.messages, 759);
    assert_int_equal(ctx.failed, sizeof expected_failures / sizeof expected_failures[0]);
}

struct mal_ctx {
    size_t files, lenient_errors, lenient_warned, strict_rejected;
};

static void each_malformed(const char *path, void *vctx)
{
    struct mal_ctx *ctx = vctx;
    size_t len;
    char *data = cw_test_read_file(path, &len);
    assert_non_null(data);
    char *in = exact_copy(data, len);
    free(data);
    cw_slice input = {in, len};
    ctx->files++;
    struct cw_arena *a = cw_arena_new(0);
    struct cw_err err;
    cw_err_clear(&err);

    /* lenient: an error, or messages with warnings */
    struct cw_hl7v2_file *f = NULL;
    bool lenient_error = false, warned = false;
    if (cw_hl7v2_parse_file(a, input, NULL, &f, &err) < 0) {
        lenient_error = true;
    } else {
        warned = f->nwarnings > 0;
        for (uint32_t i = 0; i < f->nitems; i++) {
            const struct cw_hl7v2_msg *m = f->items[i].msg;
            if (!m) {
                lenient_error = true;
                continue;
            }
            if (m->nwarnings) warned = true;
            /* whatever parsed can be written, re-parsed, queried, validated and acknowledged */
            struct cw_buf b;
            cw_buf_init(&b, 0);
            assert_int_equal(cw_hl7v2_write(m, CW_HL7V2_WRITE_REBUILD, &b, NULL), 0);
            struct cw_hl7v2_msg *m2 = NULL;
            char *out = exact_copy(b.ptr, b.len);
            assert_int_equal(cw_hl7v2_parse(a, (cw_slice){out, b.len}, NULL, &m2, &err), 0);
            assert_same_tree(m, m2);
            free(out);
            cw_buf_release(&b);
            cw_slice v;
            assert_int_equal(cw_hl7v2_get(a, m, CW_LIT("PID-5.1"), &v, NULL, NULL, &err), 0);
            struct cw_hl7v2_issues is;
            assert_int_equal(cw_hl7v2_validate(a, m, NULL, &is, &err), 0);
            struct cw_hl7v2_msg *ack = NULL;
            assert_int_equal(cw_hl7v2_ack_build(a, m, NULL, is.items, is.n, &ack, &err), 0);
        }
    }
    if (!lenient_error && !warned) fail_msg("%s: lenient parse without error or warning", path);
    ctx->lenient_errors += lenient_error;
    ctx->lenient_warned += !lenient_error && warned;

    /* strict: rejected (file error or a message that fails) */
    struct cw_hl7v2_opts strict = {.flags = CW_HL7V2_STRICT};
    f = NULL;
    bool rejected = cw_hl7v2_parse_file(a, input, &strict, &f, &err) < 0 || f->nfailed > 0;
    if (!rejected) fail_msg("%s: strict parse accepted it", path);
    ctx->strict_rejected += rejected;

    /* a reject ACK can be built from the raw bytes */
    struct cw_hl7v2_msg *ack = NULL;
    assert_int_equal(cw_hl7v2_ack_build_raw(a, input, NULL, &err, 1, &ack, NULL), 0);
    free(in);
    cw_arena_destroy(a);
}

static void malformed(void **state)
{
    (void)state;
    const char *dir = cw_test_corpus("hl7v2-malformed");
    if (!dir) cw_test_skip("corpus/hl7v2-malformed not found (set CW_CORPUS)");
    struct mal_ctx ctx = {0};
    cw_test_walk(dir, each_malformed, &ctx);
    printf("hl7v2-malformed: %zu files; lenient: %zu errors, %zu parsed with warnings; strict: %zu "
           "rejected\n",
           ctx.files, ctx.lenient_errors, ctx.lenient_warned, ctx.strict_rejected);
    assert_int_equal(ctx.files, 37);
    assert_int_equal(ctx.lenient_errors + ctx.lenient_warned, ctx.files);
    assert_int_equal(ctx.strict_rejected, ctx.files);
}

int main(void)
{
    if (!cw_test_corpus("hl7v2")) cw_test_skip("corpus/hl7v2 not found (set CW_CORPUS)");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(corpus_messages),
        cmocka_unit_test(corpus_files),
        cmocka_unit_test(malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
