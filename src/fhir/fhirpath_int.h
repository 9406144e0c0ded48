/*
 * fhirpath_int.h — what the files of the FHIRPath engine share: the value
 * representations (decimal, date/time, quantity, type), the syntax tree,
 * the evaluation state, and the helpers each file exports to the others.
 * Nothing here is part of the public API (see fhirpath.h).
 *
 * Files:
 *   fhirpath_dec.c    exact decimal arithmetic
 *   fhirpath_ucum.c   UCUM unit expressions: parse, canonical form, compare
 *   fhirpath_value.c  conversions, equality, equivalence, ordering, text,
 *                     date/time arithmetic, quantities
 *   fhirpath_parse.c  lexer and precedence-climbing parser -> tree
 *   fhirpath_check.c  static (semantic) checks against a root type
 *   fhirpath_eval.c   the evaluator: navigation, operators, entry points
 *   fhirpath_func.c   the function library
 *   fhirpath_fhir.c   FHIR functions: resolve, extension, memberOf, ...
 *   fhirpath_out.c    results as text and JSON
 */
#ifndef CW_FHIR_FHIRPATH_INT_H
#define CW_FHIR_FHIRPATH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/datetime.h"
#include "fhir/fhir.h"
#include "fhir/fhirpath.h"

/* ==== decimal (fhirpath_dec.c) ==== */

typedef unsigned __int128 fp_u128;

/*
 * value = (neg ? -1 : 1) * coef * 10^-scale. coef < 10^38 (38 significant
 * digits); scale >= 0 after normalization (exponent forms are expanded);
 * zero is never negative. The scale is the precision: 1.50 has scale 2.
 */
struct cw_fhirpath_dec {
    fp_u128 coef;
    int32_t scale;
    bool neg;
};
typedef struct cw_fhirpath_dec fp_dec;

#define FP_DEC_DIGITS     38  /* significant digits held */
#define FP_DEC_MAX_SCALE  64  /* digits after the point, at most */
#define FP_DEC_DIV_DIGITS 28  /* significant digits of a quotient */
#define FP_DEC_TEXT_MAX   140 /* bytes fp_dec_format may write, NUL included */

/* Parse [+-]digits[.digits][(e|E)[+-]digits]; 0 or -1 (syntax, out of range). */
int fp_dec_parse(cw_slice s, fp_dec *out);
/* Parse FHIRPath decimal text only ([+-]?digits(.digits)?); 0 or -1. */
int fp_dec_parse_plain(cw_slice s, fp_dec *out);
void fp_dec_from_i64(int64_t v, fp_dec *out);
/* Whole number in int64 (fraction must be zero); 0 or -1. */
int fp_dec_to_i64(const fp_dec *d, int64_t *out);
double fp_dec_to_double(const fp_dec *d);
/* From a finite double, shortest round-trip digits (%.17g trimmed); 0 or -1. */
int fp_dec_from_double(double v, fp_dec *out);
/* Plain text (no exponent) with exactly d->scale fraction digits. */
size_t fp_dec_format(const fp_dec *d, char *buf, size_t cap);
int fp_dec_cmp(const fp_dec *a, const fp_dec *b);
bool fp_dec_is_zero(const fp_dec *d);
/* Arithmetic: 0 ok, -1 overflow / division by zero (out untouched). */
int fp_dec_add(const fp_dec *a, const fp_dec *b, fp_dec *out);
int fp_dec_sub(const fp_dec *a, const fp_dec *b, fp_dec *out);
int fp_dec_mul(const fp_dec *a, const fp_dec *b, fp_dec *out);
int fp_dec_div(const fp_dec *a, const fp_dec *b, fp_dec *out);
/* Truncated quotient (integer) and remainder a - b*trunc(a/b). */
int fp_dec_idiv(const fp_dec *a, const fp_dec *b, fp_dec *out);
int fp_dec_mod(const fp_dec *a, const fp_dec *b, fp_dec *out);
/* Round to 'digits' fraction digits, half away from zero; digits may exceed
   the scale (zeros are appended). 0 or -1. */
