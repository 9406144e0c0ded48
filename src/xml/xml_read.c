/*
 * xml_read.c — safe XML reading over libxml2: the prolog check, the event
 * (SAX2) parser, the DOM and xmlTextReader entry points, and the fragment
 * checker.
 *
 * Owns: one libxml2 parser context per parse (freed before returning), or
 * per reader/checker object (freed by its _free). Nothing global except
 * what cw_xml_init() sets once: the deny-all external entity loader and
 * libxml2's defaults.
 *
 * Spec: XML 1.0 (5th ed.) sections 2.8 (prolog, document type declaration),
 * 4.3.3 (encoding detection, appendix F), 3.3.3 (attribute value
 * normalization: done by libxml2); Namespaces in XML 1.0.
 *
 * Invariants:
 *  - libxml2 is only ever called with XML_PARSE_NONET (+ NOCDATA off,
 *    NOENT/DTDLOAD/DTDATTR/HUGE/XINCLUDE never) and only on input that
 *    passed cw_xml_check_prolog;
 *  - every parser context has a structured error handler, so libxml2
 *    prints nothing and its message text (which may quote content) never
 *    reaches a cw_err: messages come from error_text() below;
 *  - callbacks run with ctxt->_private pointing at the struct cw_xml_parser
 *    of the parse; a failed limit or handler stops libxml2 with
 *    xmlStopParser and the first error wins.
 */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include "xml/xml.h"

/* ==== global set-up ==== */

/* External entities, DTDs, XInclude targets: nothing is ever loaded. */
static xmlParserInputPtr deny_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url, (void)id, (void)ctxt;
    return NULL;
}

static void silent_generic(void *ctx, const char *msg, ...)
{
    (void)ctx, (void)msg;
}

static void init_once(void)
{
    xmlInitParser();
    xmlSetExternalEntityLoader(deny_loader);
    xmlThrDefSetGenericErrorFunc(NULL, silent_generic);
    xmlSetGenericErrorFunc(NULL, silent_generic);
}

static pthread_once_t init_flag = PTHREAD_ONCE_INIT;
static _Thread_local bool thread_quiet;

void cw_xml_init(void)
{
    pthread_once(&init_flag, init_once);
    /*
     * libxml2 keeps the generic error handler per thread, and a thread that
     * existed before init_once (a server worker) still prints to stderr.
     * Errors of a parse go to our structured handler anyway; this catches
     * the few raised without a parser context (encoding conversion), whose
     * text can hold input bytes.
     */
    if (!thread_quiet) {
        xmlSetGenericErrorFunc(NULL, silent_generic);
        thread_quiet = true;
    }
}

/* The options every parse uses. No NOENT, DTDLOAD, DTDATTR, HUGE, XINCLUDE. */
#define PARSE_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

/* ==== limits ==== */

static struct cw_xml_limits limits_of(const struct cw_xml_limits *lim)
{
    struct cw_xml_limits l = lim ? *lim : (struct cw_xml_limits){0};
    if (!l.max_bytes) l.max_bytes = CW_XML_DEFAULT_MAX_BYTES;
    if (l.max_bytes > INT_MAX) l.max_bytes = INT_MAX;
    if (!l.max_depth || l.max_depth > CW_XML_DEFAULT_MAX_DEPTH)
        l.max_depth = CW_XML_DEFAULT_MAX_DEPTH;
    if (!l.max_nodes) l.max_nodes = CW_XML_DEFAULT_MAX_NODES;
    if (!l.max_attrs) l.max_attrs = CW_XML_DEFAULT_MAX_ATTRS;
    return l;
}

/* ==== the prolog check ==== */

/* Reads code units of the detected encoding family. */
struct units {
    const unsigned char *p;
    size_t n;   /* bytes */
    size_t pos; /* byte position */
    int width;  /* 1 or 2 */
    bool big;   /* UTF-16BE */
};

/* Code unit at pos + k units (0 past the end). */
static unsigned unit_at(const struct units *u, size_t k)
{
    size_t at = u->pos + k * (size_t)u->width;
    if (at + (size_t)u->width > u->n) return 0;
    if (u->width == 1) return u->p[at];
    return u->big ? (unsigned)u->p[at] << 8 | u->p[at + 1] : (unsigned)u->p[at + 1] << 8 | u->p[at];
}

static bool unit_is(const struct units *u, const char *lit)
{
    for (size_t k = 0; lit[k]; k++)
        if (unit_at(u, k) != (unsigned char)lit[k]) return false;
    return true;
}

static bool at_end(const struct units *u)
{
    return u->pos + (size_t)u->width > u->n;
}

