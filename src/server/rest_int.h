/*
 * rest_int.h — the FHIR REST service inside src/server (shared by the
 * rest_*.c files and http.c; not a public header).
 *
 * The service is transport-free: http.c turns an MHD request into a struct
 * rest_req (method, path below the FHIR base, raw query, headers, body,
 * arena) and sends back the struct rest_resp that cw_rest_handle fills.
 * That keeps every FHIR rule in one place and testable without sockets.
 *
 * Files:
 *   rest.c           routing; read, vread, create, update, delete (plain and
 *                    conditional); ETag / If-Match / If-None-Match /
 *                    If-Modified-Since / If-None-Exist; Prefer
 *   rest_search.c    search and history Bundles, paging cursors
 *   rest_bundle.c    batch and transaction
 *   rest_patch.c     JSON Patch and FHIRPath Patch
 *   rest_format.c    content negotiation, _format, _pretty, _summary,
 *                    _elements, the XML switch, OperationOutcomes
 *   rest_meta.c      the CapabilityStatement (generated from what is here)
 *   rest_validate.c  structural validation of resources on write
 *
 * Thread safety: one struct cw_rest serves all MHD threads; each request
 * has its own arena; shared state (cursor table) is locked.
 */
#ifndef CW_SERVER_REST_INT_H
#define CW_SERVER_REST_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/slice.h"
#include "json/json.h"
#include "search/search.h"
#include "store/store.h"

#define REST_MAX_ISSUES 32
#define REST_MAX_BUNDLE_ENTRIES 10000
#define REST_CURSOR_SLOTS 4096
#define REST_CURSOR_TTL_US ((int64_t)30 * 60 * 1000000) /* 30 minutes */

struct cw_rest_opts {
    bool validate;          /* structural validation of every resource written */
    bool validate_full;     /* with validate: the full validator (bindings, invariants, profiles) */
    size_t max_resource;    /* largest resource / body accepted (bytes) */
    unsigned default_count; /* search page size without _count */
    unsigned max_count;     /* _count ceiling */
    size_t arena_limit;     /* per-request arena ceiling */
};

/* Server-side paging handles for sorted searches (their cursors carry
   sort values, which are patient data: they never go into a link). */
struct rest_cursor_slot {
    uint8_t token[16];
    int64_t expires;
    char *cursor; /* malloc'ed */
};

struct cw_rest {
    struct cw_store *store;
    struct cw_rest_opts o;
    char *capability;        /* CapabilityStatement JSON, built on first use */
    size_t capability_len;
    pthread_mutex_t cap_mu;
    pthread_mutex_t cursor_mu;
    struct rest_cursor_slot cursors[REST_CURSOR_SLOTS];
};

/* ---- requests and responses ---- */

typedef cw_slice (*rest_header_fn)(void *ctx, const char *name);

struct rest_req {
    struct cw_arena *a;
    const char *method; /* "GET", "POST", ... */
    cw_slice path;      /* below the FHIR base: "", "/", "/Patient/1", "/metadata" */
    cw_slice query;     /* raw query string (percent-encoded), without '?' */
    cw_slice body;
    rest_header_fn header; /* header by name (case-insensitive), {NULL,0} if absent */
    void *hctx;
    cw_slice base; /* absolute base URL for links: "http://host:8080/fhir" */
};

struct rest_resp {
    int status;
    struct cw_buf body;       /* owned; cw_buf_release after sending */
    const char *content_type; /* static; NULL when there is no body */
    char location[600];       /* "" when absent */
    char content_location[600];
    char etag[48];
    char last_modified[40];
};

/* ---- rest.c ---- */

int cw_rest_new(struct cw_store *store, const struct cw_rest_opts *o, struct cw_rest **out,
                struct cw_err *err);
void cw_rest_free(struct cw_rest *r);

/* Handle one request; out is initialized here (release out->body after). */
void cw_rest_handle(struct cw_rest *r, const struct rest_req *q, struct rest_resp *out);

/* ---- rest_format.c ---- */

enum rest_fmt { REST_FMT_JSON = 0, REST_FMT_XML };

/* How to write resources in this response. */
struct rest_out {
    enum rest_fmt fmt;
    int indent;                   /* 0 compact; 2 with _pretty=true */
    enum cw_search_summary summary;
    const cw_slice *elements;
    size_t n_elements;
};

