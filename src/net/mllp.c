/*
 * mllp.c — MLLP frame decoder and encoder, HL7 v2 file splitter, MSA-1
 * extraction (see mllp.h for the state machine and the rules).
 *
 * Owns: the decoder's reassembly buffer (one cw_buf capped at max_frame).
 * Spec: HL7 v2.x Implementation Guide Appendix C (MLLP), block format
 * <SB> data <EB><CR>.
 */
#include "net/mllp.h"

#include <string.h>

/* Keep at most this much reassembly storage between frames (bytes). */
#define KEEP_CAPACITY ((size_t)256 << 10)

void cw_mllp_decoder_init(struct cw_mllp_decoder *d, const struct cw_mllp_decoder_opts *opts)
{
    memset(d, 0, sizeof *d);
    d->state = CW_MLLP_S_OUTSIDE;
    d->max_frame = opts && opts->max_frame ? opts->max_frame : CW_MLLP_DEFAULT_MAX_FRAME;
    d->lenient_eb = opts ? opts->lenient_eb : false;
    cw_buf_init(&d->body, d->max_frame);
}

void cw_mllp_decoder_release(struct cw_mllp_decoder *d)
{
    cw_buf_release(&d->body);
    d->state = CW_MLLP_S_OUTSIDE;
    d->cur_len = 0;
}

const char *cw_mllp_state_name(enum cw_mllp_state s)
{
    switch (s) {
    case CW_MLLP_S_OUTSIDE:
        return "OUTSIDE";
    case CW_MLLP_S_BODY:
        return "BODY";
    case CW_MLLP_S_END:
        return "END";
    case CW_MLLP_S_AFTER_EB:
        return "AFTER_EB";
    case CW_MLLP_S_DISCARD:
        return "DISCARD";
    }
    return "?";
}

bool cw_mllp_decoder_idle(const struct cw_mllp_decoder *d)
{
    return d->state == CW_MLLP_S_OUTSIDE || d->state == CW_MLLP_S_AFTER_EB;
}

/* Forget the frame in progress (its storage is kept for reuse, within reason). */
static void reset_body(struct cw_mllp_decoder *d)
{
    if (d->body.cap > KEEP_CAPACITY) cw_buf_release(&d->body);
    cw_buf_reset(&d->body);
    d->cur_len = 0;
}

/* Start a new frame after an SB. */
static void start_frame(struct cw_mllp_decoder *d)
{
    reset_body(d);
    d->state = CW_MLLP_S_BODY;
}

/* The frame in progress is dropped (aborted or broken trailer). */
static void drop_frame(struct cw_mllp_decoder *d)
{
    /* The SB and the data were consumed without being reported. */
    d->stats.skipped += 1 + d->cur_len;
    reset_body(d);
}

/*
 * Append frame data to the reassembly buffer. The caller has checked that
 * cur_len stays within max_frame, which is also the buffer's maximum, so this can only fail for
 * lack of memory; the frame is then treated as oversize by the caller.
 */
static int keep(struct cw_mllp_decoder *d, const char *p, size_t n)
{
    return cw_buf_append(&d->body, p, n);
}

