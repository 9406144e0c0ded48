/*
 * test_fhir_xml.c — FHIR R4 XML <-> JSON (src/fhir/fhir_xml.h).
 *
 * 1. Hand-written pairs (JSON, XML) that must convert exactly both ways,
 *    one or more per rule of xml.html / json.html: value attributes,
 *    booleans and exact numbers, "_name" with id/extensions (arrays with
 *    nulls on both sides), Element.id and Extension.url attributes, the
 *    narrative div, contained / Bundle.entry.resource / response.outcome /
 *    Parameters resources, choice types, escaping, definition order.
 * 2. Errors with FHIRPath locations in both directions, and lenient mode.
 * 3. The narrative div: exact source text kept, line ends normalized,
 *    prefixed or ancestor-declared namespaces made to stand alone, non
 *    UTF-8 documents.
 * 4. Corpus: every official R4 example (750) and Synthea bundle (61)
 *    JSON -> XML -> JSON must give back the same resource, and
 *    XML -> JSON -> XML the same XML bytes; counts are printed. The only
 *    difference allowed is JSON member order (objects are unordered,
 *    RFC 8259 section 4; XML fixes the definition order): resources whose
 *    JSON was not in definition order come back reordered, and that is
 *    counted separately.
 * 5. The FHIRPath suite's XML inputs read into the same JSON as the
 *    fhirpath.js team's JSON versions, except for the differences listed
 *    in test_fhirpath_inputs, which are in the inputs themselves.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir_xml.h"
#include "json/json.h"
#include "xml/xml.h"

/* A corpus test found no corpus: report "Skipped" (exit 77) once the rest passed. */
static bool corpus_missing;

/* ---- helpers ---- */

static struct cw_json *jparse(struct cw_arena *a, const char *text)
{
    struct cw_json *j;
    struct cw_err err;
    struct cw_json_opts o = {.flags = CW_JSON_STRICT};
    if (cw_json_parse(a, text, strlen(text), &o, &j, &err) != 0)
        fail_msg("test JSON does not parse: %s", err.msg);
    return j;
}

static char *jtext(const struct cw_json *j)
{
    struct cw_buf b;
    cw_buf_init(&b, 0);
    assert_int_equal(cw_json_write(&b, j, 0), 0);
    char *s = cw_buf_detach(&b, NULL);
    assert_non_null(s);
    return s;
}

/* JSON text -> XML text (malloc'ed), or NULL with err. */
static char *to_xml(const char *json, const struct cw_fhir_xml_opts *o, struct cw_err *err)
{
    struct cw_arena *a = cw_arena_new(0);
    struct cw_buf b;
    cw_buf_init(&b, 0);
    char *out = NULL;
    if (cw_fhir_xml_write(&b, jparse(a, json), o, err) == 0) out = cw_buf_detach(&b, NULL);
    cw_buf_release(&b);
    cw_arena_destroy(a);
    return out;
}

/* XML text -> compact JSON text (malloc'ed), or NULL with err. */
static char *to_json(const char *xml, const struct cw_fhir_xml_opts *o, struct cw_err *err)
{
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json *j = NULL;
    char *out = NULL;
    if (cw_fhir_xml_read(a, xml, strlen(xml), o, &j, err) == 0) out = jtext(j);
    cw_arena_destroy(a);
    return out;
}

/* Both directions exactly (json must be compact, in definition order). */
static void both_ways(const char *json, const char *xml)
{
    struct cw_err err;
    char *x = to_xml(json, NULL, &err);
    if (!x) fail_msg("JSON -> XML failed: %s at %s", err.msg, err.location);
    if (strcmp(x, xml) != 0) fail_msg("JSON -> XML\n got: %s\nwant: %s", x, xml);
    char *j = to_json(xml, NULL, &err);
    if (!j)
        fail_msg("XML -> JSON failed: %s at %s (%u:%u)", err.msg, err.location, err.line,
                 err.column);
    if (strcmp(j, json) != 0) fail_msg("XML -> JSON\n got: %s\nwant: %s", j, json);
    /* pretty XML reads back the same */
    struct cw_fhir_xml_opts pretty = {.indent = 2, .flags = CW_FHIR_XML_DECL};
    char *px = to_xml(json, &pretty, &err);
    assert_non_null(px);
    char *pj = to_json(px, NULL, &err);
    if (!pj) fail_msg("pretty XML -> JSON failed: %s at %s", err.msg, err.location);
    assert_string_equal(pj, json);
    free(pj);
    free(px);
    free(x);
    free(j);
}

#define NS    "xmlns=\"http://hl7.org/fhir\""
#define XHTML "http://www.w3.org/1999/xhtml"

/* ---- 1. exact pairs ---- */

static void test_primitives_and_numbers(void **state)
{
    (void)state;
    both_ways("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"x\"},"
              "\"valueQuantity\":{\"value\":1.50,\"comparator\":\"<\",\"unit\":\"mg\"}}",
              "<Observation " NS "><status value=\"final\"/><code><text value=\"x\"/></code>"
              "<valueQuantity><value value=\"1.50\"/><comparator value=\"&lt;\"/>"
              "<unit value=\"mg\"/></valueQuantity></Observation>");
    /* decimals keep their exact text; integers; booleans */
    both_ways("{\"resourceType\":\"Basic\",\"extension\":["
              "{\"url\":\"a\",\"valueDecimal\":1e-22},{\"url\":\"b\",\"valueDecimal\":-0.000},"
              "{\"url\":\"c\",\"valueDecimal\":12345678901234567890.123456789},"
              "{\"url\":\"d\",\"valueInteger\":-2147483648},{\"url\":\"e\",\"valueBoolean\":false},"
              "{\"url\":\"f\",\"valuePositiveInt\":1},{\"url\":\"g\",\"valueUnsignedInt\":0}],"
              "\"code\":{\"text\":\"t\"}}",
              "<Basic " NS "><extension url=\"a\"><valueDecimal value=\"1e-22\"/></extension>"
              "<extension url=\"b\"><valueDecimal value=\"-0.000\"/></extension>"
              "<extension url=\"c\"><valueDecimal value=\"12345678901234567890.123456789\"/>"
              "</extension><extension url=\"d\"><valueInteger value=\"-2147483648\"/></extension>"
              "<extension url=\"e\"><valueBoolean value=\"false\"/></extension>"
              "<extension url=\"f\"><valuePositiveInt value=\"1\"/></extension>"
              "<extension url=\"g\"><valueUnsignedInt value=\"0\"/></extension>"
              "<code><text value=\"t\"/></code></Basic>");
    /* escaping in value attributes: quotes, markup, tab / LF / CR kept through normalization */
    both_ways("{\"resourceType\":\"Patient\",\"id\":\"a\","
              "\"name\":[{\"text\":\"a \\\"q\\\" <t> & 'p'\\nnew\\tline\\r\\nend  \"}]}",
              "<Patient " NS
              "><id value=\"a\"/><name><text value=\"a &quot;q&quot; &lt;t&gt; &amp; "
              "'p'&#10;new&#9;line&#13;&#10;end  \"/></name></Patient>");
    /* positiveInt may carry '+' in XML (datatypes.html); JSON cannot */
    struct cw_err err;
    char *j = to_json("<Basic " NS "><extension url=\"p\"><valuePositiveInt value=\"+5\"/>"
                      "</extension><code/></Basic>",
                      NULL, &err);
    assert_non_null(j);
    assert_string_equal(j, "{\"resourceType\":\"Basic\",\"extension\":[{\"url\":\"p\","
                           "\"valuePositiveInt\":5}],\"code\":{}}");
    free(j);
}

