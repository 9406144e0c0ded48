/*
 * pg.c — the PostgreSQL backend of the store (libpq): a connection pool,
 * parameterized statements only, prepared once per connection.
 *
 * Owns: the pool's connections (struct pg_conn) with their prepared
 * statement names, and the store-wide block of reserved resource keys.
 *
 * Wire format: every parameter is sent in binary (int8, float8, text as raw
 * bytes with its length), so values are never formatted into SQL text and
 * need no NUL terminator; results come back in binary and are decoded by
 * column type. The shared layer's '?' placeholders become $1, $2, ...
 *
 * Isolation (store.h): writes READ COMMITTED with row locks on
 * resource_current (SELECT ... FOR UPDATE); reads REPEATABLE READ READ ONLY;
 * CW_STORE_SERIALIZABLE -> SERIALIZABLE. statement_timeout is set on every
 * connection. JSON is kept as TEXT, exactly as received (not jsonb, which
 * reorders keys and drops duplicates).
 *
 * Invariants:
 *  - A connection is either idle in the pool or attached to one transaction.
 *  - A connection whose status is bad is closed when it comes back, never reused.
 *  - Resource keys come from rkey_seq (INCREMENT BY 1000): each nextval
 *    reserves a block, so nodes sharing the database never collide.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "store/store_int.h"

#define PREP_CACHE 512 /* per connection; power of two */
#define MAX_COLS 32
#define KEY_BLOCK 1000

/* Type OIDs (pg_type.h). */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_FLOAT4 700
#define OID_FLOAT8 701

struct pg_prep {
    uint64_t hash;
    char *sql;
    char name[24];
};

struct pg_conn {
    PGconn *db;
    struct pg_prep prep[PREP_CACHE];
    size_t nprep;
    unsigned next_name;
    struct pg_conn *next_idle;
};

struct pg_store {
    char *url;
    unsigned timeout_ms, wait_ms, max_conns;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pg_conn *idle;
    unsigned nconns;
    long long key_next, key_end;
    /* planner statistics: rows written since the last ANALYZE, and the count
       that triggers the next one (analyze_after) */
    long long since_analyze, analyze_at;
    bool analyzing;
};

/* First ANALYZE after this many written rows; the threshold doubles after
   each run up to ANALYZE_MAX, so a bulk load of N rows costs O(log N) runs. */
#define ANALYZE_FIRST 5000
#define ANALYZE_MAX 2000000

static void ignore_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static int pg_result_error(struct cw_err *err, PGresult *res, PGconn *db, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    enum cw_store_dberr kind = CW_DBERR_OTHER;
    if (state) {
        if (strcmp(state, "23505") == 0) kind = CW_DBERR_CONSTRAINT;
        else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) kind = CW_DBERR_SERIALIZE;
        else if (strcmp(state, "57014") == 0) kind = CW_DBERR_TIMEOUT;
        else if (strcmp(state, "55P03") == 0) kind = CW_DBERR_BUSY;
    }
    char msg[220];
    /* The primary message of data errors (class 22) may quote a value: only
       the SQLSTATE and the constraint name are reported then. */
    const char *prim = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *cons = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    if (!state) {
        snprintf(msg, sizeof msg, "%s: connection: %s", what,
                 db && PQstatus(db) == CONNECTION_BAD ? "lost" : "failed");
    } else if (state[0] == '2' && state[1] == '2') {
        snprintf(msg, sizeof msg, "%s: SQLSTATE %s", what, state);
    } else {
        snprintf(msg, sizeof msg, "%s: SQLSTATE %s%s%s%s%.100s", what, state, cons ? " (" : "",
                 cons ? cons : "", cons ? ") " : " ", prim ? prim : "");
    }
    return cw_store_db_error(err, kind, "postgres", msg);
}

