/* tools/cmd_analyze.c: `servesim analyze` (placeholder until its issue lands: prints help, otherwise
 * says "not implemented yet" and exits 2). */
#include "tools/cli.h"

int
cmd_analyze(int argc, char **argv)
{
    return cli_not_yet(argc, argv, "analyze workload FILE", "First look at a workload trace.");
}
