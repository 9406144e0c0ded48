/*
 * search_index.c — index rows for a resource from every SearchParameter of
 * its type (FHIR R4 search.html, searchparameter.html, and the
 * CompartmentDefinitions for compartment membership).
 *
 * Owns: one table per resource type, built on first use and kept for the
 * life of the process (they hold the compiled FHIRPath expressions). The
 * tables are published through atomic pointers under a build mutex, so
 * readers never lock.
 *
 * Compiling: a SearchParameter's expression often covers many resource
 * types ("AllergyIntolerance.code | Condition.code | Observation.code |
 * ..."). The table of a type keeps only the union branches that can apply
 * to it — branches whose first name is the type, one of its ancestors
 * (Resource, DomainResource), or not a type name at all — so each resource
 * evaluates its own branches only, and the expression is compiled with the
 * type as root for the engine's checks.
 *
 * Not indexed here: _id and _lastUpdated (the store answers them from its
 * own columns), parameters without an expression (_text, _content, _query)
 * and special parameters (Location near).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "search/search_int.h"

#define MAX_COMPONENTS 4
#define MAX_TABLES 4096
#define MAX_COMPARTMENT_PARAMS 32

struct sp_comp {
    struct search_expr *expr;
    enum cw_store_ptype type;
};

struct sp_entry {
    struct cw_fhir_sp sp;
    cw_slice code;
    enum cw_store_ptype type;
    struct search_expr *expr; /* NULL: nothing of this parameter applies */
    size_t ncomp;
    struct sp_comp comp[MAX_COMPONENTS];
};

struct comp_rule {
    cw_slice compartment; /* "Patient" */
    cw_slice param;       /* "subject" */
};

struct type_table {
    struct sp_entry *e;
    size_t n;
    struct comp_rule *rules;
    size_t nrules;
    size_t failed; /* expressions that did not compile */
};

static _Atomic(struct type_table *) g_tables[MAX_TABLES];
static pthread_mutex_t g_build_mu = PTHREAD_MUTEX_INITIALIZER;

enum cw_store_ptype cw_search_ptype(enum cw_fhir_sp_type t)
{
    switch (t) {
    case CW_FHIR_SP_NUMBER: return CW_SP_NUMBER;
    case CW_FHIR_SP_DATE: return CW_SP_DATE;
    case CW_FHIR_SP_STRING: return CW_SP_STRING;
    case CW_FHIR_SP_TOKEN: return CW_SP_TOKEN;
    case CW_FHIR_SP_REFERENCE: return CW_SP_REFERENCE;
    case CW_FHIR_SP_COMPOSITE: return CW_SP_COMPOSITE;
    case CW_FHIR_SP_QUANTITY: return CW_SP_QUANTITY;
    case CW_FHIR_SP_URI: return CW_SP_URI;
    default: return CW_SP_NONE;
    }
}

/* ---- expression branches ---- */

static bool ident_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool ident_char(char c)
{
    return ident_start(c) || (c >= '0' && c <= '9');
}

/* Does a union branch apply to resources of type t? */
static bool branch_applies(cw_slice br, struct cw_fhir_sd t)
{
    size_t i = 0;
    while (i < br.len && (br.ptr[i] == '(' || br.ptr[i] == ' ' || br.ptr[i] == '\t' ||
                          br.ptr[i] == '\n' || br.ptr[i] == '\r'))
        i++;
    if (i >= br.len || !ident_start(br.ptr[i])) return true;
    size_t j = i;
    while (j < br.len && ident_char(br.ptr[j])) j++;
    cw_slice name = cw_slice_sub(br, i, j - i);
    if (name.ptr[0] < 'A' || name.ptr[0] > 'Z') return true;
    struct cw_fhir_sd named = cw_fhir_type(name);
    if (!cw_fhir_sd_ok(named)) return true;
    return cw_fhir_type_is_a(t, named);
}

/*
 * The branches of expr's top-level union that apply to t, joined with " | "
 * (malloc'ed, NUL-terminated), or NULL when none applies. *oom on failure.
 */
