/*
 * ingest_v2.c — the server's HL7 v2 ingest processor: journaled message ->
 * parse (lenient) -> convert (src/convert) -> FHIR transaction applied to
 * the store through the REST service's transaction code -> commit.
 *
 * Called by the ingest pipeline (src/ingest/pipeline.h) with a batch of
 * messages of the same senders, in journal order. Group commit: the
 * bundles of every message that converted are applied in ONE store
 * transaction; when that transaction fails (one bundle refused by
 * validation, a conflict), it is rolled back and each message is applied
 * again in a transaction of its own, so one bad message never fails its
 * neighbours and order is kept. The ACK (pipeline completion) is sent only
 * after the commit that holds the message.
 *
 * Ownership: Patient, Encounter and the other resources an ADT feed
 * maintains are updated only by ADT messages; other messages create them
 * when missing and leave them alone otherwise (owned_by below). An ADT
 * message older (MSH-7) than the one that wrote the current version does
 * not overwrite it, and a merge (A40) retires the prior patient without
 * erasing its demographics (reconcile below).
 *
 * Idempotent: the converter derives every resource id from the sender and
 * the business identifiers and writes PUT entries, so a resent or replayed
 * message (crash recovery, `causeway messages reprocess`) updates the same
 * resources instead of duplicating them.
 *
 * Errors set on an item (they become the ERR segment of an AE/AR): the
 * parser's code and location, the converter's (101 no PID, 200/201 type
 * not mapped under strict typing, 207 limits), or 207 with the store's
 * reason (no field values) when the transaction was refused.
 *
 * Owns: struct cw_ingest_v2 (borrowed rest service). Thread-safe: each
 * call uses its own arena; the store and REST service are thread-safe.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/datetime.h"
#include "base/log.h"
#include "convert/convert.h"
#include "hl7v2/hl7v2.h"
#include "ingest/journal.h"
#include "ingest/pipeline.h"
#include "server/server_int.h"
#include "server/rest_int.h"

/* Arena ceiling for one batch of messages (parse trees, bundles, index rows). */
#define BATCH_ARENA_MAX ((size_t)1 << 30)

struct cw_ingest_v2 {
    struct cw_rest *rest;
    struct cw_store *store;
};

int cw_ingest_v2_new(struct cw_rest *rest, struct cw_ingest_v2 **out, struct cw_err *err)
{
    *out = NULL;
    struct cw_ingest_v2 *g = calloc(1, sizeof *g);
    if (!g) return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    g->rest = rest;
    g->store = rest->store;
    *out = g;
    return 0;
}

void cw_ingest_v2_free(struct cw_ingest_v2 *g)
{
    free(g);
}

static cw_slice no_header(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return CW_SLICE_NULL;
}

/*
 * Which messages own a resource's content. A resource type listed here is
 * written (created or updated) only by messages whose MSH-9.1 is the
 * owner; any other message creates it when it does not exist yet and
 * otherwise leaves it alone. So the short PID of a lab result (ORU) never
 * overwrites the demographics an ADT feed maintains, while a result for a
 * patient the ADT feed has not announced still finds its subject.
 * Resource types not listed are owned by every message that makes them
 * (a corrected ORU updates its Observations).
 */
static const struct {
    const char *type;
    const char *owner; /* MSH-9.1 */
} owned_by[] = {
    {"Patient", "ADT"},  {"Encounter", "ADT"}, {"RelatedPerson", "ADT"},
    {"Coverage", "ADT"}, {"Account", "ADT"},   {"EpisodeOfCare", "ADT"},
};

static const char *owner_of(cw_slice type)
{
    for (size_t i = 0; i < sizeof owned_by / sizeof owned_by[0]; i++)
        if (cw_slice_eq_cstr(type, owned_by[i].type)) return owned_by[i].owner;
    return NULL;
}

/* The message time (MSH-7) each version of an ADT-owned resource was written
   from: the processor's out-of-order guard (docs/internals/ingest.md). */
