/*
 * search.h — FHIR R4 search: the index rows a resource produces, and the
 * store plan a search URL asks for.
 *
 * Two halves, both driven by the SearchParameter definitions compiled into
 * src/fhir (cw_fhir_sp_*):
 *
 *  1. Indexing (write time). cw_search_index evaluates the FHIRPath
 *     expression of every SearchParameter of a resource's type and turns
 *     the values into the store's index rows (struct cw_store_index_row):
 *     HumanName/Address/string -> string rows; code/Coding/CodeableConcept/
 *     Identifier/ContactPoint/boolean -> token rows; date/dateTime/instant/
 *     Period/Timing -> date ranges; Quantity/Money/Age/... -> quantity rows;
 *     integer/decimal -> number rows; Reference/canonical -> reference rows
 *     (relative, absolute, contained); uri -> uri rows; composites as
 *     component rows sharing a group. Three kinds of rows are ours, not the
 *     definitions' (their codes cannot clash with a SearchParameter code):
 *       "<code>:identifier"  token rows of Reference.identifier, for the
 *                            reference modifier :identifier;
 *       "<code>:of-type"     token rows of an Identifier with a type, system
 *                            "<type system>|<type code>" and code the value,
 *                            for the token modifier :of-type;
 *       "_compartment"       reference rows naming every compartment
 *                            (Patient/123, Encounter/9, ...) the resource is
 *                            in, per the R4 CompartmentDefinitions, for
 *                            compartment search (Patient/123/Observation).
 *     The expressions are compiled once per resource type (lazily, thread
 *     safe) and shared by all threads.
 *
 *  2. Parsing (read time). cw_search_parse turns the parameters of a search
 *     (GET query string or POST _search form body, already split and
 *     URL-decoded) into a struct cw_store_plan: parameter types, modifiers,
 *     prefixes, chains (any depth up to CW_STORE_MAX_CHAIN_DEPTH), _has,
 *     composites, _sort, _count, _total, _include/_revinclude (:iterate),
 *     and the result parameters the REST layer applies (_summary,
 *     _elements, _format, _pretty). Unknown parameters are an error with
 *     CW_SEARCH_STRICT and are skipped and listed with CW_SEARCH_LENIENT
 *     (FHIR R4 search.html#errors, http.html#Prefer "handling"). Unknown or
 *     unsupported modifiers, bad prefixes and malformed values are always
 *     errors (400): ignoring them would change what matches.
 *
 * Spec: FHIR R4 search.html (#ptypes, #modifiers, #prefix, #chaining, #has,
 * #composite, #_sort, #count, #total, #include, #revinclude, #summary,
 * #elements, #compartments, #errors), searchparameter.html,
 * compartmentdefinition.html.
 *
 * Memory: everything returned lives in the arena passed first; the plan
 * borrows the pairs' bytes. Errors carry the parameter name in location and
 * never a value (values may be patient data).
 *
 * Thread safety: all functions may be called from any thread; the compiled
 * expression tables are built once (pthread_once per type) and read-only
 * afterwards.
 */
#ifndef CW_SEARCH_SEARCH_H
#define CW_SEARCH_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/slice.h"
#include "fhir/fhir.h"
#include "json/json.h"
#include "store/store.h"

/* ==== indexing ==== */

#define CW_SEARCH_DEFAULT_MAX_ROWS 20000 /* index rows per resource */
#define CW_SEARCH_MAX_TEXT 1000          /* bytes kept of an indexed text value */

/* Options for cw_search_index; zero means the defaults. */
struct cw_search_index_opts {
    size_t max_rows;             /* more rows than this: "too-costly" */
    const cw_slice *local_bases; /* absolute references starting with one of these
                                    (e.g. "http://host:8080/fhir") followed by '/' are
                                    indexed as the relative reference after it */
    size_t n_local_bases;
};

/*
 * The index rows of a resource (a JSON object with resourceType). *rows is
 * in a (NULL when there are none). Values that are not indexable (a date
 * that does not parse, a reference without a target) are skipped, not
 * errors: the validator is the place to reject them. Text values longer
 * than CW_SEARCH_MAX_TEXT bytes are cut (at a UTF-8 boundary), so :exact on
 * such values compares the first bytes only. Fails "not-supported" for an
 * unknown resource type, "too-costly" past max_rows or the arena ceiling,
 * "exception" when the FHIRPath engine is not part of the build.
 */