static int simple(struct pg_conn *c, const char *sql, struct cw_err *err)
{
    PGresult *r = PQexec(c->db, sql);
    int st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pg_result_error(err, r, c->db, "statement failed");
        PQclear(r);
        return -1;
    }
    PQclear(r);
    return 0;
}

static void conn_close(struct pg_conn *c)
{
    if (!c) return;
    for (size_t i = 0; i < PREP_CACHE; i++) free(c->prep[i].sql);
    PQfinish(c->db);
    free(c);
}

static int conn_open(struct pg_store *q, struct pg_conn **out, struct cw_err *err)
{
    struct pg_conn *c = calloc(1, sizeof *c);
    if (!c) return cw_err_set(err, CW_ISSUE_EXCEPTION, "postgres: out of memory");
    c->db = PQconnectdb(q->url);
    if (!c->db || PQstatus(c->db) != CONNECTION_OK) {
        /* libpq's message may name host and user, not data; keep it short. */
        const char *m = c->db ? PQerrorMessage(c->db) : "out of memory";
        cw_err_set(err, CW_ISSUE_EXCEPTION, "postgres: cannot connect: %.160s", m);
        for (char *p = err->msg; *p; p++)
            if (*p == '\n') *p = ' ';
        conn_close(c);
        return -1;
    }
    PQsetNoticeProcessor(c->db, ignore_notice, NULL);
    char set[160];
    snprintf(set, sizeof set,
             "SET statement_timeout = %u; SET lock_timeout = %u; SET client_min_messages = warning",
             q->timeout_ms, q->timeout_ms);
    if (simple(c, set, err) < 0) {
        conn_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

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

static int acquire(struct pg_store *q, struct pg_conn **out, struct cw_err *err)
{
    struct timespec dl = deadline_in(q->wait_ms);
    pthread_mutex_lock(&q->mu);
    while (!q->idle && q->nconns >= q->max_conns) {
        if (pthread_cond_timedwait(&q->cv, &q->mu, &dl) == ETIMEDOUT && !q->idle &&
            q->nconns >= q->max_conns) {
            pthread_mutex_unlock(&q->mu);
            return cw_err_set(err, CW_ISSUE_TRANSIENT, "postgres: connection pool exhausted");
        }
    }
    struct pg_conn *c = q->idle;
    if (c) q->idle = c->next_idle;
    else q->nconns++;
    pthread_mutex_unlock(&q->mu);
    if (!c && conn_open(q, &c, err) < 0) {
        pthread_mutex_lock(&q->mu);
        q->nconns--;
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    *out = c;
    return 0;
}

static void give_back(struct pg_store *q, struct pg_conn *c)
{
    bool bad = PQstatus(c->db) != CONNECTION_OK || PQtransactionStatus(c->db) != PQTRANS_IDLE;
    if (bad) conn_close(c);
    pthread_mutex_lock(&q->mu);
    if (bad) {
        q->nconns--;
    } else {
        c->next_idle = q->idle;
        q->idle = c;
    }
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static int pg_open(struct cw_store *s, const char *url, struct cw_err *err)
{
    struct pg_store *q = calloc(1, sizeof *q);
    if (!q) return cw_err_set(err, CW_ISSUE_EXCEPTION, "postgres: out of memory");
    q->url = strdup(url);
    q->timeout_ms = s->opts.statement_timeout_ms;
    q->wait_ms = s->opts.wait_ms;
    q->max_conns = s->opts.connections;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    s->impl = q;
    /* Connect once now so a wrong URL fails at open, not at the first request. */
    struct pg_conn *c;
    if (!q->url || acquire(q, &c, err) < 0) {
        pthread_cond_destroy(&q->cv);
        pthread_mutex_destroy(&q->mu);
        free(q->url);
        free(q);
        s->impl = NULL;
        return -1;
    }
    give_back(q, c);
    return 0;
}

static void pg_close(struct cw_store *s)
{
    struct pg_store *q = s->impl;
    if (!q) return;
    while (q->idle) {
        struct pg_conn *c = q->idle;
        q->idle = c->next_idle;
        conn_close(c);
    }
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q->url);
    free(q);
    s->impl = NULL;
}

/* ---- statements ---- */

static uint64_t hash_sql(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h | 1;
}

/* '?' -> $n. Our SQL has no '?' inside literals (store_int.h). */
static char *rewrite(const char *sql, int *nparams)
{
    size_t n = strlen(sql), q = 0;
    for (size_t i = 0; i < n; i++) q += sql[i] == '?';
    char *out = malloc(n + q * 6 + 1);
    if (!out) return NULL;
    size_t o = 0;
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        if (sql[i] == '?') o += (size_t)snprintf(out + o, 8, "$%d", ++k);
        else out[o++] = sql[i];
    }
    out[o] = '\0';
    *nparams = k;
    return out;
}

static const char *find_prepared(struct pg_conn *c, const char *sql, uint64_t h)
{
    size_t i = h & (PREP_CACHE - 1);
    for (size_t k = 0; k < PREP_CACHE; k++, i = (i + 1) & (PREP_CACHE - 1)) {
        if (!c->prep[i].hash) return NULL;
        if (c->prep[i].hash == h && strcmp(c->prep[i].sql, sql) == 0) return c->prep[i].name;
    }
    return NULL;
}

static int decode_row(PGresult *r, int row, struct cw_sqlv *cols, int nc)
{
    for (int i = 0; i < nc; i++) {
        if (PQgetisnull(r, row, i)) {
            cols[i] = cw_sqlv_null();
            continue;
        }
        const char *v = PQgetvalue(r, row, i);
        int len = PQgetlength(r, row, i);
        uint64_t u = 0;
        switch (PQftype(r, i)) {
        case OID_INT8:
            if (len != 8) return -1;
            memcpy(&u, v, 8);
            cols[i] = cw_sqlv_int((long long)be64toh(u));
            break;
        case OID_INT4: {
            uint32_t x;
            if (len != 4) return -1;
            memcpy(&x, v, 4);
            cols[i] = cw_sqlv_int((int32_t)ntohl(x));
            break;
        }
        case OID_INT2: {
            uint16_t x;
            if (len != 2) return -1;
            memcpy(&x, v, 2);
            cols[i] = cw_sqlv_int((int16_t)ntohs(x));
            break;
        }
        case OID_BOOL: cols[i] = cw_sqlv_int(len == 1 && v[0] != 0); break;
        case OID_FLOAT8: {
            double d;
            if (len != 8) return -1;
            memcpy(&u, v, 8);
            u = be64toh(u);
            memcpy(&d, &u, 8);
            cols[i] = cw_sqlv_real(d);
            break;
        }
        case OID_FLOAT4: {
            uint32_t x;
            float f;
            if (len != 4) return -1;
            memcpy(&x, v, 4);
            x = ntohl(x);
            memcpy(&f, &x, 4);
            cols[i] = cw_sqlv_real(f);
            break;
        }
        default: /* text, varchar, name: raw bytes */
            cols[i] = (struct cw_sqlv){.type = CW_SQLV_TEXT, .s = {v, (size_t)len}};
            break;
        }
    }
    return 0;
}

static int pg_exec(struct cw_store_txn *t, const char *sql, bool cache, const struct cw_sqlv *p,
                   int np, cw_sql_row_fn fn, void *ctx, long long *changes, struct cw_err *err)
{
    struct pg_conn *c = t->conn;
    int want = 0;
    char *pgsql = NULL;
    const char *name = NULL;
    uint64_t h = 0;
    if (cache) {
        h = hash_sql(sql);
        name = find_prepared(c, sql, h);
    }
    /* Binary parameters: int8 / float8 big-endian, text raw. */
    Oid stack_types[64];
    const char *stack_vals[64];
    int stack_lens[64], stack_fmts[64];
    uint64_t stack_bin[64];
    Oid *types = stack_types;
    const char **vals = stack_vals;
    int *lens = stack_lens, *fmts = stack_fmts;
    uint64_t *bin = stack_bin;
    void *heap = NULL;
    if (np > 64) {
        size_t one = sizeof(Oid) + sizeof(char *) + 2 * sizeof(int) + sizeof(uint64_t);
        heap = malloc((size_t)np * one);
        if (!heap) return cw_err_set(err, CW_ISSUE_EXCEPTION, "postgres: out of memory");
        bin = heap;
        vals = (const char **)(bin + np);
        types = (Oid *)(vals + np);
        lens = (int *)(types + np);
        fmts = lens + np;
    }
    for (int i = 0; i < np; i++) {
        fmts[i] = 1;
        switch (p[i].type) {
        case CW_SQLV_INT:
            types[i] = OID_INT8;
            bin[i] = htobe64((uint64_t)p[i].i);
            vals[i] = (const char *)&bin[i];
            lens[i] = 8;
            break;
        case CW_SQLV_REAL: {
            uint64_t u;
            memcpy(&u, &p[i].d, 8);
            types[i] = OID_FLOAT8;
            bin[i] = htobe64(u);
            vals[i] = (const char *)&bin[i];
            lens[i] = 8;
            break;
        }
        case CW_SQLV_TEXT:
            types[i] = OID_TEXT;
            vals[i] = p[i].s.ptr ? p[i].s.ptr : "";
            lens[i] = (int)p[i].s.len;
            break;
        default:
            types[i] = 0;
            vals[i] = NULL;
            lens[i] = 0;
            break;
        }
    }
    PGresult *r = NULL;
    int rc = -1;
    if (!name) {
        pgsql = rewrite(sql, &want);
        if (!pgsql) {
            cw_err_set(err, CW_ISSUE_EXCEPTION, "postgres: out of memory");
            goto out;
        }
        if (want != np) {
            cw_err_set(err, CW_ISSUE_EXCEPTION, "postgres: statement wants %d parameters, got %d",
                       want, np);
            goto out;
        }
    }
    if (cache && !name) {
        if (c->nprep >= PREP_CACHE * 3 / 4) {
            /* Full: forget every name (DEALLOCATE ALL keeps server memory bounded). */
            PQclear(PQexec(c->db, "DEALLOCATE ALL"));
            for (size_t i = 0; i < PREP_CACHE; i++) {
                free(c->prep[i].sql);
                c->prep[i] = (struct pg_prep){0};
            }
            c->nprep = 0;
        }
        char nm[24];
        snprintf(nm, sizeof nm, "cw%u", ++c->next_name);
        PGresult *pr = PQprepare(c->db, nm, pgsql, np, types);
        if (PQresultStatus(pr) != PGRES_COMMAND_OK) {
            pg_result_error(err, pr, c->db, "prepare failed");
            PQclear(pr);
            goto out;
        }
        PQclear(pr);
        char *copy = strdup(sql);
        if (!copy) {
            cw_err_set(err, CW_ISSUE_EXCEPTION, "postgres: out of memory");
            goto out;
        }
        size_t i = h & (PREP_CACHE - 1);
        while (c->prep[i].hash) i = (i + 1) & (PREP_CACHE - 1);
        c->prep[i].hash = h;
        c->prep[i].sql = copy;
        memcpy(c->prep[i].name, nm, sizeof nm);
        c->nprep++;
        name = c->prep[i].name;
    }
    if (name)
        r = PQexecPrepared(c->db, name, np, vals, lens, fmts, 1);
    else
        r = PQexecParams(c->db, pgsql, np, types, vals, lens, fmts, 1);
    int st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pg_result_error(err, r, c->db, "statement failed");
        goto out;
    }
    if (fn && st == PGRES_TUPLES_OK) {
        int nr = PQntuples(r), nc = PQnfields(r);
        if (nc > MAX_COLS) nc = MAX_COLS;
        struct cw_sqlv cols[MAX_COLS];
        for (int i = 0; i < nr; i++) {
            if (decode_row(r, i, cols, nc) < 0) {
                cw_err_set(err, CW_ISSUE_EXCEPTION, "postgres: unexpected binary column size");
                goto out;
            }
            int k = fn(ctx, cols, nc, err);
            if (k < 0) goto out;
            if (k > 0) break;
        }
    }
    if (changes) {
        const char *ct = PQcmdTuples(r);
        long long v = 0;
        *changes = (ct && *ct && cw_slice_to_i64(cw_slice_cstr(ct), &v) == 0) ? v : 0;
    }
    rc = 0;
out:
    PQclear(r);
    free(pgsql);
    free(heap);
    return rc;
}

/* ---- transactions ---- */

static int pg_begin(struct cw_store_txn *t, struct cw_err *err)
{
    struct pg_store *q = t->s->impl;
    struct pg_conn *c;
    if (acquire(q, &c, err) < 0) return -1;
    const char *sql = t->mode == CW_STORE_READ ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                      : t->mode == CW_STORE_SERIALIZABLE ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                                                         : "BEGIN ISOLATION LEVEL READ COMMITTED";
    if (simple(c, sql, err) < 0) {
        give_back(q, c);
        return -1;
    }
    t->conn = c;
    return 0;
}

/*
 * Planner statistics after bulk writes. Without them PostgreSQL plans the
 * search statements of a freshly loaded database for empty tables (nested
 * loops over sequential scans of millions of rows), and autovacuum's analyze
 * comes a minute or more later (docs/performance.md, "FHIR REST server").
 * After a commit that brings the rows written since the last run past the
 * threshold, this connection (idle again, outside any transaction) runs
 * ANALYZE on the tables searches read; one run at a time per process; a
 * failure is only logged (the statistics stay as they were).
 */
static void analyze_after(struct pg_store *q, struct pg_conn *c, long long rows)
{
    bool run = false;
    pthread_mutex_lock(&q->mu);
    q->since_analyze += rows;
    if (!q->analyze_at) q->analyze_at = ANALYZE_FIRST;
    if (!q->analyzing && q->since_analyze >= q->analyze_at) {
        run = true;
        q->analyzing = true;
        q->since_analyze = 0;
        q->analyze_at = q->analyze_at >= ANALYZE_MAX / 2 ? ANALYZE_MAX : q->analyze_at * 2;
    }
    pthread_mutex_unlock(&q->mu);
    if (!run) return;
    PGresult *r = PQexec(c->db, "ANALYZE resource_current, resource, idx_string, idx_token, idx_date, "
                                "idx_reference, idx_quantity, idx_number, idx_uri");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        cw_log(CW_LOG_WARN, "store.postgres.analyze_failed", CW_LOG_STR("sqlstate", state ? state : ""));
    } else {
        cw_log(CW_LOG_DEBUG, "store.postgres.analyze", CW_LOG_INT("rows", rows));
    }
    PQclear(r);
    pthread_mutex_lock(&q->mu);
    q->analyzing = false;
    pthread_mutex_unlock(&q->mu);
}

