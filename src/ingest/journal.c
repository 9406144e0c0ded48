/*
 * journal.c — durable inbound journal on SQLite with a group-commit writer
 * thread (see journal.h).
 *
 * Owns: the write connection (writer thread only, after open), a read
 * connection (guarded by read_lock), the operation queue (guarded by lock),
 * the writer thread.
 *
 * Invariants:
 *  - An append's callback runs once, after COMMIT returned (or the
 *    transaction failed), never while `lock` is held.
 *  - Operations are applied in queue order, so a status change queued after
 *    its message's completion always finds the row.
 *  - queued_bytes counts the raw bytes of appends not yet taken by the writer.
 */
#include "ingest/journal.h"

#include "json/json.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum op_kind { OP_APPEND, OP_STATUS, OP_FLUSH };

struct op {
    struct op *next;
    enum op_kind kind;
    /* OP_APPEND */
    char received_at[32];
    char *channel, *peer, *format; /* point into 'mem' */
    char *raw;
    size_t raw_len;
    cw_journal_done_fn done;
    void *ctx;
    int64_t seq; /* result */
    /* OP_STATUS */
    int64_t target;
    enum cw_journal_status status;
    char ack_code[8];
    int error_code;
    char error_location[CW_ERR_LOCATION_MAX];
    char error_text[CW_ERR_MSG_MAX];
    /* OP_FLUSH */
    bool *flushed;
    char mem[]; /* strings and raw bytes of an append */
};

struct cw_journal {
    sqlite3 *wdb, *rdb;
    sqlite3_stmt *ins, *upd, *begin, *commit, *rollback;
    sqlite3_stmt *get, *list_any, *list_status, *count_any, *count_status;
    pthread_mutex_t lock, read_lock;
    pthread_cond_t wake, flushed_cv;
    pthread_t writer;
    bool writer_started;
    struct op *head, *tail;
    size_t queued_bytes;
    bool closing;
    size_t max_batch, max_queue_bytes, max_message;
    struct cw_journal_stats stats;
};

static const char *const schema_v1 =
    "CREATE TABLE IF NOT EXISTS message ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " received_at TEXT NOT NULL,"
    " channel TEXT NOT NULL,"
    " peer TEXT NOT NULL DEFAULT '',"
    " format TEXT NOT NULL DEFAULT 'hl7v2',"
    " size INTEGER NOT NULL,"
    " raw BLOB NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'received' CHECK (status IN ('received','processed','error')),"
    " ack_code TEXT,"
    " error_code INTEGER,"
    " error_location TEXT,"
    " error_text TEXT,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " updated_at TEXT);"
    "CREATE INDEX IF NOT EXISTS message_status ON message(status, seq);"
    "PRAGMA user_version = 1;";

const char *cw_journal_status_name(enum cw_journal_status s)
{
    switch (s) {
    case CW_JOURNAL_RECEIVED:
        return "received";
    case CW_JOURNAL_PROCESSED:
        return "processed";
    case CW_JOURNAL_ERROR:
        return "error";
    }
    return "received";
}

static enum cw_journal_status status_parse(const unsigned char *s)
{
    if (s && strcmp((const char *)s, "processed") == 0) return CW_JOURNAL_PROCESSED;
    if (s && strcmp((const char *)s, "error") == 0) return CW_JOURNAL_ERROR;
    return CW_JOURNAL_RECEIVED;
}

static void now_iso(char *out, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[24];
    if (strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) == 0) base[0] = '\0';
    snprintf(out, size, "%s.%03dZ", base, (int)(ts.tv_nsec / 1000000L) % 1000);
}

static int db_fail(struct cw_err *err, sqlite3 *db, const char *what)
{
    return cw_err_set(err, CW_ISSUE_NO_STORE, "journal: %s: %s", what,
                      db ? sqlite3_errmsg(db) : "out of memory");
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct cw_err *err)
{
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return db_fail(err, db, "prepare");
    return 0;
}

