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

static uint32_t clamp_kids(uint32_t v, uint32_t def)
{
    if (v == 0) v = def;
    return v > CW_HL7V2_MAX_KIDS ? CW_HL7V2_MAX_KIDS : v;
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

int hl7v2_fail(struct cw_err *err, enum cw_v2_error code, enum cw_issue issue,
               const char *location, const char *fmt, ...)
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
                     uint32_t max, enum cw_v2_error code, enum cw_issue issue,
                     const char *location, const char *fmt, va_list ap)
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
    char loc1[8], loc2[8];
    snprintf(loc1, sizeof loc1, "%s-1", id);
    snprintf(loc2, sizeof loc2, "%s-2", id);
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

/* ------------------------------------------------------------------ */
/* Pass 1: counts                                                      */
/* ------------------------------------------------------------------ */

struct counts {
    size_t fs, rs, cs, ss, term;
    bool hi;   /* a byte >= 0x80 */
    bool ctl;  /* a control character other than CR, LF, TAB */
};

static void count_scalar(const char *p, const char *end, const struct cw_hl7v2_delims *d,
                         struct counts *c)
{
    for (; p < end; p++) {
        unsigned char x = (unsigned char)*p;
        c->fs += x == (unsigned char)d->field;
        c->rs += x == (unsigned char)d->rep;
        c->cs += x == (unsigned char)d->comp;
        c->ss += x == (unsigned char)d->sub;
        c->term += x == '\r' || x == '\n';
        c->hi |= x >= 0x80;
        c->ctl |= (x < 0x20 && x != '\r' && x != '\n' && x != '\t') || x == 0x7f;
    }
}

#ifdef HL7V2_X86
static void count_sse2(const char *p, const char *end, const struct cw_hl7v2_delims *d,
                       struct counts *c)
{
    const __m128i vfs = _mm_set1_epi8(d->field), vrs = _mm_set1_epi8(d->rep),
                  vcs = _mm_set1_epi8(d->comp), vss = _mm_set1_epi8(d->sub),
                  vcr = _mm_set1_epi8('\r'), vlf = _mm_set1_epi8('\n'), vtab = _mm_set1_epi8('\t'),
                  vsp = _mm_set1_epi8(0x20), vdel = _mm_set1_epi8(0x7f);
    uint32_t hi = 0, ctl = 0;
    for (; end - p >= 16; p += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        c->fs += (size_t)__builtin_popcount((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vfs)));
        c->rs += (size_t)__builtin_popcount((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vrs)));
        c->cs += (size_t)__builtin_popcount((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vcs)));
        c->ss += (size_t)__builtin_popcount((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vss)));
        __m128i crlf = _mm_or_si128(_mm_cmpeq_epi8(x, vcr), _mm_cmpeq_epi8(x, vlf));
        c->term += (size_t)__builtin_popcount((unsigned)_mm_movemask_epi8(crlf));
        hi |= (uint32_t)_mm_movemask_epi8(x);
        /* signed compare: bytes < 0x20 (and >= 0x80, removed below) */
        __m128i low = _mm_cmplt_epi8(x, vsp);
        low = _mm_andnot_si128(_mm_or_si128(crlf, _mm_cmpeq_epi8(x, vtab)), low);
        low = _mm_or_si128(low, _mm_cmpeq_epi8(x, vdel));
        ctl |= (uint32_t)_mm_movemask_epi8(low) & ~(uint32_t)_mm_movemask_epi8(x);
    }
    c->hi |= hi != 0;
    c->ctl |= ctl != 0;
    count_scalar(p, end, d, c);
}

