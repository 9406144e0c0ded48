/*
 * parse.c — one HL7 v2 message from bytes to a tree of slices.
 *
 * Spec: HL7 v2.5.1 chapter 2, section 2.5 (message construction: segments,
 * fields, components, subcomponents, repetitions), 2.5.4 (MSH-1/MSH-2
 * delimiters), 2.7 (escape sequences, validated here, decoded on access in
 * decode.c), 2.8-2.9 character sets (MSH-18). Segment terminators "\r",
 * "\n" and "\r\n" are all accepted, as real systems send all three.
 *
 * How (two passes over the bytes, both branch-light):
 *  1. count: every delimiter class is counted 64 bytes at a time (SSE2, or
 *     AVX2 when the CPU has it), which bounds the number of nodes of each
 *     level, so the node arrays are allocated once, exactly, and never
 *     move (kids pointers stay valid). The same pass notes non-ASCII bytes
 *     and control characters.
 *  2. build: a 64-bit mask of delimiter positions per block is walked bit
 *     by bit; each delimiter closes the open element of its level and of
 *     the levels below. Nodes are emitted only when they carry
 *     information (see hl7v2.h, "Model"), into one array per level; all
 *     children of a parent are contiguous because the input is read once,
 *     left to right.
 *
 * Invariants:
 *  - Every node's text lies inside the input; kids of a node lie inside it
 *    in order, separated by exactly one delimiter of their level.
 *  - node->n never exceeds the configured limits (<= CW_HL7V2_MAX_KIDS).
 *  - No byte of the input is read twice by pass 2 except in escape checks
 *    and the segment ID checks, which are bounded by the element.
 */
#include "hl7v2/hl7v2_int.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HL7V2_X86 1
#endif

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

/* Limits stay 64 below the 16-bit ceiling: the parser checks counts once per 64-byte block. */
static uint32_t clamp_kids(uint32_t v, uint32_t def)
{
    if (v == 0) v = def;
    return v > CW_HL7V2_MAX_KIDS - 64 ? CW_HL7V2_MAX_KIDS - 64 : v;
}

void hl7v2_limits(const struct cw_hl7v2_opts *opts, struct cw_hl7v2_limits *out)
{
    struct cw_hl7v2_limits z = {0};
    const struct cw_hl7v2_limits *in = opts ? &opts->limits : &z;
    out->max_bytes = in->max_bytes ? in->max_bytes : CW_HL7V2_DEFAULT_MAX_BYTES;
    if (out->max_bytes > UINT32_MAX) out->max_bytes = UINT32_MAX; /* node->len is 32 bits */
    out->max_segments = in->max_segments ? in->max_segments : CW_HL7V2_DEFAULT_MAX_SEGMENTS;
    out->max_fields = clamp_kids(in->max_fields, CW_HL7V2_DEFAULT_MAX_FIELDS);
    out->max_reps = clamp_kids(in->max_reps, CW_HL7V2_DEFAULT_MAX_REPS);
    out->max_components = clamp_kids(in->max_components, CW_HL7V2_DEFAULT_MAX_COMPONENTS);
    out->max_warnings = in->max_warnings ? in->max_warnings : CW_HL7V2_DEFAULT_MAX_WARNINGS;
    out->max_messages = in->max_messages ? in->max_messages : CW_HL7V2_DEFAULT_MAX_MESSAGES;
}

/* ------------------------------------------------------------------ */
/* Errors and warnings                                                 */
/* ------------------------------------------------------------------ */

int hl7v2_fail(struct cw_err *err, enum cw_v2_error code, enum cw_issue issue, const char *location,
               const char *fmt, ...)
{
    if (!err) return -1;
    cw_err_clear(err);
    va_list ap;
    va_start(ap, fmt);
    cw_err_vset(err, issue, fmt, ap);
    va_end(ap);
    err->severity = CW_SEV_ERROR;
    err->v2_code = code;
    cw_err_at(err, location ? location : "");
    return -1;
}

void hl7v2_warn_into(struct cw_arena *a, struct cw_err **arr, uint32_t *n, uint32_t *dropped,
                     uint32_t max, enum cw_v2_error code, enum cw_issue issue, const char *location,
                     const char *fmt, va_list ap)
{
    if (*n >= max) {
        (*dropped)++;
        return;
    }
    if (!*arr) {
        /* One allocation for all of them: warnings are rare, max is small. */
        *arr = cw_arena_array(a, max, sizeof **arr);
        if (!*arr) {
            (*dropped)++;
            return;
        }
    }
    struct cw_err *e = &(*arr)[(*n)++];
    cw_err_clear(e);
    cw_err_vset(e, issue, fmt, ap);
    e->severity = CW_SEV_WARNING;
    e->v2_code = code;
    cw_err_at(e, location ? location : "");
}

