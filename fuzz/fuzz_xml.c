/*
 * fuzz_xml.c — libFuzzer target for the XML layer (src/xml).
 *
 * The input goes through all three readers (events, DOM, xmlTextReader)
 * with tight limits, and through the fragment checker; the three readers
 * must agree on whether the document is acceptable. Then the input is used
 * as a value for the writer: when cw_xml_chars_ok accepts it, an attribute
 * and a text node written with it must parse back to exactly the same
 * bytes (escaping round trip); when it refuses, the writer must flag the
 * output. Mismatches abort.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xml/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct got {
    struct cw_buf attr, text;
    int starts;
};

static int on_start(void *ctx, struct cw_xml_parser *p, const struct cw_xml_start *e)
{
    (void)p;
    struct got *g = ctx;
    if (++g->starts == 1 && e->n_attrs == 1) cw_buf_put_slice(&g->attr, e->attrs[0].value);
    return 0;
}

static int on_text(void *ctx, struct cw_xml_parser *p, cw_slice t, bool cdata)
{
    (void)p, (void)cdata;
    struct got *g = ctx;
    cw_buf_put_slice(&g->text, t);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *doc = (const char *)data;
    struct cw_xml_limits lim = {.max_depth = 64, .max_nodes = 100000, .max_attrs = 64};
    struct cw_err err;

    int r_ev = cw_xml_parse(doc, size, &lim, NULL, NULL, &err);
    xmlDoc *d = NULL;
    int r_dom = cw_xml_read_doc(doc, size, &lim, &d, &err);
    cw_xml_free_doc(d);
    int r_rd = -1;
    struct cw_xml_reader *rd = cw_xml_reader_new(doc, size, &lim, &err);
    if (rd) {
        while ((r_rd = cw_xml_reader_next(rd, &err)) == 1) {
        }
        cw_xml_reader_free(rd);
    }
    if (r_ev != r_dom) {
        fprintf(stderr, "events %d, dom %d\n", r_ev, r_dom);
        abort();
    }
    /* (the pull reader reports some errors at the end of its input window
       only, so it is not compared: crashes and leaks are what it is here for) */
    (void)r_rd;

    struct cw_xml_checker *c = cw_xml_checker_new();
    if (c) {
        cw_xml_check_element(c, (cw_slice){doc, size}, CW_LIT("http://www.w3.org/1999/xhtml"),
                             CW_LIT("div"), &lim, &err);
        cw_xml_checker_free(c);
    }

    /* the writer's escaping */
    cw_slice v = {doc, size};
    struct cw_buf out;
    cw_buf_init(&out, 1u << 22);
    struct cw_xml_writer w;
    cw_xml_writer_init(&w, &out, size & 1 ? 2 : 0);
    cw_xml_start(&w, CW_LIT("r"));
    cw_xml_attr(&w, CW_LIT("v"), v);
    cw_xml_text(&w, v);
    cw_xml_end(&w);
    bool ok = cw_xml_chars_ok(v);
    if (ok != !w.bad_char) {
        fprintf(stderr, "chars_ok %d but writer bad_char %d\n", ok, w.bad_char);
        abort();
    }
    if (ok && !cw_buf_failed(&out)) {
        struct got g = {.starts = 0};
        cw_buf_init(&g.attr, 0);
        cw_buf_init(&g.text, 0);
        struct cw_xml_handler h = {.start = on_start, .text = on_text};
        if (cw_xml_parse(out.ptr, out.len, NULL, &h, &g, &err) != 0) {
            fprintf(stderr, "writer output does not parse: %s\n", err.msg);
            abort();
        }
        if (g.attr.len != size || (size && memcmp(g.attr.ptr, doc, size) != 0) ||
            g.text.len != size || (size && memcmp(g.text.ptr, doc, size) != 0)) {
            fprintf(stderr, "escaping round trip differs\n");
            abort();
        }
        cw_buf_release(&g.attr);
        cw_buf_release(&g.text);
    }
    cw_buf_release(&out);
    return 0;
}
