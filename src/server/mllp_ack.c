/*
 * mllp_ack.c — the HL7 v2 acknowledgment policy of the MLLP listener.
 *
 * Owns: nothing long-lived. Each call parses the inbound message in its own
 * arena, decides the outcome and writes the ACK with the hl7v2 module's
 * builder (cw_hl7v2_ack_build / _build_raw), so it is thread-safe and
 * never blocks.
 *
 * Policy (ARCHITECTURE.md "Rules of the flow"; HL7 v2.5.1 ch. 2.9, 2.14.1):
 *  - AA (CA in enhanced mode) only when the journal commit is on disk and
 *    the message parsed (lenient) with a supported version and a type;
 *  - AR when the input is not a parseable v2 message, is over the size
 *    limit, or names an unsupported version (203), no message type or a
 *    message code outside HL7 table 0076 (200, Z types included);
 *  - AE when the message is fine but could not be stored (207);
 *  - no reply to an inbound ACK (an acknowledgment is not acknowledged);
 *    every other frame gets exactly one reply, MSH-15/16 choosing between
 *    the application ACK (AA/AE/AR) and the commit ACK (CA/CE/CR).
 * ERR segments carry the table 0357 code and the location; diagnostics never
 * contain field values.
 */
#include <string.h>

#include "base/arena.h"
#include "hl7v2/hl7v2.h"
#include "server/server.h"

