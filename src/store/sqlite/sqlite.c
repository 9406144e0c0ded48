/*
 * sqlite.c — the SQLite backend of the store: one writer connection with
 * group commit, a pool of reader connections, cached prepared statements.
 *
 * Owns: the database connections (struct sq_conn) with their statement
 * caches, the lock file that keeps a second process off the database, and
 * the writer's group-commit state.
 *
 * Group commit (ARCHITECTURE.md "SQLite tuning"; docs/internals/store.md):
 * the writer connection is owned by one write transaction at a time (the
 * 'busy' flag under 'mu'), and that transaction runs its statements on the
 * calling thread. The first member of a group opens the SQLite transaction
 * (BEGIN IMMEDIATE); each member works inside its own SAVEPOINT. On commit a
 * member RELEASEs its savepoint and, if other transactions wait for the
 * writer and the group is not full, hands the connection over and sleeps
 * until some later member — the leader — COMMITs the whole group and wakes
 * every member with the outcome. A member that rolls back undoes only its
 * savepoint. Outcome: the same as running the members one after the other,
 * with one commit (one WAL append + lock round) per group instead of per
 * transaction; a failed group COMMIT fails every member.
 *
 * Why no dedicated writer thread: with interactive transactions (read the
 * current version, then write) a writer thread would cost two thread
 * hand-offs per statement; here only the commit hands over, and only when
 * someone is waiting. docs/performance.md ("Store") has the measurements.
 *
 * Invariants:
 *  - Only the owner of the writer (busy) touches the writer connection.
 *  - outer_open <=> a BEGIN IMMEDIATE is active on the writer connection.
 *  - Group members (group list) are blocked in sq_commit until the leader
 *    sets their 'done'.
 *  - A reader connection is in at most one transaction; 'query_only' is on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "store/store_int.h"

#define STMT_CACHE 256 /* per connection; power of two */
#define MAX_COLS 32

struct sq_stmt {
    uint64_t hash;
    char *sql;
    sqlite3_stmt *st;
};

struct sq_conn {
    sqlite3 *db;
    struct sq_stmt cache[STMT_CACHE];
    size_t ncached;
    int64_t deadline; /* progress handler interrupts past this (us), 0 = none */
    struct sq_conn *next_idle;
};

struct sq_waiter {
    bool done;
    int rc;
    struct cw_err *err;
    struct sq_waiter *next;
};

struct sq_store {
    char *path;
    int lock_fd;
    unsigned timeout_ms, wait_ms, group_max, max_readers;
    bool sync_normal; /* synchronous=NORMAL instead of FULL (opts.sync_normal) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* writer */
    struct sq_conn *writer;
    bool busy;            /* a write transaction owns the writer */
    unsigned waiting;     /* threads waiting in begin for the writer */
    bool outer_open;      /* BEGIN IMMEDIATE active */
    unsigned group_n;     /* members released into the open transaction */
    struct sq_waiter *group;
    long long next_key;   /* 0 = not loaded */
    /* readers */
    struct sq_conn *idle;
    unsigned nreaders;
    /* checkpointer: its own connection and thread, woken by the writer's WAL hook */
    struct sq_conn *ckpt;
    pthread_t ckpt_thread;
    bool ckpt_running, ckpt_stop;
    int wal_pages;        /* WAL size reported by the last commit */
    int wal_last;         /* for counting frames written */
    long long wal_frames; /* frames appended since open (statistics) */
    long long commits;
    pthread_mutex_t ckpt_mu;
    pthread_cond_t ckpt_cv;
};

/* Checkpoint when the WAL holds this many pages (8 KiB each): 128 MiB. Pages
   written again before the checkpoint are copied once. */
#define CKPT_PAGES 16384
/* Past this the checkpoint waits for readers and blocks the writer (RESTART),
   so the WAL cannot grow without bound: 1 GiB. */
#define CKPT_HARD_PAGES 262144

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int progress(void *arg)
{
    struct sq_conn *c = arg;
    return c->deadline && mono_us() > c->deadline;
}

