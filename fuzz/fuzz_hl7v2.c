/*
 * fuzz_hl7v2.c — libFuzzer target for the HL7 v2 engine (src/hl7v2).
 *
 * One input is used as a message and as a file:
 *  - lenient and strict parse; strict success implies a lenient parse
 *    without warnings;
 *  - write (cached text) and write (rebuilt from the leaves) must agree;
 *    without warnings, writing gives the input back byte for byte;
 *  - the rebuilt text re-parses to the same tree and writes the same bytes
 *    (parse -> write -> parse is stable);
 *  - every leaf is decoded; paths (fixed ones and one made from the input)
 *    are parsed, formatted, looked up and read;
 *  - the message is changed with cw_hl7v2_set / _set_raw and must read
 *    back what was set, then write -> parse again;
 *  - validation runs, an ACK is built from its issues, written, and must
 *    parse; a reject is built from the raw bytes too;
 *  - cw_hl7v2_parse_file in both modes.
 * A broken property calls abort(), which libFuzzer reports as a crash.
 *
 * Run: fuzz/run_hl7v2.sh (seeds from fuzz/seeds/hl7v2 and, when present,
 * the shared corpus).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7v2/hl7v2.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "fuzz_hl7v2: check failed at line %d: %s\n", __LINE__, #x);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void same_tree(const struct cw_hl7v2_msg *a, const struct cw_hl7v2_msg *b)
{
    CHECK(a->nsegs == b->nsegs);
    for (uint32_t i = 0; i < a->nsegs; i++) {
        const struct cw_hl7v2_node *sa = cw_hl7v2_seg_at(a, i), *sb = cw_hl7v2_seg_at(b, i);
        CHECK(cw_slice_eq(cw_hl7v2_text(sa), cw_hl7v2_text(sb)));
        CHECK(cw_hl7v2_field_count(sa) == cw_hl7v2_field_count(sb));
        for (uint32_t f = 0; f <= cw_hl7v2_field_count(sa); f++) {
            const struct cw_hl7v2_node *fa = cw_hl7v2_field(sa, f), *fb = cw_hl7v2_field(sb, f);
            CHECK(cw_hl7v2_rep_count(fa) == cw_hl7v2_rep_count(fb));
            for (uint32_t r = 1; r <= cw_hl7v2_rep_count(fa); r++) {
                const struct cw_hl7v2_node *ra = cw_hl7v2_rep(fa, r), *rb = cw_hl7v2_rep(fb, r);
                CHECK(cw_hl7v2_comp_count(ra) == cw_hl7v2_comp_count(rb));
                for (uint32_t c = 1; c <= cw_hl7v2_comp_count(ra); c++) {
                    const struct cw_hl7v2_node *ca = cw_hl7v2_comp(ra, c);
                    const struct cw_hl7v2_node *cb = cw_hl7v2_comp(rb, c);
                    CHECK(cw_hl7v2_sub_count(ca) == cw_hl7v2_sub_count(cb));
                    CHECK(cw_slice_eq(cw_hl7v2_text(ca), cw_hl7v2_text(cb)));
                }
            }
        }
    }
}

/* Decode every leaf; the result must be valid UTF-8 when the message claims nothing else. */
static void walk(struct cw_arena *a, const struct cw_hl7v2_msg *m)
{
    for (uint32_t i = 0; i < m->nsegs; i++) {
        const struct cw_hl7v2_node *s = cw_hl7v2_seg_at(m, i);
        for (uint32_t f = 1; f <= cw_hl7v2_field_count(s); f++) {
            const struct cw_hl7v2_node *fn = cw_hl7v2_field(s, f);
            for (uint32_t r = 1; r <= cw_hl7v2_rep_count(fn); r++) {
                const struct cw_hl7v2_node *rn = cw_hl7v2_rep(fn, r);
                for (uint32_t c = 1; c <= cw_hl7v2_comp_count(rn); c++) {
                    const struct cw_hl7v2_node *cn = cw_hl7v2_comp(rn, c);
                    for (uint32_t k = 1; k <= cw_hl7v2_sub_count(cn); k++) {
                        cw_slice v;
                        CHECK(cw_hl7v2_decode(a, m, cw_hl7v2_text(cw_hl7v2_sub(cn, k)), &v, NULL) ==
                              0);
                    }
                }
            }
        }
    }
}

