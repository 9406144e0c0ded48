/*
 * fhir_validate.c — the FHIR R4 validator (see fhir_validate.h and
 * docs/internals/validate.md).
 *
 * Two kinds of pass over the resource model (fhir.h nodes):
 *
 *  - the base pass walks the resource with the core type definitions:
 *    unknown elements and JSON shapes (reported by the model's iterator),
 *    cardinality, primitive text, maxLength, bindings, code systems,
 *    references, invariants (element and type constraints), extensions
 *    with a known definition (and their contexts), meta.profile of every
 *    resource it meets (root, contained, Bundle entries); rules beyond the
 *    definitions: Bundle entry identity, links and document integrity,
 *    Questionnaire/QuestionnaireResponse, narrative links, Attachment
 *    size, Coding/Identifier systems;
 *  - a profile pass walks a node with a profile's snapshot elements (the
 *    model resolves names among a profile element's children when the
 *    profile has them): what the profile adds — cardinality and bindings
 *    that differ from the base, fixed/pattern values, profile invariants,
 *    slicing, type profiles, must-support. It descends only while the
 *    structure comes from the profile; below that the base pass has
 *    already said everything.
 *
 * Slicing (profiling.html#slicing): each item of a sliced element is
 * matched against the slices by their discriminators (value and pattern:
 * the fixed/pattern value, or binding, at the discriminator path; type;
 * exists; profile: a trial validation against the slice's profile), then
 * validated as that slice; per-slice cardinality is counted; an unmatched
 * item of closed slicing is an error.
 *
 * Owns: nothing beyond the call; issues go to the caller's arena, FHIRPath
 * scratch to a private arena destroyed at the end.
 * Invariants: recursion is bounded (max_depth for elements, VMAX_PASS for
 * nested profile passes); messages never include data values.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "base/datetime.h"
#include "fhir/fhir_int.h"
#include "fhir/fhir_validate_int.h"
#include "fhir/fhirpath.h"

#define VMAX_PASS   6    /* nested profile passes (extension in extension, trial matches) */
#define VPOOL_COUNT 8192 /* child counters in the per-validation pool */

struct vrun {
    struct cw_arena *a;       /* issues */
    struct cw_arena *scratch; /* FHIRPath results, reset when hold == 0 */
    unsigned hold;
    const struct cw_fhir_vopts *o;
    const struct cw_fhir_registry *reg;
    unsigned flags;
    size_t max_issues;
    unsigned max_depth;
    struct cw_fhir_vresult *res;
    size_t cap;
    bool stop;
    bool oom;
    bool repeat_ok; /* identical issues are listed again (one per profile) */
    unsigned pass_depth;
    bool quiet;          /* trial validation: count errors, store nothing */
    size_t quiet_errors; /* errors seen while quiet */
    bool profile;        /* the current pass is a profile pass */
    struct cw_fhirpath_env env;
    const struct cw_json *root;
    struct cw_buf path;
    struct cw_err err;   /* scratch for the model's iterator */
    struct vcount *pool; /* LIFO pool of child counters (check_children) */
    size_t pool_used;
    bool bidx_built;
    bool bidx_dups; /* two entries of the Bundle share a fullUrl (versions) */
    /* results of check_target_profiles trials (entry resource, profile) */
    struct vtmemo {
        const struct cw_json *res;
        struct cw_fhir_sd sd;
        bool ok;
    } tmemo[16];
    unsigned n_tmemo;
    struct vbidx {
        struct vbslot {
            cw_slice key;            /* fullUrl, or the "Type/id" tail of one */
            const struct cw_json *e; /* the entry */
        } * slot;
        size_t cap;
    } bidx;
};

/* ---- issues ---- */

