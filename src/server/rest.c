/*
 * rest.c — the FHIR R4 RESTful API: routing and the instance and type
 * interactions (read, vread, create, update, patch, delete; conditional
 * create, update, patch and delete), with ETags, If-Match, If-None-Match,
 * If-Modified-Since, If-None-Exist and Prefer. Search, history, bundles,
 * patch formats and the CapabilityStatement live in the other rest_*.c
 * files (see rest_int.h).
 *
 * Owns: the struct cw_rest service (the store is borrowed from the
 * server); per request nothing beyond the request's arena and response.
 *
 * Spec: FHIR R4 http.html — #read, #vread, #update (and #upsert: update as
 * create), #patch, #delete, #create, #cond-update, #cdelete, #ccreate,
 * #concurrency (ETag W/"version", If-Match -> 412 on mismatch), #cread
 * (If-None-Match, If-Modified-Since -> 304), #ops (Prefer return=),
 * #Status-Codes (400 bad request, 404 unknown type/id, 405 method, 409
 * conflict, 410 deleted, 412 precondition, 413 too large, 422 invalid
 * resource), #general (urls: [base]/[type]/[id]/_history/[vid]).
 *
 * Invariants: every write runs in one store transaction (request = unit of
 * work); a response is either a resource/Bundle or an OperationOutcome;
 * nothing from a resource body reaches the logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "fhir/fhir.h"
#include "server/rest_int.h"

/* ---- service ---- */

int cw_rest_new(struct cw_store *store, const struct cw_rest_opts *o, struct cw_rest **out,
                struct cw_err *err)
{
    *out = NULL;
    struct cw_rest *r = calloc(1, sizeof *r);
    if (!r) return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    r->store = store;
    if (o) r->o = *o;
    if (!r->o.max_resource) r->o.max_resource = CW_STORE_DEFAULT_MAX_RESOURCE;
    if (!r->o.default_count) r->o.default_count = 20;
    if (!r->o.max_count) r->o.max_count = CW_STORE_DEFAULT_MAX_PAGE;
    if (!r->o.arena_limit) r->o.arena_limit = (size_t)512 << 20;
    pthread_mutex_init(&r->cursor_mu, NULL);
    pthread_mutex_init(&r->cap_mu, NULL);
    *out = r;
    return 0;
}

void cw_rest_free(struct cw_rest *r)
{
    if (!r) return;
    for (size_t i = 0; i < REST_CURSOR_SLOTS; i++) free(r->cursors[i].cursor);
    pthread_mutex_destroy(&r->cursor_mu);
    pthread_mutex_destroy(&r->cap_mu);
    free(r->capability);
    free(r);
}

bool rest_known_type(cw_slice type)
{
    if (type.len == 0 || type.len > CW_STORE_MAX_TYPE || type.ptr[0] < 'A' || type.ptr[0] > 'Z')
        return false;
    struct cw_fhir_sd sd = cw_fhir_type(type);
    return cw_fhir_sd_ok(sd) && cw_fhir_sd_kind(sd) == CW_FHIR_KIND_RESOURCE &&
           !cw_fhir_sd_abstract(sd) && !cw_fhir_sd_is_profile(sd);
}

