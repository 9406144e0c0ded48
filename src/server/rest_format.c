/*
 * rest_format.c — what goes over the wire: content negotiation (_format,
 * Accept, Content-Type), _pretty, _summary, _elements, request bodies,
 * OperationOutcomes, HTTP dates, and FHIR XML at the edge.
 *
 * Owns: nothing; everything is built in the request's arena or buffers.
 *
 * Spec: FHIR R4 http.html#mime-type (application/fhir+json,
 * application/fhir+xml, and application/json / application/xml / text/xml
 * accepted; _format with the short names "json" / "xml"), http.html#summary
 * and search.html#summary (_summary true|text|data|count|false; summary
 * elements are those marked isSummary in the base definitions; a subsetted
 * resource carries the SUBSETTED tag), search.html#elements,
 * operationoutcome.html.
 *
 * XML: request bodies in application/fhir+xml are read, and responses
 * (resources, Bundles, OperationOutcomes) written, through the FHIR XML
 * converter (src/fhir/fhir_xml.h, strict mode). Stored resources are JSON;
 * XML is made at the edge: every JSON response is built first and then
 * converted, so XML and JSON answers carry the same content.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/vec.h"
#include "fhir/fhir.h"
#include "server/rest_int.h"

#include "fhir/fhir_xml.h"

int rest_split_query(const struct rest_req *q, struct rest_query *out, struct cw_err *err)
{
    return cw_search_split_query(q->a, q->query, 0, &out->pairs, &out->n, err);
}

/* ---- media types ---- */

enum media { MEDIA_NONE = 0, MEDIA_JSON, MEDIA_XML, MEDIA_ANY, MEDIA_OTHER };

static enum media media_of(cw_slice t)
{
    /* drop parameters (;charset=utf-8 ;fhirVersion=4.0) and whitespace */
    long semi = cw_slice_index(t, ';');
    if (semi >= 0) t = cw_slice_sub(t, 0, (size_t)semi);
    t = cw_slice_trim(t);
    if (!t.len) return MEDIA_NONE;
    static const char *const json[] = {"application/fhir+json", "application/json", "json",
                                       "application/json+fhir", NULL};
    static const char *const xml[] = {"application/fhir+xml", "application/xml", "text/xml", "xml",
                                      "application/xml+fhir", NULL};
    for (size_t i = 0; json[i]; i++)
        if (cw_slice_eq_nocase(t, cw_slice_cstr(json[i]))) return MEDIA_JSON;
    for (size_t i = 0; xml[i]; i++)
        if (cw_slice_eq_nocase(t, cw_slice_cstr(xml[i]))) return MEDIA_XML;
    if (cw_slice_eq_cstr(t, "*/*") || cw_slice_eq_nocase(t, CW_LIT("application/*"))) return MEDIA_ANY;
    return MEDIA_OTHER;
}

/* q=0 on an Accept entry means "not acceptable". */
static bool accept_q_zero(cw_slice entry)
{
    long semi;
    while ((semi = cw_slice_index(entry, ';')) >= 0) {
        entry = cw_slice_sub(entry, (size_t)semi + 1, entry.len);
        cw_slice p = cw_slice_trim(entry);
        long next = cw_slice_index(p, ';');
        if (next >= 0) p = cw_slice_sub(p, 0, (size_t)next);
        if (cw_slice_starts_with(p, CW_LIT("q=")) &&
            (cw_slice_eq_cstr(p, "q=0") || cw_slice_starts_with(p, CW_LIT("q=0.0")) ||
             cw_slice_eq_cstr(p, "q=0.")))
            return true;
    }
    return false;
}

