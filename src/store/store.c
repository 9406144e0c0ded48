/*
 * store.c — the store's shared layer: open and migrate, transactions, the
 * write buffer, resource versions, history, jobs.
 *
 * Owns: struct cw_store (with its backend state through ops->open/close) and
 * each struct cw_store_txn (heap, freed by commit/rollback) with its arena,
 * write buffer and pending map.
 *
 * Spec: FHIR R4 http.html#create, #update, #upsert, #concurrency (If-Match,
 * 412), #delete (410 afterwards), #vread, #history (_since, _count, newest
 * first).
 *
 * Invariants:
 *  - The pending map holds every (type, id) this transaction staged or wrote,
 *    with the version it wrote; a resource written twice is flushed between
 *    the two writes, so one flush never holds two versions of one resource.
 *  - Index rows exist only for current, non-deleted versions.
 *  - last_updated values handed out by one store are strictly increasing.
 *  - resource_current.chash is the content hash of the current version
 *    (NULL for deletions and versions written before schema 4); an update
 *    whose hash equals it writes nothing (no-op update, cw_store_put).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/log.h"
#include "store/store_int.h"

#define IDX_COLS "rkey,seq,rtype,param,comp,grp,"

const struct cw_wtab_def cw_wtab_defs[CW_WT_COUNT] = {
    [CW_WT_HEAD] = {"resource_current", "rkey,type,id,version,last_updated,deleted,chash", 7,
                    " ON CONFLICT (rkey) DO UPDATE SET version = excluded.version, "
                    "last_updated = excluded.last_updated, deleted = excluded.deleted, "
                    "chash = excluded.chash"},
    [CW_WT_RES] = {"resource", "rkey,version,type,id,last_updated,deleted,json", 7, ""},
    [CW_WT_STRING] = {"idx_string", IDX_COLS "norm,exact", 8, ""},
    [CW_WT_TOKEN] = {"idx_token", IDX_COLS "system,code,text", 9, ""},
    [CW_WT_DATE] = {"idx_date", IDX_COLS "lo,hi", 8, ""},
    [CW_WT_REFERENCE] = {"idx_reference", IDX_COLS "target_type,target_id,target_version,url", 10,
                         ""},
    [CW_WT_QUANTITY] = {"idx_quantity", IDX_COLS "value,system,code,canon_value,canon_code", 11,
                        ""},
    [CW_WT_NUMBER] = {"idx_number", IDX_COLS "value", 7, ""},
    [CW_WT_URI] = {"idx_uri", IDX_COLS "uri", 7, ""},
};

/* ---- small helpers ---- */

/* Public calls start from a clean error: cw_err_set keeps an earlier
   http_status and location, and callers reuse one cw_err. */
static void err_reset(struct cw_err *err)
{
    if (err) cw_err_clear(err);
}

cw_slice cw_store_col_text(struct cw_arena *a, const struct cw_sqlv *c)
{
    if (c->type != CW_SQLV_TEXT || !c->s.ptr) return CW_LIT("");
    cw_slice d = cw_arena_dup(a, c->s);
    return d.ptr ? d : CW_LIT("");
}

long long cw_store_col_int(const struct cw_sqlv *c)
{
    if (c->type == CW_SQLV_INT) return c->i;
    if (c->type == CW_SQLV_REAL) return (long long)c->d;
    if (c->type == CW_SQLV_TEXT) {
        long long v;
        if (cw_slice_to_i64(c->s, &v) == 0) return v;
    }
    return 0;
}

double cw_store_col_real(const struct cw_sqlv *c)
{
    if (c->type == CW_SQLV_REAL) return c->d;
    if (c->type == CW_SQLV_INT) return (double)c->i;
    if (c->type == CW_SQLV_TEXT) {
        double d;
        if (cw_store_parse_decimal(c->s, &d, NULL) == 0) return d;
    }
    return 0;
}

int cw_store_db_error(struct cw_err *err, enum cw_store_dberr kind, const char *backend,
                      const char *what)
{
    switch (kind) {
    case CW_DBERR_CONSTRAINT:
        return cw_err_set(err, CW_ISSUE_CONFLICT, "%s: %s (a concurrent write of the same key)",
                          backend, what);
    case CW_DBERR_SERIALIZE:
        return cw_err_set(err, CW_ISSUE_TRANSIENT, "%s: %s (retry the transaction)", backend,
                          what);
    case CW_DBERR_TIMEOUT: return cw_err_set(err, CW_ISSUE_TIMEOUT, "%s: %s", backend, what);
    case CW_DBERR_BUSY: return cw_err_set(err, CW_ISSUE_TRANSIENT, "%s: %s", backend, what);
    default: return cw_err_set(err, CW_ISSUE_EXCEPTION, "%s: %s", backend, what);
    }
}

static int64_t stamp(struct cw_store *s)
{
    int64_t now = cw_store_now();
    pthread_mutex_lock(&s->clock_mu);
    if (now <= s->last_stamp) now = s->last_stamp + 1;
    s->last_stamp = now;
    pthread_mutex_unlock(&s->clock_mu);
    return now;
}

int cw_store_exec(struct cw_store_txn *t, const char *sql, bool cache, const struct cw_sqlv *p,
                  int np, cw_sql_row_fn fn, void *ctx, long long *changes, struct cw_err *err)
{
    if (t->failed) return cw_err_set(err, CW_ISSUE_PROCESSING, "store: transaction already failed");
    int rc = t->s->ops->exec(t, sql, cache, p, np, fn, ctx, changes, err);
    if (rc < 0) t->failed = true;
    return rc;
}

/* ---- open, migrate, close ---- */

static int row_int1(void *ctx, const struct cw_sqlv *c, int n, struct cw_err *err)
{
    (void)err;
    if (n > 0) *(long long *)ctx = cw_store_col_int(&c[0]);
    return 1;
}