/* Prefer header (http.html#ops). */
enum rest_return { REST_RETURN_DEFAULT = 0, REST_RETURN_MINIMAL, REST_RETURN_REPRESENTATION, REST_RETURN_OUTCOME };
struct rest_prefer {
    enum rest_return ret;
    enum cw_search_handling handling;
    bool handling_set;
};

/* The request's query split into pairs (decoded); errors are 400. */
struct rest_query {
    struct cw_search_pair *pairs;
    size_t n;
};

int rest_split_query(const struct rest_req *q, struct rest_query *out, struct cw_err *err);

/* _format / Accept, _pretty, _summary, _elements for a non-search response.
   Fails 406 (not-supported with http_status) for formats we cannot write. */
int rest_negotiate(const struct rest_req *q, const struct rest_query *qs, struct rest_out *out,
                   struct cw_err *err);

/* The format of a request body from Content-Type (415 when unusable). */
int rest_body_format(const struct rest_req *q, enum rest_fmt *fmt, struct cw_err *err);

void rest_prefer_parse(const struct rest_req *q, struct rest_prefer *p);

/* Parse a request body (JSON or XML) into a resource tree; 400 on errors. */
int rest_parse_body(const struct rest_req *q, size_t max, struct cw_json **out, struct cw_err *err);

/* Append one resource given as stored JSON text, shaped by o. */
int rest_write_resource_text(struct cw_arena *a, const struct rest_out *o, cw_slice json,
                             struct cw_buf *b, struct cw_err *err);

/* Append one resource tree (JSON or XML per o; _summary/_elements applied). */
int rest_write_resource_tree(struct cw_arena *a, const struct rest_out *o, struct cw_json *res,
                             struct cw_buf *b, struct cw_err *err);

/* Apply _summary / _elements to a parsed resource (in place, in a). */
int rest_shape(struct cw_arena *a, struct cw_json *res, enum cw_search_summary summary,
               const cw_slice *elements, size_t n_elements, struct cw_err *err);

/* Finish a JSON body for o: as is (JSON, compact), pretty, or as XML. */
int rest_finish_body(struct cw_arena *a, const struct rest_out *o, struct cw_buf *json,
                     struct rest_resp *resp, struct cw_err *err);

/* Content-Type for o. */
const char *rest_content_type(const struct rest_out *o);

/* The OperationOutcome for err (and its status) into resp. */
void rest_error(const struct rest_out *o, const struct cw_err *err, struct rest_resp *resp);

/* OperationOutcome JSON with one issue per error (several: validation). */
void rest_outcome_json(struct cw_buf *b, const struct cw_err *errs, size_t n);

/* HTTP date (RFC 7231 IMF-fixdate) of microseconds since 1970. */
void rest_http_date(int64_t us, char *out, size_t cap);

/* Parse an HTTP date; -1 when it is not one. */
int rest_parse_http_date(cw_slice s, int64_t *us);

/* ---- rest_validate.c ---- */

/*
 * Structural validation of a resource against the R4 base definitions:
 * known elements, JSON shapes, primitive values, cardinalities, resource
 * id. Up to max issues are written to issues; returns their number (0 =
 * valid). Only errors count; warnings are not reported.
 */
size_t rest_validate(const struct cw_json *resource, struct cw_err *issues, size_t max);

/*
 * Full validation (src/fhir/fhir_validate.h, core definitions and the
 * profiles of the core package named in meta.profile): structure,
 * required bindings, every invariant, reference target types. Writes up to
 * max error/fatal issues (warnings and information are not reported) and
 * returns their number, or -1 with err when the validator could not run.
 */
long rest_validate_full(struct cw_arena *a, const struct cw_json *resource, struct cw_err *issues,
                        size_t max, struct cw_err *err);

/* ---- rest_search.c ---- */

/* GET [type] / POST [type]/_search / GET [Comp]/[id]/[type]. t: run inside
   this transaction (bundles) instead of a read transaction of its own. */
void rest_search(struct cw_rest *r, const struct rest_req *q, struct cw_store_txn *t, cw_slice type,
                 const struct cw_search_pair *pairs, size_t n,
                 const struct cw_search_compartment *comp, struct rest_resp *resp);

