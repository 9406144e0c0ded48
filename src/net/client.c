/*
 * client.c — the MLLP client: blocking calls over a non-blocking socket
 * and poll(), optionally through OpenSSL (see net.h).
 *
 * Owns: the socket, the SSL object, the output buffer (framed messages not
 * yet written) and the input buffer (bytes read, not yet decoded).
 *
 * Invariants:
 *  - out[out_off..out.len) is what remains to be written, in queue order.
 *  - in[in_off..in_len) is what remains to be fed to the decoder; a frame
 *    handed out by _next may point into `in` or into the decoder, so `in` is
 *    compacted only at the start of the following call.
 *  - While waiting for input, pending output is written as the socket
 *    allows: a peer that answers each message before reading the next can
 *    never deadlock us.
 */
#include "net/net_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"

#define IN_CAP ((size_t)64 << 10)

struct cw_mllp_client {
    int fd;
    SSL *ssl;
    int timeout_ms;
    struct cw_buf out;
    size_t out_off;
    char *in;
    size_t in_off, in_len;
    struct cw_mllp_decoder dec;
    bool eof;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(long long deadline)
{
    long long r = deadline - now_ms();
    return r < 0 ? 0 : r > 2147483647 ? 2147483647 : (int)r;
}

static const char *ossl_reason(void)
{
    unsigned long e = ERR_get_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : "connection closed during the handshake";
}

/* Non-blocking connect to one address, waiting until the deadline. */
static int connect_one(const struct addrinfo *ai, long long deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) return fd;
    if (errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int r = poll(&p, 1, remaining(deadline));
    if (r <= 0) {
        close(fd);
        errno = r == 0 ? ETIMEDOUT : errno;
        return -1;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr) {
        close(fd);
        errno = soerr;
        return -1;
    }
    return fd;
}

/* Wait for the socket (events) or the deadline. 0 ready, -1 timeout/error. */
static int wait_fd(int fd, short events, long long deadline)
{
    struct pollfd p = {.fd = fd, .events = events};
    int r;
    do {
        r = poll(&p, 1, remaining(deadline));
    } while (r < 0 && errno == EINTR);
    return r > 0 ? 0 : -1;
}

static int handshake(struct cw_mllp_client *c, const struct cw_mllp_client_opts *o,
                     long long deadline, struct cw_err *err)
{
    c->ssl = SSL_new(o->tls->ctx);
    if (!c->ssl) return cw_err_set(err, CW_ISSUE_EXCEPTION, "TLS: %s", ossl_reason());
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Verify the name we dialled: an IP address against the certificate's IP
     * SANs, a host name against its DNS names (and send it as SNI). */
    X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(vp, o->host) != 1) {
        SSL_set_tlsext_host_name(c->ssl, o->host);
        if (SSL_set1_host(c->ssl, o->host) != 1)
            return cw_err_set(err, CW_ISSUE_SECURITY, "TLS: bad host name");
    }
    for (;;) {
        int r = SSL_connect(c->ssl);
        if (r == 1) return 0;
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) < 0)
                return cw_err_set(err, CW_ISSUE_TIMEOUT, "TLS handshake timed out");
            continue;
        }
        long vr = SSL_get_verify_result(c->ssl);
        if (vr != X509_V_OK)
            return cw_err_set(err, CW_ISSUE_SECURITY, "TLS: server certificate not accepted: %s",
                              X509_verify_cert_error_string(vr));
        return cw_err_set(err, CW_ISSUE_SECURITY, "TLS handshake failed: %s", ossl_reason());
    }
}

int cw_mllp_client_connect(const struct cw_mllp_client_opts *o, struct cw_mllp_client **out,
                           struct cw_err *err)
{
    *out = NULL;
    struct cw_mllp_client *c = calloc(1, sizeof *c);
    if (!c) return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    c->fd = -1;
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
    cw_buf_init(&c->out, 0);
    c->in = malloc(IN_CAP);
    struct cw_mllp_decoder_opts dopts = {.max_frame = o->max_frame ? o->max_frame : (size_t)1 << 20,
                                         .lenient_eb = o->lenient_eb};
    cw_mllp_decoder_init(&c->dec, &dopts);
    if (!c->in) {
        cw_mllp_client_close(c);
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    }
    long long deadline = now_ms() + c->timeout_ms;

