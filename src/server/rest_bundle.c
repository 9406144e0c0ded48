/*
 * rest_bundle.c — batch and transaction (POST [base] with a Bundle).
 *
 * Owns: nothing beyond the request (entries, maps and texts in its arena).
 *
 * Spec: FHIR R4 http.html#transaction and #trules:
 *  - transaction: all or nothing, in one store transaction. Entries are
 *    processed DELETE, then POST, then PUT/PATCH, then GET/HEAD (in bundle
 *    order within each group); ids of created resources are assigned
 *    before any resource is written, so every reference to an entry's
 *    fullUrl (urn:uuid:..., or an absolute URL; relative references are
 *    resolved against the referring entry's fullUrl base) is rewritten to
 *    Type/id; conditional references ("Patient?identifier=x|y") must match
 *    exactly one resource (else the transaction fails, 412); ifNoneExist,
 *    ifMatch and conditional URLs as for the single interactions; two
 *    entries writing the same resource is an error (400). GETs see the
 *    transaction's writes. The response is a transaction-response with one
 *    entry per request entry, in the request's order. Any failure rolls
 *    everything back and answers one OperationOutcome whose location names
 *    the entry (Bundle.entry[i]).
 *  - batch: each entry on its own, as if sent alone (it goes through the
 *    same code as a single request), failures reported per entry with an
 *    OperationOutcome; no references between entries are resolved.
 *
 * Not done: conditional references that point at resources created by the
 * same transaction (they are resolved against what was stored before it);
 * references inside narrative XHTML are not rewritten.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base64.h"
#include "base/hash.h"
#include "base/log.h"
#include "server/rest_int.h"

enum method { M_NONE = 0, M_GET, M_HEAD, M_POST, M_PUT, M_PATCH, M_DELETE };

struct entry {
    uint32_t index;
    enum method m;
    cw_slice url;          /* request.url as given */
    cw_slice type, id;     /* from the URL */
    long long version;     /* URL /_history/v (GET) */
    cw_slice query;        /* after '?', raw */
    bool has_query;
    cw_slice full_url;
    cw_slice base;         /* the fullUrl's base for relative references ("" if none) */
    struct cw_json *resource;
    cw_slice if_none_exist, if_match;
    /* results */
    bool exists;           /* POST with ifNoneExist that matched */
    bool staged;
    struct cw_store_ticket tk;
    struct cw_store_resource out;
    int status;
    bool deleted_nothing;
    struct rest_resp get; /* GET results */
    bool has_get;
};

