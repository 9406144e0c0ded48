/*
 * fhirpath_eval.c — the FHIRPath evaluator: entry points, navigation over
 * the resource model, and the operators.
 *
 * Evaluation walks the immutable tree. Each node receives the scope ($this,
 * $index, $total) and produces a collection in the evaluation's arena.
 * Path navigation (N1 §4 "Navigation model", FHIR R4 fhirpath.html):
 *  - a node's children are found in its JSON object by FHIRPath name: the
 *    element definition is looked up once per (parent element, parent type)
 *    in a small per-evaluation cache, then the JSON members are matched by
 *    name ("value" matches valueQuantity for a choice element, resolving
 *    the type from the suffix); repeating elements yield one node per array
 *    item; a primitive's "x" and "_x" are merged into one node (lenient:
 *    "_x" arrays shorter than "x" are padded with nulls, and members that
 *    the model does not define are skipped);
 *  - resources inside resources (contained, Bundle.entry.resource,
 *    Parameters.parameter.resource) get their type from resourceType;
 *  - JSON whose resourceType is unknown is navigated by key, untyped:
 *    objects stay nodes, scalars become System values;
 *  - an identifier that starts a path and names a type is a type filter on
 *    the context (N1 §4.1: Patient.name on a Patient).
 * Operators follow N1 §6 (see fhirpath_value.c for the value rules):
 * three-valued logic with singleton evaluation of collections (§4.5), and
 * the operands of arithmetic and comparison must be singletons.
 *
 * Limits: items per collection, steps (work), recursion depth and string
 * length are checked as the evaluation goes (struct cw_fhirpath_limits).
 * Ownership: all results live in the caller's arena; the input JSON and
 * the compiled expression are borrowed. Thread-safe: no global state
 * except the immutable tables initialized once (pthread_once).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "fhir/fhirpath_int.h"

/* ---- errors, limits, vectors ---- */

int fp_fail(struct fp_ev *ev, const struct fp_ast *n, enum cw_issue issue, const char *fmt, ...)
{
    ev->failed = true;
    if (ev->err && cw_err_is_set(ev->err)) return -1; /* keep the first error */
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned line = 0, col = 0;
    if (n) fp_line_col(ev->e->source, n->pos, &line, &col);
    cw_err_set(ev->err, issue, "FHIRPath evaluation error at line %u, column %u: %s", line, col,
               msg);
    if (ev->err) {
        ev->err->line = line;
        ev->err->column = col;
    }
    return -1;
}

static int oom(struct fp_ev *ev, const struct fp_ast *n)
{
    if (cw_arena_exceeded(ev->a))
        return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "memory limit of the evaluation reached");
    return fp_fail(ev, n, CW_ISSUE_EXCEPTION, "out of memory");
}

int fp_steps(struct fp_ev *ev, const struct fp_ast *n, uint64_t k)
{
    ev->steps += k;
    if (ev->steps > ev->max_steps)
        return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "evaluation step limit (%llu) reached",
                       (unsigned long long)ev->max_steps);
    return 0;
}

int fp_vec_push_slow(struct fp_ev *ev, struct fp_vec *v, fp_val x)
{
    if (v->n == v->cap) {
        if (v->n >= ev->max_items)
            return fp_fail(ev, NULL, CW_ISSUE_TOO_COSTLY, "collection larger than %zu items",
                           ev->max_items);
        size_t cap = v->cap ? v->cap * 2 : 4;
        if (cap > ev->max_items) cap = ev->max_items;
        fp_val *p = cw_arena_array(ev->a, cap, sizeof *p);
        if (!p) return oom(ev, NULL);
        if (v->n) memcpy(p, v->items, v->n * sizeof *p);
        v->items = p;
        v->cap = cap;
    }
    v->items[v->n++] = x;
    return 0;
}

int fp_vec_reserve(struct fp_ev *ev, struct fp_vec *v, size_t more)
{
    if (v->cap - v->n >= more) return 0;
    if (v->n + more > ev->max_items)
        return fp_fail(ev, NULL, CW_ISSUE_TOO_COSTLY, "collection larger than %zu items",
                       ev->max_items);
    size_t cap = v->cap ? v->cap : 4;
    while (cap < v->n + more) cap *= 2;
    if (cap > ev->max_items) cap = ev->max_items;
    fp_val *p = cw_arena_array(ev->a, cap, sizeof *p);
    if (!p) return oom(ev, NULL);
    if (v->n) memcpy(p, v->items, v->n * sizeof *p);
    v->items = p;
    v->cap = cap;
    return 0;
}

int fp_single(struct fp_ev *ev, fp_val v, fp_coll *out)
{
    fp_val *p = cw_arena_alloc(ev->a, sizeof *p);
    if (!p) return oom(ev, NULL);
    *p = v;
    *out = (fp_coll){p, 1};
    return 0;
}

static const fp_val TRUE_VAL = {.kind = CW_FHIRPATH_BOOLEAN, .u = {.b = true}};
static const fp_val FALSE_VAL = {.kind = CW_FHIRPATH_BOOLEAN, .u = {.b = false}};

/* Booleans are immutable: results point at shared constants, no allocation. */
static int ret_bool(struct fp_ev *ev, bool b, fp_coll *out)
{
    (void)ev;
    *out = (fp_coll){b ? &TRUE_VAL : &FALSE_VAL, 1};
    return 0;
}

/* ---- FHIR primitive types ---- */

static pthread_once_t prim_once = PTHREAD_ONCE_INIT;
static bool prim_ready;
#define PRIM_INIT()                                                                                \
    do {                                                                                           \
        if (!__atomic_load_n(&prim_ready, __ATOMIC_ACQUIRE)) {                                     \
            pthread_once(&prim_once, prim_init);                                                   \
            __atomic_store_n(&prim_ready, true, __ATOMIC_RELEASE);                                 \
        }                                                                                          \
    } while (0)
/* Per core SD index: the System kind of a primitive (0 = not one) and
   whether any core type specializes it (is-a tests need a chain walk only
   then). Built once; read-only afterwards. */
#define TYPE_TABLE_MAX 8192
static uint8_t prim_tab[TYPE_TABLE_MAX];
static uint8_t has_sub_tab[TYPE_TABLE_MAX];
static const struct cw_fhir_set *base_set;
static struct cw_fhir_sd sd_quantity;
static struct cw_fhir_sd sd_id;

static void prim_init(void)
{
    static const struct {
        const char *name;
        enum fp_sys sys;
    } P[] = {
        {"boolean", FP_SYS_BOOLEAN},     {"integer", FP_SYS_INTEGER},
        {"positiveInt", FP_SYS_INTEGER}, {"unsignedInt", FP_SYS_INTEGER},
        {"decimal", FP_SYS_DECIMAL},     {"date", FP_SYS_DATE},
        {"dateTime", FP_SYS_DATETIME},   {"instant", FP_SYS_DATETIME},
        {"time", FP_SYS_TIME},           {"integer64", FP_SYS_INTEGER},
    };
    struct cw_fhir_sd any = cw_fhir_type_cstr("Resource");
    base_set = any.set;
    for (size_t k = 0; k < sizeof P / sizeof P[0]; k++) {
        struct cw_fhir_sd sd = cw_fhir_type_cstr(P[k].name);
        if (sd.set == base_set && sd.i < TYPE_TABLE_MAX) prim_tab[sd.i] = (uint8_t)P[k].sys;
    }
    size_t n = cw_fhir_core_sd_count();
    for (size_t i = 0; i < n; i++) {
        struct cw_fhir_sd sd = cw_fhir_core_sd_at(i);
        if (cw_fhir_sd_is_profile(sd)) continue;
        struct cw_fhir_sd b = cw_fhir_sd_base(sd);
        for (int guard = 0; b.set && guard < 64; guard++) {
            if (b.set == base_set && b.i < TYPE_TABLE_MAX) has_sub_tab[b.i] = 1;
            b = cw_fhir_sd_base(b);
        }
    }
    sd_quantity = cw_fhir_type_cstr("Quantity");
    sd_id = cw_fhir_type_cstr("id");
}

/* The System kind a FHIR primitive type maps to (String for the rest). */
static enum fp_sys prim_sys(struct cw_fhir_sd t)
{
    PRIM_INIT();
    if (t.set == base_set && t.i < TYPE_TABLE_MAX && prim_tab[t.i])
        return (enum fp_sys)prim_tab[t.i];
    return FP_SYS_STRING;
}

/* t is-a ancestor, with the common cases answered from the tables. */
static bool type_is_a(struct cw_fhir_sd t, struct cw_fhir_sd ancestor)
{
    if (t.set == ancestor.set && t.i == ancestor.i) return true;
    PRIM_INIT();
    if (ancestor.set == base_set && ancestor.i < TYPE_TABLE_MAX && !has_sub_tab[ancestor.i] &&
        t.set == base_set)
        return false;
    return cw_fhir_type_is_a(t, ancestor);
}

/*
 * The R4 (4.0.1) definitions type Resource.id as System.String with the
 * fhir-type extension "string", while the specification's resource table
 * (resource.html#Resource) says the type is id (corrected in R4B/R5). A
 * resource's own id is therefore typed FHIR.id here.
 */
static struct cw_fhir_sd fix_type(const struct cw_fhir_node *p, cw_slice name, struct cw_fhir_sd t)
{
    if ((p->flags & CW_FHIR_NODE_RESOURCE) && name.len == 2 && name.ptr[0] == 'i' &&
        name.ptr[1] == 'd') {
        pthread_once(&prim_once, prim_init);
        if (sd_id.set) return sd_id;
    }
    return t;
}

bool fp_node_is_primitive(const struct cw_fhir_node *n)
{
    return (n->flags & CW_FHIR_NODE_PRIMITIVE) != 0;
}

cw_slice fp_node_type_name(const struct cw_fhir_node *n)
{
    if (n->flags & FP_NODE_UNTYPED) return CW_LIT("Any");
    return cw_fhir_sd_type_name(n->type);
}

/* A System value from an untyped JSON scalar; 0 when not a scalar. */
static int json_scalar(struct fp_ev *ev, const struct cw_json *j, fp_val *out)
{
    switch (j->type) {
    case CW_JSON_TRUE:
    case CW_JSON_FALSE:
        *out = fp_bool(j->type == CW_JSON_TRUE);
        return 1;
    case CW_JSON_STRING:
        *out = fp_str(cw_json_text(j));
        return 1;
    case CW_JSON_NUMBER: {
        long long i;
        if (cw_json_to_i64(j, &i) == 0) {
            *out = fp_int(i);
            return 1;
        }
        fp_dec d;
        if (fp_dec_parse(cw_json_text(j), &d) < 0) {
            *out = fp_str(cw_json_text(j));
            return 1;
        }
        return fp_make_dec(ev, &d, out) < 0 ? -1 : 1;
    }
    default:
        return 0;
    }
}

int fp_to_system(struct fp_ev *ev, const fp_val *in, fp_val *out)
{
    if (in->kind != CW_FHIRPATH_NODE) {
        if (in->kind == CW_FHIRPATH_TYPEINFO) return 0;
        *out = *in;
        return 1;
    }
    const struct cw_fhir_node *n = in->u.node;
    if (!(n->flags & CW_FHIR_NODE_PRIMITIVE) || !n->value) return 0;
    const struct cw_json *j = n->value;
    enum fp_sys s = prim_sys(n->type);
    switch (s) {
    case FP_SYS_BOOLEAN:
        if (j->type == CW_JSON_TRUE || j->type == CW_JSON_FALSE) {
            *out = fp_bool(j->type == CW_JSON_TRUE);
            return 1;
        }
        break;
    case FP_SYS_INTEGER:
    case FP_SYS_DECIMAL:
        if (j->type == CW_JSON_NUMBER || j->type == CW_JSON_STRING) {
            long long i;
            if (s == FP_SYS_INTEGER && j->type == CW_JSON_NUMBER && cw_json_to_i64(j, &i) == 0) {
                *out = fp_int(i);
                return 1;
            }
            fp_dec d;
            if (fp_dec_parse(cw_json_text(j), &d) == 0) return fp_make_dec(ev, &d, out) < 0 ? 0 : 1;
        }
        break;
    case FP_SYS_DATE:
    case FP_SYS_DATETIME:
    case FP_SYS_TIME:
        if (j->type == CW_JSON_STRING) {
            enum cw_fhirpath_kind k = s == FP_SYS_DATE   ? CW_FHIRPATH_DATE
                                      : s == FP_SYS_TIME ? CW_FHIRPATH_TIME
                                                         : CW_FHIRPATH_DATETIME;
            struct cw_dt dt;
            if (fp_parse_dt_text(cw_json_text(j), k, &dt) == 0)
                return fp_make_dt(ev, k, &dt, out) < 0 ? 0 : 1;
        }
        break;
    default:
        break;
    }
    /* strings (and malformed primitives): the text */
    if (j->type == CW_JSON_STRING || j->type == CW_JSON_NUMBER) {
        *out = fp_str(cw_json_text(j));
        return 1;
    }
    if (j->type == CW_JSON_TRUE || j->type == CW_JSON_FALSE) {
        *out = fp_bool(j->type == CW_JSON_TRUE);
        return 1;
    }
    return 0;
}

