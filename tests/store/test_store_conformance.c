/*
 * test_store_conformance.c — one storage conformance suite, run against every
 * backend: SQLite always (a fresh database in a temporary directory per
 * test), PostgreSQL when CW_TEST_PG holds a URL (a fresh schema per test;
 * `make test` and CI start a throwaway cluster with
 * scripts/pg-test-cluster.sh). Without CW_TEST_PG the PostgreSQL group is
 * skipped with a message.
 *
 * Covers: migrations, CRUD and versions, If-Match conflicts, delete and 410,
 * history paging with _since/_count, transaction atomicity, concurrent
 * writers, index replacement, every parameter type with its modifiers and
 * prefixes, composites, chains, _has, includes, sort, paging stability,
 * SQL-looking values, jobs, limits.
 */
#include "testutil.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/log.h"
#include "json/json.h"
#include "fhir/fhirpath.h"
#include "store/store.h"

/* ---- fixture ---- */

static const char *g_backend; /* "sqlite" | "postgres" */

struct fx {
    struct cw_store *s;
    struct cw_arena *a;
    char dir[256];
    char url[1024];
};

static void pg_reset(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) fail_msg("cannot connect to CW_TEST_PG: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, "SET client_min_messages = warning; DROP SCHEMA public CASCADE; "
                            "CREATE SCHEMA public");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) fail_msg("reset failed: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static int open_store(struct fx *f, const struct cw_store_opts *opts)
{
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_store_open(f->url, opts, &f->s, &err) < 0) {
        print_error("open %s: %s\n", f->url, err.msg);
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->a = cw_arena_new(0);
    if (strcmp(g_backend, "sqlite") == 0) {
        snprintf(f->dir, sizeof f->dir, "/tmp/cw-store-test.XXXXXX");
        if (!mkdtemp(f->dir)) return -1;
        snprintf(f->url, sizeof f->url, "sqlite:%s/test.db", f->dir);
    } else {
        snprintf(f->url, sizeof f->url, "%s", getenv("CW_TEST_PG"));
        pg_reset(f->url);
    }
    if (open_store(f, NULL) < 0) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    cw_store_close(f->s);
    cw_arena_destroy(f->a);
    if (f->dir[0]) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        if (system(cmd) != 0) return -1;
    }
    free(f);
    return 0;
}

/* ---- helpers ---- */

static struct cw_store_txn *begin(struct fx *f, enum cw_store_mode m)
{
    struct cw_store_txn *t;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_store_begin(f->s, m, &t, &err) < 0) fail_msg("begin: %s", err.msg);
    return t;
}

static void commit(struct cw_store_txn *t)
{
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_store_commit(t, &err) < 0) fail_msg("commit: %s", err.msg);
}

static struct cw_json *parse(struct fx *f, const char *text)
{
    struct cw_json *root;
    struct cw_err err;
    if (cw_json_parse(f->a, text, strlen(text), NULL, &root, &err) < 0) fail_msg("bad test JSON: %s", err.msg);
    return root;
}

/* Write a resource in t; id NULL = create. Returns the stored version. */
static struct cw_store_resource put(struct fx *f, struct cw_store_txn *t, const char *type,
                                    const char *id, const char *json,
                                    const struct cw_store_index_row *rows, size_t n)
{
    struct cw_store_write w = {.op = id ? CW_STORE_UPDATE : CW_STORE_CREATE,
                               .type = cw_slice_cstr(type),
                               .id = cw_slice_cstr(id)};
    struct cw_store_resource out;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_store_write_tree(f->a, t, &w, parse(f, json), rows, n, &out, &err) < 0)
        fail_msg("write %s/%s: %s", type, id ? id : "(new)", err.msg);
    return out;
}

/* One-transaction write. */
static struct cw_store_resource put1(struct fx *f, const char *type, const char *id,
                                     const char *json, const struct cw_store_index_row *rows,
                                     size_t n)
{
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    struct cw_store_resource r = put(f, t, type, id, json, rows, n);
    commit(t);
    return r;
}

#define ROWS(...) ((const struct cw_store_index_row[]){__VA_ARGS__}), \
                  (sizeof((const struct cw_store_index_row[]){__VA_ARGS__}) / sizeof(struct cw_store_index_row))

static struct cw_store_index_row R_STR(const char *p, const char *text)
{
    return (struct cw_store_index_row){.param = cw_slice_cstr(p), .type = CW_SP_STRING,
                                       .v.string = {.exact = cw_slice_cstr(text)}};
}

static struct cw_store_index_row R_TOK(const char *p, const char *sys, const char *code, const char *text)
{
    return (struct cw_store_index_row){
        .param = cw_slice_cstr(p), .type = CW_SP_TOKEN,
        .v.token = {cw_slice_cstr(sys), cw_slice_cstr(code), cw_slice_cstr(text)}};
}

static struct cw_store_index_row R_DATE(const char *p, const char *date)
{
    struct cw_store_index_row r = {.param = cw_slice_cstr(p), .type = CW_SP_DATE};
    if (cw_store_date_range(cw_slice_cstr(date), &r.v.date.lo, &r.v.date.hi) < 0)
        fail_msg("bad test date %s", date);
    return r;
}

static struct cw_store_index_row R_PERIOD(const char *p, const char *start, const char *end)
{
    struct cw_store_index_row r = {.param = cw_slice_cstr(p), .type = CW_SP_DATE};
    int64_t x;
    r.v.date.lo = INT64_MIN;
    r.v.date.hi = INT64_MAX;
    if (start) cw_store_date_range(cw_slice_cstr(start), &r.v.date.lo, &x);
    if (end) cw_store_date_range(cw_slice_cstr(end), &x, &r.v.date.hi);
    return r;
}

static struct cw_store_index_row R_REF(const char *p, const char *type, const char *id)
{
    return (struct cw_store_index_row){.param = cw_slice_cstr(p), .type = CW_SP_REFERENCE,
                                       .v.ref = {.type = cw_slice_cstr(type), .id = cw_slice_cstr(id)}};
}

static struct cw_store_index_row R_URL(const char *p, const char *url)
{
    return (struct cw_store_index_row){.param = cw_slice_cstr(p), .type = CW_SP_REFERENCE,
                                       .v.ref = {.url = cw_slice_cstr(url)}};
}

/* A quantity row as the indexer (src/search) makes it: UCUM units the
   FHIRPath engine knows get their canonical value and dimension key. */
static struct cw_store_index_row R_QTY(const char *p, double v, const char *sys, const char *code)
{
    static char keys[16][96];
    static unsigned next;
    struct cw_store_index_row r = {
        .param = cw_slice_cstr(p), .type = CW_SP_QUANTITY,
        .v.quantity = {.value = v, .system = cw_slice_cstr(sys), .code = cw_slice_cstr(code),
                       .canon_value = v, .canon_code = cw_slice_cstr(code)}};
    char *k = keys[next++ % 16];
    double f;
    if (strcmp(sys, "http://unitsofmeasure.org") == 0 && cw_fhirpath_ucum_canonical(cw_slice_cstr(code), &f, k, 96) == 0) {
        r.v.quantity.canon_value = v * f;
        r.v.quantity.canon_code = cw_slice_cstr(k);
    }
    return r;
}

static struct cw_store_index_row R_NUM(const char *p, double v)
{
    return (struct cw_store_index_row){.param = cw_slice_cstr(p), .type = CW_SP_NUMBER,
                                       .v.number = {v}};
}

static struct cw_store_index_row R_URI(const char *p, const char *uri)
{
    return (struct cw_store_index_row){.param = cw_slice_cstr(p), .type = CW_SP_URI,
                                       .v.uri = {cw_slice_cstr(uri)}};
}

static struct cw_store_index_row COMP(struct cw_store_index_row r, uint16_t comp, uint32_t grp)
{
    r.comp = comp;
    r.group = grp;
    return r;
}

/* A parameter with comma-separated values (',' split unless escaped); prefixes
   are parsed for date, number and quantity. */
static struct cw_store_sp SP(struct fx *f, const char *code, enum cw_store_ptype type,
                             enum cw_store_modifier mod, const char *values)
{
    struct cw_store_value *v = cw_arena_zalloc(f->a, 32 * sizeof *v);
    size_t n = 0;
    cw_slice all = cw_slice_cstr(cw_arena_strndup(f->a, values, strlen(values)));
    size_t start = 0;
    for (size_t i = 0; i <= all.len; i++) {
        if (i + 1 < all.len && all.ptr[i] == '\\') {
            i++;
            continue;
        }
        if (i == all.len || all.ptr[i] == ',') {
            cw_slice one = cw_slice_sub(all, start, i - start);
            if (type == CW_SP_DATE || type == CW_SP_NUMBER || type == CW_SP_QUANTITY)
                v[n].prefix = cw_store_parse_prefix(one, &one);
            v[n++].text = one;
            start = i + 1;
        }
    }
    return (struct cw_store_sp){.kind = CW_SPK_PARAM, .code = cw_slice_cstr(code), .type = type,
                                .modifier = mod, .values = v, .nvalues = n};
}

