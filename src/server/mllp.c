/*
 * mllp.c — the MLLP side of `causeway serve`: listener -> journal -> ACK.
 *
 * Flow for one frame (ARCHITECTURE.md "Rules of the flow"):
 *   listener thread: frame -> copy -> cw_journal_append (group commit)
 *   writer thread:   COMMIT returned -> ACK builder (outcome STORED) ->
 *                    AE/AR recorded on the journal row -> reply
 *   listener thread: reply written in the connection's order.
 * A message the journal refuses (queue full, too large, closing, commit
 * failed) is answered through the builder with outcome NOT_STORED, which
 * must not be AA. A frame over the size limit is not journaled (we do not
 * have it); the builder answers from its first bytes (outcome TOO_LARGE).
 *
 * Owns: the journal, the listener, the server TLS context, and one
 * `inbound` record per message between frame and reply.
 *
 * The ACK builder is a process-wide hook filled by the hl7v2 module
 * (cw_server_set_ack_builder); this file builds no HL7 itself.
 */
#include "server/server_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "json/json.h"
#include "ingest/journal.h"
#include "net/net.h"

/* Largest ACK we are willing to send. */
#define ACK_MAX ((size_t)1 << 20)

static cw_ack_build_fn ack_fn = cw_server_hl7v2_ack;
static void *ack_ctx;
static cw_pipeline_process_fn test_process;
static void *test_process_ctx;

void cw_server_set_v2_processor(void (*fn)(void *ctx, struct cw_pipeline_item *items, size_t n),
                                void *ctx)
{
    test_process = fn;
    test_process_ctx = fn ? ctx : NULL;
}

void cw_server_set_ack_builder(cw_ack_build_fn fn, void *ctx)
{
    ack_fn = fn ? fn : cw_server_hl7v2_ack;
    ack_ctx = fn ? ctx : NULL;
}

struct cw_server_mllp {
    struct cw_journal *journal;
    struct cw_pipeline *pipeline; /* NULL: journal only */
    struct cw_mllp_listener *listener;
    struct cw_tls_ctx *tls;
    cw_ack_build_fn build;
    void *build_ctx;
    int port;
};

/* One message between its frame and its reply. */
struct inbound {
    struct cw_server_mllp *m;
    struct cw_mllp_request *req;
    char peer[64];
    uint64_t conn;
    size_t len;
    char data[]; /* the message */
};

static bool is_accept(const char *code)
{
    return strcmp(code, "AA") == 0 || strcmp(code, "CA") == 0;
}

/* Build the ACK through the hook and send it; record refusals in the journal. */
static void answer(struct cw_server_mllp *m, struct cw_mllp_request *req,
                   const struct cw_ack_request *ar, uint64_t conn)
{
    struct cw_buf out;
    cw_buf_init(&out, ACK_MAX);
    struct cw_ack_result res;
    memset(&res, 0, sizeof res);
    cw_err_clear(&res.error);
    int rc = m->build(m->build_ctx, ar, &out, &res);
    res.code[sizeof res.code - 1] = '\0';
    if (rc < 0 || cw_buf_failed(&out)) {
        cw_log(CW_LOG_ERROR, "mllp.ack_failed", CW_LOG_INT("conn", conn),
               CW_LOG_INT("seq", ar->journal_seq), CW_LOG_INT("bytes", ar->message.len));
        cw_mllp_request_reply(req, CW_SLICE_NULL);
        cw_buf_release(&out);
        return;
    }
    if (ar->outcome == CW_INBOUND_STORED) {
        /* The journal row's outcome: refusals always; acceptances when the
         * pipeline processed the message (journal-only mode leaves the row
         * RECEIVED for a later pipeline). Inbound ACKs (no reply) too. */
        bool refused = res.code[0] && !is_accept(res.code);
        bool failed = refused || (m->pipeline && ar->processing_error);
        struct cw_err e;
        if (failed && !cw_err_is_set(&res.error)) {
            if (ar->processing_error)
                res.error = *ar->processing_error;
            else
                cw_err_set(&res.error, CW_ISSUE_PROCESSING, "refused");
        }
        if ((failed || m->pipeline) &&
            cw_journal_set_status(
                m->journal, ar->journal_seq, failed ? CW_JOURNAL_ERROR : CW_JOURNAL_PROCESSED,
                res.code[0] ? res.code : NULL, failed ? &res.error : NULL, &e) < 0)
            cw_log(CW_LOG_WARN, "mllp.status_not_recorded", CW_LOG_INT("seq", ar->journal_seq),
                   CW_LOG_STR("reason", e.msg));
    }
    cw_log(CW_LOG_DEBUG, "mllp.message", CW_LOG_INT("conn", conn),
           CW_LOG_INT("seq", ar->journal_seq), CW_LOG_INT("bytes", ar->message.len),
           CW_LOG_STR("ack", res.code),
           CW_LOG_INT("v2_error",
                      res.code[0] && !is_accept(res.code) ? (int)cw_err_v2_code(&res.error) : 0));
    cw_mllp_request_reply(req, cw_buf_slice(&out));
    cw_buf_release(&out);
}

