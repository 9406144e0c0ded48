/*
 * test_hl7v2_validate.c — structure validation against the generated
 * hl7-dictionary tables: segment order and group cardinality, required
 * fields, repetitions, data types, table values, lengths, message type and
 * version; each issue with its HL7 table 0357 code, severity and location.
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

static struct cw_hl7v2_issues check(const char *text, unsigned flags)
{
    struct cw_hl7v2_msg *m = NULL;
    struct cw_err err;
    size_t n = strlen(text);
    char *copy = cw_arena_strndup(A, text, n);
    if (cw_hl7v2_parse(A, (cw_slice){copy, n}, NULL, &m, &err) < 0) fail_msg("parse: %s", err.msg);
    struct cw_hl7v2_issues is;
    struct cw_hl7v2_validate_opts o = {.flags = flags};
    assert_int_equal(cw_hl7v2_validate(A, m, &o, &is, &err), 0);
    return is;
}

/* Number of issues with this code, severity and location. */
static int count(const struct cw_hl7v2_issues *is, enum cw_v2_error code, enum cw_severity sev,
                 const char *loc)
{
    int n = 0;
    for (uint32_t i = 0; i < is->n; i++)
        n += is->items[i].v2_code == code && is->items[i].severity == sev &&
             strcmp(is->items[i].location, loc) == 0;
    return n;
}

static void dump(const struct cw_hl7v2_issues *is)
{
    for (uint32_t i = 0; i < is->n; i++)
        printf("  %s %d %s: %s\n", cw_severity_code(is->items[i].severity),
               (int)is->items[i].v2_code, is->items[i].location, is->items[i].msg);
}

#define EXPECT(is, code, sev, loc)                                                                 \
    do {                                                                                           \
        if (count(&(is), (code), (sev), (loc)) != 1) {                                             \
            dump(&(is));                                                                           \
            fail_msg("expected one issue %d %s at %s", (int)(code), cw_severity_code(sev), (loc)); \
        }                                                                                          \
    } while (0)

#define MSH251(type) "MSH|^~\\&|S|F|R|F|20240101120000||" type "|1|P|2.5.1\r"
#define ADT_OK                                                                                     \
    MSH251("ADT^A01^ADT_A01")                                                                      \
    "EVN|A01|20240101120000\rPID|1||123^^^H^MR||Doe^John||19800101|M\rPV1|1|I\r"

static void clean_messages(void **state)
{
    (void)state;
    struct cw_hl7v2_issues is = check(ADT_OK, CW_HL7V2_VALIDATE_STRICT);
    if (is.n) dump(&is);
    assert_int_equal(is.n, 0);
    /* Z-segments anywhere, and ADT^A04 uses its own structure key */
    is = check(MSH251("ADT^A04") "EVN|A04|20240101\rZEV|x\rPID|1||1^^^H||D^J\rZPI|y\rPV1|1|O\r", 0);
    assert_int_equal(is.errors, 0);
    /* v2.3 and v2.1 structures */
    is = check("MSH|^~\\&|S|F|R|F|20240101120000||ADT^A01|1|P|2.3\rEVN|A01|20240101120000\r"
               "PID|1||123||Doe^John\rPV1|1|I\r",
               0);
    assert_int_equal(is.errors, 0);
}

static void repeating_groups(void **state)
{
    (void)state;
    /* ORU^R01: PATIENT_RESULT { PATIENT { PID ... } ORDER_OBSERVATION+ { OBR, NTE*, OBSERVATION* {
     * OBX, NTE* } } } */
    const char *oru = MSH251("ORU^R01^ORU_R01") "PID|1||1^^^H||D^J\r"
                                                "OBR|1||A|X^Y^LN\rNTE|1||n\rOBX|1|NM|X^Y^LN||5.5|||"
                                                "|||F\rNTE|1||n\rOBX|2|ST|X^Y^LN||t||||||F\r"
                                                "OBR|2||B|X^Y^LN\rOBX|1|ST|X^Y^LN||t||||||F\r"
                                                "PID|2||2^^^H||D^K\rOBR|1||C|X^Y^LN\r";
    struct cw_hl7v2_issues is = check(oru, 0);
    if (is.errors) dump(&is);
    assert_int_equal(is.errors, 0);
}

