/*
 * json_parse.c — RFC 8259 parser into an arena DOM (cw_json_parse).
 *
 * Owns: nothing after return. The tree lives in the caller's arena; strings
 * without escapes and all number texts point into the caller's input.
 *
 * Spec: RFC 8259 (grammar sections 2-7; section 8.1 UTF-8 and the optional
 * byte order mark), RFC 3629 section 4 (well-formed UTF-8), RFC 8259 section
 * 7 + Unicode 3.9 D91 for \u escapes (a high surrogate must be followed by a
 * low one, and a low one may not stand alone). Duplicate keys: RFC 8259
 * section 4 only says names SHOULD be unique, so plain mode accepts them
 * (JSONTestSuite lists them as y_) and CW_JSON_STRICT rejects them, as FHIR
 * R4 json.html requires.
 *
 * How it works (see docs/internals/json.md):
 *  - No recursion. One loop with three states (value, key, after-value)
 *    and an explicit stack of open containers ("frames").
 *  - Children are collected on a scratch stack of 16-byte units (a value is
 *    one unit, an object member two: key slice then value). When a
 *    container closes, its children are copied into the arena in one block
 *    and the scratch space is reused. A container's own node sits in the
 *    unit just below its first child (its "slot"), so closing fills it in
 *    place. Object members are laid out exactly like struct cw_json_member.
 *  - Scratch and frames start in storage on the C stack and move to the
 *    heap only for wide or deep documents. Scratch never grows beyond what
 *    the arena could still take (everything on it ends up in the arena), so
 *    a huge flat array fails early with "too-costly" instead of exhausting
 *    the heap.
 *  - Fast paths: whitespace and string bodies are scanned 16 bytes at a
 *    time with SSE2; ASCII needs no UTF-8 work; strings without escapes are
 *    not copied; numbers are only checked against the grammar.
 *
 * Invariants: never reads at or past p + n; every byte of a string is
 * checked (UTF-8 and control characters) before the tree is handed out;
 * line and column are computed only after an error.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_int.h"

union unit {
    struct cw_json v;
    cw_slice k;
};

#define INLINE_UNITS  512 /* 8 KiB of scratch on the C stack */
#define INLINE_FRAMES 64
#define SMALL_OBJECT  16 /* up to this many members, duplicates are found pairwise */

struct parser {
    const char *begin;
    const char *end;
    struct cw_arena *a;
    struct cw_err *err;
    unsigned flags;
    unsigned max_depth;
    const char *err_at; /* where the error was found */
    union unit *units;  /* scratch stack */
    size_t ucap;
    size_t *frames; /* index of each open container's first child */
    size_t fcap;
    char *sb; /* decode buffer for strings with escapes */
    size_t scap;
    union unit units_inline[INLINE_UNITS];
    size_t frames_inline[INLINE_FRAMES];
};

/* Bytes that end the fast scan of a string body: '"', '\\', controls, non-ASCII. */
static inline bool string_stop(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
}

static inline bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline bool is_digit(unsigned char c)
{
    return (unsigned)(c - '0') < 10;
}

static int fail(struct parser *P, const char *at, enum cw_issue issue, const char *msg)
{
    P->err_at = at;
    cw_err_set(P->err, issue, "%s", msg);
    return -1;
}

static int fail_arena(struct parser *P, const char *at)
{
    return fail(P, at, CW_ISSUE_TOO_COSTLY, "memory limit reached while parsing (arena ceiling)");
}

/* Bytes the arena can still hand out; scratch never needs more than this. */
static inline size_t arena_room(const struct cw_arena *a)
{
    return a->limit - a->used;
}

/* ---- scanners ---- */

/*
 * Whitespace at p..: first non-whitespace byte or end. RFC 8259 section 2.
 * Pretty-printed input (most FHIR files) separates tokens by a newline and
 * an indentation of spaces, so that case is tried first with a single
 * compare per 16 bytes; anything else takes the general 4-way classifier.
 */
static const char *skip_ws_slow(const char *p, const char *end)
{
#ifdef CW_JSON_SSE2
    if (end - p >= 17 && *p == '\n') {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' '))) ^ 0xFFFFu;
        if (m) {
            const char *q = p + 1 + __builtin_ctz(m);
            if ((unsigned char)*q > ' ') return q;
            p = q;
        } else {
            p += 17;
        }
    }
    const __m128i sp = _mm_set1_epi8(' '), nl = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r'), tab = _mm_set1_epi8('\t');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, sp), _mm_cmpeq_epi8(v, nl)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, tab)));
        unsigned mask = (unsigned)_mm_movemask_epi8(m) ^ 0xFFFFu;
        if (mask) return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end && is_ws((unsigned char)*p)) p++;
    return p;
}

