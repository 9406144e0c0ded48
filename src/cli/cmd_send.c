/*
 * cmd_send.c — `causeway send`: the MLLP client command.
 *
 *   causeway send [--tls] [--ca FILE] [--timeout S] [--window N] [--retry N]
 *                 [--quiet] HOST:PORT FILE...
 *
 * Reads every FILE ('-' = standard input), splits each into HL7 v2
 * messages with cw_mllp_split_messages (batch envelopes and several
 * messages per file are fine; the rules are in net/mllp.h), sends them over
 * one connection with up to N messages in flight (pipelining; replies come
 * back in order), and reads each ACK's MSA-1 code; with --retry N, a
 * connection that cannot be made, breaks or times out waiting for an ACK
 * is made again (up to N times, waiting 1, 2, 4 ... 30 s) and every message
 * not yet acknowledged is sent again (the receiver's idempotent ingest makes
 * a resend safe; MLLP original mode leaves retries to the sender); messages of type ACK are
 * sent without waiting for a reply (an acknowledgment is not acknowledged).
 * Prints one line per
 * message that was not accepted (file, position, MSH-10 control id, code —
 * never message content), a summary of codes, and progress on a terminal.
 *
 * Exit status: 0 when every message got AA (or CA), 1 when any got another
 * code, an unreadable ACK, an ACK for a different control id, or no ACK at
 * all; 2 for usage errors, unreadable files or a failed connection.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "cli/cli.h"
#include "net/mllp.h"
#include "net/net.h"
#include "server/server.h"

struct msg {
    char *data;
    size_t len;
    const char *file;
    size_t index; /* 1-based within its file */
    bool one_way; /* an ACK itself: not acknowledged, so no reply is awaited */
};

struct msgs {
    struct msg *v;
    size_t n, cap;
    const char *file;
    size_t in_file;
};

/* Result classes, in summary order. */
enum { R_AA, R_AE, R_AR, R_CA, R_CE, R_CR, R_OTHER, R_BAD, R_MISMATCH, R_NONE, R_ONE_WAY, R_COUNT };
static const char *const result_name[R_COUNT] = {
    "AA",
    "AE",
    "AR",
    "CA",
    "CE",
    "CR",
    "other code",
    "unreadable ACK",
    "ACK for another message",
    "no ACK",
    "ACK messages sent (not acknowledged)",
};

static void send_usage(FILE *out)
{
    fprintf(out,
            "usage: causeway send [options] HOST:PORT FILE...\n"
            "\n"
            "Send HL7 v2 messages over MLLP and report the acknowledgments.\n"
            "FILE may hold one message, several, or a batch (FHS/BHS...BTS/FTS);\n"
            "'-' reads standard input.\n"
            "\n"
            "  --tls          use TLS (verifies the server certificate and host name)\n"
            "  --ca FILE      trust the CA certificates in FILE (PEM) instead of the system's\n"
            "  --timeout S    seconds to wait to connect and for each ACK (default 30)\n"
            "  --window N     messages in flight at once (default 16; 1 = wait for each ACK)\n"
            "  --retry N      reconnect up to N times when the connection fails, breaks or an\n"
            "                 ACK times out, resending what was not acknowledged (default 0)\n"
            "  --quiet        only the summary\n"
            "\n"
            "Exit status: 0 all AA/CA, 1 any other outcome, 2 usage or connection error.\n");
}

