/*
 * fhirpath_parse.c — FHIRPath lexer and parser: text -> immutable tree.
 *
 * Grammar: FHIRPath N1 (2.0.0) Appendix A (fhirpath.g4). Precedence, from
 * the tightest (the grammar's alternative order):
 *   . []  (invocation, indexer)           postfix
 *   + -   (polarity)                      prefix
 *   * / div mod
 *   + - &
 *   is as                                 (right operand: a type specifier)
 *   |
 *   <= < > >=
 *   = ~ != !~
 *   in contains
 *   and
 *   or xor
 *   implies
 * All binary operators are left-associative. Terms: literals ({}, true,
 * false, 'string', number, @date, @dateTime, @time, quantities
 * "4 'mg'" / "7 days"), %external constants (%name, %`name`, %'name'),
 * $this/$index/$total, identifiers (plain or `delimited`), function calls,
 * and (parenthesized) expressions. Comments: // to end of line and block
 * comments; an unterminated block comment is a syntax error.
 * Strings and delimited identifiers take the escapes \' \" \` \\ \/ \f \n
 * \r \t \uXXXX (N1 §3 "String"; the prose lists \" which fhirpath.g4
 * omits — both are accepted).
 *
 * Deviations, deliberate: after '.', any keyword is accepted as a member
 * or function name (so `text.div` parses; nothing else can follow a dot);
 * a unary minus directly on a number or quantity literal is folded into
 * the literal.
 *
 * Invariants: the tree and every string it holds live in the expression's
 * own arena; parsing is bounded by opts.max_length and opts.max_depth (the
 * recursion depth), so hostile input cannot exhaust the C stack; input
 * must be valid UTF-8.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "fhir/fhirpath_int.h"

enum tok_kind {
    T_EOF = 0,
    T_IDENT,
    T_DIDENT, /* `delimited` */
    T_STRING,
    T_NUMBER,
    T_DATE,   /* @... */
    T_DOLLAR, /* $this etc. (text includes '$') */
    T_PERCENT,
    T_DOT,
    T_LBRACK,
    T_RBRACK,
    T_LPAREN,
    T_RPAREN,
    T_LBRACE,
    T_RBRACE,
    T_COMMA,
    T_PLUS,
    T_MINUS,
    T_STAR,
    T_SLASH,
    T_AMP,
    T_PIPE,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_EQ,
    T_NE,
    T_TILDE,
    T_NTILDE,
};

struct tok {
    enum tok_kind kind;
    uint32_t pos;
    cw_slice text; /* raw token text (STRING/DIDENT: between the quotes) */
};

struct parser {
    cw_slice src;
    size_t i;       /* lexer position */
    struct tok cur; /* current token */
    bool have;      /* cur is valid */
    struct cw_arena *a;
    struct cw_err *err;
    unsigned depth, max_depth;
    bool failed;
};

