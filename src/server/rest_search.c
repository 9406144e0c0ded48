/*
 * rest_search.c — search and history interactions: searchset and history
 * Bundles, paging links, conditional matching, and the server-side handles
 * for sorted-search cursors.
 *
 * Owns: the cursor table in struct cw_rest (entries malloc'ed, expired
 * after REST_CURSOR_TTL_US, overwritten when the table is full).
 *
 * Spec: FHIR R4 search.html (#return: Bundle type searchset, entry.search
 * .mode match | include | outcome, self and next links, total), #errors
 * (ignored parameters reported in an OperationOutcome entry in lenient
 * handling), http.html#history (Bundle type history, entry.request and
 * entry.response per version, newest first, _since, _count), #paging.
 *
 * Paging: the store pages by keyset cursor. Without _sort a cursor holds
 * only an internal key and goes into the next link as is. With _sort it
 * holds sort values of a real resource (names, codes, dates: patient data),
 * so the link carries a random handle ("s" + 32 hex digits) and the cursor
 * stays in this process; an expired or unknown handle is a 410 telling the
 * client to search again. (Several nodes behind one PostgreSQL therefore
 * need sticky sessions for sorted paging; unsorted paging works anywhere.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/random.h"
#include "base/vec.h"
#include "base/uuid.h"
#include "server/rest_int.h"

/* ---- cursor handles ---- */

static const char HEX[] = "0123456789abcdef";

int rest_cursor_put(struct cw_rest *r, cw_slice cursor, char out[40])
{
    struct cw_err err;
    uint8_t tok[16];
    if (cw_random_bytes(tok, sizeof tok, &err) < 0) return -1;
    char *copy = malloc(cursor.len + 1);
    if (!copy) return -1;
    memcpy(copy, cursor.ptr, cursor.len);
    copy[cursor.len] = '\0';
    int64_t now = cw_store_now();
    size_t start = ((size_t)tok[0] << 8 | tok[1]) % REST_CURSOR_SLOTS;
    pthread_mutex_lock(&r->cursor_mu);
    /* first free or expired slot nearby, else the one that expires first */
    size_t best = start;
    for (size_t k = 0; k < 16; k++) {
        size_t i = (start + k) % REST_CURSOR_SLOTS;
        if (!r->cursors[i].cursor || r->cursors[i].expires < now) {
            best = i;
            break;
        }
        if (r->cursors[i].expires < r->cursors[best].expires) best = i;
    }
    free(r->cursors[best].cursor);
    memcpy(r->cursors[best].token, tok, sizeof tok);
    r->cursors[best].cursor = copy;
    r->cursors[best].expires = now + REST_CURSOR_TTL_US;
    pthread_mutex_unlock(&r->cursor_mu);
    out[0] = 's';
    for (int i = 0; i < 16; i++) {
        out[1 + 2 * i] = HEX[tok[i] >> 4];
        out[2 + 2 * i] = HEX[tok[i] & 15];
    }
    out[33] = '\0';
    return 0;
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int rest_cursor_get(struct cw_rest *r, struct cw_arena *a, cw_slice handle, cw_slice *cursor)
{
    if (handle.len != 33 || handle.ptr[0] != 's') return -1;
    uint8_t tok[16];
    for (int i = 0; i < 16; i++) {
        int h = hexv(handle.ptr[1 + 2 * i]), l = hexv(handle.ptr[2 + 2 * i]);
        if (h < 0 || l < 0) return -1;
        tok[i] = (uint8_t)(h << 4 | l);
    }
    size_t start = ((size_t)tok[0] << 8 | tok[1]) % REST_CURSOR_SLOTS;
    int64_t now = cw_store_now();
    int rc = -1;
    pthread_mutex_lock(&r->cursor_mu);
    for (size_t k = 0; k < 16; k++) {
        struct rest_cursor_slot *s = &r->cursors[(start + k) % REST_CURSOR_SLOTS];
        if (s->cursor && memcmp(s->token, tok, 16) == 0) {
            if (s->expires >= now) {
                *cursor = cw_arena_dup(a, cw_slice_cstr(s->cursor));
                rc = cursor->ptr ? 0 : -1;
            }
            break;
        }
    }
    pthread_mutex_unlock(&r->cursor_mu);
    return rc;
}

/* ---- helpers ---- */

static struct rest_out out_for(const struct rest_req *q, const struct cw_search *s, struct cw_err *err,
                               int *rc)
{
    struct rest_query qs = {(struct cw_search_pair *)s->used, s->n_used};
    struct rest_out o;
    *rc = rest_negotiate(q, &qs, &o, err);
    return o;
}

static void link(struct cw_json_writer *w, const char *rel, cw_slice url)
{
    cw_json_begin_object(w);
    cw_json_key(w, CW_LIT("relation"));
    cw_json_string_value(w, cw_slice_cstr(rel));
    cw_json_key(w, CW_LIT("url"));
    cw_json_string_value(w, url);
    cw_json_end_object(w);
}

static void bundle_head(struct cw_json_writer *w, const char *type)
{
    char id[CW_UUID_TEXT_LEN + 1];
    struct cw_uuid u;
    struct cw_err e;
    if (cw_uuid_v4(&u, &e) == 0) cw_uuid_format(&u, id);
    else snprintf(id, sizeof id, "bundle");
    char now[32];
    cw_store_format_instant(cw_store_now(), now);
    cw_json_begin_object(w);
    cw_json_key(w, CW_LIT("resourceType"));
    cw_json_string_value(w, CW_LIT("Bundle"));
    cw_json_key(w, CW_LIT("id"));
    cw_json_string_value(w, cw_slice_cstr(id));
    cw_json_key(w, CW_LIT("meta"));
    cw_json_begin_object(w);
    cw_json_key(w, CW_LIT("lastUpdated"));
    cw_json_string_value(w, cw_slice_cstr(now));
    cw_json_end_object(w);
    cw_json_key(w, CW_LIT("type"));
    cw_json_string_value(w, cw_slice_cstr(type));
}

/* base/Type/id into b (reset first); the slice is valid until b changes. */
static cw_slice full_url(struct cw_buf *b, const struct rest_req *q, const struct cw_store_meta *m)
{
    cw_buf_reset(b);
    cw_buf_put_slice(b, q->base);
    cw_buf_putc(b, '/');
    cw_buf_put_slice(b, m->type);
    cw_buf_putc(b, '/');
    cw_buf_put_slice(b, m->id);
    return cw_buf_slice(b);
}

/* The query of used pairs, percent-encoded, without _cursor. */
static void query_text(struct cw_buf *b, const struct cw_search_pair *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i) cw_buf_putc(b, '&');
        cw_search_encode(b, p[i].key);
        cw_buf_putc(b, '=');
        cw_search_encode(b, p[i].value);
    }
}