/* Bring the schema to CW_JOURNAL_SCHEMA_VERSION (only v1 exists so far). */
static int migrate(sqlite3 *db, struct cw_err *err)
{
    sqlite3_stmt *st;
    if (prepare(db, "PRAGMA user_version", &st, err) < 0) return -1;
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (version < 0) return db_fail(err, db, "read schema version");
    if (version > CW_JOURNAL_SCHEMA_VERSION)
        return cw_err_set(err, CW_ISSUE_NO_STORE,
                          "journal schema version %d is newer than this build supports (%d)",
                          version, CW_JOURNAL_SCHEMA_VERSION);
    if (version == 0) {
        /* Fixed DDL text, no input in it. */
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, schema_v1, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            db_fail(err, db, "create schema");
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    /* Future versions: apply each step v -> v+1 here, in one transaction. */
    return 0;
}

static void *writer_main(void *arg);

int cw_journal_open(const char *path, const struct cw_journal_opts *opts, struct cw_journal **out,
                    struct cw_err *err)
{
    *out = NULL;
    struct cw_journal *j = calloc(1, sizeof *j);
    if (!j) return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    pthread_mutex_init(&j->lock, NULL);
    pthread_mutex_init(&j->read_lock, NULL);
    pthread_cond_init(&j->wake, NULL);
    pthread_cond_init(&j->flushed_cv, NULL);
    j->max_batch = opts && opts->max_batch ? opts->max_batch : 1024;
    j->max_queue_bytes = opts && opts->max_queue_bytes ? opts->max_queue_bytes : (size_t)256 << 20;
    j->max_message = opts && opts->max_message ? opts->max_message : (size_t)64 << 20;
    bool full = opts ? opts->sync_full != 0 : true;

    int rc = sqlite3_open_v2(
        path, &j->wdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        cw_err_set(err, CW_ISSUE_NO_STORE, "journal: cannot open %.200s: %s", path,
                   j->wdb ? sqlite3_errmsg(j->wdb) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_busy_timeout(j->wdb, 5000);
    if (sqlite3_exec(j->wdb, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(j->wdb, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", NULL,
                     NULL, NULL) != SQLITE_OK) {
        db_fail(err, j->wdb, "configure WAL");
        goto fail;
    }
    if (migrate(j->wdb, err) < 0) goto fail;
    if (prepare(j->wdb,
                "INSERT INTO message(received_at, channel, peer, format, size, raw, status)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'received')",
                &j->ins, err) < 0 ||
        prepare(
            j->wdb,
            "UPDATE message SET status = ?2, ack_code = coalesce(?3, ack_code), error_code = ?4,"
            " error_location = ?5, error_text = ?6, updated_at = ?7,"
            " attempts = attempts + (?2 <> 'received') WHERE seq = ?1",
            &j->upd, err) < 0 ||
        prepare(j->wdb, "BEGIN IMMEDIATE", &j->begin, err) < 0 ||
        prepare(j->wdb, "COMMIT", &j->commit, err) < 0 ||
        prepare(j->wdb, "ROLLBACK", &j->rollback, err) < 0)
        goto fail;

    rc = sqlite3_open_v2(path, &j->rdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        db_fail(err, j->rdb, "open read connection");
        goto fail;
    }
    sqlite3_busy_timeout(j->rdb, 5000);
#define COLS                                                                                       \
    "seq, received_at, channel, peer, format, raw, status, ack_code, error_code,"                  \
    " error_location, error_text, attempts"
    if (prepare(j->rdb, "SELECT " COLS " FROM message WHERE seq = ?1", &j->get, err) < 0 ||
        prepare(j->rdb, "SELECT " COLS " FROM message WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                &j->list_any, err) < 0 ||
        prepare(j->rdb,
                "SELECT " COLS " FROM message WHERE seq > ?1 AND status = ?3 ORDER BY seq LIMIT ?2",
                &j->list_status, err) < 0 ||
        prepare(j->rdb, "SELECT count(*) FROM message", &j->count_any, err) < 0 ||
        prepare(j->rdb, "SELECT count(*) FROM message WHERE status = ?1", &j->count_status, err) <
            0)
        goto fail;
#undef COLS

    if (pthread_create(&j->writer, NULL, writer_main, j) != 0) {
        cw_err_set(err, CW_ISSUE_EXCEPTION, "journal: cannot start writer thread");
        goto fail;
    }
    j->writer_started = true;
    *out = j;
    return 0;
fail:
    cw_journal_close(j);
    return -1;
}

static void finalize_all(struct cw_journal *j)
{
    sqlite3_stmt *all[] = {j->ins, j->upd,      j->begin,       j->commit,    j->rollback,
                           j->get, j->list_any, j->list_status, j->count_any, j->count_status};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) sqlite3_finalize(all[i]);
}

void cw_journal_close(struct cw_journal *j)
{
    if (!j) return;
    if (j->writer_started) {
        pthread_mutex_lock(&j->lock);
        j->closing = true;
        pthread_cond_signal(&j->wake);
        pthread_mutex_unlock(&j->lock);
        pthread_join(j->writer, NULL);
    }
    finalize_all(j);
    if (j->rdb) sqlite3_close(j->rdb);
    if (j->wdb) sqlite3_close(j->wdb);
    pthread_mutex_destroy(&j->lock);
    pthread_mutex_destroy(&j->read_lock);
    pthread_cond_destroy(&j->wake);
    pthread_cond_destroy(&j->flushed_cv);
    free(j);
}

static char *put_str(char **cursor, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    char *p = *cursor;
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    *cursor += n + 1;
    return p;
}

/* Add op to the queue; -1 when closing. Caller must not hold the lock. */
static int enqueue(struct cw_journal *j, struct op *op, size_t bytes, struct cw_err *err)
{
    pthread_mutex_lock(&j->lock);
    if (j->closing) {
        pthread_mutex_unlock(&j->lock);
        return cw_err_set(err, CW_ISSUE_TRANSIENT, "journal is closing");
    }
    if (bytes && j->queued_bytes + bytes > j->max_queue_bytes) {
        pthread_mutex_unlock(&j->lock);
        return cw_err_set(err, CW_ISSUE_THROTTLED, "journal queue is full (%zu bytes waiting)",
                          j->queued_bytes);
    }
    j->queued_bytes += bytes;
    op->next = NULL;
    if (j->tail)
        j->tail->next = op;
    else
        j->head = op;
    j->tail = op;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->lock);
    return 0;
}

int cw_journal_append(struct cw_journal *j, const struct cw_journal_entry *e,
                      cw_journal_done_fn done, void *ctx, struct cw_err *err)
{
    if (e->raw.len > j->max_message)
        return cw_err_set(err, CW_ISSUE_TOO_LONG,
                          "message of %zu bytes exceeds the journal limit of %zu", e->raw.len,
                          j->max_message);
    const char *fmt = e->format ? e->format : "hl7v2";
    size_t lc = e->channel ? strlen(e->channel) : 0, lp = e->peer ? strlen(e->peer) : 0;
    size_t need = lc + lp + strlen(fmt) + 3 + e->raw.len + 1;
    struct op *op = malloc(sizeof *op + need);
    if (!op) return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    op->kind = OP_APPEND;
    now_iso(op->received_at, sizeof op->received_at);
    char *cur = op->mem;
    op->channel = put_str(&cur, e->channel);
    op->peer = put_str(&cur, e->peer);
    op->format = put_str(&cur, fmt);
    op->raw = cur;
    if (e->raw.len) memcpy(cur, e->raw.ptr, e->raw.len);
    op->raw_len = e->raw.len;
    op->done = done;
    op->ctx = ctx;
    op->seq = 0;
    if (enqueue(j, op, e->raw.len + 1, err) < 0) {
        free(op);
        return -1;
    }
    return 0;
}

int cw_journal_set_status(struct cw_journal *j, int64_t seq, enum cw_journal_status status,
                          const char *ack_code, const struct cw_err *detail, struct cw_err *err)
{
    struct op *op = calloc(1, sizeof *op);
    if (!op) return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    op->kind = OP_STATUS;
    op->target = seq;
    op->status = status;
    if (ack_code) snprintf(op->ack_code, sizeof op->ack_code, "%s", ack_code);
    if (detail && cw_err_is_set(detail)) {
        op->error_code = (int)cw_err_v2_code(detail);
        snprintf(op->error_location, sizeof op->error_location, "%s", detail->location);
        snprintf(op->error_text, sizeof op->error_text, "%s", detail->msg);
    }
    now_iso(op->received_at, sizeof op->received_at); /* used as updated_at */
    if (enqueue(j, op, 0, err) < 0) {
        free(op);
        return -1;
    }
    return 0;
}

void cw_journal_flush(struct cw_journal *j)
{
    bool done = false;
    struct op *op = calloc(1, sizeof *op);
    if (!op) return;
    op->kind = OP_FLUSH;
    op->flushed = &done;
    if (enqueue(j, op, 0, NULL) < 0) {
        free(op);
        return;
    }
    pthread_mutex_lock(&j->lock);
    while (!done) pthread_cond_wait(&j->flushed_cv, &j->lock);
    pthread_mutex_unlock(&j->lock);
}

/* --- writer thread ------------------------------------------------------ */

static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int apply(struct cw_journal *j, struct op *op)
{
    if (op->kind == OP_APPEND) {
        sqlite3_stmt *st = j->ins;
        sqlite3_bind_text(st, 1, op->received_at, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, op->channel, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, op->peer, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, op->format, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)op->raw_len);
        sqlite3_bind_blob64(st, 6, op->raw_len ? op->raw : "", op->raw_len, SQLITE_STATIC);
        if (step_done(st) < 0) return -1;
        op->seq = sqlite3_last_insert_rowid(j->wdb);
        sqlite3_clear_bindings(st);
        return 0;
    }
    if (op->kind == OP_STATUS) {
        sqlite3_stmt *st = j->upd;
        sqlite3_bind_int64(st, 1, op->target);
        sqlite3_bind_text(st, 2, cw_journal_status_name(op->status), -1, SQLITE_STATIC);
        if (op->ack_code[0])
            sqlite3_bind_text(st, 3, op->ack_code, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 3);
        if (op->error_code)
            sqlite3_bind_int(st, 4, op->error_code);
        else
            sqlite3_bind_null(st, 4);
        if (op->error_location[0])
            sqlite3_bind_text(st, 5, op->error_location, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 5);
        if (op->error_text[0])
            sqlite3_bind_text(st, 6, op->error_text, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 6);
        sqlite3_bind_text(st, 7, op->received_at, -1, SQLITE_STATIC);
        int rc = step_done(st);
        sqlite3_clear_bindings(st);
        return rc;
    }
    return 0;
}

static void *writer_main(void *arg)
{
    struct cw_journal *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        while (!j->head && !j->closing) pthread_cond_wait(&j->wake, &j->lock);
        if (!j->head && j->closing) {
            pthread_mutex_unlock(&j->lock);
            break;
        }
        /* Take up to max_batch operations. */
        struct op *batch = j->head, *last = j->head;
        size_t n = 1, bytes = last->kind == OP_APPEND ? last->raw_len + 1 : 0;
        while (last->next && n < j->max_batch) {
            last = last->next;
            n++;
            if (last->kind == OP_APPEND) bytes += last->raw_len + 1;
        }
        j->head = last->next;
        if (!j->head) j->tail = NULL;
        last->next = NULL;
        j->queued_bytes -= bytes;
        pthread_mutex_unlock(&j->lock);

        /* One transaction for the batch. */
        struct cw_err e;
        cw_err_clear(&e);
        size_t appends = 0, updates = 0;
        for (struct op *op = batch; op; op = op->next) {
            if (op->kind == OP_APPEND) appends++;
            if (op->kind == OP_STATUS) updates++;
        }
        bool ok = step_done(j->begin) == 0;
        for (struct op *op = batch; ok && op; op = op->next)
            if (apply(j, op) < 0) ok = false;
        if (ok && step_done(j->commit) < 0) ok = false;
        if (!ok) {
            db_fail(&e, j->wdb, "commit");
            step_done(j->rollback);
        }

        pthread_mutex_lock(&j->lock);
        if (ok) {
            j->stats.commits++;
            j->stats.appended += appends;
            j->stats.updates += updates;
        } else {
            j->stats.failed += appends;
        }
        if (n > j->stats.largest_batch) j->stats.largest_batch = n;
        pthread_mutex_unlock(&j->lock);

        /* Callbacks after COMMIT, with no lock held. */
        bool any_flush = false;
        for (struct op *op = batch, *next; op; op = next) {
            next = op->next;
            if (op->kind == OP_APPEND && op->done)
                op->done(op->ctx, ok ? op->seq : 0, ok ? NULL : &e);
            if (op->kind == OP_FLUSH) {
                pthread_mutex_lock(&j->lock);
                *op->flushed = true;
                pthread_mutex_unlock(&j->lock);
                any_flush = true;
            }
            free(op);
        }
        if (any_flush) {
            pthread_mutex_lock(&j->lock);
            pthread_cond_broadcast(&j->flushed_cv);
            pthread_mutex_unlock(&j->lock);
        }
    }
    return NULL;
}

/* --- reading ------------------------------------------------------------ */

static cw_slice col(sqlite3_stmt *st, int i)
{
    const void *p = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    return cw_slice_make(p ? (const char *)p : "", (size_t)n);
}

static void read_row(sqlite3_stmt *st, struct cw_journal_record *r)
{
    r->seq = sqlite3_column_int64(st, 0);
    r->received_at = col(st, 1);
    r->channel = col(st, 2);
    r->peer = col(st, 3);
    r->format = col(st, 4);
    r->raw = col(st, 5);
    r->status = status_parse(sqlite3_column_text(st, 6));
    r->ack_code = col(st, 7);
    r->error_code = sqlite3_column_int(st, 8);
    r->error_location = col(st, 9);
    r->error_text = col(st, 10);
    r->attempts = sqlite3_column_int(st, 11);
}

int cw_journal_get(struct cw_journal *j, struct cw_arena *arena, int64_t seq,
                   struct cw_journal_record *out, struct cw_err *err)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&j->read_lock);
    sqlite3_stmt *st = j->get;
    sqlite3_bind_int64(st, 1, seq);
    int rc = sqlite3_step(st), ret = 0;
    if (rc == SQLITE_ROW) {
        read_row(st, out);
        cw_slice *s[] = {&out->received_at, &out->channel,  &out->peer,           &out->format,
                         &out->raw,         &out->ack_code, &out->error_location, &out->error_text};
        for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
            cw_slice c = cw_arena_dup(arena, *s[i]);
            if (!c.ptr) {
                ret = cw_err_set(err, CW_ISSUE_TOO_COSTLY,
                                 "journal: message %lld does not fit the arena", (long long)seq);
                break;
            }
            *s[i] = c;
        }
    } else if (rc == SQLITE_DONE) {
        ret = cw_err_set(err, CW_ISSUE_NOT_FOUND, "journal: no message %lld", (long long)seq);
    } else {
        ret = db_fail(err, j->rdb, "read");
    }
    sqlite3_reset(st);
    pthread_mutex_unlock(&j->read_lock);
    return ret;
}