static void vissue(struct vrun *r, const struct cw_fhir_node *n, cw_slice suffix,
                   enum cw_severity sev, enum cw_issue code, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void count_issue(struct vrun *r, enum cw_severity sev)
{
    switch (sev) {
    case CW_SEV_FATAL:
        r->res->n_fatal++;
        break;
    case CW_SEV_ERROR:
        r->res->n_error++;
        break;
    case CW_SEV_WARNING:
        r->res->n_warning++;
        break;
    default:
        r->res->n_info++;
        break;
    }
}

static void add_issue(struct vrun *r, const char *loc, enum cw_severity sev, enum cw_issue code,
                      const char *rule, const char *msg)
{
    if (r->stop) return;
    if (r->res->n >= r->max_issues) {
        /* past the limit issues are counted, not listed; past ten times the
           limit the validation stops (work limit) */
        count_issue(r, sev);
        size_t total = r->res->n_fatal + r->res->n_error + r->res->n_warning + r->res->n_info;
        if (!r->res->truncated) {
            r->res->truncated = true;
            sev = CW_SEV_WARNING;
            code = CW_ISSUE_TOO_COSTLY;
            msg = "issue limit reached: further issues are counted, not listed";
            rule = "";
        } else if (total >= r->max_issues * 10) {
            r->stop = true;
            sev = CW_SEV_ERROR;
            code = CW_ISSUE_TOO_COSTLY;
            msg = "too many issues: validation stopped";
            rule = "";
        } else {
            return;
        }
    }
    if (r->res->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 16;
        struct cw_fhir_vissue *ni = cw_arena_array(r->a, ncap, sizeof *ni);
        if (!ni) {
            r->oom = r->stop = true;
            return;
        }
        if (r->res->n) memcpy(ni, r->res->issues, r->res->n * sizeof *ni);
        r->res->issues = ni;
        r->cap = ncap;
    }
    struct cw_fhir_vissue *is = &r->res->issues[r->res->n];
    is->severity = sev;
    is->code = code;
    is->location = cw_arena_strndup(r->a, loc, strlen(loc));
    is->message = cw_arena_strndup(r->a, msg, strlen(msg));
    is->rule = cw_arena_strndup(r->a, rule ? rule : "", rule ? strlen(rule) : 0);
    if (!is->location || !is->message || !is->rule) {
        r->oom = r->stop = true;
        return;
    }
    r->res->n++;
    count_issue(r, sev);
}

/*
 * A node's FHIRPath location, like cw_fhir_node_path, except that a node a
 * profile pass re-rooted on a profile (an extension validated against its
 * definition, a type profile) keeps the name it has in the resource.
 */
static void node_path(const struct cw_fhir_node *n, struct cw_buf *out, int depth)
{
    if (depth > 1024) return;
    if (!n->parent) {
        cw_fhir_node_path(n, out);
        return;
    }
    node_path(n->parent, out, depth + 1);
    cw_buf_putc(out, '.');
    bool rerooted = n->elem.set && !cw_fhir_elem_parent(n->elem).set;
    if (n->elem.set && !rerooted) {
        cw_buf_put_slice(out, cw_fhir_elem_name(n->elem));
    } else {
        cw_slice nm = n->name;
        cw_slice tn = cw_fhir_sd_type_name(n->type);
        if ((n->flags & CW_FHIR_NODE_CHOICE) && nm.len > tn.len) nm.len -= tn.len;
        cw_buf_put_slice(out, nm);
    }
    if (n->flags & CW_FHIR_NODE_CHOICE) {
        cw_buf_puts(out, ".ofType(");
        cw_buf_put_slice(out, cw_fhir_sd_type_name(n->type));
        cw_buf_putc(out, ')');
    }
    if (n->index != CW_FHIR_NO_INDEX) cw_buf_printf(out, "[%u]", n->index);
}

static void vissue(struct vrun *r, const struct cw_fhir_node *n, cw_slice suffix,
                   enum cw_severity sev, enum cw_issue code, const char *rule, const char *fmt, ...)
{
    if (r->quiet) {
        if (sev <= CW_SEV_ERROR) r->quiet_errors++;
        return;
    }
    if (r->stop) return;
    char msg[CW_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cw_buf_reset(&r->path);
    if (n) node_path(n, &r->path, 0);
    if (suffix.len) {
        cw_buf_putc(&r->path, '.');
        cw_buf_put_slice(&r->path, suffix);
    }
    const char *loc = cw_buf_failed(&r->path) ? "(path too long)" : cw_buf_cstr(&r->path);
    if (!loc) loc = "";
    /* one problem, one error: a check that runs again on the same element
       (a binding seen by the profile and by the element's type profile)
       does not repeat an error already listed (errors are few; warnings
       are not compared) */
    for (size_t i = r->repeat_ok || sev > CW_SEV_ERROR ? 0 : r->res->n; i-- > 0;) {
        const struct cw_fhir_vissue *o = &r->res->issues[i];
        if (o->severity == sev && strcmp(o->location, loc) == 0 && strcmp(o->message, msg) == 0)
            return;
    }
    add_issue(r, loc, sev, code, rule, msg);
}

void fhir_vreport(struct vrun *r, const struct cw_fhir_node *n, enum cw_severity sev,
                  enum cw_issue code, const char *msg)
{
    vissue(r, n, CW_SLICE_NULL, sev, code, "", "%s", msg);
}

const struct cw_fhir_registry *fhir_vregistry(const struct vrun *r)
{
    return r->reg;
}

void fhir_vreport_at(struct vrun *r, const struct cw_fhir_node *n, cw_slice suffix,
                     enum cw_severity sev, enum cw_issue code, const char *msg)
{
    vissue(r, n, suffix, sev, code, "", "%s", msg);
}

/* An error from the model's iterator (already located). */
static void vissue_err(struct vrun *r, const struct cw_err *e, enum cw_severity sev)
{
    if (r->quiet) {
        if (sev <= CW_SEV_ERROR) r->quiet_errors++;
        return;
    }
    add_issue(r, e->location, sev, e->issue ? e->issue : CW_ISSUE_STRUCTURE, "", e->msg);
}

/* ---- small helpers ---- */

/* Core types the checks test for, looked up once. */
static struct {
    struct cw_fhir_sd reference, extension, coding, codeable, quantity, uri, xhtml, id, code;
    struct cw_fhir_sd attachment, markdown, identifier;
    struct cw_fhir_elem bundle_entry;
} T;
static pthread_once_t types_once = PTHREAD_ONCE_INIT;

static void types_init(void)
{
    T.reference = cw_fhir_type_cstr("Reference");
    T.extension = cw_fhir_type_cstr("Extension");
    T.coding = cw_fhir_type_cstr("Coding");
    T.codeable = cw_fhir_type_cstr("CodeableConcept");
    T.quantity = cw_fhir_type_cstr("Quantity");
    T.uri = cw_fhir_type_cstr("uri");
    T.xhtml = cw_fhir_type_cstr("xhtml");
    T.id = cw_fhir_type_cstr("id");
    T.code = cw_fhir_type_cstr("code");
    T.attachment = cw_fhir_type_cstr("Attachment");
    T.markdown = cw_fhir_type_cstr("markdown");
    T.identifier = cw_fhir_type_cstr("Identifier");
    T.bundle_entry = cw_fhir_elem_by_id(cw_fhir_type_cstr("Bundle"), CW_LIT("Bundle.entry"));
}

static void scratch_done(struct vrun *r)
{
    if (r->hold == 0) cw_arena_reset(r->scratch);
}

static bool is_core_url(cw_slice url)
{
    return cw_slice_starts_with(url, CW_LIT("http://hl7.org/fhir/StructureDefinition/"));
}

static bool elem_is_profile(struct cw_fhir_elem e)
{
    return e.set && cw_fhir_sd_is_profile(cw_fhir_elem_sd(e));
}

/*
 * The core element a profile element constrains (by path in the profiled
 * type, else by name under its parent's core element); the element itself
 * for core types; none when not found.
 */
static struct cw_fhir_elem base_of(struct cw_fhir_elem pe, int depth)
{
    if (!pe.set || depth > 64) return CW_FHIR_NONE_ELEM;
    struct cw_fhir_sd sd = cw_fhir_elem_sd(pe);
    if (!cw_fhir_sd_is_profile(sd)) return pe;
    struct cw_fhir_sd t = cw_fhir_sd_type(sd);
    struct cw_fhir_elem b = cw_fhir_elem_by_id(t, cw_fhir_elem_path(pe));
    if (b.set) return b;
    struct cw_fhir_elem pp = cw_fhir_elem_parent(pe);
    if (!pp.set) return CW_FHIR_NONE_ELEM;
    struct cw_fhir_elem bp = base_of(pp, depth + 1);
    if (!bp.set) return CW_FHIR_NONE_ELEM;
    struct cw_fhir_sd bt = cw_fhir_elem_single_type(bp);
    return cw_fhir_child_by_name(bp, bt, cw_fhir_elem_name(pe));
}

/* Is there an identical (key, expression) constraint in the core definitions? */
static bool core_has_constraint(struct cw_fhir_elem pe, const struct cw_fhir_constraint *c)
{
    if (c->source.len && !is_core_url(c->source)) return false;
    struct cw_fhir_elem b = base_of(pe, 0);
    if (b.set) {
        size_t n = cw_fhir_elem_constraint_count(b);
        for (size_t i = 0; i < n; i++) {
            struct cw_fhir_constraint k;
            if (cw_fhir_elem_constraint(b, i, &k) == 0 && cw_slice_eq(k.key, c->key) &&
                cw_slice_eq(k.expression, c->expression))
                return true;
        }
    }
    /* type-level invariants copied into the profile's element (Quantity's qty-3, ...) */
    size_t nt = cw_fhir_elem_type_count(pe);
    for (size_t t = 0; t < nt; t++) {
        struct cw_fhir_typeref tr;
        if (cw_fhir_elem_type(pe, t, &tr) != 0 || !tr.type.set) continue;
        struct cw_fhir_elem root = cw_fhir_sd_root(tr.type);
        size_t n = cw_fhir_elem_constraint_count(root);
        for (size_t i = 0; i < n; i++) {
            struct cw_fhir_constraint k;
            if (cw_fhir_elem_constraint(root, i, &k) == 0 && cw_slice_eq(k.key, c->key) &&
                cw_slice_eq(k.expression, c->expression))
                return true;
        }
    }
    return cw_slice_eq_cstr(c->key, "ele-1") || cw_slice_eq_cstr(c->key, "ext-1");
}

/* ---- native invariants ----
 *
 * The invariants met on nearly every node are decided here without the
 * FHIRPath engine, when the definition's expression is exactly the R4 text
 * (so a profile that redefines a key still goes through FHIRPath). A
 * native check returns 1 (holds), 0 (fails) or -1 (not decided here: ask
 * FHIRPath). Each is equivalent to its expression on FHIR JSON.
 */

static bool has_member(const struct cw_json *o, const char *k)
{
    return cw_json_get(o, k) != NULL;
}

/* ele-1: hasValue() or (children().count() > id.count()) */
static int nat_ele1(const struct cw_fhir_node *n)
{
    if (n->flags & CW_FHIR_NODE_PRIMITIVE) {
        /* an empty string is no value (json.html: empty strings are not allowed) */
        if (n->value && !(cw_json_is(n->value, CW_JSON_STRING) && n->value->len == 0)) return 1;
        const struct cw_json *x = n->ext;
        if (!cw_json_is(x, CW_JSON_OBJECT)) return 0;
        for (uint32_t i = 0; i < x->len; i++)
            if (!cw_slice_eq_cstr(x->u.members[i].key, "id")) return 1;
        return 0;
    }
    const struct cw_json *v = n->value;
    if (!cw_json_is(v, CW_JSON_OBJECT)) return 0;
    for (uint32_t i = 0; i < v->len; i++) {
        cw_slice k = v->u.members[i].key;
        if (!cw_slice_eq_cstr(k, "id") && !cw_slice_eq_cstr(k, "resourceType")) return 1;
    }
    return 0;
}

/* dom-2, dom-3, dom-4, dom-5: all hold when there is no contained resource */
static int nat_no_contained(const struct cw_fhir_node *n)
{
    return has_member(n->value, "contained") ? -1 : 1;
}

/*
 * dom-3 (both R4 texts): every contained resource is referenced from
 * elsewhere in the resource. Decided here when each contained resource's
 * '#id' occurs among %resource.descendants().reference and the
 * descendants of a uri type (canonical, url, uri: as(uri) includes its
 * specializations); otherwise (an unreferenced one, or an id-less one in
 * the second text) FHIRPath decides. The walk uses the same typed nodes
 * as FHIRPath, so the sets are the same.
 */
#define DOM3_MAX_REFS 256
struct dom3 {
    const struct cw_fhir_node *root;
    struct cw_fhir_sd uri;
    cw_slice refs[DOM3_MAX_REFS];
    size_t n;
    bool overflow;
    bool narrative; /* also count href="#id" / src="#id" in xhtml */
};

/* Add the "#..." targets of href/src attributes in an xhtml text. */
static void dom3_xhtml(struct dom3 *d, cw_slice x)
{
    for (size_t i = 0; i + 7 < x.len; i++) {
        size_t skip;
        if (memcmp(x.ptr + i, "href=", 5) == 0)
            skip = 5;
        else if (memcmp(x.ptr + i, "src=", 4) == 0)
            skip = 4;
        else
            continue;
        size_t j = i + skip;
        if (j >= x.len || (x.ptr[j] != '"' && x.ptr[j] != '\'')) continue;
        char q = x.ptr[j++];
        if (j >= x.len || x.ptr[j] != '#') continue;
        size_t k = j;
        while (k < x.len && x.ptr[k] != q) k++;
        if (d->n == DOM3_MAX_REFS) {
            d->overflow = true;
            return;
        }
        d->refs[d->n++] = (cw_slice){x.ptr + j, k - j};
        i = k;
    }
}

static int dom3_visit(const struct cw_fhir_node *n, void *ctx)
{
    struct dom3 *d = ctx;
    if (n == d->root || !(n->flags & CW_FHIR_NODE_PRIMITIVE)) return 0;
    if (!cw_json_is(n->value, CW_JSON_STRING)) return 0;
    cw_slice v = cw_json_text(n->value);
    if (d->narrative && cw_fhir_sd_eq(n->type, T.xhtml)) {
        dom3_xhtml(d, v);
        return d->overflow ? -1 : 0;
    }
    if (!v.len || v.ptr[0] != '#') return 0;
    bool named_ref = n->parent != d->root && n->elem.set &&
                     cw_slice_eq_cstr(cw_fhir_elem_name(n->elem), "reference");
    if (!named_ref && !cw_fhir_type_is_a(n->type, d->uri)) return 0;
    if (d->n == DOM3_MAX_REFS) {
        d->overflow = true;
        return -1;
    }
    d->refs[d->n++] = v;
    return 0;
}

static int dom3_check(const struct cw_fhir_node *n, bool id_required, bool narrative)
{
    const struct cw_json *cs = cw_json_get(n->value, "contained");
    if (!cs) return 1;
    if (!cw_json_is(cs, CW_JSON_ARRAY)) return -1;
    struct dom3 *d = malloc(sizeof *d);
    if (!d) return -1;
    d->root = n;
    d->uri = T.uri;
    d->n = 0;
    d->overflow = false;
    d->narrative = narrative;
    struct cw_err err;
    int rc = 1;
    if (cw_fhir_walk(n, dom3_visit, NULL, d, 128, &err) != 0 || d->overflow) rc = -1;
    for (uint32_t i = 0; rc == 1 && i < cs->len; i++) {
        const struct cw_json *id = cw_json_get(&cs->u.items[i], "id");
        if (!id) {
            if (id_required || has_member(&cs->u.items[i], "_id")) rc = -1;
            continue;
        }
        if (!cw_json_is(id, CW_JSON_STRING)) {
            rc = -1;
            break;
        }
        bool found = false;
        for (size_t k = 0; k < d->n && !found; k++)
            found = d->refs[k].len == id->len + 1 &&
                    memcmp(d->refs[k].ptr + 1, id->u.str, id->len) == 0;
        if (!found) rc = -1;
    }
    free(d);
    return rc;
}

static int nat_dom3(const struct cw_fhir_node *n, bool id_required)
{
    return dom3_check(n, id_required, false);
}

static int nat_dom3a(const struct cw_fhir_node *n)
{
    return nat_dom3(n, false);
}

static int nat_dom3b(const struct cw_fhir_node *n)
{
    return nat_dom3(n, true);
}

/* dom-6: text.`div`.exists() */
static int nat_dom6(const struct cw_fhir_node *n)
{
    const struct cw_json *t = cw_json_get(n->value, "text");
    if (!cw_json_is(t, CW_JSON_OBJECT)) return 0;
    return has_member(t, "div") || has_member(t, "_div") ? 1 : 0;
}

/* ref-1: reference.startsWith('#').not() or (...): true unless a local reference */
static int nat_ref1(const struct cw_fhir_node *n)
{
    if (has_member(n->value, "_reference")) return -1;
    const struct cw_json *r = cw_json_get(n->value, "reference");
    if (!r) return 1; /* empty: not failed */
    if (!cw_json_is(r, CW_JSON_STRING)) return -1;
    return r->len && r->u.str[0] == '#' ? -1 : 1;
}

/* bdl-5: resource.exists() or request.exists() or response.exists() */
static int nat_bdl5(const struct cw_fhir_node *n)
{
    return has_member(n->value, "resource") || has_member(n->value, "request") ||
                   has_member(n->value, "response")
               ? 1
               : 0;
}

/* bdl-8: fullUrl.exists() implies fullUrl.contains('/_history/').not() */
static int nat_bdl8(const struct cw_fhir_node *n)
{
    if (has_member(n->value, "_fullUrl")) return -1;
    const struct cw_json *u = cw_json_get(n->value, "fullUrl");
    if (!u) return 1;
    if (!cw_json_is(u, CW_JSON_STRING)) return -1;
    cw_slice t = cw_json_text(u);
    for (size_t i = 0; i + 10 <= t.len; i++)
        if (memcmp(t.ptr + i, "/_history/", 10) == 0) return 0;
    return 1;
}

/* ext-1: extension.exists() != value.exists() */
static int nat_ext1(const struct cw_fhir_node *n)
{
    const struct cw_json *v = n->value;
    if (!cw_json_is(v, CW_JSON_OBJECT)) return -1;
    bool ext = false, val = false;
    for (uint32_t i = 0; i < v->len; i++) {
        cw_slice k = v->u.members[i].key;
        if (cw_slice_eq_cstr(k, "extension")) ext = true;
        if (k.len && k.ptr[0] == '_') k = (cw_slice){k.ptr + 1, k.len - 1};
        if (k.len > 5 && memcmp(k.ptr, "value", 5) == 0 && k.ptr[5] >= 'A' && k.ptr[5] <= 'Z')
            val = true;
    }
    return ext != val ? 1 : 0;
}

/* Does primitive "name" of object o exist for FHIRPath (a non-null value or
   a "_name" object)? 1 yes, 0 no, -1 a shape left to FHIRPath (arrays,
   objects where a value belongs). */
static int prim_exists(const struct cw_json *o, const char *name, const char *uname)
{
    const struct cw_json *v = cw_json_get(o, name);
    const struct cw_json *x = cw_json_get(o, uname);
    if ((v && (v->type == CW_JSON_ARRAY || v->type == CW_JSON_OBJECT)) ||
        (x && x->type == CW_JSON_ARRAY))
        return -1;
    return (v && v->type != CW_JSON_NULL) || cw_json_is(x, CW_JSON_OBJECT) ? 1 : 0;
}

/* "<key>.empty() or system.exists()" over the primitive key (and its _key). */
static int empty_or_system(const struct cw_fhir_node *n, const char *key, const char *ukey)
{
    if (!cw_json_is(n->value, CW_JSON_OBJECT)) return -1;
    int c = prim_exists(n->value, key, ukey);
    if (c <= 0) return c < 0 ? -1 : 1;
    int sy = prim_exists(n->value, "system", "_system");
    return sy < 0 ? -1 : sy;
}

/* qty-3: code.empty() or system.exists() */
static int nat_qty3(const struct cw_fhir_node *n)
{
    return empty_or_system(n, "code", "_code");
}

/* cpt-2: value.empty() or system.exists() (ContactPoint.value is a string) */
static int nat_cpt2(const struct cw_fhir_node *n)
{
    return empty_or_system(n, "value", "_value");
}

/* Has object o a member of choice element value[x] ("valueQuantity", "_valueString")? */
static bool has_value_x(const struct cw_json *o)
{
    for (uint32_t i = 0; i < o->len; i++) {
        cw_slice k = o->u.members[i].key;
        if (k.len && k.ptr[0] == '_') k = (cw_slice){k.ptr + 1, k.len - 1};
        if (k.len > 5 && memcmp(k.ptr, "value", 5) == 0 && k.ptr[5] >= 'A' && k.ptr[5] <= 'Z')
            return true;
    }
    return false;
}

/* obs-6: dataAbsentReason.empty() or value.empty(); -1 when both appear */
static int nat_obs6(const struct cw_fhir_node *n)
{
    if (!cw_json_is(n->value, CW_JSON_OBJECT)) return -1;
    if (!has_member(n->value, "dataAbsentReason")) return 1;
    return has_value_x(n->value) ? -1 : 1;
}

/* obs-7: value.empty() or component.code.where(...).empty(); -1 when both appear */
static int nat_obs7(const struct cw_fhir_node *n)
{
    if (!cw_json_is(n->value, CW_JSON_OBJECT)) return -1;
    if (!has_member(n->value, "component")) return 1;
    return has_value_x(n->value) ? -1 : 1;
}

/* per-1: start.hasValue().not() or end.hasValue().not() or (start <= end).
   Decided here when a bound has no value, or when both are valid dateTimes
   of the same shape (so the same precision) with the same zone text: then
   FHIRPath's comparison is the byte order. Anything else goes to FHIRPath. */
static int nat_per1(const struct cw_fhir_node *n)
{
    const struct cw_json *o = n->value;
    if (!cw_json_is(o, CW_JSON_OBJECT)) return -1;
    const struct cw_json *st = cw_json_get(o, "start"), *en = cw_json_get(o, "end");
    if (!st || st->type == CW_JSON_NULL || !en || en->type == CW_JSON_NULL) return 1;
    if (st->type != CW_JSON_STRING || en->type != CW_JSON_STRING || st->len != en->len) return -1;
    cw_slice a = cw_json_text(st), b = cw_json_text(en);
    if (fhir_dt_check(a, FHIR_DT_DATETIME, NULL) != 0 ||
        fhir_dt_check(b, FHIR_DT_DATETIME, NULL) != 0)
        return -1;
    for (size_t i = 0; i < a.len; i++) {
        bool da = a.ptr[i] >= '0' && a.ptr[i] <= '9', db = b.ptr[i] >= '0' && b.ptr[i] <= '9';
        if (da != db || (!da && a.ptr[i] != b.ptr[i])) return -1;
    }
    if (a.len > 10) {
        /* a time part: the zone is "Z" or "+hh:mm" / "-hh:mm" at the end */
        size_t z = a.ptr[a.len - 1] == 'Z' ? 1 : 6;
        if (a.len < z || memcmp(a.ptr + a.len - z, b.ptr + b.len - z, z) != 0) return -1;
    }
    return memcmp(a.ptr, b.ptr, a.len) <= 0 ? 1 : 0;
}

struct native {
    const char *key;
    const char *expr;
    int (*fn)(const struct cw_fhir_node *n);
};

static const struct native NATIVES[] = {
    {NULL, NULL, NULL},
    {"ele-1", "hasValue() or (children().count() > id.count())", nat_ele1},
    {"dom-2", "contained.contained.empty()", nat_no_contained},
    {"dom-3",
     "contained.where((('#'+id in (%resource.descendants().reference | "
     "%resource.descendants().as(canonical) | %resource.descendants().as(uri) | "
     "%resource.descendants().as(url))) or descendants().where(reference = '#').exists() or "
     "descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = "
     "'#').exists()).not()).trace('unmatched', id).empty()",
     nat_dom3a},
    {"dom-3",
     "contained.where(((id.exists() and ('#'+id in (%resource.descendants().reference | "
     "%resource.descendants().as(canonical) | %resource.descendants().as(uri) | "
     "%resource.descendants().as(url)))) or descendants().where(reference = '#').exists() or "
     "descendants().where(as(canonical) = '#').exists() or descendants().where(as(uri) = "
     "'#').exists()).not()).trace('unmatched', id).empty()",
     nat_dom3b},
    {"dom-4", "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()",
     nat_no_contained},
    {"dom-5", "contained.meta.security.empty()", nat_no_contained},
    {"dom-6", "text.`div`.exists()", nat_dom6},
    {"ref-1",
     "reference.startsWith('#').not() or (reference.substring(1).trace('url') in "
     "%rootResource.contained.id.trace('ids'))",
     nat_ref1},
    {"bdl-5", "resource.exists() or request.exists() or response.exists()", nat_bdl5},
    {"bdl-8", "fullUrl.exists() implies fullUrl.contains('/_history/').not()", nat_bdl8},
    {"ext-1", "extension.exists() != value.exists()", nat_ext1},
    {"qty-3", "code.empty() or system.exists()", nat_qty3},
    {"cpt-2", "value.empty() or system.exists()", nat_cpt2},
    {"obs-6", "dataAbsentReason.empty() or value.empty()", nat_obs6},
    {"obs-7",
     "value.empty() or "
     "component.code.where(coding.intersect(%resource.code.coding).exists()).empty()",
     nat_obs7},
    {"per-1", "start.hasValue().not() or end.hasValue().not() or (start <= end)", nat_per1},
};
#define N_NATIVES (sizeof NATIVES / sizeof NATIVES[0])

static uint8_t native_find(const char *key, const char *expr)
{
    for (uint8_t i = 1; i < N_NATIVES; i++)
        if (strcmp(NATIVES[i].key, key) == 0 && strcmp(NATIVES[i].expr, expr) == 0) return i;
    return 0;
}

/* The native index of every core constraint, computed once. */
static uint8_t *base_native;
static pthread_once_t base_native_once = PTHREAD_ONCE_INIT;

static void base_native_init(void)
{
    const struct cw_fhir_set *s = &cw_fhir_base_set;
    uint8_t *v = calloc(s->n_cons ? s->n_cons : 1, 1);
    if (!v) return;
    for (uint32_t i = 0; i < s->n_cons; i++)
        v[i] = native_find(fhir_cstr(s, s->cons[i].key), fhir_cstr(s, s->cons[i].expression));
    base_native = v;
}

static uint8_t native_of(const struct cw_fhir_set *s, uint32_t ci)
{
    if (s == &cw_fhir_base_set) {
        pthread_once(&base_native_once, base_native_init);
        return base_native ? base_native[ci]
                           : native_find(fhir_cstr(s, s->cons[ci].key),
                                         fhir_cstr(s, s->cons[ci].expression));
    }
    return native_find(fhir_cstr(s, s->cons[ci].key), fhir_cstr(s, s->cons[ci].expression));
}

bool fhir_vnative(cw_slice key, cw_slice expr)
{
    for (size_t i = 1; i < N_NATIVES; i++)
        if (NATIVES[i].fn != nat_no_contained && NATIVES[i].fn != nat_ref1 &&
            NATIVES[i].fn != nat_dom3a && NATIVES[i].fn != nat_dom3b && NATIVES[i].fn != nat_bdl8 &&
            NATIVES[i].fn != nat_ext1 && NATIVES[i].fn != nat_qty3 && NATIVES[i].fn != nat_cpt2 &&
            NATIVES[i].fn != nat_obs6 && NATIVES[i].fn != nat_obs7 && NATIVES[i].fn != nat_per1 &&
            cw_slice_eq_cstr(key, NATIVES[i].key) &&
            cw_slice_eq_cstr(expr, NATIVES[i].expr))
            return true; /* fully native: never compiled */
    return false;
}

/* ---- invariants ---- */

/*
 * dom-3 failed: like the HL7 Java validator, count a contained resource
 * as referenced when the narrative links to it (href="#id", src="#id";
 * narrative.html: the narrative may reference contained resources), which
 * the R4 FHIRPath text does not see.
 */
static bool dom3_narrative_ok(const struct cw_fhir_node *n, const char *key)
{
    if (strcmp(key, "dom-3") != 0) return false;
    return dom3_check(n, true, true) == 1; /* an id-less one cannot be linked */
}

/*
 * R4 invariants whose expression contradicts their own text, corrected in
 * R4B: que-12 "If there are more than one enableWhen, enableBehavior must
 * be specified" reads count() > 2 in R4 (R4B: > 1; the Java validator
 * applies the correction too). Only the exact R4 text is replaced.
 */
static cw_slice errata(const char *key, cw_slice expr)
{
    if (strcmp(key, "que-12") == 0 &&
        cw_slice_eq_cstr(expr, "enableWhen.count() > 2 implies enableBehavior.exists()"))
        return CW_LIT("enableWhen.count() > 1 implies enableBehavior.exists()");
    return expr;
}

/*
 * txt-1 and txt-2 are both written htmlChecks() in R4, with different
 * texts: txt-1 "only the basic html formatting elements and attributes",
 * txt-2 "some non-whitespace content". Each is decided by its text (the
 * Java validator's reading): txt-1 fails on a forbidden element or
 * attribute, txt-2 on a narrative without text. A narrative that is not
 * well-formed fails neither: the primitive check has reported it.
 * Returns 1 holds, 0 fails, -1 not one of these.
 */
static int txt_reading(const struct cw_fhir_node *n, const char *key, cw_slice expr)
{
    bool t1 = strcmp(key, "txt-1") == 0, t2 = strcmp(key, "txt-2") == 0;
    if ((!t1 && !t2) || !cw_slice_eq_cstr(expr, "htmlChecks()")) return -1;
    if (!cw_json_is(n->value, CW_JSON_STRING)) return 1;
    struct fhir_xhtml_info xi;
    if (fhir_xhtml_info(cw_json_text(n->value), &xi) < 0) return 1;
    return t1 ? !xi.disallowed : xi.text;
}

/* Evaluate constraint ci of set s at node n. */
static void eval_cons(struct vrun *r, const struct cw_fhir_node *n, const struct cw_fhir_set *s,
                      uint32_t ci, bool in_container)
{
    const struct fd_cons *c = &s->cons[ci];
    uint8_t nat = native_of(s, ci);
    bool ele1 = nat == 1;
    if (r->flags & CW_FHIR_VALIDATE_NO_NATIVE) nat = 0;
    if ((r->flags & CW_FHIR_VALIDATE_NO_INVARIANTS) && !ele1) return;
    const char *key = fhir_cstr(s, c->key);
    if (nat) {
        int v = NATIVES[nat].fn(n);
        if (v == 1) return;
        if (v == 0 && !dom3_narrative_ok(n, key)) {
            const char *human = fhir_cstr(s, c->human);
            vissue(r, n, CW_SLICE_NULL, (enum cw_severity)c->severity, CW_ISSUE_INVARIANT, key,
                   "constraint failed: %.60s: %.180s", key, human);
            return;
        }
    }
    cw_slice expr = errata(key, fhir_str(s, c->expression));
    if (expr.len == 0) return;
    int tv = txt_reading(n, key, expr);
    if (tv >= 0) {
        if (tv == 0)
            vissue(r, n, CW_SLICE_NULL, (enum cw_severity)c->severity, CW_ISSUE_INVARIANT, key,
                   "constraint failed: %.60s: %.180s", key, fhir_cstr(s, c->human));
        return;
    }
    struct cw_err err;
    cw_err_clear(&err);
    bool owned;
    const struct cw_fhirpath_expr *x = fhir_vcache_get(expr, &owned, &err);
    if (!x) {
        vissue(r, n, CW_SLICE_NULL, CW_SEV_WARNING, CW_ISSUE_PROCESSING, key,
               "constraint %.60s could not be compiled: %s", key, err.msg);
        return;
    }
    struct cw_fhirpath_coll out;
    /* An invariant of the element that holds a nested resource
       (Bundle.entry.resource, contained, Parameters.parameter.resource) is
       evaluated in the container: %resource is the resource that holds the
       element (fhirpath.html#variables; the Java validator does so). The
       engine takes %resource as the nearest node marked as a resource up
       the chain, so the node is passed unmarked. */
    struct cw_fhir_node unmarked;
    const struct cw_fhir_node *en = n;
    if (in_container && (n->flags & CW_FHIR_NODE_RESOURCE) && n->parent) {
        unmarked = *n;
        unmarked.flags &= ~(unsigned)CW_FHIR_NODE_RESOURCE;
        en = &unmarked;
    }
    int rc = cw_fhirpath_eval_node(r->scratch, x, &r->env, en, &out, &err);
    int t = rc == 0 ? cw_fhirpath_truth(out, &err) : -1;
    fhir_vcache_release(x, owned);
    scratch_done(r);
    if (t < 0) {
        vissue(r, n, CW_SLICE_NULL, CW_SEV_WARNING, CW_ISSUE_PROCESSING, key,
               "constraint %.60s could not be evaluated: %s", key, err.msg);
        return;
    }
    /* per-1 compares start and end; FHIRPath gives empty when their
       precisions differ (a date against a dateTime of the same day), which
       is not "true": the Java validator (and the invariant's text, "start
       SHALL have a lower value than end") read that as failed. Only per-1
       is read so: for other invariants empty means "not applicable" */
    if (t == 2 && strcmp(key, "per-1") == 0) t = 0;
    if (t == 0 && !dom3_narrative_ok(n, key))
        vissue(r, n, CW_SLICE_NULL, (enum cw_severity)c->severity, CW_ISSUE_INVARIANT, key,
               "constraint failed: %.60s: %.180s", key, fhir_cstr(s, c->human));
}

static void check_constraints(struct vrun *r, const struct cw_fhir_node *n)
{
    struct cw_fhir_elem e = n->elem;
    if (!e.set) return;
    const struct cw_fhir_set *s = e.set;
    fd_list cl = fhir_elem_rec(e)->cons;
    uint32_t ne = fhir_list_len(s, cl);
    /* a resource held by an element (not the root element of a definition) */
    bool held = false;
    if ((n->flags & CW_FHIR_NODE_RESOURCE) && n->parent && ne) {
        cw_slice ep = cw_fhir_elem_path(e);
        held = memchr(ep.ptr, '.', ep.len) != NULL;
    }
    for (uint32_t i = 0; i < ne && !r->stop; i++) {
        uint32_t ci = fhir_list_at(s, cl, i);
        if (ci >= s->n_cons) continue;
        if (r->profile) {
            struct cw_fhir_constraint c;
            if (cw_fhir_elem_constraint(e, i, &c) != 0 || core_has_constraint(e, &c)) continue;
        }
        eval_cons(r, n, s, ci, held);
    }
    if (r->profile) return;
    /* the type's own invariants (Quantity qty-3, Period per-1, a resource's
       invariants when it sits in contained/entry), those the element does
       not carry already */
    if (!n->type.set || (n->flags & CW_FHIR_NODE_PRIMITIVE)) return;
    struct cw_fhir_elem root = cw_fhir_sd_root(n->type);
    if (!root.set || cw_fhir_elem_eq(root, e)) return;
    const struct cw_fhir_set *rs = root.set;
    fd_list rl = fhir_elem_rec(root)->cons;
    uint32_t nt = fhir_list_len(rs, rl);
    for (uint32_t i = 0; i < nt && !r->stop; i++) {
        uint32_t ci = fhir_list_at(rs, rl, i);
        if (ci >= rs->n_cons) continue;
        const char *key = fhir_cstr(rs, rs->cons[ci].key);
        bool dup = false;
        for (uint32_t k = 0; k < ne && !dup; k++) {
            uint32_t cj = fhir_list_at(s, cl, k);
            if (cj < s->n_cons && ((s == rs && s->cons[cj].key == rs->cons[ci].key) ||
                                   strcmp(fhir_cstr(s, s->cons[cj].key), key) == 0))
                dup = true;
        }
        if (!dup) eval_cons(r, n, rs, ci, false);
    }
}

/* ---- terminology ---- */

static cw_slice jstr(const struct cw_json *o, const char *k)
{
    const struct cw_json *v = cw_json_get(o, k);
    return cw_json_is(v, CW_JSON_STRING) ? cw_json_text(v) : CW_SLICE_NULL;
}

/* Coding against its code system when we hold the whole system. */
static void check_coding_system(struct vrun *r, const struct cw_fhir_node *n,
                                const struct cw_json *coding, cw_slice where)
{
    cw_slice sys = jstr(coding, "system"), code = jstr(coding, "code");
    if (!sys.len || !code.len) return;
    struct cw_fhir_cs cs = cw_fhir_cs_find(sys);
    if (!cs.set || cw_fhir_cs_content(cs) != CW_FHIR_CS_COMPLETE) return;
    if (cw_fhir_cs_lookup(cs, code, NULL) == 0) return;
    vissue(r, n, where, CW_SEV_ERROR, CW_ISSUE_CODE_INVALID, "",
           "unknown code in the code system %.*s", (int)(sys.len > 120 ? 120 : sys.len), sys.ptr);
}

static enum cw_fhir_member coding_member(struct cw_fhir_vs vs, const struct cw_json *coding)
{
    cw_slice code = jstr(coding, "code");
    if (!code.len) return CW_FHIR_MEMBER_UNKNOWN;
    return cw_fhir_vs_contains(vs, jstr(coding, "system"), code, NULL);
}

static bool binding_same(struct cw_fhir_elem a, struct cw_fhir_elem b)
{
    struct cw_fhir_binding x, y;
    bool hx = cw_fhir_elem_binding(a, &x), hy = cw_fhir_elem_binding(b, &y);
    if (hx != hy) return false;
    if (!hx) return true;
    return x.strength == y.strength &&
           cw_slice_eq(fhir_canonical_url(x.value_set), fhir_canonical_url(y.value_set));
}

static void check_binding(struct vrun *r, const struct cw_fhir_node *n)
{
    struct cw_fhir_binding b;
    if (!cw_fhir_elem_binding(n->elem, &b)) return;
    if (b.strength != CW_FHIR_BIND_REQUIRED && b.strength != CW_FHIR_BIND_EXTENSIBLE) return;
    if (r->profile) {
        struct cw_fhir_elem be = base_of(n->elem, 0);
        if (be.set && binding_same(be, n->elem)) return;
    }
    struct cw_fhir_vs vs = cw_fhir_vs_find(b.value_set);
    if (!vs.set) return; /* not bundled: cannot be checked offline */
    enum cw_fhir_member m = CW_FHIR_MEMBER_UNKNOWN;
    if (n->flags & CW_FHIR_NODE_PRIMITIVE) {
        if (!cw_json_is(n->value, CW_JSON_STRING)) return;
        m = cw_fhir_vs_contains(vs, CW_SLICE_NULL, cw_json_text(n->value), NULL);
    } else if (cw_fhir_sd_eq(n->type, T.coding)) {
        m = coding_member(vs, n->value);
    } else if (cw_fhir_sd_eq(n->type, T.codeable)) {
        const struct cw_json *cs = cw_json_get(n->value, "coding");
        if (!cw_json_is(cs, CW_JSON_ARRAY) || cs->len == 0) return;
        m = CW_FHIR_MEMBER_NO;
        for (uint32_t i = 0; i < cs->len && m != CW_FHIR_MEMBER_YES; i++) {
            enum cw_fhir_member k = coding_member(vs, &cs->u.items[i]);
            if (k == CW_FHIR_MEMBER_YES || k == CW_FHIR_MEMBER_UNKNOWN) m = k;
        }
    } else if (cw_fhir_type_is_a(n->type, T.quantity)) {
        cw_slice code = jstr(n->value, "code");
        if (!code.len) return;
        m = cw_fhir_vs_contains(vs, jstr(n->value, "system"), code, NULL);
    } else {
        return;
    }
    if (m != CW_FHIR_MEMBER_NO) return;
    cw_slice vu = fhir_canonical_url(b.value_set);
    /* A bare code carries no system: the system is inferred from the value
       set, and a code the value set does not hold has none. The HL7 Java
       validator reports that as an error of its own, besides the binding
       (one problem each: system unknown, code not in the set); so do we, in
       the base pass. */
    if (b.strength == CW_FHIR_BIND_REQUIRED && !r->profile && cw_fhir_sd_eq(n->type, T.code))
        vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_CODE_INVALID, "",
               "the code system of the code cannot be determined from the value set %.*s",
               (int)(vu.len > 150 ? 150 : vu.len), vu.ptr);
    if (b.strength == CW_FHIR_BIND_REQUIRED)
        vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_CODE_INVALID, "",
               "the code is not in the value set %.*s (required binding)",
               (int)(vu.len > 150 ? 150 : vu.len), vu.ptr);
    else
        vissue(r, n, CW_SLICE_NULL, CW_SEV_WARNING, CW_ISSUE_CODE_INVALID, "",
               "the code is not in the value set %.*s (extensible binding)",
               (int)(vu.len > 150 ? 150 : vu.len), vu.ptr);
}