enum cw_mllp_event cw_mllp_decoder_feed(struct cw_mllp_decoder *d, const char *p, size_t n,
                                        size_t *used, cw_slice *out)
{
    size_t i = 0;
    *out = CW_SLICE_NULL;

    if (d->borrowed) {
        /* The previous FRAME/OVERSIZE handed out our buffer: now it is free. */
        d->borrowed = false;
        reset_body(d);
    }

    while (i < n) {
        switch (d->state) {
        case CW_MLLP_S_OUTSIDE: {
            const char *sb = memchr(p + i, CW_MLLP_SB, n - i);
            size_t skip = sb ? (size_t)(sb - (p + i)) : n - i;
            d->stats.skipped += skip;
            i += skip;
            if (sb) {
                i++;
                start_frame(d);
            }
            break;
        }

        case CW_MLLP_S_AFTER_EB:
            if ((unsigned char)p[i] == CW_MLLP_CR) {
                i++;
                if (d->eb_skipped)
                    d->stats.skipped++;
                else
                    d->stats.framing++;
            }
            d->state = CW_MLLP_S_OUTSIDE;
            break;

        case CW_MLLP_S_BODY: {
            const char *start = p + i;
            size_t avail = n - i;
            const char *eb = memchr(start, CW_MLLP_EB, avail);
            size_t span = eb ? (size_t)(eb - start) : avail;
            const char *sb = memchr(start, CW_MLLP_SB, span);
            if (sb) {
                /* A new SB inside a frame: the sender gave up on this one. */
                size_t before = (size_t)(sb - start);
                if (d->cur_len + before <= d->max_frame) {
                    d->cur_len += before;
                    d->stats.aborted++;
                    drop_frame(d);
                } else {
                    /* Overflows before the SB: that is reported first. */
                    span = before;
                    eb = NULL;
                    goto body_data;
                }
                i += before + 1;
                start_frame(d);
                break;
            }
        body_data:
            if (d->cur_len + span > d->max_frame) {
                /* Report the first max_frame bytes, skip the rest. */
                size_t take = d->max_frame - d->cur_len;
                d->stats.oversize++;
                d->state = CW_MLLP_S_DISCARD;
                if (d->body.len == 0) {
                    *out = cw_slice_make(start, take);
                } else {
                    keep(d, start, take);
                    *out = cw_buf_slice(&d->body);
                    d->borrowed = true;
                }
                d->stats.skipped += 1 + d->max_frame; /* SB + reported prefix are not a frame */
                d->cur_len = d->max_frame;
                i += take;
                *used = i;
                return CW_MLLP_OVERSIZE;
            }
            if (!eb) {
                /* The frame goes on in the next chunk: keep what we have. */
                if (keep(d, start, span) < 0) {
                    /* Out of memory: treat like an oversize frame. */
                    d->stats.oversize++;
                    d->stats.skipped += 1 + d->cur_len + span;
                    d->state = CW_MLLP_S_DISCARD;
                    reset_body(d);
                    d->cur_len = d->max_frame;
                    i = n;
                    break;
                }
                d->cur_len += span;
                i = n;
                break;
            }
            /* EB found in this chunk. */
            d->cur_len += span;
            i += span + 1;
            if (d->lenient_eb) {
                if (d->body.len == 0) {
                    *out = cw_slice_make(start, span);
                } else if (keep(d, start, span) == 0) {
                    *out = cw_buf_slice(&d->body);
                    d->borrowed = true;
                } else {
                    /* Out of memory: drop the frame. */
                    d->stats.oversize++;
                    d->stats.skipped += 2 + d->cur_len;
                    reset_body(d);
                    d->state = CW_MLLP_S_OUTSIDE;
                    break;
                }
                d->state = CW_MLLP_S_AFTER_EB;
                d->eb_skipped = false;
                d->stats.frames++;
                d->stats.framing += 2;
                d->cur_len = 0;
                *used = i;
                return CW_MLLP_FRAME;
            }
            if (i < n && (unsigned char)p[i] == CW_MLLP_CR && d->body.len == 0) {
                /* Whole frame in this chunk: zero copy. */
                i++;
                d->state = CW_MLLP_S_OUTSIDE;
                d->stats.frames++;
                d->stats.framing += 3;
                d->cur_len = 0;
                *out = cw_slice_make(start, span);
                *used = i;
                return CW_MLLP_FRAME;
            }
            /* Decide on the next byte, which may be in a later chunk: keep the data. */
            if (keep(d, start, span) < 0) {
                d->stats.oversize++;
                d->stats.skipped += 2 + d->cur_len; /* SB, data, EB */
                reset_body(d);
                d->state = CW_MLLP_S_OUTSIDE;
                break;
            }
            d->state = CW_MLLP_S_END;
            break;
        }

        case CW_MLLP_S_END:
            if ((unsigned char)p[i] == CW_MLLP_CR) {
                i++;
                d->state = CW_MLLP_S_OUTSIDE;
                d->stats.frames++;
                d->stats.framing += 3;
                d->cur_len = 0;
                *out = cw_buf_slice(&d->body);
                d->borrowed = true;
                *used = i;
                return CW_MLLP_FRAME;
            }
            /* Strict mode: EB without CR. Drop the frame; reconsider this byte. */
            d->stats.bad_trailer++;
            d->stats.skipped += 1; /* the EB */
            drop_frame(d);
            d->state = CW_MLLP_S_OUTSIDE;
            break;

        case CW_MLLP_S_DISCARD: {
            /* Skip to the EB that ends the oversize frame or to the next SB. */
            size_t j = i;
            while (j < n && (unsigned char)p[j] != CW_MLLP_EB && (unsigned char)p[j] != CW_MLLP_SB)
                j++;
            d->stats.skipped += j - i;
            i = j;
            if (i == n) break;
            if ((unsigned char)p[i] == CW_MLLP_SB) {
                i++;
                start_frame(d);
            } else {
                /* EB: the oversize frame is over; swallow its CR if present. */
                i++;
                d->stats.skipped++;
                d->cur_len = 0;
                reset_body(d);
                d->state = CW_MLLP_S_AFTER_EB;
                d->eb_skipped = true;
                if (i < n && (unsigned char)p[i] == CW_MLLP_CR) {
                    i++;
                    d->stats.skipped++;
                    d->state = CW_MLLP_S_OUTSIDE;
                }
            }
            break;
        }
        }
    }
    *used = i;
    return CW_MLLP_NEED_MORE;
}

