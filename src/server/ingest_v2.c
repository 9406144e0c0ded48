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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/log.h"
#include "convert/convert.h"
#include "hl7v2/hl7v2.h"
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

/* Parse and convert one message into a; 0 with *bundle, or -1 with the item's error set. */
static int convert_one(struct cw_arena *a, struct cw_pipeline_item *it, struct cw_json **bundle)
{
    struct cw_hl7v2_msg *m = NULL;
    struct cw_err e;
    cw_err_clear(&e);
    *bundle = NULL;
    if (cw_hl7v2_parse(a, it->raw, NULL, &m, &e) < 0) {
        it->failed = 1;
        it->error = e;
        if (!it->error.v2_code) it->error.v2_code = CW_V2_SEGMENT_SEQUENCE;
        return -1;
    }
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
    if (convert_one(a, it, &bundle) == 0) {
        struct rest_req q = make_req(a);
        struct cw_store_txn *t;
        struct cw_err e;
        cw_err_clear(&e);
        if (cw_store_begin(g->store, CW_STORE_WRITE, &t, &e) < 0) {
            store_failed(it, &e);
        } else if (rest_transaction_in(g->rest, &q, t, bundle, NULL, &e) < 0) {
            cw_store_rollback(t);
            store_failed(it, &e);
        } else if (cw_store_commit(t, &e) < 0) {
            store_failed(it, &e);
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
    bool grouped = false;
    if (a && bundles) {
        size_t ok = 0;
        for (size_t i = 0; i < n; i++)
            if (convert_one(a, &items[i], &bundles[i]) == 0) ok++;
        struct cw_store_txn *t = NULL;
        struct cw_err e;
        cw_err_clear(&e);
        if (ok == 0) {
            grouped = true; /* nothing to store: every item already has its error */
        } else if (cw_store_begin(g->store, CW_STORE_WRITE, &t, &e) == 0) {
            struct rest_req q = make_req(a);
            int rc = 0;
            for (size_t i = 0; i < n && rc == 0; i++)
                if (bundles[i]) rc = rest_transaction_in(g->rest, &q, t, bundles[i], NULL, &e);
            if (rc < 0) {
                cw_store_rollback(t);
                cw_log(CW_LOG_INFO, "ingest.group_split", CW_LOG_INT("messages", (long long)n),
                       CW_LOG_STR("reason", e.msg));
            } else if (cw_store_commit(t, &e) == 0) {
                grouped = true;
            }
        }
    }
    free(bundles);
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