__attribute__((target("avx2,popcnt"))) static void
count_avx2(const char *p, const char *end, const struct cw_hl7v2_delims *d, struct counts *c)
{
    const __m256i vfs = _mm256_set1_epi8(d->field), vrs = _mm256_set1_epi8(d->rep),
                  vcs = _mm256_set1_epi8(d->comp), vss = _mm256_set1_epi8(d->sub),
                  vcr = _mm256_set1_epi8('\r'), vlf = _mm256_set1_epi8('\n'),
                  vtab = _mm256_set1_epi8('\t'), vsp = _mm256_set1_epi8(0x20),
                  vdel = _mm256_set1_epi8(0x7f);
    uint32_t hi = 0, ctl = 0;
    size_t fs = 0, rs = 0, cs = 0, ss = 0, term = 0;
    for (; end - p >= 32; p += 32) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)p);
        fs += (size_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, vfs)));
        rs += (size_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, vrs)));
        cs += (size_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, vcs)));
        ss += (size_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, vss)));
        __m256i crlf = _mm256_or_si256(_mm256_cmpeq_epi8(x, vcr), _mm256_cmpeq_epi8(x, vlf));
        term += (size_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(crlf));
        uint32_t h = (uint32_t)_mm256_movemask_epi8(x);
        hi |= h;
        __m256i low = _mm256_cmpgt_epi8(vsp, x);
        low = _mm256_andnot_si256(_mm256_or_si256(crlf, _mm256_cmpeq_epi8(x, vtab)), low);
        low = _mm256_or_si256(low, _mm256_cmpeq_epi8(x, vdel));
        ctl |= (uint32_t)_mm256_movemask_epi8(low) & ~h;
    }
    c->fs += fs, c->rs += rs, c->cs += cs, c->ss += ss, c->term += term;
    c->hi |= hi != 0;
    c->ctl |= ctl != 0;
    count_scalar(p, end, d, c);
}
#endif

/* 0 = unknown yet, 1 = SSE2/scalar, 2 = AVX2 */
static int isa_level;

static int isa(void)
{
    int l = __atomic_load_n(&isa_level, __ATOMIC_RELAXED);
    if (l) return l;
#ifdef HL7V2_X86
    __builtin_cpu_init();
    l = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt") ? 2 : 1;
#else
    l = 1;
#endif
    __atomic_store_n(&isa_level, l, __ATOMIC_RELAXED);
    return l;
}

static void count_all(const char *p, const char *end, const struct cw_hl7v2_delims *d,
                      struct counts *c)
{
    memset(c, 0, sizeof *c);
#ifdef HL7V2_X86
    if (isa() == 2)
        count_avx2(p, end, d, c);
    else
        count_sse2(p, end, d, c);
#else
    count_scalar(p, end, d, c);
#endif
}

/* ------------------------------------------------------------------ */
/* Pass 2: build                                                       */
/* ------------------------------------------------------------------ */

enum { C_NONE = 0, C_FIELD, C_COMP, C_REP, C_SUB, C_ESC, C_CR, C_LF };

struct pst {
    struct cw_hl7v2_node *segs, *segp;
    struct cw_hl7v2_node *fldp, *repp, *cmpp, *subp;
    const char *seg_start, *f_start, *r_start, *c_start, *s_start;
    uint32_t nfld, nrep, ncmp, nsub;
    uint8_t fflags, rflags, cflags, sflags;
    bool field_open;
    const char *esc_at;  /* inside an escape sequence that started here */
    const char *skip_lf; /* the LF of a CRLF pair */
    const char *end;
    uint32_t blank_pending;
    uint32_t max_fields, max_reps, max_comps, max_segs;
    bool strict;
    struct cw_arena *a;
    struct cw_hl7v2_msg *m;
    const struct cw_hl7v2_delims *d;
    struct cw_err *err;
};

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define INLINE static inline __attribute__((always_inline))

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

INLINE int emit_sub(struct pst *st, const char *pos)
{
    struct cw_hl7v2_node *n = st->subp++;
    n->ptr = st->s_start;
    n->len = (uint32_t)(pos - st->s_start);
    n->n = 0;
    n->kind = 0;
    n->flags = st->sflags;
    n->kids = NULL;
    st->sflags = 0;
    if (UNLIKELY(++st->nsub > st->max_comps)) return limit_fail(st, "subcomponents", st->max_comps);
    return 0;
}

INLINE int close_comp(struct pst *st, const char *pos)
{
    struct cw_hl7v2_node *n = st->cmpp++;
    n->ptr = st->c_start;
    n->len = (uint32_t)(pos - st->c_start);
    n->flags = st->cflags;
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
    st->cflags = 0;
    if (UNLIKELY(++st->ncmp > st->max_comps)) return limit_fail(st, "components", st->max_comps);
    return 0;
}

/* Finish the components of the open repetition into out->n/kind/kids. */
INLINE int finish_rep(struct pst *st, const char *pos, struct cw_hl7v2_node *out)
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
    st->cflags = st->sflags = 0;
    return 0;
}

INLINE int close_rep(struct pst *st, const char *pos)
{
    struct cw_hl7v2_node *n = st->repp++;
    n->ptr = st->r_start;
    n->len = (uint32_t)(pos - st->r_start);
    n->flags = st->rflags;
    if (finish_rep(st, pos, n) < 0) return -1;
    st->rflags = 0;
    if (UNLIKELY(++st->nrep > st->max_reps)) return limit_fail(st, "repetitions", st->max_reps);
    return 0;
}

