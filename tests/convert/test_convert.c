/*
 * test_convert.c — HL7 v2 -> FHIR mapping engine on small fixtures we wrote.
 *
 * Deterministic ids (same message twice, A01 then A08, corrected ORU), the
 * A40 merge, every OBX value type, each message map, the unmapped report,
 * errors with v2 codes, and that every bundle re-parses and has no dangling
 * reference.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "convert/convert.h"
#include "fhir/fhir_validate.h"

struct conv {
    struct cw_arena *a;
    struct cw_hl7v2_msg *m;
    struct cw_convert_result r;
    int rc;
    struct cw_err err;
    char *json;
};

/* Fixtures are written with \n between segments for readability. */
static struct conv run_opts(const char *text, const struct cw_convert_opts *o)
{
    struct conv c;
    memset(&c, 0, sizeof c);
    c.a = cw_arena_new(0);
    assert_non_null(c.a);
    struct cw_err e;
    assert_int_equal(cw_hl7v2_parse(c.a, cw_slice_cstr(text), NULL, &c.m, &e), 0);
    c.rc = cw_convert_v2(c.a, c.m, o, &c.r, &c.err);
    if (c.rc == 0) {
        struct cw_buf b;
        cw_buf_init(&b, 0);
        assert_int_equal(cw_json_write(&b, c.r.bundle, 0), 0);
        c.json = cw_arena_strndup(c.a, b.ptr, b.len);
        cw_buf_release(&b);
        /* the bundle JSON re-parses */
        struct cw_json *back;
        assert_int_equal(cw_json_parse(c.a, c.json, strlen(c.json), NULL, &back, &e), 0);
        assert_true(cw_json_equal(back, c.r.bundle));
    }
    return c;
}

static struct conv run(const char *text)
{
    return run_opts(text, NULL);
}

static void done(struct conv *c)
{
    cw_arena_destroy(c->a);
}

/* The n-th (0-based) resource of a type, or NULL. */
static const struct cw_json *res(const struct conv *c, const char *type, size_t n)
{
    const struct cw_json *e = cw_json_get(c->r.bundle, "entry");
    for (size_t i = 0; i < (e ? e->len : 0); i++) {
        const struct cw_json *r = cw_json_get(cw_json_at(e, i), "resource");
        if (cw_slice_eq_cstr(cw_json_text(cw_json_get(r, "resourceType")), type) && n-- == 0) return r;
    }
    return NULL;
}

static size_t count(const struct conv *c, const char *type)
{
    size_t n = 0;
    while (res(c, type, n)) n++;
    return n;
}

/* Value at a dotted path; "[i]" indexes arrays: "valueQuantity.value", "name[0].family". */
static const struct cw_json *at(const struct cw_json *v, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = buf;
    while (v && save && *save) {
        char *dot = strchr(save, '.');
        if (dot) *dot = 0;
        char *br = strchr(save, '[');
        size_t idx = 0;
        if (br) {
            *br = 0;
            idx = (size_t)(br[1] - '0');
        }
        v = cw_json_get(v, save);
        if (br) v = cw_json_at(v, idx);
        save = dot ? dot + 1 : NULL;
    }
    return v;
}

static cw_slice txt(const struct cw_json *v, const char *path)
{
    return cw_json_text(at(v, path));
}

static cw_slice id_of(const struct cw_json *r)
{
    return cw_json_text(cw_json_get(r, "id"));
}

/* Every "reference" in the bundle names an entry of the bundle. */
static void check_refs(const struct cw_json *v, const struct conv *c)
{
    if (!v) return;
    if (v->type == CW_JSON_ARRAY)
        for (uint32_t i = 0; i < v->len; i++) check_refs(&v->u.items[i], c);
    if (v->type != CW_JSON_OBJECT) return;
    for (uint32_t i = 0; i < v->len; i++) {
        const struct cw_json_member *m = &v->u.members[i];
        if (cw_slice_eq_cstr(m->key, "reference") && m->value.type == CW_JSON_STRING) {
            cw_slice r = cw_json_text(&m->value);
            long slash = cw_slice_index(r, '/');
            assert_true(slash > 0);
            char type[64];
            snprintf(type, sizeof type, "%.*s", (int)slash, r.ptr);
            cw_slice id = cw_slice_sub(r, (size_t)slash + 1, r.len);
            bool found = false;
            for (size_t n = 0; !found; n++) {
                const struct cw_json *x = res(c, type, n);
                if (!x) break;
                found = cw_slice_eq(id_of(x), id);
            }
            if (!found) fail_msg("dangling reference %.*s", (int)r.len, r.ptr);
        } else
            check_refs(&m->value, c);
    }
}

static bool report_has(const struct conv *c, enum cw_convert_item_kind k, const char *loc)
{
    for (uint32_t i = 0; i < c->r.report.n; i++)
        if (c->r.report.items[i].kind == k && strcmp(c->r.report.items[i].err.location, loc) == 0) return true;
    return false;
}

#define ADT_A01                                                                                    \
    "MSH|^~\\&|ADT|GOODHOSP^1.2.3.4^ISO|EHR|X|20240301120000+0100||ADT^A01^ADT_A01|CTRL1|P|2.5.1\n" \
    "EVN|A01|20240301120000+0100\n"                                                                \
    "PID|1||MRN7^^^GOODHOSP^MR~999-99-9999^^^SSA^SS||Smith^Anna^B^^Dr||19700215|F|||"              \
    "12 Oak Rd^Apt 3^Metropolis^NY^10001^USA^H||^PRN^PH^^1^212^5550100|||M\n"                     \
    "PD1|||Good Clinic^^^^^^^^^GC1\n"                                                              \
    "NK1|1|Smith^Bob|SPO^Spouse^HL70063|||\n"                                                      \
    "PV1|1|I|ICU^12^A^GOODHOSP||||1234^Welby^Marcus^^^Dr|||MED|||||||||VN55^^^GOODHOSP^VN|||||||" \
    "||||||||||||||||||20240301110000+0100\n"                                                      \
    "AL1|1|DA|70618^Penicillin^RXNORM|SV|Hives\n"                                                  \
    "DG1|1||I10^Essential hypertension^I10C||20240301|A\n"