static bool is_space(unsigned c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void skip_space(struct units *u)
{
    while (!at_end(u) && is_space(unit_at(u, 0))) u->pos += (size_t)u->width;
}

/* Move past the first occurrence of lit; false (and at end) when absent. */
static bool skip_past(struct units *u, const char *lit)
{
    size_t len = strlen(lit);
    while (!at_end(u)) {
        if (unit_is(u, lit)) {
            u->pos += len * (size_t)u->width;
            return true;
        }
        u->pos += (size_t)u->width;
    }
    return false;
}

static bool ascii_ieq(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n) return false;
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

/* Encodings whose first 128 code points are ASCII, one byte each. */
static bool encoding_allowed_8bit(const char *e, size_t n)
{
    static const char *const ok[] = {"utf-8", "utf8", "us-ascii", "ascii", "latin1", "iso-latin-1"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (ascii_ieq(e, n, ok[i])) return true;
    /* ISO-8859-1..16 (ISO_8859-n too), windows-1250..1258, cp1250..1258 */
    const char *num = NULL;
    size_t nl = 0;
    if (n > 9 && (ascii_ieq(e, 9, "iso-8859-") || ascii_ieq(e, 9, "iso_8859-"))) {
        num = e + 9;
        nl = n - 9;
        long v = 0;
        for (size_t i = 0; i < nl; i++) {
            if (num[i] < '0' || num[i] > '9') return false;
            v = v * 10 + (num[i] - '0');
            if (v > 16) return false;
        }
        return v >= 1 && v != 12;
    }
    if (n == 12 && ascii_ieq(e, 11, "windows-125")) return e[11] >= '0' && e[11] <= '8';
    if (n == 6 && ascii_ieq(e, 5, "cp125")) return e[5] >= '0' && e[5] <= '8';
    return false;
}

static bool encoding_allowed_16(const char *e, size_t n)
{
    return ascii_ieq(e, n, "utf-16") || ascii_ieq(e, n, "utf-16le") || ascii_ieq(e, n, "utf-16be");
}

static int prolog_fail(struct cw_err *err, enum cw_issue issue, const char *msg)
{
    if (!err) return -1;
    cw_err_clear(err);
    return cw_err_set(err, issue, "%s", msg);
}

/*
 * Reads the encoding pseudo-attribute of an XML declaration starting at
 * u->pos ("<?xml"); leaves u after "?>". enc receives up to cap-1 ASCII
 * bytes (longer or non-ASCII names are kept truncated and fail the list).
 */
static void read_xml_decl(struct units *u, char *enc, size_t cap, size_t *enc_len, bool *has_enc)
{
    size_t start = u->pos;
    struct units v = *u;
    bool closed = skip_past(&v, "?>");
    size_t end = closed ? v.pos : u->n;
    *has_enc = false;
    *enc_len = 0;
    struct units w = *u;
    w.pos = start;
    w.n = end;
    while (!at_end(&w)) {
        if (unit_is(&w, "encoding")) {
            w.pos += 8 * (size_t)w.width;
            skip_space(&w);
            if (unit_at(&w, 0) != '=') break;
            w.pos += (size_t)w.width;
            skip_space(&w);
            unsigned q = unit_at(&w, 0);
            if (q != '"' && q != '\'') break;
            w.pos += (size_t)w.width;
            *has_enc = true;
            while (!at_end(&w) && unit_at(&w, 0) != q) {
                unsigned c = unit_at(&w, 0);
                if (*enc_len + 1 < cap)
                    enc[(*enc_len)++] = c < 128 ? (char)c : '?';
                else
                    *enc_len = cap; /* too long: never on the list */
                w.pos += (size_t)w.width;
            }
            if (*enc_len >= cap) *enc_len = cap - 1;
            break;
        }
        w.pos += (size_t)w.width;
    }
    u->pos = end;
}

int cw_xml_check_prolog(const char *p, size_t n, const struct cw_xml_limits *lim,
                        struct cw_err *err)
{
    struct cw_xml_limits l = limits_of(lim);
    if (n > l.max_bytes)
        return prolog_fail(err, CW_ISSUE_TOO_LONG, "XML document larger than the limit");
    const unsigned char *b = (const unsigned char *)p;
    struct units u = {.p = b, .n = n, .pos = 0, .width = 1, .big = false};
    bool utf16 = false;
    /* XML 1.0 appendix F: the first bytes tell the encoding family. */
    if (n >= 4 && ((b[0] == 0 && b[1] == 0) || (b[2] == 0 && b[3] == 0 && b[0] != 0 && b[1] == 0)))
        return prolog_fail(err, CW_ISSUE_NOT_SUPPORTED, "UCS-4 encoded XML is not supported");
    if (n >= 4 && b[0] == 0x4C && b[1] == 0x6F && b[2] == 0xA7 && b[3] == 0x94)
        return prolog_fail(err, CW_ISSUE_NOT_SUPPORTED, "EBCDIC encoded XML is not supported");
    if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
        u.pos = 3;
    } else if (n >= 2 && b[0] == 0xFF && b[1] == 0xFE) {
        u.pos = 2, u.width = 2, utf16 = true;
    } else if (n >= 2 && b[0] == 0xFE && b[1] == 0xFF) {
        u.pos = 2, u.width = 2, u.big = true, utf16 = true;
    } else if (n >= 2 && b[0] == 0x3C && b[1] == 0x00) {
        u.width = 2, utf16 = true;
    } else if (n >= 2 && b[0] == 0x00 && b[1] == 0x3C) {
        u.width = 2, u.big = true, utf16 = true;
    }

    if (unit_is(&u, "<?xml") && is_space(unit_at(&u, 5))) {
        char enc[40];
        size_t enc_len;
        bool has_enc;
        read_xml_decl(&u, enc, sizeof enc, &enc_len, &has_enc);
        if (has_enc) {
            bool ok =
                utf16 ? encoding_allowed_16(enc, enc_len) : encoding_allowed_8bit(enc, enc_len);
            if (!ok)
                return prolog_fail(err, CW_ISSUE_NOT_SUPPORTED,
                                   "XML encoding not supported (UTF-8, UTF-16, US-ASCII, "
                                   "ISO-8859-n and windows-125n are)");
        }
    }
    /* Misc* (comments, processing instructions, white space), then the root. */
    for (;;) {
        skip_space(&u);
        if (at_end(&u)) return 0;            /* empty: libxml2 reports it */
        if (unit_at(&u, 0) != '<') return 0; /* text before the root: libxml2 reports it */
        if (unit_is(&u, "<!--")) {
            u.pos += 4 * (size_t)u.width;
            if (!skip_past(&u, "-->")) return 0;
            continue;
        }
        if (unit_is(&u, "<?")) {
            u.pos += 2 * (size_t)u.width;
            if (!skip_past(&u, "?>")) return 0;
            continue;
        }
        if (unit_is(&u, "<!")) {
            prolog_fail(err, CW_ISSUE_SECURITY,
                        "XML documents with a DOCTYPE (document type declaration) are not "
                        "accepted");
            if (err) {
                /* where it is, in characters of the prolog (all ASCII here) */
                struct units w = u;
                unsigned line = 1, col = 1;
                for (w.pos = u.pos % (size_t)u.width; w.pos < u.pos; w.pos += (size_t)w.width) {
                    if (unit_at(&w, 0) == '\n')
                        line++, col = 1;
                    else
                        col++;
                }
                err->line = line;
                err->column = col;
            }
            return -1;
        }
        return 0; /* the root element */
    }
}

/* ==== errors ==== */

/* Our own text for libxml2's error codes: never libxml2's message. */
static const char *error_text(int code)
{
    switch (code) {
    case XML_ERR_INTERNAL_ERROR:
        return "internal parser error";
    case XML_ERR_NO_MEMORY:
        return "out of memory";
    case XML_ERR_DOCUMENT_START:
    case XML_ERR_DOCUMENT_EMPTY:
        return "document is empty or does not start with an element";
    case XML_ERR_DOCUMENT_END:
    case XML_ERR_EXTRA_CONTENT:
        return "extra content after the root element";
    case XML_ERR_INVALID_HEX_CHARREF:
    case XML_ERR_INVALID_DEC_CHARREF:
    case XML_ERR_INVALID_CHARREF:
        return "invalid character reference";
    case XML_ERR_INVALID_CHAR:
        return "character not allowed in XML";
    case XML_ERR_INVALID_ENCODING:
    case XML_ERR_UNKNOWN_ENCODING:
    case XML_ERR_UNSUPPORTED_ENCODING:
    case XML_ERR_ENCODING_NAME:
        return "invalid bytes for the document's encoding, or an unsupported encoding";
    case XML_ERR_UNDECLARED_ENTITY:
    case XML_WAR_UNDECLARED_ENTITY:
        return "reference to an undeclared entity";
    case XML_ERR_ENTITYREF_NO_NAME:
    case XML_ERR_ENTITYREF_SEMICOL_MISSING:
        return "malformed entity or character reference ('&' must be written &amp;)";
    case XML_ERR_LT_IN_ATTRIBUTE:
        return "'<' in an attribute value";
    case XML_ERR_ATTRIBUTE_NOT_STARTED:
    case XML_ERR_ATTRIBUTE_NOT_FINISHED:
    case XML_ERR_ATTRIBUTE_WITHOUT_VALUE:
    case XML_ERR_STRING_NOT_STARTED:
    case XML_ERR_STRING_NOT_CLOSED:
        return "malformed attribute";
    case XML_ERR_ATTRIBUTE_REDEFINED:
    case XML_NS_ERR_ATTRIBUTE_REDEFINED:
        return "attribute given twice";
    case XML_ERR_COMMENT_NOT_FINISHED:
    case XML_ERR_HYPHEN_IN_COMMENT:
        return "malformed comment";
    case XML_ERR_PI_NOT_STARTED:
    case XML_ERR_PI_NOT_FINISHED:
    case XML_ERR_RESERVED_XML_NAME:
        return "malformed processing instruction or misplaced XML declaration";
    case XML_ERR_XMLDECL_NOT_STARTED:
    case XML_ERR_XMLDECL_NOT_FINISHED:
    case XML_ERR_VERSION_MISSING:
    case XML_ERR_UNKNOWN_VERSION:
    case XML_ERR_STANDALONE_VALUE:
    case XML_ERR_MISSING_ENCODING:
        return "malformed XML declaration";
    case XML_ERR_CDATA_NOT_FINISHED:
    case XML_ERR_MISPLACED_CDATA_END:
        return "malformed CDATA section or ']]>' in text";
    case XML_ERR_NAME_REQUIRED:
    case XML_ERR_NAME_TOO_LONG:
        return "element or attribute name expected";
    case XML_ERR_SPACE_REQUIRED:
        return "white space required";
    case XML_ERR_EQUAL_REQUIRED:
        return "'=' expected after an attribute name";
    case XML_ERR_LT_REQUIRED:
    case XML_ERR_GT_REQUIRED:
    case XML_ERR_LTSLASH_REQUIRED:
        return "malformed tag";
    case XML_ERR_TAG_NAME_MISMATCH:
        return "end tag does not match the start tag";
    case XML_ERR_TAG_NOT_FINISHED:
    case XML_ERR_NOT_WELL_BALANCED:
        return "element not closed (document ends early)";
    case XML_ERR_DOCTYPE_NOT_FINISHED:
    case XML_ERR_ENTITY_LOOP:
    case XML_ERR_ENTITY_PROCESSING:
    case XML_ERR_EXT_SUBSET_NOT_FINISHED:
        return "document type declarations are not accepted";
    case XML_ERR_USER_STOP:
        return "parse stopped";
    case XML_NS_ERR_UNDEFINED_NAMESPACE:
        return "undeclared namespace prefix";
    case XML_NS_ERR_QNAME:
    case XML_NS_ERR_COLON:
        return "malformed qualified name";
    case XML_NS_ERR_XML_NAMESPACE:
    case XML_NS_ERR_EMPTY:
        return "invalid namespace declaration";
    default:
        return "malformed XML";
    }
}

/* ==== the parse state shared by the event, DOM and checker paths ==== */

struct cw_xml_parser {
    xmlParserCtxtPtr ctxt;
    struct cw_xml_limits lim;
    const struct cw_xml_handler *h; /* events: user handler; NULL for DOM */
    void *ctx;
    struct cw_err *err;
    bool failed; /* err holds the first error */
    unsigned depth;
    size_t nodes;
    struct cw_xml_attr *attrs; /* scratch for start events */
    size_t attrs_cap;
    struct cw_xml_ns ns[16]; /* scratch; more declarations go to ns_heap */
    struct cw_xml_ns *ns_heap;
    size_t ns_heap_cap;
    char *vals; /* scratch for decoded attribute values */
    size_t vals_cap;
    /* checker */
    cw_slice want_uri, want_name;
    size_t root_end; /* offset after the root's end tag, or SIZE_MAX */
    bool root_seen;
};

static void position_of(xmlParserCtxtPtr ctxt, unsigned *line, unsigned *col)
{
    int l = ctxt && ctxt->input ? ctxt->input->line : 0;
    int c = ctxt && ctxt->input ? ctxt->input->col : 0;
    *line = l > 0 ? (unsigned)l : 0;
    *col = c > 0 ? (unsigned)c : 0;
}

/* Record the first error and stop libxml2. */
static void parser_vfail(struct cw_xml_parser *p, enum cw_issue issue, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void parser_vfail(struct cw_xml_parser *p, enum cw_issue issue, const char *fmt, va_list ap)
{
    if (p->failed) return;
    p->failed = true;
    if (p->err) {
        cw_err_clear(p->err);
        cw_err_vset(p->err, issue, fmt, ap);
        position_of(p->ctxt, &p->err->line, &p->err->column);
    }
    if (p->ctxt) xmlStopParser(p->ctxt);
}

static void parser_fail(struct cw_xml_parser *p, enum cw_issue issue, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void parser_fail(struct cw_xml_parser *p, enum cw_issue issue, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    parser_vfail(p, issue, fmt, ap);
    va_end(ap);
}

int cw_xml_fail(struct cw_xml_parser *p, enum cw_issue issue, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    parser_vfail(p, issue, fmt, ap);
    va_end(ap);
    return -1;
}

struct cw_err *cw_xml_error(struct cw_xml_parser *p)
{
    return p->err;
}

void cw_xml_position(const struct cw_xml_parser *p, unsigned *line, unsigned *column)
{
    position_of(p->ctxt, line, column);
}

size_t cw_xml_offset(const struct cw_xml_parser *p)
{
    long v = xmlByteConsumed(p->ctxt);
    return v < 0 ? 0 : (size_t)v;
}

bool cw_xml_offsets_exact(const struct cw_xml_parser *p)
{
    xmlParserInputPtr in = p->ctxt ? p->ctxt->input : NULL;
    return in && p->ctxt->inputNr == 1 && (!in->buf || !in->buf->encoder);
}

/*
 * A callback returned -1: keep the error it filled through cw_xml_error or
 * cw_xml_fail, or record a generic one.
 */
static void stop_by_handler(struct cw_xml_parser *p)
{
    if (p->failed) return;
    if (p->err && cw_err_is_set(p->err)) {
        p->failed = true;
        if (!p->err->line) position_of(p->ctxt, &p->err->line, &p->err->column);
        xmlStopParser(p->ctxt);
        return;
    }
    parser_fail(p, CW_ISSUE_PROCESSING, "stopped by the handler");
}

static struct cw_xml_parser *parser_of(void *ctx)
{
    xmlParserCtxtPtr ctxt = ctx;
    return ctxt ? ctxt->_private : NULL;
}

/* Structured error handler: every libxml2 message for this context lands here. */
static void on_error(void *ctx, xmlErrorPtr e)
{
    struct cw_xml_parser *p = parser_of(ctx);
    if (!p || !e || p->failed) return;
    if (e->level == XML_ERR_WARNING) return;
    if (e->level == XML_ERR_ERROR && e->domain == XML_FROM_NAMESPACE &&
        !(p->lim.flags & CW_XML_STRICT_NS))
        return;
    p->failed = true;
    if (p->err) {
        cw_err_clear(p->err);
        enum cw_issue issue = CW_ISSUE_STRUCTURE;
        if (e->code == XML_ERR_NO_MEMORY) issue = CW_ISSUE_TOO_COSTLY;
        if (e->code == XML_ERR_INTERNAL_ERROR) issue = CW_ISSUE_EXCEPTION;
        cw_err_set(p->err, issue, "%s (libxml2 code %d)", error_text(e->code), e->code);
        p->err->line = e->line > 0 ? (unsigned)e->line : 0;
        p->err->column = e->int2 > 0 ? (unsigned)e->int2 : 0;
    }
}

/* Second line of defence: the prolog check should have refused already. */
static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *eid,
                               const xmlChar *sid)
{
    (void)name, (void)eid, (void)sid;
    struct cw_xml_parser *p = parser_of(ctx);
    if (p)
        parser_fail(p, CW_ISSUE_SECURITY,
                    "XML documents with a DOCTYPE (document type declaration) are not accepted");
}

static xmlEntityPtr on_get_entity(void *ctx, const xmlChar *name)
{
    (void)ctx, (void)name;
    return NULL; /* only the five predefined entities exist */
}

static int count_start(struct cw_xml_parser *p, int nb_attributes)
{
    if (p->failed) return -1;
    if (++p->depth > p->lim.max_depth) {
        parser_fail(p, CW_ISSUE_TOO_COSTLY, "XML nested deeper than %u elements", p->lim.max_depth);
        return -1;
    }
    if (++p->nodes > p->lim.max_nodes) {
        parser_fail(p, CW_ISSUE_TOO_COSTLY, "XML document has more than %zu elements",
                    p->lim.max_nodes);
        return -1;
    }
    if (nb_attributes < 0 || (unsigned)nb_attributes > p->lim.max_attrs) {
        parser_fail(p, CW_ISSUE_TOO_COSTLY, "XML element has more than %u attributes",
                    p->lim.max_attrs);
        return -1;
    }
    return 0;
}

static cw_slice xslice(const xmlChar *s)
{
    return s ? cw_slice_cstr((const char *)s) : (cw_slice){"", 0};
}

/* ---- event trampolines ---- */

static void ev_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                     int nb_defaulted, const xmlChar **attributes)
{
    (void)nb_defaulted;
    struct cw_xml_parser *p = parser_of(ctx);
    if (!p || count_start(p, nb_attributes) < 0) return;
    if (p->h == NULL) return; /* checker: only counts */
    struct cw_xml_start e = {
        .name = xslice(localname), .prefix = xslice(prefix), .uri = xslice(uri), .depth = p->depth};
    if (nb_attributes > 0) {
        if ((size_t)nb_attributes > p->attrs_cap) {
            size_t cap = p->attrs_cap ? p->attrs_cap : 16;
            while (cap < (size_t)nb_attributes) cap *= 2;
            struct cw_xml_attr *na = realloc(p->attrs, cap * sizeof *na);
            if (!na) {
                parser_fail(p, CW_ISSUE_TOO_COSTLY, "out of memory");
                return;
            }
            p->attrs = na;
            p->attrs_cap = cap;
        }
        /*
         * Without XML_PARSE_NOENT, libxml2's SAX2 attribute values keep every
         * '&' (from &amp; or &#38;) as the text "&#38;", for its own tree
         * builder to decode; no other reference survives. Decode it here so
         * callers see the value XML 1.0 section 3.3.3 defines.
         */
        size_t need = 0;
        for (int i = 0; i < nb_attributes; i++) {
            const xmlChar **a = attributes + 5 * i;
            size_t len = (size_t)(a[4] - a[3]);
            if (len && memchr(a[3], '&', len)) need += len;
        }
        if (need > p->vals_cap) {
            char *nv = realloc(p->vals, need);
            if (!nv) {
                parser_fail(p, CW_ISSUE_TOO_COSTLY, "out of memory");
                return;
            }
            p->vals = nv;
            p->vals_cap = need;
        }
        size_t used = 0;
        for (int i = 0; i < nb_attributes; i++) {
            const xmlChar **a = attributes + 5 * i;
            cw_slice v = {(const char *)a[3], (size_t)(a[4] - a[3])};
            if (v.len && memchr(v.ptr, '&', v.len)) {
                char *d = p->vals + used;
                size_t k = 0;
                for (size_t j = 0; j < v.len; j++) {
                    if (v.ptr[j] == '&' && j + 5 <= v.len && memcmp(v.ptr + j, "&#38;", 5) == 0) {
                        d[k++] = '&';
                        j += 4;
                    } else {
                        d[k++] = v.ptr[j];
                    }
                }
                v = (cw_slice){d, k};
                used += k;
            }
            p->attrs[i] = (struct cw_xml_attr){
                .name = xslice(a[0]),
                .prefix = xslice(a[1]),
                .uri = xslice(a[2]),
                .value = v,
            };
        }
        e.attrs = p->attrs;
        e.n_attrs = (size_t)nb_attributes;
    }
    if (nb_namespaces > 0) {
        struct cw_xml_ns *ns = p->ns;
        if ((size_t)nb_namespaces > sizeof p->ns / sizeof p->ns[0]) {
            if ((size_t)nb_namespaces > p->ns_heap_cap) {
                struct cw_xml_ns *nh = realloc(p->ns_heap, (size_t)nb_namespaces * sizeof *nh);
                if (!nh) {
                    parser_fail(p, CW_ISSUE_TOO_COSTLY, "out of memory");
                    return;
                }
                p->ns_heap = nh;
                p->ns_heap_cap = (size_t)nb_namespaces;
            }
            ns = p->ns_heap;
        }
        for (int i = 0; i < nb_namespaces; i++)
            ns[i] = (struct cw_xml_ns){xslice(namespaces[2 * i]), xslice(namespaces[2 * i + 1])};
        e.ns = ns;
        e.n_ns = (size_t)nb_namespaces;
    }
    if (p->h->start && p->h->start(p->ctx, p, &e) < 0) stop_by_handler(p);
}

static void ev_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    struct cw_xml_parser *p = parser_of(ctx);
    if (!p || p->failed) return;
    if (p->depth) p->depth--;
    if (p->h && p->h->end &&
        p->h->end(p->ctx, p, xslice(localname), xslice(prefix), xslice(uri)) < 0)
        stop_by_handler(p);
}

