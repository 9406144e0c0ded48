/*
 * test_xml.c — the XML layer (src/xml): refusal of DOCTYPE / entity
 * attacks, error reporting (line/column, no content echoed), limits, the
 * event, DOM and reader entry points, the writer's escaping and layout, and
 * the fragment checker.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xml/xml.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- helpers: run all three readers on one document ---- */

static int parse_events(const char *doc, size_t n, const struct cw_xml_limits *lim,
                        struct cw_err *err)
{
    return cw_xml_parse(doc, n, lim, NULL, NULL, err);
}

static int parse_dom(const char *doc, size_t n, const struct cw_xml_limits *lim, struct cw_err *err)
{
    xmlDoc *d = NULL;
    int r = cw_xml_read_doc(doc, n, lim, &d, err);
    if (r == 0) assert_non_null(d);
    cw_xml_free_doc(d);
    return r;
}

static int parse_reader(const char *doc, size_t n, const struct cw_xml_limits *lim,
                        struct cw_err *err)
{
    struct cw_xml_reader *r = cw_xml_reader_new(doc, n, lim, err);
    if (!r) return -1;
    int x;
    while ((x = cw_xml_reader_next(r, err)) == 1) {
    }
    cw_xml_reader_free(r);
    return x;
}

typedef int (*parse_fn)(const char *, size_t, const struct cw_xml_limits *, struct cw_err *);
static const parse_fn all_parsers[] = {parse_events, parse_dom, parse_reader};
static const char *const parser_names[] = {"events", "dom", "reader"};

/* Every entry point refuses doc with issue; quickly; without echoing 'secret'. */
static void expect_refused(const char *doc, size_t n, enum cw_issue issue, const char *secret)
{
    for (size_t k = 0; k < 3; k++) {
        struct cw_err err;
        cw_err_clear(&err);
        double t0 = now();
        int r = all_parsers[k](doc, n, NULL, &err);
        double dt = now() - t0;
        if (r != -1) fail_msg("%s accepted the document", parser_names[k]);
        if (err.issue != issue)
            fail_msg("%s: issue %s, want %s (%s)", parser_names[k], cw_issue_code(err.issue),
                     cw_issue_code(issue), err.msg);
        assert_true(dt < 0.5); /* refused before any expansion */
        if (secret) assert_null(strstr(err.msg, secret));
    }
}

/* ---- attacks ---- */

static void test_billion_laughs(void **state)
{
    (void)state;
    const char *doc =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE lolz [\n"
        " <!ENTITY lol \"lol\">\n"
        " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
        " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
        " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
        " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
        " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
        " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
        "]>\n"
        "<lolz>&lol9;</lolz>\n";
    expect_refused(doc, strlen(doc), CW_ISSUE_SECURITY, NULL);
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(cw_xml_check_prolog(doc, strlen(doc), NULL, &err), -1);
    assert_non_null(strstr(err.msg, "DOCTYPE"));
}

static void test_quadratic_blowup(void **state)
{
    (void)state;
    /* one 100 KB entity referenced 50,000 times: ~5 GB if expanded */
    struct cw_buf b;
    cw_buf_init(&b, 0);
    cw_buf_puts(&b, "<?xml version=\"1.0\"?><!DOCTYPE kaboom [<!ENTITY a \"");
    cw_buf_fill(&b, 'a', 100000);
    cw_buf_puts(&b, "\">]><kaboom>");
    for (int i = 0; i < 50000; i++) cw_buf_puts(&b, "&a;");
    cw_buf_puts(&b, "</kaboom>");
    assert_false(cw_buf_failed(&b));
    expect_refused(b.ptr, b.len, CW_ISSUE_SECURITY, NULL);
    cw_buf_release(&b);
}

static void test_external_entity(void **state)
{
    (void)state;
    const char *doc = "<?xml version=\"1.0\"?>\n"
                      "<!DOCTYPE foo [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n"
                      "<foo>&xxe;</foo>";
    expect_refused(doc, strlen(doc), CW_ISSUE_SECURITY, "root:");
    const char *doc2 = "<!DOCTYPE foo SYSTEM \"http://127.0.0.1:1/evil.dtd\"><foo/>";
    expect_refused(doc2, strlen(doc2), CW_ISSUE_SECURITY, NULL);
    const char *doc3 = "<!DOCTYPE foo [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]><foo/>";
    expect_refused(doc3, strlen(doc3), CW_ISSUE_SECURITY, NULL);
}

static void test_doctype_variants(void **state)
{
    (void)state;
    /* after a BOM, comments, PIs and white space */
    const char *doc = "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c -->\n"
                      "<?pi x?>  <!DOCTYPE a><a/>";
    expect_refused(doc, strlen(doc), CW_ISSUE_SECURITY, NULL);
    struct cw_err err;
    assert_int_equal(cw_xml_check_prolog(doc, strlen(doc), NULL, &err), -1);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.column, 11);
    /* a bare DOCTYPE with nothing declared */
    expect_refused("<!DOCTYPE a><a/>", 16, CW_ISSUE_SECURITY, NULL);
    /* UTF-16LE with BOM: the prolog scan reads code units */
    const char *ascii =
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?><!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>";
    size_t n = strlen(ascii);
    char *u16 = malloc(2 + 2 * n);
    u16[0] = (char)0xFF;
    u16[1] = (char)0xFE;
    for (size_t i = 0; i < n; i++) {
        u16[2 + 2 * i] = ascii[i];
        u16[3 + 2 * i] = 0;
    }
    expect_refused(u16, 2 + 2 * n, CW_ISSUE_SECURITY, NULL);
    /* UTF-16BE without BOM */
    for (size_t i = 0; i < n; i++) {
        u16[2 * i] = 0;
        u16[2 * i + 1] = ascii[i];
    }
    expect_refused(u16, 2 * n, CW_ISSUE_SECURITY, NULL);
    free(u16);
}