static enum method method_of(cw_slice m)
{
    static const struct {
        const char *n;
        enum method m;
    } t[] = {{"GET", M_GET}, {"HEAD", M_HEAD}, {"POST", M_POST}, {"PUT", M_PUT}, {"PATCH", M_PATCH}, {"DELETE", M_DELETE}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (cw_slice_eq_cstr(m, t[i].n)) return t[i].m;
    return M_NONE;
}

static int entry_fail(struct cw_err *err, uint32_t i, enum cw_issue issue, const char *msg)
{
    cw_err_set(err, issue, "%s", msg);
    char loc[48];
    snprintf(loc, sizeof loc, "Bundle.entry[%u]", i);
    cw_err_at(err, loc);
    return -1;
}

/* Name the entry in an error that came from below. */
static void locate(struct cw_err *err, uint32_t i)
{
    char loc[CW_ERR_LOCATION_MAX];
    if (err->location[0])
        snprintf(loc, sizeof loc, "Bundle.entry[%u]: %.90s", i, err->location);
    else
        snprintf(loc, sizeof loc, "Bundle.entry[%u]", i);
    cw_err_at(err, loc);
}

static int parse_url(const struct rest_req *q, struct entry *e, struct cw_err *err)
{
    cw_slice u = e->url;
    if (q->base.len && cw_slice_starts_with(u, q->base)) u = cw_slice_sub(u, q->base.len, u.len);
    while (u.len && u.ptr[0] == '/') u = cw_slice_sub(u, 1, u.len - 1);
    long qm = cw_slice_index(u, '?');
    if (qm >= 0) {
        e->query = cw_slice_sub(u, (size_t)qm + 1, u.len);
        e->has_query = true;
        u = cw_slice_sub(u, 0, (size_t)qm);
    }
    cw_slice seg[4];
    size_t n = 0, i = 0;
    while (i < u.len) {
        size_t j = i;
        while (j < u.len && u.ptr[j] != '/') j++;
        if (n == 4) return entry_fail(err, e->index, CW_ISSUE_INVALID, "request.url has too many segments");
        seg[n++] = cw_slice_sub(u, i, j - i);
        i = j + 1;
    }
    if (n == 0 || !rest_known_type(seg[0]))
        return entry_fail(err, e->index, CW_ISSUE_NOT_FOUND, "request.url does not name a known resource type");
    e->type = seg[0];
    if (n >= 2) {
        e->id = seg[1];
        if (!rest_valid_id(e->id)) return entry_fail(err, e->index, CW_ISSUE_INVALID, "request.url has an invalid id");
    }
    if (n == 4 && cw_slice_eq_cstr(seg[2], "_history")) {
        if (cw_slice_to_i64(seg[3], &e->version) < 0 || e->version < 1)
            return entry_fail(err, e->index, CW_ISSUE_INVALID, "request.url has a bad version");
    } else if (n > 2) {
        return entry_fail(err, e->index, CW_ISSUE_INVALID, "request.url is not a supported interaction");
    }
    return 0;
}

/* The base of an absolute fullUrl ".../Type/id" -> "..." */
static cw_slice url_base(cw_slice full)
{
    if (!cw_slice_starts_with(full, CW_LIT("http://")) && !cw_slice_starts_with(full, CW_LIT("https://")))
        return CW_LIT("");
    size_t k = full.len, slashes = 0;
    while (k > 0 && slashes < 2) {
        k--;
        if (full.ptr[k] == '/') slashes++;
    }
    return slashes == 2 ? cw_slice_sub(full, 0, k) : CW_LIT("");
}

static long long etag_version(cw_slice h)
{
    h = cw_slice_trim(h);
    if (!h.len) return 0;
    if (cw_slice_starts_with(h, CW_LIT("W/"))) h = cw_slice_sub(h, 2, h.len - 2);
    if (h.len >= 2 && h.ptr[0] == '"' && h.ptr[h.len - 1] == '"') h = cw_slice_sub(h, 1, h.len - 2);
    long long v;
    if (cw_slice_to_i64(h, &v) < 0 || v < 1) return -1;
    return v;
}

static int read_entries(const struct rest_req *q, struct cw_json *bundle, struct entry **out, size_t *n,
                        bool tx, struct cw_err *err)
{
    struct cw_json *entries = NULL;
    for (uint32_t i = 0; i < bundle->len; i++)
        if (cw_slice_eq_cstr(bundle->u.members[i].key, "entry")) entries = &bundle->u.members[i].value;
    *n = 0;
    *out = NULL;
    if (!entries) return 0;
    if (!cw_json_is(entries, CW_JSON_ARRAY)) return cw_err_set(err, CW_ISSUE_STRUCTURE, "Bundle.entry is not an array");
    if (entries->len > REST_MAX_BUNDLE_ENTRIES)
        return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "a Bundle may have at most %d entries", REST_MAX_BUNDLE_ENTRIES);
    struct entry *es = cw_arena_zalloc(q->a, (entries->len + 1) * sizeof *es);
    if (!es) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
    for (uint32_t i = 0; i < entries->len; i++) {
        struct entry *e = &es[i];
        e->index = i;
        struct cw_json *ej = &entries->u.items[i];
        if (!cw_json_is(ej, CW_JSON_OBJECT)) return entry_fail(err, i, CW_ISSUE_STRUCTURE, "not an object");
        const struct cw_json *req = cw_json_get(ej, "request");
        if (!cw_json_is(req, CW_JSON_OBJECT)) return entry_fail(err, i, CW_ISSUE_REQUIRED, "entry.request is required");
        e->m = method_of(cw_json_text(cw_json_get(req, "method")));
        e->url = cw_json_text(cw_json_get(req, "url"));
        if (e->m == M_NONE) return entry_fail(err, i, CW_ISSUE_INVALID, "request.method is not GET, HEAD, POST, PUT, PATCH or DELETE");
        if (!e->url.len) return entry_fail(err, i, CW_ISSUE_REQUIRED, "request.url is required");
        e->if_none_exist = cw_json_text(cw_json_get(req, "ifNoneExist"));
        e->if_match = cw_json_text(cw_json_get(req, "ifMatch"));
        e->full_url = cw_json_text(cw_json_get(ej, "fullUrl"));
        e->base = url_base(e->full_url);
        for (uint32_t k = 0; k < ej->len; k++)
            if (cw_slice_eq_cstr(ej->u.members[k].key, "resource")) e->resource = &ej->u.members[k].value;
        if (tx && parse_url(q, e, err) < 0) return -1;
        if (!tx) continue;
        if (e->m == M_POST && (e->id.len || e->has_query))
            return entry_fail(err, i, CW_ISSUE_INVALID, "POST takes request.url = the resource type");
        if ((e->m == M_POST || e->m == M_PUT || e->m == M_PATCH) && !cw_json_is(e->resource, CW_JSON_OBJECT))
            return entry_fail(err, i, CW_ISSUE_REQUIRED, "entry.resource is required for POST, PUT and PATCH");
        if ((e->m == M_PUT || e->m == M_DELETE || e->m == M_PATCH) && !e->id.len && !e->has_query)
            return entry_fail(err, i, CW_ISSUE_INVALID, "PUT, PATCH and DELETE need an id or a condition");
        if ((e->m == M_POST || e->m == M_PUT) &&
            !cw_slice_eq(cw_json_text(cw_json_get(e->resource, "resourceType")), e->type))
            return entry_fail(err, i, CW_ISSUE_INVALID, "resourceType does not match request.url");
        if (etag_version(e->if_match) < 0) return entry_fail(err, i, CW_ISSUE_INVALID, "ifMatch: expected W/\"version\"");
    }
    *out = es;
    *n = entries->len;
    return 0;
}