int fp_dec_round(const fp_dec *a, int digits, fp_dec *out);
/* Cut to 'digits' fraction digits toward zero (or pad). */
int fp_dec_trunc_to(const fp_dec *a, int digits, fp_dec *out);
void fp_dec_floor(const fp_dec *a, fp_dec *out);
void fp_dec_ceil(const fp_dec *a, fp_dec *out);
/* Remove trailing fraction zeros down to scale min_scale. */
void fp_dec_strip(fp_dec *d, int min_scale);
/* Equal values regardless of scale (1.10 = 1.1). */
static inline bool fp_dec_eq(const fp_dec *a, const fp_dec *b)
{
    return fp_dec_cmp(a, b) == 0;
}

/* ==== date/time ==== */

struct cw_fhirpath_dt {
    struct cw_dt v;
};

/* ==== quantities and UCUM (fhirpath_ucum.c) ==== */

enum fp_cal {
    FP_CAL_NONE = 0, /* a UCUM unit */
    FP_CAL_YEAR,
    FP_CAL_MONTH,
    FP_CAL_WEEK,
    FP_CAL_DAY,
    FP_CAL_HOUR,
    FP_CAL_MINUTE,
    FP_CAL_SECOND,
    FP_CAL_MILLISECOND,
};

struct cw_fhirpath_qty {
    fp_dec value;
    cw_slice unit; /* UCUM code or calendar keyword as written ("1" by default) */
    uint8_t cal;   /* enum fp_cal; FP_CAL_NONE for UCUM */
    bool keyword;  /* written without quotes (7 days): toString keeps the form */
};
typedef struct cw_fhirpath_qty fp_qty;

/* Calendar keyword (singular or plural) -> enum fp_cal, FP_CAL_NONE if not one. */
enum fp_cal fp_cal_keyword(cw_slice s);
/* The singular keyword of a calendar unit ("day"). */
const char *fp_cal_name(enum fp_cal c);

#define FP_UCUM_DIMS 7 /* m, s, g, rad, K, C, cd */

/* A unit in canonical form: value_in_base = value * factor (+ offset for
   the special units Cel/[degF], flagged). */
struct fp_unit {
    fp_dec factor;
    int8_t dim[FP_UCUM_DIMS];
    bool special;   /* non-ratio scale (Cel, [degF]): only same-unit math */
    bool arbitrary; /* [iU], [arb'U]...: comparable only with itself */
};

/* Parse a UCUM expression ("mg/dL", "10*3/uL", "kg.m2", "[lb_av]",
   "{beats}/min", "1"); 0, or -1 when it is not a unit we know. */
int fp_ucum_parse(cw_slice code, struct fp_unit *out);

/* ==== type information ==== */

enum fp_sys {
    FP_SYS_NONE = 0,
    FP_SYS_ANY,
    FP_SYS_BOOLEAN,
    FP_SYS_INTEGER,
    FP_SYS_DECIMAL,
    FP_SYS_STRING,
    FP_SYS_DATE,
    FP_SYS_DATETIME,
    FP_SYS_TIME,
    FP_SYS_QUANTITY,
};

struct cw_fhirpath_type {
    uint8_t ns;           /* 1 System, 2 FHIR */
    uint8_t sys;          /* enum fp_sys when ns == System */
    struct cw_fhir_sd sd; /* when ns == FHIR */
};
#define FP_NS_SYSTEM 1
#define FP_NS_FHIR   2

/* A type specifier resolved at compile time. */
struct fp_typespec {
    uint8_t ns;         /* FP_NS_*; 0 = unresolved */
    uint8_t sys;        /* enum fp_sys */
    bool leaf_resource; /* a concrete resource type (nothing specializes it) */
    uint32_t name_len;
    const char *name; /* the type's name (definitions' pool) */
    struct cw_fhir_sd sd;
};

