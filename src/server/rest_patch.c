/*
 * rest_patch.c — PATCH bodies: JSON Patch (RFC 6902, media type
 * application/json-patch+json) and FHIRPath Patch (a Parameters resource,
 * FHIR R4 fhirpatch.html).
 *
 * Owns: nothing; the patched tree and every new node live in the request's
 * arena. A patch is applied to a parsed copy of the current version, so a
 * failing operation leaves nothing half-applied (the copy is dropped).
 *
 * Errors: a malformed patch document is "invalid" (400); an operation that
 * cannot be applied (a path that does not exist, a failed "test", a path
 * that selects several elements where one is needed) is "processing" with
 * status 422 (FHIR R4 http.html#patch). Messages name the operation index
 * and the path, never values.
 *
 * Invariants: JSON Pointer tokens are unescaped per RFC 6901 (~1 '/', ~0
 * '~'); array indexes are decimal without leading zeros, "-" means the end
 * (add only). Containers are rebuilt exactly sized (flag GROWABLE clear),
 * as the parser makes them.
 */
#include <stdio.h>
#include <string.h>

#include "fhir/fhir.h"
#include "server/rest_int.h"

#include "fhir/fhirpath.h"

/* ---- tree edits ---- */

static int arr_insert(struct cw_arena *a, struct cw_json *arr, size_t at, struct cw_json v)
{
    struct cw_json *items = cw_arena_array(a, (size_t)arr->len + 1, sizeof *items);
    if (!items) return -1;
    if (at) memcpy(items, arr->u.items, at * sizeof *items);
    items[at] = v;
    if (arr->len > at) memcpy(items + at + 1, arr->u.items + at, (arr->len - at) * sizeof *items);
    arr->u.items = items;
    arr->len++;
    arr->flags &= (uint8_t)~CW_JSON_F_GROWABLE;
    return 0;
}

static int arr_remove(struct cw_arena *a, struct cw_json *arr, size_t at)
{
    struct cw_json *items = arr->len > 1 ? cw_arena_array(a, (size_t)arr->len - 1, sizeof *items) : NULL;
    if (arr->len > 1 && !items) return -1;
    if (at) memcpy(items, arr->u.items, at * sizeof *items);
    if (arr->len > at + 1) memcpy(items + at, arr->u.items + at + 1, (arr->len - at - 1) * sizeof *items);
    arr->u.items = items;
    arr->len--;
    arr->flags &= (uint8_t)~CW_JSON_F_GROWABLE;
    return 0;
}

static long obj_find(const struct cw_json *obj, cw_slice key)
{
    for (uint32_t i = 0; i < obj->len; i++)
        if (cw_slice_eq(obj->u.members[i].key, key)) return (long)i;
    return -1;
}

static int obj_remove(struct cw_arena *a, struct cw_json *obj, size_t at)
{
    struct cw_json_member *m = obj->len > 1 ? cw_arena_array(a, (size_t)obj->len - 1, sizeof *m) : NULL;
    if (obj->len > 1 && !m) return -1;
    if (at) memcpy(m, obj->u.members, at * sizeof *m);
    if (obj->len > at + 1) memcpy(m + at, obj->u.members + at + 1, (obj->len - at - 1) * sizeof *m);
    obj->u.members = m;
    obj->len--;
    obj->flags &= (uint8_t)~CW_JSON_F_GROWABLE;
    return 0;
}

static int obj_put(struct cw_arena *a, struct cw_json *obj, cw_slice key, struct cw_json v)
{
    long i = obj_find(obj, key);
    if (i >= 0) {
        obj->u.members[i].value = v;
        return 0;
    }
    return cw_json_set(a, obj, key, v) ? 0 : -1;
}

/* ---- JSON Patch ---- */

struct ptr {
    cw_slice tok[64];
    size_t n;
};

static int ptr_parse(struct cw_arena *a, cw_slice p, struct ptr *out)
{
    out->n = 0;
    if (p.len == 0) return 0;
    if (p.ptr[0] != '/') return -1;
    size_t i = 1;
    for (;;) {
        size_t j = i;
        while (j < p.len && p.ptr[j] != '/') j++;
        if (out->n == 64) return -1;
        cw_slice raw = cw_slice_sub(p, i, j - i);
        char *d = cw_arena_alloc_bytes(a, raw.len + 1);
        if (!d) return -1;
        size_t n = 0;
        for (size_t k = 0; k < raw.len; k++) {
            if (raw.ptr[k] == '~') {
                if (k + 1 >= raw.len || (raw.ptr[k + 1] != '0' && raw.ptr[k + 1] != '1')) return -1;
                d[n++] = raw.ptr[k + 1] == '0' ? '~' : '/';
                k++;
            } else {
                d[n++] = raw.ptr[k];
            }
        }
        d[n] = '\0';
        out->tok[out->n++] = (cw_slice){d, n};
        if (j >= p.len) break;
        i = j + 1;
    }
    return 0;
}