/* Pipeline completion (worker thread): processed and committed, or not. */
static void on_processed(void *ctx, const struct cw_pipeline_item *item)
{
    struct inbound *in = ctx;
    struct cw_ack_request ar = {
        .message = cw_slice_make(in->data, in->len),
        .outcome = CW_INBOUND_STORED,
        .journal_seq = item->seq,
        .peer = in->peer,
        .processing_error = item->failed ? &item->error : NULL,
    };
    answer(in->m, in->req, &ar, in->conn);
    free(in);
}

/* Journal completion (writer thread): the message is on disk, or not. */
static void on_committed(void *ctx, int64_t seq, const struct cw_err *err)
{
    struct inbound *in = ctx;
    if (!err && in->m->pipeline) {
        /* On disk: now process it; the ACK follows the processor's commit.
         * When the pipeline cannot take it (queue full, stopping), the
         * message stays RECEIVED and is answered AE: the sender retries,
         * and the next start processes the journaled copy. */
        struct cw_err perr;
        cw_err_clear(&perr);
        if (cw_pipeline_submit(in->m->pipeline, seq, cw_slice_make(in->data, in->len), "mllp",
                               in->peer, on_processed, in, &perr) == 0)
            return;
        perr.v2_code = CW_V2_INTERNAL;
        cw_err_at(&perr, "MSH");
        cw_log(CW_LOG_WARN, "mllp.pipeline_refused", CW_LOG_INT("conn", in->conn),
               CW_LOG_INT("seq", seq), CW_LOG_STR("reason", perr.msg));
        struct cw_ack_request ar = {
            .message = cw_slice_make(in->data, in->len),
            .outcome = CW_INBOUND_STORED,
            .journal_seq = seq,
            .peer = in->peer,
            .processing_error = &perr,
        };
        answer(in->m, in->req, &ar, in->conn);
        free(in);
        return;
    }
    struct cw_ack_request ar = {
        .message = cw_slice_make(in->data, in->len),
        .outcome = err ? CW_INBOUND_NOT_STORED : CW_INBOUND_STORED,
        .journal_seq = err ? 0 : seq,
        .error = err,
        .peer = in->peer,
    };
    if (err)
        cw_log(CW_LOG_ERROR, "mllp.journal_failed", CW_LOG_INT("conn", in->conn),
               CW_LOG_STR("reason", err->msg));
    answer(in->m, in->req, &ar, in->conn);
    free(in);
}