/* System type by name ("Integer", "String", ...), FP_SYS_NONE if not one. */
enum fp_sys fp_sys_by_name(cw_slice name);
const char *fp_sys_name(enum fp_sys s);

/* ==== values ==== */

typedef struct cw_fhirpath_value fp_val;
typedef struct cw_fhirpath_coll fp_coll;

/* cw_fhir_node.flags bits owned by the engine (high bits, clear of CW_FHIR_NODE_*) */
#define FP_NODE_UNTYPED 0x10000u /* JSON without a FHIR type: navigated by key */

/* fp_val.flags for strings */
#define FP_VAL_STATIC 0x01 /* points into the compiled expression */

static inline fp_val fp_bool(bool b)
{
    fp_val v = {.kind = CW_FHIRPATH_BOOLEAN};
    v.u.b = b;
    return v;
}
static inline fp_val fp_int(int64_t i)
{
    fp_val v = {.kind = CW_FHIRPATH_INTEGER};
    v.u.i = i;
    return v;
}
static inline fp_val fp_str(cw_slice s)
{
    fp_val v = {.kind = CW_FHIRPATH_STRING, .len = (uint32_t)s.len};
    v.u.s = s.ptr ? s.ptr : "";
    return v;
}
static inline cw_slice fp_val_str(const fp_val *v)
{
    return (cw_slice){v->u.s, v->len};
}

/* ==== syntax tree (fhirpath_parse.c) ==== */

enum fp_op {
    FP_OP_LITERAL = 1, /* lit */
    FP_OP_EMPTY,       /* {} */
    FP_OP_THIS,        /* $this */
    FP_OP_INDEX,       /* $index */
    FP_OP_TOTAL,       /* $total */
    FP_OP_VAR,         /* %name */
    FP_OP_MEMBER,      /* target.name (target NULL: on $this) */
    FP_OP_FUNC,        /* target.fn(args) (target NULL: on $this) */
    FP_OP_INDEXER,     /* target[args[0]] */
    FP_OP_NEG,         /* -target */
    FP_OP_POS,         /* +target */
    FP_OP_IS,          /* target is type */
    FP_OP_AS,          /* target as type */
    /* binary: target op rhs */
    FP_OP_MUL,
    FP_OP_DIV,
    FP_OP_IDIV,
    FP_OP_MOD,
    FP_OP_ADD,
    FP_OP_SUB,
    FP_OP_CONCAT,
    FP_OP_UNION,
    FP_OP_LT,
    FP_OP_LE,
    FP_OP_GT,
    FP_OP_GE,
    FP_OP_EQ,
    FP_OP_EQUIV,
    FP_OP_NE,
    FP_OP_NEQUIV,
    FP_OP_IN,
    FP_OP_CONTAINS,
    FP_OP_AND,
    FP_OP_OR,
    FP_OP_XOR,
    FP_OP_IMPLIES,
};

/* fp_ast.flags */
#define FP_AST_ROOTNAME 0x01 /* MEMBER in term position: maybe a type name */
#define FP_AST_DESC     0x02 /* sort(): criterion negated (descending) */

struct fp_ast {
    uint8_t op; /* enum fp_op */
    uint8_t fn; /* FP_OP_FUNC: enum fp_fn */
    uint8_t nargs;
    uint8_t flags; /* FP_AST_* */
    uint32_t pos;  /* byte offset of the token in the source */
    uint32_t slot; /* MEMBER/FUNC: cache slot index */
    struct fp_ast *target;
    struct fp_ast *rhs;
    struct fp_ast **args;
    cw_slice name;           /* MEMBER, VAR, FUNC name */
    fp_val lit;              /* LITERAL, and constant-folded arguments */
    struct fp_typespec type; /* IS, AS, ofType, and MEMBER with ROOTNAME */
    void *re;                /* compiled regex (pcre2_code) for a literal pattern */
};