static bool is_absolute_uri(cw_slice u);

/*
 * The system of a Coding or an Identifier is an absolute URI
 * (terminologies.html#system, datatypes.html#Identifier: a URL, urn:oid:
 * or urn:uuid:), and a Coding's system names a code system — not a value
 * set (a common mistake the core value sets let us recognise).
 */
static void check_system_uri(struct vrun *r, const struct cw_fhir_node *n, bool coding)
{
    cw_slice sys = jstr(n->value, "system");
    if (!sys.len) return;
    if (!is_absolute_uri(sys)) {
        vissue(r, n, CW_LIT("system"), CW_SEV_ERROR, CW_ISSUE_VALUE, "",
               "%s.system must be an absolute URI", coding ? "Coding" : "Identifier");
        return;
    }
    if (coding && !(r->flags & CW_FHIR_VALIDATE_NO_TERMINOLOGY) && !cw_fhir_cs_find(sys).set &&
        cw_fhir_vs_find(sys).set)
        vissue(r, n, CW_LIT("system"), CW_SEV_ERROR, CW_ISSUE_CODE_INVALID, "",
               "Coding.system names a value set, not a code system");
}

static void check_codes(struct vrun *r, const struct cw_fhir_node *n)
{
    if (!r->profile && !(n->flags & CW_FHIR_NODE_PRIMITIVE)) {
        if (cw_fhir_sd_eq(n->type, T.coding))
            check_system_uri(r, n, true);
        else if (cw_fhir_sd_eq(n->type, T.identifier))
            check_system_uri(r, n, false);
    }
    if (r->flags & CW_FHIR_VALIDATE_NO_TERMINOLOGY) return;
    check_binding(r, n);
    if (r->profile || (n->flags & CW_FHIR_NODE_PRIMITIVE)) return;
    if (cw_fhir_sd_eq(n->type, T.coding)) check_coding_system(r, n, n->value, CW_SLICE_NULL);
}

/* ---- references ---- */

/* Type named by a reference's text: "Patient/1", "http://x/fhir/Patient/1/_history/2". */
static cw_slice reference_type(cw_slice ref)
{
    /* drop a "/_history/v" tail */
    const char *h = NULL;
    for (size_t i = 0; i + 10 <= ref.len; i++)
        if (memcmp(ref.ptr + i, "/_history/", 10) == 0) {
            h = ref.ptr + i;
            break;
        }
    if (h) ref.len = (size_t)(h - ref.ptr);
    /* the segment before the last */
    long last = -1, prev = -1;
    for (size_t i = 0; i < ref.len; i++)
        if (ref.ptr[i] == '/') {
            prev = last;
            last = (long)i;
        }
    if (last < 0) return CW_SLICE_NULL;
    size_t from = prev < 0 ? 0 : (size_t)prev + 1;
    cw_slice t = {ref.ptr + from, (size_t)last - from};
    if (!t.len || t.ptr[0] < 'A' || t.ptr[0] > 'Z') return CW_SLICE_NULL;
    struct cw_fhir_sd sd = cw_fhir_type(t);
    if (cw_fhir_sd_kind(sd) != CW_FHIR_KIND_RESOURCE) return CW_SLICE_NULL;
    return t;
}

/*
 * Bundle entries by fullUrl, and by the "Type/id" tail of a RESTful fullUrl
 * (so a relative reference inside a Bundle finds its entry). The first
 * lookup builds the index (open addressing), so a Bundle of n entries
 * costs O(n), not O(n) per reference.
 */
static uint64_t vhash(cw_slice s)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < s.len; i++) h = (h ^ (unsigned char)s.ptr[i]) * 1099511628211ull;
    return h;
}

static bool is_absolute_uri(cw_slice u)
{
    /* RFC 3986 scheme ":" (urn:, http:, ...) */
    if (!u.len || !((u.ptr[0] >= 'a' && u.ptr[0] <= 'z') || (u.ptr[0] >= 'A' && u.ptr[0] <= 'Z')))
        return false;
    for (size_t i = 1; i < u.len; i++) {
        char c = u.ptr[i];
        if (c == ':') return true;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.'))
            return false;
    }
    return false;
}

/* "Type/id" at the end of a URL with a scheme, or an empty slice. */
static cw_slice url_tail(cw_slice fu)
{
    if (cw_slice_starts_with(fu, CW_LIT("urn:"))) return CW_SLICE_NULL;
    long last = -1, prev = -1;
    for (size_t i = 0; i < fu.len; i++)
        if (fu.ptr[i] == '/') {
            prev = last;
            last = (long)i;
        }
    if (prev < 0 || (size_t)last + 1 >= fu.len) return CW_SLICE_NULL;
    return (cw_slice){fu.ptr + prev + 1, fu.len - (size_t)prev - 1};
}

static void bidx_put(struct vbidx *x, cw_slice key, const struct cw_json *e)
{
    size_t j = vhash(key) & (x->cap - 1);
    while (x->slot[j].e && !cw_slice_eq(x->slot[j].key, key)) j = (j + 1) & (x->cap - 1);
    if (!x->slot[j].e) x->slot[j] = (struct vbslot){key, e}; /* the first entry wins */
}

static bool bundle_entry_indexed(const struct vbidx *x, cw_slice key)
{
    size_t j = vhash(key) & (x->cap - 1);
    while (x->slot[j].e) {
        if (cw_slice_eq(x->slot[j].key, key)) return true;
        j = (j + 1) & (x->cap - 1);
    }
    return false;
}

static const struct cw_json *bundle_entry(struct vrun *r, cw_slice ref)
{
    if (!r->bidx_built) {
        r->bidx_built = true;
        if (!cw_slice_eq_cstr(jstr(r->root, "resourceType"), "Bundle")) return NULL;
        const struct cw_json *es = cw_json_get(r->root, "entry");
        if (!cw_json_is(es, CW_JSON_ARRAY) || es->len == 0) return NULL;
        size_t cap = 16;
        while (cap < (size_t)es->len * 4) cap *= 2;
        struct vbslot *slot = cw_arena_array(r->a, cap, sizeof *slot);
        if (!slot) return NULL;
        memset(slot, 0, cap * sizeof *slot);
        r->bidx.slot = slot;
        r->bidx.cap = cap;
        for (uint32_t i = 0; i < es->len; i++) {
            const struct cw_json *e = &es->u.items[i];
            cw_slice fu = jstr(e, "fullUrl");
            if (!fu.len) continue;
            if (bundle_entry_indexed(&r->bidx, fu)) r->bidx_dups = true;
            bidx_put(&r->bidx, fu, e);
            cw_slice tail = url_tail(fu);
            if (tail.len) bidx_put(&r->bidx, tail, e);
        }
    }
    if (!r->bidx.slot) return NULL;
    size_t j = vhash(ref) & (r->bidx.cap - 1);
    while (r->bidx.slot[j].e) {
        if (cw_slice_eq(r->bidx.slot[j].key, ref)) return r->bidx.slot[j].e;
        j = (j + 1) & (r->bidx.cap - 1);
    }
    return NULL;
}

/*
 * Entries of the root Bundle that share the fullUrl of the entry ref
 * resolves to (bdl-7 allows one fullUrl for several versions of a
 * resource), and whether one of them has meta.versionId ver. 0 when
 * nothing resolves; 1 when the fullUrl is unique. Linear, and only when
 * the Bundle has such duplicates.
 */
static size_t bundle_versions(struct vrun *r, cw_slice ref, cw_slice ver, bool *ver_found)
{
    *ver_found = false;
    const struct cw_json *e = bundle_entry(r, ref);
    if (!e) return 0;
    if (!r->bidx_dups) {
        *ver_found =
            !ver.len ||
            cw_slice_eq(jstr(cw_json_get(cw_json_get(e, "resource"), "meta"), "versionId"), ver);
        return 1;
    }
    cw_slice fu = jstr(e, "fullUrl");
    const struct cw_json *es = cw_json_get(r->root, "entry");
    size_t n = 0;
    for (uint32_t i = 0; cw_json_is(es, CW_JSON_ARRAY) && i < es->len; i++) {
        const struct cw_json *x = &es->u.items[i];
        if (!cw_slice_eq(jstr(x, "fullUrl"), fu)) continue;
        n++;
        if (ver.len &&
            cw_slice_eq(jstr(cw_json_get(cw_json_get(x, "resource"), "meta"), "versionId"), ver))
            *ver_found = true;
    }
    return n;
}

const struct cw_json *fhir_vbundle_resource(struct vrun *r, cw_slice url)
{
    const struct cw_json *e = bundle_entry(r, url);
    if (!e || !cw_slice_eq(jstr(e, "fullUrl"), url)) return NULL;
    return cw_json_get(e, "resource");
}

static cw_slice bundle_type_of(struct vrun *r, cw_slice ref)
{
    const struct cw_json *e = bundle_entry(r, ref);
    return e ? jstr(cw_json_get(e, "resource"), "resourceType") : CW_SLICE_NULL;
}

/* The resource whose contained list "#id" references search. */
static const struct cw_fhir_node *container_of(const struct cw_fhir_node *n)
{
    const struct cw_fhir_node *res = n;
    while (res && !(res->flags & CW_FHIR_NODE_RESOURCE)) res = res->parent;
    if (!res) return NULL;
    /* a contained resource's references point into its container */
    if (res->parent && cw_slice_eq_cstr(res->name, "contained")) {
        const struct cw_fhir_node *up = res->parent;
        while (up && !(up->flags & CW_FHIR_NODE_RESOURCE)) up = up->parent;
        if (up) return up;
    }
    return res;
}

static bool target_allows(struct vrun *r, struct cw_fhir_elem e, cw_slice type)
{
    size_t nt = cw_fhir_elem_type_count(e);
    bool any_targets = false;
    struct cw_fhir_sd t = cw_fhir_type(type);
    for (size_t i = 0; i < nt; i++) {
        struct cw_fhir_typeref tr;
        if (cw_fhir_elem_type(e, i, &tr) != 0) continue;
        if (!cw_slice_eq_cstr(tr.code, "Reference")) continue;
        for (size_t k = 0; k < tr.n_targets; k++) {
            any_targets = true;
            cw_slice url = cw_fhir_elem_type_target(e, i, k);
            struct cw_fhir_sd sd = cw_fhir_sd_by_url(r->reg, url);
            if (!sd.set) return true; /* unknown target profile: cannot decide */
            struct cw_fhir_sd st = cw_fhir_sd_type(sd);
            if (cw_fhir_type_is_a(t, st)) return true;
        }
    }
    return !any_targets;
}

/* Does profile element e allow other reference targets than its base? */
static bool targets_narrowed(struct cw_fhir_elem e)
{
    struct cw_fhir_elem b = base_of(e, 0);
    if (!b.set) return false;
    size_t ne = cw_fhir_elem_type_count(e), nb = cw_fhir_elem_type_count(b);
    size_t te = 0, tb = 0;
    for (size_t i = 0; i < ne; i++) {
        struct cw_fhir_typeref tr;
        if (cw_fhir_elem_type(e, i, &tr) == 0) te += tr.n_targets;
    }
    for (size_t i = 0; i < nb; i++) {
        struct cw_fhir_typeref tr;
        if (cw_fhir_elem_type(b, i, &tr) == 0) tb += tr.n_targets;
    }
    if (te != tb) return te > 0;
    for (size_t i = 0; i < ne && i < nb; i++) {
        struct cw_fhir_typeref x, y;
        if (cw_fhir_elem_type(e, i, &x) != 0 || cw_fhir_elem_type(b, i, &y) != 0) continue;
        for (size_t k = 0; k < x.n_targets && k < y.n_targets; k++)
            if (!cw_slice_eq(cw_fhir_elem_type_target(e, i, k), cw_fhir_elem_type_target(b, i, k)))
                return true;
    }
    return false;
}

static void profile_pass(struct vrun *r, const struct cw_fhir_node *n, struct cw_fhir_sd sd,
                         bool quiet, size_t *errors);

/*
 * A reference that resolves to an entry of the Bundle, on an element whose
 * profile narrows the targets to profiles (targetProfile, profiling.html):
 * the resource it resolves to must conform to one of them (a quiet trial
 * against each). A target profile we cannot load leaves it undecided.
 */
static void check_target_profiles(struct vrun *r, const struct cw_fhir_node *n, cw_slice ref)
{
    cw_slice rel = ref;
    for (size_t i = 0; i + 10 <= rel.len; i++)
        if (memcmp(rel.ptr + i, "/_history/", 10) == 0) {
            rel.len = i;
            break;
        }
    const struct cw_json *e = bundle_entry(r, rel);
    const struct cw_json *res = e ? cw_json_get(e, "resource") : NULL;
    if (!cw_json_is(res, CW_JSON_OBJECT) || r->pass_depth >= VMAX_PASS - 1) return;
    struct cw_fhir_node root;
    struct cw_err err;
    if (cw_fhir_node_root(res, CW_FHIR_NONE_SD, &root, &err) != 0) return;
    size_t nt = cw_fhir_elem_type_count(n->elem), profiles = 0;
    for (size_t k = 0; k < nt; k++) {
        struct cw_fhir_typeref tr;
        if (cw_fhir_elem_type(n->elem, k, &tr) != 0) continue;
        for (size_t t = 0; t < tr.n_targets; t++) {
            struct cw_fhir_sd sd =
                cw_fhir_sd_by_url(r->reg, cw_fhir_elem_type_target(n->elem, k, t));
            if (!sd.set) return; /* cannot tell */
            if (!cw_fhir_sd_is_profile(sd)) {
                if (cw_fhir_type_is_a(root.type, sd)) return; /* a core type: fits */
                continue;
            }
            if (!cw_fhir_type_is_a(root.type, cw_fhir_sd_type(sd))) continue;
            profiles++;
            /* many references name one entry (the patient): one trial each */
            int memo = -1;
            for (unsigned m = 0; m < r->n_tmemo && memo < 0; m++)
                if (r->tmemo[m].res == res && cw_fhir_sd_eq(r->tmemo[m].sd, sd)) memo = (int)m;
            if (memo >= 0) {
                if (r->tmemo[memo].ok) return;
                continue;
            }
            size_t errors = 0;
            profile_pass(r, &root, sd, true, &errors);
            if (r->n_tmemo < sizeof r->tmemo / sizeof r->tmemo[0])
                r->tmemo[r->n_tmemo++] = (struct vtmemo){res, sd, errors == 0};
            if (errors == 0) return;
        }
    }
    if (profiles)
        vissue(r, n, CW_LIT("reference"), CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
               "the Bundle entry this reference resolves to conforms to none of the target "
               "profiles of %.*s",
               CW_SLICE_FMT(cw_fhir_elem_id(n->elem)));
}

