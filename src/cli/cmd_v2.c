/*
 * cmd_v2.c — placeholder until the HL7 v2 engine lands (src/hl7v2).
 */
#include <stdio.h>

#include "cli/cli.h"

int cw_cmd_v2(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "causeway v2: not built yet\n");
    return CW_EXIT_USAGE;
}