static int migrate(struct cw_store *s, struct cw_err *err)
{
    const struct cw_store_ops *ops = s->ops;
    int nmig = 0;
    while (ops->migrations[nmig]) nmig++;
    for (;;) {
        struct cw_store_txn *t;
        if (cw_store_begin(s, CW_STORE_WRITE, &t, err) < 0) return -1;
        long long cur = 0;
        int rc = 0;
        if (ops->migrate_lock) rc = cw_store_exec(t, ops->migrate_lock, false, NULL, 0, NULL, NULL, NULL, err);
        if (rc == 0)
            rc = cw_store_exec(t,
                               "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY "
                               "KEY, applied_at BIGINT NOT NULL)",
                               false, NULL, 0, NULL, NULL, NULL, err);
        if (rc == 0)
            rc = cw_store_exec(t, "SELECT COALESCE(MAX(version), 0) FROM schema_version", false, NULL,
                               0, row_int1, &cur, NULL, err);
        if (rc < 0) {
            cw_store_rollback(t);
            cw_err_prefix(err, "migrate", ' ');
            return -1;
        }
        if (cur > nmig) {
            cw_store_rollback(t);
            return cw_err_set(err, CW_ISSUE_NOT_SUPPORTED,
                              "store: schema version %lld is newer than this build (%d)", cur, nmig);
        }
        if (cur == nmig) {
            if (cw_store_commit(t, err) < 0) return -1;
            s->schema_version = nmig;
            return 0;
        }
        const char *const *stmts = ops->migrations[cur];
        for (size_t i = 0; rc == 0 && stmts[i]; i++)
            rc = cw_store_exec(t, stmts[i], false, NULL, 0, NULL, NULL, NULL, err);
        struct cw_sqlv p[2] = {cw_sqlv_int(cur + 1), cw_sqlv_int(cw_store_now())};
        if (rc == 0)
            rc = cw_store_exec(t, "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                               false, p, 2, NULL, NULL, NULL, err);
        if (rc < 0) {
            cw_store_rollback(t);
            cw_log(CW_LOG_ERROR, "store.migrate.failed", CW_LOG_STR("backend", ops->name),
                   CW_LOG_INT("version", cur + 1));
            return -1;
        }
        if (cw_store_commit(t, err) < 0) return -1;
        cw_log(CW_LOG_INFO, "store.migrate", CW_LOG_STR("backend", ops->name),
               CW_LOG_INT("version", cur + 1));
    }
}

int cw_store_open(const char *url, const struct cw_store_opts *opts, struct cw_store **out,
                  struct cw_err *err)
{
    err_reset(err);
    *out = NULL;
    if (!url) return cw_err_set(err, CW_ISSUE_INVALID, "store: no URL");
    const struct cw_store_ops *ops;
    if (strncmp(url, "sqlite:", 7) == 0) {
        ops = &cw_store_sqlite_ops;
    } else if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
        ops = &cw_store_pg_ops;
    } else {
        return cw_err_set(err, CW_ISSUE_INVALID,
                          "store: unknown URL scheme (want sqlite:PATH or postgres://...)");
    }
    struct cw_store *s = calloc(1, sizeof *s);
    if (!s) return cw_err_set(err, CW_ISSUE_EXCEPTION, "store: out of memory");
    s->ops = ops;
    if (opts) s->opts = *opts;
    if (!s->opts.max_resource) s->opts.max_resource = CW_STORE_DEFAULT_MAX_RESOURCE;
    if (!s->opts.max_page) s->opts.max_page = CW_STORE_DEFAULT_MAX_PAGE;
    if (!s->opts.max_include) s->opts.max_include = CW_STORE_DEFAULT_MAX_INCLUDE;
    if (!s->opts.max_index_rows) s->opts.max_index_rows = CW_STORE_DEFAULT_MAX_INDEX_ROWS;
    if (!s->opts.connections) s->opts.connections = CW_STORE_DEFAULT_CONNECTIONS;
    if (!s->opts.statement_timeout_ms)
        s->opts.statement_timeout_ms = CW_STORE_DEFAULT_STATEMENT_TIMEOUT_MS;
    if (!s->opts.wait_ms) s->opts.wait_ms = CW_STORE_DEFAULT_WAIT_MS;
    if (!s->opts.group_max) s->opts.group_max = CW_STORE_DEFAULT_GROUP_MAX;
    pthread_mutex_init(&s->clock_mu, NULL);
    if (ops->open(s, url, err) < 0) {
        pthread_mutex_destroy(&s->clock_mu);
        free(s);
        return -1;
    }
    if (migrate(s, err) < 0) {
        ops->close(s);
        pthread_mutex_destroy(&s->clock_mu);
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void cw_store_close(struct cw_store *s)
{
    if (!s) return;
    s->ops->close(s);
    for (int k = 0; k < CW_WT_COUNT; k++) free(s->spare[k]);
    pthread_mutex_destroy(&s->clock_mu);
    free(s);
}

const char *cw_store_backend(const struct cw_store *s)
{
    return s->ops->name;
}

int cw_store_schema_version(const struct cw_store *s)
{
    return s->schema_version;
}

/* ---- pending map: (type, id) -> what this transaction knows ---- */

/* Content hashes (no-op updates, cw_store_put): the first 128 bits of a
   SHA-256, as lowercase hex in resource_current.chash. */
#define CHASH_HEX 32

struct pend_ent {
    char *key; /* "Type/id" (heap); NULL = empty slot */
    size_t tlen;
    size_t klen;
    uint64_t hash;
    long long rkey;     /* 0: not yet assigned */
    long long version;  /* current version (0: absent) */
    int64_t last_updated;
    bool deleted;
    uint64_t buf_gen;   /* == t->flush_gen + 1 while a write of it is buffered */
    uint64_t staged;    /* stage ticket seq not yet put */
    char chash[CHASH_HEX + 1]; /* content hash of the current version ("" = unknown) */
};

struct cw_pending {
    struct pend_ent *e;
    size_t cap, n;
};

static uint64_t hash_key(cw_slice type, cw_slice id)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < type.len; i++) h = (h ^ (unsigned char)type.ptr[i]) * 1099511628211ULL;
    h = (h ^ '/') * 1099511628211ULL;
    for (size_t i = 0; i < id.len; i++) h = (h ^ (unsigned char)id.ptr[i]) * 1099511628211ULL;
    return h;
}

static bool pend_match(const struct pend_ent *e, uint64_t h, cw_slice type, cw_slice id)
{
    return e->hash == h && e->tlen == type.len && e->klen == type.len + 1 + id.len &&
           memcmp(e->key, type.ptr, type.len) == 0 &&
           memcmp(e->key + type.len + 1, id.ptr, id.len) == 0;
}

static struct pend_ent *pend_find(struct cw_store_txn *t, cw_slice type, cw_slice id)
{
    struct cw_pending *p = t->pending;
    if (!p || !p->cap) return NULL;
    uint64_t h = hash_key(type, id);
    for (size_t i = h & (p->cap - 1);; i = (i + 1) & (p->cap - 1)) {
        struct pend_ent *e = &p->e[i];
        if (!e->key) return NULL;
        if (pend_match(e, h, type, id)) return e;
    }
}

static struct pend_ent *pend_add(struct cw_store_txn *t, cw_slice type, cw_slice id)
{
    if (!t->pending) {
        t->pending = calloc(1, sizeof *t->pending);
        if (!t->pending) return NULL;
    }
    struct cw_pending *p = t->pending;
    if ((p->n + 1) * 4 > p->cap * 3) {
        size_t ncap = p->cap ? p->cap * 2 : 64;
        struct pend_ent *ne = calloc(ncap, sizeof *ne);
        if (!ne) return NULL;
        for (size_t i = 0; i < p->cap; i++) {
            if (!p->e[i].key) continue;
            size_t j = p->e[i].hash & (ncap - 1);
            while (ne[j].key) j = (j + 1) & (ncap - 1);
            ne[j] = p->e[i];
        }
        free(p->e);
        p->e = ne;
        p->cap = ncap;
    }
    uint64_t h = hash_key(type, id);
    size_t i = h & (p->cap - 1);
    while (p->e[i].key) i = (i + 1) & (p->cap - 1);
    struct pend_ent *e = &p->e[i];
    e->key = malloc(type.len + 1 + id.len + 1);
    if (!e->key) return NULL;
    memcpy(e->key, type.ptr, type.len);
    e->key[type.len] = '/';
    memcpy(e->key + type.len + 1, id.ptr, id.len);
    e->key[type.len + 1 + id.len] = '\0';
    e->tlen = type.len;
    e->klen = type.len + 1 + id.len;
    e->hash = h;
    p->n++;
    return e;
}

static void pend_free(struct cw_pending *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->cap; i++) free(p->e[i].key);
    free(p->e);
    free(p);
}

/* ---- transactions ---- */

int cw_store_begin(struct cw_store *s, enum cw_store_mode mode, struct cw_store_txn **out,
                   struct cw_err *err)
{
    err_reset(err);
    *out = NULL;
    struct cw_store_txn *t = calloc(1, sizeof *t);
    if (!t) return cw_err_set(err, CW_ISSUE_EXCEPTION, "store: out of memory");
    t->s = s;
    t->mode = mode;
    if (mode != CW_STORE_READ) {
        /* Buffered copies of one flush: bounded by what one transaction writes. */
        t->arena = cw_arena_new((size_t)4 << 30);
        if (!t->arena) {
            free(t);
            return cw_err_set(err, CW_ISSUE_EXCEPTION, "store: out of memory");
        }
    }
    if (s->ops->begin(t, err) < 0) {
        cw_arena_destroy(t->arena);
        free(t);
        return -1;
    }
    if (mode != CW_STORE_READ) {
        pthread_mutex_lock(&s->clock_mu);
        for (int k = 0; k < CW_WT_COUNT; k++) {
            t->rows[k].v = s->spare[k];
            t->rows[k].cap = s->spare_cap[k];
            s->spare[k] = NULL;
            s->spare_cap[k] = 0;
        }
        pthread_mutex_unlock(&s->clock_mu);
    }
    *out = t;
    return 0;
}

/* Largest buffer kept for the next transaction, in values (a 10,000-entry
   bundle with ~20 index rows per resource fits). */
#define SPARE_MAX_VALUES ((size_t)4 << 20)

static void txn_free(struct cw_store_txn *t)
{
    if (t->mode != CW_STORE_READ) {
        pthread_mutex_lock(&t->s->clock_mu);
        for (int k = 0; k < CW_WT_COUNT; k++) {
            struct cw_wrows *r = &t->rows[k];
            if (!r->v || t->s->spare[k] || r->cap * (size_t)cw_wtab_defs[k].ncols > SPARE_MAX_VALUES)
                continue;
            t->s->spare[k] = r->v;
            t->s->spare_cap[k] = r->cap;
            r->v = NULL;
        }
        pthread_mutex_unlock(&t->s->clock_mu);
    }
    for (int k = 0; k < CW_WT_COUNT; k++) free(t->rows[k].v);
    free(t->repl);
    pend_free(t->pending);
    cw_arena_destroy(t->arena);
    free(t);
}

int cw_store_commit(struct cw_store_txn *t, struct cw_err *err)
{
    err_reset(err);
    if (!t) return cw_err_set(err, CW_ISSUE_EXCEPTION, "store: no transaction");
    if (!t->failed && t->mode != CW_STORE_READ && cw_store_flush(t, err) < 0) t->failed = true;
    if (t->failed) {
        t->s->ops->rollback(t);
        txn_free(t);
        if (!cw_err_is_set(err))
            cw_err_set(err, CW_ISSUE_PROCESSING, "store: transaction failed, rolled back");
        return -1;
    }
    int rc = t->s->ops->commit(t, err);
    txn_free(t);
    return rc;
}

void cw_store_rollback(struct cw_store_txn *t)
{
    if (!t) return;
    t->s->ops->rollback(t);
    txn_free(t);
}

