/*
 * test_fhir_validate.c — one test per validator rule (src/fhir/fhir_validate.h):
 * each feeds a resource that breaks the rule (and, where it matters, one
 * that keeps it) and asserts the issue's severity, code and location.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "fhir/fhir_validate.h"

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

static struct cw_fhir_vresult run(const char *json, const struct cw_fhir_vopts *o)
{
    struct cw_json *res;
    struct cw_err err;
    struct cw_json_opts jo = {.flags = CW_JSON_STRICT};
    if (cw_json_parse(A, json, strlen(json), &jo, &res, &err) != 0)
        fail_msg("bad test JSON: %s", err.msg);
    struct cw_fhir_vresult r;
    assert_int_equal(cw_fhir_validate(A, res, o, &r, &err), 0);
    return r;
}

/* The first issue at exactly location loc, or NULL. */
static const struct cw_fhir_vissue *at(const struct cw_fhir_vresult *r, const char *loc)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->issues[i].location, loc) == 0) return &r->issues[i];
    return NULL;
}

static void dump(const struct cw_fhir_vresult *r)
{
    for (size_t i = 0; i < r->n; i++)
        fprintf(stderr, "  %s %s %s: %s\n", cw_severity_code(r->issues[i].severity),
                cw_issue_code(r->issues[i].code), r->issues[i].location, r->issues[i].message);
}

static void expect(const struct cw_fhir_vresult *r, const char *loc, enum cw_severity sev,
                   enum cw_issue code)
{
    const struct cw_fhir_vissue *is = at(r, loc);
    if (!is || is->severity != sev || is->code != code) {
        dump(r);
        fail_msg("expected %s/%s at %s", cw_severity_code(sev), cw_issue_code(code), loc);
    }
}

static void expect_no_errors(const struct cw_fhir_vresult *r)
{
    if (r->n_error + r->n_fatal) {
        dump(r);
        fail_msg("expected no errors, got %zu", r->n_error + r->n_fatal);
    }
}

#define NARR                                                                                       \
    "\"text\":{\"status\":\"generated\",\"div\":\"<div "                                           \
    "xmlns=\\\"http://www.w3.org/1999/xhtml\\\">x</div>\"}"

static void test_valid_patient(void **s)
{
    (void)s;
    struct cw_fhir_vresult r = run("{\"resourceType\":\"Patient\",\"id\":\"p1\"," NARR
                                   ",\"gender\":\"female\",\"birthDate\":\"1970-01-01\","
                                   "\"name\":[{\"family\":\"Doe\",\"given\":[\"A\",\"B\"]}]}",
                                   NULL);
    assert_int_equal(r.n, 0);
    struct cw_json *oo = cw_fhir_validate_outcome(A, &r);
    assert_non_null(oo);
    assert_slice_equal(
        cw_json_text(cw_json_get(cw_json_at(cw_json_get(oo, "issue"), 0), "severity")),
        "information");
}

