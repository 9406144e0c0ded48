/*
 * fhirpath_fhir.c — the FHIR functions and constants of FHIRPath
 * (FHIR R4 fhirpath.html §2.1.9.x "Additional functions" and "Variables"):
 * resolve(), memberOf(), conformsTo(), htmlChecks(), subsumes(),
 * subsumedBy(), and %ucum, %sct, %loinc, %vs-[name], %ext-[name].
 *
 *  - resolve(): references are found in the resource itself ("#id" among
 *    the contained resources of the containing resource), then in the
 *    enclosing Bundle (entry.fullUrl, or Type/id against the entries'
 *    resources, absolute URLs compared by their Type/id tail), then through
 *    the caller's resolver callback. Unresolvable references give nothing.
 *  - memberOf(): a code, Coding or CodeableConcept against a value set of
 *    the compiled definitions (cw_fhir_vs_contains); when the definitions
 *    cannot decide (LOINC, SNOMED CT...) the result is empty; an unknown
 *    value set URL is an error (fhirpath.html: "an error is thrown").
 *  - conformsTo(): the caller's callback when given; otherwise core type
 *    definitions are answered by type (a Patient conforms to
 *    .../StructureDefinition/Patient and to DomainResource, not to Person);
 *    a profile whose base type differs answers false, a profile of the same
 *    type needs a validator (callback) and is reported as not supported;
 *    an unknown URL is an error (R4).
 *  - htmlChecks(): the narrative rules of cw_fhir_check_primitive(xhtml).
 * Pure functions of their inputs and the immutable definitions.
 */
#include <stdio.h>

#include "fhir/fhirpath_int.h"

/* ---- constants ---- */

int fp_builtin_var(struct fp_ev *ev, cw_slice name, fp_val *out)
{
    (void)ev;
    if (cw_slice_eq_cstr(name, "ucum")) {
        *out = fp_str(CW_LIT("http://unitsofmeasure.org"));
        return 1;
    }
    if (cw_slice_eq_cstr(name, "sct")) {
        *out = fp_str(CW_LIT("http://snomed.info/sct"));
        return 1;
    }
    if (cw_slice_eq_cstr(name, "loinc")) {
        *out = fp_str(CW_LIT("http://loinc.org"));
        return 1;
    }
    static const struct {
        const char *prefix, *base;
    } P[] = {
        {"vs-", "http://hl7.org/fhir/ValueSet/"},
        {"ext-", "http://hl7.org/fhir/StructureDefinition/"},
    };
    for (size_t k = 0; k < sizeof P / sizeof P[0]; k++) {
        cw_slice pre = cw_slice_cstr(P[k].prefix);
        if (name.len > pre.len && cw_slice_starts_with(name, pre)) {
            cw_slice rest = {name.ptr + pre.len, name.len - pre.len};
            size_t bl = strlen(P[k].base);
            if (rest.len > 1024) return 0;
            char *p = cw_arena_alloc_bytes(ev->a, bl + rest.len + 1);
            if (!p) return -1;
            memcpy(p, P[k].base, bl);
            memcpy(p + bl, rest.ptr, rest.len);
            p[bl + rest.len] = 0;
            *out = fp_str((cw_slice){p, bl + rest.len});
            return 1;
        }
    }
    return 0;
}

/* ---- resolve() ---- */

static cw_slice json_str(const struct cw_json *obj, const char *key)
{
    const struct cw_json *v = cw_json_get(obj, key);
    return cw_json_is(v, CW_JSON_STRING) ? cw_json_text(v) : CW_SLICE_NULL;
}

/* The reference text of an item: Reference.reference, or a string value. */
static cw_slice ref_text(struct fp_ev *ev, const fp_val *it)
{
    if (it->kind == CW_FHIRPATH_NODE && !fp_node_is_primitive(it->u.node)) {
        const struct cw_json *o = it->u.node->value;
        return json_str(o, "reference");
    }
    fp_val s;
    if (fp_to_system(ev, it, &s) == 1 && s.kind == CW_FHIRPATH_STRING) return fp_val_str(&s);
    return CW_SLICE_NULL;
}

