/*
 * listener.c — the MLLP listener: libevent bufferevents (plain or OpenSSL)
 * on one event-loop thread (see net.h for the contract).
 *
 * Owns: the event base, the evconnlistener, every connection and every
 * request until it is replied and written (or dropped).
 *
 * Threading: everything below runs on the loop thread except
 * cw_mllp_request_reply (any thread: it pushes the request onto the
 * `done` list under `mu` and wakes the loop through an eventfd) and
 * cw_mllp_listener_stop (sets `stop_requested`, wakes the loop, joins).
 * libevent itself is therefore used from one thread only.
 *
 * Invariants:
 *  - A connection's requests form a FIFO (head..tail) in arrival order;
 *    replies are written only from the head, so order is kept whatever
 *    order the handler completes them in.
 *  - c->inflight counts the requests in that FIFO; a connection struct is
 *    freed only when its socket is closed and inflight is 0 (requests point
 *    to it until then: a closed connection with pending requests is a
 *    "zombie" whose replies are dropped).
 *  - `outstanding` counts requests handed to the handler and not yet
 *    replied+processed; stop waits for it to reach 0, so no reply can
 *    arrive after the listener is freed.
 *  - Reading is paused while inflight >= max_pipeline or the output buffer
 *    holds more than max_output bytes (backpressure); it resumes when the
 *    replies drain.
 */
#include "net/net_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"

struct conn;

struct cw_mllp_request {
    struct cw_mllp_request *next;      /* connection order */
    struct cw_mllp_request *done_next; /* completion list */
    struct conn *conn;
    char *reply;
    size_t reply_len;
    bool done;
    bool bad_reply; /* could not be framed */
};

struct conn {
    struct cw_mllp_listener *l;
    struct conn *prev, *next; /* open connections */
    struct bufferevent *bev;  /* NULL once closed */
    uint64_t id;
    uint64_t frames;
    char peer[64];
    struct cw_mllp_decoder dec;
    uint64_t skipped_seen; /* dec.stats.skipped already added to the listener's stats */
    struct cw_mllp_request *head, *tail;
    int inflight;
    bool paused;  /* reading paused for backpressure */
    bool no_read; /* peer sent EOF or we are stopping: never read again */
    bool close_when_flushed;
};

struct stats {
    atomic_uint_fast64_t accepted, rejected, active, frames, oversize, replies, dropped, skipped,
        timeouts;
};

struct cw_mllp_listener {
    struct cw_mllp_listener_opts o;
    char name[64];
    struct event_base *base;
    struct evconnlistener *lev;
    struct event *wake_ev, *grace_ev;
    int wake_fd;
    pthread_t thread;
    int port;

    pthread_mutex_t mu; /* guards done list and stop_requested */
    struct cw_mllp_request *done_head, *done_tail;
    bool stop_requested;

    /* loop thread only */
    struct conn *conns;
    uint64_t next_conn_id;
    uint64_t outstanding;
    uint64_t open;
    bool stopping;

    struct stats st;
};

static void close_conn(struct conn *c, const char *reason);
static void process_input(struct conn *c);

static void log_conn(enum cw_log_level lvl, const char *event, const struct conn *c,
                     const char *reason)
{
    cw_log(lvl, event, CW_LOG_STR("listener", c->l->name), CW_LOG_INT("conn", c->id),
           CW_LOG_STR("peer", c->peer), CW_LOG_INT("frames", c->frames),
           CW_LOG_INT("skipped_bytes", c->dec.stats.skipped), CW_LOG_STR("reason", reason));
}

/* Stop the loop once stopping, every connection is closed and every request answered. */
static void check_exit(struct cw_mllp_listener *l)
{
    if (l->stopping && l->open == 0 && l->outstanding == 0) event_base_loopbreak(l->base);
}

static void free_conn(struct conn *c)
{
    cw_mllp_decoder_release(&c->dec);
    free(c);
}

