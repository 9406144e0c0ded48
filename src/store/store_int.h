/*
 * store_int.h — what the store's shared layer and its backends share.
 *
 * The shared layer (store.c, store_search.c) owns all FHIR logic and writes
 * all SQL, once, with '?' placeholders; a backend (sqlite/, pg/) supplies
 * connections, transactions and statement execution through struct
 * cw_store_ops, and says how its dialect differs (row locks, batch inserts).
 * The PostgreSQL backend rewrites '?' to $1, $2 ... — our SQL never has a
 * '?' inside a literal, and values are never spliced into SQL text.
 *
 * Invariants:
 *  - Every value reaches the database as a bound parameter (struct cw_sqlv).
 *  - A write transaction buffers its inserts (struct cw_wbuf) and flushes
 *    them before any read of its own and at commit; PostgreSQL flushes as
 *    multi-row INSERTs, SQLite as one cached prepared statement per row.
 *  - After an error in a write transaction, t->failed is set and commit
 *    refuses (and rolls back).
 */
#ifndef CW_STORE_STORE_INT_H
#define CW_STORE_STORE_INT_H

#include <pthread.h>

#include "base/buf.h"
#include "store/store.h"

/* A bound value or a result column. Text is borrowed (see each user). */
enum cw_sqlv_type { CW_SQLV_NULL = 0, CW_SQLV_INT, CW_SQLV_REAL, CW_SQLV_TEXT };

struct cw_sqlv {
    int type; /* enum cw_sqlv_type */
    long long i;
    double d;
    cw_slice s;
};

static inline struct cw_sqlv cw_sqlv_int(long long i)
{
    return (struct cw_sqlv){.type = CW_SQLV_INT, .i = i};
}
static inline struct cw_sqlv cw_sqlv_real(double d)
{
    return (struct cw_sqlv){.type = CW_SQLV_REAL, .d = d};
}
static inline struct cw_sqlv cw_sqlv_text(cw_slice s)
{
    return (struct cw_sqlv){.type = CW_SQLV_TEXT, .s = s.ptr ? s : CW_LIT("")};
}
static inline struct cw_sqlv cw_sqlv_null(void)
{
    return (struct cw_sqlv){.type = CW_SQLV_NULL};
}

/*
 * Row callback of exec: cols are valid during the call only. Return 0 to go
 * on, 1 to stop early, -1 to fail (after filling the error).
 */
typedef int (*cw_sql_row_fn)(void *ctx, const struct cw_sqlv *cols, int ncols, struct cw_err *err);

struct cw_store_ops {
    const char *name;          /* "sqlite", "postgres" */
    bool multirow_insert;      /* flush buffered rows as multi-row INSERTs */
    bool cache_search;         /* keep prepared search statements (store_search.c) */
    const char *for_update;    /* appended to head reads in write transactions */
    const char *skip_locked;   /* appended to the job claim's inner SELECT */
    const char *const *const *migrations; /* NULL-terminated list of NULL-terminated
                                             statement lists; migration i is version i+1 */
    const char *migrate_lock;  /* statement run first in each migration transaction, or NULL */

    int (*open)(struct cw_store *s, const char *url, struct cw_err *err);
    void (*close)(struct cw_store *s);
    /* Attach a connection to t and start the transaction (t->mode says how). */
    int (*begin)(struct cw_store_txn *t, struct cw_err *err);
    int (*commit)(struct cw_store_txn *t, struct cw_err *err);
    void (*rollback)(struct cw_store_txn *t);
    /*
     * Run one statement with np parameters; call fn for each result row (fn
     * may be NULL). cache: the statement text is a constant worth preparing
     * once per connection. *changes (may be NULL) gets the affected rows.
     */
    int (*exec)(struct cw_store_txn *t, const char *sql, bool cache, const struct cw_sqlv *p,
                int np, cw_sql_row_fn fn, void *ctx, long long *changes, struct cw_err *err);
    /* Reserve new resource keys: [*first, *first + *count), never handed out again. */
    int (*alloc_keys)(struct cw_store_txn *t, long long *first, long long *count,
                      struct cw_err *err);
};

