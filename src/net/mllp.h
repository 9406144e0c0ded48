/*
 * mllp.h — MLLP framing: a resumable frame decoder, the frame encoder, and
 * the sender-side splitter of HL7 v2 files into messages.
 *
 * This header knows nothing of sockets, threads or the database (the
 * transport is in net/net.h), so it can be tested and fuzzed alone.
 *
 * Spec: HL7 v2.x Implementation Guide, Appendix C "Minimal Lower Layer
 * Protocol" (MLLP Release 1/2): a block is
 *
 *     <SB=0x0B> data <EB=0x1C> <CR=0x0D>
 *
 * where data holds no SB or EB byte. A connection carries any number of
 * blocks; either side may pipeline.
 *
 * The decoder is a byte-at-a-time state machine (nginx/h2o style): feed it
 * arbitrary chunks (one byte, a whole socket read, ten frames at once) and it
 * reports complete frames one at a time. States:
 *
 *   OUTSIDE  between frames; every byte except SB is counted in
 *            `skipped` and dropped (whitespace, noise, a sender's junk).
 *   BODY     inside a frame, collecting data.  An SB here means the frame in
 *            progress was abandoned by its sender: its bytes are counted in
 *            `skipped` (and `aborted`), and a new frame starts.
 *   END      saw EB; strict mode waits for CR.  CR completes the frame.
 *            Any other byte means the trailer was malformed: the frame is
 *            dropped (`bad_trailer`, bytes counted in `skipped`) and the byte
 *            is reconsidered in OUTSIDE, so an SB starts the next frame.
 *   AFTER_EB lenient mode only: the frame was reported at EB; a CR right
 *            after it is swallowed, anything else is reconsidered in OUTSIDE.
 *   DISCARD  the frame grew past max_frame: CW_MLLP_OVERSIZE was reported
 *            once, and bytes are dropped until EB (then END/AFTER_EB) or the
 *            next SB (a new frame), so the stream resynchronises by itself.
 *
 * Invariants:
 *  - Memory is bounded by max_frame: at most max_frame bytes are buffered.
 *  - Every byte fed is accounted exactly once, as soon as the frame it
 *    belongs to is resolved: in a reported frame's data, in `framing` (the
 *    SB/EB/CR of reported frames), or in `skipped` (everything else, an
 *    oversize frame's reported prefix included).
 *  - Frames are reported in input order; feeding the same bytes in any
 *    chunking yields the same frames and the same counters.
 *
 * Thread safety: a decoder belongs to one thread at a time.
 */
#ifndef CW_NET_MLLP_H
#define CW_NET_MLLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/slice.h"

#define CW_MLLP_SB 0x0B /* start block (VT) */
#define CW_MLLP_EB 0x1C /* end block (FS) */
#define CW_MLLP_CR 0x0D /* carriage return after EB */

/* Default largest frame the decoder accepts: 16 MiB. */
#define CW_MLLP_DEFAULT_MAX_FRAME ((size_t)16 << 20)

/* Decoder states (see the file comment). */
enum cw_mllp_state {
    CW_MLLP_S_OUTSIDE = 0,
    CW_MLLP_S_BODY,
    CW_MLLP_S_END,
    CW_MLLP_S_AFTER_EB,
    CW_MLLP_S_DISCARD,
};

/* What one call to cw_mllp_decoder_feed found. */
enum cw_mllp_event {
    CW_MLLP_NEED_MORE = 0, /* all input consumed, no complete frame */
    CW_MLLP_FRAME,         /* a complete frame is in *out */
    CW_MLLP_OVERSIZE,      /* a frame passed max_frame; *out holds its first max_frame bytes */
};

struct cw_mllp_decoder_opts {
    size_t max_frame; /* largest frame body in bytes; 0 = CW_MLLP_DEFAULT_MAX_FRAME */
    bool lenient_eb;  /* accept EB without the CR that should follow it */
};

/* Counters since init (for logs and tests; no content). */
struct cw_mllp_stats {
    uint64_t frames;      /* complete frames reported */
    uint64_t oversize;    /* frames that passed max_frame */
    uint64_t aborted;     /* frames cut short by a new SB */
    uint64_t bad_trailer; /* strict mode: EB not followed by CR */
    uint64_t skipped; /* bytes dropped (outside frames, aborted or broken frames, oversize tails) */
    uint64_t framing; /* SB, EB and CR bytes of reported frames */
};

/* Fields are private; visible so a decoder can live inside another struct. */
struct cw_mllp_decoder {
    enum cw_mllp_state state;
    size_t max_frame;
    bool lenient_eb;
    struct cw_buf body; /* bytes of a frame split across feeds */
    bool borrowed;      /* body has been handed out by the last FRAME event */
    bool eb_skipped;    /* AFTER_EB follows a skipped (oversize) frame: its CR is skipped too */
    size_t cur_len;     /* bytes of the current frame seen so far (also when discarding) */
    struct cw_mllp_stats stats;
};