static void ev_text(void *ctx, const xmlChar *ch, int len)
{
    struct cw_xml_parser *p = parser_of(ctx);
    if (!p || p->failed || !p->h || !p->h->text || len < 0) return;
    if (p->h->text(p->ctx, p, (cw_slice){(const char *)ch, (size_t)len}, false) < 0)
        stop_by_handler(p);
}

static void ev_cdata(void *ctx, const xmlChar *ch, int len)
{
    struct cw_xml_parser *p = parser_of(ctx);
    if (!p || p->failed || !p->h || !p->h->text || len < 0) return;
    if (p->h->text(p->ctx, p, (cw_slice){(const char *)ch, (size_t)len}, true) < 0)
        stop_by_handler(p);
}

static void ev_comment(void *ctx, const xmlChar *value)
{
    struct cw_xml_parser *p = parser_of(ctx);
    if (!p || p->failed || !p->h || !p->h->comment) return;
    if (p->h->comment(p->ctx, p, xslice(value)) < 0) stop_by_handler(p);
}

static void ev_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    struct cw_xml_parser *p = parser_of(ctx);
    if (!p || p->failed || !p->h || !p->h->pi) return;
    if (p->h->pi(p->ctx, p, xslice(target), xslice(data)) < 0) stop_by_handler(p);
}