/* Listener thread: a frame arrived. */
static void on_frame(void *ctx, struct cw_mllp_request *req, cw_slice frame,
                     const struct cw_mllp_frame_info *info)
{
    struct cw_server_mllp *m = ctx;
    struct cw_err err;
    cw_err_clear(&err);
    if (info->oversize) {
        cw_err_set(&err, CW_ISSUE_TOO_LONG, "message exceeds the MLLP frame limit");
        err.v2_code = CW_V2_INTERNAL;
        struct cw_ack_request ar = {
            .message = frame, .outcome = CW_INBOUND_TOO_LARGE, .error = &err, .peer = info->peer};
        answer(m, req, &ar, info->conn_id);
        return;
    }
    struct inbound *in = malloc(sizeof *in + frame.len);
    if (!in) {
        cw_err_set(&err, CW_ISSUE_EXCEPTION, "out of memory");
        err.v2_code = CW_V2_INTERNAL;
        struct cw_ack_request ar = {
            .message = frame, .outcome = CW_INBOUND_NOT_STORED, .error = &err, .peer = info->peer};
        answer(m, req, &ar, info->conn_id);
        return;
    }
    in->m = m;
    in->req = req;
    in->conn = info->conn_id;
    in->len = frame.len;
    snprintf(in->peer, sizeof in->peer, "%s", info->peer);
    if (frame.len) memcpy(in->data, frame.ptr, frame.len);
    struct cw_journal_entry e = {
        .raw = frame, .channel = info->listener, .peer = info->peer, .format = "hl7v2"};
    if (cw_journal_append(m->journal, &e, on_committed, in, &err) < 0) {
        /* Not journaled: the builder must answer AE/AR (never AA). */
        err.v2_code = CW_V2_INTERNAL;
        cw_log(CW_LOG_WARN, "mllp.journal_refused", CW_LOG_INT("conn", info->conn_id),
               CW_LOG_STR("reason", err.msg));
        struct cw_ack_request ar = {
            .message = frame, .outcome = CW_INBOUND_NOT_STORED, .error = &err, .peer = info->peer};
        answer(m, req, &ar, info->conn_id);
        free(in);
    }
}

int cw_server_mllp_start(const struct cw_config *c, cw_pipeline_process_fn process,
                         void *process_ctx, struct cw_server_mllp **out, char *note,
                         size_t note_size, struct cw_err *err)
{
    *out = NULL;
    note[0] = '\0';
    if (c->mllp_port < 0) {
        snprintf(note, note_size, "off (--mllp off)");
        return 0;
    }
    if (!ack_fn) {
        snprintf(
            note, note_size,
            "not started: this build has no HL7 v2 ACK builder (the hl7v2 module registers it)");
        cw_log(CW_LOG_WARN, "mllp.not_started", CW_LOG_STR("reason", "no ACK builder"));
        return 0;
    }
    if (!c->mllp_tls_cert[0] != !c->mllp_tls_key[0])
        return cw_err_set(err, CW_ISSUE_VALUE,
                          "mllp: --mllp-tls-cert and --mllp-tls-key go together");

    struct cw_server_mllp *m = calloc(1, sizeof *m);
    if (!m) return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    m->build = ack_fn;
    m->build_ctx = ack_ctx;
    if (c->mllp_tls_cert[0] &&
        cw_tls_server_new(c->mllp_tls_cert, c->mllp_tls_key, &m->tls, err) < 0)
        goto fail;

    char path[CW_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/journal.db", c->data_dir);
    struct cw_journal_opts jo = {.sync_full = 1, .max_message = c->mllp_max_frame};
    if (cw_journal_open(path, &jo, &m->journal, err) < 0) goto fail;
    if (test_process) {
        process = test_process;
        process_ctx = test_process_ctx;
    }
    if (process) {
        struct cw_pipeline_opts po = {.workers = c->ingest_workers, .max_batch = 256};
        if (cw_pipeline_start(m->journal, &po, process, process_ctx, &m->pipeline, err) < 0)
            goto fail;
        /* What an earlier run journaled but never processed goes first,
         * ahead of anything new from the same senders. */
        if (cw_pipeline_recover(m->pipeline, err) < 0) goto fail;
    }

    struct cw_mllp_listener_opts lo = {
        .name = "mllp",
        .addr = c->mllp_addr,
        .port = c->mllp_port,
        .tls = m->tls,
        .max_frame = c->mllp_max_frame,
        .on_frame = on_frame,
        .ctx = m,
    };
    if (cw_mllp_listener_start(&lo, &m->listener, err) < 0) goto fail;
    m->port = cw_mllp_listener_port(m->listener);
    *out = m;
    return 0;
fail:
    cw_server_mllp_stop(m);
    return -1;
}

int cw_server_mllp_bound_port(const struct cw_server_mllp *m)
{
    return m->port;
}

void cw_server_mllp_stop(struct cw_server_mllp *m)
{
    if (!m) return;
    /* The listener waits for every pending ACK, which needs the journal running. */
    cw_mllp_listener_stop(m->listener);
    cw_pipeline_stop(m->pipeline); /* processes what is queued; its ACKs are sent */
    cw_journal_close(m->journal);
    cw_tls_free(m->tls);
    free(m);
}

/* --- the error queue over HTTP: /messages (http.c routes here) ----------- */

struct list_ctx {
    struct cw_json_writer *w;
    int64_t last;
    size_t n;
};

static int list_row(void *ctx, const struct cw_journal_record *r)
{
    struct list_ctx *lc = ctx;
    cw_journal_record_write(lc->w, r, false);
    lc->last = r->seq;
    lc->n++;
    return 0;
}

/* The value of query parameter name (raw; our values are plain tokens). */
static cw_slice query_param(cw_slice query, const char *name)
{
    size_t nl = strlen(name);
    while (query.len) {
        long amp = cw_slice_index(query, '&');
        cw_slice pair = amp >= 0 ? cw_slice_sub(query, 0, (size_t)amp) : query;
        if (pair.len > nl && pair.ptr[nl] == '=' && memcmp(pair.ptr, name, nl) == 0)
            return cw_slice_sub(pair, nl + 1, pair.len);
        query = amp >= 0 ? cw_slice_sub(query, (size_t)amp + 1, query.len) : CW_SLICE_NULL;
    }
    return CW_SLICE_NULL;
}

struct reprocess_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int failed;
    uint32_t resources;
    struct cw_err error;
    struct cw_journal *journal;
};

