/*
 * net.h — the transport: TLS contexts, the MLLP listener and the MLLP
 * client. Framing itself is in net/mllp.h (no sockets there).
 *
 * Why two headers in one module: mllp.h is a pure leaf (bytes in, frames
 * out) that the fuzzer and the client/server share; this header pulls in
 * sockets, threads and OpenSSL. Keeping them apart keeps the fuzz target
 * and the framing tests free of the event loop.
 *
 * Listener (libevent 2.1 bufferevents, one event-loop thread, optional TLS
 * through libevent_openssl): accepts connections, decodes MLLP frames with
 * a resumable decoder per connection, hands each frame to a handler, and
 * writes the handler's reply — which may arrive later and from another
 * thread (an ACK goes out only after the journal commit) — framed, in the
 * order the frames arrived on that connection (MLLP has no correlation id:
 * order is the contract). Why libevent rather than a hand-written epoll
 * loop: bufferevents give TLS (handshake, partial records, renegotiation,
 * dirty shutdown) over the same read/write/timeout callbacks as plain TCP,
 * which is most of the code an epoll loop would need; ARCHITECTURE.md
 * chose OpenSSL for MLLP/TLS, and libevent_openssl is packaged in Debian.
 *
 * Limits (all with safe defaults): max_connections, max_frame, a pipeline
 * window per connection (frames awaiting a reply; reading pauses at the
 * window), max_output (bytes of replies waiting for a slow reader; reading
 * pauses above it), an idle timeout (no bytes and nothing pending), a write
 * timeout (a peer that stops reading its ACKs), a shutdown grace period.
 *
 * Logs: connection events with the peer address, counters and reasons —
 * never frame content.
 *
 * SIGPIPE: OpenSSL and libevent write with write(2)/writev(2), so a peer
 * that vanishes raises SIGPIPE. A process using this transport must ignore
 * it (causeway serve and causeway send do: signal(SIGPIPE, SIG_IGN)); the
 * client's plain-TCP path uses MSG_NOSIGNAL.
 *
 * Client (blocking calls on a non-blocking socket with poll(), optional
 * TLS with certificate and host-name verification): queue any number of
 * messages, then read the replies in order; output is flushed while waiting
 * for input, so a window of pipelined messages cannot deadlock.
 */
#ifndef CW_NET_NET_H
#define CW_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/slice.h"
#include "net/mllp.h"

/* --- TLS ---------------------------------------------------------------- */

/* An OpenSSL SSL_CTX wrapper; shareable between threads once built. */
struct cw_tls_ctx;

/*
 * Server context from a PEM certificate chain and private key. TLS 1.2 is
 * the minimum. Fails with CW_ISSUE_SECURITY naming the file that is bad
 * (no key material in messages).
 */
int cw_tls_server_new(const char *cert_file, const char *key_file, struct cw_tls_ctx **out,
                      struct cw_err *err);

/*
 * Client context that verifies the server: against ca_file (PEM) when
 * given, else the system trust store. TLS 1.2 minimum.
 */
int cw_tls_client_new(const char *ca_file, struct cw_tls_ctx **out, struct cw_err *err);

/* Free a context (NULL is a no-op). Connections using it must be gone. */
void cw_tls_free(struct cw_tls_ctx *t);

/* --- listener ----------------------------------------------------------- */

/* One received frame awaiting its reply. Owned by the listener. */
struct cw_mllp_request;

/* What the handler learns about a frame besides its bytes (no content). */
struct cw_mllp_frame_info {
    const char *listener; /* opts.name */
    const char *peer;     /* "127.0.0.1:40312" / "[::1]:40312" */
    uint64_t conn_id;     /* per listener, from 1 */
    uint64_t frame_no;    /* per connection, from 1 */
    bool oversize;        /* frame passed max_frame: bytes are its first max_frame bytes */
    bool tls;
};

/*
 * Called on the listener thread for every frame (and every oversize
 * frame). frame is valid only during the call: copy what you keep. The
 * handler must eventually call cw_mllp_request_reply(req, ...) exactly
 * once, from any thread, even if the connection has gone (the reply is
 * then dropped). It must not block.
 */
typedef void (*cw_mllp_frame_fn)(void *ctx, struct cw_mllp_request *req, cw_slice frame,
                                 const struct cw_mllp_frame_info *info);

