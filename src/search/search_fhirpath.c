/*
 * search_fhirpath.c — the one adapter between search indexing and the
 * FHIRPath engine (src/fhir/fhirpath.h).
 *
 * Owns: compiled expressions (search_fp_compile / search_fp_free).
 *
 * Results come back as struct search_value: nodes of the resource with their
 * FHIR type, or System values as text. resolve() is answered with a stub
 * resource {"resourceType": T, "id": I} made from the reference text (the
 * last "Type/id" of it), which is all that `where(resolve() is Patient)` in
 * the R4 SearchParameter expressions needs; nothing is read from the store.
 */
#include <stdlib.h>
#include <string.h>

#include "search/search_int.h"

#include "fhir/fhirpath.h"

struct search_expr {
    struct cw_fhirpath_expr *e;
};

int search_fp_compile(cw_slice text, struct cw_fhir_sd root, struct search_expr **out,
                      struct cw_err *err)
{
    *out = NULL;
    struct cw_fhirpath_opts o = {.root_type = root};
    struct cw_fhirpath_expr *e;
    if (cw_fhirpath_compile(text, &o, &e, err) < 0) return -1;
    struct search_expr *se = calloc(1, sizeof *se);
    if (!se) {
        cw_fhirpath_free(e);
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "search: out of memory");
    }
    se->e = e;
    *out = se;
    return 0;
}

void search_fp_free(struct search_expr *e)
{
    if (!e) return;
    cw_fhirpath_free(e->e);
    free(e);
}

/* The "Type/id" at the end of a reference (before /_history/...). */
static bool ref_tail(cw_slice ref, cw_slice *type, cw_slice *id)
{
    for (size_t i = 0; i + 10 <= ref.len; i++)
        if (memcmp(ref.ptr + i, "/_history/", 10) == 0) {
            ref.len = i;
            break;
        }
    long slash = -1, prev = -1;
    for (size_t i = 0; i < ref.len; i++)
        if (ref.ptr[i] == '/') {
            prev = slash;
            slash = (long)i;
        }
    if (slash <= 0) return false;
    *id = (cw_slice){ref.ptr + slash + 1, ref.len - (size_t)slash - 1};
    *type = (cw_slice){ref.ptr + prev + 1, (size_t)(slash - prev - 1)};
    return id->len > 0 && type->len > 0 && type->ptr[0] >= 'A' && type->ptr[0] <= 'Z';
}

static const struct cw_json *stub_resolve(cw_slice reference, void *ctx)
{
    struct cw_arena *a = ctx;
    cw_slice type, id;
    if (!ref_tail(reference, &type, &id)) return NULL;
    struct cw_fhir_sd sd = cw_fhir_type(type);
    if (!cw_fhir_sd_ok(sd) || cw_fhir_sd_kind(sd) != CW_FHIR_KIND_RESOURCE) return NULL;
    struct cw_json *o = cw_arena_alloc(a, sizeof *o);
    if (!o) return NULL;
    *o = cw_json_object();
    if (!cw_json_set(a, o, CW_LIT("resourceType"), cw_json_string(type)) ||
        !cw_json_set(a, o, CW_LIT("id"), cw_json_string(id)))
        return NULL;
    return o;
}

/* The text of a System value, copied into a. */
static cw_slice sys_text(struct cw_arena *a, const struct cw_fhirpath_value *v)
{
    if (v->kind == CW_FHIRPATH_STRING) return (cw_slice){v->u.s, v->len};
    struct cw_buf b;
    cw_buf_init(&b, 4096);
    cw_slice out = CW_SLICE_NULL;
    if (cw_fhirpath_value_text(v, &b) == 0 && !cw_buf_failed(&b)) out = cw_arena_dup(a, cw_buf_slice(&b));
    cw_buf_release(&b);
    return out;
}

static int convert(struct cw_arena *a, struct cw_fhirpath_coll c, struct search_value **items,
                   size_t *n, struct cw_err *err)
{
    *items = NULL;
    *n = 0;
    if (!c.n) return 0;
    struct search_value *out = cw_arena_array(a, c.n, sizeof *out);
    if (!out) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "search: arena limit");
    size_t k = 0;
    for (size_t i = 0; i < c.n; i++) {
        const struct cw_fhirpath_value *v = &c.items[i];
        struct search_value *o = &out[k];
        memset(o, 0, sizeof *o);
        switch (v->kind) {
        case CW_FHIRPATH_NODE:
            o->kind = SV_NODE;
            o->node = v->u.node;
            o->type = v->u.node->type;
            o->json = v->u.node->value;
            break;
        case CW_FHIRPATH_BOOLEAN:
            o->kind = SV_BOOLEAN;
            o->text = v->u.b ? CW_LIT("true") : CW_LIT("false");
            break;
        case CW_FHIRPATH_STRING: o->kind = SV_STRING; break;
        case CW_FHIRPATH_INTEGER: o->kind = SV_INTEGER; break;
        case CW_FHIRPATH_DECIMAL: o->kind = SV_DECIMAL; break;
        case CW_FHIRPATH_DATE: o->kind = SV_DATE; break;
        case CW_FHIRPATH_DATETIME: o->kind = SV_DATETIME; break;
        case CW_FHIRPATH_TIME: o->kind = SV_TIME; break;
        case CW_FHIRPATH_QUANTITY: o->kind = SV_QUANTITY; break;
        default: continue; /* type information: nothing to index */
        }
        if (o->kind != SV_NODE && o->kind != SV_BOOLEAN) {
            o->text = sys_text(a, v);
            if (!o->text.ptr) continue;
            if (o->kind == SV_QUANTITY) {
                /* "1.5 'mg'" -> value, unit */
                long sp = cw_slice_index(o->text, ' ');
                if (sp > 0) {
                    cw_slice u = cw_slice_sub(o->text, (size_t)sp + 1, o->text.len - (size_t)sp - 1);
                    if (u.len >= 2 && u.ptr[0] == '\'' && u.ptr[u.len - 1] == '\'')
                        u = cw_slice_sub(u, 1, u.len - 2);
                    o->unit = u;
                    o->text = cw_slice_sub(o->text, 0, (size_t)sp);
                }
            }
        }
        k++;
    }
    *items = out;
    *n = k;
    return 0;
}

int search_fp_eval(struct cw_arena *a, const struct search_expr *e, const struct cw_json *resource,
                   const struct search_value *context, struct search_value **items, size_t *n,
                   struct cw_err *err)
{
    struct cw_fhirpath_env env = {
        .resolve = stub_resolve,
        .resolve_ctx = a,
        .tz_offset_set = true,
        .as_filters = true,
    };
    struct cw_fhirpath_coll c;
    int rc;
    if (context) {
        if (context->kind != SV_NODE || !context->node) {
            *items = NULL;
            *n = 0;
            return 0;
        }
        rc = cw_fhirpath_eval_node(a, e->e, &env, context->node, &c, err);
    } else {
        rc = cw_fhirpath_eval(a, e->e, &env, resource, &c, err);
    }
    if (rc < 0) return -1;
    return convert(a, c, items, n, err);
}
