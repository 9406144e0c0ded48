/*
 * fhir_xml.c — FHIR R4 XML <-> JSON (see fhir_xml.h for the rules).
 *
 * Spec: FHIR R4 xml.html (namespace, element order, value attributes, id
 * and url attributes, xhtml narrative, resources nested in contained /
 * Bundle.entry.resource / Parameters.parameter.resource), json.html
 * (resourceType, arrays, "_name" siblings with null alignment, choice
 * names, numbers and booleans), narrative.html (the div).
 *
 * Owns: the writer owns a fragment checker (freed before returning); the
 * reader owns three scratch stacks (frames, members, items; heap, freed
 * before returning). Everything the reader produces lives in the caller's
 * arena.
 *
 * Writing walks the JSON object of each node, resolves every member with
 * cw_fhir_resolve, sorts the members by definition order (the XML order;
 * "x" and "_x" land side by side), writes XML_ATTR elements (Element.id,
 * Extension.url) and the primitive value as attributes, then the children.
 *
 * Reading is one pass over the XML events (src/xml, SAX2). A stack of
 * frames mirrors the open elements; each frame collects its JSON members
 * on a shared member stack, and repeated child elements ("runs") collect
 * their items on a shared item stack, so every object and array is built
 * with its exact size once its element ends. A primitive run keeps two
 * items per occurrence (value, "_x" object; JSON null where absent), split
 * into "x" and "_x" arrays when the run ends. The narrative div is taken
 * verbatim from the input (its exact source text) when the input is UTF-8
 * and the div declares the XHTML namespace itself; otherwise it is
 * re-serialized from the events.
 *
 * Invariants: nothing from the document (values, names) reaches an error
 * message except element and type names known to the definitions; every
 * stack index is checked against its length; recursion (writer) and frame
 * depth (reader) are bounded by max_depth.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir.h"
#include "fhir/fhir_xml.h"
#include "xml/xml.h"

static const cw_slice FHIR_NS = CW_LIT("http://hl7.org/fhir");
static const cw_slice XHTML_NS = CW_LIT("http://www.w3.org/1999/xhtml");
static const cw_slice XSI_NS = CW_LIT("http://www.w3.org/2001/XMLSchema-instance");
static const cw_slice XMLNS_XML = CW_LIT("http://www.w3.org/XML/1998/namespace");
static const cw_slice RESOURCE_TYPE = CW_LIT("resourceType");

/* ==== types looked up once ==== */

static struct cw_fhir_sd T_XHTML, T_POSITIVE_INT;
static const struct cw_fhir_set *CORE; /* the compiled core definitions */
static pthread_once_t types_once = PTHREAD_ONCE_INIT;

static void types_init(void)
{
    T_XHTML = cw_fhir_type_cstr("xhtml");
    T_POSITIVE_INT = cw_fhir_type_cstr("positiveInt");
    CORE = cw_fhir_type_cstr("Element").set;
}

/* Grow a heap vector to hold at least need elements; -1 when out of memory. */
static int vec_reserve(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *np = realloc(*p, c * elem);
    if (!np) return -1;
    *p = np;
    *cap = c;
    return 0;
}

/* ==== resolving names, with a per-thread cache ==== */

/* What both directions need to know about one child name in one context. */
struct rinfo {
    bool ok;                  /* false: not an element here */
    uint8_t kind;             /* enum cw_fhir_kind of prop.type */
    bool xhtml;               /* prop.type is xhtml (Narrative.div) */
    unsigned eflags;          /* CW_FHIR_E_* of prop.elem */
    uint32_t order;           /* definition order among the siblings */
    struct cw_fhir_prop prop; /* cw_fhir_resolve's answer */
    struct cw_fhir_elem sub;  /* whose children describe the child's content */
};

static struct rinfo compute_info(struct cw_fhir_elem ctx, struct cw_fhir_sd type, cw_slice name)
{
    struct rinfo ri = {.ok = false};
    if (cw_fhir_resolve(ctx, type, name, &ri.prop) != 0) return ri;
    ri.ok = true;
    ri.kind = (uint8_t)cw_fhir_sd_kind(ri.prop.type);
    ri.xhtml = cw_fhir_sd_eq(ri.prop.type, T_XHTML);
    ri.eflags = cw_fhir_elem_flags(ri.prop.elem);
    ri.order = cw_fhir_elem_order(ri.prop.elem);
    ri.sub = cw_fhir_elem_structure(ri.prop.elem, ri.prop.type);
    return ri;
}

/*
 * cw_fhir_resolve costs a scan of the context's children (and, for choice
 * names, of the type list) per call: most of the conversion time before
 * this cache. The answers for the core definitions never change, so each
 * thread keeps a direct-mapped table of them (about 0.6 MiB, made on the
 * first conversion in a thread, freed when the thread ends).
 */
#define RC_SLOTS 4096
#define RC_NAME  46

struct rc_slot {
    uint32_t ctx, type; /* element and type indices in the core set; ctx+1, 0 = empty */
    uint8_t len;
    char name[RC_NAME];
    struct rinfo v;
};

static pthread_key_t rc_key;
static pthread_once_t rc_once = PTHREAD_ONCE_INIT;
static bool rc_key_ok;

static void rc_init(void)
{
    rc_key_ok = pthread_key_create(&rc_key, free) == 0;
}

static struct rc_slot *rc_table(void)
{
    pthread_once(&rc_once, rc_init);
    if (!rc_key_ok) return NULL;
    struct rc_slot *t = pthread_getspecific(rc_key);
    if (!t) {
        t = calloc(RC_SLOTS, sizeof *t);
        if (t && pthread_setspecific(rc_key, t) != 0) {
            free(t);
            t = NULL;
        }
    }
    return t;
}

static struct rinfo resolve_info(struct rc_slot *tab, struct cw_fhir_elem ctx,
                                 struct cw_fhir_sd type, cw_slice name)
{
    if (!tab || ctx.set != CORE || (type.set && type.set != CORE) || name.len > RC_NAME)
        return compute_info(ctx, type, name);
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < name.len; i++) h = (h ^ (unsigned char)name.ptr[i]) * 16777619u;
    h ^= ctx.i * 0x9E3779B1u;
    h ^= (type.set ? type.i + 1 : 0) * 0x85EBCA6Bu;
    h ^= h >> 15;
    struct rc_slot *s = &tab[h & (RC_SLOTS - 1)];
    uint32_t tk = type.set ? type.i + 1 : 0;
    if (s->ctx == ctx.i + 1 && s->type == tk && s->len == name.len &&
        memcmp(s->name, name.ptr, name.len) == 0)
        return s->v;
    struct rinfo v = compute_info(ctx, type, name);
    s->ctx = ctx.i + 1;
    s->type = tk;
    s->len = (uint8_t)name.len;
    memcpy(s->name, name.ptr, name.len);
    s->v = v;
    return v;
}

/* ==================================================================== */
/* JSON -> XML                                                          */
/* ==================================================================== */

struct went {
    uint32_t order;  /* definition order of the element */
    uint32_t member; /* JSON member index */
    bool ext;        /* "_name" */
    struct rinfo ri;
};

struct wr {
    struct cw_xml_writer w;
    unsigned flags;
    unsigned max_depth;
    cw_fhir_xml_warn_fn warn;
    void *warn_ctx;
    struct cw_err *err;
    struct cw_xml_checker *chk;
    struct rc_slot *rc;
    struct went *ents;
    size_t n_ents, cap_ents;
};

/* Location of node (+ ".extra") into err. */
static void wr_locate(const struct cw_fhir_node *node, cw_slice extra, struct cw_err *err)
{
    cw_fhir_node_locate(node, err);
    if (extra.len) {
        size_t l = strlen(err->location);
        if (l + 1 + extra.len < sizeof err->location) {
            err->location[l] = '.';
            memcpy(err->location + l + 1, extra.ptr, extra.len);
            err->location[l + 1 + extra.len] = '\0';
        }
    }
}