static inline const char *skip_ws(const char *p, const char *end)
{
    if (CW_LIKELY(p < end && (unsigned char)*p > ' ')) return p;
    return skip_ws_slow(p, end);
}

/* First byte at p.. that is '"', '\\', a control character or non-ASCII. */
static inline const char *scan_plain(const char *p, const char *end)
{
#ifdef CW_JSON_SSE2
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i ctl = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* Signed compare: < 0x20 catches controls and, as negative bytes,
           everything >= 0x80 in one instruction. */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, ctl));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask) return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end && !string_stop((unsigned char)*p)) p++;
    return p;
}

/* Four hex digits at p (caller checked they are in bounds); -1 if not hex. */
static inline long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = (unsigned char)p[i];
        unsigned d;
        if (c - '0' < 10)
            d = c - '0';
        else if ((c | 0x20) - 'a' < 6)
            d = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v * 16 + (long)d;
    }
    return v;
}

static int sb_reserve(struct parser *P, size_t used, size_t more, const char *at)
{
    if (more <= P->scap - used) return 0;
    size_t need = used + more;
    if (need > arena_room(P->a)) return fail_arena(P, at);
    size_t cap = P->scap ? P->scap : 256;
    while (cap < need) cap *= 2;
    char *nb = realloc(P->sb, cap);
    if (!nb) return fail(P, at, CW_ISSUE_TOO_COSTLY, "out of memory while parsing");
    P->sb = nb;
    P->scap = cap;
    return 0;
}

/*
 * The rest of a string that has escapes. s is the start of its content, p
 * the first backslash; [s, p) is already validated. Decodes into P->sb,
 * then copies the result into the arena. Returns the byte after the closing
 * quote, or NULL (error set).
 */
static const char *decode_string(struct parser *P, const char *s, const char *p,
                                 struct cw_json *node)
{
    const char *end = P->end;
    size_t len = (size_t)(p - s);
    if (sb_reserve(P, 0, len + 16, p) < 0) return NULL;
    memcpy(P->sb, s, len);
    for (;;) {
        const char *q = scan_plain(p, end);
        if (q != p) {
            if (sb_reserve(P, len, (size_t)(q - p), q) < 0) return NULL;
            memcpy(P->sb + len, p, (size_t)(q - p));
            len += (size_t)(q - p);
            p = q;
        }
        if (p == end) {
            fail(P, s - 1, CW_ISSUE_STRUCTURE, "unterminated string");
            return NULL;
        }
        unsigned char c = (unsigned char)*p;
        if (c == '"') break;
        if (c >= 0x80) {
            size_t k = cw_json_utf8_seq((const unsigned char *)p, (const unsigned char *)end);
            if (!k) {
                fail(P, p, CW_ISSUE_STRUCTURE, "invalid UTF-8 in string");
                return NULL;
            }
            if (sb_reserve(P, len, k, p) < 0) return NULL;
            memcpy(P->sb + len, p, k);
            len += k;
            p += k;
            continue;
        }
        if (c != '\\') {
            fail(P, p, CW_ISSUE_STRUCTURE, "control character in string (must be escaped)");
            return NULL;
        }
        /* An escape yields at most 4 bytes from at least 2 (6 for \u). */
        if (sb_reserve(P, len, 4, p) < 0) return NULL;
        if (end - p < 2) {
            fail(P, s - 1, CW_ISSUE_STRUCTURE, "unterminated string");
            return NULL;
        }
        char e = p[1];
        char *o = P->sb + len;
        switch (e) {
        case '"':
            *o = '"';
            break;
        case '\\':
            *o = '\\';
            break;
        case '/':
            *o = '/';
            break;
        case 'b':
            *o = '\b';
            break;
        case 'f':
            *o = '\f';
            break;
        case 'n':
            *o = '\n';
            break;
        case 'r':
            *o = '\r';
            break;
        case 't':
            *o = '\t';
            break;
        case 'u': {
            if (end - p < 6) {
                fail(P, p, CW_ISSUE_STRUCTURE, "incomplete \\u escape");
                return NULL;
            }
            long cp = hex4(p + 2);
            if (cp < 0) {
                fail(P, p, CW_ISSUE_STRUCTURE, "invalid \\u escape (needs four hex digits)");
                return NULL;
            }
            const char *at = p;
            p += 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                fail(P, at, CW_ISSUE_STRUCTURE, "unpaired UTF-16 surrogate in \\u escape");
                return NULL;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                long lo = -1;
                if (end - p >= 6 && p[0] == '\\' && p[1] == 'u') lo = hex4(p + 2);
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    fail(P, at, CW_ISSUE_STRUCTURE, "unpaired UTF-16 surrogate in \\u escape");
                    return NULL;
                }
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp < 0x80) {
                o[0] = (char)cp;
                len += 1;
            } else if (cp < 0x800) {
                o[0] = (char)(0xC0 | (cp >> 6));
                o[1] = (char)(0x80 | (cp & 0x3F));
                len += 2;
            } else if (cp < 0x10000) {
                o[0] = (char)(0xE0 | (cp >> 12));
                o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                o[2] = (char)(0x80 | (cp & 0x3F));
                len += 3;
            } else {
                o[0] = (char)(0xF0 | (cp >> 18));
                o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
                o[3] = (char)(0x80 | (cp & 0x3F));
                len += 4;
            }
            continue;
        }
        default:
            fail(P, p, CW_ISSUE_STRUCTURE, "invalid escape sequence in string");
            return NULL;
        }
        len += 1;
        p += 2;
    }
    char *d = cw_arena_alloc_bytes(P->a, len);
    if (!d) {
        fail_arena(P, p);
        return NULL;
    }
    if (len) memcpy(d, P->sb, len);
    node->type = CW_JSON_STRING;
    node->flags = CW_JSON_F_ESCAPED;
    node->reserved = 0;
    node->len = (uint32_t)len;
    node->u.str = d;
    return p + 1;
}