void hl7v2_warn(struct cw_arena *a, struct cw_hl7v2_msg *m, enum cw_v2_error code,
                enum cw_issue issue, const char *location, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hl7v2_warn_into(a, &m->warnings, &m->nwarnings, &m->warnings_dropped, m->max_warnings, code,
                    issue, location, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* MSH-1 / MSH-2                                                       */
/* ------------------------------------------------------------------ */

/* Delimiters must be visible ASCII punctuation (HL7 v2.5.1 2.5.4 recommends |^~\&). */
static bool delim_ok(unsigned char c)
{
    if (c <= 0x20 || c >= 0x7f) return false;
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return false;
    return true;
}

int hl7v2_read_header(const char *p, const char *end, bool strict, struct cw_hl7v2_delims *d,
                      size_t *enc_len, bool *irregular, const char **why, struct cw_err *err)
{
    char id[4] = {p[0], p[1], p[2], 0};
    char loc1[8] = {p[0], p[1], p[2], '-', '1', 0}, loc2[8] = {p[0], p[1], p[2], '-', '2', 0};
    *irregular = false;
    *why = NULL;
    memset(d, 0, sizeof *d);
    if (end - p < 4 || p[3] == '\r' || p[3] == '\n')
        return hl7v2_fail(err, CW_V2_REQUIRED_MISSING, CW_ISSUE_STRUCTURE, loc1,
                          "%s-1 (field separator) is missing", id);
    unsigned char fs = (unsigned char)p[3];
    if (!delim_ok(fs))
        return hl7v2_fail(err, CW_V2_DATA_TYPE, CW_ISSUE_STRUCTURE, loc1,
                          "%s-1 (field separator) is not a punctuation character", id);
    d->field = (char)fs;
    const char *q = p + 4;
    while (q < end && *q != (char)fs && *q != '\r' && *q != '\n') q++;
    size_t n = (size_t)(q - (p + 4));
    *enc_len = n;
    if (n == 0)
        return hl7v2_fail(err, CW_V2_REQUIRED_MISSING, CW_ISSUE_STRUCTURE, loc2,
                          "%s-2 (encoding characters) is empty", id);
    char got[5];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[4 + i];
        if (!delim_ok(c))
            return hl7v2_fail(err, CW_V2_DATA_TYPE, CW_ISSUE_STRUCTURE, loc2,
                              "%s-2 (encoding characters) holds a letter, digit, space or "
                              "control character at position %zu",
                              id, i + 1);
        bool dup = c == fs;
        for (size_t j = 0; j < k; j++) dup |= got[j] == (char)c;
        if (dup) {
            if (strict)
                return hl7v2_fail(err, CW_V2_DATA_TYPE, CW_ISSUE_STRUCTURE, loc2,
                                  "%s-2 (encoding characters) repeats a delimiter at position %zu",
                                  id, i + 1);
            *irregular = true;
            *why = "repeats a delimiter; the repeat was ignored";
            continue;
        }
        if (k == 5) {
            if (strict)
                return hl7v2_fail(err, CW_V2_VALUE_TOO_LONG, CW_ISSUE_STRUCTURE, loc2,
                                  "%s-2 (encoding characters) is longer than 5 characters", id);
            *irregular = true;
            *why = "is longer than 5 characters; the rest was ignored";
            break;
        }
        got[k++] = (char)c;
    }
    if (k < 4) {
        /* HL7 v2.5.1 2.5.4: four encoding characters (a fifth from v2.7) */
        if (strict)
            return hl7v2_fail(err, CW_V2_DATA_TYPE, CW_ISSUE_STRUCTURE, loc2,
                              "%s-2 (encoding characters) has %zu of the 4 characters", id, k);
        *irregular = true;
        *why = k == 1   ? "has 1 of the 4 encoding characters"
               : k == 2 ? "has 2 of the 4 encoding characters"
                        : "has 3 of the 4 encoding characters";
    }
    d->comp = k > 0 ? got[0] : 0;
    d->rep = k > 1 ? got[1] : 0;
    d->esc = k > 2 ? got[2] : 0;
    d->sub = k > 3 ? got[3] : 0;
    d->trunc = k > 4 ? got[4] : 0;
    return 0;
}

/* 0 = unknown yet, 1 = SSE2/scalar, 2 = AVX2 */
static int isa_level;

static int isa(void)
{
    int l = __atomic_load_n(&isa_level, __ATOMIC_RELAXED);
    if (l) return l;
#ifdef HL7V2_X86
    __builtin_cpu_init();
    l = __builtin_cpu_supports("avx2") ? 2 : 1;
#else
    l = 1;
#endif
    __atomic_store_n(&isa_level, l, __ATOMIC_RELAXED);
    return l;
}

/* ------------------------------------------------------------------ */
/* The build pass                                                      */
/* ------------------------------------------------------------------ */

/*
 * Parser state. The hot loop (scan) keeps these in local variables and
 * writes them back here (SAVE) only before calling an out-of-line slow
 * path, which works on this struct; LOAD reads them back.
 */
struct pst {
    struct cw_hl7v2_node *segs, *segp;
    struct cw_hl7v2_node *fldp, *repp, *cmpp, *subp;
    struct cw_hl7v2_node *seg_end, *fld_end, *rep_end, *cmp_end, *sub_end;
    struct cw_hl7v2_node *fld_mark; /* first field of the open segment (fldp - fld_mark = nfld) */
    uint64_t hi, ctl;               /* masks of non-ASCII and control bytes seen (nonzero = some) */
    const char *seg_start, *f_start, *r_start, *c_start, *s_start;
    uint32_t nfld, nrep, ncmp, nsub;
    unsigned esc; /* ESC_*: levels whose open element holds an escape character */
    bool field_open;
    const char *esc_at; /* inside an escape sequence that started here */
    const char *end;
    uint32_t blank_pending;
    uint32_t max_fields, max_reps, max_comps, max_segs;
    bool strict;
    struct cw_arena *a;
    struct cw_hl7v2_msg *m;
    const struct cw_hl7v2_delims *d;
    struct cw_err *err;
};

/* bits of pst.esc; (esc >> level_bit) & 1 is the node flag CW_HL7V2_NODE_ESC */
#define ESC_S 1u
#define ESC_C 2u
#define ESC_R 4u
#define ESC_F 8u

#define LIKELY(x)   __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define INLINE      static inline __attribute__((always_inline))

/*
 * Location of the element being parsed, from the counters (see hl7v2.h
 * "Paths"); only the segment when seg_level.
 */
static void state_loc(const struct pst *st, bool seg_level, char *buf, size_t size)
{
    if (st->nfld == 0) {
        snprintf(buf, size, "%s", "");
        return;
    }
    const struct cw_hl7v2_node *idn = st->fldp - st->nfld;
    cw_slice id = {idn->ptr, idn->len};
    uint32_t occ = 1;
    for (const struct cw_hl7v2_node *s = st->segs; s < st->segp; s++)
        if (s->n && cw_slice_eq((cw_slice){s->kids[0].ptr, s->kids[0].len}, id)) occ++;
    if (seg_level) {
        hl7v2_loc(buf, size, id, occ, 0, 0, 0, 0);
        return;
    }
    uint32_t comp = (st->ncmp || st->nsub) ? st->ncmp + 1 : 0;
    hl7v2_loc(buf, size, id, occ, st->nfld, st->nrep ? st->nrep + 1 : 0, comp,
              st->nsub ? st->nsub + 1 : 0);
}

/*
 * An irregularity at the current position: a warning in lenient mode, the
 * error of the parse in strict mode (returns -1 then).
 */
__attribute__((format(printf, 5, 6))) static int irregular(struct pst *st, bool seg_level,
                                                           enum cw_v2_error code,
                                                           enum cw_issue issue, const char *fmt,
                                                           ...)
{
    char loc[CW_ERR_LOCATION_MAX];
    if (!st->strict && st->m->nwarnings >= st->m->max_warnings) {
        st->m->warnings_dropped++;
        return 0;
    }
    state_loc(st, seg_level, loc, sizeof loc);
    va_list ap;
    va_start(ap, fmt);
    if (st->strict) {
        cw_err_clear(st->err);
        cw_err_vset(st->err, issue, fmt, ap);
        st->err->severity = CW_SEV_ERROR;
        st->err->v2_code = code;
        cw_err_at(st->err, loc);
        va_end(ap);
        return -1;
    }
    hl7v2_warn_into(st->a, &st->m->warnings, &st->m->nwarnings, &st->m->warnings_dropped,
                    st->m->max_warnings, code, issue, loc, fmt, ap);
    va_end(ap);
    return 0;
}

static int limit_fail(struct pst *st, const char *what, uint32_t max)
{
    char loc[CW_ERR_LOCATION_MAX];
    state_loc(st, false, loc, sizeof loc);
    hl7v2_fail(st->err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, loc, "more than %u %s", max, what);
    return -1;
}

/* A segment with a field beyond max_fields: located at the first one too many. */
static int fields_limit(struct pst *st)
{
    char loc[CW_ERR_LOCATION_MAX];
    const struct cw_hl7v2_node *idn = st->fld_mark;
    cw_slice id = {idn->ptr, idn->len};
    uint32_t occ = 1;
    for (const struct cw_hl7v2_node *s = st->segs; s < st->segp; s++)
        if (s->n && cw_slice_eq((cw_slice){s->kids[0].ptr, s->kids[0].len}, id)) occ++;
    hl7v2_loc(loc, sizeof loc, id, occ, st->max_fields + 1, 0, 0, 0);
    hl7v2_fail(st->err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, loc,
               "more than %u fields in a segment", st->max_fields);
    return -1;
}

/* ---- element closing on the struct (slow paths: segment ends) ---- */

static int emit_sub(struct pst *st, const char *pos)
{
    if (UNLIKELY(st->nsub >= st->max_comps)) return limit_fail(st, "subcomponents", st->max_comps);
    struct cw_hl7v2_node *n = st->subp++;
    *n = (struct cw_hl7v2_node){st->s_start, (uint32_t)(pos - st->s_start), 0,
                                0,           (uint8_t)(st->esc & 1),        NULL};
    st->esc &= ~ESC_S;
    st->nsub++;
    return 0;
}

static int close_comp(struct pst *st, const char *pos)
{
    if (UNLIKELY(st->ncmp >= st->max_comps)) return limit_fail(st, "components", st->max_comps);
    struct cw_hl7v2_node *n = st->cmpp++;
    n->ptr = st->c_start;
    n->len = (uint32_t)(pos - st->c_start);
    n->flags = (uint8_t)((st->esc >> 1) & 1);
    if (st->nsub) {
        if (emit_sub(st, pos) < 0) return -1;
        n->n = (uint16_t)st->nsub;
        n->kind = CW_HL7V2_SUB;
        n->kids = st->subp - st->nsub;
        st->nsub = 0;
    } else {
        n->n = 0;
        n->kind = 0;
        n->kids = NULL;
    }
    st->esc &= ~(ESC_C | ESC_S);
    st->ncmp++;
    return 0;
}

/* Finish the components of the open repetition into out->n/kind/kids. */
static int finish_rep(struct pst *st, const char *pos, struct cw_hl7v2_node *out)
{
    if (st->ncmp) {
        if (close_comp(st, pos) < 0) return -1;
        out->n = (uint16_t)st->ncmp;
        out->kind = CW_HL7V2_COMP;
        out->kids = st->cmpp - st->ncmp;
        st->ncmp = 0;
    } else if (st->nsub) {
        if (emit_sub(st, pos) < 0) return -1;
        out->n = (uint16_t)st->nsub;
        out->kind = CW_HL7V2_SUB;
        out->kids = st->subp - st->nsub;
        st->nsub = 0;
    } else {
        out->n = 0;
        out->kind = 0;
        out->kids = NULL;
    }
    st->esc &= ~(ESC_C | ESC_S);
    return 0;
}

static int close_rep(struct pst *st, const char *pos)
{
    if (UNLIKELY(st->nrep >= st->max_reps)) return limit_fail(st, "repetitions", st->max_reps);
    struct cw_hl7v2_node *n = st->repp++;
    n->ptr = st->r_start;
    n->len = (uint32_t)(pos - st->r_start);
    n->flags = (uint8_t)((st->esc >> 2) & 1);
    if (finish_rep(st, pos, n) < 0) return -1;
    st->esc &= ~ESC_R;
    st->nrep++;
    return 0;
}

static int close_field(struct pst *st, const char *pos)
{
    if (UNLIKELY(st->nfld > st->max_fields)) return fields_limit(st);
    struct cw_hl7v2_node *n = st->fldp++;
    n->ptr = st->f_start;
    n->len = (uint32_t)(pos - st->f_start);
    n->flags = (uint8_t)((st->esc >> 3) & 1);
    if (st->nrep) {
        if (close_rep(st, pos) < 0) return -1;
        n->n = (uint16_t)st->nrep;
        n->kind = CW_HL7V2_REP;
        n->kids = st->repp - st->nrep;
        st->nrep = 0;
    } else if (finish_rep(st, pos, n) < 0) {
        return -1;
    }
    st->esc = 0;
    st->nfld++;
    return 0;
}

static bool strip_byte(unsigned char c)
{
    return c == ' ' || c == '\t' || c == 0x0b || c == 0x0c || c == 0x1c;
}

/*
 * Check the segment ID (field 0) of the segment that just ended; 'only_id'
 * when the segment has no other field. Called once per segment, at its
 * end (not for MSH). Returns -1 on error, 1 when the "segment" is a blank
 * line (the ID node was taken back), 0 otherwise.
 */
static int check_id(struct pst *st, bool only_id)
{
    struct cw_hl7v2_node *idn = st->fldp - st->nfld;
    cw_slice id = {idn->ptr, idn->len};
    size_t lead = 0;
    while (lead < id.len && strip_byte((unsigned char)id.ptr[lead])) lead++;
    if (lead && lead == id.len && only_id && idn->n == 0) {
        /* whitespace-only line */
        st->fldp--;
        st->nfld = 0;
        return 1;
    }
    if (lead) {
        if (idn->n == 0) {
            idn->ptr += lead;
            idn->len -= (uint32_t)lead;
            st->seg_start += lead;
            id = (cw_slice){idn->ptr, idn->len};
        }
        if (irregular(st, true, CW_V2_SEGMENT_SEQUENCE, CW_ISSUE_STRUCTURE,
                      "segment %u starts with %zu space or framing byte(s)",
                      (unsigned)(st->segp - st->segs) + 1, lead) < 0)
            return -1;
    }
    if (st->blank_pending) {
        uint32_t nb = st->blank_pending;
        st->blank_pending = 0;
        if (irregular(st, true, CW_V2_SEGMENT_SEQUENCE, CW_ISSUE_STRUCTURE,
                      "%u blank line(s) before segment %u", nb,
                      (unsigned)(st->segp - st->segs) + 1) < 0)
            return -1;
    }
    if (UNLIKELY(hl7v2_is_header_id(id) || hl7v2_is_batch_id(id))) {
        char loc[8];
        snprintf(loc, sizeof loc, "%.3s", id.ptr);
        return hl7v2_fail(st->err, CW_V2_SEGMENT_SEQUENCE, CW_ISSUE_STRUCTURE, loc,
                          "segment %u is a second %.3s: one message expected (files with several "
                          "messages or batches go through cw_hl7v2_parse_file)",
                          (unsigned)(st->segp - st->segs) + 1, id.ptr);
    }
    if (UNLIKELY(!hl7v2_id_ok(id) || idn->n)) {
        if (irregular(st, true, CW_V2_SEGMENT_SEQUENCE, CW_ISSUE_STRUCTURE,
                      "segment %u has a malformed segment ID (%zu bytes; 3 uppercase letters or "
                      "digits expected)",
                      (unsigned)(st->segp - st->segs) + 1, id.len) < 0)
            return -1;
    }
    return 0;
}

static void reset_starts(struct pst *st, const char *p)
{
    st->f_start = st->r_start = st->c_start = st->s_start = p;
}

/* The segment ends at pos (a terminator or the end of input). */
static int end_segment(struct pst *st, const char *pos, uint8_t term)
{
    if (st->field_open) {
        if (st->nfld == 0 && pos == st->f_start) {
            st->blank_pending++;
            return 0;
        }
        if (close_field(st, pos) < 0) return -1;
    }
    if (st->segp > st->segs) {
        int r = check_id(st, st->nfld == 1);
        if (r < 0) return -1;
        if (r == 1) {
            st->blank_pending++;
            return 0;
        }
    }
    if (UNLIKELY((uint32_t)(st->segp - st->segs) >= st->max_segs)) {
        hl7v2_fail(st->err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, "", "more than %u segments",
                   st->max_segs);
        return -1;
    }
    if (UNLIKELY(st->nfld > st->max_fields + 1u)) return fields_limit(st);
    struct cw_hl7v2_node *s = st->segp++;
    s->ptr = st->seg_start;
    s->len = (uint32_t)(pos - st->seg_start);
    s->n = (uint16_t)st->nfld;
    s->kind = CW_HL7V2_FIELD;
    s->flags = term;
    s->kids = st->fldp - st->nfld;
    st->nfld = 0;
    st->fld_mark = st->fldp;
    st->field_open = true;
    return 0;
}

static int escape_unterminated(struct pst *st)
{
    st->esc_at = NULL;
    return irregular(st, false, CW_V2_DATA_TYPE, CW_ISSUE_VALUE,
                     "escape sequence not closed before the next delimiter");
}

/* The escape character at q closes the sequence opened at st->esc_at. */
static int escape_close(struct pst *st, const char *q)
{
    const char *s = st->esc_at + 1;
    st->esc_at = NULL;
    if (LIKELY(hl7v2_escape_valid(s, (size_t)(q - s), st->d))) return 0;
    return irregular(st, false, CW_V2_DATA_TYPE, CW_ISSUE_VALUE,
                     "unknown or malformed escape sequence (%zu bytes)", (size_t)(q - s));
}

/* A segment terminator at q (c is '\r' or '\n'); returns where the next segment starts. */
static const char *terminator(struct pst *st, const char *q, char c, const char **skip_lf)
{
    if (UNLIKELY(st->esc_at != NULL) && escape_unterminated(st) < 0) return NULL;
    uint8_t term = CW_HL7V2_TERM_LF;
    const char *next = q + 1;
    if (c == '\r') {
        term = CW_HL7V2_TERM_CR;
        if (next < st->end && *next == '\n') {
            term = CW_HL7V2_TERM_CRLF;
            *skip_lf = next;
            next++;
        }
    }
    if (end_segment(st, q, term) < 0) return NULL;
    st->seg_start = next;
    reset_starts(st, next);
    return next;
}

/* ---- the hot loop ---- */

/* Delimiter characters; absent ones repeat CR so they add no matches. */
struct vdel {
    char c[7];
};

/*
 * Each mask function returns the delimiter positions of 64 bytes and ORs
 * into *hi / *ctl nonzero bits when it saw a byte >= 0x80 / a control
 * character (0x00-0x1F except TAB, CR, LF; and 0x7F).
 */
#ifndef HL7V2_X86
static inline uint64_t mask_scalar(const char *p, const struct vdel *v, uint64_t *hi, uint64_t *ctl)
{
    uint64_t m = 0;
    for (int i = 0; i < 64; i++) {
        char x = p[i];
        unsigned char u = (unsigned char)x;
        bool hit = false;
        for (int k = 0; k < 7; k++) hit |= x == v->c[k];
        m |= (uint64_t)hit << i;
        *hi |= u >= 0x80;
        *ctl |= (u < 0x20 && u != '\t' && u != '\r' && u != '\n') || u == 0x7f;
    }
    return m;
}
#endif

#ifdef HL7V2_X86
static inline __attribute__((always_inline)) uint64_t mask_sse2(const char *p, const struct vdel *v,
                                                                uint64_t *hi, uint64_t *ctl)
{
    uint64_t m = 0;
    const __m128i sp = _mm_set1_epi8(0x20), tab = _mm_set1_epi8('\t'), del = _mm_set1_epi8(0x7f);
    for (int b = 0; b < 4; b++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * b));
        __m128i r = _mm_cmpeq_epi8(x, _mm_set1_epi8(v->c[0]));
        for (int k = 1; k < 7; k++) r = _mm_or_si128(r, _mm_cmpeq_epi8(x, _mm_set1_epi8(v->c[k])));
        m |= (uint64_t)(uint16_t)_mm_movemask_epi8(r) << (16 * b);
        unsigned h = (unsigned)_mm_movemask_epi8(x);
        *hi |= h;
        /* signed: < 0x20 includes >= 0x80, removed with h */
        __m128i low = _mm_cmplt_epi8(x, sp);
        __m128i ok = _mm_or_si128(
            _mm_cmpeq_epi8(x, _mm_set1_epi8('\r')),
            _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\n')), _mm_cmpeq_epi8(x, tab)));
        low = _mm_or_si128(_mm_andnot_si128(ok, low), _mm_cmpeq_epi8(x, del));
        *ctl |= (unsigned)_mm_movemask_epi8(low) & ~h;
    }
    return m;
}

