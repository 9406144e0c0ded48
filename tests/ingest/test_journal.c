/*
 * test_journal.c — the durable inbound journal (ingest/journal.h).
 *
 * Checks what the rest of the engine relies on: a completion is reported
 * only once the row is visible to a fresh connection (committed), rows
 * survive close/reopen byte for byte, group commit puts many messages in
 * one transaction, the queue limit pushes back, status updates land, and a
 * newer schema is refused.
 */
#include "testutil.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "ingest/journal.h"

static char dir_template[] = "/tmp/cw-journal-XXXXXX";
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

/* Completion bookkeeping shared with the writer thread. */
struct track {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, failed, visible_at_callback;
    int64_t last_seq;
    bool ordered;
    int64_t *seqs; /* by index */
};

struct item {
    struct track *t;
    int index;
};

/* Is row seq visible to a brand-new connection (i.e. committed)? */
static bool committed(int64_t seq)
{
    sqlite3 *db;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) return false;
    sqlite3_stmt *st;
    bool found = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM message WHERE seq = ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(st, 1, seq);
        found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return found;
}

static void on_done(void *ctx, int64_t seq, const struct cw_err *err)
{
    struct item *it = ctx;
    struct track *t = it->t;
    bool vis = err == NULL && committed(seq);
    pthread_mutex_lock(&t->mu);
    if (err) {
        t->failed++;
    } else {
        if (seq <= t->last_seq) t->ordered = false;
        t->last_seq = seq;
        if (t->seqs) t->seqs[it->index] = seq;
    }
    if (vis) t->visible_at_callback++;
    t->done++;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    free(it);
}

static void track_init(struct track *t, int n)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->ordered = true;
    t->seqs = n ? calloc((size_t)n, sizeof *t->seqs) : NULL;
}

static void track_wait(struct track *t, int n)
{
    pthread_mutex_lock(&t->mu);
    while (t->done < n) pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
}

static void track_release(struct track *t)
{
    free(t->seqs);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
}

static int append_one(struct cw_journal *j, struct track *t, int index, cw_slice raw)
{
    struct item *it = malloc(sizeof *it);
    it->t = t;
    it->index = index;
    struct cw_journal_entry e = {.raw = raw, .channel = "mllp", .peer = "127.0.0.1:4000"};
    struct cw_err err;
    int rc = cw_journal_append(j, &e, on_done, it, &err);
    if (rc < 0) free(it);
    return rc;
}

