/*
 * test_hl7v2_ack.c — acknowledgments: original and enhanced mode, every
 * version style of MSA/ERR, and rejects for input that does not parse.
 * Timestamps and control IDs are fixed so whole ACKs can be compared.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7v2/hl7v2.h"

static struct cw_arena *A;

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
    return 0;
}

static struct cw_hl7v2_msg *parse(const char *text)
{
    struct cw_hl7v2_msg *m = NULL;
    struct cw_err err;
    size_t n = strlen(text);
    char *copy = cw_arena_strndup(A, text, n);
    if (cw_hl7v2_parse(A, (cw_slice){copy, n}, NULL, &m, &err) < 0) fail_msg("parse: %s", err.msg);
    return m;
}

/* The ACK as text, segments separated by "\n" for readable comparisons. */
static const char *ack_text(const struct cw_hl7v2_msg *ack)
{
    struct cw_buf b;
    cw_buf_init(&b, 0);
    assert_int_equal(cw_hl7v2_write(ack, CW_HL7V2_WRITE_CR, &b, NULL), 0);
    for (size_t i = 0; i < b.len; i++)
        if (b.ptr[i] == '\r') b.ptr[i] = '\n';
    char *s = cw_arena_strndup(A, b.ptr, b.len);
    cw_buf_release(&b);
    return s;
}

static const char *build(const char *inbound, enum cw_hl7v2_outcome outcome,
                         enum cw_hl7v2_ack_kind kind, const struct cw_err *errs, size_t n)
{
    struct cw_hl7v2_msg *in = parse(inbound), *ack = NULL;
    struct cw_hl7v2_ack_opts o = {.outcome = outcome,
                                  .kind = kind,
                                  .control_id = CW_LIT("ACK1"),
                                  .timestamp = CW_LIT("20240102030405")};
    struct cw_err err;
    if (cw_hl7v2_ack_build(A, in, &o, errs, n, &ack, &err) < 0) fail_msg("ack: %s", err.msg);
    /* every ACK we build must itself be a clean message */
    struct cw_buf b;
    cw_buf_init(&b, 0);
    assert_int_equal(cw_hl7v2_write(ack, 0, &b, NULL), 0);
    struct cw_hl7v2_opts strict = {.flags = CW_HL7V2_STRICT};
    struct cw_hl7v2_msg *re = NULL;
    char *copy = cw_arena_strndup(A, b.ptr, b.len);
    assert_int_equal(cw_hl7v2_parse(A, (cw_slice){copy, b.len}, &strict, &re, &err), 0);
    cw_buf_release(&b);
    return ack_text(ack);
}

static struct cw_err mkerr(enum cw_severity sev, enum cw_v2_error code, const char *loc,
                           const char *msg)
{
    struct cw_err e;
    cw_err_clear(&e);
    cw_err_set(&e, CW_ISSUE_INVALID, "%s", msg);
    e.severity = sev;
    e.v2_code = code;
    cw_err_at(&e, loc);
    return e;
}

#define IN251 "MSH|^~\\&|SEND|SFAC|RECV|RFAC|20240101120000||ADT^A01^ADT_A01|MSG1|P|2.5.1\rPID|1"

static void original_accept(void **state)
{
    (void)state;
    assert_string_equal(build(IN251, CW_HL7V2_ACCEPT, CW_HL7V2_ACK_AUTO, NULL, 0),
                        "MSH|^~\\&|RECV|RFAC|SEND|SFAC|20240102030405||ACK^A01^ACK|ACK1|P|2.5.1\n"
                        "MSA|AA|MSG1");
    struct cw_hl7v2_msg *in = parse(IN251);
    assert_false(cw_hl7v2_ack_enhanced(in));
    assert_true(cw_hl7v2_ack_wanted(in, CW_HL7V2_ACK_AUTO, CW_HL7V2_ACCEPT));
    assert_true(cw_hl7v2_ack_wanted(in, CW_HL7V2_ACK_APPLICATION, CW_HL7V2_ERROR));
    assert_false(cw_hl7v2_ack_wanted(in, CW_HL7V2_ACK_COMMIT, CW_HL7V2_ACCEPT));
}

