/*
 * store.h — Causeway's resource store: one interface, two backends.
 *
 * A store is opened from a URL:
 *   sqlite:PATH                 embedded SQLite (WAL, synchronous=NORMAL), the default
 *   postgres://... postgresql://...   PostgreSQL through libpq (a connection pool)
 * and hides its backend behind an ops table (store_int.h); nothing outside
 * src/store includes a backend header.
 *
 * Model (docs/internals/store.md has the schema):
 *  - A resource is (type, id); every write makes a new version 1, 2, 3...
 *    and history keeps every version. A version row carries last-updated
 *    (microseconds since 1970 UTC), a deleted flag and the JSON text exactly
 *    as it will be served (meta.versionId / meta.lastUpdated already filled:
 *    see cw_store_stage + cw_store_meta_fill, or cw_store_write_tree).
 *  - The search index is a set of rows per current version (string, token,
 *    date, reference, quantity, number, uri; a composite as its components)
 *    that the caller extracts and hands over with each write; the store
 *    replaces the previous version's rows in the same transaction. Deleted
 *    resources have no index rows.
 *  - A search plan (struct cw_store_plan) is compiled into parameterized SQL
 *    over the index tables; the same plan runs on both backends.
 *  - Jobs (deliveries, exports, reprocessing) are rows claimed with a lease.
 *
 * Transactions: every operation runs inside an explicit transaction
 * (cw_store_begin ... cw_store_commit / cw_store_rollback), one per request,
 * bundle or message batch; a transaction is atomic. Isolation:
 *  - SQLite: one writer connection; write transactions run one at a time
 *    (serializable). Concurrent committers are grouped into one SQLite
 *    commit (group commit); each member is a SAVEPOINT, so a member that
 *    rolls back undoes only its own work; cw_store_commit returns only when
 *    the group's commit is durable (or failed, for every member). Read
 *    transactions use their own connections and see a snapshot taken at
 *    their first read.
 *  - PostgreSQL: write transactions are READ COMMITTED with row locks on the
 *    current-version row (SELECT ... FOR UPDATE), so concurrent updates of one
 *    resource serialize and If-Match conflicts are detected; read
 *    transactions are REPEATABLE READ READ ONLY (one snapshot for a search
 *    and its includes); CW_STORE_SERIALIZABLE asks for SERIALIZABLE (for
 *    conditional creates) and serialization failures come back "transient".
 *
 * Errors (struct cw_err): not-found (404), deleted (410), conflict (409:
 * If-Match mismatch, a concurrent create of the same id, a lost job lease),
 * too-long (413: resource over the size limit), invalid (400: bad type, id,
 * plan or search value), not-supported (a modifier we do not implement),
 * transient (retry: serialization failure, deadlock, pool exhausted),
 * timeout (statement timeout), exception (anything else from the database).
 * Messages name codes, ids and parameters, never resource content.
 *
 * Memory: results are allocated in the arena passed first; the store keeps
 * nothing pointing into caller memory after a call returns (writes are
 * copied into the transaction).
 *
 * Thread safety: a struct cw_store is shared by all threads; a transaction
 * belongs to one thread at a time.
 */
#ifndef CW_STORE_STORE_H
#define CW_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/slice.h"
#include "json/json.h"

struct cw_store;
struct cw_store_txn;

/* ---- limits and options ---- */

#define CW_STORE_DEFAULT_MAX_RESOURCE ((size_t)16 << 20) /* 16 MiB of JSON text */
#define CW_STORE_DEFAULT_MAX_PAGE 1000                   /* rows per search/history page */
#define CW_STORE_DEFAULT_MAX_INCLUDE 5000                /* _include rows per page */
#define CW_STORE_DEFAULT_MAX_INDEX_ROWS 100000           /* index rows per resource */
#define CW_STORE_DEFAULT_CONNECTIONS 8                   /* readers (SQLite), pool (PG) */
#define CW_STORE_DEFAULT_STATEMENT_TIMEOUT_MS 30000
#define CW_STORE_DEFAULT_WAIT_MS 30000 /* waiting for a connection / the writer */
#define CW_STORE_DEFAULT_GROUP_MAX 64  /* transactions per SQLite group commit */
#define CW_STORE_MAX_ID 64             /* FHIR id: [A-Za-z0-9-.]{1,64} */
#define CW_STORE_MAX_TYPE 64
#define CW_STORE_MAX_CHAIN_DEPTH 8     /* nested chains / _has */
#define CW_STORE_MAX_INCLUDE_ITERATIONS 4