static struct cw_hl7v2_msg *reparse(struct cw_arena *a, const struct cw_buf *b, char **keep)
{
    /* an exact-size copy, so ASan sees reads past the end */
    char *copy = malloc(b->len ? b->len : 1);
    CHECK(copy);
    if (b->len) memcpy(copy, b->ptr, b->len);
    *keep = copy;
    struct cw_hl7v2_msg *m = NULL;
    struct cw_err err;
    if (cw_hl7v2_parse(a, (cw_slice){copy, b->len}, NULL, &m, &err) < 0) return NULL;
    return m;
}

static void paths(struct cw_arena *a, const struct cw_hl7v2_msg *m, const uint8_t *data,
                  size_t size)
{
    static const char *const fixed[] = {"MSH-1",      "MSH-2",   "MSH-9.1",          "MSH-10",
                                        "PID-3.1",    "PID-5.1", "PID-3(2).4.2",     "OBX[2]-5",
                                        "OBX(3)-5.2", "PID",     "ZZZ[9]-99[9].9.9", "PID-5[2].1"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        cw_slice v;
        bool found, comp;
        CHECK(cw_hl7v2_get(a, m, cw_slice_cstr(fixed[i]), &v, &found, &comp, NULL) == 0);
    }
    /* a path made of the input's first bytes: must parse or fail cleanly */
    size_t n = size < 24 ? size : 24;
    struct cw_hl7v2_path p;
    if (cw_hl7v2_path_parse((cw_slice){(const char *)data, n}, &p, NULL) == 0) {
        char buf[128];
        size_t len = cw_hl7v2_path_format(&p, buf, sizeof buf);
        struct cw_hl7v2_path q;
        CHECK(cw_hl7v2_path_parse((cw_slice){buf, len}, &q, NULL) == 0);
        CHECK(cw_hl7v2_lookup(m, &p) == cw_hl7v2_lookup(m, &q));
    }
}