static void check_reference(struct vrun *r, const struct cw_fhir_node *n)
{
    const struct cw_json *obj = n->value;
    cw_slice ref = jstr(obj, "reference");
    cw_slice declared = jstr(obj, "type");
    if (!ref.len) return;
    cw_slice type = CW_SLICE_NULL;
    if (ref.ptr[0] == '#') {
        const struct cw_fhir_node *c = container_of(n);
        if (!c) return;
        if (ref.len == 1) {
            type = cw_fhir_sd_type_name(c->type);
        } else {
            cw_slice id = {ref.ptr + 1, ref.len - 1};
            const struct cw_json *cs = cw_json_get(c->value, "contained");
            bool found = false;
            for (uint32_t i = 0; cw_json_is(cs, CW_JSON_ARRAY) && i < cs->len; i++)
                if (cw_slice_eq(jstr(&cs->u.items[i], "id"), id)) {
                    type = jstr(&cs->u.items[i], "resourceType");
                    found = true;
                    break;
                }
            if (!found) {
                vissue(r, n, CW_LIT("reference"), CW_SEV_ERROR, CW_ISSUE_NOT_FOUND, "",
                       "no contained resource has the id this local reference names");
                return;
            }
        }
    } else if (cw_slice_starts_with(ref, CW_LIT("urn:"))) {
        type = bundle_type_of(r, ref);
    } else {
        type = reference_type(ref);
        if (!type.len) {
            type = bundle_type_of(r, ref);
        } else if (!is_absolute_uri(ref)) {
            /* a relative reference inside a Bundle resolves to the entry whose
               fullUrl ends with it (bundle.html#references): same type? */
            cw_slice rel = ref;
            for (size_t i = 0; i + 10 <= rel.len; i++)
                if (memcmp(rel.ptr + i, "/_history/", 10) == 0) {
                    rel.len = i;
                    break;
                }
            cw_slice target = bundle_type_of(r, rel);
            bool vf;
            if (rel.len == ref.len && target.len && r->bidx_dups &&
                bundle_versions(r, rel, CW_SLICE_NULL, &vf) > 1)
                /* bundle.html#references: a reference without a version
                   to a fullUrl several versions share is ambiguous */
                vissue(r, n, CW_LIT("reference"), CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
                       "the reference matches several entries of the Bundle (versions of one "
                       "fullUrl)");
            if (target.len && !cw_slice_eq(target, type) &&
                cw_fhir_sd_kind(cw_fhir_type(target)) == CW_FHIR_KIND_RESOURCE)
                vissue(r, n, CW_LIT("reference"), CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
                       "the Bundle entry this reference resolves to is a %.*s, not a %.*s",
                       (int)(target.len > 64 ? 64 : target.len), target.ptr,
                       (int)(type.len > 64 ? 64 : type.len), type.ptr);
        }
    }
    /* only known resource type names are compared or shown (the text comes
       from the data); an unknown resourceType is reported where it stands */
    if (!type.len || cw_fhir_sd_kind(cw_fhir_type(type)) != CW_FHIR_KIND_RESOURCE) return;
    if (declared.len && !cw_slice_eq(declared, type) && cw_fhir_type(declared).set)
        vissue(r, n, CW_LIT("type"), CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
               "Reference.type %.*s does not match the type %.*s of the reference",
               (int)(declared.len > 64 ? 64 : declared.len), declared.ptr,
               (int)(type.len > 64 ? 64 : type.len), type.ptr);
    if (!target_allows(r, n->elem, type)) {
        vissue(r, n, CW_LIT("reference"), CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
               "a reference to a %.*s is not allowed here (element %.*s)",
               (int)(type.len > 64 ? 64 : type.len), type.ptr,
               CW_SLICE_FMT(cw_fhir_elem_path(n->elem)));
        return;
    }
    if (r->profile && ref.ptr[0] != '#') check_target_profiles(r, n, ref);
}

/* ---- fixed and pattern values ---- */

static bool scalar_eq(const struct cw_json *a, const struct cw_json *b)
{
    if (!a || !b) return false;
    if (a->type != b->type) {
        bool ba = a->type == CW_JSON_TRUE || a->type == CW_JSON_FALSE;
        bool bb = b->type == CW_JSON_TRUE || b->type == CW_JSON_FALSE;
        if (!(ba && bb)) return false;
        return false;
    }
    if (a->type == CW_JSON_STRING || a->type == CW_JSON_NUMBER)
        return cw_slice_eq(cw_json_text(a), cw_json_text(b));
    return true;
}

/* Does inst hold pat (pattern semantics: pat's members present and matching;
   each pattern array item matched by some instance item)? exact: same members too. */
static bool json_matches(const struct cw_json *inst, const struct cw_json *pat, bool exact,
                         int depth)
{
    if (!inst || !pat || depth > 64) return false;
    if (pat->type == CW_JSON_OBJECT) {
        if (inst->type != CW_JSON_OBJECT) return false;
        if (exact && inst->len != pat->len) return false;
        for (uint32_t i = 0; i < pat->len; i++) {
            const struct cw_json *iv = cw_json_get_slice(inst, pat->u.members[i].key);
            if (!json_matches(iv, &pat->u.members[i].value, exact, depth + 1)) return false;
        }
        return true;
    }
    if (pat->type == CW_JSON_ARRAY) {
        if (inst->type != CW_JSON_ARRAY) return false;
        if (exact && inst->len != pat->len) return false;
        for (uint32_t i = 0; i < pat->len; i++) {
            bool found = false;
            if (exact) {
                found = json_matches(&inst->u.items[i], &pat->u.items[i], true, depth + 1);
            } else {
                for (uint32_t k = 0; k < inst->len && !found; k++)
                    found = json_matches(&inst->u.items[k], &pat->u.items[i], false, depth + 1);
            }
            if (!found) return false;
        }
        return true;
    }
    return scalar_eq(inst, pat);
}

/* The fixed[x] or pattern[x] value of e parsed into the scratch arena. */
static const struct cw_json *elem_value(struct vrun *r, struct cw_fhir_elem e, const char *prefix)
{
    cw_slice key, json;
    if (cw_fhir_elem_value_find(e, prefix, &key, &json) != 0) return NULL;
    struct cw_json *v = NULL;
    struct cw_err err;
    if (cw_json_parse(r->scratch, json.ptr, json.len, NULL, &v, &err) != 0) return NULL;
    return v;
}

/* Does node n hold the value v (fixed: exact, pattern: contains)? */
static bool node_matches(const struct cw_fhir_node *n, const struct cw_json *v, bool exact)
{
    if (n->flags & CW_FHIR_NODE_PRIMITIVE) return n->value && scalar_eq(n->value, v);
    return json_matches(n->value, v, exact, 0);
}

/*
 * A complex value against its fixed value, element by element (one
 * finding each, as the Java validator counts): an element the fixed value
 * lacks is not allowed, one it has must be present and equal.
 */
static void fixed_diff(struct vrun *r, const struct cw_fhir_node *n, const struct cw_json *inst,
                       const struct cw_json *fix, struct cw_buf *where, int depth)
{
    if (depth > 16) return;
    size_t mark = where->len;
    for (uint32_t i = 0; i < inst->len; i++) {
        cw_slice k = inst->u.members[i].key;
        if (cw_json_get_slice(fix, k)) continue;
        where->len = mark;
        cw_buf_printf(where, "%s%.*s", mark ? "." : "", (int)(k.len > 64 ? 64 : k.len), k.ptr);
        vissue(r, n, cw_buf_slice(where), CW_SEV_ERROR, CW_ISSUE_VALUE, "",
               "the element is present but the fixed value of %.*s does not have it",
               CW_SLICE_FMT(cw_fhir_elem_id(n->elem)));
    }
    for (uint32_t i = 0; i < fix->len; i++) {
        cw_slice k = fix->u.members[i].key;
        const struct cw_json *fv = &fix->u.members[i].value;
        const struct cw_json *iv = cw_json_get_slice(inst, k);
        where->len = mark;
        cw_buf_printf(where, "%s%.*s", mark ? "." : "", (int)(k.len > 64 ? 64 : k.len), k.ptr);
        if (iv && json_matches(iv, fv, true, 0)) continue;
        if (iv && cw_json_is(iv, CW_JSON_OBJECT) && cw_json_is(fv, CW_JSON_OBJECT)) {
            fixed_diff(r, n, iv, fv, where, depth + 1);
            continue;
        }
        vissue(r, n, cw_buf_slice(where), CW_SEV_ERROR, CW_ISSUE_VALUE, "",
               "%s the fixed value of %.*s", iv ? "the value does not equal" : "missing, but in",
               CW_SLICE_FMT(cw_fhir_elem_id(n->elem)));
    }
    where->len = mark;
}

static void check_fixed(struct vrun *r, const struct cw_fhir_node *n)
{
    unsigned f = cw_fhir_elem_flags(n->elem);
    if (!(f & (CW_FHIR_E_HAS_FIXED | CW_FHIR_E_HAS_PATTERN))) return;
    r->hold++;
    if (f & CW_FHIR_E_HAS_FIXED) {
        const struct cw_json *v = elem_value(r, n->elem, "fixed");
        if (v && !node_matches(n, v, true)) {
            if (cw_json_is(v, CW_JSON_OBJECT) && cw_json_is(n->value, CW_JSON_OBJECT)) {
                struct cw_buf where;
                cw_buf_init(&where, 1024);
                fixed_diff(r, n, n->value, v, &where, 0);
                cw_buf_release(&where);
            } else {
                vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_VALUE, "",
                       "the value does not equal the fixed value of %.*s",
                       CW_SLICE_FMT(cw_fhir_elem_id(n->elem)));
            }
        }
    }
    if (f & CW_FHIR_E_HAS_PATTERN) {
        const struct cw_json *v = elem_value(r, n->elem, "pattern");
        if (v && !node_matches(n, v, false))
            vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_VALUE, "",
                   "the value does not match the pattern of %.*s",
                   CW_SLICE_FMT(cw_fhir_elem_id(n->elem)));
    }
    r->hold--;
    scratch_done(r);
}

/* ---- minValue / maxValue (elementdefinition.html#minValue) ---- */

/* Two JSON numbers: -1, 0, 1, or 2 when one does not fit a double. */
static int compare_numbers(const struct cw_json *x, const struct cw_json *y)
{
    double a, b;
    if (cw_json_to_double(x, &a) != 0 || cw_json_to_double(y, &b) != 0) return 2;
    return a < b ? -1 : a > b ? 1 : 0;
}

/* -1, 0, 1, or 2 when the two values cannot be compared. */
static int compare_bound(const struct cw_json *inst, const struct cw_json *bound)
{
    if (cw_json_is(inst, CW_JSON_NUMBER) && cw_json_is(bound, CW_JSON_NUMBER))
        return compare_numbers(inst, bound);
    if (cw_json_is(inst, CW_JSON_STRING) && cw_json_is(bound, CW_JSON_STRING)) {
        /* dates, dateTimes, instants, times of the same precision compare as text */
        cw_slice x = cw_json_text(inst), y = cw_json_text(bound);
        if (x.len != y.len) return 2;
        int c = memcmp(x.ptr, y.ptr, x.len);
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    if (cw_json_is(inst, CW_JSON_OBJECT) && cw_json_is(bound, CW_JSON_OBJECT)) {
        /* Quantity: the same unit code, or commensurable UCUM units compared
           in their base units (-1 g against 0 kg) */
        if (!cw_slice_eq(jstr(inst, "system"), jstr(bound, "system"))) return 2;
        if (cw_slice_eq(jstr(inst, "code"), jstr(bound, "code")))
            return compare_bound(cw_json_get(inst, "value"), cw_json_get(bound, "value"));
        if (!cw_slice_eq_cstr(jstr(inst, "system"), "http://unitsofmeasure.org")) return 2;
        double fa, fb, a, b;
        char ka[96], kb[96];
        if (cw_fhirpath_ucum_canonical(jstr(inst, "code"), &fa, ka, sizeof ka) != 0 ||
            cw_fhirpath_ucum_canonical(jstr(bound, "code"), &fb, kb, sizeof kb) != 0 ||
            strcmp(ka, kb) != 0)
            return 2;
        if (cw_json_to_double(cw_json_get(inst, "value"), &a) != 0 ||
            cw_json_to_double(cw_json_get(bound, "value"), &b) != 0)
            return 2;
        a *= fa;
        b *= fb;
        return a < b ? -1 : a > b ? 1 : 0;
    }
    return 2;
}

/*
 * A date, dateTime or instant against a Duration bound (min/maxValue as a
 * quantity of time): the bound is now minus (min) or plus (max) the
 * duration — "born at most 100 years ago". Returns -1 below the minimum,
 * 1 above the maximum, 0 inside, 2 when undecidable.
 */
static int compare_duration_bound(const struct cw_fhir_node *n, const struct cw_json *bound,
                                  bool is_max)
{
    if (!cw_json_is(n->value, CW_JSON_STRING) || !cw_json_is(bound, CW_JSON_OBJECT)) return 2;
    if (!cw_slice_eq_cstr(jstr(bound, "system"), "http://unitsofmeasure.org")) return 2;
    double f, v;
    char k[96];
    if (cw_fhirpath_ucum_canonical(jstr(bound, "code"), &f, k, sizeof k) != 0 ||
        strcmp(k, "ucum:s") != 0 || cw_json_to_double(cw_json_get(bound, "value"), &v) != 0)
        return 2;
    cw_slice tn = cw_fhir_sd_type_name(n->type);
    enum cw_dt_type dt = cw_slice_eq_cstr(tn, "date")       ? CW_DT_DATE
                         : cw_slice_eq_cstr(tn, "dateTime") ? CW_DT_DATETIME
                         : cw_slice_eq_cstr(tn, "instant")  ? CW_DT_INSTANT
                                                            : (enum cw_dt_type)0;
    if (!dt) return 2;
    struct cw_dt d;
    struct cw_err err;
    if (cw_dt_parse(cw_json_text(n->value), dt, 0, &d, &err) != 0) return 2;
    struct cw_dt_range rg = cw_dt_range(&d, 0);
    double us = v * f * 1e6;
    if (us > 1e17 || us < -1e17) return 2;
    cw_dt_us now = cw_dt_now_us();
    if (is_max) return rg.low > now + (cw_dt_us)us ? 1 : 0;
    return rg.high <= now - (cw_dt_us)us ? -1 : 0;
}

static void check_min_max(struct vrun *r, const struct cw_fhir_node *n)
{
    if (!n->value || cw_fhir_elem_value_count(n->elem) == 0) return;
    r->hold++;
    const struct cw_json *mn = elem_value(r, n->elem, "minValue");
    const struct cw_json *mx = elem_value(r, n->elem, "maxValue");
    if (mn && (compare_bound(n->value, mn) == -1 || compare_duration_bound(n, mn, false) == -1))
        vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_VALUE, "",
               "the value is less than the minimum value of %.*s",
               CW_SLICE_FMT(cw_fhir_elem_id(n->elem)));
    if (mx && (compare_bound(n->value, mx) == 1 || compare_duration_bound(n, mx, true) == 1))
        vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_VALUE, "",
               "the value is greater than the maximum value of %.*s",
               CW_SLICE_FMT(cw_fhir_elem_id(n->elem)));
    r->hold--;
    scratch_done(r);
}

/* ---- the walk ---- */

static void check_node(struct vrun *r, const struct cw_fhir_node *n, unsigned depth);
static bool is_extension_node(const struct cw_fhir_node *n);
static void check_meta_profiles(struct vrun *r, const struct cw_fhir_node *res);
static void profile_pass(struct vrun *r, const struct cw_fhir_node *n, struct cw_fhir_sd sd,
                         bool quiet, size_t *errors);

struct vcount {
    struct cw_fhir_elem e; /* a child element or a slice */
    uint32_t n;
};

/* The slice of extension element ext whose type profile is url, the most
   specific one (a re-slice, "actionType/Single", after its slice); none if
   no slice names it. */
static struct cw_fhir_elem ext_slice_by_url(struct cw_fhir_elem ext, cw_slice url)
{
    struct cw_fhir_elem found = CW_FHIR_NONE_ELEM;
    for (unsigned level = 0; ext.set && level < 4; level++) {
        struct cw_fhir_elem next = CW_FHIR_NONE_ELEM;
        size_t ns = cw_fhir_elem_slice_count(ext);
        for (size_t k = 0; k < ns; k++) {
            struct cw_fhir_elem sl = cw_fhir_elem_slice_at(ext, k);
            struct cw_fhir_typeref tr;
            if (cw_fhir_elem_type(sl, 0, &tr) == 0 && tr.n_profiles &&
                cw_slice_eq(cw_fhir_elem_type_profile(sl, 0, 0), url))
                next = sl;
        }
        if (!next.set) break;
        found = next;
        ext = next; /* its re-slices */
    }
    return found;
}

/* Element id of a slice's child at a discriminator path ("code", "coding.code"). */
static struct cw_fhir_elem elem_at_path(struct cw_fhir_elem slice, cw_slice path)
{
    if (cw_slice_eq_cstr(path, "$this") || path.len == 0) return slice;
    struct cw_fhir_elem cur = slice;
    size_t i = 0;
    while (i < path.len && cur.set) {
        size_t j = i;
        bool quoted = false; /* dots inside 'url' do not separate */
        while (j < path.len && (quoted || path.ptr[j] != '.')) {
            if (path.ptr[j] == '\'') quoted = !quoted;
            j++;
        }
        cw_slice seg = {path.ptr + i, j - i};
        i = j + 1;
        if (cw_slice_eq_cstr(seg, "$this")) continue;
        if (cw_slice_starts_with(seg, CW_LIT("extension('")) && seg.len > 13 &&
            cw_slice_eq_cstr((cw_slice){seg.ptr + seg.len - 2, 2}, "')")) {
            /* extension('url') (profiling.html#discriminator): the slice of
               the element's extensions whose type profile is url */
            cw_slice url = {seg.ptr + 11, seg.len - 13};
            struct cw_fhir_sd t = cw_fhir_elem_single_type(cur);
            cur = ext_slice_by_url(cw_fhir_child_by_name(cur, t, CW_LIT("extension")), url);
            continue;
        }
        if (seg.len && seg.ptr[seg.len - 1] == ')') return CW_FHIR_NONE_ELEM; /* function */
        struct cw_fhir_sd t = cw_fhir_elem_single_type(cur);
        struct cw_fhir_elem next = cw_fhir_child_by_name(cur, t, seg);
        cur = next;
    }
    return cur;
}

/* A type discriminator on a choice element with type slices: the value's
   type is one of the type slices' types. */
static bool discr_type_of_type_slices(struct cw_fhir_elem de, struct cw_fhirpath_coll vals)
{
    size_t ns = cw_fhir_elem_slice_count(de);
    for (size_t i = 0; i < vals.n; i++) {
        if (vals.items[i].kind != CW_FHIRPATH_NODE) continue;
        struct cw_fhir_sd vt = vals.items[i].u.node->type;
        for (size_t s = 0; s < ns; s++) {
            struct cw_fhir_elem ts = cw_fhir_elem_slice_at(de, s);
            size_t nt = cw_fhir_elem_type_count(ts);
            for (size_t k = 0; k < nt; k++) {
                struct cw_fhir_typeref tr;
                if (cw_fhir_elem_type(ts, k, &tr) == 0 && cw_fhir_sd_eq(tr.type, vt)) return true;
            }
        }
    }
    return false;
}

/*
 * A type discriminator through a reference ("item.resolve()",
 * profiling.html#discriminator): the type of the resource the reference
 * points to must be one of the targets of the slice's reference element.
 * The type comes from the resolved resource (contained, Bundle entry) or,
 * when it does not resolve here, from the reference text ("Patient/1").
 */
static bool discr_type_resolved(struct vrun *r, const struct cw_fhir_node *item,
                                struct cw_fhir_elem slice, cw_slice path,
                                struct cw_fhirpath_coll vals)
{
    cw_slice refpath = {path.ptr, path.len - 9};
    if (refpath.len && refpath.ptr[refpath.len - 1] == '.') refpath.len--;
    struct cw_fhir_elem re = refpath.len ? elem_at_path(slice, refpath) : slice;
    if (!re.set) return false;
    cw_slice tname = CW_SLICE_NULL;
    for (size_t i = 0; i < vals.n && !tname.len; i++)
        if (vals.items[i].kind == CW_FHIRPATH_NODE)
            tname = cw_fhir_sd_type_name(vals.items[i].u.node->type);
    if (!tname.len && refpath.len) {
        /* the reference's own text */
        const struct cw_json *cur = item->value;
        size_t i = 0;
        while (i < refpath.len && cw_json_is(cur, CW_JSON_OBJECT)) {
            size_t j = i;
            while (j < refpath.len && refpath.ptr[j] != '.') j++;
            char key[128];
            size_t kl = j - i < sizeof key - 1 ? j - i : sizeof key - 1;
            memcpy(key, refpath.ptr + i, kl);
            key[kl] = 0;
            cur = cw_json_get(cur, key);
            if (cw_json_is(cur, CW_JSON_ARRAY)) cur = cur->len ? &cur->u.items[0] : NULL;
            i = j + 1;
        }
        cw_slice ref = jstr(cur, "reference");
        if (ref.len && ref.ptr[0] == '#') return false;
        tname = reference_type(ref);
    }
    if (!tname.len) return false;
    struct cw_fhir_sd vt = cw_fhir_type(tname);
    size_t nt = cw_fhir_elem_type_count(re);
    for (size_t k = 0; k < nt; k++) {
        struct cw_fhir_typeref tr;
        if (cw_fhir_elem_type(re, k, &tr) != 0) continue;
        if (tr.n_targets == 0) return true; /* any resource */
        for (size_t p = 0; p < tr.n_targets; p++) {
            struct cw_fhir_sd sd = cw_fhir_sd_by_url(r->reg, cw_fhir_elem_type_target(re, k, p));
            if (sd.set && cw_fhir_type_is_a(vt, cw_fhir_sd_type(sd))) return true;
        }
    }
    return false;
}