static void segment_order(void **state)
{
    (void)state;
    /* PV1 before PID: PID is missing where it belongs, then out of place */
    struct cw_hl7v2_issues is = check(MSH251("ADT^A01^ADT_A01") "EVN|A01|20240101\rPV1|1|I\r"
                                                                "PID|1||1^^^H||D^J\r",
                                      0);
    assert_int_equal(is.errors, 2);
    assert_int_equal(count(&is, CW_V2_SEGMENT_SEQUENCE, CW_SEV_ERROR, "PID"), 2);
    /* a required segment missing at the end */
    is = check(MSH251("ADT^A01^ADT_A01") "EVN|A01|20240101\rPID|1||1^^^H||D^J\r", 0);
    EXPECT(is, CW_V2_SEGMENT_SEQUENCE, CW_SEV_ERROR, "PV1");
    assert_non_null(strstr(is.items[0].msg, "required segment PV1"));
    /* a non-repeating segment twice */
    is = check(
        MSH251(
            "ADT^A01^ADT_A01") "EVN|A01|20240101\rPID|1||1^^^H||D^J\rPID|1||1^^^H||D^J\rPV1|1|I\r",
        0);
    EXPECT(is, CW_V2_SEGMENT_SEQUENCE, CW_SEV_ERROR, "PID[2]");
    assert_non_null(strstr(is.items[0].msg, "more often"));
    /* a segment that has no place in the structure */
    is = check(MSH251("ADT^A01^ADT_A01") "EVN|A01|20240101\rPID|1||1^^^H||D^J\rPV1|1|I\rORC|NW\r",
               0);
    EXPECT(is, CW_V2_SEGMENT_SEQUENCE, CW_SEV_ERROR, "ORC");
    /* a required group: ORU without any ORDER_OBSERVATION */
    is = check(MSH251("ORU^R01^ORU_R01") "PID|1||1^^^H||D^J\r", 0);
    EXPECT(is, CW_V2_SEGMENT_SEQUENCE, CW_SEV_ERROR, "OBR");
    assert_non_null(strstr(is.items[0].msg, "ORDER_OBSERVATION"));
    /* a group entered without its required first segment (OBX before any OBR) */
    is = check(MSH251("ORU^R01^ORU_R01") "PID|1||1^^^H||D^J\rOBX|1|ST|X||t||||||F\r", 0);
    EXPECT(is, CW_V2_SEGMENT_SEQUENCE, CW_SEV_ERROR, "OBR");
}

