/*
 * cmd_messages.c — `causeway messages`: the inbound journal (and its error
 * queue) from the command line.
 *
 *   causeway messages list [--status received|processed|error] [--after SEQ]
 *                          [--limit N] [--json] [--data DIR] [--config FILE]
 *   causeway messages show SEQ [--json] [--data DIR] [--config FILE]
 *   causeway messages reprocess SEQ... | --status error|received
 *                               [--data DIR] [--store URL] [--config FILE]
 *
 * The journal is <data>/journal.db (src/ingest/journal.h); the data folder
 * comes from --data, CAUSEWAY_DATA or the config file, as for `serve`. It
 * is read through its own connection, so this works while the server runs.
 * `list` prints metadata only (sequence, time, channel, peer, status, ACK,
 * HL7 error code and location); `show` also prints the message itself: it
 * is a tool for the operator on their own terminal, not a log.
 *
 * `reprocess` runs messages through the HL7 v2 -> FHIR ingest again (after
 * a fix of the sender's data, a mapping or the configuration) and records
 * the new outcome on each row; it opens the store itself, so it works with
 * or without a running server (cw_server_reprocess). Over HTTP the running
 * server offers the same: POST /messages/{seq}/$reprocess.
 *
 * Exit status: 0 ok; 1 the message was not found, or a reprocessed message
 * failed again; 2 usage or I/O error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "cli/cli.h"
#include "ingest/journal.h"
#include "json/json.h"
#include "server/server.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: causeway messages list [--status received|processed|error] [--after SEQ]\n"
                 "                              [--limit N] [--json] [--data DIR] [--config FILE]\n"
                 "       causeway messages show SEQ [--json] [--data DIR] [--config FILE]\n"
                 "       causeway messages reprocess SEQ... | --status error|received\n"
                 "                                   [--data DIR] [--store URL] [--config FILE]\n"
                 "\n"
                 "The inbound journal: every HL7 v2 message received over MLLP, its status\n"
                 "and, for the error queue (--status error), the HL7 error code, location and\n"
                 "reason of its AE/AR. The data folder is found as for `causeway serve`.\n");
}

/* One journal row as JSON on out (the same shape as GET /messages). */
static void put_record_json(FILE *out, const struct cw_journal_record *r, bool with_raw)
{
    struct cw_buf b;
    cw_buf_init(&b, (size_t)1 << 31);
    struct cw_json_writer w;
    cw_json_writer_init(&w, &b, 0);
    cw_journal_record_write(&w, r, with_raw);
    fwrite(b.ptr, 1, b.len, out);
    cw_buf_release(&b);
}

/* Text for a terminal: segment ends become new lines, other controls visible. */
static void put_text(FILE *out, cw_slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '\r') {
            fputc('\n', out);
            if (i + 1 < s.len && s.ptr[i + 1] == '\n') i++;
        } else if (c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f) || c >= 0x80) {
            fputc(c, out);
        } else {
            fprintf(out, "\\x%02x", c);
        }
    }
    if (s.len && s.ptr[s.len - 1] != '\r' && s.ptr[s.len - 1] != '\n') fputc('\n', out);
}

struct list_ctx {
    bool json;
    bool first;
    long count;
};

static int list_row(void *ctx, const struct cw_journal_record *r)
{
    struct list_ctx *lc = ctx;
    if (lc->json) {
        fputs(lc->first ? "[\n" : ",\n", stdout);
        put_record_json(stdout, r, false);
    } else {
        if (lc->first)
            printf("%-8s %-24s %-8s %-22s %-9s %-3s %s\n", "SEQ", "RECEIVED", "CHANNEL", "PEER",
                   "STATUS", "ACK", "ERROR");
        printf("%-8lld %-24.*s %-8.*s %-22.*s %-9s %-3.*s", (long long)r->seq,
               CW_SLICE_FMT(r->received_at), CW_SLICE_FMT(r->channel), CW_SLICE_FMT(r->peer),
               cw_journal_status_name(r->status), CW_SLICE_FMT(r->ack_code));
        if (r->error_code || r->error_text.len)
            printf(" %d %.*s: %.*s", r->error_code, CW_SLICE_FMT(r->error_location),
                   CW_SLICE_FMT(r->error_text));
        putchar('\n');
    }
    lc->first = false;
    lc->count++;
    return 0;
}

static int parse_i64(const char *s, long long min, long long *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < min) return -1;
    *out = v;
    return 0;
}