/* Zero-initialized options mean the defaults above. */
struct cw_store_opts {
    size_t max_resource;          /* largest JSON text accepted (too-long above) */
    unsigned max_page;            /* _count is clamped to this */
    unsigned max_include;         /* rows added by _include/_revinclude per page */
    size_t max_index_rows;        /* index rows per resource */
    unsigned connections;         /* SQLite: read connections; PG: pool size */
    unsigned statement_timeout_ms;/* PG statement_timeout; SQLite: progress-handler deadline */
    unsigned wait_ms;             /* longest wait for a connection or the writer */
    unsigned group_max;           /* SQLite: most transactions in one group commit (1 = off) */
    bool sync_normal;             /* SQLite: commit without fsync (synchronous=NORMAL): survives a
                                     process crash, not an OS crash or power loss. Default (false):
                                     every group commit is fsync'ed (synchronous=FULL). */
    bool version_unchanged;       /* an update whose content equals the current version's still
                                     makes a new version. Default (false): it is a no-op (see
                                     cw_store_put). */
};

/*
 * Open (and create or migrate) the store named by url. Migrations are applied
 * in order, each in its own transaction, and recorded in schema_version;
 * opening an up-to-date store applies nothing. opts may be NULL.
 * On success *out must be closed with cw_store_close.
 */
int cw_store_open(const char *url, const struct cw_store_opts *opts, struct cw_store **out,
                  struct cw_err *err);

/* Close the store. Every transaction must have ended. NULL is a no-op. */
void cw_store_close(struct cw_store *s);

/* "sqlite" or "postgres". */
const char *cw_store_backend(const struct cw_store *s);

/* The schema version the store is at (the number of applied migrations). */
int cw_store_schema_version(const struct cw_store *s);

/* ---- transactions ---- */

enum cw_store_mode {
    CW_STORE_READ = 0,         /* reads only: own connection, one snapshot */
    CW_STORE_WRITE = 1,        /* reads and writes */
    CW_STORE_SERIALIZABLE = 2, /* write; PG SERIALIZABLE (SQLite writes are serial anyway) */
};

/*
 * Start a transaction. Waits at most opts.wait_ms for a connection (SQLite:
 * for the writer), then fails "transient". *out is valid until
 * cw_store_commit or cw_store_rollback, which free it.
 */
int cw_store_begin(struct cw_store *s, enum cw_store_mode mode, struct cw_store_txn **out,
                   struct cw_err *err);

/*
 * Commit and free t. Returns 0 when everything the transaction did is
 * durable (SQLite: the WAL is fsync'ed at each group commit; with
 * opts.sync_normal only written, which survives a process crash but an OS
 * crash may lose the commits since the last checkpoint; PostgreSQL: as the
 * server's synchronous_commit says, on by default).
 * On -1 nothing of it was committed. After any failed operation inside t
 * commit fails (the transaction is poisoned) and rolls back.
 */
int cw_store_commit(struct cw_store_txn *t, struct cw_err *err);

/* Roll back and free t. NULL is a no-op. */
void cw_store_rollback(struct cw_store_txn *t);

/* The store a transaction belongs to. */
struct cw_store *cw_store_txn_store(struct cw_store_txn *t);

/* ---- resources ---- */

/* What identifies one version, and what it says about it. */
struct cw_store_meta {
    cw_slice type;
    cw_slice id;
    long long version;        /* 1, 2, ... */
    int64_t last_updated;     /* microseconds since 1970-01-01T00:00:00Z */
    bool deleted;             /* this version is a deletion (no JSON) */
};

/* One stored version (json is empty for deletions). */
struct cw_store_resource {
    struct cw_store_meta meta;
    cw_slice json;
};

/*
 * A write (create or update) happens in two steps so the caller can put the
 * final meta into the JSON before it is stored:
 *   cw_store_stage   assigns id (create), version and last-updated and checks
 *                    If-Match; fills a ticket;
 *   (caller)         cw_store_meta_fill + serialize, extract index rows;
 *   cw_store_put     stores the JSON and the index rows for the ticket.
 * cw_store_write_tree does all three for a parsed tree.
 */
enum cw_store_op {
    CW_STORE_CREATE = 1, /* new resource; the server assigns the id (cw_store_new_id) */
    CW_STORE_UPDATE,     /* PUT Type/id: new version; creates it when absent unless no_create */
};