static void test_encodings(void **state)
{
    (void)state;
    /* UTF-7 would let "+ADw-!DOCTYPE" slip past a byte scan: refused outright */
    const char *utf7 = "<?xml version=\"1.0\" encoding=\"UTF-7\"?><a/>";
    expect_refused(utf7, strlen(utf7), CW_ISSUE_NOT_SUPPORTED, NULL);
    const char ucs4[] = {0, 0, 0, '<', 0, 0, 0, 'a', 0, 0, 0, '/', 0, 0, 0, '>'};
    expect_refused(ucs4, sizeof ucs4, CW_ISSUE_NOT_SUPPORTED, NULL);
    const char ebcdic[] = {0x4C, 0x6F, (char)0xA7, (char)0x94, 0x40};
    expect_refused(ebcdic, sizeof ebcdic, CW_ISSUE_NOT_SUPPORTED, NULL);
    /* allowed 8-bit encodings parse (C-CDA in the wild uses them) */
    const char *latin1 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a b=\"\xE9\">\xE9</a>";
    const char *win = "<?xml version='1.0' encoding='windows-1252'?><a>\x80</a>";
    for (size_t k = 0; k < 3; k++) {
        struct cw_err err;
        assert_int_equal(all_parsers[k](latin1, strlen(latin1), NULL, &err), 0);
        assert_int_equal(all_parsers[k](win, strlen(win), NULL, &err), 0);
    }
    /* UTF-16 with BOM parses */
    const char *ascii = "<a x=\"1\">hi</a>";
    size_t n = strlen(ascii);
    char *u16 = malloc(2 + 2 * n);
    u16[0] = (char)0xFE;
    u16[1] = (char)0xFF;
    for (size_t i = 0; i < n; i++) {
        u16[2 + 2 * i] = 0;
        u16[3 + 2 * i] = ascii[i];
    }
    for (size_t k = 0; k < 3; k++) {
        struct cw_err err;
        assert_int_equal(all_parsers[k](u16, 2 + 2 * n, NULL, &err), 0);
    }
    free(u16);
}

static void test_undeclared_entity_and_xinclude(void **state)
{
    (void)state;
    const char *doc = "<a>\n  <b>&xxe;</b>\n</a>";
    for (size_t k = 0; k < 3; k++) {
        struct cw_err err;
        cw_err_clear(&err);
        assert_int_equal(all_parsers[k](doc, strlen(doc), NULL, &err), -1);
        assert_int_equal(err.issue, CW_ISSUE_STRUCTURE);
        assert_int_equal(err.line, 2);
        assert_non_null(strstr(err.msg, "entity"));
        assert_null(strstr(err.msg, "xxe"));
    }
    /* XInclude is never processed: the element stays an element */
    const char *xi = "<a xmlns:xi=\"http://www.w3.org/2001/XInclude\">"
                     "<xi:include href=\"file:///etc/passwd\" parse=\"text\"/></a>";
    xmlDoc *d = NULL;
    struct cw_err err;
    assert_int_equal(cw_xml_read_doc(xi, strlen(xi), NULL, &d, &err), 0);
    xmlNode *root = xmlDocGetRootElement(d);
    assert_non_null(root->children);
    assert_string_equal((const char *)root->children->name, "include");
    xmlChar *content = xmlNodeGetContent(root);
    assert_string_equal((const char *)content, "");
    xmlFree(content);
    cw_xml_free_doc(d);
}