static void original_error_v25(void **state)
{
    (void)state;
    struct cw_err errs[3] = {
        mkerr(CW_SEV_ERROR, CW_V2_REQUIRED_MISSING, "PID-3", "required field PID-3 is missing"),
        mkerr(CW_SEV_WARNING, CW_V2_TABLE_VALUE, "PID-5[2].1", "value is not in HL7 table 0001"),
        mkerr(CW_SEV_ERROR, CW_V2_OK, "OBX[2]",
              "a^b|c&d~e\\f"), /* no code: 207; delimiters in text */
    };
    errs[2].issue = CW_ISSUE_EXCEPTION;
    assert_string_equal(
        build(IN251, CW_HL7V2_ERROR, CW_HL7V2_ACK_AUTO, errs, 3),
        "MSH|^~\\&|RECV|RFAC|SEND|SFAC|20240102030405||ACK^A01^ACK|ACK1|P|2.5.1\n"
        "MSA|AE|MSG1\n"
        "ERR||PID^1^3^1|101^Required field missing^HL70357|E|||required field PID-3 is missing\n"
        "ERR||PID^1^5^2^1|103^Table value not found^HL70357|W|||value is not in HL7 table 0001\n"
        "ERR||OBX^2|207^Application internal error^HL70357|E|||a b c d e f");
    /* reject: AR */
    assert_string_equal(build(IN251, CW_HL7V2_REJECT, CW_HL7V2_ACK_AUTO, NULL, 0),
                        "MSH|^~\\&|RECV|RFAC|SEND|SFAC|20240102030405||ACK^A01^ACK|ACK1|P|2.5.1\n"
                        "MSA|AR|MSG1");
}

static void original_error_v23_v24(void **state)
{
    (void)state;
    struct cw_err errs[2] = {
        mkerr(CW_SEV_ERROR, CW_V2_REQUIRED_MISSING, "PID-3", "missing"),
        mkerr(CW_SEV_ERROR, CW_V2_DATA_TYPE, "OBX[2]-5.1", "bad"),
    };
    const char *in23 = "MSH|^~\\&|S|SF|R|RF|2024||ORU^R01|C9|T|2.3\rPID|1";
    assert_string_equal(build(in23, CW_HL7V2_ERROR, CW_HL7V2_ACK_AUTO, errs, 2),
                        "MSH|^~\\&|R|RF|S|SF|20240102030405||ACK^R01|ACK1|T|2.3\n"
                        "MSA|AE|C9|Required field missing|||101^Required field missing^HL70357\n"
                        "ERR|PID^1^3^101&Required field missing&HL70357~"
                        "OBX^2^5^102&Data type error&HL70357");
    const char *in24 = "MSH|^~\\&|S|SF|R|RF|2024||ORU^R01^ORU_R01|C9|T|2.4\rPID|1";
    assert_string_equal(build(in24, CW_HL7V2_ERROR, CW_HL7V2_ACK_AUTO, errs, 1),
                        "MSH|^~\\&|R|RF|S|SF|20240102030405||ACK^R01^ACK|ACK1|T|2.4\n"
                        "MSA|AE|C9|Required field missing|||101^Required field missing^HL70357\n"
                        "ERR|PID^1^3^101&Required field missing&HL70357");
    /* the caller's text wins for MSA-3 */
    struct cw_hl7v2_msg *in = parse(in24), *ack = NULL;
    struct cw_hl7v2_ack_opts o = {.outcome = CW_HL7V2_ERROR,
                                  .control_id = CW_LIT("X"),
                                  .timestamp = CW_LIT("1"),
                                  .text = CW_LIT("try again")};
    assert_int_equal(cw_hl7v2_ack_build(A, in, &o, errs, 1, &ack, NULL), 0);
    cw_slice v;
    assert_int_equal(cw_hl7v2_get(A, ack, CW_LIT("MSA-3"), &v, NULL, NULL, NULL), 0);
    assert_slice_equal(v, "try again");
}