/* A SAX2 handler with only what events need: no document is built. */
static void events_sax(xmlSAXHandler *s)
{
    memset(s, 0, sizeof *s);
    s->initialized = XML_SAX2_MAGIC;
    s->internalSubset = on_internal_subset;
    s->externalSubset = on_internal_subset;
    s->getEntity = on_get_entity;
    s->getParameterEntity = on_get_entity;
    s->startElementNs = ev_start;
    s->endElementNs = ev_end;
    s->characters = ev_text;
    s->ignorableWhitespace = ev_text;
    s->cdataBlock = ev_cdata;
    s->comment = ev_comment;
    s->processingInstruction = ev_pi;
    s->serror = on_error;
}

static void parser_release(struct cw_xml_parser *p)
{
    free(p->attrs);
    free(p->ns_heap);
    free(p->vals);
    p->attrs = NULL;
    p->ns_heap = NULL;
    p->vals = NULL;
}

/* Parse with ctxt (whose sax is set up) and p; returns 0 or -1 with p->err. */
static int run_parse(struct cw_xml_parser *p, const char *xml, size_t n, const char *encoding,
                     xmlDocPtr *doc_out)
{
    xmlParserCtxtPtr ctxt = p->ctxt;
    ctxt->_private = p;
    if (!xml) xml = ""; /* libxml2 returns early, without an error, for a NULL buffer */
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, xml, (int)n, NULL, encoding, PARSE_OPTIONS);
    /* xmlCtxtReadMemory resets the context: _private is kept, check anyway */
    if (!p->failed &&
        (!ctxt->wellFormed || ((p->lim.flags & CW_XML_STRICT_NS) && !ctxt->nsWellFormed))) {
        p->failed = true;
        if (p->err) {
            cw_err_clear(p->err);
            cw_err_set(p->err, CW_ISSUE_STRUCTURE, "malformed XML");
        }
    }
    if (p->failed) {
        if (doc) xmlFreeDoc(doc);
        return -1;
    }
    if (doc_out)
        *doc_out = doc;
    else if (doc)
        xmlFreeDoc(doc);
    return 0;
}