static void fields_and_types(void **state)
{
    (void)state;
    struct cw_hl7v2_issues is =
        check(MSH251("ORU^R01^ORU_R01") "PID|1||^^^H||D^J||19801301~19800101|X\r"
                                        "OBR|1||A|X^Y^LN\r"
                                        "OBX|1|NM|X^Y^LN||abc||||||F\r"
                                        "OBX|2|DT|X^Y^LN||20240230||||||F\r"
                                        "OBX|3|TM|X^Y^LN||2561||||||F\r"
                                        "OBX|x|NM|X^Y^LN||+1.5|||||\r",
              0);
    EXPECT(is, CW_V2_REQUIRED_MISSING, CW_SEV_WARNING, "PID-3.1"); /* CX.1 is required */
    EXPECT(is, CW_V2_DATA_TYPE, CW_SEV_ERROR, "PID-7");            /* repeats */
    EXPECT(is, CW_V2_DATA_TYPE, CW_SEV_ERROR, "PID-7.1");          /* month 13, first repetition */
    EXPECT(is, CW_V2_TABLE_VALUE, CW_SEV_WARNING, "PID-8");        /* table 0001 */
    EXPECT(is, CW_V2_DATA_TYPE, CW_SEV_ERROR, "OBX-5");            /* NM by OBX-2 */
    EXPECT(is, CW_V2_DATA_TYPE, CW_SEV_ERROR, "OBX[2]-5");         /* 30 February */
    EXPECT(is, CW_V2_DATA_TYPE, CW_SEV_ERROR, "OBX[3]-5");         /* hour 25 */
    EXPECT(is, CW_V2_DATA_TYPE, CW_SEV_ERROR, "OBX[4]-1");         /* SI */
    EXPECT(is, CW_V2_REQUIRED_MISSING, CW_SEV_ERROR, "OBX[4]-11"); /* required field */
    assert_int_equal(count(&is, CW_V2_DATA_TYPE, CW_SEV_ERROR, "OBX[4]-5"), 0); /* +1.5 is an NM */
    assert_true(is.n >= 9); /* all collected, not just the first */
    assert_true(is.errors >= 7);
    /* required field missing; MSH-9 missing; primitive with components */
    is =
        check(MSH251("ADT^A01^ADT_A01") "EVN|A01|20240101\rPID|1||||D^J||19800101^x\rPV1|1|I\r", 0);
    EXPECT(is, CW_V2_REQUIRED_MISSING, CW_SEV_ERROR, "PID-3");
    is = check("MSH|^~\\&|S|F|R|F|20240101||||P|2.5.1\rPID|1\r", 0);
    EXPECT(is, CW_V2_REQUIRED_MISSING, CW_SEV_ERROR, "MSH-9");
    EXPECT(is, CW_V2_REQUIRED_MISSING, CW_SEV_ERROR, "MSH-10");
    /* "" (explicit null) satisfies a required field */
    is = check(MSH251("ADT^A01^ADT_A01") "EVN|A01|20240101\rPID|1||\"\"||D^J\rPV1|1|I\r", 0);
    assert_int_equal(count(&is, CW_V2_REQUIRED_MISSING, CW_SEV_ERROR, "PID-3"), 0);
    /* a field beyond the version's definition: warning */
    is = check(
        MSH251("ADT^A01^ADT_A01") "EVN|A01|20240101\rPID|1||1^^^H||D^J\rPV1|1|I"
                                  "|||||||||||||||||||||||||||||||||||||||||||||||||||||||||x\r",
        0);
    assert_int_equal(is.errors, 0);
    assert_int_equal(is.warnings, 1);
}

static void tables_and_lengths(void **state)
{
    (void)state;
    const char *msg = "MSH|^~\\&|S|F|R|F|20240101||ADT^A01^ADT_A01|123456789012345678901|Z|2.5.1\r"
                      "EVN|A01|20240101\rPID|1||1^^^H||D^J\rPV1|1|I\r";
    struct cw_hl7v2_issues is = check(msg, 0);
    EXPECT(is, CW_V2_TABLE_VALUE, CW_SEV_WARNING, "MSH-11.1");  /* ID, table 0103 */
    EXPECT(is, CW_V2_VALUE_TOO_LONG, CW_SEV_WARNING, "MSH-10"); /* 21 > 20 */
    assert_int_equal(is.errors, 0);
    is = check(msg, CW_HL7V2_VALIDATE_STRICT);
    EXPECT(is, CW_V2_TABLE_VALUE, CW_SEV_ERROR, "MSH-11.1");
    EXPECT(is, CW_V2_VALUE_TOO_LONG, CW_SEV_ERROR, "MSH-10");
    assert_int_equal(is.errors, 2);
}