/* ---- reference rewriting (http.html#trules) ---- */

struct rewrite {
    struct cw_arena *a;
    struct cw_hash map;          /* fullUrl -> cw_slice* "Type/id" */
    struct cw_store_txn *t;
    cw_slice base;               /* the referring entry's fullUrl base */
    struct cw_err *err;
    bool failed;
};

static cw_slice *map_get(struct rewrite *rw, cw_slice key)
{
    return cw_hash_get(&rw->map, key);
}

static int rewrite_string(struct rewrite *rw, struct cw_json *v, bool is_reference)
{
    cw_slice s = cw_json_text(v);
    cw_slice *to = map_get(rw, s);
    if (to) {
        *v = cw_json_string(*to);
        return 0;
    }
    if (!is_reference || !s.len) return 0;
    if (rw->base.len && s.ptr[0] != '#' && !cw_slice_starts_with(s, CW_LIT("urn:")) &&
        cw_slice_index(s, ':') < 0) {
        /* relative: resolve against the entry's base and look again */
        size_t n = rw->base.len + 1 + s.len;
        char *abs = cw_arena_alloc_bytes(rw->a, n + 1);
        if (!abs) return cw_err_set(rw->err, CW_ISSUE_TOO_COSTLY, "arena limit");
        memcpy(abs, rw->base.ptr, rw->base.len);
        abs[rw->base.len] = '/';
        memcpy(abs + rw->base.len + 1, s.ptr, s.len);
        abs[n] = '\0';
        to = map_get(rw, (cw_slice){abs, n});
        if (to) {
            *v = cw_json_string(*to);
            return 0;
        }
    }
    long qm = cw_slice_index(s, '?');
    if (qm > 0 && rest_known_type(cw_slice_sub(s, 0, (size_t)qm))) {
        /* a conditional reference: exactly one match */
        cw_slice type = cw_slice_sub(s, 0, (size_t)qm), ids[2];
        size_t n = 0;
        if (rest_match(rw->a, rw->t, type, cw_slice_sub(s, (size_t)qm + 1, s.len), 1, ids, &n, rw->err) < 0) return -1;
        if (n != 1) {
            cw_err_set(rw->err, CW_ISSUE_MULTIPLE_MATCHES, "a conditional reference matches %s resource",
                       n ? "more than one" : "no");
            rw->err->http_status = 412;
            return -1;
        }
        size_t tl = type.len, il = ids[0].len;
        char *ref = cw_arena_alloc_bytes(rw->a, tl + il + 2);
        if (!ref) return cw_err_set(rw->err, CW_ISSUE_TOO_COSTLY, "arena limit");
        memcpy(ref, type.ptr, tl);
        ref[tl] = '/';
        memcpy(ref + tl + 1, ids[0].ptr, il);
        ref[tl + 1 + il] = '\0';
        *v = cw_json_string((cw_slice){ref, tl + 1 + il});
    }
    return 0;
}

static int rewrite_tree(struct rewrite *rw, struct cw_json *v, bool is_reference, int depth)
{
    if (depth > 256) return cw_err_set(rw->err, CW_ISSUE_TOO_COSTLY, "resource nested too deeply");
    switch (v->type) {
    case CW_JSON_STRING: return rewrite_string(rw, v, is_reference);
    case CW_JSON_ARRAY:
        for (uint32_t i = 0; i < v->len; i++)
            if (rewrite_tree(rw, &v->u.items[i], is_reference, depth + 1) < 0) return -1;
        return 0;
    case CW_JSON_OBJECT:
        for (uint32_t i = 0; i < v->len; i++)
            if (rewrite_tree(rw, &v->u.members[i].value, cw_slice_eq_cstr(v->u.members[i].key, "reference"),
                             depth + 1) < 0)
                return -1;
        return 0;
    default: return 0;
    }
}

static int map_put(struct rewrite *rw, cw_slice full_url, cw_slice type, cw_slice id)
{
    if (!full_url.len) return 0;
    cw_slice *to = cw_arena_alloc(rw->a, sizeof *to);
    char *ref = cw_arena_alloc_bytes(rw->a, type.len + id.len + 2);
    if (!to || !ref) return cw_err_set(rw->err, CW_ISSUE_TOO_COSTLY, "arena limit");
    memcpy(ref, type.ptr, type.len);
    ref[type.len] = '/';
    memcpy(ref + type.len + 1, id.ptr, id.len);
    ref[type.len + 1 + id.len] = '\0';
    *to = (cw_slice){ref, type.len + 1 + id.len};
    int rc = cw_hash_put(&rw->map, full_url, to, NULL, rw->err);
    if (rc < 0) return -1;
    return 0;
}

