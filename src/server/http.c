/*
 * http.c — the HTTP listener of `causeway serve` (libmicrohttpd).
 *
 * Owns: the MHD daemon, the embedded SQLite handle opened at start-up (the
 * store proper arrives with the FHIR REST issue; for now the handle proves
 * the data directory is usable and backs /health).
 *
 * Threading: MHD runs an epoll thread pool of cfg->threads workers; the
 * request handler is re-entrant; the SQLite handle is guarded by a mutex.
 * Responses are queued only once a request body has been fully received
 * (see ARCHITECTURE.md: queuing early makes MHD drop keep-alive).
 */
#include "server/server.h"
#include "server/server_int.h"

#include <errno.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"

struct cw_server {
    struct MHD_Daemon *mhd;
    int http_port;
    sqlite3 *db;
    pthread_mutex_t db_lock;
    size_t max_body;
    struct cw_server_mllp *mllp; /* NULL when MLLP is not running */
    char mllp_note[256];         /* why not */
};

/* Per-request state kept between MHD callbacks. */
struct request {
    size_t body_len;
    bool too_large;
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

/* Append s as a JSON string literal (escaped). */
static void json_str(struct cw_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    cw_buf_putc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            cw_buf_putc(b, '\\');
            cw_buf_putc(b, (char)c);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            cw_buf_append(b, e, 6);
        } else {
            cw_buf_putc(b, (char)c);
        }
    }
    cw_buf_putc(b, '"');
}

/* An OperationOutcome with one issue, the FHIR way of saying no. */
static enum MHD_Result send_outcome(struct MHD_Connection *conn, const struct cw_err *e)
{
    struct cw_buf b;
    cw_buf_init(&b, 1 << 16);
    cw_buf_puts(&b, "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":");
    json_str(&b, cw_severity_code(e->severity ? e->severity : CW_SEV_ERROR));
    cw_buf_puts(&b, ",\"code\":");
    json_str(&b, cw_issue_code(e->issue));
    cw_buf_puts(&b, ",\"diagnostics\":");
    json_str(&b, e->msg);
    if (e->location[0]) {
        cw_buf_puts(&b, ",\"expression\":[");
        json_str(&b, e->location);
        cw_buf_putc(&b, ']');
    }
    cw_buf_puts(&b, "}]}");
    return send_text(conn, (unsigned)cw_err_http_status(e), "application/fhir+json", &b);
}

static enum MHD_Result health(struct cw_server *s, struct MHD_Connection *conn)
{
    int ok;
    pthread_mutex_lock(&s->db_lock);
    ok = sqlite3_exec(s->db, "SELECT 1", NULL, NULL, NULL) == SQLITE_OK;
    pthread_mutex_unlock(&s->db_lock);
    struct cw_buf b;
    cw_buf_init(&b, 4096);
    cw_buf_printf(&b, "{\"status\":\"%s\",\"version\":\"%s\",\"store\":\"sqlite\"}\n",
                  ok ? "ok" : "degraded", CW_VERSION);
    return send_text(conn, ok ? 200 : 503, "application/json", &b);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    struct cw_server *s = cls;
    struct request *req = *con_cls;
    if (!req) {
        req = calloc(1, sizeof *req);
        if (!req) return MHD_NO;
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_size) {
        /* Bodies are not used yet; count them so the limit holds. */
        req->body_len += *upload_size;
        if (req->body_len > s->max_body) req->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    (void)upload_data;
    struct cw_err e;
    cw_err_clear(&e);
    if (req->too_large) {
        cw_err_set(&e, CW_ISSUE_TOO_LONG, "request body exceeds %zu bytes", s->max_body);
        return send_outcome(conn, &e);
    }
    if (strcmp(url, "/health") == 0) {
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
            cw_err_set(&e, CW_ISSUE_NOT_SUPPORTED, "/health supports GET only");
            e.http_status = 405;
            return send_outcome(conn, &e);
        }
        return health(s, conn);
    }
    cw_err_set(&e, CW_ISSUE_NOT_FOUND, "no such endpoint");
    return send_outcome(conn, &e);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    free(*con_cls);
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

static int open_sqlite(struct cw_server *s, const char *url, struct cw_err *err)
{
    const char *path = url + strlen("sqlite:");
    int rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        cw_err_set(err, CW_ISSUE_NO_STORE, "cannot open SQLite database %.200s: %s", path,
                   sqlite3_errstr(rc));
        sqlite3_close(s->db);
        s->db = NULL;
        return -1;
    }
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
                     NULL) != SQLITE_OK)
        return cw_err_set(err, CW_ISSUE_NO_STORE, "cannot enable WAL: %s", sqlite3_errmsg(s->db));
    return 0;
}

int cw_server_start(const struct cw_config *c, struct cw_server **out, struct cw_err *err)
{
    *out = NULL;
    char url[CW_PATH_MAX + 16];
    cw_config_store_url(c, url, sizeof url);
    if (strncmp(url, "sqlite:", 7) != 0)
        return cw_err_set(err, CW_ISSUE_NOT_SUPPORTED,
                          "the PostgreSQL store is not available in this build yet; "
                          "use the embedded SQLite store (the default)");
    if (mkdir_p(c->data_dir) < 0)
        return cw_err_set(err, CW_ISSUE_NO_STORE, "cannot create data directory %.200s: %s",
                          c->data_dir, strerror(errno));

    struct cw_server *s = calloc(1, sizeof *s);
    if (!s) return cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
    pthread_mutex_init(&s->db_lock, NULL);
    s->max_body = c->max_body;
    if (open_sqlite(s, url, err) < 0) {
        cw_server_stop(s);
        return -1;
    }

    unsigned threads = c->threads > 0 ? (unsigned)c->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1) threads = 1;

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem opts[8];
    int n = 0;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, threads, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL};
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
    if (cw_server_mllp_start(c, NULL, NULL, &s->mllp, s->mllp_note, sizeof s->mllp_note, err) < 0) {
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
    if (s->mhd) MHD_stop_daemon(s->mhd);
    if (s->db) sqlite3_close(s->db);
    pthread_mutex_destroy(&s->db_lock);
    free(s);
}