static void test_primitive_extensions(void **state)
{
    (void)state;
    /* single primitive with id and extensions; repeating primitive with nulls
       in the value array (extension only) and in the _ array (value only) */
    both_ways(
        "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"active\":true,\"name\":[{\"family\":\"F\","
        "\"given\":[\"A\",null,\"C\"],\"_given\":[null,{\"id\":\"g2\",\"extension\":[{\"url\":"
        "\"http://e/x\",\"valueString\":\"B\"}]},{\"extension\":[{\"url\":\"http://e/y\","
        "\"valueBoolean\":false}]}]}],\"birthDate\":\"1970-01-01\",\"_birthDate\":{\"id\":\"bd\","
        "\"extension\":[{\"url\":\"http://hl7.org/fhir/StructureDefinition/patient-birthTime\","
        "\"valueDateTime\":\"1970-01-01T10:00:00+01:00\"}]}}",
        "<Patient " NS "><id value=\"p1\"/><active value=\"true\"/><name><family value=\"F\"/>"
        "<given value=\"A\"/><given id=\"g2\"><extension url=\"http://e/x\"><valueString "
        "value=\"B\"/></extension></given><given value=\"C\"><extension url=\"http://e/y\">"
        "<valueBoolean value=\"false\"/></extension></given></name><birthDate id=\"bd\" "
        "value=\"1970-01-01\"><extension "
        "url=\"http://hl7.org/fhir/StructureDefinition/patient-birthTime\"><valueDateTime "
        "value=\"1970-01-01T10:00:00+01:00\"/></extension></birthDate></Patient>");
    /* no item has a value: only "_given" */
    both_ways("{\"resourceType\":\"Patient\",\"name\":[{\"_given\":[{\"extension\":[{\"url\":"
              "\"http://e/n\",\"valueCode\":\"masked\"}]}]}]}",
              "<Patient " NS "><name><given><extension url=\"http://e/n\"><valueCode "
              "value=\"masked\"/></extension></given></name></Patient>");
    /* a primitive with only an id */
    both_ways("{\"resourceType\":\"Patient\",\"gender\":\"male\",\"_gender\":{\"id\":\"g\"}}",
              "<Patient " NS "><gender id=\"g\" value=\"male\"/></Patient>");
}

static void test_attributes_id_url(void **state)
{
    (void)state;
    /* Element.id on complex elements, Extension.url, nested extensions,
       modifierExtension; Resource.id stays an element */
    both_ways("{\"resourceType\":\"Basic\",\"id\":\"b\",\"modifierExtension\":[{\"id\":\"m\","
              "\"url\":\"http://e/m\",\"valueCode\":\"x\"}],\"code\":{\"id\":\"c1\",\"coding\":"
              "[{\"id\":\"cd\",\"system\":\"http://s\",\"code\":\"x\"}]},\"subject\":{"
              "\"extension\":[{\"url\":\"http://e/c\",\"extension\":[{\"url\":\"a\","
              "\"valueInteger\":-5},{\"url\":\"b\",\"valueString\":\"s\"}]}],"
              "\"reference\":\"Patient/1\"}}",
              "<Basic " NS "><id value=\"b\"/><modifierExtension id=\"m\" url=\"http://e/m\">"
              "<valueCode value=\"x\"/></modifierExtension><code id=\"c1\"><coding id=\"cd\">"
              "<system value=\"http://s\"/><code value=\"x\"/></coding></code><subject>"
              "<extension url=\"http://e/c\"><extension url=\"a\"><valueInteger value=\"-5\"/>"
              "</extension><extension url=\"b\"><valueString value=\"s\"/></extension></extension>"
              "<reference value=\"Patient/1\"/></subject></Basic>");
    /* attributes in any XML order come back in definition order (id, url) */
    struct cw_err err;
    char *j = to_json("<Basic " NS "><modifierExtension url=\"u\" id=\"i\"><valueCode "
                      "value=\"x\"/></modifierExtension><code/></Basic>",
                      NULL, &err);
    assert_non_null(j);
    assert_string_equal(j, "{\"resourceType\":\"Basic\",\"modifierExtension\":[{\"id\":\"i\","
                           "\"url\":\"u\",\"valueCode\":\"x\"}],\"code\":{}}");
    free(j);
}