static void test_unknown_element(void **s)
{
    (void)s;
    struct cw_fhir_vresult r =
        run("{\"resourceType\":\"Patient\"," NARR ",\"colour\":\"red\"}", NULL);
    expect(&r, "Patient.colour", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
    /* the _x form of an element that is not primitive, and an unknown member in _x */
    r = run("{\"resourceType\":\"Patient\"," NARR ",\"_birthDate\":{\"foo\":1}}", NULL);
    expect(&r, "Patient.birthDate.foo", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
}

static void test_cardinality(void **s)
{
    (void)s;
    /* min: Observation.status and code are 1..1 */
    struct cw_fhir_vresult r =
        run("{\"resourceType\":\"Observation\"," NARR ",\"code\":{\"text\":\"t\"}}", NULL);
    expect(&r, "Observation.status", CW_SEV_ERROR, CW_ISSUE_REQUIRED);
    assert_null(at(&r, "Observation.code"));
    /* max: two choices of value[x] (0..1) */
    r = run("{\"resourceType\":\"Observation\"," NARR
            ",\"status\":\"final\",\"code\":{\"text\":\"t\"},"
            "\"valueString\":\"a\",\"valueBoolean\":true}",
            NULL);
    expect(&r, "Observation.value", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
    /* an array where one value is expected */
    r = run("{\"resourceType\":\"Patient\"," NARR ",\"gender\":[\"male\"]}", NULL);
    expect(&r, "Patient.gender", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
}

static void test_primitives(void **s)
{
    (void)s;
    struct cw_fhir_vresult r =
        run("{\"resourceType\":\"Patient\",\"id\":\"a b\"," NARR ",\"birthDate\":\"1970-02-30\","
            "\"active\":\"true\",\"name\":[{\"given\":[\"x\",\"\"]}],\"multipleBirthInteger\":1.5}",
            NULL);
    expect(&r, "Patient.id", CW_SEV_ERROR, CW_ISSUE_VALUE);
    expect(&r, "Patient.birthDate", CW_SEV_ERROR, CW_ISSUE_VALUE);
    expect(&r, "Patient.active", CW_SEV_ERROR, CW_ISSUE_VALUE);
    expect(&r, "Patient.name[0].given[1]", CW_SEV_ERROR, CW_ISSUE_VALUE);
    expect(&r, "Patient.multipleBirth.ofType(integer)", CW_SEV_ERROR, CW_ISSUE_VALUE);
    /* primitive extensions: the _x object with an id and an extension is fine */
    r = run("{\"resourceType\":\"Patient\"," NARR ",\"_birthDate\":{\"id\":\"b1\",\"extension\":"
            "[{\"url\":\"http://example.org/x\",\"valueString\":\"v\"}]}}",
            NULL);
    expect_no_errors(&r);
    /* ... but an _x with only an id breaks ele-1 */
    r = run("{\"resourceType\":\"Patient\"," NARR ",\"_birthDate\":{\"id\":\"b1\"}}", NULL);
    expect(&r, "Patient.birthDate", CW_SEV_ERROR, CW_ISSUE_INVARIANT);
}

static void test_bindings(void **s)
{
    (void)s;
    /* required (code): error */
    struct cw_fhir_vresult r =
        run("{\"resourceType\":\"Patient\"," NARR ",\"gender\":\"mail\"}", NULL);
    expect(&r, "Patient.gender", CW_SEV_ERROR, CW_ISSUE_CODE_INVALID);
    /* required (CodeableConcept with a known system): error; unknown system: no issue */
    r = run("{\"resourceType\":\"AllergyIntolerance\"," NARR
            ",\"patient\":{\"reference\":\"Patient/1\"},"
            "\"clinicalStatus\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
            "allergyintolerance-clinical\",\"code\":\"bogus\"}]}}",
            NULL);
    expect(&r, "AllergyIntolerance.clinicalStatus", CW_SEV_ERROR, CW_ISSUE_CODE_INVALID);
    /* extensible: warning */
    r = run("{\"resourceType\":\"Patient\"," NARR
            ",\"identifier\":[{\"type\":{\"coding\":[{\"system\":"
            "\"http://terminology.hl7.org/CodeSystem/v2-0203\",\"code\":\"ZZZ\"}]}}]}",
            NULL);
    expect(&r, "Patient.identifier[0].type", CW_SEV_WARNING, CW_ISSUE_CODE_INVALID);
    /* a code unknown in a complete code system we hold */
    expect(&r, "Patient.identifier[0].type.coding[0]", CW_SEV_ERROR, CW_ISSUE_CODE_INVALID);
    /* no terminology flag turns them off */
    struct cw_fhir_vopts o = {.flags = CW_FHIR_VALIDATE_NO_TERMINOLOGY};
    r = run("{\"resourceType\":\"Patient\"," NARR ",\"gender\":\"mail\"}", &o);
    expect_no_errors(&r);
}

static void test_invariants(void **s)
{
    (void)s;
    /* resource invariant pat-1, ele-1, datatype invariant per-1 */
    struct cw_fhir_vresult r =
        run("{\"resourceType\":\"Patient\"," NARR ",\"contact\":[{\"gender\":\"male\"}],"
            "\"address\":[{\"period\":{\"start\":\"2020-01-02\",\"end\":\"2020-01-01\"}}],"
            "\"communication\":[{}]}",
            NULL);
    expect(&r, "Patient.contact[0]", CW_SEV_ERROR, CW_ISSUE_INVARIANT);
    expect(&r, "Patient.address[0].period", CW_SEV_ERROR, CW_ISSUE_INVARIANT);
    expect(&r, "Patient.communication[0]", CW_SEV_ERROR, CW_ISSUE_INVARIANT);
    /* dom-3: a contained resource nobody references (native fast path falls
       back to FHIRPath); referenced through a uri-typed element it is fine */
    r = run("{\"resourceType\":\"Patient\"," NARR
            ",\"contained\":[{\"resourceType\":\"Organization\","
            "\"id\":\"o\",\"name\":\"x\"}]}",
            NULL);
    expect(&r, "Patient", CW_SEV_ERROR, CW_ISSUE_INVARIANT);
    assert_string_equal(at(&r, "Patient")->rule, "dom-3");
    r = run("{\"resourceType\":\"Patient\"," NARR
            ",\"contained\":[{\"resourceType\":\"Organization\","
            "\"id\":\"o\",\"name\":\"x\"}],\"extension\":[{\"url\":\"http://example.org/e\","
            "\"valueUri\":\"#o\"}]}",
            NULL);
    expect_no_errors(&r);
    /* ... or linked from the narrative (as the HL7 Java validator counts it) */
    r = run("{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":\"<div xmlns="
            "\\\"http://www.w3.org/1999/xhtml\\\"><a href=\\\"#o\\\">org</a></div>\"},"
            "\"contained\":[{\"resourceType\":\"Organization\",\"id\":\"o\",\"name\":\"x\"}]}",
            NULL);
    expect_no_errors(&r);
    /* dom-6 (warning) on a resource without narrative */
    r = run("{\"resourceType\":\"Patient\"}", NULL);
    expect(&r, "Patient", CW_SEV_WARNING, CW_ISSUE_INVARIANT);
    assert_string_equal(at(&r, "Patient")->rule, "dom-6");
    /* NO_INVARIANTS skips FHIRPath invariants */
    struct cw_fhir_vopts o = {.flags = CW_FHIR_VALIDATE_NO_INVARIANTS};
    r = run("{\"resourceType\":\"Patient\"}", &o);
    assert_int_equal(r.n, 0);
    /* every core invariant compiles */
    assert_int_equal(cw_fhir_validate_warm(NULL, NULL), 0);
}

static void test_references(void **s)
{
    (void)s;
    struct cw_fhir_vresult r = run(
        "{\"resourceType\":\"Observation\"," NARR ",\"status\":\"final\",\"code\":{\"text\":\"t\"},"
        "\"subject\":{\"reference\":\"Medication/1\"},\"performer\":[{\"reference\":\"#nope\"}],"
        "\"device\":{\"reference\":\"Device/1\",\"type\":\"Patient\"}}",
        NULL);
    expect(&r, "Observation.subject.reference", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
    expect(&r, "Observation.performer[0].reference", CW_SEV_ERROR, CW_ISSUE_NOT_FOUND);
    expect(&r, "Observation.device.type", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
    /* contained target of the right type; absolute URL of an allowed type */
    r = run(
        "{\"resourceType\":\"Observation\"," NARR ",\"status\":\"final\",\"code\":{\"text\":\"t\"},"
        "\"contained\":[{\"resourceType\":\"Patient\",\"id\":\"p\"}],\"subject\":{\"reference\":\"#"
        "p\"},"
        "\"performer\":[{\"reference\":\"http://example.org/fhir/Practitioner/1/_history/2\"}]}",
        NULL);
    expect_no_errors(&r);
    /* contained resource of a type not allowed */
    r = run("{\"resourceType\":\"Observation\"," NARR
            ",\"status\":\"final\",\"code\":{\"text\":\"t\"},"
            "\"contained\":[{\"resourceType\":\"Medication\",\"id\":\"m\"}],\"subject\":{"
            "\"reference\":\"#m\"}}",
            NULL);
    expect(&r, "Observation.subject.reference", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
}

static void test_bundle_and_contained(void **s)
{
    (void)s;
    /* entries are validated as resources, with their own locations; urn:uuid
       references resolve to the entry's type */
    struct cw_fhir_vresult r =
        run("{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
            "{\"fullUrl\":\"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0\",\"resource\":{"
            "\"resourceType\":"
            "\"Medication\"," NARR "}},"
            "{\"fullUrl\":\"urn:uuid:1c3151bd-1cbf-4d64-b04d-cd9187a4c6e0\",\"resource\":{"
            "\"resourceType\":"
            "\"Observation\"," NARR ",\"status\":\"bogus\",\"code\":{\"text\":\"t\"},"
            "\"subject\":{\"reference\":\"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0\"}}}]}",
            NULL);
    expect(&r, "Bundle.entry[1].resource.status", CW_SEV_ERROR, CW_ISSUE_CODE_INVALID);
    expect(&r, "Bundle.entry[1].resource.subject.reference", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
    /* a relative reference resolves to the entry whose fullUrl ends with it:
       the entry holds another type */
    r = run(
        "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
        "{\"fullUrl\":\"http://example.org/fhir/Practitioner/7\",\"resource\":{\"resourceType\":"
        "\"Organization\",\"id\":\"7\"," NARR "}},"
        "{\"fullUrl\":\"http://example.org/fhir/Patient/"
        "1\",\"resource\":{\"resourceType\":\"Patient\","
        "\"id\":\"1\"," NARR ",\"generalPractitioner\":[{\"reference\":\"Practitioner/7\"}]}}]}",
        NULL);
    expect(&r, "Bundle.entry[1].resource.generalPractitioner[0].reference", CW_SEV_ERROR,
           CW_ISSUE_STRUCTURE);
    /* Bundle.entry.fullUrl must be absolute */
    r = run("{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{\"fullUrl\":"
            "\"Patient/1\","
            "\"resource\":{\"resourceType\":\"Patient\",\"id\":\"1\"," NARR "}}]}",
            NULL);
    expect(&r, "Bundle.entry[0].fullUrl", CW_SEV_ERROR, CW_ISSUE_VALUE);
    /* a contained resource is validated too */
    r = run("{\"resourceType\":\"Patient\"," NARR
            ",\"contained\":[{\"resourceType\":\"Organization\","
            "\"id\":\"o\",\"bogus\":1}],\"managingOrganization\":{\"reference\":\"#o\"}}",
            NULL);
    expect(&r, "Patient.contained[0].bogus", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
    /* not a resource at all */
    r = run("{\"resourceType\":\"NoSuchThing\"}", NULL);
    assert_int_equal(r.n_fatal, 1);
}

static void test_profiles(void **s)
{
    (void)s;
    /* core profile vitalsigns: pattern on category (slice VSCat), required
       subject and effective[x], must-support information */
    cw_slice vs = CW_LIT("http://hl7.org/fhir/StructureDefinition/vitalsigns");
    struct cw_fhir_vopts o = {.profiles = &vs, .n_profiles = 1};
    struct cw_fhir_vresult r =
        run("{\"resourceType\":\"Observation\"," NARR ",\"status\":\"final\","
            "\"code\":{\"text\":\"t\"},\"valueString\":\"x\"}",
            &o);
    expect(&r, "Observation.subject", CW_SEV_ERROR, CW_ISSUE_REQUIRED);
    expect(&r, "Observation.category", CW_SEV_ERROR, CW_ISSUE_REQUIRED);
    expect(&r, "Observation.dataAbsentReason", CW_SEV_INFORMATION, CW_ISSUE_INFORMATIONAL);
    /* the same through meta.profile */
    r = run("{\"resourceType\":\"Observation\"," NARR
            ",\"meta\":{\"profile\":[\"http://hl7.org/fhir/"
            "StructureDefinition/vitalsigns\"]},\"status\":\"final\",\"code\":{\"text\":\"t\"}}",
            NULL);
    expect(&r, "Observation.subject", CW_SEV_ERROR, CW_ISSUE_REQUIRED);
    /* a conforming vital sign (heart rate) */
    r = run(
        "{\"resourceType\":\"Observation\"," NARR ",\"meta\":{\"profile\":[\"http://hl7.org/fhir/"
        "StructureDefinition/"
        "heartrate\"]},\"status\":\"final\",\"category\":[{\"coding\":[{\"system\":"
        "\"http://terminology.hl7.org/CodeSystem/"
        "observation-category\",\"code\":\"vital-signs\"}]}],"
        "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8867-4\"}]},"
        "\"subject\":{\"reference\":\"Patient/1\"},\"effectiveDateTime\":\"2020-01-01T10:00:00Z\","
        "\"valueQuantity\":{\"value\":60,\"unit\":\"/min\",\"system\":\"http://"
        "unitsofmeasure.org\","
        "\"code\":\"/min\"}}",
        NULL);
    expect_no_errors(&r);
    /* fixed value: heartrate fixes valueQuantity.code to /min */
    r = run(
        "{\"resourceType\":\"Observation\"," NARR ",\"meta\":{\"profile\":[\"http://hl7.org/fhir/"
        "StructureDefinition/"
        "heartrate\"]},\"status\":\"final\",\"category\":[{\"coding\":[{\"system\":"
        "\"http://terminology.hl7.org/CodeSystem/"
        "observation-category\",\"code\":\"vital-signs\"}]}],"
        "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8867-4\"}]},"
        "\"subject\":{\"reference\":\"Patient/1\"},\"effectiveDateTime\":\"2020-01-01T10:00:00Z\","
        "\"valueQuantity\":{\"value\":60,\"unit\":\"/h\",\"system\":\"http://unitsofmeasure.org\","
        "\"code\":\"/h\"}}",
        NULL);
    expect(&r, "Observation.value.ofType(Quantity).code", CW_SEV_ERROR, CW_ISSUE_VALUE);
    /* an unknown profile URL named by the caller is an error */
    cw_slice bad = CW_LIT("http://example.org/StructureDefinition/none");
    struct cw_fhir_vopts o2 = {.profiles = &bad, .n_profiles = 1};
    r = run("{\"resourceType\":\"Patient\"," NARR "}", &o2);
    expect(&r, "Patient", CW_SEV_ERROR, CW_ISSUE_NOT_SUPPORTED);
}

/* A registry profile with closed slicing by pattern, and an extension definition. */
static const char *PROFILE =
    "{\"resourceType\":\"StructureDefinition\",\"url\":\"http://example.org/sd/p\",\"name\":\"P\","
    "\"status\":\"draft\",\"kind\":\"resource\",\"abstract\":false,\"type\":\"Patient\","
    "\"baseDefinition\":\"http://hl7.org/fhir/StructureDefinition/"
    "Patient\",\"derivation\":\"constraint\","
    "\"differential\":{\"element\":["
    "{\"id\":\"Patient.identifier\",\"path\":\"Patient.identifier\",\"min\":1,\"slicing\":{"
    "\"discriminator\":[{\"type\":\"pattern\",\"path\":\"system\"}],\"rules\":\"closed\"}},"
    "{\"id\":\"Patient.identifier:mrn\",\"path\":\"Patient.identifier\",\"sliceName\":\"mrn\","
    "\"min\":1,\"max\":\"1\"},"
    "{\"id\":\"Patient.identifier:mrn.system\",\"path\":\"Patient.identifier.system\",\"min\":1,"
    "\"patternUri\":\"http://example.org/mrn\"},"
    "{\"id\":\"Patient.gender\",\"path\":\"Patient.gender\",\"min\":1,\"mustSupport\":true}]}}";

static void test_registry_profile_slicing(void **s)
{
    (void)s;
    struct cw_fhir_registry *reg = cw_fhir_registry_new();
    struct cw_err err;
    assert_int_equal(cw_fhir_registry_add(reg, PROFILE, strlen(PROFILE), &err), 0);
    assert_int_equal(cw_fhir_registry_build(reg, NULL, NULL), 0);
    cw_slice url = CW_LIT("http://example.org/sd/p");
    struct cw_fhir_vopts o = {.registry = reg, .profiles = &url, .n_profiles = 1};
    /* good */
    struct cw_fhir_vresult r =
        run("{\"resourceType\":\"Patient\"," NARR ",\"gender\":\"male\","
            "\"identifier\":[{\"system\":\"http://example.org/mrn\",\"value\":\"1\"}]}",
            &o);
    expect_no_errors(&r);
    /* an identifier matching no slice of the closed slicing, and none in the mrn slice */
    r = run("{\"resourceType\":\"Patient\"," NARR ",\"gender\":\"male\","
            "\"identifier\":[{\"system\":\"http://example.org/other\",\"value\":\"1\"}]}",
            &o);
    expect(&r, "Patient.identifier[0]", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
    expect(&r, "Patient.identifier", CW_SEV_ERROR, CW_ISSUE_REQUIRED);
    /* two in a 1..1 slice; gender missing (min 1 in the profile) */
    r = run("{\"resourceType\":\"Patient\"," NARR
            ",\"identifier\":[{\"system\":\"http://example.org/mrn\","
            "\"value\":\"1\"},{\"system\":\"http://example.org/mrn\",\"value\":\"2\"}]}",
            &o);
    expect(&r, "Patient.identifier", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
    expect(&r, "Patient.gender", CW_SEV_ERROR, CW_ISSUE_REQUIRED);
    cw_fhir_registry_free(reg);
}

/* A profile stating rules through element extensions (fhir_validate_ctrl.c). */
static const char CTRL_PROFILE[] =
    "{\"resourceType\":\"StructureDefinition\",\"url\":\"http://example.org/sd/ctrl\","
    "\"name\":\"Ctrl\",\"status\":\"draft\",\"kind\":\"resource\",\"abstract\":false,"
    "\"type\":\"Patient\",\"derivation\":\"constraint\","
    "\"baseDefinition\":\"http://hl7.org/fhir/StructureDefinition/Patient\","
    "\"differential\":{\"element\":["
    "{\"id\":\"Patient.text\",\"path\":\"Patient.text\",\"extension\":[{\"url\":"
    "\"http://hl7.org/fhir/StructureDefinition/narrative-language-control\",\"valueCode\":"
    "\"_resource\"}]},"
    "{\"id\":\"Patient.id\",\"path\":\"Patient.id\",\"extension\":[{\"url\":"
    "\"http://hl7.org/fhir/StructureDefinition/minLength\",\"valueInteger\":5}]},"
    "{\"id\":\"Patient.active\",\"path\":\"Patient.active\",\"extension\":[{\"url\":"
    "\"http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.mustHaveValue\","
    "\"valueBoolean\":true}]}]}}";

static void test_profile_element_extensions(void **s)
{
    (void)s;
    struct cw_fhir_registry *reg = cw_fhir_registry_new();
    struct cw_err err;
    assert_int_equal(cw_fhir_registry_add(reg, CTRL_PROFILE, strlen(CTRL_PROFILE), &err), 0);
    assert_int_equal(cw_fhir_registry_build(reg, NULL, NULL), 0);
    cw_slice url = CW_LIT("http://example.org/sd/ctrl");
    struct cw_fhir_vopts o = {.registry = reg, .profiles = &url, .n_profiles = 1};
#define LANG_DIV(l)                                                                                \
    "\"text\":{\"status\":\"generated\",\"div\":\"<div "                                           \
    "xmlns=\\\"http://www.w3.org/1999/xhtml\\\">"                                                  \
    "<div lang=\\\"" l "\\\" xml:lang=\\\"" l "\\\">x</div></div>\"}"
    struct cw_fhir_vresult r = run("{\"resourceType\":\"Patient\",\"id\":\"abcdef\","
                                   "\"language\":\"en\"," LANG_DIV("en") ",\"active\":true}",
                                   &o);
    expect_no_errors(&r);
    /* no section for Resource.language; id shorter than 5; active without a value */
    r = run("{\"resourceType\":\"Patient\",\"id\":\"ab\",\"language\":\"en\"," LANG_DIV(
                "de") ",\"_active\":{\"extension\":[{\"url\":\"http://example.org/x\","
                      "\"valueString\":\"y\"}]}}",
            &o);
#undef LANG_DIV
    expect(&r, "Patient.text", CW_SEV_ERROR, CW_ISSUE_BUSINESS_RULE);
    expect(&r, "Patient.id", CW_SEV_ERROR, CW_ISSUE_VALUE);
    expect(&r, "Patient.active", CW_SEV_ERROR, CW_ISSUE_REQUIRED);
    cw_fhir_registry_free(reg);
}

/* StructureDefinition rules (fhir_validate_sd.c): the differential must
   generate a snapshot; no slicing on the root. */
static void test_structure_definition_rules(void **s)
{
    (void)s;
#define SD_HEAD                                                                                    \
    "{\"resourceType\":\"StructureDefinition\"," NARR ",\"url\":\"http://example.org/sd/x\","      \
    "\"name\":\"X\",\"status\":\"draft\",\"kind\":\"resource\",\"abstract\":false,"                \
    "\"type\":\"Observation\",\"derivation\":\"constraint\","                                      \
    "\"baseDefinition\":\"http://hl7.org/fhir/StructureDefinition/Observation\","
    struct cw_fhir_vresult r =
        run(SD_HEAD "\"differential\":{\"element\":[{\"id\":\"Observation.status\","
                    "\"path\":\"Observation.status\",\"min\":1}]}}",
            NULL);
    expect_no_errors(&r);
    /* a choice named by a type it does not have */
    r = run(SD_HEAD "\"differential\":{\"element\":[{\"id\":\"Observation.valueQuantity\","
                    "\"path\":\"Observation.valueBla\"}]}}",
            NULL);
    expect(&r, "StructureDefinition", CW_SEV_ERROR, CW_ISSUE_INVALID);
    /* slicing on the root */
    r = run(SD_HEAD "\"differential\":{\"element\":[{\"id\":\"Observation\",\"path\":"
                    "\"Observation\",\"slicing\":{\"discriminator\":[{\"type\":\"value\","
                    "\"path\":\"url\"}],\"rules\":\"open\"}}]}}",
            NULL);
#undef SD_HEAD
    expect(&r, "StructureDefinition.differential.element[0]", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
    expect(&r, "StructureDefinition", CW_SEV_ERROR, CW_ISSUE_INVALID);
}

static void test_extension_definitions(void **s)
{
    (void)s;
    /* a core extension definition known by URL: patient-birthPlace takes an Address */
    struct cw_fhir_vresult r =
        run("{\"resourceType\":\"Patient\"," NARR ",\"extension\":[{\"url\":\"http://hl7.org/fhir/"
            "StructureDefinition/patient-birthPlace\",\"valueBoolean\":true}]}",
            NULL);
    expect(&r, "Patient.extension[0].valueBoolean", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
    assert_int_equal(r.n_error, 1); /* not also "value[x] missing" */
    /* without any value: the definition's value[x] 1..1 */
    r = run("{\"resourceType\":\"Patient\"," NARR ",\"extension\":[{\"url\":\"http://hl7.org/fhir/"
            "StructureDefinition/"
            "patient-birthPlace\",\"extension\":[{\"url\":\"x\",\"valueString\":\"y\"}]}]}",
            NULL);
    expect(&r, "Patient.extension[0].value", CW_SEV_ERROR, CW_ISSUE_REQUIRED);
    r = run("{\"resourceType\":\"Patient\"," NARR ",\"extension\":[{\"url\":\"http://hl7.org/fhir/"
            "StructureDefinition/patient-birthPlace\",\"valueAddress\":{\"city\":\"X\"}}]}",
            NULL);
    expect_no_errors(&r);
    /* a top-level extension url must be absolute; a complex extension's parts may be local */
    r = run("{\"resourceType\":\"Patient\"," NARR
            ",\"extension\":[{\"url\":\"local\",\"valueBoolean\":true},"
            "{\"url\":\"http://example.org/"
            "c\",\"extension\":[{\"url\":\"part\",\"valueString\":\"b\"}]}]}",
            NULL);
    expect(&r, "Patient.extension[0].url", CW_SEV_ERROR, CW_ISSUE_VALUE);
    assert_int_equal(r.n_error, 1);
    /* ext-1: both value and nested extensions */
    r = run("{\"resourceType\":\"Patient\"," NARR
            ",\"extension\":[{\"url\":\"http://example.org/e\","
            "\"valueBoolean\":true,\"extension\":[{\"url\":\"a\",\"valueString\":\"b\"}]}]}",
            NULL);
    expect(&r, "Patient.extension[0]", CW_SEV_ERROR, CW_ISSUE_INVARIANT);
}

/* Extension contexts, unknown-extension and example-URL policies. */
static void test_extension_rules(void **s)
{
    (void)s;
    /* patient-birthPlace: context Patient; on Organization it is misplaced */
    struct cw_fhir_vresult r =
        run("{\"resourceType\":\"Organization\"," NARR
            ",\"extension\":[{\"url\":\"http://hl7.org/fhir/StructureDefinition/"
            "patient-birthPlace\",\"valueAddress\":{\"city\":\"X\"}}]}",
            NULL);
    expect(&r, "Organization.extension[0]", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
    /* unknown extensions: nothing by default, an error under the Java policy,
       except in an allowed domain and for example URLs */
    const char *unk = "{\"resourceType\":\"Patient\"," NARR
                      ",\"extension\":[{\"url\":\"http://other.org/ext/a\",\"valueBoolean\":true},"
                      "{\"url\":\"http://example.org/ext/b\",\"valueBoolean\":true}]}";
    r = run(unk, NULL);
    expect_no_errors(&r);
    struct cw_fhir_vopts o = {.flags = CW_FHIR_VALIDATE_KNOWN_EXTENSIONS};
    r = run(unk, &o);
    expect(&r, "Patient.extension[0]", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
    assert_int_equal(r.n_error, 1);
    cw_slice dom = CW_LIT("http://other.org/");
    o.extension_domains = &dom;
    o.n_extension_domains = 1;
    r = run(unk, &o);
    expect_no_errors(&r);
    o.flags |= CW_FHIR_VALIDATE_NO_EXAMPLE_URLS;
    r = run(unk, &o);
    expect(&r, "Patient.extension[1]", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
    expect(&r, "Patient.extension[1].url", CW_SEV_ERROR, CW_ISSUE_VALUE);
    /* an extension without url, and one with a version */
    r = run("{\"resourceType\":\"Patient\"," NARR
            ",\"extension\":[{\"valueBoolean\":true},{\"url\":\"http://hl7.org/fhir/"
            "StructureDefinition/patient-birthPlace|4.0.1\",\"valueAddress\":{\"city\":\"X\"}}]}",
            NULL);
    expect(&r, "Patient.extension[0]", CW_SEV_ERROR, CW_ISSUE_REQUIRED);
    expect(&r, "Patient.extension[1]", CW_SEV_ERROR, CW_ISSUE_VALUE);
}

/* Bundle identity, links and document integrity. */
static void test_bundle_rules(void **s)
{
    (void)s;
    /* a RESTful fullUrl must name the resource's type and id */
    struct cw_fhir_vresult r = run(
        "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
        "{\"fullUrl\":\"http://x.org/fhir/Patient/a\",\"resource\":{\"resourceType\":\"Patient\","
        "\"id\":\"b\"," NARR "}},"
        "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"c\"," NARR "}}],"
        "\"link\":[{\"relation\":\"self\",\"url\":\"http://x.org/1\"},"
        "{\"relation\":\"self\",\"url\":\"http://x.org/2\"}]}",
        NULL);
    expect(&r, "Bundle.entry[0].fullUrl", CW_SEV_ERROR, CW_ISSUE_VALUE);
    expect(&r, "Bundle.entry[1]", CW_SEV_ERROR, CW_ISSUE_REQUIRED);
    expect(&r, "Bundle.link[1]", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
    assert_int_equal(r.n_error, 3);
    /* a document: the Composition's references resolve inside it (relative to
       its RESTful base), and every entry is linked to it */
#define DOC(AUTHOR)                                                                                \
    "{\"resourceType\":\"Bundle\",\"type\":\"document\",\"timestamp\":\"2020-01-01T00:00:00Z\","   \
    "\"identifier\":{\"system\":\"urn:ietf:rfc:3986\",\"value\":\"urn:uuid:1\"},\"entry\":["       \
    "{\"fullUrl\":\"http://x.org/fhir/Composition/c\",\"resource\":{\"resourceType\":"             \
    "\"Composition\",\"id\":\"c\"," NARR ",\"status\":\"final\",\"type\":{\"text\":\"t\"},"        \
    "\"date\":\"2020\",\"title\":\"t\",\"subject\":{\"reference\":\"Patient/p\"},"                 \
    "\"author\":[{\"reference\":\"Practitioner/" AUTHOR "\"}]}},"                                  \
    "{\"fullUrl\":\"http://x.org/fhir/Patient/p\",\"resource\":{\"resourceType\":\"Patient\","     \
    "\"id\":\"p\"," NARR "}},"                                                                     \
    "{\"fullUrl\":\"http://x.org/fhir/Practitioner/d\",\"resource\":{\"resourceType\":"            \
    "\"Practitioner\",\"id\":\"d\"," NARR "}}]}"
    r = run(DOC("d"), NULL);
    expect_no_errors(&r);
    r = run(DOC("zz"), NULL);
    expect(&r, "Bundle.entry[0].resource.author[0]", CW_SEV_ERROR, CW_ISSUE_NOT_FOUND);
    expect(&r, "Bundle.entry[2]", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
    assert_int_equal(r.n_error, 2);
}

static const char QUESTIONNAIRE[] =
    "{\"resourceType\":\"Questionnaire\",\"url\":\"http://x.org/Questionnaire/q\","
    "\"status\":\"active\",\"item\":[{\"linkId\":\"a\",\"type\":\"boolean\",\"required\":true},"
    "{\"linkId\":\"b\",\"type\":\"string\",\"required\":true,\"enableWhen\":[{\"question\":\"a\","
    "\"operator\":\"=\",\"answerBoolean\":true}]}]}";

static const struct cw_json *fetch_q(void *ctx, cw_slice url)
{
    const struct cw_json *q = ctx;
    return cw_slice_eq_cstr(url, "http://x.org/Questionnaire/q") ? q : NULL;
}

/* QuestionnaireResponse against its Questionnaire; Questionnaire enableWhen. */
static void test_questionnaire_rules(void **s)
{
    (void)s;
    struct cw_json *q;
    struct cw_err err;
    assert_int_equal(cw_json_parse(A, QUESTIONNAIRE, strlen(QUESTIONNAIRE), NULL, &q, &err), 0);
    struct cw_fhir_vopts o = {.fetch = fetch_q, .fetch_ctx = q};
#define QR(A_VALUE, MORE)                                                                          \
    "{\"resourceType\":\"QuestionnaireResponse\"," NARR                                            \
    ",\"questionnaire\":\"http://x.org/Questionnaire/q\",\"status\":\"completed\","                \
    "\"item\":[{\"linkId\":\"a\",\"answer\":[{\"valueBoolean\":" A_VALUE "}]}" MORE "]}"
    /* enabled and answered */
    struct cw_fhir_vresult r =
        run(QR("true", ",{\"linkId\":\"b\",\"answer\":[{\"valueString\":\"x\"}]}"), &o);
    expect_no_errors(&r);
    /* not enabled, yet answered */
    r = run(QR("false", ",{\"linkId\":\"b\",\"answer\":[{\"valueString\":\"x\"}]}"), &o);
    expect(&r, "QuestionnaireResponse.item[1]", CW_SEV_ERROR, CW_ISSUE_BUSINESS_RULE);
    /* enabled, required, missing; and an unknown linkId */
    r = run(QR("true", ",{\"linkId\":\"zz\"}"), &o);
    expect(&r, "QuestionnaireResponse", CW_SEV_ERROR, CW_ISSUE_REQUIRED);
    expect(&r, "QuestionnaireResponse.item[1]", CW_SEV_ERROR, CW_ISSUE_STRUCTURE);
    /* without fetch the response is not checked against it */
    r = run(QR("true", ",{\"linkId\":\"zz\"}"), NULL);
    expect_no_errors(&r);
    /* an enableWhen on an item nested in the item itself */
    r = run("{\"resourceType\":\"Questionnaire\"," NARR ",\"status\":\"active\",\"item\":[{"
            "\"linkId\":\"g\",\"type\":\"group\",\"enableWhen\":[{\"question\":\"g1\","
            "\"operator\":\"exists\",\"answerBoolean\":true}],\"item\":[{\"linkId\":\"g1\","
            "\"type\":\"boolean\"}]}]}",
            NULL);
    expect(&r, "Questionnaire.item[0]", CW_SEV_ERROR, CW_ISSUE_BUSINESS_RULE);
}

/* Narrative, attachment and code system rules. */
static void test_misc_rules(void **s)
{
    (void)s;
    /* txt-2: a narrative without text */
    struct cw_fhir_vresult r =
        run("{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":\"<div "
            "xmlns=\\\"http://www.w3.org/1999/xhtml\\\"><p> </p></div>\"}}",
            NULL);
    expect(&r, "Patient.text.div", CW_SEV_ERROR, CW_ISSUE_INVARIANT);
    assert_int_equal(r.n_error, 1);
    /* links: urn: is no hyperlink; #anchors must exist */
    r = run("{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":\"<div "
            "xmlns=\\\"http://www.w3.org/1999/xhtml\\\"><a href=\\\"urn:uuid:1\\\">x</a><a "
            "href=\\\"#here\\\">y</a><a name=\\\"here\\\">z</a><a href=\\\"#gone\\\">w</a>"
            "</div>\"}}",
            NULL);
    assert_int_equal(r.n_error, 2);
    /* Attachment.size against data ("aGVsbG8=" is 5 bytes) */
    r = run("{\"resourceType\":\"Media\"," NARR ",\"status\":\"completed\",\"content\":{"
            "\"data\":\"aGVsbG8=\",\"size\":6}}",
            NULL);
    expect(&r, "Media.content.size", CW_SEV_ERROR, CW_ISSUE_VALUE);
    /* Coding.system: absolute, and a code system rather than a value set */
    r = run("{\"resourceType\":\"Observation\"," NARR ",\"status\":\"final\",\"code\":{\"coding\":["
            "{\"system\":\"loinc\",\"code\":\"1\"},{\"system\":\"http://hl7.org/fhir/ValueSet/"
            "observation-codes\",\"code\":\"1\"}]}}",
            NULL);
    expect(&r, "Observation.code.coding[0].system", CW_SEV_ERROR, CW_ISSUE_VALUE);
    expect(&r, "Observation.code.coding[1].system", CW_SEV_ERROR, CW_ISSUE_CODE_INVALID);
    /* per-1: a date against a dateTime of the same day cannot be ordered */
    r = run("{\"resourceType\":\"Encounter\"," NARR ",\"status\":\"finished\",\"class\":{"
            "\"code\":\"AMB\"},\"period\":{\"start\":\"2023-06-21\",\"end\":"
            "\"2023-06-21T06:20:00Z\"}}",
            NULL);
    expect(&r, "Encounter.period", CW_SEV_ERROR, CW_ISSUE_INVARIANT);
}

static void test_limits_and_privacy(void **s)
{
    (void)s;
    /* issue limit: listed issues stop at max_issues (+1 note), counts go on */
    struct cw_buf b;
    cw_buf_init(&b, 1 << 20);
    cw_buf_puts(&b, "{\"resourceType\":\"Patient\"," NARR ",\"name\":[");
    /* each empty given is two errors: an empty string, and no value (ele-1) */
    for (int i = 0; i < 45; i++) cw_buf_printf(&b, "%s{\"given\":[\"\"]}", i ? "," : "");
    cw_buf_puts(&b, "]}");
    struct cw_fhir_vopts o = {.max_issues = 10};
    struct cw_fhir_vresult r = run(cw_buf_cstr(&b), &o);
    assert_true(r.truncated);
    assert_int_equal(r.n, 11);
    assert_int_equal(r.n_error, 90);
    /* depth limit */
    cw_buf_reset(&b);
    cw_buf_puts(&b, "{\"resourceType\":\"Questionnaire\"," NARR ",\"status\":\"draft\"");
    for (int i = 0; i < 40; i++) cw_buf_puts(&b, ",\"item\":[{\"linkId\":\"a\",\"type\":\"group\"");
    for (int i = 0; i < 40; i++) cw_buf_puts(&b, "}]");
    cw_buf_puts(&b, "}");
    struct cw_fhir_vopts o2 = {.max_depth = 20};
    r = run(cw_buf_cstr(&b), &o2);
    bool costly = false;
    for (size_t i = 0; i < r.n; i++) costly |= r.issues[i].code == CW_ISSUE_TOO_COSTLY;
    assert_true(costly);
    cw_buf_release(&b);
    /* no data values in messages or locations */
    r = run("{\"resourceType\":\"Patient\"," NARR ",\"gender\":\"SECRETVALUE\",\"birthDate\":"
            "\"SECRETDATE\",\"name\":[{\"family\":\"\"}],\"telecom\":[{\"system\":\"SECRETSYS\"}]}",
            NULL);
    assert_true(r.n_error >= 3);
    for (size_t i = 0; i < r.n; i++) {
        assert_null(strstr(r.issues[i].message, "SECRET"));
        assert_null(strstr(r.issues[i].location, "SECRET"));
    }
}

static void *thread_main(void *arg)
{
    (void)arg;
    const char *json = "{\"resourceType\":\"Patient\",\"contact\":[{\"gender\":\"male\"}]}";
    for (int i = 0; i < 50; i++) {
        struct cw_arena *a = cw_arena_new(0);
        struct cw_json *res;
        struct cw_err err;
        if (cw_json_parse(a, json, strlen(json), NULL, &res, &err) != 0) return (void *)1;
        struct cw_fhir_vresult r;
        if (cw_fhir_validate(a, res, NULL, &r, &err) != 0 || r.n_error != 1) return (void *)1;
        cw_arena_destroy(a);
    }
    return NULL;
}

static void test_threads(void **s)
{
    (void)s;
    pthread_t t[4];
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, thread_main, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_patient),
        cmocka_unit_test(test_unknown_element),
        cmocka_unit_test(test_cardinality),
        cmocka_unit_test(test_primitives),
        cmocka_unit_test(test_bindings),
        cmocka_unit_test(test_invariants),
        cmocka_unit_test(test_references),
        cmocka_unit_test(test_bundle_and_contained),
        cmocka_unit_test(test_profiles),
        cmocka_unit_test(test_registry_profile_slicing),
        cmocka_unit_test(test_profile_element_extensions),
        cmocka_unit_test(test_structure_definition_rules),
        cmocka_unit_test(test_extension_definitions),
        cmocka_unit_test(test_extension_rules),
        cmocka_unit_test(test_bundle_rules),
        cmocka_unit_test(test_questionnaire_rules),
        cmocka_unit_test(test_misc_rules),
        cmocka_unit_test(test_limits_and_privacy),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