/* Array index token: 0 or [1-9][0-9]*; -1 otherwise. */
static long index_of(cw_slice t)
{
    if (!t.len || t.len > 9 || (t.len > 1 && t.ptr[0] == '0')) return -1;
    long v = 0;
    for (size_t i = 0; i < t.len; i++) {
        if (t.ptr[i] < '0' || t.ptr[i] > '9') return -1;
        v = v * 10 + (t.ptr[i] - '0');
    }
    return v;
}

/* The node at tokens [0, n). NULL when absent. */
static struct cw_json *ptr_get(struct cw_json *root, const struct ptr *p, size_t n)
{
    struct cw_json *cur = root;
    for (size_t i = 0; i < n && cur; i++) {
        if (cur->type == CW_JSON_OBJECT) {
            long k = obj_find(cur, p->tok[i]);
            cur = k < 0 ? NULL : &cur->u.members[k].value;
        } else if (cur->type == CW_JSON_ARRAY) {
            long k = index_of(p->tok[i]);
            cur = k < 0 || (size_t)k >= cur->len ? NULL : &cur->u.items[k];
        } else {
            cur = NULL;
        }
    }
    return cur;
}

static int patch_fail(struct cw_err *err, size_t op, bool malformed, const char *what)
{
    cw_err_set(err, malformed ? CW_ISSUE_INVALID : CW_ISSUE_PROCESSING, "JSON Patch operation %zu: %s", op, what);
    if (!malformed) err->http_status = 422;
    return -1;
}

/* Deep copy (copy/move must not alias one node twice in the tree). */
static int deep_copy(struct cw_arena *a, const struct cw_json *v, struct cw_json *out, int depth)
{
    *out = *v;
    if (depth > 256) return -1;
    if (v->type == CW_JSON_ARRAY && v->len) {
        struct cw_json *it = cw_arena_array(a, v->len, sizeof *it);
        if (!it) return -1;
        for (uint32_t i = 0; i < v->len; i++)
            if (deep_copy(a, &v->u.items[i], &it[i], depth + 1) < 0) return -1;
        out->u.items = it;
        out->flags &= (uint8_t)~CW_JSON_F_GROWABLE;
    } else if (v->type == CW_JSON_OBJECT && v->len) {
        struct cw_json_member *m = cw_arena_array(a, v->len, sizeof *m);
        if (!m) return -1;
        for (uint32_t i = 0; i < v->len; i++) {
            m[i].key = v->u.members[i].key;
            if (deep_copy(a, &v->u.members[i].value, &m[i].value, depth + 1) < 0) return -1;
        }
        out->u.members = m;
        out->flags &= (uint8_t)~CW_JSON_F_GROWABLE;
    }
    return 0;
}

static int jp_add(struct cw_arena *a, struct cw_json *root, const struct ptr *p, struct cw_json v,
                  size_t op, struct cw_err *err)
{
    if (p->n == 0) return patch_fail(err, op, false, "cannot replace the whole resource");
    struct cw_json *parent = ptr_get(root, p, p->n - 1);
    cw_slice last = p->tok[p->n - 1];
    if (!parent) return patch_fail(err, op, false, "the path's parent does not exist");
    if (parent->type == CW_JSON_OBJECT) {
        if (obj_put(a, parent, last, v) < 0) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
        return 0;
    }
    if (parent->type == CW_JSON_ARRAY) {
        long k = cw_slice_eq_cstr(last, "-") ? (long)parent->len : index_of(last);
        if (k < 0 || (size_t)k > parent->len) return patch_fail(err, op, false, "array index out of range");
        if (arr_insert(a, parent, (size_t)k, v) < 0) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
        return 0;
    }
    return patch_fail(err, op, false, "the path's parent is not an object or array");
}

