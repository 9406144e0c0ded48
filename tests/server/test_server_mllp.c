/*
 * test_server_mllp.c — the MLLP side of cw_server_start, in process:
 * configuration keys, the default ACK builder (mllp_ack.c) and, with the
 * test stub builder (tests/server/ack_stub.h): AA only after the journal
 * commit, AR for an unsupported type recorded in the journal, oversize
 * refused and not journaled, no reply to an ACK, ACKs still sent when the
 * server stops; with a stub ingest processor: AA after processing, AE/AR
 * from its errors, journal statuses, order, recovery at start-up.
 */
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ack_stub.h"
#include "base/log.h"
#include "base/arena.h"
#include "ingest/journal.h"
#include "ingest/pipeline.h"
#include "net/net.h"
#include "server/server.h"

static void test_config_keys(void **state)
{
    (void)state;
    struct cw_config c;
    struct cw_err e;
    cw_config_defaults(&c);
    assert_int_equal(c.mllp_port, 2575);
    assert_int_equal(c.mllp_max_frame, 16u << 20);
    assert_int_equal(cw_config_set(&c, "mllp", "off", &e), 0);
    assert_int_equal(c.mllp_port, -1);
    assert_int_equal(cw_config_set(&c, "mllp", "127.0.0.1:2576", &e), 0);
    assert_int_equal(c.mllp_port, 2576);
    assert_string_equal(c.mllp_addr, "127.0.0.1");
    assert_int_equal(cw_config_set(&c, "mllp-max-frame", "1M", &e), 0);
    assert_int_equal(c.mllp_max_frame, 1u << 20);
    assert_int_equal(cw_config_set(&c, "mllp-max-frame", "0", &e), -1);
    assert_int_equal(cw_config_set(&c, "mllp-tls-cert", "/x/cert.pem", &e), 0);
    assert_string_equal(c.mllp_tls_cert, "/x/cert.pem");
    setenv("CAUSEWAY_MLLP_TLS_KEY", "/x/key.pem", 1);
    assert_int_equal(cw_config_load_env(&c, &e), 0);
    unsetenv("CAUSEWAY_MLLP_TLS_KEY");
    assert_string_equal(c.mllp_tls_key, "/x/key.pem");
}

static char data_dir[] = "/tmp/cw-srv-mllp-XXXXXX";

static struct cw_server *start(const char *max_frame, struct cw_err *err)
{
    struct cw_config c;
    cw_config_defaults(&c);
    cw_config_set(&c, "http", "127.0.0.1:0", err);
    cw_config_set(&c, "mllp", "127.0.0.1:0", err);
    cw_config_set(&c, "data", data_dir, err);
    if (max_frame) cw_config_set(&c, "mllp-max-frame", max_frame, err);
    struct cw_server *s = NULL;
    if (cw_server_start(&c, &s, err) < 0) return NULL;
    return s;
}

static int exchange(struct cw_mllp_client *c, const char *msg, char *code, size_t size)
{
    struct cw_err err;
    cw_mllp_client_queue(c, cw_slice_cstr(msg), &err);
    cw_slice f, k;
    int r = cw_mllp_client_next(c, &f, &err);
    if (r != 1) return r;
    if (cw_mllp_ack_code(f, &k) < 0) return -2;
    snprintf(code, size, "%.*s", CW_SLICE_FMT(k));
    return 1;
}

/* Send one message and return its reply frame (copied into buf). */
static int exchange_full(struct cw_mllp_client *c, const char *msg, char *buf, size_t size)
{
    struct cw_err err;
    cw_mllp_client_queue(c, cw_slice_cstr(msg), &err);
    cw_slice f;
    int r = cw_mllp_client_next(c, &f, &err);
    if (r != 1) return r;
    snprintf(buf, size, "%.*s", CW_SLICE_FMT(f));
    return 1;
}

/*
 * The default builder (src/server/mllp_ack.c over the hl7v2 module): real
 * ACKs that mirror the inbound message, AR for what is not a supported v2
 * message, the commit ACK when enhanced mode asks only for that.
 */
