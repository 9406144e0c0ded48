/*
 * test_store_sync.c — the SQLite store's commit durability setting.
 *
 * By default every (group) commit is fsync'ed: the writer connection runs
 * with synchronous=FULL, so a 201 or an AA survives an OS crash or power
 * loss. opts.sync_normal (`store-sync = normal`) trades that for speed:
 * synchronous=NORMAL, which survives a process crash only. The setting is
 * read back from the writer connection inside a write transaction.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_int.h"

static int int_cb(void *ctx, const struct cw_sqlv *c, int n, struct cw_err *err)
{
    (void)err;
    if (n > 0) *(long long *)ctx = cw_store_col_int(&c[0]);
    return 1;
}

/* PRAGMA synchronous of the writer, for a store opened with opts. */
static long long writer_sync(const char *dir, const struct cw_store_opts *opts)
{
    char url[300];
    snprintf(url, sizeof url, "sqlite:%s/sync.db", dir);
    struct cw_store *s;
    struct cw_err err;
    assert_int_equal(cw_store_open(url, opts, &s, &err), 0);
    struct cw_store_txn *t;
    assert_int_equal(cw_store_begin(s, CW_STORE_WRITE, &t, &err), 0);
    long long v = -1;
    assert_int_equal(cw_store_exec(t, "PRAGMA synchronous", false, NULL, 0, int_cb, &v, NULL, &err), 0);
    assert_int_equal(cw_store_commit(t, &err), 0);
    cw_store_close(s);
    return v;
}

static void test_sync_setting(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-store-sync-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(writer_sync(dir, NULL), 2); /* FULL: the default */
    struct cw_store_opts o = {.sync_normal = true};
    assert_int_equal(writer_sync(dir, &o), 1); /* NORMAL on request */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