/*
 * A string whose opening quote is at p[-1]. Fills node (type string) and
 * returns the byte after the closing quote, or NULL (error set).
 */
static inline const char *scan_string(struct parser *P, const char *p, struct cw_json *node)
{
    const char *s = p, *end = P->end;
    for (;;) {
        p = scan_plain(p, end);
        if (CW_UNLIKELY(p == end)) {
            fail(P, s - 1, CW_ISSUE_STRUCTURE, "unterminated string");
            return NULL;
        }
        unsigned char c = (unsigned char)*p;
        if (CW_LIKELY(c == '"')) {
            node->type = CW_JSON_STRING;
            node->flags = 0;
            node->reserved = 0;
            node->len = (uint32_t)(p - s);
            node->u.str = s;
            return p + 1;
        }
        if (c >= 0x80) {
            size_t k = cw_json_utf8_seq((const unsigned char *)p, (const unsigned char *)end);
            if (!k) {
                fail(P, p, CW_ISSUE_STRUCTURE, "invalid UTF-8 in string");
                return NULL;
            }
            p += k;
            continue;
        }
        if (c == '\\') return decode_string(P, s, p, node);
        fail(P, p, CW_ISSUE_STRUCTURE, "control character in string (must be escaped)");
        return NULL;
    }
}

/*
 * A number starting at p (a '-' or a digit). RFC 8259 section 6:
 *   number = [ minus ] int [ frac ] [ exp ];  int = zero / ( digit1-9 *DIGIT )
 * Returns the byte after it, or NULL with *bad at the offending byte.
 */
static inline const char *scan_number(const char *p, const char *end, const char **bad)
{
    if (*p == '-') {
        p++;
        if (p == end || !is_digit((unsigned char)*p)) goto bad;
    }
    if (*p == '0') {
        p++;
    } else {
        p++;
        while (p < end && is_digit((unsigned char)*p)) p++;
    }
    if (p < end && *p == '.') {
        p++;
        if (p == end || !is_digit((unsigned char)*p)) goto bad;
        p++;
        while (p < end && is_digit((unsigned char)*p)) p++;
    }
    if (p < end && (*p | 0x20) == 'e') {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p == end || !is_digit((unsigned char)*p)) goto bad;
        p++;
        while (p < end && is_digit((unsigned char)*p)) p++;
    }
    return p;
bad:
    *bad = p;
    return NULL;
}

/* ---- growth of the scratch and frame stacks ---- */

