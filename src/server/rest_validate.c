/*
 * rest_validate.c — structural validation of a resource before it is
 * stored (configurable with `validate = on|off`).
 *
 * Owns: nothing.
 *
 * What is checked, against the R4 base definitions (src/fhir):
 *  - every property is an element of its parent (no unknown names), with
 *    the JSON shape the definition asks for (array vs single value, object
 *    vs primitive, no nulls outside primitive arrays, no empty arrays);
 *  - primitive values (cw_fhir_check_json_primitive: JSON kind, regexes,
 *    calendar dates, integer ranges, ...);
 *  - cardinality: min (required elements present) and max of every
 *    element of every object (resource, backbone element, data type);
 *  - ele-1: no empty objects;
 *  - the resource id: [A-Za-z0-9-.]{1,64} (resource.html#id).
 * Not checked here: invariants (FHIRPath constraints), terminology
 * bindings, profiles (meta.profile), references resolving — that is a full
 * validator's job. Issues carry FHIRPath-style locations and never values.
 *
 * With `validate = full`, rest_validate_full runs the full validator
 * instead (fhir_validate.h): everything above plus required bindings,
 * every invariant through FHIRPath, reference target types and the core
 * profiles named in meta.profile; only its errors refuse a write.
 *
 * Spec: FHIR R4 json.html, datatypes.html, elementdefinition.html
 * (min/max), resource.html#id, validation.html (structure level).
 */
#include <string.h>

#include "fhir/fhir.h"
#include "fhir/fhir_validate.h"
#include "server/rest_int.h"

#define MAX_CHILD_ELEMS 256

struct vctx {
    struct cw_err *issues;
    size_t max, n;
};

static void add_issue(struct vctx *v, const struct cw_err *e)
{
    if (v->n >= v->max) return;
    v->issues[v->n] = *e;
    if (v->issues[v->n].severity == 0) v->issues[v->n].severity = CW_SEV_ERROR;
    v->n++;
}

static int on_issue(const struct cw_fhir_node *node, const struct cw_err *err, void *ctx)
{
    (void)node;
    struct vctx *v = ctx;
    add_issue(v, err);
    return v->n >= v->max ? -1 : 0;
}

/* min/max of the children of an object node. */
static void check_cardinality(struct vctx *v, const struct cw_fhir_node *node)
{
    struct cw_fhir_elem st = cw_fhir_elem_structure(node->elem, node->type);
    size_t nc = cw_fhir_elem_child_count(st);
    if (nc == 0 || nc > MAX_CHILD_ELEMS) return;
    uint32_t counts[MAX_CHILD_ELEMS];
    memset(counts, 0, nc * sizeof counts[0]);
    struct cw_fhir_iter it;
    cw_fhir_iter_init(&it, node, 0, CW_SLICE_NULL);
    struct cw_fhir_node child;
    struct cw_err scratch;
    for (;;) {
        cw_err_clear(&scratch);
        int r = cw_fhir_iter_next(&it, &child, &scratch);
        if (r == 0) break;
        if (r < 0) continue; /* reported by the walk */
        /* the child's position among st's children, checked; else a scan */
        uint32_t k = cw_fhir_elem_order(child.elem);
        if (k < nc && cw_fhir_elem_eq(cw_fhir_elem_child_at(st, k), child.elem)) {
            counts[k]++;
            continue;
        }
        for (k = 0; k < nc; k++)
            if (cw_fhir_elem_eq(cw_fhir_elem_child_at(st, k), child.elem)) {
                counts[k]++;
                break;
            }
    }
    for (size_t k = 0; k < nc && v->n < v->max; k++) {
        struct cw_fhir_elem e = cw_fhir_elem_child_at(st, k);
        uint32_t min = cw_fhir_elem_min(e), max = cw_fhir_elem_max(e);
        if (counts[k] >= min && (max == CW_FHIR_UNBOUNDED || counts[k] <= max)) continue;
        struct cw_err err;
        cw_err_clear(&err);
        cw_slice name = cw_fhir_elem_name(e);
        if (counts[k] < min)
            cw_err_set(&err, CW_ISSUE_REQUIRED, "element '%.*s' is required (min %u)",
                       CW_SLICE_FMT(name), min);
        else
            cw_err_set(&err, CW_ISSUE_STRUCTURE, "element '%.*s' occurs %u times (max %u)",
                       CW_SLICE_FMT(name), counts[k], max);
        struct cw_buf b;
        cw_buf_init(&b, CW_ERR_LOCATION_MAX);
        cw_fhir_node_path(node, &b);
        cw_buf_putc(&b, '.');
        cw_buf_put_slice(&b, name);
        cw_err_at(&err, cw_buf_cstr(&b));
        cw_buf_release(&b);
        add_issue(v, &err);
    }
}