static const cw_slice UCUM_URL = CW_LIT("http://unitsofmeasure.org");

int fp_to_quantity(struct fp_ev *ev, const fp_val *in, fp_qty *out)
{
    (void)ev;
    switch (in->kind) {
    case CW_FHIRPATH_QUANTITY:
        *out = *in->u.qty;
        return 1;
    case CW_FHIRPATH_INTEGER:
        memset(out, 0, sizeof *out);
        fp_dec_from_i64(in->u.i, &out->value);
        out->unit = CW_LIT("1");
        return 1;
    case CW_FHIRPATH_DECIMAL:
        memset(out, 0, sizeof *out);
        out->value = *in->u.dec;
        out->unit = CW_LIT("1");
        return 1;
    case CW_FHIRPATH_NODE:
        break;
    default:
        return 0;
    }
    const struct cw_fhir_node *n = in->u.node;
    if (n->flags & (CW_FHIR_NODE_PRIMITIVE | FP_NODE_UNTYPED)) {
        /* a primitive number node converts like its System value */
        if (n->flags & CW_FHIR_NODE_PRIMITIVE) {
            fp_val s;
            if (fp_to_system(ev, in, &s) == 1 &&
                (s.kind == CW_FHIRPATH_INTEGER || s.kind == CW_FHIRPATH_DECIMAL))
                return fp_to_quantity(ev, &s, out);
        }
        return 0;
    }
    if (!type_is_a(n->type, sd_quantity)) return 0;
    const struct cw_json *o = n->value;
    const struct cw_json *v = cw_json_get(o, "value");
    if (!cw_json_is(v, CW_JSON_NUMBER)) return 0;
    memset(out, 0, sizeof *out);
    if (fp_dec_parse(cw_json_text(v), &out->value) < 0) return 0;
    const struct cw_json *code = cw_json_get(o, "code");
    const struct cw_json *sys = cw_json_get(o, "system");
    const struct cw_json *unit = cw_json_get(o, "unit");
    if (cw_json_is(code, CW_JSON_STRING) &&
        (!sys || (cw_json_is(sys, CW_JSON_STRING) && cw_slice_eq(cw_json_text(sys), UCUM_URL))))
        out->unit = cw_json_text(code);
    else if (cw_json_is(unit, CW_JSON_STRING))
        out->unit = cw_json_text(unit);
    else if (cw_json_is(code, CW_JSON_STRING))
        out->unit = cw_json_text(code);
    else
        out->unit = CW_LIT("1");
    return 1;
}

/* ---- types ---- */

bool fp_is_type(const fp_val *v, const struct fp_typespec *t)
{
    if (t->ns == FP_NS_SYSTEM) {
        if (t->sys == FP_SYS_ANY) return true;
        switch (v->kind) {
        case CW_FHIRPATH_BOOLEAN:
            return t->sys == FP_SYS_BOOLEAN;
        case CW_FHIRPATH_INTEGER:
            return t->sys == FP_SYS_INTEGER;
        case CW_FHIRPATH_DECIMAL:
            return t->sys == FP_SYS_DECIMAL;
        case CW_FHIRPATH_STRING:
            return t->sys == FP_SYS_STRING;
        case CW_FHIRPATH_DATE:
            return t->sys == FP_SYS_DATE;
        case CW_FHIRPATH_DATETIME:
            return t->sys == FP_SYS_DATETIME;
        case CW_FHIRPATH_TIME:
            return t->sys == FP_SYS_TIME;
        case CW_FHIRPATH_QUANTITY:
            return t->sys == FP_SYS_QUANTITY;
        default:
            return false;
        }
    }
    if (t->ns == FP_NS_FHIR) {
        if (v->kind != CW_FHIRPATH_NODE) return false;
        const struct cw_fhir_node *n = v->u.node;
        if (n->flags & FP_NODE_UNTYPED) return false;
        return type_is_a(n->type, t->sd);
    }
    return false;
}

struct cw_fhirpath_type fp_type_of(const fp_val *v)
{
    struct cw_fhirpath_type t = {.ns = FP_NS_SYSTEM};
    switch (v->kind) {
    case CW_FHIRPATH_BOOLEAN:
        t.sys = FP_SYS_BOOLEAN;
        break;
    case CW_FHIRPATH_INTEGER:
        t.sys = FP_SYS_INTEGER;
        break;
    case CW_FHIRPATH_DECIMAL:
        t.sys = FP_SYS_DECIMAL;
        break;
    case CW_FHIRPATH_STRING:
        t.sys = FP_SYS_STRING;
        break;
    case CW_FHIRPATH_DATE:
        t.sys = FP_SYS_DATE;
        break;
    case CW_FHIRPATH_DATETIME:
        t.sys = FP_SYS_DATETIME;
        break;
    case CW_FHIRPATH_TIME:
        t.sys = FP_SYS_TIME;
        break;
    case CW_FHIRPATH_QUANTITY:
        t.sys = FP_SYS_QUANTITY;
        break;
    case CW_FHIRPATH_NODE:
        if (!(v->u.node->flags & FP_NODE_UNTYPED)) {
            t.ns = FP_NS_FHIR;
            t.sd = v->u.node->type;
        } else {
            t.sys = FP_SYS_ANY;
        }
        break;
    default:
        t.sys = FP_SYS_ANY;
        break;
    }
    return t;
}

/* ---- navigation ---- */


/* Resource type names -> SD: an open-addressing table of every concrete
   core resource type, built once (read-only afterwards), keyed by the
   length and the first and last 8 bytes of the name (loaded as words). */
#define RT_SLOTS 1024
static struct {
    const char *name;
    uint32_t len;
    uint64_t w0, w1;
    struct cw_fhir_sd sd;
} rt_tab[RT_SLOTS];
static pthread_once_t rt_once = PTHREAD_ONCE_INIT;
static bool rt_ready;

static inline void rt_words(const char *p, size_t n, uint64_t *w0, uint64_t *w1)
{
    *w0 = *w1 = 0;
    if (n >= 8) {
        memcpy(w0, p, 8);
        memcpy(w1, p + n - 8, 8);
    } else {
        uint64_t w = 0;
        for (size_t i = 0; i < n; i++) w |= (uint64_t)(unsigned char)p[i] << (8 * i);
        *w0 = w;
    }
}

static inline uint32_t rt_hash(size_t n, uint64_t w0, uint64_t w1)
{
    uint64_t h = w0 ^ (w1 * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)n << 56);
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 33;
    return (uint32_t)h;
}

static void rt_init(void)
{
    size_t n = cw_fhir_core_sd_count();
    for (size_t i = 0; i < n; i++) {
        struct cw_fhir_sd sd = cw_fhir_core_sd_at(i);
        if (cw_fhir_sd_is_profile(sd) || cw_fhir_sd_kind(sd) != CW_FHIR_KIND_RESOURCE ||
            cw_fhir_sd_abstract(sd))
            continue;
        cw_slice name = cw_fhir_sd_type_name(sd);
        uint64_t w0, w1;
        rt_words(name.ptr, name.len, &w0, &w1);
        uint32_t h = rt_hash(name.len, w0, w1) & (RT_SLOTS - 1);
        for (unsigned probe = 0; probe < RT_SLOTS; probe++, h = (h + 1) & (RT_SLOTS - 1)) {
            if (!rt_tab[h].name) {
                rt_tab[h].name = name.ptr;
                rt_tab[h].len = (uint32_t)name.len;
                rt_tab[h].w0 = w0;
                rt_tab[h].w1 = w1;
                rt_tab[h].sd = sd;
                break;
            }
            if (rt_tab[h].len == name.len && cw_bytes_eq(rt_tab[h].name, name.ptr, name.len)) break;
        }
    }
}

static struct cw_fhir_sd resource_type_named(const struct cw_json *obj, cw_slice *name_out)
{
    const struct cw_json *rt = NULL;
    if (!obj || obj->type != CW_JSON_OBJECT) return CW_FHIR_NONE_SD;
    for (uint32_t k = 0; k < obj->len; k++) {
        const struct cw_json_member *m = &obj->u.members[k];
        if (m->key.len == 12 && cw_bytes_eq(m->key.ptr, "resourceType", 12)) {
            rt = &m->value;
            break;
        }
    }
    if (!cw_json_is(rt, CW_JSON_STRING)) return CW_FHIR_NONE_SD;
    if (!__atomic_load_n(&rt_ready, __ATOMIC_ACQUIRE)) {
        pthread_once(&rt_once, rt_init);
        __atomic_store_n(&rt_ready, true, __ATOMIC_RELEASE);
    }
    const char *p = rt->u.str;
    uint32_t n = rt->len;
    uint64_t w0, w1;
    rt_words(p, n, &w0, &w1);
    uint32_t h = rt_hash(n, w0, w1) & (RT_SLOTS - 1);
    for (unsigned probe = 0; probe < RT_SLOTS; probe++, h = (h + 1) & (RT_SLOTS - 1)) {
        if (!rt_tab[h].name) return CW_FHIR_NONE_SD;
        if (rt_tab[h].len == n && rt_tab[h].w0 == w0 && rt_tab[h].w1 == w1 &&
            (n <= 16 || cw_bytes_eq(rt_tab[h].name + 8, p + 8, n - 16))) {
            if (name_out) *name_out = (cw_slice){rt_tab[h].name, n};
            return rt_tab[h].sd;
        }
    }
    return CW_FHIR_NONE_SD;
}

static inline struct cw_fhir_sd resource_type(struct fp_ev *ev, const struct cw_json *obj)
{
    (void)ev;
    return resource_type_named(obj, NULL);
}

static struct cw_fhir_node *new_node(struct fp_ev *ev)
{
    struct cw_fhir_node *n = cw_arena_alloc(ev->a, sizeof *n);
    if (!n) {
        oom(ev, NULL);
        return NULL;
    }
    return n;
}

int fp_node_for_resource(struct fp_ev *ev, const struct cw_json *res,
                         const struct cw_fhir_node *parent, fp_val *out)
{
    struct cw_fhir_node *n = new_node(ev);
    if (!n) return -1;
    memset(n, 0, sizeof *n);
    n->value = res;
    n->index = CW_FHIR_NO_INDEX;
    n->parent = parent;
    cw_slice tname = CW_SLICE_NULL;
    struct cw_fhir_sd t = resource_type_named(res, &tname);
    if (t.set) {
        n->type = t;
        n->elem = cw_fhir_sd_root(t);
        n->flags = CW_FHIR_NODE_RESOURCE;
        n->name = tname;
    } else {
        n->flags = FP_NODE_UNTYPED | CW_FHIR_NODE_RESOURCE;
        n->name = CW_LIT("Resource");
    }
    memset(out, 0, sizeof *out);
    out->kind = CW_FHIRPATH_NODE;
    out->u.node = n;
    return 0;
}

/* ofType(<a concrete resource type>) on resource object v: compare the
   resourceType text with the wanted name instead of looking the type up. */
static inline bool leaf_type_matches(const struct cw_json *v, const struct fp_typespec *f)
{
    const struct cw_json *rtv = v->len && v->u.members[0].key.len == 12 &&
                                        cw_bytes_eq(v->u.members[0].key.ptr, "resourceType", 12)
                                    ? &v->u.members[0].value
                                    : cw_json_get(v, "resourceType");
    return cw_json_is(rtv, CW_JSON_STRING) && rtv->len == f->name_len &&
           cw_bytes_eq(rtv->u.str, f->name, f->name_len);
}