/* A problem at node (+ extra): a warning in lenient mode (returns 0), else -1. */
static int wr_problem(struct wr *wr, const struct cw_fhir_node *node, cw_slice extra,
                      enum cw_issue issue, const char *msg)
{
    struct cw_err e;
    cw_err_clear(&e);
    cw_err_set(&e, issue, "%s", msg);
    wr_locate(node, extra, &e);
    if (wr->flags & CW_FHIR_XML_LENIENT) {
        e.severity = CW_SEV_WARNING;
        if (wr->warn) wr->warn(&e, wr->warn_ctx);
        return 0;
    }
    if (wr->err) *wr->err = e;
    return -1;
}

/* Always fatal. */
static int wr_fatal(struct wr *wr, const struct cw_fhir_node *node, enum cw_issue issue,
                    const char *msg)
{
    if (wr->err) {
        cw_err_clear(wr->err);
        cw_err_set(wr->err, issue, "%s", msg);
        if (node) wr_locate(node, CW_SLICE_NULL, wr->err);
    }
    return -1;
}

/* After writing a value: was it representable? */
static int wr_check_chars(struct wr *wr, const struct cw_fhir_node *node, cw_slice extra)
{
    if (!wr->w.bad_char) return 0;
    if (wr->err) {
        cw_err_clear(wr->err);
        cw_err_set(wr->err, CW_ISSUE_VALUE,
                   "a value holds a character XML cannot represent (a control character or "
                   "invalid UTF-8)");
        wr_locate(node, extra, wr->err);
    }
    return -1;
}

static cw_slice scalar_text(const struct cw_json *v)
{
    if (v->type == CW_JSON_TRUE) return CW_LIT("true");
    if (v->type == CW_JSON_FALSE) return CW_LIT("false");
    return cw_json_text(v);
}

static int write_content(struct wr *wr, struct cw_fhir_node *node, struct cw_fhir_elem ctx,
                         const struct cw_json *obj, const struct cw_json *prim_value,
                         unsigned depth);

/* Is JSON value v of the kind type t's primitives are written in? */
static bool json_kind_ok(struct cw_fhir_sd t, const struct cw_json *v)
{
    switch (cw_fhir_sd_json_kind(t)) {
    case CW_FHIR_JSON_NUMBER:
        return v->type == CW_JSON_NUMBER;
    case CW_FHIR_JSON_BOOLEAN:
        return v->type == CW_JSON_TRUE || v->type == CW_JSON_FALSE;
    case CW_FHIR_JSON_STRING:
        return v->type == CW_JSON_STRING;
    default:
        return false;
    }
}

/* The narrative div: embed the markup after checking it. */
static int write_xhtml(struct wr *wr, struct cw_fhir_node *node, const struct cw_json *v,
                       const struct cw_json *x)
{
    if (x && wr_problem(wr, node, CW_SLICE_NULL, CW_ISSUE_STRUCTURE,
                        "the narrative div cannot carry an id or extensions in XML") < 0)
        return -1;
    if (!v) return 0;
    if (v->type != CW_JSON_STRING)
        return wr_problem(wr, node, CW_SLICE_NULL, CW_ISSUE_VALUE,
                          "the narrative div must be a JSON string");
    if (!wr->chk && !(wr->chk = cw_xml_checker_new()))
        return wr_fatal(wr, node, CW_ISSUE_TOO_COSTLY, "out of memory");
    struct cw_err e;
    cw_err_clear(&e);
    if (cw_xml_check_element(wr->chk, cw_json_text(v), XHTML_NS, CW_LIT("div"), NULL, &e) < 0) {
        if (wr->err) {
            cw_err_clear(wr->err);
            cw_err_set(wr->err, CW_ISSUE_VALUE,
                       "the narrative is not one well-formed XHTML div element: %.180s", e.msg);
            wr_locate(node, CW_SLICE_NULL, wr->err);
            wr->err->line = e.line;
            wr->err->column = e.column;
        }
        return -1;
    }
    cw_xml_raw_element(&wr->w, cw_json_text(v));
    return 0;
}

/* One occurrence of an element (value v and/or "_name" entry x). */
static int write_item(struct wr *wr, struct cw_fhir_node *node, const struct rinfo *ri,
                      cw_slice name, const struct cw_json *v, const struct cw_json *x,
                      unsigned depth)
{
    if (ri->kind == CW_FHIR_KIND_PRIMITIVE) {
        if (ri->xhtml) return write_xhtml(wr, node, v, x);
        if (!v && !x)
            return wr_problem(wr, node, CW_SLICE_NULL, CW_ISSUE_STRUCTURE,
                              "null where a value is expected");
        if (v && !json_kind_ok(node->type, v)) {
            bool complex = v->type == CW_JSON_OBJECT || v->type == CW_JSON_ARRAY;
            if (wr_problem(wr, node, CW_SLICE_NULL, CW_ISSUE_VALUE,
                           complex ? "a primitive value must be a string, number or boolean"
                                   : "the JSON type of the value does not match the element's "
                                     "type") < 0)
                return -1;
            if (complex) return 0;
        }
        if (x && x->type != CW_JSON_OBJECT)
            return wr_problem(wr, node, CW_SLICE_NULL, CW_ISSUE_STRUCTURE,
                              "the _ entry of a primitive must be an object");
        cw_xml_start(&wr->w, name);
        if (write_content(wr, node, ri->sub, x, v, depth + 1) < 0) return -1;
        cw_xml_end(&wr->w);
        return 0;
    }
    if (!v || v->type != CW_JSON_OBJECT)
        return wr_problem(wr, node, CW_SLICE_NULL, CW_ISSUE_STRUCTURE,
                          v ? "a complex element must be a JSON object"
                            : "null where a value is expected");
    if (ri->kind == CW_FHIR_KIND_RESOURCE) {
        const struct cw_json *rt = cw_json_get_slice(v, RESOURCE_TYPE);
        struct cw_fhir_sd t =
            cw_json_is(rt, CW_JSON_STRING) ? cw_fhir_type(cw_json_text(rt)) : CW_FHIR_NONE_SD;
        if (cw_fhir_sd_kind(t) != CW_FHIR_KIND_RESOURCE || cw_fhir_sd_abstract(t))
            return wr_problem(wr, node, CW_SLICE_NULL, CW_ISSUE_STRUCTURE,
                              "resource without a known resourceType");
        if (!cw_fhir_type_is_a(t, node->type))
            return wr_problem(wr, node, CW_SLICE_NULL, CW_ISSUE_STRUCTURE,
                              "resource of a type not allowed here");
        /* xml.html: <contained><Patient>...</Patient></contained> */
        node->type = t;
        node->flags |= CW_FHIR_NODE_RESOURCE;
        cw_xml_start(&wr->w, name);
        cw_xml_start(&wr->w, cw_fhir_sd_type_name(t));
        if (write_content(wr, node, cw_fhir_elem_structure(node->elem, t), v, NULL, depth + 1) < 0)
            return -1;
        cw_xml_end(&wr->w);
        cw_xml_end(&wr->w);
        return 0;
    }
    if (ri->kind != CW_FHIR_KIND_COMPLEX)
        return wr_fatal(wr, node, CW_ISSUE_EXCEPTION, "element without a usable type");
    cw_xml_start(&wr->w, name);
    if (write_content(wr, node, ri->sub, v, NULL, depth + 1) < 0) return -1;
    cw_xml_end(&wr->w);
    return 0;
}