struct cw_store_write {
    enum cw_store_op op;
    cw_slice type;         /* resource type, [A-Z][A-Za-z]{0,63} */
    cw_slice id;           /* UPDATE: the id; CREATE: ignored (the id is assigned) */
    long long if_match;    /* UPDATE: expected current version, 0 = any (FHIR If-Match) */
    bool no_create;        /* UPDATE: not-found instead of create-on-update */
};

/* The result of cw_store_stage, for cw_store_put (which may update it: unchanged). */
struct cw_store_ticket {
    struct cw_store_meta meta; /* id, version, last_updated to write into the JSON */
    bool created;              /* version 1 (or a resource re-created after a delete: false) */
    bool unchanged;            /* set by cw_store_put: the content equals the current version,
                                  nothing was written and meta now describes that version */
    long long rkey;            /* internal key of the resource (0 = new) */
    uint64_t seq;              /* internal: which stage this ticket belongs to */
};

/*
 * Check and reserve the next version. UPDATE with if_match != current
 * version fails "conflict" (FHIR R4 http.html#concurrency); UPDATE of a
 * deleted resource makes a new live version; UPDATE without no_create of an
 * absent id creates version 1 (http.html#upsert). Ticket strings are in a.
 */
int cw_store_stage(struct cw_arena *a, struct cw_store_txn *t, const struct cw_store_write *w,
                   struct cw_store_ticket *out, struct cw_err *err);

/*
 * Load (and on PostgreSQL lock) the current versions of many resources of
 * one type in one statement, so the stages that follow need no lookup each:
 * for a bundle of n PUTs this saves n - 1 round trips. Ids that are invalid
 * are skipped; at most 1000 per call. Optional: stage works without it.
 */
int cw_store_prefetch(struct cw_store_txn *t, cw_slice type, const cw_slice *ids, size_t n,
                      struct cw_err *err);

/* Search parameter types (FHIR R4 search.html#ptypes). */
enum cw_store_ptype {
    CW_SP_NONE = 0,
    CW_SP_STRING,
    CW_SP_TOKEN,
    CW_SP_DATE,
    CW_SP_REFERENCE,
    CW_SP_QUANTITY,
    CW_SP_NUMBER,
    CW_SP_URI,
    CW_SP_COMPOSITE, /* only in plans: stored as component rows */
};

/*
 * One search index row of a resource version. The FHIRPath extraction fills
 * these from each SearchParameter's expression; a composite parameter is
 * stored as one row per component with the same param, comp = component
 * index (0, 1, ...) and the same nonzero group for the components of one
 * composite value. All slices are copied by cw_store_put.
 */
struct cw_store_index_row {
    cw_slice param;            /* search parameter code: "name", "code", "code-value-quantity" */
    enum cw_store_ptype type;  /* CW_SP_STRING .. CW_SP_URI */
    uint16_t comp;             /* composite component index; 0 otherwise */
    uint32_t group;            /* composite value group; 0 otherwise */
    union {
        struct {
            cw_slice norm;     /* folded text (cw_store_fold); {NULL,0} = fold exact */
            cw_slice exact;    /* the text as in the resource */
        } string;
        struct {
            cw_slice system;   /* "" when absent */
            cw_slice code;     /* "" when absent (text-only CodeableConcept) */
            cw_slice text;     /* display/text for :text; folded by the store */
        } token;
        struct {
            int64_t lo, hi;    /* [lo, hi) in microseconds UTC (cw_store_date_range);
                                  open ends: INT64_MIN / INT64_MAX */
        } date;
        struct {
            cw_slice type;     /* "Patient" for a local reference, else "" */
            cw_slice id;       /* "123" */
            cw_slice version;  /* "2" from Patient/123/_history/2, else "" */
            cw_slice url;      /* absolute or canonical URL as written, else "" */
        } ref;
        struct {
            double value;
            cw_slice system;   /* "" when absent */
            cw_slice code;     /* unit code, "" when absent */
            double canon_value;/* UCUM unit the engine knows: value in base units */
            cw_slice canon_code; /* then "ucum:<dimensions>" (cw_fhirpath_ucum_canonical);
                                    otherwise value and code as given. A UCUM
                                    system|code search compares these. */
        } quantity;
        struct {
            double value;
        } number;
        struct {
            cw_slice uri;
        } uri;
    } v;
};