static void test_narrative_and_resources(void **state)
{
    (void)state;
    both_ways("{\"resourceType\":\"MedicationRequest\",\"text\":{\"status\":\"generated\","
              "\"div\":\"<div xmlns=\\\"" XHTML "\\\"><p class='x'>A &amp; B &lt; C <br/>\xC3\xA9"
              "&#160;&quot;</p><!-- c --></div>\"},\"contained\":[{\"resourceType\":\"Medication\","
              "\"id\":\"m\",\"code\":{\"text\":\"x\"}}],\"status\":\"active\",\"intent\":\"order\","
              "\"medicationReference\":{\"reference\":\"#m\"},\"subject\":{\"reference\":"
              "\"Patient/1\"}}",
              "<MedicationRequest " NS "><text><status value=\"generated\"/><div xmlns=\"" XHTML
              "\"><p class='x'>A &amp; B &lt; C <br/>\xC3\xA9&#160;&quot;</p><!-- c --></div>"
              "</text><contained><Medication><id value=\"m\"/><code><text value=\"x\"/></code>"
              "</Medication></contained><status value=\"active\"/><intent value=\"order\"/>"
              "<medicationReference><reference value=\"#m\"/></medicationReference><subject>"
              "<reference value=\"Patient/1\"/></subject></MedicationRequest>");
    /* Bundle.entry.resource, Bundle.entry.response.outcome */
    both_ways(
        "{\"resourceType\":\"Bundle\",\"type\":\"batch-response\",\"entry\":[{\"fullUrl\":"
        "\"urn:uuid:1\",\"resource\":{\"resourceType\":\"Patient\",\"id\":\"1\"},"
        "\"response\":{\"status\":\"201 Created\",\"outcome\":{\"resourceType\":"
        "\"OperationOutcome\",\"issue\":[{\"severity\":\"information\",\"code\":"
        "\"informational\"}]}}},{\"resource\":{\"resourceType\":\"Bundle\",\"type\":"
        "\"collection\",\"entry\":[{\"resource\":{\"resourceType\":\"Basic\",\"code\":{}}}]}}]}",
        "<Bundle " NS "><type value=\"batch-response\"/><entry><fullUrl value=\"urn:uuid:1\"/>"
        "<resource><Patient><id value=\"1\"/></Patient></resource><response><status "
        "value=\"201 Created\"/><outcome><OperationOutcome><issue><severity "
        "value=\"information\"/><code value=\"informational\"/></issue></OperationOutcome>"
        "</outcome></response></entry><entry><resource><Bundle><type value=\"collection\"/>"
        "<entry><resource><Basic><code/></Basic></resource></entry></Bundle></resource>"
        "</entry></Bundle>");
    /* Parameters: resource, part, choice values */
    both_ways(
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"a\",\"valueString\":"
        "\"x\"},{\"name\":\"r\",\"resource\":{\"resourceType\":\"Patient\",\"active\":false}},"
        "{\"name\":\"p\",\"part\":[{\"name\":\"q\",\"valueCoding\":{\"code\":\"c\"}},{\"name\":"
        "\"n\",\"part\":[{\"name\":\"deep\",\"valueBase64Binary\":\"AAEC\"}]}]}]}",
        "<Parameters " NS "><parameter><name value=\"a\"/><valueString value=\"x\"/>"
        "</parameter><parameter><name value=\"r\"/><resource><Patient><active "
        "value=\"false\"/></Patient></resource></parameter><parameter><name value=\"p\"/>"
        "<part><name value=\"q\"/><valueCoding><code value=\"c\"/></valueCoding></part><part>"
        "<name value=\"n\"/><part><name value=\"deep\"/><valueBase64Binary value=\"AAEC\"/>"
        "</part></part></parameter></Parameters>");
    /* contentReference: Questionnaire.item.item */
    both_ways("{\"resourceType\":\"Questionnaire\",\"status\":\"draft\",\"item\":[{\"linkId\":"
              "\"1\",\"type\":\"group\",\"item\":[{\"linkId\":\"1.1\",\"type\":\"string\","
              "\"item\":[{\"linkId\":\"1.1.1\",\"type\":\"display\"}]}]}]}",
              "<Questionnaire " NS "><status value=\"draft\"/><item><linkId value=\"1\"/><type "
              "value=\"group\"/><item><linkId value=\"1.1\"/><type value=\"string\"/><item><linkId "
              "value=\"1.1.1\"/><type value=\"display\"/></item></item></item></Questionnaire>");
}

/* JSON members out of definition order: XML is in definition order. */
static void test_definition_order(void **state)
{
    (void)state;
    struct cw_err err;
    char *x =
        to_xml("{\"gender\":\"male\",\"_gender\":{\"id\":\"g\"},\"name\":[{\"given\":[\"a\"],"
               "\"family\":\"f\"}],\"meta\":{\"versionId\":\"1\"},\"resourceType\":\"Patient\","
               "\"id\":\"1\"}",
               NULL, &err);
    assert_non_null(x);
    assert_string_equal(x, "<Patient " NS "><id value=\"1\"/><meta><versionId value=\"1\"/></meta>"
                           "<name><family value=\"f\"/><given value=\"a\"/></name><gender id=\"g\" "
                           "value=\"male\"/></Patient>");
    char *j = to_json(x, NULL, &err);
    assert_string_equal(j, "{\"resourceType\":\"Patient\",\"id\":\"1\",\"meta\":{\"versionId\":"
                           "\"1\"},\"name\":[{\"family\":\"f\",\"given\":[\"a\"]}],\"gender\":"
                           "\"male\",\"_gender\":{\"id\":\"g\"}}");
    free(j);
    free(x);
    /* "_x" before "x" in the JSON */
    x = to_xml("{\"resourceType\":\"Patient\",\"_active\":{\"id\":\"a\"},\"active\":true}", NULL,
               &err);
    assert_string_equal(x, "<Patient " NS "><active id=\"a\" value=\"true\"/></Patient>");
    free(x);
}

static void test_xml_extras_ignored(void **state)
{
    (void)state;
    /* XML declaration, comments, processing instructions, xsi attributes,
       white space: no JSON form (json.html), ignored */
    struct cw_err err;
    char *j = to_json("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- top -->\n"
                      "<Patient " NS " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                      "xsi:schemaLocation=\"http://hl7.org/fhir ../patient.xsd\">\n"
                      "  <!-- c --><?pi data?>\n  <active value=\"true\"/>\n</Patient>\n",
                      NULL, &err);
    if (!j) fail_msg("%s", err.msg);
    assert_string_equal(j, "{\"resourceType\":\"Patient\",\"active\":true}");
    free(j);
    /* a prefixed FHIR namespace is the same namespace */
    j = to_json(
        "<f:Patient xmlns:f=\"http://hl7.org/fhir\"><f:active value=\"false\"/></f:Patient>", NULL,
        &err);
    assert_string_equal(j, "{\"resourceType\":\"Patient\",\"active\":false}");
    free(j);
}

/* ---- 2. errors ---- */

static void xml_error(const char *xml, enum cw_issue issue, const char *location,
                      const char *msg_part)
{
    struct cw_err err;
    cw_err_clear(&err);
    char *j = to_json(xml, NULL, &err);
    if (j) fail_msg("accepted: %s -> %s", xml, j);
    if (err.issue != issue)
        fail_msg("issue %s, want %s (%s at %s)", cw_issue_code(err.issue), cw_issue_code(issue),
                 err.msg, err.location);
    if (location && strcmp(err.location, location) != 0)
        fail_msg("location '%s', want '%s' (%s)", err.location, location, err.msg);
    if (msg_part && !strstr(err.msg, msg_part))
        fail_msg("message '%s' lacks '%s'", err.msg, msg_part);
    assert_true(err.line >= 1);
    assert_null(strstr(err.msg, "SECRET"));
}