/*
 * Fill *n with the child node for JSON value v (may be NULL) and its "_x"
 * entry x: 1 when there is a node, 0 when there is none (absent, the wrong
 * JSON shape, or dropped by the fused ofType() filter f). leaf_ok: v is
 * known to pass f, a concrete resource type. n->parent is left to the caller.
 */
static inline __attribute__((always_inline)) int
make_child(struct fp_ev *ev, struct cw_fhir_elem ce, struct cw_fhir_sd t, enum cw_fhir_kind kind,
           bool choice, cw_slice name, uint32_t index, const struct cw_json *v,
           const struct cw_json *x, const struct fp_typespec *f, bool leaf_ok,
           struct cw_fhir_node *n)
{
    if (v && v->type == CW_JSON_NULL) v = NULL;
    if (x && x->type != CW_JSON_OBJECT) x = NULL;
    if (kind == CW_FHIR_KIND_PRIMITIVE) {
        if (v && (v->type == CW_JSON_OBJECT || v->type == CW_JSON_ARRAY)) return 0;
        if (!v && !x) return 0;
    } else {
        if (!v || v->type != CW_JSON_OBJECT) return 0;
    }
    unsigned flags = 0;
    if (choice) flags |= CW_FHIR_NODE_CHOICE;
    if (kind == CW_FHIR_KIND_PRIMITIVE) flags |= CW_FHIR_NODE_PRIMITIVE;
    if (kind == CW_FHIR_KIND_RESOURCE && f && f->ns == FP_NS_FHIR && f->leaf_resource) {
        if (!leaf_ok && !leaf_type_matches(v, f)) return 0;
        t = f->sd;
        flags |= CW_FHIR_NODE_RESOURCE;
        f = NULL; /* already matched */
    } else if (kind == CW_FHIR_KIND_RESOURCE || !t.set) {
        struct cw_fhir_sd rt = resource_type(ev, v);
        if (rt.set) {
            t = rt;
            flags |= CW_FHIR_NODE_RESOURCE;
        } else {
            flags |= FP_NODE_UNTYPED;
            if (kind == CW_FHIR_KIND_RESOURCE) flags |= CW_FHIR_NODE_RESOURCE;
        }
    }
    /* a fused ofType() after this navigation: skip what it would drop */
    if (f && !(f->ns == FP_NS_SYSTEM && f->sys == FP_SYS_ANY)) {
        if (f->ns != FP_NS_FHIR || (flags & FP_NODE_UNTYPED) || !type_is_a(t, f->sd)) return 0;
    }
    n->value = v;
    n->ext = kind == CW_FHIR_KIND_PRIMITIVE ? x : NULL;
    n->elem = ce;
    n->type = t;
    n->name = name;
    n->index = index;
    n->flags = flags;
    return 1;
}

/* Push a copy of child c (parent set here) onto out. */
static inline int push_child(struct fp_ev *ev, const struct cw_fhir_node *c,
                             const struct cw_fhir_node *parent, struct fp_vec *out)
{
    struct cw_fhir_node *n = new_node(ev);
    if (!n) return -1;
    *n = *c;
    n->parent = parent;
    fp_val val = {.kind = CW_FHIRPATH_NODE};
    val.u.node = n;
    return fp_vec_push(ev, out, val);
}

/* Emit one child node from JSON value v (may be NULL) and its "_x" entry x. */
static inline __attribute__((always_inline)) int
emit_node(struct fp_ev *ev, const struct cw_fhir_node *parent, struct cw_fhir_elem ce,
          struct cw_fhir_sd t, enum cw_fhir_kind kind, bool choice, cw_slice name, uint32_t index,
          const struct cw_json *v, const struct cw_json *x, struct fp_vec *out)
{
    struct cw_fhir_node c;
    int r = make_child(ev, ce, t, kind, choice, name, index, v, x, ev->nav_filter, false, &c);
    if (r <= 0) return r;
    return push_child(ev, &c, parent, out);
}

/* Emit the nodes of one JSON member (array or single). */
static int emit_member(struct fp_ev *ev, const struct cw_fhir_node *parent, struct cw_fhir_elem ce,
                       struct cw_fhir_sd t, enum cw_fhir_kind kind, bool choice, cw_slice name,
                       const struct cw_json *v, const struct cw_json *x, struct fp_vec *out)
{
    const struct cw_json *shape = v ? v : x;
    if (!shape) return 0;
    if (shape->type == CW_JSON_ARRAY) {
        uint32_t len = v && v->type == CW_JSON_ARRAY ? v->len : 0;
        uint32_t xlen = x && x->type == CW_JSON_ARRAY ? x->len : 0;
        uint32_t nn = len > xlen ? len : xlen;
        if (fp_steps(ev, NULL, nn) < 0 || fp_vec_reserve(ev, out, nn) < 0) return -1;
        for (uint32_t i = 0; i < nn; i++) {
            const struct cw_json *vi = i < len ? &v->u.items[i] : NULL;
            const struct cw_json *xi = i < xlen ? &x->u.items[i] : NULL;
            if (emit_node(ev, parent, ce, t, kind, choice, name, i, vi, xi, out) < 0) return -1;
        }
        return 0;
    }
    if (x && x->type == CW_JSON_ARRAY) x = NULL;
    if (fp_steps(ev, NULL, 1) < 0) return -1;
    return emit_node(ev, parent, ce, t, kind, choice, name, CW_FHIR_NO_INDEX, v, x, out);
}

/* The type of a choice element named by a JSON suffix ("Quantity"). */
static struct cw_fhir_sd choice_type(struct cw_fhir_elem ce, cw_slice suffix)
{
    size_t nt = cw_fhir_elem_type_count(ce);
    for (size_t k = 0; k < nt; k++) {
        struct cw_fhir_typeref tr;
        if (cw_fhir_elem_type(ce, k, &tr) < 0) continue;
        cw_slice tn = cw_fhir_sd_type_name(tr.type);
        if (tn.len != suffix.len || tn.len == 0) continue;
        char c0 = tn.ptr[0];
        if (c0 >= 'a' && c0 <= 'z') c0 = (char)(c0 - 32);
        if (c0 == suffix.ptr[0] && memcmp(tn.ptr + 1, suffix.ptr + 1, tn.len - 1) == 0)
            return tr.type;
    }
    return CW_FHIR_NONE_SD;
}

/* The "_name" member for a primitive "name" in obj, or NULL. */
static const struct cw_json *ext_member(const struct cw_json *obj, cw_slice bare)
{
    if (obj->flags & CW_JSON_F_NOEXT) return NULL;
    for (uint32_t k = 0; k < obj->len; k++) {
        cw_slice key = obj->u.members[k].key;
        if (key.len == bare.len + 1 && key.ptr[0] == '_' &&
            memcmp(key.ptr + 1, bare.ptr, bare.len) == 0)
            return &obj->u.members[k].value;
    }
    return NULL;
}

static bool has_member(const struct cw_json *obj, cw_slice key)
{
    for (uint32_t k = 0; k < obj->len; k++)
        if (cw_slice_eq(obj->u.members[k].key, key)) return true;
    return false;
}

/* Child element named 'name' of a typed node, through the slot cache. The
   result points into the cache or into *tmp. */
static const struct fp_nav_cache *child_elem(struct fp_ev *ev, const struct fp_ast *n,
                                             const struct cw_fhir_node *p, cw_slice name,
                                             struct fp_nav_cache *tmp)
{
    struct fp_nav_cache *c = NULL;
    if (n && !ev->nav && ev->e->n_slots)
        ev->nav = cw_arena_zalloc(ev->a, (size_t)ev->e->n_slots * sizeof *ev->nav);
    if (n && ev->nav && (n->op == FP_OP_MEMBER || n->op == FP_OP_FUNC) &&
        n->slot < ev->e->n_slots) {
        c = ev->nav[n->slot];
        if (!c) {
            c = cw_arena_alloc(ev->a, FP_NAV_WAYS * sizeof *c);
            if (c)
                for (unsigned k = 0; k < FP_NAV_WAYS; k++) c[k].valid = false;
            ev->nav[n->slot] = c;
        }
        if (c) {
            for (unsigned k = 0; k < FP_NAV_WAYS && c[k].valid; k++) {
                if (c[k].pelem.i == p->elem.i && c[k].ptype.i == p->type.i &&
                    c[k].pelem.set == p->elem.set && c[k].ptype.set == p->type.set)
                    return &c[k];
            }
        }
    }
    struct fp_nav_cache *res = tmp;
    memset(res, 0, sizeof *res);
    res->pelem = p->elem;
    res->ptype = p->type;
    res->child = cw_fhir_child_by_name(p->elem, p->type, name);
    res->valid = true;
    if (res->child.set) {
        res->choice = (cw_fhir_elem_flags(res->child) & CW_FHIR_E_CHOICE) != 0;
        if (res->choice) {
            size_t nt = cw_fhir_elem_type_count(res->child);
            for (size_t k = 0; k < nt; k++) {
                struct cw_fhir_typeref tr;
                if (cw_fhir_elem_type(res->child, k, &tr) < 0) continue;
                size_t l = name.len + cw_fhir_sd_type_name(tr.type).len;
                res->choice_lens |= (uint64_t)1 << (l < 63 ? l : 63);
            }
        } else {
            res->single = cw_fhir_elem_single_type(res->child);
            res->kind = (uint8_t)cw_fhir_sd_kind(res->single);
        }
    }
    if (c) {
        /* newest first; the oldest way falls off */
        memmove(&c[1], &c[0], (FP_NAV_WAYS - 1) * sizeof *c);
        c[0] = *res;
        return &c[0];
    }
    return res;
}

/* Untyped JSON: the member named exactly 'name' (or all members). */
static int nav_untyped(struct fp_ev *ev, const struct cw_fhir_node *p, cw_slice name, bool all,
                       struct fp_vec *out)
{
    const struct cw_json *obj = p->value;
    if (!cw_json_is(obj, CW_JSON_OBJECT)) return 0;
    for (uint32_t k = 0; k < obj->len; k++) {
        const struct cw_json_member *m = &obj->u.members[k];
        if (!all && !cw_slice_eq(m->key, name)) continue;
        if (all && (p->flags & CW_FHIR_NODE_RESOURCE) && cw_slice_eq_cstr(m->key, "resourceType"))
            continue;
        const struct cw_json *v = &m->value;
        uint32_t cnt = v->type == CW_JSON_ARRAY ? v->len : 1;
        if (fp_steps(ev, NULL, cnt) < 0) return -1;
        for (uint32_t i = 0; i < cnt; i++) {
            const struct cw_json *it = v->type == CW_JSON_ARRAY ? &v->u.items[i] : v;
            fp_val sv;
            int r = json_scalar(ev, it, &sv);
            if (r < 0) return oom(ev, NULL);
            if (r == 1) {
                if (fp_vec_push(ev, out, sv) < 0) return -1;
                continue;
            }
            if (it->type != CW_JSON_OBJECT) continue;
            struct cw_fhir_sd rt = resource_type(ev, it);
            if (rt.set) {
                if (fp_node_for_resource(ev, it, p, &sv) < 0 || fp_vec_push(ev, out, sv) < 0)
                    return -1;
                continue;
            }
            struct cw_fhir_node *n = new_node(ev);
            if (!n) return -1;
            memset(n, 0, sizeof *n);
            n->value = it;
            n->name = m->key;
            n->index = v->type == CW_JSON_ARRAY ? i : CW_FHIR_NO_INDEX;
            n->parent = p;
            n->flags = FP_NODE_UNTYPED;
            fp_val nv = {.kind = CW_FHIRPATH_NODE};
            nv.u.node = n;
            if (fp_vec_push(ev, out, nv) < 0) return -1;
        }
        if (!all) break;
    }
    return 0;
}