/* ---- malformed XML: line/column, no content in messages ---- */

static void expect_malformed(const char *doc, unsigned line, unsigned col_min, unsigned col_max)
{
    for (size_t k = 0; k < 3; k++) {
        struct cw_err err;
        cw_err_clear(&err);
        if (all_parsers[k](doc, strlen(doc), NULL, &err) != -1)
            fail_msg("%s accepted: %s", parser_names[k], doc);
        assert_int_equal(err.issue, CW_ISSUE_STRUCTURE);
        if (err.line != line)
            fail_msg("%s: line %u, want %u (%s)", parser_names[k], err.line, line, err.msg);
        if (err.column < col_min || err.column > col_max)
            fail_msg("%s: column %u, want %u..%u (%s)", parser_names[k], err.column, col_min,
                     col_max, err.msg);
        assert_non_null(strstr(err.msg, "libxml2 code"));
        assert_null(strstr(err.msg, "SECRET"));
    }
}

static void test_malformed(void **state)
{
    (void)state;
    /* positions as libxml2 reports them (all three entry points agree) */
    expect_malformed("<a>\n<b>SECRET</c>\n</a>", 2, 14, 14);      /* tag mismatch */
    expect_malformed("<a>\n\n  <b x=SECRET/>\n</a>", 3, 8, 8);    /* unquoted attribute */
    expect_malformed("<a>SECRET & more</a>", 1, 12, 12);          /* bare & */
    expect_malformed("<a>\n<b>SECRET\n", 3, 1, 1);                /* not closed */
    expect_malformed("<a>SECRET\x01</a>", 1, 10, 10);             /* control character */
    expect_malformed("<a b=\"1\" b=\"2\">SECRET</a>", 1, 15, 15); /* attribute twice */
    expect_malformed("<a/><b/>", 1, 5, 5);                        /* two roots */
    expect_malformed("<a>\xC3\x28SECRET</a>", 1, 4, 4);           /* invalid UTF-8 */
    struct cw_err err;
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(all_parsers[k]("", 0, NULL, &err), -1);
        assert_int_equal(err.issue, CW_ISSUE_STRUCTURE);
        assert_int_equal(all_parsers[k](NULL, 0, NULL, &err), -1);
        assert_int_equal(err.issue, CW_ISSUE_STRUCTURE);
        assert_int_equal(all_parsers[k]("  \n ", 4, NULL, &err), -1);
    }
}

static void test_namespaces(void **state)
{
    (void)state;
    const char *doc = "<a><x:b/></a>";
    struct cw_xml_limits strict = {.flags = CW_XML_STRICT_NS};
    for (size_t k = 0; k < 3; k++) {
        struct cw_err err;
        /* real-world C-CDA has undeclared prefixes: accepted by default */
        assert_int_equal(all_parsers[k](doc, strlen(doc), NULL, &err), 0);
        assert_int_equal(all_parsers[k](doc, strlen(doc), &strict, &err), -1);
        assert_non_null(strstr(err.msg, "namespace"));
    }
}

/* ---- limits ---- */

