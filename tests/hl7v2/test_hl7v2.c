/*
 * test_hl7v2.c — unit tests of the HL7 v2 engine on hand-written messages:
 * delimiters, terminators, the tree, escapes and character sets, paths,
 * writing and building, lenient vs strict, batches, limits.
 * (ACKs and validation: test_hl7v2_ack.c, test_hl7v2_validate.c.)
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7v2/hl7v2.h"

static struct cw_arena *A;
static char *keep[4096]; /* inputs live as long as the trees that point into them */
static size_t nkeep;

static int setup(void **state)
{
    (void)state;
    A = cw_arena_new(0);
    return A ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cw_arena_destroy(A);
    for (size_t i = 0; i < nkeep; i++) free(keep[i]);
    nkeep = 0;
    return 0;
}

/* An exact-size heap copy of a test input, so ASan sees any read past its end. */
static cw_slice input(const char *text, size_t len)
{
    char *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, text, len);
    assert_true(nkeep < sizeof keep / sizeof keep[0]);
    keep[nkeep++] = p;
    return (cw_slice){p, len};
}
#define IN(lit) input((lit), sizeof(lit) - 1)

static struct cw_hl7v2_msg *parse(cw_slice in, unsigned flags)
{
    struct cw_hl7v2_opts o = {.flags = flags};
    struct cw_hl7v2_msg *m = NULL;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_hl7v2_parse(A, in, &o, &m, &err) < 0)
        fail_msg("parse failed: %d %s: %s", (int)err.v2_code, err.location, err.msg);
    return m;
}

static struct cw_err parse_err(cw_slice in, unsigned flags)
{
    struct cw_hl7v2_opts o = {.flags = flags};
    struct cw_hl7v2_msg *m = NULL;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_hl7v2_parse(A, in, &o, &m, &err) == 0) fail_msg("parse succeeded, expected an error");
    assert_int_equal(err.severity, CW_SEV_ERROR);
    return err;
}

/* Decoded value at path as a NUL-terminated arena string; NULL when absent. */
static const char *get(const struct cw_hl7v2_msg *m, const char *path)
{
    cw_slice v;
    bool found;
    struct cw_err err;
    if (cw_hl7v2_get(A, m, cw_slice_cstr(path), &v, &found, NULL, &err) < 0)
        fail_msg("get %s: %s", path, err.msg);
    if (!found) return NULL;
    return cw_arena_strndup(A, v.ptr, v.len);
}

static const char *written(const struct cw_hl7v2_msg *m, unsigned flags)
{
    struct cw_buf b;
    cw_buf_init(&b, 0);
    assert_int_equal(cw_hl7v2_write(m, flags, &b, NULL), 0);
    char *s = cw_arena_strndup(A, b.ptr ? b.ptr : "", b.len);
    cw_buf_release(&b);
    return s;
}

/* String equality that shows control characters when it fails. */
static void text_eq(const char *got, const char *want, int line)
{
    if (strcmp(got, want) == 0) return;
    char g[2048], w[2048];
    size_t gi = 0, wi = 0;
    for (const char *p = got; *p && gi < sizeof g - 5; p++)
        gi += (size_t)((unsigned char)*p < 0x20 ? snprintf(g + gi, 5, "<%02x>", (unsigned char)*p)
                                                : (g[gi] = *p, 1));
    for (const char *p = want; *p && wi < sizeof w - 5; p++)
        wi += (size_t)((unsigned char)*p < 0x20 ? snprintf(w + wi, 5, "<%02x>", (unsigned char)*p)
                                                : (w[wi] = *p, 1));
    g[gi] = w[wi] = '\0';
    fail_msg("line %d:\n got  %s\n want %s", line, g, w);
}
#define assert_text_equal(got, want) text_eq((got), (want), __LINE__)

static bool has_warning(const struct cw_hl7v2_msg *m, enum cw_v2_error code, const char *loc)
{
    for (uint32_t i = 0; i < m->nwarnings; i++)
        if (m->warnings[i].v2_code == code && strcmp(m->warnings[i].location, loc) == 0 &&
            m->warnings[i].severity == CW_SEV_WARNING)
            return true;
    return false;
}

#define ADT "MSH|^~\\&|SEND|SFAC|RECV|RFAC|20240101120000||ADT^A01^ADT_A01|MSG1|P|2.5.1\r"

/* ---- delimiters ---- */

static void delimiters_standard(void **state)
{
    (void)state;
    struct cw_hl7v2_msg *m = parse(IN(ADT "PID|1||123^^^H^MR~456^^^S^SS||Doe^John&Jr"), 0);
    assert_int_equal(m->delims.field, '|');
    assert_int_equal(m->delims.comp, '^');
    assert_int_equal(m->delims.rep, '~');
    assert_int_equal(m->delims.esc, '\\');
    assert_int_equal(m->delims.sub, '&');
    assert_int_equal(m->delims.trunc, 0);
    assert_int_equal(m->nwarnings, 0);
    assert_string_equal(get(m, "MSH-1"), "|");
    assert_string_equal(get(m, "MSH-2"), "^~\\&");
    assert_string_equal(get(m, "MSH-3"), "SEND");
    assert_string_equal(get(m, "MSH-9.2"), "A01");
    assert_string_equal(get(m, "PID-3[2].5"), "SS");
    assert_string_equal(get(m, "PID-5.2.2"), "Jr");
}