INLINE int close_field(struct pst *st, const char *pos)
{
    struct cw_hl7v2_node *n = st->fldp++;
    n->ptr = st->f_start;
    n->len = (uint32_t)(pos - st->f_start);
    n->flags = st->fflags;
    if (st->nrep) {
        if (close_rep(st, pos) < 0) return -1;
        n->n = (uint16_t)st->nrep;
        n->kind = CW_HL7V2_REP;
        n->kids = st->repp - st->nrep;
        st->nrep = 0;
    } else if (finish_rep(st, pos, n) < 0) {
        return -1;
    }
    st->fflags = st->rflags = 0;
    if (UNLIKELY(++st->nfld > st->max_fields)) return limit_fail(st, "fields", st->max_fields);
    return 0;
}

static bool strip_byte(unsigned char c)
{
    return c == ' ' || c == '\t' || c == 0x0b || c == 0x0c || c == 0x1c;
}

/*
 * The segment ID (field 0) was just closed; 'at_end' when the segment ended
 * with it. Returns -1 on error, 1 when the "segment" is a blank line (the ID
 * node was taken back), 0 otherwise.
 */
static int check_id(struct pst *st, bool at_end)
{
    struct cw_hl7v2_node *idn = st->fldp - 1;
    cw_slice id = {idn->ptr, idn->len};
    size_t lead = 0;
    while (lead < id.len && strip_byte((unsigned char)id.ptr[lead])) lead++;
    if (lead && lead == id.len && at_end && idn->n == 0) {
        /* whitespace-only line */
        st->fldp--;
        st->nfld = 0;
        return 1;
    }
    if (lead) {
        if (irregular(st, true, CW_V2_SEGMENT_SEQUENCE, CW_ISSUE_STRUCTURE,
                      "segment %u starts with %zu space or framing byte(s)",
                      (unsigned)(st->segp - st->segs) + 1, lead) < 0)
            return -1;
        if (idn->n == 0) {
            idn->ptr += lead;
            idn->len -= (uint32_t)lead;
            st->seg_start += lead;
            id = (cw_slice){idn->ptr, idn->len};
        }
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

INLINE void reset_starts(struct pst *st, const char *p)
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
        if (st->nfld == 1) {
            int r = check_id(st, true);
            if (r < 0) return -1;
            if (r == 1) {
                st->blank_pending++;
                return 0;
            }
        }
    }
    if (UNLIKELY((uint32_t)(st->segp - st->segs) >= st->max_segs)) {
        hl7v2_fail(st->err, CW_V2_INTERNAL, CW_ISSUE_TOO_COSTLY, "", "more than %u segments",
                   st->max_segs);
        return -1;
    }
    struct cw_hl7v2_node *s = st->segp++;
    s->ptr = st->seg_start;
    s->len = (uint32_t)(pos - st->seg_start);
    s->n = (uint16_t)st->nfld;
    s->kind = CW_HL7V2_FIELD;
    s->flags = term;
    s->kids = st->fldp - st->nfld;
    st->nfld = 0;
    st->field_open = true;
    return 0;
}

static int escape_seen(struct pst *st, const char *q)
{
    if (!st->esc_at) {
        st->esc_at = q;
        st->fflags |= CW_HL7V2_NODE_ESC;
        st->rflags |= CW_HL7V2_NODE_ESC;
        st->cflags |= CW_HL7V2_NODE_ESC;
        st->sflags |= CW_HL7V2_NODE_ESC;
        return 0;
    }
    const char *s = st->esc_at + 1;
    st->esc_at = NULL;
    if (LIKELY(hl7v2_escape_valid(s, (size_t)(q - s), st->d))) return 0;
    return irregular(st, false, CW_V2_DATA_TYPE, CW_ISSUE_VALUE,
                     "unknown or malformed escape sequence (%zu bytes)", (size_t)(q - s));
}

static int escape_unterminated(struct pst *st)
{
    st->esc_at = NULL;
    return irregular(st, false, CW_V2_DATA_TYPE, CW_ISSUE_VALUE,
                     "escape sequence not closed before the next delimiter");
}