/* All occurrences of one element: v = "name" value, x = "_name" value (either may be NULL). */
static int write_group(struct wr *wr, const struct cw_fhir_node *parent, const struct rinfo *ri,
                       cw_slice name, const struct cw_json *v, const struct cw_json *x,
                       unsigned depth)
{
    struct cw_fhir_node child = {
        .elem = ri->prop.elem,
        .type = ri->prop.type,
        .name = name,
        .index = CW_FHIR_NO_INDEX,
        .flags = (ri->prop.flags & CW_FHIR_PROP_CHOICE) ? CW_FHIR_NODE_CHOICE : 0,
        .parent = parent,
    };
    if (ri->kind == CW_FHIR_KIND_PRIMITIVE) child.flags |= CW_FHIR_NODE_PRIMITIVE;
    if (ri->prop.flags & CW_FHIR_PROP_ARRAY) {
        if ((v && v->type != CW_JSON_ARRAY) || (x && x->type != CW_JSON_ARRAY))
            return wr_problem(wr, &child, CW_SLICE_NULL, CW_ISSUE_STRUCTURE,
                              "a repeating element must be a JSON array");
        if (v && x && v->len != x->len)
            return wr_problem(wr, &child, CW_SLICE_NULL, CW_ISSUE_STRUCTURE,
                              "the _ array must have the same length as the value array");
        uint32_t len = v ? v->len : x->len;
        if (len == 0)
            return wr_problem(wr, &child, CW_SLICE_NULL, CW_ISSUE_STRUCTURE,
                              "empty array (cannot be written in XML)");
        for (uint32_t i = 0; i < len; i++) {
            const struct cw_json *vi = v ? &v->u.items[i] : NULL;
            const struct cw_json *xi = x ? &x->u.items[i] : NULL;
            if (vi && vi->type == CW_JSON_NULL) vi = NULL;
            if (xi && xi->type == CW_JSON_NULL) xi = NULL;
            child.index = i;
            child.type = ri->prop.type;
            child.flags &= ~(unsigned)CW_FHIR_NODE_RESOURCE;
            if (write_item(wr, &child, ri, name, vi, xi, depth) < 0) return -1;
        }
        return 0;
    }
    if ((v && v->type == CW_JSON_ARRAY) || (x && x->type == CW_JSON_ARRAY))
        return wr_problem(wr, &child, CW_SLICE_NULL, CW_ISSUE_STRUCTURE,
                          "an array where a single value is expected");
    if (v && v->type == CW_JSON_NULL) v = NULL;
    if (x && x->type == CW_JSON_NULL) x = NULL;
    return write_item(wr, &child, ri, name, v, x, depth);
}

static void sort_entries(struct went *e, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (e[i - 1].order < e[i].order) continue; /* usual case: already in order */
        struct went t = e[i];
        size_t j = i;
        while (j > 0 && (e[j - 1].order > t.order ||
                         (e[j - 1].order == t.order && e[j - 1].member > t.member))) {
            e[j] = e[j - 1];
            j--;
        }
        e[j] = t;
    }
}

/*
 * The attributes and children of node, from obj (a complex object, a
 * resource, or a primitive's "_name" object, which may be NULL), plus the
 * primitive's value attribute when prim_value is given. ctx is the element
 * whose children describe obj. The start tag is open when this is called.
 */
static int write_content(struct wr *wr, struct cw_fhir_node *node, struct cw_fhir_elem ctx,
                         const struct cw_json *obj, const struct cw_json *prim_value,
                         unsigned depth)
{
    if (depth > wr->max_depth)
        return wr_fatal(wr, node, CW_ISSUE_TOO_COSTLY, "resource nested too deeply");
    bool is_res = (node->flags & CW_FHIR_NODE_RESOURCE) != 0;
    bool is_prim = (node->flags & CW_FHIR_NODE_PRIMITIVE) != 0;
    size_t base = wr->n_ents;
    uint32_t nmem = obj ? obj->len : 0;
    if (vec_reserve((void **)&wr->ents, &wr->cap_ents, base + nmem, sizeof *wr->ents) < 0)
        return wr_fatal(wr, node, CW_ISSUE_TOO_COSTLY, "out of memory");
    for (uint32_t i = 0; i < nmem; i++) {
        cw_slice key = obj->u.members[i].key;
        if (is_res && cw_slice_eq(key, RESOURCE_TYPE)) continue;
        struct went *e = &wr->ents[wr->n_ents];
        e->ri = resolve_info(wr->rc, ctx, node->type, key);
        if (!e->ri.ok || (is_prim && cw_slice_eq(key, CW_LIT("value")))) {
            if (wr_problem(wr, node, key.len <= 64 ? key : CW_LIT("?"), CW_ISSUE_STRUCTURE,
                           "unknown element") < 0)
                goto fail;
            continue;
        }
        e->order = e->ri.order;
        e->member = i;
        e->ext = key.len > 0 && key.ptr[0] == '_';
        wr->n_ents++;
    }
    size_t end = wr->n_ents;
    sort_entries(wr->ents + base, end - base);

    /* attributes: Element.id, Extension.url (xml.html), then the primitive value */
    for (size_t k = base; k < end; k++) {
        const struct went *e = &wr->ents[k];
        if (!(e->ri.eflags & CW_FHIR_E_XML_ATTR)) continue;
        const struct cw_json *v = &obj->u.members[e->member].value;
        cw_slice an = cw_fhir_elem_name(e->ri.prop.elem);
        if (v->type != CW_JSON_STRING) {
            if (wr_problem(wr, node, an, CW_ISSUE_VALUE, "must be a JSON string") < 0) goto fail;
            continue;
        }
        cw_xml_attr(&wr->w, an, cw_json_text(v));
        if (wr_check_chars(wr, node, an) < 0) goto fail;
    }
    if (prim_value) {
        cw_xml_attr(&wr->w, CW_LIT("value"), scalar_text(prim_value));
        if (wr_check_chars(wr, node, CW_SLICE_NULL) < 0) goto fail;
    }

    /* children, one group per element: "x" and "_x" are adjacent after sorting */
    for (size_t k = base; k < end;) {
        size_t j = k + 1;
        while (j < end && wr->ents[j].order == wr->ents[k].order) j++;
        if (wr->ents[k].ri.eflags & CW_FHIR_E_XML_ATTR) {
            k = j;
            continue;
        }
        const struct cw_json *v = NULL, *x = NULL;
        cw_slice vkey = CW_SLICE_NULL, xkey = CW_SLICE_NULL;
        size_t ri_at = k;
        bool bad = false;
        for (size_t i = k; i < j; i++) {
            const struct went *e = &wr->ents[i];
            cw_slice key = obj->u.members[e->member].key;
            if (e->ext) {
                if (x) bad = true;
                x = &obj->u.members[e->member].value;
                xkey = (cw_slice){key.ptr + 1, key.len - 1};
            } else {
                if (v) bad = true;
                v = &obj->u.members[e->member].value;
                vkey = key;
                ri_at = i;
            }
        }
        if (!bad && v && x && !cw_slice_eq(vkey, xkey)) bad = true;
        /* copied: the recursion below may move wr->ents */
        struct rinfo ri = wr->ents[ri_at].ri;
        cw_slice name = v ? vkey : xkey;
        if (bad) {
            if (wr_problem(wr, node, cw_fhir_elem_name(ri.prop.elem), CW_ISSUE_STRUCTURE,
                           "more than one value for one element (choice types, or a _ entry "
                           "that does not match)") < 0)
                goto fail;
            k = j;
            continue;
        }
        if (write_group(wr, node, &ri, name, v, x, depth) < 0) goto fail;
        k = j;
    }
    wr->n_ents = base;
    return 0;
fail:
    wr->n_ents = base;
    return -1;
}