static void original_v21_v22(void **state)
{
    (void)state;
    struct cw_err e = mkerr(CW_SEV_ERROR, CW_V2_REQUIRED_MISSING, "PID-3", "missing");
    assert_string_equal(build("MSH|^~\\&|S|SF|R|RF|1980||ADT|7|P|2.1\rPID|1", CW_HL7V2_ERROR,
                              CW_HL7V2_ACK_AUTO, &e, 1),
                        "MSH|^~\\&|R|RF|S|SF|20240102030405||ACK|ACK1|P|2.1\n"
                        "MSA|AE|7|Required field missing");
    assert_string_equal(build("MSH|^~\\&|S|SF|R|RF|1980||ADT^A04|7|P|2.2\rPID|1", CW_HL7V2_ERROR,
                              CW_HL7V2_ACK_AUTO, &e, 1),
                        "MSH|^~\\&|R|RF|S|SF|20240102030405||ACK^A04|ACK1|P|2.2\n"
                        "MSA|AE|7|Required field missing|||101^Required field missing^HL70357\n"
                        "ERR|PID^1^3^101&Required field missing&HL70357");
}

static void enhanced_mode(void **state)
{
    (void)state;
    const char *in = "MSH|^~\\&|S|SF|R|RF|2024||ORU^R01^ORU_R01|M5|P|2.5.1|||AL|ER||UNICODE UTF-8\r"
                     "PID|1";
    struct cw_hl7v2_msg *m = parse(in);
    assert_true(cw_hl7v2_ack_enhanced(m));
    /* the accept acknowledgment: CA/CE/CR, charset mirrored */
    assert_string_equal(
        build(in, CW_HL7V2_ACCEPT, CW_HL7V2_ACK_AUTO, NULL, 0),
        "MSH|^~\\&|R|RF|S|SF|20240102030405||ACK^R01^ACK|ACK1|P|2.5.1||||||UNICODE UTF-8\n"
        "MSA|CA|M5");
    assert_string_equal(
        build(in, CW_HL7V2_REJECT, CW_HL7V2_ACK_COMMIT, NULL, 0),
        "MSH|^~\\&|R|RF|S|SF|20240102030405||ACK^R01^ACK|ACK1|P|2.5.1||||||UNICODE UTF-8\n"
        "MSA|CR|M5");
    /* the application acknowledgment: AA/AE/AR */
    assert_string_equal(
        build(in, CW_HL7V2_ERROR, CW_HL7V2_ACK_APPLICATION, NULL, 0),
        "MSH|^~\\&|R|RF|S|SF|20240102030405||ACK^R01^ACK|ACK1|P|2.5.1||||||UNICODE UTF-8\n"
        "MSA|AE|M5");
    /* MSH-15 AL: always a commit ACK; MSH-16 ER: an application ACK only on errors */
    assert_true(cw_hl7v2_ack_wanted(m, CW_HL7V2_ACK_COMMIT, CW_HL7V2_ACCEPT));
    assert_false(cw_hl7v2_ack_wanted(m, CW_HL7V2_ACK_APPLICATION, CW_HL7V2_ACCEPT));
    assert_true(cw_hl7v2_ack_wanted(m, CW_HL7V2_ACK_APPLICATION, CW_HL7V2_ERROR));
    assert_true(cw_hl7v2_ack_wanted(m, CW_HL7V2_ACK_APPLICATION, CW_HL7V2_REJECT));
    m = parse("MSH|^~\\&|S||||||ADT^A01|1|P|2.5|||NE|SU\rPID|1");
    assert_false(cw_hl7v2_ack_wanted(m, CW_HL7V2_ACK_COMMIT, CW_HL7V2_ACCEPT));
    assert_true(cw_hl7v2_ack_wanted(m, CW_HL7V2_ACK_APPLICATION, CW_HL7V2_ACCEPT));
    assert_false(cw_hl7v2_ack_wanted(m, CW_HL7V2_ACK_APPLICATION, CW_HL7V2_ERROR));
    m = parse("MSH|^~\\&|S||||||ADT^A01|1|P|2.5||||AL\rPID|1"); /* only MSH-16 */
    assert_true(cw_hl7v2_ack_enhanced(m));
    assert_true(
        cw_hl7v2_ack_wanted(m, CW_HL7V2_ACK_COMMIT, CW_HL7V2_ACCEPT)); /* empty MSH-15 = AL */
    assert_true(cw_hl7v2_ack_wanted(m, CW_HL7V2_ACK_APPLICATION, CW_HL7V2_ACCEPT));
}

