/*
 * server.h — `causeway serve`: configuration and the HTTP front end.
 *
 * Configuration comes from four layers, later ones winning:
 *   built-in defaults < config file (--config FILE or $CAUSEWAY_CONFIG)
 *   < environment (CAUSEWAY_HTTP, CAUSEWAY_MLLP, CAUSEWAY_DATA, CAUSEWAY_STORE,
 *     CAUSEWAY_THREADS, CAUSEWAY_LOG_LEVEL, CAUSEWAY_MAX_BODY,
 *     CAUSEWAY_MLLP_TLS_CERT, CAUSEWAY_MLLP_TLS_KEY, CAUSEWAY_MLLP_MAX_FRAME)
 *   < command-line flags (--http, --mllp, --data, --store, --threads, ...).
 * All layers go through cw_config_set(), so a key means the same thing
 * everywhere. The config file is "key = value" lines; '#' starts a comment.
 *
 * The HTTP server runs libmicrohttpd with its own epoll thread pool. It
 * serves the FHIR R4 REST API under /fhir (rest_int.h, docs/internals/
 * rest.md) over the store named by store_url, and GET /health.
 *
 * The MLLP listener (net/net.h) journals every inbound HL7 v2 message in
 * <data>/journal.db (ingest/journal.h) and acknowledges it only after the
 * journal commit; the ACK itself comes from the function registered with
 * cw_server_set_ack_builder (the hl7v2 module's ACK builder). Without one
 * the MLLP listener is not started (see cw_server_mllp_note).
 */
#ifndef CW_SERVER_SERVER_H
#define CW_SERVER_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/slice.h"

#define CW_ADDR_MAX 256
#define CW_PATH_MAX 1024

struct cw_config {
    char http_addr[CW_ADDR_MAX]; /* "" = all interfaces */
    int http_port;               /* default 8080; 0 = let the OS pick */
    char base_url[CW_PATH_MAX];  /* public FHIR base for links ("" = http://<Host>/fhir) */
    int validate;                /* validation on write: 0 off, 1 structure (default), 2 full */
    int store_sync_normal;       /* SQLite commits without fsync (store-sync = normal); default 0 */
    int version_unchanged;       /* unchanged-updates = version: an update equal to the current
                                    version still makes a new one; default 0 (skip: a no-op) */
    unsigned request_timeout_ms; /* longest database statement of a request (30000) */
    char mllp_addr[CW_ADDR_MAX];
    int mllp_port;                   /* default 2575 */
    char data_dir[CW_PATH_MAX];      /* default ./causeway-data */
    char store_url[CW_PATH_MAX];     /* "" = sqlite:<data_dir>/causeway.db */
    int threads;                     /* HTTP worker threads; 0 = 4 per CPU (4..64) */
    size_t max_body;                 /* largest accepted request body, bytes */
    int log_level;                   /* enum cw_log_level */
    char mllp_tls_cert[CW_PATH_MAX]; /* PEM chain; with the key: MLLP over TLS */
    char mllp_tls_key[CW_PATH_MAX];
    size_t mllp_max_frame;   /* largest MLLP frame, bytes (default 16M) */
    unsigned ingest_workers; /* ingest pipeline workers (senders are spread over them; default 2) */
};

/* Fill in the built-in defaults. */
void cw_config_defaults(struct cw_config *c);

/*
 * Set one key ("http", "mllp", "data", "store", "threads", "max-body",
 * "log-level", "mllp-tls-cert", "mllp-tls-key", "mllp-max-frame", "base-url",
 * "validate" (on|off), "request-timeout" (seconds), "ingest-workers") from
 * its text form. "mllp" also accepts "off" (mllp_port = -1: no MLLP
 * listener). Returns 0, or -1 with err naming the key and what is wrong
 * (unknown key, bad port, ...).
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

/* The TCP port the MLLP listener is bound to, or -1 when it is not running. */
int cw_server_mllp_port(const struct cw_server *s);

/* Why the MLLP listener is not running ("" when it is). */
const char *cw_server_mllp_note(const struct cw_server *s);

/*
 * Stop accepting, finish in-flight requests (MLLP: the ACKs of messages
 * already received are still sent), close the journal, release everything.
 */
void cw_server_stop(struct cw_server *s);

