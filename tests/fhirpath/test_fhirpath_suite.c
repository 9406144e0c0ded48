/*
 * test_fhirpath_suite.c — the official FHIRPath test suite for FHIR R4
 * (corpus fhirpath-tests/r4/tests-fhir-r4.xml, from FHIR/fhir-test-cases),
 * run against the engine. Prints "fhirpath: N passed, M failed".
 *
 * Reading the suite: libxml2 with XML_PARSE_NONET, no entity expansion, a
 * deny-all external entity loader, and any DOCTYPE refused.
 * Inputs: the suite names XML resources (and a few JSON ones). The XML
 * files are converted to the JSON DOM here (x2j_*, driven by the R4
 * definitions), so the tests run on the suite's own data; with
 * CW_FHIRPATH_SUITE_JSON=1 the JSON versions in r4/json/ (made by the
 * fhirpath.js project, not identical: e.g. valueUuid there is an object)
 * are used instead.
 *
 * Per test (attributes: SOURCES.md, testSchema.xsd):
 *  - invalid="syntax|semantic|execution|true": the expression must be
 *    rejected: syntax errors by the compiler; semantic and execution
 *    errors by the compiler (with the mode's checks) or the evaluation;
 *  - mode="strict": compiled with CW_FHIRPATH_STRICT against the input's
 *    type; checkOrderedFunctions="true" adds CW_FHIRPATH_CHECK_ORDERED;
 *  - predicate="true": the result is reduced to exists();
 *  - ordered="false": the outputs may come in any order;
 *  - <output type="T">text</output>: one per item, compared by type family
 *    and by value (dates without the '@'; decimals and untyped outputs
 *    also by numeric value at the same precision, so -0.0 equals 0.0).
 *
 * Known suite errors: tests/fhirpath/suite-errors.txt lists the tests the
 * suite gets wrong, each explained in docs/conformance.md ("FHIRPath").
 * The test fails when any other test fails, and when a listed test passes
 * (the list must stay true).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhirpath.h"
#include "json/json.h"

#ifdef CW_HAVE_LIBXML2
#include <libxml/parser.h>
#include <libxml/tree.h>

#define MAX_KNOWN  64
#define MAX_INPUTS 32

struct known {
    char name[96];
    char reason[200]; /* the comment after the name */
    bool seen_failing;
    bool seen;
};

struct input {
    char file[128];
    char *text;
    struct cw_arena *a;
    struct cw_json *json;
};

struct suite {
    const char *dir;
    struct known known[MAX_KNOWN];
    size_t n_known;
    struct input inputs[MAX_INPUTS];
    size_t n_inputs;
    bool json_inputs; /* CW_FHIRPATH_SUITE_JSON=1: r4/json/ instead of the XML */
    int passed, failed, known_failed, unexpected, stale;
    struct cw_buf report;
};

static xmlParserInputPtr deny_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url, (void)id, (void)ctxt;
    return NULL;
}