static void test_adt_a01(void **state)
{
    (void)state;
    struct conv c = run(ADT_A01);
    assert_int_equal(c.rc, 0);
    const struct cw_json *p = res(&c, "Patient", 0);
    assert_non_null(p);
    assert_slice_equal(txt(p, "identifier[0].value"), "MRN7");
    assert_slice_equal(txt(p, "identifier[1].type.coding[0].code"), "SS");
    assert_slice_equal(txt(p, "identifier[1].assigner.display"), "SSA");
    assert_slice_equal(txt(p, "name[0].family"), "Smith");
    assert_slice_equal(txt(p, "name[0].given[1]"), "B");
    assert_slice_equal(txt(p, "birthDate"), "1970-02-15");
    assert_slice_equal(txt(p, "gender"), "female");
    assert_slice_equal(txt(p, "address[0].use"), "home");
    assert_slice_equal(txt(p, "address[0].line[1]"), "Apt 3");
    assert_slice_equal(txt(p, "telecom[0].use"), "home");
    assert_slice_equal(txt(p, "maritalStatus.coding[0].code"), "M");
    assert_non_null(at(p, "generalPractitioner[0].reference"));
    const struct cw_json *e = res(&c, "Encounter", 0);
    assert_slice_equal(txt(e, "status"), "in-progress");
    assert_slice_equal(txt(e, "class.code"), "IMP");
    assert_slice_equal(txt(e, "identifier[0].value"), "VN55");
    assert_slice_equal(txt(e, "period.start"), "2024-03-01T11:00:00+01:00");
    assert_slice_equal(txt(e, "participant[0].type[0].coding[0].code"), "ATND");
    char ref[80];
    snprintf(ref, sizeof ref, "Patient/%.*s", (int)id_of(p).len, id_of(p).ptr);
    assert_slice_equal(txt(e, "subject.reference"), ref);
    assert_int_equal(count(&c, "RelatedPerson"), 1);
    assert_int_equal(count(&c, "AllergyIntolerance"), 1);
    assert_slice_equal(txt(res(&c, "AllergyIntolerance", 0), "criticality"), "high");
    assert_slice_equal(txt(res(&c, "Condition", 0), "code.coding[0].system"), "http://hl7.org/fhir/sid/icd-10-cm");
    assert_int_equal(count(&c, "Practitioner"), 1);
    assert_int_equal(count(&c, "MessageHeader"), 1);
    const struct cw_json *pv = res(&c, "Provenance", 0);
    assert_slice_equal(txt(pv, "recorded"), "2024-03-01T12:00:00+01:00");
    assert_slice_equal(txt(pv, "entity[0].what.identifier.value"), "CTRL1");
    assert_slice_equal(txt(pv, "target[3].extension[0].valueString"), "PID[1]");
    /* every entry is a PUT to its own id */
    const struct cw_json *en = cw_json_at(cw_json_get(c.r.bundle, "entry"), 2);
    assert_slice_equal(txt(en, "request.method"), "PUT");
    check_refs(c.r.bundle, &c);
    done(&c);
}

static void test_deterministic_ids(void **state)
{
    (void)state;
    struct conv a = run(ADT_A01), b = run(ADT_A01);
    assert_string_equal(a.json, b.json);
    done(&a);
    done(&b);
}

/* A08 with a changed name and a new control id updates the same resources. */
static void test_a08_same_ids(void **state)
{
    (void)state;
    struct conv a = run(ADT_A01);
    struct conv b = run(
        "MSH|^~\\&|ADT|GOODHOSP^1.2.3.4^ISO|EHR|X|20240302090000+0100||ADT^A08^ADT_A01|CTRL2|P|2.5.1\n"
        "EVN|A08|20240302090000+0100\n"
        "PID|1||MRN7^^^GOODHOSP^MR||Smith-Jones^Anna||19700215|F\n"
        "PV1|1|I|ICU^12^A^GOODHOSP||||||||||||||||VN55^^^GOODHOSP^VN\n");
    assert_int_equal(b.rc, 0);
    assert_true(cw_slice_eq(id_of(res(&a, "Patient", 0)), id_of(res(&b, "Patient", 0))));
    assert_true(cw_slice_eq(id_of(res(&a, "Encounter", 0)), id_of(res(&b, "Encounter", 0))));
    assert_slice_equal(txt(res(&b, "Patient", 0), "name[0].family"), "Smith-Jones");
    /* a different message: its own MessageHeader and Provenance */
    assert_false(cw_slice_eq(id_of(res(&a, "Provenance", 0)), id_of(res(&b, "Provenance", 0))));
    /* the same patient number from another authority is another patient */
    struct conv d = run("MSH|^~\\&|ADT|OTHER|EHR|X|20240302||ADT^A08|C3|P|2.5.1\n"
                        "PID|1||MRN7^^^OTHERHOSP^MR||Smith^Anna\n");
    assert_false(cw_slice_eq(id_of(res(&a, "Patient", 0)), id_of(res(&d, "Patient", 0))));
    done(&a);
    done(&b);
    done(&d);
}