static void test_xml_errors(void **state)
{
    (void)state;
    xml_error("<Patient " NS "><name/><name><foo value=\"SECRET\"/></name></Patient>",
              CW_ISSUE_STRUCTURE, "Patient.name[1].foo", "unknown element");
    xml_error("<Patient " NS "><active value=\"true\" bogus=\"SECRET\"/></Patient>",
              CW_ISSUE_STRUCTURE, "Patient.active.bogus", "unknown attribute");
    xml_error("<Patient " NS "><name><id value=\"SECRET\"/></name></Patient>", CW_ISSUE_STRUCTURE,
              "Patient.name[0].id", "attribute");
    xml_error("<Patient " NS " id=\"SECRET\"/>", CW_ISSUE_STRUCTURE, "Patient.id",
              "unknown attribute");
    xml_error("<Patient " NS "><name value=\"SECRET\"/></Patient>", CW_ISSUE_STRUCTURE,
              "Patient.name[0].value", "not a primitive");
    xml_error("<Patient " NS "><active value=\"true\"/><active value=\"false\"/></Patient>",
              CW_ISSUE_STRUCTURE, "Patient.active", "does not repeat");
    xml_error("<Patient " NS "><gender value=\"male\"/><active value=\"true\"/></Patient>",
              CW_ISSUE_STRUCTURE, "Patient.active", "out of order");
    xml_error("<Patient " NS "><name/><gender value=\"male\"/><name/></Patient>",
              CW_ISSUE_STRUCTURE, "Patient.name", "repeated after other elements");
    xml_error("<Patient " NS "><active value=\"true\">SECRET</active></Patient>",
              CW_ISSUE_STRUCTURE, "Patient.active", "text content");
    xml_error("<Patient " NS "><x:active xmlns:x=\"urn:other\" value=\"true\"/></Patient>",
              CW_ISSUE_STRUCTURE, "Patient.active", "FHIR namespace");
    xml_error("<Patient><active value=\"true\"/></Patient>", CW_ISSUE_STRUCTURE, "",
              "FHIR namespace");
    xml_error("<Foo " NS "/>", CW_ISSUE_NOT_SUPPORTED, "", "unknown resource type");
    xml_error("<DomainResource " NS "/>", CW_ISSUE_NOT_SUPPORTED, "", "unknown resource type");
    xml_error("<Patient " NS "><active value=\"yes\"/></Patient>", CW_ISSUE_VALUE, "Patient.active",
              "boolean");
    xml_error("<Patient " NS "><multipleBirthInteger value=\"01\"/></Patient>", CW_ISSUE_VALUE,
              "Patient.multipleBirth.ofType(integer)", "number");
    xml_error("<Patient " NS "><multipleBirthInteger value=\"+1\"/></Patient>", CW_ISSUE_VALUE,
              "Patient.multipleBirth.ofType(integer)", "number");
    xml_error("<Patient " NS "><active/></Patient>", CW_ISSUE_STRUCTURE, "Patient.active",
              "neither a value nor extensions");
    xml_error("<Patient " NS "><contained/></Patient>", CW_ISSUE_STRUCTURE, "Patient.contained[0]",
              "without a resource");
    xml_error("<Patient " NS "><contained><Basic><code/></Basic><Basic><code/></Basic></contained>"
              "</Patient>",
              CW_ISSUE_STRUCTURE, "Patient.contained[0].Basic", "more than one resource");
    xml_error("<Patient " NS "><contained><Resource/></contained></Patient>", CW_ISSUE_STRUCTURE,
              "Patient.contained[0].Resource", "not a resource type");
    xml_error("<Patient " NS
              "><text><status value=\"generated\"/><div>SECRET</div></text></Patient>",
              CW_ISSUE_STRUCTURE, "Patient.text.div", "XHTML namespace");
    xml_error("<Patient " NS "><text><status value=\"generated\"/><p xmlns=\"" XHTML "\"/></text>"
              "</Patient>",
              CW_ISSUE_STRUCTURE, "Patient.text.p", "unknown element");
    xml_error("<Observation " NS "><valueString value=\"a\"/><valueInteger value=\"1\"/>"
              "</Observation>",
              CW_ISSUE_STRUCTURE, "Observation.value.ofType(integer)", "more than one type");
    xml_error("<Patient " NS "><active value=\"true\"><extension url=\"u\"><valueString "
              "value=\"x\"/></extension><id value=\"x\"/></active></Patient>",
              CW_ISSUE_STRUCTURE, "Patient.active.id", "unknown element");
    /* the XML layer's protections hold here too */
    xml_error("<!DOCTYPE Patient [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Patient " NS
              "><id value=\"&x;\"/></Patient>",
              CW_ISSUE_SECURITY, NULL, "DOCTYPE");
    xml_error("<Patient " NS "><id value=\"1\"></Patient>", CW_ISSUE_STRUCTURE, NULL, "libxml2");
    /* line and column of the offending element */
    struct cw_err err;
    char *j =
        to_json("<Patient " NS ">\n  <active value=\"true\"/>\n  <bogus/>\n</Patient>", NULL, &err);
    assert_null(j);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.column, 9); /* where libxml2 is: the end of the start tag */
    /* depth limit */
    struct cw_buf b;
    cw_buf_init(&b, 0);
    cw_buf_puts(&b, "<Questionnaire " NS "><status value=\"draft\"/>");
    for (int i = 0; i < 40; i++)
        cw_buf_puts(&b, "<item><linkId value=\"x\"/><type value=\"group\"/>");
    for (int i = 0; i < 40; i++) cw_buf_puts(&b, "</item>");
    cw_buf_puts(&b, "</Questionnaire>");
    struct cw_fhir_xml_opts shallow = {.max_depth = 30};
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json *out;
    assert_int_equal(cw_fhir_xml_read(a, b.ptr, b.len, &shallow, &out, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
    assert_int_equal(cw_fhir_xml_read(a, b.ptr, b.len, NULL, &out, &err), 0);
    cw_arena_destroy(a);
    cw_buf_release(&b);
}

static void json_error(const char *json, enum cw_issue issue, const char *location,
                       const char *msg_part)
{
    struct cw_err err;
    cw_err_clear(&err);
    char *x = to_xml(json, NULL, &err);
    if (x) fail_msg("accepted: %s -> %s", json, x);
    if (err.issue != issue)
        fail_msg("issue %s, want %s (%s at %s)", cw_issue_code(err.issue), cw_issue_code(issue),
                 err.msg, err.location);
    if (location && strcmp(err.location, location) != 0)
        fail_msg("location '%s', want '%s' (%s)", err.location, location, err.msg);
    if (msg_part && !strstr(err.msg, msg_part))
        fail_msg("message '%s' lacks '%s'", err.msg, msg_part);
    assert_null(strstr(err.msg, "SECRET"));
}

static void test_json_errors(void **state)
{
    (void)state;
    json_error("{\"resourceType\":\"Patient\",\"foo\":\"SECRET\"}", CW_ISSUE_STRUCTURE,
               "Patient.foo", "unknown element");
    json_error("{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"a\"],\"_family\":{},"
               "\"nick\":1}]}",
               CW_ISSUE_STRUCTURE, "Patient.name[0].nick", "unknown element");
    json_error("{\"resourceType\":\"Patient\",\"active\":\"true\"}", CW_ISSUE_VALUE,
               "Patient.active", "JSON type");
    json_error("{\"resourceType\":\"Patient\",\"gender\":1}", CW_ISSUE_VALUE, "Patient.gender",
               "JSON type");
    json_error("{\"resourceType\":\"Patient\",\"multipleBirthInteger\":\"1\"}", CW_ISSUE_VALUE,
               "Patient.multipleBirth.ofType(integer)", "JSON type");
    json_error("{\"resourceType\":\"Patient\",\"active\":[true]}", CW_ISSUE_STRUCTURE,
               "Patient.active", "single value");
    json_error("{\"resourceType\":\"Patient\",\"name\":{\"family\":\"x\"}}", CW_ISSUE_STRUCTURE,
               "Patient.name", "JSON array");
    json_error(
        "{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"a\",\"b\"],\"_given\":[null]}]}",
        CW_ISSUE_STRUCTURE, "Patient.name[0].given", "same length");
    json_error("{\"resourceType\":\"Patient\",\"name\":[{\"given\":[null]}]}", CW_ISSUE_STRUCTURE,
               "Patient.name[0].given[0]", "null");
    json_error("{\"resourceType\":\"Patient\",\"name\":[]}", CW_ISSUE_STRUCTURE, "Patient.name",
               "empty array");
    json_error("{\"resourceType\":\"Patient\",\"name\":[null]}", CW_ISSUE_STRUCTURE,
               "Patient.name[0]", "null");
    json_error("{\"resourceType\":\"Patient\",\"_active\":true}", CW_ISSUE_STRUCTURE,
               "Patient.active", "_ entry");
    json_error("{\"resourceType\":\"Patient\",\"id\":\"a\\u0001b\"}", CW_ISSUE_VALUE, "Patient.id",
               "character");
    json_error("{\"resourceType\":\"Patient\",\"name\":[{\"id\":\"\\u001f\"}]}", CW_ISSUE_VALUE,
               "Patient.name[0].id", "character");
    json_error("{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":"
               "\"<div>SECRET</div>\"}}",
               CW_ISSUE_VALUE, "Patient.text.div", "narrative");
    /* markup that would break out of the div is refused, not embedded */
    json_error("{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":"
               "\"<div xmlns=\\\"" XHTML "\\\"></div></text><evil/><text><div/>\"}}",
               CW_ISSUE_VALUE, "Patient.text.div", "narrative");
    json_error("{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":"
               "\"<div xmlns=\\\"" XHTML "\\\">&nbsp;</div>\"}}",
               CW_ISSUE_VALUE, "Patient.text.div", "narrative");
    json_error("{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":"
               "\"<div xmlns=\\\"" XHTML "\\\"/>\",\"_div\":{\"id\":\"x\"}}}",
               CW_ISSUE_STRUCTURE, "Patient.text.div", "narrative div");
    json_error("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{},"
               "\"valueString\":\"a\",\"valueInteger\":1}",
               CW_ISSUE_STRUCTURE, "Observation.value", "more than one value");
    json_error("{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"Nope\"}]}",
               CW_ISSUE_STRUCTURE, "Patient.contained[0]", "resourceType");
    json_error("{\"resourceType\":\"Patient\",\"contained\":[{\"id\":\"x\"}]}", CW_ISSUE_STRUCTURE,
               "Patient.contained[0]", "resourceType");
    json_error("{\"resourceType\":\"Bundle\",\"entry\":[{\"response\":{\"status\":\"200\","
               "\"outcome\":{\"resourceType\":\"Patient\"}}}]}",
               CW_ISSUE_STRUCTURE, "Bundle.entry[0].response.outcome", "not allowed here");
    json_error("{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"Basic\","
               "\"code\":{\"coding\":[{\"bad\":1}]}}]}",
               CW_ISSUE_STRUCTURE, "Patient.contained[0].code.coding[0].bad", "unknown element");
    json_error("{\"resourceType\":\"Nope\"}", CW_ISSUE_NOT_SUPPORTED, "", "unknown resource type");
    json_error("[1]", CW_ISSUE_STRUCTURE, "", "JSON object");
}

struct warns {
    int n;
    char last[CW_ERR_LOCATION_MAX + CW_ERR_MSG_MAX];
};

static void count_warn(const struct cw_err *w, void *ctx)
{
    struct warns *c = ctx;
    assert_int_equal(w->severity, CW_SEV_WARNING);
    c->n++;
    snprintf(c->last, sizeof c->last, "%s|%s", w->location, w->msg);
}

static void test_lenient(void **state)
{
    (void)state;
    struct warns w = {0};
    struct cw_fhir_xml_opts o = {.flags = CW_FHIR_XML_LENIENT, .warn = count_warn, .warn_ctx = &w};
    struct cw_err err;
    char *j = to_json("<Patient " NS "><gender value=\"male\"/><active value=\"true\" x=\"1\"/>"
                      "<bogus><deep/></bogus>text<name><given/><given value=\"a\"/></name>"
                      "<birthDate value=\"2000\"/></Patient>",
                      &o, &err);
    if (!j) fail_msg("%s", err.msg);
    /* out-of-order elements are kept (in document order); what cannot be
       represented is dropped, each with a warning */
    assert_string_equal(j, "{\"resourceType\":\"Patient\",\"gender\":\"male\",\"active\":true,"
                           "\"name\":[{\"given\":[\"a\"]}],\"birthDate\":\"2000\"}");
    assert_int_equal(w.n, 6); /* order, attribute, element, text, empty primitive, order */
    free(j);
    /* and the result writes back to definition order */
    char *x =
        to_xml("{\"resourceType\":\"Patient\",\"gender\":\"male\",\"active\":true}", NULL, &err);
    assert_string_equal(x, "<Patient " NS "><active value=\"true\"/><gender value=\"male\"/>"
                           "</Patient>");
    free(x);
    /* lenient JSON -> XML skips unknown properties */
    w.n = 0;
    x = to_xml("{\"resourceType\":\"Patient\",\"foo\":1,\"active\":true,\"name\":[{\"x\":2}]}", &o,
               &err);
    assert_non_null(x);
    assert_string_equal(x, "<Patient " NS "><active value=\"true\"/><name/></Patient>");
    assert_int_equal(w.n, 2);
    assert_string_equal(w.last, "Patient.name[0].x|unknown element");
    free(x);
    /* malformed XML is never lenient */
    assert_null(to_json("<Patient " NS "><active value=\"true\"></Patient>", &o, &err));
}

/* ---- 3. the narrative div ---- */

static char *div_of(const char *xml, struct cw_err *err)
{
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json *j;
    char *out = NULL;
    if (cw_fhir_xml_read(a, xml, strlen(xml), NULL, &j, err) == 0) {
        const struct cw_json *d = cw_json_get(cw_json_get(j, "text"), "div");
        assert_true(cw_json_is(d, CW_JSON_STRING));
        cw_slice s = cw_json_text(d);
        out = malloc(s.len + 1);
        memcpy(out, s.ptr, s.len);
        out[s.len] = '\0';
    }
    cw_arena_destroy(a);
    return out;
}

static void assert_div_standalone(const char *div)
{
    struct cw_xml_checker *c = cw_xml_checker_new();
    struct cw_err err;
    if (cw_xml_check_element(c, cw_slice_cstr(div), CW_LIT(XHTML), CW_LIT("div"), NULL, &err))
        fail_msg("div does not stand alone (%s): %s", err.msg, div);
    cw_xml_checker_free(c);
}

static void test_div_text(void **state)
{
    (void)state;
    struct cw_err err;
    /* the exact source text: single quotes, character references, spacing
       inside tags, empty-element tags, comments, CDATA; CRLF -> LF */
    char *d = div_of("<Patient " NS "><text><status value=\"generated\"/>"
                     "<div xmlns='" XHTML "' >\r\n<p  class = 'a&amp;b'>&#39;x&#x27; &quot;"
                     "<br></br><br/><![CDATA[<cdata>]]><!--c--></p>\r</div></text></Patient>",
                     &err);
    if (!d) fail_msg("%s", err.msg);
    assert_string_equal(d, "<div xmlns='" XHTML "' >\n<p  class = 'a&amp;b'>&#39;x&#x27; &quot;"
                           "<br></br><br/><![CDATA[<cdata>]]><!--c--></p>\n</div>");
    assert_div_standalone(d);
    free(d);
    /* an XML declaration naming UTF-8 keeps the raw path */
    d = div_of("<?xml version=\"1.0\" encoding=\"utf-8\"?><Patient " NS "><text><status "
               "value=\"generated\"/><div xmlns=\"" XHTML "\"><p class='a'>x</p></div></text>"
               "</Patient>",
               &err);
    assert_non_null(d);
    assert_string_equal(d, "<div xmlns=\"" XHTML "\"><p class='a'>x</p></div>");
    free(d);
    /* a prefixed div is rewritten in the default namespace */
    d = div_of("<Patient " NS "><text><status value=\"generated\"/><h:div xmlns:h=\"" XHTML "\">"
               "<h:p lang=\"en\" xml:lang=\"en\">a &lt; b<h:br/></h:p><!--c--></h:div></text>"
               "</Patient>",
               &err);
    if (!d) fail_msg("%s", err.msg);
    assert_string_equal(d, "<div xmlns=\"" XHTML "\"><p lang=\"en\" xml:lang=\"en\">a &lt; b<br/>"
                           "</p><!--c--></div>");
    assert_div_standalone(d);
    free(d);
    /* a div whose namespace is declared on an ancestor */
    d = div_of("<Patient " NS " xmlns:h=\"" XHTML "\"><text><status value=\"generated\"/>"
               "<h:div><h:b>x</h:b></h:div></text></Patient>",
               &err);
    if (!d) fail_msg("%s", err.msg);
    assert_string_equal(d, "<div xmlns=\"" XHTML "\"><b>x</b></div>");
    free(d);
    /* a prefix used inside the div but declared outside it */
    d = div_of("<Patient " NS " xmlns:h=\"" XHTML "\"><text><status value=\"generated\"/>"
               "<div xmlns=\"" XHTML "\"><h:b>x</h:b></div></text></Patient>",
               &err);
    if (!d) fail_msg("%s", err.msg);
    assert_string_equal(d, "<div xmlns:h=\"" XHTML "\" xmlns=\"" XHTML "\"><h:b>x</h:b></div>");
    assert_div_standalone(d);
    free(d);
    /* a non UTF-8 document: re-serialized in UTF-8 */
    d = div_of("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Patient " NS "><text><status "
               "value=\"generated\"/><div xmlns=\"" XHTML "\"><p title=\"\xE9\">\xE9</p></div>"
               "</text></Patient>",
               &err);
    if (!d) fail_msg("%s", err.msg);
    assert_string_equal(d, "<div xmlns=\"" XHTML "\"><p title=\"\xC3\xA9\">\xC3\xA9</p></div>");
    free(d);
    /* and the JSON goes back to the same XML */
    char *x = to_xml("{\"resourceType\":\"Patient\",\"text\":{\"status\":\"generated\",\"div\":"
                     "\"<div xmlns='" XHTML "' >\\n<p>&#39;</p></div>\"}}",
                     NULL, &err);
    assert_string_equal(x, "<Patient " NS "><text><status value=\"generated\"/><div xmlns='" XHTML
                           "' >\n<p>&#39;</p></div></text></Patient>");
    free(x);
}

/* ---- 4. corpus ---- */

/* Sort object members by key, recursively (a copy in arena a). */
static struct cw_json sorted(struct cw_arena *a, const struct cw_json *v)
{
    struct cw_json r = *v;
    if (v->type == CW_JSON_ARRAY) {
        r.u.items = cw_arena_array(a, v->len ? v->len : 1, sizeof *r.u.items);
        for (uint32_t i = 0; i < v->len; i++) r.u.items[i] = sorted(a, &v->u.items[i]);
        r.flags = 0;
    } else if (v->type == CW_JSON_OBJECT) {
        struct cw_json_member *m = cw_arena_array(a, v->len ? v->len : 1, sizeof *m);
        for (uint32_t i = 0; i < v->len; i++) {
            struct cw_json_member t = {v->u.members[i].key, sorted(a, &v->u.members[i].value)};
            uint32_t j = i;
            while (j > 0 && cw_slice_cmp(m[j - 1].key, t.key) > 0) {
                m[j] = m[j - 1];
                j--;
            }
            m[j] = t;
        }
        r.u.members = m;
        r.flags = 0;
    }
    return r;
}

struct corpus {
    int files, errors, exact, reordered, xml_stable, pretty_ok;
    size_t json_bytes, xml_bytes;
    struct cw_buf notes;
};

static void corpus_file(const char *path, void *ctx)
{
    struct corpus *c = ctx;
    size_t len;
    char *text = cw_test_read_if(path, ".json", &len);
    if (!text) return;
    struct cw_arena *a = cw_arena_new((size_t)1 << 30);
    struct cw_json *orig, *back, *back2;
    struct cw_err err;
    struct cw_json_opts jo = {.flags = CW_JSON_STRICT};
    struct cw_buf x1, x2;
    cw_buf_init(&x1, 0);
    cw_buf_init(&x2, 0);
    c->files++;
    c->json_bytes += len;
    if (cw_json_parse(a, text, len, &jo, &orig, &err) < 0) {
        cw_buf_printf(&c->notes, "%s: JSON: %s\n", path, err.msg);
        c->errors++;
    } else if (cw_fhir_xml_write(&x1, orig, NULL, &err) < 0) {
        cw_buf_printf(&c->notes, "%s: write: %s at %s\n", path, err.msg, err.location);
        c->errors++;
    } else if (cw_fhir_xml_read(a, x1.ptr, x1.len, NULL, &back, &err) < 0) {
        cw_buf_printf(&c->notes, "%s: read: %s at %s (%u:%u)\n", path, err.msg, err.location,
                      err.line, err.column);
        c->errors++;
    } else {
        c->xml_bytes += x1.len;
        if (cw_json_equal(orig, back)) {
            c->exact++;
        } else {
            struct cw_json s1 = sorted(a, orig), s2 = sorted(a, back);
            if (cw_json_equal(&s1, &s2))
                c->reordered++;
            else
                cw_buf_printf(&c->notes, "%s: round trip differs\n", path);
        }
        /* XML -> JSON -> XML gives the same bytes */
        if (cw_fhir_xml_write(&x2, back, NULL, &err) == 0 && x2.len == x1.len &&
            memcmp(x1.ptr, x2.ptr, x1.len) == 0)
            c->xml_stable++;
        else
            cw_buf_printf(&c->notes, "%s: XML not stable\n", path);
        /* pretty XML reads back to the same JSON */
        struct cw_fhir_xml_opts pretty = {.indent = 2, .flags = CW_FHIR_XML_DECL};
        cw_buf_reset(&x2);
        if (cw_fhir_xml_write(&x2, orig, &pretty, &err) == 0 &&
            cw_fhir_xml_read(a, x2.ptr, x2.len, NULL, &back2, &err) == 0 &&
            cw_json_equal(back, back2))
            c->pretty_ok++;
        else
            cw_buf_printf(&c->notes, "%s: pretty XML differs: %s\n", path, err.msg);
    }
    cw_buf_release(&x1);
    cw_buf_release(&x2);
    cw_arena_destroy(a);
    free(text);
}

static void run_corpus(const char *sub, int want_min)
{
    const char *dir = cw_test_corpus(sub);
    if (!dir) {
        printf("SKIPPED: corpus %s not found\n", sub);
        corpus_missing = true;
        skip(); /* this test only: the unit tests still run */
    }
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    struct corpus c = {0};
    cw_buf_init(&c.notes, 0);
    assert_int_equal(cw_test_walk(path, corpus_file, &c), 0);
    printf("%s: %d resources (%.1f MB JSON, %.1f MB XML): %d round trips identical, %d identical "
           "but for JSON member order, %d differ, %d errors; XML -> JSON -> XML stable: %d; "
           "pretty XML: %d\n",
           sub, c.files, (double)c.json_bytes / 1e6, (double)c.xml_bytes / 1e6, c.exact,
           c.reordered, c.files - c.errors - c.exact - c.reordered, c.errors, c.xml_stable,
           c.pretty_ok);
    if (c.notes.len) printf("%s", cw_buf_cstr(&c.notes));
    assert_true(c.files >= want_min);
    assert_int_equal(c.errors, 0);
    assert_int_equal(c.exact + c.reordered, c.files);
    assert_int_equal(c.xml_stable, c.files);
    assert_int_equal(c.pretty_ok, c.files);
    cw_buf_release(&c.notes);
}

static void test_corpus_spec_examples(void **state)
{
    (void)state;
    run_corpus("fhir-r4-examples/spec-examples", 750);
}

static void test_corpus_synthea(void **state)
{
    (void)state;
    run_corpus("fhir-r4-examples/synthea", 61);
}

/* ---- 5. the FHIRPath suite's XML inputs ---- */

/* Paths (".a.b[1]") where a and b differ, member order ignored. */
static void diff_paths(const struct cw_json *a, const struct cw_json *b, struct cw_buf *path,
                       struct cw_buf *out)
{
    if (a && b && a->type == b->type) {
        if (a->type == CW_JSON_OBJECT) {
            size_t keep = path->len;
            for (uint32_t i = 0; i < a->len; i++) {
                cw_buf_printf(path, ".%.*s", CW_SLICE_FMT(a->u.members[i].key));
                diff_paths(&a->u.members[i].value, cw_json_get_slice(b, a->u.members[i].key), path,
                           out);
                path->len = keep;
            }
            for (uint32_t i = 0; i < b->len; i++)
                if (!cw_json_get_slice(a, b->u.members[i].key))
                    cw_buf_printf(out, "%.*s.%.*s\n", (int)path->len, path->ptr,
                                  CW_SLICE_FMT(b->u.members[i].key));
            return;
        }
        if (a->type == CW_JSON_ARRAY && a->len == b->len) {
            size_t keep = path->len;
            for (uint32_t i = 0; i < a->len; i++) {
                cw_buf_printf(path, "[%u]", i);
                diff_paths(&a->u.items[i], &b->u.items[i], path, out);
                path->len = keep;
            }
            return;
        }
        if (cw_json_equal(a, b)) return;
    }
    cw_buf_printf(out, "%.*s\n", (int)path->len, path->ptr);
}

/* lib/fhir.js canon() of a div: quote entities decoded, white space collapsed. */
static void canon_div(cw_slice s, struct cw_buf *out)
{
    bool space = false;
    for (size_t i = 0; i < s.len;) {
        if (i + 6 <= s.len && memcmp(s.ptr + i, "&quot;", 6) == 0) {
            if (space && out->len) cw_buf_putc(out, ' ');
            space = false;
            cw_buf_putc(out, '"');
            i += 6;
            continue;
        }
        if (i + 5 <= s.len && memcmp(s.ptr + i, "&#39;", 5) == 0) {
            if (space && out->len) cw_buf_putc(out, ' ');
            space = false;
            cw_buf_putc(out, '\'');
            i += 5;
            continue;
        }
        char ch = s.ptr[i++];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            space = true;
            continue;
        }
        if (space && out->len && !(out->ptr[out->len - 1] == '>' && ch == '<'))
            cw_buf_putc(out, ' ');
        space = false;
        cw_buf_putc(out, ch);
    }
}

