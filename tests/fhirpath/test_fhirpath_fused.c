/*
 * test_fhirpath_fused.c — the fused evaluation of member chains and of
 * where() comparisons (fhirpath_eval.c: a.b.c walked depth first without
 * intermediate collections) against step-by-step evaluation, on every
 * resource of the shared corpus (fhir-r4-examples: the R4 spec examples and
 * the Synthea bundles) for a list of expressions covering choice elements,
 * primitives with "_name" extensions, contained and Bundle resources, type
 * filters in the middle of a path, repeating elements inside repeating
 * elements, and comparisons in where().
 *
 * For each (resource, expression) both evaluations must give the same
 * outcome: the same error text, or the same items in the same order, each
 * with the same type, the same JSON and the same chain of parents (JSON
 * name and index up to the root). Prints the number of evaluations and of
 * non-empty results compared.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "fhir/fhirpath.h"
#include "fhir/fhirpath_int.h"
#include "json/json.h"

static const char *const EXPRS[] = {
    /* the peers' benchmark expressions */
    "Patient.name.where(use = 'official').family",
    "Patient.telecom.where(system = 'phone').value",
    "Patient.birthDate < @2000-01-01",
    "Patient.address.where(use = 'home').city",
    "Patient.extension.where(url = 'http://hl7.org/fhir/us/core/StructureDefinition/"
    "us-core-race').extension.where(url = 'ombCategory').value.ofType(Coding).display",
    "Patient.identifier.where(type.coding.code = 'MR').value",
    "Observation.value.ofType(Quantity).value > 100",
    "Observation.code.coding.where(system = 'http://loinc.org').code",
    "Observation.component.where(code.coding.code = '8480-6').value.ofType(Quantity).value",
    "Observation.effective.ofType(dateTime) >= @2015-01-01",
    "Condition.code.coding.display",
    "Condition.clinicalStatus.coding.code = 'active'",
    "Encounter.period.start",
    "MedicationRequest.medication.ofType(CodeableConcept).coding.code",
    "Bundle.entry.resource.ofType(Observation).count()",
    "Bundle.entry.resource.ofType(Patient).name.family",
    "Bundle.entry.where(resource is Condition).count()",
    "Bundle.entry.resource.ofType(Observation).where(status = 'final').code.coding.code."
    "distinct().count()",
    "Bundle.entry.resource.ofType(Observation).value.ofType(Quantity).where(value > 100).count()",
    "Bundle.entry.resource.ofType(Encounter).where(period.start >= "
    "@2015-01-01T00:00:00Z).count()",
    "Bundle.entry.resource.ofType(Condition).code.coding.display.distinct()",
    "id",
    "text.status = 'generated'",
    /* chains through choices, primitives and their extensions */
    "name.given",
    "name.given.extension.url",
    "name.given.id",
    "name.family.extension.value",
    "Patient.name.given.extension.value.ofType(string)",
    "birthDate.extension.value",
    "extension.value.ofType(CodeableConcept).coding.system",
    "extension.extension.url",
    "modifierExtension.url",
    "Observation.value.unit",
    "Observation.value.ofType(string)",
    "Observation.component.value.ofType(Quantity).unit",
    "Observation.component.code.coding.code",
    "Observation.referenceRange.low.value",
    "meta.tag.code",
    "meta.profile",
    "text.div",
    "identifier.type.coding.code",
    "identifier.period.start",
    "code.coding.system",
    "category.coding.display",
    "subject.reference",
    "item.item.linkId",
    "item.item.item.text",
    "item.answerOption.value.ofType(Coding).code",
    "contained.id",
    "contained.ofType(Organization).name",
    "contained.ofType(ValueSet).compose.include.concept.code",
    "contained.meta.lastUpdated",
    "Bundle.entry.resource.id",
    "Bundle.entry.resource.meta.lastUpdated",
    "Bundle.entry.request.method",
    "Bundle.entry.search.mode",
    "Bundle.entry.fullUrl",
    "entry.resource.code.coding.code",
    "entry.resource.ofType(DomainResource).text.status",
    "entry.resource.ofType(Resource).id.count()",
    "entry.resource.ofType(Observation).value.ofType(Quantity).value",
    "entry.resource.ofType(Observation).effective.ofType(dateTime)",
    "entry.resource.ofType(Patient).name.given",
    "entry.resource.ofType(Bundle).entry.resource.id",
    "entry.resource.contained.id",
    "Parameters.parameter.resource.id",
    "Parameters.parameter.part.value",
    "parameter.part.part.name",
    "compose.include.concept.designation.value",
    "concept.concept.concept.code",
    "group.element.target.code",
    "component.value.ofType(Quantity).code",
    "dosageInstruction.doseAndRate.dose.ofType(Quantity).value",
    "telecom.system.extension",
    "address.line",
    "address.period.start",
    /* where() comparisons and type tests */
    "name.where(given = 'Peter').family",
    "name.where(given.count() > 1).given",
    "telecom.where(use != 'home').value",
    "identifier.where(system = 'urn:oid:1.2.36.146.595.217.0.1').value",
    "identifier.where(type.coding.code != 'MR')",
    "where(birthDate < @1990-01-01).id",
    "where(id > 'f').id",
    "Observation.where(value > 5 'mg').id",
    "Observation.where(effective > @2010).id",
    "Observation.where(value.ofType(Quantity).value >= 100).id",
    "Observation.where(status = 'final').exists()",
    "Observation.component.where(value.ofType(Quantity).value < 100).code.text",
    "entry.where(resource.status = 'final').fullUrl",
    "entry.where(resource.id < 'b').fullUrl",
    "entry.where(resource is Patient).resource.name.family",
    "entry.where(resource is DomainResource).count()",
    "entry.where(resource.value.ofType(Quantity).value > 100).fullUrl",
    "entry.where(request.method = 'POST').count()",
    "entry.all(resource.id != '')",
    "entry.exists(resource.code.coding.code = '8480-6')",
    "item.where(type = 'group').item.linkId",
    "contained.where($this is Organization).id",
    "extension.where(value is Coding).url",
    "extension.where(value.ofType(string) = 'x').url",
};