static int format_of(cw_slice format, cw_slice accept, enum rest_fmt *fmt, struct cw_err *err)
{
    *fmt = REST_FMT_JSON;
    if (format.len) {
        enum media m = media_of(format);
        if (m == MEDIA_JSON) return 0;
        if (m == MEDIA_XML) {
            *fmt = REST_FMT_XML;
            return 0;
        }
        cw_err_set(err, CW_ISSUE_NOT_SUPPORTED, "_format: only json and xml are served");
        err->http_status = 406;
        return -1;
    }
    if (!accept.len) return 0;
    cw_slice rest = accept;
    while (rest.len) {
        long c = cw_slice_index(rest, ',');
        cw_slice one = c < 0 ? rest : cw_slice_sub(rest, 0, (size_t)c);
        rest = c < 0 ? CW_LIT("") : cw_slice_sub(rest, (size_t)c + 1, rest.len);
        if (accept_q_zero(one)) continue;
        enum media m = media_of(one);
        if (m == MEDIA_JSON || m == MEDIA_ANY) return 0;
        if (m == MEDIA_XML) {
            *fmt = REST_FMT_XML;
            return 0;
        }
    }
    cw_err_set(err, CW_ISSUE_NOT_SUPPORTED,
               "Accept: none of the requested media types is served (application/fhir+json, "
               "application/fhir+xml)");
    err->http_status = 406;
    return -1;
}

int rest_negotiate(const struct rest_req *q, const struct rest_query *qs, struct rest_out *out,
                   struct cw_err *err)
{
    memset(out, 0, sizeof *out);
    cw_slice format = CW_SLICE_NULL;
    for (size_t i = 0; qs && i < qs->n; i++) {
        cw_slice k = qs->pairs[i].key, v = qs->pairs[i].value;
        if (cw_slice_eq_cstr(k, "_format")) format = v;
        else if (cw_slice_eq_cstr(k, "_pretty")) out->indent = cw_slice_eq_cstr(v, "true") ? 2 : 0;
        else if (cw_slice_eq_cstr(k, "_summary")) {
            static const char *const sums[] = {"true", "text", "data", "count", "false"};
            out->summary = CW_SUMMARY_NONE;
            for (size_t s = 0; s < 5; s++)
                if (cw_slice_eq_cstr(v, sums[s])) out->summary = (enum cw_search_summary)(s + 1);
            if (out->summary == CW_SUMMARY_NONE)
                return cw_err_set(err, CW_ISSUE_INVALID, "_summary takes true, text, data, count or false");
        } else if (cw_slice_eq_cstr(k, "_elements")) {
            CW_VEC(cw_slice) el;
            cw_vec_init(&el, q->a, 256);
            cw_slice rest = v;
            while (rest.len) {
                long c = cw_slice_index(rest, ',');
                cw_slice one = cw_slice_trim(c < 0 ? rest : cw_slice_sub(rest, 0, (size_t)c));
                rest = c < 0 ? CW_LIT("") : cw_slice_sub(rest, (size_t)c + 1, rest.len);
                if (one.len && cw_vec_push(&el, one) < 0)
                    return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "_elements: too many names");
            }
            out->elements = el.ptr;
            out->n_elements = el.len;
        }
    }
    return format_of(format, q->header(q->hctx, "Accept"), &out->fmt, err);
}

int rest_body_format(const struct rest_req *q, enum rest_fmt *fmt, struct cw_err *err)
{
    cw_slice ct = q->header(q->hctx, "Content-Type");
    enum media m = media_of(ct);
    *fmt = REST_FMT_JSON;
    if (m == MEDIA_NONE || m == MEDIA_JSON) return 0;
    if (m == MEDIA_XML) {
        *fmt = REST_FMT_XML;
        return 0;
    }
    cw_err_set(err, CW_ISSUE_NOT_SUPPORTED,
               "Content-Type: send application/fhir+json or application/fhir+xml");
    err->http_status = 415;
    return -1;
}

void rest_prefer_parse(const struct rest_req *q, struct rest_prefer *p)
{
    memset(p, 0, sizeof *p);
    cw_slice h = q->header(q->hctx, "Prefer");
    while (h.len) {
        long c = cw_slice_index(h, ',');
        cw_slice one = cw_slice_trim(c < 0 ? h : cw_slice_sub(h, 0, (size_t)c));
        h = c < 0 ? CW_LIT("") : cw_slice_sub(h, (size_t)c + 1, h.len);
        /* also "a; b" lists */
        while (one.len) {
            long s = cw_slice_index(one, ';');
            cw_slice t = cw_slice_trim(s < 0 ? one : cw_slice_sub(one, 0, (size_t)s));
            one = s < 0 ? CW_LIT("") : cw_slice_sub(one, (size_t)s + 1, one.len);
            if (cw_slice_eq_nocase(t, CW_LIT("return=minimal"))) p->ret = REST_RETURN_MINIMAL;
            else if (cw_slice_eq_nocase(t, CW_LIT("return=representation"))) p->ret = REST_RETURN_REPRESENTATION;
            else if (cw_slice_eq_nocase(t, CW_LIT("return=OperationOutcome"))) p->ret = REST_RETURN_OUTCOME;
            else if (cw_slice_eq_nocase(t, CW_LIT("handling=strict"))) {
                p->handling = CW_SEARCH_STRICT;
                p->handling_set = true;
            } else if (cw_slice_eq_nocase(t, CW_LIT("handling=lenient"))) {
                p->handling = CW_SEARCH_LENIENT;
                p->handling_set = true;
            }
        }
    }
}