static struct cw_store_sp *heap_sp(struct fx *f, struct cw_store_sp sp)
{
    struct cw_store_sp *p = cw_arena_alloc(f->a, sizeof *p);
    *p = sp;
    return p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Search and return the matching ids sorted and comma-joined ("" for none). */
static const char *ids_of(struct fx *f, const struct cw_store_page *pg, bool sorted, bool matches_only)
{
    size_t n = matches_only ? pg->nmatch : pg->n;
    char **v = cw_arena_alloc(f->a, (n + 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = cw_arena_strndup(f->a, pg->items[i].meta.id.ptr, pg->items[i].meta.id.len);
    if (sorted) qsort(v, n, sizeof *v, cmp_str);
    size_t len = 1;
    for (size_t i = 0; i < n; i++) len += strlen(v[i]) + 1;
    char *out = cw_arena_alloc_bytes(f->a, len);
    out[0] = '\0';
    size_t o = 0;
    for (size_t i = 0; i < n; i++) o += (size_t)snprintf(out + o, len - o, "%s%s", i ? "," : "", v[i]);
    return out;
}

static int search_rc(struct fx *f, const struct cw_store_plan *plan, struct cw_store_page *pg,
                     struct cw_err *err)
{
    struct cw_store_txn *t = begin(f, CW_STORE_READ);
    cw_err_clear(err);
    int rc = cw_store_search(f->a, t, plan, pg, err);
    commit(t);
    return rc;
}

static const char *search_sps(struct fx *f, const char *type, const struct cw_store_sp *sps, size_t n)
{
    struct cw_store_plan plan = {.type = cw_slice_cstr(type), .params = sps, .nparams = n};
    struct cw_store_page pg;
    struct cw_err err;
    if (search_rc(f, &plan, &pg, &err) < 0) fail_msg("search failed: %s (%s)", err.msg, err.location);
    return ids_of(f, &pg, true, true);
}

static const char *search1(struct fx *f, const char *type, struct cw_store_sp sp)
{
    return search_sps(f, type, &sp, 1);
}

/* ---- migrations ---- */

static void test_migrations(void **state)
{
    struct fx *f = *state;
    assert_int_equal(cw_store_schema_version(f->s), 5);
    assert_string_equal(cw_store_backend(f->s), g_backend);
    put1(f, "Patient", "p1", "{\"resourceType\":\"Patient\"}", NULL, 0);
    /* Reopening applies nothing and keeps the data. */
    cw_store_close(f->s);
    f->s = NULL;
    assert_int_equal(open_store(f, NULL), 0);
    assert_int_equal(cw_store_schema_version(f->s), 5);
    struct cw_store_txn *t = begin(f, CW_STORE_READ);
    struct cw_store_resource r;
    struct cw_err err;
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Patient"), CW_LIT("p1"), &r, &err), 0);
    commit(t);
    if (strcmp(g_backend, "sqlite") == 0) {
        /* A second process (here: a second open) is refused while one holds it. */
        struct cw_store *other;
        assert_int_equal(cw_store_open(f->url, NULL, &other, &err), -1);
        assert_int_equal(err.issue, CW_ISSUE_LOCK_ERROR);
    } else {
        /* migration 5: every value index carries rkey, so a search's driving
           parameter is an index-only scan */
        PGconn *c = PQconnectdb(f->url);
        PGresult *q = PQexec(c, "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx\\_%\\_v' "
                                "AND indexdef LIKE '%INCLUDE (rkey)'");
        assert_int_equal(PQresultStatus(q), PGRES_TUPLES_OK);
        assert_string_equal(PQgetvalue(q, 0, 0), "7");
        PQclear(q);
        PQfinish(c);
    }
}

/* Run SQL on the test database behind the store's back (test set-up only). */
static void raw_sql(struct fx *f, const char *sql)
{
    if (strcmp(g_backend, "sqlite") == 0) {
        sqlite3 *db;
        char path[300];
        snprintf(path, sizeof path, "%s/test.db", f->dir);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        char *msg = NULL;
        if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("raw sql: %s", msg);
        sqlite3_close(db);
    } else {
        PGconn *c = PQconnectdb(f->url);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) fail_msg("raw sql: %s", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
    }
}

/* A database left at schema version 1 (resources only) is upgraded in order at open. */
static void test_upgrade_from_v1(void **state)
{
    struct fx *f = *state;
    put1(f, "Patient", "old", "{\"resourceType\":\"Patient\"}", NULL, 0);
    cw_store_close(f->s);
    f->s = NULL;
    raw_sql(f, "DROP TABLE idx_string; DROP TABLE idx_token; DROP TABLE idx_date; DROP TABLE idx_reference; "
               "DROP TABLE idx_quantity; DROP TABLE idx_number; DROP TABLE idx_uri; DROP TABLE job; "
               "ALTER TABLE resource_current DROP COLUMN chash; "
               "DELETE FROM schema_version WHERE version > 1");
    assert_int_equal(open_store(f, NULL), 0);
    assert_int_equal(cw_store_schema_version(f->s), 5);
    /* the old data is there, the new tables work */
    put1(f, "Patient", "new", "{\"resourceType\":\"Patient\"}", ROWS(R_STR("name", "Upgraded")));
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "upgr")), "new");
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    struct cw_store_resource r;
    struct cw_err err;
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Patient"), CW_LIT("old"), &r, &err), 0);
    assert_int_equal(cw_store_job_enqueue(t, CW_LIT("k"), CW_LIT(""), 0, 0, NULL, &err), 0);
    commit(t);
    /* a database newer than the build is refused */
    cw_store_close(f->s);
    f->s = NULL;
    raw_sql(f, "INSERT INTO schema_version (version, applied_at) VALUES (99, 0)");
    struct cw_store *s2;
    assert_int_equal(cw_store_open(f->url, NULL, &s2, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_NOT_SUPPORTED);
    raw_sql(f, "DELETE FROM schema_version WHERE version = 99");
    assert_int_equal(open_store(f, NULL), 0);
}

static void test_open_errors(void **state)
{
    (void)state;
    struct cw_store *s;
    struct cw_err err;
    assert_int_equal(cw_store_open("mysql://x", NULL, &s, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_INVALID);
    assert_int_equal(cw_store_open("sqlite:", NULL, &s, &err), -1);
    assert_int_equal(cw_store_open("sqlite:/nonexistent-dir/x/y.db", NULL, &s, &err), -1);
    assert_int_equal(cw_store_open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", NULL, &s, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_EXCEPTION);
}

/* ---- CRUD, versions ---- */

static void test_crud_versions(void **state)
{
    struct fx *f = *state;
    struct cw_store_resource c =
        put1(f, "Patient", NULL,
             "{\"resourceType\":\"Patient\",\"active\":true,\"meta\":{\"profile\":[\"http://x/p\"],"
             "\"versionId\":\"9\"},\"name\":[{\"family\":\"Chalmers\"}]}",
             NULL, 0);
    assert_int_equal(c.meta.id.len, 36);
    assert_int_equal(c.meta.version, 1);
    /* meta filled, other meta kept, resourceType/id/meta first */
    char lu[32];
    cw_store_format_instant(c.meta.last_updated, lu);
    char *want = cw_arena_printf(f->a,
                                 "{\"resourceType\":\"Patient\",\"id\":\"%.*s\",\"meta\":{\"versionId\":\"1\","
                                 "\"lastUpdated\":\"%s\",\"profile\":[\"http://x/p\"]},\"active\":true,"
                                 "\"name\":[{\"family\":\"Chalmers\"}]}",
                                 CW_SLICE_FMT(c.meta.id), lu);
    assert_slice_equal(c.json, want);

    char *id = cw_arena_strndup(f->a, c.meta.id.ptr, c.meta.id.len);
    struct cw_store_resource u = put1(f, "Patient", id, "{\"resourceType\":\"Patient\",\"active\":false}", NULL, 0);
    assert_int_equal(u.meta.version, 2);
    assert_true(u.meta.last_updated > c.meta.last_updated);

    struct cw_store_txn *t = begin(f, CW_STORE_READ);
    struct cw_store_resource r;
    struct cw_err err;
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Patient"), c.meta.id, &r, &err), 0);
    assert_int_equal(r.meta.version, 2);
    assert_int_equal(r.meta.last_updated, u.meta.last_updated);
    assert_true(cw_slice_eq(r.json, u.json));
    assert_int_equal(cw_store_vread(f->a, t, CW_LIT("Patient"), c.meta.id, 1, &r, &err), 0);
    assert_true(cw_slice_eq(r.json, c.json));
    assert_int_equal(cw_store_vread(f->a, t, CW_LIT("Patient"), c.meta.id, 3, &r, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_NOT_FOUND);
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Patient"), CW_LIT("nope"), &r, &err), -1);
    assert_int_equal(cw_err_http_status(&err), 404);
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Observation"), c.meta.id, &r, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_NOT_FOUND);
    commit(t);

    /* Text stored exactly as given (stage + put path), numbers and order intact. */
    t = begin(f, CW_STORE_WRITE);
    struct cw_store_write w = {.op = CW_STORE_UPDATE, .type = CW_LIT("Observation"), .id = CW_LIT("o1")};
    struct cw_store_ticket tk;
    assert_int_equal(cw_store_stage(f->a, t, &w, &tk, &err), 0);
    assert_true(tk.created);
    const char *text = "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"valueQuantity\":{\"value\":1.50},\"z\":1,\"a\":2}";
    assert_int_equal(cw_store_put(t, &tk, cw_slice_cstr(text), NULL, 0, &err), 0);
    /* read-your-writes inside the transaction */
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Observation"), CW_LIT("o1"), &r, &err), 0);
    assert_slice_equal(r.json, text);
    commit(t);
}

static void test_conflicts(void **state)
{
    struct fx *f = *state;
    put1(f, "Patient", "a", "{\"resourceType\":\"Patient\"}", NULL, 0);
    put1(f, "Patient", "a", "{\"resourceType\":\"Patient\",\"active\":true}", NULL, 0);
    struct cw_err err;
    struct cw_store_ticket tk;
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    struct cw_store_write w = {.op = CW_STORE_UPDATE, .type = CW_LIT("Patient"), .id = CW_LIT("a"), .if_match = 1};
    assert_int_equal(cw_store_stage(f->a, t, &w, &tk, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_CONFLICT);
    assert_int_equal(cw_err_http_status(&err), 412);
    w.if_match = 2;
    assert_int_equal(cw_store_stage(f->a, t, &w, &tk, &err), 0);
    assert_int_equal(tk.meta.version, 3);
    assert_false(tk.created);
    assert_int_equal(cw_store_put(t, &tk, CW_LIT("{\"resourceType\":\"Patient\"}"), NULL, 0, &err), 0);
    /* a stale ticket is refused */
    assert_int_equal(cw_store_put(t, &tk, CW_LIT("{\"resourceType\":\"Patient\"}"), NULL, 0, &err), -1);
    /* no_create on an absent id */
    struct cw_store_write w2 = {.op = CW_STORE_UPDATE, .type = CW_LIT("Patient"), .id = CW_LIT("absent"), .no_create = true};
    assert_int_equal(cw_store_stage(f->a, t, &w2, &tk, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_NOT_FOUND);
    /* invalid type and id */
    struct cw_store_write w3 = {.op = CW_STORE_UPDATE, .type = CW_LIT("patient"), .id = CW_LIT("x")};
    assert_int_equal(cw_store_stage(f->a, t, &w3, &tk, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_INVALID);
    struct cw_store_write w4 = {.op = CW_STORE_UPDATE, .type = CW_LIT("Patient"), .id = CW_LIT("a/b")};
    assert_int_equal(cw_store_stage(f->a, t, &w4, &tk, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_INVALID);
    commit(t); /* logical errors do not poison the transaction */
    t = begin(f, CW_STORE_READ);
    struct cw_store_resource r;
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Patient"), CW_LIT("a"), &r, &err), 0);
    assert_int_equal(r.meta.version, 3);
    commit(t);
}

static void test_prefetch(void **state)
{
    struct fx *f = *state;
    put1(f, "Patient", "a", "{\"resourceType\":\"Patient\"}", NULL, 0);
    put1(f, "Patient", "a", "{\"resourceType\":\"Patient\",\"active\":true}", NULL, 0);
    put1(f, "Patient", "b", "{\"resourceType\":\"Patient\"}", NULL, 0);
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    struct cw_err err;
    cw_slice ids[] = {CW_LIT("a"), CW_LIT("b"), CW_LIT("c"), CW_LIT("bad/id")};
    assert_int_equal(cw_store_prefetch(t, CW_LIT("Patient"), ids, 4, &err), 0);
    struct cw_store_ticket tk;
    struct cw_store_write w = {.op = CW_STORE_UPDATE, .type = CW_LIT("Patient"), .id = CW_LIT("a"), .if_match = 2};
    assert_int_equal(cw_store_stage(f->a, t, &w, &tk, &err), 0);
    assert_int_equal(tk.meta.version, 3);
    assert_int_equal(cw_store_put(t, &tk, CW_LIT("{\"resourceType\":\"Patient\"}"), NULL, 0, &err), 0);
    w.id = CW_LIT("b");
    w.if_match = 2;
    assert_int_equal(cw_store_stage(f->a, t, &w, &tk, &err), -1);
    assert_int_equal(cw_err_http_status(&err), 412);
    w.id = CW_LIT("c");
    w.if_match = 0;
    assert_int_equal(cw_store_stage(f->a, t, &w, &tk, &err), 0);
    assert_true(tk.created);
    assert_int_equal(cw_store_put(t, &tk, CW_LIT("{\"resourceType\":\"Patient\"}"), NULL, 0, &err), 0);
    /* prefetching again keeps what the transaction wrote */
    assert_int_equal(cw_store_prefetch(t, CW_LIT("Patient"), ids, 3, &err), 0);
    w.id = CW_LIT("a");
    w.if_match = 3;
    assert_int_equal(cw_store_stage(f->a, t, &w, &tk, &err), 0);
    assert_int_equal(tk.meta.version, 4);
    commit(t);
    t = begin(f, CW_STORE_READ);
    struct cw_store_resource r;
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Patient"), CW_LIT("c"), &r, &err), 0);
    assert_int_equal(r.meta.version, 1);
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Patient"), CW_LIT("a"), &r, &err), 0);
    assert_int_equal(r.meta.version, 3); /* the second stage was never put */
    commit(t);
}

static void test_delete(void **state)
{
    struct fx *f = *state;
    put1(f, "Patient", "d", "{\"resourceType\":\"Patient\"}", ROWS(R_STR("name", "Zed")));
    struct cw_err err;
    struct cw_store_meta m;
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    assert_int_equal(cw_store_delete(f->a, t, CW_LIT("Patient"), CW_LIT("d"), 5, &m, &err), -1);
    assert_int_equal(cw_err_http_status(&err), 412);
    assert_int_equal(cw_store_delete(f->a, t, CW_LIT("Patient"), CW_LIT("d"), 1, &m, &err), 0);
    assert_int_equal(m.version, 2);
    assert_true(m.deleted);
    assert_int_equal(cw_store_delete(f->a, t, CW_LIT("Patient"), CW_LIT("d"), 0, &m, &err), 0);
    assert_int_equal(m.version, 2); /* deleting a deleted resource changes nothing */
    assert_int_equal(cw_store_delete(f->a, t, CW_LIT("Patient"), CW_LIT("none"), 0, &m, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_NOT_FOUND);
    commit(t);
    t = begin(f, CW_STORE_READ);
    struct cw_store_resource r;
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Patient"), CW_LIT("d"), &r, &err), -1);
    assert_int_equal(cw_err_http_status(&err), 410);
    assert_int_equal(r.meta.version, 2);
    assert_int_equal(cw_store_vread(f->a, t, CW_LIT("Patient"), CW_LIT("d"), 2, &r, &err), -1);
    assert_int_equal(cw_err_http_status(&err), 410);
    assert_int_equal(cw_store_vread(f->a, t, CW_LIT("Patient"), CW_LIT("d"), 1, &r, &err), 0);
    commit(t);
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "zed")), "");
    /* re-create after delete: version 3, searchable again */
    struct cw_store_resource u = put1(f, "Patient", "d", "{\"resourceType\":\"Patient\"}", ROWS(R_STR("name", "Zed")));
    assert_int_equal(u.meta.version, 3);
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "zed")), "d");
}

/* ---- history ---- */

static const char *hist_ids(struct fx *f, const struct cw_store_page *pg)
{
    struct cw_buf b;
    cw_buf_init(&b, 0);
    for (size_t i = 0; i < pg->n; i++)
        cw_buf_printf(&b, "%s%.*s@%lld%s", i ? "," : "", CW_SLICE_FMT(pg->items[i].meta.id),
                      pg->items[i].meta.version, pg->items[i].meta.deleted ? "x" : "");
    const char *s = cw_arena_strndup(f->a, b.ptr ? b.ptr : "", b.len);
    cw_buf_release(&b);
    return s;
}

static void test_history(void **state)
{
    struct fx *f = *state;
    const char *P = "{\"resourceType\":\"Patient\"}";
    /* each version other content: an equal update would be a no-op */
    const char *P2 = "{\"resourceType\":\"Patient\",\"active\":true}";
    const char *P3 = "{\"resourceType\":\"Patient\",\"active\":false}";
    put1(f, "Patient", "a", P, NULL, 0);                                      /* a@1 */
    put1(f, "Patient", "b", P, NULL, 0);                                      /* b@1 */
    int64_t mid = put1(f, "Observation", "o", "{\"resourceType\":\"Observation\"}", NULL, 0).meta.last_updated;
    put1(f, "Patient", "a", P2, NULL, 0);                                     /* a@2 */
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    struct cw_err err;
    assert_int_equal(cw_store_delete(f->a, t, CW_LIT("Patient"), CW_LIT("b"), 0, NULL, &err), 0); /* b@2 deleted */
    commit(t);
    put1(f, "Patient", "a", P3, NULL, 0);                                     /* a@3 */

    struct cw_store_page pg;
    t = begin(f, CW_STORE_READ);
    struct cw_store_history_query q = {.type = CW_LIT("Patient"), .id = CW_LIT("a")};
    assert_int_equal(cw_store_history(f->a, t, &q, &pg, &err), 0);
    assert_string_equal(hist_ids(f, &pg), "a@3,a@2,a@1");
    assert_int_equal(pg.next_cursor.len, 0);
    /* type history, newest first, 2 per page, stable while writes happen */
    q = (struct cw_store_history_query){.type = CW_LIT("Patient"), .count = 2};
    assert_int_equal(cw_store_history(f->a, t, &q, &pg, &err), 0);
    assert_string_equal(hist_ids(f, &pg), "a@3,b@2x");
    assert_true(pg.next_cursor.len > 0);
    commit(t);
    put1(f, "Patient", "c", P, NULL, 0); /* new version after page 1: must not shift page 2 */
    t = begin(f, CW_STORE_READ);
    q.cursor = pg.next_cursor;
    assert_int_equal(cw_store_history(f->a, t, &q, &pg, &err), 0);
    assert_string_equal(hist_ids(f, &pg), "a@2,b@1");
    q.cursor = pg.next_cursor;
    assert_int_equal(cw_store_history(f->a, t, &q, &pg, &err), 0);
    assert_string_equal(hist_ids(f, &pg), "a@1");
    assert_int_equal(pg.next_cursor.len, 0);
    /* system history with _since */
    q = (struct cw_store_history_query){.has_since = true, .since = mid};
    assert_int_equal(cw_store_history(f->a, t, &q, &pg, &err), 0);
    assert_string_equal(hist_ids(f, &pg), "c@1,a@3,b@2x,a@2,o@1");
    /* errors */
    q = (struct cw_store_history_query){.type = CW_LIT("Patient"), .id = CW_LIT("zz")};
    assert_int_equal(cw_store_history(f->a, t, &q, &pg, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_NOT_FOUND);
    q = (struct cw_store_history_query){.cursor = CW_LIT("h1.2")};
    assert_int_equal(cw_store_history(f->a, t, &q, &pg, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_INVALID);
    q = (struct cw_store_history_query){.cursor = CW_LIT("h1.2.3'; DROP TABLE resource; --")};
    assert_int_equal(cw_store_history(f->a, t, &q, &pg, &err), -1);
    commit(t);
}

/* ---- transactions ---- */

static void test_atomicity(void **state)
{
    struct fx *f = *state;
    put1(f, "Patient", "keep", "{\"resourceType\":\"Patient\"}", NULL, 0);
    struct cw_err err;
    /* a failing step, then rollback: nothing of the transaction stays */
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    put(f, t, "Patient", "t1", "{\"resourceType\":\"Patient\"}", ROWS(R_STR("name", "Atom")));
    put(f, t, "Patient", "keep", "{\"resourceType\":\"Patient\",\"x\":1}", NULL, 0);
    long long jid;
    assert_int_equal(cw_store_job_enqueue(t, CW_LIT("k"), CW_LIT("{}"), 0, 0, &jid, &err), 0);
    struct cw_store_write w = {.op = CW_STORE_UPDATE, .type = CW_LIT("Patient"), .id = CW_LIT("keep"), .if_match = 1};
    struct cw_store_ticket tk;
    assert_int_equal(cw_store_stage(f->a, t, &w, &tk, &err), -1); /* keep is at 2 inside t */
    cw_store_rollback(t);
    t = begin(f, CW_STORE_READ);
    struct cw_store_resource r;
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Patient"), CW_LIT("t1"), &r, &err), -1);
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Patient"), CW_LIT("keep"), &r, &err), 0);
    assert_int_equal(r.meta.version, 1);
    struct cw_store_job j;
    assert_int_equal(cw_store_job_get(f->a, t, jid, &j, &err), -1);
    commit(t);
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "atom")), "");

    /* a database-level failure poisons the transaction: commit refuses */
    t = begin(f, CW_STORE_WRITE);
    put(f, t, "Patient", "t2", "{\"resourceType\":\"Patient\"}", NULL, 0);
    struct cw_store_write w2 = {.op = CW_STORE_UPDATE, .type = CW_LIT("Patient"), .id = CW_LIT("t3")};
    assert_int_equal(cw_store_stage(f->a, t, &w2, &tk, &err), 0);
    struct cw_store_index_row bad = {.param = CW_LIT("x"), .type = CW_SP_NONE};
    assert_int_equal(cw_store_put(t, &tk, CW_LIT("{}"), &bad, 1, &err), -1);
    assert_int_equal(cw_store_commit(t, &err), -1);
    t = begin(f, CW_STORE_READ);
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Patient"), CW_LIT("t2"), &r, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_NOT_FOUND);
    commit(t);

    /* a read transaction cannot write */
    t = begin(f, CW_STORE_READ);
    assert_int_equal(cw_store_delete(f->a, t, CW_LIT("Patient"), CW_LIT("keep"), 0, NULL, &err), -1);
    commit(t);

    /* a reader does not see uncommitted writes; sees them after commit */
    t = begin(f, CW_STORE_WRITE);
    put(f, t, "Patient", "late", "{\"resourceType\":\"Patient\"}", NULL, 0);
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Patient"), CW_LIT("late"), &r, &err), 0); /* flushes */
    struct cw_store_txn *rd = begin(f, CW_STORE_READ);
    assert_int_equal(cw_store_read(f->a, rd, CW_LIT("Patient"), CW_LIT("late"), &r, &err), -1);
    commit(rd);
    commit(t);
    rd = begin(f, CW_STORE_READ);
    assert_int_equal(cw_store_read(f->a, rd, CW_LIT("Patient"), CW_LIT("late"), &r, &err), 0);
    commit(rd);
}

struct writer_arg {
    struct fx *f;
    int thread;
    int txns;
    int conflicts;
    int failures;
};

static void *writer_main(void *p)
{
    struct writer_arg *w = p;
    struct cw_arena *a = cw_arena_new(0);
    for (int i = 0; i < w->txns; i++) {
        for (int attempt = 0; attempt < 1000; attempt++) {
            struct cw_err err;
            cw_err_clear(&err);
            struct cw_store_txn *t;
            if (cw_store_begin(w->f->s, CW_STORE_WRITE, &t, &err) < 0) {
                w->failures++;
                break;
            }
            /* two new resources with index rows, and a bump of the shared counter */
            char id[32];
            snprintf(id, sizeof id, "w%d-%d", w->thread, i);
            struct cw_store_index_row rows[2] = {R_STR("name", id), R_TOK("identifier", "urn:t", id, "")};
            struct cw_store_write cw = {.op = CW_STORE_UPDATE, .type = CW_LIT("Patient"), .id = cw_slice_cstr(id)};
            struct cw_store_ticket tk;
            int rc = cw_store_stage(a, t, &cw, &tk, &err);
            if (rc == 0) rc = cw_store_put(t, &tk, CW_LIT("{\"resourceType\":\"Patient\"}"), rows, 2, &err);
            struct cw_store_resource cur;
            if (rc == 0) rc = cw_store_read(a, t, CW_LIT("Basic"), CW_LIT("counter"), &cur, &err);
            struct cw_store_write uw = {.op = CW_STORE_UPDATE, .type = CW_LIT("Basic"), .id = CW_LIT("counter"),
                                        .if_match = cur.meta.version};
            if (rc == 0) rc = cw_store_stage(a, t, &uw, &tk, &err);
            if (rc == 0) rc = cw_store_put(t, &tk, CW_LIT("{\"resourceType\":\"Basic\"}"), NULL, 0, &err);
            if (rc < 0) {
                cw_store_rollback(t);
                if (err.issue == CW_ISSUE_CONFLICT || err.issue == CW_ISSUE_TRANSIENT) {
                    w->conflicts++;
                    continue;
                }
                w->failures++;
                break;
            }
            if (cw_store_commit(t, &err) < 0) {
                if (err.issue == CW_ISSUE_CONFLICT || err.issue == CW_ISSUE_TRANSIENT) {
                    w->conflicts++;
                    continue;
                }
                w->failures++;
            }
            break;
        }
        cw_arena_reset(a);
    }
    cw_arena_destroy(a);
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    struct fx *f = *state;
    put1(f, "Basic", "counter", "{\"resourceType\":\"Basic\"}", NULL, 0);
    enum { NT = 4, NTX = 40 };
    pthread_t th[NT];
    struct writer_arg args[NT];
    for (int i = 0; i < NT; i++) {
        args[i] = (struct writer_arg){.f = f, .thread = i, .txns = NTX};
        pthread_create(&th[i], NULL, writer_main, &args[i]);
    }
    int conflicts = 0;
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
        conflicts += args[i].conflicts;
    }
    print_message("[ %s ] %d threads x %d transactions, %d conflicts retried\n", g_backend, NT, NTX, conflicts);
    struct cw_store_txn *t = begin(f, CW_STORE_READ);
    struct cw_store_resource r;
    struct cw_err err;
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Basic"), CW_LIT("counter"), &r, &err), 0);
    assert_int_equal(r.meta.version, 1 + NT * NTX); /* no lost update */
    struct cw_store_plan plan = {.type = CW_LIT("Patient"), .total = CW_TOTAL_ACCURATE, .count_set = true};
    struct cw_store_page pg;
    assert_int_equal(cw_store_search(f->a, t, &plan, &pg, &err), 0);
    assert_int_equal(pg.total, NT * NTX);
    commit(t);
    assert_string_equal(search1(f, "Patient", SP(f, "identifier", CW_SP_TOKEN, 0, "urn:t|w3-39")), "w3-39");
}

/* Group commit: a member that rolls back does not take the others with it. */
struct mixed_arg {
    struct fx *f;
    int thread;
    int ok;
};

static void *mixed_main(void *p)
{
    struct mixed_arg *m = p;
    struct cw_arena *a = cw_arena_new(0);
    for (int i = 0; i < 30; i++) {
        struct cw_err err;
        struct cw_store_txn *t;
        if (cw_store_begin(m->f->s, CW_STORE_WRITE, &t, &err) < 0) continue;
        char id[32];
        snprintf(id, sizeof id, "m%d-%d", m->thread, i);
        struct cw_store_write w = {.op = CW_STORE_UPDATE, .type = CW_LIT("Patient"), .id = cw_slice_cstr(id)};
        struct cw_store_ticket tk;
        if (cw_store_stage(a, t, &w, &tk, &err) == 0 &&
            cw_store_put(t, &tk, CW_LIT("{\"resourceType\":\"Patient\"}"), NULL, 0, &err) == 0) {
            if (i % 3 == 0) cw_store_rollback(t);
            else if (cw_store_commit(t, &err) == 0) m->ok++;
        } else {
            cw_store_rollback(t);
        }
        cw_arena_reset(a);
    }
    cw_arena_destroy(a);
    return NULL;
}

static void test_group_commit_rollback(void **state)
{
    struct fx *f = *state;
    enum { NT = 4 };
    pthread_t th[NT];
    struct mixed_arg args[NT];
    for (int i = 0; i < NT; i++) {
        args[i] = (struct mixed_arg){.f = f, .thread = i};
        pthread_create(&th[i], NULL, mixed_main, &args[i]);
    }
    int ok = 0;
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        ok += args[i].ok;
    }
    assert_int_equal(ok, NT * 20);
    struct cw_store_txn *t = begin(f, CW_STORE_READ);
    struct cw_store_plan plan = {.type = CW_LIT("Patient"), .total = CW_TOTAL_ACCURATE, .count_set = true};
    struct cw_store_page pg;
    struct cw_err err;
    assert_int_equal(cw_store_search(f->a, t, &plan, &pg, &err), 0);
    assert_int_equal(pg.total, NT * 20);
    struct cw_store_resource r;
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Patient"), CW_LIT("m2-3"), &r, &err), -1);
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Patient"), CW_LIT("m2-4"), &r, &err), 0);
    commit(t);
}