static void test_commit_then_callback_and_reopen(void **state)
{
    (void)state;
    struct cw_journal *j;
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(cw_journal_open(db_path, NULL, &j, &err), 0);

    /* Bytes that a naive SQL text builder would break: quotes, NUL, ; -- */
    static const char tricky[] = "MSH|^~\\&|'; DROP TABLE message; --\r\0PID|1|\"x\"\r";
    enum { N = 50 };
    struct track t;
    track_init(&t, N);
    for (int i = 0; i < N; i++) {
        char msg[128];
        int n = snprintf(msg, sizeof msg, "MSH|^~\\&|A|B|||20240101||ADT^A01|%d|P|2.5\r", i);
        cw_slice raw =
            i == 7 ? cw_slice_make(tricky, sizeof tricky - 1) : cw_slice_make(msg, (size_t)n);
        assert_int_equal(append_one(j, &t, i, raw), 0);
    }
    track_wait(&t, N);
    assert_int_equal(t.failed, 0);
    assert_int_equal(t.visible_at_callback, N); /* every callback came after COMMIT */
    assert_true(t.ordered);
    assert_int_equal(cw_journal_count(j, -1, &err), N);
    assert_int_equal(cw_journal_count(j, CW_JOURNAL_RECEIVED, &err), N);

    /* Status update with an error detail. */
    struct cw_err detail;
    cw_err_clear(&detail);
    cw_err_set(&detail, CW_ISSUE_NOT_SUPPORTED, "message type not supported");
    detail.v2_code = CW_V2_UNSUPPORTED_MESSAGE_TYPE;
    cw_err_at(&detail, "MSH-9");
    assert_int_equal(cw_journal_set_status(j, t.seqs[3], CW_JOURNAL_ERROR, "AR", &detail, &err), 0);
    assert_int_equal(cw_journal_set_status(j, t.seqs[4], CW_JOURNAL_PROCESSED, "AA", NULL, &err),
                     0);
    cw_journal_flush(j);
    assert_int_equal(cw_journal_count(j, CW_JOURNAL_ERROR, &err), 1);
    assert_int_equal(cw_journal_count(j, CW_JOURNAL_PROCESSED, &err), 1);
    struct cw_journal_stats st;
    cw_journal_get_stats(j, &st);
    assert_int_equal(st.appended, N);
    assert_int_equal(st.updates, 2);
    int64_t seq7 = t.seqs[7], seq3 = t.seqs[3], last = t.seqs[N - 1];
    cw_journal_close(j);
    track_release(&t);

    /* Reopen: everything is still there, byte for byte. */
    assert_int_equal(cw_journal_open(db_path, NULL, &j, &err), 0);
    assert_int_equal(cw_journal_count(j, -1, &err), N);
    struct cw_arena *a = cw_arena_new(0);
    struct cw_journal_record r;
    assert_int_equal(cw_journal_get(j, a, seq7, &r, &err), 0);
    assert_int_equal(r.raw.len, sizeof tricky - 1);
    assert_memory_equal(r.raw.ptr, tricky, sizeof tricky - 1);
    assert_slice_equal(r.channel, "mllp");
    assert_slice_equal(r.peer, "127.0.0.1:4000");
    assert_slice_equal(r.format, "hl7v2");
    assert_int_equal(r.status, CW_JOURNAL_RECEIVED);
    assert_int_equal(r.received_at.len, 24);
    assert_int_equal(cw_journal_get(j, a, seq3, &r, &err), 0);
    assert_int_equal(r.status, CW_JOURNAL_ERROR);
    assert_slice_equal(r.ack_code, "AR");
    assert_int_equal(r.error_code, 200);
    assert_slice_equal(r.error_location, "MSH-9");
    assert_slice_equal(r.error_text, "message type not supported");
    assert_int_equal(r.attempts, 1);
    assert_int_equal(cw_journal_get(j, a, last + 1000, &r, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_NOT_FOUND);

    /* New rows continue the sequence, never reuse it. */
    track_init(&t, 1);
    assert_int_equal(append_one(j, &t, 0, CW_LIT("MSH|^~\\&|after reopen\r")), 0);
    track_wait(&t, 1);
    assert_true(t.seqs[0] > last);
    track_release(&t);

    /* list: in seq order, after a given seq. */
    long n = cw_journal_list(j, seq3, 0, -1, NULL, NULL, &err);
    assert_int_equal(n, N - 3);
    cw_arena_destroy(a);
    cw_journal_close(j);
}

struct writer_arg {
    struct cw_journal *j;
    struct track *t;
    int from, count;
};

static void *writer_thread(void *p)
{
    struct writer_arg *w = p;
    for (int i = w->from; i < w->from + w->count; i++) {
        char msg[64];
        int n = snprintf(msg, sizeof msg, "MSH|^~\\&|T|%d\r", i);
        if (append_one(w->j, w->t, i, cw_slice_make(msg, (size_t)n)) < 0) abort();
    }
    return NULL;
}

static void test_group_commit(void **state)
{
    (void)state;
    struct cw_journal *j;
    struct cw_err err;
    assert_int_equal(cw_journal_open(db_path, NULL, &j, &err), 0);
    enum { THREADS = 4, PER = 500 };
    struct track t;
    track_init(&t, THREADS * PER);
    t.ordered = true;
    pthread_t th[THREADS];
    struct writer_arg wa[THREADS];
    for (int i = 0; i < THREADS; i++) {
        wa[i] = (struct writer_arg){j, &t, i * PER, PER};
        pthread_create(&th[i], NULL, writer_thread, &wa[i]);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    track_wait(&t, THREADS * PER);
    struct cw_journal_stats st;
    cw_journal_get_stats(j, &st);
    printf("group commit: %llu messages in %llu transactions (largest %llu)\n",
           (unsigned long long)st.appended, (unsigned long long)st.commits,
           (unsigned long long)st.largest_batch);
    assert_int_equal(st.appended, THREADS * PER);
    assert_int_equal(t.failed, 0);
    assert_true(st.largest_batch > 1);
    assert_true(st.commits < (uint64_t)(THREADS * PER) / 4);
    /* All distinct. */
    for (int i = 1; i < THREADS * PER; i++) assert_true(t.seqs[i] != 0);
    assert_int_equal(cw_journal_count(j, -1, &err), THREADS * PER);
    cw_journal_close(j);
    track_release(&t);
}

/* A callback that holds the writer until released, to fill the queue. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open, entered;
};

static void gated_done(void *ctx, int64_t seq, const struct cw_err *err)
{
    (void)seq, (void)err;
    struct gate *g = ctx;
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    while (!g->open) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void test_queue_limit_and_sizes(void **state)
{
    (void)state;
    struct cw_journal *j;
    struct cw_err err;
    struct cw_journal_opts o = {.max_queue_bytes = 10000, .max_message = 2000, .sync_full = 1};
    assert_int_equal(cw_journal_open(db_path, &o, &j, &err), 0);
    struct gate g = {.open = false};
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    char big[1500];
    memset(big, 'x', sizeof big);
    struct cw_journal_entry e = {.raw = cw_slice_make(big, sizeof big), .channel = "mllp"};
    assert_int_equal(cw_journal_append(j, &e, gated_done, &g, &err), 0);
    pthread_mutex_lock(&g.mu);
    while (!g.entered) pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    /* The writer is stuck in our callback: the queue fills up. */
    int accepted = 0;
    while (cw_journal_append(j, &e, NULL, NULL, &err) == 0) accepted++;
    assert_int_equal(err.issue, CW_ISSUE_THROTTLED);
    assert_int_equal(accepted, 10000 / 1501);
    pthread_mutex_lock(&g.mu);
    g.open = true;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    cw_journal_flush(j);
    assert_int_equal(cw_journal_count(j, -1, &err), 1 + accepted);
    /* Once drained, appends are accepted again. */
    assert_int_equal(cw_journal_append(j, &e, NULL, NULL, &err), 0);
    /* Over max_message: refused up front. */
    char huge[2001];
    memset(huge, 'y', sizeof huge);
    e.raw = cw_slice_make(huge, sizeof huge);
    assert_int_equal(cw_journal_append(j, &e, NULL, NULL, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_LONG);
    cw_journal_close(j);
    pthread_mutex_destroy(&g.mu);
    pthread_cond_destroy(&g.cv);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    struct cw_journal *j;
    struct cw_err err;
    assert_int_equal(cw_journal_open(db_path, NULL, &j, &err), 0);
    cw_journal_close(j);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    cw_err_clear(&err);
    assert_int_equal(cw_journal_open(db_path, NULL, &j, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_NO_STORE);
    assert_non_null(strstr(err.msg, "newer"));
    /* And a path that cannot be opened fails cleanly. */
    assert_int_equal(cw_journal_open("/nonexistent-dir/x/journal.db", NULL, &j, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_then_callback_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_limit_and_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