/* HL7 v2 versions this engine reads (MSH-12.1); 2.8.x uses the 2.7.1 tables. */
static bool version_supported(cw_slice v)
{
    static const char *const known[] = {"2.1",   "2.2", "2.3", "2.3.1", "2.4",   "2.5",   "2.5.1",
                                        "2.6",   "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (cw_slice_eq_cstr(v, known[i])) return true;
    return false;
}

/*
 * A message code (MSH-9.1) that HL7 table 0076 does not list is unsupported
 * (200): nothing downstream can interpret it; that includes site-specific Z
 * message types, so the sender hears so now rather than finding them later
 * in an error queue. The structure tables per version are deliberately not
 * used for this decision: real feeds send types a version has withdrawn
 * (ORM in 2.7) or events the dictionary lacks for a version (PPR^PC3 in
 * 2.3.1), and those are journaled for the pipeline to judge.
 */
static bool unsupported_type(struct cw_arena *a, const struct cw_hl7v2_msg *m, struct cw_err *out)
{
    struct cw_hl7v2_issues iss = {0};
    struct cw_hl7v2_validate_opts vo = {.max_issues = 1000};
    struct cw_err e;
    cw_err_clear(&e);
    if (cw_hl7v2_validate(a, m, &vo, &iss, &e) < 0) return false;
    for (uint32_t i = 0; i < iss.n; i++) {
        if (iss.items[i].v2_code == CW_V2_TABLE_VALUE &&
            strcmp(iss.items[i].location, "MSH-9.1") == 0) {
            cw_err_set(out, CW_ISSUE_NOT_SUPPORTED, "unknown message type (HL7 table 0076)");
            out->v2_code = CW_V2_UNSUPPORTED_MESSAGE_TYPE;
            cw_err_at(out, "MSH-9.1");
            return true;
        }
    }
    return false;
}

/* Value of PATH in m, decoded; empty when absent. */
static cw_slice get(struct cw_arena *a, const struct cw_hl7v2_msg *m, const char *path)
{
    cw_slice out = CW_SLICE_NULL;
    bool found = false, composite = false;
    struct cw_err e;
    cw_err_clear(&e);
    if (cw_hl7v2_get(a, m, cw_slice_cstr(path), &out, &found, &composite, &e) < 0 || !found)
        return CW_SLICE_NULL;
    return out;
}

static int finish(const struct cw_hl7v2_msg *ack, struct cw_buf *out, struct cw_ack_result *res,
                  const char *code)
{
    struct cw_err e;
    cw_err_clear(&e);
    memcpy(res->code, code, 2);
    res->code[2] = '\0';
    return cw_hl7v2_write(ack, CW_HL7V2_WRITE_CR | CW_HL7V2_WRITE_FINAL_CR, out, &e);
}

/* MSA-1 of a built ACK, for the journal and the result. */
static void ack_code(struct cw_arena *a, const struct cw_hl7v2_msg *ack, char code[3])
{
    cw_slice c = get(a, ack, "MSA-1");
    code[0] = c.len >= 2 ? c.ptr[0] : 'A';
    code[1] = c.len >= 2 ? c.ptr[1] : 'R';
    code[2] = '\0';
}

int cw_server_hl7v2_ack(void *ctx, const struct cw_ack_request *req, struct cw_buf *out,
                        struct cw_ack_result *res)
{
    (void)ctx;
    cw_err_clear(&res->error);
    /* Room for the parse tree of the largest frame we accept, plus the ACK. */
    struct cw_arena *a = cw_arena_new(req->message.len * 8 + ((size_t)1 << 20));
    if (!a) return -1;
    int rc = -1;
    struct cw_hl7v2_msg *in = NULL, *ack = NULL;
    struct cw_hl7v2_ack_opts opts = {.outcome = CW_HL7V2_REJECT};
    struct cw_err perr, berr;
    cw_err_clear(&perr);
    cw_err_clear(&berr);
    char code[3];

    if (req->outcome == CW_INBOUND_TOO_LARGE) {
        cw_err_set(&res->error, CW_ISSUE_TOO_LONG, "message exceeds the maximum frame size");
        res->error.v2_code = CW_V2_INTERNAL;
        cw_err_at(&res->error, "MSH");
        goto reject_raw;
    }
    if (cw_hl7v2_parse(a, req->message, NULL, &in, &perr) < 0) {
        res->error = perr;
        goto reject_raw;
    }

    cw_slice type = get(a, in, "MSH-9.1");
    if (cw_slice_eq_cstr(type, "ACK")) {
        res->code[0] = '\0'; /* no acknowledgment of an acknowledgment */
        rc = 0;
        goto done;
    }
    struct cw_err unsupported;
    cw_err_clear(&unsupported);
    if (!version_supported(get(a, in, "MSH-12.1"))) {
        cw_err_set(&res->error, CW_ISSUE_NOT_SUPPORTED, "unsupported HL7 version");
        res->error.v2_code = CW_V2_UNSUPPORTED_VERSION;
        cw_err_at(&res->error, "MSH-12");
        opts.outcome = CW_HL7V2_REJECT;
    } else if (type.len == 0) {
        cw_err_set(&res->error, CW_ISSUE_REQUIRED, "message type (MSH-9) is missing");
        res->error.v2_code = CW_V2_UNSUPPORTED_MESSAGE_TYPE;
        cw_err_at(&res->error, "MSH-9");
        opts.outcome = CW_HL7V2_REJECT;
    } else if (unsupported_type(a, in, &unsupported)) {
        res->error = unsupported;
        opts.outcome = CW_HL7V2_REJECT;
    } else if (req->outcome != CW_INBOUND_STORED) {
        if (req->error)
            res->error = *req->error;
        else
            cw_err_set(&res->error, CW_ISSUE_TRANSIENT, "message could not be stored");
        res->error.v2_code = CW_V2_INTERNAL;
        cw_err_at(&res->error, "MSH");
        opts.outcome = CW_HL7V2_ERROR;
    } else {
        opts.outcome = CW_HL7V2_ACCEPT;
    }

    /* MLLP is request/reply: every frame gets exactly one reply, or senders
     * that block on it stall (many real feeds set MSH-15/16 loosely, e.g.
     * ER/AL). So MSH-15/16 choose which acknowledgment is sent, not whether:
     * original mode -> application ACK; enhanced mode -> the application
     * ACK when MSH-16 asks for one for this outcome (our application step
     * is the durable journal write), otherwise the commit ACK (CA/CE/CR). */
    enum cw_hl7v2_ack_kind kind = CW_HL7V2_ACK_APPLICATION;
    if (cw_hl7v2_ack_enhanced(in) && !cw_hl7v2_ack_wanted(in, CW_HL7V2_ACK_APPLICATION, opts.outcome))
        kind = CW_HL7V2_ACK_COMMIT;
    opts.kind = kind;
    bool has_err = opts.outcome != CW_HL7V2_ACCEPT;
    if (cw_hl7v2_ack_build(a, in, &opts, has_err ? &res->error : NULL, has_err ? 1 : 0, &ack,
                           &berr) < 0)
        goto reject_raw;
    ack_code(a, ack, code);
    rc = finish(ack, out, res, code);
    goto done;

reject_raw:
    /* Not parseable (or not even buildable from the parse): recover what
     * the first line allows and reject. */
    if (!cw_err_is_set(&res->error)) {
        cw_err_set(&res->error, CW_ISSUE_STRUCTURE, "message could not be parsed");
        res->error.v2_code = CW_V2_SEGMENT_SEQUENCE;
        cw_err_at(&res->error, "MSH");
    }
    opts.outcome = CW_HL7V2_REJECT;
    opts.kind = CW_HL7V2_ACK_AUTO;
    if (cw_hl7v2_ack_build_raw(a, req->message, &opts, &res->error, 1, &ack, &berr) < 0) goto done;
    ack_code(a, ack, code);
    rc = finish(ack, out, res, code);

done:
    cw_arena_destroy(a);
    return rc;
}
