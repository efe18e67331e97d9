/* tools/cmd_estimate.c: `servesim estimate` (placeholder until its issue lands: prints help, otherwise
 * says "not implemented yet" and exits 2). */
#include "tools/cli.h"

int
cmd_estimate(int argc, char **argv)
{
    return cli_not_yet(argc, argv, "estimate [FLAGS]",
                   "Roofline latency and throughput for one scenario or a scenarios CSV.");
}