static size_t out_len(const struct conn *c)
{
    return c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

static void pause_reading(struct conn *c)
{
    if (c->paused || !c->bev) return;
    c->paused = true;
    bufferevent_disable(c->bev, EV_READ);
}

static void maybe_resume(struct conn *c)
{
    struct cw_mllp_listener *l = c->l;
    if (!c->bev || !c->paused || c->no_read) return;
    if (c->inflight >= l->o.max_pipeline || out_len(c) > l->o.max_output) return;
    c->paused = false;
    bufferevent_enable(c->bev, EV_READ);
    process_input(c); /* frames may be waiting in the input buffer already */
}

/* Write the replies at the head of the FIFO that are done, in order. */
static void flush_replies(struct conn *c)
{
    struct cw_mllp_listener *l = c->l;
    bool bad = false;
    while (c->head && c->head->done) {
        struct cw_mllp_request *r = c->head;
        c->head = r->next;
        if (!c->head) c->tail = NULL;
        c->inflight--;
        l->outstanding--;
        if (c->bev && !bad) {
            if (r->bad_reply) {
                bad = true;
            } else if (r->reply_len) {
                struct evbuffer *out = bufferevent_get_output(c->bev);
                static const char sb = CW_MLLP_SB, tail[2] = {CW_MLLP_EB, CW_MLLP_CR};
                evbuffer_add(out, &sb, 1);
                evbuffer_add(out, r->reply, r->reply_len);
                evbuffer_add(out, tail, 2);
                atomic_fetch_add(&l->st.replies, 1);
            }
        } else if (r->reply_len || r->bad_reply) {
            atomic_fetch_add(&l->st.dropped, 1);
        }
        free(r->reply);
        free(r);
    }
    if (bad) {
        cw_log(CW_LOG_ERROR, "mllp.bad_reply", CW_LOG_STR("listener", l->name),
               CW_LOG_INT("conn", c->id));
        close_conn(c, "reply could not be framed");
        return;
    }
    if (!c->bev) {
        if (c->inflight == 0) free_conn(c);
        return;
    }
    if (c->no_read && c->inflight == 0) {
        if (out_len(c) == 0)
            close_conn(c, c->l->stopping ? "shutdown" : "peer closed");
        else
            c->close_when_flushed = true;
        return;
    }
    maybe_resume(c);
}

static void deliver(struct conn *c, cw_slice frame, bool oversize)
{
    struct cw_mllp_listener *l = c->l;
    struct cw_mllp_request *r = calloc(1, sizeof *r);
    if (!r) {
        /* Out of memory: read no more; close once the pending replies are out.
         * (Not close_conn here: the caller still uses c.) */
        c->no_read = true;
        bufferevent_disable(c->bev, EV_READ);
        if (c->inflight == 0) {
            c->close_when_flushed = true;
            bufferevent_trigger(c->bev, EV_WRITE,
                                BEV_TRIG_DEFER_CALLBACKS | BEV_TRIG_IGNORE_WATERMARKS);
        }
        return;
    }
    r->conn = c;
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    c->inflight++;
    l->outstanding++;
    c->frames++;
    atomic_fetch_add(&l->st.frames, 1);
    if (oversize) {
        atomic_fetch_add(&l->st.oversize, 1);
        cw_log(CW_LOG_WARN, "mllp.oversize", CW_LOG_STR("listener", l->name),
               CW_LOG_INT("conn", c->id), CW_LOG_STR("peer", c->peer),
               CW_LOG_INT("max_frame", l->o.max_frame));
    }
    struct cw_mllp_frame_info info = {
        .listener = l->name,
        .peer = c->peer,
        .conn_id = c->id,
        .frame_no = c->frames,
        .oversize = oversize,
        .tls = l->o.tls != NULL,
    };
    l->o.on_frame(l->o.ctx, r, frame, &info);
}

static void process_input(struct conn *c)
{
    struct cw_mllp_listener *l = c->l;
    while (c->bev && !c->paused && !c->no_read) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) break;
        size_t used = 0;
        cw_slice f;
        enum cw_mllp_event ev = cw_mllp_decoder_feed(&c->dec, v.iov_base, v.iov_len, &used, &f);
        if (ev != CW_MLLP_NEED_MORE)
            deliver(c, f, ev == CW_MLLP_OVERSIZE); /* before drain: f may point into v */
        if (!c->bev) break;
        evbuffer_drain(in, used);
        uint64_t sk = c->dec.stats.skipped;
        if (sk != c->skipped_seen) {
            atomic_fetch_add(&l->st.skipped, sk - c->skipped_seen);
            c->skipped_seen = sk;
        }
        if (c->inflight >= l->o.max_pipeline || out_len(c) > l->o.max_output) pause_reading(c);
    }
}

