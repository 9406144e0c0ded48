/*
 * test_pipeline.c — the ingest pipeline (ingest/pipeline.h): per-sender
 * order across several workers, batching while the processor is busy,
 * journal status for messages without a completion, recovery of RECEIVED
 * rows, stop draining the queue, the sender key.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "ingest/journal.h"
#include "ingest/pipeline.h"

static char dir_template[] = "/tmp/cw-pipeline-XXXXXX";
static char db_path[256];

static int setup(void **state)
{
    (void)state;
    memcpy(dir_template + sizeof dir_template - 7, "XXXXXX", 6);
    assert_non_null(mkdtemp(dir_template));
    snprintf(db_path, sizeof db_path, "%s/journal.db", dir_template);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char p[300];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", db_path, suffix[i]);
        unlink(p);
    }
    rmdir(dir_template);
    return 0;
}

static void test_sender_key(void **state)
{
    (void)state;
    uint64_t a = cw_pipeline_sender_key(CW_LIT("MSH|^~\\&|LAB|HOSP|X|Y|2024||ADT^A01|1|P|2.5\r"));
    uint64_t b = cw_pipeline_sender_key(CW_LIT("MSH|^~\\&|LAB|HOSP|Z|W|2025||ORU^R01|9|P|2.5\r"));
    uint64_t c = cw_pipeline_sender_key(CW_LIT("MSH|^~\\&|LAB|CLINIC|X|Y|2024||ADT^A01|1|P|2.5\r"));
    uint64_t d = cw_pipeline_sender_key(CW_LIT("MSH#^~\\&#LAB#HOSP#X\r"));
    uint64_t bom = cw_pipeline_sender_key(CW_LIT("\xEF\xBB\xBFMSH|^~\\&|LAB|HOSP|\r"));
    uint64_t batch = cw_pipeline_sender_key(CW_LIT("BHS|^~\\&|B|B\rMSH|^~\\&|LAB|HOSP|\r"));
    assert_int_equal(a, b); /* same MSH-3/MSH-4, different receiver and type */
    assert_true(a != c);
    assert_int_equal(a, d); /* delimiters come from MSH-1 */
    assert_int_equal(a, bom);
    assert_int_equal(a, batch);
    assert_true(a != 0);
    assert_int_equal(cw_pipeline_sender_key(CW_LIT("hello")), 0);
    assert_int_equal(cw_pipeline_sender_key(CW_LIT("MSH")), 0);
}

/* A processor that records (sender, message number) and is slow. */
struct rec {
    pthread_mutex_t mu;
    int order[4][200]; /* per sender: message numbers in processing order */
    int n[4];
    size_t calls, largest;
};

static void slow_process(void *ctx, struct cw_pipeline_item *items, size_t n)
{
    struct rec *r = ctx;
    usleep(2000);
    pthread_mutex_lock(&r->mu);
    r->calls++;
    if (n > r->largest) r->largest = n;
    for (size_t i = 0; i < n; i++) {
        int sender = items[i].raw.ptr[10] - '0'; /* "MSH|^~\&|S<k>|FAC|<nnn>|" */
        int num = (int)strtol(items[i].raw.ptr + 16, NULL, 10);
        if (sender >= 0 && sender < 4 && r->n[sender] < 200) r->order[sender][r->n[sender]++] = num;
        if (num % 10 == 7) {
            items[i].failed = 1;
            cw_err_set(&items[i].error, CW_ISSUE_VALUE, "bad value");
            items[i].error.v2_code = 102;
            cw_err_at(&items[i].error, "OBX-5");
        }
    }
    pthread_mutex_unlock(&r->mu);
}

struct done_rec {
    pthread_mutex_t mu;
    int count, failed, wrong_code;
};

static void on_done(void *ctx, const struct cw_pipeline_item *it)
{
    struct done_rec *d = ctx;
    pthread_mutex_lock(&d->mu);
    d->count++;
    if (it->failed) {
        d->failed++;
        if (it->error.v2_code != 102) d->wrong_code++; /* no cmocka asserts off the main thread */
    }
    pthread_mutex_unlock(&d->mu);
}

static void test_order_and_batches(void **state)
{
    (void)state;
    struct cw_err err;
    cw_err_clear(&err);
    struct cw_journal *j;
    assert_int_equal(cw_journal_open(db_path, NULL, &j, &err), 0);
    struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct done_rec d = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct cw_pipeline *p;
    struct cw_pipeline_opts o = {.workers = 3, .max_batch = 16};
    assert_int_equal(cw_pipeline_start(j, &o, slow_process, &r, &p, &err), 0);
    /* 4 senders interleaved, 100 messages each. */
    for (int i = 0; i < 100; i++)
        for (int s = 0; s < 4; s++) {
            char msg[64];
            snprintf(msg, sizeof msg, "MSH|^~\\&|S%d|FAC|%03d|\rPID|1\r", s, i);
            assert_int_equal(cw_pipeline_submit(p, i * 4 + s + 1, cw_slice_cstr(msg), "test", "",
                                                on_done, &d, &err),
                             0);
        }
    cw_pipeline_flush(p);
    assert_int_equal(d.count, 400);
    assert_int_equal(d.failed, 40);
    assert_int_equal(d.wrong_code, 0);
    for (int s = 0; s < 4; s++) {
        assert_int_equal(r.n[s], 100);
        for (int i = 0; i < 100; i++) assert_int_equal(r.order[s][i], i);
    }
    assert_true(r.largest > 1);   /* batched while the processor was busy */
    assert_true(r.largest <= 16); /* never more than max_batch */
    struct cw_pipeline_stats st;
    cw_pipeline_get_stats(p, &st);
    assert_int_equal(st.processed, 360);
    assert_int_equal(st.failed, 40);
    assert_int_equal(st.batches, r.calls);
    cw_pipeline_stop(p);
    cw_journal_close(j);
}

