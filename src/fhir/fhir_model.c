/*
 * fhir_model.c — the resource model: nodes over the JSON DOM that carry
 * their element definitions and concrete types; iteration, walking and
 * FHIRPath-style locations.
 *
 * Spec: FHIR R4 json.html — resources are objects with "resourceType";
 * repeating elements are arrays (never empty, no nulls except in primitive
 * arrays that have a matching "_name" entry); a primitive's id/extensions
 * sit in "_name" (an object, or for arrays an array aligned by index with
 * null where there is none); choice elements carry the type in the name
 * (valueQuantity). fhirpath.html for the path syntax (.ofType(T), [i]).
 *
 * Owns: nothing; nodes borrow the JSON tree and their parents.
 * Invariants: no allocation; every JSON access is type-checked first; the
 * walk recursion is bounded by max_depth; no value text ever reaches an
 * error message (names, indices and element paths only).
 */
#include <stdio.h>
#include <string.h>

#include "fhir/fhir_int.h"

static const cw_slice RESOURCE_TYPE = CW_LIT("resourceType");

static bool is_scalar(const struct cw_json *v)
{
    return v && (v->type == CW_JSON_STRING || v->type == CW_JSON_NUMBER ||
                 v->type == CW_JSON_TRUE || v->type == CW_JSON_FALSE);
}

/* Core resource type named by obj's "resourceType" (none if absent/unknown/abstract). */
static struct cw_fhir_sd resource_type_of(const struct cw_json *obj)
{
    const struct cw_json *rt = cw_json_get_slice(obj, RESOURCE_TYPE);
    if (!cw_json_is(rt, CW_JSON_STRING)) return CW_FHIR_NONE_SD;
    struct cw_fhir_sd t = cw_fhir_type(cw_json_text(rt));
    if (cw_fhir_sd_kind(t) != CW_FHIR_KIND_RESOURCE || cw_fhir_sd_abstract(t))
        return CW_FHIR_NONE_SD;
    return t;
}

int cw_fhir_node_root(const struct cw_json *resource, struct cw_fhir_sd profile,
                      struct cw_fhir_node *out, struct cw_err *err)
{
    memset(out, 0, sizeof *out);
    out->index = CW_FHIR_NO_INDEX;
    if (!cw_json_is(resource, CW_JSON_OBJECT))
        return cw_err_set(err, CW_ISSUE_STRUCTURE, "a resource must be a JSON object");
    const struct cw_json *rt = cw_json_get_slice(resource, RESOURCE_TYPE);
    if (!cw_json_is(rt, CW_JSON_STRING))
        return cw_err_set(err, CW_ISSUE_STRUCTURE, "resourceType is missing or not a string");
    struct cw_fhir_sd t = resource_type_of(resource);
    if (!t.set) {
        cw_slice n = cw_json_text(rt);
        /* resource type names are not patient data; cap what we echo */
        return cw_err_set(err, CW_ISSUE_NOT_SUPPORTED, "unknown resource type '%.*s'",
                          (int)(n.len > 64 ? 64 : n.len), n.ptr);
    }
    out->value = resource;
    out->type = t;
    out->elem = cw_fhir_sd_root(t);
    out->flags = CW_FHIR_NODE_RESOURCE;
    out->name = cw_fhir_sd_type_name(t);
    if (profile.set) {
        if (!cw_fhir_sd_eq(cw_fhir_sd_type(profile), t))
            return cw_err_set(err, CW_ISSUE_INVALID, "profile does not constrain %.*s",
                              CW_SLICE_FMT(cw_fhir_sd_type_name(t)));
        out->elem = cw_fhir_sd_root(profile);
    }
    return 0;
}

/* ---- paths ---- */