static void close_conn(struct conn *c, const char *reason)
{
    struct cw_mllp_listener *l = c->l;
    if (!c->bev) return;
    log_conn(CW_LOG_INFO, "mllp.close", c, reason);
    bufferevent_free(c->bev);
    c->bev = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    l->open--;
    atomic_fetch_sub(&l->st.active, 1);
    if (c->inflight == 0) free_conn(c);
    check_exit(l);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    struct cw_mllp_listener *l = c->l;
    process_input(c);
    check_exit(l);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    struct cw_mllp_listener *l = c->l;
    /* Called when the output buffer has drained. */
    if (c->close_when_flushed) {
        close_conn(c, l->stopping ? "shutdown" : "peer closed");
        return;
    }
    maybe_resume(c);
    check_exit(l);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    struct cw_mllp_listener *l = c->l;
    if (what & BEV_EVENT_CONNECTED) return; /* TLS handshake done */
    if (what & BEV_EVENT_TIMEOUT) {
        if (what & BEV_EVENT_WRITING) {
            atomic_fetch_add(&l->st.timeouts, 1);
            close_conn(c, "write timeout");
            return;
        }
        if (c->inflight > 0 || out_len(c) > 0) {
            /* Waiting for our own replies (or their writing) is not idleness. */
            if (!c->paused && !c->no_read) bufferevent_enable(bev, EV_READ);
            return;
        }
        atomic_fetch_add(&l->st.timeouts, 1);
        close_conn(c, "idle timeout");
        return;
    }
    if (what & BEV_EVENT_EOF) {
        c->no_read = true;
        bufferevent_disable(bev, EV_READ);
        if (c->inflight == 0 && out_len(c) == 0)
            close_conn(c, "peer closed");
        else if (c->inflight == 0)
            c->close_when_flushed = true;
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        char reason[128];
        unsigned long e = l->o.tls ? bufferevent_get_openssl_error(bev) : 0;
        if (e) {
            const char *r = ERR_reason_error_string(e);
            snprintf(reason, sizeof reason, "tls: %s", r ? r : "error");
        } else {
            int se = EVUTIL_SOCKET_ERROR();
            snprintf(reason, sizeof reason, "%s", se ? strerror(se) : "socket error");
        }
        close_conn(c, reason);
    }
}