static inline __attribute__((always_inline, target("avx2"))) uint64_t
mask_avx2(const char *p, const struct vdel *v, uint64_t *hi, uint64_t *ctl)
{
    __m256i x0 = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i x1 = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
    __m256i c = _mm256_set1_epi8(v->c[0]);
    __m256i r0 = _mm256_cmpeq_epi8(x0, c), r1 = _mm256_cmpeq_epi8(x1, c);
    for (int k = 1; k < 7; k++) {
        c = _mm256_set1_epi8(v->c[k]);
        r0 = _mm256_or_si256(r0, _mm256_cmpeq_epi8(x0, c));
        r1 = _mm256_or_si256(r1, _mm256_cmpeq_epi8(x1, c));
    }
    /* statistics: any byte >= 0x80; any byte <= 0x1F that is not TAB/CR/LF, or 0x7F */
    __m256i any = _mm256_or_si256(x0, x1);
    *hi |= (uint32_t)_mm256_movemask_epi8(any);
    const __m256i sp = _mm256_set1_epi8(0x20), tab = _mm256_set1_epi8('\t'),
                  cr = _mm256_set1_epi8('\r'), lf = _mm256_set1_epi8('\n'),
                  del = _mm256_set1_epi8(0x7f), zero = _mm256_setzero_si256();
    __m256i bad = zero;
    for (int k = 0; k < 2; k++) {
        __m256i x = k ? x1 : x0;
        __m256i low =
            _mm256_and_si256(_mm256_cmpgt_epi8(sp, x), _mm256_cmpgt_epi8(x, _mm256_set1_epi8(-1)));
        __m256i ok =
            _mm256_or_si256(_mm256_cmpeq_epi8(x, tab),
                            _mm256_or_si256(_mm256_cmpeq_epi8(x, cr), _mm256_cmpeq_epi8(x, lf)));
        bad = _mm256_or_si256(
            bad, _mm256_or_si256(_mm256_andnot_si256(ok, low), _mm256_cmpeq_epi8(x, del)));
    }
    *ctl |= (uint32_t)_mm256_movemask_epi8(bad);
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(r0) |
           ((uint64_t)(uint32_t)_mm256_movemask_epi8(r1) << 32);
}
#endif