static void delimiters_custom(void **state)
{
    (void)state;
    /* field '^', component '~', repetition '|', escape '\', subcomponent '&' (HAPI test data style)
     */
    struct cw_hl7v2_msg *m = parse(
        IN("MSH^~|\\&^SEND^F^RECV^F^2012^^ADT~A24^7^T^2.4\rPID^1^^11~~~FOO&&0363|NI~X^^SMITH~JOHN"),
        0);
    assert_int_equal(m->delims.field, '^');
    assert_int_equal(m->delims.comp, '~');
    assert_int_equal(m->delims.rep, '|');
    assert_string_equal(get(m, "MSH-9.2"), "A24");
    assert_string_equal(get(m, "PID-3[1].4.3"), "0363");
    assert_string_equal(get(m, "PID-3[2].2"), "X");
    assert_string_equal(get(m, "PID-5.2"), "JOHN");
    assert_int_equal(m->nwarnings, 0);
    /* hapi's "}" as escape character */
    m = parse(IN("MSH|^~}&|A|B|C|D|1||ADT^A01|1|P|2.2\rNTE|1||a}F}b}E}c"), 0);
    assert_int_equal(m->delims.esc, '}');
    assert_string_equal(get(m, "NTE-3"), "a|b}c");
}

static void delimiters_irregular(void **state)
{
    (void)state;
    /* three encoding characters: lenient warns, strict refuses */
    cw_slice in = IN("MSH|^~\\|A||||||ADT^A01|1|P|2.3\rPID|1||x&y");
    struct cw_hl7v2_msg *m = parse(in, 0);
    assert_int_equal(m->delims.sub, 0);
    assert_true(has_warning(m, CW_V2_DATA_TYPE, "MSH-2"));
    assert_string_equal(get(m, "PID-3"), "x&y"); /* '&' is text here */
    struct cw_err e = parse_err(in, CW_HL7V2_STRICT);
    assert_int_equal(e.v2_code, CW_V2_DATA_TYPE);
    assert_string_equal(e.location, "MSH-2");

    /* a repeated character (a doubled backslash): dropped with a warning */
    in = IN("MSH|^~\\\\&|A||||||ADT^A01|1|P|2.6\rPID|1||a&b");
    m = parse(in, 0);
    assert_int_equal(m->delims.esc, '\\');
    assert_int_equal(m->delims.sub, '&');
    assert_true(has_warning(m, CW_V2_DATA_TYPE, "MSH-2"));
    assert_string_equal(get(m, "PID-3.1.2"), "b");
    assert_string_equal(parse_err(in, CW_HL7V2_STRICT).location, "MSH-2");

    /* v2.7 truncation character */
    m = parse(IN("MSH|^~\\&#|A||||||ADT^A01|1|P|2.7\rPID|1||a\\P\\b"), 0);
    assert_int_equal(m->delims.trunc, '#');
    assert_string_equal(get(m, "PID-3"), "a#b");
    assert_int_equal(m->nwarnings, 0);

    /* unusable: empty MSH-2, letter as separator, nothing after MSH */
    e = parse_err(IN("MSH||A|B"), 0);
    assert_int_equal(e.v2_code, CW_V2_REQUIRED_MISSING);
    assert_string_equal(e.location, "MSH-2");
    e = parse_err(IN("MSHX^~\\&X"), 0);
    assert_string_equal(e.location, "MSH-1");
    e = parse_err(IN("MSH"), 0);
    assert_string_equal(e.location, "MSH-1");
    e = parse_err(IN("MSH|0000|A"), 0);
    assert_string_equal(e.location, "MSH-2");
    e = parse_err(IN("PID|1\rMSH|^~\\&|"), 0);
    assert_int_equal(e.v2_code, CW_V2_SEGMENT_SEQUENCE);
    e = parse_err(IN(""), 0);
    assert_int_equal(e.v2_code, CW_V2_SEGMENT_SEQUENCE);
}

/* ---- terminators, BOM, round trips ---- */

static void terminators_round_trip(void **state)
{
    (void)state;
    static const char *const cases[] = {
        ADT "PID|1||1\rPV1|1|I",                                       /* CR, no final terminator */
        ADT "PID|1||1\rPV1|1|I\r",                                     /* final CR */
        "MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\nPID|1\nPV1|1\n",        /* LF */
        "MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\r\nPID|1\r\nPV1|1\r\n",  /* CRLF */
        "MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\r\nPID|1\nPV1|1\rOBX|1", /* mixed */
        "\xef\xbb\xbfMSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\rPID|1\r",   /* BOM */
        ADT "PID|1||||||||||\rZZ1|a^^^|~~|&&\r", /* empty and trailing parts */
        ADT "PID",                               /* a segment with only its ID */
        "MSH|^~\\&",                             /* MSH and nothing else */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cw_slice in = input(cases[i], strlen(cases[i]));
        struct cw_hl7v2_msg *m = parse(in, CW_HL7V2_STRICT);
        assert_int_equal(m->nwarnings, 0);
        assert_string_equal(written(m, 0), cases[i]);
        assert_string_equal(written(m, CW_HL7V2_WRITE_REBUILD), cases[i]);
    }
    struct cw_hl7v2_msg *m = parse(IN("\xef\xbb\xbfMSH|^~\\&|A\r\nPID|1\nPV1|1\r\n"), 0);
    assert_true(m->bom);
    assert_int_equal(m->nsegs, 3);
    assert_int_equal(m->segs[0].flags & CW_HL7V2_TERM_MASK, CW_HL7V2_TERM_CRLF);
    assert_int_equal(m->segs[1].flags & CW_HL7V2_TERM_MASK, CW_HL7V2_TERM_LF);
    assert_string_equal(written(m, CW_HL7V2_WRITE_CR), "MSH|^~\\&|A\rPID|1\rPV1|1");
    assert_string_equal(written(m, CW_HL7V2_WRITE_CR | CW_HL7V2_WRITE_FINAL_CR),
                        "MSH|^~\\&|A\rPID|1\rPV1|1\r");
}