static void test_limits(void **state)
{
    (void)state;
    struct cw_buf b;
    cw_buf_init(&b, 0);
    for (int i = 0; i < 20; i++) cw_buf_puts(&b, "<a>");
    for (int i = 0; i < 20; i++) cw_buf_puts(&b, "</a>");
    struct cw_xml_limits depth = {.max_depth = 19};
    struct cw_xml_limits depth_ok = {.max_depth = 20};
    for (size_t k = 0; k < 3; k++) {
        struct cw_err err;
        assert_int_equal(all_parsers[k](b.ptr, b.len, &depth, &err), -1);
        assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
        assert_int_equal(all_parsers[k](b.ptr, b.len, &depth_ok, &err), 0);
    }
    /* deeper than libxml2's own ceiling (256) is refused whatever is asked */
    cw_buf_reset(&b);
    for (int i = 0; i < 300; i++) cw_buf_puts(&b, "<a>");
    for (int i = 0; i < 300; i++) cw_buf_puts(&b, "</a>");
    struct cw_xml_limits deep = {.max_depth = 100000};
    for (size_t k = 0; k < 3; k++) {
        struct cw_err err;
        assert_int_equal(all_parsers[k](b.ptr, b.len, &deep, &err), -1);
    }
    /* element count */
    cw_buf_reset(&b);
    cw_buf_puts(&b, "<r>");
    for (int i = 0; i < 100; i++) cw_buf_puts(&b, "<e/>");
    cw_buf_puts(&b, "</r>");
    struct cw_xml_limits nodes = {.max_nodes = 100};
    struct cw_xml_limits nodes_ok = {.max_nodes = 101};
    for (size_t k = 0; k < 3; k++) {
        struct cw_err err;
        assert_int_equal(all_parsers[k](b.ptr, b.len, &nodes, &err), -1);
        assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
        assert_int_equal(all_parsers[k](b.ptr, b.len, &nodes_ok, &err), 0);
    }
    /* attributes per element */
    const char *attrs = "<a a1=\"1\" a2=\"2\" a3=\"3\"/>";
    struct cw_xml_limits at = {.max_attrs = 2};
    for (size_t k = 0; k < 3; k++) {
        struct cw_err err;
        assert_int_equal(all_parsers[k](attrs, strlen(attrs), &at, &err), -1);
        assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
    }
    /* bytes */
    struct cw_xml_limits bytes = {.max_bytes = 10};
    for (size_t k = 0; k < 3; k++) {
        struct cw_err err;
        assert_int_equal(all_parsers[k](attrs, strlen(attrs), &bytes, &err), -1);
        assert_int_equal(err.issue, CW_ISSUE_TOO_LONG);
    }
    cw_buf_release(&b);
}

/* ---- events ---- */

struct rec {
    struct cw_buf log;
    size_t div_start, div_end;
    int stop_at; /* stop in the start callback of this element number (0 = never) */
    int starts;
};

static int rec_start(void *ctx, struct cw_xml_parser *p, const struct cw_xml_start *e)
{
    struct rec *r = ctx;
    r->starts++;
    if (r->stop_at && r->starts == r->stop_at) {
        struct cw_err *err = cw_xml_error(p);
        cw_err_set(err, CW_ISSUE_VALUE, "handler says no");
        cw_err_at(err, "here");
        return -1;
    }
    cw_buf_printf(&r->log, "<%.*s|%.*s|%.*s d%u", CW_SLICE_FMT(e->name), CW_SLICE_FMT(e->prefix),
                  CW_SLICE_FMT(e->uri), e->depth);
    for (size_t i = 0; i < e->n_ns; i++)
        cw_buf_printf(&r->log, " ns(%.*s=%.*s)", CW_SLICE_FMT(e->ns[i].prefix),
                      CW_SLICE_FMT(e->ns[i].uri));
    for (size_t i = 0; i < e->n_attrs; i++)
        cw_buf_printf(&r->log, " @%.*s:%.*s=[%.*s]", CW_SLICE_FMT(e->attrs[i].prefix),
                      CW_SLICE_FMT(e->attrs[i].name), CW_SLICE_FMT(e->attrs[i].value));
    cw_buf_putc(&r->log, '>');
    if (cw_slice_eq(e->name, CW_LIT("div"))) {
        assert_true(cw_xml_offsets_exact(p));
        r->div_start = cw_xml_offset(p);
    }
    return 0;
}

static int rec_end(void *ctx, struct cw_xml_parser *p, cw_slice name, cw_slice prefix, cw_slice uri)
{
    (void)prefix, (void)uri;
    struct rec *r = ctx;
    cw_buf_printf(&r->log, "</%.*s>", CW_SLICE_FMT(name));
    if (cw_slice_eq(name, CW_LIT("div"))) r->div_end = cw_xml_offset(p);
    return 0;
}

static int rec_text(void *ctx, struct cw_xml_parser *p, cw_slice t, bool cdata)
{
    (void)p;
    struct rec *r = ctx;
    cw_buf_printf(&r->log, "%s[%.*s]", cdata ? "C" : "T", CW_SLICE_FMT(t));
    return 0;
}