/*
 * Store the version reserved by tk: json (the resource's full JSON text,
 * meta filled in, at most opts.max_resource bytes) and its index rows
 * (at most opts.max_index_rows), which replace the previous version's rows.
 * Everything is copied; the database sees it at the latest at commit.
 *
 * No-op updates: when the resource exists, is not deleted, json equals its
 * current version apart from meta.versionId and meta.lastUpdated (the two
 * members cw_store_meta_fill writes) and the index rows are the same
 * (compared by a SHA-256 of the text without those two and of the rows,
 * kept with the current version), nothing is written unless
 * opts.version_unchanged: tk->unchanged is set and tk->meta takes the
 * current version and last-updated, so the caller answers with those (the
 * stored text is json with that meta). Versions are not spent on
 * resends (FHIR R4 http.html#update leaves versioning to the server; HAPI
 * FHIR behaves the same way).
 */
int cw_store_put(struct cw_store_txn *t, struct cw_store_ticket *tk, cw_slice json,
                 const struct cw_store_index_row *rows, size_t nrows, struct cw_err *err);

/*
 * Set resource.id, meta.versionId and meta.lastUpdated in a parsed resource
 * (object with resourceType), keeping every other member and member order;
 * a missing id or meta is inserted after resourceType (id) and id (meta), as
 * FHIR JSON writes them. Strings are allocated in a.
 */
int cw_store_meta_fill(struct cw_arena *a, struct cw_json *resource,
                       const struct cw_store_meta *m, struct cw_err *err);

/*
 * stage + meta_fill + serialize (compact) + put. On success *out (may be
 * NULL) describes the stored version and out->json holds the stored text (in a).
 */
int cw_store_write_tree(struct cw_arena *a, struct cw_store_txn *t, const struct cw_store_write *w,
                        struct cw_json *resource, const struct cw_store_index_row *rows,
                        size_t nrows, struct cw_store_resource *out, struct cw_err *err);

/*
 * Delete Type/id (FHIR R4 http.html#delete): a new version marked deleted,
 * without JSON, and no index rows. if_match != 0 must equal the current
 * version (conflict otherwise). Deleting an absent resource fails
 * "not-found"; deleting a deleted one changes nothing and succeeds.
 * *out (may be NULL) gets the deletion's version.
 */
int cw_store_delete(struct cw_arena *a, struct cw_store_txn *t, cw_slice type, cw_slice id,
                    long long if_match, struct cw_store_meta *out, struct cw_err *err);

/*
 * Current version of Type/id. not-found when absent; deleted (410) when the
 * current version is a deletion (out->meta then describes it).
 */
int cw_store_read(struct cw_arena *a, struct cw_store_txn *t, cw_slice type, cw_slice id,
                  struct cw_store_resource *out, struct cw_err *err);

/* One version (FHIR vread). not-found when absent, deleted (410) for a deletion. */
int cw_store_vread(struct cw_arena *a, struct cw_store_txn *t, cw_slice type, cw_slice id,
                   long long version, struct cw_store_resource *out, struct cw_err *err);

/* ---- history (FHIR R4 http.html#history) ---- */

struct cw_store_history_query {
    cw_slice type;     /* "" = whole system */
    cw_slice id;       /* "" = whole type (needs type) */
    bool has_since;
    int64_t since;     /* _since: versions with last_updated >= since */
    unsigned count;    /* _count; 0 = opts.max_page; clamped to it */
    cw_slice cursor;   /* "" = first page; else next_cursor of the previous page */
};

/* One page of versions or search results. */
struct cw_store_page {
    struct cw_store_resource *items; /* in the arena */
    bool *included;                  /* search: items[i] came from _include/_revinclude */
    size_t n;
    size_t nmatch;                   /* items that matched (the rest are includes) */
    long long total;                 /* _total (search) or -1 when not computed */
    cw_slice next_cursor;            /* "" on the last page; opaque text, URL-safe. With _sort
                                        it carries the last row's sort values (a folded family
                                        name, say): treat it as patient data (keep it server-side
                                        or encrypt it before it goes into a next link) */
};

/*
 * Versions newest first (by last_updated, then internal order). Deletions are
 * items with meta.deleted. Paging is keyset: next_cursor names the last item
 * returned, so versions written after the first page never shift later pages.
 */
int cw_store_history(struct cw_arena *a, struct cw_store_txn *t,
                     const struct cw_store_history_query *q, struct cw_store_page *out,
                     struct cw_err *err);

/* ---- search (FHIR R4 search.html) ---- */

/* Prefixes (search.html#prefix). */
enum cw_store_prefix {
    CW_PFX_EQ = 0,
    CW_PFX_NE,
    CW_PFX_GT,
    CW_PFX_LT,
    CW_PFX_GE,
    CW_PFX_LE,
    CW_PFX_SA,
    CW_PFX_EB,
    CW_PFX_AP,
};