static void lenient_vs_strict(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        enum cw_v2_error code;
        const char *loc;
    } cases[] = {
        {"\x0b  MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\rPID|1", CW_V2_SEGMENT_SEQUENCE, "MSH"},
        {ADT "PID|1\r\rPV1|1", CW_V2_SEGMENT_SEQUENCE, "PV1"},
        {ADT "PID|1\r  PV1|1", CW_V2_SEGMENT_SEQUENCE, "PV1"},
        {ADT "PID|1\rPV1|1\r\r\r", CW_V2_SEGMENT_SEQUENCE, ""},
        {ADT "PID|1\rpv1|1", CW_V2_SEGMENT_SEQUENCE, ""},
        {ADT "PID|1||a\\Q\\b", CW_V2_DATA_TYPE, "PID-3"},
        {ADT "PID|1||a^b\\F|c", CW_V2_DATA_TYPE, "PID-3.2"},
        {ADT "PID|1||a\x01"
             "b",
         CW_V2_DATA_TYPE, "PID-3"},
        {ADT "PID|1||M\xc3\xbcller", CW_V2_DATA_TYPE, "PID-3"},
        {"MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||UNICODE UTF-8\rPID|1||ab~c\xff", CW_V2_DATA_TYPE,
         "PID-3[2]"},
        {"MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||ASCII\rPID|1||\xe9", CW_V2_DATA_TYPE, "PID-3"},
        {"MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||KLINGON\rPID|1", CW_V2_DATA_TYPE, "MSH-18"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cw_slice in = input(cases[i].text, strlen(cases[i].text));
        struct cw_hl7v2_msg *m = parse(in, 0);
        if (!has_warning(m, cases[i].code, cases[i].loc))
            fail_msg("case %zu: no warning %d at '%s' (%u warnings, first: %d '%s' %s)", i,
                     (int)cases[i].code, cases[i].loc, m->nwarnings,
                     m->nwarnings ? (int)m->warnings[0].v2_code : 0,
                     m->nwarnings ? m->warnings[0].location : "",
                     m->nwarnings ? m->warnings[0].msg : "");
        struct cw_err e = parse_err(in, CW_HL7V2_STRICT);
        assert_int_equal(e.v2_code, cases[i].code);
        assert_string_equal(e.location, cases[i].loc);
    }
    /* lenient mode still reads through the irregularities */
    struct cw_hl7v2_msg *m = parse(IN(ADT "PID|1\r\r  PV1|1|I"), 0);
    assert_int_equal(m->nsegs, 3);
    assert_string_equal(get(m, "PV1-2"), "I");
    /* both modes refuse a second MSH and batch segments */
    parse_err(IN(ADT "PID|1\r" ADT), 0);
    parse_err(IN(ADT "BTS|1"), 0);
}

/* ---- the tree ---- */

static void tree_shapes(void **state)
{
    (void)state;
    struct cw_hl7v2_msg *m =
        parse(IN(ADT "PID|1||a~b^c~d&e^f&g||||||||||\rOBX|1|ST|x||v1\rOBX|2|ST|y||v2~v3"), 0);
    const struct cw_hl7v2_node *pid = cw_hl7v2_seg_find(m, CW_LIT("PID"), 1, NULL);
    assert_non_null(pid);
    assert_int_equal(cw_hl7v2_field_count(pid), 13);
    const struct cw_hl7v2_node *f1 = cw_hl7v2_field(pid, 1);
    assert_int_equal(f1->n, 0);
    assert_int_equal(cw_hl7v2_rep_count(f1), 1);
    assert_ptr_equal(cw_hl7v2_rep(f1, 1), f1); /* the only repetition is the field */
    assert_null(cw_hl7v2_rep(f1, 2));
    const struct cw_hl7v2_node *f2 = cw_hl7v2_field(pid, 2);
    assert_int_equal(cw_hl7v2_rep_count(f2), 0); /* empty */
    const struct cw_hl7v2_node *f3 = cw_hl7v2_field(pid, 3);
    assert_int_equal(f3->kind, CW_HL7V2_REP);
    assert_int_equal(cw_hl7v2_rep_count(f3), 3);
    const struct cw_hl7v2_node *r2 = cw_hl7v2_rep(f3, 2);
    assert_slice_equal(cw_hl7v2_text(r2), "b^c");
    assert_int_equal(cw_hl7v2_comp_count(r2), 2);
    const struct cw_hl7v2_node *r3 = cw_hl7v2_rep(f3, 3);
    assert_int_equal(cw_hl7v2_comp_count(r3), 2);
    assert_int_equal(cw_hl7v2_sub_count(cw_hl7v2_comp(r3, 1)), 2);
    assert_slice_equal(cw_hl7v2_text(cw_hl7v2_sub(cw_hl7v2_comp(r3, 2), 2)), "g");
    assert_null(cw_hl7v2_field(pid, 14));
    assert_int_equal(cw_hl7v2_seg_count(m, CW_LIT("OBX")), 2);
    uint32_t idx = 0;
    assert_non_null(cw_hl7v2_seg_find(m, CW_LIT("OBX"), 2, &idx));
    assert_int_equal(idx, 3);
    assert_null(cw_hl7v2_seg_find(m, CW_LIT("OBX"), 3, NULL));
    /* kids of a node are its text split at one delimiter */
    assert_slice_equal(cw_hl7v2_seg_id(pid), "PID");
    assert_slice_equal(cw_hl7v2_text(f3), "a~b^c~d&e^f&g");
    assert_string_equal(get(m, "OBX[2]-5[2]"), "v3");
    assert_string_equal(get(m, "OBX(2)-5(1)"), "v2");
}