int cw_xml_parse(const char *xml, size_t n, const struct cw_xml_limits *lim,
                 const struct cw_xml_handler *h, void *ctx, struct cw_err *err)
{
    cw_xml_init();
    struct cw_xml_parser p = {.lim = limits_of(lim), .h = h, .ctx = ctx, .err = err};
    if (err) cw_err_clear(err);
    if (cw_xml_check_prolog(xml, n, &p.lim, err) < 0) return -1;
    static const struct cw_xml_handler none;
    if (!p.h) p.h = &none;
    p.ctxt = xmlNewParserCtxt();
    if (!p.ctxt) return prolog_fail(err, CW_ISSUE_TOO_COSTLY, "out of memory");
    events_sax(p.ctxt->sax);
    p.ctxt->_private = &p;
    int r = run_parse(&p, xml, n, NULL, NULL);
    xmlFreeParserCtxt(p.ctxt);
    parser_release(&p);
    return r;
}

/* ==== DOM ==== */

static startElementNsSAX2Func sax2_start;
static endElementNsSAX2Func sax2_end;

static void dom_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                      const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                      int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    struct cw_xml_parser *p = parser_of(ctx);
    if (!p || count_start(p, nb_attributes) < 0) return;
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                          nb_defaulted, attributes);
}

static void dom_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    struct cw_xml_parser *p = parser_of(ctx);
    if (p && p->depth) p->depth--;
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