/* ---- response ---- */

static void response_entry(struct cw_json_writer *w, const struct rest_req *q, const struct rest_out *o,
                           const struct rest_prefer *pf, struct entry *e)
{
    cw_json_begin_object(w);
    if (e->m == M_POST || e->m == M_PUT || e->m == M_PATCH) {
        if (pf->ret == REST_RETURN_REPRESENTATION && e->out.json.len) {
            cw_json_key(w, CW_LIT("fullUrl"));
            struct cw_buf b;
            cw_buf_init(&b, 4096);
            cw_buf_put_slice(&b, q->base);
            cw_buf_putc(&b, '/');
            cw_buf_put_slice(&b, e->out.meta.type);
            cw_buf_putc(&b, '/');
            cw_buf_put_slice(&b, e->out.meta.id);
            cw_json_string_value(w, cw_buf_slice(&b));
            cw_buf_release(&b);
            cw_json_key(w, CW_LIT("resource"));
            (void)o;
            cw_json_number_value(w, e->out.json);
        }
    } else if ((e->m == M_GET || e->m == M_HEAD) && e->has_get && e->get.body.len && e->m == M_GET) {
        cw_json_key(w, CW_LIT("resource"));
        cw_json_number_value(w, cw_buf_slice(&e->get.body));
    }
    cw_json_key(w, CW_LIT("response"));
    cw_json_begin_object(w);
    char st[48];
    const char *text = e->status == 200 ? "OK" : e->status == 201 ? "Created" : e->status == 204 ? "No Content"
                       : e->status == 304 ? "Not Modified" : "";
    snprintf(st, sizeof st, "%d%s%s", e->status, *text ? " " : "", text);
    cw_json_key(w, CW_LIT("status"));
    cw_json_string_value(w, cw_slice_cstr(st));
    const struct cw_store_meta *m = &e->out.meta;
    if (m->version) {
        char loc[600], etag[48], lm[32];
        if (!m->deleted && e->m != M_GET && e->m != M_HEAD) {
            snprintf(loc, sizeof loc, "%.*s/%.*s/_history/%lld", CW_SLICE_FMT(m->type), CW_SLICE_FMT(m->id), m->version);
            cw_json_key(w, CW_LIT("location"));
            cw_json_string_value(w, cw_slice_cstr(loc));
        }
        snprintf(etag, sizeof etag, "W/\"%lld\"", m->version);
        cw_json_key(w, CW_LIT("etag"));
        cw_json_string_value(w, cw_slice_cstr(etag));
        cw_store_format_instant(m->last_updated, lm);
        cw_json_key(w, CW_LIT("lastModified"));
        cw_json_string_value(w, cw_slice_cstr(lm));
    }
    cw_json_end_object(w);
    cw_json_end_object(w);
}

/* ---- transaction ---- */

static int tx_delete(struct cw_rest *r, const struct rest_req *q, struct cw_store_txn *t, struct entry *e,
                     struct cw_err *err)
{
    (void)r;
    cw_slice id = e->id;
    if (!id.len) {
        cw_slice ids[2];
        size_t n = 0;
        if (rest_match(q->a, t, e->type, e->query, 1, ids, &n, err) < 0) return -1;
        if (n > 1) {
            cw_err_set(err, CW_ISSUE_MULTIPLE_MATCHES, "the conditional delete matches more than one resource");
            err->http_status = 412;
            return -1;
        }
        if (n == 0) {
            e->status = 204;
            return 0;
        }
        id = ids[0];
    }
    long long im = etag_version(e->if_match);
    if (cw_store_delete(q->a, t, e->type, id, im, &e->out.meta, err) < 0) {
        if (err->issue == CW_ISSUE_NOT_FOUND && !im) {
            cw_err_clear(err);
            e->status = 204;
            return 0;
        }
        return -1;
    }
    e->status = 204;
    return 0;
}

static int tx_stage_post(const struct rest_req *q, struct cw_store_txn *t, struct rewrite *rw,
                         struct entry *e, struct cw_err *err)
{
    if (e->if_none_exist.len) {
        cw_slice query = e->if_none_exist;
        long qm = cw_slice_index(query, '?');
        if (qm >= 0) query = cw_slice_sub(query, (size_t)qm + 1, query.len);
        cw_slice ids[2];
        size_t n = 0;
        if (rest_match(q->a, t, e->type, query, 1, ids, &n, err) < 0) return -1;
        if (n > 1) {
            cw_err_set(err, CW_ISSUE_MULTIPLE_MATCHES, "ifNoneExist matches more than one resource");
            err->http_status = 412;
            return -1;
        }
        if (n == 1) {
            if (cw_store_read(q->a, t, e->type, ids[0], &e->out, err) < 0) return -1;
            e->exists = true;
            e->status = 200;
            return map_put(rw, e->full_url, e->type, ids[0]);
        }
    }
    struct cw_store_write w = {.op = CW_STORE_CREATE, .type = e->type};
    if (rest_check_write(&w, e->resource, err) < 0) return -1;
    if (cw_store_stage(q->a, t, &w, &e->tk, err) < 0) return -1;
    e->staged = true;
    e->status = 201;
    return map_put(rw, e->full_url, e->type, e->tk.meta.id);
}