int cw_mllp_encode(struct cw_buf *out, cw_slice msg, struct cw_err *err)
{
    if (memchr(msg.ptr ? msg.ptr : "", CW_MLLP_SB, msg.len) ||
        memchr(msg.ptr ? msg.ptr : "", CW_MLLP_EB, msg.len))
        return cw_err_set(err, CW_ISSUE_INVALID,
                          "message contains an MLLP framing byte (0x0B or 0x1C)");
    size_t before = out->len;
    cw_buf_putc(out, CW_MLLP_SB);
    cw_buf_put_slice(out, msg);
    cw_buf_putc(out, CW_MLLP_EB);
    cw_buf_putc(out, CW_MLLP_CR);
    if (cw_buf_failed(out)) {
        /* Leave the buffer as it was; the caller decides what to do. */
        out->failed = false;
        out->len = before;
        return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "output buffer limit reached");
    }
    return 0;
}

/* --- splitting files into messages ------------------------------------- */

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_batch_line(cw_slice l)
{
    if (l.len < 4 || l.ptr[3] != '|') return false;
    return memcmp(l.ptr, "FHS", 3) == 0 || memcmp(l.ptr, "BHS", 3) == 0 ||
           memcmp(l.ptr, "BTS", 3) == 0 || memcmp(l.ptr, "FTS", 3) == 0;
}

int cw_mllp_split_messages(cw_slice text, cw_mllp_message_fn fn, void *ctx, size_t *count,
                           struct cw_err *err)
{
    size_t nmsg = 0;
    struct cw_buf cur;
    cw_buf_init(&cur, text.len + 16);
    bool in_msg = false;
    int rc = 0;
    const char *p = text.ptr ? text.ptr : "", *end = p + text.len;
    if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;