/* One discriminator against one item; true when the item fits the slice. */
static bool discr_match(struct vrun *r, const struct cw_fhir_node *item, struct cw_fhir_elem slice,
                        enum cw_fhir_discriminator dt, cw_slice path, bool sl_multi)
{
    struct cw_fhir_elem de = elem_at_path(slice, path);
    /* evaluate the path on the item */
    struct cw_err err;
    cw_err_clear(&err);
    bool owned = false;
    const struct cw_fhirpath_expr *x = NULL;
    bool is_this = path.len == 0 || cw_slice_eq_cstr(path, "$this");
    struct cw_fhirpath_coll vals = {0};
    struct cw_fhirpath_value self;
    if (is_this) {
        memset(&self, 0, sizeof self);
        self.kind = CW_FHIRPATH_NODE;
        self.u.node = item;
        vals.items = &self;
        vals.n = 1;
    } else {
        x = fhir_vcache_get(path, &owned, &err);
        if (!x) return false;
        if (cw_fhirpath_eval_node(r->scratch, x, &r->env, item, &vals, &err) != 0) {
            fhir_vcache_release(x, owned);
            return false;
        }
        fhir_vcache_release(x, owned);
    }
    switch (dt) {
    case CW_FHIR_DISCR_EXISTS: {
        bool want = de.set ? cw_fhir_elem_min(de) > 0 : true;
        if (de.set && cw_fhir_elem_max(de) == 0) want = false;
        return (vals.n > 0) == want;
    }
    case CW_FHIR_DISCR_TYPE: {
        if (!de.set && path.len >= 9 &&
            cw_slice_eq_cstr((cw_slice){path.ptr + path.len - 9, 9}, "resolve()"))
            return discr_type_resolved(r, item, slice, path, vals);
        if (!de.set) return false;
        /* a choice the slice constrains by type-specific names (its
           differential says content[x] as contentString): those types are
           the slice's types, as in the Java snapshot generator */
        if (cw_fhir_elem_slice_count(de) && (cw_fhir_elem_flags(de) & CW_FHIR_E_CHOICE))
            return discr_type_of_type_slices(de, vals);
        for (size_t i = 0; i < vals.n; i++) {
            if (vals.items[i].kind != CW_FHIRPATH_NODE) continue;
            struct cw_fhir_sd vt = vals.items[i].u.node->type;
            size_t nt = cw_fhir_elem_type_count(de);
            for (size_t k = 0; k < nt; k++) {
                struct cw_fhir_typeref tr;
                if (cw_fhir_elem_type(de, k, &tr) == 0 && cw_fhir_sd_eq(tr.type, vt)) return true;
            }
        }
        return false;
    }
    case CW_FHIR_DISCR_PROFILE: {
        if (!de.set) return false;
        size_t nt = cw_fhir_elem_type_count(de);
        /* a slice that names no profile at this path is not constrained by
           it (one discriminator of several; profiling.html#discriminator) */
        bool any_profile = false;
        for (size_t k = 0; k < nt && !any_profile; k++) {
            struct cw_fhir_typeref tr;
            any_profile = cw_fhir_elem_type(de, k, &tr) == 0 && (tr.n_profiles || tr.n_targets);
        }
        if (!any_profile && sl_multi) return true;
        for (size_t i = 0; i < vals.n; i++) {
            if (vals.items[i].kind != CW_FHIRPATH_NODE) continue;
            for (size_t k = 0; k < nt; k++) {
                struct cw_fhir_typeref tr;
                if (cw_fhir_elem_type(de, k, &tr) != 0) continue;
                size_t np = tr.n_profiles ? tr.n_profiles : tr.n_targets;
                for (size_t p = 0; p < np; p++) {
                    cw_slice url = tr.n_profiles ? cw_fhir_elem_type_profile(de, k, p)
                                                 : cw_fhir_elem_type_target(de, k, p);
                    struct cw_fhir_sd sd = cw_fhir_sd_by_url(r->reg, url);
                    if (!sd.set) continue;
                    /* a profile of another type does not fit, whatever it checks */
                    if (!cw_fhir_type_is_a(vals.items[i].u.node->type, cw_fhir_sd_type(sd)))
                        continue;
                    size_t errors = 0;
                    profile_pass(r, vals.items[i].u.node, sd, true, &errors);
                    if (errors == 0) return true;
                }
            }
        }
        return false;
    }
    case CW_FHIR_DISCR_VALUE:
    case CW_FHIR_DISCR_PATTERN:
    default: {
        cw_slice pathname = path;
        const struct cw_json *want = NULL;
        bool exact = true;
        /* a slice that prohibits the discriminator element (max 0) takes
           the items without it */
        if (de.set && cw_fhir_elem_max(de) == 0) return vals.n == 0;
        if (de.set) {
            want = elem_value(r, de, "fixed");
            if (!want) {
                want = elem_value(r, de, "pattern");
                exact = false;
            }
        }
        if (!want && de.set) {
            /* a bound element: the slice takes the value set's codes */
            struct cw_fhir_binding b;
            if (cw_fhir_elem_binding(de, &b) && b.strength == CW_FHIR_BIND_REQUIRED) {
                struct cw_fhir_vs vs = cw_fhir_vs_find(b.value_set);
                /* a value set we do not hold (the registry keeps only
                   StructureDefinitions) cannot exclude the item */
                if (!vs.set) return vals.n > 0;
                /* in the set, or undecidable here (LOINC, SNOMED CT): the
                   item is not excluded */
                for (size_t i = 0; i < vals.n; i++) {
                    if (vals.items[i].kind != CW_FHIRPATH_NODE) continue;
                    const struct cw_fhir_node *vn = vals.items[i].u.node;
                    if (vn->flags & CW_FHIR_NODE_PRIMITIVE) {
                        if (cw_json_is(vn->value, CW_JSON_STRING) &&
                            cw_fhir_vs_contains(vs, CW_SLICE_NULL, cw_json_text(vn->value), NULL) !=
                                CW_FHIR_MEMBER_NO)
                            return true;
                    } else if (cw_fhir_sd_eq(vn->type, T.coding)) {
                        if (coding_member(vs, vn->value) != CW_FHIR_MEMBER_NO) return true;
                    } else if (cw_fhir_sd_eq(vn->type, T.codeable)) {
                        const struct cw_json *cs = cw_json_get(vn->value, "coding");
                        for (uint32_t k = 0; cw_json_is(cs, CW_JSON_ARRAY) && k < cs->len; k++)
                            if (coding_member(vs, &cs->u.items[k]) != CW_FHIR_MEMBER_NO)
                                return true;
                    }
                }
                return false;
            }
        }
        if (!want && cw_slice_eq_cstr(pathname, "url")) {
            /* extension slices: the url is the type profile's */
            size_t nt = cw_fhir_elem_type_count(slice);
            for (size_t k = 0; k < nt; k++) {
                struct cw_fhir_typeref tr;
                if (cw_fhir_elem_type(slice, k, &tr) != 0 || tr.n_profiles == 0) continue;
                cw_slice url = cw_fhir_elem_type_profile(slice, k, 0);
                for (size_t i = 0; i < vals.n; i++) {
                    struct cw_buf b;
                    cw_buf_init(&b, 8192);
                    bool eq = cw_fhirpath_value_text(&vals.items[i], &b) == 0 &&
                              cw_slice_eq(cw_buf_slice(&b), url);
                    cw_buf_release(&b);
                    if (eq) return true;
                }
                return false;
            }
        }
        /* a slice that sets no value at this discriminator's path (one of
           several discriminators) is not constrained by it */
        if (!want) return de.set && !cw_slice_eq_cstr(pathname, "url") && sl_multi;
        for (size_t i = 0; i < vals.n; i++) {
            const struct cw_fhirpath_value *v = &vals.items[i];
            if (v->kind == CW_FHIRPATH_NODE) {
                if (node_matches(v->u.node, want, exact)) return true;
            } else if (v->kind == CW_FHIRPATH_STRING && want->type == CW_JSON_STRING) {
                if (cw_slice_eq((cw_slice){v->u.s, v->len}, cw_json_text(want))) return true;
            }
        }
        return false;
    }
    }
}

/* The slice of 'sliced' that item matches, or none. */
static struct cw_fhir_elem match_slice(struct vrun *r, const struct cw_fhir_node *item,
                                       struct cw_fhir_elem sliced, const struct cw_fhir_slicing *sl)
{
    size_t ns = cw_fhir_elem_slice_count(sliced);
    struct cw_fhir_elem found = CW_FHIR_NONE_ELEM;
    r->hold++;
    for (size_t s = 0; s < ns && !found.set; s++) {
        struct cw_fhir_elem slice = cw_fhir_elem_slice_at(sliced, s);
        bool ok = sl->n_discriminators > 0;
        for (size_t d = 0; d < sl->n_discriminators && ok; d++) {
            enum cw_fhir_discriminator dt;
            cw_slice path;
            if (cw_fhir_elem_discriminator(sliced, d, &dt, &path) != 0) {
                ok = false;
                break;
            }
            ok = discr_match(r, item, slice, dt, path, sl->n_discriminators > 1);
        }
        if (ok) found = slice;
    }
    r->hold--;
    scratch_done(r);
    return found;
}

/* An unknown name under a profile element: is it defined in the base type?
 *name receives the element's FHIRPath name ("value" for valueString). */
static bool base_knows(const struct cw_fhir_node *parent, struct cw_fhir_elem ctx, cw_slice key,
                       cw_slice *name)
{
    struct cw_fhir_elem be = base_of(ctx, 0);
    struct cw_fhir_elem bctx =
        be.set ? cw_fhir_elem_structure(be, parent->type) : cw_fhir_sd_root(parent->type);
    struct cw_fhir_prop p;
    if (!bctx.set || cw_fhir_resolve(bctx, parent->type, key, &p) != 0) return false;
    *name = cw_fhir_elem_name(p.elem);
    return true;
}

static void check_children(struct vrun *r, const struct cw_fhir_node *n, unsigned depth)
{
    if (depth >= r->max_depth) {
        vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_TOO_COSTLY, "",
               "resource nested deeper than %u levels: not validated below", r->max_depth);
        return;
    }
    struct cw_fhir_elem ctx = cw_fhir_elem_structure(n->elem, n->type);
    if (!ctx.set) return;
    if (r->profile && !elem_is_profile(ctx)) return; /* the base pass covers it */
    /* counters: kids by order, then their slices */
    size_t nk = cw_fhir_elem_child_count(ctx);
    size_t total = nk;
    if (r->profile)
        for (size_t k = 0; k < nk; k++)
            total += cw_fhir_elem_slice_count(cw_fhir_elem_child_at(ctx, k));
    /* the counters come from a per-validation LIFO pool (no stack arrays:
       a nesting level costs little C stack), else from the arena */
    struct vcount *cnt;
    bool pooled = r->pool_used + total <= VPOOL_COUNT;
    if (pooled && !r->pool) {
        r->pool = malloc(VPOOL_COUNT * sizeof *r->pool);
        pooled = r->pool != NULL;
    }
    if (pooled) {
        cnt = r->pool + r->pool_used;
        r->pool_used += total;
    } else {
        cnt = cw_arena_array(r->a, total ? total : 1, sizeof *cnt);
        if (!cnt) {
            r->oom = r->stop = true;
            return;
        }
    }
    size_t ti = nk;
    const struct cw_fhir_set *cs = ctx.set;
    fd_list kl = fhir_elem_rec(ctx)->kids;
    for (size_t k = 0; k < nk; k++) {
        cnt[k].e = (struct cw_fhir_elem){cs, fhir_list_at(cs, kl, (uint32_t)k)};
        cnt[k].n = 0;
        if (r->profile) {
            size_t ns = cw_fhir_elem_slice_count(cnt[k].e);
            for (size_t s = 0; s < ns; s++) {
                cnt[ti].e = cw_fhir_elem_slice_at(cnt[k].e, s);
                cnt[ti].n = 0;
                ti++;
            }
        }
    }

    struct cw_fhir_iter it;
    cw_fhir_iter_init(&it, n, 0, CW_SLICE_NULL);
    struct cw_fhir_node child;
    struct cw_err *err = &r->err;
    cw_slice bname;
    for (;;) {
        if (r->stop) goto done;
        int rc = cw_fhir_iter_next(&it, &child, err); /* err is set on failure only */
        if (rc == 0) break;
        if (rc < 0) {
            if (!r->profile) {
                vissue_err(r, err, CW_SEV_ERROR);
            } else if ((child.flags & CW_FHIR_NODE_UNKNOWN) &&
                       base_knows(n, ctx, child.name, &bname)) {
                vissue(r, &child, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
                       "element or type not allowed by the profile %.*s",
                       CW_SLICE_FMT(cw_fhir_sd_url(cw_fhir_elem_sd(ctx))));
                /* it still occupies the element (a choice of another type):
                   do not report it missing as well */
                for (size_t k = 0; k < nk; k++)
                    if (cw_slice_eq(cw_fhir_elem_name(cnt[k].e), bname)) {
                        cnt[k].n++;
                        break;
                    }
            }
            continue;
        }
        struct cw_fhir_elem ce = child.elem;
        uint32_t ord = cw_fhir_elem_order(ce);
        if (ord < nk && cw_fhir_elem_eq(cnt[ord].e, ce)) cnt[ord].n++;
        if (r->profile) {
            struct cw_fhir_slicing sl;
            if (cw_fhir_elem_slicing(ce, &sl) && cw_fhir_elem_slice_count(ce) > 0) {
                struct cw_fhir_elem s = match_slice(r, &child, ce, &sl);
                if (s.set) {
                    for (size_t k = nk; k < total; k++)
                        if (cw_fhir_elem_eq(cnt[k].e, s)) {
                            cnt[k].n++;
                            break;
                        }
                    child.elem = s;
                } else if (sl.rules == CW_FHIR_SLICING_CLOSED) {
                    vissue(r, &child, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
                           "the item matches no slice of %.*s (closed slicing)",
                           CW_SLICE_FMT(cw_fhir_elem_id(ce)));
                } else if (is_extension_node(&child) && is_extension_node(n) &&
                           !is_absolute_uri(jstr(child.value, "url"))) {
                    /* extensibility.html: the parts of a complex extension
                       are named by the extension's definition; a local
                       name it does not define is no part of it */
                    vissue(r, &child, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
                           "the extension's definition has no part with this url");
                }
            }
        }
        check_node(r, &child, depth + 1);
    }

    /* cardinality */
    for (size_t k = 0; k < total && !r->stop; k++) {
        struct cw_fhir_elem e = cnt[k].e;
        const struct fd_elem *er = fhir_elem_rec(e);
        uint32_t mn = er->min, mx = er->max;
        uint32_t c = cnt[k].n;
        if (!r->profile && c >= mn && (mx == FD_MAX_STAR || c <= mx))
            continue; /* the common case */
        bool slice = k >= nk;
        if ((n->flags & CW_FHIR_NODE_PRIMITIVE) && cw_slice_eq_cstr(cw_fhir_elem_name(e), "value"))
            continue; /* a primitive's value is the node itself (json.html) */
        if (r->profile && !slice) {
            struct cw_fhir_elem be = base_of(e, 0);
            if (be.set && cw_fhir_elem_min(be) == mn && cw_fhir_elem_max(be) == mx) goto ms;
        }
        if (c < mn) {
            if (slice)
                vissue(r, n, cw_fhir_elem_name(e), CW_SEV_ERROR, CW_ISSUE_REQUIRED, "",
                       "slice %.*s: minimum %u, found %u", CW_SLICE_FMT(cw_fhir_elem_id(e)), mn, c);
            else
                vissue(r, n, cw_fhir_elem_name(e), CW_SEV_ERROR, CW_ISSUE_REQUIRED, "",
                       "%.*s: minimum required %u, found %u", CW_SLICE_FMT(cw_fhir_elem_id(e)), mn,
                       c);
        }
        if (mx != CW_FHIR_UNBOUNDED && c > mx)
            vissue(r, n, cw_fhir_elem_name(e), CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
                   "%.*s: maximum allowed %u, found %u", CW_SLICE_FMT(cw_fhir_elem_id(e)), mx, c);
    ms:
        if (r->profile && c == 0 && mn == 0 && (cw_fhir_elem_flags(e) & CW_FHIR_E_MUST_SUPPORT) &&
            !(r->flags & CW_FHIR_VALIDATE_NO_MUST_SUPPORT))
            vissue(r, n, cw_fhir_elem_name(e), CW_SEV_INFORMATION, CW_ISSUE_INFORMATIONAL, "",
                   "must-support element %.*s is absent", CW_SLICE_FMT(cw_fhir_elem_id(e)));
    }
done:
    if (pooled) r->pool_used -= total;
}

static bool is_extension_node(const struct cw_fhir_node *n)
{
    return cw_fhir_sd_eq(n->type, T.extension);
}

static bool slice_contains(cw_slice s, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= s.len; i++)
        if (memcmp(s.ptr + i, needle, k) == 0) return true;
    return false;
}

static bool is_example_url(cw_slice url)
{
    return slice_contains(url, "example.org") || slice_contains(url, "acme.com");
}

/*
 * An extension whose definition is unknown. extensibility.html: an
 * extension SHALL have a definition findable by its URL; a validator that
 * cannot find it cannot check it. With CW_FHIR_VALIDATE_KNOWN_EXTENSIONS
 * that is an error (the HL7 Java validator's policy), except for URLs in
 * the allowed domains, example URLs and the FHIR tools namespace;
 * otherwise nothing is reported.
 */
static void unknown_extension(struct vrun *r, const struct cw_fhir_node *n, cw_slice url)
{
    if (!(r->flags & CW_FHIR_VALIDATE_KNOWN_EXTENSIONS)) return;
    if (!(r->flags & CW_FHIR_VALIDATE_NO_EXAMPLE_URLS) && is_example_url(url)) return;
    /* the core namespace: extensions of later FHIR versions and of the HL7
       extensions package (hl7.fhir.uv.extensions), which the Java validator
       loads and we do not bundle, live there; an unknown one is not
       reported */
    if (slice_contains(url, "nema.org") ||
        cw_slice_starts_with(url, CW_LIT("http://hl7.org/fhir/tools/StructureDefinition/")) ||
        cw_slice_starts_with(url, CW_LIT("http://hl7.org/fhir/StructureDefinition/")))
        return;
    for (size_t i = 0; i < r->o->n_extension_domains; i++)
        if (r->o->extension_domains[i].len && cw_slice_starts_with(url, r->o->extension_domains[i]))
            return;
    cw_slice shown = {url.ptr, url.len > 150 ? 150 : url.len};
    vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
           "the extension %.*s is unknown (no definition found): not allowed here",
           CW_SLICE_FMT(shown));
}

/* ---- extension contexts (StructureDefinition.context, extensibility.html) ---- */

static cw_slice strip_choice(cw_slice s)
{
    if (s.len > 3 && memcmp(s.ptr + s.len - 3, "[x]", 3) == 0) s.len -= 3;
    return s;
}

/* The name of node n as a path step: its element's name, without "[x]". */
static cw_slice step_name(const struct cw_fhir_node *n)
{
    cw_slice en = n->elem.set ? cw_fhir_elem_name(n->elem) : CW_SLICE_NULL;
    return en.len ? strip_choice(en) : n->name;
}

/*
 * Does node c stand at the element context path en ("Patient",
 * "Patient.name", "DomainResource.text", "BackboneElement", "Element")?
 * The first step of en names a type; some node a on c's ancestor line
 * (c itself included) must be of that type or derived from it, and the
 * element names from a down to c must be the rest of en (choice elements
 * by their name without [x]). This is the Java validator's reading: the
 * element is known by the paths from each typed ancestor and by its type.
 */
