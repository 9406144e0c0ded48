/*
 * pipeline.c — ordered, batching workers between the journal and the ACK.
 * See pipeline.h for the contract (ordering per sender, status, recovery).
 *
 * Each worker owns a FIFO of nodes (one heap block per message: the node,
 * then the raw bytes). submit appends under the worker's mutex; the worker
 * takes up to max_batch nodes, calls the processor without any lock held,
 * queues the journal status of each, then calls the completions in order.
 */
#include "ingest/pipeline.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/log.h"

struct node {
    struct node *next;
    struct cw_pipeline_item item;
    cw_pipeline_done_fn done;
    void *done_ctx;
    char channel[16];
    char peer[64];
    size_t len;
    char data[];
};

struct worker {
    struct cw_pipeline *p;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct node *head, *tail;
    size_t queued_bytes;
    bool stopping;
    bool started;
};

struct cw_pipeline {
    struct cw_journal *journal;
    cw_pipeline_process_fn process;
    void *process_ctx;
    size_t max_batch, max_queue_bytes;
    unsigned n_workers;
    struct worker *workers;
    /* flush: submitted vs completed counts */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t submitted, completed;
    struct cw_pipeline_stats stats;
    bool stopping;
};

/* Bytes of field n (1-based as in MSH-n, so MSH-1 is the separator) of the MSH segment. */
static cw_slice msh_field(cw_slice raw, int n)
{
    const char *p = raw.ptr, *end = raw.ptr + raw.len;
    /* Skip a UTF-8 BOM and anything before the first MSH (a batch header). */
    const char *msh = NULL;
    for (const char *q = p; q + 4 <= end; q++) {
        if (q[0] == 'M' && q[1] == 'S' && q[2] == 'H' &&
            (q == p || q[-1] == '\r' || q[-1] == '\n' ||
             (q - p == 3 && (unsigned char)p[0] == 0xEF))) {
            msh = q;
            break;
        }
    }
    if (!msh) return CW_SLICE_NULL;
    char sep = msh[3];
    if (sep == '\r' || sep == '\n') return CW_SLICE_NULL;
    /* After "MSH|", field 2 starts; field k starts after k-1 separators counted from MSH-1. */
    const char *f = msh + 4;
    int k = 2;
    while (f < end && k < n) {
        if (*f == '\r' || *f == '\n') return CW_SLICE_NULL;
        if (*f == sep) k++;
        f++;
    }
    if (k != n) return CW_SLICE_NULL;
    const char *e = f;
    while (e < end && *e != sep && *e != '\r' && *e != '\n') e++;
    return cw_slice_make(f, (size_t)(e - f));
}

uint64_t cw_pipeline_sender_key(cw_slice raw)
{
    cw_slice app = msh_field(raw, 3), fac = msh_field(raw, 4);
    if (!app.ptr && !fac.ptr) return 0;
    uint64_t h = cw_hash_fast(app.ptr ? app.ptr : "", app.len, 0x5eed);
    return cw_hash_fast(fac.ptr ? fac.ptr : "", fac.len, h) | 1;
}

static void finish(struct cw_pipeline *p, struct node *n)
{
    struct cw_pipeline_item *it = &n->item;
    if (!n->done) {
        /* Recovered or reprocessed without a listener: record the outcome here. */
        struct cw_err e;
        if (cw_journal_set_status(p->journal, it->seq,
                                  it->failed ? CW_JOURNAL_ERROR : CW_JOURNAL_PROCESSED, NULL,
                                  it->failed ? &it->error : NULL, &e) < 0)
            cw_log(CW_LOG_WARN, "pipeline.status_not_recorded", CW_LOG_INT("seq", it->seq),
                   CW_LOG_STR("reason", e.msg));
    } else {
        n->done(n->done_ctx, it);
    }
}