/* ---- index rows ---- */

static void test_index_replacement(void **state)
{
    struct fx *f = *state;
    put1(f, "Patient", "r", "{\"resourceType\":\"Patient\"}",
         ROWS(R_STR("name", "Alpha"), R_TOK("gender", "", "female", ""), R_DATE("birthdate", "1980")));
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "alp")), "r");
    put1(f, "Patient", "r", "{\"resourceType\":\"Patient\"}", ROWS(R_STR("name", "Beta")));
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "alp")), "");
    assert_string_equal(search1(f, "Patient", SP(f, "gender", CW_SP_TOKEN, 0, "female")), "");
    assert_string_equal(search1(f, "Patient", SP(f, "birthdate", CW_SP_DATE, 0, "1980")), "");
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "beta")), "r");
    /* two writes of one resource in one transaction keep only the last rows */
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    put(f, t, "Patient", "r", "{\"resourceType\":\"Patient\"}", ROWS(R_STR("name", "Gamma")));
    put(f, t, "Patient", "r", "{\"resourceType\":\"Patient\"}", ROWS(R_STR("name", "Delta")));
    commit(t);
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "gamma")), "");
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "delta")), "r");
    t = begin(f, CW_STORE_READ);
    struct cw_store_resource res;
    struct cw_err err;
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Patient"), CW_LIT("r"), &res, &err), 0);
    assert_int_equal(res.meta.version, 4);
    commit(t);
}

