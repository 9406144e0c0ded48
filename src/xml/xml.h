/*
 * xml.h — Causeway's XML layer: safe reading over libxml2, and a fast
 * streaming writer.
 *
 * Every XML reader in Causeway (FHIR XML, C-CDA) goes through this module,
 * so the security rules live in one place (ARCHITECTURE.md, "XML"):
 *  - no network (XML_PARSE_NONET) and a deny-all external entity loader
 *    (xmlSetExternalEntityLoader), installed once by cw_xml_init();
 *  - never XML_PARSE_NOENT, DTDLOAD, DTDATTR, HUGE or XINCLUDE;
 *  - any document with a DOCTYPE is refused before libxml2 sees it (a
 *    prolog scan, cw_xml_check_prolog) and again, as a second line of
 *    defence, from libxml2's internalSubset callback (DOM and event
 *    entry points) or the reader's DOCUMENT_TYPE node. Without a DOCTYPE
 *    no entity can be declared, so billion-laughs, quadratic blowup and
 *    external (file://, http://) entities cannot happen;
 *  - only UTF-8, UTF-16 and a short list of ASCII-compatible 8-bit
 *    encodings (US-ASCII, ISO-8859-n, windows-125n) are accepted, so the
 *    prolog scan cannot be dodged by an exotic encoding (UTF-7, EBCDIC);
 *  - limits on bytes, nesting depth, elements and attributes per element
 *    (struct cw_xml_limits), checked as the parse goes;
 *  - errors become struct cw_err with line/column and a message chosen
 *    here from libxml2's error code — libxml2's own text is never passed
 *    on, because it can quote document content (patient data).
 *
 * Three ways to read, measured on FHIR XML (docs/internals/xml.md): events
 * (SAX2, 200-330 MB/s, what cw_fhir_xml_read uses), the xmlTextReader pull
 * API (~95 MB/s), and a DOM (~80 MB/s, for XPath over ordinary C-CDA).
 * The DOM and reader hand out libxml2's own objects: this is a thin layer,
 * and callers use libxml2's accessors (and XPath) on them.
 *
 * Writing: struct cw_xml_writer appends into a cw_buf (whose maximum bounds
 * the output), escapes text and attribute values, refuses characters XML
 * 1.0 cannot carry (C0 controls other than tab/LF/CR, U+FFFE, U+FFFF,
 * invalid UTF-8), and lays out compact or indented output.
 *
 * Thread safety: cw_xml_init() runs once (pthread_once); after it every
 * function here may be used from any thread on its own objects.
 */
#ifndef CW_XML_XML_H
#define CW_XML_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>
#include <libxml/xmlreader.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/slice.h"

/* ==== set-up ==== */

/*
 * Initialize libxml2 for Causeway: xmlInitParser and the deny-all external
 * entity loader (once per process), and libxml2's generic error output
 * silenced (once per thread: libxml2 keeps that handler per thread).
 * Idempotent and thread-safe; every entry point below calls it, so calling
 * it explicitly is only needed to do the work at start-up.
 */
void cw_xml_init(void);

/* ==== limits ==== */

#define CW_XML_DEFAULT_MAX_BYTES ((size_t)64 << 20) /* 64 MiB */
#define CW_XML_DEFAULT_MAX_DEPTH 256u               /* libxml2's own ceiling too */
#define CW_XML_DEFAULT_MAX_NODES ((size_t)10 << 20) /* elements per document */
#define CW_XML_DEFAULT_MAX_ATTRS 256u               /* attributes per element */

/* cw_xml_limits.flags */
#define CW_XML_STRICT_NS                                                                           \
    0x01 /* namespace errors (undeclared prefix, ...) are fatal;                                   \
            by default libxml2 reports and goes on, which real                                     \
            C-CDA needs */

/* Limits and options for reading. Zero fields take the defaults above. */
struct cw_xml_limits {
    size_t max_bytes;   /* document size (also capped at INT_MAX: libxml2 takes int) */
    unsigned max_depth; /* element nesting (at most 256: libxml2 stops there anyway) */
    size_t max_nodes;   /* elements in the document */
    unsigned max_attrs; /* attributes on one element */
    unsigned flags;     /* CW_XML_STRICT_NS */
};

/*
 * The prolog check every entry point runs first: detects the encoding
 * family (UTF-8 with or without BOM, UTF-16 LE/BE, ASCII-compatible),
 * checks the XML declaration's encoding against the allowed list, and
 * refuses a DOCTYPE (or any other "<!" markup that is not a comment) before
 * the root element. Returns 0 when the document may be given to libxml2,
 * -1 with err (issue "security" for a DOCTYPE, "not-supported" for an
 * encoding, "too-long" for size) otherwise. Never reads past n.
 */
int cw_xml_check_prolog(const char *p, size_t n, const struct cw_xml_limits *lim,
                        struct cw_err *err);

/* ==== events (SAX2): the fast streaming reader ==== */

struct cw_xml_parser; /* the running parse (opaque; valid inside callbacks) */