/* ---- escapes and character sets ---- */

static void escapes_each(void **state)
{
    (void)state;
    struct cw_hl7v2_msg *m = parse(IN(ADT "NTE|1||"
                                          "F\\F\\S\\S\\T\\T\\R\\R\\E\\E\\"
                                          "|X\\X41\\\\X0D0A\\Y"
                                          "|a\\.br\\b\\.sp\\c\\.sp2\\d\\.sk2\\e\\.in+2\\f\\.ce\\g"
                                          "|\\H\\bold\\N\\ text"
                                          "|z\\Zab1\\y\\C2842\\w\\M2442\\v"),
                                   0);
    assert_int_equal(m->nwarnings, 0);
    assert_string_equal(get(m, "NTE-3"), "F|S^T&R~E\\");
    assert_string_equal(get(m, "NTE-4"), "XA\r\nY");
    assert_string_equal(get(m, "NTE-5"), "a\nb\nc\n\nd  efg");
    assert_string_equal(get(m, "NTE-6"), "bold text");
    assert_string_equal(get(m, "NTE-7"), "z\\Zab1\\y\\C2842\\w\\M2442\\v");
    /* escapes are left alone until asked for: the tree holds encoded text */
    const struct cw_hl7v2_node *n = cw_hl7v2_field(cw_hl7v2_seg_find(m, CW_LIT("NTE"), 1, NULL), 3);
    assert_true(n->flags & CW_HL7V2_NODE_ESC);
    assert_slice_equal(cw_hl7v2_text(n), "F\\F\\S\\S\\T\\T\\R\\R\\E\\E\\");
    /* text without escapes is returned in place, no copy */
    cw_slice v;
    const struct cw_hl7v2_node *sid =
        cw_hl7v2_field(cw_hl7v2_seg_find(m, CW_LIT("NTE"), 1, NULL), 1);
    assert_int_equal(cw_hl7v2_decode(A, m, cw_hl7v2_text(sid), &v, NULL), 0);
    assert_ptr_equal(v.ptr, sid->ptr);
    /* malformed: kept as text, warned */
    m = parse(IN(ADT "NTE|1||a\\Q\\b|c\\X4\\d|e\\f"), 0);
    assert_int_equal(m->nwarnings, 3);
    assert_string_equal(get(m, "NTE-3"), "a\\Q\\b");
    assert_string_equal(get(m, "NTE-4"), "c\\X4\\d");
    assert_string_equal(get(m, "NTE-5"), "e\\f");
}

static void charsets(void **state)
{
    (void)state;
    /* ISO 8859-1: bytes and \X..\ bytes both become UTF-8 */
    struct cw_hl7v2_msg *m =
        parse(IN("MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||8859/1\rPID|1||Jos\xe9|M\\XFC\\ller"), 0);
    assert_int_equal(m->charset, CW_HL7V2_CS_LATIN1);
    assert_int_equal(m->nwarnings, 0);
    assert_string_equal(get(m, "PID-3"), "Jos\xc3\xa9");
    assert_string_equal(get(m, "PID-4"), "M\xc3\xbcller");
    /* ISO 8859-15: the euro sign */
    m = parse(IN("MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||8859/15\rNTE|1||5\xa4"), 0);
    assert_string_equal(get(m, "NTE-3"), "5\xe2\x82\xac");
    /* UTF-8 declared: passed through; \X..\ gives UTF-8 bytes; bad bytes become U+FFFD */
    m = parse(
        IN("MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||UNICODE UTF-8\rPID|1||M\xc3\xbcller|\\XC3A9\\"),
        0);
    assert_int_equal(m->charset, CW_HL7V2_CS_UTF8);
    assert_true(m->utf8);
    assert_string_equal(get(m, "PID-3"), "M\xc3\xbcller");
    assert_string_equal(get(m, "PID-4"), "\xc3\xa9");
    m = parse(IN("MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||UNICODE UTF-8\rPID|1||a\xff"
                 "b"),
              0);
    assert_string_equal(get(m, "PID-3"), "a\xef\xbf\xbd"
                                         "b");
    /* no MSH-18: UTF-8 read as UTF-8, anything else as ISO 8859-1 (with a warning) */
    m = parse(IN(ADT "PID|1||M\xc3\xbcller|Jos\xe9"), 0);
    assert_int_equal(m->charset, CW_HL7V2_CS_DEFAULT);
    assert_false(m->utf8);
    assert_string_equal(get(m, "PID-3"), "M\xc3\xbcller");
    assert_string_equal(get(m, "PID-4"), "Jos\xc3\xa9");
    assert_true(has_warning(m, CW_V2_DATA_TYPE, "PID-4"));
    /* names */
    assert_int_equal(cw_hl7v2_charset_from_name(CW_LIT("unicode utf-8")), CW_HL7V2_CS_UTF8);
    assert_int_equal(cw_hl7v2_charset_from_name(CW_LIT("ASCII")), CW_HL7V2_CS_ASCII);
    assert_int_equal(cw_hl7v2_charset_from_name(CW_LIT("")), CW_HL7V2_CS_DEFAULT);
    assert_int_equal(cw_hl7v2_charset_from_name(CW_LIT("GB 18030-2000")), CW_HL7V2_CS_OTHER);
}