static int jp_remove(struct cw_arena *a, struct cw_json *root, const struct ptr *p, size_t op,
                     struct cw_err *err)
{
    if (p->n == 0) return patch_fail(err, op, false, "cannot remove the whole resource");
    struct cw_json *parent = ptr_get(root, p, p->n - 1);
    cw_slice last = p->tok[p->n - 1];
    if (parent && parent->type == CW_JSON_OBJECT) {
        long k = obj_find(parent, last);
        if (k < 0) return patch_fail(err, op, false, "the path does not exist");
        if (obj_remove(a, parent, (size_t)k) < 0) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
        return 0;
    }
    if (parent && parent->type == CW_JSON_ARRAY) {
        long k = index_of(last);
        if (k < 0 || (size_t)k >= parent->len) return patch_fail(err, op, false, "array index out of range");
        if (arr_remove(a, parent, (size_t)k) < 0) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
        return 0;
    }
    return patch_fail(err, op, false, "the path does not exist");
}

int rest_json_patch(struct cw_arena *a, struct cw_json *res, const struct cw_json *patch,
                    struct cw_err *err)
{
    if (!cw_json_is(patch, CW_JSON_ARRAY))
        return cw_err_set(err, CW_ISSUE_INVALID, "a JSON Patch document is an array of operations");
    if (patch->len > 10000) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "JSON Patch: too many operations");
    for (uint32_t i = 0; i < patch->len; i++) {
        const struct cw_json *o = &patch->u.items[i];
        if (!cw_json_is(o, CW_JSON_OBJECT)) return patch_fail(err, i, true, "not an object");
        cw_slice opn = cw_json_text(cw_json_get(o, "op"));
        const struct cw_json *pathj = cw_json_get(o, "path");
        if (!cw_json_is(pathj, CW_JSON_STRING)) return patch_fail(err, i, true, "no path");
        struct ptr p, from;
        if (ptr_parse(a, cw_json_text(pathj), &p) < 0) return patch_fail(err, i, true, "bad JSON Pointer in path");
        const struct cw_json *value = cw_json_get(o, "value");
        const struct cw_json *fromj = cw_json_get(o, "from");
        int rc;
        if (cw_slice_eq_cstr(opn, "add")) {
            if (!value) return patch_fail(err, i, true, "add needs a value");
            struct cw_json v;
            if (deep_copy(a, value, &v, 0) < 0) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
            rc = jp_add(a, res, &p, v, i, err);
        } else if (cw_slice_eq_cstr(opn, "remove")) {
            rc = jp_remove(a, res, &p, i, err);
        } else if (cw_slice_eq_cstr(opn, "replace")) {
            if (!value) return patch_fail(err, i, true, "replace needs a value");
            struct cw_json *target = p.n ? ptr_get(res, &p, p.n) : NULL;
            if (!target) return patch_fail(err, i, false, "the path does not exist");
            struct cw_json v;
            if (deep_copy(a, value, &v, 0) < 0) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
            *target = v;
            rc = 0;
        } else if (cw_slice_eq_cstr(opn, "move") || cw_slice_eq_cstr(opn, "copy")) {
            if (!cw_json_is(fromj, CW_JSON_STRING) || ptr_parse(a, cw_json_text(fromj), &from) < 0)
                return patch_fail(err, i, true, "needs a from pointer");
            struct cw_json *src = from.n ? ptr_get(res, &from, from.n) : NULL;
            if (!src) return patch_fail(err, i, false, "the from path does not exist");
            bool move = opn.ptr[0] == 'm';
            if (move && from.n < p.n) {
                bool prefix = true;
                for (size_t k = 0; k < from.n && prefix; k++) prefix = cw_slice_eq(from.tok[k], p.tok[k]);
                if (prefix) return patch_fail(err, i, false, "cannot move a value into itself");
            }
            struct cw_json v;
            if (deep_copy(a, src, &v, 0) < 0) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
            rc = move ? jp_remove(a, res, &from, i, err) : 0;
            if (rc == 0) rc = jp_add(a, res, &p, v, i, err);
        } else if (cw_slice_eq_cstr(opn, "test")) {
            if (!value) return patch_fail(err, i, true, "test needs a value");
            struct cw_json *target = ptr_get(res, &p, p.n);
            if (!target || !cw_json_equal(target, value)) return patch_fail(err, i, false, "test failed");
            rc = 0;
        } else {
            return patch_fail(err, i, true, "unknown op (add, remove, replace, move, copy, test)");
        }
        if (rc < 0) return -1;
    }
    return 0;
}

