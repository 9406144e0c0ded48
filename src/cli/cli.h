/*
 * cli.h — subcommands of the `causeway` command.
 *
 * Each subcommand is `int cw_cmd_NAME(int argc, char **argv)` where argv[0]
 * is the subcommand's own name; it returns the process exit status
 * (0 success, 1 the input was bad / a check failed, 2 usage or system error).
 */
#ifndef CW_CLI_H
#define CW_CLI_H

int cw_cmd_serve(int argc, char **argv);
int cw_cmd_json(int argc, char **argv);
int cw_cmd_v2(int argc, char **argv);
int cw_cmd_send(int argc, char **argv);
int cw_cmd_fhirpath(int argc, char **argv);
int cw_cmd_convert(int argc, char **argv);
int cw_cmd_messages(int argc, char **argv);
int cw_cmd_validate(int argc, char **argv);

/* Exit codes shared by all subcommands. */
#define CW_EXIT_OK 0
#define CW_EXIT_FAIL 1
#define CW_EXIT_USAGE 2

#endif