struct cw_store *cw_store_txn_store(struct cw_store_txn *t)
{
    return t->s;
}

/* ---- the write buffer ---- */

static struct cw_sqlv *wrow(struct cw_store_txn *t, enum cw_wtab k, struct cw_err *err)
{
    struct cw_wrows *r = &t->rows[k];
    int nc = cw_wtab_defs[k].ncols;
    if (r->nrows == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 64;
        struct cw_sqlv *nv = realloc(r->v, ncap * (size_t)nc * sizeof *nv);
        if (!nv) {
            t->failed = true;
            cw_err_set(err, CW_ISSUE_EXCEPTION, "store: out of memory");
            return NULL;
        }
        r->v = nv;
        r->cap = ncap;
    }
    return &r->v[r->nrows++ * (size_t)nc];
}

/*
 * A copy of s in the transaction arena (buffered until flush). A NUL byte
 * sets *oom too (the caller reports it): PostgreSQL text cannot hold one,
 * and both backends must store the same thing.
 */
static struct cw_sqlv wtext(struct cw_store_txn *t, cw_slice s, bool *oom)
{
    if (!s.ptr || s.len == 0) return cw_sqlv_text(CW_LIT(""));
    if (memchr(s.ptr, '\0', s.len)) {
        *oom = true;
        return cw_sqlv_text(CW_LIT(""));
    }
    cw_slice d = cw_arena_dup(t->arena, s);
    if (!d.ptr) *oom = true;
    return cw_sqlv_text(d);
}

static int insert_many(struct cw_store_txn *t, enum cw_wtab k, struct cw_err *err)
{
    const struct cw_wtab_def *d = &cw_wtab_defs[k];
    struct cw_wrows *r = &t->rows[k];
    if (r->nrows == 0) return 0;
    struct cw_buf sql;
    cw_buf_init(&sql, (size_t)8 << 20);
    int rc = 0;
    if (t->s->ops->multirow_insert) {
        size_t per = 30000 / (size_t)d->ncols;
        if (per > 1000) per = 1000;
        for (size_t at = 0, n; at < r->nrows && rc == 0; at += n) {
            /* up to per rows and about 64 MiB of values per statement (the
               protocol caps a message at 1 GiB; resources may be 16 MiB each) */
            size_t bytes = 0;
            n = 0;
            while (at + n < r->nrows && n < per && (n == 0 || bytes < ((size_t)64 << 20))) {
                const struct cw_sqlv *row = &r->v[(at + n) * (size_t)d->ncols];
                for (int c = 0; c < d->ncols; c++) bytes += row[c].type == CW_SQLV_TEXT ? row[c].s.len : 8;
                n++;
            }
            cw_buf_reset(&sql);
            cw_buf_printf(&sql, "INSERT INTO %s (%s) VALUES ", d->name, d->cols);
            for (size_t i = 0; i < n; i++) {
                cw_buf_puts(&sql, i ? ",(" : "(");
                for (int c = 0; c < d->ncols; c++) cw_buf_puts(&sql, c ? ",?" : "?");
                cw_buf_putc(&sql, ')');
            }
            cw_buf_puts(&sql, d->suffix);
            if (cw_buf_failed(&sql)) {
                rc = cw_err_set(err, CW_ISSUE_EXCEPTION, "store: out of memory");
                break;
            }
            rc = cw_store_exec(t, cw_buf_cstr(&sql), n == per, &r->v[at * (size_t)d->ncols],
                               (int)(n * (size_t)d->ncols), NULL, NULL, NULL, err);
        }
    } else {
        cw_buf_printf(&sql, "INSERT INTO %s (%s) VALUES (", d->name, d->cols);
        for (int c = 0; c < d->ncols; c++) cw_buf_puts(&sql, c ? ",?" : "?");
        cw_buf_putc(&sql, ')');
        cw_buf_puts(&sql, d->suffix);
        const char *q = cw_buf_cstr(&sql);
        for (size_t i = 0; i < r->nrows && rc == 0; i++)
            rc = cw_store_exec(t, q, true, &r->v[i * (size_t)d->ncols], d->ncols, NULL, NULL, NULL,
                               err);
    }
    cw_buf_release(&sql);
    return rc;
}

int cw_store_flush(struct cw_store_txn *t, struct cw_err *err)
{
    if (t->mode == CW_STORE_READ) return 0;
    if (t->failed) return cw_err_set(err, CW_ISSUE_PROCESSING, "store: transaction already failed");
    bool any = t->nrepl > 0;
    for (int k = 0; k < CW_WT_COUNT && !any; k++) any = t->rows[k].nrows > 0;
    if (!any) return 0;
    int rc = 0;
    /* 1. old index rows of replaced resources */
    if (t->nrepl) {
        struct cw_buf sql;
        cw_buf_init(&sql, (size_t)1 << 20);
        for (int k = CW_WT_STRING; k < CW_WT_COUNT && rc == 0; k++) {
            const char *name = cw_wtab_defs[k].name;
            if (t->s->ops->multirow_insert) {
                const size_t per = 500;
                for (size_t at = 0; at < t->nrepl && rc == 0; at += per) {
                    size_t n = t->nrepl - at < per ? t->nrepl - at : per;
                    struct cw_sqlv *p = malloc(n * sizeof *p);
                    if (!p) {
                        rc = cw_err_set(err, CW_ISSUE_EXCEPTION, "store: out of memory");
                        break;
                    }
                    cw_buf_reset(&sql);
                    cw_buf_printf(&sql, "DELETE FROM %s WHERE rkey IN (", name);
                    for (size_t i = 0; i < n; i++) {
                        cw_buf_puts(&sql, i ? ",?" : "?");
                        p[i] = cw_sqlv_int(t->repl[at + i]);
                    }
                    cw_buf_putc(&sql, ')');
                    rc = cw_store_exec(t, cw_buf_cstr(&sql), false, p, (int)n, NULL, NULL, NULL, err);
                    free(p);
                }
            } else {
                cw_buf_reset(&sql);
                cw_buf_printf(&sql, "DELETE FROM %s WHERE rkey = ?", name);
                const char *q = cw_buf_cstr(&sql);
                for (size_t i = 0; i < t->nrepl && rc == 0; i++) {
                    struct cw_sqlv p = cw_sqlv_int(t->repl[i]);
                    rc = cw_store_exec(t, q, true, &p, 1, NULL, NULL, NULL, err);
                }
            }
        }
        cw_buf_release(&sql);
    }
    /* 2. heads, versions, index rows */
    for (int k = 0; k < CW_WT_COUNT && rc == 0; k++) {
        rc = insert_many(t, (enum cw_wtab)k, err);
        t->rows_written += (long long)t->rows[k].nrows;
    }
    for (int k = 0; k < CW_WT_COUNT; k++) t->rows[k].nrows = 0;
    t->nrepl = 0;
    cw_arena_reset(t->arena);
    t->flush_gen++;
    if (rc < 0) t->failed = true;
    return rc;
}

static bool in_buffer(const struct cw_store_txn *t, const struct pend_ent *e)
{
    return e->buf_gen == t->flush_gen + 1;
}

static int add_repl(struct cw_store_txn *t, long long rkey, struct cw_err *err)
{
    if (t->nrepl == t->crepl) {
        size_t ncap = t->crepl ? t->crepl * 2 : 64;
        long long *n = realloc(t->repl, ncap * sizeof *n);
        if (!n) {
            t->failed = true;
            return cw_err_set(err, CW_ISSUE_EXCEPTION, "store: out of memory");
        }
        t->repl = n;
        t->crepl = ncap;
    }
    t->repl[t->nrepl++] = rkey;
    return 0;
}

static int new_key(struct cw_store_txn *t, long long *out, struct cw_err *err)
{
    if (t->key_next >= t->key_end) {
        long long first, count;
        if (t->s->ops->alloc_keys(t, &first, &count, err) < 0) {
            t->failed = true;
            return -1;
        }
        t->key_next = first;
        t->key_end = first + count;
    }
    *out = t->key_next++;
    return 0;
}

/* ---- resources ---- */

static int need_write(struct cw_store_txn *t, struct cw_err *err)
{
    if (t->mode == CW_STORE_READ)
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "store: write in a read transaction");
    if (t->failed) return cw_err_set(err, CW_ISSUE_PROCESSING, "store: transaction already failed");
    return 0;
}

struct head_row {
    bool found;
    long long rkey, version;
    int64_t last_updated;
    bool deleted;
    char chash[CHASH_HEX + 1];
};

/* A stored content hash into dst ("" when absent or not one of ours). */
static void copy_chash(char dst[CHASH_HEX + 1], const struct cw_sqlv *c)
{
    dst[0] = '\0';
    if (c->type != CW_SQLV_TEXT || c->s.len != CHASH_HEX) return;
    memcpy(dst, c->s.ptr, CHASH_HEX);
    dst[CHASH_HEX] = '\0';
}