int cw_xml_read_doc(const char *xml, size_t n, const struct cw_xml_limits *lim, xmlDoc **out,
                    struct cw_err *err)
{
    cw_xml_init();
    (void)sax2_start, (void)sax2_end;
    *out = NULL;
    struct cw_xml_parser p = {.lim = limits_of(lim), .err = err};
    if (cw_xml_check_prolog(xml, n, &p.lim, err) < 0) return -1;
    p.ctxt = xmlNewParserCtxt();
    if (!p.ctxt) return prolog_fail(err, CW_ISSUE_TOO_COSTLY, "out of memory");
    xmlSAXHandler *s = p.ctxt->sax;
    xmlSAXVersion(s, 2);
    s->internalSubset = on_internal_subset;
    s->externalSubset = on_internal_subset;
    s->startElementNs = dom_start;
    s->endElementNs = dom_end;
    s->serror = on_error;
    s->warning = NULL;
    s->error = NULL;
    s->fatalError = NULL;
    p.ctxt->_private = &p;
    xmlDocPtr doc = NULL;
    int r = run_parse(&p, xml, n, NULL, &doc);
    xmlFreeParserCtxt(p.ctxt);
    parser_release(&p);
    if (r == 0 && !doc) r = prolog_fail(err, CW_ISSUE_TOO_COSTLY, "out of memory");
    *out = r == 0 ? doc : NULL;
    return r;
}