static char *branches_for(cw_slice expr, struct cw_fhir_sd t, bool *oom)
{
    *oom = false;
    /* joining with " | " at most triples the text ("a|b" -> "a | b") */
    char *out = malloc(3 * expr.len + 8);
    if (!out) {
        *oom = true;
        return NULL;
    }
    size_t n = 0, start = 0;
    int depth = 0;
    char quote = 0;
    for (size_t i = 0; i <= expr.len; i++) {
        char c = i < expr.len ? expr.ptr[i] : '|';
        if (i < expr.len && quote) {
            if (c == '\\') i++;
            else if (c == quote) quote = 0;
            continue;
        }
        if (i < expr.len && (c == '\'' || c == '`')) {
            quote = c;
            continue;
        }
        if (c == '(' || c == '[' || c == '{') depth++;
        else if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
        else if (c == '|' && (depth == 0 || i == expr.len)) {
            cw_slice br = cw_slice_trim(cw_slice_sub(expr, start, i - start));
            if (br.len && branch_applies(br, t)) {
                if (n) {
                    memcpy(out + n, " | ", 3);
                    n += 3;
                }
                memcpy(out + n, br.ptr, br.len);
                n += br.len;
            }
            start = i + 1;
        }
    }
    if (!n) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    return out;
}

/* ---- per-type tables ---- */

struct build_ctx {
    struct cw_fhir_sd t;
    struct sp_entry *e;
    size_t n, cap;
    size_t failed;
    bool oom;
};

static int compile_branch(struct build_ctx *b, struct cw_fhir_sp sp, struct search_expr **out)
{
    *out = NULL;
    bool oom;
    char *text = branches_for(cw_fhir_sp_expression(sp), b->t, &oom);
    if (oom) {
        b->oom = true;
        return -1;
    }
    if (!text) return 0;
    struct cw_err err;
    cw_err_clear(&err);
    int rc = search_fp_compile(cw_slice_cstr(text), b->t, out, &err);
    free(text);
    if (rc < 0) {
        b->failed++;
        cw_log(CW_LOG_WARN, "search.compile", CW_LOG_SLICE("param", cw_fhir_sp_url(sp)),
               CW_LOG_STR("error", err.msg));
        return -1;
    }
    return 0;
}

static int add_sp(struct cw_fhir_sp sp, void *ctx)
{
    struct build_ctx *b = ctx;
    cw_slice code = cw_fhir_sp_code(sp);
    enum cw_store_ptype type = cw_search_ptype(cw_fhir_sp_type(sp));
    if (type == CW_SP_NONE || cw_fhir_sp_expression(sp).len == 0) return 0;
    if (cw_slice_eq_cstr(code, "_id") || cw_slice_eq_cstr(code, "_lastUpdated")) return 0;
    struct sp_entry ent = {.sp = sp, .code = code, .type = type};
    if (compile_branch(b, sp, &ent.expr) < 0) return b->oom ? 1 : 0;
    if (!ent.expr) return 0;
    if (type == CW_SP_COMPOSITE) {
        size_t nc = cw_fhir_sp_component_count(sp);
        bool ok = nc >= 2 && nc <= MAX_COMPONENTS;
        for (size_t i = 0; ok && i < nc; i++) {
            cw_slice def, expr;
            cw_fhir_sp_component(sp, i, &def, &expr);
            struct cw_fhir_sp csp = cw_fhir_sp_by_url(def);
            enum cw_store_ptype ct = cw_search_ptype(cw_fhir_sp_type(csp));
            struct cw_err err;
            cw_err_clear(&err);
            if (ct == CW_SP_NONE || ct == CW_SP_COMPOSITE ||
                search_fp_compile(expr, CW_FHIR_NONE_SD, &ent.comp[i].expr, &err) < 0) {
                ok = false;
                break;
            }
            ent.comp[i].type = ct;
            ent.ncomp = i + 1;
        }
        if (!ok) {
            b->failed++;
            for (size_t i = 0; i < ent.ncomp; i++) search_fp_free(ent.comp[i].expr);
            search_fp_free(ent.expr);
            return 0;
        }
    }
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 32;
        struct sp_entry *ne = realloc(b->e, ncap * sizeof *ne);
        if (!ne) {
            b->oom = true;
            return 1;
        }
        b->e = ne;
        b->cap = ncap;
    }
    b->e[b->n++] = ent;
    return 0;
}

static const char *const COMPARTMENTS[] = {"Patient", "Encounter", "RelatedPerson", "Practitioner",
                                           "Device"};