#define ORU_HEAD                                                                                   \
    "MSH|^~\\&|LAB|ACME^2.16.840.1.113883.19.4.6^ISO|EHR|HOSP|20240102030405-0500||ORU^R01^ORU_R01|" \
    "%s|P|2.5.1\n"                                                                                 \
    "PID|1||12345^^^HOSP^MR||Doe^Jane||19800101|F\n"                                               \
    "ORC|RE|PL1^EHR|FL1^LAB\n"                                                                     \
    "OBR|1|PL1^EHR|FL1^LAB|24323-8^CMP^LN|||202401020300-0500||||||||||||||||||%s\n"

static struct conv oru(const char *ctrl, const char *status, const char *obx)
{
    char buf[8192];
    int n = snprintf(buf, sizeof buf, ORU_HEAD, ctrl, status);
    snprintf(buf + n, sizeof buf - (size_t)n, "%s", obx);
    return run(buf);
}

static void test_corrected_oru(void **state)
{
    (void)state;
    struct conv a = oru("M1", "P", "OBX|1|NM|2345-7^Glucose^LN||95|mg/dL^^UCUM|70-99|N|||P\n"
                                   "OBX|2|NM|2951-2^Sodium^LN||140|mmol/L^^UCUM|||||P\n");
    struct conv b = oru("M2", "C", "OBX|1|NM|2345-7^Glucose^LN||96|mg/dL^^UCUM|70-99|N|||C\n"
                                   "OBX|2|NM|2951-2^Sodium^LN||140|mmol/L^^UCUM|||||F\n");
    assert_int_equal(a.rc, 0);
    assert_int_equal(b.rc, 0);
    assert_int_equal(count(&a, "Observation"), 2);
    for (size_t i = 0; i < 2; i++)
        assert_true(cw_slice_eq(id_of(res(&a, "Observation", i)), id_of(res(&b, "Observation", i))));
    assert_true(cw_slice_eq(id_of(res(&a, "DiagnosticReport", 0)), id_of(res(&b, "DiagnosticReport", 0))));
    assert_true(cw_slice_eq(id_of(res(&a, "ServiceRequest", 0)), id_of(res(&b, "ServiceRequest", 0))));
    assert_slice_equal(txt(res(&b, "Observation", 0), "status"), "corrected");
    assert_slice_equal(txt(res(&b, "Observation", 0), "valueQuantity.value"), "96");
    assert_slice_equal(txt(res(&b, "DiagnosticReport", 0), "status"), "corrected");
    /* the report lists both results; ORC and OBR made one ServiceRequest */
    assert_non_null(at(res(&a, "DiagnosticReport", 0), "result[1]"));
    assert_int_equal(count(&a, "ServiceRequest"), 1);
    assert_int_equal(cw_json_get(res(&a, "ServiceRequest", 0), "identifier")->len, 2);
    /* the same code twice in one order: two Observations, distinct ids */
    struct conv d = oru("M3", "F", "OBX|1|NM|2345-7^Glucose^LN||95||||||F\n"
                                   "OBX|2|NM|2345-7^Glucose^LN||97||||||F\n");
    assert_int_equal(count(&d, "Observation"), 2);
    assert_false(cw_slice_eq(id_of(res(&d, "Observation", 0)), id_of(res(&d, "Observation", 1))));
    check_refs(d.r.bundle, &d);
    done(&a);
    done(&b);
    done(&d);
}