static int add_msg(void *ctx, cw_slice m)
{
    struct msgs *ms = ctx;
    if (ms->n == ms->cap) {
        size_t cap = ms->cap ? ms->cap * 2 : 64;
        struct msg *v = realloc(ms->v, cap * sizeof *v);
        if (!v) return -1;
        ms->v = v;
        ms->cap = cap;
    }
    char *d = malloc(m.len ? m.len : 1);
    if (!d) return -1;
    memcpy(d, m.ptr, m.len);
    /* HL7 v2 (2.9.2, original mode): an acknowledgment is not itself
     * acknowledged, so a message of type ACK gets no reply to wait for. */
    cw_slice type;
    bool ack = cw_mllp_field(m, "MSH", 9, &type) == 0 &&
               cw_slice_starts_with(type, CW_LIT("ACK")) &&
               (type.len == 3 || !((type.ptr[3] >= 'A' && type.ptr[3] <= 'Z') ||
                                   (type.ptr[3] >= '0' && type.ptr[3] <= '9')));
    ms->v[ms->n++] = (struct msg){d, m.len, ms->file, ++ms->in_file, ack};
    return 0;
}

static char *read_stream(FILE *f, size_t *len)
{
    struct cw_buf b;
    cw_buf_init(&b, 0);
    char chunk[65536];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) cw_buf_append(&b, chunk, r);
    if (ferror(f)) {
        cw_buf_release(&b);
        return NULL;
    }
    return cw_buf_detach(&b, len);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int classify(cw_slice ack, const struct msg *m)
{
    cw_slice code, ctl_sent, ctl_ack;
    if (cw_mllp_ack_code(ack, &code) < 0) return R_BAD;
    if (cw_mllp_field(cw_slice_make(m->data, m->len), "MSH", 10, &ctl_sent) == 0 &&
        cw_mllp_field(ack, "MSA", 2, &ctl_ack) == 0 && !cw_slice_eq(ctl_sent, ctl_ack))
        return R_MISMATCH;
    static const char *const codes[] = {"AA", "AE", "AR", "CA", "CE", "CR"};
    for (int i = 0; i < 6; i++)
        if (cw_slice_eq_cstr(code, codes[i])) return i;
    return R_OTHER;
}

static void report(const struct msg *m, int result, bool quiet)
{
    if (quiet || result == R_AA || result == R_CA || result == R_ONE_WAY) return;
    cw_slice ctl = CW_SLICE_NULL;
    cw_mllp_field(cw_slice_make(m->data, m->len), "MSH", 10, &ctl);
    if (ctl.len > 64) ctl.len = 64;
    fprintf(stderr, "%s: message %zu (MSH-10 %.*s): %s\n", m->file, m->index, CW_SLICE_FMT(ctl),
            result_name[result]);
}

/* Wait before reconnect attempt n of max (1, 2, 4, ... 30 s) and say why. */
static void backoff(long long n, long long max, const char *why, bool quiet)
{
    unsigned secs = n >= 6 ? 30u : 1u << (n - 1);
    if (secs > 30) secs = 30;
    if (!quiet)
        fprintf(stderr, "causeway send: %s; reconnecting in %u s (attempt %lld of %lld)\n", why, secs,
                n, max);
    sleep(secs);
}

