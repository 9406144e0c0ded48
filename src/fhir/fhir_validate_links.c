/*
 * fhir_validate_links.c — the narrativeLink extension
 * (http://hl7.org/fhir/StructureDefinition/narrativeLink, FHIR extensions
 * pack): a resource in a Bundle points at the place in another entry's
 * narrative (typically a Composition's) that shows it, as
 * "fullUrl#id". The fullUrl must be an entry of the Bundle and the id
 * must name exactly one element of that resource's narratives (its text
 * and, for a Composition, its sections' texts: an anchor that two
 * narratives share is ambiguous).
 *
 * Owns: nothing. Messages carry counts, never the URL or the id (they
 * come from the data).
 * Invariants: the search is bounded (depth 64 in the target, the first
 * 1000 matches).
 */
#include <string.h>

#include "fhir/fhir_int.h"
#include "fhir/fhir_validate_int.h"

/* Occurrences of id="frag" (or id='frag') in the XHTML s. */
static size_t count_ids(cw_slice s, cw_slice frag)
{
    size_t n = 0;
    for (size_t i = 0; i + 5 + frag.len < s.len && n < 1000; i++) {
        if (memcmp(s.ptr + i, "id=", 3) != 0) continue;
        if (i > 0 && s.ptr[i - 1] != ' ' && s.ptr[i - 1] != '\t' && s.ptr[i - 1] != '\n') continue;
        char q = s.ptr[i + 3];
        if (q != '"' && q != '\'') continue;
        if (memcmp(s.ptr + i + 4, frag.ptr, frag.len) == 0 && s.ptr[i + 4 + frag.len] == q) n++;
    }
    return n;
}

/* Matches of frag in every narrative div of v (a resource, without its
   contained resources, which have narratives of their own). */
static size_t count_in(const struct cw_json *v, cw_slice frag, unsigned depth)
{
    if (depth > 64) return 0;
    size_t n = 0;
    if (cw_json_is(v, CW_JSON_OBJECT)) {
        for (uint32_t i = 0; i < v->len; i++) {
            cw_slice k = v->u.members[i].key;
            const struct cw_json *m = &v->u.members[i].value;
            if (cw_slice_eq_cstr(k, "div") && cw_json_is(m, CW_JSON_STRING))
                n += count_ids(cw_json_text(m), frag);
            else if (!cw_slice_eq_cstr(k, "contained"))
                n += count_in(m, frag, depth + 1);
        }
    } else if (cw_json_is(v, CW_JSON_ARRAY)) {
        for (uint32_t i = 0; i < v->len; i++) n += count_in(&v->u.items[i], frag, depth + 1);
    }
    return n;
}

void fhir_vnarrative_link(struct vrun *r, const struct cw_fhir_node *n)
{
    const struct cw_json *v = cw_json_get(n->value, "valueUrl");
    if (!v) v = cw_json_get(n->value, "valueUri"); /* reported as the wrong type elsewhere */
    if (!cw_json_is(v, CW_JSON_STRING)) return;
    cw_slice u = cw_json_text(v);
    long hash = cw_slice_index(u, '#');
    if (hash <= 0 || (size_t)hash + 1 >= u.len) return;
    cw_slice full = {u.ptr, (size_t)hash}, frag = {u.ptr + hash + 1, u.len - (size_t)hash - 1};
    /* only links into this Bundle are decided (urn: and URLs of entries) */
    const struct cw_json *target = fhir_vbundle_resource(r, full);
    if (!target) {
        if (cw_slice_starts_with(full, CW_LIT("urn:")))
            fhir_vreport(r, n, CW_SEV_ERROR, CW_ISSUE_NOT_FOUND,
                         "the narrative link names an entry the Bundle does not have");
        return;
    }
    size_t k = count_in(target, frag, 0);
    if (k == 0)
        fhir_vreport(r, n, CW_SEV_ERROR, CW_ISSUE_NOT_FOUND,
                     "the narrative link names an anchor the entry's narrative does not have");
    else if (k > 1)
        fhir_vreport(r, n, CW_SEV_ERROR, CW_ISSUE_STRUCTURE,
                     "the narrative link's anchor occurs more than once in the entry's narratives");
}
