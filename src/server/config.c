/*
 * config.c — layered configuration for `causeway serve` (see server.h).
 */
#include "server/server.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/slice.h"

void cw_config_defaults(struct cw_config *c)
{
    memset(c, 0, sizeof *c);
    c->http_port = 8080;
    c->validate = 1;
    c->request_timeout_ms = 30000;
    c->mllp_port = 2575;
    snprintf(c->data_dir, sizeof c->data_dir, "%s", "./causeway-data");
    c->threads = 0;
    c->ingest_workers = 2;
    c->max_body = (size_t)64 << 20;
    c->log_level = CW_LOG_INFO;
    c->mllp_max_frame = (size_t)16 << 20;
}

int cw_config_parse_listen(const char *text, char *addr, size_t addr_size, int *port)
{
    const char *colon = NULL;
    if (text[0] == '[') { /* [v6]:port */
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':') return -1;
        size_t n = (size_t)(close - text - 1);
        if (n + 1 > addr_size) return -1;
        memcpy(addr, text + 1, n);
        addr[n] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon) {
            size_t n = (size_t)(colon - text);
            if (n + 1 > addr_size || memchr(text, ':', n)) return -1;
            memcpy(addr, text, n);
            addr[n] = '\0';
        } else {
            addr[0] = '\0';
        }
    }
    const char *p = colon ? colon + 1 : text;
    long long v;
    if (cw_slice_to_i64(cw_slice_cstr(p), &v) < 0 || v < 0 || v > 65535) return -1;
    if (*p == '+' || *p == '-') return -1;
    *port = (int)v;
    return 0;
}

static int copy_value(char *dst, size_t size, const char *key, const char *value,
                      struct cw_err *err)
{
    size_t n = strlen(value);
    if (n >= size) return cw_err_set(err, CW_ISSUE_TOO_LONG, "%s: value is too long", key);
    memcpy(dst, value, n + 1);
    return 0;
}

/* "64M", "1G", "512k", "1000" -> bytes. */
static int parse_size(const char *s, size_t *out)
{
    size_t n = strlen(s);
    unsigned long long mul = 1;
    if (n && strchr("kKmMgG", s[n - 1])) {
        char u = (char)tolower((unsigned char)s[n - 1]);
        mul = u == 'k' ? 1024ull : u == 'm' ? 1024ull * 1024 : 1024ull * 1024 * 1024;
        n--;
    }
    unsigned long long v;
    if (cw_slice_to_u64((cw_slice){s, n}, &v) < 0 || v > (~0ull) / mul) return -1;
    *out = (size_t)(v * mul);
    return 0;
}