/* Modifiers (search.html#modifiers). */
enum cw_store_modifier {
    CW_MOD_NONE = 0,
    CW_MOD_MISSING,  /* value "true" / "false" */
    CW_MOD_EXACT,    /* string */
    CW_MOD_CONTAINS, /* string */
    CW_MOD_TEXT,     /* token: display/text starts with (folded) */
    CW_MOD_NOT,      /* token: no row matches */
    CW_MOD_BELOW,    /* uri: starts with */
    CW_MOD_ABOVE,    /* uri: is a prefix of the value (at '/' boundaries) */
    CW_MOD_TYPE,     /* reference [param]:[Type]: target_type holds the type */
    CW_MOD_IN,       /* token :in / :not-in / :above / :below: need terminology */
    CW_MOD_NOT_IN,
    CW_MOD_IDENTIFIER,
};

/* One value of a parameter; values of one parameter are OR-ed. */
struct cw_store_value {
    enum cw_store_prefix prefix; /* date, number, quantity (cw_store_parse_prefix) */
    cw_slice text;               /* the value without prefix, URL-decoded, escapes
                                    (\, \| \$) still in place */
};

enum cw_store_sp_kind {
    CW_SPK_PARAM = 0, /* a plain parameter: code, type, modifier, values */
    CW_SPK_CHAIN,     /* code is a reference parameter; inner applies to its target */
    CW_SPK_HAS,       /* _has: a has_type resource whose has_ref points here matches inner */
};

/*
 * One parameter of a plan. Special codes: "_id" (type token, matched on the
 * id), "_lastUpdated" (type date). Chains and _has nest through inner up to
 * CW_STORE_MAX_CHAIN_DEPTH:
 *   subject:Patient.name=peter  -> {CHAIN, code "subject", target_type "Patient",
 *                                   inner -> {PARAM, "name", STRING, value "peter"}}
 *   _has:Observation:patient:code=1234 -> {HAS, has_type "Observation",
 *                                   has_ref "patient", inner -> {PARAM "code" ...}}
 */
struct cw_store_sp {
    enum cw_store_sp_kind kind;
    cw_slice code;
    enum cw_store_ptype type;        /* PARAM */
    enum cw_store_modifier modifier; /* PARAM */
    cw_slice target_type;            /* CHAIN: the target's type ("" = any type, slower), or
                                        PARAM reference with CW_MOD_TYPE */
    cw_slice has_type, has_ref;      /* HAS */
    const struct cw_store_sp *inner; /* CHAIN, HAS */
    const struct cw_store_value *values;
    size_t nvalues;
    const enum cw_store_ptype *comp_types; /* COMPOSITE: type of each '$' component */
    size_t ncomp;
};

struct cw_store_sort {
    cw_slice code;           /* "_id", "_lastUpdated" or a parameter code */
    enum cw_store_ptype type;
    bool desc;               /* "-date" */
};

struct cw_store_include {
    bool rev;                /* _revinclude */
    bool iterate;            /* :iterate: also applied to included resources */
    cw_slice source_type;    /* Observation in Observation:subject[:Patient] */
    cw_slice param;          /* reference parameter; "*" = every reference */
    cw_slice target_type;    /* "" = any */
};

enum cw_store_total { CW_TOTAL_NONE = 0, CW_TOTAL_ESTIMATE, CW_TOTAL_ACCURATE };

struct cw_store_plan {
    cw_slice type;                        /* resource type searched */
    const struct cw_store_sp *params;     /* AND-ed */
    size_t nparams;
    const struct cw_store_sort *sort;     /* _sort keys in order; ties by internal key */
    size_t nsort;
    unsigned count;                       /* _count; clamped to opts.max_page */
    bool count_set;                       /* false: opts.max_page; true with count 0: total only */
    unsigned long long offset;            /* offset paging (ignored with a cursor) */
    cw_slice cursor;                      /* keyset paging: next_cursor of the previous page */
    enum cw_store_total total;            /* ESTIMATE is computed like ACCURATE */
    const struct cw_store_include *includes;
    size_t nincludes;
};

/*
 * Run a plan: the matching current, non-deleted resources of plan->type, in
 * _sort order (ascending by lowest value, descending by highest; resources
 * without the parameter last), then _include/_revinclude results after the
 * matches. Fails "invalid" on malformed values (with the parameter code in
 * err->location) and "not-supported" on modifiers the store cannot evaluate.
 */
