/*
 * fhirpath_check.c — static (semantic) checks of a compiled expression
 * against the type it will be evaluated on (cw_fhirpath_opts.root_type).
 *
 * A light type inference walks the tree: each sub-expression gets the set
 * of FHIR element types (element definition + type) or System types its
 * items can have, or "any" when that cannot be known (children(),
 * descendants(), resolve(), repeat(), untyped data, Resource-typed
 * elements). Checks are made only where the set is known, so silence
 * means "nothing provably wrong", never "correct":
 *  - always (once a root type is given): a member name that no type in the
 *    set defines is an error — it can never select anything. This is what
 *    rejects JSON choice names (Observation.valueQuantity: the FHIRPath
 *    name is value; FHIR R4 fhirpath.html, "polymorphism") and typos;
 *  - CW_FHIRPATH_STRICT: a type name starting a path that cannot be the
 *    context (Encounter.name on a Patient), member access on System
 *    values, and an iif() criterion that cannot be a Boolean;
 *  - CW_FHIRPATH_CHECK_ORDERED: an order-dependent function (first, last,
 *    tail, skip, take, single, [index]) applied to the result of
 *    children() or descendants(), whose order is undefined (N1 §5.8).
 * Errors: issue "invalid", with the line and column of the offending
 * token. Pure: reads the tree and the immutable definitions.
 */
#include <stdarg.h>
#include <stdio.h>

#include "fhir/fhirpath_int.h"

#define ST_MAX 24

struct st_entry {
    struct cw_fhir_elem elem; /* the element whose children describe the content */
    struct cw_fhir_sd sd;     /* its concrete type */
};

struct st_type {
    bool any;       /* unknown: no checks */
    bool unordered; /* items come in no defined order */
    uint16_t sys;   /* bit (1 << enum fp_sys) per System type possible */
    uint8_t n;
    struct st_entry t[ST_MAX];
};

struct checker {
    const struct cw_fhirpath_expr *e;
    unsigned flags;
    struct st_type root;
    struct cw_err *err;
    int depth;
};

__attribute__((format(printf, 3, 4))) static int serr(struct checker *c, const struct fp_ast *n,
                                                      const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned line, col;
    fp_line_col(c->e->source, n->pos, &line, &col);
    cw_err_set(c->err, CW_ISSUE_INVALID, "FHIRPath semantic error at line %u, column %u: %s", line,
               col, msg);
    if (c->err) {
        c->err->line = line;
        c->err->column = col;
    }
    return -1;
}

static struct st_type st_any(void)
{
    struct st_type t;
    memset(&t, 0, sizeof t);
    t.any = true;
    return t;
}

static struct st_type st_sys(enum fp_sys s)
{
    struct st_type t;
    memset(&t, 0, sizeof t);
    t.sys = (uint16_t)(1u << s);
    return t;
}

static struct st_type st_empty(void)
{
    struct st_type t;
    memset(&t, 0, sizeof t);
    return t;
}

static void st_add(struct st_type *t, struct cw_fhir_elem elem, struct cw_fhir_sd sd)
{
    if (t->any) return;
    if (!sd.set || !elem.set) {
        t->any = true;
        return;
    }
    /* Resource-typed elements and abstract types: the data names the type */
    if (cw_fhir_sd_kind(sd) == CW_FHIR_KIND_RESOURCE && cw_fhir_sd_abstract(sd)) {
        t->any = true;
        return;
    }
    for (unsigned k = 0; k < t->n; k++)
        if (cw_fhir_elem_eq(t->t[k].elem, elem) && cw_fhir_sd_eq(t->t[k].sd, sd)) return;
    if (t->n >= ST_MAX) {
        t->any = true;
        return;
    }
    t->t[t->n].elem = elem;
    t->t[t->n].sd = sd;
    t->n++;
}

static struct st_type st_of_fhir(struct cw_fhir_sd sd)
{
    struct st_type t = st_empty();
    st_add(&t, cw_fhir_sd_root(sd), sd);
    return t;
}