#define EXT_MESSAGE_TIME "https://causeway.dev/fhir/StructureDefinition/v2-message-time"

/* Counters of one reconcile pass (logged, no values). */
struct reconcile_stats {
    long stale;  /* entries dropped: the store holds a version of a newer message */
    long merged; /* retired (A40) patients written over their current content */
};

/* An array member of obj, created empty when absent; NULL when the arena refuses
   or the member is not an array. */
static struct cw_json *array_member(struct cw_arena *a, struct cw_json *obj, const char *key)
{
    struct cw_json *v = (struct cw_json *)cw_json_get(obj, key);
    if (v) return cw_json_is(v, CW_JSON_ARRAY) ? v : NULL;
    return cw_json_set(a, obj, cw_slice_cstr(key), cw_json_array());
}

/* Append item to arr unless an equal item is there already (0, or -1 on arena refusal). */
static int append_unique(struct cw_arena *a, struct cw_json *arr, const struct cw_json *item)
{
    for (uint32_t i = 0; i < arr->len; i++)
        if (cw_json_equal(&arr->u.items[i], item)) return 0;
    return cw_json_append(a, arr, *item) ? 0 : -1;
}

/* The message time recorded in a resource's meta (0 with *out, -1 when none). */
static int recorded_time(const struct cw_json *res, struct cw_dt *out)
{
    const struct cw_json *ext = cw_json_get(cw_json_get(res, "meta"), "extension");
    for (uint32_t i = 0; cw_json_is(ext, CW_JSON_ARRAY) && i < ext->len; i++) {
        const struct cw_json *x = &ext->u.items[i];
        if (!cw_slice_eq_cstr(cw_json_text(cw_json_get(x, "url")), EXT_MESSAGE_TIME)) continue;
        struct cw_err e;
        return cw_dt_parse(cw_json_text(cw_json_get(x, "valueDateTime")), CW_DT_DATETIME,
                           CW_DT_LENIENT, out, &e);
    }
    return -1;
}

/* Record the message time in res.meta.extension (replacing an earlier one). */
static int stamp_time(struct cw_arena *a, struct cw_json *res, cw_slice when)
{
    struct cw_json *meta = (struct cw_json *)cw_json_get(res, "meta");
    if (!meta) meta = cw_json_set(a, res, CW_LIT("meta"), cw_json_object());
    if (!cw_json_is(meta, CW_JSON_OBJECT)) return -1;
    struct cw_json *ext = array_member(a, meta, "extension");
    if (!ext) return -1;
    uint32_t keep = 0;
    for (uint32_t i = 0; i < ext->len; i++)
        if (!cw_slice_eq_cstr(cw_json_text(cw_json_get(&ext->u.items[i], "url")),
                              EXT_MESSAGE_TIME))
            ext->u.items[keep++] = ext->u.items[i];
    ext->len = keep;
    struct cw_json x = cw_json_object();
    if (!cw_json_set(a, &x, CW_LIT("url"), cw_json_string(CW_LIT(EXT_MESSAGE_TIME))) ||
        !cw_json_set(a, &x, CW_LIT("valueDateTime"), cw_json_string(when)))
        return -1;
    return cw_json_append(a, ext, x) ? 0 : -1;
}

/* A Patient retired by a merge: active false and a replaced-by link. */
static bool is_retired(const struct cw_json *res)
{
    const struct cw_json *act = cw_json_get(res, "active");
    if (!act || act->type != CW_JSON_FALSE) return false;
    const struct cw_json *links = cw_json_get(res, "link");
    for (uint32_t i = 0; cw_json_is(links, CW_JSON_ARRAY) && i < links->len; i++)
        if (cw_slice_eq_cstr(cw_json_text(cw_json_get(&links->u.items[i], "type")),
                             "replaced-by"))
            return true;
    return false;
}