void cw_xml_free_doc(xmlDoc *doc)
{
    if (doc) xmlFreeDoc(doc);
}

/* ==== xmlTextReader ==== */

struct cw_xml_reader {
    xmlTextReaderPtr r;
    struct cw_xml_limits lim;
    struct cw_err first; /* first error seen by the handler */
    bool failed;
    int state; /* 0 running, 1 ended, -1 failed */
    size_t nodes;
};

static void reader_error(void *arg, xmlErrorPtr e)
{
    struct cw_xml_reader *rd = arg;
    if (!rd || !e || rd->failed) return;
    if (e->level == XML_ERR_WARNING) return;
    if (e->level == XML_ERR_ERROR && e->domain == XML_FROM_NAMESPACE &&
        !(rd->lim.flags & CW_XML_STRICT_NS))
        return;
    rd->failed = true;
    cw_err_clear(&rd->first);
    cw_err_set(&rd->first, e->code == XML_ERR_NO_MEMORY ? CW_ISSUE_TOO_COSTLY : CW_ISSUE_STRUCTURE,
               "%s (libxml2 code %d)", error_text(e->code), e->code);
    rd->first.line = e->line > 0 ? (unsigned)e->line : 0;
    rd->first.column = e->int2 > 0 ? (unsigned)e->int2 : 0;
}

struct cw_xml_reader *cw_xml_reader_new(const char *xml, size_t n, const struct cw_xml_limits *lim,
                                        struct cw_err *err)
{
    cw_xml_init();
    struct cw_xml_limits l = limits_of(lim);
    if (cw_xml_check_prolog(xml, n, &l, err) < 0) return NULL;
    struct cw_xml_reader *rd = calloc(1, sizeof *rd);
    if (!rd) {
        prolog_fail(err, CW_ISSUE_TOO_COSTLY, "out of memory");
        return NULL;
    }
    rd->lim = l;
    rd->r = xmlReaderForMemory(xml ? xml : "", (int)n, NULL, NULL, PARSE_OPTIONS);
    if (!rd->r) {
        free(rd);
        prolog_fail(err, CW_ISSUE_TOO_COSTLY, "out of memory");
        return NULL;
    }
    xmlTextReaderSetStructuredErrorHandler(rd->r, reader_error, rd);
    return rd;
}

static int reader_fail(struct cw_xml_reader *rd, struct cw_err *err, enum cw_issue issue,
                       const char *msg)
{
    if (!rd->failed) {
        rd->failed = true;
        cw_err_clear(&rd->first);
        cw_err_set(&rd->first, issue, "%s", msg);
        int line = xmlTextReaderGetParserLineNumber(rd->r);
        int col = xmlTextReaderGetParserColumnNumber(rd->r);
        rd->first.line = line > 0 ? (unsigned)line : 0;
        rd->first.column = col > 0 ? (unsigned)col : 0;
    }
    rd->state = -1;
    if (err) *err = rd->first;
    return -1;
}