static void path_rec(const struct cw_fhir_node *n, struct cw_buf *out, int depth)
{
    if (depth > 1024) return;
    if (!n->parent) {
        cw_buf_put_slice(out, cw_fhir_sd_type_name(n->type));
        if (!n->type.set) cw_buf_put_slice(out, n->name);
        return;
    }
    path_rec(n->parent, out, depth + 1);
    cw_buf_putc(out, '.');
    if (n->elem.set) {
        cw_buf_put_slice(out, cw_fhir_elem_name(n->elem));
        if (n->flags & CW_FHIR_NODE_CHOICE) {
            cw_buf_puts(out, ".ofType(");
            cw_buf_put_slice(out, cw_fhir_sd_type_name(n->type));
            cw_buf_putc(out, ')');
        }
    } else {
        cw_buf_put_slice(out, n->name);
    }
    if (n->index != CW_FHIR_NO_INDEX) cw_buf_printf(out, "[%u]", n->index);
}

int cw_fhir_node_path(const struct cw_fhir_node *n, struct cw_buf *out)
{
    path_rec(n, out, 0);
    return cw_buf_failed(out) ? -1 : 0;
}

void cw_fhir_node_locate(const struct cw_fhir_node *n, struct cw_err *err)
{
    if (!err) return;
    struct cw_buf b;
    cw_buf_init(&b, 4096);
    cw_fhir_node_path(n, &b);
    /* a failed (too long) path keeps what fitted; cw_err_at truncates */
    cw_err_at_slice(err, (cw_slice){b.ptr ? b.ptr : "", b.len});
    cw_buf_release(&b);
}

/* ---- iteration ---- */

void cw_fhir_iter_init(struct cw_fhir_iter *it, const struct cw_fhir_node *parent, unsigned flags,
                       cw_slice name)
{
    memset(it, 0, sizeof *it);
    it->parent = parent;
    it->flags = flags;
    it->name = name;
    if (parent->flags & CW_FHIR_NODE_UNKNOWN) return;
    if (parent->flags & CW_FHIR_NODE_PRIMITIVE)
        it->obj = cw_json_is(parent->ext, CW_JSON_OBJECT) ? parent->ext : NULL;
    else
        it->obj = cw_json_is(parent->value, CW_JSON_OBJECT) ? parent->value : NULL;
    it->ctx = cw_fhir_elem_structure(parent->elem, parent->type);
}

/* Fill out for member m (name without '_'), before the value is known. */
static void node_base(struct cw_fhir_iter *it, struct cw_fhir_node *out, cw_slice key)
{
    memset(out, 0, sizeof *out);
    out->parent = it->parent;
    out->index = CW_FHIR_NO_INDEX;
    if (key.len && key.ptr[0] == '_') {
        key.ptr++;
        key.len--;
    }
    out->name = key;
}

static int fail(struct cw_fhir_node *out, struct cw_err *err, enum cw_issue issue, const char *msg)
{
    if (err) {
        cw_err_set(err, issue, "%s", msg);
        cw_fhir_node_locate(out, err);
    }
    return -1;
}

/*
 * Complete a node from one JSON value v (object or scalar, may be NULL for
 * primitives) and x (the matching "_name" entry, may be NULL).
 */
static int node_fill(struct cw_fhir_iter *it, struct cw_fhir_node *out, const struct cw_json *v,
                     const struct cw_json *x, struct cw_err *err)
{
    const struct cw_fhir_prop *p = &it->prop;
    out->elem = p->elem;
    out->type = p->type;
    if (p->flags & CW_FHIR_PROP_CHOICE) out->flags |= CW_FHIR_NODE_CHOICE;
    enum cw_fhir_kind kind = cw_fhir_sd_kind(p->type);
    if (kind == CW_FHIR_KIND_PRIMITIVE) {
        out->flags |= CW_FHIR_NODE_PRIMITIVE;
        struct cw_fhir_typeref tr;
        if (cw_fhir_elem_type(p->elem, p->type_index, &tr) == 0 && tr.system)
            out->flags |= CW_FHIR_NODE_SYSTEM;
        if (v && v->type == CW_JSON_NULL) v = NULL;
        if (x && x->type == CW_JSON_NULL) x = NULL;
        if (v && !is_scalar(v))
            return fail(out, err, CW_ISSUE_STRUCTURE,
                        "a primitive value must be a string, number or boolean");
        if (x && x->type != CW_JSON_OBJECT)
            return fail(out, err, CW_ISSUE_STRUCTURE,
                        "the _ entry of a primitive must be an object");
        if (!v && !x) return fail(out, err, CW_ISSUE_STRUCTURE, "null where a value is expected");
        out->value = v;
        out->ext = x;
        return 1;
    }
    if (!v || v->type != CW_JSON_OBJECT)
        return fail(out, err, CW_ISSUE_STRUCTURE,
                    v && v->type == CW_JSON_NULL ? "null where a value is expected"
                                                 : "a complex element must be a JSON object");
    out->value = v;
    if (kind == CW_FHIR_KIND_RESOURCE) {
        struct cw_fhir_sd rt = resource_type_of(v);
        if (!rt.set)
            return fail(out, err, CW_ISSUE_STRUCTURE, "resource without a known resourceType");
        if (!cw_fhir_type_is_a(rt, p->type))
            return fail(out, err, CW_ISSUE_STRUCTURE, "resource of a type not allowed here");
        out->type = rt;
        out->flags |= CW_FHIR_NODE_RESOURCE;
    }
    return 1;
}