static void test_obx_value_types(void **state)
{
    (void)state;
    struct conv c = oru(
        "VT", "F",
        "OBX|1|NM|1^nm^LN||+007.50|mg^^UCUM|||||F\n"
        "OBX|2|ST|2^st^LN||some text||||||F\n"
        "OBX|3|TX|3^tx^LN||line one~line two||||||F\n"
        "OBX|4|FT|4^ft^LN||first\\.br\\second||||||F\n"
        "OBX|5|CE|5^ce^LN||260385009^Negative^SCT||||||F\n"
        "OBX|6|CWE|6^cwe^LN||LA6576-8^Positive^LN^POS^Pos^L|||||F\n"
        "OBX|7|CNE|7^cne^LN||Y^Yes^HL70136||||||F\n"
        "OBX|8|SN|8^sn^LN||>=^10|mg^^UCUM|||||F\n"
        "OBX|9|SN|9^sn^LN||^1^-^5|mg^^UCUM|||||F\n"
        "OBX|10|SN|10^sn^LN||^1^:^128||||||F\n"
        "OBX|11|DT|11^dt^LN||20240105||||||F\n"
        "OBX|12|TM|12^tm^LN||1430||||||F\n"
        "OBX|13|TS|13^ts^LN||20240105143000+0000||||||F\n"
        "OBX|14|DTM|14^dtm^LN||202401051430-0600||||||F\n"
        "OBX|15|ED|15^ed^LN||LAB^AP^PDF^Base64^SGVsbG8=||||||F\n"
        "OBX|16|RP|16^rp^LN||http://x.example/doc.pdf^^AP^PDF||||||F\n"
        "OBX|17|NA|17^na^LN||1^2.5^-3||||||F\n"
        "OBX|18|SN|18^sn^LN||<>^5||||||F\n");
    assert_int_equal(c.rc, 0);
    const struct cw_json *o;
    o = res(&c, "Observation", 0);
    assert_slice_equal(txt(o, "valueQuantity.value"), "7.50");
    assert_slice_equal(txt(o, "valueQuantity.system"), "http://unitsofmeasure.org");
    assert_slice_equal(txt(res(&c, "Observation", 1), "valueString"), "some text");
    assert_slice_equal(txt(res(&c, "Observation", 2), "valueString"), "line one\nline two");
    assert_slice_equal(txt(res(&c, "Observation", 3), "valueString"), "first\nsecond");
    assert_slice_equal(txt(res(&c, "Observation", 4), "valueCodeableConcept.coding[0].system"),
                       "http://snomed.info/sct");
    o = res(&c, "Observation", 5);
    assert_slice_equal(txt(o, "valueCodeableConcept.coding[0].code"), "LA6576-8");
    assert_slice_equal(txt(o, "valueCodeableConcept.coding[1].code"), "POS");
    assert_slice_equal(txt(res(&c, "Observation", 6), "valueCodeableConcept.coding[0].system"),
                       "http://terminology.hl7.org/CodeSystem/v2-0136");
    o = res(&c, "Observation", 7);
    assert_slice_equal(txt(o, "valueQuantity.comparator"), ">=");
    assert_slice_equal(txt(o, "valueQuantity.value"), "10");
    o = res(&c, "Observation", 8);
    assert_slice_equal(txt(o, "valueRange.low.value"), "1");
    assert_slice_equal(txt(o, "valueRange.high.value"), "5");
    o = res(&c, "Observation", 9);
    assert_slice_equal(txt(o, "valueRatio.denominator.value"), "128");
    assert_slice_equal(txt(res(&c, "Observation", 10), "valueDateTime"), "2024-01-05");
    assert_slice_equal(txt(res(&c, "Observation", 11), "valueTime"), "14:30:00");
    assert_slice_equal(txt(res(&c, "Observation", 12), "valueDateTime"), "2024-01-05T14:30:00+00:00");
    assert_slice_equal(txt(res(&c, "Observation", 13), "valueDateTime"), "2024-01-05T14:30:00-06:00");
    o = res(&c, "Observation", 14);
    assert_slice_equal(txt(o, "extension[0].valueAttachment.contentType"), "application/pdf");
    assert_slice_equal(txt(o, "extension[0].valueAttachment.data"), "SGVsbG8=");
    o = res(&c, "Observation", 15);
    assert_slice_equal(txt(o, "extension[0].valueAttachment.url"), "http://x.example/doc.pdf");
    assert_slice_equal(txt(res(&c, "Observation", 16), "valueSampledData.data"), "1 2.5 -3");
    assert_slice_equal(txt(res(&c, "Observation", 17), "valueString"), "<> 5");
    assert_int_equal(c.r.report.invalid, 0);
    done(&c);
}

static void test_a40_merge(void **state)
{
    (void)state;
    struct conv c = run("MSH|^~\\&|ADT|GOODHOSP|EHR|X|20240401||ADT^A40^ADT_A39|M40|P|2.5.1\n"
                        "EVN|A40|20240401\n"
                        "PID|1||KEEP1^^^GOODHOSP^MR||Smith^Anna\n"
                        "MRG|OLD9^^^GOODHOSP^MR\n");
    assert_int_equal(c.rc, 0);
    assert_int_equal(count(&c, "Patient"), 2);
    const struct cw_json *keep = res(&c, "Patient", 0), *old = res(&c, "Patient", 1);
    assert_slice_equal(txt(keep, "identifier[0].value"), "KEEP1");
    assert_slice_equal(txt(old, "identifier[0].value"), "OLD9");
    assert_true(cw_json_is(cw_json_get(old, "active"), CW_JSON_FALSE));
    assert_slice_equal(txt(old, "link[0].type"), "replaced-by");
    assert_slice_equal(txt(keep, "link[0].type"), "replaces");
    char ref[80];
    snprintf(ref, sizeof ref, "Patient/%.*s", (int)id_of(old).len, id_of(old).ptr);
    assert_slice_equal(txt(keep, "link[0].other.reference"), ref);
    /* the old patient's id is the one an earlier message about OLD9 made */
    struct conv e = run("MSH|^~\\&|ADT|GOODHOSP|EHR|X|20240301||ADT^A04|M04|P|2.5.1\n"
                        "PID|1||OLD9^^^GOODHOSP^MR||Smith^Ann\n");
    assert_true(cw_slice_eq(id_of(old), id_of(res(&e, "Patient", 0))));
    check_refs(c.r.bundle, &c);
    done(&c);
    done(&e);
}