bool rest_valid_id(cw_slice id)
{
    if (id.len == 0 || id.len > CW_STORE_MAX_ID) return false;
    for (size_t i = 0; i < id.len; i++) {
        char c = id.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

struct cw_search_index_opts rest_index_opts(const struct rest_req *q)
{
    struct cw_search_index_opts o = {0};
    cw_slice *b = cw_arena_alloc(q->a, sizeof *b);
    if (b && q->base.len) {
        *b = q->base;
        o.local_bases = b;
        o.n_local_bases = 1;
    }
    return o;
}

/* ---- headers ---- */

static cw_slice header(const struct rest_req *q, const char *name)
{
    return cw_slice_trim(q->header(q->hctx, name));
}

/* W/"3" or "3" -> 3; -1 when the header is absent, -2 when malformed. */
static long long etag_version(cw_slice h)
{
    if (!h.len) return -1;
    if (cw_slice_starts_with(h, CW_LIT("W/"))) h = cw_slice_sub(h, 2, h.len - 2);
    if (h.len >= 2 && h.ptr[0] == '"' && h.ptr[h.len - 1] == '"') h = cw_slice_sub(h, 1, h.len - 2);
    long long v;
    if (cw_slice_to_i64(h, &v) < 0 || v < 1) return -2;
    return v;
}

static void set_version_headers(struct rest_resp *resp, const struct rest_req *q,
                                const struct cw_store_meta *m, bool location)
{
    snprintf(resp->etag, sizeof resp->etag, "W/\"%lld\"", m->version);
    rest_http_date(m->last_updated, resp->last_modified, sizeof resp->last_modified);
    if (location)
        snprintf(resp->location, sizeof resp->location, "%.*s/%.*s/%.*s/_history/%lld",
                 CW_SLICE_FMT(q->base), CW_SLICE_FMT(m->type), CW_SLICE_FMT(m->id), m->version);
}

static void fail_resp(const struct rest_out *o, struct rest_resp *resp, const struct cw_err *err)
{
    rest_error(o, err, resp);
}

/* An OperationOutcome with several issues (validation), status 'status'. */
static void fail_issues(const struct rest_out *o, struct rest_resp *resp,
                        const struct rest_issues *iss, int status)
{
    struct cw_buf j;
    cw_buf_init(&j, 1 << 20);
    rest_outcome_json(&j, iss->e, iss->n);
    struct cw_arena *a = cw_arena_new(1 << 22);
    struct cw_err e;
    cw_err_clear(&e);
    resp->status = status;
    if (!a || rest_finish_body(a, o, &j, resp, &e) < 0) {
        cw_buf_reset(&resp->body);
        rest_outcome_json(&resp->body, iss->e, iss->n);
        resp->content_type = "application/fhir+json; charset=utf-8";
    }
    cw_arena_destroy(a);
    cw_buf_release(&j);
}

/* An informational OperationOutcome (Prefer: return=OperationOutcome). */
static void info_outcome(struct cw_arena *a, const struct rest_out *o, struct rest_resp *resp,
                         const char *msg)
{
    struct cw_err info;
    cw_err_clear(&info);
    cw_err_set(&info, CW_ISSUE_INFORMATIONAL, "%s", msg);
    info.severity = CW_SEV_INFORMATION;
    struct cw_buf j;
    cw_buf_init(&j, 1 << 16);
    rest_outcome_json(&j, &info, 1);
    struct cw_err e;
    if (rest_finish_body(a, o, &j, resp, &e) < 0) resp->content_type = NULL;
    cw_buf_release(&j);
}

/* ---- writing ---- */

static int check_valid(struct cw_rest *r, struct cw_arena *a, struct cw_json *res,
                       struct rest_issues *iss, struct cw_err *err)
{
    if (!r->o.validate) return 0;
    struct rest_issues local;
    struct rest_issues *is = iss ? iss : &local;
    if (r->o.validate_full) {
        long n = rest_validate_full(a, res, is->e, REST_MAX_ISSUES, err);
        if (n < 0) return -1;
        is->n = (size_t)n;
    } else {
        is->n = rest_validate(res, is->e, REST_MAX_ISSUES);
    }
    if (!is->n) return 0;
    *err = is->e[0];
    if (is->n > 1)
        snprintf(err->msg, sizeof err->msg, "the resource is not valid (%zu issues; first: %.180s)",
                 is->n, is->e[0].msg);
    err->http_status = 422;
    return -1;
}

/* res (meta filled for m) as compact JSON text in q->a. */
static int serialize(struct cw_rest *r, const struct rest_req *q, struct cw_json *res,
                     const struct cw_store_meta *m, cw_slice *json, struct cw_err *err)
{
    if (cw_store_meta_fill(q->a, res, m, err) < 0) return -1;
    struct cw_buf b;
    cw_buf_init(&b, r->o.max_resource + 4096);
    if (cw_json_write(&b, res, 0) < 0) {
        cw_buf_release(&b);
        return cw_err_set(err, CW_ISSUE_TOO_LONG, "the resource is larger than %zu bytes", r->o.max_resource);
    }
    *json = cw_arena_dup(q->a, cw_buf_slice(&b));
    cw_buf_release(&b);
    if (!json->ptr) return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "arena limit");
    return 0;
}

static int put_staged(struct cw_rest *r, const struct rest_req *q, struct cw_store_txn *t,
                      struct cw_store_ticket *tk, struct cw_json *res,
                      struct cw_store_resource *out, struct rest_issues *iss, bool validate,
                      struct cw_err *err)
{
    if (validate && check_valid(r, q->a, res, iss, err) < 0) return -1;
    struct cw_store_index_row *rows = NULL;
    size_t nrows = 0;
    struct cw_search_index_opts io = rest_index_opts(q);
    if (cw_search_index(q->a, res, &io, &rows, &nrows, err) < 0) return -1;
    cw_slice json;
    if (serialize(r, q, res, &tk->meta, &json, err) < 0) return -1;
    if (cw_store_put(t, tk, json, rows, nrows, err) < 0) return -1;
    /* a no-op update: the stored text is this content with the current meta */
    if (tk->unchanged && out && serialize(r, q, res, &tk->meta, &json, err) < 0) return -1;
    if (out) {
        out->meta = tk->meta;
        out->json = json;
    }
    return 0;
}

int rest_put_staged(struct cw_rest *r, const struct rest_req *q, struct cw_store_txn *t,
                    struct cw_store_ticket *tk, struct cw_json *res,
                    struct cw_store_resource *out, struct rest_issues *iss, struct cw_err *err)
{
    return put_staged(r, q, t, tk, res, out, iss, r->o.validate, err);
}

int rest_check_write(const struct cw_store_write *w, const struct cw_json *res, struct cw_err *err)
{
    cw_slice rtype = cw_json_text(cw_json_get(res, "resourceType"));
    if (!cw_slice_eq(rtype, w->type))
        return cw_err_set(err, CW_ISSUE_INVALID, "resourceType does not match the URL's type");
    const struct cw_json *idj = cw_json_get(res, "id");
    if (w->op == CW_STORE_UPDATE) {
        /* http.html#update: the body's id must be present and equal the URL's */
        if (!cw_json_is(idj, CW_JSON_STRING))
            return cw_err_set(err, CW_ISSUE_INVALID, "update: the resource has no id");
        if (!cw_slice_eq(cw_json_text(idj), w->id))
            return cw_err_set(err, CW_ISSUE_INVALID, "update: the resource id does not match the URL");
    }
    return 0;
}

int rest_write(struct cw_rest *r, const struct rest_req *q, struct cw_store_txn *t,
               const struct cw_store_write *w, struct cw_json *res, struct cw_store_resource *out,
               bool *unchanged, struct rest_issues *iss, struct cw_err *err)
{
    if (rest_check_write(w, res, err) < 0) return -1;
    /* validate before staging so an invalid resource costs no lookup */
    if (check_valid(r, q->a, res, iss, err) < 0) return -1;
    struct cw_store_ticket tk;
    if (cw_store_stage(q->a, t, w, &tk, err) < 0) return -1;
    int rc = put_staged(r, q, t, &tk, res, out, iss, false, err);
    if (unchanged) *unchanged = rc == 0 && tk.unchanged;
    return rc;
}

/* Run f in a write transaction; commit when it succeeds. */
static int begin_write(struct cw_rest *r, enum cw_store_mode mode, struct cw_store_txn **t,
                       struct cw_err *err)
{
    return cw_store_begin(r->store, mode, t, err);
}

static int finish(struct cw_store_txn *t, int rc, struct cw_err *err)
{
    if (rc < 0) {
        cw_store_rollback(t);
        return -1;
    }
    return cw_store_commit(t, err);
}

/* The resource body of a successful write, per Prefer (http.html#ops). */
static void write_body(const struct rest_req *q, const struct rest_out *o, const struct rest_prefer *pf,
                       const struct cw_store_resource *res, struct rest_resp *resp, const char *what)
{
    if (pf->ret == REST_RETURN_MINIMAL) return;
    if (pf->ret == REST_RETURN_OUTCOME) {
        info_outcome(q->a, o, resp, what);
        return;
    }
    struct cw_err e;
    cw_err_clear(&e);
    resp->content_type = rest_content_type(o);
    if (rest_write_resource_text(q->a, o, res->json, &resp->body, &e) < 0) fail_resp(o, resp, &e);
}

/* "Type?query" or "query" of If-None-Exist -> the query. */
static cw_slice strip_type(cw_slice s, cw_slice type)
{
    long qm = cw_slice_index(s, '?');
    if (qm < 0) return s;
    cw_slice t = cw_slice_sub(s, 0, (size_t)qm);
    if (t.len && !cw_slice_eq(t, type)) return CW_SLICE_NULL; /* another type: refused below */
    return cw_slice_sub(s, (size_t)qm + 1, s.len);
}

static void do_create(struct cw_rest *r, const struct rest_req *q, const struct rest_out *o,
                      cw_slice type, struct rest_resp *resp)
{
    struct cw_err err;
    cw_err_clear(&err);
    struct rest_prefer pf;
    rest_prefer_parse(q, &pf);
    struct cw_json *res;
    if (rest_parse_body(q, r->o.max_resource, &res, &err) < 0) return fail_resp(o, resp, &err);
    cw_slice ine = header(q, "If-None-Exist");
    struct cw_store_txn *t;
    if (begin_write(r, ine.len ? CW_STORE_SERIALIZABLE : CW_STORE_WRITE, &t, &err) < 0)
        return fail_resp(o, resp, &err);
    int rc = 0;
    struct cw_store_resource out;
    struct rest_issues iss = {.n = 0};
    if (ine.len) {
        /* http.html#ccreate */
        cw_slice query = strip_type(ine, type);
        cw_slice ids[2];
        size_t n = 0;
        if (!query.ptr) rc = cw_err_set(&err, CW_ISSUE_INVALID, "If-None-Exist names another resource type");
        else rc = rest_match(q->a, t, type, query, 1, ids, &n, &err);
        if (rc == 0 && n > 1) {
            rc = cw_err_set(&err, CW_ISSUE_MULTIPLE_MATCHES, "If-None-Exist matches more than one resource");
            err.http_status = 412;
        }
        if (rc == 0 && n == 1) {
            rc = cw_store_read(q->a, t, type, ids[0], &out, &err);
            cw_store_rollback(t);
            if (rc < 0) return fail_resp(o, resp, &err);
            resp->status = 200;
            set_version_headers(resp, q, &out.meta, true);
            write_body(q, o, &pf, &out, resp, "a matching resource exists; nothing was created");
            return;
        }
    }
    if (rc == 0) {
        struct cw_store_write w = {.op = CW_STORE_CREATE, .type = type};
        rc = rest_write(r, q, t, &w, res, &out, NULL, &iss, &err);
    }
    if (finish(t, rc, &err) < 0) {
        if (iss.n > 1) return fail_issues(o, resp, &iss, 422);
        return fail_resp(o, resp, &err);
    }
    resp->status = 201;
    set_version_headers(resp, q, &out.meta, true);
    write_body(q, o, &pf, &out, resp, "created");
}

/* PUT [type]/[id] and conditional PUT [type]?query. */
static void do_update(struct cw_rest *r, const struct rest_req *q, const struct rest_out *o,
                      cw_slice type, cw_slice id, struct rest_resp *resp)
{
    struct cw_err err;
    cw_err_clear(&err);
    struct rest_prefer pf;
    rest_prefer_parse(q, &pf);
    struct cw_json *res;
    if (rest_parse_body(q, r->o.max_resource, &res, &err) < 0) return fail_resp(o, resp, &err);
    long long if_match = etag_version(header(q, "If-Match"));
    if (if_match == -2) {
        cw_err_set(&err, CW_ISSUE_INVALID, "If-Match: expected W/\"version\"");
        return fail_resp(o, resp, &err);
    }
    struct cw_store_txn *t;
    if (begin_write(r, id.len ? CW_STORE_WRITE : CW_STORE_SERIALIZABLE, &t, &err) < 0)
        return fail_resp(o, resp, &err);
    int rc = 0;
    struct cw_store_write w = {.op = CW_STORE_UPDATE, .type = type, .id = id,
                               .if_match = if_match > 0 ? if_match : 0};
    if (!id.len) {
        /* http.html#cond-update */
        cw_slice ids[2];
        size_t n = 0;
        rc = rest_match(q->a, t, type, q->query, 1, ids, &n, &err);
        cw_slice body_id = cw_json_text(cw_json_get(res, "id"));
        if (rc == 0 && n > 1) {
            rc = cw_err_set(&err, CW_ISSUE_MULTIPLE_MATCHES, "the conditional update matches more than one resource");
            err.http_status = 412;
        } else if (rc == 0 && n == 1) {
            if (body_id.len && !cw_slice_eq(body_id, ids[0]))
                rc = cw_err_set(&err, CW_ISSUE_INVALID, "the resource id does not match the resource the condition found");
            w.id = ids[0];
            if (rc == 0 && !body_id.len) {
                struct cw_json *ij = cw_json_set(q->a, res, CW_LIT("id"), cw_json_string(ids[0]));
                if (!ij) rc = cw_err_set(&err, CW_ISSUE_TOO_COSTLY, "arena limit");
            }
        } else if (rc == 0) {
            /* no match: create (with the body's id when it has one) */
            if (body_id.len) {
                w.id = body_id;
                w.if_match = 0;
            } else {
                w.op = CW_STORE_CREATE;
            }
        }
    }
    struct cw_store_resource out;
    struct rest_issues iss = {.n = 0};
    bool unchanged = false;
    if (rc == 0) {
        if (w.id.len && !rest_valid_id(w.id))
            rc = cw_err_set(&err, CW_ISSUE_INVALID, "the id is not a valid FHIR id");
        else
            rc = rest_write(r, q, t, &w, res, &out, &unchanged, &iss, &err);
    }
    if (finish(t, rc, &err) < 0) {
        if (iss.n > 1) return fail_issues(o, resp, &iss, 422);
        return fail_resp(o, resp, &err);
    }
    resp->status = out.meta.version == 1 && !unchanged ? 201 : 200;
    set_version_headers(resp, q, &out.meta, true);
    write_body(q, o, &pf, &out, resp,
               unchanged ? "the content is unchanged; no new version was made"
                         : resp->status == 201 ? "created" : "updated");
}

static void do_delete(struct cw_rest *r, const struct rest_req *q, const struct rest_out *o,
                      cw_slice type, cw_slice id, struct rest_resp *resp)
{
    struct cw_err err;
    cw_err_clear(&err);
    struct rest_prefer pf;
    rest_prefer_parse(q, &pf);
    long long if_match = etag_version(header(q, "If-Match"));
    if (if_match == -2) {
        cw_err_set(&err, CW_ISSUE_INVALID, "If-Match: expected W/\"version\"");
        return fail_resp(o, resp, &err);
    }
    struct cw_store_txn *t;
    if (begin_write(r, CW_STORE_WRITE, &t, &err) < 0) return fail_resp(o, resp, &err);
    int rc = 0;
    if (!id.len) {
        /* http.html#cdelete: one match is deleted; several are refused */
        cw_slice ids[2];
        size_t n = 0;
        rc = rest_match(q->a, t, type, q->query, 1, ids, &n, &err);
        if (rc == 0 && n > 1) {
            rc = cw_err_set(&err, CW_ISSUE_MULTIPLE_MATCHES, "the conditional delete matches more than one resource");
            err.http_status = 412;
        } else if (rc == 0 && n == 0) {
            cw_store_rollback(t);
            resp->status = 204;
            return;
        } else if (rc == 0) {
            id = ids[0];
        }
    }
    struct cw_store_meta m;
    memset(&m, 0, sizeof m);
    if (rc == 0) rc = cw_store_delete(q->a, t, type, id, if_match > 0 ? if_match : 0, &m, &err);
    if (rc < 0 && err.issue == CW_ISSUE_NOT_FOUND && if_match <= 0) {
        /* http.html#delete: deleting what does not exist is not an error */
        cw_store_rollback(t);
        resp->status = 204;
        return;
    }
    if (finish(t, rc, &err) < 0) return fail_resp(o, resp, &err);
    if (m.version) set_version_headers(resp, q, &m, false);
    if (pf.ret == REST_RETURN_OUTCOME || pf.ret == REST_RETURN_REPRESENTATION) {
        resp->status = 200;
        info_outcome(q->a, o, resp, "deleted");
    } else {
        resp->status = 204;
    }
}

static void do_read(struct cw_rest *r, const struct rest_req *q, const struct rest_out *o,
                    cw_slice type, cw_slice id, long long version, struct rest_resp *resp)
{
    struct cw_err err;
    cw_err_clear(&err);
    struct cw_store_txn *t;
    if (cw_store_begin(r->store, CW_STORE_READ, &t, &err) < 0) return fail_resp(o, resp, &err);
    struct cw_store_resource res;
    memset(&res, 0, sizeof res);
    int rc = version ? cw_store_vread(q->a, t, type, id, version, &res, &err)
                     : cw_store_read(q->a, t, type, id, &res, &err);
    cw_store_rollback(t);
    if (rc < 0) {
        if (err.issue == CW_ISSUE_DELETED && res.meta.version) {
            /* http.html#read: 410 for a deleted resource, with its version */
            struct cw_err e2 = err;
            fail_resp(o, resp, &e2);
            snprintf(resp->etag, sizeof resp->etag, "W/\"%lld\"", res.meta.version);
            return;
        }
        return fail_resp(o, resp, &err);
    }
    set_version_headers(resp, q, &res.meta, false);
    if (!version) {
        /* http.html#cread */
        long long inm = etag_version(header(q, "If-None-Match"));
        int64_t ims;
        if (inm > 0 && inm == res.meta.version) {
            resp->status = 304;
            return;
        }
        cw_slice h = header(q, "If-Modified-Since");
        if (inm < 0 && h.len && rest_parse_http_date(h, &ims) == 0 &&
            res.meta.last_updated / 1000000 <= ims / 1000000) {
            resp->status = 304;
            return;
        }
    }
    resp->status = 200;
    resp->content_type = rest_content_type(o);
    if (rest_write_resource_text(q->a, o, res.json, &resp->body, &err) < 0) fail_resp(o, resp, &err);
}

static void do_patch(struct cw_rest *r, const struct rest_req *q, const struct rest_out *o,
                     cw_slice type, cw_slice id, struct rest_resp *resp)
{
    struct cw_err err;
    cw_err_clear(&err);
    struct rest_prefer pf;
    rest_prefer_parse(q, &pf);
    cw_slice ct = header(q, "Content-Type");
    long semi = cw_slice_index(ct, ';');
    if (semi >= 0) ct = cw_slice_trim(cw_slice_sub(ct, 0, (size_t)semi));
    bool json_patch = cw_slice_eq_nocase(ct, CW_LIT("application/json-patch+json"));
    bool fhir_patch = cw_slice_eq_nocase(ct, CW_LIT("application/fhir+json")) ||
                      cw_slice_eq_nocase(ct, CW_LIT("application/json"));
    if (!json_patch && !fhir_patch) {
        cw_err_set(&err, CW_ISSUE_NOT_SUPPORTED,
                   "PATCH takes application/json-patch+json (JSON Patch) or application/fhir+json "
                   "(a FHIRPath Patch Parameters resource)");
        err.http_status = 415;
        return fail_resp(o, resp, &err);
    }
    if (q->body.len > r->o.max_resource) {
        cw_err_set(&err, CW_ISSUE_TOO_LONG, "the body exceeds %zu bytes", r->o.max_resource);
        return fail_resp(o, resp, &err);
    }
    struct cw_json *patch;
    struct cw_json_opts jo = {.flags = CW_JSON_STRICT, .max_depth = 256, .max_bytes = r->o.max_resource};
    if (cw_json_parse(q->a, q->body.ptr, q->body.len, &jo, &patch, &err) < 0) return fail_resp(o, resp, &err);
    long long if_match = etag_version(header(q, "If-Match"));
    if (if_match == -2) {
        cw_err_set(&err, CW_ISSUE_INVALID, "If-Match: expected W/\"version\"");
        return fail_resp(o, resp, &err);
    }
    struct cw_store_txn *t;
    if (begin_write(r, CW_STORE_WRITE, &t, &err) < 0) return fail_resp(o, resp, &err);
    int rc = 0;
    if (!id.len) {
        cw_slice ids[2];
        size_t n = 0;
        rc = rest_match(q->a, t, type, q->query, 1, ids, &n, &err);
        if (rc == 0 && n != 1) {
            rc = cw_err_set(&err, n ? CW_ISSUE_MULTIPLE_MATCHES : CW_ISSUE_NOT_FOUND,
                            n ? "the conditional patch matches more than one resource"
                              : "the conditional patch matches no resource");
            if (n) err.http_status = 412;
        }
        if (rc == 0) id = ids[0];
    }
    struct cw_store_resource cur, out;
    struct cw_json *res = NULL;
    if (rc == 0) rc = cw_store_read(q->a, t, type, id, &cur, &err);
    if (rc == 0 && if_match > 0 && if_match != cur.meta.version) {
        rc = cw_err_set(&err, CW_ISSUE_CONFLICT, "If-Match: the resource is at another version");
        err.http_status = 412;
    }
    if (rc == 0) rc = cw_json_parse(q->a, cur.json.ptr, cur.json.len, NULL, &res, &err);
    if (rc == 0)
        rc = json_patch ? rest_json_patch(q->a, res, patch, &err) : rest_fhirpath_patch(q->a, res, patch, &err);
    struct rest_issues iss = {.n = 0};
    if (rc == 0) {
        struct cw_store_write w = {.op = CW_STORE_UPDATE, .type = type, .id = id,
                                   .if_match = cur.meta.version, .no_create = true};
        rc = rest_write(r, q, t, &w, res, &out, NULL, &iss, &err);
    }
    if (finish(t, rc, &err) < 0) {
        if (iss.n > 1) return fail_issues(o, resp, &iss, 422);
        return fail_resp(o, resp, &err);
    }
    resp->status = 200;
    set_version_headers(resp, q, &out.meta, true);
    write_body(q, o, &pf, &out, resp, "patched");
}

/* ---- routing ---- */

#define MAX_SEGS 6

static size_t split_path(cw_slice path, cw_slice *segs)
{
    size_t n = 0, i = 0;
    while (i < path.len && n <= MAX_SEGS) {
        while (i < path.len && path.ptr[i] == '/') i++;
        if (i >= path.len) break;
        size_t j = i;
        while (j < path.len && path.ptr[j] != '/') j++;
        if (n == MAX_SEGS) return MAX_SEGS + 1;
        segs[n++] = cw_slice_sub(path, i, j - i);
        i = j;
    }
    return n;
}

static bool is(const char *method, const char *m)
{
    return strcmp(method, m) == 0;
}

static void not_allowed(const struct rest_out *o, struct rest_resp *resp, const char *what)
{
    struct cw_err err;
    cw_err_clear(&err);
    cw_err_set(&err, CW_ISSUE_NOT_SUPPORTED, "%s", what);
    err.http_status = 405;
    fail_resp(o, resp, &err);
}

static void metadata(struct cw_rest *r, const struct rest_req *q, const struct rest_out *o,
                     struct rest_resp *resp)
{
    struct cw_err err;
    cw_err_clear(&err);
    cw_slice cap;
    if (rest_capability(r, &cap, &err) < 0) return fail_resp(o, resp, &err);
    struct cw_buf j;
    cw_buf_init(&j, 0);
    cw_buf_put_slice(&j, cap);
    resp->status = 200;
    struct rest_out plain = *o;
    if (o->summary != CW_SUMMARY_NONE || o->n_elements) {
        struct cw_json *tree;
        if (cw_json_parse(q->a, j.ptr, j.len, NULL, &tree, &err) == 0) {
            cw_buf_reset(&j);
            rest_write_resource_tree(q->a, o, tree, &j, &err);
        }
        plain.summary = CW_SUMMARY_NONE;
        plain.n_elements = 0;
    }
    if (rest_finish_body(q->a, &plain, &j, resp, &err) < 0) fail_resp(o, resp, &err);
    cw_buf_release(&j);
}

/* Pairs of the query without the result-format ones (for conditional ops). */
static void route(struct cw_rest *r, const struct rest_req *q, struct rest_resp *resp)
{
    struct cw_err err;
    cw_err_clear(&err);
    struct rest_query qs = {0};
    struct rest_out o = {0};
    if (rest_split_query(q, &qs, &err) < 0) return fail_resp(&o, resp, &err);
    if (rest_negotiate(q, &qs, &o, &err) < 0) {
        struct rest_out plain = {0};
        return fail_resp(&plain, resp, &err);
    }
    cw_slice seg[MAX_SEGS + 1];
    size_t ns = split_path(q->path, seg);
    const char *m = q->method;
    bool get = is(m, "GET") || is(m, "HEAD");

    if (ns == 0) {
        if (is(m, "POST")) return rest_bundle(r, q, resp);
        if (get) {
            cw_err_set(&err, CW_ISSUE_NOT_SUPPORTED, "system-wide search is not supported; search one resource type");
            return fail_resp(&o, resp, &err);
        }
        return not_allowed(&o, resp, "only POST (batch/transaction) is allowed on the base URL");
    }
    if (ns > MAX_SEGS) {
        cw_err_set(&err, CW_ISSUE_NOT_FOUND, "no such endpoint");
        return fail_resp(&o, resp, &err);
    }
    if (cw_slice_eq_cstr(seg[0], "metadata") && ns == 1) {
        if (!get) return not_allowed(&o, resp, "metadata supports GET only");
        return metadata(r, q, &o, resp);
    }
    if (cw_slice_eq_cstr(seg[0], "_history") && ns == 1) {
        if (!get) return not_allowed(&o, resp, "history supports GET only");
        return rest_history(r, q, CW_LIT(""), CW_LIT(""), &qs, resp);
    }
    cw_slice type = seg[0];
    if (!rest_known_type(type)) {
        cw_err_set(&err, CW_ISSUE_NOT_FOUND, "unknown resource type");
        cw_err_at_slice(&err, cw_slice_sub(type, 0, 64));
        return fail_resp(&o, resp, &err);
    }
    if (ns == 1) {
        if (get) return rest_search(r, q, NULL, type, qs.pairs, qs.n, NULL, resp);
        if (is(m, "POST")) return do_create(r, q, &o, type, resp);
        if (is(m, "PUT") || is(m, "DELETE") || is(m, "PATCH")) {
            /* conditional operations need a condition */
            bool cond = false;
            for (size_t i = 0; i < qs.n; i++) {
                cw_slice k = qs.pairs[i].key;
                if (!cw_slice_eq_cstr(k, "_format") && !cw_slice_eq_cstr(k, "_pretty")) cond = true;
            }
            if (!cond) return not_allowed(&o, resp, "PUT, PATCH and DELETE on a type need search parameters (conditional) or an id");
            if (is(m, "PUT")) return do_update(r, q, &o, type, CW_LIT(""), resp);
            if (is(m, "PATCH")) return do_patch(r, q, &o, type, CW_LIT(""), resp);
            return do_delete(r, q, &o, type, CW_LIT(""), resp);
        }
        return not_allowed(&o, resp, "method not allowed on a resource type");
    }
    cw_slice id = seg[1];
    if (ns == 2 && cw_slice_eq_cstr(id, "_search")) {
        if (!is(m, "POST")) return not_allowed(&o, resp, "_search takes POST");
        /* search.html: form body parameters, plus any in the URL */
        cw_slice ct = header(q, "Content-Type");
        if (q->body.len && !cw_slice_starts_with(ct, CW_LIT("application/x-www-form-urlencoded"))) {
            cw_err_set(&err, CW_ISSUE_NOT_SUPPORTED, "POST _search takes application/x-www-form-urlencoded");
            err.http_status = 415;
            return fail_resp(&o, resp, &err);
        }
        struct cw_search_pair *bp;
        size_t bn;
        if (cw_search_split_query(q->a, q->body, 0, &bp, &bn, &err) < 0) return fail_resp(&o, resp, &err);
        struct cw_search_pair *all = cw_arena_array(q->a, qs.n + bn + 1, sizeof *all);
        if (!all) {
            cw_err_set(&err, CW_ISSUE_TOO_COSTLY, "arena limit");
            return fail_resp(&o, resp, &err);
        }
        if (qs.n) memcpy(all, qs.pairs, qs.n * sizeof *all);
        if (bn) memcpy(all + qs.n, bp, bn * sizeof *all);
        if (qs.n + bn > CW_SEARCH_MAX_PAIRS) {
            cw_err_set(&err, CW_ISSUE_TOO_COSTLY, "too many search parameters");
            return fail_resp(&o, resp, &err);
        }
        return rest_search(r, q, NULL, type, all, qs.n + bn, NULL, resp);
    }
    if (ns == 2 && cw_slice_eq_cstr(id, "_history")) {
        if (!get) return not_allowed(&o, resp, "history supports GET only");
        return rest_history(r, q, type, CW_LIT(""), &qs, resp);
    }
    if (!rest_valid_id(id)) {
        cw_err_set(&err, CW_ISSUE_INVALID, "not a valid resource id");
        return fail_resp(&o, resp, &err);
    }
    if (ns == 2) {
        if (get) return do_read(r, q, &o, type, id, 0, resp);
        if (is(m, "PUT")) return do_update(r, q, &o, type, id, resp);
        if (is(m, "DELETE")) return do_delete(r, q, &o, type, id, resp);
        if (is(m, "PATCH")) return do_patch(r, q, &o, type, id, resp);
        return not_allowed(&o, resp, "POST is not allowed on a resource instance (use PUT)");
    }
    if (cw_slice_eq_cstr(seg[2], "_history")) {
        if (!get) return not_allowed(&o, resp, "history supports GET only");
        if (ns == 3) return rest_history(r, q, type, id, &qs, resp);
        long long v;
        if (ns == 4 && cw_slice_to_i64(seg[3], &v) == 0 && v >= 1 && seg[3].ptr[0] != '+')
            return do_read(r, q, &o, type, id, v, resp);
        cw_err_set(&err, CW_ISSUE_NOT_FOUND, "no such version");
        return fail_resp(&o, resp, &err);
    }
    if (ns == 3 || (ns == 4 && cw_slice_eq_cstr(seg[3], "_search"))) {
        /* compartment search: [base]/Patient/123/Observation */
        cw_slice target = seg[2];
        if (!rest_known_type(target)) {
            cw_err_set(&err, CW_ISSUE_NOT_FOUND, "unknown resource type");
            return fail_resp(&o, resp, &err);
        }
        if (!(get || (ns == 4 && is(m, "POST")))) return not_allowed(&o, resp, "compartment search takes GET");
        struct cw_search_compartment comp = {type, id};
        return rest_search(r, q, NULL, target, qs.pairs, qs.n, &comp, resp);
    }
    cw_err_set(&err, CW_ISSUE_NOT_FOUND, "no such endpoint");
    fail_resp(&o, resp, &err);
}

void cw_rest_handle(struct cw_rest *r, const struct rest_req *q, struct rest_resp *out)
{
    memset(out, 0, sizeof *out);
    cw_buf_init(&out->body, (size_t)1 << 30);
    out->status = 500;
    route(r, q, out);
    if (cw_arena_exceeded(q->a) && out->status < 400) {
        struct cw_err err;
        cw_err_clear(&err);
        cw_err_set(&err, CW_ISSUE_TOO_COSTLY, "the request needs more memory than allowed");
        rest_error(NULL, &err, out);
    }
}
