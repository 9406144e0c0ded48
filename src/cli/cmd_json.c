/*
 * cmd_json.c — placeholder until the JSON codec lands (src/json).
 */
#include <stdio.h>

#include "cli/cli.h"

int cw_cmd_json(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "causeway json: not built yet\n");
    return CW_EXIT_USAGE;
}