    while (p < end && rc == 0) {
        const char *nl = p;
        while (nl < end && *nl != '\r' && *nl != '\n') nl++;
        const char *next = nl;
        if (next < end && *next == '\r') next++;
        if (next < end && *next == '\n' && (next == nl || next[-1] == '\r')) next++;
        if (next == nl) next = end; /* unreachable: nl < end always ends on \r or \n */
        /* Trim: leading whitespace and framing bytes, trailing framing bytes. */
        const char *a = p, *b = nl;
        while (a < b && (is_ws((unsigned char)*a) || *a == CW_MLLP_SB || *a == CW_MLLP_EB)) a++;
        while (b > a && (b[-1] == CW_MLLP_SB || b[-1] == CW_MLLP_EB)) b--;
        cw_slice line = cw_slice_make(a, (size_t)(b - a));
        p = nl < end ? next : end;
        if (line.len == 0 || is_batch_line(line)) continue;
        if (line.len >= 3 && memcmp(line.ptr, "MSH", 3) == 0) {
            if (in_msg) {
                rc = fn(ctx, cw_buf_slice(&cur));
                nmsg++;
                cw_buf_reset(&cur);
            }
            in_msg = true;
        } else if (!in_msg) {
            continue;
        }
        cw_buf_put_slice(&cur, line);
        cw_buf_putc(&cur, '\r');
        if (cw_buf_failed(&cur)) {
            rc = cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory splitting messages");
            break;
        }
    }
    if (rc == 0 && in_msg) {
        rc = fn(ctx, cw_buf_slice(&cur));
        nmsg++;
    }
    cw_buf_release(&cur);
    if (count) *count = nmsg;
    return rc;
}

int cw_mllp_field(cw_slice msg, const char *seg, int field, cw_slice *out)
{
    *out = CW_SLICE_NULL;
    if (msg.len < 4 || memcmp(msg.ptr, "MSH", 3) != 0 || strlen(seg) != 3 || field < 1) return -1;
    char fs = msg.ptr[3];
    bool is_msh = memcmp(seg, "MSH", 3) == 0;
    const char *p = msg.ptr, *end = msg.ptr + msg.len;
    while (p < end) {
        const char *eol = p;
        while (eol < end && *eol != '\r' && *eol != '\n') eol++;
        if (eol - p >= 3 && memcmp(p, seg, 3) == 0 && (eol - p == 3 || p[3] == fs)) {
            if (is_msh && field == 1) {
                *out = cw_slice_make(p + 3, 1);
                return 0;
            }
            /* Token k after the segment name is field k, except in MSH where it is k+1. */
            int want = is_msh ? field - 1 : field;
            const char *f = p + 3;
            for (int k = 0; k < want; k++) {
                if (f >= eol) return 0; /* absent */
                f++;                    /* skip the separator */
                if (k + 1 < want) {
                    while (f < eol && *f != fs) f++;
                }
            }
            const char *fe = f;
            while (fe < eol && *fe != fs) fe++;
            *out = cw_slice_make(f, (size_t)(fe - f));
            return 0;
        }
        p = eol < end ? eol + 1 : end;
    }
    return -1;
}

int cw_mllp_ack_code(cw_slice ack, cw_slice *code)
{
    *code = CW_SLICE_NULL;
    if (ack.len < 4 || memcmp(ack.ptr, "MSH", 3) != 0) return -1;
    char fs = ack.ptr[3];
    /* Component separator: MSH-2's first byte, when present. */
    char cs = ack.len > 4 ? ack.ptr[4] : '^';
    const char *p = ack.ptr, *end = ack.ptr + ack.len;
    while (p < end) {
        const char *eol = p;
        while (eol < end && *eol != '\r' && *eol != '\n') eol++;
        if (eol - p >= 4 && memcmp(p, "MSA", 3) == 0 && p[3] == fs) {
            const char *f = p + 4, *fe = f;
            while (fe < eol && *fe != fs && *fe != cs) fe++;
            *code = cw_slice_make(f, (size_t)(fe - f));
            return 0;
        }
        p = eol < end ? eol + 1 : end;
    }
    return -1;
}
