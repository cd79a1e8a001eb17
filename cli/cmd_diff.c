/* nfi diff: not written yet (the next commit). */
#include <stdio.h>

#include "cli.h"

int nfi_cmd_diff(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("nfi diff: not implemented yet\n", stderr);
    return 2;
}