/*
 * What an ADT update of an existing Patient writes. A merge (A40) retires
 * the prior patient: MRG carries only identifiers, so the new version is
 * the current one with active=false, the merge's identifiers added and its
 * replaced-by link replacing any earlier one. Any other ADT update writes
 * its PID content but keeps the links earlier merges made (PID carries
 * none). *res is replaced in place.
 */
static int merge_patient(struct cw_arena *a, struct cw_json *res, struct cw_json *cur)
{
    if (is_retired(res)) {
        if (!cw_json_set(a, cur, CW_LIT("active"), cw_json_bool(false))) return -1;
        const struct cw_json *ids = cw_json_get(res, "identifier");
        struct cw_json *to = ids ? array_member(a, cur, "identifier") : NULL;
        for (uint32_t i = 0; ids && i < ids->len; i++)
            if (!to || append_unique(a, to, &ids->u.items[i]) < 0) return -1;
        struct cw_json *links = array_member(a, cur, "link");
        if (!links) return -1;
        uint32_t keep = 0;
        for (uint32_t i = 0; i < links->len; i++)
            if (!cw_slice_eq_cstr(cw_json_text(cw_json_get(&links->u.items[i], "type")),
                                  "replaced-by"))
                links->u.items[keep++] = links->u.items[i];
        links->len = keep;
        const struct cw_json *mine = cw_json_get(res, "link");
        for (uint32_t i = 0; i < mine->len; i++)
            if (append_unique(a, links, &mine->u.items[i]) < 0) return -1;
        *res = *cur;
        return 0;
    }
    const struct cw_json *old = cw_json_get(cur, "link");
    if (!cw_json_is(old, CW_JSON_ARRAY) || old->len == 0) return 0;
    struct cw_json *links = array_member(a, res, "link");
    if (!links) return -1;
    for (uint32_t i = 0; i < old->len; i++)
        if (append_unique(a, links, &old->u.items[i]) < 0) return -1;
    return 0;
}

/*
 * Apply the ownership and ordering rules to a message's bundle before it
 * goes to the store (entries are removed or rewritten in place). For each
 * PUT of a resource type with an owner (owned_by) that already exists in t:
 *   - a message that is not the owner leaves it alone (entry dropped);
 *   - an owner message older (MSH-7, Bundle.timestamp) than the one that
 *     wrote the current version does not overwrite it (entry dropped: a
 *     reprocessed or late A08 never undoes a newer one); same time applies
 *     (a resend is idempotent);
 *   - Patients are merged as merge_patient says.
 * Every owned resource written carries its message time in
 * meta.extension (EXT_MESSAGE_TIME). Messages without a readable MSH-7
 * are applied in arrival order, unguarded.
 */