static int head_cb(void *ctx, const struct cw_sqlv *c, int n, struct cw_err *err)
{
    (void)err;
    struct head_row *h = ctx;
    if (n < 5) return 1;
    h->found = true;
    h->rkey = cw_store_col_int(&c[0]);
    h->version = cw_store_col_int(&c[1]);
    h->deleted = cw_store_col_int(&c[2]) != 0;
    h->last_updated = cw_store_col_int(&c[3]);
    copy_chash(h->chash, &c[4]);
    return 1;
}

/* The pending entry of type/id, loading (and locking, on PG) the current head when new. */
static int load_head(struct cw_store_txn *t, cw_slice type, cw_slice id, struct pend_ent **out,
                     struct cw_err *err)
{
    struct pend_ent *e = pend_find(t, type, id);
    if (e) {
        if (in_buffer(t, e) && cw_store_flush(t, err) < 0) return -1;
        *out = e;
        return 0;
    }
#define HEAD_SQL                                                                                   \
    "SELECT rkey, version, deleted, last_updated, chash FROM resource_current "                    \
    "WHERE type = ? AND id = ?"
    /* On PostgreSQL the row lock makes concurrent updates of one resource wait for each other. */
    const char *sql = t->s->ops->for_update[0] ? HEAD_SQL " FOR UPDATE" : HEAD_SQL;
#undef HEAD_SQL
    struct cw_sqlv p[2] = {cw_sqlv_text(type), cw_sqlv_text(id)};
    struct head_row h = {0};
    if (cw_store_exec(t, sql, true, p, 2, head_cb, &h, NULL, err) < 0) return -1;
    e = pend_add(t, type, id);
    if (!e) {
        t->failed = true;
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "store: out of memory");
    }
    if (h.found) {
        e->rkey = h.rkey;
        e->version = h.version;
        e->deleted = h.deleted;
        e->last_updated = h.last_updated;
        memcpy(e->chash, h.chash, sizeof e->chash);
    }
    *out = e;
    return 0;
}

struct prefetch_ctx {
    struct cw_store_txn *t;
    cw_slice type;
    bool oom;
};

static int prefetch_cb(void *ctx, const struct cw_sqlv *c, int n, struct cw_err *err)
{
    (void)err;
    struct prefetch_ctx *x = ctx;
    if (n < 6) return 1;
    cw_slice id = c[4].type == CW_SQLV_TEXT ? c[4].s : CW_LIT("");
    struct pend_ent *e = pend_find(x->t, x->type, id);
    if (e) return 0; /* already known in this transaction: keep what we know */
    e = pend_add(x->t, x->type, id);
    if (!e) {
        x->oom = true;
        return 1;
    }
    e->rkey = cw_store_col_int(&c[0]);
    e->version = cw_store_col_int(&c[1]);
    e->deleted = cw_store_col_int(&c[2]) != 0;
    e->last_updated = cw_store_col_int(&c[3]);
    copy_chash(e->chash, &c[5]);
    return 0;
}

int cw_store_prefetch(struct cw_store_txn *t, cw_slice type, const cw_slice *ids, size_t n,
                      struct cw_err *err)
{
    err_reset(err);
    if (need_write(t, err) < 0) return -1;
    if (!cw_store_valid_type(type)) return cw_err_set(err, CW_ISSUE_INVALID, "store: invalid resource type");
    if (n > 1000) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: prefetch of more than 1000 ids");
    struct cw_sqlv *p = malloc((n + 1) * sizeof *p);
    struct cw_buf sql;
    cw_buf_init(&sql, (size_t)1 << 20);
    if (!p) return cw_err_set(err, CW_ISSUE_EXCEPTION, "store: out of memory");
    cw_buf_puts(&sql, "SELECT rkey, version, deleted, last_updated, id, chash FROM resource_current "
                      "WHERE type = ? AND id IN (");
    int np = 0;
    p[np++] = cw_sqlv_text(type);
    for (size_t i = 0; i < n; i++) {
        if (!cw_store_valid_id(ids[i]) || pend_find(t, type, ids[i])) continue;
        cw_buf_puts(&sql, np > 1 ? ",?" : "?");
        p[np++] = cw_sqlv_text(ids[i]);
    }
    cw_buf_putc(&sql, ')');
    cw_buf_puts(&sql, t->s->ops->for_update);
    int rc = 0;
    if (np > 1) {
        struct prefetch_ctx x = {t, type, false};
        rc = cw_store_exec(t, cw_buf_cstr(&sql), false, p, np, prefetch_cb, &x, NULL, err);
        if (rc == 0 && x.oom) {
            t->failed = true;
            rc = cw_err_set(err, CW_ISSUE_EXCEPTION, "store: out of memory");
        }
        /* the ones not found are absent: remember that too */
        for (int i = 1; rc == 0 && i < np; i++) {
            if (pend_find(t, type, p[i].s)) continue;
            if (!pend_add(t, type, p[i].s)) {
                t->failed = true;
                rc = cw_err_set(err, CW_ISSUE_EXCEPTION, "store: out of memory");
            }
        }
    }
    cw_buf_release(&sql);
    free(p);
    return rc;
}

static int precondition_failed(struct cw_err *err, cw_slice type, cw_slice id, long long want,
                               long long have)
{
    cw_err_set(err, CW_ISSUE_CONFLICT, "store: %.*s/%.*s is at version %lld, If-Match wanted %lld",
               CW_SLICE_FMT(type), CW_SLICE_FMT(id), have, want);
    err->http_status = 412; /* FHIR R4 http.html#concurrency */
    return -1;
}

int cw_store_stage(struct cw_arena *a, struct cw_store_txn *t, const struct cw_store_write *w,
                   struct cw_store_ticket *out, struct cw_err *err)
{
    err_reset(err);
    memset(out, 0, sizeof *out);
    if (need_write(t, err) < 0) return -1;
    if (!cw_store_valid_type(w->type))
        return cw_err_set(err, CW_ISSUE_INVALID, "store: invalid resource type");
    struct pend_ent *e;
    char idbuf[37];
    cw_slice id;
    if (w->op == CW_STORE_CREATE) {
        cw_store_new_id(idbuf);
        id = cw_slice_make(idbuf, 36);
        e = pend_add(t, w->type, id);
        if (!e) {
            t->failed = true;
            return cw_err_set(err, CW_ISSUE_EXCEPTION, "store: out of memory");
        }
    } else if (w->op == CW_STORE_UPDATE) {
        id = w->id;
        if (!cw_store_valid_id(id)) return cw_err_set(err, CW_ISSUE_INVALID, "store: invalid id");
        if (load_head(t, w->type, id, &e, err) < 0) return -1;
        if (e->version == 0 && w->no_create)
            return cw_err_set(err, CW_ISSUE_NOT_FOUND, "store: %.*s/%.*s not found",
                              CW_SLICE_FMT(w->type), CW_SLICE_FMT(id));
        if (w->if_match && w->if_match != e->version)
            return precondition_failed(err, w->type, id, w->if_match, e->version);
    } else {
        return cw_err_set(err, CW_ISSUE_INVALID, "store: unknown write operation");
    }
    if (!e->rkey && new_key(t, &e->rkey, err) < 0) return -1;
    out->meta.type = cw_arena_dup(a, w->type);
    out->meta.id = cw_arena_dup(a, id);
    if (!out->meta.type.ptr || !out->meta.id.ptr)
        return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
    out->meta.version = e->version + 1;
    out->meta.last_updated = stamp(t->s);
    out->meta.deleted = false;
    out->created = e->version == 0;
    out->rkey = e->rkey;
    out->seq = ++t->stage_seq;
    e->staged = out->seq;
    return 0;
}

