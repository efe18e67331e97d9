/* tools/cmd_sweep.c: `servesim sweep` (placeholder until its issue lands: prints help, otherwise
 * says "not implemented yet" and exits 2). */
#include "tools/cli.h"

int
cmd_sweep(int argc, char **argv)
{
    return cli_not_yet(argc, argv, "sweep [FLAGS]",
                       "Sweep load or concurrency to find SLA limits.");
}