/* Embed a resource (stored JSON text) shaped by o, as the writer's next value. */
static int embed(struct cw_arena *a, struct cw_json_writer *w, const struct rest_out *o, cw_slice json,
                 struct cw_err *err)
{
    struct rest_out jo = *o;
    jo.fmt = REST_FMT_JSON;
    jo.indent = 0;
    if (!jo.n_elements && jo.summary != CW_SUMMARY_TRUE && jo.summary != CW_SUMMARY_TEXT &&
        jo.summary != CW_SUMMARY_DATA) {
        cw_json_number_value(w, json); /* verbatim: stored JSON as stored */
        return 0;
    }
    struct cw_json *res;
    if (cw_json_parse(a, json.ptr, json.len, NULL, &res, err) < 0) return -1;
    if (rest_shape(a, res, jo.summary, jo.elements, jo.n_elements, err) < 0) return -1;
    cw_json_value(w, res);
    return 0;
}

static bool store_cursor_text(cw_slice c)
{
    if (!c.len || c.len > 4096) return false;
    for (size_t i = 0; i < c.len; i++) {
        char ch = c.ptr[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

/* ---- search ---- */

void rest_search(struct cw_rest *r, const struct rest_req *q, struct cw_store_txn *in, cw_slice type,
                 const struct cw_search_pair *pairs, size_t n,
                 const struct cw_search_compartment *comp, struct rest_resp *resp)
{
    struct cw_err err;
    cw_err_clear(&err);
    struct rest_prefer pf;
    rest_prefer_parse(q, &pf);
    struct cw_search_opts so = {.handling = pf.handling_set ? pf.handling : CW_SEARCH_LENIENT,
                                .default_count = r->o.default_count,
                                .max_count = r->o.max_count};
    struct cw_search s;
    struct rest_out o = {0};
    if (cw_search_parse(q->a, type, pairs, n, comp, &so, &s, &err) < 0) {
        struct rest_query qs = {(struct cw_search_pair *)pairs, n};
        struct cw_err e2;
        if (rest_negotiate(q, &qs, &o, &e2) < 0) memset(&o, 0, sizeof o);
        return rest_error(&o, &err, resp);
    }
    int rc;
    o = out_for(q, &s, &err, &rc);
    if (rc < 0) {
        struct rest_out plain = {0};
        return rest_error(&plain, &err, resp);
    }
    /* paging */
    if (s.cursor.len) {
        if (s.cursor.ptr[0] == 's' && s.cursor.len == 33) {
            if (rest_cursor_get(r, q->a, s.cursor, &s.plan.cursor) < 0) {
                cw_err_set(&err, CW_ISSUE_NOT_FOUND, "this page link has expired; run the search again");
                err.http_status = 410;
                return rest_error(&o, &err, resp);
            }
        } else if (store_cursor_text(s.cursor)) {
            s.plan.cursor = s.cursor;
        } else {
            cw_err_set(&err, CW_ISSUE_INVALID, "_cursor: not a page link of this server");
            return rest_error(&o, &err, resp);
        }
    }
    struct cw_store_txn *t = in;
    if (!t && cw_store_begin(r->store, CW_STORE_READ, &t, &err) < 0) return rest_error(&o, &err, resp);
    struct cw_store_page page;
    rc = cw_store_search(q->a, t, &s.plan, &page, &err);
    if (!in) cw_store_rollback(t);
    if (rc < 0) return rest_error(&o, &err, resp);

    struct cw_buf j, u;
    cw_buf_init(&j, (size_t)1 << 30);
    cw_buf_init(&u, 1 << 20);
    struct cw_json_writer w;
    cw_json_writer_init(&w, &j, 0);
    bundle_head(&w, "searchset");
    long long total = page.total;
    if (total < 0 && !s.plan.cursor.len && !page.next_cursor.len) total = (long long)page.nmatch;
    if (total >= 0) {
        cw_json_key(&w, CW_LIT("total"));
        cw_json_int_value(&w, total);
    }
    /* links */
    cw_buf_put_slice(&u, q->base);
    cw_buf_putc(&u, '/');
    if (comp && comp->type.len) {
        cw_buf_put_slice(&u, comp->type);
        cw_buf_putc(&u, '/');
        cw_buf_put_slice(&u, comp->id);
        cw_buf_putc(&u, '/');
    }
    cw_buf_put_slice(&u, type);
    cw_buf_putc(&u, '?');
    query_text(&u, s.used, s.n_used);
    size_t self_len = u.len;
    cw_json_key(&w, CW_LIT("link"));
    cw_json_begin_array(&w);
    if (s.plan.cursor.len && s.cursor.len) {
        cw_buf_puts(&u, s.n_used ? "&_cursor=" : "_cursor=");
        cw_buf_put_slice(&u, s.cursor);
    }
    link(&w, "self", cw_buf_slice(&u));
    u.len = self_len;
    if (page.next_cursor.len) {
        char handle[40];
        cw_slice next = page.next_cursor;
        if (s.plan.nsort) {
            if (rest_cursor_put(r, page.next_cursor, handle) < 0) {
                cw_buf_release(&j);
                cw_buf_release(&u);
                cw_err_set(&err, CW_ISSUE_EXCEPTION, "cannot keep the page cursor");
                return rest_error(&o, &err, resp);
            }
            next = cw_slice_cstr(handle);
        }
        cw_buf_puts(&u, s.n_used ? "&_cursor=" : "_cursor=");
        cw_buf_put_slice(&u, next);
        link(&w, "next", cw_buf_slice(&u));
    }
    cw_json_end_array(&w);
    bool any = (page.n && s.summary != CW_SUMMARY_COUNT) || s.n_ignored;
    if (any) {
        cw_json_key(&w, CW_LIT("entry"));
        cw_json_begin_array(&w);
    }
    struct cw_buf fu;
    cw_buf_init(&fu, 4096);
    for (size_t i = 0; i < page.n && s.summary != CW_SUMMARY_COUNT; i++) {
        const struct cw_store_resource *res = &page.items[i];
        cw_json_begin_object(&w);
        cw_json_key(&w, CW_LIT("fullUrl"));
        cw_json_string_value(&w, full_url(&fu, q, &res->meta));
        cw_json_key(&w, CW_LIT("resource"));
        if (embed(q->a, &w, &o, res->json, &err) < 0) {
            cw_buf_release(&fu);
            cw_buf_release(&j);
            cw_buf_release(&u);
            return rest_error(&o, &err, resp);
        }
        cw_json_key(&w, CW_LIT("search"));
        cw_json_begin_object(&w);
        cw_json_key(&w, CW_LIT("mode"));
        cw_json_string_value(&w, page.included[i] ? CW_LIT("include") : CW_LIT("match"));
        cw_json_end_object(&w);
        cw_json_end_object(&w);
    }
    cw_buf_release(&fu);
    if (s.n_ignored) {
        /* search.html#errors: say which parameters were not used */
        struct cw_err *iss = cw_arena_array(q->a, s.n_ignored, sizeof *iss);
        size_t ni = 0;
        for (size_t i = 0; iss && i < s.n_ignored; i++) {
            cw_err_clear(&iss[ni]);
            cw_err_set(&iss[ni], CW_ISSUE_NOT_SUPPORTED, "parameter '%.*s' was ignored: %s",
                       (int)(s.ignored[i].key.len > 64 ? 64 : s.ignored[i].key.len),
                       s.ignored[i].key.ptr, s.ignored[i].why);
            iss[ni].severity = CW_SEV_WARNING;
            ni++;
        }
        struct cw_buf ob;
        cw_buf_init(&ob, 1 << 20);
        rest_outcome_json(&ob, iss, ni);
        cw_json_begin_object(&w);
        cw_json_key(&w, CW_LIT("resource"));
        cw_json_number_value(&w, cw_buf_slice(&ob));
        cw_json_key(&w, CW_LIT("search"));
        cw_json_begin_object(&w);
        cw_json_key(&w, CW_LIT("mode"));
        cw_json_string_value(&w, CW_LIT("outcome"));
        cw_json_end_object(&w);
        cw_json_end_object(&w);
        cw_buf_release(&ob);
    }
    if (any) cw_json_end_array(&w); /* FHIR: no empty arrays */
    cw_json_end_object(&w);
    cw_buf_release(&u);
    resp->status = 200;
    struct rest_out fin = o;
    fin.summary = CW_SUMMARY_NONE;
    fin.n_elements = 0;
    if (rest_finish_body(q->a, &fin, &j, resp, &err) < 0) rest_error(&o, &err, resp);
    cw_buf_release(&j);
}

/* ---- conditional matching ---- */

int rest_match(struct cw_arena *a, struct cw_store_txn *t, cw_slice type, cw_slice query,
               size_t max, cw_slice *ids, size_t *n, struct cw_err *err)
{
    *n = 0;
    struct cw_search_pair *pairs;
    size_t np;
    if (cw_search_split_query(a, query, 0, &pairs, &np, err) < 0) return -1;
    /* only search parameters make a condition */
    size_t k = 0;
    for (size_t i = 0; i < np; i++)
        if (!cw_slice_eq_cstr(pairs[i].key, "_format") && !cw_slice_eq_cstr(pairs[i].key, "_pretty"))
            pairs[k++] = pairs[i];
    if (k == 0) return cw_err_set(err, CW_ISSUE_INVALID, "the condition has no search parameters");
    struct cw_search_opts so = {.handling = CW_SEARCH_STRICT, .max_count = (unsigned)max + 1};
    struct cw_search s;
    if (cw_search_parse(a, type, pairs, k, NULL, &so, &s, err) < 0) return -1;
    if (s.plan.nincludes || s.cursor.len)
        return cw_err_set(err, CW_ISSUE_INVALID, "a condition cannot page or include");
    s.plan.count = (unsigned)max + 1;
    s.plan.count_set = true;
    s.plan.total = CW_TOTAL_NONE;
    s.plan.nsort = 0;
    struct cw_store_page page;
    if (cw_store_search(a, t, &s.plan, &page, err) < 0) return -1;
    for (size_t i = 0; i < page.nmatch && i < max; i++) ids[i] = page.items[i].meta.id;
    *n = page.nmatch + (page.next_cursor.len ? 1 : 0);
    if (*n > max + 1) *n = max + 1;
    return 0;
}

/* ---- history ---- */

void rest_history(struct cw_rest *r, const struct rest_req *q, cw_slice type, cw_slice id,
                  const struct rest_query *qs, struct rest_resp *resp)
{
    struct cw_err err;
    cw_err_clear(&err);
    struct rest_out o;
    if (rest_negotiate(q, qs, &o, &err) < 0) {
        struct rest_out plain = {0};
        return rest_error(&plain, &err, resp);
    }
    struct rest_prefer pf;
    rest_prefer_parse(q, &pf);
    struct cw_store_history_query hq = {.type = type, .id = id, .count = r->o.default_count};
    CW_VEC(struct cw_search_pair) used;
    cw_vec_init(&used, q->a, CW_SEARCH_MAX_PAIRS);
    for (size_t i = 0; i < qs->n; i++) {
        cw_slice k = qs->pairs[i].key, v = qs->pairs[i].value;
        bool keep = true;
        if (cw_slice_eq_cstr(k, "_count")) {
            long long c;
            if (cw_slice_to_i64(v, &c) < 0 || c < 0 || v.ptr[0] == '+') {
                cw_err_set(&err, CW_ISSUE_INVALID, "_count takes a non-negative integer");
                return rest_error(&o, &err, resp);
            }
            hq.count = c > (long long)r->o.max_count ? r->o.max_count : (unsigned)c;
            if (hq.count == 0) hq.count = 1;
        } else if (cw_slice_eq_cstr(k, "_since")) {
            int64_t lo, hi;
            if (cw_store_date_range(v, &lo, &hi) < 0) {
                cw_err_set(&err, CW_ISSUE_INVALID, "_since takes an instant");
                cw_err_at(&err, "_since");
                return rest_error(&o, &err, resp);
            }
            hq.has_since = true;
            hq.since = lo;
        } else if (cw_slice_eq_cstr(k, "_cursor")) {
            hq.cursor = v;
            keep = false;
        } else if (cw_slice_eq_cstr(k, "_format") || cw_slice_eq_cstr(k, "_pretty") ||
                   cw_slice_eq_cstr(k, "_summary") || cw_slice_eq_cstr(k, "_elements")) {
        } else {
            if (pf.handling_set && pf.handling == CW_SEARCH_STRICT) {
                cw_err_set(&err, CW_ISSUE_INVALID, "history does not take this parameter");
                cw_err_at_slice(&err, cw_slice_sub(k, 0, 64));
                return rest_error(&o, &err, resp);
            }
            keep = false;
        }
        if (keep && cw_vec_push(&used, qs->pairs[i]) < 0) {
            cw_err_set(&err, CW_ISSUE_TOO_COSTLY, "too many parameters");
            return rest_error(&o, &err, resp);
        }
    }
    struct cw_store_txn *t;
    if (cw_store_begin(r->store, CW_STORE_READ, &t, &err) < 0) return rest_error(&o, &err, resp);
    int rc = 0;
    if (id.len) {
        /* instance history of something that never existed: 404 */
        struct cw_store_resource cur;
        rc = cw_store_read(q->a, t, type, id, &cur, &err);
        if (rc < 0 && err.issue == CW_ISSUE_DELETED) rc = 0;
    }
    struct cw_store_page page;
    if (rc == 0) rc = cw_store_history(q->a, t, &hq, &page, &err);
    cw_store_rollback(t);
    if (rc < 0) return rest_error(&o, &err, resp);

    struct cw_buf j, u, fu;
    cw_buf_init(&j, (size_t)1 << 30);
    cw_buf_init(&u, 1 << 20);
    cw_buf_init(&fu, 4096);
    struct cw_json_writer w;
    cw_json_writer_init(&w, &j, 0);
    bundle_head(&w, "history");
    if (!hq.cursor.len && !page.next_cursor.len) {
        cw_json_key(&w, CW_LIT("total"));
        cw_json_int_value(&w, (long long)page.n);
    }
    cw_buf_put_slice(&u, q->base);
    if (type.len) {
        cw_buf_putc(&u, '/');
        cw_buf_put_slice(&u, type);
    }
    if (id.len) {
        cw_buf_putc(&u, '/');
        cw_buf_put_slice(&u, id);
    }
    cw_buf_puts(&u, "/_history");
    if (used.len) cw_buf_putc(&u, '?');
    query_text(&u, used.ptr, used.len);
    size_t self_len = u.len;
    cw_json_key(&w, CW_LIT("link"));
    cw_json_begin_array(&w);
    if (hq.cursor.len) {
        cw_buf_puts(&u, used.len ? "&_cursor=" : "?_cursor=");
        cw_search_encode(&u, hq.cursor);
    }
    link(&w, "self", cw_buf_slice(&u));
    u.len = self_len;
    if (page.next_cursor.len) {
        cw_buf_puts(&u, used.len ? "&_cursor=" : "?_cursor=");
        cw_search_encode(&u, page.next_cursor);
        link(&w, "next", cw_buf_slice(&u));
    }
    cw_json_end_array(&w);
    if (page.n) {
        cw_json_key(&w, CW_LIT("entry"));
        cw_json_begin_array(&w);
    }
    for (size_t i = 0; i < page.n; i++) {
        const struct cw_store_resource *res = &page.items[i];
        const struct cw_store_meta *m = &res->meta;
        cw_json_begin_object(&w);
        cw_json_key(&w, CW_LIT("fullUrl"));
        cw_json_string_value(&w, full_url(&fu, q, m));
        if (!m->deleted) {
            cw_json_key(&w, CW_LIT("resource"));
            if (embed(q->a, &w, &o, res->json, &err) < 0) {
                cw_buf_release(&j);
                cw_buf_release(&u);
                cw_buf_release(&fu);
                return rest_error(&o, &err, resp);
            }
        }
        cw_json_key(&w, CW_LIT("request"));
        cw_json_begin_object(&w);
        cw_json_key(&w, CW_LIT("method"));
        cw_json_string_value(&w, m->deleted ? CW_LIT("DELETE") : m->version == 1 ? CW_LIT("POST") : CW_LIT("PUT"));
        cw_json_key(&w, CW_LIT("url"));
        cw_buf_reset(&fu);
        cw_buf_put_slice(&fu, m->type);
        if (m->version != 1 || m->deleted) {
            cw_buf_putc(&fu, '/');
            cw_buf_put_slice(&fu, m->id);
        }
        cw_json_string_value(&w, cw_buf_slice(&fu));
        cw_json_end_object(&w);
        cw_json_key(&w, CW_LIT("response"));
        cw_json_begin_object(&w);
        cw_json_key(&w, CW_LIT("status"));
        cw_json_string_value(&w, m->deleted ? CW_LIT("204 No Content") : m->version == 1 ? CW_LIT("201 Created") : CW_LIT("200 OK"));
        char etag[48], lm[32];
        snprintf(etag, sizeof etag, "W/\"%lld\"", m->version);
        cw_store_format_instant(m->last_updated, lm);
        cw_json_key(&w, CW_LIT("etag"));
        cw_json_string_value(&w, cw_slice_cstr(etag));
        cw_json_key(&w, CW_LIT("lastModified"));
        cw_json_string_value(&w, cw_slice_cstr(lm));
        cw_json_end_object(&w);
        cw_json_end_object(&w);
    }
    if (page.n) cw_json_end_array(&w);
    cw_json_end_object(&w);
    cw_buf_release(&u);
    cw_buf_release(&fu);
    resp->status = 200;
    struct rest_out fin = o;
    fin.summary = CW_SUMMARY_NONE;
    fin.n_elements = 0;
    if (rest_finish_body(q->a, &fin, &j, resp, &err) < 0) rest_error(&o, &err, resp);
    cw_buf_release(&j);
}