/* ---- FHIRPath Patch ---- */


static int fp_fail(struct cw_err *err, size_t op, bool malformed, const char *what)
{
    cw_err_set(err, malformed ? CW_ISSUE_INVALID : CW_ISSUE_PROCESSING, "FHIRPath Patch operation %zu: %s", op, what);
    if (!malformed) err->http_status = 422;
    return -1;
}

/* The part named name of an operation, or NULL. */
static const struct cw_json *part(const struct cw_json *parts, const char *name)
{
    for (uint32_t i = 0; cw_json_is(parts, CW_JSON_ARRAY) && i < parts->len; i++)
        if (cw_slice_eq_cstr(cw_json_text(cw_json_get(&parts->u.items[i], "name")), name))
            return &parts->u.items[i];
    return NULL;
}

/* The value[x] member of a parameter: key suffix (type) and value. */
static const struct cw_json_member *value_x(const struct cw_json *p)
{
    for (uint32_t i = 0; cw_json_is(p, CW_JSON_OBJECT) && i < p->len; i++) {
        cw_slice k = p->u.members[i].key;
        if (k.len > 5 && cw_slice_starts_with(k, CW_LIT("value")) && k.ptr[5] >= 'A' && k.ptr[5] <= 'Z')
            return &p->u.members[i];
    }
    return NULL;
}

/* The value of a "value" part: value[x], or an object built from its parts. */
static int part_value(struct cw_arena *a, const struct cw_json *vp, struct cw_json *out, cw_slice *type,
                      int depth)
{
    const struct cw_json_member *m = value_x(vp);
    if (m) {
        *type = cw_slice_sub(m->key, 5, m->key.len - 5);
        return deep_copy(a, &m->value, out, 0);
    }
    const struct cw_json *parts = cw_json_get(vp, "part");
    if (!cw_json_is(parts, CW_JSON_ARRAY) || depth > 32) return -1;
    *type = CW_SLICE_NULL;
    *out = cw_json_object();
    for (uint32_t i = 0; i < parts->len; i++) {
        const struct cw_json *sub = &parts->u.items[i];
        cw_slice name = cw_json_text(cw_json_get(sub, "name"));
        if (!name.len) return -1;
        struct cw_json v;
        cw_slice st;
        if (part_value(a, sub, &v, &st, depth + 1) < 0) return -1;
        cw_slice key = name;
        if (st.len && cw_slice_eq_cstr(name, "value")) {
            /* a nested choice: value + type */
            char *k = cw_arena_alloc_bytes(a, name.len + st.len + 1);
            if (!k) return -1;
            memcpy(k, name.ptr, name.len);
            memcpy(k + name.len, st.ptr, st.len);
            k[name.len + st.len] = '\0';
            key = (cw_slice){k, name.len + st.len};
        }
        if (!cw_json_set(a, out, key, v)) return -1;
    }
    return 0;
}

static int eval_path(struct cw_arena *a, struct cw_json *res, cw_slice path, struct cw_fhirpath_coll *out,
                     struct cw_err *err)
{
    struct cw_fhirpath_expr *e;
    if (cw_fhirpath_compile(path, NULL, &e, err) < 0) {
        err->http_status = 400;
        return -1;
    }
    int rc = cw_fhirpath_eval(a, e, NULL, res, out, err);
    cw_fhirpath_free(e);
    return rc;
}

/* The JSON container and key a node lives in. */
struct slot {
    struct cw_json *obj;  /* the parent object */
    cw_slice key;         /* member name (choice names as written) */
    uint32_t index;       /* array position or CW_FHIR_NO_INDEX */
};

static int slot_of(const struct cw_fhirpath_value *v, struct slot *s)
{
    if (v->kind != CW_FHIRPATH_NODE) return -1;
    const struct cw_fhir_node *n = v->u.node;
    if (!n->parent || !cw_json_is(n->parent->value, CW_JSON_OBJECT)) return -1;
    s->obj = (struct cw_json *)n->parent->value;
    s->index = n->index;
    /* the member as written: the node's JSON name (valueQuantity, name) */
    s->key = n->name;
    if (obj_find(s->obj, s->key) < 0) return -1;
    return 0;
}