static int pg_commit(struct cw_store_txn *t, struct cw_err *err)
{
    struct pg_store *q = t->s->impl;
    struct pg_conn *c = t->conn;
    PGresult *r = PQexec(c->db, "COMMIT");
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = pg_result_error(err, r, c->db, "commit failed");
    } else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
        /* An aborted transaction answers COMMIT with ROLLBACK. */
        rc = cw_err_set(err, CW_ISSUE_PROCESSING, "postgres: transaction was aborted, rolled back");
    }
    PQclear(r);
    if (PQtransactionStatus(c->db) != PQTRANS_IDLE) PQclear(PQexec(c->db, "ROLLBACK"));
    if (rc == 0) analyze_after(q, c, t->rows_written);
    t->conn = NULL;
    give_back(q, c);
    return rc;
}

static void pg_rollback(struct cw_store_txn *t)
{
    struct pg_store *q = t->s->impl;
    struct pg_conn *c = t->conn;
    if (!c) return;
    PQclear(PQexec(c->db, "ROLLBACK"));
    t->conn = NULL;
    give_back(q, c);
}

static int key_cb(void *ctx, const struct cw_sqlv *c, int n, struct cw_err *err)
{
    (void)err;
    if (n > 0) *(long long *)ctx = cw_store_col_int(&c[0]);
    return 1;
}