static void format_peer(const struct sockaddr *sa, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        snprintf(out, size, "%s:%d", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        snprintf(out, size, "[%s]:%d", host, port);
    } else {
        snprintf(out, size, "unknown");
    }
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    (void)lev, (void)socklen;
    struct cw_mllp_listener *l = arg;
    char peer[64];
    format_peer(sa, peer, sizeof peer);
    if (l->stopping || l->open >= (uint64_t)l->o.max_connections) {
        atomic_fetch_add(&l->st.rejected, 1);
        cw_log(CW_LOG_WARN, "mllp.reject", CW_LOG_STR("listener", l->name),
               CW_LOG_STR("peer", peer),
               CW_LOG_STR("reason", l->stopping ? "shutting down" : "max connections"),
               CW_LOG_INT("max_connections", l->o.max_connections));
        evutil_closesocket(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->l = l;
    c->id = ++l->next_conn_id;
    memcpy(c->peer, peer, sizeof c->peer);
    struct cw_mllp_decoder_opts dopts = {.max_frame = l->o.max_frame,
                                         .lenient_eb = l->o.lenient_eb};
    cw_mllp_decoder_init(&c->dec, &dopts);
    if (l->o.tls) {
        SSL *ssl = SSL_new(l->o.tls->ctx);
        if (ssl)
            c->bev = bufferevent_openssl_socket_new(l->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                    BEV_OPT_CLOSE_ON_FREE);
        if (c->bev)
            bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
        else if (ssl)
            SSL_free(ssl);
    } else {
        c->bev = bufferevent_socket_new(l->base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!c->bev) {
        evutil_closesocket(fd);
        free_conn(c);
        return;
    }
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    struct timeval rt = {l->o.idle_timeout_ms / 1000, (l->o.idle_timeout_ms % 1000) * 1000};
    struct timeval wt = {l->o.write_timeout_ms / 1000, (l->o.write_timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(c->bev, &rt, &wt);
    /* Bound a single read burst; frames are consumed as soon as they arrive. */
    bufferevent_setwatermark(c->bev, EV_READ, 0, 1 << 20);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = l->conns;
    if (l->conns) l->conns->prev = c;
    l->conns = c;
    l->open++;
    atomic_fetch_add(&l->st.accepted, 1);
    atomic_fetch_add(&l->st.active, 1);
    log_conn(CW_LOG_DEBUG, "mllp.accept", c, l->o.tls ? "tls" : "tcp");
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct cw_mllp_listener *l = arg;
    while (l->conns) close_conn(l->conns, "shutdown grace period over");
    check_exit(l);
}

static void begin_stop(struct cw_mllp_listener *l)
{
    if (l->stopping) return;
    l->stopping = true;
    if (l->lev) {
        evconnlistener_free(l->lev);
        l->lev = NULL;
    }
    for (struct conn *c = l->conns, *next; c; c = next) {
        next = c->next;
        c->no_read = true;
        bufferevent_disable(c->bev, EV_READ);
        if (c->inflight == 0) {
            if (out_len(c) == 0)
                close_conn(c, "shutdown");
            else
                c->close_when_flushed = true;
        }
    }
    struct timeval g = {l->o.shutdown_grace_ms / 1000, (l->o.shutdown_grace_ms % 1000) * 1000};
    l->grace_ev = evtimer_new(l->base, on_grace, l);
    if (l->grace_ev) evtimer_add(l->grace_ev, &g);
    check_exit(l);
}

/* The eventfd fired (or event_active from the loop thread): completions and stop. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct cw_mllp_listener *l = arg;
    uint64_t v;
    if (fd >= 0) {
        ssize_t r = read(l->wake_fd, &v, sizeof v);
        (void)r;
    }
    pthread_mutex_lock(&l->mu);
    struct cw_mllp_request *list = l->done_head;
    l->done_head = l->done_tail = NULL;
    bool stop = l->stop_requested;
    pthread_mutex_unlock(&l->mu);
    for (struct cw_mllp_request *r = list, *next; r; r = next) {
        next = r->done_next;
        r->done = true;
        /* The connection stays valid while it holds undone requests (r is one). */
        flush_replies(r->conn);
    }
    if (stop) begin_stop(l);
    check_exit(l);
}

void cw_mllp_request_reply(struct cw_mllp_request *req, cw_slice reply)
{
    struct cw_mllp_listener *l = req->conn->l;
    if (reply.len) {
        if (memchr(reply.ptr, CW_MLLP_SB, reply.len) || memchr(reply.ptr, CW_MLLP_EB, reply.len)) {
            req->bad_reply = true;
        } else {
            req->reply = malloc(reply.len);
            if (req->reply) {
                memcpy(req->reply, reply.ptr, reply.len);
                req->reply_len = reply.len;
            } else {
                req->bad_reply = true; /* out of memory: the peer must not wait forever */
            }
        }
    }
    pthread_mutex_lock(&l->mu);
    req->done_next = NULL;
    if (l->done_tail)
        l->done_tail->done_next = req;
    else
        l->done_head = req;
    l->done_tail = req;
    pthread_mutex_unlock(&l->mu);
    if (pthread_equal(pthread_self(), l->thread)) {
        event_active(l->wake_ev, EV_READ, 0);
    } else {
        uint64_t one = 1;
        ssize_t w = write(l->wake_fd, &one, sizeof one);
        (void)w;
    }
}

static void *loop_main(void *arg)
{
    struct cw_mllp_listener *l = arg;
    event_base_dispatch(l->base);
    return NULL;
}

static void destroy(struct cw_mllp_listener *l)
{
    if (l->lev) evconnlistener_free(l->lev);
    while (l->conns) close_conn(l->conns, "freed");
    if (l->wake_ev) event_free(l->wake_ev);
    if (l->grace_ev) event_free(l->grace_ev);
    if (l->base) event_base_free(l->base);
    if (l->wake_fd >= 0) close(l->wake_fd);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

int cw_mllp_listener_start(const struct cw_mllp_listener_opts *opts, struct cw_mllp_listener **out,
                           struct cw_err *err)
{
    *out = NULL;
    if (!opts->on_frame) return cw_err_set(err, CW_ISSUE_INVALID, "mllp: no frame handler");
    struct cw_mllp_listener *l = calloc(1, sizeof *l);
    if (!l) return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    l->o = *opts;
    l->wake_fd = -1;
    pthread_mutex_init(&l->mu, NULL);
    snprintf(l->name, sizeof l->name, "%s", opts->name && *opts->name ? opts->name : "mllp");
    l->o.name = l->name;
    if (!l->o.max_frame) l->o.max_frame = CW_MLLP_DEFAULT_MAX_FRAME;
    if (l->o.max_connections <= 0) l->o.max_connections = 256;
    if (l->o.max_pipeline <= 0) l->o.max_pipeline = 64;
    if (!l->o.max_output) l->o.max_output = (size_t)4 << 20;
    if (l->o.idle_timeout_ms <= 0) l->o.idle_timeout_ms = 300000;
    if (l->o.write_timeout_ms <= 0) l->o.write_timeout_ms = 60000;
    if (l->o.shutdown_grace_ms <= 0) l->o.shutdown_grace_ms = 10000;
    l->o.addr = NULL; /* not kept: only used below */

    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", opts->port);
    const char *host = opts->addr && *opts->addr ? opts->addr : "0.0.0.0";
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
        destroy(l);
        return cw_err_set(err, CW_ISSUE_VALUE, "mllp: '%.100s' is not an IP address", host);
    }
    l->base = event_base_new();
    l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!l->base || l->wake_fd < 0) {
        freeaddrinfo(ai);
        destroy(l);
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "mllp: cannot create the event loop");
    }
    l->wake_ev = event_new(l->base, l->wake_fd, EV_READ | EV_PERSIST, on_wake, l);
    event_add(l->wake_ev, NULL);
    l->lev = evconnlistener_new_bind(
        l->base, on_accept, l, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        512, ai->ai_addr, (int)ai->ai_addrlen);
    freeaddrinfo(ai);
    if (!l->lev) {
        int e = errno;
        destroy(l);
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "mllp: cannot listen on %.100s:%d: %s", host,
                          opts->port, strerror(e));
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evconnlistener_get_fd(l->lev), (struct sockaddr *)&ss, &sl) == 0)
        l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
        destroy(l);
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "mllp: cannot start the listener thread");
    }
    cw_log(CW_LOG_INFO, "mllp.listen", CW_LOG_STR("listener", l->name), CW_LOG_STR("addr", host),
           CW_LOG_INT("port", l->port), CW_LOG_BOOL("tls", opts->tls != NULL),
           CW_LOG_INT("max_frame", l->o.max_frame),
           CW_LOG_INT("max_connections", l->o.max_connections));
    *out = l;
    return 0;
}