static int sq_error(struct cw_err *err, sqlite3 *db, int rc, const char *what)
{
    int prim = rc & 0xff;
    enum cw_store_dberr kind = CW_DBERR_OTHER;
    if (prim == SQLITE_CONSTRAINT) kind = CW_DBERR_CONSTRAINT;
    else if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED) kind = CW_DBERR_BUSY;
    else if (prim == SQLITE_INTERRUPT) kind = CW_DBERR_TIMEOUT;
    char msg[200];
    /* SQLite's messages name tables and columns, never values. */
    snprintf(msg, sizeof msg, "%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    return cw_store_db_error(err, kind, "sqlite", msg);
}

static uint64_t hash_sql(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h | 1; /* 0 marks an empty slot */
}

static void cache_clear(struct sq_conn *c)
{
    for (size_t i = 0; i < STMT_CACHE; i++) {
        if (c->cache[i].hash) {
            sqlite3_finalize(c->cache[i].st);
            free(c->cache[i].sql);
            c->cache[i] = (struct sq_stmt){0};
        }
    }
    c->ncached = 0;
}

static void conn_close(struct sq_conn *c)
{
    if (!c) return;
    cache_clear(c);
    sqlite3_close_v2(c->db);
    free(c);
}

static int simple(struct sq_conn *c, const char *sql, struct cw_err *err)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) return sq_error(err, c->db, rc, "statement failed");
    return 0;
}