static void run_batch(struct worker *w, struct node *first, size_t count)
{
    struct cw_pipeline *p = w->p;
    struct cw_pipeline_item *items = malloc(count * sizeof *items);
    struct node *n = first;
    if (!items) {
        /* Without memory for the batch array, process one at a time. */
        for (size_t i = 0; i < count; i++, n = n->next) p->process(p->process_ctx, &n->item, 1);
    } else {
        for (size_t i = 0; i < count; i++, n = n->next) items[i] = n->item;
        p->process(p->process_ctx, items, count);
        n = first;
        for (size_t i = 0; i < count; i++, n = n->next) {
            n->item.failed = items[i].failed;
            n->item.error = items[i].error;
            n->item.resources = items[i].resources;
        }
        free(items);
    }
    uint64_t ok = 0, bad = 0;
    n = first;
    for (size_t i = 0; i < count; i++) {
        struct node *next = n->next;
        if (n->item.failed) {
            bad++;
            if (!cw_err_is_set(&n->item.error))
                cw_err_set(&n->item.error, CW_ISSUE_PROCESSING, "message not processed");
        } else {
            ok++;
        }
        finish(p, n);
        free(n);
        n = next;
    }
    pthread_mutex_lock(&p->mu);
    p->stats.processed += ok;
    p->stats.failed += bad;
    p->stats.batches++;
    if (count > p->stats.largest_batch) p->stats.largest_batch = count;
    p->completed += count;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct cw_pipeline *p = w->p;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->head && !w->stopping) pthread_cond_wait(&w->cv, &w->mu);
        if (!w->head) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        struct node *first = w->head, *last = first;
        size_t count = 1, bytes = first->len;
        while (last->next && count < p->max_batch) {
            last = last->next;
            bytes += last->len;
            count++;
        }
        w->head = last->next;
        if (!w->head) w->tail = NULL;
        last->next = NULL;
        w->queued_bytes -= bytes;
        pthread_mutex_unlock(&w->mu);
        run_batch(w, first, count);
    }
    return NULL;
}

int cw_pipeline_start(struct cw_journal *journal, const struct cw_pipeline_opts *opts,
                      cw_pipeline_process_fn process, void *process_ctx, struct cw_pipeline **out,
                      struct cw_err *err)
{
    *out = NULL;
    if (!journal || !process)
        return cw_err_set(err, CW_ISSUE_VALUE, "pipeline: journal and processor required");
    struct cw_pipeline *p = calloc(1, sizeof *p);
    if (!p) return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    p->journal = journal;
    p->process = process;
    p->process_ctx = process_ctx;
    p->n_workers = opts && opts->workers ? opts->workers : 1;
    if (p->n_workers > 64) p->n_workers = 64;
    p->max_batch = opts && opts->max_batch ? opts->max_batch : 256;
    p->max_queue_bytes = opts && opts->max_queue_bytes ? opts->max_queue_bytes : (size_t)256 << 20;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->workers = calloc(p->n_workers, sizeof *p->workers);
    if (!p->workers) {
        cw_pipeline_stop(p);
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    }
    for (unsigned i = 0; i < p->n_workers; i++) {
        struct worker *w = &p->workers[i];
        w->p = p;
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->cv, NULL);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            cw_pipeline_stop(p);
            return cw_err_set(err, CW_ISSUE_EXCEPTION, "pipeline: cannot start a worker thread");
        }
        w->started = true;
    }
    *out = p;
    return 0;
}