int cw_fhir_xml_write(struct cw_buf *out, const struct cw_json *resource,
                      const struct cw_fhir_xml_opts *opts, struct cw_err *err)
{
    static const struct cw_fhir_xml_opts defaults;
    if (!opts) opts = &defaults;
    if (err) cw_err_clear(err);
    pthread_once(&types_once, types_init);
    struct wr wr = {
        .flags = opts->flags,
        .max_depth = opts->max_depth ? opts->max_depth : CW_FHIR_XML_DEFAULT_MAX_DEPTH,
        .warn = opts->warn,
        .warn_ctx = opts->warn_ctx,
        .err = err,
        .rc = rc_table(),
    };
    struct cw_fhir_node root;
    if (cw_fhir_node_root(resource, CW_FHIR_NONE_SD, &root, err) < 0) return -1;
    cw_xml_writer_init(&wr.w, out, opts->indent);
    if (opts->flags & CW_FHIR_XML_DECL) cw_xml_declaration(&wr.w);
    cw_xml_start(&wr.w, cw_fhir_sd_type_name(root.type));
    cw_xml_attr(&wr.w, CW_LIT("xmlns"), FHIR_NS);
    int r =
        write_content(&wr, &root, cw_fhir_elem_structure(root.elem, root.type), resource, NULL, 0);
    if (r == 0) cw_xml_end(&wr.w);
    cw_xml_checker_free(wr.chk);
    free(wr.ents);
    if (r < 0) return -1;
    if (cw_buf_failed(out)) return wr_fatal(&wr, NULL, CW_ISSUE_TOO_LONG, "XML output too large");
    if (!cw_xml_writer_ok(&wr.w))
        return wr_fatal(&wr, NULL, CW_ISSUE_TOO_COSTLY, "XML output nested too deeply");
    return 0;
}

/* ==================================================================== */
/* XML -> JSON                                                          */
/* ==================================================================== */

enum { K_DOC, K_RESOURCE, K_COMPLEX, K_PRIMITIVE, K_WRAPPER, K_XHTML, K_SKIP };

/* A member being collected, with its element (duplicate and order checks). */
struct rmem {
    struct cw_json_member m;
    struct cw_fhir_elem elem;
    uint32_t order;
};

/* A run of occurrences of one child element. */
struct rrun {
    struct cw_fhir_elem elem;
    uint32_t order;
    struct cw_fhir_sd type;
    cw_slice key; /* JSON name */
    size_t base;  /* first item on the item stack */
    uint32_t count;
    bool active, array, primitive;
};

struct rframe {
    uint8_t kind;
    bool choice;
    bool any_child;
    struct cw_fhir_elem elem; /* definition of this node (root: the SD root) */
    struct cw_fhir_sd type;   /* concrete type */
    struct cw_fhir_elem ctx;  /* whose children are this node's children */
    cw_slice name;            /* K_SKIP: the XML name (for locations) */
    uint32_t index;           /* position in its run when the element repeats */
    size_t mem_base;
    size_t ns_base;
    uint32_t max_order;
    struct rrun run;
    struct cw_json value; /* primitive value / wrapped resource; CW_JSON_NULL = none */
    unsigned skip;        /* K_SKIP, K_XHTML: open descendants */
};

struct nsdecl {
    cw_slice prefix, uri; /* interned by libxml2: valid during the parse */
};

struct rd {
    struct cw_arena *a;
    const char *src;
    size_t n;
    unsigned flags, max_depth;
    cw_fhir_xml_warn_fn warn;
    void *warn_ctx;
    struct rc_slot *rc;
    struct rframe *fr;
    size_t n_fr, cap_fr;
    struct rmem *mem;
    size_t n_mem, cap_mem;
    struct cw_json *items;
    size_t n_items, cap_items;
    struct nsdecl *ns;
    size_t n_ns, cap_ns;
    struct cw_json result;
    bool have_result;
    /* the narrative div being read */
    bool div_raw;          /* take the source text */
    bool div_prefixed;     /* raw: a prefix is used inside the div */
    size_t div_start;      /* raw: offset of "<div" */
    struct cw_buf div_buf; /* re-serialized div (not raw) */
    struct cw_xml_writer div_w;
    cw_slice div_dflt[CW_XML_DEFAULT_MAX_DEPTH + 1]; /* default namespace per div level */
};

static struct rframe *top(struct rd *r)
{
    return &r->fr[r->n_fr - 1];
}

/* FHIRPath-style location of the open frames (+ ".extra"). */
static void rd_locate(struct rd *r, cw_slice extra, struct cw_err *err)
{
    struct cw_buf b;
    cw_buf_init(&b, 4 * CW_ERR_LOCATION_MAX);
    for (size_t i = 1; i < r->n_fr; i++) {
        const struct rframe *f = &r->fr[i];
        if (f->kind == K_RESOURCE) {
            if (i == 1) cw_buf_put_slice(&b, cw_fhir_sd_type_name(f->type));
            continue;
        }
        cw_buf_putc(&b, '.');
        if (f->kind == K_SKIP) {
            cw_buf_put_slice(&b, f->name.len <= 64 ? f->name : CW_LIT("?"));
            continue;
        }
        cw_buf_put_slice(&b, cw_fhir_elem_name(f->elem));
        if (f->choice) {
            cw_buf_puts(&b, ".ofType(");
            cw_buf_put_slice(&b, cw_fhir_sd_type_name(f->type));
            cw_buf_putc(&b, ')');
        }
        if (f->index != CW_FHIR_NO_INDEX) cw_buf_printf(&b, "[%u]", f->index);
    }
    if (extra.len) {
        cw_buf_putc(&b, '.');
        cw_buf_put_slice(&b, extra.len <= 64 ? extra : CW_LIT("?"));
    }
    cw_err_at_slice(err, (cw_slice){b.ptr ? b.ptr : "", b.len});
    cw_buf_release(&b);
}

/*
 * A problem at the current place (+ extra). Lenient: a warning, returns 0
 * (the caller skips what is wrong). Strict: the parse's error, returns -1.
 */
static int rd_problem(struct rd *r, struct cw_xml_parser *p, cw_slice extra, enum cw_issue issue,
                      const char *msg)
{
    struct cw_err e;
    cw_err_clear(&e);
    cw_err_set(&e, issue, "%s", msg);
    rd_locate(r, extra, &e);
    if (p) cw_xml_position(p, &e.line, &e.column);
    if (r->flags & CW_FHIR_XML_LENIENT) {
        e.severity = CW_SEV_WARNING;
        if (r->warn) r->warn(&e, r->warn_ctx);
        return 0;
    }
    struct cw_err *pe = p ? cw_xml_error(p) : NULL;
    if (pe) *pe = e;
    return -1;
}

static int rd_fatal(struct rd *r, struct cw_xml_parser *p, cw_slice extra, enum cw_issue issue,
                    const char *msg)
{
    unsigned f = r->flags;
    r->flags &= ~(unsigned)CW_FHIR_XML_LENIENT;
    rd_problem(r, p, extra, issue, msg);
    r->flags = f;
    return -1;
}

static int oom(struct rd *r, struct cw_xml_parser *p)
{
    return rd_fatal(r, p, CW_SLICE_NULL, CW_ISSUE_TOO_COSTLY, "out of memory or arena limit");
}

/* Copy bytes into the arena (no NUL needed for JSON slices). */
static int arena_copy(struct rd *r, cw_slice s, cw_slice *out)
{
    char *d = cw_arena_alloc_bytes(r->a, s.len);
    if (!d) return -1;
    if (s.len) memcpy(d, s.ptr, s.len);
    *out = (cw_slice){d, s.len};
    return 0;
}