static int tx_stage_put(struct cw_rest *r, const struct rest_req *q, struct cw_store_txn *t,
                        struct rewrite *rw, struct entry *e, struct cw_err *err)
{
    cw_slice id = e->id;
    struct cw_store_write w = {.op = CW_STORE_UPDATE, .type = e->type, .if_match = etag_version(e->if_match)};
    if (!id.len) {
        cw_slice ids[2];
        size_t n = 0;
        if (rest_match(q->a, t, e->type, e->query, 1, ids, &n, err) < 0) return -1;
        if (n > 1) {
            cw_err_set(err, CW_ISSUE_MULTIPLE_MATCHES, "the conditional update matches more than one resource");
            err->http_status = 412;
            return -1;
        }
        cw_slice body_id = cw_json_text(cw_json_get(e->resource, "id"));
        if (n == 1) {
            if (body_id.len && !cw_slice_eq(body_id, ids[0]))
                return cw_err_set(err, CW_ISSUE_INVALID, "the resource id does not match the resource the condition found");
            id = ids[0];
        } else if (body_id.len) {
            id = body_id;
        } else {
            w.op = CW_STORE_CREATE;
        }
        if (w.op == CW_STORE_UPDATE && !body_id.len &&
            !cw_json_set(q->a, e->resource, CW_LIT("id"), cw_json_string(id)))
            return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
    }
    w.id = id;
    if (e->m == M_PATCH) {
        /* the patch applies to the current version */
        struct cw_store_resource cur;
        if (cw_store_read(q->a, t, e->type, id, &cur, err) < 0) return -1;
        if (w.if_match && w.if_match != cur.meta.version) {
            cw_err_set(err, CW_ISSUE_CONFLICT, "ifMatch: the resource is at another version");
            err->http_status = 412;
            return -1;
        }
        struct cw_json *res;
        if (cw_json_parse(q->a, cur.json.ptr, cur.json.len, NULL, &res, err) < 0) return -1;
        cw_slice pt = cw_json_text(cw_json_get(e->resource, "resourceType"));
        if (cw_slice_eq_cstr(pt, "Parameters")) {
            if (rest_fhirpath_patch(q->a, res, e->resource, err) < 0) return -1;
        } else if (cw_slice_eq_cstr(pt, "Binary")) {
            /* a JSON Patch document in a Binary */
            cw_slice data = cw_json_text(cw_json_get(e->resource, "data"));
            cw_slice doc;
            struct cw_json *patch;
            if (cw_base64_decode_arena(q->a, data, 0, &doc, err) < 0 ||
                cw_json_parse(q->a, doc.ptr, doc.len, NULL, &patch, err) < 0)
                return cw_err_set(err, CW_ISSUE_INVALID, "the Binary does not hold a JSON Patch document");
            if (rest_json_patch(q->a, res, patch, err) < 0) return -1;
        } else {
            return cw_err_set(err, CW_ISSUE_INVALID, "a PATCH entry holds a Parameters (FHIRPath Patch) or a Binary (JSON Patch)");
        }
        e->resource = res;
        w.no_create = true;
        w.if_match = cur.meta.version;
    }
    (void)r;
    if (rest_check_write(&w, e->resource, err) < 0) return -1;
    if (cw_store_stage(q->a, t, &w, &e->tk, err) < 0) return -1;
    e->staged = true;
    e->status = e->tk.created ? 201 : 200;
    return map_put(rw, e->full_url, e->type, e->tk.meta.id);
}

static int tx_get(struct cw_rest *r, const struct rest_req *q, struct cw_store_txn *t, struct entry *e,
                  struct cw_err *err)
{
    e->has_get = true;
    memset(&e->get, 0, sizeof e->get);
    cw_buf_init(&e->get.body, (size_t)1 << 30);
    if (e->id.len) {
        int rc = e->version ? cw_store_vread(q->a, t, e->type, e->id, e->version, &e->out, err)
                            : cw_store_read(q->a, t, e->type, e->id, &e->out, err);
        if (rc < 0) return -1;
        cw_buf_put_slice(&e->get.body, e->out.json);
        e->status = 200;
        return 0;
    }
    struct cw_search_pair *pairs;
    size_t n;
    if (cw_search_split_query(q->a, e->query, 0, &pairs, &n, err) < 0) return -1;
    struct rest_req sub = *q;
    sub.query = e->query;
    rest_search(r, &sub, t, e->type, pairs, n, NULL, &e->get);
    e->status = e->get.status;
    if (e->status != 200) {
        /* the search's OperationOutcome: fail the transaction with it */
        cw_err_set(err, CW_ISSUE_INVALID, "a search in the transaction failed (HTTP %d)", e->status);
        err->http_status = e->status;
        return -1;
    }
    return 0;
}

