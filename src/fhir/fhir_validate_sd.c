/*
 * fhir_validate_sd.c — rules for StructureDefinition resources beyond their
 * invariants (structuredefinition.html, profiling.html):
 *
 *  - a constraint without a snapshot must be one its differential can be
 *    applied to: the snapshot is generated (the registry's generator,
 *    fhir_registry.c) and a failure is an error — elements not in the
 *    base, type-specific choice names without the type constrained,
 *    unknown discriminator types, slicing on the root, ...;
 *  - slicing is not allowed on the root element of the differential
 *    (profiling.html#slicing: slicing applies to repeating elements).
 *
 * Only when the base definition is a core one: a base from another
 * registry is not visible to the trial generation, and a missing base is
 * a problem of the validation context, not of the resource.
 *
 * Owns: a registry for the duration of the check. Messages carry the
 * generator's message and element ids (from the definition), never
 * values of the resource.
 */
#include <stdio.h>
#include <string.h>

#include "fhir/fhir_int.h"
#include "fhir/fhir_validate_int.h"

struct gen_report {
    struct cw_err err;
    bool failed;
};

static void on_report(cw_slice url, const struct cw_err *err, void *ctx)
{
    (void)url;
    struct gen_report *g = ctx;
    if (g->failed) return;
    g->failed = true;
    g->err = *err;
}

void fhir_vsd_check(struct vrun *r, const struct cw_fhir_node *n)
{
    const struct cw_json *sd = n->value;
    if (!cw_slice_eq_cstr(cw_json_text(cw_json_get(sd, "derivation")), "constraint")) return;
    const struct cw_json *diff = cw_json_get(cw_json_get(sd, "differential"), "element");
    if (!cw_json_is(diff, CW_JSON_ARRAY) || diff->len == 0) return;
    char msg[CW_ERR_MSG_MAX];
    const struct cw_json *first = &diff->u.items[0];
    cw_slice path0 = cw_json_text(cw_json_get(first, "path"));
    if (cw_json_get(first, "slicing") && path0.len && cw_slice_index(path0, '.') < 0) {
        snprintf(msg, sizeof msg, "slicing is not allowed on the root element of a profile");
        fhir_vreport_at(r, n, CW_LIT("differential.element[0]"), CW_SEV_ERROR, CW_ISSUE_STRUCTURE,
                        msg);
    }
    const struct cw_json *snap = cw_json_get(cw_json_get(sd, "snapshot"), "element");
    if (cw_json_is(snap, CW_JSON_ARRAY) && snap->len) return; /* the shipped one is used */
    cw_slice base = cw_json_text(cw_json_get(sd, "baseDefinition"));
    struct cw_fhir_sd b = cw_fhir_sd_by_url(NULL, base);
    if (!base.len || !b.set) return;
    struct cw_buf text;
    cw_buf_init(&text, 64u << 20);
    struct cw_err err;
    struct cw_fhir_registry *reg = cw_fhir_registry_new();
    if (!reg || cw_json_write(&text, sd, 0) != 0 ||
        cw_fhir_registry_add(reg, text.ptr, text.len, &err) < 0) {
        /* not addable (no url, type, ...): the base pass reports what is
           missing */
        cw_fhir_registry_free(reg);
        cw_buf_release(&text);
        return;
    }
    struct gen_report g = {.failed = false};
    cw_fhir_registry_build(reg, on_report, &g);
    cw_fhir_registry_free(reg);
    cw_buf_release(&text);
    if (!g.failed) return;
    if (g.err.location[0])
        snprintf(msg, sizeof msg,
                 "the snapshot cannot be generated from the differential: %.120s (%.60s)",
                 g.err.msg, g.err.location);
    else
        snprintf(msg, sizeof msg, "the snapshot cannot be generated from the differential: %.120s",
                 g.err.msg);
    fhir_vreport(r, n, CW_SEV_ERROR, g.err.issue ? g.err.issue : CW_ISSUE_INVALID, msg);
}