int cw_search_index(struct cw_arena *a, const struct cw_json *resource,
                    const struct cw_search_index_opts *opts, struct cw_store_index_row **rows,
                    size_t *nrows, struct cw_err *err);

/* ==== parsing ==== */

/* One name=value pair of a query string or form body, URL-decoded. */
struct cw_search_pair {
    cw_slice key;
    cw_slice value;
};

#define CW_SEARCH_MAX_PAIRS 256
#define CW_SEARCH_MAX_QUERY ((size_t)64 << 10)

/*
 * Split application/x-www-form-urlencoded text ("a=1&b=%7C2") into pairs,
 * percent-decoding keys and values ('+' is a space). Empty segments are
 * skipped; a pair without '=' has an empty value. Fails "invalid" on bad
 * percent escapes or decoded NUL bytes, "too-costly" past max_pairs (0 =
 * CW_SEARCH_MAX_PAIRS) or CW_SEARCH_MAX_QUERY bytes.
 */
int cw_search_split_query(struct cw_arena *a, cw_slice text, size_t max_pairs,
                          struct cw_search_pair **pairs, size_t *n, struct cw_err *err);

/* Percent-encode s for a query string value (unreserved characters kept). */
int cw_search_encode(struct cw_buf *out, cw_slice s);

enum cw_search_handling {
    CW_SEARCH_LENIENT = 0, /* unknown parameters are ignored and reported */
    CW_SEARCH_STRICT,      /* unknown parameters are an error */
};

/* _summary (search.html#summary). */
enum cw_search_summary {
    CW_SUMMARY_NONE = 0, /* not given */
    CW_SUMMARY_TRUE,
    CW_SUMMARY_TEXT,
    CW_SUMMARY_DATA,
    CW_SUMMARY_COUNT,
    CW_SUMMARY_FALSE,
};

struct cw_search_opts {
    enum cw_search_handling handling;
    unsigned default_count; /* page size when _count is absent (0 = 20) */
    unsigned max_count;     /* _count is clamped to this (0 = CW_STORE_DEFAULT_MAX_PAGE) */
};

/* A parameter that was not used (lenient handling), and why. */
struct cw_search_ignored {
    cw_slice key;    /* as given ("foo", "name:bogus") */
    const char *why; /* static text, no values */
};

/* The result of parsing: the store plan plus what the REST layer applies. */
struct cw_search {
    struct cw_store_plan plan;       /* plan.cursor is left empty (see cursor) */
    enum cw_search_summary summary;
    const cw_slice *elements;        /* _elements (names), or NULL */
    size_t n_elements;
    cw_slice format;                 /* _format as given, "" if absent */
    int pretty;                      /* _pretty: -1 absent, 0 false, 1 true */
    cw_slice cursor;                 /* _cursor as given (paging), "" if absent */
    const struct cw_search_ignored *ignored;
    size_t n_ignored;
    /* The pairs that were used, in their original order, for self links
       (without _cursor and the ignored ones). */
    const struct cw_search_pair *used;
    size_t n_used;
};

/*
 * Parse the parameters of a search on resource type 'type' into *out.
 * compartment (may be NULL or have an empty type) restricts the search to a
 * compartment: {"Patient", "123"} for GET Patient/123/Observation. Fails
 * "invalid" (400) with the parameter name in err->location for unknown
 * parameters in strict mode, unknown/unsupported modifiers, bad prefixes,
 * malformed values, bad _sort/_include/_count/_total/_summary; "not-found"
 * for an unknown resource type; "too-costly" past the store's limits.
 */
struct cw_search_compartment {
    cw_slice type; /* "Patient" */
    cw_slice id;   /* "123" */
};
int cw_search_parse(struct cw_arena *a, cw_slice type, const struct cw_search_pair *pairs,
                    size_t n, const struct cw_search_compartment *compartment,
                    const struct cw_search_opts *opts, struct cw_search *out, struct cw_err *err);

/*
 * Map a SearchParameter type to the store's (CW_SP_NONE for special).
 */
enum cw_store_ptype cw_search_ptype(enum cw_fhir_sp_type t);

#endif