static int put_index_rows(struct cw_store_txn *t, long long rkey, cw_slice rtype,
                          const struct cw_store_index_row *rows, size_t nrows, bool *oom,
                          struct cw_err *err)
{
    unsigned seq[CW_WT_COUNT] = {0};
    struct cw_arena *a = t->arena;
    for (size_t i = 0; i < nrows; i++) {
        const struct cw_store_index_row *r = &rows[i];
        enum cw_wtab k;
        switch (r->type) {
        case CW_SP_STRING: k = CW_WT_STRING; break;
        case CW_SP_TOKEN: k = CW_WT_TOKEN; break;
        case CW_SP_DATE: k = CW_WT_DATE; break;
        case CW_SP_REFERENCE: k = CW_WT_REFERENCE; break;
        case CW_SP_QUANTITY: k = CW_WT_QUANTITY; break;
        case CW_SP_NUMBER: k = CW_WT_NUMBER; break;
        case CW_SP_URI: k = CW_WT_URI; break;
        default:
            t->failed = true;
            return cw_err_set(err, CW_ISSUE_INVALID, "store: index row %zu has no type", i);
        }
        if (r->param.len == 0 || r->param.len > 128) {
            t->failed = true;
            return cw_err_set(err, CW_ISSUE_INVALID, "store: index row %zu has a bad parameter code", i);
        }
        struct cw_sqlv *v = wrow(t, k, err);
        if (!v) return -1;
        v[0] = cw_sqlv_int(rkey);
        v[1] = cw_sqlv_int(seq[k]++);
        v[2] = cw_sqlv_text(rtype); /* rtype lives in the arena already (head row) */
        v[3] = wtext(t, r->param, oom);
        v[4] = cw_sqlv_int(r->comp);
        v[5] = cw_sqlv_int(r->group);
        switch (k) {
        case CW_WT_STRING:
            if (r->v.string.norm.ptr) {
                v[6] = wtext(t, r->v.string.norm, oom);
            } else {
                cw_slice norm = cw_store_fold(a, r->v.string.exact);
                if (!norm.ptr || (norm.len && memchr(norm.ptr, '\0', norm.len))) *oom = true;
                v[6] = cw_sqlv_text(norm);
            }
            v[7] = wtext(t, r->v.string.exact, oom);
            break;
        case CW_WT_TOKEN: {
            v[6] = wtext(t, r->v.token.system, oom);
            v[7] = wtext(t, r->v.token.code, oom);
            cw_slice f = cw_store_fold(a, r->v.token.text);
            if (!f.ptr || (f.len && memchr(f.ptr, '\0', f.len))) *oom = true;
            v[8] = cw_sqlv_text(f);
            break;
        }
        case CW_WT_DATE:
            if (r->v.date.lo > r->v.date.hi) {
                t->failed = true;
                return cw_err_set(err, CW_ISSUE_INVALID, "store: index row %zu: date range lo > hi", i);
            }
            v[6] = cw_sqlv_int(r->v.date.lo);
            v[7] = cw_sqlv_int(r->v.date.hi);
            break;
        case CW_WT_REFERENCE:
            v[6] = wtext(t, r->v.ref.type, oom);
            v[7] = wtext(t, r->v.ref.id, oom);
            v[8] = wtext(t, r->v.ref.version, oom);
            v[9] = wtext(t, r->v.ref.url, oom);
            break;
        case CW_WT_QUANTITY:
            v[6] = cw_sqlv_real(r->v.quantity.value);
            v[7] = wtext(t, r->v.quantity.system, oom);
            v[8] = wtext(t, r->v.quantity.code, oom);
            if (r->v.quantity.canon_code.len) {
                v[9] = cw_sqlv_real(r->v.quantity.canon_value);
                v[10] = wtext(t, r->v.quantity.canon_code, oom);
            } else {
                v[9] = cw_sqlv_real(r->v.quantity.value);
                v[10] = wtext(t, r->v.quantity.code, oom);
            }
            break;
        case CW_WT_NUMBER: v[6] = cw_sqlv_real(r->v.number.value); break;
        case CW_WT_URI: v[6] = wtext(t, r->v.uri.uri, oom); break;
        default: break;
        }
        if (k == CW_WT_QUANTITY || k == CW_WT_NUMBER) {
            double d = k == CW_WT_NUMBER ? r->v.number.value : r->v.quantity.value;
            if (d != d) {
                t->failed = true;
                return cw_err_set(err, CW_ISSUE_INVALID, "store: index row %zu: NaN", i);
            }
        }
    }
    return 0;
}

/* SHA-256 fetched once (an implicit fetch per digest costs a provider lookup). */
static EVP_MD *g_sha256;
static pthread_once_t g_sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static void hash_bytes(EVP_MD_CTX *ctx, const void *p, size_t n, bool *ok)
{
    uint64_t len = n;
    if (EVP_DigestUpdate(ctx, &len, sizeof len) != 1 || (n && EVP_DigestUpdate(ctx, p, n) != 1))
        *ok = false;
}

static void hash_slice(EVP_MD_CTX *ctx, cw_slice s, bool *ok)
{
    hash_bytes(ctx, s.ptr, s.ptr ? s.len : 0, ok);
}

/* The index rows into the hash, every field length-prefixed. */
static void hash_rows(EVP_MD_CTX *ctx, const struct cw_store_index_row *rows, size_t nrows, bool *ok)
{
    for (size_t i = 0; i < nrows && *ok; i++) {
        const struct cw_store_index_row *r = &rows[i];
        int32_t head[3] = {(int32_t)r->type, r->comp, (int32_t)r->group};
        hash_bytes(ctx, head, sizeof head, ok);
        hash_slice(ctx, r->param, ok);
        switch (r->type) {
        case CW_SP_STRING:
            hash_slice(ctx, r->v.string.norm, ok);
            hash_slice(ctx, r->v.string.exact, ok);
            break;
        case CW_SP_TOKEN:
            hash_slice(ctx, r->v.token.system, ok);
            hash_slice(ctx, r->v.token.code, ok);
            hash_slice(ctx, r->v.token.text, ok);
            break;
        case CW_SP_DATE: {
            int64_t d[2] = {r->v.date.lo, r->v.date.hi};
            hash_bytes(ctx, d, sizeof d, ok);
            break;
        }
        case CW_SP_REFERENCE:
            hash_slice(ctx, r->v.ref.type, ok);
            hash_slice(ctx, r->v.ref.id, ok);
            hash_slice(ctx, r->v.ref.version, ok);
            hash_slice(ctx, r->v.ref.url, ok);
            break;
        case CW_SP_QUANTITY: {
            double d[2] = {r->v.quantity.value, r->v.quantity.canon_value};
            hash_bytes(ctx, d, sizeof d, ok);
            hash_slice(ctx, r->v.quantity.system, ok);
            hash_slice(ctx, r->v.quantity.code, ok);
            hash_slice(ctx, r->v.quantity.canon_code, ok);
            break;
        }
        case CW_SP_NUMBER: hash_bytes(ctx, &r->v.number.value, sizeof r->v.number.value, ok); break;
        case CW_SP_URI: hash_slice(ctx, r->v.uri.uri, ok); break;
        default: break;
        }
    }
}

/*
 * The content hash of a version: SHA-256 over its text without the
 * `"versionId":"<v>","lastUpdated":"<t>"` that cw_store_meta_fill writes for
 * m (the rest is the resource as the client or converter gave it) and over
 * its index rows (so a change in what is indexed -- new search parameter
 * definitions -- is written even for equal text), as 32 hex digits in out.
 * Text without that pair (not written by meta_fill) gets out = "" and is
 * never taken as unchanged.
 */
static void content_hash(cw_slice json, const struct cw_store_meta *m,
                         const struct cw_store_index_row *rows, size_t nrows,
                         char out[CHASH_HEX + 1])
{
    out[0] = '\0';
    char lu[32], pair[96];
    cw_store_format_instant(m->last_updated, lu);
    int n = snprintf(pair, sizeof pair, "\"versionId\":\"%lld\",\"lastUpdated\":\"%s\"",
                     m->version, lu);
    if (n <= 0 || (size_t)n >= sizeof pair) return;
    /* meta_fill puts meta right after resourceType and id: look near the start */
    size_t window = json.len < 512 + m->id.len ? json.len : 512 + m->id.len;
    const char *at = memmem(json.ptr, window, pair, (size_t)n);
    if (!at) return;
    size_t head = (size_t)(at - json.ptr), tail = head + (size_t)n;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    pthread_once(&g_sha256_once, sha256_fetch);
    if (!g_sha256) return;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, g_sha256, NULL) == 1;
    if (ok) {
        hash_bytes(ctx, json.ptr, head, &ok);
        hash_bytes(ctx, json.ptr + tail, json.len - tail, &ok);
        hash_rows(ctx, rows, nrows, &ok);
    }
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen * 2 >= CHASH_HEX;
    EVP_MD_CTX_free(ctx);
    if (!ok) return;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < CHASH_HEX / 2; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[CHASH_HEX] = '\0';
}