/* Item i as text: type, JSON, and for nodes the parent chain. */
static void describe(struct cw_buf *b, const struct cw_fhirpath_value *v)
{
    cw_fhirpath_value_type(v, b);
    cw_buf_putc(b, ' ');
    struct cw_fhirpath_coll one = {v, 1};
    cw_fhirpath_write_json(b, one, 0, 0);
    if (v->kind == CW_FHIRPATH_NODE) {
        for (const struct cw_fhir_node *n = v->u.node; n; n = n->parent) {
            cw_buf_printf(b, " <%.*s[%u]:%x", (int)n->name.len, n->name.ptr, n->index, n->flags);
            cw_buf_put_slice(b, cw_fhir_sd_type_name(n->type));
        }
    }
    cw_buf_putc(b, '\n');
}

static void eval_text(struct cw_arena *a, const struct cw_fhirpath_expr *e,
                      const struct cw_json *res, struct cw_buf *b, size_t *n_items)
{
    struct cw_fhirpath_coll r;
    struct cw_err err;
    cw_buf_reset(b);
    if (cw_fhirpath_eval(a, e, NULL, res, &r, &err) < 0) {
        cw_buf_printf(b, "ERROR %s", err.msg);
        *n_items = 0;
        return;
    }
    *n_items = r.n;
    for (size_t i = 0; i < r.n; i++) describe(b, &r.items[i]);
}

struct tally {
    struct cw_fhirpath_expr *exprs[sizeof EXPRS / sizeof EXPRS[0]];
    size_t resources, evals, nonempty, errors, differ;
    struct cw_buf fused, steps;
};

static void one_resource(const char *path, void *ctx)
{
    struct tally *t = ctx;
    size_t len;
    char *text = cw_test_read_if(path, ".json", &len);
    if (!text) return;
    struct cw_arena *docs = cw_arena_new(0);
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json *res;
    struct cw_err err;
    struct cw_json_opts o = {.flags = CW_JSON_ALLOW_BOM};
    if (cw_json_parse(docs, text, len, &o, &res, &err) == 0 &&
        cw_json_is(cw_json_get(res, "resourceType"), CW_JSON_STRING)) {
        t->resources++;
        for (size_t x = 0; x < sizeof EXPRS / sizeof EXPRS[0]; x++) {
            size_t n1, n2;
            fp_no_fuse = false;
            eval_text(a, t->exprs[x], res, &t->fused, &n1);
            cw_arena_reset(a);
            fp_no_fuse = true;
            eval_text(a, t->exprs[x], res, &t->steps, &n2);
            fp_no_fuse = false;
            cw_arena_reset(a);
            t->evals++;
            if (n1) t->nonempty++;
            if (t->steps.len >= 5 && memcmp(t->steps.ptr, "ERROR", 5) == 0) t->errors++;
            if (t->fused.len != t->steps.len ||
                (t->fused.len && memcmp(t->fused.ptr, t->steps.ptr, t->fused.len) != 0)) {
                if (t->differ < 5)
                    fprintf(stderr, "differ: %s: %s\n  fused: %.*s\n  steps: %.*s\n", path,
                            EXPRS[x], (int)(t->fused.len > 400 ? 400 : t->fused.len),
                            t->fused.ptr, (int)(t->steps.len > 400 ? 400 : t->steps.len),
                            t->steps.ptr);
                t->differ++;
            }
        }
    }
    cw_arena_destroy(a);
    cw_arena_destroy(docs);
    free(text);
}

static void test_fused_equals_steps(void **state)
{
    (void)state;
    const char *dir = cw_test_corpus("fhir-r4-examples");
    if (!dir) cw_test_skip("fhir-r4-examples not found");
    static struct tally t;
    memset(&t, 0, sizeof t);
    for (size_t x = 0; x < sizeof EXPRS / sizeof EXPRS[0]; x++) {
        struct cw_err err;
        if (cw_fhirpath_compile(cw_slice_cstr(EXPRS[x]), NULL, &t.exprs[x], &err) < 0)
            fail_msg("cannot compile %s: %s", EXPRS[x], err.msg);
    }
    cw_buf_init(&t.fused, 0);
    cw_buf_init(&t.steps, 0);
    cw_test_walk(dir, one_resource, &t);
    printf("fhirpath-fused: %zu resources x %zu expressions = %zu evaluations "
           "(%zu non-empty, %zu errors), fused differs from step by step on %zu\n",
           t.resources, sizeof EXPRS / sizeof EXPRS[0], t.evals, t.nonempty, t.errors, t.differ);
    assert_true(t.resources > 700);
    assert_true(t.nonempty > 1000);
    assert_int_equal(t.differ, 0);
    cw_buf_release(&t.fused);
    cw_buf_release(&t.steps);
    for (size_t x = 0; x < sizeof EXPRS / sizeof EXPRS[0]; x++) cw_fhirpath_free(t.exprs[x]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused_equals_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