static void st_merge(struct st_type *a, const struct st_type *b)
{
    if (b->any) a->any = true;
    a->unordered |= b->unordered;
    a->sys |= b->sys;
    for (unsigned k = 0; k < b->n && !a->any; k++) st_add(a, b->t[k].elem, b->t[k].sd);
}

static bool st_known(const struct st_type *t)
{
    return !t->any && (t->n > 0 || t->sys != 0);
}

static struct st_type st_of_typespec(const struct fp_typespec *ts)
{
    if (ts->ns == FP_NS_FHIR) {
        if (cw_fhir_sd_abstract(ts->sd) && cw_fhir_sd_kind(ts->sd) == CW_FHIR_KIND_RESOURCE)
            return st_any();
        return st_of_fhir(ts->sd);
    }
    if (ts->ns == FP_NS_SYSTEM && ts->sys != FP_SYS_NONE && ts->sys != FP_SYS_ANY)
        return st_sys((enum fp_sys)ts->sys);
    return st_any();
}

/* Could an item of type t be 'boolean'? */
static bool st_maybe_boolean(const struct st_type *t)
{
    if (!st_known(t)) return true;
    if (t->sys & (1u << FP_SYS_BOOLEAN)) return true;
    struct cw_fhir_sd b = cw_fhir_type_cstr("boolean");
    for (unsigned k = 0; k < t->n; k++)
        if (cw_fhir_sd_eq(t->t[k].sd, b)) return true;
    return t->n == 0 && t->sys == 0;
}

static int check(struct checker *c, const struct fp_ast *n, const struct st_type *this_,
                 struct st_type *out);

/* Member navigation on a known type set. */
static int member(struct checker *c, const struct fp_ast *n, const struct st_type *in,
                  struct st_type *out)
{
    *out = st_empty();
    if (!st_known(in)) {
        *out = in->any ? st_any() : st_empty();
        return 0;
    }
    if (n->flags & FP_AST_ROOTNAME && n->type.ns == FP_NS_FHIR) {
        /* a type name at the start of a path: must be able to be the context */
        for (unsigned k = 0; k < in->n; k++) {
            if (cw_fhir_type_is_a(in->t[k].sd, n->type.sd)) {
                st_add(out, in->t[k].elem, in->t[k].sd);
            } else if (cw_fhir_type_is_a(n->type.sd, in->t[k].sd)) {
                struct st_type t = st_of_fhir(n->type.sd);
                st_merge(out, &t);
            }
        }
        if (out->n == 0 && !out->any && (c->flags & CW_FHIRPATH_STRICT))
            return serr(c, n, "'%.*s' cannot be the type of the context", (int)n->name.len,
                        n->name.ptr);
        return 0;
    }
    bool found = false;
    for (unsigned k = 0; k < in->n; k++) {
        struct cw_fhir_elem ce = cw_fhir_child_by_name(in->t[k].elem, in->t[k].sd, n->name);
        if (!ce.set) continue;
        found = true;
        if (cw_fhir_elem_flags(ce) & CW_FHIR_E_CHOICE) {
            size_t nt = cw_fhir_elem_type_count(ce);
            for (size_t j = 0; j < nt; j++) {
                struct cw_fhir_typeref tr;
                if (cw_fhir_elem_type(ce, j, &tr) == 0) st_add(out, ce, tr.type);
            }
        } else {
            struct cw_fhir_sd t = cw_fhir_elem_single_type(ce);
            st_add(out, cw_fhir_elem_structure(ce, t), t);
        }
    }
    if (!found && in->n > 0)
        return serr(c, n, "'%.*s' is not an element of %.*s%s",
                    (int)(n->name.len > 64 ? 64 : n->name.len), n->name.ptr,
                    CW_SLICE_FMT(cw_fhir_sd_type_name(in->t[0].sd)),
                    in->n > 1 ? " (or the other possible types)" : "");
    if (!found && in->sys && (c->flags & CW_FHIRPATH_STRICT))
        return serr(c, n, "'%.*s': System values have no elements",
                    (int)(n->name.len > 64 ? 64 : n->name.len), n->name.ptr);
    return 0;
}