/* Equal bytes for short keys: overlapping word loads, no byte loop. */
static inline bool key_eq(const char *a, const char *b, size_t n)
{
    if (n >= 8) return cw_bytes_eq(a, b, n);
    if (n >= 4) {
        uint32_t x0, y0, x1, y1;
        memcpy(&x0, a, 4);
        memcpy(&y0, b, 4);
        memcpy(&x1, a + n - 4, 4);
        memcpy(&y1, b + n - 4, 4);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n >= 2) {
        uint16_t x0, y0, x1, y1;
        memcpy(&x0, a, 2);
        memcpy(&y0, b, 2);
        memcpy(&x1, a + n - 2, 2);
        memcpy(&y1, b + n - 2, 2);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    return n == 0 || a[0] == b[0];
}

/* A member found for a non-choice element. */
struct fp_match {
    const struct cw_json *v, *x; /* "name" and "_name" (either may be NULL) */
    struct cw_fhir_elem ce;      /* the element (also set for a choice) */
    struct cw_fhir_sd t;
    cw_slice name; /* the JSON key without '_' */
    uint64_t lens; /* a choice: the possible key lengths (fp_nav_cache.choice_lens) */
    enum cw_fhir_kind kind;
    bool leaf_ok; /* v is a resource that passed the leaf filter */
};

/*
 * The JSON member(s) for FHIRPath name 'name' on typed node p (obj is its
 * JSON object; info: the element, from child_elem): 1 found (*m), 0 nothing (no such element or member, or a
 * resource the fused leaf filter f drops), 2 the element is a choice
 * (m->ce set; the caller scans for the suffixed keys), -1 error.
 */
static inline __attribute__((always_inline)) int
find_member(struct fp_ev *ev, const struct fp_nav_cache *info,
                              const struct cw_fhir_node *p, const struct cw_json *obj,
                              cw_slice name, const struct fp_typespec *f, struct fp_match *m)
{
    m->ce = info->child;
    if (!m->ce.set) return 0;
    if (info->choice) {
        m->lens = info->choice_lens;
        return 2;
    }
    size_t nl = name.len;
    const struct cw_json_member *mem = obj->u.members;
    uint32_t nm = obj->len;
    /* one pass finds "name" and "_name" (JSON keys are unique) */
    struct cw_fhir_sd t = info->single;
    enum cw_fhir_kind kind = (enum cw_fhir_kind)info->kind;
    if (nl == 2 && (p->flags & CW_FHIR_NODE_RESOURCE)) {
        t = fix_type(p, name, t);
        kind = cw_fhir_sd_kind(t);
    }
    /* "_name" is looked for only for primitives, and only when the parser
       did not see that the object has no "_" keys at all */
    bool prim = kind == CW_FHIR_KIND_PRIMITIVE && !(obj->flags & CW_JSON_F_NOEXT);
    const struct cw_json *v = NULL, *x = NULL;
    cw_slice jname = CW_SLICE_NULL; /* the JSON key (nodes keep it, not the expression's text) */
    for (uint32_t k = 0; k < nm; k++) {
        const struct cw_json_member *mb = &mem[k];
        /* lengths first: the key bytes live in the input text, far away */
        size_t kl = mb->key.len;
        if (kl == nl) {
            if (!v && key_eq(mb->key.ptr, name.ptr, nl)) {
                v = &mb->value;
                jname = mb->key;
                if (!prim || x) break;
            }
        } else if (kl == nl + 1 && prim) {
            if (!x && mb->key.ptr[0] == '_' && key_eq(mb->key.ptr + 1, name.ptr, nl)) {
                x = &mb->value;
                if (!v) jname = (cw_slice){mb->key.ptr + 1, nl};
                if (v) break;
            }
        }
    }
    if (!v && !x) return 0;
    m->leaf_ok = false;
    if (kind == CW_FHIR_KIND_RESOURCE && v && v->type == CW_JSON_OBJECT) {
        /* Bundle.entry.resource.ofType(X): drop the others before making nodes */
        if (f && f->ns == FP_NS_FHIR && f->leaf_resource) {
            if (!leaf_type_matches(v, f)) {
                if (fp_steps(ev, NULL, 1) < 0) return -1;
                return 0;
            }
            m->leaf_ok = true;
        }
    }
    m->v = v;
    m->x = x;
    m->t = t;
    m->name = jname;
    m->kind = kind;
    return 1;
}

/* Is a key of length l possible under choice length mask lens? */
static inline bool len_possible(uint64_t lens, size_t l)
{
    return (lens >> (l < 63 ? l : 63)) & 1;
}

static int nav_node(struct fp_ev *ev, const struct fp_ast *an, const struct cw_fhir_node *p,
                    cw_slice name, bool all, struct fp_vec *out)
{
    if (p->flags & FP_NODE_UNTYPED) return nav_untyped(ev, p, name, all, out);
    const struct cw_json *obj = (p->flags & CW_FHIR_NODE_PRIMITIVE) ? p->ext : p->value;
    if (!obj || obj->type != CW_JSON_OBJECT) return 0;
    if (all) {
        struct cw_fhir_elem ctx = cw_fhir_elem_structure(p->elem, p->type);
        for (uint32_t k = 0; k < obj->len; k++) {
            const struct cw_json_member *m = &obj->u.members[k];
            cw_slice key = m->key;
            if ((p->flags & CW_FHIR_NODE_RESOURCE) && cw_slice_eq_cstr(key, "resourceType"))
                continue;
            if ((p->flags & CW_FHIR_NODE_PRIMITIVE) && cw_slice_eq_cstr(key, "value")) continue;
            struct cw_fhir_prop prop;
            if (cw_fhir_resolve(ctx.set ? ctx : p->elem, p->type, key, &prop) < 0) continue;
            bool ext = key.len > 1 && key.ptr[0] == '_';
            cw_slice bare = ext ? (cw_slice){key.ptr + 1, key.len - 1} : key;
            const struct cw_json *v = NULL, *x = NULL;
            if (ext) {
                if (has_member(obj, bare)) continue; /* merged at "bare" */
                x = &m->value;
            } else {
                v = &m->value;
                if (cw_fhir_sd_kind(prop.type) == CW_FHIR_KIND_PRIMITIVE) x = ext_member(obj, bare);
            }
            struct cw_fhir_sd pt = fix_type(p, bare, prop.type);
            if (emit_member(ev, p, prop.elem, pt, cw_fhir_sd_kind(pt),
                            (prop.flags & CW_FHIR_PROP_CHOICE) != 0, bare, v, x, out) < 0)
                return -1;
        }
        return 0;
    }
    struct fp_match fm;
    struct fp_nav_cache tmp;
    int fr = find_member(ev, child_elem(ev, an, p, name, &tmp), p, obj, name, ev->nav_filter, &fm);
    if (fr <= 0) return fr;
    if (fr == 1) return emit_member(ev, p, fm.ce, fm.t, fm.kind, false, fm.name, fm.v, fm.x, out);
    struct cw_fhir_elem ce = fm.ce;
    size_t nl = name.len;
    const struct cw_json_member *mem = obj->u.members;
    uint32_t nm = obj->len;
    bool noext = (obj->flags & CW_JSON_F_NOEXT) != 0;
    for (uint32_t k = 0; k < nm; k++) {
        const struct cw_json_member *m = &mem[k];
        size_t kl = m->key.len;
        if (kl <= nl) continue;
        /* lengths first: only names as long as name + a type's name can
           match, and the key bytes (in the input text) are read only then */
        bool plain_ok = len_possible(fm.lens, kl);
        bool ext_ok = !noext && len_possible(fm.lens, kl - 1);
        if (!plain_ok && !ext_ok) continue;
        cw_slice key = m->key;
        bool ext = key.ptr[0] == '_';
        if (ext ? !ext_ok : !plain_ok) continue;
        cw_slice bare = ext ? (cw_slice){key.ptr + 1, kl - 1} : key;
        if (bare.len <= nl || !cw_bytes_eq(bare.ptr, name.ptr, nl)) continue;
        struct cw_fhir_sd t = choice_type(ce, (cw_slice){bare.ptr + nl, bare.len - nl});
        if (!t.set) continue;
        enum cw_fhir_kind kind = cw_fhir_sd_kind(t);
        bool prim = kind == CW_FHIR_KIND_PRIMITIVE;
        const struct cw_json *v = NULL, *x = NULL;
        if (ext) {
            if (!prim) continue;
            if (has_member(obj, bare)) continue; /* merged at "bare" */
            x = &m->value;
        } else {
            v = &m->value;
            if (prim) x = ext_member(obj, bare);
        }
        if (emit_member(ev, p, ce, t, kind, true, bare, v, x, out) < 0) return -1;
    }
    return 0;
}

int fp_children(struct fp_ev *ev, const struct fp_ast *n, const fp_val *item, cw_slice name,
                bool all, struct fp_vec *out)
{
    if (item->kind == CW_FHIRPATH_NODE) return nav_node(ev, n, item->u.node, name, all, out);
    if (item->kind == CW_FHIRPATH_TYPEINFO && !all) {
        const struct cw_fhirpath_type *t = item->u.type;
        if (cw_slice_eq_cstr(name, "namespace"))
            return fp_vec_push(ev, out,
                               fp_str(cw_slice_cstr(t->ns == FP_NS_FHIR ? "FHIR" : "System")));
        if (cw_slice_eq_cstr(name, "name"))
            return fp_vec_push(ev, out,
                               fp_str(t->ns == FP_NS_FHIR
                                          ? cw_fhir_sd_type_name(t->sd)
                                          : cw_slice_cstr(fp_sys_name((enum fp_sys)t->sys))));
    }
    return 0;
}

/* ---- singleton helpers ---- */

/* Evaluate and require at most one item: 0 empty, 1 one (in *v), -1 error. */
static int eval_single(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                       fp_val *v, const char *what)
{
    fp_coll c;
    if (fp_eval(ev, n, fr, &c) < 0) return -1;
    if (c.n == 0) return 0;
    if (c.n > 1)
        return fp_fail(ev, n, CW_ISSUE_PROCESSING, "%s: expected a single item, got %zu", what,
                       c.n);
    *v = c.items[0];
    return 1;
}

/* Singleton evaluation to Boolean (N1 §4.5): 1 true, 0 false, 2 empty, -1 error. */
static int coll_truth(struct fp_ev *ev, const struct fp_ast *n, fp_coll c)
{
    if (c.n == 0) return FP_UNKNOWN;
    if (c.n > 1)
        return fp_fail(ev, n, CW_ISSUE_PROCESSING, "a single Boolean expected, got %zu items", c.n);
    fp_val s;
    if (fp_to_system(ev, &c.items[0], &s) == 1 && s.kind == CW_FHIRPATH_BOOLEAN)
        return s.u.b ? FP_TRUE : FP_FALSE;
    return FP_TRUE; /* a single item that is not a Boolean counts as true */
}

int cw_fhirpath_truth(struct cw_fhirpath_coll c, struct cw_err *err)
{
    if (c.n == 0) return FP_UNKNOWN;
    if (c.n > 1)
        return cw_err_set(err, CW_ISSUE_PROCESSING, "a single Boolean expected, got %zu items",
                          c.n);
    const fp_val *v = &c.items[0];
    if (v->kind == CW_FHIRPATH_BOOLEAN) return v->u.b;
    if (v->kind == CW_FHIRPATH_NODE && (v->u.node->flags & CW_FHIR_NODE_PRIMITIVE) &&
        v->u.node->value) {
        const struct cw_json *j = v->u.node->value;
        if (j->type == CW_JSON_TRUE) return 1;
        if (j->type == CW_JSON_FALSE) return 0;
    }
    return 1;
}

#define FP_NOT_FAST 3
static int fast_truth(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr);

int fp_eval_truth(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr)
{
    int t = fast_truth(ev, n, fr);
    if (t != FP_NOT_FAST) return t;
    fp_coll c;
    if (fp_eval(ev, n, fr, &c) < 0) return -1;
    return coll_truth(ev, n, c);
}

/* ---- operators ---- */

static int arith(struct fp_ev *ev, const struct fp_ast *n, const fp_val *a0, const fp_val *b0,
                 fp_coll *out)
{
    fp_val a, b;
    int ha = fp_to_system(ev, a0, &a), hb = fp_to_system(ev, b0, &b);
    fp_qty qa, qb;
    if (!ha || !hb) {
        /* complex operands: only FHIR Quantities take part */
        if (fp_to_quantity(ev, a0, &qa) != 1 || fp_to_quantity(ev, b0, &qb) != 1)
            return fp_fail(ev, n, CW_ISSUE_PROCESSING,
                           "arithmetic on a value that is not a number");
        if (fp_make_qty(ev, &qa, &a) < 0 || fp_make_qty(ev, &qb, &b) < 0) return oom(ev, n);
    }
    uint8_t ka = a.kind, kb = b.kind;
    enum fp_op op = (enum fp_op)n->op;
    fp_val r;
    bool num_a = ka == CW_FHIRPATH_INTEGER || ka == CW_FHIRPATH_DECIMAL;
    bool num_b = kb == CW_FHIRPATH_INTEGER || kb == CW_FHIRPATH_DECIMAL;
    if (ka == CW_FHIRPATH_INTEGER && kb == CW_FHIRPATH_INTEGER && op != FP_OP_DIV) {
        int64_t x = a.u.i, y = b.u.i, z;
        bool ovf = false;
        switch (op) {
        case FP_OP_ADD:
            ovf = __builtin_add_overflow(x, y, &z);
            break;
        case FP_OP_SUB:
            ovf = __builtin_sub_overflow(x, y, &z);
            break;
        case FP_OP_MUL:
            ovf = __builtin_mul_overflow(x, y, &z);
            break;
        case FP_OP_IDIV:
            if (y == 0) {
                *out = (fp_coll){0};
                return 0;
            }
            if (x == INT64_MIN && y == -1)
                ovf = true;
            else
                z = x / y;
            break;
        case FP_OP_MOD:
            if (y == 0) {
                *out = (fp_coll){0};
                return 0;
            }
            z = (y == -1) ? 0 : x % y;
            break;
        default:
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "bad operator");
        }
        if (ovf) return fp_fail(ev, n, CW_ISSUE_PROCESSING, "integer overflow");
        return fp_single(ev, fp_int(z), out);
    }
    if (num_a && num_b) {
        fp_dec x, y, z;
        if (ka == CW_FHIRPATH_INTEGER)
            fp_dec_from_i64(a.u.i, &x);
        else
            x = *a.u.dec;
        if (kb == CW_FHIRPATH_INTEGER)
            fp_dec_from_i64(b.u.i, &y);
        else
            y = *b.u.dec;
        int rc;
        switch (op) {
        case FP_OP_ADD:
            rc = fp_dec_add(&x, &y, &z);
            break;
        case FP_OP_SUB:
            rc = fp_dec_sub(&x, &y, &z);
            break;
        case FP_OP_MUL:
            rc = fp_dec_mul(&x, &y, &z);
            break;
        case FP_OP_DIV:
            if (fp_dec_is_zero(&y)) {
                *out = (fp_coll){0};
                return 0;
            }
            rc = fp_dec_div(&x, &y, &z);
            break;
        case FP_OP_IDIV: {
            if (fp_dec_is_zero(&y)) {
                *out = (fp_coll){0};
                return 0;
            }
            rc = fp_dec_idiv(&x, &y, &z);
            int64_t iv;
            if (rc == 0 && fp_dec_to_i64(&z, &iv) == 0) return fp_single(ev, fp_int(iv), out);
            break;
        }
        case FP_OP_MOD:
            if (fp_dec_is_zero(&y)) {
                *out = (fp_coll){0};
                return 0;
            }
            rc = fp_dec_mod(&x, &y, &z);
            break;
        default:
            rc = -1;
        }
        if (rc < 0) return fp_fail(ev, n, CW_ISSUE_PROCESSING, "decimal overflow");
        if (fp_make_dec(ev, &z, &r) < 0) return oom(ev, n);
        return fp_single(ev, r, out);
    }
    if (op == FP_OP_ADD && ka == CW_FHIRPATH_STRING && kb == CW_FHIRPATH_STRING) {
        cw_slice x = fp_val_str(&a), y = fp_val_str(&b);
        if (x.len + y.len > ev->max_string)
            return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "string longer than the limit");
        char *p = cw_arena_alloc_bytes(ev->a, x.len + y.len + 1);
        if (!p) return oom(ev, n);
        memcpy(p, x.ptr, x.len);
        memcpy(p + x.len, y.ptr, y.len);
        p[x.len + y.len] = 0;
        return fp_single(ev, fp_str((cw_slice){p, x.len + y.len}), out);
    }
    bool dt_a = ka == CW_FHIRPATH_DATE || ka == CW_FHIRPATH_DATETIME || ka == CW_FHIRPATH_TIME;
    if (dt_a && kb == CW_FHIRPATH_QUANTITY && (op == FP_OP_ADD || op == FP_OP_SUB)) {
        struct cw_dt res;
        int rc = fp_dt_add(&a.u.dt->v, (enum cw_fhirpath_kind)ka, b.u.qty, op == FP_OP_SUB, &res);
        if (rc == 1)
            return fp_fail(
                ev, n, CW_ISSUE_PROCESSING,
                "the quantity's unit cannot be added to a date/time (use a calendar duration)");
        if (rc < 0) return fp_fail(ev, n, CW_ISSUE_PROCESSING, "date/time out of range");
        if (fp_make_dt(ev, (enum cw_fhirpath_kind)ka, &res, &r) < 0) return oom(ev, n);
        return fp_single(ev, r, out);
    }
    if (ka == CW_FHIRPATH_QUANTITY || kb == CW_FHIRPATH_QUANTITY) {
        if (fp_to_quantity(ev, &a, &qa) == 1 && fp_to_quantity(ev, &b, &qb) == 1) {
            fp_qty res;
            int rc;
            if (op == FP_OP_ADD || op == FP_OP_SUB) {
                if (ka != CW_FHIRPATH_QUANTITY || kb != CW_FHIRPATH_QUANTITY)
                    return fp_fail(ev, n, CW_ISSUE_PROCESSING,
                                   "cannot add a number and a quantity");
                rc = fp_qty_add(&qa, &qb, op == FP_OP_SUB, &res);
            } else if (op == FP_OP_MUL || op == FP_OP_DIV) {
                if (op == FP_OP_DIV && fp_dec_is_zero(&qb.value)) {
                    *out = (fp_coll){0};
                    return 0;
                }
                rc = fp_qty_mul(ev, &qa, &qb, op == FP_OP_DIV, &res);
            } else {
                return fp_fail(ev, n, CW_ISSUE_PROCESSING,
                               "div/mod are not defined for quantities");
            }
            if (rc == 1) return fp_fail(ev, n, CW_ISSUE_PROCESSING, "incompatible units");
            if (rc < 0) return fp_fail(ev, n, CW_ISSUE_PROCESSING, "quantity overflow");
            if (fp_make_qty(ev, &res, &r) < 0) return oom(ev, n);
            return fp_single(ev, r, out);
        }
    }
    return fp_fail(ev, n, CW_ISSUE_PROCESSING, "operands of the wrong types for this operator");
}