struct cw_fhirpath_expr {
    struct cw_arena *arena; /* owns the tree, literals and the source copy */
    cw_slice source;
    struct fp_ast *root;
    uint32_t n_slots;
    void **regexes; /* pcre2_code* to free */
    size_t n_regexes;
};

/* Line and column (1-based) of byte offset pos in text. */
void fp_line_col(cw_slice text, uint32_t pos, unsigned *line, unsigned *col);

/* Static checks (fhirpath_check.c). 0 or -1 with err. */
int fp_check(struct cw_fhirpath_expr *e, const struct cw_fhirpath_opts *opts, struct cw_err *err);

/* ==== functions (fhirpath_func.c) ==== */

enum fp_fn {
    FP_FN_NONE = 0,
#define FP_FN(id, name, min, max, flags) FP_FN_##id,
#include "fhir/fhirpath_fn.def"
#undef FP_FN
    FP_FN_COUNT_
};

/* fp_fn_info.flags */
#define FP_FNF_LAMBDA    0x01 /* arguments evaluated per input item ($this) */
#define FP_FNF_TYPEARG   0x02 /* the argument is a type specifier */
#define FP_FNF_ORDERED   0x04 /* result depends on the input order */
#define FP_FNF_UNORDERED 0x08 /* produces a collection without defined order */

struct fp_fn_info {
    const char *name;
    uint8_t min_args, max_args;
    uint8_t flags;
};
extern const struct fp_fn_info fp_fn_table[FP_FN_COUNT_];
/* Function by name, FP_FN_NONE if unknown. */
enum fp_fn fp_fn_lookup(cw_slice name);

/* ==== evaluation (fhirpath_eval.c) ==== */

/* Per member-navigation cache entry: (parent elem, parent type) -> child. */
struct fp_nav_cache {
    struct cw_fhir_elem pelem;
    struct cw_fhir_sd ptype;
    struct cw_fhir_elem child; /* none: the parent has no such element */
    struct cw_fhir_sd single;  /* the child's type when it has one (not a choice) */
    uint8_t kind;              /* enum cw_fhir_kind of single */
    bool choice;               /* the child is a choice element (value[x]) */
    uint64_t choice_lens;      /* choice: bit L set when a JSON name of length L
                                  (name + type suffix) is possible; bit 63: 63 or more */
    bool valid;
};
#define FP_NAV_WAYS 4

/* Variables of one evaluation scope. */
struct fp_frame {
    fp_coll this_;
    int64_t index;
    fp_coll total;
    bool has_index;
    bool has_total;
};

/* The state of one evaluation. */
struct fp_ev {
    struct cw_arena *a;
    const struct cw_fhirpath_expr *e;
    const struct cw_fhirpath_env *env;
    struct cw_err *err;
    fp_coll context;  /* %context */
    fp_coll resource; /* %resource */
    fp_coll root;     /* %rootResource */
    size_t max_items;
    uint64_t max_steps;
    uint64_t steps;
    unsigned max_depth;
    unsigned depth;
    size_t max_string;
    struct fp_nav_cache **nav;            /* per slot: NULL or FP_NAV_WAYS entries (lazily) */
    const struct fp_typespec *nav_filter; /* fused ofType() during navigation */
    bool failed;                          /* fp_fail was called */
    bool now_set;
    int64_t now_us;
    int tz_min;
};

/* A growable collection in the arena. */
struct fp_vec {
    fp_val *items;
    size_t n, cap;
};

int fp_vec_push_slow(struct fp_ev *ev, struct fp_vec *v, fp_val x);
static inline int fp_vec_push(struct fp_ev *ev, struct fp_vec *v, fp_val x)
{
    if (v->n < v->cap) {
        v->items[v->n++] = x;
        return 0;
    }
    return fp_vec_push_slow(ev, v, x);
}
/* Room for 'more' items without further growth. */
int fp_vec_reserve(struct fp_ev *ev, struct fp_vec *v, size_t more);
static inline fp_coll fp_vec_coll(const struct fp_vec *v)
{
    return (fp_coll){v->items, v->n};
}