static void test_messages(void **state)
{
    (void)state;
    static const struct {
        const char *msg, *type;
        size_t n;
    } cases[] = {
        {"MSH|^~\\&|A|F|||20240101||VXU^V04|1|P|2.5.1\nPID|1||P1^^^F^MR||Doe^J\n"
         "ORC|RE||IZ1^F\nRXA|0|1|20240101||08^HepB^CVX|0.5|mL^^UCUM||00^New^NIP001||||||L1||MSD^Merck^MVX|||CP\n"
         "RXR|IM^Intramuscular^HL70162|LA^Left arm^HL70163\n",
         "Immunization", 1},
        {"MSH|^~\\&|A|F|||20240101||RDE^O11|2|P|2.5.1\nPID|1||P1^^^F^MR\nORC|NW|RX1^F\n"
         "RXE|^^^20240101|313782^Acetaminophen 325 MG^RXNORM|1||TAB^tablet^HL70292|||||20|TAB|2\n"
         "RXR|PO^Oral^HL70162\n",
         "MedicationRequest", 1},
        {"MSH|^~\\&|A|F|||20240101||RAS^O17|3|P|2.5.1\nPID|1||P1^^^F^MR\nORC|RE|RX1^F\n"
         "RXA|0|1|20240101|20240101|313782^Acetaminophen^RXNORM|1|TAB||||||||||||CP\n",
         "MedicationAdministration", 1},
        {"MSH|^~\\&|A|F|||20240101||SIU^S12|4|P|2.5.1\n"
         "SCH|A1^F|A1^F|||||R^Routine^HL70276|NORMAL|30|MIN|^^^20240105090000+0000^20240105093000+0000"
         "||||||||||||||Booked\nPID|1||P1^^^F^MR\nRGS|1\nAIS|1||99213^Visit^C4|20240105090000+0000\n"
         "AIL|1||ROOM1^^^CLINIC\nAIP|1||D1^House^Greg\n",
         "Appointment", 1},
        {"MSH|^~\\&|A|F|||20240101||MDM^T02|5|P|2.5.1\nEVN|T02|20240101\nPID|1||P1^^^F^MR\n"
         "TXA|1|DS^Discharge summary^HL70270|TX|20240101||||||||DOC77^F||||||AU||AV\n"
         "OBX|1|TX|||Patient discharged in good condition.\n",
         "DocumentReference", 1},
        {"MSH|^~\\&|A|F|||20240101||DFT^P03|6|P|2.5.1\nEVN|P03|20240101\nPID|1||P1^^^F^MR\n"
         "FT1|1|T100||20240101|20240101|CG|99213^Visit^C4|||1\n",
         "ChargeItem", 1},
        {"MSH|^~\\&|A|F|||20240101||ORM^O01|7|P|2.3\nPID|1||P1^^^F^MR\nORC|NW|ORD1^F\n"
         "OBR|1|ORD1^F||80053^CMP^C4\nTQ1|1||||||20240102|20240103|S\n",
         "ServiceRequest", 1},
        {"MSH|^~\\&|A|F|||20240101||OML^O21|8|P|2.5.1\nPID|1||P1^^^F^MR\nORC|NW|ORD2^F\n"
         "OBR|1|ORD2^F||80053^CMP^C4\nSPM|1|SP1&F||BLD^Blood^HL70487\n",
         "Specimen", 2}, /* OBR[Specimen] and SPM[Specimen] (OML_O21 map) */
        {"MSH|^~\\&|A|F|||20240101||ADT^A28|9|P|2.5.1\nPID|1||P9^^^F^MR\nIN1|1|PLAN1^Gold|INS1|Acme Insurance"
         "||||GRP7\nGT1|1|G1|Doe^John\n",
         "Coverage", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct conv c = run(cases[i].msg);
        if (c.rc != 0) fail_msg("case %zu: %s", i, c.err.msg);
        if (count(&c, cases[i].type) != cases[i].n)
            fail_msg("case %zu: %zu %s", i, count(&c, cases[i].type), cases[i].type);
        check_refs(c.r.bundle, &c);
        assert_int_equal(c.r.report.unsupported, 0);
        done(&c);
    }
    struct conv c = run(cases[0].msg);
    const struct cw_json *im = res(&c, "Immunization", 0);
    assert_slice_equal(txt(im, "vaccineCode.coding[0].system"), "http://hl7.org/fhir/sid/cvx");
    assert_slice_equal(txt(im, "doseQuantity.value"), "0.5");
    assert_slice_equal(txt(im, "doseQuantity.unit"), "mL");
    assert_slice_equal(txt(im, "status"), "completed");
    assert_slice_equal(txt(im, "route.coding[0].code"), "IM");
    assert_non_null(at(im, "manufacturer.reference"));
    done(&c);
    c = run(cases[3].msg);
    const struct cw_json *ap = res(&c, "Appointment", 0);
    assert_slice_equal(txt(ap, "status"), "booked");
    assert_slice_equal(txt(ap, "start"), "2024-01-05T09:00:00+00:00");
    assert_non_null(at(ap, "participant[2].actor.reference"));
    done(&c);
    c = run(cases[4].msg);
    assert_slice_equal(txt(res(&c, "DocumentReference", 0), "content[0].attachment.contentType"),
                       "text/plain; charset=utf-8");
    assert_slice_equal(txt(res(&c, "DocumentReference", 0), "masterIdentifier.value"), "DOC77");
    done(&c);
}

static void test_report(void **state)
{
    (void)state;
    struct conv c = run("MSH|^~\\&|A|F|||20240101||ADT^A01|R1|P|2.5.1\n"
                        "PID|1||P1^^^F^MR||Doe^Jane||1980130X|F|||||||||||||||||||||||||||||||||SECRET\n"
                        "PV1|1|I\n"
                        "ZPI|1|SECRETZ\n"
                        "OBX|1|NM|1^x^LN||12\n"
                        "NTE|1||note\n"
                        "AL1|1|DA|X^y^ZZLOCAL\n");
    assert_int_equal(c.rc, 0);
    assert_true(report_has(&c, CW_CONVERT_UNMAPPED_SEGMENT, "ZPI"));
    assert_true(report_has(&c, CW_CONVERT_INVALID_VALUE, "PID-7"));
    assert_true(report_has(&c, CW_CONVERT_UNMAPPED_FIELD, "PID-41"));
    assert_true(report_has(&c, CW_CONVERT_UNMAPPED_COMPONENT, "AL1-3.3"));
    assert_false(cw_convert_report_full(&c.r.report));
    struct cw_buf b;
    cw_buf_init(&b, 0);
    assert_int_equal(cw_convert_report_write(&c.r.report, &b), 0);
    const char *t = cw_buf_cstr(&b);
    /* locations, never values */
    assert_null(strstr(t, "SECRET"));
    assert_null(strstr(t, "1980130X"));
    assert_non_null(strstr(t, "ZPI\tsegment"));
    cw_buf_release(&b);
    /* the NTE after OBX went to the Observation, not to the report */
    assert_slice_equal(txt(res(&c, "Observation", 0), "note[0].text"), "note");
    done(&c);

    /* a clean message converts fully */
    struct conv f = run("MSH|^~\\&|A|F|||20240101||ADT^A04|R2|P|2.5.1\nPID|1||P1^^^F^MR||Doe^Jane||19800101|F\n"
                        "PV1|1|O\n");
    assert_int_equal(f.rc, 0);
    if (!cw_convert_report_full(&f.r.report)) fail_msg("%s", f.r.report.items[0].err.location);
    done(&f);
}

static void test_errors(void **state)
{
    (void)state;
    struct conv c = run("MSH|^~\\&|A|F|||20240101||ADT^A01|E1|P|2.5.1\nEVN|A01\nPV1|1|I\n");
    assert_int_equal(c.rc, -1);
    assert_int_equal(c.err.v2_code, CW_V2_SEGMENT_SEQUENCE);
    assert_string_equal(c.err.location, "PID");
    done(&c);
    c = run("MSH|^~\\&|A|F|||20240101|||E2|P|2.5.1\nPID|1||P1\n");
    assert_int_equal(c.rc, -1);
    assert_int_equal(c.err.v2_code, CW_V2_REQUIRED_MISSING);
    assert_string_equal(c.err.location, "MSH-9");
    done(&c);
    struct cw_convert_opts strict = {.flags = CW_CONVERT_STRICT_TYPE};
    c = run_opts("MSH|^~\\&|A|F|||20240101||ZZZ^Z01|E3|P|2.5.1\nPID|1||P1\n", &strict);
    assert_int_equal(c.rc, -1);
    assert_int_equal(c.err.v2_code, CW_V2_UNSUPPORTED_MESSAGE_TYPE);
    done(&c);
    c = run_opts("MSH|^~\\&|A|F|||20240101||ADT^A99|E4|P|2.5.1\nPID|1||P1\n", &strict);
    assert_int_equal(c.rc, -1);
    assert_int_equal(c.err.v2_code, CW_V2_UNSUPPORTED_EVENT);
    done(&c);
    /* lenient: defaults are used and the report says so */
    c = run("MSH|^~\\&|A|F|||20240101||ZZZ^Z01|E5|P|2.5.1\nPID|1||P1\n");
    assert_int_equal(c.rc, 0);
    assert_int_equal(c.r.report.unsupported, 1);
    assert_int_equal(count(&c, "Patient"), 1);
    done(&c);
    /* the resource limit is an error, not a crash */
    struct cw_convert_opts small = {.max_resources = 3};
    c = run_opts(ADT_A01, &small);
    assert_int_equal(c.rc, -1);
    assert_int_equal(c.err.issue, CW_ISSUE_TOO_COSTLY);
    done(&c);
}

static void test_message_list(void **state)
{
    (void)state;
    const char *want[] = {"ADT^A01", "ADT^A08", "ADT^A13", "ADT^A28", "ADT^A31", "ADT^A40", "ORU^R01",
                          "ORM^O01", "OML^O21", "VXU^V04", "RDE^O11", "RAS^O17", "SIU^S12", "SIU^S15",
                          "MDM^T02", "DFT^P03"};
    size_t n = cw_convert_message_count();
    assert_true(n >= 24);
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        bool found = false;
        for (size_t i = 0; i < n && !found; i++) found = strcmp(cw_convert_message_at(i), want[w]) == 0;
        if (!found) fail_msg("no map for %s", want[w]);
    }
}