int cw_config_set(struct cw_config *c, const char *key, const char *value, struct cw_err *err)
{
    if (strcmp(key, "base-url") == 0) {
        size_t n = strlen(value);
        if (n && strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
            return cw_err_set(err, CW_ISSUE_VALUE, "base-url: expected http(s)://host[:port]/path");
        while (n && value[n - 1] == '/') n--;
        if (n >= sizeof c->base_url) return cw_err_set(err, CW_ISSUE_TOO_LONG, "base-url: too long");
        memcpy(c->base_url, value, n);
        c->base_url[n] = '\0';
        return 0;
    }
    if (strcmp(key, "validate") == 0) {
        if (strcmp(value, "on") == 0 || strcmp(value, "true") == 0 || strcmp(value, "structure") == 0)
            c->validate = 1;
        else if (strcmp(value, "full") == 0) c->validate = 2;
        else if (strcmp(value, "off") == 0 || strcmp(value, "false") == 0) c->validate = 0;
        else return cw_err_set(err, CW_ISSUE_VALUE, "validate: expected on, full or off");
        return 0;
    }
    if (strcmp(key, "store-sync") == 0) {
        if (strcmp(value, "full") == 0) c->store_sync_normal = 0;
        else if (strcmp(value, "normal") == 0) c->store_sync_normal = 1;
        else return cw_err_set(err, CW_ISSUE_VALUE, "store-sync: expected full or normal");
        return 0;
    }
    if (strcmp(key, "unchanged-updates") == 0) {
        if (strcmp(value, "skip") == 0) c->version_unchanged = 0;
        else if (strcmp(value, "version") == 0) c->version_unchanged = 1;
        else return cw_err_set(err, CW_ISSUE_VALUE, "unchanged-updates: expected skip or version");
        return 0;
    }
    if (strcmp(key, "request-timeout") == 0) {
        long long v;
        if (cw_slice_to_i64(cw_slice_cstr(value), &v) < 0 || v < 1 || v > 3600)
            return cw_err_set(err, CW_ISSUE_VALUE, "request-timeout: expected 1..3600 seconds");
        c->request_timeout_ms = (unsigned)v * 1000;
        return 0;
    }
    if (strcmp(key, "http") == 0) {
        if (cw_config_parse_listen(value, c->http_addr, sizeof c->http_addr, &c->http_port) < 0)
            return cw_err_set(err, CW_ISSUE_VALUE, "http: expected [ADDR:]PORT");
        return 0;
    }
    if (strcmp(key, "mllp") == 0) {
        if (strcmp(value, "off") == 0) {
            c->mllp_addr[0] = '\0';
            c->mllp_port = -1;
            return 0;
        }
        if (cw_config_parse_listen(value, c->mllp_addr, sizeof c->mllp_addr, &c->mllp_port) < 0)
            return cw_err_set(err, CW_ISSUE_VALUE, "mllp: expected [ADDR:]PORT");
        return 0;
    }
    if (strcmp(key, "data") == 0) {
        if (!*value) return cw_err_set(err, CW_ISSUE_VALUE, "data: empty directory");
        return copy_value(c->data_dir, sizeof c->data_dir, key, value, err);
    }
    if (strcmp(key, "store") == 0) {
        if (*value && strncmp(value, "sqlite:", 7) != 0 && strncmp(value, "postgres://", 11) != 0 &&
            strncmp(value, "postgresql://", 13) != 0)
            return cw_err_set(err, CW_ISSUE_VALUE,
                              "store: expected sqlite:PATH or postgres://... URL");
        return copy_value(c->store_url, sizeof c->store_url, key, value, err);
    }
    if (strcmp(key, "threads") == 0) {
        long long v;
        if (cw_slice_to_i64(cw_slice_cstr(value), &v) < 0 || v < 0 || v > 1024)
            return cw_err_set(err, CW_ISSUE_VALUE, "threads: expected 0..1024");
        c->threads = (int)v;
        return 0;
    }
    if (strcmp(key, "ingest-workers") == 0) {
        long long v;
        if (cw_slice_to_i64(cw_slice_cstr(value), &v) < 0 || v < 1 || v > 64)
            return cw_err_set(err, CW_ISSUE_VALUE, "ingest-workers: expected 1..64");
        c->ingest_workers = (unsigned)v;
        return 0;
    }
    if (strcmp(key, "max-body") == 0) {
        if (parse_size(value, &c->max_body) < 0 || c->max_body == 0)
            return cw_err_set(err, CW_ISSUE_VALUE, "max-body: expected a size like 64M");
        return 0;
    }
    if (strcmp(key, "mllp-tls-cert") == 0)
        return copy_value(c->mllp_tls_cert, sizeof c->mllp_tls_cert, key, value, err);
    if (strcmp(key, "mllp-tls-key") == 0)
        return copy_value(c->mllp_tls_key, sizeof c->mllp_tls_key, key, value, err);
    if (strcmp(key, "mllp-max-frame") == 0) {
        if (parse_size(value, &c->mllp_max_frame) < 0 || c->mllp_max_frame == 0)
            return cw_err_set(err, CW_ISSUE_VALUE, "mllp-max-frame: expected a size like 16M");
        return 0;
    }
    if (strcmp(key, "log-level") == 0) {
        int l = cw_log_level_parse(value);
        if (l < 0)
            return cw_err_set(err, CW_ISSUE_VALUE, "log-level: expected debug|info|warn|error|off");
        c->log_level = l;
        return 0;
    }
    return cw_err_set(err, CW_ISSUE_NOT_SUPPORTED, "unknown setting '%.64s'", key);
}

int cw_config_load_file(struct cw_config *c, const char *path, struct cw_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return cw_err_set(err, CW_ISSUE_NOT_FOUND, "cannot open config file %.200s", path);
    char line[2048];
    unsigned lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            rc = cw_err_set(err, CW_ISSUE_TOO_LONG, "%.200s:%u: line too long", path, lineno);
            break;
        }
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        cw_slice s = cw_slice_trim(cw_slice_cstr(line));
        if (!s.len) continue;
        long eq = cw_slice_index(s, '=');
        if (eq < 0) {
            rc = cw_err_set(err, CW_ISSUE_STRUCTURE, "%.200s:%u: expected key = value", path,
                            lineno);
            break;
        }
        cw_slice k = cw_slice_trim(cw_slice_sub(s, 0, (size_t)eq));
        cw_slice v = cw_slice_trim(cw_slice_sub(s, (size_t)eq + 1, s.len));
        char key[64], value[CW_PATH_MAX];
        if (k.len >= sizeof key || v.len >= sizeof value) {
            rc = cw_err_set(err, CW_ISSUE_TOO_LONG, "%.200s:%u: key or value too long", path,
                            lineno);
            break;
        }
        memcpy(key, k.ptr, k.len);
        key[k.len] = '\0';
        memcpy(value, v.ptr, v.len);
        value[v.len] = '\0';
        /* Accept quoted values: store = "postgres://..." */
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            memmove(value, value + 1, vl - 2);
            value[vl - 2] = '\0';
        }
        if (cw_config_set(c, key, value, err) < 0) {
            char msg[CW_ERR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err->msg);
            cw_err_set(err, err->issue, "%.200s:%u: %s", path, lineno, msg);
            rc = -1;
            break;
        }
    }
    if (rc < 0) err->line = lineno;
    fclose(f);
    return rc;
}