static void load_known(struct suite *s)
{
    char path[1024];
    const char *src = getenv("CW_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/fhirpath/suite-errors.txt", src ? src : ".");
    size_t len;
    char *t = cw_test_read_file(path, &len);
    if (!t) fail_msg("cannot read %s", path);
    char *line = t;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        char *hash = strchr(line, '#');
        const char *reason = "";
        if (hash) {
            *hash = 0;
            reason = hash + 1;
            while (*reason == ' ') reason++;
        }
        char name[96];
        size_t k = 0;
        for (char *p = line; *p && k + 1 < sizeof name; p++)
            if (*p != ' ' && *p != '\t' && *p != '\r') name[k++] = *p;
        name[k] = 0;
        if (k) {
            assert_true(s->n_known < MAX_KNOWN);
            snprintf(s->known[s->n_known].name, sizeof s->known[0].name, "%s", name);
            snprintf(s->known[s->n_known].reason, sizeof s->known[0].reason, "%s", reason);
            s->n_known++;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(t);
}

static struct known *find_known(struct suite *s, const char *name)
{
    for (size_t i = 0; i < s->n_known; i++)
        if (strcmp(s->known[i].name, name) == 0) return &s->known[i];
    return NULL;
}

static char *attr(xmlNodePtr n, const char *name)
{
    return (char *)xmlGetProp(n, (const xmlChar *)name);
}

/* ---- FHIR XML (R4 xml.html) -> the JSON DOM (json.html) ---- */

/*
 * Enough of the R4 XML format for the suite's inputs, driven by the
 * definitions: element names are the JSON names (valueQuantity), arrays
 * follow the element cardinality, primitives carry value="" (kind from the
 * type: number, boolean or string), their id/extension go to "_name",
 * Extension.url and element ids are attributes, resources nest one level
 * inside their element, and the narrative div is kept as XHTML text.
 */
struct xitem {
    cw_slice key;
    struct cw_json value; /* JSON null when a primitive has no value */
    struct cw_json ext;   /* JSON null when none */
    bool array;
    bool primitive;
};

static struct cw_json x2j_resource(struct cw_arena *a, xmlNodePtr el);

static cw_slice xdup(struct cw_arena *a, const char *s)
{
    return cw_arena_dup(a, cw_slice_cstr(s));
}

static struct cw_json x2j_object(struct cw_arena *a, xmlNodePtr el, struct cw_fhir_elem ctx,
                                 struct cw_fhir_sd type, bool primitive_ext);

static void x2j_attr(struct cw_arena *a, xmlNodePtr el, const char *name, struct cw_json *obj)
{
    char *v = attr(el, name);
    if (v) {
        cw_json_set(a, obj, cw_arena_dup(a, cw_slice_cstr(name)), cw_json_string(xdup(a, v)));
        xmlFree(v);
    }
}

/* The children of el as members of *obj. */
static void x2j_children(struct cw_arena *a, xmlNodePtr el, struct cw_fhir_elem ctx,
                         struct cw_fhir_sd type, struct cw_json *obj)
{
    struct xitem items[512];
    size_t n = 0;
    for (xmlNodePtr c = el->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        cw_slice name = cw_slice_cstr((const char *)c->name);
        struct cw_fhir_prop prop;
        if (cw_fhir_resolve(ctx, type, name, &prop) < 0)
            fail_msg("XML input: unknown element '%.*s' in %.*s", CW_SLICE_FMT(name),
                     CW_SLICE_FMT(cw_fhir_sd_type_name(type)));
        assert_true(n < 512);
        struct xitem *it = &items[n++];
        it->key = cw_arena_dup(a, name);
        it->array = (prop.flags & CW_FHIR_PROP_ARRAY) != 0;
        it->value = cw_json_null();
        it->ext = cw_json_null();
        enum cw_fhir_kind kind = cw_fhir_sd_kind(prop.type);
        it->primitive = kind == CW_FHIR_KIND_PRIMITIVE;
        if (kind == CW_FHIR_KIND_PRIMITIVE) {
            if (cw_slice_eq_cstr(cw_fhir_sd_type_name(prop.type), "xhtml")) {
                xmlBufferPtr xb = xmlBufferCreate();
                xmlNodeDump(xb, c->doc, c, 0, 0);
                it->value = cw_json_string(
                    cw_arena_dup(a, cw_slice_cstr((const char *)xmlBufferContent(xb))));
                xmlBufferFree(xb);
                continue;
            }
            char *v = attr(c, "value");
            if (v) {
                switch (cw_fhir_sd_json_kind(prop.type)) {
                case CW_FHIR_JSON_NUMBER:
                    it->value = cw_json_number_text(xdup(a, v));
                    break;
                case CW_FHIR_JSON_BOOLEAN:
                    it->value = cw_json_bool(strcmp(v, "true") == 0);
                    break;
                default:
                    it->value = cw_json_string(xdup(a, v));
                    break;
                }
                xmlFree(v);
            }
            struct cw_json ext = x2j_object(a, c, cw_fhir_sd_root(prop.type), prop.type, true);
            if (ext.len) it->ext = ext;
        } else if (kind == CW_FHIR_KIND_RESOURCE) {
            xmlNodePtr r = c->children;
            while (r && r->type != XML_ELEMENT_NODE) r = r->next;
            if (!r) fail_msg("XML input: empty resource element");
            it->value = x2j_resource(a, r);
        } else {
            it->value = x2j_object(a, c, prop.elem, prop.type, false);
        }
    }
    /* group by name, first occurrence order */
    for (size_t i = 0; i < n; i++) {
        if (!items[i].key.ptr) continue;
        cw_slice key = items[i].key;
        if (!items[i].array) {
            if (items[i].value.type != CW_JSON_NULL) cw_json_set(a, obj, key, items[i].value);
            if (items[i].ext.type != CW_JSON_NULL) {
                char *k = cw_arena_printf(a, "_%.*s", CW_SLICE_FMT(key));
                cw_json_set(a, obj, cw_slice_cstr(k), items[i].ext);
            }
            continue;
        }
        struct cw_json arr = cw_json_array(), xarr = cw_json_array();
        bool any_ext = false, any_value = false;
        for (size_t j = i; j < n; j++) {
            if (!items[j].key.ptr || !cw_slice_eq(items[j].key, key)) continue;
            cw_json_append(a, &arr, items[j].value);
            cw_json_append(a, &xarr, items[j].ext);
            any_ext |= items[j].ext.type != CW_JSON_NULL;
            any_value |= items[j].value.type != CW_JSON_NULL;
            if (j != i) items[j].key.ptr = NULL;
        }
        if (any_value || !items[i].primitive) cw_json_set(a, obj, key, arr);
        if (any_ext) {
            char *k = cw_arena_printf(a, "_%.*s", CW_SLICE_FMT(key));
            cw_json_set(a, obj, cw_slice_cstr(k), xarr);
        }
    }
}

static struct cw_json x2j_object(struct cw_arena *a, xmlNodePtr el, struct cw_fhir_elem ctx,
                                 struct cw_fhir_sd type, bool primitive_ext)
{
    struct cw_json obj = cw_json_object();
    x2j_attr(a, el, "id", &obj);
    if (!primitive_ext && cw_slice_eq_cstr(cw_fhir_sd_type_name(type), "Extension"))
        x2j_attr(a, el, "url", &obj);
    x2j_children(a, el, ctx, type, &obj);
    return obj;
}

static struct cw_json x2j_resource(struct cw_arena *a, xmlNodePtr el)
{
    cw_slice name = cw_arena_dup(a, cw_slice_cstr((const char *)el->name));
    struct cw_fhir_sd sd = cw_fhir_type(name);
    if (!sd.set) fail_msg("XML input: unknown resource type %.*s", CW_SLICE_FMT(name));
    struct cw_json obj = cw_json_object();
    cw_json_set(a, &obj, CW_LIT("resourceType"), cw_json_string(name));
    x2j_attr(a, el, "id", &obj); /* never used by FHIR XML, harmless */
    x2j_children(a, el, cw_fhir_sd_root(sd), sd, &obj);
    return obj;
}

static struct cw_json *xml_resource(struct cw_arena *a, const char *path)
{
    size_t len;
    char *x = cw_test_read_file(path, &len);
    if (!x) return NULL;
    xmlDocPtr doc = xmlReadMemory(x, (int)len, "input.xml", NULL, XML_PARSE_NONET);
    free(x);
    if (!doc) fail_msg("cannot parse %s", path);
    if (doc->intSubset) fail_msg("%s has a DOCTYPE: refused", path);
    struct cw_json *j = cw_arena_alloc(a, sizeof *j);
    *j = x2j_resource(a, xmlDocGetRootElement(doc));
    xmlFreeDoc(doc);
    return j;
}

static const struct cw_json *get_input(struct suite *s, const char *file)
{
    static struct cw_json empty_obj;
    if (!file || !*file) {
        empty_obj = cw_json_object();
        return &empty_obj;
    }
    for (size_t i = 0; i < s->n_inputs; i++)
        if (strcmp(s->inputs[i].file, file) == 0) return s->inputs[i].json;
    assert_true(s->n_inputs < MAX_INPUTS);
    struct input *in = &s->inputs[s->n_inputs++];
    snprintf(in->file, sizeof in->file, "%s", file);
    char base[128];
    snprintf(base, sizeof base, "%s", file);
    char *dot = strrchr(base, '.');
    bool is_xml = dot && strcmp(dot, ".xml") == 0;
    if (dot) *dot = 0;
    char path[1024];
    in->a = cw_arena_new(0);
    if (is_xml && !s->json_inputs) {
        /* the suite's own input, converted */
        snprintf(path, sizeof path, "%s/%s.xml", s->dir, base);
        in->json = xml_resource(in->a, path);
        if (!in->json) fail_msg("missing input %s", path);
        return in->json;
    }
    snprintf(path, sizeof path, "%s/%s%s.json", s->dir, is_xml ? "json/" : "", base);
    size_t len;
    in->text = cw_test_read_file(path, &len);
    if (!in->text) fail_msg("missing input %s", path);
    struct cw_err err;
    if (cw_json_parse(in->a, in->text, len, NULL, &in->json, &err) < 0)
        fail_msg("%s: %s", path, err.msg);
    return in->json;
}

static bool attr_is(xmlNodePtr n, const char *name, const char *want)
{
    char *v = attr(n, name);
    bool r = v && strcmp(v, want) == 0;
    xmlFree(v);
    return r;
}

struct expected {
    char *type; /* may be NULL */
    char *text;
};

/* Type family of an expected output against an item. */
static bool type_ok(const char *want, const struct cw_fhirpath_value *v)
{
    if (!want) return true;
    struct cw_buf tn;
    cw_buf_init(&tn, 256);
    cw_fhirpath_value_type(v, &tn);
    const char *t = cw_buf_cstr(&tn);
    bool ok;
    if (strcmp(want, "boolean") == 0)
        ok = strcmp(t, "System.Boolean") == 0 || strcmp(t, "FHIR.boolean") == 0;
    else if (strcmp(want, "integer") == 0)
        ok = strcmp(t, "System.Integer") == 0 || strcmp(t, "FHIR.integer") == 0 ||
             strcmp(t, "FHIR.positiveInt") == 0 || strcmp(t, "FHIR.unsignedInt") == 0;
    else if (strcmp(want, "decimal") == 0)
        ok = strcmp(t, "System.Decimal") == 0 || strcmp(t, "FHIR.decimal") == 0;
    else if (strcmp(want, "string") == 0)
        ok = strcmp(t, "System.String") == 0 || strcmp(t, "FHIR.string") == 0;
    else if (strcmp(want, "date") == 0)
        ok = strcmp(t, "System.Date") == 0 || strcmp(t, "FHIR.date") == 0;
    else if (strcmp(want, "dateTime") == 0)
        ok = strcmp(t, "System.DateTime") == 0 || strcmp(t, "FHIR.dateTime") == 0 ||
             strcmp(t, "FHIR.instant") == 0;
    else if (strcmp(want, "time") == 0)
        ok = strcmp(t, "System.Time") == 0 || strcmp(t, "FHIR.time") == 0;
    else if (strcmp(want, "Quantity") == 0)
        ok = strcmp(t, "System.Quantity") == 0 || strcmp(t, "FHIR.Quantity") == 0;
    else {
        /* FHIR primitive types by name: code, id, uri, ... */
        char full[128];
        snprintf(full, sizeof full, "FHIR.%s", want);
        ok = strcmp(t, full) == 0;
    }
    cw_buf_release(&tn);
    return ok;
}

/* Literal-form text of an item ('@' for dates, "v 'u'" for quantities). */
static void item_text(const struct cw_fhirpath_value *v, struct cw_buf *b)
{
    if (v->kind == CW_FHIRPATH_DATE || v->kind == CW_FHIRPATH_DATETIME) cw_buf_putc(b, '@');
    if (v->kind == CW_FHIRPATH_TIME) cw_buf_puts(b, "@T");
    if (cw_fhirpath_value_text(v, b) < 0) cw_buf_puts(b, "<complex>");
}

/* Equal decimals at the same precision ("-0.0" and "0.0"). */
static bool same_decimal(const char *a, const char *b)
{
    char *ea, *eb;
    double x = strtod(a, &ea), y = strtod(b, &eb);
    if (*ea || *eb || ea == a || eb == b) return false;
    const char *da = strchr(a, '.'), *db = strchr(b, '.');
    size_t sa = da ? strlen(da + 1) : 0, sb = db ? strlen(db + 1) : 0;
    return x == y && sa == sb;
}

static bool item_matches(const struct expected *ex, const struct cw_fhirpath_value *v)
{
    if (!type_ok(ex->type, v)) return false;
    struct cw_buf b;
    cw_buf_init(&b, 1 << 20);
    bool typed_dt =
        ex->type && (strcmp(ex->type, "date") == 0 || strcmp(ex->type, "dateTime") == 0 ||
                     strcmp(ex->type, "time") == 0);
    if (ex->type && !typed_dt) {
        if (cw_fhirpath_value_text(v, &b) < 0) cw_buf_puts(&b, "<complex>");
    } else {
        item_text(v, &b);
    }
    const char *got = cw_buf_cstr(&b);
    const char *want = ex->text ? ex->text : "";
    if (typed_dt && v->kind == CW_FHIRPATH_NODE && want[0] == '@') want++;
    bool ok = strcmp(got, want) == 0 || same_decimal(got, want);
    if (!ok && typed_dt && want[0] == '@' && v->kind == CW_FHIRPATH_NODE)
        ok = strcmp(got, want + 1) == 0;
    cw_buf_release(&b);
    return ok;
}

static void describe(struct cw_buf *b, struct cw_fhirpath_coll r)
{
    cw_buf_putc(b, '[');
    for (size_t i = 0; i < r.n; i++) {
        if (i) cw_buf_puts(b, ", ");
        cw_fhirpath_value_type(&r.items[i], b);
        cw_buf_putc(b, ' ');
        item_text(&r.items[i], b);
    }
    cw_buf_putc(b, ']');
}

static void run_case(struct suite *s, xmlNodePtr t)
{
    char *name = attr(t, "name");
    char *inputfile = attr(t, "inputfile");
    bool predicate = attr_is(t, "predicate", "true");
    bool unordered = attr_is(t, "ordered", "false");
    bool strict = attr_is(t, "mode", "strict");
    bool check_ordered = attr_is(t, "checkOrderedFunctions", "true");
    char *expr = NULL, *invalid = NULL;
    struct expected ex[64];
    size_t nex = 0;
    for (xmlNodePtr c = t->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (xmlStrcmp(c->name, (const xmlChar *)"expression") == 0) {
            expr = (char *)xmlNodeGetContent(c);
            invalid = attr(c, "invalid");
            if (attr_is(c, "mode", "strict")) strict = true;
        } else if (xmlStrcmp(c->name, (const xmlChar *)"output") == 0 && nex < 64) {
            ex[nex].type = attr(c, "type");
            ex[nex].text = (char *)xmlNodeGetContent(c);
            nex++;
        }
    }
    const struct cw_json *res = get_input(s, inputfile);
    struct cw_arena *a = cw_arena_new(0);
    struct cw_err err;
    cw_err_clear(&err);
    struct cw_fhirpath_opts opts = {0};
    const struct cw_json *rt = cw_json_get(res, "resourceType");
    if (cw_json_is(rt, CW_JSON_STRING)) opts.root_type = cw_fhir_type(cw_json_text(rt));
    if (strict) opts.flags |= CW_FHIRPATH_STRICT;
    if (check_ordered) opts.flags |= CW_FHIRPATH_CHECK_ORDERED;
    struct cw_fhirpath_expr *e = NULL;
    int crc = cw_fhirpath_compile(cw_slice_cstr(expr ? expr : ""), &opts, &e, &err);
    int erc = -1;
    struct cw_fhirpath_coll r = {0};
    if (crc == 0) erc = cw_fhirpath_eval(a, e, NULL, res, &r, &err);

    bool ok;
    struct cw_buf why;
    cw_buf_init(&why, 1 << 16);
    if (invalid) {
        if (strcmp(invalid, "syntax") == 0)
            ok = crc < 0;
        else
            ok = crc < 0 || erc < 0;
        if (!ok) {
            cw_buf_printf(&why, "expected a %s error, got ", invalid);
            describe(&why, r);
        }
    } else if (crc < 0 || erc < 0) {
        ok = false;
        cw_buf_printf(&why, "%s error: %s", crc < 0 ? "compile" : "evaluation", err.msg);
    } else {
        struct cw_fhirpath_value pv;
        if (predicate) {
            pv = (struct cw_fhirpath_value){.kind = CW_FHIRPATH_BOOLEAN};
            pv.u.b = r.n > 0;
            r = (struct cw_fhirpath_coll){&pv, 1};
        }
        ok = r.n == nex;
        if (ok && !unordered) {
            for (size_t i = 0; i < nex && ok; i++) ok = item_matches(&ex[i], &r.items[i]);
        } else if (ok) {
            bool used[64] = {0};
            for (size_t i = 0; i < nex && ok; i++) {
                bool f = false;
                for (size_t j = 0; j < r.n && !f; j++)
                    if (!used[j] && item_matches(&ex[i], &r.items[j])) used[j] = f = true;
                ok = f;
            }
        }
        if (!ok) {
            cw_buf_puts(&why, "expected [");
            for (size_t i = 0; i < nex; i++)
                cw_buf_printf(&why, "%s%s %s", i ? ", " : "", ex[i].type ? ex[i].type : "-",
                              ex[i].text ? ex[i].text : "");
            cw_buf_puts(&why, "], got ");
            describe(&why, r);
        }
    }
    struct known *k = find_known(s, name ? name : "");
    if (k) k->seen = true;
    if (ok) {
        s->passed++;
        if (k) {
            s->stale++;
            cw_buf_printf(&s->report, "  LISTED BUT PASSES %s (remove it from suite-errors.txt)\n",
                          name);
        }
    } else {
        s->failed++;
        if (k) {
            s->known_failed++;
            k->seen_failing = true;
            cw_buf_printf(&s->report,
                          "  known suite error %s: %s :: %s\n      why the suite is wrong: %s\n",
                          name, expr ? expr : "", cw_buf_cstr(&why), k->reason);
        } else {
            s->unexpected++;
            cw_buf_printf(&s->report, "  FAIL %s: %s :: %s\n", name, expr ? expr : "",
                          cw_buf_cstr(&why));
        }
    }
    cw_buf_release(&why);
    cw_fhirpath_free(e);
    cw_arena_destroy(a);
    for (size_t i = 0; i < nex; i++) {
        xmlFree(ex[i].type);
        xmlFree(ex[i].text);
    }
    xmlFree(expr);
    xmlFree(invalid);
    xmlFree(name);
    xmlFree(inputfile);
}

static void test_suite(void **state)
{
    (void)state;
    const char *dir = cw_test_corpus("fhirpath-tests/r4");
    if (!dir) cw_test_skip("corpus fhirpath-tests/r4 not found");
    struct suite *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->dir = dir;
    const char *ji = getenv("CW_FHIRPATH_SUITE_JSON");
    s->json_inputs = ji && strcmp(ji, "1") == 0;
    cw_buf_init(&s->report, 0);
    load_known(s);

    xmlSetExternalEntityLoader(deny_loader);
    char path[1024];
    snprintf(path, sizeof path, "%s/tests-fhir-r4.xml", dir);
    /* read the bytes ourselves: the deny-all loader would refuse the file */
    size_t xlen;
    char *xml = cw_test_read_file(path, &xlen);
    if (!xml) fail_msg("cannot read %s", path);
    xmlDocPtr doc = xmlReadMemory(xml, (int)xlen, "tests-fhir-r4.xml", NULL, XML_PARSE_NONET);
    free(xml);
    if (!doc) fail_msg("cannot parse %s", path);
    if (doc->intSubset) fail_msg("%s has a DOCTYPE: refused", path);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    assert_non_null(root);
    int groups = 0;
    for (xmlNodePtr g = root->children; g; g = g->next) {
        if (g->type != XML_ELEMENT_NODE || xmlStrcmp(g->name, (const xmlChar *)"group") != 0)
            continue;
        groups++;
        for (xmlNodePtr t = g->children; t; t = t->next)
            if (t->type == XML_ELEMENT_NODE && xmlStrcmp(t->name, (const xmlChar *)"test") == 0)
                run_case(s, t);
    }
    xmlFreeDoc(doc);
    xmlCleanupParser();

    for (size_t i = 0; i < s->n_known; i++)
        if (!s->known[i].seen) {
            s->stale++;
            cw_buf_printf(&s->report, "  LISTED BUT NOT IN THE SUITE %s\n", s->known[i].name);
        }
    fwrite(s->report.ptr, 1, s->report.len, stdout);
    printf("%d groups, %d tests; %d known suite errors (docs/conformance.md), %d unexpected "
           "failures\n",
           groups, s->passed + s->failed, s->known_failed, s->unexpected);
    printf("skipped: none (every test of the suite runs; inputs: %s)\n",
           s->json_inputs ? "r4/json copies" : "the suite's XML, converted");
    printf("fhirpath: %d passed, %d failed\n", s->passed, s->failed);
    fflush(stdout);
    int unexpected = s->unexpected, stale = s->stale, total = s->passed + s->failed;
    for (size_t i = 0; i < s->n_inputs; i++) {
        free(s->inputs[i].text);
        cw_arena_destroy(s->inputs[i].a);
    }
    cw_buf_release(&s->report);
    free(s);
    assert_true(total > 900);
    assert_int_equal(unexpected, 0);
    assert_int_equal(stale, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_suite)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
    cw_test_skip("built without libxml2 (libxml2-dev): cannot read the suite");
}
#endif