static struct rframe *push_frame(struct rd *r, struct cw_xml_parser *p, uint8_t kind)
{
    if (r->n_fr >= (size_t)r->max_depth + 3) {
        rd_fatal(r, p, CW_SLICE_NULL, CW_ISSUE_TOO_COSTLY, "resource nested too deeply");
        return NULL;
    }
    if (vec_reserve((void **)&r->fr, &r->cap_fr, r->n_fr + 1, sizeof *r->fr) < 0) {
        oom(r, p);
        return NULL;
    }
    struct rframe *f = &r->fr[r->n_fr++];
    /* every field the frame's users read is set here (no memset: hot path) */
    f->kind = kind;
    f->choice = false;
    f->any_child = false;
    f->elem = CW_FHIR_NONE_ELEM;
    f->type = CW_FHIR_NONE_SD;
    f->ctx = CW_FHIR_NONE_ELEM;
    f->name = CW_SLICE_NULL;
    f->index = CW_FHIR_NO_INDEX;
    f->mem_base = r->n_mem;
    f->ns_base = r->n_ns;
    f->max_order = 0;
    f->run.active = false;
    f->value = cw_json_null();
    f->skip = 0;
    return f;
}

static int push_member(struct rd *r, struct cw_xml_parser *p, cw_slice key, struct cw_json v,
                       struct cw_fhir_elem elem, uint32_t order)
{
    if (vec_reserve((void **)&r->mem, &r->cap_mem, r->n_mem + 1, sizeof *r->mem) < 0)
        return oom(r, p);
    r->mem[r->n_mem++] = (struct rmem){{key, v}, elem, order};
    return 0;
}

static int push_item(struct rd *r, struct cw_xml_parser *p, struct cw_json v)
{
    if (vec_reserve((void **)&r->items, &r->cap_items, r->n_items + 1, sizeof *r->items) < 0)
        return oom(r, p);
    r->items[r->n_items++] = v;
    return 0;
}

/* Keep the namespace declarations of FHIR elements (for narrative fix-ups). */
static int push_ns(struct rd *r, struct cw_xml_parser *p, const struct cw_xml_start *e)
{
    for (size_t i = 0; i < e->n_ns; i++) {
        if (vec_reserve((void **)&r->ns, &r->cap_ns, r->n_ns + 1, sizeof *r->ns) < 0)
            return oom(r, p);
        r->ns[r->n_ns++] = (struct nsdecl){e->ns[i].prefix, e->ns[i].uri};
    }
    return 0;
}

/* JSON array of the items [from, from+n) of the item stack, stride 'step', offset 'off'. */
static int make_array(struct rd *r, size_t from, uint32_t n, unsigned step, unsigned off,
                      struct cw_json *out)
{
    struct cw_json *items = cw_arena_array(r->a, n ? n : 1, sizeof *items);
    if (!items) return -1;
    for (uint32_t i = 0; i < n; i++) items[i] = r->items[from + (size_t)i * step + off];
    *out = (struct cw_json){.type = CW_JSON_ARRAY, .len = n, .u.items = items};
    return 0;
}

/* "_" + key in the arena. */
static int ext_key(struct rd *r, cw_slice key, cw_slice *out)
{
    char *d = cw_arena_alloc_bytes(r->a, key.len + 1);
    if (!d) return -1;
    d[0] = '_';
    memcpy(d + 1, key.ptr, key.len);
    *out = (cw_slice){d, key.len + 1};
    return 0;
}

/* End the frame's current run: its items become member(s) of the frame. */
static int close_run(struct rd *r, struct cw_xml_parser *p, struct rframe *f)
{
    struct rrun *run = &f->run;
    if (!run->active) return 0;
    run->active = false;
    size_t base = run->base;
    uint32_t n = run->count;
    struct cw_fhir_elem elem = run->elem;
    if (n == 0) {
        r->n_items = base;
        return 0;
    }
    if (run->primitive) {
        bool any_v = false, any_x = false;
        for (uint32_t i = 0; i < n; i++) {
            if (r->items[base + 2 * i].type != CW_JSON_NULL) any_v = true;
            if (r->items[base + 2 * i + 1].type != CW_JSON_NULL) any_x = true;
        }
        struct cw_json v = cw_json_null(), x = cw_json_null();
        if (run->array) {
            if (any_v && make_array(r, base, n, 2, 0, &v) < 0) return oom(r, p);
            if (any_x && make_array(r, base, n, 2, 1, &x) < 0) return oom(r, p);
        } else {
            v = r->items[base];
            x = r->items[base + 1];
        }
        r->n_items = base;
        if (v.type != CW_JSON_NULL && push_member(r, p, run->key, v, elem, run->order) < 0)
            return -1;
        if (x.type != CW_JSON_NULL) {
            cw_slice xk;
            if (ext_key(r, run->key, &xk) < 0) return oom(r, p);
            if (push_member(r, p, xk, x, elem, run->order) < 0) return -1;
        }
        return 0;
    }
    struct cw_json v;
    if (run->array) {
        if (make_array(r, base, n, 1, 0, &v) < 0) return oom(r, p);
    } else {
        v = r->items[base];
    }
    r->n_items = base;
    return push_member(r, p, run->key, v, elem, run->order);
}

/* The frame's members as a JSON object (members popped). */
static int make_object(struct rd *r, struct cw_xml_parser *p, struct rframe *f, struct cw_json *out)
{
    size_t n = r->n_mem - f->mem_base;
    struct cw_json_member *m = cw_arena_array(r->a, n ? n : 1, sizeof *m);
    if (!m) return oom(r, p);
    for (size_t i = 0; i < n; i++) m[i] = r->mem[f->mem_base + i].m;
    r->n_mem = f->mem_base;
    *out = (struct cw_json){.type = CW_JSON_OBJECT, .len = (uint32_t)n, .u.members = m};
    return 0;
}

/* Hand a finished child (v, and for primitives x) to frame f. */
static int deliver(struct rd *r, struct cw_xml_parser *p, struct rframe *f, struct cw_json v,
                   struct cw_json x)
{
    switch (f->kind) {
    case K_DOC:
        r->result = v;
        r->have_result = true;
        return 0;
    case K_WRAPPER:
        f->value = v;
        return 0;
    default:
        if (!f->run.active) return 0; /* the run was abandoned (lenient) */
        if (push_item(r, p, v) < 0) return -1;
        if (f->run.primitive && push_item(r, p, x) < 0) return -1;
        f->run.count++;
        return 0;
    }
}

static bool member_exists(struct rd *r, const struct rframe *f, struct cw_fhir_elem e)
{
    for (size_t i = f->mem_base; i < r->n_mem; i++)
        if (cw_fhir_elem_eq(r->mem[i].elem, e)) return true;
    return false;
}

static bool is_blank(cw_slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
    }
    return true;
}

static struct rframe *push_skip(struct rd *r, struct cw_xml_parser *p, cw_slice name)
{
    struct rframe *f = push_frame(r, p, K_SKIP);
    if (f) f->name = name;
    return f;
}

/* The value attribute of a primitive, as the JSON scalar its type calls for. */
static int prim_value(struct rd *r, struct cw_xml_parser *p, struct rframe *f, cw_slice v)
{
    cw_slice c;
    switch (cw_fhir_sd_json_kind(f->type)) {
    case CW_FHIR_JSON_BOOLEAN:
        if (cw_slice_eq(v, CW_LIT("true")))
            f->value = cw_json_bool(true);
        else if (cw_slice_eq(v, CW_LIT("false")))
            f->value = cw_json_bool(false);
        else
            return rd_problem(r, p, CW_SLICE_NULL, CW_ISSUE_VALUE,
                              "a boolean must be true or false");
        return 0;
    case CW_FHIR_JSON_NUMBER:
        /* positiveInt allows a leading '+' (datatypes.html); JSON does not */
        if (v.len > 1 && v.ptr[0] == '+' && cw_fhir_sd_eq(f->type, T_POSITIVE_INT)) {
            v.ptr++;
            v.len--;
        }
        if (!cw_json_check_number(v))
            return rd_problem(r, p, CW_SLICE_NULL, CW_ISSUE_VALUE,
                              "the value is not a valid number");
        if (arena_copy(r, v, &c) < 0) return oom(r, p);
        f->value = cw_json_number_text(c);
        return 0;
    default:
        if (arena_copy(r, v, &c) < 0) return oom(r, p);
        f->value = cw_json_string(c);
        return 0;
    }
}