static void test_default_builder(void **state)
{
    (void)state;
    struct cw_err err;
    cw_err_clear(&err);
    cw_server_set_ack_builder(NULL, NULL);
    struct cw_server *s = start(NULL, &err);
    assert_non_null(s);
    int port = cw_server_mllp_port(s);
    assert_true(port > 0);
    struct cw_mllp_client_opts o = {.host = "127.0.0.1", .port = port, .timeout_ms = 10000};
    struct cw_mllp_client *c;
    assert_int_equal(cw_mllp_client_connect(&o, &c, &err), 0);
    char ack[4096];

    assert_int_equal(exchange_full(c,
                                   "MSH|^~\\&|LAB|HOSP|CW|HIE|20240101120000||ADT^A01^ADT_A01|"
                                   "MSG0001|P|2.5.1\rEVN|A01|20240101120000\rPID|1||123^^^HOSP^MR||"
                                   "Doe^Jane\rPV1|1|I\r",
                                   ack, sizeof ack),
                     1);
    assert_non_null(strstr(ack, "MSH|^~\\&|CW|HIE|LAB|HOSP|"));
    assert_non_null(strstr(ack, "|ACK^A01^ACK|"));
    assert_non_null(strstr(ack, "|P|2.5.1"));
    assert_non_null(strstr(ack, "\rMSA|AA|MSG0001"));
    assert_null(strstr(ack, "ERR|"));

    /* Not HL7 at all. */
    assert_int_equal(exchange_full(c, "hello", ack, sizeof ack), 1);
    assert_non_null(strstr(ack, "\rMSA|AR"));
    assert_non_null(strstr(ack, "100^"));

    /* Unsupported version: AR with ERR code 203 at MSH-12. */
    assert_int_equal(
        exchange_full(c, "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|V9|P|9.9\rPID|1\r", ack, sizeof ack),
        1);
    assert_non_null(strstr(ack, "MSA|AR|V9"));
    assert_non_null(strstr(ack, "203^"));

    /* Unknown message type: AR 200. */
    assert_int_equal(
        exchange_full(c, "MSH|^~\\&|A|B|C|D|20240101||QQQ^Q01|Q1|P|2.5\rPID|1\r", ack, sizeof ack),
        1);
    assert_non_null(strstr(ack, "MSA|AR|Q1"));
    assert_non_null(strstr(ack, "200^"));

    /* Enhanced mode asking for the commit ACK only: CA. */
    assert_int_equal(exchange_full(c,
                                   "MSH|^~\\&|A|B|C|D|20240101||ADT^A08|E1|P|2.5|||AL|NE\r"
                                   "EVN|A08|20240101\rPID|1||1^^^X^MR||Doe^J\rPV1|1|O\r",
                                   ack, sizeof ack),
                     1);
    assert_non_null(strstr(ack, "MSA|CA|E1"));
    /* Enhanced mode ER/AL (as the CDC IIS test messages send): AA. */
    assert_int_equal(exchange_full(c,
                                   "MSH|^~\\&|A|B|C|D|20240101||ADT^A08|E2|P|2.5|||ER|AL\r"
                                   "EVN|A08|20240101\rPID|1||1^^^X^MR||Doe^J\rPV1|1|O\r",
                                   ack, sizeof ack),
                     1);
    assert_non_null(strstr(ack, "MSA|AA|E2"));

    /* An inbound ACK gets no reply; the next message's ACK comes next. */
    cw_mllp_client_queue(c, CW_LIT("MSH|^~\\&|A|B|C|D|20240101||ACK|K1|P|2.5\rMSA|AA|X\r"), &err);
    assert_int_equal(
        exchange_full(c, "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|N1|P|2.5\rPID|1\r", ack, sizeof ack),
        1);
    assert_non_null(strstr(ack, "MSA|AA|N1"));
    cw_mllp_client_close(c);
    cw_server_stop(s);
}

/* Accepts everything: the ACK builder paths below are about the journal, not conversion. */
static void accept_all(void *ctx, struct cw_pipeline_item *items, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) items[i].failed = 0;
}