/* ---- paths ---- */

static void paths(void **state)
{
    (void)state;
    static const struct {
        const char *in, *canon;
        uint32_t occ, field, rep, comp, sub;
    } ok[] = {
        {"PID", "PID", 1, 0, 0, 0, 0},
        {"PID-5", "PID-5", 1, 5, 0, 0, 0},
        {"PID-5[2].1", "PID-5[2].1", 1, 5, 2, 1, 0},
        {"OBX[3]-5.2", "OBX[3]-5.2", 3, 5, 0, 2, 0},
        {"PID-3(1).4.2", "PID-3.4.2", 1, 3, 1, 4, 2},
        {"PID-3[1]", "PID-3[1]", 1, 3, 1, 0, 0},
        {"OBX(2)-5(3)", "OBX[2]-5[3]", 2, 5, 3, 0, 0},
        {"MSH-1", "MSH-1", 1, 1, 0, 0, 0},
        {"MSH-2", "MSH-2", 1, 2, 0, 0, 0},
        {"ZP1-12.3.4", "ZP1-12.3.4", 1, 12, 0, 3, 4},
        {"PID[1]-3", "PID-3", 1, 3, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct cw_hl7v2_path p;
        struct cw_err err;
        if (cw_hl7v2_path_parse(cw_slice_cstr(ok[i].in), &p, &err) < 0)
            fail_msg("%s: %s", ok[i].in, err.msg);
        assert_int_equal(p.occ, ok[i].occ);
        assert_int_equal(p.field, ok[i].field);
        assert_int_equal(p.rep, ok[i].rep);
        assert_int_equal(p.comp, ok[i].comp);
        assert_int_equal(p.sub, ok[i].sub);
        char buf[64];
        cw_hl7v2_path_format(&p, buf, sizeof buf);
        assert_string_equal(buf, ok[i].canon);
    }
    static const char *const bad[] = {"",        "PI",          "pid-3",    "PID-",
                                      "PID-0",   "PID-3.0",     "PID-3[0]", "PID[0]",
                                      "PID-3[2", "PID-3.1.2.3", "PID-3x",   "PID 3",
                                      "MSH-2.1", "MSH-1[2]",    "PID-3(1]", "PID-99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cw_hl7v2_path p;
        struct cw_err err;
        cw_err_clear(&err);
        if (cw_hl7v2_path_parse(cw_slice_cstr(bad[i]), &p, &err) == 0)
            fail_msg("'%s' parsed", bad[i]);
        assert_int_equal(err.issue, CW_ISSUE_INVALID);
    }
    /* what a path addresses */
    struct cw_hl7v2_msg *m = parse(IN(ADT "PID|1||a1^a2~b1^b2&b3"), 0);
    cw_slice v;
    bool found, comp;
    assert_int_equal(cw_hl7v2_get(A, m, CW_LIT("PID-3"), &v, &found, &comp, NULL), 0);
    assert_true(found && comp);
    assert_slice_equal(v, "a1^a2~b1^b2&b3");      /* the whole field, encoded */
    assert_string_equal(get(m, "PID-3.1"), "a1"); /* first repetition */
    assert_string_equal(get(m, "PID-3[2].2.2"), "b3");
    assert_string_equal(get(m, "PID-3(2).2.1"), "b2");
    assert_int_equal(cw_hl7v2_get(A, m, CW_LIT("PID-3[2]"), &v, &found, &comp, NULL), 0);
    assert_true(found && comp);
    assert_slice_equal(v, "b1^b2&b3");
    assert_string_equal(get(m, "PID-1.1.1"), "1"); /* a leaf is its own first component */
    assert_null(get(m, "PID-1.2"));
    assert_null(get(m, "PID-3[3]"));
    assert_null(get(m, "PV1-1"));
    assert_null(get(m, "PID[2]-1"));
    assert_null(get(m, "PID-40"));
    assert_string_equal(get(m, "PID-2"), ""); /* present but empty */
    assert_int_equal(cw_hl7v2_get(A, m, CW_LIT("PID"), &v, &found, &comp, NULL), 0);
    assert_slice_equal(v, "PID|1||a1^a2~b1^b2&b3");
    assert_int_equal(cw_hl7v2_get(A, m, CW_LIT("bad path"), &v, &found, &comp, NULL), -1);
}

/* ---- writing and building ---- */

static void writer_escaping(void **state)
{
    (void)state;
    struct cw_hl7v2_msg *m = parse(IN(ADT "PID|1||X"), 0);
    struct cw_err err;
    assert_int_equal(cw_hl7v2_set(A, m, CW_LIT("PID-5.1"), CW_LIT("O|Brien^&~\\x\r\n\x01"), &err),
                     0);
    assert_string_equal(written(m, 0),
                        ADT "PID|1||X||O\\F\\Brien\\S\\\\T\\\\R\\\\E\\x\\X0D\\\\X0A\\\\X01\\");
    assert_string_equal(get(m, "PID-5.1"), "O|Brien^&~\\x\r\n\x01");
    assert_string_equal(written(m, CW_HL7V2_WRITE_REBUILD), written(m, 0));
    /* creating missing repetitions, components and subcomponents */
    assert_int_equal(cw_hl7v2_set(A, m, CW_LIT("PID-3[3].2.2"), CW_LIT("s"), &err), 0);
    assert_string_equal(get(m, "PID-3"), "X~~^&s");
    assert_string_equal(get(m, "PID-3[3].2.2"), "s");
    assert_string_equal(get(m, "PID-3[1]"), "X");
    /* replacing a whole field; setting "" where nothing is changes nothing */
    assert_int_equal(cw_hl7v2_set_raw(A, m, CW_LIT("PID-3"), CW_LIT("A^B~C"), &err), 0);
    assert_string_equal(get(m, "PID-3[2]"), "C");
    assert_int_equal(cw_hl7v2_set(A, m, CW_LIT("PID-30.4"), CW_LIT(""), &err), 0);
    assert_null(get(m, "PID-30"));
    /* encoded values may not hold delimiters of their level or above */
    assert_int_equal(cw_hl7v2_set_raw(A, m, CW_LIT("PID-3.1"), CW_LIT("a^b"), &err), -1);
    assert_int_equal(cw_hl7v2_set_raw(A, m, CW_LIT("PID-3"), CW_LIT("a|b"), &err), -1);
    assert_int_equal(cw_hl7v2_set_raw(A, m, CW_LIT("PID-3.1"), CW_LIT("a&b"), &err), 0);
    assert_string_equal(get(m, "PID-3.1.2"), "b");
    /* MSH-1/2 are fixed, segments must exist */
    assert_int_equal(cw_hl7v2_set(A, m, CW_LIT("MSH-2"), CW_LIT("^~"), &err), -1);
    assert_int_equal(cw_hl7v2_set(A, m, CW_LIT("PV1-2"), CW_LIT("I"), &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_NOT_FOUND);
    /* the result parses back to the same values */
    const char *out = written(m, 0);
    struct cw_hl7v2_msg *m2 = parse(input(out, strlen(out)), CW_HL7V2_STRICT);
    assert_string_equal(get(m2, "PID-5.1"), "O|Brien^&~\\x\r\n\x01");
    assert_string_equal(get(m2, "PID-3[1].1.2"), "b");
}

static void writer_charsets(void **state)
{
    (void)state;
    struct cw_hl7v2_msg *m = parse(IN("MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||8859/1\rPID|1"), 0);
    struct cw_err err;
    assert_int_equal(cw_hl7v2_set(A, m, CW_LIT("PID-5"), CW_LIT("Jos\xc3\xa9"), &err), 0);
    assert_string_equal(written(m, 0),
                        "MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||8859/1\rPID|1||||Jos\xe9");
    assert_string_equal(get(m, "PID-5"), "Jos\xc3\xa9");
    assert_int_equal(cw_hl7v2_set(A, m, CW_LIT("PID-6"), CW_LIT("\xe2\x82\xac"), &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_CODE_INVALID);
    m = parse(IN("MSH|^~\\&|A||||||ADT^A01|1|P|2.5||||||ASCII\rPID|1"), 0);
    assert_int_equal(cw_hl7v2_set(A, m, CW_LIT("PID-5"), CW_LIT("\xc3\xa9"), &err), -1);
    assert_int_equal(cw_hl7v2_set(A, m, CW_LIT("PID-5"), CW_LIT("a\xff"), &err),
                     -1); /* not UTF-8 */
}

static void builder(void **state)
{
    (void)state;
    struct cw_err err;
    struct cw_hl7v2_msg *m = cw_hl7v2_new(A, NULL, &err);
    assert_non_null(m);
    assert_int_equal(cw_hl7v2_set(A, m, CW_LIT("MSH-9"), CW_LIT("ADT"), &err), 0);
    assert_int_equal(cw_hl7v2_set(A, m, CW_LIT("MSH-9.2"), CW_LIT("A01"), &err), 0);
    assert_int_equal(cw_hl7v2_set(A, m, CW_LIT("MSH-12"), CW_LIT("2.5.1"), &err), 0);
    assert_int_equal(cw_hl7v2_seg_append(A, m, CW_LIT("PID"), &err), 1);
    assert_int_equal(cw_hl7v2_set(A, m, CW_LIT("PID-5.1"), CW_LIT("Doe"), &err), 0);
    assert_int_equal(cw_hl7v2_set(A, m, CW_LIT("PID-5.2"), CW_LIT("Jane"), &err), 0);
    assert_int_equal(cw_hl7v2_seg_append(A, m, CW_LIT("OBX"), &err), 2);
    assert_int_equal(cw_hl7v2_seg_append(A, m, CW_LIT("OBX"), &err), 3);
    assert_int_equal(cw_hl7v2_set(A, m, CW_LIT("OBX[2]-5"), CW_LIT("2^3"), &err), 0);
    assert_int_equal(cw_hl7v2_set_charset(A, m, CW_LIT("UNICODE UTF-8"), &err), 0);
    assert_text_equal(written(m, 0), "MSH|^~\\&|||||||ADT^A01|||2.5.1||||||UNICODE UTF-8\r"
                                     "PID|||||Doe^Jane\rOBX\rOBX|||||2\\S\\3\r");
    assert_int_equal(cw_hl7v2_seg_append(A, m, CW_LIT("MSH"), &err), -1);
    assert_int_equal(cw_hl7v2_seg_append(A, m, CW_LIT("pid"), &err), -1);
    /* custom delimiters, and appending to a parsed message keeps its terminators */
    struct cw_hl7v2_delims d = {'#', '!', '@', '$', '%', 0};
    m = cw_hl7v2_new(A, &d, &err);
    assert_int_equal(cw_hl7v2_set(A, m, CW_LIT("MSH-3"), CW_LIT("a#b"), &err), 0);
    assert_string_equal(written(m, 0), "MSH#!@$%#a$F$b\r");
    struct cw_hl7v2_delims dup = {'|', '|', '~', '\\', '&', 0};
    assert_null(cw_hl7v2_new(A, &dup, &err));
    m = parse(IN("MSH|^~\\&|A\nPID|1"), 0);
    assert_int_equal(cw_hl7v2_seg_append(A, m, CW_LIT("PV1"), &err), 2);
    assert_string_equal(written(m, 0), "MSH|^~\\&|A\nPID|1\nPV1");
    m = parse(IN("MSH|^~\\&|A\nPID|1\n"), 0);
    assert_int_equal(cw_hl7v2_seg_append(A, m, CW_LIT("PV1"), &err), 2);
    assert_string_equal(written(m, 0), "MSH|^~\\&|A\nPID|1\nPV1\n");
}

/* ---- batches ---- */

static void batches(void **state)
{
    (void)state;
    const char text[] = "FHS|^~\\&|APP|FAC\r\n"
                        "BHS|^~\\&|APP|FAC\r\n"
                        "MSH|^~\\&|A|B|C|D|1||ADT^A08|1|P|2.4\r\nPID|1||1\r\n"
                        "MSH|^~\\&|A|B|C|D|1||ADT^A08|2|P|2.4\r\nPID|1||2\r\n"
                        "BTS|2\r\n"
                        "BHS|^~\\&|APP|FAC\r\n"
                        "MSH|^~\\&|A|B|C|D|1||ADT^A08|3|P|2.4\r\nPID|1||3\r\n"
                        "BTS|1\r\n"
                        "FTS|2\r\n";
    struct cw_hl7v2_file *f = NULL;
    struct cw_err err;
    assert_int_equal(cw_hl7v2_parse_file(A, IN(text), NULL, &f, &err), 0);
    assert_int_equal(f->nitems, 3);
    assert_int_equal(f->nfailed, 0);
    assert_int_equal(f->nbatches, 2);
    assert_int_equal(f->nwarnings, 0);
    assert_non_null(f->fhs);
    assert_non_null(f->fts);
    assert_int_equal(f->batches[0].first, 0);
    assert_int_equal(f->batches[0].count, 2);
    assert_int_equal(f->batches[1].first, 2);
    assert_int_equal(f->batches[1].count, 1);
    assert_int_equal(f->items[2].batch, 1);
    assert_string_equal(get(f->items[1].msg, "PID-3"), "2");
    assert_slice_equal(cw_hl7v2_text(cw_hl7v2_field(f->fhs, 3)), "APP");
    assert_slice_equal(cw_hl7v2_text(cw_hl7v2_field(f->batches[0].bhs, 2)), "^~\\&");
    assert_slice_equal(cw_hl7v2_text(cw_hl7v2_field(f->batches[1].bts, 1)), "1");
    assert_int_equal(cw_hl7v2_parse_file(
                         A, IN(text), &(struct cw_hl7v2_opts){.flags = CW_HL7V2_STRICT}, &f, &err),
                     0);

    /* wrong counts, stray lines, a broken message in the middle */
    const char bad[] = "junk before\n"
                       "BHS|^~\\&\n"
                       "MSH|^~\\&|A||||||ADT^A01|1|P|2.5\nPID|1\n"
                       "MSH||broken\n"
                       "MSH|^~\\&|A||||||ADT^A01|3|P|2.5\nPID|3\n\n\n"
                       "BTS|5\n";
    assert_int_equal(cw_hl7v2_parse_file(A, IN(bad), NULL, &f, &err), 0);
    assert_int_equal(f->nitems, 3);
    assert_int_equal(f->nfailed, 1);
    assert_null(f->items[1].msg);
    assert_int_equal(f->items[1].err.v2_code, CW_V2_REQUIRED_MISSING);
    assert_string_equal(get(f->items[2].msg, "PID-1"), "3");
    assert_int_equal(f->items[2].msg->nwarnings, 0); /* blank lines between messages are fine */
    assert_int_equal(f->nwarnings, 2);               /* BTS-1 count, stray line */
    assert_int_equal(cw_hl7v2_parse_file(
                         A, IN(bad), &(struct cw_hl7v2_opts){.flags = CW_HL7V2_STRICT}, &f, &err),
                     -1);
    /* several messages without batch segments, LF-separated, and no message at all */
    assert_int_equal(
        cw_hl7v2_parse_file(A, IN("MSH|^~\\&|1\nPID|1\nMSH|^~\\&|2\nPID|2\n"), NULL, &f, &err), 0);
    assert_int_equal(f->nitems, 2);
    assert_int_equal(f->nbatches, 0);
    assert_int_equal(f->items[0].batch, UINT32_MAX);
    assert_string_equal(written(f->items[1].msg, 0), "MSH|^~\\&|2\nPID|2\n");
    assert_int_equal(cw_hl7v2_parse_file(A, IN("PID|1\n"), NULL, &f, &err), -1);
    assert_int_equal(cw_hl7v2_parse_file(A, IN(""), NULL, &f, &err), -1);
}

/* ---- limits ---- */

static void limits(void **state)
{
    (void)state;
    struct cw_hl7v2_msg *m = NULL;
    struct cw_err err;
    struct cw_hl7v2_opts o = {0};
    o.limits.max_bytes = 20;
    assert_int_equal(cw_hl7v2_parse(A, IN(ADT), &o, &m, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_LONG);
    memset(&o, 0, sizeof o);
    o.limits.max_segments = 2;
    assert_int_equal(cw_hl7v2_parse(A, IN(ADT "PID|1\rPV1|1"), &o, &m, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
    assert_int_equal(cw_hl7v2_parse(A, IN(ADT "PID|1"), &o, &m, &err), 0);
    memset(&o, 0, sizeof o);
    o.limits.max_fields = 4; /* PID-4 is the last field allowed */
    assert_int_equal(cw_hl7v2_parse(A, IN("MSH|^~\\&|1\rPID|1|2|3|4"), &o, &m, &err), 0);
    assert_int_equal(cw_hl7v2_parse(A, IN("MSH|^~\\&|1\rPID|1|2|3|4|5"), &o, &m, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
    assert_string_equal(err.location, "PID-5");
    memset(&o, 0, sizeof o);
    o.limits.max_reps = 3;
    assert_int_equal(cw_hl7v2_parse(A, IN("MSH|^~\\&|1\rPID|a~b~c"), &o, &m, &err), 0);
    assert_int_equal(cw_hl7v2_parse(A, IN("MSH|^~\\&|1\rPID|a~b~c~d|x"), &o, &m, &err), -1);
    assert_int_equal(cw_hl7v2_parse(A, IN("MSH|^~\\&|1\rPID|a~b~c~d"), &o, &m, &err), -1);
    memset(&o, 0, sizeof o);
    o.limits.max_components = 2;
    assert_int_equal(cw_hl7v2_parse(A, IN("MSH|^~\\&|1\rPID|a^b&c&d"), &o, &m, &err), -1);
    assert_int_equal(cw_hl7v2_parse(A, IN("MSH|^~\\&|1\rPID|a^b^c"), &o, &m, &err), -1);
    assert_int_equal(cw_hl7v2_parse(A, IN("MSH|^~\\&|1\rPID|a^b&c"), &o, &m, &err), 0);
    /* warnings beyond the limit are counted */
    memset(&o, 0, sizeof o);
    o.limits.max_warnings = 2;
    assert_int_equal(cw_hl7v2_parse(A, IN(ADT "A|\\Q\\|\\Q\\|\\Q\\|\\Q\\"), &o, &m, &err), 0);
    assert_int_equal(m->nwarnings, 2);
    assert_true(m->warnings_dropped >= 3);
    /* the hard ceiling of 65535 kids per node holds even with larger limits */
    memset(&o, 0, sizeof o);
    o.limits.max_fields = 1000000;
    size_t n = 70000;
    char *big = malloc(n + 32);
    assert_non_null(big);
    memcpy(big, "MSH|^~\\&\rZZZ", 12);
    memset(big + 12, '|', n);
    assert_int_equal(cw_hl7v2_parse(A, (cw_slice){big, n + 12}, &o, &m, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
    free(big);
    /* a big message that fits: a 4 MB OBX-5 and 10,000 repetitions (the default limit) */
    size_t bn = 4u << 20;
    big = malloc(bn + 256 + 10000);
    assert_non_null(big);
    int k = snprintf(big, 256, "MSH|^~\\&|A||||||ORU^R01|1|P|2.5\rOBX|1|ED|X||");
    memset(big + k, 'A', bn);
    size_t len = (size_t)k + bn;
    memcpy(big + len, "\rNTE|", 5);
    len += 5;
    for (int r = 0; r < 10000; r++) big[len++] = r ? '~' : 'x';
    assert_int_equal(cw_hl7v2_parse(A, (cw_slice){big, len}, NULL, &m, &err), 0);
    assert_int_equal(cw_hl7v2_field(cw_hl7v2_seg_at(m, 1), 5)->len, bn);
    assert_int_equal(cw_hl7v2_rep_count(cw_hl7v2_field(cw_hl7v2_seg_at(m, 2), 1)), 10000);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(delimiters_standard),
        cmocka_unit_test(delimiters_custom),
        cmocka_unit_test(delimiters_irregular),
        cmocka_unit_test(terminators_round_trip),
        cmocka_unit_test(lenient_vs_strict),
        cmocka_unit_test(tree_shapes),
        cmocka_unit_test(escapes_each),
        cmocka_unit_test(charsets),
        cmocka_unit_test(paths),
        cmocka_unit_test(writer_escaping),
        cmocka_unit_test(writer_charsets),
        cmocka_unit_test(builder),
        cmocka_unit_test(batches),
        cmocka_unit_test(limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