static void mirrors_delimiters_and_new_ids(void **state)
{
    (void)state;
    const char *in = "MSH#!@$%#S!1#F#R#G#2024##ADT!A08!ADT_A01#Z!1#P#2.5.1\rPID#1";
    assert_string_equal(build(in, CW_HL7V2_ACCEPT, CW_HL7V2_ACK_AUTO, NULL, 0),
                        "MSH#!@$%#R#G#S!1#F#20240102030405##ACK!A08!ACK#ACK1#P#2.5.1\n"
                        "MSA#AA#Z!1");
    /* without a given control ID or time, fresh ones are made */
    struct cw_hl7v2_msg *m = parse(IN251), *a1 = NULL, *a2 = NULL;
    assert_int_equal(cw_hl7v2_ack_build(A, m, NULL, NULL, 0, &a1, NULL), 0);
    assert_int_equal(cw_hl7v2_ack_build(A, m, NULL, NULL, 0, &a2, NULL), 0);
    cw_slice c1, c2, ts;
    assert_int_equal(cw_hl7v2_get(A, a1, CW_LIT("MSH-10"), &c1, NULL, NULL, NULL), 0);
    assert_int_equal(cw_hl7v2_get(A, a2, CW_LIT("MSH-10"), &c2, NULL, NULL, NULL), 0);
    assert_true(c1.len > 0 && c1.len <= 20);
    assert_false(cw_slice_eq(c1, c2));
    assert_int_equal(cw_hl7v2_get(A, a1, CW_LIT("MSH-7"), &ts, NULL, NULL, NULL), 0);
    assert_int_equal(ts.len, 19); /* YYYYMMDDHHMMSS+0000 */
    assert_true(cw_slice_eq(cw_slice_sub(ts, 14, 5), CW_LIT("+0000")));
}

static void reject_unparseable(void **state)
{
    (void)state;
    struct cw_err e = mkerr(CW_SEV_ERROR, CW_V2_SEGMENT_SEQUENCE, "MSH[2]", "second MSH");
    struct cw_hl7v2_ack_opts o = {.control_id = CW_LIT("ACK1"),
                                  .timestamp = CW_LIT("20240102030405"),
                                  .outcome = CW_HL7V2_ACCEPT /* ignored */};
    struct cw_hl7v2_msg *ack = NULL;
    const char *broken = "MSH|^~\\&|S|SF|R|RF|2024||ADT^A04^ADT_A01|CTRL9|T|2.3.1\rPID|1\rMSH|x";
    struct cw_hl7v2_msg *m = NULL;
    assert_int_equal(cw_hl7v2_parse(A, cw_slice_cstr(broken), NULL, &m, NULL), -1);
    assert_int_equal(cw_hl7v2_ack_build_raw(A, cw_slice_cstr(broken), &o, &e, 1, &ack, NULL), 0);
    assert_string_equal(ack_text(ack),
                        "MSH|^~\\&|R|RF|S|SF|20240102030405||ACK^A04^ACK|ACK1|T|2.3.1\n"
                        "MSA|AR|CTRL9|Segment sequence error|||100^Segment sequence error^HL70357\n"
                        "ERR|MSH^2^^100&Segment sequence error&HL70357");
    /* enhanced mode asked for: CR */
    const char *enh = "MSH|^~\\&|S|SF|R|RF|2024||ADT^A04|C1|P|2.5.1|||AL|NE\rMSH|";
    assert_int_equal(cw_hl7v2_ack_build_raw(A, cw_slice_cstr(enh), &o, &e, 1, &ack, NULL), 0);
    assert_string_equal(ack_text(ack),
                        "MSH|^~\\&|R|RF|S|SF|20240102030405||ACK^A04^ACK|ACK1|P|2.5.1\n"
                        "MSA|CR|C1\n"
                        "ERR||MSH^2|100^Segment sequence error^HL70357|E|||second MSH");
    /* nothing recoverable: defaults */
    assert_int_equal(cw_hl7v2_ack_build_raw(A, CW_LIT("\x01garbage"), &o, &e, 1, &ack, NULL), 0);
    assert_string_equal(ack_text(ack),
                        "MSH|^~\\&|||||20240102030405||ACK^^ACK|ACK1|P|2.5.1\n"
                        "MSA|AR\n"
                        "ERR||MSH^2|100^Segment sequence error^HL70357|E|||second MSH");
    /* values with control characters or foreign delimiters are not copied; odd delimiters are kept
     */
    const char *odd = "MSH#^~\\&#A\x01#F#R~1#G#2024##ADT^A01#C|1#P#9.9";
    assert_int_equal(cw_hl7v2_ack_build_raw(A, cw_slice_cstr(odd), &o, NULL, 0, &ack, NULL), 0);
    assert_string_equal(ack_text(ack), "MSH#^~\\&##G##F#20240102030405##ACK^A01^ACK#ACK1#P#2.5.1\n"
                                       "MSA#AR#C|1");
}