static int reconcile(struct cw_arena *a, struct cw_store_txn *t, struct cw_json *bundle,
                     cw_slice msg_type, struct reconcile_stats *st, struct cw_err *err)
{
    struct cw_json *entries = (struct cw_json *)cw_json_get(bundle, "entry");
    if (!cw_json_is(entries, CW_JSON_ARRAY)) return 0;
    cw_slice when = cw_json_text(cw_json_get(bundle, "timestamp"));
    struct cw_dt msg_time;
    struct cw_err pe;
    bool timed = when.len && cw_dt_parse(when, CW_DT_DATETIME, CW_DT_LENIENT, &msg_time, &pe) == 0;
    uint32_t keep = 0;
    for (uint32_t i = 0; i < entries->len; i++) {
        struct cw_json *e = &entries->u.items[i];
        const struct cw_json *req = cw_json_get(e, "request");
        struct cw_json *res = (struct cw_json *)cw_json_get(e, "resource");
        cw_slice url = cw_json_text(cw_json_get(req, "url"));
        long slash = cw_slice_index(url, '/');
        const char *owner = NULL;
        if (slash > 0 && cw_json_is(res, CW_JSON_OBJECT) &&
            cw_slice_eq_cstr(cw_json_text(cw_json_get(req, "method")), "PUT"))
            owner = owner_of(cw_slice_sub(url, 0, (size_t)slash));
        if (!owner) {
            entries->u.items[keep++] = *e;
            continue;
        }
        cw_slice type = cw_slice_sub(url, 0, (size_t)slash);
        struct cw_store_resource cur;
        struct cw_err re;
        cw_err_clear(&re);
        bool exists = cw_store_read(a, t, type, cw_slice_sub(url, (size_t)slash + 1, url.len),
                                    &cur, &re) == 0;
        if (!exists && re.issue != CW_ISSUE_NOT_FOUND && re.issue != CW_ISSUE_DELETED) {
            *err = re;
            return -1;
        }
        if (exists && !cw_slice_eq_cstr(msg_type, owner)) continue; /* not the owner */
        if (exists) {
            struct cw_json *cj;
            if (cw_json_parse(a, cur.json.ptr, cur.json.len, NULL, &cj, err) < 0) return -1;
            struct cw_dt cur_time;
            if (timed && recorded_time(cj, &cur_time) == 0 &&
                cw_dt_compare(&cur_time, &msg_time, 0) == CW_DT_GREATER) {
                st->stale++;
                continue; /* a newer message wrote the current version */
            }
            if (cw_slice_eq_cstr(type, "Patient")) {
                if (is_retired(res)) st->merged++;
                if (merge_patient(a, res, cj) < 0)
                    return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "ingest: arena limit");
            }
        }
        if (timed && stamp_time(a, res, when) < 0)
            return cw_err_set(err, CW_ISSUE_TOO_COSTLY, "ingest: arena limit");
        entries->u.items[keep++] = *e;
    }
    entries->len = keep;
    return 0;
}

/* Parse and convert one message into a: 0 with *bundle; 1 when there is
   nothing to store (an inbound ACK); -1 with the item's error set. */
static int convert_one(struct cw_arena *a, struct cw_pipeline_item *it, struct cw_json **bundle,
                       cw_slice *msg_type)
{
    struct cw_hl7v2_msg *m = NULL;
    struct cw_err e;
    cw_err_clear(&e);
    *bundle = NULL;
    *msg_type = CW_SLICE_NULL;
    if (cw_hl7v2_parse(a, it->raw, NULL, &m, &e) < 0) {
        it->failed = 1;
        it->error = e;
        if (!it->error.v2_code) it->error.v2_code = CW_V2_SEGMENT_SEQUENCE;
        return -1;
    }
    bool found = false, composite = false;
    if (cw_hl7v2_get(a, m, CW_LIT("MSH-9.1"), msg_type, &found, &composite, &e) < 0 || !found)
        *msg_type = CW_SLICE_NULL;
    if (cw_slice_eq_cstr(*msg_type, "ACK")) return 1; /* an acknowledgment: nothing to store */
    struct cw_convert_result res;
    if (cw_convert_v2(a, m, NULL, &res, &e) < 0) {
        it->failed = 1;
        it->error = e;
        if (!it->error.v2_code) it->error.v2_code = CW_V2_INTERNAL;
        if (!it->error.location[0]) cw_err_at(&it->error, "MSH");
        return -1;
    }
    *bundle = res.bundle;
    it->resources = res.nresources;
    return 0;
}

static struct rest_req make_req(struct cw_arena *a)
{
    struct rest_req q = {
        .a = a,
        .method = "POST",
        .path = CW_LIT(""),
        .query = CW_SLICE_NULL,
        .body = CW_SLICE_NULL,
        .header = no_header,
        .hctx = NULL,
        .base = CW_SLICE_NULL,
    };
    return q;
}

/* The store refused a message's bundle: its item error for the ERR segment. */
static void store_failed(struct cw_pipeline_item *it, const struct cw_err *e)
{
    it->failed = 1;
    cw_err_set(&it->error, e->issue ? e->issue : CW_ISSUE_EXCEPTION, "not stored: %s", e->msg);
    it->error.v2_code = CW_V2_INTERNAL;
    cw_err_at(&it->error, "MSH");
}

