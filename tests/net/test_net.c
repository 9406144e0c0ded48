/*
 * test_net.c — the MLLP listener and client over loopback (net/net.h).
 *
 * The handler here answers from another thread, late and out of order, the
 * way the journal does; the tests check that replies still come back in
 * per-connection order, and exercise the limits: pipelining window,
 * max connections, idle timeout (but not while a reply is pending),
 * oversize frames, garbage between frames, TLS with verification, and a
 * graceful stop with replies still to come.
 */
#include "testutil.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "net/net.h"

/* --- an asynchronous responder --------------------------------------------- */

struct pending {
    struct cw_mllp_request *req;
    char *reply;
    size_t len;
    struct pending *next;
};

struct responder {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pending *list;
    bool quit, hold; /* hold: keep requests until released */
    int delay_ms;
    pthread_t th;
    int received, oversize;
    int max_held;
    int held;
    bool sync; /* reply inside the handler instead */
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reply = "ACK:" + frame, or "" for frames starting with "NOREPLY". */
static void on_frame(void *ctx, struct cw_mllp_request *req, cw_slice frame,
                     const struct cw_mllp_frame_info *info)
{
    struct responder *r = ctx;
    struct pending *p = calloc(1, sizeof *p);
    p->req = req;
    if (info->oversize) {
        p->reply = strdup("OVERSIZE");
        p->len = 8;
    } else if (!cw_slice_starts_with(frame, CW_LIT("NOREPLY"))) {
        p->len = frame.len + 4;
        p->reply = malloc(p->len);
        memcpy(p->reply, "ACK:", 4);
        memcpy(p->reply + 4, frame.ptr, frame.len);
    }
    if (r->sync) {
        cw_mllp_request_reply(req, cw_slice_make(p->reply, p->len));
        free(p->reply);
        free(p);
        pthread_mutex_lock(&r->mu);
        r->received++;
        pthread_mutex_unlock(&r->mu);
        return;
    }
    pthread_mutex_lock(&r->mu);
    r->received++;
    if (info->oversize) r->oversize++;
    p->next = r->list; /* LIFO: replies will be produced out of order */
    r->list = p;
    r->held++;
    if (r->held > r->max_held) r->max_held = r->held;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void *responder_main(void *arg)
{
    struct responder *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->quit && (!r->list || r->hold)) pthread_cond_wait(&r->cv, &r->mu);
        if (r->quit && !r->list) break;
        if (r->hold && !r->quit) continue;
        struct pending *batch = r->list;
        r->list = NULL;
        pthread_mutex_unlock(&r->mu);
        if (r->delay_ms) sleep_ms(r->delay_ms);
        for (struct pending *p = batch, *next; p; p = next) {
            next = p->next;
            /* Count it released before the listener can see the reply. */
            pthread_mutex_lock(&r->mu);
            r->held--;
            pthread_mutex_unlock(&r->mu);
            cw_mllp_request_reply(p->req, cw_slice_make(p->reply, p->len));
            free(p->reply);
            free(p);
        }
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void responder_start(struct responder *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    pthread_create(&r->th, NULL, responder_main, r);
}

static void responder_set_hold(struct responder *r, bool hold)
{
    pthread_mutex_lock(&r->mu);
    r->hold = hold;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void responder_stop(struct responder *r)
{
    pthread_mutex_lock(&r->mu);
    r->quit = true;
    r->hold = false;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->th, NULL);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
}

static struct cw_mllp_listener *listen_with(struct responder *r, struct cw_mllp_listener_opts *o)
{
    o->addr = "127.0.0.1";
    o->port = 0;
    o->on_frame = on_frame;
    o->ctx = r;
    struct cw_mllp_listener *l;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_mllp_listener_start(o, &l, &err) < 0) fail_msg("listener: %s", err.msg);
    return l;
}

static struct cw_mllp_client *dial(struct cw_mllp_listener *l, struct cw_tls_ctx *tls,
                                   int timeout_ms)
{
    struct cw_mllp_client_opts co = {.host = "127.0.0.1",
                                     .port = cw_mllp_listener_port(l),
                                     .tls = tls,
                                     .timeout_ms = timeout_ms};
    struct cw_mllp_client *c;
    struct cw_err err;
    if (cw_mllp_client_connect(&co, &c, &err) < 0) fail_msg("connect: %s", err.msg);
    return c;
}

/* --- pipelined clients, replies in order ------------------------------------ */

struct client_run {
    int port, id, messages, window;
    int ok, bad;
    struct cw_tls_ctx *tls;
};

static void *client_main(void *arg)
{
    struct client_run *cr = arg;
    struct cw_mllp_client_opts co = {
        .host = "127.0.0.1", .port = cr->port, .tls = cr->tls, .timeout_ms = 20000};
    struct cw_mllp_client *c;
    struct cw_err err;
    if (cw_mllp_client_connect(&co, &c, &err) < 0) {
        cr->bad = cr->messages;
        return NULL;
    }
    int sent = 0, got = 0;
    char msg[128], want[160];
    while (got < cr->messages) {
        while (sent < cr->messages && sent - got < cr->window) {
            int n = snprintf(msg, sizeof msg, "MSH|^~\\&|client%d|msg%d\r", cr->id, sent);
            cw_mllp_client_queue(c, cw_slice_make(msg, (size_t)n), &err);
            sent++;
        }
        cw_slice f;
        if (cw_mllp_client_next(c, &f, &err) != 1) break;
        int n = snprintf(want, sizeof want, "ACK:MSH|^~\\&|client%d|msg%d\r", cr->id, got);
        if (cw_slice_eq(f, cw_slice_make(want, (size_t)n)))
            cr->ok++;
        else
            cr->bad++;
        got++;
    }
    cw_mllp_client_close(c);
    return NULL;
}

static void run_clients(struct cw_mllp_listener *l, struct cw_tls_ctx *tls, int nclients,
                        int messages, int window)
{
    pthread_t th[8];
    struct client_run cr[8];
    for (int i = 0; i < nclients; i++) {
        cr[i] = (struct client_run){.port = cw_mllp_listener_port(l),
                                    .id = i,
                                    .messages = messages,
                                    .window = window,
                                    .tls = tls};
        pthread_create(&th[i], NULL, client_main, &cr[i]);
    }
    for (int i = 0; i < nclients; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(cr[i].bad, 0);
        assert_int_equal(cr[i].ok, messages);
    }
}

static void test_pipelined_in_order(void **state)
{
    (void)state;
    struct responder r;
    responder_start(&r);
    r.delay_ms = 1;
    struct cw_mllp_listener_opts o = {.max_pipeline = 8};
    struct cw_mllp_listener *l = listen_with(&r, &o);
    run_clients(l, NULL, 4, 300, 32); /* window beyond max_pipeline: backpressure */
    run_clients(l, NULL, 2, 50, 1);   /* one at a time */
    struct cw_mllp_listener_stats st;
    cw_mllp_listener_get_stats(l, &st);
    assert_int_equal(st.frames, 4 * 300 + 2 * 50);
    assert_int_equal(st.replies, st.frames);
    assert_int_equal(st.accepted, 6);
    assert_true(r.max_held <= 4 * 8); /* never more than the window per connection */
    cw_mllp_listener_stop(l);
    responder_stop(&r);
}

static void test_sync_reply_and_empty_reply(void **state)
{
    (void)state;
    struct responder r;
    responder_start(&r);
    r.sync = true;
    struct cw_mllp_listener_opts o = {0};
    struct cw_mllp_listener *l = listen_with(&r, &o);
    struct cw_mllp_client *c = dial(l, NULL, 5000);
    struct cw_err err;
    cw_mllp_client_queue(c, CW_LIT("one"), &err);
    cw_mllp_client_queue(c, CW_LIT("NOREPLY (an ACK to an ACK is not sent)"), &err);
    cw_mllp_client_queue(c, CW_LIT("three"), &err);
    cw_slice f;
    assert_int_equal(cw_mllp_client_next(c, &f, &err), 1);
    assert_slice_equal(f, "ACK:one");
    assert_int_equal(cw_mllp_client_next(c, &f, &err), 1);
    assert_slice_equal(f, "ACK:three");
    cw_mllp_client_close(c);
    cw_mllp_listener_stop(l);
    responder_stop(&r);
}

/* Raw socket, to send bytes a well-behaved client would not. */
static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) fail_msg("raw connect");
    return fd;
}