static int rec_comment(void *ctx, struct cw_xml_parser *p, cw_slice t)
{
    (void)p;
    struct rec *r = ctx;
    cw_buf_printf(&r->log, "!%.*s!", CW_SLICE_FMT(t));
    return 0;
}

static const struct cw_xml_handler rec_h = {
    .start = rec_start, .end = rec_end, .text = rec_text, .comment = rec_comment};

static void test_events(void **state)
{
    (void)state;
    const char *doc = "<?xml version=\"1.0\"?>\n"
                      "<r xmlns=\"urn:a\" xmlns:p=\"urn:p\" p:x=\"&amp;&#38;&lt;&gt;&quot;&#65;\">"
                      "<p:e a=\"1&#10;2\tz\n3\"/><!--c-->a&amp;b<![CDATA[<x>]]></r>";
    struct rec r = {0};
    cw_buf_init(&r.log, 0);
    struct cw_err err;
    assert_int_equal(cw_xml_parse(doc, strlen(doc), NULL, &rec_h, &r, &err), 0);
    /* attribute values decoded (&amp; and &#38; both give '&'), normalized
       (literal tab/LF -> space; &#10; kept) */
    assert_string_equal(cw_buf_cstr(&r.log),
                        "<r||urn:a d1 ns(=urn:a) ns(p=urn:p) @p:x=[&&<>\"A]>"
                        "<e|p|urn:p d2 @:a=[1\n2 z 3]></e>!c!T[a]T[&]T[b]C[<x>]</r>");
    cw_buf_release(&r.log);
}

static void test_event_offsets(void **state)
{
    (void)state;
    const char *doc = "\xEF\xBB\xBF<t><div xmlns=\"urn:x\" a=\"&gt;\"><b>x</b><br/></div></t>";
    struct rec r = {0};
    cw_buf_init(&r.log, 0);
    struct cw_err err;
    assert_int_equal(cw_xml_parse(doc, strlen(doc), NULL, &rec_h, &r, &err), 0);
    /* start: at the '>' closing the start tag; end: after the end tag */
    assert_int_equal(doc[r.div_start], '>');
    const char *want = "<div xmlns=\"urn:x\" a=\"&gt;\"><b>x</b><br/></div>";
    const char *at = strstr(doc, "<div");
    assert_int_equal(r.div_end, (size_t)(at - doc) + strlen(want));
    assert_memory_equal(at, want, strlen(want));
    cw_buf_release(&r.log);

    /* an empty element: the end offset follows "/>" */
    const char *doc2 = "<t><div/></t>";
    struct rec r2 = {0};
    cw_buf_init(&r2.log, 0);
    assert_int_equal(cw_xml_parse(doc2, strlen(doc2), NULL, &rec_h, &r2, &err), 0);
    assert_int_equal(r2.div_end, 9);
    cw_buf_release(&r2.log);
}