static enum fp_sys fn_result_sys(enum fp_fn f)
{
    switch (f) {
    case FP_FN_EMPTY:
    case FP_FN_EXISTS:
    case FP_FN_ALL:
    case FP_FN_ALLTRUE:
    case FP_FN_ANYTRUE:
    case FP_FN_ALLFALSE:
    case FP_FN_ANYFALSE:
    case FP_FN_SUBSETOF:
    case FP_FN_SUPERSETOF:
    case FP_FN_ISDISTINCT:
    case FP_FN_CONVERTSTOBOOLEAN:
    case FP_FN_CONVERTSTOINTEGER:
    case FP_FN_CONVERTSTODATE:
    case FP_FN_CONVERTSTODATETIME:
    case FP_FN_CONVERTSTODECIMAL:
    case FP_FN_CONVERTSTOQUANTITY:
    case FP_FN_CONVERTSTOSTRING:
    case FP_FN_CONVERTSTOTIME:
    case FP_FN_STARTSWITH:
    case FP_FN_ENDSWITH:
    case FP_FN_CONTAINS:
    case FP_FN_MATCHES:
    case FP_FN_MATCHESFULL:
    case FP_FN_IS:
    case FP_FN_NOT:
    case FP_FN_HASVALUE:
    case FP_FN_MEMBEROF:
    case FP_FN_CONFORMSTO:
    case FP_FN_HTMLCHECKS:
    case FP_FN_SUBSUMES:
    case FP_FN_SUBSUMEDBY:
    case FP_FN_COMPARABLE:
    case FP_FN_TOBOOLEAN:
        return FP_SYS_BOOLEAN;
    case FP_FN_COUNT:
    case FP_FN_INDEXOF:
    case FP_FN_LASTINDEXOF:
    case FP_FN_LENGTH:
    case FP_FN_TOINTEGER:
    case FP_FN_PRECISION:
        return FP_SYS_INTEGER;
    case FP_FN_TOSTRING:
    case FP_FN_SUBSTRING:
    case FP_FN_UPPER:
    case FP_FN_LOWER:
    case FP_FN_REPLACE:
    case FP_FN_REPLACEMATCHES:
    case FP_FN_TOCHARS:
    case FP_FN_ENCODE:
    case FP_FN_DECODE:
    case FP_FN_ESCAPE:
    case FP_FN_UNESCAPE:
    case FP_FN_TRIM:
    case FP_FN_SPLIT:
    case FP_FN_JOIN:
        return FP_SYS_STRING;
    case FP_FN_TODECIMAL:
        return FP_SYS_DECIMAL;
    case FP_FN_TODATE:
    case FP_FN_TODAY:
        return FP_SYS_DATE;
    case FP_FN_TODATETIME:
    case FP_FN_NOW:
        return FP_SYS_DATETIME;
    case FP_FN_TOTIME:
    case FP_FN_TIMEOFDAY:
        return FP_SYS_TIME;
    case FP_FN_TOQUANTITY:
        return FP_SYS_QUANTITY;
    default:
        return FP_SYS_NONE;
    }
}

