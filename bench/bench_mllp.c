/*
 * bench_mllp.c — MLLP loopback round trips per second, with the ACK.
 *
 *   bench_mllp [--reps R] [--seconds S] [--messages N] [DIR]
 *
 * Messages: the HL7 v2 corpus under DIR (default $CW_CORPUS/hl7v2, split
 * with cw_mllp_split_messages, the peers' input rules), cycled.
 *
 * Two server paths, each with several client shapes (connections x
 * pipelining window; clients are threads using cw_mllp_client):
 *   c-transport  listener only: the handler answers a fixed small ACK at
 *                once. Measures framing, the event loop and the socket path.
 *   c-durable    the real `causeway serve` path (cw_server_start): every
 *                message is journaled with synchronous=FULL (group commit)
 *                before its ACK is built; the ACK builder here is a
 *                bench-only stand-in (MSA|AA|<MSH-10>), since the hl7v2
 *                module's builder is registered elsewhere.
 * One JSON line per (path, shape): items = round trips of the median rep,
 * bytes = message bytes sent, seconds = median rep wall time; extras:
 * connections, window, reps, durable, fsync_batches (journal commits).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "benchutil.h"
#include "net/mllp.h"
#include "net/net.h"
#include "server/server.h"

struct corpus {
    cw_slice *msg;
    size_t n, cap, bytes;
};

static int add(void *ctx, cw_slice m)
{
    struct corpus *c = ctx;
    cw_slice t;
    /* Skip ACK messages: they are not acknowledged. */
    if (cw_mllp_field(m, "MSH", 9, &t) == 0 && cw_slice_starts_with(t, CW_LIT("ACK"))) return 0;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->msg = realloc(c->msg, c->cap * sizeof *c->msg);
    }
    char *p = malloc(m.len);
    memcpy(p, m.ptr, m.len);
    c->msg[c->n++] = cw_slice_make(p, m.len);
    c->bytes += m.len;
    return 0;
}

/* --- transport-only handler -------------------------------------------- */

static const char fixed_ack[] = "MSH|^~\\&|CW|BENCH|||20260101000000||ACK|1|P|2.5\rMSA|AA|1\r";

static void on_frame(void *ctx, struct cw_mllp_request *req, cw_slice frame,
                     const struct cw_mllp_frame_info *info)
{
    (void)ctx, (void)frame, (void)info;
    cw_mllp_request_reply(req, CW_LIT(fixed_ack));
}

/* --- bench-only ACK builder for the durable path ------------------------ */

static int bench_ack(void *ctx, const struct cw_ack_request *req, struct cw_buf *out,
                     struct cw_ack_result *res)
{
    (void)ctx;
    cw_slice ctl = CW_SLICE_NULL;
    cw_mllp_field(req->message, "MSH", 10, &ctl);
    if (ctl.len > 64) ctl.len = 64;
    const char *code = req->outcome == CW_INBOUND_STORED ? "AA" : "AE";
    snprintf(res->code, sizeof res->code, "%s", code);
    cw_buf_printf(out, "MSH|^~\\&|CW|BENCH|||20260101000000||ACK|A%.*s|P|2.5\rMSA|%s|%.*s\r",
                  CW_SLICE_FMT(ctl), code, CW_SLICE_FMT(ctl));
    return 0;
}

/* --- clients ------------------------------------------------------------ */

struct client_job {
    int port, window;
    size_t first, count; /* message indexes (cycled) */
    const struct corpus *c;
    size_t done, errors, bytes;
};

static void *client_main(void *arg)
{
    struct client_job *j = arg;
    struct cw_mllp_client_opts o = {.host = "127.0.0.1", .port = j->port, .timeout_ms = 30000};
    struct cw_mllp_client *cl;
    struct cw_err err;
    if (cw_mllp_client_connect(&o, &cl, &err) < 0) {
        j->errors = j->count;
        return NULL;
    }
    size_t sent = 0;
    while (j->done < j->count) {
        while (sent < j->count && sent - j->done < (size_t)j->window) {
            cw_slice m = j->c->msg[(j->first + sent) % j->c->n];
            cw_mllp_client_queue(cl, m, &err);
            j->bytes += m.len;
            sent++;
        }
        cw_slice f, code;
        int r = cw_mllp_client_next(cl, &f, &err);
        if (r <= 0) {
            j->errors += j->count - j->done;
            break;
        }
        if (cw_mllp_ack_code(f, &code) < 0 || !cw_slice_eq_cstr(code, "AA")) j->errors++;
        j->done++;
    }
    cw_mllp_client_close(cl);
    return NULL;
}

/* One timed pass: `total` round trips over `conns` connections. */
static double run_pass(int port, const struct corpus *c, int conns, int window, size_t total,
                       size_t *errors, size_t *bytes)
{
    pthread_t th[64];
    struct client_job jobs[64];
    double t0 = cw_bench_now();
    for (int i = 0; i < conns; i++) {
        jobs[i] = (struct client_job){.port = port,
                                      .window = window,
                                      .c = c,
                                      .first = (size_t)i * 97,
                                      .count = total / (size_t)conns};
        pthread_create(&th[i], NULL, client_main, &jobs[i]);
    }
    *errors = 0;
    *bytes = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(th[i], NULL);
        *errors += jobs[i].errors;
        *bytes += jobs[i].bytes;
    }
    return cw_bench_now() - t0;
}

