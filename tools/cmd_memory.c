/* tools/cmd_memory.c: `servesim memory` (placeholder until its issue lands: prints help, otherwise
 * says "not implemented yet" and exits 2). */
#include "tools/cli.h"

int
cmd_memory(int argc, char **argv)
{
    return cli_not_yet(argc, argv, "memory [FLAGS]", "GPU memory plan and KV capacity.");
}