static int pg_alloc_keys(struct cw_store_txn *t, long long *first, long long *count,
                         struct cw_err *err)
{
    struct pg_store *q = t->s->impl;
    pthread_mutex_lock(&q->mu);
    if (q->key_next < q->key_end) {
        long long n = q->key_end - q->key_next;
        if (n > 100) n = 100;
        *first = q->key_next;
        *count = n;
        q->key_next += n;
        pthread_mutex_unlock(&q->mu);
        return 0;
    }
    pthread_mutex_unlock(&q->mu);
    /* nextval is not transactional: a block is never handed out twice. */
    long long v = 0;
    if (pg_exec(t, "SELECT nextval('rkey_seq')", true, NULL, 0, key_cb, &v, NULL, err) < 0)
        return -1;
    if (v <= 0) return cw_err_set(err, CW_ISSUE_EXCEPTION, "postgres: bad key sequence value");
    pthread_mutex_lock(&q->mu);
    /* Keep the rest of the block for other transactions of this process. */
    *first = v;
    *count = 100;
    q->key_next = v + 100;
    q->key_end = v + KEY_BLOCK;
    pthread_mutex_unlock(&q->mu);
    return 0;
}

/* ---- schema ---- */

#define TXT "TEXT COLLATE \"C\" NOT NULL"
#define IDX_HEAD                                                                                   \
    "rkey BIGINT NOT NULL, seq INTEGER NOT NULL, rtype " TXT ", param " TXT ", "                   \
    "comp INTEGER NOT NULL, grp INTEGER NOT NULL, "