/* Testing only: when true, member chains and where() comparisons are
   evaluated step by step (the fused walk of fhirpath_eval.c is off), so a
   test can compare both. Set it before evaluating, never concurrently. */
extern bool fp_no_fuse;

/* Evaluate n with the given scope into *out; 0 or -1 (ev->err set). */
int fp_eval(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr, fp_coll *out);

/* Errors: set ev->err with the source position of n; return -1. */
int fp_fail(struct fp_ev *ev, const struct fp_ast *n, enum cw_issue issue, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Count work; -1 (too-costly) past the step limit. */
int fp_steps(struct fp_ev *ev, const struct fp_ast *n, uint64_t k);

/* A one-item collection in the arena. NULL items on failure. */
int fp_single(struct fp_ev *ev, fp_val v, fp_coll *out);

/* Singleton evaluation of n to a truth value: FP_TRUE, FP_FALSE,
   FP_UNKNOWN, or -1 (error). */
int fp_eval_truth(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr);

/* Union without duplicates (by =) of a and b. */
int fp_union(struct fp_ev *ev, const struct fp_ast *n, fp_coll a, fp_coll b, fp_coll *out);

/* is / as on a collection (the operators and the functions). */
int fp_op_is_as(struct fp_ev *ev, const struct fp_ast *n, fp_coll in, bool is, fp_coll *out);

/* While item i of a long collection (16 items or more) is processed: ask
   for the memory of the items a few places ahead (JSON member arrays, key
   bytes, nested objects), as member navigation does. Changes no result. */
void fp_prefetch_ahead(const fp_coll *in, size_t i);

/* Call function n on input in. */
int fp_call(struct fp_ev *ev, const struct fp_ast *n, const struct fp_frame *fr, fp_coll in,
            fp_coll *out);

/* Regular expressions (fhirpath_func.c): compile the literal pattern of a
   matches/matchesFull/replaceMatches call into n->re; free one. */
int fp_regex_compile_ast(struct cw_fhirpath_expr *e, struct fp_ast *n, struct cw_err *err);
void fp_regex_free(void *re);

/* Children of one item: all (name NULL-slice with all=true) or by FHIRPath name. */
int fp_children(struct fp_ev *ev, const struct fp_ast *n, const fp_val *item, cw_slice name,
                bool all, struct fp_vec *out);

/* Make a node for a resource JSON object (root of a navigation). */
int fp_node_for_resource(struct fp_ev *ev, const struct cw_json *res,
                         const struct cw_fhir_node *parent, fp_val *out);

/* The System value of an item: primitives of nodes become System values;
   System values are returned as they are. Returns 1 with *out, 0 when the
   item has no System value (complex node, primitive without a value). */
int fp_to_system(struct fp_ev *ev, const fp_val *in, fp_val *out);

/* FHIR Quantity node (or System Quantity, Integer, Decimal) -> quantity;
   1 with *out, 0 if not a quantity. */
int fp_to_quantity(struct fp_ev *ev, const fp_val *in, fp_qty *out);

/* Type tests. */
bool fp_is_type(const fp_val *v, const struct fp_typespec *t);
/* The type of an item (for type()). */
struct cw_fhirpath_type fp_type_of(const fp_val *v);

/* FHIR node helpers */
bool fp_node_is_primitive(const struct cw_fhir_node *n);
cw_slice fp_node_type_name(const struct cw_fhir_node *n);

/* ==== values (fhirpath_value.c) ==== */

/* Three-valued results. */
#define FP_FALSE   0
#define FP_TRUE    1
#define FP_UNKNOWN 2

/* Equality (=) of two items: FP_TRUE, FP_FALSE, FP_UNKNOWN. */
int fp_equal(struct fp_ev *ev, const fp_val *a, const fp_val *b);
/* Equivalence (~) of two items: true/false. */
bool fp_equiv(struct fp_ev *ev, const fp_val *a, const fp_val *b);
/* Ordering of two System values: -1, 0, 1, FP_UNKNOWN (2), or -2 when the
   types cannot be compared (an error for < > <= >=). */
int fp_compare(struct fp_ev *ev, const fp_val *a, const fp_val *b);
/* Date/time ordering with the FHIRPath precision rules: -1/0/1/2. */
int fp_dt_compare(const struct cw_dt *a, const struct cw_dt *b);

/* Text of a System value (toString()); 0 or -1 (no text / buffer). */
int fp_val_text(const fp_val *v, struct cw_buf *b);
/* Text into the arena as a String value; 0 or -1. */
int fp_val_to_string(struct fp_ev *ev, const fp_val *v, fp_val *out);

/* Allocation helpers for System values in the arena. */
int fp_make_dec(struct fp_ev *ev, const fp_dec *d, fp_val *out);
int fp_make_dt(struct fp_ev *ev, enum cw_fhirpath_kind kind, const struct cw_dt *dt, fp_val *out);
int fp_make_qty(struct fp_ev *ev, const fp_qty *q, fp_val *out);
int fp_make_str(struct fp_ev *ev, cw_slice s, fp_val *out); /* copies */

/* Date/time arithmetic: v (Date/DateTime/Time) plus or minus a quantity.
   Returns 0, 1 when the quantity unit cannot apply (an error for the
   caller), -1 on overflow. */
int fp_dt_add(const struct cw_dt *in, enum cw_fhirpath_kind kind, const fp_qty *q, bool subtract,
              struct cw_dt *out);

/* Quantity comparison: -1/0/1, or FP_UNKNOWN when not comparable. When
   equiv is true the values are rounded to the least precise first. */
int fp_qty_compare(const fp_qty *a, const fp_qty *b, bool equiv);
/* Quantity arithmetic: 0, 1 not applicable, -1 overflow. */
int fp_qty_mul(struct fp_ev *ev, const fp_qty *a, const fp_qty *b, bool divide, fp_qty *out);
int fp_qty_add(const fp_qty *a, const fp_qty *b, bool subtract, fp_qty *out);

/* Parse a FHIRPath date/time literal body (after '@'); kind receives
   DATE, DATETIME or TIME. 0 or -1. Also used by toDate()/toDateTime()/toTime()
   (allow_tz_on_time false). */
int fp_parse_dt_literal(cw_slice s, enum cw_fhirpath_kind *kind, struct cw_dt *out);
/* Parse date/dateTime/time text as stored in FHIR data / strings; 0 or -1. */
int fp_parse_dt_text(cw_slice s, enum cw_fhirpath_kind want, struct cw_dt *out);

/* Parse a quantity from a String ("1.5 'mg'", "7 days", "3"); 0 or -1. */
int fp_parse_quantity_text(struct fp_ev *ev, cw_slice s, fp_qty *out);

/* ==== FHIR functions (fhirpath_fhir.c) ==== */

int fp_fn_resolve(struct fp_ev *ev, const struct fp_ast *n, fp_coll in, struct fp_vec *out);
int fp_fn_member_of(struct fp_ev *ev, const struct fp_ast *n, const fp_val *item, cw_slice vs,
                    int *result);
int fp_fn_conforms_to(struct fp_ev *ev, const struct fp_ast *n, const fp_val *item, cw_slice url,
                      int *result);
int fp_fn_html_checks(struct fp_ev *ev, const fp_val *item, bool *ok);
int fp_fn_subsumes(struct fp_ev *ev, const struct fp_ast *n, const fp_val *a, const fp_val *b,
                   int *result);

/* Well-known environment constants (%ucum, %sct, %vs-x, %ext-x); 1 found. */
int fp_builtin_var(struct fp_ev *ev, cw_slice name, fp_val *out);

#endif
