/*
 * ack_stub.h — TEST-ONLY acknowledgment builder for the MLLP glue.
 *
 * The real ACK builder belongs to the hl7v2 module (src/hl7v2) and is
 * registered with cw_server_set_ack_builder when that module is built in.
 * Until then the transport tests need something that answers, so this
 * stub builds a minimal original-mode ACK from two fields (MSH-9, MSH-10)
 * read with the client's documented field extraction. It is not an HL7
 * implementation and must never be linked into the causeway binary.
 *
 * Rules it follows (the same the real builder must follow):
 *  - outcome NOT_STORED or TOO_LARGE -> AE / AR with ERR (207), never AA;
 *  - not an HL7 v2 message (no MSH header) -> AR, ERR 100 at MSH;
 *  - MSH-9 starting "ACK" -> no reply (an ACK is not acknowledged);
 *  - MSH-9 message code "ZZZ" -> AR, ERR 200 at MSH-9 (unsupported type);
 *  - otherwise AA.
 * With CW_STUB_CHECK_COMMITTED set to a journal path, it also checks that
 * a STORED message is really visible in the journal file before it says
 * AA (proof that ACKs follow the commit).
 */
#ifndef CW_TEST_ACK_STUB_H
#define CW_TEST_ACK_STUB_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "net/mllp.h"
#include "server/server.h"

/* One read connection of our own (a reader outside the journal's): each
 * query is a new read transaction, so it sees exactly what is committed. */
static int stub_row_committed(const char *path, long long seq)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static sqlite3 *db;
    static sqlite3_stmt *st;
    int found = 0;
    pthread_mutex_lock(&mu);
    if (!db && sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
        sqlite3_prepare_v2(db, "SELECT 1 FROM message WHERE seq = ?1", -1, &st, NULL);
    if (st) {
        sqlite3_bind_int64(st, 1, seq);
        found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&mu);
    return found;
}

static int stub_ack_build(void *ctx, const struct cw_ack_request *req, struct cw_buf *out,
                          struct cw_ack_result *res)
{
    (void)ctx;
    cw_slice type = CW_SLICE_NULL, ctl = CW_SLICE_NULL;
    int is_v2 = cw_mllp_field(req->message, "MSH", 9, &type) == 0;
    if (is_v2) cw_mllp_field(req->message, "MSH", 10, &ctl);
    if (ctl.len > 64) ctl.len = 64;
    const char *code = "AA";
    int v2 = 0;
    const char *where = "", *why = "";
    if (req->outcome == CW_INBOUND_TOO_LARGE) {
        code = "AR", v2 = 207, where = "MSH", why = "message too large";
    } else if (req->outcome == CW_INBOUND_NOT_STORED) {
        code = "AE", v2 = 207, where = "MSH", why = "message could not be stored";
    } else if (!is_v2) {
        code = "AR", v2 = 100, where = "MSH", why = "not an HL7 v2 message";
    } else if (cw_slice_starts_with(type, CW_LIT("ACK"))) {
        snprintf(res->code, sizeof res->code, "%s", "");
        return 0; /* no reply */
    } else if (cw_slice_starts_with(type, CW_LIT("ZZZ"))) {
        code = "AR", v2 = 200, where = "MSH-9", why = "unsupported message type";
    }
    const char *check = getenv("CW_STUB_CHECK_COMMITTED");
    if (!strcmp(code, "AA") && check && *check && !stub_row_committed(check, req->journal_seq)) {
        code = "AE", v2 = 207, where = "MSH", why = "TEST FAILURE: ACK before commit";
    }
    snprintf(res->code, sizeof res->code, "%s", code);
    cw_buf_printf(out, "MSH|^~\\&|CAUSEWAY|TEST|||20260101000000||ACK|ACK%.*s|P|2.5\rMSA|%s|%.*s\r",
                  CW_SLICE_FMT(ctl), code, CW_SLICE_FMT(ctl));
    if (v2) {
        cw_buf_printf(out, "ERR||%s|%d^%s^HL70357|E\r", where, v2,
                      cw_v2_error_text((enum cw_v2_error)v2));
        cw_err_set(&res->error, CW_ISSUE_PROCESSING, "%s", why);
        res->error.v2_code = (enum cw_v2_error)v2;
        cw_err_at(&res->error, where);
    }
    return 0;
}

#endif