static void test_fhirpath_inputs(void **state)
{
    (void)state;
    const char *dir = cw_test_corpus("fhirpath-tests/r4");
    if (!dir) {
        printf("SKIPPED: corpus fhirpath-tests not found\n");
        corpus_missing = true;
        skip();
    }
    char base[4096];
    snprintf(base, sizeof base, "%s", dir);
    /*
     * Differences that are in the inputs (the JSON versions were made by the
     * fhirpath.js team with their own converter):
     *  - .text.div: the narrative was re-serialized (white space between
     *    tags dropped, &#39; written as '); equal under the peers' canon,
     *    which is checked below. We keep the XML's exact text.
     *  - codesystem-example .description: the XML attribute holds literal
     *    line breaks, which XML 1.0 section 3.3.3 turns into spaces; the
     *    JSON kept "\n".
     *  - parameters-example-types .parameter[2].valueUuid: the JSON has an
     *    object {"value": ...} where FHIR JSON has the string.
     *  - observation-example.xml has <status> before <extension> (out of
     *    definition order): strict reading refuses it, lenient reading
     *    warns once and converts.
     */
    static const struct {
        const char *name;
        const char *diffs;
        int warnings;
    } cases[] = {
        {"codesystem-example", ".description\n", 0},
        {"observation-example", ".text.div\n", 1},
        {"parameters-example-types", ".parameter[2].valueUuid\n", 0},
        {"patient-example-period", ".text.div\n", 0},
        {"patient-example", ".text.div\n", 0},
        {"questionnaire-example", ".text.div\n", 0},
        {"valueset-example-expansion", ".text.div\n", 0},
    };
    int converted = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s.xml", base, cases[i].name);
        size_t xl, jl;
        char *xml = cw_test_read_file(p, &xl);
        assert_non_null(xml);
        snprintf(p, sizeof p, "%s/json/%s.json", base, cases[i].name);
        char *json = cw_test_read_file(p, &jl);
        assert_non_null(json);
        struct cw_arena *a = cw_arena_new(0);
        struct cw_json *from_xml, *ref;
        struct cw_err err;
        struct warns w = {0};
        struct cw_fhir_xml_opts o = {.warn = count_warn, .warn_ctx = &w};
        if (cases[i].warnings) {
            assert_int_equal(cw_fhir_xml_read(a, xml, xl, NULL, &from_xml, &err), -1);
            assert_non_null(strstr(err.msg, "out of order"));
            o.flags = CW_FHIR_XML_LENIENT;
        }
        if (cw_fhir_xml_read(a, xml, xl, &o, &from_xml, &err) != 0)
            fail_msg("%s: %s at %s (%u:%u)", cases[i].name, err.msg, err.location, err.line,
                     err.column);
        assert_int_equal(w.n, cases[i].warnings);
        assert_int_equal(cw_json_parse(a, json, jl, NULL, &ref, &err), 0);
        struct cw_buf path, out;
        cw_buf_init(&path, 0);
        cw_buf_init(&out, 0);
        diff_paths(ref, from_xml, &path, &out);
        if (strcmp(cw_buf_cstr(&out), cases[i].diffs) != 0)
            fail_msg("%s: differences\n%s\nexpected\n%s", cases[i].name, cw_buf_cstr(&out),
                     cases[i].diffs);
        if (strstr(cases[i].diffs, "div")) {
            struct cw_buf c1, c2;
            cw_buf_init(&c1, 0);
            cw_buf_init(&c2, 0);
            canon_div(cw_json_text(cw_json_get(cw_json_get(ref, "text"), "div")), &c1);
            canon_div(cw_json_text(cw_json_get(cw_json_get(from_xml, "text"), "div")), &c2);
            assert_string_equal(cw_buf_cstr(&c1), cw_buf_cstr(&c2));
            cw_buf_release(&c1);
            cw_buf_release(&c2);
        }
        /* and the JSON from XML writes back to XML that reads the same */
        struct cw_buf x;
        cw_buf_init(&x, 0);
        struct cw_json *again;
        assert_int_equal(cw_fhir_xml_write(&x, from_xml, NULL, &err), 0);
        assert_int_equal(cw_fhir_xml_read(a, x.ptr, x.len, NULL, &again, &err), 0);
        struct cw_json s1 = sorted(a, from_xml), s2 = sorted(a, again);
        assert_true(cw_json_equal(&s1, &s2));
        converted++;
        cw_buf_release(&x);
        cw_buf_release(&path);
        cw_buf_release(&out);
        cw_arena_destroy(a);
        free(xml);
        free(json);
    }
    printf("fhirpath-tests/r4: %d XML inputs converted; differences from the JSON versions are "
           "the documented input differences only\n",
           converted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_primitives_and_numbers),
        cmocka_unit_test(test_primitive_extensions),
        cmocka_unit_test(test_attributes_id_url),
        cmocka_unit_test(test_narrative_and_resources),
        cmocka_unit_test(test_definition_order),
        cmocka_unit_test(test_xml_extras_ignored),
        cmocka_unit_test(test_xml_errors),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_lenient),
        cmocka_unit_test(test_div_text),
        cmocka_unit_test(test_corpus_spec_examples),
        cmocka_unit_test(test_corpus_synthea),
        cmocka_unit_test(test_fhirpath_inputs),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (rc == 0 && corpus_missing) cw_test_skip("shared corpus not found (unit tests passed)");
    return rc;
}