static int conn_open(struct sq_store *q, bool reader, struct sq_conn **out, struct cw_err *err)
{
    struct sq_conn *c = calloc(1, sizeof *c);
    if (!c) return cw_err_set(err, CW_ISSUE_EXCEPTION, "sqlite: out of memory");
    int rc = sqlite3_open_v2(q->path, &c->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        sq_error(err, c->db, rc, "cannot open the database");
        sqlite3_close_v2(c->db);
        free(c);
        return -1;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, (int)q->wait_ms);
    sqlite3_progress_handler(c->db, 10000, progress, c);
    /* page_size applies when the database is created: 8 KiB pages halve the WAL
       frames (two write calls each) of an index-heavy commit against 4 KiB
       (docs/performance.md, "Store"). */
    char pragmas[512];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA page_size=8192; PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=OFF; "
             "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-%d; PRAGMA query_only=%d;",
             q->sync_normal ? "NORMAL" : "FULL", reader ? 16384 : 65536, reader ? 1 : 0);
    if (simple(c, pragmas, err) < 0) {
        conn_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

/*
 * Checkpoints run here, not in the committing thread: SQLite's automatic
 * checkpoint would make every commit that crosses the threshold copy the WAL
 * into the database and fsync both (tens of milliseconds) while holding the
 * writer. PASSIVE never blocks the writer or readers.
 */
static void *ckpt_main(void *arg)
{
    struct sq_store *q = arg;
    pthread_mutex_lock(&q->ckpt_mu);
    for (;;) {
        while (!q->ckpt_stop && q->wal_pages < CKPT_PAGES) pthread_cond_wait(&q->ckpt_cv, &q->ckpt_mu);
        if (q->ckpt_stop) break;
        int pages = q->wal_pages;
        q->wal_pages = 0;
        pthread_mutex_unlock(&q->ckpt_mu);
        int mode = pages >= CKPT_HARD_PAGES ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE;
        int rc = sqlite3_wal_checkpoint_v2(q->ckpt->db, NULL, mode, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            cw_log(CW_LOG_WARN, "store.sqlite.checkpoint_failed", CW_LOG_INT("code", rc));
        pthread_mutex_lock(&q->ckpt_mu);
    }
    pthread_mutex_unlock(&q->ckpt_mu);
    return NULL;
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    struct sq_store *q = arg;
    pthread_mutex_lock(&q->ckpt_mu);
    q->wal_pages = pages;
    q->wal_frames += pages > q->wal_last ? pages - q->wal_last : pages;
    q->wal_last = pages;
    q->commits++;
    if (pages >= CKPT_PAGES) pthread_cond_signal(&q->ckpt_cv);
    pthread_mutex_unlock(&q->ckpt_mu);
    return SQLITE_OK;
}

static int sq_open(struct cw_store *s, const char *url, struct cw_err *err)
{
    const char *path = url + 7; /* "sqlite:" */
    if (!*path) return cw_err_set(err, CW_ISSUE_INVALID, "sqlite: empty path in store URL");
    if (strcmp(path, ":memory:") == 0)
        return cw_err_set(err, CW_ISSUE_NOT_SUPPORTED,
                          "sqlite: in-memory databases cannot be shared by the reader connections; "
                          "use a file (a temporary directory for tests)");
    if (sqlite3_threadsafe() == 0)
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "sqlite: library built without thread support");
    struct sq_store *q = calloc(1, sizeof *q);
    if (!q) return cw_err_set(err, CW_ISSUE_EXCEPTION, "sqlite: out of memory");
    q->path = strdup(path);
    q->lock_fd = -1;
    q->timeout_ms = s->opts.statement_timeout_ms;
    q->wait_ms = s->opts.wait_ms;
    q->group_max = s->opts.group_max;
    q->sync_normal = s->opts.sync_normal;
    q->max_readers = s->opts.connections;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    pthread_mutex_init(&q->ckpt_mu, NULL);
    pthread_cond_init(&q->ckpt_cv, NULL);
    s->impl = q;
    /* One process per database: the writer's in-memory state (key counter,
       group commit) assumes it. */
    char lock[PATH_MAX];
    if (!q->path || snprintf(lock, sizeof lock, "%s.lock", path) >= (int)sizeof lock) {
        cw_err_set(err, CW_ISSUE_INVALID, "sqlite: path too long");
        goto fail;
    }
    q->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (q->lock_fd < 0) {
        cw_err_set(err, CW_ISSUE_EXCEPTION, "sqlite: cannot create the lock file (errno %d)", errno);
        goto fail;
    }
    if (flock(q->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        cw_err_set(err, CW_ISSUE_LOCK_ERROR, "sqlite: the database is in use by another process");
        goto fail;
    }
    if (conn_open(q, false, &q->writer, err) < 0) goto fail;
    if (conn_open(q, false, &q->ckpt, err) < 0) goto fail;
    sqlite3_wal_autocheckpoint(q->writer->db, 0);
    sqlite3_wal_hook(q->writer->db, wal_hook, q);
    if (pthread_create(&q->ckpt_thread, NULL, ckpt_main, q) != 0) {
        cw_err_set(err, CW_ISSUE_EXCEPTION, "sqlite: cannot start the checkpoint thread");
        goto fail;
    }
    q->ckpt_running = true;
    return 0;
fail:
    conn_close(q->ckpt);
    conn_close(q->writer);
    if (q->lock_fd >= 0) close(q->lock_fd);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->ckpt_cv);
    pthread_mutex_destroy(&q->ckpt_mu);
    free(q->path);
    free(q);
    s->impl = NULL;
    return -1;
}

static void sq_close(struct cw_store *s)
{
    struct sq_store *q = s->impl;
    if (!q) return;
    if (q->ckpt_running) {
        pthread_mutex_lock(&q->ckpt_mu);
        q->ckpt_stop = true;
        pthread_cond_signal(&q->ckpt_cv);
        pthread_mutex_unlock(&q->ckpt_mu);
        pthread_join(q->ckpt_thread, NULL);
    }
    conn_close(q->ckpt);
    cw_log(CW_LOG_DEBUG, "store.sqlite.close", CW_LOG_INT("commits", q->commits),
           CW_LOG_INT("wal_frames", q->wal_frames));
    if (q->writer) {
        /* Keep the planner's statistics current (cheap; SQLite's advice at close). */
        sqlite3_exec(q->writer->db, "PRAGMA optimize", NULL, NULL, NULL);
        /* Fold the WAL back so the database file is complete on its own. */
        sqlite3_wal_checkpoint_v2(q->writer->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        conn_close(q->writer);
    }
    while (q->idle) {
        struct sq_conn *c = q->idle;
        q->idle = c->next_idle;
        conn_close(c);
    }
    if (q->lock_fd >= 0) close(q->lock_fd);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->ckpt_cv);
    pthread_mutex_destroy(&q->ckpt_mu);
    free(q->path);
    free(q);
    s->impl = NULL;
}

/* Absolute CLOCK_REALTIME deadline ms from now, for pthread_cond_timedwait. */
static struct timespec deadline_in(unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* ---- statements ---- */

static int get_stmt(struct sq_conn *c, const char *sql, bool cache, sqlite3_stmt **st,
                    struct cw_err *err)
{
    if (cache) {
        uint64_t h = hash_sql(sql);
        size_t i = h & (STMT_CACHE - 1);
        for (size_t k = 0; k < STMT_CACHE; k++, i = (i + 1) & (STMT_CACHE - 1)) {
            if (!c->cache[i].hash) break;
            if (c->cache[i].hash == h && strcmp(c->cache[i].sql, sql) == 0) {
                *st = c->cache[i].st;
                return 1;
            }
        }
        if (c->ncached >= STMT_CACHE * 3 / 4) cache_clear(c);
        int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
        if (rc != SQLITE_OK) return sq_error(err, c->db, rc, "prepare failed");
        char *copy = strdup(sql);
        if (!copy) {
            sqlite3_finalize(*st);
            return cw_err_set(err, CW_ISSUE_EXCEPTION, "sqlite: out of memory");
        }
        i = h & (STMT_CACHE - 1);
        while (c->cache[i].hash) i = (i + 1) & (STMT_CACHE - 1);
        c->cache[i] = (struct sq_stmt){h, copy, *st};
        c->ncached++;
        return 1;
    }
    int rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) return sq_error(err, c->db, rc, "prepare failed");
    return 0;
}

static int conn_exec(struct sq_conn *c, unsigned timeout_ms, const char *sql, bool cache,
                     const struct cw_sqlv *p, int np, cw_sql_row_fn fn, void *ctx,
                     long long *changes, struct cw_err *err)
{
    sqlite3_stmt *st;
    int cached = get_stmt(c, sql, cache, &st, err);
    if (cached < 0) return -1;
    int rc = SQLITE_OK;
    if (sqlite3_bind_parameter_count(st) != np) {
        cw_err_set(err, CW_ISSUE_EXCEPTION, "sqlite: statement wants %d parameters, got %d",
                   sqlite3_bind_parameter_count(st), np);
        goto done_err;
    }
    for (int i = 0; i < np && rc == SQLITE_OK; i++) {
        switch (p[i].type) {
        case CW_SQLV_INT: rc = sqlite3_bind_int64(st, i + 1, p[i].i); break;
        case CW_SQLV_REAL: rc = sqlite3_bind_double(st, i + 1, p[i].d); break;
        case CW_SQLV_TEXT:
            rc = sqlite3_bind_text(st, i + 1, p[i].s.ptr ? p[i].s.ptr : "", (int)p[i].s.len,
                                   SQLITE_STATIC);
            break;
        default: rc = sqlite3_bind_null(st, i + 1); break;
        }
    }
    if (rc != SQLITE_OK) {
        sq_error(err, c->db, rc, "bind failed");
        goto done_err;
    }
    c->deadline = timeout_ms ? mono_us() + (int64_t)timeout_ms * 1000 : 0;
    struct cw_sqlv cols[MAX_COLS];
    bool stopped = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!fn || stopped) continue;
        int nc = sqlite3_column_count(st);
        if (nc > MAX_COLS) nc = MAX_COLS;
        for (int i = 0; i < nc; i++) {
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_INTEGER: cols[i] = cw_sqlv_int(sqlite3_column_int64(st, i)); break;
            case SQLITE_FLOAT: cols[i] = cw_sqlv_real(sqlite3_column_double(st, i)); break;
            case SQLITE_NULL: cols[i] = cw_sqlv_null(); break;
            default: {
                const char *tx = (const char *)sqlite3_column_text(st, i);
                int n = sqlite3_column_bytes(st, i);
                cols[i] = (struct cw_sqlv){.type = CW_SQLV_TEXT, .s = {tx ? tx : "", (size_t)n}};
                break;
            }
            }
        }
        int r = fn(ctx, cols, nc, err);
        if (r < 0) {
            c->deadline = 0;
            goto done_err;
        }
        if (r > 0) {
            stopped = true;
            /* Statements that write must run to the end; reads may stop. */
            if (sqlite3_stmt_readonly(st)) {
                rc = SQLITE_DONE;
                break;
            }
        }
    }
    c->deadline = 0;
    if (rc != SQLITE_DONE) {
        sq_error(err, c->db, rc, "statement failed");
        goto done_err;
    }
    if (changes) *changes = sqlite3_changes64(c->db);
    if (cached) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    } else {
        sqlite3_finalize(st);
    }
    return 0;
