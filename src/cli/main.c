/*
 * main.c — entry point of the `causeway` command: dispatch to subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"serve", cw_cmd_serve, "run the server (FHIR REST on :8080, MLLP on :2575)"},
    {"json", cw_cmd_json, "check or pretty-print JSON files (json check|pretty FILE...)"},
    {"v2", cw_cmd_v2, "HL7 v2: v2 parse FILE [--json] | get FILE PATH | validate FILE | ack FILE"},
    {"send", cw_cmd_send,
     "send HL7 v2 messages over MLLP and report the ACKs (send HOST:PORT FILE...)"},
    {"fhirpath", cw_cmd_fhirpath,
     "evaluate a FHIRPath expression on a FHIR JSON resource (fhirpath EXPR FILE)"},
    {"convert", cw_cmd_convert, "convert a document (convert --to json|xml [--pretty] FILE)"},
    {"messages", cw_cmd_messages, "the inbound journal and error queue (messages list|show|reprocess)"},
    {"validate", cw_cmd_validate, "validate FHIR resources (validate [--profile URL] [--load-profile FILE|DIR] FILE...)"},
};

static void usage(FILE *out)
{
    fprintf(out,
            "causeway %s — health information exchange engine\n"
            "\n"
            "usage: causeway COMMAND [ARGS...]\n"
            "\n"
            "commands:\n",
            CW_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-8s %s\n", "help", "this text; `causeway help COMMAND` for one command");
    fprintf(out, "\noptions:\n  --version  print the version and exit\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CW_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("causeway %s\n", CW_VERSION);
        return CW_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc >= 3) {
            for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
                if (strcmp(argv[2], commands[i].name) == 0) {
                    char *args[] = {argv[2], "--help", NULL};
                    return commands[i].run(2, args);
                }
            }
            fprintf(stderr, "causeway: no such command '%s'\n", argv[2]);
            return CW_EXIT_USAGE;
        }
        usage(stdout);
        return CW_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "causeway: unknown command '%s' (try `causeway help`)\n", cmd);
    return CW_EXIT_USAGE;
}