/*
 * One attribute of a start tag. Slices are valid until the callback
 * returns. The value is what XML 1.0 defines (references decoded, white
 * space normalized), including '&' (see docs/internals/xml.md on libxml2's
 * "&#38;").
 */
struct cw_xml_attr {
    cw_slice name;   /* local name */
    cw_slice prefix; /* "" when unprefixed */
    cw_slice uri;    /* namespace URI, "" when none (unprefixed attributes have none) */
    cw_slice value;  /* decoded and normalized (XML 1.0 section 3.3.3) */
};

/* One namespace declaration on a start tag (xmlns / xmlns:p). */
struct cw_xml_ns {
    cw_slice prefix; /* "" for the default namespace */
    cw_slice uri;
};

/*
 * A start tag. name/prefix/uri are interned by libxml2: NUL-terminated and
 * valid until the parse ends. attrs and ns are valid until the callback
 * returns. depth is 1 for the root element.
 */
struct cw_xml_start {
    cw_slice name, prefix, uri;
    const struct cw_xml_attr *attrs;
    size_t n_attrs;
    const struct cw_xml_ns *ns;
    size_t n_ns;
    unsigned depth;
};

/*
 * Callbacks; each may be NULL. A callback returns 0 to go on or -1 to stop
 * the parse: it then fills the error with cw_xml_fail (or the parse reports
 * "stopped by the handler"). text is character data (cdata: from a CDATA
 * section); libxml2 may split one run of text into several calls.
 * Comments and processing instructions outside the handler's interest may
 * be left NULL (they are skipped).
 */
struct cw_xml_handler {
    int (*start)(void *ctx, struct cw_xml_parser *p, const struct cw_xml_start *e);
    int (*end)(void *ctx, struct cw_xml_parser *p, cw_slice name, cw_slice prefix, cw_slice uri);
    int (*text)(void *ctx, struct cw_xml_parser *p, cw_slice text, bool cdata);
    int (*comment)(void *ctx, struct cw_xml_parser *p, cw_slice text);
    int (*pi)(void *ctx, struct cw_xml_parser *p, cw_slice target, cw_slice data);
};

/*
 * Parse [xml, xml+n) and deliver events to h. Returns 0 when the document
 * was well-formed and no callback stopped it; -1 with err otherwise (issue
 * "structure" for malformed XML with err->line/column, "security" for a
 * DOCTYPE, "too-costly" for a limit, or the handler's own error). lim may
 * be NULL (defaults).
 */
int cw_xml_parse(const char *xml, size_t n, const struct cw_xml_limits *lim,
                 const struct cw_xml_handler *h, void *ctx, struct cw_err *err);

/*
 * Inside a callback: stop the parse with an error. The error gets the
 * current line/column. Returns -1 (for `return cw_xml_fail(...)`).
 */