/*
 * Reprocess journaled HL7 v2 messages without a running server (`causeway
 * messages reprocess`): opens the store and the journal of c, runs the
 * given seqs (n may be 0) and, when status >= 0, every row with that
 * journal status (enum cw_journal_status, e.g. the error queue) through the
 * ingest processor, and records each outcome on its journal row. report
 * (may be NULL) is called once per message, serialized. Safe while a
 * server uses the same SQLite files or PostgreSQL database: the converter's
 * ids make a replay an update. Returns 0, or -1 with err (unknown seq,
 * store or journal not openable).
 */
typedef void (*cw_server_reprocess_fn)(void *ctx, long long seq, int failed, unsigned resources,
                                       const struct cw_err *why);
int cw_server_reprocess(const struct cw_config *c, const int64_t *seqs, size_t n, int status,
                        cw_server_reprocess_fn report, void *ctx, long *processed, long *failed,
                        struct cw_err *err);

/* --- HL7 v2 acknowledgments: the hook the hl7v2 module fills ------------ */

/* What happened to an inbound message before its ACK is built. */
enum cw_inbound_outcome {
    CW_INBOUND_STORED = 0, /* committed to the journal (on disk) */
    CW_INBOUND_NOT_STORED, /* the journal refused or failed (see error): never AA */
    CW_INBOUND_TOO_LARGE,  /* over the frame limit: message holds only its first bytes */
};

struct cw_ack_request {
    cw_slice message; /* the inbound message as received (borrowed) */
    enum cw_inbound_outcome outcome;
    long long journal_seq;      /* journal sequence id when STORED, else 0 */
    const struct cw_err *error; /* why, when not STORED (no PHI); else NULL */
    const char *peer;           /* remote address, for logs */
    /* When STORED and the ingest pipeline ran: NULL = processed and
     * committed; else why processing failed (v2_code + location for ERR). */
    const struct cw_err *processing_error;
};

struct cw_ack_result {
    char code[3];        /* acknowledgment code sent: "AA", "AE", "AR" (or "CA", "CE", "CR") */
    struct cw_err error; /* when the code is not AA/CA: what the ERR segment says;
                            recorded with the message in the journal */
};

/*
 * Build the ACK for one inbound message: append the ACK message (unframed,
 * segments ending in \r) to out, and fill res. An empty out sends nothing
 * (no ACK to an inbound ACK). Return 0, or -1 when no ACK can be built at
 * all (logged; the sender gets no reply). Called on the journal's writer
 * thread or the listener thread: it must be thread-safe, must not block,
 * and must never put field values in res->error.
 *
 * Rules it must follow (ARCHITECTURE.md "Rules of the flow"): AA only when
 * outcome is CW_INBOUND_STORED, the message parsed and is supported, and
 * processing_error is NULL; AE or AR with an ERR segment (HL7 table 0357
 * code, location) otherwise.
 */
typedef int (*cw_ack_build_fn)(void *ctx, const struct cw_ack_request *req, struct cw_buf *out,
                               struct cw_ack_result *res);

/*
 * Register the ACK builder (process-wide; call before cw_server_start).
 * fn NULL restores the default, cw_server_hl7v2_ack (tests register stubs).
 */
void cw_server_set_ack_builder(cw_ack_build_fn fn, void *ctx);

/*
 * Register an ingest processor for the MLLP listener (process-wide; call
 * before cw_server_start), replacing the server's own HL7 v2 -> FHIR
 * processor. For tests; fn NULL restores the server's. The processor's
 * type is cw_pipeline_process_fn (src/ingest/pipeline.h).
 */
struct cw_pipeline_item;
void cw_server_set_v2_processor(void (*fn)(void *ctx, struct cw_pipeline_item *items, size_t n),
                                void *ctx);

/*
 * The acknowledgment policy built on the hl7v2 module (mllp_ack.c): AA/CA
 * only for stored, parseable messages of a supported version; AR for
 * unparseable, oversized or unsupported input; AE when storing failed; no
 * reply to inbound ACKs. It is the default when no builder is registered.
 */
int cw_server_hl7v2_ack(void *ctx, const struct cw_ack_request *req, struct cw_buf *out,
                        struct cw_ack_result *res);

#endif