/*
 * What FHIR requires and a message may not give: a complex extension keeps
 * its sub-extension url (nationality); required codes the message left
 * empty carry data-absent-reason. (Two maps filling one choice element —
 * OBR-7/8 and SPM-17 on one Specimen — is exercised by the corpus through
 * it_mllp, where every such message must now be stored.)
 */
static void test_required_shapes(void **state)
{
    (void)state;
    struct conv c = run("MSH|^~\\&|LAB|HOSP|X|Y|20240301120000||ORU^R01^ORU_R01|SHAPES|P|2.5.1\n"
                        "PID|1||M1^^^HOSP^MR||Doe^Jo|||||||||||||||||||||||BTN^Bhutan^ISO3166_1\n"
                        "ORC|RE|P1^HOSP|F1^LAB\n"
                        "OBR|1|P1^HOSP|F1^LAB||||20240301080000\n"
                        "OBX|1|NM|||5|mg|||||F\n"
                        "SPM|1|S1||119297000^Blood^SCT|||||||||||||20240301070000^20240301071000\n");
    assert_int_equal(c.rc, 0);
    const struct cw_json *pat = res(&c, "Patient", 0);
    assert_non_null(pat);
    const struct cw_json *ext = cw_json_get(pat, "extension");
    bool nationality = false;
    for (size_t i = 0; ext && i < ext->len; i++) {
        const struct cw_json *e = cw_json_at(ext, i);
        assert_true(cw_json_text(cw_json_get(e, "url")).len > 0); /* every extension has its url */
        if (cw_slice_eq_cstr(cw_json_text(cw_json_get(e, "url")),
                             "http://hl7.org/fhir/StructureDefinition/patient-nationality")) {
            nationality = true;
            assert_true(cw_slice_eq_cstr(txt(e, "extension[0].url"), "code"));
            assert_true(cw_slice_eq_cstr(txt(e, "extension[0].valueCodeableConcept.coding[0].code"), "BTN"));
        }
    }
    assert_true(nationality);
    /* OBX without OBX-3: Observation.code says why it is absent */
    const struct cw_json *obs = res(&c, "Observation", 0);
    assert_non_null(obs);
    assert_true(cw_slice_eq_cstr(txt(obs, "code.extension[0].valueCode"), "unknown"));
    done(&c);
}