    char port[16];
    snprintf(port, sizeof port, "%d", o->port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int gr = getaddrinfo(o->host, port, &hints, &ai);
    if (gr != 0) {
        cw_mllp_client_close(c);
        return cw_err_set(err, CW_ISSUE_NOT_FOUND, "cannot resolve %.200s: %s", o->host,
                          gai_strerror(gr));
    }
    int last = 0;
    for (struct addrinfo *a = ai; a && c->fd < 0; a = a->ai_next) {
        c->fd = connect_one(a, deadline);
        if (c->fd < 0) last = errno;
    }
    freeaddrinfo(ai);
    if (c->fd < 0) {
        cw_mllp_client_close(c);
        return cw_err_set(err, last == ETIMEDOUT ? CW_ISSUE_TIMEOUT : CW_ISSUE_EXCEPTION,
                          "cannot connect to %.200s:%d: %s", o->host, o->port, strerror(last));
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (o->tls && handshake(c, o, deadline, err) < 0) {
        cw_mllp_client_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

int cw_mllp_client_queue(struct cw_mllp_client *c, cw_slice msg, struct cw_err *err)
{
    /* Reclaim what has been written before growing. */
    if (c->out_off && c->out_off == c->out.len) {
        cw_buf_reset(&c->out);
        c->out_off = 0;
    }
    return cw_mllp_encode(&c->out, msg, err);
}

size_t cw_mllp_client_pending(const struct cw_mllp_client *c)
{
    return c->out.len - c->out_off;
}

/* Write what the socket accepts now. 0 ok (maybe partial), -1 error. */
static int try_write(struct cw_mllp_client *c, short *want, struct cw_err *err)
{
    while (c->out_off < c->out.len) {
        size_t n = c->out.len - c->out_off;
        const char *p = c->out.ptr + c->out_off;
        if (c->ssl) {
            int r = SSL_write(c->ssl, p, n > (1u << 30) ? (1 << 30) : (int)n);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_WRITE)
                    *want |= POLLOUT;
                else if (e == SSL_ERROR_WANT_READ)
                    *want |= POLLIN;
                else
                    return cw_err_set(err, CW_ISSUE_EXCEPTION, "TLS write failed: %s",
                                      ossl_reason());
                return 0;
            }
            c->out_off += (size_t)r;
        } else {
            ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
            if (r < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    *want |= POLLOUT;
                    return 0;
                }
                if (errno == EINTR) continue;
                return cw_err_set(err, CW_ISSUE_EXCEPTION, "send failed: %s", strerror(errno));
            }
            c->out_off += (size_t)r;
        }
    }
    cw_buf_reset(&c->out);
    c->out_off = 0;
    return 0;
}

/* Read what is available into in[]. 1 got bytes, 0 nothing now, -1 error; sets c->eof. */
static int try_read(struct cw_mllp_client *c, short *want, struct cw_err *err)
{
    if (c->in_off == c->in_len) c->in_off = c->in_len = 0;
    if (c->in_len == IN_CAP) return 1; /* full: decode first */
    char *p = c->in + c->in_len;
    size_t room = IN_CAP - c->in_len;
    if (c->ssl) {
        int r = SSL_read(c->ssl, p, (int)room);
        if (r > 0) {
            c->in_len += (size_t)r;
            return 1;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ)
            *want |= POLLIN;
        else if (e == SSL_ERROR_WANT_WRITE)
            *want |= POLLOUT;
        else if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0))
            c->eof = true;
        else
            return cw_err_set(err, CW_ISSUE_EXCEPTION, "TLS read failed: %s", ossl_reason());
        return 0;
    }
    ssize_t r = recv(c->fd, p, room, 0);
    if (r > 0) {
        c->in_len += (size_t)r;
        return 1;
    }
    if (r == 0) {
        c->eof = true;
        return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        *want |= POLLIN;
        return 0;
    }
    return cw_err_set(err, CW_ISSUE_EXCEPTION, "recv failed: %s", strerror(errno));
}

int cw_mllp_client_flush(struct cw_mllp_client *c, struct cw_err *err)
{
    long long deadline = now_ms() + c->timeout_ms;
    while (cw_mllp_client_pending(c)) {
        short want = 0;
        if (try_write(c, &want, err) < 0) return -1;
        if (!cw_mllp_client_pending(c)) break;
        if (wait_fd(c->fd, want ? want : POLLOUT, deadline) < 0)
            return cw_err_set(err, CW_ISSUE_TIMEOUT, "timed out sending");
    }
    return 0;
}

int cw_mllp_client_next(struct cw_mllp_client *c, cw_slice *frame, struct cw_err *err)
{
    long long deadline = now_ms() + c->timeout_ms;
    *frame = CW_SLICE_NULL;
    for (;;) {
        /* Decode what we have. */
        while (c->in_off < c->in_len) {
            size_t used;
            enum cw_mllp_event ev = cw_mllp_decoder_feed(&c->dec, c->in + c->in_off,
                                                         c->in_len - c->in_off, &used, frame);
            c->in_off += used;
            if (ev == CW_MLLP_FRAME) return 1;
            if (ev == CW_MLLP_OVERSIZE) return 2;
        }
        c->in_off = c->in_len = 0; /* everything fed; frames handed out are gone */
        if (c->eof) {
            if (cw_mllp_decoder_idle(&c->dec)) return 0;
            return cw_err_set(err, CW_ISSUE_INCOMPLETE,
                              "connection closed in the middle of a reply");
        }
        short want = 0;
        if (cw_mllp_client_pending(c) && try_write(c, &want, err) < 0) return -1;
        int got = try_read(c, &want, err);
        if (got < 0) return -1;
        if (got > 0 || c->eof) continue;
        /* OpenSSL may hold decrypted bytes that poll cannot see. */
        if (c->ssl && SSL_pending(c->ssl) > 0) continue;
        if (cw_mllp_client_pending(c)) want |= POLLOUT;
        if (wait_fd(c->fd, want ? want : POLLIN, deadline) < 0)
            return cw_err_set(err, CW_ISSUE_TIMEOUT, "no reply within %d ms", c->timeout_ms);
    }
}

void cw_mllp_client_close(struct cw_mllp_client *c)
{
    if (!c) return;
    if (c->ssl) {
        SSL_shutdown(c->ssl); /* best effort close_notify; no wait for the peer's */
        SSL_free(c->ssl);
    }
    if (c->fd >= 0) close(c->fd);
    cw_buf_release(&c->out);
    free(c->in);
    cw_mllp_decoder_release(&c->dec);
    free(c);
}