static int on_visit(const struct cw_fhir_node *node, void *ctx)
{
    struct vctx *v = ctx;
    if (v->n >= v->max) return -1;
    if (node->flags & CW_FHIR_NODE_UNKNOWN) return 1;
    struct cw_err err;
    cw_err_clear(&err);
    if (node->flags & CW_FHIR_NODE_PRIMITIVE) {
        if (node->value && !(node->flags & CW_FHIR_NODE_SYSTEM) &&
            cw_fhir_check_json_primitive(node->type, node->value, &err) < 0) {
            cw_fhir_node_locate(node, &err);
            add_issue(v, &err);
        } else if (node->value && (node->flags & CW_FHIR_NODE_SYSTEM) &&
                   !cw_json_is(node->value, CW_JSON_STRING)) {
            cw_err_set(&err, CW_ISSUE_STRUCTURE, "a string is expected");
            cw_fhir_node_locate(node, &err);
            add_issue(v, &err);
        }
        if (cw_json_is(node->ext, CW_JSON_OBJECT)) {
            if (node->ext->len == 0) {
                cw_err_set(&err, CW_ISSUE_INVARIANT, "ele-1: empty primitive extension object");
                cw_fhir_node_locate(node, &err);
                add_issue(v, &err);
            } else {
                check_cardinality(v, node);
            }
        }
        return 0;
    }
    if (cw_json_is(node->value, CW_JSON_OBJECT)) {
        if (node->value->len == 0 && !(node->flags & CW_FHIR_NODE_RESOURCE)) {
            cw_err_set(&err, CW_ISSUE_INVARIANT, "ele-1: an element must have a value or children");
            cw_fhir_node_locate(node, &err);
            add_issue(v, &err);
            return 1;
        }
        check_cardinality(v, node);
        if (node->flags & CW_FHIR_NODE_RESOURCE) {
            const struct cw_json *id = cw_json_get(node->value, "id");
            cw_slice t = cw_json_text(id);
            bool ok = cw_json_is(id, CW_JSON_STRING) && t.len >= 1 && t.len <= 64;
            for (size_t i = 0; ok && i < t.len; i++) {
                char c = t.ptr[i];
                ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.';
            }
            if (id && !ok) {
                cw_err_set(&err, CW_ISSUE_VALUE, "a resource id is 1-64 of [A-Za-z0-9-.]");
                struct cw_buf b;
                cw_buf_init(&b, CW_ERR_LOCATION_MAX);
                cw_fhir_node_path(node, &b);
                cw_buf_puts(&b, ".id");
                cw_err_at(&err, cw_buf_cstr(&b));
                cw_buf_release(&b);
                add_issue(v, &err);
            }
        }
    }
    return 0;
}

size_t rest_validate(const struct cw_json *resource, struct cw_err *issues, size_t max)
{
    struct vctx v = {.issues = issues, .max = max};
    struct cw_fhir_node root;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_fhir_node_root(resource, CW_FHIR_NONE_SD, &root, &err) < 0) {
        add_issue(&v, &err);
        return v.n;
    }
    if (cw_fhir_sd_abstract(root.type)) {
        cw_err_set(&err, CW_ISSUE_INVALID, "resourceType names an abstract type");
        add_issue(&v, &err);
        return v.n;
    }
    cw_err_clear(&err);
    if (cw_fhir_walk(&root, on_visit, on_issue, &v, 128, &err) < 0 && err.issue != CW_ISSUE_NONE &&
        v.n < v.max)
        add_issue(&v, &err);
    return v.n;
}

long rest_validate_full(struct cw_arena *a, const struct cw_json *resource, struct cw_err *issues,
                        size_t max, struct cw_err *err)
{
    struct cw_fhir_vopts o = {.flags = CW_FHIR_VALIDATE_NO_MUST_SUPPORT};
    struct cw_fhir_vresult vr;
    if (cw_fhir_validate(a, resource, &o, &vr, err) < 0) return -1;
    size_t n = 0;
    for (size_t i = 0; i < vr.n && n < max; i++) {
        const struct cw_fhir_vissue *v = &vr.issues[i];
        if (v->severity != CW_SEV_ERROR && v->severity != CW_SEV_FATAL) continue;
        struct cw_err *e = &issues[n++];
        cw_err_set(e, v->code ? v->code : CW_ISSUE_INVALID, "%s", v->message ? v->message : "invalid");
        e->severity = v->severity;
        if (v->location) cw_err_at(e, v->location);
    }
    return (long)n;
}