/* History: type "" = system, id "" = type level. */
void rest_history(struct cw_rest *r, const struct rest_req *q, cw_slice type, cw_slice id,
                  const struct rest_query *qs, struct rest_resp *resp);

/* Run a plan in t (conditional operations): the ids of at most max matches
   into ids (in a); *n the number found (max + 1 means "more than max"). */
int rest_match(struct cw_arena *a, struct cw_store_txn *t, cw_slice type, cw_slice query,
               size_t max, cw_slice *ids, size_t *n, struct cw_err *err);

/* Store a sorted-search cursor; the handle text ("h" + 32 hex) into out. */
int rest_cursor_put(struct cw_rest *r, cw_slice cursor, char out[40]);
/* The cursor of a handle (copied into a); -1 when unknown or expired. */
int rest_cursor_get(struct cw_rest *r, struct cw_arena *a, cw_slice handle, cw_slice *cursor);

/* ---- rest.c: writes shared with bundles ---- */

/* Validation issues of a refused write (422), for the OperationOutcome. */
struct rest_issues {
    struct cw_err e[REST_MAX_ISSUES];
    size_t n;
};

/* Index options for this request (its base counts as local). */
struct cw_search_index_opts rest_index_opts(const struct rest_req *q);

/*
 * Create or update one resource inside t: validation, stage, meta, index
 * rows, put. w->type must equal resourceType (checked); for updates the
 * resource's id must equal w->id. *out (may be NULL) describes the stored
 * version; out->json holds the stored text. *unchanged (may be NULL) tells
 * whether the update was a no-op (content equal to the current version,
 * which *out then describes; cw_store_put).
 */
int rest_write(struct cw_rest *r, const struct rest_req *q, struct cw_store_txn *t,
               const struct cw_store_write *w, struct cw_json *res, struct cw_store_resource *out,
               bool *unchanged, struct rest_issues *iss, struct cw_err *err);

/* Checks of a write before staging: resourceType equals w->type; updates
   carry the URL's id. */
int rest_check_write(const struct cw_store_write *w, const struct cw_json *res, struct cw_err *err);

/* The second half of a write after cw_store_stage: validation, index rows,
   meta, serialization, put (a no-op update sets tk->unchanged and *out
   describes the current version). */
int rest_put_staged(struct cw_rest *r, const struct rest_req *q, struct cw_store_txn *t,
                    struct cw_store_ticket *tk, struct cw_json *res,
                    struct cw_store_resource *out, struct rest_issues *iss, struct cw_err *err);

/* A valid FHIR id: [A-Za-z0-9-.]{1,64}. */
bool rest_valid_id(cw_slice id);

/* A resource type this server serves (a concrete R4 resource), else none. */
bool rest_known_type(cw_slice type);

/* ---- rest_patch.c ---- */

/* Apply a JSON Patch document (RFC 6902) to res in place. 400/422 on errors. */
int rest_json_patch(struct cw_arena *a, struct cw_json *res, const struct cw_json *patch,
                    struct cw_err *err);

/* Apply a FHIRPath Patch (a Parameters resource, fhirpatch.html). */
int rest_fhirpath_patch(struct cw_arena *a, struct cw_json *res, const struct cw_json *params,
                        struct cw_err *err);

/* ---- rest_bundle.c ---- */

void rest_bundle(struct cw_rest *r, const struct rest_req *q, struct rest_resp *resp);

/*
 * Apply a transaction Bundle (parsed; resources are rewritten in place)
 * inside the caller's store transaction t, with the same rules as POST of
 * a transaction: checks, processing order, urn:uuid/fullUrl rewriting,
 * conditional entries (t should then be CW_STORE_SERIALIZABLE), validation
 * on write. Several bundles may share one t (the ingest pipeline's group
 * commit). *written (may be NULL) = resources created or updated. On -1
 * (err located at Bundle.entry[i]) t must be rolled back.
 */
int rest_transaction_in(struct cw_rest *r, const struct rest_req *q, struct cw_store_txn *t,
                        struct cw_json *bundle, uint32_t *written, struct cw_err *err);

/* ---- rest_meta.c ---- */

int rest_capability_build(struct cw_rest *r, struct cw_err *err);

/* The CapabilityStatement text (built once, on the first call; thread-safe). */
int rest_capability(struct cw_rest *r, cw_slice *out, struct cw_err *err);

#endif