static bool name_filter_match(const struct cw_fhir_iter *it)
{
    cw_slice n = cw_fhir_elem_name(it->prop.elem);
    return cw_slice_eq(n, it->name);
}

int cw_fhir_iter_next(struct cw_fhir_iter *it, struct cw_fhir_node *out, struct cw_err *err)
{
    if (!it->obj) return 0;
    for (;;) {
        if (it->in_array) {
            uint32_t len = it->arr ? it->arr->len : it->xarr ? it->xarr->len : 0;
            if (it->item >= len) {
                it->in_array = false;
                it->member++;
                continue;
            }
            const struct cw_json_member *m = &it->obj->u.members[it->member];
            uint32_t i = it->item++;
            node_base(it, out, m->key);
            out->index = i;
            const struct cw_json *v = it->arr ? &it->arr->u.items[i] : NULL;
            const struct cw_json *x =
                cw_json_is(it->xarr, CW_JSON_ARRAY) ? &it->xarr->u.items[i] : NULL;
            return node_fill(it, out, v, x, err);
        }
        if (it->member >= it->obj->len) return 0;
        const struct cw_json_member *m = &it->obj->u.members[it->member];
        cw_slice key = m->key;
        bool is_ext = key.len > 1 && key.ptr[0] == '_';
        cw_slice bare = is_ext ? (cw_slice){key.ptr + 1, key.len - 1} : key;

        if (it->flags & CW_FHIR_ITER_NAME) {
            /* cheap pre-filter: the JSON name starts with the FHIRPath name */
            if (!cw_slice_starts_with(bare, it->name)) {
                it->member++;
                continue;
            }
        }
        if ((it->parent->flags & CW_FHIR_NODE_RESOURCE) && !is_ext &&
            cw_slice_eq(key, RESOURCE_TYPE)) {
            it->member++;
            continue;
        }
        node_base(it, out, key);
        bool primitive_parent = (it->parent->flags & CW_FHIR_NODE_PRIMITIVE) != 0;
        if ((primitive_parent && cw_slice_eq(key, CW_LIT("value"))) ||
            cw_fhir_resolve(it->ctx.set ? it->ctx : it->parent->elem, it->parent->type, key,
                            &it->prop) != 0) {
            it->member++;
            if (it->flags & CW_FHIR_ITER_NAME) continue;
            out->flags = CW_FHIR_NODE_UNKNOWN;
            out->name = key; /* as written, "_" included */
            out->value = &m->value;
            return fail(out, err, CW_ISSUE_STRUCTURE, "unknown element");
        }
        if ((it->flags & CW_FHIR_ITER_NAME) && !name_filter_match(it)) {
            it->member++;
            continue;
        }
        bool primitive = cw_fhir_sd_kind(it->prop.type) == CW_FHIR_KIND_PRIMITIVE;
        const struct cw_json *v = NULL, *x = NULL;
        if (is_ext) {
            /* "_x": merged at "x" when that exists */
            if (cw_json_get_slice(it->obj, bare)) {
                it->member++;
                continue;
            }
            x = &m->value;
        } else {
            v = &m->value;
            if (primitive && !(it->obj->flags & CW_JSON_F_NOEXT)) {
                /* the "_name" member: keys of that length starting with '_'
                   (none when the parser saw no "_" key in the object) */
                const struct cw_json_member *mm = it->obj->u.members;
                for (uint32_t k = 0; k < it->obj->len; k++)
                    if (mm[k].key.len == bare.len + 1 && mm[k].key.ptr[0] == '_' &&
                        memcmp(mm[k].key.ptr + 1, bare.ptr, bare.len) == 0) {
                        x = &mm[k].value;
                        break;
                    }
            }
        }
        bool repeats = (it->prop.flags & CW_FHIR_PROP_ARRAY) != 0;
        const struct cw_json *shape = v ? v : x;
        if (repeats) {
            if (shape->type != CW_JSON_ARRAY) {
                it->member++;
                return fail(out, err, CW_ISSUE_STRUCTURE,
                            "a repeating element must be a JSON array");
            }
            if (v && x && (x->type != CW_JSON_ARRAY || x->len != v->len)) {
                it->member++;
                return fail(out, err, CW_ISSUE_STRUCTURE,
                            "the _ array must have the same length as the value array");
            }
            if (shape->len == 0) {
                it->member++;
                return fail(out, err, CW_ISSUE_STRUCTURE, "empty array");
            }
            it->in_array = true;
            it->item = 0;
            it->arr = v;
            it->xarr = x;
            continue;
        }
        if (shape->type == CW_JSON_ARRAY || (x && x->type == CW_JSON_ARRAY)) {
            it->member++;
            return fail(out, err, CW_ISSUE_STRUCTURE, "an array where a single value is expected");
        }
        it->member++;
        return node_fill(it, out, v, x, err);
    }
}