static void run_shapes(const char *peer, int port, const struct corpus *c, int reps, size_t total,
                       bool durable, struct cw_server *srv)
{
    static const int shapes[][2] = {{1, 1}, {1, 32}, {4, 1}, {4, 32}, {16, 8}};
    (void)srv;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int conns = shapes[s][0], window = shapes[s][1];
        /* Window 1 is latency-bound: fewer messages keep the run short. */
        size_t n = window == 1 ? total / 4 : total;
        n -= n % (size_t)conns;
        size_t errors = 0, bytes = 0;
        double secs[16];
        run_pass(port, c, conns, window, n / 10 + (size_t)conns, &errors, &bytes); /* warm-up */
        size_t err_total = 0;
        for (int r = 0; r < reps; r++) {
            secs[r] = run_pass(port, c, conns, window, n, &errors, &bytes);
            err_total += errors;
        }
        double med = cw_bench_median(secs, reps);
        char extra[200];
        snprintf(extra, sizeof extra, "\"connections\":%d,\"window\":%d,\"reps\":%d,\"durable\":%s",
                 conns, window, reps, durable ? "true" : "false");
        cw_bench_report("mllp-roundtrip", peer, n, bytes, med, err_total, extra);
    }
}

int main(int argc, char **argv)
{
    int reps = 3;
    size_t total = 20000;
    const char *dir = NULL;
    char def[4096];
    for (int i = 1; i < argc; i++) {
        long long v;
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            if (cw_slice_to_i64(cw_slice_cstr(argv[++i]), &v) == 0) reps = (int)v;
        } else if (strcmp(argv[i], "--messages") == 0 && i + 1 < argc) {
            if (cw_slice_to_i64(cw_slice_cstr(argv[++i]), &v) == 0 && v > 0) total = (size_t)v;
        } else {
            dir = argv[i];
        }
    }
    if (reps < 1 || reps > 16) reps = 3;
    if (!dir) {
        const char *root = getenv("CW_CORPUS");
        snprintf(def, sizeof def, "%s/hl7v2", root ? root : "../shared/corpus");
        dir = def;
    }
    signal(SIGPIPE, SIG_IGN);
    cw_log_threshold = CW_LOG_WARN;
    struct cw_bench_file *files = NULL;
    size_t nfiles = 0;
    if (cw_bench_load_dir(dir, NULL, &files, &nfiles) < 0 || nfiles == 0) {
        fprintf(stderr, "bench_mllp: no input under %s\n", dir);
        return 2;
    }
    struct corpus c = {0};
    for (size_t i = 0; i < nfiles; i++)
        cw_mllp_split_messages(cw_slice_make(files[i].data, files[i].len), add, &c, NULL, NULL);
    cw_bench_free_files(files, nfiles);
    fprintf(stderr, "bench_mllp: %zu messages (%zu bytes) from %s\n", c.n, c.bytes, dir);

    /* Transport only. */
    struct cw_mllp_listener_opts lo = {.addr = "127.0.0.1", .port = 0, .on_frame = on_frame};
    struct cw_mllp_listener *l;
    struct cw_err err;
    if (cw_mllp_listener_start(&lo, &l, &err) < 0) {
        fprintf(stderr, "bench_mllp: %s\n", err.msg);
        return 2;
    }
    run_shapes("c-transport", cw_mllp_listener_port(l), &c, reps, total, false, NULL);
    cw_mllp_listener_stop(l);

    /* The durable server path. */
    char tmpl[] = "/tmp/cw-bench-mllp-XXXXXX";
    if (!mkdtemp(tmpl)) return 2;
    struct cw_config cfg;
    cw_config_defaults(&cfg);
    cw_config_set(&cfg, "http", "127.0.0.1:0", &err);
    cw_config_set(&cfg, "mllp", "127.0.0.1:0", &err);
    cw_config_set(&cfg, "data", tmpl, &err);
    cw_config_set(&cfg, "threads", "1", &err);
    cw_server_set_ack_builder(bench_ack, NULL);
    struct cw_server *srv;
    if (cw_server_start(&cfg, &srv, &err) < 0) {
        fprintf(stderr, "bench_mllp: %s\n", err.msg);
        return 2;
    }
    run_shapes("c-durable", cw_server_mllp_port(srv), &c, reps, total / 2, true, srv);
    cw_server_stop(srv);
    static const char *const made[] = {"journal.db",  "journal.db-wal",  "journal.db-shm",
                                       "causeway.db", "causeway.db-wal", "causeway.db-shm"};
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", tmpl, made[i]);
        unlink(path);
    }
    rmdir(tmpl);
    for (size_t i = 0; i < c.n; i++) free((void *)c.msg[i].ptr);
    free(c.msg);
    return 0;
}
