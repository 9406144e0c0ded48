/*
 * journal.h — the durable inbound journal: every message received is
 * written here, on disk, before anyone is told it was accepted.
 *
 * ARCHITECTURE.md "Rules of the flow": nothing inbound is lost; a v2 message
 * is journaled before it is processed and acknowledged (AA) only after the
 * journal commit. Later stages (ingest pipeline, `causeway messages
 * list|show|reprocess`) read the journal and move each row's status from
 * `received` to `processed` or `error`.
 *
 * Storage: one SQLite database (e.g. <data>/journal.db), separate from the
 * resource store, in WAL mode with synchronous=FULL: a commit returns only
 * after the WAL has been fsync'ed, so a committed message survives a crash
 * or power loss. Group commit: one writer thread owns the write connection,
 * takes every queued operation (up to max_batch) into one transaction, and
 * calls each append's completion callback after COMMIT returned — many
 * messages share one fsync.
 *
 * Schema (versioned with PRAGMA user_version; see docs/internals/journal.md):
 *   message(seq INTEGER PRIMARY KEY AUTOINCREMENT, received_at TEXT,
 *           channel TEXT, peer TEXT, format TEXT, size INTEGER, raw BLOB,
 *           status TEXT CHECK IN ('received','processed','error'),
 *           ack_code TEXT, error_code INTEGER, error_location TEXT,
 *           error_text TEXT, attempts INTEGER, updated_at TEXT)
 * `seq` is strictly increasing and never reused (AUTOINCREMENT).
 *
 * What goes in: raw bytes exactly as received (no parsing here), the
 * channel (listener name, "mllp"), the peer address ("127.0.0.1:40312":
 * an address, not patient data). Error texts must be free of PHI like every
 * cw_err diagnostic.
 *
 * SQL: prepared once at open, parameters bound — never text built from
 * input.
 *
 * Thread safety: every function may be called from any thread. Completion
 * callbacks run on the writer thread, without journal locks held, so they
 * may call cw_journal_append/cw_journal_set_status; they must not block for
 * long (they delay the next commit).
 */
#ifndef CW_INGEST_JOURNAL_H
#define CW_INGEST_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/slice.h"

/* The schema version this build writes (PRAGMA user_version). */
#define CW_JOURNAL_SCHEMA_VERSION 1

enum cw_journal_status {
    CW_JOURNAL_RECEIVED = 0, /* on disk, not processed yet */
    CW_JOURNAL_PROCESSED,    /* processed successfully */
    CW_JOURNAL_ERROR,        /* refused or failed; error_* tell why */
};

struct cw_journal_opts {
    size_t max_batch;       /* operations per transaction; 0 = 1024 */
    size_t max_queue_bytes; /* bytes waiting for the writer; 0 = 256 MiB */
    size_t max_message;     /* largest raw message; 0 = 64 MiB */
    int sync_full;          /* 1 (default when opts is NULL) = synchronous=FULL, 0 = NORMAL */
};

struct cw_journal;

/*
 * Open (creating if needed) the journal database at path and start its
 * writer thread. opts may be NULL for defaults. Fails with CW_ISSUE_NO_STORE
 * when the file cannot be opened or its schema version is newer than
 * CW_JOURNAL_SCHEMA_VERSION. Free with cw_journal_close.
 */
int cw_journal_open(const char *path, const struct cw_journal_opts *opts, struct cw_journal **out,
                    struct cw_err *err);

/*
 * Commit everything queued, call its callbacks, stop the writer thread and
 * close the database. NULL is a no-op. No other call may run concurrently
 * or follow.
 */
void cw_journal_close(struct cw_journal *j);

/* One message to journal. Strings are NUL-terminated; NULL means "". */
struct cw_journal_entry {
    cw_slice raw;        /* the bytes received (copied) */
    const char *channel; /* listener/channel name, e.g. "mllp" */
    const char *peer;    /* remote address, e.g. "127.0.0.1:40312" */
    const char *format;  /* "hl7v2" (default when NULL) */
};