/* One write per resource (http.html#transaction). */
static int tx_check_unique(const struct rest_req *q, struct entry *es, size_t n, struct cw_err *err)
{
    struct cw_hset seen;
    struct cw_hash_opts ho = {.max_entries = REST_MAX_BUNDLE_ENTRIES * 2, .key_arena = q->a};
    if (cw_hset_init(&seen, &ho, err) < 0) return -1;
    for (size_t i = 0; i < n; i++) {
        struct entry *e = &es[i];
        if (!e->id.len || e->m == M_GET || e->m == M_HEAD) continue;
        char key[160];
        int kl = snprintf(key, sizeof key, "%.*s/%.*s", CW_SLICE_FMT(e->type), CW_SLICE_FMT(e->id));
        int added = cw_hset_add(&seen, (cw_slice){key, (size_t)kl}, err);
        if (added <= 0) {
            cw_hset_release(&seen);
            if (added == 0)
                return entry_fail(err, e->index, CW_ISSUE_INVALID,
                                  "two entries of the transaction write the same resource");
            return -1;
        }
    }
    cw_hset_release(&seen);
    return 0;
}

static bool tx_conditional(const struct entry *es, size_t n)
{
    bool conditional = false;
    for (size_t i = 0; i < n; i++) conditional |= es[i].if_none_exist.len || es[i].has_query;
    return conditional;
}

/* Every entry of a checked transaction inside t, in the processing order
   of http.html#trules. On failure t must be rolled back. */
static int tx_apply(struct cw_rest *r, const struct rest_req *q, struct cw_store_txn *t,
                    struct entry *es, size_t n, struct cw_err *err_out)
{
    struct cw_err err;
    cw_err_clear(&err);
    struct rewrite rw = {.a = q->a, .err = &err};
    struct cw_hash_opts mo = {.max_entries = REST_MAX_BUNDLE_ENTRIES * 2};
    if (cw_hash_init(&rw.map, &mo, &err) < 0) {
        *err_out = err;
        return -1;
    }
    rw.t = t;
    int rc = 0;
    static const enum method order[][2] = {{M_DELETE, M_DELETE}, {M_POST, M_POST}, {M_PUT, M_PATCH}};
    /* DELETE, then stage POST, then stage PUT/PATCH: every id is known after this */
    for (size_t g = 0; g < 3 && rc == 0; g++) {
        /* prefetch the current versions of plain PUTs, per type */
        if (g == 2) {
            for (size_t i = 0; i < n && rc == 0; i++) {
                if (es[i].m != M_PUT || !es[i].id.len) continue;
                cw_slice ids[1000];
                size_t k = 0;
                bool first = true;
                for (size_t j = 0; j < i && first; j++)
                    first = !(es[j].m == M_PUT && es[j].id.len && cw_slice_eq(es[j].type, es[i].type));
                if (!first) continue;
                for (size_t j = i; j < n && k < 1000; j++)
                    if (es[j].m == M_PUT && es[j].id.len && cw_slice_eq(es[j].type, es[i].type)) ids[k++] = es[j].id;
                if (k > 1) rc = cw_store_prefetch(t, es[i].type, ids, k, &err);
            }
        }
        for (size_t i = 0; i < n && rc == 0; i++) {
            struct entry *e = &es[i];
            if (e->m != order[g][0] && e->m != order[g][1]) continue;
            if (e->m == M_DELETE) rc = tx_delete(r, q, t, e, &err);
            else if (e->m == M_POST) rc = tx_stage_post(q, t, &rw, e, &err);
            else rc = tx_stage_put(r, q, t, &rw, e, &err);
            if (rc < 0) locate(&err, e->index);
        }
    }
    /* rewrite references, then write */
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct entry *e = &es[i];
        if (!e->staged) continue;
        rw.base = e->base;
        rc = rewrite_tree(&rw, e->resource, false, 0);
        if (rc < 0) {
            locate(&err, e->index);
            break;
        }
        struct rest_issues iss = {.n = 0};
        rc = rest_put_staged(r, q, t, &e->tk, e->resource, &e->out, &iss, &err);
        if (rc < 0) locate(&err, e->index);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct entry *e = &es[i];
        if (e->m != M_GET && e->m != M_HEAD) continue;
        rc = tx_get(r, q, t, e, &err);
        if (rc < 0) locate(&err, e->index);
    }
    cw_hash_release(&rw.map);
    if (rc < 0) *err_out = err;
    return rc;
}

int rest_transaction_in(struct cw_rest *r, const struct rest_req *q, struct cw_store_txn *t,
                        struct cw_json *bundle, uint32_t *written, struct cw_err *err)
{
    struct entry *es;
    size_t n;
    if (written) *written = 0;
    if (read_entries(q, bundle, &es, &n, true, err) < 0 || tx_check_unique(q, es, n, err) < 0)
        return -1;
    int rc = tx_apply(r, q, t, es, n, err);
    for (size_t i = 0; i < n; i++) {
        if (es[i].has_get) cw_buf_release(&es[i].get.body);
        if (written && es[i].staged) (*written)++;
    }
    return rc;
}