static void print_outcome(void *ctx, long long seq, int failed, unsigned resources,
                          const struct cw_err *why)
{
    (void)ctx;
    if (failed)
        printf("%lld error %d at %s: %s\n", seq, why->v2_code, why->location, why->msg);
    else
        printf("%lld processed (%u resources)\n", seq, resources);
}

static int load_config(struct cw_config *cfg, int argc, char **argv, struct cw_err *err)
{
    cw_config_defaults(cfg);
    const char *config_path = getenv("CAUSEWAY_CONFIG");
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0) config_path = argv[i + 1];
    if (config_path && *config_path && cw_config_load_file(cfg, config_path, err) < 0) return -1;
    return cw_config_load_env(cfg, err);
}

static int reprocess(int argc, char **argv)
{
    struct cw_config cfg;
    struct cw_err err;
    cw_err_clear(&err);
    if (load_config(&cfg, argc, argv, &err) < 0) {
        fprintf(stderr, "causeway messages: %s\n", err.msg);
        return CW_EXIT_USAGE;
    }
    int64_t *seqs = calloc((size_t)argc, sizeof *seqs);
    if (!seqs) return CW_EXIT_USAGE;
    size_t n = 0;
    int status = -1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        long long v;
        if (strcmp(a, "--config") == 0 && has_value) {
            i++;
        } else if ((strcmp(a, "--data") == 0 || strcmp(a, "--store") == 0) && has_value) {
            if (cw_config_set(&cfg, a + 2, argv[++i], &err) < 0) {
                fprintf(stderr, "causeway messages: %s\n", err.msg);
                free(seqs);
                return CW_EXIT_USAGE;
            }
        } else if (strcmp(a, "--status") == 0 && has_value) {
            const char *s = argv[++i];
            status = strcmp(s, "error") == 0      ? CW_JOURNAL_ERROR
                     : strcmp(s, "received") == 0 ? CW_JOURNAL_RECEIVED
                                                  : -2;
            if (status == -2) {
                fprintf(stderr, "causeway messages: reprocess --status: error or received\n");
                free(seqs);
                return CW_EXIT_USAGE;
            }
        } else if (a[0] != '-' && parse_i64(a, 1, &v) == 0) {
            seqs[n++] = v;
        } else {
            fprintf(stderr, "causeway messages: unexpected argument '%s'\n", a);
            usage(stderr);
            free(seqs);
            return CW_EXIT_USAGE;
        }
    }
    if (n == 0 && status < 0) {
        usage(stderr);
        free(seqs);
        return CW_EXIT_USAGE;
    }
    char path[CW_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/journal.db", cfg.data_dir);
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        fprintf(stderr, "causeway messages: no journal at %s (see --data)\n", path);
        free(seqs);
        return CW_EXIT_USAGE;
    }
    fclose(probe);
    long processed = 0, failed = 0;
    int rc =
        cw_server_reprocess(&cfg, seqs, n, status, print_outcome, NULL, &processed, &failed, &err);
    free(seqs);
    printf("reprocessed %ld message%s: %ld processed, %ld error%s\n", processed + failed,
           processed + failed == 1 ? "" : "s", processed, failed, failed == 1 ? "" : "s");
    if (rc < 0) {
        fprintf(stderr, "causeway messages: %s\n", err.msg);
        return err.issue == CW_ISSUE_NOT_FOUND ? CW_EXIT_FAIL : CW_EXIT_USAGE;
    }
    return failed ? CW_EXIT_FAIL : CW_EXIT_OK;
}