static int op_arith(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                    fp_coll *out)
{
    fp_val a, b;
    int ra = eval_single(ev, n->target, fr, &a, "left operand");
    if (ra < 0) return -1;
    int rb = eval_single(ev, n->rhs, fr, &b, "right operand");
    if (rb < 0) return -1;
    if (!ra || !rb) {
        *out = (fp_coll){0};
        return 0;
    }
    return arith(ev, n, &a, &b, out);
}

static int op_concat(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                     fp_coll *out)
{
    fp_val a, b;
    int ra = eval_single(ev, n->target, fr, &a, "left operand of &");
    if (ra < 0) return -1;
    int rb = eval_single(ev, n->rhs, fr, &b, "right operand of &");
    if (rb < 0) return -1;
    cw_slice x = CW_SLICE_NULL, y = CW_SLICE_NULL;
    fp_val sa, sb;
    if (ra) {
        if (fp_to_system(ev, &a, &sa) != 1 || sa.kind != CW_FHIRPATH_STRING)
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "& needs strings");
        x = fp_val_str(&sa);
    }
    if (rb) {
        if (fp_to_system(ev, &b, &sb) != 1 || sb.kind != CW_FHIRPATH_STRING)
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "& needs strings");
        y = fp_val_str(&sb);
    }
    if (x.len + y.len > ev->max_string)
        return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "string longer than the limit");
    char *p = cw_arena_alloc_bytes(ev->a, x.len + y.len + 1);
    if (!p) return oom(ev, n);
    if (x.len) memcpy(p, x.ptr, x.len);
    if (y.len) memcpy(p + x.len, y.ptr, y.len);
    p[x.len + y.len] = 0;
    return fp_single(ev, fp_str((cw_slice){p, x.len + y.len}), out);
}

static int op_compare(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                      fp_coll *out)
{
    fp_val a, b;
    int ra = eval_single(ev, n->target, fr, &a, "left operand");
    if (ra < 0) return -1;
    int rb = eval_single(ev, n->rhs, fr, &b, "right operand");
    if (rb < 0) return -1;
    if (!ra || !rb) {
        *out = (fp_coll){0};
        return 0;
    }
    int c = fp_compare(ev, &a, &b);
    if (c == -2)
        return fp_fail(ev, n, CW_ISSUE_PROCESSING, "values of these types cannot be compared");
    if (c == FP_UNKNOWN) {
        *out = (fp_coll){0};
        return 0;
    }
    bool r;
    switch (n->op) {
    case FP_OP_LT:
        r = c < 0;
        break;
    case FP_OP_LE:
        r = c <= 0;
        break;
    case FP_OP_GT:
        r = c > 0;
        break;
    default:
        r = c >= 0;
        break;
    }
    return ret_bool(ev, r, out);
}

/* Collection equality (N1 §6.1.1): FP_TRUE/FP_FALSE/FP_UNKNOWN. */
static int coll_equal(struct fp_ev *ev, fp_coll a, fp_coll b)
{
    if (a.n == 0 || b.n == 0) return FP_UNKNOWN;
    if (a.n != b.n) return FP_FALSE;
    bool unknown = false;
    for (size_t i = 0; i < a.n; i++) {
        int r = fp_equal(ev, &a.items[i], &b.items[i]);
        if (r == FP_FALSE) return FP_FALSE;
        if (r == FP_UNKNOWN) unknown = true;
    }
    return unknown ? FP_UNKNOWN : FP_TRUE;
}

/* Collection equivalence (N1 §6.1.3): order-independent. */
static bool coll_equiv(struct fp_ev *ev, fp_coll a, fp_coll b)
{
    if (a.n == 0 && b.n == 0) return true;
    if (a.n != b.n) return false;
    if (a.n == 1) return fp_equiv(ev, &a.items[0], &b.items[0]);
    bool *used = cw_arena_zalloc(ev->a, b.n);
    if (!used) return false;
    if (fp_steps(ev, NULL, a.n * b.n) < 0) return false;
    for (size_t i = 0; i < a.n; i++) {
        bool found = false;
        for (size_t j = 0; j < b.n; j++) {
            if (!used[j] && fp_equiv(ev, &a.items[i], &b.items[j])) {
                used[j] = true;
                found = true;
                break;
            }
        }
        if (!found) return false;
    }
    return true;
}

static int op_equality(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                       fp_coll *out)
{
    fp_coll a, b;
    if (fp_eval(ev, n->target, fr, &a) < 0 || fp_eval(ev, n->rhs, fr, &b) < 0) return -1;
    if (fp_steps(ev, n, a.n + b.n) < 0) return -1;
    if (n->op == FP_OP_EQ || n->op == FP_OP_NE) {
        int r = coll_equal(ev, a, b);
        if (r == FP_UNKNOWN) {
            *out = (fp_coll){0};
            return 0;
        }
        return ret_bool(ev, (r == FP_TRUE) == (n->op == FP_OP_EQ), out);
    }
    bool r = coll_equiv(ev, a, b);
    if (ev->failed) return -1; /* a limit hit inside */
    return ret_bool(ev, r == (n->op == FP_OP_EQUIV), out);
}

/* Is v in c (by =)? */
static bool coll_has(struct fp_ev *ev, fp_coll c, const fp_val *v)
{
    for (size_t i = 0; i < c.n; i++)
        if (fp_equal(ev, v, &c.items[i]) == FP_TRUE) return true;
    return false;
}

static int op_membership(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                         fp_coll *out)
{
    const struct fp_ast *single_side = n->op == FP_OP_IN ? n->target : n->rhs;
    const struct fp_ast *coll_side = n->op == FP_OP_IN ? n->rhs : n->target;
    fp_val v;
    fp_coll c;
    if (n->op == FP_OP_IN) {
        int r = eval_single(ev, single_side, fr, &v, "left operand of in");
        if (r < 0 || fp_eval(ev, coll_side, fr, &c) < 0) return -1;
        if (!r) {
            *out = (fp_coll){0};
            return 0;
        }
    } else {
        if (fp_eval(ev, coll_side, fr, &c) < 0) return -1;
        int r = eval_single(ev, single_side, fr, &v, "right operand of contains");
        if (r < 0) return -1;
        if (!r) {
            *out = (fp_coll){0};
            return 0;
        }
    }
    if (fp_steps(ev, n, c.n) < 0) return -1;
    return ret_bool(ev, coll_has(ev, c, &v), out);
}