/* Handle one delimiter at q of class cls. Returns -1 on error. */
INLINE int step(struct pst *st, const char *q, int cls)
{
    switch (cls) {
    case C_FIELD:
        if (UNLIKELY(st->esc_at != NULL) && escape_unterminated(st) < 0) return -1;
        if (close_field(st, q) < 0) return -1;
        if (UNLIKELY(st->nfld == 1) && check_id(st, false) < 0) return -1;
        reset_starts(st, q + 1);
        return 0;
    case C_COMP:
        if (UNLIKELY(st->esc_at != NULL) && escape_unterminated(st) < 0) return -1;
        if (close_comp(st, q) < 0) return -1;
        st->c_start = st->s_start = q + 1;
        st->sflags = 0;
        return 0;
    case C_REP:
        if (UNLIKELY(st->esc_at != NULL) && escape_unterminated(st) < 0) return -1;
        if (close_rep(st, q) < 0) return -1;
        st->r_start = st->c_start = st->s_start = q + 1;
        return 0;
    case C_SUB:
        if (UNLIKELY(st->esc_at != NULL) && escape_unterminated(st) < 0) return -1;
        if (emit_sub(st, q) < 0) return -1;
        st->s_start = q + 1;
        return 0;
    case C_ESC:
        return escape_seen(st, q);
    case C_CR: {
        if (UNLIKELY(st->esc_at != NULL) && escape_unterminated(st) < 0) return -1;
        uint8_t term = CW_HL7V2_TERM_CR;
        const char *next = q + 1;
        if (next < st->end && *next == '\n') {
            term = CW_HL7V2_TERM_CRLF;
            st->skip_lf = next;
            next++;
        }
        if (end_segment(st, q, term) < 0) return -1;
        st->seg_start = next;
        reset_starts(st, next);
        return 0;
    }
    case C_LF:
        if (q == st->skip_lf) return 0;
        if (UNLIKELY(st->esc_at != NULL) && escape_unterminated(st) < 0) return -1;
        if (end_segment(st, q, CW_HL7V2_TERM_LF) < 0) return -1;
        st->seg_start = q + 1;
        reset_starts(st, q + 1);
        return 0;
    default:
        return 0;
    }
}

/* Delimiter characters; absent ones repeat CR so they add no matches. */
struct vdel {
    char c[7];
};

static inline uint64_t mask_scalar(const char *p, const struct vdel *v)
{
    uint64_t m = 0;
    for (int i = 0; i < 64; i++) {
        char x = p[i];
        bool hit = false;
        for (int k = 0; k < 7; k++) hit |= x == v->c[k];
        m |= (uint64_t)hit << i;
    }
    return m;
}

#ifdef HL7V2_X86
static inline __attribute__((always_inline)) uint64_t mask_sse2(const char *p, const struct vdel *v)
{
    uint64_t m = 0;
    for (int b = 0; b < 4; b++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * b));
        __m128i r = _mm_cmpeq_epi8(x, _mm_set1_epi8(v->c[0]));
        for (int k = 1; k < 7; k++) r = _mm_or_si128(r, _mm_cmpeq_epi8(x, _mm_set1_epi8(v->c[k])));
        m |= (uint64_t)(uint16_t)_mm_movemask_epi8(r) << (16 * b);
    }
    return m;
}

static inline __attribute__((always_inline, target("avx2"))) uint64_t
mask_avx2(const char *p, const struct vdel *v)
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
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(r0) |
           ((uint64_t)(uint32_t)_mm256_movemask_epi8(r1) << 32);
}
#endif

/*
 * The build loop, instantiated once per instruction set so that the mask
 * function is inlined.
 */
INLINE int scan(struct pst *st, const char *p, const char *end, const uint8_t *cls,
                const struct vdel *v, uint64_t (*mask)(const char *, const struct vdel *))
{
    while (p < end) {
        uint64_t m;
        size_t avail = (size_t)(end - p);
        if (LIKELY(avail >= 64)) {
            m = mask(p, v);
        } else {
            char tail[64];
            memcpy(tail, p, avail);
            memset(tail + avail, 0, 64 - avail); /* NUL is never a delimiter */
            m = mask(tail, v);
            m &= avail == 64 ? ~(uint64_t)0 : (((uint64_t)1 << avail) - 1);
        }
        while (m) {
            const char *q = p + __builtin_ctzll(m);
            m &= m - 1;
            if (UNLIKELY(step(st, q, cls[(unsigned char)*q]) < 0)) return -1;
        }
        p += 64;
    }
    return 0;
}

static int scan_generic(struct pst *st, const char *p, const char *end, const uint8_t *cls,
                        const struct vdel *v)
{
#ifdef HL7V2_X86
    return scan(st, p, end, cls, v, mask_sse2);
#else
    return scan(st, p, end, cls, v, mask_scalar);
#endif
}