int cw_cmd_messages(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CW_EXIT_USAGE : CW_EXIT_OK;
    }
    const char *verb = argv[1];
    bool is_list = strcmp(verb, "list") == 0, is_show = strcmp(verb, "show") == 0;
    if (strcmp(verb, "reprocess") == 0) return reprocess(argc, argv);
    if (!is_list && !is_show) {
        fprintf(stderr, "causeway messages: unknown subcommand '%s'\n", verb);
        usage(stderr);
        return CW_EXIT_USAGE;
    }
    struct cw_config cfg;
    struct cw_err err;
    cw_err_clear(&err);
    cw_config_defaults(&cfg);
    const char *config_path = getenv("CAUSEWAY_CONFIG");
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0) config_path = argv[i + 1];
    if ((config_path && *config_path && cw_config_load_file(&cfg, config_path, &err) < 0) ||
        cw_config_load_env(&cfg, &err) < 0) {
        fprintf(stderr, "causeway messages: %s\n", err.msg);
        return CW_EXIT_USAGE;
    }
    bool json = false;
    int status = -1;
    long long after = 0, limit = 0, seq = -1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--config") == 0 && has_value) {
            i++;
        } else if (strcmp(a, "--data") == 0 && has_value) {
            if (cw_config_set(&cfg, "data", argv[++i], &err) < 0) {
                fprintf(stderr, "causeway messages: %s\n", err.msg);
                return CW_EXIT_USAGE;
            }
        } else if (is_list && strcmp(a, "--status") == 0 && has_value) {
            const char *v = argv[++i];
            status = strcmp(v, "received") == 0    ? CW_JOURNAL_RECEIVED
                     : strcmp(v, "processed") == 0 ? CW_JOURNAL_PROCESSED
                     : strcmp(v, "error") == 0     ? CW_JOURNAL_ERROR
                                                   : -2;
            if (status == -2) {
                fprintf(stderr, "causeway messages: --status: received, processed or error\n");
                return CW_EXIT_USAGE;
            }
        } else if (is_list && strcmp(a, "--after") == 0 && has_value) {
            if (parse_i64(argv[++i], 0, &after) < 0) {
                fprintf(stderr, "causeway messages: --after: a sequence number\n");
                return CW_EXIT_USAGE;
            }
        } else if (is_list && strcmp(a, "--limit") == 0 && has_value) {
            if (parse_i64(argv[++i], 1, &limit) < 0) {
                fprintf(stderr, "causeway messages: --limit: a positive number\n");
                return CW_EXIT_USAGE;
            }
        } else if (is_show && seq < 0 && a[0] != '-') {
            if (parse_i64(a, 1, &seq) < 0) {
                fprintf(stderr, "causeway messages: show: SEQ is a sequence number\n");
                return CW_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "causeway messages: unexpected argument '%s'\n", a);
            usage(stderr);
            return CW_EXIT_USAGE;
        }
    }
    if (is_show && seq < 0) {
        usage(stderr);
        return CW_EXIT_USAGE;
    }
    char path[CW_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/journal.db", cfg.data_dir);
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        fprintf(stderr, "causeway messages: no journal at %s (see --data)\n", path);
        return CW_EXIT_USAGE;
    }
    fclose(probe);
    struct cw_journal *j;
    if (cw_journal_open(path, NULL, &j, &err) < 0) {
        fprintf(stderr, "causeway messages: %s\n", err.msg);
        return CW_EXIT_USAGE;
    }
    int rc = CW_EXIT_OK;
    if (is_list) {
        struct list_ctx lc = {.json = json, .first = true};
        if (cw_journal_list(j, after, (size_t)limit, status, list_row, &lc, &err) < 0) {
            fprintf(stderr, "causeway messages: %s\n", err.msg);
            rc = CW_EXIT_USAGE;
        } else if (json) {
            fputs(lc.first ? "[]\n" : "\n]\n", stdout);
        } else if (lc.first) {
            printf("no messages\n");
        }
    } else {
        struct cw_arena *a = cw_arena_new((size_t)1 << 30);
        struct cw_journal_record r;
        if (!a) {
            rc = CW_EXIT_USAGE;
        } else if (cw_journal_get(j, a, seq, &r, &err) < 0) {
            fprintf(stderr, "causeway messages: message %lld: %s\n", seq, err.msg);
            rc = err.issue == CW_ISSUE_NOT_FOUND ? CW_EXIT_FAIL : CW_EXIT_USAGE;
        } else if (json) {
            put_record_json(stdout, &r, true);
            putchar('\n');
        } else {
            printf("seq:       %lld\nreceived:  %.*s\nchannel:   %.*s\npeer:      %.*s\n"
                   "status:    %s\nack:       %.*s\nattempts:  %d\n",
                   (long long)r.seq, CW_SLICE_FMT(r.received_at), CW_SLICE_FMT(r.channel),
                   CW_SLICE_FMT(r.peer), cw_journal_status_name(r.status), CW_SLICE_FMT(r.ack_code),
                   r.attempts);
            if (r.error_code || r.error_text.len)
                printf("error:     %d at %.*s: %.*s\n", r.error_code,
                       CW_SLICE_FMT(r.error_location), CW_SLICE_FMT(r.error_text));
            printf("size:      %zu bytes\n\n", r.raw.len);
            put_text(stdout, r.raw);
        }
        cw_arena_destroy(a);
    }
    cw_journal_close(j);
    return rc;
}