struct cw_mllp_listener_opts {
    const char *name;       /* channel name for logs and handlers; default "mllp" */
    const char *addr;       /* IP address to bind; NULL or "" = 0.0.0.0 */
    int port;               /* 0 = let the OS choose (see cw_mllp_listener_port) */
    struct cw_tls_ctx *tls; /* server context, or NULL for plain TCP (borrowed) */
    size_t max_frame;       /* default CW_MLLP_DEFAULT_MAX_FRAME */
    bool lenient_eb;        /* accept EB without CR */
    int max_connections;    /* default 256; more are closed at accept */
    int max_pipeline;       /* frames awaiting replies per connection; default 64 */
    size_t max_output; /* reply bytes queued per connection before reading pauses; default 4 MiB */
    int idle_timeout_ms;   /* default 300000 (5 min); only when nothing is pending */
    int write_timeout_ms;  /* default 60000 */
    int shutdown_grace_ms; /* default 10000: then open connections are closed */
    cw_mllp_frame_fn on_frame;
    void *ctx;
};

struct cw_mllp_listener;

/*
 * Bind, listen and start the listener thread. Returns 0, or -1 with err
 * (bad address, port in use: CW_ISSUE_EXCEPTION with the errno text).
 */
int cw_mllp_listener_start(const struct cw_mllp_listener_opts *opts, struct cw_mllp_listener **out,
                           struct cw_err *err);

/* The port actually bound (useful with port 0). */
int cw_mllp_listener_port(const struct cw_mllp_listener *l);

/*
 * Reply to a request: reply is the message to send (framed by the
 * listener), copied; an empty reply sends nothing but still releases the
 * request's place in the connection's order. Thread-safe; exactly once per
 * request. A reply that cannot be framed (contains SB/EB) closes the
 * connection, since the peer would otherwise wait forever.
 */
void cw_mllp_request_reply(struct cw_mllp_request *req, cw_slice reply);

/*
 * Graceful stop: stop accepting and reading, send the replies still to
 * come (waiting for every request to be replied), close connections (the
 * ones still open after shutdown_grace_ms are closed then, their replies
 * dropped), join the thread, free everything. Call from any thread but the
 * listener's; NULL is a no-op.
 */
void cw_mllp_listener_stop(struct cw_mllp_listener *l);

struct cw_mllp_listener_stats {
    uint64_t accepted, rejected; /* connections; rejected = over max_connections */
    uint64_t active;             /* connections open now */
    uint64_t frames, oversize;   /* frames handed to the handler */
    uint64_t replies, dropped;   /* replies sent / dropped (connection gone) */
    uint64_t skipped_bytes;      /* bytes outside frames, over all connections */
    uint64_t timeouts;           /* connections closed for idleness or a stuck reader */
};
/* Counters (a consistent snapshot; any thread). */
void cw_mllp_listener_get_stats(struct cw_mllp_listener *l, struct cw_mllp_listener_stats *out);

/* --- client ------------------------------------------------------------- */

struct cw_mllp_client_opts {
    const char *host; /* name or IP address */
    int port;
    struct cw_tls_ctx *tls; /* client context (verifies host) or NULL (borrowed) */
    int timeout_ms;         /* connect, handshake and each wait for a reply; default 30000 */
    size_t max_frame;       /* largest reply accepted; default 1 MiB */
    bool lenient_eb;
};

struct cw_mllp_client;

/*
 * Resolve, connect (trying each address), and complete the TLS handshake
 * (with certificate and host-name/IP verification) when opts->tls is set.
 */
int cw_mllp_client_connect(const struct cw_mllp_client_opts *opts, struct cw_mllp_client **out,
                           struct cw_err *err);

/* Queue one message (framed here; copied). Nothing is sent until _next or _flush. */
int cw_mllp_client_queue(struct cw_mllp_client *c, cw_slice msg, struct cw_err *err);

/* Send everything queued (waits up to the timeout). */
int cw_mllp_client_flush(struct cw_mllp_client *c, struct cw_err *err);

/*
 * Send queued output while waiting for the next reply frame. Returns 1 with
 * *frame set (valid until the next call), 2 for a reply larger than
 * max_frame (*frame = its first max_frame bytes), 0 when the peer closed the
 * connection with no partial frame pending, -1 on error or timeout
 * (CW_ISSUE_TIMEOUT).
 */
int cw_mllp_client_next(struct cw_mllp_client *c, cw_slice *frame, struct cw_err *err);

/* Bytes queued but not yet written. */
size_t cw_mllp_client_pending(const struct cw_mllp_client *c);

/* Close (TLS close_notify when possible) and free. NULL is a no-op. */
void cw_mllp_client_close(struct cw_mllp_client *c);

#endif