static const char *const mig1[] = {
    "CREATE SEQUENCE rkey_seq INCREMENT BY " "1000" " START WITH 1",
    "CREATE TABLE resource_current (rkey BIGINT PRIMARY KEY, type " TXT ", id " TXT ", "
    "version BIGINT NOT NULL, last_updated BIGINT NOT NULL, deleted SMALLINT NOT NULL)",
    "CREATE UNIQUE INDEX resource_current_type_id ON resource_current (type, id)",
    "CREATE TABLE resource (rid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, rkey BIGINT NOT "
    "NULL, version BIGINT NOT NULL, type " TXT ", id " TXT ", last_updated BIGINT NOT NULL, "
    "deleted SMALLINT NOT NULL, json TEXT)",
    "CREATE UNIQUE INDEX resource_rkey_version ON resource (rkey, version)",
    "CREATE INDEX resource_lu ON resource (last_updated, rkey, version)",
    "CREATE INDEX resource_type_lu ON resource (type, last_updated, rkey, version)",
    NULL,
};

static const char *const mig2[] = {
    "CREATE TABLE idx_string (" IDX_HEAD "norm " TXT ", exact " TXT ", PRIMARY KEY (rkey, seq))",
    "CREATE INDEX idx_string_v ON idx_string (rtype, param, norm)",
    "CREATE TABLE idx_token (" IDX_HEAD "system " TXT ", code " TXT ", text " TXT ", "
    "PRIMARY KEY (rkey, seq))",
    "CREATE INDEX idx_token_v ON idx_token (rtype, param, code, system)",
    "CREATE TABLE idx_date (" IDX_HEAD "lo BIGINT NOT NULL, hi BIGINT NOT NULL, "
    "PRIMARY KEY (rkey, seq))",
    "CREATE INDEX idx_date_v ON idx_date (rtype, param, lo, hi)",
    "CREATE TABLE idx_reference (" IDX_HEAD "target_type " TXT ", target_id " TXT ", "
    "target_version " TXT ", url " TXT ", PRIMARY KEY (rkey, seq))",
    "CREATE INDEX idx_reference_v ON idx_reference (rtype, param, target_id, target_type)",
    "CREATE TABLE idx_quantity (" IDX_HEAD "value DOUBLE PRECISION NOT NULL, system " TXT ", "
    "code " TXT ", canon_value DOUBLE PRECISION NOT NULL, canon_code " TXT ", "
    "PRIMARY KEY (rkey, seq))",
    "CREATE INDEX idx_quantity_v ON idx_quantity (rtype, param, value)",
    "CREATE TABLE idx_number (" IDX_HEAD "value DOUBLE PRECISION NOT NULL, PRIMARY KEY (rkey, seq))",
    "CREATE INDEX idx_number_v ON idx_number (rtype, param, value)",
    "CREATE TABLE idx_uri (" IDX_HEAD "uri " TXT ", PRIMARY KEY (rkey, seq))",
    "CREATE INDEX idx_uri_v ON idx_uri (rtype, param, uri)",
    NULL,
};