long cw_journal_list(struct cw_journal *j, int64_t after_seq, size_t limit, int status,
                     cw_journal_row_fn fn, void *ctx, struct cw_err *err)
{
    pthread_mutex_lock(&j->read_lock);
    sqlite3_stmt *st = status < 0 ? j->list_any : j->list_status;
    sqlite3_bind_int64(st, 1, after_seq);
    sqlite3_bind_int64(st, 2, limit ? (sqlite3_int64)limit : -1);
    if (status >= 0)
        sqlite3_bind_text(st, 3, cw_journal_status_name((enum cw_journal_status)status), -1,
                          SQLITE_STATIC);
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct cw_journal_record r;
        read_row(st, &r);
        n++;
        if (fn && fn(ctx, &r)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE) n = db_fail(err, j->rdb, "list");
    sqlite3_reset(st);
    pthread_mutex_unlock(&j->read_lock);
    return n;
}

int64_t cw_journal_count(struct cw_journal *j, int status, struct cw_err *err)
{
    pthread_mutex_lock(&j->read_lock);
    sqlite3_stmt *st = status < 0 ? j->count_any : j->count_status;
    if (status >= 0)
        sqlite3_bind_text(st, 1, cw_journal_status_name((enum cw_journal_status)status), -1,
                          SQLITE_STATIC);
    int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    else
        db_fail(err, j->rdb, "count");
    sqlite3_reset(st);
    pthread_mutex_unlock(&j->read_lock);
    return n;
}