int rest_parse_body(const struct rest_req *q, size_t max, struct cw_json **out, struct cw_err *err)
{
    *out = NULL;
    enum rest_fmt fmt;
    if (rest_body_format(q, &fmt, err) < 0) return -1;
    if (q->body.len == 0) return cw_err_set(err, CW_ISSUE_INVALID, "the request has no body");
    if (q->body.len > max) return cw_err_set(err, CW_ISSUE_TOO_LONG, "the body exceeds %zu bytes", max);
    struct cw_json *j = NULL;
    if (fmt == REST_FMT_XML) {
        struct cw_fhir_xml_opts xo = {.max_bytes = max};
        if (cw_fhir_xml_read(q->a, q->body.ptr, q->body.len, &xo, &j, err) < 0) {
            if (err->issue != CW_ISSUE_TOO_LONG && err->issue != CW_ISSUE_TOO_COSTLY) err->http_status = 400;
            return -1;
        }
    } else {
        struct cw_json_opts jo = {.flags = CW_JSON_STRICT | CW_JSON_ALLOW_BOM, .max_depth = 256, .max_bytes = max};
        if (cw_json_parse(q->a, q->body.ptr, q->body.len, &jo, &j, err) < 0) {
            char where[64];
            snprintf(where, sizeof where, "line %u, column %u", err->line, err->column);
            cw_err_at(err, where);
            if (err->issue == CW_ISSUE_DUPLICATE) err->http_status = 400;
            return -1;
        }
    }
    if (!cw_json_is(j, CW_JSON_OBJECT) || !cw_json_is(cw_json_get(j, "resourceType"), CW_JSON_STRING))
        return cw_err_set(err, CW_ISSUE_STRUCTURE, "the body is not a FHIR resource (no resourceType)");
    *out = j;
    return 0;
}

/* ---- _summary and _elements ---- */

static bool key_is(cw_slice key, cw_slice name)
{
    if (key.len && key.ptr[0] == '_') key = cw_slice_sub(key, 1, key.len - 1);
    if (cw_slice_eq(key, name)) return true;
    /* a choice: valueQuantity for "value" */
    return key.len > name.len && cw_slice_starts_with(key, name) && key.ptr[name.len] >= 'A' &&
           key.ptr[name.len] <= 'Z';
}

static bool always_kept(cw_slice key)
{
    return cw_slice_eq_cstr(key, "resourceType") || cw_slice_eq_cstr(key, "id") ||
           cw_slice_eq_cstr(key, "meta") || cw_slice_eq_cstr(key, "_id");
}

/* Keep members of obj by a predicate; exact-size copy in the arena. */
typedef bool (*keep_fn)(cw_slice key, const struct cw_json_member *m, void *ctx);

static int filter_members(struct cw_arena *a, struct cw_json *obj, keep_fn keep, void *ctx)
{
    if (!cw_json_is(obj, CW_JSON_OBJECT) || obj->len == 0) return 0;
    struct cw_json_member *nm = cw_arena_array(a, obj->len, sizeof *nm);
    if (!nm) return -1;
    uint32_t n = 0;
    for (uint32_t i = 0; i < obj->len; i++)
        if (keep(obj->u.members[i].key, &obj->u.members[i], ctx)) nm[n++] = obj->u.members[i];
    obj->u.members = nm;
    obj->len = n;
    obj->flags &= (uint8_t)~CW_JSON_F_GROWABLE;
    return 0;
}

struct elem_ctx {
    const cw_slice *names;
    size_t n;
};