static void test_stub_builder_paths(void **state)
{
    (void)state;
    cw_server_set_v2_processor(accept_all, NULL);
    struct cw_err err;
    cw_err_clear(&err);
    char journal[300];
    snprintf(journal, sizeof journal, "%s/journal.db", data_dir);
    setenv("CW_STUB_CHECK_COMMITTED", journal, 1); /* AA only if the row is committed */
    cw_server_set_ack_builder(stub_ack_build, NULL);
    struct cw_server *s = start("4K", &err);
    assert_non_null(s);
    int port = cw_server_mllp_port(s);
    assert_true(port > 0);
    assert_string_equal(cw_server_mllp_note(s), "");

    struct cw_mllp_client_opts o = {.host = "127.0.0.1", .port = port, .timeout_ms = 10000};
    struct cw_mllp_client *c;
    assert_int_equal(cw_mllp_client_connect(&o, &c, &err), 0);
    char code[8];
    for (int i = 0; i < 20; i++) {
        assert_int_equal(
            exchange(c, "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|C1|P|2.5\rPID|1\r", code, sizeof code),
            1);
        assert_string_equal(code, "AA");
    }
    assert_int_equal(
        exchange(c, "MSH|^~\\&|A|B|C|D|20240101||ZZZ^Z01|C2|P|2.5\r", code, sizeof code), 1);
    assert_string_equal(code, "AR");
    /* Oversize (limit 4K): AR, and not journaled. */
    char *big = malloc(6000);
    memcpy(big, "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|C3|P|2.5\rNTE|1||", 51);
    memset(big + 51, 'x', 6000 - 52);
    big[5999] = '\0';
    assert_int_equal(exchange(c, big, code, sizeof code), 1);
    assert_string_equal(code, "AR");
    free(big);
    /* An ACK gets no reply; the next message's ACK still comes in order. */
    cw_mllp_client_queue(c, CW_LIT("MSH|^~\\&|A|B|C|D|20240101||ACK|C4|P|2.5\rMSA|AA|X\r"), &err);
    assert_int_equal(
        exchange(c, "MSH|^~\\&|A|B|C|D|20240101||ADT^A08|C5|P|2.5\r", code, sizeof code), 1);
    assert_string_equal(code, "AA");

    /* Pipelined messages, then stop at once: every ACK still arrives. */
    for (int i = 0; i < 30; i++)
        cw_mllp_client_queue(c, CW_LIT("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|P|P|2.5\r"), &err);
    assert_int_equal(cw_mllp_client_flush(c, &err), 0);
    usleep(20000);
    cw_server_stop(s);
    int got = 0;
    cw_slice f;
    while (cw_mllp_client_next(c, &f, &err) == 1) got++;
    assert_int_equal(got, 30);
    cw_mllp_client_close(c);
    unsetenv("CW_STUB_CHECK_COMMITTED");
    cw_server_set_v2_processor(NULL, NULL);

    /* The journal: 20 + ZZZ + ACK + A08 + 30, the ZZZ one as an error. */
    struct cw_journal *j;
    assert_int_equal(cw_journal_open(journal, NULL, &j, &err), 0);
    assert_int_equal(cw_journal_count(j, -1, &err), 20 + 1 + 1 + 1 + 30);
    assert_int_equal(cw_journal_count(j, CW_JOURNAL_ERROR, &err), 1);
    cw_journal_close(j);
}

/* --- with an ingest processor (src/ingest/pipeline.h) ------------------- */

static pthread_mutex_t proc_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t proc_seen[256];
static int proc_n;

/* Fails MSH-10 "BAD*" (content: 101 at PID-3) and "NS*" (not supported). */
static void stub_process(void *ctx, struct cw_pipeline_item *items, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        struct cw_pipeline_item *it = &items[i];
        pthread_mutex_lock(&proc_mu);
        if (proc_n < 256) proc_seen[proc_n++] = it->seq;
        pthread_mutex_unlock(&proc_mu);
        const char *ctl = strstr(it->raw.ptr, "|ADT^");
        ctl = ctl ? strchr(ctl + 1, '|') : NULL;
        if (ctl && strncmp(ctl + 1, "BAD", 3) == 0) {
            it->failed = 1;
            cw_err_set(&it->error, CW_ISSUE_REQUIRED, "patient identifier missing");
            it->error.v2_code = 101;
            cw_err_at(&it->error, "PID-3");
        } else if (ctl && strncmp(ctl + 1, "NS", 2) == 0) {
            it->failed = 1;
            cw_err_set(&it->error, CW_ISSUE_NOT_SUPPORTED, "event not converted");
            it->error.v2_code = 201;
            cw_err_at(&it->error, "MSH-9.2");
        } else {
            it->resources = 1;
        }
    }
}

/*
 * AA only after the processor committed; AE with the processor's ERR code
 * and location for content errors, AR for what it does not process; the
 * journal rows end PROCESSED or ERROR; the processor sees one sender's
 * messages in journal order; a row left RECEIVED by an earlier run is
 * processed at start-up.
 */