int cw_pipeline_submit(struct cw_pipeline *p, int64_t seq, cw_slice raw, const char *channel,
                       const char *peer, cw_pipeline_done_fn done, void *done_ctx,
                       struct cw_err *err)
{
    uint64_t key = cw_pipeline_sender_key(raw);
    struct worker *w = &p->workers[key % p->n_workers];
    struct node *n = malloc(sizeof *n + raw.len + 1);
    if (!n) return cw_err_set(err, CW_ISSUE_THROTTLED, "pipeline: out of memory");
    memset(n, 0, sizeof *n);
    n->len = raw.len;
    if (raw.len) memcpy(n->data, raw.ptr, raw.len);
    n->data[raw.len] = '\0';
    snprintf(n->channel, sizeof n->channel, "%s", channel ? channel : "");
    snprintf(n->peer, sizeof n->peer, "%s", peer ? peer : "");
    n->item.seq = seq;
    n->item.raw = cw_slice_make(n->data, n->len);
    n->item.channel = n->channel;
    n->item.peer = n->peer;
    cw_err_clear(&n->item.error);
    n->done = done;
    n->done_ctx = done_ctx;

    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        free(n);
        return cw_err_set(err, CW_ISSUE_TRANSIENT, "pipeline: stopping");
    }
    if (w->queued_bytes && w->queued_bytes + raw.len > p->max_queue_bytes) {
        pthread_mutex_unlock(&w->mu);
        free(n);
        return cw_err_set(err, CW_ISSUE_THROTTLED, "pipeline: queue full");
    }
    pthread_mutex_lock(&p->mu);
    p->submitted++;
    pthread_mutex_unlock(&p->mu);
    if (w->tail)
        w->tail->next = n;
    else
        w->head = n;
    w->tail = n;
    w->queued_bytes += raw.len;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

struct status_ctx {
    struct cw_pipeline *p;
    const char *channel;
    cw_pipeline_done_fn done;
    void *done_ctx;
    long queued;
    int64_t last;
    struct cw_err *err;
    int failed;
};

static int status_row(void *ctx, const struct cw_journal_record *r)
{
    struct status_ctx *sc = ctx;
    sc->last = r->seq;
    if (cw_pipeline_submit(sc->p, r->seq, r->raw, sc->channel, "", sc->done, sc->done_ctx,
                           sc->err) < 0) {
        sc->failed = 1;
        return 1;
    }
    sc->queued++;
    return 0;
}

long cw_pipeline_submit_status(struct cw_pipeline *p, enum cw_journal_status status,
                               const char *channel, cw_pipeline_done_fn done, void *done_ctx,
                               struct cw_err *err)
{
    struct status_ctx sc = {
        .p = p, .channel = channel, .done = done, .done_ctx = done_ctx, .err = err};
    /* Page through the journal so a large backlog is not held in memory at once. */
    for (;;) {
        long before = sc.queued;
        long n = cw_journal_list(p->journal, sc.last, 1024, (int)status, status_row, &sc, err);
        if (n < 0 || sc.failed) return -1;
        if (n == 0 || sc.queued == before) break;
        /* Let the workers drain before reading the next page (bounded memory). */
        cw_pipeline_flush(p);
    }
    return sc.queued;
}

long cw_pipeline_recover(struct cw_pipeline *p, struct cw_err *err)
{
    long n = cw_pipeline_submit_status(p, CW_JOURNAL_RECEIVED, "recover", NULL, NULL, err);
    if (n > 0) cw_log(CW_LOG_INFO, "pipeline.recovered", CW_LOG_INT("messages", n));
    return n;
}

void cw_pipeline_flush(struct cw_pipeline *p)
{
    pthread_mutex_lock(&p->mu);
    uint64_t target = p->submitted;
    while (p->completed < target) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void cw_pipeline_stop(struct cw_pipeline *p)
{
    if (!p) return;
    if (p->workers) {
        for (unsigned i = 0; i < p->n_workers; i++) {
            struct worker *w = &p->workers[i];
            if (!w->started) continue;
            pthread_mutex_lock(&w->mu);
            w->stopping = true;
            pthread_cond_signal(&w->cv);
            pthread_mutex_unlock(&w->mu);
        }
        for (unsigned i = 0; i < p->n_workers; i++) {
            struct worker *w = &p->workers[i];
            if (w->started) pthread_join(w->thread, NULL);
            if (!w->p) continue; /* never initialised */
            pthread_mutex_destroy(&w->mu);
            pthread_cond_destroy(&w->cv);
        }
        free(p->workers);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

void cw_pipeline_get_stats(struct cw_pipeline *p, struct cw_pipeline_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->stats;
    pthread_mutex_unlock(&p->mu);
}