static int grow_units(struct parser *P, size_t need, const char *at)
{
    if (need > arena_room(P->a) / sizeof(union unit)) return fail_arena(P, at);
    size_t cap = P->ucap * 2;
    while (cap < need) cap *= 2;
    union unit *nu;
    if (P->units == P->units_inline) {
        nu = malloc(cap * sizeof *nu);
        if (nu) memcpy(nu, P->units, P->ucap * sizeof *nu);
    } else {
        nu = realloc(P->units, cap * sizeof *nu);
    }
    if (!nu) return fail(P, at, CW_ISSUE_TOO_COSTLY, "out of memory while parsing");
    P->units = nu;
    P->ucap = cap;
    return 0;
}

static int grow_frames(struct parser *P, const char *at)
{
    size_t cap = P->fcap * 2;
    size_t *nf;
    if (P->frames == P->frames_inline) {
        nf = malloc(cap * sizeof *nf);
        if (nf) memcpy(nf, P->frames, P->fcap * sizeof *nf);
    } else {
        nf = realloc(P->frames, cap * sizeof *nf);
    }
    if (!nf) return fail(P, at, CW_ISSUE_TOO_COSTLY, "out of memory while parsing");
    P->frames = nf;
    P->fcap = cap;
    return 0;
}

/* ---- duplicate keys (strict mode) ---- */

struct key_ref {
    const cw_slice *key;
    size_t index;
};

static int cmp_key_ref(const void *x, const void *y)
{
    const struct key_ref *a = x, *b = y;
    if (a->key->len != b->key->len) return a->key->len < b->key->len ? -1 : 1;
    int c = a->key->len ? memcmp(a->key->ptr, b->key->ptr, a->key->len) : 0;
    if (c) return c;
    return a->index < b->index ? -1 : a->index > b->index;
}