/* Room that must be free in every node array before a 64-byte block (one node per byte at most). */
#define BLOCK_ROOM 66

/*
 * Give every node array room for BLOCK_ROOM more nodes. A level array
 * moves on to a new chunk, taking along the kids of the element still open
 * (they must stay contiguous; closed elements keep pointing into the old
 * chunk). The segment array is copied whole (m->segs is one array).
 */
static int grow(struct pst *st)
{
    struct {
        struct cw_hl7v2_node **p, **end;
        uint32_t open;
    } lv[4] = {
        {&st->fldp, &st->fld_end, st->nfld},
        {&st->repp, &st->rep_end, st->nrep},
        {&st->cmpp, &st->cmp_end, st->ncmp},
        {&st->subp, &st->sub_end, st->nsub},
    };
    for (int i = 0; i < 4; i++) {
        if (*lv[i].end - *lv[i].p >= BLOCK_ROOM) continue;
        size_t cap = 2 * (size_t)(*lv[i].p - (*lv[i].p - lv[i].open)) + 4096;
        struct cw_hl7v2_node *n = cw_arena_array(st->a, cap, sizeof *n);
        if (!n)
            return hl7v2_fail(st->err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, "",
                              "out of memory or arena limit while parsing");
        if (lv[i].open) memcpy(n, *lv[i].p - lv[i].open, lv[i].open * sizeof *n);
        *lv[i].p = n + lv[i].open;
        *lv[i].end = n + cap;
        if (i == 0) st->fld_mark = n;
    }
    if (st->seg_end - st->segp < BLOCK_ROOM) {
        size_t nseg = (size_t)(st->segp - st->segs);
        size_t cap = 2 * nseg + 256;
        struct cw_hl7v2_node *n = cw_arena_array(st->a, cap, sizeof *n);
        if (!n)
            return hl7v2_fail(st->err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, "",
                              "out of memory or arena limit while parsing");
        if (nseg) memcpy(n, st->segs, nseg * sizeof *n);
        st->segs = n;
        st->segp = n + nseg;
        st->seg_end = n + cap;
    }
    return 0;
}