/* Read until n frames were seen or the peer closed; returns the bytes. */
static size_t raw_read_frames(int fd, char *buf, size_t cap, int frames)
{
    size_t len = 0;
    int seen = 0;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (seen < frames && len < cap) {
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r <= 0) break;
        for (ssize_t i = 0; i < r; i++)
            if (buf[len + (size_t)i] == CW_MLLP_EB) seen++;
        len += (size_t)r;
    }
    return len;
}

static void test_garbage_oversize_byte_at_a_time(void **state)
{
    (void)state;
    struct responder r;
    responder_start(&r);
    struct cw_mllp_listener_opts o = {.max_frame = 16};
    struct cw_mllp_listener *l = listen_with(&r, &o);
    int fd = raw_connect(cw_mllp_listener_port(l));
    const char in[] = "noise\r\n\x0b"
                      "first\x1c\r\n\x0b"
                      "this one is far too long\x1c\rjunk\x0b"
                      "last\x1c\r";
    /* One byte per write: the decoder must resume at every boundary. */
    for (size_t i = 0; i < sizeof in - 1; i++) {
        assert_int_equal(send(fd, in + i, 1, 0), 1);
        if (i % 7 == 0) sleep_ms(1);
    }
    char buf[512];
    size_t n = raw_read_frames(fd, buf, sizeof buf, 3);
    const char want[] = "\x0b"
                        "ACK:first\x1c\r\x0bOVERSIZE\x1c\r\x0b"
                        "ACK:last\x1c\r";
    assert_int_equal(n, sizeof want - 1);
    assert_memory_equal(buf, want, n);
    close(fd);
    struct cw_mllp_listener_stats st;
    sleep_ms(50);
    cw_mllp_listener_get_stats(l, &st);
    assert_int_equal(st.oversize, 1);
    assert_int_equal(st.frames, 3);
    assert_true(st.skipped_bytes >= 7 + 2 + 4);
    cw_mllp_listener_stop(l);
    responder_stop(&r);
}