int cw_xml_fail(struct cw_xml_parser *p, enum cw_issue issue, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Inside a callback: the error the parse will report if the callback
 * returns -1 (fill it yourself, e.g. with a location); line and column are
 * filled by the parser.
 */
struct cw_err *cw_xml_error(struct cw_xml_parser *p);

/* Inside a callback: the current line and column (1-based). */
void cw_xml_position(const struct cw_xml_parser *p, unsigned *line, unsigned *column);

/*
 * Inside a callback: the byte offset in the input just after what the
 * parser has consumed, and whether offsets map to the input bytes (true
 * when the document is UTF-8, so no transcoding happened). In a start
 * callback the offset points at the '>' or "/>" closing the start tag; in
 * an end callback just after the end tag (or after "/>"). Callers that
 * slice the input with it must check the bytes they expect are there.
 */
size_t cw_xml_offset(const struct cw_xml_parser *p);
bool cw_xml_offsets_exact(const struct cw_xml_parser *p);

/* ==== DOM ==== */

/*
 * Parse into a libxml2 document (for XPath and tree access). *out is
 * owned by the caller: free it with cw_xml_free_doc (xmlFreeDoc). Same
 * protections, limits and errors as cw_xml_parse. Blank text nodes are
 * kept (XML_PARSE_NOBLANKS is not set).
 */
int cw_xml_read_doc(const char *xml, size_t n, const struct cw_xml_limits *lim, xmlDoc **out,
                    struct cw_err *err);
void cw_xml_free_doc(xmlDoc *doc);

/* ==== xmlTextReader (pull streaming) ==== */

struct cw_xml_reader; /* opaque */

/*
 * Open a pull reader over [xml, xml+n), which must stay valid and
 * unchanged until cw_xml_reader_free. Returns NULL with err when the
 * prolog check refuses the document or memory is out.
 */
struct cw_xml_reader *cw_xml_reader_new(const char *xml, size_t n, const struct cw_xml_limits *lim,
                                        struct cw_err *err);

/*
 * Advance to the next node. Returns 1 (a node: inspect it with the libxml2
 * accessors on cw_xml_reader_libxml, e.g. xmlTextReaderNodeType,
 * xmlTextReaderConstLocalName, xmlTextReaderConstNamespaceUri,
 * xmlTextReaderConstValue, xmlTextReaderGetAttribute), 0 at the end of a
 * well-formed document, -1 with err (malformed, DOCTYPE, limit). After 0 or
 * -1 further calls return the same.
 */
int cw_xml_reader_next(struct cw_xml_reader *r, struct cw_err *err);

/* The libxml2 reader, for its node accessors. Do not call xmlTextReaderRead
   or change its settings directly: limits are checked in cw_xml_reader_next. */
xmlTextReader *cw_xml_reader_libxml(struct cw_xml_reader *r);

void cw_xml_reader_free(struct cw_xml_reader *r);

/* ==== writing ==== */

#define CW_XML_WRITER_MAX_DEPTH 256

/*
 * Streaming writer. Calls must nest (start/end); attributes follow their
 * start tag before any content. Output errors are sticky: a full buffer
 * fails the cw_buf; a value XML cannot carry sets w->bad_char (and fails
 * nothing else), so write freely and check cw_xml_writer_ok() at the end.
 * Element and attribute names are written as given (the caller supplies
 * valid XML names); names passed to cw_xml_start are borrowed until the
 * matching cw_xml_end.
 */
struct cw_xml_writer {
    struct cw_buf *out;
    int indent;     /* 0 compact; > 0 spaces per level */
    unsigned depth; /* open elements */
    bool in_tag;    /* a start tag is open (attributes may follow) */
    bool bad_char;  /* a text or attribute value held a character XML cannot carry */
    bool too_deep;  /* more than CW_XML_WRITER_MAX_DEPTH open elements, or calls that
                       do not nest (an attribute after content, an end too many) */
    uint8_t content[CW_XML_WRITER_MAX_DEPTH]; /* per open element: 0 none, 1 elements, 2 text */
    cw_slice names[CW_XML_WRITER_MAX_DEPTH];
};

void cw_xml_writer_init(struct cw_xml_writer *w, struct cw_buf *out, int indent);

/* `<?xml version="1.0" encoding="UTF-8"?>` and, when indenting, a newline. */
void cw_xml_declaration(struct cw_xml_writer *w);

/* Open an element; its start tag stays open for cw_xml_attr. */
void cw_xml_start(struct cw_xml_writer *w, cw_slice name);

/* An attribute on the open start tag: name="escaped value". */
void cw_xml_attr(struct cw_xml_writer *w, cw_slice name, cw_slice value);

/* Character data, escaped (&, <, >, and CR as &#13; so it survives reading). */
void cw_xml_text(struct cw_xml_writer *w, cw_slice text);

/*
 * Markup that forms one or more whole elements, written verbatim and laid
 * out like a child element. The caller guarantees it is well-formed
 * (e.g. checked with cw_xml_check_element).
 */
void cw_xml_raw_element(struct cw_xml_writer *w, cw_slice markup);

/*
 * A comment, laid out like text. The caller guarantees text holds no "--"
 * and does not end in '-' (XML 1.0 section 2.5); otherwise the writer
 * flags bad_char.
 */
void cw_xml_comment(struct cw_xml_writer *w, cw_slice text);

/* Close the innermost element ("/>" when it had no content). */
void cw_xml_end(struct cw_xml_writer *w);

/* True when nothing failed: buffer not full, no bad character, nesting ok. */
bool cw_xml_writer_ok(const struct cw_xml_writer *w);

/*
 * Append s escaped for character data / for a double-quoted attribute
 * value. Return 0, or -1 when s holds a character XML 1.0 cannot carry or
 * the buffer is full (check cw_buf_failed to tell which).
 */
int cw_xml_escape_text(struct cw_buf *out, cw_slice s);
int cw_xml_escape_attr(struct cw_buf *out, cw_slice s);

/* True when s is valid UTF-8 made only of characters XML 1.0 allows. */
bool cw_xml_chars_ok(cw_slice s);

/* ==== checking a fragment ==== */

struct cw_xml_checker; /* a reusable parser for small fragments (opaque) */

/* A checker (heap; free with cw_xml_checker_free). NULL when out of memory. */
struct cw_xml_checker *cw_xml_checker_new(void);
void cw_xml_checker_free(struct cw_xml_checker *c);

/*
 * Is text exactly one well-formed, namespace-well-formed element, with
 * nothing before or after it (no XML declaration, DOCTYPE, comment,
 * processing instruction or whitespace), whose root has namespace URI 'uri'
 * and local name 'name'? Used before embedding markup from elsewhere
 * (FHIR JSON's narrative div) into an XML document. Returns 0, or -1 with
 * err (issue "structure", line/column relative to text). lim as above
 * (NULL = defaults). Not thread-safe per checker.
 */
int cw_xml_check_element(struct cw_xml_checker *c, cw_slice text, cw_slice uri, cw_slice name,
                         const struct cw_xml_limits *lim, struct cw_err *err);

#endif