/* ---- search: parameter types ---- */

static void load_patients(struct fx *f)
{
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    const char *P = "{\"resourceType\":\"Patient\"}";
    put(f, t, "Patient", "p1", P,
        ROWS(R_STR("name", "Peter"), R_STR("name", "Chalmers"), R_STR("family", "Chalmers"),
             R_TOK("gender", "http://hl7.org/fhir/administrative-gender", "male", "Male"),
             R_TOK("identifier", "urn:oid:1.2.36.146.595.217.0.1", "12345", ""),
             R_DATE("birthdate", "1974-12-25"), R_NUM("multiple", 2),
             R_URI("profile", "http://example.org/fhir/StructureDefinition/patient")));
    put(f, t, "Patient", "p2", P,
        ROWS(R_STR("name", "Renée"), R_STR("name", "Éclair"), R_STR("family", "Éclair"),
             R_TOK("gender", "http://hl7.org/fhir/administrative-gender", "female", "Female"),
             R_TOK("identifier", "", "12345", ""), R_DATE("birthdate", "1974-12"),
             R_NUM("multiple", 1.5)));
    put(f, t, "Patient", "p3", P,
        ROWS(R_STR("name", "Petra"), R_STR("family", "Van der Berg"),
             R_TOK("gender", "http://hl7.org/fhir/administrative-gender", "female", "Female"),
             R_TOK("identifier", "urn:other", "999", ""), R_DATE("birthdate", "2001-01-01T10:30:00Z"),
             R_URI("profile", "http://example.org/fhir/StructureDefinition/patient-v2")));
    put(f, t, "Patient", "p4", P, ROWS(R_STR("name", "Anonymous")));
    commit(t);
}

static void test_search_string(void **state)
{
    struct fx *f = *state;
    load_patients(f);
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "pet")), "p1,p3");
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "PETER")), "p1");
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "renee")), "p2");   /* accents folded */
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "ÉCL")), "p2");
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "eter")), "");     /* starts-with */
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, CW_MOD_CONTAINS, "ETE")), "p1");
    assert_string_equal(search1(f, "Patient", SP(f, "family", CW_SP_STRING, CW_MOD_CONTAINS, "der b")), "p3");
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, CW_MOD_EXACT, "Peter")), "p1");
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, CW_MOD_EXACT, "peter")), "");
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, CW_MOD_EXACT, "Renée")), "p2");
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "peter,ecl")), "p1,p2"); /* OR */
    struct cw_store_sp two[2] = {SP(f, "name", CW_SP_STRING, 0, "pe"), SP(f, "family", CW_SP_STRING, 0, "van")};
    assert_string_equal(search_sps(f, "Patient", two, 2), "p3"); /* AND */
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, CW_MOD_MISSING, "false")), "p1,p2,p3,p4");
    assert_string_equal(search1(f, "Patient", SP(f, "family", CW_SP_STRING, CW_MOD_MISSING, "true")), "p4");
    assert_string_equal(search1(f, "Observation", SP(f, "name", CW_SP_STRING, 0, "pet")), ""); /* other type */
    /* empty prefix matches every resource with the parameter */
    assert_string_equal(search1(f, "Patient", SP(f, "family", CW_SP_STRING, 0, "")), "p1,p2,p3");
}