/*
 * Completion of an append: called exactly once, on the writer thread,
 * after the transaction holding the message has committed (err == NULL,
 * seq = the message's sequence id) or failed (err set, seq = 0).
 */
typedef void (*cw_journal_done_fn)(void *ctx, int64_t seq, const struct cw_err *err);

/*
 * Queue a message for the next group commit (the bytes are copied; the
 * received time is taken now). done may be NULL. Returns 0 when queued —
 * done will then be called exactly once — or -1 without calling done:
 * CW_ISSUE_THROTTLED when max_queue_bytes are already waiting,
 * CW_ISSUE_TOO_LONG over max_message, CW_ISSUE_TRANSIENT when closing.
 */
int cw_journal_append(struct cw_journal *j, const struct cw_journal_entry *e,
                      cw_journal_done_fn done, void *ctx, struct cw_err *err);

/*
 * Queue a status change for message seq (applied in the next transaction;
 * fire and forget). ack_code (may be NULL) records the acknowledgment sent
 * ("AA", "AE", "AR"); detail (may be NULL) fills error_code (its v2 code),
 * error_location and error_text. Increments `attempts` when the status is
 * PROCESSED or ERROR. Returns -1 only when closing or out of memory.
 */
int cw_journal_set_status(struct cw_journal *j, int64_t seq, enum cw_journal_status status,
                          const char *ack_code, const struct cw_err *detail, struct cw_err *err);

/*
 * Wait until every operation queued before this call has been committed
 * (or failed). For tests and orderly shutdown.
 */
void cw_journal_flush(struct cw_journal *j);

/* One journal row as read back. Slices point into the arena given to cw_journal_get. */
struct cw_journal_record {
    int64_t seq;
    cw_slice received_at; /* "2026-11-25T06:40:00.123Z" */
    cw_slice channel, peer, format;
    cw_slice raw;
    enum cw_journal_status status;
    cw_slice ack_code; /* "" until set */
    int error_code;    /* HL7 table 0357 code, 0 when none */
    cw_slice error_location, error_text;
    int attempts;
};

/*
 * Read message seq (committed rows only) into *out, copying into arena.
 * Returns 0, or -1 with CW_ISSUE_NOT_FOUND / CW_ISSUE_NO_STORE /
 * CW_ISSUE_TOO_COSTLY (arena ceiling).
 */
int cw_journal_get(struct cw_journal *j, struct cw_arena *arena, int64_t seq,
                   struct cw_journal_record *out, struct cw_err *err);

/*
 * Visit committed messages with seq > after_seq in seq order, at most limit
 * (0 = no limit); status < 0 means any status. The record's slices are
 * valid only during the call; fn returns non-zero to stop. Returns the
 * number visited, or -1 with err set.
 */
typedef int (*cw_journal_row_fn)(void *ctx, const struct cw_journal_record *r);
long cw_journal_list(struct cw_journal *j, int64_t after_seq, size_t limit, int status,
                     cw_journal_row_fn fn, void *ctx, struct cw_err *err);

/* Number of committed messages (status < 0: any status). -1 on error. */
int64_t cw_journal_count(struct cw_journal *j, int status, struct cw_err *err);

/* Writer counters since open (for tests, logs and benchmarks). */
struct cw_journal_stats {
    uint64_t commits;       /* transactions committed */
    uint64_t appended;      /* messages committed */
    uint64_t failed;        /* messages whose transaction failed */
    uint64_t updates;       /* status changes applied */
    uint64_t largest_batch; /* most operations in one transaction */
};
void cw_journal_get_stats(struct cw_journal *j, struct cw_journal_stats *out);

/*
 * One row as a JSON object (seq, receivedAt, channel, peer, size, status,
 * ack, attempts, error {code, location, text} when set; the message text
 * as "message" only when with_raw) — the shape of GET /messages and
 * `causeway messages --json`.
 */
struct cw_json_writer;
void cw_journal_record_write(struct cw_json_writer *w, const struct cw_journal_record *r,
                             bool with_raw);

/* "received" | "processed" | "error". */
const char *cw_journal_status_name(enum cw_journal_status s);

#endif