static void types_and_versions(void **state)
{
    (void)state;
    struct cw_hl7v2_issues is = check(MSH251("XYZ^A01") "PID|1\r", 0);
    EXPECT(is, CW_V2_UNSUPPORTED_MESSAGE_TYPE, CW_SEV_ERROR, "MSH-9.1");
    is = check(MSH251("ADT^A99") "PID|1\r", 0);
    EXPECT(is, CW_V2_UNSUPPORTED_EVENT, CW_SEV_ERROR, "MSH-9.2");
    is = check(MSH251("ZRP^Z01") "PID|1\r", 0);
    EXPECT(is, CW_V2_UNSUPPORTED_MESSAGE_TYPE, CW_SEV_WARNING, "MSH-9.1"); /* local message type */
    is = check("MSH|^~\\&|S|F|R|F|20240101||ADT^A01|1|P|3.0\rEVN|A01|2024\rPID|1||1||D\rPV1|1|I\r",
               0);
    EXPECT(is, CW_V2_UNSUPPORTED_VERSION, CW_SEV_ERROR, "MSH-12");
    /* 2.8 is checked with the 2.7.1 definitions, without a version issue */
    is = check("MSH|^~\\&|S|F|R|F|20240101||ADT^A01^ADT_A01|1|P|2.8\rEVN||20240101\r"
               "PID|1||1^^^H||D^J\rPV1|1|I\r",
               0);
    if (is.errors) dump(&is);
    assert_int_equal(is.errors, 0);
    /* the version can be forced */
    struct cw_hl7v2_msg *m = NULL;
    const char *t =
        "MSH|^~\\&|S|F|R|F|20240101||ADT^A01|1|P|3.0\rEVN|A01|2024\rPID|1||1||D\rPV1|1|I\r";
    assert_int_equal(cw_hl7v2_parse(A, cw_slice_cstr(t), NULL, &m, NULL), 0);
    struct cw_hl7v2_validate_opts o = {.version = CW_LIT("2.3")};
    assert_int_equal(cw_hl7v2_validate(A, m, &o, &is, NULL), 0);
    assert_int_equal(is.errors, 0);
    /* at most max_issues are kept, the rest counted */
    o = (struct cw_hl7v2_validate_opts){.max_issues = 2};
    const char *many = "MSH|^~\\&|S|F|R|F|x||ADT^A01^ADT_A01|1|P|2.5.1\rPID|x|x|||||x|x\r";
    assert_int_equal(cw_hl7v2_parse(A, cw_slice_cstr(many), NULL, &m, NULL), 0);
    assert_int_equal(cw_hl7v2_validate(A, m, &o, &is, NULL), 0);
    assert_int_equal(is.n, 2);
    assert_true(is.dropped > 0);
}

static void dictionary(void **state)
{
    (void)state;
    assert_string_equal(cw_hl7v2_field_desc(CW_LIT("2.5.1"), CW_LIT("PID"), 5), "Patient Name");
    assert_string_equal(cw_hl7v2_field_desc(CW_SLICE_NULL, CW_LIT("MSH"), 9), "Message Type");
    assert_non_null(cw_hl7v2_field_desc(CW_LIT("2.8"), CW_LIT("PRT"), 1));
    assert_null(cw_hl7v2_field_desc(CW_LIT("2.5.1"), CW_LIT("PID"), 99));
    assert_null(cw_hl7v2_field_desc(CW_LIT("2.5.1"), CW_LIT("ZZZ"), 1));
    struct cw_hl7v2_dict_stats st;
    cw_hl7v2_dict_stats(&st);
    printf("dictionary: %u versions, %u segments, %u field rows, %u data types, %u structures, "
           "%u nodes, %u tables, %u values, %zu bytes\n",
           st.versions, st.segments, st.fields, st.datatypes, st.structures, st.nodes, st.tables,
           st.table_values, st.bytes);
    assert_int_equal(st.versions, 10);
    assert_true(st.segments > 1000 && st.structures > 2000 && st.tables > 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_messages),     cmocka_unit_test(repeating_groups),
        cmocka_unit_test(segment_order),      cmocka_unit_test(fields_and_types),
        cmocka_unit_test(tables_and_lengths), cmocka_unit_test(types_and_versions),
        cmocka_unit_test(dictionary),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