static inline bool need_room(const struct pst *st, const struct cw_hl7v2_node *fldp,
                             const struct cw_hl7v2_node *repp, const struct cw_hl7v2_node *cmpp,
                             const struct cw_hl7v2_node *subp)
{
    return (st->fld_end - fldp < BLOCK_ROOM) | (st->rep_end - repp < BLOCK_ROOM) |
           (st->cmp_end - cmpp < BLOCK_ROOM) | (st->sub_end - subp < BLOCK_ROOM) |
           (st->seg_end - st->segp < BLOCK_ROOM);
}

/*
 * The build loop, instantiated once per instruction set so that the mask
 * function is inlined. The open elements live in locals (registers): the
 * counts of open repetitions, components and subcomponents are packed in
 * one word (cnt: subcomponents in bits 0-15, components 16-31,
 * repetitions 32-47), whether an escape sequence is open is a bit of esc,
 * and the field count is fldp minus st->fld_mark, so the common case (a
 * field without inner delimiters) is one test. The dispatch tests the
 * delimiters in order of frequency (in the corpus: field 57%, component
 * 37%, terminators 3%, the rest below 3%).
 */
#define ESC_OPEN 16u
#define CNT_SUB  1ull
#define CNT_CMP  (1ull << 16)
#define CNT_REP  (1ull << 32)
#define NSUB(c)  ((uint32_t)((c)&0xffff))
#define NCMP(c)  ((uint32_t)(((c) >> 16) & 0xffff))
#define NREP(c)  ((uint32_t)((c) >> 32))