/* Errors (not warnings) of the core validator over every resource of the bundle. */
static size_t bundle_errors(const struct conv *c)
{
    size_t n = 0;
    const struct cw_json *e = cw_json_get(c->r.bundle, "entry");
    for (size_t i = 0; i < (e ? e->len : 0); i++) {
        struct cw_fhir_vresult vr;
        struct cw_err err;
        const struct cw_json *r = cw_json_get(cw_json_at(e, i), "resource");
        assert_int_equal(cw_fhir_validate(c->a, r, NULL, &vr, &err), 0);
        for (size_t k = 0; k < vr.n; k++)
            if (vr.issues[k].severity == CW_SEV_ERROR || vr.issues[k].severity == CW_SEV_FATAL)
                fprintf(stderr, "  %s: %s\n", vr.issues[k].location, vr.issues[k].message);
        n += vr.n_error + vr.n_fatal;
    }
    return n;
}

/*
 * What a feed sends that the FHIR definitions forbid: a local code under a
 * v2 table's name (kept without the system, reported), OBX-5 repeated
 * (obs-7: one component per repetition, no Observation.value), a unit
 * code without a known system (qty-3: unit text only), an ACK without a
 * trigger event (MessageHeader.event says why it is absent). The bundle
 * then validates without errors.
 */
