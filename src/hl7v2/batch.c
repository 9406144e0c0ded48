/*
 * batch.c — files and streams holding several messages, with or without
 * batch envelopes (HL7 v2.5.1 section 2.10.3: FHS, BHS, BTS, FTS).
 *
 * The file is read line by line (any of "\r", "\n", "\r\n" ends a line).
 * A line starting "MSH" starts a message, which runs until the next MSH or
 * batch line; each message is then parsed on its own by cw_hl7v2_parse, so
 * a broken message does not hide the ones after it. Batch header segments
 * carry their own delimiters (FHS-1/FHS-2, BHS-1/BHS-2); trailer segments
 * are split with the delimiters of the header they close.
 *
 * Invariant: items appear in file order; batch i covers items
 * [first, first + count).
 */
#include "hl7v2/hl7v2_int.h"

#include <stdio.h>
#include <string.h>

static bool strip_byte(unsigned char c)
{
    return c == ' ' || c == '\t' || c == 0x0b || c == 0x0c || c == 0x1c;
}

static bool starts_id(cw_slice s, const char *id)
{
    if (s.len < 3 || memcmp(s.ptr, id, 3) != 0) return false;
    if (s.len == 3) return true;
    unsigned char c = (unsigned char)s.ptr[3];
    return !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
}

struct fstate {
    struct cw_arena *a;
    struct cw_hl7v2_file *f;
    const struct cw_hl7v2_opts *opts;
    struct cw_hl7v2_limits lim;
    bool strict;
    uint32_t items_cap, batches_cap;
    long cur_batch;        /* -1: none open */
    const char *msg_start; /* open message, or NULL */
    const char *msg_end;
    struct cw_err *err;
};

__attribute__((format(printf, 4, 5))) static int firr(struct fstate *st, enum cw_v2_error code,
                                                      const char *loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (st->strict) {
        cw_err_clear(st->err);
        cw_err_vset(st->err, CW_ISSUE_STRUCTURE, fmt, ap);
        st->err->v2_code = code;
        cw_err_at(st->err, loc);
        va_end(ap);
        return -1;
    }
    hl7v2_warn_into(st->a, &st->f->warnings, &st->f->nwarnings, &st->f->warnings_dropped,
                    st->lim.max_warnings, code, CW_ISSUE_STRUCTURE, loc, fmt, ap);
    va_end(ap);
    return 0;
}

static int oom(struct fstate *st)
{
    return hl7v2_fail(st->err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, "",
                      "out of memory or arena limit while reading a file");
}

/* Parse the open message, if any, into a new item. */
static int flush_message(struct fstate *st)
{
    if (!st->msg_start) return 0;
    struct cw_hl7v2_file *f = st->f;
    if (f->nitems >= st->lim.max_messages)
        return hl7v2_fail(st->err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, "",
                          "more than %u messages in one file", st->lim.max_messages);
    if (f->nitems == st->items_cap) {
        uint32_t cap = st->items_cap ? st->items_cap * 2 : 16;
        struct cw_hl7v2_item *n = cw_arena_array(st->a, cap, sizeof *n);
        if (!n) return oom(st);
        if (f->nitems) memcpy(n, f->items, (size_t)f->nitems * sizeof *n);
        f->items = n;
        st->items_cap = cap;
    }
    struct cw_hl7v2_item *it = &f->items[f->nitems++];
    memset(it, 0, sizeof *it);
    it->raw = (cw_slice){st->msg_start, (size_t)(st->msg_end - st->msg_start)};
    it->batch = st->cur_batch >= 0 ? (uint32_t)st->cur_batch : UINT32_MAX;
    if (st->cur_batch >= 0) f->batches[st->cur_batch].count++;
    if (cw_hl7v2_parse(st->a, it->raw, st->opts, &it->msg, &it->err) < 0) {
        it->msg = NULL;
        f->nfailed++;
        if (it->err.issue == CW_ISSUE_NONE) it->err.issue = CW_ISSUE_EXCEPTION;
    }
    st->msg_start = NULL;
    return cw_arena_exceeded(st->a) ? oom(st) : 0;
}