static void test_max_connections(void **state)
{
    (void)state;
    struct responder r;
    responder_start(&r);
    struct cw_mllp_listener_opts o = {.max_connections = 2};
    struct cw_mllp_listener *l = listen_with(&r, &o);
    struct cw_mllp_client *a = dial(l, NULL, 3000), *b = dial(l, NULL, 3000);
    struct cw_err err;
    cw_slice f;
    /* Make sure both are accepted before the third arrives. */
    cw_mllp_client_queue(a, CW_LIT("a"), &err);
    assert_int_equal(cw_mllp_client_next(a, &f, &err), 1);
    cw_mllp_client_queue(b, CW_LIT("b"), &err);
    assert_int_equal(cw_mllp_client_next(b, &f, &err), 1);
    struct cw_mllp_client *c = dial(l, NULL, 3000);
    cw_mllp_client_queue(c, CW_LIT("c"), &err);
    int rc = cw_mllp_client_next(c, &f, &err);
    assert_true(rc == 0 || rc == -1); /* closed, no reply */
    struct cw_mllp_listener_stats st;
    cw_mllp_listener_get_stats(l, &st);
    assert_int_equal(st.rejected, 1);
    cw_mllp_client_close(c);
    /* Once one leaves, a new connection is welcome again. */
    cw_mllp_client_close(a);
    sleep_ms(100);
    c = dial(l, NULL, 3000);
    cw_mllp_client_queue(c, CW_LIT("c2"), &err);
    assert_int_equal(cw_mllp_client_next(c, &f, &err), 1);
    assert_slice_equal(f, "ACK:c2");
    cw_mllp_client_close(c);
    cw_mllp_client_close(b);
    cw_mllp_listener_stop(l);
    responder_stop(&r);
}

static void test_idle_timeout_not_while_pending(void **state)
{
    (void)state;
    struct responder r;
    responder_start(&r);
    r.delay_ms = 600; /* replies take longer than the idle timeout */
    struct cw_mllp_listener_opts o = {.idle_timeout_ms = 200};
    struct cw_mllp_listener *l = listen_with(&r, &o);
    struct cw_mllp_client *c = dial(l, NULL, 5000);
    struct cw_err err;
    cw_slice f;
    cw_mllp_client_queue(c, CW_LIT("slow"), &err);
    assert_int_equal(cw_mllp_client_next(c, &f, &err), 1);
    assert_slice_equal(f, "ACK:slow");
    /* Now nothing is pending: the connection is closed after ~200 ms. */
    long t0 = (long)time(NULL);
    assert_int_equal(cw_mllp_client_next(c, &f, &err), 0);
    assert_true((long)time(NULL) - t0 <= 2);
    cw_mllp_client_close(c);
    struct cw_mllp_listener_stats st;
    cw_mllp_listener_get_stats(l, &st);
    assert_int_equal(st.timeouts, 1);
    cw_mllp_listener_stop(l);
    responder_stop(&r);
}