int cw_xml_reader_next(struct cw_xml_reader *rd, struct cw_err *err)
{
    if (rd->state == 1) return 0;
    if (rd->state == -1) {
        if (err) *err = rd->first;
        return -1;
    }
    int r = xmlTextReaderRead(rd->r);
    if (rd->failed || r < 0) {
        if (!rd->failed) return reader_fail(rd, err, CW_ISSUE_STRUCTURE, "malformed XML");
        rd->state = -1;
        if (err) *err = rd->first;
        return -1;
    }
    if (r == 0) {
        rd->state = 1;
        return 0;
    }
    int type = xmlTextReaderNodeType(rd->r);
    if (type == XML_READER_TYPE_DOCUMENT_TYPE || type == XML_READER_TYPE_ENTITY_REFERENCE ||
        type == XML_READER_TYPE_ENTITY)
        return reader_fail(rd, err, CW_ISSUE_SECURITY,
                           "XML documents with a DOCTYPE (document type declaration) are not "
                           "accepted");
    if (type == XML_READER_TYPE_ELEMENT) {
        int depth = xmlTextReaderDepth(rd->r);
        if (depth < 0 || (unsigned)depth + 1 > rd->lim.max_depth)
            return reader_fail(rd, err, CW_ISSUE_TOO_COSTLY, "XML nested too deeply");
        if (++rd->nodes > rd->lim.max_nodes)
            return reader_fail(rd, err, CW_ISSUE_TOO_COSTLY, "XML document has too many elements");
        int na = xmlTextReaderAttributeCount(rd->r);
        if (na < 0 || (unsigned)na > rd->lim.max_attrs)
            return reader_fail(rd, err, CW_ISSUE_TOO_COSTLY, "XML element has too many attributes");
    }
    return 1;
}

xmlTextReader *cw_xml_reader_libxml(struct cw_xml_reader *r)
{
    return r->r;
}

void cw_xml_reader_free(struct cw_xml_reader *r)
{
    if (!r) return;
    xmlFreeTextReader(r->r);
    free(r);
}

/* ==== fragment checker ==== */

struct cw_xml_checker {
    xmlParserCtxtPtr ctxt;
};

struct cw_xml_checker *cw_xml_checker_new(void)
{
    cw_xml_init();
    struct cw_xml_checker *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->ctxt = xmlNewParserCtxt();
    if (!c->ctxt) {
        free(c);
        return NULL;
    }
    return c;
}

void cw_xml_checker_free(struct cw_xml_checker *c)
{
    if (!c) return;
    xmlFreeParserCtxt(c->ctxt);
    free(c);
}

static void chk_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                      const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                      int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    (void)prefix, (void)nb_namespaces, (void)namespaces, (void)nb_defaulted, (void)attributes;
    struct cw_xml_parser *p = parser_of(ctx);
    if (!p || count_start(p, nb_attributes) < 0) return;
    if (p->depth == 1) {
        if (p->root_seen) {
            parser_fail(p, CW_ISSUE_STRUCTURE, "more than one root element");
            return;
        }
        p->root_seen = true;
        if (!cw_slice_eq(xslice(localname), p->want_name) || !cw_slice_eq(xslice(uri), p->want_uri))
            parser_fail(p, CW_ISSUE_STRUCTURE, "the root element has the wrong name or namespace");
    }
}

static void chk_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    (void)localname, (void)prefix, (void)uri;
    struct cw_xml_parser *p = parser_of(ctx);
    if (!p || p->failed) return;
    if (p->depth) p->depth--;
    if (p->depth == 0) p->root_end = cw_xml_offset(p);
}

static bool name_start_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c >= 0x80;
}

int cw_xml_check_element(struct cw_xml_checker *c, cw_slice text, cw_slice uri, cw_slice name,
                         const struct cw_xml_limits *lim, struct cw_err *err)
{
    struct cw_xml_parser p = {.lim = limits_of(lim),
                              .err = err,
                              .ctxt = c->ctxt,
                              .want_uri = uri,
                              .want_name = name,
                              .root_end = SIZE_MAX};
    if (text.len > p.lim.max_bytes)
        return prolog_fail(err, CW_ISSUE_TOO_LONG, "XML fragment larger than the limit");
    /* nothing before the root: no declaration, DOCTYPE, comment, PI or space */
    if (text.len < 2 || text.ptr[0] != '<' || !name_start_byte((unsigned char)text.ptr[1]))
        return prolog_fail(err, CW_ISSUE_STRUCTURE,
                           "the fragment must start with its root element's start tag");
    xmlSAXHandler *s = c->ctxt->sax;
    memset(s, 0, sizeof *s);
    s->initialized = XML_SAX2_MAGIC;
    s->internalSubset = on_internal_subset;
    s->externalSubset = on_internal_subset;
    s->getEntity = on_get_entity;
    s->getParameterEntity = on_get_entity;
    s->startElementNs = chk_start;
    s->endElementNs = chk_end;
    s->serror = on_error;
    p.lim.flags |= CW_XML_STRICT_NS;
    if (run_parse(&p, text.ptr, text.len, "UTF-8", NULL) < 0) {
        parser_release(&p);
        return -1;
    }
    parser_release(&p);
    if (p.root_end != text.len)
        return prolog_fail(err, CW_ISSUE_STRUCTURE,
                           "the fragment must end with its root element's end tag");
    return 0;
}