/* Say (counts only) what the ownership and ordering rules changed. */
static void log_reconciled(const struct reconcile_stats *st)
{
    if (st->stale)
        cw_log(CW_LOG_INFO, "ingest.stale_skipped", CW_LOG_INT("resources", st->stale));
    if (st->merged)
        cw_log(CW_LOG_INFO, "ingest.merged", CW_LOG_INT("patients", st->merged));
}

/* One message in a transaction of its own. */
static void apply_alone(struct cw_ingest_v2 *g, struct cw_pipeline_item *it)
{
    struct cw_arena *a = cw_arena_new(BATCH_ARENA_MAX);
    if (!a) {
        struct cw_err e;
        cw_err_set(&e, CW_ISSUE_EXCEPTION, "out of memory");
        store_failed(it, &e);
        return;
    }
    struct cw_json *bundle;
    cw_slice msg_type;
    if (convert_one(a, it, &bundle, &msg_type) == 0) { /* 1: nothing to store */
        struct rest_req q = make_req(a);
        struct cw_store_txn *t;
        struct cw_err e;
        struct reconcile_stats st = {0, 0};
        cw_err_clear(&e);
        if (cw_store_begin(g->store, CW_STORE_WRITE, &t, &e) < 0) {
            store_failed(it, &e);
        } else if (reconcile(a, t, bundle, msg_type, &st, &e) < 0 ||
                   rest_transaction_in(g->rest, &q, t, bundle, NULL, &e) < 0) {
            cw_store_rollback(t);
            store_failed(it, &e);
        } else if (cw_store_commit(t, &e) < 0) {
            store_failed(it, &e);
        } else {
            log_reconciled(&st);
        }
    }
    cw_arena_destroy(a);
}

void cw_ingest_v2_process(void *ctx, struct cw_pipeline_item *items, size_t n)
{
    struct cw_ingest_v2 *g = ctx;
    for (size_t i = 0; i < n; i++) {
        items[i].failed = 0;
        items[i].resources = 0;
        cw_err_clear(&items[i].error);
    }
    if (n == 1) {
        apply_alone(g, &items[0]);
        return;
    }
    struct cw_arena *a = cw_arena_new(BATCH_ARENA_MAX);
    struct cw_json **bundles = calloc(n, sizeof *bundles);
    cw_slice *types = calloc(n, sizeof *types);
    bool grouped = false;
    if (a && bundles && types) {
        size_t ok = 0;
        for (size_t i = 0; i < n; i++)
            if (convert_one(a, &items[i], &bundles[i], &types[i]) == 0) ok++;
        struct cw_store_txn *t = NULL;
        struct cw_err e;
        struct reconcile_stats st = {0, 0};
        cw_err_clear(&e);
        if (ok == 0) {
            grouped = true; /* nothing to store: every item already has its error */
        } else if (cw_store_begin(g->store, CW_STORE_WRITE, &t, &e) == 0) {
            struct rest_req q = make_req(a);
            int rc = 0;
            for (size_t i = 0; i < n && rc == 0; i++)
                if (bundles[i])
                    rc = reconcile(a, t, bundles[i], types[i], &st, &e) < 0
                             ? -1
                             : rest_transaction_in(g->rest, &q, t, bundles[i], NULL, &e);
            if (rc < 0) {
                cw_store_rollback(t);
                cw_log(CW_LOG_INFO, "ingest.group_split", CW_LOG_INT("messages", (long long)n),
                       CW_LOG_STR("reason", e.msg));
            } else if (cw_store_commit(t, &e) == 0) {
                grouped = true;
                log_reconciled(&st);
            }
        }
    }
    free(bundles);
    free(types);
    cw_arena_destroy(a);
    if (grouped) return;
    /* One at a time, in order: a bad message fails alone. */
    for (size_t i = 0; i < n; i++) {
        items[i].failed = 0;
        items[i].resources = 0;
        cw_err_clear(&items[i].error);
        apply_alone(g, &items[i]);
    }
}