/* ---- walking ---- */

struct walk {
    cw_fhir_visit_fn visit;
    cw_fhir_issue_fn issue;
    void *ctx;
    unsigned max_depth;
    struct cw_err *err;
    struct cw_err scratch;
};

static bool has_children(const struct cw_fhir_node *n)
{
    if (n->flags & CW_FHIR_NODE_UNKNOWN) return false;
    if (n->flags & CW_FHIR_NODE_PRIMITIVE) return cw_json_is(n->ext, CW_JSON_OBJECT);
    return cw_json_is(n->value, CW_JSON_OBJECT);
}

static int walk_children(struct walk *w, const struct cw_fhir_node *parent, unsigned depth)
{
    if (depth >= w->max_depth) {
        cw_fhir_node_locate(parent, w->err);
        cw_err_set(w->err, CW_ISSUE_TOO_COSTLY, "resource nested deeper than %u levels",
                   w->max_depth);
        return -1;
    }
    struct cw_fhir_iter it;
    cw_fhir_iter_init(&it, parent, 0, CW_SLICE_NULL);
    struct cw_fhir_node child;
    for (;;) {
        cw_err_clear(&w->scratch);
        int r = cw_fhir_iter_next(&it, &child, &w->scratch);
        if (r == 0) return 0;
        if (r < 0) {
            if (w->issue && w->issue(&child, &w->scratch, w->ctx) < 0) {
                if (w->err) *w->err = w->scratch;
                return -1;
            }
            continue;
        }
        int v = w->visit ? w->visit(&child, w->ctx) : 0;
        if (v < 0) return -1;
        if (v == 0 && has_children(&child) && walk_children(w, &child, depth + 1) < 0) return -1;
    }
}

int cw_fhir_walk(const struct cw_fhir_node *root, cw_fhir_visit_fn visit, cw_fhir_issue_fn issue,
                 void *ctx, unsigned max_depth, struct cw_err *err)
{
    struct walk w = {.visit = visit,
                     .issue = issue,
                     .ctx = ctx,
                     .max_depth = max_depth ? max_depth : 256,
                     .err = err};
    int v = visit ? visit(root, ctx) : 0;
    if (v < 0) return -1;
    if (v == 0 && has_children(root)) return walk_children(&w, root, 0);
    return 0;
}