/* A header or trailer line as a segment node, with the delimiters it defines or d. */
static int batch_segment(struct fstate *st, cw_slice line, const struct cw_hl7v2_delims *d,
                         struct cw_hl7v2_delims *own, struct cw_hl7v2_node **out)
{
    struct cw_hl7v2_delims dd = d ? *d : CW_HL7V2_DELIMS_DEFAULT;
    if (own) {
        size_t enc;
        bool irr;
        const char *why;
        if (hl7v2_read_header(line.ptr, line.ptr + line.len, st->strict, &dd, &enc, &irr, &why,
                              st->err) < 0)
            return -1;
        if (irr) {
            char loc[8];
            snprintf(loc, sizeof loc, "%.3s-2", line.ptr);
            firr(st, CW_V2_DATA_TYPE, loc, "%.3s-2 %s", line.ptr, why);
        }
        *own = dd;
    }
    struct cw_hl7v2_node *n = cw_arena_alloc(st->a, sizeof *n);
    if (!n) return oom(st);
    if (hl7v2_split_segment(st->a, &dd, line, n, st->err) < 0) return -1;
    *out = n;
    return 0;
}

/* Count field (FTS-1 / BTS-1) against what was seen. */
static int check_count(struct fstate *st, const struct cw_hl7v2_node *seg, uint32_t seen,
                       const char *loc, const char *what)
{
    const struct cw_hl7v2_node *f1 = cw_hl7v2_field(seg, 1);
    if (!f1 || f1->len == 0) return 0;
    long long v;
    if (cw_slice_to_i64(cw_slice_trim(cw_hl7v2_text(f1)), &v) < 0)
        return firr(st, CW_V2_DATA_TYPE, loc, "%s is not a number", loc);
    if (v != (long long)seen)
        return firr(st, CW_V2_SEGMENT_SEQUENCE, loc, "%s says %lld %s, the file has %u", loc, v,
                    what, seen);
    return 0;
}

static int new_batch(struct fstate *st)
{
    struct cw_hl7v2_file *f = st->f;
    if (f->nbatches == st->batches_cap) {
        uint32_t cap = st->batches_cap ? st->batches_cap * 2 : 4;
        struct cw_hl7v2_batch *n = cw_arena_array(st->a, cap, sizeof *n);
        if (!n) return oom(st);
        if (f->nbatches) memcpy(n, f->batches, (size_t)f->nbatches * sizeof *n);
        f->batches = n;
        st->batches_cap = cap;
    }
    struct cw_hl7v2_batch *b = &f->batches[f->nbatches];
    memset(b, 0, sizeof *b);
    b->first = f->nitems;
    b->delims = f->fhs ? f->fhs_delims : CW_HL7V2_DELIMS_DEFAULT;
    st->cur_batch = f->nbatches++;
    return 0;
}

int cw_hl7v2_parse_file(struct cw_arena *a, cw_slice input, const struct cw_hl7v2_opts *opts,
                        struct cw_hl7v2_file **out, struct cw_err *err)
{
    *out = NULL;
    struct fstate st = {0};
    st.a = a;
    st.opts = opts;
    hl7v2_limits(opts, &st.lim);
    st.strict = opts && (opts->flags & CW_HL7V2_STRICT);
    st.cur_batch = -1;
    st.err = err;
    st.f = cw_arena_zalloc(a, sizeof *st.f);
    if (!st.f) return oom(&st);
    struct cw_hl7v2_file *f = st.f;