INLINE int scan(struct pst *st, const char *p, const char *end, const struct vdel *v,
                uint64_t (*mask)(const char *, const struct vdel *, uint64_t *, uint64_t *))
{
    const char fs = st->d->field, cs = st->d->comp, rs = st->d->rep, ss = st->d->sub,
               es = st->d->esc;
    struct cw_hl7v2_node *fldp, *repp, *cmpp, *subp;
    const char *f_start, *r_start, *c_start, *s_start;
    uint64_t cnt;
    unsigned esc;
    const char *skip_lf = NULL;
#define LOAD()                                                                                     \
    do {                                                                                           \
        fldp = st->fldp, repp = st->repp, cmpp = st->cmpp, subp = st->subp;                        \
        f_start = st->f_start, r_start = st->r_start, c_start = st->c_start;                       \
        s_start = st->s_start;                                                                     \
        cnt = st->nsub | ((uint64_t)st->ncmp << 16) | ((uint64_t)st->nrep << 32);                  \
        esc = st->esc | (st->esc_at ? ESC_OPEN : 0);                                               \
    } while (0)
#define SAVE()                                                                                     \
    do {                                                                                           \
        st->fldp = fldp, st->repp = repp, st->cmpp = cmpp, st->subp = subp;                        \
        st->f_start = f_start, st->r_start = r_start, st->c_start = c_start;                       \
        st->s_start = s_start;                                                                     \
        st->nfld = (uint32_t)(fldp - st->fld_mark);                                                \
        st->nsub = NSUB(cnt), st->ncmp = NCMP(cnt), st->nrep = NREP(cnt);                          \
        st->esc = esc & ~ESC_OPEN;                                                                 \
    } while (0)
#define SUB_CLOSE(q)                                                                               \
    do {                                                                                           \
        subp->ptr = s_start;                                                                       \
        subp->len = (uint32_t)((q)-s_start);                                                       \
        subp->n = 0;                                                                               \
        subp->kind = 0;                                                                            \
        subp->flags = (uint8_t)(esc & 1);                                                          \
        subp->kids = NULL;                                                                         \
        subp++;                                                                                    \
        cnt += CNT_SUB;                                                                            \
        esc &= ~ESC_S;                                                                             \
    } while (0)
#define COMP_CLOSE(q)                                                                              \
    do {                                                                                           \
        struct cw_hl7v2_node *cn_ = cmpp++;                                                        \
        cn_->ptr = c_start;                                                                        \
        cn_->len = (uint32_t)((q)-c_start);                                                        \
        cn_->flags = (uint8_t)((esc >> 1) & 1);                                                    \
        if (NSUB(cnt)) {                                                                           \
            SUB_CLOSE(q);                                                                          \
            cn_->n = (uint16_t)NSUB(cnt);                                                          \
            cn_->kind = CW_HL7V2_SUB;                                                              \
            cn_->kids = subp - NSUB(cnt);                                                          \
            cnt &= ~0xffffull;                                                                     \
        } else {                                                                                   \
            cn_->n = 0;                                                                            \
            cn_->kind = 0;                                                                         \
            cn_->kids = NULL;                                                                      \
        }                                                                                          \
        cnt += CNT_CMP;                                                                            \
        esc &= ~(ESC_C | ESC_S);                                                                   \
    } while (0)
#define REP_FINISH(N, q)                                                                           \
    do {                                                                                           \
        if (NCMP(cnt)) {                                                                           \
            COMP_CLOSE(q);                                                                         \
            (N)->n = (uint16_t)NCMP(cnt);                                                          \
            (N)->kind = CW_HL7V2_COMP;                                                             \
            (N)->kids = cmpp - NCMP(cnt);                                                          \
        } else if (NSUB(cnt)) {                                                                    \
            SUB_CLOSE(q);                                                                          \
            (N)->n = (uint16_t)NSUB(cnt);                                                          \
            (N)->kind = CW_HL7V2_SUB;                                                              \
            (N)->kids = subp - NSUB(cnt);                                                          \
        } else {                                                                                   \
            (N)->n = 0;                                                                            \
            (N)->kind = 0;                                                                         \
            (N)->kids = NULL;                                                                      \
        }                                                                                          \
        cnt &= ~0xffffffffull;                                                                     \
        esc &= ~(ESC_C | ESC_S);                                                                   \
    } while (0)
#define REP_CLOSE(q)                                                                               \
    do {                                                                                           \
        struct cw_hl7v2_node *rn_ = repp++;                                                        \
        rn_->ptr = r_start;                                                                        \
        rn_->len = (uint32_t)((q)-r_start);                                                        \
        rn_->flags = (uint8_t)((esc >> 2) & 1);                                                    \
        REP_FINISH(rn_, q);                                                                        \
        cnt += CNT_REP;                                                                            \
        esc &= ~ESC_R;                                                                             \
    } while (0)
#define UNTERMINATED()                                                                             \
    do {                                                                                           \
        SAVE();                                                                                    \
        if (escape_unterminated(st) < 0) return -1;                                                \
        esc &= ~ESC_OPEN;                                                                          \
    } while (0)

    const uint32_t max_fields = st->max_fields, max_reps = st->max_reps, max_comps = st->max_comps;
    uint64_t hi = 0, ctl = 0;
    LOAD();
    while (p < end) {
        uint64_t m;
        size_t avail = (size_t)(end - p);
        /* room in the node arrays; counts that may not grow 64 more without crossing a limit */
        if (UNLIKELY(need_room(st, fldp, repp, cmpp, subp))) {
            SAVE();
            if (grow(st) < 0) return -1;
            LOAD();
        }
        if (UNLIKELY(NSUB(cnt) > max_comps || NCMP(cnt) > max_comps || NREP(cnt) > max_reps ||
                     (uint32_t)(fldp - st->fld_mark) > max_fields + 1u))
            goto limit;
        if (LIKELY(avail >= 64)) {
            m = mask(p, v, &hi, &ctl);
        } else {
            /* 'A' is never a delimiter (they are punctuation), control or non-ASCII byte */
            char tail[64];
            memset(tail, 'A', sizeof tail);
            memcpy(tail, p, avail);
            m = mask(tail, v, &hi, &ctl) & (((uint64_t)1 << avail) - 1);
        }
        while (m) {
            const char *q = p + __builtin_ctzll(m);
            m &= m - 1;
            const char c = *q;
            if (LIKELY(c == fs)) {
                if (LIKELY((cnt | esc) == 0)) {
                    struct cw_hl7v2_node *fn = fldp++;
                    fn->ptr = f_start;
                    fn->len = (uint32_t)(q - f_start);
                    fn->n = 0;
                    fn->kind = 0;
                    fn->flags = 0;
                    fn->kids = NULL;
                } else {
                    if (UNLIKELY(esc & ESC_OPEN)) UNTERMINATED();
                    struct cw_hl7v2_node *fn = fldp++;
                    fn->ptr = f_start;
                    fn->len = (uint32_t)(q - f_start);
                    fn->flags = (uint8_t)((esc >> 3) & 1);
                    if (NREP(cnt)) {
                        if (UNLIKELY(NREP(cnt) >= max_reps)) goto limit;
                        if (UNLIKELY(NCMP(cnt) >= max_comps || NSUB(cnt) >= max_comps)) goto limit;
                        REP_CLOSE(q);
                        fn->n = (uint16_t)NREP(cnt);
                        fn->kind = CW_HL7V2_REP;
                        fn->kids = repp - NREP(cnt);
                    } else {
                        if (UNLIKELY(NCMP(cnt) >= max_comps || NSUB(cnt) >= max_comps)) goto limit;
                        REP_FINISH(fn, q);
                    }
                    cnt = 0;
                    esc = 0;
                }
                f_start = r_start = c_start = s_start = q + 1;
            } else if (LIKELY(c == cs)) {
                if (UNLIKELY(esc & ESC_OPEN)) UNTERMINATED();
                if (UNLIKELY(NSUB(cnt) >= max_comps)) goto limit;
                COMP_CLOSE(q);
                c_start = s_start = q + 1;
            } else if (c == '\r' || c == '\n') {
                if (c == '\n' && q == skip_lf) continue;
                if (UNLIKELY(esc & ESC_OPEN)) UNTERMINATED();
                SAVE();
                if (!terminator(st, q, c, &skip_lf)) return -1;
                LOAD();
            } else if (c == ss) {
                if (UNLIKELY(esc & ESC_OPEN)) UNTERMINATED();
                SUB_CLOSE(q);
                s_start = q + 1;
            } else if (c == rs) {
                if (UNLIKELY(esc & ESC_OPEN)) UNTERMINATED();
                if (UNLIKELY(NCMP(cnt) >= max_comps || NSUB(cnt) >= max_comps)) goto limit;
                REP_CLOSE(q);
                r_start = c_start = s_start = q + 1;
            } else if (c == es) {
                if (!(esc & ESC_OPEN)) {
                    st->esc_at = q;
                    esc = ESC_S | ESC_C | ESC_R | ESC_F | ESC_OPEN;
                } else {
                    SAVE();
                    if (escape_close(st, q) < 0) return -1;
                    esc &= ~ESC_OPEN;
                }
            }
        }
        p += 64;
    }
    SAVE();
    st->hi |= hi;
    st->ctl |= ctl;
    return 0;
limit:
    SAVE();
    if (st->nfld > max_fields + 1u) return fields_limit(st);
    if (st->nsub >= max_comps) return limit_fail(st, "subcomponents", max_comps);
    if (st->ncmp >= max_comps) return limit_fail(st, "components", max_comps);
    if (st->nrep >= max_reps) return limit_fail(st, "repetitions", max_reps);
    return fields_limit(st);
#undef LOAD
#undef SAVE
#undef SUB_CLOSE
#undef COMP_CLOSE
#undef REP_FINISH
#undef REP_CLOSE
#undef UNTERMINATED
}