static bool ctx_element_match(const struct cw_fhir_node *c, cw_slice en)
{
    if (cw_slice_eq_cstr(en, "Element")) return true;
    size_t dot = 0;
    while (dot < en.len && en.ptr[dot] != '.') dot++;
    struct cw_fhir_sd head = cw_fhir_type((cw_slice){en.ptr, dot});
    if (!head.set) return false;
    /* the path of c's element definition (a recursive element reached by
       contentReference — Questionnaire.item.item — has the path of the
       element it repeats), its first step read as a type like above */
    struct cw_fhir_elem ce = c->elem;
    if (ce.set) {
        struct cw_fhir_elem cr = cw_fhir_elem_content_ref(ce);
        if (cr.set) ce = cr;
    }
    cw_slice ep = ce.set ? cw_fhir_elem_path(ce) : CW_SLICE_NULL;
    size_t edot = 0;
    while (edot < ep.len && ep.ptr[edot] != '.') edot++;
    if (edot < ep.len && dot < en.len) {
        cw_slice et = strip_choice((cw_slice){ep.ptr + edot, ep.len - edot});
        cw_slice nt = strip_choice((cw_slice){en.ptr + dot, en.len - dot});
        struct cw_fhir_sd eh = cw_fhir_type((cw_slice){ep.ptr, edot});
        if (cw_slice_eq(et, nt) && eh.set && cw_fhir_type_is_a(eh, head)) return true;
    }
    /* the steps of en after the head, matched from the end against c and its ancestors */
    const struct cw_fhir_node *a = c;
    size_t end = en.len;
    for (unsigned guard = 0; a && guard < 256; guard++) {
        if (end == dot) return a->type.set && cw_fhir_type_is_a(a->type, head);
        /* match the last remaining step of en with a's name */
        size_t st = end;
        while (st > dot && en.ptr[st - 1] != '.') st--;
        cw_slice want = strip_choice((cw_slice){en.ptr + st, end - st});
        if (!cw_slice_eq(want, step_name(a))) return false;
        end = st - 1;
        a = a->parent;
    }
    return false;
}

/* The truth of a (cached) FHIRPath expression on focus: 1, 0, or -1 when
   it does not compile, fails, is not a boolean or (single) not one item. */
static int eval_truth(struct vrun *r, cw_slice expr, const struct cw_fhir_node *focus, bool single)
{
    struct cw_err err;
    cw_err_clear(&err);
    bool owned;
    const struct cw_fhirpath_expr *x = fhir_vcache_get(expr, &owned, &err);
    if (!x) return -1;
    struct cw_fhirpath_coll out;
    int rc = cw_fhirpath_eval_node(r->scratch, x, &r->env, focus, &out, &err);
    int t = rc == 0 && (!single || out.n == 1) ? cw_fhirpath_truth(out, &err) : -1;
    fhir_vcache_release(x, owned);
    scratch_done(r);
    return t;
}

/* Is node c an element of the result of the context's FHIRPath expression
   on c's resource? */
static int ctx_fhirpath_match(struct vrun *r, const struct cw_fhir_node *c, cw_slice expr)
{
    const struct cw_fhir_node *res = c;
    while (res && !(res->flags & CW_FHIR_NODE_RESOURCE)) res = res->parent;
    if (!res) return -1;
    struct cw_err err;
    cw_err_clear(&err);
    bool owned;
    const struct cw_fhirpath_expr *x = fhir_vcache_get(expr, &owned, &err);
    if (!x) return -1;
    struct cw_fhirpath_coll out;
    int rc = cw_fhirpath_eval_node(r->scratch, x, &r->env, res, &out, &err);
    int hit = rc == 0 ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < out.n && !hit; i++)
        if (out.items[i].kind == CW_FHIRPATH_NODE && out.items[i].u.node->value == c->value)
            hit = 1;
    fhir_vcache_release(x, owned);
    scratch_done(r);
    return hit;
}

/* Does the context invariant hold on the container c? 1, 0, -1 unknown. */
static int ctx_invariant(struct vrun *r, const struct cw_fhir_node *c, cw_slice expr)
{
    return eval_truth(r, expr, c, false);
}

/* The last step of a definition's URL ("structuredefinition-fhir-type"). */
static cw_slice url_tail_name(struct cw_fhir_sd sd)
{
    cw_slice u = cw_fhir_sd_url(sd);
    size_t i = u.len;
    while (i > 0 && u.ptr[i - 1] != '/') i--;
    return (cw_slice){u.ptr + i, u.len - i};
}

/*
 * StructureDefinition.context: where the extension n (whose definition is
 * sd) may be used. Its container — the element that holds it — must match
 * one context: "element" (ctx_element_match), "extension" (the container
 * is an extension with that URL, or the value of one), "fhirpath" (the
 * container is among the expression's results on the resource); then
 * each contextInvariant must hold on the container. A definition without
 * contexts, or a context we cannot decide, allows the use.
 */
static void check_extension_context(struct vrun *r, const struct cw_fhir_node *n,
                                    struct cw_fhir_sd sd)
{
    const struct cw_fhir_node *c = n->parent;
    size_t nc = cw_fhir_sd_context_count(sd);
    if (!c || nc == 0) return;
    bool any = false, ok = false;
    for (size_t i = 0; i < nc && !ok; i++) {
        cw_slice ty, ex;
        if (cw_fhir_sd_context(sd, i, &ty, &ex) != 0) continue;
        if (cw_slice_eq_cstr(ty, "element")) {
            any = true;
            size_t d = 0;
            while (d < ex.len && ex.ptr[d] != '.') d++;
            if (cw_slice_eq_cstr(ex, "Resource") && (c->flags & CW_FHIR_NODE_RESOURCE))
                ok = true;
            else if (!cw_fhir_type((cw_slice){ex.ptr, d}).set)
                ok = true; /* a type R4 lacks
(CanonicalResource of R5): undecidable, allowed */
            else if (ctx_element_match(c, ex))
                ok = true;
            /* R4 erratum: structuredefinition-fhir-type says ElementDefinition.type.code
               but the R4 snapshots carry it on ElementDefinition.type (R5 fixed the
               context; the Java validator reads it so) */
            else if (cw_slice_eq_cstr(ex, "ElementDefinition.type.code") &&
                     cw_slice_eq_cstr(url_tail_name(sd), "structuredefinition-fhir-type"))
                ok = ctx_element_match(c, CW_LIT("ElementDefinition.type"));
        } else if (cw_slice_eq_cstr(ty, "extension")) {
            any = true;
            const struct cw_fhir_node *e = c;
            if (!is_extension_node(e) && e->parent && is_extension_node(e->parent) &&
                cw_slice_starts_with(e->name, CW_LIT("value")))
                e = e->parent;
            ok = is_extension_node(e) && cw_slice_eq(jstr(e->value, "url"), ex);
        } else if (cw_slice_eq_cstr(ty, "fhirpath")) {
            any = true;
            int m = ctx_fhirpath_match(r, c, ex);
            if (m != 0) ok = true; /* undecidable: allowed */
        }
    }
    cw_slice url = cw_fhir_sd_url(sd);
    cw_slice shown = {url.ptr, url.len > 150 ? 150 : url.len};
    if (any && !ok) {
        vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
               "the extension %.*s is not allowed at this element (its context)",
               CW_SLICE_FMT(shown));
        return;
    }
    for (size_t i = 0; i < nc; i++) {
        cw_slice ty, ex;
        if (cw_fhir_sd_context(sd, i, &ty, &ex) != 0 || !cw_slice_eq_cstr(ty, "invariant"))
            continue;
        if (ctx_invariant(r, c, ex) == 0) {
            vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
                   "the extension %.*s is not allowed here: a context invariant fails",
                   CW_SLICE_FMT(shown));
            return;
        }
    }
}

/* An extension whose definition we hold: validate it against that. */
static void check_extension_def(struct vrun *r, const struct cw_fhir_node *n)
{
    cw_slice url = jstr(n->value, "url");
    /* extensibility.html: the url of an extension SHALL be absolute; only the
       parts of a complex extension use local names */
    bool nested = n->parent && cw_fhir_sd_eq(n->parent->type, n->type);
    /* the url identifies the extension: without it the extension cannot be
       understood or validated (besides Extension.url 1..1); a version
       (url|version) is not part of an extension's identity */
    if (!url.len)
        vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_REQUIRED, "",
               "the extension has no url: it cannot be identified or validated");
    else if (memchr(url.ptr, '|', url.len))
        vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_VALUE, "",
               "the url of an extension must not contain a version");
    if (url.len && !nested && !is_absolute_uri(url))
        vissue(r, n, CW_LIT("url"), CW_SEV_ERROR, CW_ISSUE_VALUE, "",
               "the url of an extension must be an absolute URI");
    if (!url.len) return;
    struct cw_fhir_sd sd = cw_fhir_sd_by_url(r->reg, url);
    if (!sd.set) {
        if (is_absolute_uri(url) && !r->profile) unknown_extension(r, n, url);
        return;
    }
    if (!cw_slice_eq_cstr(cw_fhir_sd_type_name(sd), "Extension") || !cw_fhir_sd_is_profile(sd))
        return;
    check_extension_context(r, n, sd);
    profile_pass(r, n, sd, r->quiet, NULL);
}

/* Type profiles of the node's element (Extension slices, SimpleQuantity, ...). */
static void check_type_profiles(struct vrun *r, const struct cw_fhir_node *n)
{
    size_t nt = cw_fhir_elem_type_count(n->elem);
    for (size_t k = 0; k < nt; k++) {
        struct cw_fhir_typeref tr;
        if (cw_fhir_elem_type(n->elem, k, &tr) != 0 || tr.n_profiles == 0) continue;
        if (!cw_fhir_sd_eq(tr.type, n->type) && !(n->flags & CW_FHIR_NODE_RESOURCE)) continue;
        if (is_extension_node(n) && !r->profile) continue; /* done by URL */
        /* elementdefinition.html#ElementDefinition.type.profile: with several
           profiles the element must conform to at least one of them. The
           known ones are tried quietly; when none fits, that is an error and
           each is run again to say why (the Java validator lists them all) */
        struct cw_fhir_sd cand[8];
        size_t nc = 0;
        for (size_t p = 0; p < tr.n_profiles && nc < 8; p++) {
            struct cw_fhir_sd sd =
                cw_fhir_sd_by_url(r->reg, cw_fhir_elem_type_profile(n->elem, k, p));
            if (sd.set && cw_fhir_sd_is_profile(sd)) cand[nc++] = sd;
        }
        /* one of several profiles we cannot load might be the one that
           fits: then conformance cannot be decided here */
        if (tr.n_profiles > 1 && nc < tr.n_profiles) continue;
        if (nc == 1 || (nc > 1 && r->quiet)) {
            profile_pass(r, n, cand[0], r->quiet, NULL);
        } else if (nc > 1) {
            bool fits = false;
            for (size_t c = 0; c < nc && !fits; c++) {
                size_t errors = 0;
                profile_pass(r, n, cand[c], true, &errors);
                fits = errors == 0;
            }
            if (!fits) {
                vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
                       "the element conforms to none of the %zu profiles its type allows", nc);
                bool rep = r->repeat_ok;
                r->repeat_ok = true; /* the same failure in two profiles is two findings */
                for (size_t c = 0; c < nc; c++) profile_pass(r, n, cand[c], false, NULL);
                r->repeat_ok = rep;
            }
        }
    }
}

/*
 * datatypes.html#Attachment: size is "the number of bytes of data that
 * make up this attachment (before base64 encoding, if that is done)": when
 * the data is inline, the two must agree.
 */
static void check_attachment(struct vrun *r, const struct cw_fhir_node *n)
{
    const struct cw_json *data = cw_json_get(n->value, "data");
    const struct cw_json *size = cw_json_get(n->value, "size");
    long long stated;
    if (!cw_json_is(data, CW_JSON_STRING) || cw_json_to_i64(size, &stated) != 0) return;
    cw_slice d = cw_json_text(data);
    size_t chars = 0, pad = 0;
    for (size_t i = 0; i < d.len; i++) {
        char c = d.ptr[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        if (c == '=') pad++;
        chars++;
    }
    if (chars % 4 != 0 || pad > 2) return; /* not base64: reported as such */
    long long actual = (long long)(chars / 4 * 3) - (long long)pad;
    if (actual != stated)
        vissue(r, n, CW_LIT("size"), CW_SEV_ERROR, CW_ISSUE_VALUE, "",
               "the stated size %lld does not match the size of the data (%lld bytes)", stated,
               actual);
}

static bool elem_has_constraint(struct cw_fhir_elem e, const char *key)
{
    size_t nc = e.set ? cw_fhir_elem_constraint_count(e) : 0;
    for (size_t i = 0; i < nc; i++) {
        struct cw_fhir_constraint c;
        if (cw_fhir_elem_constraint(e, i, &c) == 0 && cw_slice_eq_cstr(c.key, key)) return true;
    }
    return false;
}

/* Does attribute 'name' (id or name) with value v occur in the xhtml x? */
static bool xhtml_has_anchor(cw_slice x, cw_slice v)
{
    static const char *const attrs[] = {"id=", "name="};
    for (int a = 0; a < 2; a++) {
        size_t al = strlen(attrs[a]);
        for (size_t i = 1; i + al + 2 + v.len <= x.len; i++) {
            if (memcmp(x.ptr + i, attrs[a], al) != 0) continue;
            char pc = x.ptr[i - 1];
            if (pc != ' ' && pc != '\t' && pc != '\n' && pc != '\r') continue;
            char q = x.ptr[i + al];
            if (q != '"' && q != '\'') continue;
            size_t s0 = i + al + 1;
            if (s0 + v.len < x.len && memcmp(x.ptr + s0, v.ptr, v.len) == 0 &&
                x.ptr[s0 + v.len] == q)
                return true;
        }
    }
    return false;
}

/*
 * Links in a narrative (narrative.html): a hyperlink (<a href>) uses a
 * scheme a reader can follow (http, https, ftp, mailto, tel, data) or is
 * a local "#anchor" that names an element of the same narrative (id or
 * name attribute) or a contained resource. The Java validator reports
 * the others.
 */
static void check_narrative_links(struct vrun *r, const struct cw_fhir_node *n)
{
    cw_slice x = cw_json_text(n->value);
    unsigned reported = 0, nlink = 0;
    cw_slice seen[32]; /* hrefs reported: one finding per target */
    size_t nseen = 0;
    for (size_t i = 0; i + 8 < x.len && reported < 100; i++) {
        if (x.ptr[i] != '<' || (x.ptr[i + 1] != 'a' && x.ptr[i + 1] != 'A') ||
            (x.ptr[i + 2] != ' ' && x.ptr[i + 2] != '\n' && x.ptr[i + 2] != '\t'))
            continue;
        nlink++;
        size_t end = i + 2;
        while (end < x.len && x.ptr[end] != '>') end++;
        for (size_t j = i + 2; j + 6 < end; j++) {
            if (memcmp(x.ptr + j, "href=", 5) != 0 ||
                (x.ptr[j - 1] != ' ' && x.ptr[j - 1] != '\n' && x.ptr[j - 1] != '\t'))
                continue;
            char q = x.ptr[j + 5];
            if (q != '"' && q != '\'') break;
            size_t vs = j + 6, ve = vs;
            while (ve < end && x.ptr[ve] != q) ve++;
            cw_slice href = {x.ptr + vs, ve - vs};
            bool again = false;
            for (size_t k = 0; k < nseen && !again; k++) again = cw_slice_eq(seen[k], href);
            if (again) break;
            if (nseen < 32) seen[nseen++] = href;
            if (href.len > 1 && href.ptr[0] == '#') {
                cw_slice anchor = {href.ptr + 1, href.len - 1};
                bool ok = xhtml_has_anchor(x, anchor);
                const struct cw_fhir_node *res = n;
                while (!ok && res && !(res->flags & CW_FHIR_NODE_RESOURCE)) res = res->parent;
                const struct cw_json *cs = res ? cw_json_get(res->value, "contained") : NULL;
                for (uint32_t k = 0; !ok && cw_json_is(cs, CW_JSON_ARRAY) && k < cs->len; k++)
                    ok = cw_slice_eq(jstr(&cs->u.items[k], "id"), anchor);
                if (!ok) {
                    vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_VALUE, "",
                           "hyperlink %u of the narrative points at an anchor it does not have",
                           nlink);
                    reported++;
                }
            } else if (is_absolute_uri(href)) {
                size_t c = 0;
                while (c < href.len && href.ptr[c] != ':') c++;
                cw_slice scheme = {href.ptr, c};
                static const char *const ok_schemes[] = {"http", "https", "ftp", "mailto",
                                                         "tel",  "data",  NULL};
                bool ok = false;
                for (int k = 0; ok_schemes[k] && !ok; k++)
                    ok = cw_slice_eq_nocase(scheme, cw_slice_cstr(ok_schemes[k]));
                if (!ok) {
                    vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_VALUE, "",
                           "hyperlink %u of the narrative uses the scheme %.*s, which a reader "
                           "cannot follow",
                           nlink, (int)(scheme.len > 20 ? 20 : scheme.len), scheme.ptr);
                    reported++;
                }
            }
            break;
        }
        i = end;
    }
}

/* Does markdown text hold something that reads as an HTML tag: '<' then a
   letter, or "</" then a letter? */
static bool has_html_tag(cw_slice m)
{
    for (size_t i = 0; i + 1 < m.len; i++) {
        if (m.ptr[i] != '<') continue;
        size_t j = i + 1;
        if (m.ptr[j] == '/') j++;
        if (j < m.len &&
            ((m.ptr[j] >= 'a' && m.ptr[j] <= 'z') || (m.ptr[j] >= 'A' && m.ptr[j] <= 'Z')))
            return true;
    }
    return false;
}

/* ---- Questionnaire and QuestionnaireResponse (questionnaire.html) ---- */

#define QR_MAX_DEPTH 32

/* Is linkId 'id' the item q or one of its descendants? */
static bool q_item_holds(const struct cw_json *q, cw_slice id, unsigned depth)
{
    if (depth > QR_MAX_DEPTH) return false;
    if (cw_slice_eq(jstr(q, "linkId"), id)) return true;
    const struct cw_json *it = cw_json_get(q, "item");
    for (uint32_t i = 0; cw_json_is(it, CW_JSON_ARRAY) && i < it->len; i++)
        if (q_item_holds(&it->u.items[i], id, depth + 1)) return true;
    return false;
}

static void q_items(struct vrun *r, const struct cw_fhir_node *res, const struct cw_json *items,
                    struct cw_buf *loc, unsigned depth)
{
    if (!cw_json_is(items, CW_JSON_ARRAY) || depth > QR_MAX_DEPTH) return;
    size_t mark = loc->len;
    for (uint32_t i = 0; i < items->len && !r->stop; i++) {
        const struct cw_json *q = &items->u.items[i];
        loc->len = mark;
        cw_buf_printf(loc, "%sitem[%u]", mark ? "." : "", i);
        /* questionnaire.html#item: an enableWhen depends on an answer given
           before the item is shown — not on the item's own answers, nor on
           those of the questions nested in it */
        const struct cw_json *ew = cw_json_get(q, "enableWhen");
        for (uint32_t k = 0; cw_json_is(ew, CW_JSON_ARRAY) && k < ew->len; k++) {
            cw_slice qid = jstr(&ew->u.items[k], "question");
            if (qid.len && q_item_holds(q, qid, 0)) {
                vissue(r, res, cw_buf_slice(loc), CW_SEV_ERROR, CW_ISSUE_BUSINESS_RULE, "",
                       "an enableWhen refers to the item itself or to an item nested in it");
                break;
            }
        }
        size_t m2 = loc->len;
        q_items(r, res, cw_json_get(q, "item"), loc, depth + 1);
        loc->len = m2;
    }
    loc->len = mark;
}

static void check_questionnaire(struct vrun *r, const struct cw_fhir_node *n)
{
    struct cw_buf loc;
    cw_buf_init(&loc, 4096);
    q_items(r, n, cw_json_get(n->value, "item"), &loc, 0);
    cw_buf_release(&loc);
}

/* The QuestionnaireResponse item lists from the root down to the list being checked. */
struct qr_scope {
    const struct cw_json *lists[QR_MAX_DEPTH + 2];
    unsigned n;
};

static bool has_answer(const struct cw_json *qri)
{
    const struct cw_json *a = cw_json_get(qri, "answer");
    return cw_json_is(a, CW_JSON_ARRAY) && a->len > 0;
}

/* Collect the answers of linkId 'id' in list (and the items nested in it). */
static void qr_find(const struct cw_json *list, cw_slice id, const struct cw_json **out, size_t *n,
                    size_t cap, unsigned depth)
{
    if (!cw_json_is(list, CW_JSON_ARRAY) || depth > QR_MAX_DEPTH) return;
    for (uint32_t i = 0; i < list->len; i++) {
        const struct cw_json *it = &list->u.items[i];
        const struct cw_json *ans = cw_json_get(it, "answer");
        if (cw_slice_eq(jstr(it, "linkId"), id)) {
            for (uint32_t k = 0; cw_json_is(ans, CW_JSON_ARRAY) && k < ans->len; k++)
                if (*n < cap) out[(*n)++] = &ans->u.items[k];
        }
        qr_find(cw_json_get(it, "item"), id, out, n, cap, depth + 1);
        for (uint32_t k = 0; cw_json_is(ans, CW_JSON_ARRAY) && k < ans->len; k++)
            qr_find(cw_json_get(&ans->u.items[k], "item"), id, out, n, cap, depth + 1);
    }
}