/* Attributes of a FHIR element: id / url members, value for primitives. */
static int element_attrs(struct rd *r, struct cw_xml_parser *p, struct rframe *f,
                         const struct cw_xml_start *e)
{
    size_t first = r->n_mem;
    for (size_t i = 0; i < e->n_attrs; i++) {
        const struct cw_xml_attr *at = &e->attrs[i];
        if (cw_slice_eq(at->uri, XSI_NS)) continue; /* xsi:schemaLocation and friends */
        if (at->uri.len || at->prefix.len) {
            if (rd_problem(r, p, at->name, CW_ISSUE_STRUCTURE, "unknown attribute") < 0) return -1;
            continue;
        }
        if (cw_slice_eq(at->name, CW_LIT("value"))) {
            if (f->kind != K_PRIMITIVE) {
                if (rd_problem(r, p, at->name, CW_ISSUE_STRUCTURE,
                               "a value attribute on an element that is not a primitive") < 0)
                    return -1;
                continue;
            }
            if (prim_value(r, p, f, at->value) < 0) return -1;
            continue;
        }
        struct rinfo ri = {.ok = false};
        if (f->kind != K_RESOURCE && f->kind != K_WRAPPER)
            ri = resolve_info(r->rc, f->ctx, f->type, at->name);
        if (!ri.ok || !(ri.eflags & CW_FHIR_E_XML_ATTR)) {
            if (rd_problem(r, p, at->name, CW_ISSUE_STRUCTURE, "unknown attribute") < 0) return -1;
            continue;
        }
        cw_slice c;
        if (arena_copy(r, at->value, &c) < 0) return oom(r, p);
        if (push_member(r, p, cw_fhir_elem_name(ri.prop.elem), cw_json_string(c), ri.prop.elem,
                        ri.order) < 0)
            return -1;
    }
    /* definition order (id before url), whatever the attribute order was */
    for (size_t i = first + 1; i < r->n_mem; i++) {
        struct rmem t = r->mem[i];
        size_t j = i;
        while (j > first && r->mem[j - 1].order > t.order) {
            r->mem[j] = r->mem[j - 1];
            j--;
        }
        r->mem[j] = t;
    }
    return 0;
}

/* ---- the narrative div ---- */

static bool declares_default(const struct cw_xml_start *e, cw_slice uri)
{
    for (size_t i = 0; i < e->n_ns; i++)
        if (e->ns[i].prefix.len == 0 && cw_slice_eq(e->ns[i].uri, uri)) return true;
    return false;
}

/* Re-serialization of one start tag inside the div (level = 0 for the div). */
static void div_write_start(struct rd *r, const struct cw_xml_start *e, unsigned level)
{
    struct cw_xml_writer *w = &r->div_w;
    cw_slice dflt = level > 0 ? r->div_dflt[level - 1] : CW_SLICE_NULL;
    cw_xml_start(w, e->name);
    if (level == 0 || !cw_slice_eq(dflt, e->uri)) cw_xml_attr(w, CW_LIT("xmlns"), e->uri);
    if (level < CW_XML_DEFAULT_MAX_DEPTH) r->div_dflt[level] = e->uri;
    for (size_t i = 0; i < e->n_attrs; i++) {
        const struct cw_xml_attr *at = &e->attrs[i];
        if (!at->uri.len) {
            cw_xml_attr(w, at->name, at->value);
            continue;
        }
        char qn[160];
        cw_slice pre = cw_slice_eq(at->uri, XMLNS_XML) ? CW_LIT("xml") : at->prefix;
        if (pre.len + at->name.len + 1 >= sizeof qn || !pre.len) continue;
        memcpy(qn, pre.ptr, pre.len);
        qn[pre.len] = ':';
        memcpy(qn + pre.len + 1, at->name.ptr, at->name.len);
        /* names are copied by the writer's buffer right away; qn may go */
        if (!cw_slice_eq(pre, CW_LIT("xml"))) {
            bool seen = false;
            for (size_t k = 0; k < i; k++)
                if (cw_slice_eq(e->attrs[k].prefix, at->prefix)) seen = true;
            if (!seen) {
                char dn[160];
                if (6 + pre.len < sizeof dn) {
                    memcpy(dn, "xmlns:", 6);
                    memcpy(dn + 6, pre.ptr, pre.len);
                    cw_xml_attr(w, (cw_slice){dn, 6 + pre.len}, at->uri);
                }
            }
        }
        cw_xml_attr(w, (cw_slice){qn, pre.len + 1 + at->name.len}, at->value);
    }
}

static int start_div(struct rd *r, struct cw_xml_parser *p, struct rframe *f,
                     const struct cw_xml_start *e)
{
    (void)f;
    r->div_prefixed = false;
    r->div_raw = cw_xml_offsets_exact(p) && e->prefix.len == 0 && declares_default(e, XHTML_NS);
    if (r->div_raw) {
        size_t off = cw_xml_offset(p);
        if (off > r->n) off = r->n;
        size_t s = off;
        while (s > 0 && r->src[s - 1] != '<') s--;
        if (s == 0 || off - (s - 1) < 5 || memcmp(r->src + s - 1, "<div", 4) != 0) {
            r->div_raw = false;
        } else {
            char c = r->src[s + 3];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '>' && c != '/')
                r->div_raw = false;
            r->div_start = s - 1;
        }
    }
    for (size_t i = 0; i < e->n_attrs; i++)
        if (e->attrs[i].prefix.len && !cw_slice_eq(e->attrs[i].uri, XMLNS_XML))
            r->div_prefixed = true;
    if (!r->div_raw) {
        cw_buf_reset(&r->div_buf);
        cw_xml_writer_init(&r->div_w, &r->div_buf, 0);
        div_write_start(r, e, 0);
    }
    return 0;
}

static int div_inner_start(struct rd *r, struct rframe *f, const struct cw_xml_start *e)
{
    f->skip++;
    if (r->div_raw) {
        if (e->prefix.len) r->div_prefixed = true;
        for (size_t i = 0; i < e->n_attrs; i++)
            if (e->attrs[i].prefix.len && !cw_slice_eq(e->attrs[i].uri, XMLNS_XML))
                r->div_prefixed = true;
        return 0;
    }
    div_write_start(r, e, f->skip);
    return 0;
}

/* Copy markup into the arena with XML line-end normalization (CRLF, CR -> LF). */
static int copy_markup(struct rd *r, cw_slice s, cw_slice *out)
{
    if (!memchr(s.ptr, '\r', s.len)) return arena_copy(r, s, out);
    char *d = cw_arena_alloc_bytes(r->a, s.len);
    if (!d) return -1;
    size_t k = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '\r') {
            d[k++] = '\n';
            if (i + 1 < s.len && s.ptr[i + 1] == '\n') i++;
        } else {
            d[k++] = s.ptr[i];
        }
    }
    *out = (cw_slice){d, k};
    return 0;
}

/*
 * A raw div that uses prefixes declared outside it (on the FHIR root, say)
 * needs those declarations to stand alone: insert them after "<div".
 */