static void test_pipeline_processor(void **state)
{
    (void)state;
    struct cw_err err;
    cw_err_clear(&err);
    char journal[300];
    snprintf(journal, sizeof journal, "%s/journal.db", data_dir);
    /* An earlier run journaled this one and stopped before processing it. */
    struct cw_journal *j;
    assert_int_equal(cw_journal_open(journal, NULL, &j, &err), 0);
    struct cw_journal_entry e0 = {
        .raw = CW_LIT("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|OLD1|P|2.5\rPID|1\r"),
        .channel = "mllp"};
    assert_int_equal(cw_journal_append(j, &e0, NULL, NULL, &err), 0);
    cw_journal_close(j);

    proc_n = 0;
    cw_server_set_ack_builder(NULL, NULL);
    cw_server_set_v2_processor(stub_process, NULL);
    struct cw_server *s = start(NULL, &err);
    assert_non_null(s);
    assert_int_equal(proc_n, 1); /* recovered before the listener opened */
    assert_int_equal(proc_seen[0], 1);
    struct cw_mllp_client_opts o = {
        .host = "127.0.0.1", .port = cw_server_mllp_port(s), .timeout_ms = 10000};
    struct cw_mllp_client *c;
    assert_int_equal(cw_mllp_client_connect(&o, &c, &err), 0);
    char ack[4096];
    assert_int_equal(
        exchange_full(c, "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|OK1|P|2.5\rPID|1\r", ack, sizeof ack),
        1);
    assert_non_null(strstr(ack, "MSA|AA|OK1"));
    assert_int_equal(exchange_full(c, "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|BAD1|P|2.5\rPID|1\r",
                                   ack, sizeof ack),
                     1);
    assert_non_null(strstr(ack, "MSA|AE|BAD1"));
    assert_non_null(strstr(ack, "ERR|"));
    assert_non_null(strstr(ack, "|PID^"));
    assert_non_null(strstr(ack, "101^"));
    assert_int_equal(
        exchange_full(c, "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|NS1|P|2.5\rPID|1\r", ack, sizeof ack),
        1);
    assert_non_null(strstr(ack, "MSA|AR|NS1"));
    assert_non_null(strstr(ack, "201^"));
    /* Pipelined: all AA, processed in journal order. */
    for (int i = 0; i < 40; i++)
        cw_mllp_client_queue(c, CW_LIT("MSH|^~\\&|A|B|C|D|20240101||ADT^A08|P|P|2.5\rPID|1\r"),
                             &err);
    assert_int_equal(cw_mllp_client_flush(c, &err), 0);
    cw_slice f, k;
    for (int i = 0; i < 40; i++) {
        assert_int_equal(cw_mllp_client_next(c, &f, &err), 1);
        assert_int_equal(cw_mllp_ack_code(f, &k), 0);
        assert_true(cw_slice_eq_cstr(k, "AA"));
    }
    cw_mllp_client_close(c);
    cw_server_stop(s);
    cw_server_set_v2_processor(NULL, NULL);
    assert_int_equal(proc_n, 1 + 3 + 40);
    for (int i = 1; i < proc_n; i++) assert_true(proc_seen[i] > proc_seen[i - 1]);

    assert_int_equal(cw_journal_open(journal, NULL, &j, &err), 0);
    assert_int_equal(cw_journal_count(j, -1, &err), 44);
    assert_int_equal(cw_journal_count(j, CW_JOURNAL_RECEIVED, &err), 0);
    assert_int_equal(cw_journal_count(j, CW_JOURNAL_ERROR, &err), 2);
    assert_int_equal(cw_journal_count(j, CW_JOURNAL_PROCESSED, &err), 42);
    struct cw_arena *a = cw_arena_new(1 << 20);
    struct cw_journal_record r;
    assert_int_equal(cw_journal_get(j, a, 3, &r, &err), 0); /* BAD1 */
    assert_int_equal(r.status, CW_JOURNAL_ERROR);
    assert_true(cw_slice_eq_cstr(r.ack_code, "AE"));
    assert_int_equal(r.error_code, 101);
    assert_true(cw_slice_eq_cstr(r.error_location, "PID-3"));
    assert_int_equal(cw_journal_get(j, a, 2, &r, &err), 0); /* OK1 */
    assert_true(cw_slice_eq_cstr(r.ack_code, "AA"));
    assert_int_equal(r.status, CW_JOURNAL_PROCESSED);
    cw_arena_destroy(a);
    cw_journal_close(j);
}

static int teardown(void **state)
{
    (void)state;
    static const char *const files[] = {"journal.db",  "journal.db-wal",  "journal.db-shm",
                                        "causeway.db", "causeway.db-wal", "causeway.db-shm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[300];
        snprintf(p, sizeof p, "%s/%s", data_dir, files[i]);
        unlink(p);
    }
    return 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    cw_log_threshold = getenv("CW_TEST_VERBOSE") ? CW_LOG_DEBUG : CW_LOG_ERROR;
    if (!mkdtemp(data_dir)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test_teardown(test_default_builder, teardown),
        cmocka_unit_test_teardown(test_stub_builder_paths, teardown),
        cmocka_unit_test_teardown(test_pipeline_processor, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(data_dir);
    return rc;
}