int cw_cmd_send(int argc, char **argv)
{
    bool tls = false, quiet = false;
    const char *ca = NULL, *target = NULL;
    long long timeout_s = 30, window = 16, retries = 0;
    int first_file = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            send_usage(stdout);
            return CW_EXIT_OK;
        } else if (strcmp(a, "--tls") == 0) {
            tls = true;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = true;
        } else if (strcmp(a, "--ca") == 0 && i + 1 < argc) {
            ca = argv[++i];
            tls = true;
        } else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
            if (cw_slice_to_i64(cw_slice_cstr(argv[++i]), &timeout_s) < 0 || timeout_s < 1 ||
                timeout_s > 86400) {
                fprintf(stderr, "causeway send: --timeout expects 1..86400 seconds\n");
                return CW_EXIT_USAGE;
            }
        } else if (strcmp(a, "--window") == 0 && i + 1 < argc) {
            if (cw_slice_to_i64(cw_slice_cstr(argv[++i]), &window) < 0 || window < 1 ||
                window > 4096) {
                fprintf(stderr, "causeway send: --window expects 1..4096\n");
                return CW_EXIT_USAGE;
            }
        } else if (strcmp(a, "--retry") == 0 && i + 1 < argc) {
            if (cw_slice_to_i64(cw_slice_cstr(argv[++i]), &retries) < 0 || retries < 0 ||
                retries > 1000) {
                fprintf(stderr, "causeway send: --retry expects 0..1000\n");
                return CW_EXIT_USAGE;
            }
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "causeway send: unknown option '%s'\n", a);
            send_usage(stderr);
            return CW_EXIT_USAGE;
        } else if (!target) {
            target = a;
        } else {
            first_file = i;
            break;
        }
    }
    if (!target || first_file < 0) {
        send_usage(stderr);
        return CW_EXIT_USAGE;
    }
    char host[CW_ADDR_MAX];
    int port;
    if (cw_config_parse_listen(target, host, sizeof host, &port) < 0 || !host[0] || port == 0) {
        fprintf(stderr, "causeway send: expected HOST:PORT, got '%s'\n", target);
        return CW_EXIT_USAGE;
    }

    /* Read and split every input before connecting. */
    struct msgs ms = {0};
    int rc = CW_EXIT_OK;
    for (int i = first_file; i < argc; i++) {
        const char *path = argv[i];
        bool is_stdin = strcmp(path, "-") == 0;
        FILE *f = is_stdin ? stdin : fopen(path, "rb");
        if (!f) {
            fprintf(stderr, "causeway send: cannot open %s\n", path);
            rc = CW_EXIT_USAGE;
            goto done;
        }
        size_t len = 0;
        char *data = read_stream(f, &len);
        if (!is_stdin) fclose(f);
        if (!data) {
            fprintf(stderr, "causeway send: cannot read %s\n", path);
            rc = CW_EXIT_USAGE;
            goto done;
        }
        ms.file = is_stdin ? "(stdin)" : path;
        ms.in_file = 0;
        size_t found = 0;
        struct cw_err err;
        if (cw_mllp_split_messages(cw_slice_make(data, len), add_msg, &ms, &found, &err) != 0) {
            fprintf(stderr, "causeway send: %s: out of memory\n", path);
            free(data);
            rc = CW_EXIT_USAGE;
            goto done;
        }
        if (found == 0)
            fprintf(stderr, "causeway send: %s: no HL7 v2 message (no MSH segment)\n", ms.file);
        free(data);
    }
    if (ms.n == 0) {
        fprintf(stderr, "causeway send: nothing to send\n");
        rc = CW_EXIT_FAIL;
        goto done;
    }

    signal(SIGPIPE, SIG_IGN);
    struct cw_err err;
    cw_err_clear(&err);
    struct cw_tls_ctx *tctx = NULL;
    if (tls && cw_tls_client_new(ca, &tctx, &err) < 0) {
        fprintf(stderr, "causeway send: %s\n", err.msg);
        rc = CW_EXIT_USAGE;
        goto done;
    }
    struct cw_mllp_client_opts co = {
        .host = host, .port = port, .tls = tctx, .timeout_ms = (int)(timeout_s * 1000)};
    struct cw_mllp_client *c = NULL;
    double t0 = now_s();
    long long attempt = 0;
    while (cw_mllp_client_connect(&co, &c, &err) < 0) {
        if (attempt >= retries) {
            fprintf(stderr, "causeway send: %s\n", err.msg);
            cw_tls_free(tctx);
            rc = CW_EXIT_USAGE;
            goto done;
        }
        backoff(++attempt, retries, err.msg, quiet);
    }

    size_t counts[R_COUNT] = {0};
    size_t sent = 0, acked = 0;
    bool tty = isatty(STDERR_FILENO) && !quiet;
    double last_progress = 0;
    const char *stop_reason = NULL;
    char reason[CW_ERR_MSG_MAX];
    while (acked < ms.n) {
        if (stop_reason) {
            /* the connection failed: make it again and resend what is not acknowledged */
            snprintf(reason, sizeof reason, "%s", stop_reason);
            cw_mllp_client_close(c);
            c = NULL;
            while (!c && attempt < retries) {
                backoff(++attempt, retries, reason, quiet);
                if (cw_mllp_client_connect(&co, &c, &err) < 0) {
                    snprintf(reason, sizeof reason, "%s", err.msg);
                    c = NULL;
                }
            }
            if (!c) {
                stop_reason = reason;
                break;
            }
            stop_reason = NULL;
            sent = acked;
        }
        while (sent < ms.n && sent - acked < (size_t)window) {
            if (!ms.v[sent].data) { /* could not be framed: counted when first met */
                sent++;
                continue;
            }
            if (cw_mllp_client_queue(c, cw_slice_make(ms.v[sent].data, ms.v[sent].len), &err) < 0) {
                /* Cannot be framed (holds 0x0B/0x1C): never sent, no ACK. */
                report(&ms.v[sent], R_NONE, quiet);
                if (!quiet) fprintf(stderr, "  (not sent: %s)\n", err.msg);
                counts[R_NONE]++;
                /* Marked as answered: the ACK loop below skips it in order. */
                free(ms.v[sent].data);
                ms.v[sent].data = NULL;
                ms.v[sent].len = 0;
                sent++;
                continue;
            }
            sent++;
        }
        if (acked >= ms.n) break;
        if (!ms.v[acked].data) { /* could not be sent (counted above) */
            acked++;
            continue;
        }
        if (ms.v[acked].one_way) {
            counts[R_ONE_WAY]++;
            acked++;
            if (acked == ms.n && cw_mllp_client_flush(c, &err) < 0) {
                stop_reason = err.msg;
                if (attempt < retries) acked--, counts[R_ONE_WAY]--; /* flush it again */
                else break;
            }
            continue;
        }
        cw_slice f;
        int r = cw_mllp_client_next(c, &f, &err);
        if (r <= 0) {
            stop_reason = r == 0 ? "the server closed the connection" : err.msg;
            if (attempt < retries) continue;
            break;
        }
        int result = r == 2 ? R_BAD : classify(f, &ms.v[acked]);
        counts[result]++;
        report(&ms.v[acked], result, quiet);
        acked++;
        if (tty) {
            double t = now_s();
            if (t - last_progress > 0.1 || acked == ms.n) {
                last_progress = t;
                fprintf(stderr, "\r  %zu/%zu acknowledged (AA %zu)   ", acked, ms.n, counts[R_AA]);
                if (acked == ms.n) fputc('\n', stderr);
            }
        }
    }
    double secs = now_s() - t0;
    if (tty && acked < ms.n) fputc('\n', stderr);
    if (stop_reason) {
        fprintf(stderr, "causeway send: %s after %zu of %zu messages\n", stop_reason, acked, ms.n);
        for (size_t i = acked; i < ms.n; i++) {
            if (!ms.v[i].data || ms.v[i].one_way) continue;
            counts[R_NONE]++;
            report(&ms.v[i], R_NONE, quiet);
        }
    }
    if (c) cw_mllp_client_close(c);
    cw_tls_free(tctx);

    printf("sent %zu message%s to %s:%d%s in %.2f s (%.0f msg/s):", ms.n, ms.n == 1 ? "" : "s",
           host, port, tls ? " (TLS)" : "", secs, secs > 0 ? (double)acked / secs : 0.0);
    const char *sep = " ";
    for (int i = 0; i < R_COUNT; i++) {
        if (!counts[i]) continue;
        printf("%s%s %zu", sep, result_name[i], counts[i]);
        sep = ", ";
    }
    printf("\n");
    rc = counts[R_AA] + counts[R_CA] + counts[R_ONE_WAY] == ms.n && !stop_reason ? CW_EXIT_OK
                                                                                 : CW_EXIT_FAIL;
done:
    for (size_t i = 0; i < ms.n; i++) free(ms.v[i].data);
    free(ms.v);
    return rc;
}