static int op_logic(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                    fp_coll *out)
{
    int a = fp_eval_truth(ev, n->target, fr);
    if (a < 0) return -1;
    /* short-circuit where the left side decides (N1 §6.5 leaves the order open) */
    if (n->op == FP_OP_AND && a == FP_FALSE) return ret_bool(ev, false, out);
    if (n->op == FP_OP_OR && a == FP_TRUE) return ret_bool(ev, true, out);
    if (n->op == FP_OP_IMPLIES && a == FP_FALSE) return ret_bool(ev, true, out);
    int b = fp_eval_truth(ev, n->rhs, fr);
    if (b < 0) return -1;
    int r;
    switch (n->op) {
    case FP_OP_AND:
        r = (b == FP_FALSE) ? FP_FALSE : (a == FP_TRUE && b == FP_TRUE) ? FP_TRUE : FP_UNKNOWN;
        break;
    case FP_OP_OR:
        r = (b == FP_TRUE) ? FP_TRUE : (a == FP_FALSE && b == FP_FALSE) ? FP_FALSE : FP_UNKNOWN;
        break;
    case FP_OP_XOR:
        r = (a == FP_UNKNOWN || b == FP_UNKNOWN) ? FP_UNKNOWN : (a != b) ? FP_TRUE : FP_FALSE;
        break;
    default: /* implies, a is true or unknown */
        if (b == FP_TRUE)
            r = FP_TRUE;
        else if (a == FP_TRUE)
            r = b;
        else
            r = FP_UNKNOWN;
        break;
    }
    if (r == FP_UNKNOWN) {
        *out = (fp_coll){0};
        return 0;
    }
    return ret_bool(ev, r == FP_TRUE, out);
}

static int op_unary(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                    fp_coll *out)
{
    fp_val a;
    int r = eval_single(ev, n->target, fr, &a, "operand of unary +/-");
    if (r <= 0) {
        if (r == 0) *out = (fp_coll){0};
        return r;
    }
    fp_val s;
    if (fp_to_system(ev, &a, &s) != 1) {
        fp_qty q;
        if (fp_to_quantity(ev, &a, &q) != 1)
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "unary +/- needs a number");
        if (fp_make_qty(ev, &q, &s) < 0) return oom(ev, n);
    }
    if (n->op == FP_OP_POS) {
        if (s.kind != CW_FHIRPATH_INTEGER && s.kind != CW_FHIRPATH_DECIMAL &&
            s.kind != CW_FHIRPATH_QUANTITY)
            return fp_fail(ev, n, CW_ISSUE_PROCESSING, "unary + needs a number");
        return fp_single(ev, s, out);
    }
    fp_val res;
    switch (s.kind) {
    case CW_FHIRPATH_INTEGER:
        if (s.u.i == INT64_MIN) return fp_fail(ev, n, CW_ISSUE_PROCESSING, "integer overflow");
        res = fp_int(-s.u.i);
        break;
    case CW_FHIRPATH_DECIMAL: {
        fp_dec d = *s.u.dec;
        if (d.coef) d.neg = !d.neg;
        if (fp_make_dec(ev, &d, &res) < 0) return oom(ev, n);
        break;
    }
    case CW_FHIRPATH_QUANTITY: {
        fp_qty q = *s.u.qty;
        if (q.value.coef) q.value.neg = !q.value.neg;
        if (fp_make_qty(ev, &q, &res) < 0) return oom(ev, n);
        break;
    }
    default:
        return fp_fail(ev, n, CW_ISSUE_PROCESSING, "unary - needs a number");
    }
    return fp_single(ev, res, out);
}

int fp_op_is_as(struct fp_ev *ev, const struct fp_ast *n, fp_coll in, bool is, fp_coll *out)
{
    if (in.n == 0) {
        *out = (fp_coll){0};
        return 0;
    }
    if (in.n > 1) {
        if (!is && ev->env && ev->env->as_filters) {
            struct fp_vec v = {0};
            for (size_t i = 0; i < in.n; i++)
                if (fp_is_type(&in.items[i], &n->type) && fp_vec_push(ev, &v, in.items[i]) < 0)
                    return -1;
            *out = fp_vec_coll(&v);
            return 0;
        }
        return fp_fail(ev, n, CW_ISSUE_PROCESSING, "'%s' needs a single item, got %zu",
                       is ? "is" : "as", in.n);
    }
    bool m = fp_is_type(&in.items[0], &n->type);
    if (!m && ev->env && ev->env->primitive_is_system && n->type.ns == FP_NS_SYSTEM &&
        in.items[0].kind == CW_FHIRPATH_NODE &&
        (in.items[0].u.node->flags & CW_FHIR_NODE_PRIMITIVE)) {
        fp_val sv;
        if (fp_to_system(ev, &in.items[0], &sv) == 1) m = fp_is_type(&sv, &n->type);
    }
    if (is) return ret_bool(ev, m, out);
    *out = m ? (fp_coll){in.items, 1} : (fp_coll){0};
    return 0;
}

/* ---- the dispatcher ---- */

/*
 * Software prefetch for navigation over long collections (Bundle.entry and
 * what follows it): the JSON objects of the items are scattered over the
 * arena and their key bytes sit in the input text, so on a large resource
 * nearly every member scan starts with cache misses that the CPU cannot
 * overlap (each address comes from the previous load). While item i is
 * navigated, the member arrays of item i+PF_FAR, the key bytes and nested
 * member arrays of item i+PF_MID and the first keys of those nested objects
 * for item i+PF_NEAR are requested, so the misses of several items overlap.
 * Prefetches never fault and change no result.
 */
#define PF_MIN_ITEMS 16
#define PF_FAR       12
#define PF_MID       8
#define PF_NEAR      4
#define PF_MEMBERS   6


/* GCC 12 drops __builtin_prefetch here (the address loads feed nothing
   else), so on x86-64 the instruction is written out. */
static inline void pf(const void *p)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p);
#endif
}

static inline const struct cw_json *pf_object(const fp_coll *in, size_t i)
{
    if (i >= in->n || in->items[i].kind != CW_FHIRPATH_NODE) return NULL;
    const struct cw_fhir_node *nd = in->items[i].u.node;
    const struct cw_json *o = (nd->flags & CW_FHIR_NODE_PRIMITIVE) ? nd->ext : nd->value;
    return o && o->type == CW_JSON_OBJECT && o->len ? o : NULL;
}

static inline void prefetch_ahead(const fp_coll *in, size_t i)
{
    const struct cw_json *o = pf_object(in, i + PF_FAR);
    if (o) {
        pf(o->u.members);
        if (o->len > 2) pf(o->u.members + 2);
    }
    o = pf_object(in, i + PF_MID);
    if (o) {
        uint32_t m = o->len < PF_MEMBERS ? o->len : PF_MEMBERS;
        for (uint32_t k = 0; k < m; k++) {
            const struct cw_json_member *mb = &o->u.members[k];
            pf(mb->key.ptr);
            if (mb->value.type == CW_JSON_OBJECT && mb->value.len)
                pf(mb->value.u.members);
        }
    }
    o = pf_object(in, i + PF_NEAR);
    if (o) {
        uint32_t m = o->len < PF_MEMBERS ? o->len : PF_MEMBERS;
        for (uint32_t k = 0; k < m; k++) {
            const struct cw_json *cv = &o->u.members[k].value;
            if (cv->type == CW_JSON_OBJECT && cv->len) pf(cv->u.members[0].key.ptr);
        }
    }
}

void fp_prefetch_ahead(const fp_coll *in, size_t i)
{
    if (in->n >= PF_MIN_ITEMS) prefetch_ahead(in, i);
}

/*
 * Fused member chains. A path of member steps (a.b.c, each optionally
 * followed by ofType(T)) is walked depth first from each input item
 * instead of building the collection of every intermediate step: the
 * children of one item are produced one at a time into a node on the C
 * stack and the walk goes on from there. An intermediate node is copied
 * into the arena only when something below it is produced (results keep
 * their parent chain), so items the later steps drop (Bundle entries whose
 * resource is not the wanted type) cost no allocation at all. The results,
 * their order, the work counted against the step limit and the nesting
 * depth are those of step-by-step navigation; only the intermediate
 * collections are never built (so they are not subject to max_items).
 * Choice elements and untyped JSON go through the step-by-step code for
 * that one item.
 */
#define FP_CHAIN_MAX 16

bool fp_no_fuse = false;

struct fp_chain {
    unsigned k;                                  /* steps, from the base outwards */
    const struct fp_ast *ast[FP_CHAIN_MAX];      /* the MEMBER nodes */
    const struct fp_typespec *filter[FP_CHAIN_MAX]; /* fused ofType() or NULL */
};

struct fp_lvl {
    struct cw_fhir_node node;       /* the item at this level, while not in the arena */
    const struct cw_fhir_node *mat; /* the item in the arena (or NULL) */
    struct fp_nav_cache info;       /* the last element looked up from this level */
};

/* The steps ending at member node n (with fused filter f); *base is what
   the first step navigates from (NULL: $this), *extra the evaluation depth
   step-by-step navigation would add above the base. false: no chain of at
   least min_k steps. */
static bool chain_of(const struct fp_ast *n, const struct fp_typespec *f, unsigned min_k,
                     struct fp_chain *ch, const struct fp_ast **base, unsigned *extra)
{
    const struct fp_ast *rev[FP_CHAIN_MAX];
    const struct fp_typespec *rf[FP_CHAIN_MAX];
    unsigned k = 0, depth = 0;
    const struct fp_ast *cur = n;
    for (;;) {
        if (k == FP_CHAIN_MAX) return false;
        rev[k] = cur;
        rf[k] = f;
        k++;
        const struct fp_ast *t = cur->target;
        if (t && t->op == FP_OP_MEMBER && !((t->flags & FP_AST_ROOTNAME) && t->type.ns)) {
            cur = t;
            f = NULL;
            depth += 1;
            continue;
        }
        if (t && t->op == FP_OP_FUNC && t->fn == FP_FN_OFTYPE && t->target &&
            t->target->op == FP_OP_MEMBER &&
            !((t->target->flags & FP_AST_ROOTNAME) && t->target->type.ns)) {
            cur = t->target;
            f = &t->type;
            depth += 2; /* the ofType() call and its fused navigation */
            continue;
        }
        *base = t;
        break;
    }
    if (k < min_k) return false;
    ch->k = k;
    for (unsigned j = 0; j < k; j++) {
        ch->ast[j] = rev[k - 1 - j];
        ch->filter[j] = rf[k - 1 - j];
    }
    *extra = depth;
    return true;
}

/* The arena copy of level s (copying the levels above it first). */
static const struct cw_fhir_node *lvl_mat(struct fp_ev *ev, struct fp_lvl *L, unsigned s)
{
    if (L[s].mat) return L[s].mat;
    const struct cw_fhir_node *up = lvl_mat(ev, L, s - 1); /* level 0 is always in the arena */
    if (!up) return NULL;
    struct cw_fhir_node *n = new_node(ev);
    if (!n) return NULL;
    *n = L[s].node;
    n->parent = up;
    L[s].mat = n;
    return n;
}

/* The prefetch schedule of prefetch_ahead() on the JSON items of an array
   the fused walk goes through (item i is being walked). */
