/*
 * pipeline.h — the processing stage between the durable journal and the
 * acknowledgment: journaled message -> processor (convert + store) ->
 * journal status -> completion (the ACK).
 *
 * ARCHITECTURE.md "Rules of the flow": a message is journaled first, then
 * processed; AA goes back only after the processor's store transaction has
 * committed. The pipeline owns ordering and batching, the processor owns
 * the meaning (src/server wires the HL7 v2 -> FHIR converter and the store).
 *
 * Ordering. Messages are partitioned by sender — MSH-3 (sending
 * application) and MSH-4 (sending facility), read from the raw bytes
 * without a full parse — over `workers` worker threads. One sender always
 * lands on the same worker, and a worker processes its queue strictly in
 * submission order, so the messages of one sender are applied in the order
 * they were journaled. Throughput comes from batching: a worker hands the
 * processor up to `max_batch` queued messages at once, which it may commit
 * in one store transaction (group commit); it never reorders them.
 *
 * Status. After the processor returns, each message's journal row becomes
 * PROCESSED or ERROR (with the error's HL7 code, location and text — never
 * field values), and its completion is called. A message the processor
 * did not reach (the pipeline is stopping) stays RECEIVED and is picked up
 * again by cw_pipeline_recover on the next start: processing must therefore
 * be idempotent (the converter derives resource ids from business
 * identifiers, so a replay updates instead of duplicating).
 *
 * Thread safety: cw_pipeline_submit may be called from any thread (the
 * journal's writer thread calls it from its completion). The processor and
 * the completions run on the worker threads.
 */
#ifndef CW_INGEST_PIPELINE_H
#define CW_INGEST_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/slice.h"
#include "ingest/journal.h"

/* One message handed to the processor. */
struct cw_pipeline_item {
    int64_t seq;         /* journal sequence id */
    cw_slice raw;        /* the message as received (owned by the pipeline; NUL-terminated) */
    const char *channel; /* "mllp", "reprocess", "recover" */
    const char *peer;    /* remote address or "" */
    /* Filled by the processor: */
    int failed;          /* 0: processed and committed; 1: see error */
    struct cw_err error; /* why (v2_code + location for the ERR segment) */
    uint32_t resources;  /* resources written (for stats and logs) */
};

/*
 * The processor: handle items[0..n) in order and set each item's failed /
 * error / resources. It may commit them in one transaction; when that
 * transaction fails it must fall back so that one bad message does not fail
 * its neighbours (e.g. retry one by one). Called on a worker thread; one
 * call at a time per worker.
 */
typedef void (*cw_pipeline_process_fn)(void *ctx, struct cw_pipeline_item *items, size_t n);

/*
 * Completion for one submitted message, after its journal status has been
 * queued. Called exactly once per successful cw_pipeline_submit, on a
 * worker thread, in submission order per sender.
 */
typedef void (*cw_pipeline_done_fn)(void *ctx, const struct cw_pipeline_item *item);

struct cw_pipeline_opts {
    unsigned workers;       /* worker threads; 0 = 1 */
    size_t max_batch;       /* messages per processor call; 0 = 256 */
    size_t max_queue_bytes; /* bytes waiting per worker; 0 = 256 MiB */
};

struct cw_pipeline;

/*
 * Start the workers. journal receives the status updates (borrowed; must
 * outlive the pipeline). opts may be NULL. Free with cw_pipeline_stop.
 */
int cw_pipeline_start(struct cw_journal *journal, const struct cw_pipeline_opts *opts,
                      cw_pipeline_process_fn process, void *process_ctx, struct cw_pipeline **out,
                      struct cw_err *err);

/*
 * Queue journaled message seq for processing (raw is copied). done may be
 * NULL. Returns 0 — done will be called exactly once — or -1 without
 * calling done: CW_ISSUE_THROTTLED when the worker's queue is full,
 * CW_ISSUE_TRANSIENT when stopping. The message then stays RECEIVED in the
 * journal.
 */
int cw_pipeline_submit(struct cw_pipeline *p, int64_t seq, cw_slice raw, const char *channel,
                       const char *peer, cw_pipeline_done_fn done, void *done_ctx,
                       struct cw_err *err);

/*
 * Submit every journal row still RECEIVED (journaled before a crash or a
 * stop, never processed), in seq order, without completions. Returns the
 * number queued or -1.
 */
long cw_pipeline_recover(struct cw_pipeline *p, struct cw_err *err);

/*
 * Submit every journal row with this status, in seq order, a page at a
 * time (the workers drain between pages), each with done (may be NULL:
 * the pipeline then records the outcome). The error queue's retry uses it
 * with CW_JOURNAL_ERROR. Returns the number queued or -1.
 */
long cw_pipeline_submit_status(struct cw_pipeline *p, enum cw_journal_status status,
                               const char *channel, cw_pipeline_done_fn done, void *done_ctx,
                               struct cw_err *err);

/* Wait until everything submitted before this call has completed. */
void cw_pipeline_flush(struct cw_pipeline *p);

/*
 * Process what is queued, call its completions, stop the workers and free.
 * NULL is a no-op. No submit may run concurrently or follow.
 */
void cw_pipeline_stop(struct cw_pipeline *p);

struct cw_pipeline_stats {
    uint64_t processed; /* messages processed successfully */
    uint64_t failed;    /* messages the processor refused */
    uint64_t batches;   /* processor calls */
    uint64_t largest_batch;
};
void cw_pipeline_get_stats(struct cw_pipeline *p, struct cw_pipeline_stats *out);

/*
 * The partition key of a raw v2 message: hash of MSH-3 and MSH-4 as bytes
 * (0 when the message has no readable MSH). Exposed for tests.
 */
uint64_t cw_pipeline_sender_key(cw_slice raw);

#endif