int cw_config_load_env(struct cw_config *c, struct cw_err *err)
{
    static const char *const map[][2] = {
        {"CAUSEWAY_BASE_URL", "base-url"},
        {"CAUSEWAY_VALIDATE", "validate"},
        {"CAUSEWAY_STORE_SYNC", "store-sync"},
        {"CAUSEWAY_UNCHANGED_UPDATES", "unchanged-updates"},
        {"CAUSEWAY_REQUEST_TIMEOUT", "request-timeout"},
        {"CAUSEWAY_HTTP", "http"},
        {"CAUSEWAY_MLLP", "mllp"},
        {"CAUSEWAY_DATA", "data"},
        {"CAUSEWAY_STORE", "store"},
        {"CAUSEWAY_THREADS", "threads"},
        {"CAUSEWAY_MAX_BODY", "max-body"},
        {"CAUSEWAY_LOG_LEVEL", "log-level"},
        {"CAUSEWAY_MLLP_TLS_CERT", "mllp-tls-cert"},
        {"CAUSEWAY_MLLP_TLS_KEY", "mllp-tls-key"},
        {"CAUSEWAY_MLLP_MAX_FRAME", "mllp-max-frame"},
        {"CAUSEWAY_INGEST_WORKERS", "ingest-workers"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        const char *v = getenv(map[i][0]);
        if (v && cw_config_set(c, map[i][1], v, err) < 0) {
            char msg[CW_ERR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err->msg);
            return cw_err_set(err, err->issue, "%s: %s", map[i][0], msg);
        }
    }
    return 0;
}

void cw_config_store_url(const struct cw_config *c, char *out, size_t size)
{
    if (c->store_url[0])
        snprintf(out, size, "%s", c->store_url);
    else
        snprintf(out, size, "sqlite:%s/causeway.db", c->data_dir);
}