static int div_fix_prefixes(struct rd *r, struct cw_xml_parser *p, cw_slice text, cw_slice *out)
{
    struct cw_xml_checker *chk = cw_xml_checker_new();
    if (!chk) return oom(r, p);
    struct cw_err e;
    int ok = cw_xml_check_element(chk, text, XHTML_NS, CW_LIT("div"), NULL, &e);
    if (ok == 0) {
        cw_xml_checker_free(chk);
        *out = text;
        return 0;
    }
    struct cw_buf b;
    cw_buf_init(&b, text.len + 4096 + r->n_ns * 256);
    cw_buf_append(&b, text.ptr, 4);
    for (size_t i = 0; i < r->n_ns; i++) {
        if (!r->ns[i].prefix.len) continue;
        cw_buf_append(&b, " xmlns:", 7);
        cw_buf_put_slice(&b, r->ns[i].prefix);
        cw_buf_append(&b, "=\"", 2);
        cw_xml_escape_attr(&b, r->ns[i].uri);
        cw_buf_putc(&b, '"');
    }
    cw_buf_append(&b, text.ptr + 4, text.len - 4);
    int rc = -1;
    if (!cw_buf_failed(&b) &&
        cw_xml_check_element(chk, cw_buf_slice(&b), XHTML_NS, CW_LIT("div"), NULL, &e) == 0)
        rc = arena_copy(r, cw_buf_slice(&b), out) < 0 ? oom(r, p) : 0;
    else
        rc = rd_fatal(r, p, CW_SLICE_NULL, CW_ISSUE_STRUCTURE,
                      "the narrative div cannot be made to stand alone (namespace prefixes)");
    cw_buf_release(&b);
    cw_xml_checker_free(chk);
    return rc;
}

static int end_div(struct rd *r, struct cw_xml_parser *p, struct rframe *f)
{
    cw_slice text;
    if (f->skip) {
        f->skip--;
        if (!r->div_raw) cw_xml_end(&r->div_w);
        return 0;
    }
    if (r->div_raw) {
        size_t end = cw_xml_offset(p);
        if (end > r->n || end <= r->div_start || r->src[end - 1] != '>')
            return rd_fatal(r, p, CW_SLICE_NULL, CW_ISSUE_EXCEPTION,
                            "internal error locating the narrative div");
        if (copy_markup(r, (cw_slice){r->src + r->div_start, end - r->div_start}, &text) < 0)
            return oom(r, p);
        if (r->div_prefixed && div_fix_prefixes(r, p, text, &text) < 0) return -1;
    } else {
        cw_xml_end(&r->div_w);
        if (!cw_xml_writer_ok(&r->div_w))
            return rd_fatal(r, p, CW_SLICE_NULL, CW_ISSUE_TOO_COSTLY,
                            "narrative div too large or holds characters XML cannot carry");
        if (arena_copy(r, cw_buf_slice(&r->div_buf), &text) < 0) return oom(r, p);
    }
    r->n_fr--;
    return deliver(r, p, top(r), cw_json_string(text), cw_json_null());
}

/* ---- events ---- */

/* The root element, or the one element inside contained / entry.resource. */
static int start_resource(struct rd *r, struct cw_xml_parser *p, struct rframe *f,
                          const struct cw_xml_start *e)
{
    bool root = f->kind == K_DOC;
    if (!root && f->value.type != CW_JSON_NULL) {
        if (rd_problem(r, p, e->name, CW_ISSUE_STRUCTURE,
                       "more than one resource in one resource element") < 0)
            return -1;
        return push_skip(r, p, e->name) ? 0 : -1;
    }
    if (!cw_slice_eq(e->uri, FHIR_NS)) {
        if (root)
            return rd_fatal(r, p, CW_SLICE_NULL, CW_ISSUE_STRUCTURE,
                            "the root element is not in the FHIR namespace "
                            "(http://hl7.org/fhir)");
        if (rd_problem(r, p, e->name, CW_ISSUE_STRUCTURE,
                       "resource element not in the FHIR namespace") < 0)
            return -1;
        return push_skip(r, p, e->name) ? 0 : -1;
    }
    struct cw_fhir_sd t = cw_fhir_type(e->name);
    if (cw_fhir_sd_kind(t) != CW_FHIR_KIND_RESOURCE || cw_fhir_sd_abstract(t) ||
        (!root && !cw_fhir_type_is_a(t, f->type))) {
        if (root) {
            struct cw_err *pe = cw_xml_error(p);
            if (pe) {
                cw_err_clear(pe);
                cw_err_set(pe, CW_ISSUE_NOT_SUPPORTED, "unknown resource type '%.*s'",
                           (int)(e->name.len > 64 ? 64 : e->name.len), e->name.ptr);
                cw_xml_position(p, &pe->line, &pe->column);
            }
            return -1;
        }
        if (rd_problem(r, p, e->name, CW_ISSUE_STRUCTURE, "not a resource type allowed here") < 0)
            return -1;
        return push_skip(r, p, e->name) ? 0 : -1;
    }
    struct rframe *nf = push_frame(r, p, K_RESOURCE);
    if (!nf) return -1;
    nf->type = t;
    nf->elem = cw_fhir_sd_root(t);
    nf->ctx = nf->elem;
    if (push_ns(r, p, e) < 0) return -1;
    if (push_member(r, p, RESOURCE_TYPE, cw_json_string(cw_fhir_sd_type_name(t)), CW_FHIR_NONE_ELEM,
                    0) < 0)
        return -1;
    return element_attrs(r, p, nf, e);
}

static int start_child(struct rd *r, struct cw_xml_parser *p, struct rframe *f,
                       const struct cw_xml_start *e)
{
    bool in_xhtml = cw_slice_eq(e->uri, XHTML_NS);
    if (!in_xhtml && !cw_slice_eq(e->uri, FHIR_NS)) {
        if (rd_problem(r, p, e->name, CW_ISSUE_STRUCTURE, "element not in the FHIR namespace") < 0)
            return -1;
        return push_skip(r, p, e->name) ? 0 : -1;
    }
    struct rinfo ri = resolve_info(r->rc, f->ctx, f->type, e->name);
    if ((f->kind == K_PRIMITIVE && !cw_slice_eq(e->name, CW_LIT("extension"))) || !ri.ok) {
        if (rd_problem(r, p, e->name, CW_ISSUE_STRUCTURE, "unknown element") < 0) return -1;
        return push_skip(r, p, e->name) ? 0 : -1;
    }
    const struct cw_fhir_prop prop = ri.prop;
    unsigned eflags = ri.eflags;
    /* for messages: the FHIRPath step, value.ofType(Quantity) for choices */
    char wbuf[160];
    cw_slice where = e->name;
    if (prop.flags & CW_FHIR_PROP_CHOICE) {
        cw_slice en = cw_fhir_elem_name(prop.elem), tn = cw_fhir_sd_type_name(prop.type);
        int wn =
            snprintf(wbuf, sizeof wbuf, "%.*s.ofType(%.*s)", CW_SLICE_FMT(en), CW_SLICE_FMT(tn));
        if (wn > 0 && (size_t)wn < sizeof wbuf) where = (cw_slice){wbuf, (size_t)wn};
    }
    if (eflags & CW_FHIR_E_XML_ATTR) {
        if (rd_problem(r, p, where, CW_ISSUE_STRUCTURE,
                       "written as an element but FHIR XML has it as an attribute") < 0)
            return -1;
        return push_skip(r, p, e->name) ? 0 : -1;
    }
    bool xhtml = ri.xhtml;
    if (xhtml != in_xhtml) {
        if (rd_problem(r, p, where, CW_ISSUE_STRUCTURE,
                       xhtml
                           ? "the narrative div must be in the XHTML namespace"
                           : "element in the XHTML namespace where a FHIR element is expected") < 0)
            return -1;
        return push_skip(r, p, e->name) ? 0 : -1;
    }
    enum cw_fhir_kind kind = (enum cw_fhir_kind)ri.kind;
    bool primitive = kind == CW_FHIR_KIND_PRIMITIVE && !xhtml;
    struct rrun *run = &f->run;
    bool choice = (prop.flags & CW_FHIR_PROP_CHOICE) != 0;
    if (run->active && cw_fhir_elem_eq(run->elem, prop.elem)) {
        if (!cw_slice_eq(run->key, e->name)) {
            if (rd_problem(r, p, where, CW_ISSUE_STRUCTURE,
                           "a choice element given with more than one type") < 0)
                return -1;
            return push_skip(r, p, e->name) ? 0 : -1;
        }
        if (!run->array) {
            if (rd_problem(r, p, where, CW_ISSUE_STRUCTURE,
                           "element repeated but it does not repeat") < 0)
                return -1;
            return push_skip(r, p, e->name) ? 0 : -1;
        }
    } else {
        if (close_run(r, p, f) < 0) return -1;
        uint32_t ord = ri.order;
        if (f->any_child && ord <= f->max_order) {
            if (member_exists(r, f, prop.elem)) {
                if (rd_problem(r, p, where, CW_ISSUE_STRUCTURE,
                               "element repeated after other elements (out of order)") < 0)
                    return -1;
                return push_skip(r, p, e->name) ? 0 : -1;
            }
            if (rd_problem(r, p, where, CW_ISSUE_STRUCTURE,
                           "element out of order (FHIR XML follows the definition order)") < 0)
                return -1;
        }
        if (!f->any_child || ord > f->max_order) f->max_order = ord;
        f->any_child = true;
        cw_slice key = cw_fhir_elem_name(prop.elem);
        if (choice && arena_copy(r, e->name, &key) < 0) return oom(r, p);
        *run = (struct rrun){.elem = prop.elem,
                             .order = ord,
                             .type = prop.type,
                             .key = key,
                             .base = r->n_items,
                             .count = 0,
                             .active = true,
                             .array = (prop.flags & CW_FHIR_PROP_ARRAY) != 0,
                             .primitive = primitive};
    }
    uint32_t index = run->array ? run->count : CW_FHIR_NO_INDEX;
    uint8_t k = xhtml                           ? K_XHTML
                : primitive                     ? K_PRIMITIVE
                : kind == CW_FHIR_KIND_RESOURCE ? K_WRAPPER
                : kind == CW_FHIR_KIND_COMPLEX  ? K_COMPLEX
                                                : K_SKIP;
    if (k == K_SKIP)
        return rd_fatal(r, p, e->name, CW_ISSUE_EXCEPTION, "element without a usable type");
    struct rframe *nf = push_frame(r, p, k);
    if (!nf) return -1;
    nf->elem = prop.elem;
    nf->type = prop.type;
    nf->choice = choice;
    nf->index = index;
    nf->ctx = ri.sub;
    if (k == K_XHTML) return start_div(r, p, nf, e);
    if (push_ns(r, p, e) < 0) return -1;
    return element_attrs(r, p, nf, e);
}