static void ok_process(void *ctx, struct cw_pipeline_item *items, size_t n)
{
    int *count = ctx;
    for (size_t i = 0; i < n; i++) {
        (*count)++;
        if (strstr(items[i].raw.ptr, "FAIL")) {
            items[i].failed = 1;
            cw_err_set(&items[i].error, CW_ISSUE_REQUIRED, "missing");
            items[i].error.v2_code = 101;
            cw_err_at(&items[i].error, "PID-3");
        }
    }
}

/* Rows left RECEIVED are processed by recover, and their status recorded. */
static void test_recover(void **state)
{
    (void)state;
    struct cw_err err;
    cw_err_clear(&err);
    struct cw_journal *j;
    assert_int_equal(cw_journal_open(db_path, NULL, &j, &err), 0);
    for (int i = 0; i < 2500; i++) {
        struct cw_journal_entry e = {.raw = i == 5 ? CW_LIT("MSH|^~\\&|A|B|\rPID|FAIL\r")
                                                   : CW_LIT("MSH|^~\\&|A|B|\rPID|1\r"),
                                     .channel = "mllp"};
        assert_int_equal(cw_journal_append(j, &e, NULL, NULL, &err), 0);
    }
    cw_journal_flush(j);
    /* One of them was already processed by the earlier run. */
    assert_int_equal(cw_journal_set_status(j, 1, CW_JOURNAL_PROCESSED, "AA", NULL, &err), 0);
    cw_journal_flush(j);
    int count = 0;
    struct cw_pipeline *p;
    assert_int_equal(cw_pipeline_start(j, NULL, ok_process, &count, &p, &err), 0);
    assert_int_equal(cw_pipeline_recover(p, &err), 2499);
    cw_pipeline_stop(p);
    assert_int_equal(count, 2499);
    cw_journal_flush(j);
    assert_int_equal(cw_journal_count(j, CW_JOURNAL_RECEIVED, &err), 0);
    assert_int_equal(cw_journal_count(j, CW_JOURNAL_PROCESSED, &err), 2499);
    assert_int_equal(cw_journal_count(j, CW_JOURNAL_ERROR, &err), 1);
    struct cw_arena *a = cw_arena_new(1 << 20);
    struct cw_journal_record rec;
    assert_int_equal(cw_journal_get(j, a, 6, &rec, &err), 0);
    assert_int_equal(rec.status, CW_JOURNAL_ERROR);
    assert_int_equal(rec.error_code, 101);
    assert_true(cw_slice_eq_cstr(rec.error_location, "PID-3"));
    cw_arena_destroy(a);
    cw_journal_close(j);
}

/* stop processes what is queued; submit after stop is refused. */
static void test_stop_drains(void **state)
{
    (void)state;
    struct cw_err err;
    cw_err_clear(&err);
    struct cw_journal *j;
    assert_int_equal(cw_journal_open(db_path, NULL, &j, &err), 0);
    struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct done_rec d = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct cw_pipeline *p;
    struct cw_pipeline_opts o = {.workers = 2, .max_batch = 4, .max_queue_bytes = 1 << 20};
    assert_int_equal(cw_pipeline_start(j, &o, slow_process, &r, &p, &err), 0);
    for (int i = 0; i < 50; i++) {
        char msg[64];
        snprintf(msg, sizeof msg, "MSH|^~\\&|S1|FAC|%03d|\r", i);
        assert_int_equal(
            cw_pipeline_submit(p, i + 1, cw_slice_cstr(msg), "t", "", on_done, &d, &err), 0);
    }
    cw_pipeline_stop(p);
    assert_int_equal(d.count, 50);
    assert_int_equal(r.n[1], 50);

    /* The queue limit pushes back (THROTTLED) instead of growing. */
    o.workers = 1;
    o.max_queue_bytes = 1000;
    assert_int_equal(cw_pipeline_start(j, &o, slow_process, &r, &p, &err), 0);
    char big[600];
    memset(big, 'x', sizeof big);
    memcpy(big, "MSH|^~\\&|S2|FAC|000|\r", 21);
    int refused = 0;
    for (int i = 0; i < 20; i++)
        if (cw_pipeline_submit(p, 100 + i, cw_slice_make(big, sizeof big), "t", "", on_done, &d,
                               &err) < 0) {
            assert_int_equal(err.issue, CW_ISSUE_THROTTLED);
            refused++;
        }
    assert_true(refused > 0);
    cw_pipeline_stop(p);
    assert_int_equal(d.count, 50 + 20 - refused);
    cw_journal_close(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sender_key),
        cmocka_unit_test_setup_teardown(test_order_and_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_drains, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
