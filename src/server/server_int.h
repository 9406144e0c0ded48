/*
 * server_int.h — shared only inside src/server: the MLLP glue's entry
 * points, called from cw_server_start/stop in http.c.
 */
#ifndef CW_SERVER_INT_H
#define CW_SERVER_INT_H

#include "ingest/pipeline.h"
#include "server/server.h"

struct cw_server_mllp;

/*
 * Open <data>/journal.db and start the MLLP listener per the config. When
 * the listener is not wanted (mllp off) or no ACK builder is registered,
 * returns 0 with *out = NULL and a reason in note. -1 on a real failure.
 *
 * process (may be NULL): the ingest processor. With one, every journaled
 * message goes through an ingest pipeline (src/ingest/pipeline.h) and is
 * acknowledged after the processor's commit (AA) or failure (AE/AR);
 * messages left unprocessed by an earlier run are processed before the
 * listener opens. Without one, the journal commit is the last step before
 * the ACK. A processor registered with cw_server_set_v2_processor (tests)
 * takes precedence.
 */
int cw_server_mllp_start(const struct cw_config *c, cw_pipeline_process_fn process,
                         void *process_ctx, struct cw_server_mllp **out, char *note,
                         size_t note_size, struct cw_err *err);

/* The bound port. */
int cw_server_mllp_bound_port(const struct cw_server_mllp *m);

/* Stop the listener (its pending ACKs are sent), then close the journal. NULL: no-op. */
void cw_server_mllp_stop(struct cw_server_mllp *m);

/*
 * Process journaled message seq again through the running pipeline (the
 * error queue's retry) and wait for it: *failed, *resources and *why (its
 * error) describe the outcome, which is also recorded on the journal row.
 * -1 with err when it could not be submitted (unknown seq: not-found; no
 * pipeline; queue full).
 */
int cw_server_mllp_reprocess(struct cw_server_mllp *m, int64_t seq, int *failed,
                             uint32_t *resources, struct cw_err *why, struct cw_err *err);

/*
 * The inbound journal over HTTP, below /messages (sub = the rest of the
 * path): GET /messages?status=&after=&limit= (metadata; "nextAfter" when
 * more), GET /messages/{seq} (with the message text), POST
 * /messages/{seq}/$reprocess. Appends the JSON answer to out; -1 with err
 * (its http_status or issue decides the status) otherwise. m may be NULL
 * (no MLLP listener): not found.
 */
int cw_server_messages_handle(struct cw_server_mllp *m, const char *method, cw_slice sub,
                              cw_slice query, struct cw_buf *out, struct cw_err *err);

/* --- the HL7 v2 ingest processor (ingest_v2.c) --------------------------- */

struct cw_rest;
struct cw_ingest_v2;

/* A processor that converts v2 messages and stores them through rest. */
int cw_ingest_v2_new(struct cw_rest *rest, struct cw_ingest_v2 **out, struct cw_err *err);
void cw_ingest_v2_free(struct cw_ingest_v2 *g);

/* The cw_pipeline_process_fn of the processor (ctx = struct cw_ingest_v2). */
void cw_ingest_v2_process(void *ctx, struct cw_pipeline_item *items, size_t n);

#endif