/* --- offline reprocessing (`causeway messages reprocess`) ---------------- */

struct offline {
    struct cw_journal *journal;
    cw_server_reprocess_fn report;
    void *report_ctx;
    pthread_mutex_t mu;
    long processed, failed;
};

static void offline_done(void *ctx, const struct cw_pipeline_item *it)
{
    struct offline *o = ctx;
    struct cw_err e;
    if (cw_journal_set_status(o->journal, it->seq,
                              it->failed ? CW_JOURNAL_ERROR : CW_JOURNAL_PROCESSED, NULL,
                              it->failed ? &it->error : NULL, &e) < 0)
        cw_log(CW_LOG_WARN, "ingest.status_not_recorded", CW_LOG_INT("seq", it->seq),
               CW_LOG_STR("reason", e.msg));
    pthread_mutex_lock(&o->mu);
    if (it->failed)
        o->failed++;
    else
        o->processed++;
    if (o->report) o->report(o->report_ctx, it->seq, it->failed, it->resources, &it->error);
    pthread_mutex_unlock(&o->mu);
}

int cw_server_reprocess(const struct cw_config *c, const int64_t *seqs, size_t n, int status,
                        cw_server_reprocess_fn report, void *ctx, long *processed, long *failed,
                        struct cw_err *err)
{
    char url[CW_PATH_MAX + 16], jpath[CW_PATH_MAX + 32];
    cw_config_store_url(c, url, sizeof url);
    snprintf(jpath, sizeof jpath, "%s/journal.db", c->data_dir);
    struct cw_store *store = NULL;
    struct cw_rest *rest = NULL;
    struct cw_journal *journal = NULL;
    struct cw_ingest_v2 *g = NULL;
    struct cw_pipeline *p = NULL;
    struct offline o = {.report = report, .report_ctx = ctx};
    pthread_mutex_init(&o.mu, NULL);
    int rc = -1;
    struct cw_store_opts so = {.statement_timeout_ms = c->request_timeout_ms,
                               .sync_normal = c->store_sync_normal != 0,
                               .version_unchanged = c->version_unchanged != 0};
    struct cw_rest_opts ro = {.validate = c->validate != 0,
                              .validate_full = c->validate == 2,
                              .max_resource = CW_STORE_DEFAULT_MAX_RESOURCE};
    if (cw_store_open(url, &so, &store, err) < 0 || cw_rest_new(store, &ro, &rest, err) < 0 ||
        cw_journal_open(jpath, NULL, &journal, err) < 0 || cw_ingest_v2_new(rest, &g, err) < 0)
        goto done;
    o.journal = journal;
    struct cw_pipeline_opts po = {.workers = 1, .max_batch = 64};
    if (cw_pipeline_start(journal, &po, cw_ingest_v2_process, g, &p, err) < 0) goto done;
    struct cw_arena *a = cw_arena_new((size_t)1 << 30);
    if (!a) {
        cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
        goto done;
    }
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct cw_journal_record r;
        cw_arena_reset(a);
        if (cw_journal_get(journal, a, seqs[i], &r, err) < 0 ||
            cw_pipeline_submit(p, r.seq, r.raw, "reprocess", "", offline_done, &o, err) < 0)
            rc = -1;
    }
    cw_arena_destroy(a);
    if (rc == 0 && status >= 0 &&
        cw_pipeline_submit_status(p, (enum cw_journal_status)status, "reprocess", offline_done, &o,
                                  err) < 0)
        rc = -1;
    cw_pipeline_flush(p);
done:
    cw_pipeline_stop(p);
    cw_ingest_v2_free(g);
    cw_journal_close(journal);
    cw_rest_free(rest);
    cw_store_close(store);
    pthread_mutex_destroy(&o.mu);
    if (processed) *processed = o.processed;
    if (failed) *failed = o.failed;
    return rc;
}
