/*
 * server.h — `causeway serve`: configuration and the HTTP front end.
 *
 * Configuration comes from four layers, later ones winning:
 *   built-in defaults < config file (--config FILE or $CAUSEWAY_CONFIG)
 *   < environment (CAUSEWAY_HTTP, CAUSEWAY_MLLP, CAUSEWAY_DATA, CAUSEWAY_STORE,
 *     CAUSEWAY_THREADS, CAUSEWAY_LOG_LEVEL, CAUSEWAY_MAX_BODY)
 *   < command-line flags (--http, --mllp, --data, --store, --threads, ...).
 * All layers go through cw_config_set(), so a key means the same thing
 * everywhere. The config file is "key = value" lines; '#' starts a comment.
 *
 * The HTTP server runs libmicrohttpd with its own epoll thread pool. It
 * serves the FHIR R4 REST API under /fhir (rest_int.h, docs/internals/
 * rest.md) over the store named by store_url, and GET /health.
 */
#ifndef CW_SERVER_SERVER_H
#define CW_SERVER_SERVER_H

#include <stddef.h>

#include "base/err.h"

#define CW_ADDR_MAX 256
#define CW_PATH_MAX 1024

struct cw_config {
    char http_addr[CW_ADDR_MAX]; /* "" = all interfaces */
    int http_port;               /* default 8080; 0 = let the OS pick */
    char base_url[CW_PATH_MAX];  /* public FHIR base for links ("" = http://<Host>/fhir) */
    int validate;                /* structural validation of resources on write (1) */
    unsigned request_timeout_ms; /* longest database statement of a request (30000) */
    char mllp_addr[CW_ADDR_MAX];
    int mllp_port;               /* default 2575 */
    char data_dir[CW_PATH_MAX];  /* default ./causeway-data */
    char store_url[CW_PATH_MAX]; /* "" = sqlite:<data_dir>/causeway.db */
    int threads;                 /* HTTP worker threads; 0 = number of CPUs */
    size_t max_body;             /* largest accepted request body, bytes */
    int log_level;               /* enum cw_log_level */
};

/* Fill in the built-in defaults. */
void cw_config_defaults(struct cw_config *c);

/*
 * Set one key ("http", "mllp", "data", "store", "threads", "max-body",
 * "log-level", "base-url", "validate" (on|off), "request-timeout" (seconds))
 * from its text form. Returns 0, or -1 with err naming the key
 * and what is wrong (unknown key, bad port, ...).
 */
int cw_config_set(struct cw_config *c, const char *key, const char *value, struct cw_err *err);

/* Apply a "key = value" file. err->line tells which line was bad. */
int cw_config_load_file(struct cw_config *c, const char *path, struct cw_err *err);

/* Apply CAUSEWAY_* environment variables. */
int cw_config_load_env(struct cw_config *c, struct cw_err *err);

/* Parse "[ADDR:]PORT" ("8080", "127.0.0.1:8080", "[::1]:8080"). */
int cw_config_parse_listen(const char *text, char *addr, size_t addr_size, int *port);

/* The effective store URL: store_url, or "sqlite:<data_dir>/causeway.db". */
void cw_config_store_url(const struct cw_config *c, char *out, size_t size);

struct cw_server;

/*
 * Prepare the data directory and store, then start listening. On success
 * *out is a running server (threads started) and the bound HTTP port is
 * available from cw_server_http_port (useful with port 0).
 */
int cw_server_start(const struct cw_config *c, struct cw_server **out, struct cw_err *err);

/* The TCP port the HTTP listener is bound to. */
int cw_server_http_port(const struct cw_server *s);

/* Stop accepting, finish in-flight requests, release everything. */
void cw_server_stop(struct cw_server *s);

#endif