/* The value[x] member of an answer or the answer[x] of an enableWhen. */
static const struct cw_json *value_x(const struct cw_json *o, const char *prefix, cw_slice *type)
{
    size_t pl = strlen(prefix);
    for (uint32_t i = 0; cw_json_is(o, CW_JSON_OBJECT) && i < o->len; i++) {
        cw_slice k = o->u.members[i].key;
        if (k.len > pl && memcmp(k.ptr, prefix, pl) == 0 && k.ptr[pl] >= 'A' && k.ptr[pl] <= 'Z') {
            *type = (cw_slice){k.ptr + pl, k.len - pl};
            return &o->u.members[i].value;
        }
    }
    return NULL;
}

/* Compare an answer with an enableWhen value: -1, 0, 1, or 2 not comparable. */
static int qr_compare(const struct cw_json *a, cw_slice at, const struct cw_json *w, cw_slice wt)
{
    if (!cw_slice_eq(at, wt)) return 2;
    if (cw_slice_eq_cstr(at, "Coding"))
        return cw_slice_eq(jstr(a, "system"), jstr(w, "system")) &&
                       cw_slice_eq(jstr(a, "code"), jstr(w, "code"))
                   ? 0
                   : 2;
    if (cw_slice_eq_cstr(at, "Quantity") || cw_slice_eq_cstr(at, "Reference") ||
        cw_slice_eq_cstr(at, "Attachment"))
        return cw_json_equal(a, w) ? 0 : 2;
    if (cw_json_is(a, CW_JSON_NUMBER) && cw_json_is(w, CW_JSON_NUMBER)) return compare_numbers(a, w);
    if (cw_json_is(a, CW_JSON_STRING) && cw_json_is(w, CW_JSON_STRING)) {
        cw_slice x = cw_json_text(a), y = cw_json_text(w);
        size_t l = x.len < y.len ? x.len : y.len;
        int c = memcmp(x.ptr, y.ptr, l);
        if (c == 0 && x.len != y.len) c = x.len < y.len ? -1 : 1;
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    return cw_json_equal(a, w) ? 0 : 2;
}

/*
 * Is Questionnaire item q enabled, given the answers of the response?
 * Each enableWhen names a question; its answers are looked up from the
 * innermost enclosing list of response items outwards (the nearest group
 * that holds the question — a repeated group answers for itself).
 * enableBehavior any/all (all when absent). Returns 1, 0, or -1 when it
 * cannot be decided.
 */
static int qr_enabled(const struct cw_json *q, const struct qr_scope *sc)
{
    const struct cw_json *ew = cw_json_get(q, "enableWhen");
    if (!cw_json_is(ew, CW_JSON_ARRAY) || ew->len == 0) return 1;
    bool any = cw_slice_eq_cstr(jstr(q, "enableBehavior"), "any");
    int result = any ? 0 : 1;
    for (uint32_t k = 0; k < ew->len; k++) {
        const struct cw_json *c = &ew->u.items[k];
        cw_slice qid = jstr(c, "question"), op = jstr(c, "operator");
        const struct cw_json *found[64];
        size_t nf = 0;
        for (unsigned s = sc->n; s-- > 0 && nf == 0;) qr_find(sc->lists[s], qid, found, &nf, 64, 0);
        cw_slice wt;
        const struct cw_json *w = value_x(c, "answer", &wt);
        if (!w) return -1;
        bool hold;
        if (cw_slice_eq_cstr(op, "exists")) {
            if (!cw_json_is(w, CW_JSON_TRUE) && !cw_json_is(w, CW_JSON_FALSE)) return -1;
            hold = (nf > 0) == cw_json_is(w, CW_JSON_TRUE);
        } else {
            hold = cw_slice_eq_cstr(op, "!=") && nf == 0;
            for (size_t i = 0; i < nf && !hold; i++) {
                cw_slice at;
                const struct cw_json *a = value_x(found[i], "value", &at);
                if (!a) continue;
                int cmp = qr_compare(a, at, w, wt);
                if (cw_slice_eq_cstr(op, "="))
                    hold = cmp == 0;
                else if (cw_slice_eq_cstr(op, "!="))
                    hold = cmp != 0;
                else if (cmp == 2)
                    continue;
                else if (cw_slice_eq_cstr(op, ">"))
                    hold = cmp > 0;
                else if (cw_slice_eq_cstr(op, "<"))
                    hold = cmp < 0;
                else if (cw_slice_eq_cstr(op, ">="))
                    hold = cmp >= 0;
                else if (cw_slice_eq_cstr(op, "<="))
                    hold = cmp <= 0;
                else
                    return -1;
            }
        }
        if (any && hold) return 1;
        if (!any && !hold) return 0;
    }
    return result;
}

/*
 * An item enabled by an expression instead of enableWhen: the SDC
 * extension sdc-questionnaire-enableWhenExpression (valueExpression, a
 * text/fhirpath expression) or the Finnish PHR
 * fiphr-ext-questionnaire-enablewhen (valueString, FHIRPath), evaluated
 * on the QuestionnaireResponse. 1 enabled, 0 not, -1 no such extension or
 * not decidable (another language, an error, not a boolean).
 */
static int qr_enabled_expr(struct vrun *r, const struct cw_fhir_node *qr, const struct cw_json *q)
{
    const struct cw_json *exts = cw_json_get(q, "extension");
    cw_slice expr = CW_SLICE_NULL;
    for (uint32_t i = 0; cw_json_is(exts, CW_JSON_ARRAY) && i < exts->len && !expr.len; i++) {
        const struct cw_json *x = &exts->u.items[i];
        cw_slice url = jstr(x, "url");
        if (cw_slice_eq_cstr(url, "http://hl7.org/fhir/uv/sdc/StructureDefinition/"
                                  "sdc-questionnaire-enableWhenExpression")) {
            const struct cw_json *ve = cw_json_get(x, "valueExpression");
            cw_slice lang = jstr(ve, "language");
            if (cw_slice_eq_cstr(lang, "text/fhirpath")) expr = jstr(ve, "expression");
        } else if (cw_slice_eq_cstr(url, "http://phr.kanta.fi/StructureDefinition/"
                                         "fiphr-ext-questionnaire-enablewhen")) {
            expr = jstr(x, "valueString");
        }
    }
    if (!expr.len) return -1;
    return eval_truth(r, expr, qr, true);
}

/* The answer value[x] type an item type takes (questionnaire.html#item:
   Questionnaire.item.type), or NULL when not one value type. */
static const char *answer_type_of(cw_slice t)
{
    static const char *const map[][2] = {
        {"boolean", "Boolean"},
        {"decimal", "Decimal"},
        {"integer", "Integer"},
        {"date", "Date"},
        {"dateTime", "DateTime"},
        {"time", "Time"},
        {"string", "String"},
        {"text", "String"},
        {"url", "Uri"},
        {"attachment", "Attachment"},
        {"reference", "Reference"},
        {"quantity", "Quantity"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (cw_slice_eq_cstr(t, map[i][0])) return map[i][1];
    return NULL;
}

/*
 * The answers of response item ri against Questionnaire item q: the value
 * type the item type takes; for a 'choice' item with answerOptions, a
 * value of a type the options have and equal to one of them (a Coding by
 * system and code).
 */
static void qr_answers(struct vrun *r, const struct cw_fhir_node *res, const struct cw_json *q,
                       const struct cw_json *ri, struct cw_buf *loc)
{
    const struct cw_json *ans = cw_json_get(ri, "answer");
    if (!cw_json_is(ans, CW_JSON_ARRAY)) return;
    cw_slice type = jstr(q, "type");
    const char *want = answer_type_of(type);
    bool choice = cw_slice_eq_cstr(type, "choice");
    const struct cw_json *opts = cw_json_get(q, "answerOption");
    size_t mark = loc->len;
    for (uint32_t k = 0; k < ans->len && !r->stop; k++) {
        cw_slice at;
        const struct cw_json *v = value_x(&ans->u.items[k], "value", &at);
        if (!v) continue;
        loc->len = mark;
        cw_buf_printf(loc, ".answer[%u]", k);
        if (want && !cw_slice_eq_cstr(at, want)) {
            vissue(r, res, cw_buf_slice(loc), CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
                   "the answer is not of the type the item's type (%.*s) takes",
                   (int)(type.len > 20 ? 20 : type.len), type.ptr);
            continue;
        }
        if (!choice || !cw_json_is(opts, CW_JSON_ARRAY) || opts->len == 0) continue;
        bool typed = false, found = false;
        for (uint32_t o = 0; o < opts->len && !found; o++) {
            cw_slice ot;
            const struct cw_json *ov = value_x(&opts->u.items[o], "value", &ot);
            if (!ov || !cw_slice_eq(ot, at)) continue;
            typed = true;
            found = qr_compare(v, at, ov, ot) == 0;
        }
        if (!typed)
            vissue(r, res, cw_buf_slice(loc), CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
                   "the item's answer options have no value of the answer's type");
        else if (!found)
            vissue(r, res, cw_buf_slice(loc), CW_SEV_ERROR, CW_ISSUE_CODE_INVALID, "",
                   "the answer is not one of the item's answer options");
    }
    loc->len = mark;
}

/*
 * One level: the response items 'ritems' against the Questionnaire items
 * 'qitems'. Every response item must be an item of the questionnaire at
 * that place; an item that is not enabled must have no answer; an enabled
 * required question must be answered (required groups must be present).
 */
static void qr_level(struct vrun *r, const struct cw_fhir_node *res, const struct cw_json *qitems,
                     const struct cw_json *ritems, struct qr_scope *sc, struct cw_buf *loc,
                     unsigned depth)
{
    if (depth > QR_MAX_DEPTH || sc->n >= QR_MAX_DEPTH + 2) return;
    size_t mark = loc->len;
    bool rlist = cw_json_is(ritems, CW_JSON_ARRAY);
    sc->lists[sc->n++] = rlist ? ritems : NULL;
    for (uint32_t i = 0; rlist && i < ritems->len && !r->stop; i++) {
        const struct cw_json *ri = &ritems->u.items[i];
        cw_slice id = jstr(ri, "linkId");
        const struct cw_json *q = NULL;
        for (uint32_t k = 0; cw_json_is(qitems, CW_JSON_ARRAY) && k < qitems->len && !q; k++)
            if (cw_slice_eq(jstr(&qitems->u.items[k], "linkId"), id)) q = &qitems->u.items[k];
        loc->len = mark;
        cw_buf_printf(loc, "%sitem[%u]", mark ? "." : "", i);
        if (!q) {
            if (id.len)
                vissue(r, res, cw_buf_slice(loc), CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
                       "the linkId is not an item of the questionnaire here");
            continue;
        }
        int en = qr_enabled(q, sc);
        if (en == 1 && !cw_json_get(q, "enableWhen")) {
            int ex = qr_enabled_expr(r, res, q);
            if (ex >= 0) en = ex;
        }
        if (en == 0 && (has_answer(ri) || cw_json_get(ri, "item")))
            vissue(r, res, cw_buf_slice(loc), CW_SEV_ERROR, CW_ISSUE_BUSINESS_RULE, "",
                   "the item is answered although it is not enabled");
        qr_answers(r, res, q, ri, loc);
        size_t m2 = loc->len;
        /* a group's children are in item; a question's children are in
           its answers' item (questionnaireresponse.html, qrs-1..2) */
        if (cw_slice_eq_cstr(jstr(q, "type"), "group") || cw_json_get(ri, "item"))
            qr_level(r, res, cw_json_get(q, "item"), cw_json_get(ri, "item"), sc, loc, depth + 1);
        const struct cw_json *ans = cw_json_get(ri, "answer");
        for (uint32_t k = 0; cw_json_is(ans, CW_JSON_ARRAY) && k < ans->len; k++) {
            const struct cw_json *sub = cw_json_get(&ans->u.items[k], "item");
            if (!sub) continue;
            loc->len = m2;
            cw_buf_printf(loc, ".answer[%u]", k);
            qr_level(r, res, cw_json_get(q, "item"), sub, sc, loc, depth + 1);
        }
    }
    /* required items that are enabled and absent */
    loc->len = mark;
    for (uint32_t k = 0; cw_json_is(qitems, CW_JSON_ARRAY) && k < qitems->len && !r->stop; k++) {
        const struct cw_json *q = &qitems->u.items[k];
        if (!cw_json_is(cw_json_get(q, "required"), CW_JSON_TRUE)) continue;
        cw_slice type = jstr(q, "type"), id = jstr(q, "linkId");
        if (cw_slice_eq_cstr(type, "display")) continue;
        bool group = cw_slice_eq_cstr(type, "group");
        bool present = false;
        for (uint32_t i = 0; rlist && i < ritems->len && !present; i++) {
            const struct cw_json *ri = &ritems->u.items[i];
            if (cw_slice_eq(jstr(ri, "linkId"), id)) present = group || has_answer(ri);
        }
        if (!present && qr_enabled(q, sc) == 1 &&
            (cw_json_get(q, "enableWhen") || qr_enabled_expr(r, res, q) != 0))
            vissue(r, res, cw_buf_slice(loc), CW_SEV_ERROR, CW_ISSUE_REQUIRED, "",
                   "no answer for a required item of the questionnaire");
    }
    sc->n--;
    loc->len = mark;
}

/* A QuestionnaireResponse against its Questionnaire (contained, or
   through opts.fetch). */
static void check_qr(struct vrun *r, const struct cw_fhir_node *n)
{
    cw_slice url = jstr(n->value, "questionnaire");
    if (!url.len) return;
    const struct cw_json *q = NULL;
    if (url.ptr[0] == '#') {
        const struct cw_json *cs = cw_json_get(n->value, "contained");
        cw_slice id = {url.ptr + 1, url.len - 1};
        for (uint32_t i = 0; cw_json_is(cs, CW_JSON_ARRAY) && i < cs->len && !q; i++)
            if (cw_slice_eq(jstr(&cs->u.items[i], "id"), id)) q = &cs->u.items[i];
    } else if (r->o->fetch) {
        q = r->o->fetch(r->o->fetch_ctx, url);
    }
    if (!cw_json_is(q, CW_JSON_OBJECT) ||
        !cw_slice_eq_cstr(jstr(q, "resourceType"), "Questionnaire"))
        return;
    struct qr_scope sc;
    sc.n = 0;
    struct cw_buf loc;
    cw_buf_init(&loc, 4096);
    qr_level(r, n, cw_json_get(q, "item"), cw_json_get(n->value, "item"), &sc, &loc, 0);
    cw_buf_release(&loc);
}

/* ---- Bundle rules beyond the invariants (bundle.html) ---- */

/*
 * An entry's identity. bundle.html#fullUrl: the fullUrl is the identity of
 * the resource in the entry; it SHALL be present except when POSTing new
 * resources (transactions, batches) and for results of operations
 * (responses, search outcomes) — so we require it in documents, messages
 * and collections; and a fullUrl that looks like a RESTful URL
 * (".../[type]/[id]") SHALL match the resource's id (and so its type).
 */
static void check_entry_identity(struct vrun *r, const struct cw_fhir_node *e, cw_slice fu)
{
    const struct cw_json *res = cw_json_get(e->value, "resource");
    if (!cw_json_is(res, CW_JSON_OBJECT)) return;
    const struct cw_fhir_node *bundle = e->parent;
    cw_slice btype = bundle ? jstr(bundle->value, "type") : CW_SLICE_NULL;
    if (!fu.len) {
        /* not in responses (results of operations need not be
           identified) nor search sets (an OperationOutcome entry) */
        if (cw_slice_eq_cstr(btype, "document") || cw_slice_eq_cstr(btype, "message") ||
            cw_slice_eq_cstr(btype, "collection"))
            vissue(r, e, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_REQUIRED, "",
                   "an entry of a %.*s Bundle must have a fullUrl (the identity of its resource)",
                   (int)(btype.len > 40 ? 40 : btype.len), btype.ptr);
        return;
    }
    if (!cw_slice_starts_with(fu, CW_LIT("http://")) &&
        !cw_slice_starts_with(fu, CW_LIT("https://")))
        return;
    /* [base]/[type]/[id] with an optional /_history/[vid] */
    cw_slice u = fu;
    for (size_t i = 0; i + 10 <= u.len; i++)
        if (memcmp(u.ptr + i, "/_history/", 10) == 0) {
            u.len = i;
            break;
        }
    cw_slice tail = url_tail(u);
    size_t sl = 0;
    while (sl < tail.len && tail.ptr[sl] != '/') sl++;
    if (!tail.len || sl == tail.len) return;
    cw_slice ty = {tail.ptr, sl}, id = {tail.ptr + sl + 1, tail.len - sl - 1};
    struct cw_fhir_sd tsd = cw_fhir_type(ty);
    if (!tsd.set || cw_fhir_sd_kind(tsd) != CW_FHIR_KIND_RESOURCE) return;
    cw_slice rid = jstr(res, "id"), rtype = jstr(res, "resourceType");
    if (!rid.len)
        vissue(r, e, CW_LIT("fullUrl"), CW_SEV_ERROR, CW_ISSUE_VALUE, "",
               "the fullUrl is a RESTful URL, but the resource has no id");
    else if (!cw_slice_eq(ty, rtype) || !cw_slice_eq(id, rid))
        vissue(r, e, CW_LIT("fullUrl"), CW_SEV_ERROR, CW_ISSUE_VALUE, "",
               "the fullUrl is a RESTful URL that does not end with the resource's type and id");
}

/* bundle.html / http.html#paging: the navigation links (self, first,
   previous, next, last) name one page each, so each occurs once. */
static void check_bundle_links(struct vrun *r, const struct cw_fhir_node *b)
{
    const struct cw_json *links = cw_json_get(b->value, "link");
    if (!cw_json_is(links, CW_JSON_ARRAY)) return;
    for (uint32_t i = 1; i < links->len && i < 1000; i++) {
        cw_slice rel = jstr(&links->u.items[i], "relation");
        if (!cw_slice_eq_cstr(rel, "self") && !cw_slice_eq_cstr(rel, "first") &&
            !cw_slice_eq_cstr(rel, "previous") && !cw_slice_eq_cstr(rel, "prev") &&
            !cw_slice_eq_cstr(rel, "next") && !cw_slice_eq_cstr(rel, "last"))
            continue;
        for (uint32_t k = 0; k < i; k++)
            if (cw_slice_eq(jstr(&links->u.items[k], "relation"), rel)) {
                char loc[32];
                snprintf(loc, sizeof loc, "link[%u]", i);
                vissue(r, b, cw_slice_cstr(loc), CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
                       "the link relation %.*s occurs more than once",
                       (int)(rel.len > 40 ? 40 : rel.len), rel.ptr);
                break;
            }
    }
}

/*
 * Documents (documents.html): the Composition (the first entry) is the
 * document's root; a relative ("Type/id") or urn: reference it makes must
 * resolve to an entry of the Bundle by the rules of bundle.html#references
 * — a relative reference against the base of the Composition entry's
 * RESTful fullUrl (a urn: fullUrl, or none, gives no base), a urn: by an
 * equal fullUrl; and every entry must be linked to the Composition by
 * references (of any entry, resolved the same way) in either direction.
 */
#define VGRAPH_MAX 10000u

struct vgraph {
    struct vrun *r;
    const struct cw_fhir_node *b;
    const struct cw_json *es;
    uint32_t *uf; /* union-find over the entries */
    struct cw_buf loc;
};

static uint32_t uf_find(uint32_t *uf, uint32_t i)
{
    while (uf[i] != i) {
        uf[i] = uf[uf[i]];
        i = uf[i];
    }
    return i;
}

/* Index of the entry whose fullUrl is url, or -1 (exact match, through the
   Bundle index: es is the root Bundle's entry list). */
static long entry_by_full_url(struct vrun *r, const struct cw_json *es, cw_slice url)
{
    const struct cw_json *e = bundle_entry(r, url);
    if (!e || e < es->u.items || e >= es->u.items + es->len) return -1;
    if (!cw_slice_eq(jstr(e, "fullUrl"), url)) return -1;
    return (long)(e - es->u.items);
}

static void graph_ref(struct vgraph *g, uint32_t from, cw_slice ref)
{
    if (!ref.len || ref.ptr[0] == '#') return;
    cw_slice r0 = ref, ver = CW_SLICE_NULL;
    for (size_t i = 0; i + 10 <= r0.len; i++)
        if (memcmp(r0.ptr + i, "/_history/", 10) == 0) {
            r0.len = i;
            ver = (cw_slice){ref.ptr + i + 10, ref.len - i - 10};
            break;
        }
    long to = -1;
    /* documents.html: the document holds what its Composition references */
    bool must = from == 0;
    if (cw_slice_starts_with(r0, CW_LIT("urn:"))) {
        to = entry_by_full_url(g->r, g->es, r0);
    } else if (is_absolute_uri(r0)) {
        to = entry_by_full_url(g->r, g->es, r0); /* may be outside the Bundle */
        must = false;
    } else if (reference_type(r0).len) {
        /* an entry whose (not absolute, so already wrong) fullUrl is the
           reference itself */
        to = entry_by_full_url(g->r, g->es, r0);
        cw_slice fu = jstr(&g->es->u.items[from], "fullUrl");
        cw_slice tail = url_tail(fu);
        if (to < 0 && tail.len &&
            (cw_slice_starts_with(fu, CW_LIT("http://")) ||
             cw_slice_starts_with(fu, CW_LIT("https://")))) {
            char buf[2048];
            size_t bl = fu.len - tail.len;
            if (bl + r0.len < sizeof buf) {
                memcpy(buf, fu.ptr, bl);
                memcpy(buf + bl, r0.ptr, r0.len);
                to = entry_by_full_url(g->r, g->es, (cw_slice){buf, bl + r0.len});
            }
        }
    } else {
        return;
    }
    if (to >= 0 && must && g->r->bidx_dups) {
        /* versions of one fullUrl: a versioned reference names one of
           them, an unversioned one is ambiguous */
        bool vf;
        size_t nv = bundle_versions(g->r, jstr(&g->es->u.items[to], "fullUrl"), ver, &vf);
        if (ver.len && !vf)
            vissue(g->r, g->b, cw_buf_slice(&g->loc), CW_SEV_ERROR, CW_ISSUE_NOT_FOUND, "",
                   "no entry of the document has the version the Composition's reference names");
        else if (!ver.len && nv > 1)
            vissue(g->r, g->b, cw_buf_slice(&g->loc), CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
                   "the Composition's reference matches %zu entries of the document (versions "
                   "of one fullUrl)",
                   nv);
    }
    if (to >= 0) {
        uint32_t a = uf_find(g->uf, from), b = uf_find(g->uf, (uint32_t)to);
        if (a != b) g->uf[a] = b;
    } else if (must) {
        vissue(g->r, g->b, cw_buf_slice(&g->loc), CW_SEV_ERROR, CW_ISSUE_NOT_FOUND, "",
               "the Composition's reference does not resolve to an entry of the document");
    }
}

/* Every "reference" in v (an entry's resource), with its location in g->loc. */
static void graph_walk(struct vgraph *g, uint32_t from, const struct cw_json *v, unsigned depth)
{
    if (depth > 64 || g->r->stop) return;
    size_t mark = g->loc.len;
    if (cw_json_is(v, CW_JSON_OBJECT)) {
        for (uint32_t i = 0; i < v->len; i++) {
            const struct cw_json *m = &v->u.members[i].value;
            cw_slice k = v->u.members[i].key;
            g->loc.len = mark;
            cw_buf_printf(&g->loc, ".%.*s", (int)(k.len > 64 ? 64 : k.len), k.ptr);
            if (cw_slice_eq_cstr(k, "reference") && cw_json_is(m, CW_JSON_STRING)) {
                g->loc.len = mark;
                graph_ref(g, from, cw_json_text(m));
            } else if (!cw_slice_eq_cstr(k, "contained")) {
                graph_walk(g, from, m, depth + 1);
            }
        }
    } else if (cw_json_is(v, CW_JSON_ARRAY)) {
        for (uint32_t i = 0; i < v->len; i++) {
            g->loc.len = mark;
            cw_buf_printf(&g->loc, "[%u]", i);
            graph_walk(g, from, &v->u.items[i], depth + 1);
        }
    }
    g->loc.len = mark;
}

static void check_bundle_graph(struct vrun *r, const struct cw_fhir_node *b)
{
    if (!cw_slice_eq_cstr(jstr(b->value, "type"), "document")) return;
    const struct cw_json *es = cw_json_get(b->value, "entry");
    if (!cw_json_is(es, CW_JSON_ARRAY) || es->len == 0 || es->len > VGRAPH_MAX) return;
    struct vgraph g = {.r = r, .b = b, .es = es};
    g.uf = malloc(es->len * sizeof *g.uf);
    if (!g.uf) return;
    for (uint32_t i = 0; i < es->len; i++) g.uf[i] = i;
    cw_buf_init(&g.loc, 4096);
    for (uint32_t i = 0; i < es->len && !r->stop; i++) {
        const struct cw_json *res = cw_json_get(&es->u.items[i], "resource");
        if (!cw_json_is(res, CW_JSON_OBJECT)) continue;
        cw_buf_reset(&g.loc);
        cw_buf_printf(&g.loc, "entry[%u].resource", i);
        graph_walk(&g, i, res, 0);
    }
    {
        uint32_t root = uf_find(g.uf, 0);
        for (uint32_t i = 1; i < es->len && !r->stop; i++) {
            if (!cw_json_is(cw_json_get(&es->u.items[i], "resource"), CW_JSON_OBJECT)) continue;
            if (uf_find(g.uf, i) == root) continue;
            char loc[32];
            snprintf(loc, sizeof loc, "entry[%u]", i);
            vissue(r, b, cw_slice_cstr(loc), CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
                   "the entry is not linked to the Composition by references (either way)");
        }
    }
    cw_buf_release(&g.loc);
    free(g.uf);
}

/*
 * A resource held by an element (Bundle.entry.resource, contained,
 * Parameters.parameter.resource) whose profile element lists the
 * resource types it allows: the resource must be one of them.
 */
static void check_resource_type(struct vrun *r, const struct cw_fhir_node *n)
{
    size_t nt = cw_fhir_elem_type_count(n->elem);
    bool listed = false;
    for (size_t k = 0; k < nt; k++) {
        struct cw_fhir_typeref tr;
        if (cw_fhir_elem_type(n->elem, k, &tr) != 0 || !tr.type.set) continue;
        if (cw_fhir_sd_kind(tr.type) != CW_FHIR_KIND_RESOURCE) continue;
        /* type profiles name the allowed types (Resource + profile of
           DocumentManifest); without them the code does */
        for (size_t p = 0; p < tr.n_profiles; p++) {
            struct cw_fhir_sd sd =
                cw_fhir_sd_by_url(r->reg, cw_fhir_elem_type_profile(n->elem, k, p));
            if (!sd.set) return; /* unknown profile: cannot tell */
            listed = true;
            if (cw_fhir_type_is_a(n->type, cw_fhir_sd_type(sd))) return;
        }
        if (tr.n_profiles) continue;
        listed = true;
        if (cw_fhir_type_is_a(n->type, tr.type)) return;
    }
    if (listed)
        vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_STRUCTURE, "",
               "a %.*s is not one of the resource types the profile allows here (%.*s)",
               CW_SLICE_FMT(cw_fhir_sd_type_name(n->type)), CW_SLICE_FMT(cw_fhir_elem_id(n->elem)));
}

static void check_node(struct vrun *r, const struct cw_fhir_node *n, unsigned depth)
{
    if (r->stop) return;
    bool prim = (n->flags & CW_FHIR_NODE_PRIMITIVE) != 0;
    if (!r->profile) {
        if (prim && n->value) {
            struct cw_err err;
            err.msg[0] = 0; /* filled when the check fails or warns */
            struct cw_fhir_sd pt = n->type;
            /* Resource.id is a System.String in the definitions; its rules
               are those of the id type (resource.html#id) */
            if (n->parent && (n->parent->flags & CW_FHIR_NODE_RESOURCE) &&
                cw_slice_eq_cstr(n->name, "id"))
                pt = T.id;
            int pr = cw_fhir_check_json_primitive(pt, n->value, &err);
            if (pr != 0) {
                vissue(r, n, CW_SLICE_NULL, pr < 0 ? CW_SEV_ERROR : CW_SEV_WARNING,
                       err.issue ? err.issue : CW_ISSUE_VALUE, "", "%s", err.msg);
            }
            uint32_t ml = cw_fhir_elem_max_length(n->elem);
            if (ml && cw_json_is(n->value, CW_JSON_STRING) && n->value->len > ml)
                vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_TOO_LONG, "",
                       "longer than the maxLength %u", ml);
            if (cw_fhir_sd_eq(n->type, T.xhtml) && cw_json_is(n->value, CW_JSON_STRING))
                check_narrative_links(r, n);
            if (cw_json_is(n->value, CW_JSON_STRING) && n->value->len == 0 && !n->ext &&
                !elem_has_constraint(n->elem, "ele-1"))
                /* elements typed System.String (Extension.url, ...) do not
                   list ele-1, which holds for every element: an empty
                   string is no value, and the element has no children */
                vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_INVARIANT, "ele-1",
                       "constraint failed: ele-1: All FHIR elements must have a @value or "
                       "children");
            if ((r->flags & CW_FHIR_VALIDATE_NO_HTML_IN_MARKDOWN) &&
                cw_json_is(n->value, CW_JSON_STRING) && cw_fhir_sd_eq(n->type, T.markdown) &&
                has_html_tag(cw_json_text(n->value)))
                vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_VALUE, "",
                       "the markdown contains an HTML tag");
            if ((r->flags & CW_FHIR_VALIDATE_NO_EXAMPLE_URLS) &&
                cw_json_is(n->value, CW_JSON_STRING) && cw_fhir_type_is_a(n->type, T.uri) &&
                is_example_url(cw_json_text(n->value)))
                vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_VALUE, "",
                       "example URLs are not allowed in this context");
        }
    } else {
        uint32_t ml = cw_fhir_elem_max_length(n->elem);
        if (ml && prim && cw_json_is(n->value, CW_JSON_STRING) && n->value->len > ml) {
            struct cw_fhir_elem be = base_of(n->elem, 0);
            if (!be.set || cw_fhir_elem_max_length(be) != ml)
                vissue(r, n, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_TOO_LONG, "",
                       "longer than the maxLength %u", ml);
        }
    }
    check_fixed(r, n);
    check_min_max(r, n);
    if (r->profile && cw_fhir_elem_value_count(n->elem)) {
        r->hold++;
        fhir_vctrl_check(r, r->scratch, n);
        r->hold--;
        scratch_done(r);
    }
    check_codes(r, n);
    if (!prim && cw_fhir_sd_eq(n->type, T.reference) && (!r->profile || targets_narrowed(n->elem)))
        check_reference(r, n);
    check_constraints(r, n);
    if (r->stop) return;
    if (!r->profile && !prim && cw_fhir_elem_eq(n->elem, T.bundle_entry)) {
        /* bundle.html: fullUrl is an absolute URL (a urn:uuid:/urn:oid: or the resource's URL) */
        cw_slice fu = jstr(n->value, "fullUrl");
        if (fu.len && !is_absolute_uri(fu))
            vissue(r, n, CW_LIT("fullUrl"), CW_SEV_ERROR, CW_ISSUE_VALUE, "",
                   "fullUrl must be an absolute URL");
        check_entry_identity(r, n, fu);
    }
    if (!r->profile && !prim && (n->flags & CW_FHIR_NODE_RESOURCE) &&
        cw_slice_eq_cstr(cw_fhir_sd_type_name(n->type), "Bundle")) {
        check_bundle_links(r, n);
        if (n->value == r->root) check_bundle_graph(r, n);
    }
    if (!r->profile && !prim && cw_fhir_sd_eq(n->type, T.attachment)) check_attachment(r, n);
    if (!r->profile && (n->flags & CW_FHIR_NODE_RESOURCE)) {
        cw_slice tn = cw_fhir_sd_type_name(n->type);
        if (cw_slice_eq_cstr(tn, "Questionnaire"))
            check_questionnaire(r, n);
        else if (cw_slice_eq_cstr(tn, "QuestionnaireResponse"))
            check_qr(r, n);
        else if (cw_slice_eq_cstr(tn, "StructureDefinition"))
            fhir_vsd_check(r, n);
    }
    if (n->flags & CW_FHIR_NODE_RESOURCE) {
        if (!r->profile && n->parent) check_meta_profiles(r, n);
    } else if (!r->profile && is_extension_node(n) && !(n->flags & CW_FHIR_NODE_UNKNOWN)) {
        check_extension_def(r, n);
        if (cw_slice_eq_cstr(jstr(n->value, "url"),
                             "http://hl7.org/fhir/StructureDefinition/narrativeLink"))
            fhir_vnarrative_link(r, n);
    }
    if (r->profile) {
        if ((n->flags & CW_FHIR_NODE_RESOURCE) && n->parent) check_resource_type(r, n);
        check_type_profiles(r, n);
    }
    if (r->stop) return;
    check_children(r, n, depth);
}