static int func(struct checker *c, const struct fp_ast *n, const struct st_type *this_,
                const struct st_type *in, struct st_type *out)
{
    const struct fp_fn_info *fi = &fp_fn_table[n->fn];
    if ((c->flags & CW_FHIRPATH_CHECK_ORDERED) && (fi->flags & FP_FNF_ORDERED) && in->unordered)
        return serr(
            c, n,
            "%s() depends on the order of its input, which has none (children(), descendants())",
            fi->name);
    /* arguments */
    struct st_type args[16];
    struct st_type unknown = st_any();
    for (unsigned k = 0; k < n->nargs && k < 16; k++) {
        if ((fi->flags & FP_FNF_TYPEARG) && k == 0) {
            args[k] = st_any();
            continue;
        }
        const struct st_type *scope = (fi->flags & FP_FNF_LAMBDA) ? in : this_;
        if (n->fn == FP_FN_AGGREGATE || n->fn == FP_FN_REPEAT) scope = &unknown;
        if (check(c, n->args[k], scope, &args[k]) < 0) return -1;
    }
    enum fp_sys rs = fn_result_sys((enum fp_fn)n->fn);
    if (rs != FP_SYS_NONE) {
        *out = st_sys(rs);
        return 0;
    }
    switch ((enum fp_fn)n->fn) {
    case FP_FN_WHERE:
    case FP_FN_DISTINCT:
    case FP_FN_SINGLE:
    case FP_FN_FIRST:
    case FP_FN_LAST:
    case FP_FN_TAIL:
    case FP_FN_SKIP:
    case FP_FN_TAKE:
    case FP_FN_INTERSECT:
    case FP_FN_EXCLUDE:
    case FP_FN_TRACE:
    case FP_FN_SORT:
        *out = *in;
        if (n->fn == FP_FN_SORT) out->unordered = false;
        return 0;
    case FP_FN_SELECT:
        *out = args[0];
        out->unordered |= in->unordered;
        return 0;
    case FP_FN_OFTYPE:
    case FP_FN_AS:
        *out = st_of_typespec(&n->type);
        out->unordered = in->unordered;
        return 0;
    case FP_FN_UNION:
    case FP_FN_COMBINE:
        *out = *in;
        st_merge(out, &args[0]);
        return 0;
    case FP_FN_IIF:
        if ((c->flags & CW_FHIRPATH_STRICT) && !st_maybe_boolean(&args[0]))
            return serr(c, n->args[0], "the criterion of iif() must be a Boolean");
        *out = args[1];
        if (n->nargs == 3) st_merge(out, &args[2]);
        return 0;
    case FP_FN_EXTENSION: {
        struct cw_fhir_sd ext = cw_fhir_type_cstr("Extension");
        *out = ext.set ? st_of_fhir(ext) : st_any();
        return 0;
    }
    case FP_FN_CHILDREN:
    case FP_FN_DESCENDANTS:
        *out = st_any();
        out->unordered = true;
        return 0;
    case FP_FN_ABS:
    case FP_FN_CEILING:
    case FP_FN_FLOOR:
    case FP_FN_TRUNCATE:
    case FP_FN_ROUND:
    case FP_FN_EXP:
    case FP_FN_LN:
    case FP_FN_LOG:
    case FP_FN_POWER:
    case FP_FN_SQRT:
    case FP_FN_LOWBOUNDARY:
    case FP_FN_HIGHBOUNDARY:
    case FP_FN_GETVALUE:
    default:
        *out = st_any();
        return 0;
    }
}