#ifdef HL7V2_X86
__attribute__((target("avx2"))) static int scan_avx2(struct pst *st, const char *p,
                                                     const char *end, const uint8_t *cls,
                                                     const struct vdel *v)
{
    return scan(st, p, end, cls, v, mask_avx2);
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
        {"ASCII", CW_HL7V2_CS_ASCII},         {"US-ASCII", CW_HL7V2_CS_ASCII},
        {"ISO IR6", CW_HL7V2_CS_ASCII},       {"8859/1", CW_HL7V2_CS_LATIN1},
        {"ISO IR100", CW_HL7V2_CS_LATIN1},    {"ISO-8859-1", CW_HL7V2_CS_LATIN1},
        {"ISO8859-1", CW_HL7V2_CS_LATIN1},    {"8859/15", CW_HL7V2_CS_LATIN9},
        {"ISO-8859-15", CW_HL7V2_CS_LATIN9},  {"UNICODE UTF-8", CW_HL7V2_CS_UTF8},
        {"UTF-8", CW_HL7V2_CS_UTF8},          {"UTF8", CW_HL7V2_CS_UTF8},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (cw_slice_eq_nocase(name, cw_slice_cstr(names[i].name))) return names[i].cs;
    return CW_HL7V2_CS_OTHER;
}

size_t hl7v2_utf8_valid_prefix(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) need = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef) need = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4) need = 3, cp = c & 0x07;
        else return i;
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
static int check_bytes(struct cw_arena *a, struct cw_hl7v2_msg *m, const struct counts *c,
                       bool strict, struct cw_err *err)
{
    char loc[CW_ERR_LOCATION_MAX];
    if (c->ctl) {
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
                                      "control character 0x%02x in the text",
                                      (unsigned char)*hit);
                hl7v2_warn(a, m, CW_V2_DATA_TYPE, CW_ISSUE_VALUE, loc,
                           "control character 0x%02x in the text", (unsigned char)*hit);
                break;
            }
        }
    }
    m->ascii = !c->hi;
    m->utf8 = true;
    if (!c->hi) return 0;
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
            for (uint32_t k = 0; k < s->len; k++)
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

    /* Pass 1 over everything after MSH-2. */
    const char *body = p + 4 + enc_len;
    struct counts c;
    count_all(body, end, &d, &c);
    size_t nseg = c.term + 2, nfld = c.fs + nseg + 3;
    struct pst st = {0};
    st.segs = st.segp = cw_arena_array(a, nseg, sizeof(struct cw_hl7v2_node));
    st.fldp = cw_arena_array(a, nfld, sizeof(struct cw_hl7v2_node));
    st.repp = cw_arena_array(a, 2 * c.rs + 1, sizeof(struct cw_hl7v2_node));
    st.cmpp = cw_arena_array(a, 2 * c.cs + 1, sizeof(struct cw_hl7v2_node));
    st.subp = cw_arena_array(a, 2 * c.ss + 1, sizeof(struct cw_hl7v2_node));
    if (!st.segs || !st.fldp || !st.repp || !st.cmpp || !st.subp) return oom(err);
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
    uint8_t cls[256] = {0};
    struct vdel v;
    const char chars[7] = {d.field, d.comp, d.rep, d.sub, d.esc, '\r', '\n'};
    const uint8_t classes[7] = {C_FIELD, C_COMP, C_REP, C_SUB, C_ESC, C_CR, C_LF};
    for (int k = 0; k < 7; k++) {
        v.c[k] = chars[k] ? chars[k] : '\r';
        if (chars[k]) cls[(unsigned char)chars[k]] = classes[k];
    }
    int rc;
#ifdef HL7V2_X86
    if (isa() == 2)
        rc = scan_avx2(&st, body, end, cls, &v);
    else
#endif
        rc = scan_generic(&st, body, end, cls, &v);
    if (rc < 0) return -1;
    if (st.esc_at && escape_unterminated(&st) < 0) return -1;
    /* The last segment, unless the input ended with a terminator. */
    if (!st.field_open || st.nfld > 0 || st.f_start < end) {
        if (end_segment(&st, end, CW_HL7V2_TERM_NONE) < 0) return -1;
    }
    m->segs = st.segs;
    m->nsegs = (uint32_t)(st.segp - st.segs);

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
    if (check_bytes(a, m, &c, strict, err) < 0) return -1;
    if (cw_arena_exceeded(a)) return oom(err);
    *out = m;
    return 0;
}