static void changes(struct cw_arena *a, struct cw_hl7v2_msg *m)
{
    struct cw_err err;
    /* a value with every delimiter must come back as it was set */
    char text[16];
    snprintf(text, sizeof text, "a%cb%cc%cd%ce\r", m->delims.field, m->delims.comp, m->delims.rep,
             m->delims.sub ? m->delims.sub : 'x');
    cw_slice t = cw_slice_cstr(text);
    if (m->delims.esc && cw_hl7v2_set(a, m, CW_LIT("MSH-10"), t, &err) == 0) {
        cw_slice v;
        bool found;
        CHECK(cw_hl7v2_get(a, m, CW_LIT("MSH-10"), &v, &found, NULL, NULL) == 0 && found);
        CHECK(cw_slice_eq(v, t));
    }
    if (cw_hl7v2_seg_count(m, CW_LIT("PID")) > 0) {
        (void)cw_hl7v2_set(a, m, CW_LIT("PID-5[2].3"), CW_LIT("X"), &err);
        (void)cw_hl7v2_set_raw(a, m, CW_LIT("PID-3.4"), CW_LIT("A&B"), &err);
    }
    if (cw_hl7v2_seg_append(a, m, CW_LIT("ZZZ"), &err) >= 0)
        CHECK(cw_hl7v2_set(a, m, CW_LIT("ZZZ-2[3].4.5"), CW_LIT("z"), &err) == 0 ||
              !m->delims.sub || !m->delims.rep);
    struct cw_buf b, b2;
    cw_buf_init(&b, 0);
    cw_buf_init(&b2, 0);
    CHECK(cw_hl7v2_write(m, 0, &b, NULL) == 0);
    CHECK(cw_hl7v2_write(m, CW_HL7V2_WRITE_REBUILD, &b2, NULL) == 0);
    CHECK(cw_slice_eq(cw_buf_slice(&b), cw_buf_slice(&b2)));
    cw_buf_release(&b);
    cw_buf_release(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cw_arena *a = cw_arena_new((size_t)64 << 20);
    if (!a) return 0;
    cw_slice in = {(const char *)data, size};
    struct cw_err err;
    struct cw_hl7v2_opts strict = {.flags = CW_HL7V2_STRICT};
    struct cw_hl7v2_msg *m = NULL, *ms = NULL;
    int lenient_rc = cw_hl7v2_parse(a, in, NULL, &m, &err);
    int strict_rc = cw_hl7v2_parse(a, in, &strict, &ms, &err);
    if (strict_rc == 0) CHECK(lenient_rc == 0 && m->nwarnings == 0 && m->warnings_dropped == 0);

    if (lenient_rc == 0) {
        struct cw_buf b1, b2;
        cw_buf_init(&b1, 0);
        cw_buf_init(&b2, 0);
        CHECK(cw_hl7v2_write(m, 0, &b1, NULL) == 0);
        CHECK(cw_hl7v2_write(m, CW_HL7V2_WRITE_REBUILD, &b2, NULL) == 0);
        CHECK(cw_slice_eq(cw_buf_slice(&b1), cw_buf_slice(&b2)));
        if (m->nwarnings == 0 && m->warnings_dropped == 0)
            CHECK(cw_slice_eq(cw_buf_slice(&b1), in));
        char *keep = NULL;
        struct cw_hl7v2_msg *m2 = reparse(a, &b2, &keep);
        CHECK(m2);
        same_tree(m, m2);
        struct cw_buf b3;
        cw_buf_init(&b3, 0);
        CHECK(cw_hl7v2_write(m2, CW_HL7V2_WRITE_REBUILD, &b3, NULL) == 0);
        CHECK(cw_slice_eq(cw_buf_slice(&b2), cw_buf_slice(&b3)));
        cw_buf_release(&b3);

        walk(a, m);
        paths(a, m, data, size);

        struct cw_hl7v2_issues is;
        CHECK(cw_hl7v2_validate(a, m, NULL, &is, &err) == 0);
        struct cw_hl7v2_ack_opts ao = {.outcome = is.errors ? CW_HL7V2_ERROR : CW_HL7V2_ACCEPT,
                                       .control_id = CW_LIT("1"),
                                       .timestamp = CW_LIT("20240101000000")};
        struct cw_hl7v2_msg *ack = NULL;
        if (cw_hl7v2_ack_build(a, m, &ao, is.items, is.n, &ack, &err) == 0) {
            struct cw_buf ab;
            cw_buf_init(&ab, 0);
            CHECK(cw_hl7v2_write(ack, CW_HL7V2_WRITE_CR, &ab, NULL) == 0);
            char *k2 = NULL;
            struct cw_hl7v2_msg *am = reparse(a, &ab, &k2);
            CHECK(am);
            free(k2);
            cw_buf_release(&ab);
        }
        changes(a, m2);
        free(keep);
        cw_buf_release(&b1);
        cw_buf_release(&b2);
    }

    struct cw_hl7v2_msg *rej = NULL;
    struct cw_err cause;
    cw_err_clear(&cause);
    cw_err_set(&cause, CW_ISSUE_STRUCTURE, "fuzz");
    cause.v2_code = CW_V2_DATA_TYPE;
    CHECK(cw_hl7v2_ack_build_raw(a, in, NULL, &cause, 1, &rej, &err) == 0);
    struct cw_buf rb;
    cw_buf_init(&rb, 0);
    CHECK(cw_hl7v2_write(rej, CW_HL7V2_WRITE_CR, &rb, NULL) == 0);
    char *k3 = NULL;
    CHECK(reparse(a, &rb, &k3));
    free(k3);
    cw_buf_release(&rb);

    struct cw_hl7v2_file *f = NULL;
    (void)cw_hl7v2_parse_file(a, in, NULL, &f, &err);
    (void)cw_hl7v2_parse_file(a, in, &strict, &f, &err);
    cw_arena_destroy(a);
    return 0;
}