int cw_mllp_listener_port(const struct cw_mllp_listener *l)
{
    return l->port;
}

void cw_mllp_listener_stop(struct cw_mllp_listener *l)
{
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->stop_requested = true;
    pthread_mutex_unlock(&l->mu);
    uint64_t one = 1;
    ssize_t w = write(l->wake_fd, &one, sizeof one);
    (void)w;
    pthread_join(l->thread, NULL);
    struct cw_mllp_listener_stats st;
    cw_mllp_listener_get_stats(l, &st);
    cw_log(CW_LOG_INFO, "mllp.stopped", CW_LOG_STR("listener", l->name),
           CW_LOG_INT("connections", st.accepted), CW_LOG_INT("frames", st.frames),
           CW_LOG_INT("replies", st.replies), CW_LOG_INT("dropped", st.dropped));
    destroy(l);
}

void cw_mllp_listener_get_stats(struct cw_mllp_listener *l, struct cw_mllp_listener_stats *out)
{
    out->accepted = atomic_load(&l->st.accepted);
    out->rejected = atomic_load(&l->st.rejected);
    out->active = atomic_load(&l->st.active);
    out->frames = atomic_load(&l->st.frames);
    out->oversize = atomic_load(&l->st.oversize);
    out->replies = atomic_load(&l->st.replies);
    out->dropped = atomic_load(&l->st.dropped);
    out->skipped_bytes = atomic_load(&l->st.skipped);
    out->timeouts = atomic_load(&l->st.timeouts);
}
