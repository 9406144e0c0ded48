/*
 * cmd_serve.c — `causeway serve`: load configuration, start, wait for a signal.
 *
 * Signals: SIGINT and SIGTERM are blocked in every thread before any thread
 * starts and then collected with sigwait() here, so shutdown runs in normal
 * context (no async-signal-safety puzzles): stop accepting, drain, close.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"
#include "server/server.h"

static void serve_usage(FILE *out)
{
    fprintf(out,
            "usage: causeway serve [options]\n"
            "\n"
            "  --http [ADDR:]PORT   FHIR REST listener (default 8080)\n"
            "  --mllp [ADDR:]PORT   HL7 v2 MLLP listener (default 2575; off: none)\n"
            "  --mllp-tls-cert FILE MLLP over TLS: PEM certificate chain\n"
            "  --mllp-tls-key FILE  MLLP over TLS: PEM private key\n"
            "  --mllp-max-frame SIZE largest MLLP message (default 16M)\n"
            "  --data DIR           data directory (default ./causeway-data)\n"
            "  --store URL          sqlite:PATH (default DIR/causeway.db) or postgres://...\n"
            "  --threads N          HTTP worker threads (default: 4 per CPU)\n"
            "  --ingest-workers N   HL7 v2 ingest workers; one sender always uses the same one (default 2)\n"
            "  --max-body SIZE      largest request body (default 64M)\n"
            "  --log-level LEVEL    debug|info|warn|error|off (default info)\n"
            "  --base-url URL       public FHIR base for links (default http://<Host>/fhir)\n"
            "  --validate MODE      checks of every write: on = structure (default), full = also\n"
            "                       required bindings, invariants, reference targets; off\n"
            "  --store-sync MODE    SQLite commits: full = fsync'ed, durable across power loss\n"
            "                       (default); normal = survive a process crash only\n"
            "  --unchanged-updates M skip = an update equal to the current version is a\n"
            "                       no-op (default); version = it makes a new version\n"
            "  --request-timeout S  longest database statement of a request (default 30)\n"
            "  --config FILE        read settings from FILE (key = value lines)\n"
            "\n"
            "Every setting can also come from CAUSEWAY_<NAME> in the environment\n"
            "(CAUSEWAY_HTTP, CAUSEWAY_STORE, ...) or from the config file; flags win\n"
            "over the environment, which wins over the file. CAUSEWAY_CONFIG names\n"
            "the config file when --config is absent.\n");
}

static void fail(const char *what, const struct cw_err *e)
{
    fprintf(stderr, "causeway serve: %s%s%s\n", what, *what ? ": " : "", e->msg);
}

int cw_cmd_serve(int argc, char **argv)
{
    struct cw_config cfg;
    struct cw_err err;
    cw_err_clear(&err);
    cw_config_defaults(&cfg);

    /* The config file comes first, so find it before applying anything. */
    const char *config_path = getenv("CAUSEWAY_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            serve_usage(stdout);
            return CW_EXIT_OK;
        }
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                serve_usage(stderr);
                return CW_EXIT_USAGE;
            }
            config_path = argv[++i];
        }
    }
    if (config_path && *config_path && cw_config_load_file(&cfg, config_path, &err) < 0) {
        fail("", &err);
        return CW_EXIT_USAGE;
    }
    if (cw_config_load_env(&cfg, &err) < 0) {
        fail("", &err);
        return CW_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--config") == 0) {
            i++;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || i + 1 >= argc) {
            fprintf(stderr, "causeway serve: unexpected argument '%s'\n", a);
            serve_usage(stderr);
            return CW_EXIT_USAGE;
        }
        if (cw_config_set(&cfg, a + 2, argv[++i], &err) < 0) {
            fail("", &err);
            return CW_EXIT_USAGE;
        }
    }
    cw_log_threshold = (enum cw_log_level)cfg.log_level;

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct cw_server *srv;
    if (cw_server_start(&cfg, &srv, &err) < 0) {
        fail("cannot start", &err);
        return CW_EXIT_FAIL;
    }
    char url[CW_PATH_MAX + 16];
    cw_config_store_url(&cfg, url, sizeof url);
    int port = cw_server_http_port(srv);
    printf("causeway %s serving\n", CW_VERSION);
    printf("  http  http://%s:%d/fhir  (health: /health)\n", cfg.http_addr[0] ? cfg.http_addr : "0.0.0.0",
           port);
    int mllp_port = cw_server_mllp_port(srv);
    if (mllp_port >= 0)
        printf("  mllp  %s:%d  (%sjournal: %s/journal.db)\n", cfg.mllp_addr[0] ? cfg.mllp_addr : "0.0.0.0",
               mllp_port, cfg.mllp_tls_cert[0] ? "TLS; " : "", cfg.data_dir);
    else
        printf("  mllp  %s\n", cw_server_mllp_note(srv));
    printf("  store %s\n", url);
    fflush(stdout);
    cw_log(CW_LOG_INFO, "server.start", CW_LOG_INT("http_port", port), CW_LOG_INT("mllp_port", mllp_port),
           CW_LOG_STR("data", cfg.data_dir));

    int sig = 0;
    sigwait(&sigs, &sig);
    cw_log(CW_LOG_INFO, "server.stop", CW_LOG_STR("signal", sig == SIGINT ? "SIGINT" : "SIGTERM"));
    cw_server_stop(srv);
    printf("causeway stopped\n");
    return CW_EXIT_OK;
}