static void transaction(struct cw_rest *r, const struct rest_req *q, const struct rest_out *o,
                        struct entry *es, size_t n, struct rest_resp *resp)
{
    struct cw_err err;
    cw_err_clear(&err);
    struct rest_prefer pf;
    rest_prefer_parse(q, &pf);
    if (tx_check_unique(q, es, n, &err) < 0) return rest_error(o, &err, resp);
    struct cw_store_txn *t;
    if (cw_store_begin(r->store, tx_conditional(es, n) ? CW_STORE_SERIALIZABLE : CW_STORE_WRITE, &t,
                       &err) < 0)
        return rest_error(o, &err, resp);
    int rc = tx_apply(r, q, t, es, n, &err);
    if (rc < 0) {
        cw_store_rollback(t);
    } else if (cw_store_commit(t, &err) < 0) {
        rc = -1;
    }
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            if (es[i].has_get) cw_buf_release(&es[i].get.body);
        return rest_error(o, &err, resp);
    }
    struct cw_buf j;
    cw_buf_init(&j, (size_t)1 << 30);
    struct cw_json_writer w;
    cw_json_writer_init(&w, &j, 0);
    cw_json_begin_object(&w);
    cw_json_key(&w, CW_LIT("resourceType"));
    cw_json_string_value(&w, CW_LIT("Bundle"));
    cw_json_key(&w, CW_LIT("type"));
    cw_json_string_value(&w, CW_LIT("transaction-response"));
    if (n) {
        cw_json_key(&w, CW_LIT("entry"));
        cw_json_begin_array(&w);
    }
    for (size_t i = 0; i < n; i++) {
        response_entry(&w, q, o, &pf, &es[i]);
        if (es[i].has_get) cw_buf_release(&es[i].get.body);
    }
    if (n) cw_json_end_array(&w);
    cw_json_end_object(&w);
    resp->status = 200;
    if (rest_finish_body(q->a, o, &j, resp, &err) < 0) rest_error(o, &err, resp);
    cw_buf_release(&j);
}

/* ---- batch: each entry as a request of its own ---- */

struct sub_headers {
    const struct rest_req *outer;
    cw_slice if_match, if_none_exist, if_none_match, if_modified_since, content_type;
};

static cw_slice sub_header(void *ctx, const char *name)
{
    struct sub_headers *h = ctx;
    if (strcasecmp(name, "If-Match") == 0) return h->if_match;
    if (strcasecmp(name, "If-None-Exist") == 0) return h->if_none_exist;
    if (strcasecmp(name, "If-None-Match") == 0) return h->if_none_match;
    if (strcasecmp(name, "If-Modified-Since") == 0) return h->if_modified_since;
    if (strcasecmp(name, "Content-Type") == 0) return h->content_type;
    if (strcasecmp(name, "Prefer") == 0 || strcasecmp(name, "Accept") == 0)
        return h->outer->header(h->outer->hctx, name);
    return CW_SLICE_NULL;
}