static int scan_generic(struct pst *st, const char *p, const char *end, const struct vdel *v)
{
#ifdef HL7V2_X86
    return scan(st, p, end, v, mask_sse2);
#else
    return scan(st, p, end, v, mask_scalar);
#endif
}

#ifdef HL7V2_X86
/* GCC's SLP vectorizer packs node stores into vector registers here, which is slower */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-slp-vectorize")))
#endif
__attribute__((target("avx2"))) static int
scan_avx2(struct pst *st, const char *p, const char *end, const struct vdel *v)
{
    return scan(st, p, end, v, mask_avx2);
}
#endif

/* ------------------------------------------------------------------ */
/* Checks after the tree is built                                      */
/* ------------------------------------------------------------------ */

enum cw_hl7v2_charset cw_hl7v2_charset_from_name(cw_slice name)
{
    name = cw_slice_trim(name);
    if (name.len == 0) return CW_HL7V2_CS_DEFAULT;
    static const struct {
        const char *name;
        enum cw_hl7v2_charset cs;
    } names[] = {
        {"ASCII", CW_HL7V2_CS_ASCII},        {"US-ASCII", CW_HL7V2_CS_ASCII},
        {"ISO IR6", CW_HL7V2_CS_ASCII},      {"8859/1", CW_HL7V2_CS_LATIN1},
        {"ISO IR100", CW_HL7V2_CS_LATIN1},   {"ISO-8859-1", CW_HL7V2_CS_LATIN1},
        {"ISO8859-1", CW_HL7V2_CS_LATIN1},   {"8859/15", CW_HL7V2_CS_LATIN9},
        {"ISO-8859-15", CW_HL7V2_CS_LATIN9}, {"UNICODE UTF-8", CW_HL7V2_CS_UTF8},
        {"UTF-8", CW_HL7V2_CS_UTF8},         {"UTF8", CW_HL7V2_CS_UTF8},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (cw_slice_eq_nocase(name, cw_slice_cstr(names[i].name))) return names[i].cs;
    return CW_HL7V2_CS_OTHER;
}

size_t hl7v2_utf8_valid_prefix(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        /* ASCII runs 16 bytes at a time */
        while (n - i >= 16) {
            uint64_t w0, w1;
            memcpy(&w0, p + i, 8);
            memcpy(&w1, p + i + 8, 8);
            if ((w0 | w1) & 0x8080808080808080ull) break;
            i += 16;
        }
        if (i >= n) break;
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf)
            need = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3, cp = c & 0x07;
        else
            return i;
        if (n - i <= need) return i;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80) return i;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        /* overlong, surrogates, beyond U+10FFFF */
        if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return i;
        i += need + 1;
    }
    return i;
}

/* Content checks that pass 1 flagged: control characters, bytes vs charset. */
static int check_bytes(struct cw_arena *a, struct cw_hl7v2_msg *m, bool any_hi, bool any_ctl,
                       bool strict, struct cw_err *err)
{
    char loc[CW_ERR_LOCATION_MAX];
    if (any_ctl) {
        for (uint32_t i = 0; i < m->nsegs; i++) {
            const struct cw_hl7v2_node *s = &m->segs[i];
            const char *hit = NULL;
            for (uint32_t k = 0; k < s->len && !hit; k++) {
                unsigned char x = (unsigned char)s->ptr[k];
                if ((x < 0x20 && x != '\t') || x == 0x7f) hit = s->ptr + k;
            }
            if (hit) {
                hl7v2_locate(m, hit, loc, sizeof loc);
                if (strict)
                    return hl7v2_fail(err, CW_V2_DATA_TYPE, CW_ISSUE_VALUE, loc,
                                      "control character 0x%02x in the text", (unsigned char)*hit);
                hl7v2_warn(a, m, CW_V2_DATA_TYPE, CW_ISSUE_VALUE, loc,
                           "control character 0x%02x in the text", (unsigned char)*hit);
                break;
            }
        }
    }
    m->ascii = !any_hi;
    m->utf8 = true;
    if (!any_hi) return 0;
    const char *bad = NULL;
    for (uint32_t i = 0; i < m->nsegs && !bad; i++) {
        const struct cw_hl7v2_node *s = &m->segs[i];
        size_t ok = hl7v2_utf8_valid_prefix((const unsigned char *)s->ptr, s->len);
        if (ok < s->len) bad = s->ptr + ok;
    }
    m->utf8 = bad == NULL;
    const char *what = NULL;
    const char *where = NULL;
    switch (m->charset) {
    case CW_HL7V2_CS_UTF8:
        if (bad) what = "bytes that are not valid UTF-8 in a UTF-8 message", where = bad;
        break;
    case CW_HL7V2_CS_ASCII:
    case CW_HL7V2_CS_DEFAULT: {
        const char *first = NULL;
        for (uint32_t i = 0; i < m->nsegs && !first; i++) {
            const struct cw_hl7v2_node *s = &m->segs[i];
            size_t k = 0;
            for (; s->len - k >= 8; k += 8) {
                uint64_t w;
                memcpy(&w, s->ptr + k, 8);
                if (w & 0x8080808080808080ull) break;
            }
            for (; k < s->len; k++)
                if ((unsigned char)s->ptr[k] >= 0x80) {
                    first = s->ptr + k;
                    break;
                }
        }
        if (!first) break;
        if (m->charset == CW_HL7V2_CS_ASCII)
            what = "non-ASCII bytes in a message whose MSH-18 says ASCII", where = first;
        else if (bad)
            what = "non-ASCII bytes that are not UTF-8 and no MSH-18 (read as ISO 8859-1)",
            where = bad;
        else
            what = strict ? "non-ASCII bytes without MSH-18 (the default character set is ASCII)"
                          : "non-ASCII bytes without MSH-18 (read as UTF-8)",
            where = first;
        break;
    }
    default:
        break;
    }
    if (!what) return 0;
    hl7v2_locate(m, where, loc, sizeof loc);
    if (strict) return hl7v2_fail(err, CW_V2_DATA_TYPE, CW_ISSUE_VALUE, loc, "%s", what);
    hl7v2_warn(a, m, CW_V2_DATA_TYPE, CW_ISSUE_VALUE, loc, "%s", what);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Entry point                                                         */
/* ------------------------------------------------------------------ */

static int oom(struct cw_err *err)
{
    return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, "",
                      "out of memory or arena limit while parsing");
}

int cw_hl7v2_parse(struct cw_arena *a, cw_slice input, const struct cw_hl7v2_opts *opts,
                   struct cw_hl7v2_msg **out, struct cw_err *err)
{
    *out = NULL;
    struct cw_hl7v2_limits lim;
    hl7v2_limits(opts, &lim);
    bool strict = opts && (opts->flags & CW_HL7V2_STRICT);
    if (input.len > lim.max_bytes)
        return hl7v2_fail(err, CW_V2_INTERNAL, CW_ISSUE_TOO_LONG, "",
                          "message of %zu bytes is larger than the limit of %zu", input.len,
                          lim.max_bytes);
    struct cw_hl7v2_msg *m = cw_arena_zalloc(a, sizeof *m);
    if (!m) return oom(err);
    m->src = input;
    m->flags = strict ? CW_HL7V2_STRICT : 0;
    m->max_warnings = lim.max_warnings;

