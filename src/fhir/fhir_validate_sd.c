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

/*
 * profiling.html: a constraint narrows its base; a value the base fixes
 * stays fixed. A differential element with a fixed[x] other than its
 * base element's fixed value (the same id in the base's snapshot) is an
 * error. The base comes from the validation's registry or the core.
 */
static void check_fixed_kept(struct vrun *r, const struct cw_fhir_node *n,
                             const struct cw_fhir_registry *reg, const struct cw_json *diff)
{
    struct cw_fhir_sd base =
        cw_fhir_sd_by_url(reg, cw_json_text(cw_json_get(n->value, "baseDefinition")));
    if (!base.set) return;
    struct cw_buf mine;
    cw_buf_init(&mine, 1u << 20);
    for (uint32_t i = 0; i < diff->len && i < 10000; i++) {
        const struct cw_json *el = &diff->u.items[i];
        cw_slice id = cw_json_text(cw_json_get(el, "id"));
        if (!cw_json_is(el, CW_JSON_OBJECT) || !id.len) continue;
        for (uint32_t m = 0; m < el->len; m++) {
            cw_slice k = el->u.members[m].key;
            if (k.len <= 5 || memcmp(k.ptr, "fixed", 5) != 0 || k.ptr[5] < 'A' || k.ptr[5] > 'Z')
                continue;
            struct cw_fhir_elem be = cw_fhir_elem_by_id(base, id);
            cw_slice bkey, bjson;
            if (!be.set || cw_fhir_elem_value_find(be, "fixed", &bkey, &bjson) != 0) break;
            cw_buf_reset(&mine);
            if (cw_json_write(&mine, &el->u.members[m].value, 0) != 0) break;
            if (cw_slice_eq(bkey, k) && cw_slice_eq(bjson, cw_buf_slice(&mine))) break;
            char msg[CW_ERR_MSG_MAX];
            char loc[48];
            snprintf(loc, sizeof loc, "differential.element[%u]", i);
            snprintf(msg, sizeof msg,
                     "the element changes the value its base definition fixes (%.*s): a "
                     "constraint cannot",
                     (int)(id.len > 80 ? 80 : id.len), id.ptr);
            fhir_vreport_at(r, n, cw_slice_cstr(loc), CW_SEV_ERROR, CW_ISSUE_VALUE, msg);
            break;
        }
    }
    cw_buf_release(&mine);
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
    check_fixed_kept(r, n, fhir_vregistry(r), diff);
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
    /* a definition the trial registry cannot see (another profile the
       differential uses): not the resource's fault */
    if (g.err.issue == CW_ISSUE_NOT_FOUND && strstr(g.err.location, "://")) return;
    if (g.err.location[0])
        snprintf(msg, sizeof msg,
                 "the snapshot cannot be generated from the differential: %.120s (%.60s)",
                 g.err.msg, g.err.location);
    else
        snprintf(msg, sizeof msg, "the snapshot cannot be generated from the differential: %.120s",
                 g.err.msg);
    fhir_vreport(r, n, CW_SEV_ERROR, g.err.issue ? g.err.issue : CW_ISSUE_INVALID, msg);
}