static inline void pf_items(const struct cw_json *items, uint32_t len, uint32_t i)
{
    if (i + PF_FAR < len) {
        const struct cw_json *o = &items[i + PF_FAR];
        if (o->type == CW_JSON_OBJECT && o->len) {
            pf(o->u.members);
            if (o->len > 2) pf(o->u.members + 2);
        }
    }
    if (i + PF_MID < len) {
        const struct cw_json *o = &items[i + PF_MID];
        if (o->type == CW_JSON_OBJECT) {
            uint32_t m = o->len < PF_MEMBERS ? o->len : PF_MEMBERS;
            for (uint32_t k = 0; k < m; k++) {
                const struct cw_json_member *mb = &o->u.members[k];
                pf(mb->key.ptr);
                if (mb->value.type == CW_JSON_OBJECT && mb->value.len) pf(mb->value.u.members);
            }
        }
    }
    if (i + PF_NEAR < len) {
        const struct cw_json *o = &items[i + PF_NEAR];
        if (o->type == CW_JSON_OBJECT) {
            uint32_t m = o->len < PF_MEMBERS ? o->len : PF_MEMBERS;
            for (uint32_t k = 0; k < m; k++) {
                const struct cw_json *cv = &o->u.members[k].value;
                if (cv->type == CW_JSON_OBJECT && cv->len) {
                    /* the walk goes on into the nested object (entry.resource):
                       its keys, and the rest of its member array */
                    uint32_t mm = cv->len < 2 * PF_MEMBERS ? cv->len : 2 * PF_MEMBERS;
                    for (uint32_t q = 0; q < mm; q += 2) pf(cv->u.members[q].key.ptr);
                    if (cv->len > 4) pf(cv->u.members + 4);
                    if (cv->len > 6) pf(cv->u.members + 6);
                }
            }
        }
    }
}

static int walk(struct fp_ev *ev, const struct fp_chain *ch, unsigned s, struct fp_lvl *L,
                const fp_val *item, struct fp_vec *out);

/* A child c of level s was made: emit it (last step) or walk on from it. */
static inline int walk_child(struct fp_ev *ev, const struct fp_chain *ch, unsigned s,
                             struct fp_lvl *L, const struct cw_fhir_node *c, struct fp_vec *out)
{
    if (s + 1 == ch->k) {
        const struct cw_fhir_node *pm = lvl_mat(ev, L, s);
        if (!pm) return -1;
        return push_child(ev, c, pm, out);
    }
    /* c is L[s + 1].node */
    L[s + 1].node.parent = NULL;
    L[s + 1].mat = NULL;
    return walk(ev, ch, s + 1, L, NULL, out);
}

/* Step s from level s (the node in L[s], or the System/TypeInfo item). */
static int walk(struct fp_ev *ev, const struct fp_chain *ch, unsigned s, struct fp_lvl *L,
                const fp_val *item, struct fp_vec *out)
{
    const struct fp_ast *an = ch->ast[s];
    const struct fp_typespec *f = ch->filter[s];
    if (!item) {
        const struct cw_fhir_node *p = L[s].mat ? L[s].mat : &L[s].node;
        const struct cw_json *obj = (p->flags & CW_FHIR_NODE_PRIMITIVE) ? p->ext : p->value;
        if (!(p->flags & FP_NODE_UNTYPED)) {
            if (!obj || obj->type != CW_JSON_OBJECT) return 0;
            /* the element: items of one level mostly share their type */
            struct fp_nav_cache *info = &L[s].info;
            if (!info->valid || info->pelem.i != p->elem.i || info->ptype.i != p->type.i ||
                info->pelem.set != p->elem.set || info->ptype.set != p->type.set) {
                struct fp_nav_cache tmp;
                *info = *child_elem(ev, an, p, an->name, &tmp);
            }
            struct fp_match m;
            int r = find_member(ev, info, p, obj, an->name, f, &m);
            if (r <= 0) return r;
            if (r == 1) {
                bool last = s + 1 == ch->k;
                struct cw_fhir_node tmpc;
                struct cw_fhir_node *c = last ? &tmpc : &L[s + 1].node;
                const struct cw_json *v = m.v, *x = m.x;
                const struct cw_json *shape = v ? v : x;
                if (shape->type != CW_JSON_ARRAY) {
                    if (x && x->type == CW_JSON_ARRAY) x = NULL;
                    if (fp_steps(ev, NULL, 1) < 0) return -1;
                    r = make_child(ev, m.ce, m.t, m.kind, false, m.name, CW_FHIR_NO_INDEX, v, x,
                                   f, m.leaf_ok, c);
                    if (r <= 0) return r;
                    return walk_child(ev, ch, s, L, c, out);
                }
                uint32_t len = v && v->type == CW_JSON_ARRAY ? v->len : 0;
                uint32_t xlen = x && x->type == CW_JSON_ARRAY ? x->len : 0;
                uint32_t nn = len > xlen ? len : xlen;
                if (fp_steps(ev, NULL, nn) < 0) return -1;
                bool far = s + 1 < ch->k && len >= PF_MIN_ITEMS;
                if (!last && m.kind != CW_FHIR_KIND_PRIMITIVE && m.kind != CW_FHIR_KIND_RESOURCE &&
                    m.t.set) {
                    /* an array of complex items (Bundle.entry): every child node is the
                       same but for its JSON object and index, and the filter's answer
                       is the same for all of them */
                    if (f && !(f->ns == FP_NS_SYSTEM && f->sys == FP_SYS_ANY) &&
                        (f->ns != FP_NS_FHIR || !type_is_a(m.t, f->sd)))
                        return 0;
                    *c = (struct cw_fhir_node){.elem = m.ce, .type = m.t, .name = m.name};
                    for (uint32_t i = 0; i < len; i++) {
                        const struct cw_json *vi = &v->u.items[i];
                        if (far) pf_items(v->u.items, len, i);
                        if (vi->type != CW_JSON_OBJECT) continue;
                        c->value = vi;
                        c->index = i;
                        L[s + 1].mat = NULL;
                        if (walk(ev, ch, s + 1, L, NULL, out) < 0) return -1;
                    }
                    return 0;
                }
                for (uint32_t i = 0; i < nn; i++) {
                    const struct cw_json *vi = i < len ? &v->u.items[i] : NULL;
                    const struct cw_json *xi = i < xlen ? &x->u.items[i] : NULL;
                    if (far) pf_items(v->u.items, len, i);
                    r = make_child(ev, m.ce, m.t, m.kind, false, m.name, i, vi, xi, f, false, c);
                    if (r < 0) return -1;
                    if (r && walk_child(ev, ch, s, L, c, out) < 0) return -1;
                }
                return 0;
            }
            /* r == 2: a choice element, step by step below */
        }
    }
    /* step by step for this item: its children in a collection */
    fp_val it;
    if (item) {
        it = *item;
    } else {
        const struct cw_fhir_node *pm = lvl_mat(ev, L, s);
        if (!pm) return -1;
        memset(&it, 0, sizeof it);
        it.kind = CW_FHIRPATH_NODE;
        it.u.node = pm;
    }
    bool last = s + 1 == ch->k;
    struct fp_vec tmp = {0};
    struct fp_vec *dst = last ? out : &tmp;
    size_t from = dst->n;
    ev->nav_filter = f;
    int r = fp_children(ev, an, &it, an->name, false, dst);
    ev->nav_filter = NULL;
    if (r < 0) return -1;
    if (f) {
        /* System values (untyped data) are not filtered during navigation */
        size_t k = from;
        for (size_t i = from; i < dst->n; i++)
            if (dst->items[i].kind == CW_FHIRPATH_NODE || fp_is_type(&dst->items[i], f))
                dst->items[k++] = dst->items[i];
        dst->n = k;
    }
    if (last) return 0;
    for (size_t i = 0; i < tmp.n; i++) {
        if (tmp.items[i].kind != CW_FHIRPATH_NODE) {
            /* a System value or TypeInfo: only TypeInfo has members */
            if (walk(ev, ch, s + 1, L, &tmp.items[i], out) < 0) return -1;
            continue;
        }
        L[s + 1].mat = tmp.items[i].u.node;
        if (walk(ev, ch, s + 1, L, NULL, out) < 0) return -1;
    }
    return 0;
}