static const char *const mig3[] = {
    "CREATE TABLE job (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, kind " TXT ", "
    "payload TEXT NOT NULL, state SMALLINT NOT NULL, attempts INTEGER NOT NULL, max_attempts "
    "INTEGER NOT NULL, run_after BIGINT NOT NULL, locked_by TEXT, locked_until BIGINT NOT NULL, "
    "last_error TEXT, updated BIGINT NOT NULL)",
    "CREATE INDEX job_claim ON job (kind, state, run_after)",
    NULL,
};

/* 4: the current version's content hash (no-op updates, cw_store_put) */
static const char *const mig4[] = {
    "ALTER TABLE resource_current ADD COLUMN chash TEXT",
    NULL,
};

/* 5: every value index carries rkey (INCLUDE), so the parameter that drives
   a search reads its candidates from the index alone (an index-only scan)
   instead of one heap page per row: a code with 9,082 rows at 200k
   resources took 417 ms to read through the heap, 4 ms from the index. */
#define WITH_RKEY(t, cols)                                                                         \
    "CREATE INDEX " t "_vk ON " t " (" cols ") INCLUDE (rkey)", "DROP INDEX " t "_v",            \
        "ALTER INDEX " t "_vk RENAME TO " t "_v"
static const char *const mig5[] = {
    WITH_RKEY("idx_string", "rtype, param, norm"),
    WITH_RKEY("idx_token", "rtype, param, code, system"),
    WITH_RKEY("idx_date", "rtype, param, lo, hi"),
    WITH_RKEY("idx_reference", "rtype, param, target_id, target_type"),
    WITH_RKEY("idx_quantity", "rtype, param, value"),
    WITH_RKEY("idx_number", "rtype, param, value"),
    WITH_RKEY("idx_uri", "rtype, param, uri"),
    NULL,
};
#undef WITH_RKEY

static const char *const *const migrations[] = {mig1, mig2, mig3, mig4, mig5, NULL};

const struct cw_store_ops cw_store_pg_ops = {
    .name = "postgres",
    .multirow_insert = true,
    .cache_search = true,
    .for_update = " FOR UPDATE",
    .skip_locked = " FOR UPDATE SKIP LOCKED",
    .migrations = migrations,
    /* One node migrates at a time; the others wait, then find nothing to do. */
    .migrate_lock = "SELECT pg_advisory_xact_lock(4242424242)",
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .exec = pg_exec,
    .alloc_keys = pg_alloc_keys,
};