int cw_store_put(struct cw_store_txn *t, struct cw_store_ticket *tk, cw_slice json,
                 const struct cw_store_index_row *rows, size_t nrows, struct cw_err *err)
{
    err_reset(err);
    if (need_write(t, err) < 0) return -1;
    struct pend_ent *e = pend_find(t, tk->meta.type, tk->meta.id);
    if (!e || !tk->seq || e->staged != tk->seq || e->rkey != tk->rkey)
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "store: stale or foreign ticket");
    if (json.len > t->s->opts.max_resource)
        return cw_err_set(err, CW_ISSUE_TOO_LONG, "store: resource is %zu bytes, limit %zu",
                          json.len, t->s->opts.max_resource);
    if (json.len == 0) return cw_err_set(err, CW_ISSUE_INVALID, "store: empty resource text");
    if (nrows > t->s->opts.max_index_rows)
        return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: %zu index rows, limit %zu", nrows,
                          t->s->opts.max_index_rows);
    if (memchr(json.ptr, '\0', json.len))
        return cw_err_set(err, CW_ISSUE_INVALID, "store: NUL byte in resource text");
    char chash[CHASH_HEX + 1];
    content_hash(json, &tk->meta, rows, nrows, chash);
    if (!t->s->opts.version_unchanged && e->version > 0 && !e->deleted && chash[0] &&
        memcmp(chash, e->chash, CHASH_HEX) == 0) {
        /* a no-op update: keep the current version (its rows are already there) */
        e->staged = 0;
        tk->unchanged = true;
        tk->created = false;
        tk->meta.version = e->version;
        tk->meta.last_updated = e->last_updated;
        return 0;
    }
    if (in_buffer(t, e) && cw_store_flush(t, err) < 0) return -1;
    bool existed = e->version > 0;
    bool oom = false;
    struct cw_sqlv *h = wrow(t, CW_WT_HEAD, err);
    if (!h) return -1;
    struct cw_sqlv type = wtext(t, tk->meta.type, &oom), id = wtext(t, tk->meta.id, &oom);
    h[0] = cw_sqlv_int(tk->rkey);
    h[1] = type;
    h[2] = id;
    h[3] = cw_sqlv_int(tk->meta.version);
    h[4] = cw_sqlv_int(tk->meta.last_updated);
    h[5] = cw_sqlv_int(0);
    h[6] = chash[0] ? wtext(t, cw_slice_make(chash, CHASH_HEX), &oom) : cw_sqlv_null();
    struct cw_sqlv *r = wrow(t, CW_WT_RES, err);
    if (!r) return -1;
    r[0] = cw_sqlv_int(tk->rkey);
    r[1] = cw_sqlv_int(tk->meta.version);
    r[2] = type;
    r[3] = id;
    r[4] = cw_sqlv_int(tk->meta.last_updated);
    r[5] = cw_sqlv_int(0);
    r[6] = wtext(t, json, &oom);
    if (existed && add_repl(t, tk->rkey, err) < 0) return -1;
    if (put_index_rows(t, tk->rkey, type.s, rows, nrows, &oom, err) < 0) return -1;
    if (oom) {
        t->failed = true;
        return cw_err_set(err, CW_ISSUE_INVALID,
                          "store: NUL byte in an index value, or the transaction buffer is full");
    }
    e->version = tk->meta.version;
    e->deleted = false;
    e->last_updated = tk->meta.last_updated;
    memcpy(e->chash, chash, sizeof e->chash);
    e->staged = 0;
    e->buf_gen = t->flush_gen + 1;
    return 0;
}

int cw_store_delete(struct cw_arena *a, struct cw_store_txn *t, cw_slice type, cw_slice id,
                    long long if_match, struct cw_store_meta *out, struct cw_err *err)
{
    err_reset(err);
    if (need_write(t, err) < 0) return -1;
    if (!cw_store_valid_type(type)) return cw_err_set(err, CW_ISSUE_INVALID, "store: invalid resource type");
    if (!cw_store_valid_id(id)) return cw_err_set(err, CW_ISSUE_INVALID, "store: invalid id");
    struct pend_ent *e;
    if (load_head(t, type, id, &e, err) < 0) return -1;
    if (e->version == 0)
        return cw_err_set(err, CW_ISSUE_NOT_FOUND, "store: %.*s/%.*s not found", CW_SLICE_FMT(type),
                          CW_SLICE_FMT(id));
    if (if_match && if_match != e->version)
        return precondition_failed(err, type, id, if_match, e->version);
    if (!e->deleted) {
        bool oom = false;
        long long version = e->version + 1;
        int64_t lu = stamp(t->s);
        struct cw_sqlv *h = wrow(t, CW_WT_HEAD, err);
        if (!h) return -1;
        struct cw_sqlv ty = wtext(t, type, &oom), idv = wtext(t, id, &oom);
        h[0] = cw_sqlv_int(e->rkey);
        h[1] = ty;
        h[2] = idv;
        h[3] = cw_sqlv_int(version);
        h[4] = cw_sqlv_int(lu);
        h[5] = cw_sqlv_int(1);
        h[6] = cw_sqlv_null();
        struct cw_sqlv *r = wrow(t, CW_WT_RES, err);
        if (!r) return -1;
        r[0] = cw_sqlv_int(e->rkey);
        r[1] = cw_sqlv_int(version);
        r[2] = ty;
        r[3] = idv;
        r[4] = cw_sqlv_int(lu);
        r[5] = cw_sqlv_int(1);
        r[6] = cw_sqlv_null();
        if (add_repl(t, e->rkey, err) < 0) return -1;
        if (oom) {
            t->failed = true;
            return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: transaction buffer limit");
        }
        e->version = version;
        e->deleted = true;
        e->last_updated = lu;
        e->chash[0] = '\0';
        e->staged = 0;
        e->buf_gen = t->flush_gen + 1;
    }
    if (out) {
        out->type = cw_arena_dup(a, type);
        out->id = cw_arena_dup(a, id);
        out->version = e->version;
        out->last_updated = e->last_updated;
        out->deleted = true;
    }
    return 0;
}

/* ---- meta ---- */

int cw_store_meta_fill(struct cw_arena *a, struct cw_json *res, const struct cw_store_meta *m,
                       struct cw_err *err)
{
    err_reset(err);
    if (!cw_json_is(res, CW_JSON_OBJECT))
        return cw_err_set(err, CW_ISSUE_STRUCTURE, "store: resource is not a JSON object");
    char *ver = cw_arena_printf(a, "%lld", m->version);
    char *lu = cw_arena_alloc_bytes(a, 32);
    if (!ver || !lu) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
    cw_store_format_instant(m->last_updated, lu);
    struct cw_json meta = cw_json_object();
    if (!cw_json_set(a, &meta, CW_LIT("versionId"), cw_json_string(cw_slice_cstr(ver))) ||
        !cw_json_set(a, &meta, CW_LIT("lastUpdated"), cw_json_string(cw_slice_cstr(lu))))
        return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
    const struct cw_json *old_meta = cw_json_get(res, "meta");
    if (old_meta && old_meta->type != CW_JSON_OBJECT)
        return cw_err_set(err, CW_ISSUE_STRUCTURE, "store: meta is not an object");
    if (old_meta)
        for (uint32_t i = 0; i < old_meta->len; i++) {
            const struct cw_json_member *mm = &old_meta->u.members[i];
            if (cw_slice_eq_cstr(mm->key, "versionId") || cw_slice_eq_cstr(mm->key, "lastUpdated"))
                continue;
            if (!cw_json_set(a, &meta, mm->key, mm->value))
                return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
        }
    /* Rebuild the top level: resourceType, id, meta, then everything else in order. */
    struct cw_json obj = cw_json_object();
    const struct cw_json *rt = cw_json_get(res, "resourceType");
    if (rt && !cw_json_set(a, &obj, CW_LIT("resourceType"), *rt)) goto oom;
    if (!cw_json_set(a, &obj, CW_LIT("id"), cw_json_string(m->id))) goto oom;
    if (!cw_json_set(a, &obj, CW_LIT("meta"), meta)) goto oom;
    for (uint32_t i = 0; i < res->len; i++) {
        const struct cw_json_member *mm = &res->u.members[i];
        if (cw_slice_eq_cstr(mm->key, "resourceType") || cw_slice_eq_cstr(mm->key, "id") ||
            cw_slice_eq_cstr(mm->key, "meta"))
            continue;
        if (!cw_json_set(a, &obj, mm->key, mm->value)) goto oom;
    }
    *res = obj;
    return 0;
oom:
    return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
}

int cw_store_write_tree(struct cw_arena *a, struct cw_store_txn *t, const struct cw_store_write *w,
                        struct cw_json *resource, const struct cw_store_index_row *rows,
                        size_t nrows, struct cw_store_resource *out, struct cw_err *err)
{
    struct cw_store_ticket tk;
    if (cw_store_stage(a, t, w, &tk, err) < 0) return -1;
    if (cw_store_meta_fill(a, resource, &tk.meta, err) < 0) return -1;
    struct cw_buf b;
    cw_buf_init(&b, t->s->opts.max_resource + 1);
    if (cw_json_write(&b, resource, 0) < 0) {
        cw_buf_release(&b);
        return cw_err_set(err, CW_ISSUE_TOO_LONG, "store: resource over %zu bytes",
                          t->s->opts.max_resource);
    }
    int rc = cw_store_put(t, &tk, cw_buf_slice(&b), rows, nrows, err);
    if (rc == 0 && tk.unchanged) {
        /* a no-op update: the tree and text take the current version's meta */
        cw_buf_reset(&b);
        if (cw_store_meta_fill(a, resource, &tk.meta, err) < 0) rc = -1;
        else if (cw_json_write(&b, resource, 0) < 0)
            rc = cw_err_set(err, CW_ISSUE_TOO_LONG, "store: resource over %zu bytes",
                            t->s->opts.max_resource);
    }
    if (rc == 0 && out) {
        out->meta = tk.meta;
        out->json = cw_arena_dup(a, cw_buf_slice(&b));
    }
    cw_buf_release(&b);
    return rc;
}

