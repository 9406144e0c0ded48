/*
 * fhirpath.h — the FHIRPath engine: compile once, evaluate many times.
 *
 * Language: FHIRPath N1 (normative release 2.0.0) with the FHIR R4
 * additions (fhir.html#fhirpath: resolve(), extension(), hasValue(),
 * getValue(), memberOf(), conformsTo(), htmlChecks(), subsumes(),
 * subsumedBy(), %resource, %rootResource, %ucum, %sct, %loinc, %vs-*,
 * %ext-*; not elementDefinition(), slice(), checkModifiers()), and the
 * FHIRPath 3.0 (STU) functions the official R4 test suite exercises
 * (sort, lowBoundary, highBoundary, precision, comparable, matchesFull,
 * encode/decode, escape/unescape, trim, split, join, lastIndexOf).
 *
 * Model.
 *  - cw_fhirpath_compile parses an expression (lexer + precedence-climbing
 *    parser per the N1 grammar) into an immutable tree that owns its
 *    memory (literals, compiled regular expressions). A compiled
 *    expression may be shared by any number of threads evaluating at once.
 *  - cw_fhirpath_eval evaluates it against a FHIR resource (JSON DOM from
 *    src/json) or against a node of the resource model (src/fhir/fhir.h).
 *    Everything an evaluation creates (nodes, strings, decimals, the result
 *    collection) lives in the caller's arena; reset or destroy the arena to
 *    release it. The resource JSON is borrowed and must outlive the result.
 *  - Values are FHIR nodes (elements of the resource with their FHIR type
 *    from the R4 definitions: choice elements are reached by their FHIRPath
 *    name, primitives merge "x" and "_x") or System values: Boolean,
 *    String, Integer (64-bit), Decimal (exact, up to 38 significant digits,
 *    precision kept: 1.50 stays 1.50), Date/DateTime/Time with partial
 *    precision, and Quantity (decimal value, UCUM unit or calendar
 *    duration). See docs/internals/fhirpath.md.
 *
 * Errors. Syntax errors carry the 1-based line/column of the offending
 * token (err->line, err->column, issue "invalid"). Evaluation errors (a
 * singleton expected but many items found, operands of the wrong type, a
 * limit reached) return -1 with err filled (issue "processing", or
 * "too-costly" for limits); nothing crashes and nothing aborts. Messages
 * never quote data values, only positions, names and counts.
 *
 * Limits. Every evaluation is bounded (struct cw_fhirpath_limits): items
 * per collection, evaluation steps, nesting depth of the expression
 * recursion, string length; the arena's own ceiling bounds memory.
 *
 * Thread safety. Compiled expressions are immutable; the core FHIR
 * definitions are immutable; an evaluation touches only its arena, its
 * environment (read-only) and the callbacks the caller supplies. Use one
 * arena per thread.
 */
#ifndef CW_FHIR_FHIRPATH_H
#define CW_FHIR_FHIRPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/slice.h"
#include "fhir/fhir.h"
#include "json/json.h"

/* ==== values ==== */

/* The kinds of items a collection holds. */
enum cw_fhirpath_kind {
    CW_FHIRPATH_BOOLEAN = 1, /* System.Boolean: u.b */
    CW_FHIRPATH_INTEGER,     /* System.Integer: u.i */
    CW_FHIRPATH_DECIMAL,     /* System.Decimal: u.dec (exact) */
    CW_FHIRPATH_STRING,      /* System.String: u.s, len bytes of UTF-8 */
    CW_FHIRPATH_DATE,        /* System.Date: u.dt */
    CW_FHIRPATH_DATETIME,    /* System.DateTime: u.dt */
    CW_FHIRPATH_TIME,        /* System.Time: u.dt */
    CW_FHIRPATH_QUANTITY,    /* System.Quantity: u.qty */
    CW_FHIRPATH_NODE,        /* an element or resource of the input: u.node */
    CW_FHIRPATH_TYPEINFO,    /* a type (the result of type()): u.type */
};

struct cw_fhirpath_dec;  /* exact decimal (internal) */
struct cw_fhirpath_dt;   /* date, dateTime or time with precision (internal) */
struct cw_fhirpath_qty;  /* quantity (internal) */
struct cw_fhirpath_type; /* type information (internal) */

/*
 * One item. 16 bytes, passed by value. Read strings, integers and booleans
 * directly; turn the others into text with cw_fhirpath_value_text or JSON
 * with cw_fhirpath_write_json. Pointers borrow the evaluation's arena, the
 * compiled expression (literals) or the input JSON.
 */
struct cw_fhirpath_value {
    uint8_t kind;  /* enum cw_fhirpath_kind */
    uint8_t flags; /* internal */
    uint16_t aux;  /* internal */
    uint32_t len;  /* strings: byte length */
    union {
        bool b;
        int64_t i;
        const char *s;
        const struct cw_fhirpath_dec *dec;
        const struct cw_fhirpath_dt *dt;
        const struct cw_fhirpath_qty *qty;
        const struct cw_fhir_node *node;
        const struct cw_fhirpath_type *type;
    } u;
};

