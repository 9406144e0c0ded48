/*
 * http.c — the HTTP listener of `causeway serve` (libmicrohttpd).
 *
 * Owns: the MHD daemon, the store (opened at start-up from the configured
 * URL: SQLite by default, PostgreSQL with postgres://...) and the FHIR REST
 * service (rest_int.h) that answers everything under /fhir. GET /health
 * reports whether the store answers.
 *
 * Per request: the raw URI (from MHD's URI callback, so the query keeps its
 * order, repeats and encoding), the body collected up to max_body (413
 * beyond, without buffering the rest), one arena for everything the request
 * parses or builds, destroyed when the response is queued.
 *
 * Threading: MHD runs an epoll thread pool of cfg->threads workers (default
 * 4 per CPU: handlers block in the store); the
 * request handler is re-entrant; the store and the REST service are shared
 * and thread-safe. Responses are queued only once a request body has been
 * fully received (see ARCHITECTURE.md: queuing early makes MHD drop
 * keep-alive).
 */
#include "server/server.h"
#include "server/server_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "server/rest_int.h"
#include "store/store.h"

#define FHIR_PREFIX "/fhir"
#define MAX_URI 65536

struct cw_server {
    struct MHD_Daemon *mhd;
    int http_port;
    struct cw_store *store;
    struct cw_rest *rest;
    size_t max_body;
    char base_url[CW_PATH_MAX];
    struct cw_ingest_v2 *ingest; /* HL7 v2 -> FHIR processor of the MLLP pipeline */
    struct cw_server_mllp *mllp; /* NULL when MLLP is not running */
    char mllp_note[256];         /* why not */
};

/* Per-request state kept between MHD callbacks. */
struct request {
    char *uri;         /* raw request target, NUL-terminated */
    struct cw_buf body;
    bool too_large;
    bool started;
};