/* Inbound delimiters without an escape character cannot carry every value: the ACK uses |^~\&. */
static void incomplete_delimiters(void **state)
{
    (void)state;
    const char *in = "MSH|^~|S^1|F|R|G|2024||ADT^A01|C1|P|2.5.1\rPID|1";
    assert_string_equal(build(in, CW_HL7V2_ACCEPT, CW_HL7V2_ACK_AUTO, NULL, 0),
                        "MSH|^~\\&|R|G|S^1|F|20240102030405||ACK^A01^ACK|ACK1|P|2.5.1\n"
                        "MSA|AA|C1");
    /* '+' as repetition character, no escape character (found by fuzz_hl7v2): the reject
       is built with |^~\&, values re-encoded, and a timestamp of our own */
    const char *raw = "MSH|^+|A|x^~y|R|G|2024||ADT^A01|C+1|P|2.8\rMSH|";
    struct cw_hl7v2_msg *ack = NULL;
    struct cw_err err;
    assert_int_equal(cw_hl7v2_ack_build_raw(A, cw_slice_cstr(raw), NULL, NULL, 0, &ack, &err), 0);
    cw_slice v;
    assert_int_equal(cw_hl7v2_get(A, ack, CW_LIT("MSH-6.2"), &v, NULL, NULL, NULL), 0);
    assert_slice_equal(v, "~y");
    assert_int_equal(cw_hl7v2_get(A, ack, CW_LIT("MSH-6"), &v, NULL, NULL, NULL), 0);
    assert_slice_equal(v, "x^\\R\\y");
    assert_int_equal(cw_hl7v2_get(A, ack, CW_LIT("MSA-1"), &v, NULL, NULL, NULL), 0);
    assert_slice_equal(v, "AR");
    struct cw_buf b;
    cw_buf_init(&b, 0);
    assert_int_equal(cw_hl7v2_write(ack, 0, &b, NULL), 0);
    struct cw_hl7v2_opts strict = {.flags = CW_HL7V2_STRICT};
    struct cw_hl7v2_msg *re = NULL;
    char *copy = cw_arena_strndup(A, b.ptr, b.len);
    assert_int_equal(cw_hl7v2_parse(A, (cw_slice){copy, b.len}, &strict, &re, &err), 0);
    cw_buf_release(&b);
    /* "C+1" held the inbound repetition character: not copied */
    assert_int_equal(cw_hl7v2_get(A, ack, CW_LIT("MSA-2"), &v, NULL, NULL, NULL), 0);
    assert_int_equal(v.len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(original_accept),        cmocka_unit_test(original_error_v25),
        cmocka_unit_test(original_error_v23_v24), cmocka_unit_test(original_v21_v22),
        cmocka_unit_test(enhanced_mode),          cmocka_unit_test(mirrors_delimiters_and_new_ids),
        cmocka_unit_test(reject_unparseable),     cmocka_unit_test(incomplete_delimiters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