static void test_valid_output(void **state)
{
    (void)state;
    struct conv c = run("MSH|^~\\&|LAB|HOSP|X|Y|20240301120000||ORU^R01^ORU_R01|VALID1|P|2.5.1\n"
                        "PID|1||M1^^^HOSP&1.2.3&ISO^ZZ||Doe^Jo\n"
                        "NK1|1|Doe^Bo|XYZ^Other^HL70063\n"
                        "ORC|RE|P1^HOSP|F1^LAB\n"
                        "OBR|1|P1^HOSP|F1^LAB|24331-1^Lipid panel^LN|||20240301080000\n"
                        "OBX|1|CWE|8867-4^Heart rate^LN||160~120||||||F\n"
                        "OBX|2|NM|2345-7^Glucose^LN||5|43^mg/hr^99LOC|||||F\n"
                        "OBX|3|NM|2160-0^Creatinine^LN||1.1|mg|||||F\n");
    assert_int_equal(c.rc, 0);
    const struct cw_json *pat = res(&c, "Patient", 0);
    assert_true(cw_slice_eq_cstr(txt(pat, "identifier[0].type.coding[0].code"), "ZZ"));
    assert_null(at(pat, "identifier[0].type.coding[0].system"));
    assert_true(report_has(&c, CW_CONVERT_INVALID_VALUE, "PID-3.5"));
    const struct cw_json *rp = res(&c, "RelatedPerson", 0);
    assert_true(cw_slice_eq_cstr(txt(rp, "relationship[0].coding[0].code"), "XYZ"));
    assert_null(at(rp, "relationship[0].coding[0].system"));
    const struct cw_json *hr = res(&c, "Observation", 0), *glu = res(&c, "Observation", 1),
                         *cr = res(&c, "Observation", 2);
    assert_null(cw_json_get(hr, "valueCodeableConcept"));
    assert_int_equal(cw_json_get(hr, "component")->len, 2);
    assert_true(cw_slice_eq_cstr(txt(hr, "component[0].valueCodeableConcept.coding[0].code"), "160"));
    assert_true(cw_slice_eq_cstr(txt(hr, "component[1].valueCodeableConcept.coding[0].code"), "120"));
    assert_true(cw_slice_eq_cstr(txt(hr, "component[1].code.coding[0].code"), "8867-4"));
    assert_true(cw_slice_eq_cstr(txt(glu, "valueQuantity.unit"), "mg/hr"));
    assert_null(at(glu, "valueQuantity.code"));
    assert_true(cw_slice_eq_cstr(txt(cr, "valueQuantity.system"), "http://unitsofmeasure.org"));
    assert_true(cw_slice_eq_cstr(txt(cr, "valueQuantity.code"), "mg"));
    assert_int_equal(bundle_errors(&c), 0);
    done(&c);

    /* ORC-4 placer group number: the requisition, and an identifier typed v2-0203 PGN (IG
       ORC[ServiceRequest]); PGN is a THO concept newer than R4's copy of the table
       (tools/fhir-packages.lock): without THO the bundle had an error */
    c = run("MSH|^~\\&|OE|HOSP|X|Y|20240301120000||ORM^O01^ORM_O01|VALID2|P|2.5.1\n"
            "PID|1||M1^^^HOSP^MR||Doe^Jo\n"
            "ORC|NW|P1^HOSP||G77^HOSP\n"
            "OBR|1|P1^HOSP||2345-7^Glucose^LN\n");
    assert_int_equal(c.rc, 0);
    const struct cw_json *sr = res(&c, "ServiceRequest", 0);
    assert_true(cw_slice_eq_cstr(txt(sr, "requisition.value"), "G77"));
    assert_true(cw_slice_eq_cstr(txt(sr, "identifier[1].value"), "G77"));
    assert_true(cw_slice_eq_cstr(txt(sr, "identifier[1].type.coding[0].code"), "PGN"));
    assert_true(cw_slice_eq_cstr(txt(sr, "identifier[1].type.coding[0].system"),
                                 "http://terminology.hl7.org/CodeSystem/v2-0203"));
    assert_int_equal(bundle_errors(&c), 0);
    done(&c);

    /* PID-26 citizenship and PID-39 tribal citizenship: patient-citizenship (IG PID[Patient]) */
    c = run("MSH|^~\\&|ADT|HOSP|X|Y|20240301120000||ADT^A04^ADT_A01|VALID3|P|2.5.1\n"
            "PID|1||M1^^^HOSP^MR||Doe^Jo|||||||||||||||||||||"
            "USA^United States^ISO3166_1|||||||||||||"
            "1234^Navajo^HL70171\n");
    assert_int_equal(c.rc, 0);
    pat = res(&c, "Patient", 0);
    assert_true(cw_slice_eq_cstr(txt(pat, "extension[0].url"),
                                 "http://hl7.org/fhir/StructureDefinition/patient-citizenship"));
    assert_true(cw_slice_eq_cstr(txt(pat, "extension[0].extension[0].valueCodeableConcept.coding[0].code"), "USA"));
    assert_true(cw_slice_eq_cstr(txt(pat, "extension[1].extension[0].valueCodeableConcept.coding[0].code"), "1234"));
    assert_false(report_has(&c, CW_CONVERT_UNMAPPED_FIELD, "PID-26"));
    assert_false(report_has(&c, CW_CONVERT_UNMAPPED_FIELD, "PID-39"));
    assert_int_equal(bundle_errors(&c), 0);
    done(&c);

    /* CX-2/CX-3 check digit extensions, XCN-10 name type (IG CX[Identifier], XCN[Practitioner]) */
    c = run("MSH|^~\\&|LAB|HOSP|X|Y|20240301120000||ORU^R01^ORU_R01|VALID4|P|2.5.1\n"
            "PID|1||M1^7^M10^HOSP^MR||Doe^Jo\n"
            "ORC|RE|P1^HOSP|F1^LAB|||||||||77^Grey^Meredith^^^^^^^L\n"
            "OBR|1|P1^HOSP|F1^LAB|2345-7^Glucose^LN\n");
    assert_int_equal(c.rc, 0);
    pat = res(&c, "Patient", 0);
    assert_true(cw_slice_eq_cstr(txt(pat, "identifier[0].extension[0].valueString"), "7"));
    assert_true(cw_slice_eq_cstr(txt(pat, "identifier[0].extension[1].url"),
                                 "http://hl7.org/fhir/StructureDefinition/namingsystem-checkDigit"));
    assert_true(cw_slice_eq_cstr(txt(pat, "identifier[0].extension[1].valueString"), "M10"));
    assert_false(report_has(&c, CW_CONVERT_UNMAPPED_COMPONENT, "PID-3.2"));
    const struct cw_json *doc = res(&c, "Practitioner", 0);
    assert_true(cw_slice_eq_cstr(txt(doc, "name[0].use"), "official"));
    assert_false(report_has(&c, CW_CONVERT_UNMAPPED_COMPONENT, "ORC-12.10"));
    assert_int_equal(bundle_errors(&c), 0);
    done(&c);

    /* RXA-11 is an LA2: a Location with the address of components 9-16 */
    c = run("MSH|^~\\&|IIS|CLINIC|X|Y|20240301120000||VXU^V04^VXU_V04|VALID6|P|2.5.1\n"
            "PID|1||M1^^^HOSP^MR||Doe^Jo\n"
            "ORC|RE||IZ1^CLINIC\n"
            "RXA|0|1|20240301|20240301|208^COVID-19^CVX|0.3|mL^mL^UCUM||00^New^NIP001||"
            "^^^Main Clinic^^^^^12 Elm St^Suite 4^Bayport^ME^04101^USA^^Cumberland\n");
    assert_int_equal(c.rc, 0);
    const struct cw_json *loc = res(&c, "Location", 0);
    assert_non_null(loc);
    assert_true(cw_slice_eq_cstr(txt(loc, "name"), "Main Clinic"));
    assert_true(cw_slice_eq_cstr(txt(loc, "address.line[0]"), "12 Elm St"));
    assert_true(cw_slice_eq_cstr(txt(loc, "address.line[1]"), "Suite 4"));
    assert_true(cw_slice_eq_cstr(txt(loc, "address.city"), "Bayport"));
    assert_true(cw_slice_eq_cstr(txt(loc, "address.postalCode"), "04101"));
    assert_true(cw_slice_eq_cstr(txt(loc, "address.district"), "Cumberland"));
    assert_true(cw_slice_starts_with(txt(res(&c, "Immunization", 0), "location.reference"), CW_LIT("Location/")));
    assert_false(report_has(&c, CW_CONVERT_UNMAPPED_COMPONENT, "RXA-11.9"));
    assert_int_equal(bundle_errors(&c), 0);
    done(&c);

    c = run("MSH|^~\\&|LAB|HOSP|X|Y|20240301120000||ACK^|VALID2|P|2.5.1\nMSA|AA|X1\n");
    assert_int_equal(c.rc, 0);
    const struct cw_json *mh = res(&c, "MessageHeader", 0);
    assert_true(cw_slice_eq_cstr(txt(mh, "eventCoding.extension[0].valueCode"), "unknown"));
    assert_int_equal(bundle_errors(&c), 0);
    done(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adt_a01),        cmocka_unit_test(test_deterministic_ids),
        cmocka_unit_test(test_a08_same_ids),   cmocka_unit_test(test_corrected_oru),
        cmocka_unit_test(test_obx_value_types), cmocka_unit_test(test_a40_merge),
        cmocka_unit_test(test_messages),       cmocka_unit_test(test_report),
        cmocka_unit_test(test_errors),         cmocka_unit_test(test_message_list),
        cmocka_unit_test(test_required_shapes), cmocka_unit_test(test_valid_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