static bool keep_elements(cw_slice key, const struct cw_json_member *m, void *ctx)
{
    (void)m;
    const struct elem_ctx *e = ctx;
    if (always_kept(key)) return true;
    for (size_t i = 0; i < e->n; i++)
        if (key_is(key, e->names[i])) return true;
    return false;
}

struct sum_ctx {
    struct cw_arena *a;
    struct cw_fhir_elem parent;
    struct cw_fhir_sd parent_type;
    enum cw_search_summary mode;
    int depth;
};

static int summarize(struct cw_arena *a, struct cw_json *obj, struct cw_fhir_elem parent,
                     struct cw_fhir_sd ptype, int depth);

static bool keep_summary(cw_slice key, const struct cw_json_member *m, void *vctx)
{
    struct sum_ctx *c = vctx;
    if (cw_slice_eq_cstr(key, "resourceType") || cw_slice_eq_cstr(key, "id") ||
        cw_slice_eq_cstr(key, "meta"))
        return true;
    struct cw_fhir_prop prop;
    if (cw_fhir_resolve(c->parent, c->parent_type, key, &prop) < 0) return false;
    unsigned fl = cw_fhir_elem_flags(prop.elem);
    bool mandatory = cw_fhir_elem_min(prop.elem) > 0;
    if (c->mode == CW_SUMMARY_TEXT) return cw_slice_eq_cstr(key, "text") || (c->depth == 0 && mandatory);
    if (!(fl & CW_FHIR_E_SUMMARY) && !mandatory) return false;
    /* backbone elements: their own children are filtered too */
    if (c->depth < 16 && cw_fhir_elem_child_count(prop.elem) > 0) {
        struct cw_json *v = (struct cw_json *)&m->value;
        if (cw_json_is(v, CW_JSON_OBJECT)) summarize(c->a, v, prop.elem, prop.type, c->depth + 1);
        else if (cw_json_is(v, CW_JSON_ARRAY))
            for (uint32_t i = 0; i < v->len; i++)
                if (cw_json_is(&v->u.items[i], CW_JSON_OBJECT))
                    summarize(c->a, &v->u.items[i], prop.elem, prop.type, c->depth + 1);
    }
    return true;
}

static int summarize(struct cw_arena *a, struct cw_json *obj, struct cw_fhir_elem parent,
                     struct cw_fhir_sd ptype, int depth)
{
    struct sum_ctx c = {.a = a, .parent = parent, .parent_type = ptype, .mode = CW_SUMMARY_TRUE, .depth = depth};
    return filter_members(a, obj, keep_summary, &c);
}

static bool drop_text(cw_slice key, const struct cw_json_member *m, void *ctx)
{
    (void)m, (void)ctx;
    return !cw_slice_eq_cstr(key, "text") && !cw_slice_eq_cstr(key, "_text");
}

/* meta.tag += SUBSETTED (search.html#summary). */
static int tag_subsetted(struct cw_arena *a, struct cw_json *res)
{
    struct cw_json *meta = NULL;
    for (uint32_t i = 0; i < res->len; i++)
        if (cw_slice_eq_cstr(res->u.members[i].key, "meta")) meta = &res->u.members[i].value;
    if (!meta) {
        meta = cw_json_set(a, res, CW_LIT("meta"), cw_json_object());
        if (!meta) return -1;
    }
    if (!cw_json_is(meta, CW_JSON_OBJECT)) return 0;
    struct cw_json *tags = NULL;
    for (uint32_t i = 0; i < meta->len; i++)
        if (cw_slice_eq_cstr(meta->u.members[i].key, "tag")) tags = &meta->u.members[i].value;
    if (!tags) {
        tags = cw_json_set(a, meta, CW_LIT("tag"), cw_json_array());
        if (!tags) return -1;
    }
    if (!cw_json_is(tags, CW_JSON_ARRAY)) return 0;
    struct cw_json tag = cw_json_object();
    if (!cw_json_set(a, &tag, CW_LIT("system"),
                     cw_json_string(CW_LIT("http://terminology.hl7.org/CodeSystem/v3-ObservationValue"))) ||
        !cw_json_set(a, &tag, CW_LIT("code"), cw_json_string(CW_LIT("SUBSETTED"))) ||
        !cw_json_set(a, &tag, CW_LIT("display"), cw_json_string(CW_LIT("subsetted"))))
        return -1;
    return cw_json_append(a, tags, tag) ? 0 : -1;
}