void cw_journal_get_stats(struct cw_journal *j, struct cw_journal_stats *out)
{
    pthread_mutex_lock(&j->lock);
    *out = j->stats;
    pthread_mutex_unlock(&j->lock);
}

void cw_journal_record_write(struct cw_json_writer *w, const struct cw_journal_record *r,
                             bool with_raw)
{
    cw_json_begin_object(w);
    cw_json_key(w, CW_LIT("seq"));
    cw_json_int_value(w, r->seq);
    cw_json_key(w, CW_LIT("receivedAt"));
    cw_json_string_value(w, r->received_at);
    cw_json_key(w, CW_LIT("channel"));
    cw_json_string_value(w, r->channel);
    cw_json_key(w, CW_LIT("peer"));
    cw_json_string_value(w, r->peer);
    cw_json_key(w, CW_LIT("size"));
    cw_json_int_value(w, (long long)r->raw.len);
    cw_json_key(w, CW_LIT("status"));
    cw_json_string_value(w, cw_slice_cstr(cw_journal_status_name(r->status)));
    cw_json_key(w, CW_LIT("ack"));
    cw_json_string_value(w, r->ack_code);
    cw_json_key(w, CW_LIT("attempts"));
    cw_json_int_value(w, r->attempts);
    if (r->error_code || r->error_location.len || r->error_text.len) {
        cw_json_key(w, CW_LIT("error"));
        cw_json_begin_object(w);
        cw_json_key(w, CW_LIT("code"));
        cw_json_int_value(w, r->error_code);
        cw_json_key(w, CW_LIT("location"));
        cw_json_string_value(w, r->error_location);
        cw_json_key(w, CW_LIT("text"));
        cw_json_string_value(w, r->error_text);
        cw_json_end_object(w);
    }
    if (with_raw) {
        cw_json_key(w, CW_LIT("message"));
        cw_json_string_value(w, r->raw);
    }
    cw_json_end_object(w);
}