/* ---- reads ---- */

struct res_ctx {
    struct cw_arena *a;
    struct cw_store_resource *r;
    bool found;
};

static int res_cb(void *ctx, const struct cw_sqlv *c, int n, struct cw_err *err)
{
    struct res_ctx *x = ctx;
    if (n < 4) return 1;
    x->found = true;
    x->r->meta.version = cw_store_col_int(&c[0]);
    x->r->meta.last_updated = cw_store_col_int(&c[1]);
    x->r->meta.deleted = cw_store_col_int(&c[2]) != 0;
    x->r->json = cw_store_col_text(x->a, &c[3]);
    if (c[3].type == CW_SQLV_TEXT && !x->r->json.len && c[3].s.len)
        return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
    return 1;
}

static int read_common(struct cw_arena *a, struct cw_store_txn *t, cw_slice type, cw_slice id,
                       long long version, struct cw_store_resource *out, struct cw_err *err)
{
    err_reset(err);
    memset(out, 0, sizeof *out);
    if (!cw_store_valid_type(type)) return cw_err_set(err, CW_ISSUE_INVALID, "store: invalid resource type");
    if (!cw_store_valid_id(id))
        return cw_err_set(err, CW_ISSUE_NOT_FOUND, "store: %.*s with an invalid id not found",
                          CW_SLICE_FMT(type));
    if (cw_store_flush(t, err) < 0) return -1;
    struct res_ctx x = {a, out, false};
    struct cw_sqlv p[3] = {cw_sqlv_text(type), cw_sqlv_text(id), cw_sqlv_int(version)};
    int rc;
    if (version > 0)
        rc = cw_store_exec(t,
                           "SELECT r.version, r.last_updated, r.deleted, r.json FROM resource_current h "
                           "JOIN resource r ON r.rkey = h.rkey WHERE h.type = ? AND h.id = ? "
                           "AND r.version = ?",
                           true, p, 3, res_cb, &x, NULL, err);
    else
        rc = cw_store_exec(t,
                           "SELECT h.version, h.last_updated, h.deleted, r.json FROM resource_current h "
                           "JOIN resource r ON r.rkey = h.rkey AND r.version = h.version "
                           "WHERE h.type = ? AND h.id = ?",
                           true, p, 2, res_cb, &x, NULL, err);
    if (rc < 0) return -1;
    if (!x.found) {
        if (version > 0)
            return cw_err_set(err, CW_ISSUE_NOT_FOUND, "store: %.*s/%.*s version %lld not found",
                              CW_SLICE_FMT(type), CW_SLICE_FMT(id), version);
        return cw_err_set(err, CW_ISSUE_NOT_FOUND, "store: %.*s/%.*s not found", CW_SLICE_FMT(type),
                          CW_SLICE_FMT(id));
    }
    out->meta.type = cw_arena_dup(a, type);
    out->meta.id = cw_arena_dup(a, id);
    if (out->meta.deleted)
        return cw_err_set(err, CW_ISSUE_DELETED, "store: %.*s/%.*s is deleted", CW_SLICE_FMT(type),
                          CW_SLICE_FMT(id));
    return 0;
}

int cw_store_read(struct cw_arena *a, struct cw_store_txn *t, cw_slice type, cw_slice id,
                  struct cw_store_resource *out, struct cw_err *err)
{
    return read_common(a, t, type, id, 0, out, err);
}

int cw_store_vread(struct cw_arena *a, struct cw_store_txn *t, cw_slice type, cw_slice id,
                   long long version, struct cw_store_resource *out, struct cw_err *err)
{
    if (version < 1) {
        memset(out, 0, sizeof *out);
        return cw_err_set(err, CW_ISSUE_NOT_FOUND, "store: version %lld not found", version);
    }
    return read_common(a, t, type, id, version, out, err);
}

/* ---- history ---- */

struct list_ctx {
    struct cw_arena *a;
    struct cw_store_resource *items;
    long long *keys; /* rkey per item */
    size_t n, cap;
    bool oom;
};

static int hist_cb(void *ctx, const struct cw_sqlv *c, int n, struct cw_err *err)
{
    (void)err;
    struct list_ctx *x = ctx;
    if (n < 7 || x->n >= x->cap) return 1;
    struct cw_store_resource *r = &x->items[x->n];
    x->keys[x->n] = cw_store_col_int(&c[0]);
    r->meta.version = cw_store_col_int(&c[1]);
    r->meta.type = cw_store_col_text(x->a, &c[2]);
    r->meta.id = cw_store_col_text(x->a, &c[3]);
    r->meta.last_updated = cw_store_col_int(&c[4]);
    r->meta.deleted = cw_store_col_int(&c[5]) != 0;
    r->json = cw_store_col_text(x->a, &c[6]);
    if (cw_arena_exceeded(x->a)) {
        x->oom = true;
        return 1;
    }
    x->n++;
    return 0;
}

static int parse_cursor3(cw_slice c, long long v[3])
{
    /* "h<lu>.<rkey>.<version>" */
    if (c.len < 2 || c.ptr[0] != 'h') return -1;
    size_t at = 1;
    for (int i = 0; i < 3; i++) {
        size_t start = at;
        while (at < c.len && c.ptr[at] != '.') at++;
        if (cw_slice_to_i64(cw_slice_sub(c, start, at - start), &v[i]) < 0) return -1;
        if (i < 2) {
            if (at >= c.len) return -1;
            at++;
        }
    }
    return at == c.len ? 0 : -1;
}

int cw_store_history(struct cw_arena *a, struct cw_store_txn *t,
                     const struct cw_store_history_query *q, struct cw_store_page *out,
                     struct cw_err *err)
{
    err_reset(err);
    memset(out, 0, sizeof *out);
    out->total = -1;
    if (q->type.len && !cw_store_valid_type(q->type))
        return cw_err_set(err, CW_ISSUE_INVALID, "store: invalid resource type");
    if (q->id.len && (!q->type.len || !cw_store_valid_id(q->id)))
        return cw_err_set(err, CW_ISSUE_INVALID, "store: invalid id");
    unsigned count = q->count ? q->count : t->s->opts.max_page;
    if (count > t->s->opts.max_page) count = t->s->opts.max_page;
    if (cw_store_flush(t, err) < 0) return -1;
    long long cur[3];
    bool has_cursor = q->cursor.len > 0;
    if (has_cursor && parse_cursor3(q->cursor, cur) < 0)
        return cw_err_set(err, CW_ISSUE_INVALID, "store: bad history cursor");
    struct cw_buf sql;
    cw_buf_init(&sql, 4096);
    struct cw_sqlv p[10];
    int np = 0;
    cw_buf_puts(&sql, "SELECT r.rkey, r.version, r.type, r.id, r.last_updated, r.deleted, r.json "
                      "FROM resource r WHERE ");
    if (q->id.len) {
        /* The instance must exist (404 otherwise). */
        struct cw_sqlv hp[2] = {cw_sqlv_text(q->type), cw_sqlv_text(q->id)};
        long long rkey = 0;
        if (cw_store_exec(t, "SELECT rkey FROM resource_current WHERE type = ? AND id = ?", true,
                          hp, 2, row_int1, &rkey, NULL, err) < 0) {
            cw_buf_release(&sql);
            return -1;
        }
        if (!rkey) {
            cw_buf_release(&sql);
            return cw_err_set(err, CW_ISSUE_NOT_FOUND, "store: %.*s/%.*s not found",
                              CW_SLICE_FMT(q->type), CW_SLICE_FMT(q->id));
        }
        cw_buf_puts(&sql, "r.rkey = ?");
        p[np++] = cw_sqlv_int(rkey);
    } else if (q->type.len) {
        cw_buf_puts(&sql, "r.type = ?");
        p[np++] = cw_sqlv_text(q->type);
    } else {
        cw_buf_puts(&sql, "1 = 1");
    }
    if (q->has_since) {
        cw_buf_puts(&sql, " AND r.last_updated >= ?");
        p[np++] = cw_sqlv_int(q->since);
    }
    if (has_cursor) {
        cw_buf_puts(&sql, " AND (r.last_updated < ? OR (r.last_updated = ? AND (r.rkey < ? OR "
                          "(r.rkey = ? AND r.version < ?))))");
        p[np++] = cw_sqlv_int(cur[0]);
        p[np++] = cw_sqlv_int(cur[0]);
        p[np++] = cw_sqlv_int(cur[1]);
        p[np++] = cw_sqlv_int(cur[1]);
        p[np++] = cw_sqlv_int(cur[2]);
    }
    cw_buf_puts(&sql, " ORDER BY r.last_updated DESC, r.rkey DESC, r.version DESC LIMIT ?");
    p[np++] = cw_sqlv_int((long long)count + 1);
    struct list_ctx x = {.a = a, .cap = (size_t)count + 1};
    x.items = cw_arena_zalloc(a, x.cap * sizeof *x.items);
    x.keys = cw_arena_alloc(a, x.cap * sizeof *x.keys);
    if (!x.items || !x.keys || cw_buf_failed(&sql)) {
        cw_buf_release(&sql);
        return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
    }
    int rc = cw_store_exec(t, cw_buf_cstr(&sql), true, p, np, hist_cb, &x, NULL, err);
    cw_buf_release(&sql);
    if (rc < 0) return -1;
    if (x.oom) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
    if (x.n > count) {
        struct cw_store_resource *last = &x.items[count - 1];
        char *c = cw_arena_printf(a, "h%lld.%lld.%lld", (long long)last->meta.last_updated,
                                  x.keys[count - 1], last->meta.version);
        if (!c) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
        out->next_cursor = cw_slice_cstr(c);
        x.n = count;
    }
    out->items = x.items;
    out->n = x.n;
    out->nmatch = x.n;
    return 0;
}