int rest_shape(struct cw_arena *a, struct cw_json *res, enum cw_search_summary summary,
               const cw_slice *elements, size_t n_elements, struct cw_err *err)
{
    int rc = 0;
    bool subsetted = false;
    if (n_elements) {
        struct elem_ctx c = {elements, n_elements};
        rc = filter_members(a, res, keep_elements, &c);
        subsetted = true;
    } else if (summary == CW_SUMMARY_TRUE || summary == CW_SUMMARY_TEXT) {
        struct cw_fhir_sd t = cw_fhir_type(cw_json_text(cw_json_get(res, "resourceType")));
        if (!cw_fhir_sd_ok(t)) return 0;
        struct sum_ctx c = {.a = a, .parent = cw_fhir_sd_root(t), .parent_type = t, .mode = summary};
        rc = filter_members(a, res, keep_summary, &c);
        subsetted = true;
    } else if (summary == CW_SUMMARY_DATA) {
        rc = filter_members(a, res, drop_text, NULL);
        subsetted = true;
    }
    if (rc == 0 && subsetted) rc = tag_subsetted(a, res);
    if (rc < 0) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "response: arena limit");
    return 0;
}

/* ---- writing ---- */

const char *rest_content_type(const struct rest_out *o)
{
    return o && o->fmt == REST_FMT_XML ? "application/fhir+xml; charset=utf-8"
                                       : "application/fhir+json; charset=utf-8";
}

static bool shaped(const struct rest_out *o)
{
    return o->n_elements || o->summary == CW_SUMMARY_TRUE || o->summary == CW_SUMMARY_TEXT ||
           o->summary == CW_SUMMARY_DATA;
}

int rest_write_resource_tree(struct cw_arena *a, const struct rest_out *o, struct cw_json *res,
                             struct cw_buf *b, struct cw_err *err)
{
    if (shaped(o) && rest_shape(a, res, o->summary, o->elements, o->n_elements, err) < 0) return -1;
    if (o->fmt == REST_FMT_XML) {
        struct cw_fhir_xml_opts xo = {.indent = o->indent};
        return cw_fhir_xml_write(b, res, &xo, err);
    }
    if (cw_json_write(b, res, o->indent) < 0)
        return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "response: larger than the output limit");
    return 0;
}

int rest_write_resource_text(struct cw_arena *a, const struct rest_out *o, cw_slice json,
                             struct cw_buf *b, struct cw_err *err)
{
    if (o->fmt == REST_FMT_JSON && o->indent == 0 && !shaped(o)) {
        /* ARCHITECTURE.md: serve stored JSON as stored */
        cw_buf_put_slice(b, json);
        return cw_buf_failed(b) ? cw_err_set(err, CW_ISSUE_TOO_COSTLY, "response: larger than the output limit") : 0;
    }
    struct cw_json *res;
    if (cw_json_parse(a, json.ptr, json.len, NULL, &res, err) < 0) {
        err->issue = CW_ISSUE_EXCEPTION;
        return -1;
    }
    return rest_write_resource_tree(a, o, res, b, err);
}

int rest_finish_body(struct cw_arena *a, const struct rest_out *o, struct cw_buf *json,
                     struct rest_resp *resp, struct cw_err *err)
{
    resp->content_type = rest_content_type(o);
    if (cw_buf_failed(json))
        return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "response: larger than the output limit");
    if (o->fmt == REST_FMT_JSON && o->indent == 0) {
        cw_buf_release(&resp->body);
        resp->body = *json;
        cw_buf_init(json, 0);
        return 0;
    }
    struct cw_json *tree;
    if (cw_json_parse(a, json->ptr, json->len, NULL, &tree, err) < 0) {
        err->issue = CW_ISSUE_EXCEPTION;
        return -1;
    }
    cw_buf_reset(&resp->body);
    struct rest_out plain = *o;
    plain.summary = CW_SUMMARY_NONE;
    plain.n_elements = 0;
    return rest_write_resource_tree(a, &plain, tree, &resp->body, err);
}

/* ---- OperationOutcome ---- */

