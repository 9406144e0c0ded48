/*
 * search_int.h — what the files of src/search share.
 *
 *  - search_fhirpath.c: the one adapter to the FHIRPath engine (compile an
 *    expression once, evaluate it on a resource or on a value) whose results
 *    come back as struct search_value items;
 *  - search_value.c: one value -> index rows, by SearchParameter type and
 *    the value's FHIR type (tested directly on typed nodes);
 *  - search_index.c: the per-type tables of compiled SearchParameters, the
 *    extraction loop, compartments;
 *  - search_parse.c: URL parameters -> store plan.
 */
#ifndef CW_SEARCH_SEARCH_INT_H
#define CW_SEARCH_SEARCH_INT_H

#include "search/search.h"

/* ---- values ---- */

enum sv_kind {
    SV_NODE = 1, /* an element of the resource with its FHIR type */
    SV_BOOLEAN,  /* FHIRPath System values: text holds the canonical form */
    SV_STRING,
    SV_INTEGER,
    SV_DECIMAL,
    SV_DATE,
    SV_DATETIME,
    SV_TIME,
    SV_QUANTITY, /* text = value, unit = unit */
};

struct search_value {
    enum sv_kind kind;
    struct cw_fhir_sd type;          /* SV_NODE: HumanName, dateTime, Reference, ... */
    const struct cw_json *json;      /* SV_NODE: the object or scalar (NULL: a primitive
                                        with only extensions) */
    cw_slice text;                   /* System values */
    cw_slice unit;                   /* SV_QUANTITY */
    const struct cw_fhir_node *node; /* SV_NODE: the node, for composite components;
                                        NULL when made by hand (tests) */
};

/* ---- the FHIRPath adapter (search_fhirpath.c) ---- */

struct search_expr;

/* Compile text for evaluation on resources of type root (or none for a
   relative expression). -1 with err on syntax errors or without the engine. */
int search_fp_compile(cw_slice text, struct cw_fhir_sd root, struct search_expr **out,
                      struct cw_err *err);
void search_fp_free(struct search_expr *e);

/*
 * Evaluate e on resource (context NULL) or on the node of context (a value
 * from an earlier evaluation: composite components). *items in a.
 * References are resolved to stub resources ({resourceType, id}) made from
 * the reference text, so `where(resolve() is Patient)` works without a
 * database.
 */
int search_fp_eval(struct cw_arena *a, const struct search_expr *e, const struct cw_json *resource,
                   const struct search_value *context, struct search_value **items, size_t *n,
                   struct cw_err *err);

/* ---- tables (search_index.c) ---- */

/* Build the table of type t: the number of its parameters whose expressions
   did not compile (SIZE_MAX on failure); *nparams the number compiled. */
size_t search_index_uncompiled(struct cw_fhir_sd t, size_t *nparams);

/* ---- rows (search_value.c) ---- */

struct search_rows {
    struct cw_arena *a;
    struct cw_store_index_row *v;
    size_t n, cap, max;
    const struct cw_json *resource; /* contained resources for "#id" references */
    const cw_slice *local_bases;
    size_t n_local_bases;
    uint32_t next_group;
    struct cw_err *err;
};

void search_rows_init(struct search_rows *r, struct cw_arena *a, const struct cw_json *resource,
                      const struct cw_search_index_opts *opts, struct cw_err *err);

/* A new empty row (zeroed, param/type set); NULL with r->err on a limit. */
struct cw_store_index_row *search_rows_push(struct search_rows *r, cw_slice param,
                                            enum cw_store_ptype type);

/*
 * The rows of one value of parameter code with type t. comp/group are set
 * on every row made (composites). Values that give nothing are skipped.
 * Returns the number of rows added, or -1 with r->err.
 */
int search_rows_add_value(struct search_rows *r, cw_slice code, enum cw_store_ptype t,
                          uint16_t comp, uint32_t group, const struct search_value *v);

/*
 * Parse reference text into (type, id, version) or url, as index rows and
 * search values see it: "Patient/1", "Patient/1/_history/2", "#c1" (type of
 * the contained resource), absolute URLs (local bases stripped), urn:uuid:.
 */
struct search_ref {
    cw_slice type, id, version, url;
};
void search_ref_parse(const struct search_rows *r, cw_slice text, struct search_ref *out);

/* Text cut to CW_SEARCH_MAX_TEXT bytes at a UTF-8 boundary. */
cw_slice search_cut(cw_slice s);

/* A value made by hand from JSON (tests): type by name. */
struct search_value search_value_json(const char *type, const struct cw_json *json);

#endif