/* "Type/id" at the end of a reference (before any /_history/...). */
static bool type_id_tail(cw_slice ref, cw_slice *type, cw_slice *id)
{
    /* drop /_history/vid */
    for (size_t i = 0; i + 10 <= ref.len; i++) {
        if (memcmp(ref.ptr + i, "/_history/", 10) == 0) {
            ref.len = i;
            break;
        }
    }
    long slash = -1, prev = -1;
    for (size_t i = 0; i < ref.len; i++) {
        if (ref.ptr[i] == '/') {
            prev = slash;
            slash = (long)i;
        }
    }
    if (slash < 0) return false;
    *id = (cw_slice){ref.ptr + slash + 1, ref.len - (size_t)slash - 1};
    *type = (cw_slice){ref.ptr + prev + 1, (size_t)(slash - prev - 1)};
    return id->len > 0 && type->len > 0;
}

static const struct cw_fhir_node *nearest_resource(const struct cw_fhir_node *n)
{
    for (int g = 0; n && g < 100000; g++, n = n->parent)
        if (n->flags & CW_FHIR_NODE_RESOURCE) return n;
    return NULL;
}

static const struct cw_fhir_node *nearest_bundle(const struct cw_fhir_node *n)
{
    for (int g = 0; n && g < 100000; g++, n = n->parent)
        if ((n->flags & CW_FHIR_NODE_RESOURCE) &&
            cw_slice_eq_cstr(cw_fhir_sd_type_name(n->type), "Bundle"))
            return n;
    return NULL;
}

static int push_resource(struct fp_ev *ev, const struct cw_json *res,
                         const struct cw_fhir_node *parent, struct fp_vec *out)
{
    fp_val v;
    if (fp_node_for_resource(ev, res, parent, &v) < 0) return -1;
    return fp_vec_push(ev, out, v);
}

int fp_fn_resolve(struct fp_ev *ev, const struct fp_ast *n, fp_coll in, struct fp_vec *out)
{
    const struct cw_fhir_node *ctx_root =
        ev->root.n == 1 && ev->root.items[0].kind == CW_FHIRPATH_NODE ? ev->root.items[0].u.node
                                                                      : NULL;
    for (size_t i = 0; i < in.n; i++) {
        if (fp_steps(ev, n, 1) < 0) return -1;
        const fp_val *it = &in.items[i];
        cw_slice ref = ref_text(ev, it);
        if (ref.len == 0) continue;
        const struct cw_fhir_node *at = it->kind == CW_FHIRPATH_NODE ? it->u.node : ctx_root;
        if (ref.ptr[0] == '#') {
            const struct cw_fhir_node *res = nearest_resource(at);
            if (res && cw_slice_eq_cstr(res->name, "contained"))
                res = nearest_resource(res->parent);
            if (!res) continue;
            if (ref.len == 1) {
                if (push_resource(ev, res->value, res->parent, out) < 0) return -1;
                continue;
            }
            const struct cw_json *contained = cw_json_get(res->value, "contained");
            if (!cw_json_is(contained, CW_JSON_ARRAY)) continue;
            cw_slice want = {ref.ptr + 1, ref.len - 1};
            for (uint32_t k = 0; k < contained->len; k++) {
                const struct cw_json *c = &contained->u.items[k];
                if (cw_slice_eq(json_str(c, "id"), want)) {
                    if (push_resource(ev, c, res, out) < 0) return -1;
                    break;
                }
            }
            continue;
        }
        bool found = false;
        const struct cw_fhir_node *bundle = nearest_bundle(at);
        if (!bundle && ctx_root && cw_slice_eq_cstr(cw_fhir_sd_type_name(ctx_root->type), "Bundle"))
            bundle = ctx_root;
        if (bundle) {
            const struct cw_json *entries = cw_json_get(bundle->value, "entry");
            cw_slice rtype = CW_SLICE_NULL, rid = CW_SLICE_NULL;
            bool has_tail = type_id_tail(ref, &rtype, &rid);
            for (uint32_t k = 0; cw_json_is(entries, CW_JSON_ARRAY) && k < entries->len && !found;
                 k++) {
                const struct cw_json *e = &entries->u.items[k];
                const struct cw_json *res = cw_json_get(e, "resource");
                if (!cw_json_is(res, CW_JSON_OBJECT)) continue;
                cw_slice full = json_str(e, "fullUrl");
                bool match = full.len && cw_slice_eq(full, ref);
                if (!match && has_tail)
                    match = cw_slice_eq(json_str(res, "resourceType"), rtype) &&
                            cw_slice_eq(json_str(res, "id"), rid);
                if (match) {
                    if (push_resource(ev, res, bundle, out) < 0) return -1;
                    found = true;
                }
            }
        }
        if (!found && ev->env && ev->env->resolve) {
            const struct cw_json *res = ev->env->resolve(ref, ev->env->resolve_ctx);
            if (cw_json_is(res, CW_JSON_OBJECT) && push_resource(ev, res, NULL, out) < 0) return -1;
        }
    }
    return 0;
}