void rest_outcome_json(struct cw_buf *b, const struct cw_err *errs, size_t n)
{
    struct cw_json_writer w;
    cw_json_writer_init(&w, b, 0);
    cw_json_begin_object(&w);
    cw_json_key(&w, CW_LIT("resourceType"));
    cw_json_string_value(&w, CW_LIT("OperationOutcome"));
    cw_json_key(&w, CW_LIT("issue"));
    cw_json_begin_array(&w);
    for (size_t i = 0; i < n; i++) {
        const struct cw_err *e = &errs[i];
        cw_json_begin_object(&w);
        cw_json_key(&w, CW_LIT("severity"));
        cw_json_string_value(&w, cw_slice_cstr(cw_severity_code(e->severity ? e->severity : CW_SEV_ERROR)));
        cw_json_key(&w, CW_LIT("code"));
        cw_json_string_value(&w, cw_slice_cstr(cw_issue_code(e->issue ? e->issue : CW_ISSUE_PROCESSING)));
        if (e->msg[0]) {
            cw_json_key(&w, CW_LIT("diagnostics"));
            cw_json_string_value(&w, cw_slice_cstr(e->msg));
        }
        if (e->location[0]) {
            cw_json_key(&w, CW_LIT("expression"));
            cw_json_begin_array(&w);
            cw_json_string_value(&w, cw_slice_cstr(e->location));
            cw_json_end_array(&w);
        }
        cw_json_end_object(&w);
    }
    cw_json_end_array(&w);
    cw_json_end_object(&w);
}

void rest_error(const struct rest_out *o, const struct cw_err *err, struct rest_resp *resp)
{
    struct rest_out plain = {.fmt = o ? o->fmt : REST_FMT_JSON, .indent = o ? o->indent : 0};
    resp->status = cw_err_http_status(err);
    /* "exception" and "transient" are ours, not the client's */
    if (err->issue == CW_ISSUE_EXCEPTION) resp->status = 500;
    cw_buf_reset(&resp->body);
    resp->location[0] = resp->etag[0] = resp->last_modified[0] = '\0';
    struct cw_buf j;
    cw_buf_init(&j, 1 << 20);
    rest_outcome_json(&j, err, 1);
    resp->content_type = rest_content_type(&plain);
    if (plain.fmt == REST_FMT_JSON && plain.indent == 0) {
        cw_buf_release(&resp->body);
        resp->body = j;
        return;
    }
    struct cw_arena *a = cw_arena_new(1 << 22);
    struct cw_err e2;
    cw_err_clear(&e2);
    if (!a || rest_finish_body(a, &plain, &j, resp, &e2) < 0) {
        cw_buf_reset(&resp->body);
        rest_outcome_json(&resp->body, err, 1);
        resp->content_type = "application/fhir+json; charset=utf-8";
    }
    cw_arena_destroy(a);
    cw_buf_release(&j);
}

/* ---- HTTP dates (RFC 7231 section 7.1.1.1) ---- */

static const char *const WDAY[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const MON[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void rest_http_date(int64_t us, char *out, size_t cap)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", WDAY[tm.tm_wday], tm.tm_mday,
             MON[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int num(cw_slice s, size_t at, size_t n, int *out)
{
    if (at + n > s.len) return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s.ptr[at + i];
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    *out = v;
    return 0;
}

int rest_parse_http_date(cw_slice s, int64_t *us)
{
    /* "Sun, 06 Nov 1994 08:49:37 GMT" */
    s = cw_slice_trim(s);
    if (s.len != 29 || s.ptr[3] != ',' || !cw_slice_eq_cstr(cw_slice_sub(s, 26, 3), "GMT")) return -1;
    struct tm tm = {0};
    int mon = -1;
    for (int i = 0; i < 12; i++)
        if (memcmp(s.ptr + 8, MON[i], 3) == 0) mon = i;
    if (mon < 0 || num(s, 5, 2, &tm.tm_mday) < 0 || num(s, 12, 4, &tm.tm_year) < 0 ||
        num(s, 17, 2, &tm.tm_hour) < 0 || num(s, 20, 2, &tm.tm_min) < 0 || num(s, 23, 2, &tm.tm_sec) < 0)
        return -1;
    tm.tm_mon = mon;
    tm.tm_year -= 1900;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return -1;
    *us = (int64_t)t * 1000000;
    return 0;
}