/* ---- jobs ---- */

#define JOB_COLS "id, kind, payload, state, attempts, max_attempts, run_after, locked_by, locked_until, last_error"

struct job_ctx {
    struct cw_arena *a;
    struct cw_store_job *jobs;
    size_t n, cap;
};

static int job_cb(void *ctx, const struct cw_sqlv *c, int n, struct cw_err *err)
{
    (void)err;
    struct job_ctx *x = ctx;
    if (n < 10 || x->n >= x->cap) return 1;
    struct cw_store_job *j = &x->jobs[x->n++];
    j->id = cw_store_col_int(&c[0]);
    j->kind = cw_store_col_text(x->a, &c[1]);
    j->payload = cw_store_col_text(x->a, &c[2]);
    j->state = (enum cw_store_job_state)cw_store_col_int(&c[3]);
    j->attempts = (int)cw_store_col_int(&c[4]);
    j->max_attempts = (int)cw_store_col_int(&c[5]);
    j->run_after = cw_store_col_int(&c[6]);
    j->locked_by = cw_store_col_text(x->a, &c[7]);
    j->locked_until = cw_store_col_int(&c[8]);
    j->last_error = cw_store_col_text(x->a, &c[9]);
    return 0;
}

int cw_store_job_enqueue(struct cw_store_txn *t, cw_slice kind, cw_slice payload,
                         int64_t run_after, int max_attempts, long long *id, struct cw_err *err)
{
    err_reset(err);
    if (need_write(t, err) < 0) return -1;
    if (kind.len == 0 || kind.len > 64) return cw_err_set(err, CW_ISSUE_INVALID, "store: bad job kind");
    if (payload.len > t->s->opts.max_resource)
        return cw_err_set(err, CW_ISSUE_TOO_LONG, "store: job payload too large");
    if (max_attempts <= 0) max_attempts = 5;
    int64_t now = cw_store_now();
    struct cw_sqlv p[5] = {cw_sqlv_text(kind), cw_sqlv_text(payload), cw_sqlv_int(max_attempts),
                           cw_sqlv_int(run_after), cw_sqlv_int(now)};
    long long jid = 0;
    if (cw_store_exec(t,
                      "INSERT INTO job (kind, payload, state, attempts, max_attempts, run_after, "
                      "locked_until, updated) VALUES (?, ?, 0, 0, ?, ?, 0, ?) RETURNING id",
                      true, p, 5, row_int1, &jid, NULL, err) < 0)
        return -1;
    if (id) *id = jid;
    return 0;
}

static int job_order(const void *pa, const void *pb)
{
    const struct cw_store_job *a = pa, *b = pb;
    if (a->run_after != b->run_after) return a->run_after < b->run_after ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

int cw_store_job_claim(struct cw_arena *a, struct cw_store_txn *t, cw_slice kind,
                       cw_slice worker, int64_t lease_us, size_t max, struct cw_store_job **jobs,
                       size_t *n, struct cw_err *err)
{
    err_reset(err);
    *jobs = NULL;
    *n = 0;
    if (need_write(t, err) < 0) return -1;
    if (worker.len == 0 || worker.len > 128) return cw_err_set(err, CW_ISSUE_INVALID, "store: bad worker name");
    if (max == 0) return 0;
    if (max > 1000) max = 1000;
    int64_t now = cw_store_now();
    /* Leases that expired on the last attempt end the job. */
    struct cw_sqlv fp[3] = {cw_sqlv_int(now), cw_sqlv_text(kind), cw_sqlv_int(now)};
    if (cw_store_exec(t,
                      "UPDATE job SET state = 3, locked_by = NULL, last_error = 'lease-expired', "
                      "updated = ? WHERE kind = ? AND state = 1 AND locked_until < ? "
                      "AND attempts >= max_attempts",
                      true, fp, 3, NULL, NULL, NULL, err) < 0)
        return -1;
    char sql[1024];
    snprintf(sql, sizeof sql,
             "UPDATE job SET state = 1, locked_by = ?, locked_until = ?, attempts = attempts + 1, "
             "updated = ? WHERE id IN (SELECT id FROM job WHERE kind = ? AND ((state = 0 AND "
             "run_after <= ?) OR (state = 1 AND locked_until < ?)) ORDER BY run_after, id LIMIT ?%s) "
             "RETURNING " JOB_COLS,
             t->s->ops->skip_locked);
    struct cw_sqlv p[7] = {cw_sqlv_text(worker), cw_sqlv_int(now + lease_us), cw_sqlv_int(now),
                           cw_sqlv_text(kind),   cw_sqlv_int(now),            cw_sqlv_int(now),
                           cw_sqlv_int((long long)max)};
    struct job_ctx x = {.a = a, .cap = max};
    x.jobs = cw_arena_zalloc(a, max * sizeof *x.jobs);
    if (!x.jobs) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "store: arena limit");
    if (cw_store_exec(t, sql, true, p, 7, job_cb, &x, NULL, err) < 0) return -1;
    qsort(x.jobs, x.n, sizeof *x.jobs, job_order);
    *jobs = x.jobs;
    *n = x.n;
    return 0;
}

int cw_store_job_complete(struct cw_store_txn *t, long long id, cw_slice worker,
                          struct cw_err *err)
{
    err_reset(err);
    if (need_write(t, err) < 0) return -1;
    struct cw_sqlv p[3] = {cw_sqlv_int(cw_store_now()), cw_sqlv_int(id), cw_sqlv_text(worker)};
    long long ch = 0;
    if (cw_store_exec(t,
                      "UPDATE job SET state = 2, locked_by = NULL, updated = ? "
                      "WHERE id = ? AND state = 1 AND locked_by = ?",
                      true, p, 3, NULL, NULL, &ch, err) < 0)
        return -1;
    if (ch != 1) return cw_err_set(err, CW_ISSUE_CONFLICT, "store: job %lld is not held by this worker", id);
    return 0;
}

int cw_store_job_fail(struct cw_store_txn *t, long long id, cw_slice worker, int64_t retry_at,
                      cw_slice error_code, struct cw_err *err)
{
    err_reset(err);
    if (need_write(t, err) < 0) return -1;
    if (error_code.len > 256) error_code.len = 256;
    struct cw_sqlv p[5] = {cw_sqlv_int(retry_at), cw_sqlv_text(error_code),
                           cw_sqlv_int(cw_store_now()), cw_sqlv_int(id), cw_sqlv_text(worker)};
    long long ch = 0;
    if (cw_store_exec(t,
                      "UPDATE job SET state = CASE WHEN attempts >= max_attempts THEN 3 ELSE 0 END, "
                      "run_after = ?, locked_by = NULL, locked_until = 0, last_error = ?, updated = ? "
                      "WHERE id = ? AND state = 1 AND locked_by = ?",
                      true, p, 5, NULL, NULL, &ch, err) < 0)
        return -1;
    if (ch != 1) return cw_err_set(err, CW_ISSUE_CONFLICT, "store: job %lld is not held by this worker", id);
    return 0;
}

int cw_store_job_get(struct cw_arena *a, struct cw_store_txn *t, long long id,
                     struct cw_store_job *out, struct cw_err *err)
{
    err_reset(err);
    memset(out, 0, sizeof *out);
    struct cw_sqlv p = cw_sqlv_int(id);
    struct job_ctx x = {.a = a, .jobs = out, .cap = 1};
    if (cw_store_exec(t, "SELECT " JOB_COLS " FROM job WHERE id = ?", true, &p, 1, job_cb, &x, NULL,
                      err) < 0)
        return -1;
    if (!x.n) return cw_err_set(err, CW_ISSUE_NOT_FOUND, "store: job %lld not found", id);
    return 0;
}