/* The backends (sqlite/sqlite.c, pg/pg.c); cw_store_open picks one by URL scheme. */
extern const struct cw_store_ops cw_store_sqlite_ops;
extern const struct cw_store_ops cw_store_pg_ops;

/* The tables a write transaction buffers rows for (store.c). */
enum cw_wtab {
    CW_WT_HEAD = 0,
    CW_WT_RES,
    CW_WT_STRING,
    CW_WT_TOKEN,
    CW_WT_DATE,
    CW_WT_REFERENCE,
    CW_WT_QUANTITY,
    CW_WT_NUMBER,
    CW_WT_URI,
    CW_WT_COUNT,
};

struct cw_store {
    const struct cw_store_ops *ops;
    void *impl; /* backend state */
    struct cw_store_opts opts;
    int schema_version;
    pthread_mutex_t clock_mu;
    int64_t last_stamp; /* last-updated values handed out are strictly increasing */
    /* write buffers of a finished transaction, kept for the next one (under
       clock_mu): growing them again was a realloc copy and fresh pages
       (page faults) per transaction */
    struct cw_sqlv *spare[CW_WT_COUNT];
    size_t spare_cap[CW_WT_COUNT];
};

/* ---- the write buffer of a transaction ---- */

struct cw_wtab_def {
    const char *name;
    const char *cols;
    int ncols;
    const char *suffix; /* ON CONFLICT clause or "" */
};

/* Table name, column list and conflict clause of each buffered table (store.c). */
extern const struct cw_wtab_def cw_wtab_defs[CW_WT_COUNT];

struct cw_wrows {
    struct cw_sqlv *v; /* nrows * ncols values */
    size_t nrows, cap;
};

struct cw_pending; /* (type, id) -> state within this transaction (store.c) */

struct cw_store_txn {
    struct cw_store *s;
    enum cw_store_mode mode;
    void *conn;              /* backend connection */
    bool failed;             /* an operation failed: only rollback is possible */
    struct cw_arena *arena;  /* copies of buffered values; reset at flush */
    struct cw_wrows rows[CW_WT_COUNT];
    long long *repl;         /* rkeys whose index rows are replaced */
    size_t nrepl, crepl;
    struct cw_pending *pending;
    uint64_t stage_seq;
    uint64_t flush_gen;          /* bumped by each flush: pending entries buffered in an
                                    older generation are in the database */
    long long key_next, key_end; /* reserved resource keys */
    long long rows_written;      /* rows inserted by this transaction's flushes */
};

/* Flush buffered writes (no-op for read transactions). */
int cw_store_flush(struct cw_store_txn *t, struct cw_err *err);

/* exec through the ops table, marking t failed on error. */
int cw_store_exec(struct cw_store_txn *t, const char *sql, bool cache, const struct cw_sqlv *p,
                  int np, cw_sql_row_fn fn, void *ctx, long long *changes, struct cw_err *err);

/* Copy a result text column into a (NUL-terminated); {"",0} for NULL. */
cw_slice cw_store_col_text(struct cw_arena *a, const struct cw_sqlv *c);
long long cw_store_col_int(const struct cw_sqlv *c);
double cw_store_col_real(const struct cw_sqlv *c);

/* Valid FHIR resource type / id (store.c). */
bool cw_store_valid_type(cw_slice s);
bool cw_store_valid_id(cw_slice s);

/* Format a double so it reads back exactly ("%.17g", C locale digits). */
int cw_store_fmt_double(char *buf, size_t n, double d);

/* Parse a decimal number (FHIR decimal / JSON number text) into d; -1 if not one. */
int cw_store_parse_decimal(cw_slice s, double *d, int *decimals);

/* Map a database error class to an issue, for backends. */
enum cw_store_dberr {
    CW_DBERR_OTHER = 0,
    CW_DBERR_CONSTRAINT,   /* unique violation: a concurrent create / duplicate */
    CW_DBERR_SERIALIZE,    /* serialization failure or deadlock: retry */
    CW_DBERR_TIMEOUT,      /* statement timeout */
    CW_DBERR_BUSY,         /* locked / busy */
};
int cw_store_db_error(struct cw_err *err, enum cw_store_dberr kind, const char *backend,
                      const char *what);

#endif