static void test_search_token(void **state)
{
    struct fx *f = *state;
    load_patients(f);
    const char *G = "http://hl7.org/fhir/administrative-gender";
    char *v = cw_arena_printf(f->a, "%s|female", G);
    assert_string_equal(search1(f, "Patient", SP(f, "gender", CW_SP_TOKEN, 0, v)), "p2,p3");
    assert_string_equal(search1(f, "Patient", SP(f, "gender", CW_SP_TOKEN, 0, "male")), "p1");
    assert_string_equal(search1(f, "Patient", SP(f, "gender", CW_SP_TOKEN, 0, "Male")), ""); /* codes are case-sensitive */
    assert_string_equal(search1(f, "Patient", SP(f, "gender", CW_SP_TOKEN, 0, "other|male")), "");
    v = cw_arena_printf(f->a, "%s|", G);
    assert_string_equal(search1(f, "Patient", SP(f, "gender", CW_SP_TOKEN, 0, v)), "p1,p2,p3");
    assert_string_equal(search1(f, "Patient", SP(f, "identifier", CW_SP_TOKEN, 0, "|12345")), "p2");
    assert_string_equal(search1(f, "Patient", SP(f, "identifier", CW_SP_TOKEN, 0, "12345")), "p1,p2");
    assert_string_equal(search1(f, "Patient", SP(f, "identifier", CW_SP_TOKEN, 0, "urn:oid:1.2.36.146.595.217.0.1|12345,999")), "p1,p3");
    assert_string_equal(search1(f, "Patient", SP(f, "gender", CW_SP_TOKEN, CW_MOD_NOT, "male")), "p2,p3,p4");
    assert_string_equal(search1(f, "Patient", SP(f, "gender", CW_SP_TOKEN, CW_MOD_NOT, "male,female")), "p4");
    assert_string_equal(search1(f, "Patient", SP(f, "gender", CW_SP_TOKEN, CW_MOD_TEXT, "fem")), "p2,p3");
    assert_string_equal(search1(f, "Patient", SP(f, "gender", CW_SP_TOKEN, CW_MOD_MISSING, "true")), "p4");
    assert_string_equal(search1(f, "Patient", SP(f, "_id", CW_SP_TOKEN, 0, "p1,p3,zz")), "p1,p3");
    assert_string_equal(search1(f, "Patient", SP(f, "_id", CW_SP_TOKEN, CW_MOD_NOT, "p1")), "p2,p3,p4");
    struct cw_store_page pg;
    struct cw_err err;
    struct cw_store_sp sp = SP(f, "code", CW_SP_TOKEN, CW_MOD_IN, "http://vs");
    struct cw_store_plan plan = {.type = CW_LIT("Patient"), .params = &sp, .nparams = 1};
    assert_int_equal(search_rc(f, &plan, &pg, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_NOT_SUPPORTED);
    assert_string_equal(err.location, "code");
}

static void test_search_date(void **state)
{
    struct fx *f = *state;
    load_patients(f);
    /* p1 1974-12-25 (a day), p2 1974-12 (a month), p3 2001-01-01T10:30:00Z (a second) */
    const struct {
        const char *q, *want;
    } cases[] = {
        {"1974", "p1,p2"},
        {"1974-12", "p1,p2"},
        {"1974-12-25", "p1"},          /* p2's month is not inside the day */
        {"eq1974-12-25", "p1"},
        {"ne1974-12-25", "p2,p3"},
        {"gt1974-12-25", "p2,p3"},     /* p2 reaches past the day */
        {"lt1974-12-25", "p2"},
        {"ge1974-12-25", "p1,p2,p3"},
        {"le1974-12-25", "p1,p2"},
        {"sa1974-12-25", "p3"},
        {"eb1974-12-25", ""},
        {"eb2001", "p1,p2"},
        {"sa1974-12", "p3"},
        {"gt2001-01-01T10:30:00Z", ""},
        {"ge2001-01-01T10:30:00Z", "p3"},
        {"2001-01-01T12:30:00+02:00", "p3"},  /* time zones */
        {"2001-01-01T10:30:00.000Z", ""},   /* the ms range does not contain the second */
        {"2001-01-01T10:30", "p3"},
        {"ap2001-01", "p3"},
        {"1974-12-25,2001", "p1,p3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = search1(f, "Patient", SP(f, "birthdate", CW_SP_DATE, 0, cases[i].q));
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("birthdate=%s: got [%s], want [%s]", cases[i].q, got, cases[i].want);
    }
    /* open periods */
    put1(f, "Encounter", "e1", "{\"resourceType\":\"Encounter\"}", ROWS(R_PERIOD("date", "2020-01-01", NULL)));
    put1(f, "Encounter", "e2", "{\"resourceType\":\"Encounter\"}", ROWS(R_PERIOD("date", NULL, "2019-06-30")));
    assert_string_equal(search1(f, "Encounter", SP(f, "date", CW_SP_DATE, 0, "gt2030")), "e1");
    assert_string_equal(search1(f, "Encounter", SP(f, "date", CW_SP_DATE, 0, "lt1900")), "e2");
    assert_string_equal(search1(f, "Encounter", SP(f, "date", CW_SP_DATE, 0, "2020")), "");
    /* _lastUpdated */
    char lu[32];
    struct cw_store_txn *t = begin(f, CW_STORE_READ);
    struct cw_store_resource r;
    struct cw_err err;
    assert_int_equal(cw_store_read(f->a, t, CW_LIT("Encounter"), CW_LIT("e2"), &r, &err), 0);
    commit(t);
    cw_store_format_instant(r.meta.last_updated, lu);
    assert_string_equal(search1(f, "Encounter", SP(f, "_lastUpdated", CW_SP_DATE, 0, cw_arena_printf(f->a, "ge%s", lu))), "e2");
    assert_string_equal(search1(f, "Encounter", SP(f, "_lastUpdated", CW_SP_DATE, 0, cw_arena_printf(f->a, "lt%s", lu))), "e1");
    assert_string_equal(search1(f, "Encounter", SP(f, "_lastUpdated", CW_SP_DATE, 0, "gt2000")), "e1,e2");
    /* bad date */
    struct cw_store_sp sp = SP(f, "birthdate", CW_SP_DATE, 0, "1974-13");
    struct cw_store_plan plan = {.type = CW_LIT("Patient"), .params = &sp, .nparams = 1};
    struct cw_store_page pg;
    assert_int_equal(search_rc(f, &plan, &pg, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_INVALID);
}

static void test_search_number_quantity(void **state)
{
    struct fx *f = *state;
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    const char *O = "{\"resourceType\":\"Observation\"}";
    put(f, t, "Observation", "q1", O, ROWS(R_QTY("value-quantity", 5.4, "http://unitsofmeasure.org", "mg"), R_NUM("n", 100)));
    put(f, t, "Observation", "q2", O, ROWS(R_QTY("value-quantity", 5.45, "http://unitsofmeasure.org", "mg"), R_NUM("n", 99.5)));
    put(f, t, "Observation", "q3", O, ROWS(R_QTY("value-quantity", 6, "http://unitsofmeasure.org", "g"), R_NUM("n", -3)));
    put(f, t, "Observation", "q4", O, ROWS(R_QTY("value-quantity", 5.4, "", "mmol"), R_NUM("n", 0.001)));
    commit(t);
    const struct {
        const char *code, *q, *want;
        enum cw_store_ptype ty;
    } cases[] = {
        {"value-quantity", "5.4|http://unitsofmeasure.org|mg", "q1", CW_SP_QUANTITY},  /* [5.35,5.45) */
        {"value-quantity", "5.4", "q1,q4", CW_SP_QUANTITY},
        {"value-quantity", "5.40", "q1,q4", CW_SP_QUANTITY},                           /* [5.395,5.405) */
        {"value-quantity", "5", "q1,q2,q4", CW_SP_QUANTITY},                           /* [4.5,5.5) */
        {"value-quantity", "5.4||mg", "q1", CW_SP_QUANTITY},
        {"value-quantity", "gt5.4|http://unitsofmeasure.org|mg", "q2,q3", CW_SP_QUANTITY},  /* q3: 6 g */
        {"value-quantity", "ge5.4", "q1,q2,q3,q4", CW_SP_QUANTITY},
        {"value-quantity", "lt5.45", "q1,q4", CW_SP_QUANTITY},
        {"value-quantity", "le5.45||mg", "q1,q2", CW_SP_QUANTITY},
        {"value-quantity", "ne5.4", "q2,q3", CW_SP_QUANTITY},
        {"value-quantity", "ap6.5", "q3", CW_SP_QUANTITY},                             /* +-0.65 */
        {"value-quantity", "ap5.9", "q1,q2,q3,q4", CW_SP_QUANTITY},                    /* +-0.59 */
        {"value-quantity", "5.4|http://unitsofmeasure.org|g", "", CW_SP_QUANTITY},
        /* UCUM system|code: compared in canonical units, precision scaled */
        {"value-quantity", "0.006|http://unitsofmeasure.org|kg", "q3", CW_SP_QUANTITY},   /* [5.5,6.5) g */
        {"value-quantity", "5400|http://unitsofmeasure.org|ug", "q1", CW_SP_QUANTITY},    /* [5.3995,5.4005) mg */
        {"value-quantity", "gt5000|http://unitsofmeasure.org|ug", "q1,q2,q3", CW_SP_QUANTITY},
        {"value-quantity", "lt1|http://unitsofmeasure.org|g", "q1,q2", CW_SP_QUANTITY},
        {"value-quantity", "5.4|http://unitsofmeasure.org|mmol", "", CW_SP_QUANTITY},   /* q4 has no system */
        {"n", "100", "q1,q2", CW_SP_NUMBER},                                           /* [99.5,100.5) */
        {"n", "100.0", "q1", CW_SP_NUMBER},
        {"n", "1e2", "q1,q2", CW_SP_NUMBER},
        {"n", "lt0", "q3", CW_SP_NUMBER},
        {"n", "gt-3", "q1,q2,q4", CW_SP_NUMBER},
        {"n", "ge-3", "q1,q2,q3,q4", CW_SP_NUMBER},
        {"n", "0.001", "q4", CW_SP_NUMBER},
        {"n", "sa99.5", "q1", CW_SP_NUMBER},
        {"n", "eb0.001", "q3", CW_SP_NUMBER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = search1(f, "Observation", SP(f, cases[i].code, cases[i].ty, 0, cases[i].q));
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s=%s: got [%s], want [%s]", cases[i].code, cases[i].q, got, cases[i].want);
    }
    struct cw_store_sp sp = SP(f, "n", CW_SP_NUMBER, 0, "abc");
    struct cw_store_plan plan = {.type = CW_LIT("Observation"), .params = &sp, .nparams = 1};
    struct cw_store_page pg;
    struct cw_err err;
    assert_int_equal(search_rc(f, &plan, &pg, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_INVALID);
}

static void test_search_reference_uri(void **state)
{
    struct fx *f = *state;
    load_patients(f);
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    const char *O = "{\"resourceType\":\"Observation\"}";
    put(f, t, "Observation", "o1", O, ROWS(R_REF("subject", "Patient", "p1"), R_URI("url", "http://acme.org/fhir/ValueSet/123")));
    put(f, t, "Observation", "o2", O, ROWS(R_REF("subject", "Group", "p1"), R_URI("url", "http://acme.org/fhir/ValueSet/123/_history/5")));
    put(f, t, "Observation", "o3", O, ROWS(R_URL("subject", "http://other.org/fhir/Patient/9"), R_URI("url", "http://acme.org/fhir")));
    struct cw_store_index_row vr = R_REF("subject", "Patient", "p2");
    vr.v.ref.version = CW_LIT("2");
    put(f, t, "Observation", "o4", O, &vr, 1);
    commit(t);
    assert_string_equal(search1(f, "Observation", SP(f, "subject", CW_SP_REFERENCE, 0, "p1")), "o1,o2");
    assert_string_equal(search1(f, "Observation", SP(f, "subject", CW_SP_REFERENCE, 0, "Patient/p1")), "o1");
    struct cw_store_sp typed = SP(f, "subject", CW_SP_REFERENCE, CW_MOD_TYPE, "p1");
    typed.target_type = CW_LIT("Group");
    assert_string_equal(search1(f, "Observation", typed), "o2");
    assert_string_equal(search1(f, "Observation", SP(f, "subject", CW_SP_REFERENCE, 0, "http://other.org/fhir/Patient/9")), "o3");
    assert_string_equal(search1(f, "Observation", SP(f, "subject", CW_SP_REFERENCE, 0, "Patient/p2")), "o4");
    assert_string_equal(search1(f, "Observation", SP(f, "subject", CW_SP_REFERENCE, 0, "Patient/p2/_history/2")), "o4");
    assert_string_equal(search1(f, "Observation", SP(f, "subject", CW_SP_REFERENCE, 0, "Patient/p2/_history/1")), "");
    assert_string_equal(search1(f, "Observation", SP(f, "url", CW_SP_URI, 0, "http://acme.org/fhir/ValueSet/123")), "o1");
    assert_string_equal(search1(f, "Observation", SP(f, "url", CW_SP_URI, 0, "http://acme.org/fhir/ValueSet/12")), "");
    assert_string_equal(search1(f, "Observation", SP(f, "url", CW_SP_URI, CW_MOD_BELOW, "http://acme.org/fhir/ValueSet")), "o1,o2");
    assert_string_equal(search1(f, "Observation", SP(f, "url", CW_SP_URI, CW_MOD_ABOVE, "http://acme.org/fhir/ValueSet/123/_history/5")), "o1,o2,o3");
    assert_string_equal(search1(f, "Patient", SP(f, "profile", CW_SP_URI, CW_MOD_BELOW, "http://example.org/fhir/StructureDefinition/patient")), "p1,p3");
}

static void test_search_composite(void **state)
{
    struct fx *f = *state;
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    const char *O = "{\"resourceType\":\"Observation\"}";
    /* blood pressure: systolic 120, diastolic 80 as two component groups */
    put(f, t, "Observation", "bp1", O,
        ROWS(COMP(R_TOK("component-code-value-quantity", "http://loinc.org", "8480-6", ""), 0, 1),
             COMP(R_QTY("component-code-value-quantity", 120, "http://unitsofmeasure.org", "mm[Hg]"), 1, 1),
             COMP(R_TOK("component-code-value-quantity", "http://loinc.org", "8462-4", ""), 0, 2),
             COMP(R_QTY("component-code-value-quantity", 80, "http://unitsofmeasure.org", "mm[Hg]"), 1, 2)));
    put(f, t, "Observation", "bp2", O,
        ROWS(COMP(R_TOK("component-code-value-quantity", "http://loinc.org", "8480-6", ""), 0, 1),
             COMP(R_QTY("component-code-value-quantity", 150, "http://unitsofmeasure.org", "mm[Hg]"), 1, 1),
             COMP(R_TOK("component-code-value-quantity", "http://loinc.org", "8462-4", ""), 0, 2),
             COMP(R_QTY("component-code-value-quantity", 95, "http://unitsofmeasure.org", "mm[Hg]"), 1, 2)));
    commit(t);
    static const enum cw_store_ptype ct[2] = {CW_SP_TOKEN, CW_SP_QUANTITY};
    struct cw_store_sp sp = SP(f, "component-code-value-quantity", CW_SP_COMPOSITE, 0, "http://loinc.org|8480-6$gt140");
    sp.comp_types = ct;
    sp.ncomp = 2;
    assert_string_equal(search1(f, "Observation", sp), "bp2");
    /* 8462-4 (diastolic) with 120 must not pair across groups */
    sp = SP(f, "component-code-value-quantity", CW_SP_COMPOSITE, 0, "http://loinc.org|8462-4$120");
    sp.comp_types = ct;
    sp.ncomp = 2;
    assert_string_equal(search1(f, "Observation", sp), "");
    sp = SP(f, "component-code-value-quantity", CW_SP_COMPOSITE, 0, "8462-4$lt90,8480-6$ge150");
    sp.comp_types = ct;
    sp.ncomp = 2;
    assert_string_equal(search1(f, "Observation", sp), "bp1,bp2");
}

static void load_graph(struct fx *f)
{
    /* Organization o1 <- Patient p1, p2 (managingOrganization); Observations -> patients;
       Encounter e1 -> p1; Observation x1 -> Encounter e1 */
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    put(f, t, "Organization", "org1", "{\"resourceType\":\"Organization\"}", ROWS(R_STR("name", "Acme Health")));
    put(f, t, "Organization", "org2", "{\"resourceType\":\"Organization\"}", ROWS(R_STR("name", "Other")));
    put(f, t, "Patient", "p1", "{\"resourceType\":\"Patient\"}",
        ROWS(R_STR("name", "Peter"), R_REF("organization", "Organization", "org1")));
    put(f, t, "Patient", "p2", "{\"resourceType\":\"Patient\"}",
        ROWS(R_STR("name", "Paula"), R_REF("organization", "Organization", "org2")));
    put(f, t, "Patient", "p3", "{\"resourceType\":\"Patient\"}", ROWS(R_STR("name", "Pete")));
    put(f, t, "Observation", "x1", "{\"resourceType\":\"Observation\"}",
        ROWS(R_REF("subject", "Patient", "p1"), R_TOK("code", "http://loinc.org", "718-7", "Hemoglobin"),
             R_REF("encounter", "Encounter", "e1")));
    put(f, t, "Observation", "x2", "{\"resourceType\":\"Observation\"}",
        ROWS(R_REF("subject", "Patient", "p2"), R_TOK("code", "http://loinc.org", "1234-5", "Other")));
    put(f, t, "Observation", "x3", "{\"resourceType\":\"Observation\"}",
        ROWS(R_REF("subject", "Patient", "p1"), R_TOK("code", "http://loinc.org", "1234-5", "Other")));
    put(f, t, "Encounter", "e1", "{\"resourceType\":\"Encounter\"}",
        ROWS(R_REF("subject", "Patient", "p1"), R_REF("service-provider", "Organization", "org1")));
    commit(t);
}

static void test_search_chain_has(void **state)
{
    struct fx *f = *state;
    load_graph(f);
    /* subject:Patient.name=peter */
    struct cw_store_sp ch = {.kind = CW_SPK_CHAIN, .code = CW_LIT("subject"), .target_type = CW_LIT("Patient"),
                             .inner = heap_sp(f, SP(f, "name", CW_SP_STRING, 0, "peter"))};
    assert_string_equal(search1(f, "Observation", ch), "x1,x3");
    /* without a target type */
    ch.target_type = CW_LIT("");
    assert_string_equal(search1(f, "Observation", ch), "x1,x3");
    /* two levels: subject:Patient.organization:Organization.name=acme */
    struct cw_store_sp inner2 = {.kind = CW_SPK_CHAIN, .code = CW_LIT("organization"),
                                 .target_type = CW_LIT("Organization"),
                                 .inner = heap_sp(f, SP(f, "name", CW_SP_STRING, 0, "acme"))};
    struct cw_store_sp ch2 = {.kind = CW_SPK_CHAIN, .code = CW_LIT("subject"), .target_type = CW_LIT("Patient"),
                              .inner = heap_sp(f, inner2)};
    assert_string_equal(search1(f, "Observation", ch2), "x1,x3");
    /* _has:Observation:subject:code=718-7 on Patient */
    struct cw_store_sp has = {.kind = CW_SPK_HAS, .has_type = CW_LIT("Observation"), .has_ref = CW_LIT("subject"),
                              .inner = heap_sp(f, SP(f, "code", CW_SP_TOKEN, 0, "http://loinc.org|718-7"))};
    assert_string_equal(search1(f, "Patient", has), "p1");
    has.inner = heap_sp(f, SP(f, "code", CW_SP_TOKEN, 0, "1234-5"));
    assert_string_equal(search1(f, "Patient", has), "p1,p2");
    /* nested: Organization with a Patient that has an Observation 718-7 */
    struct cw_store_sp has2 = {.kind = CW_SPK_HAS, .has_type = CW_LIT("Patient"), .has_ref = CW_LIT("organization"),
                               .inner = heap_sp(f, (struct cw_store_sp){.kind = CW_SPK_HAS, .has_type = CW_LIT("Observation"),
                                                                        .has_ref = CW_LIT("subject"),
                                                                        .inner = heap_sp(f, SP(f, "code", CW_SP_TOKEN, 0, "718-7"))})};
    assert_string_equal(search1(f, "Organization", has2), "org1");
    /* chain + plain param AND-ed; chain to a deleted target matches nothing */
    struct cw_store_sp both[2] = {ch, SP(f, "code", CW_SP_TOKEN, 0, "1234-5")};
    assert_string_equal(search_sps(f, "Observation", both, 2), "x3");
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    struct cw_err err;
    assert_int_equal(cw_store_delete(f->a, t, CW_LIT("Patient"), CW_LIT("p1"), 0, NULL, &err), 0);
    commit(t);
    assert_string_equal(search1(f, "Observation", ch), "");
    /* depth limit */
    struct cw_store_sp *deep = heap_sp(f, SP(f, "name", CW_SP_STRING, 0, "x"));
    for (int i = 0; i < CW_STORE_MAX_CHAIN_DEPTH + 2; i++)
        deep = heap_sp(f, (struct cw_store_sp){.kind = CW_SPK_CHAIN, .code = CW_LIT("subject"),
                                               .target_type = CW_LIT("Patient"), .inner = deep});
    struct cw_store_plan plan = {.type = CW_LIT("Observation"), .params = deep, .nparams = 1};
    struct cw_store_page pg;
    assert_int_equal(search_rc(f, &plan, &pg, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
}

static void test_search_include(void **state)
{
    struct fx *f = *state;
    load_graph(f);
    struct cw_store_sp sp = SP(f, "code", CW_SP_TOKEN, 0, "1234-5");
    struct cw_store_include inc[] = {{.source_type = CW_LIT("Observation"), .param = CW_LIT("subject"),
                                      .target_type = CW_LIT("Patient")}};
    struct cw_store_plan plan = {.type = CW_LIT("Observation"), .params = &sp, .nparams = 1,
                                 .includes = inc, .nincludes = 1};
    struct cw_store_page pg;
    struct cw_err err;
    assert_int_equal(search_rc(f, &plan, &pg, &err), 0);
    assert_int_equal(pg.nmatch, 2);
    assert_int_equal(pg.n, 4);
    assert_string_equal(ids_of(f, &pg, true, false), "p1,p2,x2,x3");
    for (size_t i = 0; i < pg.n; i++) assert_int_equal(pg.included[i], i >= pg.nmatch);
    /* _include=Observation:subject:Patient + :iterate Patient:organization */
    struct cw_store_include inc2[] = {
        {.source_type = CW_LIT("Observation"), .param = CW_LIT("subject")},
        {.source_type = CW_LIT("Patient"), .param = CW_LIT("organization"), .iterate = true},
    };
    plan.includes = inc2;
    plan.nincludes = 2;
    assert_int_equal(search_rc(f, &plan, &pg, &err), 0);
    assert_string_equal(ids_of(f, &pg, true, false), "org1,org2,p1,p2,x2,x3");
    /* without :iterate the organizations are not reached (the matches are Observations) */
    inc2[1].iterate = false;
    assert_int_equal(search_rc(f, &plan, &pg, &err), 0);
    assert_string_equal(ids_of(f, &pg, true, false), "p1,p2,x2,x3");
    /* _revinclude=Observation:subject on Patient?name=peter; and wildcard */
    struct cw_store_sp nm = SP(f, "name", CW_SP_STRING, CW_MOD_EXACT, "Peter");
    struct cw_store_include rev[] = {{.rev = true, .source_type = CW_LIT("Observation"), .param = CW_LIT("subject")}};
    struct cw_store_plan p2 = {.type = CW_LIT("Patient"), .params = &nm, .nparams = 1, .includes = rev, .nincludes = 1};
    assert_int_equal(search_rc(f, &p2, &pg, &err), 0);
    assert_string_equal(ids_of(f, &pg, true, false), "p1,x1,x3");
    struct cw_store_include rev2[] = {{.rev = true, .source_type = CW_LIT("Encounter"), .param = CW_LIT("*")},
                                      {.rev = true, .source_type = CW_LIT("Observation"), .param = CW_LIT("encounter"),
                                       .iterate = true}};
    p2.includes = rev2;
    p2.nincludes = 2;
    assert_int_equal(search_rc(f, &p2, &pg, &err), 0);
    assert_string_equal(ids_of(f, &pg, true, false), "e1,p1,x1");
    /* include limit */
    cw_store_close(f->s);
    struct cw_store_opts o = {.max_include = 1};
    assert_int_equal(open_store(f, &o), 0);
    assert_int_equal(search_rc(f, &plan, &pg, &err), 0);
    assert_int_equal(pg.n, pg.nmatch + 1);
}

static void test_search_sort_paging(void **state)
{
    struct fx *f = *state;
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    const char *P = "{\"resourceType\":\"Patient\"}";
    /* names and birthdates; s5 has no family name, s6 has two */
    put(f, t, "Patient", "s1", P, ROWS(R_STR("family", "Miller"), R_DATE("birthdate", "1990-05-01")));
    put(f, t, "Patient", "s2", P, ROWS(R_STR("family", "adams"), R_DATE("birthdate", "1985")));
    put(f, t, "Patient", "s3", P, ROWS(R_STR("family", "Zulu"), R_DATE("birthdate", "1990-05-01")));
    put(f, t, "Patient", "s4", P, ROWS(R_STR("family", "Baker"), R_DATE("birthdate", "2000-01-01")));
    put(f, t, "Patient", "s5", P, ROWS(R_DATE("birthdate", "1970")));
    put(f, t, "Patient", "s6", P, ROWS(R_STR("family", "Young"), R_STR("family", "Able")));
    commit(t);
    struct cw_store_sort by_family[] = {{.code = CW_LIT("family"), .type = CW_SP_STRING}};
    struct cw_store_plan plan = {.type = CW_LIT("Patient"), .sort = by_family, .nsort = 1};
    struct cw_store_page pg;
    struct cw_err err;
    assert_int_equal(search_rc(f, &plan, &pg, &err), 0);
    /* ascending by the lowest value (s6: able), missing last */
    assert_string_equal(ids_of(f, &pg, false, true), "s6,s2,s4,s1,s3,s5");
    by_family[0].desc = true; /* descending by the highest (s6: young) */
    assert_int_equal(search_rc(f, &plan, &pg, &err), 0);
    assert_string_equal(ids_of(f, &pg, false, true), "s3,s6,s1,s4,s2,s5");
    /* two keys: birthdate desc, then _id desc */
    struct cw_store_sort two[] = {{.code = CW_LIT("birthdate"), .type = CW_SP_DATE, .desc = true},
                                  {.code = CW_LIT("_id"), .desc = true}};
    plan.sort = two;
    plan.nsort = 2;
    assert_int_equal(search_rc(f, &plan, &pg, &err), 0);
    assert_string_equal(ids_of(f, &pg, false, true), "s4,s3,s1,s2,s5,s6");
    /* keyset paging, 2 per page, with a write between pages */
    plan.count = 2;
    plan.count_set = true;
    plan.total = CW_TOTAL_ACCURATE;
    const char *pages[] = {"s4,s3", "s1,s2", "s5,s6"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(search_rc(f, &plan, &pg, &err), 0);
        assert_string_equal(ids_of(f, &pg, false, true), pages[i]);
        assert_int_equal(pg.total, i == 0 ? 6 : 7);
        if (i < 2) assert_true(pg.next_cursor.len > 0);
        else assert_int_equal(pg.next_cursor.len, 0);
        plan.cursor = cw_arena_dup(f->a, pg.next_cursor);
        if (i == 0) put1(f, "Patient", "s0", P, ROWS(R_DATE("birthdate", "2010"))); /* sorts before the cursor */
    }
    /* offset paging */
    plan.cursor = CW_SLICE_NULL;
    plan.offset = 5;
    plan.count = 10;
    assert_int_equal(search_rc(f, &plan, &pg, &err), 0);
    assert_string_equal(ids_of(f, &pg, false, true), "s5,s6");
    /* _count=0: total only */
    plan.offset = 0;
    plan.count = 0;
    assert_int_equal(search_rc(f, &plan, &pg, &err), 0);
    assert_int_equal(pg.n, 0);
    assert_int_equal(pg.total, 7);
    /* _count above the maximum is clamped */
    cw_store_close(f->s);
    struct cw_store_opts o = {.max_page = 3};
    assert_int_equal(open_store(f, &o), 0);
    plan.count = 100;
    plan.total = CW_TOTAL_NONE;
    assert_int_equal(search_rc(f, &plan, &pg, &err), 0);
    assert_int_equal(pg.n, 3);
    assert_int_equal(pg.total, -1);
    /* default order (no _sort) pages too: walk all with count 2 */
    struct cw_store_plan all = {.type = CW_LIT("Patient"), .count = 2, .count_set = true};
    int seen = 0;
    for (int guard = 0; guard < 10; guard++) {
        assert_int_equal(search_rc(f, &all, &pg, &err), 0);
        seen += (int)pg.n;
        if (!pg.next_cursor.len) break;
        all.cursor = cw_arena_dup(f->a, pg.next_cursor);
    }
    assert_int_equal(seen, 7);
    /* number sort and a tampered cursor */
    all.cursor = CW_LIT("e10K");
    assert_int_equal(search_rc(f, &all, &pg, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_INVALID);
}

/* ---- hostile values ---- */

static void test_sql_looking_values(void **state)
{
    struct fx *f = *state;
    static const char *evil[] = {"'; DROP TABLE resource; --", "%", "_", "a\\b", "\\", "100%_x",
                                 "\"quoted\"", "x' OR '1'='1", "?", "$1", ";", "é%"};
    size_t n = sizeof evil / sizeof evil[0];
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    for (size_t i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%zu", i);
        struct cw_store_index_row rows[] = {
            R_STR("name", evil[i]), R_TOK("code", evil[i], evil[i], evil[i]), R_REF("subject", "Patient", id),
            R_URL("link", cw_arena_printf(f->a, "http://x/%s", evil[i])), R_URI("url", evil[i]),
            R_QTY("q", (double)i, evil[i], evil[i]),
        };
        put(f, t, "Basic", id, "{\"resourceType\":\"Basic\",\"note\":\"'; DROP TABLE resource; --\"}", rows, 6);
    }
    put(f, t, "Basic", "plain", "{\"resourceType\":\"Basic\"}",
        ROWS(R_STR("name", "abc"), R_TOK("code", "s", "abc", "abc"), R_URI("url", "abc")));
    commit(t);
    /* '\' and ',' '|' '$' are escape-significant in search values (search.html#escaping) */
    for (size_t i = 0; i < n; i++) {
        char want[16];
        snprintf(want, sizeof want, "e%zu", i);
        /* escape for the value syntax: \ , | $ */
        char esc[64];
        size_t o = 0;
        for (const char *p = evil[i]; *p; p++) {
            if (*p == '\\' || *p == ',' || *p == '|' || *p == '$') esc[o++] = '\\';
            esc[o++] = *p;
        }
        esc[o] = '\0';
        char *tok = cw_arena_printf(f->a, "%s|%s", esc, esc);
        const char *got;
        got = search1(f, "Basic", SP(f, "name", CW_SP_STRING, CW_MOD_EXACT, esc));
        if (strcmp(got, want) != 0) fail_msg("string:exact [%s]: got [%s]", evil[i], got);
        got = search1(f, "Basic", SP(f, "code", CW_SP_TOKEN, 0, tok));
        if (strcmp(got, want) != 0) fail_msg("token [%s]: got [%s]", evil[i], got);
        got = search1(f, "Basic", SP(f, "url", CW_SP_URI, 0, esc));
        if (strcmp(got, want) != 0) fail_msg("uri [%s]: got [%s]", evil[i], got);
        got = search1(f, "Basic", SP(f, "link", CW_SP_REFERENCE, 0, cw_arena_printf(f->a, "http://x/%s", esc)));
        if (strcmp(got, want) != 0) fail_msg("reference url [%s]: got [%s]", evil[i], got);
        got = search1(f, "Basic", SP(f, "q", CW_SP_QUANTITY, 0, cw_arena_printf(f->a, "%zu|%s|%s", i, esc, esc)));
        if (strcmp(got, want) != 0) fail_msg("quantity [%s]: got [%s]", evil[i], got);
        got = search1(f, "Basic", SP(f, "subject", CW_SP_REFERENCE, 0, cw_arena_printf(f->a, "Patient/%s", evil[i])));
        if (strcmp(got, "") != 0) fail_msg("reference id [%s]: got [%s]", evil[i], got);
        got = search1(f, "Basic", SP(f, "_id", CW_SP_TOKEN, 0, esc));
        if (strcmp(got, "") != 0) fail_msg("_id [%s]: got [%s]", evil[i], got);
    }
    /* date and number values that are not dates or numbers are refused, not run */
    for (size_t i = 0; i < n; i++) {
        struct cw_store_sp bad[3] = {SP(f, "date", CW_SP_DATE, 0, "2024"), SP(f, "n", CW_SP_NUMBER, 0, "1"),
                                     SP(f, "_lastUpdated", CW_SP_DATE, 0, "2024")};
        struct cw_store_value bv = {.text = cw_slice_cstr(evil[i])};
        for (int k = 0; k < 3; k++) {
            bad[k].values = &bv;
            struct cw_store_plan bp = {.type = CW_LIT("Basic"), .params = &bad[k], .nparams = 1};
            struct cw_store_page bpg;
            struct cw_err berr;
            assert_int_equal(search_rc(f, &bp, &bpg, &berr), -1);
            assert_int_equal(berr.issue, CW_ISSUE_INVALID);
        }
    }
    /* LIKE metacharacters are literal in :contains and in prefixes */
    assert_string_equal(search1(f, "Basic", SP(f, "name", CW_SP_STRING, CW_MOD_CONTAINS, "%")), "e1,e11,e5");
    assert_string_equal(search1(f, "Basic", SP(f, "name", CW_SP_STRING, CW_MOD_CONTAINS, "_")), "e2,e5");
    assert_string_equal(search1(f, "Basic", SP(f, "name", CW_SP_STRING, 0, "%")), "e1");
    assert_string_equal(search1(f, "Basic", SP(f, "name", CW_SP_STRING, 0, "_")), "e2");
    assert_string_equal(search1(f, "Basic", SP(f, "name", CW_SP_STRING, CW_MOD_CONTAINS, "a\\b")), "e3");
    assert_string_equal(search1(f, "Basic", SP(f, "name", CW_SP_STRING, CW_MOD_CONTAINS, "\\\\")), "e3,e4");
    assert_string_equal(search1(f, "Basic", SP(f, "url", CW_SP_URI, CW_MOD_BELOW, "%")), "e1");
    assert_string_equal(search1(f, "Basic", SP(f, "code", CW_SP_TOKEN, CW_MOD_TEXT, "'")), "e0");
    /* values never reach the SQL text: the compiled statement has only placeholders */
    struct cw_store_sp ev[3] = {SP(f, "name", CW_SP_STRING, CW_MOD_CONTAINS, "'; DROP TABLE resource; --"),
                                SP(f, "code", CW_SP_TOKEN, 0, "x' OR '1'='1|y"),
                                SP(f, "url", CW_SP_URI, CW_MOD_ABOVE, "http://a/b/'--")};
    struct cw_store_plan ep = {.type = CW_LIT("Basic"), .params = ev, .nparams = 3};
    cw_slice sql;
    size_t np;
    struct cw_err eerr;
    assert_int_equal(cw_store_explain(f->a, f->s, &ep, &sql, &np, &eerr), 0);
    assert_null(memmem(sql.ptr, sql.len, "DROP", 4));
    assert_null(memmem(sql.ptr, sql.len, "1'='1", 5));
    assert_null(memmem(sql.ptr, sql.len, "http", 4));
    size_t marks = 0;
    for (size_t i = 0; i < sql.len; i++) marks += sql.ptr[i] == '?';
    assert_int_equal(marks, np);
    assert_true(np >= 10);
    /* the tables are all still there */
    assert_string_equal(search1(f, "Basic", SP(f, "name", CW_SP_STRING, 0, "abc")), "plain");
    /* a NUL byte in a value is refused, not truncated */
    struct cw_store_value nulv = {.text = {"a\0b", 3}};
    struct cw_store_sp sp = {.code = CW_LIT("name"), .type = CW_SP_STRING, .values = &nulv, .nvalues = 1};
    struct cw_store_plan plan = {.type = CW_LIT("Basic"), .params = &sp, .nparams = 1};
    struct cw_store_page pg;
    struct cw_err err;
    assert_int_equal(search_rc(f, &plan, &pg, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_INVALID);
    /* hostile resource types and parameter codes */
    struct cw_store_plan bad = {.type = CW_LIT("Basic; DROP TABLE x")};
    assert_int_equal(search_rc(f, &bad, &pg, &err), -1);
    sp = SP(f, "name'; --", CW_SP_STRING, 0, "x");
    plan.params = &sp;
    assert_int_equal(search_rc(f, &plan, &pg, &err), 0);
    assert_int_equal(pg.n, 0);
}

/* ---- jobs ---- */

struct claim_arg {
    struct fx *f;
    char worker[16];
    long long got[64];
    int n;
};

static void *claimer(void *p)
{
    struct claim_arg *c = p;
    struct cw_arena *a = cw_arena_new(0);
    for (int round = 0; round < 40; round++) {
        struct cw_err err;
        struct cw_store_txn *t;
        if (cw_store_begin(c->f->s, CW_STORE_WRITE, &t, &err) < 0) continue;
        struct cw_store_job *jobs;
        size_t n;
        if (cw_store_job_claim(a, t, CW_LIT("deliver"), cw_slice_cstr(c->worker), 60000000, 2, &jobs, &n, &err) < 0) {
            cw_store_rollback(t);
            continue;
        }
        if (cw_store_commit(t, &err) < 0) continue;
        for (size_t i = 0; i < n && c->n < 64; i++) c->got[c->n++] = jobs[i].id;
        cw_arena_reset(a);
        if (n == 0) break;
    }
    cw_arena_destroy(a);
    return NULL;
}

static void test_jobs(void **state)
{
    struct fx *f = *state;
    struct cw_err err;
    int64_t now = cw_store_now();
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    long long j1, j2, j3;
    assert_int_equal(cw_store_job_enqueue(t, CW_LIT("export"), CW_LIT("{\"a\":1}"), now - 10, 2, &j1, &err), 0);
    assert_int_equal(cw_store_job_enqueue(t, CW_LIT("export"), CW_LIT("{\"a\":2}"), now - 20, 0, &j2, &err), 0);
    assert_int_equal(cw_store_job_enqueue(t, CW_LIT("export"), CW_LIT("later"), now + 3600000000LL, 0, &j3, &err), 0);
    commit(t);
    struct cw_store_job *jobs;
    size_t n;
    t = begin(f, CW_STORE_WRITE);
    assert_int_equal(cw_store_job_claim(f->a, t, CW_LIT("export"), CW_LIT("w1"), 60000000, 10, &jobs, &n, &err), 0);
    commit(t);
    assert_int_equal(n, 2);
    assert_int_equal(jobs[0].id, j2); /* oldest run_after first */
    assert_int_equal(jobs[1].id, j1);
    assert_int_equal(jobs[0].state, CW_JOB_RUNNING);
    assert_int_equal(jobs[0].attempts, 1);
    assert_slice_equal(jobs[1].payload, "{\"a\":1}");
    assert_slice_equal(jobs[1].locked_by, "w1");
    t = begin(f, CW_STORE_WRITE);
    assert_int_equal(cw_store_job_claim(f->a, t, CW_LIT("export"), CW_LIT("w2"), 60000000, 10, &jobs, &n, &err), 0);
    assert_int_equal(n, 0); /* leased */
    assert_int_equal(cw_store_job_complete(t, j2, CW_LIT("w2"), &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_CONFLICT);
    commit(t);
    t = begin(f, CW_STORE_WRITE);
    assert_int_equal(cw_store_job_complete(t, j2, CW_LIT("w1"), &err), 0);
    assert_int_equal(cw_store_job_fail(t, j1, CW_LIT("w1"), now - 1, CW_LIT("http-503"), &err), 0);
    commit(t);
    struct cw_store_job j;
    t = begin(f, CW_STORE_READ);
    assert_int_equal(cw_store_job_get(f->a, t, j2, &j, &err), 0);
    assert_int_equal(j.state, CW_JOB_DONE);
    assert_int_equal(cw_store_job_get(f->a, t, j1, &j, &err), 0);
    assert_int_equal(j.state, CW_JOB_READY);
    assert_slice_equal(j.last_error, "http-503");
    commit(t);
    /* second attempt fails too: max_attempts 2 -> FAILED */
    t = begin(f, CW_STORE_WRITE);
    assert_int_equal(cw_store_job_claim(f->a, t, CW_LIT("export"), CW_LIT("w1"), 60000000, 10, &jobs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(jobs[0].attempts, 2);
    assert_int_equal(cw_store_job_fail(t, j1, CW_LIT("w1"), now, CW_LIT("http-503"), &err), 0);
    assert_int_equal(cw_store_job_get(f->a, t, j1, &j, &err), 0);
    assert_int_equal(j.state, CW_JOB_FAILED);
    commit(t);
    /* an expired lease is claimed again */
    t = begin(f, CW_STORE_WRITE);
    long long j4;
    assert_int_equal(cw_store_job_enqueue(t, CW_LIT("sweep"), CW_LIT(""), 0, 0, &j4, &err), 0);
    assert_int_equal(cw_store_job_claim(f->a, t, CW_LIT("sweep"), CW_LIT("dead"), -1, 1, &jobs, &n, &err), 0);
    assert_int_equal(n, 1);
    commit(t);
    t = begin(f, CW_STORE_WRITE);
    assert_int_equal(cw_store_job_claim(f->a, t, CW_LIT("sweep"), CW_LIT("alive"), 60000000, 1, &jobs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(jobs[0].id, j4);
    assert_int_equal(jobs[0].attempts, 2);
    assert_int_equal(cw_store_job_complete(t, j4, CW_LIT("dead"), &err), -1);
    commit(t);
    /* concurrent claimers get disjoint jobs */
    t = begin(f, CW_STORE_WRITE);
    for (int i = 0; i < 40; i++)
        assert_int_equal(cw_store_job_enqueue(t, CW_LIT("deliver"), CW_LIT("x"), 0, 0, NULL, &err), 0);
    commit(t);
    enum { NC = 4 };
    pthread_t th[NC];
    struct claim_arg args[NC];
    for (int i = 0; i < NC; i++) {
        memset(&args[i], 0, sizeof args[i]);
        args[i].f = f;
        snprintf(args[i].worker, sizeof args[i].worker, "node%d", i);
        pthread_create(&th[i], NULL, claimer, &args[i]);
    }
    long long all[256];
    int total = 0;
    for (int i = 0; i < NC; i++) {
        pthread_join(th[i], NULL);
        for (int k = 0; k < args[i].n; k++) all[total++] = args[i].got[k];
    }
    assert_int_equal(total, 40);
    for (int a = 0; a < total; a++)
        for (int b = a + 1; b < total; b++) assert_true(all[a] != all[b]);
}

/* ---- no-op updates ---- */

/* How many versions Type/id has (instance history). */
static size_t n_versions(struct fx *f, const char *type, const char *id)
{
    struct cw_store_txn *t = begin(f, CW_STORE_READ);
    struct cw_store_history_query q = {.type = cw_slice_cstr(type), .id = cw_slice_cstr(id), .count = 100};
    struct cw_store_page pg;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_store_history(f->a, t, &q, &pg, &err) < 0) fail_msg("history: %s", err.msg);
    commit(t);
    return pg.n;
}

#define NOOP_A "{\"resourceType\":\"Patient\",\"id\":\"n1\",\"name\":[{\"family\":\"Noop\"}]}"
#define NOOP_B "{\"resourceType\":\"Patient\",\"id\":\"n1\",\"name\":[{\"family\":\"Other\"}]}"

/* An update whose content equals the current version writes nothing
   (cw_store_put): same version, same last-updated, no history entry, the
   index rows stay. Anything else -- other content, a tag, a deletion in
   between -- makes a version. */
static void test_noop_updates(void **state)
{
    struct fx *f = *state;
    struct cw_store_resource v1 = put1(f, "Patient", "n1", NOOP_A, ROWS(R_STR("name", "Noop")));
    assert_int_equal(v1.meta.version, 1);
    struct cw_store_resource again = put1(f, "Patient", "n1", NOOP_A, ROWS(R_STR("name", "Noop")));
    assert_int_equal(again.meta.version, 1);
    assert_true(again.meta.last_updated == v1.meta.last_updated);
    /* the answer is the stored text, meta included */
    assert_true(cw_slice_eq(again.json, v1.json));
    assert_int_equal(n_versions(f, "Patient", "n1"), 1);
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "noop")), "n1");

    /* a client sending back what it read (meta.versionId, lastUpdated) is unchanged too */
    char echoed[256];
    snprintf(echoed, sizeof echoed,
             "{\"resourceType\":\"Patient\",\"id\":\"n1\",\"meta\":{\"versionId\":\"1\","
             "\"lastUpdated\":\"2020-01-01T00:00:00Z\"},\"name\":[{\"family\":\"Noop\"}]}");
    assert_int_equal(put1(f, "Patient", "n1", echoed, ROWS(R_STR("name", "Noop"))).meta.version, 1);

    /* other content, then back: two versions */
    assert_int_equal(put1(f, "Patient", "n1", NOOP_B, ROWS(R_STR("name", "Other"))).meta.version, 2);
    assert_int_equal(put1(f, "Patient", "n1", NOOP_A, ROWS(R_STR("name", "Noop"))).meta.version, 3);
    /* meta other than versionId/lastUpdated is content */
    const char *tagged = "{\"resourceType\":\"Patient\",\"id\":\"n1\",\"meta\":{\"tag\":[{\"code\":\"t\"}]},"
                         "\"name\":[{\"family\":\"Noop\"}]}";
    assert_int_equal(put1(f, "Patient", "n1", tagged, ROWS(R_STR("name", "Noop"))).meta.version, 4);
    assert_int_equal(put1(f, "Patient", "n1", tagged, ROWS(R_STR("name", "Noop"))).meta.version, 4);

    /* after a deletion the same content is a new live version */
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(cw_store_delete(f->a, t, CW_LIT("Patient"), CW_LIT("n1"), 0, NULL, &err), 0);
    commit(t);
    assert_int_equal(put1(f, "Patient", "n1", tagged, ROWS(R_STR("name", "Noop"))).meta.version, 6);
    assert_string_equal(search1(f, "Patient", SP(f, "name", CW_SP_STRING, 0, "noop")), "n1");

    /* twice in one transaction: the second compares with the first */
    t = begin(f, CW_STORE_WRITE);
    assert_int_equal(put(f, t, "Patient", "n1", NOOP_B, ROWS(R_STR("name", "Other"))).meta.version, 7);
    assert_int_equal(put(f, t, "Patient", "n1", NOOP_B, ROWS(R_STR("name", "Other"))).meta.version, 7);
    commit(t);
    /* the hash stored by that transaction is found by the next one */
    assert_int_equal(put1(f, "Patient", "n1", NOOP_B, ROWS(R_STR("name", "Other"))).meta.version, 7);
    assert_int_equal(n_versions(f, "Patient", "n1"), 7);

    /* equal text but other index rows (changed search parameters) is a version */
    assert_int_equal(put1(f, "Patient", "n1", NOOP_B, ROWS(R_STR("name", "Other"), R_STR("phonetic", "OTR"))).meta.version, 8);
    assert_int_equal(put1(f, "Patient", "n1", NOOP_B, ROWS(R_STR("name", "Other"))).meta.version, 9);
    assert_int_equal(n_versions(f, "Patient", "n1"), 9);

    /* the ticket says so */
    t = begin(f, CW_STORE_WRITE);
    struct cw_store_write w = {.op = CW_STORE_UPDATE, .type = CW_LIT("Patient"), .id = CW_LIT("n1")};
    struct cw_store_ticket tk;
    assert_int_equal(cw_store_stage(f->a, t, &w, &tk, &err), 0);
    assert_int_equal(tk.meta.version, 10);
    struct cw_json *res = parse(f, NOOP_B);
    assert_int_equal(cw_store_meta_fill(f->a, res, &tk.meta, &err), 0);
    struct cw_buf b;
    cw_buf_init(&b, 1 << 16);
    assert_int_equal(cw_json_write(&b, res, 0), 0);
    assert_int_equal(cw_store_put(t, &tk, cw_buf_slice(&b), ROWS(R_STR("name", "Other")), &err), 0);
    cw_buf_release(&b);
    assert_true(tk.unchanged);
    assert_false(tk.created);
    assert_int_equal(tk.meta.version, 9);
    commit(t);

    /* opts.version_unchanged: every update is a version */
    cw_store_close(f->s);
    f->s = NULL;
    struct cw_store_opts o = {.version_unchanged = true};
    assert_int_equal(open_store(f, &o), 0);
    assert_int_equal(put1(f, "Patient", "n1", NOOP_B, ROWS(R_STR("name", "Other"))).meta.version, 10);
    assert_int_equal(put1(f, "Patient", "n1", NOOP_B, ROWS(R_STR("name", "Other"))).meta.version, 11);
}

/* ---- limits ---- */

static void test_limits(void **state)
{
    struct fx *f = *state;
    cw_store_close(f->s);
    struct cw_store_opts o = {.max_resource = 100, .max_index_rows = 2};
    assert_int_equal(open_store(f, &o), 0);
    struct cw_err err;
    struct cw_store_txn *t = begin(f, CW_STORE_WRITE);
    struct cw_store_write w = {.op = CW_STORE_UPDATE, .type = CW_LIT("Patient"), .id = CW_LIT("big")};
    struct cw_store_ticket tk;
    assert_int_equal(cw_store_stage(f->a, t, &w, &tk, &err), 0);
    char big[200];
    memset(big, ' ', sizeof big);
    big[0] = '{';
    big[199] = '}';
    assert_int_equal(cw_store_put(t, &tk, cw_slice_make(big, 200), NULL, 0, &err), -1);
    assert_int_equal(cw_err_http_status(&err), 413);
    struct cw_store_index_row rows[3] = {R_STR("a", "x"), R_STR("b", "y"), R_STR("c", "z")};
    assert_int_equal(cw_store_put(t, &tk, CW_LIT("{}"), rows, 3, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
    assert_int_equal(cw_store_put(t, &tk, CW_LIT("{}"), rows, 2, &err), 0);
    commit(t);
    /* a NUL byte in an index value is refused on both backends (PG text cannot hold it) */
    t = begin(f, CW_STORE_WRITE);
    assert_int_equal(cw_store_stage(f->a, t, &w, &tk, &err), 0);
    struct cw_store_index_row nul = {.param = CW_LIT("name"), .type = CW_SP_STRING, .v.string = {.exact = {"a\0b", 3}}};
    assert_int_equal(cw_store_put(t, &tk, CW_LIT("{}"), &nul, 1, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_INVALID);
    cw_store_rollback(t);
}

/* Waiting is bounded: a second writer gives up (SQLite: the writer is busy; PG: the row lock,
   lock_timeout = statement_timeout) with a transient error instead of hanging. */
static void test_timeouts(void **state)
{
    struct fx *f = *state;
    put1(f, "Patient", "x", "{\"resourceType\":\"Patient\"}", NULL, 0);
    cw_store_close(f->s);
    struct cw_store_opts o = {.statement_timeout_ms = 300, .wait_ms = 300};
    assert_int_equal(open_store(f, &o), 0);
    struct cw_store_txn *t1 = begin(f, CW_STORE_WRITE);
    struct cw_store_write w = {.op = CW_STORE_UPDATE, .type = CW_LIT("Patient"), .id = CW_LIT("x")};
    struct cw_store_ticket tk;
    struct cw_err err;
    assert_int_equal(cw_store_stage(f->a, t1, &w, &tk, &err), 0);
    double t0 = (double)cw_store_now();
    struct cw_store_txn *t2;
    int rc = cw_store_begin(f->s, CW_STORE_WRITE, &t2, &err);
    if (rc == 0) {
        rc = cw_store_stage(f->a, t2, &w, &tk, &err);
        cw_store_rollback(t2);
    }
    double waited = ((double)cw_store_now() - t0) / 1e6;
    assert_int_equal(rc, -1);
    assert_true(err.issue == CW_ISSUE_TRANSIENT || err.issue == CW_ISSUE_TIMEOUT);
    assert_true(waited >= 0.25 && waited < 10);
    cw_store_rollback(t1);
    /* and the store works afterwards */
    put1(f, "Patient", "x", "{\"resourceType\":\"Patient\"}", NULL, 0);
}

/* ---- main ---- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static const struct CMUnitTest tests[] = {
    T(test_migrations),
    T(test_upgrade_from_v1),
    cmocka_unit_test(test_open_errors),
    T(test_crud_versions),
    T(test_conflicts),
    T(test_prefetch),
    T(test_delete),
    T(test_history),
    T(test_atomicity),
    T(test_concurrent_writers),
    T(test_group_commit_rollback),
    T(test_index_replacement),
    T(test_noop_updates),
    T(test_search_string),
    T(test_search_token),
    T(test_search_date),
    T(test_search_number_quantity),
    T(test_search_reference_uri),
    T(test_search_composite),
    T(test_search_chain_has),
    T(test_search_include),
    T(test_search_sort_paging),
    T(test_sql_looking_values),
    T(test_jobs),
    T(test_limits),
    T(test_timeouts),
};

int main(void)
{
    int failed = 0;
    cw_log_threshold = CW_LOG_WARN;
    g_backend = "sqlite";
    failed += cmocka_run_group_tests_name("store conformance: sqlite", tests, NULL, NULL);
    const char *pg = getenv("CW_TEST_PG");
    if (pg && *pg) {
        g_backend = "postgres";
        failed += cmocka_run_group_tests_name("store conformance: postgres", tests, NULL, NULL);
    } else {
        printf("SKIPPED: store conformance on PostgreSQL: CW_TEST_PG is not set "
               "(scripts/pg-test-cluster.sh run ... sets it; `make test` does this when PostgreSQL is installed)\n");
    }
    return failed ? 1 : 0;
}