static inline bool key_eq(const cw_slice *a, const cw_slice *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

/* Where to point an error about key k: its opening quote when it is in the
 * input (unescaped), else the object's closing brace. */
static const char *key_pos(const struct parser *P, const cw_slice *k, const char *close_at)
{
    uintptr_t kp = (uintptr_t)k->ptr;
    if (kp > (uintptr_t)P->begin && kp < (uintptr_t)P->end) return k->ptr - 1;
    return close_at;
}

/*
 * Reject an object whose members (cnt of them, two units each, at m) repeat
 * a key. Small objects compare pairwise; big ones sort key references so
 * the cost stays O(n log n) whatever the keys are (no hash to attack).
 */
static int check_duplicates(struct parser *P, const union unit *m, size_t cnt, const char *close_at)
{
    if (cnt <= SMALL_OBJECT) {
        for (size_t j = 1; j < cnt; j++)
            for (size_t i = 0; i < j; i++)
                if (key_eq(&m[2 * i].k, &m[2 * j].k))
                    return fail(P, key_pos(P, &m[2 * j].k, close_at), CW_ISSUE_DUPLICATE,
                                "duplicate key in object");
        return 0;
    }
    struct key_ref *refs = malloc(cnt * sizeof *refs);
    if (!refs) return fail(P, close_at, CW_ISSUE_TOO_COSTLY, "out of memory while parsing");
    for (size_t i = 0; i < cnt; i++) refs[i] = (struct key_ref){&m[2 * i].k, i};
    qsort(refs, cnt, sizeof *refs, cmp_key_ref);
    /* Report the earliest second occurrence, as the pairwise scan does:
       equal keys sort by index, so every element after the first of a run
       is a repeat, and the smallest such index wins. */
    size_t first_dup = SIZE_MAX;
    for (size_t i = 1; i < cnt; i++)
        if (key_eq(refs[i - 1].key, refs[i].key) && refs[i].index < first_dup)
            first_dup = refs[i].index;
    free(refs);
    if (first_dup != SIZE_MAX)
        return fail(P, key_pos(P, &m[2 * first_dup].k, close_at), CW_ISSUE_DUPLICATE,
                    "duplicate key in object");
    return 0;
}

/* ---- the parser loop ---- */

static int parse(struct parser *P, struct cw_json **out)
{
    const char *p = P->begin, *end = P->end;
    struct cw_arena *a = P->a;
    union unit *u = P->units;
    size_t top = 0, depth = 0;
    unsigned ctype = 0; /* type of the innermost open container */
    const char *bad;

    if (end - p >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF) {
        if (!(P->flags & CW_JSON_ALLOW_BOM))
            return fail(P, p, CW_ISSUE_STRUCTURE,
                        "byte order mark at start of input (not allowed in this mode)");
        p += 3;
    }

value:
    p = skip_ws(p, end);
    if (CW_UNLIKELY(top + 2 > P->ucap)) {
        if (grow_units(P, top + 2, p) < 0) return -1;
        u = P->units;
    }
    if (CW_UNLIKELY(p == end))
        return fail(P, p, CW_ISSUE_STRUCTURE, "unexpected end of input, expected a value");
    switch (*p) {
    case '"':
        p = scan_string(P, p + 1, &u[top].v);
        if (CW_UNLIKELY(!p)) return -1;
        top++;
        goto after_value;
    case '{':
    case '[': {
        unsigned t = *p == '{' ? CW_JSON_OBJECT : CW_JSON_ARRAY;
        if (CW_UNLIKELY(depth >= P->max_depth))
            return fail(P, p, CW_ISSUE_TOO_COSTLY, "nesting too deep (depth limit)");
        u[top].v = (struct cw_json){
            .type = (uint8_t)t, .flags = t == CW_JSON_OBJECT ? CW_JSON_F_NOEXT : 0, .len = 0};
        const char *q = skip_ws(p + 1, end);
        if (q < end && *q == (t == CW_JSON_OBJECT ? '}' : ']')) {
            top++; /* empty container: nothing to collect */
            p = q + 1;
            goto after_value;
        }
        if (CW_UNLIKELY(depth == P->fcap) && grow_frames(P, p) < 0) return -1;
        top++;
        P->frames[depth++] = top;
        ctype = t;
        p = q;
        if (t == CW_JSON_ARRAY) goto value;
        goto key;
    }
    case 't':
        if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
            u[top++].v = (struct cw_json){.type = CW_JSON_TRUE};
            p += 4;
            goto after_value;
        }
        return fail(P, p, CW_ISSUE_STRUCTURE, "invalid literal (expected true)");
    case 'f':
        if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
            u[top++].v = (struct cw_json){.type = CW_JSON_FALSE};
            p += 5;
            goto after_value;
        }
        return fail(P, p, CW_ISSUE_STRUCTURE, "invalid literal (expected false)");
    case 'n':
        if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
            u[top++].v = (struct cw_json){.type = CW_JSON_NULL};
            p += 4;
            goto after_value;
        }
        return fail(P, p, CW_ISSUE_STRUCTURE, "invalid literal (expected null)");
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9': {
        const char *q = scan_number(p, end, &bad);
        if (CW_UNLIKELY(!q)) return fail(P, bad, CW_ISSUE_STRUCTURE, "invalid number");
        u[top++].v = (struct cw_json){.type = CW_JSON_NUMBER, .len = (uint32_t)(q - p), .u.str = p};
        p = q;
        goto after_value;
    }
    case ']':
        if (ctype == CW_JSON_ARRAY)
            return fail(P, p, CW_ISSUE_STRUCTURE, "expected a value after ',' in array");
        return fail(P, p, CW_ISSUE_STRUCTURE, "unexpected ']', expected a value");
    default:
        return fail(P, p, CW_ISSUE_STRUCTURE, "unexpected character, expected a value");
    }

key:
    /* p is at the first non-blank byte where a member must start. */
    if (CW_UNLIKELY(top + 2 > P->ucap)) {
        if (grow_units(P, top + 2, p) < 0) return -1;
        u = P->units;
    }
    if (CW_UNLIKELY(p == end || *p != '"')) {
        if (p == end) return fail(P, p, CW_ISSUE_STRUCTURE, "unexpected end of input in object");
        return fail(P, p, CW_ISSUE_STRUCTURE, "expected a string key in object");
    }
    {
        struct cw_json kn;
        p = scan_string(P, p + 1, &kn);
        if (CW_UNLIKELY(!p)) return -1;
        u[top++].k = (cw_slice){kn.u.str, kn.len};
        if (kn.len && kn.u.str[0] == '_') /* the object's node sits below its first unit */
            u[P->frames[depth - 1] - 1].v.flags &= (uint8_t)~CW_JSON_F_NOEXT;
    }
    p = skip_ws(p, end);
    if (CW_UNLIKELY(p == end || *p != ':'))
        return fail(P, p, CW_ISSUE_STRUCTURE, "expected ':' after object key");
    p++;
    goto value;