/* The JSON key for adding child 'name' with a value of type 'vt' under node. */
static cw_slice child_key(struct cw_arena *a, const struct cw_fhir_node *node, cw_slice name, cw_slice vt,
                          bool *repeats)
{
    *repeats = false;
    struct cw_fhir_elem st = cw_fhir_elem_structure(node->elem, node->type);
    struct cw_fhir_elem ce = cw_fhir_child_by_name(st, node->type, name);
    if (!cw_fhir_elem_ok(ce)) return CW_SLICE_NULL;
    unsigned fl = cw_fhir_elem_flags(ce);
    *repeats = (fl & CW_FHIR_E_REPEATS) != 0;
    if (!(fl & CW_FHIR_E_CHOICE)) return name;
    if (!vt.len) return CW_SLICE_NULL;
    char *k = cw_arena_alloc_bytes(a, name.len + vt.len + 1);
    if (!k) return CW_SLICE_NULL;
    memcpy(k, name.ptr, name.len);
    memcpy(k + name.len, vt.ptr, vt.len);
    k[0 + name.len + vt.len] = '\0';
    if (k[name.len] >= 'a' && k[name.len] <= 'z') k[name.len] = (char)(k[name.len] - 'a' + 'A');
    return (cw_slice){k, name.len + vt.len};
}

static int op_delete(struct cw_arena *a, const struct slot *s, struct cw_err *err)
{
    long k = obj_find(s->obj, s->key);
    if (k < 0) return 0;
    struct cw_json *v = &s->obj->u.members[k].value;
    if (s->index != CW_FHIR_NO_INDEX && cw_json_is(v, CW_JSON_ARRAY)) {
        if (s->index >= v->len) return 0;
        if (arr_remove(a, v, s->index) < 0) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
        if (v->len) return 0;
    }
    if (obj_remove(a, s->obj, (size_t)k) < 0) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
    /* the primitive's extension sibling "_name" goes with it */
    char uk[128];
    if (s->key.len + 1 < sizeof uk && s->index == CW_FHIR_NO_INDEX) {
        uk[0] = '_';
        memcpy(uk + 1, s->key.ptr, s->key.len);
        long x = obj_find(s->obj, (cw_slice){uk, s->key.len + 1});
        if (x >= 0 && obj_remove(a, s->obj, (size_t)x) < 0) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
    }
    return 0;
}