/* ---- terminology ---- */

/* Combine membership answers: yes wins, then unknown. */
static int member_coding(struct fp_ev *ev, struct cw_fhir_vs vs, const struct cw_json *coding)
{
    (void)ev;
    cw_slice sys = json_str(coding, "system"), code = json_str(coding, "code");
    if (code.len == 0) return FP_FALSE;
    enum cw_fhir_member m = cw_fhir_vs_contains(vs, sys, code, NULL);
    return m == CW_FHIR_MEMBER_YES ? FP_TRUE : m == CW_FHIR_MEMBER_NO ? FP_FALSE : FP_UNKNOWN;
}

int fp_fn_member_of(struct fp_ev *ev, const struct fp_ast *n, const fp_val *item, cw_slice url,
                    int *result)
{
    struct cw_fhir_vs vs = cw_fhir_vs_find(url);
    if (!cw_fhir_vs_ok(vs))
        return fp_fail(ev, n, CW_ISSUE_NOT_FOUND, "memberOf(): unknown value set");
    *result = FP_FALSE;
    if (item->kind == CW_FHIRPATH_NODE && !fp_node_is_primitive(item->u.node)) {
        const struct cw_fhir_node *node = item->u.node;
        cw_slice tn = cw_fhir_sd_type_name(node->type);
        if (cw_slice_eq_cstr(tn, "Coding")) {
            *result = member_coding(ev, vs, node->value);
            return 0;
        }
        if (cw_slice_eq_cstr(tn, "CodeableConcept")) {
            const struct cw_json *codings = cw_json_get(node->value, "coding");
            bool unknown = false;
            for (uint32_t k = 0; cw_json_is(codings, CW_JSON_ARRAY) && k < codings->len; k++) {
                int r = member_coding(ev, vs, &codings->u.items[k]);
                if (r == FP_TRUE) {
                    *result = FP_TRUE;
                    return 0;
                }
                if (r == FP_UNKNOWN) unknown = true;
            }
            *result = unknown ? FP_UNKNOWN : FP_FALSE;
            return 0;
        }
        cw_slice sys = json_str(node->value, "system"), code = json_str(node->value, "code");
        if (code.len) { /* Quantity and other system/code pairs */
            enum cw_fhir_member m = cw_fhir_vs_contains(vs, sys, code, NULL);
            *result = m == CW_FHIR_MEMBER_YES  ? FP_TRUE
                      : m == CW_FHIR_MEMBER_NO ? FP_FALSE
                                               : FP_UNKNOWN;
        }
        return 0;
    }
    fp_val s;
    if (fp_to_system(ev, item, &s) != 1 || s.kind != CW_FHIRPATH_STRING) return 0;
    enum cw_fhir_member m = cw_fhir_vs_contains(vs, CW_SLICE_NULL, fp_val_str(&s), NULL);
    *result = m == CW_FHIR_MEMBER_YES ? FP_TRUE : m == CW_FHIR_MEMBER_NO ? FP_FALSE : FP_UNKNOWN;
    return 0;
}