static struct type_table *build_table(struct cw_fhir_sd t, struct cw_err *err)
{
    struct build_ctx b = {.t = t};
    cw_fhir_sp_each(t, add_sp, &b);
    struct type_table *tab = calloc(1, sizeof *tab);
    size_t nrules = 0;
    struct comp_rule rules[5 * MAX_COMPARTMENT_PARAMS];
    for (size_t c = 0; c < sizeof COMPARTMENTS / sizeof COMPARTMENTS[0]; c++) {
        cw_slice params[MAX_COMPARTMENT_PARAMS];
        size_t np = cw_fhir_compartment_params(cw_slice_cstr(COMPARTMENTS[c]), t, params,
                                               MAX_COMPARTMENT_PARAMS);
        if (np > MAX_COMPARTMENT_PARAMS) np = MAX_COMPARTMENT_PARAMS;
        for (size_t k = 0; k < np; k++)
            rules[nrules++] = (struct comp_rule){cw_slice_cstr(COMPARTMENTS[c]), params[k]};
    }
    if (tab && nrules) {
        tab->rules = malloc(nrules * sizeof *tab->rules);
        if (tab->rules) {
            memcpy(tab->rules, rules, nrules * sizeof *rules);
            tab->nrules = nrules;
        } else {
            b.oom = true;
        }
    }
    if (!tab || b.oom) {
        for (size_t i = 0; i < b.n; i++) {
            search_fp_free(b.e[i].expr);
            for (size_t k = 0; k < b.e[i].ncomp; k++) search_fp_free(b.e[i].comp[k].expr);
        }
        free(b.e);
        if (tab) free(tab->rules);
        free(tab);
        cw_err_set(err, CW_ISSUE_EXCEPTION, "search: out of memory");
        return NULL;
    }
    tab->e = b.e;
    tab->n = b.n;
    tab->failed = b.failed;
    if (b.failed)
        cw_log(CW_LOG_WARN, "search.table", CW_LOG_SLICE("type", cw_fhir_sd_name(t)),
               CW_LOG_INT("uncompiled", b.failed));
    return tab;
}

static const struct type_table *get_table(struct cw_fhir_sd t, struct cw_err *err)
{
    if (t.i >= MAX_TABLES) {
        cw_err_set(err, CW_ISSUE_NOT_SUPPORTED, "search: resource type out of range");
        return NULL;
    }
    struct type_table *tab = atomic_load_explicit(&g_tables[t.i], memory_order_acquire);
    if (tab) return tab;
    pthread_mutex_lock(&g_build_mu);
    tab = atomic_load_explicit(&g_tables[t.i], memory_order_relaxed);
    if (!tab) {
        tab = build_table(t, err);
        if (tab) atomic_store_explicit(&g_tables[t.i], tab, memory_order_release);
    }
    pthread_mutex_unlock(&g_build_mu);
    return tab;
}

/* ---- extraction ---- */

/* System values may point into the scratch arena: copy their text. */
static int keep_values(struct search_rows *r, struct search_value *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (items[i].kind == SV_NODE || items[i].kind == SV_BOOLEAN) continue;
        items[i].text = cw_arena_dup(r->a, items[i].text);
        if (items[i].unit.len) items[i].unit = cw_arena_dup(r->a, items[i].unit);
        if (!items[i].text.ptr) return cw_err_set(r->err, CW_ISSUE_TOO_COSTLY, "search: arena limit");
    }
    return 0;
}

static int index_entry(struct search_rows *r, struct cw_arena *scratch,
                       const struct cw_json *resource, const struct sp_entry *e)
{
    struct search_value *items;
    size_t n;
    struct cw_err ev;
    cw_err_clear(&ev);
    if (search_fp_eval(scratch, e->expr, resource, NULL, &items, &n, &ev) < 0) {
        if (ev.issue == CW_ISSUE_TOO_COSTLY || ev.issue == CW_ISSUE_EXCEPTION) {
            *r->err = ev;
            return -1;
        }
        /* A run-time error on odd data (a singleton expected): no rows for
           this parameter; the validator reports the data. */
        cw_log(CW_LOG_DEBUG, "search.eval", CW_LOG_SLICE("param", e->code),
               CW_LOG_STR("error", ev.msg));
        return 0;
    }
    if (keep_values(r, items, n) < 0) return -1;
    for (size_t i = 0; i < n; i++) {
        if (e->type != CW_SP_COMPOSITE) {
            if (search_rows_add_value(r, e->code, e->type, 0, 0, &items[i]) < 0) return -1;
            continue;
        }
        /* search.html#composite: the components of one value share a group;
           a value only matches when every component has one, so a group
           with an empty component is dropped (Observation code-value-date
           on an Observation with a valueQuantity makes no rows). */
        uint32_t group = ++r->next_group;
        size_t mark = r->n;
        bool complete = true;
        for (size_t c = 0; c < e->ncomp && complete; c++) {
            struct search_value *sub;
            size_t ns;
            cw_err_clear(&ev);
            if (search_fp_eval(scratch, e->comp[c].expr, resource, &items[i], &sub, &ns, &ev) < 0) {
                complete = false;
                break;
            }
            if (keep_values(r, sub, ns) < 0) return -1;
            size_t before = r->n;
            for (size_t k = 0; k < ns; k++)
                if (search_rows_add_value(r, e->code, e->comp[c].type, (uint16_t)c, group,
                                          &sub[k]) < 0)
                    return -1;
            complete = r->n > before;
        }
        if (!complete) r->n = mark;
    }
    return 0;
}