/* An ordered collection. items lives in the evaluation's arena. */
struct cw_fhirpath_coll {
    const struct cw_fhirpath_value *items;
    size_t n;
};

/* ==== compiling ==== */

/* cw_fhirpath_opts.flags */
#define CW_FHIRPATH_STRICT                                                                         \
    0x01u /* semantic checks against root_type: unknown                                            \
             elements, a first type name that cannot be                                            \
             the context, non-Boolean iif criteria,                                                \
             functions on operands of the wrong type */
#define CW_FHIRPATH_CHECK_ORDERED                                                                  \
    0x02u /* semantic error when an order-dependent                                                \
             function (first, skip, [i], ...) is                                                   \
             applied to an unordered result                                                        \
             (children(), descendants()) */

/*
 * Compile options; NULL or zero means: no root type, not strict, defaults.
 * When root_type is given (the resource or data type the expression will be
 * evaluated on), element names are checked against the definitions even
 * when not strict: a name that no type reachable there defines (such as
 * the JSON name valueQuantity instead of the FHIRPath name value) is a
 * semantic error, since it can never select anything.
 */
struct cw_fhirpath_opts {
    unsigned flags;              /* CW_FHIRPATH_STRICT | CW_FHIRPATH_CHECK_ORDERED */
    struct cw_fhir_sd root_type; /* CW_FHIR_NONE_SD when unknown */
    size_t max_length;           /* longest expression text (0 = 64 KiB) */
    unsigned max_depth;          /* deepest nesting of the syntax (0 = 200) */
};

struct cw_fhirpath_expr;

/*
 * Compile text into *out (caller frees with cw_fhirpath_free). Returns 0, or
 * -1 with err: issue "invalid" for syntax and semantic errors (line/column
 * of the offending token), "too-long"/"too-costly" for limits,
 * "exception" when memory is out. Thread-safe.
 */
int cw_fhirpath_compile(cw_slice text, const struct cw_fhirpath_opts *opts,
                        struct cw_fhirpath_expr **out, struct cw_err *err);

/* Release a compiled expression (NULL is a no-op). No evaluation may use it
   afterwards. */
void cw_fhirpath_free(struct cw_fhirpath_expr *e);

/* The source text (borrowed from the expression). */
cw_slice cw_fhirpath_source(const struct cw_fhirpath_expr *e);

/* ==== evaluating ==== */

/* Evaluation limits; zero fields take the defaults given. */
struct cw_fhirpath_limits {
    size_t max_items;   /* items in any one collection (0 = 1,000,000) */
    uint64_t max_steps; /* work units: nodes visited + items produced
                           (0 = 50,000,000) */
    unsigned max_depth; /* nested evaluation depth, e.g. recursion through
                           repeat()/descendants()/aggregate() (0 = 512) */
    size_t max_string;  /* bytes of any string produced (0 = 16 MiB) */
};

/* A named environment variable (%name): a collection of values. */
struct cw_fhirpath_var {
    cw_slice name; /* without '%' ("patient", "vs-foo") */
    struct cw_fhirpath_coll value;
};

/*
 * resolve(): find the resource a reference points to. Called with the
 * reference text ("Patient/123", "urn:uuid:...", a canonical URL) when it
 * was not found in the evaluated resource itself (contained resources,
 * "#id", Bundle entries by fullUrl or Type/id). Return the resource's JSON
 * (borrowed; must outlive the evaluation) or NULL when unknown.
 */
typedef const struct cw_json *(*cw_fhirpath_resolve_fn)(cw_slice reference, void *ctx);

/*
 * conformsTo(url): does the resource or element conform to the profile?
 * Return 1 yes, 0 no, -1 error (err filled: e.g. unknown profile). When no
 * callback is set the engine answers for the core resource and type
 * definitions (and the registry's profiles' base types, see fhirpath.md),
 * and reports other URLs as errors.
 */
typedef int (*cw_fhirpath_conforms_fn)(const struct cw_fhirpath_value *item, cw_slice url,
                                       void *ctx, struct cw_err *err);

/*
 * trace(name [, projection]): called for each trace() with the name and the
 * collection (or the projection). Default: nothing is written (traces carry
 * data values, which must not reach logs; see STYLE.md).
 */
typedef void (*cw_fhirpath_trace_fn)(cw_slice name, struct cw_fhirpath_coll items, void *ctx);