/* Walk chain ch from every item of in, appending the results to v. */
static int chain_run(struct fp_ev *ev, const struct fp_chain *ch, fp_coll in, struct fp_vec *v)
{
    struct fp_lvl L[FP_CHAIN_MAX];
    for (unsigned j = 0; j < ch->k; j++) L[j].info.valid = false;
    for (size_t i = 0; i < in.n; i++) {
        const fp_val *it = &in.items[i];
        if (it->kind == CW_FHIRPATH_NODE) {
            L[0].mat = it->u.node;
            if (walk(ev, ch, 0, L, NULL, v) < 0) return -1;
        } else if (walk(ev, ch, 0, L, it, v) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Evaluate the chain of member steps ending at n (see above). */
static int op_chain(struct fp_ev *ev, const struct fp_chain *ch, const struct fp_ast *base,
                    unsigned extra, const struct fp_frame *fr, fp_coll *out)
{
    fp_coll in;
    if (base) {
        ev->depth += extra;
        int r = fp_eval(ev, base, fr, &in);
        ev->depth -= extra;
        if (r < 0) return -1;
    } else {
        in = fr->this_;
    }
    struct fp_vec v = {0};
    if (chain_run(ev, ch, in, &v) < 0) return -1;
    *out = fp_vec_coll(&v);
    return 0;
}

/*
 * Truth of "path op literal" (= != < <= > >=) and "path is T" where path is
 * a member chain from $this, as in where(status = 'final'): the operator's
 * answer, from the same functions, without the collections of the generic
 * evaluation. FP_TRUE, FP_FALSE, FP_UNKNOWN, -1 error, or FP_NOT_FAST when
 * n has another shape.
 */
static int fast_truth(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr)
{
    uint8_t op = n->op;
    bool eq = op == FP_OP_EQ || op == FP_OP_NE;
    bool ord = op == FP_OP_LT || op == FP_OP_LE || op == FP_OP_GT || op == FP_OP_GE;
    if ((!eq && !ord && op != FP_OP_IS) || fp_no_fuse) return FP_NOT_FAST;
    if (op != FP_OP_IS && n->rhs->op != FP_OP_LITERAL) return FP_NOT_FAST;
    const struct fp_ast *t = n->target;
    const struct fp_typespec *f = NULL;
    unsigned wrap = 0;
    if (t->op == FP_OP_FUNC && t->fn == FP_FN_OFTYPE && t->target &&
        t->target->op == FP_OP_MEMBER &&
        !((t->target->flags & FP_AST_ROOTNAME) && t->target->type.ns)) {
        f = &t->type;
        t = t->target;
        wrap = 1;
    }
    if (t->op != FP_OP_MEMBER || ((t->flags & FP_AST_ROOTNAME) && t->type.ns)) return FP_NOT_FAST;
    struct fp_chain ch;
    const struct fp_ast *base;
    unsigned extra;
    if (!chain_of(t, f, 1, &ch, &base, &extra) || base) return FP_NOT_FAST;
    /* generic: n at depth+1, its operand at +2 (+1 inside ofType), the steps below */
    if (ev->depth + 2 + wrap + extra > ev->max_depth) return FP_NOT_FAST;
    fp_val buf[4];
    struct fp_vec v = {buf, 0, 4};
    if (chain_run(ev, &ch, fr->this_, &v) < 0) return -1;
    fp_coll a = fp_vec_coll(&v);
    if (op == FP_OP_IS) {
        fp_coll o;
        if (fp_op_is_as(ev, n, a, true, &o) < 0) return -1;
        return coll_truth(ev, n, o);
    }
    fp_coll b = {&n->rhs->lit, 1};
    if (eq) {
        if (fp_steps(ev, n, a.n + b.n) < 0) return -1;
        int r = coll_equal(ev, a, b);
        if (r == FP_UNKNOWN) return FP_UNKNOWN;
        return (r == FP_TRUE) == (op == FP_OP_EQ) ? FP_TRUE : FP_FALSE;
    }
    if (a.n > 1)
        return fp_fail(ev, n->target, CW_ISSUE_PROCESSING,
                       "%s: expected a single item, got %zu", "left operand", a.n);
    if (a.n == 0) return FP_UNKNOWN;
    int c = fp_compare(ev, &a.items[0], &b.items[0]);
    if (c == -2)
        return fp_fail(ev, n, CW_ISSUE_PROCESSING, "values of these types cannot be compared");
    if (c == FP_UNKNOWN) return FP_UNKNOWN;
    bool r = op == FP_OP_LT ? c < 0 : op == FP_OP_LE ? c <= 0 : op == FP_OP_GT ? c > 0 : c >= 0;
    return r ? FP_TRUE : FP_FALSE;
}

static int op_member(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr,
                     fp_coll *out, const struct fp_typespec *filter)
{
    if (!((n->flags & FP_AST_ROOTNAME) && n->type.ns) && !fp_no_fuse) {
        struct fp_chain ch;
        const struct fp_ast *base;
        unsigned extra;
        if (chain_of(n, filter, 2, &ch, &base, &extra) && ev->depth + extra <= ev->max_depth)
            return op_chain(ev, &ch, base, extra, fr, out);
    }
    fp_coll in;
    if (n->target) {
        if (fp_eval(ev, n->target, fr, &in) < 0) return -1;
    } else {
        in = fr->this_;
    }
    if (in.n == 0) {
        *out = (fp_coll){0};
        return 0;
    }
    if ((n->flags & FP_AST_ROOTNAME) && n->type.ns == FP_NS_FHIR) {
        /* Patient.name: a type name at the start of a path filters the context */
        struct fp_vec v = {0};
        bool any_typed = false;
        for (size_t i = 0; i < in.n; i++) {
            const fp_val *it = &in.items[i];
            if (it->kind == CW_FHIRPATH_NODE && !(it->u.node->flags & FP_NODE_UNTYPED))
                any_typed = true;
            if (fp_is_type(it, &n->type) && fp_vec_push(ev, &v, *it) < 0) return -1;
        }
        if (v.n || any_typed) {
            *out = fp_vec_coll(&v);
            return 0;
        }
        /* untyped data: fall through and look the name up as a key */
    }
    struct fp_vec v = {0};
    ev->nav_filter = filter;
    for (size_t i = 0; i < in.n; i++) {
        if (in.n >= PF_MIN_ITEMS) prefetch_ahead(&in, i);
        if (fp_children(ev, n, &in.items[i], n->name, false, &v) < 0) {
            ev->nav_filter = NULL;
            return -1;
        }
    }
    ev->nav_filter = NULL;
    if (filter) {
        /* System values (untyped data) are not filtered during navigation */
        size_t k = 0;
        for (size_t i = 0; i < v.n; i++)
            if (v.items[i].kind == CW_FHIRPATH_NODE || fp_is_type(&v.items[i], filter))
                v.items[k++] = v.items[i];
        v.n = k;
    }
    *out = fp_vec_coll(&v);
    return 0;
}

static int op_var(struct fp_ev *ev, const struct fp_ast *n, fp_coll *out)
{
    cw_slice name = n->name;
    if (cw_slice_eq_cstr(name, "context")) {
        *out = ev->context;
        return 0;
    }
    if (cw_slice_eq_cstr(name, "resource")) {
        *out = ev->resource;
        return 0;
    }
    if (cw_slice_eq_cstr(name, "rootResource")) {
        *out = ev->root;
        return 0;
    }
    const struct cw_fhirpath_env *env = ev->env;
    if (env) {
        for (size_t k = 0; k < env->n_vars; k++) {
            if (cw_slice_eq(env->vars[k].name, name)) {
                *out = env->vars[k].value;
                return 0;
            }
        }
    }
    fp_val v;
    int r = fp_builtin_var(ev, name, &v);
    if (r < 0) return -1;
    if (r == 1) return fp_single(ev, v, out);
    return fp_fail(ev, n, CW_ISSUE_PROCESSING, "undefined environment variable %%%.*s",
                   (int)(name.len > 64 ? 64 : name.len), name.ptr);
}

int fp_eval(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr, fp_coll *out)
{
    if (++ev->depth > ev->max_depth) {
        ev->depth--;
        return fp_fail(ev, n, CW_ISSUE_TOO_COSTLY, "evaluation nested deeper than %u",
                       ev->max_depth);
    }
    int r;
    switch ((enum fp_op)n->op) {
    case FP_OP_LITERAL:
        /* literals are immutable and owned by the expression: no copy */
        *out = (fp_coll){&n->lit, 1};
        r = 0;
        break;
    case FP_OP_EMPTY:
        *out = (fp_coll){0};
        r = 0;
        break;
    case FP_OP_THIS:
        *out = fr->this_;
        r = 0;
        break;
    case FP_OP_INDEX:
        if (!fr->has_index) {
            *out = (fp_coll){0};
            r = 0;
        } else {
            r = fp_single(ev, fp_int(fr->index), out);
        }
        break;
    case FP_OP_TOTAL:
        *out = fr->has_total ? fr->total : (fp_coll){0};
        r = 0;
        break;
    case FP_OP_VAR:
        r = op_var(ev, n, out);
        break;
    case FP_OP_MEMBER:
        r = op_member(ev, n, fr, out, NULL);
        break;
    case FP_OP_FUNC: {
        fp_coll in;
        if (n->fn == FP_FN_OFTYPE && n->target && n->target->op == FP_OP_MEMBER &&
            !((n->target->flags & FP_AST_ROOTNAME) && n->target->type.ns)) {
            /* path.ofType(T): filter while navigating (no nodes for the rest) */
            ev->depth++;
            r = op_member(ev, n->target, fr, out, &n->type);
            ev->depth--;
            break;
        }
        if (n->target) {
            r = fp_eval(ev, n->target, fr, &in);
            if (r < 0) break;
        } else {
            in = fr->this_;
        }
        r = fp_call(ev, n, fr, in, out);
        break;
    }
    case FP_OP_INDEXER: {
        fp_coll in;
        fp_val idx;
        r = fp_eval(ev, n->target, fr, &in);
        if (r < 0) break;
        int ri = eval_single(ev, n->rhs, fr, &idx, "index");
        if (ri < 0) {
            r = -1;
            break;
        }
        fp_val si;
        if (ri == 0) {
            *out = (fp_coll){0};
            r = 0;
            break;
        }
        if (fp_to_system(ev, &idx, &si) != 1 || si.kind != CW_FHIRPATH_INTEGER) {
            r = fp_fail(ev, n, CW_ISSUE_PROCESSING, "an index must be an Integer");
            break;
        }
        if (si.u.i < 0 || (uint64_t)si.u.i >= in.n) {
            *out = (fp_coll){0};
        } else {
            *out = (fp_coll){in.items + si.u.i, 1};
        }
        r = 0;
        break;
    }
    case FP_OP_NEG:
    case FP_OP_POS:
        r = op_unary(ev, n, fr, out);
        break;
    case FP_OP_IS:
    case FP_OP_AS: {
        fp_coll in;
        r = fp_eval(ev, n->target, fr, &in);
        if (r < 0) break;
        r = fp_op_is_as(ev, n, in, n->op == FP_OP_IS, out);
        break;
    }
    case FP_OP_MUL:
    case FP_OP_DIV:
    case FP_OP_IDIV:
    case FP_OP_MOD:
    case FP_OP_ADD:
    case FP_OP_SUB:
        r = op_arith(ev, n, fr, out);
        break;
    case FP_OP_CONCAT:
        r = op_concat(ev, n, fr, out);
        break;
    case FP_OP_UNION: {
        fp_coll a, b;
        r = fp_eval(ev, n->target, fr, &a);
        if (r < 0) break;
        r = fp_eval(ev, n->rhs, fr, &b);
        if (r < 0) break;
        r = fp_union(ev, n, a, b, out);
        break;
    }
    case FP_OP_LT:
    case FP_OP_LE:
    case FP_OP_GT:
    case FP_OP_GE:
        r = op_compare(ev, n, fr, out);
        break;
    case FP_OP_EQ:
    case FP_OP_EQUIV:
    case FP_OP_NE:
    case FP_OP_NEQUIV:
        r = op_equality(ev, n, fr, out);
        break;
    case FP_OP_IN:
    case FP_OP_CONTAINS:
        r = op_membership(ev, n, fr, out);
        break;
    case FP_OP_AND:
    case FP_OP_OR:
    case FP_OP_XOR:
    case FP_OP_IMPLIES:
        r = op_logic(ev, n, fr, out);
        break;
    default:
        r = fp_fail(ev, n, CW_ISSUE_EXCEPTION, "unknown operation");
        break;
    }
    ev->depth--;
    return r;
}

/* ---- entry points ---- */

static int ev_init(struct fp_ev *ev, struct cw_arena *a, const struct cw_fhirpath_expr *e,
                   const struct cw_fhirpath_env *env, struct cw_err *err)
{
    memset(ev, 0, sizeof *ev);
    if (err) {
        /* fp_fail keeps the first error, so start clean (cheaply: the rest
           of the struct is written by cw_err_set when an error happens) */
        err->issue = CW_ISSUE_NONE;
        err->msg[0] = 0;
    }
    ev->a = a;
    ev->e = e;
    ev->env = env;
    ev->err = err;
    const struct cw_fhirpath_limits *l = env ? &env->limits : NULL;
    ev->max_items = l && l->max_items ? l->max_items : 1000000;
    ev->max_steps = l && l->max_steps ? l->max_steps : 50000000;
    ev->max_depth = l && l->max_depth ? l->max_depth : 512;
    ev->max_string = l && l->max_string ? l->max_string : ((size_t)16 << 20);
    /* ev->nav (the per-slot navigation caches) is allocated on first use */
    return 0;
}

static int run(struct fp_ev *ev, fp_coll context, fp_coll *out)
{
    struct fp_frame fr = {.this_ = context};
    fp_coll r;
    if (fp_eval(ev, ev->e->root, &fr, &r) < 0) return -1;
    *out = r;
    return 0;
}

/* The resource a node belongs to, and that resource's container. */
static void find_resources(const struct cw_fhir_node *n, const struct cw_fhir_node **res,
                           const struct cw_fhir_node **root)
{
    *res = NULL;
    *root = NULL;
    const struct cw_fhir_node *k = n;
    for (int guard = 0; k && guard < 100000; guard++, k = k->parent) {
        if (k->flags & CW_FHIR_NODE_RESOURCE) {
            *res = k;
            break;
        }
    }
    if (!*res) return;
    *root = *res;
    /* contained resources: the container is the next resource up */
    if (cw_slice_eq_cstr((*res)->name, "contained")) {
        for (k = (*res)->parent; k; k = k->parent) {
            if (k->flags & CW_FHIR_NODE_RESOURCE) {
                *root = k;
                break;
            }
        }
    }
}

int cw_fhirpath_eval_node(struct cw_arena *a, const struct cw_fhirpath_expr *e,
                          const struct cw_fhirpath_env *env, const struct cw_fhir_node *node,
                          struct cw_fhirpath_coll *out, struct cw_err *err)
{
    *out = (fp_coll){0};
    struct fp_ev ev;
    if (ev_init(&ev, a, e, env, err) < 0) return -1;
    fp_val v = {.kind = CW_FHIRPATH_NODE};
    v.u.node = node;
    fp_coll ctx;
    if (fp_single(&ev, v, &ctx) < 0) return -1;
    ev.context = ctx;
    const struct cw_fhir_node *res, *root;
    find_resources(node, &res, &root);
    if (res) {
        fp_val rv = {.kind = CW_FHIRPATH_NODE};
        rv.u.node = res;
        if (fp_single(&ev, rv, &ev.resource) < 0) return -1;
        rv.u.node = root;
        if (fp_single(&ev, rv, &ev.root) < 0) return -1;
    }
    return run(&ev, ctx, out);
}

int cw_fhirpath_eval(struct cw_arena *a, const struct cw_fhirpath_expr *e,
                     const struct cw_fhirpath_env *env, const struct cw_json *resource,
                     struct cw_fhirpath_coll *out, struct cw_err *err)
{
    *out = (fp_coll){0};
    if (!cw_json_is(resource, CW_JSON_OBJECT))
        return cw_err_set(err, CW_ISSUE_STRUCTURE, "a resource must be a JSON object");
    struct fp_ev ev;
    if (ev_init(&ev, a, e, env, err) < 0) return -1;
    fp_val v;
    if (fp_node_for_resource(&ev, resource, NULL, &v) < 0) return -1;
    fp_coll ctx;
    if (fp_single(&ev, v, &ctx) < 0) return -1;
    ev.context = ev.resource = ev.root = ctx;
    return run(&ev, ctx, out);
}

int cw_fhirpath_eval_coll(struct cw_arena *a, const struct cw_fhirpath_expr *e,
                          const struct cw_fhirpath_env *env, struct cw_fhirpath_coll context,
                          struct cw_fhirpath_coll *out, struct cw_err *err)
{
    *out = (fp_coll){0};
    struct fp_ev ev;
    if (ev_init(&ev, a, e, env, err) < 0) return -1;
    ev.context = context;
    return run(&ev, context, out);
}