static void test_handler_stop(void **state)
{
    (void)state;
    const char *doc = "<a>\n<b/>\n<c/>\n</a>";
    struct rec r = {.stop_at = 3};
    cw_buf_init(&r.log, 0);
    struct cw_err err;
    assert_int_equal(cw_xml_parse(doc, strlen(doc), NULL, &rec_h, &r, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_VALUE);
    assert_string_equal(err.msg, "handler says no");
    assert_string_equal(err.location, "here");
    assert_int_equal(err.line, 3);
    assert_int_equal(r.starts, 3);
    cw_buf_release(&r.log);
}

/* ---- DOM and reader ---- */

static void test_dom(void **state)
{
    (void)state;
    const char *doc = "<r xmlns=\"urn:a\"><e k=\"v &amp; w\">t</e><e/></r>";
    xmlDoc *d = NULL;
    struct cw_err err;
    assert_int_equal(cw_xml_read_doc(doc, strlen(doc), NULL, &d, &err), 0);
    xmlNode *root = xmlDocGetRootElement(d);
    assert_string_equal((const char *)root->name, "r");
    assert_string_equal((const char *)root->ns->href, "urn:a");
    xmlNode *e = root->children;
    xmlChar *k = xmlGetProp(e, BAD_CAST "k");
    assert_string_equal((const char *)k, "v & w");
    xmlFree(k);
    assert_non_null(e->next);
    cw_xml_free_doc(d);
}

static void test_reader(void **state)
{
    (void)state;
    const char *doc = "<r><e k=\"v &amp; w\">t</e><f/></r>";
    struct cw_err err;
    struct cw_xml_reader *r = cw_xml_reader_new(doc, strlen(doc), NULL, &err);
    assert_non_null(r);
    struct cw_buf log;
    cw_buf_init(&log, 0);
    int x;
    while ((x = cw_xml_reader_next(r, &err)) == 1) {
        xmlTextReader *l = cw_xml_reader_libxml(r);
        int type = xmlTextReaderNodeType(l);
        if (type == XML_READER_TYPE_ELEMENT) {
            cw_buf_printf(&log, "<%s", (const char *)xmlTextReaderConstLocalName(l));
            xmlChar *k = xmlTextReaderGetAttribute(l, BAD_CAST "k");
            if (k) cw_buf_printf(&log, " k=%s", (const char *)k);
            xmlFree(k);
            cw_buf_putc(&log, '>');
        } else if (type == XML_READER_TYPE_TEXT) {
            cw_buf_printf(&log, "[%s]", (const char *)xmlTextReaderConstValue(l));
        } else if (type == XML_READER_TYPE_END_ELEMENT) {
            cw_buf_printf(&log, "</%s>", (const char *)xmlTextReaderConstLocalName(l));
        }
    }
    assert_int_equal(x, 0);
    assert_int_equal(cw_xml_reader_next(r, &err), 0); /* stays at the end */
    assert_string_equal(cw_buf_cstr(&log), "<r><e k=v & w>[t]</e><f></r>");
    cw_buf_release(&log);
    cw_xml_reader_free(r);

    /* an error sticks */
    const char *bad = "<r>\n<e></f></r>";
    r = cw_xml_reader_new(bad, strlen(bad), NULL, &err);
    assert_non_null(r);
    while ((x = cw_xml_reader_next(r, &err)) == 1) {
    }
    assert_int_equal(x, -1);
    assert_int_equal(err.line, 2);
    cw_err_clear(&err);
    assert_int_equal(cw_xml_reader_next(r, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_STRUCTURE);
    cw_xml_reader_free(r);
    /* DOCTYPE refused at open */
    assert_null(cw_xml_reader_new("<!DOCTYPE r><r/>", 16, NULL, &err));
    assert_int_equal(err.issue, CW_ISSUE_SECURITY);
}

/* ---- writer ---- */

static void test_escape(void **state)
{
    (void)state;
    struct cw_buf b;
    cw_buf_init(&b, 0);
    assert_int_equal(cw_xml_escape_text(&b, CW_LIT("a<b>&c\"d'e\tf\ng\rh\xC3\xA9")), 0);
    assert_string_equal(cw_buf_cstr(&b), "a&lt;b&gt;&amp;c\"d'e\tf\ng&#13;h\xC3\xA9");
    cw_buf_reset(&b);
    assert_int_equal(cw_xml_escape_attr(&b, CW_LIT("a<b>&c\"d'e\tf\ng\rh")), 0);
    assert_string_equal(cw_buf_cstr(&b), "a&lt;b&gt;&amp;c&quot;d'e&#9;f&#10;g&#13;h");
    /* characters XML 1.0 cannot carry */
    const cw_slice bad[] = {CW_LIT("a\x01"),        CW_LIT("\x1F"), CW_LIT("x\xEF\xBF\xBE"),
                            CW_LIT("\xEF\xBF\xBF"), CW_LIT("\xC3"), CW_LIT("\xED\xA0\x80"),
                            CW_LIT("\xC0\xAF"),     {"a\0b", 3}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cw_buf_reset(&b);
        assert_int_equal(cw_xml_escape_text(&b, bad[i]), -1);
        assert_false(cw_buf_failed(&b));
        assert_int_equal(cw_xml_escape_attr(&b, bad[i]), -1);
        assert_false(cw_xml_chars_ok(bad[i]));
    }
    assert_true(cw_xml_chars_ok(CW_LIT("ok \xF0\x9F\x98\x80 \xEF\xBF\xBD")));
    /* a full buffer fails */
    struct cw_buf small;
    cw_buf_init(&small, 4);
    assert_int_equal(cw_xml_escape_text(&small, CW_LIT("abcdefgh")), -1);
    assert_true(cw_buf_failed(&small));
    cw_buf_release(&small);
    cw_buf_release(&b);
}

static void write_sample(struct cw_xml_writer *w)
{
    cw_xml_declaration(w);
    cw_xml_start(w, CW_LIT("r"));
    cw_xml_attr(w, CW_LIT("xmlns"), CW_LIT("urn:a"));
    cw_xml_start(w, CW_LIT("e"));
    cw_xml_attr(w, CW_LIT("v"), CW_LIT("1 \"2\""));
    cw_xml_end(w);
    cw_xml_start(w, CW_LIT("g"));
    cw_xml_start(w, CW_LIT("h"));
    cw_xml_end(w);
    cw_xml_end(w);
    cw_xml_start(w, CW_LIT("t"));
    cw_xml_text(w, CW_LIT("x < y"));
    cw_xml_end(w);
    cw_xml_raw_element(w, CW_LIT("<div xmlns=\"urn:x\"><b>1</b></div>"));
    cw_xml_end(w);
}

static void test_writer_layout(void **state)
{
    (void)state;
    struct cw_buf b;
    cw_buf_init(&b, 0);
    struct cw_xml_writer w;
    cw_xml_writer_init(&w, &b, 0);
    write_sample(&w);
    assert_true(cw_xml_writer_ok(&w));
    assert_string_equal(cw_buf_cstr(&b),
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><r xmlns=\"urn:a\">"
                        "<e v=\"1 &quot;2&quot;\"/><g><h/></g><t>x &lt; y</t>"
                        "<div xmlns=\"urn:x\"><b>1</b></div></r>");
    cw_buf_reset(&b);
    cw_xml_writer_init(&w, &b, 2);
    write_sample(&w);
    assert_true(cw_xml_writer_ok(&w));
    assert_string_equal(cw_buf_cstr(&b), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                         "<r xmlns=\"urn:a\">\n"
                                         "  <e v=\"1 &quot;2&quot;\"/>\n"
                                         "  <g>\n"
                                         "    <h/>\n"
                                         "  </g>\n"
                                         "  <t>x &lt; y</t>\n"
                                         "  <div xmlns=\"urn:x\"><b>1</b></div>\n"
                                         "</r>\n");
    /* a bad character is reported, not written silently */
    cw_buf_reset(&b);
    cw_xml_writer_init(&w, &b, 0);
    cw_xml_start(&w, CW_LIT("r"));
    cw_xml_attr(&w, CW_LIT("v"), CW_LIT("\x02"));
    cw_xml_end(&w);
    assert_true(w.bad_char);
    assert_false(cw_xml_writer_ok(&w));
    /* misuse: an attribute after content, and an end too many */
    cw_buf_reset(&b);
    cw_xml_writer_init(&w, &b, 0);
    cw_xml_start(&w, CW_LIT("r"));
    cw_xml_text(&w, CW_LIT("x"));
    cw_xml_attr(&w, CW_LIT("v"), CW_LIT("1"));
    assert_false(cw_xml_writer_ok(&w));
    cw_xml_writer_init(&w, &b, 0);
    cw_xml_end(&w);
    assert_false(cw_xml_writer_ok(&w));
    /* nesting limit */
    cw_buf_reset(&b);
    cw_xml_writer_init(&w, &b, 0);
    for (int i = 0; i <= CW_XML_WRITER_MAX_DEPTH; i++) cw_xml_start(&w, CW_LIT("a"));
    assert_false(cw_xml_writer_ok(&w));
    cw_buf_release(&b);
}

/* What the writer escapes, the reader gives back exactly. */
static void test_writer_round_trip(void **state)
{
    (void)state;
    const cw_slice values[] = {
        CW_LIT("plain"),
        CW_LIT(" lead and trail "),
        CW_LIT("tab\there"),
        CW_LIT("nl\nhere"),
        CW_LIT("cr\rhere"),
        CW_LIT("crlf\r\nhere"),
        CW_LIT("<&>\"'"),
        CW_LIT("]]>"),
        CW_LIT("\xE2\x82\xAC \xF0\x9F\x98\x80"),
        CW_LIT("&amp; &#38;"),
        CW_LIT(""),
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        struct cw_buf b;
        cw_buf_init(&b, 0);
        struct cw_xml_writer w;
        cw_xml_writer_init(&w, &b, 0);
        cw_xml_start(&w, CW_LIT("r"));
        cw_xml_attr(&w, CW_LIT("v"), values[i]);
        cw_xml_start(&w, CW_LIT("t"));
        cw_xml_text(&w, values[i]);
        cw_xml_end(&w);
        cw_xml_end(&w);
        assert_true(cw_xml_writer_ok(&w));
        struct rec r = {0};
        cw_buf_init(&r.log, 0);
        struct cw_err err;
        assert_int_equal(cw_xml_parse(b.ptr, b.len, NULL, &rec_h, &r, &err), 0);
        /* text may arrive in pieces: rebuild it */
        struct cw_buf want;
        cw_buf_init(&want, 0);
        cw_buf_printf(&want, "<r|| d1 @:v=[%.*s]><t|| d2>", CW_SLICE_FMT(values[i]));
        const char *log = cw_buf_cstr(&r.log);
        assert_memory_equal(log, want.ptr, want.len);
        /* concatenate the T[...] pieces */
        struct cw_buf text;
        cw_buf_init(&text, 0);
        const char *p = log + want.len;
        while (p[0] == 'T' && p[1] == '[') {
            const char *q = p + 2;
            const char *close = strstr(q, "]T[");
            const char *end = strstr(q, "]</t>");
            const char *stop = close && close < end ? close : end;
            cw_buf_append(&text, q, (size_t)(stop - q));
            p = stop + 1;
        }
        assert_int_equal(text.len, values[i].len);
        if (values[i].len) assert_memory_equal(text.ptr, values[i].ptr, values[i].len);
        cw_buf_release(&text);
        cw_buf_release(&want);
        cw_buf_release(&r.log);
        cw_buf_release(&b);
    }
}

/* ---- fragment checker ---- */

static void test_check_element(void **state)
{
    (void)state;
    struct cw_xml_checker *c = cw_xml_checker_new();
    assert_non_null(c);
    const cw_slice ns = CW_LIT("http://www.w3.org/1999/xhtml"), div = CW_LIT("div");
    struct cw_err err;
    const char *good[] = {
        "<div xmlns=\"http://www.w3.org/1999/xhtml\">x &amp; <b>y</b><!-- c --></div>",
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"/>",
        "<h:div xmlns:h=\"http://www.w3.org/1999/xhtml\"><h:p>1</h:p></h:div>",
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><![CDATA[<]]>&#160;</div>",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (cw_xml_check_element(c, cw_slice_cstr(good[i]), ns, div, NULL, &err) != 0)
            fail_msg("refused %s: %s", good[i], err.msg);
    const char *bad[] = {
        "<div>no namespace</div>",
        "<p xmlns=\"http://www.w3.org/1999/xhtml\">wrong root</p>",
        " <div xmlns=\"http://www.w3.org/1999/xhtml\"/>",
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"/> ",
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"/><!-- after -->",
        ("<div xmlns=\"http://www.w3.org/1999/xhtml\"/><div "
         "xmlns=\"http://www.w3.org/1999/xhtml\"/>"),
        "<?xml version=\"1.0\"?><div xmlns=\"http://www.w3.org/1999/xhtml\"/>",
        "<!DOCTYPE div><div xmlns=\"http://www.w3.org/1999/xhtml\"/>",
        "<div xmlns=\"http://www.w3.org/1999/xhtml\">&nbsp;</div>",
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><b></div></b>",
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"></div></text><evil/><text>",
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><x:b/></div>",
        "",
        "<",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (cw_xml_check_element(c, cw_slice_cstr(bad[i]), ns, div, NULL, &err) != -1)
            fail_msg("accepted %s", bad[i]);
    /* the checker is reusable after errors */
    assert_int_equal(cw_xml_check_element(c, cw_slice_cstr(good[0]), ns, div, NULL, &err), 0);
    /* not NUL-terminated input: only the slice is read */
    const char *buf = "<div xmlns=\"http://www.w3.org/1999/xhtml\"/>GARBAGE";
    assert_int_equal(cw_xml_check_element(c, (cw_slice){buf, strlen(buf) - 7}, ns, div, NULL, &err),
                     0);
    cw_xml_checker_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_billion_laughs),
        cmocka_unit_test(test_quadratic_blowup),
        cmocka_unit_test(test_external_entity),
        cmocka_unit_test(test_doctype_variants),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_undeclared_entity_and_xinclude),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_namespaces),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_event_offsets),
        cmocka_unit_test(test_handler_stop),
        cmocka_unit_test(test_dom),
        cmocka_unit_test(test_reader),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_writer_layout),
        cmocka_unit_test(test_writer_round_trip),
        cmocka_unit_test(test_check_element),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