/* Evaluation environment; a zeroed struct (or NULL) gives the defaults. */
struct cw_fhirpath_env {
    const struct cw_fhirpath_var *vars; /* user variables, looked up by name */
    size_t n_vars;
    const struct cw_fhir_registry *registry; /* profiles for conformsTo/%ext-, or NULL */
    cw_fhirpath_resolve_fn resolve;
    void *resolve_ctx;
    cw_fhirpath_conforms_fn conforms;
    void *conforms_ctx;
    cw_fhirpath_trace_fn trace;
    void *trace_ctx;
    struct cw_fhirpath_limits limits;
    int64_t now_us;     /* now()/today()/timeOfDay() at this instant (µs since
                           the epoch); 0 = the clock, read once per evaluation */
    int tz_offset_min;  /* the local offset for now()/today(), minutes east
                           of UTC */
    bool tz_offset_set; /* false: the process's local time zone */
    bool as_filters;    /* `as` on several items filters them like ofType()
                           instead of failing (HAPI's R4 behaviour, which
                           the R4 invariant dom-3 relies on); default off:
                           FHIRPath N1 requires a singleton */
    bool primitive_is_system; /* `x is T` / `x as T` with a System type T
                                 (Boolean, String, ...) also match a FHIR
                                 primitive that converts to T (HAPI's R4
                                 behaviour; the R4 invariant que-7 writes
                                 `answer is Boolean`); default off */
};

/*
 * Evaluate e with the resource as %context, %resource, %rootResource and
 * $this. resource must be a JSON object; when its resourceType is not a
 * known R4 resource the object is navigated as untyped JSON. *out receives
 * the result collection (in arena a). Returns 0, or -1 with err.
 */
int cw_fhirpath_eval(struct cw_arena *a, const struct cw_fhirpath_expr *e,
                     const struct cw_fhirpath_env *env, const struct cw_json *resource,
                     struct cw_fhirpath_coll *out, struct cw_err *err);

/*
 * Evaluate e with an element of a resource as %context and $this (for
 * invariants: the constraint's element). node and its parent chain are
 * borrowed (cw_fhir_walk's nodes qualify); %resource is the nearest
 * resource up the chain and %rootResource its container.
 */
int cw_fhirpath_eval_node(struct cw_arena *a, const struct cw_fhirpath_expr *e,
                          const struct cw_fhirpath_env *env, const struct cw_fhir_node *node,
                          struct cw_fhirpath_coll *out, struct cw_err *err);

/*
 * Evaluate e with an arbitrary collection as %context and $this (literals,
 * values from another evaluation). %resource is unset.
 */
int cw_fhirpath_eval_coll(struct cw_arena *a, const struct cw_fhirpath_expr *e,
                          const struct cw_fhirpath_env *env, struct cw_fhirpath_coll context,
                          struct cw_fhirpath_coll *out, struct cw_err *err);

/*
 * The collection as a Boolean per FHIRPath "Singleton Evaluation of
 * Collections" (N1 §4.5), for callers that test invariants: returns 1 for
 * {true}, 0 for {false}, 2 for the empty collection (unknown), 1 for a
 * single item that is not a Boolean, and -1 with err for several items.
 */
int cw_fhirpath_truth(struct cw_fhirpath_coll c, struct cw_err *err);

/* ==== reading results ==== */

/*
 * The item as FHIRPath toString() text appended to b: numbers and dates in
 * their canonical form, quantities as "1.5 'mg'", booleans "true"/"false",
 * primitive nodes as their value; complex nodes give -1 (no string form).
 * Returns 0 or -1.
 */
int cw_fhirpath_value_text(const struct cw_fhirpath_value *v, struct cw_buf *b);

/* The type name of an item: "System.Integer", "FHIR.Patient", "FHIR.string". */
int cw_fhirpath_value_type(const struct cw_fhirpath_value *v, struct cw_buf *b);

/* cw_fhirpath_write_json flags */
#define CW_FHIRPATH_JSON_TYPES 0x01u /* each item as {"type": "...", "value": ...} */

/*
 * Write the collection as a JSON array (docs/internals/fhirpath.md,
 * "Output"): nodes as their JSON (a primitive with only extensions as its
 * "_x" object), Boolean/Integer/Decimal as JSON literals (decimals keep
 * their digits), String as a string, Date/DateTime/Time as "@..." strings
 * and Quantity as "v 'unit'" strings (the FHIRPath literal forms), types as
 * "Namespace.Name". indent as for cw_json_write. Returns 0 or -1 (buffer).
 */
int cw_fhirpath_write_json(struct cw_buf *b, struct cw_fhirpath_coll c, unsigned flags, int indent);

/* ==== UCUM units (for quantity search) ==== */

/*
 * The canonical form of a UCUM unit code, as the engine's quantity
 * comparison uses it (fhirpath_ucum.c: base units m, s, g, rad, K, C, cd
 * and the unit table there): *factor is the unit's magnitude in base units
 * (value * factor = the value in base units) and key (cap bytes, NUL
 * terminated) receives "ucum:" followed by the dimension signature, e.g.
 * "ucum:g" for mg, kg and [lb_av], "ucum:m-3.g" for g/L. Two units are
 * commensurable exactly when their keys are equal. Returns 0, or -1 when
 * the unit is not known, is a special scale (Cel, [degF], [pH]) or an
 * arbitrary unit ([iU]), or key is too small. Pure; thread-safe.
 */
int cw_fhirpath_ucum_canonical(cw_slice code, double *factor, char *key, size_t cap);

#endif