/* _compartment rows (compartmentdefinition.html): one per compartment the
   resource's references put it in. */
static int add_compartments(struct search_rows *r, const struct type_table *tab)
{
    size_t end = r->n, first = r->n;
    static const cw_slice code = {"_compartment", 12};
    for (size_t k = 0; k < tab->nrules; k++) {
        const struct comp_rule *rule = &tab->rules[k];
        for (size_t i = 0; i < end; i++) {
            const struct cw_store_index_row *row = &r->v[i];
            if (row->type != CW_SP_REFERENCE || row->comp || !cw_slice_eq(row->param, rule->param) ||
                !cw_slice_eq(row->v.ref.type, rule->compartment) || row->v.ref.id.len == 0 ||
                row->v.ref.id.ptr[0] == '#')
                continue;
            cw_slice id = row->v.ref.id;
            bool dup = false;
            for (size_t j = first; j < r->n && !dup; j++)
                dup = cw_slice_eq(r->v[j].v.ref.type, rule->compartment) &&
                      cw_slice_eq(r->v[j].v.ref.id, id);
            if (dup) continue;
            struct cw_store_index_row *nr = search_rows_push(r, code, CW_SP_REFERENCE);
            if (!nr) return -1;
            nr->v.ref.type = rule->compartment;
            nr->v.ref.id = id;
            nr->v.ref.version = CW_LIT("");
            nr->v.ref.url = CW_LIT("");
        }
    }
    return 0;
}

int cw_search_index(struct cw_arena *a, const struct cw_json *resource,
                    const struct cw_search_index_opts *opts, struct cw_store_index_row **rows,
                    size_t *nrows, struct cw_err *err)
{
    *rows = NULL;
    *nrows = 0;
    const struct cw_json *rt = cw_json_get(resource, "resourceType");
    if (!cw_json_is(rt, CW_JSON_STRING))
        return cw_err_set(err, CW_ISSUE_STRUCTURE, "search: not a resource (no resourceType)");
    struct cw_fhir_sd t = cw_fhir_type(cw_json_text(rt));
    if (!cw_fhir_sd_ok(t) || cw_fhir_sd_kind(t) != CW_FHIR_KIND_RESOURCE || cw_fhir_sd_abstract(t))
        return cw_err_set(err, CW_ISSUE_NOT_SUPPORTED, "search: unknown resource type");
    const struct type_table *tab = get_table(t, err);
    if (!tab) return -1;
    struct search_rows r;
    search_rows_init(&r, a, resource, opts, err);
    struct cw_arena *scratch = cw_arena_new(a->limit);
    if (!scratch) return cw_err_set(err, CW_ISSUE_EXCEPTION, "search: out of memory");
    int rc = 0;
    for (size_t i = 0; i < tab->n && rc == 0; i++) {
        rc = index_entry(&r, scratch, resource, &tab->e[i]);
        if (cw_arena_used(scratch) > ((size_t)4 << 20)) cw_arena_reset(scratch);
    }
    cw_arena_destroy(scratch);
    if (rc == 0) rc = add_compartments(&r, tab);
    if (rc < 0) return -1;
    *rows = r.v;
    *nrows = r.n;
    return 0;
}

size_t search_index_uncompiled(struct cw_fhir_sd t, size_t *nparams)
{
    struct cw_err err;
    cw_err_clear(&err);
    const struct type_table *tab = get_table(t, &err);
    if (!tab) return (size_t)-1;
    if (nparams) *nparams = tab->n;
    return tab->failed;
}