static int on_start(void *ctx, struct cw_xml_parser *p, const struct cw_xml_start *e)
{
    struct rd *r = ctx;
    struct rframe *f = top(r);
    switch (f->kind) {
    case K_SKIP:
        f->skip++;
        return 0;
    case K_XHTML:
        return div_inner_start(r, f, e);
    case K_DOC:
    case K_WRAPPER:
        return start_resource(r, p, f, e);
    default:
        return start_child(r, p, f, e);
    }
}

static int on_end(void *ctx, struct cw_xml_parser *p, cw_slice name, cw_slice prefix, cw_slice uri)
{
    (void)name, (void)prefix, (void)uri;
    struct rd *r = ctx;
    struct rframe *f = top(r);
    struct cw_json v = cw_json_null(), x = cw_json_null();
    if (f->kind != K_SKIP && f->kind != K_XHTML) r->n_ns = f->ns_base;
    switch (f->kind) {
    case K_SKIP:
        if (f->skip)
            f->skip--;
        else
            r->n_fr--;
        return 0;
    case K_XHTML:
        return end_div(r, p, f);
    case K_RESOURCE:
    case K_COMPLEX:
        if (close_run(r, p, f) < 0 || make_object(r, p, f, &v) < 0) return -1;
        break;
    case K_PRIMITIVE:
        if (close_run(r, p, f) < 0) return -1;
        if (r->n_mem > f->mem_base && make_object(r, p, f, &x) < 0) return -1;
        v = f->value;
        if (v.type == CW_JSON_NULL && x.type == CW_JSON_NULL) {
            /* ele-1: a primitive element has a value or extensions */
            if (rd_problem(r, p, CW_SLICE_NULL, CW_ISSUE_STRUCTURE,
                           "primitive element with neither a value nor extensions") < 0)
                return -1;
            r->n_fr--; /* the occurrence is dropped */
            return 0;
        }
        break;
    case K_WRAPPER:
        if (f->value.type == CW_JSON_NULL) {
            if (rd_problem(r, p, CW_SLICE_NULL, CW_ISSUE_STRUCTURE,
                           "resource element without a resource inside") < 0)
                return -1;
            r->n_fr--;
            return 0;
        }
        v = f->value;
        break;
    default:
        return 0;
    }
    r->n_fr--;
    return deliver(r, p, top(r), v, x);
}

static int on_text(void *ctx, struct cw_xml_parser *p, cw_slice text, bool cdata)
{
    struct rd *r = ctx;
    struct rframe *f = top(r);
    if (f->kind == K_SKIP) return 0;
    if (f->kind == K_XHTML) {
        if (!r->div_raw) cw_xml_text(&r->div_w, text);
        return 0;
    }
    if (!cdata && is_blank(text)) return 0;
    return rd_problem(r, p, CW_SLICE_NULL, CW_ISSUE_STRUCTURE,
                      "text content in a FHIR element (values go in value attributes)");
}

static int on_comment(void *ctx, struct cw_xml_parser *p, cw_slice text)
{
    (void)p;
    struct rd *r = ctx;
    struct rframe *f = top(r);
    if (f->kind == K_XHTML && !r->div_raw) cw_xml_comment(&r->div_w, text);
    return 0; /* comments in FHIR content have no JSON form (json.html) */
}

int cw_fhir_xml_read(struct cw_arena *a, const char *xml, size_t n,
                     const struct cw_fhir_xml_opts *opts, struct cw_json **out, struct cw_err *err)
{
    static const struct cw_fhir_xml_opts defaults;
    if (!opts) opts = &defaults;
    *out = NULL;
    if (err) cw_err_clear(err);
    pthread_once(&types_once, types_init);
    struct rd *r = calloc(1, sizeof *r);
    if (!r) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "out of memory");
    r->rc = rc_table();
    r->a = a;
    r->src = xml;
    r->n = n;
    r->flags = opts->flags;
    r->max_depth = opts->max_depth ? opts->max_depth : CW_FHIR_XML_DEFAULT_MAX_DEPTH;
    r->warn = opts->warn;
    r->warn_ctx = opts->warn_ctx;
    cw_buf_init(&r->div_buf, opts->max_bytes ? opts->max_bytes : CW_XML_DEFAULT_MAX_BYTES);
    int rc = -1;
    if (push_frame(r, NULL, K_DOC)) {
        struct cw_xml_limits lim = {.max_bytes = opts->max_bytes, .flags = CW_XML_STRICT_NS};
        static const struct cw_xml_handler h = {
            .start = on_start, .end = on_end, .text = on_text, .comment = on_comment};
        rc = cw_xml_parse(xml, n, &lim, &h, r, err);
        if (rc == 0 && !r->have_result) rc = cw_err_set(err, CW_ISSUE_STRUCTURE, "no resource");
        if (rc == 0) {
            struct cw_json *res = cw_arena_alloc(a, sizeof *res);
            if (!res)
                rc = cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
            else {
                *res = r->result;
                *out = res;
            }
        }
    }
    cw_buf_release(&r->div_buf);
    free(r->fr);
    free(r->mem);
    free(r->items);
    free(r->ns);
    free(r);
    return rc;
}