static int check(struct checker *c, const struct fp_ast *n, const struct st_type *this_,
                 struct st_type *out)
{
    if (++c->depth > 10000) return serr(c, n, "expression too deep to check");
    int r = 0;
    switch ((enum fp_op)n->op) {
    case FP_OP_LITERAL:
        switch (n->lit.kind) {
        case CW_FHIRPATH_BOOLEAN:
            *out = st_sys(FP_SYS_BOOLEAN);
            break;
        case CW_FHIRPATH_INTEGER:
            *out = st_sys(FP_SYS_INTEGER);
            break;
        case CW_FHIRPATH_DECIMAL:
            *out = st_sys(FP_SYS_DECIMAL);
            break;
        case CW_FHIRPATH_STRING:
            *out = st_sys(FP_SYS_STRING);
            break;
        case CW_FHIRPATH_DATE:
            *out = st_sys(FP_SYS_DATE);
            break;
        case CW_FHIRPATH_DATETIME:
            *out = st_sys(FP_SYS_DATETIME);
            break;
        case CW_FHIRPATH_TIME:
            *out = st_sys(FP_SYS_TIME);
            break;
        case CW_FHIRPATH_QUANTITY:
            *out = st_sys(FP_SYS_QUANTITY);
            break;
        default:
            *out = st_any();
        }
        break;
    case FP_OP_EMPTY:
        *out = st_empty();
        break;
    case FP_OP_THIS:
        *out = *this_;
        break;
    case FP_OP_INDEX:
        *out = st_sys(FP_SYS_INTEGER);
        break;
    case FP_OP_TOTAL:
        *out = st_any();
        break;
    case FP_OP_VAR:
        if (cw_slice_eq_cstr(n->name, "context") || cw_slice_eq_cstr(n->name, "resource") ||
            cw_slice_eq_cstr(n->name, "rootResource"))
            *out = c->root;
        else if (cw_slice_eq_cstr(n->name, "ucum") || cw_slice_eq_cstr(n->name, "sct") ||
                 cw_slice_eq_cstr(n->name, "loinc") ||
                 cw_slice_starts_with(n->name, CW_LIT("vs-")) ||
                 cw_slice_starts_with(n->name, CW_LIT("ext-")))
            *out = st_sys(FP_SYS_STRING);
        else
            *out = st_any();
        break;
    case FP_OP_MEMBER: {
        struct st_type in;
        if (n->target) {
            if (check(c, n->target, this_, &in) < 0) return -1;
        } else {
            in = *this_;
        }
        r = member(c, n, &in, out);
        if (r == 0) out->unordered |= in.unordered;
        break;
    }
    case FP_OP_FUNC: {
        struct st_type in;
        if (n->target) {
            if (check(c, n->target, this_, &in) < 0) return -1;
        } else {
            in = *this_;
        }
        r = func(c, n, this_, &in, out);
        break;
    }
    case FP_OP_INDEXER: {
        struct st_type in, idx;
        if (check(c, n->target, this_, &in) < 0 || check(c, n->rhs, this_, &idx) < 0) return -1;
        if ((c->flags & CW_FHIRPATH_CHECK_ORDERED) && in.unordered)
            return serr(c, n, "[] depends on the order of its input, which has none");
        *out = in;
        break;
    }
    case FP_OP_NEG:
    case FP_OP_POS:
        r = check(c, n->target, this_, out);
        break;
    case FP_OP_IS:
    case FP_OP_AS: {
        struct st_type in;
        if (check(c, n->target, this_, &in) < 0) return -1;
        *out = n->op == FP_OP_IS ? st_sys(FP_SYS_BOOLEAN) : st_of_typespec(&n->type);
        break;
    }
    case FP_OP_UNION: {
        struct st_type a, b;
        if (check(c, n->target, this_, &a) < 0 || check(c, n->rhs, this_, &b) < 0) return -1;
        *out = a;
        st_merge(out, &b);
        break;
    }
    default: {
        /* binary operators */
        struct st_type a, b;
        if (check(c, n->target, this_, &a) < 0 || check(c, n->rhs, this_, &b) < 0) return -1;
        switch ((enum fp_op)n->op) {
        case FP_OP_LT:
        case FP_OP_LE:
        case FP_OP_GT:
        case FP_OP_GE:
        case FP_OP_EQ:
        case FP_OP_EQUIV:
        case FP_OP_NE:
        case FP_OP_NEQUIV:
        case FP_OP_IN:
        case FP_OP_CONTAINS:
        case FP_OP_AND:
        case FP_OP_OR:
        case FP_OP_XOR:
        case FP_OP_IMPLIES:
            *out = st_sys(FP_SYS_BOOLEAN);
            break;
        case FP_OP_CONCAT:
            *out = st_sys(FP_SYS_STRING);
            break;
        default:
            *out = st_any();
            break;
        }
    }
    }
    c->depth--;
    return r;
}

int fp_check(struct cw_fhirpath_expr *e, const struct cw_fhirpath_opts *opts, struct cw_err *err)
{
    if (!opts->root_type.set && !(opts->flags & (CW_FHIRPATH_STRICT | CW_FHIRPATH_CHECK_ORDERED)))
        return 0;
    struct checker c = {.e = e, .flags = opts->flags, .err = err};
    c.root = opts->root_type.set ? st_of_fhir(opts->root_type) : st_any();
    struct st_type out;
    return check(&c, e->root, &c.root, &out);
}
