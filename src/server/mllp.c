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

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "ingest/journal.h"
#include "net/net.h"

/* Largest ACK we are willing to send. */
#define ACK_MAX ((size_t)1 << 20)

static cw_ack_build_fn ack_fn = cw_server_hl7v2_ack;
static void *ack_ctx;

void cw_server_set_ack_builder(cw_ack_build_fn fn, void *ctx)
{
    ack_fn = fn ? fn : cw_server_hl7v2_ack;
    ack_ctx = fn ? ctx : NULL;
}

struct cw_server_mllp {
    struct cw_journal *journal;
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
    if (ar->outcome == CW_INBOUND_STORED && res.code[0] && !is_accept(res.code)) {
        struct cw_err e;
        if (!cw_err_is_set(&res.error)) cw_err_set(&res.error, CW_ISSUE_PROCESSING, "refused");
        if (cw_journal_set_status(m->journal, ar->journal_seq, CW_JOURNAL_ERROR, res.code,
                                  &res.error, &e) < 0)
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

/* Journal completion (writer thread): the message is on disk, or not. */
static void on_committed(void *ctx, int64_t seq, const struct cw_err *err)
{
    struct inbound *in = ctx;
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

int cw_server_mllp_start(const struct cw_config *c, struct cw_server_mllp **out, char *note,
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
    cw_journal_close(m->journal);
    cw_tls_free(m->tls);
    free(m);
}
