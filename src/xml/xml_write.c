/*
 * xml_write.c — the streaming XML writer and the escaping functions.
 *
 * Owns: nothing; output goes into the caller's cw_buf (its maximum bounds
 * the output; a full buffer is a sticky failure, see base/buf.h).
 *
 * Spec: XML 1.0 (5th ed.) section 2.2 (Char: tab, LF, CR, U+0020-U+D7FF,
 * U+E000-U+FFFD, U+10000-U+10FFFF), 2.4 (character data: '<' and '&'
 * escaped, "]]>" not allowed, so '>' is escaped too), 2.11 (line ends are
 * normalized on reading: a literal CR would come back as LF, so CR is
 * written as &#13;), 3.3.3 (attribute values are normalized on reading:
 * tab, LF and CR would come back as spaces, so they are written as
 * character references).
 *
 * Invariants: every byte written by cw_xml_escape_* is valid UTF-8 made of
 * XML characters, or the call fails and writes nothing more than a prefix;
 * the writer never emits an unclosed tag except while the caller is still
 * inside it.
 */
#include <pthread.h>
#include <string.h>

#include "xml/xml.h"

/*
 * Byte classes: 0 plain ASCII, 1 escape in text and attributes, 2 escape
 * only in attributes, 3 a C0 control XML cannot carry, 4 first byte of a
 * multi-byte UTF-8 sequence (or an invalid byte) to check.
 */
enum { C_PLAIN = 0, C_BOTH, C_ATTR, C_BAD, C_UTF8 };

static unsigned char byte_class[256];
static const char *text_entity[256];
static const char *attr_entity[256];

static void classes_init(void)
{
    for (int c = 0; c < 0x20; c++) byte_class[c] = C_BAD;
    for (int c = 0x80; c < 0x100; c++) byte_class[c] = C_UTF8;
    byte_class['\t'] = C_ATTR;
    byte_class['\n'] = C_ATTR;
    byte_class['\r'] = C_BOTH;
    byte_class['&'] = C_BOTH;
    byte_class['<'] = C_BOTH;
    byte_class['>'] = C_BOTH;
    byte_class['"'] = C_ATTR;
    text_entity['&'] = "&amp;";
    text_entity['<'] = "&lt;";
    text_entity['>'] = "&gt;";
    text_entity['\r'] = "&#13;";
    attr_entity['&'] = "&amp;";
    attr_entity['<'] = "&lt;";
    attr_entity['>'] = "&gt;";
    attr_entity['"'] = "&quot;";
    attr_entity['\t'] = "&#9;";
    attr_entity['\n'] = "&#10;";
    attr_entity['\r'] = "&#13;";
}

static pthread_once_t classes_once = PTHREAD_ONCE_INIT;

static void ensure_classes(void)
{
    pthread_once(&classes_once, classes_init);
}

/*
 * Length of the UTF-8 sequence at p (first byte >= 0x80) when it is valid
 * and an XML character, else 0. Rejects overlongs, surrogates, > U+10FFFF,
 * and U+FFFE / U+FFFF.
 */
static size_t xml_utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t avail = (size_t)(end - p);
    if (c >= 0xC2 && c <= 0xDF) return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (p[2] & 0xC0) != 0x80) return 0;
        unsigned c1 = p[1];
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80;
        unsigned hi = c == 0xED ? 0x9F : 0xBF;
        if (c1 < lo || c1 > hi) return 0;
        if (c == 0xEF && c1 == 0xBF && (p[2] == 0xBE || p[2] == 0xBF)) return 0; /* FFFE/FFFF */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        unsigned c1 = p[1];
        unsigned lo = c == 0xF0 ? 0x90 : 0x80;
        unsigned hi = c == 0xF4 ? 0x8F : 0xBF;
        return c1 >= lo && c1 <= hi ? 4 : 0;
    }
    return 0;
}

bool cw_xml_chars_ok(cw_slice s)
{
    ensure_classes();
    const unsigned char *p = (const unsigned char *)s.ptr, *e = p + s.len;
    while (p < e) {
        unsigned k = byte_class[*p];
        if (k == C_BAD) return false;
        if (k == C_UTF8) {
            size_t n = xml_utf8_seq(p, e);
            if (!n) return false;
            p += n;
        } else {
            p++;
        }
    }
    return true;
}

/*
 * Escape s with the given entity table; 'stop' is the class from which a
 * byte needs the table (C_BOTH for text: attribute-only bytes pass).
 */
static int escape(struct cw_buf *out, cw_slice s, const char *const *ent, bool attr)
{
    ensure_classes();
    if (s.len && !s.ptr) return -1;
    const unsigned char *p = (const unsigned char *)s.ptr, *e = p + s.len;
    /* common case: reserve once for the plain copy */
    if (cw_buf_reserve(out, s.len) < 0) return -1;
    while (p < e) {
        const unsigned char *run = p;
        for (;;) {
            if (p == e) break;
            unsigned k = byte_class[*p];
            if (k == C_PLAIN || (k == C_ATTR && !attr)) {
                p++;
                continue;
            }
            if (k == C_UTF8) {
                size_t n = xml_utf8_seq(p, e);
                if (!n) break;
                p += n;
                continue;
            }
            break;
        }
        if (p > run && cw_buf_append(out, run, (size_t)(p - run)) < 0) return -1;
        if (p == e) break;
        unsigned k = byte_class[*p];
        if (k == C_BAD || k == C_UTF8) return -1; /* a character XML cannot carry */
        const char *rep = ent[*p];
        if (cw_buf_puts(out, rep) < 0) return -1;
        p++;
    }
    return 0;
}