static int mkdir_p(const char *path)
{
    char tmp[CW_PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp) return -1;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return -1;
            tmp[i] = c;
        }
    }
    return 0;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status,
                                 const char *ctype, struct cw_buf *body)
{
    size_t len = 0;
    char *p = cw_buf_detach(body, &len);
    if (!p) return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, p, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(p);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* An OperationOutcome with one issue, for answers outside the REST service. */
static enum MHD_Result send_outcome(struct MHD_Connection *conn, const struct cw_err *e)
{
    struct cw_buf b;
    cw_buf_init(&b, 1 << 16);
    rest_outcome_json(&b, e, 1);
    return send_text(conn, (unsigned)cw_err_http_status(e), "application/fhir+json; charset=utf-8", &b);
}

static enum MHD_Result health(struct cw_server *s, struct MHD_Connection *conn)
{
    struct cw_err err;
    struct cw_store_txn *t;
    bool ok = cw_store_begin(s->store, CW_STORE_READ, &t, &err) == 0;
    if (ok) cw_store_rollback(t);
    struct cw_buf b;
    cw_buf_init(&b, 4096);
    cw_buf_printf(&b, "{\"status\":\"%s\",\"version\":\"%s\",\"store\":\"%s\"}\n",
                  ok ? "ok" : "degraded", CW_VERSION, cw_store_backend(s->store));
    return send_text(conn, ok ? 200 : 503, "application/json", &b);
}

static cw_slice get_header(void *ctx, const char *name)
{
    const char *v = MHD_lookup_connection_value(ctx, MHD_HEADER_KIND, name);
    return cw_slice_cstr(v);
}

/* http://<Host>/fhir, or the configured base; Host is checked to be a host. */
static void base_for(struct cw_server *s, struct MHD_Connection *conn, char *out, size_t cap)
{
    if (s->base_url[0]) {
        snprintf(out, cap, "%s", s->base_url);
        return;
    }
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    bool ok = host && *host && strlen(host) < 256;
    for (const char *p = host; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']';
    char fallback[64];
    if (!ok) {
        snprintf(fallback, sizeof fallback, "localhost:%d", s->http_port);
        host = fallback;
    }
    snprintf(out, cap, "http://%s" FHIR_PREFIX, host);
}

static enum MHD_Result send_rest(struct MHD_Connection *conn, struct rest_resp *resp)
{
    size_t len = 0;
    char *p = NULL;
    struct MHD_Response *r;
    if (resp->status == 204 || resp->status == 304 || !resp->content_type) {
        cw_buf_release(&resp->body);
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else {
        p = cw_buf_detach(&resp->body, &len);
        if (!p) return MHD_NO;
        r = MHD_create_response_from_buffer(len, p, MHD_RESPMEM_MUST_FREE);
    }
    if (!r) {
        free(p);
        return MHD_NO;
    }
    if (p) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    if (resp->location[0]) MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, resp->location);
    if (resp->location[0] && resp->status == 201)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_LOCATION, resp->location);
    if (resp->etag[0]) MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, resp->etag);
    if (resp->last_modified[0]) MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, resp->last_modified);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result serve_fhir(struct cw_server *s, struct MHD_Connection *conn, struct request *req,
                                  const char *method, cw_slice path, cw_slice query)
{
    struct cw_arena *a = cw_arena_new(s->rest->o.arena_limit);
    if (!a) return MHD_NO;
    char base[CW_PATH_MAX + 64];
    base_for(s, conn, base, sizeof base);
    struct rest_req q = {
        .a = a,
        .method = method,
        .path = path,
        .query = query,
        .body = cw_buf_slice(&req->body),
        .header = get_header,
        .hctx = conn,
        .base = cw_slice_cstr(base),
    };
    if (!q.body.ptr) q.body = CW_LIT("");
    struct rest_resp resp;
    cw_rest_handle(s->rest, &q, &resp);
    cw_log(CW_LOG_DEBUG, "http.request", CW_LOG_STR("method", method), CW_LOG_INT("status", resp.status),
           CW_LOG_INT("bytes", (long long)resp.body.len));
    enum MHD_Result ret = send_rest(conn, &resp);
    cw_buf_release(&resp.body);
    cw_arena_destroy(a);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    struct cw_server *s = cls;
    struct request *req = *con_cls;
    if (!req) return MHD_NO; /* the URI callback makes it */
    if (!req->started) {
        req->started = true;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!req->too_large && cw_buf_append(&req->body, upload_data, *upload_size) < 0) {
            req->too_large = true;
            cw_buf_release(&req->body);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    struct cw_err e;
    cw_err_clear(&e);
    if (req->too_large) {
        cw_err_set(&e, CW_ISSUE_TOO_LONG, "request body exceeds %zu bytes", s->max_body);
        return send_outcome(conn, &e);
    }
    /* the raw target: path?query */
    cw_slice target = cw_slice_cstr(req->uri ? req->uri : url);
    long qm = cw_slice_index(target, '?');
    cw_slice path = qm >= 0 ? cw_slice_sub(target, 0, (size_t)qm) : target;
    cw_slice query = qm >= 0 ? cw_slice_sub(target, (size_t)qm + 1, target.len) : CW_LIT("");
    if (cw_slice_eq_cstr(path, "/health")) {
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
            cw_err_set(&e, CW_ISSUE_NOT_SUPPORTED, "/health supports GET only");
            e.http_status = 405;
            return send_outcome(conn, &e);
        }
        return health(s, conn);
    }
    cw_slice mprefix = CW_LIT("/messages");
    if (cw_slice_starts_with(path, mprefix) && (path.len == mprefix.len || path.ptr[mprefix.len] == '/')) {
        struct cw_buf b;
        cw_buf_init(&b, (size_t)256 << 20);
        if (cw_server_messages_handle(s->mllp, method, cw_slice_sub(path, mprefix.len, path.len), query, &b,
                                      &e) < 0) {
            cw_buf_release(&b);
            return send_outcome(conn, &e);
        }
        return send_text(conn, 200, "application/json", &b);
    }
    cw_slice prefix = CW_LIT(FHIR_PREFIX);
    if (cw_slice_starts_with(path, prefix) && (path.len == prefix.len || path.ptr[prefix.len] == '/')) {
        if (memchr(path.ptr, '%', path.len)) {
            /* FHIR paths are types, ids and keywords: nothing to decode */
            cw_err_set(&e, CW_ISSUE_NOT_FOUND, "no such endpoint");
            return send_outcome(conn, &e);
        }
        return serve_fhir(s, conn, req, method, cw_slice_sub(path, prefix.len, path.len), query);
    }
    cw_err_set(&e, CW_ISSUE_NOT_FOUND, "no such endpoint (the FHIR API is under " FHIR_PREFIX ")");
    return send_outcome(conn, &e);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)conn;
    struct cw_server *s = cls;
    struct request *req = calloc(1, sizeof *req);
    if (!req) return NULL;
    size_t n = strnlen(uri, MAX_URI + 1);
    if (n <= MAX_URI) {
        req->uri = malloc(n + 1);
        if (req->uri) memcpy(req->uri, uri, n + 1);
    }
    cw_buf_init(&req->body, s->max_body);
    return req;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    struct request *req = *con_cls;
    if (req) {
        cw_buf_release(&req->body);
        free(req->uri);
        free(req);
    }
    *con_cls = NULL;
}