after_value:
    if (CW_UNLIKELY(depth == 0)) goto finish;
    p = skip_ws(p, end);
    if (CW_UNLIKELY(p == end))
        return fail(P, p, CW_ISSUE_STRUCTURE,
                    ctype == CW_JSON_ARRAY ? "unexpected end of input in array"
                                           : "unexpected end of input in object");
    if (ctype == CW_JSON_OBJECT) {
        if (CW_LIKELY(*p == ',')) {
            p = skip_ws(p + 1, end);
            goto key;
        }
        if (CW_LIKELY(*p == '}')) goto close;
        return fail(P, p, CW_ISSUE_STRUCTURE, "expected ',' or '}' after object member");
    }
    if (CW_LIKELY(*p == ',')) {
        p++;
        goto value;
    }
    if (CW_LIKELY(*p == ']')) goto close;
    return fail(P, p, CW_ISSUE_STRUCTURE, "expected ',' or ']' after array element");

close : {
    /* p is at the closing bracket. */
    size_t start = P->frames[--depth];
    size_t cnt = top - start;
    struct cw_json *node = &u[start - 1].v;
    void *block = cw_arena_alloc(a, cnt * sizeof(union unit));
    if (CW_UNLIKELY(!block)) return fail_arena(P, p);
    if (ctype == CW_JSON_OBJECT) {
        if ((P->flags & CW_JSON_STRICT) && check_duplicates(P, u + start, cnt / 2, p) < 0)
            return -1;
        node->len = (uint32_t)(cnt / 2);
    } else {
        node->len = (uint32_t)cnt;
    }
    memcpy(block, u + start, cnt * sizeof(union unit));
    node->u.items = block;
    top = start;
    ctype = depth ? u[P->frames[depth - 1] - 1].v.type : 0;
    p++;
    goto after_value;
}

finish:
    p = skip_ws(p, end);
    if (p != end) return fail(P, p, CW_ISSUE_STRUCTURE, "unexpected data after the JSON value");
    {
        struct cw_json *root = cw_arena_alloc(a, sizeof *root);
        if (!root) return fail_arena(P, p);
        *root = u[0].v;
        *out = root;
    }
    return 0;
}

int cw_json_parse(struct cw_arena *a, const char *p, size_t n, const struct cw_json_opts *opts,
                  struct cw_json **out, struct cw_err *err)
{
    struct parser P;
    struct cw_json *root = NULL;
    if (out) *out = NULL;
    if (err) cw_err_clear(err);

    size_t max_bytes = opts && opts->max_bytes ? opts->max_bytes : CW_JSON_DEFAULT_MAX_BYTES;
    if (max_bytes > UINT32_MAX) max_bytes = UINT32_MAX; /* lengths are 32-bit in the tree */
    if (n > max_bytes) {
        cw_err_set(err, CW_ISSUE_TOO_LONG, "input of %zu bytes exceeds the limit of %zu bytes", n,
                   max_bytes);
        return -1;
    }
    if (!a || !out || (!p && n)) {
        cw_err_set(err, CW_ISSUE_EXCEPTION, "cw_json_parse: invalid arguments");
        return -1;
    }
    if (!p) p = "";

    P.begin = p;
    P.end = p + n;
    P.a = a;
    P.err = err;
    P.flags = opts ? opts->flags : 0;
    P.max_depth = opts && opts->max_depth ? opts->max_depth : CW_JSON_DEFAULT_MAX_DEPTH;
    P.err_at = NULL;
    P.units = P.units_inline;
    P.ucap = INLINE_UNITS;
    P.frames = P.frames_inline;
    P.fcap = INLINE_FRAMES;
    P.sb = NULL;
    P.scap = 0;

    int rc = parse(&P, &root);

    if (P.units != P.units_inline) free(P.units);
    if (P.frames != P.frames_inline) free(P.frames);
    free(P.sb);

    if (rc < 0) {
        if (err && P.err_at) {
            /* Line and column (1-based, column in bytes), only now. */
            unsigned line = 1;
            const char *ls = p, *q = p;
            while (q < P.err_at) {
                const char *nl = memchr(q, '\n', (size_t)(P.err_at - q));
                if (!nl) break;
                line++;
                ls = q = nl + 1;
            }
            err->line = line;
            err->column = (unsigned)(P.err_at - ls) + 1;
        }
        return -1;
    }
    *out = root;
    return 0;
}