/* system and code of a Coding node or (for a plain code) nothing */
static bool coding_of(struct fp_ev *ev, const fp_val *v, cw_slice *sys, cw_slice *code)
{
    if (v->kind == CW_FHIRPATH_NODE && !fp_node_is_primitive(v->u.node)) {
        *sys = json_str(v->u.node->value, "system");
        *code = json_str(v->u.node->value, "code");
        return code->len > 0;
    }
    fp_val s;
    if (fp_to_system(ev, v, &s) == 1 && s.kind == CW_FHIRPATH_STRING) {
        *sys = CW_SLICE_NULL;
        *code = fp_val_str(&s);
        return code->len > 0;
    }
    return false;
}

int fp_fn_subsumes(struct fp_ev *ev, const struct fp_ast *n, const fp_val *a, const fp_val *b,
                   int *result)
{
    (void)n;
    cw_slice sa, ca, sb, cb;
    *result = FP_UNKNOWN;
    if (!coding_of(ev, a, &sa, &ca) || !coding_of(ev, b, &sb, &cb)) return 0;
    if (sa.len && sb.len && !cw_slice_eq(sa, sb)) {
        *result = FP_FALSE;
        return 0;
    }
    cw_slice sys = sa.len ? sa : sb;
    if (!sys.len) return 0;
    struct cw_fhir_cs cs = cw_fhir_cs_find(sys);
    if (!cw_fhir_cs_ok(cs)) return 0;
    if (cw_fhir_cs_lookup(cs, ca, NULL) < 0 || cw_fhir_cs_lookup(cs, cb, NULL) < 0) return 0;
    *result = cw_fhir_cs_subsumes(cs, ca, cb) ? FP_TRUE : FP_FALSE;
    return 0;
}

/* ---- conformsTo() ---- */

int fp_fn_conforms_to(struct fp_ev *ev, const struct fp_ast *n, const fp_val *item, cw_slice url,
                      int *result)
{
    const struct cw_fhirpath_env *env = ev->env;
    if (env && env->conforms) {
        struct cw_err e2;
        cw_err_clear(&e2);
        int r = env->conforms(item, url, env->conforms_ctx, &e2);
        if (r < 0)
            return fp_fail(ev, n, e2.issue ? e2.issue : CW_ISSUE_PROCESSING, "conformsTo(): %s",
                           e2.msg[0] ? e2.msg : "the profile could not be checked");
        *result = r ? FP_TRUE : FP_FALSE;
        return 0;
    }
    struct cw_fhir_sd sd = cw_fhir_sd_by_url(env ? env->registry : NULL, url);
    if (!cw_fhir_sd_ok(sd))
        return fp_fail(ev, n, CW_ISSUE_NOT_FOUND, "conformsTo(): unknown profile");
    if (item->kind != CW_FHIRPATH_NODE || (item->u.node->flags & FP_NODE_UNTYPED)) {
        *result = FP_FALSE;
        return 0;
    }
    struct cw_fhir_sd t = item->u.node->type;
    struct cw_fhir_sd base = cw_fhir_sd_type(sd);
    if (!cw_fhir_type_is_a(t, base)) {
        *result = FP_FALSE;
        return 0;
    }
    if (!cw_fhir_sd_is_profile(sd)) {
        *result = FP_TRUE;
        return 0;
    }
    return fp_fail(ev, n, CW_ISSUE_NOT_SUPPORTED,
                   "conformsTo(): checking a profile needs a validator (set env.conforms)");
}

/* ---- htmlChecks() ---- */

int fp_fn_html_checks(struct fp_ev *ev, const fp_val *item, bool *ok)
{
    fp_val s;
    if (fp_to_system(ev, item, &s) != 1 || s.kind != CW_FHIRPATH_STRING) {
        *ok = false;
        return 0;
    }
    struct cw_err e2;
    cw_err_clear(&e2);
    *ok = cw_fhir_check_primitive(cw_fhir_type_cstr("xhtml"), fp_val_str(&s), &e2) >= 0;
    return 0;
}