int rest_fhirpath_patch(struct cw_arena *a, struct cw_json *res, const struct cw_json *params,
                        struct cw_err *err)
{
    if (!cw_slice_eq_cstr(cw_json_text(cw_json_get(params, "resourceType")), "Parameters"))
        return cw_err_set(err, CW_ISSUE_INVALID, "a FHIRPath Patch is a Parameters resource");
    const struct cw_json *ops = cw_json_get(params, "parameter");
    if (!cw_json_is(ops, CW_JSON_ARRAY)) return cw_err_set(err, CW_ISSUE_INVALID, "FHIRPath Patch: no operations");
    for (uint32_t i = 0; i < ops->len; i++) {
        const struct cw_json *op = &ops->u.items[i];
        if (!cw_slice_eq_cstr(cw_json_text(cw_json_get(op, "name")), "operation"))
            return fp_fail(err, i, true, "parameters must be named 'operation'");
        const struct cw_json *parts = cw_json_get(op, "part");
        const struct cw_json_member *tm = value_x(part(parts, "type"));
        const struct cw_json_member *pm = value_x(part(parts, "path"));
        if (!tm || !pm) return fp_fail(err, i, true, "needs a type and a path");
        cw_slice type = cw_json_text(&tm->value), path = cw_json_text(&pm->value);
        struct cw_fhirpath_coll c;
        if (eval_path(a, res, path, &c, err) < 0) return -1;
        const struct cw_json *vp = part(parts, "value");
        struct cw_json value;
        cw_slice vtype = CW_SLICE_NULL;
        if (vp && part_value(a, vp, &value, &vtype, 0) < 0) return fp_fail(err, i, true, "bad value");
        const struct cw_json_member *nm = value_x(part(parts, "name"));
        const struct cw_json_member *im = value_x(part(parts, "index"));
        long long index = -1;
        if (im && cw_json_to_i64(&im->value, &index) < 0) return fp_fail(err, i, true, "bad index");

        if (cw_slice_eq_cstr(type, "delete")) {
            if (c.n == 0) continue;
            if (c.n > 1) return fp_fail(err, i, false, "delete: the path selects more than one element");
            struct slot s;
            if (slot_of(&c.items[0], &s) < 0) return fp_fail(err, i, false, "delete: cannot delete this element");
            if (op_delete(a, &s, err) < 0) return -1;
        } else if (cw_slice_eq_cstr(type, "replace")) {
            if (!vp) return fp_fail(err, i, true, "replace needs a value");
            if (c.n != 1) return fp_fail(err, i, false, "replace: the path must select exactly one element");
            struct slot s;
            if (slot_of(&c.items[0], &s) < 0) return fp_fail(err, i, false, "replace: cannot replace this element");
            long k = obj_find(s.obj, s.key);
            struct cw_json *v = &s.obj->u.members[k].value;
            if (s.index != CW_FHIR_NO_INDEX && cw_json_is(v, CW_JSON_ARRAY) && s.index < v->len)
                v->u.items[s.index] = value;
            else
                *v = value;
        } else if (cw_slice_eq_cstr(type, "add")) {
            if (!vp || !nm) return fp_fail(err, i, true, "add needs a name and a value");
            if (c.n != 1 || c.items[0].kind != CW_FHIRPATH_NODE)
                return fp_fail(err, i, false, "add: the path must select exactly one element");
            const struct cw_fhir_node *node = c.items[0].u.node;
            struct cw_json *obj = (struct cw_json *)node->value;
            if (!cw_json_is(obj, CW_JSON_OBJECT)) return fp_fail(err, i, false, "add: the path must select a complex element");
            bool repeats;
            cw_slice key = child_key(a, node, cw_json_text(&nm->value), vtype, &repeats);
            if (!key.len) return fp_fail(err, i, false, "add: no such element there");
            long k = obj_find(obj, key);
            if (repeats) {
                if (k < 0) {
                    struct cw_json arr = cw_json_array();
                    if (!cw_json_append(a, &arr, value) || !cw_json_set(a, obj, key, arr))
                        return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
                } else if (cw_json_is(&obj->u.members[k].value, CW_JSON_ARRAY)) {
                    struct cw_json *arr = &obj->u.members[k].value;
                    if (arr_insert(a, arr, arr->len, value) < 0) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
                }
            } else {
                if (k >= 0) return fp_fail(err, i, false, "add: the element already has a value");
                if (!cw_json_set(a, obj, key, value)) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
            }
        } else if (cw_slice_eq_cstr(type, "insert") || cw_slice_eq_cstr(type, "move")) {
            bool move = type.ptr[0] == 'm';
            if (move) {
                const struct cw_json_member *sm = value_x(part(parts, "source"));
                const struct cw_json_member *dm = value_x(part(parts, "destination"));
                long long src, dst;
                if (!sm || !dm || cw_json_to_i64(&sm->value, &src) < 0 || cw_json_to_i64(&dm->value, &dst) < 0)
                    return fp_fail(err, i, true, "move needs source and destination");
                if (src < 0 || dst < 0 || (size_t)src >= c.n || (size_t)dst >= c.n)
                    return fp_fail(err, i, false, "move: index out of range");
                struct slot s;
                if (slot_of(&c.items[0], &s) < 0) return fp_fail(err, i, false, "move: not a list");
                struct cw_json *arr = &s.obj->u.members[obj_find(s.obj, s.key)].value;
                if (!cw_json_is(arr, CW_JSON_ARRAY) || arr->len != c.n) return fp_fail(err, i, false, "move: not a list");
                struct cw_json v = arr->u.items[src];
                if (arr_remove(a, arr, (size_t)src) < 0 || arr_insert(a, arr, (size_t)dst, v) < 0)
                    return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
            } else {
                if (!vp || index < 0) return fp_fail(err, i, true, "insert needs an index and a value");
                if ((size_t)index > c.n) return fp_fail(err, i, false, "insert: index out of range");
                if (c.n == 0) return fp_fail(err, i, false, "insert: the list is empty (use add)");
                struct slot s;
                if (slot_of(&c.items[0], &s) < 0) return fp_fail(err, i, false, "insert: not a list");
                struct cw_json *arr = &s.obj->u.members[obj_find(s.obj, s.key)].value;
                if (!cw_json_is(arr, CW_JSON_ARRAY)) return fp_fail(err, i, false, "insert: not a list");
                if (arr_insert(a, arr, (size_t)index, value) < 0) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
            }
        } else {
            return fp_fail(err, i, true, "unknown type (add, insert, delete, replace, move)");
        }
    }
    return 0;
}