int cw_xml_escape_text(struct cw_buf *out, cw_slice s)
{
    return escape(out, s, text_entity, false);
}

int cw_xml_escape_attr(struct cw_buf *out, cw_slice s)
{
    return escape(out, s, attr_entity, true);
}

/* ==== the writer ==== */

void cw_xml_writer_init(struct cw_xml_writer *w, struct cw_buf *out, int indent)
{
    ensure_classes();
    w->out = out;
    w->indent = indent > 0 ? indent : 0;
    w->depth = 0;
    w->in_tag = false;
    w->bad_char = false;
    w->too_deep = false;
}

bool cw_xml_writer_ok(const struct cw_xml_writer *w)
{
    return !cw_buf_failed(w->out) && !w->bad_char && !w->too_deep;
}

void cw_xml_declaration(struct cw_xml_writer *w)
{
    cw_buf_puts(w->out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    if (w->indent) cw_buf_putc(w->out, '\n');
}

/* Close an open start tag before content. */
static void close_tag(struct cw_xml_writer *w)
{
    if (w->in_tag) {
        cw_buf_putc(w->out, '>');
        w->in_tag = false;
    }
}

static void newline_indent(struct cw_xml_writer *w, unsigned level)
{
    cw_buf_putc(w->out, '\n');
    cw_buf_fill(w->out, ' ', (size_t)level * (size_t)w->indent);
}

/* Before a child element (or raw element) of the innermost open element. */
static void before_child(struct cw_xml_writer *w)
{
    if (w->depth == 0) return;
    close_tag(w);
    uint8_t *c = &w->content[w->depth - 1];
    if (w->indent && *c != 2) newline_indent(w, w->depth);
    if (*c == 0) *c = 1;
}

void cw_xml_start(struct cw_xml_writer *w, cw_slice name)
{
    if (w->too_deep) return;
    if (w->depth >= CW_XML_WRITER_MAX_DEPTH) {
        w->too_deep = true;
        return;
    }
    before_child(w);
    cw_buf_putc(w->out, '<');
    cw_buf_put_slice(w->out, name);
    w->names[w->depth] = name;
    w->content[w->depth] = 0;
    w->depth++;
    w->in_tag = true;
}

void cw_xml_attr(struct cw_xml_writer *w, cw_slice name, cw_slice value)
{
    if (w->too_deep) return;
    if (!w->in_tag) {
        w->too_deep = true; /* misuse: no open start tag; fail the output */
        return;
    }
    cw_buf_putc(w->out, ' ');
    cw_buf_put_slice(w->out, name);
    cw_buf_append(w->out, "=\"", 2);
    if (cw_xml_escape_attr(w->out, value) < 0 && !cw_buf_failed(w->out)) w->bad_char = true;
    cw_buf_putc(w->out, '"');
}

void cw_xml_text(struct cw_xml_writer *w, cw_slice text)
{
    if (w->too_deep || w->depth == 0 || text.len == 0) return;
    close_tag(w);
    w->content[w->depth - 1] = 2;
    if (cw_xml_escape_text(w->out, text) < 0 && !cw_buf_failed(w->out)) w->bad_char = true;
}

void cw_xml_comment(struct cw_xml_writer *w, cw_slice text)
{
    if (w->too_deep) return;
    if (w->depth) {
        close_tag(w);
        w->content[w->depth - 1] = 2;
    }
    bool ok = cw_xml_chars_ok(text) && !(text.len && text.ptr[text.len - 1] == '-');
    for (size_t i = 0; ok && i + 1 < text.len; i++)
        if (text.ptr[i] == '-' && text.ptr[i + 1] == '-') ok = false;
    if (!ok) {
        w->bad_char = true;
        return;
    }
    cw_buf_append(w->out, "<!--", 4);
    cw_buf_put_slice(w->out, text);
    cw_buf_append(w->out, "-->", 3);
}

void cw_xml_raw_element(struct cw_xml_writer *w, cw_slice markup)
{
    if (w->too_deep) return;
    before_child(w);
    cw_buf_put_slice(w->out, markup);
}

void cw_xml_end(struct cw_xml_writer *w)
{
    if (w->too_deep) return;
    if (w->depth == 0) {
        w->too_deep = true;
        return;
    }
    w->depth--;
    if (w->in_tag) {
        cw_buf_append(w->out, "/>", 2);
        w->in_tag = false;
    } else {
        if (w->indent && w->content[w->depth] == 1) newline_indent(w, w->depth);
        cw_buf_append(w->out, "</", 2);
        cw_buf_put_slice(w->out, w->names[w->depth]);
        cw_buf_putc(w->out, '>');
    }
    if (w->depth == 0 && w->indent) cw_buf_putc(w->out, '\n');
}