/*
 * Validate node n against profile sd (its root). quiet: count errors into
 * *errors and store nothing (slice matching).
 */
static void profile_pass(struct vrun *r, const struct cw_fhir_node *n, struct cw_fhir_sd sd,
                         bool quiet, size_t *errors)
{
    if (r->pass_depth >= VMAX_PASS) return;
    struct cw_fhir_node pn = *n;
    pn.elem = cw_fhir_sd_root(sd);
    bool sp = r->profile, sq = r->quiet;
    size_t se = r->quiet_errors;
    r->profile = true;
    r->quiet = quiet;
    r->quiet_errors = 0;
    r->pass_depth++;
    /* the root: fixed values and invariants; then the children */
    check_fixed(r, &pn);
    check_codes(r, &pn);
    check_constraints(r, &pn);
    check_children(r, &pn, 0);
    r->pass_depth--;
    if (errors) *errors = r->quiet_errors;
    r->profile = sp;
    r->quiet = sq;
    r->quiet_errors = se + (sq ? r->quiet_errors : 0);
    scratch_done(r);
}

/*
 * FHIRPath conformsTo(url) inside invariants: the item is validated
 * quietly against the core definition of its type and, for a profile,
 * against the profile (fhirpath.html#functions: "returns true if the
 * resource conforms to the profile"). The nested validation holds the
 * scratch arena (the calling evaluation lives there) and counts as a
 * nested pass (VMAX_PASS bounds recursion through conformsTo).
 */
static int vconforms(const struct cw_fhirpath_value *item, cw_slice url, void *ctx,
                     struct cw_err *err)
{
    struct vrun *r = ctx;
    struct cw_fhir_sd sd = cw_fhir_sd_by_url(r->reg, url);
    if (!sd.set) return cw_err_set(err, CW_ISSUE_NOT_FOUND, "conformsTo(): unknown profile");
    if (item->kind != CW_FHIRPATH_NODE) return 0;
    const struct cw_fhir_node *node = item->u.node;
    if (!node->type.set || !cw_fhir_type_is_a(node->type, cw_fhir_sd_type(sd))) return 0;
    if (r->pass_depth >= VMAX_PASS) return 1; /* too deep to tell: not held against it */
    bool sq = r->quiet, sp = r->profile;
    size_t se = r->quiet_errors;
    r->hold++;
    r->pass_depth++;
    r->quiet = true;
    r->profile = false;
    r->quiet_errors = 0;
    check_node(r, node, 0);
    size_t errors = r->quiet_errors;
    if (cw_fhir_sd_is_profile(sd)) {
        size_t pe = 0;
        profile_pass(r, node, sd, true, &pe);
        errors += pe;
    }
    r->quiet = sq;
    r->profile = sp;
    r->quiet_errors = se;
    r->pass_depth--;
    r->hold--;
    return errors == 0 ? 1 : 0;
}

static void check_profile_url(struct vrun *r, const struct cw_fhir_node *res, cw_slice url,
                              bool declared)
{
    struct cw_fhir_sd sd = cw_fhir_sd_by_url(r->reg, url);
    cw_slice shown = {url.ptr, url.len > 150 ? 150 : url.len};
    if (!sd.set) {
        vissue(r, res, declared ? CW_LIT("meta.profile") : CW_SLICE_NULL,
               declared ? CW_SEV_WARNING : CW_SEV_ERROR, CW_ISSUE_NOT_SUPPORTED, "",
               "profile %.*s is unknown: not checked", CW_SLICE_FMT(shown));
        return;
    }
    if (!cw_fhir_sd_eq(cw_fhir_sd_type(sd), res->type)) {
        vissue(r, res, CW_SLICE_NULL, CW_SEV_ERROR, CW_ISSUE_INVALID, "",
               "profile %.*s constrains %.*s, not %.*s", CW_SLICE_FMT(shown),
               CW_SLICE_FMT(cw_fhir_sd_type_name(sd)),
               CW_SLICE_FMT(cw_fhir_sd_type_name(res->type)));
        return;
    }
    if (!cw_fhir_sd_is_profile(sd)) return; /* the core type itself: done */
    profile_pass(r, res, sd, false, NULL);
}

static void check_meta_profiles(struct vrun *r, const struct cw_fhir_node *res)
{
    /* ImplementationGuide.global: profiles for every resource of a type */
    for (size_t i = 0; i < r->o->n_global_profiles && !r->stop; i++) {
        struct cw_fhir_sd sd = cw_fhir_sd_by_url(r->reg, r->o->global_profiles[i]);
        if (sd.set && cw_fhir_sd_eq(cw_fhir_sd_type(sd), res->type))
            check_profile_url(r, res, r->o->global_profiles[i], false);
    }
    if (r->flags & CW_FHIR_VALIDATE_NO_META_PROFILE) return;
    const struct cw_json *meta = cw_json_get(res->value, "meta");
    const struct cw_json *ps = cw_json_get(meta, "profile");
    if (!cw_json_is(ps, CW_JSON_ARRAY)) return;
    for (uint32_t i = 0; i < ps->len && !r->stop; i++) {
        if (!cw_json_is(&ps->u.items[i], CW_JSON_STRING)) continue;
        check_profile_url(r, res, cw_json_text(&ps->u.items[i]), true);
    }
}

int cw_fhir_validate(struct cw_arena *a, const struct cw_json *resource,
                     const struct cw_fhir_vopts *opts, struct cw_fhir_vresult *out,
                     struct cw_err *err)
{
    static const struct cw_fhir_vopts none;
    memset(out, 0, sizeof *out);
    if (!opts) opts = &none;
    struct vrun r;
    memset(&r, 0, sizeof r);
    r.a = a;
    r.o = opts;
    pthread_once(&types_once, types_init);
    r.reg = opts->registry;
    r.flags = opts->flags;
    r.max_issues = opts->max_issues ? opts->max_issues : 1000;
    r.max_depth = opts->max_depth ? opts->max_depth : 100;
    r.res = out;
    r.root = resource;
    r.scratch = cw_arena_new(64u << 20);
    if (!r.scratch) return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    cw_buf_init(&r.path, 4096);
    r.env.registry = opts->registry;
    r.env.conforms = vconforms;
    r.env.conforms_ctx = &r;
    r.env.as_filters = true;
    r.env.primitive_is_system = true;
    r.env.limits.max_steps = 2000000;
    r.env.limits.max_items = 200000;
    r.env.limits.max_depth = 128;

    struct cw_fhir_node root;
    struct cw_err e;
    cw_err_clear(&e);
    if (cw_fhir_node_root(resource, CW_FHIR_NONE_SD, &root, &e) != 0) {
        add_issue(&r, "", CW_SEV_FATAL, e.issue ? e.issue : CW_ISSUE_STRUCTURE, "", e.msg);
    } else {
        check_node(&r, &root, 0);
        if (!r.stop) check_meta_profiles(&r, &root);
        for (size_t i = 0; i < opts->n_profiles && !r.stop; i++)
            check_profile_url(&r, &root, opts->profiles[i], false);
    }
    cw_buf_release(&r.path);
    free(r.pool);
    cw_arena_destroy(r.scratch);
    if (r.oom) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "validation ran out of memory");
    return 0;
}