/* MHD hands us its own format strings; the attribute tells clang so. */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    cw_log(CW_LOG_WARN, "http.mhd", CW_LOG_STR("detail", msg));
}

static int open_store(struct cw_server *s, const struct cw_config *c, const char *url, unsigned threads,
                      struct cw_err *err)
{
    struct cw_store_opts so = {0};
    so.statement_timeout_ms = c->request_timeout_ms;
    so.sync_normal = c->store_sync_normal != 0;
    so.version_unchanged = c->version_unchanged != 0;
    so.connections = threads + 2 > CW_STORE_DEFAULT_CONNECTIONS ? threads + 2 : CW_STORE_DEFAULT_CONNECTIONS;
    if (cw_store_open(url, &so, &s->store, err) < 0) return -1;
    struct cw_rest_opts ro = {
        .validate = c->validate != 0,
        .validate_full = c->validate == 2,
        .max_resource = CW_STORE_DEFAULT_MAX_RESOURCE,
    };
    return cw_rest_new(s->store, &ro, &s->rest, err);
}

int cw_server_start(const struct cw_config *c, struct cw_server **out, struct cw_err *err)
{
    *out = NULL;
    char url[CW_PATH_MAX + 16];
    cw_config_store_url(c, url, sizeof url);
    if (mkdir_p(c->data_dir) < 0)
        return cw_err_set(err, CW_ISSUE_NO_STORE, "cannot create data directory %.200s: %s",
                          c->data_dir, strerror(errno));

    struct cw_server *s = calloc(1, sizeof *s);
    if (!s) return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    s->max_body = c->max_body;
    snprintf(s->base_url, sizeof s->base_url, "%s", c->base_url);
    /* Default: 4 workers per CPU (at least 4, at most 64). A worker blocks in
       the store for the whole request (PostgreSQL round trips; SQLite waiting
       for the writer or a group commit), and every connection on its epoll set
       waits with it; with one worker per CPU two workers were all the
       concurrency there was. Measured on 2 vCPUs (docs/performance.md, "Store
       speed work"): PostgreSQL reads 2.3k -> 4.7k req/s, SQLite creates
       481 -> 1,157 req/s (groups of several commits instead of two). */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = c->threads > 0 ? (unsigned)c->threads
                       : ncpu < 1        ? 4u
                       : ncpu > 16       ? 64u
                                         : (unsigned)(4 * ncpu);
    if (open_store(s, c, url, threads, err) < 0) {
        cw_server_stop(s);
        return -1;
    }

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem opts[8];
    int n = 0;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, threads, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, s};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL};
    if (c->http_addr[0]) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, c->http_addr, &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            v4->sin_port = htons((uint16_t)c->http_port);
        } else if (inet_pton(AF_INET6, c->http_addr, &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons((uint16_t)c->http_port);
            flags |= MHD_USE_IPv6;
        } else {
            cw_server_stop(s);
            return cw_err_set(err, CW_ISSUE_VALUE, "http: '%.100s' is not an IP address",
                              c->http_addr);
        }
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
    }
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    s->mhd = MHD_start_daemon(flags, (uint16_t)c->http_port, NULL, NULL, on_request, s,
                              MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!s->mhd) {
        cw_server_stop(s);
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "cannot listen for HTTP on port %d",
                          c->http_port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->http_port = info ? info->port : c->http_port;
    if (cw_ingest_v2_new(s->rest, &s->ingest, err) < 0 ||
        cw_server_mllp_start(c, cw_ingest_v2_process, s->ingest, &s->mllp, s->mllp_note,
                             sizeof s->mllp_note, err) < 0) {
        cw_server_stop(s);
        return -1;
    }
    *out = s;
    return 0;
}

int cw_server_mllp_port(const struct cw_server *s)
{
    return s->mllp ? cw_server_mllp_bound_port(s->mllp) : -1;
}

const char *cw_server_mllp_note(const struct cw_server *s)
{
    return s->mllp_note;
}

int cw_server_http_port(const struct cw_server *s)
{
    return s->http_port;
}

void cw_server_stop(struct cw_server *s)
{
    if (!s) return;
    cw_server_mllp_stop(s->mllp); /* first: its ACKs go out before anything closes */
    cw_ingest_v2_free(s->ingest);
    if (s->mhd) MHD_stop_daemon(s->mhd);
    cw_rest_free(s->rest);
    cw_store_close(s->store);
    free(s);
}