/* Prepare a decoder (opts may be NULL for defaults). Never fails. */
void cw_mllp_decoder_init(struct cw_mllp_decoder *d, const struct cw_mllp_decoder_opts *opts);

/* Free the decoder's buffer. The decoder may be re-initialised afterwards. */
void cw_mllp_decoder_release(struct cw_mllp_decoder *d);

/*
 * Consume bytes from [p, p+n) up to and including the end of the next frame
 * (or oversize event), and set *used to the number of bytes consumed.
 *
 * Returns CW_MLLP_FRAME with *out = the frame's data (between SB and EB,
 * framing excluded), CW_MLLP_OVERSIZE with *out = the first max_frame bytes
 * of a frame that is too large (the rest will be skipped), or
 * CW_MLLP_NEED_MORE when all n bytes were consumed without completing one.
 * Call again with the remaining input (p + *used, n - *used) until
 * NEED_MORE.
 *
 * Ownership of *out: it points either into the caller's input (when the
 * whole frame lay in this chunk: zero copy) or into the decoder's buffer; in
 * both cases it is valid until the next call on this decoder or until the
 * input is released, whichever comes first. Copy it to keep it.
 *
 * Never fails: malformed input is skipped and counted (see stats).
 */
enum cw_mllp_event cw_mllp_decoder_feed(struct cw_mllp_decoder *d, const char *p, size_t n,
                                        size_t *used, cw_slice *out);

/* True when the decoder is between frames (no partial frame pending). */
bool cw_mllp_decoder_idle(const struct cw_mllp_decoder *d);

/* The current state (for tests and diagnostics). */
static inline enum cw_mllp_state cw_mllp_decoder_state(const struct cw_mllp_decoder *d)
{
    return d->state;
}

/* Counters since init. */
static inline const struct cw_mllp_stats *cw_mllp_decoder_stats(const struct cw_mllp_decoder *d)
{
    return &d->stats;
}

/* Name of a state ("OUTSIDE", "BODY", ...), for logs. */
const char *cw_mllp_state_name(enum cw_mllp_state s);

/*
 * Append the frame SB msg EB CR to out. Fails (-1, err set, out unchanged)
 * when msg contains an SB or EB byte, which MLLP cannot carry, or when out
 * reaches its maximum.
 */
int cw_mllp_encode(struct cw_buf *out, cw_slice msg, struct cw_err *err);

/*
 * Sender-side splitting of an HL7 v2 file into messages — a line splitter,
 * not a parser (the HL7 v2 parser lives in hl7v2/). The rules are those of
 * ../shared/bench/peers/README.md "Input rules", so `causeway send` and the
 * benchmarks count the same messages as the peer harness:
 *
 *  - a leading UTF-8 BOM is dropped;
 *  - any of \r, \n, \r\n ends a line (segment);
 *  - each line loses leading ASCII whitespace and MLLP framing bytes (0x0B,
 *    0x1C) and trailing framing bytes; empty lines are dropped;
 *  - FHS, BHS, BTS and FTS lines (batch envelope) are dropped;
 *  - a message starts at every line beginning "MSH"; lines before the first
 *    MSH are dropped.
 *
 * Each message is handed to fn as its segments joined and terminated by \r
 * (every segment, the last included, ends with \r as HL7 v2 requires on the
 * wire). The slice is valid only during the call. fn returns 0 to go on or
 * non-zero to stop; that value is returned. Lines longer than the input are
 * impossible, so the only other failure is out of memory (-1, err set).
 * The number of messages is stored in *count when count is not NULL.
 */
typedef int (*cw_mllp_message_fn)(void *ctx, cw_slice message);
int cw_mllp_split_messages(cw_slice text, cw_mllp_message_fn fn, void *ctx, size_t *count,
                           struct cw_err *err);

/*
 * Read the acknowledgment code (MSA-1: "AA", "AE", "AR", "CA", "CE", "CR")
 * from an ACK message — a documented field extraction for the client, not a
 * parser: the field separator is the byte after "MSH", segments end at \r
 * or \n, and MSA-1 is the text between the first and second separator of
 * the first line starting "MSA". Component separators inside MSA-1 end it.
 * Returns 0 and *code (borrowed from ack), or -1 when there is no MSH
 * header or no MSA segment.
 */
int cw_mllp_ack_code(cw_slice ack, cw_slice *code);

/*
 * The raw text of field `field` (1-based, HL7 numbering) of the first
 * segment named seg ("MSH", "MSA") — the same documented extraction as
 * above, for the client's bookkeeping (MSH-10 of a message sent, MSA-2 of
 * its ACK): no escapes decoded, components kept. For MSH, MSH-1 is the
 * separator itself and MSH-2 the encoding characters, as in the standard.
 * Returns 0 and *out (borrowed; empty when the field is absent), or -1
 * when msg does not start with an MSH header or has no such segment.
 */
int cw_mllp_field(cw_slice msg, const char *seg, int field, cw_slice *out);

#endif