static void on_reprocessed(void *ctx, const struct cw_pipeline_item *it)
{
    struct reprocess_wait *w = ctx;
    struct cw_err e;
    if (cw_journal_set_status(w->journal, it->seq,
                              it->failed ? CW_JOURNAL_ERROR : CW_JOURNAL_PROCESSED, NULL,
                              it->failed ? &it->error : NULL, &e) < 0)
        cw_log(CW_LOG_WARN, "mllp.status_not_recorded", CW_LOG_INT("seq", it->seq),
               CW_LOG_STR("reason", e.msg));
    pthread_mutex_lock(&w->mu);
    w->failed = it->failed;
    w->resources = it->resources;
    w->error = it->error;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int cw_server_mllp_reprocess(struct cw_server_mllp *m, int64_t seq, int *failed,
                             uint32_t *resources, struct cw_err *why, struct cw_err *err)
{
    if (!m || !m->pipeline)
        return cw_err_set(err, CW_ISSUE_NOT_SUPPORTED, "no ingest pipeline is running");
    struct cw_arena *a = cw_arena_new((size_t)1 << 30);
    if (!a) return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    struct cw_journal_record r;
    if (cw_journal_get(m->journal, a, seq, &r, err) < 0) {
        cw_arena_destroy(a);
        return -1;
    }
    struct reprocess_wait w = {.journal = m->journal};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    int rc = cw_pipeline_submit(m->pipeline, seq, r.raw, "reprocess", "", on_reprocessed, &w, err);
    cw_arena_destroy(a);
    if (rc == 0) {
        pthread_mutex_lock(&w.mu);
        while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        *failed = w.failed;
        *resources = w.resources;
        *why = w.error;
    }
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return rc;
}

int cw_server_messages_handle(struct cw_server_mllp *m, const char *method, cw_slice sub,
                              cw_slice query, struct cw_buf *out, struct cw_err *err)
{
    if (!m) {
        cw_err_set(err, CW_ISSUE_NOT_FOUND, "no MLLP listener, so no inbound journal");
        return -1;
    }
    struct cw_json_writer w;
    cw_json_writer_init(&w, out, 0);
    bool get = strcmp(method, "GET") == 0;
    if (sub.len == 0 || (sub.len == 1 && sub.ptr[0] == '/')) {
        if (!get) {
            cw_err_set(err, CW_ISSUE_NOT_SUPPORTED, "/messages supports GET only");
            err->http_status = 405;
            return -1;
        }
        int status = -1;
        cw_slice st = query_param(query, "status");
        if (st.len) {
            if (cw_slice_eq_cstr(st, "received"))
                status = CW_JOURNAL_RECEIVED;
            else if (cw_slice_eq_cstr(st, "processed"))
                status = CW_JOURNAL_PROCESSED;
            else if (cw_slice_eq_cstr(st, "error"))
                status = CW_JOURNAL_ERROR;
            else
                return cw_err_set(err, CW_ISSUE_VALUE, "status: received, processed or error");
        }
        long long after = 0, limit = 100;
        cw_slice av = query_param(query, "after"), lv = query_param(query, "limit");
        if ((av.len && (cw_slice_to_i64(av, &after) < 0 || after < 0)) ||
            (lv.len && (cw_slice_to_i64(lv, &limit) < 0 || limit < 1 || limit > 1000)))
            return cw_err_set(err, CW_ISSUE_VALUE, "after: a sequence number; limit: 1..1000");
        cw_json_begin_object(&w);
        cw_json_key(&w, CW_LIT("messages"));
        cw_json_begin_array(&w);
        struct list_ctx lc = {.w = &w};
        if (cw_journal_list(m->journal, after, (size_t)limit, status, list_row, &lc, err) < 0)
            return -1;
        cw_json_end_array(&w);
        if (lc.n == (size_t)limit) {
            cw_json_key(&w, CW_LIT("nextAfter"));
            cw_json_int_value(&w, lc.last);
        }
        cw_json_end_object(&w);
        return cw_buf_failed(out) ? cw_err_set(err, CW_ISSUE_TOO_COSTLY, "answer too large") : 0;
    }
    /* /{seq} or /{seq}/$reprocess */
    cw_slice rest = cw_slice_sub(sub, 1, sub.len);
    long slash = cw_slice_index(rest, '/');
    cw_slice num = slash >= 0 ? cw_slice_sub(rest, 0, (size_t)slash) : rest;
    cw_slice op = slash >= 0 ? cw_slice_sub(rest, (size_t)slash + 1, rest.len) : CW_SLICE_NULL;
    long long seq;
    if (cw_slice_to_i64(num, &seq) < 0 || seq < 1)
        return cw_err_set(err, CW_ISSUE_NOT_FOUND, "no such message");
    if (slash < 0) {
        if (!get) {
            cw_err_set(err, CW_ISSUE_NOT_SUPPORTED, "/messages/{seq} supports GET only");
            err->http_status = 405;
            return -1;
        }
        struct cw_arena *a = cw_arena_new((size_t)1 << 30);
        if (!a) return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
        struct cw_journal_record r;
        int rc = cw_journal_get(m->journal, a, seq, &r, err);
        if (rc == 0) cw_journal_record_write(&w, &r, true);
        cw_arena_destroy(a);
        return rc;
    }
    if (!cw_slice_eq_cstr(op, "$reprocess"))
        return cw_err_set(err, CW_ISSUE_NOT_FOUND, "no such operation");
    if (strcmp(method, "POST") != 0) {
        cw_err_set(err, CW_ISSUE_NOT_SUPPORTED, "$reprocess takes POST");
        err->http_status = 405;
        return -1;
    }
    int failed = 0;
    uint32_t resources = 0;
    struct cw_err why;
    cw_err_clear(&why);
    if (cw_server_mllp_reprocess(m, seq, &failed, &resources, &why, err) < 0) return -1;
    cw_log(CW_LOG_INFO, "mllp.reprocessed", CW_LOG_INT("seq", seq),
           CW_LOG_STR("outcome", failed ? "error" : "processed"));
    cw_json_begin_object(&w);
    cw_json_key(&w, CW_LIT("seq"));
    cw_json_int_value(&w, seq);
    cw_json_key(&w, CW_LIT("status"));
    cw_json_string_value(&w, failed ? CW_LIT("error") : CW_LIT("processed"));
    cw_json_key(&w, CW_LIT("resources"));
    cw_json_int_value(&w, resources);
    if (failed) {
        cw_json_key(&w, CW_LIT("error"));
        cw_json_begin_object(&w);
        cw_json_key(&w, CW_LIT("code"));
        cw_json_int_value(&w, why.v2_code);
        cw_json_key(&w, CW_LIT("location"));
        cw_json_string_value(&w, cw_slice_cstr(why.location));
        cw_json_key(&w, CW_LIT("text"));
        cw_json_string_value(&w, cw_slice_cstr(why.msg));
        cw_json_end_object(&w);
    }
    cw_json_end_object(&w);
    return 0;
}