static void batch(struct cw_rest *r, const struct rest_req *q, const struct rest_out *o, struct cw_json *bundle,
                  struct entry *es, size_t n, struct rest_resp *resp)
{
    (void)bundle;
    struct cw_err err;
    cw_err_clear(&err);
    struct cw_buf j;
    cw_buf_init(&j, (size_t)1 << 30);
    struct cw_json_writer w;
    cw_json_writer_init(&w, &j, 0);
    cw_json_begin_object(&w);
    cw_json_key(&w, CW_LIT("resourceType"));
    cw_json_string_value(&w, CW_LIT("Bundle"));
    cw_json_key(&w, CW_LIT("type"));
    cw_json_string_value(&w, CW_LIT("batch-response"));
    if (n) {
        cw_json_key(&w, CW_LIT("entry"));
        cw_json_begin_array(&w);
    }
    for (size_t i = 0; i < n; i++) {
        struct entry *e = &es[i];
        struct rest_req sub = *q;
        struct sub_headers h = {.outer = q};
        const struct cw_json *req = NULL;
        (void)req;
        h.if_match = e->if_match;
        h.if_none_exist = e->if_none_exist;
        sub.header = sub_header;
        sub.hctx = &h;
        static const char *const names[] = {"", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
        sub.method = names[e->m];
        cw_slice u = e->url;
        if (q->base.len && cw_slice_starts_with(u, q->base)) u = cw_slice_sub(u, q->base.len, u.len);
        long qm = cw_slice_index(u, '?');
        sub.path = qm >= 0 ? cw_slice_sub(u, 0, (size_t)qm) : u;
        sub.query = qm >= 0 ? cw_slice_sub(u, (size_t)qm + 1, u.len) : CW_LIT("");
        sub.body = CW_LIT("");
        if (cw_json_is(e->resource, CW_JSON_OBJECT)) {
            struct cw_buf rb;
            cw_buf_init(&rb, r->o.max_resource + 1);
            cw_json_write(&rb, e->resource, 0);
            sub.body = cw_arena_dup(q->a, cw_buf_slice(&rb));
            cw_buf_release(&rb);
            bool params = cw_slice_eq_cstr(cw_json_text(cw_json_get(e->resource, "resourceType")), "Parameters");
            h.content_type = e->m == M_PATCH && !params ? CW_LIT("application/json-patch+json") : CW_LIT("application/fhir+json");
            if (e->m == M_PATCH && cw_slice_eq_cstr(cw_json_text(cw_json_get(e->resource, "resourceType")), "Binary")) {
                cw_slice doc;
                if (cw_base64_decode_arena(q->a, cw_json_text(cw_json_get(e->resource, "data")), 0, &doc, &err) == 0)
                    sub.body = doc;
            }
        }
        struct rest_resp sr;
        cw_slice p = sub.path;
        while (p.len && p.ptr[0] == '/') p = cw_slice_sub(p, 1, p.len - 1);
        if (!p.len) {
            /* no nested bundles */
            memset(&sr, 0, sizeof sr);
            cw_buf_init(&sr.body, 1 << 20);
            entry_fail(&err, e->index, CW_ISSUE_INVALID, "request.url must name a resource type");
            rest_error(o, &err, &sr);
        } else {
            cw_rest_handle(r, &sub, &sr);
        }
        cw_json_begin_object(&w);
        bool ok = sr.status < 400;
        if (sr.body.len && (ok ? (e->m == M_GET || e->m == M_HEAD) : false)) {
            cw_json_key(&w, CW_LIT("resource"));
            cw_json_number_value(&w, cw_buf_slice(&sr.body));
        }
        cw_json_key(&w, CW_LIT("response"));
        cw_json_begin_object(&w);
        char st[16];
        snprintf(st, sizeof st, "%d", sr.status);
        cw_json_key(&w, CW_LIT("status"));
        cw_json_string_value(&w, cw_slice_cstr(st));
        if (sr.location[0]) {
            cw_slice loc = cw_slice_cstr(sr.location);
            if (q->base.len && cw_slice_starts_with(loc, q->base)) loc = cw_slice_sub(loc, q->base.len + 1, loc.len);
            cw_json_key(&w, CW_LIT("location"));
            cw_json_string_value(&w, loc);
        }
        if (sr.etag[0]) {
            cw_json_key(&w, CW_LIT("etag"));
            cw_json_string_value(&w, cw_slice_cstr(sr.etag));
        }
        if (!ok && sr.body.len && sr.content_type && strstr(sr.content_type, "json")) {
            cw_json_key(&w, CW_LIT("outcome"));
            cw_json_number_value(&w, cw_buf_slice(&sr.body));
        }
        cw_json_end_object(&w);
        cw_json_end_object(&w);
        cw_buf_release(&sr.body);
    }
    if (n) cw_json_end_array(&w);
    cw_json_end_object(&w);
    resp->status = 200;
    if (rest_finish_body(q->a, o, &j, resp, &err) < 0) rest_error(o, &err, resp);
    cw_buf_release(&j);
}

void rest_bundle(struct cw_rest *r, const struct rest_req *q, struct rest_resp *resp)
{
    struct cw_err err;
    cw_err_clear(&err);
    struct rest_query qs = {0};
    struct rest_out o = {0};
    if (rest_split_query(q, &qs, &err) < 0 || rest_negotiate(q, &qs, &o, &err) < 0) {
        struct rest_out plain = {0};
        return rest_error(&plain, &err, resp);
    }
    struct cw_json *bundle;
    if (rest_parse_body(q, q->body.len ? q->body.len : 1, &bundle, &err) < 0) return rest_error(&o, &err, resp);
    if (!cw_slice_eq_cstr(cw_json_text(cw_json_get(bundle, "resourceType")), "Bundle")) {
        cw_err_set(&err, CW_ISSUE_INVALID, "POST to the base takes a Bundle of type batch or transaction");
        return rest_error(&o, &err, resp);
    }
    cw_slice type = cw_json_text(cw_json_get(bundle, "type"));
    bool tx = cw_slice_eq_cstr(type, "transaction");
    if (!tx && !cw_slice_eq_cstr(type, "batch")) {
        cw_err_set(&err, CW_ISSUE_INVALID, "Bundle.type must be batch or transaction");
        cw_err_at(&err, "Bundle.type");
        return rest_error(&o, &err, resp);
    }
    struct entry *es;
    size_t n;
    if (read_entries(q, bundle, &es, &n, tx, &err) < 0) return rest_error(&o, &err, resp);
    cw_log(CW_LOG_DEBUG, "rest.bundle", CW_LOG_STR("type", tx ? "transaction" : "batch"), CW_LOG_INT("entries", n));
    if (tx) return transaction(r, q, &o, es, n, resp);
    batch(r, q, &o, bundle, es, n, resp);
}