int cw_store_search(struct cw_arena *a, struct cw_store_txn *t, const struct cw_store_plan *plan,
                    struct cw_store_page *out, struct cw_err *err);

/*
 * The SQL a plan compiles to for this store's dialect and its parameter
 * count (diagnostics and tests; the text is in a).
 */
int cw_store_explain(struct cw_arena *a, struct cw_store *s, const struct cw_store_plan *plan,
                     cw_slice *sql, size_t *nparams, struct cw_err *err);

/* ---- jobs ---- */

enum cw_store_job_state {
    CW_JOB_READY = 0,   /* waiting for run_after */
    CW_JOB_RUNNING,     /* claimed; lease until locked_until */
    CW_JOB_DONE,
    CW_JOB_FAILED,      /* attempts exhausted */
};

struct cw_store_job {
    long long id;
    cw_slice kind;
    cw_slice payload;
    enum cw_store_job_state state;
    int attempts;        /* claims so far */
    int max_attempts;
    int64_t run_after;   /* microseconds UTC */
    cw_slice locked_by;
    int64_t locked_until;
    cw_slice last_error; /* a code, never content */
};

/*
 * Add a job in t (so it commits with the writes that caused it).
 * max_attempts 0 = 5. *id (may be NULL) gets its id.
 */
int cw_store_job_enqueue(struct cw_store_txn *t, cw_slice kind, cw_slice payload,
                         int64_t run_after, int max_attempts, long long *id, struct cw_err *err);

/*
 * Claim up to max jobs of kind that are ready (run_after <= now) or whose
 * lease expired, oldest run_after first: each becomes RUNNING, locked_by
 * worker until now + lease_us, attempts + 1. PostgreSQL uses
 * FOR UPDATE SKIP LOCKED so several nodes claim disjoint jobs; SQLite's
 * single writer makes the claim exclusive. Needs a write transaction.
 */
int cw_store_job_claim(struct cw_arena *a, struct cw_store_txn *t, cw_slice kind,
                       cw_slice worker, int64_t lease_us, size_t max, struct cw_store_job **jobs,
                       size_t *n, struct cw_err *err);

/* Mark a claimed job done. conflict when worker no longer holds its lease. */
int cw_store_job_complete(struct cw_store_txn *t, long long id, cw_slice worker,
                          struct cw_err *err);

/*
 * Give a claimed job back after a failure: READY again at retry_at, or
 * FAILED when its attempts are used up. error_code is stored (no content!).
 */
int cw_store_job_fail(struct cw_store_txn *t, long long id, cw_slice worker, int64_t retry_at,
                      cw_slice error_code, struct cw_err *err);

/* Read one job. not-found when absent. */
int cw_store_job_get(struct cw_arena *a, struct cw_store_txn *t, long long id,
                     struct cw_store_job *out, struct cw_err *err);

/* ---- helpers shared with the search and REST modules ---- */

/* Current time, microseconds since 1970 UTC. */
int64_t cw_store_now(void);

/*
 * A new server-assigned id: a UUID version 7 in lowercase hex with dashes
 * (36 chars, a valid FHIR id). Time-ordered, so inserts into the (type, id)
 * index stay local; 74 random bits. buf receives 37 bytes (NUL-terminated).
 */
void cw_store_new_id(char buf[37]);

/* Format microseconds as a FHIR instant "2024-05-01T12:34:56.123456Z" (28 bytes + NUL). */
void cw_store_format_instant(int64_t us, char buf[32]);

/*
 * The [lo, hi) range of a FHIR date, dateTime or instant in microseconds
 * UTC: "2024" -> [2024-01-01, 2025-01-01); "2024-05-01T10:00+02:00" -> one
 * minute. Times without a zone are taken as UTC. -1 when text is not one.
 */
int cw_store_date_range(cw_slice text, int64_t *lo, int64_t *hi);

/*
 * Fold text for string search (search.html#string: case- and
 * accent-insensitive): lower case, Latin diacritics removed (é -> e,
 * ß -> ss, Æ -> ae), Greek and Cyrillic lower-cased, combining marks
 * (U+0300-U+036F) dropped; other characters unchanged. Result in a.
 * Invalid UTF-8 bytes are kept as they are.
 */
cw_slice cw_store_fold(struct cw_arena *a, cw_slice text);

/*
 * Split a leading prefix ("ge2024" -> GE, "2024") from a date, number or
 * quantity value; text without a known two-letter prefix gives EQ.
 */
enum cw_store_prefix cw_store_parse_prefix(cw_slice text, cw_slice *rest);

#endif