    const char *p = input.ptr, *end = input.ptr + input.len;
    if (input.len >= 3 && (unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb &&
        (unsigned char)p[2] == 0xbf) {
        m->bom = true;
        p += 3;
    }
    const char *lead = p;
    while (p < end && (strip_byte((unsigned char)*p) || *p == '\r' || *p == '\n')) p++;
    if (end - p < 3 || memcmp(p, "MSH", 3) != 0)
        return hl7v2_fail(err, CW_V2_SEGMENT_SEQUENCE, CW_ISSUE_STRUCTURE, "MSH",
                          input.len ? "the message does not start with an MSH segment"
                                    : "the message is empty");
    if (p > lead) {
        if (strict)
            return hl7v2_fail(err, CW_V2_SEGMENT_SEQUENCE, CW_ISSUE_STRUCTURE, "MSH",
                              "%zu blank, space or framing byte(s) before MSH", (size_t)(p - lead));
        hl7v2_warn(a, m, CW_V2_SEGMENT_SEQUENCE, CW_ISSUE_STRUCTURE, "MSH",
                   "%zu blank, space or framing byte(s) before MSH", (size_t)(p - lead));
    }

    struct cw_hl7v2_delims d;
    size_t enc_len;
    bool irr;
    const char *why;
    if (hl7v2_read_header(p, end, strict, &d, &enc_len, &irr, &why, err) < 0) return -1;
    if (irr) hl7v2_warn(a, m, CW_V2_DATA_TYPE, CW_ISSUE_STRUCTURE, "MSH-2", "MSH-2 %s", why);
    m->delims = d;

    /*
     * Node arrays: a first guess from the length (from the corpus: a
     * delimiter every 6 bytes, 60% of them field separators); grow() adds
     * room when a 64-byte block could overflow one.
     */
    const char *body = p + 4 + enc_len;
    size_t len = (size_t)(end - p), guess = len < ((size_t)1 << 20) ? len : ((size_t)1 << 20);
    struct pst st = {0};
    size_t cseg = guess / 40 + 2 * BLOCK_ROOM, cfld = guess / 8 + 2 * BLOCK_ROOM,
           crep = guess / 128 + 2 * BLOCK_ROOM, ccmp = guess / 10 + 2 * BLOCK_ROOM,
           csub = guess / 64 + 2 * BLOCK_ROOM;
    st.segs = st.segp = cw_arena_array(a, cseg, sizeof(struct cw_hl7v2_node));
    st.fldp = cw_arena_array(a, cfld, sizeof(struct cw_hl7v2_node));
    st.repp = cw_arena_array(a, crep, sizeof(struct cw_hl7v2_node));
    st.cmpp = cw_arena_array(a, ccmp, sizeof(struct cw_hl7v2_node));
    st.subp = cw_arena_array(a, csub, sizeof(struct cw_hl7v2_node));
    if (!st.segs || !st.fldp || !st.repp || !st.cmpp || !st.subp) return oom(err);
    st.seg_end = st.segs + cseg;
    st.fld_end = st.fldp + cfld;
    st.rep_end = st.repp + crep;
    st.cmp_end = st.cmpp + ccmp;
    st.sub_end = st.subp + csub;
    st.end = end;
    st.max_fields = lim.max_fields;
    st.max_reps = lim.max_reps;
    st.max_comps = lim.max_components;
    st.max_segs = lim.max_segments;
    st.strict = strict;
    st.a = a;
    st.m = m;
    st.d = &m->delims;
    st.err = err;

    /* MSH, MSH-1, MSH-2 by hand: MSH-2 is never split. */
    st.seg_start = p;
    st.fld_mark = st.fldp;
    struct cw_hl7v2_node *f = st.fldp;
    f[0] = (struct cw_hl7v2_node){p, 3, 0, 0, 0, NULL};
    f[1] = (struct cw_hl7v2_node){p + 3, 1, 0, 0, 0, NULL};
    f[2] = (struct cw_hl7v2_node){p + 4, (uint32_t)enc_len, 0, 0, 0, NULL};
    st.fldp += 3;
    st.nfld = 3;
    if (body < end && *body == d.field) {
        body++;
        st.field_open = true;
    } else {
        st.field_open = false; /* the segment ends right after MSH-2 */
    }
    reset_starts(&st, body);

    /* Pass 2. */
    struct vdel v;
    const char chars[7] = {d.field, d.comp, d.rep, d.sub, d.esc, '\r', '\n'};
    for (int k = 0; k < 7; k++) v.c[k] = chars[k] ? chars[k] : '\r';
    int rc;
#ifdef HL7V2_X86
    if (isa() == 2)
        rc = scan_avx2(&st, body, end, &v);
    else
#endif
        rc = scan_generic(&st, body, end, &v);
    if (rc < 0) return -1;
    if (st.esc_at && escape_unterminated(&st) < 0) return -1;
    if (need_room(&st, st.fldp, st.repp, st.cmpp, st.subp) && grow(&st) < 0) return -1;
    /* The last segment, unless the input ended with a terminator. */
    if (!st.field_open || st.nfld > 0 || st.f_start < end) {
        if (end_segment(&st, end, CW_HL7V2_TERM_NONE) < 0) return -1;
    }
    m->segs = st.segs;
    m->nsegs = (uint32_t)(st.segp - st.segs);
    if (st.blank_pending) {
        /* not part of the message: a writer cannot give them back, so say so */
        if (strict)
            return hl7v2_fail(err, CW_V2_SEGMENT_SEQUENCE, CW_ISSUE_STRUCTURE, "",
                              "%u blank line(s) after the last segment", st.blank_pending);
        hl7v2_warn(a, m, CW_V2_SEGMENT_SEQUENCE, CW_ISSUE_STRUCTURE, "",
                   "%u blank line(s) after the last segment", st.blank_pending);
    }

    /* MSH-18: the first repetition names the character set. */
    const struct cw_hl7v2_node *f18 = cw_hl7v2_rep(cw_hl7v2_field(&m->segs[0], 18), 1);
    if (f18 && f18->len) {
        m->charset = cw_hl7v2_charset_from_name(cw_hl7v2_text(cw_hl7v2_comp(f18, 1)));
        if (m->charset == CW_HL7V2_CS_OTHER) {
            if (strict)
                return hl7v2_fail(err, CW_V2_DATA_TYPE, CW_ISSUE_NOT_SUPPORTED, "MSH-18",
                                  "unsupported character set in MSH-18");
            hl7v2_warn(a, m, CW_V2_DATA_TYPE, CW_ISSUE_NOT_SUPPORTED, "MSH-18",
                       "unsupported character set in MSH-18; bytes are passed through");
        }
    }
    if (check_bytes(a, m, st.hi != 0, st.ctl != 0, strict, err) < 0) return -1;
    if (cw_arena_exceeded(a)) return oom(err);
    *out = m;
    return 0;
}