    const char *p = input.ptr, *end = input.ptr + input.len;
    const char *bom_at = NULL;
    if (input.len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) bom_at = p, p += 3;
    uint32_t stray = 0, framed = 0;
    bool seen_fts = false;
    while (p < end) {
        const char *ls = p;
        const char *le = p;
        while (le < end && *le != '\r' && *le != '\n') le++;
        const char *next = le;
        if (next < end) next += (*next == '\r' && next + 1 < end && next[1] == '\n') ? 2 : 1;
        p = next;
        const char *s = ls;
        while (s < le && strip_byte((unsigned char)*s)) s++;
        cw_slice line = {s, (size_t)(le - s)};
        if (line.len == 0) continue; /* blank: part of the open message, if any */
        bool msh = line.len >= 3 && memcmp(s, "MSH", 3) == 0;
        bool fhs = starts_id(line, "FHS"), bhs = starts_id(line, "BHS");
        bool bts = starts_id(line, "BTS"), fts = starts_id(line, "FTS");
        if (!msh && !fhs && !bhs && !bts && !fts) {
            if (st.msg_start) {
                st.msg_end = next;
            } else {
                stray++;
            }
            continue;
        }
        if (s > ls) framed++;
        if (flush_message(&st) < 0) return -1;
        if (seen_fts && firr(&st, CW_V2_SEGMENT_SEQUENCE, "FTS", "segments after FTS") < 0)
            return -1;
        if (msh) {
            /* the BOM belongs to the first message when nothing came before it */
            st.msg_start = (bom_at && s == bom_at + 3) ? bom_at : s;
            st.msg_end = next;
        } else if (fhs) {
            if ((f->fhs || f->nitems || f->nbatches) &&
                firr(&st, CW_V2_SEGMENT_SEQUENCE, "FHS", "FHS is not the first segment") < 0)
                return -1;
            if (batch_segment(&st, line, NULL, &f->fhs_delims, &f->fhs) < 0) return -1;
        } else if (bhs) {
            if (st.cur_batch >= 0 && firr(&st, CW_V2_SEGMENT_SEQUENCE, "BTS", "batch %u has no BTS",
                                          (unsigned)st.cur_batch + 1) < 0)
                return -1;
            if (new_batch(&st) < 0) return -1;
            struct cw_hl7v2_batch *b = &f->batches[st.cur_batch];
            if (batch_segment(&st, line, NULL, &b->delims, &b->bhs) < 0) return -1;
        } else if (bts) {
            if (st.cur_batch < 0) {
                if (firr(&st, CW_V2_SEGMENT_SEQUENCE, "BTS", "BTS without BHS") < 0) return -1;
                continue;
            }
            struct cw_hl7v2_batch *b = &f->batches[st.cur_batch];
            if (batch_segment(&st, line, &b->delims, NULL, &b->bts) < 0) return -1;
            if (check_count(&st, b->bts, b->count, "BTS-1", "messages") < 0) return -1;
            st.cur_batch = -1;
        } else {
            if (st.cur_batch >= 0) {
                if (firr(&st, CW_V2_SEGMENT_SEQUENCE, "BTS", "batch %u has no BTS",
                         (unsigned)st.cur_batch + 1) < 0)
                    return -1;
                st.cur_batch = -1;
            }
            struct cw_hl7v2_delims d = f->fhs ? f->fhs_delims : CW_HL7V2_DELIMS_DEFAULT;
            if (batch_segment(&st, line, &d, NULL, &f->fts) < 0) return -1;
            if (!f->fhs && firr(&st, CW_V2_SEGMENT_SEQUENCE, "FTS", "FTS without FHS") < 0)
                return -1;
            if (check_count(&st, f->fts, f->nbatches, "FTS-1", "batches") < 0) return -1;
            seen_fts = true;
        }
    }
    if (flush_message(&st) < 0) return -1;
    if (st.cur_batch >= 0 && firr(&st, CW_V2_SEGMENT_SEQUENCE, "BTS", "batch %u has no BTS",
                                  (unsigned)st.cur_batch + 1) < 0)
        return -1;
    if (f->fhs && !f->fts && firr(&st, CW_V2_SEGMENT_SEQUENCE, "FTS", "FHS without FTS") < 0)
        return -1;
    if (stray && firr(&st, CW_V2_SEGMENT_SEQUENCE, "", "%u line(s) outside any message", stray) < 0)
        return -1;
    if (framed && firr(&st, CW_V2_SEGMENT_SEQUENCE, "",
                       "%u header line(s) start with spaces or framing bytes", framed) < 0)
        return -1;
    if (f->nitems == 0)
        return hl7v2_fail(err, CW_V2_SEGMENT_SEQUENCE, CW_ISSUE_STRUCTURE, "MSH",
                          input.len ? "no MSH segment found" : "the input is empty");
    *out = f;
    return 0;
}