done_err:
    if (cached) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    } else {
        sqlite3_finalize(st);
    }
    return -1;
}

static int sq_exec(struct cw_store_txn *t, const char *sql, bool cache, const struct cw_sqlv *p,
                   int np, cw_sql_row_fn fn, void *ctx, long long *changes, struct cw_err *err)
{
    struct sq_store *q = t->s->impl;
    return conn_exec(t->conn, q->timeout_ms, sql, cache, p, np, fn, ctx, changes, err);
}

/* ---- transactions ---- */

static int begin_read(struct cw_store_txn *t, struct sq_store *q, struct cw_err *err)
{
    struct timespec dl = deadline_in(q->wait_ms);
    pthread_mutex_lock(&q->mu);
    while (!q->idle && q->nreaders >= q->max_readers) {
        if (pthread_cond_timedwait(&q->cv, &q->mu, &dl) == ETIMEDOUT && !q->idle &&
            q->nreaders >= q->max_readers) {
            pthread_mutex_unlock(&q->mu);
            return cw_err_set(err, CW_ISSUE_TRANSIENT, "sqlite: no reader connection free");
        }
    }
    struct sq_conn *c = q->idle;
    if (c) {
        q->idle = c->next_idle;
    } else {
        q->nreaders++;
    }
    pthread_mutex_unlock(&q->mu);
    if (!c && conn_open(q, true, &c, err) < 0) {
        pthread_mutex_lock(&q->mu);
        q->nreaders--;
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    if (simple(c, "BEGIN", err) < 0) {
        pthread_mutex_lock(&q->mu);
        c->next_idle = q->idle;
        q->idle = c;
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    t->conn = c;
    return 0;
}

static void end_read(struct cw_store_txn *t, struct sq_store *q)
{
    struct sq_conn *c = t->conn;
    if (!sqlite3_get_autocommit(c->db)) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_lock(&q->mu);
    c->next_idle = q->idle;
    q->idle = c;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    t->conn = NULL;
}

static int release_writer(struct sq_store *q, bool member, struct cw_err *err);

static int begin_write(struct cw_store_txn *t, struct sq_store *q, struct cw_err *err)
{
    struct timespec dl = deadline_in(q->wait_ms);
    pthread_mutex_lock(&q->mu);
    q->waiting++;
    while (q->busy) {
        if (pthread_cond_timedwait(&q->cv, &q->mu, &dl) == ETIMEDOUT && q->busy) {
            q->waiting--;
            pthread_mutex_unlock(&q->mu);
            return cw_err_set(err, CW_ISSUE_TRANSIENT, "sqlite: the writer stayed busy");
        }
    }
    q->waiting--;
    q->busy = true;
    bool need_begin = !q->outer_open;
    pthread_mutex_unlock(&q->mu);
    t->conn = q->writer;
    if (need_begin) {
        if (simple(q->writer, "BEGIN IMMEDIATE", err) < 0) goto fail;
        pthread_mutex_lock(&q->mu);
        q->outer_open = true;
        pthread_mutex_unlock(&q->mu);
    }
    if (simple(q->writer, "SAVEPOINT cw_txn", err) < 0) goto fail;
    return 0;
fail:
    /* Nothing of ours is in the open transaction; pass the writer on (or
       commit what earlier members released into it). */
    t->conn = NULL;
    release_writer(q, false, NULL);
    return -1;
}

static int sq_begin(struct cw_store_txn *t, struct cw_err *err)
{
    struct sq_store *q = t->s->impl;
    return t->mode == CW_STORE_READ ? begin_read(t, q, err) : begin_write(t, q, err);
}

/* Wake every member of the group with the leader's outcome. Called with mu held. */
static void finish_group(struct sq_store *q, int rc, const struct cw_err *lerr)
{
    for (struct sq_waiter *w = q->group; w; w = w->next) {
        w->rc = rc;
        if (rc < 0 && w->err && lerr) *w->err = *lerr;
        w->done = true;
    }
    q->group = NULL;
    q->group_n = 0;
}

/*
 * The end of a write transaction's turn on the writer. member: it released its
 * savepoint and joins the group (and waits for the group's outcome).
 */
static int release_writer(struct sq_store *q, bool member, struct cw_err *err)
{
    struct sq_waiter me = {.err = err};
    pthread_mutex_lock(&q->mu);
    if (member) {
        me.next = q->group;
        q->group = &me;
        q->group_n++;
    }
    if (q->waiting > 0 && q->group_n < q->group_max) {
        /* Someone waits: let them add to the open transaction. */
        q->busy = false;
        pthread_cond_broadcast(&q->cv);
        if (member)
            while (!me.done) pthread_cond_wait(&q->cv, &q->mu);
        pthread_mutex_unlock(&q->mu);
        return member ? me.rc : 0;
    }
    /* Leader: commit everything released into the open transaction. */
    bool any = q->group_n > 0;
    pthread_mutex_unlock(&q->mu);
    struct cw_err lerr;
    cw_err_clear(&lerr);
    int rc = 0;
    if (q->outer_open) {
        if (any) {
            int r = sqlite3_exec(q->writer->db, "COMMIT", NULL, NULL, NULL);
            if (r != SQLITE_OK) {
                rc = sq_error(&lerr, q->writer->db, r, "group commit failed");
                cw_log(CW_LOG_ERROR, "store.sqlite.commit_failed", CW_LOG_INT("code", r));
                if (!sqlite3_get_autocommit(q->writer->db))
                    sqlite3_exec(q->writer->db, "ROLLBACK", NULL, NULL, NULL);
            }
        } else if (!sqlite3_get_autocommit(q->writer->db)) {
            sqlite3_exec(q->writer->db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    pthread_mutex_lock(&q->mu);
    q->outer_open = false;
    finish_group(q, rc, &lerr); /* sets me.rc too when member */
    q->busy = false;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return member ? me.rc : 0;
}

static int sq_commit(struct cw_store_txn *t, struct cw_err *err)
{
    struct sq_store *q = t->s->impl;
    if (t->mode == CW_STORE_READ) {
        end_read(t, q);
        return 0;
    }
    if (simple(q->writer, "RELEASE cw_txn", err) < 0) {
        /* Cannot release: abandon the whole open transaction, with its group. */
        struct cw_err lerr = *err;
        sqlite3_exec(q->writer->db, "ROLLBACK", NULL, NULL, NULL);
        pthread_mutex_lock(&q->mu);
        q->outer_open = false;
        finish_group(q, -1, &lerr);
        q->busy = false;
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    t->conn = NULL;
    return release_writer(q, true, err);
}

static void sq_rollback(struct cw_store_txn *t)
{
    struct sq_store *q = t->s->impl;
    if (!t->conn) return;
    if (t->mode == CW_STORE_READ) {
        end_read(t, q);
        return;
    }
    int r = sqlite3_exec(q->writer->db, "ROLLBACK TO cw_txn; RELEASE cw_txn", NULL, NULL, NULL);
    t->conn = NULL;
    if (r != SQLITE_OK) {
        struct cw_err lerr;
        sq_error(&lerr, q->writer->db, r, "rollback failed");
        if (!sqlite3_get_autocommit(q->writer->db))
            sqlite3_exec(q->writer->db, "ROLLBACK", NULL, NULL, NULL);
        pthread_mutex_lock(&q->mu);
        q->outer_open = false;
        finish_group(q, -1, &lerr);
        q->busy = false;
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
        return;
    }
    release_writer(q, false, NULL);
}

static int key_cb(void *ctx, const struct cw_sqlv *c, int n, struct cw_err *err)
{
    (void)err;
    if (n > 0) *(long long *)ctx = cw_store_col_int(&c[0]);
    return 1;
}

static int sq_alloc_keys(struct cw_store_txn *t, long long *first, long long *count,
                         struct cw_err *err)
{
    struct sq_store *q = t->s->impl;
    /* Only the writer's owner gets here, so next_key needs no lock. */
    if (q->next_key == 0) {
        long long mx = 0;
        if (conn_exec(q->writer, 0, "SELECT COALESCE(MAX(rkey), 0) FROM resource_current", false,
                      NULL, 0, key_cb, &mx, NULL, err) < 0)
            return -1;
        q->next_key = mx + 1;
    }
    *first = q->next_key;
    *count = 256;
    q->next_key += 256;
    return 0;
}

/* ---- schema ---- */

#define IDX_HEAD                                                                                   \
    "rkey INTEGER NOT NULL, seq INTEGER NOT NULL, rtype TEXT NOT NULL, param TEXT NOT NULL, "     \
    "comp INTEGER NOT NULL, grp INTEGER NOT NULL, "

static const char *const mig1[] = {
    "CREATE TABLE resource_current (rkey INTEGER PRIMARY KEY, type TEXT NOT NULL, id TEXT NOT "
    "NULL, version INTEGER NOT NULL, last_updated INTEGER NOT NULL, deleted INTEGER NOT NULL)",
    "CREATE UNIQUE INDEX resource_current_type_id ON resource_current (type, id)",
    "CREATE TABLE resource (rid INTEGER PRIMARY KEY, rkey INTEGER NOT NULL, version INTEGER NOT "
    "NULL, type TEXT NOT NULL, id TEXT NOT NULL, last_updated INTEGER NOT NULL, deleted INTEGER "
    "NOT NULL, json TEXT)",
    "CREATE UNIQUE INDEX resource_rkey_version ON resource (rkey, version)",
    "CREATE INDEX resource_lu ON resource (last_updated, rkey, version)",
    "CREATE INDEX resource_type_lu ON resource (type, last_updated, rkey, version)",
    NULL,
};

static const char *const mig2[] = {
    "CREATE TABLE idx_string (" IDX_HEAD "norm TEXT NOT NULL, exact TEXT NOT NULL, "
    "PRIMARY KEY (rkey, seq)) WITHOUT ROWID",
    "CREATE INDEX idx_string_v ON idx_string (rtype, param, norm)",
    "CREATE TABLE idx_token (" IDX_HEAD "system TEXT NOT NULL, code TEXT NOT NULL, text TEXT NOT "
    "NULL, PRIMARY KEY (rkey, seq)) WITHOUT ROWID",
    "CREATE INDEX idx_token_v ON idx_token (rtype, param, code, system)",
    "CREATE TABLE idx_date (" IDX_HEAD "lo INTEGER NOT NULL, hi INTEGER NOT NULL, "
    "PRIMARY KEY (rkey, seq)) WITHOUT ROWID",
    "CREATE INDEX idx_date_v ON idx_date (rtype, param, lo, hi)",
    "CREATE TABLE idx_reference (" IDX_HEAD "target_type TEXT NOT NULL, target_id TEXT NOT NULL, "
    "target_version TEXT NOT NULL, url TEXT NOT NULL, PRIMARY KEY (rkey, seq)) WITHOUT ROWID",
    "CREATE INDEX idx_reference_v ON idx_reference (rtype, param, target_id, target_type)",
    "CREATE TABLE idx_quantity (" IDX_HEAD "value REAL NOT NULL, system TEXT NOT NULL, code TEXT "
    "NOT NULL, canon_value REAL NOT NULL, canon_code TEXT NOT NULL, PRIMARY KEY (rkey, seq)) "
    "WITHOUT ROWID",
    "CREATE INDEX idx_quantity_v ON idx_quantity (rtype, param, value)",
    "CREATE TABLE idx_number (" IDX_HEAD "value REAL NOT NULL, PRIMARY KEY (rkey, seq)) WITHOUT "
    "ROWID",
    "CREATE INDEX idx_number_v ON idx_number (rtype, param, value)",
    "CREATE TABLE idx_uri (" IDX_HEAD "uri TEXT NOT NULL, PRIMARY KEY (rkey, seq)) WITHOUT ROWID",
    "CREATE INDEX idx_uri_v ON idx_uri (rtype, param, uri)",
    NULL,
};

static const char *const mig3[] = {
    "CREATE TABLE job (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, state "
    "INTEGER NOT NULL, attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, run_after "
    "INTEGER NOT NULL, locked_by TEXT, locked_until INTEGER NOT NULL, last_error TEXT, updated "
    "INTEGER NOT NULL)",
    "CREATE INDEX job_claim ON job (kind, state, run_after)",
    NULL,
};

/* 4: the current version's content hash (no-op updates, cw_store_put) */
static const char *const mig4[] = {
    "ALTER TABLE resource_current ADD COLUMN chash TEXT",
    NULL,
};

/* 5: nothing on SQLite. PostgreSQL adds rkey to its value indexes; here the
   index tables are WITHOUT ROWID, so every index already ends in the
   primary key (rkey, seq). Kept so both backends count the same versions. */
static const char *const mig5[] = {NULL};

static const char *const *const migrations[] = {mig1, mig2, mig3, mig4, mig5, NULL};

const struct cw_store_ops cw_store_sqlite_ops = {
    .name = "sqlite",
    .multirow_insert = false,
    .cache_search = true,
    .for_update = "",
    .skip_locked = "",
    .migrations = migrations,
    .migrate_lock = NULL,
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .exec = sq_exec,
    .alloc_keys = sq_alloc_keys,
};