static void *release_later(void *arg)
{
    sleep_ms(200);
    responder_set_hold(arg, false);
    return NULL;
}

static void test_stop_waits_for_replies(void **state)
{
    (void)state;
    struct responder r;
    responder_start(&r);
    responder_set_hold(&r, true);
    struct cw_mllp_listener_opts o = {0};
    struct cw_mllp_listener *l = listen_with(&r, &o);
    struct cw_mllp_client *c = dial(l, NULL, 5000);
    struct cw_err err;
    for (int i = 0; i < 5; i++) cw_mllp_client_queue(c, CW_LIT("pending"), &err);
    assert_int_equal(cw_mllp_client_flush(c, &err), 0);
    while (1) {
        pthread_mutex_lock(&r.mu);
        int got = r.received;
        pthread_mutex_unlock(&r.mu);
        if (got == 5) break;
        sleep_ms(5);
    }
    /* Release the replies 200 ms after stop begins: stop must wait for them. */
    pthread_t th;
    pthread_create(&th, NULL, release_later, &r);
    cw_mllp_listener_stop(l);
    pthread_join(th, NULL);
    /* The replies were written before the connection closed. */
    cw_slice f;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(cw_mllp_client_next(c, &f, &err), 1);
        assert_slice_equal(f, "ACK:pending");
    }
    assert_int_equal(cw_mllp_client_next(c, &f, &err), 0);
    cw_mllp_client_close(c);
    responder_stop(&r);
}

/* --- TLS ----------------------------------------------------------------- */

static void make_cert(const char *cert_path, const char *key_path, const char *cn)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    assert_non_null(pkey);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext =
        X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
    FILE *f = fopen(cert_path, "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(key_path, "w");
    PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
}

static void test_tls(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-tls-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cert[64], key[64], other[64], okey[64];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(other, sizeof other, "%s/other.pem", dir);
    snprintf(okey, sizeof okey, "%s/okey.pem", dir);
    make_cert(cert, key, "causeway-test");
    make_cert(other, okey, "someone-else");

    struct cw_err err;
    struct cw_tls_ctx *srv, *cli, *wrong;
    assert_int_equal(cw_tls_server_new(cert, key, &srv, &err), 0);
    assert_int_equal(cw_tls_client_new(cert, &cli, &err), 0);
    assert_int_equal(cw_tls_client_new(other, &wrong, &err), 0);
    assert_int_equal(cw_tls_server_new(cert, okey, &(struct cw_tls_ctx *){NULL}, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_SECURITY);

    struct responder r;
    responder_start(&r);
    struct cw_mllp_listener_opts o = {.tls = srv};
    struct cw_mllp_listener *l = listen_with(&r, &o);
    run_clients(l, cli, 3, 100, 10);

    /* A client that does not trust the server's certificate refuses it. */
    struct cw_mllp_client_opts co = {
        .host = "127.0.0.1", .port = cw_mllp_listener_port(l), .tls = wrong, .timeout_ms = 3000};
    struct cw_mllp_client *c;
    cw_err_clear(&err);
    assert_int_equal(cw_mllp_client_connect(&co, &c, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_SECURITY);
    /* A host name that is not in the certificate is refused too. */
    co.host = "localhost";
    co.tls = cli;
    assert_int_equal(cw_mllp_client_connect(&co, &c, &err), 0); /* DNS:localhost is in the SAN */
    cw_mllp_client_close(c);

    cw_mllp_listener_stop(l);
    responder_stop(&r);
    cw_tls_free(srv);
    cw_tls_free(cli);
    cw_tls_free(wrong);
    unlink(cert), unlink(key), unlink(other), unlink(okey);
    rmdir(dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as causeway serve/send do: see net.h */
    cw_log_threshold = getenv("CW_TEST_VERBOSE") ? CW_LOG_DEBUG : CW_LOG_WARN;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipelined_in_order),
        cmocka_unit_test(test_sync_reply_and_empty_reply),
        cmocka_unit_test(test_garbage_oversize_byte_at_a_time),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_idle_timeout_not_while_pending),
        cmocka_unit_test(test_stop_waits_for_replies),
        cmocka_unit_test(test_tls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
