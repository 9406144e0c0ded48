/*
 * helper_mllp_server.c — TEST-ONLY server for tests/integration/it_mllp.sh
 * while the causeway binary has no HL7 v2 ACK builder: the real server
 * code (cw_server_start: HTTP, journal, MLLP listener) with the test stub
 * of ack_stub.h registered as the builder.
 *
 *   helper_mllp_server --http 127.0.0.1:0 --mllp 127.0.0.1:0 --data DIR [...]
 *
 * Takes the same "--key value" settings as `causeway serve`, prints the
 * same "  mllp  ADDR:PORT" line, and stops cleanly on SIGTERM/SIGINT.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ack_stub.h"
#include "base/log.h"
#include "server/server.h"

int main(int argc, char **argv)
{
    struct cw_config cfg;
    struct cw_err err;
    cw_err_clear(&err);
    cw_config_defaults(&cfg);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strncmp(argv[i], "--", 2) != 0 ||
            cw_config_set(&cfg, argv[i] + 2, argv[i + 1], &err) < 0) {
            fprintf(stderr, "helper_mllp_server: %s\n", err.msg[0] ? err.msg : "bad argument");
            return 2;
        }
    }
    cw_log_threshold = (enum cw_log_level)cfg.log_level;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    cw_server_set_ack_builder(stub_ack_build, NULL);
    struct cw_server *srv;
    if (cw_server_start(&cfg, &srv, &err) < 0) {
        fprintf(stderr, "helper_mllp_server: cannot start: %s\n", err.msg);
        return 1;
    }
    printf("helper_mllp_server (TEST ACK builder) serving\n");
    printf("  http  http://%s:%d/\n", cfg.http_addr[0] ? cfg.http_addr : "0.0.0.0",
           cw_server_http_port(srv));
    printf("  mllp  %s:%d\n", cfg.mllp_addr[0] ? cfg.mllp_addr : "0.0.0.0",
           cw_server_mllp_port(srv));
    fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    cw_server_stop(srv);
    printf("stopped\n");
    return 0;
}