void fp_line_col(cw_slice text, uint32_t pos, unsigned *line, unsigned *col)
{
    unsigned l = 1, c = 1;
    for (size_t k = 0; k < pos && k < text.len; k++) {
        if (text.ptr[k] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

__attribute__((format(printf, 3, 4))) static int perr(struct parser *p, uint32_t pos,
                                                      const char *fmt, ...)
{
    if (p->failed) return -1;
    p->failed = true;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned line, col;
    fp_line_col(p->src, pos, &line, &col);
    cw_err_set(p->err, CW_ISSUE_INVALID, "FHIRPath syntax error at line %u, column %u: %s", line,
               col, msg);
    if (p->err) {
        p->err->line = line;
        p->err->column = col;
    }
    return -1;
}

/* ---- lexer ---- */

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Skip whitespace and comments; -1 on an unterminated block comment. */
static int skip_ws(struct parser *p)
{
    cw_slice s = p->src;
    for (;;) {
        while (p->i < s.len && (s.ptr[p->i] == ' ' || s.ptr[p->i] == '\t' || s.ptr[p->i] == '\r' ||
                                s.ptr[p->i] == '\n'))
            p->i++;
        if (p->i + 1 < s.len && s.ptr[p->i] == '/' && s.ptr[p->i + 1] == '/') {
            while (p->i < s.len && s.ptr[p->i] != '\n' && s.ptr[p->i] != '\r') p->i++;
            continue;
        }
        if (p->i + 1 < s.len && s.ptr[p->i] == '/' && s.ptr[p->i + 1] == '*') {
            size_t start = p->i;
            p->i += 2;
            for (;;) {
                if (p->i + 1 >= s.len) return perr(p, (uint32_t)start, "unterminated comment");
                if (s.ptr[p->i] == '*' && s.ptr[p->i + 1] == '/') break;
                p->i++;
            }
            p->i += 2;
            continue;
        }
        return 0;
    }
}

/* Scan a date/time literal body at p->i (after '@'). */
static void scan_dt(struct parser *p)
{
    cw_slice s = p->src;
    size_t i = p->i;
    bool time_only = i < s.len && s.ptr[i] == 'T';
    bool have_time = false;
    if (!time_only) {
        while (i < s.len && is_digit(s.ptr[i])) i++;
        for (int k = 0; k < 2; k++)
            if (i + 2 < s.len && s.ptr[i] == '-' && is_digit(s.ptr[i + 1]) &&
                is_digit(s.ptr[i + 2]))
                i += 3;
        if (i < s.len && s.ptr[i] == 'T') {
            i++;
            if (i < s.len && is_digit(s.ptr[i])) have_time = true;
        }
    } else {
        i++;
        have_time = true;
    }
    if (have_time) {
        while (i < s.len && is_digit(s.ptr[i])) i++;
        for (int k = 0; k < 2; k++)
            if (i + 2 < s.len && s.ptr[i] == ':' && is_digit(s.ptr[i + 1]) &&
                is_digit(s.ptr[i + 2]))
                i += 3;
        if (i + 1 < s.len && s.ptr[i] == '.' && is_digit(s.ptr[i + 1])) {
            i++;
            while (i < s.len && is_digit(s.ptr[i])) i++;
        }
        if (!time_only) {
            if (i < s.len && s.ptr[i] == 'Z') {
                i++;
            } else if (i + 5 < s.len && (s.ptr[i] == '+' || s.ptr[i] == '-') &&
                       is_digit(s.ptr[i + 1]) && is_digit(s.ptr[i + 2]) && s.ptr[i + 3] == ':' &&
                       is_digit(s.ptr[i + 4]) && is_digit(s.ptr[i + 5])) {
                i += 6;
            }
        }
    }
    p->i = i;
}

static int lex(struct parser *p, struct tok *t)
{
    if (skip_ws(p) < 0) return -1;
    cw_slice s = p->src;
    memset(t, 0, sizeof *t);
    t->pos = (uint32_t)p->i;
    if (p->i >= s.len) {
        t->kind = T_EOF;
        return 0;
    }
    size_t st = p->i;
    char c = s.ptr[p->i];
    char n = p->i + 1 < s.len ? s.ptr[p->i + 1] : 0;
    if (is_alpha(c)) {
        while (p->i < s.len && (is_alpha(s.ptr[p->i]) || is_digit(s.ptr[p->i]))) p->i++;
        t->kind = T_IDENT;
        t->text = (cw_slice){s.ptr + st, p->i - st};
        return 0;
    }
    if (is_digit(c)) {
        while (p->i < s.len && is_digit(s.ptr[p->i])) p->i++;
        if (p->i + 1 < s.len && s.ptr[p->i] == '.' && is_digit(s.ptr[p->i + 1])) {
            p->i++;
            while (p->i < s.len && is_digit(s.ptr[p->i])) p->i++;
        }
        t->kind = T_NUMBER;
        t->text = (cw_slice){s.ptr + st, p->i - st};
        return 0;
    }
    if (c == '\'' || c == '`') {
        p->i++;
        size_t body = p->i;
        while (p->i < s.len && s.ptr[p->i] != c) {
            if (s.ptr[p->i] == '\\') p->i++;
            p->i++;
        }
        if (p->i >= s.len)
            return perr(p, (uint32_t)st,
                        c == '`' ? "unterminated `identifier`" : "unterminated string");
        t->kind = c == '`' ? T_DIDENT : T_STRING;
        t->text = (cw_slice){s.ptr + body, p->i - body};
        p->i++;
        return 0;
    }
    if (c == '@') {
        p->i++;
        size_t body = p->i;
        scan_dt(p);
        t->kind = T_DATE;
        t->text = (cw_slice){s.ptr + body, p->i - body};
        return 0;
    }
    if (c == '$') {
        p->i++;
        while (p->i < s.len && (is_alpha(s.ptr[p->i]) || is_digit(s.ptr[p->i]))) p->i++;
        t->kind = T_DOLLAR;
        t->text = (cw_slice){s.ptr + st, p->i - st};
        return 0;
    }
    p->i++;
    switch (c) {
    case '%':
        t->kind = T_PERCENT;
        break;
    case '.':
        t->kind = T_DOT;
        break;
    case '[':
        t->kind = T_LBRACK;
        break;
    case ']':
        t->kind = T_RBRACK;
        break;
    case '(':
        t->kind = T_LPAREN;
        break;
    case ')':
        t->kind = T_RPAREN;
        break;
    case '{':
        t->kind = T_LBRACE;
        break;
    case '}':
        t->kind = T_RBRACE;
        break;
    case ',':
        t->kind = T_COMMA;
        break;
    case '+':
        t->kind = T_PLUS;
        break;
    case '-':
        t->kind = T_MINUS;
        break;
    case '*':
        t->kind = T_STAR;
        break;
    case '/':
        t->kind = T_SLASH;
        break;
    case '&':
        t->kind = T_AMP;
        break;
    case '|':
        t->kind = T_PIPE;
        break;
    case '=':
        t->kind = T_EQ;
        break;
    case '~':
        t->kind = T_TILDE;
        break;
    case '<':
        if (n == '=') {
            p->i++;
            t->kind = T_LE;
        } else {
            t->kind = T_LT;
        }
        break;
    case '>':
        if (n == '=') {
            p->i++;
            t->kind = T_GE;
        } else {
            t->kind = T_GT;
        }
        break;
    case '!':
        if (n == '=') {
            p->i++;
            t->kind = T_NE;
            break;
        }
        if (n == '~') {
            p->i++;
            t->kind = T_NTILDE;
            break;
        }
        return perr(p, (uint32_t)st, "unexpected character '!'");
    default:
        if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
            return perr(p, (uint32_t)st, "unexpected character '%c'", c);
        return perr(p, (uint32_t)st, "unexpected character (byte 0x%02x)", (unsigned char)c);
    }
    t->text = (cw_slice){s.ptr + st, p->i - st};
    return 0;
}

static struct tok *peek(struct parser *p)
{
    if (!p->have) {
        if (lex(p, &p->cur) < 0) {
            p->cur.kind = T_EOF;
        }
        p->have = true;
    }
    return &p->cur;
}

static void advance(struct parser *p)
{
    peek(p);
    p->have = false;
}

/* Lookahead one token past the current one without consuming. */
static enum tok_kind peek2(struct parser *p)
{
    peek(p);
    size_t save = p->i;
    bool failed = p->failed;
    struct tok t;
    enum tok_kind k = lex(p, &t) < 0 ? T_EOF : t.kind;
    p->i = save;
    p->failed = failed; /* a lexing error here is reported when it is reached */
    return k;
}

/* ---- strings ---- */

static int put_utf8(char *o, size_t *n, uint32_t cp)
{
    if (cp < 0x80) {
        o[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        o[(*n)++] = (char)(0xC0 | (cp >> 6));
        o[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        o[(*n)++] = (char)(0xE0 | (cp >> 12));
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        o[(*n)++] = (char)(0xF0 | (cp >> 18));
        o[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
    return 0;
}

static int hex4(cw_slice s, size_t i, uint32_t *out)
{
    if (i + 4 > s.len) return -1;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; k++) {
        char c = s.ptr[i + k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Decode escapes of a STRING/DIDENT body into the arena. */
static int unescape(struct parser *p, const struct tok *t, cw_slice *out)
{
    cw_slice s = t->text;
    if (!memchr(s.ptr, '\\', s.len)) {
        *out = s; /* points into the source copy owned by the expression */
        return 0;
    }
    char *o = cw_arena_alloc_bytes(p->a, s.len + 1);
    if (!o) return perr(p, t->pos, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c != '\\') {
            o[n++] = c;
            continue;
        }
        if (++i >= s.len) return perr(p, t->pos, "bad escape");
        char e = s.ptr[i];
        switch (e) {
        case '\'':
        case '"':
        case '`':
        case '\\':
        case '/':
            o[n++] = e;
            break;
        case 'f':
            o[n++] = '\f';
            break;
        case 'n':
            o[n++] = '\n';
            break;
        case 'r':
            o[n++] = '\r';
            break;
        case 't':
            o[n++] = '\t';
            break;
        case 'u': {
            uint32_t cp;
            if (hex4(s, i + 1, &cp) < 0) return perr(p, t->pos + (uint32_t)i, "bad \\u escape");
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (i + 2 < s.len && s.ptr[i + 1] == '\\' && s.ptr[i + 2] == 'u' &&
                    hex4(s, i + 3, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                } else {
                    return perr(p, t->pos + (uint32_t)i, "unpaired surrogate in \\u escape");
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return perr(p, t->pos + (uint32_t)i, "unpaired surrogate in \\u escape");
            }
            /* 6 escape bytes always cover the at most 4 UTF-8 bytes written */
            put_utf8(o, &n, cp);
            break;
        }
        default:
            return perr(p, t->pos + (uint32_t)i, "unknown escape \\%c",
                        (e >= 0x20 && e < 0x7f) ? e : '?');
        }
    }
    o[n] = 0;
    *out = (cw_slice){o, n};
    return 0;
}

/* ---- tree ---- */

static struct fp_ast *node(struct parser *p, enum fp_op op, uint32_t pos)
{
    struct fp_ast *n = cw_arena_zalloc(p->a, sizeof *n);
    if (!n) {
        perr(p, pos, "out of memory");
        return NULL;
    }
    n->op = (uint8_t)op;
    n->pos = pos;
    return n;
}

static bool kw(const struct tok *t, const char *w)
{
    return t->kind == T_IDENT && cw_slice_eq_cstr(t->text, w);
}

/* Words that are operators or literals, never plain identifiers in term
   position (the grammar lets as/contains/in/is be identifiers). */
static bool reserved(cw_slice w)
{
    static const char *const R[] = {"and", "or", "xor", "implies", "div", "mod", "true", "false"};
    for (size_t k = 0; k < sizeof R / sizeof R[0]; k++)
        if (cw_slice_eq_cstr(w, R[k])) return true;
    return false;
}

/* Binding power of the operator at t (0: not an infix operator). */
static int infix_bp(const struct tok *t, enum fp_op *op)
{
    switch (t->kind) {
    case T_STAR:
        *op = FP_OP_MUL;
        return 10;
    case T_SLASH:
        *op = FP_OP_DIV;
        return 10;
    case T_PLUS:
        *op = FP_OP_ADD;
        return 9;
    case T_MINUS:
        *op = FP_OP_SUB;
        return 9;
    case T_AMP:
        *op = FP_OP_CONCAT;
        return 9;
    case T_PIPE:
        *op = FP_OP_UNION;
        return 7;
    case T_LT:
        *op = FP_OP_LT;
        return 6;
    case T_LE:
        *op = FP_OP_LE;
        return 6;
    case T_GT:
        *op = FP_OP_GT;
        return 6;
    case T_GE:
        *op = FP_OP_GE;
        return 6;
    case T_EQ:
        *op = FP_OP_EQ;
        return 5;
    case T_TILDE:
        *op = FP_OP_EQUIV;
        return 5;
    case T_NE:
        *op = FP_OP_NE;
        return 5;
    case T_NTILDE:
        *op = FP_OP_NEQUIV;
        return 5;
    case T_IDENT:
        if (kw(t, "div")) {
            *op = FP_OP_IDIV;
            return 10;
        }
        if (kw(t, "mod")) {
            *op = FP_OP_MOD;
            return 10;
        }
        if (kw(t, "is")) {
            *op = FP_OP_IS;
            return 8;
        }
        if (kw(t, "as")) {
            *op = FP_OP_AS;
            return 8;
        }
        if (kw(t, "in")) {
            *op = FP_OP_IN;
            return 4;
        }
        if (kw(t, "contains")) {
            *op = FP_OP_CONTAINS;
            return 4;
        }
        if (kw(t, "and")) {
            *op = FP_OP_AND;
            return 3;
        }
        if (kw(t, "or")) {
            *op = FP_OP_OR;
            return 2;
        }
        if (kw(t, "xor")) {
            *op = FP_OP_XOR;
            return 2;
        }
        if (kw(t, "implies")) {
            *op = FP_OP_IMPLIES;
            return 1;
        }
        return 0;
    default:
        return 0;
    }
}

#define BP_UNARY 11

static struct fp_ast *parse_expr(struct parser *p, int min_bp);

/* Resolve a type name: qualified (FHIR.x, System.X) or not (FHIR first). */
static int resolve_type(struct parser *p, uint32_t pos, cw_slice ns, cw_slice name,
                        struct fp_typespec *out)
{
    memset(out, 0, sizeof *out);
    bool want_fhir = ns.len == 0 || cw_slice_eq_cstr(ns, "FHIR");
    bool want_sys = ns.len == 0 || cw_slice_eq_cstr(ns, "System");
    if (!want_fhir && !want_sys) return perr(p, pos, "unknown type namespace");
    if (want_fhir) {
        struct cw_fhir_sd sd = cw_fhir_type(name);
        if (sd.set) {
            out->ns = FP_NS_FHIR;
            out->sd = sd;
            cw_slice tn = cw_fhir_sd_type_name(sd);
            out->name = tn.ptr;
            out->name_len = (uint32_t)tn.len;
            /* resource types specialize only the abstract Resource/DomainResource */
            out->leaf_resource =
                cw_fhir_sd_kind(sd) == CW_FHIR_KIND_RESOURCE && !cw_fhir_sd_abstract(sd);
            return 0;
        }
    }
    if (want_sys) {
        enum fp_sys s = fp_sys_by_name(name);
        if (s != FP_SYS_NONE) {
            out->ns = FP_NS_SYSTEM;
            out->sys = (uint8_t)s;
            return 0;
        }
    }
    if (ns.len && cw_slice_eq_cstr(ns, "System")) {
        /* System.Patient: a valid name that no value has (is() gives false) */
        out->ns = FP_NS_SYSTEM;
        out->sys = FP_SYS_NONE;
        return 0;
    }
    return perr(p, pos, "unknown type '%.*s'", (int)(name.len > 64 ? 64 : name.len), name.ptr);
}

/* identifier (. identifier)? as a type specifier */
static int parse_typespec(struct parser *p, struct fp_typespec *out)
{
    struct tok *t = peek(p);
    uint32_t pos = t->pos;
    cw_slice a, b = CW_SLICE_NULL;
    if (t->kind != T_IDENT && t->kind != T_DIDENT) return perr(p, t->pos, "type name expected");
    struct tok first = *t;
    advance(p);
    if (unescape(p, &first, &a) < 0) return -1;
    if (peek(p)->kind == T_DOT) {
        advance(p);
        struct tok *t2 = peek(p);
        if (t2->kind != T_IDENT && t2->kind != T_DIDENT)
            return perr(p, t2->pos, "type name expected");
        struct tok second = *t2;
        advance(p);
        if (unescape(p, &second, &b) < 0) return -1;
        return resolve_type(p, pos, a, b, out);
    }
    return resolve_type(p, pos, CW_SLICE_NULL, a, out);
}

/* A function argument that names a type: rewrite the member chain. */
static int arg_typespec(struct parser *p, const struct fp_ast *arg, struct fp_typespec *out)
{
    if (arg->op == FP_OP_MEMBER && !arg->target && (arg->flags & FP_AST_ROOTNAME))
        return resolve_type(p, arg->pos, CW_SLICE_NULL, arg->name, out);
    if (arg->op == FP_OP_MEMBER && arg->target && arg->target->op == FP_OP_MEMBER &&
        !arg->target->target)
        return resolve_type(p, arg->pos, arg->target->name, arg->name, out);
    return perr(p, arg->pos, "a type name is expected here");
}

static struct fp_ast *parse_call(struct parser *p, const struct tok *name_tok, cw_slice name,
                                 struct fp_ast *target)
{
    advance(p); /* '(' */
    enum fp_fn fn = fp_fn_lookup(name);
    if (fn == FP_FN_NONE) {
        perr(p, name_tok->pos, "unknown function '%.*s'", (int)(name.len > 64 ? 64 : name.len),
             name.ptr);
        return NULL;
    }
    struct fp_ast *n = node(p, FP_OP_FUNC, name_tok->pos);
    if (!n) return NULL;
    n->fn = (uint8_t)fn;
    n->target = target;
    n->name = name;
    struct fp_ast *args[16];
    size_t na = 0;
    if (peek(p)->kind != T_RPAREN) {
        for (;;) {
            if (na >= 16) {
                perr(p, peek(p)->pos, "too many arguments");
                return NULL;
            }
            struct fp_ast *a = parse_expr(p, 0);
            if (!a) return NULL;
            if (fn == FP_FN_SORT && (kw(peek(p), "asc") || kw(peek(p), "desc"))) {
                /* FHIRPath 3.0 STU sort(key asc|desc) */
                if (kw(peek(p), "desc")) a->flags |= FP_AST_DESC;
                advance(p);
            }
            args[na++] = a;
            if (peek(p)->kind == T_COMMA) {
                advance(p);
                continue;
            }
            break;
        }
    }
    if (peek(p)->kind != T_RPAREN) {
        perr(p, peek(p)->pos, "')' expected");
        return NULL;
    }
    advance(p);
    const struct fp_fn_info *fi = &fp_fn_table[fn];
    if (na < fi->min_args || na > fi->max_args) {
        perr(p, name_tok->pos, "%s() takes %u to %u arguments, %zu given", fi->name, fi->min_args,
             fi->max_args, na);
        return NULL;
    }
    n->nargs = (uint8_t)na;
    if (na) {
        n->args = cw_arena_array(p->a, na, sizeof *n->args);
        if (!n->args) {
            perr(p, name_tok->pos, "out of memory");
            return NULL;
        }
        memcpy(n->args, args, na * sizeof *args);
    }
    if (fi->flags & FP_FNF_TYPEARG) {
        if (arg_typespec(p, args[0], &n->type) < 0) return NULL;
    }
    if (fn == FP_FN_SORT) {
        /* sort(-criterion): descending order, not arithmetic negation */
        for (size_t k = 0; k < na; k++) {
            if (args[k]->op == FP_OP_NEG && args[k]->target) {
                struct fp_ast *inner = args[k]->target;
                inner->flags |= FP_AST_DESC;
                n->args[k] = inner;
            }
        }
    }
    return n;
}

/* Negate a numeric or quantity literal in place; false if not one. */
static bool fold_neg(struct parser *p, struct fp_ast *lit)
{
    if (lit->op != FP_OP_LITERAL) return false;
    fp_val *v = &lit->lit;
    if (v->kind == CW_FHIRPATH_INTEGER) {
        if (v->u.i == INT64_MIN) return false;
        v->u.i = -v->u.i;
        return true;
    }
    if (v->kind == CW_FHIRPATH_DECIMAL) {
        fp_dec *d = cw_arena_alloc(p->a, sizeof *d);
        if (!d) return false;
        *d = *v->u.dec;
        if (d->coef) d->neg = !d->neg;
        v->u.dec = d;
        return true;
    }
    if (v->kind == CW_FHIRPATH_QUANTITY) {
        fp_qty *q = cw_arena_alloc(p->a, sizeof *q);
        if (!q) return false;
        *q = *v->u.qty;
        if (q->value.coef) q->value.neg = !q->value.neg;
        v->u.qty = q;
        return true;
    }
    return false;
}

static struct fp_ast *parse_number(struct parser *p, const struct tok *t)
{
    struct fp_ast *n = node(p, FP_OP_LITERAL, t->pos);
    if (!n) return NULL;
    bool is_dec = memchr(t->text.ptr, '.', t->text.len) != NULL;
    fp_dec d;
    if (fp_dec_parse_plain(t->text, &d) < 0) {
        perr(p, t->pos, "number out of range");
        return NULL;
    }
    /* a quantity: NUMBER followed by 'unit' or a calendar keyword */
    struct tok *u = peek(p);
    if (u->kind == T_STRING || (u->kind == T_IDENT && fp_cal_keyword(u->text) != FP_CAL_NONE)) {
        fp_qty *q = cw_arena_zalloc(p->a, sizeof *q);
        if (!q) {
            perr(p, t->pos, "out of memory");
            return NULL;
        }
        q->value = d;
        if (u->kind == T_STRING) {
            struct tok ut = *u;
            advance(p);
            if (unescape(p, &ut, &q->unit) < 0) return NULL;
            q->cal = (uint8_t)fp_cal_keyword(q->unit);
            struct fp_unit chk;
            if (!q->cal && fp_ucum_parse(q->unit, &chk) < 0 && q->unit.len == 0) {
                perr(p, ut.pos, "empty unit");
                return NULL;
            }
        } else {
            q->unit = u->text;
            q->cal = (uint8_t)fp_cal_keyword(u->text);
            q->keyword = true;
            advance(p);
        }
        n->lit.kind = CW_FHIRPATH_QUANTITY;
        n->lit.u.qty = q;
        return n;
    }
    if (!is_dec) {
        int64_t iv;
        if (fp_dec_to_i64(&d, &iv) == 0) {
            n->lit = fp_int(iv);
            return n;
        }
        perr(p, t->pos, "integer out of range");
        return NULL;
    }
    fp_dec *pd = cw_arena_alloc(p->a, sizeof *pd);
    if (!pd) {
        perr(p, t->pos, "out of memory");
        return NULL;
    }
    *pd = d;
    n->lit.kind = CW_FHIRPATH_DECIMAL;
    n->lit.u.dec = pd;
    return n;
}

static struct fp_ast *parse_prefix(struct parser *p)
{
    struct tok t = *peek(p);
    if (p->failed) return NULL;
    switch (t.kind) {
    case T_PLUS:
    case T_MINUS: {
        advance(p);
        struct fp_ast *operand = parse_expr(p, BP_UNARY);
        if (!operand) return NULL;
        if (t.kind == T_MINUS && operand->op == FP_OP_LITERAL && fold_neg(p, operand))
            return operand;
        struct fp_ast *n = node(p, t.kind == T_MINUS ? FP_OP_NEG : FP_OP_POS, t.pos);
        if (!n) return NULL;
        n->target = operand;
        return n;
    }
    case T_LPAREN: {
        advance(p);
        struct fp_ast *e = parse_expr(p, 0);
        if (!e) return NULL;
        if (peek(p)->kind != T_RPAREN) {
            perr(p, peek(p)->pos, "')' expected");
            return NULL;
        }
        advance(p);
        return e;
    }
    case T_LBRACE: {
        advance(p);
        if (peek(p)->kind != T_RBRACE) {
            perr(p, peek(p)->pos, "'}' expected ({} is the empty collection)");
            return NULL;
        }
        advance(p);
        return node(p, FP_OP_EMPTY, t.pos);
    }
    case T_STRING: {
        advance(p);
        struct fp_ast *n = node(p, FP_OP_LITERAL, t.pos);
        if (!n) return NULL;
        cw_slice s;
        if (unescape(p, &t, &s) < 0) return NULL;
        n->lit = fp_str(s);
        n->lit.flags = FP_VAL_STATIC;
        return n;
    }
    case T_NUMBER:
        advance(p);
        return parse_number(p, &t);
    case T_DATE: {
        advance(p);
        enum cw_fhirpath_kind kind;
        struct cw_dt dt;
        if (fp_parse_dt_literal(t.text, &kind, &dt) < 0) {
            perr(p, t.pos, "invalid date/time literal");
            return NULL;
        }
        struct fp_ast *n = node(p, FP_OP_LITERAL, t.pos);
        if (!n) return NULL;
        struct cw_fhirpath_dt *pd = cw_arena_alloc(p->a, sizeof *pd);
        if (!pd) {
            perr(p, t.pos, "out of memory");
            return NULL;
        }
        pd->v = dt;
        n->lit.kind = (uint8_t)kind;
        n->lit.u.dt = pd;
        return n;
    }
    case T_PERCENT: {
        advance(p);
        struct tok v = *peek(p);
        if (v.kind != T_IDENT && v.kind != T_DIDENT && v.kind != T_STRING) {
            perr(p, v.pos, "variable name expected after '%%'");
            return NULL;
        }
        advance(p);
        struct fp_ast *n = node(p, FP_OP_VAR, t.pos);
        if (!n) return NULL;
        if (unescape(p, &v, &n->name) < 0) return NULL;
        return n;
    }
    case T_DOLLAR: {
        advance(p);
        enum fp_op op;
        if (cw_slice_eq_cstr(t.text, "$this"))
            op = FP_OP_THIS;
        else if (cw_slice_eq_cstr(t.text, "$index"))
            op = FP_OP_INDEX;
        else if (cw_slice_eq_cstr(t.text, "$total"))
            op = FP_OP_TOTAL;
        else {
            perr(p, t.pos, "unknown special variable (only $this, $index, $total)");
            return NULL;
        }
        return node(p, op, t.pos);
    }
    case T_IDENT:
    case T_DIDENT: {
        if (t.kind == T_IDENT) {
            if (kw(&t, "true") || kw(&t, "false")) {
                advance(p);
                struct fp_ast *n = node(p, FP_OP_LITERAL, t.pos);
                if (n) n->lit = fp_bool(kw(&t, "true"));
                return n;
            }
            if (reserved(t.text) && peek2(p) != T_LPAREN) {
                perr(p, t.pos, "operand expected, found the operator '%.*s'", (int)t.text.len,
                     t.text.ptr);
                return NULL;
            }
        }
        advance(p);
        cw_slice name;
        if (unescape(p, &t, &name) < 0) return NULL;
        if (t.kind == T_IDENT && peek(p)->kind == T_LPAREN) return parse_call(p, &t, name, NULL);
        struct fp_ast *n = node(p, FP_OP_MEMBER, t.pos);
        if (!n) return NULL;
        n->name = name;
        n->flags |= FP_AST_ROOTNAME;
        /* a type name in term position filters the context (N1 §4.1) */
        if (name.len && name.ptr[0] >= 'A' && name.ptr[0] <= 'Z') {
            struct cw_fhir_sd sd = cw_fhir_type(name);
            if (sd.set) {
                n->type.ns = FP_NS_FHIR;
                n->type.sd = sd;
            }
        }
        return n;
    }
    case T_EOF:
        perr(p, t.pos, "unexpected end of expression");
        return NULL;
    default:
        perr(p, t.pos, "unexpected '%.*s'", (int)(t.text.len > 20 ? 20 : t.text.len), t.text.ptr);
        return NULL;
    }
}

static struct fp_ast *parse_expr(struct parser *p, int min_bp)
{
    if (++p->depth > p->max_depth) {
        if (!p->failed) {
            perr(p, (uint32_t)p->i, "expression nested too deeply");
            if (p->err) p->err->issue = CW_ISSUE_TOO_COSTLY;
        }
        return NULL;
    }
    struct fp_ast *lhs = parse_prefix(p);
    if (!lhs) return NULL;
    for (;;) {
        struct tok t = *peek(p);
        if (p->failed) return NULL;
        if (t.kind == T_DOT) {
            if (12 <= min_bp) break;
            advance(p);
            struct tok m = *peek(p);
            if (m.kind != T_IDENT && m.kind != T_DIDENT) {
                perr(p, m.pos, "name expected after '.'");
                return NULL;
            }
            advance(p);
            cw_slice name;
            if (unescape(p, &m, &name) < 0) return NULL;
            if (m.kind == T_IDENT && peek(p)->kind == T_LPAREN) {
                lhs = parse_call(p, &m, name, lhs);
            } else {
                struct fp_ast *n = node(p, FP_OP_MEMBER, m.pos);
                if (!n) return NULL;
                n->name = name;
                n->target = lhs;
                lhs = n;
            }
            if (!lhs) return NULL;
            continue;
        }
        if (t.kind == T_LBRACK) {
            if (12 <= min_bp) break;
            advance(p);
            struct fp_ast *idx = parse_expr(p, 0);
            if (!idx) return NULL;
            if (peek(p)->kind != T_RBRACK) {
                perr(p, peek(p)->pos, "']' expected");
                return NULL;
            }
            advance(p);
            struct fp_ast *n = node(p, FP_OP_INDEXER, t.pos);
            if (!n) return NULL;
            n->target = lhs;
            n->rhs = idx;
            lhs = n;
            continue;
        }
        enum fp_op op;
        int bp = infix_bp(&t, &op);
        if (bp == 0) {
            if (t.kind == T_EOF || t.kind == T_RPAREN || t.kind == T_RBRACK || t.kind == T_COMMA)
                break;
            if (kw(&t, "asc") || kw(&t, "desc"))
                break; /* sort() key direction: the caller decides */
            perr(p, t.pos, "operator expected, found '%.*s'",
                 (int)(t.text.len > 20 ? 20 : t.text.len), t.text.ptr);
            return NULL;
        }
        if (bp <= min_bp) break;
        advance(p);
        struct fp_ast *n = node(p, op, t.pos);
        if (!n) return NULL;
        n->target = lhs;
        if (op == FP_OP_IS || op == FP_OP_AS) {
            if (parse_typespec(p, &n->type) < 0) return NULL;
        } else {
            n->rhs = parse_expr(p, bp);
            if (!n->rhs) return NULL;
        }
        lhs = n;
    }
    p->depth--;
    return lhs;
}

/* ---- UTF-8 check ---- */

static bool valid_utf8(cw_slice s)
{
    const unsigned char *b = (const unsigned char *)s.ptr;
    size_t i = 0, n = s.len;
    while (i < n) {
        unsigned char c = b[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else
            return false;
        if (i + len > n) return false;
        for (size_t k = 1; k < len; k++) {
            if ((b[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (b[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

/* ---- compile ---- */

static void assign_slots(struct cw_fhirpath_expr *e, struct fp_ast *n, int depth)
{
    if (!n || depth > 10000) return;
    if (n->op == FP_OP_MEMBER || n->op == FP_OP_FUNC) n->slot = e->n_slots++;
    assign_slots(e, n->target, depth + 1);
    assign_slots(e, n->rhs, depth + 1);
    for (unsigned k = 0; k < n->nargs; k++) assign_slots(e, n->args[k], depth + 1);
}

static int compile_regexes(struct cw_fhirpath_expr *e, struct fp_ast *n, int depth,
                           struct cw_err *err)
{
    if (!n || depth > 10000) return 0;
    if (n->op == FP_OP_FUNC &&
        (n->fn == FP_FN_MATCHES || n->fn == FP_FN_MATCHESFULL || n->fn == FP_FN_REPLACEMATCHES) &&
        n->nargs >= 1 && n->args[0]->op == FP_OP_LITERAL &&
        n->args[0]->lit.kind == CW_FHIRPATH_STRING &&
        (n->nargs == 1 || n->fn == FP_FN_REPLACEMATCHES ||
         (n->args[1]->op == FP_OP_LITERAL && n->args[1]->lit.kind == CW_FHIRPATH_STRING)) &&
        (n->fn != FP_FN_REPLACEMATCHES || n->nargs == 2 ||
         (n->args[2]->op == FP_OP_LITERAL && n->args[2]->lit.kind == CW_FHIRPATH_STRING))) {
        if (fp_regex_compile_ast(e, n, err) < 0) return -1;
    }
    if (compile_regexes(e, n->target, depth + 1, err) < 0) return -1;
    if (compile_regexes(e, n->rhs, depth + 1, err) < 0) return -1;
    for (unsigned k = 0; k < n->nargs; k++)
        if (compile_regexes(e, n->args[k], depth + 1, err) < 0) return -1;
    return 0;
}

int cw_fhirpath_compile(cw_slice text, const struct cw_fhirpath_opts *opts,
                        struct cw_fhirpath_expr **out, struct cw_err *err)
{
    static const struct cw_fhirpath_opts defaults = {0};
    if (!opts) opts = &defaults;
    *out = NULL;
    size_t max_len = opts->max_length ? opts->max_length : 65536;
    if (text.len > max_len)
        return cw_err_set(err, CW_ISSUE_TOO_LONG, "FHIRPath expression longer than %zu bytes",
                          max_len);
    if (!valid_utf8(text))
        return cw_err_set(err, CW_ISSUE_INVALID, "FHIRPath expression is not valid UTF-8");
    struct cw_fhirpath_expr *e = calloc(1, sizeof *e);
    if (!e) return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    e->arena = cw_arena_new((size_t)64 << 20);
    if (!e->arena) {
        free(e);
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    }
    char *src = cw_arena_strndup(e->arena, text.ptr ? text.ptr : "", text.len);
    if (!src) {
        cw_fhirpath_free(e);
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    }
    e->source = (cw_slice){src, text.len};
    struct parser p = {.src = e->source,
                       .a = e->arena,
                       .err = err,
                       .max_depth = opts->max_depth ? opts->max_depth : 200};
    e->root = parse_expr(&p, 0);
    if (e->root && !p.failed && peek(&p)->kind != T_EOF && !p.failed)
        perr(&p, peek(&p)->pos, "unexpected '%.*s' after the expression",
             (int)(p.cur.text.len > 20 ? 20 : p.cur.text.len), p.cur.text.ptr);
    if (!e->root || p.failed) {
        if (!p.failed) cw_err_set(err, CW_ISSUE_INVALID, "FHIRPath syntax error");
        cw_fhirpath_free(e);
        return -1;
    }
    assign_slots(e, e->root, 0);
    if (compile_regexes(e, e->root, 0, err) < 0 || fp_check(e, opts, err) < 0) {
        cw_fhirpath_free(e);
        return -1;
    }
    *out = e;
    return 0;
}

void cw_fhirpath_free(struct cw_fhirpath_expr *e)
{
    if (!e) return;
    for (size_t k = 0; k < e->n_regexes; k++) fp_regex_free(e->regexes[k]);
    free(e->regexes);
    cw_arena_destroy(e->arena);
    free(e);
}

cw_slice cw_fhirpath_source(const struct cw_fhirpath_expr *e)
{
    return e ? e->source : CW_SLICE_NULL;
}
